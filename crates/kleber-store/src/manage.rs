//! What the management API needs from the catalog: datasets as their publishers see them
//! (drafts without a version, deleted ones in the trash, archived ones), their life cycle,
//! their versions and their attachments (schema 6).
//!
//! Every change goes through [`ManageCatalog`] in one write transaction that appends its audit
//! entry, with the dataset's organization in its details (so the organization's admins read
//! it in the audit log).

use serde_json::{Map, Value};

use crate::Visibility;
use crate::accounts::Actor;
use crate::error::Result;

/// A dataset as its publishers see it: whatever its state.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedDataset {
    /// Immutable uid.
    pub uid: String,
    /// Identifier (slug).
    pub id: String,
    /// Title.
    pub title: String,
    /// Description, as served (sanitised HTML).
    pub description: Option<String>,
    /// The Markdown the description was rendered from, when it was written through the
    /// management API.
    pub description_source: Option<String>,
    /// Other metadata.
    pub metas: Map<String, Value>,
    /// Organization.
    pub organization: String,
    /// Visibility (`draft` until published).
    pub visibility: Visibility,
    /// Archived: read-only, still served.
    pub archived: bool,
    /// When it was deleted (RFC 3339), if it is in the trash.
    pub deleted_at: Option<String>,
    /// Current version, if any.
    pub current_version: Option<i64>,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When its data or metadata last changed (RFC 3339).
    pub modified: String,
}

/// One version of a dataset, as listed to its publishers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// Version number.
    pub number: i64,
    /// When it was published (RFC 3339).
    pub created_at: String,
    /// Records.
    pub records: i64,
    /// Rejected rows of the source.
    pub rejected: i64,
    /// The source file's name.
    pub source: Option<String>,
    /// Who published it (`operator:NAME`, `user:ID`), when recorded.
    pub actor: Option<String>,
    /// The version whose files it restored, if it is a restore.
    pub restored_from: Option<i64>,
    /// Whether it is the version served.
    pub current: bool,
    /// What changed from the previous version (records added, removed, changed), once
    /// computed (schema 10; see [`crate::versions`]).
    pub summary: Option<crate::VersionSummary>,
    /// Names of the fields added, removed or retyped since the previous version.
    pub fields_changed: Vec<String>,
    /// Whether its files are gone (pruned): its entry stays, its data cannot be read.
    pub pruned: bool,
    /// The publisher's comment on it (schema 19; `None` for versions published before).
    pub comment: Option<String>,
}

/// A file attached to a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Identifier, unique within the dataset (a slug of its file name).
    pub id: String,
    /// Title (the file name unless given).
    pub title: String,
    /// File name, as sent in `Content-Disposition`.
    pub file_name: String,
    /// Content type.
    pub mimetype: String,
    /// Size in bytes.
    pub size: i64,
    /// When it was first added (RFC 3339).
    pub created_at: String,
    /// When its file was last replaced (RFC 3339).
    pub updated_at: String,
}

/// A change of a dataset's life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Into the trash: hidden everywhere, restorable until purged.
    Delete,
    /// Out of the trash.
    Restore,
    /// Published with this visibility (public or restricted).
    Publish(Visibility),
    /// Back to draft.
    Unpublish,
    /// Read-only.
    Archive,
    /// Writable again.
    Unarchive,
}

impl Lifecycle {
    /// The audit log's action.
    pub fn action(self) -> &'static str {
        match self {
            Lifecycle::Delete => "dataset.delete",
            Lifecycle::Restore => "dataset.restore",
            Lifecycle::Publish(_) => "dataset.release",
            Lifecycle::Unpublish => "dataset.unpublish",
            Lifecycle::Archive => "dataset.archive",
            Lifecycle::Unarchive => "dataset.unarchive",
        }
    }
}

/// Datasets, life cycle, versions and attachments for the management API.
pub trait ManageCatalog: Send + Sync {
    /// Creates dataset `id` in `org`, a draft without a version, titled `title`.
    fn create_dataset(
        &self,
        actor: &Actor,
        id: &str,
        org: &str,
        title: &str,
    ) -> Result<ManagedDataset>;
    /// Dataset `id` whatever its state (deleted ones included), or `None`.
    fn managed_dataset(&self, id: &str) -> Result<Option<ManagedDataset>>;
    /// Every dataset, in the trash or not, by identifier.
    fn managed_datasets(&self) -> Result<Vec<ManagedDataset>>;
    /// Merges `patch` into the metadata of dataset `id` (as `Catalog::update_metas`; a
    /// `description_source` key goes to its own column), appending `dataset.metadata`.
    fn edit_metas(&self, actor: &Actor, id: &str, patch: &Map<String, Value>) -> Result<()>;
    /// Applies a life-cycle change to dataset `id`, appending its audit entry. Refused with
    /// [`crate::Error::InvalidState`] when the dataset's state does not allow it.
    fn change_lifecycle(&self, actor: &Actor, id: &str, change: Lifecycle) -> Result<()>;
    /// Removes from the catalog every dataset deleted before `before` (RFC 3339), with its
    /// versions, grants and attachments, appending `dataset.purge` for each; returns their
    /// uids (whose folders the caller deletes).
    fn purge_deleted(&self, before: &str) -> Result<Vec<String>>;
    /// The versions of dataset `id`, newest first.
    fn version_infos(&self, id: &str) -> Result<Vec<VersionInfo>>;
    /// The schema of version `number` of dataset `uid`.
    fn version_fields(&self, uid: &str, number: i64) -> Result<Vec<kleber_types::Field>>;
    /// The attachments of dataset `uid`, by identifier.
    fn attachments(&self, uid: &str) -> Result<Vec<Attachment>>;
    /// Adds or replaces attachment `a` of dataset `id` (`attachment.add` or
    /// `attachment.replace`).
    fn put_attachment(&self, actor: &Actor, id: &str, a: &Attachment) -> Result<()>;
    /// Removes attachment `attachment` of dataset `id` (`attachment.remove`); `false` when
    /// there was none.
    fn remove_attachment(&self, actor: &Actor, id: &str, attachment: &str) -> Result<bool>;
}

impl crate::Store {
    /// The folder of dataset `uid`'s attachments (beside its versions, so they survive them).
    pub fn attachments_dir(&self, uid: &str) -> std::path::PathBuf {
        crate::layout::dataset_dir(self.root(), uid).join(crate::layout::ATTACHMENTS_DIR)
    }

    /// The file of attachment `attachment` of dataset `uid`.
    pub fn attachment_path(&self, uid: &str, attachment: &str) -> std::path::PathBuf {
        self.attachments_dir(uid).join(attachment)
    }

    /// Publishes the files of version `number` of dataset `id` as a new version (the next
    /// number), recorded as done by `actor`: the old version's directory is never changed,
    /// its files are hard-linked (copied where links are not possible) into the new one.
    pub fn restore_version(
        &self,
        id: &str,
        number: i64,
        actor: Actor,
    ) -> Result<crate::Publication> {
        let d = self
            .catalog()
            .managed_dataset(id)?
            .ok_or_else(|| crate::Error::DatasetNotFound { id: id.to_owned() })?;
        let infos = self.catalog().version_infos(id)?;
        let Some(old) = infos.iter().find(|v| v.number == number) else {
            let known: Vec<String> = infos.iter().map(|v| v.number.to_string()).collect();
            return Err(crate::Error::InvalidState(format!(
                "dataset {id:?} has no version {number}; its versions are: {}",
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            )));
        };
        if d.current_version == Some(number) {
            return Err(crate::Error::InvalidState(format!(
                "version {number} of dataset {id:?} is already the current one"
            )));
        }
        let fields = self.catalog().version_fields(&d.uid, number)?;
        let old_dir = crate::layout::dataset_dir(self.root(), &d.uid)
            .join(crate::layout::version_dir_name(number));
        let mut pending = self.begin_version(id)?;
        pending.set_access(None, None, actor);
        pending.set_restored_from(number);
        link_or_copy(&old_dir.join(crate::layout::DATA_FILE), &pending.data_path())?;
        let report = old_dir.join(crate::layout::REPORT_FILE);
        if report.exists() {
            link_or_copy(&report, &pending.report_path())?;
        }
        pending.commit(
            &fields,
            u64::try_from(old.records).unwrap_or_default(),
            u64::try_from(old.rejected).unwrap_or_default(),
            old.source.as_deref(),
            None,
        )
    }

    /// Purges the datasets deleted before `before` (RFC 3339): their catalog rows, then their
    /// folders (versions and attachments). Returns their uids.
    pub fn purge_deleted(&self, before: &str) -> Result<Vec<String>> {
        let uids = self.account_change(|c| c.purge_deleted(before))?;
        for uid in &uids {
            let dir = crate::layout::dataset_dir(self.root(), uid);
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .map_err(|source| crate::Error::File { path: dir.clone(), source })?;
            }
        }
        Ok(uids)
    }
}

fn link_or_copy(from: &std::path::Path, to: &std::path::Path) -> Result<()> {
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|source| crate::Error::File { path: to.to_path_buf(), source })
}
