//! The legacy front-office download URL `/explore/dataset/{id}/download/`, still called by
//! odsclient, Osmose and resources published on data.gouv.fr.
//!
//! Parameters: `format` (`csv` by default, `json` as v1 records, every v2.1 export format),
//! `csv_separator`, `use_labels_for_header`, `timezone`, `lang`, and the v1 filters (`q`,
//! `refine.X`, `exclude.X`, `geofilter.*`, `sort`, `fields`). It answers exactly as
//! `/api/records/1.0/download/?dataset={id}` ([`super::search::download`]), so it is part of
//! the v1 front end; errors
//! have the v1 body `{"errorcode", "error"}` that odsclient reads.

use axum::extract::{Path, RawQuery, State};

use crate::http::resolve::Resolution;
use crate::shared::params::Params;
use crate::shared::v1_error::V1Result;
use crate::state::AppState;

/// `GET /explore/dataset/{id}/download/`.
#[utoipa::path(get, path = "/explore/dataset/{id}/download", tag = "Search API v1",
    params(("id" = String, Path, description = "Dataset identifier"), crate::openapi::params::LegacyDownload),
    responses((status = 200, description = "The records as a file (CSV by default)", content_type = "application/octet-stream")))]
pub async fn download(
    State(state): State<AppState>,
    resolution: Resolution,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> V1Result {
    let params = Params::parse(query.as_deref());
    let version = resolution.dataset(&state, &id).await?;
    super::search::download(&state, &resolution, version, &params).await
}
