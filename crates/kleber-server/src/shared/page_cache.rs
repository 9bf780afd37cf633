//! A bounded map of results the portal's pages reuse (facets, chart groups, catalog searches),
//! keyed by dataset version or catalog generation (see `web/cache.rs` for the keys).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A bounded map from keys to shared values.
#[derive(Debug)]
pub struct BoundedCache<V> {
    entries: Mutex<HashMap<String, Arc<V>>>,
    capacity: usize,
}

impl<V> BoundedCache<V> {
    /// A cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        BoundedCache { entries: Mutex::new(HashMap::new()), capacity }
    }

    /// The value of `key`, if cached.
    pub fn get(&self, key: &str) -> Option<Arc<V>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(key).cloned()
    }

    /// Caches `value` under `key` and returns it shared.
    pub fn put(&self, key: String, value: V) -> Arc<V> {
        let value = Arc::new(value);
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key, Arc::clone(&value));
        value
    }
}
