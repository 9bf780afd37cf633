//! HTTP hardening and data safety: timeouts, bounds on requests and spooled exports, body
//! limits, and a data directory whose catalog is lost.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kleber_query::{Engine, Limits};
use kleber_server::{AppState, HttpLimits};
use kleber_store::Store;
use tokio::sync::oneshot;

use crate::common::import;

/// A server started with explicit limits.
struct Server {
    addr: std::net::SocketAddr,
    base: String,
    root: PathBuf,
    /// The server's application layer (to look at its memory pool).
    app: std::sync::Arc<kleber_app::App>,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn start(dir: tempfile::TempDir, limits: HttpLimits, spool: (usize, u64)) -> Server {
    start_with_stall(dir, limits, spool, Duration::from_secs(60)).await
}

/// [`start`], where a client that takes no chunk of an export for `stall` loses it.
async fn start_with_stall(
    dir: tempfile::TempDir,
    limits: HttpLimits,
    spool: (usize, u64),
    stall: Duration,
) -> Server {
    let store = Store::open(dir.path()).expect("open store");
    let root = store.root().to_path_buf();
    let state = AppState::new(
        store,
        Engine::new(Limits::default()).expect("engine"),
        Duration::from_secs(30),
    )
    .with_spool_limits(spool.0, spool.1)
    .with_export_stall(stall);
    let app = state.app.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel();
    tokio::spawn(kleber_server::serve_with(listener, state, limits, async {
        let _ = stopped.await;
    }));
    Server { addr, base: format!("http://{addr}"), root, app, _stop: stop, _dir: dir }
}

fn limits() -> HttpLimits {
    HttpLimits { header_read_timeout: Duration::from_secs(2), ..HttpLimits::default() }
}

/// A data directory with dataset `big`: `rows` records of about 130 bytes of text that does
/// not compress (so its exports are larger than every socket buffer between server and client).
fn big_dataset(rows: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("big.csv");
    let mut text = String::from("id;code;texte\n");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..rows {
        let mut code = String::new();
        for _ in 0..3 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            code.push_str(&format!("{x:016x}"));
        }
        text.push_str(&format!("{i};{code};{}{code}\n", &code[..20]));
    }
    std::fs::write(&csv, text).expect("write");
    let data = tempfile::tempdir().expect("tempdir");
    import(data.path(), &csv, "big", kleber_ingest::ImportOptions::default());
    data
}

/// A small data directory with dataset `small`.
fn small_dataset() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("small.csv");
    std::fs::write(&csv, "id;nom\n1;un\n2;deux\n").expect("write");
    let data = tempfile::tempdir().expect("tempdir");
    import(data.path(), &csv, "small", kleber_ingest::ImportOptions::default());
    data
}

/// Reads from `stream` until the server closes it; returns how long that took.
fn time_until_closed(stream: &mut TcpStream, started: Instant, limit: Duration) -> Duration {
    stream.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return started.elapsed(),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return started.elapsed(),
        }
        assert!(started.elapsed() < limit, "the server kept the connection open for {limit:?}");
    }
}

async fn assert_still_serves(base: &str) {
    let response =
        reqwest::get(format!("{base}/api/explore/v2.1/catalog/datasets")).await.expect("get");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_client_sending_its_headers_byte_by_byte_is_disconnected() {
    let server = start(small_dataset(), limits(), (8, 1024)).await;
    let addr = server.addr;
    let elapsed = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        let started = Instant::now();
        stream
            .write_all(b"GET /api/explore/v2.1/catalog/datasets HTTP/1.1\r\nHost: x\r\n")
            .expect("write");
        // One header byte every 300 ms, for up to 20 s: each keeps the connection busy, but the
        // head is never complete.
        stream.set_read_timeout(Some(Duration::from_millis(300))).expect("timeout");
        let mut buffer = [0u8; 1024];
        loop {
            if stream.write_all(b"X").is_err() {
                return started.elapsed();
            }
            match stream.read(&mut buffer) {
                Ok(0) => return started.elapsed(),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return started.elapsed(),
            }
            assert!(started.elapsed() < Duration::from_secs(20), "still connected after 20 s");
        }
    })
    .await
    .expect("join");
    assert!(
        elapsed >= Duration::from_millis(1500) && elapsed < Duration::from_secs(6),
        "disconnected after {elapsed:?}, the header-read timeout is 2 s"
    );
    assert_still_serves(&server.base).await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let server = start(small_dataset(), limits(), (8, 1024)).await;
    let addr = server.addr;
    let (head, elapsed) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .write_all(
                b"GET /api/explore/v2.1/catalog/datasets/small/records HTTP/1.1\r\nHost: x\r\n\r\n",
            )
            .expect("write");
        // Read the whole answer: a head and a body of Content-Length bytes.
        let mut got = Vec::new();
        let mut buffer = [0u8; 4096];
        let body_len = loop {
            let n = stream.read(&mut buffer).expect("read");
            assert!(n > 0, "closed before answering");
            got.extend_from_slice(&buffer[..n]);
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&got[..end]).to_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse::<usize>().expect("length"))
                    .expect("a content-length");
                break (end + 4, length, head);
            }
        };
        let (start, length, head) = body_len;
        while got.len() < start + length {
            let n = stream.read(&mut buffer).expect("read");
            assert!(n > 0, "closed in the middle of the body");
            got.extend_from_slice(&buffer[..n]);
        }
        let idle_since = Instant::now();
        (head, time_until_closed(&mut stream, idle_since, Duration::from_secs(20)))
    })
    .await
    .expect("join");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!head.contains("connection: close"), "the connection was kept alive: {head}");
    assert!(
        elapsed >= Duration::from_millis(1500) && elapsed < Duration::from_secs(6),
        "the idle connection was closed after {elapsed:?}, the timeout is 2 s"
    );
    assert_still_serves(&server.base).await;
}

#[tokio::test]
async fn requests_beyond_the_bound_answer_503_server_busy_until_one_ends() {
    let server =
        start(big_dataset(200_000), HttpLimits { max_requests: 2, ..limits() }, (8, 1024)).await;
    let export = format!("{}/api/explore/v2.1/catalog/datasets/big/exports/csv", server.base);
    // Two exports whose clients do not read: their bodies (~30 MB) cannot be sent.
    let first = reqwest::get(&export).await.expect("first");
    let second = reqwest::get(&export).await.expect("second");
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    let busy = reqwest::get(format!("{}/api/explore/v2.1/catalog/datasets", server.base))
        .await
        .expect("third");
    assert_eq!(busy.status(), 503);
    assert_eq!(busy.headers()["retry-after"], "1");
    assert_eq!(busy.headers()["access-control-allow-origin"], "*");
    let body: serde_json::Value = busy.json().await.expect("json");
    assert_eq!(body["error_code"], "ServerBusy");
    assert!(body["message"].as_str().unwrap().contains("--max-requests"), "{body}");
    drop((first, second));
    // The clients went away: their slots come back.
    let started = Instant::now();
    loop {
        let r = reqwest::get(format!("{}/api/explore/v2.1/catalog/datasets", server.base))
            .await
            .expect("get");
        if r.status() == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still busy 10 s after the clients left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_body_over_the_limit_answers_413_payload_too_large() {
    let server =
        start(small_dataset(), HttpLimits { max_body_bytes: 1024, ..limits() }, (8, 1024)).await;
    let client = reqwest::Client::new();
    let url = format!("{}/api/explore/v2.1/catalog/datasets", server.base);
    let r = client.get(&url).body(vec![b'x'; 4096]).send().await.expect("send");
    assert_eq!(r.status(), 413);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error_code"], "PayloadTooLarge");
    assert!(body["message"].as_str().unwrap().contains("1024 bytes"), "{body}");
    // Within the limit, the request is answered as usual.
    let r = client.get(&url).body(vec![b'x'; 100]).send().await.expect("send");
    assert_eq!(r.status(), 200);
}

/// Open file descriptors of this process (the server runs in it) on files under `dir`.
fn open_files_under(dir: &Path) -> Vec<String> {
    let prefix = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| p.starts_with(&prefix))
        .collect()
}

#[tokio::test]
async fn an_export_whose_client_stops_reading_gives_back_its_spool_file() {
    let server = start(big_dataset(200_000), limits(), (8, 1024)).await;
    let spool = server.root.join("tmp").join("exports");
    let export = format!(
        "{}/api/explore/v2.1/catalog/datasets/big/exports/parquet?parquet_compression=none",
        server.base
    );
    let mut response = reqwest::get(&export).await.expect("export");
    assert_eq!(response.status(), 200);
    let first = response.chunk().await.expect("chunk").expect("a first chunk");
    assert_eq!(&first[..4], b"PAR1");
    // The client reads nothing more: the server holds the spooled file, blocked on the socket.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = open_files_under(&spool);
    assert!(!held.is_empty(), "the spooled file is open while the export is sent");
    drop(response);
    let started = Instant::now();
    while !open_files_under(&spool).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "spool still open: {:?}",
            open_files_under(&spool)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left: Vec<_> = std::fs::read_dir(&spool).expect("read").collect();
    assert!(left.is_empty(), "nothing left in tmp/exports: {left:?}");
    assert_still_serves(&server.base).await;
}

#[tokio::test]
async fn spooled_exports_beyond_the_bound_answer_503_and_streamed_ones_still_run() {
    let server = start(big_dataset(200_000), limits(), (1, 1024)).await;
    let export = |format: &str| {
        format!(
            "{}/api/explore/v2.1/catalog/datasets/big/exports/{format}?parquet_compression=none",
            server.base
        )
    };
    let mut held = reqwest::get(export("parquet")).await.expect("export");
    assert_eq!(held.status(), 200);
    held.chunk().await.expect("chunk").expect("a first chunk");
    let busy = reqwest::get(export("parquet")).await.expect("second");
    assert_eq!(busy.status(), 503);
    assert!(busy.headers().contains_key("retry-after"));
    let body: serde_json::Value = busy.json().await.expect("json");
    assert_eq!(body["error_code"], "ServerBusy");
    assert!(body["message"].as_str().unwrap().contains("--max-spooled-exports"), "{body}");
    let csv = reqwest::get(format!("{}&limit=10", export("csv"))).await.expect("csv");
    assert_eq!(csv.status(), 200, "streamed formats do not use the spool");
    drop(held);
    let started = Instant::now();
    loop {
        let r = reqwest::get(format!("{}&limit=10", export("parquet"))).await.expect("again");
        if r.status() == 200 {
            assert_eq!(&r.bytes().await.expect("body")[..4], b"PAR1");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the slot never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `done()` holds, failing after `limit` with `what`.
async fn eventually(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what} after {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_but_stays_connected_loses_its_spooled_export() {
    let stall = Duration::from_secs(2);
    let server = start_with_stall(big_dataset(200_000), limits(), (1, 1024), stall).await;
    let spool = server.root.join("tmp").join("exports");
    let export = format!(
        "{}/api/explore/v2.1/catalog/datasets/big/exports/parquet?parquet_compression=none",
        server.base
    );
    let mut held = reqwest::get(&export).await.expect("export");
    assert_eq!(held.status(), 200);
    held.chunk().await.expect("chunk").expect("a first chunk");
    let stopped_reading = Instant::now();
    // The client keeps its connection and reads nothing more: the file and the only slot are
    // held for now...
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!open_files_under(&spool).is_empty(), "the spooled file is open while it is sent");
    let busy = reqwest::get(&export).await.expect("second");
    assert_eq!(busy.status(), 503, "the only spool slot is taken");
    // ...until the stall bound passes: then the export is dropped, file and slot given back,
    // while the client is still connected.
    eventually(stall * 4, "the stalled export still holds its spool file", || {
        open_files_under(&spool).is_empty()
    })
    .await;
    // The clock starts at the last chunk the server handed out, after the client's first.
    let waited = stopped_reading.elapsed();
    assert!(waited >= stall, "released before the bound: {waited:?}");
    let left: Vec<_> = std::fs::read_dir(&spool).expect("read").collect();
    assert!(left.is_empty(), "nothing left in tmp/exports: {left:?}");
    let again = reqwest::get(format!("{export}&limit=10")).await.expect("again");
    assert_eq!(again.status(), 200, "the slot came back");
    assert_eq!(&again.bytes().await.expect("body")[..4], b"PAR1");
    // The stalled client gets no more than a cut-off body.
    let rest = tokio::time::timeout(Duration::from_secs(10), async {
        let mut total = 0usize;
        loop {
            match held.chunk().await {
                Ok(Some(chunk)) => total += chunk.len(),
                Ok(None) => return Ok(total),
                Err(e) => return Err(e),
            }
        }
    })
    .await
    .expect("the stalled body ends");
    assert!(rest.is_err(), "a stalled export ends with a cut-off body, not a complete file");
}

#[tokio::test]
async fn a_client_that_stops_reading_a_streamed_export_gives_back_its_memory_share() {
    let stall = Duration::from_secs(2);
    let server = start_with_stall(big_dataset(200_000), limits(), (8, 1024), stall).await;
    let app = server.app.clone();
    assert_eq!(app.memory_reserved(), 0, "nothing reserved at rest");
    // A sorted export holds its sorted rows in the memory pool while it is sent.
    let export =
        format!("{}/api/explore/v2.1/catalog/datasets/big/exports/csv?order_by=texte", server.base);
    let mut held = reqwest::get(&export).await.expect("export");
    assert_eq!(held.status(), 200);
    held.chunk().await.expect("chunk").expect("a first chunk");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.memory_reserved() > 0, "the stalled export holds its share for now");
    eventually(stall * 4, "the stalled export still holds memory", || app.memory_reserved() == 0)
        .await;
    assert_still_serves(&server.base).await;
    drop(held);
}

#[tokio::test]
async fn stale_spooled_exports_are_removed_at_start_up() {
    let data = small_dataset();
    let stale = data.path().join("tmp/exports/kleber-export-abc123");
    std::fs::create_dir_all(&stale).expect("mkdir");
    std::fs::write(stale.join("layer.shp"), vec![0u8; 4096]).expect("write");
    std::fs::write(data.path().join("tmp/exports/.tmpQWERTY"), b"half an xlsx").expect("write");
    let server = start(data, limits(), (8, 1024)).await;
    let left: Vec<_> = std::fs::read_dir(server.root.join("tmp/exports")).expect("read").collect();
    assert!(left.is_empty(), "{left:?}");
    assert_still_serves(&server.base).await;
}

fn kleber() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kleber"))
}

#[test]
fn serve_and_import_refuse_a_data_directory_whose_catalog_is_lost() {
    let data = small_dataset();
    let dir = data.path();
    let datasets = |dir: &Path| std::fs::read_dir(dir.join("datasets")).expect("datasets").count();
    assert_eq!(datasets(dir), 1);
    for f in ["catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let csv = dir.join("other.csv");
    std::fs::write(&csv, "a\n1\n").expect("write");
    let runs: [Vec<&std::ffi::OsStr>; 2] = [
        vec![
            "serve".as_ref(),
            "--addr".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--data-dir".as_ref(),
            dir.as_os_str(),
        ],
        vec![
            "import".as_ref(),
            csv.as_os_str(),
            "--dataset".as_ref(),
            "other".as_ref(),
            "--data-dir".as_ref(),
            dir.as_os_str(),
        ],
    ];
    for args in &runs {
        let out = kleber().args(args).output().expect("run kleber");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} must refuse: {stderr}");
        assert!(stderr.contains("1 dataset folder(s)"), "what: {stderr}");
        assert!(
            stderr.contains(&dir.join("catalog.sqlite").display().to_string()),
            "where: {stderr}"
        );
        assert!(stderr.contains("Restore catalog.sqlite"), "how to fix: {stderr}");
        assert_eq!(datasets(dir), 1, "the dataset files are kept");
        assert!(!dir.join("catalog.sqlite").exists(), "no empty catalog was created");
    }
    // A catalog file that is not a database is refused too, and left as it was.
    let garbage =
        b"this is not a SQLite database but it is longer than its header.......".repeat(2);
    std::fs::write(dir.join("catalog.sqlite"), &garbage).expect("write");
    let out = kleber().args(&runs[0]).output().expect("run kleber");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("cannot read the catalog"), "{stderr}");
    assert_eq!(std::fs::read(dir.join("catalog.sqlite")).expect("read"), garbage);
    assert_eq!(datasets(dir), 1);
    // A new directory is still initialised.
    let fresh = tempfile::tempdir().expect("tempdir");
    let out = kleber()
        .args([
            "import".as_ref(),
            csv.as_os_str(),
            "--dataset".as_ref(),
            "other".as_ref(),
            "--data-dir".as_ref(),
        ])
        .arg(fresh.path().join("new"))
        .output()
        .expect("run kleber");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn concurrent_annotate_processes_and_an_import_lose_no_update() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fields: Vec<String> = (0..12).map(|i| format!("f{i}")).collect();
    let write = |path: &Path, rows: usize| {
        let mut text = fields.join(";") + "\n";
        for r in 0..rows {
            text += &(0..12).map(|i| (r * 12 + i).to_string()).collect::<Vec<_>>().join(";");
            text += "\n";
        }
        std::fs::write(path, text).expect("write");
    };
    let (v1, v2) = (dir.path().join("v1.csv"), dir.path().join("v2.csv"));
    write(&v1, 3);
    write(&v2, 20_000);
    let data = dir.path().join("data");
    let import = |file: &Path| {
        kleber()
            .arg("import")
            .arg(file)
            .args(["--dataset", "mesures", "--data-dir"])
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn import")
    };
    assert!(import(&v1).wait().expect("wait").success());
    // A new version being imported while twelve processes annotate twelve fields.
    let mut importing = import(&v2);
    let annotating: Vec<_> = fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            kleber()
                .args(["annotate", "--dataset", "mesures", "--data-dir"])
                .arg(&data)
                .args([field.as_str(), &format!("unit=u{i}")])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("spawn annotate")
        })
        .collect();
    for mut child in annotating {
        assert!(child.wait().expect("wait").success());
    }
    assert!(importing.wait().expect("wait").success());
    let store = Store::open(&data).expect("open");
    let ds = store.get_dataset("mesures").expect("get").expect("exists");
    assert_eq!((ds.version.number, ds.version.records_count), (2, 20_000));
    for (i, field) in ds.version.fields.iter().enumerate() {
        assert_eq!(field.annotations.get("unit"), Some(&vec![format!("u{i}")]), "{field:?}");
    }
}
