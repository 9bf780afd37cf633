//! `/exports/geojson`: an RFC 7946 `FeatureCollection`, streamed feature by feature.
//!
//! The geometry is the output's geometry column ([`crate::geometry_column`]): a stored shape is
//! embedded as stored, a point becomes `{"type":"Point","coordinates":[lon,lat]}`, a missing
//! value `null`. Every other column is a property, encoded as the JSON export encodes it.
//!
//! [`GeoJsonStyle::V1`] is the GeoJSON of Opendatasoft's legacy downloads (API v1 and
//! `/explore/dataset/{id}/download/`), as their real exports show: geo points in properties
//! as `[lat, lon]`, null properties left out, and a geo point used as the geometry kept in
//! the properties too.

use arrow::record_batch::RecordBatch;

use crate::columns::ColumnKind;
use crate::encode::RecordEncoder;
use crate::error::Result;
use crate::format;
use crate::geometry::geometry_column;
use crate::writers::{Progress, RecordWriter, State};

/// Which API's GeoJSON to write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GeoJsonStyle {
    /// The Explore API v2.1 (and v2.0) export: properties encoded as v2.1 records.
    #[default]
    V21,
    /// The legacy download (API v1, `/explore/dataset/{id}/download/`): geo points as
    /// `[lat, lon]`, no null properties, a point geometry kept in the properties.
    V1,
}

/// Writes a GeoJSON `FeatureCollection` across batches.
#[derive(Debug)]
pub struct GeoJsonWriter {
    encoder: RecordEncoder,
    geometry: Option<usize>,
    style: GeoJsonStyle,
    progress: Progress,
}

impl GeoJsonWriter {
    /// A writer of the records `encoder` describes, in the v2.1 style.
    pub fn new(encoder: RecordEncoder) -> Self {
        GeoJsonWriter::with_style(encoder, GeoJsonStyle::V21)
    }

    /// A writer of the records `encoder` describes, in `style`.
    pub fn with_style(encoder: RecordEncoder, style: GeoJsonStyle) -> Self {
        let geometry = geometry_column(encoder.columns());
        GeoJsonWriter { encoder, geometry, style, progress: Progress::new() }
    }
}

const PROLOGUE: &[u8] = b"{\"type\":\"FeatureCollection\",\"features\":[";

impl RecordWriter for GeoJsonWriter {
    fn begin(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.progress.needs_begin()? {
            out.extend_from_slice(PROLOGUE);
        }
        Ok(())
    }

    fn write_batch(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<()> {
        let prepared = self.encoder.prepare(batch)?;
        if self.progress.needs_begin()? {
            out.extend_from_slice(PROLOGUE);
        }
        let kinds: Vec<ColumnKind> = self.encoder.columns().iter().map(|c| c.kind).collect();
        for row in 0..prepared.rows {
            if self.progress.rows > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"type\":\"Feature\",\"geometry\":");
            match self.geometry {
                Some(g) if kinds[g] == ColumnKind::GeoShape => match prepared.shape_json(g, row) {
                    Some(json) => super::encode::raw_json_one_line(out, json),
                    None => out.extend_from_slice(b"null"),
                },
                Some(g) => match prepared.geometry(g, row) {
                    Some(geo_types::Geometry::Point(p)) => {
                        out.extend_from_slice(b"{\"type\":\"Point\",\"coordinates\":[");
                        format::f64_num(out, p.x());
                        out.push(b',');
                        format::f64_num(out, p.y());
                        out.extend_from_slice(b"]}");
                    }
                    _ => out.extend_from_slice(b"null"),
                },
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"properties\":{");
            let mut first = true;
            let v1 = self.style == GeoJsonStyle::V1;
            for (c, kind) in kinds.iter().enumerate() {
                let is_geometry = Some(c) == self.geometry;
                if is_geometry && !(v1 && *kind == ColumnKind::GeoPoint) {
                    continue;
                }
                if v1 && prepared.is_null(c, row) {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(prepared.json_key(c));
                match (v1, kind, prepared.geometry(c, row)) {
                    (true, ColumnKind::GeoPoint, Some(geo_types::Geometry::Point(p))) => {
                        out.push(b'[');
                        format::f64_num(out, p.y());
                        out.push(b',');
                        format::f64_num(out, p.x());
                        out.push(b']');
                    }
                    _ => prepared.json_value(c, row, out),
                }
            }
            out.extend_from_slice(b"}}");
            self.progress.rows += 1;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.progress.state == State::Finished {
            return Ok(());
        }
        self.begin(out)?;
        out.extend_from_slice(b"]}");
        self.progress.state = State::Finished;
        Ok(())
    }

    fn rows_written(&self) -> u64 {
        self.progress.rows
    }
}
