//! Changes between two versions of a dataset: records added, removed and changed, matched by
//! record id ([`crate::record_id`]: the fields annotated `id` when set, else every value).
//!
//! Two passes, so that a diff costs a scan of each version plus work proportional to the
//! changes, not a join of every row's values:
//!
//! 1. Digests: each version's sorted `(record id, value hash, row number)` entries — the
//!    SHA-1 of the id fields, and a 64-bit hash of the values of the fields both versions
//!    share with the same type, 32 bytes a row. Without a view they come from the version's
//!    digest file ([`digest_file`], written at publish; computed and written when missing):
//!    its hash covers every field, as a sum of per-field terms, so the terms of the fields the
//!    other version lacks are subtracted (reading only those columns). Through a caller's
//!    view they are computed from the view's scan. Versions are immutable, so the entries are
//!    cached per (version, view, shared fields) and the next diff (or the summary computed at
//!    publish) reuses them. A merge of the two sorted lists gives the counts and the ids of
//!    the changed records, in record-id order.
//! 2. Values: only the records whose id is in the wanted part of that list (a page, or every
//!    change for a CSV stream) are read from each version (their row numbers as a row
//!    selection in the Parquet reader when known, and a filter on the id set), and a full
//!    outer join on the id puts their old and new values side by side. The join's build side
//!    holds the changed rows of the older version only.
//!
//! Values are named by position (`__o<i>` for the older version's field `i`, `__n<i>` for the
//! newer's), so field names never have to be quoted into column names.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::ArrayRef;
use datafusion::common::JoinType;
use datafusion::logical_expr::{Expr, col, lit, when};
use datafusion::prelude::DataFrame;
use futures::StreamExt;
use kleber_types::Field;

use crate::digest_file::{self, Entry, RowDigests};
use crate::lower::column;
use crate::plan::PlannedQuery;

use crate::record_id::{digests, hashed_names, names_digest};
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

/// One version's `(record id, row digest)` pairs, sorted by id.
#[derive(Debug)]
pub(crate) struct Digests {
    rows: Vec<Entry>,
    /// Whether the entries' row numbers are those of the version's Parquet file (read from
    /// the file without a view), so the second pass can read only the changed rows.
    in_file: bool,
}

impl Digests {
    fn bytes(&self) -> usize {
        self.rows.len() * std::mem::size_of::<Entry>()
    }

    /// The row numbers (in the file, ascending) of the records whose ids are `ids` (sorted).
    fn rows_of(&self, ids: &[[u8; 20]]) -> Vec<u32> {
        let mut rows = Vec::new();
        let mut from = 0;
        for id in ids {
            from += self.rows[from..].partition_point(|e| e.id < *id);
            rows.extend(self.rows[from..].iter().take_while(|e| e.id == *id).map(|e| e.row));
        }
        rows.sort_unstable();
        rows
    }
}

/// Memory the cached digests may hold together (about 8 million rows).
const MAX_DIGEST_BYTES: usize = 256 << 20;

/// (uid and view, version, shared fields joined).
type DigestKey = (String, i64, String);

/// The digests computed so far, bounded by [`MAX_DIGEST_BYTES`] (all dropped when full).
#[derive(Debug, Default)]
pub(crate) struct DigestCache {
    entries: Mutex<(HashMap<DigestKey, Arc<Digests>>, usize)>,
}

impl DigestCache {
    fn get(&self, key: &DigestKey) -> Option<Arc<Digests>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).0.get(key).cloned()
    }

    fn put(&self, key: DigestKey, digests: Digests) -> Arc<Digests> {
        let digests = Arc::new(digests);
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.1 + digests.bytes() > MAX_DIGEST_BYTES {
            entries.0.clear();
            entries.1 = 0;
        }
        if digests.bytes() <= MAX_DIGEST_BYTES {
            entries.1 += digests.bytes();
            entries.0.insert(key, Arc::clone(&digests));
        }
        digests
    }
}

/// The counts and the ids (distinct, in order) of the records that changed.
#[derive(Debug, Default)]
struct ChangeList {
    counts: ChangeCounts,
    ids: Vec<[u8; 20]>,
}

/// Merges two sorted digest lists. Rows sharing an id pair as a join would: every (old, new)
/// pair with different digests is a changed row.
fn merge(old: &Digests, new: &Digests) -> ChangeList {
    let (a, b) = (&old.rows, &new.rows);
    let (mut i, mut j) = (0, 0);
    let mut list = ChangeList::default();
    while i < a.len() || j < b.len() {
        let id = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.id.min(y.id),
            (Some(x), None) => x.id,
            (None, Some(y)) => y.id,
            (None, None) => break,
        };
        let i_end = i + a[i..].iter().take_while(|r| r.id == id).count();
        let j_end = j + b[j..].iter().take_while(|r| r.id == id).count();
        let (olds, news) = (&a[i..i_end], &b[j..j_end]);
        let before = list.counts;
        if news.is_empty() {
            list.counts.removed += olds.len() as u64;
        } else if olds.is_empty() {
            list.counts.added += news.len() as u64;
        } else {
            for o in olds {
                list.counts.changed += news.iter().filter(|n| n.hash != o.hash).count() as u64;
            }
        }
        if list.counts != before {
            list.ids.push(id);
        }
        (i, j) = (i_end, j_end);
    }
    list
}

/// One side of the join, kept to the records whose id is in `ids`: id, digest of the shared
/// fields, and every field.
fn side(
    df: DataFrame,
    fields: &[Field],
    shared: &[String],
    tag: &str,
    ids: &[String],
) -> Result<DataFrame> {
    let id = names_digest(hashed_names(fields));
    let mut exprs: Vec<Expr> = vec![
        id.clone().alias(format!("__id_{tag}")),
        names_digest(shared.to_vec()).alias(format!("__h_{tag}")),
    ];
    for (i, f) in fields.iter().enumerate() {
        exprs.push(column(&f.name).alias(format!("__{tag}{i}")));
    }
    Ok(df.filter(crate::id_set::id_in(id, ids.to_vec()))?.select(exprs)?)
}

/// The digests of every field of the version stored at `path`: its digest file, or computed
/// from its Parquet file and written beside it (a file that cannot be written is not an
/// error: the digests are computed again next time).
fn stored_digests(path: &std::path::Path, fields: &[Field]) -> Result<RowDigests> {
    if let Some(stored) = digest_file::read(path, fields) {
        return Ok(stored);
    }
    let computed = digest_file::compute(path, fields)?;
    let _ = digest_file::write(path, fields, &computed);
    Ok(computed)
}

impl Engine {
    /// `dataset`'s digests over the fields `shared` (cached). Without a view, from the
    /// version's digest file ([`digest_file`]), computed and written first when it is missing
    /// or unreadable; with a view, from the view's scan.
    async fn version_digests(
        &self,
        dataset: &DatasetRef,
        shared: &[String],
    ) -> Result<impl Future<Output = Result<Arc<Digests>>> + Send + 'static> {
        let (view, version) = dataset.view_key();
        let key = (view, version, shared.join("\u{1f}"));
        let cache = Arc::clone(&self.digests);
        let cached = cache.get(&key);
        let ids = hashed_names(&dataset.fields);
        let mut names = ids.clone();
        names.extend(shared.iter().filter(|s| !ids.contains(s)).cloned());
        let df = match (&cached, &dataset.view) {
            (None, Some(_)) => {
                let columns: Vec<Expr> = names.iter().map(|n| column(n)).collect();
                Some(self.scan(dataset).await?.select(columns)?)
            }
            _ => None,
        };
        let (path, fields) = (dataset.data_path.clone(), dataset.fields.clone());
        let shared = shared.to_vec();
        Ok(async move {
            if let Some(cached) = cached {
                return Ok(cached);
            }
            let Some(df) = df else {
                // No view: the stored digests, less the fields the other version lacks.
                let work = move || -> Result<Arc<Digests>> {
                    let mut stored = stored_digests(&path, &fields)?;
                    let others: Vec<String> = fields
                        .iter()
                        .map(|f| f.name.clone())
                        .filter(|n| !shared.contains(n))
                        .collect();
                    digest_file::subtract(&path, &others, &mut stored)?;
                    Ok(cache.put(key, Digests { rows: stored.entries, in_file: true }))
                };
                return tokio::task::spawn_blocking(work)
                    .await
                    .map_err(|e| crate::Error::Internal(format!("digest task failed: {e}")))?;
            };
            let position = |name: &String| names.iter().position(|n| n == name).unwrap_or(0);
            let (id_at, shared_at): (Vec<usize>, Vec<usize>) =
                (ids.iter().map(position).collect(), shared.iter().map(position).collect());
            let mut rows: Vec<Entry> = Vec::new();
            let mut stream = df.execute_stream().await?;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                let pick = |at: &[usize]| -> Vec<ArrayRef> {
                    at.iter().map(|&i| Arc::clone(batch.column(i))).collect()
                };
                let start = rows.len();
                digests(&ids, None, &pick(&id_at), |d| {
                    let mut id = [0u8; 20];
                    id.copy_from_slice(&d[..20]);
                    rows.push(Entry { id, hash: 0, row: u32::MAX });
                })?;
                let mut sums = vec![0u64; batch.num_rows()];
                for (name, array) in shared.iter().zip(pick(&shared_at)) {
                    digest_file::add_terms(name, &array, &mut sums)?;
                }
                for (row, sum) in rows[start..].iter_mut().zip(sums) {
                    row.hash = sum;
                }
            }
            rows.sort_unstable();
            Ok(cache.put(key, Digests { rows, in_file: false }))
        })
    }

    /// Makes sure the digest file of `dataset`'s version (a whole version, no view) is
    /// written, computing it within `limit` if needed (after a publication, so that the first
    /// diff of the version does not hash it). Returns whether it was computed now.
    pub async fn prepare_digests(
        &self,
        dataset: &DatasetRef,
        limit: std::time::Duration,
    ) -> Result<bool> {
        if dataset.view.is_some() {
            return Ok(false);
        }
        let (path, fields) = (dataset.data_path.clone(), dataset.fields.clone());
        let names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
        let key = (dataset.view_key().0, dataset.version, names.join("\u{1f}"));
        let cache = Arc::clone(&self.digests);
        let work = tokio::task::spawn_blocking(move || -> Result<bool> {
            let computed = digest_file::read(&path, &fields).is_none();
            let stored = stored_digests(&path, &fields)?;
            cache.put(key, Digests { rows: stored.entries, in_file: true });
            Ok(computed)
        });
        match tokio::time::timeout(limit, work).await {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => Err(crate::Error::Internal(format!("digest task failed: {e}"))),
            Err(_) => Err(self.too_slow()),
        }
    }

    /// The change list from `from` to `to`, both versions' digests computed side by side.
    async fn change_list(
        &self,
        from: &DatasetRef,
        to: &DatasetRef,
        deadline: std::time::Instant,
    ) -> Result<(ChangeList, Arc<Digests>, Arc<Digests>)> {
        let shared = shared_fields(&from.fields, &to.fields);
        let old = self.version_digests(from, &shared).await?;
        let new = self.version_digests(to, &shared).await?;
        let old = self.cpu().spawn(old);
        let new = self.cpu().spawn(new);
        let work = async move {
            let join = |r: std::result::Result<Result<Arc<Digests>>, tokio::task::JoinError>| {
                r.map_err(|e| crate::Error::Internal(format!("digest task failed: {e}")))?
            };
            let (old, new) = futures::join!(old, new);
            let (old, new) = (join(old)?, join(new)?);
            Ok((merge(&old, &new), old, new))
        };
        self.on_cpu(deadline, work).await
    }

    /// The scan of `dataset` for the second pass: only the rows of the records `ids` (sorted)
    /// when the digests know their row numbers in the file, else the whole scan.
    async fn rows_scan(
        &self,
        dataset: &DatasetRef,
        digests: &Digests,
        ids: &[[u8; 20]],
    ) -> Result<DataFrame> {
        let in_memory = self.in_memory.get(&(dataset.uid.clone(), dataset.version)).is_some();
        if !digests.in_file || dataset.view.is_some() || in_memory {
            return self.scan(dataset).await;
        }
        let rows = digests.rows_of(ids);
        let stored = self.stored_scan(dataset).await?;
        crate::text_index::SelectedRows::restrict(&self.ctx, &stored, &rows, digests.rows.len())
    }

    /// How many records were added, removed and changed from `from` to `to`.
    pub async fn change_counts(&self, from: &DatasetRef, to: &DatasetRef) -> Result<ChangeCounts> {
        Ok(self.change_list(from, to, self.deadline()).await?.0.counts)
    }

    /// [`Engine::change_counts`] within `limit` instead of the query time limit (work done
    /// in the background after a publication, not for a waiting request).
    pub async fn change_counts_within(
        &self,
        from: &DatasetRef,
        to: &DatasetRef,
        limit: std::time::Duration,
    ) -> Result<ChangeCounts> {
        Ok(self.change_list(from, to, std::time::Instant::now() + limit).await?.0.counts)
    }

    /// Plans the changes from `from` to `to` with their values, ordered by record id, rows
    /// `offset..offset + limit` (every row when `limit` is `None`, in the join's order); stream
    /// or collect it with [`Engine::stream`] or [`Engine::collect`]. Columns: `change`
    /// (`added`, `removed`, `changed`), `record_id`, the older version's fields (`__o<i>`)
    /// and the newer's (`__n<i>`), both null on the side a record is missing from.
    pub async fn plan_changes(
        &self,
        from: &DatasetRef,
        to: &DatasetRef,
        offset: usize,
        limit: Option<usize>,
    ) -> Result<PlannedQuery> {
        let deadline = self.deadline();
        let (list, old_digests, new_digests) = self.change_list(from, to, deadline).await?;
        let ids: &[[u8; 20]] = match limit {
            Some(limit) => {
                list.ids.get(offset..).map_or(&[], |rest| &rest[..limit.min(rest.len())])
            }
            None => &list.ids,
        };
        let wanted: Vec<String> = ids.iter().map(hex::encode).collect();
        let shared = shared_fields(&from.fields, &to.fields);
        let old_rows = self.rows_scan(from, &old_digests, ids).await?;
        let new_rows = self.rows_scan(to, &new_digests, ids).await?;
        drop((old_digests, new_digests));
        let old = side(old_rows, &from.fields, &shared, "o", &wanted)?;
        let new = side(new_rows, &to.fields, &shared, "n", &wanted)?;
        drop(wanted);
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
        out.extend((0..from.fields.len()).map(|i| col(format!("__o{i}"))));
        out.extend((0..to.fields.len()).map(|i| col(format!("__n{i}"))));
        let frame = joined.filter(differs)?.select(out)?;
        let page = match limit {
            // A page: only its own records were read; ordered, so that pages follow each other.
            Some(limit) => frame
                .clone()
                .sort(vec![col("record_id").sort(true, false)])?
                .limit(0, Some(limit))?,
            // A whole stream (CSV): in the join's order, without holding the rows to sort them.
            None => frame.clone(),
        };
        Ok(PlannedQuery {
            page,
            total: frame.logical_plan().clone(),
            all_groups: None,
            unwindowed: None,
            small: None,
            window: (0, limit),
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
