//! DCAT-AP (issue 16 item 1) against a real server: every serialisation of the catalog and
//! of a dataset validated by pyshacl with SEMIC's shapes (3.0.x and 2.1.1: zero violations),
//! on the demo catalog and on a catalog of every real file; the Turtle, RDF/XML, JSON-LD and
//! N-Triples of one document parse to isomorphic graphs (rdflib); the Hydra pages walk every
//! visible dataset once; a restricted dataset never shows to anonymous callers; and
//! data.gouv.fr's harvester (udata's DCAT backend) finds every public dataset with its title,
//! description, licence, resources and organization (`tests/clients/dcat_check.py`,
//! `tests/clients/udata_harvest.py`).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use kleber_app::accounts::{Accounts, operator};
use kleber_app::manage::Editor;
use kleber_ingest::ImportOptions;
use kleber_store::{Lifecycle, NewOrganization, OrgKind, Role, Scope, Store, Visibility};
use serde_json::{Value, json};

use crate::common::{TestServer, app_over, import, load_demo};

/// The restricted dataset of the fixture.
const RESTRICTED: &str = "agenda-culturel";
/// The dataset described in full (HVD category, frequency, period, place, contact).
const DESCRIBED: &str = "comptages-velos";
/// The archived dataset.
const ARCHIVED: &str = "lignes-tram";
/// The dataset under a custom licence.
const CUSTOM: &str = "toilettes-publiques";
/// The custom licence's address.
const CUSTOM_URL: &str = "https://example.org/licences/reuse-1.0";

const EXPLORE: &str = "/api/explore/v2.1";

/// The demo portal in two organizations, one dataset restricted to `ville`'s members, one
/// described in full through the management use case, one archived, one under a custom
/// licence; returns the server and a key of a member of `ville`.
async fn fixture() -> (TestServer, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ids = load_demo(dir.path()).await;
    let accounts = Accounts::new(Arc::new(Store::open(dir.path()).expect("store")));
    let op = operator();
    for (id, name, kind, website) in [
        (
            "ems",
            "Eurométropole de Strasbourg",
            OrgKind::Metropolis,
            Some("https://www.strasbourg.eu/"),
        ),
        ("ville", "Ville de Strasbourg", OrgKind::City, None),
    ] {
        let org = NewOrganization {
            id,
            name,
            kind,
            description: Some("Une organisation de test."),
            website,
            logo: None,
        };
        accounts.create_org(&op, &org).expect("org");
    }
    for id in &ids {
        let org = if [CUSTOM, RESTRICTED].contains(id) { "ville" } else { "ems" };
        accounts.set_dataset_org(&op, id, org).expect("dataset org");
    }
    accounts.set_visibility(&op, RESTRICTED, Visibility::Restricted).expect("restricted");
    accounts.create_user(&op, "membre@ville.example", None, false, None).expect("user");
    accounts.set_member(&op, "ville", "membre@ville.example", Role::Viewer).expect("member");
    let key = accounts
        .create_key(&op, "membre@ville.example", "dcat", &[Scope::Read], None)
        .expect("key")
        .key;
    drop(accounts);
    let app = app_over(dir.path());
    let editor = Editor::operator();
    let described = json!({
        "hvd_category": "mobility",
        "update_frequency": "daily",
        "temporal_start": "2020-01-01",
        "temporal_end": "2025-12-31",
        "spatial": "Eurométropole de Strasbourg",
        "contact_name": "Service mobilité",
        "contact_email": "mobilite@strasbourg.example",
        "language": "fr",
        "description": "Passages de **vélos** par jour.",
    });
    app.edit_metadata(&editor, DESCRIBED, &described).await.expect("metadata");
    let custom = json!({"license": "custom", "license_name": "Licence de réutilisation", "license_url": CUSTOM_URL});
    app.edit_metadata(&editor, CUSTOM, &custom).await.expect("custom licence");
    app.change_lifecycle(&editor, ARCHIVED, Lifecycle::Archive).await.expect("archive");
    drop(app);
    (TestServer::start(dir).await, key)
}

fn clients() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients")
}

fn python() -> PathBuf {
    let path = clients().join(".venv/bin/python");
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-test-deps.sh to install the test clients",
        path.display()
    );
    path
}

/// Runs `script` with `args` in the clients' Python, returning its JSON output.
async fn run_python(script: &str, args: Vec<String>) -> Value {
    let python = python();
    let script = clients().join(script);
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python).arg(script).args(args).output().expect("run python")
    })
    .await
    .expect("join");
    assert!(output.status.success(), "python failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("script output is not JSON ({e}): {}", String::from_utf8_lossy(&output.stdout))
    })
}

/// Runs `dcat_check.py` on `job`.
async fn check(job: Value) -> Value {
    run_python("dcat_check.py", vec![job.to_string()]).await
}

/// The identifiers of the datasets an anonymous caller sees in Explore's catalog.
async fn explore_ids(server: &TestServer) -> Vec<String> {
    let v = server
        .json(&format!("{EXPLORE}/catalog/datasets?limit=100&order_by=dataset_id"), 200)
        .await;
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["dataset_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts that every validation of `report` has zero violations and returns a summary
/// line per document and shape set (violations, warnings).
fn assert_valid(report: &Value) -> Vec<String> {
    let mut summary = Vec::new();
    let validated = report["validate"].as_array().unwrap();
    assert!(!validated.is_empty());
    for doc in validated {
        let profiles = doc["profiles"].as_object().unwrap();
        assert!(!profiles.is_empty(), "{doc}");
        assert!(doc["triples"].as_u64().unwrap() > 20, "{doc}");
        for (name, result) in profiles {
            assert_eq!(result["violations"], 0, "{} under {name}: {result}", doc["url"]);
            assert_eq!(result["conforms"], true, "{} under {name}: {result}", doc["url"]);
            summary.push(format!(
                "{} [{name}]: 0 violations, {} warnings ({})",
                doc["url"], result["warnings"], result["warning_paths"]
            ));
        }
    }
    summary
}

fn doc(server: &TestServer, path: &str, format: &str, profile: &str) -> Value {
    json!({"url": format!("{}{path}", server.base), "format": format, "profile": profile})
}

#[tokio::test]
async fn every_serialisation_passes_semics_shapes_and_they_agree() {
    let (server, _) = fixture().await;
    let cat = |name: &str| format!("{EXPLORE}/catalog/exports/{name}");
    let ds = |query: &str| format!("{EXPLORE}/catalog/datasets/{DESCRIBED}/exports/dcat?{query}");
    let validate = vec![
        doc(&server, &cat("dcat"), "rdf", "3"),
        doc(&server, &cat("rdf"), "rdf", "3"),
        doc(&server, &cat("ttl"), "ttl", "3"),
        doc(&server, &cat("jsonld"), "jsonld", "3"),
        doc(&server, &cat("nt"), "nt", "3"),
        doc(&server, &cat("dcat_ap_3"), "rdf", "3"),
        doc(&server, &cat("dcat_ap_2.1.1"), "rdf", "2.1.1"),
        doc(&server, &format!("{}?profile=2.1.1", cat("ttl")), "ttl", "2.1.1"),
        doc(&server, &format!("{}?profile=2.1.1", cat("jsonld")), "jsonld", "2.1.1"),
        doc(&server, &ds(""), "rdf", "3"),
        doc(&server, &ds("format=ttl"), "ttl", "3"),
        doc(&server, &ds("format=jsonld"), "jsonld", "3"),
        doc(&server, &ds("format=rdf&profile=2.1.1"), "rdf", "2.1.1"),
        doc(&server, &ds("format=ttl&profile=2.1.1"), "ttl", "2.1.1"),
        doc(&server, &ds("format=jsonld&profile=2.1.1"), "jsonld", "2.1.1"),
    ];
    let group = |docs: &[(String, &str)]| -> Value {
        docs.iter()
            .map(
                |(path, format)| json!({"url": format!("{}{path}", server.base), "format": format}),
            )
            .collect()
    };
    let isomorphic = vec![
        group(&[
            (cat("rdf"), "rdf"),
            (cat("ttl"), "ttl"),
            (cat("jsonld"), "jsonld"),
            (cat("nt"), "nt"),
            (cat("dcat_ap_3"), "rdf"),
        ]),
        group(&[
            (cat("dcat_ap_2.1.1"), "rdf"),
            (format!("{}?profile=2.1.1", cat("ttl")), "ttl"),
            (format!("{}?profile=2.1.1", cat("jsonld")), "jsonld"),
        ]),
        group(&[
            (ds("format=rdf"), "rdf"),
            (ds("format=ttl"), "ttl"),
            (ds("format=jsonld"), "jsonld"),
        ]),
    ];
    // A document that is not valid DCAT-AP (a dataset without title or description, a
    // distribution without access URL): the same checker must find its violations.
    let broken = tempfile::Builder::new().suffix(".ttl").tempfile().expect("temp");
    std::fs::write(
        broken.path(),
        "@prefix dcat: <http://www.w3.org/ns/dcat#> .\n<http://x.example/d> a dcat:Dataset ; dcat:distribution <http://x.example/d#csv> .\n<http://x.example/d#csv> a dcat:Distribution .\n",
    )
    .expect("write");
    let broken_url = format!("file://{}", broken.path().display());
    let report = check(json!({"validate": validate, "isomorphic": isomorphic})).await;
    let summary = assert_valid(&report);
    eprintln!("demo catalog:\n{}", summary.join("\n"));
    for result in report["isomorphic"].as_array().unwrap() {
        assert_eq!(result["isomorphic"], true, "{result}");
    }
    let failing = check(json!({"validate": [{"url": broken_url, "format": "ttl", "profile": "3"}, {"url": broken_url, "format": "ttl", "profile": "2.1.1"}]})).await;
    for doc in failing["validate"].as_array().unwrap() {
        for (name, result) in doc["profiles"].as_object().unwrap() {
            assert!(result["violations"].as_u64().unwrap() >= 3, "{name}: {result}");
        }
    }
    // Content types, by serialisation.
    for (name, media) in [
        ("dcat", "application/rdf+xml"),
        ("ttl", "text/turtle"),
        ("jsonld", "application/ld+json"),
        ("nt", "application/n-triples"),
        ("dcat_ap_2.1.1", "application/rdf+xml"),
    ] {
        let (status, content_type, _) = server.get(&cat(name)).await;
        assert_eq!(status, 200, "{name}");
        assert!(content_type.starts_with(media), "{name}: {content_type}");
    }
}

#[tokio::test]
async fn the_graph_carries_the_metadata_dcat_ap_asks_for() {
    let (server, key) = fixture().await;
    let (status, _, v3) = server.get(&format!("{EXPLORE}/catalog/exports/nt")).await;
    assert_eq!(status, 200);
    let (_, _, v2) = server.get(&format!("{EXPLORE}/catalog/exports/nt?profile=2.1.1")).await;
    let dataset = |id: &str| format!("<{}{EXPLORE}/catalog/datasets/{id}>", server.base);
    let has = |text: &str, s: &str, p: &str, o: &str| {
        text.lines().any(|l| l.starts_with(s) && l.contains(&format!("<{p}> {o}")))
    };
    let d = dataset(DESCRIBED);
    let dcat = "http://www.w3.org/ns/dcat#";
    let dct = "http://purl.org/dc/terms/";
    let eu = "http://publications.europa.eu/resource/authority";
    // HVD: in 3.0 only.
    assert!(
        has(
            &v3,
            &d,
            "http://data.europa.eu/r5r/hvdCategory",
            "<http://data.europa.eu/bna/c_b79e35eb>"
        ),
        "{v3}"
    );
    assert!(has(
        &v3,
        &d,
        "http://data.europa.eu/r5r/applicableLegislation",
        "<http://data.europa.eu/eli/reg_impl/2023/138/oj>"
    ));
    assert!(!v2.contains("hvdCategory"));
    // Themes, frequency, language, access rights, version info per profile.
    assert!(has(&v3, &d, &format!("{dcat}theme"), &format!("<{eu}/data-theme/TRAN>")));
    assert!(has(&v3, &d, &format!("{dct}accrualPeriodicity"), &format!("<{eu}/frequency/DAILY>")));
    assert!(has(&v3, &d, &format!("{dct}language"), &format!("<{eu}/language/FRA>")));
    assert!(has(&v3, &d, &format!("{dct}accessRights"), &format!("<{eu}/access-right/PUBLIC>")));
    assert!(has(&v3, &d, &format!("{dcat}version"), "\"1\""));
    assert!(has(&v2, &d, "http://www.w3.org/2002/07/owl#versionInfo", "\"1\""));
    assert!(has(
        &v3,
        &d,
        &format!("{dcat}landingPage"),
        &format!("<{}/explore/dataset/{DESCRIBED}/>", server.base)
    ));
    // The period, the contact and the publisher with its ADMS type.
    let start =
        format!("<{dcat}startDate> \"2020-01-01\"^^<http://www.w3.org/2001/XMLSchema#date>");
    assert!(v3.lines().any(|l| l.starts_with("_:b") && l.contains(&start)), "{v3}");
    assert!(v3.lines().any(|l| l.starts_with(&d) && l.contains(&format!("<{dct}temporal> _:b"))));
    assert!(v3.contains("<mailto:mobilite@strasbourg.example>"));
    let ems = format!("<{}/organizations/ems#organization>", server.base);
    assert!(has(&v3, &d, &format!("{dct}publisher"), &ems));
    assert!(has(
        &v3,
        &ems,
        &format!("{dct}type"),
        "<http://purl.org/adms/publishertype/LocalAuthority>"
    ));
    assert!(has(&v3, &ems, "http://xmlns.com/foaf/0.1/name", "\"Eurométropole de Strasbourg\""));
    // Licences: the list's IRI, and the custom one as a licence document.
    assert!(has(&v3, &dataset(CUSTOM), &format!("{dct}license"), &format!("<{CUSTOM_URL}>")) || v3.contains(&format!("<{CUSTOM_URL}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{dct}LicenseDocument>")), "{v3}");
    assert!(v3.contains(&format!("<{CUSTOM_URL}> <{dct}title> \"Licence de réutilisation\"")));
    // The archived dataset and its distributions are deprecated; the others completed.
    assert!(has(
        &v3,
        &dataset(ARCHIVED),
        "http://www.w3.org/ns/adms#status",
        &format!("<{eu}/distribution-status/DEPRECATED>")
    ));
    assert!(has(
        &v3,
        &format!("<{}{EXPLORE}/catalog/datasets/{DESCRIBED}#distribution-csv>", server.base),
        "http://www.w3.org/ns/adms#status",
        &format!("<{eu}/distribution-status/COMPLETED>")
    ));
    // Distributions: media type and EU file type; the API as a data service.
    let csv = format!("<{}{EXPLORE}/catalog/datasets/{DESCRIBED}#distribution-csv>", server.base);
    assert!(has(
        &v3,
        &csv,
        &format!("{dcat}mediaType"),
        "<https://www.iana.org/assignments/media-types/text/csv>"
    ));
    assert!(has(&v3, &csv, &format!("{dct}format"), &format!("<{eu}/file-type/CSV>")));
    assert!(has(
        &v3,
        &csv,
        &format!("{dcat}downloadURL"),
        &format!("<{}{EXPLORE}/catalog/datasets/{DESCRIBED}/exports/csv>", server.base)
    ));
    let api = format!("<{}{EXPLORE}>", server.base);
    assert!(has(
        &v3,
        &api,
        &format!("{dcat}endpointDescription"),
        &format!("<{}/api/openapi.json>", server.base)
    ));
    assert!(has(&v3, &api, &format!("{dcat}servesDataset"), &d));
    // Every download URL answers.
    let (status, _, _) =
        server.get(&format!("{EXPLORE}/catalog/datasets/{DESCRIBED}/exports/csv")).await;
    assert_eq!(status, 200);
    // The restricted dataset: never for anonymous callers, there for a member's key.
    assert!(!v3.contains(RESTRICTED), "anonymous catalog names {RESTRICTED}");
    let (status, _, body) =
        server.get(&format!("{EXPLORE}/catalog/datasets/{RESTRICTED}/exports/dcat")).await;
    assert_eq!(status, 404, "{body}");
    let with_key = server
        .client
        .get(format!("{}{EXPLORE}/catalog/exports/nt", server.base))
        .header("Authorization", format!("Apikey {key}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(with_key.contains(&dataset(RESTRICTED)), "a member sees {RESTRICTED}");
    // Content negotiation on a dataset's description.
    let turtle = server
        .client
        .get(format!("{}{EXPLORE}/catalog/datasets/{DESCRIBED}/exports/dcat", server.base))
        .header("Accept", "text/turtle, application/rdf+xml;q=0.5")
        .send()
        .await
        .unwrap();
    assert!(turtle.headers()["content-type"].to_str().unwrap().starts_with("text/turtle"));
}

#[tokio::test]
async fn hydra_pages_walk_every_visible_dataset_once() {
    let (server, _) = fixture().await;
    let expected = explore_ids(&server).await;
    // Every demo dataset but the restricted one.
    assert_eq!(expected.len(), kleber_server::demo::ids().len() - 1, "{expected:?}");
    let start = format!("{}{EXPLORE}/catalog/exports/ttl?limit=2", server.base);
    let report = check(json!({"walk": {"url": start, "format": "ttl"}})).await;
    let pages = report["walk"].as_array().unwrap();
    assert_eq!(pages.len(), expected.len().div_ceil(2), "{pages:?}");
    let mut seen = Vec::new();
    for page in pages {
        assert_eq!(page["total"], expected.len());
        for d in page["datasets"].as_array().unwrap() {
            seen.push(d.as_str().unwrap().rsplit('/').next().unwrap().to_owned());
        }
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a dataset on two pages: {seen:?}");
    seen.sort();
    assert_eq!(seen, expected);
    // With limit=3, fewer pages, and the profile carried from page to page.
    let start = format!("{}{EXPLORE}/catalog/exports/ttl?limit=3&profile=2.1.1", server.base);
    let report = check(json!({"walk": {"url": start, "format": "ttl"}})).await;
    let pages = report["walk"].as_array().unwrap();
    assert_eq!(pages.len(), expected.len().div_ceil(3));
    assert!(pages[1]["url"].as_str().unwrap().contains("profile=2.1"), "{pages:?}");
    // A catalog that fits one page has no paging.
    let (_, _, body) = server.get(&format!("{EXPLORE}/catalog/exports/ttl")).await;
    assert!(!body.contains("PartialCollectionView"));
    // limit=-1 (Opendatasoft's "everything"): every dataset, unpaged.
    let report = check(json!({"walk": {"url": format!("{}{EXPLORE}/catalog/exports/ttl?limit=-1", server.base), "format": "ttl"}})).await;
    assert_eq!(report["walk"].as_array().unwrap().len(), 1);
    assert_eq!(report["walk"][0]["datasets"].as_array().unwrap().len(), expected.len());
}

#[tokio::test]
async fn bad_parameters_get_precise_errors() {
    let (server, _) = fixture().await;
    for (path, needle) in [
        ("/catalog/exports/ttl?profile=9", "profile"),
        ("/catalog/exports/ttl?limit=0", "limit"),
        ("/catalog/exports/ttl?limit=1001", "limit"),
        ("/catalog/exports/ttl?offset=-1", "offset"),
        ("/catalog/exports/ttl?limit=x", "limit"),
        ("/catalog/exports/dcat_ap_3?profile=2.1.1", "profile"),
        (&format!("/catalog/datasets/{DESCRIBED}/exports/dcat?format=pdf") as &str, "format"),
        (&format!("/catalog/datasets/{DESCRIBED}/exports/dcat?profile=1") as &str, "profile"),
    ] {
        let v = server.json(&format!("{EXPLORE}{path}"), 400).await;
        assert_eq!(v["error_code"], "InvalidRESTParameterError", "{path}");
        assert!(v["message"].as_str().unwrap().contains(needle), "{path}: {v}");
    }
    let v = server.json(&format!("{EXPLORE}/catalog/datasets/nosuch/exports/dcat"), 404).await;
    assert_eq!(v["error_code"], "DatasetNotFound");
    // An HVD category outside the regulation's is refused by the management use case.
    let e = kleber_app::manage::metadata_patch(&json!({"hvd_category": "weather"})).unwrap_err();
    assert!(e.to_string().contains("meteorological"), "{e}");
}

#[tokio::test]
async fn udata_harvests_every_public_dataset() {
    let (server, _) = fixture().await;
    let url = format!("{}{EXPLORE}/catalog/exports/ttl?limit=2", server.base);
    let v = run_python("udata_harvest.py", vec![url]).await;
    assert_eq!(v["status"], "done", "{v}");
    assert_eq!(v["errors"], json!([]), "{v}");
    let items = v["items"].as_array().unwrap();
    let mut found: Vec<String> = Vec::new();
    for item in items {
        assert_eq!(item["status"], "done", "{item}");
        let id = item["remote_id"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
        let explore = server.json(&format!("{EXPLORE}/catalog/datasets/{id}"), 200).await;
        let metas = &explore["metas"]["default"];
        assert_eq!(item["title"], metas["title"], "{id}");
        assert!(!item["description"].as_str().unwrap_or_default().is_empty(), "{id}: {item}");
        // The licence's IRI: the one CKAN's package_show gives (the list's, for a known name).
        let ckan = server.json(&format!("/api/3/action/package_show?id={id}"), 200).await;
        assert_eq!(item["licenses"], json!([ckan["result"]["license_url"]]), "{id}");
        assert!(item["licenses"][0].as_str().is_some_and(|u| u.starts_with("http")), "{id}");
        let _ = metas;
        let resources = item["resources"].as_array().unwrap();
        assert!(resources.len() >= 5, "{id}: {resources:?}");
        let csv = format!("{}{EXPLORE}/catalog/datasets/{id}/exports/csv", server.base);
        assert!(
            resources.iter().any(|r| r["url"] == csv.as_str() && r["format"] == "csv"),
            "{id}: {resources:?}"
        );
        let org = explore_org(&server, &id).await;
        assert!(
            item["contact_points"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["role"] == "publisher" && c["name"] == org.as_str()),
            "{id}: {item}"
        );
        found.push(id);
    }
    found.sort();
    assert_eq!(found, explore_ids(&server).await);
    let described =
        items.iter().find(|i| i["remote_id"].as_str().unwrap().ends_with(DESCRIBED)).unwrap();
    assert!(
        described["contact_points"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["email"] == "mobilite@strasbourg.example"),
        "{described}"
    );
    assert_eq!(described["temporal"], json!(["2020-01-01", "2025-12-31"]), "{described}");
}

/// The name of the organization of dataset `id` (the CKAN API names it).
async fn explore_org(server: &TestServer, id: &str) -> String {
    let v = server.json(&format!("/api/3/action/package_show?id={id}"), 200).await;
    v["result"]["organization"]["title"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_catalog_of_every_real_file_passes_semics_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let real = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/real");
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(&real).expect("shared/data/real") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let id = path.file_stem().unwrap().to_str().unwrap().to_lowercase();
        import(dir.path(), &path, &id, ImportOptions::default());
        ids.push(id);
    }
    assert!(ids.len() >= 13, "{ids:?}");
    let server = TestServer::start(dir).await;
    let cat = |name: &str| format!("{EXPLORE}/catalog/exports/{name}");
    let mut validate = vec![
        doc(&server, &cat("ttl"), "ttl", "3"),
        doc(&server, &cat("dcat"), "rdf", "3"),
        doc(&server, &cat("jsonld"), "jsonld", "3"),
        doc(&server, &cat("dcat_ap_2.1.1"), "rdf", "2.1.1"),
        doc(&server, &format!("{}?profile=2.1.1", cat("ttl")), "ttl", "2.1.1"),
    ];
    for id in &ids {
        validate.push(doc(
            &server,
            &format!("{EXPLORE}/catalog/datasets/{id}/exports/dcat?format=ttl"),
            "ttl",
            "3",
        ));
    }
    let report = check(json!({"validate": validate, "isomorphic": [[
        {"url": format!("{}{}", server.base, cat("ttl")), "format": "ttl"},
        {"url": format!("{}{}", server.base, cat("dcat")), "format": "rdf"},
        {"url": format!("{}{}", server.base, cat("jsonld")), "format": "jsonld"},
    ]]}))
    .await;
    let summary = assert_valid(&report);
    eprintln!("real-files catalog:\n{}", summary[..7].join("\n"));
    assert_eq!(report["isomorphic"][0]["isomorphic"], true, "{}", report["isomorphic"]);
    let v = run_python("udata_harvest.py", vec![format!("{}{}?limit=5", server.base, cat("ttl"))])
        .await;
    assert_eq!(v["status"], "done", "{v}");
    let harvested: BTreeSet<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "done" && !i["resources"].as_array().unwrap().is_empty())
        .map(|i| i["remote_id"].as_str().unwrap().rsplit('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(harvested, ids.iter().cloned().collect::<BTreeSet<_>>());
}

/// The DCAT-AP section of docs/interoperability.md, whose commands are run here.
fn documented() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/interoperability.md");
    let text = std::fs::read_to_string(&path).expect("docs/interoperability.md");
    let start = text.find("## data.gouv.fr / data.europa.eu (DCAT-AP)").expect("a DCAT-AP section");
    let rest = &text[start + 3..];
    rest[..rest.find("\n## ").unwrap_or(rest.len())].to_owned()
}

#[tokio::test]
async fn the_documented_commands_work() {
    let (server, _) = fixture().await;
    let doc = documented();
    let mut asked = 0;
    for line in doc.lines().filter(|l| l.starts_with("curl \"$KLEBER")) {
        let path = line.trim_start_matches("curl \"$KLEBER").trim_end_matches('"');
        let (status, content_type, body) = server.get(path).await;
        assert_eq!(status, 200, "{line}: {body}");
        assert!(!content_type.starts_with("application/json"), "{line}: {content_type}");
        assert!(body.contains("Dataset"), "{line}");
        asked += 1;
    }
    assert!(asked >= 5, "{asked} curl commands in the DCAT-AP section");
    // The harvester command, run as written.
    let line = doc
        .lines()
        .find(|l| l.starts_with("tests/clients/.venv/bin/python tests/clients/udata_harvest.py"))
        .expect("the udata command");
    let url = line.split('"').nth(1).expect("a quoted URL").replace("$KLEBER", &server.base);
    let v = run_python("udata_harvest.py", vec![url]).await;
    assert_eq!(v["status"], "done", "{v}");
    assert_eq!(v["items"].as_array().unwrap().len(), explore_ids(&server).await.len());
}
