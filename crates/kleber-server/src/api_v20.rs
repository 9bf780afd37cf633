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
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::HeaderValue;
use axum::response::Response;
use axum::routing::get;
use kleber_app::{CatalogPage, DatasetVersion, Page};
use kleber_export::ExportFormat;
use kleber_types::ErrorCode;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::http::PublicUrl;
use crate::http::resolve::Resolution;
use crate::http::routes::{DATASET, Reads, RouteDef, def};
use crate::shared::dataset_object::dataset_object;
use crate::shared::exports::{export_dataset, parse_format};
use crate::shared::json::{json_response, page_hrefs};
use crate::shared::params::Params;
use crate::shared::{render_timestamp, request_context};
use crate::state::AppState;

/// Where v2.0 is mounted.
pub const V2_0: &str = "/api/explore/v2.0";
/// Its short alias.
pub const V2_ALIAS: &str = "/api/v2";

/// The deprecation message of every v2.0 answer.
pub const DEPRECATION: &str =
    "Explore API v2.0 is deprecated; use Explore API v2.1 (/api/explore/v2.1).";

/// The v2.0 routes (mounted under [`V2_0`] and [`V2_ALIAS`]) and what each reads.
pub fn routes() -> Vec<RouteDef> {
    vec![
        def("/", Reads::Fixed, get(root)),
        def("/catalog", Reads::Catalog, get(catalog_root)),
        def("/catalog/datasets", Reads::Catalog, get(list_datasets)),
        def("/catalog/facets", Reads::Catalog, get(crate::shared::facets::get_catalog_facets)),
        def("/catalog/datasets/{id}", DATASET, get(get_dataset)),
        def(
            "/catalog/datasets/{id}/facets",
            DATASET,
            get(crate::shared::facets::get_records_facets),
        ),
        def("/catalog/datasets/{id}/records", DATASET, get(get_records)),
        def("/catalog/datasets/{id}/records/{record_id}", DATASET, get(get_record)),
        def("/catalog/datasets/{id}/exports", DATASET, get(list_exports)),
        def("/catalog/datasets/{id}/exports/{format}", DATASET, get(export)),
        def("/catalog/datasets/{id}/attachments", DATASET, get(list_attachments)),
        def("/catalog/datasets/{id}/attachments/{file}", DATASET, get(attachment)),
        def("/catalog/datasets/{id}/alternative_exports/{file}", DATASET, get(alternative_export)),
    ]
}

/// The v2.0 layers: the deprecation headers on every answer.
pub fn layers(router: Router<AppState>) -> Router<AppState> {
    router.layer(axum::middleware::map_response(deprecation_headers))
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

async fn root(public: PublicUrl, OriginalUri(uri): OriginalUri) -> Response {
    let b = public.url(base(&uri));
    json_response(
        json!({"links": [link(b.clone(), "self"), link(format!("{b}/catalog"), "catalog")]})
            .to_string(),
    )
}

async fn catalog_root(public: PublicUrl, OriginalUri(uri): OriginalUri) -> Response {
    let b = public.url(base(&uri));
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
    page_hrefs(path, params.pairs(), total, limit, offset)
        .into_iter()
        .map(|(href, rel)| link(href, rel))
        .collect()
}

async fn list_datasets(
    State(state): State<AppState>,
    resolution: Resolution,
    public: PublicUrl,
    OriginalUri(uri): OriginalUri,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let (limit, offset) = params.page(params.grouped())?;
    let ctx = request_context(&resolution, &params)?;
    let view = resolution.catalog(&state).await?;
    let page =
        state.app.search_catalog(&ctx, &view, &params.records_query(Some(limit), offset)).await?;
    let b = public.url(base(&uri));
    let path = format!("{b}/catalog/datasets");
    let (total, objects) = match page {
        CatalogPage::Datasets { total, datasets } => {
            (total, datasets.iter().map(dataset_object).collect::<Vec<_>>())
        }
        CatalogPage::Rows(page) => (page.total, page.values()?),
    };
    let datasets: Vec<Value> = objects
        .into_iter()
        .map(|d| {
            let links = match d["dataset_id"].as_str() {
                Some(id) => vec![link(format!("{path}/{id}"), "self")],
                None => Vec::new(),
            };
            json!({"links": links, "dataset": d})
        })
        .collect();
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
    resolution: Resolution,
    public: PublicUrl,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let version = resolution.dataset(&state, &id).await?;
    let body = json!({"links": dataset_links(&public.url(base(&uri)), &id), "dataset": dataset_object(version.record())});
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

/// Selects the record id (under a private name) beside `query`'s select, unless grouped.
fn with_record_id(query: &mut kleber_query::RecordsQuery) -> bool {
    let grouped = query.group_by.as_deref().is_some_and(|g| !g.trim().is_empty());
    if !grouped {
        query.record_id_column = Some(RECORD_ID.to_owned());
    }
    grouped
}

/// The v2.0 records of a page of `version`.
fn v20_records(
    page: &Page,
    version: &DatasetVersion,
    b: &str,
    grouped: bool,
    tz: chrono_tz::Tz,
) -> Result<Vec<Value>, ApiError> {
    // Group keys that are date or datetime fields: v2.0 renders them as epoch milliseconds.
    let temporal: Vec<&str> = page
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
        .map(|c| c.key.as_str())
        .collect();
    let timestamp = render_timestamp(&version.record().version.created_at, tz);
    let path = format!("{b}/catalog/datasets/{}", version.id());
    let mut records = Vec::new();
    for row in page.values()? {
        let Value::Object(mut fields) = row else { continue };
        if grouped {
            for key in &temporal {
                if let Some(v) = fields.get_mut(*key)
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
    Ok(records)
}

async fn get_records(
    State(state): State<AppState>,
    resolution: Resolution,
    public: PublicUrl,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let (limit, offset) = params.page(params.grouped())?;
    let ctx = request_context(&resolution, &params)?;
    let mut q = params.records_query(Some(limit), offset);
    let b = public.url(base(&uri));
    let version = resolution.dataset(&state, &id).await?;
    let grouped = with_record_id(&mut q);
    let page = state.app.records(&ctx, &version, &q).await?;
    let records = v20_records(&page, &version, &b, grouped, ctx.tz)?;
    let links = page_links(
        &format!("{b}/catalog/datasets/{id}/records"),
        &params,
        page.total,
        limit,
        offset,
    );
    Ok(json_response(
        json!({"total_count": page.total, "links": links, "records": records}).to_string(),
    ))
}

async fn get_record(
    State(state): State<AppState>,
    resolution: Resolution,
    public: PublicUrl,
    OriginalUri(uri): OriginalUri,
    Path((id, record_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let ctx = request_context(&resolution, &params)?;
    let version = resolution.dataset(&state, &id).await?;
    let mut q = params.records_query(Some(1), 0);
    q.group_by = None;
    with_record_id(&mut q);
    let page = state.app.record(&ctx, &version, &record_id, &q).await?;
    let mut records = v20_records(&page, &version, &public.url(base(&uri)), false, ctx.tz)?;
    if records.is_empty() {
        return Err(ApiError::new(
            ErrorCode::RecordNotFound,
            format!("Unknown record: {record_id}"),
        ));
    }
    let mut one = records.swap_remove(0);
    let body = json!({"links": one["links"].take(), "record": one["record"].take()});
    Ok(json_response(body.to_string()))
}

async fn list_exports(
    State(state): State<AppState>,
    resolution: Resolution,
    public: PublicUrl,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let version = resolution.dataset(&state, &id).await?;
    let b = public.url(base(&uri));
    let links: Vec<Value> = ExportFormat::ALL
        .iter()
        .map(|f| {
            json!({"rel": f.name(), "href": format!("{b}/catalog/datasets/{}/exports/{}", version.id(), f.name())})
        })
        .collect();
    Ok(json_response(json!({"links": links}).to_string()))
}

/// Exports as v2.1, except that CSV has no BOM unless `with_bom=true` (the v2.0 default).
async fn export(
    State(state): State<AppState>,
    resolution: Resolution,
    Path((id, format)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let format = parse_format(&format, &ExportFormat::ALL)?;
    let params = Params::parse(query.as_deref());
    let mut pairs: Vec<(String, String)> = params.pairs().to_vec();
    if params.get("with_bom").is_none() {
        pairs.push(("with_bom".into(), "false".into()));
    }
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let params = Params::parse(Some(&query));
    let ctx = request_context(&resolution, &params)?;
    let version = resolution.dataset(&state, &id).await?;
    export_dataset(&state, &ctx, &version, format, &params, resolution.base.as_ref()).await
}

async fn list_attachments(
    State(state): State<AppState>,
    resolution: Resolution,
    public: PublicUrl,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    resolution.dataset(&state, &id).await?;
    let href = public.url(&format!("{}/catalog/datasets/{id}/attachments", base(&uri)));
    Ok(json_response(json!({"links": [link(href, "self")], "attachments": []}).to_string()))
}

async fn no_file(
    state: &AppState,
    resolution: &Resolution,
    id: &str,
    kind: &str,
    file: &str,
) -> ApiError {
    if let Err(e) = resolution.dataset(state, id).await {
        return e;
    }
    ApiError::new(
        ErrorCode::NotFound,
        format!("Dataset {id} has no {kind} {file:?}: Kleber does not store {kind}s yet."),
    )
}

async fn attachment(
    State(state): State<AppState>,
    resolution: Resolution,
    Path((id, file)): Path<(String, String)>,
) -> ApiError {
    no_file(&state, &resolution, &id, "attachment", &file).await
}

async fn alternative_export(
    State(state): State<AppState>,
    resolution: Resolution,
    Path((id, file)): Path<(String, String)>,
) -> ApiError {
    no_file(&state, &resolution, &id, "alternative export", &file).await
}
