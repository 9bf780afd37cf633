//! XLSX (and XLS, XLSB, ODS) through calamine.

use std::path::Path;

use calamine::{Data, Reader, open_workbook_auto};

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

/// The sheet's records, positional, header excluded.
fn read_sheet(path: &Path, opts: &ImportOptions) -> Result<Table, Error> {
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
    let range = wb
        .worksheet_range(&sheet)
        .map_err(|e| Error::unreadable(path, format!("cannot read sheet \"{sheet}\": {e}")))?;
    let first_row = range.start().map_or(0, |(r, _)| u64::from(r));
    let mut rows = range.rows().enumerate().filter(|(_, r)| r.iter().any(|c| *c != Data::Empty));
    let Some((_, header)) = rows.next() else {
        return Err(Error::Empty { path: path.to_path_buf() });
    };
    let width = range.width();
    let mut labels: Vec<String> = (0..width)
        .map(|j| header.get(j).map(cell_value).map(|v| v.to_text()).unwrap_or_default())
        .collect();
    let mut data: Vec<(u64, Vec<Value>)> = Vec::new();
    let mut used = vec![false; width];
    for (i, r) in rows {
        let cells: Vec<Value> = r.iter().map(cell_value).collect();
        for (u, c) in used.iter_mut().zip(&cells) {
            if !is_null_value(c) {
                *u = true;
            }
        }
        data.push((first_row + i as u64 + 1, cells));
    }
    // Columns without a header and without a value are dropped; unnamed ones get a name.
    let keep: Vec<usize> =
        (0..width).filter(|&j| used[j] || !labels[j].trim().is_empty()).collect();
    for &j in &keep {
        if labels[j].trim().is_empty() {
            labels[j] = format!("column_{}", j + 1);
        }
    }
    let mut table = Table::with_labels(
        LocationKind::SheetRow,
        keep.iter().map(|&j| labels[j].clone()).collect(),
    );
    for (loc, mut cells) in data {
        let row: Vec<Value> = keep
            .iter()
            .map(|&j| cells.get_mut(j).map(std::mem::take).unwrap_or_default())
            .collect();
        table.push_cells(loc, row);
    }
    Ok(table)
}

/// Imports a workbook sheet.
pub(crate) fn import(
    path: &Path,
    out_path: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportOutcome, Error> {
    let total = std::fs::metadata(path).map_err(|e| Error::input(path, e))?.len();
    // calamine is third-party code reading an untrusted archive: never let a panic escape.
    let table = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_sheet(path, opts)))
        .map_err(|_| {
            Error::unreadable(
                path,
                "the workbook is malformed; open it in a spreadsheet program and save it again",
            )
        })??;
    finish(table, path, out_path, opts, progress, Format::Xlsx, Detected::default(), total)
}
