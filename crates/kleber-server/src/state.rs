//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use kleber_query::{DatasetRef, Engine};
use kleber_store::{DatasetRecord, Store};

use crate::catalog_cache::{CatalogCache, CatalogSnapshot};
use crate::error::ApiError;

/// Shared state of the server.
#[derive(Clone)]
pub struct AppState {
    /// The catalog and version files.
    pub store: Arc<Store>,
    /// The query engine.
    pub engine: Arc<Engine>,
    /// Longest time a `/records` query may run.
    pub query_timeout: Duration,
    /// The catalog table and search index, rebuilt when the store changes.
    pub catalog: Arc<CatalogCache>,
}

impl AppState {
    /// A state over `store` with a fresh engine.
    pub fn new(store: Store, engine: Engine, query_timeout: Duration) -> AppState {
        AppState {
            store: Arc::new(store),
            engine: Arc::new(engine),
            query_timeout,
            catalog: Arc::new(CatalogCache::default()),
        }
    }

    /// The current catalog snapshot.
    pub async fn catalog(&self) -> Result<Arc<CatalogSnapshot>, ApiError> {
        let store = Arc::clone(&self.store);
        let cache = Arc::clone(&self.catalog);
        tokio::task::spawn_blocking(move || cache.snapshot(&store))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)
    }

    /// The published dataset `id`, or a 404 error.
    pub async fn dataset(&self, id: &str) -> Result<DatasetRecord, ApiError> {
        let store = Arc::clone(&self.store);
        let owned = id.to_owned();
        // SQLite is blocking; a catalog lookup takes microseconds but must not hold a worker
        // if the disk stalls.
        let found = tokio::task::spawn_blocking(move || store.get_dataset(&owned))
            .await
            .map_err(ApiError::internal)??;
        found.ok_or_else(|| ApiError::dataset_not_found(id))
    }
}

/// The query engine's view of a dataset's current version.
pub fn dataset_ref(record: &DatasetRecord) -> DatasetRef {
    DatasetRef {
        uid: record.uid.clone(),
        version: record.version.number,
        data_path: record.version.data_path.clone(),
        fields: record.version.fields.clone(),
    }
}
