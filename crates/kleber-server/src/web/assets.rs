//! `/static/...`: the portal's CSS, JS and images, from `kleber_web::assets`. Hashed URLs are
//! cached for a year (`immutable`); Leaflet's images, whose names its CSS fixes, for a day.

use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::PageContext;
use crate::http::PublicUrl;
use crate::http::resolve::Caller;

/// `GET /static/{path}`.
pub async fn get_asset(
    Path(path): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    base: PublicUrl,
    RawQuery(q): RawQuery,
) -> Response {
    let Some(asset) = kleber_web::assets::by_url(&format!("/static/{path}")) else {
        let ctx = PageContext::new(&headers, q.as_deref(), Some(&base), caller);
        return super::errors::render(StatusCode::NOT_FOUND, &ctx, None);
    };
    let etag = format!("\"{}\"", asset.hash);
    let cache = if asset.immutable {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=86400"
    };
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == etag));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        asset.bytes.into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}
