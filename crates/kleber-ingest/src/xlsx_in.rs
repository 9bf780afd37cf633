//! XLSX (and XLS, XLSB, ODS) through calamine.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use calamine::{Data, DataRef, Reader, Sheets, open_workbook_auto};

use crate::infer::is_null_value;
use crate::typed::{Table, finish};
use crate::values::{Value, days_from_civil};
use crate::{Detected, Error, Format, ImportOptions, ImportOutcome, LocationKind, Progress};

/// The value of a spreadsheet cell.
fn cell_value(d: &Data) -> Value {
    match d {
        Data::Empty => Value::Null,
        Data::Int(i) => Value::Int(*i),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
            Value::Int(*f as i64)
        }
        Data::Float(f) => Value::Float(*f),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Value::Str(s.clone()),
        Data::Bool(b) => Value::Bool(*b),
        Data::Error(e) => Value::Str(e.to_string()),
        Data::DateTime(dt) if dt.is_duration() => {
            let secs = (dt.as_f64() * 86_400.0).round() as i64;
            Value::Str(format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60))
        }
        Data::DateTime(dt) => {
            let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
            match days_from_civil(i64::from(y), u32::from(mo), u32::from(d)) {
                Some(days) if (h, mi, s, ms) == (0, 0, 0, 0) => Value::Date(days),
                Some(days) => Value::Ts(
                    ((i64::from(days) * 86_400
                        + i64::from(h) * 3600
                        + i64::from(mi) * 60
                        + i64::from(s))
                        * 1000
                        + i64::from(ms))
                        * 1000,
                ),
                None => Value::Float(dt.as_f64()),
            }
        }
    }
}

/// The non-empty cells of the sheet, `(row, column, value)` with 0-based absolute positions.
///
/// XLSX and XLSB are read cell by cell, so a sheet with cells at A1 and XFD1048576 costs two
/// cells; XLS and ODS go through calamine's dense range.
fn sheet_cells(
    path: &Path,
    wb: &mut Sheets<BufReader<File>>,
    sheet: &str,
) -> Result<Vec<(u32, u32, Data)>, Error> {
    let bad = |e: &dyn std::fmt::Display| {
        Error::unreadable(path, format!("cannot read sheet \"{sheet}\": {e}"))
    };
    let mut cells = Vec::new();
    let mut keep = |c: calamine::Cell<DataRef<'_>>| {
        if !matches!(c.get_value(), DataRef::Empty) {
            let (row, col) = c.get_position();
            cells.push((row, col, Data::from(c.get_value().clone())));
        }
    };
    match wb {
        Sheets::Xlsx(x) => {
            let mut reader = match x.worksheet_cells_reader(sheet) {
                Ok(r) => r,
                // A chart sheet: nothing to read.
                Err(calamine::XlsxError::NotAWorksheet(_)) => return Ok(cells),
                Err(e) => return Err(bad(&e)),
            };
            while let Some(c) = reader.next_cell().map_err(|e| bad(&e))? {
                keep(c);
            }
        }
        Sheets::Xlsb(x) => {
            let mut reader = x.worksheet_cells_reader(sheet).map_err(|e| bad(&e))?;
            while let Some(c) = reader.next_cell().map_err(|e| bad(&e))? {
                keep(c);
            }
        }
        Sheets::Xls(_) | Sheets::Ods(_) => {
            let range = wb.worksheet_range(sheet).map_err(|e| bad(&e))?;
            let (row0, col0) = range.start().unwrap_or((0, 0));
            for (i, j, d) in range.used_cells() {
                // used_cells positions are relative to the range's start and fit in it.
                let (row, col) = (row0 + i as u32, col0 + j as u32);
                cells.push((row, col, d.clone()));
            }
        }
    }
    Ok(cells)
}

/// The non-empty cells of the sheet to import, sorted by row then column: everything done by
/// calamine, third-party code reading an untrusted archive.
fn read_cells(path: &Path, opts: &ImportOptions) -> Result<Vec<(u32, u32, Data)>, Error> {
    crate::archive::check_workbook(path)?;
    let mut wb = open_workbook_auto(path).map_err(|e| {
        Error::unreadable(
            path,
            format!("not a readable XLSX/XLS/ODS workbook ({e}); open it in a spreadsheet program and save it again as .xlsx"),
        )
    })?;
    let names = wb.sheet_names();
    let sheet = match &opts.sheet {
        Some(s) => names.iter().find(|n| *n == s).cloned().ok_or_else(|| {
            Error::unreadable(
                path,
                format!("no sheet named \"{s}\"; the sheets are: {}", names.join(", ")),
            )
        })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| Error::unreadable(path, "the workbook has no sheet"))?,
    };
    let mut cells = sheet_cells(path, &mut wb, &sheet)?;
    drop(wb);
    cells.sort_by_key(|&(row, col, _)| (row, col));
    Ok(cells)
}

/// The sheet's records, positional, header excluded.
fn read_sheet(path: &Path, cells: Vec<(u32, u32, Data)>) -> Result<Table, Error> {
    // The first non-empty row is the header; columns count from the leftmost used one.
    let Some(&(header_row, _, _)) = cells.first() else {
        return Err(Error::Empty { path: path.to_path_buf() });
    };
    let first_col = cells.iter().map(|&(_, col, _)| col).min().unwrap_or(0);
    let mut labels: BTreeMap<u32, String> = BTreeMap::new();
    let mut used: BTreeSet<u32> = BTreeSet::new();
    for (row, col, d) in &cells {
        if *row == header_row {
            labels.insert(*col, cell_value(d).to_text());
        } else if !is_null_value(&cell_value(d)) {
            used.insert(*col);
        }
    }
    // Columns without a header and without a value are dropped; unnamed ones get a name.
    let keep: Vec<u32> = labels
        .iter()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(&c, _)| c)
        .chain(used.iter().copied())
        .collect::<BTreeSet<u32>>()
        .into_iter()
        .collect();
    let names: Vec<String> = keep
        .iter()
        .map(|c| match labels.get(c) {
            Some(l) if !l.trim().is_empty() => l.clone(),
            _ => format!("column_{}", u64::from(c - first_col) + 1),
        })
        .collect();
    let position: HashMap<u32, usize> = keep.iter().enumerate().map(|(i, &c)| (c, i)).collect();
    let mut table = Table::with_labels(LocationKind::SheetRow, names);
    let mut rest = cells.into_iter().skip_while(|&(row, _, _)| row == header_row).peekable();
    while let Some(&(row, _, _)) = rest.peek() {
        let mut values = vec![Value::Null; keep.len()];
        while let Some((_, col, d)) = rest.next_if(|&(r, _, _)| r == row) {
            if let Some(&i) = position.get(&col) {
                values[i] = cell_value(&d);
            }
        }
        table.push_cells(u64::from(row) + 1, values);
    }
    Ok(table)
}

/// Imports a workbook sheet.
pub(crate) fn import(
    path: &Path,
    out_path: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
    format: Format,
) -> Result<ImportOutcome, Error> {
    let total = std::fs::metadata(path).map_err(|e| Error::input(path, e))?.len();
    // calamine is third-party code reading an untrusted archive: never let a panic escape
    // (fuzzing found arithmetic overflows on long cell references).
    let cells = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_cells(path, opts)))
        .map_err(|_| {
            Error::unreadable(
                path,
                "the workbook is malformed; open it in a spreadsheet program and save it again",
            )
        })??;
    let table = read_sheet(path, cells)?;
    finish(table, path, out_path, opts, progress, format, Detected::default(), total)
}
