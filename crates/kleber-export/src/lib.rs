//! Streaming encoders of Arrow [`RecordBatch`](arrow::record_batch::RecordBatch)es into the
//! bodies Opendatasoft's Explore API v2.1 answers with: JSON records (`/records`,
//! `/exports/json`), JSON Lines (`/exports/jsonl`), CSV (`/exports/csv`), and every other
//! dataset export format of [`ExportFormat`]: GeoJSON, KML (streamed like the text formats),
//! and XLSX, Parquet (GeoParquet), zipped shapefiles, GPX and FlatGeobuf, which are spooled to
//! a temporary file batch by batch ([`SpoolWriter`]) because they need a footer, an index or
//! ordered sections. [`export_writer`] picks the writer of a format; [`GzipChunks`] applies
//! `compressed=true`.
//!
//! Geographic formats take the records' geometry from one output column
//! ([`geometry_column`]: the first geo shape, else the first geo point); the other columns are
//! attributes. Each format module documents its mapping.
//!
//! # Model
//!
//! The caller (the query layer) describes each output column with an [`OutputColumn`]: its key
//! (JSON key, CSV header), its label (CSV header with `use_labels`) and its [`ColumnKind`]. The
//! kind is [`ColumnKind::Plain`] for every column encoded from its Arrow type, and
//! [`ColumnKind::GeoPoint`] / [`ColumnKind::GeoShape`] for Opendatasoft's geo types, whose Arrow
//! storage alone does not say what they are. A [`RecordEncoder`] holds these columns and the
//! [`EncodeOptions`]; batches are matched to columns **by position**.
//!
//! Writers ([`JsonArrayWriter`], [`JsonLinesWriter`], [`CsvWriter`], all [`RecordWriter`]s) append
//! to a `Vec<u8>` per call — `begin`, `write_batch` for each batch, `finish` — so a server can
//! stream one chunk per batch with memory independent of the dataset's size. [`IoWriter`] drives
//! them into any `std::io::Write`. No per-record allocation happens on these paths (except for
//! the rare Arrow types rendered through Arrow's display formatter).
//!
//! # Value encodings
//!
//! This table is the reference for how values are written. "Stored" rows are the storage types
//! of [`kleber_types::FieldType::storage_type`]; other rows are types query expressions
//! produce.
//!
//! | Arrow type (kind) | JSON | CSV |
//! |---|---|---|
//! | any null value | `null` | empty field |
//! | `Null` | `null` | empty field |
//! | `Utf8`, `LargeUtf8`, `Utf8View` — stored `text` | string | the text |
//! | `List`/`LargeList`/`FixedSizeList` — stored multivalued `text` is `List<Utf8>` | array of the elements' JSON values | elements' CSV texts joined with `list_separator` (null element = empty) |
//! | `Int8`…`Int64`, `UInt8`…`UInt64` — stored `int` | integer | integer |
//! | `Float64` — stored `double`; `Float32`, `Float16` | number as `serde_json` prints it (`12.0`, `0.1`, `1e21`); NaN/±inf → `null` | same text; NaN/±inf → empty |
//! | `Decimal32`…`Decimal256` | number (Arrow's decimal text, e.g. `12.34`) | same text |
//! | `Boolean` — stored `boolean` | `true` / `false` | `true` / `false` |
//! | `Date32` — stored `date`; `Date64` (day part) | `"YYYY-MM-DD"` | `YYYY-MM-DD` |
//! | `Timestamp(any unit, any or no tz)` — stored `datetime` is `Timestamp(µs, "UTC")` | `"2023-09-29T09:08:09+02:00"`: local time at the offset of [`EncodeOptions`], then that offset (`+00:00` for UTC, never `Z`); `.ffffff` only when the sub-second part is non-zero (9 digits if not whole µs) | same text |
//! | `Struct` (`Plain`) | object of the children, keyed by child name | the JSON object's text |
//! | `Dictionary` | the value's encoding | the value's encoding |
//! | `Struct{lon, lat}` (`GeoPoint`) — stored `geo_point_2d` | `{"lon":2.35,"lat":48.85}` | `lat, lon` text, latitude first: `48.85, 2.35` |
//! | string holding a GeoJSON geometry (`GeoShape`) — stored `geo_shape` | `{"type":"Feature","geometry":<the stored JSON, embedded verbatim>,"properties":{}}` | the stored geometry text |
//! | anything else (`Time*`, `Duration`, `Interval`, `Binary`, `Map`, …) | string of Arrow's display text | Arrow's display text |
//!
//! Details:
//!
//! * Timestamps without time zone are taken as UTC instants, like those with one; the time zone
//!   string of the Arrow type is otherwise ignored: the offset always comes from
//!   [`EncodeOptions`] (a fixed `utc_offset_seconds`, or an [`OffsetFn`] for zones with DST).
//!   Offsets with seconds render as `+HH:MM:SS`. Years outside 0–9999 get a sign
//!   (`+10000-01-01`, `-0001-12-31`).
//! * A geo point whose struct, `lon` or `lat` is null or non-finite is null. A geo shape whose
//!   stored text is empty or not a valid JSON object is null (in CSV too), so a corrupt value
//!   can never break the JSON of a whole export. CR/LF inside the stored geometry (whitespace)
//!   become spaces in JSON so that JSON Lines stay one record per line.
//! * JSON output is compact (no spaces); keys are the output keys in column order; strings are
//!   escaped like `serde_json` does.
//! * CSV ([`CsvOptions`]): delimiter `;` by default, UTF-8 BOM by default, CRLF line ends by
//!   default, header of keys (labels with `use_labels`). A field is quoted when it contains the
//!   delimiter, a quote, CR or LF (quotes doubled). With `quote_all`, every textual field and the
//!   header fields are quoted; numbers, booleans and empty (null) fields are not.
//!
//! Value oddities never make encoding fail or panic; errors ([`Error`]) are about the *shape* of
//! the batches (column count, a kind that does not fit the Arrow type) and I/O.

#![warn(missing_docs)]

mod columns;
mod datapackage;
mod encode;
pub mod error;
mod fgb;
mod format;
mod formats;
mod geojson_out;
mod geometry;
mod gpx;
mod gzip;
mod kml;
mod parquet_out;
mod rdf;
mod shp;
mod spool;
mod writers;
mod xlsx;

pub use columns::{ColumnKind, EncodeOptions, OffsetFn, OutputColumn};
pub use datapackage::{
    DATA_PACKAGE_PROFILE, DataPackageWriter, PackageInfo, PackageLicense, PackageParty, descriptor,
    package_name, table_schema,
};
pub use encode::RecordEncoder;
pub use error::{Error, Result};
pub use fgb::FgbWriter;
pub use formats::{ExportFormat, ExportOptions, ExportWriter, export_writer};
pub use geojson_out::{GeoJsonStyle, GeoJsonWriter};
pub use geometry::geometry_column;
pub use gpx::{GPX_EXTENSION_NAMESPACE, GpxOptions, GpxWriter};
pub use gzip::GzipChunks;
pub use kml::KmlWriter;
pub use parquet_out::{ParquetCompression, ParquetWriter, ROW_GROUP_BYTES, ROW_GROUP_ROWS};
pub use rdf::{RDF_RECORD_ID, RdfOptions, RdfSyntax, RdfWriter};
pub use shp::ShapefileWriter;
pub use spool::{SpoolBudget, SpoolDir, SpoolWriter};
pub use writers::{
    CsvOptions, CsvWriter, IoWriter, JsonArrayWriter, JsonLinesWriter, RecordWriter, UTF8_BOM,
    encode_all,
};
pub use xlsx::XlsxWriter;
