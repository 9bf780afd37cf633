//! Small dataset versions kept in memory as Arrow batches, under a memory budget.
//!
//! A query over a small version costs mostly its fixed parts: opening the Parquet file, reading
//! its footer, decoding its pages. A version whose file is at most [`SMALL_FILE_BYTES`] is
//! read once, on its first query, into Arrow batches held in a DataFusion `MemTable`; later
//! queries plan over that table. Versions are immutable, so an entry never goes stale. The
//! decoded bytes of all kept versions stay under the budget (`Limits::in_memory_bytes`):
//! past it, the versions loaded first are dropped (and read from their files again).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use datafusion::arrow::compute::concat_batches;
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use crate::small::SmallTable;
use crate::{Error, Result};

/// Files up to this size are candidates for memory.
pub(crate) const SMALL_FILE_BYTES: u64 = 4 << 20;

type Key = (String, i64);

#[derive(Default)]
struct State {
    /// Scan plans over the in-memory table, the table, and the bytes each holds.
    tables: HashMap<Key, (LogicalPlan, SmallTable, usize)>,
    /// Keys in the order they were loaded (the first ones leave first).
    order: VecDeque<Key>,
    used: usize,
}

/// The in-memory versions of one engine.
pub(crate) struct MemoryTables {
    budget: usize,
    state: Mutex<State>,
}

impl MemoryTables {
    pub(crate) fn new(budget: usize) -> MemoryTables {
        MemoryTables { budget, state: Mutex::default() }
    }

    /// The in-memory scan of `key`, if it is kept.
    pub(crate) fn get(&self, key: &Key) -> Option<LogicalPlan> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.tables.get(key).map(|(plan, _, _)| plan.clone())
    }

    /// The in-memory table of `key` (its rows in one batch), if it is kept.
    pub(crate) fn table(&self, key: &Key) -> Option<SmallTable> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.tables.get(key).map(|(_, table, _)| table.clone())
    }

    /// Bytes held now.
    pub(crate) fn used(&self) -> usize {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).used
    }

    /// Whether a file of `size` bytes should be read into memory.
    pub(crate) fn wants(&self, size: u64) -> bool {
        self.budget > 0 && size <= SMALL_FILE_BYTES
    }

    /// Reads the Parquet file at `path` into memory and keeps it under `key` when it fits
    /// the budget; returns the in-memory scan, or `None` when it does not fit.
    pub(crate) async fn load(
        &self,
        ctx: &SessionContext,
        key: Key,
        path: &str,
    ) -> Result<Option<LogicalPlan>> {
        let df = ctx
            .read_parquet(path, ParquetReadOptions::default())
            .await
            .map_err(|e| Error::Storage(e.to_string()))?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await.map_err(|e| Error::Storage(e.to_string()))?;
        // All rows in one batch (the small-table path reads it whole), in file order.
        let rows = concat_batches(&schema, &batches)?;
        let bytes = rows.get_array_memory_size();
        if bytes > self.budget {
            return Ok(None);
        }
        // One partition: rows come in file order, as from the file (pages without `order_by`
        // are stable), and a small table gains nothing from more.
        let provider: Arc<dyn TableProvider> =
            Arc::new(MemTable::try_new(schema, vec![vec![rows.clone()]])?);
        let plan = ctx.read_table(Arc::clone(&provider))?.logical_plan().clone();
        let table = SmallTable { provider, rows };
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((existing, _, _)) = state.tables.get(&key) {
            return Ok(Some(existing.clone()));
        }
        while state.used + bytes > self.budget {
            let Some(old) = state.order.pop_front() else { break };
            if let Some((_, _, freed)) = state.tables.remove(&old) {
                state.used -= freed;
            }
        }
        state.used += bytes;
        state.order.push_back(key.clone());
        state.tables.insert(key, (plan.clone(), table, bytes));
        Ok(Some(plan))
    }
}
