//! The application layer over a real store and real files: resolution, typed pages, errors,
//! the catalog, the time limit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kleber_app::import::ImportRequest;
use kleber_app::{App, CatalogPage, Error, Limits, RequestContext};
use kleber_query::{Engine, RecordsQuery};
use kleber_store::Store;
use kleber_types::{ErrorCode, HasErrorCode};

/// The real open-data files shared with the project (never copied into the repository).
fn real(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/real").join(name);
    assert!(path.exists(), "missing real data file {}", path.display());
    path
}

/// Features of a GeoJSON file, counted without Kleber's reader.
fn features(path: &Path) -> u64 {
    let text = std::fs::read_to_string(path).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["features"].as_array().unwrap().len() as u64
}

fn request(path: PathBuf, id: &str) -> ImportRequest {
    ImportRequest {
        path,
        dataset: id.to_owned(),
        title: None,
        options: kleber_ingest::ImportOptions::default(),
        unique_id: None,
        crash: None,
    }
}

fn app(dir: &Path, limits: Limits) -> App {
    let store = Store::open(dir).unwrap();
    App::new(store, Engine::new(kleber_query::Limits::default()).unwrap(), limits)
}

const POINTS: &str = "strasbourg_parcs-jardins_points.geojson";
const LINES: &str = "strasbourg_boucles_multilines.geojson";

#[tokio::test(flavor = "multi_thread")]
async fn a_resolved_version_answers_from_itself_while_a_new_one_is_published() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), Limits::default());
    let ctx = RequestContext::new(kleber_app::Principal::Anonymous);
    app.import(&ctx, request(real(POINTS), "espaces")).await.unwrap();
    let old = app.dataset(&ctx, "espaces").await.unwrap();

    app.import(&ctx, request(real(LINES), "espaces")).await.unwrap();
    let new = app.dataset(&ctx, "espaces").await.unwrap();
    assert_eq!(new.number(), old.number() + 1);
    assert_ne!(old.stamp(), new.stamp(), "the ETag stamp follows the version");
    assert_ne!(old.cache_key("r", None), new.cache_key("r", None), "so does the cache key");
    assert!(new.catalog().generation() > old.catalog().generation());

    // Each resolution answers from its own version, the old one included.
    let query = RecordsQuery { limit: Some(3), ..RecordsQuery::default() };
    let before = app.records(&ctx, &old, &query).await.unwrap();
    let after = app.records(&ctx, &new, &query).await.unwrap();
    assert_eq!(before.total, features(&real(POINTS)));
    assert_eq!(after.total, features(&real(LINES)));
    assert_eq!(before.len(), 3);
    assert_eq!(before.values().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn records_one_record_and_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), Limits::default());
    let ctx = RequestContext::new(kleber_app::Principal::Anonymous);
    app.import(&ctx, request(real(POINTS), "parcs")).await.unwrap();
    let version = app.dataset(&ctx, "parcs").await.unwrap();

    let unknown = app.dataset(&ctx, "nope").await.unwrap_err();
    assert_eq!(unknown.error_code(), ErrorCode::DatasetNotFound);
    assert_eq!(unknown.to_string(), "Unknown dataset: nope");

    // A record found by the id the records query gives it.
    let ids = RecordsQuery {
        select: Some("_id AS rid".to_owned()),
        limit: Some(1),
        ..RecordsQuery::default()
    };
    let page = app.rows(&ctx, &version, &ids).await.unwrap();
    let rid = page.values().unwrap()[0]["rid"].as_str().unwrap().to_owned();
    let one = app.record(&ctx, &version, &rid, &RecordsQuery::default()).await.unwrap();
    assert_eq!(one.len(), 1);

    for bad in ["0000000000000000000000000000000000000000", "not-an-id\" OR 1=1", ""] {
        let e = app.record(&ctx, &version, bad, &RecordsQuery::default()).await.unwrap_err();
        assert!(matches!(e, Error::RecordNotFound(_)), "{bad}: {e}");
        assert_eq!(e.error_code(), ErrorCode::RecordNotFound);
    }

    let e =
        RequestContext::with_params(kleber_app::Principal::Anonymous, Some("Mars/Olympus"), None)
            .unwrap_err();
    assert_eq!(e.error_code(), ErrorCode::InvalidRestParameter);
    let paris = RequestContext::with_params(
        kleber_app::Principal::Anonymous,
        Some("Europe/Paris"),
        Some("en"),
    )
    .unwrap();
    assert_eq!(paris.tz, chrono_tz::Europe::Paris);
    assert_eq!(paris.lang.as_deref(), Some("en"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_catalog_pages_datasets_or_rows_and_searches_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), Limits::default());
    let ctx = RequestContext::new(kleber_app::Principal::Anonymous);
    app.import(&ctx, request(real(POINTS), "parcs-jardins")).await.unwrap();
    app.import(&ctx, request(real(LINES), "boucles")).await.unwrap();
    let view = app.catalog(&ctx).await.unwrap();

    let all = RecordsQuery { limit: Some(1), offset: 1, ..RecordsQuery::default() };
    let CatalogPage::Datasets { total, datasets } =
        app.search_catalog(&ctx, &view, &all).await.unwrap()
    else {
        panic!("datasets expected without select");
    };
    assert_eq!(total, 2);
    // Without a search nor order_by, by identifier: the second is parcs-jardins.
    assert_eq!(datasets.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["parcs-jardins"]);

    let grouped = RecordsQuery {
        select: Some("count(*) AS n".to_owned()),
        limit: Some(10),
        ..RecordsQuery::default()
    };
    let CatalogPage::Rows(rows) = app.search_catalog(&ctx, &view, &grouped).await.unwrap() else {
        panic!("rows expected with select");
    };
    assert_eq!(rows.values().unwrap()[0]["n"], 2);

    let search =
        RecordsQuery { r#where: vec!["\"boucles\"".to_owned()], ..RecordsQuery::default() };
    assert_eq!(app.catalog_ids(&ctx, &view, &search).await.unwrap(), ["boucles"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_query_past_the_time_limit_is_refused_as_too_heavy() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), Limits { query_timeout: Duration::ZERO });
    let ctx = RequestContext::new(kleber_app::Principal::Anonymous);
    app.import(&ctx, request(real(POINTS), "parcs")).await.unwrap();
    let version = app.dataset(&ctx, "parcs").await.unwrap();
    let e = app.records(&ctx, &version, &RecordsQuery::default()).await.unwrap_err();
    assert!(matches!(e, Error::TimeLimit { seconds: 0 }), "{e}");
    assert_eq!(e.error_code(), ErrorCode::QueryTooHeavy);
}

/// The time zone is parsed once, into the request context, and every query of the request is
/// planned in it: the query's own zone is replaced, so a front end cannot plan in one zone
/// and render in another.
#[tokio::test(flavor = "multi_thread")]
async fn queries_run_in_the_zone_of_the_request_context() {
    use chrono::{Datelike, Offset, TimeZone, Timelike};

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("instants.csv");
    let instants = ["2023-12-31T23:30:00Z", "2024-06-30T22:30:00Z"];
    std::fs::write(&file, format!("n,t\n1,{}\n2,{}\n", instants[0], instants[1])).unwrap();
    let app = app(&dir.path().join("data"), Limits::default());
    app.import(&RequestContext::new(kleber_app::Principal::Anonymous), request(file, "instants"))
        .await
        .unwrap();
    let version = app
        .dataset(&RequestContext::new(kleber_app::Principal::Anonymous), "instants")
        .await
        .unwrap();

    let err =
        RequestContext::with_params(kleber_app::Principal::Anonymous, Some("Mars/Olympus"), None)
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Invalid value for timezone API parameter: Mars/Olympus was found but a time zone name such as Europe/Paris or UTC is expected."
    );
    assert_eq!(err.error_code(), ErrorCode::InvalidRestParameter);

    // The query says UTC (its default); the context's zone wins.
    let query = RecordsQuery {
        select: Some("n, hour(t) as h, year(t) as y".to_owned()),
        order_by: Some("n".to_owned()),
        ..RecordsQuery::default()
    };
    let facet = kleber_query::facets::FacetRequest {
        name: "t".to_owned(),
        disjunctive: false,
        sort: None,
        limit: None,
        separator: None,
    };
    for zone in ["UTC", "Europe/Paris", "America/New_York"] {
        let tz: chrono_tz::Tz = zone.parse().unwrap();
        let ctx = RequestContext::with_params(kleber_app::Principal::Anonymous, Some(zone), None)
            .unwrap();
        assert_eq!(ctx.tz, tz);
        let local: Vec<_> = instants
            .iter()
            .map(|i| chrono::DateTime::parse_from_rfc3339(i).unwrap().with_timezone(&tz))
            .collect();
        let rows = app.records(&ctx, &version, &query).await.unwrap().values().unwrap();
        let got: Vec<(i64, i64)> =
            rows.iter().map(|r| (r["h"].as_i64().unwrap(), r["y"].as_i64().unwrap())).collect();
        let expected: Vec<(i64, i64)> =
            local.iter().map(|t| (i64::from(t.hour()), i64::from(t.year()))).collect();
        assert_eq!(got, expected, "{zone}");

        // A filter runs in the same zone.
        let hour = local[0].hour();
        let filtered = RecordsQuery { r#where: vec![format!("hour(t) = {hour}")], ..query.clone() };
        let page = app.records(&ctx, &version, &filtered).await.unwrap();
        let expected = local.iter().filter(|t| t.hour() == hour).count() as u64;
        assert_eq!(page.total, expected, "{zone}");

        // So do facets: the years of the instants in that zone.
        let groups = app
            .facets(&ctx, &version, &RecordsQuery::default(), std::slice::from_ref(&facet))
            .await;
        let mut years: Vec<String> =
            groups.unwrap()[0].facets.iter().map(|f| f.name.clone()).collect();
        years.sort();
        let mut expected: Vec<String> = local.iter().map(|t| t.year().to_string()).collect();
        expected.dedup();
        assert_eq!(years, expected, "{zone}");

        // And values are rendered in it.
        let rendered = app
            .records(
                &ctx,
                &version,
                &RecordsQuery {
                    select: Some("t".to_owned()),
                    order_by: Some("n".to_owned()),
                    ..RecordsQuery::default()
                },
            )
            .await
            .unwrap()
            .values()
            .unwrap();
        let first =
            chrono::DateTime::parse_from_rfc3339(rendered[0]["t"].as_str().unwrap()).unwrap();
        assert_eq!(
            first.offset().local_minus_utc(),
            local[0].offset().fix().local_minus_utc(),
            "{zone}"
        );
        assert_eq!(first, tz.from_utc_datetime(&local[0].naive_utc()), "{zone}");
    }
}
