//! The portal's settings and counters, held in the server state (the portal's pages read
//! them; nothing else does).

use std::collections::HashMap;
use std::sync::Mutex;

use super::page_cache::BoundedCache;

/// OpenStreetMap's tile server, the default map background.
pub const DEFAULT_TILE_URL: &str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
/// Attribution of the default tiles.
pub const DEFAULT_TILE_ATTRIBUTION: &str = "© OpenStreetMap contributors";

/// The portal's settings and counters.
#[derive(Debug)]
pub struct PortalConfig {
    /// Tile URL template for Leaflet (`{z}/{x}/{y}`, optional `{s}`).
    pub tile_url: String,
    /// Attribution shown on the map.
    pub tile_attribution: String,
    /// Dataset page views since the server started, for "most viewed" on the home page.
    pub views: Mutex<HashMap<String, u64>>,
    /// Facets by dataset version and filters.
    pub facets: BoundedCache<Vec<kleber_query::facets::FacetGroup>>,
    /// Catalog searches (matching ids, facets) by catalog generation and query.
    pub catalog: BoundedCache<(Vec<String>, Vec<kleber_query::facets::FacetGroup>)>,
    /// Chart groups (x, y) by dataset version, filters and chart.
    pub charts: BoundedCache<Vec<(serde_json::Value, serde_json::Value)>>,
}

impl Default for PortalConfig {
    fn default() -> Self {
        PortalConfig {
            tile_url: DEFAULT_TILE_URL.to_owned(),
            tile_attribution: DEFAULT_TILE_ATTRIBUTION.to_owned(),
            views: Mutex::new(HashMap::new()),
            facets: BoundedCache::new(512),
            charts: BoundedCache::new(512),
            catalog: BoundedCache::new(256),
        }
    }
}

impl PortalConfig {
    /// Counts one view of dataset `id`.
    pub fn count_view(&self, id: &str) {
        let mut views = self.views.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Bounded: a portal has thousands of datasets, not millions; ids come from the catalog.
        if views.len() < 100_000 || views.contains_key(id) {
            *views.entry(id.to_owned()).or_default() += 1;
        }
    }

    /// Views of dataset `id`.
    pub fn views_of(&self, id: &str) -> u64 {
        self.views
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .copied()
            .unwrap_or(0)
    }

    /// The origin of the tile server for the Content-Security-Policy (`https://*.tile.x.org`).
    pub fn tile_origin(&self) -> Option<String> {
        let rest = self.tile_url.split_once("://")?;
        let host = rest.1.split('/').next()?.replace("{s}", "*");
        let valid = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*'));
        valid.then(|| format!("{}://{host}", rest.0))
    }
}
