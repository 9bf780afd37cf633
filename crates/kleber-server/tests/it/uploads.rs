//! Uploads of the management API (issue 13, docs/publishing.md#uploading): a real file
//! previewed, fixed, published and read back through the Explore API; bad input of each kind
//! answered with its error and nothing kept or published; only the uploader sees an upload.

use std::path::Path;
use std::time::Duration;

use kleber_app::accounts::{Accounts, operator};
use kleber_app::uploads::UploadLimits;
use kleber_query::Limits;
use kleber_store::{NewOrganization, OrgKind, Role, Scope, Store};
use serde_json::{Value, json};

use crate::common::{TestServer, real};

/// The largest upload of the test server.
const MAX_UPLOAD: u64 = 1 << 20;

/// Keys of the fixture's users.
struct Keys {
    editor: String,
    other_editor: String,
    viewer: String,
    read_only: String,
}

fn key(accounts: &Accounts, email: &str, role: Option<Role>, scopes: &[Scope]) -> String {
    let op = operator();
    accounts.create_user(&op, email, None, false, None).expect("user");
    if let Some(role) = role {
        accounts.set_member(&op, "ems", email, role).expect("member");
    }
    accounts.create_key(&op, email, "tests", scopes, None).expect("key").key
}

async fn server() -> (TestServer, Keys) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let accounts = Accounts::new(std::sync::Arc::new(store));
    let op = operator();
    let org = NewOrganization {
        id: "ems",
        name: "Eurométropole",
        kind: OrgKind::Metropolis,
        description: None,
        website: None,
        logo: None,
    };
    accounts.create_org(&op, &org).expect("org");
    let rw = [Scope::Read, Scope::Write];
    let keys = Keys {
        editor: key(&accounts, "editor@ems.example", Some(Role::Editor), &rw),
        other_editor: key(&accounts, "editor2@ems.example", Some(Role::Editor), &rw),
        viewer: key(&accounts, "viewer@ems.example", Some(Role::Viewer), &rw),
        read_only: key(&accounts, "reader@ems.example", Some(Role::Editor), &[Scope::Read]),
    };
    drop(accounts);
    let server =
        TestServer::start_configured(dir, Limits::default(), Duration::from_secs(30), |state| {
            state.with_upload_limits(UploadLimits {
                max_bytes: MAX_UPLOAD,
                ttl: Duration::from_secs(3600),
            })
        })
        .await;
    (server, keys)
}

const API: &str = "/api/management/v1";

/// Sends `method path` with `key` and `body`; answers the status and the JSON body.
async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut request = server.client.request(method, format!("{}{path}", server.base)).body(body);
    if let Some(key) = key {
        request = request.header("Authorization", format!("Apikey {key}"));
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
    (status, value)
}

async fn upload(server: &TestServer, key: &str, name: &str, body: Vec<u8>) -> (u16, Value) {
    let path = format!("{API}/uploads?filename={name}");
    call(server, reqwest::Method::POST, &path, Some(key), body).await
}

fn uploads_left(server_dir: &Path) -> usize {
    std::fs::read_dir(server_dir.join("tmp/uploads")).map(|d| d.count()).unwrap_or(0)
}

/// The fields of the first line and the number of lines of a Latin-1 `;` file whose texts
/// are quoted with `'`, decoded by hand (Latin-1 bytes are the first 256 code points).
fn latin1_rows(path: &Path) -> (Vec<String>, usize) {
    let text: String = std::fs::read(path).unwrap().iter().map(|&b| b as char).collect();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let first = lines[0].split(';').map(|v| v.trim_matches('\'').to_owned()).collect();
    (first, lines.len())
}

#[tokio::test]
async fn the_real_latin1_csv_is_previewed_fixed_published_and_read_back() {
    let (server, keys) = server().await;
    let file = real("paris_velib-disponibilite-en-temps-reel_latin1-noheader.csv");
    let (first, lines) = latin1_rows(&file);
    let (status, up) =
        upload(&server, &keys.editor, "velib.csv", std::fs::read(&file).unwrap()).await;
    assert_eq!(status, 201, "{up}");
    let preview = &up["preview"];
    assert_eq!(preview["format"], "csv");
    assert_eq!(preview["encoding"], "windows-1252");
    assert_eq!(preview["delimiter"], ";");
    assert_eq!(preview["has_header"], false);
    assert_eq!(preview["records_count"], lines as u64);
    assert_eq!(preview["rejected_count"], 0);
    assert_eq!(preview["records"].as_array().unwrap().len(), 20);
    let fields = preview["fields"].as_array().unwrap();
    assert_eq!(fields.len(), first.len());
    assert_eq!(fields[0]["name"], "column_1");
    assert_eq!(fields[0]["type"], "int");
    // The first row as it will be stored: typed values, texts decoded from Latin-1.
    let row = &preview["records"][0];
    assert_eq!(row["column_1"], first[0].parse::<i64>().unwrap());
    assert_eq!(row["column_2"], first[1].as_str());
    assert_eq!(row["column_4"], first[3].parse::<i64>().unwrap());
    let id = up["upload_id"].as_str().unwrap().to_owned();

    // Nothing is published yet.
    let (status, _, _) = server.get("/api/explore/v2.1/catalog/datasets/velib").await;
    assert_eq!(status, 404);
    // The upload again, for its owner only.
    let (status, again) = call(
        &server,
        reqwest::Method::GET,
        &format!("{API}/uploads/{id}"),
        Some(&keys.editor),
        vec![],
    )
    .await;
    assert_eq!((status, &again), (200, &up));
    let (status, other) = call(
        &server,
        reqwest::Method::GET,
        &format!("{API}/uploads/{id}"),
        Some(&keys.other_editor),
        vec![],
    )
    .await;
    assert_eq!((status, other["error_code"].as_str()), (404, Some("UploadNotFound")), "{other}");

    // Labels, a facet, the order and the unique id.
    let schema = json!({
        "fields": [
            {"name": "column_2", "label": "Nom station", "description": "Le nom"},
            {"name": "column_12", "label": "Commune", "facet": true, "disjunctive": true,
             "facet_sort": "alphanum"}
        ],
        "order": ["column_2"],
        "unique_id": ["column_1"]
    });
    let (status, fixed) = call(
        &server,
        reqwest::Method::PUT,
        &format!("{API}/uploads/{id}/schema"),
        Some(&keys.editor),
        schema.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{fixed}");
    let fields = fixed["preview"]["fields"].as_array().unwrap();
    assert_eq!(fields[0]["name"], "column_2");
    assert_eq!(fields[0]["label"], "Nom station");
    let commune = fields.iter().find(|f| f["name"] == "column_12").unwrap();
    assert_eq!(commune["annotations"]["facetsort"], json!(["alphanum"]));
    assert!(commune["annotations"].get("disjunctive").is_some(), "{commune}");

    // Another user cannot publish it; its owner can.
    let body =
        json!({"upload": id, "title": "Vélib", "organization": "ems"}).to_string().into_bytes();
    let versions = format!("{API}/datasets/velib/versions");
    let (status, refused) =
        call(&server, reqwest::Method::POST, &versions, Some(&keys.other_editor), body.clone())
            .await;
    assert_eq!((status, refused["error_code"].as_str()), (404, Some("UploadNotFound")));
    let (status, published) =
        call(&server, reqwest::Method::POST, &versions, Some(&keys.editor), body).await;
    assert_eq!(status, 201, "{published}");
    assert_eq!(published["version"], 1);

    let ds = server.json("/api/explore/v2.1/catalog/datasets/velib", 200).await;
    assert_eq!(ds["metas"]["default"]["records_count"], lines as u64);
    assert_eq!(ds["metas"]["default"]["title"], "Vélib");
    assert_eq!(ds["fields"][0]["label"], "Nom station");
    let hits = server.records("velib", &format!("where=column_1={}", first[0])).await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["column_2"], first[1].as_str());
    // An accented name read from Latin-1.
    let (_, _, body) = server
        .get("/api/explore/v2.1/catalog/datasets/velib/records?where=column_2%20like%20%22Jourdan%25%22")
        .await;
    assert!(body.contains("Stade Charléty"), "{body}");
    // The upload is gone once published.
    let (status, _) = call(
        &server,
        reqwest::Method::GET,
        &format!("{API}/uploads/{id}"),
        Some(&keys.editor),
        vec![],
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bad_uploads_answer_a_precise_error_and_keep_nothing() {
    let (server, keys) = server().await;
    // Oversized: announced by its length.
    let big = vec![b'a'; usize::try_from(MAX_UPLOAD).unwrap() + 1];
    let (status, e) = upload(&server, &keys.editor, "big.csv", big).await;
    assert_eq!((status, e["error_code"].as_str()), (413, Some("PayloadTooLarge")), "{e}");
    assert!(e["message"].as_str().unwrap().contains(&MAX_UPLOAD.to_string()), "{e}");
    // A PDF named .csv.
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n".to_vec();
    let (status, e) = upload(&server, &keys.editor, "data.csv", pdf).await;
    assert_eq!((status, e["error_code"].as_str()), (422, Some("UnreadableFile")), "{e}");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("PDF") && message.contains("data.csv"), "{message}");
    assert!(!message.contains("tmp/uploads"), "server paths leak: {message}");
    // An empty body.
    let (status, e) = upload(&server, &keys.editor, "empty.csv", Vec::new()).await;
    assert_eq!((status, e["error_code"].as_str()), (422, Some("UnreadableFile")), "{e}");
    // No credentials, or a key without the write scope.
    let path = format!("{API}/uploads");
    let (status, e) =
        call(&server, reqwest::Method::POST, &path, None, b"a;b\n1;2\n".to_vec()).await;
    assert_eq!((status, e["error_code"].as_str()), (401, Some("AuthenticationRequired")), "{e}");
    let (status, e) = upload(&server, &keys.read_only, "a.csv", b"a;b\n1;2\n".to_vec()).await;
    assert_eq!((status, e["error_code"].as_str()), (403, Some("Forbidden")), "{e}");
    // A session cookie without its CSRF token gives no right; with a made-up one, 403.
    let response = server
        .client
        .post(format!("{}{path}", server.base))
        .header("Cookie", format!("kleber_session={}", "0".repeat(64)))
        .body("a;b\n1;2\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let dir = server.stop();
    assert_eq!(uploads_left(dir.path()), 0, "refused uploads leave nothing");
}

/// A CSV whose `code` column holds ints on even rows and texts on odd ones; the lines of the
/// texts (1-based, after the header).
fn half_ints() -> (Vec<u8>, Vec<u64>) {
    let mut text = String::from("nom;code\n");
    let mut texts = Vec::new();
    for i in 0..10u64 {
        if i % 2 == 0 {
            text.push_str(&format!("n{i};{}\n", 100 + i));
        } else {
            text.push_str(&format!("n{i};X{i}\n"));
            texts.push(i + 2);
        }
    }
    (text.into_bytes(), texts)
}

#[tokio::test]
async fn a_type_half_the_rows_do_not_fit_rejects_them_and_needs_an_explicit_accept() {
    let (server, keys) = server().await;
    let (csv, text_lines) = half_ints();
    let (status, up) = upload(&server, &keys.editor, "codes.csv", csv).await;
    assert_eq!(status, 201, "{up}");
    assert_eq!(up["preview"]["fields"][1]["type"], "text");
    assert_eq!(up["preview"]["rejected_count"], 0);
    let id = up["upload_id"].as_str().unwrap().to_owned();
    let schema_path = format!("{API}/uploads/{id}/schema");

    // A schema naming no field changes nothing.
    let bad = json!({"fields": [{"name": "nope", "type": "int"}]}).to_string().into_bytes();
    let (status, e) =
        call(&server, reqwest::Method::PUT, &schema_path, Some(&keys.editor), bad).await;
    assert_eq!((status, e["error_code"].as_str()), (400, Some("InvalidRESTParameterError")), "{e}");
    assert!(e["message"].as_str().unwrap().contains("nope"), "{e}");
    let bad = json!({"fields": [{"name": "code", "type": "integer"}]}).to_string().into_bytes();
    let (status, _) =
        call(&server, reqwest::Method::PUT, &schema_path, Some(&keys.editor), bad).await;
    assert_eq!(status, 400);
    let (_, same) = call(
        &server,
        reqwest::Method::GET,
        &format!("{API}/uploads/{id}"),
        Some(&keys.editor),
        vec![],
    )
    .await;
    assert_eq!(same, up, "a refused schema changes nothing");

    // `code` as int: half the rows are rejected, each with its line and reason.
    let schema = json!({"fields": [{"name": "code", "type": "int"}]}).to_string().into_bytes();
    let (status, fixed) =
        call(&server, reqwest::Method::PUT, &schema_path, Some(&keys.editor), schema).await;
    assert_eq!(status, 200, "{fixed}");
    let preview = &fixed["preview"];
    assert_eq!(preview["records_count"], 5);
    assert_eq!(preview["rejected_count"], 5);
    let lines: Vec<u64> = preview["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, text_lines);
    let first = &preview["rejected"][0];
    assert_eq!(first["field"], "code");
    assert_eq!(first["value"], "X1");
    assert!(first["reason"].as_str().unwrap().contains("int"), "{first}");
    assert_eq!(preview["records"][0]["code"], 100);

    // Publishing needs an explicit accept.
    let versions = format!("{API}/datasets/codes/versions");
    let body = json!({"upload": id, "organization": "ems"}).to_string().into_bytes();
    let (status, e) =
        call(&server, reqwest::Method::POST, &versions, Some(&keys.editor), body).await;
    assert_eq!((status, e["error_code"].as_str()), (409, Some("RejectedRows")), "{e}");
    assert!(e["message"].as_str().unwrap().contains("accept_rejected"), "{e}");
    let (status, _, _) = server.get("/api/explore/v2.1/catalog/datasets/codes").await;
    assert_eq!(status, 404, "nothing published");
    let body = json!({"upload": id, "accept_rejected": true, "organization": "ems"})
        .to_string()
        .into_bytes();
    let (status, published) =
        call(&server, reqwest::Method::POST, &versions, Some(&keys.editor), body).await;
    assert_eq!(status, 201, "{published}");
    assert_eq!(published["rejected_count"], 5);
    let rows = server.records("codes", "order_by=code&limit=100").await;
    let codes: Vec<i64> = rows.iter().map(|r| r["code"].as_i64().unwrap()).collect();
    assert_eq!(codes, vec![100, 102, 104, 106, 108]);

    // A viewer of the organization may upload but not publish there, nor edit the dataset.
    let (status, mine) = upload(&server, &keys.viewer, "v.csv", b"nom;code\na;1\n".to_vec()).await;
    assert_eq!(status, 201, "{mine}");
    for dataset in ["codes", "nouveau"] {
        let org = if dataset == "codes" { None } else { Some("ems") };
        let body =
            json!({"upload": mine["upload_id"], "organization": org}).to_string().into_bytes();
        let path = format!("{API}/datasets/{dataset}/versions");
        let (status, e) =
            call(&server, reqwest::Method::POST, &path, Some(&keys.viewer), body.clone()).await;
        assert_eq!((status, e["error_code"].as_str()), (403, Some("Forbidden")), "{dataset}: {e}");
    }
    let (status, _, _) = server.get("/api/explore/v2.1/catalog/datasets/nouveau").await;
    assert_eq!(status, 404);
    assert_eq!(server.records("codes", "limit=100").await.len(), 5, "codes unchanged");
}

#[tokio::test]
async fn multipart_uploads_are_read_from_their_file_part() {
    let (server, keys) = server().await;
    let boundary = "kleber-test-boundary";
    let mut body = Vec::new();
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n")
            .bytes(),
    );
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\
             Content-Type: text/csv\r\n\r\nville,habitants\nStrasbourg,291313\nColmar,67000\r\n--{boundary}--\r\n"
        )
        .bytes(),
    );
    let response = server
        .client
        .post(format!("{}{API}/uploads", server.base))
        .header("Authorization", format!("Apikey {}", keys.editor))
        .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let up: Value = response.json().await.unwrap();
    assert_eq!(up["file_name"], "a.csv");
    assert_eq!(up["preview"]["records_count"], 2);
    assert_eq!(up["preview"]["records"][1], json!({"ville": "Colmar", "habitants": 67000}));
}

#[tokio::test]
async fn a_session_uploads_only_with_its_csrf_token() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = Accounts::new(std::sync::Arc::new(Store::open(dir.path()).unwrap()));
    let password = "correct horse battery staple";
    accounts
        .create_user(&operator(), "anne@ems.example", None, false, Some(password))
        .expect("user");
    let signed = accounts
        .sign_in("anne@ems.example", password, "127.0.0.1")
        .expect("sign in")
        .expect("accepted");
    drop(accounts);
    let server = TestServer::start(dir).await;
    let cookie = format!("kleber_session={}", signed.token);
    let send = |csrf: Option<String>| {
        let mut request = server
            .client
            .post(format!("{}{API}/uploads", server.base))
            .header("Cookie", cookie.clone())
            .body("ville,habitants\nStrasbourg,291313\n");
        if let Some(csrf) = csrf {
            request = request.header("X-CSRF-Token", csrf);
        }
        request.send()
    };
    for csrf in [None, Some("0".repeat(64))] {
        let response = send(csrf.clone()).await.unwrap();
        assert_eq!(response.status().as_u16(), 403, "{csrf:?}");
        let e: Value = response.json().await.unwrap();
        assert!(e["message"].as_str().unwrap().contains("X-CSRF-Token"), "{e}");
    }
    let response = send(Some(signed.session.csrf_token())).await.unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let up: Value = response.json().await.unwrap();
    assert_eq!(up["preview"]["records"][0]["habitants"], 291_313);
    // The session's GET needs no token, and sees its own upload.
    let response = server
        .client
        .get(format!("{}{API}/uploads/{}", server.base, up["upload_id"].as_str().unwrap()))
        .header("Cookie", cookie.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}
