//! Derived datasets (docs/crossing.md) against the real server: results equal to DuckDB
//! running the same SQL over the inputs' CSV exports, recomputation after an input publishes,
//! a cycle refused, a failing input keeping the last good version, the visibility rule, and
//! the language's refusals.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kleber_app::accounts::{Accounts, operator};
use kleber_ingest::ImportOptions;
use kleber_query::Limits;
use kleber_store::{Scope, Store, Visibility};
use serde_json::{Value, json};

use crate::common::{TestServer, import};

const M: &str = "/api/management/v1";
const V: &str = "/api/explore/v2.1/catalog/datasets";

/// Writes `text` to `dir/name` and imports it as `id`.
fn import_text(dir: &Path, name: &str, id: &str, text: &str) {
    let path = dir.join("inputs").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    import(dir, &path, id, ImportOptions::default());
}

/// Car parks: a reference table, and their occupancy (one of them unknown to the reference).
fn parkings_csv() -> String {
    let mut s = String::from("id,name,capacity,district\n");
    for i in 1..=12 {
        s.push_str(&format!(
            "P{i:02},Parking {i},{},{}\n",
            100 + i * 17,
            ["centre", "gare", "port"][i % 3]
        ));
    }
    s
}

fn occupation_csv(shift: i64) -> String {
    let mut s = String::from("parking_id,free,updated\n");
    for i in 1..=13 {
        s.push_str(&format!("P{i:02},{},2026-03-0{}T10:00:00Z\n", (i * 7 + shift) % 90, 1 + i % 5));
    }
    s
}

/// Daily counts of three bike counters over four months.
fn comptages_csv() -> String {
    let mut s = String::from("day,counter,count\n");
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    for d in 0..120 {
        let day = start + chrono::Duration::days(d);
        for (c, name) in ["pont-du-rhin", "quai-des-bateliers", "rue-du-jeu"].iter().enumerate() {
            s.push_str(&format!("{day},{name},{}\n", (d * 13 + c as i64 * 101) % 977));
        }
    }
    s
}

/// A 4 × 3 grid of square districts, each 0.01° wide, and points scattered over them.
const GRID: (f64, f64, f64) = (7.70, 48.55, 0.01);

fn districts_geojson() -> String {
    let (x0, y0, side) = GRID;
    let mut features = Vec::new();
    for col in 0..4 {
        for row in 0..3 {
            let (x, y) = (x0 + f64::from(col) * side, y0 + f64::from(row) * side);
            let ring = json!([[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]);
            features.push(json!({"type": "Feature",
                "properties": {"code": format!("D{col}{row}"), "nom": format!("Quartier {col}-{row}")},
                "geometry": {"type": "Polygon", "coordinates": [ring]}}));
        }
    }
    json!({"type": "FeatureCollection", "features": features}).to_string()
}

fn trees() -> Vec<(String, f64, f64)> {
    (0..60)
        .map(|i| {
            let lon = 7.6987 + f64::from(i * 37 % 430) / 10_000.0;
            let lat = 48.5493 + f64::from(i * 53 % 320) / 10_000.0;
            (format!("T{i:03}"), lat, lon)
        })
        .collect()
}

fn trees_csv() -> String {
    let mut s = String::from("tree,lat,lon\n");
    for (id, lat, lon) in trees() {
        s.push_str(&format!("{id},{lat},{lon}\n"));
    }
    s
}

struct Fixture {
    server: TestServer,
    admin: String,
    reader: String,
}

async fn fixture(debounce: Duration) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    import_text(dir.path(), "parkings.csv", "parkings", &parkings_csv());
    import_text(dir.path(), "occupation.csv", "occupation", &occupation_csv(0));
    import_text(dir.path(), "comptages.csv", "comptages", &comptages_csv());
    import_text(dir.path(), "districts.geojson", "districts", &districts_geojson());
    import_text(dir.path(), "trees.csv", "trees", &trees_csv());
    let accounts = Accounts::new(Arc::new(Store::open(dir.path()).unwrap()));
    let op = operator();
    accounts.create_user(&op, "admin@example.org", None, true, None).unwrap();
    accounts.create_user(&op, "reader@example.org", None, false, None).unwrap();
    let all = [Scope::Read, Scope::Write, Scope::Admin];
    let admin = accounts.create_key(&op, "admin@example.org", "t", &all, None).unwrap().key;
    let reader = accounts.create_key(&op, "reader@example.org", "t", &all, None).unwrap().key;
    drop(accounts);
    let server =
        TestServer::start_configured(dir, Limits::default(), Duration::from_secs(30), |s| {
            s.app.set_derive_debounce(debounce);
            kleber_app::derive::spawn_deriver(Arc::clone(&s.app), Duration::from_millis(50));
            s
        })
        .await;
    Fixture { server, admin, reader }
}

impl Fixture {
    async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .server
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.server.base));
        if let Some(key) = key {
            request = request.header("Authorization", format!("Apikey {key}"));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn derive(&self, id: &str, query: &str) -> (u16, Value) {
        self.call(
            "PUT",
            &format!("{M}/datasets/{id}/derivation"),
            Some(&self.admin),
            Some(json!({"query": query, "title": id})),
        )
        .await
    }

    async fn text(&self, path: &str, key: Option<&str>) -> (u16, String) {
        let mut request = self.server.client.get(format!("{}{path}", self.server.base));
        // An empty key (a fixture without accounts) asks anonymously.
        if let Some(key) = key.filter(|k| !k.is_empty()) {
            request = request.header("Authorization", format!("Apikey {key}"));
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Every row of a dataset's JSON export, as the admin sees it.
    async fn rows(&self, id: &str) -> Vec<Value> {
        let (status, body) = self.text(&format!("{V}/{id}/exports/json"), Some(&self.admin)).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    async fn version(&self, id: &str) -> i64 {
        let (status, body) = self
            .call("GET", &format!("{M}/datasets/{id}/derivation"), Some(&self.admin), None)
            .await;
        assert_eq!(status, 200, "{body}");
        body["version"].as_i64().unwrap()
    }
}

/// A value as compared: numbers rounded, everything else as text.
fn norm(v: &Value) -> String {
    match v {
        Value::Null => "∅".to_owned(),
        Value::Number(n) => format!("{:.6}", n.as_f64().unwrap()),
        Value::String(s) => match s.parse::<f64>() {
            Ok(f) if !s.is_empty() => format!("{f:.6}"),
            _ => s.clone(),
        },
        other => other.to_string(),
    }
}

fn multiset(rows: &[Value], columns: &[&str]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> =
        rows.iter().map(|r| columns.iter().map(|c| norm(&r[*c])).collect()).collect();
    out.sort();
    out
}

/// Runs `sql` in DuckDB over the CSV exports of `inputs` (each a view named by its id).
async fn duckdb(f: &Fixture, sql: &str, inputs: &[&str], columns: &[&str]) -> Vec<Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let mut views = Vec::new();
    for id in inputs {
        let (status, csv) = f.text(&format!("{V}/{id}/exports/csv"), Some(&f.admin)).await;
        assert_eq!(status, 200);
        let path = dir.path().join(format!("{id}.csv"));
        std::fs::write(&path, csv).unwrap();
        views.push((id.to_string(), path.display().to_string()));
    }
    let script = r#"
import duckdb, json, sys
spec = json.loads(sys.argv[1])
con = duckdb.connect()
for name, path in spec["views"]:
    con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_csv('{path}', delim=';', header=true)")
cur = con.execute(spec["sql"])
names = [d[0] for d in cur.description]
rows = [dict(zip(names, [v if isinstance(v, (int, float, str)) or v is None else str(v) for v in r])) for r in cur.fetchall()]
print(json.dumps(rows))
"#;
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/.venv/bin/python");
    let spec = json!({"views": views, "sql": sql}).to_string();
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(spec)
        .output()
        .expect("tests/clients/.venv (scripts/install-test-deps.sh installs duckdb)");
    assert!(out.status.success(), "duckdb: {}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    multiset(&rows, columns)
}

const JOIN: &str = r#"SELECT o.parking_id, r.name, r.capacity, o.free, r.capacity - o.free AS occupied
FROM occupation o LEFT JOIN parkings r ON o.parking_id = r.id"#;

const MONTHLY: &str = r#"SELECT substr(CAST(day AS VARCHAR), 1, 7) AS month, counter,
       sum("count") AS total, count(*) AS days, max("count") AS busiest
FROM comptages GROUP BY substr(CAST(day AS VARCHAR), 1, 7), counter"#;

/// The inner join: only the occupancy rows whose car park is in the reference table.
const INNER: &str = r#"SELECT o.parking_id, r.name, r.district, o.free
FROM occupation o JOIN parkings r ON o.parking_id = r.id"#;

const UNION: &str = r#"SELECT id AS code, name AS label FROM parkings WHERE capacity > 200
UNION ALL SELECT counter AS code, counter AS label FROM comptages WHERE "count" > 970"#;

#[tokio::test(flavor = "multi_thread")]
async fn derived_datasets_equal_duckdb_on_the_inputs_exports() {
    let f = fixture(Duration::from_secs(60)).await;
    for (id, sql, inputs, columns) in [
        (
            "parkings-live",
            JOIN,
            &["occupation", "parkings"][..],
            &["parking_id", "name", "capacity", "free", "occupied"][..],
        ),
        (
            "velo-monthly",
            MONTHLY,
            &["comptages"][..],
            &["month", "counter", "total", "days", "busiest"][..],
        ),
        ("codes", UNION, &["parkings", "comptages"][..], &["code", "label"][..]),
        (
            "parkings-inner",
            INNER,
            &["occupation", "parkings"][..],
            &["parking_id", "name", "district", "free"][..],
        ),
    ] {
        let (status, body) = f.derive(id, sql).await;
        assert_eq!(status, 200, "{id}: {body}");
        assert_eq!(body["version"], 1, "{body}");
        let expected = duckdb(&f, sql, inputs, columns).await;
        assert!(!expected.is_empty());
        assert_eq!(multiset(&f.rows(id).await, columns), expected, "{id}");
        let object = f.call("GET", &format!("{V}/{id}"), Some(&f.admin), None).await.1;
        let from = &object["metas"]["default"]["derived_from"];
        assert_eq!(from.as_array().unwrap().len(), inputs.len(), "{object}");
        let recorded = &body["input_versions"];
        for input in inputs {
            assert_eq!(recorded[*input], 1, "{body}");
        }
    }
    // The left join keeps the occupancy row without a reference, with nulls; the inner join
    // drops it.
    let live = f.rows("parkings-live").await;
    assert!(live.iter().any(|r| r["parking_id"] == "P13" && r["name"].is_null()));
    let inner = f.rows("parkings-inner").await;
    assert_eq!(inner.len(), 12, "{inner:?}");
    assert!(inner.iter().all(|r| r["parking_id"] != "P13"));
    // DCAT-AP names the inputs the caller reads as `prov:wasDerivedFrom`.
    let (status, rdf) = f.text(&format!("{V}/parkings-live/exports/dcat"), None).await;
    assert_eq!(status, 200, "{rdf}");
    assert!(rdf.contains("wasDerivedFrom"), "{rdf}");
    for input in ["occupation", "parkings"] {
        let iri = format!("{}{V}/{input}", f.server.base);
        assert!(rdf.contains(&iri), "{iri} in {rdf}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_spatial_join_gives_each_point_its_district() {
    let f = fixture(Duration::from_secs(60)).await;
    let sql = "SELECT tree, polygon_of('districts', 'code', geo_point_2d) AS district FROM trees";
    let (status, body) = f.derive("trees-districts", sql).await;
    assert_eq!(status, 200, "{body}");
    let got: BTreeMap<String, Value> = f
        .rows("trees-districts")
        .await
        .into_iter()
        .map(|r| (r["tree"].as_str().unwrap().to_owned(), r["district"].clone()))
        .collect();
    let (x0, y0, side) = GRID;
    let mut inside = 0;
    for (id, lat, lon) in trees() {
        let (col, row) = (((lon - x0) / side).floor(), ((lat - y0) / side).floor());
        // Points on a border are left out of the independent check (a border belongs to the
        // lowest row, which this arithmetic does not know).
        let on_border =
            ((lon - x0) / side).fract().abs() < 1e-9 || ((lat - y0) / side).fract().abs() < 1e-9;
        if on_border {
            continue;
        }
        let expected = if (0.0..4.0).contains(&col) && (0.0..3.0).contains(&row) {
            inside += 1;
            json!(format!("D{}{}", col as i64, row as i64))
        } else {
            Value::Null
        };
        assert_eq!(got[&id], expected, "{id} at {lon},{lat}");
    }
    assert!(
        inside > 20 && inside < 60,
        "{inside} points inside: the grid should hold most, not all"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_input_publishing_recomputes_after_the_debounce_and_a_failure_keeps_the_last_good_version()
 {
    let f = fixture(Duration::from_millis(300)).await;
    let (status, body) = f.derive("parkings-live", JOIN).await;
    assert_eq!(status, 200, "{body}");
    // Another process publishes a new version of an input (as `kleber import` would).
    let data = f.server.dir_path();
    import_text(&data, "occupation-v2.csv", "occupation", &occupation_csv(5));
    let started = Instant::now();
    while f.version("parkings-live").await < 2 {
        assert!(started.elapsed() < Duration::from_secs(20), "not recomputed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(started.elapsed() >= Duration::from_millis(250), "recomputed before the debounce");
    let (_, info) = f
        .call("GET", &format!("{M}/datasets/parkings-live/derivation"), Some(&f.admin), None)
        .await;
    assert_eq!(info["input_versions"]["occupation"], 2, "{info}");
    assert_eq!(info["input_versions"]["parkings"], 1, "{info}");
    // Each version names the input versions it was computed from: the current one in the
    // dataset object, an earlier one in the object at `version=N`.
    for (version, occupation) in [("", 2), ("?version=2", 2), ("?version=1", 1)] {
        let (_, object) =
            f.call("GET", &format!("{V}/parkings-live{version}"), Some(&f.admin), None).await;
        let read = &object["metas"]["default"]["derived_from_versions"];
        assert_eq!(read, &json!({"occupation": occupation, "parkings": 1}), "{version}: {object}");
    }
    let columns = ["parking_id", "name", "capacity", "free", "occupied"];
    assert_eq!(
        multiset(&f.rows("parkings-live").await, &columns),
        duckdb(&f, JOIN, &["occupation", "parkings"], &columns).await
    );
    // An input that loses a column the query reads: the recomputation fails, says why, and
    // version 2 stays.
    import_text(&data, "occupation-v3.csv", "occupation", "parking_id,places\nP01,3\n");
    let started = Instant::now();
    let info = loop {
        let (_, info) = f
            .call("GET", &format!("{M}/datasets/parkings-live/derivation"), Some(&f.admin), None)
            .await;
        if info["last_error"].is_string() {
            break info;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no failure recorded: {info}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(info["last_error"].as_str().unwrap().contains("free"), "{info}");
    assert_eq!(info["version"], 2, "{info}");
    assert_eq!(info["input_versions"]["occupation"], 2, "the version served read occupation v2");
    assert_eq!(f.rows("parkings-live").await.len(), 13);
}

#[tokio::test(flavor = "multi_thread")]
async fn cycles_and_the_languages_refusals_are_refused_and_change_nothing() {
    let f = fixture(Duration::from_secs(60)).await;
    assert_eq!(f.derive("a", "SELECT id, name FROM parkings").await.0, 200);
    assert_eq!(f.derive("b", "SELECT id FROM a").await.0, 200);
    let (status, body) = f.derive("a", "SELECT id, 'x' AS name FROM b").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error_code"], "DerivationCycle");
    assert!(body["message"].as_str().unwrap().contains("a → b → a"), "{body}");
    assert_eq!(f.derive("c", "SELECT * FROM c").await.1["error_code"], "DerivationCycle");
    for (sql, code, words) in [
        ("SELECT * FROM '/etc/passwd'", "DerivationRefused", "file path"),
        (r#"SELECT * FROM "../../catalog.sqlite""#, "DerivationRefused", "file path"),
        ("SELECT * FROM read_parquet('datasets/x.parquet')", "DerivationRefused", "table function"),
        ("SELECT * FROM generate_series(1, 3)", "DerivationRefused", "table function"),
        (
            "SELECT * FROM information_schema.tables",
            "DerivationRefused",
            "not a dataset identifier",
        ),
        ("SELECT sha256(name) FROM parkings", "DerivationRefused", "not allowed"),
        ("COPY (SELECT 1) TO '/tmp/x.csv'", "DerivationRefused", "one SELECT"),
        (
            "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc'",
            "DerivationRefused",
            "one SELECT",
        ),
        ("SELECT * FROM nosuchdataset", "DerivationInputNotFound", "nosuchdataset"),
        ("SELECT nosuchcolumn FROM parkings", "DerivationRefused", "nosuchcolumn"),
    ] {
        let (status, body) = f.derive("refused", sql).await;
        assert_eq!(status, 400, "{sql}: {body}");
        assert_eq!(body["error_code"], code, "{sql}: {body}");
        assert!(body["message"].as_str().unwrap().contains(words), "{sql}: {body}");
    }
    assert_eq!(f.call("GET", &format!("{V}/refused"), Some(&f.admin), None).await.0, 404);
    // The reader (no organization) may not create datasets in the default organization.
    let (status, body) = f
        .call(
            "PUT",
            &format!("{M}/datasets/mine/derivation"),
            Some(&f.reader),
            Some(json!({"query": "SELECT id FROM parkings"})),
        )
        .await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_derived_dataset_is_no_more_visible_than_its_inputs() {
    let f = fixture(Duration::from_secs(60)).await;
    let data = f.server.dir_path();
    let accounts = Accounts::new(Arc::new(Store::open(&data).unwrap()));
    accounts.set_visibility(&operator(), "occupation", Visibility::Restricted).unwrap();
    drop(accounts);
    let (status, body) = f.derive("parkings-live", JOIN).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["restricted_by"], json!(["occupation"]), "{body}");
    // Anonymous and the reader see neither the input nor the derived dataset, on any surface.
    for key in [None, Some(f.reader.as_str())] {
        for path in [
            format!("{V}/parkings-live"),
            format!("{V}/parkings-live/records"),
            format!("{V}/parkings-live/exports/csv"),
            "/api/records/1.0/search/?dataset=parkings-live".to_owned(),
            "/explore/dataset/parkings-live/".to_owned(),
        ] {
            let (status, body) = f.text(&path, key).await;
            assert!(status == 404, "{path} with {key:?}: {status} {body}");
        }
        let (_, list) = f.text(&format!("{V}?limit=100"), key).await;
        assert!(!list.contains("parkings-live"), "listed to {key:?}");
    }
    assert_eq!(f.text(&format!("{V}/parkings-live"), Some(&f.admin)).await.0, 200);
    // An admin of the input's organization allows it: everyone sees it.
    let (status, body) = f
        .call(
            "PUT",
            &format!("{M}/datasets/parkings-live/derivation/allow"),
            Some(&f.admin),
            Some(json!({"allow": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["allowed_by"], "admin@example.org");
    assert_eq!(f.text(&format!("{V}/parkings-live/records"), None).await.0, 200);
    let (status, body) = f
        .call(
            "PUT",
            &format!("{M}/datasets/parkings-live/derivation/allow"),
            Some(&f.reader),
            Some(json!({"allow": false})),
        )
        .await;
    assert_eq!(status, 403, "the reader sees it now, but may not administer the input: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_examples_of_docs_crossing_run() {
    let f = fixture(Duration::from_secs(60)).await;
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/crossing.md"),
    )
    .unwrap();
    let examples: Vec<&str> =
        doc.split("```sql\n").skip(1).map(|rest| rest.split("```").next().unwrap()).collect();
    assert_eq!(examples.len(), 4, "the examples of docs/crossing.md");
    for (i, sql) in examples.iter().enumerate() {
        let id = format!("doc-example-{i}");
        let (status, body) = f.derive(&id, sql).await;
        assert_eq!(status, 200, "{sql}: {body}");
        let rows = f.rows(&id).await;
        assert!(!rows.is_empty(), "{sql}");
    }
    // The spatial example gives a district to the trees inside the grid.
    let rows = f.rows("doc-example-2").await;
    assert!(rows.iter().any(|r| r["district"].as_str().is_some_and(|d| d.starts_with('D'))));
    assert!(rows.iter().all(|r| r["geo_point_2d"]["lon"].is_number()), "the point is kept");
}

/// Runs `kleber` with `args` over the data directory `dir`: exit success, stdout, stderr.
fn kleber(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kleber"))
        .args(args)
        .env("KLEBER_DATA_DIR", dir)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

/// `kleber derive ID --query FILE` defines a derived dataset and publishes its first version;
/// `--refresh` recomputes it with the stored query; a refused query or an unreadable file
/// changes nothing and says why.
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_defines_refreshes_and_refuses_derivations() {
    let dir = tempfile::tempdir().unwrap();
    import_text(dir.path(), "parkings.csv", "parkings", &parkings_csv());
    import_text(dir.path(), "occupation.csv", "occupation", &occupation_csv(0));
    let files = tempfile::tempdir().unwrap();
    let query = files.path().join("live.sql");
    std::fs::write(&query, JOIN).unwrap();
    let q = query.to_str().unwrap();
    let (ok, out, err) = kleber(dir.path(), &["derive", "parkings-live", "--query", q]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("parkings-live: version 1 published, 13 records"), "{out}");
    assert!(out.contains("occupation v1") && out.contains("parkings v1"), "{out}");
    // An input publishes; `--refresh` (no `--query`) reads its new version.
    import_text(dir.path(), "occupation-v2.csv", "occupation", &occupation_csv(5));
    let (ok, out, err) = kleber(dir.path(), &["derive", "parkings-live", "--refresh"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("version 2 published") && out.contains("occupation v2"), "{out}");
    // Refusals: nothing changes.
    let bad = files.path().join("bad.sql");
    std::fs::write(&bad, "SELECT * FROM read_parquet('x.parquet')").unwrap();
    let b = bad.to_str().unwrap();
    let (ok, _, err) = kleber(dir.path(), &["derive", "parkings-live", "--query", b]);
    assert!(!ok);
    assert!(err.contains("table function") && err.contains("nothing was changed"), "{err}");
    let missing = files.path().join("missing.sql");
    let m = missing.to_str().unwrap();
    let (ok, _, err) = kleber(dir.path(), &["derive", "parkings-live", "--query", m]);
    assert!(!ok);
    assert!(err.contains("cannot read the query file"), "{err}");
    let (ok, _, err) = kleber(dir.path(), &["derive", "parkings-live"]);
    assert!(!ok);
    assert!(err.contains("--query"), "{err}");
    let (ok, _, err) = kleber(dir.path(), &["derive", "parkings", "--refresh"]);
    assert!(!ok);
    assert!(err.contains("not derived"), "{err}");
    // Served: version 2, equal to DuckDB over the inputs' exports.
    let server = TestServer::start(dir).await;
    let f = Fixture { server, admin: String::new(), reader: String::new() };
    let object = f.server.json(&format!("{V}/parkings-live"), 200).await;
    assert_eq!(object["metas"]["default"]["derived_from_versions"]["occupation"], 2);
    let columns = ["parking_id", "name", "capacity", "free", "occupied"];
    let (status, body) = f.text(&format!("{V}/parkings-live/exports/json"), None).await;
    assert_eq!(status, 200, "{body}");
    let rows: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(
        multiset(&rows, &columns),
        duckdb(&f, JOIN, &["occupation", "parkings"], &columns).await
    );
}

/// The demo's three derived datasets (the car parks joined to their reference table, the
/// bike counts per month, the toilets with their district) are recomputed when an input is
/// re-imported, with the new input's data.
#[tokio::test(flavor = "multi_thread")]
async fn the_demos_derived_datasets_follow_their_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let app = crate::common::app_over(dir.path());
    kleber_server::demo::ensure(&app).await.unwrap();
    drop(app);
    let server =
        TestServer::start_configured(dir, Limits::default(), Duration::from_secs(30), |s| {
            s.app.set_derive_debounce(Duration::from_millis(200));
            kleber_app::derive::spawn_deriver(Arc::clone(&s.app), Duration::from_millis(50));
            s
        })
        .await;
    let data = server.dir_path();
    let object = |id: String| {
        let server = &server;
        async move { server.json(&format!("{V}/{id}"), 200).await }
    };
    let read_of =
        |o: &Value, input: &str| o["metas"]["default"]["derived_from_versions"][input].clone();
    let export = |id: &str, format: &str| {
        let path = format!("{V}/{id}/exports/{format}");
        let server = &server;
        async move {
            let (status, _, body) = server.get(&path).await;
            assert_eq!(status, 200, "{path}");
            body.trim_start_matches('\u{feff}').to_owned()
        }
    };
    // Re-imports: half the bike counts; a reference row with a new address; the districts as
    // they were (a new version all the same).
    let counts = export("comptages-velos", "csv").await;
    let mut lines: Vec<&str> = counts.lines().collect();
    lines.truncate(1 + (lines.len() - 1) / 2);
    let kept = lines[1..].to_vec();
    import_text(&data, "comptages-velos.csv", "comptages-velos", &(lines.join("\n") + "\n"));
    let reference = export("parkings-referentiel", "csv").await;
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(reference.as_bytes());
    let header = reader.headers().unwrap().clone();
    let (ident, adresse) = (
        header.iter().position(|h| h == "ident").unwrap(),
        header.iter().position(|h| h == "adresse").unwrap(),
    );
    let mut writer = csv::WriterBuilder::new().delimiter(b';').from_writer(Vec::new());
    writer.write_record(&header).unwrap();
    for record in reader.records() {
        let mut row: Vec<String> = record.unwrap().iter().map(str::to_owned).collect();
        if row[ident] == "1" {
            row[adresse] = "1 rue du Témoin".to_owned();
        }
        writer.write_record(&row).unwrap();
    }
    let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
    import_text(&data, "parkings-referentiel.csv", "parkings-referentiel", &text);
    let districts = export("quartiers", "geojson").await;
    import_text(&data, "quartiers.geojson", "quartiers", &districts);
    // Each derived dataset reads its input's version 2.
    let started = Instant::now();
    for (derived, input) in [
        ("comptages-velos-mensuels", "comptages-velos"),
        ("parkings-occupation-detaillee", "parkings-referentiel"),
        ("toilettes-par-quartier", "quartiers"),
    ] {
        loop {
            let o = object(derived.to_owned()).await;
            if read_of(&o, input) == json!(2) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "{derived} not recomputed: {o}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // The monthly counts add up the re-imported days only.
    let header: Vec<&str> = lines[0].split(';').collect();
    let at = header.iter().position(|h| *h == "comptage").unwrap();
    let passages: i64 =
        kept.iter().map(|l| l.split(';').nth(at).unwrap().parse::<i64>().unwrap()).sum();
    let monthly: Vec<Value> =
        serde_json::from_str(&export("comptages-velos-mensuels", "json").await).unwrap();
    let sum = |field: &str| monthly.iter().map(|r| r[field].as_i64().unwrap()).sum::<i64>();
    assert_eq!(sum("jours"), i64::try_from(kept.len()).unwrap());
    assert_eq!(sum("passages"), passages);
    // The car park 1 has its new address.
    let detailed: Vec<Value> =
        serde_json::from_str(&export("parkings-occupation-detaillee", "json").await).unwrap();
    let one: Vec<&Value> =
        detailed.iter().filter(|r| r["ident"] == json!(1) || r["ident"] == "1").collect();
    assert!(!one.is_empty(), "{detailed:?}");
    assert!(one.iter().all(|r| r["adresse"] == "1 rue du Témoin"), "{one:?}");
}
