//! Publication events: the one source of "dataset D published version V (previous P)".
//!
//! Every publish path (an import, an upload's publication, a real-time push, a source run, a
//! restore, and `kleber import` run by another process against the same data directory) ends
//! in a catalog transaction that makes a new version current and bumps the catalog's
//! generation. The watcher ([`App::start_publications`], started by `kleber serve` and by
//! [`kleber_server::serve`](../../kleber_server/fn.serve.html)) reads the generation every
//! [`POLL`] (`Store::recent_generation`: from memory unless the catalog may have changed) and,
//! when it moved, compares each dataset's current version with the one it saw last: every
//! dataset whose current version is new becomes one [`Publication`], sent on a tokio broadcast
//! channel. Subscribers ([`App::subscribe_publications`]) are the webhooks, the notifications
//! of followers and the Server-Sent Events streams; derived datasets may subscribe too.
//!
//! What a subscriber may rely on:
//! - one event per version made current, in version order per dataset, seen once per process;
//! - an event is a fact about the catalog, not about a caller: a subscriber that serves a
//!   person checks their right to read the dataset itself (`App::dataset` with their context);
//! - a subscriber that lags more than [`CHANNEL_CAPACITY`] events behind gets
//!   `RecvError::Lagged` and should treat it as "something was missed" (re-read the catalog);
//! - versions published while no server ran are not replayed: the first look only records
//!   where each dataset stands.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::broadcast;

use crate::App;

/// How often the watcher reads the catalog's generation.
pub const POLL: Duration = Duration::from_millis(100);

/// Events a subscriber may be behind before it misses some.
pub const CHANNEL_CAPACITY: usize = 1024;

/// Dataset `dataset_id` published `version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// The dataset's identifier (its slug, as in URLs).
    pub dataset_id: String,
    /// The dataset's immutable uid.
    pub dataset_uid: String,
    /// The dataset's organization.
    pub organization: String,
    /// The version now current.
    pub version: i64,
    /// The version current before it, when the watcher saw one (`None`: a new dataset).
    pub previous: Option<i64>,
    /// When the version was published (RFC 3339).
    pub published_at: String,
}

/// The broadcast channel and whether the watcher runs.
#[derive(Debug)]
pub struct Publications {
    sender: broadcast::Sender<Publication>,
    started: AtomicBool,
    /// Change streams open now, and how many may be.
    streams: Arc<AtomicUsize>,
    max_streams: AtomicUsize,
}

/// Default bound on change streams (Server-Sent Events) open at once.
pub const DEFAULT_MAX_STREAMS: usize = 256;

/// One open change stream's place, given back when dropped.
#[derive(Debug)]
pub struct StreamSlot(Arc<AtomicUsize>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Default for Publications {
    fn default() -> Self {
        Publications {
            sender: broadcast::channel(CHANNEL_CAPACITY).0,
            started: AtomicBool::new(false),
            streams: Arc::new(AtomicUsize::new(0)),
            max_streams: AtomicUsize::new(DEFAULT_MAX_STREAMS),
        }
    }
}

impl App {
    /// A receiver of every publication from now on (see the module for the guarantees).
    pub fn subscribe_publications(&self) -> broadcast::Receiver<Publication> {
        self.publications.sender.subscribe()
    }

    /// Sets how many change streams may be open at once (`--max-change-streams`).
    pub fn set_max_streams(&self, max: usize) {
        self.publications.max_streams.store(max, Ordering::SeqCst);
    }

    /// A place for one more change stream, or `None` when the bound is reached (the slot
    /// is given back when dropped).
    pub fn stream_slot(&self) -> Option<StreamSlot> {
        let max = self.publications.max_streams.load(Ordering::SeqCst);
        let streams = &self.publications.streams;
        streams
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < max).then_some(n + 1))
            .ok()
            .map(|_| StreamSlot(Arc::clone(streams)))
    }

    /// The bound on change streams open at once.
    pub fn max_streams(&self) -> usize {
        self.publications.max_streams.load(Ordering::SeqCst)
    }

    /// Starts the watcher, and the subscribers of this crate (webhook deliveries, followers'
    /// notifications), once per application: later calls return `None`.
    pub fn start_publications(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        if self.publications.started.swap(true, Ordering::SeqCst) {
            return None;
        }
        crate::webhooks::spawn_dispatcher(Arc::clone(self));
        crate::notifications::spawn_recorder(Arc::clone(self));
        let app = Arc::clone(self);
        Some(tokio::spawn(async move { app.watch().await }))
    }

    async fn watch(&self) {
        let mut seen: Option<HashMap<String, i64>> = None;
        let mut generation = None;
        loop {
            let now = self.store.recent_generation().ok();
            if now.is_some() && now != generation {
                match self.on_store(|store| Ok(store.list_datasets()?)).await {
                    Ok(records) => {
                        let mut next = HashMap::with_capacity(records.len());
                        let mut events = Vec::new();
                        for r in records {
                            let before = seen.as_ref().and_then(|s| s.get(&r.uid).copied());
                            let is_new =
                                seen.is_some() && before.is_none_or(|b| r.version.number > b);
                            if is_new {
                                events.push(Publication {
                                    dataset_id: r.id.clone(),
                                    dataset_uid: r.uid.clone(),
                                    organization: r.organization.clone(),
                                    version: r.version.number,
                                    previous: before,
                                    published_at: r.version.created_at.clone(),
                                });
                            }
                            // A dataset taken out of the catalog (unpublished, in the
                            // trash) and back keeps the highest version seen.
                            let keep = before.map_or(r.version.number, |b| b.max(r.version.number));
                            next.insert(r.uid, keep);
                        }
                        if let Some(old) = &seen {
                            for (uid, v) in old {
                                next.entry(uid.clone()).or_insert(*v);
                            }
                        }
                        seen = Some(next);
                        generation = now;
                        events.sort_by(|a, b| a.published_at.cmp(&b.published_at));
                        for event in events {
                            tracing::debug!(dataset = %event.dataset_id, version = event.version, "publication");
                            // No receiver is not an error: nobody listens yet.
                            let _ = self.publications.sender.send(event);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "publications: the catalog could not be read")
                    }
                }
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// A version in the catalog's recent publications, as a caller may see it.
#[derive(Debug, Clone)]
pub struct RecentPublication {
    /// The dataset as the caller sees it (current version, title).
    pub dataset: kleber_store::DatasetRecord,
    /// The version published.
    pub version: i64,
    /// When (RFC 3339).
    pub published_at: String,
}

impl App {
    /// The last `limit` versions published across the datasets `ctx` may read, newest first
    /// (the catalog's Atom feed).
    pub async fn recent_publications(
        &self,
        ctx: &crate::RequestContext,
        limit: usize,
    ) -> Result<Vec<RecentPublication>, crate::Error> {
        let view = self.catalog(ctx).await?;
        // Versions of datasets the caller may not read are skipped: read further back, up
        // to a bound, so a catalog of mostly private datasets still fills the feed.
        let scan = limit.saturating_mul(20).clamp(200, 20_000);
        let recent = self.on_store(move |store| Ok(store.catalog().recent_versions(scan)?)).await?;
        Ok(recent
            .into_iter()
            .filter_map(|r| {
                let dataset = view.record(&r.dataset_id)?.clone();
                Some(RecentPublication {
                    dataset,
                    version: r.version,
                    published_at: r.published_at,
                })
            })
            .take(limit)
            .collect())
    }
}
