//! Kleber's own version routes of Explore v2.1 (docs/versions.md):
//! `/catalog/datasets/{id}/versions` (every version, newest first, with its change summary)
//! and `/catalog/datasets/{id}/changes` (what changed between two versions, JSON pages or a
//! streamed CSV). `version=N` on the other dataset routes is resolved by
//! [`crate::http::resolve`].

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use kleber_app::changes::{ChangeRow, Changes, ChangesRequest};
use kleber_app::time_travel::PublicVersion;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::http::resolve::Resolution;
use crate::shared::json::json_response;
use crate::shared::params::Params;
use crate::state::AppState;

fn version_json(v: &PublicVersion) -> Value {
    let summary = v.summary.map(|s| {
        json!({"previous_version": s.previous, "records_added": s.added,
               "records_removed": s.removed, "records_changed": s.changed})
    });
    let mut item = json!({
        "version": v.number,
        "published_at": v.published_at,
        "records_count": v.records_count,
        "fields_changed": v.fields_changed,
        "source": v.source,
        "comment": v.comment,
        "current": v.current,
        "summary": summary,
        "pruned": v.pruned,
    });
    if v.pruned {
        item["note"] =
            json!("pruned by the retention policy: this entry is kept, its data is gone");
    }
    item
}

/// `GET /catalog/datasets/{id}/versions`: the dataset's versions, newest first.
#[utoipa::path(get, path = "/api/explore/v2.1/catalog/datasets/{dataset_id}/versions", tag = "Explore v2.1",
    params(("dataset_id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, description = "The dataset's versions, newest first (`total_count`, `results`: version, published_at, records_count, fields_changed, source, comment and the records added, removed and changed)", body = crate::openapi::schemas::AnyObject, content_type = "application/json")))]
pub async fn list_versions(
    State(state): State<AppState>,
    resolution: Resolution,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let dataset = resolution.dataset(&state, &id).await?;
    let versions = state.app.public_versions(&dataset).await?;
    let results: Vec<Value> = versions.iter().map(version_json).collect();
    Ok(json_response(json!({"total_count": results.len(), "results": results}).to_string()))
}

/// `GET /catalog/datasets/{id}/changes?from=A&to=B`: the records added, removed and changed
/// from version A (default: the one before B) to version B (default: the current one), and
/// the schema changes; JSON pages (`limit`, default 100, at most 1000; `offset`) ordered by
/// record id, or every change streamed as CSV with `format=csv`.
#[utoipa::path(get, path = "/api/explore/v2.1/catalog/datasets/{dataset_id}/changes", tag = "Explore v2.1",
    params(("dataset_id" = String, Path, description = "Dataset identifier"), crate::openapi::params::Changes),
    responses((status = 200, description = "The records added, removed and changed between two versions, and the schema changes (JSON, or CSV with `format=csv`)",
                content((crate::openapi::schemas::AnyObject = "application/json"), (String = "text/csv"))),
              (status = 404, description = "Unknown dataset or version (VersionNotFound lists the versions that exist)", body = crate::api::management::ErrorBody, content_type = "application/json")))]
pub async fn get_changes(
    State(state): State<AppState>,
    resolution: Resolution,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let csv = match params.get("format").unwrap_or("json") {
        "json" => false,
        "csv" => true,
        other => {
            return Err(ApiError::bad_param(format!(
                "Invalid value for format API parameter: {other:?} was found but json or csv is expected."
            )));
        }
    };
    let limit = params.int("limit")?.unwrap_or(100);
    let offset = params.int("offset")?.unwrap_or(0);
    let (Ok(limit), Ok(offset)) = (usize::try_from(limit), usize::try_from(offset)) else {
        return Err(ApiError::bad_param(format!(
            "Invalid value for limit/offset API parameter: {limit}/{offset} was found but 0 <= limit <= 1000 and offset >= 0 are expected."
        )));
    };
    let request = ChangesRequest {
        from: params.get("from").map(str::to_owned),
        to: params.get("to").map(str::to_owned),
        offset: if csv { 0 } else { offset },
        limit: (!csv).then_some(limit),
    };
    let dataset = resolution.dataset(&state, &id).await?;
    let changes = state.app.changes(&dataset, &request).await?;
    if csv {
        return Ok(csv_response(changes, dataset.id()));
    }
    json_page(changes).await
}

async fn json_page(mut changes: Changes) -> Result<Response, ApiError> {
    let mut results = Vec::new();
    while let Some(batch) = changes.rows.next().await {
        let batch = batch
            .map_err(|e| ApiError::from(kleber_app::Error::from(kleber_query::Error::from(e))))?;
        results.extend(changes.decode(&batch)?.iter().map(ChangeRow::to_json));
    }
    let c = changes.counts;
    let body = json!({
        "from": changes.from,
        "to": changes.to,
        "total_count": c.added + c.removed + c.changed,
        "records_added": c.added,
        "records_removed": c.removed,
        "records_changed": c.changed,
        "schema": changes.schema_json(),
        "results": results,
    });
    Ok(json_response(body.to_string()))
}

/// A CSV cell of a JSON value: text as is, null empty, the rest as JSON.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The CSV lines of one row: one per field (`change;record_id;field;old_value;new_value`).
fn csv_lines(row: &ChangeRow, out: &mut csv::Writer<Vec<u8>>) -> Result<(), csv::Error> {
    for (name, value) in &row.values {
        let (old, new) = match row.change.as_str() {
            "added" => (String::new(), cell(value)),
            "removed" => (cell(value), String::new()),
            _ => (cell(&value["old"]), cell(&value["new"])),
        };
        out.write_record([row.change.as_str(), row.record_id.as_str(), name, &old, &new])?;
    }
    Ok(())
}

fn csv_response(changes: Changes, id: &str) -> Response {
    let header_line = Bytes::from_static(b"change;record_id;field;old_value;new_value\n");
    let rows = futures::stream::unfold(changes, |mut changes| async move {
        let batch = changes.rows.next().await?;
        let bytes = (|| {
            let batch = batch.map_err(|e| std::io::Error::other(e.to_string()))?;
            let rows = changes.decode(&batch).map_err(|e| std::io::Error::other(e.to_string()))?;
            let mut out = csv::WriterBuilder::new()
                .delimiter(b';')
                .has_headers(false)
                .from_writer(Vec::new());
            for row in &rows {
                csv_lines(row, &mut out).map_err(|e| std::io::Error::other(e.to_string()))?;
            }
            out.into_inner().map_err(|e| std::io::Error::other(e.to_string()))
        })();
        Some((bytes.map(Bytes::from), changes))
    });
    let body =
        futures::stream::once(async move { Ok::<_, std::io::Error>(header_line) }).chain(rows);
    let mut response = axum::body::Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{id}-changes.csv\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
