//! `/catalog/datasets/{id}/records`.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use kleber_export::{JsonArrayWriter, RecordWriter, encode_all};
use kleber_types::ErrorCode;

use super::params::Params;
use super::{encoder_for, json_response};
use crate::error::ApiError;
use crate::state::{AppState, dataset_ref};

/// `GET /catalog/datasets/{id}/records`: one page of records, or of groups.
pub async fn get_records(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let (limit, offset) = params.page(params.grouped())?;
    let record = state.dataset(&id).await?;
    let dataset = dataset_ref(&record);
    let planned = state.engine.plan(&dataset, &params.records_query(Some(limit), offset)).await?;
    let encoder = encoder_for(&planned.columns);
    let run = state.engine.page(planned);
    let (total, batches) = tokio::time::timeout(state.query_timeout, run).await.map_err(|_| {
        ApiError::new(
            ErrorCode::QueryTooHeavy,
            format!(
                "the query exceeded the time limit of {} s; narrow it with a where clause or use the exports endpoint",
                state.query_timeout.as_secs()
            ),
        )
    })??;
    let mut writer = JsonArrayWriter::new(encoder);
    let results = encode_all(&mut writer, &batches)?;
    let mut body = Vec::with_capacity(results.len() + 40);
    body.extend_from_slice(b"{\"total_count\":");
    body.extend_from_slice(total.to_string().as_bytes());
    body.extend_from_slice(b",\"results\":");
    body.extend_from_slice(&results);
    body.push(b'}');
    debug_assert!(writer.rows_written() as usize <= limit);
    Ok(json_response(body))
}
