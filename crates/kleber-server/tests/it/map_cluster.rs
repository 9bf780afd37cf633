//! The map's clusters (`/catalog/datasets/{id}/clusters`, the v1 `geocluster` and the
//! portal's map tab) against the real Vélib' stations and Paris districts: every record is
//! counted once at every zoom, the filters and the viewport are respected, shapes are
//! simplified by zoom, and bad parameters answer 400. Expected values are computed here from
//! the files, with the slippy-map tile formula (not Kleber's code).

use std::collections::BTreeMap;

use kleber_ingest::ImportOptions;
use serde_json::Value;

use crate::common::{TestServer, enc, import, real};
use crate::v1_api::{Station, stations};

const VELIB: &str = "paris_velib-disponibilite-en-temps-reel_utf8-bom.csv";
const DISTRICTS: &str = "paris_arrondissements_polygons.geojson";
const CLUSTERS: &str = "/api/explore/v2.1/catalog/datasets";

/// Which stations a filter keeps.
type Keep = Box<dyn Fn(&Station) -> bool>;

async fn server() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &real(VELIB), "velib", ImportOptions::default());
    import(dir.path(), &real(DISTRICTS), "districts", ImportOptions::default());
    TestServer::start(dir).await
}

/// The tile (x, y) of (lon, lat) on a grid of `2^level` tiles a side: the OpenStreetMap
/// slippy-map formula.
fn tile(lon: f64, lat: f64, level: u32) -> (i64, i64) {
    let n = f64::from(1u32 << level);
    let x = ((lon + 180.0) / 360.0 * n).floor() as i64;
    let y =
        ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n).floor() as i64;
    (x, y)
}

/// Sorted record counts of the non-empty tiles (cells of 64 px: level zoom + 2).
fn expected_counts<'a>(points: impl Iterator<Item = &'a Station>, zoom: u32) -> Vec<u64> {
    let mut cells: BTreeMap<(i64, i64), u64> = BTreeMap::new();
    for s in points {
        *cells.entry(tile(s.lon, s.lat, zoom + 2)).or_default() += 1;
    }
    let mut counts: Vec<u64> = cells.into_values().collect();
    counts.sort_unstable();
    counts
}

fn counts_of(v: &Value) -> Vec<u64> {
    let mut counts: Vec<u64> = v["clusters"]
        .as_array()
        .unwrap_or_else(|| panic!("clusters: {v}"))
        .iter()
        .map(|c| c["count"].as_u64().expect("count"))
        .collect();
    counts.sort_unstable();
    counts
}

/// The box around every station, a little larger.
fn extent(points: &[Station]) -> [f64; 4] {
    let w = points.iter().map(|s| s.lon).fold(f64::MAX, f64::min) - 0.001;
    let e = points.iter().map(|s| s.lon).fold(f64::MIN, f64::max) + 0.001;
    let s_ = points.iter().map(|s| s.lat).fold(f64::MAX, f64::min) - 0.001;
    let n = points.iter().map(|s| s.lat).fold(f64::MIN, f64::max) + 0.001;
    [w, s_, e, n]
}

fn bbox_param(b: [f64; 4]) -> String {
    format!("{},{},{},{}", b[0], b[1], b[2], b[3])
}

/// Records answered one by one plus the clusters' counts.
fn shown(v: &Value) -> u64 {
    let clusters: u64 = counts_of(v).iter().sum();
    clusters + v["records"].as_array().expect("records").len() as u64
}

#[tokio::test]
async fn clusters_count_every_record_once_at_every_zoom() {
    let server = server().await;
    let all = stations();
    let box_ = extent(&all);
    for zoom in 0..=14u32 {
        let path = format!(
            "{CLUSTERS}/velib/clusters?zoom={zoom}&bbox={}&max_records=0",
            bbox_param(box_)
        );
        let v = server.json(&path, 200).await;
        assert_eq!(v["total_count"], all.len() as u64, "zoom {zoom}");
        assert_eq!(counts_of(&v), expected_counts(all.iter(), zoom), "zoom {zoom}");
        assert_eq!(v["records"].as_array().map(Vec::len), Some(0), "zoom {zoom}");
        for c in v["clusters"].as_array().unwrap() {
            // The centre is the mean of the cluster's points: inside its bounds.
            let b: Vec<f64> =
                c["bbox"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
            let (lon, lat) =
                (c["center"]["lon"].as_f64().unwrap(), c["center"]["lat"].as_f64().unwrap());
            assert!(b[0] <= lon && lon <= b[2] && b[1] <= lat && lat <= b[3], "{c}");
            assert!(
                box_[0] <= b[0] && b[2] <= box_[2] && box_[1] <= b[1] && b[3] <= box_[3],
                "{c}"
            );
        }
        // With records: small cells come as records, and everything still adds up.
        let v = server
            .json(&format!("{CLUSTERS}/velib/clusters?zoom={zoom}&bbox={}", bbox_param(box_)), 200)
            .await;
        assert_eq!(shown(&v), all.len() as u64, "zoom {zoom} with records");
        assert!(v["records"].as_array().unwrap().len() <= 500);
        for r in v["records"].as_array().unwrap() {
            assert_eq!(r["id"].as_str().map(str::len), Some(40), "{r}");
            assert!(r["record"]["coordonnees_geographiques"]["lon"].is_f64(), "{r}");
        }
    }
    // At a high zoom over a few streets, every station is a record.
    let v = server
        .json(&format!("{CLUSTERS}/velib/clusters?zoom=14&bbox=2.33,48.85,2.35,48.86"), 200)
        .await;
    let inside = all
        .iter()
        .filter(|s| (2.33..=2.35).contains(&s.lon) && (48.85..=48.86).contains(&s.lat))
        .count();
    assert!(inside > 0);
    assert_eq!(v["total_count"], inside as u64);
    assert_eq!(v["records"].as_array().unwrap().len(), inside, "{v}");
    assert!(v["clusters"].as_array().unwrap().is_empty(), "{v}");
}

#[tokio::test]
async fn clusters_follow_the_filters_and_the_viewport() {
    let server = server().await;
    let all = stations();
    let box_ = bbox_param(extent(&all));
    let cases: Vec<(String, Keep)> = vec![
        (
            format!("refine={}", enc("nom_communes_equipees:Paris")),
            Box::new(|s: &Station| s.commune == "Paris"),
        ),
        (
            format!("exclude={}", enc("nom_communes_equipees:Paris")),
            Box::new(|s: &Station| s.commune != "Paris"),
        ),
        (
            format!("where={}", enc("capacite_de_la_station > 30")),
            Box::new(|s: &Station| s.capacity > 30),
        ),
        (
            format!(
                "where={}&refine={}",
                enc("capacite_de_la_station <= 20"),
                enc("station_en_fonctionnement:OUI")
            ),
            Box::new(|s: &Station| s.capacity <= 20 && s.working == "OUI"),
        ),
    ];
    for (filter, keep) in &cases {
        let expected: Vec<&Station> = all.iter().filter(|s| keep(s)).collect();
        assert!(!expected.is_empty() && expected.len() < all.len(), "{filter}");
        for zoom in [3u32, 9, 12] {
            let v = server
                .json(
                    &format!(
                        "{CLUSTERS}/velib/clusters?zoom={zoom}&bbox={box_}&max_records=0&{filter}"
                    ),
                    200,
                )
                .await;
            assert_eq!(v["total_count"], expected.len() as u64, "{filter} zoom {zoom}");
            assert_eq!(
                counts_of(&v),
                expected_counts(expected.iter().copied(), zoom),
                "{filter} zoom {zoom}"
            );
            let v = server
                .json(&format!("{CLUSTERS}/velib/clusters?zoom={zoom}&bbox={box_}&{filter}"), 200)
                .await;
            assert_eq!(shown(&v), expected.len() as u64, "{filter} zoom {zoom} with records");
        }
    }
    // The viewport: only the stations west of the Seine's Pont Neuf meridian.
    let west: Vec<&Station> = all.iter().filter(|s| s.lon <= 2.34).collect();
    let v = server
        .json(
            &format!("{CLUSTERS}/velib/clusters?zoom=11&bbox=2.0,48.0,2.34,49.5&max_records=0"),
            200,
        )
        .await;
    assert_eq!(v["total_count"], west.len() as u64);
    assert_eq!(counts_of(&v), expected_counts(west.iter().copied(), 11));
    // The v1 geocluster answers from the same use case, filters included.
    let paris = all.iter().filter(|s| s.commune == "Paris").count() as u64;
    let v = server
        .json(
            "/api/records/1.0/geocluster/?dataset=velib&clusterprecision=5&refine.nom_communes_equipees=Paris",
            200,
        )
        .await;
    let total: u64 =
        v["clusters"].as_array().unwrap().iter().map(|c| c["count"].as_u64().unwrap()).sum();
    assert_eq!(total, paris, "{v}");
    assert_eq!(v["clusterprecision"], 5);
}

#[tokio::test]
async fn the_map_page_asks_clusters_under_its_filters() {
    let server = server().await;
    let all = stations();
    let paris = all.iter().filter(|s| s.commune == "Paris").count() as u64;
    let (status, _, html) =
        server.get("/explore/dataset/velib/map/?refine.nom_communes_equipees=Paris").await;
    assert_eq!(status, 200);
    let start = html.find("data-url=\"").expect("data-url") + "data-url=\"".len();
    let url = html[start..].split('"').next().unwrap().replace("&amp;", "&").replace("&#38;", "&");
    assert!(url.starts_with(&format!("{CLUSTERS}/velib/clusters?")), "{url}");
    // What map.js asks first: the whole world at zoom 0.
    let v = server.json(&format!("{url}&zoom=0"), 200).await;
    assert_eq!(v["total_count"], paris);
    assert_eq!(shown(&v), paris);
    assert_eq!(v["field"], "coordonnees_geographiques");
}

/// Positions in a GeoJSON geometry.
fn positions(g: &Value) -> usize {
    match g {
        Value::Array(items) if items.first().is_some_and(Value::is_number) => 1,
        Value::Array(items) => items.iter().map(positions).sum(),
        Value::Object(o) => o.get("coordinates").or_else(|| o.get("geometry")).map_or(0, positions),
        _ => 0,
    }
}

#[tokio::test]
async fn shapes_are_simplified_by_zoom() {
    let server = server().await;
    let text = std::fs::read_to_string(real(DISTRICTS)).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    let features = file["features"].as_array().unwrap();
    let original: usize = features.iter().map(|f| positions(&f["geometry"])).sum();
    let paris = "2.2,48.8,2.5,48.92";
    let mut sizes = Vec::new();
    for zoom in [8u32, 11, 14] {
        let v = server
            .json(&format!("{CLUSTERS}/districts/clusters?zoom={zoom}&bbox={paris}"), 200)
            .await;
        assert_eq!(v["total_count"], features.len() as u64, "zoom {zoom}");
        let records = v["records"].as_array().unwrap();
        assert_eq!(records.len(), features.len(), "every district a record at zoom {zoom}");
        let size: usize = records
            .iter()
            .map(|r| {
                let shape = r["record"]
                    .as_object()
                    .unwrap()
                    .values()
                    .find(|v| v.get("type").is_some())
                    .unwrap();
                positions(shape)
            })
            .sum();
        sizes.push(size);
    }
    // Fewer vertices when zoomed out, never more than the file has.
    assert!(
        sizes[0] < sizes[1] && sizes[1] <= sizes[2] && sizes[2] <= original,
        "{sizes:?} of {original}"
    );
    assert!(sizes[0] * 4 < original, "zoom 8 keeps {} of {original} vertices", sizes[0]);
    // A viewport away from Paris holds no district.
    let v = server
        .json(&format!("{CLUSTERS}/districts/clusters?zoom=10&bbox=7.7,48.5,7.8,48.6"), 200)
        .await;
    assert_eq!(v["total_count"], 0);
}

#[tokio::test]
async fn without_a_zoom_the_whole_dataset_is_clustered_at_zoom_0() {
    let server = server().await;
    let v = server.json(&format!("{CLUSTERS}/velib/clusters"), 200).await;
    assert_eq!(v["zoom"], 0);
    let all = server.json(&format!("{CLUSTERS}/velib/records?limit=0"), 200).await;
    assert_eq!(v["total_count"], all["total_count"]);
}

#[tokio::test]
async fn bad_parameters_answer_400_and_say_which() {
    let server = server().await;
    let cases = [
        ("zoom=23", "0 <= zoom <= 22"),
        ("zoom=-1", "0 <= zoom <= 22"),
        ("zoom=near", "zoom API parameter"),
        ("zoom=3&bbox=2,48,3", "four"),
        ("zoom=3&bbox=2,48,x,49", "bbox API parameter"),
        ("zoom=3&bbox=3,48,2,49", "west"),
        ("zoom=3&bbox=2,49,3,48", "south"),
        ("zoom=3&bbox=2,48,3,95", "latitudes"),
        ("zoom=3&bbox=-200,48,3,49", "longitudes"),
        ("zoom=20", "cells"),
        ("zoom=3&max_records=5000", "max_records"),
        ("zoom=3&field=nope", "field API parameter"),
        ("zoom=3&field=nom_station", "geo_point_2d or geo_shape"),
        ("zoom=3&group_by=nom_station", "group_by"),
        ("zoom=3&where=nope%20%3E%201", "nope"),
    ];
    for (query, needle) in cases {
        let v = server.json(&format!("{CLUSTERS}/velib/clusters?{query}"), 400).await;
        let code = v["error_code"].as_str().unwrap_or_default();
        assert!(code == "InvalidRESTParameterError" || code == "ODSQLError", "{query}: {v}");
        let message = v["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{query}: {message}");
    }
    let v = server.json(&format!("{CLUSTERS}/nothing/clusters?zoom=3"), 404).await;
    assert_eq!(v["error_code"], "DatasetNotFound");
    let v =
        server.json("/api/records/1.0/geocluster/?dataset=velib&clusterprecision=13", 400).await;
    assert!(v.to_string().contains("clusterprecision"), "{v}");
}
