//! The error shape of the Search API v1 and the legacy download URL, shared with the JSON
//! error layer (errors made outside the v1 handlers on v1 paths take it too).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::ApiError;

/// An error of a v1 route: the [`ApiError`] rendered in the v1 shape.
///
/// The body is `{"errorcode": <HTTP status>, "error": "<message>", "error_code": "<Kleber
/// code>"}`: `error` is what v1 clients read (odsclient requires it), `errorcode` an integer as
/// in Opendatasoft's v1 bodies (its own integer table is not published, so Kleber uses the
/// HTTP status), `error_code` the stable code of the v2 APIs.
#[derive(Debug)]
pub struct V1Error(pub ApiError);

impl<E: Into<ApiError>> From<E> for V1Error {
    fn from(e: E) -> Self {
        V1Error(e.into())
    }
}

impl V1Error {
    /// A bad parameter.
    pub fn bad_param(message: impl Into<String>) -> Self {
        V1Error(ApiError::bad_param(message))
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({
            "errorcode": self.0.code.status(),
            "error": self.0.message,
            "error_code": self.0.code.name(),
        })
    }
}

impl IntoResponse for V1Error {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, self.body().to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        if self.0.code.status() == 503 {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// Result of a v1 handler.
pub type V1Result<T = Response> = Result<T, V1Error>;
