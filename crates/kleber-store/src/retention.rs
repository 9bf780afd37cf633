//! Version retention in the catalog (schema 15): each dataset's retention policy (the text
//! of `kleber_app::retention::Policy`, `NULL`: the portal's default), and pruning a version's
//! data files while its catalog entry (date, records, source, summary) stays.
//!
//! Which versions to prune is decided by the application layer (it knows the policy, the
//! clock and the versions other datasets were computed from); the store only removes files.

use rusqlite::{Connection, OptionalExtension, params};

use crate::accounts::Actor;
use crate::error::{Error, Result};
use crate::layout;
use crate::sqlite::{SqliteCatalog, write};
use crate::sqlite_accounts::append;

/// Retention settings by dataset.
pub trait RetentionCatalog: Send + Sync {
    /// The retention policy set on dataset `uid` (`None`: the portal's default applies).
    fn dataset_retention(&self, uid: &str) -> Result<Option<String>>;
    /// Sets (or with `None` clears) dataset `id`'s policy, audited `dataset.retention`.
    fn set_dataset_retention(&self, actor: &Actor, id: &str, policy: Option<&str>) -> Result<()>;
    /// Every dataset not in the trash: (id, uid).
    fn live_datasets(&self) -> Result<Vec<(String, String)>>;
    /// Sets when version `number` of dataset `uid` was published (RFC 3339): for imports
    /// that carry an earlier history, and for tests that simulate days of publishing.
    fn set_version_published_at(&self, uid: &str, number: i64, at: &str) -> Result<()>;
}

/// Schema → 15: `datasets.retention`.
pub(crate) fn migrate_to_15(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "ALTER TABLE datasets ADD COLUMN retention TEXT;
         PRAGMA user_version = 15;",
    )?;
    Ok(())
}

impl RetentionCatalog for SqliteCatalog {
    fn dataset_retention(&self, uid: &str) -> Result<Option<String>> {
        let conn = self.conn();
        let policy: Option<Option<String>> = conn
            .query_row("SELECT retention FROM datasets WHERE uid = ?1", [uid], |r| r.get(0))
            .optional()?;
        Ok(policy.flatten())
    }

    fn set_dataset_retention(&self, actor: &Actor, id: &str, policy: Option<&str>) -> Result<()> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let changed = tx.execute(
                "UPDATE datasets SET retention = ?1 WHERE id = ?2 AND deleted_at IS NULL",
                params![policy, id],
            )?;
            if changed == 0 {
                return Err(Error::DatasetNotFound { id: id.to_owned() });
            }
            append(tx, actor, "dataset.retention", id, serde_json::json!({ "policy": policy }))
        })
    }

    fn live_datasets(&self) -> Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT id, uid FROM datasets WHERE deleted_at IS NULL ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn set_version_published_at(&self, uid: &str, number: i64, at: &str) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE versions SET created_at = ?1 WHERE dataset_uid = ?2 AND version = ?3",
            params![at, uid, number],
        )?;
        if changed == 0 {
            return Err(Error::InvalidState(format!("dataset {uid} has no version {number}")));
        }
        Ok(())
    }
}

impl crate::Store {
    /// Removes the data files of version `number` of dataset `uid` (its data file first, so
    /// that an interrupted removal already reads as pruned); its catalog entry stays. Refuses
    /// the current version. Returns whether there was anything to remove.
    pub fn prune_version(&self, uid: &str, number: i64, current: i64) -> Result<bool> {
        if number == current {
            return Err(Error::InvalidState(format!(
                "version {number} of dataset {uid} is its current version: it is never pruned"
            )));
        }
        let dir = layout::dataset_dir(self.root(), uid).join(layout::version_dir_name(number));
        let data = dir.join(layout::DATA_FILE);
        if !dir.exists() {
            return Ok(false);
        }
        let io = |path: &std::path::Path| {
            let path = path.to_path_buf();
            move |source| Error::File { path, source }
        };
        let had_data = data.exists();
        if had_data {
            std::fs::remove_file(&data).map_err(io(&data))?;
        }
        std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
        Ok(had_data)
    }
}
