//! Reads a data file — CSV/TSV, JSON, JSONL, GeoJSON, XLSX, ODS, KML, KMZ, GPX, a zipped
//! shapefile, GeoPackage, Parquet or GeoParquet, or a zip holding one of these — into typed
//! Arrow batches and writes them as one Parquet file, with a schema inferred over the whole
//! file.
//!
//! The entry point is [`import_file`]. It returns the inferred [`Field`]s, the number of rows
//! written and the rows that could not be read ([`RowIssue`]s); only a file that cannot be read
//! at all is an [`Error`], and then no output file is left behind.
//!
//! # Formats
//!
//! * **CSV/TSV** — encoding detected (UTF-8 with or without BOM, UTF-16 with BOM, else the
//!   legacy encoding guessed by `chardetng`, in practice Windows-1252/Latin-1), delimiter
//!   detected among `,` `;` tab `|` (the one giving a consistent field count over the first
//!   records; on a tie `;` wins over `,`, as French exports with decimal commas tie),
//!   quote `"` or, when text fields of the sample are all wrapped in `'...'` and no field starts
//!   with `"`, `'`. Quoted fields may span lines; CRLF and LF are both fine. The header is
//!   detected: a first row of non-numeric, non-date texts is a header when some column below it
//!   holds numbers, dates, booleans or points, or when none of its values repeats below; the
//!   same name may appear twice (spreadsheets export such headers). Distinct four-digit years
//!   (1000–2999) count as names when some column they head holds something else than years
//!   below (`commune;2019;2020` over figures: one column per year); a first row of years over
//!   more years, or holding other typed values, is data, and fields are then named `column_1`,
//!   `column_2`... A blank name in a header is `column_<position>` too (a first row of blank
//!   names is such a header); blank names at the end of the header with no value under them in
//!   the first records (a trailing delimiter) are no column, and when most of the first records
//!   have values beyond the header, those are unnamed columns. Rows with a wrong number of fields are rejected (`expected N fields, found M`),
//!   except that extra, empty, last fields (a trailing delimiter) are ignored; empty lines are
//!   skipped. The file is streamed twice
//!   (pass 1 infers types, pass 2 converts and writes), so memory does not grow with its size.
//! * **JSON** — an array of objects; Opendatasoft API v1 exports (an array of items with a
//!   `fields` object) and search responses (an object with `records`); an object with `results`
//!   (API v2). For ODS items the `fields` object is the row; `datasetid`, `recordid` and
//!   `record_timestamp` are ignored; the item's `geometry` becomes a field (`geo_point_2d` when
//!   every geometry is a point, else `geo_shape`) only when no other field is already a
//!   geo_point_2d or geo_shape. A JSON file that is in fact a GeoJSON FeatureCollection is read
//!   as GeoJSON.
//!   Rejected records are located by their 1-based position in the array
//!   ([`LocationKind::Item`]), not by line, even in pretty-printed files.
//! * **JSONL** — one object per line; a line that does not parse is a rejected row.
//!
//! When the format comes from the extension, content that clearly belongs to a neighbour format
//! is read as such: JSON Lines in a `.json` file, a JSON array in a `.jsonl` file, a plain JSON
//! array in a `.geojson` file, a KML or GPX document in a `.xml`, `.csv` or `.txt` file.
//!
//! Whatever the format, the first bytes are looked at before any reader runs, so that a file
//! that is not data is never read as CSV: an HTML page, an XML document other than KML or GPX,
//! a PDF, an image, an archive other than zip (gzip, 7z, RAR...) is refused with
//! [`Error::Unreadable`] saying what it is and what to do. KML, GPX, Parquet, SQLite
//! (GeoPackage), shapefile (`.shp`) content and zip archives are read as such whatever their
//! name; a text format given in [`ImportOptions::format`] is otherwise not second-guessed, but
//! content of a binary or XML format given as another format is refused (name the format, or
//! give none).
//!
//! * **Zip archives** — a workbook (XLSX/XLSB: `[Content_Types].xml` or `xl/`; ODS: its
//!   `mimetype`) is read as a spreadsheet. Any other zip must hold exactly one dataset: a data
//!   file (a KMZ's `.kml`, a CSV, a GeoJSON...) or a shapefile set (`.shp`, `.dbf`, `.shx`,
//!   `.prj`, `.cpg` of one name); images, documents, hidden and `__MACOSX` members are ignored,
//!   `.txt` files count only when nothing else does. The member is unzipped beside the output
//!   (in a temporary directory, removed at the end) and read as if given alone;
//!   [`Detected::archive_member`] names it. The archive limits of [`limits`] apply, and a zip
//!   inside the zip is refused ([`limits::MAX_ARCHIVE_NESTING`]).
//! * **Shapefile** (georust `shapefile` and `dbase`) — one record per shape: the `.dbf` columns
//!   (numeric without decimals: int; with: double; dates, logicals), then the shape as
//!   GeoJSON (points, multi-points, lines, polygons; Z and M dropped; rings turned to GeoJSON's
//!   orientation), reprojected to WGS 84 from the `.prj` with `proj4rs` and `proj4wkt`. The
//!   `.dbf` text encoding: the `.cpg`, else UTF-8 when the file is valid UTF-8, else the code
//!   page of its language driver byte, else Windows-1252.
//! * **GeoPackage** (`rusqlite`, `geozero`) — the one feature or attribute table (or the one
//!   named by [`ImportOptions::sheet`]), without its integer primary key; BOOLEAN columns are
//!   booleans; the geometry (GeoPackage binary: header and WKB) reprojected from the table's
//!   spatial reference system.
//! * **Parquet** (the `parquet` crate's Arrow reader) — columns in their Arrow types; with
//!   GeoParquet `geo` metadata, the primary WKB geometry column is the geometry and other
//!   geometry columns GeoJSON texts, reprojected to WGS 84 from the EPSG code of a column's
//!   `crs` (PROJJSON `id`; a CRS without one is refused).
//!
//!   Shapefiles, GeoPackages and Parquet files are streamed twice like JSON (schema pass, then
//!   conversion); their records are located by position ([`LocationKind::Item`]).
//! * **GeoJSON** — a FeatureCollection (or a single Feature): properties become fields and the
//!   geometry becomes `geo_point_2d` when every geometry is a point, else `geo_shape` (GeoJSON
//!   text), suffixed `_2`... if a property already has that name. A feature with an invalid
//!   geometry is rejected; a null geometry is a null value.
//! * **XLSX** (and the other formats calamine reads: XLS, XLSB, and ODS, reported as
//!   [`Format::Ods`]) — the first sheet or the named one; the first non-empty row is the
//!   header. Cells keep their spreadsheet type.
//! * **KML** (georust `kml`) — one record per placemark, in folders too: `name`,
//!   `description`, `folder` (the innermost named folder, when any placemark has one), then the
//!   extended data (`Data`/`value`, `SchemaData`/`SimpleData`) and `TimeStamp`/`TimeSpan` in
//!   order of first appearance, and the geometry (points, lines, polygons, multi-geometries) as
//!   in GeoJSON. Extended data are text like CSV values: a column whose every value is a
//!   boolean, an int or a number (decimal point) gets that type, unless the document's
//!   `Schema` declares it a `string` (GDAL writes such schemas), and then it stays text. A placemark without geometry
//!   keeps its row with a null geometry.
//! * **GPX** (georust `gpx`) — one record per waypoint, route and track, in that order: `kind`
//!   (`waypoint`, `route`, `track`), `name`, `description`, `comment`, `type`, `elevation` and
//!   `time` (waypoints), and the geometry: a point, a line, a multi-line (one per segment).
//!   Columns no record fills are left out (in KML too: `name`, `description`, `folder`);
//!   extended data named like one of them (`name`) is a field of its own (`name_2` beside a
//!   filled `name`).
//!
//!   KML and GPX documents are read whole (at most [`limits::MAX_XML_BYTES`]), after a check
//!   that they are well-formed XML nested at most [`limits::MAX_XML_DEPTH`] deep; records are
//!   located by their position ([`LocationKind::Item`]).
//!
//! In JSON, JSONL, GeoJSON and XLSX, values keep their source type: numbers stay numbers and
//! strings are text — a string `"67000"` stays text — except that strings holding dates,
//! date-times, `"lat, lon"` points or GeoJSON geometries are recognised, since these formats
//! cannot type them. Nested objects and arrays become text holding their JSON; an array of
//! strings becomes multivalued text (annotation `multivalued: [","]`); a `[lat, lon]` array
//! of two numbers in range (as Opendatasoft exports points) is a `geo_point_2d`.
//!
//! # Type inference
//!
//! Per column, over every non-null value of the whole file (an empty or blank string and a JSON
//! `null` are nulls), the first type of this list that every value fits: boolean (`true`/`false`,
//! any case), int (i64, no leading zero — `01234` stays text — no `+`), double (also with a
//! decimal comma, `3,5`, when the CSV delimiter is not a comma), date (`YYYY-MM-DD`,
//! `DD/MM/YYYY`, `YYYY/MM/DD`), datetime (`YYYY-MM-DD[T ]HH:MM[:SS[.f]]`, then `Z`, an offset,
//! or nothing — **a date-time without offset is taken as UTC**), geo_point_2d (`"lat, lon"`
//! texts), geo_shape (GeoJSON geometry texts), else text. Ints mixed with doubles give a double
//! column, dates mixed with date-times a datetime column. A column without any value is text.
//!
//! [`ImportOptions::type_overrides`] force a type: a value that does not fit it rejects its
//! whole row (`"abc" is not an int`). Override and multivalued keys name columns of the file
//! (technical name or header); the geometry and lat/lon point fields added by the import cannot
//! be overridden. Values are never silently changed: a value that does not
//! fit its column's type is never nulled nor replaced.
//!
//! # Latitude/longitude columns
//!
//! When the file has an int or double column named (technical name) `lat` or `latitude` with
//! every value in [-90, 90] and one named `lon`, `lng`, `long` or `longitude` with every value
//! in [-180, 180], and no geo_point_2d field, a field `geo_point_2d` (made unique) is **added**
//! after the others, built from them (null where either is null); the two columns are kept.
//!
//! # Fields and annotations
//!
//! Names are [`kleber_types::technical_name`] of the header (a name starting with a digit gets
//! `f_`: `2019` is `f_2019`), made unique with `_2`, `_3`... in column order (`Nom;Nom` gives
//! `nom`, `nom_2`; `Prix (€);prix` gives `prix`, `prix_2`); labels are the headers, trimmed, BOM
//! removed, so repeated names keep their label. Multivalued text fields get the annotation
//! `multivalued: [sep]`. Text fields with at most 50 distinct values, fewer than half the row
//! count, and every date or datetime field get `facet: []`.
//!
//! # Output
//!
//! One Parquet file, Snappy-compressed, row groups of [`ImportOptions::row_group_size`] rows,
//! page-level statistics, Arrow schema = each field's [`Field::arrow_field`] in order, and the
//! field list as JSON under the key-value metadata key [`FIELDS_METADATA_KEY`]. The file is
//! written under a temporary name beside the target and renamed at the end.
//!
//! # Memory and limits
//!
//! No reader holds the file: CSV, JSON, JSONL and GeoJSON are streamed (JSON documents once to
//! find their shape, skipping every value, then twice one record at a time), XLSX and XLSB are
//! read cell by cell, so a sheet with cells at A1 and XFD1048576 costs two cells (XLS and ODS
//! go through calamine's dense range). What a file may not exceed is in [`limits`]: a record of
//! more than [`limits::MAX_RECORD_BYTES`] (an unterminated CSV quote meets it), a CSV record
//! over more than [`limits::MAX_RECORD_LINES`] lines, JSON nested deeper than
//! [`limits::MAX_JSON_DEPTH`], a spreadsheet archive declaring more than
//! [`limits::MAX_ARCHIVE_UNCOMPRESSED`] bytes or [`limits::MAX_ARCHIVE_ENTRIES`] members (a zip
//! bomb; the zip reader holds each member to its declared size). Each gives
//! [`Error::TooLarge`] naming the limit; a JSON Lines line nested too deep is a rejected row.
//!
//! # Progress
//!
//! The callback is called about every 65,536 rows and at the end. For CSV, JSON, JSONL and
//! GeoJSON, `bytes_total` is **twice** the file size because the records are read twice:
//! pass 1 reports bytes `0..size`, pass 2 `size..2*size`, and `rows` counts the rows of the
//! current pass. XLSX is read into memory first (reported as `bytes_done == bytes_total ==
//! size`, rows 0), then `rows` counts converted rows.

mod archive;
mod csv_in;
mod error;
mod geo;
mod gpkg_in;
mod infer;
mod json_in;
pub mod limits;
mod output;
mod parquet_in;
mod reproject;
mod shp_in;
mod sniff;
mod typed;
mod values;
mod xlsx_in;
mod xml_in;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

pub use error::Error;
use kleber_types::{Field, FieldType};

/// Key of the Parquet key-value metadata entry holding the JSON list of [`Field`]s.
pub const FIELDS_METADATA_KEY: &str = "kleber.fields";

/// Default number of rows per Parquet row group.
pub const DEFAULT_ROW_GROUP_SIZE: usize = kleber_types::layout::ROW_GROUP_ROWS;

/// Options of an import; `ImportOptions::default()` detects everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The input format; `None` detects it from the extension, then from the content.
    pub format: Option<Format>,
    /// XLSX and ODS: the sheet to read; `None` reads the first sheet. GeoPackage: the layer
    /// (table) to read; `None` reads the only one.
    pub sheet: Option<String>,
    /// CSV: whether the first row is a header; `None` detects it.
    pub has_header: Option<bool>,
    /// CSV: the delimiter byte; `None` detects it among `,` `;` tab `|`.
    pub delimiter: Option<u8>,
    /// Forced field types. A key is a technical name or an original header. A value that does
    /// not fit the forced type rejects its row.
    pub type_overrides: BTreeMap<String, FieldType>,
    /// Multivalued text fields: key (technical name or header) → separator. Values are split on
    /// it (items trimmed, empty items dropped) into a list; the field gets the annotation
    /// `multivalued: [separator]`.
    pub multivalued: BTreeMap<String, String>,
    /// Rows per Parquet row group (at least 1).
    pub row_group_size: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            format: None,
            sheet: None,
            has_header: None,
            delimiter: None,
            type_overrides: BTreeMap::new(),
            multivalued: BTreeMap::new(),
            row_group_size: DEFAULT_ROW_GROUP_SIZE,
        }
    }
}

/// An input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Delimited text: CSV, TSV, semicolon- or pipe-separated.
    Csv,
    /// A JSON document: an array of objects or an Opendatasoft export/search response.
    Json,
    /// JSON Lines: one object per line.
    Jsonl,
    /// A GeoJSON FeatureCollection.
    GeoJson,
    /// An Excel workbook (XLSX; XLS, XLSB and ODS are read too).
    Xlsx,
    /// A KML document (Google Earth, uMap, My Maps...): one record per placemark.
    Kml,
    /// A GPX document (GPS tracks): one record per waypoint, route and track.
    Gpx,
    /// An OpenDocument spreadsheet (LibreOffice, OpenOffice).
    Ods,
    /// An ESRI Shapefile: `.shp` geometries, `.dbf` attributes, `.prj` projection, `.cpg`
    /// encoding (zipped together, or side by side on disk).
    Shapefile,
    /// A GeoPackage (an SQLite database): one feature or attribute table.
    GeoPackage,
    /// An Apache Parquet file, GeoParquet included (WKB geometry columns).
    Parquet,
}

impl Format {
    /// Every format.
    pub const ALL: &'static [Format] = &[
        Format::Csv,
        Format::Json,
        Format::Jsonl,
        Format::GeoJson,
        Format::Xlsx,
        Format::Kml,
        Format::Gpx,
        Format::Ods,
        Format::Shapefile,
        Format::GeoPackage,
        Format::Parquet,
    ];

    /// The format's name: `csv`, `json`, `jsonl`, `geojson`, `xlsx`, `kml`, `gpx`, `ods`,
    /// `shapefile`, `geopackage`, `parquet`.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::GeoJson => "geojson",
            Format::Xlsx => "xlsx",
            Format::Kml => "kml",
            Format::Gpx => "gpx",
            Format::Ods => "ods",
            Format::Shapefile => "shapefile",
            Format::GeoPackage => "geopackage",
            Format::Parquet => "parquet",
        }
    }

    /// The format a file extension (without the dot, any case) stands for.
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext.to_ascii_lowercase().as_str() {
            "csv" | "tsv" | "tab" | "txt" | "psv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" | "jsonlines" => Some(Format::Jsonl),
            "geojson" => Some(Format::GeoJson),
            "xlsx" | "xlsm" | "xlsb" | "xls" => Some(Format::Xlsx),
            "ods" => Some(Format::Ods),
            "kml" | "kmz" => Some(Format::Kml),
            "gpx" => Some(Format::Gpx),
            "shp" => Some(Format::Shapefile),
            "gpkg" => Some(Format::GeoPackage),
            "parquet" | "geoparquet" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        match wanted.as_str() {
            "ndjson" => return Ok(Format::Jsonl),
            "tsv" => return Ok(Format::Csv),
            "shp" => return Ok(Format::Shapefile),
            "gpkg" => return Ok(Format::GeoPackage),
            "geoparquet" => return Ok(Format::Parquet),
            "kmz" => return Ok(Format::Kml),
            _ => {}
        }
        Format::ALL.iter().copied().find(|f| f.name() == wanted).ok_or_else(|| {
            format!(
                "unknown format `{s}`; expected one of csv, json, jsonl, geojson, xlsx, kml, gpx, \
                 ods, shapefile, geopackage, parquet"
            )
        })
    }
}

/// What [`RowIssue::line`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LocationKind {
    /// 1-based physical line of the file where the row starts (CSV, JSONL).
    Line,
    /// 1-based position of the record in the JSON array / `records` / `features`
    /// (JSON, GeoJSON).
    Item,
    /// 1-based row number of the spreadsheet (XLSX), as shown by the spreadsheet program.
    SheetRow,
}

impl LocationKind {
    /// `line`, `item` or `sheet_row`.
    pub const fn name(self) -> &'static str {
        match self {
            LocationKind::Line => "line",
            LocationKind::Item => "item",
            LocationKind::SheetRow => "sheet_row",
        }
    }
}

/// A row that could not be read; it is not in the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowIssue {
    /// Where the row is, 1-based; see [`RowIssue::location_kind`]: the physical line where the
    /// row starts (CSV, JSONL), the record's position (JSON, GeoJSON) or the sheet row (XLSX).
    pub line: u64,
    /// What `line` counts.
    pub location_kind: LocationKind,
    /// The technical name of the field whose value is wrong, when one is.
    pub field: Option<String>,
    /// The offending value (cut at 1,000 characters), when there is one.
    pub value: Option<String>,
    /// Why, in English, e.g. `"abc" is not an int` or `expected 8 fields, found 7`.
    pub reason: String,
}

/// How the input was read: detected, or as given by the options (`None` where it does not
/// apply).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Detected {
    /// Text encoding (`UTF-8`, `windows-1252`, `UTF-16LE`...).
    pub encoding: Option<String>,
    /// CSV delimiter.
    pub delimiter: Option<char>,
    /// CSV header presence.
    pub has_header: Option<bool>,
    /// CSV quote character.
    pub quote: Option<char>,
    /// The member of a zip archive that was read (`data/communes.shp`), when the input was a
    /// zip holding one dataset (a KMZ, a zipped shapefile, CSV...).
    pub archive_member: Option<String>,
}

/// The result of a successful import.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOutcome {
    /// The fields, in column order of the Parquet file.
    pub fields: Vec<Field>,
    /// Rows written.
    pub rows: u64,
    /// Rows not written, in file order.
    pub rejected: Vec<RowIssue>,
    /// Size of the input file in bytes.
    pub bytes_read: u64,
    /// The format read.
    pub format: Format,
    /// What was detected.
    pub detected: Detected,
}

/// Progress of an import; see the crate documentation for how bytes are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Bytes processed so far.
    pub bytes_done: u64,
    /// Bytes to process in all.
    pub bytes_total: u64,
    /// Rows processed so far in the current pass.
    pub rows: u64,
}

/// Imports `input` into the Parquet file `output_parquet` (replaced if it exists).
///
/// Returns the schema, the row count and the rejected rows. On error nothing is written at
/// `output_parquet` (an existing file there is left untouched).
pub fn import_file(
    input: &Path,
    output_parquet: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportOutcome, Error> {
    if opts.row_group_size == 0 {
        return Err(Error::BadOption {
            option: "row_group_size".to_owned(),
            message: "must be at least 1 (default 131072)".to_owned(),
        });
    }
    for (key, sep) in &opts.multivalued {
        if sep.is_empty() {
            return Err(Error::BadOption {
                option: "multivalued".to_owned(),
                message: format!("the separator of `{key}` is empty; give e.g. \",\" or \";\""),
            });
        }
    }
    import_at(input, output_parquet, opts, progress, 0)
}

/// Imports a file, `depth` archives deep (0: the file given to [`import_file`]).
pub(crate) fn import_at(
    input: &Path,
    output_parquet: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
    depth: usize,
) -> Result<ImportOutcome, Error> {
    let meta = std::fs::metadata(input).map_err(|e| Error::input(input, e))?;
    if meta.is_dir() {
        return Err(Error::unreadable(input, "this is a directory, not a file"));
    }
    if meta.len() == 0 {
        return Err(Error::Empty { path: input.to_path_buf() });
    }
    let format = match choose_format(input, opts.format)? {
        Chosen::Archive => {
            return archive::import(input, output_parquet, opts, progress, depth);
        }
        Chosen::Read(f) => f,
    };
    match format {
        Format::Csv => csv_in::import(input, output_parquet, opts, progress),
        Format::Json | Format::GeoJson => {
            json_in::import_json(input, output_parquet, opts, progress, format)
        }
        Format::Jsonl => json_in::import_jsonl(input, output_parquet, opts, progress),
        Format::Xlsx | Format::Ods => {
            xlsx_in::import(input, output_parquet, opts, progress, format)
        }
        Format::Kml => xml_in::import_kml(input, output_parquet, opts, progress),
        Format::Gpx => xml_in::import_gpx(input, output_parquet, opts, progress),
        // Third-party decoders of binary formats read untrusted input: a panic in one is an
        // unreadable file, never a crash.
        Format::Shapefile | Format::GeoPackage | Format::Parquet => {
            let read = || match format {
                Format::Shapefile => shp_in::import(input, output_parquet, opts, progress),
                Format::GeoPackage => gpkg_in::import(input, output_parquet, opts, progress),
                _ => parquet_in::import(input, output_parquet, opts, progress),
            };
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|_| {
                Err(Error::unreadable(
                    input,
                    format!(
                        "{} that its reader cannot decode: the file is malformed; write it \
                         again with the program that made it",
                        sniff::described(format)
                    ),
                ))
            })
        }
    }
}

/// How to fix an import of something that is not a data file.
const EXPORT_HINT: &str = "export the data as CSV, JSON, GeoJSON, KML, GPX, XLSX, ODS, a zipped \
                           shapefile, GeoPackage or Parquet and import that file";

/// How a file is read: by a format's reader, or unzipped first.
enum Chosen {
    Read(Format),
    Archive,
}

/// The format to read `path` with: the one given, else the one its extension names, else
/// the one its content shows; in every case the content is looked at first, so that a file
/// that is not delimited text is never read as CSV. A KML, GPX, shapefile, GeoPackage,
/// Parquet document or a workbook is read as such whatever its extension (unless another
/// format is given); a zip archive that is not a workbook is unzipped; HTML pages, other XML
/// documents, PDF, images and other archives are refused, saying what they are.
fn choose_format(path: &Path, given: Option<Format>) -> Result<Chosen, Error> {
    use sniff::Content;
    let head = read_prefix(path, 64 * 1024)?;
    let content = sniff::sniff(&head);
    let refuse = |what: String| Err(Error::unreadable(path, what));
    // Formats told by their content alone, and the binary ones no other reader can take.
    let binary = match &content {
        Content::Kml => Some(Format::Kml),
        Content::Gpx => Some(Format::Gpx),
        Content::Parquet => Some(Format::Parquet),
        Content::Sqlite => Some(Format::GeoPackage),
        Content::Shp => Some(Format::Shapefile),
        Content::Zip => match archive::workbook_kind(path)? {
            Some(kind) => Some(kind),
            None => return Ok(Chosen::Archive),
        },
        Content::Ole => Some(Format::Xlsx),
        _ => None,
    };
    if let Some(is) = binary {
        let same = |f: Format| {
            f == is || (matches!(f, Format::Xlsx | Format::Ods) && content == Content::Zip)
        };
        return match given {
            None => Ok(Chosen::Read(is)),
            Some(f) if same(f) => Ok(Chosen::Read(if content == Content::Zip { is } else { f })),
            Some(f) => refuse(format!(
                "this is {}, not {f}; import it with format {} (or without a format: it is \
                 recognised)",
                sniff::described(is),
                is.name()
            )),
        };
    }
    match &content {
        Content::Html(start) => {
            return refuse(format!(
                "this is an HTML page (it starts with `{}`), not data: a download link that \
                 answered with a web page (an error or a login page)? {EXPORT_HINT}",
                start.trim()
            ));
        }
        Content::Xml(root) => {
            let root =
                if root.is_empty() { String::new() } else { format!(" whose root is <{root}>") };
            return refuse(format!(
                "this is an XML document{root}; of XML formats only KML (<kml>) and GPX (<gpx>) \
                 documents are read; {EXPORT_HINT}"
            ));
        }
        Content::Binary(what) => {
            let fix = if what.contains("archive") {
                "decompress it first and import the file inside, or zip it".to_owned()
            } else {
                EXPORT_HINT.to_owned()
            };
            return refuse(format!("this is {what}, not a data file this importer reads; {fix}"));
        }
        _ => {}
    }
    // Text: the format given or named by the extension must be a text one.
    let format = match given {
        Some(f) => f,
        None => detect_format(path, &head)?,
    };
    match format {
        Format::Csv | Format::Json | Format::Jsonl | Format::GeoJson => Ok(Chosen::Read(format)),
        f => refuse(format!(
            "this is not {}: {}; import it with its own format, or without a format to detect \
             it",
            match f {
                Format::Kml | Format::Gpx => f.name().to_ascii_uppercase(),
                f => sniff::described(f).to_owned(),
            },
            sniff::missing_signature(f)
        )),
    }
}

/// The format of a file: from its extension, else from its first bytes.
fn detect_format(path: &Path, head: &[u8]) -> Result<Format, Error> {
    if let Some(f) = path.extension().and_then(|e| e.to_str()).and_then(Format::from_extension) {
        return Ok(f);
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Ok(Format::Xlsx);
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let first = text.iter().position(|b| !b.is_ascii_whitespace()).map(|i| &text[i..]);
    match first {
        None => Err(Error::Empty { path: path.to_path_buf() }),
        Some([b'[', ..]) => Ok(Format::Json),
        Some(rest @ [b'{', ..]) => {
            // One object per line, several lines: JSONL.
            let line_end = rest.iter().position(|&b| b == b'\n');
            match line_end {
                Some(end)
                    if serde_json::from_slice::<serde::de::IgnoredAny>(&rest[..end]).is_ok()
                        && rest[end..].iter().any(|b| !b.is_ascii_whitespace()) =>
                {
                    Ok(Format::Jsonl)
                }
                _ => Ok(Format::Json),
            }
        }
        Some(bytes) if bytes.contains(&0) => Err(Error::UnknownFormat {
            path: path.to_path_buf(),
            hint: "binary content that is not a spreadsheet".to_owned(),
        }),
        Some(_) => Ok(Format::Csv),
    }
}

/// Up to `max` first bytes of a file.
pub(crate) fn read_prefix(path: &Path, max: usize) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| Error::input(path, e))?;
    let mut buf = Vec::with_capacity(max.min(1 << 20));
    f.take(max as u64).read_to_end(&mut buf).map_err(|e| Error::input(path, e))?;
    Ok(buf)
}

/// Writes `issues` as CSV with the header `line,field,value,reason` (UTF-8, comma, `"` quotes).
pub fn write_issues_csv(issues: &[RowIssue], out: &Path) -> std::io::Result<()> {
    let mut w = csv::Writer::from_path(out)?;
    w.write_record(["line", "field", "value", "reason"])?;
    for i in issues {
        w.write_record([
            i.line.to_string().as_str(),
            i.field.as_deref().unwrap_or(""),
            i.value.as_deref().unwrap_or(""),
            i.reason.as_str(),
        ])?;
    }
    w.flush()
}
