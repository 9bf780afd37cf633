//! Crash-safe publication of a new version, and removal of what a crash left behind.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use kleber_types::Field;

use crate::catalog::NewVersion;
use crate::error::{Error, Result};
use crate::{Store, layout};

/// Points where a test can make the publishing process abort, to prove crash safety.
/// Not for production use: set by the hidden `--crash-at` flag or the `KLEBER_CRASH_AT`
/// environment variable of the test suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum CrashPoint {
    /// Right after the temporary version directory is created (for a new dataset, its
    /// `datasets/<uid>/` folder too), before any data is written.
    AfterBegin,
    /// After the data file is written and synced, before the rename.
    BeforeRename,
    /// After the rename to `v<N>`, before the catalog transaction.
    BeforeCommit,
    /// After the catalog transaction, before the publisher hears of it.
    AfterCommit,
}

impl CrashPoint {
    /// Every point, in publishing order.
    pub const ALL: [CrashPoint; 4] = [
        CrashPoint::AfterBegin,
        CrashPoint::BeforeRename,
        CrashPoint::BeforeCommit,
        CrashPoint::AfterCommit,
    ];

    /// The name used by `--crash-at` and `KLEBER_CRASH_AT`.
    pub fn name(self) -> &'static str {
        match self {
            CrashPoint::AfterBegin => "after-begin",
            CrashPoint::BeforeRename => "before-rename",
            CrashPoint::BeforeCommit => "before-commit",
            CrashPoint::AfterCommit => "after-commit",
        }
    }

    /// The point named by `KLEBER_CRASH_AT`, if any (read once per process).
    fn from_env() -> Option<CrashPoint> {
        static POINT: std::sync::OnceLock<Option<CrashPoint>> = std::sync::OnceLock::new();
        *POINT.get_or_init(|| std::env::var("KLEBER_CRASH_AT").ok()?.parse().ok())
    }
}

impl std::str::FromStr for CrashPoint {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        CrashPoint::ALL.into_iter().find(|p| p.name() == s).ok_or_else(|| {
            let names: Vec<_> = CrashPoint::ALL.iter().map(|p| p.name()).collect();
            format!("unknown crash point {s:?}: {}", names.join(", "))
        })
    }
}

/// Aborts the process (as a kill -9 would stop it: no destructor runs) at `point` when asked.
fn crash_if(asked: Option<CrashPoint>, point: CrashPoint) {
    if asked == Some(point) || CrashPoint::from_env() == Some(point) {
        std::process::abort();
    }
}

/// A version being written. Its files go to [`PendingVersion::data_path`] and
/// [`PendingVersion::report_path`]; nothing is visible until [`PendingVersion::commit`].
/// Dropping it without committing removes the files and keeps the previous version.
pub struct PendingVersion<'a> {
    store: &'a Store,
    /// Holds the data directory's write lock until the version is committed or dropped.
    _lock: File,
    dataset_id: String,
    uid: String,
    is_new: bool,
    number: i64,
    tmp_dir: PathBuf,
    committed: bool,
    organization: Option<String>,
    visibility: Option<crate::Visibility>,
    actor: crate::Actor,
    restored_from: Option<i64>,
    comment: Option<String>,
    settled: Vec<(String, String)>,
}

/// What a commit produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// The dataset's immutable uid.
    pub uid: String,
    /// The version now current.
    pub version: i64,
    /// The directory of the version.
    pub dir: PathBuf,
    /// The rejected-rows report, when rows were rejected.
    pub report_path: Option<PathBuf>,
}

/// What [`Store::remove_orphans`] removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OrphanReport {
    /// Directories removed.
    pub removed: Vec<PathBuf>,
    /// True when a publication was running, so nothing was checked.
    pub skipped_busy: bool,
}

/// Whether `id` is a valid dataset identifier (a URL slug).
pub fn is_valid_dataset_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 100
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_')
}

pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

pub(crate) fn new_uid() -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut bytes = [0u8; 6];
    // Without OS randomness, fall back to the clock: uniqueness is still checked by the
    // catalog's primary key.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = chrono::Utc::now().timestamp_subsec_nanos().to_le_bytes();
        bytes[..4].copy_from_slice(&nanos);
    }
    let mut uid = String::from("da_");
    for b in bytes {
        uid.push(DIGITS[usize::from(b) % DIGITS.len()] as char);
    }
    uid
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::File { path: path.to_path_buf(), source }
}

fn sync_dir(path: &Path) -> Result<()> {
    File::open(path).and_then(|d| d.sync_all()).map_err(io_err(path))
}

impl Store {
    /// Starts a new version of dataset `id` (created on commit if it does not exist).
    ///
    /// Takes the data directory's write lock, waiting for another publication to finish.
    pub fn begin_version(&self, id: &str) -> Result<PendingVersion<'_>> {
        if !is_valid_dataset_id(id) {
            return Err(Error::InvalidDatasetId { id: id.to_owned() });
        }
        let lock_path = self.root.join(layout::LOCK_FILE);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        lock.lock().map_err(io_err(&lock_path))?;

        let (existing, number) = self.catalog.next_version(id)?;
        let (uid, is_new) = match existing {
            Some(uid) => (uid, false),
            None => (self.unused_uid()?, true),
        };
        let dataset_dir = layout::dataset_dir(&self.root, &uid);
        let tmp_dir =
            dataset_dir.join(format!("{}v{number}-{}", layout::TMP_PREFIX, std::process::id()));
        // A leftover `v<N>` is an orphan of a crashed publication: N is not in the catalog.
        let final_dir = dataset_dir.join(layout::version_dir_name(number));
        if final_dir.exists() {
            fs::remove_dir_all(&final_dir).map_err(io_err(&final_dir))?;
        }
        if tmp_dir.exists() {
            fs::remove_dir_all(&tmp_dir).map_err(io_err(&tmp_dir))?;
        }
        fs::create_dir_all(&tmp_dir).map_err(io_err(&tmp_dir))?;
        if is_new {
            // The dataset's own folder is a new entry of `datasets/`: make it durable too.
            sync_dir(&self.root.join(layout::DATASETS_DIR))?;
        }
        crash_if(None, CrashPoint::AfterBegin);
        Ok(PendingVersion {
            store: self,
            _lock: lock,
            dataset_id: id.to_owned(),
            uid,
            is_new,
            number,
            tmp_dir,
            committed: false,
            organization: None,
            visibility: None,
            actor: crate::Actor::Operator(None),
            restored_from: None,
            comment: None,
            settled: Vec::new(),
        })
    }

    fn unused_uid(&self) -> Result<String> {
        loop {
            let uid = new_uid();
            if !self.catalog.uid_taken(&uid)? {
                return Ok(uid);
            }
        }
    }

    /// Deletes temporary and uncommitted version directories left by crashed publications.
    ///
    /// Does nothing (and says so) while another process holds the write lock.
    pub fn remove_orphans(&self) -> Result<OrphanReport> {
        let lock_path = self.root.join(layout::LOCK_FILE);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        if lock.try_lock().is_err() {
            return Ok(OrphanReport { removed: Vec::new(), skipped_busy: true });
        }
        let known = self.catalog.known_versions()?;
        let mut report = OrphanReport::default();
        let datasets_dir = self.root.join(layout::DATASETS_DIR);
        for entry in fs::read_dir(&datasets_dir).map_err(io_err(&datasets_dir))? {
            let entry = entry.map_err(io_err(&datasets_dir))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(versions) = known.get(&name) else {
                fs::remove_dir_all(&path).map_err(io_err(&path))?;
                report.removed.push(path);
                continue;
            };
            for child in fs::read_dir(&path).map_err(io_err(&path))? {
                let child = child.map_err(io_err(&path))?;
                let child_name = child.file_name().to_string_lossy().into_owned();
                let keep = child_name == layout::ATTACHMENTS_DIR
                    || layout::parse_version_dir(&child_name)
                        .is_some_and(|n| versions.contains(&n));
                if !keep {
                    let child_path = child.path();
                    if child_path.is_dir() {
                        fs::remove_dir_all(&child_path).map_err(io_err(&child_path))?;
                    } else {
                        fs::remove_file(&child_path).map_err(io_err(&child_path))?;
                    }
                    report.removed.push(child_path);
                }
            }
        }
        Ok(report)
    }
}

impl PendingVersion<'_> {
    /// The version number this will become.
    pub fn number(&self) -> i64 {
        self.number
    }

    /// True when the dataset does not exist yet.
    pub fn is_new_dataset(&self) -> bool {
        self.is_new
    }

    /// Where the Parquet data of this version must be written.
    pub fn data_path(&self) -> PathBuf {
        self.tmp_dir.join(layout::DATA_FILE)
    }

    /// Publishes the version into `organization` with `visibility` (each `None`: a new
    /// dataset goes to the default organization, public; an existing one keeps its own),
    /// recorded in the audit log as done by `actor`. Checked in the commit's transaction: an
    /// unknown organization publishes nothing.
    pub fn set_access(
        &mut self,
        organization: Option<&str>,
        visibility: Option<crate::Visibility>,
        actor: crate::Actor,
    ) {
        self.organization = organization.map(str::to_owned);
        self.visibility = visibility;
        self.actor = actor;
    }

    /// Names the `(field, annotation)` pairs the publisher decided for this version (set or
    /// removed): the previous version's annotations are not carried over to them, so a facet
    /// removed stays removed.
    pub fn settle_annotations(&mut self, settled: Vec<(String, String)>) {
        self.settled = settled;
    }

    /// The publisher's comment on this version ("Correction des coordonnées de 3 stations"),
    /// recorded in the commit's transaction; the caller has checked it
    /// (`kleber_app::versions::check_comment`). `None` or empty: no comment.
    pub fn set_comment(&mut self, comment: Option<&str>) {
        self.comment = comment.filter(|c| !c.is_empty()).map(str::to_owned);
    }

    /// Records that this version restores the files of version `number` (see
    /// [`Store::restore_version`]).
    pub(crate) fn set_restored_from(&mut self, number: i64) {
        self.restored_from = Some(number);
    }

    /// The dataset's uid.
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// Where the rejected-rows report of this version may be written.
    pub fn report_path(&self) -> PathBuf {
        self.tmp_dir.join(layout::REPORT_FILE)
    }

    /// Publishes the version: fsync, rename, then one catalog transaction that records it and
    /// makes it current. `title` replaces the dataset's title when given (a new dataset without
    /// one is titled after its identifier).
    pub fn commit(
        self,
        fields: &[Field],
        records_count: u64,
        rejected_count: u64,
        source: Option<&str>,
        title: Option<&str>,
    ) -> Result<Publication> {
        self.commit_with_crash(fields, records_count, rejected_count, source, title, None)
    }

    #[doc(hidden)]
    pub fn commit_with_crash(
        mut self,
        fields: &[Field],
        records_count: u64,
        rejected_count: u64,
        source: Option<&str>,
        title: Option<&str>,
        crash: Option<CrashPoint>,
    ) -> Result<Publication> {
        let data = self.data_path();
        File::open(&data).and_then(|f| f.sync_all()).map_err(io_err(&data))?;
        let report = self.report_path();
        let has_report = report.exists();
        if has_report {
            File::open(&report).and_then(|f| f.sync_all()).map_err(io_err(&report))?;
        }
        sync_dir(&self.tmp_dir)?;
        crash_if(crash, CrashPoint::BeforeRename);
        let dataset_dir = layout::dataset_dir(&self.store.root, &self.uid);
        let final_dir = dataset_dir.join(layout::version_dir_name(self.number));
        fs::rename(&self.tmp_dir, &final_dir).map_err(io_err(&final_dir))?;
        sync_dir(&dataset_dir)?;
        if self.is_new {
            sync_dir(&self.store.root.join(layout::DATASETS_DIR))?;
        }
        crash_if(crash, CrashPoint::BeforeCommit);

        let now = now_rfc3339();
        let version = NewVersion {
            uid: &self.uid,
            id: &self.dataset_id,
            is_new: self.is_new,
            number: self.number,
            title,
            fields,
            records_count: i64::try_from(records_count).unwrap_or(i64::MAX),
            rejected_count: i64::try_from(rejected_count).unwrap_or(i64::MAX),
            source,
            now: &now,
            organization: self.organization.as_deref(),
            visibility: self.visibility,
            actor: &self.actor,
            restored_from: self.restored_from,
            comment: self.comment.as_deref(),
            settled: &self.settled,
        };
        if let Err(e) = self.store.catalog.record_version(&version) {
            // The catalog did not take the version: it must not stay on disk as if it had.
            let _ = fs::remove_dir_all(&final_dir);
            return Err(e);
        }
        self.store.freshness.committed();
        crash_if(crash, CrashPoint::AfterCommit);
        self.committed = true;
        self.store.published(&self.dataset_id);
        Ok(Publication {
            uid: self.uid.clone(),
            version: self.number,
            report_path: has_report.then(|| final_dir.join(layout::REPORT_FILE)),
            dir: final_dir,
        })
    }
}

impl Drop for PendingVersion<'_> {
    fn drop(&mut self) {
        if !self.committed
            && self.tmp_dir.exists()
            && let Err(e) = fs::remove_dir_all(&self.tmp_dir)
        {
            tracing::warn!(path = %self.tmp_dir.display(), error = %e, "could not remove an abandoned version");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kleber_types::FieldType;

    fn publish(store: &Store, id: &str, content: &[u8]) -> Publication {
        let pending = store.begin_version(id).expect("begin");
        fs::write(pending.data_path(), content).expect("write");
        let fields = vec![Field::new("a", "A", FieldType::Int)];
        pending.commit(&fields, 3, 0, Some("a.csv"), None).expect("commit")
    }

    #[test]
    fn versions_are_numbered_and_the_last_is_current() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let p1 = publish(&store, "parkings", b"one");
        let p2 = publish(&store, "parkings", b"two");
        assert_eq!((p1.version, p2.version), (1, 2));
        assert_eq!(p1.uid, p2.uid);
        let ds = store.get_dataset("parkings").expect("get").expect("exists");
        assert_eq!(ds.version.number, 2);
        assert_eq!(fs::read(&ds.version.data_path).expect("read"), b"two");
        assert_eq!(ds.title, "parkings");
        assert_eq!(store.versions("parkings").expect("versions"), vec![2, 1]);
        assert!(ds.uid.starts_with("da_") && ds.uid.len() == 9);
    }

    #[test]
    fn dropping_a_pending_version_keeps_the_previous_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        publish(&store, "parkings", b"one");
        {
            let pending = store.begin_version("parkings").expect("begin");
            fs::write(pending.data_path(), b"half").expect("write");
        }
        let ds = store.get_dataset("parkings").expect("get").expect("exists");
        assert_eq!(ds.version.number, 1);
        let entries: Vec<_> =
            fs::read_dir(ds.version.data_path.parent().unwrap().parent().unwrap())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
        assert_eq!(entries, vec!["v1"]);
    }

    #[test]
    fn orphans_are_removed_and_versions_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let p = publish(&store, "parkings", b"one");
        let ds_dir = p.dir.parent().unwrap().to_path_buf();
        fs::create_dir_all(ds_dir.join("v2")).unwrap();
        fs::create_dir_all(ds_dir.join(".tmp-v3-999")).unwrap();
        fs::create_dir_all(dir.path().join("datasets/da_zzzzzz/v1")).unwrap();
        let report = store.remove_orphans().expect("cleanup");
        assert_eq!(report.removed.len(), 3, "{report:?}");
        assert!(p.dir.join("data.parquet").exists());
        assert!(!ds_dir.join("v2").exists());
    }

    #[test]
    fn field_annotations_can_be_changed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        publish(&store, "parkings", b"one");
        let set = vec![
            ("facet".to_owned(), vec![]),
            ("facetsort".to_owned(), vec!["alphanum".to_owned()]),
        ];
        let field = store.annotate_field("parkings", "a", &set, &[]).expect("annotate");
        assert_eq!(field.annotations["facetsort"], vec!["alphanum"]);
        let field =
            store.annotate_field("parkings", "a", &[], &["facet".to_owned()]).expect("annotate");
        assert!(!field.annotations.contains_key("facet"));
        let ds = store.get_dataset("parkings").unwrap().unwrap();
        assert_eq!(ds.version.fields[0].annotations.len(), 1);
        let err = store.annotate_field("parkings", "zz", &set, &[]).unwrap_err();
        assert!(err.to_string().contains("its fields are: a"), "{err}");
    }

    #[test]
    fn stores_opened_at_once_on_a_new_directory_all_succeed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let path = dir.path().to_path_buf();
                std::thread::spawn(move || Store::open(&path).map(|s| s.generation()))
            })
            .collect();
        for h in handles {
            let generation = h.join().expect("no panic").expect("open").expect("generation");
            assert_eq!(generation, 0);
        }
    }

    #[test]
    fn invalid_ids_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        for id in ["", "Parkings", "../etc", "a b", "-x"] {
            assert!(matches!(store.begin_version(id), Err(Error::InvalidDatasetId { .. })), "{id}");
        }
    }

    #[test]
    fn metas_are_merged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        publish(&store, "parkings", b"one");
        let patch =
            serde_json::json!({"title": "Parkings", "publisher": "EMS", "theme": ["Mobilité"]});
        store.update_metas("parkings", patch.as_object().unwrap()).expect("update");
        let ds = store.get_dataset("parkings").unwrap().unwrap();
        assert_eq!(ds.title, "Parkings");
        assert_eq!(ds.metas["publisher"], "EMS");
        assert!(matches!(
            store.update_metas("nope", patch.as_object().unwrap()),
            Err(Error::DatasetNotFound { .. })
        ));
    }

    #[test]
    fn concurrent_annotations_and_metadata_edits_are_all_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let pending = store.begin_version("mesures").expect("begin");
        fs::write(pending.data_path(), b"x").expect("write");
        let fields: Vec<Field> =
            (0..16).map(|i| Field::new(format!("f{i}"), format!("F{i}"), FieldType::Int)).collect();
        pending.commit(&fields, 1, 0, None, None).expect("commit");
        // One store per thread: separate SQLite connections, as separate processes would have.
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let path = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    let store = Store::open(&path).expect("open");
                    let set = vec![(format!("a{i}"), vec![i.to_string()])];
                    store.annotate_field("mesures", &format!("f{i}"), &set, &[]).expect("annotate");
                    let mut patch = serde_json::Map::new();
                    patch.insert(format!("k{i}"), serde_json::json!(i));
                    store.update_metas("mesures", &patch).expect("metas");
                })
            })
            .collect();
        for h in handles {
            h.join().expect("no panic");
        }
        let ds = store.get_dataset("mesures").unwrap().unwrap();
        for i in 0..16 {
            let field = &ds.version.fields[i];
            assert_eq!(
                field.annotations.get(&format!("a{i}")),
                Some(&vec![i.to_string()]),
                "{field:?}"
            );
            assert_eq!(ds.metas[&format!("k{i}")], serde_json::json!(i), "{:?}", ds.metas);
        }
    }

    #[test]
    fn annotations_are_carried_to_the_next_version_but_not_storage_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        publish(&store, "parkings", b"one");
        store.annotate_field("parkings", "a", &[("facet".to_owned(), vec![])], &[]).unwrap();
        // An annotation made while the next version is being written is kept by it.
        let pending = store.begin_version("parkings").expect("begin");
        store
            .annotate_field(
                "parkings",
                "a",
                &[("facetsort".to_owned(), vec!["-count".to_owned()])],
                &[],
            )
            .unwrap();
        fs::write(pending.data_path(), b"two").expect("write");
        let mut old = Field::new("a", "A", FieldType::Int);
        old.annotations.insert("id".to_owned(), vec![]);
        pending.commit(&[old, Field::new("b", "B", FieldType::Text)], 1, 0, None, None).unwrap();
        let ds = store.get_dataset("parkings").unwrap().unwrap();
        assert_eq!(ds.version.number, 2);
        let names: Vec<_> = ds.version.fields[0].annotations.keys().cloned().collect();
        assert_eq!(names, vec!["facet", "facetsort", "id"]);
        assert!(ds.version.fields[1].annotations.is_empty());

        store
            .annotate_field(
                "parkings",
                "b",
                &[("multivalued".to_owned(), vec![";".to_owned()])],
                &[],
            )
            .unwrap();
        publish(&store, "parkings", b"three");
        let ds = store.get_dataset("parkings").unwrap().unwrap();
        assert!(ds.version.fields.iter().all(|f| !f.annotations.contains_key("multivalued")));
    }

    #[test]
    fn a_directory_with_datasets_but_no_catalog_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = {
            let store = Store::open(dir.path()).expect("open");
            publish(&store, "parkings", b"one")
        };
        let catalog = dir.path().join("catalog.sqlite");
        for f in ["catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"] {
            let _ = fs::remove_file(dir.path().join(f));
        }
        let err = Store::open(dir.path()).err().expect("refused");
        assert!(matches!(err, Error::MissingCatalog { datasets: 1, .. }), "{err}");
        assert!(err.to_string().contains("Restore catalog.sqlite"), "{err}");
        assert!(!catalog.exists(), "no catalog was created");
        // An empty file is no catalog either.
        fs::write(&catalog, b"").unwrap();
        assert!(matches!(Store::open(dir.path()), Err(Error::MissingCatalog { .. })));
        // Nor is a SQLite database without our tables.
        fs::remove_file(&catalog).unwrap();
        rusqlite::Connection::open(&catalog).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
        assert!(matches!(Store::open(dir.path()), Err(Error::MissingCatalog { .. })));
        // A file that is not SQLite at all is unreadable.
        fs::write(
            &catalog,
            b"not a database, just some bytes that are long enough to be a header......",
        )
        .unwrap();
        let err = Store::open(dir.path()).err().expect("refused");
        assert!(matches!(err, Error::UnreadableCatalog { .. }), "{err}");
        assert!(p.dir.join("data.parquet").exists(), "the dataset files are untouched");
        // A new, empty directory is still initialised.
        let fresh = tempfile::tempdir().expect("tempdir");
        Store::open(fresh.path().join("new")).expect("a new directory is initialised");
    }
}
