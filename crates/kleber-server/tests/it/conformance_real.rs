//! Every real Opendatasoft answer we hold (../shared/data/real, see its SOURCES.md), asked again
//! of Kleber over the same data: the v1 search responses (with and without facets), the v1
//! download exports, the GeoJSON, CSV and XLSX exports. The data imported is the file itself (the
//! records an answer holds, or the exported file); the question is the one the file answers
//! (a search's `parameters`, or the export's format and time zone, read from its offsets).
//! Answers are compared key by key by the generic diff of `conformance.rs`; what may differ is
//! a short list of path patterns, each volatile (record ids, publication timestamps) or a known
//! difference listed in tests/data/conformance/differences.toml, which must still be found.

use std::collections::BTreeSet;

use kleber_ingest::ImportOptions;
use serde_json::{Value, json};

use crate::common::{TestServer, enc, import, real};
use crate::conformance::{Ignore, Verdict, check_listed, diff, judge, known, volatile};

const RECORD_ID: Ignore = volatile("$.records[].recordid", "record ids are hashes of our own");
const RECORD_TS: Ignore =
    volatile("$.records[].record_timestamp", "when the version was published here");
/// Opendatasoft orders `fields` differently from record to record in the same answer (the
/// order of each record's source), so no client can rely on it.
const FIELD_ORDER: Ignore =
    volatile("$.records[].fields{order}", "Opendatasoft's own order varies by record");
const DL_RECORD_ID: Ignore = volatile("$[].recordid", "record ids are hashes of our own");
const DL_RECORD_TS: Ignore = volatile("$[].record_timestamp", "when the version was published");
const DL_FIELD_ORDER: Ignore =
    volatile("$[].fields{order}", "Opendatasoft's own order varies by record");

/// One comparison: a real answer, the request asking Kleber the same, the paths that may differ.
struct Case {
    file: &'static str,
    request: String,
    expected: Value,
    got: Value,
    ignores: Vec<Ignore>,
}

fn read_json(file: &str) -> Value {
    let text = std::fs::read_to_string(real(file)).expect("read real answer");
    serde_json::from_str(&text).expect("real answer is JSON")
}

/// The query string of a v1 search `parameters` echo: one pair per value.
fn query_of(parameters: &Value) -> String {
    let mut pairs = Vec::new();
    for (key, value) in parameters.as_object().expect("parameters") {
        let values = match value {
            Value::Array(list) => list.clone(),
            other => vec![other.clone()],
        };
        for v in values {
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            pairs.push(format!("{}={}", enc(key), enc(&text)));
        }
    }
    pairs.join("&")
}

async fn json_of(server: &TestServer, request: &str) -> Value {
    let (status, _, body) = server.get(request).await;
    assert_eq!(status, 200, "GET {request}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {request}: {e}: {body}"))
}

/// A CSV body as the diff sees it: BOM, line ending and cells.
fn csv_value(bytes: &[u8]) -> Value {
    let bom = bytes.starts_with("\u{feff}".as_bytes());
    let body = if bom { &bytes[3..] } else { bytes };
    let line_ending = if body.windows(2).any(|w| w == b"\r\n") { "\r\n" } else { "\n" };
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').has_headers(false).from_reader(body);
    let rows: Vec<Value> =
        reader.records().map(|r| json!(r.expect("CSV row").iter().collect::<Vec<_>>())).collect();
    json!({"bom": bom, "line_ending": line_ending, "rows": rows})
}

/// An XLSX body as the diff sees it: the first sheet's name, its header, and each row as an
/// object keyed by the header (so that a column can be named in a path).
fn xlsx_value(bytes: Vec<u8>) -> Value {
    use calamine::{Data, Reader, Xlsx};
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).expect("an XLSX workbook");
    let sheet = book.sheet_names().first().cloned().expect("a sheet");
    let range = book.worksheet_range(&sheet).expect("the first sheet");
    let cell = |d: &Data| match d {
        Data::Empty => Value::Null,
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => json!(s),
        Data::Float(f) => json!(f),
        Data::Int(i) => json!(*i as f64),
        Data::Bool(b) => json!(b),
        Data::DateTime(dt) => json!({"excel_datetime": dt.as_f64()}),
        Data::Error(e) => json!(format!("#{e:?}")),
    };
    let mut rows = range.rows();
    let header: Vec<String> =
        rows.next().expect("a header").iter().map(|d| d.to_string()).collect();
    let rows: Vec<Value> = rows
        .map(|r| {
            let map: serde_json::Map<String, Value> =
                header.iter().cloned().zip(r.iter().map(cell)).collect();
            Value::Object(map)
        })
        .collect();
    json!({"sheet": sheet, "header": header, "rows": rows})
}

/// Runs every case and reports all that differ at once.
fn report(cases: &[Case]) -> BTreeSet<&'static str> {
    let mut failures = Vec::new();
    let mut held = BTreeSet::new();
    for case in cases {
        let found = diff(&case.expected, &case.got);
        let Verdict { unexplained, gone, held: h, volatile } = judge(&found, &case.ignores);
        eprintln!("{} ← GET {}: {} difference(s) found", case.file, case.request, found.len());
        for v in volatile {
            eprintln!("    ignored {v}");
        }
        held.extend(h);
        for f in unexplained.iter().take(5) {
            failures
                .push(format!("{} ← GET {}\n    {}: {}", case.file, case.request, f.path, f.what));
        }
        if unexplained.len() > 5 {
            failures.push(format!("    … and {} more", unexplained.len() - 5));
        }
        for id in gone {
            failures.push(format!(
                "{} ← GET {}\n    known difference {id} is gone: remove it from differences.toml",
                case.file, case.request
            ));
        }
    }
    assert!(failures.is_empty(), "{} difference(s):\n{}", failures.len(), failures.join("\n"));
    held
}

#[tokio::test]
async fn every_real_opendatasoft_answer_is_answered_alike() {
    let dir = tempfile::tempdir().unwrap();
    // v1 searches: the records they hold, under their own dataset ids.
    let searches = [
        ("strasbourg_parkings_api-v1-search.json", "parkings"),
        (
            "strasbourg_occupation-parkings-temps-reel_api-v1-search-facet.json",
            "occupation-parkings-temps-reel",
        ),
    ];
    let downloads = [
        (
            "strasbourg_frequentation-piscines-temps-reel_api-v1-download.json",
            "frequentation-en-temps-reel-des-piscines",
        ),
        (
            "paris_velib-disponibilite-en-temps-reel_api-v1-download.json",
            "velib-disponibilite-en-temps-reel",
        ),
    ];
    let geojsons = [
        ("strasbourg_trafic-temps-reel_lines.geojson", "trafic"),
        ("strasbourg_stationnement-payant_polygons.geojson", "stationnement"),
        ("strasbourg_parcs-jardins_points.geojson", "parcs"),
        ("paris_arrondissements_polygons.geojson", "arrondissements"),
        ("strasbourg_boucles_multilines.geojson", "boucles"),
    ];
    let csvs = [
        ("strasbourg_occupation-parkings-temps-reel.csv", "occupation-csv"),
        ("paris_velib-disponibilite-en-temps-reel_utf8-bom.csv", "velib-csv"),
    ];
    let xlsx = ("paris_velib-disponibilite-en-temps-reel.xlsx", "velib-xlsx");
    for (file, id) in searches.iter().chain(&downloads).chain(&geojsons).chain(&csvs).chain([&xlsx])
    {
        import(dir.path(), &real(file), id, ImportOptions::default());
    }
    let server = TestServer::start(dir).await;
    let mut cases = Vec::new();

    for (file, id) in searches {
        let expected = read_json(file);
        let request = format!("/api/records/1.0/search/?{}", query_of(&expected["parameters"]));
        assert_eq!(expected["parameters"]["dataset"].as_str().unwrap_or(id), id);
        let got = json_of(&server, &request).await;
        let mut ignores = vec![RECORD_ID, RECORD_TS, FIELD_ORDER];
        let held = expected["records"].as_array().expect("records").len();
        if expected["nhits"].as_u64() != Some(held as u64) {
            // The answer is one page of a bigger dataset: we hold (and import) that page only.
            assert_eq!(got["nhits"].as_u64(), Some(held as u64), "{request}");
            ignores.push(volatile("$.nhits", "only the page the answer holds is imported"));
        }
        if expected["parameters"]["dataset"].is_array() {
            ignores.push(known("$.parameters.dataset", "v1-parameters-dataset-list"));
        }
        cases.push(Case { file, request, expected, got, ignores });
    }

    // The downloads were asked in Paris time (their offsets say so), by the API and by the
    // portal's download URL, which answer alike.
    for (file, id) in downloads {
        let expected = read_json(file);
        for request in [
            format!("/api/records/1.0/download/?dataset={id}&format=json&timezone=Europe/Paris"),
            format!("/explore/dataset/{id}/download/?format=json&timezone=Europe/Paris"),
        ] {
            let got = json_of(&server, &request).await;
            let mut ignores = vec![DL_RECORD_ID, DL_RECORD_TS, DL_FIELD_ORDER];
            if file.contains("piscines") {
                ignores.push(known("$[].fields.updatedate", "datetime-typed-as-text"));
            }
            cases.push(Case { file, request, expected: expected.clone(), got, ignores });
        }
    }

    for (file, id) in geojsons {
        let expected = read_json(file);
        for request in [
            format!("/api/records/1.0/download/?dataset={id}&format=geojson&timezone=Europe/Paris"),
            format!("/explore/dataset/{id}/download/?format=geojson&timezone=Europe/Paris"),
        ] {
            let got = json_of(&server, &request).await;
            let mut ignores = Vec::new();
            if file.contains("trafic") {
                ignores
                    .push(known("$.features[].properties.dmajetatexp", "v1-datetime-milliseconds"));
            }
            if file.contains("parcs") {
                ignores.push(known(
                    "$.features[].properties.geo_point_2d",
                    "geojson-point-geometry-reimported",
                ));
            }
            cases.push(Case { file, request, expected: expected.clone(), got, ignores });
        }
    }

    // The Strasbourg CSV has labels, no BOM (a v1 download); the Vélib' one labels and a BOM in
    // Paris time (the v2.1 export of the portal's export tab).
    for (file, id) in csvs {
        let expected = csv_value(&std::fs::read(real(file)).expect("read CSV"));
        let request = if file.contains("bom") {
            format!(
                "/api/explore/v2.1/catalog/datasets/{id}/exports/csv?use_labels=true&timezone=Europe/Paris"
            )
        } else {
            format!("/explore/dataset/{id}/download/?format=csv&use_labels_for_header=true")
        };
        let response = server.client.get(format!("{}{request}", server.base)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{request}");
        let got = csv_value(&response.bytes().await.unwrap());
        let mut ignores = Vec::new();
        if !file.contains("bom") {
            ignores.push(known("$.line_ending", "csv-line-endings"));
        }
        cases.push(Case { file, request, expected, got, ignores });
    }

    // The XLSX export of the portal's export tab (labels, Paris time).
    let (file, id) = xlsx;
    let expected = xlsx_value(std::fs::read(real(file)).expect("read XLSX"));
    let request = format!(
        "/api/explore/v2.1/catalog/datasets/{id}/exports/xlsx?use_labels=true&timezone=Europe/Paris"
    );
    let response = server.client.get(format!("{}{request}", server.base)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200, "{request}");
    let got = xlsx_value(response.bytes().await.unwrap().to_vec());
    let ignores = vec![
        volatile(
            "$.sheet",
            "Feuil1 is French Excel's default name: the file was saved again by Excel",
        ),
        known("$.rows[].Actualisation de la donnée", "xlsx-datetime-cells"),
    ];
    cases.push(Case { file, request, expected, got, ignores });

    // Every Opendatasoft output of ../shared/data/real but the Latin-1 CSV, which its author
    // derived (re-encoded, header removed), so it answers no question of the portal.
    assert_eq!(cases.len(), 2 + 2 * 2 + 5 * 2 + 2 + 1, "every real answer is a case");
    let held = report(&cases);
    check_listed("real-answers", &held);
}
