//! Three defects of issue 13, each shown by a real server: a facet removed through an
//! upload's schema stays removed at the next publish (the annotation carry-over no longer
//! undoes the publisher's decision), and records pushed to a dataset with a derived
//! geo_point_2d get it computed as an import does (from latitude/longitude fields, from the
//! centroid of a geo_shape). The third, GeoParquet in Lambert 93, is tested in kleber-ingest
//! (`formats::geoparquet_in_lambert_93_is_reprojected_to_wgs84`).

use std::time::Duration;

use kleber_app::accounts::{Accounts, operator};
use kleber_app::push::PushLimits;
use kleber_ingest::ImportOptions;
use kleber_query::Limits;
use kleber_server::import::{ImportRequest, import_file};
use kleber_store::{Role, Scope, Store};
use serde_json::{Value, json};

use crate::common::TestServer;

const API: &str = "/api/management/v1";

async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    key: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let response = server
        .client
        .request(method, format!("{}{path}", server.base))
        .header("Authorization", format!("Apikey {key}"))
        .body(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}")))
}

/// Uploads `csv`, sets `schema`, publishes it as a version of `dataset`; the new version.
async fn publish(server: &TestServer, key: &str, dataset: &str, csv: &str, schema: Value) -> i64 {
    let (status, up) = call(
        server,
        reqwest::Method::POST,
        &format!("{API}/uploads?filename=data.csv"),
        key,
        csv.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 201, "{up}");
    let id = up["upload_id"].as_str().expect("id").to_owned();
    let (status, fixed) = call(
        server,
        reqwest::Method::PUT,
        &format!("{API}/uploads/{id}/schema"),
        key,
        schema.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{fixed}");
    let body = json!({"upload": id, "organization": "ems"}).to_string().into_bytes();
    let (status, published) = call(
        server,
        reqwest::Method::POST,
        &format!("{API}/datasets/{dataset}/versions"),
        key,
        body,
    )
    .await;
    assert_eq!(status, 201, "{published}");
    published["version"].as_i64().expect("version")
}

fn field<'a>(dataset: &'a Value, name: &str) -> &'a Value {
    dataset["fields"].as_array().expect("fields").iter().find(|f| f["name"] == name).expect(name)
}

#[tokio::test]
async fn a_facet_removed_through_the_upload_schema_stays_removed_at_the_next_publish() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let accounts = Accounts::new(std::sync::Arc::new(store));
    let op = operator();
    let org = kleber_store::NewOrganization {
        id: "ems",
        name: "Eurométropole",
        kind: kleber_store::OrgKind::Metropolis,
        description: None,
        website: None,
        logo: None,
    };
    accounts.create_org(&op, &org).expect("org");
    accounts.create_user(&op, "editor@ems.example", None, false, None).expect("user");
    accounts.set_member(&op, "ems", "editor@ems.example", Role::Editor).expect("member");
    let key = accounts
        .create_key(&op, "editor@ems.example", "tests", &[Scope::Read, Scope::Write], None)
        .expect("key")
        .key;
    drop(accounts);
    let server = TestServer::start(dir).await;
    let csv =
        "nom;commune;places\nA;Strasbourg;1\nB;Schiltigheim;2\nC;Strasbourg;3\nD;Illkirch;4\n";
    let first = json!({"fields": [
        {"name": "nom", "facet": true},
        {"name": "commune", "facet": true, "facet_sort": "alphanum"}
    ]});
    assert_eq!(publish(&server, &key, "parkings", csv, first).await, 1);
    let ds = server.json("/api/explore/v2.1/catalog/datasets/parkings", 200).await;
    assert!(field(&ds, "nom")["annotations"].get("facet").is_some(), "{ds}");

    // The publisher removes the facet of `nom`, and says nothing of `commune`'s sort.
    let second = json!({"fields": [{"name": "nom", "facet": false}]});
    assert_eq!(publish(&server, &key, "parkings", csv, second).await, 2);
    let ds = server.json("/api/explore/v2.1/catalog/datasets/parkings", 200).await;
    let nom = field(&ds, "nom");
    assert!(nom["annotations"].get("facet").is_none(), "the removed facet came back: {nom}");
    // What the publisher left alone is still carried over from the previous version.
    let commune = field(&ds, "commune");
    assert_eq!(commune["annotations"]["facetsort"], json!(["alphanum"]), "{commune}");
    let facets = server.json("/api/explore/v2.1/catalog/datasets/parkings/facets", 200).await;
    let names: Vec<&str> =
        facets["facets"].as_array().unwrap().iter().filter_map(|f| f["name"].as_str()).collect();
    assert!(!names.contains(&"nom") && names.contains(&"commune"), "{facets}");
}

/// Dataset `live` of `dir` imported from `csv` with `id` as its unique id, a push key for it,
/// and a server whose pushes wait 100 ms for others.
async fn live(csv: &str) -> (TestServer, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.csv");
    std::fs::write(&path, csv).unwrap();
    let store = Store::open(dir.path()).unwrap();
    let request = ImportRequest {
        path,
        dataset: "live".to_owned(),
        title: None,
        options: ImportOptions::default(),
        unique_id: Some("id".to_owned()),
        crash: None,
    };
    import_file(&store, &request, &mut |_| {}).unwrap();
    let key = kleber_app::push::create_key(&store, &operator(), "live").unwrap();
    drop(store);
    let server =
        TestServer::start_configured(dir, Limits::default(), Duration::from_secs(30), |state| {
            state.app.set_push_limits(PushLimits {
                window: Duration::from_millis(100),
                max_records: 1000,
            });
            state
        })
        .await;
    (server, key)
}

async fn push(server: &TestServer, key: &str, records: Value) -> Value {
    let response = server
        .client
        .post(format!("{}/api/push/1.0/live/realtime/push/?pushkey={key}", server.base))
        .json(&records)
        .send()
        .await
        .expect("push");
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 200, "{body}");
    body
}

fn point(record: &Value) -> (f64, f64) {
    let p = &record["geo_point_2d"];
    (p["lat"].as_f64().unwrap_or(f64::NAN), p["lon"].as_f64().unwrap_or(f64::NAN))
}

#[tokio::test]
async fn pushed_records_get_the_point_derived_from_latitude_and_longitude() {
    let (server, key) = live("id;name;lat;lon\n1;a;48.58;7.75\n2;b;48.60;7.70\n").await;
    let before = server.records("live", "where=id=1").await;
    assert_eq!(point(&before[0]), (48.58, 7.75), "the import derives it: {before:?}");
    let body = push(
        &server,
        &key,
        json!([{"id": 3, "name": "c", "lat": 48.5, "lon": 7.6},
               {"id": 2, "name": "b2", "lat": "48.61", "lon": "7.71"},
               {"id": 4, "name": "d"}]),
    )
    .await;
    assert_eq!(body["accepted"], 3, "{body}");
    let rows = server.records("live", "order_by=id").await;
    let points: Vec<(i64, Option<(f64, f64)>)> = rows
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), (!r["geo_point_2d"].is_null()).then(|| point(r))))
        .collect();
    assert_eq!(
        points,
        vec![
            (1, Some((48.58, 7.75))),
            (2, Some((48.61, 7.71))),
            (3, Some((48.5, 7.6))),
            // Without coordinates the point is null, as an import leaves it.
            (4, None),
        ]
    );
}

#[tokio::test]
async fn pushed_records_get_the_point_at_their_shapes_centroid_unless_they_give_one() {
    let square = |x: f64, y: f64| json!({"type": "Polygon", "coordinates": [[[x, y], [x + 0.02, y], [x + 0.02, y + 0.02], [x, y + 0.02], [x, y]]]});
    // The shape as a quoted CSV cell (quotes doubled).
    let cell = format!("\"{}\"", square(7.7, 48.5).to_string().replace('"', "\"\""));
    let csv = format!("id;name;geo_point_2d;geo_shape\n1;a;48.51, 7.71;{cell}\n");
    let (server, key) = live(&csv).await;
    let ds = server.json("/api/explore/v2.1/catalog/datasets/live", 200).await;
    assert_eq!(field(&ds, "geo_shape")["type"], "geo_shape", "{ds}");
    assert_eq!(field(&ds, "geo_point_2d")["type"], "geo_point_2d", "{ds}");
    let body = push(
        &server,
        &key,
        json!([{"id": 2, "name": "b", "geo_shape": square(7.6, 48.4)},
               {"id": 3, "name": "c", "geo_shape": square(7.6, 48.4),
                "geo_point_2d": {"lat": 48.0, "lon": 7.0}}]),
    )
    .await;
    assert_eq!(body["accepted"], 2, "{body}");
    let rows = server.records("live", "order_by=id").await;
    let (lat, lon) = point(&rows[1]);
    assert!((lat - 48.41).abs() < 1e-9 && (lon - 7.61).abs() < 1e-9, "{:?}", rows[1]);
    // A point the record gives is kept as given.
    assert_eq!(point(&rows[2]), (48.0, 7.0), "{:?}", rows[2]);
}
