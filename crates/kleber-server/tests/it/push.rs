//! Opendatasoft's real-time push API (issue 13, docs/publishing.md#real-time-push), driven by
//! the real odsclient (`push_dataset_realtime`, pinned in tests/clients/): pushed records read
//! back through the Explore API, replaced by their unique id; a bad record rejected with its
//! reason, the others kept; a revoked push key refused.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use kleber_app::accounts::operator;
use kleber_app::push::PushLimits;
use kleber_ingest::ImportOptions;
use kleber_query::Limits;
use kleber_server::import::{ImportRequest, import_file};
use kleber_store::Store;
use serde_json::Value;

use crate::common::TestServer;

fn python() -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/.venv/bin/python");
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-test-deps.sh to install the test clients",
        path.display()
    );
    path
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/push_odsclient.py")
}

/// Runs the odsclient script with `args`; its JSON output.
async fn odsclient(args: Vec<String>) -> Value {
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python()).arg(script()).args(args).output().expect("run python")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "odsclient failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("script output ({e}): {}", String::from_utf8_lossy(&output.stdout))
    })
}

async fn records_by_id(server: &TestServer) -> Vec<(i64, String, i64)> {
    server
        .records("live", "order_by=id&limit=100")
        .await
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap(),
                r["name"].as_str().unwrap().to_owned(),
                r["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Dataset `live` of `dir`, imported from `csv` with `id` as its unique id.
fn live_dataset(dir: &std::path::Path, csv: &str) -> Store {
    let path = dir.join("live.csv");
    std::fs::write(&path, csv).unwrap();
    let store = Store::open(dir).unwrap();
    let request = ImportRequest {
        path,
        dataset: "live".to_owned(),
        title: None,
        options: ImportOptions::default(),
        unique_id: Some("id".to_owned()),
        crash: None,
    };
    import_file(&store, &request, &mut |_| {}).unwrap();
    store
}

/// A server over `dir` whose pushes wait 200 ms for others.
async fn push_server(dir: tempfile::TempDir) -> TestServer {
    TestServer::start_configured(dir, Limits::default(), Duration::from_secs(30), |state| {
        state
            .app
            .set_push_limits(PushLimits { window: Duration::from_millis(200), max_records: 1000 });
        state
    })
    .await
}

#[tokio::test]
async fn odsclient_pushes_records_that_replace_by_unique_id_and_a_revoked_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = live_dataset(dir.path(), "id;name;count\n1;a;10\n2;b;20\n");
    let key = kleber_app::push::create_key(&store, &operator(), "live").unwrap();
    assert!(key.starts_with("push_"), "{key}");
    drop(store);
    let server = push_server(dir).await;
    let before = server.json("/api/explore/v2.1/catalog/datasets/live", 200).await;

    // odsclient's csv format: rows of strings, `;`-separated, as a JSON array.
    let v = odsclient(vec![
        server.base.clone(),
        "live".to_owned(),
        key.clone(),
        "id;name;count\n2;b2;21\n3;c;30\n".to_owned(),
    ])
    .await;
    assert_eq!(v["status"], 200, "{v}");
    assert_eq!(v["body"]["accepted"], 2, "{v}");
    assert_eq!(v["body"]["rejected"], serde_json::json!([]), "{v}");
    let version = v["body"]["version"].as_i64().unwrap();
    assert!(version > before["metas"]["default"]["version"].as_i64().unwrap_or(1), "{v}");
    assert_eq!(
        records_by_id(&server).await,
        vec![(1, "a".to_owned(), 10), (2, "b2".to_owned(), 21), (3, "c".to_owned(), 30)]
    );

    // A bad record is rejected with its reason; the other one is kept.
    let v = odsclient(vec![
        server.base.clone(),
        "live".to_owned(),
        key.clone(),
        "id;name;count\n4;d;beaucoup\n5;e;50\n".to_owned(),
    ])
    .await;
    assert_eq!(v["status"], 200, "{v}");
    assert_eq!(v["body"]["accepted"], 1, "{v}");
    let rejected = v["body"]["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{v}");
    assert_eq!(rejected[0]["index"], 0);
    let reason = rejected[0]["reason"].as_str().unwrap();
    assert!(reason.contains("count") && reason.contains("beaucoup"), "{reason}");
    let rows = records_by_id(&server).await;
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[3], (5, "e".to_owned(), 50));

    // A wrong key, then the revoked key, are refused; nothing changes.
    let v = odsclient(vec![
        server.base.clone(),
        "live".to_owned(),
        format!("push_{}_{}", "0".repeat(12), "0".repeat(64)),
        "id;name;count\n6;f;60\n".to_owned(),
    ])
    .await;
    assert_eq!(v["status"], 401, "{v}");
    let dir = server.stop();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(kleber_app::push::revoke_keys(&store, &operator(), "live").unwrap(), 1);
    let audit = store.catalog().audit(50).unwrap();
    let pushes = audit.iter().filter(|e| e.action == "dataset.push").count();
    assert_eq!(pushes, 2, "every accepted push is audited");
    drop(store);
    let server = TestServer::start(dir).await;
    let v = odsclient(vec![
        server.base.clone(),
        "live".to_owned(),
        key.clone(),
        "id;name;count\n6;f;60\n".to_owned(),
    ])
    .await;
    assert_eq!(v["status"], 401, "{v}");
    assert!(v["message"].as_str().unwrap().contains("revoked"), "{v}");
    assert_eq!(records_by_id(&server).await.len(), 4);
}

/// Push keys made and revoked through the management API by the dataset's editor; refused to
/// a viewer and to anonymous callers; a key made there pushes, and stops once revoked.
#[tokio::test]
async fn editors_make_and_revoke_push_keys_through_the_management_api() {
    use kleber_app::accounts::Accounts;
    use kleber_store::{Role, Scope};

    let dir = tempfile::tempdir().unwrap();
    let store = live_dataset(dir.path(), "id;name;count\n1;a;10\n");
    let accounts = Accounts::new(std::sync::Arc::new(store));
    let org = accounts.store().catalog().default_org().unwrap();
    let key = |email: &str, role: Role| {
        accounts.create_user(&operator(), email, None, false, None).expect("user");
        accounts.set_member(&operator(), &org, email, role).expect("member");
        let scopes = [Scope::Read, Scope::Write];
        accounts.create_key(&operator(), email, "tests", &scopes, None).expect("key").key
    };
    let (editor, viewer) =
        (key("editor@example.org", Role::Editor), key("viewer@example.org", Role::Viewer));
    drop(accounts);
    let server = push_server(dir).await;
    let url = format!("{}/api/management/v1/datasets/live/push-keys", server.base);
    let client = reqwest::Client::new();
    let send = |method: reqwest::Method, key: Option<&str>| {
        let mut request = client.request(method, &url);
        if let Some(key) = key {
            request = request.header("Authorization", format!("Apikey {key}"));
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };

    let (status, body) = send(reqwest::Method::POST, None).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = send(reqwest::Method::POST, Some(&viewer)).await;
    assert_eq!((status, body["error_code"].as_str()), (403, Some("Forbidden")), "{body}");
    let (status, body) = send(reqwest::Method::POST, Some(&editor)).await;
    assert_eq!(status, 201, "{body}");
    let push_key = body["push_key"].as_str().unwrap().to_owned();
    assert!(push_key.starts_with("push_"), "{body}");

    let push = |key: String| {
        odsclient(vec![
            server.base.clone(),
            "live".to_owned(),
            key,
            "id;name;count\n2;b;20\n".to_owned(),
        ])
    };
    let v = push(push_key.clone()).await;
    assert_eq!((v["status"].as_i64(), v["body"]["accepted"].as_i64()), (Some(200), Some(1)), "{v}");
    assert_eq!(records_by_id(&server).await.len(), 2);

    let (status, body) = send(reqwest::Method::DELETE, Some(&viewer)).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = send(reqwest::Method::DELETE, Some(&editor)).await;
    assert_eq!((status, body["revoked"].as_i64()), (200, Some(1)), "{body}");
    let v = push(push_key).await;
    assert_eq!(v["status"], 401, "{v}");
    assert_eq!(records_by_id(&server).await.len(), 2, "nothing pushed with the revoked key");
}
