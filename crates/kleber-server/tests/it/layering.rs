//! Front ends are leaves: each reaches data through `kleber-app` and shares only the HTTP
//! helpers (`http`, `shared`, `error`, `state`); none imports another, and the shared modules
//! import no front end. This reads the real sources of `src/` and resolves every `crate::…`
//! and `super::…` path (including `use crate::{a, b}` groups) to the top-level module it names.
//! There are no exceptions: what two front ends share lives in `shared/` (query-string
//! parameters in `shared/params.rs`, the v1 `q` adapter in `shared/qv1.rs`).

use std::path::{Path, PathBuf};

/// The front ends: top-level modules of `src/` that answer requests.
const FRONT_ENDS: &[&str] = &["api", "api_v1", "api_v20", "ckan", "web"];
/// Modules every front end may use, which must not use any front end in turn.
const SHARED: &[&str] = &["http", "shared", "error", "state"];

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file relative to `src/` (`api/records.rs` → `["api", "records"]`,
/// `api/mod.rs` → `["api"]`).
fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> =
        relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" {
            parts.push(stem.to_owned());
        }
    }
    parts
}

/// The text without comments, whitespace runs made one space, and no space around `::`,
/// braces and commas (so `use crate::{\n    a::b,\n}` reads `use crate::{a::b,}`).
fn code_of(text: &str) -> String {
    let joined: Vec<&str> = text
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect();
    let spaced = joined.join(" ").split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(spaced.len());
    let chars: Vec<char> = spaced.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let tight = |c: Option<&char>| c.is_some_and(|c| matches!(c, ':' | '{' | '}' | ','));
        if c == ' ' && (tight(chars.get(i + 1)) || (i > 0 && tight(chars.get(i - 1)))) {
            continue;
        }
        out.push(c);
    }
    out
}

/// The identifier at the start of `s`.
fn ident(s: &str) -> &str {
    let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

/// The crate-absolute paths (as `a::b::c` text, possibly partial) a file's code names.
fn paths_named(code: &str, module: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    // `super::` chains, resolved against the file's module.
    let mut rest = code;
    while let Some(at) = rest.find("super::") {
        let before = rest[..at].chars().next_back();
        let tail = &rest[at..];
        rest = &rest[at + "super::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut depth = 0;
        let mut t = tail;
        while let Some(next) = t.strip_prefix("super::") {
            depth += 1;
            t = next;
        }
        let base = module.len().saturating_sub(depth);
        let prefix = module[..base].join("::");
        out.extend(expand(&prefix, t));
    }
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        out.extend(expand("", rest));
    }
    out
}

/// The paths of `tail` (what follows `prefix::`): one path, or each item of a `{…}` group.
fn expand(prefix: &str, tail: &str) -> Vec<String> {
    let join = |p: &str| if prefix.is_empty() { p.to_owned() } else { format!("{prefix}::{p}") };
    if let Some(group) = tail.strip_prefix('{') {
        let mut depth = 0;
        let mut items = Vec::new();
        let mut current = String::new();
        for c in group.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(std::mem::take(&mut current));
                    continue;
                }
                _ => {}
            }
            current.push(c);
        }
        items.push(current);
        return items.iter().filter(|i| !i.is_empty()).flat_map(|i| expand(prefix, i)).collect();
    }
    let mut path = Vec::new();
    let mut t = tail;
    loop {
        let id = ident(t);
        if id.is_empty() {
            break;
        }
        path.push(id);
        match t[id.len()..].strip_prefix("::") {
            Some(next) if !next.starts_with('{') => t = next,
            Some(next) => {
                let inner = path.join("::");
                return expand(&join(&inner), next);
            }
            None => break,
        }
    }
    vec![join(&path.join("::"))]
}

/// Every forbidden crossing under `src`, as `file: imports path`.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap_or(&file);
        let module = module_of(relative);
        let Some(top) = module.first().cloned() else { continue };
        let is_front = FRONT_ENDS.contains(&top.as_str());
        let is_shared = SHARED.contains(&top.as_str());
        if !is_front && !is_shared {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for path in paths_named(&code_of(&text), &module) {
            let target = path.split("::").next().unwrap_or_default();
            if target == top || !FRONT_ENDS.contains(&target) {
                continue;
            }
            found.push(format!("{}: {top} imports {path}", relative.display()));
        }
    }
    found
}

#[test]
fn front_ends_import_only_the_application_layer_and_shared_helpers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(
        found.is_empty(),
        "front ends must not import each other, nor shared modules a front end:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_plain_grouped_and_relative_crossings() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("api")).unwrap();
    std::fs::create_dir_all(src.join("web")).unwrap();
    std::fs::create_dir_all(src.join("shared")).unwrap();
    std::fs::write(src.join("api/records.rs"), "use crate::web::cells::render;\n").unwrap();
    std::fs::write(
        src.join("web/table.rs"),
        "use crate::{\n    http::x,\n    api::{records, params::Params},\n};\n// crate::api_v1::ignored_in_comments\n",
    )
    .unwrap();
    std::fs::write(src.join("web/mod.rs"), "use super::api_v20::V2_0;\nuse super::table;\n")
        .unwrap();
    std::fs::write(src.join("shared/json.rs"), "fn f() { super::super::api_v1::x(); }\n").unwrap();
    std::fs::write(src.join("api_v20.rs"), "use crate::api::params::Params;\n").unwrap();
    assert_eq!(
        violations(src),
        vec![
            "api/records.rs: api imports web::cells::render",
            "api_v20.rs: api_v20 imports api::params::Params",
            "shared/json.rs: shared imports api_v1::x",
            "web/mod.rs: web imports api_v20::V2_0",
            "web/table.rs: web imports api::records",
            "web/table.rs: web imports api::params::Params",
        ]
    );
}
