//! Portal sessions: the `kleber_session` cookie resolved into the request's principal.
//!
//! Runs inside the API key layer: a request that presents an API key is that key's, whatever
//! cookie it carries. Otherwise a current session cookie makes the request its user's
//! ([`kleber_app::Principal::User`], through [`kleber_app::App::session`]), on the portal and
//! on the APIs' reads alike (for the portal's own scripts); the [`Session`] is also a request
//! extension, for the sign-out and account pages and their CSRF checks. An unknown, expired or
//! signed-out cookie leaves the request anonymous.
//!
//! API requests with a method other than GET, HEAD or OPTIONS never get the session's rights:
//! the APIs check no CSRF token, so a cookie must not authorize a change there. The
//! management API (`/api/management/`) is the exception: its guard
//! ([`super::management::guard`]) requires the session's CSRF token on those methods.
//! Answers given to a session are marked `Cache-Control: private` and vary on `Cookie`, so
//! no shared cache keeps what one user may read for another.
//!
//! The cookie is `HttpOnly`, `SameSite=Lax`, `Path=/`, lasts as long as the session, and is
//! `Secure` when the request came over TLS as a reverse proxy says with
//! `X-Forwarded-Proto: https` (Kleber itself speaks plain HTTP; see docs/security.md).

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::Response;
use kleber_app::sessions::Session;

use super::apikey::ApiKey;
use super::paths::is_api_path;
use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie's name.
pub const COOKIE: &str = "kleber_session";

/// The value of cookie `name` in `headers`, if sent once or more (the first one).
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim())
}

/// Whether the request reached the proxy in front of Kleber over TLS
/// (`X-Forwarded-Proto: https`), so cookies must be `Secure`.
pub fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value for cookie `name` = `value`, valid `max_age` seconds (0 deletes it).
pub fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if is_https(headers) { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Middleware: resolves the session cookie into the request's principal (see the module).
pub async fn layer<F: Future<Output = Response>>(
    state: &AppState,
    mut request: Request,
    next: impl FnOnce(Request) -> F,
) -> Response {
    let keyed = request.extensions().get::<ApiKey>().is_some();
    let path = request.uri().path();
    let api_change =
        is_api_path(path) && !is_safe(request.method()) && !path.starts_with("/api/management/");
    let token = cookie(request.headers(), COOKIE).map(str::to_owned);
    let session = match token {
        Some(token) if !keyed && !api_change => match state.app.session(&token).await {
            Ok(session) => session,
            Err(error) => {
                return super::json_errors::render(request.uri().path(), ApiError::from(error));
            }
        },
        _ => None,
    };
    let Some(session) = session else {
        return next(request).await;
    };
    request.extensions_mut().insert(session.principal.clone());
    request.extensions_mut().insert::<Session>(session);
    let mut response = next(request).await;
    let headers = response.headers_mut();
    let private = headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            if v.contains("private") || v.contains("no-store") {
                v.to_owned()
            } else {
                format!("private, {v}")
            }
        })
        .unwrap_or_else(|| "private, no-cache".to_owned());
    if let Ok(value) = HeaderValue::from_str(&private) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    let vary = headers.get(header::VARY).and_then(|v| v.to_str().ok()).map(str::to_owned);
    match vary {
        Some(v) if v.to_ascii_lowercase().contains("cookie") || v.trim() == "*" => {}
        Some(v) => {
            if let Ok(value) = HeaderValue::from_str(&format!("{v}, Cookie")) {
                headers.insert(header::VARY, value);
            }
        }
        None => {
            headers.insert(header::VARY, HeaderValue::from_static("Cookie"));
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("lang=fr; xkleber_session=a"));
        h.append(header::COOKIE, HeaderValue::from_static("kleber_session=b; other=c"));
        assert_eq!(cookie(&h, COOKIE), Some("b"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn cookies_are_secure_behind_tls() {
        let mut h = HeaderMap::new();
        let plain = set_cookie(&h, COOKIE, "t", 60);
        assert_eq!(plain, "kleber_session=t; Path=/; Max-Age=60; HttpOnly; SameSite=Lax");
        h.insert("x-forwarded-proto", HeaderValue::from_static("HTTPS"));
        assert!(set_cookie(&h, COOKIE, "t", 60).to_str().unwrap().ends_with("; Secure"));
    }
}
