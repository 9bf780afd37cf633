//! `/catalog/datasets/{id}/exports` and `/catalog/datasets/{id}/exports/{format}`: every
//! matching record, in any of the formats of [`ExportFormat`] (bodies written by
//! [`crate::shared::exports`]).

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use kleber_export::ExportFormat;
use serde_json::json;

use crate::error::ApiError;
use crate::http::PublicUrl;
use crate::http::resolve::Resolution;
use crate::shared::exports::{export_dataset, parse_format};
use crate::shared::json::json_response;
use crate::shared::params::Params;
use crate::shared::request_context;
use crate::state::AppState;

/// `GET /catalog/datasets/{id}/exports`: the formats, as links.
pub async fn list_export_formats(
    State(state): State<AppState>,
    resolution: Resolution,
    base: PublicUrl,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let version = resolution.dataset(&state, &id).await?;
    let links: Vec<_> = ExportFormat::ALL
        .iter()
        .map(|f| {
            let path =
                format!("{}/catalog/datasets/{}/exports/{}", super::V2_1, version.id(), f.name());
            json!({"rel": f.name(), "href": base.url(&path)})
        })
        .collect();
    Ok(json_response(json!({"links": links}).to_string()))
}

/// `GET /catalog/datasets/{id}/exports/{format}`.
pub async fn export_records(
    State(state): State<AppState>,
    resolution: Resolution,
    Path((id, format)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let format = parse_format(&format, &ExportFormat::ALL)?;
    let params = Params::parse(query.as_deref());
    let ctx = request_context(&resolution, &params)?;
    let version = resolution.dataset(&state, &id).await?;
    export_dataset(&state, &ctx, &version, format, &params, resolution.base.as_ref()).await
}
