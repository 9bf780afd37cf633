//! `kleber migrate` and `kleber harvest ods`: a second Kleber, serving the real files of
//! ../shared/data/real with metadata, annotations and attachments, plays the Opendatasoft
//! portal; it is migrated into an empty data directory by the real `kleber` binary, and the
//! same list of queries (catalog, records with where/group_by/order_by, facets, record by id,
//! CSV and GeoJSON exports, v2.0, v1 search and download) must answer the same on both, apart
//! from host names and what each portal stamps itself (listed in `IGNORED`, docs/migrating.md).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use kleber_ingest::ImportOptions;
use serde_json::{Value, json};

use crate::common::{TestServer, app_over, enc, import, real};

/// Keys each portal stamps itself, so they differ after any copy: the dataset's uid (made by
/// the portal that holds it), when it was processed and modified, and v1's `record_timestamp`
/// and v2.0's record `timestamp` (the version's time). docs/migrating.md lists them.
const IGNORED: &[&str] = &[
    "dataset_uid",
    "timestamp",
    "modified",
    "data_processed",
    "metadata_processed",
    "record_timestamp",
];

/// The datasets of the source portal: (id, real file, title, theme, facet field, unit field).
struct Source {
    id: &'static str,
    file: &'static str,
    title: &'static str,
    theme: &'static str,
}

const SOURCES: &[Source] = &[
    Source {
        id: "occupation-parkings-temps-reel",
        file: "strasbourg_occupation-parkings-temps-reel.csv",
        title: "Occupation des parkings en temps réel",
        theme: "Mobilité",
    },
    Source {
        id: "velib-disponibilite-en-temps-reel",
        file: "paris_velib-disponibilite-en-temps-reel_utf8-bom.csv",
        title: "Vélib' - Disponibilité temps réel",
        theme: "Mobilité",
    },
    Source {
        id: "parcs-jardins",
        file: "strasbourg_parcs-jardins_points.geojson",
        title: "Parcs et jardins",
        theme: "Environnement",
    },
    Source {
        id: "arrondissements",
        file: "paris_arrondissements_polygons.geojson",
        title: "Arrondissements",
        theme: "Administration",
    },
    Source {
        id: "stationnement-payant",
        file: "strasbourg_stationnement-payant_polygons.geojson",
        title: "Zones de stationnement payant",
        theme: "Mobilité",
    },
    Source {
        id: "trafic-temps-reel",
        file: "strasbourg_trafic-temps-reel_lines.geojson",
        title: "Trafic routier en temps réel",
        theme: "Mobilité",
    },
    Source {
        id: "frequentation-piscines",
        file: "strasbourg_frequentation-piscines-temps-reel_api-v1-download.json",
        title: "Fréquentation des piscines",
        theme: "Sport",
    },
];

/// Builds the source portal's data directory: the real files, metadata, annotations (a facet,
/// a unit, a unique id) and an attachment.
async fn source_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for s in SOURCES {
        import(dir.path(), &real(s.file), s.id, ImportOptions::default());
    }
    let app = app_over(dir.path());
    let ctx = kleber_app::RequestContext::operator();
    for s in SOURCES {
        let Value::Object(metas) = json!({
            "title": s.title,
            "description": format!("<p>{} (copie de test)</p>", s.title),
            "theme": [s.theme],
            "keyword": ["temps réel", s.id],
            "license": "Licence Ouverte v2.0 (Etalab)",
            "license_url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
            "publisher": "Eurométropole de Strasbourg",
        }) else {
            unreachable!()
        };
        app.update_metas(&ctx, s.id, metas).await.expect("metas");
    }
    let annotate = |id: &str, field: &str, set: Vec<(&str, Vec<&str>)>| {
        let set: Vec<(String, Vec<String>)> = set
            .into_iter()
            .map(|(n, a)| (n.to_owned(), a.into_iter().map(str::to_owned).collect()))
            .collect();
        let (app, ctx) = (&app, &ctx);
        let (id, field) = (id.to_owned(), field.to_owned());
        async move { app.annotate(ctx, &id, &field, set, Vec::new()).await.expect("annotate") }
    };
    annotate("occupation-parkings-temps-reel", "etat_descriptif", vec![("facet", vec![])]).await;
    annotate("occupation-parkings-temps-reel", "libre", vec![("unit", vec!["places"])]).await;
    annotate(
        "velib-disponibilite-en-temps-reel",
        "nom_communes_equipees",
        vec![("facet", vec![]), ("facetsort", vec!["-count"])],
    )
    .await;
    annotate("velib-disponibilite-en-temps-reel", "identifiant_station", vec![("id", vec![])])
        .await;
    let upload = kleber_app::attachments::AttachmentUpload {
        file_name: "Notice des parkings.txt".to_owned(),
        title: Some("Notice".to_owned()),
        content_type: Some("text/plain".to_owned()),
        replace: None,
    };
    let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(
        "Les places libres sont mises à jour toutes les 3 minutes.\n".as_bytes(),
    ))]);
    app.put_attachment(
        &kleber_app::manage::Editor::operator(),
        "occupation-parkings-temps-reel",
        upload,
        body,
    )
    .await
    .expect("attachment");
    drop(app);
    dir
}

/// Runs the real `kleber` binary with `args` (on a blocking thread: the source server runs on
/// this runtime), returning status, stdout and stderr.
pub(crate) async fn kleber(
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_kleber"))
            .args(&args)
            .envs(env)
            .env_remove("KLEBER_DATA_DIR")
            .output()
            .expect("run kleber");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .expect("join")
}

fn migrate_args(url: &str, dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "migrate".to_owned(),
        url.to_owned(),
        "--json".to_owned(),
        "--data-dir".to_owned(),
        dir.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

fn report(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("report is not JSON ({e}): {stdout}"))
}

fn ids(list: &Value) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.get("dataset").unwrap_or(v).as_str().expect("id").to_owned())
        .collect();
    out.sort();
    out
}

/// `value` with the host names replaced and the `IGNORED` keys removed; with `unordered`, the
/// arrays of records or features are sorted (answers without `order_by` may come in any order).
fn normalize(value: &Value, hosts: &[&str], unordered: bool) -> Value {
    match value {
        Value::String(s) => {
            let mut s = s.clone();
            for h in hosts {
                s = s.replace(h, "HOST");
            }
            Value::String(s)
        }
        Value::Array(items) => {
            let mut items: Vec<Value> =
                items.iter().map(|v| normalize(v, hosts, unordered)).collect();
            if unordered {
                items.sort_by_key(Value::to_string);
            }
            Value::Array(items)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !IGNORED.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), normalize(v, hosts, unordered)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// GETs `path` on both servers and asserts the same status and the same normalised body.
async fn same(a: &TestServer, b: &TestServer, path: &str, unordered: bool) -> Value {
    let (sa, ta, body_a) = a.get(path).await;
    let (sb, tb, body_b) = b.get(path).await;
    assert_eq!(sa, sb, "GET {path}: {sa} at the source, {sb} in the copy: {body_b}");
    assert_eq!(ta, tb, "GET {path}: content types differ");
    let hosts = [a.base.as_str(), b.base.as_str()];
    let strip = |s: &str| a.base.split("//").nth(1).map_or(s.to_owned(), |h| s.replace(h, "HOST"));
    let strip_b =
        |s: &str| b.base.split("//").nth(1).map_or(s.to_owned(), |h| s.replace(h, "HOST"));
    if ta.starts_with("application/json") || ta.starts_with("application/geo+json") {
        let va: Value = serde_json::from_str(&body_a).expect("json a");
        let vb: Value = serde_json::from_str(&body_b).expect("json b");
        let (na, nb) = (normalize(&va, &hosts, unordered), normalize(&vb, &hosts, unordered));
        if na != nb {
            let found: Vec<String> = crate::conformance::diff(&na, &nb)
                .into_iter()
                .take(8)
                .map(|f| format!("{}: {}", f.path, f.what))
                .collect();
            panic!("GET {path} answers differently:\n{}", found.join("\n"));
        }
        assert_eq!(sa, 200, "GET {path}: {body_a}");
        na
    } else {
        let (mut la, mut lb): (Vec<String>, Vec<String>) = (
            strip(&body_a).lines().map(str::to_owned).collect(),
            strip_b(&body_b).lines().map(str::to_owned).collect(),
        );
        if unordered && la.len() > 1 {
            la[1..].sort();
            lb[1..].sort();
        }
        assert_eq!(la, lb, "GET {path} answers differently");
        assert_eq!(sa, 200, "GET {path}: {body_a}");
        Value::from(la.len())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migrated_portal_answers_the_same() {
    let source = TestServer::start(source_dir().await).await;
    let target = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let (ok, out, err) = kleber(migrate_args(&source.base, target.path(), &[]), vec![]).await;
    let seconds = started.elapsed().as_secs_f64();
    assert!(ok, "migrate failed: {out}\n{err}");
    let r = report(&out);
    assert_eq!(ids(&r["copied"]).len(), SOURCES.len(), "{r:#}");
    assert_eq!(r["failed"], json!([]), "{r:#}");
    assert_eq!(r["not_carried_over"], json!([]), "{r:#}");
    let records = r["records"].as_u64().expect("records");
    eprintln!(
        "migrated the loopback portal: {} datasets, {records} records, {seconds:.2} s (report: {:.2} s)",
        SOURCES.len(),
        r["seconds"].as_f64().unwrap_or_default()
    );
    let copy = TestServer::start(target).await;
    let (a, b) = (&source, &copy);
    let v21 = "/api/explore/v2.1";
    // The catalog.
    let catalog =
        same(a, b, &format!("{v21}/catalog/datasets?limit=100&order_by=dataset_id"), false).await;
    assert_eq!(catalog["total_count"], json!(SOURCES.len()));
    same(a, b, &format!("{v21}/catalog/facets"), false).await;
    same(a, b, &format!("{v21}/catalog/datasets?where={}", enc("\"parking\"")), false).await;
    same(a, b, &format!("{v21}/catalog/datasets?refine={}", enc("theme:Mobilité")), false).await;
    same(a, b, "/api/datasets/1.0/search/?rows=100", true).await;
    let columns =
        "dataset_id,title,description,publisher,theme,keyword,license,records_count,features";
    same(a, b, &format!("{v21}/catalog/exports/csv?order_by=dataset_id&select={columns}"), false)
        .await;
    let mut records_seen = 0;
    for s in SOURCES {
        let id = s.id;
        let object = same(a, b, &format!("{v21}/catalog/datasets/{id}"), false).await;
        assert_eq!(object["metas"]["default"]["theme"], json!([s.theme]));
        let page =
            same(a, b, &format!("{v21}/catalog/datasets/{id}/records?limit=100"), true).await;
        records_seen += page["total_count"].as_u64().expect("total");
        same(a, b, &format!("{v21}/catalog/datasets/{id}/facets"), false).await;
        same(a, b, &format!("{v21}/catalog/datasets/{id}/attachments"), false).await;
        same(a, b, &format!("{v21}/catalog/datasets/{id}/exports/csv"), true).await;
        if object["features"].as_array().expect("features").contains(&json!("geo")) {
            let geojson = format!("{v21}/catalog/datasets/{id}/exports/geojson");
            let features = same(a, b, &geojson, true).await;
            assert!(!features["features"].as_array().expect("features").is_empty());
        }
        same(a, b, &format!("/api/v2/catalog/datasets/{id}/records?rows=100"), true).await;
        let v1 = same(a, b, &format!("/api/records/1.0/search/?dataset={id}&rows=100"), true).await;
        same(a, b, &format!("/api/records/1.0/download/?dataset={id}&format=csv"), true).await;
        // Record by id, in each API, for ids the source gives.
        for record in v1["records"].as_array().expect("records").iter().take(5) {
            let rid = record["recordid"].as_str().expect("recordid");
            same(a, b, &format!("{v21}/catalog/datasets/{id}/records/{rid}"), false).await;
            same(a, b, &format!("/api/v2/catalog/datasets/{id}/records/{rid}"), false).await;
            same(a, b, &format!("/api/datasets/1.0/{id}/records/{rid}"), false).await;
        }
    }
    assert_eq!(records_seen, records, "the report counts the records served");
    // Queries with where, group_by and order_by, facets with refinements.
    let parkings = format!("{v21}/catalog/datasets/occupation-parkings-temps-reel");
    for query in [
        format!("where={}&order_by={}&limit=5", enc("libre > 100"), enc("libre DESC, nom_parking")),
        format!("select={}&group_by=etat_descriptif", enc("count(*) AS n, sum(total) AS places")),
        format!("where={}&select=nom_parking,libre", enc("search(\"gare\")")),
    ] {
        same(a, b, &format!("{parkings}/records?{query}"), false).await;
    }
    same(
        a,
        b,
        &format!(
            "{parkings}/facets?facet=etat_descriptif&refine={}",
            enc("etat_descriptif:Ouvert")
        ),
        false,
    )
    .await;
    let velib = format!("{v21}/catalog/datasets/velib-disponibilite-en-temps-reel");
    for query in [
        format!(
            "select={}&group_by=nom_communes_equipees&order_by={}&limit=10",
            enc("count(*) AS stations, avg(capacite_de_la_station) AS capacite"),
            enc("stations DESC, nom_communes_equipees")
        ),
        format!(
            "where={}&order_by=identifiant_station&limit=20",
            enc("distance(coordonnees_geographiques, geom'POINT(2.35 48.85)', 1km)")
        ),
    ] {
        same(a, b, &format!("{velib}/records?{query}"), false).await;
    }
    same(a, b, "/api/records/1.0/search/?dataset=velib-disponibilite-en-temps-reel&rows=10&sort=-capacite_de_la_station&facet=nom_communes_equipees&refine.nom_communes_equipees=Paris", false).await;
    same(a, b, &format!("{v21}/catalog/datasets/occupation-parkings-temps-reel/attachments/notice_des_parkings_txt"), false).await;
}

/// The version a data directory serves of each dataset (`id` → version).
fn versions(dir: &Path) -> std::collections::BTreeMap<String, i64> {
    let store = kleber_store::Store::open(dir).expect("open store");
    store
        .catalog()
        .managed_datasets()
        .expect("datasets")
        .into_iter()
        .filter(|d| d.deleted_at.is_none())
        .filter_map(|d| d.current_version.map(|v| (d.id, v)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_migration_resumes_and_harvests_are_idempotent() {
    let source_data = source_dir().await;
    let source_path = source_data.path().to_path_buf();
    let source = TestServer::start(source_data).await;
    let target = tempfile::tempdir().expect("tempdir");
    let url = source.base.clone();
    // Aborted (as by a crash) after two datasets.
    let (ok, _, err) = kleber(
        migrate_args(&url, target.path(), &[]),
        vec![("KLEBER_HARVEST_ABORT_AFTER", "2".to_owned())],
    )
    .await;
    assert!(!ok, "the test hook aborts: {err}");
    let state = kleber_app::harvest_ods::state_path(target.path(), &url);
    let saved: Value =
        serde_json::from_slice(&std::fs::read(&state).expect("state")).expect("json");
    assert_eq!(saved["datasets"].as_object().expect("datasets").len(), 2, "{saved:#}");
    assert_eq!(versions(target.path()).len(), 2);
    // Resumed: the two are skipped, the rest copied.
    let (ok, out, err) = kleber(migrate_args(&url, target.path(), &[]), vec![]).await;
    assert!(ok, "{out}\n{err}");
    let r = report(&out);
    assert_eq!(ids(&r["unchanged"]).len(), 2, "{r:#}");
    assert_eq!(ids(&r["copied"]).len(), SOURCES.len() - 2, "{r:#}");
    let before = versions(target.path());
    assert_eq!(before.len(), SOURCES.len());
    assert!(before.values().all(|v| *v == 1), "{before:?}");
    // Again: idempotent, nothing published.
    let harvest = |extra: &[&str]| {
        let mut args = vec!["harvest".to_owned(), "ods".to_owned()];
        args.extend(migrate_args(&url, target.path(), extra).into_iter().skip(1));
        args
    };
    let (ok, out, err) = kleber(harvest(&[]), vec![]).await;
    assert!(ok, "{out}\n{err}");
    let r = report(&out);
    assert_eq!(r["copied"], json!([]), "{r:#}");
    assert_eq!(ids(&r["unchanged"]).len(), SOURCES.len());
    assert_eq!(versions(target.path()), before);
    // A change at the source: only that dataset is copied again, as a new version.
    let app = app_over(&source_path);
    let ctx = kleber_app::RequestContext::operator();
    let Value::Object(patch) = json!({"keyword": ["parking", "places libres"]}) else {
        unreachable!()
    };
    app.update_metas(&ctx, "occupation-parkings-temps-reel", patch).await.expect("metas");
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (ok, out, err) = kleber(harvest(&[]), vec![]).await;
    assert!(ok, "{out}\n{err}");
    assert_eq!(ids(&report(&out)["copied"]), ["occupation-parkings-temps-reel"]);
    let after = versions(target.path());
    assert_eq!(after["occupation-parkings-temps-reel"], 2);
    assert_eq!(after.values().filter(|v| **v == 1).count(), SOURCES.len() - 1);
    // Deleted at the source: kept without the option, moved to the trash with it.
    app.change_lifecycle(
        &kleber_app::manage::Editor::operator(),
        "frequentation-piscines",
        kleber_store::Lifecycle::Delete,
    )
    .await
    .expect("delete at the source");
    drop(app);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (ok, out, err) = kleber(harvest(&[]), vec![]).await;
    assert!(ok, "{out}\n{err}");
    let r = report(&out);
    assert_eq!(ids(&r["kept"]), ["frequentation-piscines"], "{r:#}");
    assert!(versions(target.path()).contains_key("frequentation-piscines"));
    let (ok, out, err) = kleber(harvest(&["--remove-deleted"]), vec![]).await;
    assert!(ok, "{out}\n{err}");
    let r = report(&out);
    assert_eq!(ids(&r["removed"]), ["frequentation-piscines"], "{r:#}");
    assert_eq!(r["copied"], json!([]), "{r:#}");
    assert!(!versions(target.path()).contains_key("frequentation-piscines"));
    assert_eq!(versions(target.path()).len(), SOURCES.len() - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_harvest_takes_a_selection_with_overrides() {
    let source = TestServer::start(source_dir().await).await;
    let target = tempfile::tempdir().expect("tempdir");
    let args = vec![
        "harvest".to_owned(),
        "ods".to_owned(),
        source.base.clone(),
        "--json".to_owned(),
        "--dataset".to_owned(),
        "parcs-jardins".to_owned(),
        "--dataset".to_owned(),
        "arrondissements".to_owned(),
        "--set".to_owned(),
        "publisher=Ville de Paris".to_owned(),
        "--set".to_owned(),
        "keyword=[\"espaces verts\"]".to_owned(),
        "--data-dir".to_owned(),
        target.path().display().to_string(),
    ];
    let (ok, out, err) = kleber(args, vec![]).await;
    assert!(ok, "{out}\n{err}");
    assert_eq!(ids(&report(&out)["copied"]), ["arrondissements", "parcs-jardins"]);
    let copy = TestServer::start(target).await;
    let object = copy.json("/api/explore/v2.1/catalog/datasets/parcs-jardins", 200).await;
    assert_eq!(object["metas"]["default"]["publisher"], "Ville de Paris");
    assert_eq!(object["metas"]["default"]["keyword"], json!(["espaces verts"]));
    assert_eq!(object["metas"]["default"]["title"], "Parcs et jardins");
    let catalog = copy.json("/api/explore/v2.1/catalog/datasets", 200).await;
    assert_eq!(catalog["total_count"], 2);
    // A `where` selection on the source's catalog.
    let target = tempfile::tempdir().expect("tempdir");
    let where_clause = "theme = \"Mobilité\" AND records_count > 100";
    let (ok, out, err) =
        kleber(migrate_args(&source.base, target.path(), &["--where", where_clause]), vec![]).await;
    assert!(ok, "{out}\n{err}");
    let expected: Vec<String> = {
        let page = source
            .json(
                &format!(
                    "/api/explore/v2.1/catalog/datasets?limit=100&where={}",
                    enc(where_clause)
                ),
                200,
            )
            .await;
        let mut ids: Vec<String> = page["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|d| d["dataset_id"].as_str().expect("id").to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert!(!expected.is_empty() && expected.len() < SOURCES.len(), "{expected:?}");
    assert_eq!(ids(&report(&out)["copied"]), expected);
}

/// A loopback server that answers every request with an HTML page.
async fn html_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let body = "<html><body>Bienvenue</body></html>";
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_errors_say_what_and_change_nothing() {
    let source = TestServer::start(source_dir().await).await;
    let html = html_server().await;
    // A port nobody listens on: bind one, then free it.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", l.local_addr().expect("addr"))
    };
    let cases: Vec<(String, Vec<&str>, &str)> = vec![
        ("ftp://example.org".to_owned(), vec![], "is not a portal address"),
        (closed.clone(), vec![], "cannot reach"),
        (html.clone(), vec![], "does not answer as an Opendatasoft portal"),
        (
            format!("{}/nothing-here", source.base),
            vec![],
            "does not answer as an Opendatasoft portal",
        ),
        (source.base.clone(), vec!["--apikey", "not-a-key"], "check --apikey"),
        (source.base.clone(), vec!["--where", "records_count >"], "answered 400"),
    ];
    for (url, extra, expected) in cases {
        let target = tempfile::tempdir().expect("tempdir");
        let (ok, out, err) = kleber(migrate_args(&url, target.path(), &extra), vec![]).await;
        assert!(!ok, "{url} {extra:?} should fail: {out}");
        assert!(err.contains(expected), "{url} {extra:?}: expected {expected:?} in: {err}");
        assert!(versions(target.path()).is_empty(), "{url}: nothing is copied");
    }
    // A dataset id the source does not have is a failure of that dataset, reported.
    let target = tempfile::tempdir().expect("tempdir");
    let args = vec![
        "harvest".to_owned(),
        "ods".to_owned(),
        source.base.clone(),
        "--json".to_owned(),
        "--dataset".to_owned(),
        "no-such-dataset".to_owned(),
        "--dataset".to_owned(),
        "arrondissements".to_owned(),
        "--data-dir".to_owned(),
        target.path().display().to_string(),
    ];
    let (ok, out, err) = kleber(args, vec![]).await;
    assert!(!ok, "a failed dataset fails the command: {out}");
    assert!(err.contains("1 of 2 datasets could not be copied"), "{err}");
    let r = report(&out);
    assert_eq!(ids(&r["failed"]), ["no-such-dataset"]);
    assert_eq!(ids(&r["copied"]), ["arrondissements"]);
    // A dataset of the target that this harvester did not copy is left as it is.
    let target = tempfile::tempdir().expect("tempdir");
    import(
        target.path(),
        &real("strasbourg_occupation-parkings-temps-reel.csv"),
        "arrondissements",
        ImportOptions::default(),
    );
    let (ok, out, _) = kleber(migrate_args(&source.base, target.path(), &[]), vec![]).await;
    assert!(!ok, "{out}");
    let r = report(&out);
    assert_eq!(ids(&r["failed"]), ["arrondissements"], "{r:#}");
    assert!(
        r["failed"][0]["reason"]
            .as_str()
            .expect("reason")
            .contains("was not copied from this source")
    );
    assert_eq!(ids(&r["copied"]).len(), SOURCES.len() - 1);
    let store = kleber_store::Store::open(target.path()).expect("store");
    let local = store.get_dataset("arrondissements").expect("read").expect("kept");
    assert_eq!((local.version.number, local.version.records_count), (1, 28));
}

/// The commands of docs/migrating.md run as written against the loopback portal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_examples_run() {
    let source = TestServer::start(source_dir().await).await;
    let guide = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/migrating.md"),
    )
    .expect("docs/migrating.md");
    let target = tempfile::tempdir().expect("tempdir");
    let mut commands = 0;
    let mut in_sh = false;
    for line in guide.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if !in_sh || !line.starts_with("kleber ") {
            continue;
        }
        let line = line
            .replace("https://data.example.org", &source.base)
            .replace("./kleber-data", &target.path().display().to_string());
        let words = shell_words(&line);
        let (ok, out, err) = kleber(words[1..].to_vec(), vec![]).await;
        assert!(ok, "{line}: {out}\n{err}");
        assert!(out.contains(" datasets copied ("), "{line}: {out}");
        commands += 1;
    }
    assert_eq!(commands, 4, "the guide's examples");
    let copy = TestServer::start(target).await;
    let object =
        copy.json("/api/explore/v2.1/catalog/datasets/occupation-parkings-temps-reel", 200).await;
    assert_eq!(object["metas"]["default"]["publisher"], "Eurométropole de Strasbourg");
}

/// Splits a shell line on spaces, honouring single and double quotes (the guide's lines).
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quote, mut started) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                started = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, ' ') => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            _ => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}
