//! The crate's error type.

use arrow::datatypes::DataType;
use kleber_types::{ErrorCode, HasErrorCode};

use crate::ColumnKind;

/// Everything that can go wrong while encoding record batches.
///
/// None of these depends on the *values* of a batch: value-level oddities (NaN, invalid stored
/// geometry, out-of-range dates) are encoded (as `null` or as best-effort text), never reported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The batch does not have as many columns as the encoder has output columns.
    #[error("the record batch has {found} columns but {expected} output columns were declared")]
    ColumnCount {
        /// Number of declared output columns.
        expected: usize,
        /// Number of columns in the batch.
        found: usize,
    },
    /// A column's Arrow type does not fit the declared [`ColumnKind`] (for instance a
    /// `GeoPoint` column that is not a `Struct{lon, lat}` of numbers).
    #[error("column `{column}` is declared {kind:?} but has Arrow type {data_type}")]
    SchemaMismatch {
        /// Output key of the column.
        column: String,
        /// Declared kind.
        kind: ColumnKind,
        /// Actual Arrow type.
        data_type: DataType,
    },
    /// A column's Arrow type has no encoding, not even through Arrow's display formatter.
    #[error("column `{column}` has Arrow type {data_type}, which cannot be encoded")]
    UnsupportedType {
        /// Output key of the column.
        column: String,
        /// Actual Arrow type.
        data_type: DataType,
    },
    /// A single record was asked for past the end of the batch.
    #[error("row {row} is out of range for a batch of {rows} rows")]
    RowOutOfRange {
        /// Requested row.
        row: usize,
        /// Rows in the batch.
        rows: usize,
    },
    /// A writer was used after `finish`.
    #[error("the writer is already finished")]
    Finished,
    /// Parsing our own JSON back into a `serde_json::Value` failed (a bug).
    #[error("internal JSON error: {0}")]
    Json(#[from] serde_json::Error),
    /// Writing to the output sink failed.
    #[error("I/O error while writing the export: {0}")]
    Io(#[from] std::io::Error),
    /// A format parameter names a column the output does not have (GPX `name_field`,
    /// `description_field_list`).
    #[error("unknown column `{key}`")]
    UnknownColumn {
        /// The key asked for.
        key: String,
    },
    /// The bounds of spooled exports are reached (how many at once, or their disk space).
    #[error("{message}")]
    SpoolBusy {
        /// Which bound, with the figures.
        message: String,
    },
    /// A format's library refused what it was given (Parquet, XLSX, shapefile, zip, Arrow).
    #[error("{format} writer error: {message}")]
    Format {
        /// The format (`parquet`, `xlsx`, `shp`, …).
        format: &'static str,
        /// The library's message.
        message: String,
    },
}

impl Error {
    /// An error of a format's library.
    pub(crate) fn format(format: &'static str, e: impl std::fmt::Display) -> Self {
        Error::Format { format, message: e.to_string() }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl HasErrorCode for Error {
    fn error_code(&self) -> ErrorCode {
        match self {
            // A format parameter naming a column that the query does not output.
            Error::UnknownColumn { .. } => ErrorCode::InvalidRestParameter,
            // Too many exports on disk at once: retry later.
            Error::SpoolBusy { .. } => ErrorCode::ServerBusy,
            // Every other variant is a server-side inconsistency (the query layer chose the
            // columns), or an I/O failure of the response body: none is the client's fault.
            _ => ErrorCode::InternalError,
        }
    }
}
