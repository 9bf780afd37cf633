//! The crash matrix: the real `kleber` binary killed at each step of a publication, and at
//! random moments of imports. After each restart either the old or the new version is served
//! whole, nothing else is visible, and no file is left behind.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kleber_query::{Engine, Limits};
use kleber_server::AppState;
use kleber_store::{CrashPoint, Store};
use serde_json::Value;

fn kleber() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kleber"))
}

fn import_cmd(file: &Path, dir: &Path, dataset: &str) -> Command {
    let mut cmd = kleber();
    cmd.arg("import").arg(file).args(["--dataset", dataset, "--data-dir"]).arg(dir);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    cmd
}

/// Writes a CSV of `rows` rows whose `lot` column is `lot` on every row.
fn write_csv(path: &Path, rows: usize, lot: &str) {
    let mut s = String::from("id;lot;nom;valeur;date\n");
    for i in 0..rows {
        s.push_str(&format!(
            "{i};{lot};Compteur {};{}.5;2024-01-{:02}\n",
            i % 97,
            i * 3,
            1 + i % 28
        ));
    }
    std::fs::write(path, s).unwrap();
}

/// The `kleber serve` process on a data directory, killed when dropped.
struct Served {
    child: Child,
    base: String,
}

impl Served {
    /// Starts the real binary on an ephemeral port and waits for its address.
    fn start(data: &Path) -> Served {
        let mut child = kleber()
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .env("KLEBER_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn kleber serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut first = String::new();
        let mut lines = std::io::BufReader::new(stdout);
        lines.read_line(&mut first).expect("read");
        // Keep reading: a closed pipe would make the server's next print fail.
        std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
        let base = first
            .split("http://")
            .nth(1)
            .map(|rest| format!("http://{}", rest.trim().trim_end_matches('/')))
            .unwrap_or_else(|| panic!("kleber serve did not start: {first:?}"));
        Served { child, base }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a server says about dataset `id`: `None` when unknown, else each `lot` with its count.
async fn served_lots(base: &str, id: &str) -> Option<BTreeMap<String, u64>> {
    let url = format!(
        "{base}/api/explore/v2.1/catalog/datasets/{id}/records?select=lot,count(*)%20as%20n&group_by=lot"
    );
    let response = reqwest::get(&url).await.expect("request");
    match response.status().as_u16() {
        404 => None,
        200 => {
            let v: Value = response.json().await.expect("json");
            let lots = v["results"].as_array().expect("results");
            Some(
                lots.iter()
                    .map(|r| {
                        (r["lot"].as_str().expect("lot").to_owned(), r["n"].as_u64().expect("n"))
                    })
                    .collect(),
            )
        }
        other => panic!("GET {url} answered {other}"),
    }
}

fn lot(name: &str, rows: u64) -> Option<BTreeMap<String, u64>> {
    Some(BTreeMap::from([(name.to_owned(), rows)]))
}

/// Asserts that the data directory holds nothing but the catalog's versions: no temporary
/// version, no version or dataset folder the catalog does not know, no spooled export.
fn assert_no_leftovers(data: &Path) {
    let store = Store::open(data).expect("open store");
    let mut known: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for ds in store.list_datasets().expect("list") {
        let versions = store.versions(&ds.id).expect("versions");
        known.insert(ds.uid.clone(), versions.iter().map(|v| format!("v{v}")).collect());
    }
    for entry in std::fs::read_dir(data.join("datasets")).expect("datasets") {
        let entry = entry.expect("entry");
        let uid = entry.file_name().to_string_lossy().into_owned();
        let Some(versions) = known.get(&uid) else {
            panic!("dataset folder {uid} is not in the catalog");
        };
        let found: BTreeSet<String> = std::fs::read_dir(entry.path())
            .expect("versions")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(&found, versions, "folders of {uid} against the catalog");
    }
    if let Ok(entries) = std::fs::read_dir(data.join("tmp/exports")) {
        let left: Vec<_> = entries.collect();
        assert!(left.is_empty(), "spooled exports left: {left:?}");
    }
}

/// A data directory with dataset `compteurs` at version 1 (`lot` v1, 5 rows).
fn with_first_version(dir: &Path) -> std::path::PathBuf {
    let v1 = dir.join("v1.csv");
    write_csv(&v1, 5, "v1");
    let data = dir.join("data");
    assert!(import_cmd(&v1, &data, "compteurs").status().unwrap().success());
    data
}

#[tokio::test]
async fn a_kill_at_each_step_of_a_publish_leaves_the_old_or_the_new_version_whole() {
    for point in CrashPoint::ALL {
        let name = point.name();
        let dir = tempfile::tempdir().unwrap();
        let data = with_first_version(dir.path());
        let v2 = dir.path().join("v2.csv");
        write_csv(&v2, 50, "v2");
        // Stale spooled exports, as a server killed mid-export leaves them.
        std::fs::create_dir_all(data.join("tmp/exports/kleber-export-x")).unwrap();
        std::fs::write(data.join("tmp/exports/kleber-export-x/a.shp"), b"stale").unwrap();

        // A new version of an existing dataset, and the first version of a new one.
        let status =
            import_cmd(&v2, &data, "compteurs").env("KLEBER_CRASH_AT", name).status().unwrap();
        assert!(!status.success(), "{name}: the import must have aborted");
        let status =
            import_cmd(&v2, &data, "nouveau").env("KLEBER_CRASH_AT", name).status().unwrap();
        assert!(!status.success(), "{name}: the first import must have aborted");
        let committed = point == CrashPoint::AfterCommit;

        let served = Served::start(&data);
        let (old, new) = (
            served_lots(&served.base, "compteurs").await,
            served_lots(&served.base, "nouveau").await,
        );
        if committed {
            assert_eq!(old, lot("v2", 50), "{name}: the committed version is served");
            assert_eq!(new, lot("v2", 50), "{name}: the committed new dataset is served");
        } else {
            assert_eq!(old, lot("v1", 5), "{name}: the previous version is served");
            assert_eq!(new, None, "{name}: the new dataset is not visible");
        }
        drop(served);
        assert_no_leftovers(&data);

        // The next import succeeds and is numbered after what the catalog holds.
        let v3 = dir.path().join("v3.csv");
        write_csv(&v3, 7, "v3");
        let out = import_cmd(&v3, &data, "compteurs").stdout(Stdio::piped()).output().unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let expected = if committed { "(version 3," } else { "(version 2," };
        assert!(String::from_utf8_lossy(&out.stdout).contains(expected), "{name}");
        let served = Served::start(&data);
        assert_eq!(served_lots(&served.base, "compteurs").await, lot("v3", 7), "{name}");
        drop(served);
        assert_no_leftovers(&data);
    }
}

/// A small xorshift generator: the random part of the matrix is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Starts the server in this process on `data` as `kleber serve` does (orphans removed
/// first), and answers what it serves of `ids`.
async fn restart_and_read(data: &Path, ids: &[&str]) -> Vec<Option<BTreeMap<String, u64>>> {
    let store = Store::open(data).expect("open store");
    store.remove_orphans().expect("orphans");
    let state = AppState::new(
        store,
        Engine::new(Limits::default()).expect("engine"),
        Duration::from_secs(30),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(kleber_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let mut out = Vec::new();
    for id in ids {
        out.push(served_lots(&base, id).await);
    }
    let _ = stop.send(());
    let _ = server.await;
    out
}

#[tokio::test]
async fn a_hundred_kills_at_random_moments_of_imports_never_show_a_torn_state() {
    let dir = tempfile::tempdir().unwrap();
    let data = with_first_version(dir.path());
    let files = [("a", 3000), ("b", 4000)].map(|(name, rows)| {
        let path = dir.path().join(format!("{name}.csv"));
        write_csv(&path, rows, name);
        (path, name, rows as u64)
    });
    // How long an import runs here (the shortest of three, as the machine may be busy):
    // kills are spread over that time and half as much beyond it.
    let mut shortest = Duration::MAX;
    for file in [&files[1], &files[0], &files[1], &files[0]] {
        let started = Instant::now();
        assert!(import_cmd(&file.0, &data, "compteurs").status().unwrap().success());
        shortest = shortest.min(started.elapsed());
    }
    let span = shortest.as_micros() as u64 * 3 / 2;
    let mut current = lot("a", 3000);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut outcomes = BTreeMap::<&str, u32>::new();
    for i in 0..100 {
        // The file whose lot is not the one served, so old and new can be told apart.
        let pick = usize::from(current == lot("a", 3000));
        let (path, name, rows) = &files[pick];
        // Every tenth import is the first version of a new dataset.
        let id = if i % 10 == 5 { format!("nouveau-{i}") } else { "compteurs".to_owned() };
        let mut child = import_cmd(path, &data, &id).spawn().unwrap();
        std::thread::sleep(Duration::from_micros(rng.next() % span.max(1)));
        child.kill().unwrap();
        let finished = child.wait().unwrap().success();

        let ids = ["compteurs", id.as_str()];
        let seen = restart_and_read(&data, &ids).await;
        let new = lot(name, *rows);
        if id == "compteurs" {
            assert!(
                seen[0] == current || seen[0] == new,
                "kill {i}: served {:?}, expected {current:?} or {new:?}",
                seen[0]
            );
            if finished {
                assert_eq!(seen[0], new, "kill {i}: the import finished, its version is served");
            }
            let outcome = if seen[0] == current { "old" } else { "new" };
            *outcomes.entry(outcome).or_default() += 1;
            current = seen[0].clone();
        } else {
            assert_eq!(seen[0], current, "kill {i}: another dataset is untouched");
            assert!(seen[1].is_none() || seen[1] == new, "kill {i}: new dataset {:?}", seen[1]);
            *outcomes.entry(if seen[1].is_some() { "new" } else { "absent" }).or_default() += 1;
        }
        assert_no_leftovers(&data);
    }
    eprintln!("outcomes of the kills: {outcomes:?} (span {span} µs)");
    // The kills landed on both sides of the commit (the delays span the whole import).
    assert!(outcomes.get("old").copied().unwrap_or(0) >= 3, "{outcomes:?}");
    assert!(outcomes.get("new").copied().unwrap_or(0) >= 3, "{outcomes:?}");
}
