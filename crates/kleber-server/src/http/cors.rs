//! Cross-origin access for browser apps and widgets: any origin may read (GET, HEAD).
//!
//! No cookies are involved (`Access-Control-Allow-Credentials` is never sent), so any origin
//! and any request header are safe to allow: the preflight mirrors the headers asked for
//! (`Authorization`, `If-None-Match`, ods-widgets' `ODS-Widgets-Version`, ...).

use std::time::Duration;

use axum::http::{HeaderName, Method};
use tower_http::cors::{AllowHeaders, Any, CorsLayer};

/// Response headers a cross-origin script may read besides the CORS-safelisted ones.
pub const EXPOSED: &[&str] = &[
    "etag",
    "content-disposition",
    "content-encoding",
    "retry-after",
    "ods-explore-api-deprecation",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
];

/// How long a browser may reuse a preflight answer.
pub const MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// The CORS layer.
pub fn layer() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers(EXPOSED.iter().map(|h| HeaderName::from_static(h)).collect::<Vec<_>>())
        .max_age(MAX_AGE)
}
