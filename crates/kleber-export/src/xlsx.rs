//! `/exports/xlsx`: an Office Open XML workbook with typed cells, written by
//! `rust_xlsxwriter` in its constant-memory mode (each row goes to a temporary file as it is
//! written, strings inline), so memory does not grow with the export.
//!
//! The first row holds the column keys (labels with `use_labels`), in bold. Cells are typed:
//! integers and doubles are numbers (integers beyond ±2^53, which a spreadsheet number cannot
//! hold exactly, are written as text), booleans are booleans, dates are dates
//! (`yyyy-mm-dd`), datetimes are date-times (`yyyy-mm-dd hh:mm:ss`) in the request's time zone
//! (spreadsheets have no time zones), everything else is text as the CSV export writes it.
//! Text longer than Excel's 32,767-character limit is cut at that limit.
//!
//! A sheet holds at most 1,048,576 rows: a longer export continues on `Sheet2`, `Sheet3`, …,
//! each with the header row.

use std::fs::File;
use std::io::BufWriter;

use arrow::record_batch::RecordBatch;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::encode::{Cell, RecordEncoder};
use crate::error::{Error, Result};
use crate::format;
use crate::spool::{SpoolDir, SpoolWriter, rewound};

/// Rows of an Excel sheet, the header included.
const SHEET_ROWS: u32 = 1_048_576;
/// Longest text of a cell, in characters.
const MAX_TEXT_CHARS: usize = 32_767;
/// Serial number of 1970-01-01 in Excel's 1900 date system.
const EXCEL_EPOCH_1970: f64 = 25_569.0;
/// Largest integer a spreadsheet number holds exactly.
const MAX_EXACT_INT: i64 = 1 << 53;

/// Spools an XLSX workbook.
pub struct XlsxWriter {
    encoder: RecordEncoder,
    use_labels: bool,
    workbook: Workbook,
    /// Index of the sheet being written, and its next row.
    sheet: usize,
    next_row: u32,
    header: Format,
    date: Format,
    datetime: Format,
    rows: u64,
    spool: SpoolDir,
    /// The workbook's temporary files (one per sheet), removed when dropped.
    _temp: tempfile::TempDir,
}

impl std::fmt::Debug for XlsxWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XlsxWriter").field("rows", &self.rows).finish_non_exhaustive()
    }
}

fn xlsx_err(e: XlsxError) -> Error {
    Error::format("xlsx", e)
}

impl XlsxWriter {
    /// A writer of the records `encoder` describes; `use_labels` heads columns by label.
    pub fn new(encoder: RecordEncoder, use_labels: bool, spool: &SpoolDir) -> Result<Self> {
        let temp = spool.dir()?;
        let mut workbook = Workbook::new();
        workbook.set_tempdir(temp.path()).map_err(xlsx_err)?;
        let mut writer = XlsxWriter {
            encoder,
            use_labels,
            workbook,
            sheet: 0,
            next_row: 0,
            header: Format::new().set_bold(),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            rows: 0,
            spool: spool.clone(),
            _temp: temp,
        };
        writer.new_sheet()?;
        Ok(writer)
    }

    /// Adds a sheet and writes its header row.
    fn new_sheet(&mut self) -> Result<()> {
        let sheet = self.workbook.add_worksheet_with_constant_memory().map_err(xlsx_err)?;
        for (c, column) in self.encoder.columns().iter().enumerate() {
            let name = if self.use_labels { &column.label } else { &column.key };
            sheet
                .write_string_with_format(0, col_index(c)?, clip(name), &self.header)
                .map_err(xlsx_err)?;
        }
        self.sheet = self.workbook.worksheets().len().saturating_sub(1);
        self.next_row = 1;
        Ok(())
    }
}

fn col_index(c: usize) -> Result<u16> {
    // Excel has 16,384 columns.
    u16::try_from(c)
        .ok()
        .filter(|&c| c < 16_384)
        .ok_or_else(|| Error::format("xlsx", "more than 16,384 columns"))
}

/// `text` cut to Excel's cell limit, at a character boundary.
fn clip(text: &str) -> &str {
    match text.char_indices().nth(MAX_TEXT_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

impl SpoolWriter for XlsxWriter {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        // A clone (per batch) so that `prepared` does not borrow `self`.
        let encoder = self.encoder.clone();
        let prepared = encoder.prepare(batch)?;
        let width = self.encoder.columns().len();
        let mut text = Vec::new();
        for row in 0..prepared.rows {
            if self.next_row >= SHEET_ROWS {
                self.new_sheet()?;
            }
            let r = self.next_row;
            let sheet = self.workbook.worksheet_from_index(self.sheet).map_err(xlsx_err)?;
            for c in 0..width {
                let col = col_index(c)?;
                match prepared.cell(c, row) {
                    Cell::Null => {}
                    Cell::Bool(b) => {
                        sheet.write_boolean(r, col, b).map_err(xlsx_err)?;
                    }
                    Cell::Int(i) if (-MAX_EXACT_INT..=MAX_EXACT_INT).contains(&i) => {
                        sheet.write_number(r, col, i as f64).map_err(xlsx_err)?;
                    }
                    Cell::Int(i) => {
                        sheet.write_string(r, col, i.to_string()).map_err(xlsx_err)?;
                    }
                    Cell::Float(f) => {
                        sheet.write_number(r, col, f).map_err(xlsx_err)?;
                    }
                    Cell::Date(days) => {
                        let serial = days as f64 + EXCEL_EPOCH_1970;
                        if excel_date_range(serial) {
                            sheet.write_number_with_format(r, col, serial, &self.date)
                        } else {
                            text.clear();
                            format::date(&mut text, days);
                            sheet.write_string(r, col, String::from_utf8_lossy(&text))
                        }
                        .map_err(xlsx_err)?;
                    }
                    Cell::Instant { secs, nanos, offset } => {
                        let local = secs.saturating_add(i64::from(offset));
                        let serial = local as f64 / 86_400.0
                            + f64::from(nanos) / 86_400e9
                            + EXCEL_EPOCH_1970;
                        if excel_date_range(serial) {
                            sheet.write_number_with_format(r, col, serial, &self.datetime)
                        } else {
                            text.clear();
                            format::instant(&mut text, secs, nanos, offset);
                            sheet.write_string(r, col, String::from_utf8_lossy(&text))
                        }
                        .map_err(xlsx_err)?;
                    }
                    Cell::Text(s) => {
                        sheet.write_string(r, col, clip(&s)).map_err(xlsx_err)?;
                    }
                }
            }
            self.next_row += 1;
            self.rows += 1;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<File> {
        let mut out = BufWriter::new(self.spool.file()?);
        self.workbook.save_to_writer(&mut out).map_err(xlsx_err)?;
        let file = out.into_inner().map_err(|e| Error::Io(e.into_error()))?;
        rewound(file)
    }

    fn rows_written(&self) -> u64 {
        self.rows
    }
}

/// Whether an Excel serial date is one Excel displays as a date (1900-03-01 to 9999-12-31;
/// earlier serials hit the 1900 leap-year bug).
fn excel_date_range(serial: f64) -> bool {
    (61.0..2_958_466.0).contains(&serial)
}
