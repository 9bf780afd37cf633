//! The one error type of the application layer.

use kleber_types::{ErrorCode, HasErrorCode};

/// What a use case can fail with. Every front end renders it through its code
/// ([`HasErrorCode`]): JSON envelopes for the APIs, error pages for the portal.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No published dataset with this identifier is visible to the caller.
    #[error("Unknown dataset: {0}")]
    DatasetNotFound(String),
    /// No record with this id in the dataset (or the id is not a record id).
    #[error("Unknown record: {0}")]
    RecordNotFound(String),
    /// The API key is unknown, revoked, expired or its owner disabled (the message says which;
    /// an unknown key and a wrong secret read the same).
    #[error("{0}")]
    InvalidApiKey(String),
    /// The use case needs credentials and the request has none (the message says which).
    #[error("{0}")]
    Unauthenticated(String),
    /// The credentials do not allow this (the message says what is missing).
    #[error("{0}")]
    Forbidden(String),
    /// A parameter the use case checks itself (the message names it).
    #[error("{0}")]
    BadParameter(String),
    /// A request body is not what the use case accepts (the message says what and where).
    #[error("{0}")]
    InvalidBody(String),
    /// The change does not fit the resource's state (the message says why).
    #[error("{0}")]
    Conflict(String),
    /// No such thing (an organization, a user, a key, an attachment, a version).
    #[error("{0}")]
    NotFound(String),
    /// The dataset has no such version, or its data was pruned (the message names the
    /// versions that exist).
    #[error("{0}")]
    VersionNotFound(String),
    /// A body is larger than the use case accepts (the message gives the limit).
    /// No upload with this id belongs to the caller (or it expired).
    #[error("{0}")]
    UploadNotFound(String),
    /// An uploaded file cannot be read as data (what it is, how to fix it).
    #[error("{0}")]
    UnreadableFile(String),
    /// An upload with rejected rows was published without accepting them.
    #[error("{0}")]
    RejectedRows(String),
    /// A push key is missing, unknown, revoked or of another dataset.
    #[error("{0}")]
    InvalidPushKey(String),
    /// A request body is larger than allowed (the message gives the limit).
    #[error("{0}")]
    TooLarge(String),
    /// The query ran past the time limit.
    #[error(
        "the query exceeded the time limit of {seconds} s; narrow it with a where clause or use the exports endpoint"
    )]
    TimeLimit {
        /// The limit, in seconds.
        seconds: u64,
    },
    /// Planning or running a query failed.
    #[error(transparent)]
    Query(#[from] kleber_query::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] kleber_store::Error),
    /// Encoding an answer failed.
    #[error(transparent)]
    Export(#[from] kleber_export::Error),
    /// An import failed (the message says why; nothing was published).
    #[error("{0:#}")]
    Import(anyhow::Error),
    /// A derived dataset's query is refused (the message says what and how to fix it).
    #[error("{0}")]
    DerivationRefused(String),
    /// A derived dataset's query names a dataset the definer cannot read.
    #[error("{0}")]
    DerivationInputNotFound(String),
    /// A derived dataset would read itself.
    #[error("{0}")]
    DerivationCycle(String),
    /// Anything else: a bug or the machine (the message goes to the log, not to users).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// An internal failure.
    pub fn internal(e: impl std::fmt::Display) -> Error {
        Error::Internal(e.to_string())
    }
}

impl HasErrorCode for Error {
    fn error_code(&self) -> ErrorCode {
        match self {
            Error::DatasetNotFound(_) => ErrorCode::DatasetNotFound,
            Error::RecordNotFound(_) => ErrorCode::RecordNotFound,
            Error::BadParameter(_) => ErrorCode::InvalidRestParameter,
            Error::InvalidApiKey(_) => ErrorCode::InvalidApiKey,
            Error::Unauthenticated(_) => ErrorCode::AuthenticationRequired,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::InvalidBody(_) => ErrorCode::InvalidRequestBody,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::VersionNotFound(_) => ErrorCode::VersionNotFound,
            Error::UploadNotFound(_) => ErrorCode::UploadNotFound,
            Error::UnreadableFile(_) => ErrorCode::UnreadableFile,
            Error::RejectedRows(_) => ErrorCode::RejectedRows,
            Error::InvalidPushKey(_) => ErrorCode::InvalidPushKey,
            Error::TooLarge(_) => ErrorCode::PayloadTooLarge,
            Error::TimeLimit { .. } => ErrorCode::QueryTooHeavy,
            Error::DerivationRefused(_) => ErrorCode::DerivationRefused,
            Error::DerivationInputNotFound(_) => ErrorCode::DerivationInputNotFound,
            Error::DerivationCycle(_) => ErrorCode::DerivationCycle,
            Error::Query(e) => e.error_code(),
            Error::Store(e) => e.error_code(),
            Error::Export(_) | Error::Import(_) | Error::Internal(_) => ErrorCode::InternalError,
        }
    }
}
