//! Writers of the formats that cannot be streamed as they are produced (a footer, an index or
//! a directory at the end: Parquet, XLSX, zipped shapefiles, FlatGeobuf, GPX's ordered
//! sections). They write each batch to a temporary file, so memory stays bounded by one batch
//! (plus each library's own bounded buffers); the caller streams the finished file.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};

/// A writer that spools an export into a temporary file.
pub trait SpoolWriter {
    /// Writes every record of `batch`.
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()>;
    /// Completes the file and returns it, positioned at its start. The file is anonymous (or
    /// its directory is removed when the writer is dropped): nothing is left on disk.
    fn finish(self: Box<Self>) -> Result<File>;
    /// Records written so far.
    fn rows_written(&self) -> u64;
}

/// Where temporary files go: a directory, or the system's temporary directory; and, when
/// made by a [`SpoolBudget`], the bounds of that budget.
///
/// Clones share one admission: the first file or directory asked for takes a slot of the
/// budget (or fails with [`Error::SpoolBusy`]), and the slot and the disk space it accounts
/// for are given back when the last clone is dropped, that is when the export ends, fails, or
/// its client goes away.
#[derive(Debug, Clone, Default)]
pub struct SpoolDir {
    dir: Option<PathBuf>,
    budget: Option<Arc<SpoolBudget>>,
    ticket: Arc<Mutex<Option<Arc<Ticket>>>>,
}

impl PartialEq for SpoolDir {
    fn eq(&self, other: &Self) -> bool {
        self.dir == other.dir
    }
}

impl Eq for SpoolDir {}

impl SpoolDir {
    /// Temporary files in `dir` (created if missing), without bounds.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SpoolDir { dir: Some(dir.into()), ..SpoolDir::default() }
    }

    /// The directory, if one was chosen.
    pub fn path(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Fails with [`Error::SpoolBusy`] when the spooled exports together hold more disk than
    /// their budget allows; the export calling it should then stop. Call it between batches.
    pub fn check(&self) -> Result<()> {
        match &self.budget {
            Some(budget) => budget.check_bytes(),
            None => Ok(()),
        }
    }

    /// Takes this export's slot of the budget, once.
    fn admitted(&self) -> Result<Option<Arc<Ticket>>> {
        let Some(budget) = &self.budget else { return Ok(None) };
        let mut ticket = self.ticket.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = &*ticket {
            return Ok(Some(Arc::clone(t)));
        }
        let t = budget.admit()?;
        *ticket = Some(Arc::clone(&t));
        Ok(Some(t))
    }

    /// An anonymous temporary file.
    pub(crate) fn file(&self) -> Result<File> {
        let ticket = self.admitted()?;
        let file = match &self.dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                tempfile::tempfile_in(dir)?
            }
            None => tempfile::tempfile()?,
        };
        if let Some(ticket) = ticket {
            // A second handle on the same open file, to measure its size while it grows.
            ticket.files.lock().unwrap_or_else(PoisonError::into_inner).push(file.try_clone()?);
        }
        Ok(file)
    }

    /// A temporary directory, removed when dropped.
    pub(crate) fn dir(&self) -> Result<tempfile::TempDir> {
        let ticket = self.admitted()?;
        let mut builder = tempfile::Builder::new();
        builder.prefix("kleber-export-");
        let dir = match &self.dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                builder.tempdir_in(dir)?
            }
            None => builder.tempdir()?,
        };
        if let Some(ticket) = ticket {
            ticket
                .dirs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(dir.path().to_path_buf());
        }
        Ok(dir)
    }
}

/// The bounds of the exports spooled to disk at once: how many, and how many bytes together.
#[derive(Debug)]
pub struct SpoolBudget {
    dir: PathBuf,
    max_exports: usize,
    max_bytes: u64,
    live: Mutex<Vec<Weak<Ticket>>>,
}

/// One admitted export: handles on its files and the paths of its directories, to measure
/// them. Dropping it closes the extra handles.
#[derive(Debug, Default)]
struct Ticket {
    files: Mutex<Vec<File>>,
    dirs: Mutex<Vec<PathBuf>>,
}

impl Ticket {
    fn bytes(&self) -> u64 {
        let files = self.files.lock().unwrap_or_else(PoisonError::into_inner);
        let in_files: u64 = files.iter().filter_map(|f| f.metadata().ok()).map(|m| m.len()).sum();
        let dirs = self.dirs.lock().unwrap_or_else(PoisonError::into_inner);
        in_files + dirs.iter().map(|d| dir_bytes(d)).sum::<u64>()
    }
}

/// Bytes of the files directly under `dir` and its subdirectories.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .filter_map(std::result::Result::ok)
        .filter_map(|e| Some((e.path(), e.metadata().ok()?)))
        .map(|(path, meta)| if meta.is_dir() { dir_bytes(&path) } else { meta.len() })
        .sum()
}

impl SpoolBudget {
    /// A budget for spooled exports in `dir`: at most `max_exports` at once, holding at most
    /// `max_bytes` together. Whatever `dir` holds is deleted: it can only be exports of a
    /// server that stopped (files of running exports are anonymous or removed on drop).
    pub fn new(dir: impl Into<PathBuf>, max_exports: usize, max_bytes: u64) -> Arc<SpoolBudget> {
        let dir = dir.into();
        let removed = clean(&dir);
        if removed > 0 {
            tracing::info!(dir = %dir.display(), removed, "removed exports left by a stopped server");
        }
        Arc::new(SpoolBudget { dir, max_exports, max_bytes, live: Mutex::new(Vec::new()) })
    }

    /// The directory of the spooled files.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// A [`SpoolDir`] for one export under this budget (admitted when it first writes).
    pub fn spool_dir(self: &Arc<Self>) -> SpoolDir {
        SpoolDir {
            dir: Some(self.dir.clone()),
            budget: Some(Arc::clone(self)),
            ..SpoolDir::default()
        }
    }

    /// Exports holding a slot now.
    pub fn active(&self) -> usize {
        self.live_tickets().len()
    }

    /// Bytes the spooled exports hold now.
    pub fn bytes(&self) -> u64 {
        self.live_tickets().iter().map(|t| t.bytes()).sum()
    }

    fn live_tickets(&self) -> Vec<Arc<Ticket>> {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.retain(|t| t.strong_count() > 0);
        live.iter().filter_map(Weak::upgrade).collect()
    }

    fn admit(&self) -> Result<Arc<Ticket>> {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.retain(|t| t.strong_count() > 0);
        if live.len() >= self.max_exports {
            return Err(Error::SpoolBusy {
                message: format!(
                    "{} exports are being prepared on disk, the most this server spools at once (--max-spooled-exports); retry shortly, or ask a streamed format (csv, json, jsonl, geojson)",
                    live.len()
                ),
            });
        }
        let used: u64 = live.iter().filter_map(Weak::upgrade).map(|t| t.bytes()).sum();
        if used >= self.max_bytes {
            return Err(self.full(used));
        }
        let ticket = Arc::new(Ticket::default());
        live.push(Arc::downgrade(&ticket));
        Ok(ticket)
    }

    fn check_bytes(&self) -> Result<()> {
        let used = self.bytes();
        if used > self.max_bytes { Err(self.full(used)) } else { Ok(()) }
    }

    fn full(&self, used: u64) -> Error {
        Error::SpoolBusy {
            message: format!(
                "exports being prepared on disk hold {} MiB, the most this server allows (--max-spool-mb {}); retry shortly, or ask a streamed format (csv, json, jsonl, geojson)",
                used >> 20,
                self.max_bytes >> 20
            ),
        }
    }
}

/// Deletes everything under `dir`; returns how many entries were removed.
fn clean(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.filter_map(std::result::Result::ok) {
        let path = entry.path();
        let result = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match result {
            Ok(()) => removed += 1,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove a stale export")
            }
        }
    }
    removed
}

/// Rewinds `file` to its start.
pub(crate) fn rewound(mut file: File) -> Result<File> {
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

#[cfg(test)]
mod budget_tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn exports_beyond_the_count_are_refused_until_one_ends() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let budget = SpoolBudget::new(tmp.path().join("exports"), 2, 1 << 30);
        let a = budget.spool_dir();
        let b = budget.spool_dir();
        let _fa = a.file().expect("first");
        let a2 = a.clone();
        let _fa2 = a2.file().expect("a clone shares the first slot");
        let _db = b.dir().expect("second");
        assert_eq!(budget.active(), 2);
        let c = budget.spool_dir();
        let err = c.file().expect_err("third is refused");
        assert!(matches!(err, Error::SpoolBusy { .. }), "{err}");
        assert!(err.to_string().contains("--max-spooled-exports"), "{err}");
        drop((a, a2, _fa, _fa2));
        assert_eq!(budget.active(), 1);
        c.file().expect("a slot was given back");
    }

    #[test]
    fn disk_bytes_are_counted_and_bounded() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let budget = SpoolBudget::new(tmp.path().join("exports"), 8, 1000);
        let a = budget.spool_dir();
        let mut file = a.file().expect("file");
        file.write_all(&[7; 600]).expect("write");
        let dir = a.dir().expect("dir");
        std::fs::write(dir.path().join("part"), [1; 500]).expect("write");
        assert_eq!(budget.bytes(), 1100);
        assert!(matches!(a.check(), Err(Error::SpoolBusy { .. })));
        let err = budget.spool_dir().file().expect_err("over the disk budget");
        assert!(err.to_string().contains("--max-spool-mb"), "{err}");
        drop((a, file, dir));
        assert_eq!(budget.bytes(), 0);
        budget.spool_dir().check().expect("room again");
    }

    #[test]
    fn a_new_budget_removes_what_a_stopped_server_left() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("exports");
        std::fs::create_dir_all(dir.join("kleber-export-abc")).expect("mkdir");
        std::fs::write(dir.join("kleber-export-abc/x.shp"), b"x").expect("write");
        std::fs::write(dir.join(".tmpXYZ"), b"x").expect("write");
        let _budget = SpoolBudget::new(&dir, 1, 1);
        assert_eq!(std::fs::read_dir(&dir).expect("read").count(), 0);
    }
}
