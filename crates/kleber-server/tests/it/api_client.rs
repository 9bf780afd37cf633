//! The real `@opendatasoft/api-client` (npm, installed by scripts/install-test-deps.sh) against
//! a Kleber server: tests/clients/api_client.test.mjs drives it; the values it must find are
//! computed here from the real CSV files, with the `csv` crate, not by Kleber.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use kleber_ingest::ImportOptions;
use serde_json::{Value, json};

use crate::common::{TestServer, import, real};

const PARKINGS: &str = "strasbourg_occupation-parkings-temps-reel.csv";
const VELIB: &str = "paris_velib-disponibilite-en-temps-reel_utf8-bom.csv";

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

fn int(row: &csv::StringRecord, i: usize) -> i64 {
    row[i].parse().unwrap()
}

/// What the client must find, from the files themselves.
fn expectations() -> Value {
    let (headers, rows) = read_csv(PARKINGS);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (name, state, total, free) =
        (col("nom_parking"), col("Etat_descriptif"), col("Total"), col("Libre"));
    let mut names: Vec<String> = rows.iter().map(|r| r[name].to_owned()).collect();
    names.sort();
    let mut over_300: Vec<String> =
        rows.iter().filter(|r| int(r, total) > 300).map(|r| r[name].to_owned()).collect();
    over_300.sort();
    let mut by_free: Vec<(String, i64)> =
        rows.iter().map(|r| (r[name].to_owned(), int(r, free))).collect();
    by_free.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut by_state: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for r in &rows {
        let entry = by_state.entry(r[state].to_owned()).or_default();
        entry.0 += 1;
        entry.1 += int(r, free);
    }
    let open_over_300_not_zenith = rows
        .iter()
        .filter(|r| &r[state] == "Ouvert" && int(r, total) > 300 && &r[name] != "Parking Zénith")
        .count();

    let (velib_headers, velib_rows) = read_csv(VELIB);
    let commune_label = "Nom communes équipées";
    let capacity_label = "Capacité de la station";
    let vcol = |name: &str| velib_headers.iter().position(|h| h == name).unwrap();
    let (commune, capacity) = (vcol(commune_label), vcol(capacity_label));
    let mut by_commune: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for r in &velib_rows {
        let entry = by_commune.entry(r[commune].to_owned()).or_default();
        entry.0 += 1;
        entry.1 += int(r, capacity);
    }
    assert!(by_commune.len() > 10, "the Vélib file covers many communes");

    json!({
        "datasets": ["parkings", "velib"],
        "parkings": {
            // The file's headers are ASCII: their technical names are their lower case.
            "fields": headers.iter().map(|h| h.to_ascii_lowercase()).collect::<Vec<_>>(),
            "count": rows.len(),
            "names": names,
            "over_300": over_300,
            "by_free_desc": by_free.iter().map(|(n, f)| json!([n, f])).collect::<Vec<_>>(),
            "by_state": by_state.iter().map(|(k, (n, f))| (k.clone(), json!([n, f]))).collect::<serde_json::Map<_, _>>(),
            "open_over_300_not_zenith": open_over_300_not_zenith,
        },
        "velib": {
            "commune_label": commune_label,
            "capacity_label": capacity_label,
            "by_commune": by_commune.iter().map(|(k, (n, c))| (k.clone(), json!([n, c]))).collect::<serde_json::Map<_, _>>(),
        },
    })
}

#[tokio::test]
async fn the_real_opendatasoft_api_client_reads_kleber() {
    let clients = clients_dir();
    let module = clients.join("node_modules/@opendatasoft/api-client/package.json");
    assert!(
        module.exists(),
        "@opendatasoft/api-client is missing from {}: run scripts/install-test-deps.sh",
        clients.join("node_modules").display()
    );
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &real(PARKINGS), "parkings", ImportOptions::default());
    import(dir.path(), &real(VELIB), "velib", ImportOptions::default());
    let scratch = tempfile::tempdir().unwrap();
    let expected = scratch.path().join("expectations.json");
    let server = TestServer::start(dir).await;
    // A real key (of a user in no organization) for the client's ApiKey header.
    let mut expectations = expectations();
    expectations["api_key"] = json!(server.api_key());
    std::fs::write(&expected, expectations.to_string()).unwrap();

    let base = server.base.clone();
    let script = clients.join("api_client.test.mjs");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node").arg(&script).arg(&base).arg(&expected).output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("cannot run node ({e}): run scripts/install-test-deps.sh"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "api_client.test.mjs failed:\n{stdout}\n{stderr}");
    // Every check ran and passed.
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
}
