//! Versions you can query (docs/versions.md): a dataset imported three times with changes
//! (a value changed, records added and removed, then a field added and one removed), asked
//! through every API at each version; the changes between versions checked against a diff
//! computed here from the two versions' CSV exports; the versions list, bad `version`,
//! `from` and `to`, pruned versions, today's access rule over old versions, and archived
//! datasets.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use kleber_app::RequestContext;
use kleber_app::import::ImportRequest;
use kleber_store::{AccessRule, Lifecycle, Store};
use serde_json::Value;

use crate::common::{TestServer, app_over};

const V: &str = "/api/explore/v2.1/catalog/datasets/velos";

/// The three versions' files: `code` is the unique id.
const VERSIONS: [&str; 3] = [
    "code;nom;places\nA;Gare;120\nB;Halles;80\nC;Austerlitz;50\nD;Broglie;200\nE;Neudorf;30\n",
    "code;nom;places\nA;Gare Centrale;120\nB;Halles;85\nD;Broglie;200\nE;Neudorf;30\nF;Etoile;60\n",
    "code;places;etat\nA;120;ouvert\nB;85;ouvert\nD;190;ferme\nF;60;ouvert\nG;10;ouvert\n",
];

/// A table read from `;`-separated text: header, and rows by the `code` column.
#[derive(Debug, Clone, PartialEq)]
struct Table {
    header: Vec<String>,
    rows: BTreeMap<String, BTreeMap<String, String>>,
}

fn table(text: &str) -> Table {
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().expect("header").iter().map(str::to_owned).collect();
    let mut rows = BTreeMap::new();
    for record in reader.records() {
        let record = record.expect("row");
        let row: BTreeMap<String, String> =
            header.iter().cloned().zip(record.iter().map(str::to_owned)).collect();
        rows.insert(row["code"].clone(), row);
    }
    Table { header, rows }
}

/// One change as the test computes it: (kind, code) → changed fields (old, new), or the
/// record's values for added/removed.
type Diff = BTreeMap<(String, String), BTreeMap<String, (String, String)>>;

/// The changes from `old` to `new` by `code`, over the columns both have.
fn diff(old: &Table, new: &Table) -> Diff {
    let shared: Vec<&String> = old.header.iter().filter(|h| new.header.contains(h)).collect();
    let mut out = Diff::new();
    for (code, row) in &new.rows {
        match old.rows.get(code) {
            None => {
                let values = row.iter().map(|(k, v)| (k.clone(), (String::new(), v.clone())));
                out.insert(("added".to_owned(), code.clone()), values.collect());
            }
            Some(before) => {
                let changed: BTreeMap<String, (String, String)> = shared
                    .iter()
                    .filter(|h| before[**h] != row[**h])
                    .map(|h| ((*h).clone(), (before[*h].clone(), row[*h].clone())))
                    .collect();
                if !changed.is_empty() {
                    out.insert(("changed".to_owned(), code.clone()), changed);
                }
            }
        }
    }
    for (code, row) in &old.rows {
        if !new.rows.contains_key(code) {
            let values = row.iter().map(|(k, v)| (k.clone(), (v.clone(), String::new())));
            out.insert(("removed".to_owned(), code.clone()), values.collect());
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

async fn import_versions(dir: &Path) {
    let files = tempfile::tempdir().expect("tempdir");
    let app = app_over(dir);
    for (i, csv) in VERSIONS.iter().enumerate() {
        let path = files.path().join(format!("velos-{}.csv", i + 1));
        std::fs::write(&path, csv).expect("csv");
        let request = ImportRequest {
            path,
            dataset: "velos".to_owned(),
            title: None,
            options: Default::default(),
            unique_id: Some("code".to_owned()),
            crash: None,
        };
        app.import(&RequestContext::operator(), request).await.expect("import");
    }
}

async fn server() -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    import_versions(dir.path()).await;
    TestServer::start(dir).await
}

async fn get_etag(server: &TestServer, path: &str) -> (u16, String, String) {
    let response = server.client.get(format!("{}{path}", server.base)).send().await.expect("get");
    let status = response.status().as_u16();
    let etag =
        response.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, etag, response.text().await.expect("body"))
}

/// Record id → code, from the v1 search API at version `n`.
async fn ids(server: &TestServer, n: usize) -> BTreeMap<String, String> {
    let v1 = server
        .json(&format!("/api/records/1.0/search?dataset=velos&rows=100&version={n}"), 200)
        .await;
    v1["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| (text(&r["recordid"]), text(&r["fields"]["code"])))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_and_export_answers_each_versions_data() {
    let server = server().await;
    let mut tags = BTreeSet::new();
    for (i, csv) in VERSIONS.iter().enumerate() {
        let n = i + 1;
        let expected = table(csv);
        let codes: Vec<String> = expected.rows.keys().cloned().collect();
        // v2.1 records.
        let records =
            server.records("velos", &format!("version={n}&order_by=code&limit=100")).await;
        let got: Vec<BTreeMap<String, String>> = records
            .iter()
            .map(|r| {
                r.as_object().expect("record").iter().map(|(k, v)| (k.clone(), text(v))).collect()
            })
            .collect();
        let want: Vec<BTreeMap<String, String>> = expected.rows.values().cloned().collect();
        assert_eq!(got, want, "records of version {n}");
        // The dataset object: its fields and count.
        let object = server.json(&format!("{V}?version={n}"), 200).await;
        let names: Vec<String> =
            object["fields"].as_array().expect("fields").iter().map(|f| text(&f["name"])).collect();
        assert_eq!(names, expected.header, "fields of version {n}");
        assert_eq!(object["metas"]["default"]["records_count"], expected.rows.len());
        // Facets.
        let facets = server.json(&format!("{V}/facets?facet=code&version={n}"), 200).await;
        let mut values: Vec<String> = facets["facets"][0]["facets"]
            .as_array()
            .expect("facet values")
            .iter()
            .map(|f| text(&f["value"]))
            .collect();
        values.sort();
        assert_eq!(values, codes, "facets of version {n}");
        // Every export path: v2.1, v2.0, the v1 download and the legacy download URL.
        for path in [
            format!("{V}/exports/csv?version={n}"),
            format!("/api/explore/v2.0/catalog/datasets/velos/exports/csv?version={n}"),
            format!("/api/records/1.0/download?dataset=velos&format=csv&version={n}"),
            format!("/explore/dataset/velos/download?format=csv&version={n}"),
        ] {
            let (status, _, body) = server.get(&path).await;
            assert_eq!(status, 200, "{path}: {body}");
            let got = table(body.trim_start_matches('\u{feff}'));
            assert_eq!(got, expected, "{path}");
        }
        // v2.0 records and v1 search.
        let v20 = server
            .json(
                &format!("/api/explore/v2.0/catalog/datasets/velos/records?version={n}&rows=100"),
                200,
            )
            .await;
        assert_eq!(v20["total_count"], expected.rows.len(), "v2.0 at version {n}");
        let by_id = ids(&server, n).await;
        assert_eq!(
            by_id.values().cloned().collect::<BTreeSet<_>>(),
            codes.iter().cloned().collect()
        );
        // One record, by id, at this version.
        for (id, code) in &by_id {
            let record = server.json(&format!("{V}/records/{id}?version={n}"), 200).await;
            assert_eq!(text(&record["code"]), *code);
            assert_eq!(
                record.as_object().expect("record").len(),
                expected.header.len(),
                "one record at version {n}"
            );
        }
        // ETags: stable within a version, different across versions.
        let path = format!("{V}/records?version={n}&limit=100");
        let (_, first, _) = get_etag(&server, &path).await;
        let (_, again, _) = get_etag(&server, &path).await;
        assert!(!first.is_empty());
        assert_eq!(first, again, "ETag of version {n} is stable");
        let object_path = format!("{V}?version={n}");
        let (_, object_tag, _) = get_etag(&server, &object_path).await;
        tags.insert(first);
        tags.insert(object_tag);
    }
    assert_eq!(tags.len(), 6, "every version and route has its own ETag: {tags:?}");
    // A record of version 1 only is found at version 1, not today.
    let v1 = ids(&server, 1).await;
    let gone = v1.iter().find(|(_, code)| *code == "C").map(|(id, _)| id.clone()).expect("C");
    server.json(&format!("{V}/records/{gone}?version=1"), 200).await;
    let missing = server.json(&format!("{V}/records/{gone}"), 404).await;
    assert_eq!(missing["error_code"], "RecordNotFound");
    // Without `version`: the current one (3).
    let current = server.records("velos", "order_by=code&limit=100").await;
    assert_eq!(current.len(), 5);
    assert!(current.iter().all(|r| r.get("etat").is_some() && r.get("nom").is_none()));
}

/// The text a reader finds in an export body: an XLSX workbook's cells, a zip's entries
/// (the Data Package), the body itself for text formats; `None` for Parquet (compressed
/// columns).
fn export_text(bytes: &[u8]) -> Option<String> {
    use calamine::{Reader, Xlsx};
    use std::io::Read;
    if bytes.starts_with(b"PAR1") {
        return None;
    }
    if bytes.starts_with(b"PK") {
        if let Ok(mut book) = Xlsx::new(std::io::Cursor::new(bytes.to_vec())) {
            let sheet = book.sheet_names().first().cloned().expect("a sheet");
            let range = book.worksheet_range(&sheet).expect("the first sheet");
            let cells: Vec<String> = range.rows().flatten().map(ToString::to_string).collect();
            return Some(cells.join("\n"));
        }
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("zip");
        let mut all = String::new();
        for i in 0..archive.len() {
            archive.by_index(i).expect("entry").read_to_string(&mut all).expect("text entry");
        }
        return Some(all);
    }
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// Every export format a dataset without geometry offers (v2.1 and v2.0) answers at each
/// version with that version's records: the values only one version has are in its export and
/// in no other's; each has a strong `ETag` of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_export_format_answers_each_versions_data() {
    let server = server().await;
    // Values found in one version only: C's name, F's name, and D's state.
    let only = ["Austerlitz", "Etoile", "ferme"];
    let formats = kleber_export::ExportFormat::ALL.into_iter().filter(|f| !f.needs_geometry());
    for format in formats {
        let name = format.name();
        let mut bodies = BTreeSet::new();
        let mut tags = BTreeSet::new();
        for n in 1..=3 {
            for api in ["v2.1", "v2.0"] {
                let path =
                    format!("/api/explore/{api}/catalog/datasets/velos/exports/{name}?version={n}");
                let response =
                    server.client.get(format!("{}{path}", server.base)).send().await.expect("get");
                assert_eq!(response.status().as_u16(), 200, "{path}");
                let tag = response
                    .headers()
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                assert!(tag.starts_with('"'), "{path}: strong tag expected, got {tag:?}");
                let bytes = response.bytes().await.expect("body").to_vec();
                if let Some(text) = export_text(&bytes) {
                    for (i, value) in only.iter().enumerate() {
                        assert_eq!(text.contains(value), i + 1 == n, "{path}: {value} in {text}");
                    }
                }
                if api == "v2.1" {
                    tags.insert(tag);
                    bodies.insert(bytes);
                }
            }
        }
        assert_eq!(bodies.len(), 3, "{name}: one body per version");
        assert_eq!(tags.len(), 3, "{name}: one tag per version");
    }
    // The v1 dataset and the v2.0 object at a version: that version's fields.
    for (n, expected) in [(1, "nom"), (3, "etat")] {
        let v20 = server
            .json(&format!("/api/explore/v2.0/catalog/datasets/velos?version={n}"), 200)
            .await;
        assert!(v20.to_string().contains(&format!("\"{expected}\"")), "v2.0 at {n}: {v20}");
        let v1 = server.json(&format!("/api/datasets/1.0/velos/?version={n}"), 200).await;
        assert!(v1.to_string().contains(&format!("\"{expected}\"")), "v1 at {n}: {v1}");
        let facets = server
            .json(
                &format!("/api/explore/v2.0/catalog/datasets/velos/facets?facet=code&version={n}"),
                200,
            )
            .await;
        let count = table(VERSIONS[n - 1]).rows.len();
        assert_eq!(facets.to_string().matches("\"count\":1").count(), count, "{facets}");
    }
}

/// The `/changes` answer (every page, `limit` 2) as a [`Diff`], record ids mapped to codes.
async fn api_changes(
    server: &TestServer,
    query: &str,
    codes: &BTreeMap<String, String>,
) -> (Diff, Value) {
    let mut out = Diff::new();
    let mut offset = 0;
    let first = loop {
        let page = server.json(&format!("{V}/changes?{query}&limit=2&offset={offset}"), 200).await;
        for row in page["results"].as_array().expect("results") {
            let change = text(&row["change"]);
            let code = codes.get(&text(&row["record_id"])).cloned().expect("a known record id");
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
            assert!(out.insert((change, code), values).is_none(), "a change listed twice");
        }
        let total = page["total_count"].as_u64().expect("total");
        offset += 2;
        if offset as u64 >= total {
            break page;
        }
    };
    (out, first)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_match_a_diff_of_the_csv_exports() {
    let server = server().await;
    let mut codes = BTreeMap::new();
    for n in 1..=3 {
        codes.extend(ids(&server, n).await);
    }
    for (from, to, query) in
        [(1, 2, "from=1&to=2"), (2, 3, "from=2&to=3"), (1, 3, "from=1&to=3"), (2, 3, "x=1")]
    {
        let export = |n: usize| format!("{V}/exports/csv?version={n}");
        let old = table(server.get(&export(from)).await.2.trim_start_matches('\u{feff}'));
        let new = table(server.get(&export(to)).await.2.trim_start_matches('\u{feff}'));
        let expected = diff(&old, &new);
        let (got, page) = api_changes(&server, query, &codes).await;
        assert_eq!(got, expected, "changes {query}");
        assert_eq!(
            (page["from"].as_u64(), page["to"].as_u64()),
            (Some(from as u64), Some(to as u64))
        );
        let count = |kind: &str| expected.keys().filter(|(k, _)| k == kind).count();
        assert_eq!(page["records_added"], count("added"));
        assert_eq!(page["records_removed"], count("removed"));
        assert_eq!(page["records_changed"], count("changed"));
        // Schema changes, from the exports' headers.
        let only = |a: &Table, b: &Table| -> Vec<String> {
            a.header.iter().filter(|h| !b.header.contains(h)).cloned().collect()
        };
        let names =
            |v: &Value| -> Vec<String> { v.as_array().expect("names").iter().map(text).collect() };
        assert_eq!(names(&page["schema"]["added"]), only(&new, &old), "fields added {query}");
        assert_eq!(names(&page["schema"]["removed"]), only(&old, &new), "fields removed {query}");
        // The same changes as CSV, one line per field.
        let (status, content_type, body) =
            server.get(&format!("{V}/changes?{query}&format=csv")).await;
        assert_eq!(status, 200, "{body}");
        assert!(content_type.starts_with("text/csv"), "{content_type}");
        let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(body.as_bytes());
        assert_eq!(
            reader.headers().expect("header").iter().collect::<Vec<_>>(),
            ["change", "record_id", "field", "old_value", "new_value"]
        );
        let mut from_csv = Diff::new();
        for line in reader.records() {
            let line = line.expect("line");
            let code = codes.get(&line[1]).cloned().expect("known id");
            from_csv
                .entry((line[0].to_owned(), code))
                .or_default()
                .insert(line[2].to_owned(), (line[3].to_owned(), line[4].to_owned()));
        }
        assert_eq!(from_csv, expected, "CSV changes {query}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_versions_list_summarises_each_version() {
    let server = server().await;
    let list = server.json(&format!("{V}/versions"), 200).await;
    assert_eq!(list["total_count"], 3);
    let results = list["results"].as_array().expect("results");
    let numbers: Vec<u64> = results.iter().map(|v| v["version"].as_u64().expect("n")).collect();
    assert_eq!(numbers, [3, 2, 1]);
    for (item, i) in results.iter().zip([2usize, 1, 0]) {
        let expected = table(VERSIONS[i]);
        assert_eq!(item["records_count"], expected.rows.len());
        assert_eq!(item["source"], format!("velos-{}.csv", i + 1));
        assert_eq!(item["current"], i == 2);
        assert_eq!(item["pruned"], false);
        let summary = &item["summary"];
        let d = if i == 0 {
            expected
                .rows
                .keys()
                .map(|c| (("added".to_owned(), c.clone()), BTreeMap::new()))
                .collect()
        } else {
            diff(&table(VERSIONS[i - 1]), &expected)
        };
        let count = |kind: &str| d.keys().filter(|(k, _)| k == kind).count();
        assert_eq!(summary["records_added"], count("added"), "version {}", i + 1);
        assert_eq!(summary["records_removed"], count("removed"), "version {}", i + 1);
        assert_eq!(summary["records_changed"], count("changed"), "version {}", i + 1);
    }
    let changed: Vec<&str> = results[0]["fields_changed"]
        .as_array()
        .expect("names")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(changed, ["etat", "nom"]);
    // Every item has the issue's fields: a publication time (RFC 3339, newest first) and a
    // comment (none is recorded yet: null).
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> = results
        .iter()
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(v["published_at"].as_str().expect("published_at"))
                .expect("RFC 3339")
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
    assert!(results.iter().all(|v| v.get("comment") == Some(&Value::Null)), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_versions_are_refused_with_the_versions_that_exist() {
    let server = server().await;
    for (path, status, code) in [
        (format!("{V}/records?version=abc"), 400, "InvalidRESTParameterError"),
        (format!("{V}/records?version=0"), 400, "InvalidRESTParameterError"),
        (format!("{V}/records?version=-2"), 400, "InvalidRESTParameterError"),
        (format!("{V}/exports/csv?version=9"), 404, "VersionNotFound"),
        (format!("{V}?version=9"), 404, "VersionNotFound"),
        (format!("{V}/changes?from=9"), 404, "VersionNotFound"),
        (format!("{V}/changes?to=x"), 400, "InvalidRESTParameterError"),
        (format!("{V}/changes?from=1&format=xml"), 400, "InvalidRESTParameterError"),
        (format!("{V}/changes?from=1&limit=5000"), 400, "InvalidRESTParameterError"),
        (format!("{V}/changes?from=1&limit=-1"), 400, "InvalidRESTParameterError"),
        (format!("{V}/changes?to=1"), 400, "InvalidRESTParameterError"),
        (
            "/api/explore/v2.1/catalog/datasets/nope/records?version=1".to_owned(),
            404,
            "DatasetNotFound",
        ),
    ] {
        let body = server.json(&path, status).await;
        assert_eq!(body["error_code"], code, "{path}: {body}");
        if code == "VersionNotFound" {
            assert!(text(&body["message"]).contains("3, 2, 1"), "{path}: {body}");
        }
    }
    let (status, _, body) = server.get("/api/records/1.0/search?dataset=velos&version=9").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("3, 2, 1"), "{body}");
    // A pruned version: its data gone, its entry kept.
    let dir = server.stop();
    let store = Store::open(dir.path()).expect("store");
    let uid = store.get_dataset("velos").expect("read").expect("velos").uid;
    std::fs::remove_file(dir.path().join("datasets").join(&uid).join("v1").join("data.parquet"))
        .expect("prune");
    drop(store);
    let server = TestServer::start(dir).await;
    let body = server.json(&format!("{V}/records?version=1"), 404).await;
    assert_eq!(body["error_code"], "VersionNotFound");
    assert!(text(&body["message"]).contains("pruned"), "{body}");
    let body = server.json(&format!("{V}/changes?from=1&to=2"), 404).await;
    assert!(text(&body["message"]).contains("pruned"), "{body}");
    let list = server.json(&format!("{V}/versions"), 200).await;
    let oldest = &list["results"][2];
    assert_eq!(oldest["version"], 1);
    assert_eq!(oldest["pruned"], true);
    assert_eq!(oldest["records_count"], 5);
    assert!(text(&oldest["note"]).contains("data is gone"), "{oldest}");
    server.json(&format!("{V}/records?version=2"), 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn todays_access_rule_applies_to_old_versions() {
    let dir = tempfile::tempdir().expect("tempdir");
    import_versions(dir.path()).await;
    let store = Store::open(dir.path()).expect("store");
    let rule = AccessRule { hidden: vec!["places".to_owned()], condition: None };
    let actor = kleber_app::accounts::operator();
    store.account_change(|c| c.set_rule(&actor, "velos", Some(&rule))).expect("rule");
    drop(store);
    let server = TestServer::start(dir).await;
    for n in 1..=3 {
        let records = server.records("velos", &format!("version={n}&limit=100")).await;
        assert_eq!(records.len(), table(VERSIONS[n - 1]).rows.len());
        assert!(records.iter().all(|r| r.get("places").is_none()), "version {n}: {records:?}");
        let refused = server.json(&format!("{V}/records?version={n}&select=places"), 400).await;
        assert_eq!(refused["error_code"], "ODSQLError");
        let (_, _, csv) = server.get(&format!("{V}/exports/csv?version={n}")).await;
        assert!(!csv.contains("places") && !csv.contains("120"), "version {n}: {csv}");
    }
    // The changes outsiders see name no hidden field or value: from 1 to 2, only A's name.
    let page = server.json(&format!("{V}/changes?from=1&to=3&limit=100"), 200).await;
    let body = page.to_string();
    assert!(!body.contains("places") && !body.contains("190"), "{body}");
    assert_eq!(page["records_changed"], 0, "{page}");
    let page = server.json(&format!("{V}/changes?from=1&to=2&limit=100"), 200).await;
    assert_eq!(page["records_changed"], 1, "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archived_datasets_stay_readable_in_every_version_and_take_no_new_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    import_versions(dir.path()).await;
    let path = dir.path().to_path_buf();
    let store = Store::open(&path).expect("store");
    let actor = kleber_app::accounts::operator();
    store
        .account_change(|c| c.change_lifecycle(&actor, "velos", Lifecycle::Archive))
        .expect("archive");
    let server = TestServer::start(dir).await;
    let object = server.json(V, 200).await;
    assert_eq!(object["metas"]["default"]["archived"], true);
    for n in 1..=3 {
        let (status, _, body) = server.get(&format!("{V}/exports/csv?version={n}")).await;
        assert_eq!(status, 200);
        assert_eq!(table(body.trim_start_matches('\u{feff}')), table(VERSIONS[n - 1]));
    }
    let facets = server.json("/api/explore/v2.1/catalog/facets?facet=archived", 200).await;
    let values: Vec<(String, u64)> = facets["facets"][0]["facets"]
        .as_array()
        .expect("values")
        .iter()
        .map(|f| (text(&f["value"]), f["count"].as_u64().expect("count")))
        .collect();
    assert_eq!(values, [("true".to_owned(), 1)], "{facets}");
    let listed = server.json("/api/explore/v2.1/catalog/datasets?where=archived", 200).await;
    assert_eq!(listed["total_count"], 1);
    // Its page says so, and its Versions tab still offers every version's download.
    let (status, _, page) = server.get("/explore/dataset/velos/").await;
    assert_eq!(status, 200);
    assert!(page.contains("<dt>Archivé</dt>"), "{page}");
    let (_, _, versions) = server.get("/explore/dataset/velos/versions/").await;
    for n in 1..=3 {
        assert!(versions.contains(&format!("exports/csv?version={n}")), "version {n}");
    }
    // No new version while archived: the import fails and version 3 stays current.
    let files = tempfile::tempdir().expect("tempdir");
    let csv = files.path().join("v4.csv");
    std::fs::write(&csv, VERSIONS[0]).expect("csv");
    let app = app_over(&path);
    let request = |path: &Path| ImportRequest {
        path: path.to_path_buf(),
        dataset: "velos".to_owned(),
        title: None,
        options: Default::default(),
        unique_id: Some("code".to_owned()),
        crash: None,
    };
    let refused =
        app.import(&RequestContext::operator(), request(&csv)).await.expect_err("archived");
    assert!(refused.to_string().contains("archived"), "{refused}");
    let list = server.json(&format!("{V}/versions"), 200).await;
    assert_eq!(list["total_count"], 3);
    store
        .account_change(|c| c.change_lifecycle(&actor, "velos", Lifecycle::Unarchive))
        .expect("unarchive");
    app.import(&RequestContext::operator(), request(&csv)).await.expect("import once unarchived");
    let list = server.json(&format!("{V}/versions"), 200).await;
    assert_eq!(list["total_count"], 4);
    assert_eq!(list["results"][0]["summary"]["records_added"], 2);
}

/// docs/versions.md's shell examples, run as they are with bash and curl against the
/// three-version fixture; the CSV files they write are read back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_examples_of_this_guide_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    import_versions(dir.path()).await;
    let data_dir = dir.path().to_path_buf();
    let server = TestServer::start(dir).await;
    // `kleber` on the PATH, over the served data directory (the retention examples).
    let bin = Path::new(env!("CARGO_BIN_EXE_kleber")).parent().expect("bin dir").to_path_buf();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/versions.md"),
    )
    .expect("docs/versions.md");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(blocks.len() >= 3, "{blocks:?}");
    let work = tempfile::tempdir().expect("tempdir");
    for block in blocks {
        let mut command = std::process::Command::new("bash");
        command
            .args(["-euo", "pipefail", "-c", &block])
            .current_dir(work.path())
            .env("KLEBER", &server.base)
            .env("KLEBER_DATA_DIR", &data_dir)
            .env("PATH", &path);
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("join")
            .expect("bash");
        assert!(
            output.status.success(),
            "{block}\nfailed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for (file, n) in [("velos-v1.csv", 0), ("velos-v2.csv", 1)] {
        let text = std::fs::read_to_string(work.path().join(file)).expect(file);
        assert_eq!(table(text.trim_start_matches('\u{feff}')), table(VERSIONS[n]), "{file}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_shows_versions_and_keeps_an_old_one_across_tabs() {
    let server = server().await;
    let page = |path: String| {
        let server = &server;
        async move {
            let (status, _, body) = server.get(&path).await;
            assert_eq!(status, 200, "{path}: {body}");
            body
        }
    };
    let versions = page("/explore/dataset/velos/versions/".to_owned()).await;
    for n in 1..=3 {
        assert!(versions.contains(&format!("data-version=\"{n}\"")), "version {n} listed");
        assert!(versions.contains(&format!("exports/csv?version={n}")), "version {n} downloadable");
    }
    assert!(versions.contains("changes?from=2&#38;to=3&#38;format=csv"), "{versions}");
    assert!(versions.contains("/explore/dataset/velos/table/?version=1"));
    // The table as of version 1: its records, a banner, and tabs that keep the version.
    let old = page("/explore/dataset/velos/table/?version=1".to_owned()).await;
    assert!(old.contains("Austerlitz"), "version 1's record C");
    assert!(old.contains("class=\"version-banner\""), "a banner on an old version");
    assert!(old.contains("/explore/dataset/velos/export/?version=1"), "tabs keep the version");
    let export = page("/explore/dataset/velos/export/?version=1".to_owned()).await;
    assert!(export.contains("/exports/csv?version=1"), "exports of the version shown");
    let current = page("/explore/dataset/velos/table/".to_owned()).await;
    assert!(!current.contains("Austerlitz") && !current.contains("class=\"version-banner\""));
    let same = page("/explore/dataset/velos/table/?version=3".to_owned()).await;
    assert!(!same.contains("class=\"version-banner\""), "the current version has no banner");
    let (status, _, _) = server.get("/explore/dataset/velos/table/?version=9").await;
    assert_eq!(status, 404);
    let (status, _, _) = server.get("/explore/dataset/velos/table/?version=x").await;
    assert_eq!(status, 400);
}

/// The map and chart tabs keep an old version as the table does: the banner, tab links that
/// keep `version`, and the map's data asked at that version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_and_chart_tabs_keep_an_old_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    let app = app_over(dir.path());
    for (i, csv) in
        ["station,lat,lon,velos\nA,48.58,7.75,3\n", "station,lat,lon,velos\nA,48.58,7.75,4\n"]
            .iter()
            .enumerate()
    {
        let path = files.path().join(format!("stations-{i}.csv"));
        std::fs::write(&path, csv).expect("csv");
        let request = ImportRequest {
            path,
            dataset: "stations".to_owned(),
            title: None,
            options: Default::default(),
            unique_id: None,
            crash: None,
        };
        app.import(&RequestContext::operator(), request).await.expect("import");
    }
    drop(app);
    let server = TestServer::start(dir).await;
    let d = "/explore/dataset/stations";
    for tab in ["map", "analyze", "table"] {
        let path = format!("{d}/{tab}/?version=1");
        let (status, _, html) = server.get(&path).await;
        assert_eq!(status, 200, "{path}: {html}");
        assert!(html.contains("class=\"version-banner\""), "{path}: a banner");
        for other in ["table", "map", "analyze", "export"] {
            let link = format!("{d}/{other}/?version=1");
            assert!(html.contains(&link), "{path}: the {other} tab keeps the version");
        }
        let (_, _, current) = server.get(&format!("{d}/{tab}/")).await;
        assert!(!current.contains("class=\"version-banner\""), "{tab}: no banner today");
    }
    let (_, _, map) = server.get(&format!("{d}/map/?version=1")).await;
    assert!(map.contains("/clusters?version=1"), "the map asks version 1's points: {map}");
}

/// GET `path` with `headers`: status, ETag, Content-Encoding.
async fn tagged(
    server: &TestServer,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    let mut request = server.client.get(format!("{}{path}", server.base));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("get");
    let header = |name: &str| {
        response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    };
    (response.status().as_u16(), header("etag"), header("content-encoding"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_versions_get_strong_etags_per_version_and_coding() {
    let server = server().await;
    let mut tags = BTreeSet::new();
    for n in 1..=3 {
        let path = format!("{V}/records?version={n}&limit=100&order_by=code");
        let (status, tag, _) = tagged(&server, &path, &[]).await;
        assert_eq!(status, 200);
        assert!(tag.starts_with('"') && tag.ends_with('"'), "strong tag expected: {tag}");
        assert_eq!(tagged(&server, &path, &[]).await.1, tag, "stable within version {n}");
        let (status, again, _) = tagged(&server, &path, &[("if-none-match", &tag)]).await;
        assert_eq!((status, again.as_str()), (304, tag.as_str()));
        // A compressed body is another representation: its own strong tag, which revalidates.
        let gzip = [("accept-encoding", "gzip")];
        let (_, gz_tag, coding) = tagged(&server, &path, &gzip).await;
        assert_eq!(coding, "gzip");
        assert_eq!(gz_tag, format!("{}-gzip\"", tag.trim_end_matches('"')));
        let (status, echoed, _) =
            tagged(&server, &path, &[("accept-encoding", "gzip"), ("if-none-match", &gz_tag)])
                .await;
        assert_eq!((status, echoed.as_str()), (304, gz_tag.as_str()));
        tags.insert(tag);
    }
    assert_eq!(tags.len(), 3, "each version has its own tag: {tags:?}");
    // Without `version`, the current version's answers keep weak tags; a bad version, none.
    let (_, weak, _) = tagged(&server, &format!("{V}/records?limit=100&order_by=code"), &[]).await;
    assert!(weak.starts_with("W/\""), "{weak}");
    let (status, none, _) = tagged(&server, &format!("{V}/records?version=9"), &[]).await;
    assert_eq!((status, none.as_str()), (404, ""));
}
