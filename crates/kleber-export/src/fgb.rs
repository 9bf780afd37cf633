//! `/exports/fgb`: FlatGeobuf, without spatial index.
//!
//! The file is the magic bytes, the header (name, geometry type, columns, feature count,
//! envelope, CRS EPSG:4326) and the features, each a size-prefixed FlatBuffer built with the
//! `flatgeobuf` crate's schema types. The crate's own `FgbWriter` keeps ~56 bytes per feature
//! in memory until the end (to sort and index them); features are spooled here instead, and the
//! header, known only at the end, is written before them when the file is finished, so memory
//! stays bounded by one batch. No index means readers scan the file (as any stream does).
//!
//! Geometry type: `Point` for a geo point column; for shapes, the type all features share, or
//! `Unknown` (each geometry then carries its own type) when they differ. A record without
//! geometry is a feature without geometry. Properties: integers `Long`, doubles `Double`,
//! booleans `Bool`, dates and datetimes `DateTime` (ISO 8601 text in the request's time zone),
//! everything else `String`; nulls are absent properties.

use std::fs::File;
use std::io::{BufWriter, Write};

use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use flatbuffers::{FlatBufferBuilder, WIPOffset};
use flatgeobuf::{
    Column, ColumnArgs, ColumnType, Crs, CrsArgs, Feature, FeatureArgs, GeometryArgs, GeometryType,
    Header, HeaderArgs,
};
use geo_types::{Coord, Geometry, LineString, Polygon};

use crate::columns::ColumnKind;
use crate::encode::{Cell, Prepared, RecordEncoder};
use crate::error::{Error, Result};
use crate::format;
use crate::geometry::{Bbox, geometry_column};
use crate::spool::{SpoolDir, SpoolWriter, rewound};

/// FlatGeobuf's magic bytes (format version 3).
const MAGIC: [u8; 8] = [b'f', b'g', b'b', 3, b'f', b'g', b'b', 0];

/// How a column is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PropKind {
    Long,
    Double,
    Bool,
    DateTime,
    String,
}

impl PropKind {
    fn column_type(self) -> ColumnType {
        match self {
            PropKind::Long => ColumnType::Long,
            PropKind::Double => ColumnType::Double,
            PropKind::Bool => ColumnType::Bool,
            PropKind::DateTime => ColumnType::DateTime,
            PropKind::String => ColumnType::String,
        }
    }
}

fn prop_kind(kind: ColumnKind, data_type: &DataType) -> PropKind {
    if kind != ColumnKind::Plain {
        return PropKind::String;
    }
    match data_type {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32 => PropKind::Long,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => PropKind::Double,
        DataType::Boolean => PropKind::Bool,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _) => PropKind::DateTime,
        _ => PropKind::String,
    }
}

/// Spools a FlatGeobuf file.
pub struct FgbWriter {
    encoder: RecordEncoder,
    name: String,
    geometry: Option<usize>,
    /// (output column, property kind) of each FlatGeobuf column, in order.
    props: Vec<(usize, PropKind)>,
    features: BufWriter<File>,
    fbb: FlatBufferBuilder<'static>,
    /// The geometry type shared by every feature so far (`None` before the first one).
    shared_type: Option<GeometryType>,
    bbox: Bbox,
    spool: SpoolDir,
    rows: u64,
    properties: Vec<u8>,
    text: Vec<u8>,
}

impl std::fmt::Debug for FgbWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FgbWriter").field("rows", &self.rows).finish_non_exhaustive()
    }
}

impl FgbWriter {
    /// A writer of batches of `input` schema described by `encoder`; `name` (the dataset id)
    /// names the layer.
    pub fn new(
        encoder: RecordEncoder,
        input: &SchemaRef,
        name: &str,
        spool: &SpoolDir,
    ) -> Result<Self> {
        encoder.check_schema(input)?;
        let geometry = geometry_column(encoder.columns());
        let props = encoder
            .columns()
            .iter()
            .enumerate()
            .filter(|(c, _)| Some(*c) != geometry)
            .map(|(c, column)| (c, prop_kind(column.kind, input.field(c).data_type())))
            .collect();
        Ok(FgbWriter {
            encoder,
            name: name.to_owned(),
            geometry,
            props,
            features: BufWriter::new(spool.file()?),
            fbb: FlatBufferBuilder::new(),
            shared_type: None,
            bbox: Bbox::default(),
            spool: spool.clone(),
            rows: 0,
            properties: Vec::new(),
            text: Vec::new(),
        })
    }

    /// Encodes the properties of `row` into `self.properties`.
    fn encode_properties(&mut self, prepared: &Prepared<'_>, row: usize) {
        self.properties.clear();
        for (i, &(c, kind)) in self.props.iter().enumerate() {
            // The column index is a u16 in FlatGeobuf; wider outputs drop the extra columns.
            let Ok(index) = u16::try_from(i) else { break };
            let cell = prepared.cell(c, row);
            let start = self.properties.len();
            self.properties.extend_from_slice(&index.to_le_bytes());
            let written = match (kind, cell) {
                (_, Cell::Null) => false,
                (PropKind::Long, Cell::Int(v)) => {
                    self.properties.extend_from_slice(&v.to_le_bytes());
                    true
                }
                (PropKind::Long, Cell::Float(v)) => {
                    self.properties.extend_from_slice(&(v as i64).to_le_bytes());
                    true
                }
                (PropKind::Double, Cell::Float(v)) => {
                    self.properties.extend_from_slice(&v.to_le_bytes());
                    true
                }
                (PropKind::Double, Cell::Int(v)) => {
                    self.properties.extend_from_slice(&(v as f64).to_le_bytes());
                    true
                }
                (PropKind::Bool, Cell::Bool(b)) => {
                    self.properties.push(u8::from(b));
                    true
                }
                (_, Cell::Date(days)) => {
                    self.text.clear();
                    format::date(&mut self.text, days);
                    string(&mut self.properties, &self.text)
                }
                (_, Cell::Instant { secs, nanos, offset }) => {
                    self.text.clear();
                    format::instant(&mut self.text, secs, nanos, offset);
                    string(&mut self.properties, &self.text)
                }
                (PropKind::String | PropKind::DateTime, _) => {
                    self.text.clear();
                    prepared.text(c, row, &mut self.text)
                        && string(&mut self.properties, &self.text)
                }
                _ => false,
            };
            if !written {
                self.properties.truncate(start);
            }
        }
    }
}

/// Appends a length-prefixed string property value; `false` if it is too long for a u32.
fn string(out: &mut Vec<u8>, text: &[u8]) -> bool {
    match u32::try_from(text.len()) {
        Ok(len) => {
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(text);
            true
        }
        Err(_) => false,
    }
}

fn geometry_type(geometry: &Geometry<f64>) -> GeometryType {
    match geometry {
        Geometry::Point(_) => GeometryType::Point,
        Geometry::Line(_) | Geometry::LineString(_) => GeometryType::LineString,
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => GeometryType::Polygon,
        Geometry::MultiPoint(_) => GeometryType::MultiPoint,
        Geometry::MultiLineString(_) => GeometryType::MultiLineString,
        Geometry::MultiPolygon(_) => GeometryType::MultiPolygon,
        Geometry::GeometryCollection(_) => GeometryType::GeometryCollection,
    }
}

/// Flat coordinates and part ends (in points) of a geometry's rings or lines.
#[derive(Default)]
struct Flat {
    xy: Vec<f64>,
    ends: Vec<u32>,
}

impl Flat {
    fn push(&mut self, coords: impl Iterator<Item = Coord<f64>>) {
        for c in coords {
            self.xy.push(c.x);
            self.xy.push(c.y);
        }
        self.ends.push(u32::try_from(self.xy.len() / 2).unwrap_or(u32::MAX));
    }

    fn line(&mut self, line: &LineString<f64>) {
        self.push(line.coords().copied());
    }

    fn polygon(&mut self, polygon: &Polygon<f64>) {
        self.line(polygon.exterior());
        for ring in polygon.interiors() {
            self.line(ring);
        }
    }
}

/// Builds the FlatBuffers geometry of `geometry`.
fn build_geometry<'b>(
    fbb: &mut FlatBufferBuilder<'b>,
    geometry: &Geometry<f64>,
) -> WIPOffset<flatgeobuf::Geometry<'b>> {
    let type_ = geometry_type(geometry);
    let mut flat = Flat::default();
    let parts = match geometry {
        Geometry::Point(p) => {
            flat.push(std::iter::once(p.0));
            None
        }
        Geometry::Line(l) => {
            flat.push([l.start, l.end].into_iter());
            None
        }
        Geometry::LineString(l) => {
            flat.line(l);
            None
        }
        Geometry::Polygon(p) => {
            flat.polygon(p);
            None
        }
        Geometry::Rect(r) => {
            flat.polygon(&r.to_polygon());
            None
        }
        Geometry::Triangle(t) => {
            flat.polygon(&t.to_polygon());
            None
        }
        Geometry::MultiPoint(m) => {
            flat.push(m.iter().map(|p| p.0));
            None
        }
        Geometry::MultiLineString(m) => {
            for l in m {
                flat.line(l);
            }
            None
        }
        Geometry::MultiPolygon(m) => {
            let parts: Vec<_> =
                m.iter().map(|p| build_geometry(fbb, &Geometry::Polygon(p.clone()))).collect();
            Some(fbb.create_vector(&parts))
        }
        Geometry::GeometryCollection(c) => {
            let parts: Vec<_> = c.iter().map(|g| build_geometry(fbb, g)).collect();
            Some(fbb.create_vector(&parts))
        }
    };
    let (xy, ends) = if parts.is_some() {
        (None, None)
    } else {
        let xy = Some(fbb.create_vector(&flat.xy));
        // A single part needs no ends.
        let ends = (flat.ends.len() > 1).then(|| fbb.create_vector(&flat.ends));
        (xy, ends)
    };
    flatgeobuf::Geometry::create(
        fbb,
        &GeometryArgs { xy, ends, parts, type_, ..Default::default() },
    )
}

fn fgb_err(e: impl std::fmt::Display) -> Error {
    Error::format("fgb", e)
}

impl SpoolWriter for FgbWriter {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let encoder = self.encoder.clone();
        let prepared = encoder.prepare(batch)?;
        for row in 0..prepared.rows {
            let geometry = self.geometry.and_then(|g| prepared.geometry(g, row));
            self.encode_properties(&prepared, row);
            let fbb = &mut self.fbb;
            let g = geometry.as_ref().map(|g| build_geometry(fbb, g));
            let properties =
                (!self.properties.is_empty()).then(|| fbb.create_vector(&self.properties));
            let feature = Feature::create(
                fbb,
                &FeatureArgs { geometry: g, properties, ..Default::default() },
            );
            fbb.finish_size_prefixed(feature, None);
            self.features.write_all(fbb.finished_data())?;
            fbb.reset();
            if let Some(geometry) = &geometry {
                self.bbox.extend(geometry);
                let t = geometry_type(geometry);
                self.shared_type = match self.shared_type {
                    None => Some(t),
                    Some(s) if s == t => Some(s),
                    Some(_) => Some(GeometryType::Unknown),
                };
            }
            self.rows += 1;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<File> {
        let FgbWriter {
            encoder,
            name,
            geometry,
            props,
            features,
            shared_type,
            bbox,
            spool,
            rows,
            ..
        } = *self;
        let mut fbb = FlatBufferBuilder::new();
        let columns: Vec<_> = props
            .iter()
            .map(|&(c, kind)| {
                let name = fbb.create_string(&encoder.columns()[c].key);
                Column::create(
                    &mut fbb,
                    &ColumnArgs {
                        name: Some(name),
                        type_: kind.column_type(),
                        nullable: true,
                        ..Default::default()
                    },
                )
            })
            .collect();
        let columns = fbb.create_vector(&columns);
        let geometry_type = match geometry.map(|g| encoder.columns()[g].kind) {
            Some(ColumnKind::GeoPoint) => GeometryType::Point,
            _ => shared_type.unwrap_or(GeometryType::Unknown),
        };
        let envelope = bbox.as_array().map(|b| fbb.create_vector(&b));
        let org = fbb.create_string("EPSG");
        let crs =
            Crs::create(&mut fbb, &CrsArgs { org: Some(org), code: 4326, ..Default::default() });
        let name = fbb.create_string(&name);
        let header = Header::create(
            &mut fbb,
            &HeaderArgs {
                name: Some(name),
                envelope,
                geometry_type,
                columns: Some(columns),
                features_count: rows,
                index_node_size: 0,
                crs: Some(crs),
                ..Default::default()
            },
        );
        fbb.finish_size_prefixed(header, None);
        let mut out = BufWriter::new(spool.file()?);
        out.write_all(&MAGIC)?;
        out.write_all(fbb.finished_data())?;
        let mut features = rewound(features.into_inner().map_err(|e| Error::Io(e.into_error()))?)?;
        std::io::copy(&mut features, &mut out).map_err(fgb_err)?;
        rewound(out.into_inner().map_err(|e| Error::Io(e.into_error()))?)
    }

    fn rows_written(&self) -> u64 {
        self.rows
    }
}
