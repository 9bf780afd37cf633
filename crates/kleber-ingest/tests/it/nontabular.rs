//! Files that are not delimited text: never read as CSV; KML and GPX read as what they are,
//! anything else refused with what it is and how to fix it, leaving nothing behind.

use kleber_ingest::{Error, Format, ImportOptions};

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
    let i = csv("<b>;c\n1;2\n");
    assert_eq!(i.names(), ["b", "c"]);
    assert_eq!(i.int("c", 0), Some(2));
}

#[test]
fn an_unknown_xml_document_is_refused_with_the_formats_that_are_read() {
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<osm version=\"0.6\"><node id=\"1\"/></osm>\n";
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
