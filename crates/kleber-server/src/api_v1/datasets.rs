//! `/api/datasets/1.0/search/` and `/api/datasets/1.0/{id}/` (+ attachments).
//!
//! The v1 dataset object differs from v2.1: `datasetid`, flat `metas` (no template level),
//! and field `annotations` as a list of `{"name", "args"?}` objects.

use axum::extract::{Path, RawQuery, State};
use kleber_app::CatalogPage;
use kleber_store::DatasetRecord;
use kleber_types::ErrorCode;
use serde_json::{Map, Value, json};

use super::filters::{rows_start, translate_request};
use super::response::{callback, facet_groups, json_or_jsonp};
use super::{V1Error, V1Result};
use crate::error::ApiError;
use crate::http::resolve::Resolution;
use crate::shared::dataset_object::dataset_object;
use crate::shared::params::Params;
use crate::state::AppState;

/// The v1 object of a dataset.
pub fn v1_dataset(record: &DatasetRecord, interop_metas: bool) -> Value {
    let v2 = dataset_object(record);
    let mut metas: Map<String, Value> =
        v2["metas"]["default"].as_object().cloned().unwrap_or_default();
    metas.insert("visibility".into(), json!("domain"));
    let fields: Vec<Value> = record
        .version
        .fields
        .iter()
        .map(|f| {
            let annotations: Vec<Value> = f
                .annotations
                .iter()
                .map(|(name, args)| {
                    if args.is_empty() {
                        json!({"name": name})
                    } else {
                        json!({"name": name, "args": args})
                    }
                })
                .collect();
            json!({
                "name": f.name,
                "label": f.label,
                "type": f.field_type.name(),
                "description": f.description,
                "annotations": annotations,
            })
        })
        .collect();
    let mut object = Map::new();
    object.insert("datasetid".into(), json!(record.id));
    object.insert("dataset_uid".into(), json!(record.uid));
    object.insert("has_records".into(), v2["has_records"].clone());
    object.insert("features".into(), v2["features"].clone());
    object.insert("attachments".into(), json!([]));
    object.insert("alternative_exports".into(), json!([]));
    object.insert("metas".into(), Value::Object(metas));
    if interop_metas {
        object.insert("interop_metas".into(), json!({}));
    }
    object.insert("fields".into(), Value::Array(fields));
    Value::Object(object)
}

/// `GET /api/datasets/1.0/search/`: the catalog, searched with v1 parameters.
#[utoipa::path(get, path = "/api/datasets/1.0/search", tag = "Search API v1",
    params(crate::openapi::params::V1Datasets),
    responses((status = 200, description = "Datasets (`nhits`, `parameters`, `datasets`)", body = crate::openapi::schemas::AnyObject, content_type = "application/json")))]
pub async fn search_datasets(
    State(state): State<AppState>,
    resolution: Resolution,
    RawQuery(query): RawQuery,
) -> V1Result {
    let params = Params::parse(query.as_deref());
    let callback = callback(&params)?;
    let (rows, start) = rows_start(&params)?;
    let interop = params.bool("interopmetas", false)?;
    let ctx = resolution.context();
    let view = resolution.catalog(&state).await?;
    let fields = kleber_query::catalog::catalog_fields();
    let v1 = translate_request(&params, &fields, None)?;
    let mut q = v1.records_query(Some(rows), start);
    // Datasets of a v1 search come by identifier unless sorted.
    if q.order_by.is_none() {
        q.order_by = Some("dataset_id ASC".to_owned());
    }
    q.select = None;
    q.group_by = None;
    let (total, datasets) = match state.app.search_catalog(&ctx, &view, &q).await? {
        CatalogPage::Datasets { total, datasets } => {
            (total, datasets.iter().map(|record| v1_dataset(record, interop)).collect())
        }
        CatalogPage::Rows(_) => {
            return Err(V1Error(ApiError::internal("a v1 catalog search planned rows")));
        }
    };
    let mut parameters = v1.echo.clone();
    parameters.insert("rows".into(), json!(rows));
    if params.get("start").is_some() {
        parameters.insert("start".into(), json!(start));
    }
    parameters.insert("format".into(), json!("json"));
    if interop {
        parameters.insert("interopmetas".into(), json!(true));
    }
    let mut body = Map::new();
    body.insert("nhits".into(), json!(total));
    body.insert("parameters".into(), Value::Object(parameters));
    body.insert("datasets".into(), Value::Array(datasets));
    let facets = params.all("facet");
    if !facets.is_empty() {
        let requests = v1.facet_requests(&facets);
        let filters = v1.records_query(None, 0);
        let groups = state.app.facets(&ctx, &view, &filters, &requests).await?;
        body.insert("facet_groups".into(), facet_groups(&groups));
    }
    Ok(json_or_jsonp(&Value::Object(body), callback.as_deref()))
}

/// `GET /api/datasets/1.0/{id}/`: one dataset's v1 object.
#[utoipa::path(get, path = "/api/datasets/1.0/{id}", tag = "Search API v1",
    params(("id" = String, Path, description = "Dataset identifier"), crate::openapi::params::Lang),
    responses((status = 200, description = "The dataset (v1 shape)", body = crate::openapi::schemas::AnyObject, content_type = "application/json")))]
pub async fn get_dataset(
    State(state): State<AppState>,
    resolution: Resolution,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> V1Result {
    let params = Params::parse(query.as_deref());
    let callback = callback(&params)?;
    let interop = params.bool("interopmetas", false)?;
    let version = resolution.dataset(&state, &id).await?;
    Ok(json_or_jsonp(&v1_dataset(version.record(), interop), callback.as_deref()))
}

async fn no_file(
    state: &AppState,
    resolution: &Resolution,
    id: &str,
    kind: &str,
    name: &str,
) -> V1Error {
    if let Err(e) = resolution.dataset(state, id).await {
        return V1Error(e);
    }
    V1Error(ApiError::new(
        ErrorCode::NotFound,
        format!("Dataset {id} has no {kind} {name:?}: Kleber does not store {kind}s yet."),
    ))
}

/// `GET /api/datasets/1.0/{id}/attachments/{attachment}`: Kleber has no attachments yet, so
/// a clear 404 (after checking the dataset).
#[utoipa::path(get, path = "/api/datasets/1.0/{id}/attachments/{attachment}", tag = "Search API v1",
    params(("id" = String, Path, description = "Dataset identifier"), ("attachment" = String, Path, description = "Attachment identifier")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream")))]
pub async fn attachment(
    State(state): State<AppState>,
    resolution: Resolution,
    Path((id, name)): Path<(String, String)>,
) -> V1Result {
    Err(no_file(&state, &resolution, &id, "attachment", &name).await)
}

/// `GET /api/datasets/1.0/{id}/alternative_exports/{id}`: a clear 404, as for attachments.
#[utoipa::path(get, path = "/api/datasets/1.0/{id}/alternative_exports/{attachment}", tag = "Search API v1",
    params(("id" = String, Path, description = "Dataset identifier"), ("attachment" = String, Path, description = "Alternative export identifier")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream")))]
pub async fn alternative_export(
    State(state): State<AppState>,
    resolution: Resolution,
    Path((id, name)): Path<(String, String)>,
) -> V1Result {
    Err(no_file(&state, &resolution, &id, "alternative export", &name).await)
}
