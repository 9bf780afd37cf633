//! Access rules for outsiders (docs/security.md#access-rules), end to end: the real `kleber`
//! binary sets, shows, refuses and clears a rule; a real server shows outsiders the view
//! (without the hidden field, without the filtered records) and staff the whole table.
//! Every surface is crossed with every caller by the leak matrix (`leak_matrix.rs`); these
//! tests check the command line, the audit log and the answers the matrix does not name.

use std::path::Path;
use std::process::{Command, Output, Stdio};

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
        .expect("kleber runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(data: &Path, args: &[&str]) -> String {
    let out = kleber(data, args);
    assert!(out.status.success(), "kleber {args:?}: {}{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

fn fails(data: &Path, args: &[&str]) -> String {
    let out = kleber(data, args);
    assert!(!out.status.success(), "kleber {args:?} succeeded: {}", text(&out.stdout));
    text(&out.stderr)
}

/// The catalog row of the dataset's rule and its `dataset.rule` audit entries.
fn stored(data: &Path) -> (Option<String>, Vec<String>) {
    let conn = rusqlite::Connection::open(data.join("catalog.sqlite")).expect("catalog");
    let rule = conn
        .query_row("SELECT rule FROM datasets WHERE id = 'signalements'", [], |r| r.get(0))
        .expect("dataset");
    let mut stmt = conn
        .prepare("SELECT details FROM audit_log WHERE action = 'dataset.rule' ORDER BY id")
        .expect("audit");
    let entries = stmt.query_map([], |r| r.get(0)).expect("rows").map(Result::unwrap).collect();
    (rule, entries)
}

async fn get(server: &TestServer, path: &str, key: Option<&str>) -> (u16, Value, Option<String>) {
    let mut request = server.client.get(format!("{}{path}", server.base));
    if let Some(key) = key {
        request = request.header("Authorization", format!("Apikey {key}"));
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let etag = response.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = response.text().await.expect("body");
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"));
    (status, json, etag)
}

const CSV: &str = "\
nom;email;statut;confidentiel;valeur
Rue A;anne@example.org;ouvert;false;1
Rue B;bob@example.org;interne;true;2
Rue C;carla@example.org;ouvert;true;3
Rue D;dan@example.org;interne;false;4
";

#[tokio::test]
async fn a_rule_is_checked_stored_audited_and_applied_to_outsiders_only() {
    let files = tempfile::tempdir().expect("tempdir");
    let data_dir = tempfile::tempdir().expect("tempdir");
    let data = data_dir.path().to_path_buf();
    let csv = files.path().join("signalements.csv");
    std::fs::write(&csv, CSV).expect("csv");
    let csv = csv.to_str().expect("path");
    ok(&data, &["org", "create", "ems", "--name", "Eurométropole"]);
    ok(&data, &["import", csv, "--dataset", "signalements", "--org", "ems"]);
    ok(&data, &["user", "create", "viewer@ems.example"]);
    ok(&data, &["member", "add", "ems", "viewer@ems.example", "--role", "viewer"]);
    let key = ok(&data, &["key", "create", "viewer@ems.example", "--name", "t", "--scope", "read"]);
    let key = key.lines().find(|l| l.starts_with("klb_")).expect("key line").to_owned();

    let shown = ok(&data, &["dataset", "rule", "signalements"]);
    assert!(shown.contains("has no rule"), "{shown}");

    // Refused rules say what and how, and change nothing.
    let e = fails(&data, &["dataset", "rule", "signalements", "--hide", "courriel"]);
    assert!(e.contains("unknown field \"courriel\" to hide in dataset signalements"), "{e}");
    assert!(e.contains("nom, email, statut, confidentiel, valeur"), "{e}");
    assert!(e.contains("nothing was changed"), "{e}");
    let e = fails(&data, &["dataset", "rule", "signalements", "--where", "statut = "]);
    assert!(e.contains("not a valid ODSQL where clause"), "{e}");
    let e = fails(&data, &["dataset", "rule", "signalements", "--where", "etat = \"ouvert\""]);
    assert!(e.contains("not a valid ODSQL where clause") && e.contains("etat"), "{e}");
    let e = fails(&data, &["dataset", "rule", "signalements", "--where", "valeur > now()"]);
    assert!(e.contains("now() or random()"), "{e}");
    let all = ["--hide", "nom", "--hide", "email", "--hide", "statut", "--hide", "confidentiel"];
    let mut args = vec!["dataset", "rule", "signalements"];
    args.extend(all);
    args.extend(["--hide", "valeur"]);
    let e = fails(&data, &args);
    assert!(e.contains("hides every field"), "{e}");
    let e = fails(&data, &["dataset", "rule", "inconnu", "--hide", "email"]);
    assert!(e.contains("inconnu"), "{e}");
    assert_eq!(stored(&data), (None, vec![]), "a refused rule changed the catalog");

    // A rule hiding two fields (one a boolean) and keeping the "ouvert" records.
    let set = ok(
        &data,
        &[
            "dataset",
            "rule",
            "signalements",
            "--hide",
            "email",
            "--hide",
            "confidentiel",
            "--where",
            "statut = \"ouvert\"",
        ],
    );
    assert!(set.contains("every field but: confidentiel, email"), "{set}");
    assert!(set.contains("only the records where: statut = \"ouvert\""), "{set}");
    let (rule, entries) = stored(&data);
    let rule: Value = serde_json::from_str(&rule.expect("stored rule")).expect("json");
    assert_eq!(
        rule,
        serde_json::json!({"hidden": ["confidentiel", "email"], "where": "statut = \"ouvert\""})
    );
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry: Value = serde_json::from_str(&entries[0]).expect("details");
    assert_eq!(entry["organization"], "ems");
    assert_eq!(entry["from"], Value::Null);
    assert_eq!(entry["to"], rule);

    let server = TestServer::start(data_dir).await;
    let object = "/api/explore/v2.1/catalog/datasets/signalements";
    let records = "/api/explore/v2.1/catalog/datasets/signalements/records";

    // Outsiders: the visible fields, the matching records, their count.
    let (status, anonymous, anonymous_tag) = get(&server, object, None).await;
    assert_eq!(status, 200, "{anonymous}");
    let names = |d: &Value| -> Vec<String> {
        d["fields"].as_array().expect("fields").iter().map(|f| f["name"].to_string()).collect()
    };
    assert_eq!(names(&anonymous), ["\"nom\"", "\"statut\"", "\"valeur\""]);
    assert_eq!(anonymous["metas"]["default"]["records_count"], 2);
    let (_, page, _) = get(&server, records, None).await;
    assert_eq!(page["total_count"], 2);
    let noms: Vec<&str> = page["results"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["nom"].as_str())
        .collect();
    assert_eq!(noms, ["Rue A", "Rue C"]);
    assert!(!page.to_string().contains("example.org"), "{page}");

    // Staff: the whole table, under another ETag.
    let (_, staff, staff_tag) = get(&server, object, Some(&key)).await;
    assert_eq!(names(&staff).len(), 5);
    assert_eq!(staff["metas"]["default"]["records_count"], 4);
    assert_ne!(anonymous_tag, staff_tag);
    let (_, page, _) = get(&server, records, Some(&key)).await;
    assert_eq!(page["total_count"], 4);

    // A hidden field answers exactly as an unknown one, whatever clause names it.
    for (hidden, unknown) in [
        ("?select=email", "?select=zzzzz"),
        ("?where=confidentiel", "?where=zzzzzzzzzzzz"),
        ("?order_by=email", "?order_by=zzzzz"),
        ("?group_by=confidentiel", "?group_by=zzzzzzzzzzzz"),
    ] {
        let (s1, b1, _) = get(&server, &format!("{records}{hidden}"), None).await;
        let (s2, b2, _) = get(&server, &format!("{records}{unknown}"), None).await;
        assert_eq!((s1, s2), (400, 400), "{hidden}: {b1}");
        let name = hidden.split('=').nth(1).expect("name");
        let same = b2.to_string().replace(unknown.split('=').nth(1).expect("name"), name);
        assert_eq!(b1.to_string(), same, "{hidden} and {unknown} answer differently");
        let (s3, _, _) = get(&server, &format!("{records}{hidden}"), Some(&key)).await;
        assert_eq!(s3, 200, "{hidden} as staff");
    }

    // Outsiders' record ids hash only what they see: a record's id differs from staff's, and
    // neither reaches the other's view.
    let (_, page, _) = get(&server, &format!("{records}?where=nom%3D%22Rue%20A%22"), None).await;
    let ids = "/api/records/1.0/search?dataset=signalements&q=%22Rue%20A%22";
    let (_, v1_outsider, _) = get(&server, ids, None).await;
    let (_, v1_staff, _) = get(&server, ids, Some(&key)).await;
    let outsider_id = v1_outsider["records"][0]["recordid"].as_str().expect("id").to_owned();
    let staff_id = v1_staff["records"][0]["recordid"].as_str().expect("id").to_owned();
    assert_ne!(outsider_id, staff_id, "{page}");
    let one = |id: &str| format!("{records}/{id}");
    assert_eq!(get(&server, &one(&outsider_id), None).await.0, 200);
    assert_eq!(get(&server, &one(&staff_id), None).await.0, 404);
    assert_eq!(get(&server, &one(&staff_id), Some(&key)).await.0, 200);
    // A filtered record is not found by its id either.
    let filtered = "/api/records/1.0/search?dataset=signalements&q=%22Rue%20B%22";
    let (_, v1_filtered, _) = get(&server, filtered, Some(&key)).await;
    let filtered_id = v1_filtered["records"][0]["recordid"].as_str().expect("id").to_owned();
    assert_eq!(get(&server, &one(&filtered_id), None).await.0, 404);

    // Clearing the rule: outsiders see the whole table again; audited.
    let cleared = ok(&data, &["dataset", "rule", "signalements", "--clear"]);
    assert!(cleared.contains("has no rule"), "{cleared}");
    let (rule, entries) = stored(&data);
    assert_eq!(rule, None);
    assert_eq!(entries.len(), 2);
    // The running server sees the change made by another process within its freshness bound.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (_, anonymous, tag) = get(&server, object, None).await;
        if anonymous["metas"]["default"]["records_count"] == 4 {
            assert_eq!(names(&anonymous).len(), 5);
            assert_ne!(tag, anonymous_tag);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the cleared rule never showed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
