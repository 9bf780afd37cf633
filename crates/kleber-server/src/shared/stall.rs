//! A watchdog on response bodies whose client stops reading.
//!
//! hyper polls a body for its next chunk only when the connection can take it. A client that
//! stops reading but keeps its connection open therefore freezes the body where it is: its
//! DataFusion stream (and its share of the memory pool), its spooled file and its slot in the
//! spool budget stay held until the client leaves, which may be never.
//!
//! [`watched`] wraps a body stream: once the stream has handed out a chunk, the consumer has
//! `stall` to ask for the next one. When it does not, a watchdog task drops the inner stream,
//! which releases everything it holds; the next poll, if one ever comes, ends the body with an
//! error, so hyper closes the connection. Time the stream itself spends producing a chunk
//! (spooling a large file before the first byte, a slow query) is not a stall: the clock runs
//! only while a chunk waits for the client.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::Stream;

/// The default time a client has to take the next chunk of an export.
pub const DEFAULT_EXPORT_STALL_SECS: u64 = 60;

type Inner = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// What the body and its watchdog share.
struct Shared {
    /// The body's stream, until it ends or is dropped by the watchdog.
    inner: Option<Inner>,
    /// When the last chunk was handed out, while the consumer has not asked for the next.
    waiting_since: Option<Instant>,
    /// Set by the watchdog when it dropped the stream.
    stalled: bool,
}

/// A body stream that gives up when its consumer takes no chunk for `stall`.
pub struct Watched {
    shared: Arc<Mutex<Shared>>,
}

/// Wraps `stream` so that a consumer which takes no chunk for `stall` makes it drop `stream`
/// (and what it holds). Spawns the watchdog on the current Tokio runtime; it ends with the body.
pub fn watched<S>(stream: S, stall: Duration) -> Watched
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    let shared = Arc::new(Mutex::new(Shared {
        inner: Some(Box::pin(stream)),
        waiting_since: None,
        stalled: false,
    }));
    let weak = Arc::downgrade(&shared);
    // Checked a few times per period, so a stall is noticed within a quarter of `stall` late.
    let tick = (stall / 4).max(Duration::from_millis(10));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(tick).await;
            // The body is gone (sent in full, or the client left): nothing to watch.
            let Some(shared) = weak.upgrade() else { return };
            let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
            if shared.inner.is_none() {
                return;
            }
            if shared.waiting_since.is_some_and(|since| since.elapsed() >= stall) {
                // Dropping the stream outside the lock would be nicer, but it is cheap: the
                // spool file is closed and removed, the query stream freed.
                shared.inner = None;
                shared.stalled = true;
                tracing::warn!(
                    stall_secs = stall.as_secs_f64(),
                    "a client stopped reading an export; its stream and spool file are released"
                );
                return;
            }
        }
    });
    Watched { shared }
}

impl Stream for Watched {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        shared.waiting_since = None;
        if shared.stalled {
            shared.stalled = false;
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client took no data for too long",
            ))));
        }
        let Some(inner) = shared.inner.as_mut() else { return Poll::Ready(None) };
        match inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(item)) => {
                shared.waiting_since = Some(Instant::now());
                Poll::Ready(Some(item))
            }
            Poll::Ready(None) => {
                shared.inner = None;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
