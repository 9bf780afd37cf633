//! The audit log read through `GET /api/management/v1/audit` on a real server and through
//! `kleber audit`: portal admins read every entry, an organization's admin only the entries
//! about their organizations, anonymous callers get 401, other keys 403; filters and pages.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use kleber_app::accounts::{Accounts, operator};
use kleber_query::Limits;
use kleber_store::{NewOrganization, OrgKind, Role, Scope, Store, Visibility};
use serde_json::Value;

use crate::common::TestServer;

const AUDIT: &str = "/api/management/v1/audit";

struct Keys {
    root: String,
    root_read_only: String,
    ems_admin: String,
    ems_admin_read_only: String,
    ems_viewer: String,
}

fn org(accounts: &Accounts, id: &str) {
    let new = NewOrganization {
        id,
        name: id,
        kind: OrgKind::PublicBody,
        description: None,
        website: None,
        logo: None,
    };
    accounts.create_org(&operator(), &new).expect("org");
}

fn key(accounts: &Accounts, email: &str, scopes: &[Scope]) -> String {
    accounts.create_key(&operator(), email, "audit", scopes, None).expect("key").key
}

/// Two organizations, their members, keys, and a dataset moved into `ems`, restricted and
/// granted: entries of every kind.
fn setup(dir: &Path) -> Keys {
    let csv = dir.join("small.csv");
    std::fs::write(&csv, "name,value\na,1\nb,2\n").unwrap();
    crate::common::import(dir, &csv, "bassins", kleber_ingest::ImportOptions::default());
    std::fs::remove_file(&csv).unwrap();
    let accounts = Accounts::new(Arc::new(Store::open(dir).expect("store")));
    let op = operator();
    org(&accounts, "ems");
    org(&accounts, "ville");
    for (email, admin) in [
        ("root@example.org", true),
        ("anne@example.org", false),
        ("vic@example.org", false),
        ("val@example.org", false),
    ] {
        accounts.create_user(&op, email, None, admin, None).expect("user");
    }
    accounts.set_member(&op, "ems", "anne@example.org", Role::Admin).unwrap();
    accounts.set_member(&op, "ems", "vic@example.org", Role::Viewer).unwrap();
    accounts.set_member(&op, "ville", "val@example.org", Role::Admin).unwrap();
    accounts.set_dataset_org(&op, "bassins", "ems").unwrap();
    accounts.set_visibility(&op, "bassins", Visibility::Restricted).unwrap();
    accounts.grant(&op, "bassins", "val@example.org").unwrap();
    Keys {
        root: key(&accounts, "root@example.org", &[Scope::Read, Scope::Admin]),
        root_read_only: key(&accounts, "root@example.org", &[Scope::Read]),
        ems_admin: key(&accounts, "anne@example.org", &[Scope::Read, Scope::Admin]),
        ems_admin_read_only: key(&accounts, "anne@example.org", &[Scope::Read]),
        ems_viewer: key(&accounts, "vic@example.org", &[Scope::Read, Scope::Admin]),
    }
}

async fn get(
    server: &TestServer,
    query: &str,
    key: Option<&str>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut request = server.client.get(format!("{}{AUDIT}{query}", server.base));
    if let Some(key) = key {
        request = request.header("Authorization", format!("Apikey {key}"));
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.expect("body");
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{query}: {e}: {body}"));
    (status, json, headers)
}

fn entries(page: &Value) -> Vec<(String, String)> {
    page["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|e| {
            (e["action"].as_str().unwrap().to_owned(), e["target"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn ids(page: &Value) -> Vec<i64> {
    page["results"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect()
}

/// Every entry of the log, newest first, read from the catalog itself.
fn all_rows(dir: &Path) -> Vec<(i64, String, String)> {
    let conn = rusqlite::Connection::open(dir.join("catalog.sqlite")).unwrap();
    let mut stmt =
        conn.prepare("SELECT id, action, target FROM audit_log ORDER BY id DESC").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

async fn start() -> (TestServer, Keys, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = setup(dir.path());
    // A copy of the catalog to compare with (the served directory belongs to the server).
    let copy = tempfile::tempdir().expect("tempdir");
    std::fs::copy(dir.path().join("catalog.sqlite"), copy.path().join("catalog.sqlite")).unwrap();
    let server =
        TestServer::start_configured(dir, Limits::default(), Duration::from_secs(30), |s| s).await;
    (server, keys, copy)
}

#[tokio::test]
async fn who_may_read_the_audit_log() {
    let (server, keys, _copy) = start().await;
    let (status, body, headers) = get(&server, "", None).await;
    assert_eq!((status, body["error_code"].as_str()), (401, Some("AuthenticationRequired")));
    assert_eq!(headers.get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Apikey"));
    for (who, key) in [
        ("a portal admin's key without the admin scope", &keys.root_read_only),
        ("an organization admin's key without the admin scope", &keys.ems_admin_read_only),
        ("a viewer's key with the admin scope", &keys.ems_viewer),
    ] {
        let (status, body, _) = get(&server, "", Some(key)).await;
        assert_eq!(
            (status, body["error_code"].as_str()),
            (403, Some("Forbidden")),
            "{who}: {body}"
        );
        assert!(body.get("results").is_none(), "{who}: {body}");
    }
    let (status, body, _) = get(&server, "", Some("klb_000000000000_nope")).await;
    assert_eq!((status, body["error_code"].as_str()), (401, Some("InvalidApiKey")));
}

#[tokio::test]
async fn an_organization_admin_reads_only_its_organizations_entries() {
    let (server, keys, _copy) = start().await;
    let (status, page, headers) = get(&server, "?limit=100", Some(&keys.ems_admin)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        headers.get("cache-control").and_then(|v| v.to_str().ok()),
        Some("private, no-store")
    );
    assert!(headers.get("etag").is_none());
    let mut seen = entries(&page);
    seen.reverse();
    let expected: Vec<(String, String)> = [
        ("org.create", "ems"),
        ("member.set", "ems"),
        ("member.set", "ems"),
        ("dataset.org", "bassins"),
        ("dataset.visibility", "bassins"),
        ("dataset.grant", "bassins"),
    ]
    .iter()
    .map(|(a, t)| ((*a).to_owned(), (*t).to_owned()))
    .collect();
    assert_eq!(seen, expected, "{page}");
    assert_eq!(page["total_count"], 6);
    let text = page.to_string();
    assert!(!text.contains("ville") && !text.contains("root@"), "other entries leak: {text}");
    // Its own organization named: the same; another one: refused.
    let (_, named, _) = get(&server, "?limit=100&org=ems", Some(&keys.ems_admin)).await;
    assert_eq!(entries(&named), entries(&page));
    let (status, body, _) = get(&server, "?org=ville", Some(&keys.ems_admin)).await;
    assert_eq!((status, body["error_code"].as_str()), (403, Some("Forbidden")), "{body}");
    let (status, _, _) = get(&server, "?org=no-such-org", Some(&keys.ems_admin)).await;
    assert_eq!(status, 403, "an unknown organization reads as one not administered");
}

#[tokio::test]
async fn a_portal_admin_reads_everything_filtered_and_paged() {
    let (server, keys, copy) = start().await;
    let rows = all_rows(copy.path());
    let (status, page, _) = get(&server, "?limit=100", Some(&keys.root)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total_count"], rows.len());
    assert_eq!(ids(&page), rows.iter().map(|r| r.0).collect::<Vec<_>>());
    // Pages of 3 add up to the whole, newest first, with the same total.
    let mut paged = Vec::new();
    for offset in (0..rows.len()).step_by(3) {
        let (_, p, _) = get(&server, &format!("?limit=3&offset={offset}"), Some(&keys.root)).await;
        assert_eq!(p["total_count"], rows.len());
        assert!(ids(&p).len() <= 3);
        paged.extend(ids(&p));
    }
    assert_eq!(paged, ids(&page));
    // Filters: an organization, an action, time bounds.
    let (_, ville, _) = get(&server, "?org=ville", Some(&keys.root)).await;
    assert_eq!(
        entries(&ville),
        [
            ("member.set".to_owned(), "ville".to_owned()),
            ("org.create".to_owned(), "ville".to_owned())
        ]
    );
    let (_, members, _) = get(&server, "?action=member.set", Some(&keys.root)).await;
    assert_eq!(members["total_count"], 3);
    let actor = page["results"][0]["actor"].as_str().unwrap().to_owned();
    let (_, by_actor, _) =
        get(&server, &format!("?limit=100&actor={}", crate::common::enc(&actor)), Some(&keys.root))
            .await;
    let expected =
        page["results"].as_array().unwrap().iter().filter(|e| e["actor"] == actor.as_str()).count();
    assert_eq!(by_actor["total_count"], expected);
    let (_, future, _) = get(&server, "?since=2999-01-01", Some(&keys.root)).await;
    assert_eq!(future["total_count"], 0);
    let (_, past, _) = get(&server, "?until=2000-01-01T00:00:00Z", Some(&keys.root)).await;
    assert_eq!(past["total_count"], 0);
    let (_, since, _) = get(&server, "?since=2000-01-01", Some(&keys.root)).await;
    assert_eq!(since["total_count"], rows.len());
    // Bad parameters are refused precisely.
    for (query, word) in [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?offset=x", "offset"),
        ("?since=yesterday", "since"),
        ("?where=1", "where"),
    ] {
        let (status, body, _) = get(&server, query, Some(&keys.root)).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error_code"], "InvalidRESTParameterError");
        assert!(body["message"].as_str().unwrap().contains(word), "{query}: {body}");
    }
}

#[test]
fn kleber_audit_prints_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    setup(dir.path());
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kleber"))
            .arg("audit")
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let out = run(&["--org", "ville", "--limit", "5"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "id\tat\tactor\tvia\taction\ttarget\tdetails");
    let actions: Vec<&str> = lines[1..].iter().map(|l| l.split('\t').nth(4).unwrap()).collect();
    assert_eq!(actions, ["member.set", "org.create"]);
    let out = run(&["--limit", "2"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 of "));
    let out = run(&["--org", "nowhere"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nowhere") && stderr.contains("kleber org list"), "{stderr}");
}
