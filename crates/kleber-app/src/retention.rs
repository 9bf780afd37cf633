//! Version retention (docs/versions.md#retention): which versions of a dataset keep their
//! data files, so that a real-time dataset refreshed every minute does not keep 1,440 full
//! copies a day.
//!
//! A policy is a list of rules, each keeping some versions for some time:
//! `all:1d,daily:30d,weekly:26w,monthly:forever` keeps every version of the last day, the
//! newest version of each day for 30 days, of each week (ISO weeks) for 26 weeks, and of each
//! month forever. Days, weeks and months are UTC calendar periods; "newest" is the version
//! published last in that period. A version is kept when any rule keeps it; the current
//! version, and every version a derived dataset's current version was computed from
//! ([`App::pinned_versions`]), are always kept. The others are pruned: their data files are
//! removed, their catalog entry (date, records, source, summary) stays and reads "pruned".
//!
//! Each dataset has its policy, or follows the portal's default; without either, every
//! version is kept (`all:forever`). Retention runs after each publication (with the new
//! version's summary, [`App::spawn_version_worker`]) and every hour from the scheduler
//! ([`crate::schedule::spawn_scheduler`]). The rules only ever look back, so once a version
//! is pruned no later run would have kept it.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use kleber_store::VersionInfo;

use crate::manage::{Editor, managed_for};
use crate::{App, Error};

/// The portal setting holding the default policy.
const DEFAULT_KEY: &str = "retention";

/// How long a rule keeps its versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// Versions younger than this.
    For(TimeDelta),
    /// Every version the rule picks, whatever its age.
    Forever,
}

impl Span {
    fn covers(self, age: TimeDelta) -> bool {
        match self {
            Span::For(limit) => age < limit,
            Span::Forever => true,
        }
    }

    fn text(self) -> String {
        match self {
            Span::Forever => "forever".to_owned(),
            Span::For(d) if d.num_minutes() % (7 * 24 * 60) == 0 => {
                format!("{}w", d.num_minutes() / (7 * 24 * 60))
            }
            Span::For(d) if d.num_minutes() % (24 * 60) == 0 => {
                format!("{}d", d.num_minutes() / (24 * 60))
            }
            Span::For(d) if d.num_minutes() % 60 == 0 => format!("{}h", d.num_minutes() / 60),
            Span::For(d) => format!("{}min", d.num_minutes()),
        }
    }
}

/// A retention policy: which versions keep their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Every version younger than this.
    pub all: Option<Span>,
    /// The newest version of each UTC day, for this long.
    pub daily: Option<Span>,
    /// The newest version of each ISO week, for this long.
    pub weekly: Option<Span>,
    /// The newest version of each month, for this long.
    pub monthly: Option<Span>,
}

impl Default for Policy {
    /// Every version kept.
    fn default() -> Policy {
        Policy { all: Some(Span::Forever), daily: None, weekly: None, monthly: None }
    }
}

fn parse_span(rule: &str, text: &str) -> Result<Span, String> {
    let text = text.trim();
    if text == "forever" {
        return Ok(Span::Forever);
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let minutes_per = match unit {
        "min" => 1,
        "h" => 60,
        "d" => 24 * 60,
        "w" => 7 * 24 * 60,
        _ => {
            return Err(format!(
                "retention rule {rule:?}: {text:?} is not a duration; write a number with min, h, d or w (\"90min\", \"36h\", \"30d\", \"26w\") or \"forever\""
            ));
        }
    };
    let n: i64 = number
        .parse()
        .ok()
        .filter(|n| *n > 0 && *n <= 100 * 366 * 24 * 60 / minutes_per)
        .ok_or_else(|| {
            format!(
                "retention rule {rule:?}: {text:?} needs a whole number of {unit} between 1 and 100 years' worth"
            )
        })?;
    Ok(Span::For(TimeDelta::minutes(n * minutes_per)))
}

impl Policy {
    /// Parses `all:1d,daily:30d,weekly:26w,monthly:forever` (any subset of the rules, in any
    /// order, at least one).
    pub fn parse(text: &str) -> Result<Policy, String> {
        let mut policy = Policy { all: None, daily: None, weekly: None, monthly: None };
        let mut any = false;
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((rule, span)) = part.split_once(':') else {
                return Err(format!(
                    "retention rule {part:?} has no duration: write RULE:DURATION, e.g. \"all:1d,daily:30d,weekly:26w,monthly:forever\""
                ));
            };
            let rule = rule.trim();
            let slot = match rule {
                "all" => &mut policy.all,
                "daily" => &mut policy.daily,
                "weekly" => &mut policy.weekly,
                "monthly" => &mut policy.monthly,
                _ => {
                    return Err(format!(
                        "unknown retention rule {rule:?}: the rules are all, daily, weekly and monthly"
                    ));
                }
            };
            if slot.is_some() {
                return Err(format!("retention rule {rule:?} is given twice"));
            }
            *slot = Some(parse_span(rule, span)?);
            any = true;
        }
        if !any {
            return Err(
                "a retention policy needs at least one rule, e.g. \"all:1d,daily:30d,weekly:26w,monthly:forever\" (\"all:forever\" keeps every version)"
                    .to_owned(),
            );
        }
        Ok(policy)
    }

    /// The policy as [`Policy::parse`] reads it.
    pub fn text(&self) -> String {
        let rules = [("all", self.all), ("daily", self.daily), ("weekly", self.weekly)];
        rules
            .into_iter()
            .chain([("monthly", self.monthly)])
            .filter_map(|(name, span)| span.map(|s| format!("{name}:{}", s.text())))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Whether it keeps every version.
    pub fn keeps_everything(&self) -> bool {
        self.all == Some(Span::Forever)
    }

    /// The versions it keeps among `versions` (number, published at), at `now`.
    pub fn kept(&self, versions: &[(i64, DateTime<Utc>)], now: DateTime<Utc>) -> BTreeSet<i64> {
        // The newest version of each period: published last, the higher number on a tie.
        fn newest<K: std::hash::Hash + Eq>(
            versions: &[(i64, DateTime<Utc>)],
            key: impl Fn(&DateTime<Utc>) -> K,
        ) -> BTreeSet<i64> {
            let mut best: HashMap<K, (DateTime<Utc>, i64)> = HashMap::new();
            for &(n, at) in versions {
                let entry = best.entry(key(&at)).or_insert((at, n));
                if (at, n) > *entry {
                    *entry = (at, n);
                }
            }
            best.into_values().map(|(_, n)| n).collect()
        }
        let mut kept = BTreeSet::new();
        let age = |at: &DateTime<Utc>| now.signed_duration_since(*at);
        let by_rule: [(Option<Span>, BTreeSet<i64>); 3] = [
            (self.daily, newest(versions, DateTime::date_naive)),
            (
                self.weekly,
                newest(versions, |at| {
                    let w = at.iso_week();
                    (w.year(), w.week())
                }),
            ),
            (self.monthly, newest(versions, |at| (at.year(), at.month()))),
        ];
        for &(n, at) in versions {
            if self.all.is_some_and(|s| s.covers(age(&at))) {
                kept.insert(n);
                continue;
            }
            for (span, picked) in &by_rule {
                if span.is_some_and(|s| s.covers(age(&at))) && picked.contains(&n) {
                    kept.insert(n);
                }
            }
        }
        kept
    }
}

/// A dataset's retention as set: its own policy, or the portal's default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// The policy that applies.
    pub policy: Policy,
    /// Whether it is the dataset's own (else the portal's default, or keep everything).
    pub own: bool,
}

fn parse_stored(text: &str) -> Result<Policy, Error> {
    Policy::parse(text).map_err(|e| Error::internal(format!("stored retention policy: {e}")))
}

impl App {
    /// The versions of dataset `id` that must keep their data whatever the policy: those a
    /// derived dataset's current version was computed from. The hook derived datasets fill;
    /// none today.
    pub async fn pinned_versions(&self, id: &str) -> Result<Vec<i64>, Error> {
        let _ = id;
        Ok(Vec::new())
    }

    /// The portal's default policy (keep everything when none is set).
    pub async fn default_retention(&self) -> Result<Policy, Error> {
        let stored =
            self.on_store(|store| Ok(store.catalog().portal_setting(DEFAULT_KEY)?)).await?;
        match stored.as_ref().and_then(serde_json::Value::as_str) {
            Some(text) => parse_stored(text),
            None => Ok(Policy::default()),
        }
    }

    /// Sets the portal's default policy (`None`: keep everything), audited `portal.retention`.
    pub async fn set_default_retention(
        &self,
        editor: &Editor,
        policy: Option<&str>,
    ) -> Result<Policy, Error> {
        App::check_portal_admin(editor)?;
        let parsed = policy.map(Policy::parse).transpose().map_err(Error::BadParameter)?;
        let value = parsed.map_or(serde_json::Value::Null, |p| p.text().into());
        let actor = editor.actor().clone();
        self.on_store(move |store| {
            let details = serde_json::json!({"policy": value});
            Ok(store.catalog().set_portal_setting(&actor, DEFAULT_KEY, &value, details)?)
        })
        .await?;
        Ok(parsed.unwrap_or_default())
    }

    /// Dataset `id`'s retention, if `editor` may manage it.
    pub async fn retention(&self, editor: &Editor, id: &str) -> Result<Retention, Error> {
        let (editor, lookup) = (editor.clone(), id.to_owned());
        let d = self.on_store(move |store| managed_for(store, &editor, &lookup)).await?;
        self.retention_of(&d.uid).await
    }

    async fn retention_of(&self, uid: &str) -> Result<Retention, Error> {
        let lookup = uid.to_owned();
        let own =
            self.on_store(move |store| Ok(store.catalog().dataset_retention(&lookup)?)).await?;
        match own {
            Some(text) => Ok(Retention { policy: parse_stored(&text)?, own: true }),
            None => Ok(Retention { policy: self.default_retention().await?, own: false }),
        }
    }

    /// Sets dataset `id`'s policy (`None`: follow the portal's default), then applies it now.
    /// Returns the versions it pruned.
    pub async fn set_retention(
        &self,
        editor: &Editor,
        id: &str,
        policy: Option<&str>,
    ) -> Result<Vec<i64>, Error> {
        let parsed = policy.map(Policy::parse).transpose().map_err(Error::BadParameter)?;
        let (who, lookup) = (editor.clone(), id.to_owned());
        let text = parsed.map(|p| p.text());
        self.on_store(move |store| {
            managed_for(store, &who, &lookup)?;
            Ok(store.catalog().set_dataset_retention(who.actor(), &lookup, text.as_deref())?)
        })
        .await?;
        self.apply_retention(id, Utc::now()).await
    }

    /// Applies dataset `id`'s retention at `now`: computes the summaries that still need an
    /// older version's data, then prunes the versions the policy does not keep. Returns the
    /// versions pruned.
    pub async fn apply_retention(&self, id: &str, now: DateTime<Utc>) -> Result<Vec<i64>, Error> {
        let lookup = id.to_owned();
        let Some(d) =
            self.on_store(move |store| Ok(store.catalog().managed_dataset(&lookup)?)).await?
        else {
            return Ok(Vec::new());
        };
        let retention = self.retention_of(&d.uid).await?;
        if retention.policy.keeps_everything() {
            return Ok(Vec::new());
        }
        // Summaries first: a version's summary needs the data of the one before it.
        let infos: Vec<VersionInfo> = self.summarized_versions(&d.uid, id, true).await?;
        let Some(current) = infos.iter().find(|v| v.current).map(|v| v.number) else {
            return Ok(Vec::new());
        };
        let dated: Vec<(i64, DateTime<Utc>)> = infos
            .iter()
            .filter_map(|v| {
                let at = DateTime::parse_from_rfc3339(&v.created_at).ok()?;
                Some((v.number, at.with_timezone(&Utc)))
            })
            .collect();
        let mut kept = retention.policy.kept(&dated, now);
        kept.insert(current);
        kept.extend(self.pinned_versions(id).await?);
        // A version whose date cannot be read is kept (never pruned on a guess).
        kept.extend(
            infos.iter().filter(|v| !dated.iter().any(|d| d.0 == v.number)).map(|v| v.number),
        );
        let doomed: Vec<i64> = infos
            .iter()
            .filter(|v| !v.pruned && !kept.contains(&v.number))
            .map(|v| v.number)
            .collect();
        if doomed.is_empty() {
            return Ok(doomed);
        }
        let (uid, list) = (d.uid.clone(), doomed.clone());
        self.on_store(move |store| {
            for number in list {
                store.prune_version(&uid, number, current)?;
            }
            Ok(())
        })
        .await?;
        tracing::info!(dataset = %id, pruned = ?doomed, "retention pruned versions' data");
        Ok(doomed)
    }

    /// Applies every dataset's retention at `now` (the scheduler's hourly pass); returns how
    /// many versions were pruned. A dataset that fails is logged and skipped.
    pub async fn run_retention(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let datasets = self.on_store(|store| Ok(store.catalog().live_datasets()?)).await?;
        let mut pruned = 0;
        for (id, _) in datasets {
            match self.apply_retention(&id, now).await {
                Ok(list) => pruned += list.len(),
                Err(e) => tracing::warn!(dataset = %id, error = %e, "retention not applied"),
            }
        }
        Ok(pruned)
    }

    /// Starts the task that follows every publication (from any path: import, upload, push,
    /// source run, harvest, restore): it writes the new version's digest file, computes its
    /// change summary and applies the dataset's retention, in the background right after the
    /// publication (`kleber serve` starts it; a publication's answer does not wait for it).
    pub fn spawn_version_worker(self: &Arc<App>) -> tokio::task::JoinHandle<()> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        self.store.on_publish(Box::new(move |id| {
            let _ = tx.send(id.to_owned());
        }));
        let app = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(id) = rx.recv().await {
                let Some(app) = app.upgrade() else { return };
                app.after_publish(&id, Utc::now()).await;
            }
        })
    }

    /// What follows a publication of dataset `id`: the new version's digest file, its
    /// summary (which reads the digests), then its retention.
    pub async fn after_publish(&self, id: &str, now: DateTime<Utc>) {
        self.prepare_latest_digests(id).await;
        self.summarize_latest(id).await;
        if let Err(e) = self.apply_retention(id, now).await {
            tracing::warn!(dataset = %id, error = %e, "retention not applied after a publication");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_and_print_back() {
        let p = Policy::parse("all:1d, daily:30d,weekly:26w,monthly:forever").unwrap();
        assert_eq!(p.all, Some(Span::For(TimeDelta::days(1))));
        assert_eq!(p.text(), "all:1d,daily:30d,weekly:26w,monthly:forever");
        assert_eq!(Policy::parse(&p.text()).unwrap(), p);
        assert_eq!(Policy::parse("all:90min").unwrap().text(), "all:90min");
        assert!(Policy::parse("all:forever").unwrap().keeps_everything());
        for bad in ["", "all", "yearly:1d", "all:1y", "all:0d", "all:1d,all:2d", "daily:-3d"] {
            assert!(Policy::parse(bad).is_err(), "{bad}");
        }
    }
}
