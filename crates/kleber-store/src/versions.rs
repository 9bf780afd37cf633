//! Versions as readers see them (catalog schema 10): any recorded version by number (for
//! `version=N` queries), and each version's change summary against the version before it
//! (records added, removed, changed), stored with the version once computed; and (schema 19)
//! the publisher's comment on each version, written at publication or edited afterwards.
//!
//! The summary is computed by the application layer (it needs the query engine) at publish,
//! or lazily for versions published before schema 10; it is a fact about two immutable
//! versions, so storing it changes no answer and does not bump the catalog's generation.

use rusqlite::{Connection, OptionalExtension, params};

use crate::accounts::Actor;
use crate::catalog::VersionRecord;
use crate::error::{Error, Result};
use crate::layout;
use crate::sqlite::{SqliteCatalog, write};

/// What changed from the previous version to this one, matched by record id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VersionSummary {
    /// The version compared against (the previous one), or `None` for a first version.
    pub previous: Option<i64>,
    /// Records in this version and not in the previous one.
    pub added: i64,
    /// Records in the previous version and not in this one.
    pub removed: i64,
    /// Records in both whose values differ.
    pub changed: i64,
}

/// Versions by number and their summaries.
pub trait VersionCatalog: Send + Sync {
    /// Version `number` of dataset `uid` (whether its files still exist or not), or `None`.
    fn version_record(&self, uid: &str, number: i64) -> Result<Option<VersionRecord>>;
    /// Stores the summary of version `number` of dataset `uid` (kept if already stored).
    fn set_version_summary(&self, uid: &str, number: i64, summary: &VersionSummary) -> Result<()>;
    /// Replaces the comment of version `number` of dataset `id` (`None`: removes it), done by
    /// `actor` (`version.comment` in the audit log). A comment is part of what the dataset's
    /// answers show (its version list), so the dataset's modification time and the catalog's
    /// generation move with it, as with a metadata edit. Returns `false`, changing nothing,
    /// when the dataset has no such version; refused ([`Error::InvalidState`]) when the
    /// dataset is in the trash or archived.
    fn set_version_comment(
        &self,
        actor: &Actor,
        id: &str,
        number: i64,
        comment: Option<&str>,
    ) -> Result<bool>;
}

/// Schema → 19: each version's comment (`NULL`: none, as every version published before).
pub(crate) fn migrate_to_19(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "ALTER TABLE versions ADD COLUMN comment TEXT;
         PRAGMA user_version = 19;",
    )?;
    Ok(())
}

/// Schema → 10: each version's change summary (`NULL` until computed).
pub(crate) fn migrate_to_10(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "ALTER TABLE versions ADD COLUMN summary TEXT;
         PRAGMA user_version = 10;",
    )?;
    Ok(())
}

/// Parses a stored summary (`NULL`: not computed yet).
pub(crate) fn parse_summary(json: Option<&str>) -> Result<Option<VersionSummary>> {
    json.map(|s| serde_json::from_str(s).map_err(|e| Error::CorruptCatalog(e.to_string())))
        .transpose()
}

/// Whether the files of version `number` of dataset `uid` are gone (pruned by retention, or
/// removed by hand): its catalog entry stays, its data can no longer be read.
pub(crate) fn is_pruned(root: &std::path::Path, uid: &str, number: i64) -> bool {
    !layout::dataset_dir(root, uid)
        .join(layout::version_dir_name(number))
        .join(layout::DATA_FILE)
        .exists()
}

impl VersionCatalog for SqliteCatalog {
    fn version_record(&self, uid: &str, number: i64) -> Result<Option<VersionRecord>> {
        let conn = self.conn();
        let row: Option<(String, i64, i64, Option<String>, String)> = conn
            .query_row(
                "SELECT fields, records_count, rejected_count, source, created_at
                   FROM versions WHERE dataset_uid = ?1 AND version = ?2",
                params![uid, number],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let Some((fields, records_count, rejected_count, source, created_at)) = row else {
            return Ok(None);
        };
        let fields =
            serde_json::from_str(&fields).map_err(|e| Error::CorruptCatalog(e.to_string()))?;
        let dir = layout::dataset_dir(&self.root, uid).join(layout::version_dir_name(number));
        Ok(Some(VersionRecord {
            number,
            fields,
            records_count,
            rejected_count,
            source,
            created_at,
            data_path: dir.join(layout::DATA_FILE),
            report_path: (rejected_count > 0).then(|| dir.join(layout::REPORT_FILE)),
        }))
    }

    fn set_version_summary(&self, uid: &str, number: i64, summary: &VersionSummary) -> Result<()> {
        let json =
            serde_json::to_string(summary).map_err(|e| Error::CorruptCatalog(e.to_string()))?;
        self.conn().execute(
            "UPDATE versions SET summary = ?1
              WHERE dataset_uid = ?2 AND version = ?3 AND summary IS NULL",
            params![json, uid, number],
        )?;
        Ok(())
    }

    fn set_version_comment(
        &self,
        actor: &Actor,
        id: &str,
        number: i64,
        comment: Option<&str>,
    ) -> Result<bool> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let found: Option<(String, Option<String>, Option<String>, bool)> = tx
                .query_row(
                    "SELECT uid, org_id, deleted_at, archived FROM datasets WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            let Some((uid, org, deleted_at, archived)) = found else {
                return Err(Error::DatasetNotFound { id: id.to_owned() });
            };
            if deleted_at.is_some() {
                return Err(Error::InvalidState(format!(
                    "dataset {id:?} is in the trash: restore it before changing a version's comment; nothing was changed"
                )));
            }
            if archived {
                return Err(Error::InvalidState(format!(
                    "dataset {id:?} is archived (read-only): unarchive it before changing a version's comment; nothing was changed"
                )));
            }
            let changed = tx.execute(
                "UPDATE versions SET comment = ?1 WHERE dataset_uid = ?2 AND version = ?3",
                params![comment, uid, number],
            )?;
            if changed == 0 {
                return Ok(false);
            }
            tx.execute(
                "UPDATE datasets SET modified_at = ?1 WHERE uid = ?2",
                params![crate::publish::now_rfc3339(), uid],
            )?;
            crate::sqlite_accounts::append(
                tx,
                actor,
                "version.comment",
                id,
                serde_json::json!({"organization": org, "version": number, "comment": comment}),
            )?;
            Ok(true)
        })
    }
}

/// Names of the fields of `current` not in `previous`, of `previous` not in `current`, and
/// of both whose type differs, sorted.
pub fn fields_changed(
    previous: &[kleber_types::Field],
    current: &[kleber_types::Field],
) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for f in current {
        match previous.iter().find(|p| p.name == f.name) {
            Some(p) if p.field_type == f.field_type => {}
            _ => names.push(f.name.clone()),
        }
    }
    for p in previous {
        if !current.iter().any(|f| f.name == p.name) {
            names.push(p.name.clone());
        }
    }
    names.sort();
    names
}
