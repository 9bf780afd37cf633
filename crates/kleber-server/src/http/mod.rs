//! HTTP behaviour shared by every route, as layers: CORS, compression, API keys, conditional
//! requests (`ETag`, `304`), JSON errors for panics and axum's rejections. Documented in
//! `docs/http.md`.
//!
//! [`apply`] wraps a router's routes, outermost first:
//!
//! 1. [`cors`], so that every answer, errors and `304` included, is readable cross-origin;
//! 2. [`compression`] of whatever the layers below answer;
//! 3. [`apikey`], which refuses ill-formed, unknown, revoked or expired keys, resolves the
//!    request's `Principal`, and removes the `apikey` parameter from the URI;
//! 4. [`session`], which resolves a portal session cookie into the request's `Principal`
//!    when no key was presented (docs/security.md);
//! 5. [`ratelimit`], which counts the request against its key's, session's or client
//!    address's budget, answers `429` past it, and adds the `X-RateLimit-*` headers;
//! 6. request tracing, which therefore never logs a key;
//! 7. [`public_url`], which settles the request's base URL (configured, else its `Host`,
//!    refused with `400 InvalidHost` when malformed) for absolute URLs and cache keys;
//! 8. [`etag`], which resolves what the request reads once ([`resolve`], by the route table of
//!    [`routes`]), hands that to the handler, and may answer `304` without calling it;
//! 9. [`json_errors`], which turns non-JSON errors of API paths into the JSON envelope;
//! 10. `CatchPanic`, which turns a panicking handler into `500 InternalError`.

pub mod apikey;
pub mod compression;
pub mod cors;
pub mod etag;
pub mod json_errors;
pub mod management;
pub mod paths;
pub mod public_url;
pub mod ratelimit;
pub mod resolve;
pub mod routes;
pub mod session;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state, map_response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use apikey::ApiKey;
pub use public_url::PublicUrl;

use crate::state::AppState;

/// Wraps every route of `router` (and its fallbacks) in the HTTP layers. Routes added to the
/// router afterwards are not wrapped: call it last.
pub fn apply(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    router
        .layer(CatchPanicLayer::custom(json_errors::on_panic))
        .layer(from_fn(json_errors::layer))
        .layer(from_fn_with_state(state.clone(), etag::layer))
        .layer(from_fn_with_state(state.clone(), public_url::layer))
        .layer(TraceLayer::new_for_http())
        .layer(from_fn_with_state(state.clone(), ratelimit::layer))
        .layer(from_fn_with_state(state.clone(), session::layer))
        .layer(from_fn_with_state(state.clone(), apikey::layer))
        .layer(map_response(compression::fuse_body))
        .layer(compression::layer())
        .layer(from_fn(etag::encoding_layer))
        .layer(cors::layer())
}
