//! Batches of every stored Opendatasoft type, shared by the integration tests.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, ListBuilder, StringArray,
    StringBuilder, StructArray, TimestampMicrosecondArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::Schema;
use arrow::record_batch::RecordBatch;
use kleber_types::field::geo_point_fields;
use kleber_types::{Field, FieldType};
use serde_json::{Value, json};

/// One row of the test dataset, as plain Rust values.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: Option<&'static str>,
    pub tags: Option<Vec<Option<&'static str>>>,
    pub count: Option<i64>,
    pub ratio: Option<f64>,
    pub flag: Option<bool>,
    /// Days since 1970-01-01.
    pub day: Option<i32>,
    /// Microseconds since the epoch, UTC.
    pub at: Option<i64>,
    /// (lon, lat)
    pub point: Option<(f64, f64)>,
    pub shape: Option<&'static str>,
}

/// The fields of the test dataset, one of each stored type (text twice: single and multivalued).
pub fn fields() -> Vec<Field> {
    let mut tags = Field::new("tags", "Étiquettes", FieldType::Text);
    tags.annotations.insert("multivalued".to_owned(), vec![";".to_owned()]);
    vec![
        Field::new("name", "Nom de l'objet", FieldType::Text),
        tags,
        Field::new("count", "Nombre", FieldType::Int),
        Field::new("ratio", "Ratio", FieldType::Double),
        Field::new("flag", "Drapeau", FieldType::Boolean),
        Field::new("day", "Jour", FieldType::Date),
        Field::new("at", "Horodatage", FieldType::Datetime),
        Field::new("point", "Coordonnées", FieldType::GeoPoint2d),
        Field::new("shape", "Forme", FieldType::GeoShape),
    ]
}

pub fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(fields().iter().map(Field::arrow_field).collect::<Vec<_>>()))
}

/// A batch of the stored schema holding `rows`.
pub fn batch(rows: &[Row]) -> RecordBatch {
    let name: ArrayRef = Arc::new(rows.iter().map(|r| r.name).collect::<StringArray>());
    let mut tags = ListBuilder::new(StringBuilder::new());
    for r in rows {
        match &r.tags {
            Some(values) => {
                for v in values {
                    tags.values().append_option(*v);
                }
                tags.append(true);
            }
            None => tags.append(false),
        }
    }
    let tags: ArrayRef = Arc::new(tags.finish());
    let count: ArrayRef = Arc::new(rows.iter().map(|r| r.count).collect::<Int64Array>());
    let ratio: ArrayRef = Arc::new(rows.iter().map(|r| r.ratio).collect::<Float64Array>());
    let flag: ArrayRef = Arc::new(rows.iter().map(|r| r.flag).collect::<BooleanArray>());
    let day: ArrayRef = Arc::new(rows.iter().map(|r| r.day).collect::<Date32Array>());
    let at: ArrayRef = Arc::new(
        rows.iter().map(|r| r.at).collect::<TimestampMicrosecondArray>().with_timezone("UTC"),
    );
    let lon: ArrayRef =
        Arc::new(rows.iter().map(|r| r.point.map_or(0.0, |p| p.0)).collect::<Float64Array>());
    let lat: ArrayRef =
        Arc::new(rows.iter().map(|r| r.point.map_or(0.0, |p| p.1)).collect::<Float64Array>());
    let point_nulls = NullBuffer::from(rows.iter().map(|r| r.point.is_some()).collect::<Vec<_>>());
    let point: ArrayRef =
        Arc::new(StructArray::new(geo_point_fields(), vec![lon, lat], Some(point_nulls)));
    let shape: ArrayRef = Arc::new(rows.iter().map(|r| r.shape).collect::<StringArray>());
    RecordBatch::try_new(schema(), vec![name, tags, count, ratio, flag, day, at, point, shape])
        .expect("valid batch")
}

pub const SQUARE: &str =
    r#"{"type":"Polygon","coordinates":[[[2.0,48.0],[2.1,48.0],[2.1,48.1],[2.0,48.0]]]}"#;
pub const LINE: &str = r#"{"type": "LineString", "coordinates": [[2.35, 48.85], [2.36, 48.86]]}"#;

/// Five rows covering nulls, unicode, quotes, newlines, delimiters, NaN, fractional instants.
pub fn rows() -> Vec<Row> {
    vec![
        Row {
            name: Some("Saint-Leu"),
            tags: Some(vec![Some("a"), Some("b")]),
            count: Some(29_278),
            ratio: Some(0.5),
            flag: Some(true),
            day: Some(17_981),               // 2019-03-26
            at: Some(1_695_971_289_000_000), // 2023-09-29T07:08:09Z
            point: Some((4.50083, 46.7306)),
            shape: Some(SQUARE),
        },
        Row {
            name: Some("Il a dit \"bonjour\"\net s'en est allé; vite, très vite"),
            tags: Some(vec![]),
            count: Some(-1),
            ratio: Some(f64::NAN),
            flag: Some(false),
            day: Some(-1),                   // 1969-12-31
            at: Some(1_695_971_289_656_000), // .656 s
            point: Some((2.275725, 48.865983)),
            shape: Some(LINE),
        },
        Row {
            name: None,
            tags: None,
            count: None,
            ratio: None,
            flag: None,
            day: None,
            at: None,
            point: None,
            shape: None,
        },
        Row {
            name: Some("été ☀ 漢字 🎉"),
            tags: Some(vec![Some("x;y"), None, Some("z\"")]),
            count: Some(i64::MAX),
            ratio: Some(12.0),
            flag: Some(true),
            day: Some(0),
            at: Some(-1), // 1969-12-31T23:59:59.999999Z
            point: Some((-0.5, -33.25)),
            shape: Some(r#"{"type":"Point","coordinates":[1.0,2.0]}"#),
        },
        Row {
            name: Some("tab\there\r\ncrlf"),
            tags: Some(vec![Some("solo")]),
            count: Some(i64::MIN),
            ratio: Some(f64::INFINITY),
            flag: Some(false),
            day: Some(2_932_896), // 9999-12-31
            at: Some(0),
            point: Some((180.0, 90.0)),
            shape: None,
        },
    ]
}

/// The expected v2.1 JSON object of a row at offset +00:00.
pub fn expected_json(r: &Row) -> Value {
    let day = r.day.map(|d| {
        (chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid")
            + chrono::Duration::days(i64::from(d)))
        .format("%Y-%m-%d")
        .to_string()
    });
    let at = r.at.map(|us| {
        let dt = chrono::DateTime::from_timestamp_micros(us).expect("in range");
        if us.rem_euclid(1_000_000) == 0 {
            dt.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
        } else {
            dt.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
        }
    });
    json!({
        "name": r.name,
        "tags": r.tags,
        "count": r.count,
        "ratio": r.ratio.filter(|v| v.is_finite()),
        "flag": r.flag,
        "day": day,
        "at": at,
        "point": r.point.map(|(lon, lat)| json!({"lon": lon, "lat": lat})),
        "shape": r.shape.map(|s| json!({
            "type": "Feature",
            "geometry": serde_json::from_str::<Value>(s).expect("test geometry"),
            "properties": {},
        })),
    })
}

/// The batches of the multi-batch tests: rows split 2 / (empty) / 1 / 2.
pub fn batches() -> (Vec<RecordBatch>, Vec<Row>) {
    let rows = rows();
    let batches = vec![batch(&rows[..2]), batch(&[]), batch(&rows[2..3]), batch(&rows[3..])];
    (batches, rows)
}
