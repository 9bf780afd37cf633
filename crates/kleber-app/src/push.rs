//! Opendatasoft's real-time push API: records pushed with a dataset's push key become a new
//! version within a short window.
//!
//! A push key reads `push_<id>_<secret>` (12 and 64 hexadecimal digits); the catalog keeps
//! the SHA-256 digest of the secret (`kleber_store::push_keys`), so a key is shown once, when
//! made, and can be revoked (all keys of a dataset at once).
//!
//! A push is checked against the dataset's schema through the import pipeline's reader: the
//! records are written as CSV with the dataset's field names as header and read with every
//! field's type forced ([`kleber_ingest::ImportOptions::type_overrides`]), as `kleber import
//! --type` reads a file, so a pushed value is accepted exactly when the same value in a file
//! would be (`"12"` and `12` both fit an int). Records that are not objects, name unknown
//! fields or hold a value that does not fit are rejected with their reason; the others are
//! kept.
//!
//! Accepted records wait in a batch per dataset for [`PushLimits::window`] (or until
//! [`PushLimits::max_records`] are waiting), then one new version is published: the current
//! rows, minus those whose unique-id fields (annotation `id`) equal a pushed record's, plus
//! the pushed records (the last one wins among pushed records with the same ids). Without
//! unique-id fields every pushed record is added. The request answers once its records are
//! published, with the version.
//!
//! A geo_point_2d field a pushed record leaves out (or sends null) is derived as an import
//! derives it (`derived_point`): from the record's latitude and longitude fields (the names
//! the import recognises: `lat`/`latitude`, `lon`/`lng`/`long`/`longitude`), else from the
//! centroid of its geo_shape.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow::array::{BooleanArray, RecordBatch, RecordBatchReader};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use kleber_ingest::{Format, ImportOptions};
use kleber_store::{Actor, Store};
use kleber_types::{Field, FieldType};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::manage::{Editor, managed_for};
use crate::{App, Error};

/// How long accepted records wait for others before their version is published.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(1);
/// Records that make a batch publish at once.
pub const DEFAULT_MAX_RECORDS: usize = 10_000;
/// Records one push may hold.
pub const MAX_RECORDS_PER_PUSH: usize = 10_000;

/// The batching of pushes.
#[derive(Debug, Clone, Copy)]
pub struct PushLimits {
    /// How long accepted records wait for others.
    pub window: Duration,
    /// A batch holding this many records is published at once.
    pub max_records: usize,
}

impl Default for PushLimits {
    fn default() -> Self {
        PushLimits { window: DEFAULT_WINDOW, max_records: DEFAULT_MAX_RECORDS }
    }
}

/// A pushed record that was not kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushRejection {
    /// Its position in the pushed array, from 0.
    pub index: usize,
    /// Why.
    pub reason: String,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushOutcome {
    /// Records kept.
    pub accepted: usize,
    /// Records rejected, with their reasons.
    pub rejected: Vec<PushRejection>,
    /// The version that holds the accepted records (none when nothing was accepted).
    pub version: Option<i64>,
}

/// One push's accepted records, read into a Parquet file of the dataset's schema.
struct Part {
    dir: PathBuf,
    parquet: PathBuf,
}

struct Batch {
    parts: Mutex<Vec<Part>>,
    records: std::sync::atomic::AtomicUsize,
    full: tokio::sync::Notify,
    done: tokio::sync::watch::Sender<Option<Result<i64, String>>>,
}

/// The batches waiting for their version, per dataset.
#[derive(Default)]
pub struct Pusher {
    limits: Mutex<PushLimits>,
    batches: Mutex<HashMap<String, Arc<Batch>>>,
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The id and secret of a well-formed push key.
fn split_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("push_")?;
    let (id, secret) = rest.split_once('_')?;
    let hexdigits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hexdigits(id, 12) && hexdigits(secret, 64)).then_some((id, secret))
}

/// Makes a push key for dataset `dataset` and returns it (the only time it is shown).
pub fn create_key(store: &Store, actor: &Actor, dataset: &str) -> Result<String, Error> {
    let mut random = [0u8; 38];
    getrandom::fill(&mut random).map_err(Error::internal)?;
    let id = hex::encode(&random[..6]);
    let secret = hex::encode(&random[6..]);
    store.catalog().create_push_key(actor, dataset, &id, &sha256(secret.as_bytes()))?;
    Ok(format!("push_{id}_{secret}"))
}

/// Revokes every push key of dataset `dataset`; returns how many there were.
pub fn revoke_keys(store: &Store, actor: &Actor, dataset: &str) -> Result<usize, Error> {
    Ok(store.catalog().revoke_push_keys(actor, dataset)?)
}

/// Checks `key` for dataset `dataset`; returns the key's id and the dataset's record.
fn check_key(
    store: &Store,
    dataset: &str,
    key: Option<&str>,
) -> Result<(String, kleber_store::DatasetRecord), Error> {
    let refuse = |m: &str| Err(Error::InvalidPushKey(m.to_owned()));
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        return refuse(
            "The pushkey parameter is missing: push to \
             /api/push/1.0/<dataset>/realtime/push/?pushkey=<key>.",
        );
    };
    let Some((id, secret)) = split_key(key) else {
        return refuse("Ill-formed push key: expected push_<12 hex digits>_<64 hex digits>.");
    };
    let Some(grant) = store.catalog().push_key_grant(id)? else {
        return refuse("Unknown push key.");
    };
    let digest = sha256(secret.as_bytes());
    let same = grant.secret_hash.len() == digest.len()
        && grant.secret_hash.iter().zip(digest).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !same {
        return refuse("Unknown push key.");
    }
    if grant.revoked_at.is_some() {
        return refuse("This push key has been revoked.");
    }
    match store.get_dataset(dataset)? {
        Some(record) if record.uid == grant.dataset_uid => Ok((grant.id, record)),
        _ => refuse("This push key is not a key of this dataset."),
    }
}

/// `value` as the text a CSV cell would hold for a field of type `field`.
fn cell(field: &Field, value: &Value) -> Result<String, String> {
    Ok(match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => match field.annotations.get("multivalued").and_then(|a| a.first()) {
            Some(sep) => {
                let mut parts = Vec::new();
                for item in items {
                    match item {
                        Value::String(s) => parts.push(s.clone()),
                        Value::Number(n) => parts.push(n.to_string()),
                        other => {
                            return Err(format!(
                                "field `{}`: {other} is not a text value of a multivalued field",
                                field.name
                            ));
                        }
                    }
                }
                parts.join(sep)
            }
            None if field.field_type == FieldType::GeoPoint2d && items.len() == 2 => {
                format!("{}, {}", items[0], items[1])
            }
            None => value.to_string(),
        },
        Value::Object(map) if field.field_type == FieldType::GeoPoint2d => {
            match (map.get("lat").and_then(Value::as_f64), map.get("lon").and_then(Value::as_f64)) {
                // Debug keeps the decimal point (`48.0`): "48, 7" would not read as a point.
                (Some(lat), Some(lon)) => format!("{lat:?}, {lon:?}"),
                _ => {
                    return Err(format!(
                        "field `{}`: a geo_point_2d object needs numeric \"lon\" and \"lat\"",
                        field.name
                    ));
                }
            }
        }
        Value::Object(_) => value.to_string(),
    })
}

/// Field names the import takes as latitude and longitude (`kleber_ingest`'s inference).
const LAT_NAMES: &[&str] = &["lat", "latitude"];
const LON_NAMES: &[&str] = &["lon", "lng", "long", "longitude"];

/// The number a pushed value holds (a JSON number or a numeric text).
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().replace(',', ".").parse().ok(),
        _ => None,
    }
}

/// The point a record that does not give its geo_point_2d field gets, as the import derives
/// it: from its latitude and longitude fields, else the centroid of its first geo_shape
/// (GeoJSON geometry or Feature). `None` when the record has neither.
fn derived_point(fields: &[Field], value_of: &dyn Fn(&Field) -> Value) -> Option<(f64, f64)> {
    let numeric = |f: &&Field| matches!(f.field_type, FieldType::Int | FieldType::Double);
    let named = |names: &[&str]| {
        fields.iter().filter(numeric).find(|f| names.contains(&f.name.as_str())).map(value_of)
    };
    if let (Some(lat), Some(lon)) = (named(LAT_NAMES), named(LON_NAMES))
        && let (Some(lat), Some(lon)) = (number(&lat), number(&lon))
    {
        return Some((lat, lon));
    }
    let shape = fields.iter().find(|f| f.field_type == FieldType::GeoShape).map(value_of)?;
    let shape = match shape {
        Value::String(text) => serde_json::from_str(&text).ok()?,
        other => other,
    };
    let geometry = match serde_json::from_value::<geojson::GeoJson>(shape).ok()? {
        geojson::GeoJson::Geometry(g) => g,
        geojson::GeoJson::Feature(f) => f.geometry?,
        geojson::GeoJson::FeatureCollection(_) => return None,
    };
    let geometry: geo::Geometry<f64> = geometry.try_into().ok()?;
    use geo::Centroid;
    geometry.centroid().map(|p| (p.y(), p.x()))
}

/// Pushed records written as CSV.
struct Written {
    /// The CSV file.
    path: PathBuf,
    /// The index of the record starting at each line.
    lines: HashMap<u64, usize>,
    /// The records refused already.
    rejected: Vec<PushRejection>,
    /// Records written.
    written: usize,
}

/// Writes the records that can be written as CSV under `dir`.
fn write_csv(dir: &Path, fields: &[Field], records: &[Value]) -> Result<Written, Error> {
    let path = dir.join("records.csv");
    let mut out = Vec::new();
    let mut lines = HashMap::new();
    let mut rejected = Vec::new();
    let mut line = 1u64;
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    writer.write_record(fields.iter().map(|f| f.name.as_str())).map_err(Error::internal)?;
    out.extend(writer.into_inner().map_err(Error::internal)?);
    let mut written = 0;
    for (index, record) in records.iter().enumerate() {
        let Some(object) = record.as_object() else {
            rejected.push(PushRejection { index, reason: "not a JSON object".to_owned() });
            continue;
        };
        let unknown: Vec<&str> = object
            .keys()
            .filter(|k| !fields.iter().any(|f| &f.name == *k || &f.label == *k))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            rejected.push(PushRejection {
                index,
                reason: format!(
                    "unknown field {}; the fields are {}",
                    unknown.join(", "),
                    names.join(", ")
                ),
            });
            continue;
        }
        let mut cells = Vec::with_capacity(fields.len());
        let mut bad = None;
        let value_of = |field: &Field| {
            object
                .get(&field.name)
                .or_else(|| object.get(&field.label))
                .cloned()
                .unwrap_or(Value::Null)
        };
        for field in fields {
            let mut value = value_of(field);
            if field.field_type == FieldType::GeoPoint2d
                && value.is_null()
                && let Some((lat, lon)) = derived_point(fields, &value_of)
            {
                value = json!({"lat": lat, "lon": lon});
            }
            match cell(field, &value) {
                Ok(text) => cells.push(text),
                Err(reason) => {
                    bad = Some(reason);
                    break;
                }
            }
        }
        if let Some(reason) = bad {
            rejected.push(PushRejection { index, reason });
            continue;
        }
        let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
        writer.write_record(&cells).map_err(Error::internal)?;
        let bytes = writer.into_inner().map_err(Error::internal)?;
        line += 1;
        lines.insert(line, index);
        line += (bytes.iter().filter(|&&b| b == b'\n').count() as u64).saturating_sub(1);
        out.extend(bytes);
        written += 1;
    }
    std::fs::write(&path, out).map_err(Error::internal)?;
    Ok(Written { path, lines, rejected, written })
}

/// Reads the pushed records of `records` against `fields` into `dir/records.parquet`: the
/// part to publish (if any record was accepted) and the rejections.
fn read_push(
    dir: &Path,
    fields: &[Field],
    records: &[Value],
) -> Result<(Option<Part>, usize, Vec<PushRejection>), Error> {
    let Written { path: csv, lines, mut rejected, written } = write_csv(dir, fields, records)?;
    if written == 0 {
        return Ok((None, 0, rejected));
    }
    let mut options = ImportOptions {
        format: Some(Format::Csv),
        delimiter: Some(b','),
        has_header: Some(true),
        ..ImportOptions::default()
    };
    for f in fields {
        options.type_overrides.insert(f.name.clone(), f.field_type);
        if let Some(sep) = f.annotations.get("multivalued").and_then(|a| a.first()) {
            options.multivalued.insert(f.name.clone(), sep.clone());
        }
    }
    let parquet = dir.join("records.parquet");
    let outcome = kleber_ingest::import_file(&csv, &parquet, &options, &mut |_| {})
        .map_err(|e| Error::internal(format!("pushed records: {e}")))?;
    let names: Vec<&str> = outcome.fields.iter().map(|f| f.name.as_str()).collect();
    let wanted: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    if names != wanted {
        return Err(Error::internal(format!(
            "pushed records were read with the fields {names:?}, not the dataset's {wanted:?}"
        )));
    }
    for issue in &outcome.rejected {
        let index = lines.get(&issue.line).copied().unwrap_or_default();
        let reason = match &issue.field {
            Some(field) => format!("field `{field}`: {}", issue.reason),
            None => issue.reason.clone(),
        };
        rejected.push(PushRejection { index, reason });
    }
    rejected.sort_by_key(|r| r.index);
    let accepted = usize::try_from(outcome.rows).unwrap_or(usize::MAX);
    let part = (accepted > 0).then(|| Part { dir: dir.to_path_buf(), parquet });
    Ok((part, accepted, rejected))
}

/// The text of each row's unique-id values (`None` when the dataset has no unique-id field).
fn row_keys(batch: &RecordBatch, key_columns: &[usize]) -> Result<Vec<String>, Error> {
    let options = FormatOptions::default().with_null("");
    let formatters: Vec<ArrayFormatter<'_>> = key_columns
        .iter()
        .map(|&i| ArrayFormatter::try_new(batch.column(i).as_ref(), &options))
        .collect::<Result<_, _>>()
        .map_err(Error::internal)?;
    Ok((0..batch.num_rows())
        .map(|row| {
            formatters.iter().map(|f| f.value(row).to_string()).collect::<Vec<_>>().join("\u{1f}")
        })
        .collect())
}

fn read_batches(
    path: &Path,
) -> Result<parquet::arrow::arrow_reader::ParquetRecordBatchReader, Error> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).map_err(Error::internal)?;
    ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(Error::internal)?
        .build()
        .map_err(Error::internal)
}

/// `batch` with the columns of `schema`, by name.
fn conform(
    batch: &RecordBatch,
    schema: &arrow::datatypes::SchemaRef,
) -> Result<RecordBatch, Error> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let column = batch.column_by_name(f.name()).ok_or_else(|| {
                Error::internal(format!("pushed records lack the column {}", f.name()))
            })?;
            arrow::compute::cast(column, f.data_type()).map_err(Error::internal)
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(Error::internal)
}

/// Publishes `parts` as one new version of `dataset`: current rows whose ids were not pushed,
/// then the pushed rows (the last of each id).
fn publish_parts(store: &Store, dataset: &str, parts: &[Part]) -> Result<i64, Error> {
    use parquet::arrow::ArrowWriter;
    let mut pending = store.begin_version(dataset)?;
    pending.set_access(None, None, Actor::System);
    let record =
        store.get_dataset(dataset)?.ok_or_else(|| Error::DatasetNotFound(dataset.to_owned()))?;
    let fields = record.version.fields.clone();
    let key_names: Vec<&str> = fields
        .iter()
        .filter(|f| f.annotations.contains_key("id"))
        .map(|f| f.name.as_str())
        .collect();
    // The pushed rows, the last of each id kept.
    let mut pushed: Vec<RecordBatch> = Vec::new();
    for part in parts {
        for batch in read_batches(&part.parquet)? {
            pushed.push(batch.map_err(Error::internal)?);
        }
    }
    let old_reader = read_batches(&record.version.data_path)?;
    let schema = old_reader.schema();
    let metadata = {
        let file = std::fs::File::open(&record.version.data_path).map_err(Error::internal)?;
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(Error::internal)?
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .cloned()
            .unwrap_or_default()
    };
    let pushed: Vec<RecordBatch> =
        pushed.iter().map(|b| conform(b, &schema)).collect::<Result<_, _>>()?;
    let key_columns: Vec<usize> = key_names
        .iter()
        .map(|n| schema.index_of(n).map_err(Error::internal))
        .collect::<Result<_, _>>()?;
    let mut replaced: HashSet<String> = HashSet::new();
    let mut keep_pushed: Vec<Vec<bool>> = pushed.iter().map(|b| vec![true; b.num_rows()]).collect();
    if !key_columns.is_empty() {
        let mut last: HashMap<String, (usize, usize)> = HashMap::new();
        for (b, batch) in pushed.iter().enumerate() {
            for (row, key) in row_keys(batch, &key_columns)?.into_iter().enumerate() {
                if let Some((pb, prow)) = last.insert(key.clone(), (b, row)) {
                    keep_pushed[pb][prow] = false;
                }
                replaced.insert(key);
            }
        }
    }
    let data = pending.data_path();
    let file = std::fs::File::create(&data).map_err(Error::internal)?;
    let props = kleber_types::layout::writer_properties(
        &schema,
        kleber_ingest::DEFAULT_ROW_GROUP_SIZE,
        Some(metadata),
    );
    let mut writer =
        ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(Error::internal)?;
    let mut rows = 0u64;
    for batch in old_reader {
        let batch = batch.map_err(Error::internal)?;
        let batch = if replaced.is_empty() {
            batch
        } else {
            let keep: BooleanArray = row_keys(&batch, &key_columns)?
                .iter()
                .map(|k| Some(!replaced.contains(k)))
                .collect();
            arrow::compute::filter_record_batch(&batch, &keep).map_err(Error::internal)?
        };
        rows += batch.num_rows() as u64;
        writer.write(&batch).map_err(Error::internal)?;
    }
    for (batch, keep) in pushed.iter().zip(keep_pushed) {
        let keep = BooleanArray::from(keep);
        let batch = arrow::compute::filter_record_batch(batch, &keep).map_err(Error::internal)?;
        rows += batch.num_rows() as u64;
        writer.write(&batch).map_err(Error::internal)?;
    }
    writer.close().map_err(Error::internal)?;
    let publication = pending.commit(&fields, rows, 0, Some("push"), None)?;
    Ok(publication.version)
}

impl Pusher {
    /// Sets how pushes are batched.
    pub fn set_limits(&self, limits: PushLimits) {
        *self.limits.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = limits;
    }

    fn limits(&self) -> PushLimits {
        *self.limits.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds `part` to `dataset`'s batch (starting one if none waits) and waits for the
    /// batch's version.
    async fn enqueue(
        self: &Arc<Self>,
        store: &Arc<Store>,
        dataset: &str,
        part: Part,
        records: usize,
    ) -> Result<i64, Error> {
        let limits = self.limits();
        let mut done = {
            let mut batches =
                self.batches.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let batch = match batches.get(dataset) {
                Some(batch) => Arc::clone(batch),
                None => {
                    let (done, _) = tokio::sync::watch::channel(None);
                    let batch = Arc::new(Batch {
                        parts: Mutex::new(Vec::new()),
                        records: std::sync::atomic::AtomicUsize::new(0),
                        full: tokio::sync::Notify::new(),
                        done,
                    });
                    batches.insert(dataset.to_owned(), Arc::clone(&batch));
                    tokio::spawn(Arc::clone(self).flush(
                        Arc::clone(store),
                        dataset.to_owned(),
                        Arc::clone(&batch),
                        limits.window,
                    ));
                    batch
                }
            };
            batch.parts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(part);
            let total =
                batch.records.fetch_add(records, std::sync::atomic::Ordering::Relaxed) + records;
            if total >= limits.max_records {
                batch.full.notify_one();
            }
            batch.done.subscribe()
        };
        let result = done
            .wait_for(Option::is_some)
            .await
            .map_err(|_| Error::internal("the push batch ended without an answer"))?
            .clone();
        match result {
            Some(Ok(version)) => Ok(version),
            Some(Err(e)) => Err(Error::internal(e)),
            None => Err(Error::internal("the push batch ended without an answer")),
        }
    }

    /// Waits for the window (or a full batch), then publishes the batch.
    async fn flush(
        self: Arc<Self>,
        store: Arc<Store>,
        dataset: String,
        batch: Arc<Batch>,
        window: Duration,
    ) {
        tokio::select! {
            () = tokio::time::sleep(window) => {}
            () = batch.full.notified() => {}
        }
        self.batches.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&dataset);
        let parts = std::mem::take(
            &mut *batch.parts.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let result = tokio::task::spawn_blocking(move || {
            let result = publish_parts(&store, &dataset, &parts).map_err(|e| e.to_string());
            for part in &parts {
                let _ = std::fs::remove_dir_all(&part.dir);
            }
            result
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        if let Err(e) = &result {
            tracing::error!(error = %e, "publishing pushed records failed");
        }
        batch.done.send_replace(Some(result));
    }
}

impl App {
    /// How pushes are batched (tests shorten the window).
    pub fn set_push_limits(&self, limits: PushLimits) {
        self.pusher.set_limits(limits);
    }

    /// Makes a push key for dataset `id`, if `editor` may manage it; returns the key (the
    /// only time it is shown). Audited `pushkey.create`.
    pub async fn create_push_key(&self, editor: &Editor, id: &str) -> Result<String, Error> {
        let (editor, id) = (editor.clone(), id.to_owned());
        self.on_store(move |store| {
            managed_for(store, &editor, &id)?;
            create_key(store, editor.actor(), &id)
        })
        .await
    }

    /// Revokes every push key of dataset `id`, if `editor` may manage it; returns how many
    /// there were. Audited.
    pub async fn revoke_push_keys(&self, editor: &Editor, id: &str) -> Result<usize, Error> {
        let (editor, id) = (editor.clone(), id.to_owned());
        self.on_store(move |store| {
            managed_for(store, &editor, &id)?;
            revoke_keys(store, editor.actor(), &id)
        })
        .await
    }

    /// Receives `records` pushed to dataset `dataset` with push key `key`: checks the key,
    /// checks each record against the schema, and answers once the accepted records are
    /// published (see the module).
    pub async fn push(
        &self,
        dataset: &str,
        key: Option<&str>,
        records: Vec<Value>,
    ) -> Result<PushOutcome, Error> {
        if records.len() > MAX_RECORDS_PER_PUSH {
            return Err(Error::BadParameter(format!(
                "A push holds at most {MAX_RECORDS_PER_PUSH} records; this one holds {}. Push \
                 them in several requests.",
                records.len()
            )));
        }
        let store = Arc::clone(&self.store);
        let (dataset_owned, key) = (dataset.to_owned(), key.map(str::to_owned));
        let total = records.len();
        let (key_id, part, accepted, rejected) = tokio::task::spawn_blocking(move || {
            let (key_id, record) = check_key(&store, &dataset_owned, key.as_deref())?;
            let root = store.root().join("tmp").join("push");
            let mut random = [0u8; 12];
            getrandom::fill(&mut random).map_err(Error::internal)?;
            let dir = root.join(hex::encode(random));
            std::fs::create_dir_all(&dir).map_err(Error::internal)?;
            let read = read_push(&dir, &record.version.fields, &records);
            if !matches!(read, Ok((Some(_), _, _))) {
                let _ = std::fs::remove_dir_all(&dir);
            }
            let (part, accepted, rejected) = read?;
            Ok::<_, Error>((key_id, part, accepted, rejected))
        })
        .await
        .map_err(Error::internal)??;
        let version = match part {
            Some(part) => Some(self.pusher.enqueue(&self.store, dataset, part, accepted).await?),
            None => None,
        };
        let store = Arc::clone(&self.store);
        let details = json!({"records": total, "accepted": accepted,
                             "rejected": rejected.len(), "version": version});
        let dataset_owned = dataset.to_owned();
        tokio::task::spawn_blocking(move || {
            store.catalog().audit_push(&key_id, &dataset_owned, details)
        })
        .await
        .map_err(Error::internal)??;
        Ok(PushOutcome { accepted, rejected, version })
    }
}

/// Removes what pushes left in `<data dir>/tmp/push` (at start-up).
pub fn remove_leftovers(store: &Store) {
    let _ = std::fs::remove_dir_all(store.root().join("tmp").join("push"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_shapes() {
        let key = format!("push_{}_{}", "a".repeat(12), "0".repeat(64));
        assert_eq!(split_key(&key).map(|(id, _)| id.len()), Some(12));
        assert_eq!(split_key("push_abc_def"), None);
        assert_eq!(split_key(&key.replace("push_", "klb_")), None);
    }

    #[test]
    fn cells_follow_the_field_type() {
        let point = Field::new("p", "P", FieldType::GeoPoint2d);
        assert_eq!(cell(&point, &json!({"lon": 7.75, "lat": 48.58})).unwrap(), "48.58, 7.75");
        assert!(cell(&point, &json!({"lon": "x"})).is_err());
        let mut tags = Field::new("t", "T", FieldType::Text);
        tags.annotations.insert("multivalued".to_owned(), vec![";".to_owned()]);
        assert_eq!(cell(&tags, &json!(["a", "b"])).unwrap(), "a;b");
        assert_eq!(cell(&Field::new("n", "N", FieldType::Int), &json!(12)).unwrap(), "12");
    }
}
