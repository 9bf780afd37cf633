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
