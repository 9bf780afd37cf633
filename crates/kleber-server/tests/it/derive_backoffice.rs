//! Derived datasets defined from the back office (docs/crossing.md#from-the-back-office)
//! through real HTTP with signed-in sessions: a new derived dataset is created by its form and
//! its records, read through the Explore API, equal the join this test computes itself; the
//! edit page's panel redefines the query, recomputes it and removes the definition; refused
//! queries (a file path, a table function, an unknown dataset, a cycle) show the application's
//! own message (the one the management API answers) and keep the stored definition; a form
//! without its CSRF token and an editor of another organization change nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use kleber_app::accounts::{Accounts, operator};
use kleber_ingest::ImportOptions;
use kleber_store::{Role, Scope, Store};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{TestServer, import};
use crate::forms::{Browser, PASSWORD, element, location, unescape};

const ADA: &str = "ada@example.org"; // ems editor
const OSCAR: &str = "oscar@example.org"; // colmar editor
const M: &str = "/api/management/v1";
const V: &str = "/api/explore/v2.1/catalog/datasets";

const JOIN: &str = "SELECT o.parking_id, r.name, o.free\nFROM occupation o\nJOIN parkings r ON r.id = o.parking_id";
const FREE_OVER_40: &str = "SELECT parking_id, free FROM occupation WHERE free > 40";

/// The reference table: id → name (P01..P12).
fn parkings() -> BTreeMap<String, String> {
    (1..=12).map(|i| (format!("P{i:02}"), format!("Parking {i}"))).collect()
}

/// The occupancy: parking id → free places (P01..P13: P13 is unknown to the reference).
fn occupation() -> BTreeMap<String, i64> {
    (1..=13).map(|i| (format!("P{i:02}"), (i * 7) % 90)).collect()
}

fn write_and_import(dir: &Path, name: &str, id: &str, text: &str) {
    let path = dir.join("inputs").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    import(dir, &path, id, ImportOptions::default());
}

/// `parkings` and `occupation` in `ems`; Ada edits `ems`, Oscar edits `colmar`; Ada's key.
fn fixture(dir: &Path) -> String {
    let mut p = String::from("id,name,capacity\n");
    for (i, (id, name)) in parkings().iter().enumerate() {
        p.push_str(&format!("{id},{name},{}\n", 100 + i * 17));
    }
    write_and_import(dir, "parkings.csv", "parkings", &p);
    let mut o = String::from("parking_id,free\n");
    for (id, free) in occupation() {
        o.push_str(&format!("{id},{free}\n"));
    }
    write_and_import(dir, "occupation.csv", "occupation", &o);
    let accounts = Accounts::new(Arc::new(Store::open(dir).unwrap()));
    let op = operator();
    crate::common::create_orgs(
        &accounts,
        &[("ems", "Eurométropole"), ("colmar", "Ville de Colmar")],
    );
    for id in ["parkings", "occupation"] {
        accounts.set_dataset_org(&op, id, "ems").unwrap();
    }
    for email in [ADA, OSCAR] {
        accounts.create_user(&op, email, None, false, Some(PASSWORD)).unwrap();
    }
    accounts.set_member(&op, "ems", ADA, Role::Editor).unwrap();
    accounts.set_member(&op, "colmar", OSCAR, Role::Editor).unwrap();
    accounts.create_key(&op, ADA, "t", &[Scope::Read, Scope::Write], None).unwrap().key
}

struct Portal {
    server: TestServer,
    web: Browser,
    key: String,
}

impl std::ops::Deref for Portal {
    type Target = Browser;

    fn deref(&self) -> &Browser {
        &self.web
    }
}

impl Portal {
    /// A management API call with Ada's key: status and JSON body.
    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{M}{path}", self.server.base))
            .header("Authorization", format!("Apikey {}", self.key));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The stored query of `id` (management API), or `None` when it is not derived.
    async fn stored_query(&self, id: &str) -> Option<String> {
        let (status, body) =
            self.api(reqwest::Method::GET, &format!("/datasets/{id}/derivation"), None).await;
        match status {
            200 => Some(body["query"].as_str().unwrap().to_owned()),
            404 => None,
            other => panic!("derivation of {id}: {other} {body}"),
        }
    }

    /// The records of `id` through the Explore API (anonymous), ordered by `parking_id`.
    async fn records(&self, id: &str) -> Vec<Value> {
        let url = format!("{}{V}/{id}/records?limit=100&order_by=parking_id", self.server.base);
        let response = self.client.get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "records of {id}");
        let body: Value = response.json().await.unwrap();
        body["results"].as_array().unwrap().clone()
    }

    /// How many versions `id` has.
    async fn versions(&self, id: &str) -> u64 {
        let url = format!("{}{V}/{id}/versions", self.server.base);
        let body: Value = self.client.get(url).send().await.unwrap().json().await.unwrap();
        body["total_count"].as_u64().unwrap_or_else(|| panic!("versions of {id}: {body}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn derived_datasets_are_defined_redefined_recomputed_and_removed_from_the_back_office() {
    let dir = tempfile::tempdir().unwrap();
    let key = fixture(dir.path());
    let server = TestServer::start(dir).await;
    let web = Browser::new(&server.base);
    let p = Portal { server, web, key };
    let ada = p.sign_in(ADA).await;
    let oscar = p.sign_in(OSCAR).await;

    // The new-dataset page leads to the new derived dataset's form.
    let (status, page) = p.get("/admin/datasets/new", &ada).await;
    assert_eq!(status, 200);
    assert!(page.contains("href=\"/admin/derived/new\""), "no link to the derived form");
    let (status, page) = p.get("/admin/derived/new", &ada).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"derive-new\""), "no form: {page}");
    assert!(element(&page, "derive-org").contains("value=\"ems\""), "ems not offered");

    // Define: a join of the occupancy to the reference table.
    let fields = [
        ("organization", "ems"),
        ("id", "parkings-live"),
        ("title", "Parkings, live"),
        ("query", JOIN),
    ];
    let response = p.post("/admin/derived/new", &ada, &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", response.text().await.unwrap());
    assert_eq!(location(&response), "/admin/datasets/parkings-live/?saved=1");
    let (names, free) = (parkings(), occupation());
    let expected: Vec<Value> = free
        .iter()
        .filter_map(|(id, f)| {
            names.get(id).map(|n| json!({"parking_id": id, "name": n, "free": f}))
        })
        .collect();
    assert_eq!(expected.len(), 12, "the test's own join");
    assert_eq!(p.records("parkings-live").await, expected, "records of the derived dataset");
    assert_eq!(p.stored_query("parkings-live").await.as_deref(), Some(JOIN));
    // The same identifier again is refused: it exists.
    let response = p.post("/admin/derived/new", &ada, &fields).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let page = response.text().await.unwrap();
    assert!(unescape(element(&page, "derive-error")).contains("`parkings-live` exists"), "{page}");

    // The edit page's panel holds the query in its form, and the three forms.
    let (status, page) = p.get("/admin/datasets/parkings-live/", &ada).await;
    assert_eq!(status, 200);
    assert_eq!(unescape(element(&page, "derive-text")), JOIN, "the textarea holds the query");
    for id in ["derive-form", "derive-refresh-form", "derive-clear-form"] {
        assert!(page.contains(&format!("id=\"{id}\"")), "no {id}");
    }

    // Redefine.
    let response = p
        .post("/admin/datasets/parkings-live/derivation/save", &ada, &[("query", FREE_OVER_40)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/admin/datasets/parkings-live/?saved=1#derive-panel");
    let expected: Vec<Value> = free
        .iter()
        .filter(|(_, f)| **f > 40)
        .map(|(id, f)| json!({"parking_id": id, "free": f}))
        .collect();
    assert!(!expected.is_empty() && expected.len() < 13, "the filter keeps some rows");
    assert_eq!(p.records("parkings-live").await, expected, "records after redefinition");
    assert_eq!(p.stored_query("parkings-live").await.as_deref(), Some(FREE_OVER_40));
    let versions = p.versions("parkings-live").await;
    assert_eq!(versions, 2);

    // A second derived dataset reading the first, for the cycle.
    let (status, body) = p
        .api(
            reqwest::Method::PUT,
            "/datasets/parkings-sum/derivation",
            Some(json!({"query": "SELECT sum(free) AS total FROM \"parkings-live\"", "organization": "ems"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Refused queries: the page says what the management API says, and nothing changes.
    let refused = [
        ("SELECT * FROM \"/etc/passwd\"", 400, "DerivationRefused"),
        ("SELECT * FROM read_parquet('/tmp/x.parquet')", 400, "DerivationRefused"),
        ("SELECT * FROM nowhere", 400, "DerivationInputNotFound"),
        ("SELECT total FROM \"parkings-sum\"", 409, "DerivationCycle"),
    ];
    for (query, status, code) in refused {
        let response = p
            .post("/admin/datasets/parkings-live/derivation/save", &ada, &[("query", query)])
            .await;
        assert_eq!(response.status().as_u16(), status, "{query}");
        let page = response.text().await.unwrap();
        let shown = unescape(element(&page, "derive-error"));
        assert_eq!(unescape(element(&page, "derive-text")), query, "the typed query is kept");
        let (api_status, api) = p
            .api(
                reqwest::Method::PUT,
                "/datasets/parkings-live/derivation",
                Some(json!({"query": query})),
            )
            .await;
        assert_eq!((api_status, api["error_code"].as_str()), (status, Some(code)), "{api}");
        let message = api["message"].as_str().unwrap();
        assert!(
            !message.is_empty() && shown.ends_with(message),
            "{query}: page {shown:?}, API {message:?}"
        );
        assert!(shown.len() > message.len(), "the page says the definition is kept: {shown}");
        assert_eq!(p.stored_query("parkings-live").await.as_deref(), Some(FREE_OVER_40), "{query}");
        assert_eq!(p.versions("parkings-live").await, versions, "{query} published");
    }
    // An empty query is refused by the form itself.
    let response =
        p.post("/admin/datasets/parkings-live/derivation/save", &ada, &[("query", "  ")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // Without the CSRF token, or with another's: refused, nothing changes.
    for csrf in ["", oscar.csrf.as_str()] {
        let response = p
            .post_with(
                "/admin/datasets/parkings-live/derivation/save",
                &ada,
                csrf,
                &[("query", JOIN)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "csrf {csrf:?}");
        let response =
            p.post_with("/admin/datasets/parkings-live/derivation/clear", &ada, csrf, &[]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "csrf {csrf:?}");
    }
    assert_eq!(p.stored_query("parkings-live").await.as_deref(), Some(FREE_OVER_40));

    // An editor of another organization gets the missing page, and changes nothing.
    for path in ["save", "refresh", "clear"] {
        let response = p
            .post(
                &format!("/admin/datasets/parkings-live/derivation/{path}"),
                &oscar,
                &[("query", JOIN)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = p.get("/admin/datasets/parkings-live/derivation", &oscar).await;
    assert_eq!(status, 404);
    let fields =
        [("organization", "ems"), ("id", "oscar-live"), ("title", "Oscar"), ("query", JOIN)];
    let response = p.post("/admin/derived/new", &oscar, &fields).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(p.stored_query("parkings-live").await.as_deref(), Some(FREE_OVER_40));
    assert_eq!(p.versions("parkings-live").await, versions);
    let (status, _) = p.api(reqwest::Method::GET, "/datasets/oscar-live/derivation", None).await;
    assert_eq!(status, 404, "oscar-live was created");

    // Recompute now: a new version from the same query.
    let (status, page) = p.get("/admin/datasets/parkings-live/derivation", &ada).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"derive-refresh\""), "no refresh button on the page");
    let response = p.post("/admin/datasets/parkings-live/derivation/refresh", &ada, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(p.versions("parkings-live").await, versions + 1, "refresh published no version");
    assert_eq!(p.records("parkings-live").await, expected);

    // Remove the definition: the dataset stays, ordinary.
    let response = p.post("/admin/datasets/parkings-live/derivation/clear", &ada, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(p.stored_query("parkings-live").await, None, "still derived");
    assert_eq!(p.records("parkings-live").await, expected, "the records stay");
    let (status, page) = p.get("/admin/datasets/parkings-live/", &ada).await;
    assert_eq!(status, 200);
    assert!(!page.contains("id=\"derive-form\""), "the panel stays on an ordinary dataset");
}
