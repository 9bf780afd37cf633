//! The demo portal: generated datasets that look like a city's data.

use serde_json::Value;

use crate::common::TestServer;

#[tokio::test]
async fn demo_datasets_load_once_and_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let app = crate::common::app_over(dir.path());
    let loaded = kleber_server::demo::ensure(&app).await.unwrap();
    assert_eq!(loaded, kleber_server::demo::ids());
    assert!(
        kleber_server::demo::ensure(&app).await.unwrap().is_empty(),
        "a second run imports nothing"
    );
    drop(app);
    let server = TestServer::start(dir).await;
    let list = server.json("/api/explore/v2.1/catalog/datasets?limit=100", 200).await;
    assert_eq!(list["total_count"], loaded.len());
    let by_id = |id: &str| {
        list["results"].as_array().unwrap().iter().find(|d| d["dataset_id"] == id).cloned().unwrap()
    };
    let type_of = |ds: &Value, name: &str| {
        ds["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["type"].clone())
            .unwrap_or(Value::Null)
    };

    let parkings = by_id("occupation-parkings-temps-reel");
    assert_eq!(parkings["metas"]["default"]["title"], "Occupation des parkings en temps réel");
    assert_eq!(type_of(&parkings, "position"), "geo_point_2d");
    assert_eq!(type_of(&parkings, "horodatage"), "datetime");
    assert_eq!(type_of(&parkings, "libre"), "int");

    let toilets = by_id("toilettes-publiques");
    assert_eq!(type_of(&toilets, "geo_point_2d"), "geo_point_2d");
    assert_eq!(type_of(&toilets, "acces_pmr"), "boolean");
    assert!(toilets["features"].as_array().unwrap().contains(&Value::from("geo")));

    let tram = by_id("lignes-tram");
    assert_eq!(type_of(&tram, "geo_shape"), "geo_shape");
    assert_eq!(type_of(&tram, "mise_en_service"), "date");

    let events = by_id("agenda-culturel");
    assert_eq!(type_of(&events, "date_de_debut"), "date");
    assert_eq!(type_of(&events, "tarif"), "double");
    assert_eq!(type_of(&events, "categories"), "text");
    let categories =
        events["fields"].as_array().unwrap().iter().find(|f| f["name"] == "categories").unwrap();
    assert_eq!(categories["annotations"]["multivalued"], serde_json::json!(["|"]));
    let rows = server.records("agenda-culturel", "limit=5&select=categories").await;
    assert!(rows.iter().all(|r| r["categories"].is_array()), "{rows:?}");

    let counts = by_id("comptages-velos");
    assert!(counts["features"].as_array().unwrap().contains(&Value::from("timeserie")));
    let free = server.records("agenda-culturel", "where=gratuit&limit=0").await;
    assert!(free.is_empty());
    let v = server.json("/api/explore/v2.1/catalog/datasets/comptages-velos/records?select=count(*)%20as%20n&where=date%20%3E%3D%20date'2025-06'", 200).await;
    assert!(v["results"][0]["n"].as_i64().unwrap() > 0);
}
