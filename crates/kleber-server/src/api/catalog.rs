//! `/catalog/datasets` and `/catalog/datasets/{id}`.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde_json::json;

use super::dataset_object::dataset_object;
use super::json_response;
use super::params::Params;
use crate::error::ApiError;
use crate::state::AppState;

/// Catalog parameters planned with the catalog query language (a later issue); refusing them
/// is better than answering an unfiltered list as if it were filtered.
const NOT_YET: &[&str] = &["where", "group_by", "order_by", "refine", "exclude"];

/// `GET /catalog/datasets`: the published datasets, paged.
pub async fn list_datasets(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    for name in NOT_YET {
        if params.get(name).is_some_and(|v| !v.trim().is_empty()) {
            return Err(ApiError::bad_param(format!(
                "The {name} API parameter is not supported on /catalog/datasets by this version of Kleber."
            )));
        }
    }
    let (limit, offset) = params.page(false)?;
    let store = Arc::clone(&state.store);
    let datasets = tokio::task::spawn_blocking(move || store.list_datasets())
        .await
        .map_err(ApiError::internal)??;
    let total = datasets.len();
    let results: Vec<_> = datasets.iter().skip(offset).take(limit).map(dataset_object).collect();
    Ok(json_response(json!({"total_count": total, "results": results}).to_string()))
}

/// `GET /catalog/datasets/{id}`: one dataset's object.
pub async fn get_dataset(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record = state.dataset(&id).await?;
    Ok(json_response(dataset_object(&record).to_string()))
}
