//! `GET /catalog/datasets/{id}/changes/stream`: a dataset's new versions as Server-Sent
//! Events (docs/feeds.md#server-sent-events).
//!
//! For each version published after the client connected: one `version` event (`{"dataset_id",
//! "version", "previous_version", "published_at", "records_added", "records_removed",
//! "records_changed"}`), then one `change` event per record added, removed or changed (the rows
//! of `/changes?from=previous&to=version`, as the caller may see them, with the id
//! `<version>:<n>`), then `version_end`. A comment line every [`KEEP_ALIVE`] keeps proxies from
//! closing an idle stream.
//!
//! `timeout=N` ends the stream after N seconds (a client that polls; `timeout=0` only checks
//! access).
//!
//! Bounds: at most `--max-change-streams` streams open at once (`503 ServerBusy` beyond);
//! each client has a buffer of [`BUFFER`] events: a client that leaves it full for
//! [`STALL`] is dropped with a final `dropped` event, so a slow reader never makes the server
//! hold more. Access: the dataset is resolved for the caller like every dataset route (a
//! private one needs the right, else `404 DatasetNotFound`), and again for each version (a
//! caller who lost the right gets an `error` event and the stream ends).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{FutureExt, StreamExt};
use kleber_app::changes::ChangesRequest;
use kleber_app::publications::Publication;
use kleber_app::{App, RequestContext};
use kleber_types::ErrorCode;
use serde_json::json;
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::http::resolve::Caller;
use crate::shared::params::Params;
use crate::state::AppState;

/// Events one client's buffer holds.
pub const BUFFER: usize = 256;
/// How long a full buffer may stay full before its client is dropped.
pub const STALL: Duration = Duration::from_secs(10);
/// The longest `timeout` a client may ask for, in seconds.
pub const MAX_TIMEOUT: u64 = 86_400;
/// Interval of the keep-alive comments.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `GET /catalog/datasets/{id}/changes/stream`.
#[utoipa::path(get, path = "/api/explore/v2.1/catalog/datasets/{dataset_id}/changes/stream", tag = "Explore v2.1",
    params(("dataset_id" = String, Path, description = "Dataset identifier"),
        ("timeout" = Option<u64>, Query, description = "End the stream after this many seconds (0 to 86400; default: never)")),
    responses((status = 200, description = "Server-Sent Events: `version`, one `change` per record added, removed or changed, `version_end` for each new version; `dropped` before a slow client is disconnected", content_type = "text/event-stream"),
              (status = 404, description = "Unknown dataset", body = crate::api::management::ErrorBody, content_type = "application/json"),
              (status = 503, description = "Too many streams open (ServerBusy)", body = crate::api::management::ErrorBody, content_type = "application/json")))]
pub async fn changes_stream(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let timeout = match params.int("timeout")? {
        None => None,
        Some(n) => Some(u64::try_from(n).ok().filter(|n| *n <= MAX_TIMEOUT).ok_or_else(|| {
            ApiError::bad_param(format!(
                "Invalid value for timeout API parameter: {n} was found but 0 <= timeout <= {MAX_TIMEOUT} (seconds) is expected."
            ))
        })?),
    };
    let ctx = caller.context();
    // Subscribe before resolving: no version published in between is missed.
    let events = state.app.subscribe_publications();
    let dataset = state.app.dataset(&ctx, &id).await?;
    let Some(slot) = state.app.stream_slot() else {
        return Err(ApiError::new(
            ErrorCode::ServerBusy,
            format!(
                "Too many change streams are open ({} at most, --max-change-streams); retry later.",
                state.app.max_streams()
            ),
        ));
    };
    let (tx, rx) = mpsc::channel::<Event>(BUFFER);
    let dropped = Arc::new(AtomicBool::new(false));
    let producer = tokio::spawn(produce(
        Arc::clone(&state.app),
        ctx,
        dataset.id().to_owned(),
        dataset.uid().to_owned(),
        events,
        tx,
        Arc::clone(&dropped),
    ));
    // The stream's end (client gone or dropped) stops the producer and frees the slot.
    let guard = StreamGuard { producer, _slot: slot };
    let stream = futures::stream::unfold(
        (rx, dropped, Some(guard)),
        |(mut rx, dropped, guard)| async move {
            guard.as_ref()?;
            match rx.recv().await {
                Some(event) => Some((Ok::<_, Infallible>(event), (rx, dropped, guard))),
                None if dropped.load(Ordering::SeqCst) => {
                    let last = Event::default().event("dropped").data(
                        json!({"message": "this client read too slowly and is disconnected; reconnect and read the missed versions with /changes"}).to_string(),
                    );
                    Some((Ok(last), (rx, dropped, None)))
                }
                None => None,
            }
        },
    );
    // `timeout=N`: the stream ends after N seconds (clients that poll, tests).
    let until = match timeout {
        Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).boxed(),
        None => futures::future::pending().boxed(),
    };
    let stream = stream.take_until(until);
    let response =
        Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response();
    // A client that stops reading while staying connected freezes the body where it is:
    // the export watchdog drops it after STALL, which frees the slot and ends the producer.
    let (mut parts, body) = response.into_parts();
    let data = body.into_data_stream().map(|r| r.map_err(std::io::Error::other));
    let body = axum::body::Body::from_stream(crate::shared::stall::watched(data, STALL));
    let headers = &mut parts.headers;
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(Response::from_parts(parts, body))
}

/// Ends the producer when the response stream is dropped.
struct StreamGuard {
    producer: tokio::task::JoinHandle<()>,
    _slot: kleber_app::publications::StreamSlot,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.producer.abort();
    }
}

/// Sends `event` unless the client leaves its buffer full for [`STALL`]; whether to go on.
async fn send(tx: &mpsc::Sender<Event>, event: Event, dropped: &AtomicBool) -> bool {
    match tx.send_timeout(event, STALL).await {
        Ok(()) => true,
        Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
            dropped.store(true, Ordering::SeqCst);
            false
        }
        Err(mpsc::error::SendTimeoutError::Closed(_)) => false,
    }
}

fn error_event(message: &str) -> Event {
    Event::default().event("error").data(json!({"message": message}).to_string())
}

async fn produce(
    app: Arc<App>,
    ctx: RequestContext,
    id: String,
    uid: String,
    mut events: tokio::sync::broadcast::Receiver<Publication>,
    tx: mpsc::Sender<Event>,
    dropped: Arc<AtomicBool>,
) {
    loop {
        let event = match events.recv().await {
            Ok(event) if event.dataset_uid == uid => event,
            Ok(_) => continue,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                let _ = send(
                    &tx,
                    error_event(
                        "versions were missed (the server was too busy); read them with /changes",
                    ),
                    &dropped,
                )
                .await;
                continue;
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        if !send_version(&app, &ctx, &id, &event, &tx, &dropped).await {
            return;
        }
    }
}

/// Sends one version's events; whether the stream goes on.
async fn send_version(
    app: &App,
    ctx: &RequestContext,
    id: &str,
    event: &Publication,
    tx: &mpsc::Sender<Event>,
    dropped: &AtomicBool,
) -> bool {
    let dataset = match app.dataset(ctx, id).await {
        Ok(d) => d,
        Err(e) => {
            let _ = send(tx, error_event(&e.to_string()), dropped).await;
            return false;
        }
    };
    let v = event.version;
    let Some(previous) = event.previous else {
        let data = json!({"dataset_id": id, "version": v, "previous_version": null,
                          "published_at": event.published_at});
        return send(
            tx,
            Event::default().event("version").id(v.to_string()).data(data.to_string()),
            dropped,
        )
        .await;
    };
    let request = ChangesRequest {
        from: Some(previous.to_string()),
        to: Some(v.to_string()),
        offset: 0,
        limit: None,
    };
    let mut changes = match app.changes(&dataset, &request).await {
        Ok(c) => c,
        Err(e) => {
            return send(
                tx,
                error_event(&format!("the changes of version {v} could not be read: {e}")),
                dropped,
            )
            .await;
        }
    };
    let c = changes.counts;
    let head = json!({"dataset_id": id, "version": v, "previous_version": previous,
                      "published_at": event.published_at, "records_added": c.added,
                      "records_removed": c.removed, "records_changed": c.changed});
    if !send(
        tx,
        Event::default().event("version").id(v.to_string()).data(head.to_string()),
        dropped,
    )
    .await
    {
        return false;
    }
    let mut n = 0u64;
    while let Some(batch) = changes.rows.next().await {
        let rows = match batch
            .map_err(|e| e.to_string())
            .and_then(|b| changes.decode(&b).map_err(|e| e.to_string()))
        {
            Ok(rows) => rows,
            Err(e) => {
                return send(
                    tx,
                    error_event(&format!("the changes of version {v} could not be read: {e}")),
                    dropped,
                )
                .await;
            }
        };
        for row in rows {
            n += 1;
            let event = Event::default()
                .event("change")
                .id(format!("{v}:{n}"))
                .data(row.to_json().to_string());
            if !send(tx, event, dropped).await {
                return false;
            }
        }
    }
    let end = json!({"version": v, "changes": n});
    send(tx, Event::default().event("version_end").data(end.to_string()), dropped).await
}
