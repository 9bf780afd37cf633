//! Following, the header's unread badge, the back office's webhook pages and lineage both ways
//! (issue 15 items 3 and 4; docs/feeds.md, docs/crossing.md#lineage), through real HTTP with
//! signed-in sessions:
//!
//! - the dataset page's follow form (CSRF), the badge after a re-import, cleared by reading,
//!   and each user's header showing only their own count (the portal's caches on, as always);
//! - a dataset's webhook page: create (the secret shown once, then used to check a real
//!   delivery's signature), list with the last delivery, the delivery log after a receiver
//!   that fails once, delete; refusals (CSRF, a bad URL, another organization's admin);
//! - lineage: the dataset object and the page name the datasets derived from this one that the
//!   caller may read, never a private one to an anonymous caller; the `ETag` follows;
//! - `tests/browser/follow.mjs`: the same pages in headless Chromium (screenshots, axe).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use kleber_app::accounts::{Accounts, operator};
use kleber_app::manage::Editor;
use kleber_app::webhooks::WebhookSettings;
use kleber_ingest::ImportOptions;
use kleber_query::Limits;
use kleber_store::accounts::DEFAULT_ORG;
use kleber_store::{NewOrganization, OrgKind, Role, Scope, Store, Visibility};
use serde_json::Value;
use sha2::Sha256;

use crate::common::{TestServer, app_over, import};
use crate::forms::{cookie_value, csrf_of, form};

const PASSWORD: &str = "correct horse battery";
const V: &str = "/api/explore/v2.1/catalog/datasets";

fn publish(dir: &Path, id: &str, text: &str) {
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join(format!("{id}.csv"));
    std::fs::write(&path, text).unwrap();
    import(dir, &path, id, ImportOptions::default());
}

/// A client that does not follow redirects.
fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A signed-in browser: its session cookie and the session's CSRF token.
#[derive(Clone)]
struct User {
    http: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

impl User {
    async fn sign_in(base: &str, email: &str) -> User {
        let http = client();
        let login = http.get(format!("{base}/login/")).send().await.unwrap();
        let token = cookie_value(&login, "kleber_csrf").unwrap();
        let body = form(&[("csrf", &token), ("email", email), ("password", PASSWORD)]);
        let signed = http
            .post(format!("{base}/login"))
            .header("Cookie", format!("kleber_csrf={token}"))
            .header("Origin", base)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(signed.status().as_u16(), 303, "{email} signs in");
        let cookie = format!("kleber_session={}", cookie_value(&signed, "kleber_session").unwrap());
        let mut user = User { http, base: base.to_owned(), cookie, csrf: String::new() };
        user.csrf = csrf_of(&user.get("/account/").await.2);
        user
    }

    /// GETs `path`: status, `Cache-Control`, body.
    async fn get(&self, path: &str) -> (u16, String, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        let cache = r
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (r.status().as_u16(), cache, r.text().await.unwrap())
    }

    /// POSTs a form to `path` with the session's CSRF token (or `csrf`): status, `Location`,
    /// body.
    async fn post_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        csrf: &str,
    ) -> (u16, String, String) {
        let mut all = vec![("csrf", csrf)];
        all.extend_from_slice(fields);
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .header("Origin", &self.base)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form(&all))
            .send()
            .await
            .unwrap();
        let location =
            r.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (r.status().as_u16(), location, r.text().await.unwrap())
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
        let csrf = self.csrf.clone();
        self.post_with(path, fields, &csrf).await
    }
}

/// The value of the hidden or text input `name` inside the form whose `id` is `form_id`.
fn form_field(html: &str, form_id: &str, name: &str) -> String {
    let start = html
        .find(&format!("id=\"{form_id}\""))
        .unwrap_or_else(|| panic!("no form {form_id}: {html}"));
    let form = &html[start..start + html[start..].find("</form>").unwrap()];
    let marker = format!("name=\"{name}\" value=\"");
    let at = form.find(&marker).unwrap_or_else(|| panic!("no field {name} in {form}"));
    let rest = &form[at + marker.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// The header's badge: the unread count shown, `None` when there is none.
fn badge(html: &str) -> Option<i64> {
    let at = html.find("id=\"unread-badge\">")?;
    let rest = &html[at + "id=\"unread-badge\">".len()..];
    Some(rest[..rest.find('<').unwrap()].parse().unwrap())
}

/// Asks `user`'s `path` until its badge is `expected` (up to 10 s), and returns the page.
async fn wait_badge(user: &User, path: &str, expected: Option<i64>) -> String {
    let mut html = String::new();
    for _ in 0..100 {
        html = user.get(path).await.2;
        if badge(&html) == expected {
            return html;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("badge {expected:?} expected on {path}: {html}");
}

fn accounts(dir: &Path) -> Accounts {
    Accounts::new(Arc::new(Store::open(dir).unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_from_the_dataset_page_and_each_users_own_badge() {
    let dir = tempfile::tempdir().unwrap();
    publish(dir.path(), "velos", "station,velos\nA,3\nB,5\n");
    publish(dir.path(), "parkings", "nom,places\nCentre,100\n");
    let a = accounts(dir.path());
    for email in ["alice@example.org", "bob@example.org", "carol@example.org"] {
        a.create_user(&operator(), email, None, false, Some(PASSWORD)).unwrap();
    }
    drop(a);
    let data = dir.path().to_path_buf();
    let server = TestServer::start(dir).await;
    let alice = User::sign_in(&server.base, "alice@example.org").await;
    let bob = User::sign_in(&server.base, "bob@example.org").await;
    let carol = User::sign_in(&server.base, "carol@example.org").await;

    // Signed in: the follow form, the notifications link without a badge. Anonymous: neither.
    let (status, cache, html) = alice.get("/explore/dataset/velos/").await;
    assert_eq!(status, 200, "{html}");
    assert!(cache.contains("private"), "a session's page is private: {cache}");
    assert_eq!(form_field(&html, "follow-form", "follow"), "1");
    assert_eq!(form_field(&html, "follow-form", "next"), "/explore/dataset/velos/");
    assert!(html.contains(">Suivre</button>"), "{html}");
    assert!(html.contains("id=\"notifications-link\""), "{html}");
    assert_eq!(badge(&html), None);
    let (_, _, anonymous) = server.get("/explore/dataset/velos/").await;
    assert!(!anonymous.contains("follow-form") && !anonymous.contains("notifications-link"));

    // The form's own fields, posted: without the token refused; with it, followed.
    let csrf = form_field(&html, "follow-form", "csrf");
    let fields = [("follow", "1"), ("next", "/explore/dataset/velos/")];
    let (status, _, _) = alice.post_with("/account/follow/velos", &fields, "wrong").await;
    assert_eq!(status, 403);
    assert!(alice.get("/explore/dataset/velos/").await.2.contains(">Suivre</button>"));
    let (status, location, _) = alice.post_with("/account/follow/velos", &fields, &csrf).await;
    assert_eq!((status, location.as_str()), (303, "/explore/dataset/velos/"));
    let html = alice.get("/explore/dataset/velos/").await.2;
    assert_eq!(form_field(&html, "follow-form", "follow"), "0");
    assert!(html.contains(">Ne plus suivre</button>"), "{html}");
    // A `next` elsewhere than this dataset's pages is not followed.
    let away = [("follow", "1"), ("next", "https://evil.example/")];
    let (_, location, _) = alice.post("/account/follow/velos", &away).await;
    assert_eq!(location, "/explore/dataset/velos/");

    // Bob follows parkings.
    let (status, _, _) = bob.post("/account/follow/parkings", &[("follow", "1")]).await;
    assert_eq!(status, 303);

    // New versions published by another process: velos once, parkings twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    publish(&data, "velos", "station,velos\nA,3\nB,6\n");
    publish(&data, "parkings", "nom,places\nCentre,101\n");
    wait_badge(&bob, "/", Some(1)).await;
    publish(&data, "parkings", "nom,places\nCentre,102\n");

    // Each header counts its own user's notifications, on every page, in any order of
    // requests (the table tab fills the portal's facet cache first).
    let html = wait_badge(&alice, "/explore/dataset/velos/table/", Some(1)).await;
    assert!(html.contains("<span class=\"visually-hidden\"> non lues</span>"), "{html}");
    wait_badge(&bob, "/explore/dataset/velos/table/", Some(2)).await;
    for path in ["/explore/dataset/velos/", "/explore/dataset/velos/table/", "/explore/", "/"] {
        for _ in 0..2 {
            assert_eq!(badge(&alice.get(path).await.2), Some(1), "alice on {path}");
            assert_eq!(badge(&bob.get(path).await.2), Some(2), "bob on {path}");
            let carols = carol.get(path).await.2;
            assert_eq!(badge(&carols), None, "carol on {path}");
            assert!(carols.contains("id=\"notifications-link\""), "carol on {path}");
            let (_, _, anonymous) = server.get(path).await;
            assert!(!anonymous.contains("notifications-link"), "anonymous on {path}");
        }
    }

    // Reading clears Alice's badge, not Bob's.
    let (status, _, _) = alice.post("/account/notifications/read", &[]).await;
    assert_eq!(status, 303);
    assert_eq!(badge(&alice.get("/explore/dataset/velos/").await.2), None);
    assert_eq!(badge(&bob.get("/explore/dataset/velos/").await.2), Some(2));
}

/// The follow form is in the header of every tab (not only the information tab), with the
/// session's CSRF token and `next` naming the tab shown with its query (filters, version),
/// so following from the table at version 1 comes back to the table at version 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_follow_button_is_on_every_tab_and_comes_back_to_it() {
    let dir = tempfile::tempdir().unwrap();
    // Two versions, with a point (so the map tab exists).
    publish(dir.path(), "stations", "station,lat,lon,velos\nA,48.58,7.75,3\nB,48.57,7.76,5\n");
    publish(dir.path(), "stations", "station,lat,lon,velos\nA,48.58,7.75,4\nB,48.57,7.76,5\n");
    let a = accounts(dir.path());
    a.create_user(&operator(), "alice@example.org", None, false, Some(PASSWORD)).unwrap();
    drop(a);
    let server = TestServer::start(dir).await;
    let alice = User::sign_in(&server.base, "alice@example.org").await;
    let d = "/explore/dataset/stations";
    let tabs = [
        (format!("{d}/"), format!("{d}/")),
        (format!("{d}/information/"), format!("{d}/")),
        (format!("{d}/table/?q=A&version=1"), format!("{d}/table/?q=A&version=1")),
        (format!("{d}/map/?version=1"), format!("{d}/map/?version=1")),
        (format!("{d}/analyze/?version=1"), format!("{d}/analyze/?version=1")),
        (format!("{d}/api/"), format!("{d}/api/")),
        (format!("{d}/export/?version=1"), format!("{d}/export/?version=1")),
        (format!("{d}/versions/"), format!("{d}/versions/")),
        // The current version's number is dropped from the page's query, and from `next`.
        (format!("{d}/table/?version=2"), format!("{d}/table/")),
    ];
    for (follow, label) in [("1", ">Suivre</button>"), ("0", ">Ne plus suivre</button>")] {
        for (page, next) in &tabs {
            let (status, _, html) = alice.get(page).await;
            assert_eq!(status, 200, "{page}: {html}");
            assert!(html.contains(label), "{page}: {label} expected");
            assert_eq!(form_field(&html, "follow-form", "follow"), follow, "{page}");
            // The template escapes `&` in attribute values.
            let shown = form_field(&html, "follow-form", "next").replace("&#38;", "&");
            assert_eq!(&shown, next, "{page}");
            assert_eq!(form_field(&html, "follow-form", "csrf"), alice.csrf, "{page}");
        }
        // Posted from the table at version 1, the form comes back there.
        let (page, next) = &tabs[2];
        let html = alice.get(page).await.2;
        let csrf = form_field(&html, "follow-form", "csrf");
        let fields = [("follow", follow), ("next", next.as_str())];
        let (status, location, _) =
            alice.post_with("/account/follow/stations", &fields, &csrf).await;
        assert_eq!((status, location.as_str()), (303, next.as_str()));
    }
    // Unfollowed: every tab offers to follow again.
    assert!(alice.get("/explore/dataset/stations/map/").await.2.contains(">Suivre</button>"));
    // Signed out, and in an embed, no tab has the form.
    for page in [format!("{d}/table/"), format!("{d}/map/"), format!("{d}/versions/")] {
        let (status, _, html) = server.get(&page).await;
        assert_eq!(status, 200, "{page}");
        assert!(!html.contains("follow-form"), "anonymous on {page}");
    }
    let (status, _, embed) = alice.get("/explore/embed/dataset/stations/table/").await;
    assert_eq!(status, 200);
    assert!(!embed.contains("follow-form"), "an embed has no follow form");
}

/// What the receiver saw: each request's signature header and body, and the status answered.
#[derive(Default)]
struct Seen {
    requests: Vec<(String, Vec<u8>, u16)>,
    /// Requests still to fail with 500.
    fail: usize,
}

async fn receive(
    State(seen): State<Arc<Mutex<Seen>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut seen = seen.lock().unwrap();
    let status = if seen.fail > 0 {
        seen.fail -= 1;
        500
    } else {
        200
    };
    let signature = headers
        .get("kleber-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    seen.requests.push((signature, body.to_vec(), status));
    StatusCode::from_u16(status).unwrap()
}

async fn receiver(fail: usize) -> (String, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen { fail, ..Seen::default() }));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), seen)
}

/// The receiver's own check of `t=...,v1=...` over `t.body` with `secret`.
fn signed_with(secret: &str, header: &str, body: &[u8]) -> bool {
    let part = |name: &str| {
        header.split(',').find_map(|p| p.strip_prefix(name)?.strip_prefix('=').map(str::to_owned))
    };
    let (Some(t), Some(v1)) = (part("t"), part("v1")) else { return false };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    expected == v1
}

/// The text inside the element whose `id` is `id` (up to its first `<`).
fn text_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\">"))?;
    let rest = &html[at + id.len() + 6..];
    Some(rest[..rest.find('<')?].to_owned())
}

/// The numbers of the hooks listed on a page.
fn hooks_listed(html: &str) -> Vec<i64> {
    html.match_indices("<tr data-hook=\"")
        .map(|(at, m)| {
            let rest = &html[at + m.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

/// The server of the webhook pages: `parkings` in the default organization, an editor of it,
/// and the admin of another organization; deliveries to loopback allowed, retried fast.
async fn webhook_server() -> (TestServer, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    publish(dir.path(), "parkings", "nom,places\nCentre,100\nGare,200\n");
    let a = accounts(dir.path());
    let op = operator();
    let org = NewOrganization {
        id: "autre",
        name: "Autre organisation",
        kind: OrgKind::Company,
        description: None,
        website: None,
        logo: None,
    };
    a.create_org(&op, &org).unwrap();
    for (email, org, role) in [
        ("editor@example.org", DEFAULT_ORG, Role::Editor),
        ("admin@autre.example", "autre", Role::Admin),
    ] {
        a.create_user(&op, email, None, false, Some(PASSWORD)).unwrap();
        a.set_member(&op, org, email, role).unwrap();
    }
    drop(a);
    let data = dir.path().to_path_buf();
    let server =
        TestServer::start_configured(dir, Limits::default(), Duration::from_secs(30), |s| {
            s.app.set_webhook_settings(WebhookSettings {
                allow_private: true,
                first_retry: Duration::from_millis(50),
                max_attempts: 5,
                timeout: Duration::from_secs(5),
                ..WebhookSettings::default()
            });
            s
        })
        .await;
    (server, data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_pages_create_list_log_and_delete_within_the_editors_rights() {
    let (server, data) = webhook_server().await;
    let editor = User::sign_in(&server.base, "editor@example.org").await;
    let other = User::sign_in(&server.base, "admin@autre.example").await;
    let page = "/admin/datasets/parkings/webhooks";
    let (url, seen) = receiver(1).await;

    // The edit page links to it; no hook yet.
    let (_, _, edit) = editor.get("/admin/datasets/parkings/").await;
    assert!(edit.contains("href=\"/admin/datasets/parkings/webhooks\""), "{edit}");
    let (status, cache, html) = editor.get(page).await;
    assert_eq!(status, 200, "{html}");
    assert!(cache.contains("no-store"), "{cache}");
    assert!(html.contains("id=\"wh-none\""), "{html}");

    // Refused: without the CSRF token, and a URL that is not http(s); nothing is created.
    let (status, _, _) = editor.post_with(page, &[("url", &url)], "wrong").await;
    assert_eq!(status, 403);
    let (status, _, html) = editor.post(page, &[("url", "ftp://example.org/hook")]).await;
    assert_eq!(status, 400, "{html}");
    let error = text_of(&html, "wh-error").unwrap();
    assert!(error.contains("http or https"), "{error}");
    assert!(html.contains("value=\"ftp://example.org/hook\""), "the URL typed is kept");
    assert!(hooks_listed(&editor.get(page).await.2).is_empty());

    // Created: the secret shown this once, the hook listed with its URL and event.
    let (status, _, html) = editor.post(page, &[("url", &url)]).await;
    assert_eq!(status, 201, "{html}");
    let secret = text_of(&html, "wh-secret").unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{secret}");
    let hooks = hooks_listed(&html);
    assert_eq!(hooks.len(), 1, "{html}");
    let hook = hooks[0];
    let (_, _, html) = editor.get(page).await;
    assert!(!html.contains(&secret), "the secret is shown only once");
    assert!(html.contains(&format!("<code>{url}</code>")), "{html}");
    assert!(html.contains("<code>dataset.version.published</code>"), "{html}");
    assert!(html.contains("aucun envoi"), "no delivery yet: {html}");

    // A new version: the receiver fails once, then accepts; the delivery is signed with the
    // secret the page showed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    publish(&data, "parkings", "nom,places\nCentre,101\nGare,200\n");
    for _ in 0..200 {
        if seen.lock().unwrap().requests.iter().any(|r| r.2 == 200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let requests = std::mem::take(&mut seen.lock().unwrap().requests);
    assert_eq!(requests.iter().map(|r| r.2).collect::<Vec<_>>(), [500, 200]);
    let (signature, body, _) = &requests[1];
    assert!(signed_with(&secret, signature, body), "signed with the secret shown");
    let delivered: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(delivered["dataset_id"], "parkings");
    assert_eq!(delivered["version"], 2);

    // The log: the delivery's two attempts, newest first, with their status codes; the list
    // shows the last delivery.
    let log = format!("/admin/webhooks/{hook}");
    let mut html = String::new();
    for _ in 0..50 {
        html = editor.get(&log).await.2;
        if html.contains("livré") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivery = delivered["delivery_id"].as_str().unwrap();
    let second = html.find(&format!("data-delivery=\"{delivery}\" data-attempt=\"2\"")).unwrap();
    let first = html.find(&format!("data-delivery=\"{delivery}\" data-attempt=\"1\"")).unwrap();
    assert!(second < first, "newest attempt first: {html}");
    assert!(html[second..first].contains(">200</td>") && html[second..first].contains("livré"));
    assert!(html[first..].contains(">500</td>"), "{html}");
    assert!(html.contains(&format!("id=\"wh-url\">{url}<")), "{html}");
    let (_, _, list) = editor.get(page).await;
    assert!(list.contains("livré · HTTP 200"), "{list}");

    // Another organization's admin sees nothing of it: page, log, deletion are missing pages,
    // and the hook stays. The editor sees nothing of the other organization's hooks either.
    for path in [page.to_owned(), log.clone(), "/admin/datasets/nothing/webhooks".to_owned()] {
        let (status, _, html) = other.get(&path).await;
        assert_eq!(status, 404, "{path}");
        assert!(!html.contains(&url), "{path}");
    }
    let (status, _, _) = other.post(&format!("{log}/delete"), &[]).await;
    assert_eq!(status, 404);
    let (status, _, _) = other.post(page, &[("url", &url)]).await;
    assert_eq!(status, 404);
    assert_eq!(hooks_listed(&editor.get(page).await.2), [hook]);
    let org_page = "/admin/organizations/autre/webhooks";
    let (status, _, html) = other.post(org_page, &[("url", "http://127.0.0.1:9/org")]).await;
    assert_eq!(status, 201, "{html}");
    assert!(html.contains("Autre organisation"), "{html}");
    let org_hook = hooks_listed(&html);
    assert_eq!(org_hook.len(), 1);
    assert!(!html.contains(&url), "only the organization's own hooks: {html}");
    assert_eq!(editor.get(org_page).await.0, 404);
    assert_eq!(editor.get(&format!("/admin/webhooks/{}", org_hook[0])).await.0, 404);
    assert_eq!(editor.get("/admin/webhooks/not-a-number").await.0, 404);
    assert!(!hooks_listed(&editor.get(page).await.2).contains(&org_hook[0]));
    // Signed out: the missing page.
    let anonymous = client().get(format!("{}{page}", server.base)).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 404);

    // Deleted: back to the page, which says so and lists nothing; the log is gone.
    let (status, location, _) = editor.post(&format!("{log}/delete"), &[]).await;
    assert_eq!((status, location.as_str()), (303, "/admin/datasets/parkings/webhooks?deleted=1"));
    let (_, _, html) = editor.get(&location).await;
    assert!(html.contains("id=\"wh-saved\">Webhook supprimé."), "{html}");
    assert!(html.contains("id=\"wh-none\""), "{html}");
    assert_eq!(editor.get(&log).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lineage_names_the_derived_datasets_the_caller_may_read() {
    let dir = tempfile::tempdir().unwrap();
    publish(dir.path(), "velos", "station,velos\nA,3\nB,5\n");
    let app = app_over(dir.path());
    let op = Editor::operator();
    let sql = "SELECT count(*) AS n FROM velos";
    app.define_derivation(&op, "velos-total", sql, Some("Total des vélos"), None).await.unwrap();
    app.define_derivation(&op, "velos-prive", sql, Some("Compte zq9prive"), None).await.unwrap();
    drop(app);
    let a = accounts(dir.path());
    a.set_visibility(&operator(), "velos-total", Visibility::Public).unwrap();
    a.set_visibility(&operator(), "velos-prive", Visibility::Restricted).unwrap();
    a.create_user(&operator(), "admin@example.org", None, true, None).unwrap();
    let all = [Scope::Read, Scope::Write, Scope::Admin];
    let admin = a.create_key(&operator(), "admin@example.org", "t", &all, None).unwrap().key;
    drop(a);
    let server = TestServer::start(dir).await;
    let get = |path: String, key: Option<String>| {
        let (http, base) = (server.client.clone(), server.base.clone());
        async move {
            let mut request = http.get(format!("{base}{path}"));
            if let Some(key) = key {
                request = request.header("Authorization", format!("Apikey {key}"));
            }
            let r = request.send().await.unwrap();
            let etag = r.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
            let status = r.status().as_u16();
            (status, etag, r.text().await.unwrap())
        }
    };
    let derived = |body: &str| {
        let object: Value = serde_json::from_str(body).unwrap();
        object["metas"]["default"]["derived_datasets"].clone()
    };

    // Anonymous: only the public derived dataset; the admin: both, in identifier order.
    let (status, anonymous_tag, body) = get(format!("{V}/velos"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(derived(&body), serde_json::json!(["velos-total"]), "{body}");
    assert!(!body.contains("velos-prive"), "{body}");
    let (_, admin_tag, body) = get(format!("{V}/velos"), Some(admin.clone())).await;
    assert_eq!(derived(&body), serde_json::json!(["velos-prive", "velos-total"]), "{body}");
    assert_ne!(anonymous_tag, admin_tag, "the answers differ, so do their tags");
    // The v1 object too, and the other way: the inputs.
    let (_, _, body) = get("/api/datasets/1.0/velos/".to_owned(), None).await;
    let v1: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v1["metas"]["derived_datasets"], serde_json::json!(["velos-total"]), "{body}");
    let (_, _, body) = get(format!("{V}/velos-total"), None).await;
    let object: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(object["metas"]["default"]["derived_from"], serde_json::json!(["velos"]));
    assert!(object["metas"]["default"].get("derived_datasets").is_none(), "{body}");

    // The page: "derived from this one", linked, the private one left out for anonymous.
    let (_, _, html) = server.get("/explore/dataset/velos/").await;
    assert!(html.contains("Jeux de données dérivés de celui-ci"), "{html}");
    assert!(html.contains("<a href=\"/explore/dataset/velos-total/\">Total des vélos</a>"));
    assert!(!html.contains("velos-prive") && !html.contains("zq9prive"), "{html}");
    let (_, _, html) = server.get("/explore/dataset/velos-total/?lang=en").await;
    assert!(html.contains("Derived from"), "{html}");
    assert!(html.contains("<a href=\"/explore/dataset/velos/\">velos (version 1)</a>"), "{html}");

    // A dataset derived later appears, and the tag of `velos` changes with it.
    let body = serde_json::json!({"query": "SELECT station FROM velos", "title": "Stations"});
    let r = server
        .client
        .put(format!("{}/api/management/v1/datasets/velos-stations/derivation", server.base))
        .header("Authorization", format!("Apikey {admin}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    let (_, later_tag, body) = get(format!("{V}/velos"), Some(admin.clone())).await;
    assert_eq!(
        derived(&body),
        serde_json::json!(["velos-prive", "velos-stations", "velos-total"]),
        "{body}"
    );
    assert_ne!(later_tag, admin_tag);
}

/// `tests/browser/follow.mjs` in headless Chromium: the badge and the follow button of a
/// follower, the webhook page and the delivery log, without axe violation, screenshots in
/// `tests/artifacts/screenshots/follow/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_and_the_webhook_pages_in_the_browser() {
    crate::browser::require_tools();
    let _one = crate::browser::ONE_BROWSER.lock().await;
    let (server, data) = webhook_server().await;
    let editor = User::sign_in(&server.base, "editor@example.org").await;
    let (url, seen) = receiver(1).await;
    let (status, _, html) =
        editor.post("/admin/datasets/parkings/webhooks", &[("url", &url)]).await;
    assert_eq!(status, 201, "{html}");
    let hook = hooks_listed(&html)[0].to_string();
    let (status, _, _) = editor.post("/account/follow/parkings", &[("follow", "1")]).await;
    assert_eq!(status, 303);
    tokio::time::sleep(Duration::from_millis(300)).await;
    publish(&data, "parkings", "nom,places\nCentre,99\nGare,200\n");
    wait_badge(&editor, "/", Some(1)).await;
    for _ in 0..200 {
        if seen.lock().unwrap().requests.iter().any(|r| r.2 == 200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let args = [server.base.as_str(), "editor@example.org", PASSWORD, "parkings", hook.as_str()];
    let (status, output) = crate::browser::run_node_with("follow.mjs", &args).await;
    println!("{output}");
    assert!(status.success(), "node tests/browser/follow.mjs failed ({status}):\n{output}");
}
