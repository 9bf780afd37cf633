//! `/catalog/datasets` and `/catalog/datasets/{id}`.
//!
//! The catalog takes the same ODSQL as records (`where`, `order_by`, `group_by`, `select`,
//! `refine`, `exclude`) over the catalog table of `kleber_query::catalog`. Bare strings and
//! `search()` in `where` go to the Tantivy index. Without `select` or `group_by` the results are
//! dataset objects; with them, flat rows as `/records` returns. Without `order_by`, a full-text
//! query ranks by relevance, otherwise datasets come by identifier.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use kleber_export::{JsonArrayWriter, encode_all};
use serde_json::{Value, json};

use super::dataset_object::dataset_object;
use super::params::Params;
use super::{encoder_for, json_response};
use crate::catalog_cache::CatalogSnapshot;
use crate::error::ApiError;
use crate::result_cache::CacheKey;
use crate::state::AppState;
use bytes::Bytes;

/// Relevance ranks of the datasets found by the last full-text search of a request.
struct Ranker<'a> {
    snapshot: &'a CatalogSnapshot,
    ranks: Mutex<Option<HashMap<String, usize>>>,
}

impl Ranker<'_> {
    fn search(&self, text: &str) -> Vec<String> {
        let hits =
            self.snapshot.index.search(text, self.snapshot.records.len().max(1)).unwrap_or_else(
                |e| {
                    tracing::warn!(error = %e, "catalog search failed");
                    Vec::new()
                },
            );
        let ids: Vec<String> = hits.into_iter().map(|h| h.dataset_id).collect();
        let ranks = ids.iter().enumerate().map(|(i, id)| (id.clone(), i)).collect();
        *self.ranks.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(ranks);
        ids
    }
}

/// `GET /catalog/datasets`: the published datasets matching the query, paged.
pub async fn list_datasets(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let grouped = params.grouped();
    let (limit, offset) = params.page(grouped)?;
    let snapshot = state.catalog().await?;
    let key = CacheKey::catalog("catalog", snapshot.generation, query.as_deref());
    let compute = catalog_body(&state, &snapshot, &params, limit, offset);
    Ok(json_response(state.results.get_or_compute(key, compute).await?))
}

/// The body of a `/catalog/datasets` answer.
async fn catalog_body(
    state: &AppState,
    snapshot: &CatalogSnapshot,
    params: &Params,
    limit: usize,
    offset: usize,
) -> Result<Bytes, ApiError> {
    let grouped = params.grouped();
    let ranker = Ranker { snapshot, ranks: Mutex::new(None) };
    let hook = |text: &str| ranker.search(text);
    let custom = grouped || params.get("select").is_some_and(|s| !s.trim().is_empty());

    if custom {
        let q = params.records_query(Some(limit), offset);
        let planned = state.engine.plan_catalog(&snapshot.table, &q, Some(&hook))?;
        let encoder = encoder_for(&planned.columns, q.tz()?);
        let (total, batches) = state.engine.page(planned).await?;
        let results = encode_all(&mut JsonArrayWriter::new(encoder), &batches)?;
        let mut body = format!("{{\"total_count\":{total},\"results\":").into_bytes();
        body.extend_from_slice(&results);
        body.push(b'}');
        return Ok(Bytes::from(body));
    }

    let mut q = params.records_query(None, 0);
    q.select = Some("dataset_id".to_owned());
    let planned = state.engine.plan_catalog(&snapshot.table, &q, Some(&hook))?;
    let batches = state.engine.collect(planned).await?;
    let mut ids: Vec<String> = Vec::new();
    let encoder = encoder_for(
        &[kleber_query::OutputColumn {
            key: "dataset_id".into(),
            label: "dataset_id".into(),
            role: kleber_query::ColumnRole::Plain,
            field: None,
        }],
        chrono_tz::UTC,
    );
    for batch in &batches {
        for value in encoder.batch_values(batch)? {
            if let Some(id) = value.get("dataset_id").and_then(Value::as_str) {
                ids.push(id.to_owned());
            }
        }
    }
    let ranks = ranker.ranks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
    if let (Some(ranks), true) = (ranks, params.get("order_by").is_none_or(|o| o.trim().is_empty()))
    {
        ids.sort_by_key(|id| ranks.get(id).copied().unwrap_or(usize::MAX));
    }
    let total = ids.len();
    let results: Vec<Value> = ids
        .iter()
        .skip(offset)
        .take(limit)
        .filter_map(|id| snapshot.record(id))
        .map(dataset_object)
        .collect();
    Ok(Bytes::from(json!({"total_count": total, "results": results}).to_string()))
}

/// `GET /catalog/datasets/{id}`: one dataset's object.
pub async fn get_dataset(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record = state.dataset(&id).await?;
    Ok(json_response(dataset_object(&record).to_string()))
}
