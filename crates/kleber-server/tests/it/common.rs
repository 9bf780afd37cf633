//! A test portal: a data directory, datasets imported into it, and a server on an ephemeral port.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kleber_ingest::ImportOptions;
use kleber_query::{Engine, Limits};
use kleber_server::AppState;
use kleber_server::import::{ImportRequest, import_file};
use kleber_store::Store;
use serde_json::Value;
use tokio::sync::oneshot;

/// The real open-data files shared with the project (never copied into the repository).
pub(crate) fn real(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/real").join(name);
    assert!(path.exists(), "missing real data file {}", path.display());
    path
}

/// Imports `path` as dataset `id` into the store at `dir`.
pub(crate) fn import(
    dir: &Path,
    path: &Path,
    id: &str,
    options: ImportOptions,
) -> kleber_server::import::ImportSummary {
    let store = Store::open(dir).expect("open store");
    let request = ImportRequest {
        path: path.to_path_buf(),
        dataset: id.to_owned(),
        title: None,
        options,
        unique_id: None,
        crash: None,
    };
    import_file(&store, &request, &mut |_| {})
        .unwrap_or_else(|e| panic!("import of {} failed: {e:#}", path.display()))
}

/// The application layer over the data directory `dir` (default limits).
pub(crate) fn app_over(dir: &Path) -> kleber_app::App {
    let store = Store::open(dir).expect("open store");
    let engine = Engine::new(Limits::default()).expect("engine");
    kleber_app::App::new(store, engine, kleber_app::Limits::default())
}

/// Loads the demo datasets into the data directory `dir`, through the application layer as
/// `kleber serve --demo` does.
pub(crate) async fn load_demo(dir: &Path) -> Vec<&'static str> {
    let app = app_over(dir);
    kleber_server::demo::ensure(&app).await.expect("demo datasets")
}

/// A running server; stops when dropped.
pub(crate) struct TestServer {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Serves the data directory `dir` (taking ownership of it).
    pub(crate) async fn start(dir: tempfile::TempDir) -> TestServer {
        TestServer::start_with(dir, Limits::default(), Duration::from_secs(30)).await
    }

    /// Serves `dir` with the given engine limits and records time limit.
    pub(crate) async fn start_with(
        dir: tempfile::TempDir,
        limits: Limits,
        timeout: Duration,
    ) -> TestServer {
        TestServer::start_configured(dir, limits, timeout, |state| state).await
    }

    /// Serves `dir` with the given engine limits, records time limit, and state settings.
    pub(crate) async fn start_configured(
        dir: tempfile::TempDir,
        limits: Limits,
        timeout: Duration,
        configure: impl FnOnce(AppState) -> AppState,
    ) -> TestServer {
        let store = Store::open(dir.path()).expect("open store");
        store.remove_orphans().expect("orphans");
        let state = configure(AppState::new(store, Engine::new(limits).expect("engine"), timeout));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(kleber_server::serve(listener, state, async {
            let _ = stopped.await;
        }));
        TestServer {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            stop: Some(stop),
            dir: Some(dir),
        }
    }

    /// GET `path` (with query string), returning status, content type and body.
    pub(crate) async fn get(&self, path: &str) -> (u16, String, String) {
        let response =
            self.client.get(format!("{}{path}", self.base)).send().await.expect("request");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, content_type, response.text().await.expect("body"))
    }

    /// GET `path` and parse JSON, asserting the status.
    pub(crate) async fn json(&self, path: &str, status: u16) -> Value {
        let (got, content_type, body) = self.get(path).await;
        assert_eq!(got, status, "GET {path} answered {got}: {body}");
        assert!(
            content_type.starts_with("application/json"),
            "GET {path}: content type {content_type}"
        );
        serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("GET {path}: invalid JSON ({e}): {body}"))
    }

    /// `results` of a records query.
    pub(crate) async fn records(&self, dataset: &str, query: &str) -> Vec<Value> {
        let v = self
            .json(&format!("/api/explore/v2.1/catalog/datasets/{dataset}/records?{query}"), 200)
            .await;
        v["results"].as_array().expect("results").clone()
    }
}

impl TestServer {
    /// A new API key with the `read` scope, of a new user who belongs to no organization
    /// (so it reads what anonymous callers read), created in the served data directory.
    pub(crate) fn api_key(&self) -> String {
        let dir = self.dir.as_ref().expect("the directory is kept while serving").path();
        let store = Store::open(dir).expect("open store");
        let accounts = kleber_app::accounts::Accounts::new(std::sync::Arc::new(store));
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let email = format!("tester-{n}@example.org");
        let actor = kleber_app::accounts::operator();
        accounts.create_user(&actor, &email, None, false, None).expect("user");
        let scopes = [kleber_store::Scope::Read];
        accounts.create_key(&actor, &email, "tests", &scopes, None).expect("key").key
    }

    /// The served data directory.
    pub(crate) fn dir_path(&self) -> PathBuf {
        self.dir.as_ref().expect("the directory is kept while serving").path().to_path_buf()
    }

    /// Stops the server and gives its data directory back.
    pub(crate) fn stop(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.dir.take().expect("the directory is only taken here")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Creates organizations `(id, name)` of the metropolis kind, as the operator.
pub(crate) fn create_orgs(accounts: &kleber_app::accounts::Accounts, orgs: &[(&str, &str)]) {
    let op = kleber_app::accounts::operator();
    for &(id, name) in orgs {
        let org = kleber_store::NewOrganization {
            id,
            name,
            kind: kleber_store::OrgKind::Metropolis,
            description: None,
            website: None,
            logo: None,
        };
        accounts.create_org(&op, &org).expect("organization created");
    }
}

/// Percent-encodes a query value.
pub(crate) fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
