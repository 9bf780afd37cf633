//! A generated catalog of 10,000 datasets: correctness at the portal's
//! largest size (timing is measured by `examples/bench_search.rs`).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use kleber_search::{CatalogDoc, CatalogIndex};

use crate::{ids, synthetic};

const SIZE: usize = 10_000;

fn docs() -> &'static [CatalogDoc] {
    static DOCS: OnceLock<Vec<CatalogDoc>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let mut docs = synthetic::generate(SIZE - 1);
        docs.push(CatalogDoc {
            dataset_id: "needle".to_owned(),
            title: "Observatoire des chauves-souris".to_owned(),
            description: Some("Gîtes et colonies de chiroptères suivis chaque été.".to_owned()),
            ..CatalogDoc::default()
        });
        docs
    })
}

fn index() -> &'static CatalogIndex {
    static INDEX: OnceLock<CatalogIndex> = OnceLock::new();
    INDEX.get_or_init(|| CatalogIndex::build(docs()).expect("build"))
}

/// The ids of every hit of `query`.
fn all_hits(query: &str) -> BTreeSet<String> {
    let hits = index().search(query, SIZE).expect("search");
    let found: BTreeSet<String> = ids(&hits).into_iter().map(str::to_owned).collect();
    assert_eq!(found.len(), hits.len(), "duplicate hits for {query:?}");
    found
}

/// The ids of the generated datasets whose title satisfies `keep`.
fn expected(keep: impl Fn(&str) -> bool) -> BTreeSet<String> {
    docs().iter().filter(|d| keep(&d.title)).map(|d| d.dataset_id.clone()).collect()
}

#[test]
fn holds_every_dataset() {
    assert_eq!(index().len(), SIZE);
}

#[test]
fn one_word_finds_exactly_its_datasets() {
    let velo = expected(|t| t.starts_with("Comptages vélos"));
    assert_eq!(velo.len(), (SIZE - 1).div_ceil(16));
    assert_eq!(all_hits("velo"), velo);
    assert_eq!(all_hits("VÉLOS"), velo);
    let pools = expected(|t| t.starts_with("Piscines"));
    assert_eq!(all_hits("piscine"), pools);
}

#[test]
fn several_words_find_their_intersection() {
    let found = all_hits("piscines schiltigheim 2019");
    let want = expected(|t| t.starts_with("Piscines") && t.ends_with("Schiltigheim 2019"));
    assert!(!want.is_empty());
    assert_eq!(found, want);
    // Function words are optional.
    assert_eq!(all_hits("les piscines de schiltigheim en 2019"), want);
}

#[test]
fn prefix_finds_every_completion() {
    let want = expected(|t| t.starts_with("Médiathèques"));
    assert_eq!(all_hits("mediath*"), want);
    let illkirch = expected(|t| t.contains("Illkirch"));
    assert_eq!(all_hits("ILLK*"), illkirch);
}

#[test]
fn typo_still_finds_the_subject_first() {
    let want = expected(|t| t.starts_with("Stationnement payant"));
    let hits = index().search("stationement", want.len()).expect("search");
    let found: BTreeSet<String> = ids(&hits).into_iter().map(str::to_owned).collect();
    assert_eq!(found, want);
}

#[test]
fn a_rare_dataset_comes_first() {
    let hits = index().search("chauves souris", 10).expect("search");
    assert_eq!(ids(&hits), ["needle"]);
    let hits = index().search("chiropteres", 10).expect("search");
    assert_eq!(ids(&hits), ["needle"]);
}

#[test]
fn limit_caps_a_broad_query() {
    // Every dataset but the needle has a Strasbourg or other city publisher.
    let hits = index().search("donnees", 10).expect("search");
    assert_eq!(hits.len(), 10);
    assert_eq!(all_hits("donnees").len(), SIZE - 1);
}
