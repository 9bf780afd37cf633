//! Errors of the store.

use std::path::PathBuf;

use kleber_types::{ErrorCode, HasErrorCode};

/// Result with the store's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The data directory cannot be created or read.
    #[error("cannot use data directory {path}: {source}; check that it exists and is writable")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The catalog database failed.
    #[error("catalog database error: {0}")]
    Catalog(#[from] rusqlite::Error),
    /// The data directory holds dataset files but no catalog (missing, empty, or a SQLite
    /// file without Kleber's tables): opening it would create an empty catalog and take every
    /// dataset for an orphan.
    #[error(
        "refusing to use {path}: the data directory holds {datasets} dataset folder(s) under datasets/ but this catalog is missing or empty, so a new one would make them orphans and delete them. Restore catalog.sqlite (with catalog.sqlite-wal if there is one) from a backup, or point --data-dir at the right directory; to start from scratch, move the datasets folder away first"
    )]
    MissingCatalog {
        /// The catalog file.
        path: PathBuf,
        /// Dataset folders found.
        datasets: usize,
    },
    /// The catalog file exists but cannot be read as a SQLite database.
    #[error(
        "cannot read the catalog {path}: {source}. Nothing was changed. Check the file's permissions, or restore it from a backup (with catalog.sqlite-wal if there is one)"
    )]
    UnreadableCatalog {
        /// The catalog file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The catalog holds something this version of Kleber cannot read.
    #[error("catalog is corrupt or from a newer Kleber: {0}")]
    CorruptCatalog(String),
    /// A file of a version could not be written, synced or renamed.
    #[error("cannot write {path}: {source}")]
    File {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A dataset identifier is not a valid slug.
    #[error(
        "invalid dataset identifier {id:?}: use 1 to 100 lowercase letters, digits, '-' or '_', starting with a letter or digit"
    )]
    InvalidDatasetId {
        /// The rejected identifier.
        id: String,
    },
    /// The dataset has no field with this name.
    #[error("dataset {dataset} has no field {field:?}; its fields are: {}", fields.join(", "))]
    FieldNotFound {
        /// The dataset.
        dataset: String,
        /// The field asked for.
        field: String,
        /// The fields it has.
        fields: Vec<String>,
    },
    /// No published dataset has this identifier.
    #[error("unknown dataset: {id}")]
    DatasetNotFound {
        /// The identifier asked for.
        id: String,
    },
    /// An organization identifier is not a valid slug.
    #[error(
        "invalid organization identifier {id:?}: use 1 to 64 lowercase letters, digits, '-' or '_', starting with a letter or digit"
    )]
    InvalidOrgId {
        /// The rejected identifier.
        id: String,
    },
    /// No organization has this identifier.
    #[error(
        "unknown organization {id:?}; `kleber org list` shows them, `kleber org create` adds one"
    )]
    OrgNotFound {
        /// The identifier asked for.
        id: String,
    },
    /// An organization with this identifier already exists.
    #[error("organization {id:?} already exists; choose another identifier")]
    OrgExists {
        /// The identifier.
        id: String,
    },
    /// No user has this email.
    #[error("unknown user {email:?}; `kleber user create {email}` adds it")]
    UserNotFound {
        /// The email asked for.
        email: String,
    },
    /// A user with this email (compared case-insensitively) already exists.
    #[error("a user with email {email:?} already exists (emails are compared without case)")]
    UserExists {
        /// The email.
        email: String,
    },
    /// The email is not an address.
    #[error("invalid email {email:?}: expected an address such as name@example.org")]
    InvalidEmail {
        /// The rejected text.
        email: String,
    },
    /// The user is not a member of the organization.
    #[error("{email} is not a member of organization {org:?}")]
    NotAMember {
        /// The organization.
        org: String,
        /// The user.
        email: String,
    },
    /// No API key has this identifier.
    #[error("unknown API key id {id:?}; `kleber key list` shows the keys and their ids")]
    KeyNotFound {
        /// The identifier asked for.
        id: String,
    },
    /// A dataset with this identifier already exists (in the trash included).
    #[error(
        "a dataset with identifier {id:?} already exists (perhaps in the trash); choose another identifier"
    )]
    DatasetExists {
        /// The identifier.
        id: String,
    },
    /// The dataset's state does not allow the change (the message says why and what to do).
    #[error("{0}")]
    InvalidState(String),
}

impl HasErrorCode for Error {
    fn error_code(&self) -> ErrorCode {
        match self {
            Error::DatasetNotFound { .. } => ErrorCode::DatasetNotFound,
            Error::InvalidDatasetId { .. }
            | Error::InvalidOrgId { .. }
            | Error::InvalidEmail { .. } => ErrorCode::InvalidRestParameter,
            Error::DatasetExists { .. } | Error::InvalidState(_) => ErrorCode::Conflict,
            _ => ErrorCode::InternalError,
        }
    }
}
