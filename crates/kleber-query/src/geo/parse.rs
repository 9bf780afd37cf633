//! Geometry text, WKT or GeoJSON, to `geo` geometries, and geometries back to GeoJSON text.
//!
//! Query literals (`geom'POINT(7.75 48.58)'`, `geom'{"type":"Polygon",...}'`) and stored
//! `geo_shape` values (GeoJSON) go through [`parse_geometry`]. Coordinates are longitude then
//! latitude (x, y), as in WKT and GeoJSON; only the first two numbers of a position are read.

use std::str::FromStr;

use ::geo::{CoordsIter, Geometry};
use geojson::{GeoJson, GeometryValue};

/// Parses WKT or GeoJSON (a geometry, or a Feature's geometry). Every coordinate must be a
/// finite number; nothing is checked about ranges (see [`check_wgs84`]).
pub(crate) fn parse_geometry(text: &str) -> Result<Geometry<f64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the geometry text is empty".to_owned());
    }
    // The WKT and GeoJSON readers recurse once per level: bound the nesting first.
    if let Some(message) = crate::limits::check_geometry_nesting(text) {
        return Err(message);
    }
    let geometry = if text.starts_with('{') { from_geojson(text)? } else { from_wkt(text)? };
    if geometry.coords_iter().any(|c| !c.x.is_finite() || !c.y.is_finite()) {
        return Err("every coordinate must be a finite number".to_owned());
    }
    Ok(geometry)
}

/// Checks a query geometry: not empty, longitudes in [-180, 180], latitudes in [-90, 90].
pub(crate) fn check_wgs84(geometry: &Geometry<f64>) -> Result<(), String> {
    if geometry.coords_count() == 0 {
        return Err("the geometry is empty".to_owned());
    }
    for c in geometry.coords_iter() {
        if !(-180.0..=180.0).contains(&c.x) {
            return Err(format!(
                "longitude {} is not between -180 and 180 (coordinates are written longitude first, then latitude)",
                c.x
            ));
        }
        if !(-90.0..=90.0).contains(&c.y) {
            return Err(format!(
                "latitude {} is not between -90 and 90 (coordinates are written longitude first, then latitude)",
                c.y
            ));
        }
    }
    Ok(())
}

fn from_wkt(text: &str) -> Result<Geometry<f64>, String> {
    // WKT keywords are case-insensitive; the parser only knows them in uppercase, and
    // uppercasing leaves numbers (`1e-3` → `1E-3`) meaning the same.
    let wkt = wkt::Wkt::<f64>::from_str(&text.to_ascii_uppercase())
        .map_err(|e| format!("invalid WKT ({})", e.trim_end_matches('.')))?;
    Geometry::try_from(wkt).map_err(|e| format!("unusable WKT ({e})"))
}

fn from_geojson(text: &str) -> Result<Geometry<f64>, String> {
    let geojson = GeoJson::from_str(text).map_err(|e| format!("invalid GeoJSON ({e})"))?;
    let geometry = match geojson {
        GeoJson::Geometry(g) => g,
        GeoJson::Feature(f) => f.geometry.ok_or("the GeoJSON Feature has no geometry")?,
        GeoJson::FeatureCollection(_) => {
            return Err("a GeoJSON FeatureCollection is not a geometry; give a single geometry such as {\"type\":\"Polygon\",\"coordinates\":[...]}".to_owned());
        }
    };
    // The reader checks the length of a Point's position but not of nested ones, and the
    // conversion below indexes them blindly: a short one would panic.
    check_positions(&geometry.value)?;
    Geometry::try_from(geometry).map_err(|e| format!("unusable GeoJSON geometry ({e})"))
}

fn check_positions(value: &GeometryValue) -> Result<(), String> {
    let line = |positions: &[geojson::Position]| {
        if positions.iter().all(|p| p.len() >= 2) {
            Ok(())
        } else {
            Err("a GeoJSON position needs at least two numbers, [longitude, latitude]".to_owned())
        }
    };
    match value {
        GeometryValue::Point { coordinates } => line(std::slice::from_ref(coordinates)),
        GeometryValue::MultiPoint { coordinates } | GeometryValue::LineString { coordinates } => {
            line(coordinates)
        }
        GeometryValue::MultiLineString { coordinates } | GeometryValue::Polygon { coordinates } => {
            coordinates.iter().try_for_each(|l| line(l))
        }
        GeometryValue::MultiPolygon { coordinates } => {
            coordinates.iter().flatten().try_for_each(|l| line(l))
        }
        GeometryValue::GeometryCollection { geometries } => {
            geometries.iter().try_for_each(|g| check_positions(&g.value))
        }
    }
}

/// The GeoJSON geometry object of `geometry`, as compact JSON text.
pub(crate) fn to_geojson(geometry: &Geometry<f64>) -> String {
    let value = GeometryValue::from(geometry);
    serde_json::to_string(&geojson::Geometry::new(value)).unwrap_or_else(|_| "null".to_owned())
}

/// The name of a geometry's type, as WKT and GeoJSON spell it.
pub(crate) fn type_name(geometry: &Geometry<f64>) -> &'static str {
    match geometry {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) | Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
    }
}

#[cfg(test)]
mod tests {
    use ::geo::{Geometry, Point};

    use super::*;

    #[test]
    fn wkt_and_geojson_give_the_same_geometry() {
        let wkt = parse_geometry("POLYGON((7.7 48.5, 7.8 48.5, 7.8 48.6, 7.7 48.5))").unwrap();
        let json = parse_geometry(
            r#"{"type":"Polygon","coordinates":[[[7.7,48.5],[7.8,48.5],[7.8,48.6],[7.7,48.5]]]}"#,
        )
        .unwrap();
        assert_eq!(wkt, json);
        let feature = parse_geometry(
            r#"{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[7.75,48.58]}}"#,
        )
        .unwrap();
        assert_eq!(feature, Geometry::Point(Point::new(7.75, 48.58)));
    }

    #[test]
    fn wkt_keywords_are_case_insensitive() {
        assert_eq!(
            parse_geometry(" point(2.35 48.85) ").unwrap(),
            Geometry::Point(Point::new(2.35, 48.85))
        );
        assert!(matches!(
            parse_geometry("MultiPolygon(((0 0, 1 0, 1 1, 0 0)))").unwrap(),
            Geometry::MultiPolygon(_)
        ));
    }

    #[test]
    fn bad_text_is_an_error_not_a_panic() {
        for bad in [
            "",
            "POINT(1)",
            "POINT(1 2",
            "POINTS(1 2)",
            "CIRCLE(1 2, 3)",
            "{",
            r#"{"type":"Point","coordinates":[1]}"#,
            r#"{"type":"Polygon","coordinates":[[[1,2],[3]]]}"#,
            r#"{"type":"Point","coordinates":"x"}"#,
            r#"{"type":"FeatureCollection","features":[]}"#,
            r#"{"type":"Feature","properties":{},"geometry":null}"#,
            "POINT(NaN 1)",
        ] {
            assert!(parse_geometry(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn query_geometries_are_wgs84() {
        assert!(check_wgs84(&parse_geometry("POINT(7.75 48.58)").unwrap()).is_ok());
        let swapped = check_wgs84(&parse_geometry("POINT(48.58 97.75)").unwrap()).unwrap_err();
        assert!(swapped.contains("latitude 97.75"), "{swapped}");
        for empty in ["MULTIPOINT EMPTY", "POINT EMPTY", "GEOMETRYCOLLECTION EMPTY"] {
            assert!(check_wgs84(&parse_geometry(empty).unwrap()).is_err(), "{empty}");
        }
    }

    #[test]
    fn geojson_output_is_a_geometry_object() {
        let g = parse_geometry("LINESTRING(1 2, 3 4.5)").unwrap();
        assert_eq!(to_geojson(&g), r#"{"type":"LineString","coordinates":[[1.0,2.0],[3.0,4.5]]}"#);
    }
}
