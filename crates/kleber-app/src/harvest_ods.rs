//! The Opendatasoft harvester: copies datasets of another Opendatasoft portal (or another
//! Kleber: it speaks the same API) through its Explore API v2.1, into this data directory,
//! through the one import pipeline ([`crate::import`]). `kleber migrate` is this harvester
//! over a whole portal; `kleber harvest ods` adds a selection, metadata overrides and the
//! removal of datasets deleted at the source.
//!
//! For each dataset of the source's catalog (walked page by page, `/catalog/datasets`):
//!
//! 1. its data: the Parquet export when the source offers it, else the CSV export, streamed
//!    to a temporary file under `<data dir>/tmp/harvest` within [`HarvestOptions::max_data_bytes`],
//!    read with the source's field types forced, so values keep their types;
//! 2. its fields: labels, descriptions and order through [`crate::import::SchemaEdit`], then
//!    every annotation (facets, units, sortable, unique id, ...) set as the source has them;
//! 3. its metadata: `metas.default` (title, description, themes, keywords, licence,
//!    publisher, ...) less what the portal computes itself (`modified`, `records_count`, ...),
//!    with [`HarvestOptions::overrides`] over it;
//! 4. its attachments, each streamed and stored as the management API stores them;
//! 5. its record ids: Kleber computes a record's id from its values (`record_id.rs`), as the
//!    fingerprint of the record; ids sampled from the source's Search API v1 (`recordid`) are
//!    looked up in the copy, and a dataset whose ids differ is reported.
//!
//! A state file per source (`<data dir>/harvest/<source>.json`) records each dataset copied
//! with the fingerprint of its dataset object: a dataset already copied and unchanged is
//! skipped (an interrupted run resumes; a re-harvest is idempotent), and the datasets the
//! harvester copied before that the source no longer yields are moved to the trash when
//! [`HarvestOptions::remove_deleted`] is set.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kleber_ingest::{Format, ImportOptions};
use kleber_store::{Lifecycle, Visibility};
use kleber_types::FieldType;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::attachments::AttachmentUpload;
use crate::import::{FieldEdit, ImportAccess, SchemaEdit};
use crate::manage::Editor;
use crate::{App, RequestContext};

/// Default bound on one dataset's data file: 20 GiB.
pub const DEFAULT_MAX_DATA_BYTES: u64 = 20 << 30;
/// Bound on one JSON answer of the source (a catalog page, a dataset object): 64 MiB.
const MAX_JSON_BYTES: u64 = 64 << 20;
/// Datasets asked per catalog page (Explore v2.1's largest page).
const PAGE: usize = 100;
/// Explore v2.1's window: `offset + limit` may not pass it.
const WINDOW: usize = 10_000;
/// Record ids sampled from the source to check that ids survived.
const ID_SAMPLE: usize = 20;
/// `metas.default` keys the portal computes itself: not copied.
const COMPUTED_METAS: &[&str] = &[
    "modified",
    "data_processed",
    "metadata_processed",
    "records_count",
    "modified_updates_on_metadata_change",
    "modified_updates_on_data_change",
    "metadata_languages",
    "federated",
    "geographic_reference_auto",
    "geometry_types",
    "source_domain",
    "source_domain_title",
    "source_domain_address",
    "source_dataset",
    "shared_catalog",
    "parent_domain",
    "oauth_scope",
];

/// Which datasets of the source a harvest takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Selection {
    /// Every dataset the caller can read.
    #[default]
    All,
    /// The datasets matching an ODSQL `where` clause on the source's catalog.
    Where(String),
    /// These dataset identifiers.
    Ids(Vec<String>),
}

/// What to harvest and how.
#[derive(Debug, Clone)]
pub struct HarvestOptions {
    /// The source portal's address (`https://data.example.org`).
    pub source: String,
    /// An API key of the source (sent as `Authorization: Apikey <key>`).
    pub apikey: Option<String>,
    /// Headers sent with every request to the source (a stored harvest's, decrypted: its API
    /// key as `Authorization: Apikey <key>`, or any other).
    pub headers: Vec<(String, String)>,
    /// Which datasets.
    pub selection: Selection,
    /// `metas.default` keys set on every harvested dataset over the source's values
    /// (`publisher`, `license`, ...); `null` removes one.
    pub overrides: Map<String, Value>,
    /// Whether datasets this harvester copied before that the source no longer yields are
    /// moved to the trash (else they are kept and reported).
    pub remove_deleted: bool,
    /// Bound on one dataset's data file, in bytes.
    pub max_data_bytes: u64,
    /// Bound on connecting to the source and on each wait for bytes.
    pub timeout: Duration,
    /// Test hook: abort the process after this many datasets are copied and recorded (an
    /// interruption at a known point; `KLEBER_HARVEST_ABORT_AFTER`).
    pub abort_after: Option<usize>,
}

impl HarvestOptions {
    /// Options to harvest every dataset of `source`, with the default bounds.
    pub fn new(source: impl Into<String>) -> HarvestOptions {
        HarvestOptions {
            source: source.into(),
            apikey: None,
            headers: Vec::new(),
            selection: Selection::All,
            overrides: Map::new(),
            remove_deleted: false,
            max_data_bytes: DEFAULT_MAX_DATA_BYTES,
            timeout: Duration::from_secs(60),
            abort_after: None,
        }
    }
}

/// What the harvester tells its caller as it goes (the command line's progress bar).
#[derive(Debug, Clone)]
pub enum HarvestEvent {
    /// The selection holds `total` datasets.
    Selected {
        /// Datasets selected.
        total: usize,
    },
    /// Dataset `id` (`index` of the selection, from 0) is being looked at.
    Dataset {
        /// Its identifier.
        id: String,
        /// Its place in the selection.
        index: usize,
    },
    /// Bytes of the current dataset's data received so far.
    Bytes {
        /// Bytes received.
        done: u64,
        /// Bytes announced, if the source said.
        total: Option<u64>,
    },
    /// Dataset `id` is done (copied, skipped or failed).
    Finished {
        /// Its identifier.
        id: String,
    },
}

/// A dataset copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// Its identifier (the source's).
    pub id: String,
    /// Records published.
    pub records: u64,
    /// The export its data came from (`parquet`, `csv`), `None` without records.
    pub format: Option<&'static str>,
}

/// What a harvest did.
#[derive(Debug, Clone, Default)]
pub struct HarvestReport {
    /// The source, as normalised.
    pub source: String,
    /// Datasets the selection held.
    pub selected: usize,
    /// Datasets copied by this run.
    pub copied: Vec<Copied>,
    /// Datasets skipped: copied before and unchanged at the source.
    pub unchanged: Vec<String>,
    /// Datasets the source no longer yields, moved to the trash.
    pub removed: Vec<String>,
    /// Datasets the source no longer yields, kept (without `remove_deleted`).
    pub kept: Vec<String>,
    /// Datasets that could not be copied, and why.
    pub failed: Vec<(String, String)>,
    /// What could not be carried over for datasets that were copied: (dataset, what and why).
    pub notes: Vec<(String, String)>,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

impl HarvestReport {
    /// Records published by this run.
    pub fn records(&self) -> u64 {
        self.copied.iter().map(|c| c.records).sum()
    }
}

/// Why a harvest could not run at all (a dataset that fails is reported, not an error).
#[derive(Debug, thiserror::Error)]
pub enum HarvestError {
    /// The source's address is not an http(s) URL.
    #[error(
        "{url:?} is not a portal address: give an http:// or https:// URL such as https://data.example.org"
    )]
    BadUrl {
        /// What was given.
        url: String,
    },
    /// The source cannot be reached (name, connection, TLS, timeout).
    #[error(
        "cannot reach {url}: {reason}; check the address, the network, and that the portal is up"
    )]
    Unreachable {
        /// The address asked.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The source answered, but not as an Opendatasoft portal.
    #[error(
        "{url} does not answer as an Opendatasoft portal ({detail}); give the portal's home address, e.g. https://data.example.org"
    )]
    NotOpendatasoft {
        /// The address asked.
        url: String,
        /// What came back.
        detail: String,
    },
    /// The source refused the credentials (401 or 403).
    #[error("{url} refused the request ({status}): {message}; check --apikey")]
    Unauthorized {
        /// The address asked.
        url: String,
        /// The status.
        status: u16,
        /// The source's message.
        message: String,
    },
    /// The source refused the request otherwise (a malformed `where`, ...).
    #[error("{url} answered {status}: {message}")]
    Refused {
        /// The address asked.
        url: String,
        /// The status.
        status: u16,
        /// The source's message.
        message: String,
    },
    /// The state file cannot be read or written.
    #[error("the harvest state file {path}: {reason}")]
    State {
        /// Where it is.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The local side failed.
    #[error(transparent)]
    Local(#[from] crate::Error),
}

/// The state of the harvests of one source: what was copied, with the fingerprint of the
/// dataset object it was copied from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    source: String,
    datasets: BTreeMap<String, DatasetState>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DatasetState {
    fingerprint: String,
    records: u64,
    copied_at: String,
}

impl State {
    fn load(path: &Path, source: &str) -> Result<State, HarvestError> {
        let err = |reason: String| HarvestError::State { path: path.to_path_buf(), reason };
        match std::fs::read(path) {
            Ok(bytes) => {
                let state: State = serde_json::from_slice(&bytes).map_err(|e| {
                    err(format!("not a harvest state ({e}); delete it to start again"))
                })?;
                Ok(state)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(State { source: source.to_owned(), datasets: BTreeMap::new() })
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Written to a temporary file, synced, renamed: a crash leaves the old or the new state.
    fn save(&self, path: &Path) -> Result<(), HarvestError> {
        let err = |e: std::io::Error| HarvestError::State {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| HarvestError::State { path: path.to_path_buf(), reason: e.to_string() })?;
        {
            use std::io::Write as _;
            let mut file = std::fs::File::create(&tmp).map_err(err)?;
            file.write_all(&bytes).map_err(err)?;
            file.sync_all().map_err(err)?;
        }
        std::fs::rename(&tmp, path).map_err(err)
    }
}

/// Where the state of harvesting `source` is kept in the data directory `root`.
pub fn state_path(root: &Path, source: &str) -> PathBuf {
    let mut name = String::new();
    for c in source.trim_start_matches("https://").trim_start_matches("http://").chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
            name.push(c);
        } else if !name.ends_with('_') {
            name.push('_');
        }
    }
    let name: String = name.trim_matches('_').chars().take(100).collect();
    root.join("harvest").join(format!("ods-{name}.json"))
}

/// The source portal: its base URL, its key and an HTTP client with timeouts.
struct Source {
    base: url::Url,
    apikey: Option<String>,
    headers: Vec<(String, String)>,
    client: reqwest::Client,
}

/// An answer of the source that was not 2xx.
struct Status {
    status: u16,
    message: String,
}

impl Source {
    fn new(options: &HarvestOptions) -> Result<Source, HarvestError> {
        let bad = || HarvestError::BadUrl { url: options.source.clone() };
        let mut base = url::Url::parse(options.source.trim()).map_err(|_| bad())?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(bad());
        }
        base.set_query(None);
        base.set_fragment(None);
        let path = base.path().trim_end_matches('/').to_owned();
        base.set_path(&path);
        let client = reqwest::Client::builder()
            .connect_timeout(options.timeout)
            .read_timeout(options.timeout)
            .user_agent(concat!("kleber-harvest/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HarvestError::Unreachable {
                url: options.source.clone(),
                reason: e.to_string(),
            })?;
        Ok(Source {
            base,
            apikey: options.apikey.clone(),
            headers: options.headers.clone(),
            client,
        })
    }

    fn display(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_owned()
    }

    /// `<base>/<segments...>?<query>`, each segment percent-encoded.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> url::Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    async fn send(&self, url: &url::Url) -> Result<reqwest::Response, HarvestError> {
        let mut request = self.client.get(url.clone());
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(key) = &self.apikey {
            request = request.header("Authorization", format!("Apikey {key}"));
        }
        request.send().await.map_err(|e| HarvestError::Unreachable {
            url: url.to_string(),
            reason: error_chain(&e),
        })
    }

    /// GET a JSON answer: `Ok(Err(status))` for a non-2xx answer, with the source's message.
    async fn json(&self, url: &url::Url) -> Result<Result<Value, Status>, HarvestError> {
        let response = self.send(url).await?;
        let status = response.status().as_u16();
        let json_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.contains("json"));
        let bytes = read_limited(response, MAX_JSON_BYTES, url).await?;
        let value: Option<Value> = serde_json::from_slice(&bytes).ok();
        if !(200..300).contains(&status) {
            let message = value
                .as_ref()
                .and_then(|v| v.get("message").or_else(|| v.get("error")))
                .and_then(Value::as_str)
                .map_or_else(|| format!("HTTP {status}"), str::to_owned);
            return Ok(Err(Status { status, message }));
        }
        match value {
            Some(value) if json_type || value.is_object() => Ok(Ok(value)),
            _ => Err(HarvestError::NotOpendatasoft {
                url: url.to_string(),
                detail: "the answer is not JSON".to_owned(),
            }),
        }
    }

    /// A catalog-level request: a refusal is an error of the whole harvest.
    async fn catalog_json(&self, url: &url::Url) -> Result<Value, HarvestError> {
        match self.json(url).await? {
            Ok(value) => Ok(value),
            Err(Status { status: status @ (401 | 403), message }) => {
                Err(HarvestError::Unauthorized { url: url.to_string(), status, message })
            }
            Err(Status { status: 404, .. }) => Err(HarvestError::NotOpendatasoft {
                url: url.to_string(),
                detail: "no Explore API v2.1 there: 404".to_owned(),
            }),
            Err(Status { status, message }) => {
                Err(HarvestError::Refused { url: url.to_string(), status, message })
            }
        }
    }

    /// The dataset objects of the selection.
    async fn select(
        &self,
        selection: &Selection,
    ) -> Result<(Vec<Value>, Vec<String>), HarvestError> {
        let catalog = ["api", "explore", "v2.1", "catalog", "datasets"];
        let mut found = Vec::new();
        let mut missing = Vec::new();
        if let Selection::Ids(ids) = selection {
            // One request first, so a portal that is not one fails as such.
            self.catalog_json(&self.url(&catalog, &[("limit", "0")])).await?;
            for id in ids {
                let mut segments = catalog.to_vec();
                segments.push(id);
                let url = self.url(&segments, &[]);
                match self.json(&url).await? {
                    Ok(object) => found.push(object),
                    Err(Status { status: 404, .. }) => missing.push(id.clone()),
                    Err(Status { status: status @ (401 | 403), message }) => {
                        return Err(HarvestError::Unauthorized {
                            url: url.to_string(),
                            status,
                            message,
                        });
                    }
                    Err(Status { status, message }) => {
                        return Err(HarvestError::Refused {
                            url: url.to_string(),
                            status,
                            message,
                        });
                    }
                }
            }
            return Ok((found, missing));
        }
        let mut offset = 0;
        loop {
            let (limit, off) = (PAGE.to_string(), offset.to_string());
            let mut query = vec![("limit", limit.as_str()), ("offset", off.as_str())];
            query.push(("order_by", "dataset_id"));
            if let Selection::Where(clause) = selection {
                query.push(("where", clause.as_str()));
            }
            let url = self.url(&catalog, &query);
            let page = self.catalog_json(&url).await?;
            let (Some(total), Some(results)) =
                (page.get("total_count").and_then(Value::as_u64), page.get("results"))
            else {
                return Err(HarvestError::NotOpendatasoft {
                    url: url.to_string(),
                    detail: "the catalog has no total_count and results".to_owned(),
                });
            };
            let results = results.as_array().cloned().unwrap_or_default();
            let n = results.len();
            found.extend(results);
            offset += n;
            if n == 0 || offset as u64 >= total || offset + PAGE > WINDOW {
                break;
            }
        }
        Ok((found, missing))
    }
}

/// An error with its sources, for messages.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let said = s.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = s.source();
    }
    text
}

async fn read_limited(
    response: reqwest::Response,
    limit: u64,
    url: &url::Url,
) -> Result<Vec<u8>, HarvestError> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| HarvestError::Unreachable {
            url: url.to_string(),
            reason: error_chain(&e),
        })?;
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(HarvestError::NotOpendatasoft {
                url: url.to_string(),
                detail: format!("the answer is larger than {limit} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The SHA-256 of a dataset object and the overrides applied to it.
fn fingerprint(object: &Value, overrides: &Map<String, Value>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(object.to_string().as_bytes());
    hasher.update([0]);
    hasher.update(Value::Object(overrides.clone()).to_string().as_bytes());
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A field's annotations: (name, arguments).
type Annotations = Vec<(String, Vec<String>)>;

/// A field of the source's dataset object.
#[derive(Debug, Clone, Deserialize)]
struct SourceField {
    name: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(rename = "type", default)]
    field_type: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    annotations: Option<Map<String, Value>>,
}

impl SourceField {
    fn annotations(&self) -> Annotations {
        self.annotations
            .iter()
            .flatten()
            .map(|(name, args)| {
                let args = match args {
                    Value::Array(items) => items
                        .iter()
                        .map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_owned))
                        .collect(),
                    Value::Null | Value::Bool(true) => Vec::new(),
                    other => vec![other.as_str().map_or_else(|| other.to_string(), str::to_owned)],
                };
                (name.clone(), args)
            })
            .collect()
    }

    fn multivalued(&self) -> Option<String> {
        self.annotations()
            .into_iter()
            .find(|(n, _)| n == "multivalued")
            .map(|(_, args)| args.into_iter().next().unwrap_or_else(|| ",".to_owned()))
    }
}

/// The export a dataset's data came from.
struct Download {
    path: PathBuf,
    format: &'static str,
}

impl App {
    /// Harvests the Opendatasoft portal of `options` into this data directory (see the
    /// module): each selected dataset the caller can read is copied, or skipped when copied
    /// before and unchanged. A dataset that fails is reported and the others go on; the
    /// errors are the source's (unreachable, not Opendatasoft, refused) and the state file's.
    pub async fn harvest_ods(
        &self,
        options: &HarvestOptions,
        progress: &mut (dyn FnMut(HarvestEvent) + Send),
    ) -> Result<HarvestReport, HarvestError> {
        let started = Instant::now();
        let source = Source::new(options)?;
        let state_file = state_path(self.store.root(), &source.display());
        let mut state = State::load(&state_file, &source.display())?;
        let (objects, missing) = source.select(&options.selection).await?;
        let mut report = HarvestReport {
            source: source.display(),
            selected: objects.len() + missing.len(),
            ..HarvestReport::default()
        };
        for id in &missing {
            report.failed.push((id.clone(), "the source has no such dataset (404)".to_owned()));
        }
        progress(HarvestEvent::Selected { total: objects.len() });
        let tmp = self.store.root().join("tmp").join("harvest");
        tokio::fs::create_dir_all(&tmp).await.map_err(crate::Error::internal)?;
        let mut seen = BTreeSet::new();
        let mut done_now = 0;
        for (index, object) in objects.iter().enumerate() {
            let Some(id) = object.get("dataset_id").and_then(Value::as_str) else {
                report.failed.push((format!("#{index}"), "no dataset_id".to_owned()));
                continue;
            };
            seen.insert(id.to_owned());
            progress(HarvestEvent::Dataset { id: id.to_owned(), index });
            let print = fingerprint(object, &options.overrides);
            let local = self
                .on_store({
                    let id = id.to_owned();
                    move |store| Ok(store.catalog().managed_dataset(&id).ok().flatten())
                })
                .await?;
            let current = local
                .as_ref()
                .is_some_and(|d| d.deleted_at.is_none() && d.current_version.is_some());
            if current && state.datasets.get(id).is_some_and(|d| d.fingerprint == print) {
                report.unchanged.push(id.to_owned());
                progress(HarvestEvent::Finished { id: id.to_owned() });
                continue;
            }
            // A dataset of this portal that this harvester did not copy is never replaced.
            if local.is_some() && !state.datasets.contains_key(id) {
                report.failed.push((
                    id.to_owned(),
                    "a dataset with this identifier exists here and was not copied from this source: it is left as it is (remove it, or harvest into another data directory)".to_owned(),
                ));
                progress(HarvestEvent::Finished { id: id.to_owned() });
                continue;
            }
            // Claimed before anything is written, so a run interrupted in the middle of this
            // dataset resumes it (an empty fingerprint never matches).
            if !state.datasets.contains_key(id) {
                state.datasets.insert(
                    id.to_owned(),
                    DatasetState {
                        fingerprint: String::new(),
                        records: 0,
                        copied_at: String::new(),
                    },
                );
                state.save(&state_file)?;
            }
            match self.harvest_one(&source, options, object, id, &tmp, &mut report, progress).await
            {
                Ok(copied) => {
                    state.datasets.insert(
                        id.to_owned(),
                        DatasetState {
                            fingerprint: print,
                            records: copied.records,
                            copied_at: chrono::Utc::now()
                                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        },
                    );
                    state.save(&state_file)?;
                    report.copied.push(copied);
                    done_now += 1;
                    if options.abort_after.is_some_and(|n| done_now >= n) {
                        eprintln!("KLEBER_HARVEST_ABORT_AFTER: aborting after {done_now} datasets");
                        std::process::abort();
                    }
                }
                Err(reason) => report.failed.push((id.to_owned(), reason)),
            }
            progress(HarvestEvent::Finished { id: id.to_owned() });
        }
        // What this harvester copied before and the source no longer yields.
        let gone: Vec<String> = state
            .datasets
            .keys()
            .filter(|id| !seen.contains(*id))
            .filter(|id| match &options.selection {
                Selection::Ids(ids) => ids.contains(id),
                _ => true,
            })
            .cloned()
            .collect();
        for id in gone {
            if options.remove_deleted {
                let trashed =
                    self.change_lifecycle(&Editor::operator(), &id, Lifecycle::Delete).await;
                match trashed {
                    Ok(_) => {
                        state.datasets.remove(&id);
                        state.save(&state_file)?;
                        report.removed.push(id);
                    }
                    Err(crate::Error::DatasetNotFound(_)) => {
                        state.datasets.remove(&id);
                        state.save(&state_file)?;
                    }
                    Err(e) => report.failed.push((id, format!("could not be removed: {e}"))),
                }
            } else {
                report.kept.push(id);
            }
        }
        let _ = tokio::fs::remove_dir(&tmp).await;
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Copies one dataset; the error is the reason it could not be.
    #[allow(clippy::too_many_arguments)]
    async fn harvest_one(
        &self,
        source: &Source,
        options: &HarvestOptions,
        object: &Value,
        id: &str,
        tmp: &Path,
        report: &mut HarvestReport,
        progress: &mut (dyn FnMut(HarvestEvent) + Send),
    ) -> Result<Copied, String> {
        if !kleber_store::is_valid_dataset_id(id) {
            return Err(format!(
                "the identifier {id:?} is not one Kleber accepts (lowercase letters, digits, '-' and '_', at most 100)"
            ));
        }
        let fields: Vec<SourceField> = object
            .get("fields")
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| format!("the dataset object's fields cannot be read: {e}"))?
            .unwrap_or_default();
        let has_records = object.get("has_records").and_then(Value::as_bool).unwrap_or(true);
        if !has_records || fields.is_empty() {
            return Err(
                "the dataset has no records at the source: Kleber publishes datasets with data only"
                    .to_owned(),
            );
        }
        let mut notes = Vec::new();
        // Kleber's Parquet reader keeps one geometry column, unnamed (the file's geometry):
        // datasets with geo fields come through the CSV export, whose geometry columns are
        // texts read back with their types forced.
        let geo = fields
            .iter()
            .any(|f| matches!(f.field_type.as_deref(), Some("geo_point_2d" | "geo_shape")));
        let formats: &[&'static str] = if geo { &["csv"] } else { &["parquet", "csv"] };
        let mut tried = Vec::new();
        let mut copied = None;
        for format in formats {
            let download =
                match self.download(source, options, id, format, &fields, tmp, progress).await {
                    Ok(Some(download)) => download,
                    Ok(None) => {
                        tried.push(format!("{format}: not offered"));
                        continue;
                    }
                    Err(e) => return Err(e),
                };
            let mut attempt = Vec::new();
            let result = self.publish_download(object, id, &fields, &download, &mut attempt).await;
            let _ = tokio::fs::remove_file(&download.path).await;
            match result {
                Ok(records) => {
                    notes.extend(attempt);
                    copied = Some((records, download.format));
                    break;
                }
                Err(e) => tried.push(format!("{format}: {e}")),
            }
        }
        let Some((records, format)) = copied else {
            return Err(format!("the data could not be copied ({})", tried.join("; ")));
        };
        self.copy_metas(object, id, &options.overrides, &mut notes).await?;
        self.copy_attachments(source, object, id, &mut notes).await;
        self.check_record_ids(source, id, &mut notes).await;
        for note in notes {
            report.notes.push((id.to_owned(), note));
        }
        Ok(Copied { id: id.to_owned(), records, format: Some(format) })
    }

    /// Streams the `format` export of `id` to a file under `tmp`; `None` when the source does
    /// not offer it.
    #[allow(clippy::too_many_arguments)]
    async fn download(
        &self,
        source: &Source,
        options: &HarvestOptions,
        id: &str,
        format: &'static str,
        fields: &[SourceField],
        tmp: &Path,
        progress: &mut (dyn FnMut(HarvestEvent) + Send),
    ) -> Result<Option<Download>, String> {
        let separator = fields.iter().find_map(SourceField::multivalued);
        let mut query = vec![];
        if format == "csv" {
            query.push(("delimiter", ";"));
            if let Some(sep) = separator.as_deref() {
                query.push(("list_separator", sep));
            }
        }
        let url = source
            .url(&["api", "explore", "v2.1", "catalog", "datasets", id, "exports", format], &query);
        let response = source.send(&url).await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        if matches!(status, 400 | 404 | 406) {
            return Ok(None);
        }
        if !(200..300).contains(&status) {
            return Err(format!("the {format} export answered HTTP {status}"));
        }
        let path = tmp.join(format!("{id}.{format}"));
        let total = response.content_length();
        let mut file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let mut done = 0u64;
        let mut stream = response.bytes_stream();
        let outcome: Result<(), String> = async {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk
                    .map_err(|e| format!("the {format} export broke off: {}", error_chain(&e)))?;
                done += chunk.len() as u64;
                if done > options.max_data_bytes {
                    return Err(format!(
                        "the {format} export is larger than {} bytes (--max-dataset-mb)",
                        options.max_data_bytes
                    ));
                }
                file.write_all(&chunk).await.map_err(|e| e.to_string())?;
                progress(HarvestEvent::Bytes { done, total });
            }
            file.flush().await.map_err(|e| e.to_string())
        }
        .await;
        if let Err(e) = outcome {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e);
        }
        Ok(Some(Download { path, format }))
    }

    /// Reads and publishes the downloaded data with the source's types, labels, descriptions,
    /// order and annotations; returns the records published.
    async fn publish_download(
        &self,
        object: &Value,
        id: &str,
        fields: &[SourceField],
        download: &Download,
        notes: &mut Vec<String>,
    ) -> Result<u64, String> {
        let mut options = ImportOptions {
            format: Some(if download.format == "csv" { Format::Csv } else { Format::Parquet }),
            ..ImportOptions::default()
        };
        if download.format == "csv" {
            options.has_header = Some(true);
            options.delimiter = Some(b';');
        }
        let mut edit = SchemaEdit::default();
        for f in fields {
            let field_type = match f.field_type.as_deref().map(str::parse::<FieldType>) {
                Some(Ok(t)) => Some(t),
                Some(Err(_)) => {
                    notes.push(format!(
                        "field `{}`: type `{}` has no Kleber equivalent; copied as it was read",
                        f.name,
                        f.field_type.as_deref().unwrap_or_default()
                    ));
                    None
                }
                None => None,
            };
            if let Some(t) = field_type {
                options.type_overrides.insert(f.name.clone(), t);
            }
            if let (Some(sep), "csv") = (f.multivalued(), download.format) {
                options.multivalued.insert(f.name.clone(), sep);
            }
            edit.fields.push(FieldEdit {
                name: f.name.clone(),
                label: f.label.clone().filter(|l| !l.trim().is_empty()),
                description: Some(f.description.clone().unwrap_or_default()),
                ..FieldEdit::default()
            });
            edit.order.push(f.name.clone());
        }
        let visibility = match object.get("visibility").and_then(Value::as_str) {
            Some("restricted") => Visibility::Restricted,
            _ => Visibility::Public,
        };
        let store = self.store_arc();
        let (path, id_owned) = (download.path.clone(), id.to_owned());
        let title =
            object.pointer("/metas/default/title").and_then(Value::as_str).map(str::to_owned);
        let outcome = tokio::task::spawn_blocking(move || -> anyhow::Result<(u64, u64)> {
            let exists = store.catalog().managed_dataset(&id_owned)?.is_some();
            let access = ImportAccess {
                visibility: (!exists).then_some(visibility),
                ..ImportAccess::default()
            };
            let pending = crate::import::begin(&store, &id_owned, &access)?;
            let data = pending.data_path();
            let outcome = crate::import::read_into(&path, &data, &options, &edit, &mut |_| {})?;
            let report = pending.report_path();
            if !outcome.rejected.is_empty() {
                kleber_ingest::write_issues_csv(&outcome.rejected, &report)?;
            }
            let rejected = outcome.rejected.len() as u64;
            crate::import::publish_read(
                pending,
                &data,
                (rejected > 0).then_some(report.as_path()),
                &outcome.fields,
                outcome.rows,
                rejected,
                path.file_name().and_then(|n| n.to_str()),
                title.as_deref(),
                None,
            )?;
            Ok((outcome.rows, rejected))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("{e:#}"))?;
        let (rows, rejected) = outcome;
        if rejected > 0 {
            notes.push(format!(
                "{rejected} records could not be read and were left out (see the version's rejected.csv)"
            ));
        }
        // Annotations exactly as the source has them.
        let copies: Vec<(String, Annotations)> =
            fields.iter().map(|f| (f.name.clone(), f.annotations())).collect();
        let id_owned = id.to_owned();
        self.on_store(move |store| {
            let Some(record) = store.get_dataset(&id_owned)? else {
                return Err(crate::Error::DatasetNotFound(id_owned));
            };
            for (name, set) in copies {
                let Some(field) = record.version.fields.iter().find(|f| f.name == name) else {
                    continue;
                };
                let remove: Vec<String> = field
                    .annotations
                    .keys()
                    .filter(|k| !set.iter().any(|(n, _)| n == *k))
                    .cloned()
                    .collect();
                store.annotate_field(&id_owned, &name, &set, &remove)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| format!("the field annotations could not be set: {e}"))?;
        Ok(rows)
    }

    /// Copies `metas.default` (less what the portal computes) with `overrides` over it.
    async fn copy_metas(
        &self,
        object: &Value,
        id: &str,
        overrides: &Map<String, Value>,
        notes: &mut Vec<String>,
    ) -> Result<(), String> {
        let mut patch = Map::new();
        if let Some(Value::Object(templates)) = object.get("metas") {
            for (template, metas) in templates {
                if template == "default" {
                    if let Value::Object(metas) = metas {
                        for (key, value) in metas {
                            if !COMPUTED_METAS.contains(&key.as_str()) {
                                patch.insert(key.clone(), value.clone());
                            }
                        }
                    }
                } else if metas.as_object().is_some_and(|m| m.values().any(|v| !v.is_null())) {
                    notes.push(format!(
                        "metadata template `{template}` not carried over: Kleber keeps the `default` template only"
                    ));
                }
            }
        }
        for (key, value) in overrides {
            patch.insert(key.clone(), value.clone());
        }
        if patch.get("title").is_some_and(|t| !t.is_string()) {
            patch.remove("title");
        }
        self.update_metas(&RequestContext::operator(), id, patch)
            .await
            .map_err(|e| format!("the metadata could not be stored: {e}"))
    }

    /// Copies the attachments of the source's dataset object (and removes local ones the
    /// source no longer has). A failure is a note: the data is copied already.
    async fn copy_attachments(
        &self,
        source: &Source,
        object: &Value,
        id: &str,
        notes: &mut Vec<String>,
    ) {
        let editor = Editor::operator();
        let existing: Vec<String> = match self.managed_attachments(&editor, id).await {
            Ok(list) => list.into_iter().map(|a| a.id).collect(),
            Err(e) => {
                notes.push(format!("attachments not copied: {e}"));
                return;
            }
        };
        let wanted =
            object.get("attachments").and_then(Value::as_array).cloned().unwrap_or_default();
        let mut kept = BTreeSet::new();
        for a in &wanted {
            let Some(aid) = a.get("id").and_then(Value::as_str) else { continue };
            let url_name = a
                .get("url")
                .and_then(Value::as_str)
                .and_then(|u| u.strip_prefix("odsfile://"))
                .filter(|n| !n.is_empty());
            let file_name = url_name.map_or_else(|| aid.to_owned(), str::to_owned);
            let title = a.get("title").and_then(Value::as_str).map(str::to_owned);
            let mimetype = a.get("mimetype").and_then(Value::as_str).map(str::to_owned);
            match self
                .copy_attachment(source, id, aid, &file_name, title, mimetype, &existing)
                .await
            {
                Ok(local) => {
                    if local != aid {
                        notes.push(format!(
                            "attachment `{aid}` is `{local}` here (Kleber makes ids from file names)"
                        ));
                    }
                    kept.insert(local);
                }
                Err(e) => notes.push(format!("attachment `{aid}` not copied: {e}")),
            }
        }
        for old in existing.iter().filter(|a| !kept.contains(*a)) {
            if let Err(e) = self.remove_attachment(&editor, id, old).await {
                notes.push(format!("attachment `{old}` removed at the source, kept here: {e}"));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn copy_attachment(
        &self,
        source: &Source,
        id: &str,
        aid: &str,
        file_name: &str,
        title: Option<String>,
        mimetype: Option<String>,
        existing: &[String],
    ) -> Result<String, String> {
        let url = source
            .url(&["api", "explore", "v2.1", "catalog", "datasets", id, "attachments", aid], &[]);
        let response = source.send(&url).await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(format!("the source answered HTTP {status}"));
        }
        let local = crate::attachments::attachment_id(file_name);
        let upload = AttachmentUpload {
            file_name: file_name.to_owned(),
            title,
            content_type: mimetype,
            replace: existing.iter().any(|e| e == &local).then(|| local.clone()),
        };
        let body = response.bytes_stream().map(|chunk| chunk.map_err(|e| error_chain(&e)));
        let stored = self
            .put_attachment(&Editor::operator(), id, upload, Box::pin(body))
            .await
            .map_err(|e| e.to_string())?;
        Ok(stored.id)
    }

    /// Looks up record ids sampled from the source's Search API v1 in the copy.
    async fn check_record_ids(&self, source: &Source, id: &str, notes: &mut Vec<String>) {
        let rows = ID_SAMPLE.to_string();
        let url = source
            .url(&["api", "records", "1.0", "search", ""], &[("dataset", id), ("rows", &rows)]);
        let sample: Vec<String> = match source.json(&url).await {
            Ok(Ok(answer)) => answer
                .get("records")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| r.get("recordid").and_then(Value::as_str).map(str::to_owned))
                .collect(),
            _ => {
                notes.push(
                    "record ids not checked: the source's Search API v1 did not answer".to_owned(),
                );
                return;
            }
        };
        let ctx = RequestContext::operator();
        let Ok(version) = self.dataset(&ctx, id).await else { return };
        let query = kleber_query::RecordsQuery::default();
        let mut missing = 0;
        for rid in &sample {
            if self.record(&ctx, &version, rid, &query).await.is_err() {
                missing += 1;
            }
        }
        if missing > 0 {
            notes.push(format!(
                "record ids differ: {missing} of {} ids sampled at the source are not found here (the source does not compute them from the values as Kleber does); records are the same, their /records/{{id}} URLs are not",
                sample.len()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_files_are_named_after_the_source() {
        let root = Path::new("/data");
        assert_eq!(
            state_path(root, "https://data.strasbourg.eu"),
            Path::new("/data/harvest/ods-data.strasbourg.eu.json")
        );
        assert_eq!(
            state_path(root, "http://127.0.0.1:8080/portal"),
            Path::new("/data/harvest/ods-127.0.0.1_8080_portal.json")
        );
    }

    #[test]
    fn annotations_keep_their_arguments() {
        let f: SourceField = serde_json::from_value(serde_json::json!({
            "name": "tags", "type": "text",
            "annotations": {"multivalued": [";"], "facet": [], "unit": ["km"]}
        }))
        .unwrap();
        assert_eq!(f.multivalued().as_deref(), Some(";"));
        let a = f.annotations();
        assert!(a.contains(&("unit".to_owned(), vec!["km".to_owned()])));
        assert!(a.contains(&("facet".to_owned(), Vec::new())));
    }

    #[test]
    fn fingerprints_follow_the_object_and_the_overrides() {
        let a = serde_json::json!({"dataset_id": "x", "metas": {"default": {"title": "X"}}});
        let b = serde_json::json!({"dataset_id": "x", "metas": {"default": {"title": "Y"}}});
        let none = Map::new();
        let mut some = Map::new();
        some.insert("publisher".to_owned(), Value::from("Ville"));
        assert_eq!(fingerprint(&a, &none), fingerprint(&a, &none));
        assert_ne!(fingerprint(&a, &none), fingerprint(&b, &none));
        assert_ne!(fingerprint(&a, &none), fingerprint(&a, &some));
    }
}
