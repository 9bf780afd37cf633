//! Remote sources: a dataset's data fetched from one or more URLs (concatenated), by hand or
//! on a schedule ([`crate::schedule`]), through the one import pipeline
//! ([`crate::import::read_into`], [`crate::import::publish_read`]).
//!
//! - **Fetching** ([`fetch`], reusable by harvesters): HTTP or HTTPS (rustls), custom headers,
//!   a conditional request with the ETag and Last-Modified of the last fetch (`304 Not
//!   Modified`: nothing to read), a size limit checked on `Content-Length` and while the body
//!   streams to disk, and a time limit over the whole exchange.
//! - **Secrets**: header values (credentials) are encrypted at rest with XChaCha20-Poly1305
//!   under a key kept in `<data dir>/sources.key` (32 random bytes, created `0600`), bound to
//!   the dataset's uid; the catalog holds only the ciphertext, and nothing ever shows a value
//!   back (the API and the CLI list header names).
//! - **Runs**: every run is recorded (`kleber_store::sources`): `published` (a new version),
//!   `unchanged` (every URL answered 304, or the bytes are those of the last run: nothing is
//!   published), or `failed` (an HTTP error, a timeout, a file too large or unreadable: the
//!   current version stays and the dataset is marked failing until a run succeeds).
//!
//! Several URLs are read one by one; the first decides the fields and their types, the next
//! ones are read with those types forced (a value that does not fit rejects its row, as with
//! `kleber import --type`) and appended; a field the first lacks is an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use futures::StreamExt;
use kleber_ingest::ImportOptions;
use kleber_store::{Actor, RunEnd, SourceRecord, SourceRun, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::import::{ImportAccess, SchemaEdit};
use crate::manage::{Editor, managed_for, store_error};
use crate::{App, Error};

/// Default largest file a source may send, in MiB.
pub const DEFAULT_MAX_SOURCE_MB: u64 = 512;
/// Default time a fetch may take, whole body included, in seconds.
pub const DEFAULT_SOURCE_TIMEOUT_SECS: u64 = 120;
/// URLs one source may have.
pub const MAX_URLS: usize = 20;
/// Headers one source may have.
pub const MAX_HEADERS: usize = 20;
/// Runs listed by [`App::source_runs`] at most.
pub const MAX_RUNS_LISTED: usize = 200;
/// The key file, in the data directory.
pub const KEY_FILE: &str = "sources.key";

/// The bounds of a fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    /// Largest body accepted, in bytes.
    pub max_bytes: u64,
    /// Longest time the whole exchange may take (connection, headers, body).
    pub timeout: Duration,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            max_bytes: DEFAULT_MAX_SOURCE_MB << 20,
            timeout: Duration::from_secs(DEFAULT_SOURCE_TIMEOUT_SECS),
        }
    }
}

/// What a server said of a file, to ask it again conditionally.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    /// The `ETag` answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The `Last-Modified` answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

/// What a fetch got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// `304 Not Modified`: the file is the one the validators describe.
    NotModified,
    /// The body, written to the destination file.
    Body {
        /// Its size.
        bytes: u64,
        /// Its SHA-256 digest.
        sha256: [u8; 32],
        /// The validators to send next time.
        validators: Validators,
    },
}

/// Why a fetch failed; each message names the URL and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The server answered an error status.
    #[error("{url} answered HTTP {status}; the file was not read")]
    Status {
        /// The URL.
        url: String,
        /// The status line.
        status: String,
    },
    /// The body is over the size limit.
    #[error(
        "{url} sends more than the limit of {limit} bytes; raise the source's max_mb if the file is expected to be that large"
    )]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// The exchange took longer than the time limit.
    #[error(
        "{url} did not send the whole file within {seconds} s; raise the source's timeout_secs if it is slow"
    )]
    Timeout {
        /// The URL.
        url: String,
        /// The limit.
        seconds: u64,
    },
    /// The connection failed.
    #[error("cannot fetch {url}: {message}")]
    Http {
        /// The URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// Writing the file failed.
    #[error("cannot write the file fetched from {url}: {message}")]
    Io {
        /// The URL.
        url: String,
        /// What failed.
        message: String,
    },
}

/// A client for sources: rustls, redirects followed (up to 10), no cookies.
pub fn http_client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .user_agent(concat!("Kleber/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(Error::internal)
}

/// Fetches `url` into `dest` with `headers`, conditionally when `previous` validators are
/// given, within `limits`. Nothing is left at `dest` on error or on `304`.
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    headers: &[(String, String)],
    previous: Option<&Validators>,
    limits: &FetchLimits,
    dest: &Path,
) -> Result<Fetched, FetchError> {
    let seconds = limits.timeout.as_secs();
    let exchange = fetch_unbounded(client, url, headers, previous, limits.max_bytes, dest);
    let result = match tokio::time::timeout(limits.timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(FetchError::Timeout { url: url.to_owned(), seconds }),
    };
    if !matches!(result, Ok(Fetched::Body { .. })) {
        let _ = std::fs::remove_file(dest);
    }
    result
}

async fn fetch_unbounded(
    client: &reqwest::Client,
    url: &str,
    headers: &[(String, String)],
    previous: Option<&Validators>,
    max_bytes: u64,
    dest: &Path,
) -> Result<Fetched, FetchError> {
    let http = |e: reqwest::Error| FetchError::Http { url: url.to_owned(), message: cause(&e) };
    let io = |e: std::io::Error| FetchError::Io { url: url.to_owned(), message: e.to_string() };
    let mut request = client.get(url);
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(v) = previous {
        if let Some(etag) = &v.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag.as_str());
        }
        if let Some(date) = &v.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, date.as_str());
        }
    }
    let response = request.send().await.map_err(http)?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED && previous.is_some() {
        return Ok(Fetched::NotModified);
    }
    if !status.is_success() {
        return Err(FetchError::Status { url: url.to_owned(), status: status.to_string() });
    }
    let too_large = || FetchError::TooLarge { url: url.to_owned(), limit: max_bytes };
    if response.content_length().is_some_and(|n| n > max_bytes) {
        return Err(too_large());
    }
    let header = |name: reqwest::header::HeaderName| {
        response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    };
    let validators = Validators {
        etag: header(reqwest::header::ETAG),
        last_modified: header(reqwest::header::LAST_MODIFIED),
    };
    let mut file = tokio::fs::File::create(dest).await.map_err(io)?;
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(http)?;
        bytes += chunk.len() as u64;
        if bytes > max_bytes {
            return Err(too_large());
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    file.sync_all().await.map_err(io)?;
    Ok(Fetched::Body { bytes, sha256: hasher.finalize().into(), validators })
}

/// The innermost cause of a client error (reqwest's own message is "error sending request").
fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    message
}

/// A source as given by a publisher (API body, CLI flags).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// The URLs, read in this order and concatenated.
    pub urls: Vec<String>,
    /// Headers sent with every request (credentials included): stored encrypted, never shown
    /// back. `None` keeps the headers stored before (so a schedule can be changed without
    /// giving the secrets again); an empty map removes them.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// A cron expression (5 fields, minute first) in the portal's time zone, or none.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Fields whose values identify a record (record ids stay across refreshes).
    #[serde(default)]
    pub unique_id: Vec<String>,
    /// The largest file accepted, in MiB (default: the server's).
    #[serde(default)]
    pub max_mb: Option<u64>,
    /// The longest a fetch may take, in seconds (default: the server's).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

/// What is stored of a source, in clear (no header value).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceConfig {
    /// The URLs.
    pub urls: Vec<String>,
    /// The names of the headers sent.
    #[serde(default)]
    pub header_names: Vec<String>,
    /// Unique-id fields.
    #[serde(default)]
    pub unique_id: Vec<String>,
    /// Size limit, MiB.
    #[serde(default)]
    pub max_mb: Option<u64>,
    /// Time limit, seconds.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

/// What the catalog remembers of the last fetch: validators per URL and the digest of what
/// was last read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Remembered {
    #[serde(default)]
    urls: BTreeMap<String, Validators>,
    /// SHA-256 of each URL's file as last read.
    #[serde(default)]
    files: BTreeMap<String, String>,
    /// SHA-256 of the configuration and the files last published.
    #[serde(default)]
    digest: Option<String>,
}

impl Remembered {
    /// The digest of `config` over the files of `urls` as remembered, if every one is.
    fn digest_of(&self, config: &str, urls: &[String]) -> Option<String> {
        let mut hasher = Sha256::new();
        hasher.update(config.as_bytes());
        for url in urls {
            hasher.update(self.files.get(url)?.as_bytes());
        }
        Some(hex::encode(hasher.finalize()))
    }
}

/// A source as shown (header names only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceView {
    /// The dataset.
    pub dataset_id: String,
    /// The URLs.
    pub urls: Vec<String>,
    /// The names of the headers sent (their values are stored encrypted and never shown).
    pub header_names: Vec<String>,
    /// The cron schedule.
    pub schedule: Option<String>,
    /// The time zone of the schedule.
    pub timezone: String,
    /// The next scheduled run (RFC 3339, UTC), if scheduled.
    pub next_run: Option<String>,
    /// When the scheduler last started a run.
    pub last_scheduled_run: Option<String>,
    /// Unique-id fields.
    pub unique_id: Vec<String>,
    /// Size limit, MiB.
    pub max_mb: u64,
    /// Time limit, seconds.
    pub timeout_secs: u64,
    /// Whether the last run failed (the current version stayed).
    pub failing: bool,
    /// When it was set.
    pub updated_at: String,
}

/// A run as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunView {
    /// Its number.
    pub id: i64,
    /// `schedule` or `manual`.
    pub trigger: String,
    /// Start (RFC 3339).
    pub started_at: String,
    /// End.
    pub ended_at: Option<String>,
    /// `running`, `published`, `unchanged`, `failed`.
    pub outcome: String,
    /// Records of the version published.
    pub records: Option<i64>,
    /// Rows rejected.
    pub rejected: Option<i64>,
    /// The version published.
    pub version: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
}

impl From<SourceRun> for RunView {
    fn from(r: SourceRun) -> Self {
        RunView {
            id: r.id,
            trigger: r.trigger,
            started_at: r.started_at,
            ended_at: r.ended_at,
            outcome: r.outcome,
            records: r.records,
            rejected: r.rejected,
            version: r.version,
            error: r.error,
        }
    }
}

/// The dataset's refresh state, shown in its management JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefreshState {
    /// Whether the last run failed (the version served is older than the source).
    pub failing: bool,
    /// The cron schedule.
    pub schedule: Option<String>,
    /// The next scheduled run.
    pub next_run: Option<String>,
    /// The last run.
    pub last_run: Option<RunView>,
}

/// Server-wide settings of sources.
#[derive(Debug, Clone, Copy)]
pub struct SourceSettings {
    /// The time zone schedules are read in.
    pub timezone: chrono_tz::Tz,
    /// Default bounds of a fetch.
    pub limits: FetchLimits,
}

impl Default for SourceSettings {
    fn default() -> Self {
        SourceSettings { timezone: chrono_tz::Europe::Paris, limits: FetchLimits::default() }
    }
}

/// The sources' share of the [`App`]: settings, the HTTP client, runs in progress.
#[derive(Default)]
pub struct Sources {
    settings: std::sync::Mutex<SourceSettings>,
    client: std::sync::OnceLock<reqwest::Client>,
    running: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Sources {
    pub(crate) fn settings(&self) -> SourceSettings {
        *self.settings.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn client(&self) -> Result<reqwest::Client, Error> {
        if let Some(c) = self.client.get() {
            return Ok(c.clone());
        }
        let c = http_client()?;
        Ok(self.client.get_or_init(|| c).clone())
    }

    /// Marks `uid` as running; false when it already is.
    pub(crate) fn begin(&self, uid: &str) -> bool {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(uid.to_owned())
    }

    pub(crate) fn end(&self, uid: &str) {
        self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(uid);
    }
}

/// Checks a URL: absolute, http or https, a host, no credentials in it.
pub fn check_url(url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        format!("{url:?} is not a URL ({e}); give e.g. https://example.org/data.csv")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "{url:?}: only http and https sources are read, not {}",
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("{url:?} has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "{url:?} holds credentials, which would be stored in clear: send them in a header instead (e.g. Authorization: Basic ...), which is stored encrypted"
        ));
    }
    Ok(parsed)
}

/// Checks a header's name and value.
pub fn check_header(name: &str, value: &str) -> Result<(), String> {
    reqwest::header::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("{name:?} is not a valid HTTP header name"))?;
    reqwest::header::HeaderValue::from_str(value).map_err(|_| {
        format!("the value of header {name:?} holds characters HTTP does not allow")
    })?;
    Ok(())
}

/// Parses a `'Name: value'` header as the CLI takes it.
pub fn parse_header_arg(arg: &str) -> Result<(String, String), String> {
    let Some((name, value)) = arg.split_once(':') else {
        return Err(format!(
            "--header {arg:?}: expected 'Name: value', e.g. 'Authorization: Bearer abc'"
        ));
    };
    let (name, value) = (name.trim(), value.trim());
    check_header(name, value).map_err(|e| format!("--header {arg:?}: {e}"))?;
    Ok((name.to_owned(), value.to_owned()))
}

impl SourceSpec {
    /// Checks everything that can be checked without fetching; the message says what to fix.
    pub fn check(&self) -> Result<(), String> {
        if self.urls.is_empty() {
            return Err("a source needs at least one URL (\"urls\": [\"https://...\"])".to_owned());
        }
        if self.urls.len() > MAX_URLS {
            return Err(format!("a source has at most {MAX_URLS} URLs, not {}", self.urls.len()));
        }
        for url in &self.urls {
            check_url(url)?;
        }
        if let Some(headers) = &self.headers {
            if headers.len() > MAX_HEADERS {
                return Err(format!("a source sends at most {MAX_HEADERS} headers"));
            }
            for (name, value) in headers {
                check_header(name, value)?;
            }
        }
        if let Some(s) = &self.schedule {
            crate::schedule::parse_schedule(s)?;
        }
        if self.max_mb == Some(0) {
            return Err("max_mb must be at least 1".to_owned());
        }
        if self.timeout_secs == Some(0) {
            return Err("timeout_secs must be at least 1".to_owned());
        }
        Ok(())
    }
}

/// The key of `store`'s data directory, created (`0600`) when missing.
fn source_key(store: &Store) -> Result<[u8; 32], Error> {
    let path = store.root().join(KEY_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            return bytes.try_into().map_err(|_| {
                Error::Internal(format!(
                    "{} is not a key of 32 bytes; restore it from a backup (the stored source headers cannot be read without it)",
                    path.display()
                ))
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::Internal(format!("cannot read {}: {e}", path.display()))),
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(Error::internal)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut file) => {
            use std::io::Write;
            file.write_all(&key).and_then(|()| file.sync_all()).map_err(Error::internal)?;
            Ok(key)
        }
        // Another process made it first: read theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => source_key(store),
        Err(e) => Err(Error::Internal(format!("cannot create {}: {e}", path.display()))),
    }
}

/// Encrypts `headers` for `uid` (a dataset's uid; `harvest:<name>` for a harvest's headers):
/// a 24-byte nonce, then the ciphertext, bound to `uid`.
pub(crate) fn seal(
    store: &Store,
    uid: &str,
    headers: &[(String, String)],
) -> Result<Vec<u8>, Error> {
    let key = source_key(store)?;
    let cipher = XChaCha20Poly1305::new_from_slice(&key).map_err(Error::internal)?;
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut nonce).map_err(Error::internal)?;
    let plain = serde_json::to_vec(headers).map_err(Error::internal)?;
    let sealed = cipher
        .encrypt(&XNonce::from(nonce), Payload { msg: &plain, aad: uid.as_bytes() })
        .map_err(|_| Error::internal("cannot encrypt the source's headers"))?;
    Ok([nonce.as_slice(), &sealed].concat())
}

/// Decrypts what [`seal`] made for `uid`.
pub(crate) fn open_sealed(
    store: &Store,
    uid: &str,
    blob: &[u8],
) -> Result<Vec<(String, String)>, Error> {
    let key = source_key(store)?;
    let cipher = XChaCha20Poly1305::new_from_slice(&key).map_err(Error::internal)?;
    if blob.len() < 24 {
        return Err(Error::internal("the source's stored headers are truncated"));
    }
    let (nonce, sealed) = blob.split_at(24);
    let nonce: [u8; 24] = nonce.try_into().map_err(Error::internal)?;
    let plain = cipher
        .decrypt(&XNonce::from(nonce), Payload { msg: sealed, aad: uid.as_bytes() })
        .map_err(|_| {
            Error::Internal(format!(
                "the source's headers cannot be decrypted with {}: was the key file replaced? Set the source again with its headers",
                store.root().join(KEY_FILE).display()
            ))
        })?;
    serde_json::from_slice(&plain).map_err(Error::internal)
}

fn config_of(record: &SourceRecord) -> Result<SourceConfig, Error> {
    serde_json::from_str(&record.config).map_err(|e| {
        Error::Internal(format!("stored source of {} is unreadable: {e}", record.dataset_id))
    })
}

/// What to show of `record`.
fn view_of(record: &SourceRecord, settings: &SourceSettings) -> Result<SourceView, Error> {
    let config = config_of(record)?;
    Ok(SourceView {
        dataset_id: record.dataset_id.clone(),
        urls: config.urls,
        header_names: config.header_names,
        schedule: record.schedule.clone(),
        timezone: settings.timezone.name().to_owned(),
        next_run: crate::schedule::next_run_of(record, settings.timezone)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        last_scheduled_run: record.last_run_at.clone(),
        unique_id: config.unique_id,
        max_mb: config.max_mb.unwrap_or(settings.limits.max_bytes >> 20),
        timeout_secs: config.timeout_secs.unwrap_or(settings.limits.timeout.as_secs()),
        failing: record.failing,
        updated_at: record.updated_at.clone(),
    })
}

/// Who starts a run.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// A publisher (API, CLI, back office).
    Manual(Actor),
    /// The scheduler.
    Schedule,
}

impl Trigger {
    fn name(&self) -> &'static str {
        match self {
            Trigger::Manual(_) => "manual",
            Trigger::Schedule => "schedule",
        }
    }

    fn actor(&self) -> Actor {
        match self {
            Trigger::Manual(a) => a.clone(),
            Trigger::Schedule => Actor::System,
        }
    }
}

impl App {
    /// The settings of sources (time zone, fetch limits).
    pub fn set_source_settings(&self, settings: SourceSettings) {
        *self.sources.settings.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = settings;
    }

    /// The settings of sources.
    pub fn source_settings(&self) -> SourceSettings {
        self.sources.settings()
    }

    /// Sets dataset `id`'s source (replacing it); what is shown of it.
    pub async fn set_source(
        &self,
        editor: &Editor,
        id: &str,
        spec: SourceSpec,
    ) -> Result<SourceView, Error> {
        spec.check().map_err(Error::InvalidBody)?;
        let settings = self.sources.settings();
        let (editor, id) = (editor.clone(), id.to_owned());
        self.on_store(move |store| {
            let d = managed_for(store, &editor, &id)?;
            if d.archived {
                return Err(Error::Conflict(format!(
                    "dataset {id:?} is archived (read-only): unarchive it before giving it a source"
                )));
            }
            let previous = store.catalog().source(&id).map_err(store_error)?;
            let (names, secrets) = match &spec.headers {
                Some(headers) => {
                    let pairs: Vec<(String, String)> =
                        headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    let secrets =
                        if pairs.is_empty() { None } else { Some(seal(store, &d.uid, &pairs)?) };
                    (headers.keys().cloned().collect(), secrets)
                }
                None => match &previous {
                    Some(p) => (config_of(p)?.header_names, p.secrets.clone()),
                    None => (Vec::new(), None),
                },
            };
            let config = SourceConfig {
                urls: spec.urls.clone(),
                header_names: names,
                unique_id: spec.unique_id.clone(),
                max_mb: spec.max_mb,
                timeout_secs: spec.timeout_secs,
            };
            let text = serde_json::to_string(&config).map_err(Error::internal)?;
            let audit = json!({"urls": config.urls, "headers": config.header_names,
                               "schedule": spec.schedule});
            store
                .catalog()
                .set_source(
                    editor.actor(),
                    &id,
                    &text,
                    secrets.as_deref(),
                    spec.schedule.as_deref().map(str::trim),
                    audit,
                )
                .map_err(store_error)?;
            let record = store
                .catalog()
                .source(&id)
                .map_err(store_error)?
                .ok_or_else(|| Error::internal("the source just set is missing"))?;
            view_of(&record, &settings)
        })
        .await
    }

    /// Dataset `id`'s source, if it has one.
    pub async fn source(&self, editor: &Editor, id: &str) -> Result<Option<SourceView>, Error> {
        let settings = self.sources.settings();
        let (editor, id) = (editor.clone(), id.to_owned());
        self.on_store(move |store| {
            managed_for(store, &editor, &id)?;
            match store.catalog().source(&id).map_err(store_error)? {
                Some(record) => Ok(Some(view_of(&record, &settings)?)),
                None => Ok(None),
            }
        })
        .await
    }

    /// Removes dataset `id`'s source and its runs; whether it had one.
    pub async fn clear_source(&self, editor: &Editor, id: &str) -> Result<bool, Error> {
        let (editor, id) = (editor.clone(), id.to_owned());
        self.on_store(move |store| {
            let d = managed_for(store, &editor, &id)?;
            let had = store.catalog().clear_source(editor.actor(), &id).map_err(store_error)?;
            // The file its last run kept for the processors' preview goes with the source.
            crate::processors::forget_last_read(store, &d.uid);
            Ok(had)
        })
        .await
    }

    /// The last runs of dataset `id`'s source, newest first (at most `limit`, capped at
    /// [`MAX_RUNS_LISTED`]).
    pub async fn source_runs(
        &self,
        editor: &Editor,
        id: &str,
        limit: usize,
    ) -> Result<Vec<RunView>, Error> {
        let (editor, id) = (editor.clone(), id.to_owned());
        let limit = limit.clamp(1, MAX_RUNS_LISTED);
        self.on_store(move |store| {
            managed_for(store, &editor, &id)?;
            let runs = store.catalog().source_runs(&id, limit).map_err(store_error)?;
            Ok(runs.into_iter().map(RunView::from).collect())
        })
        .await
    }

    /// Dataset `id`'s refresh state (for its management JSON and edit page), if it has a
    /// source.
    pub async fn refresh_state(
        &self,
        editor: &Editor,
        id: &str,
    ) -> Result<Option<RefreshState>, Error> {
        let tz = self.sources.settings().timezone;
        let (editor, id) = (editor.clone(), id.to_owned());
        self.on_store(move |store| {
            managed_for(store, &editor, &id)?;
            let Some(record) = store.catalog().source(&id).map_err(store_error)? else {
                return Ok(None);
            };
            let last = store.catalog().source_runs(&id, 1).map_err(store_error)?;
            Ok(Some(RefreshState {
                failing: record.failing,
                schedule: record.schedule.clone(),
                next_run: crate::schedule::next_run_of(&record, tz)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                last_run: last.into_iter().next().map(RunView::from),
            }))
        })
        .await
    }

    /// Runs dataset `id`'s source now, as `editor`; the run as recorded (a failed run is an
    /// answer too: its outcome says `failed` and its error why).
    pub async fn run_source(&self, editor: &Editor, id: &str) -> Result<RunView, Error> {
        let (e, i) = (editor.clone(), id.to_owned());
        let record = self
            .on_store(move |store| {
                let d = managed_for(store, &e, &i)?;
                if d.archived {
                    return Err(Error::Conflict(format!(
                        "dataset {i:?} is archived (read-only): unarchive it before refreshing it"
                    )));
                }
                store.catalog().source(&i).map_err(store_error)
            })
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "dataset {id:?} has no source: set one first (PUT .../datasets/{id}/sources, or kleber source set {id} --url URL)"
                ))
            })?;
        if !self.sources.begin(&record.dataset_uid) {
            return Err(Error::Conflict(format!(
                "a run of dataset {id:?}'s source is already in progress; try again when it ends"
            )));
        }
        let run = self.run_record(&record, Trigger::Manual(editor.actor().clone())).await;
        self.sources.end(&record.dataset_uid);
        run
    }

    /// Runs `record` (already marked running); records the run and returns it.
    pub(crate) async fn run_record(
        &self,
        record: &SourceRecord,
        trigger: Trigger,
    ) -> Result<RunView, Error> {
        let dataset = record.dataset_id.clone();
        let name = trigger.name();
        let run = self
            .on_store(move |store| {
                store.catalog().start_source_run(&dataset, name).map_err(store_error)
            })
            .await?;
        let end = match self.refresh(record, &trigger, run).await {
            Ok(end) => end,
            Err(e) => {
                tracing::warn!(dataset = %record.dataset_id, error = %e, "source run failed");
                RunEnd {
                    outcome: "failed".to_owned(),
                    records: None,
                    rejected: None,
                    version: None,
                    error: Some(e.to_string()),
                    validators: None,
                }
            }
        };
        let dataset = record.dataset_id.clone();
        self.on_store(move |store| {
            store.catalog().finish_source_run(run, &end).map_err(store_error)?;
            let runs = store.catalog().source_runs(&dataset, 1).map_err(store_error)?;
            runs.into_iter()
                .next()
                .map(RunView::from)
                .ok_or_else(|| Error::internal("the run just recorded is missing"))
        })
        .await
    }

    /// Fetches, reads and publishes; what the run did.
    async fn refresh(
        &self,
        record: &SourceRecord,
        trigger: &Trigger,
        run: i64,
    ) -> Result<RunEnd, Error> {
        let settings = self.sources.settings();
        let config = config_of(record)?;
        let store = self.store_arc();
        let headers = match &record.secrets {
            Some(blob) => {
                let (s, uid, blob) = (Arc::clone(&store), record.dataset_uid.clone(), blob.clone());
                tokio::task::spawn_blocking(move || open_sealed(&s, &uid, &blob))
                    .await
                    .map_err(Error::internal)??
            }
            None => Vec::new(),
        };
        let limits = FetchLimits {
            max_bytes: config
                .max_mb
                .map_or(settings.limits.max_bytes, |mb| mb.saturating_mul(1 << 20)),
            timeout: config.timeout_secs.map_or(settings.limits.timeout, Duration::from_secs),
        };
        let remembered: Remembered = serde_json::from_str(&record.validators).unwrap_or_default();
        let dir = store.root().join("tmp").join("sources").join(format!("run-{run}"));
        tokio::fs::create_dir_all(&dir).await.map_err(Error::internal)?;
        let _cleanup = RemoveOnDrop(dir.clone());
        let unchanged = |validators: Remembered, store: &Store| -> Result<RunEnd, Error> {
            let current = store.get_dataset(&record.dataset_id)?;
            Ok(RunEnd {
                outcome: "unchanged".to_owned(),
                records: current.as_ref().map(|d| d.version.records_count),
                rejected: None,
                version: current.map(|d| d.version.number),
                error: None,
                validators: Some(serde_json::to_string(&validators).map_err(Error::internal)?),
            })
        };
        let client = self.sources.client()?;
        let mut files: Vec<Option<PathBuf>> = Vec::new();
        let mut validators = Remembered::default();
        for (i, url) in config.urls.iter().enumerate() {
            let dest = dir.join(format!("{i}.data"));
            let previous = remembered.urls.get(url).filter(|_| remembered.files.contains_key(url));
            match fetch(&client, url, &headers, previous, &limits, &dest).await {
                Ok(Fetched::NotModified) => {
                    validators.urls.insert(url.clone(), previous.cloned().unwrap_or_default());
                    if let Some(d) = remembered.files.get(url) {
                        validators.files.insert(url.clone(), d.clone());
                    }
                    files.push(None);
                }
                Ok(Fetched::Body { sha256, validators: v, .. }) => {
                    validators.urls.insert(url.clone(), v);
                    validators.files.insert(url.clone(), hex::encode(sha256));
                    files.push(Some(dest));
                }
                Err(e) => return Err(Error::UnreadableFile(e.to_string())),
            }
        }
        let has_version = store.get_dataset(&record.dataset_id)?.is_some();
        validators.digest = validators.digest_of(&record.config, &config.urls);
        if has_version && validators.digest.is_some() && validators.digest == remembered.digest {
            // Every file is the one last published (304, or the same bytes), under the same
            // configuration.
            return unchanged(validators, &store);
        }
        // Something changed: read whole the files that were not sent again (304).
        for (i, url) in config.urls.iter().enumerate() {
            if files[i].is_some() {
                continue;
            }
            let dest = dir.join(format!("{i}.data"));
            match fetch(&client, url, &headers, None, &limits, &dest).await {
                Ok(Fetched::Body { sha256, validators: v, .. }) => {
                    validators.urls.insert(url.clone(), v);
                    validators.files.insert(url.clone(), hex::encode(sha256));
                    files[i] = Some(dest);
                }
                Ok(Fetched::NotModified) => {
                    return Err(Error::UnreadableFile(format!(
                        "{url} answered 304 Not Modified to a request that was not conditional"
                    )));
                }
                Err(e) => return Err(Error::UnreadableFile(e.to_string())),
            }
        }
        validators.digest = validators.digest_of(&record.config, &config.urls);
        let files: Vec<PathBuf> = files.into_iter().flatten().collect();
        let (dataset, actor, unique_id) =
            (record.dataset_id.clone(), trigger.actor(), config.unique_id.clone());
        let names: Vec<String> = config.urls.clone();
        let (records, rejected, version) = tokio::task::spawn_blocking(move || {
            read_and_publish(&store, &dataset, &files, &names, &unique_id, actor, &dir)
        })
        .await
        .map_err(Error::internal)??;
        Ok(RunEnd {
            outcome: "published".to_owned(),
            records: Some(records),
            rejected: Some(rejected),
            version: Some(version),
            error: None,
            validators: Some(serde_json::to_string(&validators).map_err(Error::internal)?),
        })
    }
}

/// Deletes a run's temporary directory when the run ends, however it ends.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Reads `files` (in order) and publishes them as one new version of `dataset`; records,
/// rejected rows, version.
fn read_and_publish(
    store: &Store,
    dataset: &str,
    files: &[PathBuf],
    urls: &[String],
    unique_id: &[String],
    actor: Actor,
    dir: &Path,
) -> Result<(i64, i64, i64), Error> {
    let schema = SchemaEdit { unique_id: unique_id.to_vec(), ..SchemaEdit::default() };
    let unreadable = |i: usize, e: anyhow::Error| {
        Error::UnreadableFile(format!("the file of {} cannot be read: {e:#}", urls[i]))
    };
    let first = dir.join("0.parquet");
    let mut outcome = crate::import::read_into(
        &files[0],
        &first,
        &ImportOptions::default(),
        &schema,
        &mut |_| {},
    )
    .map_err(|e| unreadable(0, e))?;
    let mut parts = Vec::new();
    let mut options = ImportOptions::default();
    for f in &outcome.fields {
        options.type_overrides.insert(f.name.clone(), f.field_type);
        if let Some(sep) = f.annotations.get("multivalued").and_then(|a| a.first()) {
            options.multivalued.insert(f.name.clone(), sep.clone());
        }
    }
    for (i, file) in files.iter().enumerate().skip(1) {
        let out = dir.join(format!("{i}.parquet"));
        let more =
            crate::import::read_into(file, &out, &options, &SchemaEdit::default(), &mut |_| {})
                .map_err(|e| unreadable(i, e))?;
        if let Some(extra) =
            more.fields.iter().find(|f| !outcome.fields.iter().any(|g| g.name == f.name))
        {
            return Err(Error::UnreadableFile(format!(
                "{} has a field {:?} that {} lacks; the files of one source are concatenated and must have the same fields",
                urls[i], extra.name, urls[0]
            )));
        }
        outcome.rows += more.rows;
        outcome.rejected.extend(more.rejected);
        parts.push(out);
    }
    let pending = crate::import::begin(
        store,
        dataset,
        &ImportAccess { actor: Some(actor), ..ImportAccess::default() },
    )
    .map_err(Error::Import)?;
    let data = pending.data_path();
    if parts.is_empty() {
        std::fs::rename(&first, &data).map_err(Error::internal)?;
    } else {
        concat_parquet(&first, &parts, &data)?;
    }
    // The dataset's processors (docs/sources.md#processors); their joins' access was checked
    // when the pipeline was set.
    crate::processors::keep_last_read(store, pending.uid(), &data, &outcome.fields);
    if let Some((fields, rows)) =
        crate::processors::apply_stored(store, dataset, None, &data, &data, &outcome.fields)?
    {
        outcome.fields = fields;
        outcome.rows = rows;
    }
    let report = pending.report_path();
    if !outcome.rejected.is_empty() {
        kleber_ingest::write_issues_csv(&outcome.rejected, &report).map_err(Error::internal)?;
    }
    let source = urls.join(" ");
    let publication = crate::import::publish_read(
        pending,
        &data,
        (!outcome.rejected.is_empty()).then_some(report.as_path()),
        &outcome.fields,
        outcome.rows,
        outcome.rejected.len() as u64,
        Some(&source),
        None,
        None,
    )
    .map_err(Error::Import)?;
    Ok((outcome.rows as i64, outcome.rejected.len() as i64, publication.version))
}

/// Writes `first`'s rows then each of `more`'s into `out`, with `first`'s schema and
/// metadata (columns found by name; a column missing from a part is null there).
fn concat_parquet(first: &Path, more: &[PathBuf], out: &Path) -> Result<(), Error> {
    use arrow::array::{RecordBatch, new_null_array};
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let open = |p: &Path| -> Result<ParquetRecordBatchReaderBuilder<std::fs::File>, Error> {
        let file = std::fs::File::open(p).map_err(Error::internal)?;
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(Error::internal)
    };
    let head = open(first)?;
    let metadata = head.metadata().file_metadata().key_value_metadata().cloned();
    let schema = head.schema().clone();
    let props = kleber_types::layout::writer_properties(
        &schema,
        kleber_ingest::DEFAULT_ROW_GROUP_SIZE,
        metadata,
    );
    let file = std::fs::File::create(out).map_err(Error::internal)?;
    let mut writer =
        ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(Error::internal)?;
    for path in std::iter::once(first).chain(more.iter().map(PathBuf::as_path)) {
        for batch in open(path)?.build().map_err(Error::internal)? {
            let batch = batch.map_err(Error::internal)?;
            let columns = schema
                .fields()
                .iter()
                .map(|f| match batch.column_by_name(f.name()) {
                    Some(c) => arrow::compute::cast(c, f.data_type()).map_err(Error::internal),
                    None => Ok(new_null_array(f.data_type(), batch.num_rows())),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let batch = RecordBatch::try_new(schema.clone(), columns).map_err(Error::internal)?;
            writer.write(&batch).map_err(Error::internal)?;
        }
    }
    writer.close().map_err(Error::internal)?;
    Ok(())
}

/// JSON of a run, for callers that render it as such.
pub fn run_json(run: &RunView) -> Value {
    serde_json::to_value(run).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_headers_are_checked_with_what_to_fix() {
        assert!(check_url("https://example.org/a.csv").is_ok());
        for (url, needle) in [
            ("ftp://example.org/a.csv", "only http and https"),
            ("example.org/a.csv", "not a URL"),
            ("https://user:pw@example.org/a.csv", "send them in a header"),
        ] {
            let e = check_url(url).unwrap_err();
            assert!(e.contains(needle), "{url}: {e}");
        }
        assert_eq!(
            parse_header_arg("Authorization: Bearer x").unwrap(),
            ("Authorization".to_owned(), "Bearer x".to_owned())
        );
        assert!(parse_header_arg("no colon").unwrap_err().contains("'Name: value'"));
        assert!(parse_header_arg("bad name: x").unwrap_err().contains("header name"));
    }

    #[test]
    fn headers_are_sealed_for_one_dataset_with_a_private_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let headers = vec![("Authorization".to_owned(), "Bearer s3cr3t".to_owned())];
        let blob = seal(&store, "da_1", &headers).unwrap();
        assert!(!blob.windows(6).any(|w| w == b"s3cr3t"));
        assert_eq!(open_sealed(&store, "da_1", &blob).unwrap(), headers);
        assert!(open_sealed(&store, "da_2", &blob).is_err(), "bound to its dataset");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
