//! Webhooks (issue 15 item 4, docs/feeds.md#webhooks) against a loopback receiver that checks
//! each delivery's signature with its own HMAC: a version published by another process is
//! delivered; a receiver that fails three times then succeeds gets it once, the attempts are
//! logged; a replayed delivery carries an id already seen; who may register hooks, and the
//! addresses refused.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use kleber_app::accounts::{Accounts, operator};
use kleber_app::webhooks::WebhookSettings;
use kleber_ingest::ImportOptions;
use kleber_query::Limits;
use kleber_store::accounts::DEFAULT_ORG;
use kleber_store::{NewOrganization, OrgKind, Role, Scope, Store};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::{TestServer, import};

const M: &str = "/api/management/v1";

/// What the receiver saw: each request's delivery id, attempt, signature header and body,
/// and the status it answered.
#[derive(Default)]
struct Seen {
    requests: Vec<(String, String, String, Vec<u8>, u16)>,
    /// Delivery ids accepted (2xx) so far: a second one is a replay.
    accepted: HashSet<String>,
    /// Requests still to fail with 500.
    fail: usize,
    replays: usize,
    /// When each request arrived.
    at: Vec<std::time::Instant>,
}

type Receiver = Arc<Mutex<Seen>>;

async fn receive(State(seen): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let h =
        |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let mut seen = seen.lock().unwrap();
    let id = h("kleber-delivery");
    let status = if seen.fail > 0 {
        seen.fail -= 1;
        500
    } else if !seen.accepted.insert(id.clone()) {
        // Already accepted: a replay, refused.
        seen.replays += 1;
        409
    } else {
        200
    };
    seen.requests.push((id, h("kleber-attempt"), h("kleber-signature"), body.to_vec(), status));
    seen.at.push(std::time::Instant::now());
    StatusCode::from_u16(status).unwrap()
}

async fn receiver(fail: usize) -> (String, Receiver) {
    let seen = Arc::new(Mutex::new(Seen { fail, ..Seen::default() }));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), seen)
}

/// The receiver's own check of `Kleber-Signature: t=...,v1=...` over `t.body`.
fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value.to_owned()),
            Some(("v1", value)) => v1 = Some(value.to_owned()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    // Fresh: within five minutes of the receiver's clock.
    let age = chrono::Utc::now().timestamp() - t.parse::<i64>().unwrap_or(0);
    expected == v1 && age.abs() < 300
}

fn publish(dir: &Path, text: &str) {
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("parkings.csv");
    std::fs::write(&path, text).unwrap();
    import(dir, &path, "parkings", ImportOptions::default());
}

struct Fixture {
    server: TestServer,
    dir: std::path::PathBuf,
    editor: String,
    viewer: String,
    other_admin: String,
}

async fn fixture(allow_private: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    publish(dir.path(), "nom,places\nCentre,100\nGare,200\nHalles,300\n");
    let accounts = Accounts::new(Arc::new(Store::open(dir.path()).unwrap()));
    let op = operator();
    let org = NewOrganization {
        id: "autre",
        name: "Autre",
        kind: OrgKind::Company,
        description: None,
        website: None,
        logo: None,
    };
    accounts.create_org(&op, &org).unwrap();
    for (email, org, role) in [
        ("editor@example.org", DEFAULT_ORG, Role::Editor),
        ("viewer@example.org", DEFAULT_ORG, Role::Viewer),
        ("admin@autre.example", "autre", Role::Admin),
    ] {
        accounts.create_user(&op, email, None, false, None).unwrap();
        accounts.set_member(&op, org, email, role).unwrap();
    }
    let all = [Scope::Read, Scope::Write, Scope::Admin];
    let key = |email: &str| accounts.create_key(&op, email, "tests", &all, None).unwrap().key;
    let (editor, viewer, other_admin) =
        (key("editor@example.org"), key("viewer@example.org"), key("admin@autre.example"));
    drop(accounts);
    let path = dir.path().to_path_buf();
    let server =
        TestServer::start_configured(dir, Limits::default(), Duration::from_secs(30), |s| {
            s.app.set_webhook_settings(WebhookSettings {
                allow_private,
                first_retry: Duration::from_millis(50),
                max_attempts: 5,
                timeout: Duration::from_secs(5),
                ..WebhookSettings::default()
            });
            s
        })
        .await;
    Fixture { server, dir: path, editor, viewer, other_admin }
}

impl Fixture {
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
}

/// Waits (up to 20 s) until `done` holds for what the receiver saw.
async fn wait_for(seen: &Receiver, what: &str, done: impl Fn(&Seen) -> bool) {
    for _ in 0..400 {
        if done(&seen.lock().unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = seen.lock().unwrap();
    panic!("{what}: not seen; the receiver got {} requests", seen.requests.len());
}

#[tokio::test]
async fn a_signed_delivery_is_retried_until_accepted_once_and_a_replay_is_detectable() {
    let f = fixture(true).await;
    let (url, seen) = receiver(3).await;
    let (status, hook) = f
        .call(
            "POST",
            "/webhooks",
            Some(&f.editor),
            Some(json!({"dataset": "parkings", "url": url})),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() > 60, "{hook}");
    let id = hook["id"].as_i64().unwrap();
    // The secret is shown once: never in a listing.
    let (status, list) = f.call("GET", "/webhooks", Some(&f.editor), None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert!(!list.to_string().contains(&secret), "{list}");

    // Another process publishes a version (as `kleber import` beside the server).
    tokio::time::sleep(Duration::from_millis(300)).await;
    publish(&f.dir, "nom,places\nCentre,100\nGare,250\nHalles,300\nRivetoile,400\n");

    wait_for(&seen, "the delivery accepted after three failures", |s| {
        s.requests.iter().any(|r| r.4 == 200)
    })
    .await;
    let (requests, first_id) = {
        let s = seen.lock().unwrap();
        (s.requests.clone(), s.requests[0].0.clone())
    };
    assert_eq!(requests.len(), 4, "three failures then one success");
    assert_eq!(
        requests.iter().map(|r| r.4).collect::<Vec<_>>(),
        [500, 500, 500, 200],
        "accepted once"
    );
    for (n, (delivery, attempt, signature, body, _)) in requests.iter().enumerate() {
        assert_eq!(delivery, &first_id, "one delivery id on every attempt");
        assert_eq!(attempt, &(n + 1).to_string());
        assert!(verify(&secret, signature, body), "attempt {n}: bad signature {signature}");
        assert!(!verify("whsec_wrong", signature, body), "a wrong secret must not verify");
        let mut tampered = body.clone();
        tampered.extend_from_slice(b" ");
        assert!(!verify(&secret, signature, &tampered), "a changed body must not verify");
    }
    let body: Value = serde_json::from_slice(&requests[3].3).unwrap();
    assert_eq!(body["event"], "dataset.version.published", "{body}");
    assert_eq!(body["dataset_id"], "parkings");
    assert_eq!(body["version"], 2);
    assert_eq!(body["previous_version"], 1);
    assert_eq!(body["delivery_id"], first_id.as_str());
    // Records are known by all their values (no unique id): Gare,200 became Gare,250 (one
    // removed, one added) and Rivetoile was added.
    assert_eq!(body["summary"]["records_added"], 2, "{body}");
    assert_eq!(body["summary"]["records_removed"], 1, "{body}");
    assert_eq!(body["summary"]["records_changed"], 0, "{body}");
    assert_eq!(
        body["links"]["changes"],
        "/api/explore/v2.1/catalog/datasets/parkings/changes?from=1&to=2"
    );

    // The delivery log: four attempts, the first three failed with the receiver's status.
    let (status, log) =
        f.call("GET", &format!("/webhooks/{id}/deliveries"), Some(&f.editor), None).await;
    assert_eq!(status, 200, "{log}");
    let deliveries = log.as_array().unwrap();
    assert_eq!(deliveries.len(), 1, "{log}");
    assert_eq!(deliveries[0]["id"], first_id.as_str());
    assert_eq!(deliveries[0]["state"], "delivered", "{log}");
    assert_eq!(deliveries[0]["attempts"], 4, "{log}");
    let attempts = deliveries[0]["log"].as_array().unwrap();
    let statuses: Vec<i64> = attempts.iter().map(|a| a["status"].as_i64().unwrap()).collect();
    assert_eq!(statuses, [500, 500, 500, 200], "{log}");
    assert!(attempts[..3].iter().all(|a| a["error"].as_str().unwrap().contains("500")), "{log}");
    assert!(attempts[3]["error"].is_null(), "{log}");

    // A replay (the accepted request sent again, as an attacker who captured it would): its
    // signature still verifies, but its delivery id was seen, so the receiver refuses it.
    let (delivery, attempt, signature, body, _) = requests[3].clone();
    let answer = reqwest::Client::new()
        .post(&url)
        .header("kleber-delivery", &delivery)
        .header("kleber-attempt", attempt)
        .header("kleber-signature", &signature)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 409);
    assert!(verify(&secret, &signature, &body));
    assert_eq!(seen.lock().unwrap().replays, 1);

    // The next version is a new delivery, with a new id, accepted at once.
    publish(&f.dir, "nom,places\nCentre,90\nGare,250\nHalles,300\nRivetoile,400\n");
    wait_for(&seen, "the second delivery", |s| s.accepted.len() == 2).await;
    let s = seen.lock().unwrap();
    let last = s.requests.last().unwrap();
    assert_ne!(last.0, first_id);
    assert_eq!(serde_json::from_slice::<Value>(&last.3).unwrap()["version"], 3);
}

/// An organization's hook hears of every dataset of that organization and of no other's;
/// its retries wait longer each time (the first retry's delay, then twice as long).
#[tokio::test]
async fn an_organizations_hook_hears_its_own_datasets_with_growing_retry_delays() {
    let f = fixture(true).await;
    let files = tempfile::tempdir().unwrap();
    let velos = files.path().join("velos.csv");
    std::fs::write(&velos, "station,velos\nA,3\n").unwrap();
    import(&f.dir, &velos, "velos", ImportOptions::default());
    let accounts = Accounts::new(Arc::new(Store::open(&f.dir).unwrap()));
    accounts.set_dataset_org(&operator(), "velos", "autre").unwrap();
    drop(accounts);
    let (url, seen) = receiver(2).await;
    let body = json!({"organization": "autre", "url": url});
    let (status, hook) = f.call("POST", "/webhooks", Some(&f.other_admin), Some(body)).await;
    assert_eq!(status, 201, "{hook}");
    assert_eq!(hook["whole_organization"], true, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_owned();
    // A version of the default organization's dataset, then one of `autre`'s.
    tokio::time::sleep(Duration::from_millis(300)).await;
    publish(&f.dir, "nom,places\nCentre,1\n");
    std::fs::write(&velos, "station,velos\nA,4\n").unwrap();
    import(&f.dir, &velos, "velos", ImportOptions::default());
    wait_for(&seen, "the organization's delivery", |s| s.requests.iter().any(|r| r.4 == 200)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let s = seen.lock().unwrap();
    assert_eq!(s.requests.iter().map(|r| r.4).collect::<Vec<_>>(), [500, 500, 200]);
    for (_, _, signature, body, _) in &s.requests {
        assert!(verify(&secret, signature, body), "bad signature {signature}");
        let body: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(body["dataset_id"], "velos", "only the organization's datasets: {body}");
        assert_eq!(body["version"], 2, "{body}");
    }
    let (first, second) = (s.at[1] - s.at[0], s.at[2] - s.at[1]);
    assert!(first >= Duration::from_millis(50), "first retry after {first:?}");
    assert!(second >= Duration::from_millis(100), "second retry after {second:?}");
}

#[tokio::test]
async fn hooks_are_registered_by_those_who_may_change_what_they_watch_and_private_addresses_are_refused()
 {
    let f = fixture(false).await;
    let public = "http://93.184.215.14/hook";
    // Anonymous: 401; a viewer: 403; another organization's admin: 403 (may read, not edit).
    let body = json!({"dataset": "parkings", "url": public});
    let (status, v) = f.call("POST", "/webhooks", None, Some(body.clone())).await;
    assert_eq!(status, 401, "{v}");
    let (status, v) = f.call("POST", "/webhooks", Some(&f.viewer), Some(body.clone())).await;
    assert_eq!(status, 403, "{v}");
    let (status, v) = f.call("POST", "/webhooks", Some(&f.other_admin), Some(body.clone())).await;
    assert_eq!(status, 403, "{v}");
    // An organization's hooks are its admins'; an editor is told to hook a dataset.
    let org = json!({"organization": DEFAULT_ORG, "url": public});
    let (status, v) = f.call("POST", "/webhooks", Some(&f.editor), Some(org)).await;
    assert_eq!(status, 403, "{v}");
    assert!(v["message"].as_str().unwrap().contains("admins"), "{v}");
    let org = json!({"organization": "autre", "url": public});
    let (status, v) = f.call("POST", "/webhooks", Some(&f.other_admin), Some(org)).await;
    assert_eq!(status, 201, "{v}");
    let org_hook = v["id"].as_i64().unwrap();
    assert_eq!(v["whole_organization"], true);

    // Loopback, private, link-local and metadata addresses, other schemes, credentials.
    for (url, needle) in [
        ("http://127.0.0.1:9/hook", "private"),
        ("http://[::1]/hook", "private"),
        ("http://10.1.2.3/hook", "private"),
        ("http://169.254.169.254/latest/meta-data", "private"),
        ("http://localhost/hook", "private"),
        ("ftp://example.org/hook", "http or https"),
        ("http://user:pw@93.184.215.14/hook", "credentials"),
        ("not a url", "not a URL"),
    ] {
        let (status, v) = f
            .call(
                "POST",
                "/webhooks",
                Some(&f.editor),
                Some(json!({"dataset": "parkings", "url": url})),
            )
            .await;
        assert_eq!(status, 400, "{url}: {v}");
        assert_eq!(v["error_code"], "InvalidRequestBody", "{url}: {v}");
        assert!(v["message"].as_str().unwrap().contains(needle), "{url}: {v}");
    }
    // Malformed bodies.
    for body in [
        json!({"url": public}),
        json!({"dataset": "parkings", "organization": "autre", "url": public}),
        json!({"dataset": "parkings", "url": public, "secret": "mine"}),
    ] {
        let (status, v) = f.call("POST", "/webhooks", Some(&f.editor), Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {v}");
        assert_eq!(v["error_code"], "InvalidRequestBody", "{v}");
    }
    let (status, v) = f
        .call(
            "POST",
            "/webhooks",
            Some(&f.editor),
            Some(json!({"dataset": "inconnu", "url": public})),
        )
        .await;
    assert_eq!(status, 404, "{v}");
    // Nothing was registered by the refusals: the editor sees no hook, the other admin one.
    let (_, list) = f.call("GET", "/webhooks", Some(&f.editor), None).await;
    assert_eq!(list, json!([]));
    let (_, list) = f.call("GET", "/webhooks", Some(&f.other_admin), None).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    // The editor may not see or delete the other organization's hook.
    let (status, _) =
        f.call("DELETE", &format!("/webhooks/{org_hook}"), Some(&f.editor), None).await;
    assert_eq!(status, 403);
    let (status, v) = f.call("GET", "/webhooks/424242", Some(&f.editor), None).await;
    assert_eq!(status, 404, "{v}");
    let (status, v) =
        f.call("DELETE", &format!("/webhooks/{org_hook}"), Some(&f.other_admin), None).await;
    assert_eq!(status, 200, "{v}");
    let (_, list) = f.call("GET", "/webhooks", Some(&f.other_admin), None).await;
    assert_eq!(list, json!([]));
}

/// docs/feeds.md's examples, run as they are with bash and curl against a real server and a
/// loopback receiver (`$RECEIVER`); then a publication reaches the hook they registered.
#[tokio::test]
async fn the_examples_of_the_feeds_guide_run() {
    let f = fixture(true).await;
    let (url, seen) = receiver(0).await;
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/feeds.md"))
            .expect("docs/feeds.md");
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
    assert!(blocks.len() >= 3, "{blocks:?}");
    let work = tempfile::tempdir().unwrap();
    for block in blocks {
        let mut command = std::process::Command::new("bash");
        command
            .args(["-euo", "pipefail", "-c", &block])
            .current_dir(work.path())
            .env("KLEBER", &f.server.base)
            .env("KEY", &f.editor)
            .env("RECEIVER", &url);
        let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap();
        assert!(
            output.status.success(),
            "{block}\nfailed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let hook: Value =
        serde_json::from_slice(&std::fs::read(work.path().join("hook.json")).unwrap()).unwrap();
    let secret = hook["secret"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    publish(&f.dir, "nom,places\nCentre,100\n");
    wait_for(&seen, "the delivery to the hook of the guide", |s| !s.accepted.is_empty()).await;
    let s = seen.lock().unwrap();
    assert!(verify(&secret, &s.requests[0].2, &s.requests[0].3));
}
