//! `kleber import` as a user runs it: summaries, rejected rows, clear errors.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::TestServer;

fn import(file: &Path, data: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kleber"))
        .arg("import")
        .arg(file)
        .args(["--dataset", "mesures", "--data-dir"])
        .arg(data)
        .args(extra)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn rejected_rows_are_reported_with_line_numbers_and_the_rest_goes_in() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mesures.csv");
    std::fs::write(&file, "station;valeur;date\nA;12;2024-01-01\nB;13;2024-01-02\nC;oops;2024-01-03\nD;15\nE;16;2024-01-05\n").unwrap();
    let data = dir.path().join("data");
    let out = import(&file, &data, &["--type", "valeur=int"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}{}", stdout, text(&out.stderr));
    assert!(stdout.contains("rows in: 3"), "{stdout}");
    assert!(stdout.contains("rows rejected: 2"), "{stdout}");
    assert!(stdout.contains("line 4"), "{stdout}");
    assert!(stdout.contains("line 5"), "{stdout}");
    let report_line = stdout.lines().find(|l| l.contains("report: ")).expect("report path");
    let report = report_line.split("report: ").nth(1).unwrap().trim_end_matches(')');
    let report = std::fs::read_to_string(report).unwrap();
    assert!(report.lines().count() >= 3, "{report}");
    assert!(report.contains("oops"), "{report}");

    let dir2 = tempfile::TempDir::new_in(dir.path()).unwrap();
    std::fs::remove_dir(dir2.path()).unwrap();
    std::fs::rename(&data, dir2.path()).unwrap();
    let server = TestServer::start(dir2).await;
    let v = server
        .json("/api/explore/v2.1/catalog/datasets/mesures/records?order_by=station", 200)
        .await;
    assert_eq!(v["total_count"], 3);
    let stations: Vec<_> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["station"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stations, ["A", "B", "E"]);
}

#[tokio::test]
async fn an_unreadable_file_fails_clearly_and_keeps_the_previous_version() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let good = dir.path().join("good.csv");
    std::fs::write(&good, "a;b\n1;x\n2;y\n").unwrap();
    assert!(import(&good, &data, &[]).status.success());

    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "[{\"a\": 1}, {\"a\": ").unwrap();
    let out = import(&broken, &data, &[]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("broken.json"), "the message names the file: {stderr}");
    assert!(stderr.contains("previous version"), "{stderr}");

    let missing = import(&dir.path().join("nope.csv"), &data, &[]);
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("nope.csv"));

    let bad_type = import(&good, &data, &["--type", "a=integer"]);
    assert!(!bad_type.status.success());
    assert!(
        text(&bad_type.stderr).contains("expected one of text, int"),
        "{}",
        text(&bad_type.stderr)
    );

    let bad_id = Command::new(env!("CARGO_BIN_EXE_kleber"))
        .arg("import")
        .arg(&good)
        .args(["--dataset", "Mes Données", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!bad_id.status.success());
    assert!(text(&bad_id.stderr).contains("invalid dataset identifier"));

    let dir2 = tempfile::TempDir::new_in(dir.path()).unwrap();
    std::fs::remove_dir(dir2.path()).unwrap();
    std::fs::rename(&data, dir2.path()).unwrap();
    let server = TestServer::start(dir2).await;
    let v = server.json("/api/explore/v2.1/catalog/datasets/mesures/records", 200).await;
    assert_eq!(v["total_count"], 2);
    let list = server.json("/api/explore/v2.1/catalog/datasets", 200).await;
    assert_eq!(list["total_count"], 1);
}

#[tokio::test]
async fn kleber_annotate_changes_the_default_facets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mesures.csv");
    std::fs::write(&file, "station;valeur\nA;1\nB;2\nA;3\n").unwrap();
    let data = dir.path().join("data");
    assert!(import(&file, &data, &[]).status.success());
    let annotate = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kleber"))
            .args(["annotate", "--dataset", "mesures", "--data-dir"])
            .arg(&data)
            .args(args)
            .output()
            .unwrap()
    };
    let out = annotate(&["valeur", "+facet", "facetsort=-num"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\"facetsort\":[\"-num\"]"), "{}", text(&out.stdout));
    assert!(annotate(&["station", "-facet"]).status.success());
    let bad = annotate(&["nope", "+facet"]);
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("its fields are: station, valeur"), "{}", text(&bad.stderr));

    let dir2 = tempfile::TempDir::new_in(dir.path()).unwrap();
    std::fs::remove_dir(dir2.path()).unwrap();
    std::fs::rename(&data, dir2.path()).unwrap();
    let server = TestServer::start(dir2).await;
    let f = server.json("/api/explore/v2.1/catalog/datasets/mesures/facets", 200).await;
    let names: Vec<_> = f["facets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["valeur"]);
    let values: Vec<_> = f["facets"][0]["facets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(values, ["3", "2", "1"], "sorted by -num");
}

/// Every file under `dir` (relative path) with its content, SQLite's transient `-shm` index
/// apart (it is rebuilt by whoever opens the catalog).
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if !path.to_string_lossy().ends_with("-shm") {
                let rel = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A file that must be refused: name, content, extra arguments, what the error must say.
type Refused<'a> = (&'a str, &'a [u8], &'a [&'a str], &'a [&'a str]);

#[tokio::test]
async fn files_that_are_not_data_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let good = dir.path().join("good.csv");
    std::fs::write(&good, "a;b\n1;x\n2;y\n").unwrap();
    assert!(import(&good, &data, &[]).status.success());
    let before = snapshot(&data);
    assert!(before.iter().any(|(p, _)| p.ends_with("data.parquet")), "{:?}", before.len());

    let kml = "<?xml version=\"1.0\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\">\
               <Document><Placemark><name>a</name><Point><coordinates>7.7,48.5</coordinates>\
               </Point></Placemark></Document></kml>\n";
    let cases: [Refused<'_>; 6] = [
        (
            "page.csv",
            b"<!DOCTYPE html>\n<html><body><p>Not found</p></body></html>\n",
            &[],
            &["HTML page", "export the data"],
        ),
        (
            "carte.xml",
            b"<?xml version=\"1.0\"?>\n<osm><node id=\"1\"/></osm>\n",
            &[],
            &["XML document whose root is <osm>", "KML"],
        ),
        ("rapport.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", &[], &["PDF document"]),
        ("photo.csv", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", &[], &["PNG image"]),
        ("parcs.csv", kml.as_bytes(), &["--format", "csv"], &["KML document", "format kml"]),
        ("coupe.kml", b"<?xml version=\"1.0\"?><kml><Document><Placemark>", &[], &["cut short"]),
    ];
    for (name, content, args, expected) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, content).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_kleber"))
            .arg("import")
            .arg(&file)
            .args(["--dataset", "autre", "--data-dir"])
            .arg(&data)
            .args(args)
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{name} was imported: {}", text(&out.stdout));
        assert!(stderr.starts_with("error: ") && stderr.contains(name), "{name}: {stderr}");
        for e in expected {
            assert!(stderr.contains(e), "{name}: `{e}` missing from {stderr}");
        }
        assert!(stderr.contains("nothing was published"), "{name}: {stderr}");
        // Also as a new version of the existing dataset.
        let out = import(&file, &data, args);
        assert!(!out.status.success(), "{name} replaced mesures");
        assert_eq!(snapshot(&data), before, "{name} changed the data directory");
    }

    let dir2 = tempfile::TempDir::new_in(dir.path()).unwrap();
    std::fs::remove_dir(dir2.path()).unwrap();
    std::fs::rename(&data, dir2.path()).unwrap();
    let server = TestServer::start(dir2).await;
    let list = server.json("/api/explore/v2.1/catalog/datasets", 200).await;
    assert_eq!(list["total_count"], 1);
    assert_eq!(list["results"][0]["dataset_id"], "mesures");
    let v = server.json("/api/explore/v2.1/catalog/datasets/mesures/records?order_by=a", 200).await;
    assert_eq!(v["total_count"], 2);
    assert_eq!(v["results"][1]["b"], "y");
}
