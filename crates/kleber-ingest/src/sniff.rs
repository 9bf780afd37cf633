//! What a file holds, told from its first bytes: a KML or GPX document, other XML, an HTML
//! page, a known binary format, or text that may be delimited.

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Content {
    /// An XML document whose root element is `kml`.
    Kml,
    /// An XML document whose root element is `gpx`.
    Gpx,
    /// An HTML page; the text it starts with.
    Html(String),
    /// Another XML document; its root element.
    Xml(String),
    /// A zip archive (an XLSX/ODS workbook, or a KMZ, a zipped CSV or shapefile...).
    Zip,
    /// An old Office compound file (XLS).
    Ole,
    /// An Apache Parquet file (`PAR1` then binary).
    Parquet,
    /// An SQLite database (a GeoPackage, or another database).
    Sqlite,
    /// An ESRI shapefile's geometry file (`.shp`).
    Shp,
    /// Another binary format: what it is, with an article (`a PDF document`).
    Binary(&'static str),
    /// Anything else: text (or unknown bytes) for the format's own reader.
    Other,
}

/// Binary signatures, except zip and OLE which spreadsheets use.
const SIGNATURES: &[(&[u8], &str)] = &[
    (b"%PDF", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xFF\xD8\xFF", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\0", "a TIFF image"),
    (b"MM\0*", "a TIFF image"),
    (b"\x1F\x8B", "a gzip archive"),
    (b"7z\xBC\xAF\x27\x1C", "a 7z archive"),
    (b"Rar!\x1A\x07", "a RAR archive"),
    (b"\xFD7zXZ\0", "an xz archive"),
    (b"BZh91AY&SY", "a bzip2 archive"),
    (b"{\\rtf", "an RTF document"),
];

/// What a file of format `f` is, with an article, for messages: `a GeoPackage`.
pub(crate) fn described(f: crate::Format) -> &'static str {
    use crate::Format as F;
    match f {
        F::Csv => "a CSV file",
        F::Json => "a JSON document",
        F::Jsonl => "a JSON Lines file",
        F::GeoJson => "a GeoJSON document",
        F::Xlsx => "an Excel workbook",
        F::Ods => "an OpenDocument spreadsheet",
        F::Kml => "a KML document",
        F::Gpx => "a GPX document",
        F::Shapefile => "an ESRI shapefile",
        F::GeoPackage => "a GeoPackage",
        F::Parquet => "a Parquet file",
    }
}

/// How a file of a binary or XML format starts, for the message refusing one that does not.
pub(crate) fn missing_signature(f: crate::Format) -> &'static str {
    use crate::Format as F;
    match f {
        F::Xlsx | F::Ods => "it is neither a zip archive nor an old Office file",
        F::Kml => "it is not an XML document with a <kml> root element",
        F::Gpx => "it is not an XML document with a <gpx> root element",
        F::Shapefile => "it does not start with the shapefile file code (9994)",
        F::GeoPackage => "it does not start with the SQLite header (`SQLite format 3`)",
        F::Parquet => "it does not start with the Parquet magic bytes (`PAR1`)",
        F::Csv | F::Json | F::Jsonl | F::GeoJson => "it is not text",
    }
}

/// Elements an HTML page starts with when it has no `<html>` or doctype.
const HTML_ROOTS: &[&str] = &["html", "head", "body", "div", "table", "p", "meta", "title"];

/// Tells what `head`, the first bytes of a file, holds.
pub(crate) fn sniff(head: &[u8]) -> Content {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Content::Zip;
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Content::Ole;
    }
    if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        return Content::Binary("a WebP image");
    }
    // `PAR1` could start a CSV header; a Parquet file has binary right after it.
    if head.starts_with(b"PAR1") && head[..head.len().min(64)].contains(&0) {
        return Content::Parquet;
    }
    if head.starts_with(b"SQLite format 3\0") {
        return Content::Sqlite;
    }
    // File code 9994, then five unused zeros, as every .shp (and .shx) starts.
    if head.starts_with(b"\0\0\x27\x0A\0\0\0\0") {
        return Content::Shp;
    }
    if let Some((_, what)) = SIGNATURES.iter().find(|(sig, _)| head.starts_with(sig)) {
        return Content::Binary(what);
    }
    markup(&text_of(head))
}

/// The start of the file as text: UTF-16 decoded, a UTF-8 BOM removed, other bytes kept as
/// they are (only ASCII matters here).
fn text_of(head: &[u8]) -> String {
    let head = &head[..head.len().min(8192)];
    match encoding_rs::Encoding::for_bom(head) {
        Some((enc, bom)) => enc.decode_without_bom_handling(&head[bom..]).0.into_owned(),
        None => String::from_utf8_lossy(head).into_owned(),
    }
}

/// Markup: an XML prolog, a doctype, a comment or a root element that is closed further on.
fn markup(text: &str) -> Content {
    let mut rest = text.trim_start();
    let start: String = rest.chars().take(40).collect();
    let mut declared = false;
    // Skip the prolog: XML declaration, processing instructions, comments, doctype.
    loop {
        if let Some(after) = rest.strip_prefix("<?") {
            declared = true;
            let Some(end) = after.find("?>") else { break };
            rest = after[end + 2..].trim_start();
        } else if let Some(after) = rest.strip_prefix("<!--") {
            declared = true;
            let Some(end) = after.find("-->") else { break };
            rest = after[end + 3..].trim_start();
        } else if rest.get(..9).is_some_and(|s| s.eq_ignore_ascii_case("<!doctype")) {
            if rest[9..].trim_start().get(..4).is_some_and(|s| s.eq_ignore_ascii_case("html")) {
                return Content::Html(start);
            }
            declared = true;
            let Some(end) = rest.find('>') else { break };
            rest = rest[end + 1..].trim_start();
        } else {
            break;
        }
    }
    let Some(after) = rest.strip_prefix('<') else {
        return if declared { Content::Xml(String::new()) } else { Content::Other };
    };
    let name: String = after
        .chars()
        .take_while(|c| c.is_alphanumeric() || matches!(c, ':' | '_' | '-' | '.'))
        .collect();
    if name.is_empty() || !name.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        return if declared { Content::Xml(String::new()) } else { Content::Other };
    }
    let local = name.rsplit(':').next().unwrap_or(&name).to_ascii_lowercase();
    match local.as_str() {
        "kml" => return Content::Kml,
        "gpx" => return Content::Gpx,
        "html" => return Content::Html(start),
        _ => {}
    }
    // Without a prolog, `<b>;c` may be a CSV header: markup only if some element is closed.
    if declared || rest.contains("</") || rest.contains("/>") {
        if HTML_ROOTS.contains(&local.as_str()) { Content::Html(start) } else { Content::Xml(name) }
    } else {
        Content::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(sniff(b"<?xml version=\"1.0\"?>\n<kml xmlns=\"x\">"), Content::Kml);
        assert_eq!(sniff(b"\xEF\xBB\xBF  <gpx version=\"1.1\">"), Content::Gpx);
        assert_eq!(sniff(b"<?xml version='1.0'?><!-- c --><kml:kml>"), Content::Kml);
        assert!(matches!(sniff(b"<!DOCTYPE html><html>"), Content::Html(_)));
        assert!(matches!(sniff(b"<html><body>"), Content::Html(_)));
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><osm/>"), Content::Xml("osm".to_owned()));
        assert_eq!(sniff(b"<b>;c\n1;2\n"), Content::Other);
        assert_eq!(sniff(b"a;b\n1;2\n"), Content::Other);
        assert_eq!(sniff(b"%PDF-1.4"), Content::Binary("a PDF document"));
        assert_eq!(sniff(b"PK\x03\x04rest"), Content::Zip);
        assert_eq!(sniff(b"PAR1\x15\x04\x15\0"), Content::Parquet);
        assert_eq!(sniff(b"SQLite format 3\0\x10\0"), Content::Sqlite);
        assert_eq!(sniff(b"\0\0\x27\x0A\0\0\0\0\0\0\0\0"), Content::Shp);
        assert_eq!(sniff(b"PAR1;PAR2\n1;2\n"), Content::Other);
        // UTF-16 with BOM.
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("<kml>".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(sniff(&utf16), Content::Kml);
    }
}
