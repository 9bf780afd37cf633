//! A geometry in words, for the list of located records: a point's coordinates, a line's
//! length, an area's surface, computed on the sphere (lengths) or in a local projection
//! (areas), precise enough for a reader (well under 1 % at a city's scale).

use serde_json::Value;

use crate::format::{decimal, fixed};
use crate::i18n::Lang;

/// Mean Earth radius, in kilometres.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A short description of a GeoJSON geometry (or a Feature holding one, or a `{lat, lon}`
/// point): `48.58390, 7.74550`, `Ligne de 5,2 km`, `Zone de 3,4 ha`; `None` for anything else.
pub fn summary(value: &Value, lang: Lang) -> Option<String> {
    if let (Some(lat), Some(lon)) =
        (value.get("lat").and_then(Value::as_f64), value.get("lon").and_then(Value::as_f64))
    {
        return Some(point(lon, lat));
    }
    let geometry = if value.get("type").and_then(Value::as_str) == Some("Feature") {
        value.get("geometry")?
    } else {
        value
    };
    let t = lang.messages();
    let coords = geometry.get("coordinates");
    match geometry.get("type").and_then(Value::as_str)? {
        "Point" => {
            let p = position(coords?)?;
            Some(point(p.0, p.1))
        }
        "MultiPoint" => Some(t.points(coords?.as_array()?.len() as i64)),
        "LineString" => Some(t.line_length(&distance(line_km(coords?)?, lang))),
        "MultiLineString" => {
            let lines = coords?.as_array()?;
            let km = lines.iter().map(line_km).sum::<Option<f64>>()?;
            Some(t.lines_length(lines.len() as i64, &distance(km, lang)))
        }
        "Polygon" => Some(t.area(&surface(polygon_km2(coords?)?, lang))),
        "MultiPolygon" => {
            let km2 = coords?.as_array()?.iter().map(polygon_km2).sum::<Option<f64>>()?;
            Some(t.area(&surface(km2, lang)))
        }
        _ => None,
    }
}

fn point(lon: f64, lat: f64) -> String {
    // Coordinates keep the decimal point in every language: they are copied into map tools.
    format!("{lat:.5}, {lon:.5}")
}

fn position(value: &Value) -> Option<(f64, f64)> {
    let p = value.as_array()?;
    Some((p.first()?.as_f64()?, p.get(1)?.as_f64()?))
}

/// Great-circle length of a line, in kilometres.
fn line_km(coords: &Value) -> Option<f64> {
    let points = coords.as_array()?.iter().map(position).collect::<Option<Vec<_>>>()?;
    Some(points.windows(2).map(|w| haversine_km(w[0], w[1])).sum())
}

fn haversine_km((lon1, lat1): (f64, f64), (lon2, lat2): (f64, f64)) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let dphi = phi2 - phi1;
    let dlambda = (lon2 - lon1).to_radians();
    let a = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
}

/// Area of a polygon (outer ring minus holes), in square kilometres, in an equirectangular
/// projection centred on the polygon.
fn polygon_km2(rings: &Value) -> Option<f64> {
    let rings = rings.as_array()?;
    let mut area = 0.0;
    for (i, ring) in rings.iter().enumerate() {
        let points = ring.as_array()?.iter().map(position).collect::<Option<Vec<_>>>()?;
        let a = ring_km2(&points);
        area += if i == 0 { a } else { -a };
    }
    Some(area.max(0.0))
}

fn ring_km2(points: &[(f64, f64)]) -> f64 {
    if points.len() < 3 {
        return 0.0;
    }
    let lat0 = points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64;
    let kx = EARTH_RADIUS_KM * lat0.to_radians().cos() * std::f64::consts::PI / 180.0;
    let ky = EARTH_RADIUS_KM * std::f64::consts::PI / 180.0;
    let projected: Vec<(f64, f64)> = points.iter().map(|(x, y)| (x * kx, y * ky)).collect();
    let twice: f64 = projected
        .iter()
        .zip(projected.iter().cycle().skip(1))
        .map(|(a, b)| a.0 * b.1 - b.0 * a.1)
        .sum();
    (twice / 2.0).abs()
}

/// `5,2 km` (one decimal, always), or `850 m` under a kilometre.
fn distance(km: f64, lang: Lang) -> String {
    if km >= 1.0 {
        format!("{}\u{a0}km", fixed(km, 1, lang))
    } else {
        format!("{}\u{a0}m", decimal(km * 1000.0, 0, lang))
    }
}

/// `1,2 km²`, `3,4 ha` under a square kilometre, `850 m²` under a hectare.
fn surface(km2: f64, lang: Lang) -> String {
    if km2 >= 1.0 {
        format!("{}\u{a0}km²", fixed(km2, 1, lang))
    } else if km2 >= 0.01 {
        format!("{}\u{a0}ha", fixed(km2 * 100.0, 1, lang))
    } else {
        format!("{}\u{a0}m²", decimal(km2 * 1e6, 0, lang))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lines_and_areas_are_measured() {
        // One degree of latitude is 111.2 km on the mean sphere.
        let line = json!({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[7.0, 48.0], [7.0, 49.0]]}, "properties": {}});
        assert_eq!(summary(&line, Lang::Fr).as_deref(), Some("Ligne de 111,2\u{a0}km"));
        assert_eq!(summary(&line, Lang::En).as_deref(), Some("Line of 111.2\u{a0}km"));
        let short = json!({"type": "LineString", "coordinates": [[7.0, 48.0], [7.0, 48.005]]});
        assert_eq!(summary(&short, Lang::Fr).as_deref(), Some("Ligne de 556\u{a0}m"));
        let two = json!({"type": "MultiLineString", "coordinates": [[[7.0, 48.0], [7.0, 48.005]], [[7.0, 48.0], [7.0, 48.005]]]});
        assert_eq!(summary(&two, Lang::En).as_deref(), Some("2 lines, 1.1\u{a0}km in all"));
        // A square of 0.01° at 48.5° N: 1.112 km × 0.737 km = 0.82 km² = 82 ha; a hole of a quarter.
        let square = json!({"type": "Polygon", "coordinates": [
            [[7.0, 48.495], [7.01, 48.495], [7.01, 48.505], [7.0, 48.505], [7.0, 48.495]],
            [[7.0, 48.495], [7.005, 48.495], [7.005, 48.5], [7.0, 48.5], [7.0, 48.495]]
        ]});
        assert_eq!(summary(&square, Lang::Fr).as_deref(), Some("Zone de 61,4\u{a0}ha"));
        let point = json!({"type": "Point", "coordinates": [7.7455, 48.5839]});
        assert_eq!(summary(&point, Lang::Fr).as_deref(), Some("48.58390, 7.74550"));
        assert_eq!(
            summary(&json!({"lat": 48.5, "lon": 7.7}), Lang::En).as_deref(),
            Some("48.50000, 7.70000")
        );
        assert_eq!(summary(&json!({"type": "Nope"}), Lang::En), None);
        assert_eq!(summary(&json!({"type": "LineString", "coordinates": "x"}), Lang::En), None);
    }
}
