//! The public portal in a real browser: headless Chromium, driven by playwright-core from the
//! Node scripts in `tests/browser/`, against a real server holding the demo datasets.
//!
//! - `walk.mjs`: a user's walk (search, refine, table, map, chart, export, English), with
//!   screenshots in `tests/artifacts/screenshots/`;
//! - `a11y.mjs`: axe-core (WCAG 2.1 A and AA) on every page type, skip link and visible focus,
//!   320 px without horizontal scrolling; report in `tests/artifacts/axe-results.json`. Its
//!   server also holds a dataset with many fields ([`WIDE`]), whose schema table scrolls.
//! - `signin.mjs` (run by `sessions.rs`, which sets up the accounts): signing in and out, axe
//!   on the sign-in and account pages.
//!
//! The browser, Node modules and axe-core are installed by `scripts/install-test-deps.sh`; when
//! one is missing the tests fail and say so.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::common::TestServer;

/// Longest a script may run before it is killed (each one finishes well under a minute).
const SCRIPT_LIMIT: Duration = Duration::from_secs(180);

/// One browser at a time: two Chromiums on CI's two cores would each take twice as long.
pub(crate) static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Fails, naming the install script, unless Chromium, Node and the Node modules are present.
pub(crate) fn require_tools() {
    let repo = repository();
    let chromium = std::env::var_os("KLEBER_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let modules = repo.join("tests/clients/node_modules");
    let mut missing = Vec::new();
    if !chromium.exists() {
        missing.push(format!("chromium ({})", chromium.display()));
    }
    if Command::new("node").arg("--version").output().map(|o| !o.status.success()).unwrap_or(true) {
        missing.push("node".to_owned());
    }
    for module in ["playwright-core/index.mjs", "axe-core/axe.min.js"] {
        let path = modules.join(module);
        if !path.exists() {
            missing.push(path.display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "browser tests need {}: run scripts/install-test-deps.sh",
        missing.join(", ")
    );
}

/// A server on 127.0.0.1 with the demo datasets, and with `wide` the dataset of
/// [`import_wide`].
async fn demo_server(wide: bool) -> TestServer {
    let dir = tempfile::tempdir().expect("temporary directory");
    crate::common::load_demo(dir.path()).await;
    if wide {
        import_wide(dir.path());
    }
    TestServer::start(dir).await
}

/// Identifier of a dataset with many fields (none of the demo datasets has enough for its
/// schema table to scroll).
const WIDE: &str = "champs-nombreux";

/// Imports [`WIDE`]: 48 fields with long labels (text, integers, decimals, dates), 30 rows.
fn import_wide(data_dir: &Path) {
    let files = tempfile::tempdir().expect("temporary directory");
    let path = files.path().join(format!("{WIDE}.csv"));
    let kinds = ["Commentaire libre", "Nombre de passages", "Taux mesuré", "Date du relevé"];
    let header: Vec<String> =
        (1..=48).map(|i| format!("{} du point de mesure {i}", kinds[i % 4])).collect();
    let mut csv = header.join(";");
    for row in 1..=30 {
        csv.push('\n');
        let cells: Vec<String> = (1..=48)
            .map(|i| match i % 4 {
                0 => format!("relevé {row} au point {i}"),
                1 => (row * i).to_string(),
                2 => format!("{row}.{i}"),
                _ => format!("2024-{:02}-{:02}", 1 + row % 12, 1 + i % 28),
            })
            .collect();
        csv.push_str(&cells.join(";"));
    }
    std::fs::write(&path, csv).expect("write the wide CSV");
    crate::common::import(data_dir, &path, WIDE, kleber_ingest::ImportOptions::default());
}

/// Runs `node tests/browser/<script> <base>` while the server answers; returns its status and
/// output (stdout then stderr).
pub(crate) async fn run_node(script: &str, base: &str) -> (ExitStatus, String) {
    run_node_with(script, &[base]).await
}

/// [`run_node`] with more arguments after the base URL.
pub(crate) async fn run_node_with(script: &str, args: &[&str]) -> (ExitStatus, String) {
    let repo = repository();
    let logs = tempfile::tempdir().expect("temporary directory");
    let (out_path, err_path) = (logs.path().join("stdout"), logs.path().join("stderr"));
    let mut child = Command::new("node")
        .arg(repo.join("tests/browser").join(script))
        .args(args)
        .current_dir(&repo)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): run scripts/install-test-deps.sh"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break status;
        }
        if started.elapsed() > SCRIPT_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            let out = std::fs::read_to_string(&out_path).unwrap_or_default();
            panic!("tests/browser/{script} still running after {SCRIPT_LIMIT:?}; output:\n{out}");
        }
        // Sleeping asynchronously lets the server, on this runtime, answer the browser.
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    println!("tests/browser/{script} ran in {:.1} s", started.elapsed().as_secs_f64());
    (status, format!("{out}{err}"))
}

async fn run_script(script: &str, wide: bool) {
    require_tools();
    let _one = ONE_BROWSER.lock().await;
    let server = demo_server(wide).await;
    let (status, output) = run_node(script, &server.base).await;
    println!("{output}");
    assert!(status.success(), "node tests/browser/{script} failed ({status}):\n{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_searches_filters_maps_charts_and_downloads_in_the_browser() {
    run_script("walk.mjs", false).await;
}

/// The portal admin `a11y.mjs` signs in as for the administration pages.
const A11Y_ADMIN: (&str, &str) = ("admin@example.org", "correct horse battery");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_pages_have_no_axe_violation_and_work_by_keyboard_at_320_px() {
    require_tools();
    let _one = ONE_BROWSER.lock().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    crate::common::load_demo(dir.path()).await;
    import_wide(dir.path());
    // What the administration pages list: a portal admin, a member with a key, an invitation.
    let accounts = kleber_app::accounts::Accounts::new(std::sync::Arc::new(
        kleber_store::Store::open(dir.path()).expect("store"),
    ));
    let op = kleber_app::accounts::operator();
    let (email, password) = A11Y_ADMIN;
    accounts.create_user(&op, email, Some("Admin"), true, Some(password)).expect("admin");
    accounts.create_user(&op, "editor@example.org", None, false, Some(password)).expect("user");
    accounts
        .set_member(&op, "default", "editor@example.org", kleber_store::Role::Editor)
        .expect("member");
    let scopes = [kleber_store::Scope::Read, kleber_store::Scope::Write];
    accounts.create_key(&op, "editor@example.org", "script", &scopes, Some(30)).expect("key");
    accounts
        .invite(&op, "new@example.org", "default", kleber_store::Role::Viewer)
        .expect("invitation");
    let server = TestServer::start(dir).await;
    let (status, output) = run_node_with("a11y.mjs", &[&server.base, email, password]).await;
    println!("{output}");
    assert!(status.success(), "node tests/browser/a11y.mjs failed ({status}):\n{output}");
}
