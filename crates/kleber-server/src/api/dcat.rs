//! The catalog and each dataset as DCAT-AP (`kleber_dcat`), at Opendatasoft's catalog export
//! URLs (docs/interoperability.md#datagouvfr--dataeuropaeu-dcat-ap):
//!
//! - `/catalog/exports/{dcat,rdf,ttl,jsonld,nt}` and `/catalog/exports/dcat_ap_3`,
//!   `/catalog/exports/dcat_ap_2.1.1`: the catalog, in RDF/XML (`dcat`, `rdf` and the
//!   `dcat_ap_*` names), Turtle, JSON-LD or N-Triples; `profile` (`3`, `2.1.1`) chooses the
//!   DCAT-AP version where the name does not (default 3.0); paged by `limit` (1 to 1,000,
//!   default 100) and `offset`, with Hydra links from page to page;
//! - `/catalog/datasets/{id}/exports/dcat`: one dataset, in the serialisation `format` names
//!   (`rdf` by default, `ttl`, `jsonld`, `nt`) or, without `format`, the one the `Accept`
//!   header asks for.
//!
//! What appears is what the caller's catalog view holds, as for `/catalog/datasets`: an
//! anonymous harvester sees the public datasets only.

use axum::extract::{MatchedPath, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use kleber_app::manage::LICENCES;
use kleber_app::{CatalogView, features};
use kleber_dcat::{
    Agent, Catalog, Contact, DataService, Dataset, Distribution, Licence, Page, Profile,
    Serialization, Subject, Text,
};
use kleber_export::ExportFormat;
use kleber_store::DatasetRecord;
use serde_json::Value;

use super::V2_1;
use crate::error::ApiError;
use crate::http::PublicUrl;
use crate::http::resolve::Resolution;
use crate::http::routes::{DATASET, Reads, RouteDef, def};
use crate::shared::params::Params;
use crate::state::AppState;

/// The catalog export names served as DCAT-AP: name, serialisation, and the profile the name
/// fixes (`None`: the `profile` parameter's, 3.0 by default).
pub const CATALOG_NAMES: &[(&str, Serialization, Option<Profile>)] = &[
    ("dcat", Serialization::RdfXml, None),
    ("rdf", Serialization::RdfXml, None),
    ("ttl", Serialization::Turtle, None),
    ("jsonld", Serialization::JsonLd, None),
    ("nt", Serialization::NTriples, None),
    ("dcat_ap_3", Serialization::RdfXml, Some(Profile::V3)),
    ("dcat_ap_2.1.1", Serialization::RdfXml, Some(Profile::V2_1_1)),
];

/// Datasets on one catalog page when `limit` is not given.
pub const DEFAULT_PAGE: usize = 100;
/// Most datasets on one catalog page.
pub const MAX_PAGE: usize = 1000;

/// The DCAT routes, relative to [`V2_1`]. Each catalog name is its own route, beside
/// `/catalog/exports/{format}` (the router prefers the literal path).
pub fn routes() -> Vec<RouteDef> {
    let mut routes: Vec<RouteDef> = [
        "/catalog/exports/dcat",
        "/catalog/exports/rdf",
        "/catalog/exports/ttl",
        "/catalog/exports/jsonld",
        "/catalog/exports/nt",
        "/catalog/exports/dcat_ap_3",
        "/catalog/exports/dcat_ap_2.1.1",
    ]
    .into_iter()
    .map(|path| def(path, Reads::Catalog, axum::routing::get(export_catalog)))
    .collect();
    routes.push(def(
        "/catalog/datasets/{id}/exports/dcat",
        DATASET,
        axum::routing::get(export_dataset),
    ));
    routes
}

fn profile(params: &Params, fixed: Option<Profile>) -> Result<Profile, ApiError> {
    match params.get("profile") {
        None => Ok(fixed.unwrap_or_default()),
        Some(name) => {
            let Some(asked) = Profile::from_name(name) else {
                return Err(ApiError::bad_param(format!(
                    "Invalid value for profile API parameter: {name:?} was found but one of 3, 3.0, 2.1.1 (DCAT-AP versions) is expected."
                )));
            };
            match fixed {
                Some(fixed) if fixed != asked => Err(ApiError::bad_param(format!(
                    "Invalid value for profile API parameter: this export is DCAT-AP {fixed}, but {name:?} was asked; use /catalog/exports/dcat?profile={name} instead."
                ))),
                _ => Ok(asked),
            }
        }
    }
}

fn rdf_response(body: Bytes, serialization: Serialization) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(serialization.media_type()));
    response
}

/// `GET /catalog/exports/{dcat,rdf,ttl,jsonld,nt,dcat_ap_3,dcat_ap_2.1.1}`.
pub async fn export_catalog(
    State(state): State<AppState>,
    resolution: Resolution,
    base: PublicUrl,
    matched: MatchedPath,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let name = matched.as_str().rsplit('/').next().unwrap_or_default();
    let Some(&(name, serialization, fixed)) = CATALOG_NAMES.iter().find(|(n, _, _)| *n == name)
    else {
        return Err(ApiError::internal(format!("no DCAT export is named {name:?}")));
    };
    let params = Params::parse(query.as_deref());
    let profile = profile(&params, fixed)?;
    // `-1` is Opendatasoft's "every dataset" of catalog exports: one page, unpaged.
    let limit = match params.int("limit")? {
        None => Some(DEFAULT_PAGE),
        Some(-1) => None,
        Some(n) if (1..=MAX_PAGE as i64).contains(&n) => Some(n as usize),
        Some(n) => {
            return Err(ApiError::bad_param(format!(
                "Invalid value for limit API parameter: {n} was found but 1 <= limit <= {MAX_PAGE}, or -1 (every dataset), is expected (follow the hydra:next links for more)."
            )));
        }
    };
    let offset = match params.int("offset")? {
        None => 0,
        Some(n) if n >= 0 => n as usize,
        Some(n) => {
            return Err(ApiError::bad_param(format!(
                "Invalid value for offset API parameter: {n} was found but offset >= 0 is expected."
            )));
        }
    };
    let view = resolution.catalog(&state).await?;
    let key = resolution.catalog_key(&view, query.as_deref());
    let compute = async {
        let catalog = catalog(&view, &base, name, profile, limit, offset);
        let graph =
            kleber_dcat::graph(Subject::Catalog(&catalog), profile).map_err(ApiError::internal)?;
        let body = kleber_dcat::serialize(&graph, serialization).map_err(ApiError::internal)?;
        Ok::<_, ApiError>(Bytes::from(body))
    };
    Ok(rdf_response(state.app.cached(key, compute).await?, serialization))
}

/// `GET /catalog/datasets/{id}/exports/dcat`.
pub async fn export_dataset(
    State(state): State<AppState>,
    resolution: Resolution,
    base: PublicUrl,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let profile = profile(&params, None)?;
    let serialization = match params.get("format") {
        Some(name) => Serialization::from_name(name).ok_or_else(|| {
            ApiError::bad_param(format!(
                "Invalid value for format API parameter: {name:?} was found but one of rdf, ttl, jsonld, nt is expected."
            ))
        })?,
        None => negotiate(&headers),
    };
    let version = resolution.dataset(&state, &id).await?;
    let catalog = version.catalog();
    let dataset = dataset(version.record(), &catalog, &base);
    let graph = kleber_dcat::graph(Subject::Dataset(&dataset, &service(&base)), profile)
        .map_err(ApiError::internal)?;
    let body = kleber_dcat::serialize(&graph, serialization).map_err(ApiError::internal)?;
    Ok(rdf_response(Bytes::from(body), serialization))
}

/// The serialisation the `Accept` header prefers among those served (the first one named,
/// weights aside), RDF/XML when it names none.
fn negotiate(headers: &HeaderMap) -> Serialization {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|item| {
            let media = item.split(';').next().unwrap_or_default().trim();
            Serialization::from_media_type(media)
        })
        .next()
        .unwrap_or(Serialization::RdfXml)
}

fn service(base: &PublicUrl) -> DataService {
    DataService {
        iri: base.url(V2_1),
        title: "Explore API v2.1".to_owned(),
        endpoint_url: base.url(V2_1),
        endpoint_description: base.url("/api/openapi.json"),
        licence: None,
    }
}

fn page_url(
    base: &PublicUrl,
    name: &str,
    profile: Option<Profile>,
    limit: usize,
    offset: usize,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(profile) = profile {
        query.append_pair("profile", &profile.to_string());
    }
    query.append_pair("limit", &limit.to_string());
    query.append_pair("offset", &offset.to_string());
    base.url(&format!("{V2_1}/catalog/exports/{name}?{}", query.finish()))
}

/// The catalog page `offset..offset + limit` of what `view` holds.
fn catalog(
    view: &CatalogView,
    base: &PublicUrl,
    name: &str,
    profile: Profile,
    limit: Option<usize>,
    offset: usize,
) -> Catalog {
    let records = view.records();
    let total = records.len();
    let Some(limit) = limit else {
        // Every dataset from `offset`, on one page.
        let datasets = records.iter().skip(offset).map(|r| dataset(r, view, base)).collect();
        return catalog_of(view, base, datasets, None);
    };
    let shown = records.iter().skip(offset).take(limit);
    let datasets: Vec<Dataset> = shown.map(|r| dataset(r, view, base)).collect();
    let fixed = CATALOG_NAMES.iter().find(|(n, _, _)| *n == name).and_then(|(_, _, p)| *p);
    let named = if fixed.is_some() { None } else { Some(profile) };
    let url = |offset: usize| page_url(base, name, named, limit, offset);
    let page = (offset > 0 || total > limit).then(|| {
        let last = if total == 0 { 0 } else { (total - 1) / limit * limit };
        Page {
            collection: base.url(&format!("{V2_1}/catalog/exports/{name}")),
            this: url(offset),
            first: url(0),
            last: url(last),
            previous: (offset > 0).then(|| url(offset.saturating_sub(limit))),
            next: (offset.saturating_add(limit) < total).then(|| url(offset + limit)),
            total: total as u64,
        }
    });
    catalog_of(view, base, datasets, page)
}

/// The catalog holding `datasets`, on `page`.
fn catalog_of(
    view: &CatalogView,
    base: &PublicUrl,
    datasets: Vec<Dataset>,
    page: Option<Page>,
) -> Catalog {
    let records = view.records();
    Catalog {
        iri: base.url(&format!("{V2_1}/catalog")),
        title: Text::new("Kleber", None),
        description: Text::new("The datasets of this open data portal, as DCAT-AP.", Some("en")),
        publisher: Agent {
            iri: base.url("/#publisher"),
            name: "Kleber".to_owned(),
            kind: None,
            homepage: None,
        },
        homepage: base.url("/"),
        language: "fr".to_owned(),
        modified: records.iter().map(|r| r.modified.as_str()).max().map(str::to_owned),
        service: service(base),
        datasets,
        page,
    }
}

/// A metadata value that is a list (`theme`, `keyword`): an array, or text separated by
/// commas.
fn meta_list(record: &DatasetRecord, key: &str) -> Vec<String> {
    match record.metas.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) => {
            s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
        }
        _ => Vec::new(),
    }
}

/// The export formats a dataset is distributed in: the geographic ones only when it has a
/// geometry.
fn formats(record: &DatasetRecord) -> Vec<ExportFormat> {
    let geo = features(record).contains(&"geo");
    ExportFormat::ALL.into_iter().filter(|f| geo || !f.needs_geometry()).collect()
}

/// The licence of a dataset as an IRI: its `license_url`, or the address of the licence of
/// the management API's list its `license` names (by identifier, by name, or by the short
/// name in its brackets: `ODbL`); a licence known by name only has no IRI and is left out.
fn licence(record: &DatasetRecord) -> Option<Licence> {
    let name = meta_text(record, "license");
    if let Some(url) = meta_text(record, "license_url") {
        return Some(Licence { iri: url.to_owned(), name: name.unwrap_or(url).to_owned() });
    }
    let name = name?;
    let lower = name.to_lowercase();
    LICENCES
        .iter()
        .find(|l| {
            let known = l.name.to_lowercase();
            l.id == lower || known.starts_with(&lower) || known.contains(&format!("({lower})"))
        })
        .map(|l| Licence { iri: l.url.to_owned(), name: l.name.to_owned() })
}

fn meta_text<'a>(record: &'a DatasetRecord, key: &str) -> Option<&'a str> {
    record.metas.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// The description of a dataset its publisher did not describe (DCAT-AP requires one): what
/// its table holds, from its schema, e.g. `452 records; fields: nom, etat, geo_shape.`
fn generated_description(record: &DatasetRecord) -> String {
    let fields: Vec<&str> = record.version.fields.iter().map(|f| f.label.as_str()).collect();
    let mut text = format!("{} records", record.version.records_count);
    if !fields.is_empty() {
        text.push_str("; fields: ");
        text.push_str(&fields.join(", "));
    }
    text.push('.');
    text
}

/// The IRI of a dataset: its Explore API address.
fn dataset_iri(base: &PublicUrl, id: &str) -> String {
    base.url(&format!("{V2_1}/catalog/datasets/{id}"))
}

/// The DCAT-AP description of `record` (read in `view`, for its organization and the
/// datasets it derives from).
fn dataset(record: &DatasetRecord, view: &CatalogView, base: &PublicUrl) -> Dataset {
    let iri = dataset_iri(base, &record.id);
    let language = meta_text(record, "language").unwrap_or("fr").to_owned();
    let lang = Some(language.as_str());
    let description = match meta_text(record, "description_source") {
        Some(markdown) => Some(markdown.to_owned()),
        None => record.description.as_deref().map(kleber_search::strip_html),
    }
    .map(|d| d.trim().to_owned())
    .filter(|d| !d.is_empty())
    .unwrap_or_else(|| generated_description(record));
    let organization = view.organization(&record.organization);
    let publisher = Agent {
        iri: base.url(&format!("/organizations/{}#organization", record.organization)),
        name: organization.map_or_else(|| record.organization.clone(), |o| o.name.clone()),
        kind: organization.map(|o| o.kind.as_str().to_owned()),
        homepage: organization.and_then(|o| o.website.clone()),
    };
    let contact = Contact {
        iri: format!("{iri}#contact"),
        name: meta_text(record, "contact_name").unwrap_or(&publisher.name).to_owned(),
        email: meta_text(record, "contact_email").map(str::to_owned),
        url: match meta_text(record, "contact_email") {
            Some(_) => None,
            None => Some(base.url(&format!("/organizations/{}", record.organization))),
        },
    };
    let licence = licence(record);
    let temporal = match (meta_text(record, "temporal_start"), meta_text(record, "temporal_end")) {
        (None, None) => None,
        (start, end) => Some((start.map(str::to_owned), end.map(str::to_owned))),
    };
    let geo = features(record).contains(&"geo");
    let download = |format: &str| format!("{iri}/exports/{format}");
    let distributions = formats(record)
        .into_iter()
        .map(|f| Distribution {
            iri: format!("{iri}#distribution-{}", f.name()),
            format: f.name().to_owned(),
            title: Text::new(format!("{} ({})", record.title, f.name().to_uppercase()), lang),
            download_url: download(f.name()),
            issued: Some(record.version.created_at.clone()),
            modified: Some(record.version.created_at.clone()),
        })
        .collect();
    Dataset {
        title: vec![Text::new(record.title.as_str(), lang)],
        description: vec![Text::new(description, lang)],
        publisher: Some(publisher),
        contact: Some(contact),
        themes: meta_list(record, "theme"),
        keywords: meta_list(record, "keyword").into_iter().map(|k| Text::new(k, lang)).collect(),
        licence,
        // The catalog keeps the current version's publication only: it is the first
        // publication when the version is the first.
        issued: (record.version.number == 1).then(|| record.version.created_at.clone()),
        modified: Some(record.modified.clone()),
        frequency: meta_text(record, "update_frequency").map(str::to_owned),
        spatial: meta_text(record, "spatial").map(|s| Text::new(s, lang)),
        temporal,
        languages: vec![language.clone()],
        landing_page: Some(base.url(&format!("/explore/dataset/{}/", record.id))),
        conforms_to: if geo {
            vec![(
                "http://www.opengis.net/def/crs/EPSG/0/4326".to_owned(),
                "WGS 84 (EPSG:4326)".to_owned(),
            )]
        } else {
            Vec::new()
        },
        version: Some(record.version.number.to_string()),
        archived: record.metas.get("archived").and_then(Value::as_bool).unwrap_or(false),
        // Derived datasets name their sources in `derived_from` (dataset identifiers);
        // only sources the caller sees are named.
        derived_from: meta_list(record, "derived_from")
            .into_iter()
            .filter(|id| view.record(id).is_some())
            .map(|id| dataset_iri(base, &id))
            // A harvested dataset was derived from its source's dataset (docs/harvest.md).
            .chain(harvest_source(record))
            .collect(),
        hvd_category: meta_text(record, "hvd_category").map(str::to_owned),
        distributions,
        iri,
    }
}

/// The page (or IRI) of a harvested dataset at its source, when it is an http(s) URL.
fn harvest_source(record: &DatasetRecord) -> Option<String> {
    let h = record.metas.get("harvest")?.as_object()?;
    let url = h.get("source_url").or_else(|| h.get("source"))?.as_str()?;
    (url.starts_with("http://") || url.starts_with("https://")).then(|| url.to_owned())
}
