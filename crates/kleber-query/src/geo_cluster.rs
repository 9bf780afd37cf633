//! Map clustering: the records of a dataset's geo field counted per cell of a Web Mercator
//! grid over a viewport, computed by DataFusion over the Parquet file.
//!
//! A point is projected to Web Mercator (`x` from 0 at 180° W to 1 at 180° E, `y` from 0 at
//! 85.05° N to 1 at 85.05° S) and falls in cell `(floor(x·2^level), floor(y·2^level))` of a
//! grid of `2^level` cells a side. A map at zoom `z` (tiles of 256 px) uses
//! `level = z + 2` ([`Grid::for_zoom`]): cells of 64 px on the screen. A shape counts at the
//! centre of its bounding box, and is in the viewport when that box meets it.
//!
//! The plan: the query's filters (`where`, `refine`, `exclude`, as for records), then for a
//! point field a range filter on `lon`/`lat` (pushed into the Parquet reader, so row groups
//! outside the viewport are skipped), then one UDF (`MapCellUdf`) giving each record its
//! cell key and coordinates, then DataFusion's hash aggregate: per cell, `count(*)`, the mean
//! of the coordinates (the cluster's centroid) and their bounds (what a map zooms into). No
//! row is collected in Rust; only one row per non-empty cell comes back.
//!
//! Cells holding few records (`leaves_below`) are answered as records instead, smallest
//! first, up to `max_leaves` records in all: a second plan reads the rows of exactly those
//! cells, through the same planner as `/records` (`select`, record ids), and with
//! `simplify` set, shapes are simplified (Ramer–Douglas–Peucker, `geo`'s `Simplify`) to a
//! tolerance in degrees, so a city's polygons stay light at low zoom.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use ::geo::{Geometry, Rect, Simplify};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Float64Builder, Int64Array, Int64Builder,
    StringBuilder, StructArray,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{DataType, Field as ArrowField, Fields, Float64Type, Int64Type};
use datafusion::common::{Result as DfResult, exec_err};
use datafusion::dataframe::DataFrame;
use datafusion::functions::core::expr_fn::get_field;
use datafusion::functions_aggregate::expr_fn::{avg, max, min};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility, lit,
};
use kleber_types::{Field, FieldType, GEO_LAT, GEO_LON};

use crate::error::{Clause, Error, Result, planning};
use crate::geo::parse::{parse_geometry, to_geojson};
use crate::geo::scalar::GeoColumn;
use crate::lower::column;
use crate::plan::{ColumnRole, PlannedQuery, RecordsQuery};

/// Finest grid: `2^30` cells a side (a few centimetres), so a cell key fits in 60 bits.
pub const MAX_LEVEL: u8 = 30;
/// Grid levels above the map's zoom: `2^2` cells a 256-px tile side, cells of 64 px.
pub const LEVELS_ABOVE_ZOOM: u8 = 2;
/// Highest zoom a map may ask for.
pub const MAX_ZOOM: u8 = 22;
/// Latitude where Web Mercator ends (a square world).
const MERCATOR_MAX_LAT: f64 = 85.051_128_779_806_59;

/// A longitude/latitude rectangle: west, south, east, north, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    /// Smallest longitude.
    pub west: f64,
    /// Smallest latitude.
    pub south: f64,
    /// Largest longitude.
    pub east: f64,
    /// Largest latitude.
    pub north: f64,
}

impl Viewport {
    /// The whole world.
    pub const WORLD: Viewport = Viewport { west: -180.0, south: -90.0, east: 180.0, north: 90.0 };

    /// A viewport, checked: finite, longitudes in [-180, 180], latitudes in [-90, 90], west
    /// ≤ east and south ≤ north (a box never crosses the antimeridian). The error says which
    /// rule is broken.
    pub fn new(west: f64, south: f64, east: f64, north: f64) -> Result<Viewport, String> {
        if ![west, south, east, north].iter().all(|v| v.is_finite()) {
            return Err("every bound must be a finite number".to_owned());
        }
        if !(-180.0..=180.0).contains(&west) || !(-180.0..=180.0).contains(&east) {
            return Err("longitudes must be between -180 and 180".to_owned());
        }
        if !(-90.0..=90.0).contains(&south) || !(-90.0..=90.0).contains(&north) {
            return Err("latitudes must be between -90 and 90".to_owned());
        }
        if west > east {
            return Err(format!("west ({west}) must not be east of east ({east})"));
        }
        if south > north {
            return Err(format!("south ({south}) must not be north of north ({north})"));
        }
        Ok(Viewport { west, south, east, north })
    }

    fn contains(&self, lon: f64, lat: f64) -> bool {
        lon >= self.west && lon <= self.east && lat >= self.south && lat <= self.north
    }

    fn meets(&self, r: &Rect<f64>) -> bool {
        r.min().x <= self.east
            && r.max().x >= self.west
            && r.min().y <= self.north
            && r.max().y >= self.south
    }

    fn is_world(&self) -> bool {
        *self == Viewport::WORLD
    }

    fn bits(&self) -> [u64; 4] {
        [self.west.to_bits(), self.south.to_bits(), self.east.to_bits(), self.north.to_bits()]
    }
}

/// Web Mercator of (lon, lat): `x` and `y` in [0, 1], `y` growing southwards; latitudes past
/// ±85.05° are clamped to the square world's edge.
pub fn project(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-MERCATOR_MAX_LAT, MERCATOR_MAX_LAT).to_radians();
    let x = (lon + 180.0) / 360.0;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0;
    (x.clamp(0.0, 1.0), y.clamp(0.0, 1.0))
}

/// A square grid of `2^level` cells a side over the Web Mercator world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Grid {
    level: u8,
}

impl Grid {
    /// The grid of `level` (0 to [`MAX_LEVEL`]).
    pub fn new(level: u8) -> Result<Grid, String> {
        if level > MAX_LEVEL {
            return Err(format!("the grid level must be at most {MAX_LEVEL}"));
        }
        Ok(Grid { level })
    }

    /// The grid of a map at `zoom` (0 to [`MAX_ZOOM`]): cells of 64 px.
    pub fn for_zoom(zoom: u8) -> Result<Grid, String> {
        if zoom > MAX_ZOOM {
            return Err(format!("zoom must be between 0 and {MAX_ZOOM}"));
        }
        Grid::new(zoom + LEVELS_ABOVE_ZOOM)
    }

    /// Cells a side.
    fn side(self) -> i64 {
        1i64 << self.level
    }

    /// The cell of (lon, lat).
    fn cell(self, lon: f64, lat: f64) -> (i64, i64) {
        let (x, y) = project(lon, lat);
        let n = self.side();
        let at = |v: f64| ((v * n as f64).floor() as i64).clamp(0, n - 1);
        (at(x), at(y))
    }

    /// The key of a cell, unique in the grid.
    fn key(self, (cx, cy): (i64, i64)) -> i64 {
        (cx << self.level) | cy
    }

    /// How many cells of this grid the viewport covers (at least partly).
    pub fn cells_over(self, v: &Viewport) -> u64 {
        let (x0, y0) = self.cell(v.west, v.north);
        let (x1, y1) = self.cell(v.east, v.south);
        ((x1 - x0 + 1) as u64).saturating_mul((y1 - y0 + 1) as u64)
    }
}

/// What to cluster, where, and how finely.
#[derive(Debug, Clone)]
pub struct ClusterRequest {
    /// The `geo_point_2d` or `geo_shape` field.
    pub field: String,
    /// The grid.
    pub grid: Grid,
    /// Only records in this rectangle.
    pub viewport: Viewport,
    /// Cells with fewer records than this are answered as records (0: never).
    pub leaves_below: u64,
    /// Most records answered in all.
    pub max_leaves: u64,
    /// Most clusters answered: more is [`Error::InvalidParameter`] (a coarser grid or a
    /// smaller viewport is needed).
    pub max_clusters: usize,
    /// Tolerance, in degrees, to which shapes answered as records are simplified.
    pub simplify: Option<f64>,
}

/// One cell's records.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// How many records.
    pub count: u64,
    /// Mean longitude of its records.
    pub lon: f64,
    /// Mean latitude of its records.
    pub lat: f64,
    /// Their bounds: west, south, east, north.
    pub bbox: [f64; 4],
}

/// The answer: the clusters, and the plan of the records answered one by one.
pub struct Clusters {
    /// The cells answered as clusters, largest first.
    pub clusters: Vec<Cluster>,
    /// The records of the cells answered as records (planned, not run), if any.
    pub leaves: Option<PlannedQuery>,
    /// How many records `leaves` reads.
    pub leaf_count: u64,
}

/// The UDF: a record's cell key and coordinates (`Struct{key, lon, lat}`), null when it has
/// no geometry or is outside the viewport.
#[derive(Debug, PartialEq, Eq, Hash)]
struct MapCellUdf {
    grid: Grid,
    viewport: [u64; 4],
    signature: Signature,
}

const KEY: &str = "key";

fn cell_fields() -> Fields {
    Fields::from(vec![
        ArrowField::new(KEY, DataType::Int64, true),
        ArrowField::new(GEO_LON, DataType::Float64, true),
        ArrowField::new(GEO_LAT, DataType::Float64, true),
    ])
}

impl MapCellUdf {
    fn viewport(&self) -> Viewport {
        let [w, s, e, n] = self.viewport.map(f64::from_bits);
        Viewport { west: w, south: s, east: e, north: n }
    }
}

/// The point a geometry counts at (a shape: the centre of its bounds), if in `viewport`.
fn locate(g: &Geometry<f64>, viewport: &Viewport) -> Option<(f64, f64)> {
    use ::geo::BoundingRect;
    let (lon, lat) = match g {
        Geometry::Point(p) => {
            if !viewport.contains(p.x(), p.y()) {
                return None;
            }
            (p.x(), p.y())
        }
        other => {
            let rect = catch_unwind(AssertUnwindSafe(|| other.bounding_rect())).ok().flatten()?;
            if !viewport.meets(&rect) {
                return None;
            }
            let c = rect.center();
            (c.x, c.y)
        }
    };
    (lon.is_finite() && lat.is_finite()).then_some((lon, lat))
}

/// Calls `f` with the point each row of the geo column `array` counts at (a shape: the centre
/// of its bounds), or `None` when it has no geometry, is not finite or is outside `viewport`.
fn each_location(
    array: &ArrayRef,
    viewport: &Viewport,
    f: &mut impl FnMut(Option<(f64, f64)>),
) -> DfResult<()> {
    match GeoColumn::new(array)? {
        // The fast path: the struct's own nulls and its two Float64 children, read in place.
        GeoColumn::Points { nulls, lon, lat } => {
            for row in 0..array.len() {
                let present = !nulls.as_ref().is_some_and(|n| n.is_null(row))
                    && !lon.is_null(row)
                    && !lat.is_null(row);
                let (x, y) = (lon.value(row), lat.value(row));
                f((present && x.is_finite() && y.is_finite() && viewport.contains(x, y))
                    .then_some((x, y)));
            }
        }
        column => {
            for row in 0..array.len() {
                f(column.get(row).and_then(|g| locate(&g, viewport)));
            }
        }
    }
    Ok(())
}

impl ScalarUDFImpl for MapCellUdf {
    fn name(&self) -> &str {
        "kleber_map_cell"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Struct(cell_fields()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let Some(arg) = args.args.into_iter().next() else {
            return exec_err!("kleber_map_cell takes a geo field");
        };
        let array: ArrayRef = arg.into_array(rows)?;
        let viewport = self.viewport();
        let (mut keys, mut lons, mut lats) = (
            Int64Builder::with_capacity(rows),
            Float64Builder::with_capacity(rows),
            Float64Builder::with_capacity(rows),
        );
        let mut valid = Vec::with_capacity(rows);
        let mut push = |at: Option<(f64, f64)>| match at {
            Some((lon, lat)) => {
                keys.append_value(self.grid.key(self.grid.cell(lon, lat)));
                lons.append_value(lon);
                lats.append_value(lat);
                valid.push(true);
            }
            None => {
                keys.append_null();
                lons.append_null();
                lats.append_null();
                valid.push(false);
            }
        };
        each_location(&array, &viewport, &mut push)?;
        let columns: Vec<ArrayRef> =
            vec![Arc::new(keys.finish()), Arc::new(lons.finish()), Arc::new(lats.finish())];
        let out = StructArray::try_new(cell_fields(), columns, Some(NullBuffer::from(valid)))?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// The cell key of a record's geometry (a shape: the centre of its bounds), null when it is missing, not finite or
/// outside the viewport. The aggregate then reads the point's own coordinates, so
/// nothing is copied per row but the key.
#[derive(Debug, PartialEq, Eq, Hash)]
struct PointKeyUdf {
    grid: Grid,
    viewport: [u64; 4],
    signature: Signature,
}

impl ScalarUDFImpl for PointKeyUdf {
    fn name(&self) -> &str {
        "kleber_map_point_key"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let Some(arg) = args.args.into_iter().next() else {
            return exec_err!("kleber_map_point_key takes a geo field");
        };
        let array: ArrayRef = arg.into_array(rows)?;
        let [w, s, e, n] = self.viewport.map(f64::from_bits);
        let viewport = Viewport { west: w, south: s, east: e, north: n };
        let key = |at: Option<(f64, f64)>| at.map(|(x, y)| self.grid.key(self.grid.cell(x, y)));
        let mut keys = Int64Builder::with_capacity(rows);
        each_location(&array, &viewport, &mut |at| keys.append_option(key(at)))?;
        let keys = keys.finish();
        Ok(ColumnarValue::Array(Arc::new(keys)))
    }
}

/// Simplifies a GeoJSON geometry column (text) to a tolerance in degrees.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SimplifyUdf {
    tolerance: u64,
    signature: Signature,
}

/// `g` simplified to `epsilon` (points and collections' points unchanged).
pub fn simplify(g: &Geometry<f64>, epsilon: f64) -> Geometry<f64> {
    match g {
        Geometry::LineString(l) => Geometry::LineString(l.simplify(epsilon)),
        Geometry::MultiLineString(l) => Geometry::MultiLineString(l.simplify(epsilon)),
        Geometry::Polygon(p) => Geometry::Polygon(p.simplify(epsilon)),
        Geometry::MultiPolygon(p) => Geometry::MultiPolygon(p.simplify(epsilon)),
        Geometry::GeometryCollection(c) => Geometry::GeometryCollection(
            c.iter().map(|g| simplify(g, epsilon)).collect::<Vec<_>>().into(),
        ),
        other => other.clone(),
    }
}

impl ScalarUDFImpl for SimplifyUdf {
    fn name(&self) -> &str {
        "kleber_simplify"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let Some(arg) = args.args.into_iter().next() else {
            return exec_err!("kleber_simplify takes a geo_shape column");
        };
        let array = arg.into_array(rows)?;
        let array = datafusion::arrow::compute::cast(&array, &DataType::Utf8)?;
        let texts = array.as_string::<i32>();
        let epsilon = f64::from_bits(self.tolerance);
        let mut out = StringBuilder::with_capacity(rows, texts.value_data().len());
        for row in 0..rows {
            if texts.is_null(row) {
                out.append_null();
                continue;
            }
            let text = texts.value(row);
            // A stored shape that does not parse is passed on as it is.
            let simplified = parse_geometry(text).ok().and_then(|g| {
                catch_unwind(AssertUnwindSafe(|| to_geojson(&simplify(&g, epsilon)))).ok()
            });
            out.append_value(simplified.as_deref().unwrap_or(text));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

fn udf(inner: impl ScalarUDFImpl + 'static) -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(inner))
}

/// The field to cluster, checked.
fn geo_field<'a>(fields: &'a [Field], name: &str) -> Result<&'a Field> {
    match fields.iter().find(|f| f.name == name) {
        Some(f) if matches!(f.field_type, FieldType::GeoPoint2d | FieldType::GeoShape) => Ok(f),
        Some(f) => Err(Error::InvalidParameter {
            name: "field",
            message: format!(
                "Invalid value for field API parameter: {name} is a {} field, but clusters need a geo_point_2d or geo_shape field.",
                f.field_type.name()
            ),
        }),
        None => Err(Error::InvalidParameter {
            name: "field",
            message: format!("Invalid value for field API parameter: unknown field {name:?}."),
        }),
    }
}

/// One aggregated row, read back.
struct Cell {
    key: i64,
    cluster: Cluster,
}

fn f64s(batch: &datafusion::arrow::record_batch::RecordBatch, i: usize) -> Result<Float64Array> {
    let array = datafusion::arrow::compute::cast(batch.column(i), &DataType::Float64)?;
    Ok(array.as_primitive::<Float64Type>().clone())
}

/// Runs the clustering of `request` over `table` (the dataset's scan) under `query`'s filters.
pub(crate) async fn run(
    table: DataFrame,
    fields: &[Field],
    query: &RecordsQuery,
    request: &ClusterRequest,
) -> Result<Clusters> {
    crate::limits::check_query(query)?;
    let field = geo_field(fields, &request.field)?;
    let viewport = request.viewport;
    // Points outside the viewport are dropped by a range filter the Parquet reader applies
    // (with row-group statistics) before the UDF sees them.
    let table = match field.field_type {
        FieldType::GeoPoint2d if !viewport.is_world() => {
            let lon = get_field(column(&field.name), GEO_LON);
            let lat = get_field(column(&field.name), GEO_LAT);
            let inside = lon
                .clone()
                .gt_eq(lit(viewport.west))
                .and(lon.lt_eq(lit(viewport.east)))
                .and(lat.clone().gt_eq(lit(viewport.south)))
                .and(lat.lt_eq(lit(viewport.north)));
            table.filter(inside).map_err(planning(Clause::Where))?
        }
        _ => table,
    };
    let df = crate::plan::filtered(table.clone(), fields, query, None, &[], None)?;
    // Each record's cell key and coordinates, as plain columns `k`, `x`, `y`.
    let key_udf = udf(PointKeyUdf {
        grid: request.grid,
        viewport: viewport.bits(),
        signature: Signature::any(1, Volatility::Immutable),
    });
    let df = if field.field_type == FieldType::GeoPoint2d {
        let (lon, lat) =
            (get_field(column(&field.name), GEO_LON), get_field(column(&field.name), GEO_LAT));
        df.select(vec![
            key_udf.call(vec![column(&field.name)]).alias("k"),
            lon.alias("x"),
            lat.alias("y"),
        ])
        .map_err(planning(Clause::Query))?
    } else {
        let cell_udf = udf(MapCellUdf {
            grid: request.grid,
            viewport: viewport.bits(),
            signature: Signature::any(1, Volatility::Immutable),
        });
        let cell = cell_udf.call(vec![column(&field.name)]);
        let df = df.select(vec![cell.alias("__cell")]).map_err(planning(Clause::Query))?;
        let part = |name: &str| get_field(column("__cell"), name);
        df.select(vec![part(KEY).alias("k"), part(GEO_LON).alias("x"), part(GEO_LAT).alias("y")])
            .map_err(planning(Clause::Query))?
    };
    let df = df.filter(column("k").is_not_null()).map_err(planning(Clause::Query))?;
    let aggregated = df
        .aggregate(
            vec![column("k")],
            vec![
                datafusion::functions_aggregate::count::count_all().alias("n"),
                avg(column("x")).alias("lon"),
                avg(column("y")).alias("lat"),
                min(column("x")).alias("w"),
                min(column("y")).alias("s"),
                max(column("x")).alias("e"),
                max(column("y")).alias("n_"),
            ],
        )
        .map_err(planning(Clause::Query))?
        .limit(0, Some(request.max_clusters.saturating_add(1)))
        .map_err(planning(Clause::Query))?;
    let batches = aggregated.collect().await?;
    let mut cells: Vec<Cell> = Vec::new();
    for batch in &batches {
        let keys = datafusion::arrow::compute::cast(batch.column(0), &DataType::Int64)?;
        let keys: &Int64Array = keys.as_primitive::<Int64Type>();
        let counts = datafusion::arrow::compute::cast(batch.column(1), &DataType::Int64)?;
        let counts: &Int64Array = counts.as_primitive::<Int64Type>();
        let [lon, lat, w, s, e, n] = [2, 3, 4, 5, 6, 7].map(|i| f64s(batch, i));
        let (lon, lat, w, s, e, n) = (lon?, lat?, w?, s?, e?, n?);
        for row in 0..batch.num_rows() {
            cells.push(Cell {
                key: keys.value(row),
                cluster: Cluster {
                    count: counts.value(row).max(0) as u64,
                    lon: lon.value(row),
                    lat: lat.value(row),
                    bbox: [w.value(row), s.value(row), e.value(row), n.value(row)],
                },
            });
        }
    }
    if cells.len() > request.max_clusters {
        return Err(Error::InvalidParameter {
            name: "zoom",
            message: format!(
                "More than {} clusters at this precision: ask a coarser grid (a lower zoom or precision) or a smaller area.",
                request.max_clusters
            ),
        });
    }
    // Smallest cells first become records, while the budget lasts.
    cells.sort_by(|a, b| a.cluster.count.cmp(&b.cluster.count).then(a.key.cmp(&b.key)));
    let mut leaf_keys = Vec::new();
    let mut leaf_count = 0u64;
    let mut clusters = Vec::new();
    for cell in cells {
        let n = cell.cluster.count;
        if n < request.leaves_below && leaf_count + n <= request.max_leaves {
            leaf_count += n;
            leaf_keys.push(lit(cell.key));
        } else {
            clusters.push(cell.cluster);
        }
    }
    clusters.sort_by_key(|c| std::cmp::Reverse(c.count));
    let leaves = if leaf_keys.is_empty() {
        None
    } else {
        let mut leaf_query = query.clone();
        leaf_query.group_by = None;
        leaf_query.order_by = None;
        leaf_query.offset = 0;
        leaf_query.limit = Some(leaf_count as usize);
        let key = key_udf.call(vec![column(&field.name)]);
        let rows = table.filter(key.in_list(leaf_keys, false)).map_err(planning(Clause::Query))?;
        let mut planned = crate::plan::plan(rows, fields, &leaf_query, None)?;
        if let Some(tolerance) = request.simplify.filter(|t| *t > 0.0) {
            simplify_shapes(&mut planned, tolerance)?;
        }
        Some(planned)
    };
    Ok(Clusters { clusters, leaves, leaf_count })
}

/// Replaces every shape column of `planned`'s page by its simplified geometry.
fn simplify_shapes(planned: &mut PlannedQuery, tolerance: f64) -> Result<()> {
    if !planned.columns.iter().any(|c| c.role == ColumnRole::GeoShape) {
        return Ok(());
    }
    let simplify = udf(SimplifyUdf {
        tolerance: tolerance.to_bits(),
        signature: Signature::any(1, Volatility::Immutable),
    });
    let projection: Vec<Expr> = planned
        .columns
        .iter()
        .map(|c| {
            let e = column(&c.key);
            if c.role == ColumnRole::GeoShape {
                simplify.call(vec![e]).alias(c.key.clone())
            } else {
                e
            }
        })
        .collect();
    planned.page = planned.page.clone().select(projection).map_err(planning(Clause::Select))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_nest_and_the_world_is_square() {
        let near =
            |(a, b): (f64, f64), (c, d): (f64, f64)| (a - c).abs() < 1e-12 && (b - d).abs() < 1e-12;
        assert!(near(project(-180.0, 90.0), (0.0, 0.0)));
        assert!(near(project(180.0, -90.0), (1.0, 1.0)));
        let (x, y) = project(0.0, 0.0);
        assert!((x - 0.5).abs() < 1e-12 && (y - 0.5).abs() < 1e-12);
        // A point's cell at level L+1 lies inside its cell at level L.
        let (lon, lat) = (7.7455, 48.5839);
        for level in 0..MAX_LEVEL {
            let (a, b) = (Grid::new(level).unwrap(), Grid::new(level + 1).unwrap());
            let (cx, cy) = a.cell(lon, lat);
            let (dx, dy) = b.cell(lon, lat);
            assert_eq!((dx / 2, dy / 2), (cx, cy), "level {level}");
        }
        // Keys are unique within a grid.
        let g = Grid::new(3).unwrap();
        let mut keys: Vec<i64> = (0..8).flat_map(|x| (0..8).map(move |y| g.key((x, y)))).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 64);
        assert_eq!(Grid::new(0).unwrap().cells_over(&Viewport::WORLD), 1);
        assert_eq!(Grid::new(4).unwrap().cells_over(&Viewport::WORLD), 256);
    }

    #[test]
    fn viewports_and_grids_are_checked() {
        assert!(Viewport::new(7.0, 48.0, 8.0, 49.0).is_ok());
        assert!(Viewport::new(8.0, 48.0, 7.0, 49.0).unwrap_err().contains("west"));
        assert!(Viewport::new(7.0, 49.0, 8.0, 48.0).unwrap_err().contains("south"));
        assert!(Viewport::new(-181.0, 48.0, 8.0, 49.0).unwrap_err().contains("longitudes"));
        assert!(Viewport::new(7.0, f64::NAN, 8.0, 49.0).unwrap_err().contains("finite"));
        assert!(Grid::for_zoom(MAX_ZOOM).is_ok());
        assert!(Grid::for_zoom(MAX_ZOOM + 1).is_err());
        assert!(Grid::new(MAX_LEVEL + 1).is_err());
    }

    #[test]
    fn simplification_drops_vertices_within_tolerance() {
        // A square with a vertex 0.001° off its edge: kept at a fine tolerance, dropped at a
        // coarse one.
        let g = parse_geometry("POLYGON((0 0, 0.5 0.001, 1 0, 1 1, 0 1, 0 0))").unwrap();
        let count = |g: &Geometry<f64>| {
            use ::geo::CoordsIter;
            g.coords_count()
        };
        assert_eq!(count(&simplify(&g, 0.0001)), 6);
        assert_eq!(count(&simplify(&g, 0.01)), 5);
        let p = parse_geometry("POINT(1 2)").unwrap();
        assert_eq!(simplify(&p, 1.0), p);
    }
}
