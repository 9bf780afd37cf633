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
//!
//! Layers 3 to 5 run as one middleware, and so do 7 to 9 (each module's `layer` takes the
//! rest of the chain as a function): a `from_fn` layer of its own costs a boxed future and a
//! clone of the service stack below it on every request.

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
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use tower::util::MapResponseLayer;
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
        .layer(from_fn_with_state(state.clone(), request_layers))
        .layer(TraceLayer::new_for_http())
        .layer(from_fn_with_state(state.clone(), principal_layers))
        .layer(MapResponseLayer::new(compression::fuse_body))
        .layer(compression::layer())
        .layer(etag::EncodingLayer)
        .layer(cors::layer())
}

/// Layers 3 to 5 ([`apikey`], [`session`], [`ratelimit`]) as one middleware: each `from_fn`
/// layer boxes a future and clones the service stack below it on every request, which cost
/// about 7 µs a layer on a small dataset's page (BENCHMARKS.md, issue 17, sixth round). They
/// run in the same order as separate layers would, each around the next.
async fn principal_layers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let state = &state;
    apikey::layer(state, request, move |r| {
        session::layer(state, r, move |r| ratelimit::layer(state, r, move |r| next.run(r)))
    })
    .await
}

/// Layers 7 to 9 ([`public_url`], [`etag`], [`json_errors`]) as one middleware, like
/// [`principal_layers`].
async fn request_layers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let state = &state;
    public_url::layer(state, request, move |r| {
        etag::layer(state, r, move |r| json_errors::layer(r, move |r| next.run(r)))
    })
    .await
}
