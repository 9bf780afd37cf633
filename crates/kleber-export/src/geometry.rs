//! Which output column is a record's geometry, and small helpers shared by the geographic
//! formats.

use geo_types::Geometry;

use crate::columns::{ColumnKind, OutputColumn};

/// The column holding the records' geometry: the first geo shape, else the first geo point
/// (Opendatasoft's rule for GeoJSON: `geo_shape` preferred, else `geo_point_2d`). `None` when
/// the output has no geographic column.
pub fn geometry_column(columns: &[OutputColumn]) -> Option<usize> {
    columns
        .iter()
        .position(|c| c.kind == ColumnKind::GeoShape)
        .or_else(|| columns.iter().position(|c| c.kind == ColumnKind::GeoPoint))
}

/// The OGC name of a geometry's type (`Point`, `MultiPolygon`, …), as GeoParquet lists them.
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

/// A running bounding box `[xmin, ymin, xmax, ymax]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bbox {
    pub(crate) min_x: f64,
    pub(crate) min_y: f64,
    pub(crate) max_x: f64,
    pub(crate) max_y: f64,
}

impl Default for Bbox {
    fn default() -> Self {
        Bbox {
            min_x: f64::INFINITY,
            min_y: f64::INFINITY,
            max_x: f64::NEG_INFINITY,
            max_y: f64::NEG_INFINITY,
        }
    }
}

impl Bbox {
    /// Grows the box to hold `geometry`.
    pub(crate) fn extend(&mut self, geometry: &Geometry<f64>) {
        use geo::BoundingRect;
        if let Some(rect) = geometry.bounding_rect() {
            self.min_x = self.min_x.min(rect.min().x);
            self.min_y = self.min_y.min(rect.min().y);
            self.max_x = self.max_x.max(rect.max().x);
            self.max_y = self.max_y.max(rect.max().y);
        }
    }

    /// The box as `[xmin, ymin, xmax, ymax]`, or `None` if nothing was added.
    pub(crate) fn as_array(&self) -> Option<[f64; 4]> {
        (self.min_x <= self.max_x && self.min_y <= self.max_y)
            .then_some([self.min_x, self.min_y, self.max_x, self.max_y])
    }
}

/// WGS 84 as the ESRI WKT of a shapefile's `.prj`.
pub(crate) const WGS84_ESRI_WKT: &str = "GEOGCS[\"GCS_WGS_1984\",DATUM[\"D_WGS_1984\",SPHEROID[\"WGS_1984\",6378137.0,298.257223563]],PRIMEM[\"Greenwich\",0.0],UNIT[\"Degree\",0.0174532925199433]]";

/// XML text escaping (`&`, `<`, `>`, `"`, `'`), appended to `out`. Characters XML 1.0 forbids
/// (most C0 controls) are dropped so that the document stays well-formed.
pub(crate) fn xml_text(out: &mut Vec<u8>, text: &str) {
    let clean: std::borrow::Cow<'_, str> = if text.chars().any(forbidden_in_xml) {
        text.chars().filter(|c| !forbidden_in_xml(*c)).collect::<String>().into()
    } else {
        text.into()
    };
    out.extend_from_slice(quick_xml::escape::escape(clean.as_ref()).as_bytes());
}

fn forbidden_in_xml(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// An XML element name made of a column key: characters other than ASCII letters, digits,
/// `_`, `-` and `.` become `_`, and a name not starting with a letter or `_` gets a `_` prefix.
pub(crate) fn xml_name(key: &str) -> String {
    let mut name: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        name.insert(0, '_');
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_names_and_text_are_safe() {
        assert_eq!(xml_name("count(*)"), "count___");
        assert_eq!(xml_name("1st"), "_1st");
        assert_eq!(xml_name("nom_parking"), "nom_parking");
        let mut out = Vec::new();
        xml_text(&mut out, "a<b & \"c\"\u{1}");
        assert_eq!(String::from_utf8(out).unwrap(), "a&lt;b &amp; &quot;c&quot;");
    }
}
