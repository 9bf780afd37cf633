//! Imports one file and prints what was inferred: `cargo run --example import -- IN OUT.parquet`.

use std::path::PathBuf;
use std::time::Instant;

use kleber_ingest::{ImportOptions, import_file};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: import INPUT OUTPUT.parquet");
        std::process::exit(2);
    };
    let started = Instant::now();
    let result = import_file(
        &PathBuf::from(input),
        &PathBuf::from(output),
        &ImportOptions::default(),
        &mut |_| {},
    );
    match result {
        Ok(o) => {
            println!(
                "{} rows, {} rejected, {} bytes, format {}, {:?} in {:.2?}",
                o.rows,
                o.rejected.len(),
                o.bytes_read,
                o.format,
                o.detected,
                started.elapsed()
            );
            for f in &o.fields {
                println!(
                    "  {:<40} {:<14} {:<40} {:?}",
                    f.name,
                    f.field_type.name(),
                    f.label,
                    f.annotations
                );
            }
            for r in o.rejected.iter().take(10) {
                println!(
                    "  rejected {} {}: {:?} {:?} {}",
                    r.location_kind.name(),
                    r.line,
                    r.field,
                    r.value,
                    r.reason
                );
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
