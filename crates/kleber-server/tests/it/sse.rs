//! The changes stream (issue 15 item 4, docs/feeds.md#server-sent-events): a client connected
//! to a real-time dataset receives the changed records after a push; a private dataset's
//! stream needs the right; the bound on streams open at once.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kleber_app::accounts::{Accounts, operator};
use kleber_app::push::PushLimits;
use kleber_ingest::ImportOptions;
use kleber_query::Limits;
use kleber_server::import::{ImportRequest, import_file};
use kleber_store::{Role, Scope, Store, Visibility};
use serde_json::{Value, json};

use crate::common::TestServer;

const API: &str = "/api/explore/v2.1";

/// One Server-Sent Event: its name, id and data.
#[derive(Debug, Clone)]
struct Event {
    name: String,
    id: Option<String>,
    data: Value,
}

/// Reads events from an SSE body until `until` holds for the events read (or 20 s pass).
async fn read_events(
    response: reqwest::Response,
    until: impl Fn(&[Event]) -> bool,
) -> (Vec<Event>, usize) {
    let mut body = response.bytes_stream();
    let mut text = String::new();
    let mut events = Vec::new();
    let mut comments = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !until(&events) {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .unwrap_or_else(|_| panic!("no more events within 20 s; got {events:?}"));
        let Some(chunk) = chunk else { break };
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let (mut name, mut id, mut data) = (String::from("message"), None, String::new());
            let mut only_comments = true;
            for line in block.lines() {
                if line.starts_with(':') {
                    continue;
                }
                only_comments = false;
                match line.split_once(':') {
                    Some(("event", v)) => name = v.trim().to_owned(),
                    Some(("id", v)) => id = Some(v.trim().to_owned()),
                    Some(("data", v)) => data.push_str(v.trim_start()),
                    _ => {}
                }
            }
            if only_comments {
                comments += 1;
                continue;
            }
            let data = serde_json::from_str(&data).unwrap_or(Value::String(data));
            events.push(Event { name, id, data });
        }
    }
    (events, comments)
}

async fn live_server() -> (TestServer, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.csv");
    std::fs::write(&path, "id;name;count\n1;a;10\n2;b;20\n").unwrap();
    let store = Store::open(dir.path()).unwrap();
    let request = ImportRequest {
        path,
        dataset: "live".to_owned(),
        title: None,
        options: ImportOptions::default(),
        unique_id: Some("id".to_owned()),
        crash: None,
    };
    import_file(&store, &request, &mut |_| {}).unwrap();
    let push = kleber_app::push::create_key(&store, &operator(), "live").unwrap();
    let accounts = Accounts::new(Arc::new(store));
    accounts.create_user(&operator(), "staff@example.org", None, false, None).unwrap();
    accounts
        .set_member(
            &operator(),
            kleber_store::accounts::DEFAULT_ORG,
            "staff@example.org",
            Role::Viewer,
        )
        .unwrap();
    let staff = accounts
        .create_key(&operator(), "staff@example.org", "tests", &[Scope::Read], None)
        .unwrap()
        .key;
    drop(accounts);
    let server =
        TestServer::start_configured(dir, Limits::default(), Duration::from_secs(30), |state| {
            state.app.set_push_limits(PushLimits {
                window: Duration::from_millis(100),
                max_records: 1000,
            });
            state.app.set_max_streams(2);
            state
        })
        .await;
    (server, push, staff)
}

async fn connect(server: &TestServer, key: Option<&str>) -> reqwest::Response {
    let mut request =
        server.client.get(format!("{}{API}/catalog/datasets/live/changes/stream", server.base));
    if let Some(key) = key {
        request = request.header("Authorization", format!("Apikey {key}"));
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_connected_client_receives_the_changed_records_of_a_push() {
    let (server, push, staff) = live_server().await;
    let response = connect(&server, None).await;
    assert_eq!(response.status().as_u16(), 200);
    let ct = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    // Let the server see where the dataset stands before the push.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let pushed = server
        .client
        .post(format!("{}/api/push/1.0/live/realtime/push?pushkey={push}", server.base))
        .json(&json!([{"id": 2, "name": "b2", "count": 21}, {"id": 3, "name": "c", "count": 30}]))
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status().as_u16(), 200, "{}", pushed.text().await.unwrap());

    let (events, _) =
        read_events(response, |events| events.iter().any(|e| e.name == "version_end")).await;
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["version", "change", "change", "version_end"], "{events:?}");
    let head = &events[0].data;
    assert_eq!(head["dataset_id"], "live");
    assert_eq!(head["version"], 2, "{head}");
    assert_eq!(head["previous_version"], 1);
    assert_eq!(head["records_added"], 1, "{head}");
    assert_eq!(head["records_changed"], 1, "{head}");
    assert_eq!(head["records_removed"], 0, "{head}");
    assert_eq!(events[0].id.as_deref(), Some("2"));

    // The changes are the rows of /changes: compare them record by record.
    let diff = server.json(&format!("{API}/catalog/datasets/live/changes?from=1&to=2"), 200).await;
    let mut expected: Vec<Value> = diff["results"].as_array().unwrap().clone();
    let mut got: Vec<Value> = events[1..3].iter().map(|e| e.data.clone()).collect();
    let key = |v: &Value| v["record_id"].as_str().unwrap().to_owned();
    expected.sort_by_key(key);
    got.sort_by_key(key);
    assert_eq!(got, expected);
    let added = got.iter().find(|c| c["change"] == "added").unwrap();
    assert_eq!(added["record"]["name"], "c", "{added}");
    assert_eq!(added["record"]["count"], 30);
    let changed = got.iter().find(|c| c["change"] == "changed").unwrap();
    assert_eq!(changed["fields"]["name"], json!({"old": "b", "new": "b2"}), "{changed}");
    assert_eq!(changed["fields"]["count"], json!({"old": 20, "new": 21}), "{changed}");
    assert_eq!(events[3].data["changes"], 2);
    assert!(events[1].id.as_deref().is_some_and(|id| id.starts_with("2:")));

    // The dataset made private: anonymous callers may no longer connect (not found), its
    // staff may. At most two streams at once: the third is refused with 503 ServerBusy.
    let dir_store = server.stop();
    let accounts = Accounts::new(Arc::new(Store::open(dir_store.path()).unwrap()));
    accounts.set_visibility(&operator(), "live", Visibility::Restricted).unwrap();
    drop(accounts);
    let server = TestServer::start_configured(
        dir_store,
        Limits::default(),
        Duration::from_secs(30),
        |state| {
            state.app.set_max_streams(2);
            state
        },
    )
    .await;
    let refused = connect(&server, None).await;
    assert_eq!(refused.status().as_u16(), 404);
    assert!(refused.text().await.unwrap().contains("DatasetNotFound"));
    let one = connect(&server, Some(&staff)).await;
    assert_eq!(one.status().as_u16(), 200);
    let two = connect(&server, Some(&staff)).await;
    assert_eq!(two.status().as_u16(), 200);
    let three = connect(&server, Some(&staff)).await;
    assert_eq!(three.status().as_u16(), 503);
    let body: Value = three.json().await.unwrap();
    assert_eq!(body["error_code"], "ServerBusy", "{body}");
    assert!(body["message"].as_str().unwrap().contains("--max-change-streams"), "{body}");
    // A stream closed gives its place back (at the latest when its next keep-alive finds the
    // connection gone).
    drop(one);
    let again = wait_for_place(&server, &staff, "").await;
    assert_eq!(again.status().as_u16(), 200);
    // timeout=0 ends at once; a bad timeout is refused.
    drop((two, again));
    let ended = wait_for_place(&server, &staff, "?timeout=0").await;
    assert_eq!(ended.status().as_u16(), 200);
    let rest = tokio::time::timeout(Duration::from_secs(5), ended.text()).await;
    assert!(rest.is_ok(), "timeout=0 must end the stream");
    let (status, _, body) =
        server.get(&format!("{API}/catalog/datasets/live/changes/stream?timeout=-1")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("InvalidRESTParameterError") && body.contains("timeout"), "{body}");
}

/// Connects as `key` with `query`, retrying (up to 20 s) while every place is taken.
async fn wait_for_place(server: &TestServer, key: &str, query: &str) -> reqwest::Response {
    for _ in 0..200 {
        let r = server
            .client
            .get(format!("{}{API}/catalog/datasets/live/changes/stream{query}", server.base))
            .header("Authorization", format!("Apikey {key}"))
            .send()
            .await
            .unwrap();
        if r.status().as_u16() != 503 {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no place was given back within 20 s");
}
