//! Uploads: a file sent by a publisher, read and previewed, fixed, then published.
//!
//! An upload lives in `<data dir>/tmp/uploads/<id>/`: `source` (the bytes as received,
//! streamed to disk, never whole in memory, without the client's name so that only the
//! content decides the format), `preview.parquet` (what [`crate::import::read_into`] wrote:
//! the file as it would be stored), `rejected.csv` (every rejected row) and `upload.json` (its
//! owner, the schema overrides and the preview). Nothing is published until
//! [`App::publish_upload`], which moves `preview.parquet` into a new version through the same
//! [`crate::import::publish_read`] as `kleber import`.
//!
//! Only the uploader (and portal admins) see an upload; another caller is answered as if it
//! did not exist. Uploads expire after [`UploadLimits::ttl`]: expired ones are removed when
//! the server starts, whenever an upload is made, and when one is asked for.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use kleber_export::{EncodeOptions, OutputColumn, RecordEncoder};
use kleber_ingest::{ImportOptions, ImportOutcome};
use kleber_store::{Actor, Store, Visibility};
use kleber_types::Field;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::import::{ImportAccess, SchemaEdit};
use crate::policy::DatasetAccess;
use crate::{App, Error, Principal, RequestContext};

/// Default largest upload, in MiB.
pub const DEFAULT_MAX_UPLOAD_MB: u64 = 512;
/// Default time an upload is kept, in hours.
pub const DEFAULT_UPLOAD_TTL_HOURS: u64 = 24;
/// Rows shown in a preview.
pub const PREVIEW_ROWS: usize = 20;
/// Rejected rows listed in a preview (all of them are counted, and published in the report).
pub const PREVIEW_REJECTED: usize = 100;

/// The bounds of uploads.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    /// Largest file accepted, in bytes.
    pub max_bytes: u64,
    /// How long an upload is kept before it is deleted.
    pub ttl: Duration,
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits {
            max_bytes: DEFAULT_MAX_UPLOAD_MB << 20,
            ttl: Duration::from_secs(DEFAULT_UPLOAD_TTL_HOURS * 3600),
        }
    }
}

/// Why the body of an upload stopped.
#[derive(Debug)]
pub enum BodyError {
    /// The HTTP layer cut it at its size limit.
    TooLarge,
    /// The connection failed.
    Other(String),
}

/// A rejected row of a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRow {
    /// Where the row is, 1-based (see `location`).
    pub line: u64,
    /// What `line` counts: `line`, `item` or `sheet_row`.
    pub location: String,
    /// The field whose value is wrong, if one is.
    pub field: Option<String>,
    /// The value, if there is one.
    pub value: Option<String>,
    /// Why.
    pub reason: String,
}

/// What the file would become if published now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preview {
    /// The format detected from the content (`csv`, `json`, `xlsx`...).
    pub format: String,
    /// The text encoding, when the format has one.
    pub encoding: Option<String>,
    /// The CSV delimiter.
    pub delimiter: Option<String>,
    /// Whether the CSV has a header.
    pub has_header: Option<bool>,
    /// The fields, with their types and annotations, in order.
    pub fields: Vec<Field>,
    /// Rows that would be published.
    pub records_count: u64,
    /// Rows rejected.
    pub rejected_count: u64,
    /// The first rejected rows (at most [`PREVIEW_REJECTED`]).
    pub rejected: Vec<RejectedRow>,
    /// The first rows as they will be stored, encoded as Explore v2.1 records.
    pub records: Vec<Value>,
}

/// An upload, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upload {
    /// Its identifier.
    pub upload_id: String,
    /// Who made it (`user:<id>` or `operator`).
    pub owner: String,
    /// The name the client gave the file (never used to read it).
    pub file_name: Option<String>,
    /// Its size in bytes.
    pub bytes: u64,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// When it will be deleted if not published (RFC 3339).
    pub expires_at: String,
    /// The schema overrides in force.
    pub schema: SchemaEdit,
    /// The preview under those overrides.
    pub preview: Preview,
}

/// How to publish an upload.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishUpload {
    /// The upload's id.
    pub upload: String,
    /// Publish even though the preview rejects rows (they are left out, and reported).
    #[serde(default)]
    pub accept_rejected: bool,
    /// The organization of a new dataset (default: the portal's default organization).
    #[serde(default)]
    pub organization: Option<String>,
    /// The title of a new dataset.
    #[serde(default)]
    pub title: Option<String>,
    /// The visibility of a new dataset (`public`, `restricted`, `draft`; default public).
    #[serde(default)]
    pub visibility: Option<String>,
    /// A comment on the new version ("Correction des coordonnées de 3 stations"), shown
    /// wherever versions are listed (docs/versions.md#comments).
    #[serde(default)]
    pub comment: Option<String>,
}

/// A published upload.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    /// The dataset.
    pub dataset_id: String,
    /// The version made current.
    pub version: i64,
    /// Records published.
    pub records_count: u64,
    /// Rows left out.
    pub rejected_count: u64,
}

/// Who owns uploads made by `principal`, or why it may not upload.
fn owner_of(principal: &Principal) -> Result<String, Error> {
    match principal {
        Principal::Operator => Ok("operator".to_owned()),
        Principal::User(account) => Ok(format!("user:{}", account.user_id)),
        Principal::Key { scopes, account, .. } if scopes.write => {
            Ok(format!("user:{}", account.user_id))
        }
        Principal::Key { .. } => Err(Error::Forbidden(
            "This API key does not have the write scope, which uploads and publications need."
                .to_owned(),
        )),
        _ => Err(Error::Unauthenticated(
            "Uploads need credentials: an API key with the write scope (Authorization: Apikey \
             <key>), or a portal session with its X-CSRF-Token header."
                .to_owned(),
        )),
    }
}

/// Who acts, for the audit log.
pub(crate) fn actor_of(principal: &Principal) -> Actor {
    match principal {
        Principal::User(account) => {
            Actor::User { user_id: account.user_id, session: "api".to_owned() }
        }
        Principal::Key { key_id, account, .. } => {
            Actor::Key { user_id: account.user_id, key_id: key_id.clone() }
        }
        _ => crate::accounts::operator(),
    }
}

fn is_upload_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn new_upload_id() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(Error::internal)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn rfc3339(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Where uploads live: `<data dir>/tmp/uploads`.
pub(crate) fn uploads_dir(store: &Store) -> PathBuf {
    store.root().join("tmp").join("uploads")
}

/// Deletes the uploads older than `ttl` (and anything in the directory that is not an
/// upload); returns how many were deleted.
pub fn remove_expired(root: &Path, ttl: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(root) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .unwrap_or(Duration::MAX);
        if !is_upload_id(&name) || age > ttl {
            let gone = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            if gone.is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

/// The message of a reading failure, without the server's paths.
fn reading_error(e: &anyhow::Error, dir: &Path, shown: &str) -> Error {
    let text = format!("{e:#}").replace(&dir.join("source").display().to_string(), shown);
    let text = text.replace(&dir.display().to_string(), shown);
    match e.downcast_ref::<kleber_ingest::Error>() {
        Some(kleber_ingest::Error::BadOption { .. }) | None => Error::BadParameter(text),
        Some(kleber_ingest::Error::Io { .. } | kleber_ingest::Error::Parquet { .. }) => {
            Error::internal(text)
        }
        Some(_) => Error::UnreadableFile(text),
    }
}

/// The first `n` rows of `parquet`, in the order of `fields`, encoded as v2.1 records.
fn first_records(parquet: &Path, fields: &[Field], n: usize) -> Result<Vec<Value>, Error> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(parquet).map_err(Error::internal)?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(Error::internal)?
        .with_batch_size(n.max(1))
        .with_limit(n)
        .build()
        .map_err(Error::internal)?;
    let columns: Vec<OutputColumn> = fields.iter().map(OutputColumn::from_field).collect();
    let encoder = RecordEncoder::new(columns, EncodeOptions::default());
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(Error::internal)?;
        let indices: Vec<usize> = fields
            .iter()
            .map(|f| batch.schema().index_of(&f.name).map_err(Error::internal))
            .collect::<Result<_, _>>()?;
        let batch = batch.project(&indices).map_err(Error::internal)?;
        out.extend(encoder.batch_values(&batch)?);
        if out.len() >= n {
            break;
        }
    }
    out.truncate(n);
    Ok(out)
}

fn preview_of(outcome: &ImportOutcome, parquet: &Path) -> Result<Preview, Error> {
    Ok(Preview {
        format: outcome.format.name().to_owned(),
        encoding: outcome.detected.encoding.clone(),
        delimiter: outcome.detected.delimiter.map(String::from),
        has_header: outcome.detected.has_header,
        fields: outcome.fields.clone(),
        records_count: outcome.rows,
        rejected_count: outcome.rejected.len() as u64,
        rejected: outcome
            .rejected
            .iter()
            .take(PREVIEW_REJECTED)
            .map(|r| RejectedRow {
                line: r.line,
                location: r.location_kind.name().to_owned(),
                field: r.field.clone(),
                value: r.value.clone(),
                reason: r.reason.clone(),
            })
            .collect(),
        records: first_records(parquet, &outcome.fields, PREVIEW_ROWS)?,
    })
}

/// Reads `dir/source` under `schema` into `dir/preview.parquet` and `dir/rejected.csv`; the
/// previous preview stays as it was when reading fails.
fn read_upload(dir: &Path, schema: &SchemaEdit, shown: &str) -> Result<Preview, Error> {
    let next = dir.join("preview.next.parquet");
    let outcome = crate::import::read_into(
        &dir.join("source"),
        &next,
        &ImportOptions::default(),
        schema,
        &mut |_| {},
    )
    .map_err(|e| reading_error(&e, dir, shown))?;
    let preview = preview_of(&outcome, &next)?;
    kleber_ingest::write_issues_csv(&outcome.rejected, &dir.join("rejected.csv"))
        .map_err(Error::internal)?;
    std::fs::rename(&next, dir.join("preview.parquet")).map_err(Error::internal)?;
    Ok(preview)
}

fn save(dir: &Path, upload: &Upload) -> Result<(), Error> {
    let text = serde_json::to_vec_pretty(upload).map_err(Error::internal)?;
    let tmp = dir.join("upload.json.tmp");
    std::fs::write(&tmp, text).map_err(Error::internal)?;
    std::fs::rename(&tmp, dir.join("upload.json")).map_err(Error::internal)
}

impl App {
    /// The bounds of uploads.
    pub fn upload_limits(&self) -> UploadLimits {
        self.upload_limits
    }

    /// Sets the bounds of uploads (call before the application is shared).
    pub fn set_upload_limits(&mut self, limits: UploadLimits) {
        self.upload_limits = limits;
    }

    /// Deletes expired uploads (at start-up; also done at each new upload).
    pub fn remove_expired_uploads(&self) -> usize {
        remove_expired(&uploads_dir(&self.store), self.upload_limits.ttl)
    }

    /// Receives a file from `body` (streamed to disk), reads it and answers its preview.
    /// Nothing is published. A body over [`UploadLimits::max_bytes`] is [`Error::TooLarge`], a
    /// file that is not data [`Error::UnreadableFile`]; either way nothing is kept.
    pub async fn upload<S>(
        &self,
        ctx: &RequestContext,
        file_name: Option<String>,
        mut body: S,
    ) -> Result<Upload, Error>
    where
        S: Stream<Item = Result<Bytes, BodyError>> + Unpin,
    {
        let owner = owner_of(&ctx.principal)?;
        let root = uploads_dir(&self.store);
        let ttl = self.upload_limits.ttl;
        {
            let root = root.clone();
            tokio::task::spawn_blocking(move || remove_expired(&root, ttl))
                .await
                .map_err(Error::internal)?;
        }
        let id = new_upload_id()?;
        let dir = root.join(&id);
        tokio::fs::create_dir_all(&dir).await.map_err(Error::internal)?;
        let guard = DirGuard(Some(dir.clone()));
        let max = self.upload_limits.max_bytes;
        let too_large = || {
            Error::TooLarge(format!(
                "The upload is larger than the {max} bytes this server accepts (--max-upload-mb)."
            ))
        };
        let mut file =
            tokio::fs::File::create(dir.join("source")).await.map_err(Error::internal)?;
        let mut bytes = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(BodyError::TooLarge) => return Err(too_large()),
                Err(BodyError::Other(e)) => {
                    return Err(Error::BadParameter(format!(
                        "The upload's body could not be read to its end: {e}"
                    )));
                }
            };
            bytes += chunk.len() as u64;
            if bytes > max {
                return Err(too_large());
            }
            file.write_all(&chunk).await.map_err(Error::internal)?;
        }
        file.flush().await.map_err(Error::internal)?;
        drop(file);
        if bytes == 0 {
            return Err(Error::UnreadableFile(
                "The upload is empty; send the file as the request body (or a multipart form's \
                 `file` part)."
                    .to_owned(),
            ));
        }
        let now = std::time::SystemTime::now();
        let shown = file_name.clone().unwrap_or_else(|| "the upload".to_owned());
        let upload = tokio::task::spawn_blocking(move || {
            let preview = read_upload(&dir, &SchemaEdit::default(), &shown)?;
            let upload = Upload {
                upload_id: id,
                owner,
                file_name,
                bytes,
                created_at: rfc3339(now),
                expires_at: rfc3339(now + ttl),
                schema: SchemaEdit::default(),
                preview,
            };
            save(&dir, &upload)?;
            Ok::<_, Error>(upload)
        })
        .await
        .map_err(Error::internal)??;
        guard.keep();
        Ok(upload)
    }

    /// The directory and state of upload `id`, if `ctx` may see it and it has not expired.
    fn find_upload(&self, ctx: &RequestContext, id: &str) -> Result<(PathBuf, Upload), Error> {
        let owner = owner_of(&ctx.principal)?;
        let missing = || {
            Error::UploadNotFound(format!(
                "Unknown upload: {}; it expired, was published, or is not yours.",
                id.chars().take(64).collect::<String>()
            ))
        };
        if !is_upload_id(id) {
            return Err(missing());
        }
        let dir = uploads_dir(&self.store).join(id);
        let Ok(text) = std::fs::read(dir.join("upload.json")) else {
            return Err(missing());
        };
        let upload: Upload = serde_json::from_slice(&text).map_err(Error::internal)?;
        let admin = ctx.principal.account().is_some_and(|a| a.admin)
            || matches!(ctx.principal, Principal::Operator);
        if upload.owner != owner && !admin {
            return Err(missing());
        }
        let expired = chrono::DateTime::parse_from_rfc3339(&upload.expires_at)
            .is_ok_and(|t| t < chrono::Utc::now());
        if expired {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(missing());
        }
        Ok((dir, upload))
    }

    /// Upload `id` with its preview, for its owner (or a portal admin).
    pub async fn get_upload(&self, ctx: &RequestContext, id: &str) -> Result<Upload, Error> {
        Ok(self.find_upload(ctx, id)?.1)
    }

    /// Replaces the schema overrides of upload `id` by `schema` (a JSON [`SchemaEdit`]) and
    /// reads the file again: the preview shows the rows the new types reject. A schema that
    /// cannot apply changes nothing.
    pub async fn set_upload_schema(
        &self,
        ctx: &RequestContext,
        id: &str,
        schema: Value,
    ) -> Result<Upload, Error> {
        let schema: SchemaEdit = serde_json::from_value(schema)
            .map_err(|e| Error::BadParameter(format!("Invalid schema: {e}.")))?;
        schema.check().map_err(|e| Error::BadParameter(format!("Invalid schema: {e}.")))?;
        let (dir, mut upload) = self.find_upload(ctx, id)?;
        tokio::task::spawn_blocking(move || {
            let shown = upload.file_name.clone().unwrap_or_else(|| "the upload".to_owned());
            upload.preview = read_upload(&dir, &schema, &shown).map_err(|e| match e {
                Error::BadParameter(m) => Error::BadParameter(format!("Invalid schema: {m}")),
                other => other,
            })?;
            upload.schema = schema;
            save(&dir, &upload)?;
            Ok(upload)
        })
        .await
        .map_err(Error::internal)?
    }

    /// Publishes upload `request.upload` as the new version of dataset `dataset` (created
    /// when new, if the caller may create datasets in the organization; else the caller must
    /// be allowed to edit it). Refused while the preview rejects rows, unless
    /// `accept_rejected`. The upload is gone once published.
    pub async fn publish_upload(
        &self,
        ctx: &RequestContext,
        dataset: &str,
        request: PublishUpload,
    ) -> Result<Published, Error> {
        let (dir, upload) = self.find_upload(ctx, &request.upload)?;
        let comment = crate::versions::check_comment(request.comment.as_deref())?;
        let visibility = match request.visibility.as_deref() {
            None => None,
            Some(v) => Some(v.parse::<Visibility>().map_err(Error::BadParameter)?),
        };
        if upload.preview.rejected_count > 0 && !request.accept_rejected {
            let first = upload.preview.rejected.first().map_or_else(String::new, |r| {
                format!(" (first: {} {}: {})", r.location, r.line, r.reason)
            });
            return Err(Error::RejectedRows(format!(
                "The preview rejects {} of the upload's rows{first}; change the schema or the \
                 file, or publish with \"accept_rejected\": true to leave them out.",
                upload.preview.rejected_count
            )));
        }
        if !kleber_store::is_valid_dataset_id(dataset) {
            return Err(Error::BadParameter(format!(
                "Invalid dataset identifier {dataset:?}: use lowercase letters, digits, `-` and \
                 `_`, starting with a letter or a digit."
            )));
        }
        let store = Arc::clone(&self.store);
        let existing = store.get_dataset(dataset)?;
        let organization = match &existing {
            Some(record) => {
                if !ctx.principal.may_read(record) {
                    return Err(Error::DatasetNotFound(dataset.to_owned()));
                }
                if !ctx.principal.may_edit(record) {
                    return Err(Error::Forbidden(format!(
                        "You may not publish versions of dataset {dataset}: an editor or admin \
                         of organization {} may.",
                        record.organization
                    )));
                }
                if let Some(org) = request.organization.as_deref()
                    && org != record.organization
                {
                    return Err(Error::BadParameter(format!(
                        "Dataset {dataset} belongs to organization {}, not {org}; leave \
                         \"organization\" out to publish a new version.",
                        record.organization
                    )));
                }
                None
            }
            None => {
                let org = match request.organization.clone() {
                    Some(org) => org,
                    None => store.catalog().default_org()?,
                };
                if store.catalog().get_org(&org)?.is_none() {
                    return Err(Error::BadParameter(format!("Unknown organization: {org}.")));
                }
                let access =
                    DatasetAccess { uid: "", organization: &org, visibility: Visibility::Draft };
                if !crate::policy::may_edit(&ctx.principal, access) {
                    return Err(Error::Forbidden(format!(
                        "You may not create datasets in organization {org}: its editors and \
                         admins may."
                    )));
                }
                Some(org)
            }
        };
        let access = ImportAccess {
            organization,
            visibility: if existing.is_none() { visibility } else { None },
            actor: Some(actor_of(&ctx.principal)),
            comment,
        };
        let dataset = dataset.to_owned();
        let source = upload.file_name.clone();
        let title = request.title.clone();
        let principal = ctx.principal.clone();
        tokio::task::spawn_blocking(move || {
            let mut pending =
                crate::import::begin(&store, &dataset, &access).map_err(Error::Import)?;
            pending.settle_annotations(upload.schema.settled_annotations(&upload.preview.fields));
            let report = dir.join("rejected.csv");
            let mut data = dir.join("preview.parquet");
            let (mut fields, mut records) =
                (upload.preview.fields.clone(), upload.preview.records_count);
            // The dataset's processors (docs/sources.md#processors), with the publisher's
            // access to joined datasets; the preview file stays as it was.
            let processed = pending.data_path();
            if let Some((f, rows)) = crate::processors::apply_stored(
                &store,
                &dataset,
                Some(&principal),
                &data,
                &processed,
                &fields,
            )? {
                (fields, records, data) = (f, rows, processed);
            }
            let publication = crate::import::publish_read(
                pending,
                &data,
                (upload.preview.rejected_count > 0).then_some(report.as_path()),
                &fields,
                records,
                upload.preview.rejected_count,
                source.as_deref(),
                title.as_deref(),
                None,
            )
            .map_err(Error::Import)?;
            let _ = std::fs::remove_dir_all(&dir);
            Ok(Published {
                dataset_id: dataset,
                version: publication.version,
                records_count: records,
                rejected_count: upload.preview.rejected_count,
            })
        })
        .await
        .map_err(Error::internal)?
    }
}

/// Deletes an upload's directory unless kept (a failed or cut upload leaves nothing).
struct DirGuard(Option<PathBuf>);

impl DirGuard {
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for DirGuard {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
