//! The in-memory pipeline shared by typed sources (JSON, JSONL, GeoJSON, XLSX).

use std::cell::Cell;
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use crate::infer::{ColStats, Role, SourceCol, plan};
use crate::output::Output;
use crate::values::{M_BOOL, M_DATE, M_DATETIME, M_DOUBLE, M_INT, M_LIST, M_POINT, M_SHAPE, Value};
use crate::{
    Detected, Error, Format, ImportOptions, ImportOutcome, LocationKind, Progress, RowIssue,
};

/// Rows between two progress reports.
const PROGRESS_EVERY: u64 = 65_536;

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

/// The records of a positional source (XLSX), held in memory.
pub(crate) struct Table {
    pub(crate) labels: Vec<String>,
    pub(crate) rows: Vec<Row>,
    /// Role of the geometry column, when the source has one.
    pub(crate) geometry: Option<Role>,
    pub(crate) rejected: Vec<RowIssue>,
    pub(crate) kind: LocationKind,
}

static NULL: Value = Value::Null;

impl Table {
    pub(crate) fn new(kind: LocationKind) -> Self {
        Table { labels: Vec::new(), rows: Vec::new(), geometry: None, rejected: Vec::new(), kind }
    }

    /// Sets the columns of a positional source (XLSX).
    pub(crate) fn with_labels(kind: LocationKind, labels: Vec<String>) -> Self {
        let mut t = Table::new(kind);
        t.labels = labels;
        t
    }

    /// Adds a positional record.
    pub(crate) fn push_cells(&mut self, loc: u64, cells: Vec<Value>) {
        self.rows.push(Row { loc, cells, geometry: Value::Null });
    }
}

/// The error of a file from which no field could be read: its first rejected record, else empty.
fn nothing_read(path: &Path, kind: LocationKind, rejected: &[RowIssue]) -> Error {
    match rejected.first() {
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
        return Err(nothing_read(path, kind, &rejected));
    }
    for row in &rows {
        for (j, c) in cols.iter_mut().enumerate() {
            let v = if j < ncols { row.cells.get(j).unwrap_or(&NULL) } else { &row.geometry };
            c.stats.observe_value(v);
        }
    }
    let plans = plan(&cols, rows.len() as u64, opts)?;
    if plans.is_empty() {
        return Err(nothing_read(path, kind, &rejected));
    }
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

/// One record of a streamed source (JSON, JSONL, GeoJSON).
pub(crate) enum Record {
    /// A record: its members, in order, and its geometry (null when it has none).
    Row { loc: u64, members: Vec<(String, Value)>, geometry: Value },
    /// A record that cannot be read.
    Rejected { loc: u64, field: Option<&'static str>, value: Option<String>, reason: String },
    /// An Opendatasoft record has a geometry: the table gets a geometry column.
    HasGeometry,
}

/// A source read as a stream, twice, in the same order each time: pass 1 infers the schema,
/// pass 2 converts and writes. Only one record is in memory at a time.
pub(crate) trait Source {
    /// Calls `sink` with every record in file order.
    fn scan(&mut self, sink: &mut dyn FnMut(Record) -> Result<(), Error>) -> Result<(), Error>;

    /// Bytes of the file read by the current scan so far (reset by each scan).
    fn bytes_read(&self) -> Rc<Cell<u64>>;
}

/// What pass 1 learnt: columns in order of first appearance, their statistics, the rows and
/// the rejected records.
pub(crate) struct Scanned {
    labels: Vec<String>,
    index: HashMap<String, usize>,
    stats: Vec<ColStats>,
    geometry: Option<Role>,
    geometry_stats: ColStats,
    pub(crate) rows: u64,
    pub(crate) rejected: Vec<RowIssue>,
    kind: LocationKind,
}

/// Pass 1 over a streamed source; `geometry` is the role of a geometry column known in advance
/// (GeoJSON features).
pub(crate) fn scan_schema(
    source: &mut dyn Source,
    kind: LocationKind,
    geometry: Option<Role>,
    progress: &mut dyn FnMut(Progress),
    bytes_total: u64,
) -> Result<Scanned, Error> {
    let mut s = Scanned {
        labels: Vec::new(),
        index: HashMap::new(),
        stats: Vec::new(),
        geometry,
        geometry_stats: ColStats::new(M_ALL, ""),
        rows: 0,
        rejected: Vec::new(),
        kind,
    };
    let bytes = source.bytes_read();
    source.scan(&mut |record| {
        match record {
            Record::Row { members, geometry, .. } => {
                for (k, v) in members {
                    let i = match s.index.get(&k) {
                        Some(&i) => i,
                        None => {
                            let i = s.labels.len();
                            s.stats.push(ColStats::new(M_ALL, &k));
                            s.labels.push(k.clone());
                            s.index.insert(k, i);
                            i
                        }
                    };
                    s.stats[i].observe_value(&v);
                }
                s.geometry_stats.observe_value(&geometry);
                s.rows += 1;
                if s.rows.is_multiple_of(PROGRESS_EVERY) {
                    progress(Progress {
                        bytes_done: bytes.get(),
                        bytes_total: 2 * bytes_total,
                        rows: s.rows,
                    });
                }
            }
            Record::Rejected { loc, field, value, reason } => s.rejected.push(RowIssue {
                line: loc,
                location_kind: kind,
                field: field.map(str::to_owned),
                value,
                reason,
            }),
            Record::HasGeometry => {
                s.geometry.get_or_insert(Role::RecordGeometry);
            }
        }
        Ok(())
    })?;
    progress(Progress { bytes_done: bytes_total, bytes_total: 2 * bytes_total, rows: s.rows });
    Ok(s)
}

/// Pass 2: plans the columns from pass 1 and writes every row.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_scanned(
    scanned: Scanned,
    source: &mut dyn Source,
    path: &Path,
    out_path: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
    format: Format,
    detected: Detected,
    bytes_total: u64,
) -> Result<ImportOutcome, Error> {
    let Scanned { labels, index, stats, geometry, geometry_stats, rows, mut rejected, kind } =
        scanned;
    let ncols = labels.len();
    let mut cols: Vec<SourceCol> = labels
        .into_iter()
        .zip(stats)
        .map(|(label, stats)| SourceCol { label, stats, role: Role::Data })
        .collect();
    if let Some(role) = geometry {
        cols.push(SourceCol { label: "geometry".to_owned(), stats: geometry_stats, role });
    }
    if cols.is_empty() {
        return Err(nothing_read(path, kind, &rejected));
    }
    let plans = plan(&cols, rows, opts)?;
    // Only a geometry column that never had a value (every feature rejected, say): no field.
    if plans.is_empty() {
        return Err(nothing_read(path, kind, &rejected));
    }
    let mut out = Output::create(out_path, &plans, opts.row_group_size)?;
    let mut cells: Vec<Value> = Vec::with_capacity(ncols);
    let mut n = 0u64;
    let mut issues = Vec::new();
    let mut result = Ok(());
    let bytes = source.bytes_read();
    let scanned = source.scan(&mut |record| {
        let Record::Row { loc, members, geometry } = record else { return Ok(()) };
        cells.clear();
        cells.resize(ncols, Value::Null);
        for (k, v) in members {
            // Every key was seen by pass 1; the same file gives the same keys.
            if let Some(&i) = index.get(&k) {
                cells[i] = v;
            }
        }
        let get = |j: usize| if j < ncols { &cells[j] } else { &geometry };
        match out.push_value_row(&plans, get) {
            Ok(Ok(())) => {}
            Ok(Err(mut issue)) => {
                issue.line = loc;
                issue.location_kind = kind;
                issues.push(issue);
            }
            Err(e) => {
                result = Err(e);
                return Err(Error::unreadable(path, "stopped"));
            }
        }
        n += 1;
        if n.is_multiple_of(PROGRESS_EVERY) {
            progress(Progress {
                bytes_done: bytes_total + bytes.get(),
                bytes_total: 2 * bytes_total,
                rows: n,
            });
        }
        Ok(())
    });
    result?;
    scanned?;
    let written = out.rows();
    out.finish()?;
    progress(Progress { bytes_done: 2 * bytes_total, bytes_total: 2 * bytes_total, rows: n });
    rejected.extend(issues);
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
