//! Changes between two versions of a dataset: records added, removed and changed, matched by
//! record id ([`crate::record_id`]: the fields annotated `id` when set, else every value).
//!
//! Two passes, so that a diff costs a scan of each version plus work proportional to the
//! changes, not a join of every row's values:
//!
//! 1. Digests: each version (through the caller's view) is read once into its sorted
//!    `(record id, row digest)` pairs — the SHA-1 of the id fields, and a 64-bit hash of the
//!    values of the fields both versions share with the same type (Arrow's vectorised
//!    `create_hashes` with a fixed seed; none when the id already hashes every shared field),
//!    28 bytes a row. Versions
//!    are immutable, so the pairs are cached per (version, view, shared fields) and the next
//!    diff (or the summary computed at publish) reuses them. A merge of the two sorted lists
//!    gives the counts and the ids of the changed records, in record-id order.
//! 2. Values: only the records whose id is in the wanted part of that list (a page, or every
//!    change for a CSV stream) are read from each version (a filter on the id set), and a full
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

use crate::lower::column;
use crate::plan::PlannedQuery;
use datafusion::common::hash_utils::{HLL_RANDOM_STATE, create_hashes};

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

/// One version's `(record id, row digest)` pairs, sorted.
#[derive(Debug)]
pub(crate) struct Digests {
    rows: Vec<([u8; 20], u64)>,
}

impl Digests {
    fn bytes(&self) -> usize {
        self.rows.len() * std::mem::size_of::<([u8; 20], u64)>()
    }
}

/// Memory the cached digests may hold together (about 9 million rows).
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
            (Some(x), Some(y)) => x.0.min(y.0),
            (Some(x), None) => x.0,
            (None, Some(y)) => y.0,
            (None, None) => break,
        };
        let i_end = i + a[i..].iter().take_while(|r| r.0 == id).count();
        let j_end = j + b[j..].iter().take_while(|r| r.0 == id).count();
        let (olds, news) = (&a[i..i_end], &b[j..j_end]);
        let before = list.counts;
        if news.is_empty() {
            list.counts.removed += olds.len() as u64;
        } else if olds.is_empty() {
            list.counts.added += news.len() as u64;
        } else {
            for o in olds {
                list.counts.changed += news.iter().filter(|n| n.1 != o.1).count() as u64;
            }
        }
        if list.counts != before {
            list.ids.push(id);
        }
        (i, j) = (i_end, j_end);
    }
    list
}

fn hex(id: &[u8; 20]) -> String {
    use std::fmt::Write as _;
    id.iter().fold(String::with_capacity(40), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
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

impl Engine {
    /// `dataset`'s digests over the fields `shared` (cached).
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
        let df = match cached {
            Some(_) => None,
            None => {
                let columns: Vec<Expr> = names.iter().map(|n| column(n)).collect();
                Some(self.scan(dataset).await?.select(columns)?)
            }
        };
        let shared = shared.to_vec();
        Ok(async move {
            let Some(df) = df else {
                return cached.ok_or_else(|| crate::Error::Internal("digests vanished".to_owned()));
            };
            let position = |name: &String| names.iter().position(|n| n == name).unwrap_or(0);
            // When the id hashes every shared field, equal ids mean equal values: no digest.
            let values_in_id = shared.iter().all(|s| ids.contains(s));
            let (id_at, shared_at): (Vec<usize>, Vec<usize>) =
                (ids.iter().map(position).collect(), shared.iter().map(position).collect());
            let mut rows: Vec<([u8; 20], u64)> = Vec::new();
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
                    rows.push((id, 0));
                })?;
                if !values_in_id {
                    let mut hashes = vec![0u64; batch.num_rows()];
                    create_hashes(pick(&shared_at), &HLL_RANDOM_STATE, &mut hashes)?;
                    for (row, h) in rows[start..].iter_mut().zip(hashes) {
                        row.1 = h;
                    }
                }
            }
            rows.sort_unstable();
            Ok(cache.put(key, Digests { rows }))
        })
    }

    /// The change list from `from` to `to`, both versions' digests computed side by side.
    async fn change_list(
        &self,
        from: &DatasetRef,
        to: &DatasetRef,
        deadline: std::time::Instant,
    ) -> Result<ChangeList> {
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
            Ok(merge(&old, &new))
        };
        self.on_cpu(deadline, work).await
    }

    /// How many records were added, removed and changed from `from` to `to`.
    pub async fn change_counts(&self, from: &DatasetRef, to: &DatasetRef) -> Result<ChangeCounts> {
        Ok(self.change_list(from, to, self.deadline()).await?.counts)
    }

    /// [`Engine::change_counts`] within `limit` instead of the query time limit (work done
    /// in the background after a publication, not for a waiting request).
    pub async fn change_counts_within(
        &self,
        from: &DatasetRef,
        to: &DatasetRef,
        limit: std::time::Duration,
    ) -> Result<ChangeCounts> {
        Ok(self.change_list(from, to, std::time::Instant::now() + limit).await?.counts)
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
        let list = self.change_list(from, to, deadline).await?;
        let wanted: Vec<String> = match limit {
            Some(limit) => list.ids.iter().skip(offset).take(limit).map(hex).collect(),
            None => list.ids.iter().map(hex).collect(),
        };
        let shared = shared_fields(&from.fields, &to.fields);
        let old = side(self.scan(from).await?, &from.fields, &shared, "o", &wanted)?;
        let new = side(self.scan(to).await?, &to.fields, &shared, "n", &wanted)?;
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
            total: frame,
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
