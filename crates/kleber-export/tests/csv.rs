//! CSV output, parsed back with the `csv` crate.

mod common;

use kleber_export::{
    CsvOptions, CsvWriter, EncodeOptions, RecordEncoder, RecordWriter, UTF8_BOM, encode_all,
};

fn encoder() -> RecordEncoder {
    RecordEncoder::for_fields(&common::fields(), EncodeOptions::default())
}

/// Encodes the test batches and parses them back: (header, records).
fn round_trip(options: &CsvOptions) -> (Vec<u8>, Vec<String>, Vec<Vec<String>>) {
    let (batches, _) = common::batches();
    let mut writer = CsvWriter::new(encoder(), options.clone());
    let bytes = encode_all(&mut writer, &batches).expect("encodes");
    assert_eq!(writer.rows_written(), 5);
    let body = if options.with_bom {
        assert!(bytes.starts_with(UTF8_BOM), "BOM first");
        &bytes[UTF8_BOM.len()..]
    } else {
        assert!(!bytes.starts_with(UTF8_BOM));
        &bytes[..]
    };
    let mut reader =
        csv::ReaderBuilder::new().delimiter(options.delimiter).has_headers(true).from_reader(body);
    let header = reader.headers().expect("header").iter().map(str::to_owned).collect();
    let records = reader
        .records()
        .map(|r| r.expect("valid record").iter().map(str::to_owned).collect())
        .collect();
    (bytes, header, records)
}

fn expected_records(list_separator: &str) -> Vec<Vec<String>> {
    let s = |v: &str| v.to_owned();
    vec![
        vec![
            s("Saint-Leu"),
            format!("a{list_separator}b"),
            s("29278"),
            s("0.5"),
            s("true"),
            s("2019-03-26"),
            s("2023-09-29T07:08:09+00:00"),
            s("46.7306, 4.50083"),
            s(common::SQUARE),
        ],
        vec![
            s("Il a dit \"bonjour\"\net s'en est allé; vite, très vite"),
            s(""),
            s("-1"),
            s(""),
            s("false"),
            s("1969-12-31"),
            s("2023-09-29T07:08:09.656000+00:00"),
            s("48.865983, 2.275725"),
            s(common::LINE),
        ],
        vec![s(""); 9],
        vec![
            s("été ☀ 漢字 🎉"),
            format!("x;y{list_separator}{list_separator}z\""),
            i64::MAX.to_string(),
            s("12.0"),
            s("true"),
            s("1970-01-01"),
            s("1969-12-31T23:59:59.999999+00:00"),
            s("-33.25, -0.5"),
            s(r#"{"type":"Point","coordinates":[1.0,2.0]}"#),
        ],
        vec![
            s("tab\there\r\ncrlf"),
            s("solo"),
            i64::MIN.to_string(),
            s(""),
            s("false"),
            s("9999-12-31"),
            s("1970-01-01T00:00:00+00:00"),
            s("90.0, 180.0"),
            s(""),
        ],
    ]
}

fn keys() -> Vec<String> {
    common::fields().into_iter().map(|f| f.name).collect()
}

#[test]
fn default_dialect_round_trips() {
    let options = CsvOptions::default();
    assert_eq!(options.delimiter, b';');
    assert!(options.with_bom);
    let (bytes, header, records) = round_trip(&options);
    assert_eq!(header, keys());
    assert_eq!(records, expected_records(","));
    let text = String::from_utf8(bytes[3..].to_vec()).expect("utf-8");
    // Geo point needs no quotes with `;`; values with `;` do.
    assert!(text.contains(";46.7306, 4.50083;"), "{text}");
    assert!(text.contains("\"Il a dit \"\"bonjour\"\"\net s'en est allé; vite, très vite\";"));
    assert!(text.starts_with("name;tags;count;ratio;flag;day;at;point;shape\r\n"));
    // Null row: every field empty.
    assert!(text.contains("\r\n;;;;;;;;\r\n"), "{text}");
}

#[test]
fn comma_dialect_without_bom_round_trips() {
    let options = CsvOptions {
        delimiter: b',',
        list_separator: "|".to_owned(),
        with_bom: false,
        crlf: false,
        ..CsvOptions::default()
    };
    let (bytes, header, records) = round_trip(&options);
    assert_eq!(header, keys());
    assert_eq!(records, expected_records("|"));
    let text = String::from_utf8(bytes).expect("utf-8");
    assert!(text.starts_with("name,tags,count,ratio,flag,day,at,point,shape\n"));
    // With `,` the geo point must be quoted.
    assert!(text.contains(",\"46.7306, 4.50083\","), "{text}");
    assert!(!text.contains("\r\n;"));
}

#[test]
fn quote_all_and_labels() {
    let options = CsvOptions { quote_all: true, use_labels: true, ..CsvOptions::default() };
    let (bytes, header, records) = round_trip(&options);
    let labels: Vec<String> = common::fields().into_iter().map(|f| f.label).collect();
    assert_eq!(header, labels);
    assert_eq!(records, expected_records(","));
    let text = String::from_utf8(bytes[3..].to_vec()).expect("utf-8");
    let first_lines: Vec<&str> = text.split("\r\n").take(2).collect();
    assert_eq!(
        first_lines[0],
        "\"Nom de l'objet\";\"Étiquettes\";\"Nombre\";\"Ratio\";\"Drapeau\";\"Jour\";\
         \"Horodatage\";\"Coordonnées\";\"Forme\""
    );
    // Textual fields quoted, numbers and booleans not.
    assert!(
        first_lines[1].starts_with(
            "\"Saint-Leu\";\"a,b\";29278;0.5;true;\"2019-03-26\";\
             \"2023-09-29T07:08:09+00:00\";\"46.7306, 4.50083\";\"{"
        ),
        "{}",
        first_lines[1]
    );
    // Nulls stay empty and unquoted.
    assert!(text.contains("\r\n;;;;;;;;\r\n"));
}

#[test]
fn empty_export_is_bom_and_header() {
    let mut writer = CsvWriter::new(encoder(), CsvOptions::default());
    let bytes = encode_all(&mut writer, []).expect("encodes");
    assert_eq!(bytes, b"\xEF\xBB\xBFname;tags;count;ratio;flag;day;at;point;shape\r\n");

    // The header is written once however the writer is driven.
    let mut writer =
        CsvWriter::new(encoder(), CsvOptions { with_bom: false, ..Default::default() });
    let mut out = Vec::new();
    writer.write_batch(&common::batch(&common::rows()[..1]), &mut out).expect("writes");
    writer.begin(&mut out).expect("no-op");
    writer.write_batch(&common::batch(&common::rows()[..1]), &mut out).expect("writes");
    writer.finish(&mut out).expect("finishes");
    let text = String::from_utf8(out).expect("utf-8");
    assert_eq!(text.matches("name;tags").count(), 1);
    assert_eq!(text.matches("Saint-Leu").count(), 2);
}
