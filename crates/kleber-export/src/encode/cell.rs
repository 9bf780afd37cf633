//! Typed access to one value of a prepared batch, for the formats that are not text records:
//! spreadsheets and attribute tables want numbers as numbers and dates as dates
//! ([`Cell`]), and the geographic formats want the geometry of a geo column.

use std::borrow::Cow;

use geo_types::{Geometry, Point};
use geozero::ToGeo;
use geozero::geojson::GeoJson;

use super::{Col, CsvStyle, Enc, Prepared, geometry};
use crate::columns::EncodeOptions;
use crate::format;

/// One value, typed for formats with their own cell types (XLSX, DBF, FlatGeobuf).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell<'a> {
    /// No value.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A finite floating-point number.
    Float(f64),
    /// A calendar date, as days since 1970-01-01.
    Date(i64),
    /// An instant: seconds since the epoch (UTC), nanoseconds, and the offset from UTC at
    /// which the request renders it.
    Instant {
        /// Whole seconds since the epoch.
        secs: i64,
        /// Sub-second part.
        nanos: u32,
        /// Offset from UTC, in seconds, in force at that instant for the request's zone.
        offset: i32,
    },
    /// Anything else, as the text CSV writes for it (lists joined with `,`, geo points as
    /// `lat, lon`, shapes as GeoJSON).
    Text(Cow<'a, str>),
}

/// The separator joining list elements in [`Cell::Text`].
const LIST_SEPARATOR: &[u8] = b",";

impl<'a> Prepared<'a> {
    /// The typed value of column `c` at `row` (both in range).
    pub(crate) fn cell(&self, c: usize, row: usize) -> Cell<'a> {
        match self.cols.get(c) {
            Some(col) => col_cell(col, row, &self.encoder.options),
            None => Cell::Null,
        }
    }

    /// Appends the text of column `c` at `row` as CSV writes it (unquoted, lists joined with
    /// `,`); `false` (and nothing appended) for null.
    pub(crate) fn text(&self, c: usize, row: usize, out: &mut Vec<u8>) -> bool {
        let Some(col) = self.cols.get(c) else { return false };
        let style = text_style();
        col.csv_text(row, out, &style, &self.encoder.options).is_some()
    }

    /// Whether column `c` is null at `row` (a column out of range is).
    pub(crate) fn is_null(&self, c: usize, row: usize) -> bool {
        self.cols.get(c).is_none_or(|col| col.is_null(row))
    }

    /// Appends the JSON value of column `c` at `row`, as the JSON export writes it.
    pub(crate) fn json_value(&self, c: usize, row: usize, out: &mut Vec<u8>) {
        match self.cols.get(c) {
            Some(col) => col.json(row, out, &self.encoder.options),
            None => out.extend_from_slice(b"null"),
        }
    }

    /// The escaped `"key":` of column `c`, as the JSON writers emit it.
    pub(crate) fn json_key(&self, c: usize) -> &[u8] {
        self.encoder.json_keys.get(c).map_or(&[], Vec::as_slice)
    }

    /// The geometry of geo column `c` at `row`: a point for a geo point, the parsed GeoJSON
    /// geometry for a shape; `None` for null, non-finite or unreadable values, and for columns
    /// that are not geographic.
    pub(crate) fn geometry(&self, c: usize, row: usize) -> Option<Geometry<f64>> {
        let col = self.cols.get(c)?;
        if col.is_null(row) {
            return None;
        }
        match &col.enc {
            Enc::GeoPoint { lon, lat } => {
                Some(Geometry::Point(Point::new(lon.f64_at(row)?, lat.f64_at(row)?)))
            }
            Enc::GeoShape(s) => {
                let text = geometry(s.value(row))?;
                let geometry = GeoJson(text).to_geo().ok()?;
                finite(&geometry).then_some(geometry)
            }
            _ => None,
        }
    }

    /// The stored GeoJSON text of shape column `c` at `row` (trimmed, checked to be a JSON
    /// object), or `None`.
    pub(crate) fn shape_json(&self, c: usize, row: usize) -> Option<&'a str> {
        let col = self.cols.get(c)?;
        if col.is_null(row) {
            return None;
        }
        match &col.enc {
            Enc::GeoShape(s) => geometry(s.value(row)),
            _ => None,
        }
    }
}

/// Whether every coordinate of `geometry` is finite.
fn finite(geometry: &Geometry<f64>) -> bool {
    use geo::CoordsIter;
    geometry.coords_iter().all(|c| c.x.is_finite() && c.y.is_finite())
}

fn text_style() -> CsvStyle<'static> {
    CsvStyle { delimiter: b',', list_separator: LIST_SEPARATOR, quote_all: false, line_end: b"\n" }
}

/// The typed value of `col` at `row`.
fn col_cell<'a>(col: &Col<'a>, row: usize, options: &EncodeOptions) -> Cell<'a> {
    if col.is_null(row) {
        return Cell::Null;
    }
    match &col.enc {
        Enc::Null => Cell::Null,
        Enc::Bool(a) => Cell::Bool(a.value(row)),
        Enc::I8(v) => Cell::Int(i64::from(v[row])),
        Enc::I16(v) => Cell::Int(i64::from(v[row])),
        Enc::I32(v) => Cell::Int(i64::from(v[row])),
        Enc::I64(v) => Cell::Int(v[row]),
        Enc::U8(v) => Cell::Int(i64::from(v[row])),
        Enc::U16(v) => Cell::Int(i64::from(v[row])),
        Enc::U32(v) => Cell::Int(i64::from(v[row])),
        Enc::U64(v) => i64::try_from(v[row]).map_or(Cell::Float(v[row] as f64), Cell::Int),
        Enc::F16(_) | Enc::F32(_) | Enc::F64(_) => col.f64_at(row).map_or(Cell::Null, Cell::Float),
        Enc::Str(s) => Cell::Text(Cow::Borrowed(s.value(row))),
        Enc::Date32(v) => Cell::Date(i64::from(v[row])),
        Enc::Date64(v) => Cell::Date(v[row].div_euclid(86_400_000)),
        Enc::Timestamp { values, per_second } => {
            let (secs, nanos) = format::split_timestamp(values[row], *per_second);
            Cell::Instant { secs, nanos, offset: options.offset_at(secs) }
        }
        Enc::Dict { keys, values } => match keys.get(row) {
            Some(&k) => col_cell(values, k, options),
            None => Cell::Null,
        },
        _ => {
            let mut out = Vec::new();
            match col.csv_text(row, &mut out, &text_style(), options) {
                Some(_) => Cell::Text(Cow::Owned(String::from_utf8_lossy(&out).into_owned())),
                None => Cell::Null,
            }
        }
    }
}
