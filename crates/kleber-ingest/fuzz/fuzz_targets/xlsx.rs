//! The XLSX reader through `import_file`; see `common.rs`.
//!
//! Mutating a zip archive byte by byte mostly breaks its checksums, so the first byte chooses:
//! odd, the rest is the archive itself; even, the rest is the XML of the first sheet, wrapped
//! here in a minimal workbook (shared strings and all) so that the mutations reach calamine's
//! sheet reader and ours.
#![no_main]

mod common;

use std::io::Write;

use kleber_ingest::Format;
use libfuzzer_sys::fuzz_target;
use zip::write::SimpleFileOptions;

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;
const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;
const SHARED: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="3" uniqueCount="3"><si><t>nom</t></si><si><t>date</t></si><si><t>Strasbourg</t></si></sst>"#;

fn workbook(sheet: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let parts: [(&str, &[u8]); 6] = [
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", RELS.as_bytes()),
        ("xl/workbook.xml", WORKBOOK.as_bytes()),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()),
        ("xl/sharedStrings.xml", SHARED.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet),
    ];
    for (name, bytes) in parts {
        zip.start_file(name, opts).expect("zip entry");
        zip.write_all(bytes).expect("zip write");
    }
    zip.finish().expect("zip end").into_inner()
}

/// libFuzzer aborts on every panic, even one the importer catches. calamine's panics are caught
/// by `xlsx_in::import` (a clear "malformed workbook" error; its arithmetic overflows on long
/// cell references were found here and are a regression test): let those unwind to it, and
/// keep aborting on any other panic.
fn tolerate_calamine_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let third_party = info.location().is_some_and(|l| {
                let file = l.file();
                file.contains("/calamine-") || file.contains("/zip-") || file.contains("/quick-xml-")
            });
            if !third_party {
                abort(info);
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    tolerate_calamine_panics();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 1 {
        common::run(rest, Format::Xlsx, "xlsx");
    } else {
        common::run(&workbook(rest), Format::Xlsx, "xlsx");
    }
});
