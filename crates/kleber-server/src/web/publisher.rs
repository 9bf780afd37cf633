//! `/publisher/{slug}/`: an organization's page, listing its datasets.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use kleber_web::pages::PublisherPage;

use super::cards::{card, meta_text, slug};
use super::{Framing, PageContext, PageError, page};
use crate::http::PublicUrl;
use crate::http::resolve::Caller;
use crate::state::AppState;

/// `GET /publisher/{slug}/`.
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
    let snapshot =
        state.app.catalog(&ctx.request()).await.map_err(|e| PageError::from_api(&ctx, e))?;
    let mut name = None;
    let mut records: Vec<_> = snapshot
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
