//! `/catalog/exports` and `/catalog/exports/{csv,json,jsonl,xlsx}`: the catalog as a file, one
//! row per published dataset.
//!
//! The rows are those of `/catalog/datasets` with `select` (the catalog table of
//! `kleber_query::catalog`: `dataset_id`, `title`, `description`, `publisher`, `theme`,
//! `keyword`, `license`, `language`, `modified`, `data_processed`, `records_count`, `features`,
//! `has_records`, `organization`), filtered and sorted by the same ODSQL (`select`, `where` with full-text
//! search through the catalog index, `order_by`, `refine`, `exclude`, `limit` (default: all),
//! `offset`, `timezone`), and written by the dataset export writers (CSV parameters apply,
//! `compressed=true` too). DCAT and other RDF exports are served elsewhere.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use kleber_export::ExportFormat;
use serde_json::json;

use super::V2_1;
use crate::error::ApiError;
use crate::http::PublicUrl;
use crate::http::resolve::Resolution;
use crate::shared::exports::{export_options, export_response, parse_format};
use crate::shared::json::json_response;
use crate::shared::params::Params;
use crate::shared::request_context;
use crate::state::AppState;

/// Name of the downloaded file, before its extension.
const FILE_NAME: &str = "catalog";

/// `GET /catalog/exports`: the catalog export formats, as links.
pub async fn list_catalog_export_formats(base: PublicUrl) -> Response {
    let mut links: Vec<_> = ExportFormat::CATALOG
        .iter()
        .map(|f| {
            json!({"rel": f.name(), "href": base.url(&format!("{V2_1}/catalog/exports/{}", f.name()))})
        })
        .collect();
    // The feeds of `catalog_feeds.rs`.
    for name in ["rss", "data.json"] {
        links.push(
            json!({"rel": name, "href": base.url(&format!("{V2_1}/catalog/exports/{name}"))}),
        );
    }
    json_response(json!({"links": links}).to_string())
}

/// `GET /catalog/exports/{format}`: every dataset matching the query.
pub async fn export_catalog(
    State(state): State<AppState>,
    resolution: Resolution,
    Path(format): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let format = parse_format(&format, &ExportFormat::CATALOG)?;
    let params = Params::parse(query.as_deref());
    let limit = params.export_limit()?;
    let offset = params.int("offset")?.unwrap_or(0).max(0) as usize;
    let compressed = params.bool("compressed", false)?;
    let options = export_options(&state, &params, FILE_NAME)?;
    let query = params.records_query(limit, offset);
    let ctx = request_context(&resolution, &params)?;
    let view = resolution.catalog(&state).await?;
    let export = state.app.export(&ctx, &view, &query).await?;
    export_response(format, FILE_NAME, compressed, export, &options, state.export_stall)
}
