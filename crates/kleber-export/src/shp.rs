//! `/exports/shp`: an ESRI shapefile (`.shp`, `.shx`, `.dbf`, `.prj`, `.cpg`) in a zip.
//!
//! A shapefile holds one type of shape, so records go to one layer per family of geometry:
//! points, multi-points, lines (`LineString`, `MultiLineString`) and polygons (`Polygon`,
//! `MultiPolygon`). When a single layer is used (the usual case) its files are named after the
//! dataset (`<id>.shp`…); with mixed types each layer gets a suffix (`<id>_points.shp`,
//! `<id>_multipoints.shp`, `<id>_lines.shp`, `<id>_polygons.shp`). Records without geometry
//! (and geometry collections, which no shape type holds) are kept in `<id>_no_geometry.dbf`, a
//! table without shapes, rather than dropped: the `shapefile` crate cannot write null shapes in
//! a typed layer.
//!
//! Attributes (`.dbf`, UTF-8 as the `.cpg` says): field names are the column keys cut to 10
//! characters (anything but ASCII letters, digits and `_` becomes `_`), made unique with a
//! numeric suffix. Integers are `N(18,0)`, doubles `N(32,15)`, booleans `L`, dates `D`;
//! everything else (text, datetimes in the request's time zone, other geo columns) is `C(254)`,
//! cut at 254 bytes on a character boundary. A number too long for its field is written empty
//! rather than cut into a wrong value. Coordinates are WGS 84 longitude/latitude (`.prj`).

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use dbase::{FieldName, FieldValue, TableWriter, TableWriterBuilder};
use geo_types::{Coord, Geometry, LineString};
use shapefile::{Multipoint, Point, Polygon, PolygonRing, Polyline, ShapeWriter};

use crate::columns::ColumnKind;
use crate::encode::{Cell, Prepared, RecordEncoder};
use crate::error::{Error, Result};
use crate::format;
use crate::geometry::{WGS84_ESRI_WKT, geometry_column};
use crate::spool::{SpoolDir, SpoolWriter, rewound};

/// Longest DBF field name, in bytes.
const DBF_NAME_LEN: usize = 10;
/// Width of text fields (the DBF maximum).
const TEXT_WIDTH: u8 = 254;
/// Width of integer fields.
const INT_WIDTH: u8 = 18;
/// Width and decimals of double fields.
const DOUBLE_WIDTH: u8 = 32;
const DOUBLE_DECIMALS: u8 = 15;

/// How a column is stored in the DBF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DbfKind {
    Int,
    Double,
    Logical,
    Date,
    Text,
}

/// A layer: the shapes of one family and their attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Family {
    Points,
    Multipoints,
    Lines,
    Polygons,
}

impl Family {
    fn suffix(self) -> &'static str {
        match self {
            Family::Points => "points",
            Family::Multipoints => "multipoints",
            Family::Lines => "lines",
            Family::Polygons => "polygons",
        }
    }
}

/// A geometry converted to a shapefile shape.
enum Shape {
    Point(Point),
    Multipoint(Multipoint),
    Polyline(Polyline),
    Polygon(Polygon),
}

impl Shape {
    fn family(&self) -> Family {
        match self {
            Shape::Point(_) => Family::Points,
            Shape::Multipoint(_) => Family::Multipoints,
            Shape::Polyline(_) => Family::Lines,
            Shape::Polygon(_) => Family::Polygons,
        }
    }
}

fn point(c: Coord<f64>) -> Point {
    Point::new(c.x, c.y)
}

fn points(line: &LineString<f64>) -> Vec<Point> {
    line.coords().map(|c| point(*c)).collect()
}

fn polygon_rings(p: &geo_types::Polygon<f64>, rings: &mut Vec<PolygonRing<Point>>) {
    let outer = points(p.exterior());
    if outer.len() < 3 {
        return;
    }
    rings.push(PolygonRing::Outer(outer));
    for interior in p.interiors() {
        let inner = points(interior);
        if inner.len() >= 3 {
            rings.push(PolygonRing::Inner(inner));
        }
    }
}

/// The shape of a geometry; `None` for collections and degenerate geometries (a line of one
/// point, a polygon without a ring), which the shapefile crate cannot write.
fn shape(geometry: &Geometry<f64>) -> Option<Shape> {
    let lines = |parts: Vec<Vec<Point>>| {
        let parts: Vec<Vec<Point>> = parts.into_iter().filter(|p| p.len() >= 2).collect();
        (!parts.is_empty()).then(|| Shape::Polyline(Polyline::with_parts(parts)))
    };
    let polygons = |polygons: &[geo_types::Polygon<f64>]| {
        let mut rings = Vec::new();
        for p in polygons {
            polygon_rings(p, &mut rings);
        }
        (!rings.is_empty()).then(|| Shape::Polygon(Polygon::with_rings(rings)))
    };
    match geometry {
        Geometry::Point(p) => Some(Shape::Point(point(p.0))),
        Geometry::MultiPoint(m) => {
            let pts: Vec<Point> = m.iter().map(|p| point(p.0)).collect();
            (!pts.is_empty()).then(|| Shape::Multipoint(Multipoint::new(pts)))
        }
        Geometry::Line(l) => lines(vec![vec![point(l.start), point(l.end)]]),
        Geometry::LineString(l) => lines(vec![points(l)]),
        Geometry::MultiLineString(m) => lines(m.iter().map(points).collect()),
        Geometry::Polygon(p) => polygons(std::slice::from_ref(p)),
        Geometry::Rect(r) => polygons(&[r.to_polygon()]),
        Geometry::Triangle(t) => polygons(&[t.to_polygon()]),
        Geometry::MultiPolygon(m) => polygons(&m.0),
        Geometry::GeometryCollection(_) => None,
    }
}

/// One DBF column.
#[derive(Debug, Clone)]
struct DbfField {
    column: usize,
    name: String,
    kind: DbfKind,
}

/// The `.dbf` field names of `keys`: at most 10 ASCII bytes, unique.
fn dbf_names<'k>(keys: impl Iterator<Item = &'k str>) -> Vec<String> {
    let mut used: HashSet<String> = HashSet::new();
    keys.map(|key| {
        let base: String = key
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
            .take(DBF_NAME_LEN)
            .collect();
        let base = if base.is_empty() { "field".to_owned() } else { base };
        let mut name = base.clone();
        let mut n = 1;
        while !used.insert(name.to_ascii_lowercase()) {
            let suffix = format!("_{n}");
            let keep = DBF_NAME_LEN.saturating_sub(suffix.len()).min(base.len());
            name = format!("{}{suffix}", &base[..keep]);
            n += 1;
        }
        name
    })
    .collect()
}

fn dbf_kind(kind: ColumnKind, data_type: &DataType) -> DbfKind {
    if kind != ColumnKind::Plain {
        return DbfKind::Text;
    }
    match data_type {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => DbfKind::Int,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => DbfKind::Double,
        DataType::Boolean => DbfKind::Logical,
        DataType::Date32 | DataType::Date64 => DbfKind::Date,
        _ => DbfKind::Text,
    }
}

fn shp_err(e: impl std::fmt::Display) -> Error {
    Error::format("shp", e)
}

/// The DBF table of the attributes.
fn table_builder(fields: &[DbfField]) -> Result<TableWriterBuilder> {
    let mut builder = TableWriterBuilder::new();
    for f in fields {
        let name = FieldName::try_from(f.name.as_str()).map_err(shp_err)?;
        builder = match f.kind {
            DbfKind::Int => builder.add_numeric_field(name, INT_WIDTH, 0),
            DbfKind::Double => builder.add_numeric_field(name, DOUBLE_WIDTH, DOUBLE_DECIMALS),
            DbfKind::Logical => builder.add_logical_field(name),
            DbfKind::Date => builder.add_date_field(name),
            DbfKind::Text => builder.add_character_field(name, TEXT_WIDTH),
        };
    }
    Ok(builder)
}

/// One record's attributes.
struct Attributes(Vec<FieldValue>);

impl dbase::WritableRecord for Attributes {
    fn write_using<W: Write>(
        &self,
        field_writer: &mut dbase::FieldWriter<'_, W>,
    ) -> std::result::Result<(), dbase::FieldError> {
        for value in &self.0 {
            field_writer.write_next_field_value(value)?;
        }
        Ok(())
    }
}

/// A number as `N(width, decimals)` writes it, or `None` when it does not fit (never cut).
fn numeric(v: f64, width: u8, decimals: u8) -> Option<f64> {
    let text = format!("{v:.prec$}", prec = usize::from(decimals));
    (v.is_finite() && text.len() <= usize::from(width)).then_some(v)
}

/// `text` cut to at most `max` bytes on a character boundary.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

fn attributes(prepared: &Prepared<'_>, fields: &[DbfField], row: usize) -> Attributes {
    let mut text = Vec::new();
    let values = fields
        .iter()
        .map(|f| {
            let cell = prepared.cell(f.column, row);
            match f.kind {
                DbfKind::Int | DbfKind::Double => {
                    let (width, decimals) = if f.kind == DbfKind::Int {
                        (INT_WIDTH, 0)
                    } else {
                        (DOUBLE_WIDTH, DOUBLE_DECIMALS)
                    };
                    let v = match cell {
                        Cell::Int(i) => Some(i as f64),
                        Cell::Float(x) => Some(x),
                        _ => None,
                    };
                    FieldValue::Numeric(v.and_then(|v| numeric(v, width, decimals)))
                }
                DbfKind::Logical => FieldValue::Logical(match cell {
                    Cell::Bool(b) => Some(b),
                    _ => None,
                }),
                DbfKind::Date => FieldValue::Date(match cell {
                    Cell::Date(days) => {
                        let (y, m, d) = format::civil_from_days(days);
                        u32::try_from(y).ok().and_then(|y| dbase::Date::new(d, m, y).ok())
                    }
                    _ => None,
                }),
                DbfKind::Text => {
                    text.clear();
                    let value = if prepared.text(f.column, row, &mut text) {
                        cut(&String::from_utf8_lossy(&text), usize::from(TEXT_WIDTH))
                    } else {
                        String::new()
                    };
                    FieldValue::Character(Some(value))
                }
            }
        })
        .collect();
    Attributes(values)
}

type Sink = BufWriter<File>;

/// A layer being written.
struct Layer {
    family: Family,
    dir: PathBuf,
    shapes: ShapeWriter<Sink>,
    table: TableWriter<Sink>,
}

fn create(dir: &Path, name: &str) -> Result<Sink> {
    Ok(BufWriter::new(File::create(dir.join(name))?))
}

/// Spools a zipped shapefile.
pub struct ShapefileWriter {
    encoder: RecordEncoder,
    name: String,
    geometry: Option<usize>,
    fields: Vec<DbfField>,
    temp: tempfile::TempDir,
    layers: Vec<Layer>,
    no_geometry: Option<TableWriter<Sink>>,
    spool: SpoolDir,
    rows: u64,
}

impl std::fmt::Debug for ShapefileWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShapefileWriter").field("rows", &self.rows).finish_non_exhaustive()
    }
}

impl ShapefileWriter {
    /// A writer of batches of `input` schema described by `encoder`; `name` (the dataset id)
    /// names the files.
    pub fn new(
        encoder: RecordEncoder,
        input: &SchemaRef,
        name: &str,
        spool: &SpoolDir,
    ) -> Result<Self> {
        encoder.check_schema(input)?;
        let geometry = geometry_column(encoder.columns());
        let columns: Vec<usize> =
            (0..encoder.columns().len()).filter(|c| Some(*c) != geometry).collect();
        let names = dbf_names(columns.iter().map(|&c| encoder.columns()[c].key.as_str()));
        let fields = columns
            .iter()
            .zip(names)
            .map(|(&c, name)| DbfField {
                column: c,
                name,
                kind: dbf_kind(encoder.columns()[c].kind, input.field(c).data_type()),
            })
            .collect();
        let name: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-') { c } else { '_' })
            .collect();
        Ok(ShapefileWriter {
            encoder,
            name,
            geometry,
            fields,
            temp: spool.dir()?,
            layers: Vec::new(),
            no_geometry: None,
            spool: spool.clone(),
            rows: 0,
        })
    }

    fn layer(&mut self, family: Family) -> Result<&mut Layer> {
        let index = match self.layers.iter().position(|l| l.family == family) {
            Some(i) => i,
            None => {
                let dir = self.temp.path().join(family.suffix());
                std::fs::create_dir_all(&dir)?;
                let shapes = ShapeWriter::with_shx(create(&dir, "l.shp")?, create(&dir, "l.shx")?);
                let table = table_builder(&self.fields)?.build_with_dest(create(&dir, "l.dbf")?);
                self.layers.push(Layer { family, dir, shapes, table });
                self.layers.len() - 1
            }
        };
        Ok(&mut self.layers[index])
    }

    fn no_geometry(&mut self) -> Result<&mut TableWriter<Sink>> {
        if self.no_geometry.is_none() {
            let table =
                table_builder(&self.fields)?.build_with_dest(create(self.temp.path(), "none.dbf")?);
            self.no_geometry = Some(table);
        }
        self.no_geometry.as_mut().ok_or_else(|| shp_err("no table"))
    }
}

impl SpoolWriter for ShapefileWriter {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let encoder = self.encoder.clone();
        let prepared = encoder.prepare(batch)?;
        for row in 0..prepared.rows {
            let record = attributes(&prepared, &self.fields, row);
            let shape =
                self.geometry.and_then(|g| prepared.geometry(g, row)).and_then(|g| shape(&g));
            match shape {
                Some(shape) => {
                    let layer = self.layer(shape.family())?;
                    match &shape {
                        Shape::Point(s) => layer.shapes.write_shape(s),
                        Shape::Multipoint(s) => layer.shapes.write_shape(s),
                        Shape::Polyline(s) => layer.shapes.write_shape(s),
                        Shape::Polygon(s) => layer.shapes.write_shape(s),
                    }
                    .map_err(shp_err)?;
                    layer.table.write_record(&record).map_err(shp_err)?;
                }
                None => self.no_geometry()?.write_record(&record).map_err(shp_err)?,
            }
            self.rows += 1;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<File> {
        use zip::write::SimpleFileOptions;
        let mut zip = zip::ZipWriter::new(BufWriter::new(self.spool.file()?));
        let options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let single = self.layers.len() == 1;
        let layers = std::mem::take(&mut self.layers);
        for mut layer in layers {
            layer.shapes.finalize().map_err(shp_err)?;
            layer.table.finalize().map_err(shp_err)?;
            drop(layer.shapes);
            drop(layer.table);
            let base = if single {
                self.name.clone()
            } else {
                format!("{}_{}", self.name, layer.family.suffix())
            };
            for ext in ["shp", "shx", "dbf"] {
                zip.start_file(format!("{base}.{ext}"), options).map_err(shp_err)?;
                let mut file = File::open(layer.dir.join(format!("l.{ext}")))?;
                std::io::copy(&mut file, &mut zip)?;
            }
            zip.start_file(format!("{base}.prj"), options).map_err(shp_err)?;
            zip.write_all(WGS84_ESRI_WKT.as_bytes())?;
            zip.start_file(format!("{base}.cpg"), options).map_err(shp_err)?;
            zip.write_all(b"UTF-8")?;
        }
        if let Some(mut table) = self.no_geometry.take() {
            table.finalize().map_err(shp_err)?;
            drop(table);
            let base = format!("{}_no_geometry", self.name);
            zip.start_file(format!("{base}.dbf"), options).map_err(shp_err)?;
            let mut file = File::open(self.temp.path().join("none.dbf"))?;
            std::io::copy(&mut file, &mut zip)?;
            zip.start_file(format!("{base}.cpg"), options).map_err(shp_err)?;
            zip.write_all(b"UTF-8")?;
        }
        let out = zip.finish().map_err(shp_err)?;
        let file = out.into_inner().map_err(|e| Error::Io(e.into_error()))?;
        rewound(file)
    }

    fn rows_written(&self) -> u64 {
        self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dbf_names_are_short_and_unique() {
        let names =
            dbf_names(["nom_parking", "nom_parking_2", "etat", "count(*)", "Etat", ""].into_iter());
        assert_eq!(names, ["nom_parkin", "nom_park_1", "etat", "count___", "Etat_1", "field"]);
        assert!(names.iter().all(|n| n.len() <= DBF_NAME_LEN));
    }

    #[test]
    fn numbers_too_wide_are_left_empty() {
        assert_eq!(numeric(12.5, DOUBLE_WIDTH, DOUBLE_DECIMALS), Some(12.5));
        assert_eq!(numeric(1e20, DOUBLE_WIDTH, DOUBLE_DECIMALS), None);
        assert_eq!(numeric(-123_456_789_012_345_678.0, INT_WIDTH, 0), None);
    }
}
