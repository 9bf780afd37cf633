//! Errors of the query engine.

use std::fmt;

use datafusion::error::DataFusionError;
use kleber_types::{ErrorCode, HasErrorCode};

/// Result with the engine's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The clause of a query an error is in, named as in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clause {
    /// `select`
    Select,
    /// `where`
    Where,
    /// `group_by`
    GroupBy,
    /// `order_by`
    OrderBy,
    /// The query as a whole, when the clause is not known.
    Query,
}

impl fmt::Display for Clause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Clause::Select => "select",
            Clause::Where => "where",
            Clause::GroupBy => "group_by",
            Clause::OrderBy => "order_by",
            Clause::Query => "select, where, group_by, order_by",
        })
    }
}

/// What can go wrong while planning or running a query.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The ODSQL of a clause is malformed or refers to an unknown field or function.
    #[error("ODSQL query is malformed: {message} Clause(s) containing the error(s): {clause}.")]
    Odsql {
        /// The clause.
        clause: Clause,
        /// What is wrong and where, for a human.
        message: String,
        /// Byte range in the clause text, when known.
        span: Option<(usize, usize)>,
    },
    /// A REST parameter the engine interprets (`timezone`, `refine`, ...) has a bad value.
    #[error("{message}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// What is wrong, in Opendatasoft's wording.
        message: String,
    },
    /// The query needed more memory or time than its limits allow.
    #[error(
        "the query exceeded the {limit} limit: {detail}; narrow it with a where clause or a smaller limit"
    )]
    TooHeavy {
        /// The limit hit: `memory` or `time`.
        limit: &'static str,
        /// Details from the engine.
        detail: String,
    },
    /// The dataset's files could not be read.
    #[error("cannot read dataset data: {0}")]
    Storage(String),
    /// An unexpected engine failure.
    #[error("query engine failure: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn odsql(
        clause: Clause,
        message: impl Into<String>,
        span: Option<(usize, usize)>,
    ) -> Self {
        Error::Odsql { clause, message: message.into(), span }
    }
}

impl From<DataFusionError> for Error {
    /// Classifies an execution error: exhausted resources are the user's query being too
    /// heavy; I/O and Parquet failures are storage problems; the rest is internal.
    fn from(e: DataFusionError) -> Self {
        match e.find_root() {
            DataFusionError::ResourcesExhausted(detail) => {
                Error::TooHeavy { limit: "memory", detail: detail.clone() }
            }
            // Planning errors met while executing: type checks the lowering did not catch.
            DataFusionError::Plan(msg) => Error::odsql(Clause::Query, plan_message(msg), None),
            DataFusionError::ObjectStore(_)
            | DataFusionError::IoError(_)
            | DataFusionError::ParquetError(_) => Error::Storage(e.to_string()),
            _ => Error::Internal(e.to_string()),
        }
    }
}

impl From<datafusion::arrow::error::ArrowError> for Error {
    fn from(e: datafusion::arrow::error::ArrowError) -> Self {
        Error::Internal(e.to_string())
    }
}

/// Classifies an error raised while planning `clause`: plan and schema errors (a type that
/// does not fit an operator, say) are the user's ODSQL; the rest goes through [`From`].
pub(crate) fn planning(clause: Clause) -> impl Fn(DataFusionError) -> Error {
    move |e| match e.find_root() {
        DataFusionError::Plan(msg) => Error::odsql(clause, plan_message(msg), None),
        DataFusionError::SchemaError(err, _) => Error::odsql(clause, err.to_string(), None),
        _ => Error::from(e),
    }
}

/// DataFusion plan messages mention its internal names; keep the first line, which says what
/// did not fit.
fn plan_message(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or(msg).trim();
    first.strip_suffix('.').unwrap_or(first).to_owned() + "."
}

impl HasErrorCode for Error {
    fn error_code(&self) -> ErrorCode {
        match self {
            Error::Odsql { .. } => ErrorCode::OdsqlError,
            Error::InvalidParameter { .. } => ErrorCode::InvalidRestParameter,
            Error::TooHeavy { .. } => ErrorCode::QueryTooHeavy,
            Error::Storage(_) | Error::Internal(_) => ErrorCode::InternalError,
        }
    }
}
