//! The writer's round-trip property: a syntax tree, a name and a string built from the input
//! bytes are written by `kleber_odsql::write` and parsed back; the parser must read exactly
//! what was meant (spans aside). The generator is shared with `tests/roundtrip.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/trees.rs"]
mod trees;

fuzz_target!(|data: &[u8]| trees::check(data));
