//! Changes between two versions of a dataset: records added, removed and changed, matched by
//! record id ([`crate::record_id`]: the fields annotated `id` when set, else every value).
//!
//! One DataFusion plan: each version's scan (through the caller's view) projected on its
//! record id, a digest of the fields both versions share with the same type, and its values;
//! a full outer join on the id; the rows where one side is missing or the digests differ.
//! Counting ([`Engine::change_counts`]) projects the id and the digest only. Values are
//! named by position (`__o<i>` for the older version's field `i`, `__n<i>` for the newer's),
//! so field names never have to be quoted into column names.

use datafusion::common::JoinType;
use datafusion::functions_aggregate::count::count;
use datafusion::logical_expr::{Expr, col, lit, when};
use datafusion::prelude::DataFrame;
use kleber_types::Field;

use crate::lower::column;
use crate::plan::PlannedQuery;
use crate::record_id::{hashed_names, names_digest};
use crate::{DatasetRef, Engine, Result};

/// How many records were added, removed and changed from one version to another.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeCounts {
    /// In the newer version only.
    pub added: u64,
    /// In the older version only.
    pub removed: u64,
    /// In both, with a value of a shared field that differs.
    pub changed: u64,
}

/// The fields both versions have, with the same type: the values a changed record compares.
pub fn shared_fields(from: &[Field], to: &[Field]) -> Vec<String> {
    from.iter()
        .filter(|f| to.iter().any(|t| t.name == f.name && t.field_type == f.field_type))
        .map(|f| f.name.clone())
        .collect()
}

/// One side of the join: id, digest of the shared fields, and (when `values`) every field.
fn side(
    df: DataFrame,
    fields: &[Field],
    shared: &[String],
    tag: &str,
    values: bool,
) -> Result<DataFrame> {
    let mut exprs: Vec<Expr> = vec![
        names_digest(hashed_names(fields)).alias(format!("__id_{tag}")),
        names_digest(shared.to_vec()).alias(format!("__h_{tag}")),
    ];
    if values {
        for (i, f) in fields.iter().enumerate() {
            exprs.push(column(&f.name).alias(format!("__{tag}{i}")));
        }
    }
    Ok(df.select(exprs)?)
}

impl Engine {
    /// The rows of the changes from `from` to `to`, with `values`: `change` (`added`,
    /// `removed`, `changed`), `record_id`, the older version's fields (`__o<i>`) and the
    /// newer's (`__n<i>`), both null on the side a record is missing from.
    async fn changes_frame(
        &self,
        from: &DatasetRef,
        to: &DatasetRef,
        values: bool,
    ) -> Result<DataFrame> {
        let shared = shared_fields(&from.fields, &to.fields);
        let old = side(self.scan(from).await?, &from.fields, &shared, "o", values)?;
        let new = side(self.scan(to).await?, &to.fields, &shared, "n", values)?;
        let joined = old.join(new, JoinType::Full, &["__id_o"], &["__id_n"], None)?;
        let (id_o, id_n) = (col("__id_o"), col("__id_n"));
        let differs =
            id_o.clone().is_null().or(id_n.clone().is_null()).or(col("__h_o").not_eq(col("__h_n")));
        let change = when(id_o.clone().is_null(), lit("added"))
            .when(id_n.clone().is_null(), lit("removed"))
            .otherwise(lit("changed"))?;
        let mut out = vec![
            change.alias("change"),
            datafusion::functions::core::expr_fn::coalesce(vec![id_n, id_o]).alias("record_id"),
        ];
        if values {
            out.extend((0..from.fields.len()).map(|i| col(format!("__o{i}"))));
            out.extend((0..to.fields.len()).map(|i| col(format!("__n{i}"))));
        }
        Ok(joined.filter(differs)?.select(out)?)
    }

    /// How many records were added, removed and changed from `from` to `to`.
    pub async fn change_counts(&self, from: &DatasetRef, to: &DatasetRef) -> Result<ChangeCounts> {
        let deadline = self.deadline();
        let frame = self.changes_frame(from, to, false).await?;
        let work = async move {
            let counted = frame.aggregate(vec![col("change")], vec![count(lit(1)).alias("n")])?;
            let batches = counted.collect().await?;
            let mut counts = ChangeCounts::default();
            for batch in &batches {
                use datafusion::arrow::compute::cast;
                use datafusion::arrow::datatypes::DataType;
                let kinds = cast(batch.column(0), &DataType::Utf8)?;
                let kinds = datafusion::common::cast::as_string_array(&kinds)?;
                let ns = cast(batch.column(1), &DataType::Int64)?;
                let ns = datafusion::common::cast::as_int64_array(&ns)?;
                for row in 0..batch.num_rows() {
                    let n = u64::try_from(ns.value(row)).unwrap_or_default();
                    match kinds.value(row) {
                        "added" => counts.added = n,
                        "removed" => counts.removed = n,
                        _ => counts.changed = n,
                    }
                }
            }
            Ok(counts)
        };
        self.on_cpu(deadline, work).await
    }

    /// Plans the changes from `from` to `to` with their values, ordered by record id, rows
    /// `offset..offset + limit` (every row when `limit` is `None`); stream or collect it
    /// with [`Engine::stream`] or [`Engine::collect`].
    pub async fn plan_changes(
        &self,
        from: &DatasetRef,
        to: &DatasetRef,
        offset: usize,
        limit: Option<usize>,
    ) -> Result<PlannedQuery> {
        let deadline = self.deadline();
        let frame = self.changes_frame(from, to, true).await?;
        let page = match limit {
            // A page: ordered, so that pages follow each other (a top-k of offset + limit).
            Some(limit) => frame
                .clone()
                .sort(vec![col("record_id").sort(true, false)])?
                .limit(offset, Some(limit))?,
            // A whole stream (CSV): in the join's order, without holding the rows to sort them.
            None => frame.clone(),
        };
        Ok(PlannedQuery {
            page,
            total: frame,
            all_groups: None,
            unwindowed: None,
            window: (offset, limit),
            columns: Vec::new(),
            aggregated: false,
            deadline: Some(deadline),
        })
    }
}

/// The values of a text column (the `change` and `record_id` columns of the changes), nulls
/// as empty strings.
pub fn text_values(array: &datafusion::arrow::array::ArrayRef) -> Result<Vec<String>> {
    use datafusion::arrow::array::Array;
    let utf8 =
        datafusion::arrow::compute::cast(array, &datafusion::arrow::datatypes::DataType::Utf8)?;
    let strings = datafusion::common::cast::as_string_array(&utf8)?;
    Ok((0..strings.len())
        .map(|i| if strings.is_null(i) { String::new() } else { strings.value(i).to_owned() })
        .collect())
}
