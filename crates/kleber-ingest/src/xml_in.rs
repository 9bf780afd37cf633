//! KML and GPX documents, read with the georust `kml` and `gpx` crates into one table: a row
//! per placemark (KML) or per waypoint, route and track (GPX), its geometry as GeoJSON.

use std::path::Path;

use crate::infer::Role;
use crate::limits::{MAX_XML_BYTES, MAX_XML_DEPTH, mib};
use crate::typed::{Table, finish};
use crate::values::{M_BOOL, M_DOUBLE, M_INT, Value, classify_str, is_blank, parse_datetime};
use crate::{Detected, Error, Format, ImportOptions, ImportOutcome, LocationKind, Progress};

/// Reads the whole document after checking its size and nesting (the parsers build a tree).
fn read_document(path: &Path, what: &str) -> Result<Vec<u8>, Error> {
    let size = std::fs::metadata(path).map_err(|e| Error::input(path, e))?.len();
    if size > MAX_XML_BYTES {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            reason: format!(
                "the {what} document is {}, more than {}, the XML size limit ({what} is read \
                 whole); split it, or convert it to GeoJSON, which is read as a stream",
                mib(size),
                mib(MAX_XML_BYTES)
            ),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| Error::input(path, e))?;
    check_depth(path, &bytes)?;
    normalise(path, bytes)
}

/// The document with its CDATA sections written as escaped text and its empty
/// `<SimpleField/>` elements written open and closed: the `kml` crate reads the text of
/// extended data (`<SimpleData>`) but not CDATA, which GDAL writes for values with quotes or
/// markup, and sees the fields of a `<Schema>` only when not empty (GDAL's LIBKML driver
/// writes them empty).
fn normalise(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>, Error> {
    use quick_xml::events::{BytesEnd, Event};
    let finder = |needle: &[u8]| memchr::memmem::find(&bytes, needle).is_some();
    if !finder(b"<![CDATA[") && !finder(b"SimpleField") {
        return Ok(bytes);
    }
    let mut reader = quick_xml::Reader::from_reader(bytes.as_slice());
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(bytes.len()));
    let mut buf = Vec::new();
    let bad = |e: &dyn std::fmt::Display| {
        Error::unreadable(path, format!("the XML is not well-formed: {e}; export it again"))
    };
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| bad(&e))?;
        match event {
            Event::Eof => break,
            Event::CData(c) => {
                let text = c.escape().map_err(|e| bad(&e))?;
                writer.write_event(Event::Text(text)).map_err(|e| bad(&e))?;
            }
            Event::Empty(e) if e.local_name().as_ref() == b"SimpleField" => {
                let end = BytesEnd::new(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                writer.write_event(Event::Start(e)).map_err(|e| bad(&e))?;
                writer.write_event(Event::End(end)).map_err(|e| bad(&e))?;
            }
            other => writer.write_event(other).map_err(|e| bad(&e))?,
        }
        buf.clear();
    }
    Ok(writer.into_inner())
}

/// Refuses XML nested deeper than [`MAX_XML_DEPTH`] (the parsers recurse) or not well-formed,
/// saying where.
fn check_depth(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    let mut depth = 0usize;
    loop {
        let at = reader.buffer_position();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(_)) => {
                depth += 1;
                if depth > MAX_XML_DEPTH {
                    return Err(Error::TooLarge {
                        path: path.to_path_buf(),
                        reason: format!(
                            "XML elements nested deeper than {MAX_XML_DEPTH} levels, the XML \
                             nesting limit (at byte {at}); this is not a KML or GPX file as \
                             mapping tools write them"
                        ),
                    });
                }
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Eof) if depth == 0 => return Ok(()),
            Ok(Event::Eof) => {
                return Err(Error::unreadable(
                    path,
                    format!(
                        "the XML ends with {depth} element(s) still open: the file is cut short \
                         (an interrupted download?); download or export it again"
                    ),
                ));
            }
            Ok(_) => {}
            Err(e) => {
                return Err(Error::unreadable(
                    path,
                    format!(
                        "the XML is not well-formed near byte {}: {e}; open it in a text editor \
                         and fix it there, or export it again",
                        reader.error_position()
                    ),
                ));
            }
        }
        buf.clear();
    }
}

/// Runs a third-party parser on untrusted input without letting a panic escape.
fn guarded<T>(path: &Path, what: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, Error> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Error::unreadable(
            path,
            format!("not a valid {what} document: {e}; check it in the program that wrote it"),
        )),
        Err(_) => Err(Error::unreadable(
            path,
            format!("the {what} document is malformed; check it in the program that wrote it"),
        )),
    }
}

/// Columns built row by row: fixed ones first, then others in order of first appearance.
struct Columns {
    labels: Vec<String>,
    rows: Vec<(Vec<Value>, Value)>,
    /// Columns whose text values are typed like CSV values (KML extended data).
    textual: Vec<bool>,
    /// Extended data a KML `Schema` declares as strings: they stay text.
    strings: std::collections::HashSet<String>,
}

impl Columns {
    fn new(fixed: &[&str]) -> Self {
        Columns {
            labels: fixed.iter().map(|s| (*s).to_owned()).collect(),
            rows: Vec::new(),
            textual: vec![false; fixed.len()],
            strings: std::collections::HashSet::new(),
        }
    }

    fn index(&mut self, label: &str, textual: bool) -> usize {
        // Extended data keep their own columns even when named like a fixed one (`name`).
        match (0..self.labels.len())
            .find(|&i| self.labels[i] == label && self.textual[i] == textual)
        {
            Some(i) => i,
            None => {
                self.labels.push(label.to_owned());
                self.textual.push(textual);
                self.labels.len() - 1
            }
        }
    }

    fn push(&mut self, cells: Vec<(usize, Value)>, geometry: Value) {
        let mut row = vec![Value::Null; self.labels.len()];
        for (i, v) in cells {
            row[i] = v;
        }
        self.rows.push((row, geometry));
    }

    /// Types the textual columns whose every value is a boolean, an int or a number (as in
    /// CSV, decimal point only), and hands the table over. Other values stay strings (dates
    /// and points are still recognised in them).
    fn into_table(mut self) -> Table {
        let typed = |j: &usize| self.textual[*j] && !self.strings.contains(&self.labels[*j]);
        for j in (0..self.labels.len()).filter(typed) {
            let mut mask = M_BOOL | M_INT | M_DOUBLE;
            for (row, _) in &self.rows {
                if let Some(Value::Str(s)) = row.get(j)
                    && !is_blank(s)
                {
                    mask &= classify_str(s.trim(), mask, false).0;
                }
            }
            if mask == 0 {
                continue;
            }
            for (row, _) in &mut self.rows {
                if let Some(cell) = row.get_mut(j)
                    && let Value::Str(s) = cell
                {
                    let s = s.trim();
                    *cell = if s.is_empty() {
                        Value::Null
                    } else if mask & M_BOOL != 0 {
                        Value::Bool(s.eq_ignore_ascii_case("true"))
                    } else if mask & M_INT != 0 {
                        s.parse().map_or(Value::Null, Value::Int)
                    } else {
                        crate::values::parse_double(s, false).map_or(Value::Null, Value::Float)
                    };
                }
            }
        }
        // Fixed columns (name, description, comment, time...) that no record fills are left
        // out; the extended data keys the document declares are kept.
        let keep: Vec<bool> = (0..self.labels.len())
            .map(|j| {
                self.textual[j]
                    || self.rows.iter().any(|(r, _)| r.get(j).is_some_and(|v| *v != Value::Null))
            })
            .collect();
        let pick = |v: Vec<Value>| -> Vec<Value> {
            v.into_iter().zip(&keep).filter(|(_, k)| **k).map(|(v, _)| v).collect()
        };
        let labels: Vec<String> =
            self.labels.into_iter().zip(&keep).filter(|(_, k)| **k).map(|(l, _)| l).collect();
        let mut table = Table::with_labels(LocationKind::Item, labels);
        table.geometry = Some(Role::FeatureGeometry);
        for (n, (cells, geometry)) in self.rows.into_iter().enumerate() {
            let mut cells = pick(cells);
            cells.truncate(table.labels.len());
            table.push_cells(n as u64 + 1, cells);
            if let Some(last) = table.rows.last_mut() {
                last.geometry = geometry;
            }
        }
        table
    }
}

fn text(s: Option<&String>) -> Value {
    match s {
        Some(s) if !is_blank(s) => Value::Str(s.trim().to_owned()),
        _ => Value::Null,
    }
}

fn obj(kind: &str, key: &str, value: Value) -> Value {
    Value::Obj(vec![("type".to_owned(), Value::Str(kind.to_owned())), (key.to_owned(), value)])
}

fn position(x: f64, y: f64) -> Value {
    Value::Arr(vec![Value::Float(x), Value::Float(y)])
}

// ---------------------------------------------------------------------------------------------
// KML

fn kml_coords(coords: &[kml::types::Coord<f64>]) -> Value {
    Value::Arr(coords.iter().map(|c| position(c.x, c.y)).collect())
}

fn kml_polygon_rings(p: &kml::types::Polygon<f64>) -> Value {
    let mut rings = vec![kml_coords(&p.outer.coords)];
    rings.extend(p.inner.iter().map(|r| kml_coords(&r.coords)));
    Value::Arr(rings)
}

/// The GeoJSON geometry of a KML geometry (null for a 3D model).
fn kml_geometry(g: &kml::types::Geometry<f64>) -> Value {
    use kml::types::Geometry as G;
    match g {
        G::Point(p) => obj("Point", "coordinates", position(p.coord.x, p.coord.y)),
        G::LineString(l) => obj("LineString", "coordinates", kml_coords(&l.coords)),
        G::LinearRing(r) => obj("LineString", "coordinates", kml_coords(&r.coords)),
        G::Polygon(p) => obj("Polygon", "coordinates", kml_polygon_rings(p)),
        G::MultiGeometry(m) => {
            let parts = &m.geometries;
            let all = |f: fn(&G<f64>) -> bool| !parts.is_empty() && parts.iter().all(f);
            if all(|g| matches!(g, G::Point(_))) {
                let c = parts.iter().filter_map(|g| match g {
                    G::Point(p) => Some(position(p.coord.x, p.coord.y)),
                    _ => None,
                });
                obj("MultiPoint", "coordinates", Value::Arr(c.collect()))
            } else if all(|g| matches!(g, G::LineString(_))) {
                let c = parts.iter().filter_map(|g| match g {
                    G::LineString(l) => Some(kml_coords(&l.coords)),
                    _ => None,
                });
                obj("MultiLineString", "coordinates", Value::Arr(c.collect()))
            } else if all(|g| matches!(g, G::Polygon(_))) {
                let c = parts.iter().filter_map(|g| match g {
                    G::Polygon(p) => Some(kml_polygon_rings(p)),
                    _ => None,
                });
                obj("MultiPolygon", "coordinates", Value::Arr(c.collect()))
            } else {
                let members: Vec<Value> =
                    parts.iter().map(kml_geometry).filter(|v| *v != Value::Null).collect();
                if members.is_empty() {
                    Value::Null
                } else {
                    obj("GeometryCollection", "geometries", Value::Arr(members))
                }
            }
        }
        _ => Value::Null,
    }
}

/// The text content of an element's child named `name`.
fn child_text<'a>(e: &'a kml::types::Element, name: &str) -> Option<&'a String> {
    e.children.iter().find(|c| c.name == name).and_then(|c| c.content.as_ref())
}

/// Extended data (`Data`/`value`, `SchemaData`/`SimpleData`, or plain elements) and time
/// stamps of a placemark, as (label, text) pairs.
fn kml_extra(p: &kml::types::Placemark<f64>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for c in &p.children {
        match c.name.as_str() {
            "ExtendedData" => {
                for d in &c.children {
                    match d.name.as_str() {
                        "Data" => {
                            if let Some(name) = d.attrs.get("name") {
                                let v = child_text(d, "value").or(d.content.as_ref());
                                out.push((name.clone(), v.cloned().unwrap_or_default()));
                            }
                        }
                        "SchemaData" => {
                            for s in d.children.iter().filter(|s| s.name == "SimpleData") {
                                if let Some(name) = s.attrs.get("name") {
                                    let v = s.content.clone().unwrap_or_default();
                                    out.push((name.clone(), v));
                                }
                            }
                        }
                        other => {
                            out.push((other.to_owned(), d.content.clone().unwrap_or_default()));
                        }
                    }
                }
            }
            "TimeStamp" => {
                if let Some(when) = child_text(c, "when") {
                    out.push(("timestamp".to_owned(), when.clone()));
                }
            }
            "TimeSpan" => {
                for part in ["begin", "end"] {
                    if let Some(t) = child_text(c, part) {
                        out.push((part.to_owned(), t.clone()));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn walk_kml(k: &kml::Kml<f64>, folder: Option<&str>, cols: &mut Columns) {
    use kml::Kml as K;
    match k {
        K::KmlDocument(d) => d.elements.iter().for_each(|e| walk_kml(e, folder, cols)),
        K::Document { elements, .. } => elements.iter().for_each(|e| walk_kml(e, folder, cols)),
        K::Folder(f) => {
            let name = f.name.as_deref().filter(|n| !is_blank(n)).or(folder);
            f.elements.iter().for_each(|e| walk_kml(e, name, cols));
        }
        K::Placemark(p) => {
            let mut cells = vec![(0, text(p.name.as_ref())), (1, text(p.description.as_ref()))];
            if let Some(f) = folder {
                let i = cols.index("folder", false);
                cells.push((i, Value::Str(f.trim().to_owned())));
            }
            for (label, v) in kml_extra(p) {
                let i = cols.index(&label, true);
                cells.push((i, if is_blank(&v) { Value::Null } else { Value::Str(v) }));
            }
            let geometry = p.geometry.as_ref().map_or(Value::Null, kml_geometry);
            cols.push(cells, geometry);
        }
        K::Element(e) if e.name == "Schema" => {
            // `<SimpleField name="code" type="string">`: a declared string stays text.
            for f in e.children.iter().filter(|f| f.name == "SimpleField") {
                if let (Some(name), Some("string")) =
                    (f.attrs.get("name"), f.attrs.get("type").map(String::as_str))
                {
                    cols.strings.insert(name.clone());
                }
            }
        }
        _ => {}
    }
}

/// Imports a KML document: one row per placemark (in folders too), with its name, description,
/// folder, time stamp and extended data as fields and its geometry.
pub(crate) fn import_kml(
    path: &Path,
    out_path: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportOutcome, Error> {
    let bytes = read_document(path, "KML")?;
    let total = bytes.len() as u64;
    let doc = guarded(path, "KML", || {
        let mut reader = kml::KmlReader::<&[u8], f64>::from_reader(bytes.as_slice());
        reader.read().map_err(|e| e.to_string())
    })?;
    let mut cols = Columns::new(&["name", "description"]);
    walk_kml(&doc, None, &mut cols);
    // The tree and the text weigh more than the rows: free them before the conversion.
    drop(doc);
    drop(bytes);
    if cols.rows.is_empty() {
        return Err(Error::unreadable(
            path,
            "the KML document holds no placemark; only placemarks (points, lines, polygons) \
             are imported",
        ));
    }
    let table = cols.into_table();
    finish(table, path, out_path, opts, progress, Format::Kml, Detected::default(), total)
}

// ---------------------------------------------------------------------------------------------
// GPX

fn gpx_position(w: &gpx::Waypoint) -> Value {
    let p = w.point();
    position(p.x(), p.y())
}

fn gpx_time(t: Option<&gpx::Time>) -> Value {
    match t.map(gpx::Time::format) {
        Some(Ok(s)) => parse_datetime(&s).map_or(Value::Str(s), Value::Ts),
        _ => Value::Null,
    }
}

/// Imports a GPX document: one row per waypoint, route and track, in that order, with the
/// kind, name, description, comment, type, elevation and time (waypoints) as fields; routes
/// are lines and tracks multi-lines (one per segment).
pub(crate) fn import_gpx(
    path: &Path,
    out_path: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportOutcome, Error> {
    let bytes = read_document(path, "GPX")?;
    let total = bytes.len() as u64;
    let doc = guarded(path, "GPX", || gpx::read(bytes.as_slice()).map_err(|e| e.to_string()))?;
    let mut cols =
        Columns::new(&["kind", "name", "description", "comment", "type", "elevation", "time"]);
    let kind = |k: &str| (0, Value::Str(k.to_owned()));
    for w in &doc.waypoints {
        let cells = vec![
            kind("waypoint"),
            (1, text(w.name.as_ref())),
            (2, text(w.description.as_ref())),
            (3, text(w.comment.as_ref())),
            (4, text(w.type_.as_ref())),
            (5, w.elevation.map_or(Value::Null, Value::Float)),
            (6, gpx_time(w.time.as_ref())),
        ];
        cols.push(cells, obj("Point", "coordinates", gpx_position(w)));
    }
    for r in &doc.routes {
        let cells = vec![
            kind("route"),
            (1, text(r.name.as_ref())),
            (2, text(r.description.as_ref())),
            (3, text(r.comment.as_ref())),
            (4, text(r.type_.as_ref())),
        ];
        let line = Value::Arr(r.points.iter().map(gpx_position).collect());
        let geometry =
            if r.points.len() >= 2 { obj("LineString", "coordinates", line) } else { Value::Null };
        cols.push(cells, geometry);
    }
    for t in &doc.tracks {
        let cells = vec![
            kind("track"),
            (1, text(t.name.as_ref())),
            (2, text(t.description.as_ref())),
            (3, text(t.comment.as_ref())),
            (4, text(t.type_.as_ref())),
        ];
        let lines: Vec<Value> = t
            .segments
            .iter()
            .filter(|s| s.points.len() >= 2)
            .map(|s| Value::Arr(s.points.iter().map(gpx_position).collect()))
            .collect();
        let geometry = if lines.is_empty() {
            Value::Null
        } else {
            obj("MultiLineString", "coordinates", Value::Arr(lines))
        };
        cols.push(cells, geometry);
    }
    drop(doc);
    drop(bytes);
    if cols.rows.is_empty() {
        return Err(Error::unreadable(path, "the GPX document holds no waypoint, route or track"));
    }
    let table = cols.into_table();
    finish(table, path, out_path, opts, progress, Format::Gpx, Detected::default(), total)
}
