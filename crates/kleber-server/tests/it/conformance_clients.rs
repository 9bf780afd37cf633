//! The exact request strings real clients send, built by the clients themselves and sent to a
//! real server: the npm @opendatasoft/api-client query builder (every Query helper, ODSQL
//! helper and export format it names; tests/clients/conformance_clients.mjs), odsclient
//! (tests/clients/conformance_odsclient.py) and the portal's own pages (every API URL their
//! links, scripts and examples hold). Expected values are computed here from the real files.
//! A request a client can build that Kleber does not serve is a known difference
//! (tests/data/conformance/differences.toml, source `clients`), which must still be found.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, NaiveDate};
use kleber_ingest::ImportOptions;
use serde_json::{Value, json};

use crate::common::{TestServer, import, real};
use crate::conformance::check_listed;

const PARKINGS: &str = "strasbourg_occupation-parkings-temps-reel.csv";
const VELIB: &str = "paris_velib-disponibilite-en-temps-reel_utf8-bom.csv";
const TRAFIC: &str = "strasbourg_trafic-temps-reel_lines.geojson";

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients")
}

fn read_csv(name: &str) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_path(real(name)).unwrap();
    let headers =
        reader.headers().unwrap().iter().map(|h| h.trim_start_matches('\u{feff}').to_owned());
    let headers = headers.collect();
    (headers, reader.records().map(Result::unwrap).collect())
}

/// Column `name` of `headers`.
fn col(headers: &[String], name: &str) -> usize {
    headers.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"))
}

/// What the clients must find, from the files (not from Kleber).
fn expectations() -> Value {
    let (h, rows) = read_csv(PARKINGS);
    let (name, etat, state, total, free) = (
        col(&h, "nom_parking"),
        col(&h, "Etat"),
        col(&h, "Etat_descriptif"),
        col(&h, "Total"),
        col(&h, "Libre"),
    );
    let int = |r: &csv::StringRecord, i: usize| r[i].parse::<i64>().unwrap();
    let count = |f: &dyn Fn(&csv::StringRecord) -> bool| rows.iter().filter(|r| f(r)).count();
    let open = |r: &csv::StringRecord| &r[state] == "Ouvert";
    let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        *by_state.entry(r[state].to_owned()).or_default() += 1;
    }
    let mut names: Vec<String> = rows.iter().map(|r| r[name].to_owned()).collect();
    names.sort();

    let (vh, vrows) = read_csv(VELIB);
    let (station, updated) =
        (col(&vh, "Identifiant station"), col(&vh, "Actualisation de la donnée"));
    let first = vrows.iter().min_by_key(|r| r[station].parse::<i64>().unwrap()).unwrap();
    let paris: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
    let first_paris = DateTime::parse_from_rfc3339(&first[updated]).unwrap().with_timezone(&paris);
    let instants: Vec<DateTime<chrono::FixedOffset>> =
        vrows.iter().map(|r| DateTime::parse_from_rfc3339(&r[updated]).unwrap()).collect();
    let last_date: NaiveDate = instants.iter().map(|d| d.naive_utc().date()).max().unwrap();
    let from_last = last_date.and_hms_opt(0, 0, 0).unwrap().and_utc();
    let count_from = instants.iter().filter(|d| d.with_timezone(&chrono::Utc) >= from_last).count();
    assert!(count_from > 0 && count_from < vrows.len(), "the date filter selects a part");

    json!({
        "parkings": {
            "count": rows.len(),
            "over_300": count(&|r| int(r, total) > 300),
            "by_state": by_state,
            "open_over_300": count(&|r| open(r) && int(r, total) > 300),
            "open_or_over_300": count(&|r| open(r) || int(r, total) > 300),
            "name_has_gare": count(&|r| r[name].to_lowercase().contains("gare")),
            "starts_parking": count(&|r| r[name].starts_with("Parking")),
            "names": names,
            "open_etat_1": count(&|r| open(r) && &r[etat] == "1"),
            "open_etat_1_over_300": count(&|r| open(r) && &r[etat] == "1" && int(r, total) > 300),
            "used_first": int(&rows[0], total) - int(&rows[0], free),
            "labels": h,
        },
        "velib": {
            "datetime_field": "actualisation_de_la_donnee",
            "stationcode_field": "identifiant_station",
            "first_datetime_paris": first_paris.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            "first_date": last_date.format("%Y-%m-%d").to_string(),
            "count_from_first_date": count_from,
            "count": vrows.len(),
        },
        "trafic_count": 452,
    })
}

/// The portal of the client tests: the parkings, Vélib' and traffic files.
async fn server() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &real(PARKINGS), "parkings", ImportOptions::default());
    import(dir.path(), &real(VELIB), "velib", ImportOptions::default());
    import(dir.path(), &real(TRAFIC), "trafic", ImportOptions::default());
    TestServer::start(dir).await
}

/// What the api-client can ask that Kleber does not serve: case name → difference id.
fn api_client_known() -> BTreeMap<String, &'static str> {
    let mut known = BTreeMap::new();
    known.insert("catalog assets()".to_owned(), "catalog-assets");
    known.insert("dataset export mvt".to_owned(), "dataset-export-mvt");
    known.insert("dataset export ical".to_owned(), "dataset-export-ical");
    for f in [
        "dcat-ap-ch",
        "dcat-ap-it",
        "dcat-ap-de",
        "dcat-ap-se",
        "dcat-ap-sp",
        "dcat-ap-v1",
        "dcat_ap_benap",
    ] {
        known.insert(format!("catalog export {f}"), "catalog-export-dcat-national");
    }
    known
}

#[tokio::test]
async fn every_request_the_real_clients_build_is_answered() {
    let clients = clients_dir();
    assert!(
        clients.join("node_modules/@opendatasoft/api-client/package.json").exists(),
        "@opendatasoft/api-client is missing: run scripts/install-test-deps.sh"
    );
    let python = clients.join(".venv/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/install-test-deps.sh", python.display());
    let expected = expectations();
    let scratch = tempfile::tempdir().unwrap();
    let expectations_path = scratch.path().join("expectations.json");
    std::fs::write(&expectations_path, expected.to_string()).unwrap();
    let server = server().await;
    let mut held = BTreeSet::new();
    let mut failures = Vec::new();

    // @opendatasoft/api-client.
    let (base, script) = (server.base.clone(), clients.join("conformance_clients.mjs"));
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node").arg(&script).arg(&base).arg(&expectations_path).output()
    })
    .await
    .unwrap()
    .expect("run node (scripts/install-test-deps.sh)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let known = api_client_known();
    let mut api_cases = 0;
    for line in stdout.lines() {
        let case: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        api_cases += 1;
        let name = case["name"].as_str().unwrap();
        let url = case["url"].as_str().unwrap();
        assert!(url.starts_with(&server.base), "{name}: the library sent {url}");
        let ok = case["ok"].as_bool().unwrap();
        match (known.get(name), ok) {
            (None, true) => {}
            (None, false) => {
                failures.push(format!("api-client {name}\n    GET {url}\n    {}", case["detail"]))
            }
            (Some(id), false) => {
                held.insert(*id);
            }
            (Some(id), true) => failures.push(format!(
                "api-client {name}: known difference {id} is gone, remove it from differences.toml"
            )),
        }
    }
    assert!(api_cases >= 60, "every api-client case ran: {api_cases}");

    // odsclient.
    let (base, script) = (server.base.clone(), clients.join("conformance_odsclient.py"));
    let output =
        tokio::task::spawn_blocking(move || Command::new(python).arg(script).arg(base).output())
            .await
            .unwrap()
            .expect("run python");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let v: Value = serde_json::from_slice(&output.stdout).expect("odsclient script output");
    let cases: BTreeMap<String, Value> = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_owned(), c.clone()))
        .collect();
    for (name, c) in &cases {
        if c["ok"] != json!(true) {
            failures.push(format!("odsclient {name}\n    GET {}\n    {}", c["url"], c["detail"]));
        }
    }
    let p = &expected["parkings"];
    let result = |name: &str| cases[name]["result"].clone();
    let technical: Vec<String> = p["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_ascii_lowercase())
        .collect();
    let checks = [
        (
            "csv, labels (defaults)",
            result("csv, labels (defaults)")["header"].clone(),
            p["labels"].clone(),
        ),
        (
            "csv, labels count",
            result("csv, labels (defaults)")["count"].clone(),
            p["count"].clone(),
        ),
        (
            "csv, technical names",
            result("csv, technical names")["header"].clone(),
            json!(technical),
        ),
        (
            "csv, comma separator",
            result("csv, comma separator")["header"].clone(),
            p["labels"].clone(),
        ),
        (
            "csv, timezone",
            result("csv, timezone")["count"].clone(),
            expected["velib"]["count"].clone(),
        ),
        (
            "csv, q option",
            result("csv, q option")["count"].clone(),
            p["by_state"]["Ouvert"].clone(),
        ),
        (
            "csv, refine option",
            result("csv, refine option")["count"].clone(),
            p["by_state"]["Ouvert"].clone(),
        ),
        (
            "csv, exclude option",
            result("csv, exclude option")["count"].clone(),
            json!(p["count"].as_u64().unwrap() - p["by_state"]["Ouvert"].as_u64().unwrap()),
        ),
        ("json", result("json")["count"].clone(), p["count"].clone()),
        (
            "json keys",
            result("json")["keys"].clone(),
            json!(["datasetid", "recordid", "fields", "record_timestamp"]),
        ),
        (
            "geojson",
            result("geojson"),
            json!({"type": "FeatureCollection", "count": expected["trafic_count"]}),
        ),
    ];
    for (name, got, want) in checks {
        if got != want {
            failures.push(format!("odsclient {name}: got {got}, expected {want}"));
        }
    }
    let tz_first = result("csv, timezone")["first"].clone();
    if !tz_first.to_string().contains("+02:00") {
        failures.push(format!("odsclient csv, timezone: no Paris offset in {tz_first}"));
    }

    // The portal's own pages: every API or download URL they hold is answered.
    let mut portal_urls = BTreeSet::new();
    // Filtered pages too: their links, map data and exports carry the filters.
    let filters = ["", "?q=Paris", "?refine.nom_communes_equipees=Paris&q=gare"];
    for id in ["parkings", "velib", "trafic"] {
        for (tab, filter) in ["", "table/", "map/", "export/", "api/"]
            .into_iter()
            .flat_map(|tab| filters.map(|f| (tab, f)))
        {
            if id != "velib" && !filter.is_empty() {
                continue;
            }
            let (status, _, body) =
                server.get(&format!("/explore/dataset/{id}/{tab}{filter}")).await;
            if id == "parkings" && tab == "map/" {
                // No geo field, no map tab.
                assert_eq!(status, 404, "/explore/dataset/{id}/{tab}{filter}");
                continue;
            }
            assert_eq!(status, 200, "/explore/dataset/{id}/{tab}{filter}");
            portal_urls.extend(api_urls(&body, &server.base));
        }
    }
    assert!(portal_urls.len() >= 20, "the pages hold API URLs: {portal_urls:?}");
    for url in &portal_urls {
        let (status, _, body) = server.get(url).await;
        if status != 200 {
            failures.push(format!("portal GET {url}: {status} {}", &body[..body.len().min(200)]));
        }
    }

    eprintln!(
        "api-client: {api_cases} requests ({} known differences); odsclient: {} requests; \
         portal: {} URLs",
        held.len(),
        cases.len(),
        portal_urls.len()
    );
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n"));
    check_listed("clients", &held);
}

/// Every URL of `/api/...` or a legacy download in an HTML page (links, `data-url`, code
/// examples), entities decoded, as a path on this server.
fn api_urls(html: &str, base: &str) -> Vec<String> {
    let text = html.replace(base, "");
    let mut out = Vec::new();
    for start in ["/api/", "/explore/dataset/"] {
        let mut rest = text.as_str();
        while let Some(i) = rest.find(start) {
            let tail = &rest[i..];
            // A URL starts the attribute or text, not the middle of a path (`/dataset/x/api/`).
            let inside = rest[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.'));
            if inside {
                rest = &tail[1..];
                continue;
            }
            let end = tail.find(['"', '<', '>', ' ', '\n', '\'', '`']).unwrap_or(tail.len());
            let mut url = tail[..end].to_owned();
            for entity in ["&#39;", "&#34;", "&quot;"] {
                if let Some(j) = url.find(entity) {
                    url.truncate(j);
                }
            }
            let url = url.replace("&#38;", "&").replace("&amp;", "&");
            let is_api = url.starts_with("/api/") || url.contains("/download");
            if is_api && url.len() > 5 {
                out.push(url);
            }
            rest = &tail[end.max(1)..];
        }
    }
    out
}
