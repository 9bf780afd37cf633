//! `/exports/parquet`: Apache Parquet with GeoParquet 1.1 metadata.
//!
//! Columns keep their Arrow types (so Parquet gets int64, double, boolean, date32, timestamps
//! in UTC, lists of strings), named by their output keys. Geographic columns (geo points and
//! shapes) become WKB binary columns, described in the file's `geo` key-value metadata as
//! GeoParquet 1.1 asks: encoding `WKB`, the geometry types found, the bounding box and the CRS
//! (WGS 84 longitude/latitude, `OGC:CRS84`, written as PROJJSON). The primary column is the
//! output's geometry column ([`crate::geometry_column`]).
//!
//! Row groups hold at most [`ROW_GROUP_ROWS`] rows and [`ROW_GROUP_BYTES`] bytes, so the
//! writer's buffer is bounded.

use std::fs::File;
use std::sync::Arc;

use arrow::array::{ArrayRef, BinaryBuilder};
use arrow::datatypes::{DataType, Field as ArrowField, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use geozero::{CoordDimensions, ToWkb};
use parquet::arrow::ArrowWriter;
use parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde_json::json;

use crate::columns::ColumnKind;
use crate::encode::RecordEncoder;
use crate::error::{Error, Result};
use crate::geometry::{Bbox, geometry_column, type_name};
use crate::spool::{SpoolDir, SpoolWriter, rewound};

/// Rows per row group.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Largest row group, in bytes (wide rows, such as long shapes, cut groups earlier).
pub const ROW_GROUP_BYTES: usize = 64 << 20;

/// The codecs of `parquet_compression`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParquetCompression {
    /// Snappy (the default, as Opendatasoft).
    #[default]
    Snappy,
    /// Zstandard.
    Zstd,
    /// Gzip.
    Gzip,
    /// Brotli.
    Brotli,
    /// LZ4 (the `LZ4_RAW` codec).
    Lz4,
    /// No compression.
    None,
}

impl ParquetCompression {
    /// Every value, by its parameter name.
    pub const ALL: [(&'static str, ParquetCompression); 6] = [
        ("snappy", ParquetCompression::Snappy),
        ("zstd", ParquetCompression::Zstd),
        ("gzip", ParquetCompression::Gzip),
        ("brotli", ParquetCompression::Brotli),
        ("lz4", ParquetCompression::Lz4),
        ("none", ParquetCompression::None),
    ];

    /// The codec named `name` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.trim())).map(|(_, c)| *c)
    }

    fn codec(self) -> Compression {
        match self {
            ParquetCompression::Snappy => Compression::SNAPPY,
            ParquetCompression::Zstd => Compression::ZSTD(ZstdLevel::default()),
            ParquetCompression::Gzip => Compression::GZIP(GzipLevel::default()),
            ParquetCompression::Brotli => Compression::BROTLI(BrotliLevel::default()),
            ParquetCompression::Lz4 => Compression::LZ4_RAW,
            ParquetCompression::None => Compression::UNCOMPRESSED,
        }
    }
}

/// What is known of one geographic column so far.
#[derive(Debug, Default)]
struct GeoStats {
    bbox: Bbox,
    types: Vec<&'static str>,
}

/// Spools a (Geo)Parquet file.
pub struct ParquetWriter {
    encoder: RecordEncoder,
    schema: SchemaRef,
    writer: ArrowWriter<File>,
    /// Per output column: `Some` for geographic columns.
    geo: Vec<Option<GeoStats>>,
    rows: u64,
}

impl std::fmt::Debug for ParquetWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetWriter").field("rows", &self.rows).finish_non_exhaustive()
    }
}

fn parquet_err(e: impl std::fmt::Display) -> Error {
    Error::format("parquet", e)
}

impl ParquetWriter {
    /// A writer of batches of `input` schema (the query's), described by `encoder`.
    pub fn new(
        encoder: RecordEncoder,
        input: &SchemaRef,
        compression: ParquetCompression,
        spool: &SpoolDir,
    ) -> Result<Self> {
        encoder.check_schema(input)?;
        let columns = encoder.columns();
        let fields: Vec<ArrowField> = columns
            .iter()
            .zip(input.fields())
            .map(|(column, field)| match column.kind {
                ColumnKind::GeoPoint | ColumnKind::GeoShape => {
                    ArrowField::new(&column.key, DataType::Binary, true)
                }
                _ => ArrowField::new(&column.key, plain_type(field.data_type()), true),
            })
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let properties = WriterProperties::builder()
            .set_compression(compression.codec())
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
            .build();
        let writer = ArrowWriter::try_new(spool.file()?, Arc::clone(&schema), Some(properties))
            .map_err(parquet_err)?;
        let geo = columns
            .iter()
            .map(|c| {
                matches!(c.kind, ColumnKind::GeoPoint | ColumnKind::GeoShape)
                    .then(GeoStats::default)
            })
            .collect();
        Ok(ParquetWriter { encoder, schema, writer, geo, rows: 0 })
    }

    /// The GeoParquet `geo` metadata, or `None` without geographic columns.
    fn geo_metadata(&self) -> Option<String> {
        let primary = geometry_column(self.encoder.columns())?;
        let mut columns = serde_json::Map::new();
        for (column, stats) in self.encoder.columns().iter().zip(&self.geo) {
            let Some(stats) = stats else { continue };
            let mut meta = json!({
                "encoding": "WKB",
                "geometry_types": stats.types,
                "crs": crs84_projjson(),
            });
            if let Some(bbox) = stats.bbox.as_array() {
                meta["bbox"] = json!(bbox);
            }
            columns.insert(column.key.clone(), meta);
        }
        let metadata = json!({
            "version": "1.1.0",
            "primary_column": self.encoder.columns()[primary].key,
            "columns": columns,
        });
        Some(metadata.to_string())
    }
}

impl SpoolWriter for ParquetWriter {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let prepared = self.encoder.prepare(batch)?;
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
        for (c, stats) in self.geo.iter_mut().enumerate() {
            let Some(stats) = stats else {
                let array = batch.column(c);
                let wanted = self.schema.field(c).data_type();
                arrays.push(if array.data_type() == wanted {
                    Arc::clone(array)
                } else {
                    arrow::compute::cast(array, wanted).map_err(parquet_err)?
                });
                continue;
            };
            let mut builder = BinaryBuilder::with_capacity(prepared.rows, prepared.rows * 21);
            for row in 0..prepared.rows {
                match prepared.geometry(c, row) {
                    Some(geometry) => {
                        let wkb = geometry.to_wkb(CoordDimensions::xy()).map_err(parquet_err)?;
                        stats.bbox.extend(&geometry);
                        let name = type_name(&geometry);
                        if !stats.types.contains(&name) {
                            stats.types.push(name);
                        }
                        builder.append_value(wkb);
                    }
                    None => builder.append_null(),
                }
            }
            arrays.push(Arc::new(builder.finish()));
        }
        let out = RecordBatch::try_new(Arc::clone(&self.schema), arrays).map_err(parquet_err)?;
        self.writer.write(&out).map_err(parquet_err)?;
        self.rows += prepared.rows as u64;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<File> {
        if let Some(geo) = self.geo_metadata() {
            self.writer.append_key_value_metadata(KeyValue::new("geo".to_owned(), geo));
        }
        let file = self.writer.into_inner().map_err(parquet_err)?;
        rewound(file)
    }

    fn rows_written(&self) -> u64 {
        self.rows
    }
}

/// The type a column is written as: string and binary views (DataFusion's in-memory layout)
/// become plain strings and binaries, which every Parquet reader's Arrow schema knows.
fn plain_type(data_type: &DataType) -> DataType {
    match data_type {
        DataType::Utf8View => DataType::Utf8,
        DataType::BinaryView => DataType::Binary,
        DataType::List(item) => DataType::List(Arc::new(ArrowField::new(
            item.name(),
            plain_type(item.data_type()),
            item.is_nullable(),
        ))),
        other => other.clone(),
    }
}

/// OGC:CRS84 (WGS 84, longitude then latitude, degrees) as PROJJSON.
fn crs84_projjson() -> serde_json::Value {
    let axis = |name: &str, abbreviation: &str, direction: &str| json!({"name": name, "abbreviation": abbreviation, "direction": direction, "unit": "degree"});
    json!({
        "$schema": "https://proj.org/schemas/v0.7/projjson.schema.json",
        "type": "GeographicCRS",
        "name": "WGS 84 (CRS84)",
        "datum_ensemble": {
            "name": "World Geodetic System 1984 ensemble",
            "members": [
                {"name": "World Geodetic System 1984 (Transit)"},
                {"name": "World Geodetic System 1984 (G730)"},
                {"name": "World Geodetic System 1984 (G873)"},
                {"name": "World Geodetic System 1984 (G1150)"},
                {"name": "World Geodetic System 1984 (G1674)"},
                {"name": "World Geodetic System 1984 (G1762)"},
                {"name": "World Geodetic System 1984 (G2139)"}
            ],
            "ellipsoid": {
                "name": "WGS 84",
                "semi_major_axis": 6378137,
                "inverse_flattening": 298.257223563
            },
            "accuracy": "2.0",
            "id": {"authority": "EPSG", "code": 6326}
        },
        "coordinate_system": {
            "subtype": "ellipsoidal",
            "axis": [
                axis("Geodetic longitude", "Lon", "east"),
                axis("Geodetic latitude", "Lat", "north"),
            ]
        },
        "id": {"authority": "OGC", "code": "CRS84"}
    })
}
