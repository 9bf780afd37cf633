//! Golden tests of the parser.
//!
//! Each `tests/data/ok/*.odsql` and `tests/data/err/*.odsql` file holds one clause: its first line
//! names the clause kind (`-- where`, `-- select`, `-- order_by`, `-- group_by`, or `-- expr` for
//! `parse_expr`), the rest of the file (without its final newline) is the clause text. Beside each
//! one, a committed `.ast` file holds the pretty `Debug` of the parsed tree (spans included), or an
//! `.err` file the error message followed by the `ParseError::render` output. Run with
//! `UPDATE_EXPECT=1` to (re)write them, then review the diff like code.

#[path = "support/expect.rs"]
mod expect;

use std::fs;
use std::path::{Path, PathBuf};

use kleber_odsql::{
    ParseError, parse_expr, parse_group_by, parse_order_by, parse_select, parse_where,
};

fn parse(kind: &str, text: &str) -> Result<String, ParseError> {
    match kind {
        "where" => parse_where(text).map(|ast| format!("{ast:#?}")),
        "select" => parse_select(text).map(|ast| format!("{ast:#?}")),
        "order_by" => parse_order_by(text).map(|ast| format!("{ast:#?}")),
        "group_by" => parse_group_by(text).map(|ast| format!("{ast:#?}")),
        "expr" => parse_expr(text).map(|ast| format!("{ast:#?}")),
        other => panic!("unknown clause kind {other:?}"),
    }
}

/// The clause kind and text of a case file.
fn read_case(path: &Path) -> (String, String) {
    let content = fs::read_to_string(path).unwrap();
    let (first, rest) = content.split_once('\n').unwrap_or((&content, ""));
    let kind = first
        .strip_prefix("-- ")
        .unwrap_or_else(|| panic!("{}: the first line must be `-- <kind>`", path.display()));
    let text = rest.strip_suffix('\n').unwrap_or(rest);
    (kind.trim().to_owned(), text.to_owned())
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn run(dir: &str, should_parse: bool) {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(dir);
    let expect_ext = if should_parse { "ast" } else { "err" };
    let mut failures = Vec::new();
    let mut cases = 0;
    for path in files(&dir) {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext == expect_ext && !path.with_extension("odsql").exists() {
            failures.push(format!("{}: no .odsql file beside it", path.display()));
            continue;
        }
        if ext != "odsql" {
            continue;
        }
        cases += 1;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (kind, text) = read_case(&path);
        let actual = match (parse(&kind, &text), should_parse) {
            (Ok(ast), true) => ast + "\n",
            (Err(err), false) => format!("{err}\n{}\n", err.render(&text)),
            (Ok(ast), false) => {
                failures.push(format!("{name}: parsed, but is in err/:\n{ast}"));
                continue;
            }
            (Err(err), true) => {
                failures
                    .push(format!("{name}: failed, but is in ok/:\n{err}\n{}", err.render(&text)));
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
fn ok_cases_parse_to_their_ast() {
    run("ok", true);
}

#[test]
fn err_cases_fail_with_their_message() {
    run("err", false);
}
