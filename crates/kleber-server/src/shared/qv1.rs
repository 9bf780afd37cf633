//! The Search API v1 query language (`q=`): the adapter to [`kleber_odsql::v1q`], where the
//! language is parsed and translated (see there, and `docs/legacy-apis.md`).
//!
//! This module maps the dataset's fields to what the translator needs, and keeps the helpers
//! the v1 parameters share (`geofilter.*` uses the same geometry builders as `#distance` and
//! `#polygon`), all writing ODSQL through [`kleber_odsql::write`].

use kleber_odsql::v1q::{self, FieldInfo, FieldKind};
use kleber_odsql::write;
use kleber_types::{Field, FieldType};

pub use kleber_odsql::v1q::{MAX_QUERY_LEN, QueryError, meters_value, polygon_ring};

/// What the v1 translator needs to know of each field.
fn field_infos(fields: &[Field]) -> Vec<FieldInfo<'_>> {
    fields
        .iter()
        .map(|f| FieldInfo {
            name: &f.name,
            kind: match f.field_type {
                FieldType::Text => FieldKind::Text,
                FieldType::Int | FieldType::Double => FieldKind::Number,
                FieldType::Boolean => FieldKind::Boolean,
                FieldType::Date | FieldType::Datetime => FieldKind::Date,
                FieldType::GeoPoint2d | FieldType::GeoShape => FieldKind::Geo,
            },
        })
        .collect()
}

/// An ODSQL string literal holding `text`.
pub fn odsql_string(text: &str) -> String {
    write::string(text)
}

/// An ODSQL field name (backticked unless it is a plain identifier).
pub fn odsql_name(name: &str) -> String {
    write::name(name)
}

/// A finite number parsed from user text, printed back as ODSQL.
pub fn odsql_number(text: &str) -> Option<String> {
    v1q::number(text).map(|e| write::expr(&e))
}

/// ODSQL: the records whose `field` lies within `meters` of (lat, lon).
pub fn within_distance(field: &str, lat: f64, lon: f64, meters: f64) -> String {
    write::expr(&v1q::within_distance(field, lat, lon, meters))
}

/// ODSQL: the records whose `field` lies in the polygon of WKT ring `ring`.
pub fn polygon(field: &str, ring: &str) -> String {
    write::expr(&v1q::polygon(field, ring))
}

/// Translates a v1 `q` into an ODSQL `where` over `fields`; `None` for an empty query.
pub fn translate(q: &str, fields: &[Field]) -> std::result::Result<Option<String>, QueryError> {
    v1q::translate(q, &field_infos(fields))
}

/// The `qv1` parameter of Explore v2.1 (a v1 query, sent by Opendatasoft's widgets) as one
/// more ODSQL `where`.
pub fn qv1_where(
    params: &crate::shared::params::Params,
    fields: &[Field],
) -> std::result::Result<Option<String>, crate::ApiError> {
    let Some(q) = params.get("qv1") else { return Ok(None) };
    translate(q, fields).map_err(|e| {
        crate::ApiError::bad_param(format!("Invalid value for qv1 API parameter: {}.", e.0))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<Field> {
        let f = |name: &str, t| Field::new(name, name, t);
        vec![
            f("nom", FieldType::Text),
            f("total", FieldType::Int),
            f("taux", FieldType::Double),
            f("ouvert", FieldType::Boolean),
            f("jour", FieldType::Date),
            f("maj", FieldType::Datetime),
            f("position", FieldType::GeoPoint2d),
            f("contour", FieldType::GeoShape),
        ]
    }

    /// Every field type reaches the translator as the right kind (the language itself is
    /// tested by kleber-odsql's golden files).
    #[test]
    fn field_types_map_to_kinds() {
        let t = |q: &str| translate(q, &fields()).unwrap().unwrap();
        let e = |q: &str| translate(q, &fields()).unwrap_err().0;
        assert_eq!(t("nom:Gare"), "nom LIKE \"Gare\"");
        assert_eq!(t("total>=100"), "total >= 100");
        assert_eq!(t("taux<0.5"), "taux < 0.5");
        assert_eq!(t("ouvert:1"), "ouvert = TRUE");
        assert_eq!(t("jour:2019"), "jour >= date'2019-01-01' AND jour < date'2020-01-01'");
        assert_eq!(t("maj>=2013/02/11"), "maj >= date'2013-02-11'");
        assert!(e("position:1").contains("geo field"));
        assert!(e("contour:1").contains("geo field"));
        assert!(t("#distance(contour,\"48.58,7.75\",500)").starts_with("within_distance(contour"));
    }
}
