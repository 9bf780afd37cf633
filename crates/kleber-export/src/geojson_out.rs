//! `/exports/geojson`: an RFC 7946 `FeatureCollection`, streamed feature by feature.
//!
//! The geometry is the output's geometry column ([`crate::geometry_column`]): a stored shape is
//! embedded as stored, a point becomes `{"type":"Point","coordinates":[lon,lat]}`, a missing
//! value `null`. Every other column is a property, encoded as the JSON export encodes it.

use arrow::record_batch::RecordBatch;

use crate::columns::ColumnKind;
use crate::encode::RecordEncoder;
use crate::error::Result;
use crate::format;
use crate::geometry::geometry_column;
use crate::writers::{Progress, RecordWriter, State};

/// Writes a GeoJSON `FeatureCollection` across batches.
#[derive(Debug)]
pub struct GeoJsonWriter {
    encoder: RecordEncoder,
    geometry: Option<usize>,
    progress: Progress,
}

impl GeoJsonWriter {
    /// A writer of the records `encoder` describes.
    pub fn new(encoder: RecordEncoder) -> Self {
        let geometry = geometry_column(encoder.columns());
        GeoJsonWriter { encoder, geometry, progress: Progress::new() }
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
            for c in 0..kinds.len() {
                if Some(c) == self.geometry {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(prepared.json_key(c));
                prepared.json_value(c, row, out);
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
