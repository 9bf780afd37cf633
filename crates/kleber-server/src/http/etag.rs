//! Validators and caching headers: `ETag`, `304 Not Modified`, `Cache-Control`.
//!
//! A response is a function of the request's path and query string and of what it reads: one
//! dataset's current version and metadata, or the catalog's generation. The layer resolves
//! that once ([`super::resolve`], from the route table of [`super::routes`]) and hands the
//! resolution to the handler; the entity tag hashes the resolution's stamp, so a matching
//! `If-None-Match` answers `304` without running the handler (no query is planned or run).
//!
//! Tags of the current version's answers are weak (`W/"..."`): rows without `order_by` may
//! come in a different order from one run to the next, and a metadata change can change the
//! answer's rendering, so two responses with the same tag are equivalent, not byte-identical.
//!
//! A read of a fixed version (`version=N`, docs/versions.md#etags) gets a strong tag
//! (`"..."`): a version is immutable, so its answer to one query is the same representation
//! for as long as the version exists, stable within the version and different across versions.
//! A strong tag names one content coding: [`EncodingLayer`] (outside the compression layer)
//! appends `-gzip` or `-br` to the tag of a compressed body, so the identity, gzip and brotli
//! bodies carry three tags, and `If-None-Match` (a weak comparison, RFC 9110 §13.1.2) matches
//! any of them.
//!
//! A query calling `now()` or `random()` changes with time, not with the data: it gets no tag
//! and `Cache-Control: no-cache`.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha1::{Digest, Sha1};

use super::apikey::ApiKey;
use super::resolve::resolve;
use crate::state::AppState;

/// `Cache-Control` of a public response: caches may keep it one minute, then revalidate.
pub const PUBLIC: &str = "public, max-age=60, must-revalidate";

/// `Cache-Control` of a response to a request that carried an API key: only the client's own
/// cache may keep it (once keys grant access to private datasets, shared caches must not
/// serve such answers to others).
pub const PRIVATE: &str = "private, max-age=60, must-revalidate";

/// `Cache-Control` of a response that changes with time (`now()`, `random()`).
pub const VOLATILE: &str = "no-cache";

/// The weak entity tag of the response to `path?query` when what it reads is at `stamp`.
/// The server's version is part of it: a new release may render the same data differently.
pub fn entity_tag(stamp: &str, path: &str, query: Option<&str>) -> String {
    let mut hash = Sha1::new();
    for part in [env!("CARGO_PKG_VERSION"), stamp, path.trim_end_matches('/'), query.unwrap_or("")]
    {
        hash.update(part.as_bytes());
        hash.update([0xff]);
    }
    format!("W/\"{}\"", &hex::encode(hash.finalize())[..32])
}

/// The strong entity tag of the answer to `path?query` over a fixed version at `stamp`: the
/// same hash as [`entity_tag`], without the weak marker (a different prefix, so that a weak
/// and a strong tag never share their opaque part).
pub fn strong_entity_tag(stamp: &str, path: &str, query: Option<&str>) -> String {
    let weak = entity_tag(&format!("strong:{stamp}"), path, query);
    weak.trim_start_matches("W/").to_owned()
}

/// The content codings a strong tag is suffixed with (those the compression layer uses).
const CODINGS: [&str; 2] = ["gzip", "br"];

/// `tag`'s opaque part without the weak marker nor a content-coding suffix.
fn base_of(tag: &str) -> String {
    let opaque = tag.trim().trim_start_matches("W/");
    for coding in CODINGS {
        if let Some(base) = opaque.strip_suffix(&format!("-{coding}\"")) {
            return format!("{base}\"");
        }
    }
    opaque.to_owned()
}

/// The layer outside the compression layer: a strong `ETag` of a compressed body gets the
/// coding's suffix (`"…-gzip"`), and a `304` echoes the suffixed tag the client sent.
///
/// A tower layer rather than a `from_fn` one: it wraps every request, and `from_fn` boxes the
/// body and clones the stack below it on each (BENCHMARKS.md, issue 17, sixth round).
#[derive(Clone, Copy, Debug, Default)]
pub struct EncodingLayer;

impl<S> tower::Layer<S> for EncodingLayer {
    type Service = Encoding<S>;

    fn layer(&self, inner: S) -> Encoding<S> {
        Encoding(inner)
    }
}

/// The service of [`EncodingLayer`].
#[derive(Clone, Debug)]
pub struct Encoding<S>(S);

impl<S, B> tower::Service<Request> for Encoding<S>
where
    S: tower::Service<Request, Response = axum::http::Response<B>>,
    S::Future: Send + 'static,
{
    type Response = axum::http::Response<B>;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, S::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let sent = sent_tags(request.headers());
        let response = self.0.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            retag(&mut response, sent);
            Ok(response)
        })
    }
}

/// The tags of the request's `If-None-Match` headers.
fn sent_tags(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|t| t.trim().to_owned()).collect::<Vec<_>>())
        .collect()
}

/// Suffixes the strong tag of `response` with its coding, or echoes the suffixed tag of
/// `sent` that a `304` matched.
fn retag<B>(response: &mut axum::http::Response<B>, sent: Vec<String>) {
    let Some(tag) = response.headers().get(header::ETAG).and_then(|t| t.to_str().ok()) else {
        return;
    };
    if tag.starts_with("W/") {
        return;
    }
    let tag = tag.to_owned();
    let new_tag = if response.status() == StatusCode::NOT_MODIFIED {
        sent.into_iter().find(|t| !t.starts_with("W/") && base_of(t) == tag)
    } else {
        let coding = response.headers().get(header::CONTENT_ENCODING).and_then(|c| c.to_str().ok());
        coding
            .filter(|c| CODINGS.contains(c))
            .map(|c| format!("{}-{c}\"", tag.trim_end_matches('"')))
    };
    if let Some(value) = new_tag.and_then(|t| HeaderValue::from_str(&t).ok()) {
        response.headers_mut().insert(header::ETAG, value);
    }
}

/// Whether `If-None-Match` lists `tag` (weak comparison) or is `*`.
enum Precondition {
    /// No `If-None-Match`, or none of its tags match.
    Unmatched,
    /// One of its tags matches.
    Matched,
    /// `*`: matches if the resource has a current representation.
    Any,
}

fn precondition(headers: &HeaderMap, tag: &str) -> Precondition {
    let opaque = base_of;
    let wanted = opaque(tag);
    let mut result = Precondition::Unmatched;
    for value in headers.get_all(header::IF_NONE_MATCH) {
        let Ok(text) = value.to_str() else { continue };
        for candidate in text.split(',') {
            if candidate.trim() == "*" {
                result = Precondition::Any;
            } else if opaque(candidate) == wanted {
                return Precondition::Matched;
            }
        }
    }
    result
}

fn not_modified(tag: &HeaderValue, cache_control: &'static str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    set_cache_headers(response.headers_mut(), tag, cache_control);
    response
}

fn set_cache_headers(headers: &mut HeaderMap, tag: &HeaderValue, cache_control: &'static str) {
    headers.insert(header::ETAG, tag.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
}

/// Middleware: answers `304` to a GET or HEAD whose `If-None-Match` matches the current tag,
/// and adds `ETag` and `Cache-Control` to successful answers.
pub async fn layer<F: Future<Output = Response>>(
    state: &AppState,
    request: Request,
    next: impl FnOnce(Request) -> F,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let resolution = resolve(state, &mut parts).await;
    let stamp = resolution.stamp();
    // A fixed version's answers are immutable: strong tags (docs/versions.md#etags).
    let fixed = resolution.version.is_some();
    parts.extensions.insert(resolution);
    let request = Request::from_parts(parts, body);
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next(request).await;
    }
    let uri = request.uri().clone();
    let Some(stamp) = stamp else {
        return next(request).await;
    };
    if kleber_app::volatile::is_volatile(uri.query()) {
        let mut response = next(request).await;
        if response.status() == StatusCode::OK {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(VOLATILE));
        }
        return response;
    }
    let tag = if fixed {
        strong_entity_tag(&stamp, uri.path(), uri.query())
    } else {
        entity_tag(&stamp, uri.path(), uri.query())
    };
    let Ok(tag) = HeaderValue::from_str(&tag) else {
        return next(request).await;
    };
    let cache_control =
        if request.extensions().get::<ApiKey>().is_some() { PRIVATE } else { PUBLIC };
    let condition = precondition(request.headers(), tag.to_str().unwrap_or_default());
    if matches!(condition, Precondition::Matched) {
        return not_modified(&tag, cache_control);
    }
    let mut response = next(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    if matches!(condition, Precondition::Any) {
        return not_modified(&tag, cache_control);
    }
    set_cache_headers(response.headers_mut(), &tag, cache_control);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_change_with_each_input_and_are_weak() {
        let a = entity_tag("s1", "/p", Some("limit=1"));
        assert!(a.starts_with("W/\"") && a.ends_with('"'), "{a}");
        assert_eq!(a, entity_tag("s1", "/p/", Some("limit=1")));
        assert_ne!(a, entity_tag("s2", "/p", Some("limit=1")));
        assert_ne!(a, entity_tag("s1", "/q", Some("limit=1")));
        assert_ne!(a, entity_tag("s1", "/p", Some("limit=2")));
    }

    #[test]
    fn if_none_match_uses_weak_comparison() {
        let tag = entity_tag("s", "/p", None);
        let mut headers = HeaderMap::new();
        let strong = tag.trim_start_matches("W/").to_owned();
        headers.insert(header::IF_NONE_MATCH, format!("\"other\", {strong}").parse().unwrap());
        assert!(matches!(precondition(&headers, &tag), Precondition::Matched));
        headers.insert(header::IF_NONE_MATCH, "\"other\"".parse().unwrap());
        assert!(matches!(precondition(&headers, &tag), Precondition::Unmatched));
        headers.insert(header::IF_NONE_MATCH, "*".parse().unwrap());
        assert!(matches!(precondition(&headers, &tag), Precondition::Any));
    }

    #[test]
    fn strong_tags_are_strong_and_match_across_codings() {
        let strong = strong_entity_tag("s", "/p", Some("version=2"));
        assert!(strong.starts_with('"') && strong.ends_with('"'), "{strong}");
        assert_ne!(strong, entity_tag("s", "/p", Some("version=2")).trim_start_matches("W/"));
        assert_ne!(strong, strong_entity_tag("t", "/p", Some("version=2")));
        let gzip = format!("{}-gzip\"", strong.trim_end_matches('"'));
        assert_eq!(base_of(&gzip), strong);
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, gzip.parse().unwrap());
        assert!(matches!(precondition(&headers, &strong), Precondition::Matched));
    }
}
