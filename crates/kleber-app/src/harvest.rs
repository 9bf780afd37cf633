//! Harvest sources: named, stored in the catalog (schema 13), run by hand or on a schedule,
//! whatever the kind of the source (docs/harvest.md).
//!
//! - `ods`: another Opendatasoft portal ([`crate::harvest_ods`]; dataset ids are kept, as
//!   `kleber migrate` keeps them, and its state file says which datasets it copied);
//! - `ckan`: a CKAN portal's Action API ([`crate::harvest_ckan`]);
//! - `dcat`: a DCAT-AP catalog in Turtle, RDF/XML or JSON-LD, paged with Hydra
//!   ([`crate::harvest_dcat`]).
//!
//! The CKAN and DCAT harvesters turn the source into `Item`s (a dataset's metadata, the
//! files that may be its data, its attachments); this module copies them the same way:
//!
//! - each item becomes the dataset `<harvest name>-<source id>` (slugged, at most 100
//!   characters), recorded in `harvested_datasets` under the harvest's name: a harvest only
//!   writes the datasets it created, never a local dataset of the same name;
//! - an item whose fingerprint (its metadata, its files' addresses and the overrides) is the
//!   one last copied is skipped without a download; otherwise its data is downloaded with
//!   [`crate::sources::fetch`] (the portal's size and time limits) and a new version is
//!   published only when the file's digest differs from the one last published;
//! - its metadata (`title`, `description`, `keyword`, `theme`, `license`, `publisher`, ...)
//!   with the harvest's overrides over it, and its provenance in `metas.default.harvest`;
//! - datasets the source no longer yields (or the selection no longer takes) are moved to the
//!   trash when the harvest says so, else kept and marked (`harvest.at_source: false`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use kleber_ingest::{Format, ImportOptions};
use kleber_store::{HarvestRecord, Lifecycle};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::attachments::AttachmentUpload;
use crate::harvest_ods::{Copied, HarvestOptions, HarvestReport, Selection};
use crate::import::{ImportAccess, SchemaEdit};
use crate::manage::Editor;
use crate::sources::{FetchLimits, Fetched};
use crate::{App, Error, RequestContext};

/// Runs listed at most.
pub const MAX_RUNS_LISTED: usize = 100;
/// Largest API answer or catalog page read from a source: 64 MiB.
pub const MAX_DOCUMENT_BYTES: u64 = 64 << 20;
/// Ids one harvest may list.
pub const MAX_IDS: usize = 1000;
/// Metadata overrides one harvest may set.
pub const MAX_OVERRIDES: usize = 50;
/// Pages of a catalog read at most (a loop of `next` links ends there).
pub const MAX_PAGES: usize = 1000;

/// The kinds of harvest sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An Opendatasoft portal (Explore API v2.1).
    Ods,
    /// A CKAN portal (Action API).
    Ckan,
    /// A DCAT-AP catalog.
    Dcat,
}

impl Kind {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ods => "ods",
            Kind::Ckan => "ckan",
            Kind::Dcat => "dcat",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Result<Kind, String> {
        match name {
            "ods" => Ok(Kind::Ods),
            "ckan" => Ok(Kind::Ckan),
            "dcat" => Ok(Kind::Dcat),
            other => Err(format!("unknown harvest kind {other:?}: give ods, ckan or dcat")),
        }
    }
}

/// What a harvest takes and how (stored as JSON with the harvest).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HarvestConfig {
    /// The query: ODSQL `where` (ods), Solr `q` (ckan), a keyword (dcat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// CKAN's filter query `fq` (ckan only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fq: Option<String>,
    /// An explicit list of the source's dataset ids (instead of a query).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    /// Metadata set on every harvested dataset over the source's (`publisher`, `theme`,
    /// `license`, ...); `null` removes one.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub overrides: Map<String, Value>,
    /// Whether datasets gone from the source are moved to the trash (else kept and marked).
    #[serde(default)]
    pub delete_missing: bool,
    /// The names of the headers sent to the source (their values are stored encrypted, in
    /// `harvests.secrets`, and never shown).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub header_names: Vec<String>,
}

/// A harvest as given (API body, command line).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarvestSpec {
    /// Its name (default: from the source's host name).
    #[serde(default)]
    pub name: Option<String>,
    /// `ods`, `ckan` or `dcat`.
    pub kind: String,
    /// The portal's or catalog's address.
    pub url: String,
    /// The query.
    #[serde(default)]
    pub query: Option<String>,
    /// CKAN's `fq`.
    #[serde(default)]
    pub fq: Option<String>,
    /// Source dataset ids.
    #[serde(default)]
    pub ids: Vec<String>,
    /// Metadata overrides.
    #[serde(default)]
    pub overrides: Map<String, Value>,
    /// Whether datasets gone from the source are moved to the trash.
    #[serde(default)]
    pub delete_missing: bool,
    /// A cron schedule.
    #[serde(default)]
    pub schedule: Option<String>,
    /// The organization it belongs to (its admins manage it, the datasets it creates go
    /// there); none: the portal's (portal admins only).
    #[serde(default)]
    pub organization: Option<String>,
    /// Headers sent with every request to the source's own host (credentials: CKAN's
    /// `Authorization: <API token>`, `Authorization: Basic ...`), stored encrypted and never
    /// shown back. `None` keeps the headers stored before; an empty map removes them.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// An Opendatasoft API key (kind `ods` only): sent as `Authorization: Apikey <key>`,
    /// stored like the headers.
    #[serde(default)]
    pub apikey: Option<String>,
}

/// A harvest as shown.
#[derive(Debug, Clone, Serialize)]
pub struct HarvestView {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// The source's address.
    pub url: String,
    /// What it takes and how.
    #[serde(flatten)]
    pub config: HarvestConfig,
    /// Its schedule.
    pub schedule: Option<String>,
    /// When the scheduler runs it next.
    pub next_run: Option<String>,
    /// Whether its last run failed (or failed for some datasets).
    pub failing: bool,
    /// Datasets it created that are in the catalog.
    pub datasets: usize,
    /// When it was created.
    pub created_at: String,
    /// When it was last set.
    pub updated_at: String,
    /// Its organization (`None`: the portal's).
    pub organization: Option<String>,
}

/// A run as shown.
#[derive(Debug, Clone, Serialize)]
pub struct HarvestRunView {
    /// Its number.
    pub id: i64,
    /// The harvest.
    pub harvest: String,
    /// `manual` or `schedule`.
    pub trigger: String,
    /// When it started.
    pub started_at: String,
    /// When it ended.
    pub ended_at: Option<String>,
    /// `running`, `done`, `partial` or `failed`.
    pub outcome: String,
    /// Datasets copied, unchanged, removed, kept, failed, and records.
    pub counts: Option<Value>,
    /// What failed.
    pub error: Option<String>,
}

impl From<kleber_store::HarvestRun> for HarvestRunView {
    fn from(r: kleber_store::HarvestRun) -> Self {
        HarvestRunView {
            id: r.id,
            harvest: r.harvest,
            trigger: r.trigger,
            started_at: r.started_at,
            ended_at: r.ended_at,
            outcome: r.outcome,
            counts: r.counts.and_then(|c| serde_json::from_str(&c).ok()),
            error: r.error,
        }
    }
}

/// A file of a source's dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Resource {
    /// Where it is downloaded.
    pub url: String,
    /// Its title, if the source gives one.
    pub title: Option<String>,
    /// Its format as the source says it (`CSV`, `text/csv`, a file-type IRI...).
    pub format: Option<String>,
    /// Its media type, if the source gives one.
    pub mimetype: Option<String>,
}

impl Resource {
    /// The input format Kleber reads it as, from its format, media type, or URL extension.
    pub(crate) fn readable(&self) -> Option<Format> {
        let from_name = |s: &str| {
            let s = s.trim().trim_start_matches('.').to_ascii_lowercase();
            let last = s.rsplit(['/', '#']).next().unwrap_or(&s).to_owned();
            match last.as_str() {
                "csv" | "text/csv" | "tsv" => Some(Format::Csv),
                "geojson" | "geo+json" => Some(Format::GeoJson),
                "json" => Some(Format::Json),
                "jsonl" | "ndjson" | "x-ndjson" => Some(Format::Jsonl),
                "xlsx"
                | "xls"
                | "vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                | "vnd.ms-excel" => Some(Format::Xlsx),
                "ods" | "vnd.oasis.opendocument.spreadsheet" => Some(Format::Ods),
                "kml" | "vnd.google-earth.kml+xml" => Some(Format::Kml),
                "gpx" | "gpx+xml" => Some(Format::Gpx),
                "parquet" | "vnd.apache.parquet" => Some(Format::Parquet),
                "gpkg" | "geopackage+sqlite3" => Some(Format::GeoPackage),
                _ => None,
            }
        };
        self.format
            .as_deref()
            .and_then(from_name)
            .or_else(|| self.mimetype.as_deref().and_then(from_name))
            .or_else(|| {
                let path = url::Url::parse(&self.url).ok()?.path().to_owned();
                let name = path.rsplit('/').next()?.to_owned();
                let (_, ext) = name.rsplit_once('.')?;
                Format::from_extension(ext).filter(|f| *f != Format::Shapefile)
            })
    }

    /// A file name for it: the last segment of its URL, else `file`, with the format's
    /// extension when it has none.
    fn file_name(&self, format: Option<Format>) -> String {
        let last = url::Url::parse(&self.url)
            .ok()
            .and_then(|u| u.path_segments()?.next_back().map(str::to_owned))
            .unwrap_or_default();
        let mut name: String = last
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' })
            .collect();
        name = name.trim_matches(['.', '_']).chars().take(100).collect();
        if name.is_empty() {
            name = "file".to_owned();
        }
        if let Some(f) = format
            && Format::from_extension(name.rsplit_once('.').map_or("", |(_, e)| e)) != Some(f)
        {
            name.push('.');
            name.push_str(extension(f));
        }
        name
    }
}

fn extension(f: Format) -> &'static str {
    match f {
        Format::Csv => "csv",
        Format::Json => "json",
        Format::Jsonl => "jsonl",
        Format::GeoJson => "geojson",
        Format::Xlsx => "xlsx",
        Format::Kml => "kml",
        Format::Gpx => "gpx",
        Format::Ods => "ods",
        Format::Shapefile => "zip",
        Format::GeoPackage => "gpkg",
        Format::Parquet => "parquet",
    }
}

/// A dataset of a CKAN or DCAT source, ready to be copied.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Item {
    /// Its identifier at the source.
    pub source_id: String,
    /// Its page (or IRI) at the source.
    pub source_url: Option<String>,
    /// `metas.default` values (`title`, `description`, `keyword`, ...).
    pub metas: Map<String, Value>,
    /// The files that may be its data, in the source's order (the first readable one is).
    pub data: Vec<Resource>,
    /// Other files, stored as attachments.
    pub attachments: Vec<Resource>,
    /// Links that are not files (an access page, an API), kept in the provenance.
    pub links: Vec<Resource>,
    /// What the harvester could not carry over.
    #[serde(skip)]
    pub notes: Vec<String>,
}

/// Why a source could not be harvested at all (a dataset that fails is reported, not this).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceFailure(pub String);

/// What the CKAN and DCAT harvesters need: an HTTP client, the limits, the harvest's headers
/// and the origin they are sent to.
pub(crate) struct Fetcher {
    pub client: reqwest::Client,
    pub limits: FetchLimits,
    /// The harvest's headers (credentials).
    pub headers: Vec<(String, String)>,
    /// The source's origin: the headers go to it only, never to another host a catalog
    /// links to (a file on a CDN, another portal), which would receive the credentials.
    pub origin: Option<url::Origin>,
}

impl Fetcher {
    /// The headers to send to `url`: the harvest's for the source's own origin, else none.
    pub(crate) fn headers_for(&self, url: &str) -> &[(String, String)] {
        match (&self.origin, url::Url::parse(url)) {
            (Some(origin), Ok(u)) if u.origin() == *origin => self.headers.as_slice(),
            _ => &[],
        }
    }

    /// GETs a document (an API answer, a catalog page) within the limits; its bytes and
    /// `Content-Type`. Statuses other than 2xx are errors naming the URL.
    pub(crate) async fn document(
        &self,
        url: &str,
        accept: &str,
    ) -> Result<(u16, Vec<u8>, Option<String>), SourceFailure> {
        let limit = MAX_DOCUMENT_BYTES.min(self.limits.max_bytes.max(1 << 20));
        let exchange = async {
            let mut request = self.client.get(url).header(reqwest::header::ACCEPT, accept);
            for (name, value) in self.headers_for(url) {
                request = request.header(name.as_str(), value.as_str());
            }
            let response = request
                .send()
                .await
                .map_err(|e| SourceFailure(format!("cannot reach {url}: {}", chain(&e))))?;
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let mut body = Vec::new();
            let mut stream = response.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let chunk =
                    chunk.map_err(|e| SourceFailure(format!("{url} broke off: {}", chain(&e))))?;
                if (body.len() + chunk.len()) as u64 > limit {
                    return Err(SourceFailure(format!(
                        "{url} sends more than {limit} bytes: not a catalog page this harvester reads"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            Ok((status, body, content_type))
        };
        match tokio::time::timeout(self.limits.timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(SourceFailure(format!(
                "{url} did not answer within {} s",
                self.limits.timeout.as_secs()
            ))),
        }
    }
}

/// An error with its causes.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
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

/// Lowercase ASCII letters and digits, other runs as one `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in deunicode::deunicode(text).chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// The local id of source dataset `source_id` harvested by `harvest`: `<harvest>-<slug>`,
/// at most 100 characters (a longer one ends with 8 hex digits of its SHA-256, so two long
/// ids stay apart).
pub fn derive_id(harvest: &str, source_id: &str) -> String {
    // An IRI (a DCAT dataset without dct:identifier) is named by its last segment.
    let name = if source_id.starts_with("http://") || source_id.starts_with("https://") {
        source_id.trim_end_matches('/').rsplit(['/', '#']).next().unwrap_or(source_id)
    } else {
        source_id
    };
    let mut id = format!("{harvest}-{}", slug(name));
    if id.ends_with('-') {
        id.push_str("dataset");
    }
    if id.len() > 100 {
        let digest = Sha256::digest(source_id.as_bytes());
        let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        id.truncate(91);
        let id = id.trim_end_matches('-');
        return format!("{id}-{hex}");
    }
    id
}

/// The default name of a harvest of `url`: its host (and port), slugged.
pub fn default_name(url: &str) -> String {
    let parsed = url::Url::parse(url).ok();
    let host = parsed
        .as_ref()
        .map(|u| {
            let mut h = u.host_str().unwrap_or_default().to_owned();
            if let Some(p) = u.port() {
                h.push_str(&format!("-{p}"));
            }
            h
        })
        .unwrap_or_default();
    let name = slug(&host);
    if name.is_empty() { "harvest".to_owned() } else { name.chars().take(40).collect() }
}

/// Checks a harvest name.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid harvest name {name:?}: give 1 to 40 lowercase letters, digits and '-', starting with a letter or digit, e.g. \"city-ckan\""
        ))
    }
}

impl HarvestSpec {
    /// Checks the spec; its kind, name and configuration.
    pub fn check(&self) -> Result<(Kind, String, HarvestConfig), String> {
        let kind = Kind::parse(self.kind.trim())?;
        crate::sources::check_url(self.url.trim())?;
        let name = match &self.name {
            Some(n) => n.trim().to_owned(),
            None => default_name(self.url.trim()),
        };
        check_name(&name)?;
        if let Some(s) = &self.schedule {
            crate::schedule::parse_schedule(s)?;
        }
        if self.organization.is_some() && kind == Kind::Ods {
            return Err("an Opendatasoft harvest keeps the source's dataset ids, which are the portal's: it belongs to no organization (leave organization out; portal admins set it)".to_owned());
        }
        let query = self.query.as_deref().map(str::trim).filter(|q| !q.is_empty());
        let fq = self.fq.as_deref().map(str::trim).filter(|q| !q.is_empty());
        for (what, q) in [("query", query), ("fq", fq)] {
            if q.is_some_and(|q| q.len() > 2000) {
                return Err(format!("the {what} is longer than 2000 bytes"));
            }
        }
        if fq.is_some() && kind != Kind::Ckan {
            return Err("fq is CKAN's filter query: give it with kind ckan only (ods takes a `where` as query, dcat a keyword)".to_owned());
        }
        if (query.is_some() || fq.is_some()) && !self.ids.is_empty() {
            return Err(
                "give either a query or a list of ids, not both: the ids select the datasets"
                    .to_owned(),
            );
        }
        if self.ids.len() > MAX_IDS {
            return Err(format!("{} ids: at most {MAX_IDS} may be listed", self.ids.len()));
        }
        let ids: Vec<String> =
            self.ids.iter().map(|i| i.trim().to_owned()).filter(|i| !i.is_empty()).collect();
        if let Some(bad) = ids.iter().find(|i| i.len() > 500 || i.chars().any(char::is_control)) {
            return Err(format!("invalid dataset id {bad:?} in ids"));
        }
        if self.overrides.len() > MAX_OVERRIDES {
            return Err(format!("at most {MAX_OVERRIDES} metadata overrides may be set"));
        }
        for key in self.overrides.keys() {
            let ok = !key.is_empty()
                && key.len() <= 50
                && key.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            if !ok || key == "harvest" {
                return Err(format!(
                    "invalid override {key:?}: a metadata name in lowercase letters and '_' (publisher, license, keyword, theme, ...), not `harvest`"
                ));
            }
        }
        if self.overrides.get("title").is_some_and(|t| !t.is_string()) {
            return Err("the title override must be a text".to_owned());
        }
        let headers = self.checked_headers(kind)?;
        let config = HarvestConfig {
            query: query.map(str::to_owned),
            fq: fq.map(str::to_owned),
            ids,
            overrides: self.overrides.clone(),
            delete_missing: self.delete_missing,
            header_names: headers
                .as_ref()
                .map(|h| h.iter().map(|(k, _)| k.clone()).collect())
                .unwrap_or_default(),
        };
        Ok((kind, name, config))
    }

    /// The headers given (`headers`, and `apikey` as `Authorization: Apikey <key>`), checked;
    /// `None`: none given (the stored ones are kept).
    pub fn checked_headers(&self, kind: Kind) -> Result<Option<Vec<(String, String)>>, String> {
        let apikey = self.apikey.as_deref().map(str::trim).filter(|k| !k.is_empty());
        if apikey.is_some() && kind != Kind::Ods {
            return Err("apikey is an Opendatasoft API key: give it with kind ods only (CKAN takes its API token as a header, `Authorization: <token>`)".to_owned());
        }
        if self.headers.is_none() && apikey.is_none() {
            return Ok(None);
        }
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .flatten()
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        if let Some(key) = apikey {
            if headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("authorization")) {
                return Err(
                    "give the API key either as apikey or as an Authorization header, not both"
                        .to_owned(),
                );
            }
            headers.push(("Authorization".to_owned(), format!("Apikey {key}")));
        }
        if headers.len() > crate::sources::MAX_HEADERS {
            return Err(format!("a harvest sends at most {} headers", crate::sources::MAX_HEADERS));
        }
        let mut seen = BTreeSet::new();
        for (name, value) in &headers {
            crate::sources::check_header(name, value)?;
            if !seen.insert(name.to_ascii_lowercase()) {
                return Err(format!("header {name:?} is given twice"));
            }
        }
        Ok(Some(headers))
    }
}

fn config_of(record: &HarvestRecord) -> Result<HarvestConfig, Error> {
    serde_json::from_str(&record.config).map_err(|e| {
        Error::Internal(format!("the configuration of harvest {} is unreadable: {e}", record.name))
    })
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// When harvest `record` runs next (`None`: not scheduled).
pub fn next_run_of(record: &HarvestRecord, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let cron = crate::schedule::parse_schedule(record.schedule.as_deref()?).ok()?;
    let base = record.last_run_at.as_deref().unwrap_or(&record.updated_at);
    crate::schedule::next_after(&cron, tz, parse_time(base)?)
}

/// What a harvest's sealed headers are bound to (a dataset's are bound to its uid).
fn secrets_aad(name: &str) -> String {
    format!("harvest:{name}")
}

/// The key of a harvest in the set of runs under way (beside datasets' uids).
fn running_key(name: &str) -> String {
    format!("harvest:{name}")
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The counts of a report, as stored with its run.
pub fn counts(report: &HarvestReport) -> Value {
    json!({
        "selected": report.selected,
        "copied": report.copied.len(),
        "unchanged": report.unchanged.len(),
        "removed": report.removed.len(),
        "kept": report.kept.len(),
        "failed": report.failed.len(),
        "records": report.records(),
    })
}

/// Whether `editor` manages the harvests of `organization` (`None`: the portal's): portal
/// admins manage every harvest, an organization's admins their organization's.
pub fn may_manage_harvest(editor: &Editor, organization: Option<&str>) -> bool {
    let p = editor.principal();
    crate::policy::may_admin_portal(p)
        || organization.is_some_and(|o| crate::policy::may_admin(p, o))
}

impl App {
    /// Refuses who manages no harvest at all: neither a portal admin nor an admin of an
    /// organization.
    async fn check_harvest_admin(&self, editor: &Editor) -> Result<(), Error> {
        if crate::policy::may_admin_portal(editor.principal())
            || !self.harvest_orgs(editor).await?.is_empty()
        {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "Only portal admins and organizations' admins (with the admin scope, for a key) manage harvests.".to_owned(),
            ))
        }
    }

    /// The organizations (id, name) whose harvests `editor` manages.
    pub async fn harvest_orgs(&self, editor: &Editor) -> Result<Vec<(String, String)>, Error> {
        let orgs = self.on_store(|store| Ok(store.catalog().list_orgs()?)).await?;
        Ok(orgs
            .into_iter()
            .filter(|o| crate::policy::may_admin(editor.principal(), &o.id))
            .map(|o| (o.id, o.name))
            .collect())
    }

    fn harvest_view(&self, record: &HarvestRecord, datasets: usize) -> Result<HarvestView, Error> {
        let tz = self.sources.settings().timezone;
        Ok(HarvestView {
            name: record.name.clone(),
            kind: record.kind.clone(),
            url: record.url.clone(),
            config: config_of(record)?,
            schedule: record.schedule.clone(),
            next_run: next_run_of(record, tz)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            failing: record.failing,
            datasets,
            created_at: record.created_at.clone(),
            updated_at: record.updated_at.clone(),
            organization: record.organization.clone(),
        })
    }

    /// Creates or replaces a harvest: portal admins any, an organization's admins those of
    /// their organization (never one of another organization of the same name).
    pub async fn set_harvest(
        &self,
        editor: &Editor,
        spec: HarvestSpec,
    ) -> Result<HarvestView, Error> {
        self.check_harvest_admin(editor).await?;
        let (kind, name, mut config) = spec.check().map_err(Error::InvalidBody)?;
        let headers = spec.checked_headers(kind).map_err(Error::InvalidBody)?;
        let organization = spec
            .organization
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned);
        if !may_manage_harvest(editor, organization.as_deref()) {
            return Err(Error::Forbidden(match &organization {
                Some(o) => format!("You are not an admin of organization {o:?}: give one of yours."),
                None => "A harvest without organization is the portal's: only portal admins set one; give your organization.".to_owned(),
            }));
        }
        let (actor, url, schedule) =
            (editor.actor().clone(), spec.url.trim().to_owned(), spec.schedule.clone());
        let (n2, e2) = (name.clone(), editor.clone());
        self.on_store(move |store| {
            let c = store.catalog();
            if let Some(org) = &organization
                && c.get_org(org)?.is_none()
            {
                return Err(Error::InvalidBody(format!("No organization {org:?}.")));
            }
            let existing = c.harvest(&n2)?;
            if let Some(existing) = &existing
                && !may_manage_harvest(&e2, existing.organization.as_deref())
            {
                return Err(Error::Conflict(format!(
                    "The harvest name {n2:?} is taken: choose another name."
                )));
            }
            // The headers: sealed when given, else those stored before (a harvest set again
            // without its headers, e.g. to change its schedule, keeps its credentials).
            let secrets = match &headers {
                Some(h) if h.is_empty() => None,
                Some(h) => Some(crate::sources::seal(store, &secrets_aad(&n2), h)?),
                None => match &existing {
                    Some(e) => {
                        config.header_names = config_of(e)?.header_names;
                        e.secrets.clone()
                    }
                    None => None,
                },
            };
            let text = serde_json::to_string(&config).map_err(Error::internal)?;
            c.set_harvest(
                &actor,
                &n2,
                kind.as_str(),
                &url,
                &text,
                schedule.as_deref(),
                organization.as_deref(),
                secrets.as_deref(),
            )?;
            Ok(())
        })
        .await?;
        self.harvest(editor, &name).await
    }

    /// Harvest `name`, if `editor` manages it (one of another organization is not found).
    pub async fn harvest(&self, editor: &Editor, name: &str) -> Result<HarvestView, Error> {
        self.check_harvest_admin(editor).await?;
        let (n, e) = (name.to_owned(), editor.clone());
        let (record, datasets) = self
            .on_store(move |store| {
                let c = store.catalog();
                let Some(r) = c.harvest(&n)? else { return Ok(None) };
                if !may_manage_harvest(&e, r.organization.as_deref()) {
                    return Ok(None);
                }
                let count = c.harvested(&n)?.len();
                Ok(Some((r, count)))
            })
            .await?
            .ok_or_else(|| Error::NotFound(format!("No harvest named {name:?}.")))?;
        self.harvest_view(&record, datasets)
    }

    /// The harvests `editor` manages (portal admins: every one).
    pub async fn harvests(&self, editor: &Editor) -> Result<Vec<HarvestView>, Error> {
        self.check_harvest_admin(editor).await?;
        let e = editor.clone();
        let rows = self
            .on_store(move |store| {
                let c = store.catalog();
                let mut out = Vec::new();
                for r in c.harvests()? {
                    if !may_manage_harvest(&e, r.organization.as_deref()) {
                        continue;
                    }
                    let n = c.harvested(&r.name)?.len();
                    out.push((r, n));
                }
                Ok(out)
            })
            .await?;
        rows.iter().map(|(r, n)| self.harvest_view(r, *n)).collect()
    }

    /// Deletes harvest `name` (its datasets stay, as local datasets), if `editor` manages it.
    pub async fn delete_harvest(&self, editor: &Editor, name: &str) -> Result<(), Error> {
        self.harvest(editor, name).await?;
        let (n, actor) = (name.to_owned(), editor.actor().clone());
        let found =
            self.on_store(move |store| Ok(store.catalog().delete_harvest(&actor, &n)?)).await?;
        if found { Ok(()) } else { Err(Error::NotFound(format!("No harvest named {name:?}."))) }
    }

    /// The last runs of harvest `name`, newest first, if `editor` manages it.
    pub async fn harvest_runs(
        &self,
        editor: &Editor,
        name: &str,
    ) -> Result<Vec<HarvestRunView>, Error> {
        self.harvest(editor, name).await?;
        let n = name.to_owned();
        let runs = self
            .on_store(move |store| Ok(store.catalog().harvest_runs(&n, MAX_RUNS_LISTED)?))
            .await?;
        Ok(runs.into_iter().map(HarvestRunView::from).collect())
    }

    /// Runs harvest `name` now, if `editor` manages it: the run recorded and the report. A run
    /// of the same harvest under way is a conflict.
    pub async fn run_harvest(
        &self,
        editor: &Editor,
        name: &str,
    ) -> Result<(HarvestRunView, HarvestReport), Error> {
        self.harvest(editor, name).await?;
        let n = name.to_owned();
        let record = self
            .on_store(move |store| Ok(store.catalog().harvest(&n)?))
            .await?
            .ok_or_else(|| Error::NotFound(format!("No harvest named {name:?}.")))?;
        if !self.sources.begin(&running_key(name)) {
            return Err(Error::Conflict(format!(
                "Harvest {name:?} is running already; wait for it to end."
            )));
        }
        let out = self.run_harvest_record(&record, "manual").await;
        self.sources.end(&running_key(name));
        out
    }

    /// Runs a harvest and records the run.
    async fn run_harvest_record(
        &self,
        record: &HarvestRecord,
        trigger: &'static str,
    ) -> Result<(HarvestRunView, HarvestReport), Error> {
        let (n, t) = (record.name.clone(), trigger);
        let run = self.on_store(move |store| Ok(store.catalog().start_harvest_run(&n, t)?)).await?;
        let result = self.harvest_now(record).await;
        let (outcome, counts, error, report) = match result {
            Ok(report) => {
                let outcome = if report.failed.is_empty() { "done" } else { "partial" };
                let error = (!report.failed.is_empty()).then(|| {
                    report
                        .failed
                        .iter()
                        .map(|(id, why)| format!("{id}: {why}"))
                        .collect::<Vec<_>>()
                        .join("; ")
                });
                (outcome, Some(counts(&report).to_string()), error, report)
            }
            Err(e) => (
                "failed",
                None,
                Some(e.clone()),
                HarvestReport { source: record.url.clone(), ..HarvestReport::default() },
            ),
        };
        let run_error = error.clone();
        let name = record.name.clone();
        let view = self
            .on_store(move |store| {
                let c = store.catalog();
                c.finish_harvest_run(run, outcome, counts.as_deref(), run_error.as_deref())?;
                Ok(c.harvest_runs(&name, 1)?.into_iter().next())
            })
            .await?
            .map(HarvestRunView::from)
            .ok_or_else(|| Error::Internal("the harvest run was not recorded".to_owned()))?;
        if outcome == "failed" {
            return Err(Error::UnreadableFile(error.unwrap_or_default()));
        }
        Ok((view, report))
    }

    /// Harvests `record`'s source into the catalog; the error says why the source could not
    /// be harvested at all.
    async fn harvest_now(&self, record: &HarvestRecord) -> Result<HarvestReport, String> {
        let config = config_of(record).map_err(|e| e.to_string())?;
        let kind = Kind::parse(&record.kind)?;
        let started = Instant::now();
        let headers = match &record.secrets {
            Some(blob) => {
                let (store, aad, blob) =
                    (self.store_arc(), secrets_aad(&record.name), blob.clone());
                tokio::task::spawn_blocking(move || {
                    crate::sources::open_sealed(&store, &aad, &blob)
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?
            }
            None => Vec::new(),
        };
        let fetcher = Fetcher {
            client: self.sources.client().map_err(|e| e.to_string())?,
            limits: self.sources.settings().limits,
            origin: url::Url::parse(record.url.trim()).ok().map(|u| u.origin()),
            headers,
        };
        let mut report = match kind {
            Kind::Ods => {
                let mut options = HarvestOptions::new(record.url.clone());
                options.selection = match (&config.query, config.ids.is_empty()) {
                    (Some(q), _) => Selection::Where(q.clone()),
                    (None, false) => Selection::Ids(config.ids.clone()),
                    _ => Selection::All,
                };
                options.overrides = config.overrides.clone();
                options.remove_deleted = config.delete_missing;
                options.headers = fetcher.headers.clone();
                let report =
                    self.harvest_ods(&options, &mut |_| {}).await.map_err(|e| e.to_string())?;
                self.mark_ods_provenance(record, &report).await;
                return Ok(report);
            }
            Kind::Ckan => {
                let (items, missing) = crate::harvest_ckan::collect(&fetcher, &record.url, &config)
                    .await
                    .map_err(|SourceFailure(e)| e)?;
                self.copy_items(record, &config, &fetcher, items, missing).await
            }
            Kind::Dcat => {
                let (items, missing) = crate::harvest_dcat::collect(&fetcher, &record.url, &config)
                    .await
                    .map_err(|SourceFailure(e)| e)?;
                self.copy_items(record, &config, &fetcher, items, missing).await
            }
        };
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Adds the provenance to the datasets an Opendatasoft harvest copied.
    async fn mark_ods_provenance(&self, record: &HarvestRecord, report: &HarvestReport) {
        let base = record.url.trim_end_matches('/').to_owned();
        for c in &report.copied {
            let provenance = json!({
                "harvester": "ods",
                "name": record.name,
                "source": base,
                "source_id": c.id,
                "source_url": format!("{base}/explore/dataset/{}/", c.id),
                "harvested_at": now_text(),
                "at_source": true,
            });
            let mut patch = Map::new();
            patch.insert("harvest".to_owned(), provenance);
            if let Err(e) = self.update_metas(&RequestContext::operator(), &c.id, patch).await {
                tracing::warn!(dataset = %c.id, error = %e, "the provenance could not be stored");
            }
        }
    }

    /// Copies the items of a CKAN or DCAT source (see the module).
    async fn copy_items(
        &self,
        record: &HarvestRecord,
        config: &HarvestConfig,
        fetcher: &Fetcher,
        items: Vec<Item>,
        missing: Vec<String>,
    ) -> HarvestReport {
        let name = record.name.clone();
        let mut report = HarvestReport {
            source: record.url.clone(),
            selected: items.len() + missing.len(),
            ..HarvestReport::default()
        };
        for id in missing {
            report.failed.push((id, "the source has no such dataset".to_owned()));
        }
        let n = name.clone();
        let known = match self.on_store(move |store| Ok(store.catalog().harvested(&n)?)).await {
            Ok(list) => list,
            Err(e) => {
                report.failed.push(("*".to_owned(), format!("the harvest's records: {e}")));
                return report;
            }
        };
        let known: BTreeMap<String, kleber_store::HarvestedDataset> =
            known.into_iter().map(|h| (h.source_id.clone(), h)).collect();
        let tmp = self.store.root().join("tmp").join(format!("harvest-{name}"));
        let _ = tokio::fs::remove_dir_all(&tmp).await;
        if let Err(e) = tokio::fs::create_dir_all(&tmp).await {
            report.failed.push(("*".to_owned(), format!("cannot create {}: {e}", tmp.display())));
            return report;
        }
        let mut seen = BTreeSet::new();
        let mut taken = BTreeSet::new();
        for item in items {
            if !seen.insert(item.source_id.clone()) {
                continue;
            }
            let local = known
                .get(&item.source_id)
                .map_or_else(|| derive_id(&name, &item.source_id), |k| k.dataset_id.clone());
            if !taken.insert(local.clone()) {
                report.failed.push((
                    item.source_id.clone(),
                    format!("its dataset id {local} is another source dataset's here"),
                ));
                continue;
            }
            match self
                .copy_item(record, config, fetcher, &item, &local, known.get(&item.source_id), &tmp)
                .await
            {
                Ok(CopyOutcome::Unchanged) => report.unchanged.push(local),
                Ok(CopyOutcome::Copied(copied, notes)) => {
                    for note in notes {
                        report.notes.push((local.clone(), note));
                    }
                    report.copied.push(copied);
                }
                Err(why) => report.failed.push((local, why)),
            }
        }
        let _ = tokio::fs::remove_dir_all(&tmp).await;
        // Datasets this harvest created that the source no longer yields.
        for (source_id, k) in &known {
            if seen.contains(source_id)
                || (!config.ids.is_empty() && !config.ids.contains(source_id))
            {
                continue;
            }
            if config.delete_missing {
                match self
                    .change_lifecycle(&Editor::operator(), &k.dataset_id, Lifecycle::Delete)
                    .await
                {
                    Ok(_) | Err(Error::DatasetNotFound(_)) => {
                        let (n, s) = (name.clone(), source_id.clone());
                        let _ = self
                            .on_store(move |store| Ok(store.catalog().forget_harvested(&n, &s)?))
                            .await;
                        report.removed.push(k.dataset_id.clone());
                    }
                    Err(e) => report
                        .failed
                        .push((k.dataset_id.clone(), format!("could not be removed: {e}"))),
                }
            } else {
                if k.gone_at.is_none() {
                    let (n, s, at) = (name.clone(), source_id.clone(), now_text());
                    let marked = self
                        .on_store(move |store| {
                            Ok(store.catalog().mark_harvested_gone(&n, &s, Some(&at))?)
                        })
                        .await;
                    let provenance = self.provenance_of(&k.dataset_id).await;
                    if let (Ok(()), Some(mut p)) = (marked, provenance) {
                        p.insert("at_source".to_owned(), Value::Bool(false));
                        let mut patch = Map::new();
                        patch.insert("harvest".to_owned(), Value::Object(p));
                        let _ = self
                            .update_metas(&RequestContext::operator(), &k.dataset_id, patch)
                            .await;
                    }
                }
                report.kept.push(k.dataset_id.clone());
            }
        }
        report
    }

    async fn provenance_of(&self, id: &str) -> Option<Map<String, Value>> {
        let id = id.to_owned();
        self.on_store(move |store| Ok(store.catalog().managed_dataset(&id)?))
            .await
            .ok()
            .flatten()
            .and_then(|d| d.metas.get("harvest").and_then(Value::as_object).cloned())
    }

    /// Copies one item into dataset `local`.
    #[allow(clippy::too_many_arguments)]
    async fn copy_item(
        &self,
        record: &HarvestRecord,
        config: &HarvestConfig,
        fetcher: &Fetcher,
        item: &Item,
        local: &str,
        known: Option<&kleber_store::HarvestedDataset>,
        tmp: &Path,
    ) -> Result<CopyOutcome, String> {
        if !kleber_store::is_valid_dataset_id(local) {
            return Err(format!("{local:?} is not a dataset id Kleber accepts"));
        }
        let l = local.to_owned();
        let existing = self
            .on_store(move |store| Ok(store.catalog().managed_dataset(&l)?))
            .await
            .map_err(|e| e.to_string())?;
        if existing.is_some() && known.is_none() {
            return Err(format!(
                "a dataset {local} exists here and was not created by harvest {}: it is left as it is (rename the harvest, or remove that dataset)",
                record.name
            ));
        }
        let current = existing.as_ref().is_some_and(|d| d.current_version.is_some());
        let print = {
            let mut h = Sha256::new();
            h.update(serde_json::to_vec(item).unwrap_or_default());
            h.update([0]);
            h.update(Value::Object(config.overrides.clone()).to_string().as_bytes());
            h.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        if current && known.is_some_and(|k| k.fingerprint == print && k.gone_at.is_none()) {
            return Ok(CopyOutcome::Unchanged);
        }
        let mut notes = item.notes.clone();
        // The data: the first file Kleber reads.
        let readable: Vec<(&Resource, Format)> =
            item.data.iter().filter_map(|r| r.readable().map(|f| (r, f))).collect();
        if readable.is_empty() {
            return Err(format!(
                "no file of this dataset is in a format Kleber reads as data ({}): nothing published",
                if item.data.is_empty() && item.attachments.is_empty() {
                    "it has none".to_owned()
                } else {
                    item.data
                        .iter()
                        .chain(&item.attachments)
                        .map(|r| r.format.clone().unwrap_or_else(|| r.url.clone()))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ));
        }
        let mut chosen = None;
        let mut tried = Vec::new();
        for (i, (resource, format)) in readable.iter().enumerate() {
            let path = tmp.join(format!(
                "{}-{i}.{}",
                sha256_hex(local.as_bytes()).get(..12).unwrap_or("x"),
                extension(*format)
            ));
            match crate::sources::fetch(
                &fetcher.client,
                &resource.url,
                fetcher.headers_for(&resource.url),
                None,
                &fetcher.limits,
                &path,
            )
            .await
            {
                Ok(Fetched::Body { sha256, .. }) => {
                    let digest: String = sha256.iter().map(|b| format!("{b:02x}")).collect();
                    chosen = Some((i, path, digest, *format));
                    break;
                }
                Ok(Fetched::NotModified) => {
                    tried.push(format!("{}: 304 without a request validator", resource.url))
                }
                Err(e) => tried.push(e.to_string()),
            }
        }
        let Some((index, path, digest, format)) = chosen else {
            return Err(format!("its data could not be downloaded ({})", tried.join("; ")));
        };
        let resource = readable[index].0;
        if readable.len() > 1 {
            notes.push(format!(
                "{} files could be its data: the first one Kleber reads is, {} ({}); the others are {}",
                readable.len(),
                resource.url,
                format.name(),
                if record.kind == "dcat" { "listed in its provenance" } else { "attachments" }
            ));
        }
        let l = local.to_owned();
        let mut records = self
            .on_store(move |store| Ok(store.get_dataset(&l)?))
            .await
            .ok()
            .flatten()
            .map_or(0, |d| u64::try_from(d.version.records_count).unwrap_or(0));
        let unchanged_data =
            current && known.and_then(|k| k.data_digest.as_deref()) == Some(digest.as_str());
        if unchanged_data {
            let _ = tokio::fs::remove_file(&path).await;
        } else {
            let store = self.store_arc();
            let organization = record.organization.clone();
            let (l, url, title) = (
                local.to_owned(),
                resource.url.clone(),
                item.metas.get("title").and_then(Value::as_str).map(str::to_owned),
            );
            let result = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
                let options = ImportOptions { format: Some(format), ..ImportOptions::default() };
                let access = ImportAccess { organization, ..ImportAccess::default() };
                let pending = crate::import::begin(&store, &l, &access)?;
                let data = pending.data_path();
                let outcome = crate::import::read_into(
                    &path,
                    &data,
                    &options,
                    &SchemaEdit::default(),
                    &mut |_| {},
                );
                let _ = std::fs::remove_file(&path);
                let outcome = outcome?;
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
                    Some(&url),
                    title.as_deref(),
                    None,
                )?;
                Ok(outcome.rows)
            })
            .await
            .map_err(|e| e.to_string())?;
            records = result.map_err(|e| {
                format!("{} cannot be read as {}: {e:#}", resource.url, format.name())
            })?;
        }
        // The metadata, the overrides, the provenance.
        let mut patch = item.metas.clone();
        for (k, v) in &config.overrides {
            patch.insert(k.clone(), v.clone());
        }
        let mut provenance = Map::new();
        provenance.insert("harvester".to_owned(), Value::from(record.kind.clone()));
        provenance.insert("name".to_owned(), Value::from(record.name.clone()));
        provenance.insert("source".to_owned(), Value::from(record.url.clone()));
        provenance.insert("source_id".to_owned(), Value::from(item.source_id.clone()));
        if let Some(u) = &item.source_url {
            provenance.insert("source_url".to_owned(), Value::from(u.clone()));
        }
        provenance.insert("data_url".to_owned(), Value::from(resource.url.clone()));
        provenance.insert("harvested_at".to_owned(), Value::from(now_text()));
        provenance.insert("at_source".to_owned(), Value::Bool(true));
        let mut links: Vec<Value> = item
            .links
            .iter()
            .map(|r| json!({"url": r.url, "title": r.title, "format": r.format}))
            .collect();
        if record.kind == "dcat" {
            for (r, _) in readable.iter().filter(|(r, _)| r.url != resource.url) {
                links.push(json!({"url": r.url, "title": r.title, "format": r.format}));
            }
        }
        if !links.is_empty() {
            provenance.insert("links".to_owned(), Value::Array(links));
        }
        patch.insert("harvest".to_owned(), Value::Object(provenance));
        self.update_metas(&RequestContext::operator(), local, patch)
            .await
            .map_err(|e| format!("the metadata could not be stored: {e}"))?;
        // The attachments.
        let mut attachments: Vec<&Resource> = item.attachments.iter().collect();
        if record.kind != "dcat" {
            attachments
                .extend(readable.iter().filter(|(r, _)| r.url != resource.url).map(|(r, _)| *r));
        }
        self.copy_resources(fetcher, local, &attachments, tmp, &mut notes).await;
        let (n, s, l, d) = (record.name.clone(), item.source_id.clone(), local.to_owned(), digest);
        self.on_store(move |store| {
            Ok(store.catalog().record_harvested(&n, &s, &l, &print, Some(&d))?)
        })
        .await
        .map_err(|e| e.to_string())?;
        Ok(CopyOutcome::Copied(
            Copied { id: local.to_owned(), records, format: Some(format.name()) },
            notes,
        ))
    }

    /// Stores `resources` as the attachments of `id` (replacing the ones of the same name,
    /// removing the ones the source no longer has).
    async fn copy_resources(
        &self,
        fetcher: &Fetcher,
        id: &str,
        resources: &[&Resource],
        tmp: &Path,
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
        let mut kept = BTreeSet::new();
        for (i, r) in resources.iter().enumerate() {
            let file_name = r.file_name(None);
            let path: PathBuf = tmp.join(format!("attachment-{i}"));
            match crate::sources::fetch(
                &fetcher.client,
                &r.url,
                fetcher.headers_for(&r.url),
                None,
                &fetcher.limits,
                &path,
            )
            .await
            {
                Ok(Fetched::Body { .. }) => {}
                Ok(Fetched::NotModified) => continue,
                Err(e) => {
                    notes.push(format!("attachment {} not copied: {e}", r.url));
                    continue;
                }
            }
            let local = crate::attachments::attachment_id(&file_name);
            let upload = AttachmentUpload {
                file_name: file_name.clone(),
                title: r.title.clone(),
                content_type: r.mimetype.clone(),
                replace: existing.iter().any(|e| e == &local).then(|| local.clone()),
            };
            let body = match tokio::fs::read(&path).await {
                Ok(b) => b,
                Err(e) => {
                    notes.push(format!("attachment {} not copied: {e}", r.url));
                    continue;
                }
            };
            let _ = tokio::fs::remove_file(&path).await;
            let stream = futures::stream::iter([Ok::<_, String>(bytes::Bytes::from(body))]);
            match self.put_attachment(&editor, id, upload, stream).await {
                Ok(a) => {
                    kept.insert(a.id);
                }
                Err(e) => notes.push(format!("attachment {} not copied: {e}", r.url)),
            }
        }
        for old in existing.iter().filter(|a| !kept.contains(*a)) {
            let _ = self.remove_attachment(&editor, id, old).await;
        }
    }

    /// Runs every scheduled harvest due at `now`, one after the other, each once however many
    /// occurrences were missed; the runs made.
    pub async fn run_due_harvests(&self, now: DateTime<Utc>) -> Result<Vec<HarvestRunView>, Error> {
        let tz = self.sources.settings().timezone;
        let at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let at2 = at.clone();
        let due: Vec<HarvestRecord> = self
            .on_store(move |store| {
                let mut due = Vec::new();
                for h in store.catalog().harvests()? {
                    if h.schedule.is_none() {
                        continue;
                    }
                    if h.last_run_at.is_none() && parse_time(&h.updated_at).is_some_and(|t| t > now)
                    {
                        store.catalog().claim_harvest_run(&h.name, None, &at2)?;
                    } else if next_run_of(&h, tz).is_some_and(|t| t <= now) {
                        due.push(h);
                    }
                }
                Ok(due)
            })
            .await?;
        let mut done = Vec::new();
        for record in due {
            if !self.sources.begin(&running_key(&record.name)) {
                continue;
            }
            let (n, previous, at) = (record.name.clone(), record.last_run_at.clone(), at.clone());
            let claimed = self
                .on_store(move |store| {
                    Ok(store.catalog().claim_harvest_run(&n, previous.as_deref(), &at)?)
                })
                .await;
            if matches!(claimed, Ok(true)) {
                match self.run_harvest_record(&record, "schedule").await {
                    Ok((run, _)) => done.push(run),
                    Err(e) => {
                        tracing::warn!(harvest = %record.name, error = %e, "a scheduled harvest failed");
                        let n = record.name.clone();
                        if let Ok(Some(run)) = self
                            .on_store(move |store| {
                                Ok(store.catalog().harvest_runs(&n, 1)?.into_iter().next())
                            })
                            .await
                        {
                            done.push(HarvestRunView::from(run));
                        }
                    }
                }
            }
            self.sources.end(&running_key(&record.name));
        }
        Ok(done)
    }
}

/// What copying an item did.
enum CopyOutcome {
    /// Nothing changed at the source.
    Unchanged,
    /// Copied (data published or kept, metadata stored), with notes.
    Copied(Copied, Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_derived_stably_and_bounded() {
        assert_eq!(derive_id("city", "Parkings en temps réel"), "city-parkings-en-temps-reel");
        let long = "x".repeat(300);
        let a = derive_id("city", &long);
        let b = derive_id("city", &format!("{long}y"));
        assert!(a.len() <= 100 && b.len() <= 100 && a != b, "{a} {b}");
        assert!(kleber_store::is_valid_dataset_id(&a));
        assert_eq!(default_name("http://127.0.0.1:8080/api/3"), "127-0-0-1-8080");
        assert_eq!(derive_id("eu", "http://x/catalog/datasets/parkings"), "eu-parkings");
    }

    #[test]
    fn headers_go_to_the_source_origin_only() {
        let f = Fetcher {
            client: reqwest::Client::new(),
            limits: FetchLimits::default(),
            headers: vec![("Authorization".to_owned(), "t0ken".to_owned())],
            origin: url::Url::parse("https://ckan.example.org/api/3").ok().map(|u| u.origin()),
        };
        assert_eq!(f.headers_for("https://ckan.example.org/files/a.csv").len(), 1);
        assert!(f.headers_for("https://cdn.example.org/a.csv").is_empty());
        assert!(f.headers_for("http://ckan.example.org/a.csv").is_empty());
        assert!(f.headers_for("https://ckan.example.org:8443/a.csv").is_empty());
        assert!(f.headers_for("not a url").is_empty());
    }

    #[test]
    fn formats_come_from_the_format_the_media_type_or_the_extension() {
        let r = |format: Option<&str>, mimetype: Option<&str>, url: &str| Resource {
            url: url.to_owned(),
            title: None,
            format: format.map(str::to_owned),
            mimetype: mimetype.map(str::to_owned),
        };
        assert_eq!(r(Some("CSV"), None, "http://x/a").readable(), Some(Format::Csv));
        assert_eq!(
            r(
                Some("http://publications.europa.eu/resource/authority/file-type/GEOJSON"),
                None,
                "http://x/a"
            )
            .readable(),
            Some(Format::GeoJson)
        );
        assert_eq!(r(None, Some("text/csv"), "http://x/a").readable(), Some(Format::Csv));
        assert_eq!(r(None, None, "http://x/a.xlsx").readable(), Some(Format::Xlsx));
        assert_eq!(r(Some("PDF"), None, "http://x/a.pdf").readable(), None);
    }
}
