//! GeoJSON: the real exports and synthetic cases.

use kleber_ingest::{Error, Format, ImportOptions, LocationKind};
use kleber_types::FieldType;
use serde_json::Value;

use crate::util::{files_in, import, real, temp_file, try_import};

fn features(name: &str) -> Vec<Value> {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(real(name)).expect("read")).expect("json");
    v["features"].as_array().expect("features").clone()
}

#[test]
fn lines_become_geo_shape_and_ods_points_geo_point() {
    let name = "strasbourg_trafic-temps-reel_lines.geojson";
    let i = import(&real(name), &ImportOptions::default());
    assert_eq!(i.outcome.rows, 452);
    assert_eq!(i.outcome.format, Format::GeoJson);
    assert_eq!(i.type_of("geo_shape"), FieldType::GeoShape);
    assert_eq!(i.type_of("geo_point_2d"), FieldType::GeoPoint2d);
    assert_eq!(i.type_of("dmajetatexp"), FieldType::Datetime);
    let feats = features(name);
    for (row, f) in feats.iter().enumerate() {
        let shape: Value =
            serde_json::from_str(&i.str("geo_shape", row).expect("shape")).expect("json");
        assert_eq!(shape["type"], "LineString");
        assert_eq!(shape["coordinates"], f["geometry"]["coordinates"], "row {row}");
        let pair = &f["properties"]["geo_point_2d"];
        assert_eq!(
            i.point("geo_point_2d", row),
            Some((pair[1].as_f64().expect("lon"), pair[0].as_f64().expect("lat"))),
            "row {row}"
        );
        assert_eq!(i.str("name", row).as_deref(), f["properties"]["name"].as_str());
    }
}

#[test]
fn point_features_become_geo_point_2d() {
    let name = "strasbourg_parcs-jardins_points.geojson";
    let i = import(&real(name), &ImportOptions::default());
    assert_eq!(i.outcome.rows, 8);
    assert_eq!(i.type_of("point_geo"), FieldType::GeoPoint2d);
    assert_eq!(i.type_of("geo_point_2d"), FieldType::GeoPoint2d);
    let feats = features(name);
    for (row, f) in feats.iter().enumerate() {
        let c = &f["geometry"]["coordinates"];
        assert_eq!(
            i.point("geo_point_2d", row),
            Some((c[0].as_f64().expect("lon"), c[1].as_f64().expect("lat")))
        );
        // JSON encoded inside strings stays text, as it is.
        assert_eq!(i.str("name", row).as_deref(), f["properties"]["name"].as_str());
    }
}

#[test]
fn polygons_and_multilines() {
    let i = import(
        &real("strasbourg_stationnement-payant_polygons.geojson"),
        &ImportOptions::default(),
    );
    assert_eq!(i.outcome.rows, 15);
    assert_eq!(i.names(), ["libelle", "geo_point_2d", "geo_shape"]);
    assert!(
        i.str("geo_shape", 0).expect("shape").starts_with(r#"{"type":"Polygon","coordinates":[[["#)
    );
    assert_eq!(i.str("libelle", 0).as_deref(), Some("1,7€/h"));

    let i = import(&real("strasbourg_boucles_multilines.geojson"), &ImportOptions::default());
    assert_eq!(i.outcome.rows, 29);
    assert_eq!(i.type_of("geo_shape"), FieldType::GeoShape);
    assert!(i.str("geo_shape", 0).expect("shape").contains("MultiLineString"));
    let r = i.find("nom", "Hoenheim");
    assert_eq!(i.str("commune", r).as_deref(), Some("Hœnheim"));
    assert_eq!(i.type_of("long_km"), FieldType::Double);

    let i = import(&real("paris_arrondissements_polygons.geojson"), &ImportOptions::default());
    assert_eq!(i.outcome.rows, 20);
    assert_eq!(i.type_of("geom_x_y"), FieldType::GeoPoint2d);
    assert_eq!(i.type_of("geo_shape"), FieldType::GeoShape);
    assert_eq!(i.type_of("c_ar"), FieldType::Int);
    let r = i.find("l_aroff", "Observatoire");
    assert_eq!(i.int("c_ar", r), Some(14));
    assert_eq!(i.point("geom_x_y", r), Some((2.3265420442, 48.8292445005)));
}

#[test]
fn invalid_geometry_is_rejected_with_its_index_and_name_clash_suffixed() {
    let (_d, p) = temp_file(
        "t.geojson",
        br#"{"type": "FeatureCollection", "features": [
 {"type": "Feature", "properties": {"geo_shape": "mine"}, "geometry": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}},
 {"type": "Feature", "properties": {"geo_shape": "x"}, "geometry": {"type": "LineString", "coordinates": [[1, 2]]}},
 {"type": "Feature", "properties": null, "geometry": null},
 {"type": "Feature", "properties": {"geo_shape": "y"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}
]}"#,
    );
    let i = import(&p, &ImportOptions::default());
    assert_eq!(i.outcome.rows, 3);
    assert_eq!(i.names(), ["geo_shape", "geo_shape_2"]);
    assert_eq!(i.type_of("geo_shape"), FieldType::Text);
    assert_eq!(i.type_of("geo_shape_2"), FieldType::GeoShape);
    assert_eq!(i.str("geo_shape_2", 1), None);
    let r = &i.outcome.rejected;
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].line, r[0].location_kind), (2, LocationKind::Item));
    assert!(r[0].reason.contains("invalid geometry"), "{}", r[0].reason);
}

/// Found by the `geojson` fuzz target: when every feature is rejected, the only column, the
/// geometry, has no value, and the import published a dataset without any field.
#[test]
fn every_feature_rejected_is_an_error_not_a_dataset_without_fields() {
    let cases: [(&str, &[u8]); 3] = [
        ("scalar.geojson", br#"{"type":"FeatureCollection","features":[5]}"#),
        (
            "props.geojson",
            br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":[1],"geometry":{"type":"Point","coordinates":[7,48]}}]}"#,
        ),
        (
            "geometry.geojson",
            br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Pt","coordinates":[7,48]}}, 5]}"#,
        ),
    ];
    let first = [
        "at item 1: feature 1 is not a JSON object",
        "at item 1: the properties of feature 1 are not a JSON object",
        "at item 1: invalid geometry of feature 1",
    ];
    for ((name, content), first) in cases.into_iter().zip(first) {
        let (_d, p) = temp_file(name, content);
        let Err((e, out)) = try_import(&p, &ImportOptions::default()) else {
            panic!("{name} was imported");
        };
        assert!(matches!(e, Error::Unreadable { .. }), "{name}: {e}");
        let msg = e.to_string();
        assert!(msg.contains("no record could be read") && msg.contains(first), "{name}: {msg}");
        assert!(files_in(out.path()).is_empty());
    }
}
