//! Names of files and directories inside the data directory.

use std::path::{Path, PathBuf};

pub(crate) const CATALOG_FILE: &str = "catalog.sqlite";
pub(crate) const DATASETS_DIR: &str = "datasets";
pub(crate) const LOCK_FILE: &str = ".write.lock";
pub(crate) const DATA_FILE: &str = "data.parquet";
pub(crate) const REPORT_FILE: &str = "rejected.csv";
pub(crate) const TMP_PREFIX: &str = ".tmp-";
/// Beside the versions of a dataset: its attachments, which survive new versions.
pub(crate) const ATTACHMENTS_DIR: &str = "attachments";

pub(crate) fn dataset_dir(root: &Path, uid: &str) -> PathBuf {
    root.join(DATASETS_DIR).join(uid)
}

pub(crate) fn version_dir_name(version: i64) -> String {
    format!("v{version}")
}

/// Parses `v<N>` back into N.
pub(crate) fn parse_version_dir(name: &str) -> Option<i64> {
    name.strip_prefix('v')?.parse().ok().filter(|n| *n > 0)
}

/// How many dataset folders `<root>/datasets` holds (0 when it does not exist).
pub(crate) fn dataset_dirs(root: &Path) -> crate::Result<usize> {
    let dir = root.join(DATASETS_DIR);
    match std::fs::read_dir(&dir) {
        Ok(entries) => Ok(entries.filter_map(std::result::Result::ok).count()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(source) => Err(crate::Error::DataDir { path: dir, source }),
    }
}
