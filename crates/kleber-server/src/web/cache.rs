//! Results the pages reuse: facets and chart groups of a dataset version under given filters.
//!
//! A version never changes, so an entry keyed by (dataset uid, version, query) is valid
//! forever; paging or sorting the table then reuses the facets instead of recomputing them
//! over every record. The cache is bounded: when full, it is emptied (a simple bound for a
//! portal's working set; the next requests refill it).

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

/// The key of a query over one version of a dataset.
pub fn key(uid: &str, version: i64, parts: &[&str]) -> String {
    let mut key = format!("{uid}\u{1f}{version}");
    for p in parts {
        key.push('\u{1f}');
        key.push_str(p);
    }
    key
}
