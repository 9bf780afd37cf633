//! Record values as the pages show them: numbers, dates and date-times the way the page's
//! language writes them, booleans as words, geometries in words, labels for readers.

use kleber_store::DatasetRecord;
use kleber_types::{Field, FieldType};
use kleber_web::Lang;
use kleber_web::format;
use kleber_web::view::Cell;
use serde_json::Value;

/// The time zone date-times are shown in when the dataset names none.
pub(crate) const DEFAULT_TIME_ZONE: chrono_tz::Tz = chrono_tz::Europe::Paris;

/// Most decimals a value of the data shows (a sum or an average shows two).
const DATA_DECIMALS: usize = 6;

/// Words of a field name that make an integer a code, written without thousands separator
/// (`code_postal` 67000, `annee` 2025, `id` 12345).
const CODE_WORDS: &[&str] = &[
    "id",
    "ident",
    "identifiant",
    "code",
    "cp",
    "insee",
    "siren",
    "siret",
    "annee",
    "year",
    "numero",
    "num",
    "no",
    "zip",
    "postal",
];

/// The time zone of a dataset's date-times: its `timezone` metadata, else Europe/Paris.
pub(crate) fn time_zone(record: &DatasetRecord) -> chrono_tz::Tz {
    record
        .metas
        .get("timezone")
        .and_then(Value::as_str)
        .and_then(|tz| tz.parse().ok())
        .unwrap_or(DEFAULT_TIME_ZONE)
}

/// The label of a field, for readers (see [`format::field_label`]); the geometry an import
/// names `geo_point_2d` or `geo_shape` is called "Position" or "Forme".
pub(crate) fn label(field: &Field, lang: Lang) -> String {
    let t = lang.messages();
    match (field.field_type, field.label.as_str()) {
        (FieldType::GeoPoint2d, "geo_point_2d") => t.location.to_owned(),
        (FieldType::GeoShape, "geo_shape") => t.shape.to_owned(),
        _ => format::field_label(&field.label),
    }
}

/// The label of the field named `name` among `fields` (the name itself when there is none).
pub(crate) fn label_of(fields: &[Field], name: &str, lang: Lang) -> String {
    fields.iter().find(|f| f.name == name).map_or_else(|| name.to_owned(), |f| label(f, lang))
}

/// True when an integer field holds codes (postcodes, years, identifiers), by its name.
fn is_code(field: &Field) -> bool {
    field.name.split('_').any(|w| CODE_WORDS.contains(&w) || w.starts_with("code"))
}

/// A value of `field` as a table cell.
pub(crate) fn cell(field: &Field, value: &Value, lang: Lang) -> Cell {
    match (field.field_type, value) {
        (_, Value::Null) => Cell::default(),
        (FieldType::Int, Value::Number(n)) if is_code(field) => {
            Cell { text: n.to_string(), numeric: true }
        }
        (_, Value::Number(n)) => Cell { text: number(n, DATA_DECIMALS, lang), numeric: true },
        (FieldType::Date, Value::String(s)) => {
            Cell { text: format::iso_date(s, lang).unwrap_or_else(|| s.clone()), numeric: false }
        }
        (FieldType::Datetime, Value::String(s)) => Cell {
            text: format::datetime(s, lang)
                .or_else(|| format::iso_date(s, lang))
                .unwrap_or_else(|| s.clone()),
            numeric: false,
        },
        (FieldType::GeoPoint2d | FieldType::GeoShape, v) => Cell {
            text: kleber_web::geometry::summary(v, lang).unwrap_or_else(|| display(v, lang)),
            numeric: false,
        },
        (_, v) => Cell { text: display(v, lang), numeric: false },
    }
}

/// A JSON number in the page's language, with at most `decimals` decimals.
pub(crate) fn number(n: &serde_json::Number, decimals: usize, lang: Lang) -> String {
    match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => format::integer(i, lang),
        (None, Some(f)) => format::decimal(f, decimals, lang),
        _ => n.to_string(),
    }
}

/// Any value, without knowing its field: text as it is, numbers and booleans in the page's
/// language, lists joined by commas, objects as JSON.
pub(crate) fn display(value: &Value, lang: Lang) -> String {
    let t = lang.messages();
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => (if *b { t.yes } else { t.no }).to_owned(),
        Value::Number(n) => number(n, DATA_DECIMALS, lang),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            items.iter().map(|v| display(v, lang)).collect::<Vec<_>>().join(", ")
        }
        Value::Object(_) => {
            kleber_web::geometry::summary(value, lang).unwrap_or_else(|| value.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn cells_follow_the_field_type_and_the_language() {
        let field = |name: &str, t: FieldType| Field::new(name, name, t);
        let count = field("comptage", FieldType::Int);
        let c = cell(&count, &json!(1_389_081), Lang::Fr);
        assert_eq!((c.text.as_str(), c.numeric), ("1\u{202f}389\u{202f}081", true));
        assert_eq!(cell(&count, &json!(1_389_081), Lang::En).text, "1,389,081");
        let postcode = field("code_postal", FieldType::Int);
        assert_eq!(cell(&postcode, &json!(67000), Lang::Fr).text, "67000");
        let temperature = field("temperature_moyenne", FieldType::Double);
        assert_eq!(cell(&temperature, &json!(14.8), Lang::Fr).text, "14,8");
        let day = field("date", FieldType::Date);
        assert_eq!(cell(&day, &json!("2025-01-31"), Lang::Fr).text, "31/01/2025");
        assert_eq!(cell(&day, &json!("2025-01-31"), Lang::En).text, "2025-01-31");
        let at = field("horodatage", FieldType::Datetime);
        assert_eq!(
            cell(&at, &json!("2026-11-26T08:05:00+01:00"), Lang::Fr).text,
            "26/11/2026 08:05"
        );
        let open = field("ouvert", FieldType::Boolean);
        assert_eq!(cell(&open, &json!(true), Lang::En).text, "yes");
        assert_eq!(cell(&open, &Value::Null, Lang::En).text, "");
        assert_eq!(label(&field("geo_point_2d", FieldType::GeoPoint2d), Lang::Fr), "Position");
        assert_eq!(label(&field("geo_shape", FieldType::GeoShape), Lang::En), "Shape");
        assert_eq!(label(&temperature, Lang::Fr), "Temperature moyenne");
    }
}
