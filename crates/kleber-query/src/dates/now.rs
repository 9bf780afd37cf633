//! `now(...)`: the current instant, moved by named arguments, fixed when the query is planned.
//!
//! The arguments follow Python's `dateutil.relativedelta`, which Opendatasoft's syntax mirrors:
//! on the wall clock of the request's time zone, singular arguments first replace components
//! (`year`, `month`, then `day`, clamped to the month's length after `years`/`months` were
//! added), `years` and `months` are added, then `weeks`, `days`, `hours`, `minutes`, `seconds`
//! and `microseconds` are added as a duration, and finally `weekday=N` (0 = Monday … 6 =
//! Sunday) moves to the next such day, today included; `mondays=K` … `sundays=K` move to the
//! K-th such day forward (K > 0, today counting as the first) or backward (K < 0). When an
//! argument is given twice, the last one counts; `weekday` and the `…days` of weekdays share one
//! slot, the last given wins.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike};
use kleber_odsql::{Arg, Span};

/// The named arguments of one `now()` call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NowArgs {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    hour: Option<i64>,
    minute: Option<i64>,
    second: Option<i64>,
    microsecond: Option<i64>,
    years: i64,
    months: i64,
    weeks: i64,
    days: i64,
    hours: i64,
    minutes: i64,
    seconds: i64,
    microseconds: i64,
    /// Target weekday (0 = Monday) and which occurrence (1 = the next, today included).
    weekday: Option<(i64, i64)>,
}

const WEEKDAYS: [&str; 7] =
    ["mondays", "tuesdays", "wednesdays", "thursdays", "fridays", "saturdays", "sundays"];

const NAMES: &str = "year, month, day, hour, minute, second, microsecond, weekday (set), years, months, weeks, days, hours, minutes, seconds, microseconds, mondays … sundays (add)";

/// Reads the arguments of `now(...)`; an error carries its message and where it applies.
pub(crate) fn parse_args(args: &[Arg]) -> Result<NowArgs, (String, Span)> {
    let mut out = NowArgs::default();
    for arg in args {
        let (name, value, span) = match arg {
            Arg::Named { name, value, span } => (name.as_str(), value, *span),
            other => {
                return Err((
                    format!(
                        "now() only takes named arguments such as now(years=-1); they are: {NAMES}."
                    ),
                    other.span(),
                ));
            }
        };
        let Some(v) = value.as_integer() else {
            return Err((
                format!("now() argument `{name}` must be a whole number, e.g. {name}=1."),
                span,
            ));
        };
        let check = |low: i64, high: i64| {
            if (low..=high).contains(&v) {
                Ok(Some(v))
            } else {
                Err((format!("now() argument `{name}` must be between {low} and {high}."), span))
            }
        };
        match name {
            "year" => out.year = check(1, 9999)?,
            "month" => out.month = check(1, 12)?,
            "day" => out.day = check(1, 31)?,
            "hour" => out.hour = check(0, 23)?,
            "minute" => out.minute = check(0, 59)?,
            "second" => out.second = check(0, 59)?,
            "microsecond" => out.microsecond = check(0, 999_999)?,
            "weekday" => out.weekday = check(0, 6)?.map(|d| (d, 1)),
            "years" => out.years = v,
            "months" => out.months = v,
            "weeks" => out.weeks = v,
            "days" => out.days = v,
            "hours" => out.hours = v,
            "minutes" => out.minutes = v,
            "seconds" => out.seconds = v,
            "microseconds" => out.microseconds = v,
            other => match WEEKDAYS.iter().position(|w| *w == other) {
                Some(d) => out.weekday = Some((d as i64, if v == 0 { 1 } else { v })),
                None => {
                    return Err((
                        format!("now() has no argument `{other}`; the arguments are: {NAMES}."),
                        span,
                    ));
                }
            },
        }
    }
    Ok(out)
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    next.and_then(|n| n.pred_opt()).map_or(28, |d| d.day())
}

/// Applies `args` to the wall-clock time `now`; `None` when the result is out of range.
pub(crate) fn apply(now: NaiveDateTime, args: &NowArgs) -> Option<NaiveDateTime> {
    // Years and months, on the calendar.
    let year = args.year.unwrap_or(i64::from(now.year())).checked_add(args.years)?;
    let month0 = args.month.unwrap_or(i64::from(now.month())) - 1;
    let total = year.checked_mul(12)?.checked_add(month0)?.checked_add(args.months)?;
    let (year, month) =
        (i32::try_from(total.div_euclid(12)).ok()?, total.rem_euclid(12) as u32 + 1);
    let wanted_day = args.day.unwrap_or(i64::from(now.day())) as u32;
    let day = wanted_day.min(days_in_month(year, month));
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    // Clock components.
    let time = NaiveTime::from_hms_micro_opt(
        args.hour.map_or(now.hour(), |h| h as u32),
        args.minute.map_or(now.minute(), |m| m as u32),
        args.second.map_or(now.second(), |s| s as u32),
        args.microsecond.map_or(now.nanosecond() / 1000 % 1_000_000, |u| u as u32),
    )?;
    // The duration.
    let delta = TimeDelta::try_weeks(args.weeks)?
        .checked_add(&TimeDelta::try_days(args.days)?)?
        .checked_add(&TimeDelta::try_hours(args.hours)?)?
        .checked_add(&TimeDelta::try_minutes(args.minutes)?)?
        .checked_add(&TimeDelta::try_seconds(args.seconds)?)?
        .checked_add(&TimeDelta::microseconds(args.microseconds))?;
    let mut t = date.and_time(time).checked_add_signed(delta)?;
    // The weekday.
    if let Some((target, nth)) = args.weekday {
        let current = i64::from(t.weekday().num_days_from_monday());
        let jump = if nth > 0 {
            (nth - 1) * 7 + (7 - current + target).rem_euclid(7)
        } else {
            -((-nth - 1) * 7 + (current - target).rem_euclid(7))
        };
        t = t.checked_add_signed(TimeDelta::try_days(jump)?)?;
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn moved(now: &str, src: &str) -> NaiveDateTime {
        let kleber_odsql::ExprKind::Call { args, .. } = kleber_odsql::parse_expr(src).unwrap().kind
        else {
            panic!("{src}")
        };
        apply(at(now), &parse_args(&args).unwrap()).unwrap()
    }

    #[test]
    fn relativedelta_semantics() {
        // Wednesday 2020-01-29 10:20:30.
        let now = "2020-01-29 10:20:30";
        assert_eq!(moved(now, "now()"), at(now));
        assert_eq!(moved(now, "now(years=-1)"), at("2019-01-29 10:20:30"));
        assert_eq!(moved(now, "now(months=1)"), at("2020-02-29 10:20:30"));
        assert_eq!(moved(now, "now(months=13)"), at("2021-02-28 10:20:30"));
        assert_eq!(moved(now, "now(months=-2)"), at("2019-11-29 10:20:30"));
        assert_eq!(moved(now, "now(day=31, month=4)"), at("2020-04-30 10:20:30"));
        assert_eq!(
            moved(now, "now(hour=0, minute=0, second=0, days=1)"),
            at("2020-01-30 00:00:00")
        );
        assert_eq!(moved(now, "now(weeks=1, hours=-11)"), at("2020-02-04 23:20:30"));
        assert_eq!(moved(now, "now(weekday=2)"), at(now));
        assert_eq!(moved(now, "now(weekday=0)"), at("2020-02-03 10:20:30"));
        assert_eq!(moved(now, "now(mondays=+1)"), at("2020-02-03 10:20:30"));
        assert_eq!(moved(now, "now(mondays=-1)"), at("2020-01-27 10:20:30"));
        assert_eq!(moved(now, "now(wednesdays=-1)"), at(now));
        assert_eq!(moved(now, "now(wednesdays=2)"), at("2020-02-05 10:20:30"));
        assert_eq!(moved(now, "now(days=1, days=2)"), at("2020-01-31 10:20:30"));
        assert_eq!(moved(now, "now(weekday=0, fridays=1)"), at("2020-01-31 10:20:30"));
        assert_eq!(
            moved(now, "now(year=2000, microsecond=5)").and_utc().timestamp_subsec_micros(),
            5
        );
    }

    #[test]
    fn bad_arguments() {
        let err = |src: &str| {
            let kleber_odsql::ExprKind::Call { args, .. } =
                kleber_odsql::parse_expr(src).unwrap().kind
            else {
                panic!("{src}")
            };
            parse_args(&args).unwrap_err().0
        };
        assert!(err("now(month=13)").contains("between 1 and 12"));
        assert!(err("now(fortnights=1)").contains("no argument"));
        assert!(err("now(days=1.5)").contains("whole number"));
        assert!(err("now(1)").contains("named"));
    }
}
