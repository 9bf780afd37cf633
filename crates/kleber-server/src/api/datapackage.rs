//! `/catalog/datasets/{id}/datapackage.json`: the dataset as a Frictionless Data Package
//! (v2, readable by v1 tools): its fields as a Table Schema, its licence, sources and
//! contributors, and one resource, the CSV export at its absolute URL
//! ([`kleber_export::descriptor`], docs/interoperability.md).

use axum::extract::{Path, State};
use axum::response::Response;

use crate::error::ApiError;
use crate::http::PublicUrl;
use crate::http::resolve::Resolution;
use crate::shared::datapackage::package_info;
use crate::shared::json::json_response;
use crate::state::AppState;

/// `GET /catalog/datasets/{id}/datapackage.json`.
pub async fn get_datapackage(
    State(state): State<AppState>,
    resolution: Resolution,
    base: PublicUrl,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let version = resolution.dataset(&state, &id).await?;
    let descriptor = kleber_export::descriptor(&package_info(&version, &base), None);
    let body = serde_json::to_string_pretty(&descriptor).map_err(ApiError::internal)?;
    Ok(json_response(body))
}
