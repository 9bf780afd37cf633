//! Version retention (docs/versions.md#retention): a real-time dataset published 200 times
//! over two simulated days (the versions' dates set through the store, the scheduler on a
//! manual clock) keeps exactly the versions its policy keeps — checked against a selection
//! computed here, naively — its pruned versions keep their entries in /versions and answer
//! a clear error at `version=N`, and record ids stay the same across versions (unique id).
//! The CLI sets, shows and refuses policies; the management API too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use kleber_app::manage::Editor;
use kleber_app::schedule::{ManualClock, spawn_scheduler};
use kleber_server::import::{ImportRequest, import_file};
use kleber_store::Store;
use serde_json::Value;

use crate::common::{TestServer, app_over};

const PUBLISHES: i64 = 200;
const POLICY: &str = "all:6h,daily:1d,weekly:forever";

fn start() -> DateTime<Utc> {
    // A Sunday: the two days fall in two ISO weeks.
    DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z").unwrap().with_timezone(&Utc)
}

/// When version `k` (1-based) was published: every 14.4 minutes over two days.
fn published(k: i64) -> DateTime<Utc> {
    start() + TimeDelta::seconds((k - 1) * 48 * 3600 / PUBLISHES)
}

/// Publishes `PUBLISHES` versions of a three-record dataset whose counts change each time,
/// with `id` as its unique id, dated over two days.
fn publish_two_days(dir: &Path) {
    let files = tempfile::tempdir().unwrap();
    let store = Store::open(dir).unwrap();
    for k in 1..=PUBLISHES {
        let path = files.path().join("places.csv");
        let csv = format!("id;nom;libres\n1;Gare;{k}\n2;Halles;{}\n3;Etoile;{}\n", k % 7, k % 3);
        std::fs::write(&path, csv).unwrap();
        let request = ImportRequest {
            path,
            dataset: "places".to_owned(),
            title: None,
            options: Default::default(),
            unique_id: Some("id".to_owned()),
            crash: None,
        };
        let summary = import_file(&store, &request, &mut |_| {}).unwrap();
        assert_eq!(summary.version, k);
    }
    let uid = store.catalog().managed_dataset("places").unwrap().unwrap().uid;
    for k in 1..=PUBLISHES {
        let at = published(k).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        store.catalog().set_version_published_at(&uid, k, &at).unwrap();
    }
}

/// The versions the policy keeps at `now`, computed naively: each version against every
/// other one of its day and of its week.
fn expected_kept(now: DateTime<Utc>) -> BTreeSet<i64> {
    let all: Vec<(i64, DateTime<Utc>)> = (1..=PUBLISHES).map(|k| (k, published(k))).collect();
    let mut kept = BTreeSet::new();
    for &(k, at) in &all {
        let age = now - at;
        let newest_of = |same: &dyn Fn(&DateTime<Utc>) -> bool| {
            !all.iter().any(|&(j, other)| j != k && same(&other) && (other, j) > (at, k))
        };
        let same_day = |o: &DateTime<Utc>| o.date_naive() == at.date_naive();
        let same_week = |o: &DateTime<Utc>| o.iso_week() == at.iso_week();
        let keep = k == PUBLISHES
            || age < TimeDelta::hours(6)
            || (age < TimeDelta::days(1) && newest_of(&same_day))
            || newest_of(&same_week);
        if keep {
            kept.insert(k);
        }
    }
    kept
}

/// Versions whose data is still there, per the store.
async fn kept_now(app: &kleber_app::App) -> BTreeSet<i64> {
    let infos = app.versions(&Editor::operator(), "places").await.unwrap();
    infos.iter().filter(|v| !v.pruned).map(|v| v.number).collect()
}

/// Record id → `id` field, at version `n`, through the v1 search API.
async fn ids_at(server: &TestServer, n: i64) -> BTreeMap<String, String> {
    let v1 = server
        .json(&format!("/api/records/1.0/search?dataset=places&rows=10&version={n}"), 200)
        .await;
    v1["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["recordid"].as_str().unwrap().to_owned(), r["fields"]["id"].to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_time_dataset_keeps_exactly_what_its_policy_keeps() {
    let dir = tempfile::tempdir().unwrap();
    publish_two_days(dir.path());
    let now = start() + TimeDelta::hours(48);
    let expected = expected_kept(now);
    // The policy keeps a few versions of the last 6 hours, the last of the first day (the
    // week's), and nothing in between: far fewer than 200, far more than one.
    assert!(expected.len() > 10 && expected.len() < 40, "{expected:?}");

    let app = Arc::new(app_over(dir.path()));
    app.set_default_retention(&Editor::operator(), Some("all:forever")).await.unwrap();
    // The policy set through the store's catalog, as the CLI and API do, without applying it
    // (applying uses the real clock): the scheduler applies it at its clock's time.
    let store = Store::open(dir.path()).unwrap();
    store
        .catalog()
        .set_dataset_retention(&kleber_app::accounts::operator(), "places", Some(POLICY))
        .unwrap();
    assert_eq!(kept_now(&app).await.len(), PUBLISHES as usize, "nothing pruned yet");
    let clock = Arc::new(ManualClock::new(now));
    let task = spawn_scheduler(Arc::clone(&app), clock);
    let mut waited = Duration::ZERO;
    while kept_now(&app).await != expected && waited < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        waited += Duration::from_millis(200);
    }
    task.abort();
    assert_eq!(kept_now(&app).await, expected, "the scheduler applied the policy");
    // Applying it again at the same time prunes nothing more.
    assert_eq!(app.apply_retention("places", now).await.unwrap(), Vec::<i64>::new());

    let server = TestServer::start(dir).await;
    let list = server.json("/api/explore/v2.1/catalog/datasets/places/versions", 200).await;
    let results = list["results"].as_array().unwrap();
    assert_eq!(results.len(), PUBLISHES as usize, "pruned versions keep their entries");
    for v in results {
        let n = v["version"].as_i64().unwrap();
        assert_eq!(v["pruned"], !expected.contains(&n), "version {n}");
        assert_eq!(v["records_count"], 3, "version {n}");
        if expected.contains(&n) {
            assert!(v.get("note").is_none());
        } else {
            assert!(v["note"].as_str().unwrap().contains("data is gone"), "{v}");
        }
    }
    // Kept versions whose previous version was kept too have their summary.
    let current = &results[0];
    assert!(current["summary"]["records_changed"].as_i64().unwrap() > 0, "{current}");

    // A pruned version: a clear error naming the versions that exist.
    let pruned = (1..=PUBLISHES).find(|k| !expected.contains(k)).unwrap();
    let (status, _, body) = server
        .get(&format!("/api/explore/v2.1/catalog/datasets/places/records?version={pruned}"))
        .await;
    assert_eq!(status, 404, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error_code"], "VersionNotFound");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("version {pruned} of dataset places was pruned")),
        "{message}"
    );
    assert!(message.contains(&format!("{PUBLISHES}, ")), "{message}");

    // Record ids are the same in every kept version (the unique id), and differ by record.
    let mut seen: Option<BTreeMap<String, String>> = None;
    for &k in &expected {
        let ids = ids_at(&server, k).await;
        assert_eq!(ids.len(), 3, "version {k}");
        if let Some(first) = &seen {
            assert_eq!(&ids, first, "version {k} keeps the record ids");
        }
        seen = Some(ids);
    }
}

fn kleber(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kleber"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("KLEBER_DATA_DIR")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_sets_shows_and_refuses_policies() {
    let dir = tempfile::tempdir().unwrap();
    publish_two_days(dir.path());
    let (ok, out, _) = kleber(dir.path(), &["retention", "show", "places"]);
    assert!(ok);
    assert_eq!(out.trim(), "places: all:forever (the portal's default)");
    // A bad policy: what, where, how to fix; nothing changes.
    let (ok, _, err) = kleber(dir.path(), &["retention", "set", "places", "all:1y"]);
    assert!(!ok);
    assert!(
        err.contains("\"1y\" is not a duration") && err.contains("nothing was changed"),
        "{err}"
    );
    let (ok, _, err) = kleber(dir.path(), &["retention", "set", "places", "hourly:1d"]);
    assert!(!ok && err.contains("unknown retention rule \"hourly\""), "{err}");
    let (ok, _, err) = kleber(dir.path(), &["retention", "set", "nope", "all:1d"]);
    assert!(!ok && err.contains("nope"), "{err}");
    let (_, out, _) = kleber(dir.path(), &["retention", "show", "places"]);
    assert!(out.contains("all:forever"), "{out}");
    // The portal default, then the dataset's own policy (applied at once, with the real
    // clock: the versions are dated March 2026, more than a day ago, so `all:1d` keeps only
    // the current one).
    let (ok, out, _) = kleber(dir.path(), &["retention", "default", "all:30d"]);
    assert!(ok && out.contains("all:30d"), "{out}");
    let (_, out, _) = kleber(dir.path(), &["retention", "show", "places"]);
    assert_eq!(out.trim(), "places: all:30d (the portal's default)");
    let (ok, out, err) = kleber(dir.path(), &["retention", "set", "places", "all:1d"]);
    assert!(ok, "{err}");
    assert!(out.contains("data of versions") && out.contains("pruned"), "{out}");
    let store = Store::open(dir.path()).unwrap();
    let infos = store.catalog().version_infos("places").unwrap();
    let kept: Vec<i64> = infos.iter().filter(|v| !v.pruned).map(|v| v.number).collect();
    assert_eq!(kept, [PUBLISHES], "only the current version keeps its data");
    let (_, out, _) = kleber(dir.path(), &["retention", "show", "places"]);
    assert_eq!(out.trim(), "places: all:1d (its own)");
    let (ok, out, _) = kleber(dir.path(), &["retention", "clear", "places"]);
    assert!(ok && out.contains("follows the portal's default retention (all:30d)"), "{out}");
}
