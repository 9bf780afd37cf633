//! The SQLite catalog: datasets and their versions, in `<data dir>/catalog.sqlite` (WAL).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use kleber_types::Field;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::{Map, Value};

use crate::catalog::{Catalog, DatasetRecord, NewVersion, VersionRecord};
use crate::error::{Error, Result};
use crate::layout;

/// Version of the catalog schema written by this code. A change of schema bumps it and adds a
/// migration step in [`migrate`].
pub(crate) const SCHEMA_VERSION: i64 = 19;

/// The embedded catalog: one SQLite connection, shared behind a mutex.
pub struct SqliteCatalog {
    pub(crate) root: PathBuf,
    pub(crate) conn: Mutex<Connection>,
}

impl SqliteCatalog {
    /// Opens (creating and migrating if needed) the catalog of the data directory `root`.
    ///
    /// Refuses a catalog that is missing, empty or not a SQLite database while `root` already
    /// holds dataset files: a new catalog would take every dataset for an orphan.
    pub fn open(root: &Path) -> Result<SqliteCatalog> {
        SqliteCatalog::open_with_default_org(root, crate::accounts::DEFAULT_ORG)
    }

    /// [`SqliteCatalog::open`], naming the organization that datasets without one are given
    /// when a catalog written before organizations existed is migrated (and new datasets go to
    /// when none is named). Ignored once the catalog has a default organization.
    pub fn open_with_default_org(root: &Path, default_org: &str) -> Result<SqliteCatalog> {
        if !crate::accounts::is_valid_org_id(default_org) {
            return Err(Error::InvalidOrgId { id: default_org.to_owned() });
        }
        let path = root.join(layout::CATALOG_FILE);
        let datasets = layout::dataset_dirs(root)?;
        let conn = open(&path, datasets, default_org).map_err(|e| match e {
            Error::Catalog(source) => Error::UnreadableCatalog { path: path.clone(), source },
            other => other,
        })?;
        Ok(SqliteCatalog { root: root.to_path_buf(), conn: Mutex::new(conn) })
    }

    pub(crate) fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave the connection in a torn state
        // (SQLite transactions roll back on drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Opens the catalog file; `datasets` is the number of dataset folders already on disk.
fn open(path: &Path, datasets: usize, default_org: &str) -> Result<Connection> {
    if datasets > 0 && std::fs::metadata(path).map(|m| m.len() == 0).unwrap_or(true) {
        return Err(Error::MissingCatalog { path: path.to_path_buf(), datasets });
    }
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // Switching a new file to WAL and the first migration take locks that SQLite may refuse at
    // once, without waiting in the busy handler, when another process opens the same new
    // directory at the same moment (it would risk a deadlock): retry those for a while.
    retry_busy(|| conn.pragma_update(None, "journal_mode", "WAL").map_err(Error::from))?;
    // FULL: a committed publish survives a power cut, not only a process crash.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    retry_busy(|| migrate(&conn, path, datasets, default_org))?;
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
fn migrate(conn: &Connection, path: &Path, datasets: usize, default_org: &str) -> Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match migrate_in_transaction(conn, path, datasets, default_org) {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn migrate_in_transaction(
    conn: &Connection,
    path: &Path,
    datasets: usize,
    default_org: &str,
) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version == 0 && datasets > 0 {
        // A SQLite file without our tables beside dataset files: not the catalog of these
        // datasets (restored from the wrong place, or emptied). Creating tables in it would
        // make every dataset an orphan.
        return Err(Error::MissingCatalog { path: path.to_path_buf(), datasets });
    }
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
    if version < 3 {
        crate::sqlite_accounts::migrate_to_3(conn, default_org)?;
    }
    if version < 4 {
        crate::sqlite_accounts::migrate_to_4(conn)?;
    }
    if version < 5 {
        crate::sqlite_accounts::migrate_to_5(conn)?;
    }
    if version < 6 {
        crate::sqlite_manage::migrate_to_6(conn)?;
    }
    if version < 7 {
        crate::push_keys::migrate_to_7(conn)?;
    }
    if version < 8 {
        crate::portal::migrate_to_8(conn)?;
    }
    if version < 10 {
        crate::versions::migrate_to_10(conn)?;
    }
    if version < 11 {
        crate::sources::migrate_to_11(conn)?;
    }
    if version < 12 {
        crate::processors::migrate_to_12(conn)?;
    }
    if version < 13 {
        crate::harvests::migrate_to_13(conn)?;
    }
    if version < 14 {
        crate::derivations::migrate_to_14(conn)?;
    }
    if version < 15 {
        crate::retention::migrate_to_15(conn)?;
    }
    if version < 16 {
        crate::feeds::migrate_to_16(conn)?;
    }
    if version < 17 {
        crate::harvests::migrate_to_17(conn)?;
    }
    if version < 18 {
        crate::harvests::migrate_to_18(conn)?;
    }
    if version < 19 {
        crate::versions::migrate_to_19(conn)?;
    }
    Ok(())
}

const SELECT_CURRENT: &str = "SELECT d.uid, d.id, d.title, d.description, d.metas, d.modified_at,
        v.version, v.fields, v.records_count, v.rejected_count, v.source, v.created_at,
        d.org_id, d.visibility, d.archived,
        (SELECT json_group_array(json_array(a.id, a.title, a.file_name, a.mimetype, a.size,
                                            a.created_at, a.updated_at))
           FROM (SELECT * FROM attachments WHERE dataset_uid = d.uid ORDER BY id) a),
        d.rule
   FROM datasets d JOIN versions v ON v.dataset_uid = d.uid AND v.version = d.current_version
        AND d.deleted_at IS NULL";

/// Runs `f` in a transaction that takes SQLite's write lock before its first read
/// (`BEGIN IMMEDIATE`), so a read-modify-write never works on a stale read.
pub(crate) fn write<T>(
    conn: &mut Connection,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
) -> Result<T> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let out = f(&tx)?;
    tx.execute("UPDATE generation SET n = n + 1", [])?;
    tx.commit()?;
    Ok(out)
}

fn parse_fields(json: &str) -> Result<Vec<Field>> {
    serde_json::from_str(json).map_err(|e| Error::CorruptCatalog(e.to_string()))
}

impl Catalog for SqliteCatalog {
    fn list_datasets(&self) -> Result<Vec<DatasetRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("{SELECT_CURRENT} ORDER BY d.id"))?;
        let rows = stmt.query_map([], |row| self.row_to_dataset(row))?;
        rows.map(|r| r?.map_err(Error::CorruptCatalog)).collect()
    }

    fn get_dataset(&self, id: &str) -> Result<Option<DatasetRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("{SELECT_CURRENT} WHERE d.id = ?1"))?;
        let found = stmt.query_row([id], |row| self.row_to_dataset(row)).optional()?;
        found.transpose().map_err(Error::CorruptCatalog)
    }

    fn generation(&self) -> Result<i64> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT n FROM generation")?;
        Ok(stmt.query_row([], |r| r.get(0))?)
    }

    fn versions(&self, id: &str) -> Result<Vec<i64>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT v.version FROM versions v JOIN datasets d ON d.uid = v.dataset_uid
              WHERE d.id = ?1 ORDER BY v.version DESC",
        )?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn update_metas(&self, id: &str, patch: &Map<String, Value>) -> Result<()> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let found: Option<(String, String)> = tx
                .query_row("SELECT uid, metas FROM datasets WHERE id = ?1", [id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            let Some((uid, metas)) = found else {
                return Err(Error::DatasetNotFound { id: id.to_owned() });
            };
            let mut metas: Map<String, Value> =
                serde_json::from_str(&metas).map_err(|e| Error::CorruptCatalog(e.to_string()))?;
            for (key, value) in patch {
                match (key.as_str(), value) {
                    ("title", Value::String(t)) => {
                        tx.execute(
                            "UPDATE datasets SET title = ?1 WHERE uid = ?2",
                            params![t, uid],
                        )?;
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
                params![metas, crate::publish::now_rfc3339(), uid],
            )?;
            Ok(())
        })
    }

    fn annotate_field(
        &self,
        id: &str,
        field: &str,
        set: &[(String, Vec<String>)],
        remove: &[String],
    ) -> Result<Field> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let found: Option<(String, i64, String)> = tx
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
            let mut fields = parse_fields(&fields)?;
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
            tx.execute(
                "UPDATE versions SET fields = ?1 WHERE dataset_uid = ?2 AND version = ?3",
                params![json, uid, version],
            )?;
            tx.execute(
                "UPDATE datasets SET modified_at = ?1 WHERE uid = ?2",
                params![crate::publish::now_rfc3339(), uid],
            )?;
            Ok(updated)
        })
    }

    fn next_version(&self, id: &str) -> Result<(Option<String>, i64)> {
        let conn = self.conn();
        let uid: Option<String> = conn
            .query_row("SELECT uid FROM datasets WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        let number = match &uid {
            None => 1,
            Some(uid) => conn.query_row(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE dataset_uid = ?1",
                [uid],
                |r| r.get(0),
            )?,
        };
        Ok((uid, number))
    }

    fn uid_taken(&self, uid: &str) -> Result<bool> {
        Ok(self.conn().query_row(
            "SELECT EXISTS(SELECT 1 FROM datasets WHERE uid = ?1)",
            [uid],
            |r| r.get(0),
        )?)
    }

    fn record_version(&self, v: &NewVersion<'_>) -> Result<()> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let mut fields = v.fields.to_vec();
            crate::sqlite_accounts::check_access(tx, v)?;
            crate::sqlite_manage::check_writable(tx, v.uid)?;
            if v.is_new {
                let org = match v.organization {
                    Some(org) => org.to_owned(),
                    None => crate::sqlite_accounts::default_org(tx)?,
                };
                let visibility = v.visibility.unwrap_or(crate::Visibility::Public);
                tx.execute(
                    "INSERT INTO datasets (uid, id, title, created_at, modified_at, org_id, visibility)
                     VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
                    params![v.uid, v.id, v.title.unwrap_or(v.id), v.now, org, visibility.as_str()],
                )?;
            } else {
                if let Some(org) = v.organization {
                    tx.execute(
                        "UPDATE datasets SET org_id = ?1 WHERE uid = ?2",
                        params![org, v.uid],
                    )?;
                }
                if let Some(visibility) = v.visibility {
                    tx.execute(
                        "UPDATE datasets SET visibility = ?1 WHERE uid = ?2",
                        params![visibility.as_str(), v.uid],
                    )?;
                }
                if let Some(title) = v.title {
                    tx.execute(
                        "UPDATE datasets SET title = ?1 WHERE uid = ?2",
                        params![title, v.uid],
                    )?;
                }
                let previous: Option<String> = tx
                    .query_row(
                        "SELECT v.fields FROM datasets d
                           JOIN versions v ON v.dataset_uid = d.uid AND v.version = d.current_version
                          WHERE d.uid = ?1",
                        [v.uid],
                        |r| r.get(0),
                    )
                    .optional()?;
                if let Some(previous) = previous {
                    carry_annotations(&parse_fields(&previous)?, &mut fields, v.settled);
                }
            }
            let fields_json = serde_json::to_string(&fields)
                .map_err(|e| Error::CorruptCatalog(format!("fields not serialisable: {e}")))?;
            tx.execute(
                "INSERT INTO versions (dataset_uid, version, fields, records_count, rejected_count, source, created_at, actor, restored_from, comment)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![v.uid, v.number, fields_json, v.records_count, v.rejected_count, v.source, v.now,
                        v.actor.columns().0, v.restored_from, v.comment],
            )?;
            tx.execute(
                "UPDATE datasets SET current_version = ?1, modified_at = ?2 WHERE uid = ?3",
                params![v.number, v.now, v.uid],
            )?;
            crate::sqlite_accounts::audit_publish(tx, v)?;
            Ok(())
        })
    }

    fn known_versions(&self) -> Result<HashMap<String, Vec<i64>>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT d.uid, v.version FROM datasets d LEFT JOIN versions v ON v.dataset_uid = d.uid",
        )?;
        let rows =
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?)))?;
        let mut known: HashMap<String, Vec<i64>> = HashMap::new();
        for row in rows {
            let (uid, version) = row?;
            known.entry(uid).or_default().extend(version);
        }
        Ok(known)
    }
}

/// Annotations that describe how a column is stored, set by each import from its options:
/// never carried from one version to the next.
const STORAGE_ANNOTATIONS: &[&str] = &["multivalued"];

/// Gives each new field the annotations its namesake (same name and type) in the previous
/// version had and it does not set itself (an annotation set by the import, such as `id`,
/// wins), except those the publisher settled for this version (`settled`: field and
/// annotation names set or removed on purpose). Storage annotations are left alone.
fn carry_annotations(previous: &[Field], fields: &mut [Field], settled: &[(String, String)]) {
    for field in fields {
        let same =
            previous.iter().find(|p| p.name == field.name && p.field_type == field.field_type);
        if let Some(old) = same {
            for (name, args) in &old.annotations {
                if STORAGE_ANNOTATIONS.contains(&name.as_str())
                    || settled.iter().any(|(f, a)| f == &field.name && a == name)
                {
                    continue;
                }
                field.annotations.entry(name.clone()).or_insert_with(|| args.clone());
            }
        }
    }
}

impl SqliteCatalog {
    fn row_to_dataset(
        &self,
        row: &rusqlite::Row<'_>,
    ) -> rusqlite::Result<std::result::Result<DatasetRecord, String>> {
        let uid: String = row.get(0)?;
        let metas: String = row.get(4)?;
        let number: i64 = row.get(6)?;
        let fields: String = row.get(7)?;
        let rejected_count: i64 = row.get(9)?;
        let organization: Option<String> = row.get(12)?;
        let visibility: String = row.get(13)?;
        let archived: bool = row.get(14)?;
        let attachments: Option<String> = row.get(15)?;
        let rule: Option<String> = row.get(16)?;
        let dir = layout::dataset_dir(&self.root, &uid).join(layout::version_dir_name(number));
        let parsed = (|| {
            let mut metas: Map<String, Value> =
                serde_json::from_str(&metas).map_err(|e| format!("metas of {uid}: {e}"))?;
            if archived {
                // Shown wherever the metadata are (dataset objects, the catalog, the portal).
                metas.insert("archived".to_owned(), Value::Bool(true));
            }
            let fields: Vec<Field> = serde_json::from_str(&fields)
                .map_err(|e| format!("fields of {uid} v{number}: {e}"))?;
            let visibility: crate::Visibility =
                visibility.parse().map_err(|e| format!("visibility of {uid}: {e}"))?;
            let organization =
                organization.ok_or_else(|| format!("dataset {uid} has no organization"))?;
            let attachments = crate::sqlite_manage::parse_attachments(attachments.as_deref())
                .map_err(|e| format!("attachments of {uid}: {e}"))?;
            let rule: Option<crate::AccessRule> = rule
                .map(|r| serde_json::from_str(&r).map_err(|e| format!("rule of {uid}: {e}")))
                .transpose()?;
            Ok((metas, fields, visibility, organization, attachments, rule))
        })();
        let (metas, fields, visibility, organization, attachments, rule) = match parsed {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        Ok(Ok(DatasetRecord {
            id: row.get(1)?,
            title: row.get(2)?,
            description: row.get(3)?,
            metas,
            modified: row.get(5)?,
            organization,
            visibility,
            attachments,
            rule,
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
