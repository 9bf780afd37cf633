//! Explore API v2.0 and its `/api/v2` alias: the wrapped shapes, links, deprecation header,
//! and v2.0 renderings, checked against the real Vélib' file.

use serde_json::Value;

use crate::common::{TestServer, enc};
use crate::v1_api::{stations, velib_server};

async fn get(server: &TestServer, path: &str, status: u16) -> (Value, reqwest::header::HeaderMap) {
    let response =
        server.client.get(format!("{}{path}", server.base)).send().await.expect("request");
    assert_eq!(response.status().as_u16(), status, "{path}");
    let headers = response.headers().clone();
    let body: Value = response.json().await.expect("JSON");
    (body, headers)
}

#[tokio::test]
async fn v20_records_are_wrapped_with_links() {
    let stations = stations();
    let server = velib_server().await;
    for root in ["/api/v2", "/api/explore/v2.0"] {
        let path = format!(
            "{root}/catalog/datasets/velib/records?limit=2&offset=4&order_by=identifiant_station"
        );
        let (v, headers) = get(&server, &path, 200).await;
        assert!(headers.get("ods-explore-api-deprecation").is_some(), "{root}");
        assert!(headers.get("link").unwrap().to_str().unwrap().contains("successor-version"));
        assert_eq!(v["total_count"], stations.len() as u64);
        let rels: Vec<&str> =
            v["links"].as_array().unwrap().iter().map(|l| l["rel"].as_str().unwrap()).collect();
        assert_eq!(rels, ["self", "first", "last", "next"]);
        let next = v["links"][3]["href"].as_str().unwrap();
        assert!(
            next.starts_with(&format!("{}{root}/catalog/datasets/velib/records?", server.base))
                && next.contains("offset=6"),
            "{next}"
        );
        let records = v["records"].as_array().unwrap();
        assert_eq!(records.len(), 2);
        let mut ids: Vec<i64> = stations.iter().map(|s| s.id).collect();
        ids.sort_unstable();
        let record = &records[0]["record"];
        assert_eq!(record["fields"]["identifiant_station"], ids[4]);
        let rid = record["id"].as_str().unwrap();
        assert_eq!(rid.len(), 40);
        assert!(record["timestamp"].as_str().unwrap().contains('T'));
        assert_eq!(
            record["size"].as_u64().unwrap() as usize,
            serde_json::to_vec(&record["fields"]).unwrap().len()
        );
        assert!(
            records[0]["links"][0]["href"].as_str().unwrap().ends_with(&format!("/records/{rid}"))
        );
        // The record endpoint answers the same record, wrapped.
        let (one, _) =
            get(&server, &format!("{root}/catalog/datasets/velib/records/{rid}"), 200).await;
        assert_eq!(one["record"], *record);
        assert!(one["links"].is_array());
        get(&server, &format!("{root}/catalog/datasets/velib/records/{}", "0".repeat(40)), 404)
            .await;
    }
}

#[tokio::test]
async fn v20_datasets_facets_exports_and_renderings() {
    let stations = stations();
    let server = velib_server().await;
    let (v, _) = get(&server, "/api/v2/catalog/datasets", 200).await;
    assert_eq!(v["total_count"], 1);
    assert_eq!(v["datasets"][0]["dataset"]["dataset_id"], "velib");
    assert!(v["datasets"][0]["links"].is_array() && v["links"].is_array());
    let (v, _) = get(&server, "/api/v2/catalog/datasets/velib", 200).await;
    assert_eq!(v["dataset"]["dataset_id"], "velib");
    assert_eq!(v["dataset"]["metas"]["default"]["records_count"], stations.len() as u64);
    let (v, _) = get(&server, "/api/v2/catalog/datasets/nope", 404).await;
    assert!(v["error_code"].is_string());

    // Facets keep the v2 shape.
    let (v, _) =
        get(&server, "/api/v2/catalog/datasets/velib/facets?facet=station_en_fonctionnement", 200)
            .await;
    let non = stations.iter().filter(|s| s.working == "NON").count() as u64;
    let value = v["facets"][0]["facets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "NON")
        .unwrap()
        .clone();
    assert_eq!(value["count"], non);

    // Date group keys are epoch milliseconds in v2.0.
    let first = stations.iter().map(|s| s.updated).min().unwrap();
    let (v, _) = get(
        &server,
        &format!(
            "/api/v2/catalog/datasets/velib/records?group_by=actualisation_de_la_donnee&select={}&order_by=actualisation_de_la_donnee&limit=1",
            enc("actualisation_de_la_donnee, count(*) as n")
        ),
        200,
    )
    .await;
    let fields = &v["records"][0]["record"]["fields"];
    assert_eq!(fields["actualisation_de_la_donnee"], first.timestamp_millis(), "{v}");

    // CSV exports have no BOM unless asked (the v2.0 default).
    let response = server
        .client
        .get(format!("{}/api/v2/catalog/datasets/velib/exports/csv", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    assert!(!bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
    assert_eq!(
        csv::ReaderBuilder::new().delimiter(b';').from_reader(&bytes[..]).records().count(),
        stations.len()
    );

    // Attachment URLs already published elsewhere answer a clear 404.
    let (v, _) = get(&server, "/api/v2/catalog/datasets/velib/attachments/notice_pdf", 404).await;
    assert!(v["message"].as_str().unwrap().contains("attachment"));
    let (v, _) =
        get(&server, "/api/v2/catalog/datasets/velib/alternative_exports/velib_geojson", 404).await;
    assert!(v["message"].as_str().unwrap().contains("alternative export"));
    let (v, _) = get(&server, "/api/v2/catalog/datasets/velib/attachments", 200).await;
    assert_eq!(v["attachments"], serde_json::json!([]));
}

#[tokio::test]
async fn qv1_in_v21_takes_the_v1_query_language() {
    let stations = stations();
    let server = velib_server().await;
    let q = enc("capacite_de_la_station>=40 AND NOT nom_communes_equipees:Paris");
    let expected =
        stations.iter().filter(|s| s.capacity >= 40 && s.commune != "Paris").count() as u64;
    let (v, _) = get(
        &server,
        &format!("/api/explore/v2.1/catalog/datasets/velib/records?limit=0&qv1={q}"),
        200,
    )
    .await;
    assert_eq!(v["total_count"], expected);
    let (v, _) = get(
        &server,
        &format!(
            "/api/explore/v2.1/catalog/datasets/velib/facets?facet=station_en_fonctionnement&qv1={q}"
        ),
        200,
    )
    .await;
    let total: u64 = v["facets"][0]["facets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, expected);
    let (v, _) =
        get(&server, "/api/explore/v2.1/catalog/datasets/velib/records?qv1=inconnu:1", 400).await;
    assert!(v["message"].as_str().unwrap().contains("qv1"), "{v}");
}
