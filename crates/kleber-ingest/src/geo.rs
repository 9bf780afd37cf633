//! GeoJSON geometry validation.

use crate::values::Value;

/// Checks that `v` is a GeoJSON geometry object: a known `type`, `coordinates` nested to the
/// depth of that type, positions of at least two finite numbers, enough positions for lines
/// (2) and polygon rings (4); a `GeometryCollection` holds valid `geometries`.
///
/// Returns the `(lon, lat)` of a `Point`, `None` for other types.
pub(crate) fn validate_geometry(v: &Value) -> Result<Option<(f64, f64)>, String> {
    validate(v, 0)
}

fn validate(v: &Value, depth: usize) -> Result<Option<(f64, f64)>, String> {
    if depth > 16 {
        return Err("geometry collections nested too deep".to_owned());
    }
    let Value::Obj(_) = v else {
        return Err("a geometry must be a JSON object".to_owned());
    };
    let Some(Value::Str(kind)) = v.get("type") else {
        return Err("geometry without a string \"type\"".to_owned());
    };
    if kind == "GeometryCollection" {
        let Some(Value::Arr(parts)) = v.get("geometries") else {
            return Err("GeometryCollection without a \"geometries\" array".to_owned());
        };
        for p in parts {
            validate(p, depth + 1)?;
        }
        return Ok(None);
    }
    let Some(coords) = v.get("coordinates") else {
        return Err(format!("{kind} without \"coordinates\""));
    };
    match kind.as_str() {
        "Point" => position(coords).map(Some),
        "MultiPoint" => positions(coords, 0).map(|_| None),
        "LineString" => positions(coords, 2).map(|_| None),
        "MultiLineString" => each(coords, |c| positions(c, 2)).map(|_| None),
        "Polygon" => each(coords, |c| positions(c, 4)).map(|_| None),
        "MultiPolygon" => each(coords, |poly| each(poly, |c| positions(c, 4))).map(|_| None),
        other => Err(format!("unknown geometry type \"{other}\"")),
    }
}

fn position(v: &Value) -> Result<(f64, f64), String> {
    let Value::Arr(n) = v else {
        return Err("a position must be an array of numbers".to_owned());
    };
    if n.len() < 2 {
        return Err(format!("a position needs at least 2 numbers, found {}", n.len()));
    }
    let mut xy = [0.0; 2];
    for (i, c) in n.iter().enumerate() {
        let Some(f) = c.as_f64() else {
            return Err("a position must be an array of finite numbers".to_owned());
        };
        if i < 2 {
            xy[i] = f;
        }
    }
    Ok((xy[0], xy[1]))
}

fn positions(v: &Value, min: usize) -> Result<(), String> {
    let Value::Arr(ps) = v else {
        return Err("coordinates must be an array of positions".to_owned());
    };
    if ps.len() < min {
        return Err(format!("{} positions where at least {min} are needed", ps.len()));
    }
    for p in ps {
        position(p)?;
    }
    Ok(())
}

fn each(v: &Value, f: impl Fn(&Value) -> Result<(), String>) -> Result<(), String> {
    let Value::Arr(items) = v else {
        return Err("coordinates are not nested as the geometry type requires".to_owned());
    };
    items.iter().try_for_each(f)
}

/// The JSON text of a `Point` geometry.
pub(crate) fn point_json(lon: f64, lat: f64) -> String {
    Value::Obj(vec![
        ("type".to_owned(), Value::Str("Point".to_owned())),
        ("coordinates".to_owned(), Value::Arr(vec![Value::Float(lon), Value::Float(lat)])),
    ])
    .to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).expect("test JSON")
    }

    #[test]
    fn geometries() {
        assert_eq!(
            validate_geometry(&parse(r#"{"type":"Point","coordinates":[7.5,48.5]}"#)),
            Ok(Some((7.5, 48.5)))
        );
        assert!(
            validate_geometry(&parse(r#"{"type":"LineString","coordinates":[[1,2],[3,4]]}"#))
                .is_ok()
        );
        assert!(
            validate_geometry(&parse(r#"{"type":"LineString","coordinates":[[1,2]]}"#)).is_err()
        );
        assert!(
            validate_geometry(&parse(r#"{"type":"Polygon","coordinates":[[1,2],[3,4]]}"#)).is_err()
        );
        assert!(validate_geometry(&parse(r#"{"type":"Point","coordinates":["a",1]}"#)).is_err());
        assert!(validate_geometry(&parse(r#"{"type":"Blob","coordinates":[1,1]}"#)).is_err());
        assert!(validate_geometry(&parse(
            r#"{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[1,1]}]}"#
        ))
        .is_ok());
    }
}
