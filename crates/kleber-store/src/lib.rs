//! The catalog and the dataset version files.
//!
//! Everything lives under one data directory:
//!
//! ```text
//! <data-dir>/catalog.sqlite              datasets, versions, organizations, accounts, keys,
//!                                        audit log (SQLite, WAL)
//! <data-dir>/.write.lock                 held by whoever is publishing
//! <data-dir>/datasets/<uid>/v<N>/data.parquet     immutable version N of a dataset
//! <data-dir>/datasets/<uid>/v<N>/rejected.csv     rows the import could not read, if any
//! <data-dir>/datasets/<uid>/.tmp-v<N>-<pid>/      a version being written (never served)
//! <data-dir>/datasets/<uid>/attachments/<id>      files attached to the dataset (survive versions)
//! <data-dir>/tmp/exports/                 spooled exports of a running server (cleaned at start-up)
//! ```
//!
//! A version is published in four steps (see [`PendingVersion::commit`]): the files are written
//! under a temporary directory, fsynced, the directory is renamed to `v<N>` and the parent
//! fsynced (and `datasets/` too for a new dataset), and only then one catalog transaction
//! records the version and makes it current.
//! A crash before the transaction leaves the previous version current; what it left on disk is
//! an orphan that [`Store::remove_orphans`] deletes at start-up.
//!
//! The catalog is reached through the [`Catalog`] trait; [`SqliteCatalog`] is the embedded
//! implementation. A data directory that holds dataset folders but no readable catalog is
//! refused ([`Error::MissingCatalog`], [`Error::UnreadableCatalog`]), never re-initialised.

pub mod accounts;
mod catalog;
pub mod derivations;
mod error;
pub mod feeds;
pub mod freshness;
pub mod harvests;
mod layout;
pub mod manage;
pub mod portal;
pub mod processors;
mod publish;
pub mod push_keys;
pub mod retention;
pub mod sources;
mod sqlite;
mod sqlite_accounts;
mod sqlite_manage;
pub mod versions;

pub use accounts::{
    AccountCatalog, Actor, ApiKeyRecord, AuditEntry, AuditFilter, KeyGrant, NewApiKey,
    NewOrganization, NewUser, OrgKind, OrgUpdate, Organization, PendingInvitation, Role, Scope,
    SessionGrant, User, Visibility,
};
pub use catalog::{AccessRule, Catalog, DatasetRecord, NewVersion, VersionRecord};
pub use derivations::{DerivationCatalog, DerivationRecord, NewDerivation};
pub use error::{Error, Result};
pub use feeds::{Attempt, Delivery, FeedCatalog, Notification, RecentVersion, Webhook};
pub use harvests::{HarvestCatalog, HarvestRecord, HarvestRun, HarvestedDataset};
pub use manage::{Attachment, Lifecycle, ManageCatalog, ManagedDataset, VersionInfo};
pub use portal::PortalCatalog;
pub use processors::ProcessorCatalog;
pub use publish::{CrashPoint, OrphanReport, PendingVersion, Publication, is_valid_dataset_id};
pub use push_keys::{PushKeyCatalog, PushKeyGrant};
pub use retention::RetentionCatalog;
pub use sources::{RunEnd, SourceCatalog, SourceRecord, SourceRun};
pub use sqlite::SqliteCatalog;
pub use versions::{VersionCatalog, VersionSummary};

use std::path::{Path, PathBuf};

use kleber_types::Field;
use serde_json::{Map, Value};

/// The store: a catalog plus the version files under one directory.
pub struct Store {
    root: PathBuf,
    catalog: Box<dyn Catalog>,
    freshness: freshness::Freshness,
    /// Called with the dataset's id after each publication is committed ([`Store::on_publish`]).
    publish_hooks: std::sync::RwLock<Vec<PublishHook>>,
}

/// A function told of each committed publication (the dataset's id).
pub type PublishHook = Box<dyn Fn(&str) + Send + Sync>;

impl Store {
    /// Opens (creating if needed) the data directory and its SQLite catalog.
    ///
    /// A new or empty directory is initialised; one that holds dataset folders but whose
    /// catalog is missing or unreadable is refused with an error that says how to fix it.
    pub fn open(root: impl AsRef<Path>) -> Result<Store> {
        Store::open_with_default_org(root, accounts::DEFAULT_ORG)
    }

    /// [`Store::open`], naming the organization (`--default-org`) that datasets without one
    /// go to when a catalog written before organizations existed is migrated; it is created
    /// then, and new datasets imported without an organization go to it. Once a catalog has
    /// its default organization, `default_org` is ignored.
    pub fn open_with_default_org(root: impl AsRef<Path>, default_org: &str) -> Result<Store> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(&root)
            .map_err(|source| Error::DataDir { path: root.clone(), source })?;
        let catalog = SqliteCatalog::open_with_default_org(&root, default_org)?;
        std::fs::create_dir_all(root.join(layout::DATASETS_DIR))
            .map_err(|source| Error::DataDir { path: root.clone(), source })?;
        Ok(Store::with_catalog(root, Box::new(catalog)))
    }

    /// A store over `root` whose catalog is `catalog` (another database than the embedded
    /// SQLite one). `root/datasets` must exist.
    pub fn with_catalog(root: PathBuf, catalog: Box<dyn Catalog>) -> Store {
        let freshness = freshness::Freshness::new(&root);
        Store { root, catalog, freshness, publish_hooks: std::sync::RwLock::default() }
    }

    /// Calls `hook` with the dataset's id after every publication this store commits, from
    /// whichever path (import, upload, push, source run, harvest, restore): the application
    /// layer computes the new version's summary and applies the retention policy then.
    pub fn on_publish(&self, hook: PublishHook) {
        self.publish_hooks.write().unwrap_or_else(std::sync::PoisonError::into_inner).push(hook);
    }

    /// Tells the publish hooks that dataset `id` has a new version.
    pub(crate) fn published(&self, id: &str) {
        let hooks = self.publish_hooks.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        for hook in hooks.iter() {
            hook(id);
        }
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The catalog.
    pub fn catalog(&self) -> &dyn Catalog {
        self.catalog.as_ref()
    }

    /// Runs a change of organizations, accounts, keys, grants or visibility (`f` calls one
    /// [`AccountCatalog`] write) and lets this process's readers see it at once.
    pub fn account_change<T>(&self, f: impl FnOnce(&dyn Catalog) -> Result<T>) -> Result<T> {
        let out = f(self.catalog.as_ref())?;
        self.freshness.committed();
        Ok(out)
    }

    /// Every published dataset, ordered by identifier.
    pub fn list_datasets(&self) -> Result<Vec<DatasetRecord>> {
        self.catalog.list_datasets()
    }

    /// The published dataset with this identifier, or `None`.
    pub fn get_dataset(&self, id: &str) -> Result<Option<DatasetRecord>> {
        self.catalog.get_dataset(id)
    }

    /// The catalog's generation: it changes whenever a dataset is published or its metadata
    /// change, in this process or another.
    pub fn generation(&self) -> Result<i64> {
        self.catalog.generation()
    }

    /// The generation as [`generation`](Self::generation) would read it, answered from memory
    /// when it cannot have changed: a change committed by this process is seen at once, one
    /// committed by another process within [`freshness::MAX_AGE`].
    /// For readers that ask on every request.
    pub fn recent_generation(&self) -> Result<i64> {
        self.freshness.generation(|| self.generation())
    }

    /// Version numbers of a dataset, newest first.
    pub fn versions(&self, id: &str) -> Result<Vec<i64>> {
        self.catalog.versions(id)
    }

    /// Merges `patch` into a dataset's metadata: `title` and `description` go to their columns,
    /// other keys into `metas` (a `null` removes a key).
    pub fn update_metas(&self, id: &str, patch: &Map<String, Value>) -> Result<()> {
        self.catalog.update_metas(id, patch)?;
        self.freshness.committed();
        Ok(())
    }

    /// Changes the annotations of one field of a dataset's current version (which fields are
    /// facets, disjunctive, how they sort...). Annotations are metadata: the data files are
    /// untouched, and the next version of the dataset keeps them. `set` adds or replaces
    /// annotations, `remove` deletes them. Returns the field.
    pub fn annotate_field(
        &self,
        id: &str,
        field: &str,
        set: &[(String, Vec<String>)],
        remove: &[String],
    ) -> Result<Field> {
        let updated = self.catalog.annotate_field(id, field, set, remove)?;
        self.freshness.committed();
        Ok(updated)
    }
}
