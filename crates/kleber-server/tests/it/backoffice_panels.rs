//! The back office's processors panel and harvests pages (issue 14 items 3 and 4) through real
//! HTTP with signed-in sessions: a preview shows the rows before and after a pipeline (on the
//! last file a remote source read, else on the current version) and stores nothing; a bad
//! pipeline is refused with the step and field named, changing nothing; a saved pipeline is
//! what the management API returns, a refused save keeps it, Clear removes it. The harvests
//! page creates an organization's CKAN harvest that runs against the loopback CKAN fixture of
//! `harvest.rs` into that organization, shows its runs; another organization's admin, an
//! editor and forged forms get the missing page, 403 or the form's refusal.

use std::path::Path;
use std::sync::Arc;

use kleber_app::manage::Editor;
use kleber_app::sources::SourceSpec;
use kleber_ingest::ImportOptions;
use kleber_store::{NewOrganization, OrgKind, Role, Scope, Store};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{TestServer, app_over, import, real};
use crate::forms::{Browser, PASSWORD, element, form, location, unescape};

const ROOT: &str = "root@example.org"; // portal admin
const ADA: &str = "ada@example.org"; // ems admin
const EVE: &str = "eve@example.org"; // ems editor
const OSCAR: &str = "oscar@example.org"; // colmar admin
const VELIB: &str = "paris_velib-disponibilite-en-temps-reel_utf8-bom.csv";

/// One Vélib station of the real file, with the coordinates the test read itself.
pub(crate) struct Station {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) lat: String,
    pub(crate) lon: String,
}

/// The real Vélib CSV with its "lat, lon" column split into two columns by this test's own
/// code (`Latitude station`, `Longitude station`: names the importer does not pair into a
/// point by itself), and its stations.
pub(crate) fn velib_with_lat_lon(dir: &Path) -> (std::path::PathBuf, Vec<Station>) {
    let text = std::fs::read_to_string(real(VELIB)).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (coords, id, name) =
        (at("Coordonnées géographiques"), at("Identifiant station"), at("Nom station"));
    let mut writer = csv::WriterBuilder::new().delimiter(b';').from_writer(Vec::new());
    let mut head: Vec<&str> =
        headers.iter().enumerate().filter(|(i, _)| *i != coords).map(|(_, h)| h).collect();
    head.extend(["Latitude station", "Longitude station"]);
    writer.write_record(&head).unwrap();
    let mut stations = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        let (lat, lon) = record[coords].split_once(',').unwrap();
        let (lat, lon) = (lat.trim().to_owned(), lon.trim().to_owned());
        let mut row: Vec<&str> =
            record.iter().enumerate().filter(|(i, _)| *i != coords).map(|(_, v)| v).collect();
        row.extend([lat.as_str(), lon.as_str()]);
        writer.write_record(&row).unwrap();
        stations.push(Station {
            id: record[id].to_owned(),
            name: record[name].to_owned(),
            lat,
            lon,
        });
    }
    let path = dir.join("velib-lat-lon.csv");
    std::fs::write(&path, writer.into_inner().unwrap()).unwrap();
    (path, stations)
}

/// A loopback file server answering `bytes` at `/velib.csv`; its address.
async fn file_server(bytes: Vec<u8>) -> String {
    let router = axum::Router::new().route(
        "/velib.csv",
        axum::routing::get(move || {
            let bytes = bytes.clone();
            async move { bytes }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

fn org<'a>(id: &'a str, name: &'a str) -> NewOrganization<'a> {
    NewOrganization {
        id,
        name,
        kind: OrgKind::Metropolis,
        description: None,
        website: None,
        logo: None,
    }
}

/// Organizations `ems` and `colmar`, one user per role, and Eve's API key (read, write).
/// `velib` (ems) comes from a remote source (the loopback server) run once; `interne` (ems)
/// is a plain import.
async fn fixture(dir: &Path) -> (String, Vec<Station>) {
    let (csv, stations) = velib_with_lat_lon(dir);
    let rows = dir.join("rows.csv");
    std::fs::write(&rows, "nom;valeur\nA;1\nB;2\n").unwrap();
    import(dir, &rows, "interne", ImportOptions::default());
    import(dir, &csv, "velib", ImportOptions::default());
    let accounts = kleber_app::accounts::Accounts::new(Arc::new(Store::open(dir).unwrap()));
    let op = kleber_app::accounts::operator();
    accounts.create_org(&op, &org("ems", "Eurométropole")).unwrap();
    accounts.create_org(&op, &org("colmar", "Ville de Colmar")).unwrap();
    for id in ["interne", "velib"] {
        accounts.set_dataset_org(&op, id, "ems").unwrap();
    }
    for (email, admin) in [(ROOT, true), (ADA, false), (EVE, false), (OSCAR, false)] {
        accounts.create_user(&op, email, None, admin, Some(PASSWORD)).unwrap();
    }
    accounts.set_member(&op, "ems", ADA, Role::Admin).unwrap();
    accounts.set_member(&op, "ems", EVE, Role::Editor).unwrap();
    accounts.set_member(&op, "colmar", OSCAR, Role::Admin).unwrap();
    let key = accounts.create_key(&op, EVE, "t", &[Scope::Read, Scope::Write], None).unwrap().key;
    let base = file_server(std::fs::read(&csv).unwrap()).await;
    let app = app_over(dir);
    let spec = SourceSpec {
        urls: vec![format!("{base}/velib.csv")],
        headers: None,
        schedule: None,
        unique_id: Vec::new(),
        max_mb: None,
        timeout_secs: None,
    };
    app.set_source(&Editor::operator(), "velib", spec).await.unwrap();
    let run = app.run_source(&Editor::operator(), "velib").await.unwrap();
    assert_eq!(run.outcome, "published", "{run:?}");
    (key, stations)
}

struct Portal {
    server: TestServer,
    web: Browser,
}

impl std::ops::Deref for Portal {
    type Target = Browser;

    fn deref(&self) -> &Browser {
        &self.web
    }
}

impl Portal {
    async fn start(dir: tempfile::TempDir) -> Portal {
        let server = TestServer::start(dir).await;
        let web = Browser::new(&server.base);
        Portal { server, web }
    }

    /// The management API's processors of `id`, with `key`.
    async fn api_processors(&self, key: &str, id: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}/api/management/v1/datasets/{id}/processors", self.server.base))
            .header("Authorization", format!("Apikey {key}"))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// The inner HTML of the `<dd>` with id `id`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html.find(&format!("id=\"{id}\">")).unwrap_or_else(|| panic!("no {id}"));
    let rest = &html[at + id.len() + 6..];
    &rest[..rest.find("</dd>").unwrap()]
}

/// The header cells and rows of the table with id `id`, as text.
fn table(html: &str, id: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let at = html.find(&format!("<table id=\"{id}\"")).unwrap_or_else(|| panic!("no table {id}"));
    let body = &html[at..at + html[at..].find("</table>").unwrap()];
    let cells = |row: &str, tag: &str| -> Vec<String> {
        row.split(&format!("<{tag}"))
            .skip(1)
            .map(|c| {
                let c = &c[c.find('>').unwrap() + 1..];
                c[..c.find(&format!("</{tag}>")).unwrap()].to_owned()
            })
            .collect()
    };
    let head = body.split("<thead>").nth(1).unwrap().split("</thead>").next().unwrap();
    let rows = body
        .split("<tbody>")
        .nth(1)
        .unwrap()
        .split("<tr")
        .skip(1)
        .map(|r| cells(r, "td"))
        .collect();
    (cells(head, "th"), rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_processors_panel_previews_saves_refuses_and_clears() {
    let dir = tempfile::tempdir().unwrap();
    let (key, stations) = fixture(dir.path()).await;
    let p = Portal::start(dir).await;
    let eve = p.sign_in(EVE).await;

    // The edit page holds the panel: the textarea, every kind of step, the example.
    let (status, page) = p.get("/admin/datasets/velib/", &eve).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"processors-pipeline\""), "no textarea");
    for kind in ["rename", "geo_point", "spatial_join", "normalize_date"] {
        assert!(page.contains(&format!("<code>{kind}</code>")), "kind {kind} not listed");
    }
    assert!(element(&page, "processors-example").contains("nom_station"), "no French example");
    assert!(page.contains("id=\"processors-none\""), "a pipeline is shown while none is stored");

    // Preview: the last file the source read, before and after; nothing is stored.
    let pipeline = json!({"version": 1, "steps": [
        {"kind": "geo_point", "field": "position",
         "latitude": "latitude_station", "longitude": "longitude_station"},
        {"kind": "rename", "field": "nom_station", "to": "station"},
        {"kind": "drop", "fields": ["latitude_station", "longitude_station"]},
    ]})
    .to_string();
    let response =
        p.post("/admin/datasets/velib/processors/preview", &eve, &[("pipeline", &pipeline)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("data-base=\"source_file\""), "not previewed on the source's file");
    let (before_head, before) = table(&page, "processors-before");
    let (after_head, after) = table(&page, "processors-after");
    assert_eq!(before.len(), 20, "20 rows before");
    assert_eq!(after.len(), 20, "20 rows after");
    for name in ["identifiant_station", "nom_station", "latitude_station", "longitude_station"] {
        assert!(before_head.iter().any(|h| h == name), "{name} before: {before_head:?}");
    }
    assert!(
        after_head.iter().any(|h| h == "station") && after_head.iter().any(|h| h == "position")
    );
    assert!(
        !after_head.iter().any(|h| h == "latitude_station" || h == "nom_station"),
        "{after_head:?}"
    );
    let col = |head: &[String], name: &str| head.iter().position(|h| h == name).unwrap();
    for (i, s) in stations.iter().take(20).enumerate() {
        assert_eq!(before[i][col(&before_head, "identifiant_station")], s.id);
        assert_eq!(unescape(&after[i][col(&after_head, "station")]), s.name);
        let point = &after[i][col(&after_head, "position")];
        let (lat, lon) = (s.lat.parse::<f64>().unwrap(), s.lon.parse::<f64>().unwrap());
        assert!(
            point.contains(&lat.to_string()) && point.contains(&lon.to_string()),
            "{point} vs {lat}, {lon}"
        );
    }
    let added = section(&page, "processors-added");
    assert!(added.contains("<code>position (geo_point_2d)</code>"), "{added}");
    assert!(added.contains("<code>station (text)</code>"), "renamed field not added: {added}");
    let removed = section(&page, "processors-removed");
    for name in ["nom_station", "latitude_station", "longitude_station"] {
        assert!(removed.contains(&format!("<code>{name}</code>")), "{name}: {removed}");
    }
    // The typed pipeline stays in the textarea; nothing was stored.
    let typed = unescape(element(&page, "processors-pipeline"));
    assert_eq!(serde_json::from_str::<Value>(&typed).ok(), serde_json::from_str(&pipeline).ok());
    let none = json!({"version": 1, "steps": []});
    assert_eq!(p.api_processors(&key, "velib").await, (200, none.clone()), "a preview stored");

    // A dataset without a source is previewed on its current version.
    let one = json!({"steps": [{"kind": "cast", "field": "valeur", "to": "double"}]}).to_string();
    let response =
        p.post("/admin/datasets/interne/processors/preview", &eve, &[("pipeline", &one)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("data-base=\"current_version\""));
    let (_, after) = table(&page, "processors-after");
    assert_eq!(
        after,
        vec![vec!["A".to_owned(), "1.0".to_owned()], vec!["B".to_owned(), "2.0".to_owned()]]
    );

    // A bad pipeline: the error names the step and the field; nothing changes.
    let bad = json!({"version": 1, "steps": [
        {"kind": "rename", "field": "nom_station", "to": "station"},
        {"kind": "geo_point", "field": "position", "latitude": "nope", "longitude": "longitude_station"},
    ]})
    .to_string();
    let response =
        p.post("/admin/datasets/velib/processors/preview", &eve, &[("pipeline", &bad)]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    let error = unescape(element(&page, "processors-error"));
    assert!(error.contains("step 2 (geo_point)") && error.contains("nope"), "{error}");
    let response = p
        .post("/admin/datasets/velib/processors/preview", &eve, &[("pipeline", "{not json")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(element(&response.text().await.unwrap(), "processors-error").contains("not JSON"));

    // Save: the management API returns what was saved; the edit page lists its steps.
    let response =
        p.post("/admin/datasets/velib/processors/save", &eve, &[("pipeline", &pipeline)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/admin/datasets/velib/?saved=1#processors");
    let (status, stored) = p.api_processors(&key, "velib").await;
    assert_eq!(status, 200, "{stored}");
    let wanted: Value = serde_json::from_str(&pipeline).unwrap();
    assert_eq!(stored, wanted, "the API does not return what was saved");
    let (_, page) = p.get("/admin/datasets/velib/", &eve).await;
    let listed = unescape(&page);
    assert!(
        listed.contains("1. geo_point position from latitude_station and longitude_station"),
        "steps not listed"
    );

    // A refused save keeps the stored pipeline and says so.
    let response =
        p.post("/admin/datasets/velib/processors/save", &eve, &[("pipeline", &bad)]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    let error = unescape(element(&page, "processors-error"));
    assert!(error.contains("step 2 (geo_point)"), "{error}");
    let (_, again) = p.api_processors(&key, "velib").await;
    assert_eq!(again, stored, "a refused save changed the pipeline");

    // Forged forms: no token, a wrong token, another origin change nothing.
    for csrf in ["", "wrong"] {
        let response = p.post_with("/admin/datasets/velib/processors/clear", &eve, csrf, &[]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "csrf {csrf:?}");
    }
    let response = p
        .client
        .post(format!("{}/admin/datasets/velib/processors/clear", p.server.base))
        .header("Cookie", &eve.cookie)
        .header("Origin", "https://evil.example")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&[("csrf", &eve.csrf)]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(p.api_processors(&key, "velib").await.1, stored);

    // Another organization's admin: the missing page, for every route, changing nothing.
    let oscar = p.sign_in(OSCAR).await;
    assert_eq!(p.get("/admin/datasets/velib/processors", &oscar).await.0, 404);
    for route in ["preview", "save", "clear"] {
        let response = p
            .post(
                &format!("/admin/datasets/velib/processors/{route}"),
                &oscar,
                &[("pipeline", &one)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{route}");
    }
    assert_eq!(p.api_processors(&key, "velib").await.1, stored);

    // Clear.
    let response = p.post("/admin/datasets/velib/processors/clear", &eve, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(p.api_processors(&key, "velib").await, (200, none));
    let (_, page) = p.get("/admin/datasets/velib/processors", &eve).await;
    assert!(page.contains("id=\"processors-none\""));
}

/// The harvests an API call lists for `key`'s owner... read from the store: every harvest
/// with its organization.
fn stored_harvests(dir: &Path) -> Vec<(String, Option<String>)> {
    let store = Store::open(dir).unwrap();
    store.catalog().harvests().unwrap().into_iter().map(|h| (h.name, h.organization)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harvests_page_creates_runs_and_keeps_organizations_apart() {
    let ckan = crate::harvest::ckan_fixture().await;
    let base = ckan.base.lock().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    fixture(dir.path()).await;
    let p = Portal::start(dir).await;
    let ada = p.sign_in(ADA).await;

    // An organization's admin: the page, the form with their organization only, no
    // Opendatasoft kind (a whole portal's), a link from the dashboard.
    let (status, page) = p.get("/admin/harvests/", &ada).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"harvests-none\""));
    assert!(page.contains("<option value=\"ems\""), "ems not offered");
    assert!(!page.contains("<option value=\"colmar\""), "colmar offered to an ems admin");
    assert!(!page.contains("<option value=\"ods\""), "ods offered to an organization's admin");
    let (_, dashboard) = p.get("/admin/datasets/", &ada).await;
    assert!(dashboard.contains("id=\"bo-harvests-link\""));

    // Bad forms are answered on the page, with what was typed, and store nothing.
    for (fields, needle, status) in [
        (
            vec![
                ("kind", "ckan"),
                ("url", base.as_str()),
                ("organization", "ems"),
                ("overrides", "publisher"),
            ],
            "has no '='",
            400,
        ),
        (
            vec![
                ("kind", "ckan"),
                ("url", base.as_str()),
                ("organization", "ems"),
                ("schedule", "every day"),
            ],
            "every day",
            400,
        ),
        (
            vec![("kind", "ckan"), ("url", "ftp://example.org"), ("organization", "ems")],
            "http",
            400,
        ),
        (
            vec![("kind", "ckan"), ("url", base.as_str()), ("organization", "colmar")],
            "not an admin",
            403,
        ),
        (vec![("kind", "ckan"), ("url", base.as_str()), ("organization", "")], "portal", 403),
    ] {
        let response = p.post("/admin/harvests/", &ada, &fields).await;
        assert_eq!(response.status().as_u16(), status, "{fields:?}");
        let page = response.text().await.unwrap();
        let error = unescape(element(&page, "bo-error"));
        assert!(error.contains(needle), "{needle}: {error}");
        assert!(page.contains(&format!("value=\"{}\"", fields[1].1)), "typed url lost");
    }
    assert!(stored_harvests(&path).is_empty());

    // Created into ems, run now against the CKAN fixture: the dataset lands in ems with the
    // override, the run is listed with its counts.
    let response = p
        .post(
            "/admin/harvests/",
            &ada,
            &[
                ("kind", "ckan"),
                ("url", &base),
                ("name", "emsckan"),
                ("organization", "ems"),
                ("ids", "arrondissements"),
                ("overrides", "publisher=Eurométropole de Strasbourg"),
                ("schedule", "0 3 * * *"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", response.text().await.unwrap());
    assert_eq!(stored_harvests(&path), vec![("emsckan".to_owned(), Some("ems".to_owned()))]);
    let (_, page) = p.get("/admin/harvests/", &ada).await;
    let row = element(&page, "harvest-emsckan");
    assert!(page.contains("id=\"harvest-emsckan\""), "not listed");
    let _ = row;
    let response = p.post("/admin/harvests/emsckan/run", &ada, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    let saved = unescape(element(&page, "bo-saved"));
    assert!(saved.contains("emsckan: terminé") && saved.contains("copiés 1"), "{saved}");
    let store = Store::open(&path).unwrap();
    let d = store.catalog().managed_dataset("emsckan-arrondissements").unwrap().expect("harvested");
    assert_eq!(d.organization, "ems");
    assert_eq!(d.metas["publisher"], "Eurométropole de Strasbourg");
    drop(store);
    let (status, history) = p.get("/admin/harvests/emsckan/", &ada).await;
    assert_eq!(status, 200);
    let (_, runs) = table(&history, "harvest-runs");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0][2..4], ["manuel".to_owned(), "terminé".to_owned()]);
    assert!(unescape(&runs[0][4]).contains("copiés 1"), "{runs:?}");

    // Another organization's admin sees nothing of it and can do nothing to it.
    let oscar = p.sign_in(OSCAR).await;
    let (status, page) = p.get("/admin/harvests/", &oscar).await;
    assert_eq!(status, 200);
    assert!(
        !page.contains("emsckan") && page.contains("id=\"harvests-none\""),
        "ems harvest shown to colmar"
    );
    assert_eq!(p.get("/admin/harvests/emsckan/", &oscar).await.0, 404);
    assert_eq!(p.get("/admin/harvests/emsckan", &oscar).await.0, 404);
    for action in ["run", "delete"] {
        let response = p.post(&format!("/admin/harvests/emsckan/{action}"), &oscar, &[]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{action}");
    }
    // Its name cannot be taken over from another organization.
    let response = p
        .post(
            "/admin/harvests/",
            &oscar,
            &[("kind", "dcat"), ("url", &base), ("name", "emsckan"), ("organization", "colmar")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(stored_harvests(&path), vec![("emsckan".to_owned(), Some("ems".to_owned()))]);

    // An editor who administers nothing, and forged forms.
    let eve = p.sign_in(EVE).await;
    assert_eq!(p.get("/admin/harvests/", &eve).await.0, 404);
    let response = p.post("/admin/harvests/emsckan/run", &eve, &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    for csrf in ["", "wrong"] {
        let response = p.post_with("/admin/harvests/emsckan/delete", &ada, csrf, &[]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "csrf {csrf:?}");
    }

    // The portal admin sees it, with the Opendatasoft kind and the portal offered.
    let root = p.sign_in(ROOT).await;
    let (_, page) = p.get("/admin/harvests/", &root).await;
    assert!(page.contains("id=\"harvest-emsckan\"") && page.contains("<option value=\"ods\""));

    // Deleted: gone from the list, its dataset stays.
    let response = p.post("/admin/harvests/emsckan/delete", &ada, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(stored_harvests(&path).is_empty());
    let store = Store::open(&path).unwrap();
    assert!(store.catalog().managed_dataset("emsckan-arrondissements").unwrap().is_some());
}

/// The harvest form takes CKAN's `fq` and headers: a private CKAN portal (its API token
/// required) is harvested from the form with the filter; the page shows the header's name,
/// never its value, not even in a refused form typed back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harvest_form_takes_a_filter_query_and_headers_never_shown_back() {
    use crate::harvest::CKAN_TOKEN;
    let ckan = crate::harvest::ckan_fixture().await;
    *ckan.token.lock().unwrap() = Some(CKAN_TOKEN.to_owned());
    let base = ckan.base.lock().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    fixture(dir.path()).await;
    let p = Portal::start(dir).await;
    let ada = p.sign_in(ADA).await;
    let (_, page) = p.get("/admin/harvests/", &ada).await;
    assert!(page.contains("name=\"fq\"") && page.contains("name=\"headers\""), "no fields");

    // A header line without ':' is refused; the typed value is not shown back.
    let bad = format!("Authorization {CKAN_TOKEN}");
    let response = p
        .post(
            "/admin/harvests/",
            &ada,
            &[("kind", "ckan"), ("url", &base), ("organization", "ems"), ("headers", &bad)],
        )
        .await;
    assert_eq!(response.status().as_u16(), 400);
    let page = response.text().await.unwrap();
    let error = unescape(element(&page, "bo-error"));
    assert!(error.contains("headers, line 1") && error.contains("'Name: value'"), "{error}");
    assert!(stored_harvests(&path).is_empty());

    let header = format!("Authorization: {CKAN_TOKEN}");
    let response = p
        .post(
            "/admin/harvests/",
            &ada,
            &[
                ("kind", "ckan"),
                ("url", &base),
                ("name", "paris"),
                ("organization", "ems"),
                ("fq", "organization:paris"),
                ("headers", &header),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", response.text().await.unwrap());
    let (_, page) = p.get("/admin/harvests/", &ada).await;
    let row = harvest_row(&page, "paris");
    assert!(row.contains("Authorization"), "{row}");
    assert!(!page.contains(CKAN_TOKEN), "the token is shown");
    let (_, history) = p.get("/admin/harvests/paris/", &ada).await;
    assert!(history.contains("Authorization") && !history.contains(CKAN_TOKEN));

    // Run: the filter selects Paris's package only, fetched with the token.
    let response = p.post("/admin/harvests/paris/run", &ada, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    let saved = unescape(element(&page, "bo-saved"));
    assert!(saved.contains("terminé") && saved.contains("copiés 1"), "{saved}");
    let store = Store::open(&path).unwrap();
    let harvested: Vec<String> =
        store.catalog().harvested("paris").unwrap().into_iter().map(|h| h.dataset_id).collect();
    assert_eq!(harvested, ["paris-velib-paris"]);
    drop(store);

    // Saved again without headers (a schedule added): kept; with the box ticked: removed.
    let fields = [
        ("kind", "ckan"),
        ("url", base.as_str()),
        ("name", "paris"),
        ("organization", "ems"),
        ("fq", "organization:paris"),
        ("schedule", "0 3 * * *"),
    ];
    let response = p.post("/admin/harvests/", &ada, &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = p.get("/admin/harvests/", &ada).await;
    assert!(harvest_row(&page, "paris").contains("Authorization"));
    let mut cleared = fields.to_vec();
    cleared.push(("clear_headers", "1"));
    let response = p.post("/admin/harvests/", &ada, &cleared).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = p.get("/admin/harvests/", &ada).await;
    assert!(!harvest_row(&page, "paris").contains("Authorization"));
}

/// The row of harvest `name` in the harvests' list, as HTML.
fn harvest_row(page: &str, name: &str) -> String {
    let at = page.find(&format!("id=\"harvest-{name}\"")).unwrap_or_else(|| panic!("no {name}"));
    let rest = &page[at..];
    rest[..rest.find("</tr>").unwrap_or(rest.len())].to_owned()
}
