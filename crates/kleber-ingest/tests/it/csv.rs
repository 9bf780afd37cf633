//! CSV: real exports and synthetic cases.

use kleber_ingest::{ImportOptions, LocationKind};
use kleber_types::FieldType;

use crate::util::{import, micros, real, temp_file};

fn opts() -> ImportOptions {
    ImportOptions::default()
}

#[test]
fn velib_utf8_bom_csv() {
    let path = real("paris_velib-disponibilite-en-temps-reel_utf8-bom.csv");
    let i = import(&path, &opts());
    let o = &i.outcome;
    assert_eq!(o.rows, 1472);
    assert_eq!(o.detected.encoding.as_deref(), Some("UTF-8"));
    assert_eq!(o.detected.delimiter, Some(';'));
    assert_eq!(o.detected.has_header, Some(true));
    assert_eq!(o.fields[0].label, "Identifiant station", "no BOM in the first label");
    assert_eq!(o.fields[0].name, "identifiant_station");
    let cap = i.field("capacite_de_la_station");
    assert_eq!(cap.label, "Capacité de la station");
    assert_eq!(cap.field_type, FieldType::Int);
    assert_eq!(i.type_of("coordonnees_geographiques"), FieldType::GeoPoint2d);
    assert_eq!(i.type_of("actualisation_de_la_donnee"), FieldType::Datetime);
    assert_eq!(i.type_of("nom_station"), FieldType::Text);
    assert!(i.field("actualisation_de_la_donnee").annotations.contains_key("facet"));

    // Values read back equal the source, row by row, for a few columns.
    let text = std::fs::read_to_string(&path).expect("utf8");
    let mut rdr = csv::ReaderBuilder::new().delimiter(b';').from_reader(text.as_bytes());
    for (row, rec) in rdr.records().enumerate() {
        let rec = rec.expect("record");
        assert_eq!(i.int("identifiant_station", row), rec[0].parse().ok(), "row {row}");
        assert_eq!(i.str("nom_station", row).as_deref(), Some(&rec[1]), "row {row}");
        assert_eq!(i.int("capacite_de_la_station", row), rec[3].parse().ok(), "row {row}");
        assert_eq!(i.ts("actualisation_de_la_donnee", row), Some(micros(&rec[10])), "row {row}");
        let (lat, lon) = rec[11].split_once(", ").expect("lat, lon");
        assert_eq!(
            i.point("coordonnees_geographiques", row),
            Some((lon.parse().expect("lon"), lat.parse().expect("lat"))),
            "row {row}"
        );
    }
    assert_eq!(i.str("nom_station", 0).as_deref(), Some("Benjamin Godard - Victor Hugo"));
    assert_eq!(i.ts("actualisation_de_la_donnee", 0), Some(micros("2023-09-29T07:08:09Z")));
    assert_eq!(i.point("coordonnees_geographiques", 0), Some((2.275725, 48.865983)));
}

#[test]
fn velib_latin1_without_header_and_single_quotes() {
    let i = import(&real("paris_velib-disponibilite-en-temps-reel_latin1-noheader.csv"), &opts());
    let o = &i.outcome;
    assert_eq!(o.rows, 1471);
    assert_eq!(o.fields.len(), 13);
    assert_eq!(o.detected.has_header, Some(false));
    assert_eq!(o.detected.quote, Some('\''));
    assert_eq!(o.detected.delimiter, Some(';'));
    assert_eq!(o.detected.encoding.as_deref(), Some("windows-1252"));
    assert_eq!(i.names()[..3], ["column_1", "column_2", "column_3"]);
    assert_eq!(i.type_of("column_1"), FieldType::Int);
    assert_eq!(i.type_of("column_4"), FieldType::Int);
    assert_eq!(i.type_of("column_11"), FieldType::Datetime);
    // Quotes stripped, Latin-1 decoded.
    assert_eq!(i.str("column_2", 0).as_deref(), Some("Mairie de Rosny-sous-Bois"));
    assert_eq!(i.int("column_1", 0), Some(31104));
    let r = i.find("column_2", "Jourdan - Stade Charléty");
    assert_eq!(i.int("column_1", r), Some(14014));
    assert_eq!(i.str("column_13", r).as_deref(), Some("Paris"));
    assert_eq!(i.ts("column_11", 0), Some(micros("2023-11-05T20:41:57+01:00")));
}

#[test]
fn strasbourg_parkings_csv() {
    let i = import(&real("strasbourg_occupation-parkings-temps-reel.csv"), &opts());
    assert_eq!(i.outcome.rows, 28);
    assert_eq!(
        i.names(),
        [
            "nom_parking",
            "idsurfs",
            "ident",
            "etat",
            "etat_descriptif",
            "total",
            "libre",
            "infousager"
        ]
    );
    assert_eq!(i.field("ident").label, "Ident");
    assert_eq!(i.type_of("total"), FieldType::Int);
    assert_eq!(i.type_of("libre"), FieldType::Int);
    // The last row has "OUVERT" in an otherwise numeric column: text, nothing nulled.
    assert_eq!(i.type_of("infousager"), FieldType::Text);
    assert_eq!(i.str("infousager", 0).as_deref(), Some("310"));
    assert_eq!(i.str("infousager", 27).as_deref(), Some("OUVERT"));
    assert_eq!(i.str("nom_parking", 5).as_deref(), Some("Parking Sainte Aurélie Gare"));
    assert_eq!(i.int("total", 0), Some(460));
    assert!(i.field("etat_descriptif").annotations.contains_key("facet"));
}

#[test]
fn wrong_field_count_is_rejected_with_its_line() {
    let (_d, p) = temp_file("t.csv", b"a;b\n1;2\n3;4\n5\n6;7\n\n8;9;10\n");
    let i = import(&p, &opts());
    let o = &i.outcome;
    assert_eq!(o.rows, 3);
    assert_eq!(o.rejected.len(), 2);
    assert_eq!(o.rejected[0].line, 4);
    assert_eq!(o.rejected[0].location_kind, LocationKind::Line);
    assert_eq!(o.rejected[0].reason, "expected 2 fields, found 1");
    assert_eq!(o.rejected[1].line, 7, "the empty line 6 is skipped but counted");
    assert_eq!(o.rejected[1].reason, "expected 2 fields, found 3");
    assert_eq!(i.int("a", 2), Some(6));
}

#[test]
fn override_rejects_values_that_do_not_fit() {
    let (_d, p) = temp_file("t.csv", b"id;name\n1;x\nabc;y\n3;z\n");
    // Without override: text, every value kept.
    let i = import(&p, &opts());
    assert_eq!(i.type_of("id"), FieldType::Text);
    assert_eq!(i.str("id", 1).as_deref(), Some("abc"));
    // With override: the row is rejected, never nulled.
    let mut o = opts();
    o.type_overrides.insert("id".to_owned(), FieldType::Int);
    let i = import(&p, &o);
    assert_eq!(i.type_of("id"), FieldType::Int);
    assert_eq!(i.outcome.rows, 2);
    let r = &i.outcome.rejected;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].line, 3);
    assert_eq!(r[0].field.as_deref(), Some("id"));
    assert_eq!(r[0].value.as_deref(), Some("abc"));
    assert_eq!(r[0].reason, "\"abc\" is not an int");
    assert_eq!((i.int("id", 0), i.int("id", 1)), (Some(1), Some(3)));
    assert_eq!(i.str("name", 1).as_deref(), Some("z"));
}

#[test]
fn override_by_header_or_technical_name() {
    let (_d, p) = temp_file("t.csv", "Capacité;Nom\n1;a\n2;b\n".as_bytes());
    for key in ["Capacité", "capacite"] {
        let mut o = opts();
        o.type_overrides.insert(key.to_owned(), FieldType::Double);
        o.type_overrides.insert("Nom".to_owned(), FieldType::Text);
        let i = import(&p, &o);
        assert_eq!(i.type_of("capacite"), FieldType::Double, "{key}");
        assert_eq!(i.double("capacite", 1), Some(2.0));
    }
    let mut o = opts();
    o.type_overrides.insert("capacite".to_owned(), FieldType::Date);
    let i = import(&p, &o);
    assert_eq!(i.outcome.rows, 0);
    assert_eq!(i.outcome.rejected.len(), 2);
    assert_eq!(i.outcome.rejected[0].reason, "\"1\" is not a date");
}

#[test]
fn quoted_fields_spanning_lines_keep_line_numbers_right() {
    let (_d, p) = temp_file(
        "t.csv",
        b"a,b\r\n1,\"line one\r\nline two, with comma\"\r\n2,\"x \"\"quoted\"\"\"\r\n3\r\n4,y\r\n",
    );
    let i = import(&p, &opts());
    assert_eq!(i.outcome.detected.delimiter, Some(','));
    assert_eq!(i.outcome.rows, 3);
    assert_eq!(i.str("b", 0).as_deref(), Some("line one\r\nline two, with comma"));
    assert_eq!(i.str("b", 1).as_deref(), Some("x \"quoted\""));
    assert_eq!(i.outcome.rejected.len(), 1);
    assert_eq!(i.outcome.rejected[0].line, 5);
}

#[test]
fn decimal_comma_when_the_delimiter_is_not_a_comma() {
    let (_d, p) = temp_file("t.csv", b"x;y\n1,5;a\n2;b\n-0,25;c\n");
    let i = import(&p, &opts());
    assert_eq!(i.type_of("x"), FieldType::Double);
    assert_eq!(
        (0..3).map(|r| i.double("x", r)).collect::<Vec<_>>(),
        [Some(1.5), Some(2.0), Some(-0.25)]
    );
    // With a comma delimiter, "1,5" is two fields.
    let (_d, p) = temp_file("t.csv", b"x,y\n\"1,5\",a\n");
    let i = import(&p, &opts());
    assert_eq!(i.type_of("x"), FieldType::Text);
}

#[test]
fn header_detection_both_ways_and_forced() {
    let (_d, p) = temp_file("t.csv", b"nom;age;inscrit\nBob;31;2020-01-02\nAl;42;2021-03-04\n");
    let i = import(&p, &opts());
    assert_eq!(i.outcome.detected.has_header, Some(true));
    assert_eq!(i.names(), ["nom", "age", "inscrit"]);
    assert_eq!(i.outcome.rows, 2);
    assert_eq!(i.type_of("inscrit"), FieldType::Date);

    let (_d, p) = temp_file("t.csv", b"Bob;31;2020-01-02\nAl;42;2021-03-04\n");
    let i = import(&p, &opts());
    assert_eq!(i.outcome.detected.has_header, Some(false));
    assert_eq!(i.names(), ["column_1", "column_2", "column_3"]);
    assert_eq!(i.outcome.rows, 2);
    assert_eq!(i.type_of("column_2"), FieldType::Int);
    assert_eq!(i.date("column_3", 0), Some(18263));

    let mut o = opts();
    o.has_header = Some(true);
    let i = import(&p, &o);
    assert_eq!(i.outcome.rows, 1);
    assert_eq!(i.names(), ["bob", "f_31", "f_2020_01_02"]);
}

#[test]
fn multivalued_split() {
    let (_d, p) = temp_file("t.csv", b"id;tags\n1;a, b\n2;c\n3;\n");
    let mut o = opts();
    o.multivalued.insert("tags".to_owned(), ",".to_owned());
    let i = import(&p, &o);
    let f = i.field("tags");
    assert_eq!(f.field_type, FieldType::Text);
    assert_eq!(f.annotations.get("multivalued"), Some(&vec![",".to_owned()]));
    assert_eq!(i.list("tags", 0), Some(vec!["a".to_owned(), "b".to_owned()]));
    assert_eq!(i.list("tags", 1), Some(vec!["c".to_owned()]));
    assert_eq!(i.list("tags", 2), None);
}

#[test]
fn types_booleans_dates_datetimes_leading_zeros() {
    let (_d, p) = temp_file(
        "t.csv",
        b"flag,zip,when,at,mixed,n\n\
          true,01234,31/12/2020,2020-01-01 10:00,2020-01-01,1\n\
          FALSE,67000,2020/06/01,2020-01-01T10:00:00.5+02:00,2020-01-02T00:00:00Z,2.5\n\
          ,,,,,\n",
    );
    let i = import(&p, &opts());
    assert_eq!(i.type_of("flag"), FieldType::Boolean);
    assert_eq!(i.type_of("zip"), FieldType::Text);
    assert_eq!(i.type_of("when"), FieldType::Date);
    assert_eq!(i.type_of("at"), FieldType::Datetime);
    assert_eq!(i.type_of("mixed"), FieldType::Datetime);
    assert_eq!(i.type_of("n"), FieldType::Double);
    assert_eq!(i.boolean("flag", 1), Some(false));
    assert_eq!(i.str("zip", 0).as_deref(), Some("01234"));
    assert_eq!(i.date("when", 0), Some(18627));
    assert_eq!(i.date("when", 1), Some(18414));
    // Without an offset, UTC.
    assert_eq!(i.ts("at", 0), Some(micros("2020-01-01T10:00:00Z")));
    assert_eq!(i.ts("at", 1), Some(micros("2020-01-01T08:00:00.5Z")));
    assert_eq!(i.ts("mixed", 0), Some(micros("2020-01-01T00:00:00Z")));
    assert_eq!(i.double("n", 0), Some(1.0));
    assert_eq!(i.boolean("flag", 2), None);
    assert_eq!(i.str("zip", 2), None);
}

#[test]
fn tab_separated_and_latin1_header() {
    let (_d, p) = temp_file("t.tsv", b"Ann\xe9e\tVal\xe9ur\n2020\t1.5\n2021\t2\n");
    let i = import(&p, &opts());
    assert_eq!(i.outcome.detected.delimiter, Some('\t'));
    assert_eq!(i.outcome.detected.encoding.as_deref(), Some("windows-1252"));
    assert_eq!(i.names(), ["annee", "valeur"]);
    assert_eq!(i.field("annee").label, "Année");
    assert_eq!(i.int("annee", 1), Some(2021));
}

#[test]
fn utf8_file_with_a_latin1_byte_after_the_sample() {
    // More than the 1 MiB sample of ASCII, then a Latin-1 "é".
    let mut content = b"name,value\n".to_vec();
    while content.len() < 1_200_000 {
        content.extend_from_slice(b"plain ascii,1\n");
    }
    content.extend_from_slice(b"caf\xe9,2\n");
    let (_d, p) = temp_file("t.csv", &content);
    let i = import(&p, &opts());
    assert_eq!(i.outcome.detected.encoding.as_deref(), Some("windows-1252"));
    let last = i.rows() - 1;
    assert_eq!(i.str("name", last).as_deref(), Some("café"));
    assert!(i.outcome.rejected.is_empty());
}

#[test]
fn lat_lon_columns_add_a_point() {
    let (_d, p) = temp_file("t.csv", b"name,lat,lon\na,48.58,7.75\nb,,\nc,48.6,7.7\n");
    let i = import(&p, &opts());
    assert_eq!(i.names(), ["name", "lat", "lon", "geo_point_2d"]);
    assert_eq!(i.type_of("geo_point_2d"), FieldType::GeoPoint2d);
    assert_eq!(i.point("geo_point_2d", 0), Some((7.75, 48.58)));
    assert_eq!(i.point("geo_point_2d", 1), None);
    assert_eq!(i.double("lat", 2), Some(48.6));
}

#[test]
fn duplicate_and_empty_headers_get_unique_names() {
    let (_d, p) = temp_file("t.csv", b"Nom;nom;;\xef\xbb\xbfX\na;b;c;d\n");
    let i = import(&p, &opts());
    // An empty name is named by its position, as in a file without header and in XLSX.
    assert_eq!(i.names(), ["nom", "nom_2", "column_3", "x"]);
    assert_eq!(i.field("column_3").label, "column_3");
    assert_eq!(i.field("nom_2").label, "nom");
}

#[test]
fn geo_shape_text_column() {
    let (_d, p) = temp_file(
        "t.csv",
        br#"id;shape
1;"{""type"": ""LineString"", ""coordinates"": [[7.7, 48.5], [7.8, 48.6]]}"
2;{"type": "Point", "coordinates": [7.7, 48.5]}
"#,
    );
    let i = import(&p, &opts());
    assert_eq!(i.type_of("shape"), FieldType::GeoShape);
    assert_eq!(
        i.str("shape", 0).as_deref(),
        Some(r#"{"type":"LineString","coordinates":[[7.7,48.5],[7.8,48.6]]}"#)
    );
}

#[test]
fn line_numbers_stay_right_across_buffers_in_a_large_file() {
    // ~4 MB: larger than the detection sample and many read buffers, with multi-line quoted
    // fields, CRLF, empty lines and bad rows at known lines.
    let mut content = b"id,note,value\r\n".to_vec();
    let mut line = 2u64;
    let mut expected_bad = Vec::new();
    for i in 0..150_000u64 {
        if i % 1000 == 999 {
            content.extend_from_slice(format!("{i},\"two\r\nlines\",{i}.5\r\n").as_bytes());
            line += 2;
        } else if i % 25_000 == 7 {
            content.extend_from_slice(format!("{i},missing\r\n").as_bytes());
            expected_bad.push(line);
            line += 1;
        } else if i % 10_000 == 3 {
            content.extend_from_slice(b"\r\n");
            line += 1;
            content.extend_from_slice(format!("{i},plain,{i}\r\n").as_bytes());
            line += 1;
        } else {
            content.extend_from_slice(format!("{i},plain,{i}\r\n").as_bytes());
            line += 1;
        }
    }
    let (_d, p) = temp_file("big.csv", &content);
    let i = import(&p, &opts());
    let lines: Vec<u64> = i.outcome.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, expected_bad);
    assert_eq!(i.outcome.rows, 150_000 - expected_bad.len() as u64);
    assert_eq!(i.type_of("value"), FieldType::Double);
    assert_eq!(i.type_of("id"), FieldType::Int);
    assert_eq!(i.str("note", 998).as_deref(), Some("two\r\nlines"), "row of id 999");
    assert!(i.progress.len() >= 4, "progress reported during both passes");
    assert!(i.progress.windows(2).all(|w| w[0].bytes_done <= w[1].bytes_done));
}

#[test]
fn trailing_delimiter_on_data_rows_is_tolerated() {
    let (_d, p) = temp_file("t.csv", b"a;b\n1;2;\n3;4\n5;6;7\n");
    let i = import(&p, &opts());
    assert_eq!(i.outcome.rows, 2);
    assert_eq!(i.outcome.rejected.len(), 1);
    assert_eq!(i.outcome.rejected[0].line, 4);
    assert_eq!(i.int("b", 0), Some(2));
}
