//! ESRI shapefiles, read with the georust `shapefile` and `dbase` crates: a row per record,
//! the `.dbf` attributes as fields and the `.shp` geometry reprojected to WGS 84 from the
//! `.prj`.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use shapefile::record::multipoint::GenericMultipoint;
use shapefile::record::polygon::GenericPolygon;
use shapefile::record::polyline::GenericPolyline;
use shapefile::{Point, PointM, PointZ, PolygonRing, Shape};

use crate::infer::Role;
use crate::limits::MAX_PRJ_BYTES;
use crate::reproject::ToWgs84;
use crate::typed::{Record, Source, scan_schema, write_scanned};
use crate::values::{Value, days_from_civil};
use crate::{Detected, Error, Format, ImportOptions, ImportOutcome, LocationKind, Progress};

/// A companion file of `shp` (`.dbf`, `.prj`...), in lower or upper case.
fn sibling(shp: &Path, ext: &str) -> Option<PathBuf> {
    [ext.to_ascii_lowercase(), ext.to_ascii_uppercase()]
        .into_iter()
        .map(|e| shp.with_extension(e))
        .find(|p| p.is_file())
}

/// A position of any dimension.
trait Xy {
    fn xy(&self) -> (f64, f64);
}

impl Xy for Point {
    fn xy(&self) -> (f64, f64) {
        (self.x, self.y)
    }
}

impl Xy for PointM {
    fn xy(&self) -> (f64, f64) {
        (self.x, self.y)
    }
}

impl Xy for PointZ {
    fn xy(&self) -> (f64, f64) {
        (self.x, self.y)
    }
}

fn obj(kind: &str, coordinates: Value) -> Value {
    Value::Obj(vec![
        ("type".to_owned(), Value::Str(kind.to_owned())),
        ("coordinates".to_owned(), coordinates),
    ])
}

fn position<P: Xy>(p: &P) -> Value {
    let (x, y) = p.xy();
    Value::Arr(vec![Value::Float(x), Value::Float(y)])
}

fn line<P: Xy>(points: &[P]) -> Value {
    Value::Arr(points.iter().map(position).collect())
}

fn point<P: Xy>(p: &P) -> Value {
    obj("Point", position(p))
}

fn multipoint<P: Xy>(m: &GenericMultipoint<P>) -> Value {
    obj("MultiPoint", line(m.points()))
}

fn polyline<P: Xy>(l: &GenericPolyline<P>) -> Value {
    match l.parts().as_slice() {
        [one] => obj("LineString", line(one)),
        parts => obj("MultiLineString", Value::Arr(parts.iter().map(|p| line(p)).collect())),
    }
}

/// A polygon's rings as GeoJSON: each outer ring (clockwise in a shapefile) starts a polygon
/// and the holes after it belong to it; rings are turned to GeoJSON's orientation (outer
/// rings counterclockwise, holes clockwise).
fn polygon<P: Xy + Clone>(p: &GenericPolygon<P>) -> Value {
    let mut polygons: Vec<Vec<Value>> = Vec::new();
    fn reversed<P: Xy + Clone>(points: &[P]) -> Value {
        let mut pts = points.to_vec();
        pts.reverse();
        line(&pts)
    }
    for ring in p.rings() {
        match ring {
            PolygonRing::Outer(points) => polygons.push(vec![reversed(points)]),
            PolygonRing::Inner(points) => match polygons.last_mut() {
                Some(last) => last.push(reversed(points)),
                // A hole before any outer ring: taken as a polygon of its own.
                None => polygons.push(vec![line(points)]),
            },
        }
    }
    match polygons.len() {
        1 => obj("Polygon", Value::Arr(polygons.remove(0))),
        _ => obj("MultiPolygon", Value::Arr(polygons.into_iter().map(Value::Arr).collect())),
    }
}

/// The GeoJSON geometry of a shape, in its own coordinate system.
fn geometry(shape: &Shape) -> Result<Value, String> {
    Ok(match shape {
        Shape::NullShape => Value::Null,
        Shape::Point(p) => point(p),
        Shape::PointM(p) => point(p),
        Shape::PointZ(p) => point(p),
        Shape::Polyline(l) => polyline(l),
        Shape::PolylineM(l) => polyline(l),
        Shape::PolylineZ(l) => polyline(l),
        Shape::Polygon(p) => polygon(p),
        Shape::PolygonM(p) => polygon(p),
        Shape::PolygonZ(p) => polygon(p),
        Shape::Multipoint(m) => multipoint(m),
        Shape::MultipointM(m) => multipoint(m),
        Shape::MultipointZ(m) => multipoint(m),
        Shape::Multipatch(_) => {
            return Err("a multipatch (3D surface) geometry, which is not imported".to_owned());
        }
    })
}

/// Field names, kinds and decimal counts from the `.dbf` header (the `dbase` crate does not
/// give the decimal count, which tells an integer column from a decimal one), and the
/// language driver byte.
fn dbf_header(path: &Path) -> Result<(u8, Vec<(String, u8)>), Error> {
    let mut head = Vec::new();
    File::open(path)
        .map_err(|e| Error::input(path, e))?
        .take(32 + 32 * 2048)
        .read_to_end(&mut head)
        .map_err(|e| Error::input(path, e))?;
    let cut =
        || Error::unreadable(path, "the .dbf file is cut short in its header; export it again");
    let ldid = *head.get(29).ok_or_else(cut)?;
    let mut fields = Vec::new();
    let mut at = 32;
    while head.get(at).is_some_and(|&b| b != 0x0D) {
        let d = head.get(at..at + 32).ok_or_else(cut)?;
        let name_end = d[..11].iter().position(|&b| b == 0).unwrap_or(11);
        fields.push((String::from_utf8_lossy(&d[..name_end]).into_owned(), d[17]));
        at += 32;
    }
    Ok((ldid, fields))
}

/// The encoding of the `.dbf` texts: the `.cpg`, else the language driver byte, else UTF-8
/// when every byte of the file is valid UTF-8, else Windows-1252 (Latin-1).
fn dbf_encoding(
    dbf: &Path,
    cpg: Option<&Path>,
    ldid: u8,
) -> Result<&'static encoding_rs::Encoding, Error> {
    if let Some(cpg) = cpg {
        let mut label = String::new();
        File::open(cpg)
            .map_err(|e| Error::input(cpg, e))?
            .take(256)
            .read_to_string(&mut label)
            .map_err(|e| Error::input(cpg, e))?;
        let label = label.trim();
        let digits: String = label.chars().filter(char::is_ascii_digit).collect();
        let by_number = match digits.as_str() {
            "" => None,
            "65001" => Some(encoding_rs::UTF_8),
            "88591" | "885915" => Some(encoding_rs::WINDOWS_1252),
            n if n.starts_with("8859") => {
                encoding_rs::Encoding::for_label(format!("iso-8859-{}", &n[4..]).as_bytes())
            }
            n => encoding_rs::Encoding::for_label(format!("windows-{n}").as_bytes())
                .or_else(|| encoding_rs::Encoding::for_label(format!("ibm{n}").as_bytes())),
        };
        return encoding_rs::Encoding::for_label(label.as_bytes()).or(by_number).ok_or_else(|| {
            Error::unreadable(
                cpg,
                format!(
                    "the .cpg names the encoding `{label}`, which is not known; write UTF-8 or \
                     the Windows code page (1252) in it"
                ),
            )
        });
    }
    let by_driver = match ldid {
        0x01..=0x03 | 0x57..=0x59 | 0x0B..=0x0E | 0x12 => Some(encoding_rs::WINDOWS_1252),
        0xC8 => Some(encoding_rs::WINDOWS_1250),
        0xC9 => Some(encoding_rs::WINDOWS_1251),
        0xCA => Some(encoding_rs::WINDOWS_1254),
        0xCB => Some(encoding_rs::WINDOWS_1253),
        0x7D => Some(encoding_rs::WINDOWS_1255),
        0x7E => Some(encoding_rs::WINDOWS_1256),
        0x26 | 0x65 => Some(encoding_rs::IBM866),
        _ => None,
    };
    // GDAL marks files it writes in UTF-8 with 0x57 and a .cpg; without a .cpg, bytes that
    // are valid UTF-8 with some non-ASCII are UTF-8 whatever the byte says.
    if is_utf8(dbf)? {
        return Ok(encoding_rs::UTF_8);
    }
    Ok(by_driver.unwrap_or(encoding_rs::WINDOWS_1252))
}

/// Whether the whole file is valid UTF-8, read as a stream.
fn is_utf8(path: &Path) -> Result<bool, Error> {
    let mut reader = BufReader::new(File::open(path).map_err(|e| Error::input(path, e))?);
    let mut decoder = encoding_rs::UTF_8.new_decoder_without_bom_handling();
    let mut buf = vec![0u8; 1 << 16];
    let mut text = String::with_capacity(1 << 17);
    loop {
        let n = reader.read(&mut buf).map_err(|e| Error::input(path, e))?;
        text.clear();
        let (result, _) =
            decoder.decode_to_string_without_replacement(&buf[..n], &mut text, n == 0);
        if let encoding_rs::DecoderResult::Malformed(..) = result {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// A `.dbf` value.
fn cell(v: Option<&dbase::FieldValue>, decimals: u8) -> Value {
    use dbase::FieldValue as F;
    let float = |f: f64| {
        if decimals == 0 && f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
            Value::Int(f as i64)
        } else {
            Value::Float(f)
        }
    };
    match v {
        None => Value::Null,
        Some(F::Character(Some(s)) | F::Memo(s)) => {
            let s = s.trim_end_matches([' ', '\0']);
            if s.trim().is_empty() { Value::Null } else { Value::Str(s.to_owned()) }
        }
        Some(F::Numeric(Some(f))) => float(*f),
        Some(F::Float(Some(f))) => Value::Float(f64::from(*f)),
        Some(F::Logical(Some(b))) => Value::Bool(*b),
        Some(F::Date(Some(d))) => days_from_civil(i64::from(d.year()), d.month(), d.day())
            .map_or(Value::Null, Value::Date),
        Some(F::Integer(i)) => Value::Int(i64::from(*i)),
        Some(F::Currency(f) | F::Double(f)) => Value::Float(*f),
        Some(F::DateTime(dt)) => {
            let (d, t) = (dt.date(), dt.time());
            match days_from_civil(i64::from(d.year()), d.month(), d.day()) {
                Some(days) => Value::Ts(
                    (i64::from(days) * 86_400
                        + i64::from(t.hours()) * 3600
                        + i64::from(t.minutes()) * 60
                        + i64::from(t.seconds()))
                        * 1_000_000,
                ),
                None => Value::Null,
            }
        }
        Some(_) => Value::Null,
    }
}

/// Imports a shapefile given by its `.shp`; the `.dbf` beside it is required, the `.shx`,
/// `.prj` and `.cpg` are read when present. Without a `.prj`, coordinates within longitude
/// and latitude ranges are taken as WGS 84; others are refused.
pub(crate) fn import(
    path: &Path,
    out_path: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportOutcome, Error> {
    let dbf = sibling(path, "dbf").ok_or_else(|| {
        Error::unreadable(
            path,
            "this is a shapefile's .shp without its .dbf beside it (the .dbf holds the \
             attributes); upload a zip holding the .shp, .shx, .dbf and .prj files together",
        )
    })?;
    let total = std::fs::metadata(path).map_err(|e| Error::input(path, e))?.len()
        + std::fs::metadata(&dbf).map_err(|e| Error::input(&dbf, e))?.len();
    let transform = match sibling(path, "prj") {
        Some(prj) => {
            let mut wkt = String::new();
            File::open(&prj)
                .map_err(|e| Error::input(&prj, e))?
                .take(MAX_PRJ_BYTES)
                .read_to_string(&mut wkt)
                .map_err(|e| {
                    Error::unreadable(&prj, format!("the .prj is not text ({e}); export it again"))
                })?;
            Some(ToWgs84::from_wkt(&wkt).map_err(|e| {
                Error::unreadable(
                    &prj,
                    format!(
                        "{e}; reproject the shapefile to WGS 84 (EPSG:4326) or Lambert 93 \
                         (EPSG:2154) and export it again"
                    ),
                )
            })?)
        }
        None => None,
    };
    let (ldid, header_fields) = dbf_header(&dbf)?;
    let encoding = dbf_encoding(&dbf, sibling(path, "cpg").as_deref(), ldid)?;
    let mut source = ShpSource {
        shp: path,
        dbf: &dbf,
        shx: sibling(path, "shx"),
        encoding,
        header_fields,
        transform: transform.as_ref(),
        bytes: Rc::new(Cell::new(0)),
        total,
    };
    let guarded = |f: &mut dyn FnMut() -> Result<ImportOutcome, Error>| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|_| {
            Error::unreadable(
                path,
                "the shapefile is malformed; export it again from the program that wrote it",
            )
        })?
    };
    let detected = Detected { encoding: Some(encoding.name().to_owned()), ..Detected::default() };
    guarded(&mut || {
        let scanned = scan_schema(
            &mut source,
            LocationKind::Item,
            Some(Role::FeatureGeometry),
            progress,
            total,
        )?;
        write_scanned(
            scanned,
            &mut source,
            path,
            out_path,
            opts,
            progress,
            Format::Shapefile,
            detected.clone(),
            total,
        )
    })
}

/// A shapefile read as a stream of records, once per pass.
struct ShpSource<'a> {
    shp: &'a Path,
    dbf: &'a Path,
    shx: Option<PathBuf>,
    encoding: &'static encoding_rs::Encoding,
    /// Field names and decimal counts from the `.dbf` header.
    header_fields: Vec<(String, u8)>,
    transform: Option<&'a ToWgs84>,
    bytes: Rc<Cell<u64>>,
    total: u64,
}

impl Source for ShpSource<'_> {
    fn bytes_read(&self) -> Rc<Cell<u64>> {
        self.bytes.clone()
    }

    fn scan(&mut self, sink: &mut dyn FnMut(Record) -> Result<(), Error>) -> Result<(), Error> {
        let path = self.shp;
        self.bytes.set(0);
        let bad = |what: &Path, e: &dyn std::fmt::Display| {
            Error::unreadable(
                what,
                format!("{e}; the file is damaged or cut short, export it again"),
            )
        };
        let shp = BufReader::new(File::open(path).map_err(|e| Error::input(path, e))?);
        let shapes = match &self.shx {
            Some(shx) => {
                let shx_file = BufReader::new(File::open(shx).map_err(|e| Error::input(shx, e))?);
                shapefile::ShapeReader::with_shx(shp, shx_file).map_err(|e| bad(shx, &e))?
            }
            None => shapefile::ShapeReader::new(shp).map_err(|e| bad(path, &e))?,
        };
        let bbox = shapes.header().bbox;
        if self.transform.is_none()
            && (bbox.min.x < -180.0
                || bbox.max.x > 180.0
                || bbox.min.y < -90.0
                || bbox.max.y > 90.0)
        {
            return Err(Error::unreadable(
                path,
                format!(
                    "the shapefile has no .prj (its coordinate system) and its coordinates ({} \
                     {} to {} {}) are not longitudes and latitudes; add the .prj to the zip",
                    bbox.min.x, bbox.min.y, bbox.max.x, bbox.max.y
                ),
            ));
        }
        let dbf = self.dbf;
        let dbf_file = BufReader::new(File::open(dbf).map_err(|e| Error::input(dbf, e))?);
        let records = dbase::ReaderBuilder::new()
            .with_encoding(dbase::encoding::EncodingRs::from(self.encoding))
            .build(dbf_file)
            .map_err(|e| bad(dbf, &e))?;
        let count = u64::from(records.header().num_records).max(1);
        let fields: Vec<(String, u8)> = records
            .fields()
            .iter()
            .filter(|f| f.name() != "DeletionFlag")
            .map(|f| {
                let decimals = self
                    .header_fields
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(f.name()))
                    .map_or(0, |(_, d)| *d);
                (f.name().to_owned(), decimals)
            })
            .collect();
        let mut reader = shapefile::Reader::new(shapes, records);
        for (n, item) in reader.iter_shapes_and_records().enumerate() {
            let loc = n as u64 + 1;
            self.bytes.set(self.total.saturating_mul(loc.min(count)) / count);
            let (shape, record) = item.map_err(|e| {
                Error::unreadable(
                    path,
                    format!(
                        "record {loc} cannot be read ({e}): the .shp and .dbf are damaged, cut \
                         short or do not match; export the shapefile again"
                    ),
                )
            })?;
            let members: Vec<(String, Value)> = fields
                .iter()
                .map(|(name, decimals)| (name.clone(), cell(record.get(name), *decimals)))
                .collect();
            let reprojected = geometry(&shape).and_then(|mut g| match self.transform {
                Some(t) => t.geometry(&mut g).map(|()| g),
                None => Ok(g),
            });
            match reprojected {
                Ok(geometry) => sink(Record::Row { loc, members, geometry })?,
                Err(reason) => {
                    sink(Record::Rejected { loc, field: Some("geometry"), value: None, reason })?
                }
            }
        }
        Ok(())
    }
}
