//! Finished API responses, kept by dataset version.
//!
//! A dataset version is immutable and the catalog changes only with its generation, so a
//! response computed for `(route, dataset uid, version, query string)` — or `(route, catalog
//! generation, query string)` — stays right until a new version or generation replaces it: the
//! key then changes, and the stale entry ages out. Nothing is ever invalidated by hand.
//!
//! Queries whose answer depends on the clock or on chance (`now()`, `random()`) are never kept.
//! Concurrent requests for the same missing key run the query once; the others wait for it.
//! Only bodies up to [`MAX_ENTRY_BYTES`] are kept, so one big answer cannot evict everything.

use std::future::Future;

use bytes::Bytes;
use quick_cache::Weighter;
use quick_cache::sync::Cache;

/// Largest body kept.
pub const MAX_ENTRY_BYTES: usize = 1 << 20;

/// What a cached body answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// The route, e.g. `records` or `catalog`.
    route: &'static str,
    /// The dataset uid, or empty for catalog routes.
    dataset: String,
    /// The dataset version, or the catalog generation.
    version: i64,
    /// The raw query string.
    query: String,
}

impl CacheKey {
    /// A key for a route over one dataset version.
    pub fn dataset(route: &'static str, uid: &str, version: i64, query: Option<&str>) -> CacheKey {
        CacheKey {
            route,
            dataset: uid.to_owned(),
            version,
            query: query.unwrap_or_default().to_owned(),
        }
    }

    /// A key for a route over the whole catalog at one generation.
    pub fn catalog(route: &'static str, generation: i64, query: Option<&str>) -> CacheKey {
        CacheKey::catalog_for(route, generation, "", query)
    }

    /// A key for a route over the part of the catalog an audience sees (`audience` empty:
    /// the whole catalog) at one generation.
    pub fn catalog_for(
        route: &'static str,
        generation: i64,
        audience: &str,
        query: Option<&str>,
    ) -> CacheKey {
        CacheKey {
            route,
            dataset: format!("catalog:{audience}"),
            version: generation,
            query: query.unwrap_or_default().to_owned(),
        }
    }
}

#[derive(Clone)]
struct BodyWeight;

impl Weighter<CacheKey, Bytes> for BodyWeight {
    fn weight(&self, key: &CacheKey, body: &Bytes) -> u64 {
        (body.len() + key.query.len() + key.dataset.len() + 64) as u64
    }
}

/// The response cache; capacity zero turns it off.
pub struct ResultCache {
    cache: Option<Cache<CacheKey, Bytes, BodyWeight>>,
}

impl ResultCache {
    /// A cache holding at most `capacity_bytes` of bodies (0: no cache).
    pub fn new(capacity_bytes: u64) -> ResultCache {
        let cache = (capacity_bytes > 0).then(|| {
            // quick_cache sizes its tables from an item estimate: assume 4 KiB bodies.
            let items = usize::try_from(capacity_bytes / 4096).unwrap_or(usize::MAX).max(16);
            Cache::with_weighter(items, capacity_bytes, BodyWeight)
        });
        ResultCache { cache }
    }

    /// The body for `key`, computed by `compute` when it is not kept (and then kept if the
    /// query is deterministic and the body small). Errors are never kept.
    pub async fn get_or_compute<F, E>(&self, key: CacheKey, compute: F) -> Result<Bytes, E>
    where
        F: Future<Output = Result<Bytes, E>>,
    {
        let Some(cache) = &self.cache else {
            return compute.await;
        };
        if crate::volatile::is_volatile(Some(&key.query)) {
            return compute.await;
        }
        match cache.get_value_or_guard_async(&key).await {
            Ok(body) => Ok(body),
            Err(guard) => {
                let body = compute.await?;
                if body.len() <= MAX_ENTRY_BYTES {
                    // Err only if the placeholder was removed meanwhile: nothing to do.
                    let _ = guard.insert(body.clone());
                }
                Ok(body)
            }
        }
    }

    /// Bodies kept, and their total weight (for tests and logs).
    pub fn usage(&self) -> (usize, u64) {
        self.cache.as_ref().map_or((0, 0), |c| (c.len(), c.weight()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn second_request_is_served_from_the_cache_and_errors_are_not_kept() {
        let cache = ResultCache::new(1 << 20);
        let key = CacheKey::dataset("records", "uid", 1, Some("limit=1"));
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let run = || async {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, crate::Error>(Bytes::from_static(b"{}"))
        };
        cache.get_or_compute(key.clone(), run()).await.unwrap();
        cache.get_or_compute(key.clone(), run()).await.unwrap();
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Another version is another answer.
        let next = CacheKey::dataset("records", "uid", 2, Some("limit=1"));
        cache.get_or_compute(next, run()).await.unwrap();
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);

        let failing = CacheKey::dataset("records", "uid", 1, Some("limit=2"));
        let fail = || async { Err::<Bytes, _>(crate::Error::BadParameter("bad".to_owned())) };
        assert!(cache.get_or_compute(failing.clone(), fail()).await.is_err());
        assert_eq!(cache.get_or_compute(failing, run()).await.unwrap(), "{}");
        assert_eq!(cache.usage().0, 3);
    }

    #[tokio::test]
    async fn a_zero_capacity_cache_keeps_nothing() {
        let cache = ResultCache::new(0);
        let key = CacheKey::catalog("catalog", 1, None);
        cache
            .get_or_compute(key.clone(), async { Ok::<_, crate::Error>(Bytes::new()) })
            .await
            .unwrap();
        assert_eq!(cache.usage(), (0, 0));
    }
}
