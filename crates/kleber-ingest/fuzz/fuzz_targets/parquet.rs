//! The Parquet and GeoParquet reader through `import_file`; see `common.rs`.
#![no_main]

mod common;

use kleber_ingest::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::run(data, Format::Parquet, "parquet"));
