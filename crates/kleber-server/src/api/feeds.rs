//! Atom feeds of versions (docs/feeds.md#atom-feeds), written with `atom_syndication`:
//!
//! - `/catalog/datasets/{id}/versions.atom`: one entry per version of the dataset, newest
//!   first, with its change summary (records added, removed, changed; fields changed) and
//!   links to the version's records and to its diff against the previous version;
//! - `/catalog/versions.atom`: the last versions published across the datasets the caller
//!   may read (`limit`, default 50, at most 500).
//!
//! Both are made of what the caller may read: the dataset route is resolved like every
//! dataset route (a dataset one may not read is not found), the catalog feed filters through
//! the caller's catalog view; summaries are the ones `/versions` gives the caller (none to
//! outsiders of an access rule with a condition).

use atom_syndication::{Entry, Feed, FixedDateTime, Link, Person, Text};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use kleber_app::time_travel::PublicVersion;

use super::V2_1;
use crate::error::ApiError;
use crate::http::PublicUrl;
use crate::http::resolve::Resolution;
use crate::shared::datapackage::{dataset_page, dataset_url};
use crate::shared::params::Params;
use crate::state::AppState;

/// The Atom media type.
pub const ATOM: &str = "application/atom+xml; charset=utf-8";

/// Entries of the catalog feed by default, and at most.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

fn time(rfc3339: &str) -> FixedDateTime {
    chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap_or_default()
}

fn link(href: String, rel: &str, mime: Option<&str>) -> Link {
    let mut l = Link::default();
    l.set_href(href);
    l.set_rel(rel);
    l.set_mime_type(mime.map(str::to_owned));
    l
}

fn atom_response(feed: &Feed) -> Response {
    let mut response = feed.to_string().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ATOM));
    response
}

/// The words of a version's summary ("12 records added, 3 removed, 5 changed; fields
/// changed: a, b").
fn summary_text(v: &PublicVersion) -> String {
    let mut text = match (&v.summary, v.records_count) {
        (Some(s), _) if s.previous.is_none() => format!("First version: {} records.", s.added),
        (Some(s), _) => format!(
            "{} records added, {} removed, {} changed since version {}.",
            s.added,
            s.removed,
            s.changed,
            s.previous.unwrap_or_default()
        ),
        (None, Some(n)) => format!("{n} records."),
        (None, None) => String::new(),
    };
    if !v.fields_changed.is_empty() {
        text.push_str(&format!(" Fields changed: {}.", v.fields_changed.join(", ")));
    }
    if v.pruned {
        text.push_str(" Pruned by the retention policy: its data is gone.");
    }
    if let Some(comment) = &v.comment {
        text.push_str(&format!(" Comment: {comment}"));
    }
    text.trim().to_owned()
}

/// `GET /catalog/datasets/{id}/versions.atom`.
#[utoipa::path(get, path = "/api/explore/v2.1/catalog/datasets/{dataset_id}/versions.atom", tag = "Explore v2.1",
    params(("dataset_id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, description = "The dataset's versions as an Atom feed, newest first, each with its change summary and links to its records and its diff", content_type = "application/atom+xml"),
              (status = 404, description = "Unknown dataset", body = crate::api::management::ErrorBody, content_type = "application/json")))]
pub async fn dataset_feed(
    State(state): State<AppState>,
    resolution: Resolution,
    base: PublicUrl,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let dataset = resolution.dataset(&state, &id).await?;
    let versions = state.app.public_versions(&dataset).await?;
    let record = dataset.record();
    let api = dataset_url(&base, record.id.as_str());
    let mut entries = Vec::with_capacity(versions.len());
    for v in &versions {
        let mut entry = Entry::default();
        entry.set_title(Text::plain(format!("{} — version {}", record.title, v.number)));
        entry.set_id(format!("{api}/versions/{}", v.number));
        entry.set_updated(time(&v.published_at));
        entry.set_published(Some(time(&v.published_at)));
        entry.set_summary(Some(Text::plain(summary_text(v))));
        let mut links = vec![link(
            format!("{api}/records?version={}", v.number),
            "alternate",
            Some("application/json"),
        )];
        if let Some(previous) = v.summary.and_then(|s| s.previous) {
            links.push(link(
                format!("{api}/changes?from={previous}&to={}", v.number),
                "related",
                Some("application/json"),
            ));
        }
        entry.set_links(links);
        entries.push(entry);
    }
    let mut feed = Feed::default();
    feed.set_title(Text::plain(format!("{} — versions", record.title)));
    feed.set_id(format!("{api}/versions.atom"));
    feed.set_updated(
        versions.first().map_or_else(|| time(&record.modified), |v| time(&v.published_at)),
    );
    let mut author = Person::default();
    author.set_name(record.organization.clone());
    feed.set_authors(vec![author]);
    feed.set_links(vec![
        link(format!("{api}/versions.atom"), "self", Some("application/atom+xml")),
        link(dataset_page(&base, &record.id), "alternate", Some("text/html")),
    ]);
    feed.set_entries(entries);
    Ok(atom_response(&feed))
}

/// `GET /catalog/versions.atom`: the last versions published across the catalog.
#[utoipa::path(get, path = "/api/explore/v2.1/catalog/versions.atom", tag = "Explore v2.1",
    params(("limit" = Option<u32>, Query, description = "Entries (1 to 500, default 50)")),
    responses((status = 200, description = "The last versions published across the datasets the caller may read, as an Atom feed", content_type = "application/atom+xml")))]
pub async fn catalog_feed(
    State(state): State<AppState>,
    resolution: Resolution,
    base: PublicUrl,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let limit = match params.int("limit")? {
        None => DEFAULT_LIMIT,
        Some(n) => usize::try_from(n).ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
            ApiError::bad_param(format!(
                "Invalid value for limit API parameter: {n} was found but 1 <= limit <= {MAX_LIMIT} is expected."
            ))
        })?,
    };
    let recent = state.app.recent_publications(&resolution.context(), limit).await?;
    let mut entries = Vec::with_capacity(recent.len());
    for p in &recent {
        let api = dataset_url(&base, &p.dataset.id);
        let mut entry = Entry::default();
        entry.set_title(Text::plain(format!("{} — version {}", p.dataset.title, p.version)));
        entry.set_id(format!("{api}/versions/{}", p.version));
        entry.set_updated(time(&p.published_at));
        entry.set_published(Some(time(&p.published_at)));
        entry.set_summary(Some(Text::plain(format!(
            "Dataset {} published version {}.",
            p.dataset.id, p.version
        ))));
        let mut author = Person::default();
        author.set_name(p.dataset.organization.clone());
        entry.set_authors(vec![author]);
        entry.set_links(vec![
            link(
                format!("{api}/records?version={}", p.version),
                "alternate",
                Some("application/json"),
            ),
            link(format!("{api}/versions.atom"), "related", Some("application/atom+xml")),
        ]);
        entries.push(entry);
    }
    let mut feed = Feed::default();
    feed.set_title(Text::plain("Kleber — new versions"));
    let self_url = base.url(&format!("{V2_1}/catalog/versions.atom"));
    feed.set_id(self_url.clone());
    feed.set_updated(recent.first().map_or_else(
        || chrono::DateTime::from_timestamp(0, 0).unwrap_or_default().fixed_offset(),
        |p| time(&p.published_at),
    ));
    feed.set_links(vec![link(self_url, "self", Some("application/atom+xml"))]);
    feed.set_entries(entries);
    Ok(atom_response(&feed))
}
