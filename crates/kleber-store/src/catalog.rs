//! The catalog interface: what the store needs from a catalog database, whatever it is.
//!
//! [`Catalog`] is the one door to the catalog (datasets, their versions, the generation).
//! The embedded implementation is SQLite ([`SqliteCatalog`](crate::SqliteCatalog)); a
//! PostgreSQL catalog would be a second implementation, chosen when the [`Store`](crate::Store)
//! is opened, without touching the store's callers.
//!
//! Every write is one transaction that takes the catalog's write lock *before* it reads what
//! it changes (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: `SELECT ... FOR UPDATE`), so two writers
//! (a server, `kleber annotate`, `kleber import`) never lose each other's update.

use std::collections::HashMap;
use std::path::PathBuf;

use kleber_types::Field;
use serde_json::{Map, Value};

use crate::error::Result;

/// The catalog database behind a [`Store`](crate::Store).
pub trait Catalog:
    crate::AccountCatalog
    + crate::ManageCatalog
    + crate::PushKeyCatalog
    + crate::SourceCatalog
    + crate::HarvestCatalog
    + crate::ProcessorCatalog
    + crate::DerivationCatalog
    + crate::FeedCatalog
    + crate::PortalCatalog
    + crate::VersionCatalog
    + crate::RetentionCatalog
    + Send
    + Sync
{
    /// Every published dataset with its current version, ordered by identifier.
    fn list_datasets(&self) -> Result<Vec<DatasetRecord>>;

    /// The published dataset with this identifier, or `None`.
    fn get_dataset(&self, id: &str) -> Result<Option<DatasetRecord>>;

    /// A counter bumped by every catalog write, read by caches of derived state.
    fn generation(&self) -> Result<i64>;

    /// Version numbers of a dataset, newest first.
    fn versions(&self, id: &str) -> Result<Vec<i64>>;

    /// Merges `patch` into a dataset's metadata: `title` and `description` go to their own
    /// columns, other keys into `metas` (a `null` removes a key). One write transaction.
    fn update_metas(&self, id: &str, patch: &Map<String, Value>) -> Result<()>;

    /// Sets and removes annotations of one field of a dataset's current version, in one write
    /// transaction; returns the field.
    fn annotate_field(
        &self,
        id: &str,
        field: &str,
        set: &[(String, Vec<String>)],
        remove: &[String],
    ) -> Result<Field>;

    /// The uid and the next version number of dataset `id`; `None` as uid when the dataset
    /// does not exist yet (its first version will be 1).
    fn next_version(&self, id: &str) -> Result<(Option<String>, i64)>;

    /// Whether a dataset already has this uid.
    fn uid_taken(&self, uid: &str) -> Result<bool>;

    /// Records a version whose files are complete and synced, and makes it current, in one
    /// write transaction (creating the dataset when `version.is_new`). Annotations of the
    /// previous current version's fields are carried over to the fields of the same name that
    /// do not set them, so an annotation made while an import ran is not lost.
    fn record_version(&self, version: &NewVersion<'_>) -> Result<()>;

    /// Every dataset uid with its recorded version numbers (for orphan removal).
    fn known_versions(&self) -> Result<HashMap<String, Vec<i64>>>;
}

/// A version being recorded by [`Catalog::record_version`].
#[derive(Debug, Clone)]
pub struct NewVersion<'a> {
    /// The dataset's uid.
    pub uid: &'a str,
    /// The dataset's identifier.
    pub id: &'a str,
    /// True when this is the dataset's first version.
    pub is_new: bool,
    /// The version number.
    pub number: i64,
    /// A new title, if any (a new dataset without one is titled after its identifier).
    pub title: Option<&'a str>,
    /// The schema.
    pub fields: &'a [Field],
    /// Records in the version.
    pub records_count: i64,
    /// Rows of the source that were rejected.
    pub rejected_count: i64,
    /// The source file's name.
    pub source: Option<&'a str>,
    /// When it was published (RFC 3339).
    pub now: &'a str,
    /// The organization it belongs to: given, or (a new dataset) the default organization,
    /// or (an existing one) unchanged.
    pub organization: Option<&'a str>,
    /// Who may read it: given, or public (new), or unchanged (existing).
    pub visibility: Option<crate::Visibility>,
    /// Who publishes it (for the audit log and the version list).
    pub actor: &'a crate::Actor,
    /// The earlier version whose files this one restores, if it is a restore.
    pub restored_from: Option<i64>,
    /// The publisher's comment on this version (schema 19), already checked by the caller.
    pub comment: Option<&'a str>,
    /// `(field, annotation)` pairs the publisher set or removed for this version: the
    /// previous version's annotations are carried over to every other pair only.
    pub settled: &'a [(String, String)],
}

/// A published dataset with its current version.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetRecord {
    /// Immutable identifier, `da_` and six base-36 characters.
    pub uid: String,
    /// The slug used in URLs.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description (HTML allowed, as in Opendatasoft), or `None`.
    pub description: Option<String>,
    /// Other `default` metadata (publisher, theme, keyword, license, ...).
    pub metas: Map<String, Value>,
    /// When the dataset's data or metadata last changed (RFC 3339).
    pub modified: String,
    /// The organization that publishes it.
    pub organization: String,
    /// Who may read it (decided by `kleber_app::policy`).
    pub visibility: crate::Visibility,
    /// Files attached to it, by identifier.
    pub attachments: Vec<crate::Attachment>,
    /// What outsiders (callers who read it only because it is public) may see of it, if
    /// restricted (applied by `kleber_app`; docs/security.md#access-rules).
    pub rule: Option<AccessRule>,
    /// The version served.
    pub version: VersionRecord,
}

/// A dataset's access rule for outsiders: fields hidden from them, and a condition their
/// records must meet. Staff (the organization's members, grantees, portal admins, the
/// operator) see the whole table.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccessRule {
    /// Names of the fields outsiders do not see.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden: Vec<String>,
    /// An ODSQL condition (a `where`) the records outsiders see must meet.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

impl AccessRule {
    /// Whether the rule hides or filters nothing.
    pub fn is_empty(&self) -> bool {
        self.hidden.is_empty() && self.condition.as_deref().is_none_or(|c| c.trim().is_empty())
    }
}

/// One immutable version of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRecord {
    /// Version number, from 1.
    pub number: i64,
    /// Schema of the version.
    pub fields: Vec<Field>,
    /// Number of records in the version.
    pub records_count: i64,
    /// Rows of the source that were rejected.
    pub rejected_count: i64,
    /// Where the source came from (a file name), if known.
    pub source: Option<String>,
    /// When it was published (RFC 3339).
    pub created_at: String,
    /// Absolute path of the Parquet file.
    pub data_path: PathBuf,
    /// Absolute path of the rejected-rows report, if there is one.
    pub report_path: Option<PathBuf>,
}
