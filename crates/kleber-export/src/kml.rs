//! `/exports/kml`: a KML 2.2 document, streamed placemark by placemark.
//!
//! Each record is a `Placemark`: its geometry (`Point`, `LineString`, `Polygon`, multi-part
//! geometries as `MultiGeometry`; none when the record has no geometry) and every other column
//! as `ExtendedData/Data` (name = column key, value = the CSV text of the value; null values
//! are left out).

use arrow::record_batch::RecordBatch;
use geo_types::{Coord, Geometry, LineString, Polygon};

use crate::encode::RecordEncoder;
use crate::error::Result;
use crate::format;
use crate::geometry::{geometry_column, xml_text};
use crate::writers::{Progress, RecordWriter, State};

/// Writes a KML document across batches.
#[derive(Debug)]
pub struct KmlWriter {
    encoder: RecordEncoder,
    name: String,
    geometry: Option<usize>,
    progress: Progress,
    scratch: Vec<u8>,
}

impl KmlWriter {
    /// A writer of the records `encoder` describes; `name` names the document (the dataset).
    pub fn new(encoder: RecordEncoder, name: &str) -> Self {
        let geometry = geometry_column(encoder.columns());
        KmlWriter {
            encoder,
            name: name.to_owned(),
            geometry,
            progress: Progress::new(),
            scratch: Vec::new(),
        }
    }

    fn prologue(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\"><Document><name>",
        );
        xml_text(out, &self.name);
        out.extend_from_slice(b"</name>\n");
    }
}

impl RecordWriter for KmlWriter {
    fn begin(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.progress.needs_begin()? {
            self.prologue(out);
        }
        Ok(())
    }

    fn write_batch(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<()> {
        let prepared = self.encoder.prepare(batch)?;
        if self.progress.needs_begin()? {
            self.prologue(out);
        }
        let columns = self.encoder.columns();
        for row in 0..prepared.rows {
            out.extend_from_slice(b"<Placemark><ExtendedData>");
            for (c, column) in columns.iter().enumerate() {
                if Some(c) == self.geometry {
                    continue;
                }
                self.scratch.clear();
                if !prepared.text(c, row, &mut self.scratch) {
                    continue;
                }
                out.extend_from_slice(b"<Data name=\"");
                xml_text(out, &column.key);
                out.extend_from_slice(b"\"><value>");
                xml_text(out, &String::from_utf8_lossy(&self.scratch));
                out.extend_from_slice(b"</value></Data>");
            }
            out.extend_from_slice(b"</ExtendedData>");
            if let Some(geometry) = self.geometry.and_then(|g| prepared.geometry(g, row)) {
                kml_geometry(out, &geometry);
            }
            out.extend_from_slice(b"</Placemark>\n");
            self.progress.rows += 1;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.progress.state == State::Finished {
            return Ok(());
        }
        self.begin(out)?;
        out.extend_from_slice(b"</Document></kml>\n");
        self.progress.state = State::Finished;
        Ok(())
    }

    fn rows_written(&self) -> u64 {
        self.progress.rows
    }
}

fn coords(out: &mut Vec<u8>, coords: impl Iterator<Item = Coord<f64>>) {
    out.extend_from_slice(b"<coordinates>");
    for (i, c) in coords.enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        format::f64_num(out, c.x);
        out.push(b',');
        format::f64_num(out, c.y);
    }
    out.extend_from_slice(b"</coordinates>");
}

fn line(out: &mut Vec<u8>, l: &LineString<f64>) {
    out.extend_from_slice(b"<LineString>");
    coords(out, l.coords().copied());
    out.extend_from_slice(b"</LineString>");
}

fn ring(out: &mut Vec<u8>, l: &LineString<f64>) {
    out.extend_from_slice(b"<LinearRing>");
    coords(out, l.coords().copied());
    out.extend_from_slice(b"</LinearRing>");
}

fn polygon(out: &mut Vec<u8>, p: &Polygon<f64>) {
    out.extend_from_slice(b"<Polygon><outerBoundaryIs>");
    ring(out, p.exterior());
    out.extend_from_slice(b"</outerBoundaryIs>");
    for interior in p.interiors() {
        out.extend_from_slice(b"<innerBoundaryIs>");
        ring(out, interior);
        out.extend_from_slice(b"</innerBoundaryIs>");
    }
    out.extend_from_slice(b"</Polygon>");
}

/// Appends the KML of a geometry.
fn kml_geometry(out: &mut Vec<u8>, geometry: &Geometry<f64>) {
    match geometry {
        Geometry::Point(p) => {
            out.extend_from_slice(b"<Point>");
            coords(out, std::iter::once(p.0));
            out.extend_from_slice(b"</Point>");
        }
        Geometry::Line(l) => line(out, &LineString::from(vec![l.start, l.end])),
        Geometry::LineString(l) => line(out, l),
        Geometry::Polygon(p) => polygon(out, p),
        Geometry::Rect(r) => polygon(out, &r.to_polygon()),
        Geometry::Triangle(t) => polygon(out, &t.to_polygon()),
        Geometry::MultiPoint(points) => {
            out.extend_from_slice(b"<MultiGeometry>");
            for p in points {
                kml_geometry(out, &Geometry::Point(*p));
            }
            out.extend_from_slice(b"</MultiGeometry>");
        }
        Geometry::MultiLineString(lines) => {
            out.extend_from_slice(b"<MultiGeometry>");
            for l in lines {
                line(out, l);
            }
            out.extend_from_slice(b"</MultiGeometry>");
        }
        Geometry::MultiPolygon(polygons) => {
            out.extend_from_slice(b"<MultiGeometry>");
            for p in polygons {
                polygon(out, p);
            }
            out.extend_from_slice(b"</MultiGeometry>");
        }
        Geometry::GeometryCollection(collection) => {
            out.extend_from_slice(b"<MultiGeometry>");
            for g in collection {
                kml_geometry(out, g);
            }
            out.extend_from_slice(b"</MultiGeometry>");
        }
    }
}
