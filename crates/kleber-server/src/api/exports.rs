//! `/catalog/datasets/{id}/exports/{format}`: every matching record, streamed.
//!
//! The response body is produced batch by batch from DataFusion's stream, so memory does not
//! grow with the dataset; there is no size limit.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use kleber_export::{CsvOptions, CsvWriter, JsonArrayWriter, JsonLinesWriter, RecordWriter};
use kleber_types::ErrorCode;
use serde_json::json;

use super::params::Params;
use super::{encoder_for, json_response};
use crate::error::ApiError;
use crate::state::{AppState, dataset_ref};

/// The export formats served, with their extension and content type.
pub const FORMATS: &[(&str, &str)] = &[
    ("csv", "text/csv; charset=utf-8"),
    ("json", "application/json; charset=utf-8"),
    ("jsonl", "application/jsonl; charset=utf-8"),
];

/// `GET /catalog/datasets/{id}/exports`: the formats, as links.
pub async fn list_export_formats(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.dataset(&id).await?;
    let links: Vec<_> = FORMATS
        .iter()
        .map(|(name, _)| json!({"rel": name, "href": format!("/api/explore/v2.1/catalog/datasets/{id}/exports/{name}")}))
        .collect();
    Ok(json_response(json!({"links": links}).to_string()))
}

fn csv_options(params: &Params) -> Result<CsvOptions, ApiError> {
    let mut options = CsvOptions::default();
    if let Some(d) = params.get("delimiter") {
        options.delimiter = match d {
            ";" => b';',
            "," => b',',
            "\t" | "\\t" => b'\t',
            "|" => b'|',
            other => {
                return Err(ApiError::bad_param(format!(
                    "Invalid value for delimiter API parameter: {other:?} was found but one of \";\", \",\", \"\\t\", \"|\" is expected."
                )));
            }
        };
    }
    if let Some(sep) = params.get("list_separator") {
        options.list_separator = sep.to_owned();
    }
    options.quote_all = params.bool("quote_all", false)?;
    options.with_bom = params.bool("with_bom", true)?;
    options.use_labels = params.bool("use_labels", false)?;
    Ok(options)
}

/// `GET /catalog/datasets/{id}/exports/{format}`.
pub async fn export_records(
    State(state): State<AppState>,
    Path((id, format)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let Some((_, content_type)) = FORMATS.iter().find(|(name, _)| *name == format) else {
        let names: Vec<_> = FORMATS.iter().map(|(n, _)| *n).collect();
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("Unknown export format: {format}. Available formats: {}.", names.join(", ")),
        ));
    };
    let params = Params::parse(query.as_deref());
    let limit = params.export_limit()?;
    let offset = params.int("offset")?.unwrap_or(0).max(0) as usize;
    let csv = if format == "csv" { Some(csv_options(&params)?) } else { None };
    let query = params.records_query(limit, offset);
    let tz = query.tz()?;
    let record = state.dataset(&id).await?;
    let planned = state.engine.plan(&dataset_ref(&record), &query).await?;
    let encoder = encoder_for(&planned.columns, tz);
    let mut writer: Box<dyn RecordWriter + Send> = match (csv, format.as_str()) {
        (Some(options), _) => Box::new(CsvWriter::new(encoder, options)),
        (None, "jsonl") => Box::new(JsonLinesWriter::new(encoder)),
        (None, _) => Box::new(JsonArrayWriter::new(encoder)),
    };
    let mut stream = state.engine.stream(planned).await?;
    // Wait for the first batch before answering: a query that fails at once (a sort over the
    // memory limit, a type error) gets a proper error status instead of a truncated 200.
    let first = match stream.next().await {
        Some(Ok(batch)) => Some(batch),
        Some(Err(e)) => return Err(kleber_query::Error::from(e).into()),
        None => None,
    };
    let mut head = Vec::new();
    writer.begin(&mut head)?;
    if let Some(batch) = &first {
        writer.write_batch(batch, &mut head)?;
    }
    let body = futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(head)) })
        .chain(encode_stream(stream, writer));
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let disposition = format!("attachment; filename=\"{id}.{format}\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Encodes each batch of `stream` into one chunk, then the epilogue. An error in the middle
/// ends the body early: the status line is already sent, so the client sees a truncated file
/// (and the error is logged).
fn encode_stream(
    stream: kleber_query::RecordBatchStream,
    writer: Box<dyn RecordWriter + Send>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    futures::stream::unfold(Some((stream, writer)), |state| async move {
        let (mut stream, mut writer) = state?;
        match stream.next().await {
            Some(Ok(batch)) => {
                let mut chunk = Vec::new();
                match writer.write_batch(&batch, &mut chunk) {
                    Ok(()) => Some((Ok(Bytes::from(chunk)), Some((stream, writer)))),
                    Err(e) => {
                        tracing::error!(error = %e, "export encoding failed");
                        Some((Err(std::io::Error::other(e.to_string())), None))
                    }
                }
            }
            Some(Err(e)) => {
                tracing::error!(error = %e, "export query failed");
                Some((Err(std::io::Error::other(e.to_string())), None))
            }
            None => {
                let mut tail = Vec::new();
                match writer.finish(&mut tail) {
                    Ok(()) => Some((Ok(Bytes::from(tail)), None)),
                    Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
                }
            }
        }
    })
}
