//! A sorted page of a large version in two passes (late materialisation by row number).
//!
//! `where=commune="X"&order_by=montant desc&limit=100` over two million rows: read in one
//! pass, every column of every data page holding a row that passes the filter is decoded, and
//! such rows are everywhere. In two passes:
//!
//! 1. the query runs with only its filter and sort columns and the rows' numbers in the file
//!    (DataFusion's `file_row_index()`, read by the Parquet scan): its answer is the page's
//!    row numbers, a hundred integers;
//! 2. the same query runs again over those rows only (a Parquet row selection,
//!    [`crate::text_index::SelectedRows`]): only the data pages holding them are decoded, and
//!    the page is sorted and projected as the query says.
//!
//! The count (`total_count`) runs beside pass 1, as before. Chosen by
//! [`crate::Engine::plan`] for a sorted page (`order_by`, `limit` ≤ [`MAX_ROWS`],
//! `offset + limit` ≤ [`MAX_END`]) without aggregation over a version read from its file
//! (not in memory, not narrowed by the full-text index). Ties in the sort keep the set of
//! rows pass 1 chose.

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::dataframe::DataFrame;
use datafusion::functions::core::expr_fn::file_row_index;
use datafusion::prelude::SessionContext;

use crate::lower::column;
use crate::plan::{RecordsQuery, plan, plan_keeping};
use crate::text_index::SelectedRows;
use crate::{DatasetRef, Error, Result, apply_view_keeping};

/// The most rows of a page read in two passes.
pub(crate) const MAX_ROWS: usize = 1000;

/// The deepest page (`offset + limit`) read in two passes.
pub(crate) const MAX_END: usize = 10_000;

/// The name of the hidden row-number column of pass 1.
const ROW: &str = "__kleber_row";

/// Whether `query` (planned without aggregation) may be read in two passes.
pub(crate) fn wanted(query: &RecordsQuery) -> bool {
    let sorted = query.order_by.as_deref().is_some_and(|o| !o.trim().is_empty());
    let limit = query.limit.unwrap_or(usize::MAX);
    sorted && limit > 0 && limit <= MAX_ROWS && query.offset.saturating_add(limit) <= MAX_END
}

/// The two passes of one page.
pub(crate) struct LatePage {
    /// Pass 1: the row numbers of the page, in the page's order.
    positions: DataFrame,
    /// The version's stored scan (a Parquet file), for pass 2.
    stored: DataFrame,
    dataset: DatasetRef,
    query: RecordsQuery,
    /// Rows in the file.
    file_rows: usize,
    ctx: SessionContext,
}

impl LatePage {
    /// Plans pass 1 of `query` over `stored` (the stored scan of `dataset`'s Parquet file).
    pub(crate) fn plan(
        ctx: &SessionContext,
        stored: DataFrame,
        dataset: &DatasetRef,
        query: &RecordsQuery,
    ) -> Result<LatePage> {
        let file_rows = file_rows(&dataset.data_path)?;
        let mut columns: Vec<_> =
            stored.schema().fields().iter().map(|f| column(f.name())).collect();
        columns.push(file_row_index().alias(ROW));
        let numbered = apply_view_keeping(stored.clone().select(columns)?, dataset, Some(ROW))?;
        let planned = plan_keeping(numbered, &dataset.fields, query, None, Some(ROW))?;
        let positions = planned.page.select(vec![column(ROW)])?;
        Ok(LatePage {
            positions,
            stored,
            dataset: dataset.clone(),
            query: query.clone(),
            file_rows,
            ctx: ctx.clone(),
        })
    }

    /// Pass 1 then pass 2: the page's rows.
    pub(crate) async fn page(self) -> Result<Vec<RecordBatch>> {
        let numbers = self.positions.collect().await?;
        let mut rows = Vec::new();
        for batch in &numbers {
            let values = batch.column(0).as_primitive_opt::<Int64Type>().ok_or_else(|| {
                Error::Internal("the row numbers of a page are not integers".to_owned())
            })?;
            for value in values.iter().flatten() {
                rows.push(
                    u32::try_from(value).map_err(|_| {
                        Error::Internal(format!("row number {value} is out of range"))
                    })?,
                );
            }
        }
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        rows.sort_unstable();
        rows.dedup();
        let selected = SelectedRows::restrict(&self.ctx, &self.stored, &rows, self.file_rows)?;
        let query = RecordsQuery { offset: 0, limit: Some(rows.len()), ..self.query };
        let planned = plan(
            apply_view_keeping(selected, &self.dataset, None)?,
            &self.dataset.fields,
            &query,
            None,
        )?;
        Ok(planned.page.collect().await?)
    }
}

/// The number of rows of the Parquet file at `path` (its footer).
fn file_rows(path: &std::path::Path) -> Result<usize> {
    let file = std::fs::File::open(path).map_err(|e| Error::Storage(e.to_string()))?;
    let reader = datafusion::parquet::file::reader::SerializedFileReader::new(file)
        .map_err(|e| Error::Storage(e.to_string()))?;
    use datafusion::parquet::file::reader::FileReader;
    usize::try_from(reader.metadata().file_metadata().num_rows())
        .map_err(|_| Error::Storage("a negative row count".to_owned()))
}
