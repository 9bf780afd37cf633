//! Results the pages reuse: facets and chart groups of a dataset version under given filters.
//!
//! A version never changes, so an entry keyed by (dataset uid, version, query) is valid
//! forever; paging or sorting the table then reuses the facets instead of recomputing them
//! over every record. The cache is bounded: when full, it is emptied (a simple bound for a
//! portal's working set; the next requests refill it).

pub use crate::shared::page_cache::BoundedCache;

/// The key of a query over one version of a dataset.
pub fn key(uid: &str, version: i64, parts: &[&str]) -> String {
    let mut key = format!("{uid}\u{1f}{version}");
    for p in parts {
        key.push('\u{1f}');
        key.push_str(p);
    }
    key
}
