//! Data fidelity end to end: files imported with the real `kleber import`, then read through a
//! real server — repeated CSV header names keep distinct technical names and their labels, KML
//! and GPX documents become datasets with their geometries.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::common::TestServer;

fn import(file: &Path, data: &Path, dataset: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kleber"))
        .arg("import")
        .arg(file)
        .args(["--dataset", dataset, "--data-dir"])
        .arg(data)
        .output()
        .expect("run kleber import")
}

/// Imports each `(file name, content, dataset)` with the CLI into a new data directory, then
/// serves it.
async fn serve(files: &[(&str, &str, &str)]) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let sources = tempfile::tempdir().expect("temp dir");
    for (name, content, dataset) in files {
        let file = sources.path().join(name);
        std::fs::write(&file, content).expect("write source");
        let out = import(&file, dir.path(), dataset);
        assert!(
            out.status.success(),
            "import of {name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    TestServer::start(dir).await
}

/// `(name, label, type)` of each field of a dataset, as the API lists them.
async fn fields(server: &TestServer, dataset: &str) -> Vec<(String, String, String)> {
    let v = server.json(&format!("/api/explore/v2.1/catalog/datasets/{dataset}"), 200).await;
    v["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (s("name"), s("label"), s("type"))
        })
        .collect()
}

fn triples(expected: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    expected.iter().map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned())).collect()
}

#[tokio::test]
async fn repeated_header_names_are_distinct_fields_with_their_labels_and_types() {
    let csv = "\u{feff}Commune;Montant (€);Date;Montant (€);commune;\n\
               Strasbourg;12,5;05/03/2024;3,25;67000;\n\
               Colmar;7;06/03/2024;1,5;68000;\n";
    let server = serve(&[("budget.csv", csv, "budget")]).await;
    assert_eq!(
        fields(&server, "budget").await,
        triples(&[
            ("commune", "Commune", "text"),
            ("montant", "Montant (€)", "double"),
            ("date", "Date", "date"),
            ("montant_2", "Montant (€)", "double"),
            ("commune_2", "commune", "int"),
        ])
    );
    let records = server.records("budget", "order_by=commune").await;
    assert_eq!(records.len(), 2, "the header is not a record: {records:?}");
    let r = &records[1];
    assert_eq!(r["commune"], "Strasbourg");
    assert_eq!(r["montant"], json!(12.5));
    assert_eq!(r["montant_2"], json!(3.25));
    assert_eq!(r["date"], "2024-03-05");
    assert_eq!(r["commune_2"], json!(67000));
    // The suffixed names are real field names of the query language.
    let sum = server.records("budget", "select=sum(montant_2)%20as%20s").await;
    assert_eq!(sum[0]["s"], json!(4.75));
}

#[tokio::test]
async fn a_header_of_years_and_trailing_delimiters_import_as_a_person_expects() {
    let csv = "commune;2019;2020;\nStrasbourg;284677;287228;\nColmar;67730;67214;\n";
    let server = serve(&[("population.csv", csv, "population")]).await;
    assert_eq!(
        fields(&server, "population").await,
        triples(&[
            ("commune", "commune", "text"),
            ("f_2019", "2019", "int"),
            ("f_2020", "2020", "int"),
        ])
    );
    let records = server.records("population", "where=f_2020%3E100000").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["commune"], "Strasbourg");
    assert_eq!(records[0]["f_2019"], json!(284677));
}

const KML: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>Parcs</name>
  <Placemark><name>Orangerie</name><description>Le plus ancien</description>
    <ExtendedData><Data name="surface_ha"><value>26</value></Data></ExtendedData>
    <Point><coordinates>7.7745,48.5916,0</coordinates></Point></Placemark>
  <Placemark><name>Citadelle</name>
    <ExtendedData><Data name="surface_ha"><value>11</value></Data></ExtendedData>
    <Point><coordinates>7.7776,48.5787</coordinates></Point></Placemark>
</Document></kml>
"##;

const GPX: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
  <wpt lat="48.5816" lon="7.7509"><ele>142.5</ele><name>Cathédrale</name></wpt>
  <trk><name>Sortie</name><trkseg>
    <trkpt lat="48.50" lon="7.70"/><trkpt lat="48.51" lon="7.71"/><trkpt lat="48.52" lon="7.70"/>
  </trkseg></trk>
</gpx>
"##;

#[tokio::test]
async fn kml_and_gpx_become_geographic_datasets() {
    let server = serve(&[("parcs.kml", KML, "parcs"), ("sortie.gpx", GPX, "sortie")]).await;

    assert_eq!(
        fields(&server, "parcs").await,
        triples(&[
            ("name", "name", "text"),
            ("description", "description", "text"),
            ("surface_ha", "surface_ha", "int"),
            ("geo_point_2d", "geo_point_2d", "geo_point_2d"),
        ])
    );
    let parcs = server.records("parcs", "order_by=surface_ha%20desc").await;
    assert_eq!(parcs.len(), 2);
    assert_eq!(parcs[0]["name"], "Orangerie");
    assert_eq!(parcs[0]["description"], "Le plus ancien");
    assert_eq!(parcs[0]["surface_ha"], json!(26));
    assert_eq!(parcs[0]["geo_point_2d"], json!({"lon": 7.7745, "lat": 48.5916}));
    assert_eq!(parcs[1]["description"], Value::Null);
    // Geographic queries work on the points: only the Citadelle is within 500 m of this one.
    let near = server
        .records(
            "parcs",
            "where=within_distance(geo_point_2d,%20geom'POINT(7.776%2048.578)',%20500m)",
        )
        .await;
    let names: Vec<&str> = near.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names, ["Citadelle"]);

    assert_eq!(
        fields(&server, "sortie").await,
        triples(&[
            ("kind", "kind", "text"),
            ("name", "name", "text"),
            ("elevation", "elevation", "double"),
            ("geo_shape", "geo_shape", "geo_shape"),
        ])
    );
    let sortie = server.records("sortie", "order_by=kind").await;
    assert_eq!(sortie.len(), 2);
    assert_eq!(sortie[0]["kind"], "track");
    assert_eq!(sortie[0]["name"], "Sortie");
    let shape = &sortie[0]["geo_shape"];
    assert_eq!(shape["type"], "Feature");
    assert_eq!(
        shape["geometry"],
        json!({"type": "MultiLineString", "coordinates": [[[7.7, 48.5], [7.71, 48.51], [7.7, 48.52]]]})
    );
    assert_eq!(sortie[1]["kind"], "waypoint");
    assert_eq!(sortie[1]["elevation"], json!(142.5));
    assert_eq!(
        sortie[1]["geo_shape"]["geometry"],
        json!({"type": "Point", "coordinates": [7.7509, 48.5816]})
    );
}

#[tokio::test]
async fn a_kml_export_imports_back_to_the_same_records() {
    let csv = "nom;capacite;ouvert;geo\n\
               Parking Gare;450;true;48.5846, 7.7344\n\
               Parking Kléber;280;false;48.5833, 7.7458\n";
    let server = serve(&[("parkings.csv", csv, "parkings")]).await;
    let (status, _, kml) =
        server.get("/api/explore/v2.1/catalog/datasets/parkings/exports/kml").await;
    assert_eq!(status, 200, "{kml}");
    let original = server.records("parkings", "order_by=nom").await;

    let again = serve(&[("parkings.kml", &kml, "parkings")]).await;
    // KML has no name for the geometry: it comes back as `geo_point_2d`; the other fields
    // come back with their names and types.
    assert_eq!(
        fields(&again, "parkings").await,
        triples(&[
            ("nom", "nom", "text"),
            ("capacite", "capacite", "int"),
            ("ouvert", "ouvert", "boolean"),
            ("geo_point_2d", "geo_point_2d", "geo_point_2d"),
        ])
    );
    let back = again.records("parkings", "order_by=nom").await;
    assert_eq!(back.len(), 2);
    for (a, b) in original.iter().zip(&back) {
        for name in ["nom", "capacite", "ouvert"] {
            assert_eq!(a[name], b[name], "{name}");
        }
        assert_eq!(a["geo"], b["geo_point_2d"]);
    }
    assert_eq!(back[1]["nom"], "Parking Kléber");
    assert_eq!(back[1]["geo_point_2d"], json!({"lon": 7.7458, "lat": 48.5833}));
}
