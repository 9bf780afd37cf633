//! Derived datasets on the management API (docs/crossing.md):
//!
//! - `PUT /datasets/{id}/derivation`: defines (or redefines) `id` as a SQL query over other
//!   datasets (`{"query", "title"?, "organization"?}`), computes its first version at once and
//!   answers the derivation; a refused or failing query changes nothing;
//! - `GET /datasets/{id}/derivation`: the query, inputs, input versions of the version
//!   served, restricting inputs, the last failure; `404 NotFound` when `id` is not derived;
//! - `DELETE /datasets/{id}/derivation`: `id` stays as an ordinary dataset;
//! - `POST /datasets/{id}/derivation/refresh`: recomputes now;
//! - `PUT /datasets/{id}/derivation/allow`: `{"allow": true}` lets it be seen beyond its
//!   inputs' readers (an admin of every restricting input's organization only).
//!
//! Every route is `Reads::Private` behind the management guard (API key or session with its
//! CSRF token; the listener's body limit applies).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use kleber_app::manage::Editor;
use kleber_types::ErrorCode;
use serde::Deserialize;

use super::{json, parse_body};
use crate::error::ApiError;
use crate::http::management::Manager;
use crate::http::routes::{Reads, RouteDef, def};
use crate::state::AppState;

/// The routes, relative to `/api/management/v1`.
pub fn routes() -> Vec<RouteDef> {
    let p = Reads::Private;
    vec![
        def(
            "/datasets/{id}/derivation",
            p,
            get(get_derivation).put(put_derivation).delete(delete_derivation),
        ),
        def("/datasets/{id}/derivation/refresh", p, post(refresh_derivation)),
        def("/datasets/{id}/derivation/allow", p, put(allow_derivation)),
    ]
}

/// `PUT /datasets/{id}/derivation`'s body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DerivationBody {
    /// One SQL SELECT over datasets named by identifier (docs/crossing.md).
    pub query: String,
    /// The title of a new dataset.
    #[serde(default)]
    pub title: Option<String>,
    /// The organization of a new dataset (default: the default organization).
    #[serde(default)]
    pub organization: Option<String>,
}

/// `PUT /datasets/{id}/derivation/allow`'s body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowBody {
    /// Whether readers of the derived dataset need not read its restricted inputs.
    pub allow: bool,
}

/// The OpenAPI paths and schemas of this file, merged into the management API's document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(get_derivation, put_derivation, delete_derivation, refresh_derivation, allow_derivation),
    components(schemas(DerivationBody, AllowBody))
)]
pub struct DerivationApi;

/// Adds [`DerivationApi`] to the management API's document.
pub struct DerivationDoc;

impl utoipa::Modify for DerivationDoc {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::OpenApi;
        doc.merge(DerivationApi::openapi());
    }
}

async fn answer(state: &AppState, editor: &Editor, id: &str) -> Result<Response, ApiError> {
    match state.app.derivation(editor, id).await? {
        Some(info) => Ok(json(StatusCode::OK, &info)),
        None => Err(ApiError::new(
            ErrorCode::NotFound,
            format!("dataset {id:?} is not derived; define it with PUT on this path"),
        )),
    }
}

/// `GET /datasets/{id}/derivation`: the query, inputs, input versions, last failure.
#[utoipa::path(get, path = "/api/management/v1/datasets/{id}/derivation", tag = "derivations",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, description = "The derivation"), (status = 404, body = super::ErrorBody)))]
pub(super) async fn get_derivation(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    answer(&state, &editor, &id).await
}

/// `PUT /datasets/{id}/derivation`: defines it and computes its first version.
#[utoipa::path(put, path = "/api/management/v1/datasets/{id}/derivation", tag = "derivations",
    params(("id" = String, Path, description = "Dataset identifier")),
    request_body = DerivationBody,
    responses((status = 200, description = "The derivation"), (status = 400, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub(super) async fn put_derivation(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let value = parse_body(&body, None)?;
    let body: DerivationBody = serde_json::from_value(value).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidRequestBody,
            format!("the derivation is malformed: {e}; send {{\"query\": \"SELECT ...\", \"title\": \"...\"}}"),
        )
    })?;
    state
        .app
        .define_derivation(
            &editor,
            &id,
            &body.query,
            body.title.as_deref(),
            body.organization.as_deref(),
        )
        .await?;
    answer(&state, &editor, &id).await
}

/// `DELETE /datasets/{id}/derivation`: the dataset stays, no longer derived.
#[utoipa::path(delete, path = "/api/management/v1/datasets/{id}/derivation", tag = "derivations",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, description = "`{\"cleared\": true|false}`"), (status = 404, body = super::ErrorBody)))]
pub(super) async fn delete_derivation(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let cleared = state.app.clear_derivation(&editor, &id).await?;
    Ok(json(StatusCode::OK, &serde_json::json!({ "cleared": cleared })))
}

/// `POST /datasets/{id}/derivation/refresh`: recomputes it now.
#[utoipa::path(post, path = "/api/management/v1/datasets/{id}/derivation/refresh", tag = "derivations",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, description = "The derivation"), (status = 404, body = super::ErrorBody)))]
pub(super) async fn refresh_derivation(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.app.refresh_derivation(&editor, &id).await?;
    answer(&state, &editor, &id).await
}

/// `PUT /datasets/{id}/derivation/allow`: lets it be read beyond its inputs' readers.
#[utoipa::path(put, path = "/api/management/v1/datasets/{id}/derivation/allow", tag = "derivations",
    params(("id" = String, Path, description = "Dataset identifier")),
    request_body = AllowBody,
    responses((status = 200, description = "The derivation"), (status = 403, body = super::ErrorBody)))]
pub(super) async fn allow_derivation(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let value = parse_body(&body, None)?;
    let body: AllowBody = serde_json::from_value(value).map_err(|e| {
        ApiError::new(ErrorCode::InvalidRequestBody, format!("send {{\"allow\": true|false}}: {e}"))
    })?;
    state.app.allow_derivation(&editor, &id, body.allow).await?;
    answer(&state, &editor, &id).await
}
