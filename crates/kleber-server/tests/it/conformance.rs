//! What the conformance suites share: a generic recursive JSON diff with path patterns, and the
//! machine-readable list of known differences from Opendatasoft
//! (`tests/data/conformance/differences.toml`), from which `docs/compatibility.md` is generated.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// One difference found between Opendatasoft's answer and Kleber's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// Concrete path, `$.records[3].fields.name`; `{order}` appended for a key-order change.
    pub(crate) path: String,
    /// What differs.
    pub(crate) what: String,
}

/// Short text of a value for messages.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s
    }
}

/// Every difference between `expected` (Opendatasoft) and `got` (Kleber), recursively: missing
/// and extra keys, key order (when both have the same keys), array lengths, types and values.
pub(crate) fn diff(expected: &Value, got: &Value) -> Vec<Found> {
    let mut out = Vec::new();
    walk(expected, got, "$".to_owned(), &mut out);
    out
}

fn walk(expected: &Value, got: &Value, path: String, out: &mut Vec<Found>) {
    match (expected, got) {
        (Value::Object(a), Value::Object(b)) => {
            let (ka, kb): (Vec<_>, Vec<_>) = (a.keys().collect(), b.keys().collect());
            let same_set = ka.iter().collect::<BTreeSet<_>>() == kb.iter().collect::<BTreeSet<_>>();
            if same_set && ka != kb {
                out.push(Found {
                    path: format!("{path}{{order}}"),
                    what: format!("key order {ka:?} (Opendatasoft) vs {kb:?} (Kleber)"),
                });
            }
            for (k, v) in a {
                match b.get(k) {
                    Some(w) => walk(v, w, format!("{path}.{k}"), out),
                    None => out.push(Found {
                        path: format!("{path}.{k}"),
                        what: format!("missing in Kleber (Opendatasoft: {})", short(v)),
                    }),
                }
            }
            for (k, w) in b {
                if !a.contains_key(k) {
                    out.push(Found {
                        path: format!("{path}.{k}"),
                        what: format!("extra in Kleber: {}", short(w)),
                    });
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                out.push(Found {
                    path: format!("{path}[]"),
                    what: format!("{} items (Opendatasoft) vs {} (Kleber)", a.len(), b.len()),
                });
            }
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                walk(v, w, format!("{path}[{i}]"), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(Found {
            path,
            what: format!("Opendatasoft {} vs Kleber {}", short(a), short(b)),
        }),
    }
}

/// A concrete path with its array indexes erased: `$.records[3].x` → `$.records[].x`.
pub(crate) fn pattern_of(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

/// Why a path may differ.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Why {
    /// Not comparable by nature (record ids, publication timestamps, host names): always ignored.
    Volatile(&'static str),
    /// A known difference, listed by id in differences.toml: it must still be found.
    Difference(&'static str),
}

/// A path pattern (`[]` for any index) that may differ, and why.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ignore {
    pub(crate) pattern: &'static str,
    pub(crate) why: Why,
}

pub(crate) const fn volatile(pattern: &'static str, reason: &'static str) -> Ignore {
    Ignore { pattern, why: Why::Volatile(reason) }
}

pub(crate) const fn known(pattern: &'static str, id: &'static str) -> Ignore {
    Ignore { pattern, why: Why::Difference(id) }
}

/// The outcome of one case: the differences no ignore explains, and the known differences
/// that were not found any more.
#[derive(Debug, Default)]
pub(crate) struct Verdict {
    pub(crate) unexplained: Vec<Found>,
    pub(crate) gone: Vec<&'static str>,
    pub(crate) held: BTreeSet<&'static str>,
    /// `pattern (n): reason` for each volatile path found, for the test's log.
    pub(crate) volatile: Vec<String>,
}

/// Checks the differences `found` against `ignores`.
pub(crate) fn judge(found: &[Found], ignores: &[Ignore]) -> Verdict {
    let mut verdict = Verdict::default();
    let mut hits = vec![0usize; ignores.len()];
    for f in found {
        let pattern = pattern_of(&f.path);
        match ignores.iter().position(|i| i.pattern == pattern) {
            Some(i) => hits[i] += 1,
            None => verdict.unexplained.push(f.clone()),
        }
    }
    for (ignore, hits) in ignores.iter().zip(hits) {
        match ignore.why {
            Why::Difference(id) if hits == 0 => verdict.gone.push(id),
            Why::Difference(id) => {
                verdict.held.insert(id);
            }
            Why::Volatile(reason) if hits > 0 => {
                verdict.volatile.push(format!("{} ({hits}): {reason}", ignore.pattern));
            }
            Why::Volatile(_) => {}
        }
    }
    verdict
}

/// One entry of differences.toml.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Difference {
    pub(crate) id: String,
    pub(crate) source: String,
    #[serde(default)]
    pub(crate) case: String,
    /// openapi-examples only: the documented examples the difference covers.
    #[serde(default)]
    pub(crate) examples: Vec<String>,
    pub(crate) ods: String,
    pub(crate) kleber: String,
    pub(crate) why: String,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DifferenceFile {
    difference: Vec<Difference>,
}

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn differences_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/conformance/differences.toml")
}

/// Every known difference, by id (ids are unique).
pub(crate) fn differences() -> BTreeMap<String, Difference> {
    let path = differences_path();
    let text = std::fs::read_to_string(&path).expect("read differences.toml");
    let file: DifferenceFile =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut map = BTreeMap::new();
    for d in file.difference {
        assert!(!d.id.is_empty() && !d.source.is_empty(), "{d:?}: id and source are required");
        let id = d.id.clone();
        assert!(map.insert(id.clone(), d).is_none(), "difference {id} is listed twice");
    }
    map
}

/// Checks that every known difference of `source` is used by `held` (the suite found it) and
/// that every id held is listed under `source`.
pub(crate) fn check_listed(source: &str, held: &BTreeSet<&'static str>) {
    let listed = differences();
    for id in held {
        let d = listed.get(*id).unwrap_or_else(|| {
            panic!("difference {id} is expected by the suite but not listed in differences.toml")
        });
        assert_eq!(d.source, source, "difference {id} belongs to source {source}");
    }
    let mine: Vec<&String> =
        listed.values().filter(|d| d.source == source).map(|d| &d.id).collect();
    for id in mine {
        assert!(
            held.contains(id.as_str()),
            "difference {id} (source {source}) is listed in differences.toml but no case of the \
             suite finds it any more: remove it (or fix the case)"
        );
    }
}

/// Sources in the order docs/compatibility.md presents them, with their headings.
const SOURCES: [(&str, &str); 3] = [
    ("real-answers", "Real Opendatasoft answers (../shared/data/real)"),
    ("clients", "Requests built by real clients"),
    ("openapi-examples", "Examples of Opendatasoft's OpenAPI documentation"),
];

const MARKER: &str = "<!-- generated from crates/kleber-server/tests/data/conformance/differences.toml by \
`UPDATE_EXPECT=1 cargo nextest run -p kleber-server compatibility`: do not edit below -->";

/// The generated part of docs/compatibility.md.
pub(crate) fn render(list: &BTreeMap<String, Difference>) -> String {
    let mut out = String::new();
    let known: BTreeSet<&str> = SOURCES.iter().map(|(s, _)| *s).collect();
    let mut sources: Vec<(String, String)> =
        SOURCES.iter().map(|(s, h)| ((*s).to_owned(), (*h).to_owned())).collect();
    for d in list.values() {
        if !known.contains(d.source.as_str()) && !sources.iter().any(|(s, _)| *s == d.source) {
            sources.push((d.source.clone(), format!("Source `{}`", d.source)));
        }
    }
    for (source, heading) in sources {
        let entries: Vec<&Difference> = list.values().filter(|d| d.source == source).collect();
        if entries.is_empty() {
            continue;
        }
        out.push_str(&format!("\n## {heading}\n"));
        for d in entries {
            out.push_str(&format!("\n### `{}`\n\n", d.id));
            if !d.case.is_empty() {
                out.push_str(&format!("- Case: {}\n", d.case.trim()));
            }
            if !d.examples.is_empty() {
                let quoted: Vec<String> = d.examples.iter().map(|e| format!("`{e}`")).collect();
                out.push_str(&format!("- Examples: {}\n", quoted.join(", ")));
            }
            out.push_str(&format!("- Opendatasoft: {}\n", d.ods.trim()));
            out.push_str(&format!("- Kleber: {}\n", d.kleber.trim()));
            out.push_str(&format!("- Why: {}\n", d.why.trim()));
        }
    }
    out
}

/// docs/compatibility.md is its hand-written head, the marker, and the list rendered.
#[test]
fn compatibility_doc_is_generated_from_the_differences_list() {
    let doc_path = repo_root().join("docs/compatibility.md");
    let doc = std::fs::read_to_string(&doc_path).expect("read docs/compatibility.md");
    let Some((head, _)) = doc.split_once(MARKER) else {
        panic!("docs/compatibility.md lacks the marker line {MARKER}");
    };
    let expected = format!("{head}{MARKER}\n{}", render(&differences()));
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&doc_path, &expected).expect("write docs/compatibility.md");
        return;
    }
    assert!(
        doc == expected,
        "docs/compatibility.md and differences.toml disagree: rerun with UPDATE_EXPECT=1 and \
         review the diff"
    );
}

#[test]
fn the_diff_finds_every_kind_of_difference() {
    let ods = serde_json::json!({"a": 1, "b": [1, 2], "c": {"x": 1, "y": 2}, "d": "s"});
    let kleber = serde_json::json!({"a": 1.5, "b": [1], "c": {"y": 2, "x": 1}, "e": null});
    let found = diff(&ods, &kleber);
    let paths: Vec<&str> = found.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["$.a", "$.b[]", "$.c{order}", "$.d", "$.e"]);
    assert_eq!(pattern_of("$.records[12].fields[0].x"), "$.records[].fields[].x");
    let verdict = judge(&found, &[known("$.a", "x"), known("$.zz", "gone"), volatile("$.d", "")]);
    assert_eq!(verdict.gone, ["gone"]);
    assert_eq!(verdict.unexplained.len(), 3);
    assert!(diff(&ods, &ods).is_empty());
}
