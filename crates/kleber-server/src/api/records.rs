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
    let query = params.records_query(Some(limit), offset);
    let planned = state.engine.plan(&dataset, &query).await?;
    let encoder = encoder_for(&planned.columns, query.tz()?);
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
    query.r#where = vec![format!("_id = \"{record_id}\"")];
    query.group_by = None;
    let planned = state.engine.plan(&dataset_ref(&record), &query).await?;
    let encoder = encoder_for(&planned.columns, query.tz()?);
    let batches = state.engine.collect(planned).await?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Err(not_found());
    };
    let mut body = Vec::new();
    encoder.write_json_record(batch, 0, &mut body)?;
    Ok(json_response(body))
}
