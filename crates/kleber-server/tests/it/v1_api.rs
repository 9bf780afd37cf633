//! The Search API v1 against the real Vélib' export: counts, values and shapes checked against
//! expectations computed here from the CSV file itself.

use std::collections::{BTreeMap, BTreeSet};

use kleber_ingest::ImportOptions;
use serde_json::Value;

use crate::common::{TestServer, enc, import, real};

const VELIB: &str = "paris_velib-disponibilite-en-temps-reel_utf8-bom.csv";

/// One row of the Vélib' file, read independently of Kleber.
pub(crate) struct Station {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) working: String,
    pub(crate) capacity: i64,
    pub(crate) updated: chrono::DateTime<chrono::FixedOffset>,
    pub(crate) lat: f64,
    pub(crate) lon: f64,
    pub(crate) commune: String,
}

/// The stations of the real file.
pub(crate) fn stations() -> Vec<Station> {
    let text = std::fs::read_to_string(real(VELIB)).expect("read velib");
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| {
            let r = r.expect("csv row");
            let (lat, lon) = r[11].split_once(',').expect("lat, lon");
            Station {
                id: r[0].parse().expect("id"),
                name: r[1].to_owned(),
                working: r[2].to_owned(),
                capacity: r[3].parse().expect("capacity"),
                updated: chrono::DateTime::parse_from_rfc3339(&r[10]).expect("datetime"),
                lat: lat.trim().parse().expect("lat"),
                lon: lon.trim().parse().expect("lon"),
                commune: r[12].to_owned(),
            }
        })
        .collect()
}

/// The words of a text, lowercased (what a word query matches, without stemming).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Great-circle distance in meters.
pub(crate) fn haversine(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * a.sqrt().asin()
}

pub(crate) async fn velib_server() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &real(VELIB), "velib", ImportOptions::default());
    TestServer::start(dir).await
}

async fn search(server: &TestServer, query: &str) -> Value {
    server.json(&format!("/api/records/1.0/search/?dataset=velib&{query}"), 200).await
}

async fn nhits(server: &TestServer, query: &str) -> u64 {
    search(server, &format!("rows=0&{query}")).await["nhits"].as_u64().expect("nhits")
}

/// Station ids of every record matching `query` (at most 10 000).
async fn ids(server: &TestServer, query: &str) -> BTreeSet<i64> {
    let v = search(server, &format!("rows=10000&fields=identifiant_station&{query}")).await;
    v["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["fields"]["identifiant_station"].as_i64().expect("id"))
        .collect()
}

#[tokio::test]
async fn v1_search_shape_and_values_follow_the_file() {
    let stations = stations();
    let server = velib_server().await;
    let v = search(&server, "rows=1").await;
    assert_eq!(v["nhits"], stations.len() as u64);
    assert_eq!(v["parameters"]["dataset"], serde_json::json!("velib"));
    assert_eq!(v["parameters"]["rows"], 1);
    assert_eq!(v["parameters"]["format"], "json");
    assert_eq!(v["parameters"]["timezone"], "UTC");
    assert!(v.get("facet_groups").is_none());
    let record = &v["records"][0];
    assert_eq!(record["datasetid"], "velib");
    let rid = record["recordid"].as_str().expect("recordid");
    assert!(rid.len() == 40 && rid.bytes().all(|b| b.is_ascii_hexdigit()), "{rid}");
    assert!(record["record_timestamp"].as_str().expect("timestamp").ends_with("+00:00"));

    // One station, every value checked against the file.
    let s = stations.iter().find(|s| s.id == 16107).expect("station 16107");
    let v = search(&server, "q=identifiant_station:16107").await;
    assert_eq!(v["nhits"], 1);
    let r = &v["records"][0];
    let f = &r["fields"];
    assert_eq!(f["nom_station"], s.name.as_str());
    assert_eq!(f["capacite_de_la_station"], s.capacity);
    assert_eq!(f["coordonnees_geographiques"], serde_json::json!([s.lat, s.lon]));
    assert_eq!(r["geometry"], serde_json::json!({"type": "Point", "coordinates": [s.lon, s.lat]}));
    assert_eq!(
        f["actualisation_de_la_donnee"],
        s.updated.with_timezone(&chrono::Utc).format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    );
    // Null values are left out of `fields` (the INSEE code column is empty in the file).
    assert!(f.get("code_insee_communes_equipees").is_none(), "{f}");

    // The record lookup answers the same record.
    let rid = r["recordid"].as_str().unwrap();
    let one = server.json(&format!("/api/datasets/1.0/velib/records/{rid}"), 200).await;
    assert_eq!(&one, r);
    let missing =
        server.json(&format!("/api/datasets/1.0/velib/records/{}", "0".repeat(40)), 404).await;
    assert_eq!(missing["errorcode"], 404);

    // Timezone renders datetimes and record_timestamp at the zone's offset.
    let v = search(&server, "q=identifiant_station:16107&timezone=Europe/Paris").await;
    assert_eq!(
        v["records"][0]["fields"]["actualisation_de_la_donnee"],
        s.updated.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
    );
    assert!(
        v["records"][0]["record_timestamp"].as_str().unwrap().ends_with("+01:00")
            || v["records"][0]["record_timestamp"].as_str().unwrap().ends_with("+02:00")
    );
}

#[tokio::test]
async fn v1_q_language_counts_match_the_file() {
    let stations = stations();
    let server = velib_server().await;
    let count =
        |pred: &dyn Fn(&Station) -> bool| stations.iter().filter(|s| pred(s)).count() as u64;

    // Words: full text over the text fields.
    let rosny = count(&|s| {
        words(&s.name).contains(&"rosny".into()) || words(&s.commune).contains(&"rosny".into())
    });
    assert!(rosny > 0);
    assert_eq!(nhits(&server, "q=rosny").await, rosny);
    assert_eq!(nhits(&server, "q=ROSNY").await, rosny, "case-insensitive");
    // field:value on text matches the words of the field.
    let paris = count(&|s| words(&s.commune).contains(&"paris".into()));
    assert_eq!(nhits(&server, &format!("q={}", enc("nom_communes_equipees:Paris"))).await, paris);
    // Numbers: equality, comparisons, ranges.
    let big = count(&|s| s.capacity >= 40);
    assert_eq!(nhits(&server, &format!("q={}", enc("capacite_de_la_station>=40"))).await, big);
    assert_eq!(
        nhits(&server, &format!("q={}", enc("capacite_de_la_station<40"))).await,
        stations.len() as u64 - big
    );
    assert_eq!(
        nhits(&server, &format!("q={}", enc("capacite_de_la_station:[20 TO 30]"))).await,
        count(&|s| (20..=30).contains(&s.capacity))
    );
    assert_eq!(
        nhits(&server, &format!("q={}", enc("capacite_de_la_station:{20 TO 30}"))).await,
        count(&|s| s.capacity > 20 && s.capacity < 30)
    );
    // Booleans and precedence: NOT > AND > OR.
    assert_eq!(
        nhits(
            &server,
            &format!("q={}", enc("capacite_de_la_station>=40 AND NOT nom_communes_equipees:Paris"))
        )
        .await,
        count(&|s| s.capacity >= 40 && !words(&s.commune).contains(&"paris".into()))
    );
    assert_eq!(
        nhits(&server, &format!("q={}", enc("station_en_fonctionnement:NON OR capacite_de_la_station>=60 AND nom_communes_equipees:Paris"))).await,
        count(&|s| s.working == "NON" || (s.capacity >= 60 && s.commune == "Paris"))
    );
    assert_eq!(
        nhits(&server, &format!("q={}", enc("(station_en_fonctionnement:NON OR capacite_de_la_station>=60) nom_communes_equipees:Paris"))).await,
        count(&|s| (s.working == "NON" || s.capacity >= 60) && s.commune == "Paris")
    );
    // q.<anything> is ANDed with q.
    assert_eq!(
        nhits(
            &server,
            &format!(
                "q={}&q.extra={}",
                enc("capacite_de_la_station>=40"),
                enc("nom_communes_equipees:Paris")
            )
        )
        .await,
        count(&|s| s.capacity >= 40 && s.commune == "Paris")
    );
    // Dates: a day, and comparisons in the request's time zone.
    let utc = |s: &Station| s.updated.with_timezone(&chrono::Utc);
    let day = chrono::NaiveDate::from_ymd_opt(2023, 9, 29).unwrap();
    let on_day = count(&|s| utc(s).date_naive() == day);
    assert!(on_day > 0);
    assert_eq!(
        nhits(&server, &format!("q={}", enc("actualisation_de_la_donnee:2023/09/29"))).await,
        on_day
    );
    let cut = chrono::DateTime::parse_from_rfc3339("2023-09-29T07:00:00+00:00").unwrap();
    assert_eq!(
        nhits(
            &server,
            &format!("q={}", enc("actualisation_de_la_donnee>=2023-09-29T07:00:00+00:00"))
        )
        .await,
        count(&|s| s.updated >= cut)
    );
    // Functions.
    assert_eq!(
        nhits(&server, &format!("q={}", enc("#startswith(nom_station, \"Mairie\")"))).await,
        count(&|s| s.name.starts_with("Mairie"))
    );
    assert_eq!(
        nhits(&server, &format!("q={}", enc("#exact(nom_communes_equipees, \"Paris\")"))).await,
        count(&|s| s.commune == "Paris")
    );
    assert_eq!(nhits(&server, &format!("q={}", enc("#null(nom_communes_equipees)"))).await, 0);
}

#[tokio::test]
async fn v1_refine_exclude_facets_and_disjunctive() {
    let stations = stations();
    let server = velib_server().await;
    let n = |commune: &str| stations.iter().filter(|s| s.commune == commune).count() as u64;
    assert_eq!(nhits(&server, "refine.nom_communes_equipees=Paris").await, n("Paris"));
    assert_eq!(
        nhits(&server, "exclude.nom_communes_equipees=Paris").await,
        stations.len() as u64 - n("Paris")
    );
    // Two refinements of one facet: ANDed (no station is in both), ORed when disjunctive.
    let both = "refine.nom_communes_equipees=Pantin&refine.nom_communes_equipees=Montreuil";
    assert_eq!(nhits(&server, both).await, 0);
    assert_eq!(
        nhits(&server, &format!("{both}&disjunctive.nom_communes_equipees=true")).await,
        n("Pantin") + n("Montreuil")
    );

    let v = search(
        &server,
        "rows=0&facet=station_en_fonctionnement&refine.station_en_fonctionnement=NON",
    )
    .await;
    assert_eq!(v["parameters"]["refine"], serde_json::json!({"station_en_fonctionnement": "NON"}));
    assert_eq!(v["parameters"]["facet"], serde_json::json!(["station_en_fonctionnement"]));
    let group = &v["facet_groups"][0];
    assert_eq!(group["name"], "station_en_fonctionnement");
    let non = stations.iter().filter(|s| s.working == "NON").count() as u64;
    assert_eq!(v["nhits"], non);
    let values = group["facets"].as_array().expect("facets");
    let by_name: BTreeMap<&str, &Value> =
        values.iter().map(|f| (f["name"].as_str().unwrap(), f)).collect();
    assert_eq!(by_name["NON"]["count"], non);
    assert_eq!(by_name["NON"]["path"], "NON");
    assert_eq!(by_name["NON"]["state"], "refined");

    // Without refinement the facet counts every value of the file.
    let v = search(&server, "rows=0&facet=station_en_fonctionnement").await;
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for s in &stations {
        *expected.entry(s.working.clone()).or_default() += 1;
    }
    let got: BTreeMap<String, u64> = v["facet_groups"][0]["facets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_owned(), f["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn v1_geofilters_match_haversine_and_bounds() {
    let stations = stations();
    let server = velib_server().await;
    let (lat, lon, radius) = (48.8566, 2.3522, 1500.0);
    let got =
        ids(&server, &format!("geofilter.distance={}", enc(&format!("{lat},{lon},{radius}"))))
            .await;
    assert!(!got.is_empty());
    for s in &stations {
        let d = haversine(lat, lon, s.lat, s.lon);
        // Earth models differ by well under 0.5 %; the margin keeps boundary stations out.
        if d < radius * 0.995 {
            assert!(got.contains(&s.id), "station {} at {d:.0} m is missing", s.id);
        } else if d > radius * 1.005 {
            assert!(!got.contains(&s.id), "station {} at {d:.0} m is included", s.id);
        }
    }
    let (south, west, north, east) = (48.85, 2.33, 48.87, 2.36);
    let inside = |s: &Station| s.lat > south && s.lat < north && s.lon > west && s.lon < east;
    let expected: BTreeSet<i64> = stations.iter().filter(|s| inside(s)).map(|s| s.id).collect();
    assert!(!expected.is_empty());
    let polygon = format!("({south},{west}),({north},{west}),({north},{east}),({south},{east})");
    assert_eq!(ids(&server, &format!("geofilter.polygon={}", enc(&polygon))).await, expected);
    let bbox = format!("{south},{west},{north},{east}");
    assert_eq!(ids(&server, &format!("geofilter.bbox={}", enc(&bbox))).await, expected);
    let v = search(&server, &format!("rows=0&geofilter.bbox={}", enc(&bbox))).await;
    assert_eq!(v["parameters"]["geofilter.bbox"], serde_json::json!([bbox]));
}

#[tokio::test]
async fn v1_sort_rows_start_and_fields() {
    let stations = stations();
    let server = velib_server().await;
    let mut by_id: Vec<i64> = stations.iter().map(|s| s.id).collect();
    by_id.sort_unstable();
    let page = |v: &Value| -> Vec<i64> {
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["fields"]["identifiant_station"].as_i64().unwrap())
            .collect()
    };
    // v1 sorts descending by default, ascending with a leading `-`.
    let v = search(&server, "sort=identifiant_station&rows=3").await;
    assert_eq!(page(&v), by_id.iter().rev().take(3).copied().collect::<Vec<_>>());
    let v = search(&server, "sort=-identifiant_station&rows=4&start=2").await;
    assert_eq!(page(&v), by_id[2..6].to_vec());
    assert_eq!(v["parameters"]["start"], 2);
    assert_eq!(v["parameters"]["sort"], serde_json::json!(["-identifiant_station"]));
    // fields restricts `fields`; geometry stays.
    let v = search(&server, "fields=nom_station,capacite_de_la_station&rows=2").await;
    for r in v["records"].as_array().unwrap() {
        let keys: BTreeSet<&str> =
            r["fields"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(["nom_station", "capacite_de_la_station"]));
        assert_eq!(r["geometry"]["type"], "Point");
    }
    assert_eq!(
        search(&server, "rows=10000").await["records"].as_array().unwrap().len(),
        stations.len()
    );
}

#[tokio::test]
async fn v1_jsonp_and_errors() {
    let server = velib_server().await;
    let (status, content_type, body) =
        server.get("/api/records/1.0/search/?dataset=velib&rows=1&callback=app.onData_1").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("application/javascript"), "{content_type}");
    let inner =
        body.strip_prefix("/**/app.onData_1(").and_then(|b| b.strip_suffix(");")).expect(&body);
    let v: Value = serde_json::from_str(inner).expect("JSON inside the callback");
    assert_eq!(v["nhits"], 1472);

    let cases: &[(&str, u16, &str)] = &[
        ("/api/records/1.0/search/?dataset=velib&callback=alert(1)", 400, "callback"),
        ("/api/records/1.0/search/?dataset=velib&callback=%3C%2Fscript%3E", 400, "callback"),
        ("/api/records/1.0/search/?dataset=nope", 404, "nope"),
        ("/api/records/1.0/search/", 400, "dataset"),
        ("/api/records/1.0/search/?dataset=velib&rows=10001", 400, "rows"),
        ("/api/records/1.0/search/?dataset=velib&rows=100&start=9901", 400, "start"),
        ("/api/records/1.0/search/?dataset=velib&q=inconnu:1", 400, "inconnu"),
        ("/api/records/1.0/search/?dataset=velib&q=%28a+OR+b", 400, "parenthesis"),
        (
            "/api/records/1.0/search/?dataset=velib&q=capacite_de_la_station:abc",
            400,
            "not a number",
        ),
        (
            "/api/records/1.0/search/?dataset=velib&geofilter.distance=95,2,10",
            400,
            "geofilter.distance",
        ),
        ("/api/records/1.0/search/?dataset=velib&sort=inconnu", 400, "sort"),
        ("/api/records/1.0/search/?dataset=velib&format=xml", 400, "format"),
        ("/api/records/1.0/search/?dataset=velib&timezone=Mars/Olympus", 400, "timezone"),
        ("/api/datasets/1.0/nope/", 404, "nope"),
        ("/api/datasets/1.0/velib/attachments/notice_pdf", 404, "attachment"),
        ("/api/datasets/1.0/velib/alternative_exports/velib_geojson", 404, "alternative export"),
        ("/explore/dataset/nope/download/?format=csv", 404, "nope"),
    ];
    for (path, status, needle) in cases {
        let body = server.json(path, *status).await;
        assert_eq!(body["errorcode"], *status, "{path}: {body}");
        let message = body["error"].as_str().unwrap_or_else(|| panic!("{path}: {body}"));
        assert!(message.contains(needle), "{path}: {message}");
    }
    // The server still answers after every bad request.
    assert_eq!(nhits(&server, "").await, 1472);
}

#[tokio::test]
async fn v1_downloads_stream_every_matching_record() {
    let stations = stations();
    let server = velib_server().await;
    let paris = stations.iter().filter(|s| s.commune == "Paris").count();
    // JSON: an array of v1 records.
    let (status, content_type, body) = server
        .get("/api/records/1.0/download/?dataset=velib&format=json&refine.nom_communes_equipees=Paris")
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("application/json"));
    let records: Vec<Value> = serde_json::from_str(&body).expect("JSON array");
    assert_eq!(records.len(), paris);
    assert!(
        records
            .iter()
            .all(|r| r["fields"]["nom_communes_equipees"] == "Paris" && r["datasetid"] == "velib")
    );
    // Compressed when asked (body layers may poll the stream again after its end).
    let response = server
        .client
        .get(format!("{}/api/records/1.0/download/?dataset=velib&format=json", server.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0x1f, 0x8b]) && bytes.len() > 1000);
    // CSV through the legacy URL: separator, labels, no BOM, every row.
    let (status, content_type, body) = server
        .get("/explore/dataset/velib/download/?format=csv&csv_separator=,&use_labels_for_header=true")
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    assert!(!body.starts_with('\u{feff}'));
    let mut reader = csv::ReaderBuilder::new().delimiter(b',').from_reader(body.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert!(header.iter().any(|h| h == "Capacité de la station"), "{header:?}");
    assert_eq!(reader.records().count(), stations.len());
    // Other formats are the v2.1 exports of the same query: GeoJSON here.
    let (status, content_type, body) = server
        .get("/explore/dataset/velib/download/?format=geojson&refine.nom_communes_equipees=Paris")
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.contains("json"), "{content_type}");
    let geojson: Value = serde_json::from_str(&body).expect("GeoJSON");
    assert_eq!(geojson["type"], "FeatureCollection");
    assert_eq!(geojson["features"].as_array().unwrap().len(), paris);
    let s = stations.iter().find(|s| s.id == 16107).unwrap();
    let feature = geojson["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["identifiant_station"] == 16107)
        .expect("station 16107");
    assert_eq!(feature["geometry"]["coordinates"], serde_json::json!([s.lon, s.lat]));
    // v1 filters apply to the legacy URL too, and the trailing slash is optional.
    let (status, _, body) = server
        .get(&format!(
            "/explore/dataset/velib/download?format=csv&q={}",
            enc("capacite_de_la_station>=40")
        ))
        .await;
    assert_eq!(status, 200);
    let rows =
        csv::ReaderBuilder::new().delimiter(b';').from_reader(body.as_bytes()).records().count();
    assert_eq!(rows, stations.iter().filter(|s| s.capacity >= 40).count());
}

#[tokio::test]
async fn v1_datasets_analyze_and_map_helpers() {
    let stations = stations();
    let server = velib_server().await;
    let v = server.json("/api/datasets/1.0/search/?q=velib", 200).await;
    assert_eq!(v["nhits"], 1, "{v}");
    assert_eq!(v["parameters"]["q"], "velib");
    let v = server.json("/api/datasets/1.0/search/?refine.features=geo&facet=features", 200).await;
    assert_eq!(v["nhits"], 1, "{v}");
    assert!(
        v["facet_groups"][0]["facets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "geo" && f["state"] == "refined"),
        "{v}"
    );
    assert_eq!(
        server.json("/api/datasets/1.0/search/?exclude.features=geo", 200).await["nhits"],
        0
    );
    let v = server.json("/api/datasets/1.0/search/?rows=10", 200).await;
    assert_eq!(v["nhits"], 1);
    let ds = &v["datasets"][0];
    assert_eq!(ds["datasetid"], "velib");
    assert_eq!(ds["metas"]["records_count"], stations.len() as u64);
    assert!(ds["metas"].get("default").is_none(), "v1 metas are flat");
    let one = server.json("/api/datasets/1.0/velib/", 200).await;
    assert_eq!(&one, ds);
    let field = one["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "station_en_fonctionnement")
        .unwrap();
    assert!(field["annotations"].is_array(), "v1 annotations are a list: {field}");
    assert_eq!(
        server.json("/api/datasets/1.0/search/?q=nothingmatchesthis", 200).await["nhits"],
        0
    );

    // analyze: one point per value of x.
    let v = server
        .json("/api/records/1.0/analyze/?dataset=velib&x=station_en_fonctionnement&y.n.func=COUNT&y.cap.func=SUM&y.cap.expr=capacite_de_la_station", 200)
        .await;
    let points = v.as_array().expect("array");
    for working in ["OUI", "NON"] {
        let p =
            points.iter().find(|p| p["x"] == working).unwrap_or_else(|| panic!("{working}: {v}"));
        let of = stations.iter().filter(|s| s.working == working);
        assert_eq!(p["n"], of.clone().count() as u64);
        assert_eq!(p["cap"].as_f64().unwrap() as i64, of.map(|s| s.capacity).sum::<i64>());
    }
    // analyze by year of a datetime: x is {"year": …}.
    let v = server
        .json("/api/records/1.0/analyze/?dataset=velib&x=actualisation_de_la_donnee&precision=year&sort=x", 200)
        .await;
    let mut years: BTreeMap<i64, u64> = BTreeMap::new();
    for s in &stations {
        use chrono::Datelike;
        *years.entry(i64::from(s.updated.with_timezone(&chrono::Utc).year())).or_default() += 1;
    }
    let got: Vec<(i64, u64)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["x"]["year"].as_i64().unwrap(), p["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, years.into_iter().rev().collect::<Vec<_>>(), "sort=x is descending");
    // boundingbox: min/max of the points.
    let v = server.json("/api/records/1.0/boundingbox/?dataset=velib", 200).await;
    assert_eq!(v["count"], stations.len() as u64);
    let min_lon = stations.iter().map(|s| s.lon).fold(f64::MAX, f64::min);
    let max_lat = stations.iter().map(|s| s.lat).fold(f64::MIN, f64::max);
    let bbox = v["bbox"].as_array().expect("bbox");
    assert!((bbox[0].as_f64().unwrap() - min_lon).abs() < 1e-9, "{v}");
    assert!((bbox[3].as_f64().unwrap() - max_lat).abs() < 1e-9, "{v}");
    // geocluster: clusters cover every point.
    let v = server
        .json(
            "/api/records/1.0/geocluster/?dataset=velib&clusterprecision=4&clusterdistance=50",
            200,
        )
        .await;
    let total: u64 =
        v["clusters"].as_array().unwrap().iter().map(|c| c["count"].as_u64().unwrap()).sum();
    assert_eq!(total, stations.len() as u64);
}
