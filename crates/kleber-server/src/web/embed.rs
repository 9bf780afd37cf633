//! `/explore/embed/dataset/{id}/{table|map|analyze}/`: a tab without the site's chrome, for
//! iframes on other sites (framable from anywhere; the other pages only by the portal).

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::{PageContext, PageError};
use crate::http::PublicUrl;
use crate::http::resolve::Caller;
use crate::state::AppState;

/// The tabs that can be embedded.
pub const EMBEDDABLE: &[&str] = &["table", "map", "analyze"];

/// `GET /explore/embed/dataset/{id}/{tab}/`.
pub async fn get_embed(
    State(state): State<AppState>,
    Path((id, tab)): Path<(String, String)>,
    caller: Caller,
    headers: HeaderMap,
    base: PublicUrl,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let ctx = PageContext::new(&headers, raw.as_deref(), Some(&base), caller);
    if !EMBEDDABLE.contains(&tab.as_str()) {
        return Err(PageError::not_found(&ctx));
    }
    super::dataset::render_tab(&state, ctx, &id, &tab, true).await
}
