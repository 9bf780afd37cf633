//! ODSQL written by the server (`kleber_odsql::write`): values holding quotes and backslashes
//! reach the filters intact, record ids come from `RecordsQuery::record_id_column`, and
//! volatility is decided from the parsed clauses.

use kleber_ingest::ImportOptions;

use crate::common::{TestServer, enc, import};

/// Names that a hand-written quoting would break: a quote and a backslash, a quoted value,
/// and a plain one. Read back from the server's own records, not assumed.
const CSV: &str = "nom;n\n\"A\"\"B\\C\";1\n\"\"\"quoted\"\"\";2\nplain;3\n";

async fn server() -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("noms.csv");
    std::fs::write(&file, CSV).expect("write csv");
    import(dir.path(), &file, "noms", ImportOptions::default());
    TestServer::start(dir).await
}

#[tokio::test]
async fn v1_refine_and_exact_keep_quotes_and_backslashes() {
    let server = server().await;
    for value in [r#"A"B\C"#, r#""quoted""#, "plain"] {
        for query in [
            format!("refine.nom={}", enc(value)),
            format!("q={}", enc(&format!("#exact(nom, {})", kleber_odsql::write::string(value)))),
        ] {
            let v =
                server.json(&format!("/api/records/1.0/search/?dataset=noms&{query}"), 200).await;
            assert_eq!(v["nhits"], 1, "{query}: {v}");
            assert_eq!(v["records"][0]["fields"]["nom"], value, "{query}: {v}");
            // The record id comes through record_id_column: 40 hexadecimal digits.
            let id = v["records"][0]["recordid"].as_str().expect("recordid");
            assert!(kleber_query::is_record_id(id), "{id}");
        }
        let v = server
            .json(&format!("/api/records/1.0/search/?dataset=noms&exclude.nom={}", enc(value)), 200)
            .await;
        assert_eq!(v["nhits"], 2, "exclude {value}: {v}");
    }
}

#[tokio::test]
async fn record_links_and_lookups_use_the_typed_record_id() {
    let server = server().await;
    let v = server.json("/api/v2/catalog/datasets/noms/records?select=nom&where=n%3D1", 200).await;
    let record = &v["records"][0]["record"];
    let id = record["id"].as_str().expect("v2.0 record id");
    assert!(kleber_query::is_record_id(id), "{v}");
    assert_eq!(record["fields"], serde_json::json!({"nom": "A\"B\\C"}), "{v}");
    // The same id finds the same record through every lookup.
    let one =
        server.json(&format!("/api/explore/v2.1/catalog/datasets/noms/records/{id}"), 200).await;
    assert_eq!(one["nom"], "A\"B\\C");
    let v1 =
        server.json(&format!("/api/records/1.0/search/?dataset=noms&q=recordid:{id}"), 200).await;
    assert_eq!(v1["nhits"], 1, "{v1}");
    // A query that aggregates has no record id, and no error.
    let grouped = server
        .json("/api/explore/v2.1/catalog/datasets/noms/records?select=count(*)%20as%20c", 200)
        .await;
    assert_eq!(grouped["results"], serde_json::json!([{"c": 3}]));
}

#[tokio::test]
async fn volatility_is_read_from_the_clauses_not_the_text() {
    let server = server().await;
    let get = |query: &str| {
        let url = format!("{}/api/explore/v2.1/catalog/datasets/noms/records?{query}", server.base);
        let client = server.client.clone();
        async move {
            let response = client.get(url).send().await.expect("request");
            assert_eq!(response.status(), 200);
            let headers = response.headers().clone();
            (headers.get("etag").is_some(), headers.get("cache-control").cloned())
        }
    };
    // Calls: no tag, no-cache.
    for query in ["order_by=random(1)", "where=n%20%3C%20year(now())"] {
        let (tagged, cache) = get(query).await;
        assert!(!tagged, "{query}");
        assert_eq!(cache.as_ref().and_then(|v| v.to_str().ok()), Some("no-cache"), "{query}");
    }
    // The same words inside a string or as a name are not calls: tagged like any query.
    for query in [
        format!("where={}", enc("nom = \"now()\" OR nom = \"random(1)\"")),
        format!("select={}", enc("nom AS `now`")),
    ] {
        let (tagged, cache) = get(&query).await;
        assert!(tagged, "{query}");
        assert_ne!(cache.as_ref().and_then(|v| v.to_str().ok()), Some("no-cache"), "{query}");
    }
}

#[tokio::test]
async fn portal_refinements_keep_quotes_and_backslashes() {
    let server = server().await;
    // The total the page states: <p id="result-count" role="status">N record(s)</p>.
    let count = |body: &str| -> Option<u32> {
        let at = body.find("id=\"result-count\"")?;
        let text = &body[at..];
        let text = &text[text.find('>')? + 1..];
        text.split_whitespace().next()?.parse().ok()
    };
    let (status, _, all) = server.get("/explore/dataset/noms/table/?lang=en").await;
    assert_eq!(status, 200);
    assert_eq!(count(&all), Some(3), "unfiltered page");
    for value in [r#"A"B\C"#, r#""quoted""#, "plain"] {
        let path = format!("/explore/dataset/noms/table/?lang=en&refine.nom={}", enc(value));
        let (status, _, body) = server.get(&path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(count(&body), Some(1), "{path}");
    }
}
