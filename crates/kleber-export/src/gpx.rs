//! `/exports/gpx`: GPX 1.1 waypoints and tracks.
//!
//! Each record with a geometry gives one element: a point is a waypoint (`wpt`); a line
//! (`LineString`) is a track (`trk`) of one segment and a `MultiLineString` a track of one
//! segment per line; any other shape (polygons, multi-points, collections) is a waypoint at its
//! centroid, since GPX has no areas. Records without geometry are left out.
//!
//! GPX requires every waypoint before every track, so tracks are spooled to a second temporary
//! file and appended at the end ([`SpoolWriter`]).
//!
//! Opendatasoft's parameters: `name_field` names the column whose value is the element's
//! `name`; `description_field_list` the columns written in `desc` (`key: value` lines);
//! `use_extension` (default true) writes every other column in `extensions` as
//! `<kleber:KEY>value</kleber:KEY>`; with `use_extension=false` they go to `desc` instead.

use std::fs::File;
use std::io::{BufWriter, Write};

use arrow::record_batch::RecordBatch;
use geo::Centroid;
use geo_types::{Geometry, LineString, Point};

use crate::encode::{Prepared, RecordEncoder};
use crate::error::{Error, Result};
use crate::format;
use crate::geometry::{geometry_column, xml_name, xml_text};
use crate::spool::{SpoolDir, SpoolWriter, rewound};

/// The GPX parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpxOptions {
    /// Column whose value names each element.
    pub name_field: Option<String>,
    /// Columns written in `desc`; empty for none (or every column without extensions).
    pub description_fields: Vec<String>,
    /// Attributes in `extensions` (true, the v2.1 default) rather than in `desc`.
    pub use_extension: bool,
}

impl Default for GpxOptions {
    fn default() -> Self {
        GpxOptions { name_field: None, description_fields: Vec::new(), use_extension: true }
    }
}

/// The namespace of the attribute elements in `extensions`.
pub const GPX_EXTENSION_NAMESPACE: &str = "https://kleber.invalid/ns/gpx-attributes/1";

/// Spools a GPX document.
pub struct GpxWriter {
    encoder: RecordEncoder,
    geometry: Option<usize>,
    name: Option<usize>,
    description: Vec<usize>,
    attributes: Vec<(usize, String)>,
    use_extension: bool,
    main: BufWriter<File>,
    tracks: BufWriter<File>,
    rows: u64,
    buffer: Vec<u8>,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for GpxWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpxWriter").field("rows", &self.rows).finish_non_exhaustive()
    }
}

impl GpxWriter {
    /// A writer of the records `encoder` describes. Fails when `name_field` or a description
    /// field is not an output column ([`Error::UnknownColumn`]).
    pub fn new(encoder: RecordEncoder, options: &GpxOptions, spool: &SpoolDir) -> Result<Self> {
        let columns = encoder.columns();
        let find = |key: &str| {
            columns
                .iter()
                .position(|c| c.key == key)
                .ok_or_else(|| Error::UnknownColumn { key: key.to_owned() })
        };
        let name = options.name_field.as_deref().map(find).transpose()?;
        let description =
            options.description_fields.iter().map(|k| find(k)).collect::<Result<Vec<_>>>()?;
        let geometry = geometry_column(columns);
        let attributes = columns
            .iter()
            .enumerate()
            .filter(|(c, _)| Some(*c) != geometry)
            .map(|(c, column)| (c, xml_name(&column.key)))
            .collect();
        let mut main = BufWriter::new(spool.file()?);
        write!(
            main,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gpx version=\"1.1\" creator=\"Kleber\" xmlns=\"http://www.topografix.com/GPX/1/1\" xmlns:kleber=\"{GPX_EXTENSION_NAMESPACE}\">\n"
        )?;
        Ok(GpxWriter {
            encoder,
            geometry,
            name,
            description,
            attributes,
            use_extension: options.use_extension,
            main,
            tracks: BufWriter::new(spool.file()?),
            rows: 0,
            buffer: Vec::new(),
            scratch: Vec::new(),
        })
    }

    /// Appends `name`, `desc` and `extensions` of a record to `self.buffer`.
    fn metadata(&mut self, prepared: &Prepared<'_>, row: usize) {
        let columns = self.encoder.columns();
        if let Some(c) = self.name {
            self.scratch.clear();
            if prepared.text(c, row, &mut self.scratch) {
                self.buffer.extend_from_slice(b"<name>");
                xml_text(&mut self.buffer, &String::from_utf8_lossy(&self.scratch));
                self.buffer.extend_from_slice(b"</name>");
            }
        }
        let in_desc: Vec<usize> = if !self.description.is_empty() {
            self.description.clone()
        } else if self.use_extension {
            Vec::new()
        } else {
            self.attributes.iter().map(|(c, _)| *c).collect()
        };
        let mut desc = String::new();
        for c in in_desc {
            self.scratch.clear();
            if prepared.text(c, row, &mut self.scratch) {
                if !desc.is_empty() {
                    desc.push('\n');
                }
                desc.push_str(&columns[c].key);
                desc.push_str(": ");
                desc.push_str(&String::from_utf8_lossy(&self.scratch));
            }
        }
        if !desc.is_empty() {
            self.buffer.extend_from_slice(b"<desc>");
            xml_text(&mut self.buffer, &desc);
            self.buffer.extend_from_slice(b"</desc>");
        }
        if self.use_extension && !self.attributes.is_empty() {
            self.buffer.extend_from_slice(b"<extensions>");
            for (c, element) in &self.attributes {
                self.scratch.clear();
                if prepared.text(*c, row, &mut self.scratch) {
                    self.buffer.extend_from_slice(b"<kleber:");
                    self.buffer.extend_from_slice(element.as_bytes());
                    self.buffer.push(b'>');
                    xml_text(&mut self.buffer, &String::from_utf8_lossy(&self.scratch));
                    self.buffer.extend_from_slice(b"</kleber:");
                    self.buffer.extend_from_slice(element.as_bytes());
                    self.buffer.push(b'>');
                }
            }
            self.buffer.extend_from_slice(b"</extensions>");
        }
    }
}

fn lat_lon(out: &mut Vec<u8>, p: Point<f64>) {
    out.extend_from_slice(b" lat=\"");
    format::f64_num(out, p.y());
    out.extend_from_slice(b"\" lon=\"");
    format::f64_num(out, p.x());
    out.push(b'"');
}

fn segment(out: &mut Vec<u8>, line: &LineString<f64>) {
    out.extend_from_slice(b"<trkseg>");
    for p in line.points() {
        out.extend_from_slice(b"<trkpt");
        lat_lon(out, p);
        out.extend_from_slice(b"/>");
    }
    out.extend_from_slice(b"</trkseg>");
}

impl SpoolWriter for GpxWriter {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        // A clone (per batch) so that `prepared` does not borrow `self`.
        let encoder = self.encoder.clone();
        let prepared = encoder.prepare(batch)?;
        let Some(g) = self.geometry else {
            self.rows += prepared.rows as u64;
            return Ok(());
        };
        for row in 0..prepared.rows {
            self.rows += 1;
            let Some(geometry) = prepared.geometry(g, row) else { continue };
            self.buffer.clear();
            let lines: Option<Vec<LineString<f64>>> = match &geometry {
                Geometry::LineString(l) => Some(vec![l.clone()]),
                Geometry::Line(l) => Some(vec![LineString::from(vec![l.start, l.end])]),
                Geometry::MultiLineString(m) => Some(m.0.clone()),
                _ => None,
            };
            match lines {
                Some(lines) => {
                    self.buffer.extend_from_slice(b"<trk>");
                    self.metadata(&prepared, row);
                    for line in &lines {
                        segment(&mut self.buffer, line);
                    }
                    self.buffer.extend_from_slice(b"</trk>\n");
                    self.tracks.write_all(&self.buffer)?;
                }
                None => {
                    let point = match &geometry {
                        Geometry::Point(p) => Some(*p),
                        other => other.centroid(),
                    };
                    let Some(point) = point else { continue };
                    self.buffer.extend_from_slice(b"<wpt");
                    lat_lon(&mut self.buffer, point);
                    self.buffer.push(b'>');
                    self.metadata(&prepared, row);
                    self.buffer.extend_from_slice(b"</wpt>\n");
                    self.main.write_all(&self.buffer)?;
                }
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<File> {
        let GpxWriter { mut main, tracks, .. } = *self;
        let mut tracks = rewound(tracks.into_inner().map_err(|e| Error::Io(e.into_error()))?)?;
        std::io::copy(&mut tracks, &mut main)?;
        main.write_all(b"</gpx>\n")?;
        let file = main.into_inner().map_err(|e| Error::Io(e.into_error()))?;
        rewound(file)
    }

    fn rows_written(&self) -> u64 {
        self.rows
    }
}
