//! API keys, sent as the `apikey` query parameter or as `Authorization: Apikey <key>`; on
//! CKAN's Action API also as CKAN sends them, `Authorization: <key>` (no scheme) or
//! `X-CKAN-API-Key: <key>` (ckanapi sends both).
//!
//! The layer takes the key out of the request: it becomes an [`ApiKey`] request extension
//! (for the publishing work to check) and the `apikey` parameter is removed from the URI, so
//! no handler sees it as a parameter, echoes it in a link or keys a cache on it, and the
//! request log does not record it.
//!
//! A well-formed key is then resolved by the application layer
//! ([`kleber_app::App::principal_for_key`], from memory in the common case) into the request's
//! [`Principal`], inserted as a request extension for the resolution layer and the handlers;
//! a request without a key is [`Principal::Anonymous`]. An ill-formed key or `Authorization`
//! header, and an unknown, revoked or expired key (or one whose owner is disabled), answer
//! `401 InvalidApiKey`, so a client never silently gets less than it asked for.

use std::fmt;

use axum::extract::{OriginalUri, Request};
use axum::http::uri::PathAndQuery;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::Response;
use kleber_app::Principal;
use kleber_types::ErrorCode;

use crate::error::ApiError;
use crate::state::AppState;

/// The query-string parameter that carries a key.
pub const PARAM: &str = "apikey";

/// The longest key accepted, in bytes.
pub const MAX_LEN: usize = 256;

/// An API key presented with a request. Its `Debug` output does not show the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    key: String,
    source: KeySource,
}

/// Where a request carried its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The `apikey` query parameter.
    Query,
    /// The `Authorization: Apikey <key>` header.
    Header,
}

impl ApiKey {
    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// Where it was sent.
    pub fn source(&self) -> KeySource {
        self.source
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("key", &format_args!("<{} bytes>", self.key.len()))
            .field("source", &self.source)
            .finish()
    }
}

/// Checks the shape of a key: 1 to [`MAX_LEN`] visible ASCII characters.
fn check_key(key: &str, source: KeySource) -> Result<ApiKey, ApiError> {
    let origin = match source {
        KeySource::Query => "apikey parameter",
        KeySource::Header => "Authorization header",
    };
    if key.is_empty() {
        return Err(invalid(format!("The {origin} has an empty API key.")));
    }
    if key.len() > MAX_LEN {
        return Err(invalid(format!(
            "The API key in the {origin} is {} bytes long; at most {MAX_LEN} are accepted.",
            key.len()
        )));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(format!(
            "The API key in the {origin} contains a character that is not visible ASCII."
        )));
    }
    Ok(ApiKey { key: key.to_owned(), source })
}

fn invalid(message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidApiKey, message)
}

/// The header CKAN clients carry a key in, besides `Authorization`.
pub const CKAN_HEADER: &str = "x-ckan-api-key";

/// Which API's ways of sending a key a request may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Opendatasoft's: the `apikey` parameter, `Authorization: Apikey <key>`.
    Ods,
    /// CKAN's Action API: Opendatasoft's ways, plus `Authorization: <key>` (one token, no
    /// scheme) and `X-CKAN-API-Key: <key>`.
    Ckan,
}

/// The key of an `Authorization` header value: `Apikey <key>`, the scheme in any case.
pub fn parse_authorization(value: &HeaderValue) -> Result<ApiKey, ApiError> {
    parse_authorization_in(value, Dialect::Ods)
}

/// The key of an `Authorization` header value in `dialect`: CKAN's is the key alone.
fn parse_authorization_in(value: &HeaderValue, dialect: Dialect) -> Result<ApiKey, ApiError> {
    if dialect == Dialect::Ckan
        && let Ok(text) = value.to_str()
        && !text.trim().is_empty()
        && !text.trim().contains([' ', '\t'])
        && !text.trim().eq_ignore_ascii_case("apikey")
    {
        return check_key(text.trim(), KeySource::Header);
    }
    let Ok(text) = value.to_str() else {
        return Err(invalid("The Authorization header is not visible ASCII.".to_owned()));
    };
    let text = text.trim();
    let (scheme, credentials) = match text.split_once([' ', '\t']) {
        Some((scheme, rest)) => (scheme, rest.trim()),
        None => (text, ""),
    };
    if scheme.is_empty() {
        return Err(invalid("The Authorization header is empty.".to_owned()));
    }
    if !scheme.eq_ignore_ascii_case("apikey") {
        let shown: String = scheme.chars().take(32).collect();
        return Err(invalid(format!(
            "Unsupported authorization scheme {shown:?}: send `Authorization: Apikey <key>` or the apikey parameter."
        )));
    }
    check_key(credentials, KeySource::Header)
}

/// The request's key and its query string without `apikey` (`None` when nothing is left).
/// Keys sent several times must agree.
pub fn extract(
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(Option<ApiKey>, Option<String>), ApiError> {
    extract_in(headers, query, Dialect::Ods)
}

/// [`extract`] in `dialect`. With CKAN's, `X-CKAN-API-Key` must agree with `Authorization`
/// when both are sent.
pub fn extract_in(
    headers: &HeaderMap,
    query: Option<&str>,
    dialect: Dialect,
) -> Result<(Option<ApiKey>, Option<String>), ApiError> {
    let mut authorizations = headers.get_all(header::AUTHORIZATION).iter();
    let mut from_header = match (authorizations.next(), authorizations.next()) {
        (None, _) => None,
        (Some(value), None) => Some(parse_authorization_in(value, dialect)?),
        (Some(_), Some(_)) => {
            return Err(invalid("The request has several Authorization headers.".to_owned()));
        }
    };
    if dialect == Dialect::Ckan {
        let mut ckan = headers.get_all(CKAN_HEADER).iter();
        let from_ckan = match (ckan.next(), ckan.next()) {
            (None, _) => None,
            (Some(value), None) => {
                let Ok(text) = value.to_str() else {
                    return Err(invalid("The X-CKAN-API-Key header is not visible ASCII.".into()));
                };
                Some(check_key(text.trim(), KeySource::Header)?)
            }
            (Some(_), Some(_)) => {
                return Err(invalid("The request has several X-CKAN-API-Key headers.".into()));
            }
        };
        match (&from_header, from_ckan) {
            (Some(a), Some(c)) if a.key != c.key => {
                return Err(invalid(
                    "The Authorization and X-CKAN-API-Key headers carry different keys.".into(),
                ));
            }
            (None, Some(c)) => from_header = Some(c),
            _ => {}
        }
    }
    let (values, rest) = match query {
        Some(query) => split_query(query),
        None => (Vec::new(), None),
    };
    let mut from_query: Option<ApiKey> = None;
    for value in values.iter().filter(|v| !v.is_empty()) {
        let key = check_key(value, KeySource::Query)?;
        if from_query.as_ref().is_some_and(|seen| seen.key != key.key) {
            return Err(invalid("The apikey parameter is given twice with different keys.".into()));
        }
        from_query = Some(key);
    }
    let key = match (from_header, from_query) {
        (Some(h), Some(q)) if h.key != q.key => {
            return Err(invalid(
                "The Authorization header and the apikey parameter carry different keys.".into(),
            ));
        }
        (Some(h), _) => Some(h),
        (None, q) => q,
    };
    Ok((key, rest))
}

/// The `apikey` values of `query` (decoded) and the other parameters, as sent.
fn split_query(query: &str) -> (Vec<String>, Option<String>) {
    let mut keys = Vec::new();
    let mut kept = Vec::new();
    for part in query.split('&') {
        match form_urlencoded::parse(part.as_bytes()).next() {
            Some((name, value)) if name == PARAM => keys.push(value.into_owned()),
            _ => kept.push(part),
        }
    }
    let rest = kept.join("&");
    (keys, (!rest.is_empty()).then_some(rest))
}

/// `uri` with its query string replaced by `query`.
fn with_query(uri: &Uri, query: Option<&str>) -> Option<Uri> {
    let path_and_query = match query {
        Some(q) => format!("{}?{q}", uri.path()),
        None => uri.path().to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}

fn refuse(path: &str, error: ApiError) -> Response {
    tracing::debug!(message = %error.message, "credentials refused");
    let mut response = super::json_errors::render(path, error);
    if response.status() == axum::http::StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Apikey"));
    }
    response
}

/// Middleware: validates the key, resolves it into the request's [`Principal`] (an extension,
/// with the [`ApiKey`]) and removes `apikey` from the URI (and from [`OriginalUri`]).
pub async fn layer<F: Future<Output = Response>>(
    state: &AppState,
    mut request: Request,
    next: impl FnOnce(Request) -> F,
) -> Response {
    let dialect =
        if super::paths::is_ckan_path(request.uri().path()) { Dialect::Ckan } else { Dialect::Ods };
    let (key, rest) = match extract_in(request.headers(), request.uri().query(), dialect) {
        Ok(found) => found,
        Err(error) => return refuse(request.uri().path(), error),
    };
    let principal = match &key {
        None => Principal::Anonymous,
        Some(key) => match state.app.principal_for_key(key.as_str()).await {
            Ok(principal) => principal,
            Err(error) => return refuse(request.uri().path(), error.into()),
        },
    };
    request.extensions_mut().insert(principal);
    if request.uri().query().is_some_and(|q| rest.as_deref() != Some(q)) {
        if let Some(uri) = with_query(request.uri(), rest.as_deref()) {
            *request.uri_mut() = uri;
        }
        if let Some(OriginalUri(original)) = request.extensions().get::<OriginalUri>() {
            let original_rest = original.query().and_then(|q| split_query(q).1);
            if let Some(uri) = with_query(original, original_rest.as_deref()) {
                request.extensions_mut().insert(OriginalUri(uri));
            }
        }
    }
    if let Some(key) = key {
        request.extensions_mut().insert(key);
    }
    next(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn both_schemes_spellings_and_the_parameter() {
        for value in ["Apikey abc123", "ApiKey abc123", "APIKEY   abc123 "] {
            let (key, _) = extract(&headers(value), None).unwrap();
            let key = key.unwrap();
            assert_eq!((key.as_str(), key.source()), ("abc123", KeySource::Header), "{value}");
        }
        let (key, rest) = extract(&HeaderMap::new(), Some("limit=2&apikey=k%2B1&where=a")).unwrap();
        let key = key.unwrap();
        assert_eq!((key.as_str(), key.source()), ("k+1", KeySource::Query));
        assert_eq!(rest.as_deref(), Some("limit=2&where=a"));
    }

    #[test]
    fn the_query_keeps_its_encoding_and_loses_only_apikey() {
        let (key, rest) = extract(&HeaderMap::new(), Some("apikey=")).unwrap();
        assert_eq!((key, rest), (None, None));
        let (_, rest) =
            extract(&HeaderMap::new(), Some("where=a%20%3D%201&apikeys=x&apikey=k")).unwrap();
        assert_eq!(rest.as_deref(), Some("where=a%20%3D%201&apikeys=x"));
    }

    #[test]
    fn ill_formed_credentials_are_refused() {
        for value in ["Bearer abc", "Basic dXNlcjpwYXNz", "Apikey", "Apikey a b", "apikey"] {
            let error = extract(&headers(value), None).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidApiKey, "{value}");
        }
        let long = "k".repeat(MAX_LEN + 1);
        let error = extract(&HeaderMap::new(), Some(&format!("apikey={long}"))).unwrap_err();
        assert!(error.message.contains("257 bytes"), "{}", error.message);
        let error = extract(&HeaderMap::new(), Some("apikey=a&apikey=b")).unwrap_err();
        assert!(error.message.contains("twice"), "{}", error.message);
        let error = extract(&headers("Apikey a"), Some("apikey=b")).unwrap_err();
        assert!(error.message.contains("different keys"), "{}", error.message);
        assert!(extract(&headers("Apikey a"), Some("apikey=a")).is_ok());
    }

    #[test]
    fn ckan_sends_the_key_alone_or_in_its_own_header() {
        let ckan = |h: &HeaderMap| extract_in(h, None, Dialect::Ckan);
        let (key, _) = ckan(&headers("abc123")).unwrap();
        assert_eq!(key.unwrap().as_str(), "abc123");
        let (key, _) = ckan(&headers("Apikey abc123")).unwrap();
        assert_eq!(key.unwrap().as_str(), "abc123");
        let mut both = headers("abc123");
        both.insert(CKAN_HEADER, HeaderValue::from_static("abc123"));
        assert_eq!(ckan(&both).unwrap().0.unwrap().as_str(), "abc123");
        let mut only = HeaderMap::new();
        only.insert(CKAN_HEADER, HeaderValue::from_static("k9"));
        assert_eq!(ckan(&only).unwrap().0.unwrap().as_str(), "k9");
        both.insert(CKAN_HEADER, HeaderValue::from_static("other"));
        assert!(ckan(&both).unwrap_err().message.contains("different keys"));
        for value in ["Bearer abc", "apikey"] {
            assert_eq!(
                ckan(&headers(value)).unwrap_err().code,
                ErrorCode::InvalidApiKey,
                "{value}"
            );
        }
        // Outside CKAN's paths a key alone is still refused, and its header ignored.
        assert!(extract(&headers("abc123"), None).is_err());
        assert_eq!(extract(&only, None).unwrap().0, None);
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let (key, _) = extract(&headers("Apikey secret-value"), None).unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
