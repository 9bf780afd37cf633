//! Publishers end to end: the real `kleber` binary creates organizations, users, memberships
//! and keys and imports datasets with a visibility; a real server then hides what anonymous
//! callers may not see, shows it to a member's key, and refuses revoked, expired and unknown
//! keys with 401 `InvalidApiKey`.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::TestServer;

fn kleber(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kleber"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("KLEBER_DEFAULT_ORG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a command that must succeed; returns its standard output.
fn ok(data: &Path, args: &[&str]) -> String {
    let out = kleber(data, args);
    assert!(
        out.status.success(),
        "kleber {args:?} failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Runs a command that must fail; returns its standard error.
fn fails(data: &Path, args: &[&str]) -> String {
    let out = kleber(data, args);
    assert!(!out.status.success(), "kleber {args:?} succeeded: {}", text(&out.stdout));
    text(&out.stderr)
}

async fn get(server: &TestServer, path: &str, key: Option<&str>) -> (u16, Value, Option<String>) {
    let mut request = server.client.get(format!("{}{path}", server.base));
    if let Some(key) = key {
        request = request.header("Authorization", format!("Apikey {key}"));
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let auth =
        response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = response.text().await.expect("body");
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"));
    (status, json, auth)
}

fn dataset_ids(catalog: &Value) -> Vec<String> {
    catalog["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|d| d["dataset_id"].as_str().expect("dataset_id").to_owned())
        .collect()
}

fn audit_actions(data: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(data.join("catalog.sqlite")).unwrap();
    let mut stmt = conn.prepare("SELECT action, target FROM audit_log ORDER BY id").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

const CATALOG: &str = "/api/explore/v2.1/catalog/datasets";

#[tokio::test]
async fn cli_accounts_keys_and_visibility_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = dir.path().join("rows.csv");
    std::fs::write(&csv, "nom;valeur\nA;1\nB;2\nC;3\n").unwrap();
    let csv = csv.to_str().unwrap();

    // Organizations, with clear errors.
    ok(&data, &["import", csv, "--dataset", "ouvert"]);
    ok(
        &data,
        &["org", "create", "ems", "--name", "Eurométropole de Strasbourg", "--kind", "metropolis"],
    );
    let e = fails(&data, &["org", "create", "ems", "--name", "Again"]);
    assert!(e.contains("organization \"ems\" already exists"), "{e}");
    let e = fails(&data, &["org", "create", "EMS", "--name", "Caps"]);
    assert!(e.contains("invalid organization identifier \"EMS\""), "{e}");
    let e = fails(&data, &["org", "create", "x", "--name", "X", "--kind", "castle"]);
    assert!(e.contains("unknown organization kind \"castle\""), "{e}");
    let list = ok(&data, &["org", "list"]);
    assert!(list.contains("default\tpublic_body\tdefault  (default)"), "{list}");
    assert!(list.contains("ems\tmetropolis\tEurométropole de Strasbourg"), "{list}");

    // Datasets with an organization and a visibility; an unknown organization publishes nothing.
    ok(
        &data,
        &["import", csv, "--dataset", "interne", "--org", "ems", "--visibility", "restricted"],
    );
    ok(&data, &["import", csv, "--dataset", "brouillon", "--org", "ems", "--visibility", "draft"]);
    let e = fails(&data, &["import", csv, "--dataset", "perdu", "--org", "nope"]);
    assert!(e.contains("unknown organization \"nope\""), "{e}");
    let e = fails(&data, &["import", csv, "--dataset", "perdu", "--visibility", "secret"]);
    assert!(e.contains("unknown visibility \"secret\""), "{e}");
    // The operator at the shell works on every dataset, drafts included.
    let out = Command::new(env!("CARGO_BIN_EXE_kleber"))
        .args(["annotate", "--dataset", "brouillon", "--data-dir"])
        .arg(&data)
        .args(["nom", "+facet"])
        .output()
        .unwrap();
    let annotated = text(&out.stdout);
    assert!(out.status.success(), "{annotated}{}", text(&out.stderr));
    assert!(annotated.contains("brouillon.nom annotations: {\"facet\":[]}"), "{annotated}");

    // Users and memberships.
    ok(&data, &["user", "create", "anne@example.org", "--name", "Anne"]);
    let e = fails(&data, &["user", "create", "ANNE@Example.org"]);
    assert!(e.contains("already exists"), "{e}");
    let e = fails(&data, &["user", "create", "not-an-address"]);
    assert!(e.contains("invalid email"), "{e}");
    let e = fails(&data, &["member", "add", "ems", "anne@example.org", "--role", "owner"]);
    assert!(e.contains("unknown role \"owner\": use one of admin, editor, viewer"), "{e}");
    let e = fails(&data, &["member", "add", "nope", "anne@example.org", "--role", "viewer"]);
    assert!(e.contains("unknown organization \"nope\""), "{e}");
    let e = fails(&data, &["member", "add", "ems", "bob@example.org", "--role", "viewer"]);
    assert!(e.contains("unknown user \"bob@example.org\""), "{e}");
    ok(&data, &["member", "add", "ems", "Anne@Example.org", "--role", "viewer"]);
    let e = fails(&data, &["key", "create", "anne@example.org", "--name", "x", "--scope", "root"]);
    assert!(e.contains("unknown scope \"root\""), "{e}");

    // Keys: printed once, alone on standard output.
    let key = ok(
        &data,
        &["key", "create", "anne@example.org", "--name", "tableau de bord", "--scope", "read"],
    );
    let key = key.trim().to_owned();
    assert_eq!(key.lines().count(), 1, "{key}");
    assert!(key.starts_with("klb_") && key.len() == 4 + 12 + 1 + 64, "{key}");
    let key_id = key[4..16].to_owned();
    let expiring =
        ok(&data, &["key", "create", "anne@example.org", "--name", "court", "--expires", "1"]);
    let expiring = expiring.trim().to_owned();
    let expiring_id = expiring[4..16].to_owned();
    let listed = ok(&data, &["key", "list", "anne@example.org"]);
    assert!(
        listed.contains(&format!("{key_id}\tanne@example.org\ttableau de bord\tread\t")),
        "{listed}"
    );
    assert!(!listed.contains(&key[17..]), "key list must not show secrets: {listed}");
    // The stored digest is not the secret.
    let conn = rusqlite::Connection::open(data.join("catalog.sqlite")).unwrap();
    let stored: Vec<u8> = conn
        .query_row("SELECT secret_hash FROM api_keys WHERE id = ?1", [&key_id], |r| r.get(0))
        .unwrap();
    assert_eq!(stored.len(), 32);
    assert!(!String::from_utf8_lossy(&stored).contains(&key[17..]));
    // The expiring key is made to have expired (time passing), before the server reads it.
    conn.execute(
        "UPDATE api_keys SET expires_at = '2020-01-01T00:00:00Z' WHERE id = ?1",
        [&expiring_id],
    )
    .unwrap();
    drop(conn);

    let server_dir = tempfile::TempDir::new_in(dir.path()).unwrap();
    std::fs::remove_dir(server_dir.path()).unwrap();
    std::fs::rename(&data, server_dir.path()).unwrap();
    let data = server_dir.path().to_path_buf();
    let server = TestServer::start(server_dir).await;

    // Anonymous: only the public dataset, counted alone; the others answer like unknown ones.
    let (status, anon, _) = get(&server, CATALOG, None).await;
    assert_eq!(status, 200);
    assert_eq!(dataset_ids(&anon), ["ouvert"]);
    assert_eq!(anon["total_count"], 1);
    let (_, unknown, _) = get(&server, &format!("{CATALOG}/inexistant"), None).await;
    for id in ["interne", "brouillon"] {
        for suffix in ["", "/records"] {
            let (status, body, _) = get(&server, &format!("{CATALOG}/{id}{suffix}"), None).await;
            assert_eq!(status, 404, "{id}{suffix}: {body}");
            let expected = unknown.to_string().replace("inexistant", id);
            assert_eq!(body.to_string(), expected, "{id}{suffix} differs from an unknown dataset");
        }
    }
    let (_, grouped, _) = get(&server, &format!("{CATALOG}?group_by=dataset_id"), None).await;
    assert_eq!(grouped["results"].as_array().map(Vec::len), Some(1), "{grouped}");
    let export = server
        .client
        .get(format!("{}/api/explore/v2.1/catalog/exports/csv", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status().as_u16(), 200);
    let export = export.text().await.unwrap();
    assert!(export.contains("ouvert"), "{export}");
    assert!(!export.contains("interne") && !export.contains("brouillon"), "{export}");

    // Legacy APIs and the portal resolve anonymous callers the same way: not found, not listed.
    for path in [
        "/api/v2/catalog/datasets/interne",
        "/api/explore/v2.0/catalog/datasets/brouillon/records",
        "/api/records/1.0/search/?dataset=interne",
        "/api/datasets/1.0/brouillon/",
        "/explore/dataset/interne/",
        "/explore/dataset/brouillon/table/",
    ] {
        let response = server.client.get(format!("{}{path}", server.base)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 404, "{path}");
    }
    for path in ["/api/datasets/1.0/search/", "/explore/", "/", "/sitemap.xml", "/feed.atom"] {
        let response = server.client.get(format!("{}{path}", server.base)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let body = response.text().await.unwrap();
        assert!(body.contains("ouvert"), "{path} does not list the public dataset: {body}");
        assert!(!body.contains("interne") && !body.contains("brouillon"), "{path} leaks: {body}");
    }

    // The viewer's read key: the restricted dataset too, not the draft.
    let (status, seen, _) = get(&server, CATALOG, Some(&key)).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(dataset_ids(&seen), ["interne", "ouvert"]);
    assert_eq!(seen["total_count"], 2);
    let (status, records, _) =
        get(&server, &format!("{CATALOG}/interne/records?order_by=nom"), Some(&key)).await;
    assert_eq!(status, 200, "{records}");
    assert_eq!(records["total_count"], 3);
    assert_eq!(records["results"][0]["nom"], "A");
    let by_param = server
        .client
        .get(format!("{}{CATALOG}/interne?apikey={key}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(by_param.status().as_u16(), 200);
    let (status, _, _) = get(&server, &format!("{CATALOG}/brouillon"), Some(&key)).await;
    assert_eq!(status, 404);

    // Callers who see different catalogs never share an ETag: the key's tag is not the
    // anonymous one, and does not make an anonymous request a 304.
    let tag = |r: &reqwest::Response| r.headers()["etag"].to_str().unwrap().to_owned();
    let url = format!("{}{CATALOG}", server.base);
    let anonymous = server.client.get(&url).send().await.unwrap();
    let keyed = server
        .client
        .get(&url)
        .header("Authorization", format!("Apikey {key}"))
        .send()
        .await
        .unwrap();
    let (anonymous_tag, keyed_tag) = (tag(&anonymous), tag(&keyed));
    assert_ne!(anonymous_tag, keyed_tag);
    let again = server.client.get(&url).header("If-None-Match", &keyed_tag).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 200);
    let body: Value = again.json().await.unwrap();
    assert_eq!(dataset_ids(&body), ["ouvert"], "a cached keyed answer was served anonymously");
    let revalidated =
        server.client.get(&url).header("If-None-Match", &anonymous_tag).send().await.unwrap();
    assert_eq!(revalidated.status().as_u16(), 304);

    // Unknown and expired keys: 401 InvalidApiKey with WWW-Authenticate.
    let forged = format!("klb_{key_id}_{}", "0".repeat(64));
    for (bad, words) in [
        (forged.as_str(), "Unknown API key"),
        ("klb_nothing", "Unknown API key"),
        (expiring.as_str(), "expired"),
    ] {
        let (status, body, auth) = get(&server, CATALOG, Some(bad)).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error_code"], "InvalidApiKey");
        assert!(body["message"].as_str().unwrap().contains(words), "{body}");
        assert_eq!(auth.as_deref(), Some("Apikey"));
    }

    // Last use is recorded (off the request's path).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let listed = ok(&data, &["key", "list"]);
        let line = listed.lines().find(|l| l.starts_with(&key_id)).unwrap().to_owned();
        if !line.contains("\tnever\tactive") {
            assert!(line.ends_with("\tactive"), "{line}");
            break;
        }
        assert!(Instant::now() < deadline, "last use never recorded: {line}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Revocation from another process reaches the running server.
    let revoked = ok(&data, &["key", "revoke", &key_id]);
    assert!(
        revoked.contains(&format!("Revoked API key {key_id} of anne@example.org")),
        "{revoked}"
    );
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let (status, body, _) = get(&server, CATALOG, Some(&key)).await;
        if status == 401 {
            assert!(body["message"].as_str().unwrap().contains("revoked"), "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "the revoked key still works: {status} {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let e = fails(&data, &["key", "revoke", "000000000000"]);
    assert!(e.contains("unknown API key id \"000000000000\""), "{e}");

    // Visibility changes apply at once; a grant opens a restricted dataset to one user.
    ok(&data, &["dataset", "set", "interne", "--visibility", "public"]);
    let deadline = Instant::now() + Duration::from_secs(2);
    while dataset_ids(&get(&server, CATALOG, None).await.1) != ["interne", "ouvert"] {
        assert!(Instant::now() < deadline, "the visibility change is not seen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ok(&data, &["user", "create", "bob@example.org"]);
    ok(&data, &["dataset", "set", "interne", "--visibility", "restricted"]);
    ok(&data, &["dataset", "grant", "interne", "bob@example.org"]);
    let bob = ok(&data, &["key", "create", "bob@example.org", "--name", "bob"]);
    let (status, body, _) = get(&server, &format!("{CATALOG}/interne"), Some(bob.trim())).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = get(&server, &format!("{CATALOG}/interne"), None).await;
    assert_eq!(status, 404);
    ok(&data, &["user", "disable", "bob@example.org"]);
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let (status, body, _) = get(&server, &format!("{CATALOG}/interne"), Some(bob.trim())).await;
        if status == 401 {
            assert!(body["message"].as_str().unwrap().contains("disabled"), "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "a disabled user's key still works");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let e = fails(&data, &["member", "remove", "ems", "bob@example.org"]);
    assert!(e.contains("bob@example.org is not a member of organization \"ems\""), "{e}");
    ok(&data, &["member", "remove", "ems", "anne@example.org"]);

    // Every change is in the audit log.
    let actions = audit_actions(&data);
    for (action, target) in [
        ("catalog.migrate", "3"),
        ("dataset.publish", "ouvert"),
        ("org.create", "ems"),
        ("dataset.publish", "interne"),
        ("user.create", "anne@example.org"),
        ("member.set", "ems"),
        ("key.create", key_id.as_str()),
        ("key.revoke", key_id.as_str()),
        ("dataset.visibility", "interne"),
        ("dataset.grant", "interne"),
        ("user.disable", "bob@example.org"),
        ("member.remove", "ems"),
    ] {
        assert!(
            actions.iter().any(|(a, t)| a == action && t == target),
            "no {action} {target} in the audit log: {actions:?}"
        );
    }
    assert!(!actions.iter().any(|(_, t)| t == "perdu"), "a refused import was logged: {actions:?}");
}

#[test]
fn every_publisher_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for command in [
        &["org", "create"][..],
        &["org", "list"],
        &["user", "create"],
        &["user", "disable"],
        &["member", "add"],
        &["member", "remove"],
        &["key", "create"],
        &["key", "revoke"],
        &["key", "list"],
        &["dataset", "set"],
        &["dataset", "grant"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let help = ok(dir.path(), &args);
        assert!(help.contains("--data-dir"), "{command:?}: {help}");
    }
}

#[test]
fn passwords_come_from_standard_input_and_are_stored_as_argon2id() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let with_stdin = |email: &str, input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kleber"))
            .args(["user", "create", email, "--password-stdin", "--data-dir"])
            .arg(&data)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let out = with_stdin("carol@example.org", "une phrase de passe longue\nignored\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = with_stdin("dan@example.org", "court\n");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("at least 12 characters"), "{}", text(&out.stderr));
    let out = with_stdin("erin@example.org", "");
    assert!(text(&out.stderr).contains("standard input is empty"), "{}", text(&out.stderr));

    let conn = rusqlite::Connection::open(data.join("catalog.sqlite")).unwrap();
    let hashes: Vec<(String, Option<String>)> = conn
        .prepare("SELECT email, password_hash FROM users ORDER BY email")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(hashes.len(), 1, "refused users are not created: {hashes:?}");
    let hash = hashes[0].1.clone().expect("a password hash");
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    assert!(!hash.contains("phrase"));
    drop(conn);

    let store = kleber_store::Store::open(&data).unwrap();
    let accounts = kleber_app::accounts::Accounts::new(std::sync::Arc::new(store));
    assert!(accounts.check_password("Carol@example.org", "une phrase de passe longue").unwrap());
    assert!(!accounts.check_password("carol@example.org", "une phrase de passe longuE").unwrap());
    ok(&data, &["user", "disable", "carol@example.org"]);
    assert!(!accounts.check_password("carol@example.org", "une phrase de passe longue").unwrap());
}

/// A data directory as Kleber wrote it before organizations existed: a schema-2 catalog (the
/// schema kept in kleber-store's tests) and the dataset's Parquet file written by the importer.
fn write_schema_2_directory(data: &Path, id: &str, source: &Path) {
    let uid = "da_legacy";
    let version_dir = data.join("datasets").join(uid).join("v1");
    std::fs::create_dir_all(&version_dir).unwrap();
    let outcome = kleber_ingest::import_file(
        source,
        &version_dir.join("data.parquet"),
        &kleber_ingest::ImportOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    let conn = rusqlite::Connection::open(data.join("catalog.sqlite")).unwrap();
    conn.execute_batch(include_str!("../../../kleber-store/tests/it/schema_v2.sql")).unwrap();
    conn.execute(
        "INSERT INTO datasets (uid, id, title, current_version, created_at, modified_at)
         VALUES (?1, ?2, 'Parkings', 1, '2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00+00:00')",
        [uid, id],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO versions (dataset_uid, version, fields, records_count, created_at)
         VALUES (?1, 1, ?2, ?3, '2024-01-01T00:00:00+00:00')",
        rusqlite::params![
            uid,
            serde_json::to_string(&outcome.fields).unwrap(),
            i64::try_from(outcome.rows).unwrap()
        ],
    )
    .unwrap();
    conn.execute("UPDATE generation SET n = n + 1", []).unwrap();
}

#[tokio::test]
async fn a_schema_2_directory_migrates_on_first_start_and_stays_public() {
    let dir = tempfile::TempDir::new().unwrap();
    let data = dir.path().join("data");
    let source = crate::common::real("strasbourg_occupation-parkings-temps-reel.csv");
    write_schema_2_directory(&data, "parkings", &source);

    // The first command to open it migrates it, into the organization it names.
    let out = Command::new(env!("CARGO_BIN_EXE_kleber"))
        .args(["org", "list", "--data-dir"])
        .arg(&data)
        .env("KLEBER_DEFAULT_ORG", "ville-strasbourg")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "ville-strasbourg\tpublic_body\tville-strasbourg  (default)\t1 dataset\t-\n"
    );
    let store = kleber_store::Store::open(&data).unwrap();
    let record = store.get_dataset("parkings").unwrap().unwrap();
    assert_eq!(record.organization, "ville-strasbourg");
    assert_eq!(record.visibility, kleber_store::Visibility::Public);
    let rows = record.version.records_count;
    assert!(rows > 0);
    drop(store);

    let server_dir = tempfile::TempDir::new_in(dir.path()).unwrap();
    std::fs::remove_dir(server_dir.path()).unwrap();
    std::fs::rename(&data, server_dir.path()).unwrap();
    let server = TestServer::start(server_dir).await;
    let (status, catalog, _) = get(&server, CATALOG, None).await;
    assert_eq!(status, 200);
    assert_eq!(dataset_ids(&catalog), ["parkings"]);
    let (status, records, _) =
        get(&server, &format!("{CATALOG}/parkings/records?limit=1"), None).await;
    assert_eq!(status, 200, "{records}");
    assert_eq!(records["total_count"], rows);
}
