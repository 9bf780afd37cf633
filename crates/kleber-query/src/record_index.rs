//! Finding one record by its id without hashing every row on every request.
//!
//! A record id is the SHA-1 of the record's values (or of its `id`-annotated fields), so
//! neither Parquet statistics nor a sort order can find it. The first lookup in a dataset
//! version reads the hashed columns once and keeps a compact index: the first 8 bytes of
//! each row's id with its row number, sorted (12 bytes a row). Versions are immutable, so the
//! index never goes stale; it is derived state, bounded in memory, rebuilt when dropped.
//! A lookup then reads only the candidate rows (a row selection inside one row group), and
//! the ordinary plan with `where _id = "…"` runs over them, which also rules out a
//! collision of the 8-byte prefix.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use datafusion::parquet::file::metadata::PageIndexPolicy;
use kleber_types::Field;

use crate::error::{Error, Result};

/// Memory all cached indexes may hold together (about 5.5 million rows).
pub(crate) const MAX_INDEX_BYTES: usize = 64 << 20;

/// The sorted (id prefix, row number) pairs of one dataset version, with the version's
/// Parquet metadata and page index, so a lookup neither parses the footer again nor decodes
/// more than the one page of each column that holds the row.
#[derive(Debug)]
pub(crate) struct RecordIndex {
    keys: Vec<(u64, u32)>,
    metadata: ArrowReaderMetadata,
}

fn prefix(digest: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes)
}

fn storage(e: impl std::fmt::Display) -> Error {
    Error::Storage(e.to_string())
}

impl RecordIndex {
    /// Reads the hashed columns of the Parquet file at `path` and indexes every row.
    pub(crate) fn build(path: &Path, fields: &[Field]) -> Result<RecordIndex> {
        let names = crate::record_id::hashed_names(fields);
        let file = File::open(path).map_err(storage)?;
        // The offset index (each page's place) lets a row selection skip the other pages;
        // files written without one are read page by page.
        let options = ArrowReaderOptions::new().with_offset_index_policy(PageIndexPolicy::Optional);
        let metadata = ArrowReaderMetadata::load(&file, options).map_err(storage)?;
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata.clone());
        let schema = builder.schema().clone();
        let roots: Vec<usize> =
            names.iter().map(|n| schema.index_of(n).map_err(storage)).collect::<Result<_>>()?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
        let reader =
            builder.with_projection(mask).with_batch_size(8192).build().map_err(storage)?;
        let mut keys = Vec::new();
        for batch in reader {
            let batch = batch.map_err(storage)?;
            // The projected batch keeps the file's column order: put them in hashing order.
            let arrays: Vec<ArrayRef> = names
                .iter()
                .map(|n| batch.column_by_name(n).cloned().ok_or_else(|| storage(n)))
                .collect::<Result<_>>()?;
            crate::record_id::digests(&names, None, &arrays, |digest| {
                let row = u32::try_from(keys.len()).unwrap_or(u32::MAX);
                keys.push((prefix(digest), row));
            })?;
        }
        keys.sort_unstable();
        Ok(RecordIndex { keys, metadata })
    }

    /// Rows whose id starts like `id` (usually one, or none).
    pub(crate) fn rows(&self, id: &str) -> Vec<u32> {
        let Some(key) = parse_prefix(id) else { return Vec::new() };
        let start = self.keys.partition_point(|(k, _)| *k < key);
        self.keys[start..].iter().take_while(|(k, _)| *k == key).map(|(_, row)| *row).collect()
    }

    fn bytes(&self) -> usize {
        self.keys.len() * std::mem::size_of::<(u64, u32)>() + self.metadata.metadata().memory_size()
    }
}

/// The first 8 bytes of a 40-hex-digit id.
fn parse_prefix(id: &str) -> Option<u64> {
    id.get(..16).and_then(|h| u64::from_str_radix(h, 16).ok())
}

/// Reads rows `rows` of the Parquet file at `path` (described by `index`), each from its own
/// row group and, through the page index, its own page of each column only; cast to `schema`
/// (the engine's view of the file, e.g. strings as views).
pub(crate) fn read_rows(
    path: &Path,
    index: &RecordIndex,
    rows: &[u32],
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    let mut batches = Vec::new();
    for &row in rows {
        let file = File::open(path).map_err(storage)?;
        let builder =
            ParquetRecordBatchReaderBuilder::new_with_metadata(file, index.metadata.clone());
        let mut first = 0usize;
        let mut found = None;
        for (i, group) in builder.metadata().row_groups().iter().enumerate() {
            let n = usize::try_from(group.num_rows()).unwrap_or(0);
            if (row as usize) < first + n {
                found = Some((i, row as usize - first));
                break;
            }
            first += n;
        }
        let Some((group, offset)) = found else { continue };
        let selection = RowSelection::from(vec![RowSelector::skip(offset), RowSelector::select(1)]);
        let reader = builder
            .with_row_groups(vec![group])
            .with_row_selection(selection)
            .build()
            .map_err(storage)?;
        for batch in reader {
            batches.push(cast_to(&batch.map_err(storage)?, schema)?);
        }
    }
    if batches.is_empty() {
        return Ok(RecordBatch::new_empty(schema.clone()));
    }
    Ok(datafusion::arrow::compute::concat_batches(schema, &batches)?)
}

fn cast_to(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let column = batch.column_by_name(f.name()).ok_or_else(|| storage(f.name()))?;
            Ok(datafusion::arrow::compute::cast(column, f.data_type())?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// Indexes by (uid, version), and the bytes they hold.
type Entries = (HashMap<(String, i64), Arc<RecordIndex>>, usize);

/// The indexes built so far, by (uid, version), bounded by [`MAX_INDEX_BYTES`].
#[derive(Debug, Default)]
pub(crate) struct IndexCache {
    entries: Mutex<Entries>,
}

impl IndexCache {
    pub(crate) fn get(&self, key: &(String, i64)) -> Option<Arc<RecordIndex>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).0.get(key).cloned()
    }

    pub(crate) fn put(&self, key: (String, i64), index: RecordIndex) -> Arc<RecordIndex> {
        let index = Arc::new(index);
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.1 + index.bytes() > MAX_INDEX_BYTES {
            entries.0.clear();
            entries.1 = 0;
        }
        entries.1 += index.bytes();
        entries.0.insert(key, Arc::clone(&index));
        index
    }
}
