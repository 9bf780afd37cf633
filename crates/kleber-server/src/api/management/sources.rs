//! Remote sources and their runs on the management API (docs/sources.md):
//!
//! - `GET /datasets/{id}/sources`: the source (URLs, header names, schedule, next run, whether
//!   it is failing), `404 NotFound` when the dataset has none;
//! - `PUT /datasets/{id}/sources`: sets it (`{"urls", "headers", "schedule", "unique_id",
//!   "max_mb", "timeout_secs"}`); header values are stored encrypted and never shown back;
//! - `DELETE /datasets/{id}/sources`: removes it and its runs;
//! - `POST /datasets/{id}/sources/run`: runs it now and answers the run (a failed run is
//!   answered `200` with `"outcome": "failed"` and its error: the request itself succeeded);
//! - `GET /datasets/{id}/sources/runs?limit=N`: the last runs, newest first.
//!
//! Every route is `Reads::Private` behind the management guard; what a caller may do is
//! decided by `kleber_app::manage` (editors of the dataset's organization).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use kleber_app::sources::SourceSpec;
use kleber_types::ErrorCode;
use serde::Serialize;

use super::{ErrorBody, json, parse_body};
use crate::error::ApiError;
use crate::http::management::Manager;
use crate::http::routes::{Reads, RouteDef, def};
use crate::state::AppState;

/// The routes, relative to `/api/management/v1`.
pub fn routes() -> Vec<RouteDef> {
    let p = Reads::Private;
    vec![
        def("/datasets/{id}/sources", p, get(get_source).put(put_source).delete(delete_source)),
        def("/datasets/{id}/sources/run", p, post(run_source)),
        def("/datasets/{id}/sources/runs", p, get(list_runs)),
    ]
}

/// `PUT /datasets/{id}/sources`'s body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SourceBody {
    /// HTTP or HTTPS URLs, read in this order and concatenated (any format Kleber reads,
    /// zipped or not).
    pub urls: Vec<String>,
    /// Headers sent with each request (credentials included), stored encrypted; omitted:
    /// keep those stored; `{}`: none.
    #[schema(value_type = Option<Object>)]
    pub headers: Option<std::collections::BTreeMap<String, String>>,
    /// Cron expression (minute hour day month weekday) in the portal's time zone.
    pub schedule: Option<String>,
    /// Fields whose values identify a record (ids kept across refreshes).
    pub unique_id: Option<Vec<String>>,
    /// Largest file accepted, MiB.
    pub max_mb: Option<u64>,
    /// Longest fetch, seconds.
    pub timeout_secs: Option<u64>,
}

/// A source as shown: header names, never values.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SourceDoc {
    /// Dataset identifier.
    pub dataset_id: String,
    /// URLs.
    pub urls: Vec<String>,
    /// Names of the headers sent.
    pub header_names: Vec<String>,
    /// Cron schedule.
    pub schedule: Option<String>,
    /// Time zone of the schedule.
    pub timezone: String,
    /// Next scheduled run (RFC 3339, UTC).
    pub next_run: Option<String>,
    /// Last scheduled run.
    pub last_scheduled_run: Option<String>,
    /// Unique-id fields.
    pub unique_id: Vec<String>,
    /// Size limit, MiB.
    pub max_mb: u64,
    /// Time limit, seconds.
    pub timeout_secs: u64,
    /// Whether the last run failed (the current version stayed).
    pub failing: bool,
    /// When it was set.
    pub updated_at: String,
}

/// One run of a source.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunDoc {
    /// Run number.
    pub id: i64,
    /// `schedule` or `manual`.
    pub trigger: String,
    /// Start (RFC 3339).
    pub started_at: String,
    /// End.
    pub ended_at: Option<String>,
    /// `running`, `published`, `unchanged` (nothing published) or `failed`.
    pub outcome: String,
    /// Records of the version.
    pub records: Option<i64>,
    /// Rows rejected.
    pub rejected: Option<i64>,
    /// Version published.
    pub version: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
}

/// The OpenAPI paths and schemas of this file, merged into the management API's document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(get_source, put_source, delete_source, run_source, list_runs),
    components(schemas(SourceBody, SourceDoc, RunDoc))
)]
pub struct SourcesApi;

/// Adds [`SourcesApi`] to the management API's document.
pub struct SourcesDoc;

impl utoipa::Modify for SourcesDoc {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::OpenApi;
        doc.merge(SourcesApi::openapi());
    }
}

/// `GET /datasets/{id}/sources`.
#[utoipa::path(get, path = "/api/management/v1/datasets/{id}/sources", tag = "sources",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, body = SourceDoc), (status = 404, body = ErrorBody)))]
pub(super) async fn get_source(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    match state.app.source(&editor, &id).await? {
        Some(view) => Ok(json(StatusCode::OK, &view)),
        None => Err(ApiError::new(
            ErrorCode::NotFound,
            format!("dataset {id:?} has no source; set one with PUT on this path"),
        )),
    }
}

/// `PUT /datasets/{id}/sources`.
#[utoipa::path(put, path = "/api/management/v1/datasets/{id}/sources", tag = "sources",
    params(("id" = String, Path, description = "Dataset identifier")),
    request_body = SourceBody,
    responses((status = 200, body = SourceDoc), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(super) async fn put_source(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let value = parse_body(&body, None)?;
    let spec: SourceSpec = serde_json::from_value(value).map_err(|e| {
        ApiError::new(ErrorCode::InvalidRequestBody, format!("the source is malformed: {e}"))
    })?;
    let view = state.app.set_source(&editor, &id, spec).await?;
    Ok(json(StatusCode::OK, &view))
}

/// `DELETE /datasets/{id}/sources`.
#[utoipa::path(delete, path = "/api/management/v1/datasets/{id}/sources", tag = "sources",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, description = "`{\"cleared\": true|false}`"),
        (status = 404, body = ErrorBody)))]
pub(super) async fn delete_source(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let cleared = state.app.clear_source(&editor, &id).await?;
    Ok(json(StatusCode::OK, &serde_json::json!({ "cleared": cleared })))
}

/// `POST /datasets/{id}/sources/run`: runs the source now.
#[utoipa::path(post, path = "/api/management/v1/datasets/{id}/sources/run", tag = "sources",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, body = RunDoc), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(super) async fn run_source(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let run = state.app.run_source(&editor, &id).await?;
    Ok(json(StatusCode::OK, &run))
}

/// `GET /datasets/{id}/sources/runs?limit=N` (default 50, at most 200).
#[utoipa::path(get, path = "/api/management/v1/datasets/{id}/sources/runs", tag = "sources",
    params(("id" = String, Path, description = "Dataset identifier"),
        ("limit" = Option<u32>, Query, description = "Runs listed (1 to 200, default 50)")),
    responses((status = 200, body = [RunDoc]), (status = 404, body = ErrorBody)))]
pub(super) async fn list_runs(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let mut limit = 50usize;
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "limit" => {
                limit = value.parse().ok().filter(|n| (1..=200).contains(n)).ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InvalidRestParameter,
                        format!("Invalid value for limit API parameter: {value} was found but 1 <= limit <= 200 is expected."),
                    )
                })?;
            }
            other => {
                return Err(ApiError::new(
                    ErrorCode::InvalidRestParameter,
                    format!("Unknown parameter {other:?}; this endpoint takes limit."),
                ));
            }
        }
    }
    let runs = state.app.source_runs(&editor, &id, limit).await?;
    Ok(json(StatusCode::OK, &runs))
}
