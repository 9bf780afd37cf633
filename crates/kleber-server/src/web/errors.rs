//! Error pages: HTML for the portal's URLs (the API keeps its JSON errors), with a search form
//! and links home and to the catalog.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kleber_web::pages::ErrorPage;

use super::PageContext;

/// A page that cannot be shown.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    // Boxed: handlers return `Result<_, PageError>` everywhere, so keep the error small.
    ctx: Box<PageContext>,
    message: Option<String>,
}

impl PageError {
    /// 404: no such page or dataset.
    pub fn not_found(ctx: &PageContext) -> PageError {
        PageError { status: StatusCode::NOT_FOUND, ctx: Box::new(ctx.clone()), message: None }
    }

    /// 400: a parameter the page cannot use; `message` says which and why.
    pub fn bad_request(ctx: &PageContext, message: impl Into<String>) -> PageError {
        PageError {
            status: StatusCode::BAD_REQUEST,
            ctx: Box::new(ctx.clone()),
            message: Some(message.into()),
        }
    }

    /// 500: logged in full, answered with a generic page.
    pub fn internal(ctx: &PageContext, error: impl std::fmt::Display) -> PageError {
        tracing::error!(%error, "page failed");
        PageError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            ctx: Box::new(ctx.clone()),
            message: None,
        }
    }

    /// Maps an API error met while building a page: user errors (a bad filter) are 400, an
    /// unknown dataset 404, the rest 500.
    pub fn from_api(ctx: &PageContext, e: impl Into<crate::ApiError>) -> PageError {
        let e: crate::ApiError = e.into();
        match e.code.status() {
            404 => PageError::not_found(ctx),
            400 => PageError::bad_request(ctx, e.message),
            503 => PageError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                ctx: Box::new(ctx.clone()),
                message: Some(e.message),
            },
            _ => PageError::internal(ctx, e.message),
        }
    }
}

/// Renders an error page.
pub fn render(status: StatusCode, ctx: &PageContext, message: Option<String>) -> Response {
    let t = ctx.lang.messages();
    let (heading, text) = match status.as_u16() {
        404 => (t.not_found_heading, t.not_found_text.to_owned()),
        400 => (t.bad_request_heading, message.unwrap_or_default()),
        503 => (t.server_error_heading, message.unwrap_or_default()),
        _ => (t.server_error_heading, t.server_error_text.to_owned()),
    };
    let mut layout = ctx.layout(heading, "/");
    layout.description = text.clone();
    let page = ErrorPage { layout, status: status.as_u16(), heading: heading.to_owned(), text };
    let body = kleber_web::render(&page).unwrap_or_else(|e| {
        tracing::error!(error = %e, "error page failed");
        String::from("<!DOCTYPE html><title>Error</title><main id=\"main\"><h1>Error</h1></main>")
    });
    // Without state here, the policy is the strict one (no tile host needed on error pages).
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    use axum::http::{HeaderValue, header};
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"),
    );
    headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(ctx.lang.code()));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(cookie) = &ctx.set_cookie {
        headers.insert(header::SET_COOKIE, cookie.clone());
    }
    response
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        render(self.status, &self.ctx, self.message)
    }
}

/// The 404 page of any URL that is neither a page nor an API endpoint.
pub fn not_found_page(request: &Request) -> Response {
    let base = request.extensions().get::<crate::http::PublicUrl>();
    let caller = crate::http::resolve::Caller::of(request.extensions());
    let ctx = PageContext::new(request.headers(), request.uri().query(), base, caller);
    render(StatusCode::NOT_FOUND, &ctx, None)
}
