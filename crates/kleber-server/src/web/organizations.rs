//! Organization pages: `/organizations/` (every organization with a dataset the reader may
//! see, with counts) and `/organizations/{org}/` (its name, kind, description, web site, logo
//! and the datasets the reader may see), all from the reader's catalog view, so restricted and
//! draft datasets count only for those who may read them.
//!
//! The older `/publisher/{slug}/` pages redirect permanently to the organization whose
//! identifier or name the slug is; a publisher named only in datasets' metadata keeps its list.

use axum::extract::{Path, RawQuery, State};
use axum::http::header::CONTENT_SECURITY_POLICY;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use kleber_app::accounts::is_web_address;
use kleber_store::{OrgKind, Organization};
use kleber_web::Lang;
use kleber_web::pages::{OrganizationItem, OrganizationPage, OrganizationsPage, PublisherPage};
use kleber_web::view::Link;

use super::cards::{card, meta_text, slug};
use super::{Framing, PageContext, PageError, page};
use crate::http::PublicUrl;
use crate::http::resolve::Caller;
use crate::state::AppState;

/// The path of an organization's page.
pub(crate) fn organization_path(id: &str) -> String {
    format!("/organizations/{id}/")
}

/// An organization's kind in `lang`.
pub(crate) fn kind_label(kind: OrgKind, lang: Lang) -> &'static str {
    let at = OrgKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
    lang.messages().organization_kinds.get(at).copied().unwrap_or(kind.as_str())
}

/// The description as plain-text paragraphs (blank lines separate them).
fn paragraphs(text: Option<&str>) -> Vec<String> {
    text.unwrap_or_default()
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect()
}

/// `GET /organizations/`.
pub async fn get_organizations(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    base: PublicUrl,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let ctx = PageContext::new(&headers, raw.as_deref(), Some(&base), caller);
    let t = ctx.lang.messages();
    let view = state.app.catalog(&ctx.request()).await.map_err(|e| PageError::from_api(&ctx, e))?;
    let mut counted: Vec<(&Organization, usize)> = view
        .organizations()
        .iter()
        .map(|o| (o, view.records().iter().filter(|r| r.organization == o.id).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    counted.sort_by_cached_key(|(o, _)| (o.name.to_lowercase(), o.id.clone()));
    let items = counted
        .into_iter()
        .map(|(o, n)| OrganizationItem {
            link: Link { label: o.name.clone(), href: organization_path(&o.id) },
            kind: kind_label(o.kind, ctx.lang).to_owned(),
            total: t.datasets(n as i64),
        })
        .collect();
    let mut layout = ctx.layout(t.organizations_heading, "/organizations/");
    layout.description = t.organizations_intro.to_owned();
    layout.nav = "organizations";
    page(&state, &ctx, &OrganizationsPage { layout, items }, Framing::SameOrigin)
}

/// `GET /organizations/{org}/`.
pub async fn get_organization(
    State(state): State<AppState>,
    Path(wanted): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    base: PublicUrl,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let ctx = PageContext::new(&headers, raw.as_deref(), Some(&base), caller);
    let t = ctx.lang.messages();
    let view = state.app.catalog(&ctx.request()).await.map_err(|e| PageError::from_api(&ctx, e))?;
    let Some(org) = view.organization(&wanted) else { return Err(PageError::not_found(&ctx)) };
    let mut records: Vec<_> = view.records().iter().filter(|r| r.organization == org.id).collect();
    records.sort_by(|a, b| b.modified.cmp(&a.modified).then_with(|| a.id.cmp(&b.id)));
    let path = organization_path(&org.id);
    let mut layout = ctx.layout(format!("{} – {}", t.organization_heading, org.name), &path);
    let total = t.datasets(records.len() as i64);
    layout.description = match org.description.as_deref() {
        Some(d) if !d.trim().is_empty() => kleber_web::plain_text(d, 200),
        _ => format!("{} : {total}", org.name),
    };
    let web = |url: &Option<String>| url.clone().filter(|u| is_web_address(u));
    let logo = web(&org.logo);
    let logo_origin = logo.as_deref().and_then(origin);
    let organization = OrganizationPage {
        layout,
        name: org.name.clone(),
        kind: kind_label(org.kind, ctx.lang).to_owned(),
        description: paragraphs(org.description.as_deref()),
        website: web(&org.website),
        logo: logo_origin.as_ref().and(logo),
        total,
        cards: records.iter().map(|r| card(r, ctx.lang)).collect(),
    };
    let mut response = page(&state, &ctx, &organization, Framing::SameOrigin)?;
    if let Some(origin) = logo_origin {
        allow_image_origin(&mut response, &origin);
    }
    Ok(response)
}

/// The origin (`https://host:port`) of an http(s) address, as a Content-Security-Policy
/// source.
fn origin(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let origin = parsed.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// Lets the page's browser load images from `origin` (the logo, never fetched by the server):
/// the portal's policy allows only its own images and the tile server's.
fn allow_image_origin(response: &mut Response, origin: &str) {
    let headers = response.headers_mut();
    let Some(policy) = headers.get(CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let widened = policy.replacen("img-src 'self'", &format!("img-src 'self' {origin}"), 1);
    if let Ok(value) = HeaderValue::from_str(&widened) {
        headers.insert(CONTENT_SECURITY_POLICY, value);
    }
}

/// `GET /publisher/{slug}/`: a permanent redirect to the organization with this identifier or
/// name; else the datasets whose `publisher` metadata has this slug.
pub async fn get_publisher(
    State(state): State<AppState>,
    Path(wanted): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    base: PublicUrl,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let ctx = PageContext::new(&headers, raw.as_deref(), Some(&base), caller);
    let t = ctx.lang.messages();
    let view = state.app.catalog(&ctx.request()).await.map_err(|e| PageError::from_api(&ctx, e))?;
    let orgs = view.organizations();
    let mapped = orgs
        .iter()
        .find(|o| o.id == wanted)
        .or_else(|| orgs.iter().find(|o| slug(&o.name) == wanted));
    if let Some(org) = mapped {
        let mut target = organization_path(&org.id);
        if let Some(query) = raw.as_deref().filter(|q| !q.is_empty()) {
            target.push('?');
            target.push_str(query);
        }
        return Ok(Redirect::permanent(&target).into_response());
    }
    let mut name = None;
    let mut records: Vec<_> = view
        .records()
        .iter()
        .filter(|r| match meta_text(r, "publisher") {
            Some(p) if slug(p) == wanted => {
                name.get_or_insert_with(|| p.to_owned());
                true
            }
            _ => false,
        })
        .collect();
    let Some(name) = name else { return Err(PageError::not_found(&ctx)) };
    records.sort_by(|a, b| b.modified.cmp(&a.modified));
    let mut layout =
        ctx.layout(format!("{} – {name}", t.publisher_heading), format!("/publisher/{wanted}/"));
    layout.description = format!("{name} : {}", t.datasets(records.len() as i64));
    let publisher = PublisherPage {
        layout,
        total: t.datasets(records.len() as i64),
        cards: records.iter().map(|r| card(r, ctx.lang)).collect(),
        name,
    };
    page(&state, &ctx, &publisher, Framing::SameOrigin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_label_in_both_languages() {
        for kind in OrgKind::ALL {
            for lang in Lang::ALL {
                assert_ne!(kind_label(*kind, lang), kind.as_str(), "{kind} in {lang:?}");
            }
        }
        assert_eq!(kind_label(OrgKind::PublicBody, Lang::Fr), "Organisme public");
    }

    #[test]
    fn logo_origins_are_policy_sources() {
        assert_eq!(
            origin("https://example.org/a/logo.png?x=1").as_deref(),
            Some("https://example.org")
        );
        assert_eq!(
            origin("http://Example.org:8080/l.svg").as_deref(),
            Some("http://example.org:8080")
        );
        assert_eq!(
            origin("https://bücher.example/l.png").as_deref(),
            Some("https://xn--bcher-kva.example")
        );
        assert_eq!(origin("not a url"), None);
    }

    #[test]
    fn descriptions_become_plain_paragraphs() {
        let text = "Première ligne\nsuite.\n\n<b>Deuxième</b>  paragraphe\n\n\n";
        assert_eq!(paragraphs(Some(text)), ["Première ligne suite.", "<b>Deuxième</b> paragraphe"]);
        assert!(paragraphs(None).is_empty());
    }
}
