//! The portal's settings against a real server (issue 13 item 4, docs/portal.md#administering-
//! the-portal): the `/admin/portal/` pages open for portal admins only (everyone else gets the
//! missing page), their forms' CSRF and origin checks, themes shown by their label in the
//! visitor's language and a theme in use kept, the home page's sanitised text and featured
//! datasets (a dataset made private drops out for those who may not read it), the about
//! page, the management API's `/portal/...` endpoints for each role, and the audit entries.

use std::path::Path;
use std::sync::Arc;

use kleber_ingest::ImportOptions;
use kleber_store::{AuditFilter, NewOrganization, OrgKind, Role, Scope, Store, Visibility};
use reqwest::{Client, Response, StatusCode, redirect};
use serde_json::{Value, json};

use crate::common::{TestServer, import};
use crate::forms::{cookie_value, csrf_of, form};

const PASSWORD: &str = "correct horse battery";
const ROOT: &str = "root@example.org"; // portal admin
const ADA: &str = "ada@example.org"; // ems admin
const EVE: &str = "eve@example.org"; // ems editor
const NOBODY: &str = "nobody@example.org"; // no organization

fn accounts(dir: &Path) -> kleber_app::accounts::Accounts {
    kleber_app::accounts::Accounts::new(Arc::new(Store::open(dir).expect("store")))
}

/// API keys of the fixture: the portal admin's (admin scope) and the editor's (write).
struct Keys {
    root: String,
    eve: String,
}

/// Datasets `ouvert` (public) and `interne` (restricted) of organization `ems`, a user per
/// role, and their keys.
fn fixture(dir: &Path) -> Keys {
    let csv = dir.join("rows.csv");
    std::fs::write(&csv, "nom;valeur\nA;1\nB;2\n").unwrap();
    import(dir, &csv, "interne", ImportOptions::default());
    import(dir, &csv, "ouvert", ImportOptions::default());
    let a = accounts(dir);
    let op = kleber_app::accounts::operator();
    let org = NewOrganization {
        id: "ems",
        name: "Eurométropole",
        kind: OrgKind::Metropolis,
        description: None,
        website: None,
        logo: None,
    };
    a.create_org(&op, &org).unwrap();
    for id in ["interne", "ouvert"] {
        a.set_dataset_org(&op, id, "ems").unwrap();
    }
    a.set_visibility(&op, "interne", Visibility::Restricted).unwrap();
    for (email, admin) in [(ROOT, true), (ADA, false), (EVE, false), (NOBODY, false)] {
        a.create_user(&op, email, None, admin, Some(PASSWORD)).unwrap();
    }
    a.set_member(&op, "ems", ADA, Role::Admin).unwrap();
    a.set_member(&op, "ems", EVE, Role::Editor).unwrap();
    let all = [Scope::Read, Scope::Write, Scope::Admin];
    Keys {
        root: a.create_key(&op, ROOT, "k", &all, None).unwrap().key,
        eve: a.create_key(&op, EVE, "k", &[Scope::Read, Scope::Write], None).unwrap().key,
    }
}

struct Portal {
    server: TestServer,
    dir: std::path::PathBuf,
    client: Client,
    keys: Keys,
}

async fn portal() -> Portal {
    let dir = tempfile::tempdir().unwrap();
    let keys = fixture(dir.path());
    let path = dir.path().to_path_buf();
    let server = TestServer::start(dir).await;
    let client = Client::builder().redirect(redirect::Policy::none()).build().unwrap();
    Portal { server, dir: path, client, keys }
}

struct Signed {
    cookie: String,
    csrf: String,
}

impl Portal {
    async fn get(&self, path: &str, cookie: &str) -> Response {
        let mut request = self.client.get(format!("{}{path}", self.server.base));
        if !cookie.is_empty() {
            request = request.header("Cookie", cookie);
        }
        request.send().await.unwrap()
    }

    async fn page(&self, path: &str, who: Option<&Signed>) -> (u16, String) {
        let response = self.get(path, who.map_or("", |s| s.cookie.as_str())).await;
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn post_raw(
        &self,
        path: &str,
        cookie: &str,
        body: &str,
        origin: Option<&str>,
    ) -> Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.server.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if !cookie.is_empty() {
            request = request.header("Cookie", cookie);
        }
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.send().await.unwrap()
    }

    /// POSTs `fields` with the session's CSRF token from the portal's own origin.
    async fn post(&self, path: &str, who: &Signed, fields: &[(&str, &str)]) -> Response {
        let mut all = vec![("csrf", who.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &who.cookie, &form(&all), Some(&self.server.base)).await
    }

    async fn sign_in(&self, email: &str) -> Signed {
        let response = self.get("/login/", "").await;
        let token = cookie_value(&response, "kleber_csrf").expect("the csrf cookie");
        let body = form(&[("csrf", &token), ("email", email), ("password", PASSWORD)]);
        let response = self
            .post_raw("/login", &format!("kleber_csrf={token}"), &body, Some(&self.server.base))
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in of {email}");
        let cookie =
            format!("kleber_session={}", cookie_value(&response, "kleber_session").unwrap());
        let account = self.get("/account/", &cookie).await;
        let csrf = csrf_of(&account.text().await.unwrap());
        Signed { cookie, csrf }
    }

    /// A management API call with `key` (none: anonymous): status and JSON body.
    async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request =
            self.client.request(method, format!("{}/api/management/v1{path}", self.server.base));
        if let Some(key) = key {
            request = request.header("Authorization", format!("Apikey {key}"));
        }
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}")))
    }

    fn audit(&self, action: &str) -> Vec<kleber_store::AuditEntry> {
        let filter =
            AuditFilter { action: Some(action.to_owned()), limit: 1000, ..AuditFilter::default() };
        accounts(&self.dir).audit_page(&filter).unwrap().1
    }
}

fn location(response: &Response) -> String {
    response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

const PAGES: [&str; 4] =
    ["/admin/portal/", "/admin/portal/themes", "/admin/portal/home", "/admin/portal/about"];

#[tokio::test]
async fn the_portal_pages_open_for_portal_admins_and_are_missing_for_everyone_else() {
    let p = portal().await;
    for who in [None, Some(NOBODY), Some(EVE), Some(ADA), Some(ROOT)] {
        let signed = match who {
            Some(email) => Some(p.sign_in(email).await),
            None => None,
        };
        let (_, missing) = p.page("/admin/no-such-page/", signed.as_ref()).await;
        for path in PAGES {
            let (status, body) = p.page(path, signed.as_ref()).await;
            if who == Some(ROOT) {
                assert_eq!(status, 200, "{path}: {body}");
                assert!(body.contains("<h1>"), "{path}: {body}");
            } else {
                assert_eq!((status, &body), (404, &missing), "{path} as {who:?}");
            }
        }
    }
    // The admin menu links the portal's pages for portal admins only, in both languages.
    let root = p.sign_in(ROOT).await;
    let (_, index) = p.page("/admin/", Some(&root)).await;
    assert!(index.contains("href=\"/admin/portal/\""), "{index}");
    let (_, en) = p.page("/admin/portal/?lang=en", Some(&root)).await;
    assert!(en.contains("Portal administration") && en.contains("href=\"/admin/portal/themes\""));
    let (_, fr) = p.page("/admin/portal/?lang=fr", Some(&root)).await;
    assert!(fr.contains("Administration du portail"), "{fr}");
    let ada = p.sign_in(ADA).await;
    let (_, index) = p.page("/admin/", Some(&ada)).await;
    assert!(!index.contains("/admin/portal/"), "{index}");
}

#[tokio::test]
async fn every_portal_form_checks_its_csrf_token_origin_and_caller_and_changes_nothing() {
    let p = portal().await;
    let root = p.sign_in(ROOT).await;
    let ada = p.sign_in(ADA).await;
    let forms: [(&str, &[(&str, &str)]); 3] = [
        (
            "/admin/portal/themes",
            &[("count", "0"), ("new_id", "x"), ("new_label_fr", "X"), ("new_label_en", "X")],
        ),
        ("/admin/portal/home", &[("text_fr", "Bonjour"), ("text_en", ""), ("featured", "")]),
        ("/admin/portal/about", &[("text_fr", "Qui sommes-nous"), ("text_en", "")]),
    ];
    let before = accounts(&p.dir)
        .audit_page(&AuditFilter { limit: 1000, ..AuditFilter::default() })
        .unwrap()
        .0;
    for (path, fields) in forms {
        // No token, a wrong token, another origin: refused.
        let body = form(fields);
        let r = p.post_raw(path, &root.cookie, &body, Some(&p.server.base)).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} without token");
        let mut wrong = vec![("csrf", "0".repeat(64))];
        wrong.extend(fields.iter().map(|(n, v)| (*n, (*v).to_owned())));
        let wrong: Vec<(&str, &str)> = wrong.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let r = p.post_raw(path, &root.cookie, &form(&wrong), Some(&p.server.base)).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} with a wrong token");
        let mut good = vec![("csrf", root.csrf.as_str())];
        good.extend_from_slice(fields);
        let r = p.post_raw(path, &root.cookie, &form(&good), Some("https://evil.example")).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} from another origin");
        // An organization admin with her own valid token: the missing page.
        let r = p.post(path, &ada, fields).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path} as an organization admin");
        // Anonymous: the missing page too.
        let r = p.post_raw(path, "", &body, Some(&p.server.base)).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path} anonymous");
    }
    let after = accounts(&p.dir)
        .audit_page(&AuditFilter { limit: 1000, ..AuditFilter::default() })
        .unwrap()
        .0;
    assert_eq!(before, after, "a refused form wrote to the audit log");
    assert_eq!(
        p.api(reqwest::Method::GET, "/portal/themes", Some(&p.keys.root), None).await.1,
        json!({"themes": []})
    );
    // The portal admin's forms go through, each audited as done by the session.
    for (path, fields) in forms {
        let r = p.post(path, &root, fields).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&r), format!("{path}?saved=1"));
    }
    for action in ["portal.themes", "portal.home", "portal.about", "portal.featured"] {
        let entries = p.audit(action);
        assert_eq!(entries.len(), 1, "{action}: {entries:?}");
        assert!(entries[0].actor.starts_with("user:"), "{:?}", entries[0]);
    }
}

#[tokio::test]
async fn themes_are_shown_by_their_label_in_the_visitors_language_and_a_theme_in_use_stays() {
    let p = portal().await;
    let root = p.sign_in(ROOT).await;
    let add = |id: &'static str, fr: &'static str, en: &'static str| {
        [("count", "0"), ("new_id", id), ("new_label_fr", fr), ("new_label_en", en)]
    };
    let r = p.post("/admin/portal/themes", &root, &add("mobilite", "Mobilité", "Mobility")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = p.page("/admin/portal/themes?saved=1", Some(&root)).await;
    assert!(
        page.contains("id=\"admin-saved\"") && page.contains("<code>mobilite</code>"),
        "{page}"
    );
    // A second theme, keeping the first (its row, relabelled).
    let fields = [
        ("count", "1"),
        ("t0_id", "mobilite"),
        ("t0_label_fr", "Mobilité et transports"),
        ("t0_label_en", "Transport"),
        ("t0_description", ""),
        ("new_id", "culture"),
        ("new_label_fr", "Culture"),
        ("new_label_en", "Culture"),
    ];
    assert_eq!(
        p.post("/admin/portal/themes", &root, &fields).await.status(),
        StatusCode::SEE_OTHER
    );
    let (status, themes) =
        p.api(reqwest::Method::GET, "/portal/themes", Some(&p.keys.eve), None).await;
    assert_eq!(status, 200, "{themes}");
    let ids: Vec<&str> =
        themes["themes"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["mobilite", "culture"]);
    assert_eq!(themes["themes"][0]["label_en"], "Transport");

    // A dataset that lists the theme: the catalog's facet, the card and the dataset page
    // show its label in the page's language, and link to its id.
    let (status, edited) = p
        .api(
            reqwest::Method::PATCH,
            "/datasets/ouvert/metadata",
            Some(&p.keys.eve),
            Some(json!({"themes": ["mobilite"]})),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    let (_, en) = p.page("/explore/?lang=en", None).await;
    assert!(en.contains("Transport") && en.contains("refine.theme=mobilite"), "{en}");
    let (_, fr) = p.page("/explore/?lang=fr", None).await;
    assert!(fr.contains("Mobilité et transports"), "{fr}");
    let (_, info) = p.page("/explore/dataset/ouvert/information/?lang=en", None).await;
    assert!(info.contains(">Transport<"), "{info}");
    let (_, home) = p.page("/?lang=en", None).await;
    assert!(home.contains("Transport"), "{home}");

    // Removing it while `ouvert` lists it is refused with the reason, nothing changed.
    let remove = [
        ("count", "2"),
        ("t0_id", "mobilite"),
        ("t0_label_fr", "Mobilité et transports"),
        ("t0_label_en", "Transport"),
        ("t0_remove", "1"),
        ("t1_id", "culture"),
        ("t1_label_fr", "Culture"),
        ("t1_label_en", "Culture"),
    ];
    let r = p.post("/admin/portal/themes?lang=en", &root, &remove).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = r.text().await.unwrap();
    assert!(body.contains("is listed by 1 dataset"), "{body}");
    let (_, again) = p.api(reqwest::Method::GET, "/portal/themes", Some(&p.keys.root), None).await;
    assert_eq!(again, themes, "a refused removal changed the themes");
    let (status, refused) = p
        .api(
            reqwest::Method::PUT,
            "/portal/themes",
            Some(&p.keys.root),
            Some(json!({"themes": []})),
        )
        .await;
    assert_eq!((status, refused["error_code"].as_str()), (409, Some("Conflict")), "{refused}");
    // An unused theme can go.
    let (status, _) = p
        .api(
            reqwest::Method::PUT,
            "/portal/themes",
            Some(&p.keys.root),
            Some(json!({"themes": [themes["themes"][0]]})),
        )
        .await;
    assert_eq!(status, 200);
    let entries = p.audit("portal.themes");
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert_eq!(entries[0].details["removed"], json!(["culture"]));
    assert!(entries[0].via.as_deref().unwrap_or_default().starts_with("key:"), "{:?}", entries[0]);
}

#[tokio::test]
async fn the_home_page_shows_the_sanitised_text_and_the_featured_datasets_its_visitor_may_read() {
    let p = portal().await;
    let root = p.sign_in(ROOT).await;
    let text_fr = "## Bienvenue\n\nLes données **ouvertes** de la ville.\n\n<script>alert('x')</script><img src=x onerror=alert(1)>";
    let fields = [
        ("text_fr", text_fr),
        ("text_en", "## Welcome\n\nThe city's *open* data."),
        ("featured", "ouvert\n"),
    ];
    let r = p.post("/admin/portal/home", &root, &fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, fr) = p.page("/?lang=fr", None).await;
    assert!(fr.contains("<h2>Bienvenue</h2>") && fr.contains("<strong>ouvertes</strong>"), "{fr}");
    assert!(!fr.contains("alert(") && !fr.contains("onerror"), "unsanitised: {fr}");
    assert!(
        fr.contains("id=\"featured\"") && fr.contains("href=\"/explore/dataset/ouvert/\""),
        "{fr}"
    );
    let (_, en) = p.page("/?lang=en", None).await;
    assert!(en.contains("<h2>Welcome</h2>") && en.contains("Featured datasets"), "{en}");
    // The admin page previews the same sanitised text.
    let (_, admin) = p.page("/admin/portal/home", Some(&root)).await;
    assert!(admin.contains("<h2>Bienvenue</h2>") && !admin.contains("<script>alert"), "{admin}");

    // A restricted or unknown dataset cannot be featured: the form says why, nothing changes.
    for (id, why) in [("interne", "is not public"), ("nope", "No published dataset")] {
        let fields = [("text_fr", "Autre"), ("text_en", ""), ("featured", id)];
        let r = p.post("/admin/portal/home?lang=en", &root, &fields).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{id}");
        let body = r.text().await.unwrap();
        assert!(body.contains(why) && body.contains(id), "{body}");
    }
    let (_, featured) =
        p.api(reqwest::Method::GET, "/portal/featured", Some(&p.keys.root), None).await;
    assert_eq!(featured, json!({"datasets": ["ouvert"]}));
    let (_, home) = p.api(reqwest::Method::GET, "/portal/home", Some(&p.keys.root), None).await;
    assert_eq!(home["text_fr"], text_fr);

    // The dataset becomes restricted: anonymous visitors no longer see it featured, its
    // organization's editor still does.
    accounts(&p.dir)
        .set_visibility(&kleber_app::accounts::operator(), "ouvert", Visibility::Restricted)
        .unwrap();
    let (_, anonymous) = p.page("/?lang=fr", None).await;
    assert!(
        !anonymous.contains("id=\"featured\"") && !anonymous.contains("/explore/dataset/ouvert/"),
        "{anonymous}"
    );
    let eve = p.sign_in(EVE).await;
    let (_, editor) = p.page("/?lang=fr", Some(&eve)).await;
    assert!(
        editor.contains("id=\"featured\"") && editor.contains("href=\"/explore/dataset/ouvert/\""),
        "{editor}"
    );
}

#[tokio::test]
async fn the_about_page_shows_the_admins_text_when_set_and_the_portals_own_otherwise() {
    let p = portal().await;
    let (_, before) = p.page("/about/?lang=fr", None).await;
    assert!(!before.contains("id=\"about-text\""));
    let (status, set) = p
        .api(
            reqwest::Method::PUT,
            "/portal/about",
            Some(&p.keys.root),
            Some(json!({"text_fr": "Le portail de **Strasbourg**.<script>x()</script>", "text_en": "Strasbourg's portal."})),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["html_fr"], "<p>Le portail de <strong>Strasbourg</strong>.</p>\n");
    let (_, fr) = p.page("/about/?lang=fr", None).await;
    assert!(fr.contains("id=\"about-text\"") && fr.contains("<strong>Strasbourg</strong>"), "{fr}");
    assert!(!fr.contains("x()"), "{fr}");
    let (_, en) = p.page("/about/?lang=en", None).await;
    assert!(en.contains("Strasbourg&#x27;s portal") || en.contains("Strasbourg's portal"), "{en}");
    let entries = p.audit("portal.about");
    assert_eq!(entries.len(), 1);
    // Emptied, the portal's own text is back.
    let empty = json!({"text_fr": "", "text_en": ""});
    assert_eq!(
        p.api(reqwest::Method::PUT, "/portal/about", Some(&p.keys.root), Some(empty)).await.0,
        200
    );
    let (_, again) = p.page("/about/?lang=fr", None).await;
    assert_eq!(again, before);
}

#[tokio::test]
async fn the_management_api_portal_endpoints_are_for_portal_admins_and_refuse_bad_bodies() {
    let p = portal().await;
    let bodies = [
        (
            "/portal/themes",
            json!({"themes": [{"id": "eau", "label_fr": "Eau", "label_en": "Water"}]}),
        ),
        ("/portal/home", json!({"text_fr": "Bonjour", "text_en": "Hello"})),
        ("/portal/about", json!({"text_fr": "À propos", "text_en": "About"})),
        ("/portal/featured", json!({"datasets": ["ouvert"]})),
    ];
    for (path, body) in &bodies {
        // Anonymous: credentials needed; an editor's key: forbidden (reading the themes is
        // allowed to every caller with a key).
        let (status, e) = p.api(reqwest::Method::PUT, path, None, Some(body.clone())).await;
        assert_eq!(
            (status, e["error_code"].as_str()),
            (401, Some("AuthenticationRequired")),
            "{path}"
        );
        let (status, e) =
            p.api(reqwest::Method::PUT, path, Some(&p.keys.eve), Some(body.clone())).await;
        assert_eq!((status, e["error_code"].as_str()), (403, Some("Forbidden")), "{path}: {e}");
        let (status, _) = p.api(reqwest::Method::GET, path, Some(&p.keys.eve), None).await;
        assert_eq!(status, if *path == "/portal/themes" { 200 } else { 403 }, "GET {path}");
        // Unknown keys and wrong kinds: InvalidRequestBody, nothing changed.
        let (status, e) =
            p.api(reqwest::Method::PUT, path, Some(&p.keys.root), Some(json!({"nope": 1}))).await;
        assert_eq!(
            (status, e["error_code"].as_str()),
            (400, Some("InvalidRequestBody")),
            "{path}: {e}"
        );
        assert!(e["message"].as_str().unwrap().contains("nope"), "{e}");
        // The portal admin's key changes it, and reads back what it set.
        let (status, set) =
            p.api(reqwest::Method::PUT, path, Some(&p.keys.root), Some(body.clone())).await;
        assert_eq!(status, 200, "{path}: {set}");
        let (status, got) = p.api(reqwest::Method::GET, path, Some(&p.keys.root), None).await;
        assert_eq!((status, &got), (200, &set), "{path}");
    }
    let bad_themes = [
        (json!({"themes": [{"id": "a", "label_fr": "A", "label_en": ""}]}), "label_en"),
        (
            json!({"themes": [{"id": "a", "label_fr": "A", "label_en": "A"}, {"id": "A", "label_fr": "B", "label_en": "B"}]}),
            "twice",
        ),
        (json!({"themes": "eau"}), "invalid type"),
    ];
    for (body, why) in bad_themes {
        let (status, e) =
            p.api(reqwest::Method::PUT, "/portal/themes", Some(&p.keys.root), Some(body)).await;
        assert_eq!(status, 400, "{e}");
        assert!(e["message"].as_str().unwrap().contains(why), "{e}");
    }
    let (_, themes) = p.api(reqwest::Method::GET, "/portal/themes", Some(&p.keys.root), None).await;
    assert_eq!(themes["themes"][0]["id"], "eau", "a refused body changed the themes");
    let too_many: Vec<String> = (0..13).map(|_| "ouvert".to_owned()).collect();
    let (status, e) = p
        .api(
            reqwest::Method::PUT,
            "/portal/featured",
            Some(&p.keys.root),
            Some(json!({"datasets": too_many})),
        )
        .await;
    assert_eq!(status, 400, "{e}");
    for action in ["portal.themes", "portal.home", "portal.about", "portal.featured"] {
        let entries = p.audit(action);
        assert_eq!(entries.len(), 1, "{action}: {entries:?}");
        assert!(
            entries[0].via.as_deref().unwrap_or_default().starts_with("key:"),
            "{:?}",
            entries[0]
        );
    }
    // The OpenAPI document describes the endpoints.
    let (status, doc) = p.api(reqwest::Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    for path in ["themes", "home", "about", "featured"] {
        let item = &doc["paths"][format!("/api/management/v1/portal/{path}")];
        assert!(item.get("get").is_some() && item.get("put").is_some(), "{path}: {item}");
    }
}
