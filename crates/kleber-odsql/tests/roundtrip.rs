//! The writer's round-trip property over many generated trees: what `write` writes, the parser
//! reads back as the same tree (see `support/trees.rs`). The `write_roundtrip` fuzz target checks
//! the same property on inputs chosen by coverage.

#[path = "support/trees.rs"]
mod trees;

/// xorshift64*: a fixed sequence, so a failure is reproducible from its case number.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

#[test]
fn written_trees_read_back_the_same() {
    for case in 0..20_000u64 {
        let data = bytes(case, 64 + (case as usize % 512));
        if let Err(panic) = std::panic::catch_unwind(|| trees::check(&data)) {
            eprintln!("case {case} failed");
            std::panic::resume_unwind(panic);
        }
    }
}
