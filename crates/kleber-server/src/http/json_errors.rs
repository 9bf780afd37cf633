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
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kleber_types::ErrorCode;

use super::resource::is_api_path;
use crate::error::ApiError;

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

/// Middleware: rewrites a non-JSON error of an API path as `{"error_code","message"}`.
pub async fn layer(request: Request, next: Next) -> Response {
    let api = is_api_path(request.uri().path());
    let head = request.method() == Method::HEAD;
    let response = next.run(request).await;
    let status = response.status();
    if !api || !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match to_bytes(body, MAX_ERROR_BODY).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let code = code_for(status);
    let error = if code == ErrorCode::InternalError {
        ApiError::internal(format!("{status} answered outside a handler: {text}"))
    } else if text.is_empty() {
        ApiError::new(code, status.canonical_reason().unwrap_or("Bad request").to_owned())
    } else {
        ApiError::new(code, text)
    };
    let mut json = error.into_response();
    *json.status_mut() = status;
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().append(name, value.clone());
        }
    }
    if head {
        // Same headers as the GET, no body.
        let (mut parts, body) = json.into_parts();
        let length = to_bytes(body, MAX_ERROR_BODY).await.map(|b| b.len()).unwrap_or(0);
        parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        return Response::from_parts(parts, Body::empty());
    }
    json
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
