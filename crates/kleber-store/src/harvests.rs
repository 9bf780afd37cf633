//! Harvest sources, their runs and the datasets they created (catalog schema 13).
//!
//! A harvest source is named (`[a-z0-9_-]`, unique): its kind (`ods`, `ckan`, `dcat`), the
//! address of the portal or catalog, its configuration (a JSON document the application layer
//! writes and reads: selection, metadata overrides, removal of datasets gone at the source),
//! an optional cron schedule, when the scheduler last started it and whether its last run
//! failed. Every run is a row of `harvest_runs` (trigger, start, end, outcome, counts, error).
//!
//! `harvested_datasets` says which local dataset a harvest created for which dataset of its
//! source, with the fingerprint of what was copied (metadata) and the digest of the data file
//! published: a harvest only ever writes datasets listed here under its name, so it never
//! overwrites a dataset it did not create, and a re-harvest of the same thing changes nothing.
//! A dataset no longer at the source is kept with `gone_at` set, unless the harvest removes it.
//!
//! Setting and deleting a harvest source are audited (`harvest.set`, `harvest.delete`) and
//! bump the generation; runs and the bookkeeping of harvested datasets do not.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use crate::accounts::Actor;
use crate::error::Result;
use crate::publish::now_rfc3339;
use crate::sources::quiet;
use crate::sqlite::{SqliteCatalog, write};
use crate::sqlite_accounts::{append, dataset_uid};

/// A harvest source as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarvestRecord {
    /// Its name.
    pub name: String,
    /// `ods`, `ckan` or `dcat`.
    pub kind: String,
    /// The portal's or catalog's address.
    pub url: String,
    /// The configuration (JSON written by the application layer).
    pub config: String,
    /// The cron schedule, if the scheduler runs it.
    pub schedule: Option<String>,
    /// When the scheduler last started a run (RFC 3339, UTC).
    pub last_run_at: Option<String>,
    /// Whether the last run failed.
    pub failing: bool,
    /// When it was created.
    pub created_at: String,
    /// When it was last set.
    pub updated_at: String,
    /// The organization it belongs to (its admins manage it; the datasets it creates go
    /// there); `None`: the portal's, managed by portal admins only (schema 17).
    pub organization: Option<String>,
    /// The headers sent to the source (credentials), sealed by the application layer; never
    /// stored in clear (schema 18).
    pub secrets: Option<Vec<u8>>,
}

/// One run of a harvest source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarvestRun {
    /// Its number.
    pub id: i64,
    /// The harvest's name.
    pub harvest: String,
    /// `schedule` or `manual`.
    pub trigger: String,
    /// When it started.
    pub started_at: String,
    /// When it ended, if it did.
    pub ended_at: Option<String>,
    /// `running`, `done` (every dataset copied or unchanged), `partial` (some failed) or
    /// `failed` (the source could not be harvested at all).
    pub outcome: String,
    /// The counts (JSON object: copied, unchanged, removed, kept, failed, records).
    pub counts: Option<String>,
    /// Why it failed (or what failed, for a partial run).
    pub error: Option<String>,
}

/// A dataset a harvest created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarvestedDataset {
    /// The harvest's name.
    pub harvest: String,
    /// The dataset's identifier at the source.
    pub source_id: String,
    /// The local dataset's identifier.
    pub dataset_id: String,
    /// The fingerprint of what was copied.
    pub fingerprint: String,
    /// The digest of the data file published.
    pub data_digest: Option<String>,
    /// When it was last copied.
    pub harvested_at: String,
    /// Since when the source no longer has it.
    pub gone_at: Option<String>,
}

/// Harvest sources and their bookkeeping.
pub trait HarvestCatalog: Send + Sync {
    /// Creates or replaces harvest `name` of `organization` (`None`: the portal's) with its
    /// sealed headers (`secrets`, replaced as given), appending `harvest.set` (the last run
    /// time and the failure mark are kept).
    #[allow(clippy::too_many_arguments)]
    fn set_harvest(
        &self,
        actor: &Actor,
        name: &str,
        kind: &str,
        url: &str,
        config: &str,
        schedule: Option<&str>,
        organization: Option<&str>,
        secrets: Option<&[u8]>,
    ) -> Result<()>;
    /// Deletes harvest `name` with its runs and its bookkeeping (the datasets stay, as local
    /// datasets), appending `harvest.delete`; whether there was one.
    fn delete_harvest(&self, actor: &Actor, name: &str) -> Result<bool>;
    /// Harvest `name`.
    fn harvest(&self, name: &str) -> Result<Option<HarvestRecord>>;
    /// Every harvest, by name.
    fn harvests(&self) -> Result<Vec<HarvestRecord>>;
    /// Records that the scheduler starts harvest `name` at `at`, if its last run time is still
    /// `previous`; whether it was claimed.
    fn claim_harvest_run(&self, name: &str, previous: Option<&str>, at: &str) -> Result<bool>;
    /// Starts a run; its id.
    fn start_harvest_run(&self, name: &str, trigger: &str) -> Result<i64>;
    /// Ends run `run` (outcome, counts as JSON, error) and marks the harvest failing or not.
    fn finish_harvest_run(
        &self,
        run: i64,
        outcome: &str,
        counts: Option<&str>,
        error: Option<&str>,
    ) -> Result<()>;
    /// The last `limit` runs of harvest `name`, newest first.
    fn harvest_runs(&self, name: &str, limit: usize) -> Result<Vec<HarvestRun>>;
    /// The datasets harvest `name` created (those still in the catalog, trash included).
    fn harvested(&self, name: &str) -> Result<Vec<HarvestedDataset>>;
    /// Which harvest created dataset `dataset`, if one did.
    fn harvested_dataset(&self, dataset: &str) -> Result<Option<HarvestedDataset>>;
    /// Records that harvest `name` copied `source_id` into `dataset` (clears `gone_at`).
    fn record_harvested(
        &self,
        name: &str,
        source_id: &str,
        dataset: &str,
        fingerprint: &str,
        data_digest: Option<&str>,
    ) -> Result<()>;
    /// Marks (`Some(at)`) or unmarks a harvested dataset as gone from the source.
    fn mark_harvested_gone(&self, name: &str, source_id: &str, at: Option<&str>) -> Result<()>;
    /// Forgets a harvested dataset (removed by the harvest).
    fn forget_harvested(&self, name: &str, source_id: &str) -> Result<()>;
}

/// Schema → 13: `harvests`, `harvest_runs`, `harvested_datasets`.
pub(crate) fn migrate_to_13(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE harvests (
           name TEXT PRIMARY KEY,
           kind TEXT NOT NULL,
           url TEXT NOT NULL,
           config TEXT NOT NULL,
           schedule TEXT,
           last_run_at TEXT,
           failing INTEGER NOT NULL DEFAULT 0,
           created_at TEXT NOT NULL,
           updated_at TEXT NOT NULL
         );
         CREATE TABLE harvest_runs (
           id INTEGER PRIMARY KEY AUTOINCREMENT,
           harvest TEXT NOT NULL REFERENCES harvests(name) ON DELETE CASCADE,
           trigger TEXT NOT NULL,
           started_at TEXT NOT NULL,
           ended_at TEXT,
           outcome TEXT NOT NULL,
           counts TEXT,
           error TEXT
         );
         CREATE INDEX harvest_runs_harvest ON harvest_runs(harvest, id);
         CREATE TABLE harvested_datasets (
           harvest TEXT NOT NULL REFERENCES harvests(name) ON DELETE CASCADE,
           source_id TEXT NOT NULL,
           dataset_uid TEXT NOT NULL UNIQUE REFERENCES datasets(uid) ON DELETE CASCADE,
           fingerprint TEXT NOT NULL,
           data_digest TEXT,
           harvested_at TEXT NOT NULL,
           gone_at TEXT,
           PRIMARY KEY (harvest, source_id)
         );
         PRAGMA user_version = 13;",
    )?;
    Ok(())
}

/// Schema → 17: each harvest's organization (`harvests.org_id`, `NULL`: the portal's).
pub(crate) fn migrate_to_17(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "ALTER TABLE harvests ADD COLUMN org_id TEXT;
         PRAGMA user_version = 17;",
    )?;
    Ok(())
}

/// Schema → 18: each harvest's sealed headers (`harvests.secrets`, credentials sent to the
/// source, encrypted by the application layer).
pub(crate) fn migrate_to_18(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "ALTER TABLE harvests ADD COLUMN secrets BLOB;
         PRAGMA user_version = 18;",
    )?;
    Ok(())
}

const SELECT_HARVEST: &str = "SELECT name, kind, url, config, schedule, last_run_at, failing,
        created_at, updated_at, org_id, secrets FROM harvests";

fn row_to_harvest(r: &rusqlite::Row<'_>) -> rusqlite::Result<HarvestRecord> {
    Ok(HarvestRecord {
        name: r.get(0)?,
        kind: r.get(1)?,
        url: r.get(2)?,
        config: r.get(3)?,
        schedule: r.get(4)?,
        last_run_at: r.get(5)?,
        failing: r.get::<_, i64>(6)? != 0,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
        organization: r.get(9)?,
        secrets: r.get(10)?,
    })
}

const SELECT_HARVESTED: &str = "SELECT h.harvest, h.source_id, d.id, h.fingerprint,
        h.data_digest, h.harvested_at, h.gone_at
   FROM harvested_datasets h JOIN datasets d ON d.uid = h.dataset_uid";

fn row_to_harvested(r: &rusqlite::Row<'_>) -> rusqlite::Result<HarvestedDataset> {
    Ok(HarvestedDataset {
        harvest: r.get(0)?,
        source_id: r.get(1)?,
        dataset_id: r.get(2)?,
        fingerprint: r.get(3)?,
        data_digest: r.get(4)?,
        harvested_at: r.get(5)?,
        gone_at: r.get(6)?,
    })
}

impl HarvestCatalog for SqliteCatalog {
    fn set_harvest(
        &self,
        actor: &Actor,
        name: &str,
        kind: &str,
        url: &str,
        config: &str,
        schedule: Option<&str>,
        organization: Option<&str>,
        secrets: Option<&[u8]>,
    ) -> Result<()> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let now = now_rfc3339();
            tx.execute(
                "INSERT INTO harvests (name, kind, url, config, schedule, created_at, updated_at,
                                       org_id, secrets)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8)
                 ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, url = excluded.url,
                   config = excluded.config, schedule = excluded.schedule,
                   updated_at = excluded.updated_at, org_id = excluded.org_id,
                   secrets = excluded.secrets",
                params![name, kind, url, config, schedule, now, organization, secrets],
            )?;
            append(
                tx,
                actor,
                "harvest.set",
                name,
                json!({"kind": kind, "url": url, "schedule": schedule, "organization": organization}),
            )
        })
    }

    fn delete_harvest(&self, actor: &Actor, name: &str) -> Result<bool> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            tx.execute("DELETE FROM harvested_datasets WHERE harvest = ?1", [name])?;
            tx.execute("DELETE FROM harvest_runs WHERE harvest = ?1", [name])?;
            let n = tx.execute("DELETE FROM harvests WHERE name = ?1", [name])?;
            if n > 0 {
                append(tx, actor, "harvest.delete", name, json!({}))?;
            }
            Ok(n > 0)
        })
    }

    fn harvest(&self, name: &str) -> Result<Option<HarvestRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("{SELECT_HARVEST} WHERE name = ?1"))?;
        Ok(stmt.query_row([name], row_to_harvest).optional()?)
    }

    fn harvests(&self) -> Result<Vec<HarvestRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("{SELECT_HARVEST} ORDER BY name"))?;
        let rows = stmt.query_map([], row_to_harvest)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn claim_harvest_run(&self, name: &str, previous: Option<&str>, at: &str) -> Result<bool> {
        let mut conn = self.conn();
        quiet(&mut conn, |tx| {
            let n = tx.execute(
                "UPDATE harvests SET last_run_at = ?3 WHERE name = ?1 AND last_run_at IS ?2",
                params![name, previous, at],
            )?;
            Ok(n == 1)
        })
    }

    fn start_harvest_run(&self, name: &str, trigger: &str) -> Result<i64> {
        let mut conn = self.conn();
        quiet(&mut conn, |tx| {
            tx.execute(
                "INSERT INTO harvest_runs (harvest, trigger, started_at, outcome)
                 VALUES (?1, ?2, ?3, 'running')",
                params![name, trigger, now_rfc3339()],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    fn finish_harvest_run(
        &self,
        run: i64,
        outcome: &str,
        counts: Option<&str>,
        error: Option<&str>,
    ) -> Result<()> {
        let mut conn = self.conn();
        quiet(&mut conn, |tx| {
            tx.execute(
                "UPDATE harvest_runs SET ended_at = ?2, outcome = ?3, counts = ?4, error = ?5
                  WHERE id = ?1",
                params![run, now_rfc3339(), outcome, counts, error],
            )?;
            tx.execute(
                "UPDATE harvests SET failing = ?2
                  WHERE name = (SELECT harvest FROM harvest_runs WHERE id = ?1)",
                params![run, i64::from(outcome != "done")],
            )?;
            Ok(())
        })
    }

    fn harvest_runs(&self, name: &str, limit: usize) -> Result<Vec<HarvestRun>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, harvest, trigger, started_at, ended_at, outcome, counts, error
               FROM harvest_runs WHERE harvest = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![name, limit], |r| {
            Ok(HarvestRun {
                id: r.get(0)?,
                harvest: r.get(1)?,
                trigger: r.get(2)?,
                started_at: r.get(3)?,
                ended_at: r.get(4)?,
                outcome: r.get(5)?,
                counts: r.get(6)?,
                error: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn harvested(&self, name: &str) -> Result<Vec<HarvestedDataset>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached(&format!("{SELECT_HARVESTED} WHERE h.harvest = ?1 ORDER BY d.id"))?;
        let rows = stmt.query_map([name], row_to_harvested)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn harvested_dataset(&self, dataset: &str) -> Result<Option<HarvestedDataset>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("{SELECT_HARVESTED} WHERE d.id = ?1"))?;
        Ok(stmt.query_row([dataset], row_to_harvested).optional()?)
    }

    fn record_harvested(
        &self,
        name: &str,
        source_id: &str,
        dataset: &str,
        fingerprint: &str,
        data_digest: Option<&str>,
    ) -> Result<()> {
        let mut conn = self.conn();
        quiet(&mut conn, |tx| {
            let uid = dataset_uid(tx, dataset)?;
            tx.execute(
                "INSERT INTO harvested_datasets
                   (harvest, source_id, dataset_uid, fingerprint, data_digest, harvested_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (harvest, source_id) DO UPDATE SET dataset_uid = excluded.dataset_uid,
                   fingerprint = excluded.fingerprint, data_digest = excluded.data_digest,
                   harvested_at = excluded.harvested_at, gone_at = NULL",
                params![name, source_id, uid, fingerprint, data_digest, now_rfc3339()],
            )?;
            Ok(())
        })
    }

    fn mark_harvested_gone(&self, name: &str, source_id: &str, at: Option<&str>) -> Result<()> {
        let mut conn = self.conn();
        quiet(&mut conn, |tx| {
            tx.execute(
                "UPDATE harvested_datasets SET gone_at = ?3 WHERE harvest = ?1 AND source_id = ?2",
                params![name, source_id, at],
            )?;
            Ok(())
        })
    }

    fn forget_harvested(&self, name: &str, source_id: &str) -> Result<()> {
        let mut conn = self.conn();
        quiet(&mut conn, |tx| {
            tx.execute(
                "DELETE FROM harvested_datasets WHERE harvest = ?1 AND source_id = ?2",
                params![name, source_id],
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[test]
    fn harvests_runs_and_bookkeeping_are_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let c = store.catalog();
        let sealed: &[u8] = &[1, 2, 3];
        c.set_harvest(
            &Actor::System,
            "city",
            "ckan",
            "http://x",
            "{}",
            Some("0 * * * *"),
            None,
            Some(sealed),
        )
        .unwrap();
        let h = c.harvest("city").unwrap().unwrap();
        assert_eq!((h.kind.as_str(), h.schedule.as_deref()), ("ckan", Some("0 * * * *")));
        assert_eq!(h.secrets.as_deref(), Some(sealed));
        assert!(c.claim_harvest_run("city", None, "2026-01-01T00:00:00Z").unwrap());
        assert!(!c.claim_harvest_run("city", None, "2026-01-01T00:01:00Z").unwrap());
        let run = c.start_harvest_run("city", "manual").unwrap();
        c.finish_harvest_run(run, "partial", Some("{\"copied\":1}"), Some("x failed")).unwrap();
        let runs = c.harvest_runs("city", 10).unwrap();
        assert_eq!(runs[0].outcome, "partial");
        assert!(c.harvest("city").unwrap().unwrap().failing);
        assert!(c.delete_harvest(&Actor::System, "city").unwrap());
        assert!(c.harvest("city").unwrap().is_none());
        assert!(c.harvest_runs("city", 10).unwrap().is_empty());
        assert!(!c.delete_harvest(&Actor::System, "city").unwrap());
    }
}
