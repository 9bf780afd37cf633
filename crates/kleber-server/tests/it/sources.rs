//! Remote sources and schedules (issue 14 items 1 and 2, docs/sources.md), everything on
//! loopback: a file server written here whose file changes, stays the same (`304`: nothing
//! published), breaks (`500`, a file that is not data: the current version stays and the run
//! is marked failed), is slow (timeout) or too large; headers with credentials reaching it and
//! stored encrypted (the catalog file does not hold the secret); the management API allowed
//! and refused per role; the scheduler under a clock the test controls (the right minutes in
//! Europe/Paris across a daylight-saving change, one catch-up after a restart); the CLI; and
//! the examples of docs/sources.md.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use kleber_app::accounts::{Accounts, operator};
use kleber_app::manage::Editor;
use kleber_app::schedule::{ManualClock, spawn_scheduler};
use kleber_app::sources::SourceSpec;
use kleber_query::Limits;
use kleber_store::{Role, Scope, Store};
use serde_json::{Value, json};

use crate::common::{TestServer, app_over};

const M: &str = "/api/management/v1";
const SECRET: &str = "Bearer s3cr3t-4f9e2c";

/// What the file server serves, and what it saw.
#[derive(Clone)]
struct Served {
    body: Vec<u8>,
    etag: String,
    status: u16,
    delay: Duration,
    /// Requests received: (path, Authorization header, If-None-Match header).
    seen: Vec<(String, Option<String>, Option<String>)>,
}

type Files = Arc<Mutex<Served>>;

async fn serve_file(
    State(files): State<Files>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let text = |name: header::HeaderName| {
        headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    };
    let served = {
        let mut s = files.lock().unwrap();
        s.seen.push((
            uri.path().to_owned(),
            text(header::AUTHORIZATION),
            text(header::IF_NONE_MATCH),
        ));
        s.clone()
    };
    if !served.delay.is_zero() {
        tokio::time::sleep(served.delay).await;
    }
    if served.status != 200 {
        return (StatusCode::from_u16(served.status).unwrap(), "broken").into_response();
    }
    if text(header::IF_NONE_MATCH).as_deref() == Some(served.etag.as_str()) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, served.etag.clone())]).into_response();
    }
    (StatusCode::OK, [(header::ETAG, served.etag.clone())], served.body.clone()).into_response()
}

/// A file server on loopback serving `csv` with ETag `v1` at every path; its base URL.
async fn file_server(csv: &str) -> (String, Files) {
    let files = Arc::new(Mutex::new(Served {
        body: csv.as_bytes().to_vec(),
        etag: "\"v1\"".to_owned(),
        status: 200,
        delay: Duration::ZERO,
        seen: Vec::new(),
    }));
    let router = axum::Router::new().fallback(serve_file).with_state(Arc::clone(&files));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}"), files)
}

fn set(files: &Files, f: impl FnOnce(&mut Served)) {
    f(&mut files.lock().unwrap());
}

/// A server over a data directory with organizations `ems` and `autre`, a draft dataset
/// `parkings` of `ems` without a version, and keys: `ems`'s editor (read+write), its
/// viewer, the editor's read-only key, `autre`'s admin.
struct Fixture {
    server: TestServer,
    app: Arc<kleber_app::App>,
    dir: PathBuf,
    editor: String,
    viewer: String,
    read_only: String,
    other: String,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let accounts = Accounts::new(Arc::new(Store::open(&path).unwrap()));
    let op = operator();
    crate::common::create_orgs(&accounts, &[("ems", "Eurométropole"), ("autre", "Autre")]);
    for (email, org, role) in [
        ("editor@ems.example", "ems", Role::Editor),
        ("viewer@ems.example", "ems", Role::Viewer),
        ("other@autre.example", "autre", Role::Admin),
    ] {
        accounts.create_user(&op, email, None, false, None).unwrap();
        accounts.set_member(&op, org, email, role).unwrap();
    }
    let key = |email: &str, scopes: &[Scope]| {
        accounts.create_key(&op, email, "tests", scopes, None).unwrap().key
    };
    let all = [Scope::Read, Scope::Write, Scope::Admin];
    let editor = key("editor@ems.example", &[Scope::Read, Scope::Write]);
    let read_only = key("editor@ems.example", &[Scope::Read]);
    let viewer = key("viewer@ems.example", &all);
    let other = key("other@autre.example", &all);
    drop(accounts);
    let mut app = None;
    let server =
        TestServer::start_configured(dir, Limits::default(), Duration::from_secs(30), |s| {
            app = Some(Arc::clone(&s.app));
            s
        })
        .await;
    let f = Fixture { server, app: app.unwrap(), dir: path, editor, viewer, read_only, other };
    let (status, body) = f
        .call(
            "POST",
            "/datasets",
            Some(&f.editor),
            Some(json!({"id": "parkings", "organization": "ems", "title": "Parkings"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    f
}

impl Fixture {
    /// A management API call with `key`; status and JSON body.
    async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}{M}{path}", self.server.base);
        let mut request = self.server.client.request(method.parse().unwrap(), url);
        if let Some(key) = key {
            request = request.header("Authorization", format!("Apikey {key}"));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn run(&self) -> Value {
        let (status, run) =
            self.call("POST", "/datasets/parkings/sources/run", Some(&self.editor), None).await;
        assert_eq!(status, 200, "{run}");
        run
    }

    async fn versions(&self) -> Vec<i64> {
        let (status, list) =
            self.call("GET", "/datasets/parkings/versions", Some(&self.editor), None).await;
        assert_eq!(status, 200, "{list}");
        list.as_array().unwrap().iter().map(|v| v["number"].as_i64().unwrap()).collect()
    }

    /// (id, count, record id) of each record, by id, through Explore v2.0 (which gives ids).
    async fn records(&self) -> Vec<(i64, i64, String)> {
        let v = self
            .editor_json("/api/v2/catalog/datasets/parkings/records?order_by=id&limit=100")
            .await;
        v["records"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|r| {
                let f = &r["record"]["fields"];
                (
                    f["id"].as_i64().unwrap(),
                    f["count"].as_i64().unwrap(),
                    r["record"]["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

/// Every byte of the catalog's files (the database and its write-ahead log).
fn catalog_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["catalog.sqlite", "catalog.sqlite-wal"] {
        if let Ok(bytes) = std::fs::read(dir.join(name)) {
            all.extend(bytes);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn a_source_is_fetched_conditionally_and_a_failed_run_keeps_the_current_version() {
    let f = fixture().await;
    let (files_url, files) = file_server("id;name;count\n1;Gare;10\n2;Halles;20\n").await;
    let url = format!("{files_url}/parkings.csv");
    let (status, view) = f
        .call(
            "PUT",
            "/datasets/parkings/sources",
            Some(&f.editor),
            Some(json!({"urls": [url], "headers": {"Authorization": SECRET}, "unique_id": ["id"]})),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["header_names"], json!(["Authorization"]));
    assert_eq!(view["failing"], false);
    assert!(!view.to_string().contains("s3cr3t"), "{view}");
    // Stored encrypted: neither the catalog nor its log holds the secret; the key is private.
    assert!(!contains(&catalog_bytes(&f.dir), "s3cr3t"));
    let key = std::fs::metadata(f.dir.join("sources.key")).unwrap();
    assert_eq!(key.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
    }
    let (_, shown) = f.call("GET", "/datasets/parkings/sources", Some(&f.editor), None).await;
    assert!(!shown.to_string().contains("s3cr3t"), "{shown}");

    // First run: published, with the credentials sent.
    let run = f.run().await;
    assert_eq!(
        (run["outcome"].as_str(), run["records"].as_i64(), run["version"].as_i64()),
        (Some("published"), Some(2), Some(1)),
        "{run}"
    );
    assert_eq!(run["trigger"], "manual");
    let seen = files.lock().unwrap().seen.clone();
    assert_eq!(seen.last().unwrap().1.as_deref(), Some(SECRET));
    assert_eq!(seen.last().unwrap().2, None, "the first request is not conditional");
    let first = f.records().await;
    assert_eq!(first.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(), [(1, 10), (2, 20)]);

    // Unchanged: a conditional request answered 304, nothing published.
    let run = f.run().await;
    assert_eq!(run["outcome"], "unchanged", "{run}");
    assert_eq!(files.lock().unwrap().seen.last().unwrap().2.as_deref(), Some("\"v1\""));
    assert_eq!(f.versions().await, [1]);

    // Changed: a new version; the record of id 1 keeps its record id (unique-id field).
    set(&files, |s| {
        s.body = b"id;name;count\n1;Gare;11\n2;Halles;20\n3;Wodli;5\n".to_vec();
        s.etag = "\"v2\"".to_owned();
    });
    let run = f.run().await;
    assert_eq!(
        (run["outcome"].as_str(), run["version"].as_i64(), run["records"].as_i64()),
        (Some("published"), Some(2), Some(3)),
        "{run}"
    );
    let second = f.records().await;
    assert_eq!(second[0].1, 11);
    assert_eq!(second[0].2, first[0].2, "record ids stay across refreshes");

    // Same bytes under a new ETag (a server without conditional requests): nothing published.
    set(&files, |s| s.etag = "\"v2-again\"".to_owned());
    assert_eq!(f.run().await["outcome"], "unchanged");
    assert_eq!(f.versions().await, [2, 1]);

    // Broken: HTTP 500. The run fails, version 2 stays, the dataset is marked.
    set(&files, |s| s.status = 500);
    let run = f.run().await;
    assert_eq!(run["outcome"], "failed", "{run}");
    assert!(run["error"].as_str().unwrap().contains("answered HTTP 500"), "{run}");
    let (_, d) = f.call("GET", "/datasets/parkings", Some(&f.editor), None).await;
    assert_eq!(d["current_version"], 2, "{d}");
    assert_eq!(d["refresh"]["failing"], true, "{d}");
    assert_eq!(d["refresh"]["last_run"]["outcome"], "failed", "{d}");

    // A file that is not data: failed, the current version stays.
    set(&files, |s| {
        s.status = 200;
        s.body = b"<!DOCTYPE html><html><body>Maintenance</body></html>".to_vec();
        s.etag = "\"maintenance\"".to_owned();
    });
    let run = f.run().await;
    assert_eq!(run["outcome"], "failed", "{run}");
    assert!(run["error"].as_str().unwrap().contains("cannot be read"), "{run}");
    assert_eq!(f.versions().await, [2, 1]);
    assert_eq!(f.records().await.len(), 3);

    // Mended: published again, the mark removed.
    set(&files, |s| {
        s.body = b"id;name;count\n1;Gare;12\n2;Halles;20\n3;Wodli;5\n".to_vec();
        s.etag = "\"v3\"".to_owned();
    });
    assert_eq!(f.run().await["outcome"], "published");
    let (_, d) = f.call("GET", "/datasets/parkings", Some(&f.editor), None).await;
    assert_eq!(d["refresh"]["failing"], false, "{d}");

    // Slow: the fetch times out; too large: refused while it streams.
    let put = |extra: Value| {
        let mut body = json!({"urls": [format!("{files_url}/parkings.csv")], "unique_id": ["id"]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let (status, view) = f
        .call(
            "PUT",
            "/datasets/parkings/sources",
            Some(&f.editor),
            Some(put(json!({"timeout_secs": 1}))),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["header_names"], json!(["Authorization"]), "headers kept when not given");
    set(&files, |s| {
        s.delay = Duration::from_secs(4);
        s.etag = "\"v4\"".to_owned();
    });
    let started = std::time::Instant::now();
    let run = f.run().await;
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    assert_eq!(run["outcome"], "failed", "{run}");
    assert!(run["error"].as_str().unwrap().contains("within 1 s"), "{run}");
    set(&files, |s| {
        s.delay = Duration::ZERO;
        let mut big = b"id;name;count\n".to_vec();
        for i in 0..100_000 {
            big.extend(format!("{i};station {i};{i}\n").as_bytes());
        }
        s.body = big;
    });
    f.call("PUT", "/datasets/parkings/sources", Some(&f.editor), Some(put(json!({"max_mb": 1}))))
        .await;
    let run = f.run().await;
    assert_eq!(run["outcome"], "failed", "{run}");
    assert!(
        run["error"].as_str().unwrap().contains("more than the limit of 1048576 bytes"),
        "{run}"
    );
    assert_eq!(f.versions().await, [3, 2, 1]);

    // Every run is listed, newest first.
    let (status, runs) =
        f.call("GET", "/datasets/parkings/sources/runs?limit=100", Some(&f.editor), None).await;
    assert_eq!(status, 200);
    let outcomes: Vec<&str> =
        runs.as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(
        outcomes,
        [
            "failed",
            "failed",
            "published",
            "failed",
            "failed",
            "unchanged",
            "published",
            "unchanged",
            "published"
        ]
    );
    assert!(runs[0]["ended_at"].is_string() && runs[0]["started_at"].is_string());
    // The edit page's panel shows the same, header names only.
    let html = kleber_server::web::source_panel::source_panel(
        &f.app,
        &Editor::operator(),
        "parkings",
        kleber_web::Lang::Fr,
        String::new(),
        None,
    )
    .await
    .unwrap();
    assert!(html.contains("Dernières mises à jour") && html.contains("run-published"), "{html}");
    assert!(html.contains("Authorization") && !html.contains("s3cr3t"), "{html}");

    // Cleared: the source and its runs go, the data stays.
    let (status, cleared) =
        f.call("DELETE", "/datasets/parkings/sources", Some(&f.editor), None).await;
    assert_eq!((status, &cleared["cleared"]), (200, &json!(true)));
    let (status, _) = f.call("GET", "/datasets/parkings/sources", Some(&f.editor), None).await;
    assert_eq!(status, 404);
    assert_eq!(f.records().await.len(), 3);
}

#[tokio::test]
async fn several_urls_are_concatenated_and_zipped_files_are_read() {
    let f = fixture().await;
    let (files_url, files) = file_server("").await;
    // Both paths get the same body from this server: the rows come twice.
    set(&files, |s| s.body = b"code,places\nA,3\nB,4\n".to_vec());
    let (status, view) = f
        .call(
            "PUT",
            "/datasets/parkings/sources",
            Some(&f.editor),
            Some(json!({"urls": [format!("{files_url}/a.csv"), format!("{files_url}/b.csv")]})),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    let run = f.run().await;
    assert_eq!(
        (run["outcome"].as_str(), run["records"].as_i64()),
        (Some("published"), Some(4)),
        "{run}"
    );
    // A zip holding a CSV (written here with the zip tool of the ingest tests' own kind:
    // a stored, uncompressed member).
    set(&files, |s| {
        s.body = zip_one("parkings.csv", b"code,places\nC,5\n");
        s.etag = "\"zip\"".to_owned();
    });
    f.call(
        "PUT",
        "/datasets/parkings/sources",
        Some(&f.editor),
        Some(json!({"urls": [format!("{files_url}/p.zip")]})),
    )
    .await;
    let run = f.run().await;
    assert_eq!(
        (run["outcome"].as_str(), run["records"].as_i64()),
        (Some("published"), Some(1)),
        "{run}"
    );
}

/// A zip archive of one stored (uncompressed) member, written by hand from the format's
/// specification (local header, data, central directory, end record).
fn zip_one(name: &str, data: &[u8]) -> Vec<u8> {
    let crc = crc32(data);
    let mut out = Vec::new();
    let le16 = |v: u16| v.to_le_bytes();
    let le32 = |v: u32| v.to_le_bytes();
    out.extend(le32(0x0403_4b50));
    out.extend(le16(20));
    out.extend(le16(0));
    out.extend(le16(0));
    out.extend(le16(0));
    out.extend(le16(0));
    out.extend(le32(crc));
    out.extend(le32(data.len() as u32));
    out.extend(le32(data.len() as u32));
    out.extend(le16(name.len() as u16));
    out.extend(le16(0));
    out.extend(name.as_bytes());
    out.extend(data);
    let central = out.len() as u32;
    out.extend(le32(0x0201_4b50));
    out.extend(le16(20));
    out.extend(le16(20));
    out.extend(le16(0));
    out.extend(le16(0));
    out.extend(le16(0));
    out.extend(le16(0));
    out.extend(le32(crc));
    out.extend(le32(data.len() as u32));
    out.extend(le32(data.len() as u32));
    out.extend(le16(name.len() as u16));
    out.extend(le16(0));
    out.extend(le16(0));
    out.extend(le16(0));
    out.extend(le16(0));
    out.extend(le32(0));
    out.extend(le32(0));
    out.extend(name.as_bytes());
    let size = out.len() as u32 - central;
    out.extend(le32(0x0605_4b50));
    out.extend(le16(0));
    out.extend(le16(0));
    out.extend(le16(1));
    out.extend(le16(1));
    out.extend(le32(size));
    out.extend(le32(central));
    out.extend(le16(0));
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[tokio::test]
async fn sources_are_managed_by_the_datasets_editors_only_and_bad_input_is_explained() {
    let f = fixture().await;
    let good = json!({"urls": ["http://127.0.0.1:9/a.csv"], "schedule": "*/5 * * * *"});
    let p = "/datasets/parkings/sources";
    // Refused: no credentials, a viewer, a key without the write scope, another organization
    // (which does not see the draft at all).
    assert_eq!(f.call("PUT", p, None, Some(good.clone())).await.0, 401);
    // The viewer does not see the draft at all; the editor's read-only key sees it but may
    // not change it.
    let (status, body) = f.call("PUT", p, Some(&f.viewer), Some(good.clone())).await;
    assert_eq!((status, body["error_code"].as_str()), (404, Some("DatasetNotFound")), "{body}");
    let (status, body) = f.call("PUT", p, Some(&f.read_only), Some(good.clone())).await;
    assert_eq!((status, body["error_code"].as_str()), (403, Some("Forbidden")), "{body}");
    let (status, body) = f.call("PUT", p, Some(&f.other), Some(good.clone())).await;
    assert_eq!((status, body["error_code"].as_str()), (404, Some("DatasetNotFound")), "{body}");
    for path in [p, "/datasets/parkings/sources/runs"] {
        assert_eq!(f.call("GET", path, Some(&f.viewer), None).await.0, 404, "{path}");
        assert_eq!(f.call("GET", path, Some(&f.other), None).await.0, 404, "{path}");
    }
    assert_eq!(
        f.call("POST", "/datasets/parkings/sources/run", Some(&f.read_only), None).await.0,
        403
    );
    assert_eq!(f.call("DELETE", p, Some(&f.other), None).await.0, 404);
    // Nothing was set by the refused calls.
    let (status, body) = f.call("GET", p, Some(&f.editor), None).await;
    assert_eq!((status, body["error_code"].as_str()), (404, Some("NotFound")), "{body}");
    let (status, body) =
        f.call("POST", "/datasets/parkings/sources/run", Some(&f.editor), None).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["message"].as_str().unwrap().contains("has no source"), "{body}");
    // Bad input: a clear message, nothing changed.
    for (body, needle) in [
        (
            json!({"urls": ["http://127.0.0.1:9/a.csv"], "schedule": "every minute"}),
            "five (minute hour",
        ),
        (
            json!({"urls": ["http://127.0.0.1:9/a.csv"], "schedule": "61 * * * *"}),
            "not a cron expression",
        ),
        (json!({"urls": ["ftp://example.org/a.csv"]}), "only http and https"),
        (json!({"urls": ["pas une url"]}), "is not a URL"),
        (json!({"urls": []}), "at least one URL"),
        (json!({"urls": ["https://user:pw@example.org/a.csv"]}), "send them in a header"),
        (
            json!({"urls": ["http://127.0.0.1:9/a.csv"], "headers": {"bad name": "x"}}),
            "not a valid HTTP header name",
        ),
        (
            json!({"urls": ["http://127.0.0.1:9/a.csv"], "cron": "* * * * *"}),
            "unknown field `cron`",
        ),
    ] {
        let (status, answer) = f.call("PUT", p, Some(&f.editor), Some(body.clone())).await;
        assert_eq!(
            (status, answer["error_code"].as_str()),
            (400, Some("InvalidRequestBody")),
            "{body}: {answer}"
        );
        assert!(answer["message"].as_str().unwrap().contains(needle), "{body}: {answer}");
    }
    assert_eq!(f.call("GET", p, Some(&f.editor), None).await.0, 404);
    let (status, body) =
        f.call("PUT", "/datasets/inconnu/sources", Some(&f.editor), Some(good.clone())).await;
    assert_eq!((status, body["error_code"].as_str()), (404, Some("DatasetNotFound")), "{body}");
    let (status, body) =
        f.call("GET", "/datasets/parkings/sources/runs?limit=0", Some(&f.editor), None).await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (400, Some("InvalidRESTParameterError")),
        "{body}"
    );
    // Allowed: the editor.
    let (status, view) = f.call("PUT", p, Some(&f.editor), Some(good)).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (view["schedule"].as_str(), view["timezone"].as_str()),
        (Some("*/5 * * * *"), Some("Europe/Paris"))
    );
    assert!(view["next_run"].is_string(), "{view}");
    // The OpenAPI document lists the routes.
    let doc = f.server.json(&format!("{M}/openapi.json"), 200).await;
    for path in
        ["/datasets/{id}/sources", "/datasets/{id}/sources/run", "/datasets/{id}/sources/runs"]
    {
        assert!(
            doc["paths"][format!("{M}{path}")].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Scheduled runs of dataset `parkings` so far (oldest first): their start times as recorded
/// by the clock of the claim.
async fn scheduled_runs(app: &kleber_app::App) -> usize {
    let runs = app.source_runs(&Editor::operator(), "parkings", 200).await.unwrap();
    runs.iter().filter(|r| r.trigger == "schedule").count()
}

#[tokio::test]
async fn the_scheduler_runs_at_the_right_minutes_in_paris_and_catches_up_once_after_a_restart() {
    let f = fixture().await;
    let (files_url, files) = file_server("id;count\n1;1\n").await;
    let app = Arc::clone(&f.app);
    let spec = SourceSpec {
        urls: vec![format!("{files_url}/p.csv")],
        schedule: Some("0 6 * * *".to_owned()),
        ..SourceSpec::default()
    };
    app.set_source(&Editor::operator(), "parkings", spec).await.unwrap();
    // The clock starts before the daylight-saving change of 29 March 2026 (02:00 → 03:00).
    let ticks = |now: &'static str| {
        let app = Arc::clone(&app);
        async move { app.run_due_sources(utc(now)).await.unwrap().len() }
    };
    assert_eq!(ticks("2026-03-27T12:00:00Z").await, 0, "a schedule starts from the first tick");
    assert_eq!(ticks("2026-03-28T04:59:00Z").await, 0);
    // 06:00 in Paris on the 28th is 05:00 UTC (winter time)...
    assert_eq!(ticks("2026-03-28T05:00:00Z").await, 1);
    assert_eq!(ticks("2026-03-28T05:01:00Z").await, 0, "once per occurrence");
    assert_eq!(ticks("2026-03-29T03:59:00Z").await, 0);
    // ... and 04:00 UTC on the 29th (summer time).
    assert_eq!(ticks("2026-03-29T04:00:00Z").await, 1);
    assert_eq!(scheduled_runs(&app).await, 2);
    let view = app.source(&Editor::operator(), "parkings").await.unwrap().unwrap();
    assert_eq!(view.next_run.as_deref(), Some("2026-03-30T04:00:00Z"), "{view:?}");
    let next = app.next_refreshes().await.unwrap();
    assert_eq!(next, [("parkings".to_owned(), utc("2026-03-30T04:00:00Z"))]);

    // A "restart": a new application over the same directory, five days later. The missed
    // occurrences are caught up once.
    let restarted = Arc::new(app_over(&f.dir));
    assert_eq!(restarted.run_due_sources(utc("2026-04-03T12:00:00Z")).await.unwrap().len(), 1);
    assert_eq!(restarted.run_due_sources(utc("2026-04-03T12:01:00Z")).await.unwrap().len(), 0);
    assert_eq!(restarted.run_due_sources(utc("2026-04-04T04:00:00Z")).await.unwrap().len(), 1);
    assert_eq!(scheduled_runs(&restarted).await, 4);
    // The first run published, the others found the file unchanged (304).
    let runs = restarted.source_runs(&Editor::operator(), "parkings", 10).await.unwrap();
    let outcomes: Vec<&str> = runs.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, ["unchanged", "unchanged", "unchanged", "published"]);
    assert_eq!(files.lock().unwrap().seen.len(), 4);

    // The scheduler task itself, on a manual clock: it wakes when the clock reaches the next
    // minute and runs what is due then.
    let spec = SourceSpec {
        urls: vec![format!("{files_url}/p.csv")],
        schedule: Some("* * * * *".to_owned()),
        ..SourceSpec::default()
    };
    restarted.set_source(&Editor::operator(), "parkings", spec).await.unwrap();
    let clock = Arc::new(ManualClock::new(utc("2026-04-05T10:00:30Z")));
    let task = spawn_scheduler(Arc::clone(&restarted), clock.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = scheduled_runs(&restarted).await;
    clock.set(utc("2026-04-05T10:01:00Z"));
    let mut waited = Duration::ZERO;
    while scheduled_runs(&restarted).await == before && waited < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    assert_eq!(scheduled_runs(&restarted).await, before + 1, "the task ran the source at 10:01");
    task.abort();
}

/// A real-time dataset refreshed every minute keeps its record ids, and unchanged minutes
/// publish nothing.
#[tokio::test]
async fn a_real_time_source_refreshed_every_minute_keeps_record_ids() {
    let f = fixture().await;
    let (files_url, files) = file_server("id;name;count\n1;Gare;10\n2;Halles;20\n").await;
    let spec = SourceSpec {
        urls: vec![format!("{files_url}/live.csv")],
        schedule: Some("* * * * *".to_owned()),
        unique_id: vec!["id".to_owned()],
        ..SourceSpec::default()
    };
    f.app.set_source(&Editor::operator(), "parkings", spec).await.unwrap();
    f.app.run_due_sources(utc("2026-06-01T10:00:00Z")).await.unwrap();
    let mut ids = None;
    for minute in 1..=6 {
        if minute % 2 == 0 {
            set(&files, |s| {
                s.body = format!("id;name;count\n1;Gare;{minute}\n2;Halles;20\n").into_bytes();
                s.etag = format!("\"m{minute}\"");
            });
        }
        let runs =
            f.app.run_due_sources(utc(&format!("2026-06-01T10:0{minute}:00Z"))).await.unwrap();
        assert_eq!(runs.len(), 1, "minute {minute}");
        let expected = if minute == 1 || minute % 2 == 0 { "published" } else { "unchanged" };
        assert_eq!(runs[0].outcome, expected, "minute {minute}: {:?}", runs[0]);
        let now: Vec<String> = f.records().await.into_iter().map(|r| r.2).collect();
        assert_eq!(now.len(), 2);
        if let Some(before) = &ids {
            assert_eq!(&now, before, "minute {minute}: record ids changed");
        }
        ids = Some(now);
    }
    assert_eq!(f.versions().await, [4, 3, 2, 1]);
}

/// `kleber source set/show/run/clear` on a data directory, with a file server on loopback.
#[tokio::test]
async fn the_source_commands_set_show_run_and_clear() {
    let dir = tempfile::tempdir().unwrap();
    let (files_url, _files) = file_server("code;places\nA;3\n").await;
    let csv = dir.path().join("seed.csv");
    std::fs::write(&csv, "code;places\nZ;0\n").unwrap();
    let kleber = |args: Vec<String>| {
        let data = dir.path().join("data");
        async move {
            tokio::task::spawn_blocking(move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_kleber"))
                    .args(&args)
                    .arg("--data-dir")
                    .arg(&data)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    let s = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let out = kleber(s(&["import", csv.to_str().unwrap(), "--dataset", "parkings"])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let url = format!("{files_url}/p.csv");
    let out = kleber(s(&[
        "source",
        "set",
        "parkings",
        "--url",
        &url,
        "--header",
        &format!("Authorization: {SECRET}"),
        "--schedule",
        "*/10 * * * *",
    ]))
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("headers: Authorization (values stored encrypted)"), "{stdout}");
    assert!(!stdout.contains("s3cr3t"), "{stdout}");
    let out = kleber(s(&["source", "run", "parkings"])).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("parkings: version 2 published (1 records, 0 rejected rows)"),
        "{stdout}"
    );
    let out = kleber(s(&["source", "run", "parkings"])).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("unchanged, nothing published"));
    let out = kleber(s(&["source", "show", "parkings"])).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        stdout.contains(&format!("url: {url}"))
            && stdout.contains("schedule: */10 * * * * (Europe/Paris), next run"),
        "{stdout}"
    );
    assert!(
        stdout.contains("manual") && stdout.contains("unchanged") && !stdout.contains("s3cr3t"),
        "{stdout}"
    );
    // Errors say what and how to fix, and change nothing.
    for (args, needle) in [
        (s(&["source", "set", "parkings", "--url", &url, "--schedule", "* * *"]), "has 3 fields"),
        (s(&["source", "set", "parkings", "--url", "file:///etc/passwd"]), "only http and https"),
        (
            s(&["source", "set", "parkings", "--url", &url, "--header", "NoColon"]),
            "expected 'Name: value'",
        ),
        (s(&["source", "set", "inconnu", "--url", &url]), "inconnu"),
        (s(&["source", "run", "inconnu"]), "inconnu"),
    ] {
        let out = kleber(args.clone()).await;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    let out = kleber(s(&["source", "show", "parkings"])).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("*/10 * * * *"),
        "unchanged by the refused commands"
    );
    // A broken source: the command fails, the version stays.
    let out =
        kleber(s(&["source", "set", "parkings", "--url", "http://127.0.0.1:9/closed.csv"])).await;
    assert!(out.status.success());
    let out = kleber(s(&["source", "run", "parkings"])).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success() && stderr.contains("keeps its current version"), "{stderr}");
    let out = kleber(s(&["source", "clear", "parkings"])).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("source removed"));
    let out = kleber(s(&["source", "show", "parkings"])).await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no source"));
}

/// The ```sh blocks of `doc`.
fn shell_blocks(doc: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// docs/sources.md's examples, run as they are with bash and curl against a real server and
/// a file server on loopback (`$FILES`).
#[tokio::test]
async fn the_examples_of_the_sources_guide_run() {
    let f = fixture().await;
    let (files_url, files) = file_server("id;nom;places\n1;Gare;120\n2;Halles;80\n").await;
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/sources.md"),
    )
    .expect("docs/sources.md");
    let blocks = shell_blocks(&doc);
    assert!(blocks.len() >= 4, "{blocks:?}");
    let work = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_kleber")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    for block in &blocks {
        let mut command = std::process::Command::new("bash");
        command
            .args(["-euo", "pipefail", "-c", block])
            .current_dir(work.path())
            .env("KLEBER", &f.server.base)
            .env("KEY", &f.editor)
            .env("DATA_DIR", &f.dir)
            .env("FILES", &files_url)
            .env("PATH", &path);
        let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap();
        assert!(
            output.status.success(),
            "{block}\nfailed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // What the examples did: the source set with its token, run, the data published.
    assert!(files.lock().unwrap().seen.iter().any(|s| s.1.as_deref() == Some("Bearer mon-jeton")));
    let view = f.app.source(&Editor::operator(), "parkings").await.unwrap().unwrap();
    assert_eq!(view.schedule.as_deref(), Some("*/5 * * * *"));
    assert_eq!(f.records_named().await, ["Gare", "Halles"]);
}

impl Fixture {
    /// The JSON answer to a GET of `path` with the editor's key.
    async fn editor_json(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.server.base);
        let response = self
            .server
            .client
            .get(url)
            .header("Authorization", format!("Apikey {}", self.editor))
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    async fn records_named(&self) -> Vec<String> {
        let v = self
            .editor_json("/api/explore/v2.1/catalog/datasets/parkings/records?order_by=id")
            .await;
        v["results"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|r| r["nom"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// The file a source run keeps for the processors' preview (`<data dir>/processors/<uid>/`)
/// goes with the source when it is cleared, with the dataset when it is deleted, and a
/// leftover one when the dataset is purged from the trash.
#[tokio::test]
async fn the_file_kept_for_previews_goes_with_the_source_and_the_dataset() {
    let f = fixture().await;
    let (files_url, files) = file_server("id;count\n1;1\n2;2\n").await;
    let app = Arc::clone(&f.app);
    let op = Editor::operator();
    let spec = || SourceSpec { urls: vec![format!("{files_url}/p.csv")], ..SourceSpec::default() };
    let uid = app.managed_dataset(&op, "parkings").await.unwrap().uid;
    let kept = f.dir.join("processors").join(&uid);
    let run = |n: u32| {
        let app = Arc::clone(&app);
        let files = Arc::clone(&files);
        async move {
            // A new file each time, so that no run is a 304.
            set(&files, |s| {
                s.body = format!("id;count\n1;{n}\n2;2\n").into_bytes();
                s.etag = format!("\"r{n}\"");
            });
            app.run_source(&Editor::operator(), "parkings").await.unwrap().outcome
        }
    };
    app.set_source(&op, "parkings", spec()).await.unwrap();
    assert_eq!(run(1).await, "published");
    assert!(kept.join("last-read.parquet").is_file(), "{} not kept", kept.display());
    // The source cleared: the file goes.
    assert!(app.clear_source(&op, "parkings").await.unwrap());
    assert!(!kept.exists(), "{} left after the source was cleared", kept.display());
    // The dataset deleted (to the trash): the file goes.
    app.set_source(&op, "parkings", spec()).await.unwrap();
    assert_eq!(run(2).await, "published");
    assert!(kept.join("last-read.parquet").is_file());
    app.change_lifecycle(&op, "parkings", kleber_store::Lifecycle::Delete).await.unwrap();
    assert!(!kept.exists(), "{} left after the dataset was deleted", kept.display());
    // Purged: a leftover (kept before deletions removed it) goes too.
    std::fs::create_dir_all(&kept).unwrap();
    std::fs::write(kept.join("last-read.parquet"), b"left over").unwrap();
    // Deletion times have seconds: purging what was deleted "before now" needs the next one.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.purge_trash(0).await.unwrap(), [uid]);
    assert!(!kept.exists(), "{} left after the dataset was purged", kept.display());
}
