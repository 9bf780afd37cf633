//! The per-version full-text index answers exactly as the scanning UDF: the same records for
//! bare strings (accents, stems, prefixes, elisions, multivalued fields, nulls, very long
//! words), and at least the UDF's records as candidates for `LIKE`, `search()` (typos,
//! prefixes) and `suggest()`, which are then checked again on the selected rows. Checked on
//! generated text and on real open-data records.
//!
//! The scan's answer is the same condition written `NOT (NOT ...)`, which the index never
//! narrows; the index's is the condition as written, once the index is built.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, ListBuilder, StringArray, StringBuilder};
use kleber_query::RecordsQuery;
use kleber_types::{Field, FieldType};

use crate::common::TestDataset;

/// Words of the generated records: accents, plurals, elisions, hyphens, symbols, English.
const VOCABULARY: &[&str] = &[
    "Gare",
    "gares",
    "Vélo",
    "vélos",
    "vélo-station",
    "église",
    "l'Église",
    "Hœnheim",
    "hoenheim",
    "Parking",
    "parkings",
    "Straße",
    "strasse",
    "Musée",
    "musées",
    "théâtre",
    "Théâtres",
    "cœur",
    "coeurs",
    "rue",
    "Rues",
    "quai",
    "Quais",
    "avenue",
    "Avenues",
    "Sainte-Aurélie",
    "tram",
    "trams",
    "bibliothèque",
    "bibliothèques",
    "nationale",
    "nationales",
    "running",
    "runs",
    "ran",
    "l'arbre",
    "arbres",
    "d'eau",
    "eaux",
    "n°3",
    "10€",
    "aujourd'hui",
    "Kléber",
    "BATELIERS",
    "forêt",
    "noire",
    "piscine",
    "piscines",
    "jardin",
    "jardins",
    "2024",
    "A35",
];

/// A word longer than the index keeps whole (200 bytes).
fn long_word() -> String {
    format!("anticonstitutionnellement{}", "x".repeat(260))
}

/// A small deterministic generator (no dependency, the same records every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 =
            self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }

    fn text(&mut self, max_words: usize) -> String {
        let n = 1 + self.next(max_words);
        let mut words: Vec<String> =
            (0..n).map(|_| VOCABULARY[self.next(VOCABULARY.len())].to_owned()).collect();
        if self.next(97) == 0 {
            words.push(long_word());
        }
        words.join(" ")
    }
}

/// 3,000 generated records: `id` (the row number), two text fields with nulls and empty
/// strings, a multivalued text field with null lists and null items, and a number.
fn generated() -> TestDataset {
    let mut categories = Field::new("categories", "Catégories", FieldType::Text);
    categories.annotations.insert("multivalued".into(), vec![",".into()]);
    let fields = vec![
        Field::new("id", "Id", FieldType::Int),
        Field::new("nom", "Nom", FieldType::Text),
        Field::new("description", "Description", FieldType::Text),
        categories,
        Field::new("places", "Places", FieldType::Int),
    ];
    let rows = 3000;
    let mut rng = Lcg(17);
    let (mut nom, mut description) = (Vec::new(), Vec::new());
    let mut cats = ListBuilder::new(StringBuilder::new());
    let mut places = Vec::new();
    for _ in 0..rows {
        nom.push(match rng.next(10) {
            0 => None,
            1 => Some(String::new()),
            _ => Some(rng.text(3)),
        });
        description.push((rng.next(5) != 0).then(|| rng.text(8)));
        match rng.next(6) {
            0 => cats.append_null(),
            1 => cats.append_value([None::<String>, Some(rng.text(1))]),
            _ => {
                let items: Vec<Option<String>> =
                    (0..1 + rng.next(3)).map(|_| Some(rng.text(2))).collect();
                cats.append_value(items);
            }
        }
        places.push(i64::try_from(rng.next(1000)).expect("small"));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(0..rows)),
        Arc::new(StringArray::from(nom)),
        Arc::new(StringArray::from(description)),
        Arc::new(cats.finish()),
        Arc::new(Int64Array::from(places)),
    ];
    TestDataset::new(fields, columns)
}

/// The features of real open-data files (Strasbourg's traffic sections, parks and gardens,
/// Paris's arrondissements) as records: every text property, and `id`, the row number.
fn real_records() -> TestDataset {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/real");
    let mut features = Vec::new();
    for name in [
        "strasbourg_trafic-temps-reel_lines.geojson",
        "strasbourg_parcs-jardins_points.geojson",
        "paris_arrondissements_polygons.geojson",
    ] {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("missing real data file {}: {e}", path.display()));
        let collection: serde_json::Value = serde_json::from_str(&text).expect("GeoJSON");
        features.extend(collection["features"].as_array().expect("features").iter().cloned());
    }
    let mut names = BTreeSet::new();
    for feature in &features {
        for (key, value) in feature["properties"].as_object().into_iter().flatten() {
            if value.is_string() && key != "id" {
                names.insert(key.clone());
            }
        }
    }
    let mut fields = vec![Field::new("id", "Id", FieldType::Int)];
    let rows = i64::try_from(features.len()).expect("few features");
    let mut columns: Vec<ArrayRef> = vec![Arc::new(Int64Array::from_iter_values(0..rows))];
    for name in &names {
        fields.push(Field::new(name, name, FieldType::Text));
        let values: Vec<Option<&str>> =
            features.iter().map(|f| f["properties"][name.as_str()].as_str()).collect();
        columns.push(Arc::new(StringArray::from(values)));
    }
    TestDataset::new(fields, columns)
}

/// The ids of the records matching `where_`, sorted.
async fn ids(ds: &TestDataset, where_: &str) -> BTreeSet<i64> {
    let query = RecordsQuery {
        select: Some("id".to_owned()),
        r#where: vec![where_.to_owned()],
        limit: Some(100_000),
        ..Default::default()
    };
    let (total, records) = ds.run(query).await.unwrap_or_else(|e| panic!("{where_}: {e}"));
    let ids: BTreeSet<i64> = records.iter().map(|r| r["id"].as_i64().expect("id")).collect();
    assert_eq!(total as usize, ids.len(), "{where_}: total_count and records agree");
    ids
}

/// How a condition is answered by the index.
#[derive(Clone, Copy, PartialEq)]
enum Expect {
    /// The index's rows are exactly the scan's (a bare string over every text field).
    Exact,
    /// The index's rows hold the scan's (checked again on them).
    Candidates,
    /// The index does not narrow it.
    NotNarrowed,
}

/// Compares, for each condition, the records found by the scan and through the index, and
/// the index's own rows with the scan's.
async fn assert_same_answers(ds: &TestDataset, cases: &[(&str, Expect)]) {
    let mut scanned = Vec::new();
    for (condition, _) in cases {
        scanned.push(ids(ds, &format!("NOT (NOT ({condition}))")).await);
    }
    assert!(!ds.engine.has_text_index(&ds.dataset), "no index before it is built");
    ds.engine.build_text_index(&ds.dataset).await.expect("index built");
    assert!(ds.engine.has_text_index(&ds.dataset), "the index is there once built");
    let mut nonempty = 0;
    for ((condition, expect), scan) in cases.iter().zip(&scanned) {
        let indexed = ids(ds, condition).await;
        assert_eq!(&indexed, scan, "{condition}: index and scan find the same records");
        nonempty += usize::from(!scan.is_empty());
        let rows = ds
            .engine
            .text_index_rows(&ds.dataset, &[(*condition).to_owned()])
            .expect("the index answers");
        let rows: Option<BTreeSet<i64>> = rows.map(|r| r.into_iter().map(i64::from).collect());
        match (expect, rows) {
            (Expect::Exact, Some(rows)) => {
                assert_eq!(&rows, scan, "{condition}: the index's rows are the scan's");
            }
            (Expect::Candidates, Some(rows)) => {
                assert!(rows.is_superset(scan), "{condition}: the index's rows hold the scan's");
            }
            (Expect::NotNarrowed, None) => {}
            (_, rows) => panic!("{condition}: unexpected narrowing {rows:?}"),
        }
    }
    assert!(nonempty * 2 > cases.len(), "most conditions match some records");
}

#[tokio::test]
async fn index_and_scan_agree_on_generated_text() {
    let ds = generated();
    let long = long_word();
    let long_prefix = format!("{}*", &long[..40]);
    let too_long_prefix = format!("{}*", &long[..230]);
    let mut cases: Vec<(String, Expect)> = Vec::new();
    for word in VOCABULARY {
        cases.push((format!("\"{}\"", word.replace('"', "")), Expect::Exact));
    }
    for (condition, expect) in [
        ("\"gare velo\"", Expect::Exact),
        ("\"GARE vélos-stations\"", Expect::Exact),
        ("\"eglise\"", Expect::Exact),
        ("\"l'eglise d'arbre\"", Expect::Exact),
        ("\"hoen*\"", Expect::Exact),
        ("\"gar*\"", Expect::Exact),
        ("\"b*\"", Expect::Exact),
        ("\"théât* nation*\"", Expect::Exact),
        ("\"Strasse\"", Expect::Exact),
        ("\"run\"", Expect::Exact),
        ("\"inexistant\"", Expect::Exact),
        ("\"gare\" AND places > 500", Expect::Candidates),
        ("\"gare\" AND \"tram\"", Expect::Exact),
        ("places < 100 AND \"quai*\" AND \"rue\"", Expect::Candidates),
        ("\"gare\" OR \"tram\"", Expect::NotNarrowed),
        ("NOT \"gare\"", Expect::NotNarrowed),
        ("places > 10", Expect::NotNarrowed),
        ("nom LIKE \"gare\"", Expect::Candidates),
        ("categories LIKE \"vélo\"", Expect::Candidates),
        ("search(\"gar\")", Expect::Candidates),
        ("search(\"bibliotheqe\")", Expect::Candidates),
        ("search(\"theatre nationle\")", Expect::Candidates),
        ("search(nom, \"velo\")", Expect::Candidates),
        ("suggest(\"arc\")", Expect::Candidates),
        ("suggest(\"oeu\")", Expect::Candidates),
        ("startswith(nom, \"gare\")", Expect::NotNarrowed),
    ] {
        cases.push((condition.to_owned(), expect));
    }
    cases.push((format!("\"{long}\""), Expect::NotNarrowed));
    cases.push((format!("\"{long_prefix}\""), Expect::Exact));
    cases.push((format!("\"{too_long_prefix}\""), Expect::NotNarrowed));
    cases.push((format!("search(\"{}\")", &long[..60]), Expect::Candidates));
    let cases: Vec<(&str, Expect)> = cases.iter().map(|(c, e)| (c.as_str(), *e)).collect();
    assert_same_answers(&ds, &cases).await;
}

#[tokio::test]
async fn index_and_scan_agree_on_real_records() {
    let ds = real_records();
    assert_same_answers(
        &ds,
        &[
            ("\"rue\"", Expect::Exact),
            ("\"rhin\"", Expect::Exact),
            ("\"cyclistes\"", Expect::Exact),
            ("\"cyc*\"", Expect::Exact),
            ("\"vers ville\"", Expect::Exact),
            ("\"route\"", Expect::Exact),
            ("\"élysée\"", Expect::Exact),
            ("\"Hôtel de Ville\"", Expect::Exact),
            ("\"parcs\"", Expect::Exact),
            ("\"jardin strasbourg\"", Expect::Exact),
            ("\"eurometropole\"", Expect::Exact),
            ("\"pantheon\"", Expect::Exact),
            ("search(\"cycliste\")", Expect::Candidates),
            ("search(\"rhn\")", Expect::Candidates),
            ("search(\"batignoles\")", Expect::Candidates),
            ("suggest(\"ville\")", Expect::Candidates),
            ("name LIKE \"rue\"", Expect::Candidates),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_version_without_index_is_answered_by_the_scan_and_indexed_in_the_background() {
    let ds = generated();
    let scan = ids(&ds, "NOT (NOT \"gare\")").await;
    assert!(!ds.engine.has_text_index(&ds.dataset));
    // The first search finds no index: the scan answers, and the build starts.
    assert_eq!(ids(&ds, "\"gare\"").await, scan);
    let started = std::time::Instant::now();
    while !ds.engine.has_text_index(&ds.dataset) {
        assert!(started.elapsed().as_secs() < 60, "the index is built in the background");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        ds.engine.text_index_rows(&ds.dataset, &["\"gare\"".to_owned()]).expect("rows").is_some()
    );
    assert_eq!(ids(&ds, "\"gare\"").await, scan);
    // An index that does not fit the data file (another file in its place) is ignored.
    let marker =
        ds.dataset.data_path.parent().expect("dir").join("text-index/kleber-text-index.json");
    let text = std::fs::read_to_string(&marker).expect("marker");
    let mut value: serde_json::Value = serde_json::from_str(&text).expect("marker JSON");
    value["data_bytes"] = serde_json::json!(1);
    std::fs::write(&marker, value.to_string()).expect("marker written");
    assert!(!ds.engine.has_text_index(&ds.dataset), "a stale index is not used");
    assert_eq!(ids(&ds, "NOT (NOT \"gare\")").await, scan);
}

#[tokio::test]
async fn a_dataset_without_text_fields_finds_nothing_either_way() {
    let fields = vec![Field::new("id", "Id", FieldType::Int)];
    let ds = TestDataset::new(fields, vec![Arc::new(Int64Array::from_iter_values(0..50))]);
    assert_same_answers(
        &ds,
        &[
            ("\"*\"", Expect::NotNarrowed),
            ("\"12\"", Expect::Exact),
            ("id < 10", Expect::NotNarrowed),
            ("id >= 10", Expect::NotNarrowed),
            ("id > 5", Expect::NotNarrowed),
        ],
    )
    .await;
    assert_eq!(ds.count("\"*\"").await.expect("count"), 0);
    assert_eq!(ds.count("id >= 10").await.expect("count"), 40);
}
