//! Remote sources of datasets and their runs (catalog schema 11).
//!
//! A dataset may have one source configuration: a JSON document the application layer writes
//! and reads (`kleber_app::sources`: URLs, header names, reading options, limits), the
//! encrypted headers (an opaque blob: the catalog never holds a secret in clear), the
//! conditional-request validators of the last fetch (ETag, Last-Modified, digest), an optional
//! cron schedule, when the scheduler last started it, and whether its last run failed.
//! Every run is a row of `source_runs`: trigger, start, end, outcome, records, rejected rows,
//! version published, error.
//!
//! Setting and clearing a source are audited (`dataset.source.set`, `dataset.source.clear`)
//! and bump the generation; runs and validators do not (they change nothing a reader of the
//! catalog sees: a run that publishes goes through the ordinary publication). Rows go with
//! their dataset when it is purged (`ON DELETE CASCADE`).

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::json;

use crate::accounts::Actor;
use crate::error::Result;
use crate::publish::now_rfc3339;
use crate::sqlite::{SqliteCatalog, write};
use crate::sqlite_accounts::{append, dataset_uid};

/// A dataset's source as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    /// The dataset's identifier.
    pub dataset_id: String,
    /// The dataset's uid.
    pub dataset_uid: String,
    /// The configuration (JSON written by the application layer; no secret in it).
    pub config: String,
    /// The encrypted headers, if any.
    pub secrets: Option<Vec<u8>>,
    /// The validators of the last fetch (JSON written by the application layer).
    pub validators: String,
    /// The cron schedule, if the source is refreshed by the scheduler.
    pub schedule: Option<String>,
    /// When the scheduler last started a run (RFC 3339, UTC).
    pub last_run_at: Option<String>,
    /// Whether the last run failed (the current version stayed).
    pub failing: bool,
    /// When the source was set (RFC 3339).
    pub updated_at: String,
}

/// One run of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRun {
    /// Its number (increasing over the whole catalog).
    pub id: i64,
    /// The dataset's identifier.
    pub dataset_id: String,
    /// `schedule` or `manual`.
    pub trigger: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it ended, if it did.
    pub ended_at: Option<String>,
    /// `running`, `published`, `unchanged` or `failed`.
    pub outcome: String,
    /// Records of the version published.
    pub records: Option<i64>,
    /// Rows rejected.
    pub rejected: Option<i64>,
    /// The version published, if one was.
    pub version: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnd {
    /// `published`, `unchanged` or `failed`.
    pub outcome: String,
    /// Records of the version published (or of the current one when unchanged).
    pub records: Option<i64>,
    /// Rows rejected.
    pub rejected: Option<i64>,
    /// The version published.
    pub version: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// New validators to remember (`None`: keep the old ones).
    pub validators: Option<String>,
}

/// The sources of datasets and their runs.
pub trait SourceCatalog: Send + Sync {
    /// Sets (or replaces) dataset `dataset`'s source, appending `dataset.source.set` with
    /// `audit` (what may be shown: URLs and header names, never values). The validators, the
    /// failure mark and the last run time are kept (a schedule does not fire at once; the
    /// next run compares with what was last read).
    fn set_source(
        &self,
        actor: &Actor,
        dataset: &str,
        config: &str,
        secrets: Option<&[u8]>,
        schedule: Option<&str>,
        audit: serde_json::Value,
    ) -> Result<()>;
    /// Removes dataset `dataset`'s source and its runs, appending `dataset.source.clear`;
    /// whether there was one.
    fn clear_source(&self, actor: &Actor, dataset: &str) -> Result<bool>;
    /// Dataset `dataset`'s source (`DatasetNotFound` for an unknown dataset).
    fn source(&self, dataset: &str) -> Result<Option<SourceRecord>>;
    /// Every source with a schedule whose dataset is neither archived nor in the trash.
    fn scheduled_sources(&self) -> Result<Vec<SourceRecord>>;
    /// Records that the scheduler starts dataset `uid`'s run at `at`, if its last run time is
    /// still `previous` (another process did not claim it first); whether it was claimed.
    fn claim_scheduled_run(&self, uid: &str, previous: Option<&str>, at: &str) -> Result<bool>;
    /// Starts a run of dataset `dataset`'s source; its id.
    fn start_source_run(&self, dataset: &str, trigger: &str) -> Result<i64>;
    /// Ends run `run` and marks the source failing or not.
    fn finish_source_run(&self, run: i64, end: &RunEnd) -> Result<()>;
    /// The last `limit` runs of dataset `dataset`, newest first.
    fn source_runs(&self, dataset: &str, limit: usize) -> Result<Vec<SourceRun>>;
}

/// Schema → 11: the `dataset_sources` and `source_runs` tables.
pub(crate) fn migrate_to_11(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE dataset_sources (
           dataset_uid TEXT PRIMARY KEY REFERENCES datasets(uid) ON DELETE CASCADE,
           config TEXT NOT NULL,
           secrets BLOB,
           validators TEXT NOT NULL DEFAULT '{}',
           schedule TEXT,
           last_run_at TEXT,
           failing INTEGER NOT NULL DEFAULT 0,
           updated_at TEXT NOT NULL
         );
         CREATE TABLE source_runs (
           id INTEGER PRIMARY KEY AUTOINCREMENT,
           dataset_uid TEXT NOT NULL REFERENCES datasets(uid) ON DELETE CASCADE,
           trigger TEXT NOT NULL,
           started_at TEXT NOT NULL,
           ended_at TEXT,
           outcome TEXT NOT NULL,
           records INTEGER,
           rejected INTEGER,
           version INTEGER,
           error TEXT
         );
         CREATE INDEX source_runs_dataset ON source_runs(dataset_uid, id);
         PRAGMA user_version = 11;",
    )?;
    Ok(())
}

const SELECT_SOURCE: &str = "SELECT d.id, s.dataset_uid, s.config, s.secrets, s.validators,
        s.schedule, s.last_run_at, s.failing, s.updated_at
   FROM dataset_sources s JOIN datasets d ON d.uid = s.dataset_uid";

fn row_to_source(r: &rusqlite::Row<'_>) -> rusqlite::Result<SourceRecord> {
    Ok(SourceRecord {
        dataset_id: r.get(0)?,
        dataset_uid: r.get(1)?,
        config: r.get(2)?,
        secrets: r.get(3)?,
        validators: r.get(4)?,
        schedule: r.get(5)?,
        last_run_at: r.get(6)?,
        failing: r.get::<_, i64>(7)? != 0,
        updated_at: r.get(8)?,
    })
}

/// Runs `f` in an immediate transaction that does not bump the generation.
pub(crate) fn quiet<T>(
    conn: &mut Connection,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
) -> Result<T> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let out = f(&tx)?;
    tx.commit()?;
    Ok(out)
}

impl SourceCatalog for SqliteCatalog {
    fn set_source(
        &self,
        actor: &Actor,
        dataset: &str,
        config: &str,
        secrets: Option<&[u8]>,
        schedule: Option<&str>,
        audit: serde_json::Value,
    ) -> Result<()> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let uid = dataset_uid(tx, dataset)?;
            tx.execute(
                "INSERT INTO dataset_sources (dataset_uid, config, secrets, schedule, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (dataset_uid) DO UPDATE SET config = excluded.config,
                   secrets = excluded.secrets, schedule = excluded.schedule,
                   updated_at = excluded.updated_at",
                params![uid, config, secrets, schedule, now_rfc3339()],
            )?;
            append(tx, actor, "dataset.source.set", dataset, audit)
        })
    }

    fn clear_source(&self, actor: &Actor, dataset: &str) -> Result<bool> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let uid = dataset_uid(tx, dataset)?;
            let n = tx.execute("DELETE FROM dataset_sources WHERE dataset_uid = ?1", [&uid])?;
            tx.execute("DELETE FROM source_runs WHERE dataset_uid = ?1", [&uid])?;
            if n > 0 {
                append(tx, actor, "dataset.source.clear", dataset, json!({}))?;
            }
            Ok(n > 0)
        })
    }

    fn source(&self, dataset: &str) -> Result<Option<SourceRecord>> {
        let conn = self.conn();
        let uid = dataset_uid(&conn, dataset)?;
        let mut stmt = conn.prepare_cached(&format!("{SELECT_SOURCE} WHERE s.dataset_uid = ?1"))?;
        Ok(stmt.query_row([uid], row_to_source).optional()?)
    }

    fn scheduled_sources(&self) -> Result<Vec<SourceRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "{SELECT_SOURCE} WHERE s.schedule IS NOT NULL AND d.deleted_at IS NULL
               AND d.archived = 0 ORDER BY d.id"
        ))?;
        let rows = stmt.query_map([], row_to_source)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn claim_scheduled_run(&self, uid: &str, previous: Option<&str>, at: &str) -> Result<bool> {
        let mut conn = self.conn();
        quiet(&mut conn, |tx| {
            let n = tx.execute(
                "UPDATE dataset_sources SET last_run_at = ?3
                  WHERE dataset_uid = ?1 AND last_run_at IS ?2",
                params![uid, previous, at],
            )?;
            Ok(n == 1)
        })
    }

    fn start_source_run(&self, dataset: &str, trigger: &str) -> Result<i64> {
        let mut conn = self.conn();
        quiet(&mut conn, |tx| {
            let uid = dataset_uid(tx, dataset)?;
            tx.execute(
                "INSERT INTO source_runs (dataset_uid, trigger, started_at, outcome)
                 VALUES (?1, ?2, ?3, 'running')",
                params![uid, trigger, now_rfc3339()],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    fn finish_source_run(&self, run: i64, end: &RunEnd) -> Result<()> {
        let mut conn = self.conn();
        quiet(&mut conn, |tx| {
            tx.execute(
                "UPDATE source_runs SET ended_at = ?2, outcome = ?3, records = ?4, rejected = ?5,
                        version = ?6, error = ?7
                  WHERE id = ?1",
                params![
                    run,
                    now_rfc3339(),
                    end.outcome,
                    end.records,
                    end.rejected,
                    end.version,
                    end.error
                ],
            )?;
            let failing = i64::from(end.outcome == "failed");
            tx.execute(
                "UPDATE dataset_sources SET failing = ?2,
                        validators = COALESCE(?3, validators)
                  WHERE dataset_uid = (SELECT dataset_uid FROM source_runs WHERE id = ?1)",
                params![run, failing, end.validators],
            )?;
            Ok(())
        })
    }

    fn source_runs(&self, dataset: &str, limit: usize) -> Result<Vec<SourceRun>> {
        let conn = self.conn();
        let uid = dataset_uid(&conn, dataset)?;
        let mut stmt = conn.prepare_cached(
            "SELECT r.id, d.id, r.trigger, r.started_at, r.ended_at, r.outcome, r.records,
                    r.rejected, r.version, r.error
               FROM source_runs r JOIN datasets d ON d.uid = r.dataset_uid
              WHERE r.dataset_uid = ?1 ORDER BY r.id DESC LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![uid, limit], |r| {
            Ok(SourceRun {
                id: r.get(0)?,
                dataset_id: r.get(1)?,
                trigger: r.get(2)?,
                started_at: r.get(3)?,
                ended_at: r.get(4)?,
                outcome: r.get(5)?,
                records: r.get(6)?,
                rejected: r.get(7)?,
                version: r.get(8)?,
                error: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[test]
    fn sources_and_runs_are_stored_and_go_with_their_dataset() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let actor = Actor::System;
        store
            .catalog()
            .create_dataset(&actor, "velos", crate::accounts::DEFAULT_ORG, "Vélos")
            .unwrap();
        let cat = store.catalog();
        assert_eq!(cat.source("velos").unwrap(), None);
        assert!(matches!(cat.source("nope"), Err(crate::Error::DatasetNotFound { .. })));
        cat.set_source(
            &actor,
            "velos",
            "{\"urls\":[]}",
            Some(b"blob"),
            Some("* * * * *"),
            json!({}),
        )
        .unwrap();
        let s = cat.source("velos").unwrap().unwrap();
        assert_eq!(
            (s.secrets.as_deref(), s.schedule.as_deref()),
            (Some(&b"blob"[..]), Some("* * * * *"))
        );
        assert_eq!(cat.scheduled_sources().unwrap().len(), 1);
        assert!(cat.claim_scheduled_run(&s.dataset_uid, None, "2026-01-01T00:00:00Z").unwrap());
        assert!(!cat.claim_scheduled_run(&s.dataset_uid, None, "2026-01-01T00:00:00Z").unwrap());
        let run = cat.start_source_run("velos", "manual").unwrap();
        cat.finish_source_run(
            run,
            &RunEnd {
                outcome: "failed".to_owned(),
                records: None,
                rejected: None,
                version: None,
                error: Some("HTTP 500".to_owned()),
                validators: Some("{\"x\":1}".to_owned()),
            },
        )
        .unwrap();
        let s = cat.source("velos").unwrap().unwrap();
        assert!(s.failing);
        assert_eq!(s.validators, "{\"x\":1}");
        let runs = cat.source_runs("velos", 10).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].error.as_deref(), Some("HTTP 500"));
        assert!(cat.clear_source(&actor, "velos").unwrap());
        assert!(cat.source_runs("velos", 10).unwrap().is_empty());
        assert!(!cat.clear_source(&actor, "velos").unwrap());
    }
}
