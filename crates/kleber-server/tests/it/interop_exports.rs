//! Issue 16 items 2, 4 and 6 against a real server: the RDF records exports read by rdflib
//! (same records and values as the CSV export), the Data Package of every real file
//! validated by `frictionless validate` (which downloads the CSV and checks it against the
//! Table Schema), the `datapackage` zip read back, the catalog's RSS feed read by feedparser
//! and its data.json checked against Project Open Data's v1.1 schema; access rules (a hidden
//! field) and bad parameters on each.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use kleber_app::accounts::{Accounts, operator};
use kleber_ingest::ImportOptions;
use kleber_store::{AccessRule, NewOrganization, OrgKind, Role, Scope, Store, Visibility};
use serde_json::Value;

use crate::common::{TestServer, import, load_demo, real};

const API: &str = "/api/explore/v2.1";

fn clients() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients")
}

fn venv_tool(name: &str) -> PathBuf {
    let path = clients().join(".venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-test-deps.sh to install the test clients",
        path.display()
    );
    path
}

/// Runs `program args` off the async runtime (it calls back into the server).
async fn run(program: PathBuf, args: Vec<String>, cwd: Option<PathBuf>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(&program);
        command.args(&args).stdin(Stdio::null());
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        command.output().unwrap_or_else(|e| panic!("run {}: {e}", program.display()))
    })
    .await
    .expect("join")
}

/// Runs `interop_check.py` and parses its JSON report.
async fn check(args: &[&str]) -> Value {
    let mut all = vec![clients().join("interop_check.py").display().to_string()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let output = run(venv_tool("python"), all, None).await;
    assert!(
        output.status.success(),
        "interop_check.py {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("interop_check.py output: {e}: {}", String::from_utf8_lossy(&output.stdout))
    })
}

/// `frictionless validate --json target` from `cwd`: the report.
async fn frictionless(target: &str, cwd: Option<PathBuf>) -> Value {
    let args = vec!["validate".to_owned(), "--json".to_owned(), target.to_owned()];
    let output = run(venv_tool("frictionless"), args, cwd).await;
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "frictionless validate {target}: {e}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

async fn get_bytes(server: &TestServer, path: &str, key: Option<&str>) -> (u16, String, Vec<u8>) {
    let mut request = server.client.get(format!("{}{path}", server.base));
    if let Some(key) = key {
        request = request.header("authorization", format!("Apikey {key}"));
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.bytes().await.expect("body").to_vec())
}

/// The real files (every one of shared/data/real) and their dataset ids.
const REAL: &[(&str, &str)] = &[
    ("strasbourg_occupation-parkings-temps-reel.csv", "parkings"),
    ("strasbourg_parkings_api-v1-search.json", "parkings-v1"),
    ("strasbourg_occupation-parkings-temps-reel_api-v1-search-facet.json", "occupation-v1"),
    ("strasbourg_frequentation-piscines-temps-reel_api-v1-download.json", "piscines"),
    ("strasbourg_trafic-temps-reel_lines.geojson", "trafic"),
    ("strasbourg_stationnement-payant_polygons.geojson", "stationnement"),
    ("strasbourg_parcs-jardins_points.geojson", "parcs"),
    ("strasbourg_boucles_multilines.geojson", "boucles"),
    ("paris_velib-disponibilite-en-temps-reel_utf8-bom.csv", "velib"),
    ("paris_velib-disponibilite-en-temps-reel_latin1-noheader.csv", "velib-latin1"),
    ("paris_velib-disponibilite-en-temps-reel_api-v1-download.json", "velib-v1"),
    ("paris_velib-disponibilite-en-temps-reel.xlsx", "velib-xlsx"),
    ("paris_arrondissements_polygons.geojson", "arrondissements"),
];

fn import_real(dir: &Path) {
    let listed: Vec<String> = std::fs::read_dir(real("SOURCES.md").parent().expect("dir"))
        .expect("real files")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "SOURCES.md")
        .collect();
    for name in &listed {
        assert!(REAL.iter().any(|(f, _)| f == name), "real file {name} is not tested here");
    }
    for (file, id) in REAL {
        import(dir, &real(file), id, ImportOptions::default());
    }
}

#[tokio::test]
async fn every_real_file_is_a_valid_data_package() {
    let dir = tempfile::tempdir().expect("tempdir");
    import_real(dir.path());
    let server = TestServer::start(dir).await;
    for (_, id) in REAL {
        let url = format!("{}{API}/catalog/datasets/{id}/datapackage.json", server.base);
        let descriptor =
            server.json(&format!("{API}/catalog/datasets/{id}/datapackage.json"), 200).await;
        let fields = server.json(&format!("{API}/catalog/datasets/{id}"), 200).await["fields"]
            .as_array()
            .expect("fields")
            .clone();
        let resource = &descriptor["resources"][0];
        assert_eq!(resource["dialect"]["delimiter"], ";", "{descriptor}");
        assert_eq!(resource["dialect"]["header"], true);
        assert!(
            resource["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("http://") && p.contains("/exports/csv")),
            "{descriptor}"
        );
        let schema_fields = resource["schema"]["fields"].as_array().expect("schema fields");
        assert_eq!(schema_fields.len(), fields.len(), "{id}");
        for (s, f) in schema_fields.iter().zip(&fields) {
            assert_eq!(s["name"], f["name"], "{id}");
            let expected = match f["type"].as_str().expect("type") {
                "text" | "geo_point_2d" => "string",
                "int" => "integer",
                "double" => "number",
                "boolean" => "boolean",
                "date" => "date",
                "datetime" => "datetime",
                "geo_shape" => "geojson",
                other => panic!("unexpected type {other}"),
            };
            assert_eq!(s["type"], expected, "{id}: {s}");
        }
        let report = frictionless(&url, None).await;
        assert_eq!(report["valid"], true, "{id}: {report}");
        let rows: u64 = report["tasks"][0]["stats"]["rows"].as_u64().expect("rows");
        let count = server.json(&format!("{API}/catalog/datasets/{id}/records?limit=0"), 200).await
            ["total_count"]
            .as_u64()
            .expect("count");
        assert_eq!(rows, count, "{id}: frictionless read {rows} rows of {count}");
    }
}

/// A dataset with a unique-id field, a licence, keywords and a contact: the descriptor's
/// primary key, licences and contributors; the `datapackage` zip read back.
#[tokio::test]
async fn the_datapackage_zip_holds_the_descriptor_and_the_csv() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    let csv = files.path().join("stations.csv");
    std::fs::write(
        &csv,
        "code;nom;places;ouvert;mise_en_service\nS1;Gare;12;true;2021-03-01\nS2;Homme de Fer;8;false;2019-07-14\nS3;Étoile, Bourse;;true;2020-01-02\n",
    )
    .expect("csv");
    let store_dir = dir.path().to_path_buf();
    let request = kleber_app::import::ImportRequest {
        path: csv.clone(),
        dataset: "stations".to_owned(),
        title: Some("Stations".to_owned()),
        options: ImportOptions::default(),
        unique_id: Some("code".to_owned()),
        crash: None,
    };
    let app = crate::common::app_over(&store_dir);
    let ctx = kleber_app::RequestContext::operator();
    app.import(&ctx, request).await.expect("import");
    // The catalog's stored metadata, as the management API writes a known licence.
    let metas = serde_json::json!({
        "license": "Open Database License (ODbL)",
        "license_id": "odbl-1.0",
        "license_url": "https://opendatacommons.org/licenses/odbl/1-0/",
        "keyword": ["mobilité", "vélo"],
        "publisher": "Eurométropole",
        "contact_name": "Service mobilité",
        "contact_email": "mobilite@example.org",
        "references": "https://example.org/stations",
    });
    let metas = metas.as_object().expect("object").clone();
    app.update_metas(&ctx, "stations", metas).await.expect("metas");
    drop(app);
    let server = TestServer::start(dir).await;

    let descriptor =
        server.json(&format!("{API}/catalog/datasets/stations/datapackage.json"), 200).await;
    let schema = &descriptor["resources"][0]["schema"];
    assert_eq!(schema["primaryKey"], serde_json::json!(["code"]), "{descriptor}");
    assert_eq!(schema["missingValues"], serde_json::json!([""]));
    assert_eq!(schema["fields"][0]["constraints"]["unique"], true);
    assert_eq!(descriptor["licenses"][0]["name"], "odbl-1.0", "{descriptor}");
    assert_eq!(descriptor["licenses"][0]["path"], "https://opendatacommons.org/licenses/odbl/1-0/");
    assert_eq!(descriptor["keywords"], serde_json::json!(["mobilité", "vélo"]));
    assert_eq!(descriptor["sources"][0]["path"], "https://example.org/stations");
    let contributors = descriptor["contributors"].to_string();
    assert!(contributors.contains("mobilite@example.org") && contributors.contains("publisher"));
    let url = format!("{}{API}/catalog/datasets/stations/datapackage.json", server.base);
    let report = frictionless(&url, None).await;
    assert_eq!(report["valid"], true, "{report}");

    // The zip, with a filter and a projection: the same CSV as the CSV export.
    let query = "select=code,places,ouvert&where=places%20%3E%3D%208&order_by=code";
    let (status, content_type, zipped) = get_bytes(
        &server,
        &format!("{API}/catalog/datasets/stations/exports/datapackage?{query}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&zipped));
    assert_eq!(content_type, "application/zip");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zipped)).expect("zip");
    let mut names: Vec<String> =
        archive.file_names().map(|n| n.expect("entry name").into_owned()).collect();
    names.sort();
    assert_eq!(names, ["data/stations.csv", "datapackage.json"]);
    let mut csv_in_zip = String::new();
    archive
        .by_name("data/stations.csv")
        .expect("csv")
        .read_to_string(&mut csv_in_zip)
        .expect("read");
    let (_, _, csv_export) = get_bytes(
        &server,
        &format!("{API}/catalog/datasets/stations/exports/csv?with_bom=false&{query}"),
        None,
    )
    .await;
    assert_eq!(csv_in_zip, String::from_utf8(csv_export).expect("utf-8"));
    assert_eq!(csv_in_zip, "code;places;ouvert\r\nS1;12;true\r\nS2;8;false\r\n");
    let mut inner = String::new();
    archive
        .by_name("datapackage.json")
        .expect("descriptor")
        .read_to_string(&mut inner)
        .expect("read");
    let inner: Value = serde_json::from_str(&inner).expect("json");
    let resource = &inner["resources"][0];
    assert_eq!(resource["path"], "data/stations.csv");
    let names: Vec<&str> = resource["schema"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["code", "places", "ouvert"]);
    assert_eq!(resource["schema"]["primaryKey"], serde_json::json!(["code"]));

    // frictionless reads the unzipped package.
    let out = tempfile::tempdir().expect("tempdir");
    archive.extract(out.path()).expect("extract");
    let report = frictionless("datapackage.json", Some(out.path().to_path_buf())).await;
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["tasks"][0]["stats"]["rows"], 2);

    // Bad parameters: a clear error, no zip.
    let (status, _, body) = get_bytes(
        &server,
        &format!("{API}/catalog/datasets/stations/exports/datapackage?select=inconnu"),
        None,
    )
    .await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let error: Value = serde_json::from_slice(&body).expect("json error");
    assert_eq!(error["error_code"], "ODSQLError", "{error}");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("inconnu")), "{error}");
    let (status, _, body) =
        get_bytes(&server, &format!("{API}/catalog/datasets/aucun/datapackage.json"), None).await;
    assert_eq!(status, 404);
    let error: Value = serde_json::from_slice(&body).expect("json error");
    assert_eq!(error["error_code"], "DatasetNotFound", "{error}");
}

#[tokio::test]
async fn rdf_exports_give_the_records_and_values_of_the_csv_export() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (file, id) in [
        ("strasbourg_occupation-parkings-temps-reel.csv", "parkings"),
        ("strasbourg_parcs-jardins_points.geojson", "parcs"),
        ("paris_velib-disponibilite-en-temps-reel_utf8-bom.csv", "velib"),
        ("paris_arrondissements_polygons.geojson", "arrondissements"),
    ] {
        import(dir.path(), &real(file), id, ImportOptions::default());
    }
    let server = TestServer::start(dir).await;
    for (id, query, rows) in [
        ("parkings", "", 28),
        ("parcs", "", 8),
        ("arrondissements", "", 20),
        ("velib", "", 1472),
        (
            "velib",
            "where=capacite_de_la_station%20%3E%2040&select=nom_station,capacite_de_la_station,coordonnees_geographiques,actualisation_de_la_donnee&limit=50",
            50,
        ),
    ] {
        let report = check(&["rdf", &server.base, id, query]).await;
        assert_eq!(report["csv_rows"], rows, "{id} {query}: {report}");
        for format in ["jsonld", "turtle", "rdfxml", "n3"] {
            let r = &report["formats"][format];
            assert_eq!(r["records"], rows, "{id} {format}: {r}");
            assert_eq!(r["named_records"], rows, "{id} {format}: every record has its IRI");
            assert_eq!(r["mismatches"], serde_json::json!([]), "{id} {format}: {r}");
        }
    }
    // Typed literals, checked on one format (the script checks every value's datatype).
    let report = check(&["rdf", &server.base, "velib", "limit=3"]).await;
    let types = &report["formats"]["turtle"]["datatypes"];
    assert_eq!(types["capacite_de_la_station"], "http://www.w3.org/2001/XMLSchema#integer");
    assert_eq!(types["actualisation_de_la_donnee"], "http://www.w3.org/2001/XMLSchema#dateTime");
    assert_eq!(
        types["coordonnees_geographiques"],
        "http://www.opengis.net/ont/geosparql#wktLiteral"
    );

    // Listed among the dataset's exports and downloadable the v1 way.
    let links = server.json(&format!("{API}/catalog/datasets/velib/exports"), 200).await;
    let rels: Vec<&str> = links["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter_map(|l| l["rel"].as_str())
        .collect();
    for format in ["jsonld", "turtle", "rdfxml", "n3", "datapackage"] {
        assert!(rels.contains(&format), "{format} not in {rels:?}");
    }
    let (status, content_type, body) =
        get_bytes(&server, "/explore/dataset/parcs/download/?format=turtle", None).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/turtle"), "{content_type}");
    assert!(String::from_utf8_lossy(&body).contains("/catalog/datasets/parcs/records/"));

    // Bad parameters: a clear error before anything is streamed.
    let (status, _, body) = get_bytes(
        &server,
        &format!("{API}/catalog/datasets/parcs/exports/turtle?where=nom%20%3D"),
        None,
    )
    .await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let error: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(error["error_code"], "ODSQLError", "{error}");
}

/// The demo catalog with organizations: `agenda-culturel` restricted to `ville`'s members, and
/// a public dataset whose `email` field is hidden from outsiders.
async fn ruled_catalog() -> (TestServer, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ids = load_demo(dir.path()).await;
    let files = tempfile::tempdir().expect("tempdir");
    let csv = files.path().join("signalements.csv");
    std::fs::write(
        &csv,
        "nom;email;valeur\nRue A;anne@secret.example;1\nRue B;bob@secret.example;2\n",
    )
    .expect("csv");
    import(dir.path(), &csv, "signalements", ImportOptions::default());
    let accounts = Accounts::new(Arc::new(Store::open(dir.path()).expect("store")));
    let op = operator();
    let org = NewOrganization {
        id: "ville",
        name: "Ville de Strasbourg",
        kind: OrgKind::City,
        description: None,
        website: None,
        logo: None,
    };
    accounts.create_org(&op, &org).expect("org");
    for id in ids.iter().copied().chain(["signalements"]) {
        accounts.set_dataset_org(&op, id, "ville").expect("dataset org");
    }
    accounts.set_visibility(&op, "agenda-culturel", Visibility::Restricted).expect("restricted");
    accounts.create_user(&op, "membre@ville.example", None, false, None).expect("user");
    accounts.set_member(&op, "ville", "membre@ville.example", Role::Viewer).expect("member");
    let key = accounts
        .create_key(&op, "membre@ville.example", "t", &[Scope::Read], None)
        .expect("key")
        .key;
    drop(accounts);
    let app = crate::common::app_over(dir.path());
    let rule = AccessRule { hidden: vec!["email".to_owned()], condition: None };
    app.set_rule(&kleber_app::RequestContext::operator(), &op, "signalements", Some(rule))
        .await
        .expect("rule");
    drop(app);
    (TestServer::start(dir).await, key)
}

#[tokio::test]
async fn rss_and_data_json_list_what_the_caller_may_see() {
    let (server, key) = ruled_catalog().await;
    let anonymous =
        server.json(&format!("{API}/catalog/datasets?limit=100&select=dataset_id"), 200).await;
    let visible = anonymous["total_count"].as_u64().expect("count") as usize;

    // RSS, read by feedparser: every dataset the caller sees, newest first.
    let feed = check(&["rss", &format!("{}{API}/catalog/exports/rss", server.base)]).await;
    assert_eq!(feed["bozo"], false, "{feed}");
    assert_eq!(feed["version"], "rss20");
    let items = feed["items"].as_array().expect("items");
    assert_eq!(items.len(), visible, "{feed}");
    let stamps: Vec<i64> = items.iter().filter_map(|i| i["timestamp"].as_i64()).collect();
    assert_eq!(stamps.len(), items.len(), "every item has a date: {feed}");
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]), "newest first: {stamps:?}");
    assert!(!feed.to_string().contains("agenda-culturel"), "{feed}");
    assert!(
        items.iter().all(|i| i["link"].as_str().is_some_and(|l| l.contains("/explore/dataset/")))
    );
    let (status, content_type, body) =
        get_bytes(&server, &format!("{API}/catalog/exports/rss"), Some(&key)).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("application/rss+xml"), "{content_type}");
    assert!(String::from_utf8_lossy(&body).contains("/explore/dataset/agenda-culturel/"));
    let (_, _, one) = get_bytes(&server, &format!("{API}/catalog/exports/rss?limit=1"), None).await;
    assert_eq!(String::from_utf8_lossy(&one).matches("<item>").count(), 1);
    let (status, _, body) =
        get_bytes(&server, &format!("{API}/catalog/exports/rss?where=title%20%3D"), None).await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let error: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(error["error_code"], "ODSQLError", "{error}");

    // Both are listed among the catalog exports.
    let links = server.json(&format!("{API}/catalog/exports"), 200).await;
    let rels: Vec<&str> = links["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter_map(|l| l["rel"].as_str())
        .collect();
    assert!(rels.contains(&"rss") && rels.contains(&"data.json"), "{rels:?}");

    // data.json: valid against Project Open Data v1.1 (non-federal), the caller's datasets.
    for url in [format!("{API}/catalog/exports/data.json"), "/data.json".to_owned()] {
        let report = check(&["datajson", &format!("{}{url}", server.base)]).await;
        assert_eq!(report["errors"], serde_json::json!([]), "{url}: {report}");
        assert_eq!(report["datasets"].as_array().expect("datasets").len(), visible, "{report}");
        assert!(!report.to_string().contains("agenda-culturel"), "{report}");
    }
    let catalog = server.json(&format!("{API}/catalog/exports/data.json"), 200).await;
    assert_eq!(catalog["conformsTo"], "https://project-open-data.cio.gov/v1.1/schema");
    let first = &catalog["dataset"][0];
    for key in [
        "title",
        "description",
        "modified",
        "publisher",
        "contactPoint",
        "identifier",
        "accessLevel",
        "distribution",
    ] {
        assert!(!first[key].is_null(), "{key} missing: {first}");
    }
    let csv = first["distribution"]
        .as_array()
        .expect("distribution")
        .iter()
        .find(|d| d["format"] == "CSV")
        .expect("a CSV distribution");
    assert_eq!(csv["mediaType"], "text/csv");
    let download = csv["downloadURL"].as_str().expect("url").replace(&server.base, "");
    let (status, _, _) = get_bytes(&server, &download, None).await;
    assert_eq!(status, 200, "{download}");
    let with_key = {
        let (_, _, body) =
            get_bytes(&server, &format!("{API}/catalog/exports/data.json"), Some(&key)).await;
        String::from_utf8(body).expect("utf-8")
    };
    assert!(with_key.contains("agenda-culturel"));
    assert!(with_key.contains("\"restricted public\""));
}

#[tokio::test]
async fn a_hidden_field_is_in_no_rdf_export_nor_data_package() {
    let (server, key) = ruled_catalog().await;
    let dataset = format!("{API}/catalog/datasets/signalements");
    for path in [
        "/exports/turtle".to_owned(),
        "/exports/jsonld".to_owned(),
        "/exports/rdfxml".to_owned(),
        "/exports/n3".to_owned(),
        "/datapackage.json".to_owned(),
    ] {
        let (status, _, body) = get_bytes(&server, &format!("{dataset}{path}"), None).await;
        assert_eq!(status, 200, "{path}");
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains("email") && !text.contains("secret.example"), "{path}: {text}");
        assert!(text.contains("valeur"), "{path}: {text}");
        let (_, _, staff) = get_bytes(&server, &format!("{dataset}{path}"), Some(&key)).await;
        assert!(String::from_utf8_lossy(&staff).contains("email"), "{path} as staff");
    }
    let (status, _, zipped) =
        get_bytes(&server, &format!("{dataset}/exports/datapackage"), None).await;
    assert_eq!(status, 200);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zipped)).expect("zip");
    for i in 0..archive.len() {
        let mut text = String::new();
        archive.by_index(i).expect("entry").read_to_string(&mut text).expect("read");
        assert!(!text.contains("email") && !text.contains("secret.example"), "{text}");
    }
    // Naming the hidden field answers as an unknown one.
    let (status, _, body) =
        get_bytes(&server, &format!("{dataset}/exports/turtle?select=email"), None).await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
}

/// The "Frictionless Data Package" section of docs/interoperability.md.
fn documented() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/interoperability.md");
    let text = std::fs::read_to_string(&path).expect("docs/interoperability.md");
    let start = text.find("## Frictionless Data Package").expect("a Data Package section");
    let rest = &text[start + 3..];
    rest[..rest.find("\n## ").unwrap_or(rest.len())].to_owned()
}

#[tokio::test]
async fn the_documented_frictionless_commands_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    import(
        dir.path(),
        &real("strasbourg_occupation-parkings-temps-reel.csv"),
        "parkings",
        ImportOptions::default(),
    );
    let server = TestServer::start(dir).await;
    let doc = documented();
    let mut validated = 0;
    for line in doc.lines().filter(|l| l.starts_with("frictionless validate \"$KLEBER")) {
        let url = line.trim_start_matches("frictionless validate \"$KLEBER").trim_end_matches('"');
        let report = frictionless(&format!("{}{url}", server.base), None).await;
        assert_eq!(report["valid"], true, "{line}: {report}");
        validated += 1;
    }
    assert_eq!(validated, 1, "the section's frictionless command");
    let code = doc
        .split("```python\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a python block")
        .to_owned();
    let base = server.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(venv_tool("python"))
            .arg("-c")
            .arg(code)
            .env("KLEBER", base)
            .output()
            .expect("python")
    })
    .await
    .expect("join");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8_lossy(&output.stdout);
    let total = server.json(&format!("{API}/catalog/datasets/parkings/records?limit=0"), 200).await
        ["total_count"]
        .as_u64()
        .expect("count");
    let fields = server.json(&format!("{API}/catalog/datasets/parkings"), 200).await;
    let first = fields["fields"][0]["name"].as_str().expect("name");
    assert_eq!(printed.trim(), format!("{total} {first}"));
}
