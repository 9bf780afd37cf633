//! ODSQL date functions, ranges and percentiles.
//!
//! * `year()`, `quarter()`, `month()`, `day()`, `dayofweek()`, `hour()`, `minute()`,
//!   `second()`, `millisecond()`: integers read on the wall clock of the request's `timezone`
//!   (`parts.rs`). A stored `date` is a calendar day, the same in every time zone, at midnight.
//! * `date_format(d, 'pattern')`: text after a Joda-like pattern, names in the request's `lang`
//!   (`format.rs`).
//! * `now(...)`: an instant computed when the query is planned (`now.rs`).
//! * `range(...)`: static ranges and equal-width buckets of numbers and dates (`range.rs`).
//! * `median(x)`, `percentile(x, p)`: exact percentiles, interpolated between the two nearest
//!   values (DataFusion's `percentile_cont`); `median(x)` is `percentile(x, 50)`.
//!
//! Date literals without an offset are read in the request's time zone by
//! [`parse_date_in_tz`] / [`date_literal_value`].

mod format;
mod local;
mod now;
mod parts;
mod range;

pub(crate) use range::static_range_order;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::functions_aggregate::expr_fn::percentile_cont;
use datafusion::logical_expr::{Cast, Expr, ExprSchemable, ScalarUDF, lit};
use kleber_odsql::{Arg, Expr as Ast, Span};

use crate::error::Result;
use crate::functions::{FunctionDoc, FunctionKind};
use crate::lower::Scope;

/// The functions of this family, with their documentation.
pub(crate) const FUNCTIONS: &[FunctionDoc] = &[
    FunctionDoc {
        name: "year",
        kind: FunctionKind::Scalar,
        signature: "year(date)",
        description: "Year of a date or datetime, in the request's timezone, as an integer.",
        example: "where=year(date_mesure) = 2024",
    },
    FunctionDoc {
        name: "quarter",
        kind: FunctionKind::Scalar,
        signature: "quarter(date)",
        description: "Quarter 1-4 of a date or datetime, in the request's timezone.",
        example: "group_by=quarter(date_mesure) as q",
    },
    FunctionDoc {
        name: "month",
        kind: FunctionKind::Scalar,
        signature: "month(date)",
        description: "Month 1-12 of a date or datetime, in the request's timezone.",
        example: "select=month(date_mesure) as m",
    },
    FunctionDoc {
        name: "day",
        kind: FunctionKind::Scalar,
        signature: "day(date)",
        description: "Day of month 1-31 of a date or datetime, in the request's timezone.",
        example: "select=day(date_mesure) as d",
    },
    FunctionDoc {
        name: "dayofweek",
        kind: FunctionKind::Scalar,
        signature: "dayofweek(date)",
        description: "Day of week of a date or datetime, 1 (Monday) to 7 (Sunday), in the request's timezone.",
        example: "where=dayofweek(horodatage) >= 6",
    },
    FunctionDoc {
        name: "hour",
        kind: FunctionKind::Scalar,
        signature: "hour(datetime)",
        description: "Hour 0-23 of a datetime, in the request's timezone (0 for a date).",
        example: "where=hour(horodatage) >= 8",
    },
    FunctionDoc {
        name: "minute",
        kind: FunctionKind::Scalar,
        signature: "minute(datetime)",
        description: "Minute 0-59 of a datetime, in the request's timezone (0 for a date).",
        example: "select=minute(horodatage) as mn",
    },
    FunctionDoc {
        name: "second",
        kind: FunctionKind::Scalar,
        signature: "second(datetime)",
        description: "Second 0-59 of a datetime (0 for a date).",
        example: "select=second(horodatage) as s",
    },
    FunctionDoc {
        name: "millisecond",
        kind: FunctionKind::Scalar,
        signature: "millisecond(datetime)",
        description: "Millisecond 0-999 of a datetime (0 for a date).",
        example: "select=millisecond(horodatage) as ms",
    },
    FunctionDoc {
        name: "date_format",
        kind: FunctionKind::Scalar,
        signature: "date_format(date, 'pattern')",
        description: "The date or datetime as text, in the request's timezone, after a Joda-like pattern: yyyy/yy year, xxxx/xx ISO week-year, w/ww ISO week, e day of week 1-7, E/EEEE short/full day name, D/DDD day of year, M/MM month, MMM/MMMM short/full month name, d/dd day, H/HH hour, h/K/k 12-hour forms, a AM/PM, m/mm minute, s/ss second, S fraction, Z/ZZ/ZZZ offset or zone; text between single quotes ('' for a quote) and other non-letters are copied. Names follow lang (fr, en, de, es, it, nl; other languages get English names).",
        example: "group_by=date_format(date_mesure, 'yyyy-MM') as mois",
    },
    FunctionDoc {
        name: "now",
        kind: FunctionKind::Scalar,
        signature: "now([name=value, ...])",
        description: "The current instant, fixed when the query is planned, moved on the request's timezone's wall clock: year, month, day, hour, minute, second, microsecond set a component; weekday=0..6 goes to the next Monday..Sunday (today included); years, months, weeks, days, hours, minutes, seconds, microseconds add; mondays=N..sundays=N go to the N-th such day forward (N > 0) or backward (N < 0). A day past the month's end becomes its last day; the last of repeated arguments counts.",
        example: "where=date_mesure >= now(years=-1, month=1, day=1, hour=0, minute=0, second=0)",
    },
    FunctionDoc {
        name: "range",
        kind: FunctionKind::Scalar,
        signature: "range(field, [*,] bound, ... [, *]) | range(field, width)",
        description: "Group of a number, date or datetime. With bounds: text keys '[10, 50[' (lower bound included, upper excluded), '[*, 10[' and '[100, *[' when the leading/trailing * collect the values beyond the bounds; values outside every range (and nulls) have no group; groups sort by their ranges, not by the text of their keys. Date bounds are date literals, keys print datetimes as 2020-11-13T00:00:00+01:00 in the request's timezone and dates as 2020-11-13. With a number width: the bucket's lower bound as a number. With a time width (1.5h, 15 minutes, 7 days, 1 week, 1 month, 1 quarter, 1 year): the bucket's start in the request's timezone, as ISO 8601 text (YYYY-MM-DD for a date field).",
        example: "group_by=range(date_mesure, 1 month) as mois",
    },
    FunctionDoc {
        name: "median",
        kind: FunctionKind::Aggregate,
        signature: "median(number)",
        description: "Median of the non-null values, interpolated between the two middle ones; same as percentile(number, 50).",
        example: "select=median(libre) as mediane",
    },
    FunctionDoc {
        name: "percentile",
        kind: FunctionKind::Aggregate,
        signature: "percentile(number, p)",
        description: "The p-th percentile (0 < p <= 100) of the non-null values, exact, interpolated linearly between the two nearest values.",
        example: "select=percentile(total, 90) as p90",
    },
];

/// Lowers a call of one of this family's functions; `None` when `name` is not one of them.
pub(crate) fn lower_call(
    scope: &Scope<'_>,
    name: &str,
    name_span: Span,
    args: &[Arg],
    distinct: bool,
) -> Option<Result<Expr>> {
    let name = name.to_ascii_lowercase();
    Some(match name.as_str() {
        "date_format" => lower_date_format(scope, name_span, args, distinct),
        "now" => lower_now(scope, name_span, args, distinct),
        "range" => range::lower(scope, name_span, args, distinct),
        "median" | "percentile" => lower_percentile(scope, &name, name_span, args, distinct),
        other => {
            let part = parts::Part::from_name(other)?;
            lower_part(scope, other, part, name_span, args, distinct)
        }
    })
}

/// The positional arguments of a call that takes exactly `n` of them.
fn positional<'a>(
    scope: &Scope<'_>,
    name: &str,
    usage: &str,
    name_span: Span,
    args: &'a [Arg],
    distinct: bool,
    n: usize,
) -> Result<Vec<&'a Ast>> {
    if distinct {
        return Err(
            scope.err(format!("{name}() does not take `distinct`; use {usage}."), name_span)
        );
    }
    let mut out = Vec::with_capacity(args.len());
    for arg in args {
        match arg {
            Arg::Expr(e) => out.push(e),
            Arg::Star(span) | Arg::Named { span, .. } => {
                return Err(
                    scope.err(format!("unexpected argument to {name}(); use {usage}."), *span)
                );
            }
        }
    }
    if out.len() != n {
        return Err(scope.err(
            format!(
                "{name}() takes {n} argument{}, {} given; use {usage}.",
                if n == 1 { "" } else { "s" },
                out.len()
            ),
            name_span,
        ));
    }
    Ok(out)
}

/// Lowers the date or datetime argument of a date function.
fn temporal_arg(scope: &Scope<'_>, name: &str, ast: &Ast) -> Result<Expr> {
    let e = scope.lower(ast)?;
    let t = e.get_type(scope.schema)?;
    if local::is_temporal(&t) || t == DataType::Null {
        Ok(e)
    } else {
        Err(scope.err(
            format!("{name}() takes a date or a datetime, not a value of type {t}."),
            ast.span,
        ))
    }
}

fn lower_part(
    scope: &Scope<'_>,
    name: &str,
    part: parts::Part,
    name_span: Span,
    args: &[Arg],
    distinct: bool,
) -> Result<Expr> {
    let usage = format!("{name}(date_field)");
    let [arg] = positional(scope, name, &usage, name_span, args, distinct, 1)?[..] else {
        unreachable!("positional() checked the count")
    };
    let value = temporal_arg(scope, name, arg)?;
    let udf = parts::DatePartUdf::new(part, scope.tz);
    Ok(Arc::new(ScalarUDF::new_from_impl(udf)).call(vec![value]))
}

fn lower_date_format(
    scope: &Scope<'_>,
    name_span: Span,
    args: &[Arg],
    distinct: bool,
) -> Result<Expr> {
    let usage = "date_format(date_field, 'yyyy-MM-dd')";
    let [value, pattern] =
        positional(scope, "date_format", usage, name_span, args, distinct, 2)?[..]
    else {
        unreachable!("positional() checked the count")
    };
    let Some(text) = pattern.as_str() else {
        return Err(scope.err(
            format!("the pattern of date_format() is a string, e.g. {usage}."),
            pattern.span,
        ));
    };
    if let Some(message) = crate::limits::check_date_pattern(text) {
        return Err(scope.err(message, pattern.span));
    }
    let pieces = format::parse_pattern(text).map_err(|m| scope.err(m, pattern.span))?;
    let value = temporal_arg(scope, "date_format", value)?;
    let udf = format::DateFormatUdf::new(text, pieces, scope.tz, scope.lang);
    Ok(Arc::new(ScalarUDF::new_from_impl(udf)).call(vec![value]))
}

fn lower_now(scope: &Scope<'_>, name_span: Span, args: &[Arg], distinct: bool) -> Result<Expr> {
    if distinct {
        return Err(scope.err("now() does not take `distinct`.", name_span));
    }
    let parsed = now::parse_args(args).map_err(|(m, span)| scope.err(m, span))?;
    let micros = now_micros(Utc::now(), scope.tz, &parsed).ok_or_else(|| {
        scope.err("now() with these arguments is out of the supported dates.", name_span)
    })?;
    Ok(lit(ScalarValue::TimestampMicrosecond(Some(micros), Some("UTC".into()))))
}

/// `now(...)` at `now` in `tz`, as UTC microseconds.
fn now_micros(now: DateTime<Utc>, tz: Tz, args: &now::NowArgs) -> Option<i64> {
    let local = now.with_timezone(&tz).naive_local();
    local::instant_of_local(tz, now::apply(local, args)?)
}

fn lower_percentile(
    scope: &Scope<'_>,
    name: &str,
    name_span: Span,
    args: &[Arg],
    distinct: bool,
) -> Result<Expr> {
    if !scope.allow_aggregates {
        return Err(scope.err(
            format!("aggregate function {name}() is not allowed in {}.", scope.clause),
            name_span,
        ));
    }
    let (usage, n) = if name == "median" {
        ("median(number_field)", 1)
    } else {
        ("percentile(number_field, 90)", 2)
    };
    let asts = positional(scope, name, usage, name_span, args, distinct, n)?;
    let fraction = match asts.get(1) {
        None => 0.5,
        Some(p) => match p.as_number() {
            Some(v) if v > 0.0 && v <= 100.0 => v / 100.0,
            _ => {
                return Err(scope.err(
                    "the percentile is a number greater than 0 and at most 100, e.g. percentile(total, 90).",
                    p.span,
                ));
            }
        },
    };
    let value = scope.lower(asts[0])?;
    let t = value.get_type(scope.schema)?;
    if !t.is_numeric() && t != DataType::Null {
        return Err(
            scope.err(format!("{name}() takes numbers, not values of type {t}."), asts[0].span)
        );
    }
    let value = Expr::Cast(Cast::new(Box::new(value), DataType::Float64));
    Ok(percentile_cont(value.sort(true, false), lit(fraction)))
}

/// When `group` (a lowered `group_by` item) is a `range()`, the condition rows must meet to
/// have a group: values outside every static range, and null values, have a null key and are
/// dropped, like Opendatasoft drops them.
pub(crate) fn range_group_filter(group: &Expr) -> Option<Expr> {
    let mut e = group;
    while let Expr::Alias(alias) = e {
        e = &alias.expr;
    }
    match e {
        Expr::ScalarFunction(f) if f.func.name() == range::UDF_NAME => {
            Some(e.clone().is_not_null())
        }
        _ => None,
    }
}

/// A date literal without time and offset (`2020`, `2020-04`, `2020/04/03`): its calendar date.
fn parse_calendar_date(text: &str) -> Option<NaiveDate> {
    let normalized = text.trim().replace('/', "-");
    let parts: Vec<&str> = normalized.split('-').collect();
    let num = |s: &str| {
        if s.is_empty() || s.len() > 2 || !s.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            s.parse::<u32>().ok()
        }
    };
    let year = |s: &str| {
        if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) { s.parse().ok() } else { None }
    };
    let (y, m, d) = match parts.as_slice() {
        [y] => (year(y)?, 1, 1),
        [y, m] => (year(y)?, num(m)?, 1),
        [y, m, d] => (year(y)?, num(m)?, num(d)?),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(y, m, d)
}

/// Parses an ODSQL date literal into microseconds since the epoch (UTC), reading it in `tz`
/// unless it carries an offset.
///
/// Accepts partial dates (`2018`, `2018-04`, `2018/04`), dates (`2018-04-03`, `2018/04/03`),
/// and datetimes with or without seconds, fraction and offset (`2017-04-03T08:02`,
/// `2024-01-02T03:04:05.000Z`, `2024-01-02 03:04:05+02:00`). A partial date means its first
/// instant in `tz`; a datetime without offset is a wall-clock time in `tz` (a time skipped when
/// clocks go forward reads with the offset before the change, a time repeated when they go back
/// is its first occurrence).
pub(crate) fn parse_date_in_tz(text: &str, tz: Tz) -> Option<i64> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp_micros());
    }
    let zulu = t.strip_suffix('Z').or_else(|| t.strip_suffix('z'));
    let with_offset = zulu.map(|s| format!("{s}+00:00"));
    let offset_text = with_offset.as_deref().unwrap_or(t);
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%d %H:%M%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(offset_text, fmt) {
            return Some(dt.timestamp_micros());
        }
    }
    if zulu.is_some() {
        return None;
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
    {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, fmt) {
            return local::instant_of_local(tz, naive);
        }
    }
    local::start_of_day(tz, parse_calendar_date(t)?)
}

/// The value of a date literal compared with a value of type `context`: a `Date32` for a date
/// field when the literal is a calendar date (or a midnight in `tz`), else a UTC timestamp read
/// with [`parse_date_in_tz`]. `None` when the text is not a date.
pub(crate) fn date_literal_value(
    text: &str,
    tz: Tz,
    context: Option<&DataType>,
) -> Option<ScalarValue> {
    let timestamp = |micros| ScalarValue::TimestampMicrosecond(Some(micros), Some("UTC".into()));
    if context != Some(&DataType::Date32) {
        return Some(timestamp(parse_date_in_tz(text, tz)?));
    }
    if let Some(date) = parse_calendar_date(text) {
        return Some(ScalarValue::Date32(Some(local::days_of_date(date))));
    }
    let micros = parse_date_in_tz(text, tz)?;
    match local::local_of_instant(tz, micros) {
        Some(t) if t.time() == NaiveTime::MIN => {
            Some(ScalarValue::Date32(Some(local::days_of_date(t.date()))))
        }
        _ => Some(timestamp(micros)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_literals_in_a_time_zone() {
        let paris = chrono_tz::Europe::Paris;
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros();
        assert_eq!(parse_date_in_tz("2020", paris), Some(utc("2019-12-31T23:00:00Z")));
        assert_eq!(parse_date_in_tz("2020/07", paris), Some(utc("2020-06-30T22:00:00Z")));
        assert_eq!(
            parse_date_in_tz("2020-07-14", chrono_tz::UTC),
            Some(utc("2020-07-14T00:00:00Z"))
        );
        assert_eq!(parse_date_in_tz("2020-07-14T08:30", paris), Some(utc("2020-07-14T06:30:00Z")));
        assert_eq!(
            parse_date_in_tz("2020-07-14 08:30:15.5", paris),
            Some(utc("2020-07-14T06:30:15.5Z"))
        );
        assert_eq!(
            parse_date_in_tz("2020-07-14T08:30:00Z", paris),
            Some(utc("2020-07-14T08:30:00Z"))
        );
        assert_eq!(parse_date_in_tz("2020-07-14T08:30Z", paris), Some(utc("2020-07-14T08:30:00Z")));
        assert_eq!(
            parse_date_in_tz("2020-07-14T08:30+05:00", paris),
            Some(utc("2020-07-14T03:30:00Z"))
        );
        assert_eq!(parse_date_in_tz("2020-02-30", paris), None);
        assert_eq!(parse_date_in_tz("hier", paris), None);
        assert_eq!(parse_date_in_tz("20201", paris), None);
    }

    #[test]
    fn date_literal_values_fit_their_context() {
        let paris = chrono_tz::Europe::Paris;
        let day = local::days_of_date(NaiveDate::from_ymd_opt(2020, 7, 14).unwrap());
        assert_eq!(
            date_literal_value("2020-07-14", paris, Some(&DataType::Date32)),
            Some(ScalarValue::Date32(Some(day)))
        );
        assert_eq!(
            date_literal_value("2020-07-14T00:00:00+02:00", paris, Some(&DataType::Date32)),
            Some(ScalarValue::Date32(Some(day)))
        );
        assert!(matches!(
            date_literal_value("2020-07-14T12:00", paris, Some(&DataType::Date32)),
            Some(ScalarValue::TimestampMicrosecond(Some(_), _))
        ));
        assert_eq!(
            date_literal_value("2020-07-14", paris, None),
            Some(ScalarValue::TimestampMicrosecond(
                parse_date_in_tz("2020-07-14", paris),
                Some("UTC".into())
            ))
        );
    }

    #[test]
    fn now_is_computed_on_the_wall_clock() {
        let paris = chrono_tz::Europe::Paris;
        let at = DateTime::parse_from_rfc3339("2021-03-28T12:00:00Z").unwrap().to_utc();
        let ExprKind::Call { args, .. } = kleber_odsql::parse_expr("now(days=-1)").unwrap().kind
        else {
            panic!()
        };
        let parsed = now::parse_args(&args).unwrap();
        // 14:00 CEST on the day clocks changed; a day before is 14:00 CET = 13:00Z.
        let micros = now_micros(at, paris, &parsed).unwrap();
        assert_eq!(
            micros,
            DateTime::parse_from_rfc3339("2021-03-27T13:00:00Z").unwrap().timestamp_micros()
        );
    }

    use kleber_odsql::ExprKind;
}
