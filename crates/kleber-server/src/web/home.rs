//! `/` (home) and `/about/`: the portal admins' texts (Markdown rendered and sanitised by
//! `kleber_app::portal`) when set, the featured datasets the visitor may read, and the
//! themes under their labels in the page's language.

use std::collections::BTreeSet;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use kleber_query::facets::FacetRequest;
use kleber_web::i18n::Counted;
use kleber_web::pages::{AboutPage, HomePage};
use kleber_web::view::FacetLink;

use super::cards::card;
use super::{Framing, PageContext, PageError, page};
use crate::http::PublicUrl;
use crate::http::resolve::Caller;
use crate::state::AppState;

/// How many datasets each home list shows.
const LIST_LEN: usize = 6;

/// `GET /`.
pub async fn get_home(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    base: PublicUrl,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let ctx = PageContext::new(&headers, raw.as_deref(), Some(&base), caller);
    let t = ctx.lang.messages();
    let snapshot =
        state.app.catalog(&ctx.request()).await.map_err(|e| PageError::from_api(&ctx, e))?;
    let records = snapshot.records();
    let total_records: i64 = records.iter().map(|r| r.version.records_count).sum();
    // The organizations that publish what the caller sees.
    let publishers: BTreeSet<&str> = records.iter().map(|r| r.organization.as_str()).collect();

    let request = FacetRequest {
        name: "theme".into(),
        disjunctive: false,
        sort: None,
        limit: Some(30),
        separator: None,
    };
    let groups = state
        .app
        .facets(&ctx.request(), &snapshot, &kleber_query::RecordsQuery::default(), &[request])
        .await
        .map_err(|e| PageError::from_api(&ctx, e))?;
    let portal_themes =
        state.app.portal_themes().await.map_err(|e| PageError::from_api(&ctx, e))?;
    let themes = groups
        .iter()
        .flat_map(|g| &g.facets)
        .map(|v| FacetLink {
            label: portal_themes.label(&v.name, ctx.lang.code()).to_owned(),
            count: t.number(v.count as i64),
            href: super::cards::refine_link("theme", &v.value).href,
            selected: false,
            depth: 0,
        })
        .collect();

    let mut latest: Vec<_> = records.iter().collect();
    latest.sort_by(|a, b| b.modified.cmp(&a.modified).then_with(|| a.id.cmp(&b.id)));
    let mut popular: Vec<_> = records.iter().collect();
    popular.sort_by_key(|r| {
        (std::cmp::Reverse(state.web.views_of(&r.id)), std::cmp::Reverse(r.version.records_count))
    });
    let intro_html = state
        .app
        .portal_home()
        .await
        .map_err(|e| PageError::from_api(&ctx, e))?
        .html(ctx.lang.code());
    let featured = state.app.featured(&snapshot).await.map_err(|e| PageError::from_api(&ctx, e))?;
    let mut layout = ctx.layout(t.home, "/");
    layout.nav = "home";
    let home = HomePage {
        layout,
        datasets: t.count_parts(records.len() as i64, Counted::Datasets),
        records: t.count_parts(total_records, Counted::Records),
        publishers: t.count_parts(publishers.len() as i64, Counted::Publishers),
        themes,
        latest: latest.iter().take(LIST_LEN).map(|r| card(r, ctx.lang)).collect(),
        popular: popular.iter().take(LIST_LEN).map(|r| card(r, ctx.lang)).collect(),
        intro_html,
        featured: super::portal_admin::label_card_themes(
            featured.iter().map(|r| card(r, ctx.lang)).collect(),
            &portal_themes,
            ctx.lang,
        ),
    };
    page(&state, &ctx, &home, Framing::SameOrigin)
}

/// `GET /about/`.
pub async fn get_about(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    base: PublicUrl,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let ctx = PageContext::new(&headers, raw.as_deref(), Some(&base), caller);
    let t = ctx.lang.messages();
    let snapshot =
        state.app.catalog(&ctx.request()).await.map_err(|e| PageError::from_api(&ctx, e))?;
    let mut layout = ctx.layout(t.about_heading, "/about/");
    layout.nav = "about";
    let body_html = state
        .app
        .portal_about()
        .await
        .map_err(|e| PageError::from_api(&ctx, e))?
        .html(ctx.lang.code());
    let about =
        AboutPage { layout, datasets: t.datasets(snapshot.records().len() as i64), body_html };
    page(&state, &ctx, &about, Framing::SameOrigin)
}
