//! Per-value encoding: a [`RecordEncoder`] turns each column of a batch into a [`Col`] (the
//! array downcast once per batch) and then writes rows of values as JSON or CSV text.

use std::sync::Arc;

use arrow::array::{
    Array, AsArray, BooleanArray, Float16Array, LargeStringArray, StringArray, StringViewArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type, SchemaRef, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use kleber_types::{Field, GEO_LAT, GEO_LON};

use crate::columns::{ColumnKind, EncodeOptions, OutputColumn};
use crate::error::{Error, Result};
use crate::format;

mod cell;

pub(crate) use cell::Cell;

/// Display options of the fallback formatter (errors are rendered, never raised).
const DISPLAY_OPTIONS: FormatOptions<'static> = FormatOptions::new().with_display_error(true);

/// Encodes the records of Arrow batches whose columns match, by position, a list of
/// [`OutputColumn`]s. Cheap to share between the writers of one response; `Send + Sync`.
#[derive(Debug, Clone)]
pub struct RecordEncoder {
    columns: Vec<OutputColumn>,
    options: EncodeOptions,
    /// `"key":` of each column, escaped once.
    json_keys: Vec<Vec<u8>>,
}

impl RecordEncoder {
    /// An encoder of the given output columns.
    pub fn new(columns: Vec<OutputColumn>, options: EncodeOptions) -> Self {
        let json_keys = columns
            .iter()
            .map(|c| {
                let mut key = Vec::with_capacity(c.key.len() + 3);
                format::json_str(&mut key, &c.key);
                key.push(b':');
                key
            })
            .collect();
        RecordEncoder { columns, options, json_keys }
    }

    /// An encoder of whole stored records: one column per field, in order.
    pub fn for_fields(fields: &[Field], options: EncodeOptions) -> Self {
        RecordEncoder::new(fields.iter().map(OutputColumn::from_field).collect(), options)
    }

    /// The output columns.
    pub fn columns(&self) -> &[OutputColumn] {
        &self.columns
    }

    /// The encoding options.
    pub fn options(&self) -> &EncodeOptions {
        &self.options
    }

    /// Checks that batches of this schema can be encoded, before streaming starts (so that a
    /// mismatch becomes an error response rather than a truncated body).
    pub fn check_schema(&self, schema: &SchemaRef) -> Result<()> {
        let empty = RecordBatch::new_empty(Arc::clone(schema));
        self.prepare(&empty).map(|_| ())
    }

    /// Downcasts the columns of `batch` once, checking them against the output columns.
    pub(crate) fn prepare<'a>(&'a self, batch: &'a RecordBatch) -> Result<Prepared<'a>> {
        if batch.num_columns() != self.columns.len() {
            return Err(Error::ColumnCount {
                expected: self.columns.len(),
                found: batch.num_columns(),
            });
        }
        let cols = self
            .columns
            .iter()
            .zip(batch.columns())
            .map(|(column, array)| Col::new(array.as_ref(), column))
            .collect::<Result<Vec<_>>>()?;
        Ok(Prepared { encoder: self, cols, rows: batch.num_rows() })
    }

    /// Appends the JSON object of one record (`{"key": value, …}`, keys in column order).
    pub fn write_json_record(
        &self,
        batch: &RecordBatch,
        row: usize,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let prepared = self.prepare(batch)?;
        prepared.check_row(row)?;
        prepared.json_record(row, out);
        Ok(())
    }

    /// The JSON object of one record as a `serde_json::Value` (for single-record endpoints and
    /// tests; streaming paths use the writers). Key order follows the column order only if
    /// `serde_json`'s `preserve_order` feature is on; [`Self::write_json_record`] always keeps it.
    pub fn record_value(&self, batch: &RecordBatch, row: usize) -> Result<serde_json::Value> {
        let mut out = Vec::new();
        self.write_json_record(batch, row, &mut out)?;
        Ok(serde_json::from_slice(&out)?)
    }

    /// Every record of a batch as `serde_json::Value`s (see [`Self::record_value`]).
    pub fn batch_values(&self, batch: &RecordBatch) -> Result<Vec<serde_json::Value>> {
        let prepared = self.prepare(batch)?;
        let mut out = Vec::new();
        (0..prepared.rows)
            .map(|row| {
                out.clear();
                prepared.json_record(row, &mut out);
                Ok(serde_json::from_slice(&out)?)
            })
            .collect()
    }
}

/// A batch whose columns are downcast and ready to be written row by row.
pub(crate) struct Prepared<'a> {
    encoder: &'a RecordEncoder,
    cols: Vec<Col<'a>>,
    pub(crate) rows: usize,
}

/// What the CSV encoder needs besides the values.
pub(crate) struct CsvStyle<'a> {
    pub(crate) delimiter: u8,
    pub(crate) list_separator: &'a [u8],
    pub(crate) quote_all: bool,
    pub(crate) line_end: &'a [u8],
}

impl Prepared<'_> {
    fn check_row(&self, row: usize) -> Result<()> {
        if row < self.rows { Ok(()) } else { Err(Error::RowOutOfRange { row, rows: self.rows }) }
    }

    /// Appends the JSON object of `row` (`row < self.rows`).
    pub(crate) fn json_record(&self, row: usize, out: &mut Vec<u8>) {
        let options = &self.encoder.options;
        out.push(b'{');
        for (c, (col, key)) in self.cols.iter().zip(&self.encoder.json_keys).enumerate() {
            if c > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            col.json(row, out, options);
        }
        out.push(b'}');
    }

    /// Appends the CSV line of `row` (`row < self.rows`), line end included.
    pub(crate) fn csv_record(
        &self,
        row: usize,
        out: &mut Vec<u8>,
        scratch: &mut Vec<u8>,
        style: &CsvStyle<'_>,
    ) {
        let options = &self.encoder.options;
        for (c, col) in self.cols.iter().enumerate() {
            if c > 0 {
                out.push(style.delimiter);
            }
            col.csv_field(row, out, scratch, style, options);
        }
        out.extend_from_slice(style.line_end);
    }
}

/// A string column of any Arrow string layout.
#[derive(Clone, Copy)]
enum StrCol<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

impl<'a> StrCol<'a> {
    fn new(array: &'a dyn Array) -> Option<Self> {
        match array.data_type() {
            DataType::Utf8 => array.as_string_opt::<i32>().map(StrCol::Utf8),
            DataType::LargeUtf8 => array.as_string_opt::<i64>().map(StrCol::Large),
            DataType::Utf8View => array.as_string_view_opt().map(StrCol::View),
            _ => None,
        }
    }

    #[inline]
    fn value(self, i: usize) -> &'a str {
        match self {
            StrCol::Utf8(a) => a.value(i),
            StrCol::Large(a) => a.value(i),
            StrCol::View(a) => a.value(i),
        }
    }
}

/// Where each list value's elements are in the child array.
enum Offsets<'a> {
    Small(&'a [i32]),
    Large(&'a [i64]),
    Fixed(usize),
}

impl Offsets<'_> {
    /// The child range of list `i`, clamped to the child's length (valid arrays never need it).
    #[inline]
    fn range(&self, i: usize, child_len: usize) -> (usize, usize) {
        let (start, end) = match *self {
            Offsets::Small(o) => (
                o.get(i).map_or(0, |&v| usize::try_from(v).unwrap_or(0)),
                o.get(i + 1).map_or(0, |&v| usize::try_from(v).unwrap_or(0)),
            ),
            Offsets::Large(o) => (
                o.get(i).map_or(0, |&v| usize::try_from(v).unwrap_or(0)),
                o.get(i + 1).map_or(0, |&v| usize::try_from(v).unwrap_or(0)),
            ),
            Offsets::Fixed(size) => {
                let start = i.saturating_mul(size);
                (start, start.saturating_add(size))
            }
        };
        let end = end.min(child_len);
        (start.min(end), end)
    }
}

/// The typed view of one array.
enum Enc<'a> {
    /// All values null (Arrow `Null`).
    Null,
    Bool(&'a BooleanArray),
    I8(&'a [i8]),
    I16(&'a [i16]),
    I32(&'a [i32]),
    I64(&'a [i64]),
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    U64(&'a [u64]),
    F16(&'a Float16Array),
    F32(&'a [f32]),
    F64(&'a [f64]),
    Str(StrCol<'a>),
    Date32(&'a [i32]),
    Date64(&'a [i64]),
    /// Instants; `per_second` units in a second.
    Timestamp {
        values: &'a [i64],
        per_second: i64,
    },
    List {
        offsets: Offsets<'a>,
        child: Box<Col<'a>>,
        child_len: usize,
    },
    /// A plain struct: a JSON object with the children's names as keys.
    Struct {
        keys: Vec<Vec<u8>>,
        children: Vec<Col<'a>>,
    },
    /// Dictionary-encoded values; `keys` are indexes into `values`, in range.
    Dict {
        keys: Vec<usize>,
        values: Box<Col<'a>>,
    },
    /// Decimals, whose display text is a JSON number.
    Decimal(ArrayFormatter<'a>),
    /// Anything else Arrow can display: encoded as a string.
    Display(ArrayFormatter<'a>),
    GeoPoint {
        lon: Box<Col<'a>>,
        lat: Box<Col<'a>>,
    },
    GeoShape(StrCol<'a>),
    Json(StrCol<'a>),
}

/// One array, downcast, with its validity.
pub(crate) struct Col<'a> {
    nulls: Option<&'a NullBuffer>,
    enc: Enc<'a>,
}

/// Downcasts `array` to `$t`; the data type was matched just before, so `None` cannot happen,
/// but it is reported as a mismatch rather than unwrapped.
macro_rules! prim {
    ($array:expr, $t:ty, $column:expr) => {
        match $array.as_primitive_opt::<$t>() {
            Some(a) => &**a.values(),
            None => return Err(unsupported($column, $array)),
        }
    };
}

fn unsupported(column: &str, array: &dyn Array) -> Error {
    Error::UnsupportedType { column: column.to_owned(), data_type: array.data_type().clone() }
}

fn mismatch(column: &OutputColumn, array: &dyn Array) -> Error {
    Error::SchemaMismatch {
        column: column.key.clone(),
        kind: column.kind,
        data_type: array.data_type().clone(),
    }
}

impl<'a> Col<'a> {
    /// The view of an output column's array according to its kind.
    fn new(array: &'a dyn Array, column: &OutputColumn) -> Result<Self> {
        if matches!(array.data_type(), DataType::Null) {
            return Ok(Col { nulls: None, enc: Enc::Null });
        }
        match column.kind {
            ColumnKind::Plain => Col::plain(array, &column.key),
            ColumnKind::GeoShape => match StrCol::new(array) {
                Some(s) => Ok(Col { nulls: array.nulls(), enc: Enc::GeoShape(s) }),
                None => Err(mismatch(column, array)),
            },
            ColumnKind::Json => match StrCol::new(array) {
                Some(s) => Ok(Col { nulls: array.nulls(), enc: Enc::Json(s) }),
                None => Err(mismatch(column, array)),
            },
            ColumnKind::GeoPoint => {
                let Some(point) = array.as_struct_opt() else {
                    return Err(mismatch(column, array));
                };
                let child = |name: &str| -> Result<Box<Col<'a>>> {
                    let Some(child) = point.column_by_name(name) else {
                        return Err(mismatch(column, array));
                    };
                    let col = Col::plain(child.as_ref(), &column.key)?;
                    if col.is_numeric() { Ok(Box::new(col)) } else { Err(mismatch(column, array)) }
                };
                Ok(Col {
                    nulls: array.nulls(),
                    enc: Enc::GeoPoint { lon: child(GEO_LON)?, lat: child(GEO_LAT)? },
                })
            }
        }
    }

    /// The view of an array encoded from its Arrow type; `column` names errors.
    fn plain(array: &'a dyn Array, column: &str) -> Result<Self> {
        let enc = match array.data_type() {
            DataType::Null => Enc::Null,
            DataType::Boolean => match array.as_boolean_opt() {
                Some(a) => Enc::Bool(a),
                None => return Err(unsupported(column, array)),
            },
            DataType::Int8 => Enc::I8(prim!(array, Int8Type, column)),
            DataType::Int16 => Enc::I16(prim!(array, Int16Type, column)),
            DataType::Int32 => Enc::I32(prim!(array, Int32Type, column)),
            DataType::Int64 => Enc::I64(prim!(array, Int64Type, column)),
            DataType::UInt8 => Enc::U8(prim!(array, UInt8Type, column)),
            DataType::UInt16 => Enc::U16(prim!(array, UInt16Type, column)),
            DataType::UInt32 => Enc::U32(prim!(array, UInt32Type, column)),
            DataType::UInt64 => Enc::U64(prim!(array, UInt64Type, column)),
            DataType::Float16 => match array.as_primitive_opt::<Float16Type>() {
                Some(a) => Enc::F16(a),
                None => return Err(unsupported(column, array)),
            },
            DataType::Float32 => Enc::F32(prim!(array, Float32Type, column)),
            DataType::Float64 => Enc::F64(prim!(array, Float64Type, column)),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => match StrCol::new(array) {
                Some(s) => Enc::Str(s),
                None => return Err(unsupported(column, array)),
            },
            DataType::Date32 => Enc::Date32(prim!(array, Date32Type, column)),
            DataType::Date64 => Enc::Date64(prim!(array, Date64Type, column)),
            DataType::Timestamp(unit, _) => {
                let (values, per_second) = match unit {
                    TimeUnit::Second => (prim!(array, TimestampSecondType, column), 1),
                    TimeUnit::Millisecond => {
                        (prim!(array, TimestampMillisecondType, column), 1_000)
                    }
                    TimeUnit::Microsecond => {
                        (prim!(array, TimestampMicrosecondType, column), 1_000_000)
                    }
                    TimeUnit::Nanosecond => {
                        (prim!(array, TimestampNanosecondType, column), 1_000_000_000)
                    }
                };
                Enc::Timestamp { values, per_second }
            }
            DataType::List(_) => match array.as_list_opt::<i32>() {
                Some(list) => Enc::List {
                    offsets: Offsets::Small(list.offsets()),
                    child: Box::new(Col::plain(list.values().as_ref(), column)?),
                    child_len: list.values().len(),
                },
                None => return Err(unsupported(column, array)),
            },
            DataType::LargeList(_) => match array.as_list_opt::<i64>() {
                Some(list) => Enc::List {
                    offsets: Offsets::Large(list.offsets()),
                    child: Box::new(Col::plain(list.values().as_ref(), column)?),
                    child_len: list.values().len(),
                },
                None => return Err(unsupported(column, array)),
            },
            DataType::FixedSizeList(_, _) => match array.as_fixed_size_list_opt() {
                Some(list) => Enc::List {
                    offsets: Offsets::Fixed(usize::try_from(list.value_length()).unwrap_or(0)),
                    child: Box::new(Col::plain(list.values().as_ref(), column)?),
                    child_len: list.values().len(),
                },
                None => return Err(unsupported(column, array)),
            },
            DataType::Struct(fields) => match array.as_struct_opt() {
                Some(s) => Enc::Struct {
                    keys: fields
                        .iter()
                        .map(|f| {
                            let mut key = Vec::with_capacity(f.name().len() + 3);
                            format::json_str(&mut key, f.name());
                            key.push(b':');
                            key
                        })
                        .collect(),
                    children: s
                        .columns()
                        .iter()
                        .map(|c| Col::plain(c.as_ref(), column))
                        .collect::<Result<_>>()?,
                },
                None => return Err(unsupported(column, array)),
            },
            DataType::Dictionary(_, _) => match array.as_any_dictionary_opt() {
                Some(dict) => {
                    let values = dict.values();
                    // `normalized_keys` panics on empty values; then every key is null anyway.
                    let keys = if values.is_empty() { Vec::new() } else { dict.normalized_keys() };
                    Enc::Dict { keys, values: Box::new(Col::plain(values.as_ref(), column)?) }
                }
                None => return Err(unsupported(column, array)),
            },
            DataType::Decimal32(_, _)
            | DataType::Decimal64(_, _)
            | DataType::Decimal128(_, _)
            | DataType::Decimal256(_, _) => Enc::Decimal(
                ArrayFormatter::try_new(array, &DISPLAY_OPTIONS)
                    .map_err(|_| unsupported(column, array))?,
            ),
            _ => Enc::Display(
                ArrayFormatter::try_new(array, &DISPLAY_OPTIONS)
                    .map_err(|_| unsupported(column, array))?,
            ),
        };
        Ok(Col { nulls: array.nulls(), enc })
    }

    fn is_numeric(&self) -> bool {
        matches!(
            self.enc,
            Enc::Null
                | Enc::I8(_)
                | Enc::I16(_)
                | Enc::I32(_)
                | Enc::I64(_)
                | Enc::U8(_)
                | Enc::U16(_)
                | Enc::U32(_)
                | Enc::U64(_)
                | Enc::F16(_)
                | Enc::F32(_)
                | Enc::F64(_)
        )
    }

    #[inline]
    fn is_null(&self, i: usize) -> bool {
        match self.nulls {
            Some(nulls) => nulls.is_null(i),
            None => matches!(self.enc, Enc::Null),
        }
    }

    /// Value `i` as a finite `f64`, if this is a non-null number.
    fn f64_at(&self, i: usize) -> Option<f64> {
        if self.is_null(i) {
            return None;
        }
        let v = match &self.enc {
            Enc::I8(v) => f64::from(v[i]),
            Enc::I16(v) => f64::from(v[i]),
            Enc::I32(v) => f64::from(v[i]),
            Enc::I64(v) => v[i] as f64,
            Enc::U8(v) => f64::from(v[i]),
            Enc::U16(v) => f64::from(v[i]),
            Enc::U32(v) => f64::from(v[i]),
            Enc::U64(v) => v[i] as f64,
            Enc::F16(a) => f64::from(a.value(i)),
            Enc::F32(v) => f64::from(v[i]),
            Enc::F64(v) => v[i],
            _ => return None,
        };
        v.is_finite().then_some(v)
    }

    /// Appends the JSON value of row `i` (`i` < the array's length).
    fn json(&self, i: usize, out: &mut Vec<u8>, options: &EncodeOptions) {
        if self.is_null(i) {
            out.extend_from_slice(b"null");
            return;
        }
        let written = match &self.enc {
            Enc::Null => false,
            Enc::Bool(a) => {
                out.extend_from_slice(if a.value(i) { b"true" } else { b"false" });
                true
            }
            Enc::I8(v) => int(out, v[i]),
            Enc::I16(v) => int(out, v[i]),
            Enc::I32(v) => int(out, v[i]),
            Enc::I64(v) => int(out, v[i]),
            Enc::U8(v) => int(out, v[i]),
            Enc::U16(v) => int(out, v[i]),
            Enc::U32(v) => int(out, v[i]),
            Enc::U64(v) => int(out, v[i]),
            Enc::F16(a) => format::f32_num(out, f32::from(a.value(i))),
            Enc::F32(v) => format::f32_num(out, v[i]),
            Enc::F64(v) => format::f64_num(out, v[i]),
            Enc::Str(s) => {
                format::json_str(out, s.value(i));
                true
            }
            Enc::Date32(_) | Enc::Date64(_) | Enc::Timestamp { .. } => {
                out.push(b'"');
                self.temporal(i, out, options);
                out.push(b'"');
                true
            }
            Enc::List { offsets, child, child_len } => {
                let (start, end) = offsets.range(i, *child_len);
                out.push(b'[');
                for j in start..end {
                    if j > start {
                        out.push(b',');
                    }
                    child.json(j, out, options);
                }
                out.push(b']');
                true
            }
            Enc::Struct { keys, children } => {
                out.push(b'{');
                for (c, (key, child)) in keys.iter().zip(children).enumerate() {
                    if c > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(key);
                    child.json(i, out, options);
                }
                out.push(b'}');
                true
            }
            Enc::Dict { keys, values } => match keys.get(i) {
                Some(&k) => {
                    values.json(k, out, options);
                    true
                }
                None => false,
            },
            Enc::Decimal(f) => match display(f, i) {
                Some(text) if format::is_json_number(&text) => {
                    out.extend_from_slice(text.as_bytes());
                    true
                }
                Some(text) => {
                    format::json_str(out, &text);
                    true
                }
                None => false,
            },
            Enc::Display(f) => match display(f, i) {
                Some(text) => {
                    format::json_str(out, &text);
                    true
                }
                None => false,
            },
            Enc::GeoPoint { lon, lat } => match (lon.f64_at(i), lat.f64_at(i)) {
                (Some(lon), Some(lat)) => {
                    out.extend_from_slice(b"{\"lon\":");
                    format::f64_num(out, lon);
                    out.extend_from_slice(b",\"lat\":");
                    format::f64_num(out, lat);
                    out.push(b'}');
                    true
                }
                _ => false,
            },
            Enc::GeoShape(s) => match geometry(s.value(i)) {
                Some(geometry) => {
                    out.extend_from_slice(b"{\"type\":\"Feature\",\"geometry\":");
                    raw_json_one_line(out, geometry);
                    out.extend_from_slice(b",\"properties\":{}}");
                    true
                }
                None => false,
            },
            Enc::Json(s) => {
                let text = s.value(i);
                if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
                    raw_json_one_line(out, text.trim());
                } else {
                    format::json_str(out, text);
                }
                true
            }
        };
        if !written {
            out.extend_from_slice(b"null");
        }
    }

    /// Appends the text of a date or instant, unquoted.
    fn temporal(&self, i: usize, out: &mut Vec<u8>, options: &EncodeOptions) {
        match &self.enc {
            Enc::Date32(v) => format::date(out, i64::from(v[i])),
            Enc::Date64(v) => format::date(out, v[i].div_euclid(86_400_000)),
            Enc::Timestamp { values, per_second } => {
                let (secs, nanos) = format::split_timestamp(values[i], *per_second);
                format::instant(out, secs, nanos, options.offset_at(secs));
            }
            _ => {}
        }
    }

    /// Appends the unquoted CSV text of row `i`: `None` (and nothing appended) for null,
    /// otherwise whether the value is text (quoted under `quote_all`) rather than a number or
    /// boolean.
    fn csv_text(
        &self,
        i: usize,
        out: &mut Vec<u8>,
        style: &CsvStyle<'_>,
        options: &EncodeOptions,
    ) -> Option<bool> {
        if self.is_null(i) {
            return None;
        }
        match &self.enc {
            Enc::Null => None,
            Enc::Bool(a) => {
                out.extend_from_slice(if a.value(i) { b"true" } else { b"false" });
                Some(false)
            }
            Enc::I8(v) => int(out, v[i]).then_some(false),
            Enc::I16(v) => int(out, v[i]).then_some(false),
            Enc::I32(v) => int(out, v[i]).then_some(false),
            Enc::I64(v) => int(out, v[i]).then_some(false),
            Enc::U8(v) => int(out, v[i]).then_some(false),
            Enc::U16(v) => int(out, v[i]).then_some(false),
            Enc::U32(v) => int(out, v[i]).then_some(false),
            Enc::U64(v) => int(out, v[i]).then_some(false),
            Enc::F16(a) => format::f32_num(out, f32::from(a.value(i))).then_some(false),
            Enc::F32(v) => format::f32_num(out, v[i]).then_some(false),
            Enc::F64(v) => format::f64_num(out, v[i]).then_some(false),
            Enc::Str(s) => {
                out.extend_from_slice(s.value(i).as_bytes());
                Some(true)
            }
            Enc::Date32(_) | Enc::Date64(_) | Enc::Timestamp { .. } => {
                self.temporal(i, out, options);
                Some(true)
            }
            Enc::List { offsets, child, child_len } => {
                let (start, end) = offsets.range(i, *child_len);
                for j in start..end {
                    if j > start {
                        out.extend_from_slice(style.list_separator);
                    }
                    child.csv_text(j, out, style, options);
                }
                Some(true)
            }
            Enc::Struct { .. } => {
                self.json(i, out, options);
                Some(true)
            }
            Enc::Dict { keys, values } => {
                keys.get(i).and_then(|&k| values.csv_text(k, out, style, options))
            }
            Enc::Decimal(f) => display(f, i).map(|text| {
                out.extend_from_slice(text.as_bytes());
                false
            }),
            Enc::Display(f) => display(f, i).map(|text| {
                out.extend_from_slice(text.as_bytes());
                true
            }),
            Enc::GeoPoint { lon, lat } => match (lon.f64_at(i), lat.f64_at(i)) {
                (Some(lon), Some(lat)) => {
                    format::f64_num(out, lat);
                    out.extend_from_slice(b", ");
                    format::f64_num(out, lon);
                    Some(true)
                }
                _ => None,
            },
            Enc::GeoShape(s) => geometry(s.value(i)).map(|geometry| {
                out.extend_from_slice(geometry.as_bytes());
                true
            }),
            Enc::Json(s) => {
                out.extend_from_slice(s.value(i).as_bytes());
                Some(true)
            }
        }
    }

    /// Appends the CSV field of row `i`, quoted as needed; `scratch` is reusable space.
    fn csv_field(
        &self,
        i: usize,
        out: &mut Vec<u8>,
        scratch: &mut Vec<u8>,
        style: &CsvStyle<'_>,
        options: &EncodeOptions,
    ) {
        // Strings, the common case, are quoted straight from the array.
        if let Enc::Str(s) = &self.enc {
            if !self.is_null(i) {
                format::csv_field(out, s.value(i).as_bytes(), style.delimiter, style.quote_all);
            }
            return;
        }
        scratch.clear();
        if let Some(textual) = self.csv_text(i, scratch, style, options) {
            format::csv_field(out, scratch, style.delimiter, textual && style.quote_all);
        }
    }
}

/// Appends an integer; always `true` (a value was written).
#[inline]
fn int<I: itoa::Integer>(out: &mut Vec<u8>, v: I) -> bool {
    format::int(out, v);
    true
}

/// The display text of value `i`, or `None` if Arrow cannot format it.
fn display(formatter: &ArrayFormatter<'_>, i: usize) -> Option<String> {
    let mut text = String::new();
    formatter.value(i).write(&mut text).ok().map(|()| text)
}

/// The stored geometry text, trimmed, if it is a JSON object; `None` for empty or invalid text
/// (which is then encoded as null rather than breaking the output's JSON).
fn geometry(text: &str) -> Option<&str> {
    let trimmed = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    if !trimmed.starts_with('{') {
        return None;
    }
    serde_json::from_str::<serde::de::IgnoredAny>(trimmed).ok()?;
    Some(trimmed)
}

/// Appends valid JSON text verbatim, except that CR and LF (which, in valid JSON, can only be
/// whitespace between tokens) become spaces so that JSON Lines stay one record per line.
pub(crate) fn raw_json_one_line(out: &mut Vec<u8>, json: &str) {
    let start = out.len();
    out.extend_from_slice(json.as_bytes());
    if json.bytes().any(|b| b == b'\n' || b == b'\r') {
        for b in &mut out[start..] {
            if *b == b'\n' || *b == b'\r' {
                *b = b' ';
            }
        }
    }
}
