//! v1 request parameters → the ODSQL clauses of a records query.
//!
//! | v1 | becomes |
//! |---|---|
//! | `q`, `q.<anything>` | one `where` each (ANDed), translated by [`crate::shared::qv1`] |
//! | `refine.F=v`, `exclude.F=v` | `refine=F:"v"`, `exclude=F:"v"` |
//! | `disjunctive.F=true` | the field `F` annotated `disjunctive`: its refinements are ORed |
//! | `geofilter.distance=lat,lon,m` | `within_distance(geo, geom'POINT(lon lat)', m m)` |
//! | `geofilter.polygon=(lat,lon),…` | `polygon(geo, geom'POLYGON((lon lat, …))')` |
//! | `geofilter.bbox=lat1,lon1,lat2,lon2` | `in_bbox(geo, lat1, lon1, lat2, lon2)` |
//! | `sort=f` / `sort=-f` | `order_by=f DESC` / `f ASC` (v1 sorts descending by default) |
//! | `fields=a,b` | `select=a, b` |
//! | `timezone`, `lang` | unchanged |
//!
//! `geo` is the dataset's first `geo_point_2d` field, else its first `geo_shape` field.

use kleber_odsql::{build, v1q, write};
use kleber_types::{Field, FieldType};
use serde_json::{Map, Value, json};

use super::V1Error;
use crate::shared::params::Params;
use crate::shared::qv1::{
    MAX_QUERY_LEN, meters_value, odsql_number, polygon, polygon_ring, translate, within_distance,
};

/// Largest `rows`, and `start + rows`, of a v1 search.
pub const V1_WINDOW: i64 = 10_000;

/// A v1 request translated: the v2.1 parameters of the same query, the fields to plan it over
/// (with `disjunctive` annotations added), and the `parameters` echo of the response.
#[derive(Debug, Clone)]
pub struct V1Query {
    /// v2.1 parameters: `where`, `refine`, `exclude`, `order_by`, `select`, `timezone`, `lang`.
    pub pairs: Vec<(String, String)>,
    /// The dataset's fields, those named by `disjunctive.F=true` annotated `disjunctive`.
    pub fields: Vec<Field>,
    /// Facets named by `disjunctive.F=true`.
    pub disjunctive: Vec<String>,
    /// The `fields=` list, if given.
    pub selected: Option<Vec<String>>,
    /// The echo of the request, `parameters` in responses.
    pub echo: Map<String, Value>,
}

impl V1Query {
    /// The v2.1 parameters as [`Params`], with `extra` pairs appended.
    pub fn params(&self, extra: &[(&str, String)]) -> Params {
        let mut pairs = self.pairs.clone();
        pairs.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        params_of(&pairs)
    }

    /// The records query (`limit` rows from `offset`).
    pub fn records_query(&self, limit: Option<usize>, offset: usize) -> kleber_query::RecordsQuery {
        self.params(&[]).records_query(limit, offset)
    }

    /// The facets asked with `facet=F` (disjunctive when `disjunctive.F=true`).
    pub fn facet_requests(&self, asked: &[String]) -> Vec<kleber_query::facets::FacetRequest> {
        asked
            .iter()
            .map(|name| kleber_query::facets::FacetRequest {
                name: name.trim().to_owned(),
                disjunctive: self.disjunctive.iter().any(|d| d == name.trim()),
                sort: None,
                limit: None,
                separator: None,
            })
            .collect()
    }
}

/// [`Params`] holding `pairs`.
pub fn params_of(pairs: &[(String, String)]) -> Params {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.extend_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    Params::parse(Some(&s.finish()))
}

/// The main geo field of a dataset: the first geo point, else the first shape.
pub fn main_geo_field(fields: &[Field]) -> Option<&Field> {
    fields
        .iter()
        .find(|f| f.field_type == FieldType::GeoPoint2d)
        .or_else(|| fields.iter().find(|f| f.field_type == FieldType::GeoShape))
}

fn bad(message: String) -> V1Error {
    V1Error::bad_param(message)
}

fn parse_numbers(name: &str, text: &str, count: usize) -> Result<Vec<f64>, V1Error> {
    let values: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse::<f64>().ok().filter(|f| f.is_finite()))
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default();
    if values.len() != count {
        return Err(bad(format!(
            "Invalid value for {name} API parameter: {text:?} was found but {count} comma-separated numbers are expected."
        )));
    }
    Ok(values)
}

fn check_lat_lon(name: &str, lat: f64, lon: f64) -> Result<(), V1Error> {
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(bad(format!(
            "Invalid value for {name} API parameter: latitude {lat} / longitude {lon} out of range; points are written latitude first (lat,lon)."
        )));
    }
    Ok(())
}

/// The ODSQL conditions of the `geofilter.*` parameters.
fn geofilters(params: &Params, fields: &[Field]) -> Result<Vec<String>, V1Error> {
    let mut out = Vec::new();
    let geo = |name: &str| -> Result<String, V1Error> {
        main_geo_field(fields).map(|f| f.name.clone()).ok_or_else(|| {
            bad(format!(
                "Invalid value for {name} API parameter: this dataset has no geo field to filter on."
            ))
        })
    };
    for text in params.all("geofilter.distance") {
        let name = "geofilter.distance";
        let parts: Vec<&str> = text.split(',').collect();
        let (lat, lon, meters) = match parts.as_slice() {
            [lat, lon] => (lat.trim().parse().ok(), lon.trim().parse().ok(), Some(0.0)),
            [lat, lon, m] => (lat.trim().parse().ok(), lon.trim().parse().ok(), meters_value(m)),
            _ => (None, None, None),
        };
        let (Some(lat), Some(lon), Some(meters)) = (lat, lon, meters) else {
            return Err(bad(format!(
                "Invalid value for {name} API parameter: {text:?} was found but lat,lon,distance_in_meters is expected, e.g. 48.58,7.75,500."
            )));
        };
        check_lat_lon(name, lat, lon)?;
        out.push(within_distance(&geo(name)?, lat, lon, meters));
    }
    for text in params.all("geofilter.polygon") {
        let name = "geofilter.polygon";
        let Some(ring) = polygon_ring(&text) else {
            return Err(bad(format!(
                "Invalid value for {name} API parameter: {text:?} was found but at least three points (lat,lon),(lat,lon),(lat,lon) are expected."
            )));
        };
        out.push(polygon(&geo(name)?, &ring));
    }
    for text in params.all("geofilter.bbox") {
        let name = "geofilter.bbox";
        let v = parse_numbers(name, &text, 4)?;
        check_lat_lon(name, v[0], v[1])?;
        check_lat_lon(name, v[2], v[3])?;
        out.push(write::expr(&v1q::in_bbox(&geo(name)?, [v[0], v[1], v[2], v[3]])));
    }
    Ok(out)
}

/// `refine.F` / `exclude.F` parameters: (field, value) in order.
fn prefixed(params: &Params, prefix: &str) -> Vec<(String, String)> {
    params
        .pairs()
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|f| (f.to_owned(), v.clone())))
        .filter(|(f, _)| !f.is_empty())
        .collect()
}

/// The refine echo of a value: a date path expands to each of its levels.
fn echo_values(field: Option<&Field>, value: &str) -> Vec<String> {
    let is_date =
        field.is_some_and(|f| matches!(f.field_type, FieldType::Date | FieldType::Datetime));
    if !is_date {
        return vec![value.to_owned()];
    }
    let parts: Vec<&str> = value.split('/').collect();
    (1..=parts.len()).map(|n| parts[..n].join("/")).collect()
}

fn echo_refines(fields: &[Field], pairs: &[(String, String)]) -> Value {
    let mut map: Map<String, Value> = Map::new();
    for (name, value) in pairs {
        let field = fields.iter().find(|f| &f.name == name);
        for v in echo_values(field, value) {
            match map.get_mut(name) {
                None => {
                    map.insert(name.clone(), Value::String(v));
                }
                Some(Value::Array(list)) => list.push(Value::String(v)),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, Value::String(v)]);
                }
            }
        }
    }
    Value::Object(map)
}

/// `sort` → `order_by`: descending by default, `-f` ascending. `record_timestamp` is the same
/// for every record of a version, so sorting on it keeps the engine's order.
fn order_by(params: &Params, fields: &[Field]) -> Result<Option<String>, V1Error> {
    let Some(sort) = params.get("sort").filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    let mut items = Vec::new();
    for key in sort.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        let (name, descending) = match key.strip_prefix('-') {
            Some(name) => (name.trim(), false),
            None => (key.strip_prefix('+').unwrap_or(key).trim(), true),
        };
        if name == "record_timestamp" {
            continue;
        }
        if name != "recordid" && !fields.iter().any(|f| f.name == name) {
            return Err(bad(format!(
                "Invalid value for sort API parameter: unknown field {name:?}."
            )));
        }
        items.push(write::order_item(&build::field(name), descending));
    }
    Ok((!items.is_empty()).then(|| items.join(", ")))
}

/// Translates the filters of a v1 request over a dataset whose fields are `fields`.
///
/// `dataset` names it in the echo (absent for the catalog search).
pub fn translate_request(
    params: &Params,
    fields: &[Field],
    dataset: Option<&str>,
) -> Result<V1Query, V1Error> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut echo = Map::new();
    if let Some(id) = dataset {
        // A string, as Opendatasoft answered in 2020 (a one-element list in 2019).
        echo.insert("dataset".into(), json!(id));
    }
    // q and q.<anything>, ANDed.
    for (key, text) in params.pairs() {
        if key != "q" && !key.starts_with("q.") {
            continue;
        }
        if text.len() > MAX_QUERY_LEN {
            return Err(bad(format!(
                "Invalid value for {key} API parameter: the query is longer than {MAX_QUERY_LEN} bytes."
            )));
        }
        match translate(text, fields) {
            Ok(Some(clause)) => pairs.push(("where".into(), clause)),
            Ok(None) => {}
            Err(e) => {
                return Err(bad(format!("Invalid value for {key} API parameter: {}.", e.0)));
            }
        }
        echo.insert(key.clone(), json!(text));
    }
    for clause in geofilters(params, fields)? {
        pairs.push(("where".into(), clause));
    }
    for key in ["geofilter.distance", "geofilter.polygon", "geofilter.bbox"] {
        let values = params.all(key);
        if !values.is_empty() {
            echo.insert(key.into(), json!(values));
        }
    }
    let refines = prefixed(params, "refine.");
    let excludes = prefixed(params, "exclude.");
    for (param, list) in [("refine", &refines), ("exclude", &excludes)] {
        for (name, value) in list {
            pairs.push((param.into(), write::refine(name, value)));
        }
        if !list.is_empty() {
            echo.insert(param.into(), echo_refines(fields, list));
        }
    }
    let mut fields = fields.to_vec();
    let mut disjunctive = Vec::new();
    for (name, value) in prefixed(params, "disjunctive.") {
        if !value.eq_ignore_ascii_case("true") {
            continue;
        }
        if let Some(f) = fields.iter_mut().find(|f| f.name == name) {
            f.annotations.entry("disjunctive".into()).or_default();
            disjunctive.push(name);
        }
    }
    if !disjunctive.is_empty() {
        let map: Map<String, Value> =
            disjunctive.iter().map(|d| (d.clone(), Value::Bool(true))).collect();
        echo.insert("disjunctive".into(), Value::Object(map));
    }
    if let Some(order) = order_by(params, &fields)? {
        pairs.push(("order_by".into(), order));
    }
    if let Some(sort) = params.get("sort").filter(|s| !s.trim().is_empty()) {
        echo.insert("sort".into(), json!(sort.split(',').map(str::trim).collect::<Vec<_>>()));
    }
    let mut selected = None;
    if let Some(list) = params.get("fields").filter(|s| !s.trim().is_empty()) {
        let names: Vec<String> =
            list.split(',').map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).collect();
        for n in &names {
            if !fields.iter().any(|f| &f.name == n) {
                return Err(bad(format!(
                    "Invalid value for fields API parameter: unknown field {n:?}."
                )));
            }
        }
        echo.insert("fields".into(), json!(names));
        selected = Some(names);
    }
    let timezone = params.get("timezone").filter(|t| !t.trim().is_empty());
    if let Some(tz) = timezone {
        pairs.push(("timezone".into(), tz.to_owned()));
    }
    echo.insert("timezone".into(), json!(timezone.unwrap_or("UTC")));
    if let Some(lang) = params.get("lang").filter(|l| !l.trim().is_empty()) {
        pairs.push(("lang".into(), lang.to_owned()));
        echo.insert("lang".into(), json!(lang));
    }
    let facets = params.all("facet");
    if !facets.is_empty() {
        echo.insert("facet".into(), json!(facets));
    }
    Ok(V1Query { pairs, fields, disjunctive, selected, echo })
}

/// `rows` and `start` of a v1 search: rows default 10, `start + rows` at most 10 000.
pub fn rows_start(params: &Params) -> Result<(usize, usize), V1Error> {
    let rows = params.int("rows")?.unwrap_or(10);
    if !(0..=V1_WINDOW).contains(&rows) {
        return Err(bad(format!(
            "Invalid value for rows API parameter: {rows} was found but 0 <= rows <= {V1_WINDOW} is expected."
        )));
    }
    let start = params.int("start")?.unwrap_or(0);
    if start < 0 {
        return Err(bad(format!(
            "Invalid value for start API parameter: {start} was found but start >= 0 is expected."
        )));
    }
    if start.saturating_add(rows) > V1_WINDOW {
        return Err(bad(format!(
            "Invalid value for start API parameter: start + rows must be at most {V1_WINDOW}, but {start} + {rows} was found. Use /api/records/1.0/download/ to get every record."
        )));
    }
    Ok((rows as usize, start as usize))
}

/// A number from user text for a select list (used by analyze).
pub fn number_literal(text: &str) -> Option<String> {
    odsql_number(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<Field> {
        vec![
            Field::new("nom", "Nom", FieldType::Text),
            Field::new("jour", "Jour", FieldType::Date),
            Field::new("position", "Position", FieldType::GeoPoint2d),
        ]
    }

    #[test]
    fn v1_parameters_become_odsql() {
        let params = Params::parse(Some(
            "q=gare&refine.nom=A%22B&exclude.jour=2019/09&disjunctive.nom=true&sort=-nom&geofilter.distance=48.5,7.7,100&fields=nom&timezone=Europe/Paris",
        ));
        let q = translate_request(&params, &fields(), Some("ds")).unwrap();
        let get = |k: &str| -> Vec<&str> {
            q.pairs.iter().filter(|(key, _)| key == k).map(|(_, v)| v.as_str()).collect()
        };
        assert_eq!(
            get("where"),
            vec!["\"gare\"", "within_distance(position, geom'POINT(7.7 48.5)', 100.0m)"]
        );
        assert_eq!(get("refine"), vec!["`nom`:\"A\\\"B\""]);
        assert_eq!(get("exclude"), vec!["`jour`:\"2019/09\""]);
        assert_eq!(get("order_by"), vec!["nom ASC"]);
        assert!(q.fields[0].annotations.contains_key("disjunctive"));
        assert_eq!(q.echo["exclude"], json!({"jour": ["2019", "2019/09"]}));
        assert_eq!(q.echo["dataset"], json!("ds"));
        assert_eq!(q.echo["timezone"], json!("Europe/Paris"));
    }

    #[test]
    fn bad_geofilters_and_windows_are_refused() {
        let f = fields();
        for query in [
            "geofilter.distance=91,7,10",
            "geofilter.distance=a,b,c",
            "geofilter.polygon=(1,2),(3,4)",
            "geofilter.bbox=1,2,3",
            "sort=inconnu",
            "fields=nom,inconnu",
        ] {
            assert!(translate_request(&Params::parse(Some(query)), &f, None).is_err(), "{query}");
        }
        assert!(rows_start(&Params::parse(Some("rows=10001"))).is_err());
        assert!(rows_start(&Params::parse(Some("rows=100&start=9901"))).is_err());
        assert_eq!(rows_start(&Params::parse(Some("rows=100&start=9900"))).unwrap(), (100, 9900));
        assert_eq!(rows_start(&Params::parse(None)).unwrap(), (10, 0));
        assert!(rows_start(&Params::parse(Some("rows=10&start=9223372036854775807"))).is_err());
    }
}
