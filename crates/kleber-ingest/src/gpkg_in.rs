//! GeoPackage files (an SQLite database, OGC 12-128): one feature or attribute table read with
//! `rusqlite`, its geometries (GeoPackage binary: a header then WKB) decoded with `geozero`
//! and reprojected to WGS 84 from the table's spatial reference system.

use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;

use geozero::ToJson;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use crate::infer::Role;
use crate::reproject::ToWgs84;
use crate::typed::{Record, Source, scan_schema, write_scanned};
use crate::values::Value;
use crate::{Detected, Error, Format, ImportOptions, ImportOutcome, LocationKind, Progress};

/// Opens the database read-only and immutable: nothing is written beside it (no journal).
fn open(path: &Path) -> Result<Connection, Error> {
    // A URI, with every byte other than unreserved ones percent-encoded.
    let mut uri = String::from("file:");
    for b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(b) {
            uri.push(char::from(*b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?mode=ro&immutable=1");
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(&uri, flags).map_err(|e| corrupt(path, &e))
}

fn corrupt(path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::unreadable(
        path,
        format!("the GeoPackage cannot be read ({e}): it is damaged or cut short; export it again"),
    )
}

/// The WGS 84 reprojection of a spatial reference system, `None` when it already is WGS 84
/// (or undefined, as GeoPackage's srs 0 and -1).
fn transform_of(path: &Path, conn: &Connection, srs_id: i64) -> Result<Option<ToWgs84>, Error> {
    if matches!(srs_id, 0 | -1 | 4326) {
        return Ok(None);
    }
    let row: Option<(String, i64, String)> = conn
        .query_row(
            "SELECT organization, organization_coordsys_id, definition \
             FROM gpkg_spatial_ref_sys WHERE srs_id = ?1",
            [srs_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(corrupt(path, &e)),
        })?;
    let Some((org, code, wkt)) = row else {
        return Err(Error::unreadable(
            path,
            format!(
                "the layer's spatial reference system {srs_id} is not in \
                 gpkg_spatial_ref_sys; export the GeoPackage again"
            ),
        ));
    };
    if org.eq_ignore_ascii_case("EPSG") && code == 4326 {
        return Ok(None);
    }
    ToWgs84::from_wkt(&wkt).map(Some).map_err(|e| {
        Error::unreadable(
            path,
            format!(
                "spatial reference system {org}:{code}: {e}; export the layer in WGS 84 (EPSG:4326)"
            ),
        )
    })
}

/// A GeoPackage geometry blob as GeoJSON (null for an empty geometry).
fn geometry(blob: &[u8]) -> Result<Value, String> {
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return Err("not a GeoPackage geometry (no `GP` header)".to_owned());
    }
    // Flags: bit 4 is the empty geometry flag.
    if blob[3] & 0x10 != 0 {
        return Ok(Value::Null);
    }
    let json = geozero::wkb::GpkgWkb(blob)
        .to_json()
        .map_err(|e| format!("the geometry cannot be decoded: {e}"))?;
    serde_json::from_str(&json).map_err(|e| format!("the geometry cannot be decoded: {e}"))
}

/// Imports the one feature or attribute table of a GeoPackage (or the one named by
/// [`ImportOptions::sheet`]): its columns as fields, except the integer primary key (the
/// feature id), and its geometry column as a geometry in WGS 84.
pub(crate) fn import(
    path: &Path,
    out_path: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportOutcome, Error> {
    let total = std::fs::metadata(path).map_err(|e| Error::input(path, e))?.len();
    let conn = open(path)?;
    let listed = conn
        .prepare(
            "SELECT table_name, coalesce(srs_id, -1) FROM gpkg_contents \
             WHERE data_type IN ('features', 'attributes') ORDER BY table_name",
        )
        .and_then(|mut st| {
            st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
                .collect::<Result<Vec<_>, _>>()
        });
    let layers: Vec<(String, i64)> = match listed {
        Ok(l) => l,
        Err(rusqlite::Error::SqliteFailure(_, Some(msg))) if msg.contains("no such table") => {
            return Err(Error::unreadable(
                path,
                "this is an SQLite database but not a GeoPackage (it has no gpkg_contents \
                 table); export the data as GeoPackage, CSV or GeoJSON",
            ));
        }
        Err(e) => return Err(corrupt(path, &e)),
    };
    let names = || layers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
    let (table_name, srs_id) = match (&opts.sheet, layers.as_slice()) {
        (Some(want), _) => layers.iter().find(|(n, _)| n == want).cloned().ok_or_else(|| {
            Error::unreadable(
                path,
                format!("no layer named \"{want}\"; the layers are: {}", names()),
            )
        })?,
        (None, [one]) => one.clone(),
        (None, []) => {
            return Err(Error::unreadable(
                path,
                "the GeoPackage holds no feature or attribute table (tiles only?); export the \
                 data as a feature layer",
            ));
        }
        (None, _) => {
            return Err(Error::unreadable(
                path,
                format!(
                    "the GeoPackage holds {} layers ({}); name the one to import (the sheet or \
                     layer option), or export one layer per file",
                    layers.len(),
                    names()
                ),
            ));
        }
    };
    let geometry_column: Option<String> = conn
        .query_row(
            "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?1",
            [&table_name],
            |r| r.get(0),
        )
        .ok();
    let transform =
        if geometry_column.is_some() { transform_of(path, &conn, srs_id)? } else { None };
    let quoted = format!("\"{}\"", table_name.replace('"', "\"\""));
    // Column name, declared type, primary key.
    let columns: Vec<(String, String, bool)> = conn
        .prepare(&format!("PRAGMA table_info({quoted})"))
        .and_then(|mut st| {
            st.query_map([], |r| Ok((r.get(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(5)? > 0)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| corrupt(path, &e))?;
    let is_fid = |(_, ty, pk): &(String, String, bool)| *pk && ty.eq_ignore_ascii_case("INTEGER");
    let data: Vec<&(String, String, bool)> =
        columns.iter().filter(|c| !is_fid(c) && Some(&c.0) != geometry_column.as_ref()).collect();
    let mut select: Vec<String> =
        data.iter().map(|(n, _, _)| format!("\"{}\"", n.replace('"', "\"\""))).collect();
    if let Some(g) = &geometry_column {
        select.push(format!("\"{}\"", g.replace('"', "\"\"")));
    }
    if select.is_empty() {
        return Err(Error::Empty { path: path.to_path_buf() });
    }
    let rows_total: i64 = conn
        .query_row(&format!("SELECT count(*) FROM {quoted}"), [], |r| r.get(0))
        .map_err(|e| corrupt(path, &e))?;
    let mut source = GpkgSource {
        path,
        conn: &conn,
        sql: format!("SELECT {} FROM {quoted}", select.join(", ")),
        columns: data
            .iter()
            .map(|(n, ty, _)| (n.clone(), ty.eq_ignore_ascii_case("BOOLEAN")))
            .collect(),
        geometry: geometry_column.is_some(),
        transform: transform.as_ref(),
        bytes: Rc::new(Cell::new(0)),
        total,
        rows_total: u64::try_from(rows_total).unwrap_or(0).max(1),
    };
    let role = geometry_column.is_some().then_some(Role::FeatureGeometry);
    let scanned = scan_schema(&mut source, LocationKind::Item, role, progress, total)?;
    write_scanned(
        scanned,
        &mut source,
        path,
        out_path,
        opts,
        progress,
        Format::GeoPackage,
        Detected::default(),
        total,
    )
}

/// A GeoPackage table read as a stream of rows, once per pass.
struct GpkgSource<'a> {
    path: &'a Path,
    conn: &'a Connection,
    sql: String,
    /// Data columns: name, and whether declared BOOLEAN (stored as 0 and 1).
    columns: Vec<(String, bool)>,
    /// Whether the last selected column is the geometry.
    geometry: bool,
    transform: Option<&'a ToWgs84>,
    bytes: Rc<Cell<u64>>,
    total: u64,
    rows_total: u64,
}

impl Source for GpkgSource<'_> {
    fn bytes_read(&self) -> Rc<Cell<u64>> {
        self.bytes.clone()
    }

    fn scan(&mut self, sink: &mut dyn FnMut(Record) -> Result<(), Error>) -> Result<(), Error> {
        let path = self.path;
        self.bytes.set(0);
        let mut st = self.conn.prepare(&self.sql).map_err(|e| corrupt(path, &e))?;
        let mut rows = st.query([]).map_err(|e| corrupt(path, &e))?;
        let mut loc = 0u64;
        while let Some(row) = rows.next().map_err(|e| corrupt(path, &e))? {
            loc += 1;
            self.bytes.set(self.total.saturating_mul(loc.min(self.rows_total)) / self.rows_total);
            let mut members = Vec::with_capacity(self.columns.len());
            for (j, (name, boolean)) in self.columns.iter().enumerate() {
                let v = row.get_ref(j).map_err(|e| corrupt(path, &e))?;
                members.push((
                    name.clone(),
                    match v {
                        ValueRef::Null => Value::Null,
                        ValueRef::Integer(i) if *boolean => Value::Bool(i != 0),
                        ValueRef::Integer(i) => Value::Int(i),
                        ValueRef::Real(f) => Value::Float(f),
                        ValueRef::Text(t) => Value::Str(String::from_utf8_lossy(t).into_owned()),
                        ValueRef::Blob(b) => {
                            Value::Str(b.iter().map(|x| format!("{x:02x}")).collect())
                        }
                    },
                ));
            }
            let mut geo = Value::Null;
            if self.geometry {
                let decoded =
                    match row.get_ref(self.columns.len()).map_err(|e| corrupt(path, &e))? {
                        ValueRef::Null => Ok(Value::Null),
                        ValueRef::Blob(b) => geometry(b),
                        _ => Err("the geometry is not a blob".to_owned()),
                    };
                let reprojected = decoded.and_then(|mut g| match self.transform {
                    Some(t) => t.geometry(&mut g).map(|()| g),
                    None => Ok(g),
                });
                match reprojected {
                    Ok(g) => geo = g,
                    Err(reason) => {
                        sink(Record::Rejected {
                            loc,
                            field: Some("geometry"),
                            value: None,
                            reason,
                        })?;
                        continue;
                    }
                }
            }
            sink(Record::Row { loc, members, geometry: geo })?;
        }
        Ok(())
    }
}
