//! `/api/records/1.0/search/`, `/api/records/1.0/download/` and
//! `/api/datasets/1.0/{id}/records/{recordid}`.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use bytes::Bytes;
use futures::StreamExt;
use kleber_app::{DatasetVersion, RequestContext};
use kleber_export::{ExportFormat, GeoJsonStyle};
use serde_json::{Value, json};

use super::filters::{V1Query, main_geo_field, rows_start, translate_request};
use super::response::{
    GEOMETRY, RECORD_ID, RecordContext, callback, facet_groups, json_or_jsonp, render_timestamp,
};
use super::{V1Error, V1Result};
use crate::error::ApiError;
use crate::http::resolve::Resolution;
use crate::shared::exports::{export_dataset_styled, parse_format};
use crate::shared::params::Params;
use crate::shared::qv1::odsql_name;
use crate::state::AppState;

/// The `dataset` parameter, required by the records APIs.
fn dataset_param(params: &Params) -> Result<String, V1Error> {
    match params.get("dataset").map(str::trim).filter(|d| !d.is_empty()) {
        Some(id) => Ok(id.to_owned()),
        None => Err(V1Error::bad_param(
            "Missing dataset API parameter: name the dataset, e.g. dataset=parkings.",
        )),
    }
}

/// The `select` of a v1 records query: the fields asked (all by default) and the main geo
/// field under a private name (the record id is asked with `record_id_column`).
fn v1_select(v1: &V1Query) -> String {
    let mut items = match &v1.selected {
        // Aliased, so that the output key is the name rather than the backticked text.
        Some(names) => names.iter().map(|n| format!("{0} AS {0}", odsql_name(n))).collect(),
        None => vec!["*".to_owned()],
    };
    if let Some(geo) = main_geo_field(&v1.fields) {
        items.push(format!("{} AS {GEOMETRY}", odsql_name(&geo.name)));
    }
    items.join(", ")
}

/// The v1 query of a request on `version`'s dataset, and the version planned over its fields
/// (with the `disjunctive` annotations asked).
fn planned_query(
    params: &Params,
    version: DatasetVersion,
) -> Result<(V1Query, DatasetVersion), V1Error> {
    let v1 = translate_request(params, version.fields(), Some(version.id()))?;
    let version = version.with_fields(v1.fields.clone());
    Ok((v1, version))
}

/// The request context of a translated v1 request (its time zone and language).
pub(crate) fn context_of(resolution: &Resolution, v1: &V1Query) -> Result<RequestContext, V1Error> {
    Ok(crate::shared::request_context(resolution, &v1.params(&[]))?)
}

/// The v1 record context of a page of `version`.
fn record_context(
    version: &DatasetVersion,
    ctx: &RequestContext,
    columns: &[kleber_query::OutputColumn],
    v1: &V1Query,
) -> RecordContext {
    RecordContext::new(
        version.id(),
        render_timestamp(&version.record().version.created_at, ctx.tz),
        columns,
        v1.selected.clone(),
    )
}

fn check_format(params: &Params, allowed: &[&str]) -> Result<String, V1Error> {
    let format = params.get("format").unwrap_or(allowed[0]).to_ascii_lowercase();
    if !allowed.contains(&format.as_str()) {
        return Err(V1Error::bad_param(format!(
            "Invalid value for format API parameter: {format:?} was found but one of {} is expected.",
            allowed.join(", ")
        )));
    }
    Ok(format)
}

/// `GET /api/records/1.0/search/`.
pub async fn search_records(
    State(state): State<AppState>,
    resolution: Resolution,
    RawQuery(query): RawQuery,
) -> V1Result {
    let params = Params::parse(query.as_deref());
    let callback = callback(&params)?;
    let format = check_format(&params, &["json", "jsonp"])?;
    if format == "jsonp" && callback.is_none() {
        return Err(V1Error::bad_param(
            "Missing callback API parameter: format=jsonp needs callback=<function name>.",
        ));
    }
    let id = dataset_param(&params)?;
    let (rows, start) = rows_start(&params)?;
    let version = resolution.dataset(&state, &id).await?;
    let (v1, version) = planned_query(&params, version)?;
    let mut query = v1.records_query(Some(rows), start);
    query.select = Some(v1_select(&v1));
    query.record_id_column = Some(RECORD_ID.to_owned());
    let ctx = context_of(&resolution, &v1)?;
    let page = state.app.records(&ctx, &version, &query).await?;
    let records = record_context(&version, &ctx, &page.columns, &v1).records(&page)?;

    // Opendatasoft's order: dataset, timezone, rows, start, format, then the rest (facet, ...).
    let mut parameters = serde_json::Map::new();
    for key in ["dataset", "timezone"] {
        if let Some(value) = v1.echo.get(key) {
            parameters.insert(key.into(), value.clone());
        }
    }
    parameters.insert("rows".into(), json!(rows));
    if params.get("start").is_some() {
        parameters.insert("start".into(), json!(start));
    }
    parameters.insert("format".into(), json!(format));
    for (key, value) in &v1.echo {
        if !parameters.contains_key(key) {
            parameters.insert(key.clone(), value.clone());
        }
    }
    let mut body = serde_json::Map::new();
    body.insert("nhits".into(), json!(page.total));
    body.insert("parameters".into(), Value::Object(parameters));
    body.insert("records".into(), Value::Array(records));
    let facets = params.all("facet");
    if !facets.is_empty() {
        let requests = v1.facet_requests(&facets);
        let filters = v1.records_query(None, 0);
        let groups = state.app.facets(&ctx, &version, &filters, &requests).await?;
        body.insert("facet_groups".into(), facet_groups(&groups));
    }
    Ok(json_or_jsonp(&Value::Object(body), callback.as_deref()))
}

/// `GET /api/datasets/1.0/{id}/records/{recordid}`: one v1 record.
pub async fn get_record(
    State(state): State<AppState>,
    resolution: Resolution,
    Path((id, record_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> V1Result {
    let params = Params::parse(query.as_deref());
    let callback = callback(&params)?;
    let version = resolution.dataset(&state, &id).await?;
    let only: Vec<(String, String)> = params
        .pairs()
        .iter()
        .filter(|(k, _)| matches!(k.as_str(), "timezone" | "lang" | "fields"))
        .cloned()
        .collect();
    let (v1, version) = planned_query(&super::filters::params_of(&only), version)?;
    let mut query = v1.records_query(Some(1), 0);
    query.select = Some(v1_select(&v1));
    query.record_id_column = Some(RECORD_ID.to_owned());
    let ctx = context_of(&resolution, &v1)?;
    let page = state.app.record(&ctx, &version, &record_id, &query).await?;
    let mut records = record_context(&version, &ctx, &page.columns, &v1).records(&page)?;
    if records.is_empty() {
        return Err(kleber_app::Error::RecordNotFound(record_id).into());
    }
    Ok(json_or_jsonp(&records.swap_remove(0), callback.as_deref()))
}

/// `GET /api/records/1.0/download/`: every matching record of `dataset=`.
pub async fn download_records(
    State(state): State<AppState>,
    resolution: Resolution,
    RawQuery(query): RawQuery,
) -> V1Result {
    let params = Params::parse(query.as_deref());
    let id = dataset_param(&params)?;
    let version = resolution.dataset(&state, &id).await?;
    download(&state, &resolution, version, &params).await
}

/// The legacy download of a dataset, shared by `/api/records/1.0/download/` and
/// `/explore/dataset/{id}/download/`.
///
/// `format=json` (and `jsonp` with `callback`) streams v1 records, as Opendatasoft's v1
/// downloads do; every other format is the export of the same query
/// ([`crate::shared::exports::export_dataset`]), CSV with `csv_separator` (default `;`),
/// `use_labels_for_header` (default false) and no BOM (the v1 default).
pub async fn download(
    state: &AppState,
    resolution: &Resolution,
    version: DatasetVersion,
    params: &Params,
) -> V1Result {
    let callback = callback(params)?;
    let format = params.get("format").unwrap_or("csv").trim().to_ascii_lowercase();
    let (v1, version) = planned_query(params, version)?;
    match format.as_str() {
        "json" | "jsonp" => {
            if format == "jsonp" && callback.is_none() {
                return Err(V1Error::bad_param(
                    "Missing callback API parameter: format=jsonp needs callback=<function name>.",
                ));
            }
            let wrap = if format == "jsonp" { callback } else { None };
            stream_v1_json(state, resolution, &version, &v1, wrap).await
        }
        _ => {
            let format = match format.as_str() {
                "geojsonp" => {
                    return Err(V1Error::bad_param(
                        "Invalid value for format API parameter: geojsonp is not served; use format=geojson.",
                    ));
                }
                "xls" => "xlsx".to_owned(),
                other => other.to_owned(),
            };
            let format = parse_format(&format, &ExportFormat::ALL)?;
            let mut extra: Vec<(&str, String)> = Vec::new();
            if let Some(names) = &v1.selected {
                let select: Vec<String> =
                    names.iter().map(|n| format!("{0} AS {0}", odsql_name(n))).collect();
                extra.push(("select", select.join(", ")));
            }
            if format == ExportFormat::Csv {
                let separator = params.get("csv_separator").unwrap_or(";");
                extra.push(("delimiter", separator.to_owned()));
                extra.push(("with_bom", "false".to_owned()));
                let labels = params.bool("use_labels_for_header", false)?;
                extra.push(("use_labels", labels.to_string()));
            }
            if !v1.disjunctive.is_empty() {
                return Err(V1Error::bad_param(
                    "Invalid value for disjunctive API parameter: disjunctive refinements are only served by format=json downloads and /api/records/1.0/search/.",
                ));
            }
            let v21 = v1.params(&extra);
            let ctx = crate::shared::request_context(resolution, &v21)?;
            Ok(export_dataset_styled(
                state,
                &ctx,
                &version,
                format,
                &v21,
                GeoJsonStyle::V1,
                resolution.base.as_ref(),
            )
            .await?)
        }
    }
}

/// Streams every matching record as a JSON array of v1 records (optionally in a JSONP call).
async fn stream_v1_json(
    state: &AppState,
    resolution: &Resolution,
    version: &DatasetVersion,
    v1: &V1Query,
    callback: Option<String>,
) -> V1Result {
    let mut query = v1.records_query(None, 0);
    query.select = Some(v1_select(v1));
    query.record_id_column = Some(RECORD_ID.to_owned());
    let ctx = context_of(resolution, v1)?;
    let export = state.app.export(&ctx, version, &query).await?;
    let context = record_context(version, &ctx, &export.columns, v1);
    let kleber_app::Export { encoder, first, stream, .. } = export;
    let mut head = match &callback {
        Some(cb) => format!("/**/{cb}(["),
        None => "[".to_owned(),
    }
    .into_bytes();
    let mut count = 0usize;
    if let Some(batch) = &first {
        encode_batch(&context, &encoder, batch, &mut count, &mut head)?;
    }
    let tail: &'static [u8] = if callback.is_some() { b"]);" } else { b"]" };
    let rest =
        futures::stream::unfold(Some((stream, context, encoder, count)), move |state| async move {
            let (mut stream, context, encoder, mut count) = state?;
            match stream.next().await {
                Some(Ok(batch)) => {
                    let mut chunk = Vec::new();
                    match encode_batch(&context, &encoder, &batch, &mut count, &mut chunk) {
                        Ok(()) => {
                            Some((Ok(Bytes::from(chunk)), Some((stream, context, encoder, count))))
                        }
                        Err(e) => {
                            tracing::error!(error = ?e, "v1 download encoding failed");
                            Some((Err(std::io::Error::other("encoding failed")), None))
                        }
                    }
                }
                Some(Err(e)) => {
                    tracing::error!(error = %e, "v1 download query failed");
                    Some((Err(std::io::Error::other(e.to_string())), None))
                }
                None => Some((Ok(Bytes::from_static(tail)), None)),
            }
        });
    let body = futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(head)) })
        .chain(rest)
        // Fused: body layers (compression) may poll again after the end.
        .fuse();
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    let content_type = if callback.is_some() {
        "application/javascript; charset=utf-8"
    } else {
        "application/json; charset=utf-8"
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if callback.is_none()
        && let Ok(value) =
            HeaderValue::from_str(&format!("attachment; filename=\"{}.json\"", version.id()))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

fn encode_batch(
    context: &RecordContext,
    encoder: &kleber_export::RecordEncoder,
    batch: &kleber_query::RecordBatch,
    count: &mut usize,
    out: &mut Vec<u8>,
) -> Result<(), V1Error> {
    for row in encoder.batch_values(batch).map_err(ApiError::from)? {
        if *count > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, &context.record(row)).map_err(ApiError::internal)?;
        *count += 1;
    }
    Ok(())
}
