//! Fields, their Opendatasoft types and how each type is stored in Arrow.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arrow_schema::{DataType, Field as ArrowField, Fields, TimeUnit};
use serde::{Deserialize, Serialize};

/// Name of the longitude child of a stored `geo_point_2d` struct.
pub const GEO_LON: &str = "lon";
/// Name of the latitude child of a stored `geo_point_2d` struct.
pub const GEO_LAT: &str = "lat";

/// The Opendatasoft field types Kleber infers and serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Text; multivalued text (annotation `multivalued`) is a list of strings.
    Text,
    /// 64-bit signed integer.
    Int,
    /// 64-bit float ("decimal" in Opendatasoft's back office).
    Double,
    /// `true` / `false`.
    Boolean,
    /// A calendar date without time.
    Date,
    /// An instant, stored in UTC and rendered with an offset.
    Datetime,
    /// A WGS84 point.
    #[serde(rename = "geo_point_2d")]
    GeoPoint2d,
    /// A WGS84 GeoJSON geometry (point, line, polygon, multi-*, collection).
    GeoShape,
}

impl FieldType {
    /// Every type, in documentation order.
    pub const ALL: &'static [FieldType] = &[
        FieldType::Text,
        FieldType::Int,
        FieldType::Double,
        FieldType::Boolean,
        FieldType::Date,
        FieldType::Datetime,
        FieldType::GeoPoint2d,
        FieldType::GeoShape,
    ];

    /// The wire name used in `fields[].type`.
    pub const fn name(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Int => "int",
            FieldType::Double => "double",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::GeoPoint2d => "geo_point_2d",
            FieldType::GeoShape => "geo_shape",
        }
    }

    /// How a column of this type is stored in Arrow and Parquet.
    ///
    /// | type | Arrow |
    /// |---|---|
    /// | text | `Utf8`, or `List<Utf8>` when multivalued |
    /// | int | `Int64` |
    /// | double | `Float64` |
    /// | boolean | `Boolean` |
    /// | date | `Date32` |
    /// | datetime | `Timestamp(Microsecond, "UTC")` |
    /// | geo_point_2d | `Struct{lon: Float64, lat: Float64}` |
    /// | geo_shape | `Utf8` holding a GeoJSON geometry object |
    pub fn storage_type(self, multivalued: bool) -> DataType {
        match self {
            FieldType::Text if multivalued => {
                DataType::List(Arc::new(ArrowField::new("item", DataType::Utf8, true)))
            }
            FieldType::Text | FieldType::GeoShape => DataType::Utf8,
            FieldType::Int => DataType::Int64,
            FieldType::Double => DataType::Float64,
            FieldType::Boolean => DataType::Boolean,
            FieldType::Date => DataType::Date32,
            FieldType::Datetime => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            FieldType::GeoPoint2d => DataType::Struct(geo_point_fields()),
        }
    }
}

/// The children of a stored `geo_point_2d` struct.
pub fn geo_point_fields() -> Fields {
    Fields::from(vec![
        ArrowField::new(GEO_LON, DataType::Float64, false),
        ArrowField::new(GEO_LAT, DataType::Float64, false),
    ])
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FieldType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        FieldType::ALL.iter().copied().find(|t| t.name() == wanted).ok_or_else(|| {
            let names: Vec<_> = FieldType::ALL.iter().map(|t| t.name()).collect();
            format!("unknown field type `{s}`; expected one of {}", names.join(", "))
        })
    }
}

/// How the values of an output column are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ColumnKind {
    /// Encoded from the column's Arrow type (text, numbers, booleans, dates, instants, lists…).
    #[default]
    Plain,
    /// An Opendatasoft `geo_point_2d`: Arrow `Struct{lon, lat}` of numbers.
    GeoPoint,
    /// An Opendatasoft `geo_shape`: a string column holding a GeoJSON geometry object.
    GeoShape,
    /// A string column holding JSON text (`json_format()`), embedded as JSON; text that is
    /// not valid JSON is written as a string.
    Json,
}

impl ColumnKind {
    /// The kind of a stored column of the given Opendatasoft type.
    pub const fn for_field_type(field_type: FieldType) -> Self {
        match field_type {
            FieldType::GeoPoint2d => ColumnKind::GeoPoint,
            FieldType::GeoShape => ColumnKind::GeoShape,
            FieldType::Text
            | FieldType::Int
            | FieldType::Double
            | FieldType::Boolean
            | FieldType::Date
            | FieldType::Datetime => ColumnKind::Plain,
        }
    }
}

/// Field annotations, Opendatasoft style: each key is an annotation name and its value the
/// list of its arguments (`{"multivalued": [","], "facet": []}`).
pub type Annotations = BTreeMap<String, Vec<String>>;

/// One field of a dataset's schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Technical name: lowercase ASCII, digits and underscores; the column name in Parquet.
    pub name: String,
    /// Human label, the original header.
    pub label: String,
    /// Opendatasoft type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Free description, or `None`.
    pub description: Option<String>,
    /// Annotations such as `multivalued`, `facet`, `timeserie_precision`.
    #[serde(default)]
    pub annotations: Annotations,
}

impl Field {
    /// A field with no description and no annotations.
    pub fn new(name: impl Into<String>, label: impl Into<String>, field_type: FieldType) -> Self {
        Field {
            name: name.into(),
            label: label.into(),
            field_type,
            description: None,
            annotations: Annotations::new(),
        }
    }

    /// The separator of a multivalued text field, if it is one.
    pub fn multivalued_separator(&self) -> Option<&str> {
        self.annotations.get("multivalued").map(|args| args.first().map_or(",", String::as_str))
    }

    /// The Arrow type of this field's stored column.
    pub fn storage_type(&self) -> DataType {
        self.field_type.storage_type(self.multivalued_separator().is_some())
    }

    /// The Arrow field of this field's stored column (always nullable).
    pub fn arrow_field(&self) -> ArrowField {
        ArrowField::new(&self.name, self.storage_type(), true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_type_names_round_trip() {
        for t in FieldType::ALL {
            assert_eq!(t.name().parse::<FieldType>(), Ok(*t));
            let json = serde_json::to_string(t).expect("serialisable");
            assert_eq!(json, format!("\"{}\"", t.name()));
        }
        assert!("decimal".parse::<FieldType>().unwrap_err().contains("geo_shape"));
    }
}
