//! Queries over their limits get a clear error naming the limit, and the server keeps serving.

use std::time::Duration;

use kleber_ingest::ImportOptions;
use kleber_query::Limits;

use crate::common::{TestServer, import};

const V: &str = "/api/explore/v2.1";

fn big_dataset() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut s = String::from("id;nom;valeur\n");
    for i in 0..150_000 {
        s.push_str(&format!("{i};Station numéro {i} de la ligne {};{}\n", i % 7, i % 1000));
    }
    std::fs::write(&path, s).unwrap();
    import(dir.path(), &path, "big", ImportOptions::default());
    dir
}

#[tokio::test]
async fn a_query_over_the_memory_limit_gets_503_and_the_server_stays_up() {
    let server = TestServer::start_with(
        big_dataset(),
        Limits { memory_bytes: 256 * 1024, ..Limits::default() },
        Duration::from_secs(60),
    )
    .await;
    // Sorting every row needs them all in memory: far more than 256 KiB, and no spilling.
    let (status, _, body) =
        server.get(&format!("{V}/catalog/datasets/big/exports/json?order_by=nom")).await;
    assert_eq!(status, 503, "{}", &body[..body.len().min(300)]);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error_code"], "QueryTooHeavy");
    assert!(v["message"].as_str().unwrap().contains("memory limit"), "{v}");
    let ok = server.json(&format!("{V}/catalog/datasets/big/records?limit=1&select=id"), 200).await;
    assert_eq!(ok["total_count"], 150_000);
}

#[tokio::test]
async fn a_query_over_the_time_limit_gets_503_and_the_server_stays_up() {
    // A limit no query can meet: every records query times out.
    let server =
        TestServer::start_with(big_dataset(), Limits::default(), Duration::from_nanos(1)).await;
    let (status, content_type, body) =
        server.get(&format!("{V}/catalog/datasets/big/records?order_by=nom%20desc")).await;
    assert_eq!(status, 503, "{}", &body[..body.len().min(300)]);
    assert!(content_type.starts_with("application/json"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error_code"], "QueryTooHeavy");
    assert!(v["message"].as_str().unwrap().contains("time limit"), "{v}");
    // The server still answers what needs no query, and exports (which stream, with no time limit).
    let ds = server.json(&format!("{V}/catalog/datasets/big"), 200).await;
    assert_eq!(ds["metas"]["default"]["records_count"], 150_000);
    let (status, _, _) = server.get(&format!("{V}/catalog/datasets/big/exports/csv?limit=5")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn one_record_is_found_by_id_in_any_row_group() {
    // 5,000 rows in row groups of 700: the lookup reads one row of one group.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("groups.csv");
    let mut s = String::from("nom;valeur;jour;tags;lat;lon\n");
    for i in 0..5_000 {
        s.push_str(&format!(
            "Station {i};{};2024-01-{:02};t{},t{};{};{}\n",
            i % 97,
            i % 28 + 1,
            i % 5,
            i % 3,
            48.0 + i as f64 / 10_000.0,
            7.0 + i as f64 / 10_000.0
        ));
    }
    std::fs::write(&path, s).unwrap();
    let mut options = ImportOptions { row_group_size: 700, ..ImportOptions::default() };
    options.multivalued.insert("tags".into(), ",".into());
    import(dir.path(), &path, "groups", options);
    let server = TestServer::start(dir).await;
    for i in [0, 699, 700, 2_345, 4_999] {
        let listed = server
            .records("groups", &format!("where=nom%3D%22Station%20{i}%22&select=_id,*"))
            .await;
        assert_eq!(listed.len(), 1);
        let mut expected = listed[0].as_object().unwrap().clone();
        let id = expected.remove("_id").unwrap();
        let id = id.as_str().unwrap();
        let one = server.json(&format!("{V}/catalog/datasets/groups/records/{id}"), 200).await;
        assert_eq!(one.as_object().unwrap(), &expected, "row {i}");
        // select applies to the record, as on /records.
        let v = server
            .json(&format!("{V}/catalog/datasets/groups/records/{id}?select=valeur"), 200)
            .await;
        assert_eq!(v, serde_json::json!({"valeur": i % 97}));
    }
    // An id of the right shape that no record has, and one sharing no prefix either.
    for missing in ["0".repeat(40), "f".repeat(40)] {
        let v = server.json(&format!("{V}/catalog/datasets/groups/records/{missing}"), 404).await;
        assert_eq!(v["error_code"], "RecordNotFound");
    }
}
