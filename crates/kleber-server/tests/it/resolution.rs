//! A request resolves what it reads once: the conditional-request layer resolves the dataset
//! version or catalog generation, and the handler answers from that same resolution (no
//! second catalog lookup), on every API.

use std::sync::Arc;
use std::time::Duration;

use kleber_ingest::ImportOptions;
use kleber_query::{Engine, Limits};
use kleber_server::AppState;
use kleber_store::Store;

use crate::common::{import, real};

#[tokio::test(flavor = "multi_thread")]
async fn each_request_resolves_what_it_reads_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = real("strasbourg_parcs-jardins_points.geojson");
    import(dir.path(), &file, "parcs", ImportOptions::default());
    let store = Store::open(dir.path()).unwrap();
    let state =
        AppState::new(store, Engine::new(Limits::default()).unwrap(), Duration::from_secs(30));
    let app = Arc::clone(&state.app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(kleber_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let v21 = "/api/explore/v2.1/catalog";
    for path in [
        format!("{v21}/datasets/parcs/records?limit=2"),
        // The same again: answered from the response cache, still one resolution.
        format!("{v21}/datasets/parcs/records?limit=2"),
        format!("{v21}/datasets/parcs/facets"),
        format!("{v21}/datasets/parcs"),
        format!("{v21}/datasets?where=%22parcs%22"),
        format!("{v21}/facets"),
        format!("{v21}/datasets/parcs/exports/csv"),
        format!("{v21}/exports/json"),
        "/api/explore/v2.0/catalog/datasets/parcs/records?limit=1".to_owned(),
        "/api/v2/catalog/datasets".to_owned(),
        "/api/records/1.0/search/?dataset=parcs&rows=3".to_owned(),
        "/api/records/1.0/boundingbox/?dataset=parcs".to_owned(),
        "/api/datasets/1.0/search/".to_owned(),
        "/explore/dataset/parcs/download/?format=json".to_owned(),
    ] {
        let before = app.resolutions();
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        let status = response.status().as_u16();
        let tagged = response.headers().contains_key("etag");
        response.bytes().await.unwrap();
        assert_eq!(status, 200, "{path}");
        assert!(tagged, "{path} has an ETag");
        assert_eq!(app.resolutions() - before, 1, "{path} resolved the catalog more than once");
    }
    // An unknown dataset: the layer finds nothing to tag, the handler looks again to answer.
    let before = app.resolutions();
    let response = client.get(format!("{base}{v21}/datasets/nope/records")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(app.resolutions() - before, 2);
    let _ = stop.send(());
}
