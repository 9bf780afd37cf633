//! Import, then export as CSV and JSON: the same values come back.

use kleber_ingest::ImportOptions;
use serde_json::Value;

use crate::common::{TestServer, import, real};

const VELIB: &str = "paris_velib-disponibilite-en-temps-reel_utf8-bom.csv";

/// Two cells hold the same value: same text, same number, same instant, or same point.
fn same_value(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if a == b {
        return true;
    }
    if let (Ok(x), Ok(y)) = (a.parse::<f64>(), b.parse::<f64>()) {
        return x == y;
    }
    if let (Ok(x), Ok(y)) =
        (chrono::DateTime::parse_from_rfc3339(a), chrono::DateTime::parse_from_rfc3339(b))
    {
        return x == y;
    }
    let pair = |s: &str| -> Option<(f64, f64)> {
        let (x, y) = s.split_once(',')?;
        Some((x.trim().parse().ok()?, y.trim().parse().ok()?))
    };
    matches!((pair(a), pair(b)), (Some(x), Some(y)) if x == y)
}

fn source_rows() -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_path(real(VELIB)).expect("csv");
    let headers: Vec<String> = reader
        .headers()
        .expect("headers")
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_owned())
        .collect();
    let rows =
        reader.records().map(|r| r.expect("row").iter().map(str::to_owned).collect()).collect();
    (headers, rows)
}

fn assert_same_rows(source: &[Vec<String>], exported: &[Vec<String>]) {
    assert_eq!(source.len(), exported.len(), "row count");
    // Rows are compared in order: a single-file dataset is exported in file order.
    for (i, (s, e)) in source.iter().zip(exported).enumerate() {
        assert_eq!(s.len(), e.len(), "row {i} width");
        for (j, (a, b)) in s.iter().zip(e).enumerate() {
            assert!(same_value(a, b), "row {i} column {j}: source {a:?} exported {b:?}");
        }
    }
}

#[tokio::test]
async fn csv_export_gives_back_the_imported_values() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &real(VELIB), "velib", ImportOptions::default());
    let server = TestServer::start(dir).await;
    let (headers, source) = source_rows();
    let (status, _, body) =
        server.get("/api/explore/v2.1/catalog/datasets/velib/exports/csv?use_labels=true").await;
    assert_eq!(status, 200);
    let body = body.strip_prefix('\u{feff}').expect("BOM");
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(body.as_bytes());
    let exported_headers: Vec<String> =
        reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(exported_headers, headers, "labels are the original headers");
    let exported: Vec<Vec<String>> =
        reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    assert_same_rows(&source, &exported);
}

fn json_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Object(o) if o.contains_key("lat") => format!("{}, {}", o["lat"], o["lon"]),
        other => other.to_string(),
    }
}

#[tokio::test]
async fn json_export_gives_back_the_imported_values() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &real(VELIB), "velib", ImportOptions::default());
    let server = TestServer::start(dir).await;
    let (_, source) = source_rows();
    let fields =
        server.json("/api/explore/v2.1/catalog/datasets/velib", 200).await["fields"].clone();
    let names: Vec<String> =
        fields.as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_owned()).collect();
    let exported = server.json("/api/explore/v2.1/catalog/datasets/velib/exports/json", 200).await;
    let exported: Vec<Vec<String>> = exported
        .as_array()
        .unwrap()
        .iter()
        .map(|rec| names.iter().map(|n| json_cell(&rec[n])).collect())
        .collect();
    assert_same_rows(&source, &exported);
    let (_, _, jsonl) = server.get("/api/explore/v2.1/catalog/datasets/velib/exports/jsonl").await;
    assert_eq!(jsonl.lines().count(), source.len());
}
