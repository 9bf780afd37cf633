//! CSV / TSV: encoding, dialect and header detection, then two streaming passes.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::rc::Rc;

use encoding_rs::{CoderResult, Decoder, Encoding, UTF_8, WINDOWS_1252};

use crate::infer::{ColStats, Role, SourceCol, plan};
use crate::limits::{MAX_RECORD_BYTES, MAX_RECORD_LINES, mib};
use crate::output::Output;
use crate::values::{M_TEXT_SOURCE, classify_str, is_blank};
use crate::{
    Detected, Error, Format, ImportOptions, ImportOutcome, LocationKind, Progress, RowIssue,
    read_prefix,
};

mod read_ahead;

/// Bytes read from the start of the file to detect the encoding and the dialect.
const SAMPLE_BYTES: usize = 1 << 20;
/// Records of the sample used for delimiter and header detection.
const SAMPLE_RECORDS: usize = 500;
/// Rows between two progress reports.
const PROGRESS_EVERY: u64 = 65_536;
/// Delimiters tried, in order of preference on a tie.
const DELIMITERS: [u8; 4] = [b';', b',', b'\t', b'|'];

/// Counts the bytes read from the file, for progress.
pub(crate) struct CountingReader<R> {
    pub(crate) inner: R,
    pub(crate) count: Rc<Cell<u64>>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Where the line breaks of the (decoded) stream are, to give each record the physical line it
/// starts on. The csv crate's own line count misses line breaks inside quoted fields and counts
/// skipped empty lines into the next record.
#[derive(Default)]
struct Lines {
    /// Stream offsets of `\n` bytes not yet passed.
    nl: VecDeque<u64>,
    /// Stream offsets of `\r` bytes not yet passed.
    cr: VecDeque<u64>,
    /// Bytes seen so far.
    seen: u64,
    /// `\n` bytes passed.
    passed: u64,
    /// Stream offset where the record being read starts (just after the last one read).
    mark: u64,
}

/// A record beyond [`MAX_RECORD_BYTES`] or [`MAX_RECORD_LINES`]: the read stops there, so that
/// an unterminated quote does not pull the rest of the file into memory.
#[derive(Debug)]
struct RecordTooLong {
    lines: bool,
}

impl std::fmt::Display for RecordTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.lines { "too many lines in one record" } else { "record too long" })
    }
}

impl std::error::Error for RecordTooLong {}

impl Lines {
    fn scan(&mut self, chunk: &[u8]) {
        for i in memchr::memchr2_iter(b'\n', b'\r', chunk) {
            let at = self.seen + i as u64;
            if chunk[i] == b'\n' { self.nl.push_back(at) } else { self.cr.push_back(at) }
        }
        self.seen += chunk.len() as u64;
    }

    /// Whether the record being read, from [`Lines::mark`] to what was seen, is beyond a limit.
    fn over_limit(&self) -> Option<RecordTooLong> {
        if self.seen.saturating_sub(self.mark) > MAX_RECORD_BYTES {
            return Some(RecordTooLong { lines: false });
        }
        let after = |q: &VecDeque<u64>| q.len() - q.partition_point(|&o| o < self.mark);
        // CRLF, LF and CR line ends each count once.
        (after(&self.nl).max(after(&self.cr)) > MAX_RECORD_LINES)
            .then_some(RecordTooLong { lines: true })
    }

    /// The 1-based line of the first byte at or after stream offset `start` that is not a line
    /// break (records may start with the breaks of skipped empty lines). Offsets must grow.
    fn line_at(&mut self, start: u64) -> u64 {
        while self.nl.front().is_some_and(|&o| o < start) {
            self.nl.pop_front();
            self.passed += 1;
        }
        while self.cr.front().is_some_and(|&o| o < start) {
            self.cr.pop_front();
        }
        let mut pos = start;
        loop {
            if self.nl.front() == Some(&pos) {
                self.nl.pop_front();
                self.passed += 1;
            } else if self.cr.front() == Some(&pos) {
                self.cr.pop_front();
            } else {
                break;
            }
            pos += 1;
        }
        self.passed + 1
    }
}

/// Feeds [`Lines`] with what the csv reader reads.
struct LineReader<R> {
    inner: R,
    lines: Rc<RefCell<Lines>>,
}

impl<R: Read> Read for LineReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // The csv reader asks for more only once it parsed all it had: everything since the
        // mark belongs to the record being read.
        if let Some(too_long) = self.lines.borrow().over_limit() {
            return Err(io::Error::other(too_long));
        }
        let n = self.inner.read(buf)?;
        self.lines.borrow_mut().scan(&buf[..n]);
        Ok(n)
    }
}

/// Decodes a legacy encoding to UTF-8 while reading.
pub(crate) struct DecodeReader<R> {
    inner: R,
    decoder: Decoder,
    inbuf: Vec<u8>,
    in_pos: usize,
    in_len: usize,
    eof: bool,
    outbuf: Vec<u8>,
    out_pos: usize,
    out_len: usize,
    done: bool,
}

impl<R: Read> DecodeReader<R> {
    pub(crate) fn new(inner: R, encoding: &'static Encoding) -> Self {
        DecodeReader {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            inbuf: vec![0; 64 * 1024],
            in_pos: 0,
            in_len: 0,
            eof: false,
            outbuf: vec![0; 3 * 64 * 1024 + 16],
            out_pos: 0,
            out_len: 0,
            done: false,
        }
    }
}

impl<R: Read> Read for DecodeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_pos < self.out_len {
                let n = buf.len().min(self.out_len - self.out_pos);
                buf[..n].copy_from_slice(&self.outbuf[self.out_pos..self.out_pos + n]);
                self.out_pos += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            if self.in_pos == self.in_len && !self.eof {
                self.in_len = self.inner.read(&mut self.inbuf)?;
                self.in_pos = 0;
                self.eof = self.in_len == 0;
            }
            let (res, read, written, _) = self.decoder.decode_to_utf8(
                &self.inbuf[self.in_pos..self.in_len],
                &mut self.outbuf,
                self.eof,
            );
            self.in_pos += read;
            self.out_pos = 0;
            self.out_len = written;
            if self.eof && res == CoderResult::InputEmpty {
                self.done = true;
            }
        }
    }
}

/// The detected text encoding and the length of its BOM.
fn detect_encoding(sample: &[u8], truncated: bool) -> (&'static Encoding, usize) {
    if let Some((enc, bom)) = Encoding::for_bom(sample) {
        return (enc, bom);
    }
    match std::str::from_utf8(sample) {
        Ok(_) => return (UTF_8, 0),
        Err(e) if truncated && e.error_len().is_none() => return (UTF_8, 0),
        Err(_) => {}
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    det.feed(sample, !truncated);
    let guess = det.guess(None, chardetng::Utf8Detection::Deny);
    if guess == UTF_8 { (WINDOWS_1252, 0) } else { (guess, 0) }
}

/// Refuses files that are obviously not text.
fn check_binary(path: &Path, sample: &[u8], enc: &'static Encoding) -> Result<(), Error> {
    let signatures: [(&[u8], &str); 4] = [
        (b"PK\x03\x04", "a zip archive (an XLSX workbook? then import it with format xlsx)"),
        (&[0xD0, 0xCF, 0x11, 0xE0], "an old Office file (XLS? import it with format xlsx)"),
        (b"%PDF", "a PDF document"),
        (b"\x1F\x8B", "a gzip archive (decompress it first)"),
    ];
    for (sig, what) in signatures {
        if sample.starts_with(sig) {
            return Err(Error::unreadable(path, format!("this is {what}, not CSV text")));
        }
    }
    if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
        return Ok(());
    }
    let controls =
        sample.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C)).count();
    if let Some(at) = sample.iter().position(|&b| b == 0) {
        return Err(Error::unreadable(
            path,
            format!(
                "binary data (a NUL byte at byte {at}): this is not a CSV text file; export the \
                 data as CSV, JSON or XLSX"
            ),
        ));
    }
    if controls * 20 > sample.len().max(1) {
        return Err(Error::unreadable(
            path,
            "binary data (many control characters): this is not a CSV text file; export the data \
             as CSV, JSON or XLSX",
        ));
    }
    Ok(())
}

/// The number of fields of a record, not counting extra, empty, last fields beyond the header's
/// `ncols` (a trailing delimiter on data rows).
fn field_count(r: &csv::StringRecord, ncols: usize) -> usize {
    if r.len() > ncols && r.iter().skip(ncols).all(is_blank) { ncols } else { r.len() }
}

fn is_blank_record(r: &csv::StringRecord) -> bool {
    r.is_empty() || (r.len() == 1 && is_blank(&r[0]))
}

/// Parses the sample with a dialect; drops a last record cut by the sample's end.
fn sample_records(text: &str, delim: u8, quote: u8, truncated: bool) -> Vec<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delim)
        .quote(quote)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    let mut rec = csv::StringRecord::new();
    while out.len() < SAMPLE_RECORDS + 1 {
        match rdr.read_record(&mut rec) {
            Ok(true) if is_blank_record(&rec) => {}
            Ok(true) => out.push(rec.iter().map(str::to_owned).collect()),
            Ok(false) | Err(_) => break,
        }
    }
    if (truncated || out.len() > SAMPLE_RECORDS) && out.len() > 1 {
        out.pop();
    }
    out
}

/// The most frequent field count and the share of records having it.
fn mode(counts: &[usize]) -> (usize, f64) {
    let mut best = (0, 0);
    for &c in counts {
        let n = counts.iter().filter(|&&x| x == c).count();
        if n > best.1 || (n == best.1 && c > best.0) {
            best = (c, n);
        }
    }
    (best.0, best.1 as f64 / counts.len().max(1) as f64)
}

/// The delimiter giving the most consistent field count (> 1); among nearly as consistent ones,
/// the one giving more fields.
fn detect_delimiter(text: &str, truncated: bool) -> u8 {
    let mut scored = Vec::new();
    for d in DELIMITERS {
        let counts: Vec<usize> =
            sample_records(text, d, b'"', truncated).iter().map(Vec::len).collect();
        let (m, share) = mode(&counts);
        if m > 1 {
            scored.push((d, m, share));
        }
    }
    let best_share = scored.iter().map(|s| s.2).fold(0.0, f64::max);
    scored
        .iter()
        .filter(|s| s.2 >= best_share - 0.1)
        .max_by(|a, b| {
            a.1.cmp(&b.1).then_with(|| {
                // Earlier in DELIMITERS wins a full tie.
                let pos = |d: u8| DELIMITERS.iter().position(|&x| x == d).unwrap_or(0);
                pos(b.0).cmp(&pos(a.0))
            })
        })
        .map_or(b',', |s| s.0)
}

/// `'` when the sample's text fields are wrapped in single quotes and none in double quotes.
fn detect_quote(text: &str, delim: u8) -> u8 {
    let (mut single, mut open, mut double, mut lines) = (0usize, 0usize, 0usize, 0usize);
    for line in text.lines().take(SAMPLE_RECORDS) {
        lines += 1;
        for f in line.split(delim as char) {
            let f = f.trim();
            if f.starts_with('"') {
                double += 1;
            } else if f.len() >= 2 && f.starts_with('\'') && f.ends_with('\'') {
                single += 1;
            } else if f.starts_with('\'') {
                open += 1;
            }
        }
    }
    if double == 0 && single > 0 && single * 2 >= lines && open * 10 <= single {
        b'\''
    } else {
        b'"'
    }
}

/// A four-digit year (1000 to 2999): a header cell in tables with one column per year.
fn is_year(v: &str) -> bool {
    let v = v.trim();
    v.len() == 4 && v.bytes().all(|b| b.is_ascii_digit()) && matches!(v.as_bytes()[0], b'1' | b'2')
}

/// Whether the first sample record is a header (see the crate documentation).
///
/// Its cells must be texts (repeated names are fine: spreadsheets export them) or distinct
/// years. Years are a header only when some column headed by a year holds something else than
/// years below (`2019;2020` over `12,5;13`); a first row of years over more years is data.
fn detect_header(records: &[Vec<String>], decimal_comma: bool) -> bool {
    let Some(first) = records.first() else { return false };
    let mut years = std::collections::HashSet::new();
    let mut non_blank = 0;
    for v in first {
        if is_blank(v) {
            continue;
        }
        non_blank += 1;
        if classify_str(v.trim(), M_TEXT_SOURCE, decimal_comma).0 != 0
            && !(is_year(v) && years.insert(v.trim()))
        {
            return false;
        }
    }
    if non_blank == 0 {
        // A first row of empty names above data: a header that names nothing.
        return records.len() > 1 && first.len() > 1;
    }
    // Rows longer than the first are compared too: a header may lack its last names.
    let rest: Vec<&Vec<String>> = records[1..].iter().filter(|r| r.len() >= first.len()).collect();
    if rest.is_empty() {
        // A lone row of texts names columns; a lone row of years is more likely data.
        return years.is_empty();
    }
    let below = |j: usize| rest.iter().map(move |r| r[j].trim()).filter(|v| !v.is_empty());
    if !years.is_empty() {
        let year_columns = first.iter().enumerate().filter(|(_, h)| years.contains(h.trim()));
        let evidence = year_columns.clone().any(|(j, _)| below(j).any(|v| !is_year(v)));
        if !evidence {
            return false;
        }
    }
    for (j, h) in first.iter().enumerate() {
        if years.contains(h.trim()) {
            continue;
        }
        let mut mask = M_TEXT_SOURCE;
        let mut values = 0;
        for v in below(j) {
            values += 1;
            if v == h.trim() {
                return false;
            }
            mask &= classify_str(v, mask, decimal_comma).0;
        }
        if values > 0 && mask != 0 {
            return true;
        }
    }
    true
}

/// The column labels of a header row: a blank name becomes `column_<position>` (as when there
/// is no header), and blank names at the end are dropped when no row of the sample has a value
/// under them (a trailing delimiter on the header, with or without one on the rows). When most
/// rows have values beyond the header, the extra columns are unnamed columns.
fn header_labels(records: &[Vec<String>]) -> Vec<String> {
    let mut labels = records[0].clone();
    // Most rows with values beyond the header (its last names left out by a spreadsheet):
    // unnamed columns. A few such rows are rows with too many fields, rejected.
    let longer: Vec<usize> = records[1..]
        .iter()
        .filter(|r| r.iter().skip(labels.len()).any(|v| !is_blank(v)))
        .map(Vec::len)
        .collect();
    if longer.len() * 2 > records.len() - 1 {
        labels.resize(mode(&longer).0, String::new());
    }
    while labels.len() > 1 && labels.last().is_some_and(|l| is_blank(l)) {
        let j = labels.len() - 1;
        if records[1..].iter().any(|r| r.get(j).is_some_and(|v| !is_blank(v))) {
            break;
        }
        labels.pop();
    }
    for (j, l) in labels.iter_mut().enumerate() {
        if is_blank(l) {
            *l = format!("column_{}", j + 1);
        }
    }
    labels
}

/// One streaming read of the file.
struct Stream {
    rdr: csv::Reader<LineReader<Box<dyn Read>>>,
    bytes: Rc<Cell<u64>>,
    lines: Rc<RefCell<Lines>>,
    /// The line where the last record read starts.
    line: u64,
}

fn too_long_error(path: &Path, line: u64, too_long: &RecordTooLong) -> Error {
    let what = if too_long.lines {
        format!("spans more than {MAX_RECORD_LINES} lines, the line limit of one record")
    } else {
        format!("is longer than {}, the record size limit", mib(MAX_RECORD_BYTES))
    };
    Error::TooLarge {
        path: path.to_path_buf(),
        reason: format!(
            "the CSV record starting at line {line} {what}; a quote opened in it is probably \
             never closed (check the quotes on that line), or export the file with smaller values"
        ),
    }
}

#[derive(Clone, Copy)]
enum Next {
    Record,
    BadUtf8 { line: u64 },
    End,
}

impl Stream {
    fn open(
        path: &Path,
        enc: &'static Encoding,
        bom: usize,
        delim: u8,
        quote: u8,
    ) -> Result<Self, Error> {
        let mut file = File::open(path).map_err(|e| Error::input(path, e))?;
        file.seek(SeekFrom::Start(bom as u64)).map_err(|e| Error::input(path, e))?;
        let bytes = Rc::new(Cell::new(bom as u64));
        let lines = Rc::new(RefCell::new(Lines::default()));
        let counted = CountingReader { inner: file, count: bytes.clone() };
        let reader: Box<dyn Read> = if enc == UTF_8 {
            Box::new(counted)
        } else {
            Box::new(DecodeReader::new(counted, enc))
        };
        let rdr = csv::ReaderBuilder::new()
            .delimiter(delim)
            .quote(quote)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(256 * 1024)
            .from_reader(LineReader { inner: reader, lines: lines.clone() });
        Ok(Stream { rdr, bytes, lines, line: 0 })
    }

    /// The physical line where a record at this position starts.
    fn line_at(&self, pos: Option<&csv::Position>) -> u64 {
        pos.map_or(0, |p| self.lines.borrow_mut().line_at(p.byte()))
    }

    /// Reads the next record; [`Stream::line`] is then the line where it starts.
    fn next(&mut self, path: &Path, rec: &mut csv::StringRecord) -> Result<Next, Error> {
        let result = self.rdr.read_record(rec);
        let next_start = self.rdr.position().byte();
        match result {
            Ok(true) => {
                // Locating every record also forgets the line breaks before it.
                self.line = self.line_at(rec.position());
                self.lines.borrow_mut().mark = next_start;
                Ok(Next::Record)
            }
            Ok(false) => Ok(Next::End),
            Err(e) => {
                let line = self.line_at(e.position());
                // A record that could not be read whole ends where the reader stopped.
                if !matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    self.lines.borrow_mut().mark = next_start;
                }
                match e.into_kind() {
                    csv::ErrorKind::Utf8 { .. } => Ok(Next::BadUtf8 { line }),
                    csv::ErrorKind::Io(io) => {
                        match io.get_ref().and_then(|e| e.downcast_ref::<RecordTooLong>()) {
                            Some(too_long) => {
                                let mark = self.lines.borrow().mark;
                                let start = self.lines.borrow_mut().line_at(mark);
                                Err(too_long_error(path, start, too_long))
                            }
                            None => Err(Error::input(path, io)),
                        }
                    }
                    other => Err(Error::unreadable(
                        path,
                        format!("CSV error near line {line}: {other:?}"),
                    )),
                }
            }
        }
    }
}

/// Imports a CSV file.
pub(crate) fn import(
    path: &Path,
    out_path: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportOutcome, Error> {
    let total = std::fs::metadata(path).map_err(|e| Error::input(path, e))?.len();
    let sample = read_prefix(path, SAMPLE_BYTES)?;
    let truncated = (sample.len() as u64) < total;
    let (mut enc, bom) = detect_encoding(&sample, truncated);
    check_binary(path, &sample[bom..], enc)?;

    // The sample as text, cut after its last complete line when the file goes on.
    let mut text = enc.decode_without_bom_handling(&sample[bom..]).0.into_owned();
    if truncated && let Some(end) = text.rfind('\n') {
        text.truncate(end + 1);
    }
    if is_blank(&text) {
        return Err(Error::Empty { path: path.to_path_buf() });
    }

    let delim = match opts.delimiter {
        Some(d) if d == b'"' || d == b'\n' || d == b'\r' || !d.is_ascii() => {
            return Err(Error::BadOption {
                option: "delimiter".to_owned(),
                message: format!("{:?} cannot be a delimiter; use , ; | or a tab", d as char),
            });
        }
        Some(d) => d,
        None => detect_delimiter(&text, truncated),
    };
    let quote = detect_quote(&text, delim);
    let decimal_comma = delim != b',';
    let records = sample_records(&text, delim, quote, truncated);
    if records.is_empty() {
        return Err(Error::Empty { path: path.to_path_buf() });
    }
    let has_header = opts.has_header.unwrap_or_else(|| detect_header(&records, decimal_comma));
    let labels: Vec<String> = if has_header {
        header_labels(&records)
    } else {
        let counts: Vec<usize> = records.iter().map(Vec::len).collect();
        let mut n = mode(&counts).0;
        // A trailing delimiter on every line is not a column.
        while n > 1 && records.iter().all(|r| r.get(n - 1).is_none_or(|v| is_blank(v))) {
            n -= 1;
        }
        (1..=n).map(|i| format!("column_{i}")).collect()
    };
    let ncols = labels.len();

    // Pass 1: statistics.
    let mut rec = csv::StringRecord::new();
    let (stats, rows_seen) = loop {
        let mut stats: Vec<ColStats> =
            labels.iter().map(|l| ColStats::new(M_TEXT_SOURCE, l)).collect();
        let mut seen_non_ascii = !text.is_ascii();
        let mut stream = read_ahead::ReadAhead::open(path, enc, bom, delim, quote)?;
        let mut header_pending = has_header;
        let mut rows = 0u64;
        let mut restart = false;
        loop {
            match stream.next(&mut rec)? {
                Next::End => break,
                Next::BadUtf8 { .. } => {
                    if enc == UTF_8 && !seen_non_ascii {
                        restart = true;
                        break;
                    }
                }
                Next::Record => {
                    if is_blank_record(&rec) {
                        continue;
                    }
                    if header_pending {
                        header_pending = false;
                        continue;
                    }
                    if field_count(&rec, ncols) != ncols {
                        continue;
                    }
                    if !seen_non_ascii && !rec.as_slice().is_ascii() {
                        seen_non_ascii = true;
                    }
                    for (s, v) in stats.iter_mut().zip(rec.iter()) {
                        s.observe_str(v, decimal_comma);
                    }
                    rows += 1;
                    if rows.is_multiple_of(PROGRESS_EVERY) {
                        progress(Progress {
                            bytes_done: stream.bytes,
                            bytes_total: 2 * total,
                            rows,
                        });
                    }
                }
            }
        }
        if restart {
            // Valid UTF-8 at first, then not, and no UTF-8 accent met before: a legacy encoding.
            enc = WINDOWS_1252;
            continue;
        }
        break (stats, rows);
    };
    progress(Progress { bytes_done: total, bytes_total: 2 * total, rows: rows_seen });

    let cols: Vec<SourceCol> = labels
        .iter()
        .zip(stats)
        .map(|(l, s)| SourceCol { label: l.clone(), stats: s, role: Role::Data })
        .collect();
    let plans = plan(&cols, rows_seen, opts)?;

    // Pass 2: conversion.
    let mut out = Output::create(out_path, &plans, opts.row_group_size)?;
    let mut stream = read_ahead::ReadAhead::open(path, enc, bom, delim, quote)?;
    let mut rejected: Vec<RowIssue> = Vec::new();
    let mut header_pending = has_header;
    let mut rows = 0u64;
    let mut unclosed = None;
    loop {
        match stream.next(&mut rec)? {
            Next::End => {
                if let Some(issue) = unclosed.and_then(|i: usize| rejected.get_mut(i)) {
                    issue.reason.push_str(
                        "; a quote opened in this record is probably never closed: the record \
                         runs to the end of the file",
                    );
                }
                break;
            }
            Next::BadUtf8 { line } => rejected.push(RowIssue {
                line,
                location_kind: LocationKind::Line,
                field: None,
                value: None,
                reason: format!(
                    "invalid {} text: the file mixes encodings; re-save it in UTF-8",
                    enc.name()
                ),
            }),
            Next::Record => {
                if is_blank_record(&rec) {
                    continue;
                }
                if header_pending {
                    header_pending = false;
                    continue;
                }
                rows += 1;
                unclosed = None;
                if field_count(&rec, ncols) != ncols {
                    // A multi-line record that fails is the end of the file when a quote
                    // is never closed: said once the end is reached.
                    unclosed = rec.iter().any(|f| f.contains('\n')).then_some(rejected.len());
                    rejected.push(RowIssue {
                        line: stream.line,
                        location_kind: LocationKind::Line,
                        field: None,
                        value: None,
                        reason: format!("expected {ncols} fields, found {}", rec.len()),
                    });
                } else {
                    let r = &rec;
                    if let Err(mut issue) = out.push_text_row(&plans, |i| &r[i], decimal_comma)? {
                        issue.line = stream.line;
                        rejected.push(issue);
                    }
                }
                if rows.is_multiple_of(PROGRESS_EVERY) {
                    progress(Progress {
                        bytes_done: total + stream.bytes,
                        bytes_total: 2 * total,
                        rows,
                    });
                }
            }
        }
    }
    let written = out.rows();
    out.finish()?;
    progress(Progress { bytes_done: 2 * total, bytes_total: 2 * total, rows });
    Ok(ImportOutcome {
        fields: plans.into_iter().map(|p| p.field).collect(),
        rows: written,
        rejected,
        bytes_read: total,
        format: Format::Csv,
        detected: Detected {
            encoding: Some(enc.name().to_owned()),
            delimiter: Some(delim as char),
            has_header: Some(has_header),
            quote: Some(quote as char),
            archive_member: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(detect_delimiter("a;b;c\n1;2,5;3\n4;5,5;6\n", false), b';');
        assert_eq!(detect_delimiter("a,b,c\n1,2;5,3\n", false), b',');
        assert_eq!(detect_delimiter("a\tb\n1\t2\n", false), b'\t');
        assert_eq!(detect_delimiter("a|b|c\n1|2|3\n", false), b'|');
        assert_eq!(detect_delimiter("abc\n", false), b',');
    }

    #[test]
    fn quotes() {
        assert_eq!(detect_quote("1;'a b';x\n2;'c';y\n", b';'), b'\'');
        assert_eq!(detect_quote("1;\"a\";'x'\n", b';'), b'"');
        assert_eq!(detect_quote("1;'t Hooft;x\n", b';'), b'"');
    }

    #[test]
    fn headers() {
        let rows = |s: &str| sample_records(s, b';', b'"', false);
        assert!(detect_header(&rows("nom;age\nBob;3\nAl;4\n"), true));
        assert!(!detect_header(&rows("Bob;3\nAl;4\n"), true));
        assert!(!detect_header(&rows("a;b\na;c\n"), true));
        assert!(detect_header(&rows("nom;ville\nBob;Paris\n"), true));
    }

    #[test]
    fn decoding_latin1_in_small_reads() {
        let src: &[u8] = b"caf\xe9;na\xefve\n";
        let mut r = DecodeReader::new(src, WINDOWS_1252);
        let mut out = Vec::new();
        let mut buf = [0u8; 3];
        loop {
            let n = r.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(String::from_utf8(out).expect("utf8"), "café;naïve\n");
    }
}
