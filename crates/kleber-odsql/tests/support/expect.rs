//! Golden-file comparison shared by the golden tests: compares an output with the committed
//! file beside its case, or writes it there when `UPDATE_EXPECT=1`.

use std::fs;
use std::path::Path;

/// Compares `actual` with `expect_path`; rewrites the file when `update`, else records the
/// difference (or the missing file) in `failures` under the case's `name`.
pub(crate) fn compare(
    name: &str,
    expect_path: &Path,
    actual: &str,
    update: bool,
    failures: &mut Vec<String>,
) {
    match fs::read_to_string(expect_path) {
        Ok(expected) if expected == actual => {}
        _ if update => fs::write(expect_path, actual).unwrap(),
        Ok(expected) => failures.push(format!(
            "{name}: output differs from {}\n--- expected\n{expected}--- actual\n{actual}",
            expect_path.display()
        )),
        Err(_) => failures.push(format!(
            "{name}: {} is missing; actual output:\n{actual}",
            expect_path.display()
        )),
    }
}
