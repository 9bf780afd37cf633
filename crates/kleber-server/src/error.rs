//! Errors at the HTTP edge, and which error type to use where.
//!
//! - Library crates each have one `Error` enum implementing [`HasErrorCode`]; handlers convert
//!   them into [`ApiError`] with `?`.
//! - Handlers return `Result<_, ApiError>`. An [`ApiError`] carries a stable [`ErrorCode`] and
//!   a message for the user; it renders as `{"error_code": "...", "message": "..."}` with the
//!   code's HTTP status. Internal errors show a generic message; the real one is logged.
//! - `anyhow` is for `main`, command dispatch and start-up only (the CLI in `cli.rs`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kleber_types::{ErrorCode, HasErrorCode};

/// An error answered by the API.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The stable code.
    pub code: ErrorCode,
    /// What the user reads.
    pub message: String,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into() }
    }

    /// A bad REST parameter.
    pub fn bad_param(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::InvalidRestParameter, message)
    }

    /// An unknown dataset.
    pub fn dataset_not_found(id: &str) -> Self {
        ApiError::new(ErrorCode::DatasetNotFound, format!("Unknown dataset: {id}"))
    }

    /// Wraps an internal failure: logged in full, answered with a generic message.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        ApiError::new(
            ErrorCode::InternalError,
            "Internal server error; the details are in the server log.",
        )
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        serde_json::json!({"error_code": self.code.name(), "message": self.message}).to_string()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, self.body()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        if self.code.status() == 503 {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// Converts a library error by its code; internal ones are logged and hidden.
fn from_coded(e: impl HasErrorCode + std::fmt::Display) -> ApiError {
    match e.error_code() {
        ErrorCode::InternalError => ApiError::internal(e),
        code => ApiError::new(code, e.to_string()),
    }
}

impl From<kleber_query::Error> for ApiError {
    fn from(e: kleber_query::Error) -> Self {
        from_coded(e)
    }
}

impl From<kleber_store::Error> for ApiError {
    fn from(e: kleber_store::Error) -> Self {
        from_coded(e)
    }
}

impl From<kleber_export::Error> for ApiError {
    fn from(e: kleber_export::Error) -> Self {
        from_coded(e)
    }
}

impl From<kleber_app::Error> for ApiError {
    fn from(e: kleber_app::Error) -> Self {
        from_coded(e)
    }
}
