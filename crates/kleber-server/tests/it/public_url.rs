//! Absolute URLs: `--public-url` (flag and `KLEBER_PUBLIC_URL`, checked at start-up) is the
//! base of every absolute URL the server writes (API `_links`/`links` of v2.1 and v2.0,
//! sitemap, robots, Atom feed, JSON-LD, Open Graph, canonical links); without it, the request's
//! `Host`, checked so that a forged one cannot reach a page or another host's cached answer.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::TestServer;

const V: &str = "/api/explore/v2.1";
const PUBLIC: &str = "https://data.example.org";

/// `kleber serve` (the real binary) over a fresh data directory; killed when dropped.
struct Served {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `kleber serve --demo` with `args` and `env`, and waits until it listens.
fn serve(args: &[&str], env: &[(&str, &str)]) -> Served {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kleber"))
        .args(["serve", "--demo", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(args)
        .env_remove("KLEBER_PUBLIC_URL")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run kleber serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut lines = Vec::new();
    let addr = loop {
        let left = Duration::from_secs(120).saturating_sub(started.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(rest) = line.split(" on http://").nth(1) {
                    break rest.trim_end_matches('/').to_owned();
                }
                lines.push(line);
            }
            Err(e) => {
                let _ = child.kill();
                panic!("kleber serve did not start ({e}): {lines:?}");
            }
        }
    };
    // Keep reading the rest of the output so the server never blocks on a full pipe.
    std::thread::spawn(move || while rx.recv().is_ok() {});
    Served { child, addr, _dir: dir }
}

/// GET `http://addr{path}` with an optional `Host` header: status, content type, body.
async fn get(addr: &str, path: &str, host: Option<&str>) -> (u16, String, String) {
    let client = reqwest::Client::new();
    let mut request = client.get(format!("http://{addr}{path}"));
    if let Some(host) = host {
        request = request.header(reqwest::header::HOST, host);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.expect("body"))
}

async fn json(addr: &str, path: &str, host: Option<&str>) -> Value {
    let (status, _, body) = get(addr, path, host).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// Every `href` in a JSON document, at any depth.
fn hrefs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("href", Value::String(s)) => out.push(s.clone()),
                    _ => hrefs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| hrefs(v, out)),
        _ => {}
    }
}

/// The values of attribute `attr` in the tags of `html` that contain `marker`.
fn attrs(html: &str, marker: &str, attr: &str) -> Vec<String> {
    html.split('<')
        .filter(|tag| tag.contains(marker))
        .filter_map(|tag| {
            let start = tag.find(&format!("{attr}=\""))? + attr.len() + 2;
            tag[start..].split('"').next().map(str::to_owned)
        })
        .collect()
}

/// The text of every `<loc>` or `<id>`/`href` URL in an XML document: what starts with http.
fn xml_urls(xml: &str) -> Vec<String> {
    xml.split(['<', '>', '"'])
        .filter(|s| s.starts_with("http://") || s.starts_with("https://"))
        .filter(|s| {
            !s.starts_with("http://www.w3.org") && !s.starts_with("http://www.sitemaps.org")
        })
        .map(str::to_owned)
        .collect()
}

/// Every absolute URL the server writes, from API answers and pages, read with `host`.
async fn every_absolute_url(addr: &str, host: Option<&str>) -> Vec<String> {
    let mut urls = Vec::new();
    let id = "toilettes-publiques";
    for path in [
        format!("{V}/"),
        format!("{V}/catalog"),
        format!("{V}/catalog/exports"),
        format!("{V}/catalog/datasets/{id}/exports"),
        format!("{V}/catalog/datasets/{id}/attachments"),
        format!("{V}/catalog/datasets/{id}/records?limit=2&include_links=true"),
        "/api/explore/v2.0/catalog/datasets?limit=2".to_owned(),
        format!("/api/v2/catalog/datasets/{id}"),
        format!("/api/explore/v2.0/catalog/datasets/{id}/records?limit=2"),
    ] {
        let before = urls.len();
        hrefs(&json(addr, &path, host).await, &mut urls);
        assert!(urls.len() > before, "no href in {path}");
    }
    let (_, _, page) = get(addr, &format!("/explore/dataset/{id}/"), host).await;
    for (marker, attr) in [
        ("rel=\"canonical\"", "href"),
        ("property=\"og:url\"", "content"),
        ("link rel=\"alternate\" hreflang=", "href"),
    ] {
        let found = attrs(&page, marker, attr);
        assert!(!found.is_empty(), "no {marker} on the dataset page");
        urls.extend(found);
    }
    let ld = page.split("<script type=\"application/ld+json\">").nth(1).expect("JSON-LD");
    let ld: Value = serde_json::from_str(ld.split("</script>").next().unwrap()).expect("JSON-LD");
    urls.push(ld["@id"].as_str().expect("@id").to_owned());
    for d in ld["distribution"].as_array().expect("distribution") {
        urls.push(d["contentUrl"].as_str().expect("contentUrl").to_owned());
    }
    for path in ["/sitemap.xml", "/explore/feed.atom"] {
        let (status, _, xml) = get(addr, path, host).await;
        assert_eq!(status, 200, "{path}");
        let found = xml_urls(&xml);
        assert!(found.len() > 5, "{path}: {found:?}");
        urls.extend(found);
    }
    let (_, _, robots) = get(addr, "/robots.txt", host).await;
    urls.extend(robots.lines().filter_map(|l| l.strip_prefix("Sitemap: ")).map(str::to_owned));
    urls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_public_url_is_the_base_of_every_absolute_url_whatever_the_host() {
    let served = serve(&["--public-url", "HTTPS://Data.Example.org/"], &[]);
    // A forged Host changes nothing: the configured base is used, and no request is refused.
    for host in [None, Some("evil.example.com"), Some("evil.org/\"><script>")] {
        let urls = every_absolute_url(&served.addr, host).await;
        let wrong: Vec<_> = urls.iter().filter(|u| !u.starts_with(&format!("{PUBLIC}/"))).collect();
        assert!(wrong.is_empty(), "Host {host:?}: not on {PUBLIC}: {wrong:?}");
    }
    // The links lead where they say, once the base is swapped for the address served.
    let v = json(
        &served.addr,
        &format!("{V}/catalog/datasets/lignes-tram/records?limit=1&include_links=true"),
        None,
    )
    .await;
    let record = v["results"][0]["_links"][0]["href"].as_str().expect("record link");
    let path = record.strip_prefix(PUBLIC).expect("absolute");
    let one = json(&served.addr, path, None).await;
    assert!(one.is_object() && !one.as_object().unwrap().is_empty(), "{one}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kleber_public_url_in_the_environment_does_the_same() {
    let served = serve(&[], &[("KLEBER_PUBLIC_URL", "http://portal.example.net:8080")]);
    let v = json(&served.addr, &format!("{V}/"), Some("other.example.com")).await;
    assert_eq!(v["links"][0]["href"], "http://portal.example.net:8080/api/explore/v2.1/catalog");
    let (_, _, robots) = get(&served.addr, "/robots.txt", None).await;
    assert!(robots.contains("Sitemap: http://portal.example.net:8080/sitemap.xml"), "{robots}");
}

#[test]
fn a_bad_public_url_stops_the_server_at_start_up_with_the_fix() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (value, says) in [
        ("data.example.org", "not an absolute URL"),
        ("ftp://data.example.org", "use http or https"),
        ("https://data.example.org/?x=1", "query or a fragment"),
        ("https://data.example.org/#x", "query or a fragment"),
        ("https://data.example.org/portal/", "served at the root"),
        ("https://me:secret@data.example.org", "user name or password"),
    ] {
        for via_env in [false, true] {
            let mut command = Command::new(env!("CARGO_BIN_EXE_kleber"));
            command
                .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
                .arg(dir.path().join("d"));
            if via_env {
                command.env("KLEBER_PUBLIC_URL", value);
            } else {
                command.env_remove("KLEBER_PUBLIC_URL").args(["--public-url", value]);
            }
            let out = command.output().expect("run kleber");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{value} accepted");
            assert!(stderr.contains("--public-url") && stderr.contains(says), "{value}: {stderr}");
            assert!(!dir.path().join("d").exists(), "{value}: the data directory was created");
        }
    }
}

/// A server without a configured public URL, with the demo datasets.
async fn host_server() -> TestServer {
    let dir = tempfile::tempdir().expect("temporary directory");
    crate::common::load_demo(dir.path()).await;
    TestServer::start(dir).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_public_url_the_host_header_is_the_base_and_is_checked() {
    let server = host_server().await;
    let addr = server.base.trim_start_matches("http://");
    let urls = every_absolute_url(addr, Some("Portal.Example.org:8443")).await;
    let wrong: Vec<_> =
        urls.iter().filter(|u| !u.starts_with("http://portal.example.org:8443/")).collect();
    assert!(wrong.is_empty(), "not on the Host: {wrong:?}");

    for forged in ["evil.org/\"><script>alert(1)</script>", "evil.org/path", "me@evil.org", "a b"] {
        let (status, content_type, body) = get(addr, &format!("{V}/"), Some(forged)).await;
        assert_eq!(status, 400, "{forged}: {body}");
        assert!(content_type.starts_with("application/json"), "{forged}: {content_type}");
        let v: Value = serde_json::from_str(&body).expect("JSON error");
        assert_eq!(v["error_code"], "InvalidHost", "{body}");
        assert!(v["message"].as_str().unwrap().contains("--public-url"), "{body}");
        assert!(!body.contains("evil"), "the forged Host is echoed: {body}");
        let (status, content_type, body) = get(addr, "/explore/", Some(forged)).await;
        assert_eq!(status, 400, "{forged}");
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        assert!(!body.contains("<script>") && !body.contains("evil"), "echoed: {body}");
        assert!(body.contains("--public-url"), "{body}");
    }

    // HTTP/1.0 may omit Host: without a public URL there is no base to build links on.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(b"GET /api/explore/v2.1/ HTTP/1.0\r\n\r\n").await.expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.0 400"), "{answer}");
    assert!(answer.contains("\"InvalidHost\"") && answer.contains("no Host header"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_answers_never_mix_hosts() {
    let server = host_server().await;
    let addr = server.base.trim_start_matches("http://");
    let path = format!("{V}/catalog/datasets/comptages-velos/records?limit=3&include_links=true");
    for _ in 0..2 {
        for host in ["one.example.org", "two.example.org"] {
            let v = json(addr, &path, Some(host)).await;
            let mut links = Vec::new();
            hrefs(&v, &mut links);
            assert!(links.len() > 4, "{v}");
            let wrong: Vec<_> =
                links.iter().filter(|l| !l.starts_with(&format!("http://{host}/"))).collect();
            assert!(wrong.is_empty(), "Host {host} got {wrong:?}");
        }
    }
}
