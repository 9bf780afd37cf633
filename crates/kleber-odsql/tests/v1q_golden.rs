//! Golden tests of the v1 `q` translator (`kleber_odsql::v1q`).
//!
//! Each `tests/data/v1q/ok/*.q` and `tests/data/v1q/err/*.q` file holds one query (the whole
//! file without its final newline), translated over the fields of [`FIELDS`]. Beside each one,
//! a committed `.odsql` file holds the ODSQL `where` written (`-- no filter` when the query
//! constrains nothing), or an `.err` file the error message. Every written `where` must also
//! parse. Run with `UPDATE_EXPECT=1` to (re)write them, then review the diff like code.

#[path = "support/expect.rs"]
mod expect;

use std::fs;
use std::path::{Path, PathBuf};

use kleber_odsql::v1q::{FieldInfo, FieldKind, translate};

/// The dataset every case is translated against.
const FIELDS: [FieldInfo<'static>; 8] = [
    FieldInfo { name: "nom", kind: FieldKind::Text },
    FieldInfo { name: "total", kind: FieldKind::Number },
    FieldInfo { name: "taux", kind: FieldKind::Number },
    FieldInfo { name: "ouvert", kind: FieldKind::Boolean },
    FieldInfo { name: "jour", kind: FieldKind::Date },
    FieldInfo { name: "maj", kind: FieldKind::Date },
    FieldInfo { name: "position", kind: FieldKind::Geo },
    FieldInfo { name: "and", kind: FieldKind::Text },
];

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn run(dir: &str, should_translate: bool) {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/v1q").join(dir);
    let expect_ext = if should_translate { "odsql" } else { "err" };
    let mut failures = Vec::new();
    let mut cases = 0;
    for path in files(&dir) {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext == expect_ext && !path.with_extension("q").exists() {
            failures.push(format!("{}: no .q file beside it", path.display()));
            continue;
        }
        if ext != "q" {
            continue;
        }
        cases += 1;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let content = fs::read_to_string(&path).unwrap();
        let q = content.strip_suffix('\n').unwrap_or(&content);
        let actual = match (translate(q, &FIELDS), should_translate) {
            (Ok(Some(odsql)), true) => {
                if let Err(e) = kleber_odsql::parse_where(&odsql) {
                    failures.push(format!("{name}: wrote {odsql:?}, which does not parse: {e}"));
                    continue;
                }
                odsql + "\n"
            }
            (Ok(None), true) => "-- no filter\n".to_owned(),
            (Err(e), false) => e.0 + "\n",
            (Ok(out), false) => {
                failures.push(format!("{name}: translated, but is in err/: {out:?}"));
                continue;
            }
            (Err(e), true) => {
                failures.push(format!("{name}: failed, but is in ok/: {}", e.0));
                continue;
            }
        };
        let expect_path = path.with_extension(expect_ext);
        expect::compare(&name, &expect_path, &actual, update, &mut failures);
    }
    assert!(cases > 0, "no cases in {}", dir.display());
    assert!(
        failures.is_empty(),
        "{} of {cases} golden cases failed (rerun with UPDATE_EXPECT=1 to accept):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn ok_cases_translate_to_their_odsql() {
    run("ok", true);
}

#[test]
fn err_cases_fail_with_their_message() {
    run("err", false);
}
