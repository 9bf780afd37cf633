//! Derived datasets (catalog schema 14): a dataset's definition as a query over other
//! datasets, and the exact input versions each of its versions was computed from.
//!
//! `derivations` holds one row per derived dataset: the query, the identifiers it reads, who
//! defined it (whose rights its inputs are read with), the inputs whose readers bound its
//! audience (`gate`, uids), who allowed it to be seen more widely (`allowed_by`), and the last
//! failure. `derived_versions` holds, per version of a derived dataset, the input versions
//! (`{"dataset id": version}`, JSON). Both go with their dataset when it is purged.
//!
//! Setting and clearing a definition are audited (`dataset.derivation.set`,
//! `dataset.derivation.clear`) and bump the generation; so does a change of the last failure
//! or of the gate (both are shown in the dataset object). Recording a version's inputs does
//! not (the version's publication already did).

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use crate::accounts::Actor;
use crate::error::Result;
use crate::publish::now_rfc3339;
use crate::sqlite::{SqliteCatalog, write};
use crate::sqlite_accounts::{append, dataset_uid};

/// A derived dataset's definition and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivationRecord {
    /// The derived dataset's identifier.
    pub dataset_id: String,
    /// Its uid.
    pub dataset_uid: String,
    /// The SQL query.
    pub query: String,
    /// The identifiers of the datasets it reads (JSON array).
    pub inputs: Vec<String>,
    /// The email of the user whose rights the inputs are read with; `None`: the operator.
    pub definer: Option<String>,
    /// Uids of the inputs whose readers bound who may read it.
    pub gate: Vec<String>,
    /// Who allowed it to be seen beyond its inputs' readers, if anyone.
    pub allowed_by: Option<String>,
    /// Why the last computation failed (the last good version stays current), if it did.
    pub last_error: Option<String>,
    /// When it failed.
    pub last_error_at: Option<String>,
    /// When the definition was last set.
    pub updated_at: String,
}

/// A definition being set.
#[derive(Debug, Clone)]
pub struct NewDerivation<'a> {
    /// The SQL query.
    pub query: &'a str,
    /// The identifiers it reads.
    pub inputs: &'a [String],
    /// Whose rights the inputs are read with (`None`: the operator).
    pub definer: Option<&'a str>,
}

/// Derived datasets' definitions and their versions' inputs.
pub trait DerivationCatalog: Send + Sync {
    /// Sets (or replaces) dataset `dataset`'s definition, appending
    /// `dataset.derivation.set`; clears the last failure.
    fn set_derivation(&self, actor: &Actor, dataset: &str, new: &NewDerivation<'_>) -> Result<()>;
    /// Removes dataset `dataset`'s definition (the dataset and its versions stay, as an
    /// ordinary dataset), appending `dataset.derivation.clear`; whether there was one.
    fn clear_derivation(&self, actor: &Actor, dataset: &str) -> Result<bool>;
    /// Dataset `dataset`'s definition (`DatasetNotFound` for an unknown dataset).
    fn derivation(&self, dataset: &str) -> Result<Option<DerivationRecord>>;
    /// Every definition, by dataset identifier.
    fn derivations(&self) -> Result<Vec<DerivationRecord>>;
    /// Records the outcome of a computation: the failure (`None`: it succeeded), and the
    /// inputs (uids) whose readers bound the dataset's audience. Bumps the generation only
    /// when either changes.
    fn set_derivation_state(&self, uid: &str, error: Option<&str>, gate: &[String]) -> Result<()>;
    /// Records who allowed dataset `dataset` to be seen beyond its inputs' readers (`None`:
    /// nobody, the gate applies), appending `dataset.derivation.allow`.
    fn allow_derivation(&self, actor: &Actor, dataset: &str, by: Option<&str>) -> Result<()>;
    /// Records the input versions (`{"id": version}` as JSON) version `version` of `uid` was
    /// computed from.
    fn record_derived_version(&self, uid: &str, version: i64, inputs: &str) -> Result<()>;
    /// The input versions version `version` of `uid` was computed from, as recorded.
    fn derived_version_inputs(&self, uid: &str, version: i64) -> Result<Option<String>>;
}

/// Schema → 14: the `derivations` and `derived_versions` tables.
pub(crate) fn migrate_to_14(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE derivations (
           dataset_uid TEXT PRIMARY KEY REFERENCES datasets(uid) ON DELETE CASCADE,
           query TEXT NOT NULL,
           inputs TEXT NOT NULL,
           definer TEXT,
           gate TEXT NOT NULL DEFAULT '[]',
           allowed_by TEXT,
           last_error TEXT,
           last_error_at TEXT,
           updated_at TEXT NOT NULL
         );
         CREATE TABLE derived_versions (
           dataset_uid TEXT NOT NULL REFERENCES datasets(uid) ON DELETE CASCADE,
           version INTEGER NOT NULL,
           inputs TEXT NOT NULL,
           PRIMARY KEY (dataset_uid, version)
         );
         PRAGMA user_version = 14;",
    )?;
    Ok(())
}

const SELECT: &str = "SELECT d.id, r.dataset_uid, r.query, r.inputs, r.definer, r.gate,
        r.allowed_by, r.last_error, r.last_error_at, r.updated_at
   FROM derivations r JOIN datasets d ON d.uid = r.dataset_uid";

fn strings(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

fn row_to_derivation(r: &rusqlite::Row<'_>) -> rusqlite::Result<DerivationRecord> {
    Ok(DerivationRecord {
        dataset_id: r.get(0)?,
        dataset_uid: r.get(1)?,
        query: r.get(2)?,
        inputs: strings(&r.get::<_, String>(3)?),
        definer: r.get(4)?,
        gate: strings(&r.get::<_, String>(5)?),
        allowed_by: r.get(6)?,
        last_error: r.get(7)?,
        last_error_at: r.get(8)?,
        updated_at: r.get(9)?,
    })
}

impl DerivationCatalog for SqliteCatalog {
    fn set_derivation(&self, actor: &Actor, dataset: &str, new: &NewDerivation<'_>) -> Result<()> {
        let mut conn = self.conn();
        let inputs = serde_json::Value::from(new.inputs.to_vec()).to_string();
        write(&mut conn, |tx| {
            let uid = dataset_uid(tx, dataset)?;
            tx.execute(
                "INSERT INTO derivations (dataset_uid, query, inputs, definer, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (dataset_uid) DO UPDATE SET query = excluded.query,
                   inputs = excluded.inputs, definer = excluded.definer,
                   last_error = NULL, last_error_at = NULL, updated_at = excluded.updated_at",
                params![uid, new.query, inputs, new.definer, now_rfc3339()],
            )?;
            append(
                tx,
                actor,
                "dataset.derivation.set",
                dataset,
                json!({"query": new.query, "inputs": new.inputs}),
            )
        })
    }

    fn clear_derivation(&self, actor: &Actor, dataset: &str) -> Result<bool> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let uid = dataset_uid(tx, dataset)?;
            let n = tx.execute("DELETE FROM derivations WHERE dataset_uid = ?1", [&uid])?;
            if n > 0 {
                append(tx, actor, "dataset.derivation.clear", dataset, json!({}))?;
            }
            Ok(n > 0)
        })
    }

    fn derivation(&self, dataset: &str) -> Result<Option<DerivationRecord>> {
        let conn = self.conn();
        let uid = dataset_uid(&conn, dataset)?;
        let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE r.dataset_uid = ?1"))?;
        Ok(stmt.query_row([uid], row_to_derivation).optional()?)
    }

    fn derivations(&self) -> Result<Vec<DerivationRecord>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached(&format!("{SELECT} WHERE d.deleted_at IS NULL ORDER BY d.id"))?;
        let rows = stmt.query_map([], row_to_derivation)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn set_derivation_state(&self, uid: &str, error: Option<&str>, gate: &[String]) -> Result<()> {
        let gate = serde_json::Value::from(gate.to_vec()).to_string();
        let mut conn = self.conn();
        let same: Option<bool> = conn
            .query_row(
                "SELECT last_error IS ?2 AND gate = ?3 FROM derivations WHERE dataset_uid = ?1",
                params![uid, error, gate],
                |r| r.get(0),
            )
            .optional()?;
        if same != Some(false) {
            return Ok(());
        }
        write(&mut conn, |tx| {
            tx.execute(
                "UPDATE derivations SET last_error = ?2, gate = ?3,
                   last_error_at = CASE WHEN ?2 IS NULL THEN NULL ELSE ?4 END
                 WHERE dataset_uid = ?1",
                params![uid, error, gate, now_rfc3339()],
            )?;
            Ok(())
        })
    }

    fn allow_derivation(&self, actor: &Actor, dataset: &str, by: Option<&str>) -> Result<()> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let uid = dataset_uid(tx, dataset)?;
            tx.execute(
                "UPDATE derivations SET allowed_by = ?2 WHERE dataset_uid = ?1",
                params![uid, by],
            )?;
            append(tx, actor, "dataset.derivation.allow", dataset, json!({"allowed_by": by}))
        })
    }

    fn record_derived_version(&self, uid: &str, version: i64, inputs: &str) -> Result<()> {
        let conn = self.conn();
        conn.execute(
            "INSERT OR REPLACE INTO derived_versions (dataset_uid, version, inputs)
             VALUES (?1, ?2, ?3)",
            params![uid, version, inputs],
        )?;
        Ok(())
    }

    fn derived_version_inputs(&self, uid: &str, version: i64) -> Result<Option<String>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT inputs FROM derived_versions WHERE dataset_uid = ?1 AND version = ?2",
                params![uid, version],
                |r| r.get(0),
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[test]
    fn definitions_and_version_inputs_are_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let actor = Actor::Operator(Some("test".to_owned()));
        let missing = store.catalog().set_derivation(
            &actor,
            "nope",
            &NewDerivation { query: "SELECT 1", inputs: &[], definer: None },
        );
        assert!(matches!(missing, Err(crate::Error::DatasetNotFound { .. })), "{missing:?}");
        assert!(store.catalog().derivations().unwrap().is_empty());
    }
}
