//! Tests of the ODSQL geo functions.
//!
//! A dozen points around Strasbourg (and Paris, and a record without position), with a few
//! shapes. Expectations are computed here independently of the engine: a haversine formula,
//! comparisons for rectangles, a ray-casting test for polygons.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, StringArray, StructArray};
use arrow::buffer::NullBuffer;
use kleber_query::{Clause, Error, RecordsQuery};
use kleber_types::field::geo_point_fields;
use kleber_types::{Field, FieldType};
use serde_json::Value;

use crate::common::TestDataset;

/// A position, (lon, lat).
type LonLat = (f64, f64);

/// (name, zone, position).
const PLACES: &[(&str, &str, Option<LonLat>)] = &[
    ("cathedrale", "centre", Some((7.7509, 48.5818))),
    ("gare", "centre", Some((7.7346, 48.5850))),
    ("kleber", "centre", Some((7.7458, 48.5834))),
    ("parlement", "nord", Some((7.7687, 48.5973))),
    ("neudorf", "sud", Some((7.7600, 48.5650))),
    ("illkirch", "sud", Some((7.7160, 48.5300))),
    ("schiltigheim", "nord", Some((7.7480, 48.6070))),
    ("kehl", "est", Some((7.8130, 48.5730))),
    ("robertsau", "nord", Some((7.7850, 48.6000))),
    ("hautepierre", "ouest", Some((7.6960, 48.5920))),
    ("lingolsheim", "ouest", Some((7.6830, 48.5570))),
    ("entzheim", "ouest", Some((7.6280, 48.5390))),
    ("paris", "loin", Some((2.3522, 48.8566))),
    ("sans_position", "centre", None),
];

/// The `contour` (geo_shape) of some places, as stored GeoJSON text.
fn contour(name: &str) -> Option<&'static str> {
    Some(match name {
        // A small square around the cathedral.
        "cathedrale" => {
            r#"{"type":"Polygon","coordinates":[[[7.745,48.578],[7.755,48.578],[7.755,48.585],[7.745,48.585],[7.745,48.578]]]}"#
        }
        // An east-west line north of the centre.
        "gare" => r#"{"type":"LineString","coordinates":[[7.70,48.60],[7.80,48.60]]}"#,
        "kleber" => r#"{"type":"Point","coordinates":[7.7458,48.5834]}"#,
        // Far away, around Paris.
        "parlement" => {
            r#"{"type":"MultiPolygon","coordinates":[[[[2.3,48.8],[2.4,48.8],[2.4,48.9],[2.3,48.8]]]]}"#
        }
        // Corrupt stored value: no geometry, no panic.
        "neudorf" => "pas du json",
        _ => return None,
    })
}

const CENTER: (f64, f64) = (7.7509, 48.5818);
const CENTER_WKT: &str = "geom'POINT(7.7509 48.5818)'";
const CENTER_JSON: &str = r#"geom'{"type":"Point","coordinates":[7.7509,48.5818]}'"#;

/// A rectangle north-east of the centre: lon 7.74..7.80, lat 48.57..48.62.
const RECT_WKT: &str =
    "geom'POLYGON((7.74 48.57, 7.80 48.57, 7.80 48.62, 7.74 48.62, 7.74 48.57))'";
const RECT_JSON: &str = r#"geom'{"type":"Polygon","coordinates":[[[7.74,48.57],[7.80,48.57],[7.80,48.62],[7.74,48.62],[7.74,48.57]]]}'"#;
const RECT: (f64, f64, f64, f64) = (7.74, 48.57, 7.80, 48.62);

/// A triangle west of the centre.
const TRIANGLE: &[(f64, f64)] = &[(7.60, 48.52), (7.76, 48.55), (7.70, 48.62)];

fn dataset() -> TestDataset {
    let fields = vec![
        Field::new("nom", "Nom", FieldType::Text),
        Field::new("zone", "Zone", FieldType::Text),
        Field::new("position", "Position", FieldType::GeoPoint2d),
        Field::new("contour", "Contour", FieldType::GeoShape),
    ];
    let names: Vec<&str> = PLACES.iter().map(|p| p.0).collect();
    let zones: Vec<&str> = PLACES.iter().map(|p| p.1).collect();
    let lon: Vec<f64> = PLACES.iter().map(|p| p.2.map_or(0.0, |c| c.0)).collect();
    let lat: Vec<f64> = PLACES.iter().map(|p| p.2.map_or(0.0, |c| c.1)).collect();
    let valid: Vec<bool> = PLACES.iter().map(|p| p.2.is_some()).collect();
    let position = StructArray::new(
        geo_point_fields(),
        vec![Arc::new(Float64Array::from(lon)) as ArrayRef, Arc::new(Float64Array::from(lat))],
        Some(NullBuffer::from(valid)),
    );
    let contours: Vec<Option<&str>> = names.iter().map(|n| contour(n)).collect();
    TestDataset::new(
        fields,
        vec![
            Arc::new(StringArray::from(names)),
            Arc::new(StringArray::from(zones)),
            Arc::new(position),
            Arc::new(StringArray::from(contours)),
        ],
    )
}

/// Great-circle distance in metres, on a sphere of the mean Earth radius.
fn haversine(a: (f64, f64), b: (f64, f64)) -> f64 {
    let r = 6_371_008.8;
    let (lat1, lat2) = (a.1.to_radians(), b.1.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.0 - a.0).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * r * h.sqrt().asin()
}

/// Ray casting: is `p` strictly inside the polygon `ring` (not closed)?
fn inside(ring: &[(f64, f64)], p: (f64, f64)) -> bool {
    let mut inside = false;
    let mut j = ring.len() - 1;
    for i in 0..ring.len() {
        let (a, b) = (ring[i], ring[j]);
        if (a.1 > p.1) != (b.1 > p.1) && p.0 < (b.0 - a.0) * (p.1 - a.1) / (b.1 - a.1) + a.0 {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// Names of the places with a position satisfying `keep`, sorted.
fn expected(keep: impl Fn((f64, f64)) -> bool) -> Vec<String> {
    let mut names: Vec<String> = PLACES
        .iter()
        .filter_map(|(name, _, pos)| pos.filter(|p| keep(*p)).map(|_| (*name).to_owned()))
        .collect();
    names.sort();
    names
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

/// Names of the records matching `where_`, sorted.
async fn names(ds: &TestDataset, where_: &str) -> Vec<String> {
    let rows = ds
        .select("nom", Some(where_), None, Some("nom"))
        .await
        .unwrap_or_else(|e| panic!("{where_}: {e}"));
    rows.iter().map(|r| r["nom"].as_str().expect("nom").to_owned()).collect()
}

/// The geometry of a bbox()/envelope() value: GeoJSON text today, a GeoJSON Feature once the
/// server renders the column as a shape.
fn geometry(value: &Value) -> Value {
    match value {
        Value::String(text) => serde_json::from_str(text).expect("GeoJSON text"),
        Value::Object(o) if o.get("type") == Some(&Value::from("Feature")) => o["geometry"].clone(),
        other => other.clone(),
    }
}

fn coords(ring: &Value) -> Vec<(f64, f64)> {
    ring.as_array()
        .expect("positions")
        .iter()
        .map(|p| (p[0].as_f64().expect("lon"), p[1].as_f64().expect("lat")))
        .collect()
}

fn odsql_error(
    result: Result<impl std::fmt::Debug, Error>,
) -> (Clause, String, Option<(usize, usize)>) {
    match result {
        Err(Error::Odsql { clause, message, span }) => (clause, message, span),
        other => panic!("expected an ODSQLError, got {other:?}"),
    }
}

/// The byte range of `part` in `text`.
fn span_of(text: &str, part: &str) -> Option<(usize, usize)> {
    let start = text.find(part).expect("part of the text");
    Some((start, start + part.len()))
}

#[tokio::test]
async fn within_distance_keeps_points_in_the_circle() {
    let ds = dataset();
    for (literal, meters) in [
        ("500m", 500.0),
        ("1km", 1000.0),
        ("2km", 2000.0),
        ("3.5km", 3500.0),
        ("10km", 10_000.0),
        ("1mi", 1609.344),
        ("3000yd", 2743.2),
        ("6000ft", 1828.8),
        ("250000cm", 2500.0),
        ("1200", 1200.0),
    ] {
        // The radii are far from every point's distance, so rounding cannot matter.
        for (name, _, pos) in PLACES {
            if let Some(p) = pos {
                let d = haversine(CENTER, *p);
                assert!((d - meters).abs() > 5.0, "{name} is {d} m away, too close to {meters}");
            }
        }
        let want = expected(|p| haversine(CENTER, p) <= meters);
        let q = format!("within_distance(position, {CENTER_WKT}, {literal})");
        assert_eq!(names(&ds, &q).await, want, "{q}");
        // API v2.0 name, and the GeoJSON form of the centre.
        let q2 = format!("distance(position, {CENTER_JSON}, {literal})");
        assert_eq!(names(&ds, &q2).await, want, "{q2}");
    }
    // Exactly what ods-widgets sends.
    let widgets = "distance(`position`, geom'POINT(7.7509 48.5818)', 1000m)";
    assert_eq!(names(&ds, widgets).await, expected(|p| haversine(CENTER, p) <= 1000.0));
    // `GEOM` is case-insensitive, so are WKT keywords.
    let upper = "within_distance(position, GEOM'point(7.7509 48.5818)', 1KM)";
    assert_eq!(names(&ds, upper).await, expected(|p| haversine(CENTER, p) <= 1000.0));
}

#[tokio::test]
async fn records_without_position_never_match() {
    let ds = dataset();
    let inside = ds.count(&format!("within_distance(position, {CENTER_WKT}, 2km)")).await.unwrap();
    let outside =
        ds.count(&format!("NOT within_distance(position, {CENTER_WKT}, 2km)")).await.unwrap();
    let located = PLACES.iter().filter(|p| p.2.is_some()).count() as u64;
    assert_eq!(inside + outside, located);
    assert_eq!(inside, expected(|p| haversine(CENTER, p) <= 2000.0).len() as u64);
    let rows = ds
        .select(
            "nom, distance(position, geom'POINT(7.7509 48.5818)') as d",
            Some("nom = \"sans_position\""),
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(rows[0]["d"], Value::Null);
}

#[tokio::test]
async fn distance_is_in_metres_and_sorts() {
    let ds = dataset();
    let select = format!("nom, distance(position, {CENTER_WKT}) as d");
    let rows = ds.select(&select, None, None, Some("d")).await.unwrap();
    let mut want: Vec<(&str, f64)> =
        PLACES.iter().filter_map(|(n, _, p)| p.map(|p| (*n, haversine(CENTER, p)))).collect();
    want.sort_by(|a, b| a.1.total_cmp(&b.1));
    assert_eq!(rows.len(), PLACES.len());
    for (row, (name, d)) in rows.iter().zip(&want) {
        assert_eq!(row["nom"], *name);
        let got = row["d"].as_f64().expect("a number");
        assert!((got - d).abs() <= 1e-6 * d.max(1.0), "{name}: {got} vs {d}");
    }
    // Nulls last, in both directions.
    assert_eq!(rows.last().unwrap()["nom"], "sans_position");
    let order = format!("distance(position, {CENTER_WKT}) desc");
    let rows = ds.select("nom", None, None, Some(&order)).await.unwrap();
    let got: Vec<&str> = rows.iter().map(|r| r["nom"].as_str().unwrap()).collect();
    let mut desc: Vec<&str> = want.iter().rev().map(|w| w.0).collect();
    desc.push("sans_position");
    assert_eq!(got, desc);
    // Paris is about 397 km away.
    let paris = ds.select(&select, Some("nom = \"paris\""), None, None).await.unwrap();
    let d = paris[0]["d"].as_f64().unwrap();
    assert!((d - 397_000.0).abs() < 3_000.0, "{d}");
}

#[tokio::test]
async fn two_distances_from_two_points_are_two_columns() {
    let ds = dataset();
    let rows = ds
        .select(
            "distance(position, geom'POINT(7.7509 48.5818)') as a, distance(position, geom'POINT(7.7346 48.5850)') as b",
            Some("nom = \"gare\""),
            None,
            None,
        )
        .await
        .unwrap();
    assert!(rows[0]["a"].as_f64().unwrap() > 1000.0);
    assert_eq!(rows[0]["b"].as_f64().unwrap(), 0.0);
    let rows = ds
        .select(
            "count(*) as n",
            None,
            Some("within_distance(position, geom'POINT(7.7509 48.5818)', 1km) as near, within_distance(position, geom'POINT(7.7346 48.5850)', 1km) as near_gare"),
            None,
        )
        .await
        .unwrap();
    let total: u64 = rows.iter().map(|r| r["n"].as_u64().unwrap()).sum();
    assert_eq!(total, PLACES.len() as u64);
}

#[tokio::test]
async fn in_bbox_accepts_any_two_opposite_corners() {
    let ds = dataset();
    let (lat_a, lon_a, lat_b, lon_b): (f64, f64, f64, f64) = (48.60, 7.72, 48.56, 7.78);
    let want = expected(|(lon, lat)| {
        (lon_a.min(lon_b)..=lon_a.max(lon_b)).contains(&lon)
            && (lat_b.min(lat_a)..=lat_b.max(lat_a)).contains(&lat)
    });
    assert!(want.len() >= 4 && want.len() < 12, "{want:?}");
    for corners in [
        format!("{lat_a}, {lon_a}, {lat_b}, {lon_b}"),
        format!("{lat_b}, {lon_b}, {lat_a}, {lon_a}"),
        format!("{lat_b}, {lon_a}, {lat_a}, {lon_b}"),
        format!("{lat_a}, {lon_b}, {lat_b}, {lon_a}"),
    ] {
        let q = format!("in_bbox(position, {corners})");
        assert_eq!(names(&ds, &q).await, want, "{q}");
    }
    // Negative coordinates: only Paris and nothing else west of Greenwich... none here.
    assert_eq!(ds.count("in_bbox(position, -10, -20, 10, -1.5)").await.unwrap(), 0);
    assert_eq!(names(&ds, "in_bbox(position, 49, 2, 48.5, 2.5)").await, vec!["paris"]);
    // Shapes match when they touch the box: the line crosses it, the square is inside.
    assert_eq!(names(&ds, "in_bbox(contour, 48.59, 7.74, 48.61, 7.76)").await, vec!["gare"]);
    assert_eq!(
        names(&ds, "in_bbox(contour, 48.57, 7.74, 48.61, 7.76)").await,
        vec!["cathedrale", "gare", "kleber"]
    );
}

#[tokio::test]
async fn polygon_and_geometry_select_points_in_a_polygon() {
    let ds = dataset();
    let (x0, y0, x1, y1) = RECT;
    let in_rect = expected(|(x, y)| x > x0 && x < x1 && y > y0 && y < y1);
    assert!(in_rect.len() >= 4, "{in_rect:?}");
    for q in [
        format!("polygon(position, {RECT_WKT})"),
        format!("polygon(position, {RECT_JSON})"),
        format!("geometry(position, {RECT_WKT})"),
        format!("geometry(`position`, {RECT_JSON}, INTERSECTS)"),
        format!("intersects(position, {RECT_WKT})"),
        format!("within(position, {RECT_WKT})"),
        format!("geometry(position, {RECT_WKT}, within)"),
    ] {
        assert_eq!(names(&ds, &q).await, in_rect, "{q}");
    }
    let outside = expected(|(x, y)| !(x > x0 && x < x1 && y > y0 && y < y1));
    for q in [
        format!("disjoint(position, {RECT_WKT})"),
        format!("geometry(position, {RECT_JSON}, Disjoint)"),
    ] {
        assert_eq!(names(&ds, &q).await, outside, "{q}");
    }

    let ring: Vec<String> =
        TRIANGLE.iter().chain(&TRIANGLE[..1]).map(|(x, y)| format!("{x} {y}")).collect();
    let triangle = format!("geom'POLYGON(({}))'", ring.join(", "));
    let in_triangle = expected(|p| inside(TRIANGLE, p));
    assert!(!in_triangle.is_empty() && in_triangle.len() < 12, "{in_triangle:?}");
    assert_eq!(names(&ds, &format!("polygon(position, {triangle})")).await, in_triangle);
    // A multipolygon of the rectangle and the triangle.
    let multi = format!(
        "geom'MULTIPOLYGON(((7.74 48.57, 7.80 48.57, 7.80 48.62, 7.74 48.62, 7.74 48.57)), (({})))'",
        ring.join(", ")
    );
    let either =
        expected(|(x, y)| (x > x0 && x < x1 && y > y0 && y < y1) || inside(TRIANGLE, (x, y)));
    assert_eq!(names(&ds, &format!("geometry(position, {multi})")).await, either);
}

#[tokio::test]
async fn relations_on_shapes() {
    let ds = dataset();
    for rect in [RECT_WKT, RECT_JSON] {
        assert_eq!(
            names(&ds, &format!("intersects(contour, {rect})")).await,
            vec!["cathedrale", "gare", "kleber"]
        );
        // The line leaves the rectangle: not within.
        assert_eq!(
            names(&ds, &format!("within(contour, {rect})")).await,
            vec!["cathedrale", "kleber"]
        );
        // The corrupt value (neudorf) and missing ones are neither.
        assert_eq!(names(&ds, &format!("disjoint(contour, {rect})")).await, vec!["parlement"]);
        assert_eq!(
            names(&ds, &format!("NOT geometry(contour, {rect}, disjoint)")).await,
            vec!["cathedrale", "gare", "kleber"]
        );
    }
    // A line crossing the square only.
    assert_eq!(
        names(&ds, "intersects(contour, geom'LINESTRING(7.74 48.58, 7.76 48.583)')").await,
        vec!["cathedrale"]
    );
    // A point query geometry: the stored point, which is also inside the square.
    assert_eq!(
        names(&ds, "intersects(contour, geom'POINT(7.7458 48.5834)')").await,
        vec!["cathedrale", "kleber"]
    );
    assert_eq!(
        names(&ds, "intersects(contour, geom'POINT(7.7458 48.5835)')").await,
        vec!["cathedrale"]
    );
}

#[tokio::test]
async fn distances_to_shapes_are_to_their_nearest_point() {
    let ds = dataset();
    let rows = ds
        .select(&format!("nom, distance(contour, {CENTER_WKT}) as d"), None, None, Some("d, nom"))
        .await
        .unwrap();
    let d = |name: &str| rows.iter().find(|r| r["nom"] == name).unwrap()["d"].as_f64();
    // Inside the square.
    assert_eq!(d("cathedrale"), Some(0.0));
    let kleber = haversine(CENTER, (7.7458, 48.5834));
    assert!((d("kleber").unwrap() - kleber).abs() < 1e-6 * kleber);
    // The line is due north, ~2 km; a great-circle arc bulges about a metre northwards.
    let north = haversine(CENTER, (CENTER.0, 48.60));
    assert!((d("gare").unwrap() - north).abs() < 5.0, "{:?} vs {north}", d("gare"));
    // The corrupt value and the missing ones have no distance.
    assert_eq!(d("neudorf"), None);
    assert_eq!(d("entzheim"), None);
    let order: Vec<&str> = rows.iter().take(4).map(|r| r["nom"].as_str().unwrap()).collect();
    assert_eq!(order, vec!["cathedrale", "kleber", "gare", "parlement"]);

    assert_eq!(
        names(&ds, &format!("within_distance(contour, {CENTER_WKT}, 100m)")).await,
        vec!["cathedrale"]
    );
    assert_eq!(
        names(&ds, &format!("within_distance(contour, {CENTER_WKT}, 1km)")).await,
        vec!["cathedrale", "kleber"]
    );
    assert_eq!(
        names(
            &ds,
            &format!("within_distance(contour, {CENTER_JSON}, {}m)", (north + 50.0).round())
        )
        .await,
        vec!["cathedrale", "gare", "kleber"]
    );
}

#[tokio::test]
async fn bbox_is_the_bounding_rectangle() {
    let ds = dataset();
    let located: Vec<(f64, f64)> = PLACES.iter().filter_map(|p| p.2).collect();
    let bounds = |points: &[(f64, f64)]| {
        let min_x = points.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
        let min_y = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let max_x = points.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
        let max_y = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        vec![(min_x, min_y), (max_x, min_y), (max_x, max_y), (min_x, max_y), (min_x, min_y)]
    };
    let rows = ds.select("bbox(position) as b", None, None, None).await.unwrap();
    let g = geometry(&rows[0]["b"]);
    assert_eq!(g["type"], "Polygon");
    assert_eq!(coords(&g["coordinates"][0]), bounds(&located));

    // Per group, and restricted by a where.
    let rows = ds
        .select("zone, bbox(position) as b", Some("zone != \"loin\""), Some("zone"), Some("zone"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 5);
    for row in &rows {
        let zone = row["zone"].as_str().unwrap();
        let points: Vec<(f64, f64)> =
            PLACES.iter().filter(|p| p.1 == zone).filter_map(|p| p.2).collect();
        assert_eq!(coords(&geometry(&row["b"])["coordinates"][0]), bounds(&points), "{zone}");
    }

    // Shapes: every vertex counts; the corrupt value is skipped.
    let rows = ds.select("bbox(contour) as b", None, None, None).await.unwrap();
    assert_eq!(
        coords(&geometry(&rows[0]["b"])["coordinates"][0]),
        bounds(&[(2.3, 48.578), (7.80, 48.9)])
    );
    // Nothing matched: null.
    let rows =
        ds.select("bbox(position) as b", Some("nom = \"nobody\""), None, None).await.unwrap();
    assert_eq!(rows[0]["b"], Value::Null);
}

#[tokio::test]
async fn envelope_is_the_convex_hull() {
    let ds = dataset();
    let located: Vec<(f64, f64)> =
        PLACES.iter().filter(|p| p.0 != "paris").filter_map(|p| p.2).collect();
    let rows =
        ds.select("envelope(position) as e", Some("nom != \"paris\""), None, None).await.unwrap();
    let g = geometry(&rows[0]["e"]);
    assert_eq!(g["type"], "Polygon");
    let ring = coords(&g["coordinates"][0]);
    assert_eq!(ring.first(), ring.last(), "closed ring");
    let hull = &ring[..ring.len() - 1];
    assert!(hull.len() >= 3);
    // Vertices are input points; every input point is inside or on the (counter-clockwise) hull.
    for v in hull {
        assert!(located.contains(v), "{v:?} is not an input point");
    }
    for p in &located {
        for (i, a) in hull.iter().enumerate() {
            let b = hull[(i + 1) % hull.len()];
            let cross = (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0);
            assert!(cross >= -1e-12, "{p:?} is outside edge {a:?}-{b:?}");
        }
    }
    // The extreme points are on it.
    for name in ["entzheim", "kehl", "schiltigheim", "illkirch"] {
        let p = PLACES.iter().find(|p| p.0 == name).unwrap().2.unwrap();
        assert!(hull.contains(&p), "{name} should be a vertex");
    }
    // Degenerate groups.
    let rows =
        ds.select("envelope(position) as e", Some("nom = \"gare\""), None, None).await.unwrap();
    assert_eq!(
        geometry(&rows[0]["e"]),
        serde_json::json!({"type": "Point", "coordinates": [7.7346, 48.585]})
    );
    let rows = ds
        .select("envelope(position) as e", Some("nom IN (\"gare\", \"kehl\")"), None, None)
        .await
        .unwrap();
    assert_eq!(
        geometry(&rows[0]["e"]),
        serde_json::json!({"type": "LineString", "coordinates": [[7.7346, 48.585], [7.813, 48.573]]})
    );
    // Per group.
    let rows =
        ds.select("zone, envelope(position) as e", None, Some("zone"), Some("zone")).await.unwrap();
    let types: Vec<Value> = rows.iter().map(|r| geometry(&r["e"])["type"].clone()).collect();
    // centre: 3 points; est: 1; loin: 1; nord: 3; ouest: 3; sud: 2.
    assert_eq!(types, ["Polygon", "Point", "Point", "Polygon", "Polygon", "LineString"]);
}

#[tokio::test]
async fn bad_geometries_are_odsql_errors_at_the_literal() {
    let ds = dataset();
    for (literal, needle) in [
        ("geom'POINT(7.75)'", "invalid WKT"),
        ("geom'POINT(7.75 48.58'", "invalid WKT"),
        ("geom'CERCLE(7.75 48.58)'", "invalid WKT"),
        (r#"geom'{"type":"Point"}'"#, "invalid GeoJSON"),
        (r#"geom'{"type":"Point","coordinates":[7.75]}'"#, "invalid GeoJSON"),
        ("geom'POINT(48.58 97.75)'", "latitude 97.75"),
        ("geom'POINT EMPTY'", "empty"),
        ("geom''", "empty"),
    ] {
        let q = format!("within_distance(position, {literal}, 1km)");
        let (clause, message, span) = odsql_error(ds.count(&q).await);
        assert_eq!(clause, Clause::Where, "{q}");
        assert!(message.contains(needle), "{q}: {message}");
        assert!(message.contains("within_distance()"), "{q}: {message}");
        assert_eq!(span, span_of(&q, literal), "{q}");
    }
    // Distances are measured from points.
    let q = format!("within_distance(position, {RECT_WKT}, 1km)");
    let (_, message, span) = odsql_error(ds.count(&q).await);
    assert!(message.contains("from a point") && message.contains("Polygon"), "{message}");
    assert_eq!(span, span_of(&q, RECT_WKT));
    // polygon() wants a polygon.
    let (_, message, _) = odsql_error(ds.count(&format!("polygon(position, {CENTER_WKT})")).await);
    assert!(message.contains("expects a polygon"), "{message}");
    // A string instead of a geometry literal.
    let (_, message, _) = odsql_error(ds.count("intersects(position, 'POINT(7.75 48.58)')").await);
    assert!(message.contains("geom'POINT(7.75 48.58)'"), "{message}");
}

#[tokio::test]
async fn wrong_fields_and_arguments_are_odsql_errors() {
    let ds = dataset();
    let q = format!("within_distance(nom, {CENTER_WKT}, 1km)");
    let (clause, message, span) = odsql_error(ds.count(&q).await);
    assert_eq!(clause, Clause::Where);
    assert!(
        message.contains("within_distance() expects a geo_point_2d or geo_shape field as first argument, `nom` is text"),
        "{message}"
    );
    assert_eq!(span, span_of(&q, "nom"));

    let (_, message, _) =
        odsql_error(ds.count(&format!("within_distance(nowhere, {CENTER_WKT}, 1km)")).await);
    assert!(message.contains("Unknown field: nowhere"), "{message}");

    // In select and order_by, the error names that clause.
    let (clause, message, _) =
        odsql_error(ds.select(&format!("distance(zone, {CENTER_WKT})"), None, None, None).await);
    assert_eq!(clause, Clause::Select);
    assert!(message.contains("`zone` is text"), "{message}");
    let (clause, message, _) = odsql_error(
        ds.select("nom", None, None, Some("distance(position, geom'LINESTRING(7 48, 8 49)')"))
            .await,
    );
    assert_eq!(clause, Clause::OrderBy);
    assert!(message.contains("from a point"), "{message}");

    for (q, needle) in [
        (format!("within_distance(position, {CENTER_WKT})"), "takes 3 arguments, 2 given"),
        (format!("distance(position, {CENTER_WKT}, 1km, 2km)"), "takes 2 or 3 arguments, 4 given"),
        (format!("within_distance(position, {CENTER_WKT}, \"1km\")"), "expects a distance such as"),
        (format!("within_distance(position, {CENTER_WKT}, -5)"), "expects a distance such as"),
        (format!("geometry(position, {RECT_WKT}, CROSSES)"), "INTERSECTS, DISJOINT or WITHIN"),
        (
            "in_bbox(position, 148.5, 7.7, 48.6, 7.8)".to_owned(),
            "latitude 148.5 is not between -90 and 90",
        ),
        (
            "in_bbox(position, 48.5, 7.7, 48.6, nom)".to_owned(),
            "expects a number (longitude) as argument 5",
        ),
        ("in_bbox(position, 48.5, 7.7, 48.6)".to_owned(), "takes 5 arguments, 4 given"),
        (format!("intersects(position, {RECT_WKT}, {RECT_WKT})"), "takes 2 arguments, 3 given"),
        (
            format!("intersects(lower(nom), {RECT_WKT})"),
            "expects a geo_point_2d or geo_shape field",
        ),
        (
            "bbox(position) IS NOT NULL".to_owned(),
            "aggregate function bbox() is not allowed in where",
        ),
    ] {
        let (clause, message, _) = odsql_error(ds.count(&q).await);
        assert_eq!(clause, Clause::Where, "{q}");
        assert!(message.contains(needle), "{q}: {message}");
    }
    let (_, message, _) = odsql_error(ds.select("envelope(nom)", None, None, None).await);
    assert!(
        message.contains(
            "envelope() expects a geo_point_2d or geo_shape field as first argument, `nom` is text"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn geo_results_combine_with_other_clauses() {
    let ds = dataset();
    // Geo predicates mix with ordinary conditions, and a boolean can be selected.
    let q = format!("within_distance(position, {CENTER_WKT}, 3.5km) AND zone = \"nord\"");
    let want: Vec<String> = sorted(
        PLACES
            .iter()
            .filter(|p| p.1 == "nord" && p.2.is_some_and(|c| haversine(CENTER, c) <= 3500.0))
            .map(|p| p.0.to_owned())
            .collect(),
    );
    assert_eq!(names(&ds, &q).await, want);
    let rows = ds
        .select(
            "nom, in_bbox(position, 48.57, 7.74, 48.59, 7.76) as dedans",
            None,
            None,
            Some("nom"),
        )
        .await
        .unwrap();
    for row in rows {
        let name = row["nom"].as_str().unwrap();
        let pos = PLACES.iter().find(|p| p.0 == name).unwrap().2;
        let want = pos.map(|(x, y)| (7.74..=7.76).contains(&x) && (48.57..=48.59).contains(&y));
        assert_eq!(row["dedans"].as_bool(), want, "{name}");
    }
    // A full query as the API would send it.
    let query = RecordsQuery {
        select: Some(format!("nom, distance(position, {CENTER_WKT}) as d")),
        r#where: vec![format!("within_distance(position, {CENTER_WKT}, 10km)")],
        order_by: Some("d desc".to_owned()),
        limit: Some(3),
        ..Default::default()
    };
    let (total, rows) = ds.run(query).await.unwrap();
    assert_eq!(total, expected(|p| haversine(CENTER, p) <= 10_000.0).len() as u64);
    assert_eq!(rows.len(), 3);
    let farthest = PLACES
        .iter()
        .filter_map(|(n, _, p)| p.map(|p| (*n, haversine(CENTER, p))))
        .filter(|(_, d)| *d <= 10_000.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    assert_eq!(rows[0]["nom"], farthest.0);
}
