//! Webhooks (docs/feeds.md#webhooks): a URL told of every new version of one dataset, or of
//! every dataset of one organization.
//!
//! - Registered by those who may change what they watch: a dataset's editors (as the
//!   management API decides, `manage::check_manage`) or an organization's admins. The secret
//!   is made here (256 random bits) and shown once, at creation.
//! - Each [`Publication`] becomes one delivery per hook,
//!   queued in the catalog (at most [`WebhookSettings::queue_bound`] pending per hook: older
//!   ones are dropped and say so in the log) and posted by the dispatcher task with
//!   `Content-Type: application/json`, `Kleber-Event`, `Kleber-Delivery` (the delivery's id,
//!   the same on every attempt: a receiver that has seen it knows a replay) and
//!   `Kleber-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
//!   (a receiver refuses a `t` too far from its clock).
//! - A 2xx answer delivers; anything else (status, refused connection, time out) is retried
//!   after `first_retry × 2^(attempt-1)` until `max_attempts`; each attempt is recorded
//!   (status, error, duration).
//! - Server-side request forgery: only `http`/`https` URLs without credentials; every address
//!   the host resolves to must be a public one (not loopback, private, link-local, CGNAT,
//!   multicast, unspecified, documentation) unless the operator allows private targets
//!   (`--webhook-allow-private`; the tests' loopback receivers need it). The check runs at
//!   registration and again at each attempt, and the request goes to the address checked
//!   (no second resolution), without following redirects.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hmac::{Hmac, KeyInit, Mac};
use kleber_store::{Attempt, Delivery, Webhook};
use serde_json::json;
use sha2::Sha256;

use crate::manage::{Editor, check_manage, store_error};
use crate::publications::Publication;
use crate::{App, Error, policy};

/// The event every delivery carries today.
pub const EVENT_VERSION_PUBLISHED: &str = "dataset.version.published";

/// How deliveries are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Whether hooks may target loopback and private addresses (off by default).
    pub allow_private: bool,
    /// Delay before the first retry; each further retry waits twice as long.
    pub first_retry: Duration,
    /// Attempts before a delivery is given up (`failed`).
    pub max_attempts: u32,
    /// Time limit of one attempt (connection, request and answer).
    pub timeout: Duration,
    /// Pending deliveries one hook may hold; beyond, the oldest are dropped.
    pub queue_bound: usize,
    /// Deliveries attempted at once.
    pub concurrency: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            allow_private: false,
            first_retry: Duration::from_secs(10),
            max_attempts: 8,
            timeout: Duration::from_secs(10),
            queue_bound: 1000,
            concurrency: 8,
        }
    }
}

/// The dispatcher's shared state: settings, and a bell rung when deliveries are queued.
#[derive(Debug, Default)]
pub struct Webhooks {
    settings: Mutex<WebhookSettings>,
    bell: tokio::sync::Notify,
}

/// What a hook watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookTarget {
    /// One dataset, by identifier.
    Dataset(String),
    /// Every dataset of an organization, by identifier.
    Organization(String),
}

/// A hook just created, with its secret (shown this once).
#[derive(Debug, Clone)]
pub struct CreatedHook {
    /// The hook.
    pub hook: Webhook,
    /// Its signing secret.
    pub secret: String,
}

fn random_hex<const N: usize>() -> Result<String, Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(Error::internal)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// `t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// Whether an address is one a hook may not reach unless private targets are allowed.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
        }
    }
}

/// Checks a hook's URL (scheme, host, no credentials) and resolves its host; the address
/// to post to. `allow_private`: loopback and private addresses are accepted.
pub async fn check_target(
    url: &str,
    allow_private: bool,
) -> Result<(url::Url, SocketAddr), String> {
    let parsed = url::Url::parse(url)
        .map_err(|e| format!("{url:?} is not a URL ({e}); give e.g. https://example.org/hook"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("{url:?}: a webhook URL is http or https, not {}", parsed.scheme()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "{url:?} holds credentials; authenticate deliveries with the hook's signature instead"
        ));
    }
    let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) else {
        return Err(format!("{url:?} has no host"));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("{url:?}: host {host:?} cannot be resolved ({e})"))?
        .collect();
    let Some(first) = addrs.first().copied() else {
        return Err(format!("{url:?}: host {host:?} has no address"));
    };
    if !allow_private && let Some(bad) = addrs.iter().find(|a| is_private(a.ip())) {
        return Err(format!(
            "{url:?}: host {host:?} resolves to {}, a loopback or private address; webhooks reach public addresses only (the operator may allow private ones with --webhook-allow-private)",
            bad.ip()
        ));
    }
    Ok((parsed, first))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl App {
    /// The webhook settings in force.
    pub fn webhook_settings(&self) -> WebhookSettings {
        *self.webhooks.settings.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sets how deliveries are made (the server's flags; tests shorten the retries).
    pub fn set_webhook_settings(&self, settings: WebhookSettings) {
        *self.webhooks.settings.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            settings;
    }

    fn may_manage_hook(&self, editor: &Editor, hook: &Webhook) -> Result<(), Error> {
        match &hook.dataset_id {
            Some(id) => {
                let d = self.store.catalog().managed_dataset(id).map_err(store_error)?;
                let d = d.ok_or_else(|| Error::NotFound(format!("No webhook {}.", hook.id)))?;
                check_manage(editor, &d)
            }
            None if policy::may_admin(editor.principal(), &hook.org_id) => Ok(()),
            None => Err(Error::Forbidden(format!(
                "Webhooks of organization {:?} are managed by its admins.",
                hook.org_id
            ))),
        }
    }

    /// Whether `editor` may register and see hooks on `target`: a dataset's managers, an
    /// organization's admins (an unknown organization is `NotFound`).
    async fn may_hook(&self, editor: &Editor, target: &HookTarget) -> Result<(), Error> {
        match target {
            HookTarget::Dataset(id) => {
                let (editor, id) = (editor.clone(), id.clone());
                self.on_store(move |store| {
                    crate::manage::managed_for(store, &editor, &id).map(drop)
                })
                .await
            }
            HookTarget::Organization(org) => {
                if !policy::may_admin(editor.principal(), org) {
                    return Err(Error::Forbidden(format!(
                        "Webhooks of organization {org:?} are registered by its admins; an editor registers a hook on a dataset instead."
                    )));
                }
                let id = org.clone();
                let found = self.on_store(move |store| Ok(store.catalog().get_org(&id)?)).await?;
                found.map(drop).ok_or_else(|| Error::NotFound(format!("No organization {org:?}.")))
            }
        }
    }

    /// The hooks on `target` (a dataset's own, or an organization's), newest first, each with
    /// its last delivery, for those who may register hooks on it (the back office's page).
    pub async fn webhooks_of(
        &self,
        editor: &Editor,
        target: &HookTarget,
    ) -> Result<Vec<(Webhook, Option<Delivery>)>, Error> {
        self.may_hook(editor, target).await?;
        let target = target.clone();
        self.on_store(move |store| {
            let mut found = Vec::new();
            for hook in store.catalog().webhooks()? {
                let on_target = match &target {
                    HookTarget::Dataset(id) => hook.dataset_id.as_deref() == Some(id.as_str()),
                    HookTarget::Organization(org) => {
                        hook.dataset_id.is_none() && hook.org_id == *org
                    }
                };
                if on_target {
                    let last = store.catalog().deliveries(hook.id, 1)?.into_iter().next();
                    found.push((hook, last.map(|(d, _)| d)));
                }
            }
            Ok(found)
        })
        .await
    }

    /// Registers a hook on `target` posting to `url`; its secret is in the answer only.
    pub async fn create_webhook(
        &self,
        editor: &Editor,
        target: HookTarget,
        url: &str,
    ) -> Result<CreatedHook, Error> {
        self.may_hook(editor, &target).await?;
        let allow = self.webhook_settings().allow_private;
        check_target(url, allow).await.map_err(Error::InvalidBody)?;
        let secret = format!("whsec_{}", random_hex::<32>()?);
        let (editor, url2, secret2) = (editor.clone(), url.to_owned(), secret.clone());
        let hook = self
            .on_store(move |store| {
                let (d, o) = match &target {
                    HookTarget::Dataset(d) => (Some(d.as_str()), None),
                    HookTarget::Organization(o) => (None, Some(o.as_str())),
                };
                store
                    .catalog()
                    .create_webhook(editor.actor(), d, o, &url2, &secret2)
                    .map_err(store_error)
            })
            .await?;
        Ok(CreatedHook { hook, secret })
    }

    /// The hooks `editor` may manage, newest first.
    pub async fn list_webhooks(&self, editor: &Editor) -> Result<Vec<Webhook>, Error> {
        let hooks = self.on_store(|store| Ok(store.catalog().webhooks()?)).await?;
        Ok(hooks.into_iter().filter(|h| self.may_manage_hook(editor, h).is_ok()).collect())
    }

    /// Hook `id`, if `editor` may manage it (else `NotFound` or `Forbidden`).
    pub async fn webhook(&self, editor: &Editor, id: i64) -> Result<Webhook, Error> {
        let hook = self.on_store(move |store| Ok(store.catalog().webhook(id)?)).await?;
        let hook = hook.ok_or_else(|| Error::NotFound(format!("No webhook {id}.")))?;
        match self.may_manage_hook(editor, &hook) {
            Ok(()) => Ok(hook),
            // A hook of a dataset one may not read does not exist for one.
            Err(Error::DatasetNotFound(_)) => Err(Error::NotFound(format!("No webhook {id}."))),
            Err(e) => Err(e),
        }
    }

    /// Deletes hook `id` and its delivery log.
    pub async fn delete_webhook(&self, editor: &Editor, id: i64) -> Result<(), Error> {
        self.webhook(editor, id).await?;
        let actor = editor.actor().clone();
        self.on_store(move |store| Ok(store.catalog().delete_webhook(&actor, id)?)).await?;
        Ok(())
    }

    /// Hook `id`'s last `limit` deliveries with their attempts, newest first.
    pub async fn webhook_deliveries(
        &self,
        editor: &Editor,
        id: i64,
        limit: usize,
    ) -> Result<Vec<(Delivery, Vec<Attempt>)>, Error> {
        self.webhook(editor, id).await?;
        self.on_store(move |store| Ok(store.catalog().deliveries(id, limit)?)).await
    }

    /// Queues one delivery of `event` per hook watching its dataset.
    async fn enqueue_publication(&self, event: &Publication) -> Result<usize, Error> {
        let (uid, org) = (event.dataset_uid.clone(), event.organization.clone());
        let hooks =
            self.on_store(move |store| Ok(store.catalog().webhooks_for(&uid, &org)?)).await?;
        if hooks.is_empty() {
            return Ok(0);
        }
        let summary = self.version_summary_of(event).await;
        let bound = self.webhook_settings().queue_bound;
        for hook in &hooks {
            let id = format!("dl_{}", random_hex::<16>()?);
            let body = json!({
                "event": EVENT_VERSION_PUBLISHED,
                "delivery_id": id,
                "webhook_id": hook.id,
                "dataset_id": event.dataset_id,
                "dataset_uid": event.dataset_uid,
                "organization": event.organization,
                "version": event.version,
                "previous_version": event.previous,
                "published_at": event.published_at,
                "summary": summary,
                "links": {
                    "dataset": format!("/api/explore/v2.1/catalog/datasets/{}", event.dataset_id),
                    "version": format!("/api/explore/v2.1/catalog/datasets/{}/records?version={}", event.dataset_id, event.version),
                    "changes": event.previous.map(|p| format!("/api/explore/v2.1/catalog/datasets/{}/changes?from={p}&to={}", event.dataset_id, event.version)),
                },
            })
            .to_string();
            let hook_id = hook.id;
            self.on_store(move |store| {
                Ok(store.catalog().enqueue_delivery(hook_id, &id, &body, now_ms(), bound)?)
            })
            .await?;
        }
        self.webhooks.bell.notify_one();
        Ok(hooks.len())
    }

    /// The change summary of the event's version (records added, removed, changed), when it
    /// can be computed.
    pub(crate) async fn version_summary_of(&self, event: &Publication) -> serde_json::Value {
        match self.summarized_versions(&event.dataset_uid, &event.dataset_id, true).await {
            Ok(infos) => infos
                .iter()
                .find(|i| i.number == event.version)
                .and_then(|i| i.summary)
                .map_or(serde_json::Value::Null, |s| {
                    json!({"previous_version": s.previous, "records_added": s.added,
                           "records_removed": s.removed, "records_changed": s.changed})
                }),
            Err(e) => {
                tracing::warn!(dataset = %event.dataset_id, error = %e, "webhooks: no summary");
                serde_json::Value::Null
            }
        }
    }

    /// Makes one attempt of `delivery` and records it.
    async fn attempt(&self, delivery: Delivery, client: &reqwest::Client) {
        let settings = self.webhook_settings();
        let n = delivery.attempts + 1;
        let started = Instant::now();
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let hook_id = delivery.hook_id;
        let hook = self.on_store(move |store| Ok(store.catalog().webhook(hook_id)?)).await;
        let outcome: Result<u16, (Option<u16>, String)> = match hook {
            Ok(Some(hook)) => post(&hook, &delivery, n, settings, client).await,
            Ok(None) => return,
            Err(e) => Err((None, format!("the hook could not be read: {e}"))),
        };
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (status, error) = match outcome {
            Ok(status) => (Some(i64::from(status)), None),
            Err((status, error)) => (status.map(i64::from), Some(error)),
        };
        let (state, next) = if error.is_none() {
            ("delivered", 0)
        } else if n >= i64::from(settings.max_attempts) {
            ("failed", 0)
        } else {
            let exp = u32::try_from(n - 1).unwrap_or(u32::MAX).min(16);
            let wait = settings.first_retry.saturating_mul(1 << exp).min(Duration::from_secs(3600));
            ("pending", now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX))
        };
        let attempt =
            Attempt { delivery_id: delivery.id.clone(), n, at, status, error, duration_ms };
        let recorded = self
            .on_store(move |store| Ok(store.catalog().record_attempt(&attempt, state, next)?))
            .await;
        if let Err(e) = recorded {
            tracing::warn!(delivery = %delivery.id, error = %e, "webhooks: attempt not recorded");
        }
    }

    async fn dispatch(self: Arc<Self>) {
        let client = match reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Kleber-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "webhooks: no HTTP client; deliveries are not sent");
                return;
            }
        };
        loop {
            let settings = self.webhook_settings();
            let now = now_ms();
            let batch = self
                .on_store(move |store| {
                    Ok(store.catalog().due_deliveries(now, settings.concurrency)?)
                })
                .await;
            let wait = match batch {
                Ok((due, next)) if !due.is_empty() => {
                    futures::stream::iter(due)
                        .for_each_concurrent(settings.concurrency.max(1), |d| {
                            self.attempt(d, &client)
                        })
                        .await;
                    let _ = next;
                    continue;
                }
                Ok((_, Some(next))) => {
                    Duration::from_millis(u64::try_from(next - now).unwrap_or(0))
                }
                Ok((_, None)) => Duration::from_secs(1),
                Err(e) => {
                    tracing::warn!(error = %e, "webhooks: the queue could not be read");
                    Duration::from_secs(1)
                }
            };
            let _ = tokio::time::timeout(
                wait.min(Duration::from_secs(1)),
                self.webhooks.bell.notified(),
            )
            .await;
        }
    }
}

/// Posts `delivery` to `hook` (attempt `n`): the status of a 2xx answer, or the status (if
/// any) and what went wrong.
async fn post(
    hook: &Webhook,
    delivery: &Delivery,
    n: i64,
    settings: WebhookSettings,
    client: &reqwest::Client,
) -> Result<u16, (Option<u16>, String)> {
    let (url, addr) =
        check_target(&hook.url, settings.allow_private).await.map_err(|e| (None, e))?;
    let t = chrono::Utc::now().timestamp();
    let body = delivery.body.clone().into_bytes();
    let mut request = client
        .post(url.clone())
        .timeout(settings.timeout)
        .header("content-type", "application/json")
        .header("kleber-event", EVENT_VERSION_PUBLISHED)
        .header("kleber-delivery", &delivery.id)
        .header("kleber-attempt", n.to_string())
        .header("kleber-signature", signature(&hook.secret, t, &body))
        .body(body);
    // Post to the address checked, not to a second resolution of the name (DNS rebinding):
    // a literal IP needs nothing, a name is pinned through a one-off client.
    let pinned;
    if url.host().is_some_and(|h| matches!(h, url::Host::Domain(_))) {
        let host = url.host_str().unwrap_or_default().to_owned();
        pinned = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .resolve(&host, addr)
            .build()
            .map_err(|e| (None, e.to_string()))?;
        let built = request.build().map_err(|e| (None, e.to_string()))?;
        request = reqwest::RequestBuilder::from_parts(pinned.clone(), built);
    }
    match request.send().await {
        Ok(answer) if answer.status().is_success() => Ok(answer.status().as_u16()),
        Ok(answer) => {
            let status = answer.status().as_u16();
            Err((Some(status), format!("the receiver answered {status}")))
        }
        Err(e) if e.is_timeout() => {
            Err((None, format!("no answer within {} s", settings.timeout.as_secs_f64())))
        }
        Err(e) => Err((None, format!("{e}"))),
    }
}

/// Starts the dispatcher: queues a delivery per hook for each publication, and posts them.
pub(crate) fn spawn_dispatcher(app: Arc<App>) {
    let mut events = app.subscribe_publications();
    let queuer = Arc::clone(&app);
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Err(e) = queuer.enqueue_publication(&event).await {
                        tracing::warn!(dataset = %event.dataset_id, error = %e, "webhooks: not queued");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "webhooks: publications missed (too many at once)");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    tokio::spawn(app.dispatch());
}
