//! Integration tests of the catalog index: a small, realistic city portal
//! catalog (`catalog`) and a generated one of 10,000 datasets (`large`).

mod catalog;
mod large;
mod synthetic;

use kleber_search::{CatalogIndex, Hit};

/// The dataset ids of the hits, in order.
fn ids(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.dataset_id.as_str()).collect()
}

/// Searches with a generous limit and returns the ids, best first.
fn search(index: &CatalogIndex, query: &str) -> Vec<String> {
    let hits = index.search(query, 100).expect("search");
    assert_sorted(&hits);
    ids(&hits).into_iter().map(str::to_owned).collect()
}

/// Hits come best first.
fn assert_sorted(hits: &[Hit]) {
    for pair in hits.windows(2) {
        assert!(pair[0].score >= pair[1].score, "hits out of order: {pair:?}");
    }
}

/// Position of `id` in `found`, failing with the query and results if absent.
fn position(found: &[String], id: &str, query: &str) -> usize {
    found
        .iter()
        .position(|f| f == id)
        .unwrap_or_else(|| panic!("{query:?} should find {id}, found {found:?}"))
}
