//! The Explore v2.1 contract against a real server: shapes, ODSQL, limits, error bodies.

use kleber_ingest::ImportOptions;
use serde_json::{Value, json};

use crate::common::{TestServer, enc, import, real};

const PARKINGS: &str = "strasbourg_occupation-parkings-temps-reel.csv";
const V: &str = "/api/explore/v2.1";

/// The parking rows of the real file, parsed independently of Kleber.
fn parking_rows() -> Vec<csv::StringRecord> {
    let mut reader =
        csv::ReaderBuilder::new().delimiter(b';').from_path(real(PARKINGS)).expect("csv");
    reader.records().map(|r| r.expect("row")).collect()
}

async fn parkings_server() -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    import(dir.path(), &real(PARKINGS), "parkings", ImportOptions::default());
    TestServer::start(dir).await
}

#[tokio::test]
async fn catalog_lists_datasets_with_the_v2_1_dataset_object() {
    let server = parkings_server().await;
    let list = server.json(&format!("{V}/catalog/datasets"), 200).await;
    assert_eq!(list["total_count"], 1);
    let ds = &list["results"][0];
    for key in [
        "dataset_id",
        "dataset_uid",
        "has_records",
        "data_visible",
        "features",
        "fields",
        "metas",
        "attachments",
        "visibility",
    ] {
        assert!(ds.get(key).is_some(), "missing {key} in {ds}");
    }
    assert_eq!(ds["dataset_id"], "parkings");
    assert!(ds["dataset_uid"].as_str().unwrap().starts_with("da_"));
    assert_eq!(ds["has_records"], true);
    let default = &ds["metas"]["default"];
    assert_eq!(default["records_count"], parking_rows().len());
    assert!(default["modified"].as_str().unwrap().ends_with("+00:00"));
    // Without a publisher of its own, the dataset's organization publishes it (the default one).
    assert_eq!(default["publisher"], "default");
    let fields = ds["fields"].as_array().unwrap();
    let libre = fields.iter().find(|f| f["name"] == "libre").expect("libre field");
    assert_eq!(libre["type"], "int");
    assert_eq!(libre["label"], "Libre");
    assert!(libre["annotations"].is_object());

    let one = server.json(&format!("{V}/catalog/datasets/parkings"), 200).await;
    assert_eq!(&one, ds);
    let slash = server.json(&format!("{V}/catalog/datasets/parkings/"), 200).await;
    assert_eq!(slash, one);
}

#[tokio::test]
async fn unknown_dataset_returns_404_with_error_code() {
    let server = parkings_server().await;
    for path in [
        format!("{V}/catalog/datasets/nope"),
        format!("{V}/catalog/datasets/nope/records"),
        format!("{V}/catalog/datasets/nope/exports/csv"),
    ] {
        let body = server.json(&path, 404).await;
        assert_eq!(
            body,
            json!({"error_code": "DatasetNotFound", "message": "Unknown dataset: nope"})
        );
    }
    let body = server.json("/api/explore/v2.1/nowhere", 404).await;
    assert_eq!(
        body,
        json!({"error_code": "NotFound", "message": "No API endpoint at /api/explore/v2.1/nowhere."})
    );
}

#[tokio::test]
async fn other_methods_get_405_in_json() {
    let server = parkings_server().await;
    let response =
        server.client.post(format!("{}{V}/catalog/datasets", server.base)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error_code"], "MethodNotAllowed");
}

#[tokio::test]
async fn records_default_page_has_every_field_and_total_count() {
    let server = parkings_server().await;
    let v = server.json(&format!("{V}/catalog/datasets/parkings/records"), 200).await;
    let rows = parking_rows();
    assert_eq!(v["total_count"], rows.len());
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 10);
    let keys: Vec<_> = results[0].as_object().unwrap().keys().cloned().collect();
    let mut expected = vec![
        "nom_parking",
        "idsurfs",
        "ident",
        "etat",
        "etat_descriptif",
        "total",
        "libre",
        "infousager",
    ];
    expected.sort_unstable();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort_unstable();
    assert_eq!(keys_sorted, expected);
}

#[tokio::test]
async fn where_filters_like_an_independent_count() {
    let server = parkings_server().await;
    let rows = parking_rows();
    let total_of = |r: &csv::StringRecord| r[5].parse::<i64>().unwrap();
    let libre_of = |r: &csv::StringRecord| r[6].parse::<i64>().unwrap();
    let cases: Vec<(&str, usize)> = vec![
        ("total > 500", rows.iter().filter(|r| total_of(r) > 500).count()),
        (
            "total >= 460 AND libre < 200",
            rows.iter().filter(|r| total_of(r) >= 460 && libre_of(r) < 200).count(),
        ),
        (
            "total > 1000 OR libre = 0",
            rows.iter().filter(|r| total_of(r) > 1000 || libre_of(r) == 0).count(),
        ),
        ("NOT total > 500", rows.iter().filter(|r| total_of(r) <= 500).count()),
        ("total IN [100..300]", rows.iter().filter(|r| (100..=300).contains(&total_of(r))).count()),
        (
            "total IN ]100..300[",
            rows.iter().filter(|r| total_of(r) > 100 && total_of(r) < 300).count(),
        ),
        ("ident IN (1, 2, 3)", rows.iter().filter(|r| ["1", "2", "3"].contains(&&r[2])).count()),
        ("etat_descriptif = \"Ouvert\"", rows.iter().filter(|r| &r[4] == "Ouvert").count()),
        ("etat_descriptif:'Ouvert'", rows.iter().filter(|r| &r[4] == "Ouvert").count()),
        ("etat_descriptif != \"Ouvert\"", rows.iter().filter(|r| &r[4] != "Ouvert").count()),
        ("infousager IS NULL", rows.iter().filter(|r| r[7].is_empty()).count()),
        ("infousager IS NOT NULL", rows.iter().filter(|r| !r[7].is_empty()).count()),
        (
            "\"gare\"",
            rows.iter().filter(|r| r[0].to_lowercase().split(' ').any(|w| w == "gare")).count(),
        ),
        (
            "\"GARE\" AND total > 500",
            rows.iter()
                .filter(|r| {
                    r[0].to_lowercase().split(' ').any(|w| w == "gare") && total_of(r) > 500
                })
                .count(),
        ),
        ("\"hopital\"", 1),
        ("nom_parking LIKE \"sainte gare\"", 1),
        ("total * 2 > 1000", rows.iter().filter(|r| total_of(r) * 2 > 1000).count()),
        (
            "libre / total > 0.5",
            rows.iter().filter(|r| libre_of(r) as f64 / total_of(r) as f64 > 0.5).count(),
        ),
    ];
    for (clause, expected) in cases {
        let v = server
            .json(
                &format!("{V}/catalog/datasets/parkings/records?limit=0&where={}", enc(clause)),
                200,
            )
            .await;
        assert_eq!(v["total_count"], expected, "where={clause}");
    }
    let both = server
        .json(
            &format!(
                "{V}/catalog/datasets/parkings/records?limit=0&where={}&where={}",
                enc("total > 500"),
                enc("libre > 300")
            ),
            200,
        )
        .await;
    assert_eq!(
        both["total_count"],
        rows.iter().filter(|r| total_of(r) > 500 && libre_of(r) > 300).count()
    );
}

#[tokio::test]
async fn select_order_by_limit_and_offset() {
    let server = parkings_server().await;
    let mut rows = parking_rows();
    rows.sort_by_key(|r| std::cmp::Reverse(r[5].parse::<i64>().unwrap()));
    let results = server
        .records(
            "parkings",
            &format!(
                "select={}&order_by={}&limit=3&offset=1",
                enc("nom_parking AS nom, total, total - libre AS occupees"),
                enc("total DESC")
            ),
        )
        .await;
    assert_eq!(results.len(), 3);
    for (got, want) in results.iter().zip(rows.iter().skip(1)) {
        let total: i64 = want[5].parse().unwrap();
        let libre: i64 = want[6].parse().unwrap();
        assert_eq!(
            got,
            &json!({"nom": want[0].to_owned(), "total": total, "occupees": total - libre})
        );
    }
    // The key of an unaliased expression is its text; aliases sort.
    let results = server
        .records("parkings", &format!("select={}&order_by=t&limit=1", enc("total * 2, total as t")))
        .await;
    let min_total = parking_rows().iter().map(|r| r[5].parse::<i64>().unwrap()).min().unwrap();
    assert_eq!(results[0], json!({"total * 2": min_total * 2, "t": min_total}));
}

#[tokio::test]
async fn aggregates_and_group_by() {
    let server = parkings_server().await;
    let rows = parking_rows();
    let v = server
        .json(
            &format!(
                "{V}/catalog/datasets/parkings/records?select={}",
                enc("count(*) as n, sum(total) as places, max(libre)")
            ),
            200,
        )
        .await;
    let sum: i64 = rows.iter().map(|r| r[5].parse::<i64>().unwrap()).sum();
    let max: i64 = rows.iter().map(|r| r[6].parse::<i64>().unwrap()).max().unwrap();
    assert_eq!(v["results"], json!([{"n": rows.len(), "places": sum, "max(libre)": max}]));
    let groups = server
        .records(
            "parkings",
            &format!(
                "select={}&group_by=etat_descriptif&order_by={}",
                enc("etat_descriptif, count(*) as n"),
                enc("n desc")
            ),
        )
        .await;
    let ouvert = rows.iter().filter(|r| &r[4] == "Ouvert").count();
    assert_eq!(groups[0], json!({"etat_descriptif": "Ouvert", "n": ouvert}));
    assert_eq!(groups.len(), 2);
    let bad = server
        .json(
            &format!(
                "{V}/catalog/datasets/parkings/records?select=nom_parking,count(*)&group_by=etat"
            ),
            400,
        )
        .await;
    assert_eq!(bad["error_code"], "ODSQLError");
    assert!(bad["message"].as_str().unwrap().contains("nom_parking"), "{bad}");
}

#[tokio::test]
async fn odsql_errors_name_the_clause_and_the_problem() {
    let server = parkings_server().await;
    let cases = [
        (
            "where=categorie%3D1",
            "ODSQL query is malformed: Unknown field: categorie. Clause(s) containing the error(s): where.",
        ),
        ("select=invalid_function()", "Clause(s) containing the error(s): select."),
        ("where=total%20%3E", "Clause(s) containing the error(s): where."),
        ("order_by=nope", "Unknown field: nope."),
        ("where=count(*)%20%3E%201", "aggregate function count() is not allowed in where"),
        ("where=Libre%20%3E%201", "Did you mean `libre`?"),
    ];
    for (query, expected) in cases {
        let body =
            server.json(&format!("{V}/catalog/datasets/parkings/records?{query}"), 400).await;
        assert_eq!(body["error_code"], "ODSQLError", "{query}");
        assert!(body["message"].as_str().unwrap().contains(expected), "{query}: {body}");
        assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    }
}

#[tokio::test]
async fn limits_follow_the_spec_with_exact_messages() {
    let server = parkings_server().await;
    let body = server.json(&format!("{V}/catalog/datasets/parkings/records?limit=1473"), 400).await;
    assert_eq!(
        body,
        json!({"error_code": "InvalidRESTParameterError", "message": "Invalid value for limit API parameter: 1473 was found but -1 <= limit <= 100 is expected."})
    );
    server.json(&format!("{V}/catalog/datasets/parkings/records?offset=9900&limit=100"), 200).await;
    let body =
        server.json(&format!("{V}/catalog/datasets/parkings/records?offset=10000"), 400).await;
    assert_eq!(body["error_code"], "InvalidRESTParameterError");
    let body = server
        .json(&format!("{V}/catalog/datasets/parkings/records?limit=20000&group_by=etat"), 200)
        .await;
    assert_eq!(body["total_count"], 2);
    let body = server
        .json(&format!("{V}/catalog/datasets/parkings/records?limit=20001&group_by=etat"), 400)
        .await;
    assert!(body["message"].as_str().unwrap().contains("-1 <= limit <= 20000"));
    let v = server.json(&format!("{V}/catalog/datasets/parkings/records?limit=0"), 200).await;
    assert_eq!(v["results"], json!([]));
    assert_eq!(v["total_count"], parking_rows().len());
    let v = server.json(&format!("{V}/catalog/datasets/parkings/records?limit=-1"), 200).await;
    assert_eq!(v["results"].as_array().unwrap().len(), parking_rows().len());
}

#[tokio::test]
async fn exports_stream_csv_and_json_with_headers() {
    let server = parkings_server().await;
    let response = server
        .client
        .get(format!("{}{V}/catalog/datasets/parkings/exports/csv/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(response.headers()["content-disposition"], "attachment; filename=\"parkings.csv\"");
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBFnom_parking;"), "BOM and header");
    let v = server
        .json(
            &format!(
                "{V}/catalog/datasets/parkings/exports/json?where={}&select=nom_parking",
                enc("total > 1000")
            ),
            200,
        )
        .await;
    let rows = parking_rows();
    let expected: Vec<Value> = rows
        .iter()
        .filter(|r| r[5].parse::<i64>().unwrap() > 1000)
        .map(|r| json!({"nom_parking": r[0].to_owned()}))
        .collect();
    let mut got = v.as_array().unwrap().clone();
    got.sort_by_key(|x| x["nom_parking"].as_str().unwrap().to_owned());
    let mut expected = expected;
    expected.sort_by_key(|x| x["nom_parking"].as_str().unwrap().to_owned());
    assert_eq!(got, expected);
    let (status, _, body) = server.get(&format!("{V}/catalog/datasets/parkings/exports/csv?delimiter=,&with_bom=false&use_labels=true&select=nom_parking,total&limit=2&order_by=total")).await;
    assert_eq!(status, 200);
    let lines: Vec<_> = body.lines().collect();
    assert_eq!(lines[0], "nom_parking,Total");
    assert_eq!(lines.len(), 3);
    let body = server.json(&format!("{V}/catalog/datasets/parkings/exports/xls"), 404).await;
    assert!(body["message"].as_str().unwrap().contains("Unknown export format: xls"));
    let links = server.json(&format!("{V}/catalog/datasets/parkings/exports"), 200).await;
    assert!(links["links"].as_array().unwrap().iter().any(|l| l["rel"] == "csv"));
}

#[tokio::test]
async fn records_have_stable_ids_and_can_be_fetched_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &real(PARKINGS), "parkings", ImportOptions::default());
    let server = TestServer::start(dir).await;
    let rows = server.records("parkings", "select=_id,nom_parking,total&limit=100").await;
    assert_eq!(rows.len(), parking_rows().len());
    let mut ids: Vec<&str> = rows.iter().map(|r| r["_id"].as_str().unwrap()).collect();
    assert!(ids.iter().all(|id| kleber_query::is_record_id(id)), "{ids:?}");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), rows.len(), "ids are distinct");

    let first = &rows[3];
    let id = first["_id"].as_str().unwrap();
    let one = server.json(&format!("{V}/catalog/datasets/parkings/records/{id}/"), 200).await;
    assert_eq!(one["nom_parking"], first["nom_parking"]);
    assert_eq!(one.as_object().unwrap().len(), 8, "a bare record with every field: {one}");
    let v = server
        .json(
            &format!(
                "{V}/catalog/datasets/parkings/records?where={}&select=nom_parking",
                enc(&format!("_id = \"{id}\""))
            ),
            200,
        )
        .await;
    assert_eq!(v["results"][0]["nom_parking"], first["nom_parking"]);

    let missing = server
        .json(&format!("{V}/catalog/datasets/parkings/records/{}", "0".repeat(40)), 404)
        .await;
    assert_eq!(missing["error_code"], "RecordNotFound");
    let bad = server.json(&format!("{V}/catalog/datasets/parkings/records/not-an-id"), 404).await;
    assert_eq!(bad["error_code"], "RecordNotFound");

    // A new version with the same records keeps the same ids.
    let dir = server.stop();
    import(dir.path(), &real(PARKINGS), "parkings", ImportOptions::default());
    let server = TestServer::start(dir).await;
    let again = server.records("parkings", "select=_id&limit=100").await;
    assert_eq!(
        again.iter().map(|r| r["_id"].clone()).collect::<Vec<_>>(),
        rows.iter().map(|r| r["_id"].clone()).collect::<Vec<_>>()
    );
    assert_eq!(
        server.json(&format!("{V}/catalog/datasets/parkings/records/{id}"), 200).await["nom_parking"],
        first["nom_parking"]
    );
}

#[tokio::test]
async fn a_unique_id_field_keeps_ids_when_values_change() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = dir.path().join("v1.csv");
    std::fs::write(&v1, "station;libre\nA;10\nB;20\n").unwrap();
    let store = kleber_store::Store::open(dir.path()).unwrap();
    let request = |path: &std::path::Path| kleber_server::import::ImportRequest {
        path: path.to_path_buf(),
        dataset: "places".into(),
        title: None,
        options: ImportOptions::default(),
        unique_id: Some("station".into()),
        crash: None,
    };
    kleber_server::import::import_file(&store, &request(&v1), &mut |_| {}).unwrap();
    let v2 = dir.path().join("v2.csv");
    std::fs::write(&v2, "station;libre\nA;11\nB;19\n").unwrap();
    drop(store);
    let server = TestServer::start(dir).await;
    let before = server.records("places", "select=_id,station&order_by=station").await;
    let dir = server.stop();
    let store = kleber_store::Store::open(dir.path()).unwrap();
    kleber_server::import::import_file(&store, &request(&v2), &mut |_| {}).unwrap();
    let mut wrong = request(&v2);
    wrong.unique_id = Some("nope".into());
    let err = kleber_server::import::import_file(&store, &wrong, &mut |_| {}).unwrap_err();
    assert!(format!("{err:#}").contains("no such field"), "{err:#}");
    drop(store);
    let server = TestServer::start(dir).await;
    let after = server.records("places", "select=_id,station,libre&order_by=station").await;
    assert_eq!(after[0]["libre"], 11);
    assert_eq!(after[0]["_id"], before[0]["_id"]);
    assert_eq!(after[1]["_id"], before[1]["_id"]);
    assert_ne!(after[0]["_id"], after[1]["_id"]);
}

#[tokio::test]
async fn datetimes_are_rendered_in_the_requested_timezone() {
    let dir = tempfile::tempdir().unwrap();
    import(
        dir.path(),
        &real("paris_velib-disponibilite-en-temps-reel_utf8-bom.csv"),
        "velib",
        ImportOptions::default(),
    );
    let server = TestServer::start(dir).await;
    let q = "select=actualisation_de_la_donnee&where=identifiant_station%3D16107";
    let utc = server.records("velib", q).await;
    assert_eq!(utc[0]["actualisation_de_la_donnee"], "2023-09-29T07:08:09+00:00");
    let paris = server.records("velib", &format!("{q}&timezone=Europe/Paris")).await;
    assert_eq!(paris[0]["actualisation_de_la_donnee"], "2023-09-29T09:08:09+02:00");
    let bad = server
        .json(&format!("{V}/catalog/datasets/velib/records?timezone=Mars/Olympus"), 400)
        .await;
    assert_eq!(bad["error_code"], "InvalidRESTParameterError");
    assert!(bad["message"].as_str().unwrap().contains("timezone"), "{bad}");
}

#[tokio::test]
async fn include_links_adds_paging_and_record_links() {
    let server = parkings_server().await;
    let v = server.json(&format!("{V}/catalog/datasets/parkings/records?include_links=true&limit=10&offset=10&select=nom_parking"), 200).await;
    let rels: Vec<_> = v["_links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(rels, ["self", "first", "last", "next"]);
    let last = v["_links"][2]["href"].as_str().unwrap();
    assert!(last.contains("offset=20"), "{last}");
    let first_record = &v["results"][0];
    assert_eq!(first_record.as_object().unwrap().len(), 2, "{first_record}");
    let self_href = first_record["_links"][0]["href"].as_str().unwrap();
    // Hrefs are absolute URLs on the request's base (docs/configuration.md, --public-url).
    let self_path = self_href.strip_prefix(&server.base).unwrap_or_else(|| panic!("{self_href}"));
    let one = server.json(self_path, 200).await;
    assert_eq!(one["nom_parking"], first_record["nom_parking"]);
    let v = server
        .json(
            &format!("{V}/catalog/datasets/parkings/records?include_links=true&limit=10&offset=20"),
            200,
        )
        .await;
    assert_eq!(v["_links"].as_array().unwrap().len(), 3, "no next on the last page");
    let plain = server.json(&format!("{V}/catalog/datasets/parkings/records?limit=1"), 200).await;
    assert!(plain.get("_links").is_none());
}
