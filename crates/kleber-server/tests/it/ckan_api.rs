//! CKAN's Action API (issue 16 item 3) against a real server over the demo datasets: every
//! action on both mounts, its answers compared with the Explore API's for the same data,
//! CKAN's error shapes, the caller's visibility (a restricted dataset), and the real ckanapi
//! client (`tests/clients/ckan_client.py`) calling every action.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use kleber_app::accounts::{Accounts, operator};
use kleber_store::{NewOrganization, OrgKind, Role, Scope, Store, Visibility};
use serde_json::{Value, json};

use crate::common::{TestServer, enc, load_demo};

/// The restricted dataset of the fixture (organization `ville`).
const RESTRICTED: &str = "agenda-culturel";
/// The dataset whose records the datastore tests read (60 toilets, 40 in Strasbourg).
const TOILETS: &str = "toilettes-publiques";

/// A demo portal with two organizations, `agenda-culturel` restricted to `ville`'s members;
/// returns the server and the key of a member of `ville` (read scope).
async fn fixture() -> (TestServer, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ids = load_demo(dir.path()).await;
    assert!(ids.len() >= 5, "{ids:?}");
    let accounts = Accounts::new(Arc::new(Store::open(dir.path()).expect("store")));
    let op = operator();
    for (id, name) in [("ems", "Eurométropole de Strasbourg"), ("ville", "Ville de Strasbourg")] {
        let org = NewOrganization {
            id,
            name,
            kind: OrgKind::Metropolis,
            description: Some("Une organisation de test."),
            website: None,
            logo: None,
        };
        accounts.create_org(&op, &org).expect("org");
    }
    for id in &ids {
        let org =
            if ["toilettes-publiques", "agenda-culturel"].contains(id) { "ville" } else { "ems" };
        accounts.set_dataset_org(&op, id, org).expect("dataset org");
    }
    accounts.set_visibility(&op, RESTRICTED, Visibility::Restricted).expect("restricted");
    accounts.create_user(&op, "membre@ville.example", None, false, None).expect("user");
    accounts.set_member(&op, "ville", "membre@ville.example", Role::Viewer).expect("member");
    let key = accounts
        .create_key(&op, "membre@ville.example", "ckan", &[Scope::Read], None)
        .expect("key")
        .key;
    drop(accounts);
    (TestServer::start(dir).await, key)
}

/// How a call carries its key.
#[derive(Clone, Copy)]
enum Key<'a> {
    None,
    /// CKAN's `Authorization: <key>`.
    Bare(&'a str),
    /// `X-CKAN-API-Key: <key>`.
    Ckan(&'a str),
}

/// GET `action` with `query` under `mount`, returning the status and body.
async fn get(
    server: &TestServer,
    mount: &str,
    action: &str,
    query: &str,
    key: Key<'_>,
) -> (u16, Value) {
    let url = format!("{}{mount}/{action}?{query}", server.base);
    let mut request = server.client.get(&url);
    request = match key {
        Key::None => request,
        Key::Bare(k) => request.header("authorization", k),
        Key::Ckan(k) => request.header("x-ckan-api-key", k),
    };
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {text}"));
    (status, body)
}

/// The `result` of a successful GET, checking CKAN's envelope.
async fn result(server: &TestServer, action: &str, query: &str) -> Value {
    let (status, body) = get(server, "/api/3/action", action, query, Key::None).await;
    assert_eq!(status, 200, "{action}?{query}: {body}");
    assert_eq!(body["success"], true, "{body}");
    let help = body["help"].as_str().expect("help");
    assert_eq!(help, format!("{}/api/3/action/help_show?name={action}", server.base));
    body["result"].clone()
}

/// The `error` of a failed GET, checking the status and CKAN's envelope.
async fn error(server: &TestServer, action: &str, query: &str, status: u16) -> Value {
    let (got, body) = get(server, "/api/3/action", action, query, Key::None).await;
    assert_eq!(got, status, "{action}?{query}: {body}");
    assert_eq!(body["success"], false, "{body}");
    assert!(
        body["help"].as_str().is_some_and(|h| h.ends_with(&format!("help_show?name={action}")))
    );
    body["error"].clone()
}

fn names(results: &Value) -> Vec<String> {
    results
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["name"].as_str().expect("name").to_owned())
        .collect()
}

/// The identifiers of Explore's `/catalog/datasets` answer to `query`, in order.
async fn explore_ids(server: &TestServer, query: &str) -> Vec<String> {
    let v =
        server.json(&format!("/api/explore/v2.1/catalog/datasets?limit=100&{query}"), 200).await;
    v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|d| d["dataset_id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn catalog_actions_agree_with_the_explore_api() {
    let (server, _) = fixture().await;
    let status = result(&server, "status_show", "").await;
    assert_eq!(status["ckan_version"], "2.10.0");
    assert_eq!(status["site_url"], server.base);

    // package_list: the public datasets, by name, as Explore lists them to anonymous callers.
    let mut public = explore_ids(&server, "").await;
    public.sort();
    assert!(!public.contains(&RESTRICTED.to_owned()) && public.len() >= 4, "{public:?}");
    let list = result(&server, "package_list", "").await;
    assert_eq!(list, json!(public));
    assert_eq!(result(&server, "package_list", "limit=2&offset=1").await, json!(public[1..3]));

    // package_show: each package from its Explore dataset object.
    for id in &public {
        let explore = server.json(&format!("/api/explore/v2.1/catalog/datasets/{id}"), 200).await;
        let metas = &explore["metas"]["default"];
        let package = result(&server, "package_show", &format!("id={id}")).await;
        assert_eq!(package["name"], json!(id));
        assert_eq!(package["id"], explore["dataset_uid"]);
        assert_eq!(package["title"], metas["title"]);
        assert_eq!(package["notes"], metas["description"]);
        assert_eq!(package["private"], false);
        assert_eq!(package["state"], "active");
        let tags: Vec<&Value> =
            package["tags"].as_array().unwrap().iter().map(|t| &t["name"]).collect();
        // A dataset without keywords (null) has no tags.
        let keywords: Vec<&Value> = metas["keyword"].as_array().into_iter().flatten().collect();
        assert_eq!(tags, keywords, "{id}");
        let groups: Vec<&Value> =
            package["groups"].as_array().unwrap().iter().map(|g| &g["title"]).collect();
        let themes: Vec<&Value> = metas["theme"].as_array().into_iter().flatten().collect();
        assert_eq!(groups, themes, "{id}");
        let org = if *id == TOILETS { "ville" } else { "ems" };
        assert_eq!(
            (&package["owner_org"], &package["organization"]["name"]),
            (&json!(org), &json!(org))
        );
        assert_eq!(package["license_title"], metas["license"]);
        let expected_license = if metas["license"] == "ODbL" { "odc-odbl" } else { "lov2" };
        assert_eq!(package["license_id"], expected_license);
        assert_eq!(package["isopen"], true);
        // By uid too.
        let by_uid = result(
            &server,
            "package_show",
            &format!("id={}", explore["dataset_uid"].as_str().unwrap()),
        )
        .await;
        assert_eq!(by_uid, package);

        // Resources: Explore's export formats (geographic ones only with a geometry).
        let exports =
            server.json(&format!("/api/explore/v2.1/catalog/datasets/{id}/exports"), 200).await;
        let geo = explore["features"].as_array().unwrap().contains(&json!("geo"));
        let resources = package["resources"].as_array().unwrap();
        assert_eq!(package["num_resources"], resources.len());
        let expected: Vec<String> = exports["links"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| {
                geo || !["geojson", "shp", "kml", "gpx", "fgb"]
                    .contains(&l["rel"].as_str().unwrap())
            })
            .map(|l| l["href"].as_str().unwrap().to_owned())
            .collect();
        let urls: Vec<String> =
            resources.iter().map(|r| r["url"].as_str().unwrap().to_owned()).collect();
        assert_eq!(urls, expected, "{id}");
        let csv = resources.iter().find(|r| r["format"] == "CSV").expect("a CSV resource");
        assert_eq!(csv["datastore_active"], true);
        assert_eq!(csv["id"], format!("{id}.csv"));
        assert_eq!(csv["mimetype"], "text/csv");
        assert!(resources.iter().filter(|r| r["datastore_active"] == true).count() == 1);
        let shown = result(&server, "resource_show", &format!("id={id}.csv")).await;
        assert_eq!(&shown, csv);
        let (status, _, body) =
            server.get(csv["url"].as_str().unwrap().trim_start_matches(&server.base)).await;
        assert_eq!(status, 200);
        let records = explore["metas"]["default"]["records_count"].as_u64().unwrap();
        assert!(body.lines().count() as u64 > records, "{id}: the CSV resource holds every record");
    }

    // Organizations: every one, with its public datasets counted.
    // The store's default organization is there too, with no dataset.
    assert_eq!(result(&server, "organization_list", "").await, json!(["default", "ems", "ville"]));
    let orgs =
        result(&server, "organization_list", "all_fields=true&sort=package_count%20desc").await;
    let count = |org: &str| {
        public.iter().filter(|id| (if **id == TOILETS { "ville" } else { "ems" }) == org).count()
    };
    assert_eq!(orgs[0]["name"], "ems");
    assert_eq!(orgs[0]["package_count"], count("ems"));
    assert_eq!(orgs[1]["package_count"], count("ville"));
    assert_eq!(orgs[1]["title"], "Ville de Strasbourg");
    assert_eq!((&orgs[2]["name"], &orgs[2]["package_count"]), (&json!("default"), &json!(0)));
    let ville = result(&server, "organization_show", "id=ville&include_datasets=true").await;
    assert_eq!(ville["package_count"], 1, "anonymous callers do not count the restricted one");
    assert_eq!(names(&ville["packages"]), [TOILETS]);
    let e = error(&server, "organization_show", "id=nulle-part", 404).await;
    assert_eq!(e["__type"], "Not Found Error");

    // Groups and tags: the themes and keywords of the public datasets, as Explore facets them.
    let facets =
        server.json("/api/explore/v2.1/catalog/facets?facet=theme&facet=keyword", 200).await;
    let facet = |name: &str| -> Vec<(String, u64)> {
        let group =
            facets["facets"].as_array().unwrap().iter().find(|f| f["name"] == name).unwrap();
        group["facets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["name"].as_str().unwrap().to_owned(), v["count"].as_u64().unwrap()))
            .collect()
    };
    let groups = result(&server, "group_list", "all_fields=true").await;
    let mut got: Vec<(String, u64)> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["title"].as_str().unwrap().to_owned(), g["package_count"].as_u64().unwrap()))
        .collect();
    let mut themes = facet("theme");
    got.sort();
    themes.sort();
    assert_eq!(got, themes);
    let tags = result(&server, "tag_list", "").await;
    let mut keywords: Vec<String> = facet("keyword").into_iter().map(|(k, _)| k).collect();
    keywords.sort();
    assert_eq!(tags, json!(keywords));
    assert_eq!(result(&server, "tag_list", "query=PARK").await, json!(["parking"]));
}

#[tokio::test]
async fn package_search_pages_filters_sorts_and_facets_like_the_catalog() {
    let (server, _) = fixture().await;
    // Full text: the same datasets, in the same order, as Explore's catalog search.
    for q in ["parking", "vélo", "strasbourg"] {
        let expected = explore_ids(&server, &format!("where={}", enc(&format!("\"{q}\"")))).await;
        assert!(!expected.is_empty(), "{q}");
        let found = result(&server, "package_search", &format!("q={}&rows=100", enc(q))).await;
        assert_eq!(names(&found["results"]), expected, "{q}");
        assert_eq!(found["count"], expected.len());
    }
    // Paging through everything with rows=2, by name.
    let mut all = explore_ids(&server, "").await;
    all.sort();
    let mut paged = Vec::new();
    let mut start = 0;
    loop {
        let page =
            result(&server, "package_search", &format!("rows=2&start={start}&sort=name%20asc"))
                .await;
        assert_eq!(page["count"], all.len());
        let got = names(&page["results"]);
        if got.is_empty() {
            break;
        }
        assert!(got.len() <= 2);
        paged.extend(got);
        start += 2;
    }
    assert_eq!(paged, all);
    let desc = result(&server, "package_search", "rows=100&sort=name%20desc").await;
    assert_eq!(names(&desc["results"]), all.iter().rev().cloned().collect::<Vec<_>>());
    // Field queries, in q or fq, against Explore's refinements.
    let mobility = explore_ids(&server, &format!("refine={}", enc("theme:Mobilité"))).await;
    let found =
        result(&server, "package_search", "fq=groups:mobilite&rows=100&sort=name%20asc").await;
    let mut expected = mobility.clone();
    expected.sort();
    assert_eq!(names(&found["results"]), expected);
    let found =
        result(&server, "package_search", &format!("q={}&rows=100", enc("tags:vélo"))).await;
    assert_eq!(names(&found["results"]), ["comptages-velos"]);
    let found = result(&server, "package_search", "fq=-organization:ems&rows=100").await;
    assert_eq!(names(&found["results"]), [TOILETS]);
    let found = result(
        &server,
        "package_search",
        &format!("fq={}&rows=100", enc("res_format:GeoJSON organization:ems")),
    )
    .await;
    for package in found["results"].as_array().unwrap() {
        assert!(package["resources"].as_array().unwrap().iter().any(|r| r["format"] == "GeoJSON"));
    }
    // Facets: Explore's catalog facets (public datasets only, for anonymous callers).
    let facets = result(
        &server,
        "package_search",
        &format!("rows=0&facet.field={}", enc(r#"["organization","groups","tags"]"#)),
    )
    .await;
    assert_eq!(facets["results"], json!([]));
    let explore = server.json("/api/explore/v2.1/catalog/facets?facet=organization", 200).await;
    let orgs = &explore["facets"][0]["facets"];
    for value in orgs.as_array().unwrap() {
        let name = value["name"].as_str().unwrap();
        assert_eq!(facets["facets"]["organization"][name], value["count"], "{name}");
    }
    let items = facets["search_facets"]["organization"]["items"].as_array().unwrap();
    assert_eq!(items.len(), orgs.as_array().unwrap().len());
    assert!(items.iter().any(|i| i["display_name"] == "Eurométropole de Strasbourg"));
    assert_eq!(facets["facets"]["groups"]["mobilite"], mobility.len());
    // Errors: CKAN's Search Query Error, and a Validation Error for a bad number.
    for query in
        ["q=a%20OR%20b", "fq=nosuchfield:x", "sort=views%20desc", "facet.field=%5B%22nosuch%22%5D"]
    {
        let e = error(&server, "package_search", query, 400).await;
        assert_eq!(e["__type"], "Search Query Error", "{query}");
    }
    let e = error(&server, "package_search", "rows=5000", 409).await;
    assert_eq!(e["__type"], "Validation Error");
    assert!(e["rows"][0].as_str().unwrap().contains("1000"), "{e}");
}

/// Explore's records of the toilets for `query` (`results`, `total_count`).
async fn explore_records(server: &TestServer, query: &str) -> (Vec<Value>, u64) {
    let v = server
        .json(&format!("/api/explore/v2.1/catalog/datasets/{TOILETS}/records?{query}"), 200)
        .await;
    (v["results"].as_array().unwrap().clone(), v["total_count"].as_u64().unwrap())
}

/// `records` without `_id`.
fn without_id(records: &Value) -> Vec<Value> {
    records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut r = r.clone();
            let id = r.as_object_mut().unwrap().remove("_id");
            assert!(id.is_some_and(|id| id.as_str().is_some_and(|s| s.len() == 40)), "{r}");
            r
        })
        .collect()
}

#[tokio::test]
async fn datastore_search_reads_the_records_the_explore_api_reads() {
    let (server, _) = fixture().await;
    let rid = format!("{TOILETS}.csv");
    let search = |query: String| {
        let server = &server;
        async move {
            result(
                server,
                "datastore_search",
                &format!("resource_id={rid}&{query}", rid = enc(&format!("{TOILETS}.csv"))),
            )
            .await
        }
    };
    // Every record, sorted: the same values as Explore's.
    let got = search("sort=nom%20asc&limit=100".to_owned()).await;
    let (expected, total) = explore_records(&server, "order_by=nom%20asc&limit=100").await;
    assert_eq!(total, 60);
    assert_eq!(got["total"], 60);
    assert_eq!(without_id(&got["records"]), expected);
    assert_eq!(got["resource_id"], rid);
    let fields: Vec<&str> =
        got["fields"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(fields[0], "_id");
    let types: Vec<(&str, &str)> = got["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap(), f["type"].as_str().unwrap()))
        .collect();
    assert!(
        types.contains(&("acces_pmr", "bool")) && types.contains(&("nom", "text")),
        "{types:?}"
    );
    // Paging: limit and offset, and the next link.
    let page = search("sort=nom%20desc&limit=7&offset=14".to_owned()).await;
    let (expected, _) = explore_records(&server, "order_by=nom%20desc&limit=7&offset=14").await;
    assert_eq!(without_id(&page["records"]), expected);
    let next = page["_links"]["next"].as_str().unwrap();
    assert!(
        next.starts_with("/api/3/action/datastore_search?") && next.contains("offset=21"),
        "{next}"
    );
    let (status, _, body) = server.get(next).await;
    assert_eq!(status, 200);
    let following: Value = serde_json::from_str(&body).unwrap();
    let (expected, _) = explore_records(&server, "order_by=nom%20desc&limit=7&offset=21").await;
    assert_eq!(without_id(&following["result"]["records"]), expected);
    // filters, q, fields.
    let filters = enc(r#"{"commune": "Strasbourg", "acces_pmr": true}"#);
    let got = search(format!("filters={filters}&limit=100&sort=nom")).await;
    let (expected, total) = explore_records(
        &server,
        &format!(
            "where={}&order_by=nom&limit=100",
            enc("commune = \"Strasbourg\" and acces_pmr = true")
        ),
    )
    .await;
    assert_eq!(got["total"], total);
    assert!(total > 0 && total < 40, "{total}");
    assert_eq!(without_id(&got["records"]), expected);
    let got = search(format!(
        "filters={}&limit=0",
        enc(r#"{"commune": ["Strasbourg", "Schiltigheim"]}"#)
    ))
    .await;
    let (_, total) = explore_records(
        &server,
        &format!("where={}&limit=0", enc("commune in (\"Strasbourg\", \"Schiltigheim\")")),
    )
    .await;
    assert_eq!(got["total"], total);
    let got = search("q=Kl%C3%A9ber&limit=100&sort=nom".to_owned()).await;
    let (expected, total) =
        explore_records(&server, "where=%22Kl%C3%A9ber%22&limit=100&order_by=nom").await;
    assert!(total > 0);
    assert_eq!((without_id(&got["records"]), got["total"].as_u64().unwrap()), (expected, total));
    let got = search(format!("q={}&limit=0", enc(r#"{"adresse": "Kléber"}"#))).await;
    let (_, total) =
        explore_records(&server, &format!("where={}&limit=0", enc("search(adresse, \"Kléber\")")))
            .await;
    assert!(total > 0);
    assert_eq!(got["total"], total);
    let got = search("fields=commune,nom&sort=nom&limit=3&records_format=lists".to_owned()).await;
    let (expected, _) = explore_records(&server, "select=commune,nom&order_by=nom&limit=3").await;
    let lists: Vec<Value> = expected.iter().map(|r| json!([r["commune"], r["nom"]])).collect();
    assert_eq!(got["records"], json!(lists));
    let got = search("fields=commune,nom&sort=nom&limit=3&records_format=csv".to_owned()).await;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(got["records"].as_str().unwrap().as_bytes());
    let rows: Vec<Vec<String>> =
        reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    let expected_rows: Vec<Vec<String>> = expected
        .iter()
        .map(|r| {
            vec![r["commune"].as_str().unwrap().to_owned(), r["nom"].as_str().unwrap().to_owned()]
        })
        .collect();
    assert_eq!(rows, expected_rows);
    let got = search("fields=nom&limit=3&records_format=tsv&include_total=false".to_owned()).await;
    assert_eq!(got["records"].as_str().unwrap().lines().count(), 3);
    assert!(got.get("total").is_none(), "{got}");

    // POST with a JSON body answers as the GET.
    let body = json!({"resource_id": rid, "filters": {"commune": "Strasbourg"}, "limit": 5, "sort": "nom asc"});
    for mount in ["/api/3/action", "/api/action"] {
        let response = server
            .client
            .post(format!("{}{mount}/datastore_search", server.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let posted: Value = response.json().await.unwrap();
        let (expected, total) = explore_records(
            &server,
            &format!("where={}&order_by=nom&limit=5", enc("commune = \"Strasbourg\"")),
        )
        .await;
        assert_eq!(posted["result"]["total"], total);
        assert_eq!(without_id(&posted["result"]["records"]), expected);
    }

    // Errors, in CKAN's shape, changing nothing.
    let e = error(
        &server,
        "datastore_search",
        &format!("resource_id={rid}&filters={}", enc(r#"{"nosuch": 1}"#)),
        409,
    )
    .await;
    assert_eq!(
        e,
        json!({"__type": "Validation Error", "filters": ["field \"nosuch\" not in resource"]})
    );
    let e =
        error(&server, "datastore_search", &format!("resource_id={rid}&sort=nosuch"), 409).await;
    assert_eq!(e["sort"][0], "field \"nosuch\" not in resource");
    let e =
        error(&server, "datastore_search", &format!("resource_id={rid}&fields=nom,nosuch"), 409)
            .await;
    assert_eq!(e["fields"][0], "field \"nosuch\" not in resource");
    let e = error(
        &server,
        "datastore_search",
        &format!("resource_id={rid}&filters={}", enc(r#"{"acces_pmr": "perhaps"}"#)),
        409,
    )
    .await;
    assert!(e["filters"][0].as_str().unwrap().contains("acces_pmr"), "{e}");
    let e =
        error(&server, "datastore_search", &format!("resource_id={rid}&limit=32001"), 409).await;
    assert!(e["limit"][0].as_str().unwrap().contains("32000"), "{e}");
    let e =
        error(&server, "datastore_search", &format!("resource_id={rid}&records_format=xml"), 409)
            .await;
    assert!(e["records_format"][0].as_str().is_some(), "{e}");
    let e = error(&server, "datastore_search", "", 409).await;
    assert_eq!(e, json!({"__type": "Validation Error", "resource_id": ["Missing value"]}));
    let restricted_csv = format!("{RESTRICTED}.csv");
    for missing in
        ["nosuch.csv", "toilettes-publiques.json", "toilettes-publiques", restricted_csv.as_str()]
    {
        let e =
            error(&server, "datastore_search", &format!("resource_id={}", enc(missing)), 404).await;
        assert_eq!(e["__type"], "Not Found Error");
        assert_eq!(e["message"], format!("Not found: Resource \"{missing}\" was not found."));
    }
    let e = error(
        &server,
        "datastore_search_sql",
        &format!("sql={}", enc("SELECT * FROM \"toilettes-publiques.csv\"")),
        403,
    )
    .await;
    assert_eq!(e["__type"], "Authorization Error");
    assert!(e["message"].as_str().unwrap().contains("datastore_search"), "{e}");
    let (status, body) = get(&server, "/api/3/action", "resource_create", "", Key::None).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["message"], "Bad request - Action name not known: resource_create");
    let response = server
        .client
        .post(format!("{}/api/3/action/package_show", server.base))
        .header("content-type", "application/json")
        .body("[1, 2]")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let v: Value = response.json().await.unwrap();
    assert_eq!(
        (v["success"].clone(), v["error"]["__type"].clone()),
        (json!(false), json!("Bad Request"))
    );
    let response =
        server.client.put(format!("{}/api/action/package_show", server.base)).send().await.unwrap();
    assert_eq!(response.status(), 405);
    let v: Value = response.json().await.unwrap();
    assert_eq!(v["success"], false, "{v}");
}

#[tokio::test]
async fn a_restricted_dataset_shows_only_to_those_who_may_read_it() {
    let (server, member) = fixture().await;
    let outsider = server.api_key();
    let show = format!("id={RESTRICTED}");
    // Anonymous: not found, exactly as a dataset that does not exist.
    let (status, hidden) = get(&server, "/api/3/action", "package_show", &show, Key::None).await;
    let (_, absent) =
        get(&server, "/api/3/action", "package_show", "id=agenda-cultureX", Key::None).await;
    assert_eq!(status, 404);
    assert_eq!(hidden["error"]["__type"], "Not Found Error");
    assert_eq!(
        hidden["error"]["message"].as_str().unwrap().replace(RESTRICTED, "X"),
        absent["error"]["message"].as_str().unwrap().replace("agenda-cultureX", "X")
    );
    for (key, sees) in [
        (Key::None, false),
        (Key::Bare(&outsider), false),
        (Key::Bare(&member), true),
        (Key::Ckan(&member), true),
    ] {
        let (status, body) = get(&server, "/api/action", "package_show", &show, key).await;
        assert_eq!(status, if sees { 200 } else { 404 }, "{body}");
        if sees {
            assert_eq!(body["result"]["private"], true);
            assert_eq!(body["result"]["name"], RESTRICTED);
        }
        // Lists show public datasets only; include_private widens to what the caller reads.
        let (_, default) = get(&server, "/api/action", "package_search", "rows=100", key).await;
        assert!(!names(&default["result"]["results"]).contains(&RESTRICTED.to_owned()));
        let (_, widened) =
            get(&server, "/api/action", "package_search", "rows=100&include_private=true", key)
                .await;
        assert_eq!(names(&widened["result"]["results"]).contains(&RESTRICTED.to_owned()), sees);
        assert_eq!(
            widened["result"]["count"].as_u64().unwrap(),
            default["result"]["count"].as_u64().unwrap() + u64::from(sees)
        );
        let (_, list) = get(&server, "/api/action", "package_list", "", key).await;
        assert!(!list["result"].as_array().unwrap().contains(&json!(RESTRICTED)));
        let (_, org) = get(&server, "/api/action", "organization_show", "id=ville", key).await;
        assert_eq!(org["result"]["package_count"], 1 + u64::from(sees));
        let (status, _) = get(
            &server,
            "/api/action",
            "datastore_search",
            &format!("resource_id={RESTRICTED}.csv&limit=1"),
            key,
        )
        .await;
        assert_eq!(status, if sees { 200 } else { 404 });
        let (status, _) =
            get(&server, "/api/action", "resource_show", &format!("id={RESTRICTED}.csv"), key)
                .await;
        assert_eq!(status, if sees { 200 } else { 404 });
    }
    // A key that is not one: 401 in CKAN's shape, with the reason.
    let (status, body) =
        get(&server, "/api/3/action", "package_list", "", Key::Bare("not-a-key")).await;
    assert_eq!(status, 401);
    assert_eq!(
        (body["success"].clone(), body["error"]["__type"].clone()),
        (json!(false), json!("Authorization Error"))
    );
    assert!(body["error"]["message"].as_str().unwrap().starts_with("Access denied: "), "{body}");
}

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

#[tokio::test]
async fn ckanapi_calls_every_action() {
    let (server, member) = fixture().await;
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/ckan_client.py");
    let python = python();
    let base = server.base.clone();
    let key = member.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(base)
            .arg(key)
            .arg(TOILETS)
            .arg(RESTRICTED)
            .output()
            .expect("run python")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "ckanapi script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let v: Value = serde_json::from_slice(&output.stdout).expect("script output");

    let mut public = explore_ids(&server, "").await;
    public.sort();
    assert_eq!(v["status"]["ckan_version"], "2.10.0");
    assert_eq!(v["package_list"], json!(public));
    // Paging with rows=2 found every public dataset once; the count is Explore's.
    assert_eq!(v["paged"], json!(public));
    assert_eq!(v["count"], public.len());
    let parking = explore_ids(&server, "where=%22parking%22").await;
    assert_eq!(v["search_parking"], json!(parking));
    assert_eq!(v["search_tags"], json!(["comptages-velos"]));
    for id in &public {
        let explore = server.json(&format!("/api/explore/v2.1/catalog/datasets/{id}"), 200).await;
        assert_eq!(v["titles"][id], explore["metas"]["default"]["title"], "{id}");
    }
    assert_eq!(v["resource"]["id"], format!("{TOILETS}.csv"));
    assert_eq!(v["organizations"], json!(["default", "ems", "ville"]));
    assert_eq!(v["organization"]["name"], "ville");
    assert!(v["groups"].as_array().unwrap().contains(&json!("mobilite")), "{}", v["groups"]);
    assert!(v["tags"].as_array().unwrap().contains(&json!("parking")));
    // datastore_search through ckanapi: Explore's values.
    let (expected, total) = explore_records(
        &server,
        &format!("where={}&order_by=nom&limit=5", enc("commune = \"Strasbourg\"")),
    )
    .await;
    assert_eq!(v["datastore"]["total"], total);
    assert_eq!(without_id(&v["datastore"]["records"]), expected);
    let (expected, _) = explore_records(&server, "select=nom&order_by=nom%20desc&limit=3").await;
    let lists: Vec<Value> = expected.iter().map(|r| json!([r["nom"]])).collect();
    assert_eq!(v["datastore_lists"], json!(lists));
    // Errors, as ckanapi raises them.
    assert_eq!(v["errors"]["package_show"], "NotFound");
    assert_eq!(
        v["errors"]["datastore_filters"]["filters"],
        json!(["field \"nosuch\" not in resource"])
    );
    assert_eq!(v["errors"]["datastore_resource"], "NotFound");
    assert_eq!(v["errors"]["datastore_search_sql"], "NotAuthorized");
    assert_eq!(v["errors"]["search_query"], "SearchQueryError");
    // The key (sent by ckanapi as Authorization and X-CKAN-API-Key) shows the restricted
    // dataset; anonymous ckanapi does not.
    assert_eq!(v["restricted"]["anonymous"], "NotFound");
    assert_eq!(v["restricted"]["with_key"]["name"], RESTRICTED);
    assert_eq!(v["restricted"]["with_key"]["private"], true);
    assert_eq!(v["restricted"]["private_search"], true);
}

/// The CKAN section of docs/interoperability.md, whose commands are run here.
fn documented() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/interoperability.md");
    let text = std::fs::read_to_string(&path).expect("docs/interoperability.md");
    let start = text.find("## CKAN").expect("a CKAN section");
    let rest = &text[start + 3..];
    rest[..rest.find("\n## ").unwrap_or(rest.len())].to_owned()
}

#[tokio::test]
async fn the_documented_commands_work() {
    let (server, _) = fixture().await;
    let doc = documented();
    // Every curl line: a successful CKAN answer.
    let mut asked = 0;
    for line in doc.lines().filter(|l| l.starts_with("curl \"$KLEBER")) {
        let path = line.trim_start_matches("curl \"$KLEBER").trim_end_matches('"');
        let (status, _, body) = server.get(path).await;
        assert_eq!(status, 200, "{line}: {body}");
        let v: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(v["success"], true, "{line}");
        asked += 1;
    }
    assert!(asked >= 5, "{asked} curl commands in the CKAN section");
    // The ckanapi example, run as written.
    let code = doc
        .split("```python\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a python block");
    let python = python();
    let base = server.base.clone();
    let code = code.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg("-c")
            .arg(code)
            .env("KLEBER", base)
            .env_remove("KLEBER_KEY")
            .output()
            .expect("python")
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 2, "{printed}");
    let parking = explore_ids(&server, "where=%22parking%22").await;
    assert!(lines[0].starts_with(&format!("{} [", parking.len())), "{printed}");
    let (_, total) =
        explore_records(&server, &format!("where={}&limit=0", enc("commune = \"Strasbourg\"")))
            .await;
    assert!(lines[1].starts_with(&format!("{total} [")), "{printed}");
}
