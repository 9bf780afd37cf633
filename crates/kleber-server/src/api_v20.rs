//! The Explore API v2.0 (`/api/explore/v2.0/...`) and its short alias `/api/v2/...`.
//!
//! Same queries as v2.1 (the same [`Params`] → [`RecordsQuery`](kleber_query::RecordsQuery) →
//! engine path), answered in the wrapped v2.0 shapes:
//!
//! | route | v2.0 body |
//! |---|---|
//! | `/catalog/datasets` | `{"total_count", "links", "datasets": [{"links", "dataset": {…}}]}` |
//! | `/catalog/datasets/{id}` | `{"links", "dataset": {…}}` |
//! | `/catalog/datasets/{id}/records` | `{"total_count", "links", "records": [{"links", "record": {"id", "timestamp", "size", "fields"}}]}` |
//! | `/catalog/datasets/{id}/records/{rid}` | `{"links", "record": {…}}` |
//! | facets, exports | as v2.1 (CSV without BOM by default, the v2.0 default) |
//!
//! `links` are always present: `self`, `first`, `last`, `next` on record and dataset pages.
//! With `group_by`, each record is `{"links": [], "record": {"fields": {…}}}` and date or
//! datetime group keys are epoch milliseconds, as v2.0 rendered them. `record.timestamp` is
//! when the served version was published; `record.size` the length in bytes of the record's
//! compact JSON fields.
//!
//! Every answer carries `Ods-Explore-Api-Deprecation` (the header Opendatasoft's v2.0 sends and
//! its JavaScript client reads) and `Link: </api/explore/v2.1>; rel="successor-version"`.

use axum::Router;
use axum::body::to_bytes;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use kleber_types::ErrorCode;
use serde_json::{Value, json};

use crate::api::params::Params;
use crate::api::records::run_with_time_limit;
use crate::api::{
    catalog, dataset_object::dataset_object, encoder_for, exports, facets, json_response,
};
use crate::error::ApiError;
use crate::state::{AppState, dataset_ref};

/// Where v2.0 is mounted.
pub const V2_0: &str = "/api/explore/v2.0";
/// Its short alias.
pub const V2_ALIAS: &str = "/api/v2";

/// The deprecation message of every v2.0 answer.
pub const DEPRECATION: &str =
    "Explore API v2.0 is deprecated; use Explore API v2.1 (/api/explore/v2.1).";

/// The v2.0 routes (mounted under [`V2_0`] and [`V2_ALIAS`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/catalog", get(catalog_root))
        .route("/catalog/datasets", get(list_datasets))
        .route("/catalog/facets", get(facets::get_catalog_facets))
        .route("/catalog/datasets/{id}", get(get_dataset))
        .route("/catalog/datasets/{id}/facets", get(facets::get_records_facets))
        .route("/catalog/datasets/{id}/records", get(get_records))
        .route("/catalog/datasets/{id}/records/{record_id}", get(get_record))
        .route("/catalog/datasets/{id}/exports", get(list_exports))
        .route("/catalog/datasets/{id}/exports/{format}", get(export))
        .route("/catalog/datasets/{id}/attachments", get(list_attachments))
        .route("/catalog/datasets/{id}/attachments/{file}", get(attachment))
        .route("/catalog/datasets/{id}/alternative_exports/{file}", get(alternative_export))
        .layer(axum::middleware::map_response(deprecation_headers))
}

async fn deprecation_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert("ods-explore-api-deprecation", HeaderValue::from_static(DEPRECATION));
    headers.insert(
        axum::http::header::LINK,
        HeaderValue::from_static("</api/explore/v2.1>; rel=\"successor-version\""),
    );
    response
}

/// The API root of the request's URL (`/api/v2` or `/api/explore/v2.0`).
fn base(uri: &axum::http::Uri) -> &'static str {
    if uri.path().starts_with(V2_ALIAS) { V2_ALIAS } else { V2_0 }
}

fn link(href: String, rel: &str) -> Value {
    json!({"href": href, "rel": rel})
}

async fn root(OriginalUri(uri): OriginalUri) -> Response {
    let b = base(&uri);
    json_response(
        json!({"links": [link(b.to_owned(), "self"), link(format!("{b}/catalog"), "catalog")]})
            .to_string(),
    )
}

async fn catalog_root(OriginalUri(uri): OriginalUri) -> Response {
    let b = base(&uri);
    json_response(
        json!({"links": [
            link(format!("{b}/catalog"), "self"),
            link(format!("{b}/catalog/datasets"), "datasets"),
            link(format!("{b}/catalog/facets"), "facets"),
        ]})
        .to_string(),
    )
}

/// `self`, `first`, `last` and `next` links of a page at `path`.
fn page_links(path: &str, params: &Params, total: u64, limit: usize, offset: usize) -> Vec<Value> {
    let page = |offset: usize| {
        let mut pairs: Vec<(String, String)> =
            params.pairs().iter().filter(|(k, _)| k != "offset").cloned().collect();
        pairs.push(("offset".into(), offset.to_string()));
        let query: String =
            form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        format!("{path}?{query}")
    };
    let total = total as usize;
    let last = if total == 0 || limit == 0 { 0 } else { (total - 1) / limit * limit };
    let mut links =
        vec![link(page(offset), "self"), link(page(0), "first"), link(page(last), "last")];
    if limit > 0 && offset + limit < total {
        links.push(link(page(offset + limit), "next"));
    }
    links
}

/// Reads the JSON body of a v2.1 handler's answer (a page: bounded by the records window).
async fn body_json(response: Response) -> Result<Value, ApiError> {
    let bytes = to_bytes(response.into_body(), 64 << 20).await.map_err(ApiError::internal)?;
    serde_json::from_slice(&bytes).map_err(ApiError::internal)
}

async fn list_datasets(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let (limit, offset) = params.page(params.grouped())?;
    let response = catalog::list_datasets(State(state), RawQuery(query)).await?;
    if response.status() != StatusCode::OK {
        return Ok(response);
    }
    let v = body_json(response).await?;
    let total = v["total_count"].as_u64().unwrap_or(0);
    let b = base(&uri);
    let path = format!("{b}/catalog/datasets");
    let datasets: Vec<Value> = v["results"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|d| {
                    let links = match d["dataset_id"].as_str() {
                        Some(id) => vec![link(format!("{path}/{id}"), "self")],
                        None => Vec::new(),
                    };
                    json!({"links": links, "dataset": d})
                })
                .collect()
        })
        .unwrap_or_default();
    let links = page_links(&path, &params, total, limit, offset);
    Ok(json_response(
        json!({"total_count": total, "links": links, "datasets": datasets}).to_string(),
    ))
}

fn dataset_links(b: &str, id: &str) -> Vec<Value> {
    let path = format!("{b}/catalog/datasets/{id}");
    vec![
        link(path.clone(), "self"),
        link(format!("{path}/records"), "records"),
        link(format!("{path}/exports"), "exports"),
        link(format!("{path}/facets"), "facets"),
    ]
}

async fn get_dataset(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record = state.dataset(&id).await?;
    let body = json!({"links": dataset_links(base(&uri), &id), "dataset": dataset_object(&record)});
    Ok(json_response(body.to_string()))
}

/// Private name of the record id selected for v2.0 records.
const RECORD_ID: &str = "__kleber_v20_id";

/// Epoch milliseconds of an ISO date or datetime text.
fn epoch_millis(text: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

/// Runs a records query and answers v2.0 records.
async fn records_page(
    state: &AppState,
    b: &str,
    id: &str,
    query: &mut kleber_query::RecordsQuery,
) -> Result<(u64, Vec<Value>), ApiError> {
    let record = state.dataset(id).await?;
    let grouped = query.group_by.as_deref().is_some_and(|g| !g.trim().is_empty());
    if !grouped {
        query.record_id_column = Some(RECORD_ID.to_owned());
    }
    let tz = query.tz()?;
    let planned = state.engine.plan(&dataset_ref(&record), query).await?;
    let encoder = encoder_for(&planned.columns, tz);
    // Group keys that are date or datetime fields: v2.0 renders them as epoch milliseconds.
    let temporal: Vec<String> = planned
        .columns
        .iter()
        .filter(|c| {
            c.field.as_ref().is_some_and(|f| {
                matches!(
                    f.field_type,
                    kleber_types::FieldType::Date | kleber_types::FieldType::Datetime
                )
            })
        })
        .map(|c| c.key.clone())
        .collect();
    let (total, batches) = run_with_time_limit(state, state.engine.page(planned)).await?;
    let timestamp = super_timestamp(&record.version.created_at, tz);
    let path = format!("{b}/catalog/datasets/{id}");
    let mut records = Vec::new();
    for batch in &batches {
        for row in encoder.batch_values(batch)? {
            let Value::Object(mut fields) = row else { continue };
            if grouped {
                for key in &temporal {
                    if let Some(v) = fields.get_mut(key)
                        && let Some(ms) = v.as_str().and_then(epoch_millis)
                    {
                        *v = json!(ms);
                    }
                }
                records.push(json!({"links": [], "record": {"fields": fields}}));
                continue;
            }
            let rid = fields.remove(RECORD_ID).unwrap_or(Value::Null);
            let size = serde_json::to_vec(&fields).map_or(0, |v| v.len());
            let rid_text = rid.as_str().unwrap_or_default().to_owned();
            records.push(json!({
                "links": [
                    link(format!("{path}/records/{rid_text}"), "self"),
                    link(path.clone(), "dataset"),
                ],
                "record": {"id": rid, "timestamp": timestamp, "size": size, "fields": fields},
            }));
        }
    }
    Ok((total, records))
}

fn super_timestamp(rfc3339: &str, tz: chrono_tz::Tz) -> String {
    crate::api_v1::response::render_timestamp(rfc3339, tz)
}

async fn get_records(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let (limit, offset) = params.page(params.grouped())?;
    let mut q = params.records_query(Some(limit), offset);
    let b = base(&uri);
    let (total, records) = records_page(&state, b, &id, &mut q).await?;
    let links =
        page_links(&format!("{b}/catalog/datasets/{id}/records"), &params, total, limit, offset);
    Ok(json_response(json!({"total_count": total, "links": links, "records": records}).to_string()))
}

async fn get_record(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path((id, record_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let not_found =
        || ApiError::new(ErrorCode::RecordNotFound, format!("Unknown record: {record_id}"));
    if !kleber_query::is_record_id(&record_id) {
        state.dataset(&id).await?;
        return Err(not_found());
    }
    let mut q = params.records_query(Some(1), 0);
    // The id was checked to be 40 hexadecimal digits, so it cannot break out of the string.
    q.r#where = vec![format!("_id = {}", kleber_odsql::write::string(&record_id))];
    q.group_by = None;
    let (_, mut records) = records_page(&state, base(&uri), &id, &mut q).await?;
    if records.is_empty() {
        return Err(not_found());
    }
    let mut one = records.swap_remove(0);
    let body = json!({"links": one["links"].take(), "record": one["record"].take()});
    Ok(json_response(body.to_string()))
}

async fn list_exports(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    // The v2.1 list, with its hrefs moved under this API's root.
    let response = exports::list_export_formats(State(state), Path(id)).await?;
    let mut v = body_json(response).await?;
    let b = base(&uri);
    if let Some(links) = v["links"].as_array_mut() {
        for l in links {
            if let Some(href) = l["href"].as_str() {
                l["href"] = json!(href.replacen(crate::api::V2_1, b, 1));
            }
        }
    }
    Ok(json_response(v.to_string()))
}

/// Exports as v2.1, except that CSV has no BOM unless `with_bom=true` (the v2.0 default).
async fn export(
    State(state): State<AppState>,
    Path((id, format)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let mut pairs: Vec<(String, String)> = params.pairs().to_vec();
    if params.get("with_bom").is_none() {
        pairs.push(("with_bom".into(), "false".into()));
    }
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    exports::export_records(State(state), Path((id, format)), RawQuery(Some(query))).await
}

async fn list_attachments(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.dataset(&id).await?;
    let href = format!("{}/catalog/datasets/{id}/attachments", base(&uri));
    Ok(json_response(json!({"links": [link(href, "self")], "attachments": []}).to_string()))
}

async fn no_file(state: &AppState, id: &str, kind: &str, file: &str) -> ApiError {
    if let Err(e) = state.dataset(id).await {
        return e;
    }
    ApiError::new(
        ErrorCode::NotFound,
        format!("Dataset {id} has no {kind} {file:?}: Kleber does not store {kind}s yet."),
    )
}

async fn attachment(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
) -> ApiError {
    no_file(&state, &id, "attachment", &file).await
}

async fn alternative_export(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
) -> ApiError {
    no_file(&state, &id, "alternative export", &file).await
}
