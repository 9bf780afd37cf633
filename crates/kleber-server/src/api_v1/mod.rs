//! The Search API v1 (`/api/records/1.0/...`, `/api/datasets/1.0/...`), Opendatasoft's legacy
//! API still called by apps, widgets, odsclient and harvesters.
//!
//! v1 requests are translated to the same [`RecordsQuery`](kleber_query::RecordsQuery) the
//! Explore v2.1 handlers plan (`filters.rs`: `q`, `refine.X`, `exclude.X`, `disjunctive.X`,
//! `geofilter.*`, `sort`, `fields`), so both APIs answer from one engine. Responses keep the
//! v1 shapes (`nhits`, `parameters`, `records`, `facet_groups`; `response.rs`) and errors the
//! v1 body `{"errorcode", "error"}` ([`V1Error`]).

pub mod analyze;
pub mod datasets;
pub mod filters;
pub mod query_v1;
pub mod response;
pub mod search;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// The v1 routes, mounted at the root of the server.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/records/1.0/search", get(search::search_records))
        .route("/api/records/1.0/download", get(search::download_records))
        .route("/api/records/1.0/analyze", get(analyze::analyze))
        .route("/api/records/1.0/boundingbox", get(analyze::bounding_box))
        .route("/api/records/1.0/geocluster", get(analyze::geocluster))
        .route("/api/datasets/1.0/search", get(datasets::search_datasets))
        .route("/api/datasets/1.0/{id}", get(datasets::get_dataset))
        .route("/api/datasets/1.0/{id}/records/{record_id}", get(search::get_record))
        .route("/api/datasets/1.0/{id}/attachments/{attachment}", get(datasets::attachment))
        .route(
            "/api/datasets/1.0/{id}/alternative_exports/{attachment}",
            get(datasets::alternative_export),
        )
}

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
