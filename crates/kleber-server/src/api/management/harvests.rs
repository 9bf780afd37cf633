//! Harvest sources on the management API (docs/harvest.md), portal admins only:
//!
//! - `GET /harvests`: every harvest; `POST /harvests`: creates or replaces one (`{"name",
//!   "kind", "url", "query", "fq", "ids", "overrides", "delete_missing", "schedule"}`);
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
use serde_json::json;

use super::{json, parse_body};
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

async fn list(
    State(state): State<AppState>,
    Manager(editor): Manager,
) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &state.app.harvests(&editor).await?))
}

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

async fn show(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &state.app.harvest(&editor, &name).await?))
}

async fn delete(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    state.app.delete_harvest(&editor, &name).await?;
    Ok(json(StatusCode::OK, &json!({ "deleted": name })))
}

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

async fn runs(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &state.app.harvest_runs(&editor, &name).await?))
}
