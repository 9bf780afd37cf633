//! The Kleber server: the only crate that speaks HTTP.
//!
//! [`app`] builds the axum router over an [`AppState`] (the application layer of `kleber-app`,
//! the portal's settings, the route table); [`serve`] runs it on a bound listener until a
//! shutdown signal. The command line (`kleber import`, `kleber serve`) is in [`cli`];
//! importing a file as a new dataset version is [`import`] (`kleber_app::import`), shared by
//! the CLI and the demo data ([`demo`]).
//!
//! Front ends are leaves: `api/` (Explore v2.1), `api_v20`, `api_v1/` (Search API v1 and the
//! legacy download URL), `ckan/` (CKAN's Action API) and `web/` (the portal) translate their parameters into calls of
//! [`kleber_app::App`] and render the answers; they share only [`http`], [`shared`],
//! [`error`] and [`state`], never each other's modules (`tests/it/layering.rs` checks it).

pub mod api;
pub mod api_v1;
pub mod api_v20;
pub mod ckan;
pub mod cli;
mod cli_admin;
mod cli_derive;
mod cli_harvest;
mod cli_migrate;
mod cli_processors;
mod cli_retention;
mod cli_sources;
mod cli_versions;
pub mod demo;
pub mod error;
pub mod http;
pub mod listener;
pub mod mail;
pub mod openapi;
pub mod shared;
pub mod state;
pub mod web;

pub use kleber_app::import;

use std::future::Future;

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use kleber_types::ErrorCode;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

pub use error::ApiError;
pub use listener::HttpLimits;
pub use state::AppState;

/// The router of the whole server: every front end's route list, mounted once, from which
/// the router and the route table (what each route reads) are both built.
pub fn app(mut state: AppState) -> Router {
    let (routes, table) = routes().into_parts();
    state.shared_mut().routes = std::sync::Arc::new(table);
    let routes = routes.fallback(not_found).method_not_allowed_fallback(method_not_allowed);
    // The header's unread badge of portal pages (inside the session layer, which runs first).
    let routes = routes.layer(web::notifications::UnreadLayer(state.clone()));
    http::apply(routes, &state).with_state(state)
}

/// Every front end's routes, mounted: the router and the route table together.
pub fn routes() -> http::routes::Routes {
    use http::routes::{Routes, plain};
    Routes::new()
        .mount(api::V2_1, api::routes(), plain)
        .mount("", api::root_routes(), plain)
        .mount(api_v20::V2_0, api_v20::routes(), api_v20::layers)
        .mount(api_v20::V2_ALIAS, api_v20::routes(), api_v20::layers)
        .mount("", api_v1::routes(), plain)
        .mount(api::management::MANAGEMENT_V1, api::management::routes(), http::management::layers)
        .mount(ckan::ACTION_V3, ckan::routes(), plain)
        .mount(ckan::ACTION, ckan::routes(), plain)
        .mount(
            api::management::MANAGEMENT_V1,
            api::management::uploads::routes(),
            http::management::layers,
        )
        .mount(
            api::management::MANAGEMENT_V1,
            api::management::sources::routes(),
            http::management::layers,
        )
        .mount(
            api::management::MANAGEMENT_V1,
            api::management::harvests::routes(),
            http::management::layers,
        )
        .mount(
            api::management::MANAGEMENT_V1,
            api::management::processors::routes(),
            http::management::layers,
        )
        .mount(
            api::management::MANAGEMENT_V1,
            api::management::derivation::routes(),
            http::management::layers,
        )
        .mount(
            api::management::MANAGEMENT_V1,
            api::management::retention::routes(),
            http::management::layers,
        )
        .mount(
            api::management::MANAGEMENT_V1,
            api::management::webhooks::routes(),
            http::management::layers,
        )
        .mount(api::push::PUSH_1_0, api::push::routes(), plain)
        .mount("", openapi::routes(), plain)
        .merge_untabled(web::routes())
        .merge_untabled(openapi::pages())
}

async fn not_found(request: Request) -> Response {
    use axum::response::IntoResponse;
    if http::paths::is_ckan_path(request.uri().path()) {
        return ckan::unknown_action(&request);
    }
    if !request.uri().path().starts_with("/api/") {
        return web::errors::not_found_page(&request);
    }
    ApiError::new(ErrorCode::NotFound, format!("No API endpoint at {}.", request.uri().path()))
        .into_response()
}

async fn method_not_allowed(request: Request) -> Response {
    use axum::response::IntoResponse;
    if http::paths::is_ckan_path(request.uri().path()) {
        return ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!(
                "{} is not allowed on {}; CKAN's actions are called with GET or POST.",
                request.method(),
                request.uri().path()
            ),
        )
        .into_response();
    }
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!(
            "{} is not allowed on {}; this API is read-only (GET, HEAD).",
            request.method(),
            request.uri().path()
        ),
    )
    .into_response()
}

/// Serves `state` on `listener` with the default [`HttpLimits`] until `shutdown` completes.
/// Paths are accepted with or without a trailing slash.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, HttpLimits::default(), shutdown).await
}

/// Serves `state` on `listener` within `limits` (timeouts, concurrent requests, body size;
/// see [`listener`]) until `shutdown` completes.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Every publication's summary and retention, in the background (docs/versions.md).
    state.app.spawn_version_worker();
    // Publication events (webhooks, notifications, change streams): once per application.
    state.app.start_publications();
    let service = NormalizePathLayer::trim_trailing_slash().layer(app(state));
    listener::serve_connections(listener, service, limits, shutdown).await
}
