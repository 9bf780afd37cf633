//! Every real file of shared/data/real imports and is served with its row count and types.

use kleber_ingest::ImportOptions;
use serde_json::Value;

use crate::common::{TestServer, import, real};

/// A real file, its dataset id, its row count, and some (field, type) expected.
type RealFile = (&'static str, &'static str, u64, &'static [(&'static str, &'static str)]);

const FILES: &[RealFile] = &[
    (
        "strasbourg_occupation-parkings-temps-reel.csv",
        "parkings",
        28,
        &[("total", "int"), ("nom_parking", "text")],
    ),
    ("strasbourg_parkings_api-v1-search.json", "parkings-v1", 10, &[]),
    (
        "strasbourg_occupation-parkings-temps-reel_api-v1-search-facet.json",
        "occupation-v1",
        30,
        &[],
    ),
    ("strasbourg_frequentation-piscines-temps-reel_api-v1-download.json", "piscines", 8, &[]),
    ("strasbourg_trafic-temps-reel_lines.geojson", "trafic", 452, &[("geo_shape", "geo_shape")]),
    (
        "strasbourg_stationnement-payant_polygons.geojson",
        "stationnement",
        15,
        &[("geo_shape", "geo_shape")],
    ),
    ("strasbourg_parcs-jardins_points.geojson", "parcs", 8, &[("geo_point_2d", "geo_point_2d")]),
    ("strasbourg_boucles_multilines.geojson", "boucles", 29, &[("geo_shape", "geo_shape")]),
    (
        "paris_velib-disponibilite-en-temps-reel_utf8-bom.csv",
        "velib",
        1472,
        &[
            ("capacite_de_la_station", "int"),
            ("coordonnees_geographiques", "geo_point_2d"),
            ("actualisation_de_la_donnee", "datetime"),
        ],
    ),
    ("paris_velib-disponibilite-en-temps-reel_latin1-noheader.csv", "velib-latin1", 1471, &[]),
    ("paris_velib-disponibilite-en-temps-reel_api-v1-download.json", "velib-v1", 1435, &[]),
    ("paris_velib-disponibilite-en-temps-reel.xlsx", "velib-xlsx", 1471, &[]),
    (
        "paris_arrondissements_polygons.geojson",
        "arrondissements",
        20,
        &[("geo_shape", "geo_shape")],
    ),
];

#[tokio::test]
async fn every_real_file_is_served_with_its_rows_and_types() {
    let dir = tempfile::tempdir().unwrap();
    for (file, id, rows, _) in FILES {
        let summary = import(dir.path(), &real(file), id, ImportOptions::default());
        assert_eq!(summary.outcome.rows, *rows, "{file}");
        assert!(summary.outcome.rejected.is_empty(), "{file}: {:?}", summary.outcome.rejected);
    }
    let server = TestServer::start(dir).await;
    let list = server.json("/api/explore/v2.1/catalog/datasets?limit=100", 200).await;
    assert_eq!(list["total_count"], FILES.len());
    for (file, id, rows, types) in FILES {
        let ds = server.json(&format!("/api/explore/v2.1/catalog/datasets/{id}"), 200).await;
        assert_eq!(ds["metas"]["default"]["records_count"], *rows, "{file}");
        for (name, ty) in *types {
            let field = ds["fields"].as_array().unwrap().iter().find(|f| f["name"] == *name);
            assert_eq!(
                field.map(|f| f["type"].clone()),
                Some(Value::from(*ty)),
                "{file}: field {name}"
            );
        }
        let page = server
            .json(&format!("/api/explore/v2.1/catalog/datasets/{id}/records?limit=100"), 200)
            .await;
        assert_eq!(page["total_count"], *rows, "{file}");
        let has_geo = ds["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["type"] == "geo_shape" || f["type"] == "geo_point_2d");
        assert_eq!(
            ds["features"].as_array().unwrap().contains(&Value::from("geo")),
            has_geo,
            "{file}"
        );
    }
    // Geo values are encoded as Opendatasoft does.
    let lines = server.records("trafic", "limit=1&select=geo_shape").await;
    assert_eq!(lines[0]["geo_shape"]["type"], "Feature");
    assert_eq!(lines[0]["geo_shape"]["geometry"]["type"], "LineString");
    let velib = server
        .records(
            "velib",
            "limit=1&select=coordonnees_geographiques&where=identifiant_station%3D16107",
        )
        .await;
    assert_eq!(
        velib[0]["coordonnees_geographiques"],
        serde_json::json!({"lon": 2.275725, "lat": 48.865983})
    );
}
