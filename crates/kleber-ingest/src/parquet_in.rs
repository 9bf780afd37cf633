//! Apache Parquet files, GeoParquet included: read with the `parquet` crate's Arrow reader;
//! the geometry columns the `geo` metadata declares (WKB encoding) are decoded with `geozero`.

use std::fs::File;
use std::path::Path;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use geozero::ToJson;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::infer::Role;
use crate::typed::{Table, finish};
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

/// The geometry columns of the GeoParquet `geo` metadata: the primary one first.
fn geo_columns(path: &Path, geo: Option<&str>) -> Result<Vec<String>, Error> {
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
        if let Some(crs) = c.get("crs").filter(|c| !c.is_null())
            && !is_wgs84(crs)
        {
            let named = crs.get("name").and_then(|n| n.as_str()).unwrap_or("another CRS");
            return Err(bad(format!(
                "the column `{name}` is in {named}, not WGS 84 longitude/latitude; reproject \
                 it to OGC:CRS84 or EPSG:4326 when writing the file"
            )));
        }
        if name == primary { out.insert(0, name.clone()) } else { out.push(name.clone()) }
    }
    Ok(out)
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
    for g in &geo_cols {
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
    let primary = geo_cols.first().cloned();
    let labels: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| Some(n) != primary.as_ref())
        .collect();
    let mut table = Table::with_labels(LocationKind::Item, labels.clone());
    if primary.is_some() {
        table.geometry = Some(Role::FeatureGeometry);
    }
    let reader = builder.with_batch_size(BATCH_ROWS).build().map_err(|e| broken(path, &e))?;
    let options = FormatOptions::default();
    let mut n = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| broken(path, &e))?;
        let columns: Vec<ArrayRef> = labels
            .iter()
            .map(|l| batch.column_by_name(l).cloned())
            .collect::<Option<_>>()
            .ok_or_else(|| broken(path, &"a batch lacks a column of the schema"))?;
        let formatters: Vec<ArrayFormatter<'_>> = columns
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<_, _>>()
            .map_err(|e| broken(path, &e))?;
        let geometry = primary.as_ref().and_then(|p| batch.column_by_name(p));
        'rows: for i in 0..batch.num_rows() {
            n += 1;
            let mut cells = Vec::with_capacity(labels.len());
            for (j, c) in columns.iter().enumerate() {
                if geo_cols.contains(&labels[j]) && !c.is_null(i) {
                    match binary(c, i).map(wkb_geometry) {
                        Some(Ok(g)) => cells.push(Value::Str(g.to_json())),
                        Some(Err(reason)) => {
                            table.reject(n, Some(&labels[j]), reason);
                            continue 'rows;
                        }
                        None => cells.push(Value::Null),
                    }
                } else {
                    cells.push(cell(c, &formatters[j], i));
                }
            }
            let geo = match geometry {
                Some(g) if !g.is_null(i) => match binary(g, i).map(wkb_geometry) {
                    Some(Ok(v)) => v,
                    Some(Err(reason)) => {
                        table.reject(n, primary.as_deref(), reason);
                        continue;
                    }
                    None => Value::Null,
                },
                _ => Value::Null,
            };
            table.push_cells(n, cells);
            if let Some(last) = table.rows.last_mut() {
                last.geometry = geo;
            }
        }
    }
    finish(table, path, out_path, opts, progress, Format::Parquet, Detected::default(), total)
}
