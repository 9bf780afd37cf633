//! Files that cannot be read at all: an error, and no output file left.

use kleber_ingest::{Error, Format, ImportOptions};
use kleber_types::FieldType;

use crate::util::{files_in, temp_file, try_import};

fn fails(name: &str, content: &[u8], opts: &ImportOptions) -> Error {
    let (_d, p) = temp_file(name, content);
    match try_import(&p, opts) {
        Ok(_) => panic!("{name} was imported"),
        Err((e, out_dir)) => {
            assert!(
                files_in(out_dir.path()).is_empty(),
                "output left: {:?}",
                files_in(out_dir.path())
            );
            e
        }
    }
}

#[test]
fn binary_garbage_csv() {
    let garbage: Vec<u8> =
        (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let e = fails("data.csv", &garbage, &ImportOptions::default());
    assert!(matches!(e, Error::Unreadable { .. }), "{e}");
    assert!(e.to_string().contains("binary"), "{e}");
}

#[test]
fn invalid_json_says_where() {
    let e = fails("data.json", b"[\n  {\"a\": 1},\n  {\"a\": }\n]", &ImportOptions::default());
    let msg = e.to_string();
    assert!(matches!(e, Error::Unreadable { .. }), "{msg}");
    assert!(msg.contains("line 3, column"), "{msg}");
}

#[test]
fn xlsx_that_is_not_a_zip() {
    let e = fails("data.xlsx", b"this is not a workbook", &ImportOptions::default());
    assert!(matches!(e, Error::Unreadable { .. }), "{e}");
}

#[test]
fn empty_inputs() {
    for (name, content) in [
        ("e.csv", &b""[..]),
        ("e.csv", b"\n\n  \n"),
        ("e.csv", b"\xef\xbb\xbf"),
        ("e.json", b"[]"),
        ("e.geojson", br#"{"type": "FeatureCollection", "features": []}"#),
        ("e.jsonl", b"\n\n"),
    ] {
        let e = fails(name, content, &ImportOptions::default());
        assert!(matches!(e, Error::Empty { .. }), "{name} {content:?}: {e}");
    }
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().expect("dir");
    let e =
        try_import(&dir.path().join("nope.csv"), &ImportOptions::default()).err().expect("error").0;
    assert!(matches!(e, Error::FileNotFound { .. }), "{e}");
}

#[test]
fn unknown_override_names_the_fields() {
    let mut opts = ImportOptions::default();
    opts.type_overrides.insert("nope".to_owned(), FieldType::Int);
    let e = fails("t.csv", b"Nom;age\nBob;3\n", &opts);
    let msg = e.to_string();
    assert!(matches!(e, Error::BadOption { .. }), "{msg}");
    assert!(msg.contains("nope") && msg.contains("nom (\"Nom\")") && msg.contains("age"), "{msg}");
}

#[test]
fn multivalued_forced_to_int_is_refused() {
    let mut opts = ImportOptions::default();
    opts.type_overrides.insert("a".to_owned(), FieldType::Int);
    opts.multivalued.insert("a".to_owned(), ",".to_owned());
    let e = fails("t.csv", b"a;b\n1;2\n", &opts);
    assert!(matches!(e, Error::BadOption { .. }), "{e}");
}

#[test]
fn forced_format_that_does_not_match() {
    let opts = ImportOptions { format: Some(Format::GeoJson), ..ImportOptions::default() };
    let e = fails("t.json", b"[{\"a\": 1}]", &opts);
    assert!(matches!(e, Error::Unreadable { .. }), "{e}");
    let opts = ImportOptions { format: Some(Format::Json), ..ImportOptions::default() };
    let e = fails("t.csv", b"a;b\n1;2\n", &opts);
    assert!(matches!(e, Error::Unreadable { .. }), "{e}");
}

#[test]
fn jsonl_of_garbage() {
    let e = fails("t.jsonl", b"not json\nnor this\n", &ImportOptions::default());
    assert!(matches!(e, Error::Unreadable { .. }), "{e}");
}
