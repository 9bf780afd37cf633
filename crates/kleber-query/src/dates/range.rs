//! `range()`: the group of a number, date or datetime among static ranges or equal-width
//! buckets.
//!
//! * Static ranges, `range(f, *, 10, 50, 100, *)`: bounds are lower-inclusive and
//!   upper-exclusive; the key is text, `[*, 10[`, `[10, 50[`, `[50, 100[`, `[100, *[`. Without
//!   a leading (trailing) `*`, values below the first (from the last) bound have no range: their
//!   key is null, like the key of a null value, and a `group_by` drops such rows (see
//!   [`super::range_group_filter`]). Bounds of dates are date literals or strings
//!   (`range(d, *, date'2020-11-13', '2021-01-01', *)`), read in the request's time zone.
//!   Number bounds print as integers when whole (`10`), else in full (`2.5`); datetime bounds
//!   print as ISO 8601 in the time zone (`2020-11-13T00:00:00+01:00`); bounds on a `date` field
//!   print as dates (`2020-11-13`).
//! * Equal-width numbers, `range(f, 5)`: the key is the bucket's lower bound, `floor(f / 5) * 5`,
//!   an integer when the field is an integer and the width whole, else a decimal number.
//! * Equal-width dates, `range(d, 1 day)`: buckets follow the wall clock of the time zone. The
//!   key is the bucket's start as text: ISO 8601 with offset for a datetime
//!   (`2021-03-01T00:00:00+01:00`), `YYYY-MM-DD` for a date. Units: millisecond, second, minute,
//!   hour (any positive width, decimals allowed: `1.5h`), day (a whole number of days, counted
//!   from 1970-01-01), and week (Monday), month, quarter, year (width 1 only). A `date` field
//!   takes day and longer units only.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Builder, Int64Builder, StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::{Result as DfResult, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ExprSchemable, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use kleber_odsql::{Arg, Expr as Ast, ExprKind, Literal, Span};

use super::local::{
    MICROS_PER_DAY, Temporal, date_of_days, days_of_date, instant_of_local, iso_date, iso_instant,
    local_of_instant, offset_at, start_of_day,
};
use crate::error::Result;
use crate::lower::Scope;

/// The name every `range()` UDF has, so that a `group_by` can recognise them.
pub(crate) const UDF_NAME: &str = "kleber_range";

/// Lowers `range(target, ...)`.
pub(crate) fn lower(
    scope: &Scope<'_>,
    name_span: Span,
    args: &[Arg],
    distinct: bool,
) -> Result<Expr> {
    const USAGE: &str = "range() takes a field and either bounds, e.g. range(population, *, 1000, 10000, *), or a width, e.g. range(population, 500) or range(date, 1 month)";
    if distinct {
        return Err(scope.err(format!("{USAGE}; it does not take `distinct`."), name_span));
    }
    let (Some(Arg::Expr(target_ast)), rest) = (args.first(), args.get(1..).unwrap_or(&[])) else {
        return Err(scope.err(format!("{USAGE}."), name_span));
    };
    if rest.is_empty() {
        return Err(scope.err(format!("{USAGE}."), name_span));
    }
    let target = scope.lower(target_ast)?;
    let target_type = target.get_type(scope.schema)?;
    let kind = if target_type.is_numeric() {
        Kind::Number { integer: target_type.is_integer() }
    } else if target_type == DataType::Date32 || target_type == DataType::Date64 {
        Kind::Date
    } else if matches!(target_type, DataType::Timestamp(_, _)) {
        Kind::Datetime
    } else {
        return Err(scope.err(
            format!(
                "range() groups numbers, dates and datetimes, not values of type {target_type}."
            ),
            target_ast.span,
        ));
    };
    // A single argument after the target that is not `*` is a width.
    if let [Arg::Expr(width)] = rest {
        let udf = bucket_udf(scope, kind, width)?;
        return Ok(Arc::new(ScalarUDF::new_from_impl(udf)).call(vec![target]));
    }
    let udf = static_udf(scope, kind, rest)?;
    Ok(Arc::new(ScalarUDF::new_from_impl(udf)).call(vec![target]))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Number { integer: bool },
    Date,
    Datetime,
}

// ----- static ranges -----

/// Sorted bounds, in the domain of the grouped values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Bounds {
    /// Numbers (as `f64` bits).
    Number(Vec<u64>),
    /// Instants in UTC microseconds.
    Micros(Vec<i64>),
    /// Dates as days since 1970-01-01.
    Days(Vec<i64>),
}

fn number_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

fn static_udf(scope: &Scope<'_>, kind: Kind, rest: &[Arg]) -> Result<StaticRangeUdf> {
    let open_low = matches!(rest.first(), Some(Arg::Star(_)));
    let open_high = rest.len() > 1 && matches!(rest.last(), Some(Arg::Star(_)));
    let inner = &rest[usize::from(open_low)..rest.len() - usize::from(open_high)];
    let mut asts: Vec<&Ast> = Vec::with_capacity(inner.len());
    for arg in inner {
        match arg {
            Arg::Expr(e) => asts.push(e),
            Arg::Star(span) => {
                return Err(scope.err(
                    "`*` is only allowed as the first or last bound of range(), to keep the values below the first bound or from the last one.",
                    *span,
                ));
            }
            Arg::Named { span, .. } => {
                return Err(scope.err("range() takes no named argument.", *span));
            }
        }
    }
    let Some(first) = asts.first() else {
        return Err(scope.err(
            "range() needs at least one bound between its `*`, e.g. range(population, *, 1000, *).",
            rest[0].span(),
        ));
    };
    if asts.len() == 1 && !open_low && !open_high {
        return Err(scope.err("range() with one bound needs a `*` before or after it.", first.span));
    }
    let tz = scope.tz;
    let (bounds, texts): (Bounds, Vec<String>) = match kind {
        Kind::Number { .. } => {
            let mut values = Vec::with_capacity(asts.len());
            for a in &asts {
                let Some(v) = a.as_number().filter(|v| v.is_finite()) else {
                    return Err(scope.err(
                        "range() bounds on numbers must be numbers, e.g. range(population, *, 1000, 10000, *).",
                        a.span,
                    ));
                };
                values.push(v);
            }
            let texts = values.iter().map(|v| number_text(*v)).collect();
            let bits = values.iter().map(|v| v.to_bits()).collect();
            check_sorted(scope, &values, &asts)?;
            (Bounds::Number(bits), texts)
        }
        Kind::Date | Kind::Datetime => {
            let mut micros = Vec::with_capacity(asts.len());
            for a in &asts {
                let ExprKind::Literal(Literal::Date(text) | Literal::String(text)) = &a.kind else {
                    return Err(scope.err(
                        "range() bounds on dates must be dates, e.g. range(date, *, date'2020-01-01', date'2021-01-01', *).",
                        a.span,
                    ));
                };
                let Some(m) = super::parse_date_in_tz(text, tz) else {
                    return Err(scope.err(
                        format!("invalid date '{text}': use YYYY, YYYY-MM, YYYY-MM-DD or an ISO 8601 datetime such as 2024-05-01T08:00:00+02:00."),
                        a.span,
                    ));
                };
                micros.push(m);
            }
            if kind == Kind::Date {
                // A date is in [a, b[ when its midnight is: bounds become the first day whose
                // midnight is not before them.
                let mut days = Vec::with_capacity(micros.len());
                for (m, a) in micros.iter().zip(&asts) {
                    let Some(local) = local_of_instant(tz, *m) else {
                        return Err(scope.err("date out of range.", a.span));
                    };
                    let mut day = i64::from(days_of_date(local.date()));
                    if local.time() != chrono::NaiveTime::MIN {
                        day += 1;
                    }
                    days.push(day);
                }
                check_sorted(scope, &days, &asts)?;
                let texts = days
                    .iter()
                    .map(|d| {
                        i32::try_from(*d)
                            .ok()
                            .and_then(date_of_days)
                            .map_or_else(String::new, iso_date)
                    })
                    .collect();
                (Bounds::Days(days), texts)
            } else {
                check_sorted(scope, &micros, &asts)?;
                let texts = micros.iter().map(|m| iso_instant(tz, *m)).collect();
                (Bounds::Micros(micros), texts)
            }
        }
    };
    let n = texts.len();
    let mut keys: Vec<Option<String>> = Vec::with_capacity(n + 1);
    keys.push(open_low.then(|| format!("[*, {}[", texts[0])));
    for pair in texts.windows(2) {
        keys.push(Some(format!("[{}, {}[", pair[0], pair[1])));
    }
    keys.push(open_high.then(|| format!("[{}, *[", texts[n - 1])));
    let mut label: Vec<String> = Vec::new();
    if open_low {
        label.push("*".to_owned());
    }
    label.extend(texts);
    if open_high {
        label.push("*".to_owned());
    }
    Ok(StaticRangeUdf {
        label: label.join(", "),
        bounds,
        keys,
        signature: Signature::any(1, Volatility::Immutable),
    })
}

fn check_sorted<T: PartialOrd>(scope: &Scope<'_>, values: &[T], asts: &[&Ast]) -> Result<()> {
    for (i, pair) in values.windows(2).enumerate() {
        if pair[0] >= pair[1] {
            return Err(scope.err(
                "range() bounds must be in increasing order, each greater than the one before.",
                asts[i + 1].span,
            ));
        }
    }
    Ok(())
}

/// Static ranges: `Utf8` keys, null outside the ranges.
#[derive(Debug, PartialEq, Eq, Hash)]
struct StaticRangeUdf {
    label: String,
    bounds: Bounds,
    /// `keys[i]` is the key of values with `i` bounds at or below them.
    keys: Vec<Option<String>>,
    signature: Signature,
}

impl ScalarUDFImpl for StaticRangeUdf {
    fn name(&self) -> &str {
        UDF_NAME
    }

    fn schema_name(&self, args: &[Expr]) -> DfResult<String> {
        let arg = args.first().map(|a| a.schema_name().to_string()).unwrap_or_default();
        Ok(format!("range({arg}, {})", self.label))
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let array = args.args[0].to_array(args.number_rows)?;
        let len = array.len();
        let mut out = StringBuilder::with_capacity(len, len * 12);
        let mut push = |slot: Option<usize>| match slot.and_then(|i| self.keys[i].as_deref()) {
            Some(key) => out.append_value(key),
            None => out.append_null(),
        };
        match &self.bounds {
            Bounds::Number(bits) => {
                let values = cast(&array, &DataType::Float64)?;
                let values = values.as_primitive::<Float64Type>();
                for i in 0..len {
                    let v = values.value(i);
                    if values.is_null(i) || v.is_nan() {
                        push(None);
                    } else {
                        push(Some(bits.partition_point(|b| f64::from_bits(*b) <= v)));
                    }
                }
            }
            Bounds::Micros(bounds) => {
                let Temporal::Micros(values) = Temporal::new(&array)? else {
                    return exec_err!("range() over datetimes got {}", array.data_type());
                };
                for i in 0..len {
                    let v = values.value(i);
                    push(values.is_valid(i).then(|| bounds.partition_point(|b| *b <= v)));
                }
            }
            Bounds::Days(bounds) => {
                let Temporal::Days(values) = Temporal::new(&array)? else {
                    return exec_err!("range() over dates got {}", array.data_type());
                };
                for i in 0..len {
                    let v = i64::from(values.value(i));
                    push(values.is_valid(i).then(|| bounds.partition_point(|b| *b <= v)));
                }
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// When `group` (a lowered `group_by` item) is a static `range()`, the order of its groups:
/// an expression over `key` (the group's key column) giving each key the position of its range,
/// so that `[50, 100[` comes before `[100, *[`, which their text would not.
pub(crate) fn static_range_order(group: &Expr, key: Expr) -> Option<Expr> {
    let mut e = group;
    while let Expr::Alias(alias) = e {
        e = &alias.expr;
    }
    let Expr::ScalarFunction(f) = e else { return None };
    let ranges = f.func.inner().downcast_ref::<StaticRangeUdf>()?;
    let order = RangeOrderUdf {
        keys: ranges.keys.iter().flatten().cloned().collect(),
        signature: Signature::any(1, Volatility::Immutable),
    };
    Some(Arc::new(ScalarUDF::new_from_impl(order)).call(vec![key]))
}

/// The position of a static range's key among its ranges (null for any other text).
#[derive(Debug, PartialEq, Eq, Hash)]
struct RangeOrderUdf {
    keys: Vec<String>,
    signature: Signature,
}

impl ScalarUDFImpl for RangeOrderUdf {
    fn name(&self) -> &str {
        "kleber_range_order"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let array = cast(&args.args[0].to_array(args.number_rows)?, &DataType::Utf8)?;
        let text = array.as_string::<i32>();
        let mut out = Int64Builder::with_capacity(text.len());
        for i in 0..text.len() {
            let position = text
                .is_valid(i)
                .then(|| self.keys.iter().position(|k| k == text.value(i)))
                .flatten()
                .and_then(|p| i64::try_from(p).ok());
            out.append_option(position);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

// ----- equal-width buckets -----

/// The width of equal-width buckets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Width {
    /// Integers by an integer width.
    Int(i64),
    /// Numbers by a width (`f64` bits).
    Float(u64),
    /// Instants by a fixed duration, in microseconds, on the wall clock.
    Fixed(i64),
    /// Days (count of days).
    Days(i64),
    Week,
    Month,
    Quarter,
    Year,
}

fn bucket_udf(scope: &Scope<'_>, kind: Kind, width: &Ast) -> Result<BucketUdf> {
    let interval = match &width.kind {
        ExprKind::Call { name, args, .. } if name == "interval" => {
            let value = args.first().and_then(Arg::as_expr).and_then(Ast::as_number);
            let unit = args.get(1).and_then(Arg::as_expr).and_then(Ast::as_str);
            match (value, unit) {
                (Some(v), Some(u)) => Some((v, u.to_owned())),
                _ => return Err(scope.err("range() width is a number and a unit.", width.span)),
            }
        }
        _ => None,
    };
    let (label, w) = match (kind, interval) {
        (Kind::Number { integer }, None) => {
            let Some(v) = width.as_number() else {
                return Err(scope.err(
                    "range() takes bounds after `*` or a width; the width of number buckets is a number, e.g. range(population, 1000).",
                    width.span,
                ));
            };
            if !(v > 0.0 && v.is_finite()) {
                return Err(scope.err("range() width must be greater than 0.", width.span));
            }
            let w = match width.as_integer() {
                Some(i) if integer => Width::Int(i),
                _ => Width::Float(v.to_bits()),
            };
            (number_text(v), w)
        }
        (Kind::Number { .. }, Some(_)) => {
            return Err(scope.err(
                "a width with a time unit is for dates; the width of number buckets is a number, e.g. range(population, 1000).",
                width.span,
            ));
        }
        (Kind::Date | Kind::Datetime, None) => {
            return Err(scope.err(
                "range() over dates takes a width with a unit, e.g. range(date, 1 day), range(date, 1 month), or bounds, e.g. range(date, *, date'2020-01-01', *).",
                width.span,
            ));
        }
        (Kind::Date | Kind::Datetime, Some((v, unit))) => {
            if !(v > 0.0 && v.is_finite()) {
                return Err(scope.err("range() width must be greater than 0.", width.span));
            }
            let fixed = match unit.as_str() {
                "millisecond" => Some(1_000.0),
                "second" => Some(1_000_000.0),
                "minute" => Some(60_000_000.0),
                "hour" => Some(3_600_000_000.0),
                _ => None,
            };
            let w = if let Some(unit_micros) = fixed {
                if kind == Kind::Date {
                    return Err(scope.err(
                        format!("a date field has no {unit}s; group it by day, week, month, quarter or year, e.g. range(date, 1 day)."),
                        width.span,
                    ));
                }
                let micros = (v * unit_micros).round();
                if !(1.0..=1e17).contains(&micros) {
                    return Err(scope.err("range() width is out of range.", width.span));
                }
                Width::Fixed(micros as i64)
            } else if unit == "day" {
                if v.fract() != 0.0 || v > 1e7 {
                    return Err(scope.err(
                        "range() width in days must be a whole number of days, e.g. range(date, 7 days).",
                        width.span,
                    ));
                }
                Width::Days(v as i64)
            } else {
                if v != 1.0 {
                    return Err(scope.err(
                        format!("range() groups by 1 {unit} only; use range(date, 1 {unit})."),
                        width.span,
                    ));
                }
                match unit.as_str() {
                    "week" => Width::Week,
                    "month" => Width::Month,
                    "quarter" => Width::Quarter,
                    "year" => Width::Year,
                    other => {
                        return Err(scope.err(format!("unknown time unit {other}."), width.span));
                    }
                }
            };
            (format!("{} {unit}", number_text(v)), w)
        }
    };
    Ok(BucketUdf {
        label,
        width: w,
        tz: scope.tz,
        signature: Signature::any(1, Volatility::Immutable),
    })
}

/// Equal-width buckets: the lower bound of each value's bucket.
#[derive(Debug, PartialEq, Eq, Hash)]
struct BucketUdf {
    label: String,
    width: Width,
    tz: Tz,
    signature: Signature,
}

/// The lower bound of the bucket of width `w` holding `v`, free of binary noise: `0.3` is in
/// the bucket `0.3` of width `0.1` (not `0.2`, as `floor(0.3 / 0.1)` would say), and the bound
/// has no more decimals than the width (`0.3`, not `0.30000000000000004`).
fn float_bucket(v: f64, w: f64) -> f64 {
    let q = v / w;
    let nearest = q.round();
    let k = if (q - nearest).abs() <= 1e-9 * nearest.abs().max(1.0) { nearest } else { q.floor() };
    let decimals = format!("{w}").split_once('.').map_or(0, |(_, f)| f.len()).min(15);
    let scale = 10f64.powi(decimals as i32);
    let key = k * w;
    let rounded = (key * scale).round() / scale;
    if rounded.is_finite() { rounded } else { key }
}

/// The first day of the calendar bucket of `d`.
fn calendar_start(width: &Width, d: NaiveDate) -> Option<NaiveDate> {
    match width {
        Width::Days(n) => {
            let days = i64::from(days_of_date(d));
            date_of_days(i32::try_from(days - days.rem_euclid(*n)).ok()?)
        }
        Width::Week => {
            d.checked_sub_signed(chrono::TimeDelta::days(d.weekday().num_days_from_monday().into()))
        }
        Width::Month => d.with_day(1),
        Width::Quarter => NaiveDate::from_ymd_opt(d.year(), d.month0() / 3 * 3 + 1, 1),
        Width::Year => NaiveDate::from_ymd_opt(d.year(), 1, 1),
        Width::Int(_) | Width::Float(_) | Width::Fixed(_) => Some(d),
    }
}

/// The instant starting the fixed-width bucket of `micros`, aligned on the wall clock of `tz`.
fn fixed_start(tz: Tz, micros: i64, step: i64) -> Option<i64> {
    let offset = i64::from(offset_at(tz, micros)) * 1_000_000;
    let local = micros.checked_add(offset)?;
    let start_local = local - local.rem_euclid(step);
    let candidate = start_local - offset;
    if i64::from(offset_at(tz, candidate)) * 1_000_000 == offset {
        return Some(candidate);
    }
    // The offset changed within the bucket: start at the wall-clock time itself.
    let days = start_local.div_euclid(MICROS_PER_DAY);
    let time = start_local.rem_euclid(MICROS_PER_DAY);
    let date = date_of_days(i32::try_from(days).ok()?)?;
    let naive: NaiveDateTime = date.and_hms_opt(0, 0, 0)? + chrono::TimeDelta::microseconds(time);
    instant_of_local(tz, naive)
}

impl ScalarUDFImpl for BucketUdf {
    fn name(&self) -> &str {
        UDF_NAME
    }

    fn schema_name(&self, args: &[Expr]) -> DfResult<String> {
        let arg = args.first().map(|a| a.schema_name().to_string()).unwrap_or_default();
        Ok(format!("range({arg}, {})", self.label))
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(match self.width {
            Width::Int(_) => DataType::Int64,
            Width::Float(_) => DataType::Float64,
            _ => DataType::Utf8,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let array = args.args[0].to_array(args.number_rows)?;
        let len = array.len();
        let out: ArrayRef = match &self.width {
            Width::Int(w) => {
                let values = cast(&array, &DataType::Int64)?;
                let values = values.as_primitive::<Int64Type>();
                let mut out = Int64Builder::with_capacity(len);
                for i in 0..len {
                    let v = values.value(i);
                    out.append_option(
                        values.is_valid(i).then(|| v.checked_sub(v.rem_euclid(*w))).flatten(),
                    );
                }
                Arc::new(out.finish())
            }
            Width::Float(bits) => {
                let w = f64::from_bits(*bits);
                let values = cast(&array, &DataType::Float64)?;
                let values = values.as_primitive::<Float64Type>();
                let mut out = Float64Builder::with_capacity(len);
                for i in 0..len {
                    let key = float_bucket(values.value(i), w);
                    out.append_option((values.is_valid(i) && key.is_finite()).then_some(key));
                }
                Arc::new(out.finish())
            }
            width => {
                let values = Temporal::new(&array)?;
                let mut out = StringBuilder::with_capacity(len, len * 25);
                // Consecutive values often share a bucket: keep the last key.
                let mut last: Option<(i64, String)> = None;
                for i in 0..len {
                    let start = match (&values, width) {
                        (Temporal::Micros(a), Width::Fixed(step)) => {
                            a.is_valid(i).then(|| fixed_start(self.tz, a.value(i), *step)).flatten()
                        }
                        (Temporal::Micros(a), _) => a
                            .is_valid(i)
                            .then(|| local_of_instant(self.tz, a.value(i)))
                            .flatten()
                            .and_then(|t| calendar_start(width, t.date()))
                            .and_then(|d| start_of_day(self.tz, d)),
                        (Temporal::Days(a), _) => a
                            .is_valid(i)
                            .then(|| date_of_days(a.value(i)))
                            .flatten()
                            .and_then(|d| calendar_start(width, d))
                            .map(|d| i64::from(days_of_date(d))),
                    };
                    let Some(start) = start else {
                        out.append_null();
                        continue;
                    };
                    if let Some((s, key)) = &last
                        && *s == start
                    {
                        out.append_value(key);
                        continue;
                    }
                    let key = match &values {
                        Temporal::Micros(_) => iso_instant(self.tz, start),
                        Temporal::Days(_) => i32::try_from(start)
                            .ok()
                            .and_then(date_of_days)
                            .map_or_else(String::new, iso_date),
                    };
                    out.append_value(&key);
                    last = Some((start, key));
                }
                Arc::new(out.finish())
            }
        };
        Ok(ColumnarValue::Array(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_buckets_are_clean() {
        assert_eq!(float_bucket(0.3, 0.1), 0.3);
        assert_eq!(float_bucket(0.35, 0.1), 0.3);
        assert_eq!(float_bucket(-0.05, 0.1), -0.1);
        assert_eq!(float_bucket(7.4, 2.5), 5.0);
        assert_eq!(float_bucket(-17.5, 2.5), -17.5);
        assert_eq!(float_bucket(1e300, 3.0), (1e300f64 / 3.0).floor() * 3.0);
    }

    #[test]
    fn number_texts() {
        assert_eq!(number_text(10.0), "10");
        assert_eq!(number_text(-2.5), "-2.5");
        assert_eq!(number_text(0.1), "0.1");
    }
}
