//! Hostile files, generated here: each ends in a clear error naming the limit it meets (or in a
//! correct import) within bounded memory, and no output file is left behind on error.
//!
//! Memory is checked with the process's peak resident size (`VmHWM`): under nextest each test
//! is a process of its own; under `cargo test` the peak is shared by the tests that ran so far,
//! which only makes the check stricter.

use std::io::Write;
use std::path::Path;

use kleber_ingest::limits::{MAX_ARCHIVE_UNCOMPRESSED, MAX_RECORD_BYTES, MAX_RECORD_LINES};
use kleber_ingest::{Error, ImportOptions, LocationKind};
use kleber_types::FieldType;

use crate::util::{files_in, import, temp_file, try_import};

/// The peak resident size of this process, in MiB.
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kib / 1024
}

fn assert_peak_below(mib: u64, what: &str) {
    let peak = peak_rss_mib();
    assert!(peak < mib, "{what}: peak resident size {peak} MiB, expected below {mib} MiB");
}

/// Imports `path`, expecting an error and no output left.
fn refused(path: &Path) -> Error {
    match try_import(path, &ImportOptions::default()) {
        Ok(i) => panic!("{} was imported: {:?}", path.display(), i.outcome.rows),
        Err((e, out)) => {
            assert!(files_in(out.path()).is_empty(), "output left: {:?}", files_in(out.path()));
            e
        }
    }
}

fn too_large(e: &Error) -> &str {
    match e {
        Error::TooLarge { reason, .. } => reason,
        other => panic!("expected a limit error, got: {other}"),
    }
}

const MIB: u64 = 1 << 20;

// --- XLSX ---

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;
const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;

/// A minimal workbook whose only sheet has this `sheetData` content.
fn workbook(sheet_data: &str) -> Vec<u8> {
    let sheet = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{sheet_data}</sheetData></worksheet>"#
    );
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (name, text) in [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", RELS),
        ("xl/workbook.xml", WORKBOOK),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        ("xl/worksheets/sheet1.xml", sheet.as_str()),
    ] {
        zip.start_file(name, opts).expect("zip entry");
        zip.write_all(text.as_bytes()).expect("zip write");
    }
    zip.finish().expect("zip").into_inner()
}

#[test]
fn sparse_xlsx_with_cells_at_a1_and_xfd1048576_is_read_cell_by_cell() {
    let xlsx = workbook(concat!(
        r#"<row r="1"><c r="A1" t="inlineStr"><is><t>nom</t></is></c></row>"#,
        r#"<row r="2"><c r="A2" t="inlineStr"><is><t>Strasbourg</t></is></c></row>"#,
        r#"<row r="1048576"><c r="XFD1048576"><v>42</v></c></row>"#,
    ));
    let (_d, path) = temp_file("sparse.xlsx", &xlsx);
    let i = import(&path, &ImportOptions::default());
    // A dense grid would be 16,384 × 1,048,576 cells; the sheet has three.
    assert_eq!(i.outcome.rows, 2);
    assert_eq!(i.names(), ["nom", "column_16384"]);
    assert_eq!(i.str("nom", 0).as_deref(), Some("Strasbourg"));
    assert_eq!(i.int("column_16384", 0), None);
    assert_eq!(i.int("column_16384", 1), Some(42));
    // The last row keeps its sheet row number.
    let opts = ImportOptions {
        type_overrides: [("column_16384".to_owned(), FieldType::Boolean)].into(),
        ..ImportOptions::default()
    };
    let i = import(&path, &opts);
    assert_eq!(i.outcome.rows, 1);
    let issue = &i.outcome.rejected[0];
    assert_eq!((issue.line, issue.location_kind), (1_048_576, LocationKind::SheetRow));
    assert_peak_below(300, "sparse XLSX");
}

/// Found by the `xlsx` fuzz target: a cell reference with a long column (`PPP...PA1`) makes
/// calamine multiply past `u32::MAX`. With overflow checks (debug builds) calamine panics and
/// the import says the workbook is malformed; without them (release) the column wraps and the
/// cell is read sparsely, where a dense grid would have been allocated up to that column.
#[test]
fn a_cell_reference_with_a_huge_column_is_not_a_crash() {
    let column = "P".repeat(80);
    let xlsx = workbook(&format!(
        r#"<row r="1"><c r="A1" t="inlineStr"><is><t>nom</t></is></c><c r="{column}1" t="inlineStr"><is><t>x</t></is></c></row><row r="2"><c r="A2"><v>1</v></c></row>"#
    ));
    let (_d, path) = temp_file("column.xlsx", &xlsx);
    match try_import(&path, &ImportOptions::default()) {
        Err((Error::Unreadable { reason, .. }, out)) if cfg!(debug_assertions) => {
            assert!(reason.contains("the workbook is malformed"), "{reason}");
            assert!(files_in(out.path()).is_empty());
        }
        Ok(i) if !cfg!(debug_assertions) => {
            assert_eq!(i.outcome.rows, 1);
            assert_eq!(i.int("nom", 0), Some(1));
        }
        Ok(i) => panic!("imported with overflow checks on: {:?}", i.names()),
        Err((e, _)) => panic!("{e}"),
    }
    assert_peak_below(300, "huge column");
}

/// Deflate bits, least significant first (RFC 1951).
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u64, len: u32) {
        self.acc |= value << self.n;
        self.n += len;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code, sent most significant bit first.
    fn code(&mut self, code: u64, len: u32) {
        let reversed = (0..len).fold(0, |r, i| r | (((code >> i) & 1) << (len - 1 - i)));
        self.put(reversed, len);
    }
}

/// A deflate stream of `1 + 258 * matches` spaces, written directly (compressing a gigabyte
/// would take minutes in a debug build): one fixed-Huffman block, a literal space, then
/// `matches` copies of length 258 at distance 1, 13 bits each.
fn deflated_spaces(matches: u64) -> (Vec<u8>, u64) {
    let mut b = Bits::default();
    b.put(1, 1); // last block
    b.put(1, 2); // fixed Huffman codes
    b.code(0x30 + u64::from(b' '), 8);
    for _ in 0..matches {
        b.code(0b1100_0101, 8); // length code 285: 258 bytes
        b.code(0, 5); // distance code 0: distance 1
    }
    b.code(0, 7); // end of block
    if b.n > 0 {
        b.out.push(b.acc as u8);
    }
    (b.out, 1 + 258 * matches)
}

/// CRC-32 (IEEE), bit by bit: only small members need it.
fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |crc, &b| {
        (0..8).fold(
            crc ^ u32::from(b),
            |c, _| if c & 1 == 1 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 },
        )
    })
}

/// One member of a hand-written archive.
struct Member<'a> {
    name: &'a str,
    /// 0 stored, 8 deflated.
    method: u16,
    data: &'a [u8],
    crc: u32,
    /// The uncompressed size the directory declares.
    declared: u32,
}

impl<'a> Member<'a> {
    fn stored(name: &'a str, text: &'a str) -> Self {
        let data = text.as_bytes();
        Member { name, method: 0, data, crc: crc32(data), declared: data.len() as u32 }
    }
}

/// A zip archive of these members, written by hand so that a member may be a raw deflate
/// stream and declare any size.
fn zip_of(members: &[Member<'_>]) -> Vec<u8> {
    let mut z = Vec::new();
    let n16 = |z: &mut Vec<u8>, v: u16| z.extend_from_slice(&v.to_le_bytes());
    let n32 = |z: &mut Vec<u8>, v: u32| z.extend_from_slice(&v.to_le_bytes());
    let len32 = |n: usize| u32::try_from(n).expect("a small archive");
    let mut offsets = Vec::new();
    for m in members {
        offsets.push(len32(z.len()));
        n32(&mut z, 0x0403_4b50);
        for v in [20, 0, m.method, 0, 0x21] {
            n16(&mut z, v); // version, flags, method, time, date
        }
        for v in [m.crc, len32(m.data.len()), m.declared] {
            n32(&mut z, v);
        }
        n16(&mut z, m.name.len() as u16);
        n16(&mut z, 0);
        z.extend_from_slice(m.name.as_bytes());
        z.extend_from_slice(m.data);
    }
    let cd_start = len32(z.len());
    for (m, offset) in members.iter().zip(offsets) {
        n32(&mut z, 0x0201_4b50);
        for v in [20, 20, 0, m.method, 0, 0x21] {
            n16(&mut z, v); // made by, needed, flags, method, time, date
        }
        for v in [m.crc, len32(m.data.len()), m.declared] {
            n32(&mut z, v);
        }
        for v in [m.name.len() as u16, 0, 0, 0, 0] {
            n16(&mut z, v); // name, extra, comment, disk, internal attributes
        }
        n32(&mut z, 0); // external attributes
        n32(&mut z, offset);
        z.extend_from_slice(m.name.as_bytes());
    }
    let cd_size = len32(z.len()) - cd_start;
    n32(&mut z, 0x0605_4b50);
    let count = members.len() as u16;
    for v in [0, 0, count, count] {
        n16(&mut z, v);
    }
    n32(&mut z, cd_size);
    n32(&mut z, cd_start);
    n16(&mut z, 0);
    z
}

/// A workbook whose sheet is the deflate stream `sheet`, declaring `declared` bytes.
fn bomb_workbook(sheet: &[u8], declared: u32) -> Vec<u8> {
    zip_of(&[
        Member::stored("[Content_Types].xml", CONTENT_TYPES),
        Member::stored("_rels/.rels", RELS),
        Member::stored("xl/workbook.xml", WORKBOOK),
        Member::stored("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        Member { name: "xl/worksheets/sheet1.xml", method: 8, data: sheet, crc: 0, declared },
    ])
}

/// A sheet of spaces just beyond the archive limit.
fn bomb_stream() -> (Vec<u8>, u64) {
    deflated_spaces(MAX_ARCHIVE_UNCOMPRESSED / 258 + 1000)
}

#[test]
fn zip_bomb_declaring_its_size_is_refused_before_reading() {
    let (deflated, size) = bomb_stream();
    assert!(size > MAX_ARCHIVE_UNCOMPRESSED);
    let xlsx = bomb_workbook(&deflated, size as u32);
    assert!(xlsx.len() < 8 * MIB as usize, "the bomb is {} bytes", xlsx.len());
    let (_d, path) = temp_file("bomb.xlsx", &xlsx);
    let started = std::time::Instant::now();
    let e = refused(&path);
    let reason = too_large(&e);
    assert!(reason.contains("declares 1024 MiB uncompressed"), "{reason}");
    assert!(reason.contains("zip bomb") && reason.contains("archive size limit"), "{reason}");
    assert!(started.elapsed().as_secs() < 2, "the directory alone tells: {:?}", started.elapsed());
    assert_peak_below(300, "declared zip bomb");
}

#[test]
fn zip_bomb_lying_about_its_size_stops_at_the_declared_size() {
    // The zip reader stops a member at its declared size: the sheet reads as cut short.
    let (deflated, _) = bomb_stream();
    let (_d, path) = temp_file("liar.xlsx", &bomb_workbook(&deflated, 1000));
    let started = std::time::Instant::now();
    let e = refused(&path);
    assert!(matches!(e, Error::Unreadable { .. }), "{e}");
    assert!(e.to_string().contains("declared uncompressed size"), "{e}");
    assert!(started.elapsed().as_secs() < 2, "stopped early: {:?}", started.elapsed());
    assert_peak_below(300, "lying zip bomb");
}

#[test]
fn the_hand_written_archive_is_a_valid_workbook() {
    // The same archive with an honest small sheet imports: the bombs above fail for their
    // size, not for their form.
    let sheet = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>nom</t></is></c></row><row r="2"><c r="A2"><v>7</v></c></row></sheetData></worksheet>"#;
    let xlsx = zip_of(&[
        Member::stored("[Content_Types].xml", CONTENT_TYPES),
        Member::stored("_rels/.rels", RELS),
        Member::stored("xl/workbook.xml", WORKBOOK),
        Member::stored("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        Member::stored("xl/worksheets/sheet1.xml", sheet),
    ]);
    let (_d, path) = temp_file("honest.xlsx", &xlsx);
    let i = import(&path, &ImportOptions::default());
    assert_eq!(i.int("nom", 0), Some(7));
    // And a deflate stream of spaces written by hand is what it claims: 1 + 258 × n spaces.
    let (deflated, size) = deflated_spaces(3);
    let spaces = vec![b' '; 775];
    assert_eq!(size, 775);
    let archive = zip_of(&[Member {
        name: "spaces.txt",
        method: 8,
        data: &deflated,
        crc: crc32(&spaces),
        declared: 775,
    }]);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(archive)).expect("an archive");
    let mut read = Vec::new();
    std::io::Read::read_to_end(&mut archive.by_index(0).expect("the member"), &mut read)
        .expect("inflates with a good checksum");
    assert_eq!(read, spaces);
}

// --- JSON ---

const DEPTH: usize = 100_000;

fn nested(open: &str, inner: &str, close: &str) -> String {
    format!("{}{inner}{}", open.repeat(DEPTH), close.repeat(DEPTH))
}

#[test]
fn json_nested_100000_deep_names_the_nesting_limit() {
    let deep = nested("[", "", "]");
    let deep_obj = nested(r#"{"a":"#, "1", "}");
    let cases = [
        ("top.json", deep.clone()),
        ("item.json", format!(r#"[{{"ok":1}},{{"a":{deep}}}]"#)),
        ("object.json", format!(r#"[{{"a":{deep_obj}}}]"#)),
        ("records.json", format!(r#"{{"records":[{{"fields":{deep_obj}}}]}}"#)),
        (
            "feature.geojson",
            format!(
                r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"a":{deep}}},"geometry":null}}]}}"#
            ),
        ),
        ("single.geojson", format!(r#"{{"type":"Feature","properties":{deep_obj}}}"#)),
    ];
    for (name, content) in cases {
        let (_d, path) = temp_file(name, content.as_bytes());
        let e = refused(&path);
        let reason = too_large(&e);
        assert!(reason.contains("nested deeper than 128 levels, the nesting limit"), "{name}: {e}");
    }
    // JSON Lines: the line is rejected with the same reason; here it is the only one.
    let (_d, path) = temp_file("deep.jsonl", format!("{deep_obj}\n").as_bytes());
    let e = refused(&path);
    assert!(matches!(e, Error::Unreadable { .. }), "{e}");
    assert!(e.to_string().contains("nested deeper than 128 levels"), "{e}");
    let (_d, path) =
        temp_file("deep2.jsonl", format!("{{\"a\":1}}\n{deep}\n{{\"a\":2}}\n").as_bytes());
    let i = import(&path, &ImportOptions::default());
    assert_eq!(i.outcome.rows, 2);
    assert_eq!(i.outcome.rejected.len(), 1);
    assert_eq!(i.outcome.rejected[0].line, 2);
    assert!(i.outcome.rejected[0].reason.contains("the nesting limit"));
    assert_peak_below(300, "deep JSON");
}

/// A value of `len` bytes of text.
fn long_text(len: u64) -> String {
    "abcdefghijklmnopqrstuvwxyz0123456789 ".repeat(len as usize / 37 + 1)
}

#[test]
fn a_record_beyond_the_size_limit_is_refused_in_every_text_format() {
    let big = long_text(MAX_RECORD_BYTES + MIB);
    let cases = [
        ("line.csv", format!("nom,texte\na,b\nc,{big}\nd,e\n"), "CSV record starting at line 3"),
        ("line.jsonl", format!("{{\"a\":1}}\n{{\"a\":\"{big}\"}}\n"), "line 2 is longer than"),
        ("item.json", format!(r#"[{{"a":1}},{{"a":"{big}"}}]"#), "record 2 of the JSON"),
        (
            "feature.geojson",
            format!(
                r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"a":"{big}"}}}}]}}"#
            ),
            "the first record",
        ),
        // Outside the records too.
        ("meta.json", format!(r#"{{"meta":"{big}","records":[{{"a":1}}]}}"#), "the first record"),
    ];
    for (name, content, located) in cases {
        let (_d, path) = temp_file(name, content.as_bytes());
        let e = refused(&path);
        let reason = too_large(&e);
        assert!(reason.contains(located), "{name}: {reason}");
        assert!(reason.contains("32 MiB, the record size limit"), "{name}: {reason}");
    }
    assert_peak_below(600, "records beyond the size limit");
}

#[test]
fn records_just_below_the_size_limit_are_read() {
    let big = long_text(MAX_RECORD_BYTES - 2 * MIB);
    let (_d, path) =
        temp_file("big.jsonl", format!("{{\"a\":\"{big}\"}}\n{{\"a\":\"x\"}}\n").as_bytes());
    let i = import(&path, &ImportOptions::default());
    assert_eq!(i.outcome.rows, 2);
    assert_eq!(i.str("a", 0).map(|s| s.len()), Some(big.len()));
    let (_d, path) = temp_file("big.csv", format!("a,b\n\"{big}\",1\nx,2\n").as_bytes());
    let i = import(&path, &ImportOptions::default());
    assert_eq!(i.outcome.rows, 2);
    assert_eq!(i.str("a", 0).map(|s| s.len()), Some(big.len()));
    // CRLF line ends count once each: a quoted field just below the line limit is read.
    let breaks = "\r\n".repeat(MAX_RECORD_LINES - 10);
    let (_d, path) =
        temp_file("crlf.csv", format!("a,b\r\n\"x{breaks}y\",1\r\nz,2\r\n").as_bytes());
    let i = import(&path, &ImportOptions::default());
    assert_eq!(i.outcome.rows, 2);
    assert_eq!(i.str("a", 1).as_deref(), Some("z"));
}

// --- CSV ---

#[test]
fn unterminated_quote_in_a_small_csv_is_located() {
    let (_d, path) = temp_file("quote.csv", b"nom,n\na,1\n\"b,2\nc,3\nd,4\n");
    let i = import(&path, &ImportOptions::default());
    assert_eq!(i.outcome.rows, 1);
    let issue = &i.outcome.rejected[0];
    assert_eq!(issue.line, 3);
    assert!(issue.reason.starts_with("expected 2 fields, found 1"), "{}", issue.reason);
    assert!(issue.reason.contains("probably never closed"), "{}", issue.reason);
}

#[test]
fn unterminated_quote_in_a_large_csv_stops_at_the_record_limit() {
    // Long lines: the size limit is met before the line limit.
    let line = format!("{},z\n", "y".repeat(98));
    let rest = line.repeat((MAX_RECORD_BYTES + MIB) as usize / line.len());
    let (_d, path) = temp_file("quote.csv", format!("nom,n\na,1\nb,2\n\"c,3\n{rest}").as_bytes());
    let e = refused(&path);
    let reason = too_large(&e);
    assert!(reason.contains("record starting at line 4"), "{reason}");
    assert!(reason.contains("32 MiB, the record size limit"), "{reason}");
    assert!(reason.contains("quote opened in it is probably never closed"), "{reason}");
    // Short lines: the line limit is met first.
    let rest = "\n".repeat(MAX_RECORD_LINES + 10);
    let (_d, path) = temp_file("lines.csv", format!("nom,n\na,1\n\"b,2\n{rest}x,3\n").as_bytes());
    let e = refused(&path);
    let reason = too_large(&e);
    assert!(reason.contains("record starting at line 3"), "{reason}");
    assert!(reason.contains("spans more than 1000000 lines"), "{reason}");
    assert_peak_below(600, "unterminated quotes");
}

/// Records are read ahead on a thread of their own, in chunks of a thousand: rejected rows
/// and errors far into a file keep their exact lines.
#[test]
fn records_far_into_a_csv_keep_their_lines() {
    let mut text = String::from("nom,n\n");
    for i in 0..10_000 {
        if i == 5_000 {
            text.push_str("seul\n");
        }
        text.push_str(&format!("r{i},{i}\n"));
    }
    let (_d, path) = temp_file("far.csv", text.as_bytes());
    let i = import(&path, &ImportOptions::default());
    assert_eq!(i.outcome.rows, 10_000);
    assert_eq!(i.outcome.rejected.len(), 1, "{:?}", i.outcome.rejected);
    // Line 1 the header, r0..r4999 on lines 2..5001, then the short record.
    assert_eq!(i.outcome.rejected[0].line, 5_002);
    assert_eq!(i.str("nom", 9_999).as_deref(), Some("r9999"));
    // A quote never closed after those records (line 10,003): refused, located.
    text.push_str(&format!("\"x,1\n{}", "\n".repeat(MAX_RECORD_LINES + 10)));
    let (_d, path) = temp_file("far_quote.csv", text.as_bytes());
    let e = refused(&path);
    let reason = too_large(&e);
    assert!(reason.contains("record starting at line 10003"), "{reason}");
}

#[test]
fn zipped_csv_bomb_is_refused_before_reading_or_stopped_at_its_declared_size() {
    // A zip holding one "CSV" of spaces beyond the archive size limit: the same checks as a
    // workbook's, before anything is unzipped.
    let (deflated, size) = bomb_stream();
    let zip = zip_of(&[Member {
        name: "data.csv",
        method: 8,
        data: &deflated,
        crc: 0,
        declared: size as u32,
    }]);
    let (_d, path) = temp_file("bomb.zip", &zip);
    let started = std::time::Instant::now();
    let e = refused(&path);
    let reason = too_large(&e);
    assert!(reason.contains("declares 1024 MiB uncompressed"), "{reason}");
    assert!(reason.contains("zip bomb") && reason.contains("archive size limit"), "{reason}");
    assert!(started.elapsed().as_secs() < 2, "the directory alone tells: {:?}", started.elapsed());
    // Lying about its size: unzipping stops at the declared size.
    let liar =
        zip_of(&[Member { name: "data.csv", method: 8, data: &deflated, crc: 0, declared: 1000 }]);
    let (_d, path) = temp_file("liar.zip", &liar);
    let started = std::time::Instant::now();
    let e = refused(&path);
    assert!(matches!(e, Error::Unreadable { .. } | Error::TooLarge { .. }), "{e}");
    assert!(e.to_string().contains("data.csv"), "{e}");
    assert!(started.elapsed().as_secs() < 2, "stopped early: {:?}", started.elapsed());
    assert_peak_below(300, "lying zipped CSV bomb");
}
