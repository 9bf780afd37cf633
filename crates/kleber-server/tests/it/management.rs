//! The management API (`/api/management/v1`, docs/publishing.md) on a real server: every
//! operation with the roles and scopes allowed and refused, sessions with and without their
//! CSRF token, bad input answered with a clear error and nothing changed, attachments on
//! Opendatasoft's routes, versions restored without touching an old version's files, the
//! trash purged, and the OpenAPI document covering every route.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kleber_app::accounts::{Accounts, operator};
use kleber_query::Limits;
use kleber_store::{Role, Scope, Store, Visibility};
use serde_json::{Value, json};

use crate::common::{TestServer, app_over, import};

const M: &str = "/api/management/v1";
const PASSWORD: &str = "un mot de passe assez long";

/// The keys and the session of the fixture.
struct Fixture {
    server: TestServer,
    dir: PathBuf,
    admin: String,
    editor: String,
    editor_read_only: String,
    viewer: String,
    other: String,
    portal: String,
    session: String,
    csrf: String,
}

fn csv(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("csv");
    path
}

/// A data directory with organizations `ems` and `autre`, a public dataset `parkings` and a
/// draft `brouillon` of `ems`, its members, keys and a signed-in editor.
async fn fixture(max_attachment: Option<u64>) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_path_buf();
    import(
        &path,
        &csv(files.path(), "p.csv", "nom;places\nGare;120\nHalles;80\n"),
        "parkings",
        Default::default(),
    );
    import(
        &path,
        &csv(files.path(), "b.csv", "nom;valeur\nx;1\n"),
        "brouillon",
        Default::default(),
    );
    let accounts = Accounts::new(Arc::new(Store::open(&path).expect("store")));
    let op = operator();
    crate::common::create_orgs(&accounts, &[("ems", "Eurométropole"), ("autre", "Autre")]);
    for d in ["parkings", "brouillon"] {
        accounts.set_dataset_org(&op, d, "ems").expect("org");
    }
    accounts.set_visibility(&op, "brouillon", Visibility::Draft).expect("draft");
    for (email, org, role) in [
        ("admin@ems.example", "ems", Role::Admin),
        ("editor@ems.example", "ems", Role::Editor),
        ("viewer@ems.example", "ems", Role::Viewer),
        ("other@autre.example", "autre", Role::Admin),
    ] {
        let password = (email == "editor@ems.example").then_some(PASSWORD);
        accounts.create_user(&op, email, None, false, password).expect("user");
        accounts.set_member(&op, org, email, role).expect("member");
    }
    accounts.create_user(&op, "portal@example.org", None, true, None).expect("portal admin");
    let key = |email: &str, scopes: &[Scope]| {
        accounts.create_key(&op, email, "tests", scopes, None).expect("key").key
    };
    let all = [Scope::Read, Scope::Write, Scope::Admin];
    let rw = [Scope::Read, Scope::Write];
    let (admin, editor, editor_read_only, viewer, other, portal) = (
        key("admin@ems.example", &all),
        key("editor@ems.example", &rw),
        key("editor@ems.example", &[Scope::Read]),
        key("viewer@ems.example", &all),
        key("other@autre.example", &all),
        key("portal@example.org", &all),
    );
    let signed = accounts
        .sign_in("editor@ems.example", PASSWORD, "127.0.0.1")
        .expect("sign in")
        .expect("signed in");
    let (session, csrf) = (signed.token, signed.session.csrf_token());
    drop(accounts);
    let server =
        TestServer::start_configured(dir, Limits::default(), Duration::from_secs(30), |s| {
            if let Some(limit) = max_attachment {
                s.app.set_max_attachment_bytes(limit);
            }
            s
        })
        .await;
    Fixture {
        server,
        dir: path,
        admin,
        editor,
        editor_read_only,
        viewer,
        other,
        portal,
        session,
        csrf,
    }
}

/// Credentials of a request.
#[derive(Clone, Copy)]
enum Who<'a> {
    Nobody,
    Key(&'a str),
    /// A session cookie and the CSRF header sent (if any).
    Session(&'a str, Option<&'a str>),
}

impl Fixture {
    async fn call(
        &self,
        method: &str,
        path: &str,
        who: Who<'_>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, _, bytes) =
            self.raw(method, path, who, body.map(|b| b.to_string().into_bytes()), None).await;
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    }

    async fn raw(
        &self,
        method: &str,
        path: &str,
        who: Who<'_>,
        body: Option<Vec<u8>>,
        content_type: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let url =
            if path.starts_with("/api/explore") { path.to_owned() } else { format!("{M}{path}") };
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.server.client.request(method, format!("{}{url}", self.server.base));
        match who {
            Who::Nobody => {}
            Who::Key(key) => request = request.header("authorization", format!("Apikey {key}")),
            Who::Session(token, csrf) => {
                request = request.header("cookie", format!("kleber_session={token}"));
                if let Some(csrf) = csrf {
                    request = request.header("x-csrf-token", csrf);
                }
            }
        }
        if let Some(body) = body {
            request = request
                .header("content-type", content_type.unwrap_or("application/json"))
                .body(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.bytes().await.expect("body").to_vec())
    }

    async fn title(&self, id: &str) -> String {
        let (status, d) =
            self.call("GET", &format!("/datasets/{id}"), Who::Key(&self.admin), None).await;
        assert_eq!(status, 200, "{d}");
        d["title"].as_str().expect("title").to_owned()
    }

    async fn audit_actions(&self) -> Vec<String> {
        let (status, page) =
            self.call("GET", "/audit?limit=100", Who::Key(&self.portal), None).await;
        assert_eq!(status, 200, "{page}");
        page["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

fn code(v: &Value) -> &str {
    v["error_code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn anonymous_callers_are_refused_and_the_openapi_document_lists_every_route() {
    let f = fixture(None).await;
    for (method, path) in [
        ("GET", "/datasets"),
        ("POST", "/datasets"),
        ("GET", "/datasets/parkings"),
        ("GET", "/organizations"),
    ] {
        let (status, headers, body) = f.raw(method, path, Who::Nobody, None, None).await;
        let body: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            (status, code(&body)),
            (401, "AuthenticationRequired"),
            "{method} {path}: {body}"
        );
        assert_eq!(headers.get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Apikey"));
    }
    let (status, doc) = f.call("GET", "/openapi.json", Who::Nobody, None).await;
    assert_eq!(status, 200, "{doc}");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().expect("paths");
    let (_, table) = kleber_server::routes().into_parts();
    let routes: Vec<&str> = table.patterns().into_iter().filter(|p| p.starts_with(M)).collect();
    assert!(routes.len() >= 20, "{routes:?}");
    for route in &routes {
        assert!(paths.contains_key(*route), "the OpenAPI document lacks {route}");
    }
    // Each documented operation answers on the server with the method it documents (a
    // route and method the router lacks would be 404 or 405 before any credential check).
    for (path, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            let concrete = path
                .replace("{id}", "parkings")
                .replace("{attachment_id}", "aucun")
                .replace("{number}", "1")
                .replace("{org}", "ems")
                .replace("{email}", "viewer@ems.example")
                .replace("{key_id}", "000000000000");
            let local = concrete.strip_prefix(M).expect("under the prefix");
            let (status, body) = f.call(&method.to_uppercase(), local, Who::Nobody, None).await;
            assert!(status == 401 || local == "/openapi.json", "{method} {path}: {status} {body}");
        }
    }
}

#[tokio::test]
async fn a_dataset_goes_from_draft_to_public_to_archive_to_the_trash_and_back() {
    let f = fixture(None).await;
    let editor = Who::Key(&f.editor);
    let (status, d) = f
        .call(
            "POST",
            "/datasets",
            editor,
            Some(json!({"id": "velos", "organization": "ems", "title": "Vélos"})),
        )
        .await;
    assert_eq!(status, 201, "{d}");
    assert_eq!(
        (d["visibility"].as_str(), d["current_version"].clone()),
        (Some("draft"), Value::Null)
    );
    let (status, _) =
        f.call("GET", "/api/explore/v2.1/catalog/datasets/velos", Who::Nobody, None).await;
    assert_eq!(status, 404, "a draft is not public");
    let (status, e) = f.call("POST", "/datasets/velos/publish", editor, None).await;
    assert_eq!((status, code(&e)), (409, "Conflict"), "{e}");
    assert!(e["message"].as_str().unwrap().contains("no version"), "{e}");

    let files = tempfile::tempdir().unwrap();
    import(
        &f.dir,
        &csv(files.path(), "v.csv", "station;velos\nGare;12\nRépublique;7\n"),
        "velos",
        Default::default(),
    );
    let (status, d) = f
        .call("POST", "/datasets/velos/publish", editor, Some(json!({"visibility": "public"})))
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(
        (d["visibility"].as_str(), d["current_version"].as_i64()),
        (Some("public"), Some(1))
    );
    let public = f.server.json("/api/explore/v2.1/catalog/datasets/velos", 200).await;
    assert_eq!(public["metas"]["default"]["title"], "Vélos");
    assert_eq!(public["metas"]["default"].get("archived"), None);

    let (status, d) = f.call("POST", "/datasets/velos/archive", editor, None).await;
    assert_eq!((status, d["archived"].as_bool()), (200, Some(true)), "{d}");
    let public = f.server.json("/api/explore/v2.1/catalog/datasets/velos", 200).await;
    assert_eq!(public["metas"]["default"]["archived"], true, "archived shows in the metas");
    let (status, _, page) = f.server.get("/explore/dataset/velos/information/").await;
    assert_eq!(status, 200);
    assert!(page.contains("Archivé") || page.contains("Archived"), "the portal page says so");
    let catalog = f.server.json("/api/explore/v2.1/catalog/datasets?limit=100", 200).await;
    let listed =
        catalog["results"].as_array().unwrap().iter().find(|d| d["dataset_id"] == "velos").cloned();
    assert_eq!(
        listed.map(|d| d["metas"]["default"]["archived"].clone()),
        Some(json!(true)),
        "{catalog}"
    );
    let (status, _, csv_body) = f
        .raw("GET", "/api/explore/v2.1/catalog/datasets/velos/exports/csv", Who::Nobody, None, None)
        .await;
    assert_eq!(status, 200, "an archived dataset is still downloadable");
    assert!(String::from_utf8_lossy(&csv_body).contains("République"));
    let (status, e) =
        f.call("PATCH", "/datasets/velos/metadata", editor, Some(json!({"title": "Autre"}))).await;
    assert_eq!((status, code(&e)), (409, "Conflict"), "{e}");
    let store = Store::open(&f.dir).unwrap();
    let refused = kleber_server::import::import_file(
        &store,
        &kleber_server::import::ImportRequest {
            path: csv(files.path(), "v2.csv", "station;velos\nGare;1\n"),
            dataset: "velos".to_owned(),
            title: None,
            options: Default::default(),
            unique_id: None,
            crash: None,
        },
        &mut |_| {},
    )
    .expect_err("an archived dataset takes no import");
    assert!(format!("{refused:#}").contains("archived"), "{refused:#}");
    assert_eq!(store.versions("velos").unwrap(), vec![1], "nothing was published");
    let (status, _) = f.call("POST", "/datasets/velos/unarchive", editor, None).await;
    assert_eq!(status, 200);

    let (status, d) = f.call("DELETE", "/datasets/velos", editor, None).await;
    assert_eq!(status, 200, "{d}");
    assert!(d["deleted_at"].is_string(), "{d}");
    let (status, _) =
        f.call("GET", "/api/explore/v2.1/catalog/datasets/velos", Who::Nobody, None).await;
    assert_eq!(status, 404, "the trash is hidden everywhere");
    let (status, _) =
        f.call("GET", "/api/explore/v2.1/catalog/datasets/velos", Who::Key(&f.admin), None).await;
    assert_eq!(status, 404, "even from its admins, outside the management API");
    let (status, e) = f.call("POST", "/datasets/velos/publish", editor, None).await;
    assert_eq!((status, code(&e)), (409, "Conflict"), "{e}");
    let (status, d) = f.call("POST", "/datasets/velos/restore", editor, None).await;
    assert_eq!((status, d["deleted_at"].clone()), (200, Value::Null), "{d}");
    f.server.json("/api/explore/v2.1/catalog/datasets/velos", 200).await;
    let (status, e) = f.call("POST", "/datasets/velos/restore", editor, None).await;
    assert_eq!((status, code(&e)), (409, "Conflict"), "{e}");

    let actions = f.audit_actions().await;
    for action in [
        "dataset.create",
        "dataset.release",
        "dataset.archive",
        "dataset.unarchive",
        "dataset.delete",
        "dataset.restore",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action} not in the audit log: {actions:?}");
    }
}

#[tokio::test]
async fn each_role_and_scope_is_allowed_or_refused_and_refusals_change_nothing() {
    let f = fixture(None).await;
    let patch = |title: &str| Some(json!({"title": title}));
    // Allowed: the organization's admin and editor, a portal admin, a session with its token.
    for (who, caller) in [
        ("org admin", Who::Key(&f.admin)),
        ("org editor", Who::Key(&f.editor)),
        ("portal admin", Who::Key(&f.portal)),
        ("session with its CSRF token", Who::Session(&f.session, Some(&f.csrf))),
    ] {
        let title = format!("Parkings par {who}");
        let (status, d) =
            f.call("PATCH", "/datasets/parkings/metadata", caller, patch(&title)).await;
        assert_eq!(status, 200, "{who}: {d}");
        assert_eq!(f.title("parkings").await, title);
    }
    let before = f.title("parkings").await;
    // Refused on a public dataset (readable): 403; on a draft (not readable): 404.
    for (who, caller, public, draft, needle) in [
        ("editor's read-only key", Who::Key(&f.editor_read_only), 403, 403, "write scope"),
        ("viewer", Who::Key(&f.viewer), 403, 404, "editor or admin role"),
        ("other organization's admin", Who::Key(&f.other), 403, 404, "editor or admin role"),
        (
            "session without its CSRF token",
            Who::Session(&f.session, None),
            403,
            403,
            "X-CSRF-Token",
        ),
        (
            "session with a wrong token",
            Who::Session(&f.session, Some(&"0".repeat(64))),
            403,
            403,
            "X-CSRF-Token",
        ),
        ("anonymous", Who::Nobody, 401, 401, "credentials"),
    ] {
        let (status, e) =
            f.call("PATCH", "/datasets/parkings/metadata", caller, patch("Volé")).await;
        assert_eq!(status, public, "{who} on a public dataset: {e}");
        assert!(e["message"].as_str().unwrap_or_default().contains(needle), "{who}: {e}");
        let (status, e) = f.call("POST", "/datasets/brouillon/publish", caller, None).await;
        assert_eq!(status, draft, "{who} on a draft: {e}");
        if draft == 404 {
            assert_eq!(code(&e), "DatasetNotFound", "{who}: {e}");
        }
    }
    assert_eq!(f.title("parkings").await, before, "no refusal changed anything");
    let (status, d) = f.call("GET", "/datasets/brouillon", Who::Key(&f.admin), None).await;
    assert_eq!((status, d["visibility"].as_str()), (200, Some("draft")));
    // A session reads without the token; lists hold only what the caller manages.
    let (status, list) = f.call("GET", "/datasets", Who::Session(&f.session, None), None).await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> =
        list.as_array().unwrap().iter().filter_map(|d| d["dataset_id"].as_str()).collect();
    assert_eq!(ids, ["brouillon", "parkings"]);
    let (status, list) = f.call("GET", "/datasets", Who::Key(&f.other), None).await;
    assert_eq!((status, list), (200, json!([])));
    // Creating in an organization one is not an editor of.
    let (status, e) = f
        .call(
            "POST",
            "/datasets",
            Who::Key(&f.viewer),
            Some(json!({"id": "x", "organization": "ems", "title": "X"})),
        )
        .await;
    assert_eq!((status, code(&e)), (403, "Forbidden"), "{e}");
    let (status, e) = f
        .call(
            "POST",
            "/datasets",
            Who::Key(&f.other),
            Some(json!({"id": "x", "organization": "ems", "title": "X"})),
        )
        .await;
    assert_eq!((status, code(&e)), (403, "Forbidden"), "{e}");
    let (status, _) = f.call("GET", "/datasets/x", Who::Key(&f.admin), None).await;
    assert_eq!(status, 404, "no dataset was created");
    let actions = f.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "dataset.metadata").count(), 4, "{actions:?}");
}

#[tokio::test]
async fn bad_input_gets_a_precise_error_and_changes_nothing() {
    let f = fixture(None).await;
    let editor = Who::Key(&f.editor);
    let before = f.title("parkings").await;
    for (body, needle) in [
        (json!({"license": "beerware", "title": "Nouveau"}), "unknown licence \"beerware\""),
        (json!({"licence": "odbl-1.0"}), "unknown metadata key \"licence\""),
        (json!({"contact_email": "pas une adresse"}), "not an email"),
        (json!({"title": ""}), "cannot be empty"),
        (json!({"references": "javascript:alert(1)"}), "not an absolute"),
    ] {
        let (status, e) =
            f.call("PATCH", "/datasets/parkings/metadata", editor, Some(body.clone())).await;
        assert_eq!((status, code(&e)), (400, "InvalidRequestBody"), "{body}: {e}");
        assert!(e["message"].as_str().unwrap().contains(needle), "{body}: {e}");
    }
    let (status, _, body) = f
        .raw("PATCH", "/datasets/parkings/metadata", editor, Some(b"{\"title\": ".to_vec()), None)
        .await;
    let e: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, code(&e)), (400, "InvalidRequestBody"), "{e}");
    assert!(e["message"].as_str().unwrap().contains("line 1"), "{e}");
    assert_eq!(f.title("parkings").await, before, "nothing changed");

    // Script in Markdown comes out sanitised; the Markdown is kept as written.
    let markdown = "Les **parkings** <script>alert('x')</script> [site](javascript:alert(1)) <img src=x onerror=alert(2)>";
    let (status, d) = f.call("PATCH", "/datasets/parkings/metadata", editor, Some(json!({"description": markdown, "license": "etalab-2.0", "keywords": ["parking"], "update_frequency": "daily"}))).await;
    assert_eq!(status, 200, "{d}");
    let html = d["description"].as_str().unwrap();
    assert!(html.contains("<strong>parkings</strong>"), "{html}");
    for bad in ["<script", "javascript:", "onerror"] {
        assert!(!html.contains(bad), "{bad} in {html}");
    }
    assert_eq!(d["description_markdown"], markdown);
    let public = f.server.json("/api/explore/v2.1/catalog/datasets/parkings", 200).await;
    let metas = &public["metas"]["default"];
    assert_eq!(metas["description"].as_str(), Some(html));
    assert_eq!(metas["license"], "Licence Ouverte v2.0 (Etalab)");
    assert_eq!(metas["license_url"], "https://www.etalab.gouv.fr/licence-ouverte-open-licence/");
    assert_eq!(metas["keyword"], json!(["parking"]));

    for (body, status_expected, code_expected, needle) in [
        (
            json!({"id": "Mauvais Id", "organization": "ems", "title": "X"}),
            400,
            "InvalidRequestBody",
            "not a dataset identifier",
        ),
        (
            json!({"id": "parkings", "organization": "ems", "title": "X"}),
            409,
            "Conflict",
            "already exists",
        ),
        (
            json!({"id": "neuf", "organization": "nulle-part", "title": "X"}),
            400,
            "InvalidRequestBody",
            "unknown organization",
        ),
        (
            json!({"id": "neuf", "organization": "ems"}),
            400,
            "InvalidRequestBody",
            "title is missing",
        ),
        (
            json!({"id": "neuf", "organization": "ems", "title": "X", "theme": "y"}),
            400,
            "InvalidRequestBody",
            "unknown key \"theme\"",
        ),
    ] {
        let (status, e) = f.call("POST", "/datasets", editor, Some(body.clone())).await;
        assert_eq!((status, code(&e)), (status_expected, code_expected), "{body}: {e}");
        assert!(e["message"].as_str().unwrap().contains(needle), "{body}: {e}");
    }
    let (status, list) = f.call("GET", "/datasets", Who::Key(&f.admin), None).await;
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(2)), "no dataset was created");
}

#[tokio::test]
async fn attachments_are_streamed_served_on_the_explore_routes_and_follow_the_dataset() {
    let f = fixture(Some(64 * 1024)).await;
    let editor = Who::Key(&f.editor);
    let pdf = b"%PDF-1.4 notice des parkings".to_vec();
    let (status, _, body) = f
        .raw(
            "POST",
            "/datasets/parkings/attachments?file_name=Notice%20parkings.pdf&title=Notice",
            editor,
            Some(pdf.clone()),
            Some("application/pdf"),
        )
        .await;
    let a: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200, "{a}");
    assert_eq!(
        (a["id"].as_str(), a["size"].as_i64()),
        (Some("notice_parkings_pdf"), Some(pdf.len() as i64))
    );

    let list = f.server.json("/api/explore/v2.1/catalog/datasets/parkings/attachments", 200).await;
    let item = &list["attachments"][0];
    assert_eq!(item["metas"]["id"], "notice_parkings_pdf", "{list}");
    assert_eq!(
        (item["metas"]["mimetype"].as_str(), item["metas"]["title"].as_str()),
        (Some("application/pdf"), Some("Notice"))
    );
    assert_eq!(item["metas"]["url"], "odsfile://Notice parkings.pdf");
    let href = item["href"].as_str().unwrap();
    assert!(
        href.ends_with(
            "/api/explore/v2.1/catalog/datasets/parkings/attachments/notice_parkings_pdf"
        ),
        "{href}"
    );
    let object = f.server.json("/api/explore/v2.1/catalog/datasets/parkings", 200).await;
    assert_eq!(object["attachments"][0]["id"], "notice_parkings_pdf", "{object}");
    let file = "/api/explore/v2.1/catalog/datasets/parkings/attachments/notice_parkings_pdf";
    let (status, headers, bytes) = f.raw("GET", file, Who::Nobody, None, None).await;
    assert_eq!((status, bytes), (200, pdf.clone()));
    assert_eq!(headers["content-type"], "application/pdf");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"Notice parkings.pdf\""),
        "{disposition}"
    );

    // Replaced; it survives a new version of the data.
    let v2 = b"%PDF-1.4 notice revue".to_vec();
    let (status, _, body) = f
        .raw(
            "PUT",
            "/datasets/parkings/attachments/notice_parkings_pdf",
            editor,
            Some(v2.clone()),
            Some("application/pdf"),
        )
        .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let files = tempfile::tempdir().unwrap();
    import(
        &f.dir,
        &csv(files.path(), "p2.csv", "nom;places\nGare;121\n"),
        "parkings",
        Default::default(),
    );
    let (status, _, bytes) = f.raw("GET", file, Who::Nobody, None, None).await;
    assert_eq!((status, bytes), (200, v2.clone()), "the attachment survives a new version");

    // Too large: 413, nothing kept, not even a temporary file.
    let (status, _, body) = f
        .raw(
            "POST",
            "/datasets/parkings/attachments?file_name=gros.bin",
            editor,
            Some(vec![b'x'; 64 * 1024 + 1]),
            Some("application/octet-stream"),
        )
        .await;
    let e: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, code(&e)), (413, "PayloadTooLarge"), "{e}");
    let (_, list) = f.call("GET", "/datasets/parkings/attachments", editor, None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    let uid = object["dataset_uid"].as_str().unwrap();
    let names: Vec<String> =
        std::fs::read_dir(f.dir.join("datasets").join(uid).join("attachments"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
    assert_eq!(names, ["notice_parkings_pdf"]);
    // A bad file name, an existing id, a viewer: refused.
    let (status, _, _) = f
        .raw(
            "POST",
            "/datasets/parkings/attachments?file_name=..%2F..%2Fx",
            editor,
            Some(b"x".to_vec()),
            None,
        )
        .await;
    assert_eq!(status, 400);
    let (status, _, _) = f
        .raw(
            "POST",
            "/datasets/parkings/attachments?file_name=Notice%20parkings.pdf",
            editor,
            Some(b"x".to_vec()),
            None,
        )
        .await;
    assert_eq!(status, 409);
    let (status, _, _) = f
        .raw(
            "POST",
            "/datasets/parkings/attachments?file_name=v.txt",
            Who::Key(&f.viewer),
            Some(b"x".to_vec()),
            None,
        )
        .await;
    assert_eq!(status, 403);

    // Same visibility as the dataset: a draft's attachments are hidden from anonymous callers.
    let (status, _) = f.call("POST", "/datasets/parkings/unpublish", editor, None).await;
    assert_eq!(status, 200);
    let (status, _, _) = f.raw("GET", file, Who::Nobody, None, None).await;
    assert_eq!(status, 404);
    let (status, _, bytes) = f.raw("GET", file, Who::Key(&f.editor), None, None).await;
    assert_eq!((status, bytes), (200, v2));

    let (status, _) =
        f.call("DELETE", "/datasets/parkings/attachments/notice_parkings_pdf", editor, None).await;
    assert_eq!(status, 200);
    let (status, _, _) = f.raw("GET", file, Who::Key(&f.editor), None, None).await;
    assert_eq!(status, 404);
    let (status, e) =
        f.call("DELETE", "/datasets/parkings/attachments/notice_parkings_pdf", editor, None).await;
    assert_eq!((status, code(&e)), (404, "NotFound"), "{e}");
    let actions = f.audit_actions().await;
    for action in ["attachment.add", "attachment.replace", "attachment.remove"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

#[tokio::test]
async fn an_earlier_version_is_restored_as_a_new_one_without_touching_its_files() {
    let f = fixture(None).await;
    let files = tempfile::tempdir().unwrap();
    import(
        &f.dir,
        &csv(files.path(), "p2.csv", "nom;places\nGare;1\nHalles;2\nMusée;3\n"),
        "parkings",
        Default::default(),
    );
    let editor = Who::Key(&f.editor);
    let (status, versions) = f.call("GET", "/datasets/parkings/versions", editor, None).await;
    assert_eq!(status, 200, "{versions}");
    let summary: Vec<(i64, i64, bool)> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["number"].as_i64().unwrap(),
                v["records"].as_i64().unwrap(),
                v["current"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(summary, [(2, 3, true), (1, 2, false)]);
    let uid =
        f.server.json("/api/explore/v2.1/catalog/datasets/parkings", 200).await["dataset_uid"]
            .as_str()
            .unwrap()
            .to_owned();
    let v1 = f.dir.join("datasets").join(&uid).join("v1").join("data.parquet");
    let v1_bytes = std::fs::read(&v1).unwrap();

    let (status, versions) =
        f.call("POST", "/datasets/parkings/versions/1/restore", editor, None).await;
    assert_eq!(status, 200, "{versions}");
    let newest = &versions[0];
    assert_eq!(
        (
            newest["number"].as_i64(),
            newest["restored_from"].as_i64(),
            newest["records"].as_i64(),
            newest["current"].as_bool()
        ),
        (Some(3), Some(1), Some(2), Some(true)),
        "{versions}"
    );
    assert!(newest["actor"].as_str().is_some_and(|a| a.starts_with("user:")), "{newest}");
    let names: Vec<String> = f
        .server
        .records("parkings", "order_by=nom")
        .await
        .iter()
        .map(|r| r["nom"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["Gare", "Halles"], "the restored data are served");
    assert_eq!(std::fs::read(&v1).unwrap(), v1_bytes, "v1 is unchanged");
    assert!(f.dir.join("datasets").join(&uid).join("v2").join("data.parquet").exists());

    for (path, status_expected) in [
        ("/datasets/parkings/versions/9/restore", 409),
        ("/datasets/parkings/versions/3/restore", 409),
        ("/datasets/parkings/versions/zero/restore", 400),
    ] {
        let (status, e) = f.call("POST", path, editor, None).await;
        assert_eq!(status, status_expected, "{path}: {e}");
    }
    let (status, _) =
        f.call("POST", "/datasets/parkings/versions/1/restore", Who::Key(&f.viewer), None).await;
    assert_eq!(status, 403);
    let (_, versions) = f.call("GET", "/datasets/parkings/versions", editor, None).await;
    assert_eq!(versions.as_array().map(Vec::len), Some(3), "refusals published nothing");
}

#[tokio::test]
async fn organization_admins_manage_members_invitations_and_keys() {
    let f = fixture(None).await;
    let admin = Who::Key(&f.admin);
    let (status, members) = f.call("GET", "/organizations/ems/members", admin, None).await;
    assert_eq!(status, 200, "{members}");
    assert_eq!(members.as_array().map(Vec::len), Some(3));
    for (who, caller, expected) in [
        ("editor", Who::Key(&f.editor), 403),
        ("other org's admin", Who::Key(&f.other), 403),
        ("portal admin", Who::Key(&f.portal), 200),
    ] {
        let (status, e) = f.call("GET", "/organizations/ems/members", caller, None).await;
        assert_eq!(status, expected, "{who}: {e}");
    }
    let (status, members) = f
        .call(
            "PUT",
            "/organizations/ems/members/viewer@ems.example",
            admin,
            Some(json!({"role": "editor"})),
        )
        .await;
    assert_eq!(status, 200, "{members}");
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["email"] == "viewer@ems.example" && m["role"] == "editor"),
        "{members}"
    );
    let (status, e) = f
        .call(
            "PUT",
            "/organizations/ems/members/viewer@ems.example",
            admin,
            Some(json!({"role": "owner"})),
        )
        .await;
    assert_eq!((status, code(&e)), (400, "InvalidRequestBody"), "{e}");
    assert!(e["message"].as_str().unwrap().contains("admin, editor, viewer"), "{e}");

    let (status, inv) = f
        .call(
            "POST",
            "/organizations/ems/invitations",
            admin,
            Some(json!({"email": "nouveau@ems.example", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, 201, "{inv}");
    let url = inv["url"].as_str().unwrap();
    let path =
        url.split_once("/invitation/").map(|(_, token)| format!("/invitation/{token}")).unwrap();
    let (status, _, _) = f.server.get(&path).await;
    assert_eq!(status, 200, "the invitation link works");

    let (status, created) = f.call("POST", "/organizations/ems/keys", admin, Some(json!({"email": "editor@ems.example", "name": "script", "scopes": ["read", "write"]}))).await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    let (status, _) = f.call("GET", "/datasets/parkings", Who::Key(&key), None).await;
    assert_eq!(status, 200, "the new key works");
    let (status, keys) = f.call("GET", "/organizations/ems/keys", admin, None).await;
    assert_eq!(status, 200);
    assert!(
        keys.to_string().contains(created["record"]["id"].as_str().unwrap())
            && !keys.to_string().contains(&key),
        "{keys}"
    );
    let (status, _) = f
        .call(
            "POST",
            "/organizations/ems/keys",
            admin,
            Some(json!({"email": "other@autre.example", "name": "x", "scopes": ["read"]})),
        )
        .await;
    assert_eq!(status, 404, "not a member of ems");
    let id = created["record"]["id"].as_str().unwrap();
    let (status, _) = f
        .call("DELETE", &format!("/organizations/autre/keys/{id}"), Who::Key(&f.other), None)
        .await;
    assert_eq!(status, 404, "another organization's admin cannot revoke it");
    let (status, revoked) =
        f.call("DELETE", &format!("/organizations/ems/keys/{id}"), admin, None).await;
    assert_eq!(status, 200, "{revoked}");
    let (status, e) = f.call("GET", "/datasets/parkings", Who::Key(&key), None).await;
    assert_eq!((status, code(&e)), (401, "InvalidApiKey"), "{e}");

    let (status, org) = f
        .call(
            "POST",
            "/organizations",
            Who::Key(&f.portal),
            Some(json!({"id": "colmar", "name": "Colmar", "kind": "city"})),
        )
        .await;
    assert_eq!(status, 201, "{org}");
    let (status, _) = f
        .call(
            "POST",
            "/organizations",
            admin,
            Some(json!({"id": "x", "name": "X", "kind": "city"})),
        )
        .await;
    assert_eq!(status, 403, "organization admins do not create organizations");
    let (status, e) = f
        .call(
            "POST",
            "/organizations",
            Who::Key(&f.portal),
            Some(json!({"id": "colmar", "name": "Colmar", "kind": "city"})),
        )
        .await;
    assert_eq!((status, code(&e)), (409, "Conflict"), "{e}");
    let (status, orgs) = f.call("GET", "/organizations", admin, None).await;
    assert_eq!((status, orgs.as_array().map(Vec::len)), (200, Some(1)), "{orgs}");
    let actions = f.audit_actions().await;
    for action in ["member.set", "user.invite", "key.create", "key.revoke", "org.create"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

#[tokio::test]
async fn the_trash_is_purged_with_the_files_after_its_delay() {
    let f = fixture(None).await;
    let editor = Who::Key(&f.editor);
    // A dataset with a push key (a row that refers to it) is purged as well.
    let (status, key) = f.call("POST", "/datasets/parkings/push-keys", editor, None).await;
    assert_eq!(status, 201, "{key}");
    let (status, d) = f.call("DELETE", "/datasets/parkings", editor, None).await;
    assert_eq!(status, 200, "{d}");
    let uid = d["dataset_uid"].as_str().unwrap().to_owned();
    let folder = f.dir.join("datasets").join(&uid);
    assert!(folder.exists());
    let app = app_over(&f.dir);
    assert_eq!(app.purge_trash(30).await.unwrap(), Vec::<String>::new(), "not yet: 30 days");
    assert!(folder.exists());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.purge_trash(0).await.unwrap(), vec![uid]);
    assert!(!folder.exists(), "the files are gone");
    let (status, _) = f.call("GET", "/datasets/parkings", Who::Key(&f.admin), None).await;
    assert_eq!(status, 404);
    assert!(f.audit_actions().await.iter().any(|a| a == "dataset.purge"));
}

/// The `sh` blocks of a Markdown file, in order.
fn shell_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// docs/publishing.md's examples, run as they are with bash and curl against a real server.
#[tokio::test]
async fn the_examples_of_the_publishing_guide_run() {
    let f = fixture(None).await;
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/publishing.md"),
    )
    .expect("docs/publishing.md");
    let blocks = shell_blocks(&doc);
    assert!(blocks.len() >= 6, "{blocks:?}");
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
            .env("PATH", &path);
        // On the blocking pool: the server answers on this test's runtime meanwhile.
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("join")
            .expect("bash");
        assert!(
            output.status.success(),
            "{block}\nfailed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // What the examples did, read back.
    let object = f.server.json("/api/explore/v2.1/catalog/datasets/velos", 200).await;
    let metas = &object["metas"]["default"];
    assert_eq!(metas["license"], "Licence Ouverte v2.0 (Etalab)");
    assert!(metas["description"].as_str().unwrap().contains("<strong>stations</strong>"));
    assert_eq!(object["attachments"][0]["id"], "notice_txt", "{object}");
    let names: Vec<String> = f
        .server
        .records("velos", "order_by=station")
        .await
        .iter()
        .map(|r| r["station"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["Gare", "République"]);
    // The upload (previewed, its schema fixed, published) and the real-time push after it.
    let counts: Vec<(i64, i64)> = f
        .server
        .records("comptages", "order_by=code")
        .await
        .iter()
        .map(|r| (r["code"].as_i64().unwrap(), r["velos"].as_i64().unwrap()))
        .collect();
    assert_eq!(counts, [(1, 12), (2, 9), (3, 4), (4, 3)], "record 2 replaced by its unique id");
    let object = f.server.json("/api/explore/v2.1/catalog/datasets/comptages", 200).await;
    let station = object["fields"].as_array().unwrap().iter().find(|f| f["name"] == "station");
    assert_eq!(station.unwrap()["label"], "Nom de la station", "{object}");
}

/// Schemathesis (pinned in tests/clients/requirements.txt) runs the management API's own
/// OpenAPI document against the server with an organization admin's key: generated requests
/// for every operation, each answer checked for a server error, an undocumented status or
/// content type, and its schema. Bounded: 5 examples per operation, a fixed seed, one worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_checks_the_answers_against_the_openapi_document() {
    let f = fixture(None).await;
    let st = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/.venv/bin/st");
    assert!(st.exists(), "{} is missing: run scripts/install-test-deps.sh", st.display());
    let url = format!("{}{M}/openapi.json", f.server.base);
    // Schemathesis keeps a cache in its working directory: a temporary one.
    let work = tempfile::tempdir().expect("tempdir");
    let mut command = std::process::Command::new(&st);
    command.current_dir(work.path()).args([
        "run",
        &url,
        "-H",
        &format!("Authorization: Apikey {}", f.admin),
        "--max-examples",
        "5",
        "--seed",
        "1",
        "--phases",
        "examples,fuzzing",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        "-w",
        "1",
    ]);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("schemathesis runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}\n{}", String::from_utf8_lossy(&output.stderr));
    let (_, doc) = f.call("GET", "/openapi.json", Who::Nobody, None).await;
    let operations: usize = doc["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|item| {
            item.as_object().map_or(0, |methods| {
                methods
                    .keys()
                    .filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
                    .count()
            })
        })
        .sum();
    // Every operation schemathesis selected was tested; it selects one fewer than the
    // document's operations (27 of 28 when this was written; which one it leaves out was not
    // established).
    let tested = operations - 1;
    assert!(
        report.contains(&format!("Selected: {tested}/{tested}"))
            && report.contains(&format!("Tested: {tested}")),
        "every operation ({tested}) was tested: {report}"
    );
}
