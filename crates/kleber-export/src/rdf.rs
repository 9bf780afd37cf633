//! `/exports/{jsonld,turtle,rdfxml,n3}`: records as RDF, serialised by `oxrdfio` and streamed
//! batch by batch.
//!
//! Each record is one resource: `<{dataset}/records/{record id}>` when the export carries the
//! record id column ([`RDF_RECORD_ID`]), a blank node otherwise (grouped exports). It is typed
//! `<{dataset}#Record>` and has one property per output column, `<{dataset}#{key}>`, whose
//! object is a typed literal:
//!
//! | value | literal |
//! |---|---|
//! | text (a multivalued text's elements joined with `,`, as in CSV) | `xsd:string` |
//! | int | `xsd:integer` |
//! | double | `xsd:double` (NaN and infinities left out, as null) |
//! | boolean | `xsd:boolean` |
//! | date | `xsd:date` (`YYYY-MM-DD`) |
//! | datetime | `xsd:dateTime` with the request's offset (as in CSV) |
//! | geo_point_2d, geo_shape | `geo:wktLiteral` (GeoSPARQL, WGS 84 longitude first) |
//!
//! Null values have no triple. `{dataset}` is the dataset's API URL
//! ([`RdfOptions::dataset_iri`]).

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use arrow::record_batch::RecordBatch;
use oxrdf::vocab::{rdf, xsd};
use oxrdf::{BlankNode, Literal, NamedNode, NamedOrBlankNode, Triple};
use oxrdfio::{RdfFormat, RdfSerializer, WriterQuadSerializer};
use wkt::ToWkt;

use crate::columns::ColumnKind;
use crate::encode::{Cell, Prepared, RecordEncoder};
use crate::error::{Error, Result};
use crate::writers::{Progress, RecordWriter, State};

/// The key of the output column holding each record's id, which names the record's IRI and
/// is not written as a property. An export in an RDF format asks for it under this name.
pub const RDF_RECORD_ID: &str = "__kleber_rdf_record_id";

/// The GeoSPARQL WKT literal datatype.
const WKT_LITERAL: &str = "http://www.opengis.net/ont/geosparql#wktLiteral";

/// Which RDF syntax to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RdfSyntax {
    /// JSON-LD 1.1 (streaming profile).
    JsonLd,
    /// Turtle.
    Turtle,
    /// RDF/XML.
    RdfXml,
    /// Notation3 (written as Turtle, which N3 contains).
    N3,
    /// N-Triples, one triple a line (unit tests read it line by line).
    #[cfg(test)]
    NTriplesForTests,
}

/// Where the records' IRIs live.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RdfOptions {
    /// The dataset's IRI (its API URL, without a trailing slash): records are
    /// `{dataset_iri}/records/{id}`, properties `{dataset_iri}#{key}`.
    pub dataset_iri: String,
}

/// A `Write` into a buffer the writer drains after each batch (the serializer owns its sink).
#[derive(Debug, Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    fn drain_into(&self, out: &mut Vec<u8>) {
        let mut buffer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        out.append(&mut buffer);
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes records as RDF across batches; memory holds one batch's triples at most.
pub struct RdfWriter {
    encoder: RecordEncoder,
    serializer: Option<WriterQuadSerializer<Shared>>,
    sink: Shared,
    dataset_iri: String,
    record_type: NamedNode,
    /// The property of each column; `None` for the record id column.
    properties: Vec<Option<NamedNode>>,
    id_column: Option<usize>,
    progress: Progress,
    scratch: Vec<u8>,
    blank: u64,
}

impl std::fmt::Debug for RdfWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RdfWriter").field("dataset_iri", &self.dataset_iri).finish()
    }
}

/// Percent-encodes what may not stand in an IRI's fragment or path segment.
fn iri_part(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn rdf_error(e: impl std::fmt::Display) -> Error {
    Error::format("RDF", e)
}

fn named(iri: String) -> Result<NamedNode> {
    NamedNode::new(iri).map_err(rdf_error)
}

impl RdfWriter {
    /// A writer of the records `encoder` describes, in `syntax`, under `options`' IRIs.
    pub fn new(encoder: RecordEncoder, syntax: RdfSyntax, options: &RdfOptions) -> Result<Self> {
        let dataset_iri = options.dataset_iri.trim_end_matches('/').to_owned();
        let vocabulary = format!("{dataset_iri}#");
        let record_type = named(format!("{vocabulary}Record"))?;
        let mut properties = Vec::with_capacity(encoder.columns().len());
        let mut id_column = None;
        for (c, column) in encoder.columns().iter().enumerate() {
            if column.key == RDF_RECORD_ID {
                id_column = Some(c);
                properties.push(None);
            } else {
                properties.push(Some(named(format!("{vocabulary}{}", iri_part(&column.key)))?));
            }
        }
        let format = match syntax {
            RdfSyntax::JsonLd => RdfFormat::JsonLd { profile: Default::default() },
            RdfSyntax::Turtle => RdfFormat::Turtle,
            RdfSyntax::RdfXml => RdfFormat::RdfXml,
            RdfSyntax::N3 => RdfFormat::N3,
            #[cfg(test)]
            RdfSyntax::NTriplesForTests => RdfFormat::NTriples,
        };
        let mut serializer = RdfSerializer::from_format(format);
        if matches!(syntax, RdfSyntax::Turtle | RdfSyntax::RdfXml | RdfSyntax::N3) {
            for (name, iri) in [
                ("field", vocabulary.as_str()),
                ("xsd", "http://www.w3.org/2001/XMLSchema#"),
                ("geo", "http://www.opengis.net/ont/geosparql#"),
            ] {
                serializer = serializer.with_prefix(name, iri).map_err(rdf_error)?;
            }
        }
        let sink = Shared::default();
        Ok(RdfWriter {
            serializer: Some(serializer.for_writer(sink.clone())),
            sink,
            encoder,
            dataset_iri,
            record_type,
            properties,
            id_column,
            progress: Progress::new(),
            scratch: Vec::new(),
            blank: 0,
        })
    }

    fn blank_node(&mut self) -> NamedOrBlankNode {
        self.blank += 1;
        BlankNode::new_unchecked(format!("r{}", self.blank)).into()
    }
}

/// The literal of column `c` at `row`, or `None` for null.
fn literal(
    prepared: &Prepared<'_>,
    kind: ColumnKind,
    c: usize,
    row: usize,
    scratch: &mut Vec<u8>,
) -> Option<Literal> {
    if matches!(kind, ColumnKind::GeoPoint | ColumnKind::GeoShape) {
        let geometry = prepared.geometry(c, row)?;
        return Some(Literal::new_typed_literal(
            geometry.wkt_string(),
            NamedNode::new_unchecked(WKT_LITERAL),
        ));
    }
    let datatype = match prepared.cell(c, row) {
        Cell::Null => return None,
        Cell::Bool(b) => return Some(Literal::new_typed_literal(b.to_string(), xsd::BOOLEAN)),
        Cell::Int(i) => return Some(Literal::new_typed_literal(i.to_string(), xsd::INTEGER)),
        Cell::Float(f) if !f.is_finite() => return None,
        Cell::Float(_) => xsd::DOUBLE,
        Cell::Date(_) => xsd::DATE,
        Cell::Instant { .. } => xsd::DATE_TIME,
        Cell::Text(text) => return Some(Literal::new_simple_literal(text.into_owned())),
    };
    // Numbers, dates and instants in the text CSV writes: valid XSD lexical forms.
    scratch.clear();
    if !prepared.text(c, row, scratch) {
        return None;
    }
    Some(Literal::new_typed_literal(String::from_utf8_lossy(scratch), datatype))
}

impl RecordWriter for RdfWriter {
    fn begin(&mut self, out: &mut Vec<u8>) -> Result<()> {
        self.progress.needs_begin()?;
        self.sink.drain_into(out);
        Ok(())
    }

    fn write_batch(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<()> {
        let encoder = self.encoder.clone();
        let prepared = encoder.prepare(batch)?;
        self.progress.needs_begin()?;
        let kinds: Vec<ColumnKind> = encoder.columns().iter().map(|c| c.kind).collect();
        let mut triples = Vec::new();
        for row in 0..prepared.rows {
            let subject = match self.id_column {
                Some(c) => {
                    self.scratch.clear();
                    if prepared.text(c, row, &mut self.scratch) {
                        let id = iri_part(&String::from_utf8_lossy(&self.scratch));
                        named(format!("{}/records/{id}", self.dataset_iri))?.into()
                    } else {
                        self.blank_node()
                    }
                }
                None => self.blank_node(),
            };
            triples.clear();
            triples.push(Triple::new(subject.clone(), rdf::TYPE, self.record_type.clone()));
            for (c, property) in self.properties.iter().enumerate() {
                let Some(property) = property else { continue };
                let kind = kinds.get(c).copied().unwrap_or(ColumnKind::Plain);
                if let Some(literal) = literal(&prepared, kind, c, row, &mut self.scratch) {
                    triples.push(Triple::new(subject.clone(), property.clone(), literal));
                }
            }
            let serializer = self.serializer.as_mut().ok_or(Error::Finished)?;
            for triple in &triples {
                serializer.serialize_triple(triple)?;
            }
            self.progress.rows += 1;
        }
        self.sink.drain_into(out);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.progress.state == State::Finished {
            return Ok(());
        }
        self.progress.needs_begin()?;
        if let Some(serializer) = self.serializer.take() {
            serializer.finish()?;
        }
        self.sink.drain_into(out);
        self.progress.state = State::Finished;
        Ok(())
    }

    fn rows_written(&self) -> u64 {
        self.progress.rows
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::columns::{EncodeOptions, OutputColumn};

    fn batch(ids: &[&str], counts: &[Option<i64>], ratios: &[f64]) -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("count", DataType::Int64, true),
            Field::new("ratio", DataType::Float64, true),
            Field::new(RDF_RECORD_ID, DataType::Utf8, true),
        ]);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(counts.to_vec())),
            Arc::new(Float64Array::from(ratios.to_vec())),
            Arc::new(StringArray::from(ids.to_vec())),
        ];
        RecordBatch::try_new(Arc::new(schema), columns).expect("batch")
    }

    #[test]
    fn each_batch_is_written_as_it_comes_with_typed_literals() {
        let encoder = RecordEncoder::new(
            vec![
                OutputColumn::plain("count"),
                OutputColumn::plain("ratio"),
                OutputColumn::plain(RDF_RECORD_ID),
            ],
            EncodeOptions::default(),
        );
        let options = RdfOptions { dataset_iri: "http://h/api/d/x".to_owned() };
        let mut writer = RdfWriter::new(encoder, RdfSyntax::NTriplesForTests, &options).expect("w");
        let mut out = Vec::new();
        writer.write_batch(&batch(&["a1"], &[Some(3)], &[0.5]), &mut out).expect("first");
        let first = String::from_utf8(out.clone()).expect("utf-8");
        assert!(first.contains("<http://h/api/d/x/records/a1>"), "{first}");
        assert!(first.contains("\"3\"^^<http://www.w3.org/2001/XMLSchema#integer>"), "{first}");
        assert!(first.contains("\"0.5\"^^<http://www.w3.org/2001/XMLSchema#double>"), "{first}");
        out.clear();
        writer.write_batch(&batch(&["b2"], &[None], &[f64::NAN]), &mut out).expect("second");
        writer.finish(&mut out).expect("finish");
        let second = String::from_utf8(out).expect("utf-8");
        // A null and a NaN have no triple; the record still has its type.
        assert_eq!(second.lines().count(), 1, "{second}");
        assert!(second.contains("<http://h/api/d/x#Record>"), "{second}");
        assert!(!second.contains(RDF_RECORD_ID), "{second}");
        assert_eq!(writer.rows_written(), 2);
    }
}
