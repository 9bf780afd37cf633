//! The engine's own limits: the caps refuse before planning, the deadline cancels, and one
//! record is found by id through the version's index.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{ArrayRef, Int64Array, StringArray};
use kleber_query::limits::{MAX_IN_LIST_ITEMS, MAX_WHERE_PARAMS};
use kleber_query::{Engine, Error, Limits, RecordsQuery};
use kleber_types::{Field, FieldType};

use crate::common::TestDataset;

fn dataset(rows: i64) -> TestDataset {
    let fields = vec![
        Field::new("nom", "Nom", FieldType::Text),
        Field::new("valeur", "Valeur", FieldType::Int),
    ];
    let noms: Vec<String> = (0..rows).map(|i| format!("Station {i}")).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(noms)),
        Arc::new(Int64Array::from((0..rows).map(|i| i % 100).collect::<Vec<_>>())),
    ];
    TestDataset::new(fields, columns)
}

#[tokio::test]
async fn caps_refuse_before_any_work() {
    let ds = dataset(10);
    let q = RecordsQuery {
        r#where: vec!["valeur >= 0".to_owned(); MAX_WHERE_PARAMS + 1],
        ..RecordsQuery::default()
    };
    let err = ds.engine.plan(&ds.dataset, &q).await.err().expect("refused");
    assert!(matches!(err, Error::InvalidParameter { name: "where", .. }), "{err}");
    let list = (0..=MAX_IN_LIST_ITEMS).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let err = ds.count(&format!("valeur in ({list})")).await.unwrap_err();
    assert!(err.to_string().contains("MAX_IN_LIST_ITEMS"), "{err}");
    // At the cap, answered.
    let q = RecordsQuery {
        r#where: vec!["valeur >= 0".to_owned(); MAX_WHERE_PARAMS],
        limit: Some(0),
        ..RecordsQuery::default()
    };
    assert_eq!(ds.run(q).await.unwrap().0, 10);
}

#[tokio::test]
async fn the_deadline_cancels_planning_and_running() {
    let mut ds = dataset(1_000);
    ds.engine = Engine::new(Limits { query_timeout: Duration::ZERO, ..Limits::default() }).unwrap();
    let err = ds.count("valeur = 3").await.unwrap_err();
    assert!(
        matches!(&err, Error::TooHeavy { limit: "time", detail } if detail.contains("query_timeout")),
        "{err}"
    );
    ds.engine = Engine::new(Limits::default()).unwrap();
    assert_eq!(ds.count("valeur = 3").await.unwrap(), 10);
}

#[tokio::test]
async fn one_record_is_planned_over_its_candidate_rows_only() {
    let ds = dataset(3_000);
    let listed = ds.select("_id, nom", Some("nom = \"Station 2999\""), None, None).await.unwrap();
    let id = listed[0]["_id"].as_str().unwrap().to_owned();
    let q = RecordsQuery {
        r#where: vec![format!("_id = \"{id}\"")],
        select: Some("nom, valeur".to_owned()),
        ..RecordsQuery::default()
    };
    let planned = ds.engine.plan_record(&ds.dataset, &q, &id).await.unwrap();
    let batches = ds.engine.collect(planned).await.unwrap();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 1);
    let nom = batches.iter().find(|b| b.num_rows() > 0).unwrap().column(0).clone();
    assert_eq!(arrow::util::display::array_value_to_string(&nom, 0).unwrap(), "Station 2999");
    // An unknown id: no row, no error.
    let other = "0".repeat(40);
    let planned = ds.engine.plan_record(&ds.dataset, &q, &other).await.unwrap();
    let batches = ds.engine.collect(planned).await.unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
}

/// A file of several row groups and many small pages: the lookup reads one page of each
/// column through the offset index, and finds the right row wherever it sits (first and last
/// rows, page and row-group boundaries).
#[tokio::test]
async fn one_record_is_found_across_row_groups_and_pages() {
    let rows = 20_000;
    let fields = vec![
        Field::new("nom", "Nom", FieldType::Text),
        Field::new("valeur", "Valeur", FieldType::Int),
    ];
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from((0..rows).map(|i| format!("Station {i}")).collect::<Vec<_>>())),
        Arc::new(Int64Array::from((0..rows).collect::<Vec<i64>>())),
    ];
    let properties = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(3_000))
        .set_data_page_row_count_limit(500)
        .set_write_batch_size(100)
        .build();
    let ds = TestDataset::written_with(fields, columns, Some(properties));
    let q = |id: &str| RecordsQuery {
        r#where: vec![format!("_id = \"{id}\"")],
        select: Some("nom, valeur".to_owned()),
        ..RecordsQuery::default()
    };
    for row in [0, 499, 500, 2_999, 3_000, 3_001, 10_250, 17_999, 19_999] {
        let listed = ds.select("_id", Some(&format!("valeur = {row}")), None, None).await.unwrap();
        let id = listed[0]["_id"].as_str().unwrap().to_owned();
        let planned = ds.engine.plan_record(&ds.dataset, &q(&id), &id).await.unwrap();
        let batches = ds.engine.collect(planned).await.unwrap();
        let found: Vec<String> = batches
            .iter()
            .flat_map(|b| {
                (0..b.num_rows())
                    .map(|i| arrow::util::display::array_value_to_string(b.column(0), i).unwrap())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(found, vec![format!("Station {row}")], "row {row}");
    }
}

/// A small in-memory version is queried on the caller's thread. The tallest condition the
/// parser accepts, over one, is planned and run there on a stack grown for it: a caller on a
/// 2 MiB thread (a test's, an embedding program's) does not overflow its own.
#[test]
fn the_tallest_condition_runs_on_a_small_callers_thread() {
    let tall = (0..kleber_odsql::MAX_HEIGHT - 16)
        .map(|i| format!("valeur = {}", i % 100))
        .collect::<Vec<_>>()
        .join(" OR ");
    let caller = std::thread::Builder::new().stack_size(2 << 20).spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let ds = dataset(1_000);
            let counted = ds.count(&tall).await;
            (counted, ds.engine.small_answers())
        })
    });
    let (counted, small_answers) = caller.unwrap().join().expect("no overflow");
    assert_eq!(counted.unwrap(), 1_000);
    assert_eq!(small_answers, 1, "answered by the small-table path");
}
