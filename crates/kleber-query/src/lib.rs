//! The query engine: ODSQL over versioned Parquet datasets, planned and run by DataFusion.
//!
//! A request names a dataset version ([`DatasetRef`]) and a [`RecordsQuery`] (the ODSQL text of
//! `select`, `where`, `group_by`, `order_by`, with `limit` and `offset`). [`Engine::plan`]
//! parses each clause with `kleber-odsql`, lowers the AST to DataFusion expressions
//! (`lower.rs`; user text never becomes SQL), and builds one DataFrame (`plan.rs`). The
//! caller then collects a page ([`Engine::page`]) or streams every row ([`Engine::stream`]).
//!
//! ODSQL functions live in a registry (`functions.rs`) that also documents them; full-text
//! matching is a DataFusion UDF (`fulltext.rs`).
//!
//! Every query runs in one [`SessionContext`] configured in [`session`]: a memory pool caps
//! what a query may hold, and exceeding it is [`Error::TooHeavy`], not a crash.

pub mod catalog;
mod changes;
pub mod clustered;
mod dates;
pub mod derive;
mod digest_file;
mod error;
pub mod facets;
mod fulltext;
pub mod functions;
mod geo;
pub mod geo_cluster;
mod id_set;
mod json;
pub mod limits;
mod lower;
mod memory;
mod plan;
mod record_id;
mod record_index;
mod refine;
mod row_expr;
mod small;
mod text;
mod text_index;

/// Entry points of the fuzz targets (`crates/kleber-query/fuzz`); not an API to build on.
#[doc(hidden)]
pub mod fuzzing {
    /// Splits a `refine`/`exclude` value into facet and value, as the engine does.
    pub fn split_refine(text: &str) -> Option<(String, String)> {
        crate::refine::split(text)
    }

    /// Parses a geometry literal (WKT or GeoJSON) as ODSQL's `geom'...'`, checks it as a query
    /// geometry and writes it back as GeoJSON, as the engine does.
    pub fn parse_geometry_literal(text: &str) -> Result<String, String> {
        let geometry = crate::geo::parse::parse_geometry(text)?;
        crate::geo::parse::check_wgs84(&geometry)?;
        Ok(crate::geo::parse::to_geojson(&geometry))
    }
}

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use datafusion::dataframe::DataFrame;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use futures::TryStreamExt;
use kleber_types::Field;

pub use changes::{ChangeCounts, shared_fields, text_values};
pub use datafusion::arrow::record_batch::RecordBatch;
pub use datafusion::execution::SendableRecordBatchStream as RecordBatchStream;
pub use error::{Clause, Error, Result};
pub use geo::contain::{PolygonIndex, PolygonIndexBuilder};
pub use lower::parse_date_literal;
pub use plan::{ColumnRole, OutputColumn, PlannedQuery, RecordsQuery, SearchHook, parse_timezone};
pub use record_id::is_record_id;
pub use row_expr::RowExpr;

/// One version of one dataset, as the catalog describes it.
#[derive(Debug, Clone)]
pub struct DatasetRef {
    /// The dataset's immutable uid.
    pub uid: String,
    /// Its version number.
    pub version: i64,
    /// The Parquet file of that version.
    pub data_path: PathBuf,
    /// Its schema: the fields queries are planned over (with a [`ScanView`], only those the
    /// view keeps, in their stored order).
    pub fields: Vec<Field>,
    /// What part of the version the caller may see, if not all of it.
    pub view: Option<std::sync::Arc<ScanView>>,
}

/// A caller's view of a dataset version: the scan every query of that caller starts from is
/// the stored table filtered by `condition` (planned over every stored field) and projected on
/// [`DatasetRef::fields`], so no clause, facet, export, record lookup or cluster can name or
/// read a column or a row outside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanView {
    /// Every stored field of the version (what `condition` is planned over).
    pub stored: Vec<Field>,
    /// The ODSQL condition the rows of the view meet, if any.
    pub condition: Option<String>,
    /// A short digest naming the view, part of the keys of what is cached per view (the
    /// record-id index).
    pub key: String,
}

/// `table` (the stored scan of `dataset`) restricted to `dataset`'s view: rows meeting the
/// condition, columns of the visible fields. A condition that no longer plans over the stored
/// fields (a later version dropped a field it names) keeps no row: the view fails closed.
fn apply_view(table: DataFrame, dataset: &DatasetRef) -> Result<DataFrame> {
    let Some(view) = &dataset.view else { return Ok(table) };
    let mut df = table;
    if let Some(condition) = view.condition.as_deref().filter(|c| !c.trim().is_empty()) {
        let query = RecordsQuery { r#where: vec![condition.to_owned()], ..RecordsQuery::default() };
        df = match plan::filtered(df.clone(), &view.stored, &query, None, &[], None) {
            Ok(filtered) => filtered,
            Err(_) => df.filter(datafusion::prelude::lit(false))?,
        };
    }
    let names: Vec<&str> = dataset.fields.iter().map(|f| f.name.as_str()).collect();
    Ok(df.select_columns(&names)?)
}

/// `table` (the stored scan of `dataset`) narrowed by its full-text index to the rows that
/// may match `query`, under the view, with the query left to run on them (the conditions the
/// index answered exactly removed); `None` when the index does not narrow this query.
fn narrow(
    ctx: &SessionContext,
    table: &DataFrame,
    dataset: &DatasetRef,
    query: &RecordsQuery,
    index: &text_index::TextIndex,
) -> Result<Option<(DataFrame, RecordsQuery)>> {
    let visible = text_index::text_field_names(&dataset.fields);
    let Some(narrowed) = text_index::narrow(index, &query.r#where, &visible)? else {
        return Ok(None);
    };
    let rows = text_index::SelectedRows::restrict(ctx, table, &narrowed.rows, index.rows)?;
    let short = RecordsQuery { r#where: narrowed.r#where, ..query.clone() };
    Ok(Some((apply_view(rows, dataset)?, short)))
}

impl DatasetRef {
    /// The key of what is cached per version and view.
    fn view_key(&self) -> (String, i64) {
        match &self.view {
            None => (self.uid.clone(), self.version),
            Some(view) => (format!("{}~{}", self.uid, view.key), self.version),
        }
    }
}

/// Resource limits of the engine.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Memory all running queries may hold together, in bytes.
    pub memory_bytes: usize,
    /// Time one query may take, from planning to its last row (its first batch for
    /// [`Engine::stream`]); past it the query is cancelled and answers [`Error::TooHeavy`].
    pub query_timeout: Duration,
    /// Threads of the engine's own runtime, on which every query runs.
    pub cpu_threads: usize,
    /// Memory for small dataset versions kept as Arrow batches, in bytes (0: none).
    pub in_memory_bytes: usize,
    /// Versions of at least this many rows get a clustered copy ([`clustered`]) built in the
    /// background on their first query (`u64::MAX`: never).
    pub clustered_min_rows: u64,
    /// Queries that run at once (0: two a thread of the runtime); the
    /// others wait for their turn, their time limit running.
    pub concurrent_queries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 1 << 30,
            query_timeout: Duration::from_secs(30),
            cpu_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            in_memory_bytes: 32 << 20,
            clustered_min_rows: 200_000,
            concurrent_queries: 0,
        }
    }
}

/// Memory for cached Parquet footers (and half as much for file statistics).
const METADATA_CACHE_BYTES: usize = 8 << 20;

/// Builds the DataFusion session every query runs in.
pub fn session(limits: Limits) -> Result<SessionContext> {
    let config = SessionConfig::new()
        .with_batch_size(8192)
        .with_information_schema(false)
        .with_target_partitions(std::thread::available_parallelism().map_or(2, |n| n.get()));
    // Late materialization: filters (and the dynamic filter a top-k sort derives) are applied
    // inside the Parquet reader, so the other columns are decoded only for the rows that pass.
    let mut config = config;
    let parquet = &mut config.options_mut().execution.parquet;
    parquet.pushdown_filters = true;
    parquet.reorder_filters = true;
    // No spilling to disk: a query is bounded by the memory pool, and one that needs more
    // gets a clear `TooHeavy` error instead of filling the disk of a shared server.
    let disk = DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled);
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_limit(limits.memory_bytes, 1.0)
        .with_disk_manager_builder(disk)
        // DataFusion keeps Parquet footers and file statistics for reuse, up to 50 and 20 MiB
        // by default: a portal of a thousand datasets would hold ~60 MiB of them once each
        // has been read. Footers are re-read in microseconds, so keep only a few MiB.
        .with_metadata_cache_limit(METADATA_CACHE_BYTES)
        .with_file_statistics_cache_limit(METADATA_CACHE_BYTES / 2)
        .build_arc()?;
    // No function registries: ODSQL is lowered to expressions that carry their functions, so
    // nothing looks a function up by name here (derived datasets' SQL has its own session,
    // `derive::session`). DataFusion clones the session state with every `DataFrame`, and its
    // default registries are several hundred named entries: cloning them was a large share of a
    // small dataset's request (`bench/profile.py o`).
    let state = datafusion::execution::SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .with_scalar_functions(Vec::new())
        .with_aggregate_functions(Vec::new())
        .with_window_functions(Vec::new())
        .with_higher_order_functions(Vec::new())
        .with_table_function_list(Vec::new())
        .build();
    Ok(SessionContext::new_with_state(state))
}

/// Rows `offset..offset + limit` of `batches`, without copying the data.
fn slice_batches(
    batches: &[RecordBatch],
    (offset, limit): (usize, Option<usize>),
) -> Vec<RecordBatch> {
    let mut skip = offset;
    let mut left = limit.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for batch in batches {
        if left == 0 {
            break;
        }
        let rows = batch.num_rows();
        if skip >= rows {
            skip -= rows;
            continue;
        }
        let take = (rows - skip).min(left);
        out.push(batch.slice(skip, take));
        left -= take;
        skip = 0;
    }
    out
}

/// The count and the page of `planned` from the small-table path ([`small`]), counted in
/// `answers`; `None` when `planned` is not over an in-memory version or that path cannot run
/// its plan (DataFusion then runs it, and answers it or names the error).
fn small_page(
    planned: &PlannedQuery,
    state: &datafusion::execution::SessionState,
    answers: &std::sync::atomic::AtomicU64,
) -> Option<(u64, Vec<RecordBatch>)> {
    let (Some(all), Some(small)) = (&planned.unwindowed, &planned.small) else { return None };
    let Ok(rows) = small::run(all, state, small)? else { return None };
    answers.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let total = rows.num_rows() as u64;
    Some((total, slice_batches(&[rows], planned.window)))
}

/// Stack of the engine's threads: DataFusion's planner and optimizer recurse over
/// expressions, and the caps of [`limits`] keep that recursion well within this.
pub const CPU_STACK_BYTES: usize = 16 << 20;

/// Aborts a task on the engine's runtime when dropped: a request whose client went away, or
/// that ran out of time, stops its query.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The query engine: a session plus the scans of the dataset versions already opened, and its
/// own runtime on which every query runs.
///
/// DataFusion runs on a dedicated multi-threaded tokio runtime (`Limits::cpu_threads`
/// threads), never on the caller's: a CPU-bound query cannot starve the HTTP runtime, whose
/// timer then always fires at the query's deadline and cancels it (the query's task is
/// aborted; DataFusion's operators stop at their next yield).
pub struct Engine {
    ctx: SessionContext,
    /// Scan plans by (uid, version); versions are immutable, so an entry never goes stale.
    scans: Mutex<HashMap<(String, i64), LogicalPlan>>,
    /// The runtime queries run on (an `Option` only so that `Drop` can shut it down).
    cpu: Option<tokio::runtime::Runtime>,
    query_timeout: Duration,
    /// Record-id indexes by (uid, version), built on the first lookup of one record.
    indexes: std::sync::Arc<record_index::IndexCache>,
    /// Small versions held as Arrow batches (`memory.rs`).
    in_memory: memory::MemoryTables,
    /// Pages answered by [`small`] (diagnostics, tests).
    small_answers: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Versions' (record id, row digest) pairs, for diffs ([`changes`]).
    digests: std::sync::Arc<changes::DigestCache>,
    /// Full-text indexes of records by (uid, version), opened (or built) on first use.
    texts: std::sync::Arc<text_index::TextIndexes>,
    /// Queries running at once ([`QUERIES_PER_THREAD`] a thread of the runtime); the others
    /// wait for their turn, their time limit running.
    gate: std::sync::Arc<tokio::sync::Semaphore>,
    /// Clustered copies of large versions started since the engine started ([`clustered`]).
    copies: clustered::Copies,
    /// [`Limits::clustered_min_rows`].
    clustered_min_rows: u64,
}

/// Queries that run at once, per thread of the engine's runtime. With more, the CPU is no
/// busier, but each running scan holds its buffers (a row group's column chunks, decoded
/// batches): sixteen clients scanning two million rows each held about a gigabyte together
/// (`bench/run.sh m`, memory target of issue 17). Each running query already uses every
/// thread (its plan has one partition a thread); two a thread leave none idle while one
/// waits for its data.
const QUERIES_PER_THREAD: usize = 2;

/// Blocking threads of the engine's runtime (file reads of the Parquet scans, diffs).
const BLOCKING_THREADS: usize = 4;

/// Bound on the number of cached scans, so a portal with many datasets stays small.
const MAX_CACHED_SCANS: usize = 4096;

impl Drop for Engine {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which tokio forbids inside another runtime.
        if let Some(cpu) = self.cpu.take() {
            cpu.shutdown_background();
        }
    }
}

impl Engine {
    /// An engine with the given limits.
    pub fn new(limits: Limits) -> Result<Engine> {
        let cpu = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(limits.cpu_threads.max(1))
            .thread_name("kleber-query")
            .thread_stack_size(CPU_STACK_BYTES)
            // The Parquet reader's file reads run on blocking threads. Tokio's default lets
            // hundreds start; each keeps an allocator heap with the pages it freed, which under
            // sixteen scanning clients held more memory than the scans (`bench/run.sh m`).
            .max_blocking_threads(BLOCKING_THREADS)
            .enable_time()
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the query runtime: {e}")))?;
        Ok(Engine {
            ctx: session(limits)?,
            scans: Mutex::new(HashMap::new()),
            cpu: Some(cpu),
            query_timeout: limits.query_timeout,
            indexes: std::sync::Arc::default(),
            in_memory: memory::MemoryTables::new(limits.in_memory_bytes),
            small_answers: std::sync::Arc::default(),
            digests: std::sync::Arc::default(),
            texts: std::sync::Arc::default(),
            gate: std::sync::Arc::new(tokio::sync::Semaphore::new(
                match limits.concurrent_queries {
                    0 => limits.cpu_threads.max(1) * QUERIES_PER_THREAD,
                    n => n,
                },
            )),
            copies: clustered::Copies::default(),
            clustered_min_rows: limits.clustered_min_rows,
        })
    }

    /// Pages answered from a small in-memory version without DataFusion's planner (the
    /// small-table path, `small.rs`), since the engine started.
    pub fn small_answers(&self) -> u64 {
        self.small_answers.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Bytes held by the small dataset versions kept in memory.
    pub fn in_memory_bytes(&self) -> usize {
        self.in_memory.used()
    }

    /// Bytes of the memory pool that running queries and open result streams hold now.
    pub fn memory_reserved(&self) -> usize {
        self.ctx.runtime_env().memory_pool.reserved()
    }

    /// The time limit of one query.
    pub fn query_timeout(&self) -> Duration {
        self.query_timeout
    }

    fn cpu(&self) -> &tokio::runtime::Handle {
        match &self.cpu {
            Some(cpu) => cpu.handle(),
            // Taken only by `drop`, after which no method runs.
            None => unreachable!("the engine's runtime is gone only once the engine is dropped"),
        }
    }

    /// The deadline of a query starting now.
    fn deadline(&self) -> Instant {
        Instant::now() + self.query_timeout
    }

    fn too_slow(&self) -> Error {
        Error::TooHeavy {
            limit: "time",
            detail: format!(
                "it ran for more than {} (query_timeout) and was cancelled",
                humane(self.query_timeout)
            ),
        }
    }

    /// `result` of work run on the caller's thread (a small in-memory table, [`small`]),
    /// unless `deadline` passed meanwhile: such work is not cancelled halfway, but its time
    /// counts against the same limit as any query's.
    fn in_time<T>(&self, deadline: Instant, result: Result<T>) -> Result<T> {
        if Instant::now() >= deadline { Err(self.too_slow()) } else { result }
    }

    /// Runs `work` on the engine's runtime, cancelled at `deadline`, when its turn comes
    /// (`gate`).
    async fn on_cpu<T: Send + 'static>(
        &self,
        deadline: Instant,
        work: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        self.run_on_cpu(deadline, true, work).await
    }

    /// Runs `work` on the engine's runtime, cancelled at `deadline`; through the gate of
    /// running queries if `gated` (planning, and pages of small in-memory versions, hold
    /// no scan buffers and take too little time to queue).
    async fn run_on_cpu<T: Send + 'static>(
        &self,
        deadline: Instant,
        gated: bool,
        work: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        let gate = gated.then(|| std::sync::Arc::clone(&self.gate));
        let task = self.cpu().spawn(async move {
            // The gate is never closed; were it, the query would run ungated.
            let _turn = match gate {
                Some(gate) => gate.acquire_owned().await.ok(),
                None => None,
            };
            work.await
        });
        let _abort = AbortOnDrop(task.abort_handle());
        match tokio::time::timeout_at(deadline.into(), task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(Error::Internal(format!("query task failed: {join}"))),
            Err(_) => Err(self.too_slow()),
        }
    }

    /// The scan `dataset`'s queries start from: the stored table through the caller's view.
    async fn scan(&self, dataset: &DatasetRef) -> Result<DataFrame> {
        apply_view(self.stored_scan(dataset).await?, dataset)
    }

    /// The scan of a query that may use the version's full-text index: with the index (when
    /// the `where` clauses hold a full-text condition and the index is there), the stored
    /// scan, to narrow and put under the view with [`narrow`]; else the ordinary scan. A
    /// version without an index gets one built in the background, once.
    async fn text_scan(
        &self,
        dataset: &DatasetRef,
        query: &RecordsQuery,
    ) -> Result<(DataFrame, Option<std::sync::Arc<text_index::TextIndex>>)> {
        // Parsing recurses as deep as the clauses nest: on a stack with room for it.
        if !small::on_deep_stack(|| text_index::wanted(&query.r#where)) {
            return Ok((self.scan(dataset).await?, None));
        }
        let key = (dataset.uid.clone(), dataset.version);
        let Some(index) = self.texts.get(&key, &dataset.data_path) else {
            let stored = dataset.view.as_ref().map_or(&dataset.fields, |v| &v.stored);
            self.texts.build_in_background(key, dataset.data_path.clone(), stored.clone());
            return Ok((self.scan(dataset).await?, None));
        };
        let table = self.stored_scan(dataset).await?;
        // A version held in memory is scanned faster than the index would narrow it, and its
        // table is not the Parquet file a row selection applies to.
        if self.in_memory.get(&key).is_some() {
            return Ok((self.scan(dataset).await?, None));
        }
        Ok((table, Some(index)))
    }

    /// Builds the full-text index of a version now, unless it has one (tests, and callers that
    /// want it ready before the first search, e.g. right after a publish).
    pub async fn build_text_index(&self, dataset: &DatasetRef) -> Result<()> {
        let stored = dataset.view.as_ref().map_or(&dataset.fields, |v| &v.stored).clone();
        let path = dataset.data_path.clone();
        tokio::task::spawn_blocking(move || text_index::build(&path, &stored))
            .await
            .map_err(|e| Error::Internal(format!("text index build failed: {e}")))?
    }

    /// Whether the version has a full-text index on disk (tests, diagnostics).
    pub fn has_text_index(&self, dataset: &DatasetRef) -> bool {
        text_index::TextIndex::open(&dataset.data_path).ok().flatten().is_some()
    }

    /// The rows (numbers in the version's data file) that the version's full-text index
    /// selects for `where_clauses`, as a query would read them; `None` when there is no index
    /// or it does not narrow these clauses (tests, diagnostics).
    pub fn text_index_rows(
        &self,
        dataset: &DatasetRef,
        where_clauses: &[String],
    ) -> Result<Option<Vec<u32>>> {
        let Some(index) = text_index::TextIndex::open(&dataset.data_path)? else {
            return Ok(None);
        };
        let visible = text_index::text_field_names(&dataset.fields);
        Ok(text_index::narrow(&index, where_clauses, &visible)?.map(|n| n.rows))
    }

    /// The whole stored table of `dataset`'s version (never handed to a query as is when the
    /// dataset has a view).
    async fn stored_scan(&self, dataset: &DatasetRef) -> Result<DataFrame> {
        let key = (dataset.uid.clone(), dataset.version);
        if let Some(plan) = self.in_memory.get(&key) {
            return Ok(DataFrame::new(self.ctx.state(), plan));
        }
        let cached =
            self.scans.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key).cloned();
        let plan = match cached {
            Some(plan) => plan,
            None => {
                let path = dataset.data_path.to_string_lossy().into_owned();
                let size = std::fs::metadata(&dataset.data_path).map_or(u64::MAX, |m| m.len());
                if self.in_memory.wants(size) {
                    let load = self.in_memory.load(&self.ctx, key.clone(), &path);
                    if let Some(plan) = load.await? {
                        return Ok(DataFrame::new(self.ctx.state(), plan));
                    }
                }
                let df = self
                    .ctx
                    .read_parquet(path, ParquetReadOptions::default())
                    .await
                    .map_err(|e| Error::Storage(e.to_string()))?;
                let plan = df.logical_plan().clone();
                let mut scans =
                    self.scans.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if scans.len() >= MAX_CACHED_SCANS {
                    scans.clear();
                }
                scans.insert(key, plan.clone());
                plan
            }
        };
        Ok(DataFrame::new(self.ctx.state(), plan))
    }

    /// The clustered copy of `dataset`'s version ([`clustered`]) through the caller's view, if
    /// it has one; a large version without one gets it built in the background, once. `None`
    /// for versions held in memory, and for a copy whose columns are not the version's.
    async fn clustered_scan(&self, dataset: &DatasetRef) -> Result<Option<DataFrame>> {
        let key = (format!("{}\u{0}clustered", dataset.uid), dataset.version);
        let cached =
            self.scans.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key).cloned();
        if let Some(plan) = cached {
            return Ok(Some(apply_view(DataFrame::new(self.ctx.state(), plan), dataset)?));
        }
        if self.clustered_min_rows == u64::MAX
            || self.in_memory.get(&(dataset.uid.clone(), dataset.version)).is_some()
        {
            return Ok(None);
        }
        if self.copies.without_copy(&dataset.data_path) {
            return Ok(None);
        }
        let copy = clustered::path_of(&dataset.data_path);
        if !copy.exists() {
            // Once per version and engine: `build_in_background` keeps the versions started.
            let stored = dataset.view.as_ref().map_or(&dataset.fields, |v| &v.stored);
            self.copies.build_in_background(
                dataset.data_path.clone(),
                stored.clone(),
                self.clustered_min_rows,
            );
            return Ok(None);
        }
        let df = self
            .ctx
            .read_parquet(copy.to_string_lossy().into_owned(), ParquetReadOptions::default())
            .await
            .map_err(|e| Error::Storage(e.to_string()))?;
        let own = self.stored_scan(dataset).await?;
        let columns = |df: &DataFrame| -> Vec<(String, datafusion::arrow::datatypes::DataType)> {
            df.schema().fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect()
        };
        if columns(&df) != columns(&own) {
            return Ok(None);
        }
        let plan = df.logical_plan().clone();
        let mut scans = self.scans.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if scans.len() >= MAX_CACHED_SCANS {
            scans.clear();
        }
        scans.insert(key, plan.clone());
        drop(scans);
        Ok(Some(apply_view(DataFrame::new(self.ctx.state(), plan), dataset)?))
    }

    /// Builds the clustered copy of a version now, unless it has one or is settled without
    /// one (tests, and callers that want it ready before the first query).
    pub async fn build_clustered(&self, dataset: &DatasetRef) -> Result<clustered::Built> {
        let stored = dataset.view.as_ref().map_or(&dataset.fields, |v| &v.stored).clone();
        let (path, min_rows) = (dataset.data_path.clone(), self.clustered_min_rows);
        tokio::task::spawn_blocking(move || clustered::build(&path, &stored, min_rows))
            .await
            .map_err(|e| Error::Internal(format!("clustered copy build failed: {e}")))?
    }

    /// Plans `query` over `dataset`. The query's deadline starts here: planning and running
    /// share the time limit.
    pub async fn plan(&self, dataset: &DatasetRef, query: &RecordsQuery) -> Result<PlannedQuery> {
        let deadline = self.deadline();
        let (table, index) = self.text_scan(dataset, query).await?;
        let small = self.in_memory.table(&(dataset.uid.clone(), dataset.version));
        let in_memory = small.is_some();
        let copy = match (&small, &index) {
            (None, None) => self.clustered_scan(dataset).await?,
            _ => None,
        };
        // Planning over a table of a few thousand rows in memory reads nothing: it runs here,
        // without the hop to the engine's runtime and back (nor the copies that hop needs).
        let inline = small.as_ref().is_some_and(small::SmallTable::runs_inline);
        let mut planned = if inline && index.is_none() && copy.is_none() {
            let planned = small::on_deep_stack(|| plan::plan(table, &dataset.fields, query, None));
            self.in_time(deadline, planned)?
        } else {
            let (fields, query) = (dataset.fields.clone(), query.clone());
            let (viewed, ctx) = (dataset.clone(), self.ctx.clone());
            let work = async move {
                let Some(index) = index else {
                    let planned = plan::plan(table, &fields, &query, None)?;
                    return Ok(match copy.map(|copy| plan::plan(copy, &fields, &query, None)) {
                        Some(Ok(sorted)) => clustered::answer_from(planned, sorted, &query),
                        _ => planned,
                    });
                };
                let Some((narrowed, short)) = narrow(&ctx, &table, &viewed, &query, &index)? else {
                    return plan::plan(apply_view(table, &viewed)?, &fields, &query, None);
                };
                // A mistake elsewhere in the query is reported as written, not as rewritten.
                plan::plan(narrowed, &fields, &short, None)
                    .or_else(|_| plan::plan(apply_view(table, &viewed)?, &fields, &query, None))
            };
            self.run_on_cpu(deadline, false, work).await?
        };
        planned.deadline = Some(deadline);
        if in_memory {
            planned.small = small;
        } else {
            planned.unwindowed = None;
        }
        Ok(planned)
    }

    /// Plans `query` (which filters on `_id = "<record_id>"`) over only the rows of `dataset`
    /// whose id may be `record_id`, found in the version's id index (built on first use)
    /// instead of hashing every row.
    pub async fn plan_record(
        &self,
        dataset: &DatasetRef,
        query: &RecordsQuery,
        record_id: &str,
    ) -> Result<PlannedQuery> {
        let deadline = self.deadline();
        let table = self.stored_scan(dataset).await?;
        let schema = std::sync::Arc::new(table.schema().as_arrow().clone());
        // The index hashes the view's fields, so it is kept per view.
        let key = dataset.view_key();
        let (path, fields, query) =
            (dataset.data_path.clone(), dataset.fields.clone(), query.clone());
        let viewed = dataset.clone();
        let (indexes, ctx, id) =
            (std::sync::Arc::clone(&self.indexes), self.ctx.clone(), record_id.to_owned());
        let work = async move {
            let index = match indexes.get(&key) {
                Some(index) => index,
                // Kept even when this request runs out of time: the next one finds it.
                None => indexes.put(key, record_index::RecordIndex::build(&path, &fields)?),
            };
            let rows = record_index::read_rows(&path, &index, &index.rows(&id), &schema)?;
            plan::plan(apply_view(ctx.read_batch(rows)?, &viewed)?, &fields, &query, None)
        };
        let mut planned = self.on_cpu(deadline, work).await?;
        planned.deadline = Some(deadline);
        Ok(planned)
    }

    /// The facets of `dataset` under the filters of `query` (`where`, `refine`, `exclude`).
    pub async fn facets(
        &self,
        dataset: &DatasetRef,
        query: &RecordsQuery,
        requests: &[facets::FacetRequest],
    ) -> Result<Vec<facets::FacetGroup>> {
        let deadline = self.deadline();
        let (table, index) = self.text_scan(dataset, query).await?;
        // Facets do not depend on the order of rows: the clustered copy answers them.
        let copy = match index {
            None => self.clustered_scan(dataset).await?,
            Some(_) => None,
        };
        let (fields, query, requests) = (dataset.fields.clone(), query.clone(), requests.to_vec());
        let (viewed, ctx) = (dataset.clone(), self.ctx.clone());
        let work = async move {
            let Some(index) = index else {
                let table = copy.unwrap_or(table);
                return facets::compute(table, &fields, &query, &requests, None).await;
            };
            let Some((narrowed, short)) = narrow(&ctx, &table, &viewed, &query, &index)? else {
                let table = apply_view(table, &viewed)?;
                return facets::compute(table, &fields, &query, &requests, None).await;
            };
            match facets::compute(narrowed, &fields, &short, &requests, None).await {
                Ok(groups) => Ok(groups),
                Err(_) => {
                    let table = apply_view(table, &viewed)?;
                    facets::compute(table, &fields, &query, &requests, None).await
                }
            }
        };
        self.on_cpu(deadline, work).await
    }

    /// The records of `dataset` under the filters of `query` (`where`, `refine`, `exclude`),
    /// counted per cell of a map grid over a viewport ([`geo_cluster`]); the cells with few
    /// records come back as a planned records query (`query`'s `select`), to collect with
    /// [`Engine::collect`] under the same deadline.
    pub async fn clusters(
        &self,
        dataset: &DatasetRef,
        query: &RecordsQuery,
        request: &geo_cluster::ClusterRequest,
    ) -> Result<geo_cluster::Clusters> {
        let deadline = self.deadline();
        let table = self.scan(dataset).await?;
        let (fields, query, request) = (dataset.fields.clone(), query.clone(), request.clone());
        let work = async move { geo_cluster::run(table, &fields, &query, &request).await };
        let mut answer = self.on_cpu(deadline, work).await?;
        if let Some(leaves) = answer.leaves.as_mut() {
            leaves.deadline = Some(deadline);
        }
        Ok(answer)
    }

    /// Runs a planned query: the number of matching rows (or groups) and the page.
    ///
    /// With aggregation the groups are computed once: every group is collected (the memory
    /// pool bounds them) and the page is sliced from them; so are the rows of a small dataset
    /// held in memory. Otherwise the count and the page run side by side, each reading only
    /// the columns it needs.
    pub async fn page(&self, planned: PlannedQuery) -> Result<(u64, Vec<RecordBatch>)> {
        let deadline = planned.deadline.unwrap_or_else(|| self.deadline());
        // A page of a few thousand rows in memory takes microseconds: it runs here, without
        // the two thread switches of the engine's runtime, when the small-table path can run
        // its plan.
        let inline = planned.small.as_ref().is_some_and(small::SmallTable::runs_inline);
        let state = self.ctx.state_ref();
        if inline {
            let answer =
                small::on_deep_stack(|| small_page(&planned, &state.read(), &self.small_answers));
            if let Some(answer) = answer {
                return self.in_time(deadline, Ok(answer));
            }
        }
        let answers = std::sync::Arc::clone(&self.small_answers);
        let gated = planned.small.is_none();
        self.run_on_cpu(deadline, gated, async move {
            // A small in-memory dataset's rows, without DataFusion's planner when the plan
            // allows (unless that was tried already).
            if !inline && let Some(answer) = small_page(&planned, &state.read(), &answers) {
                return Ok(answer);
            }
            // Groups, or every row of a small in-memory dataset: one plan, sliced.
            let (session, page) = planned.page.into_parts();
            if let Some(all) = planned.all_groups.or(planned.unwindowed) {
                let rows = DataFrame::new(session, all).collect().await?;
                let total: usize = rows.iter().map(RecordBatch::num_rows).sum();
                return Ok((total as u64, slice_batches(&rows, planned.window)));
            }
            let count = DataFrame::new(session.clone(), planned.total).count();
            let rows = DataFrame::new(session, page).collect();
            let (count, rows) = futures::try_join!(count, rows)?;
            Ok((count as u64, rows))
        })
        .await
    }

    /// Runs a planned query and returns only the page.
    pub async fn collect(&self, planned: PlannedQuery) -> Result<Vec<RecordBatch>> {
        let deadline = planned.deadline.unwrap_or_else(|| self.deadline());
        self.on_cpu(deadline, async move { Ok(planned.page.collect().await?) }).await
    }

    /// Streams every row of a planned query, batch by batch.
    ///
    /// The query runs on the engine's runtime and its batches come through a small channel:
    /// the time limit applies until the first batch (or the end, or an error) is there, so a
    /// failure still gets a status; after that the stream runs as long as its reader reads.
    /// Dropping the stream cancels the query.
    pub async fn stream(&self, planned: PlannedQuery) -> Result<SendableRecordBatchStream> {
        use futures::{FutureExt, StreamExt};
        let deadline = planned.deadline.unwrap_or_else(|| self.deadline());
        let schema = std::sync::Arc::new(planned.page.schema().as_arrow().clone());
        let (tx, mut rx) = tokio::sync::mpsc::channel::<datafusion::error::Result<RecordBatch>>(2);
        let tx_panic = tx.clone();
        let run = async move {
            let mut stream = match planned.page.execute_stream().await {
                Ok(stream) => stream,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            while let Some(item) = stream.next().await {
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        };
        // A panic inside DataFusion ends the stream with an error, never silently short.
        let on_panic = tx_panic;
        let task = self.cpu().spawn(async move {
            if std::panic::AssertUnwindSafe(run).catch_unwind().await.is_err() {
                let failed = datafusion::error::DataFusionError::Execution(
                    "the query failed unexpectedly".to_owned(),
                );
                let _ = on_panic.send(Err(failed)).await;
            }
        });
        let abort = AbortOnDrop(task.abort_handle());
        let first = match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
            Err(_) => return Err(self.too_slow()),
            Ok(Some(Err(e))) => return Err(e.into()),
            Ok(Some(Ok(batch))) => Some(batch),
            Ok(None) => None,
        };
        let rest = futures::stream::unfold((rx, abort), |(mut rx, abort)| async move {
            rx.recv().await.map(|item| (item, (rx, abort)))
        });
        let stream = futures::stream::iter(first.map(Ok)).chain(rest);
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }

    /// Collects a stream (tests and small results).
    pub async fn drain(stream: SendableRecordBatchStream) -> Result<Vec<RecordBatch>> {
        Ok(stream.try_collect().await?)
    }
}

/// A duration as people write it: `30 s`, `250 ms`.
fn humane(d: Duration) -> String {
    if d.as_millis() >= 1000 && d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}
