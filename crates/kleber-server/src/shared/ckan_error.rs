//! The error shape of CKAN's Action API (`/api/3/action/*`, `/api/action/*`), shared with the
//! JSON error layer so that errors made outside the CKAN handlers (a refused API key, a panic,
//! an unknown action) take it too.
//!
//! CKAN answers `{"help": <help_show URL>, "success": false, "error": {"__type": ..., ...}}`:
//! `Not Found Error` (404), `Authorization Error` (403), `Validation Error` (409, the messages
//! keyed by parameter), `Search Query Error` (400), `Internal Server Error` (500), and for an
//! unknown action a `400 Bad request`. Clients such as ckanapi raise their exceptions from
//! `__type`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kleber_types::ErrorCode;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::http::PublicUrl;

/// Where the Action API is mounted (CKAN's versioned path; `/api/action` is the same API).
pub const ACTION_PATH: &str = "/api/3/action";

/// A CKAN error: status, `__type` and the rest of the `error` object.
#[derive(Debug, Clone)]
pub struct CkanError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `error` object, `__type` included.
    pub error: Map<String, Value>,
}

impl CkanError {
    fn typed(status: StatusCode, kind: &str, message: String) -> CkanError {
        let mut error = Map::new();
        error.insert("__type".into(), json!(kind));
        error.insert("message".into(), json!(message));
        CkanError { status, error }
    }

    /// `404 Not Found Error`, message `Not found: <what>`.
    pub fn not_found(what: impl std::fmt::Display) -> CkanError {
        CkanError::typed(StatusCode::NOT_FOUND, "Not Found Error", format!("Not found: {what}"))
    }

    /// `403 Authorization Error`, message `Access denied: <why>`.
    pub fn forbidden(why: impl std::fmt::Display) -> CkanError {
        CkanError::typed(
            StatusCode::FORBIDDEN,
            "Authorization Error",
            format!("Access denied: {why}"),
        )
    }

    /// `409 Validation Error`: `message` under the parameter's name, as CKAN lists them.
    pub fn validation(parameter: &str, message: impl Into<String>) -> CkanError {
        let mut error = Map::new();
        error.insert("__type".into(), json!("Validation Error"));
        error.insert(parameter.to_owned(), json!([message.into()]));
        CkanError { status: StatusCode::CONFLICT, error }
    }

    /// `400 Search Query Error`.
    pub fn search_query(message: impl std::fmt::Display) -> CkanError {
        CkanError::typed(
            StatusCode::BAD_REQUEST,
            "Search Query Error",
            format!("Search Query is invalid: {message}"),
        )
    }

    /// `400 Bad request` (an unknown action, a body that is not a JSON object).
    pub fn bad_request(message: impl std::fmt::Display) -> CkanError {
        CkanError::typed(StatusCode::BAD_REQUEST, "Bad Request", format!("Bad request - {message}"))
    }

    /// The answer to an action that does not exist.
    pub fn unknown_action(action: &str) -> CkanError {
        CkanError::bad_request(format!("Action name not known: {action}"))
    }

    /// The message, whatever the type (the first listed for a validation error).
    pub fn message(&self) -> String {
        if let Some(Value::String(m)) = self.error.get("message") {
            return m.clone();
        }
        self.error
            .iter()
            .filter(|(k, _)| *k != "__type")
            .find_map(|(k, v)| v.get(0).and_then(Value::as_str).map(|m| format!("{k}: {m}")))
            .unwrap_or_default()
    }

    /// The body, with the `help` link of `action`.
    pub fn body(&self, help: &str) -> Value {
        json!({"help": help, "success": false, "error": Value::Object(self.error.clone())})
    }

    /// The response, with the `help` link of `action` (absolute when `base` is known).
    pub fn response(&self, base: Option<&PublicUrl>, action: &str) -> Response {
        let mut response =
            (self.status, self.body(&help_url(base, action)).to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

impl From<ApiError> for CkanError {
    /// Kleber's errors by kind: what is not found is a `Not Found Error`, a refused or missing
    /// key an `Authorization Error` (with Kleber's 401 kept when the key itself is refused),
    /// a bad parameter a `Validation Error`, a malformed query a `Search Query Error`.
    fn from(e: ApiError) -> CkanError {
        let status =
            StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match e.code {
            ErrorCode::DatasetNotFound | ErrorCode::RecordNotFound | ErrorCode::NotFound => {
                CkanError::not_found(e.message)
            }
            ErrorCode::InvalidApiKey | ErrorCode::AuthenticationRequired | ErrorCode::Forbidden => {
                let mut error = CkanError::forbidden(e.message);
                error.status = status;
                error
            }
            ErrorCode::InvalidRestParameter => CkanError::validation("message", e.message),
            ErrorCode::OdsqlError => CkanError::search_query(e.message),
            ErrorCode::InternalError => CkanError::typed(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                e.message,
            ),
            _ => {
                let mut error = CkanError::typed(status, "Bad Request", e.message);
                if status.is_server_error() {
                    error.error.insert("__type".into(), json!("Internal Server Error"));
                }
                error
            }
        }
    }
}

impl From<kleber_app::Error> for CkanError {
    fn from(e: kleber_app::Error) -> CkanError {
        CkanError::from(ApiError::from(e))
    }
}

/// The `help` link of `action`: `help_show` of it, under the versioned path.
pub fn help_url(base: Option<&PublicUrl>, action: &str) -> String {
    let query: String =
        form_urlencoded::Serializer::new(String::new()).append_pair("name", action).finish();
    let path = format!("{ACTION_PATH}/help_show?{query}");
    match base {
        Some(base) => base.url(&path),
        None => path,
    }
}

/// The action a CKAN path names (its last segment).
pub fn action_of(path: &str) -> &str {
    path.trim_end_matches('/').rsplit('/').next().unwrap_or_default()
}
