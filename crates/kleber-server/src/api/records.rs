//! `/catalog/datasets/{id}/records` and `/catalog/datasets/{id}/records/{record_id}`.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use bytes::Bytes;
use kleber_app::{DatasetVersion, Page, RequestContext};

use crate::error::ApiError;
use crate::http::PublicUrl;
use crate::http::resolve::Resolution;
use crate::shared::json::{json_response, page_hrefs};
use crate::shared::params::Params;
use crate::shared::request_context;
use crate::state::AppState;

/// `GET /catalog/datasets/{id}/records`: one page of records, or of groups.
#[utoipa::path(get, path = "/api/explore/v2.1/catalog/datasets/{dataset_id}/records", tag = "Explore v2.1",
    params(("dataset_id" = String, Path, description = "Dataset identifier"), crate::openapi::params::Records),
    responses((status = 200, description = "A page of records, or of groups", body = crate::openapi::schemas::ResultsV21, content_type = "application/json")))]
pub async fn get_records(
    State(state): State<AppState>,
    resolution: Resolution,
    base: PublicUrl,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let (limit, offset) = params.page(params.grouped())?;
    let include_links = params.bool("include_links", false)?;
    params.bool("include_app_metas", false)?;
    let ctx = request_context(&resolution, &params)?;
    let version = resolution.dataset(&state, &id).await?;
    let key = resolution.dataset_key(&version, query.as_deref());
    let links = include_links.then_some(&base);
    let compute = records_body(&state, &ctx, &version, params, limit, offset, links);
    Ok(json_response(state.app.cached(key, compute).await?))
}

/// The body of a `/records` answer.
async fn records_body(
    state: &AppState,
    ctx: &RequestContext,
    version: &DatasetVersion,
    params: Params,
    limit: usize,
    offset: usize,
    links: Option<&PublicUrl>,
) -> Result<Bytes, ApiError> {
    let mut query = params.records_query(Some(limit), offset);
    query.r#where.extend(crate::shared::qv1::qv1_where(&params, version.fields())?);
    // Per-record links need each record's id: select it under a private name.
    let record_links = links.is_some() && !params.grouped();
    if record_links {
        query.record_id_column = Some(LINK_ID.to_owned());
    }
    let page = state.app.records(ctx, version, &query).await?;
    if let Some(base) = links {
        let body = with_links(base, version.id(), &params, &page, limit, offset, record_links)?;
        return Ok(Bytes::from(body.to_string()));
    }
    let results = page.json_array()?;
    let mut body = Vec::with_capacity(results.len() + 40);
    body.extend_from_slice(b"{\"total_count\":");
    body.extend_from_slice(page.total.to_string().as_bytes());
    body.extend_from_slice(b",\"results\":");
    body.extend_from_slice(&results);
    body.push(b'}');
    Ok(Bytes::from(body))
}

/// The private name of the record id selected for `_links`.
const LINK_ID: &str = "__kleber_link_id";

/// The response with `include_links=true`: `_links` to this page, the first, the last and the
/// next, and on each record (without group_by) to itself and its dataset. Hrefs are absolute
/// URLs on the request's `base`.
fn with_links(
    base: &PublicUrl,
    id: &str,
    params: &Params,
    page: &Page,
    limit: usize,
    offset: usize,
    record_links: bool,
) -> Result<serde_json::Value, ApiError> {
    use serde_json::{Value, json};
    let dataset = base.url(&format!("{}/catalog/datasets/{id}", super::V2_1));
    let links: Vec<Value> =
        page_hrefs(&format!("{dataset}/records"), params.pairs(), page.total, limit, offset)
            .into_iter()
            .map(|(href, rel)| json!({"href": href, "rel": rel}))
            .collect();
    let mut results = Vec::new();
    for mut value in page.values()? {
        if record_links && let Value::Object(map) = &mut value {
            let rid =
                map.remove(LINK_ID).and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            map.insert(
                "_links".into(),
                json!([{"href": format!("{dataset}/records/{rid}"), "rel": "self"}, {"href": dataset, "rel": "dataset"}]),
            );
        }
        results.push(value);
    }
    Ok(json!({"total_count": page.total, "_links": links, "results": results}))
}

/// `GET /catalog/datasets/{id}/records/{record_id}`: one record, as a bare object.
#[utoipa::path(get, path = "/api/explore/v2.1/catalog/datasets/{dataset_id}/records/{record_id}", tag = "Explore v2.1",
    params(("dataset_id" = String, Path, description = "Dataset identifier"), ("record_id" = String, Path, description = "Record identifier"), crate::openapi::params::Record),
    responses((status = 200, description = "The record", body = crate::openapi::schemas::RecordV21, content_type = "application/json")))]
pub async fn get_record(
    State(state): State<AppState>,
    resolution: Resolution,
    Path((id, record_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let ctx = request_context(&resolution, &params)?;
    let version = resolution.dataset(&state, &id).await?;
    let page =
        state.app.record(&ctx, &version, &record_id, &params.records_query(Some(1), 0)).await?;
    let Some(batch) = page.batches.iter().find(|b| b.num_rows() > 0) else {
        return Err(kleber_app::Error::RecordNotFound(record_id).into());
    };
    let mut body = Vec::new();
    page.encoder.write_json_record(batch, 0, &mut body)?;
    Ok(json_response(body))
}
