//! What changed between two versions of a dataset (docs/versions.md#changes): records added,
//! removed and changed, matched by record id, each changed record with the old and new value
//! of every changed field, and the schema changes.
//!
//! The diff is one DataFusion plan (`kleber_query`'s full outer join on the record id over
//! the two versions' Parquet files, through the caller's view): a page of it is a top-k by
//! record id, a CSV export streams it batch by batch, so memory does not grow with the
//! number of changes.

use kleber_export::{EncodeOptions, RecordEncoder};
use kleber_query::{ChangeCounts, RecordBatch, RecordBatchStream};
use kleber_types::Field;
use serde_json::{Map, Value, json};

use crate::time_travel::parse_version;
use crate::{App, DatasetVersion, Error};

/// The most rows of changes one JSON page holds.
pub const MAX_CHANGES_LIMIT: usize = 1000;
/// The deepest `offset + limit` of a JSON page (further: `format=csv`, which streams).
pub const MAX_CHANGES_WINDOW: usize = 100_000;

/// Which versions to compare and which rows of the changes to answer.
#[derive(Debug, Clone, Default)]
pub struct ChangesRequest {
    /// The older version (`from`), default the one before `to`.
    pub from: Option<String>,
    /// The newer version (`to`), default the current one.
    pub to: Option<String>,
    /// Rows skipped.
    pub offset: usize,
    /// Rows answered; `None`: every row, streamed.
    pub limit: Option<usize>,
}

/// A field whose type changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retyped {
    /// The field.
    pub name: String,
    /// Its type in the older version.
    pub from: String,
    /// Its type in the newer one.
    pub to: String,
}

/// The changes between two versions, its rows still to be read.
pub struct Changes {
    /// The older version.
    pub from: i64,
    /// The newer version.
    pub to: i64,
    /// How many records were added, removed, changed.
    pub counts: ChangeCounts,
    /// Fields of the newer version only.
    pub fields_added: Vec<String>,
    /// Fields of the older version only.
    pub fields_removed: Vec<String>,
    /// Fields of both whose type changed.
    pub fields_retyped: Vec<Retyped>,
    /// The rows: `change`, `record_id`, the older fields, the newer fields.
    pub rows: RecordBatchStream,
    old: RecordEncoder,
    new: RecordEncoder,
    old_fields: Vec<Field>,
    shared: Vec<String>,
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Changes").field("from", &self.from).field("to", &self.to).finish()
    }
}

/// One row of the changes, its values encoded as the records API encodes them.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRow {
    /// `added`, `removed` or `changed`.
    pub change: String,
    /// The record id.
    pub record_id: String,
    /// For `added`/`removed`: the record; for `changed`: each changed field with its old and
    /// new value (`{"old": ..., "new": ...}`).
    pub values: Map<String, Value>,
}

impl ChangeRow {
    /// The row as JSON: `{"change", "record_id", "record"}` or `{"change", "record_id",
    /// "fields"}`.
    pub fn to_json(&self) -> Value {
        let key = if self.change == "changed" { "fields" } else { "record" };
        json!({"change": self.change, "record_id": self.record_id, key: self.values})
    }
}

impl Changes {
    /// The rows of one batch of [`Changes::rows`].
    pub fn decode(&self, batch: &RecordBatch) -> Result<Vec<ChangeRow>, Error> {
        let n_old = self.old_fields.len();
        let text = |i: usize| kleber_query::text_values(batch.column(i)).map_err(Error::from);
        let changes = text(0)?;
        let ids = text(1)?;
        let part = |range: std::ops::Range<usize>| -> Result<RecordBatch, Error> {
            batch.project(&range.collect::<Vec<_>>()).map_err(Error::internal)
        };
        let old = self.old.batch_values(&part(2..2 + n_old)?)?;
        let new = self.new.batch_values(&part(2 + n_old..batch.num_columns())?)?;
        let mut rows = Vec::with_capacity(batch.num_rows());
        for (row, (change, record_id)) in changes.into_iter().zip(ids).enumerate() {
            let (Value::Object(o), Value::Object(n)) = (&old[row], &new[row]) else {
                return Err(Error::internal("a record did not encode as an object"));
            };
            let values = match change.as_str() {
                "added" => n.clone(),
                "removed" => o.clone(),
                _ => {
                    let mut fields = Map::new();
                    for name in &self.shared {
                        let (a, b) = (o.get(name), n.get(name));
                        if a != b {
                            let pair = json!({"old": a.cloned().unwrap_or(Value::Null),
                                              "new": b.cloned().unwrap_or(Value::Null)});
                            fields.insert(name.clone(), pair);
                        }
                    }
                    fields
                }
            };
            rows.push(ChangeRow { change, record_id, values });
        }
        Ok(rows)
    }

    /// The schema changes as JSON (`added`, `removed`, `retyped`).
    pub fn schema_json(&self) -> Value {
        let retyped: Vec<Value> = self
            .fields_retyped
            .iter()
            .map(|r| json!({"name": r.name, "from": r.from, "to": r.to}))
            .collect();
        json!({"added": self.fields_added, "removed": self.fields_removed, "retyped": retyped})
    }
}

impl App {
    /// The changes of `dataset` (resolved for the caller, at its current version) between
    /// the versions `request` names.
    pub async fn changes(
        &self,
        dataset: &DatasetVersion,
        request: &ChangesRequest,
    ) -> Result<Changes, Error> {
        if let Some(limit) = request.limit
            && (limit > MAX_CHANGES_LIMIT || request.offset + limit > MAX_CHANGES_WINDOW)
        {
            return Err(Error::BadParameter(format!(
                "Invalid value for limit/offset: a page of changes holds at most {MAX_CHANGES_LIMIT} rows and ends before row {MAX_CHANGES_WINDOW}; use format=csv to stream every change"
            )));
        }
        let current = DatasetVersion { at: None, fields: None, ..dataset.clone() };
        let to = match &request.to {
            Some(text) => parse_version("to", text)?,
            None => current.current_number(),
        };
        let to_version = self.version_of(current.clone(), to).await?;
        let from = match &request.from {
            Some(text) => parse_version("from", text)?,
            None => {
                let lookup = current.id().to_owned();
                let numbers =
                    self.on_store(move |store| Ok(store.catalog().versions(&lookup)?)).await?;
                numbers.into_iter().find(|n| *n < to).ok_or_else(|| {
                    Error::BadParameter(format!(
                        "version {to} of dataset {} is its first: there is no earlier version to compare with; give from=N",
                        current.id()
                    ))
                })?
            }
        };
        let from_version = self.version_of(current, from).await?;
        let (old_ref, new_ref) = (from_version.dataset_ref(), to_version.dataset_ref());
        let counts = self.timed(self.engine.change_counts(&old_ref, &new_ref)).await?;
        let planned =
            self.engine.plan_changes(&old_ref, &new_ref, request.offset, request.limit).await?;
        let rows = self.timed(self.engine.stream(planned)).await?;
        let (old_fields, new_fields) = (old_ref.fields, new_ref.fields);
        let shared = kleber_query::shared_fields(&old_fields, &new_fields);
        let fields_added = new_fields
            .iter()
            .filter(|f| !old_fields.iter().any(|o| o.name == f.name))
            .map(|f| f.name.clone())
            .collect();
        let fields_removed = old_fields
            .iter()
            .filter(|f| !new_fields.iter().any(|n| n.name == f.name))
            .map(|f| f.name.clone())
            .collect();
        let fields_retyped = old_fields
            .iter()
            .filter_map(|o| {
                let n =
                    new_fields.iter().find(|n| n.name == o.name && n.field_type != o.field_type)?;
                Some(Retyped {
                    name: o.name.clone(),
                    from: o.field_type.name().to_owned(),
                    to: n.field_type.name().to_owned(),
                })
            })
            .collect();
        Ok(Changes {
            from,
            to,
            counts,
            fields_added,
            fields_removed,
            fields_retyped,
            rows,
            old: RecordEncoder::for_fields(&old_fields, EncodeOptions::default()),
            new: RecordEncoder::for_fields(&new_fields, EncodeOptions::default()),
            old_fields,
            shared,
        })
    }
}
