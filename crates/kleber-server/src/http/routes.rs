//! Routes described once: each front end lists its routes as [`RouteDef`]s — path, what the
//! route reads ([`Reads`]), handler — and [`Routes`] builds both the axum router and the
//! [`RouteTable`] from that one list. The resolution layer ([`super::resolve`]) finds a
//! request's route in the table by axum's matched path, resolves what it reads once, and
//! from that one resolution come the `ETag` ([`super::etag`]), the response-cache key and
//! the handler's answer.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use axum::Router;
use axum::routing::MethodRouter;

use crate::state::AppState;

/// Where the dataset identifier of a [`Reads::Dataset`] route comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdFrom {
    /// The path parameter `{id}`.
    Path,
    /// This query-string parameter (the v1 API's `dataset=`).
    Query(&'static str),
}

/// What a route's answer depends on, besides its path and query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// One dataset's current version and metadata.
    Dataset(IdFrom),
    /// The whole catalog (its generation).
    Catalog,
    /// Nothing stored: the answer only changes with the server's code.
    Fixed,
    /// What only the handler decides, from the caller's rights (the audit log): never
    /// resolved here, so never tagged, answered `304` or cached.
    Private,
}

/// The dataset route whose `{id}` is in the path.
pub const DATASET: Reads = Reads::Dataset(IdFrom::Path);

/// One route: its path (relative to where its front end is mounted), what it reads, and its
/// handler.
pub struct RouteDef {
    /// The path pattern (`{id}` names the dataset).
    pub path: &'static str,
    /// What its answer reads.
    pub reads: Reads,
    /// The handler.
    pub handler: MethodRouter<AppState>,
}

/// A [`RouteDef`].
pub fn def(path: &'static str, reads: Reads, handler: MethodRouter<AppState>) -> RouteDef {
    RouteDef { path, reads, handler }
}

/// A route of the table: its full pattern (interned: the cache-key name of the route) and
/// what it reads.
#[derive(Debug, Clone, Copy)]
pub struct RouteInfo {
    /// The full path pattern, e.g. `/api/explore/v2.1/catalog/datasets/{id}/records`.
    pub pattern: &'static str,
    /// What it reads.
    pub reads: Reads,
}

/// Every route that reads stored data, by full path pattern (axum's matched path), and the
/// patterns of the routes that are not validated by `ETag` (the portal's pages).
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: HashMap<String, RouteInfo>,
    pages: Vec<&'static str>,
}

impl RouteTable {
    /// The route whose pattern is `matched` (axum's `MatchedPath`).
    pub fn get(&self, matched: &str) -> Option<RouteInfo> {
        self.routes.get(matched).copied()
    }

    /// Every route, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = RouteInfo> + '_ {
        self.routes.values().copied()
    }

    /// The pattern of every route of the router, tabled or not (the leak matrix of the test
    /// suite requires an entry for each).
    pub fn patterns(&self) -> Vec<&'static str> {
        let mut all: Vec<&'static str> =
            self.routes.values().map(|r| r.pattern).chain(self.pages.iter().copied()).collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// A pattern as a `&'static str`, leaked once per distinct pattern: patterns come from the
/// code's route lists, so the set is small and fixed, whatever the number of servers built.
fn intern(pattern: String) -> &'static str {
    static INTERNED: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut set = INTERNED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(found) = set.get(pattern.as_str()) {
        return found;
    }
    let leaked: &'static str = Box::leak(pattern.into_boxed_str());
    set.insert(leaked);
    leaked
}

/// The router and the table, built together.
#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
    table: RouteTable,
}

impl Routes {
    /// No route yet.
    pub fn new() -> Routes {
        Routes::default()
    }

    /// Adds `defs` under `prefix` (`""` for the root), their router wrapped by `wrap` (a
    /// front end's own layers).
    #[must_use]
    pub fn mount(
        mut self,
        prefix: &str,
        defs: Vec<RouteDef>,
        wrap: impl FnOnce(Router<AppState>) -> Router<AppState>,
    ) -> Routes {
        let mut router = Router::new();
        for def in defs {
            let full = match (prefix, def.path) {
                ("", path) => path.to_owned(),
                (prefix, "/") => prefix.to_owned(),
                (prefix, path) => format!("{prefix}{path}"),
            };
            router = router.route(&full, def.handler);
            let pattern = intern(full.clone());
            self.table.routes.insert(full, RouteInfo { pattern, reads: def.reads });
        }
        self.router = self.router.merge(wrap(router));
        self
    }

    /// Adds routes that read nothing through the table (the portal's pages, which resolve
    /// what they show themselves and are never validated by `ETag`): their patterns are
    /// listed ([`RouteTable::patterns`]) but never resolved by the conditional-request layer.
    #[must_use]
    pub fn merge_untabled(mut self, routes: Vec<(String, MethodRouter<AppState>)>) -> Routes {
        for (path, handler) in routes {
            self.router = self.router.route(&path, handler);
            self.table.pages.push(intern(path));
        }
        self
    }

    /// The router and the table.
    pub fn into_parts(self) -> (Router<AppState>, RouteTable) {
        (self.router, self.table)
    }
}

/// No extra layer.
pub fn plain(router: Router<AppState>) -> Router<AppState> {
    router
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_says_what_every_api_route_reads() {
        let (_, table) = crate::routes().into_parts();
        let routes: Vec<RouteInfo> = table.iter().collect();
        assert!(routes.len() > 40, "{} routes", routes.len());
        for route in &routes {
            let p = route.pattern;
            match route.reads {
                Reads::Dataset(IdFrom::Path) => assert!(p.contains("/{id}"), "{p}"),
                Reads::Dataset(IdFrom::Query(name)) => {
                    assert_eq!(name, "dataset");
                    assert!(p.starts_with("/api/records/1.0/"), "{p}");
                }
                Reads::Catalog => assert!(!p.contains("{id}"), "{p}"),
                Reads::Private => {
                    // A change stream is never tagged or cached either: it never ends.
                    assert!(
                        p.starts_with("/api/management/")
                            || p.starts_with("/api/push/")
                            || p.ends_with("/changes/stream"),
                        "{p}"
                    );
                }
                Reads::Fixed => {
                    assert!(
                        ["/api/explore/v2.1", "/api/explore/v2.0", "/api/v2", "/api/openapi.json"]
                            .contains(&p),
                        "{p}"
                    );
                }
            }
            // The pattern is interned: the same text is the same cache-key name.
            assert!(std::ptr::eq(p, table.get(p).map(|r| r.pattern).unwrap_or_default()));
        }
        let reads = |p: &str| table.get(p).map(|r| r.reads);
        assert_eq!(reads("/api/explore/v2.1/catalog/datasets/{id}/records"), Some(DATASET));
        assert_eq!(reads("/api/v2/catalog/facets"), Some(Reads::Catalog));
        assert_eq!(reads("/api/datasets/1.0/search"), Some(Reads::Catalog));
        assert_eq!(reads("/explore/dataset/{id}/download"), Some(DATASET));
        assert_eq!(reads("/explore/dataset/{id}/{tab}"), None, "portal pages are not tabled");
        assert_eq!(reads("/api/management/v1/audit"), Some(Reads::Private));
    }
}
