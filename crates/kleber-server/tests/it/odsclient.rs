//! The real `odsclient` (PyPI 0.8.4) downloading a dataset through the legacy
//! `/explore/dataset/{id}/download/` URL, and reading Kleber's v1 error body.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::v1_api::{stations, velib_server};

fn python() -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/.venv/bin/python");
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-test-deps.sh to install the test clients",
        path.display()
    );
    path
}

const SCRIPT: &str = r#"
import csv, io, json, sys
from odsclient import get_whole_dataset
from odsclient.core import ODSException

base = sys.argv[1]
out = {}
text = get_whole_dataset("velib", base_url=base, format="csv")
rows = list(csv.reader(io.StringIO(text), delimiter=";"))
out["header"] = rows[0]
out["rows"] = len(rows) - 1
col = rows[0].index("Identifiant station")
cap = rows[0].index("Capacité de la station")
out["capacity_16107"] = [r[cap] for r in rows[1:] if r[col] == "16107"]
try:
    get_whole_dataset("no-such-dataset", base_url=base, format="csv")
    out["error"] = None
except ODSException as e:
    out["error"] = {"status": e.status_code, "message": e.error_msg}
print(json.dumps(out))
"#;

#[tokio::test]
async fn odsclient_downloads_the_whole_dataset_and_reads_errors() {
    let python = python();
    let stations = stations();
    let server = velib_server().await;
    let base = server.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python).arg("-c").arg(SCRIPT).arg(base).output().expect("run python")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "odsclient failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let v: Value = serde_json::from_slice(&output.stdout).expect("script output");
    assert_eq!(v["rows"], stations.len() as u64);
    // odsclient asks for labels in the header (use_labels_for_header=True).
    assert!(v["header"].as_array().unwrap().iter().any(|h| h == "Nom station"), "{v}");
    let expected = stations.iter().find(|s| s.id == 16107).unwrap().capacity.to_string();
    assert_eq!(v["capacity_16107"], serde_json::json!([expected]));
    assert_eq!(v["error"]["status"], 404);
    assert!(v["error"]["message"].as_str().unwrap().contains("no-such-dataset"), "{v}");
}
