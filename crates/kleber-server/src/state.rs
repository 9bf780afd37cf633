//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use kleber_query::{DatasetRef, Engine};
use kleber_store::{DatasetRecord, Store};

use crate::catalog_cache::{CatalogCache, CatalogSnapshot};
use crate::error::ApiError;
use crate::result_cache::ResultCache;

/// Default size of the response cache.
pub const DEFAULT_RESULT_CACHE_MB: u64 = 64;

/// Default number of exports spooled to disk at once.
pub const DEFAULT_MAX_SPOOLED_EXPORTS: usize = 8;

/// Default disk space the spooled exports may hold together, in MiB.
pub const DEFAULT_MAX_SPOOL_MB: u64 = 4096;

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
    /// Finished responses by dataset version or catalog generation.
    pub results: Arc<ResultCache>,
    /// The portal's settings (tile server) and page-view counts.
    pub web: Arc<crate::web::WebConfig>,
    /// The bounds of exports spooled to `<data dir>/tmp/exports` (cleaned when made).
    pub spool: Arc<kleber_export::SpoolBudget>,
}

impl AppState {
    /// A state over `store` with a fresh engine.
    pub fn new(store: Store, engine: Engine, query_timeout: Duration) -> AppState {
        let spool = kleber_export::SpoolBudget::new(
            spool_path(&store),
            DEFAULT_MAX_SPOOLED_EXPORTS,
            DEFAULT_MAX_SPOOL_MB << 20,
        );
        AppState {
            spool,
            store: Arc::new(store),
            engine: Arc::new(engine),
            query_timeout,
            catalog: Arc::new(CatalogCache::default()),
            results: Arc::new(ResultCache::new(DEFAULT_RESULT_CACHE_MB << 20)),
            web: Arc::new(crate::web::WebConfig::default()),
        }
    }

    /// The same state with a response cache of `mb` MiB (0 turns it off).
    #[must_use]
    pub fn with_result_cache_mb(mut self, mb: u64) -> AppState {
        self.results = Arc::new(ResultCache::new(mb << 20));
        self
    }

    /// The same state with at most `max_exports` exports spooled at once, holding at most
    /// `max_mb` MiB of disk together.
    #[must_use]
    pub fn with_spool_limits(mut self, max_exports: usize, max_mb: u64) -> AppState {
        self.spool =
            kleber_export::SpoolBudget::new(spool_path(&self.store), max_exports, max_mb << 20);
        self
    }

    /// The same state with the map tiles of `url` (a Leaflet URL template) and `attribution`.
    #[must_use]
    pub fn with_tile_url(mut self, url: String, attribution: String) -> AppState {
        self.web = Arc::new(crate::web::WebConfig {
            tile_url: url,
            tile_attribution: attribution,
            ..Default::default()
        });
        self
    }

    /// The current catalog snapshot.
    ///
    /// Checking that the snapshot is current is one read of the catalog's generation (a WAL
    /// database in the page cache: microseconds), done in place; rebuilding it after a change
    /// reads the whole catalog and runs on the blocking pool.
    pub async fn catalog(&self) -> Result<Arc<CatalogSnapshot>, ApiError> {
        if let Some(current) =
            self.catalog.current_if_fresh(&self.store).map_err(ApiError::internal)?
        {
            return Ok(current);
        }
        let store = Arc::clone(&self.store);
        let cache = Arc::clone(&self.catalog);
        tokio::task::spawn_blocking(move || cache.snapshot(&store))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)
    }

    /// The published dataset `id`, or a 404 error, from the current catalog snapshot.
    pub async fn dataset(&self, id: &str) -> Result<DatasetRecord, ApiError> {
        let snapshot = self.catalog().await?;
        snapshot.record(id).cloned().ok_or_else(|| ApiError::dataset_not_found(id))
    }
}

/// Where exports are spooled: `<data dir>/tmp/exports`.
fn spool_path(store: &Store) -> std::path::PathBuf {
    store.root().join("tmp").join("exports")
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
