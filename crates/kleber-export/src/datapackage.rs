//! Frictionless Data Package (v2, readable by v1 tools): the descriptor of a dataset
//! ([`descriptor`]) with a Table Schema generated from its fields, and the `datapackage`
//! export ([`DataPackageWriter`]), a zip of the descriptor and the data as CSV, spooled batch
//! by batch.
//!
//! Field types map to Table Schema types as follows:
//!
//! | Opendatasoft | Table Schema | notes |
//! |---|---|---|
//! | `text` | `string` | multivalued: the elements joined with the CSV export's `list_separator` |
//! | `int` | `integer` | |
//! | `double` | `number` | |
//! | `boolean` | `boolean` | `true` / `false` |
//! | `date` | `date` | `YYYY-MM-DD` |
//! | `datetime` | `datetime` | ISO 8601 with the offset of the request's time zone |
//! | `geo_point_2d` | `string` | the CSV's `lat, lon` (latitude first, which Table Schema's `geopoint` reverses) |
//! | `geo_shape` | `geojson` | a GeoJSON geometry object |
//!
//! Fields annotated `id` (unique id) are the `primaryKey` and get `required` and `unique`
//! constraints (when the export keeps all of them); empty cells are missing values.

use std::fs::File;
use std::io::{BufWriter, Write};

use arrow::record_batch::RecordBatch;
use kleber_types::{Field, FieldType};
use serde_json::{Map, Value, json};

use crate::columns::OutputColumn;
use crate::encode::RecordEncoder;
use crate::error::{Error, Result};
use crate::spool::{SpoolDir, rewound};
use crate::writers::{CsvOptions, CsvWriter, RecordWriter};

/// The Data Package profile the descriptor follows.
pub const DATA_PACKAGE_PROFILE: &str = "https://datapackage.org/profiles/2.0/datapackage.json";

/// A licence of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageLicense {
    /// Open Definition or SPDX identifier, when known (`odbl-1.0`, `etalab-2.0`, `cc-by-4.0`).
    pub name: Option<String>,
    /// Where its text is.
    pub path: Option<String>,
    /// Human title.
    pub title: String,
}

/// A source or a contributor: a title and optional address and e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageParty {
    /// Name.
    pub title: String,
    /// A web address.
    pub path: Option<String>,
    /// An e-mail address.
    pub email: Option<String>,
    /// Role (contributors): `publisher`, `contact`, `author`…
    pub role: Option<String>,
}

/// What a package says about a dataset besides its data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageInfo {
    /// Package and resource name (the dataset id, lowercased to Data Package's name rules).
    pub name: String,
    /// Title.
    pub title: String,
    /// Description (the dataset's description, HTML as Opendatasoft keeps it).
    pub description: Option<String>,
    /// The dataset's page on the portal.
    pub homepage: Option<String>,
    /// When the data last changed (RFC 3339).
    pub modified: Option<String>,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Licences.
    pub licenses: Vec<PackageLicense>,
    /// Sources (references, attributions).
    pub sources: Vec<PackageParty>,
    /// Contributors (publisher, contact).
    pub contributors: Vec<PackageParty>,
    /// The dataset's fields, as the caller may see them, in order.
    pub fields: Vec<Field>,
    /// Where the data is: the CSV export's absolute URL (or the file's path inside a zip).
    pub data_path: String,
    /// The CSV delimiter of the data.
    pub delimiter: u8,
}

/// A Data Package `name`: lowercase letters, digits, `-`, `_`, `.`.
pub fn package_name(id: &str) -> String {
    let name: String = id
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' }
        })
        .collect();
    if name.is_empty() { "dataset".to_owned() } else { name }
}

/// The Table Schema type and format of a field type.
const fn schema_type(field_type: FieldType) -> &'static str {
    match field_type {
        FieldType::Text | FieldType::GeoPoint2d => "string",
        FieldType::Int => "integer",
        FieldType::Double => "number",
        FieldType::Boolean => "boolean",
        FieldType::Date => "date",
        FieldType::Datetime => "datetime",
        FieldType::GeoShape => "geojson",
    }
}

/// The Table Schema field of a dataset field.
fn schema_field(field: &Field, key: bool) -> Value {
    let mut out = Map::new();
    out.insert("name".to_owned(), json!(field.name));
    if !field.label.is_empty() {
        out.insert("title".to_owned(), json!(field.label));
    }
    let mut description = field.description.clone().unwrap_or_default();
    match field.field_type {
        FieldType::GeoPoint2d => {
            if !description.is_empty() {
                description.push(' ');
            }
            description.push_str("(WGS 84 point written \"latitude, longitude\")");
        }
        FieldType::Text if field.multivalued_separator().is_some() => {
            if !description.is_empty() {
                description.push(' ');
            }
            description.push_str("(several values, separated by \",\")");
        }
        _ => {}
    }
    if !description.is_empty() {
        out.insert("description".to_owned(), json!(description));
    }
    out.insert("type".to_owned(), json!(schema_type(field.field_type)));
    if field.field_type == FieldType::Boolean {
        out.insert("trueValues".to_owned(), json!(["true"]));
        out.insert("falseValues".to_owned(), json!(["false"]));
    }
    if key {
        out.insert("constraints".to_owned(), json!({"required": true, "unique": true}));
    }
    Value::Object(out)
}

/// A column of an export that is not a stored field (a `select` expression).
fn expression_field(column: &OutputColumn) -> Value {
    json!({"name": column.key, "title": column.label, "type": "any"})
}

/// The Table Schema of `info`'s fields, or of `columns` when the data has those columns
/// (fields matched by name; other columns are typed `any`).
pub fn table_schema(info: &PackageInfo, columns: Option<&[OutputColumn]>) -> Value {
    let keys: Vec<&str> = info
        .fields
        .iter()
        .filter(|f| f.annotations.contains_key("id"))
        .map(|f| f.name.as_str())
        .collect();
    let present = |name: &str| columns.is_none_or(|cs| cs.iter().any(|c| c.key == name));
    let with_keys = !keys.is_empty() && keys.iter().all(|k| present(k));
    let is_key = |name: &str| with_keys && keys.contains(&name);
    let fields: Vec<Value> = match columns {
        None => info.fields.iter().map(|f| schema_field(f, is_key(&f.name))).collect(),
        Some(columns) => columns
            .iter()
            .map(|c| match info.fields.iter().find(|f| f.name == c.key) {
                Some(f) => schema_field(f, is_key(&f.name)),
                None => expression_field(c),
            })
            .collect(),
    };
    let mut schema = json!({"fields": fields, "missingValues": [""]});
    if with_keys {
        schema["primaryKey"] = json!(keys);
    }
    schema
}

fn party(p: &PackageParty) -> Value {
    let mut out = Map::new();
    out.insert("title".to_owned(), json!(p.title));
    for (key, value) in [("path", &p.path), ("email", &p.email), ("role", &p.role)] {
        if let Some(value) = value {
            out.insert(key.to_owned(), json!(value));
        }
    }
    if let Some(role) = &p.role {
        // Data Package v2 names roles in a list.
        out.insert("roles".to_owned(), json!([role]));
    }
    Value::Object(out)
}

/// The `datapackage.json` descriptor of `info`: one tabular resource, the CSV at
/// `info.data_path`, with the Table Schema of `columns` (the export's) or of every field.
pub fn descriptor(info: &PackageInfo, columns: Option<&[OutputColumn]>) -> Value {
    let mut out = Map::new();
    out.insert("$schema".to_owned(), json!(DATA_PACKAGE_PROFILE));
    out.insert("profile".to_owned(), json!("tabular-data-package"));
    out.insert("name".to_owned(), json!(package_name(&info.name)));
    out.insert("title".to_owned(), json!(info.title));
    if let Some(description) = info.description.as_deref().filter(|d| !d.is_empty()) {
        out.insert("description".to_owned(), json!(description));
    }
    if let Some(homepage) = &info.homepage {
        out.insert("homepage".to_owned(), json!(homepage));
    }
    if !info.keywords.is_empty() {
        out.insert("keywords".to_owned(), json!(info.keywords));
    }
    if !info.licenses.is_empty() {
        let licenses: Vec<Value> = info
            .licenses
            .iter()
            .map(|l| {
                let mut out = Map::new();
                if let Some(name) = &l.name {
                    out.insert("name".to_owned(), json!(name));
                }
                if let Some(path) = &l.path {
                    out.insert("path".to_owned(), json!(path));
                }
                out.insert("title".to_owned(), json!(l.title));
                Value::Object(out)
            })
            .collect();
        out.insert("licenses".to_owned(), Value::Array(licenses));
    }
    if !info.sources.is_empty() {
        out.insert("sources".to_owned(), info.sources.iter().map(party).collect());
    }
    if !info.contributors.is_empty() {
        out.insert("contributors".to_owned(), info.contributors.iter().map(party).collect());
    }
    if let Some(modified) = &info.modified {
        out.insert("created".to_owned(), json!(modified));
    }
    let resource = json!({
        "name": package_name(&info.name),
        "type": "table",
        "profile": "tabular-data-resource",
        "path": info.data_path,
        "scheme": if info.data_path.starts_with("https://") { "https" } else if info.data_path.starts_with("http://") { "http" } else { "file" },
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "dialect": {
            "delimiter": char::from(info.delimiter).to_string(),
            "header": true,
            "doubleQuote": true,
            "quoteChar": "\"",
        },
        "schema": table_schema(info, columns),
    });
    out.insert("resources".to_owned(), json!([resource]));
    Value::Object(out)
}

/// Spools the `datapackage` export: `datapackage.json` and `data/<name>.csv` in a zip. The CSV
/// is deflated into the archive batch by batch (no BOM, header of field names, the request's
/// delimiter); the descriptor, written last, describes the export's columns.
pub struct DataPackageWriter {
    csv: CsvWriter,
    zip: Option<zip::ZipWriter<BufWriter<File>>>,
    info: PackageInfo,
    buffer: Vec<u8>,
    _spool: SpoolDir,
}

impl std::fmt::Debug for DataPackageWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataPackageWriter").field("name", &self.info.name).finish()
    }
}

fn zip_error(e: impl std::fmt::Display) -> Error {
    Error::format("datapackage", e)
}

impl DataPackageWriter {
    /// A writer of the records `encoder` describes, packaged with `info` (whose `data_path`
    /// is replaced by the file in the zip), CSV in `csv`'s delimiter.
    pub fn new(
        encoder: RecordEncoder,
        info: &PackageInfo,
        csv: &CsvOptions,
        spool: &SpoolDir,
    ) -> Result<Self> {
        use zip::write::SimpleFileOptions;
        let options = CsvOptions {
            delimiter: csv.delimiter,
            list_separator: ",".to_owned(),
            with_bom: false,
            use_labels: false,
            quote_all: false,
            crlf: true,
        };
        let mut info = info.clone();
        info.data_path = format!("data/{}.csv", package_name(&info.name));
        info.delimiter = options.delimiter;
        let mut zip = zip::ZipWriter::new(BufWriter::new(spool.file()?));
        let entry = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file(info.data_path.clone(), entry).map_err(zip_error)?;
        let mut writer = DataPackageWriter {
            csv: CsvWriter::new(encoder, options),
            zip: Some(zip),
            info,
            buffer: Vec::new(),
            _spool: spool.clone(),
        };
        writer.csv.begin(&mut writer.buffer)?;
        writer.flush()?;
        Ok(writer)
    }

    fn flush(&mut self) -> Result<()> {
        let zip = self.zip.as_mut().ok_or(Error::Finished)?;
        zip.write_all(&self.buffer)?;
        self.buffer.clear();
        Ok(())
    }
}

impl crate::spool::SpoolWriter for DataPackageWriter {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        self.csv.write_batch(batch, &mut self.buffer)?;
        self.flush()
    }

    fn finish(mut self: Box<Self>) -> Result<File> {
        use zip::write::SimpleFileOptions;
        self.csv.finish(&mut self.buffer)?;
        self.flush()?;
        let descriptor = descriptor(&self.info, Some(self.csv.encoder().columns()));
        let mut zip = self.zip.take().ok_or(Error::Finished)?;
        let entry =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("datapackage.json", entry).map_err(zip_error)?;
        serde_json::to_writer_pretty(&mut zip, &descriptor)?;
        zip.write_all(b"\n")?;
        let out = zip.finish().map_err(zip_error)?;
        let file = out.into_inner().map_err(|e| Error::Io(e.into_error()))?;
        rewound(file)
    }

    fn rows_written(&self) -> u64 {
        self.csv.rows_written()
    }
}
