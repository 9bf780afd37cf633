//! Conformance with Opendatasoft's own documentation: every example of the Explore v2.1 OpenAPI
//! document (`../shared/validators/ods-explore-api/openapi.json`, never copied here) is either a
//! case of `tests/data/conformance/cases.toml`, run against a real server over the small
//! datasets beside it, or a known difference of `differences.toml` with its reason.
//!
//! Examples are extracted from the document itself, so the suite cannot drift: an example
//! added upstream fails `every_documented_example_is_covered` until it gets a case or a
//! difference, and a case whose example is no longer in the document fails it too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kleber_ingest::ImportOptions;
use kleber_types::FieldType;
use serde::Deserialize;
use serde_json::Value;

use crate::common::{TestServer, enc, import};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/conformance")
}

fn openapi() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/validators/ods-explore-api/openapi.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("openapi.json is JSON")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Suite {
    dataset: Vec<Dataset>,
    case: Vec<Case>,
}

/// A fixture imported before the server starts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Dataset {
    id: String,
    file: String,
    /// The CSV has a header row (said explicitly, not left to detection).
    #[serde(default)]
    header: bool,
    #[serde(default)]
    multivalued: BTreeMap<String, String>,
    #[serde(default)]
    types: BTreeMap<String, String>,
}

/// One documented example, asked of the server, and what the documentation says of it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// The example's exact text in the document (or the JSON pointer of a response example).
    example: String,
    /// JSON pointer of the description or example it comes from.
    source: String,
    /// Dataset queried (absent: the catalog).
    dataset: Option<String>,
    /// Path under the dataset: `records` (default), `exports/<format>`, `facets`, `` (the
    /// dataset); without a dataset, under the API root: `catalog/datasets`, `catalog/facets`.
    #[serde(default = "records")]
    endpoint: String,
    /// Query parameters, in order, unencoded.
    #[serde(default)]
    params: Vec<(String, String)>,
    #[serde(default = "ok")]
    status: u16,
    error_code: Option<String>,
    total_count: Option<u64>,
    /// Exact keys, in order, of every result.
    keys: Option<Vec<String>>,
    /// The whole `results` array (JSON text).
    results: Option<String>,
    /// With `values`: the values of this key across the results, in order.
    column: Option<String>,
    values: Option<String>,
    /// First line of a CSV export (`;`-separated, BOM removed).
    csv_header: Option<String>,
    /// JSON pointer of a response example in openapi.json compared key by key with the answer.
    response_example: Option<String>,
    /// With `response_example`: JSON pointer of the part of the answer compared (default: all).
    #[serde(default)]
    answer_at: String,
    /// With `response_example`: compare values too, not only keys and JSON types.
    #[serde(default)]
    example_values: bool,
    /// With `response_example`: a null of ours stands for a value the fixture does not have
    /// (metadata it was not given).
    #[serde(default)]
    null_ok: bool,
    /// With `response_example`: paths of the answer not compared (`*` for any key or index),
    /// each explained by the difference `known`.
    #[serde(default)]
    ignore: Vec<String>,
    /// The id of the difference (differences.toml) that explains `ignore`.
    known: Option<String>,
    /// Why the expectation is what it is, when the document leaves it implicit.
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Differences {
    difference: Vec<Difference>,
}

/// One known difference from Opendatasoft (rendered into docs/compatibility.md).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Difference {
    id: String,
    /// The suite that finds it: `openapi-examples` for this one (the file is shared with the
    /// real-answer and client suites, see tests/it/conformance.rs).
    source: String,
    /// For this suite: the JSON pointer, in openapi.json, where the examples are documented.
    #[serde(default)]
    case: String,
    #[serde(default)]
    examples: Vec<String>,
    ods: String,
    kleber: String,
    why: String,
}

fn records() -> String {
    "records".to_owned()
}

fn ok() -> u16 {
    200
}

fn suite() -> Suite {
    let text = std::fs::read_to_string(data_dir().join("cases.toml")).expect("cases.toml");
    toml::from_str(&text).unwrap_or_else(|e| panic!("cases.toml: {e}"))
}

fn differences() -> Differences {
    let text =
        std::fs::read_to_string(data_dir().join("differences.toml")).expect("differences.toml");
    let mut all: Differences =
        toml::from_str(&text).unwrap_or_else(|e| panic!("differences.toml: {e}"));
    all.difference.retain(|d| d.source == "openapi-examples");
    all
}

/// Even numbers of single and double quotes.
fn balanced(s: &str) -> bool {
    s.matches('\'').count().is_multiple_of(2) && s.matches('"').count().is_multiple_of(2)
}

/// Splits an SQL line at its `--` comment (outside quotes).
fn split_comment(line: &str) -> (&str, Option<&str>) {
    let mut from = 0;
    while let Some(i) = line[from..].find("--") {
        let at = from + i;
        if balanced(&line[..at]) {
            return (&line[..at], Some(&line[at + 2..]));
        }
        from = at + 2;
    }
    (line, None)
}

/// Every example of the ```sql blocks of a Markdown text: one per line (comments removed),
/// a line whose quotes are open continuing on the next.
fn sql_examples(text: &str, out: &mut Vec<(String, String)>, source: &str) {
    let mut rest = text;
    while let Some(start) = rest.find("```sql\n") {
        let body = &rest[start + 7..];
        let end = body.find("```").unwrap_or(body.len());
        let mut pending = String::new();
        let mut in_comment = false;
        for line in body[..end].lines() {
            if in_comment {
                in_comment = !line.trim().is_empty();
                continue;
            }
            if !pending.is_empty() {
                pending.push(' ');
            }
            pending.push_str(line.trim());
            let (code, comment) = split_comment(&pending);
            if comment.is_none() && !balanced(code) {
                continue;
            }
            in_comment = comment.is_some_and(|c| !balanced(c));
            let code = code.trim();
            if !code.is_empty() && !out.iter().any(|(e, _)| e == code) {
                out.push((code.to_owned(), source.to_owned()));
            }
            pending.clear();
        }
        rest = &body[end.min(body.len())..];
        rest = rest.strip_prefix("```").unwrap_or(rest);
    }
}

const PARAMS: [&str; 11] = [
    "select", "where", "group_by", "order_by", "refine", "exclude", "limit", "offset", "facet",
    "lang", "timezone",
];

/// Inline code spans that are query parameters (`select=size`, `refine=modified:2020`).
fn inline_examples(text: &str, out: &mut Vec<(String, String)>, source: &str) {
    for (i, span) in text.split('`').enumerate() {
        if i % 2 == 0 || span.contains('\n') {
            continue;
        }
        let name: String =
            span.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
        let after = span[name.len()..].trim_start();
        if PARAMS.contains(&name.as_str())
            && after.starts_with('=')
            && !out.iter().any(|(e, _)| e == span)
        {
            out.push((span.to_owned(), source.to_owned()));
        }
    }
}

fn pointer_part(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Every example of the document: SQL examples and parameter examples from descriptions, and
/// the JSON pointer of every inline response or parameter example (not `$ref`s).
fn documented_examples(doc: &Value) -> Vec<(String, String)> {
    fn walk(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let p = format!("{path}/{}", pointer_part(k));
                    if k == "description"
                        && let Some(text) = child.as_str()
                    {
                        sql_examples(text, out, &p);
                        inline_examples(text, out, &p);
                    }
                    if k == "examples"
                        && let Some(entries) = child.as_object()
                    {
                        for (name, entry) in entries {
                            if entry.get("$ref").is_none() {
                                let e = format!("{p}/{}", pointer_part(name));
                                out.push((e.clone(), e));
                            }
                        }
                        continue;
                    }
                    walk(child, &p, out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{path}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, "", &mut out);
    // The getting-started answer of the info text.
    if doc["info"]["description"].as_str().is_some_and(|t| t.contains("```json")) {
        out.push(("/info/description#json".to_owned(), "/info/description".to_owned()));
    }
    out
}

#[test]
fn every_documented_example_is_covered() {
    let doc = openapi();
    let examples = documented_examples(&doc);
    let suite = suite();
    let diffs = differences();
    let covered_by_case = |e: &str| suite.case.iter().any(|c| c.example == e);
    let mut problems = Vec::new();
    for (example, source) in &examples {
        let case = covered_by_case(example);
        let diff = diffs.difference.iter().any(|d| d.examples.iter().any(|x| x == example));
        if !case && !diff {
            problems.push(format!("{source}: {example:?} is neither a case nor a difference"));
        }
    }
    let known = |e: &str| examples.iter().any(|(x, _)| x == e);
    for c in &suite.case {
        match &c.known {
            Some(id) if !diffs.difference.iter().any(|d| d.id == *id) => {
                problems.push(format!("case {:?}: no difference {id}", c.example));
            }
            None if !c.ignore.is_empty() => {
                problems.push(format!("case {:?}: ignores paths without a difference", c.example));
            }
            _ => {}
        }
        if !known(&c.example) {
            problems.push(format!("case {:?} is not an example of openapi.json", c.example));
        }
        if !c.source.starts_with('/') || doc.pointer(c.source.split('#').next().unwrap()).is_none()
        {
            problems.push(format!(
                "case {:?}: source {:?} is not in openapi.json",
                c.example, c.source
            ));
        }
    }
    for d in &diffs.difference {
        for e in &d.examples {
            if !known(e) {
                problems.push(format!("difference {}: {e:?} is not an example", d.id));
            }
        }
        for (what, text) in [("ods", &d.ods), ("kleber", &d.kleber), ("why", &d.why)] {
            if text.trim().is_empty() {
                problems.push(format!("difference {}: empty {what}", d.id));
            }
        }
        if doc.pointer(d.case.split('#').next().unwrap()).is_none() {
            problems.push(format!("difference {}: case {:?} is not in openapi.json", d.id, d.case));
        }
    }
    let ids: Vec<&str> = diffs.difference.iter().map(|d| d.id.as_str()).collect();
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            problems.push(format!("difference id {id} is used twice"));
        }
    }
    assert!(
        examples.len() >= 140,
        "only {} examples extracted: the extraction broke",
        examples.len()
    );
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

/// The extraction itself, on text written here.
#[test]
fn examples_are_extracted_line_by_line() {
    let text = "x\n```sql\na > 1 -- it's a comment\n\nf(g, geom'{\"a\":\n1}') -- note 'open\nstill comment'\n\nb\n```\nsee `select=size` and `not_a_param=1` and `where = x`\n";
    let mut out = Vec::new();
    sql_examples(text, &mut out, "/d");
    inline_examples(text, &mut out, "/d");
    let got: Vec<&str> = out.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(got, ["a > 1", "f(g, geom'{\"a\": 1}')", "b", "select=size", "where = x"]);
}

async fn server(suite: &Suite) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    for d in &suite.dataset {
        let mut options =
            ImportOptions { multivalued: d.multivalued.clone(), ..ImportOptions::default() };
        if d.header {
            options.has_header = Some(true);
        }
        for (name, t) in &d.types {
            let t: FieldType = serde_json::from_value(Value::String(t.clone()))
                .unwrap_or_else(|e| panic!("dataset {}: type {t}: {e}", d.id));
            options.type_overrides.insert(name.clone(), t);
        }
        import(dir.path(), &data_dir().join(&d.file), &d.id, options);
    }
    TestServer::start(dir).await
}

fn url(case: &Case) -> String {
    let path = match (&case.dataset, case.endpoint.as_str()) {
        (None, e) => format!("/api/explore/v2.1/{e}"),
        (Some(d), "") => format!("/api/explore/v2.1/catalog/datasets/{d}"),
        (Some(d), e) => format!("/api/explore/v2.1/catalog/datasets/{d}/{e}"),
    };
    let query: Vec<String> = case.params.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect();
    format!("{path}?{}", query.join("&"))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Compares `ours` with Opendatasoft's `example`, key by key: the same keys, the same JSON
/// types, and the same values when `values`.
fn compare(example: &Value, ours: &Value, at: &str, how: &Case, errs: &mut Vec<String>) {
    if how.ignore.iter().any(|pattern| path_matches(pattern, at)) {
        return;
    }
    let values = how.example_values;
    match (example, ours) {
        (Value::Object(e), Value::Object(o)) => {
            let ignored =
                |k: &str| how.ignore.iter().any(|p| path_matches(p, &format!("{at}/{k}")));
            for k in e.keys().filter(|k| !o.contains_key(*k) && !ignored(k)) {
                errs.push(format!("{at}/{k}: missing (Opendatasoft has it)"));
            }
            for k in o.keys().filter(|k| !e.contains_key(*k) && !ignored(k)) {
                errs.push(format!("{at}/{k}: extra (Opendatasoft has no such key)"));
            }
            for (k, ev) in e {
                if let Some(ov) = o.get(k) {
                    compare(ev, ov, &format!("{at}/{k}"), how, errs);
                }
            }
        }
        (Value::Array(e), Value::Array(o)) => {
            if values && e.len() != o.len() {
                errs.push(format!("{at}: {} items, Opendatasoft {}", o.len(), e.len()));
            }
            for (i, (ev, ov)) in e.iter().zip(o).enumerate() {
                compare(ev, ov, &format!("{at}/{i}"), how, errs);
            }
        }
        (_, Value::Null) if how.null_ok => {}
        (e, o) if json_type(e) != json_type(o) => {
            errs.push(format!("{at}: {} {o}, Opendatasoft {} {e}", json_type(o), json_type(e)));
        }
        (e, o) if values && !same_value(e, o) => {
            errs.push(format!("{at}: {o}, Opendatasoft {e}"));
        }
        _ => {}
    }
}

/// Whether the answer path `at` (`/a/0/b`) matches `pattern`, where `*` matches one segment.
fn path_matches(pattern: &str, at: &str) -> bool {
    let (p, a): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), at.split('/').collect());
    p.len() == a.len() && p.iter().zip(&a).all(|(p, a)| *p == "*" || p == a)
}

/// JSON equality where numbers compare by value (`46` and `46.0` alike).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => same_value(a, b),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
        _ => a == b,
    }
}

fn parse(case: &Case, what: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("case {:?}: {what}: {e}", case.example))
}

/// Runs one case; returns what differs from the expectation.
async fn run(server: &TestServer, doc: &Value, case: &Case) -> Vec<String> {
    let url = url(case);
    let (status, _, body) = server.get(&url).await;
    let mut errs = Vec::new();
    if status != case.status {
        errs.push(format!("status {status}, expected {}: {}", case.status, short(&body)));
        return errs;
    }
    if let Some(header) = &case.csv_header {
        let first = body.trim_start_matches('\u{feff}').lines().next().unwrap_or_default();
        if first != header {
            errs.push(format!("CSV header {first:?}, expected {header:?}"));
        }
        return errs;
    }
    let v: Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(e) => return vec![format!("not JSON ({e}): {}", short(&body))],
    };
    if let Some(code) = &case.error_code
        && v["error_code"] != Value::String(code.clone())
    {
        errs.push(format!("error_code {}, expected {code}", v["error_code"]));
    }
    if let Some(n) = case.total_count
        && v["total_count"] != n
    {
        errs.push(format!("total_count {}, expected {n}", v["total_count"]));
    }
    let results = v["results"].as_array().cloned().unwrap_or_default();
    if let Some(keys) = &case.keys {
        for (i, r) in results.iter().enumerate() {
            let got: Vec<&str> =
                r.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
            if got != *keys {
                errs.push(format!("result {i} has keys {got:?}, expected {keys:?}"));
                break;
            }
        }
        if results.is_empty() {
            errs.push("no result to check the keys of".to_owned());
        }
    }
    if let Some(text) = &case.results {
        let expected = parse(case, "results", text);
        if !json_eq(&Value::Array(results.clone()), &expected) {
            errs.push(format!("results {}, expected {expected}", Value::Array(results.clone())));
        }
    }
    if let (Some(col), Some(text)) = (&case.column, &case.values) {
        let expected = parse(case, "values", text);
        let got: Vec<Value> = results.iter().map(|r| r[col.as_str()].clone()).collect();
        if !json_eq(&Value::Array(got.clone()), &expected) {
            errs.push(format!("{col}: {}, expected {expected}", Value::Array(got)));
        }
    }
    if let Some(pointer) = &case.response_example {
        let example = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("case {:?}: no {pointer} in openapi.json", case.example));
        match v.pointer(&case.answer_at) {
            Some(ours) => compare(example, ours, &case.answer_at, case, &mut errs),
            None => errs.push(format!("no {} in the answer", case.answer_at)),
        }
    }
    errs
}

fn short(body: &str) -> &str {
    &body[..body.len().min(300)]
}

#[tokio::test(flavor = "multi_thread")]
async fn documented_examples_answer_as_documented() {
    let doc = openapi();
    let suite = suite();
    let server = server(&suite).await;
    let mut failures = Vec::new();
    for case in &suite.case {
        let errs = run(&server, &doc, case).await;
        if !errs.is_empty() {
            failures.push(format!(
                "{:?} (GET {}):\n  {}",
                case.example,
                url(case),
                errs.join("\n  ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from the documentation:\n{}",
        failures.len(),
        suite.case.len(),
        failures.join("\n")
    );
}

/// The Python of the test clients' virtualenv (pyarrow and openpyxl read exports back).
fn python() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/.venv/bin/python");
    assert!(path.exists(), "missing {}: run scripts/install-test-deps.sh", path.display());
    path
}

/// Runs `script` with `file` as `sys.argv[1]`, returning its JSON output.
fn py(script: &str, file: &Path) -> Value {
    let output = std::process::Command::new(python())
        .args(["-c", script, &file.to_string_lossy()])
        .output()
        .expect("run python");
    assert!(output.status.success(), "python failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("python JSON")
}

const XLSX_ROWS: &str = r#"
import json, sys, openpyxl
ws = openpyxl.load_workbook(sys.argv[1], read_only=True).active
print(json.dumps([list(r) for r in ws.iter_rows(values_only=True)]))
"#;

const PARQUET_ROWS: &str = r#"
import json, sys, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
print(json.dumps({"columns": t.column_names, "rows": t.to_pylist()}))
"#;

/// Group keys come from the plan, so every front end and export format has them: the keys
/// first, then the select list (`select=count(*) as population_count&group_by=city`).
#[tokio::test(flavor = "multi_thread")]
async fn group_keys_reach_every_front_end() {
    let server = server(&suite()).await;
    let q = format!(
        "select={}&group_by=city&order_by={}",
        enc("count(*) as population_count"),
        enc("population_count DESC")
    );
    let expected = serde_json::json!([
        {"city": "Paris", "population_count": 4},
        {"city": "Lyon", "population_count": 3},
        {"city": "Nantes", "population_count": 1}
    ]);
    let base = "/api/explore/v2.1/catalog/datasets/cities";
    let page = server.json(&format!("{base}/records?{q}"), 200).await;
    assert_eq!(page["results"], expected);
    let keys: Vec<&String> = page["results"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["city", "population_count"], "group keys first");

    // CSV: the header names the key, every row has it.
    let (status, _, csv) = server.get(&format!("{base}/exports/csv?{q}")).await;
    assert_eq!(status, 200, "{csv}");
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines, ["city;population_count", "Paris;4", "Lyon;3", "Nantes;1"]);

    // JSON and JSONL exports.
    let json = server.json(&format!("{base}/exports/json?{q}"), 200).await;
    assert_eq!(json, expected);
    let (status, _, jsonl) = server.get(&format!("{base}/exports/jsonl?{q}")).await;
    assert_eq!(status, 200, "{jsonl}");
    let rows: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(Value::Array(rows), expected);

    // XLSX and Parquet, read back by openpyxl and pyarrow.
    let work = tempfile::tempdir().unwrap();
    for format in ["xlsx", "parquet"] {
        let url = format!("{}{base}/exports/{format}?{q}", server.base);
        let response = server.client.get(url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{format}");
        let file = work.path().join(format!("groups.{format}"));
        std::fs::write(&file, response.bytes().await.unwrap()).unwrap();
        if format == "xlsx" {
            assert_eq!(
                py(XLSX_ROWS, &file),
                serde_json::json!([
                    ["city", "population_count"],
                    ["Paris", 4],
                    ["Lyon", 3],
                    ["Nantes", 1]
                ])
            );
        } else {
            let v = py(PARQUET_ROWS, &file);
            assert_eq!(v["columns"], serde_json::json!(["city", "population_count"]));
            assert_eq!(v["rows"], expected);
        }
    }

    // Explore v2.0: the keys in each record's fields; a date key as epoch milliseconds.
    let v20 =
        server.json(&format!("/api/explore/v2.0/catalog/datasets/cities/records?{q}"), 200).await;
    let fields: Vec<Value> =
        v20["records"].as_array().unwrap().iter().map(|r| r["record"]["fields"].clone()).collect();
    assert_eq!(Value::Array(fields), expected);
    let dated = server
        .json(
            &format!(
                "/api/explore/v2.0/catalog/datasets/cities/records?select={}&group_by=birth_date&limit=1",
                enc("count(*) as n")
            ),
            200,
        )
        .await;
    assert_eq!(
        dated["records"][0]["record"]["fields"],
        serde_json::json!({"birth_date": 163_036_800_000_i64, "n": 1}),
        "1975-03-03 as v2.0 rendered date keys"
    );

    // v1 analyze: the key is `x`, beside each series.
    let analyze =
        server.json("/api/records/1.0/analyze/?dataset=cities&x=city&y.n.func=COUNT", 200).await;
    assert_eq!(
        analyze,
        serde_json::json!([{"x": "Lyon", "n": 3}, {"x": "Nantes", "n": 1}, {"x": "Paris", "n": 4}])
    );

    // An alias names the key; an unaliased expression is named by its text.
    let aliased = server
        .records(
            "cities",
            &format!("select={}&group_by={}", enc("count(*) as n"), enc("year(birth_date) as y")),
        )
        .await;
    assert_eq!(aliased[0], serde_json::json!({"y": 1975, "n": 2}));
    let text = server
        .records(
            "cities",
            &format!("select={}&group_by={}", enc("count(*) as n"), enc("year(birth_date)")),
        )
        .await;
    assert_eq!(text[0], serde_json::json!({"year(birth_date)": 1975, "n": 2}));
    // A select item that is the group expression is not repeated, and keeps its place.
    let listed = server
        .records("cities", &format!("select={}&group_by=city&limit=1", enc("count(*) as n, city")))
        .await;
    let keys: Vec<&String> = listed[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["n", "city"]);
    // A select alias that takes a key's name for another expression is refused.
    let clash = server
        .json(
            &format!(
                "{base}/records?select={}&group_by={}",
                enc("count(*) as y"),
                enc("year(birth_date) as y")
            ),
            400,
        )
        .await;
    assert_eq!(clash["error_code"], "ODSQLError");
    assert!(clash["message"].as_str().unwrap().contains("named `y`"), "{clash}");
}
