//! `/changes` at scale (issue 15): a dataset of [`ROWS`] generated records imported, then
//! imported again with 1% of its records changed (0.1% added, 0.1% removed, 0.8% with a
//! field changed) and a field added; the changes, paged as JSON and streamed as CSV, checked
//! against a diff this test computes from the two versions' CSV exports, by key.
//!
//! The versions' digest files (docs/versions.md#cost) are written at publish, so the first
//! diff in a fresh server reads them; a damaged one is computed again and rewritten.
//! The 1,000,000-row run (time and peak memory) is `bench/changes_cost.sh`: in a debug build
//! it takes minutes, this one tens of seconds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use kleber_app::RequestContext;
use kleber_app::import::ImportRequest;
use serde_json::Value;

use crate::common::{TestServer, app_over};

const ROWS: usize = 200_000;
const V: &str = "/api/explore/v2.1/catalog/datasets/signalements";
const COMMUNES: [&str; 5] = ["Strasbourg", "Schiltigheim", "Illkirch", "Bischheim", "Lingolsheim"];
const CATEGORIES: [&str; 4] = ["Voirie", "Propreté", "Éclairage", "Espaces verts"];

/// Version 1's line for record `i`.
fn line(i: usize, montant_delta: usize) -> String {
    // A fixed scramble of i, so values are not in key order.
    let h = i.wrapping_mul(2_654_435_761) % 1_000_003;
    format!(
        "R{i:07};{};{};{}",
        COMMUNES[h % COMMUNES.len()],
        CATEGORIES[(h / 7) % CATEGORIES.len()],
        h % 5000 + montant_delta
    )
}

/// The two versions' files: version 2 drops every 1000th record (from 7), changes the amount
/// of every 125th, adds ROWS / 1000 records and a field `etat`.
fn write_versions(dir: &Path) -> (PathBuf, PathBuf) {
    let mut v1 = String::from("id;commune;categorie;montant\n");
    let mut v2 = String::from("id;commune;categorie;montant;etat\n");
    for i in 0..ROWS {
        v1.push_str(&line(i, 0));
        v1.push('\n');
        if i % 1000 == 7 {
            continue;
        }
        let delta = usize::from(i % 125 == 0);
        v2.push_str(&line(i, delta));
        v2.push_str(if i % 2 == 0 { ";ouvert\n" } else { ";ferme\n" });
    }
    for i in ROWS..ROWS + ROWS / 1000 {
        v2.push_str(&line(i, 0));
        v2.push_str(";ouvert\n");
    }
    let (p1, p2) = (dir.join("v1.csv"), dir.join("v2.csv"));
    std::fs::write(&p1, v1).expect("v1");
    std::fs::write(&p2, v2).expect("v2");
    (p1, p2)
}

/// A CSV export by its `id` column: header, and each row's values by field.
type Table = (Vec<String>, BTreeMap<String, BTreeMap<String, String>>);

fn table(body: &str) -> Table {
    let body = body.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(body.as_bytes());
    let header: Vec<String> = reader.headers().expect("header").iter().map(str::to_owned).collect();
    let mut rows = BTreeMap::new();
    for record in reader.records() {
        let record = record.expect("row");
        let row: BTreeMap<String, String> =
            header.iter().cloned().zip(record.iter().map(str::to_owned)).collect();
        assert!(rows.insert(row["id"].clone(), row).is_none(), "an id exported twice");
    }
    (header, rows)
}

/// (change, id) → field → (old, new); added and removed records with every value.
type Diff = BTreeMap<(String, String), BTreeMap<String, (String, String)>>;

fn diff(old: &Table, new: &Table) -> Diff {
    let shared: Vec<&String> = old.0.iter().filter(|h| new.0.contains(h)).collect();
    let mut out = Diff::new();
    for (id, row) in &new.1 {
        match old.1.get(id) {
            None => {
                let values = row.iter().map(|(k, v)| (k.clone(), (String::new(), v.clone())));
                out.insert(("added".to_owned(), id.clone()), values.collect());
            }
            Some(before) => {
                let changed: BTreeMap<String, (String, String)> = shared
                    .iter()
                    .filter(|h| before[**h] != row[**h])
                    .map(|h| ((*h).clone(), (before[*h].clone(), row[*h].clone())))
                    .collect();
                if !changed.is_empty() {
                    out.insert(("changed".to_owned(), id.clone()), changed);
                }
            }
        }
    }
    for (id, row) in &old.1 {
        if !new.1.contains_key(id) {
            let values = row.iter().map(|(k, v)| (k.clone(), (v.clone(), String::new())));
            out.insert(("removed".to_owned(), id.clone()), values.collect());
        }
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Record id → `id`, from a CSV export of both columns at version `n`.
async fn record_ids(server: &TestServer, n: usize, into: &mut BTreeMap<String, String>) {
    let (status, _, body) =
        server.get(&format!("{V}/exports/csv?select=_id%2Cid&version={n}")).await;
    assert_eq!(status, 200, "{body}");
    let body = body.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(body.as_bytes());
    for record in reader.records() {
        let record = record.expect("row");
        into.insert(record[0].to_owned(), record[1].to_owned());
    }
}

/// The digest files under the data directory `dir`.
fn digest_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dataset in std::fs::read_dir(dir.join("datasets")).expect("datasets") {
        let dataset = dataset.expect("entry").path();
        for version in std::fs::read_dir(&dataset).expect("versions") {
            let file = version.expect("entry").path().join("digests.bin");
            if file.exists() {
                out.push(file);
            }
        }
    }
    out.sort();
    out
}

/// Every page of `/changes` (`limit` 1000) as a [`Diff`], ids through `ids`.
async fn json_changes(server: &TestServer, ids: &BTreeMap<String, String>) -> (Diff, Value) {
    let mut out = Diff::new();
    let mut offset = 0;
    let mut last_record_id = String::new();
    let first = loop {
        let page = server.json(&format!("{V}/changes?limit=1000&offset={offset}"), 200).await;
        let results = page["results"].as_array().expect("results");
        for row in results {
            let change = text(&row["change"]);
            let record_id = text(&row["record_id"]);
            assert!(record_id > last_record_id, "pages follow record ids in order");
            last_record_id.clone_from(&record_id);
            let id = ids.get(&record_id).cloned().expect("a known record id");
            let values: BTreeMap<String, (String, String)> = match change.as_str() {
                "changed" => row["fields"]
                    .as_object()
                    .expect("fields")
                    .iter()
                    .map(|(k, v)| (k.clone(), (text(&v["old"]), text(&v["new"]))))
                    .collect(),
                "added" => row["record"]
                    .as_object()
                    .expect("record")
                    .iter()
                    .map(|(k, v)| (k.clone(), (String::new(), text(v))))
                    .collect(),
                _ => row["record"]
                    .as_object()
                    .expect("record")
                    .iter()
                    .map(|(k, v)| (k.clone(), (text(v), String::new())))
                    .collect(),
            };
            assert!(out.insert((change, id), values).is_none(), "a change listed twice");
        }
        offset += 1000;
        if results.is_empty() || offset as u64 >= page["total_count"].as_u64().expect("total") {
            break page;
        }
    };
    (out, first)
}

/// The whole diff streamed as CSV (one line per field) as a [`Diff`].
async fn csv_changes(server: &TestServer, ids: &BTreeMap<String, String>) -> Diff {
    let (status, content_type, body) = server.get(&format!("{V}/changes?format=csv")).await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(body.as_bytes());
    let mut out = Diff::new();
    for line in reader.records() {
        let line = line.expect("line");
        let id = ids.get(&line[1]).cloned().expect("known id");
        out.entry((line[0].to_owned(), id))
            .or_default()
            .insert(line[2].to_owned(), (line[3].to_owned(), line[4].to_owned()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_diff_matches_the_exports_compared_by_key() {
    let files = tempfile::tempdir().expect("tempdir");
    let (v1, v2) = write_versions(files.path());
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app_over(dir.path());
    for path in [v1, v2] {
        let request = ImportRequest {
            path,
            dataset: "signalements".to_owned(),
            title: None,
            options: Default::default(),
            unique_id: Some("id".to_owned()),
            crash: None,
        };
        let started = Instant::now();
        app.import(&RequestContext::operator(), request).await.expect("import");
        eprintln!("import with digests and summary: {:.1} s", started.elapsed().as_secs_f64());
    }
    drop(app);
    // Both versions' digests were written at publish: 48 bytes of header, 32 a row.
    let digests = digest_files(dir.path());
    assert_eq!(digests.len(), 2, "{digests:?}");
    let sizes: Vec<u64> =
        digests.iter().map(|p| std::fs::metadata(p).expect("size").len()).collect();
    let (removed, added) = (ROWS / 1000, ROWS / 1000);
    let v2_rows = ROWS - removed + added;
    assert_eq!(sizes, [48 + 32 * ROWS as u64, 48 + 32 * v2_rows as u64]);

    let modified = |files: &[PathBuf]| -> Vec<std::time::SystemTime> {
        files
            .iter()
            .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).expect("mtime"))
            .collect()
    };
    let written = modified(&digests);

    let server = TestServer::start(dir).await;
    // The first diff of a fresh server, within the query time limit, reads the files.
    let started = Instant::now();
    let first = server.json(&format!("{V}/changes?limit=10"), 200).await;
    eprintln!("first /changes page in a fresh server: {:.2} s", started.elapsed().as_secs_f64());
    assert_eq!(modified(&digests), written, "the digest files were read, not rewritten");

    let old = table(&server.get(&format!("{V}/exports/csv?version=1")).await.2);
    let new = table(&server.get(&format!("{V}/exports/csv?version=2")).await.2);
    assert_eq!(old.1.len(), ROWS);
    let expected = diff(&old, &new);
    let count = |kind: &str| expected.keys().filter(|(k, _)| k == kind).count();
    assert_eq!(
        (count("added"), count("removed"), count("changed")),
        (ROWS / 1000, ROWS / 1000, ROWS / 125),
        "the generated versions differ as meant"
    );
    assert_eq!(first["records_added"], count("added"));
    assert_eq!(first["records_removed"], count("removed"));
    assert_eq!(first["records_changed"], count("changed"));
    assert_eq!(first["schema"]["added"], serde_json::json!(["etat"]));
    assert_eq!(first["schema"]["removed"], serde_json::json!([]));

    let mut ids = BTreeMap::new();
    record_ids(&server, 1, &mut ids).await;
    record_ids(&server, 2, &mut ids).await;
    let started = Instant::now();
    let (paged, _) = json_changes(&server, &ids).await;
    eprintln!("every JSON page of /changes: {:.2} s", started.elapsed().as_secs_f64());
    assert_eq!(paged, expected, "the JSON pages");
    let started = Instant::now();
    let streamed = csv_changes(&server, &ids).await;
    eprintln!("/changes?format=csv: {:.2} s", started.elapsed().as_secs_f64());
    assert_eq!(streamed, expected, "the CSV stream");

    // A damaged digest file is not trusted: a fresh server computes the digests again,
    // answers the same counts, and writes the file back whole.
    let dir = server.stop();
    let damaged = &digest_files(dir.path())[0];
    let whole = std::fs::read(damaged).expect("digests");
    std::fs::write(damaged, &whole[..whole.len() / 2]).expect("truncate");
    let server = TestServer::start(dir).await;
    let again = server.json(&format!("{V}/changes?limit=10"), 200).await;
    for key in ["records_added", "records_removed", "records_changed", "results"] {
        assert_eq!(again[key], first[key], "{key} after a damaged digest file");
    }
    assert_eq!(std::fs::read(damaged).expect("rewritten"), whole);
}
