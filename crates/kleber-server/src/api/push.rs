//! Opendatasoft's real-time push API: `POST /api/push/1.0/{id}/realtime/push/?pushkey=KEY`
//! with a JSON array of records or one record (as odsclient's `push_dataset_realtime` sends
//! it). Checked and batched by [`kleber_app::push`]; the answer is
//! `{"status": "OK", "accepted": N, "rejected": [{"index", "reason"}], "version": V}` once the
//! accepted records are published, `400` when none is, `401 InvalidPushKey` for a missing,
//! unknown, revoked or foreign key. Errors carry Opendatasoft's v1 keys (`errorcode`, the
//! status, and `error`, which odsclient requires) beside the envelope's `error_code` and
//! `message`. docs/publishing.md#real-time-push.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::http::routes::{Reads, RouteDef, def};
use crate::state::AppState;

/// Where the push API is mounted.
pub const PUSH_1_0: &str = "/api/push/1.0";

/// The routes, relative to [`PUSH_1_0`].
pub fn routes() -> Vec<RouteDef> {
    vec![def("/{id}/realtime/push", Reads::Private, post(push))]
}

fn private(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}

/// An error in both shapes: the envelope and Opendatasoft's v1 keys; `extra` keys added.
fn error_response(error: &ApiError, extra: Option<(&str, Value)>) -> Response {
    let mut body = json!({"error_code": error.code.name(), "message": error.message,
                          "errorcode": error.code.status(), "error": error.message});
    if let (Some((key, value)), Some(map)) = (extra, body.as_object_mut()) {
        map.insert(key.to_owned(), value);
    }
    let status =
        StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    private(status, body.to_string())
}

#[utoipa::path(post, path = "/api/push/1.0/{id}/realtime/push", tag = "Push",
    params(("id" = String, Path, description = "Dataset identifier"), crate::openapi::params::Push),
    security(()),
    request_body(content = crate::openapi::schemas::AnyObject, description = "A record (object) or an array of records", content_type = "application/json"),
    responses((status = 200, description = "The records accepted, published as a new version", body = crate::openapi::schemas::PushAnswer, content_type = "application/json")))]
async fn push(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    match receive(&state, &id, query.as_deref(), &body).await {
        Ok(response) => response,
        Err(error) => error_response(&error, None),
    }
}

async fn receive(
    state: &AppState,
    id: &str,
    query: Option<&str>,
    body: &[u8],
) -> Result<Response, ApiError> {
    let key = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "pushkey")
        .map(|(_, v)| v.into_owned());
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_param(format!(
            "The pushed body is not valid JSON ({e}); send an array of records or one record."
        ))
    })?;
    let records = match value {
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => {
            return Err(ApiError::bad_param(
                "The pushed body must be a JSON array of records or one record (an object).",
            ));
        }
    };
    if records.is_empty() {
        return Err(ApiError::bad_param("The pushed array holds no record."));
    }
    let outcome = state.app.push(id, key.as_deref(), records).await?;
    if outcome.accepted == 0 {
        let first =
            outcome.rejected.first().map(|r| format!(" (record {}: {})", r.index, r.reason));
        let error = ApiError::bad_param(format!(
            "Every pushed record was rejected{}; nothing was published.",
            first.unwrap_or_default()
        ));
        let rejected = serde_json::to_value(&outcome.rejected).unwrap_or_default();
        return Ok(error_response(&error, Some(("rejected", rejected))));
    }
    let body = json!({"status": "OK", "accepted": outcome.accepted,
                      "rejected": outcome.rejected, "version": outcome.version});
    Ok(private(StatusCode::OK, body.to_string()))
}
