//! The input formats written by other programs at test time: GDAL's `ogr2ogr` writes
//! Shapefile (in WGS 84 and in Lambert 93), KMZ, GPX and GeoPackage from the real GeoJSON
//! files; pyarrow writes Parquet and GeoParquet; odfpy writes OpenDocument spreadsheets.
//! Each import is compared, record by record, with the import of the source file. Then
//! hostile archives and files that are not what they claim.

use std::path::{Path, PathBuf};
use std::process::Command;

use kleber_ingest::{Error, Format, ImportOptions};
use kleber_types::FieldType;

use crate::util::{Imported, import, real, try_import};

/// The Python of the shared test venv (pyarrow, odfpy), installed by
/// scripts/install-test-deps.sh.
fn python() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/.venv/bin/python")
}

/// Runs a command, failing the test with its error output when it fails.
fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (scripts/install-test-deps.sh installs it)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `ogr2ogr -f DRIVER OUT SRC EXTRA...`.
fn ogr(driver: &str, out: &Path, src: &Path, extra: &[&str]) {
    run(Command::new("ogr2ogr").args(["-f", driver]).arg(out).arg(src).args(extra));
}

/// Zips `members` (name in the archive, file) into `zip` with Python's zipfile.
fn zip(zip: &Path, members: &[(&str, &Path)]) {
    let mut cmd = Command::new("python3");
    cmd.args([
        "-c",
        "import sys, zipfile\n\
         z = zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED)\n\
         for i in range(2, len(sys.argv), 2): z.write(sys.argv[i + 1], sys.argv[i])\n\
         z.close()",
    ]);
    cmd.arg(zip);
    for (name, file) in members {
        cmd.arg(name).arg(file);
    }
    run(&mut cmd);
}

/// The coordinates of a GeoJSON geometry text, flattened.
fn flat_coords(shape: &str) -> Vec<f64> {
    fn walk(v: &serde_json::Value, out: &mut Vec<f64>) {
        match v {
            serde_json::Value::Number(n) => out.push(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            serde_json::Value::Object(o) => {
                o.get("coordinates").into_iter().for_each(|c| walk(c, out));
                o.get("geometries").into_iter().for_each(|c| walk(c, out));
            }
            _ => {}
        }
    }
    let v: serde_json::Value = serde_json::from_str(shape).expect("geometry JSON");
    let mut out = Vec::new();
    walk(&v, &mut out);
    out
}

/// The lines and rings of a GeoJSON geometry text: arrays of positions.
fn rings(shape: &str) -> Vec<Vec<(f64, f64)>> {
    fn position(v: &serde_json::Value) -> Option<(f64, f64)> {
        match v.as_array()?.as_slice() {
            [x, y, ..] => Some((x.as_f64()?, y.as_f64()?)),
            _ => None,
        }
    }
    fn walk(v: &serde_json::Value, out: &mut Vec<Vec<(f64, f64)>>) {
        if let Some(p) = position(v) {
            out.push(vec![p]);
        } else if let Some(items) = v.as_array() {
            match items.iter().map(position).collect::<Option<Vec<_>>>() {
                Some(line) if !line.is_empty() => out.push(line),
                _ => items.iter().for_each(|i| walk(i, out)),
            }
        } else if let Some(o) = v.as_object() {
            o.get("coordinates").into_iter().for_each(|c| walk(c, out));
            o.get("geometries").into_iter().for_each(|c| walk(c, out));
        }
    }
    let v: serde_json::Value = serde_json::from_str(shape).expect("geometry JSON");
    let mut out = Vec::new();
    walk(&v, &mut out);
    out
}

/// Whether two lines or rings have the same positions within `tol` degrees: in the same
/// order, or for a closed ring in either direction from any start (shapefiles turn outer
/// rings clockwise, GeoJSON counterclockwise).
fn same_ring(a: &[(f64, f64)], b: &[(f64, f64)], tol: f64) -> bool {
    let near = |p: (f64, f64), q: (f64, f64)| (p.0 - q.0).abs() < tol && (p.1 - q.1).abs() < tol;
    if a.len() != b.len() {
        return false;
    }
    if a.iter().zip(b).all(|(p, q)| near(*p, *q)) {
        return true;
    }
    let closed = a.len() > 3 && near(a[0], a[a.len() - 1]) && near(b[0], b[b.len() - 1]);
    if !closed {
        return false;
    }
    let (a, b) = (&a[..a.len() - 1], &b[..b.len() - 1]);
    let n = a.len();
    (0..n).filter(|&k| near(a[k], b[0])).any(|k| {
        (0..n).all(|i| near(a[(k + i) % n], b[i])) || (0..n).all(|i| near(a[(k + n - i) % n], b[i]))
    })
}

/// How a copy is compared with its source.
struct Compare<'a> {
    file: &'a str,
    /// The geometry field of both imports (`geo_point_2d` or `geo_shape`).
    geometry: Option<&'a str>,
    /// Tolerance on coordinates, in degrees (1e-7 is about a centimetre).
    tolerance: f64,
    /// The copy's field label for a source label (a shapefile cuts names at 10 characters).
    label: fn(&str) -> String,
    /// Texts longer than this are not compared (a .dbf holds at most 254 bytes).
    max_text: usize,
    /// At least this many attribute fields must be compared.
    min_fields: usize,
}

impl Compare<'_> {
    fn same(&self, source: &Imported, copy: &Imported) {
        let file = self.file;
        assert_eq!(copy.rows(), source.rows(), "{file}: rows");
        assert!(copy.outcome.rejected.is_empty(), "{file}: {:?}", copy.outcome.rejected);
        let mut compared = 0;
        for f in &source.outcome.fields {
            let t = f.field_type;
            if Some(f.name.as_str()) == self.geometry
                || !matches!(t, FieldType::Text | FieldType::Int | FieldType::Double)
            {
                continue;
            }
            let wanted = (self.label)(&f.label);
            let Some(c) = copy.outcome.fields.iter().find(|c| c.label == wanted) else {
                continue;
            };
            assert_eq!(c.field_type, t, "{file}: type of {}", f.name);
            for row in 0..source.rows() {
                match t {
                    FieldType::Int => {
                        assert_eq!(copy.int(&c.name, row), source.int(&f.name, row), "{file}")
                    }
                    FieldType::Double => {
                        let (a, b) = (copy.double(&c.name, row), source.double(&f.name, row));
                        assert!(
                            a.zip(b)
                                .map_or(a == b, |(a, b)| (a - b).abs() <= 1e-9 * b.abs().max(1.0)),
                            "{file}: {} row {row}: {a:?} {b:?}",
                            f.name
                        );
                    }
                    _ => {
                        let b = source.str(&f.name, row);
                        if b.as_ref().is_some_and(|b| b.len() > self.max_text) {
                            continue;
                        }
                        assert_eq!(copy.str(&c.name, row), b, "{file}: {} row {row}", f.name);
                    }
                }
            }
            compared += 1;
        }
        assert!(compared >= self.min_fields, "{file}: {compared} fields compared");
        let Some(geometry) = self.geometry else { return };
        assert_eq!(copy.type_of(geometry), source.type_of(geometry), "{file}");
        let tol = self.tolerance;
        for row in 0..source.rows() {
            if geometry == "geo_point_2d" {
                let a = copy.point(geometry, row).expect("copy point");
                let b = source.point(geometry, row).expect("source point");
                assert!(
                    (a.0 - b.0).abs() < tol && (a.1 - b.1).abs() < tol,
                    "{file} row {row}: {a:?} {b:?}"
                );
            } else {
                let a = rings(&copy.str(geometry, row).expect("copy shape"));
                let b = rings(&source.str(geometry, row).expect("source shape"));
                assert_eq!(a.len(), b.len(), "{file} row {row}: rings or lines");
                for (i, (a, b)) in a.iter().zip(&b).enumerate() {
                    assert!(same_ring(a, b, tol), "{file} row {row} ring {i}: {a:?} {b:?}");
                }
            }
        }
    }
}

fn same_label(l: &str) -> String {
    l.to_owned()
}

/// A .dbf field name: at most 10 characters.
fn dbf_label(l: &str) -> String {
    l.chars().take(10).collect()
}

/// The real GeoJSON files and the geometry field their import has.
const GEOJSON: &[(&str, &str)] = &[
    ("strasbourg_parcs-jardins_points.geojson", "geo_point_2d"),
    ("paris_arrondissements_polygons.geojson", "geo_shape"),
    ("strasbourg_trafic-temps-reel_lines.geojson", "geo_shape"),
    ("strasbourg_boucles_multilines.geojson", "geo_shape"),
];

/// Shapefile fields that cannot hold the source's lists (GDAL refuses them): as text.
const SHP_OPTS: &[&str] =
    &["-mapFieldType", "RealList=String,IntegerList=String,StringList=String"];

#[test]
fn zipped_shapefiles_written_by_gdal_import_to_the_same_records() {
    let dir = tempfile::tempdir().expect("dir");
    for (file, geometry) in GEOJSON {
        let source_path = real(file);
        let source = import(&source_path, &ImportOptions::default());
        let shp_dir = dir.path().join(file.replace(".geojson", "_shp"));
        std::fs::create_dir(&shp_dir).expect("dir");
        let shp = shp_dir.join("layer.shp");
        ogr(
            "ESRI Shapefile",
            &shp,
            &source_path,
            &[&["-lco", "ENCODING=UTF-8"], SHP_OPTS].concat(),
        );
        let members: Vec<(String, PathBuf)> = ["shp", "shx", "dbf", "prj", "cpg"]
            .iter()
            .map(|e| (format!("couche/layer.{e}"), shp_dir.join(format!("layer.{e}"))))
            .filter(|(_, p)| p.exists())
            .collect();
        assert!(members.len() >= 4, "{file}: {members:?}");
        let zipped = dir.path().join(file.replace(".geojson", "_shp.zip"));
        let refs: Vec<(&str, &Path)> =
            members.iter().map(|(n, p)| (n.as_str(), p.as_path())).collect();
        zip(&zipped, &refs);
        let copy = import(&zipped, &ImportOptions::default());
        assert_eq!(copy.outcome.format, Format::Shapefile, "{file}");
        assert_eq!(copy.outcome.detected.archive_member.as_deref(), Some("couche/layer.shp"));
        assert_eq!(copy.outcome.detected.encoding.as_deref(), Some("UTF-8"));
        Compare {
            file,
            geometry: Some(geometry),
            tolerance: 1e-9,
            label: dbf_label,
            max_text: 254,
            min_fields: 2,
        }
        .same(&source, &copy);
        // The .shp on disk with its companions is read too (the command line's case).
        let beside = import(&shp, &ImportOptions::default());
        assert_eq!(beside.rows(), source.rows(), "{file}");
    }
}

#[test]
fn shapefile_in_lambert_93_is_reprojected_to_wgs84_within_a_centimetre() {
    let dir = tempfile::tempdir().expect("dir");
    for (file, geometry) in GEOJSON {
        let source_path = real(file);
        let source = import(&source_path, &ImportOptions::default());
        let shp_dir = dir.path().join(file.replace(".geojson", "_l93"));
        std::fs::create_dir(&shp_dir).expect("dir");
        let shp = shp_dir.join("l93.shp");
        ogr(
            "ESRI Shapefile",
            &shp,
            &source_path,
            &[&["-t_srs", "EPSG:2154", "-lco", "ENCODING=UTF-8"], SHP_OPTS].concat(),
        );
        let prj = std::fs::read_to_string(shp_dir.join("l93.prj")).expect("prj");
        assert!(prj.contains("Lambert"), "{prj}");
        let copy = import(&shp, &ImportOptions::default());
        Compare {
            file,
            geometry: Some(geometry),
            tolerance: 1e-7,
            label: dbf_label,
            max_text: 254,
            min_fields: 2,
        }
        .same(&source, &copy);
    }
}

#[test]
fn shapefile_dbf_in_latin1_is_decoded_per_its_cpg_or_language_byte() {
    let dir = tempfile::tempdir().expect("dir");
    let source_path = real("paris_arrondissements_polygons.geojson");
    let source = import(&source_path, &ImportOptions::default());
    let l_aroff = source.str("l_aroff", source.find("l_ar", "5ème Ardt")).expect("name");
    assert!(!l_aroff.is_ascii(), "{l_aroff}");
    let shp = dir.path().join("latin1.shp");
    ogr(
        "ESRI Shapefile",
        &shp,
        &source_path,
        &[&["-lco", "ENCODING=ISO-8859-1"], SHP_OPTS].concat(),
    );
    let dbf = std::fs::read(dir.path().join("latin1.dbf")).expect("dbf");
    assert!(std::str::from_utf8(&dbf).is_err(), "the .dbf should hold Latin-1 bytes");
    let with_cpg = import(&shp, &ImportOptions::default());
    assert_eq!(with_cpg.outcome.detected.encoding.as_deref(), Some("windows-1252"));
    let row = with_cpg.find("l_ar", "5ème Ardt");
    assert_eq!(with_cpg.str("l_aroff", row), Some(l_aroff.clone()));
    // Without the .cpg: Latin-1 told from bytes that are not UTF-8.
    std::fs::remove_file(dir.path().join("latin1.cpg")).expect("rm cpg");
    let guessed = import(&shp, &ImportOptions::default());
    let row = guessed.find("l_ar", "5ème Ardt");
    assert_eq!(guessed.str("l_aroff", row), Some(l_aroff));
}

#[test]
fn kmz_and_gpx_written_by_gdal_import_to_the_same_records() {
    let dir = tempfile::tempdir().expect("dir");
    for (file, geometry) in &GEOJSON[..3] {
        let source_path = real(file);
        let source = import(&source_path, &ImportOptions::default());
        let kmz = dir.path().join(file.replace(".geojson", ".kmz"));
        ogr("LIBKML", &kmz, &source_path, &[]);
        let copy = import(&kmz, &ImportOptions::default());
        assert_eq!(copy.outcome.format, Format::Kml, "{file}");
        assert!(
            copy.outcome.detected.archive_member.as_deref().is_some_and(|m| m.ends_with(".kml"))
        );
        Compare {
            file,
            geometry: Some(geometry),
            tolerance: 1e-9,
            label: same_label,
            max_text: usize::MAX,
            min_fields: 2,
        }
        .same(&source, &copy);
    }
    // GPX: waypoints from the parks (name and description), tracks from the loops.
    let parks = real("strasbourg_parcs-jardins_points.geojson");
    let source = import(&parks, &ImportOptions::default());
    let gpx = dir.path().join("parks.gpx");
    ogr("GPX", &gpx, &parks, &[]);
    let copy = import(&gpx, &ImportOptions::default());
    assert_eq!(copy.outcome.format, Format::Gpx);
    Compare {
        file: "parks.gpx",
        geometry: Some("geo_point_2d"),
        tolerance: 1e-9,
        label: same_label,
        max_text: usize::MAX,
        // GPX has a fixed schema: GDAL writes the `name` property as the waypoint's name.
        min_fields: 1,
    }
    .same(&source, &copy);
    let loops = real("strasbourg_boucles_multilines.geojson");
    let source = import(&loops, &ImportOptions::default());
    let gpx = dir.path().join("loops.gpx");
    ogr("GPX", &gpx, &loops, &["-nlt", "MULTILINESTRING", "-lco", "FORCE_GPX_TRACK=YES"]);
    let copy = import(&gpx, &ImportOptions::default());
    assert_eq!(copy.rows(), source.rows());
    for row in 0..source.rows() {
        let a = flat_coords(&copy.str("geo_shape", row).expect("track"));
        let b = flat_coords(&source.str("geo_shape", row).expect("loop"));
        assert_eq!(a.len(), b.len(), "row {row}");
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-9), "row {row}");
    }
}

#[test]
fn geopackages_written_by_gdal_import_to_the_same_records_in_wgs84_and_lambert_93() {
    let dir = tempfile::tempdir().expect("dir");
    for (file, geometry) in GEOJSON {
        let source_path = real(file);
        let source = import(&source_path, &ImportOptions::default());
        for (srs, tolerance) in [("EPSG:4326", 1e-9), ("EPSG:2154", 1e-7)] {
            let gpkg = dir.path().join(file.replace(".geojson", &format!("_{}.gpkg", &srs[5..])));
            ogr("GPKG", &gpkg, &source_path, &["-t_srs", srs]);
            let copy = import(&gpkg, &ImportOptions::default());
            assert_eq!(copy.outcome.format, Format::GeoPackage, "{file}");
            Compare {
                file,
                geometry: Some(geometry),
                tolerance,
                label: same_label,
                max_text: usize::MAX,
                min_fields: 2,
            }
            .same(&source, &copy);
        }
    }
}

/// pyarrow writes the real CSV as Parquet, and the real GeoJSON files as GeoParquet with the
/// WKB GDAL wrote in a GeoPackage.
const PYARROW: &str = r#"
import json, sqlite3, sys
import pyarrow as pa, pyarrow.csv as pcsv, pyarrow.parquet as pq
kind, src, out = sys.argv[1:4]
if kind == "csv":
    t = pcsv.read_csv(src, parse_options=pcsv.ParseOptions(delimiter=";"))
    pq.write_table(t, out)
    sys.exit(0)
gpkg = sys.argv[4]
feats = json.load(open(src, encoding="utf-8"))["features"]
con = sqlite3.connect(gpkg)
table, = con.execute("select table_name from gpkg_contents").fetchone()
gcol, = con.execute("select column_name from gpkg_geometry_columns").fetchone()
def wkb(b):
    size = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[(b[3] >> 1) & 7]
    return bytes(b[8 + size:])
blobs = [wkb(r[0]) for r in con.execute(f'select "{gcol}" from "{table}" order by fid')]
keys = [k for k in feats[0]["properties"]
        if all(not isinstance(f["properties"].get(k), (list, dict)) for f in feats)]
cols = {k: [f["properties"].get(k) for f in feats] for k in keys}
cols["geometry"] = blobs
geo = {"version": "1.1.0", "primary_column": "geometry",
       "columns": {"geometry": {"encoding": "WKB", "geometry_types": []}}}
if len(sys.argv) > 5:
    geo["columns"]["geometry"]["crs"] = json.load(open(sys.argv[5], encoding="utf-8"))
t = pa.table(cols).replace_schema_metadata({"geo": json.dumps(geo)})
pq.write_table(t, out)
"#;

#[test]
fn parquet_and_geoparquet_written_by_pyarrow_import_to_the_same_records() {
    let dir = tempfile::tempdir().expect("dir");
    let csv = real("strasbourg_occupation-parkings-temps-reel.csv");
    let source = import(&csv, &ImportOptions::default());
    let parquet = dir.path().join("parkings.parquet");
    run(Command::new(python()).args(["-c", PYARROW, "csv"]).arg(&csv).arg(&parquet));
    let copy = import(&parquet, &ImportOptions::default());
    assert_eq!(copy.outcome.format, Format::Parquet);
    Compare {
        file: "parkings.parquet",
        geometry: None,
        tolerance: 0.0,
        label: same_label,
        max_text: usize::MAX,
        min_fields: 6,
    }
    .same(&source, &copy);
    for (file, geometry) in GEOJSON {
        let source_path = real(file);
        let source = import(&source_path, &ImportOptions::default());
        let gpkg = dir.path().join(file.replace(".geojson", ".gpkg"));
        ogr("GPKG", &gpkg, &source_path, &[]);
        // A name that says nothing: the type comes from the content.
        let geoparquet = dir.path().join(file.replace(".geojson", ".bin"));
        run(Command::new(python())
            .args(["-c", PYARROW, "geo"])
            .arg(&source_path)
            .arg(&geoparquet)
            .arg(&gpkg));
        let copy = import(&geoparquet, &ImportOptions::default());
        assert_eq!(copy.outcome.format, Format::Parquet, "{file}");
        Compare {
            file,
            geometry: Some(geometry),
            tolerance: 1e-9,
            label: same_label,
            max_text: usize::MAX,
            min_fields: 2,
        }
        .same(&source, &copy);
    }
}

/// pyarrow writes GeoParquet files in Lambert 93 (EPSG:2154): the WKB of GeoPackages GDAL
/// projected, the column's `crs` the PROJJSON GDAL gives for EPSG:2154. They import
/// reprojected to WGS 84, every position within 1e-7 degrees of the source's. A `crs`
/// without an EPSG code is refused with what to do.
#[test]
fn geoparquet_in_lambert_93_is_reprojected_to_wgs84() {
    let dir = tempfile::tempdir().expect("dir");
    let projjson = dir.path().join("2154.json");
    let out = Command::new("gdalsrsinfo")
        .args(["-o", "PROJJSON", "EPSG:2154"])
        .output()
        .expect("gdalsrsinfo (scripts/install-test-deps.sh installs gdal-bin)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(&projjson, &out.stdout).expect("projjson");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("\"code\": 2154"), "{text}");
    for (file, geometry) in GEOJSON {
        let source_path = real(file);
        let source = import(&source_path, &ImportOptions::default());
        let gpkg = dir.path().join(file.replace(".geojson", "_2154.gpkg"));
        ogr("GPKG", &gpkg, &source_path, &["-t_srs", "EPSG:2154"]);
        let geoparquet = dir.path().join(file.replace(".geojson", "_2154.parquet"));
        run(Command::new(python())
            .args(["-c", PYARROW, "geo"])
            .arg(&source_path)
            .arg(&geoparquet)
            .arg(&gpkg)
            .arg(&projjson));
        let copy = import(&geoparquet, &ImportOptions::default());
        Compare {
            file,
            geometry: Some(geometry),
            tolerance: 1e-7,
            label: same_label,
            max_text: usize::MAX,
            min_fields: 2,
        }
        .same(&source, &copy);
    }
    // A CRS without an EPSG identifier is refused, saying what to write instead.
    let custom = dir.path().join("custom.json");
    let definition = text.replace("\"authority\": \"EPSG\"", "\"authority\": \"LOCAL\"");
    std::fs::write(&custom, definition).expect("custom");
    let (file, _) = GEOJSON[0];
    let gpkg = dir.path().join(file.replace(".geojson", "_2154.gpkg"));
    let refused = dir.path().join("custom.parquet");
    run(Command::new(python())
        .args(["-c", PYARROW, "geo"])
        .arg(real(file))
        .arg(&refused)
        .arg(&gpkg)
        .arg(&custom));
    let Err((e, _)) = try_import(&refused, &ImportOptions::default()) else {
        panic!("a GeoParquet file in a CRS without EPSG code was imported");
    };
    let message = e.to_string();
    assert!(
        message.contains("no EPSG code") && message.contains("OGC:CRS84 or EPSG:4326"),
        "{message}"
    );
}

/// odfpy writes the real CSV as an OpenDocument spreadsheet, numbers as float cells.
const ODFPY: &str = r#"
import csv, sys
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableRow, TableCell
from odf.text import P
src, out = sys.argv[1:3]
doc = OpenDocumentSpreadsheet()
table = Table(name="parkings")
with open(src, encoding="utf-8-sig", newline="") as f:
    for n, rec in enumerate(csv.reader(f, delimiter=";")):
        row = TableRow()
        for v in rec:
            if n > 0 and v.lstrip("-").isdigit():
                cell = TableCell(valuetype="float", value=v)
            else:
                cell = TableCell(valuetype="string")
            cell.addElement(P(text=v))
            row.addElement(cell)
        table.addElement(row)
doc.spreadsheet.addElement(table)
doc.save(out)
"#;

#[test]
fn ods_written_by_odfpy_imports_to_the_same_records() {
    let dir = tempfile::tempdir().expect("dir");
    let csv = real("strasbourg_occupation-parkings-temps-reel.csv");
    let source = import(&csv, &ImportOptions::default());
    let ods = dir.path().join("parkings.ods");
    run(Command::new(python()).args(["-c", ODFPY]).arg(&csv).arg(&ods));
    let copy = import(&ods, &ImportOptions::default());
    assert_eq!(copy.outcome.format, Format::Ods);
    Compare {
        file: "parkings.ods",
        geometry: None,
        tolerance: 0.0,
        label: same_label,
        max_text: usize::MAX,
        min_fields: 6,
    }
    .same(&source, &copy);
    // A zip holding the spreadsheet is read too.
    let zipped = dir.path().join("upload.zip");
    zip(&zipped, &[("export/parkings.ods", &ods)]);
    let copy = import(&zipped, &ImportOptions::default());
    assert_eq!(copy.outcome.format, Format::Ods);
    assert_eq!(copy.rows(), source.rows());
}

#[test]
fn zipped_csv_and_geojson_with_a_readme_are_read() {
    let dir = tempfile::tempdir().expect("dir");
    let csv = real("strasbourg_occupation-parkings-temps-reel.csv");
    let readme = dir.path().join("LISEZMOI.txt");
    std::fs::write(&readme, "Données de l'Eurométropole\n").expect("readme");
    let zipped = dir.path().join("data.zip");
    zip(
        &zipped,
        &[("parkings.csv", &csv), ("LISEZMOI.txt", &readme), ("__MACOSX/._parkings.csv", &readme)],
    );
    let copy = import(&zipped, &ImportOptions::default());
    let source = import(&csv, &ImportOptions::default());
    assert_eq!(copy.outcome.format, Format::Csv);
    assert_eq!(copy.outcome.detected.archive_member.as_deref(), Some("parkings.csv"));
    assert_eq!(copy.outcome.fields, source.outcome.fields);
    assert_eq!(copy.rows(), source.rows());
}

// ---------------------------------------------------------------------------------------------
// Hostile and broken files: a clear error (what, where), and no output left behind.

fn refused(input: &Path) -> Error {
    match try_import(input, &ImportOptions::default()) {
        Ok(i) => panic!("{} imported {} rows", input.display(), i.rows()),
        Err((e, dir)) => {
            assert!(crate::util::files_in(dir.path()).is_empty(), "{input:?}: output left");
            e
        }
    }
}

/// A shapefile of the parks written by ogr2ogr in `dir`: its files by extension.
fn parks_shapefile(dir: &Path) -> Vec<(String, PathBuf)> {
    let shp = dir.join("parks.shp");
    ogr("ESRI Shapefile", &shp, &real("strasbourg_parcs-jardins_points.geojson"), SHP_OPTS);
    ["shp", "shx", "dbf", "prj", "cpg"]
        .iter()
        .map(|e| (format!("parks.{e}"), dir.join(format!("parks.{e}"))))
        .filter(|(_, p)| p.exists())
        .collect()
}

#[test]
fn truncated_zip_is_refused_as_cut_short() {
    let dir = tempfile::tempdir().expect("dir");
    let files = parks_shapefile(dir.path());
    let refs: Vec<(&str, &Path)> = files.iter().map(|(n, p)| (n.as_str(), p.as_path())).collect();
    let zipped = dir.path().join("parks.zip");
    zip(&zipped, &refs);
    let bytes = std::fs::read(&zipped).expect("zip");
    let cut = dir.path().join("cut.zip");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).expect("cut");
    let e = refused(&cut);
    assert!(matches!(e, Error::Unreadable { .. }), "{e:?}");
    assert!(e.to_string().contains("damaged or cut short"), "{e}");
}

#[test]
fn zip_with_two_datasets_names_them() {
    let dir = tempfile::tempdir().expect("dir");
    let files = parks_shapefile(dir.path());
    let mut refs: Vec<(&str, &Path)> =
        files.iter().map(|(n, p)| (n.as_str(), p.as_path())).collect();
    let csv = real("strasbourg_occupation-parkings-temps-reel.csv");
    refs.push(("parkings.csv", &csv));
    let zipped = dir.path().join("two.zip");
    zip(&zipped, &refs);
    let e = refused(&zipped).to_string();
    assert!(
        e.contains("holds 2 datasets") && e.contains("parks.shp") && e.contains("parkings.csv"),
        "{e}"
    );
}

#[test]
fn shp_without_dbf_is_refused_alone_and_in_a_zip() {
    let dir = tempfile::tempdir().expect("dir");
    let files = parks_shapefile(dir.path());
    let refs: Vec<(&str, &Path)> = files
        .iter()
        .filter(|(n, _)| !n.ends_with(".dbf"))
        .map(|(n, p)| (n.as_str(), p.as_path()))
        .collect();
    let zipped = dir.path().join("nodbf.zip");
    zip(&zipped, &refs);
    let e = refused(&zipped).to_string();
    assert!(e.contains("has no parks.dbf") && e.contains("nodbf.zip"), "{e}");
    // A .shp uploaded alone (no companions beside it).
    let alone_dir = tempfile::tempdir().expect("dir");
    let alone = alone_dir.path().join("upload.bin");
    std::fs::copy(dir.path().join("parks.shp"), &alone).expect("copy");
    let e = refused(&alone).to_string();
    assert!(e.contains("without its .dbf") && e.contains("zip"), "{e}");
}

#[test]
fn geopackage_that_is_not_one_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    // An SQLite database without the GeoPackage tables, written by Python's sqlite3.
    let db = dir.path().join("plain.gpkg");
    run(Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\n\
         c = sqlite3.connect(sys.argv[1]); c.execute('create table t (a)'); c.commit()",
        ])
        .arg(&db));
    let e = refused(&db).to_string();
    assert!(e.contains("not a GeoPackage") && e.contains("gpkg_contents"), "{e}");
    // Text named .gpkg.
    let text = dir.path().join("fake.gpkg");
    std::fs::write(&text, "a;b\n1;2\n").expect("write");
    let e = refused(&text).to_string();
    assert!(e.contains("not a GeoPackage") && e.contains("SQLite header"), "{e}");
    // A real GeoPackage cut in half.
    let gpkg = dir.path().join("parks.gpkg");
    ogr("GPKG", &gpkg, &real("strasbourg_parcs-jardins_points.geojson"), &[]);
    let bytes = std::fs::read(&gpkg).expect("gpkg");
    let cut = dir.path().join("cut.gpkg");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("cut");
    let e = refused(&cut);
    assert!(matches!(e, Error::Unreadable { .. }), "{e:?}");
}

#[test]
fn zip_inside_a_zip_and_zip_without_data_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let csv = real("strasbourg_occupation-parkings-temps-reel.csv");
    let inner = dir.path().join("inner.zip");
    zip(&inner, &[("parkings.csv", &csv)]);
    let outer = dir.path().join("outer.zip");
    zip(&outer, &[("inner.zip", &inner)]);
    let e = refused(&outer);
    assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
    assert!(e.to_string().contains("archive nesting limit"), "{e}");
    let readme = dir.path().join("image.png");
    std::fs::write(&readme, b"\x89PNG\r\n\x1a\n").expect("png");
    let empty = dir.path().join("nodata.zip");
    zip(&empty, &[("image.png", &readme)]);
    let e = refused(&empty).to_string();
    assert!(e.contains("holds no data file") && e.contains("image.png"), "{e}");
}

#[test]
fn parquet_cut_short_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let csv = real("strasbourg_occupation-parkings-temps-reel.csv");
    let parquet = dir.path().join("p.parquet");
    run(Command::new(python()).args(["-c", PYARROW, "csv"]).arg(&csv).arg(&parquet));
    let bytes = std::fs::read(&parquet).expect("parquet");
    let cut = dir.path().join("cut.parquet");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("cut");
    let e = refused(&cut);
    assert!(e.to_string().contains("damaged or cut short"), "{e}");
}

/// pyarrow writes a GeoParquet file of `n` points around Strasbourg, in row groups of 50,000.
const PYARROW_POINTS: &str = r#"
import json, struct, sys
import pyarrow as pa, pyarrow.parquet as pq
n, out = int(sys.argv[1]), sys.argv[2]
ids = list(range(n))
wkb = [struct.pack("<BIdd", 1, 1, 7.7 + (i % 1000) * 1e-4, 48.5 + (i // 1000) * 1e-5) for i in ids]
t = pa.table({"id": ids, "nom": [f"station {i}" for i in ids], "valeur": [i / 4 for i in ids],
              "geometry": wkb})
geo = {"version": "1.1.0", "primary_column": "geometry",
       "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Point"]}}}
pq.write_table(t.replace_schema_metadata({"geo": json.dumps(geo)}), out, row_group_size=50000)
"#;

/// The peak resident size of this process, in MiB (each test is a process under nextest).
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM")
        / 1024
}

#[test]
fn a_large_geoparquet_file_is_streamed_in_bounded_memory() {
    let dir = tempfile::tempdir().expect("dir");
    let input = dir.path().join("points.parquet");
    let n: u64 = 400_000;
    run(Command::new(python()).args(["-c", PYARROW_POINTS, &n.to_string()]).arg(&input));
    let before = peak_rss_mib();
    let out = dir.path().join("out.parquet");
    let started = std::time::Instant::now();
    let outcome = kleber_ingest::import_file(&input, &out, &ImportOptions::default(), &mut |_| {})
        .expect("import");
    let elapsed = started.elapsed();
    let peak = peak_rss_mib();
    assert_eq!(outcome.rows, n);
    assert!(
        outcome.rejected.is_empty(),
        "{:?}",
        &outcome.rejected[..3.min(outcome.rejected.len())]
    );
    let types: Vec<(&str, FieldType)> =
        outcome.fields.iter().map(|f| (f.name.as_str(), f.field_type)).collect();
    assert_eq!(
        types,
        [
            ("id", FieldType::Int),
            ("nom", FieldType::Text),
            ("valeur", FieldType::Double),
            ("geo_point_2d", FieldType::GeoPoint2d)
        ]
    );
    eprintln!("{n} GeoParquet points: {elapsed:?}, peak resident size {before} -> {peak} MiB");
    // Streamed: 41 MiB on the debug build; held whole (the first version of this reader):
    // 302 MiB.
    assert!(peak < 120, "peak resident size {peak} MiB");
}
