//! The shapefile reader through `import_file`; see `common.rs`.
//!
//! Mutating a zip archive byte by byte mostly breaks its checksums, so the input is split at
//! the offset its first two bytes give into a `.shp` and a `.dbf`, zipped here (stored) with a
//! Lambert 93 `.prj`: the mutations reach the shapefile and dBase readers and the reprojection.
#![no_main]

mod common;

use std::io::Write;

use kleber_ingest::Format;
use libfuzzer_sys::fuzz_target;
use zip::write::SimpleFileOptions;

const PRJ: &str = r#"PROJCS["RGF_1993_Lambert_93",GEOGCS["GCS_RGF_1993",DATUM["D_RGF_1993",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Lambert_Conformal_Conic"],PARAMETER["False_Easting",700000.0],PARAMETER["False_Northing",6600000.0],PARAMETER["Central_Meridian",3.0],PARAMETER["Standard_Parallel_1",49.0],PARAMETER["Standard_Parallel_2",44.0],PARAMETER["Latitude_Of_Origin",46.5],UNIT["Meter",1.0]]"#;

fn zipped(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in members {
        zip.start_file(*name, opts).expect("member");
        zip.write_all(data).expect("write");
    }
    zip.finish().expect("zip").into_inner()
}

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<2>() else { return };
    let split = usize::from(u16::from_le_bytes(*head)).min(rest.len());
    let (shp, dbf) = rest.split_at(split);
    let zip = zipped(&[("layer.shp", shp), ("layer.dbf", dbf), ("layer.prj", PRJ.as_bytes())]);
    common::run(&zip, Format::Shapefile, "zip");
});
