//! Counting the values of several facets in one pass over the filtered rows.
//!
//! The facets that share the same filter (all but those with their own exclusions, or a
//! disjunctive facet with its own refinements) are counted from one scan that reads only
//! their columns: each partition of the scan is counted in its own task, straight from the
//! Arrow arrays (text by its string, dictionary text by its key, dates by their day number,
//! datetimes by their day in the request's time zone), and the partitions' counts are added.
//! The answers are those of one `GROUP BY` per facet ([`super::value_counts`]), which remains
//! the path of the types counted here by no rule of their own (floating-point numbers).

use std::sync::Arc;

use chrono::TimeZone;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Array, GenericListArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use datafusion::common::HashMap;
use datafusion::dataframe::DataFrame;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use futures::StreamExt;
use kleber_types::{Field, FieldType};
use tokio::task::JoinSet;

use crate::error::{Error, Result};
use crate::lower::column;

/// How one facet's values are counted from its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rule {
    /// Text, integers and booleans, by their text (each element of a multivalued field).
    Text,
    /// Dates (`Date32`), by day number.
    Days,
    /// Datetimes, by the day they fall on in the request's time zone.
    LocalDays,
}

/// The rule that counts `field`'s column of type `data_type`, if any.
pub(super) fn rule(field: &Field, data_type: &DataType) -> Option<Rule> {
    let multivalued = field.multivalued_separator().is_some();
    match (field.field_type, data_type) {
        (FieldType::Date, DataType::Date32) if !multivalued => Some(Rule::Days),
        (FieldType::Datetime, DataType::Timestamp(_, _)) if !multivalued => Some(Rule::LocalDays),
        (FieldType::Date | FieldType::Datetime, _) => None,
        (_, DataType::List(item) | DataType::LargeList(item)) if multivalued => {
            textual(item.data_type()).then_some(Rule::Text)
        }
        (_, t) if !multivalued && textual(t) => Some(Rule::Text),
        _ => None,
    }
}

/// Whether values of this type are counted by their text: strings, dictionary strings,
/// integers and booleans (whose text is one-to-one with their value).
fn textual(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => textual(values),
        t => t.is_integer() || *t == DataType::Boolean,
    }
}

/// One facet's counts, as the old `GROUP BY` gave them: (value as text, count).
pub(super) type Counts = Vec<(String, u64)>;

/// Counts the columns `columns` (with their rules) of `df`'s rows in one scan.
pub(super) async fn count(
    df: DataFrame,
    columns: &[(String, Rule)],
    tz: chrono_tz::Tz,
) -> Result<Vec<Counts>> {
    let pool = Arc::clone(df.task_ctx().memory_pool());
    let df = df.select(columns.iter().map(|(name, _)| column(name)).collect::<Vec<_>>())?;
    let streams = df.execute_stream_partitioned().await?;
    let rules: Arc<[Rule]> = columns.iter().map(|(_, rule)| *rule).collect();
    // Dropping the set (the request timed out or failed) stops the other partitions.
    let mut tasks = JoinSet::new();
    for stream in streams {
        let reservation = MemoryConsumer::new("facet counts").register(&pool);
        tasks.spawn(count_partition(stream, Arc::clone(&rules), tz, reservation));
    }
    let mut total: Vec<Tally> = rules.iter().map(|_| Tally::default()).collect();
    while let Some(done) = tasks.join_next().await {
        let part = done.map_err(|e| Error::Internal(format!("facet count task failed: {e}")))??;
        for (into, from) in total.iter_mut().zip(part) {
            into.merge(from);
        }
    }
    total.into_iter().zip(rules.iter()).map(|(tally, rule)| tally.finish(*rule)).collect()
}

async fn count_partition(
    mut stream: SendableRecordBatchStream,
    rules: Arc<[Rule]>,
    tz: chrono_tz::Tz,
    reservation: MemoryReservation,
) -> Result<Vec<Tally>> {
    let mut tallies: Vec<Tally> = rules.iter().map(|_| Tally::default()).collect();
    let mut offsets = Offsets::new(tz);
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        for ((tally, rule), array) in tallies.iter_mut().zip(rules.iter()).zip(batch.columns()) {
            match rule {
                Rule::Text => tally.add_text(array)?,
                Rule::Days => tally.add_days(array.as_primitive_opt().ok_or_else(|| {
                    Error::Internal(format!("date facet of type {}", array.data_type()))
                })?),
                Rule::LocalDays => tally.add_local_days(array, &mut offsets)?,
            }
        }
        let bytes: usize = tallies.iter().map(|t| t.bytes).sum();
        if bytes > reservation.size() {
            reservation.try_resize(bytes)?;
        }
    }
    Ok(tallies)
}

/// The counts of one column in one partition, and about how much memory they hold.
#[derive(Default)]
struct Tally {
    text: HashMap<Box<str>, u64>,
    days: HashMap<i32, u64>,
    bytes: usize,
}

/// A map entry's overhead, beyond its text, in bytes (key, count, control byte, slack).
const ENTRY_BYTES: usize = 48;

impl Tally {
    fn bump(&mut self, value: &str, by: u64) {
        if let Some(count) = self.text.get_mut(value) {
            *count += by;
        } else {
            self.bytes += value.len() + ENTRY_BYTES;
            self.text.insert(value.into(), by);
        }
    }

    fn bump_day(&mut self, day: i32) {
        *self.days.entry(day).or_insert_with(|| {
            self.bytes += ENTRY_BYTES;
            0
        }) += 1;
    }

    /// Counts the non-null values of a text-like array (the elements of a list).
    fn add_text(&mut self, array: &ArrayRef) -> Result<()> {
        match array.data_type() {
            DataType::Utf8 => {
                array.as_string::<i32>().iter().flatten().for_each(|v| self.bump(v, 1))
            }
            DataType::LargeUtf8 => {
                array.as_string::<i64>().iter().flatten().for_each(|v| self.bump(v, 1))
            }
            DataType::Utf8View => {
                array.as_string_view().iter().flatten().for_each(|v| self.bump(v, 1))
            }
            DataType::Dictionary(_, _) => {
                // Count the keys, then each used dictionary value once.
                let Some(dictionary) = array.as_any_dictionary_opt() else {
                    return Err(Error::Internal("dictionary facet without dictionary".to_owned()));
                };
                let values = dictionary.values();
                let mut per_key = vec![0u64; values.len()];
                let keys = dictionary.normalized_keys();
                match dictionary.keys().nulls() {
                    Some(nulls) => {
                        for (i, key) in keys.iter().enumerate() {
                            if nulls.is_valid(i)
                                && let Some(slot) = per_key.get_mut(*key)
                            {
                                *slot += 1;
                            }
                        }
                    }
                    None => {
                        for key in &keys {
                            if let Some(slot) = per_key.get_mut(*key) {
                                *slot += 1;
                            }
                        }
                    }
                }
                let values = cast(values, &DataType::Utf8)?;
                let values = values.as_string::<i32>();
                for (key, n) in per_key.into_iter().enumerate() {
                    if n > 0 && values.is_valid(key) {
                        self.bump(values.value(key), n);
                    }
                }
            }
            DataType::List(_) => self.add_list(array.as_list::<i32>())?,
            DataType::LargeList(_) => self.add_list(array.as_list::<i64>())?,
            _ => {
                let text = cast(array, &DataType::Utf8)?;
                text.as_string::<i32>().iter().flatten().for_each(|v| self.bump(v, 1));
            }
        }
        Ok(())
    }

    /// Counts the elements of the non-null lists (a null list, like an empty one, counts
    /// nothing).
    fn add_list<O: datafusion::arrow::array::OffsetSizeTrait>(
        &mut self,
        list: &GenericListArray<O>,
    ) -> Result<()> {
        if list.null_count() == 0 {
            let offsets = list.value_offsets();
            let (Some(first), Some(last)) = (offsets.first(), offsets.last()) else {
                return Ok(());
            };
            let (start, end) = (first.as_usize(), last.as_usize());
            return self.add_text(&list.values().slice(start, end - start));
        }
        for i in 0..list.len() {
            if list.is_valid(i) {
                self.add_text(&list.value(i))?;
            }
        }
        Ok(())
    }

    fn add_days(&mut self, days: &Date32Array) {
        days.iter().flatten().for_each(|day| self.bump_day(day));
    }

    /// Counts instants by their day in the time zone; an instant out of the calendar's range
    /// counts nothing, as the `GROUP BY` of a null day.
    fn add_local_days(&mut self, array: &ArrayRef, offsets: &mut Offsets) -> Result<()> {
        let micros = cast(array, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
        for us in micros.as_primitive::<TimestampMicrosecondType>().iter().flatten() {
            if let Some(day) = offsets.local_day(us) {
                self.bump_day(day);
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: Tally) {
        for (value, n) in other.text {
            *self.text.entry(value).or_default() += n;
        }
        for (day, n) in other.days {
            *self.days.entry(day).or_default() += n;
        }
    }

    /// The counts as text, dates as `YYYY-MM-DD` (Arrow's cast, as the `GROUP BY` path).
    fn finish(self, rule: Rule) -> Result<Counts> {
        match rule {
            Rule::Text => Ok(self.text.into_iter().map(|(v, n)| (v.into_string(), n)).collect()),
            Rule::Days | Rule::LocalDays => {
                let (days, counts): (Vec<i32>, Vec<u64>) = self.days.into_iter().unzip();
                let text = cast(&Date32Array::from(days), &DataType::Utf8)?;
                let text = text.as_string::<i32>();
                Ok(text
                    .iter()
                    .zip(counts)
                    .filter_map(|(day, n)| day.map(|d| (d.to_owned(), n)))
                    .collect())
            }
        }
    }
}

const HOUR_MICROS: i64 = 3_600_000_000;
const DAY_MICROS: i64 = 24 * HOUR_MICROS;

/// The offset of a time zone from UTC per hour of UTC time, looked up once per hour: within
/// an hour without a change of offset, an instant's local day is plain arithmetic.
struct Offsets {
    tz: chrono_tz::Tz,
    /// UTC hour → the offset in microseconds for the whole hour, or `None` when the offset
    /// changes within it (or it is out of the calendar's range).
    hours: HashMap<i64, Option<i64>>,
}

impl Offsets {
    fn new(tz: chrono_tz::Tz) -> Offsets {
        Offsets { tz, hours: HashMap::new() }
    }

    fn offset_at(&self, us: i64) -> Option<i64> {
        use chrono::Offset;
        let utc = chrono::DateTime::from_timestamp_micros(us)?;
        let offset = self.tz.offset_from_utc_datetime(&utc.naive_utc()).fix();
        Some(i64::from(offset.local_minus_utc()) * 1_000_000)
    }

    /// Days since 1970-01-01 of the local date of instant `us` (microseconds since the epoch).
    fn local_day(&mut self, us: i64) -> Option<i32> {
        let hour = us.div_euclid(HOUR_MICROS);
        let offset = match self.hours.get(&hour) {
            Some(offset) => *offset,
            None => {
                let start = hour.checked_mul(HOUR_MICROS)?;
                let first = self.offset_at(start);
                let last = self.offset_at(start.checked_add(HOUR_MICROS - 1)?);
                let offset = first.filter(|_| first == last);
                self.hours.insert(hour, offset);
                offset
            }
        };
        let day = match offset {
            Some(offset) => us.checked_add(offset)?.div_euclid(DAY_MICROS),
            None => self.slow_local_day(us)?,
        };
        i32::try_from(day).ok()
    }

    /// The local day by the time zone's rules for this very instant.
    fn slow_local_day(&self, us: i64) -> Option<i64> {
        let utc = chrono::DateTime::from_timestamp_micros(us)?;
        let local = self.tz.from_utc_datetime(&utc.naive_utc()).date_naive();
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
        Some((local - epoch).num_days())
    }
}
