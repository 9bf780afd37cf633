//! The legacy front-office download URL `/explore/dataset/{id}/download/`, still called by
//! odsclient, Osmose and resources published on data.gouv.fr.
//!
//! Parameters: `format` (`csv` by default, `json` as v1 records, every v2.1 export format),
//! `csv_separator`, `use_labels_for_header`, `timezone`, `lang`, and the v1 filters (`q`,
//! `refine.X`, `exclude.X`, `geofilter.*`, `sort`, `fields`). It answers exactly as
//! `/api/records/1.0/download/?dataset={id}` ([`crate::api_v1::search::download`]); errors
//! have the v1 body `{"errorcode", "error"}` that odsclient reads.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;

use crate::api::params::Params;
use crate::api_v1::V1Result;
use crate::state::AppState;

/// The download routes (mounted at the root). Portal pages `/explore/dataset/{id}/{tab}` are
/// another module's; axum prefers this static `download` segment over a `{tab}` parameter.
pub fn routes() -> Router<AppState> {
    Router::new().route("/explore/dataset/{id}/download", get(download))
}

/// `GET /explore/dataset/{id}/download/`.
pub async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> V1Result {
    let params = Params::parse(query.as_deref());
    crate::api_v1::search::download(state, &id, &params).await
}
