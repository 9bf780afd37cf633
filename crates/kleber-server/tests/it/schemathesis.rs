//! Schemathesis (PyPI, pinned in `tests/clients/requirements.txt`) runs Opendatasoft's own
//! OpenAPI document of Explore v2.1 (`../shared/validators/ods-explore-api/openapi.json`)
//! against a real server holding the demo datasets: generated requests for each of its 16
//! operations, every answer checked for status, content type, headers and schema.
//!
//! It must report nothing but what docs/compatibility.md lists, each with its reason, in the
//! section "Routes of the Opendatasoft OpenAPI that Kleber does not serve": the table there is
//! read by this test, so the document and the behaviour cannot drift apart.
//!
//! Bounded for two cores: 10 examples per operation and phase, a fixed seed, no shrinking, the
//! examples, coverage and fuzzing phases (the stateful phase chains operations and its
//! failures name no operation), one worker (with two, CPython 3.11 sometimes failed inside
//! schemathesis with "AST constructor recursion depth mismatch", and one is as fast here).
//! About 15 s, 1,179 requests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::Value;

use crate::common::TestServer;

/// The heading of the section of docs/compatibility.md this test reads.
const SECTION: &str = "## Routes of the Opendatasoft OpenAPI that Kleber does not serve";
/// Longest the run may take before it is stopped (it takes 15 to 40 s on two busy cores).
const RUN_LIMIT: Duration = Duration::from_secs(240);

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One accepted finding: a check's code, on an operation (or `*`), with an answer's status,
/// whose report contains a text (or anything when empty).
#[derive(Debug)]
struct Accepted {
    check: String,
    operation: String,
    status: u16,
    contains: String,
    reason: String,
}

/// One failure schemathesis reported: the operation, the codes of the checks that failed on
/// one test case, the answer's status and the case's report (without its `curl` lines).
#[derive(Debug)]
struct Finding {
    operation: String,
    checks: Vec<String>,
    status: u16,
    text: String,
}

impl Accepted {
    fn covers(&self, finding: &Finding, check: &str) -> bool {
        self.check == check
            && (self.operation == "*" || self.operation == finding.operation)
            && self.status == finding.status
            && (self.contains.is_empty() || finding.text.contains(&self.contains))
    }
}

/// The table of the section: `| check | operation | status | report contains | reason |`.
/// Inline code marks (`` ` ``) around a cell are dropped.
fn accepted_findings() -> Vec<Accepted> {
    let path = repository().join("docs/compatibility.md");
    let doc = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let start =
        doc.find(SECTION).unwrap_or_else(|| panic!("docs/compatibility.md lacks {SECTION:?}"));
    let section = &doc[start + SECTION.len()..];
    let section = section.find("\n## ").map_or(section, |end| &section[..end]);
    let mut rows = Vec::new();
    for line in section.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        let separator = cells.iter().all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-'));
        if cells.first() == Some(&"check") || separator {
            continue;
        }
        assert_eq!(cells.len(), 5, "docs/compatibility.md: a row needs 5 cells: {line}");
        let cell = |i: usize| cells[i].trim_matches('`').to_owned();
        let row = Accepted {
            check: cell(0),
            operation: cell(1),
            status: cell(2).parse().unwrap_or_else(|_| panic!("status of {line}")),
            contains: cell(3),
            reason: cells[4].to_owned(),
        };
        assert!(
            row.check.len() == 5 && row.check.starts_with("ST"),
            "docs/compatibility.md: {:?} is not a schemathesis check code",
            row.check
        );
        assert!(row.reason.len() >= 20, "docs/compatibility.md: give the reason of {line}");
        rows.push(row);
    }
    assert!(!rows.is_empty(), "docs/compatibility.md: the section has no table");
    rows
}

/// Appends the text an entity reference stands for.
fn push_reference(out: &mut String, name: &str) {
    let decoded = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => name
            .strip_prefix('#')
            .and_then(|n| match n.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => n.parse().ok(),
            })
            .and_then(char::from_u32),
    };
    out.extend(decoded);
}

/// The findings of a JUnit report: each `<failure>`/`<error>` of a `<testcase>` (an
/// operation) holds numbered test cases, each with its failed checks (`- ST201 ...`) and the
/// answer's status (`[404] Not Found:`).
fn findings(junit: &str) -> Vec<Finding> {
    let mut reader = Reader::from_str(junit);
    let mut operation = String::new();
    let mut inside = false;
    let mut text = String::new();
    let mut out = Vec::new();
    loop {
        match reader.read_event().expect("well-formed JUnit XML") {
            Event::Start(e) if e.name().as_ref() == "testcase" => {
                operation = e
                    .try_get_attribute("name")
                    .ok()
                    .flatten()
                    .map(|a| a.value.into_owned())
                    .unwrap_or_default();
            }
            Event::Start(e) if matches!(e.name().as_ref(), "failure" | "error") => {
                inside = true;
                text.clear();
            }
            Event::Text(t) if inside => text.push_str(&t.into_inner()),
            Event::GeneralRef(r) if inside => {
                push_reference(&mut text, &r.into_inner());
            }
            Event::End(e) if matches!(e.name().as_ref(), "failure" | "error") => {
                inside = false;
                out.extend(split_cases(&operation, &text));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// The test cases of one operation's failure text.
fn split_cases(operation: &str, text: &str) -> Vec<Finding> {
    let mut cases: Vec<Finding> = Vec::new();
    let mut in_curl = false;
    for line in text.lines() {
        let trimmed = line.trim();
        let numbered = trimmed
            .split_once(". Test Case ID:")
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if numbered || cases.is_empty() {
            cases.push(Finding {
                operation: operation.to_owned(),
                checks: Vec::new(),
                status: 0,
                text: String::new(),
            });
            in_curl = false;
        }
        let Some(case) = cases.last_mut() else { continue };
        if trimmed.starts_with("Reproduce with:") {
            in_curl = true;
            continue;
        }
        if in_curl {
            continue;
        }
        if let Some(code) = trimmed.strip_prefix("- ").and_then(|r| r.split_whitespace().next())
            && code.len() == 5
            && code.starts_with("ST")
        {
            case.checks.push(code.to_owned());
        }
        if case.status == 0
            && let Some(status) = trimmed.strip_prefix('[').and_then(|r| r.get(..3))
            && let Ok(status) = status.parse()
        {
            case.status = status;
        }
        case.text.push_str(trimmed);
        case.text.push('\n');
    }
    cases.retain(|c| !c.checks.is_empty() || !c.text.trim().is_empty());
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opendatasofts_openapi_finds_nothing_but_the_documented_differences() {
    let repo = repository();
    let schemathesis = repo.join("tests/clients/.venv/bin/schemathesis");
    assert!(
        schemathesis.exists(),
        "{} is missing: run scripts/install-test-deps.sh",
        schemathesis.display()
    );
    let openapi = repo.join("../shared/validators/ods-explore-api/openapi.json");
    assert!(openapi.exists(), "missing {}", openapi.display());
    let accepted = accepted_findings();

    let dir = tempfile::tempdir().expect("temporary directory");
    crate::common::load_demo(dir.path()).await;
    let server = TestServer::start(dir).await;
    let reports = tempfile::tempdir().expect("temporary directory");
    let junit = reports.path().join("junit.xml");
    let json = reports.path().join("report.json");
    let console_path = reports.path().join("console");
    let mut child = Command::new(&schemathesis)
        .arg("run")
        .arg(&openapi)
        .arg("--url")
        .arg(format!("{}/api/explore/v2.1", server.base))
        .args(["--max-examples", "10", "--seed", "20261205", "--workers", "1", "--no-shrink"])
        .args(["--phases", "examples,coverage,fuzzing", "--continue-on-failure"])
        .args(["--suppress-health-check", "all", "--request-timeout", "60"])
        .args(["--report", "junit,json", "--report-junit-path"])
        .arg(&junit)
        .arg("--report-json-path")
        .arg(&json)
        .current_dir(reports.path())
        .stdin(Stdio::null())
        // Files, not pipes: the console report can outgrow a pipe's buffer while nobody reads.
        .stdout(std::fs::File::create(&console_path).expect("console file"))
        .stderr(std::process::Stdio::from(
            std::fs::File::create(reports.path().join("stderr")).expect("stderr file"),
        ))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} ({e})", schemathesis.display()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for schemathesis") {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            let console = std::fs::read_to_string(&console_path).unwrap_or_default();
            panic!("schemathesis still running after {RUN_LIMIT:?}:\n{console}");
        }
        // Sleeping asynchronously lets the server, on this runtime, answer.
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let console = format!(
        "{}{}",
        std::fs::read_to_string(&console_path).unwrap_or_default(),
        std::fs::read_to_string(reports.path().join("stderr")).unwrap_or_default()
    );
    println!("schemathesis ran in {:.1} s ({status})", started.elapsed().as_secs_f64());

    let report: Value = serde_json::from_slice(
        &std::fs::read(&json).unwrap_or_else(|e| panic!("no JSON report ({e}):\n{console}")),
    )
    .expect("JSON report");
    assert_eq!(report["operations"]["tested"], 16, "every operation tested:\n{console}");
    assert_eq!(report["operations"]["errored"], 0, "no operation errored:\n{console}");
    assert_eq!(report["test_cases"]["errored"], 0, "no test case errored:\n{console}");
    let generated = report["test_cases"]["generated"].as_u64().unwrap_or(0);
    assert!(generated >= 16 * 10, "only {generated} test cases generated:\n{console}");

    let junit = std::fs::read_to_string(&junit).expect("JUnit report");
    let found = findings(&junit);
    let mut unexpected = Vec::new();
    let mut used = vec![0_usize; accepted.len()];
    for finding in &found {
        assert!(
            finding.status > 0,
            "schemathesis reported an error without an answer (an error of its own?): {finding:?}"
        );
        for check in &finding.checks {
            match accepted.iter().position(|a| a.covers(finding, check)) {
                Some(i) => used[i] += 1,
                None => unexpected.push(format!(
                    "{check} on {} ({}):\n{}",
                    finding.operation, finding.status, finding.text
                )),
            }
        }
    }
    for (row, count) in accepted.iter().zip(&used) {
        println!(
            "{count:>3} × {} {} {} {:?}: {}",
            row.check, row.operation, row.status, row.contains, row.reason
        );
    }
    println!(
        "{generated} test cases, {} failing test cases, {} findings not listed",
        found.len(),
        unexpected.len()
    );
    assert!(
        unexpected.is_empty(),
        "schemathesis found {} failures that docs/compatibility.md does not list:\n\n{}",
        unexpected.len(),
        unexpected.join("\n\n")
    );
    // The run fails exactly when there are findings: an empty report must mean a clean run.
    assert_eq!(
        status.success(),
        found.is_empty(),
        "exit status {status} with {} findings:\n{console}",
        found.len()
    );
}
