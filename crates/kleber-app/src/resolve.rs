//! A request's view of the stored data, resolved once: the catalog at one generation, or one
//! dataset at one version. The `ETag`, the response-cache key and the answer all come from the
//! same resolution, so they always agree.

use std::sync::Arc;

use kleber_query::DatasetRef;
use kleber_store::DatasetRecord;
use kleber_types::Field;

use crate::cache::CacheKey;
use crate::catalog::CatalogSnapshot;

/// The catalog as one request sees it.
#[derive(Clone)]
pub struct CatalogView {
    pub(crate) snapshot: Arc<CatalogSnapshot>,
}

impl std::fmt::Debug for CatalogView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogView").field("generation", &self.snapshot.generation).finish()
    }
}

impl CatalogView {
    /// The store generation it was built from.
    pub fn generation(&self) -> i64 {
        self.snapshot.generation
    }

    /// The published datasets, by identifier.
    pub fn records(&self) -> &[DatasetRecord] {
        &self.snapshot.records
    }

    /// The published dataset `id`, if any.
    pub fn record(&self, id: &str) -> Option<&DatasetRecord> {
        self.snapshot.record(id)
    }

    /// Every organization, by identifier (whether or not the caller sees any of its
    /// datasets).
    pub fn organizations(&self) -> &[kleber_store::Organization] {
        &self.snapshot.organizations
    }

    /// The organization `id`, if any.
    pub fn organization(&self, id: &str) -> Option<&kleber_store::Organization> {
        self.snapshot.organization(id)
    }

    /// What the catalog's answers depend on: a digest of the stamps of the datasets the
    /// caller sees, and of nothing else. Callers who see different datasets never share an
    /// `ETag`, and a change to a dataset a caller may not see (or its creation) leaves that
    /// caller's `ETag` as it was, as if the dataset did not exist.
    pub fn stamp(&self) -> String {
        format!("catalog:{}", self.snapshot.content)
    }

    /// The response-cache key of `route` with `query` over this catalog (and this audience:
    /// callers who see different datasets never share a cached body).
    pub fn cache_key(&self, route: &'static str, query: Option<&str>) -> CacheKey {
        CacheKey::catalog_for(route, self.snapshot.generation, &self.snapshot.audience, query)
    }
}

/// One dataset at the version a request reads.
#[derive(Clone)]
pub struct DatasetVersion {
    pub(crate) snapshot: Arc<CatalogSnapshot>,
    pub(crate) index: usize,
    /// Fields to plan over instead of the stored ones (v1 `disjunctive.F` annotations).
    pub(crate) fields: Option<Arc<Vec<Field>>>,
    /// An earlier version than the current one, when the request asked one (`version=N`,
    /// [`crate::time_travel`]).
    pub(crate) at: Option<Arc<crate::time_travel::At>>,
}

impl std::fmt::Debug for DatasetVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasetVersion")
            .field("id", &self.id())
            .field("version", &self.number())
            .finish()
    }
}

impl DatasetVersion {
    /// The dataset's catalog record (metadata, the version's fields and files).
    pub fn record(&self) -> &DatasetRecord {
        match &self.at {
            Some(at) => &at.record,
            None => &self.snapshot.records[self.index],
        }
    }

    /// Whether this is an earlier version than the dataset's current one.
    pub fn is_old(&self) -> bool {
        self.at.is_some()
    }

    /// The number of the dataset's current version (the one served without `version=`).
    pub fn current_number(&self) -> i64 {
        self.snapshot.records[self.index].version.number
    }

    /// Its identifier.
    pub fn id(&self) -> &str {
        &self.record().id
    }

    /// Its immutable uid.
    pub fn uid(&self) -> &str {
        &self.record().uid
    }

    /// The version number read.
    pub fn number(&self) -> i64 {
        self.record().version.number
    }

    /// The fields queries are planned over.
    pub fn fields(&self) -> &[Field] {
        match &self.fields {
            Some(fields) => fields,
            None => &self.record().version.fields,
        }
    }

    /// The same version, planned over `fields` (the stored fields with other annotations).
    #[must_use]
    pub fn with_fields(mut self, fields: Vec<Field>) -> DatasetVersion {
        self.fields = Some(Arc::new(fields));
        self
    }

    /// The query engine's view of this version: its fields (as the caller sees them) and,
    /// when the caller sees it through its access rule, the scan view every query starts from
    /// ([`crate::rules`]).
    pub fn dataset_ref(&self) -> DatasetRef {
        let record = self.record();
        DatasetRef {
            uid: record.uid.clone(),
            version: record.version.number,
            data_path: record.version.data_path.clone(),
            fields: self.fields().to_vec(),
            view: self.view().cloned(),
        }
    }

    /// The scan view the caller sees this version through, if it is an outsider of its
    /// access rule.
    fn view(&self) -> Option<&Arc<kleber_query::ScanView>> {
        match &self.at {
            Some(at) => at.view.as_ref(),
            None => self.current_view(),
        }
    }

    /// The scan view of the current version, if the caller is an outsider of its rule.
    pub(crate) fn current_view(&self) -> Option<&Arc<kleber_query::ScanView>> {
        self.snapshot.views.get(self.index).and_then(Option::as_ref)
    }

    /// What names this version's answers in caches: the uid, followed for an outsider of its
    /// access rule by the view's key. Caches of answers over one dataset version (the response
    /// cache, the portal's page caches) key by it, never by the uid alone, so staff and
    /// outsiders never share a cached answer, and callers sharing a view do.
    pub fn cache_scope(&self) -> std::borrow::Cow<'_, str> {
        match self.view() {
            None => std::borrow::Cow::Borrowed(self.uid()),
            Some(view) => std::borrow::Cow::Owned(format!("{}~{}", self.uid(), view.key)),
        }
    }

    /// A digest of everything its answers depend on (uid, organization, visibility, version,
    /// metadata, fields). Nothing else: a dataset's answers are the same for every caller who
    /// may read it, and one who may not gets the answer of a dataset that does not exist
    /// (never tagged nor cached), so its `ETag` neither needs nor may carry anything about
    /// the rest of the catalog.
    pub fn stamp(&self) -> &str {
        match &self.at {
            Some(at) => &at.stamp,
            None => &self.snapshot.stamps[self.index],
        }
    }

    /// The catalog generation this version was read at.
    pub fn catalog(&self) -> CatalogView {
        CatalogView { snapshot: Arc::clone(&self.snapshot) }
    }

    /// The response-cache key of `route` with `query` over this version (its answers are the
    /// same for every caller who may read it).
    pub fn cache_key(&self, route: &'static str, query: Option<&str>) -> CacheKey {
        CacheKey::dataset(route, &self.cache_scope(), self.number(), query)
    }
}
