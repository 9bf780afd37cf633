//! Every export format, downloaded from the real server and read back by the reference readers:
//! GDAL (`ogr2ogr`, `ogrinfo`) for GeoJSON, KML, GPX, shapefiles and FlatGeobuf, pyarrow for
//! Parquet, openpyxl for XLSX. Values are compared with the JSON export of the same query.

use std::path::{Path, PathBuf};
use std::process::Command;

use kleber_ingest::ImportOptions;
use serde_json::{Value, json};

use crate::common::{TestServer, enc, import, real};

const V: &str = "/api/explore/v2.1/catalog";

/// The Python of the test clients' virtualenv.
fn python() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/.venv/bin/python");
    assert!(
        path.exists(),
        "missing {}: run scripts/install-test-deps.sh (pyarrow and openpyxl read the exports back)",
        path.display()
    );
    path
}

/// Runs a reference tool, failing with the install hint if it is missing.
fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {program} ({e}): run scripts/install-test-deps.sh (Debian gdal-bin)")
    });
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// The features of a layer as GDAL reads them, converted to GeoJSON by `ogr2ogr`.
fn ogr_features(source: &str, layer: Option<&str>) -> Vec<Value> {
    let mut args = vec!["-f", "GeoJSON", "/vsistdout/", source];
    if let Some(layer) = layer {
        args.push(layer);
    }
    let out = run("ogr2ogr", &args);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("ogr2ogr output: {e}"));
    v["features"].as_array().expect("features").clone()
}

/// `ogrinfo -so` of a source: layer names with their geometry type and feature count.
fn ogr_summary(source: &str) -> String {
    run("ogrinfo", &["-ro", "-al", "-so", source])
}

/// Runs a Python script with the file as `sys.argv[1]`, returning its JSON output.
fn py(script: &str, file: &Path) -> Value {
    let output = Command::new(python())
        .args(["-c", script, &file.to_string_lossy()])
        .output()
        .expect("run python");
    assert!(output.status.success(), "python failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("python JSON")
}

/// Downloads `path`: status, content type, content disposition and body.
async fn download(server: &TestServer, path: &str) -> (u16, String, String, Vec<u8>) {
    let response = server.client.get(format!("{}{path}", server.base)).send().await.unwrap();
    let header = |name: &str| {
        response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    let status = response.status().as_u16();
    (status, content_type, disposition, response.bytes().await.unwrap().to_vec())
}

/// Downloads an export that must succeed, saving it as `dir/name`.
async fn save(server: &TestServer, path: &str, dir: &Path, name: &str) -> PathBuf {
    let (status, _, _, body) = download(server, path).await;
    assert_eq!(status, 200, "GET {path}: {}", String::from_utf8_lossy(&body));
    let file = dir.join(name);
    std::fs::write(&file, body).unwrap();
    file
}

/// The JSON export of the same query: the expected records.
async fn expected(server: &TestServer, dataset: &str, query: &str) -> Vec<Value> {
    let (status, _, _, body) =
        download(server, &format!("{V}/datasets/{dataset}/exports/json?{query}")).await;
    assert_eq!(status, 200);
    serde_json::from_slice(&body).unwrap()
}

/// The (lon, lat) of a JSON export's geo point value.
fn lon_lat(v: &Value) -> (f64, f64) {
    (v["lon"].as_f64().unwrap(), v["lat"].as_f64().unwrap())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// A number as GDAL may give it back (a number, or text in KML).
fn number(v: &Value) -> f64 {
    v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or(f64::NAN)
}

/// A test portal with the real files imported.
async fn portal() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    for (file, id) in [
        ("paris_velib-disponibilite-en-temps-reel_utf8-bom.csv", "velib"),
        ("strasbourg_trafic-temps-reel_lines.geojson", "trafic"),
        ("strasbourg_stationnement-payant_polygons.geojson", "zones"),
        ("strasbourg_occupation-parkings-temps-reel.csv", "parkings"),
    ] {
        import(dir.path(), &real(file), id, ImportOptions::default());
    }
    TestServer::start(dir).await
}

const VELIB_QUERY: &str = "select=identifiant_station,nom_station,capacite_de_la_station,actualisation_de_la_donnee,coordonnees_geographiques&where=capacite_de_la_station%3E%3D40&order_by=identifiant_station";

#[tokio::test]
async fn point_exports_read_back_by_gdal_match_the_json_export() {
    let server = portal().await;
    let work = tempfile::tempdir().unwrap();
    let rows = expected(&server, "velib", VELIB_QUERY).await;
    // The filter applied: fewer rows than the dataset, all matching.
    assert!(rows.len() > 50 && rows.len() < 1472, "{} rows", rows.len());
    assert!(rows.iter().all(|r| r["capacite_de_la_station"].as_i64().unwrap() >= 40));

    // (format, file name, GDAL source, layer, attribute names as the format keeps them)
    type Case<'a> = (&'a str, &'a str, String, Option<&'a str>, [&'a str; 3]);
    let cases: [Case<'_>; 5] = [
        (
            "geojson",
            "v.geojson",
            String::new(),
            None,
            ["identifiant_station", "nom_station", "capacite_de_la_station"],
        ),
        (
            "kml",
            "v.kml",
            String::new(),
            None,
            ["identifiant_station", "nom_station", "capacite_de_la_station"],
        ),
        (
            "gpx",
            "v.gpx",
            String::new(),
            Some("waypoints"),
            ["kleber_identifiant_station", "kleber_nom_station", "kleber_capacite_de_la_station"],
        ),
        ("shp", "v.zip", "/vsizip/".to_owned(), None, ["identifian", "nom_statio", "capacite_d"]),
        (
            "fgb",
            "v.fgb",
            String::new(),
            None,
            ["identifiant_station", "nom_station", "capacite_de_la_station"],
        ),
    ];
    for (format, name, prefix, layer, [id_key, name_key, cap_key]) in cases {
        let file = save(
            &server,
            &format!("{V}/datasets/velib/exports/{format}?{VELIB_QUERY}"),
            work.path(),
            name,
        )
        .await;
        let source = format!("{prefix}{}", file.display());
        let features = ogr_features(&source, layer);
        assert_eq!(features.len(), rows.len(), "{format}: feature count");
        for (feature, row) in features.iter().zip(&rows) {
            let p = &feature["properties"];
            assert_eq!(
                number(&p[id_key]),
                row["identifiant_station"].as_f64().unwrap(),
                "{format}: {p}"
            );
            assert_eq!(p[name_key], row["nom_station"], "{format}");
            assert_eq!(number(&p[cap_key]), row["capacite_de_la_station"].as_f64().unwrap());
            let (lon, lat) = lon_lat(&row["coordonnees_geographiques"]);
            let c = &feature["geometry"]["coordinates"];
            assert_eq!(feature["geometry"]["type"], "Point", "{format}");
            assert!(close(c[0].as_f64().unwrap(), lon) && close(c[1].as_f64().unwrap(), lat));
        }
        // KML layers declare no geometry type; the others say Point.
        let summary = ogr_summary(&source);
        let declared = if format == "kml" { "Unknown (any)" } else { "Point" };
        assert!(summary.contains(&format!("Geometry: {declared}")), "{format}: {summary}");
    }
}

#[tokio::test]
async fn line_and_polygon_exports_keep_their_shapes() {
    let server = portal().await;
    let work = tempfile::tempdir().unwrap();
    let query = "select=name,ident,geo_shape&order_by=name";
    let rows = expected(&server, "trafic", query).await;
    assert_eq!(rows.len(), 452);
    for (format, name, prefix, layer) in [
        ("geojson", "t.geojson", "", None),
        ("kml", "t.kml", "", None),
        ("shp", "t.zip", "/vsizip/", None),
        ("fgb", "t.fgb", "", None),
        ("gpx", "t.gpx", "", Some("tracks")),
    ] {
        let file = save(
            &server,
            &format!("{V}/datasets/trafic/exports/{format}?{query}"),
            work.path(),
            name,
        )
        .await;
        let features = ogr_features(&format!("{prefix}{}", file.display()), layer);
        assert_eq!(features.len(), 452, "{format}");
        for (feature, row) in features.iter().zip(&rows) {
            let stored = &row["geo_shape"]["geometry"];
            assert_eq!(stored["type"], "LineString");
            let got = &feature["geometry"];
            // GPX tracks are multi-lines of one segment.
            let line = if got["type"] == "MultiLineString" {
                &got["coordinates"][0]
            } else {
                assert_eq!(got["type"], "LineString", "{format}");
                &got["coordinates"]
            };
            let want = stored["coordinates"].as_array().unwrap();
            assert_eq!(line.as_array().unwrap().len(), want.len(), "{format}");
            for (a, b) in line.as_array().unwrap().iter().zip(want) {
                assert!(close(a[0].as_f64().unwrap(), b[0].as_f64().unwrap()), "{format}");
                assert!(close(a[1].as_f64().unwrap(), b[1].as_f64().unwrap()), "{format}");
            }
        }
    }
    // Polygons: the shapefile and FlatGeobuf keep them, and GPX makes waypoints of them.
    let rows = expected(&server, "zones", "order_by=libelle").await;
    assert_eq!(rows.len(), 15);
    let zip = save(
        &server,
        &format!("{V}/datasets/zones/exports/shp?order_by=libelle"),
        work.path(),
        "z.zip",
    )
    .await;
    let summary = ogr_summary(&format!("/vsizip/{}", zip.display()));
    assert!(
        summary.contains("Geometry: Polygon") && summary.contains("Feature Count: 15"),
        "{summary}"
    );
    let fgb = save(
        &server,
        &format!("{V}/datasets/zones/exports/fgb?order_by=libelle"),
        work.path(),
        "z.fgb",
    )
    .await;
    let features = ogr_features(&fgb.to_string_lossy(), None);
    for (f, row) in features.iter().zip(&rows) {
        assert_eq!(f["properties"]["libelle"], row["libelle"]);
        let got = f["geometry"]["coordinates"][0].as_array().unwrap();
        let want = row["geo_shape"]["geometry"]["coordinates"][0].as_array().unwrap();
        assert_eq!(got.len(), want.len());
        for (a, b) in got.iter().zip(want) {
            assert!(close(a[0].as_f64().unwrap(), b[0].as_f64().unwrap()));
            assert!(close(a[1].as_f64().unwrap(), b[1].as_f64().unwrap()));
        }
    }
    let gpx = save(&server, &format!("{V}/datasets/zones/exports/gpx"), work.path(), "z.gpx").await;
    assert_eq!(ogr_features(&gpx.to_string_lossy(), Some("waypoints")).len(), 15);
}

const PARQUET_SCRIPT: &str = r#"
import json, struct, sys
import pyarrow.parquet as pq
f = pq.ParquetFile(sys.argv[1])
t = f.read()
geo = json.loads(f.metadata.metadata[b"geo"]) if b"geo" in (f.metadata.metadata or {}) else None
rows = t.to_pylist()
def point(wkb):
    if wkb is None:
        return None
    order, kind, x, y = struct.unpack("<BIdd", wkb[:21])
    return [kind, x, y]
geo_col = geo["primary_column"] if geo else None
print(json.dumps({
    "num_rows": t.num_rows,
    "columns": t.column_names,
    "types": [str(ty) for ty in t.schema.types],
    "compression": f.metadata.row_group(0).column(0).compression if f.metadata.num_row_groups else None,
    "geo": geo,
    "ids": [r.get("identifiant_station") for r in rows],
    "points": [point(r[geo_col]) for r in rows] if geo_col else None,
}))
"#;

#[tokio::test]
async fn parquet_is_read_by_pyarrow_with_geoparquet_metadata() {
    let server = portal().await;
    let work = tempfile::tempdir().unwrap();
    let rows = expected(&server, "velib", VELIB_QUERY).await;
    let file = save(
        &server,
        &format!("{V}/datasets/velib/exports/parquet?{VELIB_QUERY}"),
        work.path(),
        "v.parquet",
    )
    .await;
    let v = py(PARQUET_SCRIPT, &file);
    assert_eq!(v["num_rows"], rows.len());
    assert_eq!(
        v["columns"],
        json!([
            "identifiant_station",
            "nom_station",
            "capacite_de_la_station",
            "actualisation_de_la_donnee",
            "coordonnees_geographiques"
        ])
    );
    assert_eq!(v["types"], json!(["int64", "string", "int64", "timestamp[us, tz=UTC]", "binary"]));
    assert_eq!(v["compression"], "SNAPPY");
    let ids: Vec<Value> = rows.iter().map(|r| r["identifiant_station"].clone()).collect();
    assert_eq!(v["ids"], Value::from(ids));
    let geo = &v["geo"];
    assert_eq!(geo["version"], "1.1.0");
    assert_eq!(geo["primary_column"], "coordonnees_geographiques");
    let column = &geo["columns"]["coordonnees_geographiques"];
    assert_eq!(column["encoding"], "WKB");
    assert_eq!(column["geometry_types"], json!(["Point"]));
    assert_eq!(column["crs"]["id"], json!({"authority": "OGC", "code": "CRS84"}));
    let (mut min_x, mut min_y, mut max_x, mut max_y) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (point, row) in v["points"].as_array().unwrap().iter().zip(&rows) {
        let (lon, lat) = lon_lat(&row["coordonnees_geographiques"]);
        assert_eq!(point[0], 1, "WKB type Point");
        assert!(close(point[1].as_f64().unwrap(), lon) && close(point[2].as_f64().unwrap(), lat));
        (min_x, min_y, max_x, max_y) =
            (min_x.min(lon), min_y.min(lat), max_x.max(lon), max_y.max(lat));
    }
    assert_eq!(column["bbox"], json!([min_x, min_y, max_x, max_y]));

    // Every codec of parquet_compression, and a clear error for an unknown one.
    for (name, codec) in [
        ("zstd", "ZSTD"),
        ("gzip", "GZIP"),
        ("brotli", "BROTLI"),
        ("lz4", "LZ4"),
        ("none", "UNCOMPRESSED"),
        ("snappy", "SNAPPY"),
    ] {
        let file = save(
            &server,
            &format!("{V}/datasets/velib/exports/parquet?parquet_compression={name}"),
            work.path(),
            &format!("{name}.parquet"),
        )
        .await;
        let v = py(PARQUET_SCRIPT, &file);
        assert_eq!(v["num_rows"], 1472, "{name}");
        let got = v["compression"].as_str().unwrap();
        assert!(got.starts_with(codec), "{name}: {got}");
    }
    let bad = server
        .json(&format!("{V}/datasets/velib/exports/parquet?parquet_compression=lzo"), 400)
        .await;
    assert_eq!(bad["error_code"], "InvalidRESTParameterError");
    assert!(bad["message"].as_str().unwrap().contains("snappy, zstd"), "{bad}");

    // A dataset without geometry: plain Parquet, no geo metadata.
    let file =
        save(&server, &format!("{V}/datasets/parkings/exports/parquet"), work.path(), "p.parquet")
            .await;
    let v = py(PARQUET_SCRIPT, &file);
    assert_eq!(v["num_rows"], expected(&server, "parkings", "").await.len());
    assert_eq!(v["geo"], Value::Null);
}

const XLSX_SCRIPT: &str = r#"
import json, sys
import openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
ws = wb.worksheets[0]
def cell(v):
    if hasattr(v, "isoformat"):
        return {"date": v.isoformat()}
    return v
rows = [[cell(c) for c in r] for r in ws.iter_rows(values_only=True)]
print(json.dumps({"sheets": wb.sheetnames, "rows": rows}))
"#;

#[tokio::test]
async fn xlsx_cells_are_typed_and_read_by_openpyxl() {
    let server = portal().await;
    let work = tempfile::tempdir().unwrap();
    let query = format!("{VELIB_QUERY}&timezone=Europe%2FParis");
    let rows = expected(&server, "velib", &query).await;
    let file =
        save(&server, &format!("{V}/datasets/velib/exports/xlsx?{query}"), work.path(), "v.xlsx")
            .await;
    let v = py(XLSX_SCRIPT, &file);
    let sheet = v["rows"].as_array().unwrap();
    assert_eq!(sheet.len(), rows.len() + 1);
    assert_eq!(
        sheet[0],
        json!([
            "identifiant_station",
            "nom_station",
            "capacite_de_la_station",
            "actualisation_de_la_donnee",
            "coordonnees_geographiques"
        ])
    );
    for (cells, row) in sheet[1..].iter().zip(&rows) {
        assert_eq!(cells[0], row["identifiant_station"], "numbers are numbers");
        assert_eq!(cells[1], row["nom_station"]);
        assert_eq!(cells[2], row["capacite_de_la_station"]);
        // The datetime, a date cell in the request's time zone: "2023-09-29T09:08:09+02:00".
        let text = row["actualisation_de_la_donnee"].as_str().unwrap();
        assert!(text.ends_with("+02:00"), "{text}");
        assert_eq!(cells[3]["date"].as_str().unwrap(), &text[..19]);
        // The point as text, latitude first, each number exact.
        let (lon, lat) = lon_lat(&row["coordonnees_geographiques"]);
        let text = cells[4].as_str().unwrap();
        let (a, b) = text.split_once(", ").unwrap();
        assert_eq!((a.parse::<f64>().unwrap(), b.parse::<f64>().unwrap()), (lat, lon));
    }
    // Labels as headers.
    let file = save(
        &server,
        &format!("{V}/datasets/velib/exports/xlsx?select=nom_station&limit=1&use_labels=true"),
        work.path(),
        "l.xlsx",
    )
    .await;
    assert_eq!(py(XLSX_SCRIPT, &file)["rows"][0], json!(["Nom station"]));
}

#[tokio::test]
async fn geo_formats_on_a_dataset_without_geometry_are_a_400_naming_the_formats_that_work() {
    let server = portal().await;
    for format in ["geojson", "shp", "kml", "gpx", "fgb"] {
        let v = server.json(&format!("{V}/datasets/parkings/exports/{format}"), 400).await;
        assert_eq!(v["error_code"], "InvalidRESTParameterError", "{format}");
        let message = v["message"].as_str().unwrap();
        assert!(message.contains(&format!("the {format} export needs a geometry")), "{message}");
        assert!(message.contains("csv, json, jsonl, xlsx, parquet"), "{message}");
    }
    let v =
        server.json(&format!("{V}/datasets/velib/exports/geojson?select=nom_station"), 400).await;
    assert!(v["message"].as_str().unwrap().contains("select parameter leaves out"), "{v}");
    for format in ["csv", "json", "jsonl", "xlsx", "parquet"] {
        let (status, ..) =
            download(&server, &format!("{V}/datasets/parkings/exports/{format}")).await;
        assert_eq!(status, 200, "{format}");
    }
    let v = server.json(&format!("{V}/datasets/parkings/exports/ov2"), 404).await;
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("csv, json, jsonl, geojson, xlsx, parquet, shp, kml, gpx, fgb"),
        "{v}"
    );
    let gpx = server.json(&format!("{V}/datasets/velib/exports/gpx?name_field=nope"), 400).await;
    assert_eq!(gpx["error_code"], "InvalidRESTParameterError");
}

#[tokio::test]
async fn content_types_file_names_format_list_and_compression() {
    let server = portal().await;
    let list = server.json(&format!("{V}/datasets/velib/exports"), 200).await;
    let rels: Vec<&str> =
        list["links"].as_array().unwrap().iter().map(|l| l["rel"].as_str().unwrap()).collect();
    assert_eq!(
        rels,
        [
            "csv",
            "json",
            "jsonl",
            "geojson",
            "xlsx",
            "parquet",
            "shp",
            "kml",
            "gpx",
            "fgb",
            "jsonld",
            "turtle",
            "rdfxml",
            "n3",
            "datapackage"
        ]
    );
    for (format, content_type, file) in [
        ("csv", "text/csv; charset=utf-8", "velib.csv"),
        ("json", "application/json; charset=utf-8", "velib.json"),
        ("jsonl", "application/jsonl; charset=utf-8", "velib.jsonl"),
        ("geojson", "application/geo+json", "velib.geojson"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "velib.xlsx"),
        ("parquet", "application/vnd.apache.parquet", "velib.parquet"),
        ("shp", "application/zip", "velib.zip"),
        ("kml", "application/vnd.google-earth.kml+xml", "velib.kml"),
        ("gpx", "application/gpx+xml", "velib.gpx"),
        ("fgb", "application/octet-stream", "velib.fgb"),
        ("jsonld", "application/ld+json", "velib.jsonld"),
        ("turtle", "text/turtle; charset=utf-8", "velib.ttl"),
        ("rdfxml", "application/rdf+xml", "velib.rdf"),
        ("n3", "text/n3; charset=utf-8", "velib.n3"),
        ("datapackage", "application/zip", "velib.zip"),
    ] {
        let path = format!("{V}/datasets/velib/exports/{format}?limit=20");
        let (status, ct, disposition, plain) = download(&server, &path).await;
        assert_eq!((status, ct.as_str()), (200, content_type), "{format}");
        assert_eq!(disposition, format!("attachment; filename=\"{file}\""));
        // compressed=true: a gzip file named .gz whose content is the same export. Spooled
        // formats are deterministic apart from time stamps inside zip containers, so compare
        // those by size only.
        let (status, ct, disposition, gz) =
            download(&server, &format!("{path}&compressed=true")).await;
        assert_eq!((status, ct.as_str()), (200, "application/gzip"), "{format}");
        assert_eq!(disposition, format!("attachment; filename=\"{file}.gz\""));
        let mut gunzip = Command::new("gzip")
            .arg("-dc")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("gzip");
        use std::io::Write;
        gunzip.stdin.take().unwrap().write_all(&gz).unwrap();
        let out = gunzip.wait_with_output().unwrap();
        assert!(out.status.success(), "{format}: not gzip");
        if matches!(format, "xlsx" | "shp") {
            assert_eq!(out.stdout.len(), plain.len(), "{format}");
        } else {
            assert_eq!(out.stdout, plain, "{format}");
        }
    }
}

#[tokio::test]
async fn demo_datasets_export_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::load_demo(dir.path()).await;
    let server = TestServer::start(dir).await;
    let work = tempfile::tempdir().unwrap();
    for dataset in ["toilettes-publiques", "lignes-tram"] {
        let rows = expected(&server, dataset, "").await;
        assert!(!rows.is_empty());
        for (format, name, prefix) in [
            ("geojson", "d.geojson", ""),
            ("kml", "d.kml", ""),
            ("shp", "d.zip", "/vsizip/"),
            ("fgb", "d.fgb", ""),
        ] {
            let file = save(
                &server,
                &format!("{V}/datasets/{dataset}/exports/{format}"),
                work.path(),
                name,
            )
            .await;
            let summary = ogr_summary(&format!("{prefix}{}", file.display()));
            assert!(
                summary.contains(&format!("Feature Count: {}", rows.len())),
                "{dataset} {format}: {summary}"
            );
        }
        let file =
            save(&server, &format!("{V}/datasets/{dataset}/exports/xlsx"), work.path(), "d.xlsx")
                .await;
        let sheet = py(XLSX_SCRIPT, &file);
        assert_eq!(sheet["rows"].as_array().unwrap().len(), rows.len() + 1);
        let file = save(
            &server,
            &format!("{V}/datasets/{dataset}/exports/parquet"),
            work.path(),
            "d.parquet",
        )
        .await;
        assert_eq!(py(PARQUET_SCRIPT, &file)["num_rows"], rows.len());
    }
    // Typed cells of the demo's boolean and date fields.
    let rows = expected(&server, "toilettes-publiques", "select=acces_pmr&limit=5").await;
    let file = save(
        &server,
        &format!("{V}/datasets/toilettes-publiques/exports/xlsx?select=acces_pmr&limit=5"),
        work.path(),
        "b.xlsx",
    )
    .await;
    let sheet = py(XLSX_SCRIPT, &file);
    for (cells, row) in sheet["rows"].as_array().unwrap()[1..].iter().zip(&rows) {
        assert_eq!(cells[0], row["acces_pmr"], "booleans are booleans");
    }
    let rows = expected(&server, "lignes-tram", "select=mise_en_service").await;
    let file = save(
        &server,
        &format!("{V}/datasets/lignes-tram/exports/xlsx?select=mise_en_service"),
        work.path(),
        "t.xlsx",
    )
    .await;
    let sheet = py(XLSX_SCRIPT, &file);
    for (cells, row) in sheet["rows"].as_array().unwrap()[1..].iter().zip(&rows) {
        match row["mise_en_service"].as_str() {
            Some(day) => assert_eq!(cells[0]["date"], format!("{day}T00:00:00"), "dates are dates"),
            None => assert_eq!(cells[0], Value::Null),
        }
    }
    // group_by applies to exports too.
    let groups = expected(
        &server,
        "toilettes-publiques",
        "select=acces_pmr,count(*)%20as%20n&group_by=acces_pmr",
    )
    .await;
    let file = save(&server, &format!("{V}/datasets/toilettes-publiques/exports/xlsx?select=acces_pmr,count(*)%20as%20n&group_by=acces_pmr"), work.path(), "g.xlsx").await;
    let sheet = py(XLSX_SCRIPT, &file);
    let cells: Vec<Value> = sheet["rows"].as_array().unwrap()[1..].to_vec();
    let want: Vec<Value> = groups.iter().map(|g| json!([g["acces_pmr"], g["n"]])).collect();
    assert_eq!(cells, want);
}

#[tokio::test]
async fn catalog_exports_list_the_datasets_with_the_catalog_query() {
    let server = portal().await;
    let list = server.json(&format!("{V}/exports"), 200).await;
    let rels: Vec<&str> =
        list["links"].as_array().unwrap().iter().map(|l| l["rel"].as_str().unwrap()).collect();
    assert_eq!(rels, ["csv", "json", "jsonl", "xlsx", "rss", "data.json"]);

    let all = server
        .json(
            &format!("{V}/datasets?limit=100&select=dataset_id,records_count&order_by=dataset_id"),
            200,
        )
        .await;
    let all = all["results"].as_array().unwrap().clone();
    assert_eq!(all.len(), 4);
    let (status, ct, disposition, body) =
        download(&server, &format!("{V}/exports/json?order_by=dataset_id")).await;
    assert_eq!((status, ct.as_str()), (200, "application/json; charset=utf-8"));
    assert_eq!(disposition, "attachment; filename=\"catalog.json\"");
    let rows: Vec<Value> = serde_json::from_slice(&body).unwrap();
    assert_eq!(rows.len(), all.len());
    for (row, want) in rows.iter().zip(&all) {
        assert_eq!(row["dataset_id"], want["dataset_id"]);
        assert_eq!(row["records_count"], want["records_count"]);
        for key in ["title", "description", "theme", "keyword", "publisher", "license", "modified"]
        {
            assert!(row.get(key).is_some(), "{key} missing in {row}");
        }
    }

    // where + order_by + limit, as on /catalog/datasets.
    let query = format!("where={}&order_by=records_count%20desc", enc("records_count > 20"));
    let want = server.json(&format!("{V}/datasets?limit=100&select=dataset_id&{query}"), 200).await;
    let want: Vec<Value> =
        want["results"].as_array().unwrap().iter().map(|r| r["dataset_id"].clone()).collect();
    assert!(want.len() >= 2 && want.len() < 4, "{want:?}");
    let (_, ct, _, csv) =
        download(&server, &format!("{V}/exports/csv?{query}&with_bom=false")).await;
    assert_eq!(ct, "text/csv; charset=utf-8");
    let csv = String::from_utf8(csv).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(';').collect();
    let id = header.iter().position(|h| *h == "dataset_id").unwrap();
    let got: Vec<Value> = lines.map(|l| Value::from(l.split(';').nth(id).unwrap())).collect();
    assert_eq!(got, want);
    let (_, _, _, one) = download(&server, &format!("{V}/exports/jsonl?{query}&limit=1")).await;
    assert_eq!(String::from_utf8(one).unwrap().lines().count(), 1);

    let work = tempfile::tempdir().unwrap();
    let file = save(
        &server,
        &format!("{V}/exports/xlsx?select=dataset_id,records_count&order_by=dataset_id"),
        work.path(),
        "c.xlsx",
    )
    .await;
    let sheet = py(XLSX_SCRIPT, &file);
    let cells: Vec<Value> = sheet["rows"].as_array().unwrap()[1..].to_vec();
    let want: Vec<Value> =
        all.iter().map(|r| json!([r["dataset_id"], r["records_count"]])).collect();
    assert_eq!(cells, want);

    let v = server.json(&format!("{V}/exports/geojson"), 404).await;
    assert!(v["message"].as_str().unwrap().contains("csv, json, jsonl, xlsx"), "{v}");
}

#[tokio::test]
async fn mixed_geometry_types_split_into_shapefile_layers_and_keep_records_without_geometry() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.geojson");
    let features = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nom": "a", "n": 1}, "geometry": {"type": "Point", "coordinates": [7.75, 48.58]}},
        {"type": "Feature", "properties": {"nom": "b", "n": 2}, "geometry": {"type": "LineString", "coordinates": [[7.7, 48.5], [7.8, 48.6]]}},
        {"type": "Feature", "properties": {"nom": "c", "n": 3}, "geometry": {"type": "Polygon", "coordinates": [[[7.0, 48.0], [8.0, 48.0], [8.0, 49.0], [7.0, 48.0]]]}},
        {"type": "Feature", "properties": {"nom": "d", "n": 4}, "geometry": null},
    ]});
    std::fs::write(&input, features.to_string()).unwrap();
    let data = tempfile::tempdir().unwrap();
    import(data.path(), &input, "mixed", ImportOptions::default());
    let server = TestServer::start(data).await;
    let work = tempfile::tempdir().unwrap();

    let zip = save(&server, &format!("{V}/datasets/mixed/exports/shp"), work.path(), "m.zip").await;
    let source = format!("/vsizip/{}", zip.display());
    for (layer, name, geometry) in [
        ("mixed_points", "a", "Point"),
        ("mixed_lines", "b", "LineString"),
        ("mixed_polygons", "c", "Polygon"),
    ] {
        let features = ogr_features(&source, Some(layer));
        assert_eq!(features.len(), 1, "{layer}");
        assert_eq!(features[0]["properties"]["nom"], name);
        assert_eq!(features[0]["geometry"]["type"], geometry);
    }
    let rest = ogr_features(&source, Some("mixed_no_geometry"));
    assert_eq!(rest.len(), 1);
    assert_eq!(
        (rest[0]["properties"]["nom"].clone(), rest[0]["geometry"].clone()),
        (json!("d"), Value::Null)
    );

    // FlatGeobuf: one layer of unknown type, the record without geometry included.
    let fgb = save(&server, &format!("{V}/datasets/mixed/exports/fgb"), work.path(), "m.fgb").await;
    let features = ogr_features(&fgb.to_string_lossy(), None);
    let types: Vec<Value> = features.iter().map(|f| f["geometry"]["type"].clone()).collect();
    assert_eq!(types, [json!("Point"), json!("LineString"), json!("Polygon"), Value::Null]);

    // GPX: the point and the polygon's centroid are waypoints, the line a track.
    let gpx = save(&server, &format!("{V}/datasets/mixed/exports/gpx"), work.path(), "m.gpx").await;
    let waypoints = ogr_features(&gpx.to_string_lossy(), Some("waypoints"));
    let names: Vec<Value> =
        waypoints.iter().map(|w| w["properties"]["kleber_nom"].clone()).collect();
    assert_eq!(names, [json!("a"), json!("c")]);
    assert_eq!(ogr_features(&gpx.to_string_lossy(), Some("tracks")).len(), 1);
}
