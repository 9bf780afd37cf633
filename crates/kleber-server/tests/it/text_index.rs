//! The per-version full-text index of records through the server (docs/performance.md):
//! searches answer the same before the index exists (the scan) and after (the index), each
//! version from its own index (time travel), and hostile searches get a clear 400 or answer
//! within a bounded time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kleber_app::RequestContext;
use kleber_app::import::ImportRequest;
use serde_json::Value;

use crate::common::{TestServer, app_over, enc};

const V: &str = "/api/explore/v2.1/catalog/datasets/rues";

/// Two versions of the same streets: version 2 renamed some and added others.
const VERSIONS: [&str; 2] = [
    "code;nom;quartier\n1;Rue de la Gare;Gare\n2;Quai des Bateliers;Krutenau\n\
     3;Place Kléber;Centre\n4;Rue du Dôme;Centre\n5;Avenue des Vosges;Neustadt\n\
     6;Rues piétonnes;Centre\n",
    "code;nom;quartier\n1;Boulevard de la Gare;Gare\n2;Quai des Bateliers;Krutenau\n\
     3;Place Kléber;Centre\n5;Avenue des Vosges;Neustadt\n7;Rue de l'Église;Robertsau\n\
     8;Routes du Rhin;Port du Rhin\n9;Rue du Faubourg;Neudorf\n",
];

/// The server and its data directory.
async fn server() -> (TestServer, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_path_buf();
    let files = tempfile::tempdir().expect("tempdir");
    let app = app_over(dir.path());
    for (i, csv) in VERSIONS.iter().enumerate() {
        let path = files.path().join(format!("rues-{}.csv", i + 1));
        std::fs::write(&path, csv).expect("csv");
        let request = ImportRequest {
            path,
            dataset: "rues".to_owned(),
            title: None,
            options: Default::default(),
            unique_id: Some("code".to_owned()),
            crash: None,
        };
        app.import(&RequestContext::operator(), request).await.expect("import");
    }
    (TestServer::start(dir).await, data)
}

/// The index markers under `dir` (one per indexed version).
fn markers(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "kleber-text-index.json") {
                out.push(path);
            }
        }
    }
    out
}

/// The `code`s found by a search at a version, sorted, checked against `total_count`.
async fn codes(server: &TestServer, words: &str, version: usize) -> Vec<String> {
    let where_ = format!("\"{words}\"");
    let path =
        format!("{V}/records?where={}&version={version}&order_by=code&limit=100", enc(&where_));
    let body = server.json(&path, 200).await;
    let codes: Vec<String> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| match &r["code"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    assert_eq!(body["total_count"].as_u64(), Some(codes.len() as u64), "{path}");
    codes
}

/// Searches and the codes each version finds.
const SEARCHES: [(&str, [&[&str]; 2]); 6] = [
    ("gare", [&["1"], &["1"]]),
    ("rue", [&["1", "4", "6"], &["7", "9"]]),
    ("kleber centre", [&["3"], &["3"]]),
    ("eglise", [&[], &["7"]]),
    ("bat*", [&["2"], &["2"]]),
    ("boulevard", [&[], &["1"]]),
];

#[tokio::test]
async fn each_version_searches_its_own_index_with_the_scans_answers() {
    let (server, data) = server().await;
    assert!(markers(&data).is_empty(), "no index before the first search");
    // No index yet: the scan answers, and each version's index is built in the background.
    for (words, expected) in SEARCHES {
        for version in [1, 2] {
            assert_eq!(
                codes(&server, words, version).await,
                expected[version - 1],
                "{words} v{version}"
            );
        }
    }
    let started = Instant::now();
    while markers(&data).len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(60), "both versions get an index");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let found = markers(&data);
    let mut dirs: Vec<String> = found
        .iter()
        .filter_map(|m| m.parent()?.parent()?.file_name()?.to_str().map(str::to_owned))
        .collect();
    dirs.sort();
    assert_eq!(dirs, ["v1", "v2"], "one index in each version's directory");
    // With the indexes: the same answers, each version's own.
    for (words, expected) in SEARCHES {
        for version in [1, 2] {
            assert_eq!(
                codes(&server, words, version).await,
                expected[version - 1],
                "{words} v{version}"
            );
        }
    }
    // The same through facets and the portal's table search.
    let facets = server
        .json(&format!("{V}/facets?facet=quartier&where={}&version=2", enc("\"rue\"")), 200)
        .await;
    let mut names: Vec<String> = facets["facets"][0]["facets"]
        .as_array()
        .expect("facet values")
        .iter()
        .map(|f| f["name"].as_str().expect("name").to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["Neudorf", "Robertsau"]);
    let (status, _, page) = server.get("/explore/dataset/rues/table/?q=bateliers").await;
    assert_eq!(status, 200);
    assert!(page.contains("Quai des Bateliers") && !page.contains("Place Kléber"), "{page}");
}

#[tokio::test]
async fn hostile_searches_get_a_clear_error_or_a_bounded_answer() {
    let (server, data) = server().await;
    // Longer than a text literal may be: a 400 naming the limit.
    let long = format!("\"{}\"", "rue ".repeat(2_000));
    let body = server.json(&format!("{V}/records?where={}", enc(&long)), 400).await;
    assert_eq!(body["error_code"], "ODSQLError", "{body}");
    assert!(body["message"].as_str().expect("message").contains("MAX_TEXT_LITERAL"), "{body}");
    // `*` alone, punctuation alone: no words, every record.
    for words in ["*", "%", "-'-"] {
        let path = format!("{V}/records?where={}&limit=0", enc(&format!("\"{words}\"")));
        assert_eq!(server.json(&path, 200).await["total_count"], 7, "{words}");
    }
    // Many words, prefixes and typos, before and after the index: answered in bounded time.
    let many: String = (0..600).map(|i| format!("w{i}* ")).collect();
    for _ in 0..2 {
        for (where_, expected) in [
            (format!("\"{many}\""), 0),
            (format!("search(\"{}\")", "abcdefgh ".repeat(300)), 0),
            (format!("suggest(\"{}\")", "e ".repeat(1_000)), 7),
        ] {
            let started = Instant::now();
            let path = format!("{V}/records?where={}&limit=0", enc(&where_));
            assert_eq!(server.json(&path, 200).await["total_count"], expected, "{where_}");
            assert!(started.elapsed() < Duration::from_secs(10), "{where_}");
        }
        let started = Instant::now();
        while markers(&data).is_empty() {
            assert!(started.elapsed() < Duration::from_secs(60), "the index is built");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
