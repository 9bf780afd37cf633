//! Clustered copies of large versions: the same rows, sorted by the text fields whose values
//! each cover many rows (a commune, a category), written beside the version's data file.
//!
//! A city table is mostly queried through such fields (`refine=commune:X`, `where=categorie =
//! "Y"`). In the version's own file, in import order, the rows of one commune are on every
//! data page, so a filter on it decodes the whole column and every page of the others. In the
//! copy they are contiguous: the page index (min and max per page) skips every page of the
//! other values, and a filtered count, group or sorted page reads a few percent of the file.
//!
//! The copy answers only what does not depend on the order of rows: counts, groups, facets,
//! and pages with an `order_by`. A page without `order_by` (and so an export without it) keeps
//! the import order of the version's own file. Versions are immutable, so a copy never goes
//! stale; it is built once in the background the first time a large version is queried
//! (`Copies::build_in_background`), and until it is there queries read the version's file as
//! before. A version where no field qualifies gets a marker file instead, so the choice is not
//! made again at every start.
//!
//! Choosing the keys: text fields, most distinct values first (an equality on a field of many
//! values skips the most pages), as long as the rows of one combination of key values still
//! fill `MIN_RUN_ROWS` (4,096) rows on average: past that, the runs of a further key are
//! shorter than a data page and it would skip nothing. At most `MAX_KEYS` (3).

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{Array, UInt64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::Column;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::functions_aggregate::expr_fn::approx_distinct;
use datafusion::logical_expr::{Expr, SortExpr};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::file::metadata::KeyValue;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use futures::StreamExt;
use kleber_types::{Field, FieldType};

use crate::error::{Error, Result};

/// The copy's file name, in the version's directory.
pub const FILE_NAME: &str = "clustered.parquet";
/// The marker left where no field qualifies (or the version is too small).
const NONE_MARKER: &str = "clustered.none";
/// Key-value metadata of the copy: the key fields, comma-separated, in sort order.
pub(crate) const KEYS_METADATA: &str = "kleber.clustered_by";
/// Rows one combination of key values must fill on average for one more key to be taken.
pub(crate) const MIN_RUN_ROWS: u64 = 4096;
/// At most this many keys.
pub(crate) const MAX_KEYS: usize = 3;
/// Memory the sort may hold before it spills sorted runs to disk.
const SORT_MEMORY_BYTES: usize = 96 << 20;

/// The copy of the version whose data file is `data_path`.
pub fn path_of(data_path: &Path) -> PathBuf {
    data_path.with_file_name(FILE_NAME)
}

fn marker_of(data_path: &Path) -> PathBuf {
    data_path.with_file_name(NONE_MARKER)
}

fn storage(e: impl std::fmt::Display) -> Error {
    Error::Storage(format!("clustered copy: {e}"))
}

/// What a build did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Built {
    /// A copy sorted by these fields.
    Sorted(Vec<String>),
    /// No copy: the version has fewer rows than the engine's threshold, or no field qualifies.
    Nothing,
}

/// The copies the engine has started building since it started.
#[derive(Debug, Default)]
pub(crate) struct Copies {
    started: Mutex<HashSet<PathBuf>>,
    /// Versions found with the marker: they never get a copy, so their queries look no
    /// further (no file system call).
    without: Mutex<HashSet<PathBuf>>,
}

impl Copies {
    /// Whether the version is known to have no copy and never to get one (its marker).
    pub(crate) fn without_copy(&self, data_path: &Path) -> bool {
        let mut without = self.without.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if without.contains(data_path) {
            return true;
        }
        let marked = marker_of(data_path).exists();
        if marked {
            without.insert(data_path.to_path_buf());
        }
        marked
    }

    /// Builds the copy of a version on a thread of its own, once per engine (one build at a
    /// time: each holds up to [`SORT_MEMORY_BYTES`] while it sorts).
    pub(crate) fn build_in_background(
        &self,
        data_path: PathBuf,
        fields: Vec<Field>,
        min_rows: u64,
    ) {
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        {
            let mut started =
                self.started.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if !started.insert(data_path.clone()) {
                return;
            }
        }
        let spawned =
            std::thread::Builder::new().name("kleber-clustered".to_owned()).spawn(move || {
                let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Err(e) = build(&data_path, &fields, min_rows) {
                    eprintln!("kleber: clustered copy of {} not built: {e}", data_path.display());
                }
            });
        if let Err(e) = spawned {
            // No thread: the version's own file keeps answering.
            eprintln!("kleber: no thread to build a clustered copy: {e}");
        }
    }
}

/// Builds the clustered copy of the version whose data file is `data_path` (stored fields
/// `fields`), or its marker when it has fewer than `min_rows` rows or no field qualifies.
/// Blocking: it runs its own small runtime.
pub fn build(data_path: &Path, fields: &[Field], min_rows: u64) -> Result<Built> {
    if path_of(data_path).exists() {
        return Ok(Built::Sorted(keys_of(&path_of(data_path))?));
    }
    let runtime = tokio::runtime::Builder::new_current_thread().build().map_err(|e| {
        Error::Internal(format!("cannot start a runtime for a clustered copy: {e}"))
    })?;
    let built = runtime.block_on(build_async(data_path, fields, min_rows))?;
    if built == Built::Nothing {
        std::fs::write(marker_of(data_path), b"").map_err(storage)?;
    }
    Ok(built)
}

/// The key fields a copy is sorted by (its metadata).
pub fn keys_of(copy: &Path) -> Result<Vec<String>> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(copy).map_err(storage)?)
        .map_err(storage)?;
    let keys = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|kv| kv.key == KEYS_METADATA))
        .and_then(|kv| kv.value.clone())
        .unwrap_or_default();
    Ok(keys.split(',').filter(|k| !k.is_empty()).map(str::to_owned).collect())
}

/// The session a build runs in: one partition, a small memory pool, spilling sorted runs to
/// the version's directory.
fn build_session(dir: &Path) -> Result<SessionContext> {
    let config = SessionConfig::new().with_batch_size(8192).with_target_partitions(1);
    let disk = DiskManagerBuilder::default()
        .with_mode(DiskManagerMode::Directories(vec![dir.to_path_buf()]));
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_limit(SORT_MEMORY_BYTES, 1.0)
        .with_disk_manager_builder(disk)
        .build_arc()?;
    Ok(SessionContext::new_with_config_rt(config, runtime))
}

fn column(name: &str) -> Expr {
    Expr::Column(Column::new_unqualified(name))
}

async fn build_async(data_path: &Path, fields: &[Field], min_rows: u64) -> Result<Built> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(data_path).map_err(storage)?)
        .map_err(storage)?;
    let metadata = reader.metadata().clone();
    let file_schema: SchemaRef = reader.schema().clone();
    drop(reader);
    let rows = u64::try_from(metadata.file_metadata().num_rows()).unwrap_or(0);
    if rows < min_rows.max(1) {
        return Ok(Built::Nothing);
    }
    let candidates: Vec<&str> = fields
        .iter()
        .filter(|f| f.field_type == FieldType::Text)
        .map(|f| f.name.as_str())
        .filter(|name| file_schema.field_with_name(name).is_ok())
        .collect();
    if candidates.is_empty() {
        return Ok(Built::Nothing);
    }
    let dir = data_path.parent().unwrap_or_else(|| Path::new("."));
    let ctx = build_session(dir)?;
    let path = data_path.to_string_lossy().into_owned();
    let table = ctx.read_parquet(path, ParquetReadOptions::default()).await?;

    // Distinct values of each candidate (HyperLogLog: bounded memory whatever the field).
    let counts = table
        .clone()
        .aggregate(
            vec![],
            candidates.iter().map(|c| approx_distinct(column(c)).alias(*c)).collect(),
        )?
        .collect()
        .await?;
    let mut distinct: Vec<(&str, u64)> = Vec::new();
    if let Some(batch) = counts.first() {
        for (i, name) in candidates.iter().enumerate() {
            let count = batch
                .column(i)
                .as_any()
                .downcast_ref::<UInt64Array>()
                .filter(|a| !a.is_empty() && !a.is_null(0))
                .map_or(0, |a| a.value(0));
            distinct.push((name, count));
        }
    }
    let keys = choose_keys(distinct, rows);
    if keys.is_empty() {
        return Ok(Built::Nothing);
    }

    let sort: Vec<SortExpr> = keys.iter().map(|k| column(k).sort(true, true)).collect();
    let mut stream = table.sort(sort)?.execute_stream().await?;
    let mut kv: Vec<KeyValue> =
        metadata.file_metadata().key_value_metadata().cloned().unwrap_or_default();
    kv.retain(|kv| kv.key != KEYS_METADATA && kv.key != "ARROW:schema");
    kv.push(KeyValue::new(KEYS_METADATA.to_owned(), keys.join(",")));
    let row_group_rows = (0..metadata.num_row_groups())
        .map(|i| usize::try_from(metadata.row_group(i).num_rows()).unwrap_or(0))
        .max()
        .unwrap_or(1 << 20)
        .max(kleber_types::layout::DATA_PAGE_ROWS);
    let props = kleber_types::layout::writer_properties(&file_schema, row_group_rows, Some(kv));
    let target = path_of(data_path);
    let tmp = data_path.with_file_name(format!(".{FILE_NAME}.{}.partial", std::process::id()));
    let written = async {
        let file = File::create(&tmp).map_err(storage)?;
        let mut writer =
            ArrowWriter::try_new(file, file_schema.clone(), Some(props)).map_err(storage)?;
        let mut written = 0u64;
        while let Some(batch) = stream.next().await {
            let batch = conform(batch?, &file_schema)?;
            written += batch.num_rows() as u64;
            writer.write(&batch).map_err(storage)?;
        }
        writer.close().map_err(storage)?;
        Ok::<u64, Error>(written)
    }
    .await;
    match written {
        Ok(n) if n == rows => {
            std::fs::rename(&tmp, &target).map_err(storage)?;
            Ok(Built::Sorted(keys))
        }
        Ok(n) => {
            let _ = std::fs::remove_file(&tmp);
            Err(storage(format!("the sort gave {n} rows where the version has {rows}")))
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// `planned` (the query over the version's own file) with the parts that do not depend on the
/// order of rows taken from `sorted` (the same query over the clustered copy): the count, the
/// groups, and the page when the query orders it. A page without `order_by` keeps the
/// version's import order.
pub(crate) fn answer_from(
    mut planned: crate::PlannedQuery,
    sorted: crate::PlannedQuery,
    query: &crate::RecordsQuery,
) -> crate::PlannedQuery {
    planned.total = sorted.total;
    if planned.all_groups.is_some() {
        planned.all_groups = sorted.all_groups;
    }
    if query.order_by.as_deref().is_some_and(|o| !o.trim().is_empty()) {
        planned.page = sorted.page;
    }
    planned
}

/// The keys among `(field, distinct values)`: most values first, while the rows of one
/// combination of key values fill [`MIN_RUN_ROWS`] on average; fields of one value sort
/// nothing.
pub(crate) fn choose_keys(mut distinct: Vec<(&str, u64)>, rows: u64) -> Vec<String> {
    distinct.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let most = rows / MIN_RUN_ROWS;
    let mut product = 1u64;
    let mut keys = Vec::new();
    for (name, count) in distinct {
        if count < 2 || keys.len() == MAX_KEYS {
            continue;
        }
        let next = product.saturating_mul(count);
        if next <= most {
            product = next;
            keys.push(name.to_owned());
        }
    }
    keys
}

/// `batch` with the column types of the version's file (the scan reads text as string views;
/// the copy stores it as the version's file does).
fn conform(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(array, field)| {
            if array.data_type() == field.data_type() {
                Ok(Arc::clone(array))
            } else {
                cast(array, field.data_type()).map_err(storage)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(storage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_taken_most_values_first_while_runs_fill_pages() {
        let rows = 2_000_000;
        let distinct =
            vec![("priorite", 3), ("commune", 33), ("categorie", 8), ("adresse", 90_000)];
        // 2,000,000 / 4,096 = 488 combinations at most: commune (33), then categorie (264);
        // priorite would make 792.
        assert_eq!(choose_keys(distinct, rows), vec!["commune", "categorie"]);
    }

    #[test]
    fn no_key_when_values_are_single_or_too_many() {
        assert!(choose_keys(vec![("a", 1), ("b", 1_000_000)], 2_000_000).is_empty());
        assert!(choose_keys(vec![("a", 3)], 10_000).is_empty());
        assert_eq!(choose_keys(vec![("a", 2)], 10_000), vec!["a"]);
    }
}
