//! The bounds every reader enforces so that a hostile or broken file ends in a clear error
//! within bounded memory. Each is named in the error it causes and listed in `docs/import.md`.

/// The largest record: a CSV record (all its fields, quotes included), a JSON Lines line, or
/// one item of a JSON array or GeoJSON `features` (and any other single JSON value of the
/// document). An unterminated CSV quote makes the rest of the file one field and meets it.
pub const MAX_RECORD_BYTES: u64 = 32 << 20;

/// The most line breaks one CSV record may span (the reader keeps their offsets to locate
/// records by line).
pub const MAX_RECORD_LINES: usize = 1_000_000;

/// The most an archive (an XLSX, XLSB or ODS workbook, a KMZ, a zip holding a dataset) may
/// hold once decompressed, all its members together: a zip bomb is refused before any member
/// is parsed.
pub const MAX_ARCHIVE_UNCOMPRESSED: u64 = 1 << 30;

/// The most members an archive may have.
pub const MAX_ARCHIVE_ENTRIES: usize = 10_000;

/// How deep zip archives may nest: 1, a zip holding a dataset; a zip inside it is refused.
pub const MAX_ARCHIVE_NESTING: usize = 1;

/// The largest `.prj` (a shapefile's coordinate system, one WKT text).
pub const MAX_PRJ_BYTES: u64 = 64 << 10;

/// How deep JSON arrays and objects may nest (serde_json's own recursion limit).
pub const MAX_JSON_DEPTH: usize = 128;

/// The largest KML or GPX document: these are parsed whole into a tree (GeoJSON, read as a
/// stream, has no such limit).
pub const MAX_XML_BYTES: u64 = 64 << 20;

/// How deep XML elements may nest in a KML or GPX document (the parsers recurse).
pub const MAX_XML_DEPTH: usize = 128;

/// Text of a limit in bytes for messages: `32 MiB`.
pub(crate) fn mib(bytes: u64) -> String {
    format!("{} MiB", bytes >> 20)
}
