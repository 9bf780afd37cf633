//! The back office's pages (`/admin/datasets/...`) against a real server: who opens which page
//! (everyone else gets the missing page), every form's CSRF and origin checks, the no-JS
//! multipart flow of the real Latin-1 CSV from upload to the Explore API, bad input answered
//! on the page with nothing changed, and the edit page's actions (attachments, visibility,
//! grants, push keys, versions and restore, trash) with their audit entries.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kleber_app::manage::{Editor, NewDataset};
use kleber_app::uploads::UploadLimits;
use kleber_ingest::ImportOptions;
use kleber_store::{AuditFilter, NewOrganization, OrgKind, Role, Store, Visibility};
use reqwest::{Client, Response, StatusCode, redirect};
use serde_json::Value;

use crate::common::{TestServer, app_over, import, real};
use crate::forms::{cookie_value, csrf_of, form};

const PASSWORD: &str = "correct horse battery";
const ROOT: &str = "root@example.org";
const ADA: &str = "ada@example.org"; // ems admin
const EVE: &str = "eve@example.org"; // ems editor
const VIC: &str = "vic@example.org"; // ems viewer
const OSCAR: &str = "oscar@example.org"; // colmar admin
const NOBODY: &str = "nobody@example.org"; // no organization
const LATIN1: &str = "paris_velib-disponibilite-en-temps-reel_latin1-noheader.csv";
const MAX_UPLOAD: u64 = 1 << 20;

fn accounts(dir: &Path) -> kleber_app::accounts::Accounts {
    kleber_app::accounts::Accounts::new(Arc::new(Store::open(dir).expect("store")))
}

fn org<'a>(id: &'a str, name: &'a str) -> NewOrganization<'a> {
    NewOrganization {
        id,
        name,
        kind: OrgKind::Metropolis,
        description: None,
        website: None,
        logo: None,
    }
}

/// Organizations `ems` (a restricted dataset `interne`, a draft `brouillon`) and `colmar`,
/// and one user per role.
async fn fixture(dir: &Path) {
    let csv = dir.join("rows.csv");
    std::fs::write(&csv, "nom;valeur\nA;1\nB;2\n").unwrap();
    import(dir, &csv, "interne", ImportOptions::default());
    let a = accounts(dir);
    let op = kleber_app::accounts::operator();
    a.create_org(&op, &org("ems", "Eurométropole")).unwrap();
    a.create_org(&op, &org("colmar", "Ville de Colmar")).unwrap();
    a.set_dataset_org(&op, "interne", "ems").unwrap();
    a.set_visibility(&op, "interne", Visibility::Restricted).unwrap();
    for (email, admin) in
        [(ROOT, true), (ADA, false), (EVE, false), (VIC, false), (OSCAR, false), (NOBODY, false)]
    {
        a.create_user(&op, email, None, admin, Some(PASSWORD)).unwrap();
    }
    a.set_member(&op, "ems", ADA, Role::Admin).unwrap();
    a.set_member(&op, "ems", EVE, Role::Editor).unwrap();
    a.set_member(&op, "ems", VIC, Role::Viewer).unwrap();
    a.set_member(&op, "colmar", OSCAR, Role::Admin).unwrap();
    let app = app_over(dir);
    let new = NewDataset {
        id: "brouillon".to_owned(),
        organization: "ems".to_owned(),
        title: "Un brouillon".to_owned(),
    };
    app.create_dataset(&Editor::operator(), new).await.unwrap();
}

struct Portal {
    server: TestServer,
    client: Client,
    dir: std::path::PathBuf,
}

async fn portal() -> Portal {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path()).await;
    let path = dir.path().to_path_buf();
    let server = TestServer::start_configured(
        dir,
        kleber_query::Limits::default(),
        Duration::from_secs(30),
        |state| {
            state.with_upload_limits(UploadLimits {
                max_bytes: MAX_UPLOAD,
                ttl: Duration::from_secs(3600),
            })
        },
    )
    .await;
    let client = Client::builder().redirect(redirect::Policy::none()).build().unwrap();
    Portal { server, client, dir: path }
}

const BOUNDARY: &str = "kleber-backoffice-boundary";

/// A `multipart/form-data` body: the text fields, then the file part (if any).
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .bytes(),
        );
    }
    if let Some((file_name, bytes)) = file {
        body.extend(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").bytes());
    body
}

fn location(response: &Response) -> String {
    response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

/// A signed-in browser: its session cookie and CSRF token.
struct Signed {
    cookie: String,
    csrf: String,
}

impl Portal {
    async fn get(&self, path: &str, who: Option<&Signed>) -> (u16, String) {
        let mut request = self.client.get(format!("{}{path}", self.server.base));
        if let Some(who) = who {
            request = request.header("Cookie", &who.cookie);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn post_raw(
        &self,
        path: &str,
        cookie: &str,
        content_type: &str,
        body: Vec<u8>,
        origin: Option<&str>,
    ) -> Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.server.base))
            .header("Content-Type", content_type)
            .body(body);
        if !cookie.is_empty() {
            request = request.header("Cookie", cookie);
        }
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.send().await.unwrap()
    }

    /// POSTs an urlencoded form with the session's token, from the portal's origin.
    async fn post(&self, path: &str, who: &Signed, fields: &[(&str, &str)]) -> Response {
        let mut all = vec![("csrf", who.csrf.as_str())];
        all.extend_from_slice(fields);
        let body = form(&all).into_bytes();
        let ct = "application/x-www-form-urlencoded";
        self.post_raw(path, &who.cookie, ct, body, Some(&self.server.base)).await
    }

    /// POSTs a multipart form with the session's token first, from the portal's origin.
    async fn post_file(
        &self,
        path: &str,
        who: &Signed,
        fields: &[(&str, &str)],
        file: Option<(&str, &[u8])>,
    ) -> Response {
        let mut all = vec![("csrf", who.csrf.as_str())];
        all.extend_from_slice(fields);
        let ct = format!("multipart/form-data; boundary={BOUNDARY}");
        let body = multipart(&all, file);
        self.post_raw(path, &who.cookie, &ct, body, Some(&self.server.base)).await
    }

    async fn sign_in(&self, email: &str) -> Signed {
        let response =
            self.client.get(format!("{}/login/", self.server.base)).send().await.unwrap();
        let token = cookie_value(&response, "kleber_csrf").expect("the csrf cookie");
        let body = form(&[("csrf", &token), ("email", email), ("password", PASSWORD)]);
        let response = self
            .post_raw(
                "/login",
                &format!("kleber_csrf={token}"),
                "application/x-www-form-urlencoded",
                body.into_bytes(),
                Some(&self.server.base),
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in of {email}");
        let cookie =
            format!("kleber_session={}", cookie_value(&response, "kleber_session").unwrap());
        let (_, account) = self
            .get("/account/", Some(&Signed { cookie: cookie.clone(), csrf: String::new() }))
            .await;
        Signed { cookie, csrf: csrf_of(&account) }
    }

    fn audit(&self) -> Vec<kleber_store::AuditEntry> {
        let filter = AuditFilter { limit: 10_000, ..AuditFilter::default() };
        accounts(&self.dir).audit_page(&filter).unwrap().1
    }

    fn managed(&self, id: &str) -> Option<kleber_store::ManagedDataset> {
        let store = Store::open(&self.dir).unwrap();
        store.catalog().managed_dataset(id).unwrap()
    }

    fn uploads_left(&self) -> usize {
        std::fs::read_dir(self.dir.join("tmp/uploads")).map(|d| d.count()).unwrap_or(0)
    }
}

const PAGES: [&str; 5] = [
    "/admin/datasets/",
    "/admin/datasets/new",
    "/admin/datasets/interne/",
    "/admin/datasets/interne/metadata",
    "/admin/datasets/brouillon/",
];

#[tokio::test]
async fn each_page_opens_for_the_datasets_editors_and_is_missing_for_everyone_else() {
    let p = portal().await;
    let table: [(Option<&str>, [u16; 5]); 7] = [
        (None, [404, 404, 404, 404, 404]),
        (Some(NOBODY), [404, 404, 404, 404, 404]),
        (Some(VIC), [404, 404, 404, 404, 404]),
        (Some(OSCAR), [200, 200, 404, 404, 404]),
        (Some(EVE), [200, 200, 200, 200, 200]),
        (Some(ADA), [200, 200, 200, 200, 200]),
        (Some(ROOT), [200, 200, 200, 200, 200]),
    ];
    for (who, expected) in table {
        let signed = match who {
            Some(email) => Some(p.sign_in(email).await),
            None => None,
        };
        let (status, missing) = p.get("/admin/no-such-page/", signed.as_ref()).await;
        assert_eq!(status, 404);
        if signed.is_some() {
            // The account page links the dashboard exactly when the dashboard opens.
            let (_, account) = p.get("/account/", signed.as_ref()).await;
            assert_eq!(
                account.contains("href=\"/admin/datasets/\" id=\"datasets-link\""),
                expected[0] == 200,
                "the back office's link on the account page of {who:?}"
            );
        }
        for (path, want) in PAGES.iter().zip(expected) {
            let (status, body) = p.get(path, signed.as_ref()).await;
            assert_eq!(status, want, "{path} as {who:?}: {body}");
            if want == 404 {
                assert_eq!(body, missing, "{path} as {who:?}: not the missing page");
            } else {
                assert!(body.contains("<h1>"), "{path} as {who:?}");
            }
        }
    }
    // The dashboard: an editor of ems sees its two datasets, with their state and counts; the
    // filters keep what they name; a colmar admin sees none of ems's.
    let eve = p.sign_in(EVE).await;
    let (_, page) = p.get("/admin/datasets/?lang=en", Some(&eve)).await;
    let row = |page: &str, id: &str| {
        let at = page.find(&format!("<tr data-id=\"{id}\">"))?;
        Some(page[at..at + page[at..].find("</tr>").unwrap()].to_owned())
    };
    let interne = row(&page, "interne").expect("interne listed");
    assert!(interne.contains("restricted") && interne.contains("v1"), "{interne}");
    assert!(interne.contains("<td class=\"num\">2</td>"), "records: {interne}");
    let draft = row(&page, "brouillon").expect("brouillon listed");
    assert!(draft.contains("draft") && draft.contains("none"), "{draft}");
    let (_, drafts) = p.get("/admin/datasets/?state=draft&lang=en", Some(&eve)).await;
    assert!(row(&drafts, "brouillon").is_some() && row(&drafts, "interne").is_none());
    let (_, colmar) = p.get("/admin/datasets/?org=colmar", Some(&eve)).await;
    assert!(row(&colmar, "brouillon").is_none() && row(&colmar, "interne").is_none());
    let oscar = p.sign_in(OSCAR).await;
    let (_, page) = p.get("/admin/datasets/", Some(&oscar)).await;
    assert!(row(&page, "interne").is_none() && row(&page, "brouillon").is_none(), "{page}");
    // The new-dataset form offers only the organizations where one may publish.
    let (_, new) = p.get("/admin/datasets/new", Some(&oscar)).await;
    assert!(new.contains("value=\"colmar\"") && !new.contains("value=\"ems\""), "{new}");
    // An API key never opens them, even a portal admin's.
    let key = {
        let scopes = [kleber_store::Scope::Read, kleber_store::Scope::Write];
        accounts(&p.dir)
            .create_key(&kleber_app::accounts::operator(), ROOT, "k", &scopes, None)
            .unwrap()
            .key
    };
    for path in PAGES {
        let response = p
            .client
            .get(format!("{}{path}", p.server.base))
            .header("Authorization", format!("Apikey {key}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404, "{path} with a key");
    }
}

/// Every form of the back office, with fields that would change something.
/// (path, whether it carries a file, fields).
type Form = (&'static str, bool, Vec<(&'static str, &'static str)>);

fn forms() -> Vec<Form> {
    vec![
        (
            "/admin/datasets/new",
            true,
            vec![("organization", "ems"), ("id", "neuf"), ("title", "Neuf")],
        ),
        ("/admin/datasets/brouillon/metadata", false, vec![("title", "Piraté")]),
        ("/admin/datasets/interne/lifecycle", false, vec![("action", "public")]),
        ("/admin/datasets/interne/hidden", false, vec![("hidden", "valeur")]),
        ("/admin/datasets/interne/grants", false, vec![("email", NOBODY)]),
        ("/admin/datasets/interne/push-keys", false, vec![]),
        ("/admin/datasets/interne/push-keys/revoke", false, vec![]),
        ("/admin/datasets/interne/versions/1/restore", false, vec![]),
        ("/admin/datasets/interne/upload", true, vec![]),
        ("/admin/datasets/interne/attachments", true, vec![("title", "Notice")]),
        ("/admin/datasets/interne/attachments/notice_txt/remove", false, vec![]),
        (
            "/admin/datasets/brouillon/uploads/0123456789abcdef0123456789abcdef/schema",
            false,
            vec![("name_0", "nom")],
        ),
    ]
}

#[tokio::test]
async fn every_form_refuses_a_missing_or_wrong_token_and_another_origin_changing_nothing() {
    let p = portal().await;
    let eve = p.sign_in(EVE).await;
    let before = p.audit().len();
    let csv: &[u8] = b"nom;valeur\nC;3\n";
    for (path, is_file, fields) in forms() {
        let file = is_file.then_some(("notice.txt", csv));
        for (case, token, origin) in [
            ("no token", None, Some(p.server.base.as_str())),
            ("wrong token", Some("0".repeat(64)), Some(p.server.base.as_str())),
            ("other origin", Some(eve.csrf.clone()), Some("https://evil.example")),
            ("no origin", Some(eve.csrf.clone()), None),
        ] {
            let mut all: Vec<(&str, &str)> = Vec::new();
            if let Some(t) = &token {
                all.push(("csrf", t));
            }
            all.extend(fields.iter().copied());
            let (ct, body) = if is_file {
                (format!("multipart/form-data; boundary={BOUNDARY}"), multipart(&all, file))
            } else {
                ("application/x-www-form-urlencoded".to_owned(), form(&all).into_bytes())
            };
            let response = p.post_raw(path, &eve.cookie, &ct, body, origin).await;
            let status = response.status().as_u16();
            let page = response.text().await.unwrap();
            assert_eq!(status, 403, "{path}, {case}: {page}");
            assert!(page.contains("<h1>"), "{path}, {case}: an HTML page");
        }
    }
    assert_eq!(p.audit().len(), before, "nothing was written");
    assert!(p.managed("neuf").is_none());
    assert_eq!(p.managed("brouillon").unwrap().title, "Un brouillon");
    assert_eq!(p.managed("interne").unwrap().visibility, Visibility::Restricted);
    assert_eq!(p.uploads_left(), 0, "no file was kept");
    // Without a session, the forms are the missing page (before any token is looked at).
    for (path, _, _) in forms() {
        let response = p
            .post_raw(
                path,
                "",
                "application/x-www-form-urlencoded",
                Vec::new(),
                Some(&p.server.base),
            )
            .await;
        assert_eq!(response.status().as_u16(), 404, "{path} without a session");
    }
}

/// The rows of the Latin-1 file, decoded by hand (Latin-1 bytes are the first 256 code
/// points); the texts are quoted with `'`.
fn latin1_rows() -> Vec<Vec<String>> {
    let text: String = std::fs::read(real(LATIN1)).unwrap().iter().map(|&b| b as char).collect();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(';').map(|v| v.trim_matches('\'').to_owned()).collect())
        .collect()
}

/// The `value` of the `<option selected>` of select `name` in `page`.
fn selected(page: &str, name: &str) -> String {
    let at = page.find(&format!("name=\"{name}\"")).unwrap_or_else(|| panic!("no {name}"));
    let select = &page[at..at + page[at..].find("</select>").unwrap()];
    let opt = select.find(" selected>").expect("a selected option");
    let start = select[..opt].rfind("value=\"").unwrap() + 7;
    select[start..select[start..].find('"').unwrap() + start].to_owned()
}

#[tokio::test]
async fn the_real_latin1_csv_goes_from_a_plain_form_to_the_explore_api() {
    let p = portal().await;
    let eve = p.sign_in(EVE).await;
    let rows = latin1_rows();
    let bytes = std::fs::read(real(LATIN1)).unwrap();
    assert!(bytes.len() as u64 <= MAX_UPLOAD);
    let (status, page) = p.get("/admin/datasets/new", Some(&eve)).await;
    assert_eq!(status, 200);
    assert!(page.contains("enctype=\"multipart/form-data\""), "a plain multipart form");
    let fields = [("organization", "ems"), ("id", "velib"), ("title", "Vélib' disponibilité")];
    let response =
        p.post_file("/admin/datasets/new", &eve, &fields, Some(("velib.csv", &bytes))).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", response.text().await.unwrap());
    let preview_path = location(&response);
    assert!(preview_path.starts_with("/admin/datasets/velib/uploads/"), "{preview_path}");
    let upload = preview_path.rsplit('/').next().unwrap().to_owned();
    let d = p.managed("velib").expect("the draft");
    assert_eq!((d.visibility, d.current_version), (Visibility::Draft, None));

    // The preview: what was recognised, typed fields, the first rows decoded from Latin-1.
    let (status, page) = p.get(&format!("{preview_path}?lang=en"), Some(&eve)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<dd id=\"bo-encoding\">windows-1252</dd>"), "{page}");
    assert!(page.contains("<dd id=\"bo-delimiter\"><code>;</code></dd>"));
    assert!(page.contains(&format!("<dd id=\"bo-records\">{}</dd>", number_en(rows.len()))));
    assert!(page.contains("<dd id=\"bo-rejected-count\">0</dd>"));
    assert_eq!(selected(&page, "type_0"), "int");
    assert!(page.contains(&format!("<td>{}</td>", html_escape(&rows[0][1]))), "first station");

    // Fix the schema: column_1 as text, a label, a facet, a hidden field, column_2 first.
    let label = "Nom de la station";
    let n = rows[0].len();
    let mut schema: Vec<(String, String)> = Vec::new();
    for i in 0..n {
        schema.push((format!("name_{i}"), format!("column_{}", i + 1)));
        let t = if i == 0 { "text" } else { "" };
        schema.push((format!("type_{i}"), t.to_owned()));
        schema.push((
            format!("order_{i}"),
            if i == 1 { "0".to_owned() } else { (i + 1).to_string() },
        ));
    }
    schema.push(("label_1".to_owned(), label.to_owned()));
    schema.push(("facet_11".to_owned(), "1".to_owned()));
    schema.push(("hidden_10".to_owned(), "1".to_owned()));
    schema.push(("unique_0".to_owned(), "1".to_owned()));
    let refs: Vec<(&str, &str)> = schema.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let response =
        p.post(&format!("/admin/datasets/velib/uploads/{upload}/schema"), &eve, &refs).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", response.text().await.unwrap());
    let back = location(&response);
    assert!(back.contains("hidden=column_11"), "{back}");
    let (_, page) = p.get(&back, Some(&eve)).await;
    assert!(page.contains("id=\"bo-saved\""), "{page}");
    let name0 = page.find("name=\"name_0\" value=\"").unwrap();
    assert!(page[name0..].starts_with("name=\"name_0\" value=\"column_2\""), "column_2 first");
    assert_eq!(selected(&page, "type_1"), "text", "column_1 is text now");
    // On to the metadata, carrying the upload and the hidden field.
    let next = {
        let at = page.find("id=\"bo-continue\"").unwrap();
        let start = page[..at].rfind("href=\"").unwrap() + 6;
        page[start..start + page[start..].find('"').unwrap()]
            .replace("&amp;", "&")
            .replace("&#38;", "&")
    };
    assert!(next.starts_with("/admin/datasets/velib/metadata?upload="), "{next}");
    let (status, page) = p.get(&next, Some(&eve)).await;
    assert_eq!(status, 200);
    assert!(page.contains("value=\"column_11\""), "hidden fields carried: {next}");
    let metadata = [
        ("upload", upload.as_str()),
        ("hidden", "column_11"),
        ("title", "Vélib' disponibilité"),
        ("description", "Les **stations** Vélib' <script>alert(1)</script>"),
        ("themes", "Mobilité, Transports"),
        ("keywords", "vélo"),
        ("license", "etalab-2.0"),
        ("publisher", "Eurométropole"),
        ("contact_email", "opendata@example.org"),
        ("language", "fr"),
        ("update_frequency", "daily"),
        ("temporal_start", "2023-11-05"),
        ("action", "publish"),
    ];
    let response = p.post("/admin/datasets/velib/metadata", &eve, &metadata).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", response.text().await.unwrap());
    assert_eq!(location(&response), "/admin/datasets/velib/?saved=published");

    // Read back through the Explore API, anonymously.
    let ds = p.server.json("/api/explore/v2.1/catalog/datasets/velib", 200).await;
    let metas = &ds["metas"]["default"];
    assert_eq!(metas["records_count"], rows.len() as u64);
    assert_eq!(metas["title"], "Vélib' disponibilité");
    assert_eq!(metas["license"], "Licence Ouverte v2.0 (Etalab)");
    assert_eq!(metas["theme"], serde_json::json!(["Mobilité", "Transports"]));
    let description = metas["description"].as_str().unwrap();
    assert!(description.contains("<strong>stations</strong>") && !description.contains("<script"));
    let fields = ds["fields"].as_array().unwrap();
    assert_eq!(fields[0]["name"], "column_2");
    assert_eq!(fields[0]["label"], label);
    let c1 = fields.iter().find(|f| f["name"] == "column_1").unwrap();
    assert_eq!(c1["type"], "text");
    assert!(fields.iter().all(|f| f["name"] != "column_11"), "column_11 hidden from outsiders");
    let records =
        p.server.records("velib", &format!("where=column_1%3D%22{}%22", rows[0][0])).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["column_1"], Value::from(rows[0][0].as_str()), "a text now");
    assert_eq!(records[0]["column_2"], Value::from(rows[0][1].as_str()), "decoded from Latin-1");
    // Audited as the session's user.
    let eve_id = accounts(&p.dir).store().catalog().get_user(EVE).unwrap().unwrap().id;
    let actions: Vec<String> = p
        .audit()
        .into_iter()
        .filter(|e| e.target.contains("velib") && e.actor == format!("user:{eve_id}"))
        .map(|e| e.action)
        .collect();
    for action in ["dataset.create", "dataset.metadata", "dataset.publish", "dataset.rule"] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }
    assert_eq!(p.uploads_left(), 0, "the upload is gone once published");
}

fn number_en(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[tokio::test]
async fn bad_input_is_answered_on_the_page_and_changes_nothing() {
    let p = portal().await;
    let eve = p.sign_in(EVE).await;
    let before = p.audit().len();
    let new = |id: &'static str| [("organization", "ems"), ("id", id), ("title", "Essai")];

    // A file over --max-upload-mb: 413 and the form again, saying the limit.
    let big = vec![b'a'; (MAX_UPLOAD + 200 * 1024) as usize];
    let response = p
        .post_file("/admin/datasets/new?lang=en", &eve, &new("gros"), Some(("big.csv", &big)))
        .await;
    assert_eq!(response.status().as_u16(), 413);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("id=\"bo-error\"")
            && page.contains("larger than this portal accepts: 1.0 MiB"),
        "{page}"
    );
    // Just over the limit, inside the form's room: the use case's own refusal, on the page.
    let over = vec![b'a'; (MAX_UPLOAD + 10) as usize];
    let response = p
        .post_file("/admin/datasets/new?lang=en", &eve, &new("gros"), Some(("over.csv", &over)))
        .await;
    assert_eq!(response.status().as_u16(), 413);
    assert!(response.text().await.unwrap().contains("--max-upload-mb"));
    // Not a CSV: an HTML page, a PNG.
    for (name, bytes) in [
        ("page.csv", b"<!DOCTYPE html><html><body><p>x</p></body></html>".to_vec()),
        ("image.csv", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01".to_vec()),
    ] {
        let response = p
            .post_file("/admin/datasets/new?lang=en", &eve, &new("pasuncsv"), Some((name, &bytes)))
            .await;
        assert_eq!(response.status().as_u16(), 422, "{name}");
        let page = response.text().await.unwrap();
        assert!(page.contains("id=\"bo-error\""), "{name}: {page}");
        assert!(page.contains("value=\"pasuncsv\""), "what was typed is kept");
    }
    // A taken identifier, a bad one, an organization where one may not publish.
    let csv: &[u8] = b"nom;code\na;1\n";
    for (fields, status) in [
        (new("interne"), 409),
        (new("Pas Bon!"), 400),
        ([("organization", "colmar"), ("id", "ailleurs"), ("title", "x")], 400),
    ] {
        let response =
            p.post_file("/admin/datasets/new", &eve, &fields, Some(("a.csv", csv))).await;
        assert_eq!(response.status().as_u16(), status, "{fields:?}");
        assert!(response.text().await.unwrap().contains("id=\"bo-error\""));
    }
    for id in ["gros", "pasuncsv", "ailleurs"] {
        assert!(p.managed(id).is_none(), "{id} not created");
    }
    assert_eq!(p.audit().len(), before, "nothing written");

    // A type half the rows do not fit: the preview lists them with line and reason, and
    // publishing without accepting them is refused, leaving the draft as it was.
    let half: &[u8] = b"nom;code\na;1\nb;X1\nc;3\nd;X2\n";
    let fields = [("organization", "ems"), ("id", "codes"), ("title", "Codes")];
    let response =
        p.post_file("/admin/datasets/new", &eve, &fields, Some(("codes.csv", half))).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let preview = location(&response);
    let upload = preview.rsplit('/').next().unwrap().to_owned();
    let (_, page) = p.get(&preview, Some(&eve)).await;
    assert_eq!(selected(&page, "type_1"), "text", "code read as text: X1 is no int");
    let schema = [("name_0", "nom"), ("name_1", "code"), ("type_1", "int")];
    let response =
        p.post(&format!("/admin/datasets/codes/uploads/{upload}/schema"), &eve, &schema).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = p.get(&format!("{}&lang=en", location(&response)), Some(&eve)).await;
    assert!(page.contains("<dd id=\"bo-rejected-count\">2</dd>"), "{page}");
    let rejected = &page[page.find("<table id=\"bo-rejected\"").unwrap()..];
    assert!(
        rejected.contains("<td>line 3</td>") || rejected.contains("3</td><td>code</td>"),
        "{rejected}"
    );
    assert!(rejected.contains("<td>X1</td>") && rejected.contains("<td>X2</td>"), "{rejected}");
    // An unknown type is refused on the page.
    let response = p
        .post(
            &format!("/admin/datasets/codes/uploads/{upload}/schema"),
            &eve,
            &[("name_0", "nom"), ("type_0", "color")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 400);
    assert!(response.text().await.unwrap().contains("id=\"bo-error\""));
    let publish = [("upload", upload.as_str()), ("title", "Codes publiés"), ("action", "publish")];
    let response = p.post("/admin/datasets/codes/metadata?lang=en", &eve, &publish).await;
    assert_eq!(response.status().as_u16(), 409);
    let page = response.text().await.unwrap();
    assert!(page.contains("id=\"bo-error\"") && page.contains("2 rows do not fit"), "{page}");
    let d = p.managed("codes").unwrap();
    assert_eq!(
        (d.title.as_str(), d.current_version, d.visibility),
        ("Codes", None, Visibility::Draft)
    );
    // Bad metadata: refused, nothing changed.
    for (key, value) in
        [("license", "wtfpl"), ("contact_email", "nobody"), ("references", "javascript:alert(1)")]
    {
        let response = p
            .post("/admin/datasets/codes/metadata", &eve, &[("title", "Autre"), (key, value)])
            .await;
        assert_eq!(response.status().as_u16(), 400, "{key}");
        assert!(response.text().await.unwrap().contains("id=\"bo-error\""));
    }
    assert_eq!(p.managed("codes").unwrap().title, "Codes");
    // Accepting them publishes the rows that fit.
    let publish = [
        ("upload", upload.as_str()),
        ("title", "Codes"),
        ("accept_rejected", "1"),
        ("action", "publish"),
    ];
    let response = p.post("/admin/datasets/codes/metadata", &eve, &publish).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(p.server.records("codes", "limit=10").await.len(), 2);
}

#[tokio::test]
async fn the_edit_page_changes_attachments_visibility_grants_push_keys_and_versions() {
    let p = portal().await;
    let ada = p.sign_in(ADA).await;
    let (pr, adar) = (&p, &ada);
    let page =
        move || async move { pr.get("/admin/datasets/interne/?lang=en", Some(adar)).await.1 };
    // Attachments: add, replace, remove (multipart, without JavaScript).
    let response = p
        .post_file(
            "/admin/datasets/interne/attachments",
            &ada,
            &[("title", "Notice")],
            Some(("notice.txt", b"Version 1")),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", response.text().await.unwrap());
    let served = move || async move {
        let key = adar.cookie.clone();
        pr.client
            .get(format!(
                "{}/api/explore/v2.1/catalog/datasets/interne/attachments/notice_txt",
                pr.server.base
            ))
            .header("Cookie", key)
            .send()
            .await
            .unwrap()
    };
    assert_eq!(served().await.text().await.unwrap(), "Version 1");
    assert!(page().await.contains(">notice.txt</a>"));
    let response = p
        .post_file(
            "/admin/datasets/interne/attachments",
            &ada,
            &[("replace", "notice_txt")],
            Some(("notice.txt", b"Version 2")),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(served().await.text().await.unwrap(), "Version 2");
    let response = p.post("/admin/datasets/interne/attachments/notice_txt/remove", &ada, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(served().await.status().as_u16(), 404);
    // Visibility: public, then archived and back.
    let (status, _) = p.get("/api/explore/v2.1/catalog/datasets/interne", None).await;
    assert_eq!(status, 404, "restricted");
    let response = p.post("/admin/datasets/interne/lifecycle", &ada, &[("action", "public")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, _) = p.get("/api/explore/v2.1/catalog/datasets/interne", None).await;
    assert_eq!(status, 200, "public now");
    let response =
        p.post("/admin/datasets/interne/lifecycle", &ada, &[("action", "archive")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(p.managed("interne").unwrap().archived);
    let response = p.post("/admin/datasets/interne/lifecycle", &ada, &[("action", "fly")]).await;
    assert_eq!(response.status().as_u16(), 400);
    let response =
        p.post("/admin/datasets/interne/lifecycle", &ada, &[("action", "unarchive")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // Grants: a known user; an unknown address is refused on the page.
    let response = p.post("/admin/datasets/interne/grants", &ada, &[("email", NOBODY)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(page().await.contains(&format!("<li>{NOBODY}</li>")));
    let response =
        p.post("/admin/datasets/interne/grants", &ada, &[("email", "ghost@example.org")]).await;
    assert_eq!(response.status().as_u16(), 404);
    assert!(response.text().await.unwrap().contains("id=\"bo-error\""));
    // Hidden fields (the access rule).
    let response = p.post("/admin/datasets/interne/hidden", &ada, &[("hidden", "valeur")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let ds = p.server.json("/api/explore/v2.1/catalog/datasets/interne", 200).await;
    assert!(ds["fields"].as_array().unwrap().iter().all(|f| f["name"] != "valeur"), "{ds}");
    // A push key, shown once, that the push API takes.
    let response = p.post("/admin/datasets/interne/push-keys", &ada, &[]).await;
    assert_eq!(response.status().as_u16(), 201);
    let shown = response.text().await.unwrap();
    let at = shown.find("<code id=\"bo-push-key\">").expect("the key shown")
        + "<code id=\"bo-push-key\">".len();
    let key = shown[at..at + shown[at..].find('<').unwrap()].to_owned();
    assert!(!page().await.contains(&key), "shown once");
    let pushed = p
        .client
        .post(format!("{}/api/push/1.0/interne/realtime/push/?pushkey={key}", p.server.base))
        .header("Content-Type", "application/json")
        .body(r#"[{"nom": "C", "valeur": 3}]"#)
        .send()
        .await
        .unwrap();
    assert!(pushed.status().is_success(), "{:?}", pushed.text().await);
    // The pushed record becomes version 2 within the push window.
    let mut waited = 0;
    while accounts(&p.dir).store().catalog().version_infos("interne").unwrap().len() < 2 {
        assert!(waited < 200, "the push was not published");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    let response = p.post("/admin/datasets/interne/push-keys/revoke", &ada, &[]).await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.text().await.unwrap().contains("id=\"bo-push-revoked\""));

    // A new file as a new version (the same preview step), then restore version 1.
    let v2: &[u8] = b"nom;valeur\nX;10\nY;20\nZ;30\n";
    // The rows published before it (the fixture's file and the pushed record), as the Explore
    // API gives them.
    let before: std::collections::BTreeSet<String> = p
        .server
        .records("interne", "limit=100")
        .await
        .iter()
        .map(|r| format!("{};{}", r["nom"].as_str().unwrap_or_default(), r["valeur"]))
        .collect();
    let response =
        p.post_file("/admin/datasets/interne/upload", &ada, &[], Some(("v2.csv", v2))).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let preview = location(&response);
    let upload = preview.rsplit('/').next().unwrap().to_owned();
    let (status, _) = p.get(&preview, Some(&ada)).await;
    assert_eq!(status, 200);
    // "Save as draft" is not offered for a dataset already published, and refused if sent:
    // nothing is published.
    let (status, metadata) =
        p.get(&format!("/admin/datasets/interne/metadata?upload={upload}"), Some(&ada)).await;
    assert_eq!(status, 200);
    assert!(metadata.contains("id=\"bo-publish\"") && !metadata.contains("id=\"bo-draft\""));
    let count = || accounts(&p.dir).store().catalog().version_infos("interne").unwrap().len();
    let before_draft = count();
    let draft = [("upload", upload.as_str()), ("title", "Interne"), ("action", "draft")];
    let response = p.post("/admin/datasets/interne/metadata", &ada, &draft).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response.text().await.unwrap();
    assert!(body.contains("already published") || body.contains("déjà publié"), "{body}");
    assert_eq!(count(), before_draft, "nothing published");
    let publish = [("upload", upload.as_str()), ("title", "Interne"), ("action", "publish")];
    let response = p.post("/admin/datasets/interne/metadata", &ada, &publish).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", response.text().await.unwrap());
    let versions = accounts(&p.dir).store().catalog().version_infos("interne").unwrap();
    let current = versions.iter().find(|v| v.current).unwrap();
    assert_eq!((current.records, current.source.as_deref()), (3, Some("v2.csv")));
    let first = versions.iter().map(|v| v.number).min().unwrap();
    let edit = page().await;
    assert!(edit.contains(&format!("<tr data-version=\"{}\">", current.number)), "{edit}");
    // The version's summary, against the two files compared here: without unique-id fields a
    // record's id is its values, so a row of one file absent from the other is added or
    // removed, and none is "changed".
    let rows = |csv: &str| -> std::collections::BTreeSet<String> {
        csv.lines().skip(1).map(str::to_owned).collect()
    };
    let (old, new) = (before, rows(std::str::from_utf8(v2).unwrap()));
    let summary = format!(
        "<td class=\"bo-summary\">{} added, {} removed, 0 changed</td>",
        new.difference(&old).count(),
        old.difference(&new).count()
    );
    assert!(edit.contains(&summary), "{summary} in {edit}");
    let response =
        p.post(&format!("/admin/datasets/interne/versions/{first}/restore"), &ada, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let versions = accounts(&p.dir).store().catalog().version_infos("interne").unwrap();
    let current = versions.iter().find(|v| v.current).unwrap();
    assert_eq!((current.restored_from, current.records), (Some(first), 2));
    assert_eq!(p.server.records("interne", "limit=10").await.len(), 2);
    // The trash, and back.
    let response = p.post("/admin/datasets/interne/lifecycle", &ada, &[("action", "delete")]).await;
    assert_eq!(location(&response), "/admin/datasets/?saved=1");
    assert!(p.managed("interne").unwrap().deleted_at.is_some());
    let (status, _) = p.get("/api/explore/v2.1/catalog/datasets/interne", None).await;
    assert_eq!(status, 404);
    let response =
        p.post("/admin/datasets/interne/lifecycle", &ada, &[("action", "restore")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // Each change was audited as ada's session.
    let ada_id = accounts(&p.dir).store().catalog().get_user(ADA).unwrap().unwrap().id;
    let mine: Vec<String> = p
        .audit()
        .into_iter()
        .filter(|e| e.actor == format!("user:{ada_id}"))
        .map(|e| e.action)
        .collect();
    for action in [
        "attachment.add",
        "attachment.replace",
        "attachment.remove",
        "dataset.grant",
        "dataset.rule",
        "dataset.archive",
        "dataset.push_key.create",
        "dataset.delete",
        "dataset.restore",
    ] {
        assert!(mine.iter().any(|a| a.starts_with(action)), "{action} in {mine:?}");
    }
    // An editor of ems cannot act on colmar's, a colmar admin cannot act on ems's.
    let oscar = p.sign_in(OSCAR).await;
    for (path, fields) in [
        ("/admin/datasets/interne/lifecycle", vec![("action", "delete")]),
        ("/admin/datasets/interne/grants", vec![("email", OSCAR)]),
        ("/admin/datasets/interne/push-keys", vec![]),
        ("/admin/datasets/interne/versions/1/restore", vec![]),
    ] {
        let response = p.post(path, &oscar, &fields).await;
        assert_eq!(response.status().as_u16(), 404, "{path} by oscar");
    }
    let response = p
        .post_file("/admin/datasets/interne/attachments", &oscar, &[], Some(("x.txt", b"x")))
        .await;
    assert_eq!(response.status().as_u16(), 404);
    assert!(p.managed("interne").unwrap().deleted_at.is_none());
}

/// A publisher's day in headless Chromium (tests/browser/publisher_day.mjs): the real Latin-1
/// CSV uploaded with the plain form, a type fixed, the metadata filled, published, seen on
/// the portal; a second file (its first 100 rows) as a new version; the first one restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publishers_day_in_the_browser() {
    crate::browser::require_tools();
    let _one = crate::browser::ONE_BROWSER.lock().await;
    let p = portal().await;
    let files = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(real(LATIN1)).unwrap();
    let mut second = Vec::new();
    for line in bytes.split_inclusive(|&b| b == b'\n').take(100) {
        second.extend_from_slice(line);
    }
    let second_path = files.path().join("velib-extrait.csv");
    std::fs::write(&second_path, second).unwrap();
    let first = real(LATIN1);
    // The second version's summary the page must show, from the files' lines: the file has no
    // header and no unique-id field, so a record is its values and a line of one file missing
    // from the other is a record added or removed.
    let lines = |b: &[u8]| -> std::collections::BTreeSet<Vec<u8>> {
        b.split(|&c| c == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect()
    };
    let (old, new) = (lines(&bytes), lines(&std::fs::read(&second_path).unwrap()));
    let added = new.difference(&old).count().to_string();
    let removed = old.difference(&new).count().to_string();
    let (status, output) = crate::browser::run_node_with(
        "publisher_day.mjs",
        &[
            &p.server.base,
            EVE,
            PASSWORD,
            first.to_str().unwrap(),
            second_path.to_str().unwrap(),
            &added,
            &removed,
        ],
    )
    .await;
    println!("{output}");
    assert!(status.success(), "node tests/browser/publisher_day.mjs failed ({status}):\n{output}");
    // What the browser did, read back from the catalog.
    let versions = accounts(&p.dir).store().catalog().version_infos("velib-dispo").unwrap();
    let current = versions.iter().find(|v| v.current).unwrap();
    assert_eq!((versions.len(), current.restored_from, current.records), (3, Some(1), 1471));
}
