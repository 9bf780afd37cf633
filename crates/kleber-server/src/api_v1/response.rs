//! v1 response bodies: records, facet groups, JSONP.
//!
//! A v1 record is `{"datasetid", "recordid", "fields", "geometry", "record_timestamp"}`.
//! `fields` holds the non-null values in v1 encodings: geo points as `[lat, lon]`, shapes as
//! bare GeoJSON geometries, the rest as in v2.1. `geometry` is the GeoJSON of the dataset's
//! main geo field (a `Point` for a geo point), absent when the dataset has none or the value
//! is null. `record_timestamp` is when the served version was published, in the request's
//! time zone.

use std::collections::HashMap;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use kleber_query::facets::{FacetGroup, FacetValue};
use kleber_query::{ColumnRole, OutputColumn};
use serde_json::{Map, Value, json};

use super::V1Error;
use crate::shared::json::json_response;

/// The private name of the record id in v1 selects.
pub const RECORD_ID: &str = "__kleber_v1_recordid";
/// The private name of the main geo field in v1 selects.
pub const GEOMETRY: &str = "__kleber_v1_geometry";

/// What every record of a response shares.
pub struct RecordContext {
    /// `datasetid`.
    pub dataset_id: String,
    /// `record_timestamp`, already rendered.
    pub timestamp: String,
    /// The role of each output key.
    roles: HashMap<String, ColumnRole>,
    /// Keys to keep in `fields` (`None`: all).
    selected: Option<Vec<String>>,
}

impl RecordContext {
    /// The context of a query whose output columns are `columns`.
    pub fn new(
        dataset_id: &str,
        timestamp: String,
        columns: &[OutputColumn],
        selected: Option<Vec<String>>,
    ) -> Self {
        let roles = columns.iter().map(|c| (c.key.clone(), c.role)).collect();
        RecordContext { dataset_id: dataset_id.to_owned(), timestamp, roles, selected }
    }

    /// The v1 record of one v2.1-encoded row.
    pub fn record(&self, row: Value) -> Value {
        let Value::Object(map) = row else { return row };
        let mut fields = Map::new();
        let mut recordid = Value::Null;
        let mut geometry = None;
        for (key, value) in map {
            if key == RECORD_ID {
                recordid = value;
                continue;
            }
            if key == GEOMETRY {
                geometry = geometry_of(&value);
                continue;
            }
            if value.is_null() {
                continue;
            }
            if self.selected.as_ref().is_some_and(|s| !s.contains(&key)) {
                continue;
            }
            let role = self.roles.get(&key).copied().unwrap_or(ColumnRole::Plain);
            fields.insert(key, v1_value(role, value));
        }
        let mut record = Map::new();
        record.insert("datasetid".into(), json!(self.dataset_id));
        record.insert("recordid".into(), recordid);
        record.insert("fields".into(), Value::Object(fields));
        if let Some(g) = geometry {
            record.insert("geometry".into(), g);
        }
        record.insert("record_timestamp".into(), json!(self.timestamp));
        Value::Object(record)
    }

    /// The v1 records of a page.
    pub fn records(&self, page: &kleber_app::Page) -> Result<Vec<Value>, V1Error> {
        Ok(page
            .values()
            .map_err(crate::ApiError::from)?
            .into_iter()
            .map(|row| self.record(row))
            .collect())
    }
}

/// A v2.1 value in its v1 encoding.
fn v1_value(role: ColumnRole, value: Value) -> Value {
    match role {
        ColumnRole::GeoPoint => match (value.get("lat"), value.get("lon")) {
            (Some(lat), Some(lon)) => json!([lat, lon]),
            _ => value,
        },
        ColumnRole::GeoShape => match value {
            Value::Object(mut feature) if feature.get("type") == Some(&json!("Feature")) => {
                feature.remove("geometry").unwrap_or(Value::Null)
            }
            other => other,
        },
        _ => value,
    }
}

/// The GeoJSON geometry of a geo value as v2.1 encodes it (point object or Feature).
pub fn geometry_of(value: &Value) -> Option<Value> {
    let obj = value.as_object()?;
    if let (Some(lat), Some(lon)) = (obj.get("lat"), obj.get("lon")) {
        return Some(json!({"type": "Point", "coordinates": [lon, lat]}));
    }
    if obj.get("type") == Some(&json!("Feature")) {
        return obj.get("geometry").cloned().filter(|g| !g.is_null());
    }
    obj.get("type").is_some().then(|| value.clone())
}

pub use crate::shared::render_timestamp;

fn facet_value(v: &FacetValue) -> Value {
    // Opendatasoft's key order: count, path, state, name.
    let mut o = Map::new();
    o.insert("count".into(), json!(v.count));
    o.insert("path".into(), json!(v.value));
    o.insert("state".into(), json!(v.state.name()));
    o.insert("name".into(), json!(v.name));
    if !v.facets.is_empty() {
        o.insert("facets".into(), Value::Array(v.facets.iter().map(facet_value).collect()));
    }
    Value::Object(o)
}

/// `facet_groups`: each facet's values as `{name, path, count, state, facets?}`.
pub fn facet_groups(groups: &[FacetGroup]) -> Value {
    Value::Array(
        groups
            .iter()
            .map(|g| {
                // Opendatasoft's key order: facets, name.
                let mut o = Map::new();
                o.insert("facets".into(), g.facets.iter().map(facet_value).collect());
                o.insert("name".into(), json!(g.name));
                Value::Object(o)
            })
            .collect(),
    )
}

/// Longest JSONP callback name accepted.
const MAX_CALLBACK_LEN: usize = 128;

/// Checks a JSONP `callback`: an identifier (`[A-Za-z_$][A-Za-z0-9_$]*`), optionally dotted
/// (`app.cb`), at most 128 characters. Anything else could inject script, so it is refused.
pub fn check_callback(callback: &str) -> Result<(), V1Error> {
    let ident = |part: &str| {
        let mut chars = part.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    };
    if callback.len() > MAX_CALLBACK_LEN || !callback.split('.').all(ident) {
        return Err(V1Error::bad_param(format!(
            "Invalid value for callback API parameter: {:?} was found but a JavaScript function name (letters, digits, _ and $, not starting with a digit, at most {MAX_CALLBACK_LEN} characters) is expected.",
            callback.chars().take(MAX_CALLBACK_LEN).collect::<String>()
        )));
    }
    Ok(())
}

/// A JSON body, or with `callback` the JSONP script calling it.
pub fn json_or_jsonp(body: &Value, callback: Option<&str>) -> Response {
    match callback {
        None => json_response(body.to_string()),
        Some(cb) => {
            // `/**/` keeps the first bytes from being read as anything but a comment.
            let script = format!("/**/{cb}({body});");
            let mut response = script.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/javascript; charset=utf-8"),
            );
            response
        }
    }
}

/// The checked `callback` parameter, if any (blank is none).
pub fn callback(params: &crate::shared::params::Params) -> Result<Option<String>, V1Error> {
    match params.get("callback").filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(cb) => {
            check_callback(cb)?;
            Ok(Some(cb.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_are_identifiers() {
        for ok in ["cb", "jQuery123_456", "$x", "app.handlers.cb"] {
            assert!(check_callback(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1cb", "a(b)", "alert(1);x", "a..b", "a-b", "</script>", &"a".repeat(129)] {
            assert!(check_callback(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_take_their_v1_encoding() {
        assert_eq!(
            v1_value(ColumnRole::GeoPoint, json!({"lon": 7.7, "lat": 48.5})),
            json!([48.5, 7.7])
        );
        let line = json!({"type": "LineString", "coordinates": [[7.0, 48.0], [7.1, 48.1]]});
        let feature = json!({"type": "Feature", "geometry": line, "properties": {}});
        assert_eq!(v1_value(ColumnRole::GeoShape, feature.clone()), line);
        assert_eq!(geometry_of(&feature), Some(line));
        assert_eq!(
            geometry_of(&json!({"lon": 7.7, "lat": 48.5})),
            Some(json!({"type": "Point", "coordinates": [7.7, 48.5]}))
        );
        assert_eq!(
            render_timestamp("2024-01-02T03:04:05Z", "Europe/Paris".parse().unwrap()),
            "2024-01-02T04:04:05+01:00"
        );
    }
}
