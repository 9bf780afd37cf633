//! Schedules of sources: cron expressions (five fields, minute first; `croner`) read in the
//! portal's time zone (Europe/Paris unless `--timezone` says otherwise), and the scheduler
//! that `kleber serve` runs.
//!
//! The next run of a source is the first occurrence of its schedule after its last scheduled
//! run (or after the source was set, when it never ran), so it survives restarts: a server
//! that was stopped over several occurrences runs the source once when it is back (its last
//! run then becomes that moment), not once per missed occurrence. A run is claimed in the
//! catalog before it starts (`claim_scheduled_run` compares the last run time it read), so two
//! servers over one data directory never run the same occurrence twice.
//!
//! Time comes from a [`Clock`]: the system's in production, a [`ManualClock`] in tests, which
//! set the time and wake the scheduler without sleeping for minutes.

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Timelike, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use futures::StreamExt;
use kleber_store::SourceRecord;

use crate::sources::{RunView, Trigger};
use crate::{App, Error};

/// Runs of different datasets the scheduler makes at once.
pub const CONCURRENT_RUNS: usize = 4;

/// Parses a schedule: five fields (minute, hour, day of month, month, day of week) or a
/// nickname (`@hourly`, `@daily`...). The message says what is wrong.
pub fn parse_schedule(text: &str) -> Result<Cron, String> {
    let text = text.trim();
    let fields = text.split_whitespace().count();
    if !text.starts_with('@') && fields != 5 {
        return Err(format!(
            "schedule {text:?} has {fields} fields; give five (minute hour day-of-month month day-of-week), e.g. \"*/5 * * * *\" for every five minutes or \"30 6 * * *\" for 06:30 every day"
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .build()
        .parse(text)
        .map_err(|e| format!("schedule {text:?} is not a cron expression: {e}"))
}

/// Parses a time zone name (`Europe/Paris`).
pub fn parse_timezone(name: &str) -> Result<chrono_tz::Tz, String> {
    chrono_tz::Tz::from_str(name)
        .map_err(|_| format!("unknown time zone {name:?}; give an IANA name such as Europe/Paris"))
}

/// The first occurrence of `cron` in `tz` strictly after `after`.
pub fn next_after(cron: &Cron, tz: chrono_tz::Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = tz.from_utc_datetime(&after.naive_utc());
    cron.find_next_occurrence(&local, false).ok().map(|t| t.with_timezone(&Utc))
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// When `record`'s next scheduled run is due (`None`: not scheduled, or an unreadable
/// schedule).
pub fn next_run_of(record: &SourceRecord, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let cron = parse_schedule(record.schedule.as_deref()?).ok()?;
    let base =
        record.last_run_at.as_deref().or(Some(record.updated_at.as_str())).and_then(parse_time)?;
    next_after(&cron, tz, base)
}

/// Where the scheduler's time comes from.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
    /// Completes when [`Clock::now`] reaches `at` (or a little later).
    fn sleep_until(&self, at: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that moves only when told (tests).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
    moved: tokio::sync::watch::Sender<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: DateTime<Utc>) -> ManualClock {
        ManualClock { now: Mutex::new(now), moved: tokio::sync::watch::channel(now).0 }
    }

    /// Sets the time (waking whoever sleeps until then).
    pub fn set(&self, now: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = now;
        self.moved.send_replace(now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let mut moved = self.moved.subscribe();
        Box::pin(async move {
            let _ = moved.wait_for(|now| *now >= at).await;
        })
    }
}

impl App {
    /// When each scheduled dataset is refreshed next (dataset id → time), for the dashboard.
    pub async fn next_refreshes(&self) -> Result<Vec<(String, DateTime<Utc>)>, Error> {
        let tz = self.sources.settings().timezone;
        self.on_store(move |store| {
            let sources = store.catalog().scheduled_sources()?;
            Ok(sources
                .iter()
                .filter_map(|s| next_run_of(s, tz).map(|t| (s.dataset_id.clone(), t)))
                .collect())
        })
        .await
    }

    /// When dataset `id` is refreshed next, if it is scheduled (no access check: for pages
    /// that already checked it).
    pub async fn next_refresh(&self, id: &str) -> Result<Option<DateTime<Utc>>, Error> {
        let tz = self.sources.settings().timezone;
        let id = id.to_owned();
        self.on_store(move |store| {
            Ok(store.catalog().source(&id)?.and_then(|s| next_run_of(&s, tz)))
        })
        .await
    }

    /// Runs every scheduled source due at `now` (its next run is not after `now`), at most
    /// [`CONCURRENT_RUNS`] at once, each once however many occurrences were missed; the runs
    /// made. A source whose run is still in progress is left for a later tick.
    pub async fn run_due_sources(&self, now: DateTime<Utc>) -> Result<Vec<RunView>, Error> {
        let tz = self.sources.settings().timezone;
        let at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let at2 = at.clone();
        let due: Vec<SourceRecord> = self
            .on_store(move |store| {
                let mut due = Vec::new();
                for s in store.catalog().scheduled_sources()? {
                    // A source set "after" this clock's now (a clock behind the catalog's, as
                    // a test's): its schedule starts from now, without a run.
                    if s.last_run_at.is_none() && parse_time(&s.updated_at).is_some_and(|t| t > now)
                    {
                        store.catalog().claim_scheduled_run(&s.dataset_uid, None, &at2)?;
                    } else if next_run_of(&s, tz).is_some_and(|t| t <= now) {
                        due.push(s);
                    }
                }
                Ok(due)
            })
            .await?;
        let runs = futures::stream::iter(due)
            .map(|record| {
                let at = at.clone();
                async move {
                    if !self.sources.begin(&record.dataset_uid) {
                        return None;
                    }
                    let (uid, previous) = (record.dataset_uid.clone(), record.last_run_at.clone());
                    let claimed = self
                        .on_store(move |store| {
                            Ok(store.catalog().claim_scheduled_run(
                                &uid,
                                previous.as_deref(),
                                &at,
                            )?)
                        })
                        .await;
                    let run = match claimed {
                        Ok(true) => Some(self.run_record(&record, Trigger::Schedule).await),
                        Ok(false) => None,
                        Err(e) => Some(Err(e)),
                    };
                    self.sources.end(&record.dataset_uid);
                    run
                }
            })
            .buffer_unordered(CONCURRENT_RUNS)
            .filter_map(|r| async move { r })
            .collect::<Vec<_>>()
            .await;
        let mut done = Vec::new();
        for run in runs {
            match run {
                Ok(run) => done.push(run),
                Err(e) => tracing::warn!(error = %e, "a scheduled source could not be run"),
            }
        }
        Ok(done)
    }
}

/// Runs due sources at the start of every minute of `clock`, for as long as the runtime runs
/// (the task `kleber serve` starts).
pub fn spawn_scheduler(app: Arc<App>, clock: Arc<dyn Clock>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let now = clock.now();
            let app2 = Arc::clone(&app);
            // A tick runs on its own task: a long run does not hold the next minute back
            // (its dataset is skipped by later ticks until it ends, then caught up once).
            // Retention (docs/versions.md#retention): at the first tick, then every hour.
            if first || now.minute() == 0 {
                let app3 = Arc::clone(&app);
                tokio::spawn(async move {
                    match app3.run_retention(now).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(versions = n, "retention pruned versions"),
                        Err(e) => tracing::warn!(error = %e, "retention could not run"),
                    }
                });
            }
            first = false;
            tokio::spawn(async move {
                match app2.run_due_sources(now).await {
                    Ok(runs) if !runs.is_empty() => {
                        tracing::info!(runs = runs.len(), "scheduled sources refreshed");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "the scheduler could not read the sources")
                    }
                }
                match app2.run_due_harvests(now).await {
                    Ok(runs) if !runs.is_empty() => {
                        tracing::info!(runs = runs.len(), "scheduled harvests run");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "the scheduler could not read the harvests")
                    }
                }
            });
            let next_minute = now
                .timestamp()
                .div_euclid(60)
                .checked_add(1)
                .and_then(|m| DateTime::from_timestamp(m * 60, 0))
                .unwrap_or(now);
            clock.sleep_until(next_minute).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    #[test]
    fn schedules_follow_paris_time_across_daylight_saving_changes() {
        let tz = chrono_tz::Europe::Paris;
        let daily = parse_schedule("30 6 * * *").unwrap();
        // Winter: 06:30 in Paris is 05:30 UTC.
        assert_eq!(
            next_after(&daily, tz, utc("2026-03-28T06:00:00Z")),
            Some(utc("2026-03-29T04:30:00Z"))
        );
        // 29 March 2026 is the change to summer time: 06:30 is 04:30 UTC from then on.
        assert_eq!(
            next_after(&daily, tz, utc("2026-03-27T06:00:00Z")),
            Some(utc("2026-03-28T05:30:00Z"))
        );
        let every5 = parse_schedule("*/5 * * * *").unwrap();
        assert_eq!(
            next_after(&every5, tz, utc("2026-03-29T00:59:00Z")),
            Some(utc("2026-03-29T01:00:00Z"))
        );
    }

    #[test]
    fn bad_schedules_say_what_to_give() {
        for (text, needle) in [
            ("* * * *", "has 4 fields"),
            ("0 * * * * *", "has 6 fields"),
            ("61 * * * *", "not a cron expression"),
            ("every minute", "has 2 fields"),
        ] {
            let e = parse_schedule(text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
        assert!(parse_schedule("@hourly").is_ok());
        assert!(parse_timezone("Mars/Olympus").unwrap_err().contains("IANA"));
    }
}
