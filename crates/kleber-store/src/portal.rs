//! The portal's settings (catalog schema 8): what portal admins set for the whole portal —
//! the themes offered to publishers, the home page's text and featured datasets, the about
//! page — one JSON value per key in table `portal_settings`. The store keeps the values as
//! given; their shape and checks belong to `kleber_app::portal`. Every change appends its
//! audit entry (`portal.<key>`) in the same transaction and bumps `generation`, so the
//! derived catalog state (theme labels of the facets) follows.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use crate::accounts::Actor;
use crate::error::{Error, Result};
use crate::publish::now_rfc3339;
use crate::sqlite::{SqliteCatalog, write};
use crate::sqlite_accounts::append;

/// The portal's settings, by key.
pub trait PortalCatalog: Send + Sync {
    /// The value of setting `key`, if it was ever set.
    fn portal_setting(&self, key: &str) -> Result<Option<Value>>;
    /// Sets `key` to `value`, appending `portal.<key>` with `details` to the audit log.
    fn set_portal_setting(
        &self,
        actor: &Actor,
        key: &str,
        value: &Value,
        details: Value,
    ) -> Result<()>;
    /// How many datasets (in the trash or not) list `theme` among their themes.
    fn datasets_with_theme(&self, theme: &str) -> Result<u64>;
}

/// Schema → 8: the `portal_settings` table.
pub(crate) fn migrate_to_8(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE portal_settings (
           key TEXT PRIMARY KEY,
           value TEXT NOT NULL,
           updated_at TEXT NOT NULL
         );
         PRAGMA user_version = 8;",
    )?;
    Ok(())
}

impl PortalCatalog for SqliteCatalog {
    fn portal_setting(&self, key: &str) -> Result<Option<Value>> {
        let conn = self.conn();
        let text: Option<String> = conn
            .query_row("SELECT value FROM portal_settings WHERE key = ?1", [key], |r| r.get(0))
            .optional()?;
        text.map(|t| {
            serde_json::from_str(&t)
                .map_err(|e| Error::CorruptCatalog(format!("portal setting {key}: {e}")))
        })
        .transpose()
    }

    fn set_portal_setting(
        &self,
        actor: &Actor,
        key: &str,
        value: &Value,
        details: Value,
    ) -> Result<()> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            tx.execute(
                "INSERT INTO portal_settings (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value,
                                                updated_at = excluded.updated_at",
                params![key, value.to_string(), now_rfc3339()],
            )?;
            append(tx, actor, &format!("portal.{key}"), key, details)
        })
    }

    fn datasets_with_theme(&self, theme: &str) -> Result<u64> {
        let conn = self.conn();
        let n: i64 = conn.query_row(
            "SELECT COUNT(*) FROM datasets d
              WHERE EXISTS (SELECT 1 FROM json_each(d.metas, '$.theme') t WHERE t.value = ?1)",
            [theme],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or_default())
    }
}
