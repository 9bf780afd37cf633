//! For search engines and feed readers: `robots.txt`, `sitemap.xml` (every page of every
//! dataset), and an Atom feed of new and updated datasets (`/explore/feed.atom`).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kleber_web::pages::{Feed, FeedEntry, Sitemap, SitemapUrl};

use super::cards::{meta_list, meta_text};
use super::dataset::is_geo;
use super::{PageContext, PageError};
use crate::http::PublicUrl;
use crate::http::resolve::Caller;
use crate::state::AppState;

/// Entries in the feed.
const FEED_LEN: usize = 50;

fn text(content_type: &'static str, body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}

/// `GET /robots.txt`: everything may be crawled but the API's bulk exports.
pub async fn get_robots(base: PublicUrl) -> Response {
    let mut body = String::from(
        "User-agent: *\nAllow: /\nDisallow: /api/\nDisallow: /explore/embed/\nDisallow: /explore/dataset/*/download/\n",
    );
    body.push_str(&format!("\nSitemap: {}\n", base.url("/sitemap.xml")));
    text("text/plain; charset=utf-8", body)
}

/// `GET /sitemap.xml`.
pub async fn get_sitemap(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    base: PublicUrl,
) -> Result<Response, PageError> {
    let ctx = PageContext::new(&headers, None, Some(&base), caller);
    let snapshot =
        state.app.catalog(&ctx.request()).await.map_err(|e| PageError::from_api(&ctx, e))?;
    let mut urls = vec![
        SitemapUrl { loc: base.url("/"), lastmod: None },
        SitemapUrl { loc: base.url("/explore/"), lastmod: None },
        SitemapUrl { loc: base.url("/about/"), lastmod: None },
        SitemapUrl { loc: base.url("/organizations/"), lastmod: None },
    ];
    let mut organizations = std::collections::BTreeSet::new();
    let mut publishers = std::collections::BTreeSet::new();
    for r in snapshot.records() {
        let lastmod = Some(r.modified.clone());
        for tab in ["", "table/", "analyze/", "api/", "export/"] {
            urls.push(SitemapUrl {
                loc: base.url(&format!("/explore/dataset/{}/{tab}", r.id)),
                lastmod: lastmod.clone(),
            });
        }
        if is_geo(r) {
            urls.push(SitemapUrl {
                loc: base.url(&format!("/explore/dataset/{}/map/", r.id)),
                lastmod,
            });
        }
        organizations.insert(r.organization.as_str());
        if let Some(p) = meta_text(r, "publisher") {
            publishers.insert(super::cards::slug(p));
        }
    }
    // Organization pages replace the publisher pages that redirect to them.
    for org in &organizations {
        if let Some(o) = snapshot.organization(org) {
            publishers.remove(&super::cards::slug(&o.name));
            publishers.remove(o.id.as_str());
        }
        urls.push(SitemapUrl {
            loc: base.url(&super::organizations::organization_path(org)),
            lastmod: None,
        });
    }
    urls.extend(
        publishers
            .into_iter()
            .map(|p| SitemapUrl { loc: base.url(&format!("/publisher/{p}/")), lastmod: None }),
    );
    let body = kleber_web::render(&Sitemap { urls }).map_err(|e| PageError::internal(&ctx, e))?;
    Ok(text("application/xml; charset=utf-8", body))
}

/// `GET /explore/feed.atom` (and `/feed.atom`): the datasets, most recently modified first.
#[utoipa::path(get, path = "/feed.atom", tag = "Feeds",
    responses((status = 200, description = "The datasets, most recently modified first (Atom 1.0)", content_type = "application/atom+xml")))]
pub async fn get_feed(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    base: PublicUrl,
) -> Result<Response, PageError> {
    let ctx = PageContext::new(&headers, None, Some(&base), caller);
    let t = ctx.lang.messages();
    let snapshot =
        state.app.catalog(&ctx.request()).await.map_err(|e| PageError::from_api(&ctx, e))?;
    let mut records: Vec<_> = snapshot.records().iter().collect();
    records.sort_by(|a, b| b.modified.cmp(&a.modified).then_with(|| a.id.cmp(&b.id)));
    let entries: Vec<FeedEntry> = records
        .iter()
        .take(FEED_LEN)
        .map(|r| FeedEntry {
            url: base.url(&format!("/explore/dataset/{}/", r.id)),
            title: r.title.clone(),
            summary: r
                .description
                .as_deref()
                .map(|d| kleber_web::plain_text(d, 1000))
                .unwrap_or_default(),
            updated: r.modified.clone(),
            published: r.version.created_at.clone(),
            author: meta_text(r, "publisher").unwrap_or(t.site_name).to_owned(),
            categories: meta_list(r, "theme"),
        })
        .collect();
    let updated =
        entries.first().map_or_else(|| "1970-01-01T00:00:00Z".to_owned(), |e| e.updated.clone());
    let feed = Feed {
        title: format!("{} – {}", t.site_name, t.feed_title),
        self_url: base.url("/explore/feed.atom"),
        site_url: base.url("/explore/"),
        updated,
        entries,
    };
    let body = kleber_web::render(&feed).map_err(|e| PageError::internal(&ctx, e))?;
    Ok(text("application/atom+xml; charset=utf-8", body))
}
