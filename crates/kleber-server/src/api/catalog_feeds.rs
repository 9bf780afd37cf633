//! `/catalog/exports/rss` and `/catalog/exports/data.json` (also `/data.json` at the root,
//! where Project Open Data harvesters look): the catalog as an RSS 2.0 feed and as a DCAT-US
//! 1.1 (Project Open Data v1.1) catalog, made of what the caller may see.
//!
//! Both take the catalog's `where`, `refine`, `exclude` (ODSQL over the catalog table, as
//! `/catalog/datasets`) and `limit`; the feed is newest first (`modified`), data.json by
//! dataset id.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use kleber_app::CatalogView;
use kleber_export::ExportFormat;
use kleber_store::DatasetRecord;
use serde_json::{Map, Value, json};

use super::V2_1;
use crate::error::ApiError;
use crate::http::PublicUrl;
use crate::http::resolve::Resolution;
use crate::shared::datapackage::{
    dataset_page, dataset_url, is_web_address, meta_list, meta_text, package_license,
};
use crate::shared::json::json_response;
use crate::shared::params::Params;
use crate::shared::request_context;
use crate::state::AppState;

/// The Project Open Data schema data.json conforms to.
pub const POD_SCHEMA: &str = "https://project-open-data.cio.gov/v1.1/schema";

/// The catalog datasets matching the request's `where`/`refine`/`exclude`, newest first.
async fn matching(
    state: &AppState,
    resolution: &Resolution,
    params: &Params,
) -> Result<(CatalogView, Vec<usize>), ApiError> {
    let limit = params.export_limit()?;
    let ctx = request_context(resolution, params)?;
    let view = resolution.catalog(state).await?;
    let filtered = !params.all("where").is_empty()
        || !params.all("refine").is_empty()
        || !params.all("exclude").is_empty();
    let mut positions: Vec<usize> = if filtered {
        let mut query = params.records_query(None, 0);
        query.order_by = None;
        let ids = state.app.catalog_ids(&ctx, &view, &query).await?;
        let at: std::collections::HashMap<&str, usize> =
            view.records().iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
        ids.iter().filter_map(|id| at.get(id.as_str()).copied()).collect()
    } else {
        (0..view.records().len()).collect()
    };
    let records = view.records();
    positions.sort_by(|&a, &b| {
        records[b]
            .modified
            .cmp(&records[a].modified)
            .then_with(|| records[a].id.cmp(&records[b].id))
    });
    if let Some(limit) = limit {
        positions.truncate(limit);
    }
    Ok((view, positions))
}

/// An RFC 3339 instant as RSS writes dates (RFC 2822), or `None` if unreadable.
fn rfc2822(rfc3339: &str) -> Option<String> {
    chrono::DateTime::parse_from_rfc3339(rfc3339).ok().map(|t| t.to_rfc2822())
}

/// `GET /catalog/exports/rss`: RSS 2.0, one item per dataset, newest first.
pub async fn export_rss(
    State(state): State<AppState>,
    resolution: Resolution,
    base: PublicUrl,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let (view, positions) = matching(&state, &resolution, &params).await?;
    let records = view.records();
    let items: Vec<rss::Item> = positions
        .iter()
        .map(|&p| {
            let r = &records[p];
            let page = dataset_page(&base, &r.id);
            let mut item = rss::Item::default();
            item.set_title(r.title.clone());
            item.set_link(page.clone());
            if let Some(description) = r.description.as_deref().filter(|d| !d.trim().is_empty()) {
                item.set_description(description.to_owned());
            }
            let mut guid = rss::Guid::default();
            guid.set_value(page);
            guid.set_permalink(true);
            item.set_guid(guid);
            item.set_pub_date(rfc2822(&r.modified));
            let categories: Vec<rss::Category> = meta_list(r, "theme")
                .into_iter()
                .chain(meta_list(r, "keyword"))
                .map(|name| {
                    let mut c = rss::Category::default();
                    c.set_name(name);
                    c
                })
                .collect();
            item.set_categories(categories);
            item
        })
        .collect();
    let mut channel = rss::Channel::default();
    channel.set_title(format!("Datasets of {}", base.as_str()));
    channel.set_link(base.url("/explore/"));
    channel.set_description("The datasets of this portal, the most recently modified first.");
    channel.set_generator("Kleber".to_owned());
    channel.set_last_build_date(positions.first().and_then(|&p| rfc2822(&records[p].modified)));
    channel.set_items(items);
    let body = channel.write_to(Vec::new()).map_err(ApiError::internal)?;
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/rss+xml; charset=utf-8"),
    );
    Ok(response)
}

/// The DCAT-US `accessLevel` of every dataset served: a caller only sees what it may read,
/// and what anonymous callers read is public.
fn access_level(record: &DatasetRecord) -> &'static str {
    if record.visibility == kleber_store::Visibility::Public {
        "public"
    } else {
        "restricted public"
    }
}

/// The data.json entry of one dataset.
fn pod_dataset(base: &PublicUrl, r: &DatasetRecord) -> Value {
    let mut out = Map::new();
    let api = dataset_url(base, &r.id);
    out.insert("@type".to_owned(), json!("dcat:Dataset"));
    out.insert("identifier".to_owned(), json!(api));
    out.insert("title".to_owned(), json!(r.title));
    let description = r
        .description
        .as_deref()
        .map(|d| kleber_web::plain_text(d, 10_000))
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| r.title.clone());
    out.insert("description".to_owned(), json!(description));
    let keywords = meta_list(r, "keyword");
    if !keywords.is_empty() {
        out.insert("keyword".to_owned(), json!(keywords));
    }
    let themes = meta_list(r, "theme");
    if !themes.is_empty() {
        out.insert("theme".to_owned(), json!(themes));
    }
    out.insert("modified".to_owned(), json!(r.modified));
    let publisher = meta_text(r, "publisher").unwrap_or(&r.organization);
    out.insert("publisher".to_owned(), json!({"@type": "org:Organization", "name": publisher}));
    let mut contact = Map::new();
    contact.insert("@type".to_owned(), json!("vcard:Contact"));
    contact.insert("fn".to_owned(), json!(meta_text(r, "contact_name").unwrap_or(publisher)));
    if let Some(email) = meta_text(r, "contact_email").filter(|e| e.contains('@')) {
        contact.insert("hasEmail".to_owned(), json!(format!("mailto:{email}")));
    }
    out.insert("contactPoint".to_owned(), Value::Object(contact));
    out.insert("accessLevel".to_owned(), json!(access_level(r)));
    if let Some(path) = package_license(r).and_then(|l| l.path) {
        out.insert("license".to_owned(), json!(path));
    }
    out.insert("landingPage".to_owned(), json!(dataset_page(base, &r.id)));
    if let Some(language) = meta_text(r, "language")
        .filter(|l| l.len() <= 3 && l.chars().all(|c| c.is_ascii_alphabetic()))
    {
        out.insert("language".to_owned(), json!([language]));
    }
    let references: Vec<String> =
        meta_list(r, "references").into_iter().filter(|u| is_web_address(u)).collect();
    if !references.is_empty() {
        out.insert("references".to_owned(), json!(references));
    }
    out.insert("describedBy".to_owned(), json!(format!("{api}/datapackage.json")));
    out.insert("describedByType".to_owned(), json!("application/json"));
    let geo = kleber_app::features(r).contains(&"geo");
    let distributions: Vec<Value> = [
        ExportFormat::Csv,
        ExportFormat::Json,
        ExportFormat::GeoJson,
        ExportFormat::Xlsx,
        ExportFormat::Parquet,
        ExportFormat::DataPackage,
    ]
    .into_iter()
    .filter(|f| geo || !f.needs_geometry())
    .map(|f| {
        let media = f.content_type().split(';').next().unwrap_or("application/octet-stream");
        json!({
            "@type": "dcat:Distribution",
            "title": format!("{} ({})", r.title, f.name()),
            "format": f.name().to_uppercase(),
            "mediaType": media,
            "downloadURL": format!("{api}/exports/{}", f.name()),
        })
    })
    .collect();
    out.insert("distribution".to_owned(), Value::Array(distributions));
    Value::Object(out)
}

/// `GET /catalog/exports/data.json` and `/data.json`: the catalog in DCAT-US 1.1.
pub async fn export_data_json(
    State(state): State<AppState>,
    resolution: Resolution,
    base: PublicUrl,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let (view, mut positions) = matching(&state, &resolution, &params).await?;
    let records = view.records();
    positions.sort_by(|&a, &b| records[a].id.cmp(&records[b].id));
    let datasets: Vec<Value> = positions.iter().map(|&p| pod_dataset(&base, &records[p])).collect();
    let body = json!({
        "@context": format!("{POD_SCHEMA}/catalog.jsonld"),
        "@id": base.url(&format!("{V2_1}/catalog/exports/data.json")),
        "@type": "dcat:Catalog",
        "conformsTo": POD_SCHEMA,
        "describedBy": format!("{POD_SCHEMA}/catalog.json"),
        "dataset": datasets,
    });
    Ok(json_response(body.to_string()))
}
