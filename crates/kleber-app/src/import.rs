//! Importing a file as a new version of a dataset: read, write Parquet, publish atomically.
//!
//! Shared by `kleber import` and the demo data. A file that cannot be read at all fails before
//! anything is published, so the previous version stays current; rows that cannot be read are
//! reported in `rejected.csv` beside the new version.

use std::path::{Path, PathBuf};

use anyhow::Context;
use kleber_ingest::{ImportOptions, ImportOutcome, Progress};
use kleber_store::{Actor, CrashPoint, Store, Visibility};

/// What to import where.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The source file.
    pub path: PathBuf,
    /// The dataset identifier (created if new).
    pub dataset: String,
    /// A title for the dataset.
    pub title: Option<String>,
    /// Reading options.
    pub options: ImportOptions,
    /// The field whose value identifies a record (annotation `id`), so record ids stay stable
    /// when other values change between versions.
    pub unique_id: Option<String>,
    /// Test hook: abort the process at this point of the publication.
    pub crash: Option<CrashPoint>,
}

/// Where an import publishes: its organization and visibility (each `None`: a new dataset
/// goes to the default organization, public; an existing one keeps its own), and who does it.
#[derive(Debug, Clone, Default)]
pub struct ImportAccess {
    /// The organization.
    pub organization: Option<String>,
    /// The visibility.
    pub visibility: Option<Visibility>,
    /// Who publishes, for the audit log (default: the operator at the shell).
    pub actor: Option<Actor>,
}

/// What an import produced.
#[derive(Debug)]
pub struct ImportSummary {
    /// The dataset identifier.
    pub dataset: String,
    /// Its immutable uid.
    pub uid: String,
    /// The version published.
    pub version: i64,
    /// What the reader found.
    pub outcome: ImportOutcome,
    /// The rejected-rows report, when rows were rejected.
    pub report_path: Option<PathBuf>,
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// Imports `request.path` into `store` as a new version of `request.dataset`.
pub fn import_file(
    store: &Store,
    request: &ImportRequest,
    progress: &mut dyn FnMut(Progress),
) -> anyhow::Result<ImportSummary> {
    import_file_with(store, request, &ImportAccess::default(), progress)
}

/// [`import_file`] into the organization and visibility of `access`. An unknown organization
/// is refused before the file is read.
pub fn import_file_with(
    store: &Store,
    request: &ImportRequest,
    access: &ImportAccess,
    progress: &mut dyn FnMut(Progress),
) -> anyhow::Result<ImportSummary> {
    if let Some(org) = &access.organization
        && store.catalog().get_org(org)?.is_none()
    {
        return Err(kleber_store::Error::OrgNotFound { id: org.clone() })
            .context("nothing was published");
    }
    if let Some(d) = store.catalog().managed_dataset(&request.dataset)?
        && (d.archived || d.deleted_at.is_some())
    {
        let state = if d.archived {
            "archived (read-only): unarchive it"
        } else {
            "in the trash: restore it"
        };
        anyhow::bail!(
            "dataset `{}` is {state} before importing into it; nothing was published",
            request.dataset
        );
    }
    let mut pending = store.begin_version(&request.dataset)?;
    pending.set_access(
        access.organization.as_deref(),
        access.visibility,
        access.actor.clone().unwrap_or_else(crate::accounts::operator),
    );
    let outcome =
        kleber_ingest::import_file(&request.path, &pending.data_path(), &request.options, progress)
            .with_context(|| {
                format!(
                    "nothing was published; dataset `{}` keeps its previous version",
                    request.dataset
                )
            })?;
    let mut outcome = outcome;
    if let Some(name) = &request.unique_id {
        let Some(field) = outcome.fields.iter_mut().find(|f| &f.name == name || &f.label == name)
        else {
            let names: Vec<_> = outcome.fields.iter().map(|f| f.name.as_str()).collect();
            anyhow::bail!(
                "--unique-id {name}: no such field; the fields are {}. Nothing was published.",
                names.join(", ")
            );
        };
        field.annotations.insert("id".to_owned(), Vec::new());
    }
    if !outcome.rejected.is_empty() {
        kleber_ingest::write_issues_csv(&outcome.rejected, &pending.report_path())
            .context("cannot write the report of rejected rows")?;
    }
    let publication = pending.commit_with_crash(
        &outcome.fields,
        outcome.rows,
        outcome.rejected.len() as u64,
        file_name(&request.path).as_deref(),
        request.title.as_deref(),
        request.crash,
    )?;
    Ok(ImportSummary {
        dataset: request.dataset.clone(),
        uid: publication.uid,
        version: publication.version,
        outcome,
        report_path: publication.report_path,
    })
}
