//! The one error type of the crate.

use std::path::PathBuf;

/// Why an import failed as a whole. Rows that cannot be read do not fail an import: they are
/// reported in [`crate::ImportOutcome::rejected`]. When `import_file` returns an error, no output
/// file is left behind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input file does not exist.
    #[error("{path}: file not found; check the path and that the upload finished")]
    FileNotFound {
        /// The input path.
        path: PathBuf,
    },

    /// The format could not be told from the extension nor from the content.
    #[error(
        "{path}: cannot tell the file format ({hint}); pass the format explicitly (csv, json, jsonl, geojson, xlsx, ods, kml, gpx, shapefile, geopackage, parquet)"
    )]
    UnknownFormat {
        /// The input path.
        path: PathBuf,
        /// What was seen.
        hint: String,
    },

    /// The file is not in the format it claims (binary data in a CSV, invalid JSON at a given
    /// line and column, an XLSX that is not a zip archive, a sheet that does not exist...).
    #[error("{path}: cannot read the file: {reason}")]
    Unreadable {
        /// The input path.
        path: PathBuf,
        /// What is wrong, where, and how to fix it.
        reason: String,
    },

    /// The file holds no records and no header (zero bytes, only blank lines, `[]`, a
    /// FeatureCollection without features, an empty sheet).
    #[error("{path}: the file holds no data; upload a file with at least a header or one record")]
    Empty {
        /// The input path.
        path: PathBuf,
    },

    /// The file goes beyond one of the readers' limits (`kleber_ingest::limits`): a record
    /// larger than the record size limit (often an unterminated CSV quote), JSON nested too
    /// deep, an archive that decompresses to more than allowed (a zip bomb). The reason names
    /// the limit.
    #[error("{path}: {reason}")]
    TooLarge {
        /// The input path.
        path: PathBuf,
        /// What is too large, the limit's name and value, and what to do.
        reason: String,
    },

    /// An import option is invalid: a type override or multivalued separator naming a field that
    /// does not exist, a multivalued field forced to a type other than text, a zero row group
    /// size...
    #[error("invalid option `{option}`: {message}")]
    BadOption {
        /// The option (`type_overrides`, `multivalued`, `delimiter`, `row_group_size`...).
        option: String,
        /// What is wrong, with the names that would be accepted.
        message: String,
    },

    /// Reading the input or writing the output failed at the operating system level.
    #[error("{path}: {source}")]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// Encoding the Parquet output failed.
    #[error("{path}: writing Parquet failed: {message}")]
    Parquet {
        /// The output path.
        path: PathBuf,
        /// The Parquet or Arrow error.
        message: String,
    },
}

impl Error {
    /// An I/O error on the input file.
    pub(crate) fn input(path: &std::path::Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            return Error::FileNotFound { path: path.to_path_buf() };
        }
        Error::Io { path: path.to_path_buf(), source }
    }

    /// An I/O error on the output file.
    pub(crate) fn output(path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io { path: path.to_path_buf(), source }
    }

    /// The same error, naming `shown` instead of `local` (a file unzipped to a temporary
    /// directory is named as the archive's member).
    pub(crate) fn relocated(self, local: &std::path::Path, shown: &std::path::Path) -> Self {
        let fix = |p: PathBuf| if p == local { shown.to_path_buf() } else { p };
        match self {
            Error::FileNotFound { path } => Error::FileNotFound { path: fix(path) },
            Error::UnknownFormat { path, hint } => Error::UnknownFormat { path: fix(path), hint },
            Error::Unreadable { path, reason } => Error::Unreadable { path: fix(path), reason },
            Error::Empty { path } => Error::Empty { path: fix(path) },
            Error::TooLarge { path, reason } => Error::TooLarge { path: fix(path), reason },
            Error::Io { path, source } => Error::Io { path: fix(path), source },
            other @ (Error::BadOption { .. } | Error::Parquet { .. }) => other,
        }
    }

    pub(crate) fn unreadable(path: &std::path::Path, reason: impl Into<String>) -> Self {
        Error::Unreadable { path: path.to_path_buf(), reason: reason.into() }
    }
}
