//! What every handler shares: the application layer, the portal's settings and the route
//! table.

use std::sync::Arc;
use std::time::Duration;

use kleber_app::{App, Limits};
use kleber_query::Engine;
use kleber_store::Store;

use crate::http::routes::RouteTable;
use crate::shared::portal::PortalConfig;

pub use kleber_app::DEFAULT_RESULT_CACHE_MB;

/// Shared state of the server.
#[derive(Clone)]
pub struct AppState {
    /// The application layer: every front end reaches data through it, and only through it.
    pub app: Arc<App>,
    /// The portal's settings (tile server), page-view counts and page caches.
    pub web: Arc<PortalConfig>,
    /// What each route reads (filled in by [`crate::app`]).
    pub routes: Arc<RouteTable>,
}

impl AppState {
    /// A state over `store` with `engine`, queries bounded by `query_timeout`.
    pub fn new(store: Store, engine: Engine, query_timeout: Duration) -> AppState {
        AppState {
            app: Arc::new(App::new(store, engine, Limits { query_timeout })),
            web: Arc::new(PortalConfig::default()),
            routes: Arc::new(RouteTable::default()),
        }
    }

    /// The same state with a response cache of `mb` MiB (0 turns it off). Call it before
    /// the state is shared (cloned).
    #[must_use]
    pub fn with_result_cache_mb(mut self, mb: u64) -> AppState {
        match Arc::get_mut(&mut self.app) {
            Some(app) => app.set_result_cache_mb(mb),
            None => tracing::warn!("the response cache size is set after the state was shared"),
        }
        self
    }

    /// The same state with the map tiles of `url` (a Leaflet URL template) and `attribution`.
    #[must_use]
    pub fn with_tile_url(mut self, url: String, attribution: String) -> AppState {
        self.web = Arc::new(PortalConfig {
            tile_url: url,
            tile_attribution: attribution,
            ..Default::default()
        });
        self
    }
}
