//! The SQLite side of [`ManageCatalog`]: schema version 6 and its queries.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_json::{Map, Value, json};

use crate::Visibility;
use crate::accounts::{Actor, parse_word};
use crate::error::{Error, Result};
use crate::manage::{Attachment, Lifecycle, ManageCatalog, ManagedDataset, VersionInfo};
use crate::publish::now_rfc3339;
use crate::sqlite::{SqliteCatalog, write};
use crate::sqlite_accounts::append;

/// Schema → 6: datasets in the trash (`deleted_at`) and archived (`archived`), the Markdown
/// source of descriptions, who published each version and what it restored, and the
/// `attachments` table.
pub(crate) fn migrate_to_6(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "ALTER TABLE datasets ADD COLUMN deleted_at TEXT;
         ALTER TABLE datasets ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE datasets ADD COLUMN description_source TEXT;
         ALTER TABLE versions ADD COLUMN actor TEXT;
         ALTER TABLE versions ADD COLUMN restored_from INTEGER;
         CREATE TABLE attachments (
           dataset_uid TEXT NOT NULL REFERENCES datasets(uid),
           id TEXT NOT NULL,
           title TEXT NOT NULL,
           file_name TEXT NOT NULL,
           mimetype TEXT NOT NULL,
           size INTEGER NOT NULL,
           created_at TEXT NOT NULL,
           updated_at TEXT NOT NULL,
           PRIMARY KEY (dataset_uid, id)
         );
         PRAGMA user_version = 6;",
    )?;
    Ok(())
}

/// Refuses a new version of a dataset in the trash or archived (inside the publication's
/// transaction, so a dataset archived while a file was being read gets no version).
pub(crate) fn check_writable(tx: &Transaction<'_>, uid: &str) -> Result<()> {
    let state: Option<(Option<String>, bool, String)> = tx
        .query_row("SELECT deleted_at, archived, id FROM datasets WHERE uid = ?1", [uid], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    match state {
        Some((Some(_), _, id)) => Err(Error::InvalidState(format!(
            "dataset {id:?} is in the trash: restore it before publishing a version; nothing was published"
        ))),
        Some((None, true, id)) => Err(Error::InvalidState(format!(
            "dataset {id:?} is archived (read-only): unarchive it before publishing a version; nothing was published"
        ))),
        _ => Ok(()),
    }
}

const MANAGED_COLUMNS: &str = "d.uid, d.id, d.title, d.description, d.description_source, d.metas,
    d.org_id, d.visibility, d.archived, d.deleted_at, d.current_version, d.created_at,
    d.modified_at";

fn row_to_managed(row: &rusqlite::Row<'_>) -> rusqlite::Result<(ManagedDataset, String, String)> {
    let metas: String = row.get(5)?;
    let visibility: String = row.get(7)?;
    Ok((
        ManagedDataset {
            uid: row.get(0)?,
            id: row.get(1)?,
            title: row.get(2)?,
            description: row.get(3)?,
            description_source: row.get(4)?,
            metas: Map::new(),
            organization: row.get::<_, Option<String>>(6)?.unwrap_or_default(),
            visibility: Visibility::Draft,
            archived: row.get(8)?,
            deleted_at: row.get(9)?,
            current_version: row.get(10)?,
            created_at: row.get(11)?,
            modified: row.get(12)?,
        },
        metas,
        visibility,
    ))
}

fn finish(parts: (ManagedDataset, String, String)) -> Result<ManagedDataset> {
    let (mut d, metas, visibility) = parts;
    d.metas = serde_json::from_str(&metas)
        .map_err(|e| Error::CorruptCatalog(format!("metas of {}: {e}", d.uid)))?;
    d.visibility = parse_word(&visibility)?;
    Ok(d)
}

fn managed(conn: &Connection, id: &str) -> Result<Option<ManagedDataset>> {
    let found = conn
        .query_row(
            &format!("SELECT {MANAGED_COLUMNS} FROM datasets d WHERE d.id = ?1"),
            [id],
            row_to_managed,
        )
        .optional()?;
    found.map(finish).transpose()
}

fn existing(conn: &Connection, id: &str) -> Result<ManagedDataset> {
    managed(conn, id)?.ok_or_else(|| Error::DatasetNotFound { id: id.to_owned() })
}

/// Refuses a change of a dataset in the trash (only restoring it is allowed) or archived.
fn check_live(d: &ManagedDataset, archived_too: bool) -> Result<()> {
    if d.deleted_at.is_some() {
        return Err(Error::InvalidState(format!(
            "dataset {:?} is in the trash: restore it first (POST .../datasets/{}/restore)",
            d.id, d.id
        )));
    }
    if archived_too && d.archived {
        return Err(Error::InvalidState(format!(
            "dataset {:?} is archived (read-only): unarchive it first (POST .../datasets/{}/unarchive)",
            d.id, d.id
        )));
    }
    Ok(())
}

impl ManageCatalog for SqliteCatalog {
    fn create_dataset(
        &self,
        actor: &Actor,
        id: &str,
        org: &str,
        title: &str,
    ) -> Result<ManagedDataset> {
        if !crate::is_valid_dataset_id(id) {
            return Err(Error::InvalidDatasetId { id: id.to_owned() });
        }
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let org_known: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM organizations WHERE id = ?1)",
                [org],
                |r| r.get(0),
            )?;
            if !org_known {
                return Err(Error::OrgNotFound { id: org.to_owned() });
            }
            if managed(tx, id)?.is_some() {
                return Err(Error::DatasetExists { id: id.to_owned() });
            }
            let uid = loop {
                let uid = crate::publish::new_uid();
                let taken: bool = tx.query_row(
                    "SELECT EXISTS(SELECT 1 FROM datasets WHERE uid = ?1)",
                    [&uid],
                    |r| r.get(0),
                )?;
                if !taken {
                    break uid;
                }
            };
            let now = now_rfc3339();
            tx.execute(
                "INSERT INTO datasets (uid, id, title, created_at, modified_at, org_id, visibility)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, 'draft')",
                params![uid, id, title, now, org],
            )?;
            append(tx, actor, "dataset.create", id, json!({"organization": org, "title": title}))?;
            existing(tx, id)
        })
    }

    fn managed_dataset(&self, id: &str) -> Result<Option<ManagedDataset>> {
        managed(&self.conn(), id)
    }

    fn managed_datasets(&self) -> Result<Vec<ManagedDataset>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare(&format!("SELECT {MANAGED_COLUMNS} FROM datasets d ORDER BY d.id"))?;
        let rows = stmt.query_map([], row_to_managed)?;
        rows.map(|r| finish(r?)).collect()
    }

    fn edit_metas(&self, actor: &Actor, id: &str, patch: &Map<String, Value>) -> Result<()> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let d = existing(tx, id)?;
            check_live(&d, true)?;
            let mut metas = d.metas.clone();
            for (key, value) in patch {
                match (key.as_str(), value) {
                    ("title", Value::String(t)) => {
                        tx.execute(
                            "UPDATE datasets SET title = ?1 WHERE uid = ?2",
                            params![t, d.uid],
                        )?;
                    }
                    ("description", v) => {
                        tx.execute(
                            "UPDATE datasets SET description = ?1 WHERE uid = ?2",
                            params![v.as_str(), d.uid],
                        )?;
                    }
                    ("description_source", v) => {
                        tx.execute(
                            "UPDATE datasets SET description_source = ?1 WHERE uid = ?2",
                            params![v.as_str(), d.uid],
                        )?;
                    }
                    (_, Value::Null) => {
                        metas.remove(key);
                    }
                    _ => {
                        metas.insert(key.clone(), value.clone());
                    }
                }
            }
            tx.execute(
                "UPDATE datasets SET metas = ?1, modified_at = ?2 WHERE uid = ?3",
                params![Value::Object(metas).to_string(), now_rfc3339(), d.uid],
            )?;
            let keys: Vec<&String> = patch.keys().collect();
            append(
                tx,
                actor,
                "dataset.metadata",
                id,
                json!({"organization": d.organization, "keys": keys}),
            )
        })
    }

    fn change_lifecycle(&self, actor: &Actor, id: &str, change: Lifecycle) -> Result<()> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let d = existing(tx, id)?;
            let now = now_rfc3339();
            let mut details = json!({"organization": d.organization});
            match change {
                Lifecycle::Delete => {
                    check_live(&d, false)?;
                    tx.execute(
                        "UPDATE datasets SET deleted_at = ?1 WHERE uid = ?2",
                        params![now, d.uid],
                    )?;
                }
                Lifecycle::Restore => {
                    if d.deleted_at.is_none() {
                        return Err(Error::InvalidState(format!(
                            "dataset {id:?} is not in the trash: there is nothing to restore"
                        )));
                    }
                    tx.execute(
                        "UPDATE datasets SET deleted_at = NULL, modified_at = ?1 WHERE uid = ?2",
                        params![now, d.uid],
                    )?;
                }
                Lifecycle::Publish(visibility) => {
                    check_live(&d, true)?;
                    if visibility == Visibility::Draft {
                        return Err(Error::InvalidState(
                            "publishing makes a dataset public or restricted, not draft".to_owned(),
                        ));
                    }
                    if d.current_version.is_none() {
                        return Err(Error::InvalidState(format!(
                            "dataset {id:?} has no version yet: send its data first (an upload or `kleber import`), then publish it"
                        )));
                    }
                    tx.execute(
                        "UPDATE datasets SET visibility = ?1, modified_at = ?2 WHERE uid = ?3",
                        params![visibility.as_str(), now, d.uid],
                    )?;
                    details["from"] = json!(d.visibility.as_str());
                    details["visibility"] = json!(visibility.as_str());
                }
                Lifecycle::Unpublish => {
                    check_live(&d, true)?;
                    tx.execute(
                        "UPDATE datasets SET visibility = 'draft', modified_at = ?1 WHERE uid = ?2",
                        params![now, d.uid],
                    )?;
                    details["from"] = json!(d.visibility.as_str());
                }
                Lifecycle::Archive | Lifecycle::Unarchive => {
                    check_live(&d, false)?;
                    let archive = change == Lifecycle::Archive;
                    tx.execute(
                        "UPDATE datasets SET archived = ?1, modified_at = ?2 WHERE uid = ?3",
                        params![archive, now, d.uid],
                    )?;
                }
            }
            append(tx, actor, change.action(), id, details)
        })
    }

    fn purge_deleted(&self, before: &str) -> Result<Vec<String>> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let mut stmt = tx.prepare(
                "SELECT uid, id, org_id, deleted_at FROM datasets
                  WHERE deleted_at IS NOT NULL AND deleted_at < ?1",
            )?;
            let rows: Vec<(String, String, Option<String>, String)> = stmt
                .query_map([before], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<_>>()?;
            drop(stmt);
            for (uid, id, org, deleted_at) in &rows {
                for table in ["versions", "dataset_grants", "attachments", "push_keys"] {
                    tx.execute(&format!("DELETE FROM {table} WHERE dataset_uid = ?1"), [uid])?;
                }
                tx.execute("DELETE FROM datasets WHERE uid = ?1", [uid])?;
                append(
                    tx,
                    &Actor::System,
                    "dataset.purge",
                    id,
                    json!({"organization": org, "uid": uid, "deleted_at": deleted_at}),
                )?;
            }
            Ok(rows.into_iter().map(|(uid, ..)| uid).collect())
        })
    }

    fn version_infos(&self, id: &str) -> Result<Vec<VersionInfo>> {
        let conn = self.conn();
        let d = existing(&conn, id)?;
        let mut stmt = conn.prepare_cached(
            "SELECT version, created_at, records_count, rejected_count, source, actor, restored_from,
                    summary, fields, comment
               FROM versions WHERE dataset_uid = ?1 ORDER BY version DESC",
        )?;
        let rows = stmt.query_map([&d.uid], |r| {
            let number: i64 = r.get(0)?;
            let summary: Option<String> = r.get(7)?;
            let fields: String = r.get(8)?;
            Ok((
                VersionInfo {
                    number,
                    created_at: r.get(1)?,
                    records: r.get(2)?,
                    rejected: r.get(3)?,
                    source: r.get(4)?,
                    actor: r.get(5)?,
                    restored_from: r.get(6)?,
                    current: d.current_version == Some(number),
                    summary: None,
                    fields_changed: Vec::new(),
                    pruned: crate::versions::is_pruned(&self.root, &d.uid, number),
                    comment: r.get(9)?,
                },
                summary,
                fields,
            ))
        })?;
        let rows: Vec<_> = rows.collect::<rusqlite::Result<_>>()?;
        let mut schemas: Vec<Vec<kleber_types::Field>> = Vec::with_capacity(rows.len());
        let mut infos = Vec::with_capacity(rows.len());
        for (mut info, summary, fields) in rows {
            info.summary = crate::versions::parse_summary(summary.as_deref())?;
            schemas.push(
                serde_json::from_str(&fields).map_err(|e| Error::CorruptCatalog(e.to_string()))?,
            );
            infos.push(info);
        }
        // Newest first: each version's previous one is the next entry.
        for (i, info) in infos.iter_mut().enumerate() {
            if let Some(previous) = schemas.get(i + 1) {
                info.fields_changed = crate::versions::fields_changed(previous, &schemas[i]);
            }
        }
        Ok(infos)
    }

    fn version_fields(&self, uid: &str, number: i64) -> Result<Vec<kleber_types::Field>> {
        let json: String = self
            .conn()
            .query_row(
                "SELECT fields FROM versions WHERE dataset_uid = ?1 AND version = ?2",
                params![uid, number],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| Error::InvalidState(format!("no version {number} of {uid}")))?;
        serde_json::from_str(&json).map_err(|e| Error::CorruptCatalog(e.to_string()))
    }

    fn attachments(&self, uid: &str) -> Result<Vec<Attachment>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, title, file_name, mimetype, size, created_at, updated_at
               FROM attachments WHERE dataset_uid = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([uid], |r| {
            Ok(Attachment {
                id: r.get(0)?,
                title: r.get(1)?,
                file_name: r.get(2)?,
                mimetype: r.get(3)?,
                size: r.get(4)?,
                created_at: r.get(5)?,
                updated_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn put_attachment(&self, actor: &Actor, id: &str, a: &Attachment) -> Result<()> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let d = existing(tx, id)?;
            check_live(&d, true)?;
            let replaced = tx.execute(
                "UPDATE attachments SET title = ?1, file_name = ?2, mimetype = ?3, size = ?4,
                        updated_at = ?5
                  WHERE dataset_uid = ?6 AND id = ?7",
                params![a.title, a.file_name, a.mimetype, a.size, a.updated_at, d.uid, a.id],
            )? > 0;
            if !replaced {
                tx.execute(
                    "INSERT INTO attachments (dataset_uid, id, title, file_name, mimetype, size, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![d.uid, a.id, a.title, a.file_name, a.mimetype, a.size, a.created_at, a.updated_at],
                )?;
            }
            tx.execute(
                "UPDATE datasets SET modified_at = ?1 WHERE uid = ?2",
                params![a.updated_at, d.uid],
            )?;
            let action = if replaced { "attachment.replace" } else { "attachment.add" };
            append(
                tx,
                actor,
                action,
                id,
                json!({"organization": d.organization, "attachment": a.id, "size": a.size,
                       "mimetype": a.mimetype}),
            )
        })
    }

    fn remove_attachment(&self, actor: &Actor, id: &str, attachment: &str) -> Result<bool> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let d = existing(tx, id)?;
            check_live(&d, true)?;
            let removed = tx.execute(
                "DELETE FROM attachments WHERE dataset_uid = ?1 AND id = ?2",
                params![d.uid, attachment],
            )? > 0;
            if removed {
                tx.execute(
                    "UPDATE datasets SET modified_at = ?1 WHERE uid = ?2",
                    params![now_rfc3339(), d.uid],
                )?;
                append(
                    tx,
                    actor,
                    "attachment.remove",
                    id,
                    json!({"organization": d.organization, "attachment": attachment}),
                )?;
            }
            Ok(removed)
        })
    }
}

/// The attachments of a dataset as `SELECT_CURRENT` reads them: a JSON array of
/// `[id, title, file_name, mimetype, size, created_at, updated_at]` arrays.
pub(crate) fn parse_attachments(
    json: Option<&str>,
) -> std::result::Result<Vec<Attachment>, String> {
    type Row = (String, String, String, String, i64, String, String);
    let rows: Vec<Row> = match json {
        None => Vec::new(),
        Some(text) => serde_json::from_str(text).map_err(|e| e.to_string())?,
    };
    Ok(rows
        .into_iter()
        .map(|(id, title, file_name, mimetype, size, created_at, updated_at)| Attachment {
            id,
            title,
            file_name,
            mimetype,
            size,
            created_at,
            updated_at,
        })
        .collect())
}
