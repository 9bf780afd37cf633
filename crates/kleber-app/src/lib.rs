//! Kleber's application layer: the one door every front end goes through.
//!
//! [`App`] owns the store, the query engine, the catalog snapshot ([`catalog`]), the response
//! cache ([`cache`]) and the limits. Its use cases — list or search the catalog, catalog
//! facets, one dataset, records (a page or groups), one record, facets, export, import,
//! annotate — each take a [`RequestContext`] (who asks, language, time zone, parsed once) and
//! work on a version resolved once ([`DatasetVersion`], [`CatalogView`]): the `ETag`, the
//! cache key and the answer of a request all come from that one resolution.
//!
//! Answers are typed ([`Page`]: output columns, an encoder, batches, a total; [`Export`]: a
//! stream already at its first batch), so every front end (Explore v2.1, v2.0, v1, the legacy
//! download URL, the portal) renders its own shape from the same data. This crate knows
//! nothing of HTTP: the plan → encoder → time limit → values sequence is written here once.

pub mod accounts;
pub mod admin;
pub mod attachments;
pub mod audit;
pub mod cache;
pub mod catalog;
pub mod changes;
pub mod cluster;
mod context;
pub mod derive;
mod error;
pub mod grants;
pub mod harvest;
pub mod harvest_ckan;
pub mod harvest_dcat;
pub mod harvest_ods;
pub mod import;
pub mod manage;
pub mod notifications;
pub mod policy;
pub mod portal;
pub mod processors;
pub mod publications;
pub mod push;
mod resolve;
pub mod retention;
pub mod rules;
pub mod schedule;
pub mod sessions;
pub mod sources;
pub mod time_travel;
pub mod uploads;
pub mod versions;
pub mod volatile;
pub mod webhooks;

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use kleber_export::{EncodeOptions, JsonArrayWriter, OutputColumn as ExportColumn, RecordEncoder};
use kleber_query::facets::{FacetGroup, FacetRequest};
use kleber_query::{
    Engine, OutputColumn, PlannedQuery, RecordBatch, RecordBatchStream, RecordsQuery,
};
use kleber_store::{DatasetRecord, Store};
use kleber_types::Field;
use serde_json::Value;

pub use cache::{CacheKey, ResultCache};
pub use catalog::{CatalogCache, CatalogSnapshot, features};
pub use cluster::MapClusters;
pub use context::{Principal, RequestContext};
pub use error::Error;
pub use resolve::{CatalogView, DatasetVersion};

/// Default size of the response cache.
pub const DEFAULT_RESULT_CACHE_MB: u64 = 64;

/// The limits every query of the application runs under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest time a query (records, one record, facets, catalog) may run.
    pub query_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { query_timeout: Duration::from_secs(30) }
    }
}

/// What a query runs over: one dataset version, or the catalog table.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A dataset at one version.
    Dataset(&'a DatasetVersion),
    /// The catalog at one generation (full-text search through its index).
    Catalog(&'a CatalogView),
}

impl<'a> From<&'a DatasetVersion> for Target<'a> {
    fn from(v: &'a DatasetVersion) -> Self {
        Target::Dataset(v)
    }
}

impl<'a> From<&'a CatalogView> for Target<'a> {
    fn from(v: &'a CatalogView) -> Self {
        Target::Catalog(v)
    }
}

/// A page of a query's answer: its columns, the encoder that renders them (datetimes in the
/// request's time zone), the rows as Arrow batches and the total number of matching rows (or
/// groups).
pub struct Page {
    /// The output columns, with the field each one reads (if any).
    pub columns: Vec<OutputColumn>,
    /// Encodes rows the way Explore v2.1 does.
    pub encoder: RecordEncoder,
    /// The rows of the page.
    pub batches: Vec<RecordBatch>,
    /// Matching rows (or groups) in all; the page's row count when not counted.
    pub total: u64,
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("columns", &self.columns.iter().map(|c| &c.key).collect::<Vec<_>>())
            .field("rows", &self.len())
            .field("total", &self.total)
            .finish()
    }
}

impl Page {
    /// The rows as JSON objects (v2.1 encodings).
    pub fn values(&self) -> Result<Vec<Value>, Error> {
        let mut out = Vec::new();
        for batch in &self.batches {
            out.extend(self.encoder.batch_values(batch)?);
        }
        Ok(out)
    }

    /// The rows as one JSON array (v2.1 encodings), written without building values.
    pub fn json_array(&self) -> Result<Vec<u8>, Error> {
        let mut writer = JsonArrayWriter::new(self.encoder.clone());
        Ok(kleber_export::encode_all(&mut writer, &self.batches)?)
    }

    /// Rows in the page.
    pub fn len(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// Whether the page has no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A page of the catalog.
pub enum CatalogPage {
    /// Without `select` or `group_by`: the datasets of the page, and how many match.
    Datasets {
        /// Datasets matching the query.
        total: u64,
        /// The page's datasets, in order (relevance for a full-text search without
        /// `order_by`).
        datasets: Vec<DatasetRecord>,
    },
    /// With `select` or `group_by`: rows of the catalog table, as `/records` answers.
    Rows(Page),
}

/// An export under way: its columns and encoder, and the stream of its batches, already at
/// its first batch (so a query failing at once is an error, not a truncated file).
pub struct Export {
    /// The output columns.
    pub columns: Vec<OutputColumn>,
    /// Encodes rows the way Explore v2.1 does.
    pub encoder: RecordEncoder,
    /// The first batch, if any row matched.
    pub first: Option<RecordBatch>,
    /// The batches after the first.
    pub stream: RecordBatchStream,
}

/// The encoder of a query's output columns, rendering datetimes in `tz`.
pub fn encoder_for(columns: &[OutputColumn], tz: chrono_tz::Tz) -> RecordEncoder {
    let columns =
        columns.iter().map(|c| ExportColumn::new(c.key.clone(), c.label.clone(), c.role)).collect();
    let options = if tz == chrono_tz::UTC {
        EncodeOptions::default()
    } else {
        EncodeOptions::with_offset_fn(move |utc_seconds| {
            use chrono::{Offset, TimeZone};
            chrono::DateTime::from_timestamp(utc_seconds, 0)
                .map_or(0, |t| tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc())
        })
    };
    RecordEncoder::new(columns, options)
}

/// Relevance ranks of the datasets found by the full-text searches of one catalog query.
struct Ranker<'a> {
    snapshot: &'a CatalogSnapshot,
    ranks: Mutex<Option<HashMap<String, usize>>>,
}

impl<'a> Ranker<'a> {
    fn new(view: &'a CatalogView) -> Ranker<'a> {
        Ranker { snapshot: &view.snapshot, ranks: Mutex::new(None) }
    }

    /// The catalog search hook: the datasets matching `text`, best first (the one place the
    /// catalog's full-text index is asked).
    fn search(&self, text: &str) -> Vec<String> {
        let hits =
            self.snapshot.index.search(text, self.snapshot.records.len().max(1)).unwrap_or_else(
                |e| {
                    tracing::warn!(error = %e, "catalog search failed");
                    Vec::new()
                },
            );
        let ids: Vec<String> = hits.into_iter().map(|h| h.dataset_id).collect();
        let ranks = ids.iter().enumerate().map(|(i, id)| (id.clone(), i)).collect();
        *self.ranks.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(ranks);
        ids
    }

    fn take(&self) -> Option<HashMap<String, usize>> {
        self.ranks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }
}

/// The application: store, engine, catalog snapshot, response cache and limits.
pub struct App {
    store: Arc<Store>,
    accounts: Arc<accounts::Accounts>,
    engine: Engine,
    catalog: Arc<CatalogCache>,
    results: ResultCache,
    limits: Limits,
    /// Catalog resolutions so far.
    resolutions: std::sync::atomic::AtomicU64,
    /// Size limit of one attachment, in bytes.
    max_attachment_bytes: std::sync::atomic::AtomicU64,
    /// The bounds of uploads ([`uploads`]).
    upload_limits: uploads::UploadLimits,
    /// Records pushed through the real-time push API, waiting for their version ([`push`]).
    pusher: Arc<push::Pusher>,
    /// Records outsiders see of each dataset with an access rule ([`rules`]).
    outsider_counts: rules::OutsiderCounts,
    /// Remote sources: settings, HTTP client, runs in progress ([`sources`]).
    sources: sources::Sources,
    /// Derived datasets: recomputation state and visibility gates ([`derive`]).
    derivations: derive::Derivations,
    /// Publication events ([`publications`]).
    publications: publications::Publications,
    /// Webhook deliveries ([`webhooks`]).
    webhooks: webhooks::Webhooks,
}

impl App {
    /// An application over `store` and `engine`, with a response cache of
    /// [`DEFAULT_RESULT_CACHE_MB`].
    pub fn new(store: Store, engine: Engine, limits: Limits) -> App {
        let store = Arc::new(store);
        App {
            accounts: Arc::new(accounts::Accounts::new(Arc::clone(&store))),
            store,
            engine,
            catalog: Arc::new(CatalogCache::default()),
            results: ResultCache::new(DEFAULT_RESULT_CACHE_MB << 20),
            limits,
            resolutions: std::sync::atomic::AtomicU64::new(0),
            max_attachment_bytes: std::sync::atomic::AtomicU64::new(
                attachments::DEFAULT_MAX_ATTACHMENT_BYTES,
            ),
            upload_limits: uploads::UploadLimits::default(),
            pusher: Arc::new(push::Pusher::default()),
            outsider_counts: rules::OutsiderCounts::default(),
            sources: sources::Sources::default(),
            derivations: derive::Derivations::default(),
            publications: publications::Publications::default(),
            webhooks: webhooks::Webhooks::default(),
        }
    }

    /// Bytes of the engine's memory pool held now by running queries and open result streams
    /// (exports being sent hold their share until their body ends or is dropped).
    pub fn memory_reserved(&self) -> usize {
        self.engine.memory_reserved()
    }

    /// The same application with a response cache of `mb` MiB (0 turns it off).
    #[must_use]
    pub fn with_result_cache_mb(mut self, mb: u64) -> App {
        self.set_result_cache_mb(mb);
        self
    }

    /// Replaces the response cache by one of `mb` MiB (0 turns it off).
    pub fn set_result_cache_mb(&mut self, mb: u64) {
        self.results = ResultCache::new(mb << 20);
    }

    /// Organizations, accounts, keys, grants and visibility.
    pub fn accounts(&self) -> &accounts::Accounts {
        &self.accounts
    }

    /// The principal an API key stands for, or [`Error::InvalidApiKey`] when it is unknown,
    /// revoked, expired or its owner disabled. From memory when the catalog has not changed
    /// since the key was last read (see [`accounts`]).
    pub async fn principal_for_key(&self, key: &str) -> Result<Principal, Error> {
        let outcome = match self.accounts.cached_principal(key).map_err(Error::internal)? {
            Some(outcome) => outcome,
            None => {
                let accounts = Arc::clone(&self.accounts);
                let key = key.to_owned();
                tokio::task::spawn_blocking(move || accounts.principal_for_key(&key))
                    .await
                    .map_err(Error::internal)?
                    .map_err(Error::internal)?
            }
        };
        outcome.map_err(|refusal| Error::InvalidApiKey(refusal.to_string()))
    }

    /// The limits queries run under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The response cache (its usage, for logs and tests).
    pub fn results(&self) -> &ResultCache {
        &self.results
    }

    /// How many times the catalog was resolved ([`App::catalog`], [`App::dataset`]) since
    /// start-up: one per request that reads stored data (for tests and metrics).
    pub fn resolutions(&self) -> u64 {
        self.resolutions.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Where exports that need a footer are spooled (`<data dir>/tmp/exports`).
    pub fn spool_dir(&self) -> PathBuf {
        self.store.root().join("tmp").join("exports")
    }

    // ---- resolution ----------------------------------------------------------------------

    /// The current catalog, as `ctx` may see it: only the datasets its principal may read
    /// ([`policy::may_read`]), so every list, count, facet, search and export made from the
    /// view leaves the others out, as if they did not exist.
    ///
    /// Checking that the snapshot is current is one read of the catalog's generation, done in
    /// place; rebuilding it after a change reads the whole catalog on the blocking pool, and
    /// so does the first view of an audience that sees part of it (kept for the generation).
    pub async fn catalog(&self, ctx: &RequestContext) -> Result<CatalogView, Error> {
        self.resolutions.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let full = match self.catalog.current_if_fresh(&self.store).map_err(Error::internal)? {
            Some(snapshot) => snapshot,
            None => {
                let store = Arc::clone(&self.store);
                let cache = Arc::clone(&self.catalog);
                tokio::task::spawn_blocking(move || cache.snapshot(&store))
                    .await
                    .map_err(Error::internal)?
                    .map_err(Error::internal)?
            }
        };
        let visible = self.derivations.gate(
            &self.store,
            &full,
            full.visible_to(&ctx.principal),
            &ctx.principal,
        )?;
        if let Some(snapshot) = full.audience_if_built(&visible) {
            return Ok(CatalogView { snapshot });
        }
        // What outsiders see of the datasets with an access rule is counted first (once per
        // version and rule), so the audience's catalog states their counts.
        let mut counts = HashMap::new();
        for i in CatalogSnapshot::outsider_positions(&visible) {
            counts.insert(i, self.outsider_count(&full.records[i]).await?);
        }
        let snapshot = tokio::task::spawn_blocking(move || full.audience(visible, &counts))
            .await
            .map_err(Error::internal)?
            .map_err(Error::internal)?;
        Ok(CatalogView { snapshot })
    }

    /// The published dataset `id` at its current version, or [`Error::DatasetNotFound`].
    pub async fn dataset(&self, ctx: &RequestContext, id: &str) -> Result<DatasetVersion, Error> {
        let view = self.catalog(ctx).await?;
        App::dataset_in(ctx, &view, id)
    }

    /// The dataset `id` of an already resolved catalog.
    pub fn dataset_in(
        ctx: &RequestContext,
        view: &CatalogView,
        id: &str,
    ) -> Result<DatasetVersion, Error> {
        let index = view
            .snapshot
            .position(id)
            .filter(|&i| ctx.principal.may_read(&view.snapshot.records[i]))
            .ok_or_else(|| Error::DatasetNotFound(id.to_owned()))?;
        Ok(DatasetVersion { snapshot: Arc::clone(&view.snapshot), index, fields: None, at: None })
    }

    // ---- the response cache --------------------------------------------------------------

    /// The body kept under `key`, or computed by `compute` (and kept when deterministic and
    /// small). Keys come from a resolution ([`DatasetVersion::cache_key`],
    /// [`CatalogView::cache_key`]), so a new version or generation is a new key.
    pub async fn cached<F, E>(&self, key: CacheKey, compute: F) -> Result<Bytes, E>
    where
        F: Future<Output = Result<Bytes, E>>,
    {
        self.results.get_or_compute(key, compute).await
    }

    // ---- queries -------------------------------------------------------------------------

    /// Runs `query` under the time limit.
    ///
    /// The timer drops the query (cancelling its tasks) when it fires; and a query that
    /// finished after its deadline — the timer could not fire while every worker was busy
    /// with it — is refused all the same, so the limit means the same thing under load.
    async fn timed<T>(
        &self,
        query: impl Future<Output = Result<T, kleber_query::Error>>,
    ) -> Result<T, Error> {
        let limit = self.limits.query_timeout;
        let started = std::time::Instant::now();
        let too_slow = || Error::TimeLimit { seconds: limit.as_secs() };
        let result = tokio::time::timeout(limit, query).await.map_err(|_| too_slow())??;
        if started.elapsed() > limit {
            return Err(too_slow());
        }
        Ok(result)
    }

    /// `query` in the request's time zone: the zone parsed once into `ctx` is the one every
    /// query is planned in (the query's own `tz` is replaced).
    fn zoned<'q>(ctx: &RequestContext, query: &'q RecordsQuery) -> Cow<'q, RecordsQuery> {
        if query.tz == ctx.tz {
            Cow::Borrowed(query)
        } else {
            Cow::Owned(query.clone().in_zone(ctx.tz))
        }
    }

    /// Plans `query` over `target`, in the request's time zone; catalog plans search the
    /// catalog index through `ranker`.
    async fn plan(
        &self,
        ctx: &RequestContext,
        target: Target<'_>,
        query: &RecordsQuery,
        ranker: Option<&Ranker<'_>>,
    ) -> Result<PlannedQuery, Error> {
        let query = &*App::zoned(ctx, query);
        match target {
            Target::Dataset(version) => Ok(self.engine.plan(&version.dataset_ref(), query).await?),
            Target::Catalog(view) => {
                let hook = |text: &str| ranker.map(|r| r.search(text)).unwrap_or_default();
                Ok(self.engine.plan_catalog(&view.snapshot.table, query, Some(&hook))?)
            }
        }
    }

    /// `query` planned over `target`, with its output columns and their encoder in the
    /// request's time zone: what every page, list of rows and export starts from.
    async fn prepare(
        &self,
        ctx: &RequestContext,
        target: Target<'_>,
        query: &RecordsQuery,
    ) -> Result<(PlannedQuery, Vec<OutputColumn>, RecordEncoder), Error> {
        let ranker = Ranker::new_for(target);
        let mut planned = self.plan(ctx, target, query, ranker.as_ref()).await?;
        // Running the plan needs its columns no more: they go with the page.
        let columns = std::mem::take(&mut planned.columns);
        let encoder = encoder_for(&columns, ctx.tz);
        Ok((planned, columns, encoder))
    }

    /// One page of `query` over `target` and the total count (rows, or groups with
    /// `group_by`), datetimes in the request's time zone.
    pub async fn records<'a>(
        &self,
        ctx: &RequestContext,
        target: impl Into<Target<'a>>,
        query: &RecordsQuery,
    ) -> Result<Page, Error> {
        let (planned, columns, encoder) = self.prepare(ctx, target.into(), query).await?;
        let (total, batches) = self.timed(self.engine.page(planned)).await?;
        Ok(Page { columns, encoder, batches, total })
    }

    /// The rows of `query` over `target` (its `limit` applies), without counting the others:
    /// `total` is the number of rows returned.
    pub async fn rows<'a>(
        &self,
        ctx: &RequestContext,
        target: impl Into<Target<'a>>,
        query: &RecordsQuery,
    ) -> Result<Page, Error> {
        let (planned, columns, encoder) = self.prepare(ctx, target.into(), query).await?;
        let batches = self.timed(self.engine.collect(planned)).await?;
        let total = batches.iter().map(|b| b.num_rows() as u64).sum();
        Ok(Page { columns, encoder, batches, total })
    }

    /// The record `record_id` of `version`, selected by `query`'s `select` (its `where`,
    /// `group_by` and paging are replaced), or [`Error::RecordNotFound`].
    pub async fn record(
        &self,
        ctx: &RequestContext,
        version: &DatasetVersion,
        record_id: &str,
        query: &RecordsQuery,
    ) -> Result<Page, Error> {
        if !kleber_query::is_record_id(record_id) {
            return Err(Error::RecordNotFound(record_id.to_owned()));
        }
        let mut query = query.clone().in_zone(ctx.tz);
        query.r#where = vec![format!("_id = {}", kleber_odsql::write::string(record_id))];
        query.refine.clear();
        query.exclude.clear();
        query.group_by = None;
        query.limit = Some(1);
        query.offset = 0;
        // Planned over the rows the version's id index points at, not a hash of every row.
        let planned = self.engine.plan_record(&version.dataset_ref(), &query, record_id).await?;
        let columns = planned.columns.clone();
        let encoder = encoder_for(&columns, ctx.tz);
        let batches = self.timed(self.engine.collect(planned)).await?;
        let total = batches.iter().map(|b| b.num_rows() as u64).sum();
        let page = Page { columns, encoder, batches, total };
        if page.is_empty() {
            return Err(Error::RecordNotFound(record_id.to_owned()));
        }
        Ok(page)
    }

    /// The identifiers of the datasets matching `query` in the catalog, all of them: ranked
    /// by relevance when a text is searched and `query` has no `order_by`, else in its order.
    pub async fn catalog_ids(
        &self,
        ctx: &RequestContext,
        view: &CatalogView,
        query: &RecordsQuery,
    ) -> Result<Vec<String>, Error> {
        let mut query = query.clone();
        let ordered = query.order_by.as_deref().is_some_and(|o| !o.trim().is_empty());
        query.select = Some("dataset_id".to_owned());
        query.group_by = None;
        query.limit = None;
        query.offset = 0;
        let ranker = Ranker::new(view);
        let planned = self.plan(ctx, Target::Catalog(view), &query, Some(&ranker)).await?;
        let encoder = encoder_for(&planned.columns, chrono_tz::UTC);
        let batches = self.timed(self.engine.collect(planned)).await?;
        let mut ids = Vec::new();
        for batch in &batches {
            for value in encoder.batch_values(batch)? {
                if let Some(id) = value.get("dataset_id").and_then(Value::as_str) {
                    ids.push(id.to_owned());
                }
            }
        }
        if let (Some(ranks), false) = (ranker.take(), ordered) {
            ids.sort_by_key(|id| ranks.get(id).copied().unwrap_or(usize::MAX));
        }
        Ok(ids)
    }

    /// A page of the catalog: datasets (ranked, see [`App::catalog_ids`]) or, when `query`
    /// has a `select` or a `group_by`, rows of the catalog table.
    pub async fn search_catalog(
        &self,
        ctx: &RequestContext,
        view: &CatalogView,
        query: &RecordsQuery,
    ) -> Result<CatalogPage, Error> {
        let given =
            |clause: &Option<String>| clause.as_deref().is_some_and(|c| !c.trim().is_empty());
        if given(&query.select) || given(&query.group_by) {
            return Ok(CatalogPage::Rows(self.records(ctx, view, query).await?));
        }
        let ids = self.catalog_ids(ctx, view, query).await?;
        let datasets = ids
            .iter()
            .skip(query.offset)
            .take(query.limit.unwrap_or(usize::MAX))
            .filter_map(|id| view.record(id))
            .filter(|record| ctx.principal.may_read(record))
            .cloned()
            .collect();
        Ok(CatalogPage::Datasets { total: ids.len() as u64, datasets })
    }

    /// The facets of `target` under the filters of `query` (`where`, `refine`, `exclude`).
    pub async fn facets<'a>(
        &self,
        ctx: &RequestContext,
        target: impl Into<Target<'a>>,
        query: &RecordsQuery,
        requests: &[FacetRequest],
    ) -> Result<Vec<FacetGroup>, Error> {
        let query = &*App::zoned(ctx, query);
        match target.into() {
            Target::Dataset(version) => {
                let dataset = version.dataset_ref();
                self.timed(self.engine.facets(&dataset, query, requests)).await
            }
            Target::Catalog(view) => {
                let ranker = Ranker::new(view);
                let hook = |text: &str| ranker.search(text);
                self.timed(self.engine.catalog_facets(
                    &view.snapshot.table,
                    query,
                    requests,
                    Some(&hook),
                ))
                .await
            }
        }
    }

    /// Every row of `query` over `target`, as a stream already at its first batch.
    pub async fn export<'a>(
        &self,
        ctx: &RequestContext,
        target: impl Into<Target<'a>>,
        query: &RecordsQuery,
    ) -> Result<Export, Error> {
        let (planned, columns, encoder) = self.prepare(ctx, target.into(), query).await?;
        let mut stream = self.engine.stream(planned).await?;
        let first = match stream.next().await {
            Some(Ok(batch)) => Some(batch),
            Some(Err(e)) => return Err(kleber_query::Error::from(e).into()),
            None => None,
        };
        Ok(Export { columns, encoder, first, stream })
    }

    // ---- writes --------------------------------------------------------------------------

    /// Imports a file as a new version of a dataset (on the blocking pool).
    pub async fn import(
        &self,
        ctx: &RequestContext,
        request: import::ImportRequest,
    ) -> Result<import::ImportSummary, Error> {
        self.import_with_progress(ctx, request, |_| {}).await
    }

    /// [`App::import`], telling `progress` how much of the file has been read (the CLI's
    /// progress bar). A file that cannot be read is [`Error::Import`], holding the reader's
    /// error with its causes; nothing is published then.
    pub async fn import_with_progress(
        &self,
        ctx: &RequestContext,
        request: import::ImportRequest,
        progress: impl FnMut(kleber_ingest::Progress) + Send + 'static,
    ) -> Result<import::ImportSummary, Error> {
        self.import_with_access(ctx, request, import::ImportAccess::default(), progress).await
    }

    /// [`App::import_with_progress`] into the organization and visibility of `access`.
    pub async fn import_with_access(
        &self,
        _ctx: &RequestContext,
        request: import::ImportRequest,
        access: import::ImportAccess,
        mut progress: impl FnMut(kleber_ingest::Progress) + Send + 'static,
    ) -> Result<import::ImportSummary, Error> {
        let store = Arc::clone(&self.store);
        let id = request.dataset.clone();
        let summary = tokio::task::spawn_blocking(move || {
            import::import_file_with(&store, &request, &access, &mut progress)
                .map_err(Error::Import)
        })
        .await
        .map_err(Error::internal)??;
        // The new version's change summary (docs/versions.md), stored with it, then the
        // dataset's retention (a server's version worker does the same for every path).
        self.after_publish(&id, chrono::Utc::now()).await;
        Ok(summary)
    }

    /// Merges `patch` into the metadata of dataset `id` (`metas.default.title`, ...).
    pub async fn update_metas(
        &self,
        ctx: &RequestContext,
        id: &str,
        patch: serde_json::Map<String, Value>,
    ) -> Result<(), Error> {
        self.dataset(ctx, id).await?;
        let store = Arc::clone(&self.store);
        let id = id.to_owned();
        tokio::task::spawn_blocking(move || store.update_metas(&id, &patch))
            .await
            .map_err(Error::internal)?
            .map_err(Error::from)
    }

    /// Changes the annotations of field `field` of dataset `id`: `set` adds or replaces
    /// (`name`, args), `remove` deletes by name. Returns the field as it now is.
    pub async fn annotate(
        &self,
        ctx: &RequestContext,
        id: &str,
        field: &str,
        set: Vec<(String, Vec<String>)>,
        remove: Vec<String>,
    ) -> Result<Field, Error> {
        self.dataset(ctx, id).await?;
        let store = Arc::clone(&self.store);
        let (id, field) = (id.to_owned(), field.to_owned());
        tokio::task::spawn_blocking(move || store.annotate_field(&id, &field, &set, &remove))
            .await
            .map_err(Error::internal)?
            .map_err(Error::from)
    }
}

impl<'a> Ranker<'a> {
    fn new_for(target: Target<'a>) -> Option<Ranker<'a>> {
        match target {
            Target::Catalog(view) => Some(Ranker::new(view)),
            Target::Dataset(_) => None,
        }
    }
}
