//! Processors (issue 14 item 3, docs/sources.md#processors) on the real files of
//! ../shared/data/real: the example of the docs on the Vélib stations (skip, rename, compute,
//! spatial join with the Paris arrondissements checked station by station against two
//! independent point-in-polygon oracles: Shapely (GEOS, tests/clients/spatial_join_check.py)
//! and a ray casting written here, drop, reorder); a join of the Strasbourg parkings'
//! occupation with their descriptions; split, geo_point from a "lat, lon" text, cast and
//! normalize_date; bad pipelines refused with the step named and nothing changed; a private
//! dataset joined by an editor who cannot read it; the management API's routes and preview.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kleber_app::accounts::{Accounts, operator};
use kleber_app::manage::Editor;
use kleber_ingest::ImportOptions;
use kleber_query::Limits;
use kleber_store::{Role, Scope, Store, Visibility};
use kleber_types::FieldType;
use serde_json::{Value, json};

use crate::common::{TestServer, app_over, import, real};

const M: &str = "/api/management/v1";
const VELIB: &str = "paris_velib-disponibilite-en-temps-reel_utf8-bom.csv";

/// The JSON example of docs/sources.md's Processors section.
fn doc_example() -> Value {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/sources.md"),
    )
    .expect("docs/sources.md");
    let after = doc.split("<!-- processors-example -->").nth(1).expect("the example's marker");
    let body = after.split("```json").nth(1).and_then(|b| b.split("```").next()).expect("block");
    serde_json::from_str(body).expect("the example is JSON")
}

/// Even-odd ray casting over every ring of a GeoJSON polygon or multipolygon.
fn inside(geometry: &Value, lon: f64, lat: f64) -> bool {
    let polygons: Vec<&Value> = match geometry["type"].as_str() {
        Some("Polygon") => vec![&geometry["coordinates"]],
        Some("MultiPolygon") => geometry["coordinates"].as_array().unwrap().iter().collect(),
        _ => return false,
    };
    polygons.iter().any(|rings| {
        let mut odd = false;
        for ring in rings.as_array().unwrap() {
            let pts: Vec<(f64, f64)> = ring
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
                .collect();
            for w in pts.windows(2) {
                let ((x1, y1), (x2, y2)) = (w[0], w[1]);
                if (y1 > lat) != (y2 > lat) && lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1 {
                    odd = !odd;
                }
            }
        }
        odd
    })
}

/// The arrondissement (`c_ar`) of every Vélib station of the raw file, by Shapely's `covers`
/// over the prepared polygons (tests/clients/spatial_join_check.py), and the stations that
/// lie on a polygon's boundary.
async fn shapely_arrondissements() -> (HashMap<String, Option<i64>>, Vec<String>) {
    let clients = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients");
    let python = clients.join(".venv/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/install-test-deps.sh", python.display());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(clients.join("spatial_join_check.py"))
            .arg(real(VELIB))
            .arg(real("paris_arrondissements_polygons.geojson"))
            .output()
            .expect("run tests/clients/spatial_join_check.py")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "spatial_join_check.py (shapely: run scripts/install-test-deps.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");
    let stations = report["stations"]
        .as_object()
        .expect("stations")
        .iter()
        .map(|(code, c_ar)| (code.clone(), c_ar.as_i64()))
        .collect();
    let on_boundary = report["on_boundary"]
        .as_array()
        .expect("on_boundary")
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (stations, on_boundary)
}

/// Every record of a dataset through the JSON export.
async fn all_records(server: &TestServer, id: &str) -> Vec<Value> {
    let (status, _, body) =
        server.get(&format!("/api/explore/v2.1/catalog/datasets/{id}/exports/json")).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Vec<Value>>(&body).expect("JSON export")
}

async fn field_names(server: &TestServer, id: &str) -> Vec<(String, String)> {
    let v = server.json(&format!("/api/explore/v2.1/catalog/datasets/{id}"), 200).await;
    v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_owned(), f["type"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_docs_example_gives_velib_stations_their_arrondissement() {
    let dir = tempfile::tempdir().unwrap();
    import(
        dir.path(),
        &real("paris_arrondissements_polygons.geojson"),
        "arrondissements",
        ImportOptions::default(),
    );
    import(dir.path(), &real(VELIB), "velib", ImportOptions::default());
    {
        let app = app_over(dir.path());
        let set = app.set_processors(&Editor::operator(), "velib", doc_example()).await;
        assert_eq!(set.expect("the example is accepted").steps.len(), 6);
    }
    // `kleber import` of an existing dataset runs its processors.
    let summary = import(dir.path(), &real(VELIB), "velib", ImportOptions::default());
    assert_eq!(summary.version, 2);
    let server = TestServer::start(dir).await;

    let fields = field_names(&server, "velib").await;
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(&names[..2], ["station", "c_ar"], "{names:?}");
    assert!(names.contains(&"l_ar") && names.contains(&"taux_velos"), "{names:?}");
    assert!(!names.contains(&"nom_station") && !names.contains(&"nom_communes_equipees"));
    assert!(fields.contains(&("taux_velos".to_owned(), "double".to_owned())), "{fields:?}");

    // Expected values from the raw file and the polygons, computed here.
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_path(real(VELIB)).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col =
        |name: &str| headers.iter().position(|h| h.trim_start_matches('\u{feff}') == name).unwrap();
    let (id_c, name_c, ok_c, cap_c, total_c, coord_c) = (
        col("Identifiant station"),
        col("Nom station"),
        col("Station en fonctionnement"),
        col("Capacité de la station"),
        col("Nombre total vélos disponibles"),
        col("Coordonnées géographiques"),
    );
    let shapes: Value = serde_json::from_str(
        &std::fs::read_to_string(real("paris_arrondissements_polygons.geojson")).unwrap(),
    )
    .unwrap();
    let features = shapes["features"].as_array().unwrap();
    let mut expected = HashMap::new();
    let mut row_count = 0;
    for row in reader.records() {
        let row = row.unwrap();
        row_count += 1;
        let capacity: i64 = row[cap_c].parse().unwrap();
        if &row[ok_c] == "NON" || capacity == 0 {
            continue;
        }
        let (lat, lon) = row[coord_c].split_once(',').unwrap();
        let (lat, lon): (f64, f64) = (lat.trim().parse().unwrap(), lon.trim().parse().unwrap());
        let arrondissement = features
            .iter()
            .find(|f| inside(&f["geometry"], lon, lat))
            .map(|f| f["properties"]["c_ar"].as_i64().unwrap());
        let total: f64 = row[total_c].parse().unwrap();
        expected.insert(
            row[id_c].to_owned(),
            (row[name_c].to_owned(), arrondissement, total / capacity as f64),
        );
    }
    let (by_shapely, on_boundary) = shapely_arrondissements().await;
    assert_eq!(by_shapely.len(), row_count, "Shapely saw every station of the file once");
    let records = all_records(&server, "velib").await;
    assert_eq!(records.len(), expected.len(), "skipped records: not running or no capacity");
    let mut in_paris = 0;
    for r in &records {
        let id = r["identifiant_station"].to_string().trim_matches('"').to_owned();
        let (name, arrondissement, rate) = &expected[&id];
        assert_eq!(r["station"].as_str(), Some(name.as_str()));
        // Shapely (GEOS) first: the reference; then the ray casting above (a point exactly on
        // an edge may go either way there, so it is only trusted off the boundaries).
        let shapely = by_shapely.get(&id).unwrap_or_else(|| panic!("station {id} by Shapely"));
        assert_eq!(r["c_ar"].as_i64(), *shapely, "station {id} {name} (Shapely): {r}");
        if !on_boundary.contains(&id) {
            assert_eq!(
                r["c_ar"].as_i64(),
                *arrondissement,
                "station {id} {name} (ray casting): {r}"
            );
        }
        assert!((r["taux_velos"].as_f64().unwrap() - rate).abs() < 1e-9, "{r}");
        if arrondissement.is_some() {
            in_paris += 1;
            assert!(r["l_ar"].as_str().unwrap().contains("Ardt"), "{r}");
        } else {
            assert!(r["l_ar"].is_null(), "{r}");
        }
    }
    // Vélib serves Paris and its neighbours: both kinds are there.
    assert!(in_paris > 500 && in_paris < records.len(), "{in_paris} of {}", records.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn join_split_geo_point_cast_and_dates_on_real_files() {
    let dir = tempfile::tempdir().unwrap();
    let parkings = "strasbourg_occupation-parkings-temps-reel.csv";
    import(
        dir.path(),
        &real("strasbourg_parkings_api-v1-search.json"),
        "lieux",
        ImportOptions::default(),
    );
    import(dir.path(), &real(parkings), "occupation", ImportOptions::default());
    let mut text_coords = ImportOptions::default();
    text_coords.type_overrides.insert("coordonnees_geographiques".to_owned(), FieldType::Text);
    import(dir.path(), &real(VELIB), "velib", text_coords.clone());
    let mut text_dates = ImportOptions::default();
    text_dates.type_overrides.insert("updatedate".to_owned(), FieldType::Text);
    let piscines = "strasbourg_frequentation-piscines-temps-reel_api-v1-download.json";
    import(dir.path(), &real(piscines), "piscines", text_dates.clone());
    {
        let app = app_over(dir.path());
        let op = Editor::operator();
        app.set_processors(
            &op,
            "occupation",
            json!({"version": 1, "steps": [
                {"kind": "join", "dataset": "lieux", "key": "idsurfs",
                 "fields": ["name", "zipcode"], "prefix": "lieu_"},
                {"kind": "cast", "field": "total", "to": "double"},
            ]}),
        )
        .await
        .unwrap();
        app.set_processors(
            &op,
            "velib",
            json!({"version": 1, "steps": [
                {"kind": "geo_point", "field": "position", "text": "coordonnees_geographiques"},
                {"kind": "split", "field": "nom_station", "separator": " - "},
            ]}),
        )
        .await
        .unwrap();
        app.set_processors(
            &op,
            "piscines",
            json!({"version": 1, "steps": [
                {"kind": "normalize_date", "field": "updatedate", "format": "%Y-%m-%d %H:%M:%S",
                 "to": "datetime", "timezone": "Europe/Paris"},
            ]}),
        )
        .await
        .unwrap();
    }
    import(dir.path(), &real(parkings), "occupation", ImportOptions::default());
    import(dir.path(), &real(VELIB), "velib", text_coords);
    import(dir.path(), &real(piscines), "piscines", text_dates);
    let server = TestServer::start(dir).await;

    // Join: each parking's name and zip code from the descriptions, by idsurfs.
    let lieux: Value = serde_json::from_str(
        &std::fs::read_to_string(real("strasbourg_parkings_api-v1-search.json")).unwrap(),
    )
    .unwrap();
    let by_id: HashMap<String, (String, String)> = lieux["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let f = &r["fields"];
            (
                f["idsurfs"].as_str().unwrap().to_owned(),
                (
                    f["name"].as_str().unwrap().to_owned(),
                    f["zipcode"].to_string().trim_matches('"').to_owned(),
                ),
            )
        })
        .collect();
    let fields = field_names(&server, "occupation").await;
    assert!(fields.contains(&("total".to_owned(), "double".to_owned())), "{fields:?}");
    let records = all_records(&server, "occupation").await;
    let mut matched = 0;
    for r in &records {
        match by_id.get(r["idsurfs"].as_str().unwrap()) {
            Some((name, zip)) => {
                matched += 1;
                assert_eq!(r["lieu_name"].as_str(), Some(name.as_str()), "{r}");
                assert_eq!(r["lieu_zipcode"].to_string().trim_matches('"'), zip, "{r}");
            }
            None => assert!(r["lieu_name"].is_null(), "{r}"),
        }
        assert!(r["total"].is_f64(), "{r}");
    }
    assert!(matched > 0, "no parking matched its description");

    // geo_point from the "lat, lon" text, split on " - ".
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_path(real(VELIB)).unwrap();
    let raw: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let records = all_records(&server, "velib").await;
    assert_eq!(records.len(), raw.len());
    let by_station: HashMap<String, &csv::StringRecord> =
        raw.iter().map(|r| (r[0].to_owned(), r)).collect();
    for r in &records {
        let row = by_station[r["identifiant_station"].to_string().trim_matches('"')];
        let (lat, lon) = row[11].split_once(',').unwrap();
        let p = &r["position"];
        assert!(
            (p["lat"].as_f64().unwrap() - lat.trim().parse::<f64>().unwrap()).abs() < 1e-9,
            "{r}"
        );
        assert!(
            (p["lon"].as_f64().unwrap() - lon.trim().parse::<f64>().unwrap()).abs() < 1e-9,
            "{r}"
        );
        let parts: Vec<&str> =
            row[1].split(" - ").map(str::trim).filter(|s| !s.is_empty()).collect();
        let got: Vec<&str> =
            r["nom_station"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(got, parts, "{r}");
    }

    // normalize_date: Paris local times become instants.
    let raw: Value =
        serde_json::from_str(&std::fs::read_to_string(real(piscines)).unwrap()).unwrap();
    let fields = field_names(&server, "piscines").await;
    assert!(fields.contains(&("updatedate".to_owned(), "datetime".to_owned())), "{fields:?}");
    let records = all_records(&server, "piscines").await;
    let raw = raw.as_array().cloned().unwrap_or_else(|| raw["records"].as_array().unwrap().clone());
    assert_eq!(records.len(), raw.len());
    for (r, source) in records.iter().zip(&raw) {
        let local = source["fields"]["updatedate"].as_str().unwrap();
        let naive = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S").unwrap();
        let paris: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
        let want = chrono::TimeZone::from_local_datetime(&paris, &naive).earliest().unwrap();
        let got = chrono::DateTime::parse_from_rfc3339(r["updatedate"].as_str().unwrap()).unwrap();
        assert_eq!(got.timestamp(), want.timestamp(), "{r} vs {local}");
    }
}

/// A server over `velib` (organization `ems`, public), `secret` (organization `autre`,
/// private) and `arrondissements` (public); keys of `ems`'s editor and `autre`'s admin.
struct Fixture {
    server: TestServer,
    editor: String,
    other: String,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    import(&path, &real(VELIB), "velib", ImportOptions::default());
    import(
        &path,
        &real("paris_arrondissements_polygons.geojson"),
        "arrondissements",
        ImportOptions::default(),
    );
    import(
        &path,
        &real("paris_arrondissements_polygons.geojson"),
        "secret",
        ImportOptions::default(),
    );
    let accounts = Accounts::new(Arc::new(Store::open(&path).unwrap()));
    let op = operator();
    crate::common::create_orgs(&accounts, &[("ems", "Eurométropole"), ("autre", "Autre")]);
    for (email, org) in [("editor@ems.example", "ems"), ("admin@autre.example", "autre")] {
        accounts.create_user(&op, email, None, false, None).unwrap();
        accounts
            .set_member(&op, org, email, if org == "ems" { Role::Editor } else { Role::Admin })
            .unwrap();
    }
    accounts.set_dataset_org(&op, "velib", "ems").unwrap();
    accounts.set_dataset_org(&op, "secret", "autre").unwrap();
    accounts.set_visibility(&op, "secret", Visibility::Restricted).unwrap();
    let editor = accounts
        .create_key(&op, "editor@ems.example", "t", &[Scope::Read, Scope::Write], None)
        .unwrap()
        .key;
    let other = accounts
        .create_key(
            &op,
            "admin@autre.example",
            "t",
            &[Scope::Read, Scope::Write, Scope::Admin],
            None,
        )
        .unwrap()
        .key;
    drop(accounts);
    let server = TestServer::start_with(dir, Limits::default(), Duration::from_secs(30)).await;
    Fixture { server, editor, other }
}

impl Fixture {
    async fn call(&self, method: &str, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{M}{path}", self.server.base);
        let mut request = self
            .server
            .client
            .request(method.parse().unwrap(), url)
            .header("Authorization", format!("Apikey {key}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_sets_previews_refuses_and_clears_pipelines() {
    let f = fixture().await;
    let path = "/datasets/velib/processors";
    let (status, body) = f.call("GET", path, &f.editor, None).await;
    assert_eq!((status, &body), (200, &json!({"version": 1, "steps": []})));

    // Bad pipelines: the step and the field named, nothing stored.
    let bad = [
        (
            json!({"version": 1, "steps": [{"kind": "explode", "field": "x"}]}),
            "step 1: unknown kind `explode`",
        ),
        (
            json!({"version": 1, "steps": [{"kind": "rename", "field": "nom_station", "to": "station"},
                                         {"kind": "cast", "field": "capacite", "to": "int"}]}),
            "step 2 (cast), field `capacite`: no such field",
        ),
        (
            json!({"version": 1, "steps": [{"kind": "compute", "field": "x", "expression": "nope(1"}]}),
            "step 1 (compute), field `x`",
        ),
        (
            json!({"version": 1, "steps": [{"kind": "skip", "condition": "capacite_de_la_station"}]}),
            "step 1 (skip)",
        ),
        (
            json!({"version": 1, "steps": [{"kind": "join", "dataset": "secret", "key": "nom_station", "fields": ["l_ar"]}]}),
            "dataset `secret` does not exist, has no published version, or you may not read it",
        ),
        (
            json!({"version": 1, "steps": [{"kind": "join", "dataset": "velib", "key": "nom_station", "fields": ["l_ar"]}]}),
            "cannot be joined to itself",
        ),
        (
            json!({"version": 1, "steps": [{"kind": "spatial_join", "dataset": "nowhere", "fields": ["l_ar"]}]}),
            "dataset `nowhere` does not exist",
        ),
        (json!({"version": 2, "steps": []}), "pipeline version 2"),
        (
            json!({"version": 1, "steps": vec![json!({"kind": "drop", "fields": ["a"]}); 51]}),
            "at most 50",
        ),
    ];
    for (pipeline, needle) in bad {
        let (status, body) = f.call("PUT", path, &f.editor, Some(pipeline.clone())).await;
        assert_eq!(status, 400, "{pipeline}: {body}");
        assert_eq!(body["error_code"], "InvalidRequestBody");
        assert!(body["message"].as_str().unwrap().contains(needle), "{needle}: {body}");
    }
    let (_, body) = f.call("GET", path, &f.editor, None).await;
    assert_eq!(body["steps"], json!([]), "nothing was stored");

    // The private dataset's own admin may join it... into a dataset they edit: not velib.
    let (status, _) = f.call("PUT", path, &f.other, Some(json!({"version": 1, "steps": []}))).await;
    assert_eq!(status, 403);

    // Preview before storing: the first rows before and after.
    let steps = json!([{"kind": "spatial_join", "dataset": "arrondissements", "fields": ["c_ar"]},
                       {"kind": "rename", "field": "nom_station", "to": "station"}]);
    let (status, preview) = f
        .call(
            "POST",
            &format!("{path}/preview"),
            &f.editor,
            Some(json!({"steps": steps, "rows": 5})),
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["rows_before"].as_array().unwrap().len(), 5);
    assert_eq!(preview["rows_after"].as_array().unwrap().len(), 5);
    let after: Vec<&str> = preview["fields_after"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(after.contains(&"station") && after.last() == Some(&"c_ar"), "{after:?}");
    // The first station (Benjamin Godard - Victor Hugo) is in the 16th.
    let c_ar = after.iter().position(|n| *n == "c_ar").unwrap();
    assert_eq!(preview["rows_after"][0][c_ar], "16", "{preview}");
    let (status, body) =
        f.call("POST", &format!("{path}/preview"), &f.editor, Some(json!({"rows": 101}))).await;
    assert_eq!(status, 400, "{body}");

    // Stored, shown, then a failing pipeline at publish keeps the version.
    let (status, body) =
        f.call("PUT", path, &f.editor, Some(json!({"version": 1, "steps": steps}))).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = f.call("GET", path, &f.editor, None).await;
    assert_eq!(body["steps"].as_array().unwrap().len(), 2);
    let (status, body) = f.call("DELETE", path, &f.editor, None).await;
    assert_eq!((status, &body["cleared"]), (200, &json!(true)));
    let (_, body) = f.call("GET", path, &f.editor, None).await;
    assert_eq!(body["steps"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_pipeline_at_publish_keeps_the_current_version() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &real(VELIB), "velib", ImportOptions::default());
    {
        // Accepted (names and types fit), but a station name is no integer: only the data
        // says so, at the next publication.
        let app = app_over(dir.path());
        app.set_processors(
            &Editor::operator(),
            "velib",
            json!({"version": 1, "steps": [
            {"kind": "rename", "field": "nom_station", "to": "station"},
            {"kind": "cast", "field": "station", "to": "int"}]}),
        )
        .await
        .unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let request = kleber_server::import::ImportRequest {
        path: real(VELIB),
        dataset: "velib".to_owned(),
        title: None,
        options: ImportOptions::default(),
        unique_id: None,
        crash: None,
    };
    let e = kleber_server::import::import_file(&store, &request, &mut |_| {}).unwrap_err();
    let message = format!("{e:#}");
    assert!(
        message.contains("step 2 (cast)")
            && message.contains("`station`")
            && message.contains("current version stays"),
        "{message}"
    );
    let current = store.get_dataset("velib").unwrap().unwrap();
    assert_eq!(current.version.number, 1);
    assert!(current.version.fields.iter().any(|f| f.name == "nom_station"));
}

/// geo_point from two separate fields (issue 14 item 3): no real file has separate latitude
/// and longitude columns, so the Vélib CSV's "lat, lon" column is split into two by the
/// test's own code (backoffice_panels.rs); every station's point must be the coordinates
/// read from the file, and a distance query through the engine finds a station at its point.
#[tokio::test(flavor = "multi_thread")]
async fn geo_point_from_separate_latitude_and_longitude_fields_on_the_velib_stations() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, stations) = crate::backoffice_panels::velib_with_lat_lon(dir.path());
    import(dir.path(), &csv, "stations", ImportOptions::default());
    {
        let app = app_over(dir.path());
        app.set_processors(
            &Editor::operator(),
            "stations",
            json!({"version": 1, "steps": [
                {"kind": "geo_point", "field": "position",
                 "latitude": "latitude_station", "longitude": "longitude_station"},
            ]}),
        )
        .await
        .unwrap();
    }
    import(dir.path(), &csv, "stations", ImportOptions::default());
    let server = TestServer::start(dir).await;
    let fields = field_names(&server, "stations").await;
    assert!(fields.contains(&("position".to_owned(), "geo_point_2d".to_owned())), "{fields:?}");
    let records = all_records(&server, "stations").await;
    assert_eq!(records.len(), stations.len());
    let by_id: HashMap<String, &crate::backoffice_panels::Station> =
        stations.iter().map(|s| (s.id.clone(), s)).collect();
    for r in &records {
        let s = by_id[&r["identifiant_station"].to_string()];
        let (lat, lon): (f64, f64) = (s.lat.parse().unwrap(), s.lon.parse().unwrap());
        assert_eq!(r["position"]["lat"].as_f64(), Some(lat), "{r}");
        assert_eq!(r["position"]["lon"].as_f64(), Some(lon), "{r}");
        assert_eq!(r["latitude_station"].as_f64(), Some(lat), "the source fields stay");
    }
    let first = &stations[0];
    let near = server
        .json(
            &format!(
                "/api/explore/v2.1/catalog/datasets/stations/records?select=identifiant_station&where=within_distance(position,geom'POINT({} {})',5m)",
                first.lon, first.lat
            ),
            200,
        )
        .await;
    let ids: Vec<String> = near["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["identifiant_station"].to_string())
        .collect();
    assert!(ids.contains(&first.id), "{near}");
}
