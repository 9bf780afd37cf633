//! Every real file imports, with the row and column counts of SOURCES.md.

use kleber_ingest::{Format, ImportOptions};

use crate::util::{import, real_dir};

/// (file, format, rows, columns or 0 when not checked here).
const EXPECTED: &[(&str, Format, u64, usize)] = &[
    ("strasbourg_parkings_api-v1-search.json", Format::Json, 10, 17),
    ("strasbourg_occupation-parkings-temps-reel_api-v1-search-facet.json", Format::Json, 30, 8),
    ("strasbourg_occupation-parkings-temps-reel.csv", Format::Csv, 28, 8),
    ("strasbourg_frequentation-piscines-temps-reel_api-v1-download.json", Format::Json, 8, 8),
    ("strasbourg_trafic-temps-reel_lines.geojson", Format::GeoJson, 452, 0),
    ("strasbourg_stationnement-payant_polygons.geojson", Format::GeoJson, 15, 3),
    ("strasbourg_parcs-jardins_points.geojson", Format::GeoJson, 8, 0),
    ("strasbourg_boucles_multilines.geojson", Format::GeoJson, 29, 0),
    ("paris_velib-disponibilite-en-temps-reel_utf8-bom.csv", Format::Csv, 1472, 14),
    ("paris_velib-disponibilite-en-temps-reel_latin1-noheader.csv", Format::Csv, 1471, 13),
    ("paris_velib-disponibilite-en-temps-reel_api-v1-download.json", Format::Json, 1435, 6),
    ("paris_velib-disponibilite-en-temps-reel.xlsx", Format::Xlsx, 1471, 15),
    ("paris_arrondissements_polygons.geojson", Format::GeoJson, 20, 0),
];

#[test]
fn every_real_file_imports_with_its_row_count() {
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(real_dir())
        .expect("shared/data/real exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).expect("name").to_owned();
        let (_, format, rows, cols) = EXPECTED
            .iter()
            .find(|e| e.0 == name)
            .unwrap_or_else(|| panic!("{name} is not in the expected table: add it"));
        let imported = import(&path, &ImportOptions::default());
        let o = &imported.outcome;
        assert_eq!(o.format, *format, "{name}");
        assert_eq!(o.rows, *rows, "{name}: rows");
        assert_eq!(imported.rows() as u64, *rows, "{name}: rows in the Parquet file");
        assert!(o.rejected.is_empty(), "{name}: rejected {:?}", o.rejected);
        if *cols > 0 {
            assert_eq!(o.fields.len(), *cols, "{name}: fields {:?}", imported.names());
        }
        assert_eq!(o.bytes_read, std::fs::metadata(&path).expect("meta").len());
        seen += 1;
    }
    assert_eq!(seen, EXPECTED.len(), "every real file was imported");
}

#[test]
fn format_is_detected_from_content_without_extension() {
    let dir = tempfile::tempdir().expect("dir");
    for (name, format) in [
        ("strasbourg_occupation-parkings-temps-reel.csv", Format::Csv),
        ("paris_velib-disponibilite-en-temps-reel.xlsx", Format::Xlsx),
        ("strasbourg_frequentation-piscines-temps-reel_api-v1-download.json", Format::Json),
        ("strasbourg_stationnement-payant_polygons.geojson", Format::GeoJson),
    ] {
        let copy = dir.path().join(format!("upload-{}", format.name()));
        std::fs::copy(real_dir().join(name), &copy).expect("copy to temp");
        let imported = import(&copy, &ImportOptions::default());
        assert_eq!(imported.outcome.format, format, "{name}");
    }
}
