//! Tests of the ODSQL dates functions, ranges and percentiles.
//!
//! The dataset spans two years of dates and datetimes, crosses the daylight saving time changes
//! and New Year's midnights of Europe/Paris, and every expectation is computed here with chrono
//! and chrono-tz, independently of the engine.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array, TimestampMicrosecondArray};
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use kleber_query::{Error, RecordsQuery};
use kleber_types::{Field, FieldType};
use serde_json::Value;

use crate::common::TestDataset;

const PARIS: Tz = chrono_tz::Europe::Paris;
const UTC: Tz = chrono_tz::UTC;

/// One generated record.
struct Row {
    id: i64,
    d: Option<NaiveDate>,
    t: Option<DateTime<Utc>>,
    n: Option<i64>,
    x: Option<f64>,
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("rfc3339").to_utc()
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn rows() -> Vec<Row> {
    let start = utc("2019-12-30T21:00:00Z");
    let first_day = ymd(2020, 1, 1);
    let mut rows = Vec::new();
    for i in 0..420i64 {
        rows.push(Row {
            id: i,
            // Steps of 41h13m: every hour of the day, over ~2 years.
            t: (i % 37 != 5).then(|| start + TimeDelta::minutes(i * (41 * 60 + 13))),
            d: (i % 41 != 7).then(|| first_day + TimeDelta::days((i * 53) % 731)),
            n: (i % 43 != 11).then_some((i * 7919) % 1000 - 100),
            x: (i % 47 != 13).then(|| ((i * 4111) % 997) as f64 / 4.0 - 20.0),
        });
    }
    // Instants around midnight on New Year's Eve and around the clock changes in Paris.
    let special = [
        ("2019-12-31T23:30:00Z", ymd(2019, 12, 31)),
        ("2020-12-31T22:59:59Z", ymd(2020, 12, 31)),
        ("2020-12-31T23:00:00Z", ymd(2021, 1, 1)),
        ("2020-12-31T23:59:59Z", ymd(2021, 1, 1)),
        ("2021-12-31T23:30:00Z", ymd(2021, 12, 31)),
        ("2020-03-29T00:59:59Z", ymd(2020, 3, 29)),
        ("2020-03-29T01:00:00Z", ymd(2020, 3, 29)),
        ("2021-10-31T00:30:00Z", ymd(2021, 10, 31)),
        ("2021-10-31T01:30:00Z", ymd(2021, 10, 31)),
    ];
    for (k, (t, d)) in special.iter().enumerate() {
        let id = 1000 + k as i64;
        rows.push(Row { id, d: Some(*d), t: Some(utc(t)), n: Some(k as i64 * 100), x: None });
    }
    rows
}

fn dataset(rows: &[Row]) -> TestDataset {
    let fields = vec![
        Field::new("id", "Id", FieldType::Int),
        Field::new("d", "Date", FieldType::Date),
        Field::new("t", "Horodatage", FieldType::Datetime),
        Field::new("n", "Nombre", FieldType::Int),
        Field::new("x", "Mesure", FieldType::Double),
    ];
    let epoch = ymd(1970, 1, 1);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(rows.iter().map(|r| Some(r.id)).collect::<Vec<_>>())),
        Arc::new(Date32Array::from(
            rows.iter().map(|r| r.d.map(|d| (d - epoch).num_days() as i32)).collect::<Vec<_>>(),
        )),
        Arc::new(
            TimestampMicrosecondArray::from(
                rows.iter().map(|r| r.t.map(|t| t.timestamp_micros())).collect::<Vec<_>>(),
            )
            .with_timezone("UTC"),
        ),
        Arc::new(Int64Array::from(rows.iter().map(|r| r.n).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(rows.iter().map(|r| r.x).collect::<Vec<_>>())),
    ];
    TestDataset::new(fields, columns)
}

/// A query with every clause, a time zone and a language.
fn query(
    select: &str,
    where_: Option<&str>,
    group_by: Option<&str>,
    order_by: Option<&str>,
    tz: Tz,
    lang: &str,
) -> RecordsQuery {
    RecordsQuery {
        select: Some(select.to_owned()),
        r#where: where_.map(|w| vec![w.to_owned()]).unwrap_or_default(),
        group_by: group_by.map(str::to_owned),
        order_by: order_by.map(str::to_owned),
        tz,
        lang: Some(lang.to_owned()),
        ..Default::default()
    }
}

async fn run(ds: &TestDataset, q: RecordsQuery) -> Vec<Value> {
    let text = format!("{q:?}");
    ds.run(q).await.unwrap_or_else(|e| panic!("{text}: {e}")).1
}

async fn run_err(ds: &TestDataset, q: RecordsQuery) -> String {
    match ds.run(q).await {
        Ok(rows) => panic!("expected an error, got {rows:?}"),
        Err(e @ Error::Odsql { .. }) => e.to_string(),
        Err(other) => panic!("expected an ODSQL error, got {other}"),
    }
}

/// A JSON value as a map key: strings as is, null as `null`, numbers as JSON.
fn key_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `c` count of each `k` key of grouped results.
fn tally(results: &[Value]) -> BTreeMap<String, u64> {
    results.iter().map(|r| (key_text(&r["k"]), r["c"].as_u64().expect("count"))).collect()
}

fn expected_tally<K: ToString>(
    rows: &[Row],
    key: impl Fn(&Row) -> Option<K>,
) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for r in rows {
        let k = key(r).map_or_else(|| "null".to_owned(), |k| k.to_string());
        *out.entry(k).or_insert(0) += 1;
    }
    out
}

/// Grouped counts by `group` (aliased `k`) in `tz`.
async fn group_counts(ds: &TestDataset, group: &str, tz: Tz) -> BTreeMap<String, u64> {
    let q = query("k, count(*) as c", None, Some(&format!("{group} as k")), None, tz, "fr");
    tally(&run(ds, q).await)
}

/// The per-row values of `expr` (aliased `v`), by id.
async fn per_row(ds: &TestDataset, expr: &str, tz: Tz, lang: &str) -> Vec<(i64, Value)> {
    let q = query(&format!("id, {expr} as v"), None, None, Some("id"), tz, lang);
    run(ds, q).await.into_iter().map(|r| (r["id"].as_i64().expect("id"), r["v"].clone())).collect()
}

fn by_id(rows: &[Row], id: i64) -> &Row {
    rows.iter().find(|r| r.id == id).expect("row")
}

/// ISO 8601 as Kleber renders an instant in a time zone.
fn iso(tz: Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// The first instant of a local day in `tz`.
fn midnight(tz: Tz, d: NaiveDate) -> DateTime<Utc> {
    tz.from_local_datetime(&d.and_time(NaiveTime::MIN)).earliest().expect("midnight").to_utc()
}

// ----- year() … second() -----

#[tokio::test]
async fn year_groups_follow_the_time_zone() {
    let rows = rows();
    let ds = dataset(&rows);
    for tz in [UTC, PARIS, chrono_tz::America::New_York] {
        let expected = expected_tally(&rows, |r| r.t.map(|t| t.with_timezone(&tz).year()));
        assert_eq!(group_counts(&ds, "year(t)", tz).await, expected, "{tz}");
    }
    // New Year's Eve 23:30 UTC is already next year in Paris.
    let utc_counts = group_counts(&ds, "year(t)", UTC).await;
    let paris_counts = group_counts(&ds, "year(t)", PARIS).await;
    assert_ne!(utc_counts, paris_counts);
    // Dates are calendar days in every time zone.
    let expected = expected_tally(&rows, |r| r.d.map(|d| d.year()));
    assert_eq!(group_counts(&ds, "year(d)", PARIS).await, expected);
    assert_eq!(group_counts(&ds, "year(d)", chrono_tz::Pacific::Auckland).await, expected);
}

#[tokio::test]
async fn date_parts_per_row_in_paris() {
    let rows = rows();
    let ds = dataset(&rows);
    type Part = fn(&DateTime<Tz>) -> i64;
    let parts: [(&str, Part); 9] = [
        ("year", |t| t.year().into()),
        ("quarter", |t| (t.month0() / 3 + 1).into()),
        ("month", |t| t.month().into()),
        ("day", |t| t.day().into()),
        ("dayofweek", |t| t.weekday().number_from_monday().into()),
        ("hour", |t| t.hour().into()),
        ("minute", |t| t.minute().into()),
        ("second", |t| t.second().into()),
        ("millisecond", |t| (t.nanosecond() / 1_000_000).into()),
    ];
    for (name, part) in parts {
        for (id, value) in per_row(&ds, &format!("{name}(t)"), PARIS, "fr").await {
            let expected = by_id(&rows, id).t.map(|t| part(&t.with_timezone(&PARIS)));
            assert_eq!(value.as_i64(), expected, "{name}(t) of row {id}");
        }
        for (id, value) in per_row(&ds, &format!("{name}(d)"), PARIS, "fr").await {
            let expected = by_id(&rows, id).d.map(|d| part(&midnight(UTC, d).with_timezone(&UTC)));
            assert_eq!(value.as_i64(), expected, "{name}(d) of row {id}");
        }
    }
    // Both 02:30 of the night clocks go back.
    let hours = per_row(&ds, "hour(t)", PARIS, "fr").await;
    let at = |id: i64| hours.iter().find(|(i, _)| *i == id).map(|(_, v)| v.as_i64());
    assert_eq!((at(1007), at(1008)), (Some(Some(2)), Some(Some(2))));
}

#[tokio::test]
async fn date_parts_filter_and_sort() {
    let rows = rows();
    let ds = dataset(&rows);
    let q = query("id", Some("year(t) = 2021 AND month(t) >= 10"), None, None, PARIS, "fr");
    let expected = rows
        .iter()
        .filter(|r| {
            r.t.is_some_and(|t| {
                let l = t.with_timezone(&PARIS);
                l.year() == 2021 && l.month() >= 10
            })
        })
        .count();
    assert_eq!(run(&ds, q).await.len(), expected);
    // order_by a date part, ties broken by id.
    let q = query(
        "id, hour(t) as h",
        Some("t IS NOT NULL"),
        None,
        Some("hour(t) DESC, id"),
        PARIS,
        "fr",
    );
    let got: Vec<i64> = run(&ds, q).await.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    let mut expected: Vec<(u32, i64)> =
        rows.iter().filter_map(|r| r.t.map(|t| (t.with_timezone(&PARIS).hour(), r.id))).collect();
    expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    assert_eq!(got, expected.into_iter().map(|(_, id)| id).collect::<Vec<_>>());
}

// ----- date_format() -----

const FR_DAYS: [&str; 7] =
    ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];
const FR_SHORT_DAYS: [&str; 7] = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."];
const FR_MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

#[tokio::test]
async fn date_format_groups_by_month_in_the_time_zone() {
    let rows = rows();
    let ds = dataset(&rows);
    for tz in [UTC, PARIS] {
        let expected = expected_tally(&rows, |r| {
            r.t.map(|t| t.with_timezone(&tz).format("%Y-%m").to_string())
        });
        assert_eq!(group_counts(&ds, "date_format(t, 'yyyy-MM')", tz).await, expected, "{tz}");
    }
    let expected = expected_tally(&rows, |r| r.d.map(|d| d.format("%Y-%m").to_string()));
    assert_eq!(group_counts(&ds, "date_format(d, 'yyyy-MM')", PARIS).await, expected);
    // In where, compared with text.
    let q = query("id", Some("date_format(t, 'MM') = '03'"), None, None, PARIS, "fr");
    let expected =
        rows.iter().filter(|r| r.t.is_some_and(|t| t.with_timezone(&PARIS).month() == 3)).count();
    assert_eq!(run(&ds, q).await.len(), expected);
}

#[tokio::test]
async fn date_format_names_in_french_and_english() {
    let rows = rows();
    let ds = dataset(&rows);
    let fr = per_row(&ds, "date_format(t, 'EEEE d MMMM yyyy, E')", PARIS, "fr").await;
    let en = per_row(&ds, "date_format(t, 'EEEE d MMMM yyyy, E')", PARIS, "en").await;
    assert_eq!(fr.len(), rows.len());
    for ((id, fr), (_, en)) in fr.iter().zip(&en) {
        let Some(t) = by_id(&rows, *id).t.map(|t| t.with_timezone(&PARIS)) else {
            assert!(fr.is_null() && en.is_null());
            continue;
        };
        let day = t.weekday().num_days_from_monday() as usize;
        let expected_fr = format!(
            "{} {} {} {}, {}",
            FR_DAYS[day],
            t.day(),
            FR_MONTHS[t.month0() as usize],
            t.year(),
            FR_SHORT_DAYS[day]
        );
        assert_eq!(fr.as_str(), Some(expected_fr.as_str()), "row {id}");
        let expected_en = t.format("%A %-d %B %Y, %a").to_string();
        assert_eq!(en.as_str(), Some(expected_en.as_str()), "row {id}");
    }
    // Default language is French.
    let q = RecordsQuery {
        select: Some("date_format(d, 'MMMM') as m".to_owned()),
        r#where: vec!["id = 0".to_owned()],
        ..Default::default()
    };
    assert_eq!(run(&ds, q).await[0]["m"], Value::from("janvier"));
}

#[tokio::test]
async fn date_format_numeric_letters_and_quotes() {
    let rows = rows();
    let ds = dataset(&rows);
    let pattern = "yy/yyyy xxxx-'W'ww e D DDD M MM MMM d dd H HH:mm:ss m s 'o''clock' ''";
    let chrono_pattern = "%y/%Y %G-W%V %u %-j %j %-m %m %b %-d %d %-H %H:%M:%S %-M %-S o'clock '";
    for (id, value) in per_row(&ds, &format!("date_format(t, \"{pattern}\")"), PARIS, "en").await {
        let expected =
            by_id(&rows, id).t.map(|t| t.with_timezone(&PARIS).format(chrono_pattern).to_string());
        assert_eq!(value.as_str().map(str::to_owned), expected, "row {id}");
    }
    // A date formats at midnight.
    for (id, value) in per_row(&ds, "date_format(d, 'dd/MM/yyyy HH:mm')", PARIS, "fr").await {
        let expected = by_id(&rows, id).d.map(|d| d.format("%d/%m/%Y 00:00").to_string());
        assert_eq!(value.as_str().map(str::to_owned), expected, "row {id}");
    }
}

// ----- now() -----

#[tokio::test]
async fn now_with_fixed_components_is_exact() {
    let rows = rows();
    let ds = dataset(&rows);
    let fixed =
        "now(year=2020, month=1, day=31, hour=0, minute=0, second=0, microsecond=0, months=1)";
    for (tz, expected) in [(UTC, "2020-02-29T00:00:00+00:00"), (PARIS, "2020-02-28T23:00:00+00:00")]
    {
        let q = query(&format!("{fixed} as x"), Some("id = 0"), None, None, tz, "fr");
        assert_eq!(run(&ds, q).await[0]["x"], Value::from(expected), "{tz}");
    }
    // New Year 2021 in Paris, as a where boundary.
    let new_year = "now(year=2021, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)";
    let q = query("id", Some(&format!("t >= {new_year}")), None, None, PARIS, "fr");
    let boundary = midnight(PARIS, ymd(2021, 1, 1));
    let expected = rows.iter().filter(|r| r.t.is_some_and(|t| t >= boundary)).count();
    assert_eq!(run(&ds, q).await.len(), expected);
    // Next Monday from a Wednesday, the last day of the previous month, in order_by too.
    let q = query(
        "now(year=2020, month=1, day=29, hour=12, minute=0, second=0, microsecond=0, weekday=0) as a, now(year=2020, month=3, day=1, hour=12, minute=0, second=0, microsecond=0, days=-1) as b",
        Some("id = 0"),
        None,
        Some("now()"),
        UTC,
        "fr",
    );
    let got = &run(&ds, q).await[0];
    assert_eq!(got["a"], Value::from("2020-02-03T12:00:00+00:00"));
    assert_eq!(got["b"], Value::from("2020-02-29T12:00:00+00:00"));
}

#[tokio::test]
async fn now_relative_to_the_clock() {
    // Instants every 25 hours back from now: none is within hours of a year ago.
    let base = Utc::now();
    let rows: Vec<Row> = (0..800)
        .map(|k| Row { id: k, d: None, t: Some(base - TimeDelta::hours(25 * k)), n: None, x: None })
        .collect();
    let ds = dataset(&rows);
    for tz in [UTC, PARIS] {
        let local = Utc::now().with_timezone(&tz);
        let year_ago = local.naive_local().with_year(local.year() - 1).unwrap_or_else(|| {
            (local.naive_local() - TimeDelta::days(1)).with_year(local.year() - 1).expect("date")
        });
        let boundary = tz.from_local_datetime(&year_ago).earliest().expect("instant").to_utc();
        let expected = rows.iter().filter(|r| r.t.is_some_and(|t| t >= boundary)).count();
        let q = query("id", Some("t >= now(years=-1)"), None, None, tz, "fr");
        assert_eq!(run(&ds, q).await.len(), expected, "{tz}");
        let q = query("id", Some("t < now(days=-7) AND t >= now(weeks=-2)"), None, None, tz, "fr");
        let (from, to) = (base - TimeDelta::days(14), base - TimeDelta::days(7));
        let expected = rows.iter().filter(|r| r.t.is_some_and(|t| t >= from && t < to)).count();
        assert_eq!(run(&ds, q).await.len(), expected, "{tz}");
    }
    let q = query("now() as x", Some("id = 0"), None, None, UTC, "fr");
    let x = run(&ds, q).await[0]["x"].as_str().map(utc).expect("now");
    assert!((x - Utc::now()).num_seconds().abs() < 60, "{x}");
}

// ----- range() -----

/// Rows whose group is null, when the planner keeps them (it should drop them).
fn without_null_group(mut groups: BTreeMap<String, u64>, dropped: u64) -> BTreeMap<String, u64> {
    let nulls = groups.remove("null");
    assert!(nulls.is_none() || nulls == Some(dropped), "null group {nulls:?} vs {dropped}");
    groups
}

fn static_key(bounds: &[String], open_low: bool, open_high: bool, i: usize) -> Option<String> {
    // `i` = number of bounds at or below the value.
    if i == 0 {
        open_low.then(|| format!("[*, {}[", bounds[0]))
    } else if i == bounds.len() {
        open_high.then(|| format!("[{}, *[", bounds[i - 1]))
    } else {
        Some(format!("[{}, {}[", bounds[i - 1], bounds[i]))
    }
}

#[tokio::test]
async fn static_ranges_of_numbers() {
    let rows = rows();
    let ds = dataset(&rows);
    let bounds = [0i64, 100, 500];
    let texts: Vec<String> = bounds.iter().map(i64::to_string).collect();
    for (spec, open_low, open_high) in [
        ("*, 0, 100, 500, *", true, true),
        ("0, 100, 500", false, false),
        ("*, 0, 100, 500", true, false),
        ("0, 100, 500, *", false, true),
    ] {
        let key = |r: &Row| {
            r.n.and_then(|n| {
                static_key(&texts, open_low, open_high, bounds.iter().filter(|b| **b <= n).count())
            })
        };
        let expected = expected_tally(&rows, key);
        let dropped = expected.get("null").copied().unwrap_or(0);
        let mut expected = expected;
        expected.remove("null");
        let got = group_counts(&ds, &format!("range(n, {spec})"), UTC).await;
        assert_eq!(without_null_group(got, dropped), expected, "{spec}");
    }
    // What the planner's filter does: rows without a range have no group.
    let q = query(
        "k, count(*) as c",
        Some("range(n, 0, 100, 500) IS NOT NULL"),
        Some("range(n, 0, 100, 500) as k"),
        None,
        UTC,
        "fr",
    );
    let mut expected = expected_tally(&rows, |r| {
        r.n.and_then(|n| {
            static_key(&texts, false, false, bounds.iter().filter(|b| **b <= n).count())
        })
    });
    expected.remove("null");
    assert_eq!(tally(&run(&ds, q).await), expected);
    // Decimal bounds on a double field; keys print numbers as written.
    let got = group_counts(&ds, "range(x, *, 10.5, 100.25, *)", UTC).await;
    let expected = expected_tally(&rows, |r| {
        r.x.map(|x| {
            if x < 10.5 {
                "[*, 10.5["
            } else if x < 100.25 {
                "[10.5, 100.25["
            } else {
                "[100.25, *["
            }
        })
    });
    let dropped = expected["null"];
    let mut expected = expected;
    expected.remove("null");
    assert_eq!(without_null_group(got, dropped), expected);
}

#[tokio::test]
async fn static_ranges_of_dates_in_the_time_zone() {
    let rows = rows();
    let ds = dataset(&rows);
    let days = [ymd(2020, 6, 1), ymd(2021, 1, 1)];
    let spec = "*, date'2020-06-01', '2021-01-01', *";
    for tz in [UTC, PARIS] {
        let instants: Vec<DateTime<Utc>> = days.iter().map(|d| midnight(tz, *d)).collect();
        let texts: Vec<String> = instants.iter().map(|t| iso(tz, *t)).collect();
        let mut expected = expected_tally(&rows, |r| {
            r.t.and_then(|t| {
                static_key(&texts, true, true, instants.iter().filter(|b| **b <= t).count())
            })
        });
        let dropped = expected.remove("null").unwrap_or(0);
        let got = group_counts(&ds, &format!("range(t, {spec})"), tz).await;
        assert_eq!(without_null_group(got, dropped), expected, "{tz}");
    }
    let paris = group_counts(&ds, &format!("range(t, {spec})"), PARIS).await;
    assert!(paris.contains_key("[2020-06-01T00:00:00+02:00, 2021-01-01T00:00:00+01:00["));
    // A date field: keys are dates, the same in every time zone.
    let texts: Vec<String> = days.iter().map(|d| d.to_string()).collect();
    let mut expected = expected_tally(&rows, |r| {
        r.d.and_then(|d| static_key(&texts, false, true, days.iter().filter(|b| **b <= d).count()))
    });
    let dropped = expected.remove("null").unwrap_or(0);
    for tz in [UTC, PARIS] {
        let got = group_counts(&ds, "range(d, date'2020-06-01', date'2021-01-01', *)", tz).await;
        assert_eq!(without_null_group(got, dropped), expected, "{tz}");
    }
}

#[tokio::test]
async fn values_outside_static_ranges_have_no_group() {
    let rows = rows();
    let ds = dataset(&rows);
    let got = group_counts(&ds, "range(n, 0, 100, 500)", UTC).await;
    assert!(!got.contains_key("null"), "{got:?}");
    let got = group_counts(&ds, "range(n, 50)", UTC).await;
    assert!(!got.contains_key("null"), "{got:?}");
}

#[tokio::test]
async fn equal_width_ranges_of_numbers() {
    let rows = rows();
    let ds = dataset(&rows);
    let mut expected = expected_tally(&rows, |r| r.n.map(|n| n.div_euclid(50) * 50));
    let dropped = expected.remove("null").unwrap_or(0);
    let got = group_counts(&ds, "range(n, 50)", UTC).await;
    assert_eq!(without_null_group(got, dropped), expected);
    // Keys are numbers: integers for an integer field, decimals otherwise.
    let q =
        query("k, count(*) as c", Some("n >= 0"), Some("range(n, 50) as k"), Some("k"), UTC, "fr");
    let first = &run(&ds, q).await[0];
    assert_eq!(first["k"], Value::from(0));
    let mut expected =
        expected_tally(&rows, |r| r.x.map(|x| Value::from((x / 2.5).floor() * 2.5).to_string()));
    let dropped = expected.remove("null").unwrap_or(0);
    let got = group_counts(&ds, "range(x, 2.5)", UTC).await;
    assert_eq!(without_null_group(got, dropped), expected);
}

#[tokio::test]
async fn equal_width_ranges_of_datetimes_follow_the_wall_clock() {
    let rows = rows();
    let ds = dataset(&rows);
    type Start = fn(NaiveDate) -> NaiveDate;
    let calendar: [(&str, Start); 5] = [
        ("1 day", |d| d),
        ("1 week", |d| d - TimeDelta::days(d.weekday().num_days_from_monday().into())),
        ("1 month", |d| d.with_day(1).expect("day 1")),
        ("1 quarter", |d| ymd(d.year(), d.month0() / 3 * 3 + 1, 1)),
        ("1 year", |d| ymd(d.year(), 1, 1)),
    ];
    for tz in [UTC, PARIS] {
        for (width, start) in calendar {
            let mut expected = expected_tally(&rows, |r| {
                r.t.map(|t| iso(tz, midnight(tz, start(t.with_timezone(&tz).date_naive()))))
            });
            let dropped = expected.remove("null").unwrap_or(0);
            let got = group_counts(&ds, &format!("range(t, {width})"), tz).await;
            assert_eq!(without_null_group(got, dropped), expected, "{width} in {tz}");
        }
        // Six hours of wall clock.
        let mut expected = expected_tally(&rows, |r| {
            r.t.map(|t| {
                let local = t.with_timezone(&tz);
                let start = local.naive_local().date().and_hms_opt(local.hour() / 6 * 6, 0, 0);
                // 6-hour starts are never in a clock change in these zones.
                let start = tz.from_local_datetime(&start.expect("time")).single().expect("start");
                iso(tz, start.to_utc())
            })
        });
        let dropped = expected.remove("null").unwrap_or(0);
        let got = group_counts(&ds, "range(t, 6 hours)", tz).await;
        assert_eq!(without_null_group(got, dropped), expected, "6 hours in {tz}");
    }
    // The hour repeated when clocks go back is two buckets.
    let q = query(
        "k, count(*) as c",
        Some("t >= date'2021-10-31T00:00:00Z' AND t < date'2021-10-31T02:00:00Z'"),
        Some("range(t, 1h) as k"),
        Some("k"),
        PARIS,
        "fr",
    );
    let keys: Vec<String> = run(&ds, q).await.iter().map(|r| key_text(&r["k"])).collect();
    assert_eq!(keys, ["2021-10-31T02:00:00+01:00", "2021-10-31T02:00:00+02:00"]);
}

#[tokio::test]
async fn equal_width_ranges_of_dates() {
    let rows = rows();
    let ds = dataset(&rows);
    let mut expected = expected_tally(&rows, |r| r.d.map(|d| d.format("%Y-%m-01").to_string()));
    let dropped = expected.remove("null").unwrap_or(0);
    for tz in [UTC, PARIS] {
        let got = group_counts(&ds, "range(d, 1 month)", tz).await;
        assert_eq!(without_null_group(got, dropped), expected, "{tz}");
    }
    let epoch = ymd(1970, 1, 1);
    let mut expected = expected_tally(&rows, |r| {
        r.d.map(|d| epoch + TimeDelta::days((d - epoch).num_days().div_euclid(10) * 10))
    });
    let dropped = expected.remove("null").unwrap_or(0);
    let got = group_counts(&ds, "range(d, 10 days)", PARIS).await;
    assert_eq!(without_null_group(got, dropped), expected);
}

#[tokio::test]
async fn range_in_select_and_order_by() {
    let rows = rows();
    let ds = dataset(&rows);
    for (id, value) in per_row(&ds, "range(n, *, 0, 100, *)", UTC, "fr").await {
        let expected = by_id(&rows, id).n.map(|n| {
            if n < 0 {
                "[*, 0["
            } else if n < 100 {
                "[0, 100["
            } else {
                "[100, *["
            }
        });
        assert_eq!(value.as_str(), expected, "row {id}");
    }
    let q =
        query("k, count(*) as c", None, Some("range(t, 1 year) as k"), Some("k DESC"), PARIS, "fr");
    let keys: Vec<String> = run(&ds, q).await.iter().map(|r| key_text(&r["k"])).collect();
    let non_null: Vec<&String> = keys.iter().filter(|k| *k != "null").collect();
    assert_eq!(
        non_null,
        [
            "2022-01-01T00:00:00+01:00",
            "2021-01-01T00:00:00+01:00",
            "2020-01-01T00:00:00+01:00",
            "2019-01-01T00:00:00+01:00"
        ]
    );
}

// ----- median() and percentile() -----

fn percentile_of(mut values: Vec<f64>, p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = p / 100.0 * (values.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    values[lo] + (values[hi] - values[lo]) * (rank - lo as f64)
}

fn close(got: &Value, expected: f64) -> bool {
    got.as_f64().is_some_and(|g| (g - expected).abs() < 1e-3)
}

#[tokio::test]
async fn median_and_percentiles_match_a_sorted_vector() {
    let rows = rows();
    let ds = dataset(&rows);
    let q = query(
        "median(x) as m, percentile(x, 90) as p90, percentile(x, 100) as pmax, percentile(x, 0.5) as plow, percentile(n, 25) as n25, median(n) as nm",
        None,
        None,
        None,
        UTC,
        "fr",
    );
    let got = &run(&ds, q).await[0];
    let xs: Vec<f64> = rows.iter().filter_map(|r| r.x).collect();
    let ns: Vec<f64> = rows.iter().filter_map(|r| r.n.map(|n| n as f64)).collect();
    for (key, values, p) in [
        ("m", &xs, 50.0),
        ("p90", &xs, 90.0),
        ("pmax", &xs, 100.0),
        ("plow", &xs, 0.5),
        ("n25", &ns, 25.0),
        ("nm", &ns, 50.0),
    ] {
        let expected = percentile_of(values.clone(), p);
        assert!(close(&got[key], expected), "{key}: {} vs {expected}", got[key]);
    }
    // Per group, and sorted by the aggregate.
    let q =
        query("y, median(x) as m", None, Some("year(t) as y"), Some("median(x) DESC"), PARIS, "fr");
    let got = run(&ds, q).await;
    let mut previous = f64::INFINITY;
    for g in &got {
        let y = g["y"].as_i64();
        let values: Vec<f64> = rows
            .iter()
            .filter(|r| r.t.map(|t| i64::from(t.with_timezone(&PARIS).year())) == y)
            .filter_map(|r| r.x)
            .collect();
        if values.is_empty() {
            // Nulls sort last.
            assert!(g["m"].is_null(), "{y:?}: {}", g["m"]);
            previous = f64::NEG_INFINITY;
            continue;
        }
        let expected = percentile_of(values, 50.0);
        assert!(close(&g["m"], expected), "{y:?}: {} vs {expected}", g["m"]);
        assert!(expected <= previous);
        previous = expected;
    }
}

// ----- errors -----

#[tokio::test]
async fn mistakes_are_reported() {
    let rows = rows();
    let ds = dataset(&rows);
    let select_err = |select: &str| query(select, None, None, None, UTC, "fr");
    let cases: Vec<(RecordsQuery, &str)> = vec![
        (select_err("date_format(t, 'yyyy-QQ') as f"), "'Q'"),
        (select_err("date_format(t, \"yyyy 'T\") as f"), "unclosed quote"),
        (select_err("date_format(t, yyyy) as f"), "is a string"),
        (select_err("date_format(n, 'yyyy') as f"), "date or a datetime"),
        (select_err("year(n) as y"), "date or a datetime"),
        (select_err("year(t, d) as y"), "takes 1 argument"),
        (select_err("percentile(x, 0) as p"), "greater than 0 and at most 100"),
        (select_err("percentile(x, 101) as p"), "greater than 0 and at most 100"),
        (select_err("percentile(x) as p"), "takes 2 arguments"),
        (select_err("median(t) as m"), "takes numbers"),
        (select_err("now(fortnights=1) as x"), "no argument `fortnights`"),
        (select_err("now(month=13) as x"), "between 1 and 12"),
        (select_err("now(3) as x"), "named arguments"),
        (query("id", Some("median(x) > 1"), None, None, UTC, "fr"), "not allowed"),
    ];
    for (q, wanted) in cases {
        let text = format!("{:?}", q.select);
        let message = run_err(&ds, q).await;
        assert!(message.contains(wanted), "{text}: {message}");
    }
    let group_err = |group: &str| query("count(*) as c", None, Some(group), None, UTC, "fr");
    for (group, wanted) in [
        ("range(n, *, 'abc', 10, *)", "bounds on numbers must be numbers"),
        ("range(n, *, 10, 5, *)", "increasing order"),
        ("range(n, 10, *, 20)", "first or last bound"),
        ("range(n, 0)", "greater than 0"),
        ("range(n, 1 day)", "for dates"),
        ("range(t, 5)", "width with a unit"),
        ("range(t, *, 10, *)", "bounds on dates must be dates"),
        ("range(t, *, date'2020-13', *)", "invalid date"),
        ("range(d, 1 hour)", "has no hours"),
        ("range(t, 2 months)", "1 month only"),
        ("range(t, 1.5 days)", "whole number of days"),
        ("range(n)", "takes a field"),
        ("median(x)", "not allowed"),
    ] {
        let message = run_err(&ds, group_err(group)).await;
        assert!(message.contains(wanted), "{group}: {message}");
    }
}
