//! Results the pages reuse: facets and chart groups of a dataset version under given filters.
//!
//! A version never changes, so an entry keyed by (dataset uid, version, query) is valid
//! forever; paging or sorting the table then reuses the facets instead of recomputing them
//! over every record. The cache is bounded: when full, it is emptied (a simple bound for a
//! portal's working set; the next requests refill it).

pub use crate::shared::page_cache::BoundedCache;

/// The key of a query over one version of a dataset.
///
/// Every part is prefixed with its length, so that no value, whatever characters it holds
/// (a refine value may hold any text, separators included), can make two different queries
/// share a key.
pub fn key(uid: &str, version: i64, parts: &[&str]) -> String {
    let mut key = format!("{}:{uid}{version}", uid.len());
    for p in parts {
        key.push_str(&format!("\u{1f}{}:{p}", p.len()));
    }
    key
}

/// One key part for a list of values (every `where`, every `refine`), each length-prefixed.
pub fn list(items: &[String]) -> String {
    items.iter().map(|i| format!("{}:{i}", i.len())).collect::<Vec<_>>().join("\u{1e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_inside_values_cannot_collide() {
        let one = list(&["nom:a\u{1e}nom:b".to_owned()]);
        let two = list(&["nom:a".to_owned(), "nom:b".to_owned()]);
        assert_ne!(key("u", 1, &[&one]), key("u", 1, &[&two]));
        assert_ne!(key("u", 1, &["a\u{1f}b"]), key("u", 1, &["a", "b"]));
        assert_eq!(key("u", 1, &[&two]), key("u", 1, &[&two]));
    }
}
