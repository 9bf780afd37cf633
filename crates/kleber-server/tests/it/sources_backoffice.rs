//! The back office's remote-source forms (issue 14 item 1, web/source_panel.rs) through real
//! HTTP with signed-in sessions, against a loopback file server: a source set with the form
//! is what the management API shows (header names only), "Run now" fetches it with the
//! header and its records are served by the Explore API; a bad cron, URL or header line is
//! refused with the application's message and changes nothing; header values never appear in
//! a page; an empty headers field keeps the stored ones, the checkbox removes them; a form
//! without its CSRF token is refused; another organization's admin gets the missing page and
//! changes nothing; Clear removes the source and keeps the data.

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use kleber_ingest::ImportOptions;
use kleber_store::{Role, Scope, Store};
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{TestServer, import};
use crate::forms::{Browser, PASSWORD, element, location, unescape};

const EVE: &str = "eve@example.org"; // ems editor
const OSCAR: &str = "oscar@example.org"; // colmar admin
const SECRET: &str = "Bearer t0k3n-9d7a1b";
const REMOTE_CSV: &str = "id;nom;places\n10;Gare;120\n11;Halles;80\n12;Rivetoile;300\n";

/// A loopback server answering `/parkings.csv` with [`REMOTE_CSV`]; its base URL and the
/// `Authorization` headers it received.
async fn file_server() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let router = axum::Router::new().route(
        "/parkings.csv",
        axum::routing::get(move |headers: HeaderMap| {
            let log = Arc::clone(&log);
            async move {
                let auth =
                    headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
                log.lock().unwrap().push(auth);
                REMOTE_CSV
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, seen)
}

/// `parkings` (ems) imported by hand with one record; Eve edits ems, Oscar administers
/// colmar; Eve's API key (read, write).
fn fixture(dir: &Path) -> String {
    let rows = dir.join("rows.csv");
    std::fs::write(&rows, "id;nom;places\n1;Ancien;5\n").unwrap();
    import(dir, &rows, "parkings", ImportOptions::default());
    let accounts = kleber_app::accounts::Accounts::new(Arc::new(Store::open(dir).unwrap()));
    let op = kleber_app::accounts::operator();
    crate::common::create_orgs(
        &accounts,
        &[("ems", "Eurométropole"), ("colmar", "Ville de Colmar")],
    );
    accounts.set_dataset_org(&op, "parkings", "ems").unwrap();
    for email in [EVE, OSCAR] {
        accounts.create_user(&op, email, None, false, Some(PASSWORD)).unwrap();
    }
    accounts.set_member(&op, "ems", EVE, Role::Editor).unwrap();
    accounts.set_member(&op, "colmar", OSCAR, Role::Admin).unwrap();
    accounts.create_key(&op, EVE, "t", &[Scope::Read, Scope::Write], None).unwrap().key
}

struct Portal {
    server: TestServer,
    web: Browser,
    key: String,
}

impl std::ops::Deref for Portal {
    type Target = Browser;

    fn deref(&self) -> &Browser {
        &self.web
    }
}

impl Portal {
    /// An API GET with Eve's key: status and JSON.
    async fn api(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.server.base))
            .header("Authorization", format!("Apikey {}", self.key))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The source as the management API shows it (`Null` when there is none).
    async fn source(&self) -> Value {
        let (status, body) = self.api("/api/management/v1/datasets/parkings/sources").await;
        match status {
            200 => body,
            404 => Value::Null,
            other => panic!("GET sources: {other} {body}"),
        }
    }

    /// The `nom` of every record the Explore API serves, sorted.
    async fn names(&self) -> Vec<String> {
        let (status, body) =
            self.api("/api/explore/v2.1/catalog/datasets/parkings/records?limit=100").await;
        assert_eq!(status, 200, "{body}");
        let mut names: Vec<String> = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["nom"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_forms_set_run_refuse_and_clear() {
    let dir = tempfile::tempdir().unwrap();
    let key = fixture(dir.path());
    let (files, seen) = file_server().await;
    let server = TestServer::start(dir).await;
    let web = Browser::new(&server.base);
    let p = Portal { server, web, key };
    let eve = p.sign_in(EVE).await;
    let url = format!("{files}/parkings.csv");
    const SAVE: &str = "/admin/datasets/parkings/source/save";

    // No source yet: the edit page offers the form only.
    let (status, page) = p.get("/admin/datasets/parkings/", &eve).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"source-none\""), "{page}");
    assert!(page.contains(&format!("action=\"{SAVE}\"")), "{page}");
    assert!(!page.contains("id=\"source-run\""), "no Run without a source: {page}");
    assert_eq!(p.source().await, Value::Null);

    // Set with the form: what the management API shows, header names only.
    let header_line = format!("Authorization: {SECRET}");
    let response = p
        .post(
            SAVE,
            &eve,
            &[
                ("urls", &format!("\n{url}\n")),
                ("headers", &header_line),
                ("schedule", "*/5 * * * *"),
                ("unique_id", "id"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&response).starts_with("/admin/datasets/parkings/"),
        "{}",
        location(&response)
    );
    let source = p.source().await;
    assert_eq!(source["urls"], serde_json::json!([url]), "{source}");
    assert_eq!(source["header_names"], serde_json::json!(["Authorization"]), "{source}");
    assert_eq!(source["schedule"], "*/5 * * * *", "{source}");
    assert_eq!(source["unique_id"], serde_json::json!(["id"]), "{source}");
    let (_, page) = p.get("/admin/datasets/parkings/", &eve).await;
    assert!(page.contains(&url) && page.contains("Authorization"), "{page}");
    assert!(!page.contains("t0k3n"), "a header value in the page: {page}");
    assert!(page.contains("id=\"source-run\""), "{page}");

    // Run now: the file server is asked with the header, the records are the remote file's.
    assert_eq!(p.names().await, vec!["Ancien"]);
    let response = p.post("/admin/datasets/parkings/source/run", &eve, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(seen.lock().unwrap().as_slice(), &[Some(SECRET.to_owned())]);
    assert_eq!(p.names().await, vec!["Gare", "Halles", "Rivetoile"]);
    let (_, page) = p.get("/admin/datasets/parkings/", &eve).await;
    assert!(page.contains("class=\"run-published\""), "{page}");

    // Refused inputs: the application's message on the page, the source unchanged, and the
    // typed header value never shown back.
    let expected_cron = kleber_app::schedule::parse_schedule("61 * * * *").unwrap_err();
    let bad_url = "ftp://example.org/p.csv";
    let expected_url = kleber_app::sources::check_url(bad_url).unwrap_err();
    for (fields, expected) in [
        (
            vec![
                ("urls", url.as_str()),
                ("headers", header_line.as_str()),
                ("schedule", "61 * * * *"),
            ],
            expected_cron,
        ),
        (vec![("urls", bad_url), ("schedule", "")], expected_url),
        (
            vec![("urls", url.as_str()), ("headers", "Authorization Bearer x")],
            "headers, line 1: expected 'Name: value'".to_owned(),
        ),
        (
            vec![("urls", url.as_str()), ("headers", "X-Key: a\nBad Name: v")],
            format!(
                "headers, line 2: {}",
                kleber_app::sources::check_header("Bad Name", "v").unwrap_err()
            ),
        ),
        (vec![("urls", "")], "a source needs at least one URL".to_owned()),
    ] {
        let response = p.post(SAVE, &eve, &fields).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{fields:?}");
        let page = response.text().await.unwrap();
        let error = unescape(element(&page, "source-error"));
        assert!(error.contains(&expected), "{fields:?}: {error:?} lacks {expected:?}");
        assert!(!page.contains("t0k3n"), "a header value in the page: {page}");
        assert_eq!(p.source().await, source, "{fields:?} changed the source");
    }

    // An empty headers field keeps the stored headers; the checkbox removes them.
    let response =
        p.post(SAVE, &eve, &[("urls", &url), ("headers", ""), ("schedule", "0 6 * * *")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let kept = p.source().await;
    assert_eq!(
        (&kept["header_names"], &kept["schedule"]),
        (&serde_json::json!(["Authorization"]), &Value::from("0 6 * * *"))
    );
    assert_eq!(kept["unique_id"], serde_json::json!([]), "the emptied unique-id field");
    let response = p.post(SAVE, &eve, &[("urls", &url), ("remove_headers", "1")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let removed = p.source().await;
    assert_eq!(
        (&removed["header_names"], &removed["schedule"]),
        (&serde_json::json!([]), &Value::Null)
    );

    // Forged forms: no or a wrong token is refused and changes nothing.
    for csrf in ["", "wrong"] {
        for path in [SAVE, "/admin/datasets/parkings/source/clear"] {
            let response =
                p.post_with(path, &eve, csrf, &[("urls", "https://example.org/x.csv")]).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path} with csrf {csrf:?}");
        }
    }
    assert_eq!(p.source().await, removed);

    // Another organization's admin: the missing page, nothing changed, nothing run.
    let oscar = p.sign_in(OSCAR).await;
    let (status, _) = p.get("/admin/datasets/parkings/source", &oscar).await;
    assert_eq!(status, 404);
    for path in
        [SAVE, "/admin/datasets/parkings/source/run", "/admin/datasets/parkings/source/clear"]
    {
        let response = p.post(path, &oscar, &[("urls", "https://example.org/x.csv")]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(p.source().await, removed);
    assert_eq!(seen.lock().unwrap().len(), 1, "Oscar's run fetched");

    // Clear: the source goes, the data stays; Run then says there is none.
    let response = p.post("/admin/datasets/parkings/source/clear", &eve, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(p.source().await, Value::Null);
    assert_eq!(p.names().await, vec!["Gare", "Halles", "Rivetoile"]);
    let response = p.post("/admin/datasets/parkings/source/run", &eve, &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let page = response.text().await.unwrap();
    assert!(unescape(element(&page, "source-error")).contains("has no source"), "{page}");
}
