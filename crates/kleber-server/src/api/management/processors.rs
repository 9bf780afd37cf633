//! A dataset's processors on the management API (docs/sources.md#processors):
//!
//! - `GET /datasets/{id}/processors`: the pipeline (`{"version": 1, "steps": []}` when none);
//! - `PUT /datasets/{id}/processors`: sets it, after checking it against the dataset's
//!   current fields and the joined datasets the caller may read (400 naming the step);
//! - `DELETE /datasets/{id}/processors`: removes it (`{"cleared": true|false}`);
//! - `POST /datasets/{id}/processors/preview` (`{"steps"?: pipeline, "rows"?: N}`): the first
//!   N (≤ 100, default 20) records of the current version before and after the pipeline
//!   given (default: the stored one).
//!
//! Every route is `Reads::Private` behind the management guard (API key, or session with its
//! CSRF token); bodies are bounded by [`MAX_BODY_BYTES`] and pipelines by
//! `kleber_app::processors::MAX_STEPS`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use kleber_app::processors::{PIPELINE_VERSION, Pipeline};
use kleber_types::ErrorCode;
use serde_json::{Value, json as j};

use super::{ErrorBody, json, parse_body};
use crate::error::ApiError;
use crate::http::management::Manager;
use crate::http::routes::{Reads, RouteDef, def};
use crate::state::AppState;

/// The largest body of these routes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The routes, relative to `/api/management/v1`.
pub fn routes() -> Vec<RouteDef> {
    let p = Reads::Private;
    vec![
        def(
            "/datasets/{id}/processors",
            p,
            get(get_processors).put(put_processors).delete(delete_processors),
        ),
        def("/datasets/{id}/processors/preview", p, post(preview)),
    ]
}

/// The OpenAPI paths of this file, merged into the management API's document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(get_processors, put_processors, delete_processors, preview))]
pub struct ProcessorsApi;

/// Adds [`ProcessorsApi`] to the management API's document.
pub struct ProcessorsDoc;

impl utoipa::Modify for ProcessorsDoc {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::OpenApi;
        doc.merge(ProcessorsApi::openapi());
    }
}

fn bounded(body: &Bytes) -> Result<(), ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "the body has {} bytes; a processors request takes at most {MAX_BODY_BYTES} bytes",
                body.len()
            ),
        ));
    }
    Ok(())
}

/// `GET /datasets/{id}/processors`.
#[utoipa::path(get, path = "/api/management/v1/datasets/{id}/processors", tag = "processors",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, description = "The pipeline `{\"version\": 1, \"steps\": [...]}`"),
        (status = 404, body = ErrorBody)))]
pub(super) async fn get_processors(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let pipeline = state
        .app
        .processors(&editor, &id)
        .await?
        .unwrap_or(Pipeline { version: PIPELINE_VERSION, steps: Vec::new() });
    Ok(json(StatusCode::OK, &pipeline))
}

/// `PUT /datasets/{id}/processors`.
#[utoipa::path(put, path = "/api/management/v1/datasets/{id}/processors", tag = "processors",
    params(("id" = String, Path, description = "Dataset identifier")),
    request_body(content = Object, description = "`{\"version\": 1, \"steps\": [...]}` (docs/sources.md#processors)"),
    responses((status = 200, description = "The pipeline stored"), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub(super) async fn put_processors(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    bounded(&body)?;
    let value = parse_body(&body, None)?;
    let pipeline = state.app.set_processors(&editor, &id, value).await?;
    Ok(json(StatusCode::OK, &pipeline))
}

/// `DELETE /datasets/{id}/processors`.
#[utoipa::path(delete, path = "/api/management/v1/datasets/{id}/processors", tag = "processors",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, description = "`{\"cleared\": true|false}`"),
        (status = 404, body = ErrorBody)))]
pub(super) async fn delete_processors(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let cleared = state.app.clear_processors(&editor, &id).await?;
    Ok(json(StatusCode::OK, &j!({ "cleared": cleared })))
}

/// `POST /datasets/{id}/processors/preview`.
#[utoipa::path(post, path = "/api/management/v1/datasets/{id}/processors/preview",
    tag = "processors",
    params(("id" = String, Path, description = "Dataset identifier")),
    request_body(content = Object, description = "`{\"steps\"?: pipeline, \"rows\"?: 1..100}`"),
    responses((status = 200, description = "`fields_before`, `rows_before`, `fields_after`, `rows_after`"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(super) async fn preview(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    bounded(&body)?;
    let value = parse_body(&body, Some(j!({})))?;
    let Some(object) = value.as_object() else {
        return Err(ApiError::new(
            ErrorCode::InvalidRequestBody,
            "the body must be a JSON object {\"steps\"?: pipeline, \"rows\"?: N}",
        ));
    };
    if let Some(key) = object.keys().find(|k| *k != "steps" && *k != "rows") {
        return Err(ApiError::new(
            ErrorCode::InvalidRequestBody,
            format!("unknown key `{key}`; the keys are steps, rows"),
        ));
    }
    let rows = match object.get("rows") {
        None => None,
        Some(v) => Some(v.as_u64().and_then(|n| usize::try_from(n).ok()).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidRequestBody, "rows: expected a positive integer")
        })?),
    };
    let steps = object.get("steps").cloned().map(|s| match s {
        // A bare list of steps is a pipeline of this version.
        Value::Array(_) => j!({ "version": PIPELINE_VERSION, "steps": s }),
        other => other,
    });
    let preview = state.app.preview_processors(&editor, &id, steps, rows).await?;
    Ok(json(StatusCode::OK, &preview))
}
