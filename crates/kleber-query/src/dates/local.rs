//! Instants and calendar values seen from the request's time zone.
//!
//! Stored `datetime` values are instants (UTC microseconds); they are read as the wall-clock
//! date and time of the time zone. Stored `date` values are calendar dates: they mean the same
//! day in every time zone, and read as that day at midnight.

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Timelike,
};
use chrono_tz::Tz;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Array, TimestampMicrosecondArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, TimeUnit, TimestampMicrosecondType};
use datafusion::common::{Result, exec_err};

/// Microseconds in a day.
pub(crate) const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Whether values of this type are dates or instants that the date functions accept.
pub(crate) fn is_temporal(t: &DataType) -> bool {
    matches!(t, DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _))
}

/// The calendar date of a `Date32` value.
pub(crate) fn date_of_days(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(UNIX_EPOCH_DAYS_FROM_CE)?)
}

/// The `Date32` value of a calendar date.
pub(crate) fn days_of_date(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE
}

/// Offset from UTC, in seconds, in force in `tz` at the instant `micros`.
pub(crate) fn offset_at(tz: Tz, micros: i64) -> i32 {
    match DateTime::from_timestamp_micros(micros) {
        Some(utc) => tz.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc(),
        None => 0,
    }
}

/// The wall-clock date and time in `tz` at the instant `micros`.
pub(crate) fn local_of_instant(tz: Tz, micros: i64) -> Option<NaiveDateTime> {
    let utc = DateTime::from_timestamp_micros(micros)?;
    Some(utc.with_timezone(&tz).naive_local())
}

/// The instant at which the wall clock of `tz` shows `local`. A time shown twice (when clocks
/// go back) is its first occurrence; a time never shown (when clocks go forward) is read with
/// the offset in force before the change, which lands as far after the gap's start as it was
/// written after it (`02:30` on a night where 02:00 jumps to 03:00 is 03:30).
pub(crate) fn instant_of_local(tz: Tz, local: NaiveDateTime) -> Option<i64> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(dt) => Some(dt.timestamp_micros()),
        LocalResult::Ambiguous(first, _) => Some(first.timestamp_micros()),
        LocalResult::None => {
            let before = local.checked_sub_signed(TimeDelta::days(1))?;
            let offset = tz.offset_from_utc_datetime(&before).fix().local_minus_utc();
            let utc = local.checked_sub_signed(TimeDelta::seconds(i64::from(offset)))?;
            Some(utc.and_utc().timestamp_micros())
        }
    }
}

/// The first instant of the calendar day `date` in `tz`.
pub(crate) fn start_of_day(tz: Tz, date: NaiveDate) -> Option<i64> {
    instant_of_local(tz, date.and_time(NaiveTime::MIN))
}

/// An instant as ISO 8601 in `tz`, the way Kleber renders datetimes:
/// `2020-11-13T00:00:00+01:00`, with `.ffffff` only when the sub-second part is not zero and
/// `+00:00` (never `Z`) for UTC.
pub(crate) fn iso_instant(tz: Tz, micros: i64) -> String {
    let Some(utc) = DateTime::from_timestamp_micros(micros) else {
        return micros.to_string();
    };
    let local = utc.with_timezone(&tz);
    if local.nanosecond() == 0 {
        local.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
    } else {
        local.format("%Y-%m-%dT%H:%M:%S%.6f%:z").to_string()
    }
}

/// A calendar date as ISO 8601, `2020-11-13`.
pub(crate) fn iso_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// A column of dates or instants, read row by row as wall-clock date-times.
pub(crate) enum Temporal {
    /// Calendar dates (`Date32`).
    Days(Date32Array),
    /// Instants in UTC microseconds.
    Micros(TimestampMicrosecondArray),
}

impl Temporal {
    /// Reads a `Date32`, `Date64`, `Timestamp` or `Null` column.
    pub(crate) fn new(array: &ArrayRef) -> Result<Temporal> {
        Ok(match array.data_type() {
            DataType::Date32 => Temporal::Days(array.as_primitive::<Date32Type>().clone()),
            DataType::Date64 => {
                Temporal::Days(cast(array, &DataType::Date32)?.as_primitive::<Date32Type>().clone())
            }
            DataType::Null => Temporal::Days(Date32Array::new_null(array.len())),
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                Temporal::Micros(array.as_primitive::<TimestampMicrosecondType>().clone())
            }
            DataType::Timestamp(_, _) => {
                let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
                Temporal::Micros(
                    cast(array, &utc)?.as_primitive::<TimestampMicrosecondType>().clone(),
                )
            }
            other => return exec_err!("expected a date or a datetime, got {other}"),
        })
    }

    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        match self {
            Temporal::Days(a) => a.len(),
            Temporal::Micros(a) => a.len(),
        }
    }

    /// Row `i` as a wall-clock date-time in `tz` (a date at midnight); `None` when null.
    pub(crate) fn local(&self, i: usize, tz: Tz) -> Option<NaiveDateTime> {
        match self {
            Temporal::Days(a) if a.is_valid(i) => {
                date_of_days(a.value(i)).map(|d| d.and_time(NaiveTime::MIN))
            }
            Temporal::Micros(a) if a.is_valid(i) => local_of_instant(tz, a.value(i)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn days_round_trip() {
        let d = NaiveDate::from_ymd_opt(1970, 1, 2).unwrap();
        assert_eq!(days_of_date(d), 1);
        assert_eq!(date_of_days(1), Some(d));
        assert_eq!(date_of_days(-1), NaiveDate::from_ymd_opt(1969, 12, 31));
    }

    #[test]
    fn local_times_in_gaps_and_overlaps() {
        let paris = chrono_tz::Europe::Paris;
        // 2021-03-28 02:30 does not exist in Paris: read at +01:00, i.e. 03:30 CEST.
        let gap = instant_of_local(paris, at("2021-03-28 02:30")).unwrap();
        assert_eq!(iso_instant(paris, gap), "2021-03-28T03:30:00+02:00");
        // 2021-10-31 02:30 happens twice: the first one (+02:00).
        let twice = instant_of_local(paris, at("2021-10-31 02:30")).unwrap();
        assert_eq!(iso_instant(paris, twice), "2021-10-31T02:30:00+02:00");
        assert_eq!(iso_instant(chrono_tz::UTC, 1_500_000), "1970-01-01T00:00:01.500000+00:00");
        // Midnight skipped (Sao Paulo, 2018-11-04): the day starts at 01:00.
        let sp = chrono_tz::America::Sao_Paulo;
        let start = start_of_day(sp, NaiveDate::from_ymd_opt(2018, 11, 4).unwrap()).unwrap();
        assert_eq!(iso_instant(sp, start), "2018-11-04T01:00:00-02:00");
    }
}
