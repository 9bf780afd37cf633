//! The OpenAPI document of every API (`/api/openapi.json`, src/openapi/) and its page
//! (`/api/docs`): it cannot drift from the router (every route documented, every documented
//! path and method routed), Explore v2.1 agrees with Opendatasoft's own document
//! (`../shared/validators/ods-explore-api/openapi.json`: paths, parameter names, `in`,
//! types, enums, response properties), and schemathesis finds nothing against it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::TestServer;

const METHODS: [&str; 6] = ["get", "post", "put", "patch", "delete", "head"];

/// A path template with its parameters' names erased: `/a/{id}/b` → `/a/{}/b`.
fn shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                out.push_str("{}");
            }
            '}' => inside = false,
            _ if inside => {}
            _ => out.push(c),
        }
    }
    out
}

async fn empty_server() -> TestServer {
    TestServer::start(tempfile::tempdir().expect("tempdir")).await
}

async fn document(server: &TestServer) -> Value {
    server.json("/api/openapi.json", 200).await
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                out.push((path.clone(), method.clone(), operation.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_operation_is_routed() {
    let (_, table) = kleber_server::routes().into_parts();
    let tabled: BTreeSet<String> = table.iter().map(|r| shape(r.pattern)).collect();
    let all: BTreeSet<String> = table.patterns().iter().map(|p| shape(p)).collect();
    let server = empty_server().await;
    let doc = document(&server).await;
    let documented: BTreeSet<String> =
        doc["paths"].as_object().expect("paths").keys().map(|p| shape(p)).collect();

    // Every route that answers data (the route table) and every API or feed route of the
    // portal's list is in the document.
    let must: BTreeSet<&String> = tabled
        .iter()
        .chain(all.iter().filter(|p| p.starts_with("/api/") || p.ends_with(".atom")))
        .collect();
    let missing: Vec<&&String> = must.iter().filter(|p| !documented.contains(**p)).collect();
    assert!(missing.is_empty(), "routes missing from /api/openapi.json: {missing:?}");
    // Every documented path is a route.
    let unrouted: Vec<&String> = documented.iter().filter(|p| !all.contains(*p)).collect();
    assert!(unrouted.is_empty(), "documented paths that are not routed: {unrouted:?}");
    assert!(documented.len() > 100, "{} paths", documented.len());

    // Every documented method is routed: the router answers neither 405 nor its fallback's
    // "No API endpoint" (parameters filled with an unknown name; no credentials, so the
    // management API refuses before any change).
    let mut wrong = Vec::new();
    for (path, method, _) in operations(&doc) {
        let mut concrete = String::new();
        let mut inside = false;
        for c in path.chars() {
            match c {
                '{' => {
                    inside = true;
                    concrete.push_str("zz-unknown");
                }
                '}' => inside = false,
                _ if inside => {}
                _ => concrete.push(c),
            }
        }
        let method_name = method.to_ascii_uppercase();
        let response = server
            .client
            .request(method_name.parse().expect("method"), format!("{}{concrete}", server.base))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        if status == 405 || body.contains("No API endpoint") {
            wrong.push(format!("{method_name} {concrete}: {status} {body}"));
        }
    }
    assert!(wrong.is_empty(), "documented operations the router does not answer:\n{wrong:#?}");
}

#[tokio::test]
async fn the_document_names_the_portal_and_its_parts_are_complete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = kleber_server::http::PublicUrl::parse("https://data.example.org").expect("url");
    let server = TestServer::start_configured(
        dir,
        kleber_query::Limits::default(),
        Duration::from_secs(30),
        move |state| state.with_public_url(url),
    )
    .await;
    let (status, content_type, body) = server.get("/api/openapi.json").await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let doc: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "https://data.example.org");
    // Asked twice, the same document (built once).
    assert_eq!(server.get("/api/openapi.json").await.2, body);

    // Every component schema read from its literal (none fell back to an empty object), and
    // every reference resolves.
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for (name, schema) in schemas {
        assert!(schema.get("type").is_some() || schema.get("oneOf").is_some(), "{name}: {schema}");
    }
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    for r in &refs {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{r}"));
        assert!(schemas.contains_key(name), "unresolved {r}");
    }
    // Operation ids are unique; every operation has a tag, and its answers.
    let mut ids = BTreeSet::new();
    for (path, method, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path}"));
        assert!(ids.insert(id.to_owned()), "operation id {id} twice");
        assert!(op["tags"][0].is_string(), "{method} {path} has no tag");
        assert!(
            op["responses"]["200"].is_object() || path.starts_with("/api/management/"),
            "{method} {path}"
        );
    }
    // The management API's own operations are merged, with their security.
    let create = &doc["paths"]["/api/management/v1/datasets"]["post"];
    assert_eq!(create["security"], serde_json::json!([{"apikey": []}]), "{create}");
    // CKAN's actions under both mounts, the exports' formats from the export registry.
    for prefix in ["/api/3/action", "/api/action"] {
        assert!(doc["paths"][format!("{prefix}/package_search")]["post"].is_object());
    }
    let export =
        &doc["paths"]["/api/explore/v2.1/catalog/datasets/{dataset_id}/exports/{format}"]["get"];
    let format = export["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["name"] == "format")
        .expect("format");
    let names: Vec<&str> = kleber_export::ExportFormat::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(format["schema"]["enum"], serde_json::json!(names));
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "$ref" {
                    out.extend(v.as_str().map(str::to_owned));
                } else {
                    collect_refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Opendatasoft's document, its `$ref`s to components resolved.
fn opendatasoft() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/validators/ods-explore-api/openapi.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("Opendatasoft's document is JSON")
}

fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => resolve(doc, doc.pointer(pointer).unwrap_or(&Value::Null)),
        None => value,
    }
}

/// A schema's type without `null` (3.0's `nullable` and 3.1's `["t", "null"]` alike).
fn base_type(schema: &Value) -> Option<String> {
    match &schema["type"] {
        Value::String(t) => Some(t.clone()),
        Value::Array(types) => {
            types.iter().filter_map(Value::as_str).find(|t| *t != "null").map(str::to_owned)
        }
        _ => None,
    }
}

/// Differences between Opendatasoft's schema and ours for the properties it declares.
fn compare_properties(
    ods_doc: &Value,
    ods: &Value,
    ours_doc: &Value,
    ours: &Value,
    at: &str,
    out: &mut Vec<String>,
) {
    let (ods, ours) = (resolve(ods_doc, ods), resolve(ours_doc, ours));
    if base_type(ods) != base_type(ours) && base_type(ods).is_some() {
        out.push(format!(
            "{at}: type {:?} here, {:?} at Opendatasoft",
            base_type(ours),
            base_type(ods)
        ));
        return;
    }
    if let Some(props) = ods["properties"].as_object() {
        for (name, schema) in props {
            let theirs = &ours["properties"][name];
            if theirs.is_null() {
                out.push(format!("{at}.{name}: not declared here"));
            } else {
                compare_properties(ods_doc, schema, ours_doc, theirs, &format!("{at}.{name}"), out);
            }
        }
    }
    if ods["items"].is_object() {
        compare_properties(
            ods_doc,
            &ods["items"],
            ours_doc,
            &ours["items"],
            &format!("{at}[]"),
            out,
        );
    }
}

#[tokio::test]
async fn explore_v21_agrees_with_opendatasofts_document() {
    let ods = opendatasoft();
    let server = empty_server().await;
    let ours = document(&server).await;
    let our_paths: BTreeMap<String, &Value> = ours["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .filter_map(|(p, item)| p.strip_prefix("/api/explore/v2.1").map(|rest| (shape(rest), item)))
        .collect();
    let mut differences = Vec::new();
    let mut compared = 0;
    for (path, item) in ods["paths"].as_object().expect("paths") {
        // Opendatasoft lists some formats as paths of their own (`/exports/csv`): our
        // `/exports/{format}` answers them.
        let ours_item = our_paths.get(&shape(path)).or_else(|| {
            let (parent, last) = path.rsplit_once('/')?;
            if last.contains('{') {
                return None;
            }
            our_paths.get(&shape(&format!("{parent}/{{format}}")))
        });
        let Some(ours_item) = ours_item else {
            // Not served: listed in docs/compatibility.md (the schemathesis suite reads it).
            assert!(path.contains("dcat"), "{path} is in Opendatasoft's document and not in ours");
            continue;
        };
        let ods_op = &item["get"];
        let our_op = &ours_item["get"];
        assert!(our_op.is_object(), "GET {path} is not in our document");
        compared += 1;
        let params = |doc: &Value, op: &Value| -> BTreeMap<(String, String), Value> {
            op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| resolve(doc, p))
                .map(|p| {
                    let schema = resolve(doc, &p["schema"]).clone();
                    ((text(&p["name"]), text(&p["in"])), schema)
                })
                .collect()
        };
        let theirs = params(&ods, ods_op);
        let mine = params(&ours, our_op);
        for ((name, location), schema) in &theirs {
            // Path parameters: same names where the path is the same template; the formats
            // Opendatasoft lists as paths of their own have no `format` parameter.
            let Some(my_schema) = mine.get(&(name.clone(), location.clone())) else {
                differences.push(format!("{path}: parameter {name} ({location}) missing"));
                continue;
            };
            if base_type(schema) != base_type(my_schema) {
                differences.push(format!(
                    "{path}: {name} is {:?} here, {:?} at Opendatasoft",
                    base_type(my_schema),
                    base_type(schema)
                ));
            }
            if let (Some(enum_theirs), Some(enum_mine)) =
                (schema["enum"].as_array(), my_schema["enum"].as_array())
            {
                if name == "format" {
                    // Ours is the export registry: no name Opendatasoft does not use, but
                    // Kleber's extensions (docs/exports.md): the catalog's JSON Lines and
                    // the zipped Data Package.
                    let extra: Vec<&Value> = enum_mine
                        .iter()
                        .filter(|v| {
                            !enum_theirs.contains(v)
                                && !["jsonl", "datapackage"]
                                    .contains(&v.as_str().unwrap_or_default())
                        })
                        .collect();
                    if !extra.is_empty() {
                        differences
                            .push(format!("{path}: formats {extra:?} unknown to Opendatasoft"));
                    }
                } else if enum_theirs != enum_mine {
                    differences
                        .push(format!("{path}: {name} enum {enum_mine:?} vs {enum_theirs:?}"));
                }
            } else if schema["enum"].is_array() && name != "format" {
                differences.push(format!("{path}: {name} has no enum here"));
            }
            for bound in ["minimum", "maximum", "default"] {
                if schema.get(bound).is_some() && schema.get(bound) != my_schema.get(bound) {
                    differences.push(format!(
                        "{path}: {name} {bound} {:?} here, {:?} at Opendatasoft",
                        my_schema.get(bound),
                        schema.get(bound)
                    ));
                }
            }
        }
        // The answer's schema: every property Opendatasoft declares, with its type.
        let theirs_ok = resolve(&ods, &ods_op["responses"]["200"]);
        let mine_ok = &our_op["responses"]["200"];
        for (media, content) in theirs_ok["content"].as_object().into_iter().flatten() {
            if !media.starts_with("application/json") || content["schema"].is_null() {
                continue;
            }
            let my_schema = &mine_ok["content"]["application/json"]["schema"];
            assert!(!my_schema.is_null(), "{path}: our answer has no JSON schema");
            compare_properties(&ods, &content["schema"], &ours, my_schema, path, &mut differences);
        }
    }
    assert!(compared >= 14, "only {compared} operations compared");
    assert!(
        differences.is_empty(),
        "Explore v2.1 differs from Opendatasoft's document:\n{}",
        differences.join("\n")
    );
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_documentation_page_lists_every_operation_in_french_and_english() {
    let server = empty_server().await;
    let doc = document(&server).await;
    let operations = operations(&doc);
    for (query, title, parameters) in [
        ("", "Documentation des API", "Paramètres"),
        ("?lang=en", "API documentation", "Parameters"),
    ] {
        let (status, content_type, page) = server.get(&format!("/api/docs{query}")).await;
        assert_eq!(status, 200, "{page}");
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(page.contains(&format!("<h1>{title}</h1>")), "{query}");
        assert!(page.contains(parameters), "{query}");
        assert_eq!(page.matches("<article ").count(), operations.len(), "{query}");
        for (path, method, op) in &operations {
            let id = op["operationId"].as_str().expect("id");
            assert!(page.contains(&format!("id=\"{id}\"")), "{method} {path}");
        }
        // An example on this portal, with the document's link.
        assert!(
            page.contains(&format!(
                "curl &#39;{}/api/explore/v2.1/catalog/datasets&#39;",
                server.base
            )) || page
                .contains(&format!("curl '{}/api/explore/v2.1/catalog/datasets'", server.base)),
            "{query}"
        );
        assert!(page.contains(&format!("{}/api/openapi.json", server.base)));
    }
    // Linked from every page's footer.
    let (_, _, home) = server.get("/").await;
    assert!(home.contains("href=\"/api/docs\""));
}

/// How long the run may take before it is stopped.
const RUN_LIMIT: Duration = Duration::from_secs(300);

/// Schemathesis (pinned in tests/clients/requirements.txt) over the whole document against a
/// server holding the demo datasets, without credentials (the management API and the push
/// API refuse every change, as documented): no server error, no undocumented status or
/// content type, no answer contradicting its schema. Bounded for two cores: 5 examples per
/// operation, a fixed seed, one worker; the demo datasets' identifiers are given as a
/// dictionary the path and query parameters draw from, so most requests reach real data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_against_the_whole_document() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let st = repo.join("tests/clients/.venv/bin/st");
    assert!(st.exists(), "{} is missing: run scripts/install-test-deps.sh", st.display());
    let dir = tempfile::tempdir().expect("tempdir");
    let ids = crate::common::load_demo(dir.path()).await;
    let server = TestServer::start(dir).await;
    let work = tempfile::tempdir().expect("tempdir");
    let quoted: Vec<String> = ids.iter().map(|id| format!("{id:?}")).collect();
    let config = format!(
        "[dictionaries.datasets]\nvalues = [{}]\n\n[parameters]\n\
         \"path.dataset_id\" = {{ dictionary = \"datasets\", probability = 0.8 }}\n\
         \"path.id\" = {{ dictionary = \"datasets\", probability = 0.8 }}\n\
         \"query.dataset\" = {{ dictionary = \"datasets\", probability = 0.8 }}\n",
        quoted.join(", ")
    );
    std::fs::write(work.path().join("schemathesis.toml"), config).expect("config");
    let console = work.path().join("console");
    let mut child = std::process::Command::new(&st)
        .current_dir(work.path())
        .arg("run")
        .arg(format!("{}/api/openapi.json", server.base))
        .args(["--max-examples", "5", "--seed", "20261205", "--workers", "1", "--no-shrink"])
        .args(["--phases", "examples,fuzzing", "--suppress-health-check", "all"])
        .args(["--request-timeout", "60", "--checks"])
        .arg("not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&console).expect("console"))
        .stderr(Stdio::from(std::fs::File::create(work.path().join("stderr")).expect("stderr")))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} ({e})", st.display()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("schemathesis still running after {RUN_LIMIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let report = format!(
        "{}{}",
        std::fs::read_to_string(&console).unwrap_or_default(),
        std::fs::read_to_string(work.path().join("stderr")).unwrap_or_default()
    );
    println!("schemathesis ran in {:.1} s", started.elapsed().as_secs_f64());
    // What it reported (operations tested, warnings, test cases), for the record.
    println!("{}", report.find("SUMMARY").map_or("", |at| &report[at..]));
    assert!(status.success(), "schemathesis found failures:\n{report}");
    let doc = document(&server).await;
    // Schemathesis leaves out the operation of the document it was loaded from.
    let count = operations(&doc).len() - 1;
    assert!(
        report.contains(&format!("Selected: {count}/{count}"))
            && report.contains(&format!("Tested: {count}")),
        "every operation ({count}) was tested:\n{report}"
    );
}
