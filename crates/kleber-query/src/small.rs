//! Queries over a small in-memory version, run without DataFusion's optimiser and planner.
//!
//! On a version of a few thousand rows held in memory ([`crate::memory`]), running a query
//! costs a few microseconds; optimising its logical plan and building the physical plan cost a
//! millisecond. This module runs the plans that records queries make over such a version
//! directly: a table scan of the version's single batch, filters, projections, sorts and
//! limits, each expression made physical by DataFusion (`SessionState::create_physical_expr`:
//! type coercion and simplification included) and evaluated over the whole batch with Arrow's
//! kernels. Any other node (an aggregation, an unnest, a join...) answers `None`, and the
//! caller runs the plan through DataFusion as before; so do plans over anything but the
//! in-memory batch they are given, and plans this path fails to run (an expression that
//! DataFusion's optimiser must rewrite first, such as `coalesce`, behind ODSQL's `ifnull`).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::{
    SortColumn, SortOptions, filter_record_batch, lexsort_to_indices, prep_null_mask_filter,
    take_record_batch,
};
use datafusion::arrow::datatypes::{Field as ArrowField, Schema};
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::catalog::TableProvider;
use datafusion::common::DFSchema;
use datafusion::datasource::source_as_provider;
use datafusion::execution::SessionState;
use datafusion::logical_expr::{Expr, FetchType, LogicalPlan, SkipType};

use crate::Result;

/// A version held in memory: the provider its scans read, and all its rows in one batch.
#[derive(Clone)]
pub(crate) struct SmallTable {
    pub(crate) provider: Arc<dyn TableProvider>,
    pub(crate) rows: RecordBatch,
}

/// Tables of at most this many rows are planned and queried on the caller's thread: a query
/// over them costs tens of microseconds, less than handing it to the engine's runtime.
const INLINE_ROWS: usize = 10_000;

/// The stack that planning or running a query on the caller's thread may need: planning
/// recurses over expressions as tall as the ODSQL parser allows ([`kleber_odsql::MAX_HEIGHT`]),
/// for which the engine's own threads have [`crate::CPU_STACK_BYTES`].
const INLINE_STACK_BYTES: usize = 8 << 20;

impl SmallTable {
    /// Whether queries over this table run on the caller's thread ([`INLINE_ROWS`]).
    pub(crate) fn runs_inline(&self) -> bool {
        self.rows.num_rows() <= INLINE_ROWS
    }
}

/// Runs `work` on the caller's thread when it has [`INLINE_STACK_BYTES`] of stack left (the
/// server's runtime threads have [`crate::CPU_STACK_BYTES`]), else on a fresh stack of that
/// size (a caller on a default 2 MiB thread, such as a test's), so a tall expression never
/// overflows it.
pub(crate) fn on_deep_stack<R>(work: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(INLINE_STACK_BYTES, crate::CPU_STACK_BYTES, work)
}

/// Runs `plan` over `table` without DataFusion's planner, or `None` when the plan has a node
/// (or reads a table) that this module does not run.
pub(crate) fn run(
    plan: &LogicalPlan,
    state: &SessionState,
    table: &SmallTable,
) -> Option<Result<RecordBatch>> {
    if !supported(plan, table) {
        return None;
    }
    Some(execute(plan, state, table))
}

/// Whether every node of `plan` is one [`execute`] runs.
fn supported(plan: &LogicalPlan, table: &SmallTable) -> bool {
    match plan {
        LogicalPlan::TableScan(scan) => {
            scan.filters.is_empty()
                && source_as_provider(&scan.source)
                    .is_ok_and(|p| std::ptr::addr_eq(Arc::as_ptr(&p), Arc::as_ptr(&table.provider)))
        }
        LogicalPlan::Filter(f) => supported(&f.input, table),
        LogicalPlan::Projection(p) => supported(&p.input, table),
        LogicalPlan::Sort(s) => supported(&s.input, table),
        LogicalPlan::Limit(l) => {
            matches!(l.get_skip_type(), Ok(SkipType::Literal(_)))
                && matches!(l.get_fetch_type(), Ok(FetchType::Literal(_)))
                && supported(&l.input, table)
        }
        LogicalPlan::SubqueryAlias(a) => supported(&a.input, table),
        _ => false,
    }
}

/// The values of `expr` over `batch`, whose columns are `schema`'s.
fn physical(
    state: &SessionState,
    expr: &Expr,
    schema: &DFSchema,
    batch: &RecordBatch,
) -> Result<ArrayRef> {
    // A column, renamed or not, is the batch's own array: nothing to make physical.
    let mut bare = expr;
    while let Expr::Alias(alias) = bare {
        bare = &alias.expr;
    }
    if let Expr::Column(c) = bare
        && let Ok(i) = schema.index_of_column(c)
    {
        return Ok(Arc::clone(batch.column(i)));
    }
    let expr = state.create_physical_expr(expr.clone(), schema)?;
    Ok(expr.evaluate(batch)?.into_array(batch.num_rows())?)
}

/// The values of the condition `predicate` over `batch` (whose columns are `schema`'s),
/// computed over only the columns it reads: DataFusion evaluates the right side of an `AND`
/// over the rows the left side keeps, copying them first, and every other column would be
/// copied too.
fn condition(
    state: &SessionState,
    predicate: &Expr,
    schema: &DFSchema,
    batch: &RecordBatch,
) -> Result<ArrayRef> {
    let mut read: Vec<usize> = predicate
        .column_refs()
        .into_iter()
        .filter_map(|c| schema.index_of_column(c).ok())
        .collect();
    read.sort_unstable();
    read.dedup();
    if read.len() == schema.fields().len() {
        return physical(state, predicate, schema, batch);
    }
    let fields = read
        .iter()
        .map(|&i| {
            let (qualifier, field) = schema.qualified_field(i);
            (qualifier.cloned(), Arc::clone(field))
        })
        .collect();
    let narrow = DFSchema::new_with_metadata(fields, schema.metadata().clone())?;
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    let columns = read.iter().map(|&i| Arc::clone(batch.column(i))).collect();
    let arrow = Arc::new(narrow.as_arrow().clone());
    let narrowed = RecordBatch::try_new_with_options(arrow, columns, &options)?;
    physical(state, predicate, &narrow, &narrowed)
}

fn execute(plan: &LogicalPlan, state: &SessionState, table: &SmallTable) -> Result<RecordBatch> {
    match plan {
        LogicalPlan::TableScan(scan) => {
            let rows = match &scan.projection {
                Some(columns) => table.rows.project(columns)?,
                None => table.rows.clone(),
            };
            Ok(match scan.fetch {
                Some(n) => rows.slice(0, n.min(rows.num_rows())),
                None => rows,
            })
        }
        LogicalPlan::Filter(f) => {
            let input = execute(&f.input, state, table)?;
            let mask = condition(state, &f.predicate, f.input.schema(), &input)?;
            let Some(mask) = mask.as_boolean_opt() else {
                return Err(crate::Error::Internal("a filter is not a condition".to_owned()));
            };
            // A null condition keeps no row, as in SQL.
            let mask =
                if mask.null_count() > 0 { prep_null_mask_filter(mask) } else { mask.clone() };
            Ok(filter_record_batch(&input, &mask)?)
        }
        LogicalPlan::Projection(p) => {
            let input = execute(&p.input, state, table)?;
            let arrays = p
                .expr
                .iter()
                .map(|e| physical(state, e, p.input.schema(), &input))
                .collect::<Result<Vec<_>>>()?;
            // The names of the plan, the types of the values (type coercion may widen them).
            let fields: Vec<ArrowField> = p
                .schema
                .fields()
                .iter()
                .zip(&arrays)
                .map(|(f, a)| ArrowField::new(f.name(), a.data_type().clone(), true))
                .collect();
            let options = RecordBatchOptions::new().with_row_count(Some(input.num_rows()));
            Ok(RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options)?)
        }
        LogicalPlan::Sort(s) => {
            let input = execute(&s.input, state, table)?;
            if input.num_rows() == 0 {
                return Ok(input);
            }
            let columns = s
                .expr
                .iter()
                .map(|e| {
                    Ok(SortColumn {
                        values: physical(state, &e.expr, s.input.schema(), &input)?,
                        options: Some(SortOptions {
                            descending: !e.asc,
                            nulls_first: e.nulls_first,
                        }),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let order = lexsort_to_indices(&columns, s.fetch)?;
            Ok(take_record_batch(&input, &order)?)
        }
        LogicalPlan::Limit(l) => {
            let input = execute(&l.input, state, table)?;
            let skip = match l.get_skip_type()? {
                SkipType::Literal(n) => n,
                SkipType::UnsupportedExpr => 0,
            };
            let fetch = match l.get_fetch_type()? {
                FetchType::Literal(n) => n,
                FetchType::UnsupportedExpr => None,
            };
            let start = skip.min(input.num_rows());
            let len = fetch.unwrap_or(usize::MAX).min(input.num_rows() - start);
            Ok(input.slice(start, len))
        }
        LogicalPlan::SubqueryAlias(a) => execute(&a.input, state, table),
        other => Err(crate::Error::Internal(format!(
            "the small-table path cannot run a {} node",
            other.display()
        ))),
    }
}
