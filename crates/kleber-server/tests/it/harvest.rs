//! Harvest sources (docs/harvest.md): a CKAN fixture (a loopback server answering
//! `package_search`/`package_show` with the packages of tests/data/ckan/packages.json, written
//! from CKAN's Action API documentation, and serving the real files of ../shared/data/real), a
//! second Kleber's DCAT-AP catalog (Turtle, RDF/XML, JSON-LD, paged with Hydra), idempotent
//! re-harvests, deletions that follow the option, ownership of local datasets, the scheduler
//! with a manual clock, and bad sources.

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use kleber_app::App;
use kleber_app::harvest::HarvestSpec;
use kleber_app::manage::Editor;
use kleber_app::schedule::{ManualClock, spawn_scheduler};
use kleber_ingest::ImportOptions;
use serde_json::{Map, Value, json};

use crate::common::{TestServer, app_over, import, real};

/// The CKAN fixture's state: its packages (a test removes one), its address, the API token
/// it requires (`None`: a public portal) and the `Authorization` header of each request.
#[derive(Clone)]
pub(crate) struct Ckan {
    packages: Arc<Mutex<Vec<Value>>>,
    pub(crate) base: Arc<Mutex<String>>,
    pub(crate) token: Arc<Mutex<Option<String>>>,
    seen: Seen,
}

/// Requests received: (path, Authorization header).
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A private CKAN portal: without its API token in `Authorization`, every action answers
/// 403 with CKAN's "Authorization Error" and every file 403.
async fn require_token(
    State(ckan): State<Ckan>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let given = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    ckan.seen.lock().unwrap().push((request.uri().path().to_owned(), given.clone()));
    let token = ckan.token.lock().unwrap().clone();
    if token.is_some() && given != token {
        let body = json!({"help": "", "success": false,
            "error": {"__type": "Authorization Error", "message": "Access denied"}});
        return (axum::http::StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    next.run(request).await
}

impl Ckan {
    fn packages(&self) -> Vec<Value> {
        let base = self.base.lock().unwrap().clone();
        let text = serde_json::to_string(&*self.packages.lock().unwrap()).unwrap();
        serde_json::from_str(&text.replace("{base}", &base)).unwrap()
    }
}

/// CKAN's `rows` limit (`ckan.search.rows_max`): 2 here, so paging is exercised.
const ROWS_MAX: usize = 2;

async fn package_search(
    State(ckan): State<Ckan>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> axum::Json<Value> {
    let all = ckan.packages();
    let rows = q.get("rows").and_then(|r| r.parse().ok()).unwrap_or(10).min(ROWS_MAX);
    let start = q.get("start").and_then(|r| r.parse().ok()).unwrap_or(0usize);
    // `q` as CKAN's text search, kept simple: the packages whose title holds the word; `fq`
    // as a Solr filter on one field, `organization:NAME` only (CKAN indexes the
    // organization's name there).
    let selected: Vec<Value> = all
        .into_iter()
        .filter(|p| {
            q.get("q").is_none_or(|word| {
                p["title"].as_str().unwrap_or("").to_lowercase().contains(&word.to_lowercase())
            })
        })
        .filter(|p| {
            q.get("fq").is_none_or(|fq| {
                fq.strip_prefix("organization:")
                    .is_some_and(|org| p["organization"]["name"].as_str() == Some(org))
            })
        })
        .collect();
    let mut selected = selected;
    if q.get("sort").map(String::as_str) == Some("name asc") {
        selected.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    }
    let page: Vec<Value> = selected.iter().skip(start).take(rows).cloned().collect();
    axum::Json(json!({
        "help": "https://ckan.example/api/3/action/help_show?name=package_search",
        "success": true,
        "result": {"count": selected.len(), "results": page, "facets": {}, "search_facets": {}, "sort": "name asc"}
    }))
}

async fn package_show(
    State(ckan): State<Ckan>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> axum::response::Response {
    let id = q.get("id").cloned().unwrap_or_default();
    match ckan.packages().into_iter().find(|p| p["name"] == id.as_str() || p["id"] == id.as_str())
    {
        Some(p) => axum::Json(json!({"help": "", "success": true, "result": p})).into_response(),
        None => (
            axum::http::StatusCode::NOT_FOUND,
            axum::Json(json!({"help": "", "success": false, "error": {"__type": "Not Found Error", "message": "Not found"}})),
        )
            .into_response(),
    }
}

async fn file(axum::extract::Path(name): axum::extract::Path<String>) -> axum::response::Response {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/real").join(&name);
    match std::fs::read(&path) {
        Ok(bytes) => bytes.into_response(),
        Err(_) => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

pub(crate) async fn ckan_fixture() -> Ckan {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ckan/packages.json"),
    )
    .unwrap();
    let ckan = Ckan {
        packages: Arc::new(Mutex::new(serde_json::from_str(&text).unwrap())),
        base: Arc::new(Mutex::new(String::new())),
        token: Arc::new(Mutex::new(None)),
        seen: Arc::new(Mutex::new(Vec::new())),
    };
    let router = axum::Router::new()
        .route("/api/3/action/package_search", axum::routing::get(package_search))
        .route("/api/3/action/package_show", axum::routing::get(package_show))
        .route("/files/{name}", axum::routing::get(file))
        .layer(axum::middleware::from_fn_with_state(ckan.clone(), require_token))
        .with_state(ckan.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    *ckan.base.lock().unwrap() = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    ckan
}

fn spec(kind: &str, name: &str, url: &str) -> HarvestSpec {
    HarvestSpec {
        name: Some(name.to_owned()),
        kind: kind.to_owned(),
        url: url.to_owned(),
        query: None,
        fq: None,
        ids: Vec::new(),
        overrides: Map::new(),
        delete_missing: false,
        schedule: None,
        organization: None,
        headers: None,
        apikey: None,
    }
}

/// Records of a CSV file counted with the csv crate (not Kleber's reader).
fn csv_records(path: &Path) -> u64 {
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_path(path).unwrap();
    reader.records().count() as u64
}

/// Features of a GeoJSON file.
fn features(path: &Path) -> u64 {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["features"].as_array().unwrap().len() as u64
}

async fn dataset(app: &App, id: &str) -> Option<kleber_store::DatasetRecord> {
    app.dataset(&kleber_app::RequestContext::operator(), id).await.ok().map(|v| v.record().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ckan_portal_is_harvested_paged_mapped_and_reharvested_idempotently() {
    let ckan = ckan_fixture().await;
    let base = ckan.base.lock().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let app = app_over(&path);
    let admin = Editor::operator();
    let mut s = spec("ckan", "city", &base);
    s.overrides.insert("theme".to_owned(), json!(["Open data"]));
    let view = app.set_harvest(&admin, s).await.unwrap();
    assert_eq!(view.kind, "ckan");

    let (run, report) = app.run_harvest(&admin, "city").await.unwrap();
    assert_eq!(run.outcome, "partial", "{report:?}");
    assert_eq!(report.selected, 4);
    let copied: Vec<&str> = report.copied.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(copied, ["city-arrondissements", "city-parkings-strasbourg", "city-velib-paris"]);
    assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
    assert_eq!(report.failed[0].0, "city-rapport-annuel");
    assert!(report.failed[0].1.contains("no file of this dataset is in a format Kleber reads"));

    // Data: records as counted independently.
    let parkings = dataset(&app, "city-parkings-strasbourg").await.unwrap();
    assert_eq!(
        parkings.version.records_count as u64,
        csv_records(&real("strasbourg_occupation-parkings-temps-reel.csv"))
    );
    let arr = dataset(&app, "city-arrondissements").await.unwrap();
    assert_eq!(
        arr.version.records_count as u64,
        features(&real("paris_arrondissements_polygons.geojson"))
    );
    // Two tabular resources: the first (XLSX) is the data, the CSV an attachment.
    let velib = dataset(&app, "city-velib-paris").await.unwrap();
    assert_eq!(velib.version.source.as_deref().map(|s| s.ends_with(".xlsx")), Some(true));
    let attachments = app.managed_attachments(&admin, "city-velib-paris").await.unwrap();
    assert_eq!(attachments.len(), 1);
    assert!(
        report
            .notes
            .iter()
            .any(|(id, n)| id == "city-velib-paris" && n.contains("2 files could be its data"))
    );
    let notice = app.managed_attachments(&admin, "city-parkings-strasbourg").await.unwrap();
    assert_eq!(notice.len(), 1, "{notice:?}");

    // Metadata mapped, overrides over it, provenance.
    let m = &parkings.metas;
    assert_eq!(parkings.title, "Occupation des parkings en temps réel");
    assert!(parkings.description.as_deref().unwrap().contains("<strong>Eurométropole</strong>"));
    assert_eq!(m["keyword"], json!(["parking", "mobilité"]));
    assert_eq!(m["theme"], json!(["Open data"]));
    assert_eq!(m["publisher"], "Eurométropole de Strasbourg");
    assert_eq!(m["license"], "Open Data Commons Open Database License (ODbL)");
    assert_eq!(m["language"], "fr");
    let h = &m["harvest"];
    assert_eq!(h["harvester"], "ckan");
    assert_eq!(h["name"], "city");
    assert_eq!(h["source_id"], "parkings-strasbourg");
    assert_eq!(h["source_url"], format!("{base}/dataset/parkings-strasbourg"));
    assert_eq!(h["at_source"], true);
    assert!(
        report
            .notes
            .iter()
            .any(|(_, n)| n.contains("extras not carried over") && n.contains("frequency"))
    );

    // The dataset object shows the provenance in metas.default.harvest.
    let version = parkings.version.number;
    let server = TestServer::start(dir).await;
    let object =
        server.json("/api/explore/v2.1/catalog/datasets/city-parkings-strasbourg", 200).await;
    assert_eq!(object["metas"]["default"]["harvest"]["source_id"], "parkings-strasbourg");

    // Re-harvest: nothing changes, no new version.
    let (run, report) = app.run_harvest(&admin, "city").await.unwrap();
    assert_eq!(run.outcome, "partial");
    assert!(report.copied.is_empty(), "{:?}", report.copied);
    assert_eq!(report.unchanged.len(), 3);
    assert_eq!(dataset(&app, "city-parkings-strasbourg").await.unwrap().version.number, version);

    // Metadata changed at the source, same file: metadata updated, no new version.
    ckan.packages.lock().unwrap()[0]["title"] = json!("Parkings");
    let (_, report) = app.run_harvest(&admin, "city").await.unwrap();
    assert_eq!(report.copied.len(), 1);
    let parkings = dataset(&app, "city-parkings-strasbourg").await.unwrap();
    assert_eq!((parkings.title.as_str(), parkings.version.number), ("Parkings", version));

    // Gone at the source: kept and marked by default...
    ckan.packages.lock().unwrap().retain(|p| p["name"] != "arrondissements");
    let (_, report) = app.run_harvest(&admin, "city").await.unwrap();
    assert_eq!(report.kept, ["city-arrondissements"]);
    let arr = dataset(&app, "city-arrondissements").await.unwrap();
    assert_eq!(arr.metas["harvest"]["at_source"], false);
    // ...moved to the trash with delete_missing.
    let mut s = spec("ckan", "city", &base);
    s.delete_missing = true;
    app.set_harvest(&admin, s).await.unwrap();
    let (_, report) = app.run_harvest(&admin, "city").await.unwrap();
    assert_eq!(report.removed, ["city-arrondissements"]);
    assert!(dataset(&app, "city-arrondissements").await.is_none());
    let runs = app.harvest_runs(&admin, "city").await.unwrap();
    assert_eq!(runs.len(), 5);
    assert_eq!(runs[0].counts.as_ref().unwrap()["removed"], 1);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_harvest_never_overwrites_a_local_dataset_and_selects_by_ids_and_query() {
    let ckan = ckan_fixture().await;
    let base = ckan.base.lock().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    import(
        dir.path(),
        &real("paris_arrondissements_polygons.geojson"),
        "city-parkings-strasbourg",
        ImportOptions::default(),
    );
    let app = app_over(dir.path());
    let admin = Editor::operator();
    let before = dataset(&app, "city-parkings-strasbourg").await.unwrap();
    let mut s = spec("ckan", "city", &base);
    s.ids = vec!["parkings-strasbourg".to_owned(), "velib-paris".to_owned(), "nope".to_owned()];
    app.set_harvest(&admin, s).await.unwrap();
    let (_, report) = app.run_harvest(&admin, "city").await.unwrap();
    let failed: Vec<&str> = report.failed.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(failed, ["nope", "city-parkings-strasbourg"], "{:?}", report.failed);
    assert!(report.failed[1].1.contains("was not created by harvest city"));
    assert_eq!(report.copied.len(), 1);
    let after = dataset(&app, "city-parkings-strasbourg").await.unwrap();
    assert_eq!((after.version.number, after.title), (before.version.number, before.title));
    // A query: CKAN's q.
    let mut s = spec("ckan", "q", &base);
    s.query = Some("arrondissements".to_owned());
    app.set_harvest(&admin, s).await.unwrap();
    let (run, report) = app.run_harvest(&admin, "q").await.unwrap();
    assert_eq!(run.outcome, "done");
    assert_eq!(
        report.copied.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["q-arrondissements"]
    );
}

/// A second Kleber with two real datasets, its DCAT-AP catalog harvested in each syntax.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dcat_ap_catalog_is_harvested_in_each_syntax_across_hydra_pages() {
    let source = tempfile::tempdir().unwrap();
    import(
        source.path(),
        &real("strasbourg_occupation-parkings-temps-reel.csv"),
        "parkings",
        ImportOptions::default(),
    );
    import(
        source.path(),
        &real("paris_arrondissements_polygons.geojson"),
        "arrondissements",
        ImportOptions::default(),
    );
    {
        let app = app_over(source.path());
        let mut patch = Map::new();
        patch.insert("keyword".to_owned(), json!(["mobilité"]));
        patch.insert("publisher".to_owned(), json!("Ville"));
        app.update_metas(&kleber_app::RequestContext::operator(), "parkings", patch).await.unwrap();
    }
    let server = TestServer::start(source).await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_over(dir.path());
    let admin = Editor::operator();
    for (name, path) in [("ttl", "ttl"), ("rdf", "rdf"), ("jsonld", "jsonld")] {
        let url = format!("{}/api/explore/v2.1/catalog/exports/{path}?limit=1", server.base);
        app.set_harvest(&admin, spec("dcat", name, &url)).await.unwrap();
        let (run, report) = app.run_harvest(&admin, name).await.unwrap();
        assert_eq!(run.outcome, "done", "{name}: {report:?}");
        let mut ids: Vec<&str> = report.copied.iter().map(|c| c.id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, [format!("{name}-arrondissements"), format!("{name}-parkings")], "{name}");
        let p = dataset(&app, &format!("{name}-parkings")).await.unwrap();
        assert_eq!(
            p.version.records_count as u64,
            csv_records(&real("strasbourg_occupation-parkings-temps-reel.csv")),
            "{name}"
        );
        assert_eq!(p.metas["keyword"], json!(["mobilité"]), "{name}");
        // Kleber's DCAT export names the dataset's organization as its publisher.
        let publisher = p.metas["publisher"].as_str().unwrap();
        let (_, _, ttl) = server.get("/api/explore/v2.1/catalog/exports/ttl").await;
        assert!(ttl.contains(&format!("\"{publisher}\"")), "{name}: {publisher}");
        assert_eq!(p.metas["harvest"]["harvester"], "dcat");
        let a = dataset(&app, &format!("{name}-arrondissements")).await.unwrap();
        assert_eq!(
            a.version.records_count as u64,
            features(&real("paris_arrondissements_polygons.geojson"))
        );
        // Idempotent.
        let (_, again) = app.run_harvest(&admin, name).await.unwrap();
        assert!(again.copied.is_empty(), "{name}: {:?}", again.copied);
        assert_eq!(again.unchanged.len(), 2);
    }
    // The keyword filter.
    let mut s =
        spec("dcat", "kw", &format!("{}/api/explore/v2.1/catalog/exports/ttl", server.base));
    s.query = Some("Mobilité".to_owned());
    app.set_harvest(&admin, s).await.unwrap();
    let (_, report) = app.run_harvest(&admin, "kw").await.unwrap();
    assert_eq!(report.copied.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["kw-parkings"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sources_and_specs_get_clear_errors_and_change_nothing() {
    let ckan = ckan_fixture().await;
    let base = ckan.base.lock().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let app = app_over(dir.path());
    let admin = Editor::operator();
    for (s, needle) in [
        (spec("ckan", "x", "ftp://example.org"), "http"),
        (spec("gopher", "x", &base), "unknown harvest kind"),
        (spec("ckan", "Bad Name", &base), "invalid harvest name"),
    ] {
        let e = app.set_harvest(&admin, s).await.unwrap_err().to_string();
        assert!(e.contains(needle), "{e}");
    }
    let mut s = spec("ckan", "x", &base);
    s.schedule = Some("every minute".to_owned());
    assert!(app.set_harvest(&admin, s).await.unwrap_err().to_string().contains("fields"));
    assert!(app.harvests(&admin).await.unwrap().is_empty());
    // A DCAT harvest of a CSV file, a CKAN harvest of a file server: failed runs, recorded.
    app.set_harvest(
        &admin,
        spec(
            "dcat",
            "notrdf",
            &format!("{base}/files/strasbourg_occupation-parkings-temps-reel.csv"),
        ),
    )
    .await
    .unwrap();
    let e = app.run_harvest(&admin, "notrdf").await.unwrap_err().to_string();
    assert!(e.contains("not valid") || e.contains("not an RDF document"), "{e}");
    app.set_harvest(&admin, spec("ckan", "notckan", &format!("{base}/files"))).await.unwrap();
    let e = app.run_harvest(&admin, "notckan").await.unwrap_err().to_string();
    assert!(e.contains("does not answer as CKAN's Action API"), "{e}");
    let runs = app.harvest_runs(&admin, "notckan").await.unwrap();
    assert_eq!((runs.len(), runs[0].outcome.as_str()), (1, "failed"));
    assert!(app.harvests(&admin).await.unwrap().iter().all(|h| h.failing));
    assert!(app.harvest(&admin, "nope").await.is_err());
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_runs_a_due_harvest_once_with_a_manual_clock() {
    let ckan = ckan_fixture().await;
    let base = ckan.base.lock().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(app_over(dir.path()));
    let admin = Editor::operator();
    let mut s = spec("ckan", "sched", &base);
    s.ids = vec!["arrondissements".to_owned()];
    s.schedule = Some("0 3 * * *".to_owned());
    let view = app.set_harvest(&admin, s).await.unwrap();
    let next = utc(view.next_run.as_deref().unwrap());
    assert!(next > Utc::now());
    // Before it is due: nothing.
    assert!(app.run_due_harvests(next - chrono::Duration::minutes(1)).await.unwrap().is_empty());
    // The scheduler's clock reaches it: one run, by the schedule.
    let clock = Arc::new(ManualClock::new(next + chrono::Duration::seconds(5)));
    let task = spawn_scheduler(Arc::clone(&app), clock.clone());
    let mut runs = Vec::new();
    for _ in 0..600 {
        runs = app.harvest_runs(&admin, "sched").await.unwrap();
        if runs.first().is_some_and(|r| r.outcome != "running") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    task.abort();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!((runs[0].trigger.as_str(), runs[0].outcome.as_str()), ("schedule", "done"));
    assert!(dataset(&app, "sched-arrondissements").await.is_some());
    // The same occurrence is not run twice.
    assert!(app.run_due_harvests(next + chrono::Duration::minutes(1)).await.unwrap().is_empty());
}

/// A management API call with `key`; status and JSON body.
async fn call(
    server: &TestServer,
    method: &str,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}/api/management/v1{path}", server.base);
    let mut request = server
        .client
        .request(method.parse().unwrap(), url)
        .header("Authorization", format!("Apikey {key}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harvests_are_managed_by_portal_admins_on_the_management_api() {
    use kleber_app::accounts::{Accounts, operator};
    use kleber_store::{NewOrganization, OrgKind, Role, Scope, Store};
    let ckan = ckan_fixture().await;
    let base = ckan.base.lock().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let accounts = Accounts::new(Arc::new(Store::open(dir.path()).unwrap()));
    let op = operator();
    let org = NewOrganization {
        id: "ems",
        name: "Eurométropole",
        kind: OrgKind::Metropolis,
        description: None,
        website: None,
        logo: None,
    };
    accounts.create_org(&op, &org).unwrap();
    accounts.create_user(&op, "admin@ems.example", None, true, None).unwrap();
    accounts.create_user(&op, "editor@ems.example", None, false, None).unwrap();
    accounts.set_member(&op, "ems", "editor@ems.example", Role::Admin).unwrap();
    let all = [Scope::Read, Scope::Write, Scope::Admin];
    let admin = accounts.create_key(&op, "admin@ems.example", "t", &all, None).unwrap().key;
    let editor = accounts.create_key(&op, "editor@ems.example", "t", &all, None).unwrap().key;
    drop(accounts);
    let server = TestServer::start(dir).await;
    let body = json!({"name": "city", "kind": "ckan", "url": base, "ids": ["arrondissements"],
                      "overrides": {"publisher": "Ville de Paris"}});
    // An organization's admin is not a portal admin.
    let (status, answer) = call(&server, "POST", "/harvests", &editor, Some(body.clone())).await;
    assert_eq!((status, answer["error_code"].as_str()), (403, Some("Forbidden")), "{answer}");
    // It sees its organization's harvests only: none yet.
    let (status, answer) = call(&server, "GET", "/harvests", &editor, None).await;
    assert_eq!((status, answer), (200, json!([])));
    // Bad bodies: the message says what to fix, nothing is stored.
    for (bad, needle) in [
        (json!({"kind": "ckan", "url": "file:///etc/passwd"}), "http"),
        (json!({"kind": "ckan", "url": base, "colour": "red"}), "unknown field"),
        (json!({"kind": "dcat", "url": base, "fq": "x:y"}), "fq is CKAN"),
        (json!({"kind": "ckan", "url": base, "headers": {"Bad Name": "x"}}), "header name"),
        (json!({"kind": "ckan", "url": base, "apikey": "k"}), "apikey is an Opendatasoft"),
    ] {
        let (status, answer) = call(&server, "POST", "/harvests", &admin, Some(bad)).await;
        assert_eq!((status, answer["error_code"].as_str()), (400, Some("InvalidRequestBody")));
        assert!(answer["message"].as_str().unwrap().contains(needle), "{answer}");
    }
    let (_, list) = call(&server, "GET", "/harvests", &admin, None).await;
    assert_eq!(list, json!([]));
    // Created, listed, run, its runs, deleted.
    let mut body = body;
    body["headers"] = json!({"Authorization": CKAN_TOKEN});
    let (status, answer) = call(&server, "POST", "/harvests", &admin, Some(body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ids"], json!(["arrondissements"]));
    // Header names only, never their values.
    assert_eq!(answer["header_names"], json!(["Authorization"]));
    assert!(!answer.to_string().contains(CKAN_TOKEN), "{answer}");
    for path in ["/harvests", "/harvests/city"] {
        let (_, shown) = call(&server, "GET", path, &admin, None).await;
        assert!(!shown.to_string().contains(CKAN_TOKEN), "{shown}");
    }
    let (status, run) = call(&server, "POST", "/harvests/city/run", &admin, None).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["run"]["outcome"], "done");
    assert_eq!(run["copied"][0]["dataset"], "city-arrondissements");
    let (_, list) = call(&server, "GET", "/harvests", &admin, None).await;
    assert_eq!(list[0]["datasets"], 1);
    let (_, runs) = call(&server, "GET", "/harvests/city/runs", &admin, None).await;
    assert_eq!(runs[0]["counts"]["copied"], 1);
    // The dataset's page says where it comes from (escaped, linked).
    let (status, _, page) = server.get("/explore/dataset/city-arrondissements/information/").await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("href=\"{base}/dataset/arrondissements\"")), "no source link");
    // The DCAT-AP export names the source dataset.
    let (_, _, rdf) =
        server.get("/api/explore/v2.1/catalog/datasets/city-arrondissements/exports/dcat").await;
    assert!(rdf.contains("wasDerivedFrom"), "{rdf}");
    assert!(rdf.contains(&format!("{base}/dataset/arrondissements")), "{rdf}");
    let (status, _) = call(&server, "DELETE", "/harvests/city", &admin, None).await;
    assert_eq!(status, 200);
    let (status, answer) = call(&server, "GET", "/harvests/city", &admin, None).await;
    assert_eq!((status, answer["error_code"].as_str()), (404, Some("NotFound")));
    let (status, _) = call(&server, "POST", "/harvests/city/run", &admin, None).await;
    assert_eq!(status, 404);
    // CKAN's filter query: the packages of one organization.
    let body = json!({"name": "paris", "kind": "ckan", "url": base, "fq": "organization:paris"});
    let (status, answer) = call(&server, "POST", "/harvests", &admin, Some(body)).await;
    assert_eq!((status, answer["fq"].as_str()), (200, Some("organization:paris")), "{answer}");
    let (status, run) = call(&server, "POST", "/harvests/paris/run", &admin, None).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["copied"].as_array().map(Vec::len), Some(1), "{run}");
    assert_eq!(run["copied"][0]["dataset"], "paris-velib-paris");
}

/// The command lines of docs/harvest.md, through the real binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_stores_runs_and_lists_harvests() {
    let ckan = ckan_fixture().await;
    let base = ckan.base.lock().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let args = |a: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = a.iter().map(|s| (*s).to_owned()).collect();
        v.extend(["--data-dir".to_owned(), data.clone()]);
        v
    };
    let (ok, out, err) = crate::migrate::kleber(
        args(&[
            "harvest",
            "ckan",
            &base,
            "--name",
            "city",
            "--ids",
            "parkings-strasbourg,arrondissements",
            "--set",
            "publisher=Eurométropole de Strasbourg",
            "--set",
            "theme=[\"Mobilité\"]",
            "--delete-missing",
            "--schedule",
            "0 3 * * *",
            "--json",
        ]),
        vec![],
    )
    .await;
    assert!(ok, "{out}\n{err}");
    let report: Value = serde_json::from_str(out.split_once('\n').unwrap().1).unwrap();
    assert_eq!(report["report"]["copied"].as_array().unwrap().len(), 2, "{report}");
    let (ok, out, err) = crate::migrate::kleber(args(&["harvest", "list"]), vec![]).await;
    assert!(ok, "{err}");
    assert!(out.contains("city\tckan") && out.contains("2 datasets\t0 3 * * *"), "{out}");
    let (ok, out, err) = crate::migrate::kleber(args(&["harvest", "run", "city"]), vec![]).await;
    assert!(ok, "{err}");
    assert!(out.contains("0 datasets copied (0 records), 2 unchanged, 0 failed"), "{out}");
    let app = app_over(dir.path());
    let d = dataset(&app, "city-parkings-strasbourg").await.unwrap();
    assert_eq!(d.metas["publisher"], "Eurométropole de Strasbourg");
    assert_eq!(d.metas["theme"], json!(["Mobilité"]));
    // Bad input: what, where, how to fix; nothing stored.
    let (ok, _, err) =
        crate::migrate::kleber(args(&["harvest", "dcat", "not a url", "--name", "x"]), vec![])
            .await;
    assert!(!ok && err.contains("not a url"), "{err}");
    let (ok, _, err) = crate::migrate::kleber(args(&["harvest", "run", "nope"]), vec![]).await;
    assert!(!ok && err.contains("No harvest named \"nope\""), "{err}");
}

pub(crate) const CKAN_TOKEN: &str = "ckan-t0ken-7d1e9a";

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The catalog and its write-ahead log, as bytes on disk.
fn catalog_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["catalog.sqlite", "catalog.sqlite-wal"] {
        if let Ok(bytes) = std::fs::read(dir.join(name)) {
            all.extend(bytes);
        }
    }
    all
}

fn headers(pairs: &[(&str, &str)]) -> Option<std::collections::BTreeMap<String, String>> {
    Some(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
}

/// A private CKAN portal (its API token required): refused without the header, harvested
/// with it (the token sent to the API and to the portal's own files), the header kept when
/// the harvest is set again without headers, removed with an empty map; never in clear in
/// the catalog, never shown back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_ckan_portal_is_harvested_with_an_encrypted_token_header() {
    let ckan = ckan_fixture().await;
    *ckan.token.lock().unwrap() = Some(CKAN_TOKEN.to_owned());
    let base = ckan.base.lock().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let app = app_over(dir.path());
    let admin = Editor::operator();
    let mut s = spec("ckan", "private", &base);
    s.ids = vec!["arrondissements".to_owned()];
    app.set_harvest(&admin, s.clone()).await.unwrap();
    let e = app.run_harvest(&admin, "private").await.unwrap_err().to_string();
    assert!(e.contains("HTTP 403") && e.contains("Access denied"), "{e}");

    s.headers = headers(&[("Authorization", CKAN_TOKEN)]);
    let view = app.set_harvest(&admin, s.clone()).await.unwrap();
    assert_eq!(view.config.header_names, ["Authorization"]);
    assert!(!serde_json::to_string(&view).unwrap().contains(CKAN_TOKEN));
    ckan.seen.lock().unwrap().clear();
    let (run, report) = app.run_harvest(&admin, "private").await.unwrap();
    assert_eq!(run.outcome, "done", "{report:?}");
    assert_eq!(report.copied[0].id, "private-arrondissements");
    let seen = ckan.seen.lock().unwrap().clone();
    assert!(seen.iter().any(|(p, _)| p.starts_with("/files/")), "{seen:?}");
    assert!(seen.iter().all(|(_, a)| a.as_deref() == Some(CKAN_TOKEN)), "{seen:?}");
    let d = dataset(&app, "private-arrondissements").await.unwrap();
    assert_eq!(
        d.version.records_count as u64,
        features(&real("paris_arrondissements_polygons.geojson"))
    );

    // Set again without headers (a schedule added): the stored token is kept and works.
    let mut again = spec("ckan", "private", &base);
    again.ids = vec!["arrondissements".to_owned()];
    again.schedule = Some("0 3 * * *".to_owned());
    let view = app.set_harvest(&admin, again.clone()).await.unwrap();
    assert_eq!(view.config.header_names, ["Authorization"]);
    ckan.packages.lock().unwrap()[2]["title"] = json!("Les arrondissements");
    let (run, report) = app.run_harvest(&admin, "private").await.unwrap();
    assert_eq!((run.outcome.as_str(), report.copied.len()), ("done", 1), "{report:?}");
    assert_eq!(
        dataset(&app, "private-arrondissements").await.unwrap().title,
        "Les arrondissements"
    );

    // Encrypted at rest: neither the catalog nor its log holds the token.
    assert!(!contains(&catalog_bytes(dir.path()), CKAN_TOKEN));
    let list = app.harvests(&admin).await.unwrap();
    assert!(!serde_json::to_string(&list).unwrap().contains(CKAN_TOKEN));

    // Removed with an empty map: refused again.
    again.headers = headers(&[]);
    let view = app.set_harvest(&admin, again).await.unwrap();
    assert!(view.config.header_names.is_empty());
    ckan.packages.lock().unwrap()[2]["title"] = json!("Arrondissements");
    let e = app.run_harvest(&admin, "private").await.unwrap_err().to_string();
    assert!(e.contains("HTTP 403"), "{e}");

    // Bad headers and misplaced API keys: refused, nothing changed.
    for (mut bad, needle) in [
        (spec("ckan", "private", &base), "not a valid HTTP header name"),
        (spec("ckan", "private", &base), "apikey is an Opendatasoft API key"),
    ] {
        if needle.contains("header name") {
            bad.headers = headers(&[("Bad Name", "x")]);
        } else {
            bad.apikey = Some("k".to_owned());
        }
        let e = app.set_harvest(&admin, bad).await.unwrap_err().to_string();
        assert!(e.contains(needle), "{e}");
    }
    assert_eq!(
        app.harvest(&admin, "private").await.unwrap().schedule.as_deref(),
        Some("0 3 * * *")
    );
}

/// A loopback proxy in front of a Kleber that requires `Authorization: <expected>` (401
/// without), forwards without it, and writes its own address over the Kleber's in what it
/// answers (so the links of a DCAT catalog and of an Opendatasoft answer lead through it).
#[derive(Clone)]
struct Guard {
    upstream: String,
    base: Arc<Mutex<String>>,
    expected: String,
    seen: Arc<Mutex<Vec<Option<String>>>>,
}

async fn guarded(
    State(g): State<Guard>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::http::header;
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    g.seen.lock().unwrap().push(given.clone());
    if given.as_deref() != Some(g.expected.as_str()) {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "credentials required",
        )
            .into_response();
    }
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let answer = reqwest::get(format!("{}{path}", g.upstream)).await.unwrap();
    let status = axum::http::StatusCode::from_u16(answer.status().as_u16()).unwrap();
    let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
    let bytes = answer.bytes().await.unwrap().to_vec();
    let base = g.base.lock().unwrap().clone();
    let body = match String::from_utf8(bytes) {
        Ok(text) => text.replace(&g.upstream, &base).into_bytes(),
        Err(e) => e.into_bytes(),
    };
    let mut response = (status, body).into_response();
    if let Some(t) = content_type {
        response.headers_mut().insert(header::CONTENT_TYPE, t);
    }
    response
}

async fn guard(upstream: &str, expected: &str) -> Guard {
    let g = Guard {
        upstream: upstream.to_owned(),
        base: Arc::new(Mutex::new(String::new())),
        expected: expected.to_owned(),
        seen: Arc::new(Mutex::new(Vec::new())),
    };
    let router = axum::Router::new().fallback(guarded).with_state(g.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    *g.base.lock().unwrap() = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    g
}

/// A DCAT-AP catalog and an Opendatasoft portal behind credentials: each refused without its
/// header (the run failed, recorded), harvested with it (a bearer token for DCAT-AP, an API
/// key as `Authorization: Apikey ...` for Opendatasoft), the header sent with every request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcat_and_opendatasoft_sources_behind_credentials_are_harvested_with_their_header() {
    let source = tempfile::tempdir().unwrap();
    import(
        source.path(),
        &real("strasbourg_occupation-parkings-temps-reel.csv"),
        "parkings",
        ImportOptions::default(),
    );
    let server = TestServer::start(source).await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_over(dir.path());
    let admin = Editor::operator();
    let parkings = csv_records(&real("strasbourg_occupation-parkings-temps-reel.csv"));

    // DCAT-AP with a bearer token.
    let bearer = "Bearer dcat-5ecret-31c";
    let g = guard(&server.base, bearer).await;
    let gbase = g.base.lock().unwrap().clone();
    let url = format!("{gbase}/api/explore/v2.1/catalog/exports/ttl");
    app.set_harvest(&admin, spec("dcat", "eu", &url)).await.unwrap();
    let e = app.run_harvest(&admin, "eu").await.unwrap_err().to_string();
    assert!(e.contains("HTTP 401"), "{e}");
    let mut s = spec("dcat", "eu", &url);
    s.headers = headers(&[("Authorization", bearer)]);
    app.set_harvest(&admin, s).await.unwrap();
    g.seen.lock().unwrap().clear();
    let (run, report) = app.run_harvest(&admin, "eu").await.unwrap();
    assert_eq!(run.outcome, "done", "{report:?}");
    assert_eq!(dataset(&app, "eu-parkings").await.unwrap().version.records_count as u64, parkings);
    let seen = g.seen.lock().unwrap().clone();
    assert!(seen.len() >= 2 && seen.iter().all(|a| a.as_deref() == Some(bearer)), "{seen:?}");
    assert!(!contains(&catalog_bytes(dir.path()), "dcat-5ecret-31c"));

    // Opendatasoft with an API key.
    let key = "ods-k3y-90b2";
    let g = guard(&server.base, &format!("Apikey {key}")).await;
    let gbase = g.base.lock().unwrap().clone();
    app.set_harvest(&admin, spec("ods", "ods", &gbase)).await.unwrap();
    let e = app.run_harvest(&admin, "ods").await.unwrap_err().to_string();
    assert!(e.contains("401"), "{e}");
    let mut s = spec("ods", "ods", &gbase);
    s.apikey = Some(key.to_owned());
    let view = app.set_harvest(&admin, s).await.unwrap();
    assert_eq!(view.config.header_names, ["Authorization"]);
    g.seen.lock().unwrap().clear();
    let (run, report) = app.run_harvest(&admin, "ods").await.unwrap();
    assert_eq!(run.outcome, "done", "{report:?}");
    assert_eq!(dataset(&app, "parkings").await.unwrap().version.records_count as u64, parkings);
    assert!(g.seen.lock().unwrap().iter().all(|a| a.as_deref() == Some(&*format!("Apikey {key}"))));
    assert!(!contains(&catalog_bytes(dir.path()), key));
}
