//! `/catalog/datasets/{id}/records`.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use kleber_export::{JsonArrayWriter, RecordWriter, encode_all};
use kleber_types::ErrorCode;

use super::params::Params;
use super::{encoder_for, json_response};
use crate::error::ApiError;
use crate::result_cache::CacheKey;
use crate::state::{AppState, dataset_ref};
use bytes::Bytes;
use kleber_store::DatasetRecord;

/// `GET /catalog/datasets/{id}/records`: one page of records, or of groups.
pub async fn get_records(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let (limit, offset) = params.page(params.grouped())?;
    let include_links = params.bool("include_links", false)?;
    let record = state.dataset(&id).await?;
    let key = CacheKey::dataset("records", &record.uid, record.version.number, query.as_deref());
    let compute = records_body(&state, &id, &record, params, limit, offset, include_links);
    Ok(json_response(state.results.get_or_compute(key, compute).await?))
}

/// The body of a `/records` answer.
async fn records_body(
    state: &AppState,
    id: &str,
    record: &DatasetRecord,
    params: Params,
    limit: usize,
    offset: usize,
    include_links: bool,
) -> Result<Bytes, ApiError> {
    let dataset = dataset_ref(record);
    let mut query = params.records_query(Some(limit), offset);
    query.r#where.extend(crate::api_v1::query_v1::qv1_where(&params, &dataset.fields)?);
    // Per-record links need each record's id: select it under a private name.
    let record_links = include_links && !params.grouped();
    if record_links {
        query.record_id_column = Some(LINK_ID.to_owned());
    }
    let planned = state.engine.plan(&dataset, &query).await?;
    let encoder = encoder_for(&planned.columns, query.tz()?);
    let (total, batches) = run_with_time_limit(state, state.engine.page(planned)).await?;
    if include_links {
        let body = with_links(id, &params, &encoder, &batches, total, limit, offset, record_links)?;
        return Ok(Bytes::from(body.to_string()));
    }
    let mut writer = JsonArrayWriter::new(encoder);
    let results = encode_all(&mut writer, &batches)?;
    let mut body = Vec::with_capacity(results.len() + 40);
    body.extend_from_slice(b"{\"total_count\":");
    body.extend_from_slice(total.to_string().as_bytes());
    body.extend_from_slice(b",\"results\":");
    body.extend_from_slice(&results);
    body.push(b'}');
    debug_assert!(writer.rows_written() as usize <= limit);
    Ok(Bytes::from(body))
}

/// Runs a query under the records time limit.
///
/// The timer drops the query (cancelling its tasks) when it fires; and a query that finished
/// after its deadline — the timer could not fire while every worker was busy with it — is
/// refused all the same, so the limit means the same thing under load.
pub(crate) async fn run_with_time_limit<T>(
    state: &AppState,
    query: impl std::future::Future<Output = Result<T, kleber_query::Error>>,
) -> Result<T, ApiError> {
    let limit = state.query_timeout;
    let started = std::time::Instant::now();
    let too_slow = || {
        ApiError::new(
            ErrorCode::QueryTooHeavy,
            format!(
                "the query exceeded the time limit of {} s; narrow it with a where clause or use the exports endpoint",
                limit.as_secs()
            ),
        )
    };
    let result = tokio::time::timeout(limit, query).await.map_err(|_| too_slow())??;
    if started.elapsed() > limit {
        return Err(too_slow());
    }
    Ok(result)
}

/// The private name of the record id selected for `_links`.
const LINK_ID: &str = "__kleber_link_id";

/// The response with `include_links=true`: `_links` to this page, the first, the last and the
/// next, and on each record (without group_by) to itself and its dataset. Hrefs are paths.
#[expect(clippy::too_many_arguments, reason = "one call site, all of a page's facts")]
fn with_links(
    id: &str,
    params: &Params,
    encoder: &kleber_export::RecordEncoder,
    batches: &[kleber_query::RecordBatch],
    total: u64,
    limit: usize,
    offset: usize,
    record_links: bool,
) -> Result<serde_json::Value, ApiError> {
    use serde_json::{Value, json};
    let base = format!("{}/catalog/datasets/{id}", super::V2_1);
    let page = |offset: usize| {
        let mut pairs: Vec<(String, String)> =
            params.pairs().iter().filter(|(k, _)| k != "offset").cloned().collect();
        pairs.push(("offset".into(), offset.to_string()));
        let query: String =
            form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        format!("{base}/records?{query}")
    };
    let total = total as usize;
    let last = if total == 0 || limit == 0 { 0 } else { (total - 1) / limit * limit };
    let mut links = vec![
        json!({"href": page(offset), "rel": "self"}),
        json!({"href": page(0), "rel": "first"}),
        json!({"href": page(last), "rel": "last"}),
    ];
    if limit > 0 && offset + limit < total {
        links.push(json!({"href": page(offset + limit), "rel": "next"}));
    }
    let mut results = Vec::new();
    for batch in batches {
        for mut value in encoder.batch_values(batch)? {
            if record_links && let Value::Object(map) = &mut value {
                let rid = map
                    .remove(LINK_ID)
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                map.insert(
                    "_links".into(),
                    json!([{"href": format!("{base}/records/{rid}"), "rel": "self"}, {"href": base, "rel": "dataset"}]),
                );
            }
            results.push(value);
        }
    }
    Ok(json!({"total_count": total, "_links": links, "results": results}))
}

/// `GET /catalog/datasets/{id}/records/{record_id}`: one record, as a bare object.
pub async fn get_record(
    State(state): State<AppState>,
    Path((id, record_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let record = state.dataset(&id).await?;
    let not_found =
        || ApiError::new(ErrorCode::RecordNotFound, format!("Unknown record: {record_id}"));
    if !kleber_query::is_record_id(&record_id) {
        return Err(not_found());
    }
    let mut query = params.records_query(Some(1), 0);
    // The id was checked to be 40 hexadecimal digits, so it cannot break out of the string.
    query.r#where = vec![format!("_id = {}", kleber_odsql::write::string(&record_id))];
    query.group_by = None;
    let planned = state.engine.plan_record(&dataset_ref(&record), &query, &record_id).await?;
    let encoder = encoder_for(&planned.columns, query.tz()?);
    let batches = state.engine.collect(planned).await?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Err(not_found());
    };
    let mut body = Vec::new();
    encoder.write_json_record(batch, 0, &mut body)?;
    Ok(json_response(body))
}
