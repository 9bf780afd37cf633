//! The catalog queried with ODSQL, refine and full-text search, on the demo portal.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::{TestServer, enc};

const V: &str = "/api/explore/v2.1";

async fn demo() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    crate::common::load_demo(dir.path()).await;
    TestServer::start(dir).await
}

fn ids(v: &Value) -> Vec<String> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["dataset_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn catalog_where_order_by_refine_and_search() {
    let server = demo().await;
    let all = server.json(&format!("{V}/catalog/datasets?limit=100"), 200).await;
    let datasets = all["results"].as_array().unwrap().clone();
    let meta = |d: &Value, k: &str| d["metas"]["default"][k].clone();

    // French full text: accents folded, plurals stemmed.
    let v = server.json(&format!("{V}/catalog/datasets?where={}", enc("\"velo\"")), 200).await;
    assert!(ids(&v).contains(&"comptages-velos".to_owned()), "{v}");
    let v = server.json(&format!("{V}/catalog/datasets?where={}", enc("\"parkings\"")), 200).await;
    let mut found = ids(&v);
    found.sort();
    // The occupation, its reference table and the derived dataset joining them (docs/crossing.md).
    assert_eq!(
        found,
        ["occupation-parkings-temps-reel", "parkings-occupation-detaillee", "parkings-referentiel"]
    );

    let publisher = "Ville de Strasbourg";
    let expected: Vec<String> = datasets
        .iter()
        .filter(|d| meta(d, "publisher") == publisher)
        .map(|d| d["dataset_id"].as_str().unwrap().to_owned())
        .collect();
    let v = server
        .json(
            &format!("{V}/catalog/datasets?where={}", enc(&format!("publisher = \"{publisher}\""))),
            200,
        )
        .await;
    assert_eq!(ids(&v), expected);
    assert_eq!(v["total_count"], expected.len());

    let mobility: Vec<String> = datasets
        .iter()
        .filter(|d| {
            meta(d, "theme").as_array().is_some_and(|t| t.contains(&Value::from("Mobilité")))
        })
        .map(|d| d["dataset_id"].as_str().unwrap().to_owned())
        .collect();
    let v =
        server.json(&format!("{V}/catalog/datasets?refine={}", enc("theme:Mobilité")), 200).await;
    assert_eq!(ids(&v), mobility);

    let mut by_count: Vec<(i64, String)> = datasets
        .iter()
        .map(|d| {
            (
                meta(d, "records_count").as_i64().unwrap(),
                d["dataset_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    by_count.sort_by_key(|x| std::cmp::Reverse(x.0));
    let v = server
        .json(&format!("{V}/catalog/datasets?order_by={}&limit=2", enc("records_count desc")), 200)
        .await;
    assert_eq!(ids(&v), by_count.iter().take(2).map(|x| x.1.clone()).collect::<Vec<_>>());
    let v = server
        .json(
            &format!(
                "{V}/catalog/datasets?where={}",
                enc("default.records_count > 1000 AND features = \"timeserie\"")
            ),
            200,
        )
        .await;
    let expected: Vec<String> = datasets
        .iter()
        .filter(|d| {
            meta(d, "records_count").as_i64().unwrap() > 1000
                && d["features"].as_array().unwrap().contains(&Value::from("timeserie"))
        })
        .map(|d| d["dataset_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(ids(&v), expected);
    let v = server.json(&format!("{V}/catalog/datasets?where={}", enc("title > 3")), 400).await;
    assert!(
        v["message"].as_str().unwrap().contains("cannot compare a text value with a int value"),
        "{v}"
    );

    let v = server
        .json(
            &format!(
                "{V}/catalog/datasets?select={}&group_by=publisher&order_by=publisher",
                enc("publisher, count(*) as n")
            ),
            200,
        )
        .await;
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for d in &datasets {
        *expected.entry(meta(d, "publisher").as_str().unwrap().to_owned()).or_default() += 1;
    }
    let got: BTreeMap<String, u64> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["publisher"].as_str().unwrap().to_owned(), r["n"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, expected);

    let f = server.json(&format!("{V}/catalog/facets"), 200).await;
    let themes = f["facets"].as_array().unwrap().iter().find(|g| g["name"] == "theme").unwrap();
    let mobilite =
        themes["facets"].as_array().unwrap().iter().find(|t| t["value"] == "Mobilité").unwrap();
    assert_eq!(mobilite["count"], mobility.len());
    let features =
        f["facets"].as_array().unwrap().iter().find(|g| g["name"] == "features").unwrap();
    let geo = features["facets"].as_array().unwrap().iter().find(|t| t["value"] == "geo").unwrap();
    let with_geo = datasets
        .iter()
        .filter(|d| d["features"].as_array().unwrap().contains(&Value::from("geo")))
        .count();
    assert_eq!(geo["count"], with_geo);
}
