//! Files that are not delimited text: never read as CSV; KML and GPX read as what they are,
//! anything else refused with what it is and how to fix it, leaving nothing behind.

use kleber_ingest::{Error, Format, ImportOptions};
use kleber_types::FieldType;

use crate::util::{files_in, import, temp_file, try_import};

/// Imports `content` under `name` and expects an error; checks nothing was left behind.
fn refused(name: &str, content: &[u8], opts: &ImportOptions) -> String {
    let (_dir, path) = temp_file(name, content);
    match try_import(&path, opts) {
        Ok(i) => panic!("{name} was imported as {}: {:?}", i.outcome.format, i.names()),
        Err((e, out_dir)) => {
            assert!(files_in(out_dir.path()).is_empty(), "{name}: output left behind");
            e.to_string()
        }
    }
}

const HTML: &str = "<!DOCTYPE html>\n<html lang=\"fr\"><head><title>Erreur</title></head>\n\
                    <body><p>Page introuvable;</p>\n<p>a,b</p></body></html>\n";

#[test]
fn non_tabular_content_is_never_read_as_csv() {
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("page.csv", HTML.as_bytes().to_vec(), "HTML page"),
        ("page.txt", b"<html><body>x;y</body></html>".to_vec(), "HTML page"),
        (
            "data.csv",
            b"<?xml version=\"1.0\"?>\n<root><row a=\"1;2\"/></root>\n".to_vec(),
            "XML document",
        ),
        ("doc.csv", b"%PDF-1.7\n%\xe2\xe3\n1 0 obj\n".to_vec(), "PDF document"),
        ("img.csv", png.to_vec(), "PNG image"),
        ("img.csv", b"\xff\xd8\xff\xe0\0\x10JFIF".to_vec(), "JPEG image"),
        ("img.csv", b"GIF89a\x01\0\x01\0".to_vec(), "GIF image"),
        ("a.csv", b"PK\x03\x04\x14\0\0\0".to_vec(), "zip archive"),
        ("a.csv", b"\x1f\x8b\x08\0\0\0\0\0".to_vec(), "gzip"),
        ("a.csv", b"7z\xbc\xaf\x27\x1c\0\x04".to_vec(), "7z archive"),
        ("a.csv", b"Rar!\x1a\x07\x01\0".to_vec(), "RAR archive"),
    ];
    for (name, content, what) in cases {
        let msg = refused(name, &content, &ImportOptions::default());
        assert!(msg.contains(what), "{name}: {msg}");
        assert!(msg.contains(name), "{name}: the message names the file: {msg}");
    }
    // Even when the format is given.
    let forced = ImportOptions { format: Some(Format::Csv), ..ImportOptions::default() };
    let msg = refused("page.csv", HTML.as_bytes(), &forced);
    assert!(msg.contains("HTML page") && msg.contains("export"), "{msg}");
}

#[test]
fn text_that_merely_starts_with_a_bracket_is_still_csv() {
    let (_dir, path) = temp_file("data.csv", b"<b>;c\n1;2\n");
    let i = import(&path, &ImportOptions::default());
    assert_eq!(i.names(), ["b", "c"]);
    assert_eq!(i.int("c", 0), Some(2));
}

#[test]
fn an_unknown_xml_document_is_refused_with_the_formats_that_are_read() {
    let xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<osm version=\"0.6\"><node id=\"1\"/></osm>\n";
    for name in ["data.xml", "data.csv", "data"] {
        let msg = refused(name, xml.as_bytes(), &ImportOptions::default());
        assert!(msg.contains("XML document") && msg.contains("KML"), "{name}: {msg}");
    }
}

#[test]
fn errors_of_refused_files_are_unreadable_or_unknown_format() {
    let (_dir, path) = temp_file("page.csv", HTML.as_bytes());
    let err = try_import(&path, &ImportOptions::default()).err().map(|(e, _)| e);
    assert!(matches!(err, Some(Error::Unreadable { .. })), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// KML

const KML: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
<Document>
  <name>Parcs</name>
  <Style id="s"><IconStyle><scale>1.1</scale></IconStyle></Style>
  <Folder>
    <name>Jardins</name>
    <Placemark>
      <name>Parc de l'Orangerie</name>
      <description><![CDATA[<p>Le plus ancien parc</p>]]></description>
      <ExtendedData>
        <Data name="surface_ha"><value>26</value></Data>
        <Data name="ouvert"><value>true</value></Data>
        <Data name="note"><value>4.5</value></Data>
        <Data name="code"><value>0067</value></Data>
      </ExtendedData>
      <Point><coordinates>7.7745,48.5916,0</coordinates></Point>
    </Placemark>
    <Placemark>
      <name>Parc de la Citadelle</name>
      <ExtendedData>
        <Data name="surface_ha"><value>11</value></Data>
        <Data name="ouvert"><value>false</value></Data>
        <Data name="note"><value>4</value></Data>
        <Data name="code"><value>12</value></Data>
      </ExtendedData>
      <Point><coordinates>7.7776,48.5787</coordinates></Point>
    </Placemark>
  </Folder>
  <Placemark>
    <name>Place Kléber</name>
    <Point><coordinates>7.7458,48.5833</coordinates></Point>
  </Placemark>
</Document>
</kml>
"##;

const KML_SHAPES: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
  <Placemark><name>Ligne</name>
    <ExtendedData><SchemaData schemaUrl="#s"><SimpleData name="longueur">1,2 km</SimpleData></SchemaData></ExtendedData>
    <LineString><coordinates>7.70,48.50 7.80,48.60</coordinates></LineString></Placemark>
  <Placemark><name>Zone</name>
    <Polygon><outerBoundaryIs><LinearRing><coordinates>7.7,48.5 7.8,48.5 7.8,48.6 7.7,48.5</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
  <Placemark><name>Sans géométrie</name></Placemark>
</Document></kml>
"##;

#[test]
fn kml_placemarks_become_records_with_their_extended_data() {
    for name in ["parcs.kml", "parcs.csv", "parcs.xml", "parcs"] {
        let (_dir, path) = temp_file(name, KML.as_bytes());
        let i = import(&path, &ImportOptions::default());
        assert_eq!(i.outcome.format, Format::Kml, "{name}");
        assert_eq!(
            i.names(),
            [
                "name",
                "description",
                "folder",
                "surface_ha",
                "ouvert",
                "note",
                "code",
                "geo_point_2d"
            ],
            "{name}"
        );
        assert_eq!(i.rows(), 3);
        assert!(i.outcome.rejected.is_empty(), "{:?}", i.outcome.rejected);
        assert_eq!(i.str("name", 2).as_deref(), Some("Place Kléber"));
        assert_eq!(i.str("description", 0).as_deref(), Some("<p>Le plus ancien parc</p>"));
        assert_eq!(i.str("description", 1), None);
        assert_eq!(i.str("folder", 0).as_deref(), Some("Jardins"));
        assert_eq!(i.str("folder", 2), None, "outside any folder");
        assert_eq!(i.type_of("surface_ha"), FieldType::Int);
        assert_eq!(i.int("surface_ha", 1), Some(11));
        assert_eq!(i.type_of("ouvert"), FieldType::Boolean);
        assert_eq!(i.boolean("ouvert", 1), Some(false));
        assert_eq!(i.type_of("note"), FieldType::Double);
        assert_eq!(i.double("note", 0), Some(4.5));
        // A leading zero keeps the column text, values unchanged.
        assert_eq!(i.type_of("code"), FieldType::Text);
        assert_eq!(i.str("code", 0).as_deref(), Some("0067"));
        assert_eq!(i.str("code", 1).as_deref(), Some("12"));
        assert_eq!(i.type_of("geo_point_2d"), FieldType::GeoPoint2d);
        assert_eq!(i.point("geo_point_2d", 0), Some((7.7745, 48.5916)));
        assert_eq!(i.point("geo_point_2d", 2), Some((7.7458, 48.5833)));
    }
}

#[test]
fn kml_lines_and_polygons_become_a_geo_shape() {
    let (_dir, path) = temp_file("zones.kml", KML_SHAPES.as_bytes());
    let i = import(&path, &ImportOptions::default());
    assert_eq!(i.names(), ["name", "longueur", "geo_shape"]);
    assert_eq!(i.type_of("geo_shape"), FieldType::GeoShape);
    assert_eq!(i.str("longueur", 0).as_deref(), Some("1,2 km"));
    let shape = |row| -> serde_json::Value {
        serde_json::from_str(&i.str("geo_shape", row).expect("shape")).expect("json")
    };
    assert_eq!(
        shape(0),
        serde_json::json!({"type": "LineString", "coordinates": [[7.7, 48.5], [7.8, 48.6]]})
    );
    assert_eq!(shape(1)["type"], "Polygon");
    assert_eq!(shape(1)["coordinates"][0].as_array().map(Vec::len), Some(4));
    assert_eq!(i.str("geo_shape", 2), None, "a placemark without geometry keeps its row");
}

// ---------------------------------------------------------------------------------------------
// GPX

const GPX: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
  <wpt lat="48.5816" lon="7.7509"><ele>142.5</ele><time>2024-05-01T08:30:00Z</time><name>Cathédrale</name><desc>Parvis</desc></wpt>
  <wpt lat="48.5734" lon="7.7521"><ele>140</ele><name>Gare</name></wpt>
  <rte><name>Boucle</name><rtept lat="48.58" lon="7.75"/><rtept lat="48.59" lon="7.76"/></rte>
  <trk><name>Sortie</name><type>vélo</type>
    <trkseg><trkpt lat="48.50" lon="7.70"/><trkpt lat="48.51" lon="7.71"/></trkseg>
    <trkseg><trkpt lat="48.52" lon="7.72"/><trkpt lat="48.53" lon="7.73"/></trkseg>
  </trk>
</gpx>
"##;

#[test]
fn gpx_waypoints_routes_and_tracks_become_records() {
    let (_dir, path) = temp_file("sortie.gpx", GPX.as_bytes());
    let i = import(&path, &ImportOptions::default());
    assert_eq!(i.outcome.format, Format::Gpx);
    assert_eq!(
        i.names(),
        ["kind", "name", "description", "type", "elevation", "time", "geo_shape"]
    );
    assert_eq!(i.rows(), 4);
    assert_eq!(i.str("kind", 0).as_deref(), Some("waypoint"));
    assert_eq!(i.str("kind", 2).as_deref(), Some("route"));
    assert_eq!(i.str("kind", 3).as_deref(), Some("track"));
    assert_eq!(i.str("name", 0).as_deref(), Some("Cathédrale"));
    assert_eq!(i.str("type", 3).as_deref(), Some("vélo"));
    assert_eq!(i.type_of("elevation"), FieldType::Double);
    assert_eq!(i.double("elevation", 0), Some(142.5));
    assert_eq!(i.type_of("time"), FieldType::Datetime);
    assert_eq!(i.ts("time", 0), Some(crate::util::micros("2024-05-01T08:30:00Z")));
    let shape = |row| -> serde_json::Value {
        serde_json::from_str(&i.str("geo_shape", row).expect("shape")).expect("json")
    };
    assert_eq!(shape(0), serde_json::json!({"type": "Point", "coordinates": [7.7509, 48.5816]}));
    assert_eq!(shape(2)["type"], "LineString");
    assert_eq!(
        shape(3),
        serde_json::json!({"type": "MultiLineString", "coordinates": [
            [[7.70, 48.50], [7.71, 48.51]], [[7.72, 48.52], [7.73, 48.53]]]})
    );
}

#[test]
fn gpx_with_waypoints_only_gives_points() {
    let only = GPX.split("<rte>").next().unwrap_or_default().to_owned() + "</gpx>\n";
    let (_dir, path) = temp_file("points.gpx", only.as_bytes());
    let i = import(&path, &ImportOptions::default());
    assert_eq!(i.type_of("geo_point_2d"), FieldType::GeoPoint2d);
    assert_eq!(i.point("geo_point_2d", 1), Some((7.7521, 48.5734)));
}

#[test]
fn broken_kml_and_gpx_are_refused_saying_where() {
    let cut = &KML[..KML.len() / 2];
    let msg = refused("cut.kml", cut.as_bytes(), &ImportOptions::default());
    assert!(msg.contains("KML") || msg.contains("XML"), "{msg}");
    // Cut after a complete element: the parser would wait for the rest forever.
    let cut = "<?xml version=\"1.0\"?><kml><Document><Placemark><name>a</name>";
    let msg = refused("cut.kml", cut.as_bytes(), &ImportOptions::default());
    assert!(msg.contains("3 element(s) still open") && msg.contains("cut short"), "{msg}");
    let msg = refused("mismatch.kml", b"<kml><Document></Folder></kml>", &ImportOptions::default());
    assert!(msg.contains("not well-formed near byte"), "{msg}");
    let msg = refused(
        "bad.gpx",
        b"<gpx version=\"1.1\"><wpt lat=\"x\" lon=\"1\"/></gpx>",
        &ImportOptions::default(),
    );
    assert!(msg.contains("GPX"), "{msg}");
    let msg = refused("empty.kml", b"<kml><Document></Document></kml>", &ImportOptions::default());
    assert!(msg.contains("no placemark"), "{msg}");
    // Deeply nested folders meet the nesting limit instead of the parser's recursion.
    let deep =
        "<kml>".to_owned() + &"<Folder>".repeat(10_000) + &"</Folder>".repeat(10_000) + "</kml>";
    let msg = refused("deep.kml", deep.as_bytes(), &ImportOptions::default());
    assert!(msg.contains("nesting limit"), "{msg}");
}

#[test]
fn a_format_given_against_the_content_is_refused() {
    let csv = ImportOptions { format: Some(Format::Csv), ..ImportOptions::default() };
    let msg = refused("parcs.csv", KML.as_bytes(), &csv);
    assert!(msg.contains("KML document") && msg.contains("format kml"), "{msg}");
    let kml = ImportOptions { format: Some(Format::Kml), ..ImportOptions::default() };
    let msg = refused("data.csv", b"a;b\n1;2\n", &kml);
    assert!(msg.contains("not KML"), "{msg}");
    let gpx = ImportOptions { format: Some(Format::Gpx), ..ImportOptions::default() };
    let msg = refused("parcs.kml", KML.as_bytes(), &gpx);
    assert!(msg.contains("format kml"), "{msg}");
}

#[test]
fn kml_and_gpx_cut_or_damaged_anywhere_end_in_a_result() {
    // The parsers build trees from events; on a document cut short some of their loops would
    // wait for an end tag forever. Every prefix and every one-byte deletion must end, within
    // a deadline, in an import or an error that leaves nothing behind.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let dir = tempfile::tempdir().expect("dir");
        let mut counts = (0usize, 0usize);
        for (name, doc) in [("a.kml", KML_SHAPES), ("a.gpx", GPX)] {
            let bytes = doc.as_bytes();
            let mut variants: Vec<Vec<u8>> =
                (1..bytes.len()).map(|n| bytes[..n].to_vec()).collect();
            for i in (0..bytes.len()).step_by(3) {
                let mut v = bytes.to_vec();
                v.remove(i);
                variants.push(v);
            }
            for v in variants {
                let input = dir.path().join(name);
                std::fs::write(&input, &v).expect("write");
                let out = dir.path().join("out.parquet");
                match kleber_ingest::import_file(
                    &input,
                    &out,
                    &ImportOptions::default(),
                    &mut |_| {},
                ) {
                    Ok(_) => counts.0 += 1,
                    Err(e) => {
                        assert!(!out.exists(), "{e}");
                        counts.1 += 1;
                    }
                }
                let _ = std::fs::remove_file(&out);
            }
        }
        tx.send(counts).expect("send");
    });
    let (ok, err) = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("a damaged KML or GPX document made the import hang");
    assert!(ok > 0 && err > 0, "ok {ok}, err {err}");
}

#[test]
fn a_kml_document_beyond_the_xml_size_limit_is_refused_before_it_is_parsed() {
    let dir = tempfile::tempdir().expect("dir");
    let input = dir.path().join("huge.kml");
    std::fs::write(&input, KML).expect("write");
    // Sparse: the size is checked before a byte beyond the first ones is read.
    let f = std::fs::OpenOptions::new().write(true).open(&input).expect("open");
    f.set_len(kleber_ingest::limits::MAX_XML_BYTES + 1).expect("grow");
    let out = dir.path().join("out.parquet");
    let err = kleber_ingest::import_file(&input, &out, &ImportOptions::default(), &mut |_| {})
        .expect_err("too large");
    assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("more than 64 MiB, the XML size limit") && msg.contains("GeoJSON"),
        "{msg}"
    );
    assert!(!out.exists());
}

// ---------------------------------------------------------------------------------------------
// KML written by another program: GDAL's ogr2ogr from the real GeoJSON files.

/// The coordinates of a GeoJSON geometry text, flattened.
fn flat_coords(shape: &str) -> Vec<f64> {
    fn walk(v: &serde_json::Value, out: &mut Vec<f64>) {
        match v {
            serde_json::Value::Number(n) => out.push(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let v: serde_json::Value = serde_json::from_str(shape).expect("geometry JSON");
    let mut out = Vec::new();
    walk(&v["coordinates"], &mut out);
    out
}

#[test]
fn kml_written_by_gdal_from_real_geojson_imports_to_the_same_records() {
    let dir = tempfile::tempdir().expect("dir");
    for (file, geometry) in [
        ("strasbourg_parcs-jardins_points.geojson", "geo_point_2d"),
        ("paris_arrondissements_polygons.geojson", "geo_shape"),
        ("strasbourg_trafic-temps-reel_lines.geojson", "geo_shape"),
    ] {
        let source = crate::util::real(file);
        let kml = dir.path().join(file.replace(".geojson", ".kml"));
        let out = std::process::Command::new("ogr2ogr")
            .args(["-f", "KML"])
            .arg(&kml)
            .arg(&source)
            .output()
            .expect("ogr2ogr (gdal-bin, installed by scripts/install-test-deps.sh)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let g = import(&source, &ImportOptions::default());
        let k = import(&kml, &ImportOptions::default());
        assert_eq!(k.outcome.format, Format::Kml);
        assert_eq!(k.rows(), g.rows(), "{file}");
        assert!(k.outcome.rejected.is_empty(), "{file}: {:?}", k.outcome.rejected);
        let mut compared = 0;
        for f in &g.outcome.fields {
            let t = f.field_type;
            if f.name == geometry
                || !matches!(t, FieldType::Text | FieldType::Int | FieldType::Double)
            {
                continue;
            }
            assert_eq!(k.type_of(&f.name), t, "{file}: {}", f.name);
            for row in 0..g.rows() {
                match t {
                    FieldType::Int => assert_eq!(k.int(&f.name, row), g.int(&f.name, row)),
                    FieldType::Double => {
                        let (a, b) = (k.double(&f.name, row), g.double(&f.name, row));
                        assert!(
                            a.zip(b)
                                .map_or(a == b, |(a, b)| (a - b).abs() <= 1e-9 * b.abs().max(1.0)),
                            "{file}: {} row {row}: {a:?} {b:?}",
                            f.name
                        );
                    }
                    _ => assert_eq!(k.str(&f.name, row), g.str(&f.name, row), "{file}: {}", f.name),
                }
            }
            compared += 1;
        }
        assert!(compared >= 2, "{file}: {compared} fields compared");
        assert_eq!(k.type_of(geometry), g.type_of(geometry), "{file}");
        for row in 0..g.rows() {
            if geometry == "geo_point_2d" {
                let (a, b) = (k.point(geometry, row), g.point(geometry, row));
                let (a, b) = (a.expect("kml point"), b.expect("geojson point"));
                assert!((a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9, "{file} row {row}");
            } else {
                let a = flat_coords(&k.str(geometry, row).expect("kml shape"));
                let b = flat_coords(&g.str(geometry, row).expect("geojson shape"));
                assert_eq!(a.len(), b.len(), "{file} row {row}");
                assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-9), "{file} row {row}");
            }
        }
    }
}
