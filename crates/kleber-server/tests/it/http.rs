//! HTTP behaviour of every route (docs/http.md): HEAD, 405 with `Allow`, `ETag` and `304`,
//! gzip and brotli, CORS, API keys, and JSON for every error, panics and axum's rejections
//! included.

use std::io::Read;
use std::path::Path;

use kleber_ingest::ImportOptions;
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::common::{TestServer, enc, import, real};

const V: &str = "/api/explore/v2.1";
const PARKINGS: &str = "strasbourg_occupation-parkings-temps-reel.csv";
const VELIB: &str = "paris_velib-disponibilite-en-temps-reel_utf8-bom.csv";

/// A server with the real parkings (29 lines) and Vélib' (1 472 rows) files.
async fn server() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &real(PARKINGS), "parkings", ImportOptions::default());
    import(dir.path(), &real(VELIB), "velib", ImportOptions::default());
    TestServer::start(dir).await
}

/// Every GET route of Explore v2.1 (with a record id of the parkings dataset).
async fn get_routes(server: &TestServer) -> Vec<String> {
    let rows = server.records("parkings", "select=_id&limit=1").await;
    let rid = rows[0]["_id"].as_str().unwrap().to_owned();
    let d = format!("{V}/catalog/datasets/parkings");
    vec![
        format!("{V}/"),
        format!("{V}/catalog"),
        format!("{V}/catalog/datasets"),
        format!("{V}/catalog/facets"),
        d.clone(),
        format!("{d}/records?limit=3"),
        format!("{d}/records/{rid}"),
        format!("{d}/facets"),
        format!("{d}/exports"),
        format!("{d}/exports/csv"),
        format!("{d}/exports/json"),
        format!("{d}/exports/jsonl"),
    ]
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts the JSON error envelope with this status and code.
    fn assert_error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "{}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.header("content-type"), "application/json; charset=utf-8");
        let v = self.json();
        assert_eq!(v["error_code"], code, "{v}");
        assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
        v["message"].as_str().unwrap().to_owned()
    }
}

async fn send(server: &TestServer, method: Method, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = server.client.request(method, format!("{}{path}", server.base));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap().to_vec();
    Answer { status, headers, body }
}

async fn get(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> Answer {
    send(server, Method::GET, path, headers).await
}

#[tokio::test]
async fn head_answers_like_get_without_a_body_on_every_get_route() {
    let server = server().await;
    let mut routes = get_routes(&server).await;
    // Errors too.
    routes.push(format!("{V}/catalog/datasets/nope/records"));
    routes.push(format!("{V}/catalog/datasets/parkings/records?limit=1000"));
    routes.push("/api/explore/v9".to_owned());
    for path in routes {
        let g = get(&server, &path, &[]).await;
        let h = send(&server, Method::HEAD, &path, &[]).await;
        assert_eq!(h.status, g.status, "HEAD {path}");
        assert!(h.body.is_empty(), "HEAD {path} has a body");
        for name in ["content-type", "etag", "cache-control", "content-disposition"] {
            assert_eq!(h.header(name), g.header(name), "HEAD {path}: {name}");
        }
        if let Some(length) = g.headers.get("content-length") {
            assert_eq!(length.to_str().unwrap(), g.body.len().to_string(), "GET {path}");
            assert_eq!(h.header("content-length"), length.to_str().unwrap(), "HEAD {path}");
        }
        if g.status.is_success() {
            assert!(!g.body.is_empty(), "GET {path} is empty");
        }
    }
}

#[tokio::test]
async fn other_methods_answer_405_json_with_allow() {
    let server = server().await;
    for path in get_routes(&server).await {
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let a = send(&server, method.clone(), &path, &[]).await;
            let message = a.assert_error(405, "MethodNotAllowed");
            assert!(message.starts_with(&format!("{method} is not allowed on ")), "{message}");
            let mut allow: Vec<String> =
                a.header("allow").split(',').map(|m| m.trim().to_owned()).collect();
            allow.sort();
            assert_eq!(allow, ["GET", "HEAD"], "{method} {path}");
        }
    }
    // No route at all: 404, whatever the method.
    let a = send(&server, Method::POST, "/api/explore/v2.1/nothing", &[]).await;
    a.assert_error(404, "NotFound");
}

fn etag(a: &Answer) -> String {
    let tag = a.header("etag").to_owned();
    assert!(tag.starts_with("W/\"") && tag.ends_with('"'), "weak tag expected: {tag:?}");
    tag
}

#[tokio::test]
async fn etag_and_304_follow_the_dataset_version() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &real(PARKINGS), "parkings", ImportOptions::default());
    import(dir.path(), &real(VELIB), "velib", ImportOptions::default());
    let data_dir = dir.path().to_path_buf();
    let server = TestServer::start(dir).await;
    let records = format!("{V}/catalog/datasets/parkings/records?limit=5");

    let first = get(&server, &records, &[]).await;
    assert_eq!(first.status, 200);
    let tag = etag(&first);
    assert_eq!(first.header("cache-control"), "public, max-age=60, must-revalidate");
    assert!(first.header("vary").to_ascii_lowercase().contains("accept-encoding"));
    // Same request, same tag; another query or dataset, another tag.
    assert_eq!(etag(&get(&server, &records, &[]).await), tag);
    assert_ne!(etag(&get(&server, &format!("{records}&offset=1"), &[]).await), tag);
    assert_ne!(
        etag(&get(&server, &format!("{V}/catalog/datasets/velib/records?limit=5"), &[]).await),
        tag
    );

    let again = get(&server, &records, &[("if-none-match", &tag)]).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), tag);
    assert_eq!(again.header("cache-control"), "public, max-age=60, must-revalidate");
    let listed = get(&server, &records, &[("if-none-match", &format!("\"x\", {tag}"))]).await;
    assert_eq!(listed.status, 304, "a tag among others matches");
    let head = send(&server, Method::HEAD, &records, &[("if-none-match", &tag)]).await;
    assert_eq!(head.status, 304);
    let star = get(&server, &records, &[("if-none-match", "*")]).await;
    assert_eq!(star.status, 304, "* matches an existing representation");
    let star = get(&server, &format!("{V}/catalog/datasets/nope"), &[("if-none-match", "*")]).await;
    star.assert_error(404, "DatasetNotFound");
    let other = get(&server, &records, &[("if-none-match", "W/\"other\"")]).await;
    assert_eq!((other.status, other.body.clone()), (first.status, first.body.clone()));

    // Errors carry no validator.
    let bad = get(&server, &format!("{V}/catalog/datasets/parkings/records?limit=1000"), &[]).await;
    assert!(bad.headers.get("etag").is_none());

    // Catalog routes follow the catalog's generation.
    let catalog = format!("{V}/catalog/datasets?limit=10");
    let catalog_tag = etag(&get(&server, &catalog, &[]).await);
    let dataset = format!("{V}/catalog/datasets/parkings");
    let dataset_tag = etag(&get(&server, &dataset, &[]).await);
    let velib = format!("{V}/catalog/datasets/velib/records?limit=5");
    let velib_tag = etag(&get(&server, &velib, &[]).await);

    // A metadata change (no new version) changes the dataset's and the catalog's tags.
    let store = kleber_store::Store::open(&data_dir).unwrap();
    let patch = serde_json::json!({"title": "Parkings (renamed)"});
    store.update_metas("parkings", patch.as_object().unwrap()).unwrap();
    let renamed = changed(&server, &dataset, &dataset_tag).await;
    assert_eq!(renamed.status, 200);
    assert_eq!(renamed.json()["metas"]["default"]["title"], "Parkings (renamed)");
    assert_ne!(etag(&renamed), dataset_tag);
    assert_eq!(get(&server, &catalog, &[("if-none-match", &catalog_tag)]).await.status, 200);

    // A new version of parkings: new tag, the old one gets the new data; velib is untouched.
    let rows = std::fs::read_to_string(real(PARKINGS)).unwrap();
    let fewer: String = rows.lines().take(11).map(|l| format!("{l}\n")).collect();
    let file = data_dir.join("parkings-v2.csv");
    std::fs::write(&file, fewer).unwrap();
    import(&data_dir, &file, "parkings", ImportOptions::default());
    let fresh = changed(&server, &records, &tag).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.json()["total_count"], 10);
    let new_tag = etag(&fresh);
    assert_ne!(new_tag, tag);
    assert_eq!(get(&server, &records, &[("if-none-match", &new_tag)]).await.status, 304);
    assert_eq!(get(&server, &velib, &[("if-none-match", &velib_tag)]).await.status, 304);
}

/// GET `path` with `If-None-Match: tag` until the answer is no longer `304`: a change written
/// by another `Store` (as another process would) is seen within milliseconds, not at once.
async fn changed(server: &TestServer, path: &str, tag: &str) -> Answer {
    for _ in 0..100 {
        let a = get(server, path, &[("if-none-match", tag)]).await;
        if a.status != StatusCode::NOT_MODIFIED {
            return a;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{path} still answers 304 to {tag} two seconds after the change");
}

#[tokio::test]
async fn a_matching_if_none_match_does_not_run_the_query() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &real(PARKINGS), "parkings", ImportOptions::default());
    let server = TestServer::start(dir).await;
    let paths = [
        format!("{V}/catalog/datasets/parkings/records?where=total%3E100"),
        format!("{V}/catalog/datasets/parkings/exports/csv"),
    ];
    let mut tags = Vec::new();
    for path in &paths {
        tags.push(etag(&get(&server, path, &[]).await));
    }
    // The data file disappears: any query now fails, but validators need only the catalog.
    let dir = server.stop();
    remove_parquet_files(dir.path());
    let server = TestServer::start(dir).await;
    for (path, tag) in paths.iter().zip(&tags) {
        let a = get(&server, path, &[("if-none-match", tag)]).await;
        assert_eq!(a.status, 304, "{path}: {}", String::from_utf8_lossy(&a.body));
        get(&server, path, &[]).await.assert_error(500, "InternalError");
    }
}

fn remove_parquet_files(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            remove_parquet_files(&path);
        } else if path.extension().is_some_and(|e| e == "parquet") {
            std::fs::remove_file(path).unwrap();
        }
    }
}

#[tokio::test]
async fn queries_calling_now_or_random_are_not_validated() {
    let server = server().await;
    let path =
        format!("{V}/catalog/datasets/parkings/records?where={}", enc("now() > date'2000-01-01'"));
    let a = get(&server, &path, &[]).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert!(a.headers.get("etag").is_none());
    assert_eq!(a.header("cache-control"), "no-cache");
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096).read_to_end(&mut out).unwrap();
    out
}

#[tokio::test]
async fn gzip_and_brotli_round_trip_and_exports_still_stream() {
    let server = server().await;
    let paths = [
        format!("{V}/catalog/datasets/velib/exports/csv"),
        format!("{V}/catalog/datasets/velib/exports/json"),
        format!("{V}/catalog/datasets/velib/records?limit=100"),
        format!("{V}/catalog/datasets"),
    ];
    for path in &paths {
        let plain = get(&server, path, &[]).await;
        assert_eq!(plain.status, 200);
        assert!(plain.headers.get("content-encoding").is_none(), "{path}: not asked");
        let gz = get(&server, path, &[("accept-encoding", "gzip")]).await;
        assert_eq!(gz.header("content-encoding"), "gzip", "{path}");
        assert_eq!(gunzip(&gz.body), plain.body, "{path}");
        let br = get(&server, path, &[("accept-encoding", "br;q=1, gzip;q=0.5")]).await;
        assert_eq!(br.header("content-encoding"), "br", "{path}");
        assert_eq!(unbrotli(&br.body), plain.body, "{path}");
        assert!(br.body.len() < plain.body.len(), "{path}: brotli saves nothing");
        // One tag for every encoding (weak tags).
        assert_eq!(etag(&gz), etag(&plain));
        assert_eq!(etag(&br), etag(&plain));
        // Not asked, or refused: identity.
        let identity = get(&server, path, &[("accept-encoding", "identity")]).await;
        assert!(identity.headers.get("content-encoding").is_none(), "{path}");
    }
    // An export of the whole dataset is still sent as it is produced: no Content-Length.
    let csv = get(&server, &paths[0], &[("accept-encoding", "gzip")]).await;
    assert!(csv.headers.get("content-length").is_none(), "export buffered: {:?}", csv.headers);
    let csv = String::from_utf8(gunzip(&csv.body)).unwrap();
    let source_rows = std::fs::read_to_string(real(VELIB)).unwrap().lines().count();
    assert_eq!(csv.lines().count(), source_rows, "header + one line per station");
}

#[tokio::test]
async fn already_compressed_exports_are_not_compressed_again() {
    let server = server().await;
    let d = format!("{V}/catalog/datasets/velib/exports");
    for (format, magic) in [
        ("csv?compressed=true", &[0x1f, 0x8b][..]),
        ("parquet", b"PAR1"),
        ("xlsx", b"PK"),
        ("shp", b"PK"),
    ] {
        let a = get(&server, &format!("{d}/{format}"), &[("accept-encoding", "br, gzip")]).await;
        assert_eq!(a.status, 200, "{format}: {}", String::from_utf8_lossy(&a.body));
        assert!(a.headers.get("content-encoding").is_none(), "{format} compressed twice");
        assert!(a.body.starts_with(magic), "{format}: {:?}", &a.body[..8.min(a.body.len())]);
    }
    let gz = get(&server, &format!("{d}/csv?compressed=true"), &[]).await;
    let plain = get(&server, &format!("{d}/csv"), &[]).await;
    assert_eq!(gunzip(&gz.body), plain.body);
}

#[tokio::test]
async fn cors_preflight_and_exposed_headers() {
    let server = server().await;
    let path = format!("{V}/catalog/datasets/parkings/records");
    let preflight = send(
        &server,
        Method::OPTIONS,
        &path,
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "authorization, if-none-match, ods-widgets-version"),
        ],
    )
    .await;
    assert_eq!(preflight.status, 200);
    assert_eq!(preflight.header("access-control-allow-origin"), "*");
    let methods = preflight.header("access-control-allow-methods").to_ascii_uppercase();
    assert!(methods.contains("GET") && methods.contains("HEAD"), "{methods}");
    assert!(!methods.contains("POST"), "{methods}");
    let allowed = preflight.header("access-control-allow-headers").to_ascii_lowercase();
    for h in ["authorization", "if-none-match", "ods-widgets-version"] {
        assert!(allowed.contains(h), "{h} not allowed: {allowed}");
    }
    assert_eq!(preflight.header("access-control-max-age"), "86400");
    assert!(preflight.headers.get("access-control-allow-credentials").is_none());

    let actual = get(&server, &path, &[("origin", "https://app.example")]).await;
    assert_eq!(actual.status, 200);
    assert_eq!(actual.header("access-control-allow-origin"), "*");
    let exposed = actual.header("access-control-expose-headers").to_ascii_lowercase();
    for h in ["etag", "content-disposition", "ods-explore-api-deprecation", "x-ratelimit-limit"] {
        assert!(exposed.contains(h), "{h} not exposed: {exposed}");
    }
    // Errors and 304 are readable cross-origin too.
    let error =
        get(&server, &format!("{path}?limit=1000"), &[("origin", "https://a.example")]).await;
    assert_eq!(error.header("access-control-allow-origin"), "*");
    let tag = etag(&actual);
    let not_modified =
        get(&server, &path, &[("origin", "https://a.example"), ("if-none-match", &tag)]).await;
    assert_eq!(not_modified.status, 304);
    assert_eq!(not_modified.header("access-control-allow-origin"), "*");
}

#[tokio::test]
async fn api_keys_in_both_forms_grant_public_access_and_never_leak() {
    let server = server().await;
    // A real key of a user in no organization: it reads what anonymous callers read.
    let key = server.api_key();
    let records = format!("{V}/catalog/datasets/parkings/records");
    let path = format!("{records}?limit=2&include_links=true");
    let anonymous = get(&server, &path, &[]).await;
    assert_eq!(anonymous.status, 200);
    let (header, header_other_case) = (format!("Apikey {key}"), format!("ApiKey {key}"));
    let keyed_forms: [(String, Option<&str>); 4] = [
        (format!("{path}&apikey={key}"), None),
        (format!("{records}?apikey={key}&limit=2&include_links=true"), None),
        (path.clone(), Some(&header)),
        (path.clone(), Some(&header_other_case)),
    ];
    for (p, authorization) in &keyed_forms {
        let headers: Vec<(&str, &str)> =
            authorization.iter().map(|value| ("authorization", *value)).collect();
        let a = get(&server, p, &headers).await;
        assert_eq!(a.status, 200, "{p}: {}", String::from_utf8_lossy(&a.body));
        assert_eq!(a.json(), anonymous.json(), "{p}: the key is not echoed in links");
        assert!(!String::from_utf8_lossy(&a.body).contains(&key[4..]));
        assert_eq!(etag(&a), etag(&anonymous), "{p}: the key is not part of the tag");
        assert_eq!(a.header("cache-control"), "private, max-age=60, must-revalidate");
    }
    // Exports and the catalog take it too.
    let export =
        get(&server, &format!("{V}/catalog/datasets/parkings/exports/csv?apikey={key}"), &[]).await;
    assert_eq!(export.status, 200);
    // A well-formed key that no account holds is refused, like an ill-formed one.
    let unknown = get(&server, &format!("{path}&apikey=0123abcd"), &[]).await;
    assert!(unknown.assert_error(401, "InvalidApiKey").contains("Unknown API key"));

    for (header_value, needle) in [
        ("Bearer abc", "Unsupported authorization scheme \"Bearer\""),
        ("Basic dXNlcjpwYXNz", "Unsupported authorization scheme \"Basic\""),
        ("Apikey", "empty API key"),
        ("Apikey two words", "not visible ASCII"),
    ] {
        let a = get(&server, &path, &[("authorization", header_value)]).await;
        let message = a.assert_error(401, "InvalidApiKey");
        assert!(message.contains(needle), "{header_value}: {message}");
        assert_eq!(a.header("www-authenticate"), "Apikey");
    }
    let a = get(&server, &format!("{path}&apikey={}", "k".repeat(300)), &[]).await;
    assert!(a.assert_error(401, "InvalidApiKey").contains("300 bytes"));
    let a = get(&server, &format!("{path}&apikey=a&apikey=b"), &[]).await;
    a.assert_error(401, "InvalidApiKey");
    let a = get(&server, &format!("{path}&apikey=a"), &[("authorization", "Apikey b")]).await;
    a.assert_error(401, "InvalidApiKey");
    // An empty apikey is no key.
    assert_eq!(get(&server, &format!("{path}&apikey="), &[]).await.status, 200);
}

#[tokio::test]
async fn every_error_path_answers_json() {
    let server = server().await;
    let d = format!("{V}/catalog/datasets");
    // axum's own rejection of a path that is not UTF-8 once decoded.
    let a = get(&server, &format!("{d}/%FF/records"), &[]).await;
    let message = a.assert_error(400, "InvalidRESTParameterError");
    assert!(!message.is_empty());
    let h = send(&server, Method::HEAD, &format!("{d}/%FF/records"), &[]).await;
    assert_eq!(h.status, 400);
    assert_eq!(h.header("content-type"), "application/json; charset=utf-8");
    assert!(h.body.is_empty());
    // Unknown paths, datasets, records, formats; bad parameters; bad ODSQL.
    get(&server, "/api/nothing/here", &[]).await.assert_error(404, "NotFound");
    get(&server, &format!("{d}/nope"), &[]).await.assert_error(404, "DatasetNotFound");
    get(&server, &format!("{d}/parkings/records/{}", "0".repeat(40)), &[])
        .await
        .assert_error(404, "RecordNotFound");
    get(&server, &format!("{d}/parkings/exports/nope"), &[]).await.assert_error(404, "NotFound");
    get(&server, &format!("{d}/parkings/records?limit=x"), &[])
        .await
        .assert_error(400, "InvalidRESTParameterError");
    get(&server, &format!("{d}/parkings/records?where=nope%3D1"), &[])
        .await
        .assert_error(400, "ODSQLError");
    // Bad UTF-8 in the query string.
    let a = get(&server, &format!("{d}/parkings/records?where=%FF"), &[]).await;
    assert!(a.status.is_client_error(), "{}", a.status);
    assert_eq!(a.header("content-type"), "application/json; charset=utf-8");
}

/// A router with routes that misbehave on purpose, under the same layers as the server's.
async fn misbehaving_server() -> (String, tokio::sync::oneshot::Sender<()>) {
    use axum::http::header as h;
    use axum::routing::get;
    let dir = tempfile::tempdir().unwrap();
    let store = kleber_store::Store::open(dir.path()).unwrap();
    let engine = kleber_query::Engine::new(kleber_query::Limits::default()).unwrap();
    let state = kleber_server::AppState::new(store, engine, std::time::Duration::from_secs(5));
    #[allow(clippy::panic, reason = "the route under test panics on purpose")]
    async fn panics() -> &'static str {
        panic!("on purpose")
    }
    let zip = || async { ([(h::CONTENT_TYPE, "application/zip")], vec![b'z'; 4096]) };
    let gz_file = || async {
        (
            [
                (h::CONTENT_TYPE, "application/octet-stream"),
                (h::CONTENT_DISPOSITION, "attachment; filename=\"data.csv.gz\""),
            ],
            vec![b'g'; 4096],
        )
    };
    let text = || async { vec![b't'; 4096] };
    let plain_error = || async { (StatusCode::IM_A_TEAPOT, "short and stout") };
    let html_404 = || async {
        (StatusCode::NOT_FOUND, axum::response::Html("<html><body>Page not found</body></html>"))
    };
    let router = axum::Router::new()
        .route("/api/panic", get(panics))
        .route("/api/zip", get(zip))
        .route("/api/gz-file", get(gz_file))
        .route("/api/text", get(text))
        .route("/api/teapot", get(plain_error))
        .route("/page/teapot", get(plain_error))
        .route("/api/html-404", get(html_404));
    let app = kleber_server::http::apply(router, &state).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _keep = dir;
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    (base, stop)
}

#[tokio::test]
async fn panics_and_plain_text_errors_become_json_and_compressed_bodies_stay_as_they_are() {
    let (base, _stop) = misbehaving_server().await;
    let client = reqwest::Client::new();
    let fetch = |path: &'static str, encoding: &'static str| {
        let client = client.clone();
        let url = format!("{base}{path}");
        async move {
            let r = client.get(url).header("accept-encoding", encoding).send().await.unwrap();
            let status = r.status();
            let headers = r.headers().clone();
            Answer { status, headers, body: r.bytes().await.unwrap().to_vec() }
        }
    };
    let panic = fetch("/api/panic", "identity").await;
    assert_eq!(
        panic.assert_error(500, "InternalError"),
        "Internal server error; the details are in the server log."
    );
    // The server survived.
    assert_eq!(fetch("/api/text", "identity").await.status, 200);

    let teapot = fetch("/api/teapot", "identity").await;
    assert_eq!(teapot.assert_error(418, "InvalidRESTParameterError"), "short and stout");
    // An HTML error page on an API path becomes JSON, without the page as message.
    let html = fetch("/api/html-404", "identity").await;
    assert_eq!(html.assert_error(404, "NotFound"), "No API endpoint at /api/html-404.");
    // Outside the API, errors are left as they are (HTML pages may answer them).
    let page = fetch("/page/teapot", "identity").await;
    assert_eq!((page.status.as_u16(), page.body.as_slice()), (418, b"short and stout".as_slice()));

    for path in ["/api/zip", "/api/gz-file"] {
        let a = fetch(path, "gzip, br").await;
        assert!(a.headers.get(header::CONTENT_ENCODING).is_none(), "{path} compressed twice");
        assert_eq!(a.body.len(), 4096, "{path}");
    }
    let text = fetch("/api/text", "gzip").await;
    assert_eq!(text.header("content-encoding"), "gzip");
    assert_eq!(gunzip(&text.body), vec![b't'; 4096]);
}

#[tokio::test]
async fn legacy_routes_get_the_same_treatment() {
    let server = server().await;
    let key = server.api_key();
    for path in [
        "/api/explore/v2.0/catalog/datasets/parkings/records?rows=2",
        "/api/v2/catalog/datasets/parkings",
        "/api/v2/catalog/datasets",
        "/api/records/1.0/search/?dataset=parkings&rows=3",
        "/api/records/1.0/download/?dataset=parkings&format=csv",
        "/api/datasets/1.0/parkings/",
        "/api/datasets/1.0/search/",
        "/explore/dataset/parkings/download/?format=csv",
    ] {
        let g = get(&server, path, &[("accept-encoding", "gzip")]).await;
        assert_eq!(g.status, 200, "{path}: {}", String::from_utf8_lossy(&g.body));
        let tag = etag(&g);
        assert_eq!(g.header("content-encoding"), "gzip", "{path}");
        let again = get(&server, path, &[("if-none-match", &tag)]).await;
        assert_eq!(again.status, 304, "{path}");
        let h = send(&server, Method::HEAD, path, &[]).await;
        assert_eq!((h.status, h.header("etag")), (g.status, tag.as_str()), "HEAD {path}");
        assert!(h.body.is_empty());
        let separator = if path.contains('?') { '&' } else { '?' };
        let keyed = get(&server, &format!("{path}{separator}apikey={key}"), &[]).await;
        assert_eq!(etag(&keyed), tag, "{path}: apikey is not part of the tag");
    }
    // v1 errors made outside the handlers keep the v1 shape (odsclient reads `error`).
    let v1 = "/api/records/1.0/search/?dataset=parkings";
    let refused = get(&server, v1, &[("authorization", "Bearer x")]).await;
    assert_eq!(refused.status, 401);
    let body = refused.json();
    assert_eq!(body["error_code"], "InvalidApiKey", "{body}");
    assert!(body["error"].as_str().unwrap().contains("Bearer"), "{body}");
    let missing = get(&server, "/api/records/1.0/nothing", &[]).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error_code"], "NotFound");
    assert!(missing.json()["error"].is_string(), "{}", missing.json());
}
