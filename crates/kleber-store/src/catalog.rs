//! The SQLite catalog: datasets and their versions.

use std::path::{Path, PathBuf};

use kleber_types::Field;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::{Store, layout};

/// Version of the catalog schema written by this code. A change of schema bumps it and adds a
/// migration step in [`migrate`].
const SCHEMA_VERSION: i64 = 2;

pub(crate) fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // Switching a new file to WAL and the first migration take locks that SQLite may refuse at
    // once, without waiting in the busy handler, when another process opens the same new
    // directory at the same moment (it would risk a deadlock): retry those for a while.
    retry_busy(|| conn.pragma_update(None, "journal_mode", "WAL").map_err(Error::from))?;
    // FULL: a committed publish survives a power cut, not only a process crash.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    retry_busy(|| migrate(&conn))?;
    Ok(conn)
}

/// Runs `step` again while SQLite answers "database is busy/locked", for up to 10 s.
fn retry_busy<T>(mut step: impl FnMut() -> Result<T>) -> Result<T> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut pause = std::time::Duration::from_millis(2);
    loop {
        match step() {
            Err(Error::Catalog(rusqlite::Error::SqliteFailure(e, _)))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

/// Brings the catalog schema up to date, in one write transaction so that two processes
/// opening a new data directory at once cannot both create the tables.
fn migrate(conn: &Connection) -> Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match migrate_in_transaction(conn) {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn migrate_in_transaction(conn: &Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(Error::CorruptCatalog(format!(
            "catalog schema version {version} is newer than this binary's {SCHEMA_VERSION}"
        )));
    }
    if version < 1 {
        conn.execute_batch(
            "CREATE TABLE datasets (
               uid TEXT PRIMARY KEY,
               id TEXT NOT NULL UNIQUE,
               title TEXT NOT NULL,
               description TEXT,
               metas TEXT NOT NULL DEFAULT '{}',
               current_version INTEGER,
               created_at TEXT NOT NULL,
               modified_at TEXT NOT NULL
             );
             CREATE TABLE versions (
               dataset_uid TEXT NOT NULL REFERENCES datasets(uid),
               version INTEGER NOT NULL,
               fields TEXT NOT NULL,
               records_count INTEGER NOT NULL,
               rejected_count INTEGER NOT NULL DEFAULT 0,
               source TEXT,
               created_at TEXT NOT NULL,
               PRIMARY KEY (dataset_uid, version)
             );
             PRAGMA user_version = 1;",
        )?;
    }
    if version < 2 {
        // A counter bumped by every catalog write, so readers can cache derived state
        // (the catalog table, the search index) and notice changes with one cheap query.
        conn.execute_batch(
            "CREATE TABLE generation (n INTEGER NOT NULL);
             INSERT INTO generation VALUES (0);
             PRAGMA user_version = 2;",
        )?;
    }
    Ok(())
}

/// A published dataset with its current version.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetRecord {
    /// Immutable identifier, `da_` and six base-36 characters.
    pub uid: String,
    /// The slug used in URLs.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description (HTML allowed, as in Opendatasoft), or `None`.
    pub description: Option<String>,
    /// Other `default` metadata (publisher, theme, keyword, license, ...).
    pub metas: Map<String, Value>,
    /// When the dataset's data or metadata last changed (RFC 3339).
    pub modified: String,
    /// The version served.
    pub version: VersionRecord,
}

/// One immutable version of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRecord {
    /// Version number, from 1.
    pub number: i64,
    /// Schema of the version.
    pub fields: Vec<Field>,
    /// Number of records in the version.
    pub records_count: i64,
    /// Rows of the source that were rejected.
    pub rejected_count: i64,
    /// Where the source came from (a file name), if known.
    pub source: Option<String>,
    /// When it was published (RFC 3339).
    pub created_at: String,
    /// Absolute path of the Parquet file.
    pub data_path: PathBuf,
    /// Absolute path of the rejected-rows report, if there is one.
    pub report_path: Option<PathBuf>,
}

const SELECT_CURRENT: &str = "SELECT d.uid, d.id, d.title, d.description, d.metas, d.modified_at,
        v.version, v.fields, v.records_count, v.rejected_count, v.source, v.created_at
   FROM datasets d JOIN versions v ON v.dataset_uid = d.uid AND v.version = d.current_version";

impl Store {
    /// Every published dataset, ordered by identifier.
    pub fn list_datasets(&self) -> Result<Vec<DatasetRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("{SELECT_CURRENT} ORDER BY d.id"))?;
        let rows = stmt.query_map([], |row| self.row_to_dataset(row))?;
        rows.map(|r| r?.map_err(Error::CorruptCatalog)).collect()
    }

    /// The published dataset with this identifier, or `None`.
    pub fn get_dataset(&self, id: &str) -> Result<Option<DatasetRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("{SELECT_CURRENT} WHERE d.id = ?1"))?;
        let found = stmt.query_row([id], |row| self.row_to_dataset(row)).optional()?;
        found.transpose().map_err(Error::CorruptCatalog)
    }

    /// The catalog's generation: it changes whenever a dataset is published or its metadata
    /// change, in this process or another.
    pub fn generation(&self) -> Result<i64> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT n FROM generation")?;
        Ok(stmt.query_row([], |r| r.get(0))?)
    }

    /// The generation as [`generation`](Self::generation) would read it, answered from memory
    /// when it cannot have changed: a change committed by this process is seen at once, one
    /// committed by another process within [`freshness::MAX_AGE`](crate::freshness::MAX_AGE).
    /// For readers that ask on every request.
    pub fn recent_generation(&self) -> Result<i64> {
        self.freshness.generation(|| self.generation())
    }

    /// Version numbers of a dataset, newest first.
    pub fn versions(&self, id: &str) -> Result<Vec<i64>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT v.version FROM versions v JOIN datasets d ON d.uid = v.dataset_uid
              WHERE d.id = ?1 ORDER BY v.version DESC",
        )?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Merges `patch` into a dataset's metadata: `title` and `description` go to their columns,
    /// other keys into `metas` (a `null` removes a key).
    pub fn update_metas(&self, id: &str, patch: &Map<String, Value>) -> Result<()> {
        let conn = self.conn();
        let found: Option<(String, String)> = conn
            .query_row("SELECT uid, metas FROM datasets WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let Some((uid, metas)) = found else {
            return Err(Error::DatasetNotFound { id: id.to_owned() });
        };
        let mut metas: Map<String, Value> =
            serde_json::from_str(&metas).map_err(|e| Error::CorruptCatalog(e.to_string()))?;
        let now = crate::publish::now_rfc3339();
        let tx = conn.unchecked_transaction()?;
        for (key, value) in patch {
            match (key.as_str(), value) {
                ("title", Value::String(t)) => {
                    tx.execute("UPDATE datasets SET title = ?1 WHERE uid = ?2", params![t, uid])?;
                }
                ("description", v) => {
                    tx.execute(
                        "UPDATE datasets SET description = ?1 WHERE uid = ?2",
                        params![v.as_str(), uid],
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
        let metas = Value::Object(metas).to_string();
        tx.execute(
            "UPDATE datasets SET metas = ?1, modified_at = ?2 WHERE uid = ?3",
            params![metas, now, uid],
        )?;
        tx.execute("UPDATE generation SET n = n + 1", [])?;
        tx.commit()?;
        self.freshness.committed();
        Ok(())
    }

    /// Changes the annotations of one field of a dataset's current version (which fields are
    /// facets, disjunctive, how they sort...). Annotations are metadata: the data files are
    /// untouched. `set` adds or replaces annotations, `remove` deletes them. Returns the field.
    pub fn annotate_field(
        &self,
        id: &str,
        field: &str,
        set: &[(String, Vec<String>)],
        remove: &[String],
    ) -> Result<Field> {
        let conn = self.conn();
        let found: Option<(String, i64, String)> = conn
            .query_row(
                "SELECT d.uid, v.version, v.fields FROM datasets d
                   JOIN versions v ON v.dataset_uid = d.uid AND v.version = d.current_version
                  WHERE d.id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((uid, version, fields)) = found else {
            return Err(Error::DatasetNotFound { id: id.to_owned() });
        };
        let mut fields: Vec<Field> =
            serde_json::from_str(&fields).map_err(|e| Error::CorruptCatalog(e.to_string()))?;
        let names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
        let Some(target) = fields.iter_mut().find(|f| f.name == field) else {
            return Err(Error::FieldNotFound {
                dataset: id.to_owned(),
                field: field.to_owned(),
                fields: names,
            });
        };
        for name in remove {
            target.annotations.remove(name);
        }
        for (name, args) in set {
            target.annotations.insert(name.clone(), args.clone());
        }
        let updated = target.clone();
        let json =
            serde_json::to_string(&fields).map_err(|e| Error::CorruptCatalog(e.to_string()))?;
        let tx = conn.unchecked_transaction()?;
        tx.execute(
            "UPDATE versions SET fields = ?1 WHERE dataset_uid = ?2 AND version = ?3",
            params![json, uid, version],
        )?;
        tx.execute(
            "UPDATE datasets SET modified_at = ?1 WHERE uid = ?2",
            params![crate::publish::now_rfc3339(), uid],
        )?;
        tx.execute("UPDATE generation SET n = n + 1", [])?;
        tx.commit()?;
        self.freshness.committed();
        Ok(updated)
    }

    fn row_to_dataset(
        &self,
        row: &rusqlite::Row<'_>,
    ) -> rusqlite::Result<std::result::Result<DatasetRecord, String>> {
        let uid: String = row.get(0)?;
        let metas: String = row.get(4)?;
        let number: i64 = row.get(6)?;
        let fields: String = row.get(7)?;
        let rejected_count: i64 = row.get(9)?;
        let dir = layout::dataset_dir(&self.root, &uid).join(layout::version_dir_name(number));
        let parsed = (|| {
            let metas: Map<String, Value> =
                serde_json::from_str(&metas).map_err(|e| format!("metas of {uid}: {e}"))?;
            let fields: Vec<Field> = serde_json::from_str(&fields)
                .map_err(|e| format!("fields of {uid} v{number}: {e}"))?;
            Ok((metas, fields))
        })();
        let (metas, fields) = match parsed {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        Ok(Ok(DatasetRecord {
            id: row.get(1)?,
            title: row.get(2)?,
            description: row.get(3)?,
            metas,
            modified: row.get(5)?,
            version: VersionRecord {
                number,
                fields,
                records_count: row.get(8)?,
                rejected_count,
                source: row.get(10)?,
                created_at: row.get(11)?,
                data_path: dir.join(layout::DATA_FILE),
                report_path: (rejected_count > 0).then(|| dir.join(layout::REPORT_FILE)),
            },
            uid,
        }))
    }
}
