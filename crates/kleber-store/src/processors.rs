//! Each dataset's processors (catalog schema 12): the pipeline applied to every file read
//! for the dataset before its version is written, stored as one JSON document the
//! application layer writes and reads (`kleber_app::processors`).
//!
//! Setting and clearing a pipeline are audited (`dataset.processors.set`,
//! `dataset.processors.clear`) and bump the generation. The row goes with its dataset when it
//! is purged (`ON DELETE CASCADE`).

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use crate::accounts::Actor;
use crate::error::Result;
use crate::publish::now_rfc3339;
use crate::sqlite::{SqliteCatalog, write};
use crate::sqlite_accounts::{append, dataset_uid};

/// The processors of datasets.
pub trait ProcessorCatalog: Send + Sync {
    /// Sets (or replaces) dataset `dataset`'s pipeline (JSON), appending
    /// `dataset.processors.set` with the number of steps.
    fn set_processors(
        &self,
        actor: &Actor,
        dataset: &str,
        pipeline: &str,
        steps: usize,
    ) -> Result<()>;
    /// Removes dataset `dataset`'s pipeline, appending `dataset.processors.clear`; whether
    /// there was one.
    fn clear_processors(&self, actor: &Actor, dataset: &str) -> Result<bool>;
    /// Dataset `dataset`'s pipeline (JSON), if it has one (`DatasetNotFound` for an unknown
    /// dataset).
    fn processors(&self, dataset: &str) -> Result<Option<String>>;
}

/// Schema → 12: the `dataset_processors` table.
pub(crate) fn migrate_to_12(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE dataset_processors (
           dataset_uid TEXT PRIMARY KEY REFERENCES datasets(uid) ON DELETE CASCADE,
           pipeline TEXT NOT NULL,
           updated_at TEXT NOT NULL
         );
         PRAGMA user_version = 12;",
    )?;
    Ok(())
}

impl ProcessorCatalog for SqliteCatalog {
    fn set_processors(
        &self,
        actor: &Actor,
        dataset: &str,
        pipeline: &str,
        steps: usize,
    ) -> Result<()> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let uid = dataset_uid(tx, dataset)?;
            tx.execute(
                "INSERT INTO dataset_processors (dataset_uid, pipeline, updated_at)
                 VALUES (?1, ?2, ?3)
                 ON CONFLICT (dataset_uid) DO UPDATE SET pipeline = excluded.pipeline,
                   updated_at = excluded.updated_at",
                params![uid, pipeline, now_rfc3339()],
            )?;
            append(tx, actor, "dataset.processors.set", dataset, json!({ "steps": steps }))
        })
    }

    fn clear_processors(&self, actor: &Actor, dataset: &str) -> Result<bool> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let uid = dataset_uid(tx, dataset)?;
            let n = tx.execute("DELETE FROM dataset_processors WHERE dataset_uid = ?1", [&uid])?;
            if n > 0 {
                append(tx, actor, "dataset.processors.clear", dataset, json!({}))?;
            }
            Ok(n > 0)
        })
    }

    fn processors(&self, dataset: &str) -> Result<Option<String>> {
        let conn = self.conn();
        let uid = dataset_uid(&conn, dataset)?;
        let mut stmt =
            conn.prepare_cached("SELECT pipeline FROM dataset_processors WHERE dataset_uid = ?1")?;
        Ok(stmt.query_row([uid], |r| r.get(0)).optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[test]
    fn a_pipeline_is_stored_replaced_and_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let actor = Actor::System;
        store
            .catalog()
            .create_dataset(&actor, "velos", crate::accounts::DEFAULT_ORG, "Vélos")
            .unwrap();
        let cat = store.catalog();
        assert_eq!(cat.processors("velos").unwrap(), None);
        assert!(matches!(cat.processors("nope"), Err(crate::Error::DatasetNotFound { .. })));
        cat.set_processors(&actor, "velos", "{\"version\":1,\"steps\":[]}", 0).unwrap();
        cat.set_processors(&actor, "velos", "{\"version\":1,\"steps\":[1]}", 1).unwrap();
        assert_eq!(
            cat.processors("velos").unwrap().as_deref(),
            Some("{\"version\":1,\"steps\":[1]}")
        );
        assert!(cat.clear_processors(&actor, "velos").unwrap());
        assert!(!cat.clear_processors(&actor, "velos").unwrap());
        assert_eq!(cat.processors("velos").unwrap(), None);
    }
}
