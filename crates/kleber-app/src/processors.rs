//! Processors: a declarative pipeline stored with a dataset (catalog schema 12) and applied
//! to every file read for it, after reading and before the version is written
//! (docs/sources.md#processors).
//!
//! The pipeline is a versioned JSON document (`{"version": 1, "steps": [...]}`), each step an
//! object whose `kind` says what it does: `rename`, `cast`, `drop`, `reorder`, `compute` (a
//! field from an ODSQL expression, evaluated by DataFusion through `kleber_query::RowExpr`),
//! `split` (a multivalued text field), `geo_point` (from latitude/longitude fields or a
//! "lat, lon" text), `skip` (records matching an ODSQL condition), `normalize_date` (a text
//! read with a chrono format into ISO dates or datetimes), `join` (fields of another Kleber
//! dataset by key, left join on its current version) and `spatial_join` (fields of the
//! polygon of another dataset containing each point, through
//! `kleber_query::PolygonIndex`).
//!
//! A pipeline is compiled once over the fields read (`compile`: every name, type and
//! expression checked, joined datasets loaded), then run batch by batch over the Parquet file
//! the reader wrote, into a new Parquet file that replaces it. Any error names the step (its
//! number, from 1, and kind) and the field; the publication then fails and the current
//! version stays.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Float64Builder, ListBuilder, RecordBatch,
    StringArray, StringBuilder, StructArray, TimestampMicrosecondArray, UInt32Array,
};
use arrow::datatypes::{DataType, Schema};
use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use kleber_query::{PolygonIndex, PolygonIndexBuilder, RowExpr};
use kleber_store::{DatasetRecord, Store};
use kleber_types::{Field, FieldType};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::KeyValue;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::context::Principal;
use crate::error::Error;
use crate::manage::{Editor, managed_for, store_error};
use crate::{App, policy};

/// The version of the pipeline's JSON shape this binary reads and writes.
pub const PIPELINE_VERSION: u32 = 1;
/// The most steps a pipeline may have.
pub const MAX_STEPS: usize = 50;
/// The most rows a preview shows, before and after.
pub const MAX_PREVIEW_ROWS: usize = 100;
/// Rows of a preview when the request does not say.
pub const DEFAULT_PREVIEW_ROWS: usize = 20;

/// A dataset's pipeline: the steps, applied in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// The shape's version ([`PIPELINE_VERSION`]).
    pub version: u32,
    /// The steps.
    pub steps: Vec<Step>,
}

/// What a date normalisation produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateKind {
    /// An ISO date (`date` field).
    Date,
    /// An ISO datetime (`datetime` field).
    Datetime,
}

/// One step of a pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Renames a field (its label follows when it was the name).
    Rename {
        /// The field.
        field: String,
        /// Its new name.
        to: String,
    },
    /// Converts a field to another type (text, int, double, boolean, date, datetime); a
    /// value that does not convert fails the step.
    Cast {
        /// The field.
        field: String,
        /// The type wanted.
        to: FieldType,
    },
    /// Removes fields.
    Drop {
        /// The fields.
        fields: Vec<String>,
    },
    /// Puts fields first, in this order; the others follow in their own order.
    Reorder {
        /// The fields.
        fields: Vec<String>,
    },
    /// Adds (or replaces) a field computed from an ODSQL expression over each record.
    Compute {
        /// The field written.
        field: String,
        /// The ODSQL expression (as in `select`).
        expression: String,
        /// Its label (default: the name).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
    },
    /// Splits a text field on a separator into a multivalued field.
    Split {
        /// The field.
        field: String,
        /// The separator.
        separator: String,
    },
    /// Builds a `geo_point_2d` field from two numeric fields or one "lat, lon" text field.
    GeoPoint {
        /// The field written.
        field: String,
        /// The latitude field (with `longitude`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latitude: Option<String>,
        /// The longitude field (with `latitude`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        longitude: Option<String>,
        /// A text field holding "lat, lon" (instead of the two above).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// Leaves out the records matching an ODSQL condition (as in `where`).
    Skip {
        /// The condition.
        condition: String,
    },
    /// Reads a text field with a chrono format (`%d/%m/%Y`) into a date or datetime field.
    NormalizeDate {
        /// The field.
        field: String,
        /// The chrono format of its values.
        format: String,
        /// What to produce (default `date`).
        #[serde(default = "default_date_kind")]
        to: DateKind,
        /// The time zone of datetimes without offset (default UTC).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timezone: Option<String>,
    },
    /// Adds fields of another dataset's current version whose `other_key` equals this
    /// record's `key` (left join: records without a match get empty values).
    Join {
        /// The other dataset's identifier.
        dataset: String,
        /// The field of this dataset.
        key: String,
        /// The field of the other dataset (default: `key`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        other_key: Option<String>,
        /// The fields of the other dataset to add.
        fields: Vec<String>,
        /// A prefix for the added fields' names (default none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
    },
    /// Adds fields of the polygon (a `geo_shape` of another dataset's current version) that
    /// contains each record's point (`geo_point_2d`).
    SpatialJoin {
        /// The other dataset's identifier.
        dataset: String,
        /// The `geo_point_2d` field of this dataset (default: the first one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        point: Option<String>,
        /// The `geo_shape` field of the other dataset (default: its first one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shape: Option<String>,
        /// The fields of the other dataset to add (its name, code, ...).
        fields: Vec<String>,
        /// A prefix for the added fields' names (default none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
    },
}

fn default_date_kind() -> DateKind {
    DateKind::Date
}

impl Step {
    /// The step's kind, as written in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Rename { .. } => "rename",
            Step::Cast { .. } => "cast",
            Step::Drop { .. } => "drop",
            Step::Reorder { .. } => "reorder",
            Step::Compute { .. } => "compute",
            Step::Split { .. } => "split",
            Step::GeoPoint { .. } => "geo_point",
            Step::Skip { .. } => "skip",
            Step::NormalizeDate { .. } => "normalize_date",
            Step::Join { .. } => "join",
            Step::SpatialJoin { .. } => "spatial_join",
        }
    }

    /// The dataset a join step reads, if it is one.
    pub fn joined_dataset(&self) -> Option<&str> {
        match self {
            Step::Join { dataset, .. } | Step::SpatialJoin { dataset, .. } => Some(dataset),
            _ => None,
        }
    }

    /// A one-line summary for the back office's list.
    pub fn summary(&self) -> String {
        match self {
            Step::Rename { field, to } => format!("rename {field} → {to}"),
            Step::Cast { field, to } => format!("cast {field} to {to}"),
            Step::Drop { fields } => format!("drop {}", fields.join(", ")),
            Step::Reorder { fields } => format!("reorder: {} first", fields.join(", ")),
            Step::Compute { field, expression, .. } => format!("compute {field} = {expression}"),
            Step::Split { field, separator } => format!("split {field} on {separator:?}"),
            Step::GeoPoint { field, latitude, longitude, text } => match text {
                Some(t) => format!("geo_point {field} from the text of {t}"),
                None => format!(
                    "geo_point {field} from {} and {}",
                    latitude.as_deref().unwrap_or("?"),
                    longitude.as_deref().unwrap_or("?")
                ),
            },
            Step::Skip { condition } => format!("skip records where {condition}"),
            Step::NormalizeDate { field, format, to, .. } => {
                format!("normalize {field} from {format:?} to {to:?}")
            }
            Step::Join { dataset, key, fields, .. } => {
                format!("join {} from {dataset} on {key}", fields.join(", "))
            }
            Step::SpatialJoin { dataset, fields, .. } => {
                format!("spatial join {} from the polygons of {dataset}", fields.join(", "))
            }
        }
    }
}

/// A step's error: which step (number from 1, kind), which field, what.
fn step_error(
    index: usize,
    step: &Step,
    field: Option<&str>,
    message: impl std::fmt::Display,
) -> String {
    match field {
        Some(f) => format!("step {} ({}), field `{f}`: {message}", index + 1, step.kind()),
        None => format!("step {} ({}): {message}", index + 1, step.kind()),
    }
}

/// The kinds of steps, for error messages.
const KINDS: &[&str] = &[
    "rename",
    "cast",
    "drop",
    "reorder",
    "compute",
    "split",
    "geo_point",
    "skip",
    "normalize_date",
    "join",
    "spatial_join",
];

impl Pipeline {
    /// Reads a pipeline from JSON: the shape's version, at most [`MAX_STEPS`] steps, each step
    /// read on its own so an error names it (an unknown kind lists the kinds known).
    pub fn from_json(value: &Value) -> Result<Pipeline, String> {
        let Some(object) = value.as_object() else {
            return Err(
                "the pipeline must be a JSON object {\"version\": 1, \"steps\": [...]}".to_owned()
            );
        };
        if let Some(key) = object.keys().find(|k| *k != "version" && *k != "steps") {
            return Err(format!(
                "unknown key `{key}` in the pipeline; the keys are version, steps"
            ));
        }
        let version = match object.get("version") {
            None => PIPELINE_VERSION,
            Some(v) => match v.as_u64() {
                Some(n) if n == u64::from(PIPELINE_VERSION) => PIPELINE_VERSION,
                _ => {
                    return Err(format!(
                        "pipeline version {v} is not one this server reads; use {PIPELINE_VERSION}"
                    ));
                }
            },
        };
        let Some(steps) = object.get("steps").and_then(Value::as_array) else {
            return Err("`steps` must be an array of steps".to_owned());
        };
        if steps.len() > MAX_STEPS {
            return Err(format!(
                "the pipeline has {} steps; at most {MAX_STEPS} are allowed",
                steps.len()
            ));
        }
        let mut out = Vec::with_capacity(steps.len());
        for (i, step) in steps.iter().enumerate() {
            let kind = step.get("kind").and_then(Value::as_str);
            match kind {
                None => {
                    return Err(format!(
                        "step {}: no `kind`; the kinds are {}",
                        i + 1,
                        KINDS.join(", ")
                    ));
                }
                Some(k) if !KINDS.contains(&k) => {
                    return Err(format!(
                        "step {}: unknown kind `{k}`; the kinds are {}",
                        i + 1,
                        KINDS.join(", ")
                    ));
                }
                Some(k) => {
                    let step: Step = serde_json::from_value(step.clone())
                        .map_err(|e| format!("step {} ({k}): {e}", i + 1))?;
                    out.push(step);
                }
            }
        }
        Ok(Pipeline { version, steps: out })
    }

    /// Checks what can be checked without data: names and separators not empty, a geo point's
    /// sources, formats, time zones.
    pub fn check(&self) -> Result<(), String> {
        for (i, step) in self.steps.iter().enumerate() {
            let err = |field: Option<&str>, m: &str| Err(step_error(i, step, field, m));
            match step {
                Step::Rename { to, field } if to.trim().is_empty() => {
                    return err(Some(field), "the new name is empty");
                }
                Step::Cast { to: FieldType::GeoPoint2d | FieldType::GeoShape, field } => {
                    return err(
                        Some(field),
                        "cast converts to text, int, double, boolean, date or datetime; build a geo_point_2d with a geo_point step",
                    );
                }
                Step::Drop { fields } | Step::Reorder { fields } if fields.is_empty() => {
                    return err(None, "`fields` is empty");
                }
                Step::Compute { field, .. } | Step::GeoPoint { field, .. }
                    if field.trim().is_empty() =>
                {
                    return err(None, "the field name is empty");
                }
                Step::Split { separator, field } if separator.is_empty() => {
                    return err(Some(field), "the separator is empty; give e.g. \",\" or \";\"");
                }
                Step::GeoPoint { latitude, longitude, text, field } => {
                    let pair = latitude.is_some() && longitude.is_some();
                    if pair == text.is_some() || latitude.is_some() != longitude.is_some() {
                        return err(
                            Some(field),
                            "give either `latitude` and `longitude`, or `text` (\"lat, lon\")",
                        );
                    }
                }
                Step::NormalizeDate { format, timezone, field, .. } => {
                    if format.trim().is_empty() {
                        return err(Some(field), "the format is empty; give e.g. \"%d/%m/%Y\"");
                    }
                    if chrono::format::StrftimeItems::new(format)
                        .any(|item| matches!(item, chrono::format::Item::Error))
                    {
                        return err(
                            Some(field),
                            &format!("{format:?} is not a valid chrono format"),
                        );
                    }
                    if let Some(tz) = timezone
                        && tz.parse::<chrono_tz::Tz>().is_err()
                    {
                        return err(
                            Some(field),
                            &format!("unknown time zone {tz:?}; give e.g. Europe/Paris"),
                        );
                    }
                }
                Step::Join { fields, .. } | Step::SpatialJoin { fields, .. }
                    if fields.is_empty() =>
                {
                    return err(
                        None,
                        "`fields` is empty: name the fields of the other dataset to add",
                    );
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// What a join step reads of another dataset: its record, once access was checked.
pub(crate) type JoinSource<'a> = &'a dyn Fn(&str) -> Result<DatasetRecord, String>;

/// Makes a column from a batch.
type MakeColumn = Box<dyn Fn(&RecordBatch) -> Result<ArrayRef, String> + Send + Sync>;
/// Finds, for each record of a batch, the row of another dataset it takes values from.
type FindRows = Box<dyn Fn(&RecordBatch) -> Result<Vec<Option<u32>>, String> + Send + Sync>;

/// One step ready to run on batches.
enum Op {
    /// Columns chosen (by position in the previous batch), and new fields.
    Project(Vec<usize>),
    /// A column replaced or added by a function of the batch.
    Column {
        /// Position written (== len: appended).
        at: usize,
        make: MakeColumn,
    },
    /// Records meeting the condition are dropped.
    Skip(RowExpr),
    /// Several columns appended by a lookup.
    Lookup { rows: FindRows, columns: Vec<ArrayRef> },
}

/// A pipeline compiled over the fields of a file.
pub struct Compiled {
    ops: Vec<(usize, Op)>,
    steps: Vec<Step>,
    /// The fields after every step.
    pub fields: Vec<Field>,
}

fn schema_of(fields: &[Field]) -> Arc<Schema> {
    Arc::new(Schema::new(fields.iter().map(Field::arrow_field).collect::<Vec<_>>()))
}

fn position(fields: &[Field], name: &str) -> Result<usize, String> {
    fields.iter().position(|f| f.name == name).ok_or_else(|| {
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        format!("no such field; the fields are {}", names.join(", "))
    })
}

fn check_new_name(fields: &[Field], name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the field name is empty".to_owned());
    }
    if fields.iter().any(|f| f.name == name) {
        return Err(format!("a field `{name}` exists already"));
    }
    Ok(())
}

/// The field type of an expression's values, and the storage type to cast them to.
fn type_of(data_type: &DataType) -> Option<FieldType> {
    Some(match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
            FieldType::Text
        }
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => FieldType::Int,
        DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => {
            FieldType::Double
        }
        DataType::Boolean => FieldType::Boolean,
        DataType::Date32 | DataType::Date64 => FieldType::Date,
        DataType::Timestamp(..) => FieldType::Datetime,
        _ => return None,
    })
}

/// Values of `array` as text (numbers written as usual), for keys and "lat, lon" texts.
fn as_text(array: &ArrayRef) -> Result<StringArray, String> {
    let cast = arrow::compute::cast(array, &DataType::Utf8).map_err(|e| e.to_string())?;
    cast.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| "cannot read the values as text".to_owned())
}

fn as_f64(array: &ArrayRef) -> Result<Float64Array, String> {
    let cast = arrow::compute::cast(array, &DataType::Float64).map_err(|e| e.to_string())?;
    cast.as_any()
        .downcast_ref::<Float64Array>()
        .cloned()
        .ok_or_else(|| "cannot read the values as numbers".to_owned())
}

fn geo_points(lon: &[Option<f64>], lat: &[Option<f64>]) -> ArrayRef {
    let mut lons = Float64Builder::with_capacity(lon.len());
    let mut lats = Float64Builder::with_capacity(lon.len());
    let mut valid = Vec::with_capacity(lon.len());
    for (x, y) in lon.iter().zip(lat) {
        match (x, y) {
            (Some(x), Some(y))
                if x.is_finite()
                    && y.is_finite()
                    && (-180.0..=180.0).contains(x)
                    && (-90.0..=90.0).contains(y) =>
            {
                lons.append_value(*x);
                lats.append_value(*y);
                valid.push(true);
            }
            _ => {
                lons.append_value(0.0);
                lats.append_value(0.0);
                valid.push(false);
            }
        }
    }
    let fields = kleber_types::field::geo_point_fields();
    let columns: Vec<ArrayRef> = vec![Arc::new(lons.finish()), Arc::new(lats.finish())];
    Arc::new(StructArray::new(fields, columns, Some(valid.into())))
}

/// Reads every batch of a Parquet file, with the columns named.
fn read_columns(path: &Path, names: &[&str]) -> Result<Vec<RecordBatch>, String> {
    read_head(path, names, None)
}

/// The columns `names` of the Parquet file `path`, in that order, its first `limit` rows
/// only when given.
fn read_head(
    path: &Path,
    names: &[&str],
    limit: Option<usize>,
) -> Result<Vec<RecordBatch>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open its data: {e}"))?;
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| e.to_string())?;
    if let Some(n) = limit {
        builder = builder.with_limit(n);
    }
    let schema = builder.schema().clone();
    let mut indices = Vec::new();
    for name in names {
        indices
            .push(schema.index_of(name).map_err(|_| format!("its data has no column `{name}`"))?);
    }
    let mask = parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), indices.clone());
    let reader = builder.with_projection(mask).build().map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        // The projection keeps the file's column order; put them in the order asked.
        let columns = names
            .iter()
            .map(|n| batch.column_by_name(n).cloned().ok_or_else(|| format!("no column `{n}`")))
            .collect::<Result<Vec<_>, _>>()?;
        let fields: Vec<_> = names
            .iter()
            .map(|n| batch.schema().field_with_name(n).cloned().map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        out.push(
            RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
                .map_err(|e| e.to_string())?,
        );
    }
    Ok(out)
}

fn concat_column(
    batches: &[RecordBatch],
    i: usize,
    data_type: &DataType,
) -> Result<ArrayRef, String> {
    let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
    if parts.is_empty() {
        return Ok(arrow::array::new_empty_array(data_type));
    }
    arrow::compute::concat(&parts).map_err(|e| e.to_string())
}

/// Compiles `pipeline` over `fields` (the fields read, in column order). `join` gives the
/// record of a joined dataset (access checked by the caller). `tz` reads dates of ODSQL.
pub(crate) fn compile(
    pipeline: &Pipeline,
    fields: &[Field],
    join: JoinSource<'_>,
    tz: chrono_tz::Tz,
) -> Result<Compiled, String> {
    pipeline.check()?;
    let mut fields = fields.to_vec();
    let mut ops = Vec::new();
    for (i, step) in pipeline.steps.iter().enumerate() {
        let at = |field: &str, fields: &[Field]| {
            position(fields, field).map_err(|e| step_error(i, step, Some(field), e))
        };
        let fail = |field: Option<&str>, e: String| step_error(i, step, field, e);
        match step {
            Step::Rename { field, to } => {
                let p = at(field, &fields)?;
                if to != field {
                    check_new_name(&fields, to).map_err(|e| fail(Some(field), e))?;
                }
                let f = &mut fields[p];
                if f.label == f.name {
                    f.label.clone_from(to);
                }
                f.name.clone_from(to);
                ops.push((i, Op::Project((0..fields.len()).collect())));
            }
            Step::Cast { field, to } => {
                let p = at(field, &fields)?;
                if matches!(fields[p].field_type, FieldType::GeoPoint2d)
                    || fields[p].multivalued_separator().is_some()
                {
                    return Err(fail(
                        Some(field),
                        format!("a {} field cannot be cast", fields[p].field_type),
                    ));
                }
                fields[p].field_type = *to;
                let target = fields[p].storage_type();
                let (name, to) = (field.clone(), *to);
                let make = move |batch: &RecordBatch| -> Result<ArrayRef, String> {
                    let column = batch.column(p);
                    let options = arrow::compute::CastOptions { safe: false, ..Default::default() };
                    arrow::compute::cast_with_options(column, &target, &options)
                        .map_err(|e| format!("a value of `{name}` is not a {to}: {e}"))
                };
                ops.push((i, Op::Column { at: p, make: Box::new(make) }));
            }
            Step::Drop { fields: names } => {
                for n in names {
                    at(n, &fields)?;
                }
                let keep: Vec<usize> =
                    (0..fields.len()).filter(|&j| !names.contains(&fields[j].name)).collect();
                if keep.is_empty() {
                    return Err(fail(None, "this would drop every field".to_owned()));
                }
                fields = keep.iter().map(|&j| fields[j].clone()).collect();
                ops.push((i, Op::Project(keep)));
            }
            Step::Reorder { fields: names } => {
                let mut order = Vec::new();
                for n in names {
                    let p = at(n, &fields)?;
                    if order.contains(&p) {
                        return Err(fail(Some(n), "named twice".to_owned()));
                    }
                    order.push(p);
                }
                let rest: Vec<usize> = (0..fields.len()).filter(|j| !order.contains(j)).collect();
                order.extend(rest);
                fields = order.iter().map(|&j| fields[j].clone()).collect();
                ops.push((i, Op::Project(order)));
            }
            Step::Compute { field, expression, label } => {
                let schema = schema_of(&fields);
                let expr = RowExpr::compile(&fields, &schema, expression, false, tz)
                    .map_err(|e| fail(Some(field), e.to_string()))?;
                let Some(field_type) = type_of(expr.data_type()) else {
                    return Err(fail(
                        Some(field),
                        format!(
                            "the expression gives {} values, which no field type holds",
                            expr.data_type()
                        ),
                    ));
                };
                let new = Field::new(
                    field.clone(),
                    label.clone().unwrap_or_else(|| field.clone()),
                    field_type,
                );
                let target = new.storage_type();
                let p = match fields.iter().position(|f| &f.name == field) {
                    Some(p) => {
                        fields[p] = new;
                        p
                    }
                    None => {
                        fields.push(new);
                        fields.len() - 1
                    }
                };
                let make = move |batch: &RecordBatch| -> Result<ArrayRef, String> {
                    let values = expr.evaluate(batch).map_err(|e| e.to_string())?;
                    arrow::compute::cast(&values, &target).map_err(|e| e.to_string())
                };
                ops.push((i, Op::Column { at: p, make: Box::new(make) }));
            }
            Step::Split { field, separator } => {
                let p = at(field, &fields)?;
                if fields[p].field_type != FieldType::Text
                    || fields[p].multivalued_separator().is_some()
                {
                    return Err(fail(
                        Some(field),
                        format!(
                            "only a single-valued text field can be split; this one is {}",
                            fields[p].field_type
                        ),
                    ));
                }
                fields[p].annotations.insert("multivalued".to_owned(), vec![separator.clone()]);
                let sep = separator.clone();
                let make = move |batch: &RecordBatch| -> Result<ArrayRef, String> {
                    let text = as_text(batch.column(p))?;
                    let mut list = ListBuilder::new(StringBuilder::new());
                    for v in &text {
                        match v {
                            None => list.append(false),
                            Some(v) => {
                                for part in
                                    v.split(sep.as_str()).map(str::trim).filter(|s| !s.is_empty())
                                {
                                    list.values().append_value(part);
                                }
                                list.append(true);
                            }
                        }
                    }
                    Ok(Arc::new(list.finish()))
                };
                ops.push((i, Op::Column { at: p, make: Box::new(make) }));
            }
            Step::GeoPoint { field, latitude, longitude, text } => {
                let new = Field::new(field.clone(), field.clone(), FieldType::GeoPoint2d);
                let make: MakeColumn = match (latitude, longitude, text) {
                    (Some(lat), Some(lon), None) => {
                        let (y, x) = (at(lat, &fields)?, at(lon, &fields)?);
                        for (name, p) in [(lat, y), (lon, x)] {
                            if !matches!(
                                fields[p].field_type,
                                FieldType::Int | FieldType::Double | FieldType::Text
                            ) || fields[p].multivalued_separator().is_some()
                            {
                                return Err(fail(
                                    Some(name),
                                    format!("a {} field holds no coordinate", fields[p].field_type),
                                ));
                            }
                        }
                        Box::new(move |batch: &RecordBatch| {
                            let lats = number_values(batch.column(y))?;
                            let lons = number_values(batch.column(x))?;
                            Ok(geo_points(&lons, &lats))
                        })
                    }
                    (None, None, Some(t)) => {
                        let p = at(t, &fields)?;
                        if fields[p].field_type != FieldType::Text
                            || fields[p].multivalued_separator().is_some()
                        {
                            return Err(fail(
                                Some(t),
                                format!(
                                    "a \"lat, lon\" text is needed; this field is {}",
                                    fields[p].field_type
                                ),
                            ));
                        }
                        Box::new(move |batch: &RecordBatch| {
                            let text = as_text(batch.column(p))?;
                            let (mut lons, mut lats) = (Vec::new(), Vec::new());
                            for v in &text {
                                let (y, x) = v.and_then(parse_lat_lon).unzip();
                                lats.push(y);
                                lons.push(x);
                            }
                            Ok(geo_points(&lons, &lats))
                        })
                    }
                    _ => {
                        return Err(fail(
                            Some(field),
                            "give either latitude and longitude, or text".to_owned(),
                        ));
                    }
                };
                let p = match fields.iter().position(|f| &f.name == field) {
                    Some(p) => {
                        fields[p] = new;
                        p
                    }
                    None => {
                        fields.push(new);
                        fields.len() - 1
                    }
                };
                ops.push((i, Op::Column { at: p, make }));
            }
            Step::Skip { condition } => {
                let schema = schema_of(&fields);
                let expr = RowExpr::compile(&fields, &schema, condition, true, tz)
                    .map_err(|e| fail(None, e.to_string()))?;
                ops.push((i, Op::Skip(expr)));
            }
            Step::NormalizeDate { field, format, to, timezone } => {
                let p = at(field, &fields)?;
                if fields[p].field_type != FieldType::Text
                    || fields[p].multivalued_separator().is_some()
                {
                    return Err(fail(
                        Some(field),
                        format!(
                            "only a text field is read with a format; this one is {}",
                            fields[p].field_type
                        ),
                    ));
                }
                let zone: chrono_tz::Tz = match timezone {
                    Some(t) => t
                        .parse()
                        .map_err(|_| fail(Some(field), format!("unknown time zone {t:?}")))?,
                    None => chrono_tz::UTC,
                };
                fields[p].field_type = match to {
                    DateKind::Date => FieldType::Date,
                    DateKind::Datetime => FieldType::Datetime,
                };
                let (format, to, name) = (format.clone(), *to, field.clone());
                let make = move |batch: &RecordBatch| -> Result<ArrayRef, String> {
                    let text = as_text(batch.column(p))?;
                    normalize_dates(&text, &format, to, zone).map_err(|v| {
                        format!("{v:?} does not match the format {format:?} of `{name}`")
                    })
                };
                ops.push((i, Op::Column { at: p, make: Box::new(make) }));
            }
            Step::Join { dataset, key, other_key, fields: wanted, prefix } => {
                let p = at(key, &fields)?;
                let record = join(dataset).map_err(|e| fail(None, e))?;
                let other_key = other_key.as_deref().unwrap_or(key);
                let (added, columns) =
                    joined_columns(&record, other_key, wanted, prefix.as_deref(), &fields)
                        .map_err(|e| fail(None, format!("dataset `{dataset}`: {e}")))?;
                let keys = as_text(&columns[0]).map_err(|e| fail(Some(key), e))?;
                let mut index: HashMap<String, u32> = HashMap::new();
                for (row, k) in keys.iter().enumerate() {
                    if let Some(k) = k {
                        index.entry(k.to_owned()).or_insert(row as u32);
                    }
                }
                let rows = move |batch: &RecordBatch| -> Result<Vec<Option<u32>>, String> {
                    let keys = as_text(batch.column(p))?;
                    Ok(keys.iter().map(|k| k.and_then(|k| index.get(k).copied())).collect())
                };
                fields.extend(added);
                ops.push((i, Op::Lookup { rows: Box::new(rows), columns: columns[1..].to_vec() }));
            }
            Step::SpatialJoin { dataset, point, shape, fields: wanted, prefix } => {
                let p = match point {
                    Some(name) => {
                        let p = at(name, &fields)?;
                        if fields[p].field_type != FieldType::GeoPoint2d {
                            return Err(fail(Some(name), format!("a geo_point_2d field is needed; this one is {}", fields[p].field_type)));
                        }
                        p
                    }
                    None => fields.iter().position(|f| f.field_type == FieldType::GeoPoint2d).ok_or_else(|| {
                        fail(None, "this dataset has no geo_point_2d field: build one with a geo_point step first".to_owned())
                    })?,
                };
                let record = join(dataset).map_err(|e| fail(None, e))?;
                let shape = match shape {
                    Some(s) => s.clone(),
                    None => record
                        .version
                        .fields
                        .iter()
                        .find(|f| f.field_type == FieldType::GeoShape)
                        .map(|f| f.name.clone())
                        .ok_or_else(|| {
                            fail(None, format!("dataset `{dataset}` has no geo_shape field"))
                        })?,
                };
                let (added, columns) =
                    joined_columns(&record, &shape, wanted, prefix.as_deref(), &fields)
                        .map_err(|e| fail(None, format!("dataset `{dataset}`: {e}")))?;
                let mut builder = PolygonIndexBuilder::new();
                builder
                    .push_column(&columns[0])
                    .map_err(|e| fail(Some(&shape), format!("dataset `{dataset}`: {e}")))?;
                let index: PolygonIndex = builder.build();
                let rows = move |batch: &RecordBatch| -> Result<Vec<Option<u32>>, String> {
                    let found =
                        index.containing_column(batch.column(p)).map_err(|e| e.to_string())?;
                    Ok(found.into_iter().map(|r| r.and_then(|r| u32::try_from(r).ok())).collect())
                };
                fields.extend(added);
                ops.push((i, Op::Lookup { rows: Box::new(rows), columns: columns[1..].to_vec() }));
            }
        }
    }
    Ok(Compiled { ops, steps: pipeline.steps.clone(), fields })
}

/// The key (or shape) column then the wanted columns of another dataset, whole, and the
/// fields they add here.
fn joined_columns(
    record: &DatasetRecord,
    key: &str,
    wanted: &[String],
    prefix: Option<&str>,
    here: &[Field],
) -> Result<(Vec<Field>, Vec<ArrayRef>), String> {
    let other = &record.version.fields;
    let find = |name: &str| {
        other.iter().find(|f| f.name == name).cloned().ok_or_else(|| {
            let names: Vec<&str> = other.iter().map(|f| f.name.as_str()).collect();
            format!("no field `{name}`; its fields are {}", names.join(", "))
        })
    };
    let mut picked = vec![find(key)?];
    let mut added = Vec::new();
    for w in wanted {
        let f = find(w)?;
        let mut new = f.clone();
        new.name = format!("{}{}", prefix.unwrap_or(""), f.name);
        if new.label == f.name || prefix.is_some() {
            new.label.clone_from(&new.name);
        }
        new.annotations.retain(|k, _| k == "multivalued");
        if here.iter().chain(added.iter()).any(|h: &Field| h.name == new.name) {
            return Err(format!(
                "field `{}` exists here already; give a `prefix` for the fields added",
                new.name
            ));
        }
        added.push(new);
        picked.push(f);
    }
    let names: Vec<&str> = picked.iter().map(|f| f.name.as_str()).collect();
    let batches = read_columns(&record.version.data_path, &names)?;
    let columns = picked
        .iter()
        .enumerate()
        .map(|(i, f)| concat_column(&batches, i, &f.storage_type()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((added, columns))
}

/// Numbers of a numeric or text column (text read with a decimal point or comma).
fn number_values(array: &ArrayRef) -> Result<Vec<Option<f64>>, String> {
    if matches!(array.data_type(), DataType::Utf8) {
        let text = as_text(array)?;
        return Ok(text
            .iter()
            .map(|v| v.and_then(|v| v.trim().replace(',', ".").parse::<f64>().ok()))
            .collect());
    }
    Ok(as_f64(array)?.iter().collect())
}

/// "lat, lon" (or "lat lon", "lat;lon") as (lat, lon).
fn parse_lat_lon(text: &str) -> Option<(f64, f64)> {
    let parts: Vec<&str> =
        text.split([',', ';', ' ']).map(str::trim).filter(|s| !s.is_empty()).collect();
    match parts.as_slice() {
        [lat, lon] => Some((lat.parse().ok()?, lon.parse().ok()?)),
        _ => None,
    }
}

/// Each text read with `format`; the first value that does not match is the error.
fn normalize_dates(
    text: &StringArray,
    format: &str,
    to: DateKind,
    zone: chrono_tz::Tz,
) -> Result<ArrayRef, String> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    match to {
        DateKind::Date => {
            let mut out = Vec::with_capacity(text.len());
            for v in text {
                match v.map(str::trim).filter(|v| !v.is_empty()) {
                    None => out.push(None),
                    Some(v) => {
                        let date = NaiveDate::parse_from_str(v, format)
                            .or_else(|_| NaiveDateTime::parse_from_str(v, format).map(|d| d.date()))
                            .map_err(|_| v.to_owned())?;
                        out.push(Some((date - epoch).num_days() as i32));
                    }
                }
            }
            Ok(Arc::new(arrow::array::Date32Array::from(out)))
        }
        DateKind::Datetime => {
            let mut out = Vec::with_capacity(text.len());
            for v in text {
                match v.map(str::trim).filter(|v| !v.is_empty()) {
                    None => out.push(None),
                    Some(v) => {
                        let micros = match chrono::DateTime::parse_from_str(v, format) {
                            Ok(dt) => dt.timestamp_micros(),
                            Err(_) => {
                                let naive = NaiveDateTime::parse_from_str(v, format)
                                    .or_else(|_| {
                                        NaiveDate::parse_from_str(v, format)
                                            .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
                                    })
                                    .map_err(|_| v.to_owned())?;
                                zone.from_local_datetime(&naive)
                                    .earliest()
                                    .ok_or_else(|| v.to_owned())?
                                    .timestamp_micros()
                            }
                        };
                        out.push(Some(micros));
                    }
                }
            }
            Ok(Arc::new(TimestampMicrosecondArray::from(out).with_timezone("UTC")))
        }
    }
}

impl Compiled {
    /// Runs the steps on one batch (whose columns are the fields compiled over).
    pub fn run(&self, batch: RecordBatch) -> Result<RecordBatch, String> {
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        let mut rows = batch.num_rows();
        for (i, op) in &self.ops {
            let step = &self.steps[*i];
            match op {
                Op::Project(keep) => {
                    columns = keep.iter().map(|&j| Arc::clone(&columns[j])).collect();
                }
                Op::Column { at, make } => {
                    let current = batch_of(&columns, rows)?;
                    let value = make(&current).map_err(|e| step_error(*i, step, None, e))?;
                    if *at == columns.len() {
                        columns.push(value);
                    } else {
                        columns[*at] = value;
                    }
                }
                Op::Skip(expr) => {
                    let current = batch_of(&columns, rows)?;
                    let hits = expr.matches(&current).map_err(|e| step_error(*i, step, None, e))?;
                    let keep = BooleanArray::from(hits.iter().map(|h| !h).collect::<Vec<_>>());
                    columns = columns
                        .iter()
                        .map(|c| arrow::compute::filter(c, &keep).map_err(|e| e.to_string()))
                        .collect::<Result<_, _>>()?;
                    rows = keep.true_count();
                }
                Op::Lookup { rows: lookup, columns: other } => {
                    let current = batch_of(&columns, rows)?;
                    let found = lookup(&current).map_err(|e| step_error(*i, step, None, e))?;
                    let indices = UInt32Array::from(found);
                    for c in other {
                        let taken = arrow::compute::take(c.as_ref(), &indices, None)
                            .map_err(|e| step_error(*i, step, None, e))?;
                        columns.push(taken);
                    }
                }
            }
        }
        RecordBatch::try_new(schema_of(&self.fields), columns).map_err(|e| e.to_string())
    }
}

/// A batch of the current columns: compiled expressions read columns by position (as
/// DataFusion's physical columns do), so only their order and types matter.
fn batch_of(columns: &[ArrayRef], rows: usize) -> Result<RecordBatch, String> {
    let fields: Vec<arrow::datatypes::Field> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| arrow::datatypes::Field::new(format!("c{i}"), c.data_type().clone(), true))
        .collect();
    let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns.to_vec(), &options)
        .map_err(|e| e.to_string())
}

/// Runs `compiled` over the Parquet file at `input` into `output`; the rows written.
pub(crate) fn run_file(compiled: &Compiled, input: &Path, output: &Path) -> Result<u64, String> {
    let file = std::fs::File::open(input).map_err(|e| e.to_string())?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| e.to_string())?
        .build()
        .map_err(|e| e.to_string())?;
    let fields_json = serde_json::to_string(&compiled.fields).map_err(|e| e.to_string())?;
    let props = kleber_types::layout::writer_properties(
        &schema_of(&compiled.fields),
        kleber_ingest::DEFAULT_ROW_GROUP_SIZE,
        Some(vec![KeyValue::new(kleber_ingest::FIELDS_METADATA_KEY.to_owned(), fields_json)]),
    );
    let out = std::fs::File::create(output).map_err(|e| e.to_string())?;
    let mut writer = ArrowWriter::try_new(out, schema_of(&compiled.fields), Some(props))
        .map_err(|e| e.to_string())?;
    let mut rows = 0u64;
    for batch in reader {
        let batch = compiled.run(batch.map_err(|e| e.to_string())?)?;
        rows += batch.num_rows() as u64;
        writer.write(&batch).map_err(|e| e.to_string())?;
    }
    writer.close().map_err(|e| e.to_string())?;
    Ok(rows)
}

/// The record of dataset `id` for a join made for `principal` (`None`: a scheduled run, whose
/// pipeline was checked when it was set), into dataset `target`: it must exist with a
/// version, be another dataset, and be readable whole by the principal.
pub(crate) fn join_record(
    store: &Store,
    principal: Option<&Principal>,
    target: &str,
    id: &str,
) -> Result<DatasetRecord, String> {
    if id == target {
        return Err(format!(
            "dataset `{id}` cannot be joined to itself: its current version would feed its next one"
        ));
    }
    let unknown = || {
        format!("dataset `{id}` does not exist, has no published version, or you may not read it")
    };
    let record = store.get_dataset(id).map_err(|e| e.to_string())?.ok_or_else(unknown)?;
    if let Some(p) = principal {
        let access = policy::DatasetAccess::from(&record);
        if !policy::may_read(p, access) {
            return Err(unknown());
        }
        if record.rule.is_some() && !policy::sees_whole(p, access) {
            return Err(format!(
                "dataset `{id}` has an access rule for outsiders and you see only part of it; a join needs the whole dataset"
            ));
        }
    }
    Ok(record)
}

/// The stored pipeline of dataset `id`, if it exists and has one.
pub(crate) fn stored(store: &Store, id: &str) -> Result<Option<Pipeline>, Error> {
    let text = match store.catalog().processors(id) {
        Ok(t) => t,
        Err(kleber_store::Error::DatasetNotFound { .. }) => return Ok(None),
        Err(e) => return Err(store_error(e)),
    };
    let Some(text) = text else { return Ok(None) };
    let value: Value = serde_json::from_str(&text).map_err(Error::internal)?;
    Pipeline::from_json(&value).map(Some).map_err(|e| {
        Error::Import(anyhow::anyhow!(
            "the processors stored for dataset `{id}` cannot be read: {e}"
        ))
    })
}

/// Applies dataset `dataset`'s stored pipeline, if any, to the Parquet file `input` whose
/// fields are `fields`, writing `output` (which may be `input`: it is then replaced); the new
/// fields and row count, or `None` when the dataset has no pipeline (nothing written). A
/// failure writes nothing and says which step failed.
pub(crate) fn apply_stored(
    store: &Store,
    dataset: &str,
    principal: Option<&Principal>,
    input: &Path,
    output: &Path,
    fields: &[Field],
) -> Result<Option<(Vec<Field>, u64)>, Error> {
    let Some(pipeline) = stored(store, dataset)? else { return Ok(None) };
    let failed = |e: String| {
        Error::Import(anyhow::anyhow!(
            "the processors of dataset `{dataset}` failed: {e}; nothing was published, the current version stays"
        ))
    };
    let join = |id: &str| join_record(store, principal, dataset, id);
    let compiled = compile(&pipeline, fields, &join, chrono_tz::UTC).map_err(failed)?;
    let tmp = output.with_extension("processed.parquet");
    let rows = match run_file(&compiled, input, &tmp) {
        Ok(rows) => rows,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(failed(e));
        }
    };
    std::fs::rename(&tmp, output).map_err(Error::internal)?;
    Ok(Some((compiled.fields, rows)))
}

/// Where the last file a remote source read for dataset `uid` is kept, before its processors
/// (`<data dir>/processors/<uid>/`): `last-read.parquet` and its fields, `last-read.json`.
fn last_read_paths(store: &Store, uid: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = store.root().join("processors").join(uid);
    (dir.join("last-read.parquet"), dir.join("last-read.json"))
}

/// Keeps the file a source run of dataset `uid` just read (`data`, with `fields`), before its
/// processors run over it, so that the back office previews a pipeline on what the source
/// sends rather than on a version the pipeline already changed. Hard-linked (the processors
/// then write a new file, leaving this one), copied where links fail; a failure to keep it is
/// logged and changes nothing else.
pub(crate) fn keep_last_read(store: &Store, uid: &str, data: &Path, fields: &[Field]) {
    let (file, meta) = last_read_paths(store, uid);
    let keep = || -> std::io::Result<()> {
        let dir = file.parent().unwrap_or(store.root());
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join("last-read.parquet.tmp");
        let _ = std::fs::remove_file(&tmp);
        if std::fs::hard_link(data, &tmp).is_err() {
            std::fs::copy(data, &tmp)?;
        }
        let text = serde_json::to_vec(fields).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("last-read.json.tmp"), text)?;
        std::fs::rename(&tmp, &file)?;
        std::fs::rename(dir.join("last-read.json.tmp"), &meta)
    };
    if let Err(e) = keep() {
        tracing::warn!(uid, error = %e, "the file a source read could not be kept for previews");
    }
}

/// Removes what [`keep_last_read`] kept for dataset `uid` (`<data dir>/processors/<uid>/`):
/// when its source is cleared, when it is deleted or purged. A failure is logged (the folder
/// is only a preview's base, never read as data).
pub(crate) fn forget_last_read(store: &Store, uid: &str) {
    let dir = store.root().join("processors").join(uid);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(uid, error = %e, "the file kept for previews could not be removed")
        }
    }
}

/// The last file a source read for dataset `uid`, with its fields, if one is kept.
fn last_read(store: &Store, uid: &str) -> Option<(std::path::PathBuf, Vec<Field>)> {
    let (file, meta) = last_read_paths(store, uid);
    let fields: Vec<Field> = serde_json::from_slice(&std::fs::read(meta).ok()?).ok()?;
    file.is_file().then_some((file, fields))
}

/// What a preview ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PreviewBase {
    /// The last file the dataset's remote source read, before any processor.
    SourceFile,
    /// The dataset's current version (which its stored processors, if any, already changed).
    CurrentVersion,
}

/// A preview: the first rows before and after the pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// What the rows before are.
    pub base: PreviewBase,
    /// Field names before.
    pub fields_before: Vec<Field>,
    /// Rows before (values as text, `null` when empty).
    pub rows_before: Vec<Vec<Option<String>>>,
    /// Field names after.
    pub fields_after: Vec<Field>,
    /// Rows after.
    pub rows_after: Vec<Vec<Option<String>>>,
}

fn text_rows(batches: &[RecordBatch]) -> Result<Vec<Vec<Option<String>>>, String> {
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default();
    let mut out = Vec::new();
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            out.push(
                batch
                    .columns()
                    .iter()
                    .zip(&formatters)
                    .map(|(c, f)| c.is_valid(row).then(|| f.value(row).to_string()))
                    .collect(),
            );
        }
    }
    Ok(out)
}

impl App {
    /// Dataset `id`'s pipeline, if it has one.
    pub async fn processors(&self, editor: &Editor, id: &str) -> Result<Option<Pipeline>, Error> {
        let (editor, id) = (editor.clone(), id.to_owned());
        self.on_store(move |store| {
            managed_for(store, &editor, &id)?;
            stored(store, &id)
        })
        .await
    }

    /// Sets dataset `id`'s pipeline from its JSON, after checking it against the dataset's
    /// current fields when it has a version (names, types, expressions, joined datasets the
    /// editor may read); the pipeline as stored.
    pub async fn set_processors(
        &self,
        editor: &Editor,
        id: &str,
        body: Value,
    ) -> Result<Pipeline, Error> {
        let pipeline = Pipeline::from_json(&body).map_err(Error::InvalidBody)?;
        pipeline.check().map_err(Error::InvalidBody)?;
        let (editor, id) = (editor.clone(), id.to_owned());
        self.on_store(move |store| {
            let d = managed_for(store, &editor, &id)?;
            if d.archived {
                return Err(Error::Conflict(format!(
                    "dataset {id:?} is archived (read-only): unarchive it before changing its processors"
                )));
            }
            let join = |other: &str| join_record(store, Some(editor.principal()), &id, other);
            for (i, step) in pipeline.steps.iter().enumerate() {
                if let Some(other) = step.joined_dataset() {
                    join(other).map_err(|e| Error::InvalidBody(step_error(i, step, None, e)))?;
                }
            }
            if let Some(current) = store.get_dataset(&id)? {
                compile(&pipeline, &current.version.fields, &join, chrono_tz::UTC)
                    .map_err(Error::InvalidBody)?;
            }
            let text = serde_json::to_string(&pipeline).map_err(Error::internal)?;
            store
                .catalog()
                .set_processors(editor.actor(), &id, &text, pipeline.steps.len())
                .map_err(store_error)?;
            Ok(pipeline)
        })
        .await
    }

    /// Removes dataset `id`'s pipeline; whether it had one.
    pub async fn clear_processors(&self, editor: &Editor, id: &str) -> Result<bool, Error> {
        let (editor, id) = (editor.clone(), id.to_owned());
        self.on_store(move |store| {
            managed_for(store, &editor, &id)?;
            store.catalog().clear_processors(editor.actor(), &id).map_err(store_error)
        })
        .await
    }

    /// The first `rows` (≤ [`MAX_PREVIEW_ROWS`]) records before and after `steps` (default:
    /// its stored pipeline) of the last file dataset `id`'s remote source read when one is
    /// kept (what the pipeline will see at the next refresh), else of its current version.
    pub async fn preview_processors(
        &self,
        editor: &Editor,
        id: &str,
        steps: Option<Value>,
        rows: Option<usize>,
    ) -> Result<Preview, Error> {
        let rows = rows.unwrap_or(DEFAULT_PREVIEW_ROWS);
        if rows == 0 || rows > MAX_PREVIEW_ROWS {
            return Err(Error::InvalidBody(format!(
                "rows: {rows} was given but 1 <= rows <= {MAX_PREVIEW_ROWS} is expected"
            )));
        }
        let given = match steps {
            Some(v) => Some(Pipeline::from_json(&v).map_err(Error::InvalidBody)?),
            None => None,
        };
        let (editor, id) = (editor.clone(), id.to_owned());
        self.on_store(move |store| {
            let managed = managed_for(store, &editor, &id)?;
            let pipeline = match given {
                Some(p) => p,
                None => stored(store, &id)?.unwrap_or(Pipeline { version: PIPELINE_VERSION, steps: Vec::new() }),
            };
            let kept = match store.catalog().source(&id).map_err(store_error)? {
                Some(_) => last_read(store, &managed.uid),
                None => None,
            };
            let (base, path, fields) = match kept {
                Some((path, fields)) => (PreviewBase::SourceFile, path, fields),
                None => {
                    let current = store.get_dataset(&id)?.ok_or_else(|| {
                        Error::Conflict(format!(
                            "dataset {id:?} has no published version yet: publish data first, then preview its processors"
                        ))
                    })?;
                    (PreviewBase::CurrentVersion, current.version.data_path.clone(), current.version.fields.clone())
                }
            };
            let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            let batches = read_head(&path, &names, Some(rows)).map_err(Error::internal)?;
            let mut head = Vec::new();
            let mut left = rows;
            for b in batches {
                if left == 0 {
                    break;
                }
                let take = b.num_rows().min(left);
                head.push(b.slice(0, take));
                left -= take;
            }
            let join = |other: &str| join_record(store, Some(editor.principal()), &id, other);
            let compiled = compile(&pipeline, &fields, &join, chrono_tz::UTC).map_err(Error::InvalidBody)?;
            let mut after = Vec::new();
            for b in &head {
                let b = RecordBatch::try_new(schema_of(&fields), b.columns().to_vec())
                    .map_err(Error::internal)?;
                after.push(compiled.run(b).map_err(Error::InvalidBody)?);
            }
            Ok(Preview {
                base,
                fields_before: fields,
                rows_before: text_rows(&head).map_err(Error::internal)?,
                fields_after: compiled.fields.clone(),
                rows_after: text_rows(&after).map_err(Error::internal)?,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipelines_are_read_step_by_step_with_what_is_wrong() {
        let ok = Pipeline::from_json(&serde_json::json!({"version": 1, "steps": [
            {"kind": "rename", "field": "a", "to": "b"},
            {"kind": "normalize_date", "field": "d", "format": "%d/%m/%Y"}]}))
        .unwrap();
        assert_eq!(ok.steps[1].kind(), "normalize_date");
        ok.check().unwrap();
        for (json, needle) in [
            (
                serde_json::json!({"version": 1, "steps": [{"kind": "x"}]}),
                "step 1: unknown kind `x`",
            ),
            (serde_json::json!({"version": 1, "steps": [{"field": "a"}]}), "step 1: no `kind`"),
            (
                serde_json::json!({"version": 1, "steps": [{"kind": "rename", "field": "a"}]}),
                "step 1 (rename): missing field `to`",
            ),
            (
                serde_json::json!({"version": 1, "steps": [{"kind": "drop", "fields": ["a"], "x": 1}]}),
                "unknown field `x`",
            ),
            (serde_json::json!({"steps": [], "other": 1}), "unknown key `other`"),
        ] {
            let e = Pipeline::from_json(&json).unwrap_err();
            assert!(e.contains(needle), "{needle}: {e}");
        }
        let bad_format = Pipeline::from_json(&serde_json::json!({"steps": [
            {"kind": "normalize_date", "field": "d", "format": "%Q"}]}))
        .unwrap();
        assert!(bad_format.check().unwrap_err().contains("step 1 (normalize_date), field `d`"));
    }

    #[test]
    fn texts_become_points_and_dates() {
        assert_eq!(parse_lat_lon("48.865983, 2.275725"), Some((48.865983, 2.275725)));
        assert_eq!(parse_lat_lon("48.8"), None);
        let text = StringArray::from(vec![Some("29/09/2023"), None, Some(" ")]);
        let dates = normalize_dates(&text, "%d/%m/%Y", DateKind::Date, chrono_tz::UTC).unwrap();
        let dates = dates.as_any().downcast_ref::<arrow::array::Date32Array>().unwrap();
        assert_eq!(dates.value(0), 19629);
        assert!(dates.is_null(1) && dates.is_null(2));
        let bad = StringArray::from(vec![Some("2023-09-29")]);
        assert_eq!(
            normalize_dates(&bad, "%d/%m/%Y", DateKind::Date, chrono_tz::UTC).unwrap_err(),
            "2023-09-29"
        );
    }
}
