//! What every reader target shares: the input is written to a temporary file with the format's
//! extension and imported through `kleber_ingest::import_file`, the importer's own entry, into a
//! temporary Parquet file. Nothing may panic; an import either writes its output or fails with a
//! non-empty message and leaves nothing behind.

use std::path::PathBuf;
use std::sync::OnceLock;

use kleber_ingest::{Format, ImportOptions, import_file};

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("kleber-ingest-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        dir
    })
}

/// Imports `data` as `format`, once with the format given and once detected from the
/// extension.
pub fn run(data: &[u8], format: Format, ext: &str) {
    let input = dir().join(format!("input.{ext}"));
    let output = dir().join("output.parquet");
    std::fs::write(&input, data).expect("write the input");
    for given in [Some(format), None] {
        let _ = std::fs::remove_file(&output);
        let opts = ImportOptions { format: given, row_group_size: 7, ..ImportOptions::default() };
        match import_file(&input, &output, &opts, &mut |_| {}) {
            Ok(outcome) => {
                assert!(output.exists(), "an import that succeeded wrote no file");
                assert!(!outcome.fields.is_empty(), "an import without fields succeeded");
                for issue in &outcome.rejected {
                    assert!(!issue.reason.is_empty(), "a rejected row without a reason");
                }
            }
            Err(e) => {
                assert!(!e.to_string().is_empty(), "an error without a message");
                assert!(!output.exists(), "a failed import left its output behind");
            }
        }
        // No temporary file is left beside the output.
        let left = std::fs::read_dir(dir()).expect("list the directory").count();
        assert!(left <= 2, "{left} files in the import directory");
    }
}
