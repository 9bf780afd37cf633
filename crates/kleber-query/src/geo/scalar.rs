//! The geo scalar functions as one DataFusion UDF, [`GeoScalarUdf`], parameterised by the
//! query's geometry and distance, which are parsed once while planning.
//!
//! Distances are great-circle distances on a sphere (haversine, mean Earth radius of
//! 6,371,008.8 m; at most about 0.5 % off the WGS84 ellipsoid). Relations (`intersects`,
//! `within`, ...) are computed in the plane of longitude/latitude, as Opendatasoft and most
//! spatial databases do for WGS84 shapes.

use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use ::geo::{
    Closest, Contains, CoordsIter, Distance, Geometry, Haversine, HaversineClosestPoint,
    Intersects, Point,
};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Float64Array, Float64Builder, StringArray,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use kleber_types::{GEO_LAT, GEO_LON};

use super::parse::parse_geometry;

/// A geometry written in a query, parsed while planning. Two are equal when their texts are.
#[derive(Clone)]
pub(crate) struct QueryGeom {
    text: String,
    geometry: Arc<Geometry<f64>>,
}

impl QueryGeom {
    /// `text` is what the geometry was parsed from (or stands for), as shown in plans.
    pub(crate) fn new(text: impl Into<String>, geometry: Geometry<f64>) -> Self {
        QueryGeom { text: text.into(), geometry: Arc::new(geometry) }
    }

    pub(crate) fn geometry(&self) -> &Geometry<f64> {
        &self.geometry
    }
}

impl PartialEq for QueryGeom {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for QueryGeom {}

impl Hash for QueryGeom {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl std::fmt::Debug for QueryGeom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// A length in metres, comparable and hashable by its bits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meters(pub(crate) f64);

impl PartialEq for Meters {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Meters {}

impl Hash for Meters {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

/// A planar relation between a record's geometry and the query's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Relation {
    /// They share at least one point (boundaries included).
    Intersects,
    /// They share no point.
    Disjoint,
    /// The record's geometry is inside the query's (DE-9IM within).
    Within,
}

/// What a [`GeoScalarUdf`] computes for each record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum GeoOp {
    /// Boolean: the distance from `center` (a point) to the record is at most `radius`.
    WithinDistance { center: QueryGeom, radius: Meters },
    /// Float64: the distance in metres from `center` (a point) to the record.
    Distance { center: QueryGeom },
    /// Boolean: `relation` holds between the record and `geometry`.
    Relate { relation: Relation, geometry: QueryGeom },
}

/// A geo function of one geometry column (`geo_point_2d` struct or `geo_shape` text).
/// A record without geometry (null, or a stored shape that does not parse) gives null.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct GeoScalarUdf {
    name: &'static str,
    op: GeoOp,
    signature: Signature,
}

impl GeoScalarUdf {
    pub(crate) fn new(name: &'static str, op: GeoOp) -> Self {
        GeoScalarUdf { name, op, signature: Signature::any(1, Volatility::Immutable) }
    }

    fn parameters(&self) -> String {
        match &self.op {
            GeoOp::WithinDistance { center, radius } => format!("{},{}m", center.text, radius.0),
            GeoOp::Distance { center } => center.text.clone(),
            GeoOp::Relate { relation, geometry } => format!("{relation:?},{}", geometry.text),
        }
    }
}

impl ScalarUDFImpl for GeoScalarUdf {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.op {
            GeoOp::Distance { .. } => DataType::Float64,
            GeoOp::WithinDistance { .. } | GeoOp::Relate { .. } => DataType::Boolean,
        })
    }

    /// The query's geometry is part of the name, so that two calls differing only by it
    /// (`group_by=distance(f, geom'…'), distance(f, geom'…')`) name two columns.
    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        let args: Vec<String> = args.iter().map(|a| a.schema_name().to_string()).collect();
        Ok(format!("{}({},{})", self.name, args.join(","), self.parameters()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [input] = args.args.as_slice() else {
            return exec_err!("{}() expects one geometry column", self.name);
        };
        let column = GeoColumn::new(&input.to_array(rows)?)?;
        let array: ArrayRef = match &self.op {
            GeoOp::Distance { center } => {
                let center = center_point(center)?;
                let mut out = Float64Builder::with_capacity(rows);
                for row in 0..rows {
                    let d = column.get(row).and_then(|g| guarded(|| distance_m(center, &g)));
                    out.append_option(d);
                }
                Arc::new(out.finish())
            }
            GeoOp::WithinDistance { center, radius } => {
                let center = center_point(center)?;
                let mut out = BooleanBuilder::with_capacity(rows);
                for row in 0..rows {
                    let hit = column
                        .get(row)
                        .map(|g| guarded(|| distance_m(center, &g)).is_some_and(|d| d <= radius.0));
                    out.append_option(hit);
                }
                Arc::new(out.finish())
            }
            GeoOp::Relate { relation, geometry } => {
                let mut out = BooleanBuilder::with_capacity(rows);
                for row in 0..rows {
                    let hit = column
                        .get(row)
                        .and_then(|g| guarded(|| Some(relate(*relation, &g, geometry.geometry()))));
                    out.append_option(hit);
                }
                Arc::new(out.finish())
            }
        };
        Ok(ColumnarValue::Array(array))
    }
}

fn center_point(center: &QueryGeom) -> Result<Point<f64>> {
    match center.geometry() {
        Geometry::Point(p) => Ok(*p),
        other => exec_err!("a distance is measured from a point, not {other:?}"),
    }
}

/// Runs `f`, turning a panic of a geometry algorithm on odd data into `None`.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Option<T>) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok().flatten()
}

fn relate(relation: Relation, record: &Geometry<f64>, query: &Geometry<f64>) -> bool {
    match relation {
        Relation::Intersects => record.intersects(query),
        Relation::Disjoint => !record.intersects(query),
        Relation::Within => query.contains(record),
    }
}

/// Great-circle distance in metres from `center` to the nearest point of `geometry`: 0 when
/// the point is on it or inside one of its polygons. `None` for an empty geometry.
pub(crate) fn distance_m(center: Point<f64>, geometry: &Geometry<f64>) -> Option<f64> {
    let d = match geometry {
        Geometry::Point(p) => Haversine.distance(center, *p),
        _ => match geometry.haversine_closest_point(&center) {
            Closest::Intersection(_) => 0.0,
            Closest::SinglePoint(p) => Haversine.distance(center, p),
            Closest::Indeterminate => return nearest_vertex(center, geometry),
        },
    };
    if d.is_finite() { Some(d) } else { nearest_vertex(center, geometry) }
}

/// Fallback when the nearest point cannot be computed: the nearest vertex.
fn nearest_vertex(center: Point<f64>, geometry: &Geometry<f64>) -> Option<f64> {
    geometry
        .coords_iter()
        .map(|c| Haversine.distance(center, Point::from(c)))
        .filter(|d| d.is_finite())
        .min_by(f64::total_cmp)
}

/// The geometries of one batch of a `geo_point_2d` or `geo_shape` column.
pub(crate) enum GeoColumn {
    /// `Struct{lon, lat}`.
    Points { nulls: Option<NullBuffer>, lon: Float64Array, lat: Float64Array },
    /// GeoJSON text, parsed row by row.
    Shapes(StringArray),
    /// A column of nulls.
    Null,
}

impl GeoColumn {
    pub(crate) fn new(array: &ArrayRef) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::Struct(_) => {
                let point = array.as_struct();
                let child = |name: &str| -> Result<Float64Array> {
                    let Some(child) = point.column_by_name(name) else {
                        return exec_err!("a geo_point_2d column has no `{name}` child");
                    };
                    Ok(cast(child, &DataType::Float64)?.as_primitive::<Float64Type>().clone())
                };
                GeoColumn::Points {
                    nulls: point.nulls().cloned(),
                    lon: child(GEO_LON)?,
                    lat: child(GEO_LAT)?,
                }
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                GeoColumn::Shapes(cast(array, &DataType::Utf8)?.as_string::<i32>().clone())
            }
            DataType::Null => GeoColumn::Null,
            other => return exec_err!("expected a geo_point_2d or geo_shape column, got {other}"),
        })
    }

    /// The geometry of a row, or `None` when it has none (null, non-finite, unparsable).
    pub(crate) fn get(&self, row: usize) -> Option<Geometry<f64>> {
        match self {
            GeoColumn::Points { nulls, lon, lat } => {
                if nulls.as_ref().is_some_and(|n| n.is_null(row))
                    || lon.is_null(row)
                    || lat.is_null(row)
                {
                    return None;
                }
                let (x, y) = (lon.value(row), lat.value(row));
                (x.is_finite() && y.is_finite()).then(|| Geometry::Point(Point::new(x, y)))
            }
            GeoColumn::Shapes(texts) => {
                if texts.is_null(row) {
                    return None;
                }
                let text = texts.value(row);
                guarded(|| parse_geometry(text).ok())
            }
            GeoColumn::Null => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::parse::parse_geometry;

    fn g(wkt: &str) -> Geometry<f64> {
        parse_geometry(wkt).unwrap()
    }

    #[test]
    fn distance_to_shapes_is_to_their_nearest_point() {
        let center = Point::new(7.75, 48.58);
        // A polygon around the point: 0.
        assert_eq!(
            distance_m(center, &g("POLYGON((7.7 48.5, 7.8 48.5, 7.8 48.6, 7.7 48.6, 7.7 48.5))")),
            Some(0.0)
        );
        // A meridian segment 0.01° of longitude east: ~737 m at this latitude.
        let d = distance_m(center, &g("LINESTRING(7.76 48.0, 7.76 49.0)")).unwrap();
        assert!((d - 736.6).abs() < 2.0, "{d}");
        // Empty collections have no distance.
        assert_eq!(distance_m(center, &g("GEOMETRYCOLLECTION EMPTY")), None);
    }

    #[test]
    fn odd_polygons_do_not_panic() {
        let center = Point::new(0.5, 0.5);
        // A degenerate ring, then a polygon with an empty hole.
        let _ = guarded(|| distance_m(center, &g("POLYGON((5 5, 6 6, 5 5))")));
        let hole = ::geo::Polygon::new(
            ::geo::LineString::from(vec![(2.0, 2.0), (3.0, 2.0), (3.0, 3.0), (2.0, 2.0)]),
            vec![::geo::LineString::new(vec![])],
        );
        let _ = guarded(|| distance_m(center, &Geometry::Polygon(hole)));
    }
}
