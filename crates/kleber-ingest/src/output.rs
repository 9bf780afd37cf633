//! Conversion of values to a column's type, Arrow builders, and the Parquet writer.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Array, Float64Builder, Int64Builder,
    ListBuilder, StringBuilder, StructArray, TimestampMicrosecondBuilder,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field as ArrowField, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use kleber_types::field::geo_point_fields;
use kleber_types::{Field, FieldType};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;

use crate::geo::{point_json, validate_geometry};
use crate::infer::{Plan, Source, is_null_value};
use crate::values::{
    Value, in_range, is_blank, latlon_pair, parse_bool, parse_date, parse_date_or_datetime,
    parse_double, parse_int, parse_latlon_text,
};
use crate::{Error, FIELDS_METADATA_KEY, RowIssue};

/// Rows per Arrow batch handed to the Parquet writer.
pub(crate) const BATCH_ROWS: usize = 8192;

/// A value converted to its column's type, before it is appended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Parsed {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Date(i32),
    Ts(i64),
    /// `(lon, lat)`.
    Point(f64, f64),
    /// Text taken as it is from the source value.
    Raw,
    /// Text made from the source value (a number rendered in a text column, GeoJSON text...).
    Owned(String),
}

/// The source value of a cell, for [`Parsed::Raw`].
#[derive(Clone, Copy)]
pub(crate) enum Raw<'a> {
    Str(&'a str),
    Value(&'a Value),
    None,
}

fn article(t: FieldType) -> &'static str {
    match t {
        FieldType::Int => "an int",
        FieldType::Double => "a double",
        FieldType::Boolean => "a boolean",
        FieldType::Date => "a date",
        FieldType::Datetime => "a datetime",
        FieldType::GeoPoint2d => "a geo_point_2d (\"lat, lon\")",
        FieldType::GeoShape => "a geo_shape (GeoJSON geometry)",
        FieldType::Text => "a text",
    }
}

/// Cuts a value for messages.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

fn not_a(s: &str, t: FieldType) -> String {
    format!("\"{}\" is not {}", shorten(s, 100), article(t))
}

fn geometry_from_text(s: &str) -> Option<Value> {
    let v: Value = serde_json::from_str(s).ok()?;
    validate_geometry(&v).ok()?;
    Some(v)
}

/// Converts a text value to type `t` (text sources, and strings of typed sources).
#[inline]
pub(crate) fn parse_str(t: FieldType, s: &str, decimal_comma: bool) -> Result<Parsed, String> {
    if is_blank(s) {
        return Ok(Parsed::Null);
    }
    let v = s.trim();
    let parsed = match t {
        FieldType::Text => Some(Parsed::Raw),
        FieldType::Int => parse_int(v).map(Parsed::Int),
        FieldType::Double => parse_double(v, decimal_comma).map(Parsed::Float),
        FieldType::Boolean => parse_bool(v).map(Parsed::Bool),
        FieldType::Date => parse_date(v).map(Parsed::Date),
        FieldType::Datetime => parse_date_or_datetime(v).map(Parsed::Ts),
        FieldType::GeoPoint2d => parse_latlon_text(v)
            .map(|(lon, lat)| Parsed::Point(lon, lat))
            .or_else(|| match geometry_from_text(v).map(|g| validate_geometry(&g)) {
                Some(Ok(Some((lon, lat)))) if in_range(lon, lat) => Some(Parsed::Point(lon, lat)),
                _ => None,
            }),
        FieldType::GeoShape => match parse_latlon_text(v) {
            Some((lon, lat)) => Some(Parsed::Owned(point_json(lon, lat))),
            None => geometry_from_text(v).map(|g| Parsed::Owned(g.to_json())),
        },
    };
    parsed.ok_or_else(|| not_a(v, t))
}

/// Converts a typed value to type `t`.
pub(crate) fn parse_value(t: FieldType, v: &Value) -> Result<Parsed, String> {
    if is_null_value(v) {
        return Ok(Parsed::Null);
    }
    let fail = || not_a(&v.to_text(), t);
    match (t, v) {
        (_, Value::Str(s)) if t != FieldType::Text => parse_str(t, s, true),
        (FieldType::Text, Value::Str(_) | Value::Arr(_)) => Ok(Parsed::Raw),
        (FieldType::Text, other) => Ok(Parsed::Owned(other.to_text())),
        (FieldType::Int, Value::Int(i)) => Ok(Parsed::Int(*i)),
        (FieldType::Int, Value::Float(f))
            if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 =>
        {
            Ok(Parsed::Int(*f as i64))
        }
        (FieldType::Double, Value::Int(_) | Value::Float(_)) => {
            v.as_f64().map(Parsed::Float).ok_or_else(fail)
        }
        (FieldType::Boolean, Value::Bool(b)) => Ok(Parsed::Bool(*b)),
        (FieldType::Date, Value::Date(d)) => Ok(Parsed::Date(*d)),
        (FieldType::Date, Value::Ts(us)) if us.rem_euclid(86_400_000_000) == 0 => {
            i32::try_from(us.div_euclid(86_400_000_000)).map(Parsed::Date).map_err(|_| fail())
        }
        (FieldType::Datetime, Value::Date(d)) => Ok(Parsed::Ts(i64::from(*d) * 86_400_000_000)),
        (FieldType::Datetime, Value::Ts(us)) => Ok(Parsed::Ts(*us)),
        (FieldType::GeoPoint2d, Value::Arr(items)) => {
            latlon_pair(items).map(|(lon, lat)| Parsed::Point(lon, lat)).ok_or_else(fail)
        }
        (FieldType::GeoPoint2d, Value::Obj(_)) => match validate_geometry(v) {
            Ok(Some((lon, lat))) if in_range(lon, lat) => Ok(Parsed::Point(lon, lat)),
            _ => Err(fail()),
        },
        (FieldType::GeoShape, Value::Obj(_)) => match validate_geometry(v) {
            Ok(_) => Ok(Parsed::Owned(v.to_json())),
            Err(e) => Err(format!("{}: {e}", fail())),
        },
        (FieldType::GeoShape, Value::Arr(items)) => latlon_pair(items)
            .map(|(lon, lat)| Parsed::Owned(point_json(lon, lat)))
            .ok_or_else(fail),
        _ => Err(fail()),
    }
}

/// The number in a parsed int or double.
fn number(p: &Parsed) -> Option<f64> {
    match p {
        Parsed::Int(i) => Some(*i as f64),
        Parsed::Float(f) => Some(*f),
        _ => None,
    }
}

/// The point of a [`Source::LatLon`] column from the already parsed latitude and longitude.
pub(crate) fn derive_point(parsed: &[Parsed], lat: usize, lon: usize) -> Result<Parsed, String> {
    match (parsed.get(lat).and_then(number), parsed.get(lon).and_then(number)) {
        (Some(la), Some(lo)) if in_range(lo, la) => Ok(Parsed::Point(lo, la)),
        (Some(la), Some(lo)) => Err(format!("latitude {la}, longitude {lo} is out of range")),
        _ => Ok(Parsed::Null),
    }
}

/// Parses one row of a text source for every plan; `get(i)` is source column `i`. On error
/// returns the index of the failing plan and the reason.
#[inline]
pub(crate) fn parse_text_row<'a>(
    plans: &[Plan],
    get: impl Fn(usize) -> &'a str,
    decimal_comma: bool,
    out: &mut Vec<Parsed>,
) -> Result<(), (usize, String)> {
    out.clear();
    for (k, p) in plans.iter().enumerate() {
        let r = match p.source {
            Source::Col(i) => parse_str(p.ty(), get(i), decimal_comma),
            Source::LatLon { lat, lon } => derive_point(out, lat, lon),
        };
        out.push(r.map_err(|e| (k, e))?);
    }
    Ok(())
}

/// Parses one row of a typed source for every plan.
pub(crate) fn parse_value_row<'a>(
    plans: &[Plan],
    get: impl Fn(usize) -> &'a Value,
    out: &mut Vec<Parsed>,
) -> Result<(), (usize, String)> {
    out.clear();
    for (k, p) in plans.iter().enumerate() {
        let r = match p.source {
            Source::Col(i) => parse_value(p.ty(), get(i)),
            Source::LatLon { lat, lon } => derive_point(out, lat, lon),
        };
        out.push(r.map_err(|e| (k, e))?);
    }
    Ok(())
}

/// An Arrow builder for one output column.
enum ColBuilder {
    Text(StringBuilder),
    List(ListBuilder<StringBuilder>, String),
    Int(Int64Builder),
    Double(Float64Builder),
    Bool(BooleanBuilder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
    Point { lon: Vec<f64>, lat: Vec<f64>, valid: Vec<bool> },
}

impl ColBuilder {
    fn new(plan: &Plan) -> Self {
        match plan.ty() {
            FieldType::Text => {
                match &plan.sep {
                    Some(sep) => ColBuilder::List(
                        ListBuilder::new(StringBuilder::new())
                            .with_field(Arc::new(ArrowField::new("item", DataType::Utf8, true))),
                        sep.clone(),
                    ),
                    None => ColBuilder::Text(StringBuilder::new()),
                }
            }
            FieldType::GeoShape => ColBuilder::Text(StringBuilder::new()),
            FieldType::Int => ColBuilder::Int(Int64Builder::new()),
            FieldType::Double => ColBuilder::Double(Float64Builder::new()),
            FieldType::Boolean => ColBuilder::Bool(BooleanBuilder::new()),
            FieldType::Date => ColBuilder::Date(Date32Builder::new()),
            FieldType::Datetime => {
                ColBuilder::Ts(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
            }
            FieldType::GeoPoint2d => {
                ColBuilder::Point { lon: Vec::new(), lat: Vec::new(), valid: Vec::new() }
            }
        }
    }

    fn append_items(b: &mut ListBuilder<StringBuilder>, s: &str, sep: &str) {
        for item in s.split(sep) {
            let item = item.trim();
            if !item.is_empty() {
                b.values().append_value(item);
            }
        }
        b.append(true);
    }

    #[inline]
    fn append(&mut self, p: &Parsed, raw: Raw<'_>) {
        match (self, p) {
            (ColBuilder::Text(b), Parsed::Null) => b.append_null(),
            (ColBuilder::Text(b), Parsed::Owned(s)) => b.append_value(s),
            (ColBuilder::Text(b), Parsed::Raw) => match raw {
                Raw::Str(s) => b.append_value(s),
                Raw::Value(Value::Str(s)) => b.append_value(s),
                Raw::Value(v) => b.append_value(v.to_text()),
                Raw::None => b.append_null(),
            },
            (ColBuilder::List(b, _), Parsed::Null) => b.append(false),
            (ColBuilder::List(b, sep), Parsed::Owned(s)) => Self::append_items(b, s, sep),
            (ColBuilder::List(b, sep), Parsed::Raw) => match raw {
                Raw::Str(s) => Self::append_items(b, s, sep),
                Raw::Value(Value::Str(s)) => Self::append_items(b, s, sep),
                Raw::Value(Value::Arr(items)) => {
                    for i in items {
                        match i {
                            Value::Str(s) => b.values().append_value(s),
                            other => b.values().append_value(other.to_text()),
                        }
                    }
                    b.append(true);
                }
                Raw::Value(v) => Self::append_items(b, &v.to_text(), sep),
                Raw::None => b.append(false),
            },
            (ColBuilder::Int(b), Parsed::Int(i)) => b.append_value(*i),
            (ColBuilder::Double(b), Parsed::Float(f)) => b.append_value(*f),
            (ColBuilder::Double(b), Parsed::Int(i)) => b.append_value(*i as f64),
            (ColBuilder::Bool(b), Parsed::Bool(v)) => b.append_value(*v),
            (ColBuilder::Date(b), Parsed::Date(d)) => b.append_value(*d),
            (ColBuilder::Ts(b), Parsed::Ts(t)) => b.append_value(*t),
            (ColBuilder::Point { lon, lat, valid }, Parsed::Point(x, y)) => {
                lon.push(*x);
                lat.push(*y);
                valid.push(true);
            }
            (ColBuilder::Point { lon, lat, valid }, _) => {
                debug_assert_eq!(*p, Parsed::Null);
                lon.push(0.0);
                lat.push(0.0);
                valid.push(false);
            }
            (b, _) => {
                debug_assert_eq!(*p, Parsed::Null, "parsed value of the wrong type");
                b.append_null();
            }
        }
    }

    fn append_null(&mut self) {
        match self {
            ColBuilder::Text(b) => b.append_null(),
            ColBuilder::List(b, _) => b.append(false),
            ColBuilder::Int(b) => b.append_null(),
            ColBuilder::Double(b) => b.append_null(),
            ColBuilder::Bool(b) => b.append_null(),
            ColBuilder::Date(b) => b.append_null(),
            ColBuilder::Ts(b) => b.append_null(),
            ColBuilder::Point { lon, lat, valid } => {
                lon.push(0.0);
                lat.push(0.0);
                valid.push(false);
            }
        }
    }

    fn finish(&mut self) -> Result<ArrayRef, arrow::error::ArrowError> {
        Ok(match self {
            ColBuilder::Text(b) => Arc::new(b.finish()),
            ColBuilder::List(b, _) => Arc::new(b.finish()),
            ColBuilder::Int(b) => Arc::new(b.finish()),
            ColBuilder::Double(b) => Arc::new(b.finish()),
            ColBuilder::Bool(b) => Arc::new(b.finish()),
            ColBuilder::Date(b) => Arc::new(b.finish()),
            ColBuilder::Ts(b) => Arc::new(b.finish()),
            ColBuilder::Point { lon, lat, valid } => {
                let nulls = NullBuffer::from(std::mem::take(valid));
                let children: Vec<ArrayRef> = vec![
                    Arc::new(Float64Array::from(std::mem::take(lon))),
                    Arc::new(Float64Array::from(std::mem::take(lat))),
                ];
                Arc::new(StructArray::try_new(geo_point_fields(), children, Some(nulls))?)
            }
        })
    }
}

/// Removes the temporary output on drop unless the import succeeded.
struct TempFile {
    path: Option<PathBuf>,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Batches in flight between the parser and the Parquet writer thread.
const WRITER_QUEUE: usize = 2;

/// The Parquet writer, on its own thread when one could be started: the parser converts the
/// next batch on one core while the writer encodes and compresses the previous one on the
/// other. A write error ends the thread; the parser learns of it at its next batch.
enum BatchWriter {
    Inline(Option<Box<ArrowWriter<File>>>),
    Threaded {
        queue: Option<std::sync::mpsc::SyncSender<RecordBatch>>,
        thread: Option<std::thread::JoinHandle<Result<(), String>>>,
    },
}

impl BatchWriter {
    fn start(writer: ArrowWriter<File>) -> BatchWriter {
        let (queue, batches) = std::sync::mpsc::sync_channel::<RecordBatch>(WRITER_QUEUE);
        // The writer moves to the thread only if the thread starts; else it stays here.
        let slot = Arc::new(std::sync::Mutex::new(Some(writer)));
        let theirs = Arc::clone(&slot);
        let spawned =
            std::thread::Builder::new().name("kleber-parquet-writer".to_owned()).spawn(move || {
                let taken = theirs.lock().ok().and_then(|mut w| w.take());
                let Some(mut writer) = taken else {
                    return Err("the Parquet writer was not handed over".to_owned());
                };
                for batch in batches {
                    writer.write(&batch).map_err(|e| e.to_string())?;
                }
                writer.close().map(|_| ()).map_err(|e| e.to_string())
            });
        match spawned {
            Ok(thread) => BatchWriter::Threaded { queue: Some(queue), thread: Some(thread) },
            Err(_) => {
                let writer = slot.lock().ok().and_then(|mut w| w.take());
                match writer {
                    Some(writer) => BatchWriter::Inline(Some(Box::new(writer))),
                    // Unreachable in practice: the thread did not start, so it took nothing.
                    None => BatchWriter::Threaded { queue: None, thread: None },
                }
            }
        }
    }

    fn write(&mut self, batch: RecordBatch) -> Result<(), String> {
        match self {
            BatchWriter::Inline(Some(w)) => w.write(&batch).map_err(|e| e.to_string()),
            BatchWriter::Inline(None) => Err("the Parquet writer is already closed".to_owned()),
            BatchWriter::Threaded { queue, .. } => {
                let sent = queue.as_ref().map(|q| q.send(batch));
                match sent {
                    Some(Ok(())) => Ok(()),
                    // The thread stopped: its error says why.
                    _ => self.close(),
                }
            }
        }
    }

    /// Writes what is queued and the footer; the first error met, if any.
    fn close(&mut self) -> Result<(), String> {
        match self {
            BatchWriter::Inline(w) => match w.take() {
                Some(w) => w.close().map(|_| ()).map_err(|e| e.to_string()),
                None => Err("the Parquet writer is already closed".to_owned()),
            },
            BatchWriter::Threaded { queue, thread } => {
                drop(queue.take());
                match thread.take().map(std::thread::JoinHandle::join) {
                    None => Err("the Parquet writer is already closed".to_owned()),
                    Some(Ok(result)) => result,
                    Some(Err(_)) => Err("the Parquet writer thread failed".to_owned()),
                }
            }
        }
    }
}

impl Drop for BatchWriter {
    /// An abandoned import waits for its writer thread, so the temporary file is no longer
    /// written when it is removed.
    fn drop(&mut self) {
        if let BatchWriter::Threaded { queue, thread } = self {
            drop(queue.take());
            if let Some(thread) = thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// The Parquet output being written.
pub(crate) struct Output {
    builders: Vec<ColBuilder>,
    schema: SchemaRef,
    writer: BatchWriter,
    pending: usize,
    rows: u64,
    temp: TempFile,
    target: PathBuf,
    parsed: Vec<Parsed>,
    /// Technical names, for issues.
    names: Vec<String>,
}

impl Output {
    /// Creates the temporary output file for these plans.
    pub(crate) fn create(
        target: &Path,
        plans: &[Plan],
        row_group_size: usize,
    ) -> Result<Self, Error> {
        let fields: Vec<Field> = plans.iter().map(|p| p.field.clone()).collect();
        let schema =
            Arc::new(Schema::new(fields.iter().map(Field::arrow_field).collect::<Vec<_>>()));
        let fields_json = serde_json::to_string(&fields).map_err(|e| Error::Parquet {
            path: target.to_path_buf(),
            message: format!("cannot serialise the field list: {e}"),
        })?;
        // The stored layout (small pages with the page index, bounded dictionaries).
        let props = kleber_types::layout::writer_properties(
            &schema,
            row_group_size,
            Some(vec![KeyValue::new(FIELDS_METADATA_KEY.to_owned(), fields_json)]),
        );
        let file_name = target
            .file_name()
            .map_or_else(|| "output.parquet".to_owned(), |n| n.to_string_lossy().into_owned());
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let temp_path =
            target.with_file_name(format!(".{file_name}.{}-{seq}.partial", std::process::id()));
        let file = File::create(&temp_path).map_err(|e| Error::output(&temp_path, e))?;
        let temp = TempFile { path: Some(temp_path) };
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| Error::Parquet { path: target.to_path_buf(), message: e.to_string() })?;
        Ok(Output {
            builders: plans.iter().map(ColBuilder::new).collect(),
            schema,
            writer: BatchWriter::start(writer),
            pending: 0,
            rows: 0,
            temp,
            target: target.to_path_buf(),
            parsed: Vec::with_capacity(plans.len()),
            names: fields.into_iter().map(|f| f.name).collect(),
        })
    }

    /// Rows written so far.
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// Converts and appends one row of a text source, or describes why it is rejected.
    #[inline]
    pub(crate) fn push_text_row<'a>(
        &mut self,
        plans: &[Plan],
        get: impl Fn(usize) -> &'a str + Copy,
        decimal_comma: bool,
    ) -> Result<Result<(), RowIssue>, Error> {
        let mut parsed = std::mem::take(&mut self.parsed);
        let res = parse_text_row(plans, get, decimal_comma, &mut parsed);
        let out = match res {
            Ok(()) => {
                for ((b, p), plan) in self.builders.iter_mut().zip(&parsed).zip(plans) {
                    let raw = match plan.source {
                        Source::Col(i) => Raw::Str(get(i)),
                        Source::LatLon { .. } => Raw::None,
                    };
                    b.append(p, raw);
                }
                self.row_done().map(Ok)
            }
            Err((k, reason)) => Ok(Err(self.issue(plans, k, reason, |i| get(i).to_owned()))),
        };
        self.parsed = parsed;
        out
    }

    /// Converts and appends one row of a typed source, or describes why it is rejected.
    pub(crate) fn push_value_row<'a>(
        &mut self,
        plans: &[Plan],
        get: impl Fn(usize) -> &'a Value + Copy,
    ) -> Result<Result<(), RowIssue>, Error> {
        let mut parsed = std::mem::take(&mut self.parsed);
        let res = parse_value_row(plans, get, &mut parsed);
        let out = match res {
            Ok(()) => {
                for ((b, p), plan) in self.builders.iter_mut().zip(&parsed).zip(plans) {
                    let raw = match plan.source {
                        Source::Col(i) => Raw::Value(get(i)),
                        Source::LatLon { .. } => Raw::None,
                    };
                    b.append(p, raw);
                }
                self.row_done().map(Ok)
            }
            Err((k, reason)) => Ok(Err(self.issue(plans, k, reason, |i| get(i).to_text()))),
        };
        self.parsed = parsed;
        out
    }

    fn issue(
        &self,
        plans: &[Plan],
        k: usize,
        reason: String,
        text: impl Fn(usize) -> String,
    ) -> RowIssue {
        let value = match plans[k].source {
            Source::Col(i) => Some(shorten(&text(i), 1000)),
            Source::LatLon { .. } => None,
        };
        RowIssue {
            line: 0,
            location_kind: crate::LocationKind::Line,
            field: self.names.get(k).cloned(),
            value,
            reason,
        }
    }

    fn row_done(&mut self) -> Result<(), Error> {
        self.pending += 1;
        self.rows += 1;
        if self.pending >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn parquet_err(&self, e: impl std::fmt::Display) -> Error {
        Error::Parquet { path: self.target.clone(), message: e.to_string() }
    }

    fn flush(&mut self) -> Result<(), Error> {
        if self.pending == 0 {
            return Ok(());
        }
        let mut arrays = Vec::with_capacity(self.builders.len());
        let target = &self.target;
        for b in &mut self.builders {
            arrays.push(
                b.finish()
                    .map_err(|e| Error::Parquet { path: target.clone(), message: e.to_string() })?,
            );
        }
        let batch =
            RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| self.parquet_err(e))?;
        self.pending = 0;
        let res = self.writer.write(batch);
        res.map_err(|e| self.parquet_err(e))
    }

    /// Writes what is left, closes the file and moves it to its target path.
    pub(crate) fn finish(mut self) -> Result<(), Error> {
        self.flush()?;
        let closed = self.writer.close();
        closed.map_err(|e| self.parquet_err(e))?;
        if let Some(temp) = self.temp.path.take()
            && let Err(e) = std::fs::rename(&temp, &self.target)
        {
            let _ = std::fs::remove_file(&temp);
            return Err(Error::output(&self.target, e));
        }
        Ok(())
    }
}
