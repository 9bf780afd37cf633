//! Streaming writers: JSON array, JSON Lines and CSV, batch by batch.

use std::io::Write;

use arrow::record_batch::RecordBatch;

use crate::encode::{CsvStyle, RecordEncoder};
use crate::error::{Error, Result};
use crate::format;

/// A writer of one export body, fed batch by batch. Each call appends to `out`, which the caller
/// can hand over as one chunk of an HTTP body and clear; memory stays bounded by one batch.
///
/// `begin` is implied by the first `write_batch` or by `finish`; calling it twice writes the
/// prologue once. After `finish`, `begin` and `write_batch` fail with [`Error::Finished`] and
/// `finish` does nothing.
pub trait RecordWriter {
    /// Appends the prologue (`[`, the CSV BOM and header…).
    fn begin(&mut self, out: &mut Vec<u8>) -> Result<()>;
    /// Appends every record of `batch`. A batch whose columns do not fit the encoder fails
    /// before anything is appended.
    fn write_batch(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<()>;
    /// Appends the epilogue (`]`…).
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<()>;
    /// Records written so far.
    fn rows_written(&self) -> u64;
}

/// Where a writer is in its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    New,
    Open,
    Finished,
}

/// State bookkeeping shared by the writers.
#[derive(Debug)]
pub(crate) struct Progress {
    pub(crate) state: State,
    pub(crate) rows: u64,
}

impl Progress {
    pub(crate) const fn new() -> Self {
        Progress { state: State::New, rows: 0 }
    }

    /// Whether the prologue is still to be written; fails once finished.
    pub(crate) fn needs_begin(&mut self) -> Result<bool> {
        match self.state {
            State::New => {
                self.state = State::Open;
                Ok(true)
            }
            State::Open => Ok(false),
            State::Finished => Err(Error::Finished),
        }
    }
}

/// Writes one JSON array of record objects across batches: `[{…},{…}]` — the body of
/// `/exports/json`, and the `results` array of `/records`. An empty export is `[]`.
#[derive(Debug)]
pub struct JsonArrayWriter {
    encoder: RecordEncoder,
    progress: Progress,
}

impl JsonArrayWriter {
    /// A writer encoding records with `encoder`.
    pub fn new(encoder: RecordEncoder) -> Self {
        JsonArrayWriter { encoder, progress: Progress::new() }
    }

    /// The record encoder.
    pub fn encoder(&self) -> &RecordEncoder {
        &self.encoder
    }
}

impl RecordWriter for JsonArrayWriter {
    fn begin(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.progress.needs_begin()? {
            out.push(b'[');
        }
        Ok(())
    }

    fn write_batch(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<()> {
        let prepared = self.encoder.prepare(batch)?;
        if self.progress.needs_begin()? {
            out.push(b'[');
        }
        for row in 0..prepared.rows {
            if self.progress.rows > 0 {
                out.push(b',');
            }
            prepared.json_record(row, out);
            self.progress.rows += 1;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.progress.state == State::Finished {
            return Ok(());
        }
        self.begin(out)?;
        out.push(b']');
        self.progress.state = State::Finished;
        Ok(())
    }

    fn rows_written(&self) -> u64 {
        self.progress.rows
    }
}

/// Writes one JSON record object per line, each line ending with `\n` (`/exports/jsonl`).
#[derive(Debug)]
pub struct JsonLinesWriter {
    encoder: RecordEncoder,
    progress: Progress,
}

impl JsonLinesWriter {
    /// A writer encoding records with `encoder`.
    pub fn new(encoder: RecordEncoder) -> Self {
        JsonLinesWriter { encoder, progress: Progress::new() }
    }

    /// The record encoder.
    pub fn encoder(&self) -> &RecordEncoder {
        &self.encoder
    }
}

impl RecordWriter for JsonLinesWriter {
    fn begin(&mut self, _out: &mut Vec<u8>) -> Result<()> {
        self.progress.needs_begin().map(|_| ())
    }

    fn write_batch(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<()> {
        let prepared = self.encoder.prepare(batch)?;
        self.progress.needs_begin()?;
        for row in 0..prepared.rows {
            prepared.json_record(row, out);
            out.push(b'\n');
            self.progress.rows += 1;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.progress.state == State::Finished {
            return Ok(());
        }
        self.begin(out)?;
        self.progress.state = State::Finished;
        Ok(())
    }

    fn rows_written(&self) -> u64 {
        self.progress.rows
    }
}

/// Options of the CSV format (`/exports/csv` parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Field delimiter, an ASCII byte. Default `;`.
    pub delimiter: u8,
    /// Separator joining the values of a list (multivalued text). Default `,`.
    pub list_separator: String,
    /// Quote every textual field (text, dates, datetimes, lists, geo values) and the header,
    /// not only those that need it. Numbers, booleans and nulls stay unquoted. Default `false`.
    pub quote_all: bool,
    /// Start with the UTF-8 byte order mark `EF BB BF`. Default `true`.
    pub with_bom: bool,
    /// Header of column labels instead of keys. Default `false`.
    pub use_labels: bool,
    /// End lines with CRLF (RFC 4180) rather than LF. Default `true`.
    pub crlf: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b';',
            list_separator: ",".to_owned(),
            quote_all: false,
            with_bom: true,
            use_labels: false,
            crlf: true,
        }
    }
}

/// The UTF-8 byte order mark.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Writes CSV (RFC 4180 quoting): optional BOM, a header row, one line per record.
///
/// Null is an empty field; a field is quoted when it contains the delimiter, a quote, CR or LF
/// (quotes doubled), or always for textual fields under `quote_all`.
#[derive(Debug)]
pub struct CsvWriter {
    encoder: RecordEncoder,
    options: CsvOptions,
    progress: Progress,
    scratch: Vec<u8>,
}

impl CsvWriter {
    /// A writer encoding records with `encoder` in the given CSV dialect.
    pub fn new(encoder: RecordEncoder, options: CsvOptions) -> Self {
        CsvWriter { encoder, options, progress: Progress::new(), scratch: Vec::new() }
    }

    /// The record encoder.
    pub fn encoder(&self) -> &RecordEncoder {
        &self.encoder
    }

    /// The CSV options.
    pub fn options(&self) -> &CsvOptions {
        &self.options
    }
}

fn line_end(options: &CsvOptions) -> &'static [u8] {
    if options.crlf { b"\r\n" } else { b"\n" }
}

/// Appends the BOM (if asked) and the header line.
fn csv_prologue(encoder: &RecordEncoder, options: &CsvOptions, out: &mut Vec<u8>) {
    if options.with_bom {
        out.extend_from_slice(UTF8_BOM);
    }
    for (c, column) in encoder.columns().iter().enumerate() {
        if c > 0 {
            out.push(options.delimiter);
        }
        let name = if options.use_labels { &column.label } else { &column.key };
        format::csv_field(out, name.as_bytes(), options.delimiter, options.quote_all);
    }
    out.extend_from_slice(line_end(options));
}

impl RecordWriter for CsvWriter {
    fn begin(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.progress.needs_begin()? {
            csv_prologue(&self.encoder, &self.options, out);
        }
        Ok(())
    }

    fn write_batch(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<()> {
        let prepared = self.encoder.prepare(batch)?;
        if self.progress.needs_begin()? {
            csv_prologue(&self.encoder, &self.options, out);
        }
        let style = CsvStyle {
            delimiter: self.options.delimiter,
            list_separator: self.options.list_separator.as_bytes(),
            quote_all: self.options.quote_all,
            line_end: line_end(&self.options),
        };
        for row in 0..prepared.rows {
            prepared.csv_record(row, out, &mut self.scratch, &style);
        }
        self.progress.rows += prepared.rows as u64;
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.progress.state == State::Finished {
            return Ok(());
        }
        self.begin(out)?;
        self.progress.state = State::Finished;
        Ok(())
    }

    fn rows_written(&self) -> u64 {
        self.progress.rows
    }
}

impl<W: RecordWriter + ?Sized> RecordWriter for Box<W> {
    fn begin(&mut self, out: &mut Vec<u8>) -> Result<()> {
        (**self).begin(out)
    }

    fn write_batch(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<()> {
        (**self).write_batch(batch, out)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        (**self).finish(out)
    }

    fn rows_written(&self) -> u64 {
        (**self).rows_written()
    }
}

/// Encodes a whole sequence of batches into one buffer (`begin`, every batch, `finish`): for
/// tests and small outputs.
pub fn encode_all<'b, W: RecordWriter + ?Sized>(
    writer: &mut W,
    batches: impl IntoIterator<Item = &'b RecordBatch>,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    writer.begin(&mut out)?;
    for batch in batches {
        writer.write_batch(batch, &mut out)?;
    }
    writer.finish(&mut out)?;
    Ok(out)
}

/// Drives a [`RecordWriter`] into any [`std::io::Write`]: each call encodes into an internal
/// buffer (reused, one batch large) and writes it out with `write_all`.
#[derive(Debug)]
pub struct IoWriter<R, W> {
    writer: R,
    sink: W,
    buffer: Vec<u8>,
}

impl<R: RecordWriter, W: Write> IoWriter<R, W> {
    /// Wraps `writer`, writing into `sink`.
    pub fn new(writer: R, sink: W) -> Self {
        IoWriter { writer, sink, buffer: Vec::new() }
    }

    fn flush_buffer(&mut self) -> Result<()> {
        self.sink.write_all(&self.buffer)?;
        self.buffer.clear();
        Ok(())
    }

    /// See [`RecordWriter::begin`].
    pub fn begin(&mut self) -> Result<()> {
        self.writer.begin(&mut self.buffer)?;
        self.flush_buffer()
    }

    /// See [`RecordWriter::write_batch`].
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer.write_batch(batch, &mut self.buffer)?;
        self.flush_buffer()
    }

    /// See [`RecordWriter::finish`]; also flushes the sink.
    pub fn finish(&mut self) -> Result<()> {
        self.writer.finish(&mut self.buffer)?;
        self.flush_buffer()?;
        self.sink.flush()?;
        Ok(())
    }

    /// Records written so far.
    pub fn rows_written(&self) -> u64 {
        self.writer.rows_written()
    }

    /// The record writer and the sink.
    pub fn into_inner(self) -> (R, W) {
        (self.writer, self.sink)
    }
}
