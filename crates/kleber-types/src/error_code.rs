//! The table of stable error codes.
//!
//! Wire strings are Opendatasoft's where Opendatasoft has one (`ODSQLError`,
//! `InvalidRESTParameterError`); the others are Kleber's own. A released code never changes
//! its string or status; new codes may be added. `docs/errors.md` documents each one under an
//! anchor equal to its wire string, and a test checks that every code is documented.

/// A stable, machine-readable error code with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The ODSQL text of `select`, `where`, `group_by` or `order_by` is malformed or refers to
    /// something that does not exist.
    OdsqlError,
    /// A REST parameter (`limit`, `offset`, a boolean, an enum) has a value out of its range.
    InvalidRestParameter,
    /// No dataset with that identifier is published.
    DatasetNotFound,
    /// No record with that identifier exists in the dataset.
    RecordNotFound,
    /// The path matches no route of the API.
    NotFound,
    /// The route exists but not for this HTTP method.
    MethodNotAllowed,
    /// The API key (`apikey` parameter or `Authorization: Apikey <key>` header) is ill-formed.
    InvalidApiKey,
    /// The route needs credentials (an API key) and the request has none.
    AuthenticationRequired,
    /// The credentials are valid but do not allow this request (a scope or a role is missing).
    Forbidden,
    /// The caller spent its request budget for the current window (rate limits); the body is
    /// Opendatasoft's quota body, not the usual envelope.
    TooManyRequests,
    /// The query exceeded a resource limit (time, memory, rows); retry later or narrow it.
    QueryTooHeavy,
    /// The server is at one of its bounds (concurrent requests, spooled exports, disk for
    /// temporary files); retry after the delay given in `Retry-After`.
    ServerBusy,
    /// The request body is larger than the route accepts.
    PayloadTooLarge,
    /// The request's `Host` header is missing or is not a host name (or IP address) with an
    /// optional port, and no public URL is configured to build absolute URLs from.
    InvalidHost,
    /// The request body (JSON or file) of a management request is not what the route accepts:
    /// malformed JSON, an unknown key, a value of the wrong kind, an unknown licence.
    InvalidRequestBody,
    /// The change conflicts with the resource's state: the identifier is taken, the dataset is
    /// archived, deleted, has no version to publish.
    Conflict,
    /// No upload with that identifier belongs to the caller (or it expired).
    UploadNotFound,
    /// An uploaded file cannot be read as data (what it is and how to fix it in the message).
    UnreadableFile,
    /// Publishing an upload whose preview has rejected rows, without accepting them.
    RejectedRows,
    /// The push key of the real-time push API is missing, unknown, revoked or of another
    /// dataset.
    InvalidPushKey,
    /// The dataset has no version with that number, or that version was pruned (its entry
    /// is kept, its data is gone); the message names the versions that exist.
    VersionNotFound,
    /// A derived dataset's query is refused: not one SELECT, a file path, a table function, a
    /// function outside the allow-list, a type a dataset cannot store (docs/crossing.md).
    DerivationRefused,
    /// A derived dataset's query names a dataset that does not exist or that the definer may
    /// not read.
    DerivationInputNotFound,
    /// A derived dataset would read itself, directly or through other derived datasets.
    DerivationCycle,
    /// Something failed inside the server; the details are in the server log.
    InternalError,
}

impl ErrorCode {
    /// Every code, in documentation order.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::OdsqlError,
        ErrorCode::InvalidRestParameter,
        ErrorCode::DatasetNotFound,
        ErrorCode::RecordNotFound,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::InvalidApiKey,
        ErrorCode::AuthenticationRequired,
        ErrorCode::Forbidden,
        ErrorCode::TooManyRequests,
        ErrorCode::QueryTooHeavy,
        ErrorCode::ServerBusy,
        ErrorCode::PayloadTooLarge,
        ErrorCode::InvalidHost,
        ErrorCode::InvalidRequestBody,
        ErrorCode::Conflict,
        ErrorCode::UploadNotFound,
        ErrorCode::UnreadableFile,
        ErrorCode::RejectedRows,
        ErrorCode::InvalidPushKey,
        ErrorCode::VersionNotFound,
        ErrorCode::DerivationRefused,
        ErrorCode::DerivationInputNotFound,
        ErrorCode::DerivationCycle,
        ErrorCode::InternalError,
    ];

    /// The string sent in the `error_code` key of error bodies.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorCode::OdsqlError => "ODSQLError",
            ErrorCode::InvalidRestParameter => "InvalidRESTParameterError",
            ErrorCode::DatasetNotFound => "DatasetNotFound",
            ErrorCode::RecordNotFound => "RecordNotFound",
            ErrorCode::NotFound => "NotFound",
            ErrorCode::MethodNotAllowed => "MethodNotAllowed",
            ErrorCode::InvalidApiKey => "InvalidApiKey",
            ErrorCode::AuthenticationRequired => "AuthenticationRequired",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::TooManyRequests => "TooManyRequests",
            ErrorCode::QueryTooHeavy => "QueryTooHeavy",
            ErrorCode::ServerBusy => "ServerBusy",
            ErrorCode::PayloadTooLarge => "PayloadTooLarge",
            ErrorCode::InvalidHost => "InvalidHost",
            ErrorCode::InvalidRequestBody => "InvalidRequestBody",
            ErrorCode::Conflict => "Conflict",
            ErrorCode::UploadNotFound => "UploadNotFound",
            ErrorCode::UnreadableFile => "UnreadableFile",
            ErrorCode::RejectedRows => "RejectedRows",
            ErrorCode::InvalidPushKey => "InvalidPushKey",
            ErrorCode::VersionNotFound => "VersionNotFound",
            ErrorCode::DerivationRefused => "DerivationRefused",
            ErrorCode::DerivationInputNotFound => "DerivationInputNotFound",
            ErrorCode::DerivationCycle => "DerivationCycle",
            ErrorCode::InternalError => "InternalError",
        }
    }

    /// The HTTP status answered with this code.
    pub const fn status(self) -> u16 {
        match self {
            ErrorCode::OdsqlError
            | ErrorCode::InvalidRestParameter
            | ErrorCode::InvalidHost
            | ErrorCode::InvalidRequestBody
            | ErrorCode::DerivationRefused
            | ErrorCode::DerivationInputNotFound => 400,
            ErrorCode::Conflict | ErrorCode::RejectedRows | ErrorCode::DerivationCycle => 409,
            ErrorCode::DatasetNotFound
            | ErrorCode::RecordNotFound
            | ErrorCode::NotFound
            | ErrorCode::UploadNotFound
            | ErrorCode::VersionNotFound => 404,
            ErrorCode::UnreadableFile => 422,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::InvalidApiKey
            | ErrorCode::AuthenticationRequired
            | ErrorCode::InvalidPushKey => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::TooManyRequests => 429,
            ErrorCode::QueryTooHeavy | ErrorCode::ServerBusy => 503,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::InternalError => 500,
        }
    }

    /// Where the code is documented, relative to the repository root.
    pub fn docs_anchor(self) -> String {
        format!("docs/errors.md#{}", self.name().to_ascii_lowercase())
    }
}

/// Implemented by each crate's error type to say which code it answers with.
pub trait HasErrorCode {
    /// The stable code of this error.
    fn error_code(&self) -> ErrorCode;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = ErrorCode::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
    }

    /// docs/errors.md has one section per code, with its status.
    #[test]
    fn every_code_is_documented() {
        let docs =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md"))
                .expect("docs/errors.md");
        for code in ErrorCode::ALL {
            let anchor = code.docs_anchor();
            let heading = format!("## {}", anchor.rsplit('#').next().unwrap_or_default());
            assert!(docs.contains(&heading), "docs/errors.md lacks {heading}");
            let line = format!("`{}`, {}", code.name(), code.status());
            assert!(docs.contains(&line), "docs/errors.md lacks {line}");
        }
    }
}
