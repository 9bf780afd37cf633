//! Version retention in the management API (docs/versions.md#retention): a dataset's policy
//! (`GET`/`PUT /datasets/{id}/retention`) and the portal's default (`GET`/`PUT
//! /portal/retention`, portal admins). Setting a dataset's policy applies it at once and
//! answers the versions it pruned.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;
use serde_json::Value;

use super::{ErrorBody, json, parse_body};
use crate::error::ApiError;
use crate::http::management::Manager;
use crate::http::routes::{Reads, RouteDef, def};
use crate::state::AppState;

/// The retention routes, relative to the management API's root.
pub fn routes() -> Vec<RouteDef> {
    let p = Reads::Private;
    vec![
        def("/datasets/{id}/retention", p, get(get_retention).put(put_retention)),
        def("/portal/retention", p, get(get_default).put(put_default)),
    ]
}

/// A retention policy as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RetentionDoc {
    /// The policy that applies, e.g. `all:1d,daily:30d,weekly:26w,monthly:forever`
    /// (`all:forever`: every version kept).
    pub policy: String,
    /// Whether it is the dataset's own policy (`false`: the portal's default).
    pub own: bool,
    /// Versions whose data the last change of policy pruned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pruned: Option<Vec<i64>>,
}

/// `PUT`'s body: `{"policy": "all:1d,daily:30d"}`, or `{"policy": null}` to follow the
/// portal's default (for the portal: to keep every version).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RetentionBody {
    /// The policy, or null.
    pub policy: Option<String>,
}

fn policy_of(bytes: &[u8]) -> Result<Option<String>, ApiError> {
    let value = parse_body(bytes, None)?;
    match value.get("policy") {
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Null) => Ok(None),
        _ => Err(ApiError::bad_param(
            "the body must be {\"policy\": \"all:1d,daily:30d,weekly:26w,monthly:forever\"} (or {\"policy\": null} for the default)",
        )),
    }
}

/// `GET /datasets/{id}/retention`.
#[utoipa::path(get, path = "/api/management/v1/datasets/{id}/retention", tag = "versions",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, body = RetentionDoc), (status = 404, body = ErrorBody)))]
pub(super) async fn get_retention(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let r = state.app.retention(&editor, &id).await?;
    Ok(json(StatusCode::OK, &RetentionDoc { policy: r.policy.text(), own: r.own, pruned: None }))
}

/// `PUT /datasets/{id}/retention`: sets the dataset's policy and applies it now.
#[utoipa::path(put, path = "/api/management/v1/datasets/{id}/retention", tag = "versions",
    params(("id" = String, Path, description = "Dataset identifier")),
    request_body = RetentionBody,
    responses((status = 200, body = RetentionDoc), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(super) async fn put_retention(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let policy = policy_of(&bytes)?;
    let pruned = state.app.set_retention(&editor, &id, policy.as_deref()).await?;
    let r = state.app.retention(&editor, &id).await?;
    Ok(json(
        StatusCode::OK,
        &RetentionDoc { policy: r.policy.text(), own: r.own, pruned: Some(pruned) },
    ))
}

/// `GET /portal/retention`: the portal's default policy.
#[utoipa::path(get, path = "/api/management/v1/portal/retention", tag = "portal",
    responses((status = 200, body = RetentionDoc), (status = 401, body = ErrorBody)))]
pub(super) async fn get_default(
    State(state): State<AppState>,
    Manager(_editor): Manager,
) -> Result<Response, ApiError> {
    let policy = state.app.default_retention().await?;
    Ok(json(StatusCode::OK, &RetentionDoc { policy: policy.text(), own: false, pruned: None }))
}

/// `PUT /portal/retention`: sets the portal's default policy (portal admins); datasets
/// without their own follow it from their next publication or the scheduler's next hour.
#[utoipa::path(put, path = "/api/management/v1/portal/retention", tag = "portal",
    request_body = RetentionBody,
    responses((status = 200, body = RetentionDoc), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(super) async fn put_default(
    State(state): State<AppState>,
    Manager(editor): Manager,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let policy = policy_of(&bytes)?;
    let set = state.app.set_default_retention(&editor, policy.as_deref()).await?;
    Ok(json(StatusCode::OK, &RetentionDoc { policy: set.text(), own: false, pruned: None }))
}

/// The OpenAPI paths and schemas of this file, merged into the management API's document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(get_retention, put_retention, get_default, put_default),
    components(schemas(RetentionDoc, RetentionBody))
)]
pub struct RetentionApi;

/// Adds [`RetentionApi`] to the management API's document.
pub struct RetentionDocs;

impl utoipa::Modify for RetentionDocs {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::OpenApi;
        doc.merge(RetentionApi::openapi());
    }
}
