//! The public portal's pages (Opendatasoft's URLs), rendered by `kleber-web`.
//!
//! Handlers read the request (language, query string), ask the application layer
//! (`kleber_app::App`: catalog, dataset versions, rows, facets) as the APIs do, fill
//! in a `kleber_web::pages` view model and answer HTML with the portal's security headers
//! ([`html`]). Bad parameters answer a 400 page, unknown datasets a 404 page, never a panic.

pub mod admin;
mod analyze;
mod api_tab;
pub mod assets;
pub mod auth;
pub mod backoffice;
pub mod cache;
mod cards;
pub mod catalog;
mod cells;
pub mod dataset;
pub mod derive_panel;
pub mod embed;
pub mod errors;
pub mod filters;
pub mod harvest_admin;
pub mod home;
pub mod lang;
pub mod notifications;
pub mod organizations;
pub mod portal_admin;
pub mod processor_panel;
pub mod seo;
pub mod source_panel;
mod table;
pub mod webhook_admin;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use kleber_web::Lang;
use kleber_web::url::Query;
use kleber_web::view::Layout;

use crate::http::PublicUrl;
use crate::http::resolve::Caller;
use crate::state::AppState;

pub use errors::PageError;

pub use crate::shared::portal::{
    DEFAULT_TILE_ATTRIBUTION, DEFAULT_TILE_URL, PortalConfig as WebConfig,
};

/// The portal's routes (path, handler). Paths are given with and without their trailing
/// slash, as Opendatasoft's links have one and [`crate::serve`] removes it.
pub fn routes() -> Vec<(String, MethodRouter<AppState>)> {
    let mut routes: Vec<(String, MethodRouter<AppState>)> = vec![
        ("/".to_owned(), get(home::get_home)),
        ("/robots.txt".to_owned(), get(seo::get_robots)),
        ("/sitemap.xml".to_owned(), get(seo::get_sitemap)),
        ("/feed.atom".to_owned(), get(seo::get_feed)),
        ("/static/{*path}".to_owned(), get(assets::get_asset)),
    ];
    for (path, handler) in [
        ("/explore", get(catalog::get_catalog)),
        ("/explore/feed.atom", get(seo::get_feed)),
        ("/explore/dataset/{id}", get(dataset::get_dataset_page)),
        ("/explore/dataset/{id}/{tab}", get(dataset::get_dataset_tab)),
        ("/explore/embed/dataset/{id}/{tab}", get(embed::get_embed)),
        ("/publisher/{slug}", get(organizations::get_publisher)),
        ("/organizations", get(organizations::get_organizations)),
        ("/organizations/{org}", get(organizations::get_organization)),
        ("/about", get(home::get_about)),
    ] {
        if !path.ends_with(".atom") {
            routes.push((format!("{path}/"), handler.clone()));
        }
        routes.push((path.to_owned(), handler));
    }
    routes.extend(auth::routes());
    routes.extend(notifications::routes());
    routes.extend(admin::routes());
    routes.extend(backoffice::routes());
    routes.extend(processor_panel::routes());
    routes.extend(derive_panel::routes());
    routes.extend(source_panel::routes());
    routes.extend(harvest_admin::routes());
    routes.extend(webhook_admin::routes());
    routes.extend(portal_admin::routes());
    routes
}

/// What every page handler knows about its request.
#[derive(Debug, Clone)]
pub struct PageContext {
    /// The page's language.
    pub lang: Lang,
    /// The query string.
    pub query: Query,
    /// The request's base URL ([`crate::http::public_url`]), for absolute URLs; `None` only
    /// when the public-URL layer did not run (links then stay relative).
    pub base: Option<PublicUrl>,
    /// A `Set-Cookie` remembering the language chosen with `?lang=`.
    pub set_cookie: Option<HeaderValue>,
    /// Who asks (the request's principal): what its pages may show.
    caller: Caller,
    /// The signed-in user's unread notifications (the header's badge; `None` signed out),
    /// counted by [`notifications::UnreadLayer`].
    pub unread: Option<i64>,
    /// A dataset page's follow button (signed-in users; set by the dataset pages' handler, read
    /// by [`dataset::header`] so every tab shows it).
    pub follow: Option<kleber_web::notifications::FollowButton>,
}

impl PageContext {
    /// The context of a request made by `caller`.
    pub fn new(
        headers: &HeaderMap,
        raw_query: Option<&str>,
        base: Option<&PublicUrl>,
        caller: Caller,
    ) -> PageContext {
        let query = Query::parse(raw_query.unwrap_or(""));
        let (lang, set_cookie) = lang::negotiate(&query, headers);
        let unread = notifications::current_unread();
        PageContext { lang, query, base: base.cloned(), set_cookie, caller, unread, follow: None }
    }

    /// The absolute URL of `path` on the portal (built by [`PublicUrl::url`]).
    pub fn url(&self, path: &str) -> String {
        self.base.as_ref().map_or_else(|| path.to_owned(), |b| b.url(path))
    }

    /// The application layer's view of this request: its caller's, in the page's language.
    pub fn request(&self) -> kleber_app::RequestContext {
        self.caller.context().in_lang(self.lang.code())
    }

    /// A layout for a page of this request.
    pub fn layout(&self, title: impl Into<String>, path: impl Into<String>) -> Layout {
        let mut layout = Layout::new(self.lang, title, path, self.query.clone());
        layout.base_url = self.url("");
        layout.header_q = self.query.get("q").unwrap_or("").to_owned();
        layout.unread = self.unread;
        layout
    }
}

/// How a page may be framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Only by the portal itself.
    SameOrigin,
    /// By any site (embeds).
    Anywhere,
}

/// An HTML response with the portal's headers: Content-Security-Policy (only our own scripts
/// and styles, images from us and the tile server), framing rules, language.
pub fn html(
    state: &AppState,
    ctx: &PageContext,
    status: StatusCode,
    body: String,
    framing: Framing,
) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    let tiles = state.web.tile_origin().map(|o| format!(" {o}")).unwrap_or_default();
    let ancestors = match framing {
        Framing::SameOrigin => "'self'",
        Framing::Anywhere => "*",
    };
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{tiles}; \
         connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors {ancestors}"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    if framing == Framing::SameOrigin {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(ctx.lang.code()));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Language, Cookie"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(cookie) = &ctx.set_cookie {
        headers.insert(header::SET_COOKIE, cookie.clone());
    }
    response
}

/// Renders `page` and answers it with [`html`].
pub fn page<T: kleber_web::Template>(
    state: &AppState,
    ctx: &PageContext,
    page: &T,
    framing: Framing,
) -> Result<Response, PageError> {
    let body = kleber_web::render(page).map_err(|e| PageError::internal(ctx, e))?;
    Ok(html(state, ctx, StatusCode::OK, body, framing))
}

/// Where Explore v2.1 is mounted (links from the portal to the API).
pub const V2_1: &str = "/api/explore/v2.1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_origin_allows_the_tile_host_and_its_subdomains() {
        let mut config = WebConfig::default();
        assert_eq!(config.tile_origin().as_deref(), Some("https://tile.openstreetmap.org"));
        config.tile_url = "https://{s}.tiles.example.org:8443/{z}/{x}/{y}.png".to_owned();
        assert_eq!(config.tile_origin().as_deref(), Some("https://*.tiles.example.org:8443"));
        config.tile_url = "https://evil.org; script-src *'/{z}".to_owned();
        assert_eq!(config.tile_origin(), None, "nothing that could extend the policy");
        config.tile_url = "/tiles/{z}/{x}/{y}.png".to_owned();
        assert_eq!(config.tile_origin(), None, "tiles from the portal itself need no origin");
    }
}
