//! A publication interrupted at any point leaves the previous version served and nothing
//! half-visible after a restart.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::TestServer;

fn kleber() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kleber"))
}

fn import_cmd(file: &Path, dir: &Path) -> Command {
    let mut cmd = kleber();
    cmd.arg("import").arg(file).args(["--dataset", "compteurs", "--data-dir"]).arg(dir);
    cmd
}

/// Writes a CSV of `rows` rows.
fn write_csv(path: &Path, rows: usize) {
    let mut s = String::from("id;nom;valeur;date\n");
    for i in 0..rows {
        s.push_str(&format!("{i};Compteur {};{}.5;2024-01-{:02}\n", i % 97, i * 3, 1 + i % 28));
    }
    std::fs::write(path, s).unwrap();
}

/// Directories under the dataset's folder, sorted.
fn version_dirs(data_dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for ds in std::fs::read_dir(data_dir.join("datasets")).unwrap() {
        for v in std::fs::read_dir(ds.unwrap().path()).unwrap() {
            out.push(v.unwrap().file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    out
}

async fn served_count(data_dir: tempfile::TempDir) -> (u64, tempfile::TempDir) {
    let server = TestServer::start(data_dir).await;
    let v = server.json("/api/explore/v2.1/catalog/datasets/compteurs/records?limit=0", 200).await;
    let count = v["total_count"].as_u64().unwrap();
    (count, server.stop())
}

fn first_version(dir: &Path) {
    let v1 = dir.join("v1.csv");
    write_csv(&v1, 5);
    let data = dir.join("data");
    let status = import_cmd(&v1, &data).status().unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn crash_before_rename_or_before_commit_keeps_the_previous_version() {
    for point in ["before-rename", "before-commit"] {
        let dir = tempfile::tempdir().unwrap();
        first_version(dir.path());
        let v2 = dir.path().join("v2.csv");
        write_csv(&v2, 50);
        let data = dir.path().join("data");
        let status = import_cmd(&v2, &data).args(["--crash-at", point]).status().unwrap();
        assert!(!status.success(), "{point}: the process must have aborted");
        let leftovers = version_dirs(&data);
        assert!(leftovers.len() > 1, "{point}: the crash left files behind: {leftovers:?}");

        let data_dir = tempfile::TempDir::new_in(dir.path()).unwrap();
        std::fs::remove_dir(data_dir.path()).unwrap();
        std::fs::rename(&data, data_dir.path()).unwrap();
        let (count, data_dir) = served_count(data_dir).await;
        assert_eq!(count, 5, "{point}: the previous version is served");
        assert_eq!(
            version_dirs(data_dir.path()),
            vec!["v1"],
            "{point}: orphans removed at start-up"
        );

        // The next import succeeds and becomes version 2.
        let output = import_cmd(&v2, data_dir.path()).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert!(String::from_utf8_lossy(&output.stdout).contains("(version 2,"));
        let (count, _) = served_count(data_dir).await;
        assert_eq!(count, 50);
    }
}

#[tokio::test]
async fn a_process_killed_mid_import_leaves_the_previous_version() {
    let dir = tempfile::tempdir().unwrap();
    first_version(dir.path());
    let big = dir.path().join("big.csv");
    write_csv(&big, 400_000);
    let data = dir.path().join("data");
    let mut child = import_cmd(&big, &data).spawn().unwrap();
    // Kill it once it is writing the new version's Parquet file.
    let started = Instant::now();
    loop {
        let writing = version_dirs(&data).iter().any(|d| d.starts_with(".tmp-"));
        if writing {
            std::thread::sleep(Duration::from_millis(50));
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import finished before it could be killed"
        );
        assert!(started.elapsed() < Duration::from_secs(60), "the import never started writing");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());

    let data_dir = tempfile::TempDir::new_in(dir.path()).unwrap();
    std::fs::remove_dir(data_dir.path()).unwrap();
    std::fs::rename(&data, data_dir.path()).unwrap();
    let (count, data_dir) = served_count(data_dir).await;
    assert_eq!(count, 5);
    assert_eq!(version_dirs(data_dir.path()), vec!["v1"]);
}
