//! The registry of export formats: names, file extensions, content types, and the writer of
//! each ([`export_writer`]).

use arrow::datatypes::SchemaRef;

use crate::datapackage::{DataPackageWriter, PackageInfo};
use crate::encode::RecordEncoder;
use crate::error::{Error, Result};
use crate::fgb::FgbWriter;
use crate::geojson_out::{GeoJsonStyle, GeoJsonWriter};
use crate::gpx::{GpxOptions, GpxWriter};
use crate::kml::KmlWriter;
use crate::parquet_out::{ParquetCompression, ParquetWriter};
use crate::rdf::{RdfOptions, RdfSyntax, RdfWriter};
use crate::shp::ShapefileWriter;
use crate::spool::{SpoolDir, SpoolWriter};
use crate::writers::{CsvOptions, CsvWriter, JsonArrayWriter, JsonLinesWriter, RecordWriter};
use crate::xlsx::XlsxWriter;

/// A dataset export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// CSV (`;` by default, BOM by default).
    Csv,
    /// A JSON array of records.
    Json,
    /// JSON Lines.
    Jsonl,
    /// GeoJSON `FeatureCollection` (RFC 7946).
    GeoJson,
    /// Office Open XML workbook.
    Xlsx,
    /// Apache Parquet with GeoParquet metadata.
    Parquet,
    /// Zipped ESRI shapefile.
    Shp,
    /// KML 2.2.
    Kml,
    /// GPX 1.1.
    Gpx,
    /// FlatGeobuf.
    Fgb,
    /// JSON-LD: each record a resource (see the `rdf` module).
    JsonLd,
    /// Turtle.
    Turtle,
    /// RDF/XML.
    RdfXml,
    /// Notation3.
    N3,
    /// A Frictionless Data Package: `datapackage.json` and the CSV, zipped.
    DataPackage,
}

impl ExportFormat {
    /// Every dataset export format, in the order `/exports` lists them.
    pub const ALL: [ExportFormat; 15] = [
        ExportFormat::Csv,
        ExportFormat::Json,
        ExportFormat::Jsonl,
        ExportFormat::GeoJson,
        ExportFormat::Xlsx,
        ExportFormat::Parquet,
        ExportFormat::Shp,
        ExportFormat::Kml,
        ExportFormat::Gpx,
        ExportFormat::Fgb,
        ExportFormat::JsonLd,
        ExportFormat::Turtle,
        ExportFormat::RdfXml,
        ExportFormat::N3,
        ExportFormat::DataPackage,
    ];

    /// The formats of catalog exports (`/catalog/exports/{format}`).
    pub const CATALOG: [ExportFormat; 4] =
        [ExportFormat::Csv, ExportFormat::Json, ExportFormat::Jsonl, ExportFormat::Xlsx];

    /// The name in URLs.
    pub const fn name(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::GeoJson => "geojson",
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::Parquet => "parquet",
            ExportFormat::Shp => "shp",
            ExportFormat::Kml => "kml",
            ExportFormat::Gpx => "gpx",
            ExportFormat::Fgb => "fgb",
            ExportFormat::JsonLd => "jsonld",
            ExportFormat::Turtle => "turtle",
            ExportFormat::RdfXml => "rdfxml",
            ExportFormat::N3 => "n3",
            ExportFormat::DataPackage => "datapackage",
        }
    }

    /// The format named `name` in a URL.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The extension of the downloaded file (`zip` for shapefiles).
    pub const fn extension(self) -> &'static str {
        match self {
            ExportFormat::Shp | ExportFormat::DataPackage => "zip",
            ExportFormat::Turtle => "ttl",
            ExportFormat::RdfXml => "rdf",
            other => other.name(),
        }
    }

    /// The `Content-Type` of the body.
    pub const fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Json => "application/json; charset=utf-8",
            ExportFormat::Jsonl => "application/jsonl; charset=utf-8",
            ExportFormat::GeoJson => "application/geo+json",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            ExportFormat::Parquet => "application/vnd.apache.parquet",
            ExportFormat::Shp => "application/zip",
            ExportFormat::Kml => "application/vnd.google-earth.kml+xml",
            ExportFormat::Gpx => "application/gpx+xml",
            ExportFormat::Fgb => "application/octet-stream",
            ExportFormat::JsonLd => "application/ld+json",
            ExportFormat::Turtle => "text/turtle; charset=utf-8",
            ExportFormat::RdfXml => "application/rdf+xml",
            ExportFormat::N3 => "text/n3; charset=utf-8",
            ExportFormat::DataPackage => "application/zip",
        }
    }

    /// Whether the format is RDF: its records need their ids (the column
    /// [`crate::RDF_RECORD_ID`]).
    pub const fn is_rdf(self) -> bool {
        matches!(
            self,
            ExportFormat::JsonLd | ExportFormat::Turtle | ExportFormat::RdfXml | ExportFormat::N3
        )
    }

    /// Whether the format is about geometry and needs a geographic column (GeoJSON, shapefile,
    /// KML, GPX, FlatGeobuf). Parquet works with or without one.
    pub const fn needs_geometry(self) -> bool {
        matches!(
            self,
            ExportFormat::GeoJson
                | ExportFormat::Shp
                | ExportFormat::Kml
                | ExportFormat::Gpx
                | ExportFormat::Fgb
        )
    }

    /// The names of the formats that work without a geographic column.
    pub fn without_geometry() -> Vec<&'static str> {
        Self::ALL.into_iter().filter(|f| !f.needs_geometry()).map(Self::name).collect()
    }
}

/// Everything a writer may need besides the records.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Name of the export (the dataset id): names the KML document, the shapefile's files and
    /// the FlatGeobuf layer.
    pub name: String,
    /// CSV dialect (CSV only; `use_labels` also applies to XLSX headers).
    pub csv: CsvOptions,
    /// Parquet codec.
    pub parquet_compression: ParquetCompression,
    /// GPX naming and attributes.
    pub gpx: GpxOptions,
    /// Which API's GeoJSON to write.
    pub geojson: GeoJsonStyle,
    /// Where spooled formats write their temporary files.
    pub spool: SpoolDir,
    /// The records' IRIs (RDF formats).
    pub rdf: RdfOptions,
    /// The package's metadata (`datapackage`; required by it).
    pub datapackage: Option<PackageInfo>,
}

/// The writer of one export: streamed as produced, or spooled to a temporary file.
pub enum ExportWriter {
    /// Each batch is encoded into a chunk of the body.
    Stream(Box<dyn RecordWriter + Send>),
    /// The body is a file produced at the end.
    Spool(Box<dyn SpoolWriter + Send>),
}

impl std::fmt::Debug for ExportWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportWriter::Stream(_) => f.write_str("ExportWriter::Stream"),
            ExportWriter::Spool(_) => f.write_str("ExportWriter::Spool"),
        }
    }
}

/// The writer of `format` for batches of `schema` (the query's output) described by `encoder`.
pub fn export_writer(
    format: ExportFormat,
    encoder: RecordEncoder,
    schema: &SchemaRef,
    options: &ExportOptions,
) -> Result<ExportWriter> {
    let spool = &options.spool;
    Ok(match format {
        ExportFormat::Csv => {
            ExportWriter::Stream(Box::new(CsvWriter::new(encoder, options.csv.clone())))
        }
        ExportFormat::Json => ExportWriter::Stream(Box::new(JsonArrayWriter::new(encoder))),
        ExportFormat::Jsonl => ExportWriter::Stream(Box::new(JsonLinesWriter::new(encoder))),
        ExportFormat::GeoJson => {
            ExportWriter::Stream(Box::new(GeoJsonWriter::with_style(encoder, options.geojson)))
        }
        ExportFormat::Kml => ExportWriter::Stream(Box::new(KmlWriter::new(encoder, &options.name))),
        ExportFormat::Xlsx => {
            ExportWriter::Spool(Box::new(XlsxWriter::new(encoder, options.csv.use_labels, spool)?))
        }
        ExportFormat::Parquet => ExportWriter::Spool(Box::new(ParquetWriter::new(
            encoder,
            schema,
            options.parquet_compression,
            spool,
        )?)),
        ExportFormat::Shp => ExportWriter::Spool(Box::new(ShapefileWriter::new(
            encoder,
            schema,
            &options.name,
            spool,
        )?)),
        ExportFormat::Gpx => {
            ExportWriter::Spool(Box::new(GpxWriter::new(encoder, &options.gpx, spool)?))
        }
        ExportFormat::Fgb => {
            ExportWriter::Spool(Box::new(FgbWriter::new(encoder, schema, &options.name, spool)?))
        }
        ExportFormat::JsonLd => rdf(encoder, RdfSyntax::JsonLd, options)?,
        ExportFormat::Turtle => rdf(encoder, RdfSyntax::Turtle, options)?,
        ExportFormat::RdfXml => rdf(encoder, RdfSyntax::RdfXml, options)?,
        ExportFormat::N3 => rdf(encoder, RdfSyntax::N3, options)?,
        ExportFormat::DataPackage => {
            let info = options.datapackage.as_ref().ok_or_else(|| {
                Error::format("datapackage", "the export has no package metadata")
            })?;
            ExportWriter::Spool(Box::new(DataPackageWriter::new(
                encoder,
                info,
                &options.csv,
                spool,
            )?))
        }
    })
}

fn rdf(encoder: RecordEncoder, syntax: RdfSyntax, options: &ExportOptions) -> Result<ExportWriter> {
    Ok(ExportWriter::Stream(Box::new(RdfWriter::new(encoder, syntax, &options.rdf)?)))
}
