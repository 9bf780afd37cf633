//! ODSQL geo functions: the predicates `within_distance`, `in_bbox`, `intersects`, `disjoint`,
//! `within` and their API v2.0 names `distance`, `geometry`, `polygon`; `distance()` in metres;
//! the aggregates `bbox()` and `envelope()`.
//!
//! Lowering reads the arguments' AST directly: the first one must be a `geo_point_2d` or
//! `geo_shape` field, the geometry a `geom'…'` literal (WKT or GeoJSON, parsed and checked
//! here, so a bad one is an `ODSQLError` pointing at it), the radius a distance literal
//! (`10km`). Each call becomes a DataFusion UDF over the field's column carrying the parsed
//! geometry ([`scalar`], [`aggregate`]); text handling is in [`parse`].
//!
//! Approximations: distances are haversine (great circle on a sphere of radius 6,371,008.8 m;
//! within about 0.5 % of the WGS84 ellipsoid) to the nearest point of the record's geometry
//! (nearest point on great-circle arcs; 0 inside a polygon, polygon containment being
//! decided in the lon/lat plane). Relations (`intersects`, `within`, `in_bbox` on shapes,
//! `polygon`) and the aggregates work in the lon/lat plane: edges are straight in degrees, and
//! nothing crosses the antimeridian.

mod aggregate;
mod cluster;
pub(crate) mod contain;
pub(crate) mod parse;
pub(crate) mod scalar;

use std::sync::Arc;

use ::geo::{Geometry, Rect};
use datafusion::logical_expr::{AggregateUDF, Expr, ScalarUDF};
use kleber_odsql::{Arg, Expr as Ast, ExprKind, Literal, Span, UnaryOp};
use kleber_types::FieldType;

use crate::error::Result;
use crate::functions::{FunctionDoc, FunctionKind};
use crate::lower::{Scope, column};

use self::aggregate::{GeoAggregateKind, GeoAggregateUdf};
use self::scalar::{GeoOp, GeoScalarUdf, Meters, QueryGeom, Relation};

/// The functions of this family, with their documentation.
pub(crate) const FUNCTIONS: &[FunctionDoc] = &[
    FunctionDoc {
        name: "within_distance",
        kind: FunctionKind::Scalar,
        signature: "within_distance(geo_field, geom'POINT(lon lat)', distance)",
        description: "True when the record's point, or the nearest part of its shape, is at most `distance` from the point (units m, km, mi, yd, ft, cm, mm; a bare number is metres). Great-circle (haversine) distance on a sphere of radius 6,371 km; null when the record has no geometry.",
        example: "where=within_distance(position, geom'POINT(7.7521 48.5734)', 1km)",
    },
    FunctionDoc {
        name: "distance",
        kind: FunctionKind::Scalar,
        signature: "distance(geo_field, geom'POINT(lon lat)'[, distance])",
        description: "With two arguments: metres (decimal) from the point to the record's point or to the nearest part of its shape, 0 inside a polygon, great-circle distance; null when the record has no geometry. With a distance as third argument: the same as within_distance (API v2.0 name, emitted by ods-widgets).",
        example: "select=nom, distance(position, geom'POINT(7.7521 48.5734)') as metres&order_by=metres",
    },
    FunctionDoc {
        name: "in_bbox",
        kind: FunctionKind::Scalar,
        signature: "in_bbox(geo_field, lat1, lon1, lat2, lon2)",
        description: "True when the record's point is in the rectangle whose opposite corners are (lat1, lon1) and (lat2, lon2), latitude first, in any order, bounds included; a shape matches when it intersects the rectangle. The rectangle never crosses the antimeridian.",
        example: "where=in_bbox(position, 48.60, 7.72, 48.56, 7.78)",
    },
    FunctionDoc {
        name: "intersects",
        kind: FunctionKind::Scalar,
        signature: "intersects(geo_field, geom'…')",
        description: "True when the record's point or shape shares at least one point with the geometry (WKT or GeoJSON), boundaries included; computed in the longitude/latitude plane.",
        example: "where=intersects(contour, geom'LINESTRING(7.74 48.57, 7.76 48.59)')",
    },
    FunctionDoc {
        name: "disjoint",
        kind: FunctionKind::Scalar,
        signature: "disjoint(geo_field, geom'…')",
        description: "True when the record's point or shape shares no point with the geometry: the opposite of intersects for records that have a geometry (null for those that have none).",
        example: "where=disjoint(contour, geom'POLYGON((7.7 48.5, 7.8 48.5, 7.8 48.6, 7.7 48.5))')",
    },
    FunctionDoc {
        name: "within",
        kind: FunctionKind::Scalar,
        signature: "within(geo_field, geom'…')",
        description: "True when the record's point or shape lies inside the geometry (DE-9IM within: a record only on its boundary is not within); computed in the longitude/latitude plane.",
        example: "where=within(position, geom'POLYGON((7.7 48.5, 7.8 48.5, 7.8 48.6, 7.7 48.6, 7.7 48.5))')",
    },
    FunctionDoc {
        name: "geometry",
        kind: FunctionKind::Scalar,
        signature: "geometry(geo_field, geom'…'[, mode])",
        description: "API v2.0 name of the relations, emitted by ods-widgets: mode INTERSECTS (the default), DISJOINT or WITHIN, case-insensitive; the same as intersects(), disjoint(), within().",
        example: "where=geometry(position, geom'POLYGON((7.7 48.5, 7.8 48.5, 7.8 48.6, 7.7 48.5))', WITHIN)",
    },
    FunctionDoc {
        name: "polygon",
        kind: FunctionKind::Scalar,
        signature: "polygon(geo_field, geom'POLYGON((lon lat, …))')",
        description: "API v2.0: true when the record's point is inside the polygon or on its boundary (for a shape: when it intersects the polygon).",
        example: "where=polygon(position, geom'POLYGON((7.7 48.5, 7.8 48.5, 7.8 48.6, 7.7 48.5))')",
    },
    FunctionDoc {
        name: "geo_cluster",
        kind: FunctionKind::Scalar,
        signature: "geo_cluster(geo_field, precision)",
        description: "The cell of a geohash grid of `precision` characters (1, about 5,000 km, to 12, a few centimetres) that the record's point (a shape's centroid) falls in, as the GeoJSON point at the cell's centre: group by it to cluster points for a map.",
        example: "select=geo_cluster(position, 6) as cluster, count(*) as n&group_by=geo_cluster(position, 6) as cluster",
    },
    FunctionDoc {
        name: "bbox",
        kind: FunctionKind::Aggregate,
        signature: "bbox(geo_field)",
        description: "Bounding rectangle of the group's points and shapes, as a GeoJSON Polygon whose ring is [min_lon, min_lat], [max_lon, min_lat], [max_lon, max_lat], [min_lon, max_lat], [min_lon, min_lat] (flat for a single point); null when no record has a geometry.",
        example: "select=bbox(position) as emprise",
    },
    FunctionDoc {
        name: "envelope",
        kind: FunctionKind::Aggregate,
        signature: "envelope(geo_field)",
        description: "Convex hull of the group's points and shapes, as a GeoJSON Polygon (a Point when they all coincide, a LineString when they are aligned); null when no record has a geometry.",
        example: "select=commune, envelope(position) as zone&group_by=commune",
    },
];

/// Lowers a call of one of this family's functions; `None` when `name` is not one of them.
pub(crate) fn lower_call(
    scope: &Scope<'_>,
    name: &str,
    name_span: Span,
    args: &[Arg],
    distinct: bool,
) -> Option<Result<Expr>> {
    let doc = FUNCTIONS.iter().find(|d| d.name.eq_ignore_ascii_case(name))?;
    Some(positional(scope, doc, args).and_then(|args| {
        let call = Call { scope, doc, name_span, args };
        call.lower(distinct)
    }))
}

/// Whether `expr` (a select item) yields GeoJSON geometry text, i.e. is `bbox()` or
/// `envelope()`: such a column is to be rendered as a shape (`ColumnRole::GeoShape`).
pub(crate) fn yields_geojson(expr: &Expr) -> bool {
    match expr {
        Expr::Alias(alias) => yields_geojson(&alias.expr),
        Expr::AggregateFunction(f) => {
            let inner: &dyn std::any::Any = f.func.inner().as_ref();
            inner.is::<GeoAggregateUdf>()
        }
        Expr::ScalarFunction(f) => {
            let inner: &dyn std::any::Any = f.func.inner().as_ref();
            inner.is::<cluster::GeoClusterUdf>()
        }
        _ => false,
    }
}

/// The arguments, which must all be positional expressions.
fn positional<'a>(scope: &Scope<'_>, doc: &FunctionDoc, args: &'a [Arg]) -> Result<Vec<&'a Ast>> {
    args.iter()
        .map(|arg| match arg {
            Arg::Expr(e) => Ok(e),
            Arg::Star(span) => {
                Err(scope
                    .err(format!("{}() does not take `*`: {}.", doc.name, doc.signature), *span))
            }
            Arg::Named { name, span, .. } => Err(scope.err(
                format!("{}() takes no named argument `{name}`: {}.", doc.name, doc.signature),
                *span,
            )),
        })
        .collect()
}

/// One call being lowered.
struct Call<'a> {
    scope: &'a Scope<'a>,
    doc: &'static FunctionDoc,
    name_span: Span,
    args: Vec<&'a Ast>,
}

impl Call<'_> {
    fn name(&self) -> &'static str {
        self.doc.name
    }

    fn lower(&self, distinct: bool) -> Result<Expr> {
        if distinct {
            return Err(self.err(format!("{}() does not take `distinct`.", self.name())));
        }
        match self.name() {
            "within_distance" => {
                self.arity(3, 3)?;
                self.within_distance()
            }
            "distance" => {
                self.arity(2, 3)?;
                if self.args.len() == 3 { self.within_distance() } else { self.distance() }
            }
            "in_bbox" => {
                self.arity(5, 5)?;
                self.in_bbox()
            }
            "intersects" | "disjoint" | "within" => {
                self.arity(2, 2)?;
                let relation = match self.name() {
                    "intersects" => Relation::Intersects,
                    "disjoint" => Relation::Disjoint,
                    _ => Relation::Within,
                };
                self.relation(relation)
            }
            "geometry" => {
                self.arity(2, 3)?;
                let relation = match self.args.get(2) {
                    Some(arg) => self.mode(arg)?,
                    None => Relation::Intersects,
                };
                self.relation(relation)
            }
            "polygon" => {
                self.arity(2, 2)?;
                let field = self.geo_field()?;
                let geometry = self.geometry(1)?;
                if !matches!(geometry.geometry(), Geometry::Polygon(_) | Geometry::MultiPolygon(_))
                {
                    return Err(self.scope.err(
                        format!(
                            "polygon() expects a polygon, e.g. geom'POLYGON((7.7 48.5, 7.8 48.5, 7.8 48.6, 7.7 48.5))', not a {}.",
                            parse::type_name(geometry.geometry())
                        ),
                        self.args[1].span,
                    ));
                }
                Ok(scalar_call(
                    "polygon",
                    GeoOp::Relate { relation: Relation::Intersects, geometry },
                    field,
                ))
            }
            "geo_cluster" => {
                let field = self.geo_field()?;
                let precision =
                    self.args.get(1).and_then(|a| a.as_integer()).filter(|p| (1..=12).contains(p));
                let Some(precision) = precision else {
                    return Err(self.err("geo_cluster() takes a precision from 1 (coarse) to 12 (fine), e.g. geo_cluster(position, 6).".to_owned()));
                };
                let udf = cluster::GeoClusterUdf::new(precision as u8);
                Ok(Arc::new(ScalarUDF::new_from_impl(udf)).call(vec![field]))
            }
            "bbox" => self.aggregate(GeoAggregateKind::Bbox),
            "envelope" => self.aggregate(GeoAggregateKind::Envelope),
            other => Err(self.err(format!("{other}() is not a geo function."))),
        }
    }

    fn err(&self, message: impl Into<String>) -> crate::error::Error {
        self.scope.err(message, self.name_span)
    }

    /// Checks the number of arguments.
    fn arity(&self, min: usize, max: usize) -> Result<()> {
        let n = self.args.len();
        if (min..=max).contains(&n) {
            return Ok(());
        }
        let expected = if min == max { min.to_string() } else { format!("{min} or {max}") };
        Err(self.err(format!(
            "{}() takes {expected} arguments, {n} given: {}.",
            self.name(),
            self.doc.signature
        )))
    }

    fn ast(&self, i: usize) -> &Ast {
        self.args[i]
    }

    /// The first argument: a `geo_point_2d` or `geo_shape` field, as a column.
    fn geo_field(&self) -> Result<Expr> {
        let ast = self.ast(0);
        let expected = format!(
            "{}() expects a geo_point_2d or geo_shape field as first argument",
            self.name()
        );
        let ExprKind::Field(name) = &ast.kind else {
            return Err(self.scope.err(format!("{expected}: {}.", self.doc.signature), ast.span));
        };
        match self.scope.field(name) {
            Some(f) if matches!(f.field_type, FieldType::GeoPoint2d | FieldType::GeoShape) => {
                Ok(column(name))
            }
            Some(f) => {
                Err(self.scope.err(format!("{expected}, `{name}` is {}.", f.field_type), ast.span))
            }
            None => {
                // Unknown names get the usual error (with its suggestion); an alias is no field.
                self.scope.lower(ast)?;
                Err(self.scope.err(format!("{expected}, `{name}` is not a field."), ast.span))
            }
        }
    }

    /// A `geom'…'` argument, parsed and checked.
    fn geometry(&self, i: usize) -> Result<QueryGeom> {
        let ast = self.ast(i);
        match &ast.kind {
            ExprKind::Literal(Literal::Geom(text)) => {
                let geometry = parse::parse_geometry(text)
                    .and_then(|g| parse::check_wgs84(&g).map(|()| g))
                    .map_err(|e| {
                        self.scope.err(
                            format!(
                                "invalid geometry in {}(): {e}. Write WKT such as geom'POINT(7.75 48.58)' (longitude latitude) or a GeoJSON geometry such as geom'{{\"type\":\"Point\",\"coordinates\":[7.75,48.58]}}'.",
                                self.name()
                            ),
                            ast.span,
                        )
                    })?;
                Ok(QueryGeom::new(text.trim(), geometry))
            }
            ExprKind::Literal(Literal::String(text)) => Err(self.scope.err(
                format!(
                    "{}() expects a geometry literal: write geom'{text}' rather than a string.",
                    self.name()
                ),
                ast.span,
            )),
            _ => Err(self.scope.err(
                format!(
                    "{}() expects a geometry literal such as geom'POINT(7.75 48.58)' as argument {}: {}.",
                    self.name(),
                    i + 1,
                    self.doc.signature
                ),
                ast.span,
            )),
        }
    }

    /// A `geom'POINT(lon lat)'` argument.
    fn point(&self, i: usize) -> Result<QueryGeom> {
        let center = self.geometry(i)?;
        match center.geometry() {
            Geometry::Point(_) => Ok(center),
            other => Err(self.scope.err(
                format!(
                    "{}() measures distances from a point, e.g. geom'POINT(7.75 48.58)', not from a {}.",
                    self.name(),
                    parse::type_name(other)
                ),
                self.args[i].span,
            )),
        }
    }

    /// A distance argument: `10km`, `100yd`, or a number of metres.
    fn meters(&self, i: usize) -> Result<Meters> {
        let ast = self.ast(i);
        let meters = match &ast.kind {
            ExprKind::Literal(Literal::Distance { value, unit }) => value * unit.meters(),
            ExprKind::Literal(Literal::Integer(n)) => *n as f64,
            ExprKind::Literal(Literal::Decimal(x)) => *x,
            _ => f64::NAN,
        };
        if meters.is_finite() && meters >= 0.0 {
            return Ok(Meters(meters));
        }
        Err(self.scope.err(
            format!(
                "{}() expects a distance such as 500m, 10km, 1mi, 100yd or 30ft (a bare number is metres) as argument {}.",
                self.name(),
                i + 1
            ),
            ast.span,
        ))
    }

    /// A number argument of `in_bbox`, possibly negative.
    fn number(&self, i: usize) -> Result<f64> {
        let ast = self.ast(i);
        let value = match &ast.kind {
            ExprKind::Literal(Literal::Integer(n)) => Some(*n as f64),
            ExprKind::Literal(Literal::Decimal(x)) => Some(*x),
            ExprKind::Unary { op: UnaryOp::Neg, expr } => match &expr.kind {
                ExprKind::Literal(Literal::Integer(n)) => Some(-(*n as f64)),
                ExprKind::Literal(Literal::Decimal(x)) => Some(-*x),
                _ => None,
            },
            _ => None,
        };
        let (what, range) = if i % 2 == 1 { ("latitude", 90.0) } else { ("longitude", 180.0) };
        match value {
            Some(v) if v.is_finite() && (-range..=range).contains(&v) => Ok(v),
            Some(v) => Err(self.scope.err(
                format!("in_bbox(): {what} {v} is not between -{range} and {range}; the corners are written latitude first: in_bbox(field, lat1, lon1, lat2, lon2)."),
                ast.span,
            )),
            None => Err(self.scope.err(
                format!("in_bbox() expects a number ({what}) as argument {}: in_bbox(field, lat1, lon1, lat2, lon2).", i + 1),
                ast.span,
            )),
        }
    }

    fn within_distance(&self) -> Result<Expr> {
        let field = self.geo_field()?;
        let center = self.point(1)?;
        let radius = self.meters(2)?;
        Ok(scalar_call(self.name(), GeoOp::WithinDistance { center, radius }, field))
    }

    fn distance(&self) -> Result<Expr> {
        let field = self.geo_field()?;
        let center = self.point(1)?;
        Ok(scalar_call("distance", GeoOp::Distance { center }, field))
    }

    fn in_bbox(&self) -> Result<Expr> {
        let field = self.geo_field()?;
        let (lat1, lon1, lat2, lon2) =
            (self.number(1)?, self.number(2)?, self.number(3)?, self.number(4)?);
        let rect = Rect::new((lon1, lat1), (lon2, lat2));
        let text =
            format!("BBOX({} {}, {} {})", rect.min().x, rect.min().y, rect.max().x, rect.max().y);
        let geometry = QueryGeom::new(text, Geometry::Rect(rect));
        Ok(scalar_call(
            "in_bbox",
            GeoOp::Relate { relation: Relation::Intersects, geometry },
            field,
        ))
    }

    fn relation(&self, relation: Relation) -> Result<Expr> {
        let field = self.geo_field()?;
        let geometry = self.geometry(1)?;
        Ok(scalar_call(self.name(), GeoOp::Relate { relation, geometry }, field))
    }

    /// The mode of `geometry()`: `INTERSECTS`, `DISJOINT` or `WITHIN`.
    fn mode(&self, arg: &Ast) -> Result<Relation> {
        let word = match &arg.kind {
            ExprKind::Field(w) | ExprKind::Literal(Literal::String(w)) => w.as_str(),
            _ => "",
        };
        match word.to_ascii_lowercase().as_str() {
            "intersects" => Ok(Relation::Intersects),
            "disjoint" => Ok(Relation::Disjoint),
            "within" => Ok(Relation::Within),
            _ => Err(self.scope.err(
                "geometry() takes INTERSECTS, DISJOINT or WITHIN as third argument.",
                arg.span,
            )),
        }
    }

    fn aggregate(&self, kind: GeoAggregateKind) -> Result<Expr> {
        if !self.scope.allow_aggregates {
            return Err(self.err(format!(
                "aggregate function {}() is not allowed in {}.",
                self.name(),
                self.scope.clause
            )));
        }
        self.arity(1, 1)?;
        let field = self.geo_field()?;
        Ok(Arc::new(AggregateUDF::new_from_impl(GeoAggregateUdf::new(kind))).call(vec![field]))
    }
}

fn scalar_call(name: &'static str, op: GeoOp, field: Expr) -> Expr {
    Arc::new(ScalarUDF::new_from_impl(GeoScalarUdf::new(name, op))).call(vec![field])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geo_aggregates_are_recognised_as_geojson() {
        let bbox =
            Arc::new(AggregateUDF::new_from_impl(GeoAggregateUdf::new(GeoAggregateKind::Bbox)))
                .call(vec![column("position")]);
        assert!(yields_geojson(&bbox));
        assert!(yields_geojson(&bbox.alias("b")));
        let max = datafusion::functions_aggregate::expr_fn::max(column("position"));
        assert!(!yields_geojson(&max));
        assert!(!yields_geojson(&column("position")));
    }
}
