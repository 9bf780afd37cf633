//! `/catalog/datasets/{id}/facets` and `/catalog/facets`.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use kleber_query::facets::{
    FacetGroup, FacetRequest, FacetValue, default_facets, parse_facet_param,
};
use serde_json::{Value, json};

use super::json_response;
use super::params::Params;
use crate::catalog_cache::CatalogSnapshot;
use crate::error::ApiError;
use crate::result_cache::CacheKey;
use crate::state::{AppState, dataset_ref};
use bytes::Bytes;

fn value_json(v: &FacetValue) -> Value {
    let mut o =
        json!({"name": v.name, "value": v.value, "count": v.count, "state": v.state.name()});
    if !v.facets.is_empty() {
        o["facets"] = Value::Array(v.facets.iter().map(value_json).collect());
    }
    o
}

fn body(groups: &[FacetGroup]) -> Bytes {
    let facets: Vec<Value> = groups
        .iter()
        .map(|g| json!({"name": g.name, "facets": g.facets.iter().map(value_json).collect::<Vec<_>>()}))
        .collect();
    Bytes::from(json!({"links": [], "facets": facets}).to_string())
}

fn requests(
    params: &Params,
    fields: &[kleber_types::Field],
) -> Result<Vec<FacetRequest>, ApiError> {
    let asked = params.all("facet");
    if asked.is_empty() {
        return Ok(default_facets(fields));
    }
    Ok(asked.iter().map(|f| parse_facet_param(f)).collect::<Result<Vec<_>, _>>()?)
}

/// `GET /catalog/datasets/{id}/facets`.
pub async fn get_records_facets(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let record = state.dataset(&id).await?;
    let key = CacheKey::dataset("facets", &record.uid, record.version.number, query.as_deref());
    let compute = async {
        let dataset = dataset_ref(&record);
        let requests = requests(&params, &dataset.fields)?;
        let mut query = params.records_query(None, 0);
        query.r#where.extend(crate::api_v1::query_v1::qv1_where(&params, &dataset.fields)?);
        let groups = state.engine.facets(&dataset, &query, &requests).await?;
        Ok(body(&groups))
    };
    Ok(json_response(state.results.get_or_compute(key, compute).await?))
}

/// `GET /catalog/facets`.
pub async fn get_catalog_facets(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let snapshot = state.catalog().await?;
    let key = CacheKey::catalog("catalog_facets", snapshot.generation, query.as_deref());
    let compute = catalog_facets_body(&state, &snapshot, &params);
    Ok(json_response(state.results.get_or_compute(key, compute).await?))
}

async fn catalog_facets_body(
    state: &AppState,
    snapshot: &CatalogSnapshot,
    params: &Params,
) -> Result<Bytes, ApiError> {
    let requests = requests(params, &kleber_query::catalog::catalog_fields())?;
    let hook = |text: &str| -> Vec<String> {
        snapshot
            .index
            .search(text, snapshot.records.len().max(1))
            .map(|hits| hits.into_iter().map(|h| h.dataset_id).collect())
            .unwrap_or_default()
    };
    let groups = state
        .engine
        .catalog_facets(&snapshot.table, &params.records_query(None, 0), &requests, Some(&hook))
        .await?;
    Ok(body(&groups))
}
