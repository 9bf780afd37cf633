//! Throughput on a generated CSV: `cargo run --release --example bench_csv -- [ROWS]`.
//!
//! Writes a 10-column CSV (ints, doubles, dates, date-times, booleans, short and long texts) to
//! a temporary directory, imports it and prints rows per second.

use std::io::Write;
use std::time::Instant;

use kleber_ingest::{ImportOptions, import_file};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: u64 = std::env::args().nth(1).map_or(Ok(1_000_000), |s| s.parse())?;
    let dir = std::env::temp_dir().join(format!("kleber-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let input = dir.join("bench.csv");
    let output = dir.join("bench.parquet");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&input)?);
        writeln!(w, "id,station,capacity,ratio,day,updated,open,city,count,comment")?;
        let cities = ["Paris", "Strasbourg", "Lyon", "Lille", "Nantes", "Rennes", "Metz"];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for i in 0..rows {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            writeln!(
                w,
                "{i},Station {},{},{}.{:02},2024-{:02}-{:02},2024-03-{:02}T{:02}:{:02}:{:02}+01:00,{},{},{},comment number {}",
                x % 100_000,
                x % 80,
                x % 100,
                x % 97,
                x % 12 + 1,
                x % 28 + 1,
                x % 28 + 1,
                x % 24,
                x % 60,
                (x >> 8) % 60,
                if x.is_multiple_of(3) { "true" } else { "false" },
                cities[(x % 7) as usize],
                (x >> 20) % 1000,
                x >> 40,
            )?;
        }
    }
    let size = std::fs::metadata(&input)?.len();
    let started = Instant::now();
    let outcome = import_file(&input, &output, &ImportOptions::default(), &mut |_| {})?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} rows ({:.1} MB CSV) in {secs:.2} s: {:.0} rows/s, {:.1} MB/s; parquet {:.1} MB; rejected {}",
        outcome.rows,
        size as f64 / 1e6,
        outcome.rows as f64 / secs,
        size as f64 / 1e6 / secs,
        std::fs::metadata(&output)?.len() as f64 / 1e6,
        outcome.rejected.len()
    );
    for f in &outcome.fields {
        println!("  {} {} {:?}", f.name, f.field_type, f.annotations);
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
