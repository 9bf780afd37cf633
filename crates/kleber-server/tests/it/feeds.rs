//! Atom feeds of versions (issue 15 item 4, docs/feeds.md#atom-feeds), read by feedparser
//! (the test venv's): one entry per version with the summary `/versions` gives, links to the
//! version and its diff; the catalog feed holds only what the caller may read; follow →
//! publish → notification; the examples of docs/feeds.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use kleber_app::accounts::{Accounts, operator};
use kleber_ingest::ImportOptions;
use kleber_store::{Role, Scope, Store, Visibility};
use serde_json::Value;

use crate::common::{TestServer, import};

const API: &str = "/api/explore/v2.1";

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

/// The feed parsed by feedparser: `bozo`, `version`, `title`, `entries` (title, id, summary,
/// links as `[rel, href]`, published).
fn feedparser(xml: &str) -> Value {
    const SCRIPT: &str = r#"
import json, sys, feedparser
f = feedparser.parse(sys.stdin.buffer.read())
print(json.dumps({
    "bozo": bool(f.bozo), "version": f.version, "title": f.feed.get("title"),
    "entries": [{"title": e.get("title"), "id": e.get("id"), "summary": e.get("summary"),
                 "published": e.get("published"),
                 "links": [[l.get("rel"), l.get("href")] for l in e.get("links", [])]}
                for e in f.entries]}))
"#;
    let mut child = Command::new(python())
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), xml.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("feedparser");
    assert!(out.status.success(), "feedparser: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Imports `text` as a new version of `id` in `dir` (another process's `kleber import`).
fn publish(dir: &Path, id: &str, text: &str) {
    let files = tempfile::tempdir().unwrap();
    let path = write(files.path(), "data.csv", text);
    import(dir, &path, id, ImportOptions::default());
}

async fn get_text(server: &TestServer, path: &str, key: Option<&str>) -> (u16, String, String) {
    let mut request = server.client.get(format!("{}{path}", server.base));
    if let Some(key) = key {
        request = request.header("Authorization", format!("Apikey {key}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let ct = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, response.text().await.unwrap())
}

#[tokio::test]
async fn each_version_is_an_atom_entry_with_its_summary_and_the_catalog_feed_keeps_private_datasets_out()
 {
    let dir = tempfile::tempdir().unwrap();
    publish(dir.path(), "velos", "station,velos\nA,3\nB,5\nC,7\n");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    publish(dir.path(), "velos", "station,velos\nA,3\nB,6\nD,1\n");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    publish(dir.path(), "velos", "station,velos\nA,4\nB,6\nD,1\nE,2\n");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    publish(dir.path(), "secret", "code,valeur\nzq8private,1\n");
    let accounts = Accounts::new(Arc::new(Store::open(dir.path()).unwrap()));
    accounts.set_visibility(&operator(), "secret", Visibility::Restricted).unwrap();
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
    let server = TestServer::start(dir).await;

    let (status, ct, xml) =
        get_text(&server, &format!("{API}/catalog/datasets/velos/versions.atom"), None).await;
    assert_eq!(status, 200, "{xml}");
    assert!(ct.starts_with("application/atom+xml"), "{ct}");
    let feed = feedparser(&xml);
    assert_eq!(feed["bozo"], false, "{feed}");
    assert_eq!(feed["version"], "atom10", "{feed}");
    let entries = feed["entries"].as_array().unwrap();
    let versions = server.json(&format!("{API}/catalog/datasets/velos/versions"), 200).await;
    let listed = versions["results"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{feed}");
    assert_eq!(entries.len(), listed.len());
    for (entry, v) in entries.iter().zip(listed) {
        let n = v["version"].as_i64().unwrap();
        let title = entry["title"].as_str().unwrap();
        assert!(title.ends_with(&format!("version {n}")), "{title}");
        let summary = entry["summary"].as_str().unwrap();
        let s = &v["summary"];
        if n == 1 {
            assert_eq!(summary, "First version: 3 records.");
        } else {
            let expected = format!(
                "{} records added, {} removed, {} changed since version {}.",
                s["records_added"],
                s["records_removed"],
                s["records_changed"],
                n - 1
            );
            assert_eq!(summary, expected, "{entry}");
        }
        let links = entry["links"].as_array().unwrap();
        let href = |rel: &str| {
            links.iter().find(|l| l[0] == rel).map(|l| l[1].as_str().unwrap().to_owned())
        };
        let alternate = href("alternate").unwrap();
        assert!(alternate.ends_with(&format!("/velos/records?version={n}")), "{alternate}");
        if n > 1 {
            let related = href("related").unwrap();
            assert!(related.ends_with(&format!("/changes?from={}&to={n}", n - 1)), "{related}");
            // The diff link answers, with the counts of the summary.
            let path = related.trim_start_matches(&server.base);
            let diff = server.json(path, 200).await;
            assert_eq!(diff["records_added"], s["records_added"], "{diff}");
            assert_eq!(diff["records_changed"], s["records_changed"], "{diff}");
        }
    }
    // Without unique-id fields a record is known by all its values, so a changed value is a
    // record removed and one added. Version 2 against 1: B,5 and C removed, B,6 and D added;
    // version 3: A,3 removed, A,4 and E added.
    assert_eq!(entries[1]["summary"], "2 records added, 2 removed, 0 changed since version 1.");
    assert_eq!(entries[0]["summary"], "2 records added, 1 removed, 0 changed since version 2.");

    // The private dataset: not found anonymously, readable by its staff.
    let (status, _, body) =
        get_text(&server, &format!("{API}/catalog/datasets/secret/versions.atom"), None).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("DatasetNotFound"), "{body}");
    let (status, _, _) =
        get_text(&server, &format!("{API}/catalog/datasets/secret/versions.atom"), Some(&staff))
            .await;
    assert_eq!(status, 200);

    // The catalog feed: anonymous callers see velos' versions only, newest first.
    let (status, _, xml) = get_text(&server, &format!("{API}/catalog/versions.atom"), None).await;
    assert_eq!(status, 200);
    assert!(!xml.contains("secret") && !xml.contains("zq8private"), "{xml}");
    let feed = feedparser(&xml);
    assert_eq!(feed["bozo"], false, "{feed}");
    let titles: Vec<&str> =
        feed["entries"].as_array().unwrap().iter().map(|e| e["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["velos — version 3", "velos — version 2", "velos — version 1"]);
    let (_, _, xml) =
        get_text(&server, &format!("{API}/catalog/versions.atom"), Some(&staff)).await;
    let feed = feedparser(&xml);
    let titles: Vec<&str> =
        feed["entries"].as_array().unwrap().iter().map(|e| e["title"].as_str().unwrap()).collect();
    assert_eq!(titles.len(), 4, "{titles:?}");
    assert_eq!(titles[0], "secret — version 1", "{titles:?}");
    let (_, _, xml) =
        get_text(&server, &format!("{API}/catalog/versions.atom?limit=1"), None).await;
    assert_eq!(feedparser(&xml)["entries"].as_array().unwrap().len(), 1);
    let (status, _, body) =
        get_text(&server, &format!("{API}/catalog/versions.atom?limit=0"), None).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("InvalidRESTParameterError") && body.contains("limit"), "{body}");
}

/// A client that does not follow redirects.
fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn a_follower_is_notified_of_a_new_version_and_marks_it_read() {
    const PASSWORD: &str = "correct horse battery";
    let dir = tempfile::tempdir().unwrap();
    publish(dir.path(), "velos", "station,velos\nA,3\nB,5\n");
    publish(dir.path(), "secret", "code,valeur\nzq8private,1\n");
    let accounts = Accounts::new(Arc::new(Store::open(dir.path()).unwrap()));
    accounts.set_visibility(&operator(), "secret", Visibility::Restricted).unwrap();
    accounts.create_user(&operator(), "reader@example.org", None, false, Some(PASSWORD)).unwrap();
    drop(accounts);
    let data = dir.path().to_path_buf();
    let server = TestServer::start(dir).await;
    let http = client();
    let base = server.base.clone();

    // Sign in (the sign-in form's CSRF cookie), then read the session's CSRF token.
    let login = http.get(format!("{base}/login/")).send().await.unwrap();
    let token = crate::forms::cookie_value(&login, "kleber_csrf").unwrap();
    let body = crate::forms::form(&[
        ("csrf", &token),
        ("email", "reader@example.org"),
        ("password", PASSWORD),
    ]);
    let signed = http
        .post(format!("{base}/login"))
        .header("Cookie", format!("kleber_csrf={token}"))
        .header("Origin", &base)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status().as_u16(), 303);
    let cookie = format!(
        "kleber_session={}",
        crate::forms::cookie_value(&signed, "kleber_session").unwrap()
    );
    let page = |path: &'static str| {
        let (http, base, cookie) = (http.clone(), base.clone(), cookie.clone());
        async move {
            let r =
                http.get(format!("{base}{path}")).header("Cookie", cookie).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, html) = page("/account/notifications/").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("id=\"unread-count\">(0)"), "{html}");
    let csrf = crate::forms::csrf_of(&page("/account/").await.1);
    let post = |path: String, fields: Vec<(&'static str, String)>, csrf: String| {
        let (http, base, cookie) = (http.clone(), base.clone(), cookie.clone());
        async move {
            let mut all = vec![("csrf", csrf.as_str())];
            all.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
            http.post(format!("{base}{path}"))
                .header("Cookie", cookie)
                .header("Origin", &base)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(crate::forms::form(&all))
                .send()
                .await
                .unwrap()
        }
    };

    // Without the CSRF token: refused, nothing followed. A dataset one may not read: not
    // found. Then following velos.
    let refused = post("/account/follow/velos".to_owned(), vec![], "wrong".to_owned()).await;
    assert_eq!(refused.status().as_u16(), 403);
    let hidden = post("/account/follow/secret".to_owned(), vec![], csrf.clone()).await;
    assert_eq!(hidden.status().as_u16(), 404);
    let followed = post("/account/follow/velos".to_owned(), vec![], csrf.clone()).await;
    assert_eq!(followed.status().as_u16(), 303);
    assert_eq!(followed.headers()["location"], "/explore/dataset/velos/");

    // Another process publishes velos (and secret): the follower is notified of velos only.
    tokio::time::sleep(Duration::from_millis(300)).await;
    publish(&data, "velos", "station,velos\nA,3\nB,6\nC,1\n");
    publish(&data, "secret", "code,valeur\nzq8private,2\n");
    let mut html = String::new();
    for _ in 0..100 {
        html = page("/account/notifications/").await.1;
        if html.contains("data-version=\"2\"") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(html.contains("data-dataset=\"velos\" data-version=\"2\""), "{html}");
    assert!(html.contains("id=\"unread-count\">(1)"), "{html}");
    assert!(html.contains("changes?from=1&#38;to=2"), "{html}");
    assert!(!html.contains("zq8private") && !html.contains("data-dataset=\"secret\""), "{html}");

    // Marked read; then unfollowed: the next version notifies nobody.
    let read = post("/account/notifications/read".to_owned(), vec![], csrf.clone()).await;
    assert_eq!(read.status().as_u16(), 303);
    let (_, html) = page("/account/notifications/").await;
    assert!(html.contains("id=\"unread-count\">(0)"), "{html}");
    assert!(!html.contains("class=\"notification unread\""), "{html}");
    let unfollowed =
        post("/account/follow/velos".to_owned(), vec![("follow", "0".to_owned())], csrf).await;
    assert_eq!(unfollowed.status().as_u16(), 303);
    publish(&data, "velos", "station,velos\nA,4\n");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (_, html) = page("/account/notifications/").await;
    assert!(!html.contains("data-version=\"3\""), "{html}");
    // Signed out: sent to the sign-in page.
    let anonymous = http.get(format!("{base}/account/notifications/")).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 303);
}
