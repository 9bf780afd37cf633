//! One test per error code, checking the whole body and the status: these are the contract
//! clients branch on (docs/errors.md).

use std::time::Duration;

use kleber_ingest::ImportOptions;
use kleber_query::Limits;
use kleber_types::ErrorCode;
use serde_json::json;

use crate::common::{TestServer, import, real};

const V: &str = "/api/explore/v2.1";

async fn server_with(limits: Limits, timeout: Duration) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    import(
        dir.path(),
        &real("strasbourg_occupation-parkings-temps-reel.csv"),
        "parkings",
        ImportOptions::default(),
    );
    TestServer::start_with(dir, limits, timeout).await
}

async fn body(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    code: ErrorCode,
) -> serde_json::Value {
    let response =
        server.client.request(method, format!("{}{path}", server.base)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), code.status(), "{path}");
    assert_eq!(response.headers()["content-type"], "application/json; charset=utf-8");
    let v: serde_json::Value = response.json().await.unwrap();
    assert_eq!(v["error_code"], code.name());
    v
}

#[tokio::test]
async fn every_error_code_answers_its_documented_body() {
    let server = server_with(Limits::default(), Duration::from_secs(30)).await;
    let get = reqwest::Method::GET;
    assert_eq!(
        body(
            &server,
            get.clone(),
            &format!("{V}/catalog/datasets/parkings/records?where=nope%3D1"),
            ErrorCode::OdsqlError
        )
        .await,
        json!({"error_code": "ODSQLError", "message": "ODSQL query is malformed: Unknown field: nope. Clause(s) containing the error(s): where."})
    );
    assert_eq!(
        body(
            &server,
            get.clone(),
            &format!("{V}/catalog/datasets/parkings/records?limit=101"),
            ErrorCode::InvalidRestParameter
        )
        .await,
        json!({"error_code": "InvalidRESTParameterError", "message": "Invalid value for limit API parameter: 101 was found but -1 <= limit <= 100 is expected."})
    );
    assert_eq!(
        body(
            &server,
            get.clone(),
            &format!("{V}/catalog/datasets/nope/records"),
            ErrorCode::DatasetNotFound
        )
        .await,
        json!({"error_code": "DatasetNotFound", "message": "Unknown dataset: nope"})
    );
    let id = "0123456789abcdef0123456789abcdef01234567";
    assert_eq!(
        body(
            &server,
            get.clone(),
            &format!("{V}/catalog/datasets/parkings/records/{id}"),
            ErrorCode::RecordNotFound
        )
        .await,
        json!({"error_code": "RecordNotFound", "message": format!("Unknown record: {id}")})
    );
    assert_eq!(
        body(&server, get.clone(), "/api/explore/v9/", ErrorCode::NotFound).await,
        json!({"error_code": "NotFound", "message": "No API endpoint at /api/explore/v9."})
    );
    assert_eq!(
        body(
            &server,
            reqwest::Method::DELETE,
            &format!("{V}/catalog/datasets/parkings"),
            ErrorCode::MethodNotAllowed
        )
        .await,
        json!({"error_code": "MethodNotAllowed", "message": "DELETE is not allowed on /api/explore/v2.1/catalog/datasets/parkings; this API is read-only (GET, HEAD)."})
    );

    // InternalError: the version's file vanished under the server. The details stay in the log.
    let dir = server.stop();
    for entry in walk(dir.path()) {
        if entry.extension().is_some_and(|e| e == "parquet") {
            std::fs::remove_file(entry).unwrap();
        }
    }
    let server = TestServer::start(dir).await;
    assert_eq!(
        body(
            &server,
            get.clone(),
            &format!("{V}/catalog/datasets/parkings/records"),
            ErrorCode::InternalError
        )
        .await,
        json!({"error_code": "InternalError", "message": "Internal server error; the details are in the server log."})
    );
    // The server is still up.
    server.json(&format!("{V}/catalog/datasets/parkings"), 200).await;
}

#[tokio::test]
async fn query_too_heavy_answers_503_with_retry_after() {
    let server = server_with(Limits::default(), Duration::from_nanos(1)).await;
    let response = server
        .client
        .get(format!("{}{V}/catalog/datasets/parkings/records", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    let v: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        v,
        json!({"error_code": "QueryTooHeavy", "message": "the query exceeded the time limit of 0 s; narrow it with a where clause or use the exports endpoint"})
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
