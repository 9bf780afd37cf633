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
mod dates;
mod error;
pub mod facets;
mod fulltext;
pub mod functions;
mod geo;
mod id_set;
mod json;
mod lower;
mod plan;
mod record_id;
mod refine;
mod text;

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
use std::path::PathBuf;
use std::sync::Mutex;

use datafusion::dataframe::DataFrame;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use futures::TryStreamExt;
use kleber_types::Field;

pub use datafusion::arrow::record_batch::RecordBatch;
pub use datafusion::execution::SendableRecordBatchStream as RecordBatchStream;
pub use error::{Clause, Error, Result};
pub use lower::parse_date_literal;
pub use plan::{ColumnRole, OutputColumn, PlannedQuery, RecordsQuery, SearchHook};
pub use record_id::is_record_id;

/// One version of one dataset, as the catalog describes it.
#[derive(Debug, Clone)]
pub struct DatasetRef {
    /// The dataset's immutable uid.
    pub uid: String,
    /// Its version number.
    pub version: i64,
    /// The Parquet file of that version.
    pub data_path: PathBuf,
    /// Its schema.
    pub fields: Vec<Field>,
}

/// Resource limits of the engine.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Memory all running queries may hold together, in bytes.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { memory_bytes: 1 << 30 }
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
    Ok(SessionContext::new_with_config_rt(config, runtime))
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

/// The query engine: a session plus the scans of the dataset versions already opened.
pub struct Engine {
    ctx: SessionContext,
    /// Scan plans by (uid, version); versions are immutable, so an entry never goes stale.
    scans: Mutex<HashMap<(String, i64), LogicalPlan>>,
}

/// Bound on the number of cached scans, so a portal with many datasets stays small.
const MAX_CACHED_SCANS: usize = 4096;

impl Engine {
    /// An engine with the given limits.
    pub fn new(limits: Limits) -> Result<Engine> {
        Ok(Engine { ctx: session(limits)?, scans: Mutex::new(HashMap::new()) })
    }

    async fn scan(&self, dataset: &DatasetRef) -> Result<DataFrame> {
        let key = (dataset.uid.clone(), dataset.version);
        let cached =
            self.scans.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key).cloned();
        let plan = match cached {
            Some(plan) => plan,
            None => {
                let path = dataset.data_path.to_string_lossy().into_owned();
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

    /// Plans `query` over `dataset`.
    pub async fn plan(&self, dataset: &DatasetRef, query: &RecordsQuery) -> Result<PlannedQuery> {
        let table = self.scan(dataset).await?;
        plan::plan(table, &dataset.fields, query, None)
    }

    /// The facets of `dataset` under the filters of `query` (`where`, `refine`, `exclude`).
    pub async fn facets(
        &self,
        dataset: &DatasetRef,
        query: &RecordsQuery,
        requests: &[facets::FacetRequest],
    ) -> Result<Vec<facets::FacetGroup>> {
        let table = self.scan(dataset).await?;
        facets::compute(table, &dataset.fields, query, requests, None).await
    }

    /// Runs a planned query: the number of matching rows (or groups) and the page.
    ///
    /// With aggregation the groups are computed once: every group is collected (the memory
    /// pool bounds them) and the page is sliced from them. Without, the count and the page
    /// run side by side, each reading only the columns it needs.
    pub async fn page(&self, planned: PlannedQuery) -> Result<(u64, Vec<RecordBatch>)> {
        if let Some(all) = planned.all_groups {
            let groups = all.collect().await?;
            let total: usize = groups.iter().map(RecordBatch::num_rows).sum();
            return Ok((total as u64, slice_batches(&groups, planned.window)));
        }
        let count = planned.total.count();
        let rows = planned.page.collect();
        let (count, rows) = futures::try_join!(count, rows)?;
        Ok((count as u64, rows))
    }

    /// Runs a planned query and returns only the page.
    pub async fn collect(&self, planned: PlannedQuery) -> Result<Vec<RecordBatch>> {
        Ok(planned.page.collect().await?)
    }

    /// Streams every row of a planned query, batch by batch.
    pub async fn stream(&self, planned: PlannedQuery) -> Result<SendableRecordBatchStream> {
        Ok(planned.page.execute_stream().await?)
    }

    /// Collects a stream (tests and small results).
    pub async fn drain(stream: SendableRecordBatchStream) -> Result<Vec<RecordBatch>> {
        Ok(stream.try_collect().await?)
    }
}
