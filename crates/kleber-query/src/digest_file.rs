//! A version's row digests on disk (`digests.bin` beside its `data.parquet`), so that the
//! first diff of a version reads 32 bytes a row instead of hashing every value.
//!
//! Each row of the version's Parquet file has one entry: its record id (the SHA-1 of
//! [`crate::record_id`]), a 64-bit value hash, and its row number in the file. The value hash
//! is a wrapping sum of one term per field (the field's value hashed by Arrow's vectorised
//! `create_hashes` with a fixed seed, mixed with the field's name), so the hash over a subset
//! of the fields (the fields two versions share) is the stored sum minus the terms of the
//! other fields: a diff across a schema change reads only the columns one version has alone.
//!
//! Layout (little-endian), format 1:
//!
//! | bytes | what |
//! |---|---|
//! | 8 | magic `KLBDIGST` |
//! | 4 | format (1) |
//! | 8 | probe: the terms of fixed values, so a change of the hash function is seen |
//! | 20 | SHA-1 of the fields the entries were computed over (names, types, `id` fields) |
//! | 8 | rows |
//! | 32 × rows | entries sorted by record id: id (20), value hash (8), row number (4) |
//!
//! The file is derived state: written to a temporary name, synced and renamed (a reader sees
//! the old file or the new one, never a part), and read with every bound checked. A missing,
//! short, foreign, stale or unsorted file reads as none, and the caller computes the entries
//! again from the Parquet file (and writes them back). Retention removes it with its version
//! directory.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray};
use datafusion::common::hash_utils::{HLL_RANDOM_STATE, create_hashes};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use kleber_types::Field;
use sha1::{Digest, Sha1};

use crate::error::{Error, Result};
use crate::record_id::{digests, hashed_names};

/// The file's name, in the version's directory.
pub(crate) const FILE_NAME: &str = "digests.bin";
const MAGIC: &[u8; 8] = b"KLBDIGST";
const FORMAT: u32 = 1;
const HEADER: usize = 8 + 4 + 8 + 20 + 8;
const ENTRY: usize = 20 + 8 + 4;

/// One row: record id, value hash, row number in the version's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Entry {
    pub(crate) id: [u8; 20],
    pub(crate) hash: u64,
    pub(crate) row: u32,
}

/// Every row's entry (one per row of the version's file), sorted by id.
#[derive(Debug)]
pub(crate) struct RowDigests {
    pub(crate) entries: Vec<Entry>,
}

/// Where the digests of the version stored at `data_path` live.
pub(crate) fn path_for(data_path: &Path) -> PathBuf {
    data_path.with_file_name(FILE_NAME)
}

fn storage(e: impl std::fmt::Display) -> Error {
    Error::Storage(e.to_string())
}

/// The seed of field `name`'s terms.
fn seed(name: &str) -> u64 {
    let digest = Sha1::digest(name.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(bytes)
}

/// A bijective 64-bit mix (SplitMix64's finaliser), so that terms of different fields with
/// the same value hash do not cancel or swap.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Adds the terms of field `name` (its values `array`) to `sums`, one per row.
pub(crate) fn add_terms(name: &str, array: &ArrayRef, sums: &mut [u64]) -> Result<()> {
    let mut hashes = vec![0u64; array.len()];
    create_hashes([Arc::clone(array)], &HLL_RANDOM_STATE, &mut hashes)?;
    let seed = seed(name);
    for (sum, h) in sums.iter_mut().zip(hashes) {
        *sum = sum.wrapping_add(mix(h ^ seed));
    }
    Ok(())
}

/// The terms of fixed values: differs when the hash function does.
fn probe() -> Result<u64> {
    let mut sums = [0u64; 2];
    let ints: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None]));
    let texts: ArrayRef = Arc::new(StringArray::from(vec![Some("Kléber"), Some("")]));
    add_terms("probe_int", &ints, &mut sums)?;
    add_terms("probe_text", &texts, &mut sums)?;
    Ok(sums[0] ^ sums[1].rotate_left(17))
}

/// What the entries of a version depend on besides its data: its fields and its id fields.
fn fields_digest(fields: &[Field]) -> [u8; 20] {
    let mut hasher = Sha1::new();
    for f in fields {
        hasher.update(f.name.as_bytes());
        hasher.update([0x1f]);
        hasher.update(f.field_type.name().as_bytes());
        hasher.update([0x1e]);
    }
    hasher.update([0x1d]);
    for name in hashed_names(fields) {
        hasher.update(name.as_bytes());
        hasher.update([0x1e]);
    }
    hasher.finalize().into()
}

/// Reads the columns `names` of the Parquet file at `path`, in file order, batch by batch
/// (each batch's columns in the order of `names`).
fn read_columns(
    path: &Path,
    names: &[String],
    mut each: impl FnMut(&[ArrayRef]) -> Result<()>,
) -> Result<()> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).map_err(storage)?)
        .map_err(storage)?;
    let schema = builder.schema().clone();
    let roots: Vec<usize> =
        names.iter().map(|n| schema.index_of(n).map_err(storage)).collect::<Result<_>>()?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
    let reader = builder.with_projection(mask).with_batch_size(8192).build().map_err(storage)?;
    for batch in reader {
        let batch = batch.map_err(storage)?;
        let arrays: Vec<ArrayRef> = names
            .iter()
            .map(|n| batch.column_by_name(n).cloned().ok_or_else(|| storage(n)))
            .collect::<Result<_>>()?;
        each(&arrays)?;
    }
    Ok(())
}

/// Computes the entries of the version stored at `data_path` with `fields` (every stored
/// field: no view), from its Parquet file.
pub(crate) fn compute(data_path: &Path, fields: &[Field]) -> Result<RowDigests> {
    let ids = hashed_names(fields);
    let mut names = ids.clone();
    names.extend(fields.iter().map(|f| f.name.clone()).filter(|n| !ids.contains(n)));
    let id_at: Vec<usize> = ids.iter().filter_map(|n| names.iter().position(|m| m == n)).collect();
    let mut entries: Vec<Entry> = Vec::new();
    if names.is_empty() {
        return Ok(RowDigests { entries });
    }
    read_columns(data_path, &names, |arrays| {
        let start = entries.len();
        let id_arrays: Vec<ArrayRef> = id_at.iter().map(|&i| Arc::clone(&arrays[i])).collect();
        digests(&ids, None, &id_arrays, |d| {
            let mut id = [0u8; 20];
            id.copy_from_slice(&d[..20]);
            let row = u32::try_from(entries.len()).unwrap_or(u32::MAX);
            entries.push(Entry { id, hash: 0, row });
        })?;
        let mut sums = vec![0u64; entries.len() - start];
        for (name, array) in names.iter().zip(arrays) {
            add_terms(name, array, &mut sums)?;
        }
        for (entry, sum) in entries[start..].iter_mut().zip(sums) {
            entry.hash = sum;
        }
        Ok(())
    })?;
    if u32::try_from(entries.len()).is_err() {
        return Err(Error::Internal("a version of more than 4 billion rows".to_owned()));
    }
    entries.sort_unstable();
    Ok(RowDigests { entries })
}

/// Subtracts from each entry's hash the terms of the fields `names` (so that the hash covers
/// the other fields only), reading those columns of the Parquet file at `data_path`.
pub(crate) fn subtract(data_path: &Path, names: &[String], digests: &mut RowDigests) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let mut terms: Vec<u64> = Vec::with_capacity(digests.entries.len());
    read_columns(data_path, names, |arrays| {
        let start = terms.len();
        terms.resize(start + arrays.first().map_or(0, |a| a.len()), 0);
        for (name, array) in names.iter().zip(arrays) {
            add_terms(name, array, &mut terms[start..])?;
        }
        Ok(())
    })?;
    if terms.len() != digests.entries.len() {
        return Err(storage(format!(
            "the digests of {} hold {} rows, the file {}",
            data_path.display(),
            digests.entries.len(),
            terms.len()
        )));
    }
    for entry in &mut digests.entries {
        let term = terms.get(entry.row as usize).copied().unwrap_or_default();
        entry.hash = entry.hash.wrapping_sub(term);
    }
    Ok(())
}

/// Writes `digests` of the version stored at `data_path` with `fields` beside it, atomically.
pub(crate) fn write(data_path: &Path, fields: &[Field], digests: &RowDigests) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let target = path_for(data_path);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = data_path.with_file_name(format!(".{FILE_NAME}.{}-{n}.tmp", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let file = File::create(&tmp)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        out.write_all(MAGIC)?;
        out.write_all(&FORMAT.to_le_bytes())?;
        out.write_all(&probe().map_err(std::io::Error::other)?.to_le_bytes())?;
        out.write_all(&fields_digest(fields))?;
        out.write_all(&(digests.entries.len() as u64).to_le_bytes())?;
        for e in &digests.entries {
            out.write_all(&e.id)?;
            out.write_all(&e.hash.to_le_bytes())?;
            out.write_all(&e.row.to_le_bytes())?;
        }
        let file = out.into_inner().map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &target)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(storage(format!("digests of {} not written: {e}", data_path.display())));
    }
    Ok(())
}

/// Reads the digests beside the version stored at `data_path` with `fields`: `None` when the
/// file is missing, or is not a whole, sorted file of this format, hash function and fields.
pub(crate) fn read(data_path: &Path, fields: &[Field]) -> Option<RowDigests> {
    let bytes = std::fs::read(path_for(data_path)).ok()?;
    parse(&bytes, fields)
}

fn parse(bytes: &[u8], fields: &[Field]) -> Option<RowDigests> {
    let header = bytes.get(..HEADER)?;
    let u64_at = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(header.get(at..at + 8)?.try_into().ok()?))
    };
    if &header[..8] != MAGIC || header[8..12] != FORMAT.to_le_bytes() {
        return None;
    }
    if u64_at(12)? != probe().ok()? || header[20..40] != fields_digest(fields) {
        return None;
    }
    let rows = usize::try_from(u64_at(40)?).ok()?;
    let body = &bytes[HEADER..];
    if rows.checked_mul(ENTRY)? != body.len() || u32::try_from(rows).is_err() {
        return None;
    }
    let mut seen = vec![false; rows];
    let mut entries = Vec::with_capacity(rows);
    for chunk in body.chunks_exact(ENTRY) {
        let id: [u8; 20] = chunk[..20].try_into().ok()?;
        let hash = u64::from_le_bytes(chunk[20..28].try_into().ok()?);
        let row = u32::from_le_bytes(chunk[28..32].try_into().ok()?);
        let slot = seen.get_mut(row as usize)?;
        if *slot {
            return None;
        }
        *slot = true;
        let entry = Entry { id, hash, row };
        if entries.last().is_some_and(|last: &Entry| last.id > entry.id) {
            return None;
        }
        entries.push(entry);
    }
    Some(RowDigests { entries })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kleber_types::FieldType;

    fn field(name: &str) -> Field {
        Field::new(name, name, FieldType::Text)
    }

    fn sample() -> RowDigests {
        let entries = (0..5u32)
            .map(|i| Entry { id: [i as u8; 20], hash: u64::from(i) * 7, row: 4 - i })
            .collect();
        RowDigests { entries }
    }

    fn bytes(fields: &[Field], digests: &RowDigests) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data.parquet");
        write(&data, fields, digests).expect("write");
        std::fs::read(path_for(&data)).expect("read")
    }

    #[test]
    fn a_written_file_reads_back_and_damage_reads_as_none() {
        let fields = [field("a"), field("b")];
        let good = bytes(&fields, &sample());
        assert_eq!(parse(&good, &fields).expect("parses").entries, sample().entries);
        // Other fields: stale.
        assert!(parse(&good, &[field("a")]).is_none());
        // Every truncation, and a byte changed in the header or an order broken.
        for len in 0..good.len() {
            assert!(parse(&good[..len], &fields).is_none(), "truncated at {len}");
        }
        for at in [0, 8, 12, 20, 40] {
            let mut bad = good.clone();
            bad[at] ^= 0x55;
            assert!(parse(&bad, &fields).is_none(), "byte {at} changed");
        }
        let mut unsorted = good.clone();
        unsorted[HEADER] = 0xff;
        assert!(parse(&unsorted, &fields).is_none(), "unsorted");
        let mut twice = good.clone();
        let row_at = HEADER + ENTRY + 28;
        twice[row_at..row_at + 4].copy_from_slice(&4u32.to_le_bytes());
        assert!(parse(&twice, &fields).is_none(), "a row listed twice");
        let mut out_of_range = good;
        out_of_range[row_at..row_at + 4].copy_from_slice(&9u32.to_le_bytes());
        assert!(parse(&out_of_range, &fields).is_none(), "a row past the end");
    }

    #[test]
    fn terms_of_a_subset_are_the_sum_minus_the_others() {
        let a: ArrayRef = Arc::new(StringArray::from(vec!["x", "y"]));
        let b: ArrayRef = Arc::new(Int64Array::from(vec![Some(3), None]));
        let (mut all, mut only_a, mut only_b) = ([0u64; 2], [0u64; 2], [0u64; 2]);
        add_terms("a", &a, &mut all).expect("a");
        add_terms("b", &b, &mut all).expect("b");
        add_terms("a", &a, &mut only_a).expect("a");
        add_terms("b", &b, &mut only_b).expect("b");
        for row in 0..2 {
            assert_eq!(all[row].wrapping_sub(only_b[row]), only_a[row]);
        }
        // The same values under another field's name hash differently.
        let mut renamed = [0u64; 2];
        add_terms("c", &a, &mut renamed).expect("c");
        assert_ne!(renamed, only_a);
    }
}
