//! The scan paths: a small version held in memory (`--memory-tables-mb`) answers exactly as
//! its Parquet file does, and the memory budget is kept.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use kleber_query::{Engine, Limits, RecordsQuery};
use kleber_types::{Field, FieldType};
use serde_json::Value;

use crate::common::TestDataset;

const COMMUNES: [&str; 5] = ["Strasbourg", "Schiltigheim", "Illkirch", "Hœnheim", "La Wantzenau"];
const ROWS: usize = 3000;

/// Row `i`: its id, commune and amount (a deterministic spread, some amounts repeated).
fn row(i: usize) -> (i64, &'static str, f64) {
    (i as i64, COMMUNES[i * 7 % 5], (i * 37 % 1009) as f64 + 0.25)
}

fn dataset() -> TestDataset {
    let fields = vec![
        Field::new("id", "Id", FieldType::Int),
        Field::new("commune", "Commune", FieldType::Text),
        Field::new("montant", "Montant", FieldType::Double),
    ];
    let rows: Vec<_> = (0..ROWS).map(row).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.2))),
    ];
    TestDataset::new(fields, columns)
}

fn engine(in_memory_bytes: usize) -> Engine {
    Engine::new(Limits { in_memory_bytes, ..Limits::default() }).expect("engine")
}

fn query(where_: &str, order_by: &str, limit: usize, offset: usize) -> RecordsQuery {
    RecordsQuery {
        r#where: vec![where_.to_owned()],
        order_by: Some(order_by.to_owned()),
        limit: Some(limit),
        offset,
        ..RecordsQuery::default()
    }
}

fn ids(records: &[Value]) -> Vec<i64> {
    records.iter().map(|r| r["id"].as_i64().expect("id")).collect()
}

#[tokio::test]
async fn a_small_version_answers_the_same_from_memory_as_from_its_file() {
    let data = dataset();
    let from_file = engine(0);
    let tiny_budget = engine(1024);
    let in_memory = &data.engine; // the default budget
    // Independently: the rows of Hœnheim over 500, by amount descending then file order.
    let mut expected: Vec<_> =
        (0..ROWS).map(row).filter(|r| r.1 == "Hœnheim" && r.2 > 500.0).collect();
    expected.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    let grouped = RecordsQuery {
        select: Some("count(*) as n, sum(montant) as s".to_owned()),
        group_by: Some("commune".to_owned()),
        ..RecordsQuery::default()
    };
    let queries = vec![
        query("commune = \"Hœnheim\" AND montant > 500", "montant desc, id", 10, 0),
        query("commune = \"Hœnheim\" AND montant > 500", "montant desc, id", 10, 15),
        query("", "", 7, 1234),
        query("montant > 2000", "", 20, 0),
        query("", "id desc", 0, 0),
        query("", "", 10, ROWS + 5),
        grouped,
        // Expressions whose types the planner coerces (float + int, int * int), functions,
        // a bare-string search, a select with aliases, a sort on an expression.
        RecordsQuery {
            select: Some("id, montant * 2 as double, upper(commune) as c".to_owned()),
            ..query("montant + 1 > 500 AND lower(commune) = \"illkirch\"", "double desc, id", 5, 2)
        },
        query("\"wantzenau\" AND id < 2000", "id desc", 4, 0),
        query("commune IN (\"Illkirch\", \"Strasbourg\") OR montant < 3", "commune, montant", 6, 0),
        RecordsQuery {
            refine: vec!["commune:Schiltigheim".to_owned()],
            ..query("", "montant", 3, 0)
        },
        RecordsQuery { record_id_column: Some("_id".to_owned()), ..query("id < 10", "id", 3, 0) },
        RecordsQuery {
            select: Some("id, ifnull(montant, 0) as m, ifnull(commune, \"?\") as c".to_owned()),
            ..query("montant > 1000", "id", 3, 0)
        },
    ];
    for (n, q) in queries.into_iter().enumerate() {
        let memory = data.run(q.clone()).await.expect("in memory");
        let file = data.run_on(&from_file, q.clone()).await.expect("from the file");
        let budget = data.run_on(&tiny_budget, q).await.expect("over the budget");
        assert_eq!(memory, file, "query {n}");
        assert_eq!(budget, file, "query {n}");
        match n {
            0 | 1 => {
                let skip = if n == 0 { 0 } else { 15 };
                assert_eq!(memory.0, expected.len() as u64);
                let want: Vec<i64> = expected.iter().skip(skip).take(10).map(|r| r.0).collect();
                assert_eq!(ids(&memory.1), want);
            }
            2 => assert_eq!(ids(&memory.1), (1234..1241).collect::<Vec<i64>>()),
            3 => assert_eq!((memory.0, memory.1.len()), (0, 0), "no amount is over 2000"),
            4 | 5 => assert_eq!((memory.0, memory.1.len()), (ROWS as u64, 0)),
            7 => {
                let want: Vec<_> =
                    (0..ROWS).map(row).filter(|r| r.2 + 1.0 > 500.0 && r.1 == "Illkirch").collect();
                assert_eq!(memory.0, want.len() as u64);
                assert_eq!(memory.1[0]["c"], "ILLKIRCH");
                let first = memory.1[0]["double"].as_f64().expect("double");
                assert!(memory.1.iter().all(|r| r["double"].as_f64() <= Some(first)));
            }
            8 => {
                let want = (0..ROWS).filter(|&i| row(i).1 == "La Wantzenau" && i < 2000);
                assert_eq!(memory.0, want.clone().count() as u64);
                assert_eq!(
                    ids(&memory.1),
                    want.rev().take(4).map(|i| i as i64).collect::<Vec<_>>()
                );
            }
            9 => assert!(memory.0 > 0 && memory.1.len() == 6),
            10 => assert_eq!(
                memory.0,
                (0..ROWS).filter(|&i| row(i).1 == "Schiltigheim").count() as u64
            ),
            11 | 12 => assert_eq!(memory.1.len(), 3),
            _ => {
                assert_eq!(memory.0, 5, "five communes");
                let strasbourg = memory.1.iter().find(|r| r["commune"] == "Strasbourg");
                let want = (0..ROWS).map(row).filter(|r| r.1 == "Strasbourg").count();
                assert_eq!(strasbourg.expect("Strasbourg")["n"], want);
            }
        }
    }
    assert!(in_memory.in_memory_bytes() > 0, "the default budget keeps a 3,000-row table");
    // Every query above ran without DataFusion's planner but two: the grouped one, and the
    // one with ifnull (a coalesce, which DataFusion's optimiser rewrites before it can run),
    // which fell back to DataFusion and answered the same.
    assert_eq!(in_memory.small_answers(), 11, "the small-table path answered");
    assert_eq!(from_file.small_answers() + tiny_budget.small_answers(), 0);
    assert_eq!(from_file.in_memory_bytes(), 0, "a zero budget keeps nothing");
    assert_eq!(tiny_budget.in_memory_bytes(), 0, "a table over the budget is not kept");
}

/// Writes the 40,000-row table `(id, commune, montant)` to `path` with at most
/// `rows_per_page` rows per data page (page statistics and the page index, as the importer).
fn write_layout(path: &std::path::Path, rows_per_page: usize) {
    use parquet::file::properties::{EnabledStatistics, WriterProperties};
    let fields = [
        Field::new("id", "Id", FieldType::Int),
        Field::new("commune", "Commune", FieldType::Text),
        Field::new("montant", "Montant", FieldType::Double),
    ];
    let schema = Arc::new(arrow::datatypes::Schema::new(
        fields.iter().map(Field::arrow_field).collect::<Vec<_>>(),
    ));
    let n = 40_000_usize;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values((0..n).map(|i| i as i64))),
        Arc::new(StringArray::from_iter_values((0..n).map(|i| COMMUNES[i * 7 % 5]))),
        Arc::new(Float64Array::from_iter_values((0..n).map(|i| (i * 37 % 5003) as f64 + 0.5))),
    ];
    let batch = arrow::array::RecordBatch::try_new(Arc::clone(&schema), columns).expect("batch");
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(16_384))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_data_page_row_count_limit(rows_per_page)
        .set_write_batch_size(1024)
        .build();
    let file = std::fs::File::create(path).expect("create");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, schema, Some(props)).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

/// A data directory written before small data pages (the writer's default 20,000-row pages)
/// answers as one written today (8,192-row pages): no migration is needed.
#[tokio::test]
async fn the_old_page_layout_answers_as_the_new_one() {
    let dir = tempfile::tempdir().expect("dir");
    let fields = vec![
        Field::new("id", "Id", FieldType::Int),
        Field::new("commune", "Commune", FieldType::Text),
        Field::new("montant", "Montant", FieldType::Double),
    ];
    let mut answers = Vec::new();
    for (name, rows_per_page) in
        [("old.parquet", 20_000), ("new.parquet", 8192), ("tiny.parquet", 1024)]
    {
        let path = dir.path().join(name);
        write_layout(&path, rows_per_page);
        let dataset = kleber_query::DatasetRef {
            uid: name.to_owned(),
            version: 1,
            data_path: path,
            fields: fields.clone(),
            view: None,
        };
        let engine = engine(0);
        let mut got = Vec::new();
        for q in [
            query("commune = \"Hœnheim\" AND montant > 4900", "montant desc", 100, 0),
            query("montant > 4990", "id", 100, 3),
            query("", "", 20, 31_000),
            query("id = 39999", "", 10, 0),
        ] {
            let planned = engine.plan(&dataset, &q).await.expect("plan");
            let (total, batches) = engine.page(planned).await.expect("page");
            let ids: Vec<i64> = batches
                .iter()
                .flat_map(|b| {
                    let col = b.column(0).as_any().downcast_ref::<Int64Array>().expect("ids");
                    col.values().to_vec()
                })
                .collect();
            got.push((total, ids));
        }
        answers.push(got);
    }
    // Independently of the engine: the first query's count and its page's ids.
    let mut want: Vec<(f64, i64)> = (0..40_000_usize)
        .filter(|i| i * 7 % 5 == 3 && i * 37 % 5003 >= 4900)
        .map(|i| ((i * 37 % 5003) as f64, i as i64))
        .collect();
    want.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    assert_eq!(answers[0][0].0, want.len() as u64);
    assert_eq!(answers[0][2], (40_000, (31_000..31_020).collect::<Vec<i64>>()));
    assert_eq!(answers[0][3], (1, vec![39_999]));
    assert_eq!(answers[0], answers[1], "old layout vs new layout");
    assert_eq!(answers[1], answers[2], "new layout vs 1,024-row pages");
}
