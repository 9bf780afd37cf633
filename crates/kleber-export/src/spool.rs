//! Writers of the formats that cannot be streamed as they are produced (a footer, an index or
//! a directory at the end: Parquet, XLSX, zipped shapefiles, FlatGeobuf, GPX's ordered
//! sections). They write each batch to a temporary file, so memory stays bounded by one batch
//! (plus each library's own bounded buffers); the caller streams the finished file.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;

use crate::error::Result;

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

/// Where temporary files go: a directory, or the system's temporary directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpoolDir(Option<PathBuf>);

impl SpoolDir {
    /// Temporary files in `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SpoolDir(Some(dir.into()))
    }

    /// The directory, if one was chosen.
    pub fn path(&self) -> Option<&Path> {
        self.0.as_deref()
    }

    /// An anonymous temporary file.
    pub(crate) fn file(&self) -> Result<File> {
        Ok(match &self.0 {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                tempfile::tempfile_in(dir)?
            }
            None => tempfile::tempfile()?,
        })
    }

    /// A temporary directory, removed when dropped.
    pub(crate) fn dir(&self) -> Result<tempfile::TempDir> {
        let mut builder = tempfile::Builder::new();
        builder.prefix("kleber-export-");
        Ok(match &self.0 {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                builder.tempdir_in(dir)?
            }
            None => builder.tempdir()?,
        })
    }
}

/// Rewinds `file` to its start.
pub(crate) fn rewound(mut file: File) -> Result<File> {
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}
