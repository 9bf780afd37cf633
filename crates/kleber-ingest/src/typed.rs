//! The in-memory pipeline shared by typed sources (JSON, JSONL, GeoJSON, XLSX).

use std::collections::HashMap;
use std::path::Path;

use crate::infer::{ColStats, Role, SourceCol, plan};
use crate::output::Output;
use crate::values::{M_BOOL, M_DATE, M_DATETIME, M_DOUBLE, M_INT, M_LIST, M_POINT, M_SHAPE, Value};
use crate::{
    Detected, Error, Format, ImportOptions, ImportOutcome, LocationKind, Progress, RowIssue,
};

/// Every type a typed value may have.
const M_ALL: u8 = M_BOOL | M_INT | M_DOUBLE | M_DATE | M_DATETIME | M_POINT | M_SHAPE | M_LIST;

/// One record.
pub(crate) struct Row {
    /// Line, item index or sheet row.
    pub(crate) loc: u64,
    /// Values by column index; missing trailing columns are nulls.
    pub(crate) cells: Vec<Value>,
    /// The record's geometry (GeoJSON feature or ODS record), or null.
    pub(crate) geometry: Value,
}

/// Records gathered from a typed source, with their columns in order of first appearance.
pub(crate) struct Table {
    pub(crate) labels: Vec<String>,
    index: HashMap<String, usize>,
    pub(crate) rows: Vec<Row>,
    /// Role of the geometry column, when the source has one.
    pub(crate) geometry: Option<Role>,
    pub(crate) rejected: Vec<RowIssue>,
    pub(crate) kind: LocationKind,
}

static NULL: Value = Value::Null;

impl Table {
    pub(crate) fn new(kind: LocationKind) -> Self {
        Table {
            labels: Vec::new(),
            index: HashMap::new(),
            rows: Vec::new(),
            geometry: None,
            rejected: Vec::new(),
            kind,
        }
    }

    /// Sets the columns of a positional source (XLSX).
    pub(crate) fn with_labels(kind: LocationKind, labels: Vec<String>) -> Self {
        let mut t = Table::new(kind);
        t.labels = labels;
        t
    }

    fn column(&mut self, key: String) -> usize {
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.labels.len();
        self.labels.push(key.clone());
        self.index.insert(key, i);
        i
    }

    /// Adds a record given as an object's members.
    pub(crate) fn push_object(&mut self, loc: u64, members: Vec<(String, Value)>, geometry: Value) {
        let mut cells = Vec::with_capacity(self.labels.len().max(members.len()));
        for (k, v) in members {
            let i = self.column(k);
            if cells.len() <= i {
                cells.resize(i + 1, Value::Null);
            }
            cells[i] = v;
        }
        self.rows.push(Row { loc, cells, geometry });
    }

    /// Adds a positional record.
    pub(crate) fn push_cells(&mut self, loc: u64, cells: Vec<Value>) {
        self.rows.push(Row { loc, cells, geometry: Value::Null });
    }

    /// Records a rejected record.
    pub(crate) fn reject(
        &mut self,
        loc: u64,
        field: Option<&str>,
        value: Option<String>,
        reason: String,
    ) {
        self.rejected.push(RowIssue {
            line: loc,
            location_kind: self.kind,
            field: field.map(str::to_owned),
            value,
            reason,
        });
    }
}

/// Infers the schema of a table and writes it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish(
    table: Table,
    path: &Path,
    out_path: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
    format: Format,
    detected: Detected,
    bytes_total: u64,
) -> Result<ImportOutcome, Error> {
    let Table { labels, rows, geometry, mut rejected, kind, .. } = table;
    progress(Progress { bytes_done: bytes_total, bytes_total, rows: 0 });
    let ncols = labels.len();
    let mut cols: Vec<SourceCol> = labels
        .into_iter()
        .map(|l| SourceCol { stats: ColStats::new(M_ALL, &l), label: l, role: Role::Data })
        .collect();
    if let Some(role) = geometry {
        cols.push(SourceCol {
            label: "geometry".to_owned(),
            stats: ColStats::new(M_ALL, ""),
            role,
        });
    }
    if cols.is_empty() {
        return Err(match rejected.first() {
            Some(r) => Error::unreadable(
                path,
                format!(
                    "no record could be read; the first problem, at {} {}: {}",
                    kind.name(),
                    r.line,
                    r.reason
                ),
            ),
            None => Error::Empty { path: path.to_path_buf() },
        });
    }
    for row in &rows {
        for (j, c) in cols.iter_mut().enumerate() {
            let v = if j < ncols { row.cells.get(j).unwrap_or(&NULL) } else { &row.geometry };
            c.stats.observe_value(v);
        }
    }
    let plans = plan(&cols, rows.len() as u64, opts)?;
    let mut out = Output::create(out_path, &plans, opts.row_group_size)?;
    for (n, row) in rows.iter().enumerate() {
        let get =
            |j: usize| if j < ncols { row.cells.get(j).unwrap_or(&NULL) } else { &row.geometry };
        if let Err(mut issue) = out.push_value_row(&plans, get)? {
            issue.line = row.loc;
            issue.location_kind = kind;
            rejected.push(issue);
        }
        if (n + 1) % 65_536 == 0 {
            progress(Progress { bytes_done: bytes_total, bytes_total, rows: n as u64 + 1 });
        }
    }
    let written = out.rows();
    out.finish()?;
    progress(Progress { bytes_done: bytes_total, bytes_total, rows: rows.len() as u64 });
    rejected.sort_by_key(|r| r.line);
    Ok(ImportOutcome {
        fields: plans.into_iter().map(|p| p.field).collect(),
        rows: written,
        rejected,
        bytes_read: bytes_total,
        format,
        detected,
    })
}
