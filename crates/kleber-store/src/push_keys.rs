//! Push keys of the real-time push API (catalog schema 7): one or more per dataset, separate
//! from API keys, stored as the SHA-256 digest of their secret, revocable.
//!
//! A key is found by its public id; the caller compares the digest of the secret presented
//! with [`PushKeyGrant::secret_hash`]. Creating and revoking keys and every push are in the
//! audit log (`dataset.push_key.create`, `dataset.push_key.revoke`, `dataset.push`).

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

use crate::accounts::Actor;
use crate::error::Result;
use crate::publish::now_rfc3339;
use crate::sqlite::{SqliteCatalog, write};
use crate::sqlite_accounts::{append, dataset_uid};

/// What a push key grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushKeyGrant {
    /// The key's public id.
    pub id: String,
    /// The uid of the dataset it pushes to.
    pub dataset_uid: String,
    /// The SHA-256 digest of its secret.
    pub secret_hash: Vec<u8>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// The push keys of datasets.
pub trait PushKeyCatalog: Send + Sync {
    /// Stores a new push key of dataset `dataset` (its public id and its secret's digest),
    /// appending `dataset.push_key.create`.
    fn create_push_key(
        &self,
        actor: &Actor,
        dataset: &str,
        id: &str,
        secret_hash: &[u8],
    ) -> Result<()>;
    /// Revokes every current push key of dataset `dataset`, appending
    /// `dataset.push_key.revoke`; returns how many were revoked.
    fn revoke_push_keys(&self, actor: &Actor, dataset: &str) -> Result<usize>;
    /// The key with this public id, revoked or not.
    fn push_key_grant(&self, id: &str) -> Result<Option<PushKeyGrant>>;
    /// Appends `dataset.push` (what a push accepted and rejected) to the audit log.
    fn audit_push(&self, key_id: &str, dataset: &str, details: Value) -> Result<()>;
}

/// Schema → 7: the `push_keys` table.
pub(crate) fn migrate_to_7(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE push_keys (
           id TEXT PRIMARY KEY,
           dataset_uid TEXT NOT NULL REFERENCES datasets(uid),
           secret_hash BLOB NOT NULL,
           created_at TEXT NOT NULL,
           revoked_at TEXT
         );
         CREATE INDEX push_keys_dataset ON push_keys(dataset_uid);
         PRAGMA user_version = 7;",
    )?;
    Ok(())
}

impl PushKeyCatalog for SqliteCatalog {
    fn create_push_key(
        &self,
        actor: &Actor,
        dataset: &str,
        id: &str,
        secret_hash: &[u8],
    ) -> Result<()> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let uid = dataset_uid(tx, dataset)?;
            tx.execute(
                "INSERT INTO push_keys (id, dataset_uid, secret_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![id, uid, secret_hash, now_rfc3339()],
            )?;
            append(tx, actor, "dataset.push_key.create", dataset, json!({"key": id}))
        })
    }

    fn revoke_push_keys(&self, actor: &Actor, dataset: &str) -> Result<usize> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let uid = dataset_uid(tx, dataset)?;
            let n = tx.execute(
                "UPDATE push_keys SET revoked_at = ?1 WHERE dataset_uid = ?2 AND revoked_at IS NULL",
                params![now_rfc3339(), uid],
            )?;
            append(tx, actor, "dataset.push_key.revoke", dataset, json!({"revoked": n}))?;
            Ok(n)
        })
    }

    fn push_key_grant(&self, id: &str) -> Result<Option<PushKeyGrant>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT id, dataset_uid, secret_hash, revoked_at FROM push_keys WHERE id = ?1",
                [id],
                |r| {
                    Ok(PushKeyGrant {
                        id: r.get(0)?,
                        dataset_uid: r.get(1)?,
                        secret_hash: r.get(2)?,
                        revoked_at: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    fn audit_push(&self, key_id: &str, dataset: &str, details: Value) -> Result<()> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO audit_log (at, actor, via, action, target, details)
             VALUES (?1, ?2, ?3, 'dataset.push', ?4, ?5)",
            params![
                now_rfc3339(),
                format!("pushkey:{key_id}"),
                format!("pushkey:{key_id}"),
                dataset,
                details.to_string()
            ],
        )?;
        Ok(())
    }
}
