//! The zip reader with a KML inside (a KMZ) through `import_file`; see `common.rs`. The input
//! is the KML, zipped here (stored) as `doc.kml` beside an image, so that mutations reach the
//! archive's member selection and the KML reader rather than the zip checksums.
#![no_main]

mod common;

use std::io::Write;

use kleber_ingest::Format;
use libfuzzer_sys::fuzz_target;
use zip::write::SimpleFileOptions;

fuzz_target!(|data: &[u8]| {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in [("doc.kml", data), ("files/icon.png", b"\x89PNG\r\n\x1a\n".as_slice())] {
        zip.start_file(name, opts).expect("member");
        zip.write_all(bytes).expect("write");
    }
    let kmz = zip.finish().expect("zip").into_inner();
    common::run(&kmz, Format::Kml, "kmz");
});
