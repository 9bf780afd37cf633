//! Damaged inputs never panic: each either imports or returns an error, and an error leaves no
//! output file.

use kleber_ingest::{Format, ImportOptions, import_file};

use crate::util::{files_in, real_dir};

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, src: &[u8]) -> Vec<u8> {
    let mut v = src.to_vec();
    match rng.below(4) {
        0 => v.truncate(rng.below(v.len())),
        1 => {
            for _ in 0..1 + rng.below(20) {
                let at = rng.below(v.len());
                if let Some(b) = v.get_mut(at) {
                    *b = rng.next() as u8;
                }
            }
        }
        2 => {
            let at = rng.below(v.len());
            let junk: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
            v.splice(at..at, junk);
        }
        _ => {
            let a = rng.below(v.len());
            let b = (a + rng.below(200)).min(v.len());
            v.drain(a..b);
        }
    }
    v
}

#[test]
fn damaged_real_files_never_panic() {
    let dir = tempfile::tempdir().expect("dir");
    let out_dir = tempfile::tempdir().expect("out dir");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut sources: Vec<_> = std::fs::read_dir(real_dir())
        .expect("real dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .filter(|p| std::fs::metadata(p).map(|m| m.len() < 1_000_000).unwrap_or(false))
        .collect();
    sources.sort();
    // More rounds on demand: KLEBER_FUZZ_ROUNDS=500 cargo test ...
    let rounds: usize =
        std::env::var("KLEBER_FUZZ_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(6);
    let (mut ok, mut err) = (0, 0);
    for src in &sources {
        let bytes = std::fs::read(src).expect("read");
        let ext = src.extension().and_then(|e| e.to_str()).unwrap_or("csv");
        for n in 0..rounds {
            let input = dir.path().join(format!("in{n}.{ext}"));
            std::fs::write(&input, mutate(&mut rng, &bytes)).expect("write");
            let out = out_dir.path().join("out.parquet");
            match import_file(&input, &out, &ImportOptions::default(), &mut |_| {}) {
                Ok(_) => {
                    ok += 1;
                    std::fs::remove_file(&out).expect("output written");
                }
                Err(_) => err += 1,
            }
            assert!(files_in(out_dir.path()).is_empty(), "{}", src.display());
        }
    }
    assert!(ok > 0 && ok + err == sources.len() * rounds, "ok {ok}, err {err}");
}

#[test]
fn random_bytes_in_every_format_never_panic() {
    let dir = tempfile::tempdir().expect("dir");
    let mut rng = Rng(42);
    for format in Format::ALL {
        for len in [1usize, 2, 7, 100, 5000] {
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let input = dir.path().join("in.bin");
            std::fs::write(&input, &bytes).expect("write");
            let out = dir.path().join("out.parquet");
            let opts = ImportOptions { format: Some(*format), ..ImportOptions::default() };
            if import_file(&input, &out, &opts, &mut |_| {}).is_err() {
                assert!(!out.exists());
            }
            let _ = std::fs::remove_file(&out);
        }
    }
}
