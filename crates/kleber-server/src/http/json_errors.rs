//! Every API error is JSON: panics and axum's own rejections included.
//!
//! Handlers answer [`ApiError`]s, but a few errors are made elsewhere: axum's extractor
//! rejections (an identifier that is not UTF-8 once percent-decoded, a missing path
//! parameter) answer `text/plain`, and a panic would drop the connection. [`layer`] turns a
//! non-JSON error of an API path into the JSON envelope, keeping its status; [`on_panic`]
//! answers a panic with `500 InternalError` and logs it.

use std::any::Any;

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kleber_types::ErrorCode;

use super::paths::{is_api_path, is_ckan_path, is_v1_path};
use crate::error::ApiError;
use crate::shared::ckan_error::{CkanError, action_of};
use crate::shared::v1_error::V1Error;

/// Longest error body read back to be wrapped in JSON.
const MAX_ERROR_BODY: usize = 16 * 1024;

/// The code of an error status made outside the handlers.
fn code_for(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        401 => ErrorCode::InvalidApiKey,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        500.. => ErrorCode::InternalError,
        _ => ErrorCode::InvalidRestParameter,
    }
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// The response of `error` on `path`: the v1 shape on v1 paths, CKAN's on the CKAN Action
/// API (with a relative `help` link: the base URL is not settled yet where this is called
/// from the key layer), else the JSON envelope.
pub fn render(path: &str, error: ApiError) -> Response {
    render_with(path, error, None)
}

/// [`render`], with the request's base URL when it is known (absolute CKAN `help` links).
fn render_with(path: &str, error: ApiError, base: Option<&super::PublicUrl>) -> Response {
    if is_v1_path(path) {
        V1Error(error).into_response()
    } else if is_ckan_path(path) {
        CkanError::from(error).response(base, action_of(path))
    } else {
        error.into_response()
    }
}

/// The error a JSON error body describes, if it is Kleber's envelope.
fn parse_envelope(body: &[u8]) -> Option<ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let name = value.get("error_code")?.as_str()?;
    let code = ErrorCode::ALL.iter().copied().find(|c| c.name() == name)?;
    let message = value.get("message").or_else(|| value.get("error"))?.as_str()?;
    Some(ApiError::new(code, message.to_owned()))
}

/// Middleware: rewrites a non-JSON error of an API path as `{"error_code","message"}`, and
/// gives errors of v1 paths made outside their handlers (unknown path, method, panic) the v1
/// shape.
pub async fn layer<F: Future<Output = Response>>(
    request: Request,
    next: impl FnOnce(Request) -> F,
) -> Response {
    let path = request.uri().path().to_owned();
    let api = is_api_path(&path);
    let v1 = is_v1_path(&path);
    let ckan = is_ckan_path(&path);
    let base = request.extensions().get::<super::PublicUrl>().cloned();
    let head = request.method() == Method::HEAD;
    let response = next(request).await;
    let status = response.status();
    let json = is_json(&response);
    if !api || !(status.is_client_error() || status.is_server_error()) || (json && !v1 && !ckan) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        return render(&path, ApiError::internal(format!("{status}: unreadable error body")));
    };
    let error = if json {
        match parse_envelope(&bytes) {
            Some(error) if !head => error,
            // Already in the v1 shape (or not ours): as it was.
            _ => return Response::from_parts(parts, Body::from(bytes)),
        }
    } else {
        let text = String::from_utf8_lossy(&bytes).trim().to_owned();
        // Only a plain-text body (axum's rejections) is a message; an HTML page is not.
        let plain = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.starts_with("text/plain"));
        let code = code_for(status);
        if code == ErrorCode::InternalError {
            ApiError::internal(format!("{status} answered outside a handler: {text}"))
        } else if plain && !text.is_empty() {
            ApiError::new(code, text)
        } else if code == ErrorCode::NotFound {
            ApiError::new(code, format!("No API endpoint at {path}."))
        } else {
            ApiError::new(code, status.canonical_reason().unwrap_or("Bad request").to_owned())
        }
    };
    let mut rendered = render_with(&path, error, base.as_ref());
    *rendered.status_mut() = status;
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rendered.headers_mut().append(name, value.clone());
        }
    }
    if head {
        // Same headers as the GET, no body.
        let (mut parts, body) = rendered.into_parts();
        let length = to_bytes(body, MAX_ERROR_BODY).await.map(|b| b.len()).unwrap_or(0);
        parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        return Response::from_parts(parts, Body::empty());
    }
    rendered
}

/// The answer to a handler that panicked: `500 InternalError`, the panic logged.
pub fn on_panic(panic: Box<dyn Any + Send + 'static>) -> Response {
    let what = if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without message".to_owned()
    };
    ApiError::internal(format!("handler panicked: {what}")).into_response()
}
