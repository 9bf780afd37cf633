//! Golden answers: every query of `tests/data/queries.txt` against the demo portal and real
//! files, compared with `tests/data/queries.expected`. `UPDATE_EXPECT=1` rewrites the answers;
//! review the diff like code.

use std::fmt::Write as _;
use std::path::Path;

use kleber_ingest::ImportOptions;

use crate::common::{TestServer, enc, import, real};

#[tokio::test]
async fn golden_queries_answer_as_recorded() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::load_demo(dir.path()).await;
    import(
        dir.path(),
        &real("strasbourg_occupation-parkings-temps-reel.csv"),
        "parkings-real",
        ImportOptions::default(),
    );
    import(
        dir.path(),
        &real("paris_velib-disponibilite-en-temps-reel_utf8-bom.csv"),
        "velib",
        ImportOptions::default(),
    );
    import(
        dir.path(),
        &real("paris_arrondissements_polygons.geojson"),
        "arrondissements",
        ImportOptions::default(),
    );
    import(
        dir.path(),
        &real("strasbourg_parcs-jardins_points.geojson"),
        "parcs",
        ImportOptions::default(),
    );
    let server = TestServer::start(dir).await;

    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let queries = std::fs::read_to_string(data.join("queries.txt")).unwrap();
    let mut actual = String::new();
    for line in queries.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let mut parts = line.splitn(3, " | ");
        let (dataset, endpoint, query) =
            (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap_or(""));
        let encoded: Vec<String> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => format!("{k}={}", enc(v)),
                None => p.to_owned(),
            })
            .collect();
        let path = format!(
            "/api/explore/v2.1/catalog/datasets/{dataset}/{endpoint}?{}",
            encoded.join("&")
        );
        let (status, _, body) = server.get(&path).await;
        let value: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{line}: not JSON ({e}): {body}"));
        writeln!(actual, "== {line}\n{status} {value}").unwrap();
    }
    let expected_path = data.join("queries.expected");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&expected_path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    for (a, e) in actual.split("== ").zip(expected.split("== ")) {
        assert_eq!(a, e, "golden answer changed; rerun with UPDATE_EXPECT=1 and review the diff");
    }
    assert_eq!(
        actual.len(),
        expected.len(),
        "the number of golden queries changed; rerun with UPDATE_EXPECT=1"
    );
}
