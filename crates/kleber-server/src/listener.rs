//! Connections: accepting them, bounding them, closing them.
//!
//! axum's own `serve` offers no timeouts, so connections are served with hyper's HTTP/1
//! connection builder directly ([`hyper::server::conn::http1::Builder`], with hyper-util's
//! tokio glue and graceful shutdown):
//!
//! - **header-read timeout** (hyper's `header_read_timeout`): a client has this long to send a
//!   request's whole head, counted from when the connection starts waiting for it. hyper starts
//!   that clock as soon as a connection is idle, so it is also the **idle keep-alive timeout**:
//!   a kept-alive connection that sends nothing for that long is closed. A slow client that sends
//!   one header byte every few seconds is disconnected when it runs out.
//! - **concurrent requests**: at most `max_requests` requests are handled at once; a request
//!   beyond answers `503 ServerBusy` with `Retry-After` at once instead of queueing. A request
//!   holds its slot until its body is sent (or the client goes away), so a long export counts.
//! - **request bodies**: a request announcing more than `max_body_bytes` answers
//!   `413 PayloadTooLarge`, and a chunked body is cut at that size for any handler that would
//!   read it; uploads and attachments of the management API have their own bound,
//!   `max_upload_bytes`, and are streamed to disk by their handlers (which apply their own
//!   limits, `--max-upload-mb` and `--max-attachment-mb`).
//!
//! Both refusals are the JSON envelope of [`ApiError`], with `Access-Control-Allow-Origin: *`
//! as every other answer, since they are made before the router's layers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hyper_util::rt::{TokioIo, TokioTimer};
use kleber_types::ErrorCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

use crate::ApiError;

/// The bounds of the HTTP server.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Longest time to receive a request's head, counted from when the connection starts
    /// waiting for it (so also the longest idle time of a kept-alive connection).
    pub header_read_timeout: Duration,
    /// Requests handled at once; beyond, `503 ServerBusy`.
    pub max_requests: usize,
    /// Largest request body accepted, in bytes; beyond, `413 PayloadTooLarge`.
    pub max_body_bytes: u64,
    /// Largest upload accepted (`/api/management/v1/uploads`), in bytes.
    pub max_upload_bytes: u64,
    /// Longest wait for running requests to end once shutdown is asked.
    pub shutdown_grace: Duration,
}

/// Default header-read (and idle) timeout.
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;
/// Default bound on concurrent requests.
pub const DEFAULT_MAX_REQUESTS: usize = 512;
/// Default request body limit, in KiB.
pub const DEFAULT_MAX_BODY_KB: u64 = 1024;

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_read_timeout: Duration::from_secs(DEFAULT_HEADER_READ_TIMEOUT_SECS),
            max_requests: DEFAULT_MAX_REQUESTS,
            max_body_bytes: DEFAULT_MAX_BODY_KB << 10,
            max_upload_bytes: kleber_app::uploads::DEFAULT_MAX_UPLOAD_MB << 20,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Seconds a client is asked to wait after a `503 ServerBusy`.
const RETRY_AFTER_SECS: &str = "1";

/// Serves `service` on `listener` with `limits` until `shutdown` completes, then waits (at most
/// `limits.shutdown_grace`) for the running requests.
pub(crate) async fn serve_connections<S>(
    listener: tokio::net::TcpListener,
    service: S,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    S: tower::Service<Request, Response = Response, Error = std::convert::Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let guard = Arc::new(Guard {
        permits: Arc::new(Semaphore::new(limits.max_requests)),
        max_requests: limits.max_requests,
        max_body_bytes: limits.max_body_bytes,
        max_upload_bytes: limits.max_upload_bytes,
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let guard = Arc::clone(&guard);
        let service = service.clone();
        let handler = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
            let guard = Arc::clone(&guard);
            let service = service.clone();
            async move {
                let mut request = request.map(Body::new);
                // The client's address: rate limits of anonymous callers, sign-in throttling.
                request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                Ok::<_, std::convert::Infallible>(guard.handle(request, service).await)
            }
        });
        let connection = builder.serve_connection(TokioIo::new(stream), handler);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // Timeouts, resets and malformed requests: the client's doing, not ours.
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still running at shutdown were cut");
    }
    Ok(())
}

/// The per-request bounds.
struct Guard {
    permits: Arc<Semaphore>,
    max_requests: usize,
    max_body_bytes: u64,
    max_upload_bytes: u64,
}

impl Guard {
    async fn handle<S>(&self, request: Request, service: S) -> Response
    where
        S: tower::Service<Request, Response = Response, Error = std::convert::Infallible>,
    {
        let announced = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let path = request.uri().path();
        // The back office's file forms answer an announced larger body with their own page.
        let page_form = crate::web::backoffice::streams_body(path);
        let (max_body, flag) = if page_form {
            (
                self.max_upload_bytes.saturating_add(crate::web::backoffice::FORM_OVERHEAD),
                "--max-upload-mb",
            )
        } else if crate::api::management::streams_body(path) {
            (self.max_upload_bytes, "--max-upload-mb")
        } else {
            (self.max_body_bytes, "--max-body-kb")
        };
        if !page_form && announced.is_some_and(|n| n > max_body) {
            return refusal(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "The request body is larger than the {max_body} bytes this server accepts ({flag})."
                ),
            ));
        }
        let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            let mut response = refusal(ApiError::new(
                ErrorCode::ServerBusy,
                format!(
                    "The server is handling {} requests, the most it takes at once (--max-requests); retry in a moment.",
                    self.max_requests
                ),
            ));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
            return response;
        };
        let limit = usize::try_from(max_body).unwrap_or(usize::MAX);
        let request = request.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
        let Ok(response) = service.oneshot(request).await;
        response.map(|body| Body::new(PermitBody { inner: body, _permit: permit }))
    }
}

/// An error answered before the router, with the CORS header the router's layers would add.
fn refusal(error: ApiError) -> Response {
    let mut response = error.into_response();
    response
        .headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// A response body that holds its request's slot until it is sent or dropped.
struct PermitBody {
    inner: Body,
    _permit: OwnedSemaphorePermit,
}

impl http_body::Body for PermitBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
