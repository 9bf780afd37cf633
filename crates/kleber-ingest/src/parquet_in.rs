//! Apache Parquet files, GeoParquet included: read with the `parquet` crate's Arrow reader;
//! the geometry columns the `geo` metadata declares (WKB encoding) are decoded with `geozero`.

use std::cell::Cell;
use std::fs::File;
use std::path::Path;
use std::rc::Rc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use geozero::ToJson;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::infer::Role;
use crate::reproject::ToWgs84;
use crate::typed::{Record, Source, scan_schema, write_scanned};
use crate::values::Value;
use crate::{Detected, Error, Format, ImportOptions, ImportOutcome, LocationKind, Progress};

/// Rows per batch read.
const BATCH_ROWS: usize = 8192;

fn broken(path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::unreadable(
        path,
        format!(
            "the Parquet file cannot be read ({e}): it is damaged or cut short; write it again"
        ),
    )
}

/// A geometry column of the GeoParquet `geo` metadata, with the reprojection of its `crs`
/// to WGS 84 (`None`: it is WGS 84 longitude/latitude already).
struct GeoColumn {
    name: String,
    to_wgs84: Option<ToWgs84>,
}

/// The geometry columns of the GeoParquet `geo` metadata: the primary one first.
fn geo_columns(path: &Path, geo: Option<&str>) -> Result<Vec<GeoColumn>, Error> {
    let Some(geo) = geo else { return Ok(Vec::new()) };
    let bad = |what: String| Error::unreadable(path, format!("GeoParquet metadata: {what}"));
    let meta: serde_json::Value =
        serde_json::from_str(geo).map_err(|e| bad(format!("the `geo` entry is not JSON ({e})")))?;
    let primary = meta.get("primary_column").and_then(|p| p.as_str()).unwrap_or("geometry");
    let Some(columns) = meta.get("columns").and_then(|c| c.as_object()) else {
        return Err(bad("no `columns` object".to_owned()));
    };
    let mut out = Vec::new();
    for (name, c) in columns {
        let encoding = c.get("encoding").and_then(|e| e.as_str()).unwrap_or("");
        if !encoding.eq_ignore_ascii_case("WKB") {
            return Err(bad(format!(
                "the column `{name}` is encoded as `{encoding}`; only WKB geometries are read: \
                 write the file with WKB geometry encoding (GeoParquet's default)"
            )));
        }
        let to_wgs84 = match c.get("crs").filter(|c| !c.is_null()) {
            Some(crs) if !is_wgs84(crs) => Some(to_wgs84(crs).map_err(|e| {
                bad(format!(
                    "the column `{name}`: {e}; write it in OGC:CRS84 or EPSG:4326, or with a \
                     `crs` whose `id` is an EPSG code"
                ))
            })?),
            _ => None,
        };
        let column = GeoColumn { name: name.clone(), to_wgs84 };
        if name == primary { out.insert(0, column) } else { out.push(column) }
    }
    Ok(out)
}

/// The reprojection to WGS 84 of a PROJJSON CRS identified by an EPSG code (its `id`, or the
/// string `EPSG:<code>`).
fn to_wgs84(crs: &serde_json::Value) -> Result<ToWgs84, String> {
    let (authority, code) = match crs {
        serde_json::Value::String(s) => {
            s.split_once(':').map(|(a, c)| (a.to_owned(), c.to_owned())).unwrap_or_default()
        }
        _ => {
            let id = crs.get("id");
            let authority = id.and_then(|i| i.get("authority")).and_then(|a| a.as_str());
            let code =
                id.and_then(|i| i.get("code")).map(|c| c.to_string().trim_matches('"').to_owned());
            (authority.unwrap_or_default().to_owned(), code.unwrap_or_default())
        }
    };
    let named = crs.get("name").and_then(|n| n.as_str()).unwrap_or("a CRS");
    if !authority.eq_ignore_ascii_case("EPSG") {
        return Err(format!(
            "its crs ({named}) has no EPSG code, and only EPSG coordinate systems are reprojected"
        ));
    }
    let code: u16 =
        code.parse().map_err(|_| format!("its crs names EPSG code {code:?}, not a number"))?;
    ToWgs84::from_epsg(code)
}

/// Whether a PROJJSON CRS is WGS 84 longitude/latitude (OGC:CRS84 or EPSG:4326).
fn is_wgs84(crs: &serde_json::Value) -> bool {
    let id = crs.get("id");
    let authority = id.and_then(|i| i.get("authority")).and_then(|a| a.as_str()).unwrap_or("");
    let code = id.and_then(|i| i.get("code")).map(|c| c.to_string().trim_matches('"').to_owned());
    matches!(
        (authority.to_ascii_uppercase().as_str(), code.as_deref()),
        ("OGC", Some("CRS84")) | ("EPSG", Some("4326"))
    ) || crs.as_str().is_some_and(|s| matches!(s, "OGC:CRS84" | "EPSG:4326"))
}

/// A WKB geometry as GeoJSON in WGS 84 (reprojected by `to_wgs84`, when given).
fn wgs84_geometry(bytes: &[u8], to_wgs84: Option<&ToWgs84>) -> Result<Value, String> {
    let mut g = wkb_geometry(bytes)?;
    if let Some(t) = to_wgs84 {
        t.geometry(&mut g)?;
    }
    Ok(g)
}

/// A WKB geometry as GeoJSON.
fn wkb_geometry(bytes: &[u8]) -> Result<Value, String> {
    let json = geozero::wkb::Wkb(bytes)
        .to_json()
        .map_err(|e| format!("the WKB geometry cannot be decoded: {e}"))?;
    serde_json::from_str(&json).map_err(|e| format!("the WKB geometry cannot be decoded: {e}"))
}

/// The value of row `i` of an Arrow column.
fn cell(a: &ArrayRef, formatter: &ArrayFormatter<'_>, i: usize) -> Value {
    use arrow::datatypes as t;
    if a.is_null(i) {
        return Value::Null;
    }
    match a.data_type() {
        DataType::Boolean => Value::Bool(a.as_boolean().value(i)),
        DataType::Int8 => Value::Int(i64::from(a.as_primitive::<t::Int8Type>().value(i))),
        DataType::Int16 => Value::Int(i64::from(a.as_primitive::<t::Int16Type>().value(i))),
        DataType::Int32 => Value::Int(i64::from(a.as_primitive::<t::Int32Type>().value(i))),
        DataType::Int64 => Value::Int(a.as_primitive::<t::Int64Type>().value(i)),
        DataType::UInt8 => Value::Int(i64::from(a.as_primitive::<t::UInt8Type>().value(i))),
        DataType::UInt16 => Value::Int(i64::from(a.as_primitive::<t::UInt16Type>().value(i))),
        DataType::UInt32 => Value::Int(i64::from(a.as_primitive::<t::UInt32Type>().value(i))),
        DataType::UInt64 => {
            let v = a.as_primitive::<t::UInt64Type>().value(i);
            i64::try_from(v).map_or_else(|_| Value::Str(v.to_string()), Value::Int)
        }
        DataType::Float16 => Value::Float(f64::from(a.as_primitive::<t::Float16Type>().value(i))),
        DataType::Float32 => Value::Float(f64::from(a.as_primitive::<t::Float32Type>().value(i))),
        DataType::Float64 => Value::Float(a.as_primitive::<t::Float64Type>().value(i)),
        DataType::Utf8 => Value::Str(a.as_string::<i32>().value(i).to_owned()),
        DataType::LargeUtf8 => Value::Str(a.as_string::<i64>().value(i).to_owned()),
        DataType::Utf8View => Value::Str(a.as_string_view().value(i).to_owned()),
        DataType::Date32 => Value::Date(a.as_primitive::<t::Date32Type>().value(i)),
        DataType::Date64 => {
            let ms = a.as_primitive::<t::Date64Type>().value(i);
            i32::try_from(ms.div_euclid(86_400_000)).map_or(Value::Null, Value::Date)
        }
        DataType::Timestamp(unit, _) => {
            let micros = match unit {
                TimeUnit::Second => {
                    a.as_primitive::<t::TimestampSecondType>().value(i).checked_mul(1_000_000)
                }
                TimeUnit::Millisecond => {
                    a.as_primitive::<t::TimestampMillisecondType>().value(i).checked_mul(1000)
                }
                TimeUnit::Microsecond => {
                    Some(a.as_primitive::<t::TimestampMicrosecondType>().value(i))
                }
                TimeUnit::Nanosecond => {
                    Some(a.as_primitive::<t::TimestampNanosecondType>().value(i).div_euclid(1000))
                }
            };
            micros.map_or_else(|| Value::Str(formatter.value(i).to_string()), Value::Ts)
        }
        DataType::Decimal128(_, _) | DataType::Decimal256(_, _) => {
            let text = formatter.value(i).to_string();
            text.parse::<f64>().map_or(Value::Str(text), Value::Float)
        }
        // Lists, structs, maps, binaries, times, durations: their text.
        _ => Value::Str(formatter.value(i).to_string()),
    }
}

/// The bytes of row `i` of a binary column.
fn binary(a: &ArrayRef, i: usize) -> Option<&[u8]> {
    match a.data_type() {
        DataType::Binary => Some(a.as_binary::<i32>().value(i)),
        DataType::LargeBinary => Some(a.as_binary::<i64>().value(i)),
        DataType::BinaryView => Some(a.as_binary_view().value(i)),
        _ => None,
    }
}

/// Imports a Parquet file: a column per field, in the file's types; the GeoParquet primary
/// geometry column (WKB) becomes the geometry, other geometry columns GeoJSON texts.
pub(crate) fn import(
    path: &Path,
    out_path: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportOutcome, Error> {
    let total = std::fs::metadata(path).map_err(|e| Error::input(path, e))?.len();
    let file = File::open(path).map_err(|e| Error::input(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| broken(path, &e))?;
    let geo = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == "geo"))
        .and_then(|k| k.value.clone());
    let geo_cols = geo_columns(path, geo.as_deref())?;
    let schema = builder.schema().clone();
    for g in geo_cols.iter().map(|c| &c.name) {
        match schema.field_with_name(g) {
            Ok(f)
                if matches!(
                    f.data_type(),
                    DataType::Binary | DataType::LargeBinary | DataType::BinaryView
                ) => {}
            Ok(f) => {
                return Err(Error::unreadable(
                    path,
                    format!(
                        "GeoParquet metadata: the geometry column `{g}` holds {}, not WKB bytes",
                        f.data_type()
                    ),
                ));
            }
            Err(_) => {
                return Err(Error::unreadable(
                    path,
                    format!(
                        "GeoParquet metadata names the geometry column `{g}`, which the file does not have"
                    ),
                ));
            }
        }
    }
    let primary = geo_cols.first().map(|c| c.name.clone());
    let labels: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| Some(n) != primary.as_ref())
        .collect();
    let rows_total = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    drop(builder);
    let role = primary.is_some().then_some(Role::FeatureGeometry);
    let mut source = ParquetSource {
        path,
        labels,
        geo_cols,
        primary,
        bytes: Rc::new(Cell::new(0)),
        total,
        rows_total: rows_total.max(1),
    };
    let scanned = scan_schema(&mut source, LocationKind::Item, role, progress, total)?;
    write_scanned(
        scanned,
        &mut source,
        path,
        out_path,
        opts,
        progress,
        Format::Parquet,
        Detected::default(),
        total,
    )
}

/// A Parquet file read as a stream of record batches, once per pass.
struct ParquetSource<'a> {
    path: &'a Path,
    /// Columns other than the primary geometry.
    labels: Vec<String>,
    /// Geometry columns (WKB), the primary one first.
    geo_cols: Vec<GeoColumn>,
    primary: Option<String>,
    bytes: Rc<Cell<u64>>,
    total: u64,
    rows_total: u64,
}

impl Source for ParquetSource<'_> {
    fn bytes_read(&self) -> Rc<Cell<u64>> {
        self.bytes.clone()
    }

    fn scan(&mut self, sink: &mut dyn FnMut(Record) -> Result<(), Error>) -> Result<(), Error> {
        let path = self.path;
        self.bytes.set(0);
        let file = File::open(path).map_err(|e| Error::input(path, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.with_batch_size(BATCH_ROWS).build())
            .map_err(|e| broken(path, &e))?;
        let options = FormatOptions::default();
        let mut n = 0u64;
        for batch in reader {
            let batch = batch.map_err(|e| broken(path, &e))?;
            let columns: Vec<ArrayRef> = self
                .labels
                .iter()
                .map(|l| batch.column_by_name(l).cloned())
                .collect::<Option<_>>()
                .ok_or_else(|| broken(path, &"a batch lacks a column of the schema"))?;
            let formatters: Vec<ArrayFormatter<'_>> = columns
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<_, _>>()
                .map_err(|e| broken(path, &e))?;
            let geometry = self.primary.as_ref().and_then(|p| batch.column_by_name(p));
            let primary_to_wgs84 = self.geo_cols.first().and_then(|c| c.to_wgs84.as_ref());
            'rows: for i in 0..batch.num_rows() {
                n += 1;
                self.bytes.set(self.total.saturating_mul(n.min(self.rows_total)) / self.rows_total);
                let mut members = Vec::with_capacity(self.labels.len());
                for (j, c) in columns.iter().enumerate() {
                    let label = &self.labels[j];
                    let geo_col = self.geo_cols.iter().find(|g| &g.name == label);
                    let value = if let Some(geo_col) = geo_col
                        && !c.is_null(i)
                    {
                        match binary(c, i).map(|b| wgs84_geometry(b, geo_col.to_wgs84.as_ref())) {
                            Some(Ok(g)) => Value::Str(g.to_json()),
                            Some(Err(reason)) => {
                                sink(Record::Rejected {
                                    loc: n,
                                    field: None,
                                    value: None,
                                    reason: format!("{label}: {reason}"),
                                })?;
                                continue 'rows;
                            }
                            None => Value::Null,
                        }
                    } else {
                        cell(c, &formatters[j], i)
                    };
                    members.push((label.clone(), value));
                }
                let geo = match geometry {
                    Some(g) if !g.is_null(i) => {
                        match binary(g, i).map(|b| wgs84_geometry(b, primary_to_wgs84)) {
                            Some(Ok(v)) => v,
                            Some(Err(reason)) => {
                                sink(Record::Rejected {
                                    loc: n,
                                    field: Some("geometry"),
                                    value: None,
                                    reason,
                                })?;
                                continue;
                            }
                            None => Value::Null,
                        }
                    }
                    _ => Value::Null,
                };
                sink(Record::Row { loc: n, members, geometry: geo })?;
            }
        }
        Ok(())
    }
}
