//! Authentication of the management API (`/api/management/`), applied by construction to
//! every route mounted there ([`guard`] wraps the whole management router, whoever adds a
//! route to it), and the [`Manager`] extractor that hands handlers who acts.
//!
//! A request is accepted with
//!
//! - an API key (resolved by [`super::apikey`]): its scopes and its owner's roles decide, in
//!   `kleber_app::policy`, what it may do; or
//! - a portal session (the `kleber_session` cookie, resolved by [`super::session`]) and, on
//!   every method but GET, HEAD and OPTIONS, the session's CSRF token in the `X-CSRF-Token`
//!   header (the token the portal's forms carry): a cross-site request cannot read it, so it
//!   cannot change anything with the visitor's session.
//!
//! Anything else is refused before the handler runs: no credentials `401
//! AuthenticationRequired` (with `WWW-Authenticate: Apikey`), a session without its token or
//! with another `403 Forbidden`. The OpenAPI document is the one route read without
//! credentials. What an accepted caller may do is decided by the application layer
//! (`kleber_app::manage`), never here nor in handlers. Answers are `Cache-Control: private,
//! no-store`.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kleber_app::manage::Editor;
use kleber_app::sessions::Session;
use kleber_types::ErrorCode;

use super::apikey::ApiKey;
use super::resolve::Caller;
use crate::error::ApiError;

/// The header that carries a session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The path of the OpenAPI document, readable without credentials.
pub const OPENAPI_PATH: &str = "/api/management/v1/openapi.json";

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Who the request is, for the guard.
fn refusal(request: &Request) -> Option<ApiError> {
    if request.extensions().get::<ApiKey>().is_some() {
        return None;
    }
    let Some(session) = request.extensions().get::<Session>() else {
        return Some(ApiError::new(
            ErrorCode::AuthenticationRequired,
            "The management API needs credentials: send an API key (Authorization: Apikey <key>), or a portal session with its CSRF token in the X-CSRF-Token header.",
        ));
    };
    if is_safe(request.method()) {
        return None;
    }
    let token = request.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    match token {
        None => Some(ApiError::new(
            ErrorCode::Forbidden,
            "A change made with a portal session needs the session's CSRF token in the X-CSRF-Token header; nothing was changed.",
        )),
        Some(token) if !session.check_csrf(token.trim()) => Some(ApiError::new(
            ErrorCode::Forbidden,
            "The X-CSRF-Token header does not match this session's token; nothing was changed.",
        )),
        Some(_) => None,
    }
}

/// Middleware of the management router: refuses requests without valid credentials (see the
/// module) and marks every answer private.
pub async fn guard(request: Request, next: Next) -> Response {
    if request.uri().path() != OPENAPI_PATH
        && let Some(error) = refusal(&request)
    {
        let unauthenticated = error.code == ErrorCode::AuthenticationRequired;
        let mut response = error.into_response();
        if unauthenticated {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Apikey"));
        }
        return response;
    }
    let mut response = next.run(request).await;
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    }
    response
}

/// Wraps the management router in [`guard`] (the `wrap` of its mount).
pub fn layers(router: axum::Router<crate::AppState>) -> axum::Router<crate::AppState> {
    router.route_layer(axum::middleware::from_fn(guard))
}

/// Who acts on a management route: the request's principal and how the audit log names it
/// (its key, or its session). Anonymous requests never reach a handler ([`guard`]).
#[derive(Debug, Clone)]
pub struct Manager(pub Editor);

impl<S: Send + Sync> FromRequestParts<S> for Manager {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::of(&parts.extensions);
        let session = parts.extensions.get::<Session>().map(|s| s.actor.clone());
        Ok(Manager(Editor::new(caller.principal().clone(), session)?))
    }
}
