//! The catalog and the dataset version files.
//!
//! Everything lives under one data directory:
//!
//! ```text
//! <data-dir>/catalog.sqlite              datasets, versions (SQLite, WAL)
//! <data-dir>/.write.lock                 held by whoever is publishing
//! <data-dir>/datasets/<uid>/v<N>/data.parquet     immutable version N of a dataset
//! <data-dir>/datasets/<uid>/v<N>/rejected.csv     rows the import could not read, if any
//! <data-dir>/datasets/<uid>/.tmp-v<N>-<pid>/      a version being written (never served)
//! ```
//!
//! A version is published in four steps (see [`PendingVersion::commit`]): the files are written
//! under a temporary directory, fsynced, the directory is renamed to `v<N>` and the parent
//! fsynced, and only then one SQLite transaction records the version and makes it current.
//! A crash before the transaction leaves the previous version current; what it left on disk is
//! an orphan that [`Store::remove_orphans`] deletes at start-up.

mod catalog;
mod error;
pub mod freshness;
mod layout;
mod publish;

pub use catalog::{DatasetRecord, VersionRecord};
pub use error::{Error, Result};
pub use publish::{CrashPoint, OrphanReport, PendingVersion, Publication, is_valid_dataset_id};

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::Connection;

/// The embedded store: a SQLite catalog plus the version files under one directory.
pub struct Store {
    root: PathBuf,
    conn: Mutex<Connection>,
    freshness: freshness::Freshness,
}

impl Store {
    /// Opens (creating if needed) the data directory and its catalog.
    pub fn open(root: impl AsRef<Path>) -> Result<Store> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(root.join(layout::DATASETS_DIR))
            .map_err(|source| Error::DataDir { path: root.clone(), source })?;
        let conn = catalog::open(&root.join(layout::CATALOG_FILE))?;
        let freshness = freshness::Freshness::new(&root);
        Ok(Store { root, conn: Mutex::new(conn), freshness })
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave the connection in a torn state
        // (SQLite transactions roll back on drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
