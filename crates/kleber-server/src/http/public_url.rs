//! The portal's public base URL: where absolute URLs point (API `_links` and `links`, the
//! sitemap, the Atom feed, JSON-LD, Open Graph and canonical links).
//!
//! `--public-url` (`KLEBER_PUBLIC_URL`) sets it once, checked at start-up ([`PublicUrl::parse`]).
//! Without it, each request's `Host` header is the default, checked strictly
//! ([`PublicUrl::from_host`]): a host name or IP address with an optional port, nothing else,
//! so a forged `Host` cannot inject markup or a path into a page. A request whose `Host` is
//! missing or malformed is refused with `400 InvalidHost` when no public URL is configured.
//!
//! [`layer`] resolves the base once per request and hands it to handlers as the
//! [`PublicUrl`] request extension (and extractor); [`PublicUrl::url`] is the one function
//! that builds absolute URLs. Cached answers are keyed by it (`super::resolve::Resolution`),
//! so an answer built for one host is never served to another.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kleber_types::ErrorCode;

use crate::error::ApiError;
use crate::state::AppState;

/// Longest `Host` header taken as a base (a DNS name is at most 253 characters, plus a port).
const MAX_HOST_LEN: usize = 260;

/// An absolute base URL: `scheme://host[:port]`, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PublicUrl(String);

impl PublicUrl {
    /// Parses a configured public URL: `http` or `https`, a host, an optional port, no user
    /// name, query or fragment, and no path beyond `/` (a trailing slash is dropped).
    pub fn parse(text: &str) -> Result<PublicUrl, String> {
        let text = text.trim();
        let url = url::Url::parse(text).map_err(|e| {
            format!("{text:?} is not an absolute URL ({e}); give one like https://data.example.org")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "{text:?} has the scheme {:?}; use http or https, e.g. https://data.example.org",
                url.scheme()
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("{text:?} has no host; give one like https://data.example.org"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "{text:?} holds a user name or password; give the scheme and host only"
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "{text:?} has a query or a fragment; give the scheme and host only"
            ));
        }
        if url.path() != "/" {
            return Err(format!(
                "{text:?} has the path {:?}: Kleber is served at the root of its host, so give \
                 the scheme and host only (e.g. {})",
                url.path(),
                url.origin().ascii_serialization()
            ));
        }
        Ok(PublicUrl(url.origin().ascii_serialization()))
    }

    /// `http://<host>` from a request's `Host` header, if it is a host name or an IP address
    /// with an optional port and nothing else. Host names are lowercased.
    pub fn from_host(host: &str) -> Option<PublicUrl> {
        let valid = !host.is_empty()
            && host.len() <= MAX_HOST_LEN
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !valid {
            return None;
        }
        let url = url::Url::parse(&format!("http://{host}/")).ok()?;
        let name = url.host_str().filter(|h| !h.is_empty())?;
        // Nothing but the host and port may have been read (no user, path or other part).
        if url.path() != "/" || !url.username().is_empty() || url.query().is_some() {
            return None;
        }
        Some(PublicUrl(match url.port() {
            Some(port) => format!("http://{name}:{port}"),
            None => format!("http://{name}"),
        }))
    }

    /// The absolute URL of `path` (which starts with `/`, or is empty for the base itself).
    pub fn url(&self, path: &str) -> String {
        debug_assert!(path.is_empty() || path.starts_with('/'), "a path from the root: {path}");
        let mut url = String::with_capacity(self.0.len() + path.len());
        url.push_str(&self.0);
        url.push_str(path);
        url
    }

    /// The base itself, `scheme://host[:port]`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The base of a request: the configured public URL, else its `Host` (the request target's
/// authority first, as HTTP says, when the target is an absolute URL).
pub fn request_base(configured: Option<&PublicUrl>, parts: &Parts) -> Option<PublicUrl> {
    if let Some(url) = configured {
        return Some(url.clone());
    }
    let host = match parts.uri.authority() {
        Some(authority) => Some(authority.as_str()),
        None => parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()),
    };
    let host = host?;
    // Nearly every request of a thread names the same host: its last answer is kept.
    LAST_HOST.with_borrow_mut(|last| match last {
        Some((seen, base)) if seen == host => base.clone(),
        _ => {
            let base = PublicUrl::from_host(host);
            *last = Some((host.to_owned(), base.clone()));
            base
        }
    })
}

thread_local! {
    /// The last `Host` this thread checked ([`PublicUrl::from_host`]) and its answer.
    static LAST_HOST: std::cell::RefCell<Option<(String, Option<PublicUrl>)>> =
        const { std::cell::RefCell::new(None) };
}

/// Resolves the request's base and hands it on as a [`PublicUrl`] extension; without a
/// configured public URL, a request with a missing or malformed `Host` is refused here.
pub async fn layer<F: Future<Output = Response>>(
    state: &AppState,
    request: Request,
    next: impl FnOnce(Request) -> F,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let Some(base) = request_base(state.public_url.as_ref(), &parts) else {
        // The header itself is not echoed: it is what an attacker controls.
        let shown = if parts.headers.contains_key(header::HOST) {
            "a Host header that is not a host name or IP address with an optional port"
        } else {
            "no Host header"
        };
        let message = format!(
            "The request has {shown}: send the host name (and port) the server is reached at, \
             e.g. Host: data.example.org, or start the server with --public-url."
        );
        return refuse(parts.uri.path(), message);
    };
    parts.extensions.insert(base);
    next(Request::from_parts(parts, body)).await
}

/// `400 InvalidHost`: JSON on API paths, plain text elsewhere (no page can be built without a
/// base).
fn refuse(path: &str, message: String) -> Response {
    if super::paths::is_api_path(path) {
        return ApiError::new(ErrorCode::InvalidHost, message).into_response();
    }
    let mut response = (StatusCode::BAD_REQUEST, message).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

impl<S: Send + Sync> FromRequestParts<S> for PublicUrl {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<PublicUrl>().cloned().ok_or_else(|| {
            ApiError::new(ErrorCode::InternalError, "the public URL layer is not installed")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_urls_are_checked_and_normalised() {
        let ok = |t: &str| PublicUrl::parse(t).map(|u| u.as_str().to_owned());
        assert_eq!(ok("https://data.example.org").as_deref(), Ok("https://data.example.org"));
        assert_eq!(ok("https://data.example.org/").as_deref(), Ok("https://data.example.org"));
        assert_eq!(
            ok("HTTP://Data.Example.ORG:8080/").as_deref(),
            Ok("http://data.example.org:8080")
        );
        assert_eq!(ok("https://data.example.org:443").as_deref(), Ok("https://data.example.org"));
        assert_eq!(ok("http://[::1]:8080").as_deref(), Ok("http://[::1]:8080"));
        for bad in [
            "data.example.org",
            "ftp://data.example.org",
            "https://data.example.org/?a=1",
            "https://data.example.org/#top",
            "https://data.example.org/portal/",
            "https://user:pw@data.example.org",
            "https://",
            "",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad:?} accepted");
        }
        let message = PublicUrl::parse("https://data.example.org/portal").unwrap_err();
        assert!(message.contains("/portal") && message.contains("https://data.example.org"));
    }

    #[test]
    fn host_headers_are_host_and_port_only() {
        let base = |h: &str| PublicUrl::from_host(h).map(|u| u.as_str().to_owned());
        assert_eq!(base("127.0.0.1:8080").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(base("Data.Example.org").as_deref(), Some("http://data.example.org"));
        assert_eq!(base("[::1]:80").as_deref(), Some("http://[::1]"));
        for bad in [
            "",
            "evil.org/\"><script>",
            "evil.org/path",
            "user@evil.org",
            "evil.org:99999",
            "evil.org:port",
            "a b",
            "evil.org?x",
            "evil.org#x",
            &"a".repeat(300),
        ] {
            assert_eq!(base(bad), None, "{bad:?} accepted");
        }
    }

    #[test]
    fn the_configured_url_wins_then_the_target_authority_then_host() {
        let parts = |uri: &str, host: Option<&str>| {
            let mut builder = axum::http::Request::builder().uri(uri);
            if let Some(host) = host {
                builder = builder.header(header::HOST, host);
            }
            builder.body(()).unwrap().into_parts().0
        };
        let base = |c: Option<&PublicUrl>, p: &Parts| request_base(c, p).map(|u| u.0);
        let configured = PublicUrl::parse("https://data.example.org").unwrap();
        let p = parts("/x", Some("evil.org/<x>"));
        assert_eq!(base(Some(&configured), &p).as_deref(), Some("https://data.example.org"));
        assert_eq!(base(None, &p), None);
        let p = parts("http://Target.example:81/x", Some("host.example"));
        assert_eq!(base(None, &p).as_deref(), Some("http://target.example:81"));
        let p = parts("/x", Some("host.example"));
        assert_eq!(base(None, &p).as_deref(), Some("http://host.example"));
        assert_eq!(base(None, &parts("/x", None)), None);
    }

    #[test]
    fn urls_are_the_base_and_the_path() {
        let base = PublicUrl::parse("https://data.example.org/").unwrap();
        assert_eq!(base.url("/explore/"), "https://data.example.org/explore/");
        assert_eq!(base.url(""), "https://data.example.org");
    }
}
