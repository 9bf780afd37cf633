//! Harvest sources on the management API (docs/harvest.md), portal admins only:
//!
//! - `GET /harvests`: every harvest; `POST /harvests`: creates or replaces one (`{"name",
//!   "kind", "url", "query", "fq", "ids", "overrides", "delete_missing", "schedule",
//!   "organization", "headers", "apikey"}`; header values are stored encrypted and never
//!   answered, only `header_names`);
//! - `GET /harvests/{harvest}`, `DELETE /harvests/{harvest}` (the datasets it created stay);
//! - `POST /harvests/{harvest}/run`: runs it now and answers the run and its report (a run
//!   whose source cannot be harvested is a `400 UnreadableFile` with the reason, recorded);
//! - `GET /harvests/{harvest}/runs`: its last runs, newest first.
//!
//! Every route is `Reads::Private` behind the management guard (API key or session with its
//! CSRF token, body limits); `kleber_app::harvest` refuses whoever is not a portal admin.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use kleber_app::harvest::HarvestSpec;
use kleber_types::ErrorCode;
use serde::Serialize;
use serde_json::json;

use super::{ErrorBody, json, parse_body};
use crate::error::ApiError;
use crate::http::management::Manager;
use crate::http::routes::{Reads, RouteDef, def};
use crate::state::AppState;

/// The routes, relative to `/api/management/v1`.
pub fn routes() -> Vec<RouteDef> {
    let p = Reads::Private;
    vec![
        def("/harvests", p, get(list).post(set)),
        def("/harvests/{harvest}", p, get(show).delete(delete)),
        def("/harvests/{harvest}/run", p, post(run)),
        def("/harvests/{harvest}/runs", p, get(runs)),
    ]
}

/// `POST /harvests`'s body (docs/harvest.md).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HarvestBody {
    /// Name (`[a-z0-9-]`, at most 40; default: from the host name).
    pub name: Option<String>,
    /// `ods`, `ckan` or `dcat`.
    pub kind: String,
    /// The portal's (ods, ckan) or the catalog's first page's (dcat) address.
    pub url: String,
    /// ODSQL `where` (ods), `q` (ckan), a keyword (dcat).
    pub query: Option<String>,
    /// CKAN's `fq` (ckan only).
    pub fq: Option<String>,
    /// Only these source dataset ids (instead of a query).
    pub ids: Option<Vec<String>>,
    /// Metadata set over the source's on every harvested dataset.
    #[schema(value_type = Option<Object>)]
    pub overrides: Option<serde_json::Map<String, serde_json::Value>>,
    /// Move datasets gone from the source to the trash (default: keep and mark them).
    pub delete_missing: Option<bool>,
    /// Cron schedule in the portal's time zone.
    pub schedule: Option<String>,
    /// The organization it belongs to (ckan, dcat); none: the portal's.
    pub organization: Option<String>,
    /// Headers sent with every request to the source's own host (credentials, e.g. CKAN's
    /// `{"Authorization": "<API token>"}`), stored encrypted; answers show `header_names`
    /// only. Absent: the stored headers are kept; `{}`: removed.
    pub headers: Option<std::collections::BTreeMap<String, String>>,
    /// An Opendatasoft API key (ods only), sent as `Authorization: Apikey <key>`, stored like
    /// the headers.
    pub apikey: Option<String>,
}

/// The OpenAPI paths and schemas of this file, merged into the management API's document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, set, show, delete, run, runs), components(schemas(HarvestBody)))]
pub struct HarvestsApi;

/// Adds [`HarvestsApi`] to the management API's document.
pub struct HarvestsDoc;

impl utoipa::Modify for HarvestsDoc {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::OpenApi;
        doc.merge(HarvestsApi::openapi());
    }
}

/// `GET /harvests`.
#[utoipa::path(get, path = "/api/management/v1/harvests", tag = "harvests",
    responses((status = 200, description = "Every harvest"), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    Manager(editor): Manager,
) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &state.app.harvests(&editor).await?))
}

/// `POST /harvests`: creates or replaces a harvest.
#[utoipa::path(post, path = "/api/management/v1/harvests", tag = "harvests",
    request_body = HarvestBody,
    responses((status = 200, description = "The harvest"), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn set(
    State(state): State<AppState>,
    Manager(editor): Manager,
    body: Bytes,
) -> Result<Response, ApiError> {
    let value = parse_body(&body, None)?;
    let spec: HarvestSpec = serde_json::from_value(value).map_err(|e| {
        ApiError::new(ErrorCode::InvalidRequestBody, format!("the harvest is malformed: {e}"))
    })?;
    Ok(json(StatusCode::OK, &state.app.set_harvest(&editor, spec).await?))
}

/// `GET /harvests/{harvest}`.
#[utoipa::path(get, path = "/api/management/v1/harvests/{harvest}", tag = "harvests",
    params(("harvest" = String, Path, description = "Harvest name")),
    responses((status = 200, description = "The harvest"), (status = 404, body = ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &state.app.harvest(&editor, &name).await?))
}

/// `DELETE /harvests/{harvest}`: its datasets stay.
#[utoipa::path(delete, path = "/api/management/v1/harvests/{harvest}", tag = "harvests",
    params(("harvest" = String, Path, description = "Harvest name")),
    responses((status = 200, description = "`{\"deleted\": name}`"), (status = 404, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    state.app.delete_harvest(&editor, &name).await?;
    Ok(json(StatusCode::OK, &json!({ "deleted": name })))
}

/// `POST /harvests/{harvest}/run`: runs it now.
#[utoipa::path(post, path = "/api/management/v1/harvests/{harvest}/run", tag = "harvests",
    params(("harvest" = String, Path, description = "Harvest name")),
    responses((status = 200, description = "The run and its report"), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn run(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let (run, report) = state.app.run_harvest(&editor, &name).await?;
    let pairs = |list: &[(String, String)]| -> Vec<serde_json::Value> {
        list.iter().map(|(id, why)| json!({"dataset": id, "reason": why})).collect()
    };
    let body = json!({
        "run": run,
        "copied": report.copied.iter().map(|c| json!({"dataset": c.id, "records": c.records, "format": c.format})).collect::<Vec<_>>(),
        "unchanged": report.unchanged,
        "removed": report.removed,
        "kept": report.kept,
        "failed": pairs(&report.failed),
        "not_carried_over": pairs(&report.notes),
    });
    Ok(json(StatusCode::OK, &body))
}

/// `GET /harvests/{harvest}/runs`: the last 100 runs, newest first.
#[utoipa::path(get, path = "/api/management/v1/harvests/{harvest}/runs", tag = "harvests",
    params(("harvest" = String, Path, description = "Harvest name")),
    responses((status = 200, description = "Runs"), (status = 404, body = ErrorBody)))]
async fn runs(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &state.app.harvest_runs(&editor, &name).await?))
}
