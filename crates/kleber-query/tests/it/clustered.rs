//! Clustered copies of large versions (`clustered.rs`): which fields they are sorted by, that
//! every order-insensitive answer read from the copy equals the answer of the version's own
//! file, that pages without `order_by` keep the import order, and that a copy is built in the
//! background on a version's first query.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use kleber_query::clustered::{self, Built};
use kleber_query::facets::FacetRequest;
use kleber_query::{DatasetRef, Engine, Limits, RecordsQuery, ScanView};
use kleber_types::{Field, FieldType};
use parquet::file::properties::WriterProperties;
use serde_json::Value;

use crate::common::TestDataset;

/// 100,000 rows: 100,000 / 4,096 leaves room for 24 combinations of key values, so `commune`
/// (20 values) is a key and `categorie` (4) would make 80: not taken. `adresse` has a value a
/// row: too many.
const ROWS: usize = 100_000;
const COMMUNES: usize = 20;
const CATEGORIES: [&str; 4] = ["Voirie", "Propreté", "Éclairage", "Mobilier"];

fn fields() -> Vec<Field> {
    vec![
        Field::new("id", "Id", FieldType::Int),
        Field::new("commune", "Commune", FieldType::Text),
        Field::new("categorie", "Catégorie", FieldType::Text),
        Field::new("adresse", "Adresse", FieldType::Text),
        Field::new("montant", "Montant", FieldType::Double),
    ]
}

fn commune(i: usize) -> String {
    format!("Commune {}", i * 7 % COMMUNES)
}

fn dataset(rows: usize) -> TestDataset {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values((0..rows).map(|i| i as i64))),
        Arc::new(StringArray::from_iter_values((0..rows).map(commune))),
        Arc::new(StringArray::from_iter_values((0..rows).map(|i| CATEGORIES[i * 3 % 4]))),
        Arc::new(StringArray::from_iter_values((0..rows).map(|i| format!("{i} rue des Tests")))),
        Arc::new(Float64Array::from_iter_values((0..rows).map(|i| (i * 37 % 5003) as f64 / 4.0))),
    ];
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(40_000))
        .set_data_page_row_count_limit(2048)
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::Page)
        .build();
    TestDataset::written_with(fields(), columns, Some(props))
}

/// An engine that keeps nothing in memory and builds copies of versions of 10,000 rows.
fn clustering_engine() -> Engine {
    Engine::new(Limits { in_memory_bytes: 0, clustered_min_rows: 10_000, ..Limits::default() })
        .expect("engine")
}

/// An engine that never uses a copy.
fn plain_engine() -> Engine {
    Engine::new(Limits { in_memory_bytes: 0, clustered_min_rows: u64::MAX, ..Limits::default() })
        .expect("engine")
}

fn query(where_: &str, order_by: Option<&str>, limit: usize) -> RecordsQuery {
    RecordsQuery {
        r#where: vec![where_.to_owned()],
        order_by: order_by.map(str::to_owned),
        limit: Some(limit),
        ..RecordsQuery::default()
    }
}

fn ids(records: &[Value]) -> Vec<i64> {
    records.iter().map(|r| r["id"].as_i64().expect("id")).collect()
}

#[tokio::test]
async fn a_copy_is_sorted_by_the_fields_whose_values_fill_pages() {
    let data = dataset(ROWS);
    let engine = clustering_engine();
    let built = engine.build_clustered(&data.dataset).await.expect("built");
    assert_eq!(built, Built::Sorted(vec!["commune".to_owned()]));
    let copy = clustered::path_of(&data.dataset.data_path);
    assert_eq!(clustered::keys_of(&copy).expect("keys"), vec!["commune"]);

    // The copy holds the same rows, sorted by commune.
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&copy).expect("copy"),
    )
    .expect("parquet")
    .build()
    .expect("reader");
    let mut communes = Vec::new();
    let mut ids = Vec::new();
    for batch in reader {
        let batch = batch.expect("batch");
        let c = batch.column(1).as_any().downcast_ref::<StringArray>().expect("text");
        communes.extend(c.iter().map(|v| v.expect("commune").to_owned()));
        let i = batch.column(0).as_any().downcast_ref::<Int64Array>().expect("int");
        ids.extend(i.values().iter().copied());
    }
    assert_eq!(communes.len(), ROWS);
    assert!(communes.windows(2).all(|w| w[0] <= w[1]), "sorted by commune");
    ids.sort_unstable();
    assert_eq!(ids, (0..ROWS as i64).collect::<Vec<_>>(), "every row once");
}

#[tokio::test]
async fn a_small_version_gets_no_copy_and_is_not_examined_again() {
    let data = dataset(5_000);
    let engine = clustering_engine();
    assert_eq!(engine.build_clustered(&data.dataset).await.expect("built"), Built::Nothing);
    assert!(!clustered::path_of(&data.dataset.data_path).exists());
    let marker = data.dataset.data_path.with_file_name("clustered.none");
    assert!(marker.exists(), "the decision is remembered");
}

#[tokio::test]
async fn answers_from_the_copy_equal_the_answers_of_the_version_file() {
    let data = dataset(ROWS);
    let with_copy = clustering_engine();
    with_copy.build_clustered(&data.dataset).await.expect("built");
    let without = plain_engine();

    let queries = [
        // The filtered, sorted page of a city table (ties broken by id).
        query(r#"commune = "Commune 3" AND montant > 400"#, Some("montant desc, id"), 100),
        query(r#"commune IN ("Commune 3", "Commune 11")"#, Some("id desc"), 20),
        query(r#"categorie = "Voirie""#, Some("montant, id"), 50),
        // Groups, with and without a filter on the key.
        RecordsQuery {
            select: Some("categorie, count(*) as n, avg(montant) as m".to_owned()),
            r#where: vec![r#"commune = "Commune 8""#.to_owned()],
            group_by: Some("categorie".to_owned()),
            order_by: Some("categorie".to_owned()),
            ..RecordsQuery::default()
        },
        RecordsQuery {
            select: Some("commune, count(*) as n".to_owned()),
            r#where: vec!["montant < 100".to_owned()],
            group_by: Some("commune".to_owned()),
            order_by: Some("n desc, commune".to_owned()),
            ..RecordsQuery::default()
        },
        // A refine, as the portal sends it.
        RecordsQuery {
            refine: vec!["commune:Commune 19".to_owned()],
            order_by: Some("montant desc, id".to_owned()),
            limit: Some(10),
            offset: 30,
            ..RecordsQuery::default()
        },
    ];
    for q in queries {
        let expected = data.run_on(&without, q.clone()).await.expect("plain");
        let got = data.run_on(&with_copy, q.clone()).await.expect("clustered");
        assert_eq!(got, expected, "{q:?}");
        assert!(expected.0 > 0, "the query matches something: {q:?}");
    }

    // Facets under a refine on the key and on another field.
    let requests: Vec<FacetRequest> = ["commune", "categorie"]
        .iter()
        .map(|name| FacetRequest {
            name: (*name).to_owned(),
            disjunctive: false,
            sort: None,
            limit: None,
            separator: None,
        })
        .collect();
    for refine in ["commune:Commune 4", "categorie:Mobilier"] {
        let q = RecordsQuery { refine: vec![refine.to_owned()], ..RecordsQuery::default() };
        let expected = without.facets(&data.dataset, &q, &requests).await.expect("plain");
        let got = with_copy.facets(&data.dataset, &q, &requests).await.expect("clustered");
        assert_eq!(got, expected, "{refine}");
    }
}

#[tokio::test]
async fn counts_come_from_the_copy_and_unordered_pages_from_the_version_file() {
    let data = dataset(ROWS);
    let engine = clustering_engine();
    engine.build_clustered(&data.dataset).await.expect("built");
    // Replace the copy with one of only the first 1,000 rows (same columns): what the engine
    // reads from it now shows.
    let copy = clustered::path_of(&data.dataset.data_path);
    let partial = dataset(1_000);
    std::fs::copy(&partial.dataset.data_path, &copy).expect("replace the copy");

    let q = RecordsQuery { offset: 60, ..query(r#"commune = "Commune 0""#, None, 10) };
    let (total, records) = data.run_on(&engine, q).await.expect("page");
    // Of the first 1,000 rows, those with i * 7 % 20 == 0: i a multiple of 20.
    assert_eq!(total, 50, "the count is read from the copy");
    // Without order_by the page is the version file's (the copy has no 61st match).
    assert_eq!(records.len(), 10);
    assert!(ids(&records).iter().all(|id| id % 20 == 0));

    let q = query(r#"commune = "Commune 0""#, Some("id desc"), 3);
    let (_, records) = data.run_on(&engine, q).await.expect("page");
    assert_eq!(ids(&records), vec![980, 960, 940], "an ordered page is read from the copy");
}

#[tokio::test]
async fn a_view_applies_to_the_copy() {
    let data = dataset(ROWS);
    let engine = clustering_engine();
    engine.build_clustered(&data.dataset).await.expect("built");
    let visible: Vec<Field> = fields().into_iter().filter(|f| f.name != "adresse").collect();
    let viewed = DatasetRef {
        fields: visible,
        view: Some(Arc::new(ScanView {
            stored: fields(),
            condition: Some(r#"categorie = "Voirie""#.to_owned()),
            key: "voirie".to_owned(),
        })),
        ..data.dataset.clone()
    };
    let q = RecordsQuery {
        select: Some("commune, count(*) as n".to_owned()),
        group_by: Some("commune".to_owned()),
        order_by: Some("commune".to_owned()),
        ..RecordsQuery::default()
    };
    let planned = engine.plan(&viewed, &q).await.expect("plan");
    let (groups, _) = engine.page(planned).await.expect("page");
    // Independently: rows with i * 3 % 4 == 0 (Voirie), counted per commune.
    let mut expected = std::collections::BTreeMap::<String, u64>::new();
    for i in (0..ROWS).filter(|i| i * 3 % 4 == 0) {
        *expected.entry(commune(i)).or_default() += 1;
    }
    assert_eq!(groups, expected.len() as u64);
    let plain = plain_engine();
    let planned = plain.plan(&viewed, &q).await.expect("plan");
    let (plain_groups, _) = plain.page(planned).await.expect("page");
    assert_eq!(groups, plain_groups);
    // A hidden column stays hidden when the copy answers.
    let q = RecordsQuery { select: Some("adresse".to_owned()), ..RecordsQuery::default() };
    assert!(engine.plan(&viewed, &q).await.is_err(), "adresse is outside the view");
}

#[tokio::test]
async fn the_first_query_of_a_large_version_builds_its_copy_in_the_background() {
    let data = dataset(ROWS);
    let engine = clustering_engine();
    let copy = clustered::path_of(&data.dataset.data_path);
    assert!(!copy.exists());
    let q = query(r#"commune = "Commune 2""#, Some("id"), 5);
    let first = data.run_on(&engine, q.clone()).await.expect("answered from the version file");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !copy.exists() {
        assert!(std::time::Instant::now() < deadline, "no copy after 60 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let again = data.run_on(&engine, q).await.expect("answered from the copy");
    assert_eq!(again, first);
    // No partial file is left beside it.
    let dir = data.dataset.data_path.parent().expect("dir");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
