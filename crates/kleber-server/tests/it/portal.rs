//! The public portal's pages on the demo data: the page contract's hooks, languages, search
//! and facets, the table's paging, sorting and record detail, error pages, JSON-LD, sitemap,
//! feed, assets, and escaping. Expected values come from the API (a separate code path from
//! the HTML) or from the demo's own definitions.

use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::Value;

use crate::common::{TestServer, enc};

async fn demo_server() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    crate::common::load_demo(dir.path()).await;
    TestServer::start(dir).await
}

/// GET with headers; returns status, headers and body.
async fn fetch(
    server: &TestServer,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = server.client.get(format!("{}{path}", server.base));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}

/// The HTML of a page that must answer 200.
async fn page(server: &TestServer, path: &str) -> String {
    let (status, headers, body) = fetch(server, path, &[]).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(ct.starts_with("text/html"), "GET {path}: content type {ct}");
    body
}

/// The text between `start` (after it) and the next `end`, for each occurrence.
fn all_between<'a>(body: &'a str, start: &str, end: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find(start) {
        let after = &rest[i + start.len()..];
        let Some(j) = after.find(end) else { break };
        out.push(&after[..j]);
        rest = &after[j..];
    }
    out
}

/// The number in `<p id="result-count" ...>N unit</p>`.
fn result_count(body: &str) -> u64 {
    let text =
        all_between(body, "id=\"result-count\"", "</p>").into_iter().next().expect("#result-count");
    let text = &text[text.find('>').expect("tag end") + 1..];
    text.chars().filter(char::is_ascii_digit).collect::<String>().parse().expect("a number")
}

/// Decodes the few entities askama writes in attributes.
fn unescape(s: &str) -> String {
    s.replace("&#38;", "&").replace("&amp;", "&").replace("&#34;", "\"").replace("&#39;", "'")
}

/// The hrefs of the dataset cards of a catalog page.
fn card_ids(body: &str) -> Vec<String> {
    all_between(body, "<article class=\"dataset-card\">", "</article>")
        .iter()
        .filter_map(|card| {
            all_between(card, "<h2><a href=\"/explore/dataset/", "/\"").into_iter().next()
        })
        .map(str::to_owned)
        .collect()
}

fn assert_chrome(path: &str, body: &str) {
    assert!(body.starts_with("<!DOCTYPE html>"), "{path}");
    let skip = body
        .find("class=\"skip-link\" href=\"#main\"")
        .unwrap_or_else(|| panic!("{path}: no skip link"));
    let first_link = body.find("<a ").expect("a link");
    assert!(
        body[first_link..].starts_with("<a class=\"skip-link\""),
        "{path}: the skip link is not first ({skip})"
    );
    assert!(body.contains("<main id=\"main\""), "{path}: no main");
    assert!(
        body.contains("hreflang=\"en\"") && body.contains("hreflang=\"fr\""),
        "{path}: no language switcher"
    );
    assert_eq!(body.matches("<h1").count(), 1, "{path}: one h1");
    // No inline script: every script loads a file, or holds data.
    for tag in all_between(body, "<script", ">") {
        assert!(
            tag.contains(" src=\"/static/")
                || tag.contains("type=\"application/json\"")
                || tag.contains("type=\"application/ld+json\""),
            "{path}: inline script <script{tag}>"
        );
    }
}

#[tokio::test]
async fn every_page_answers_with_the_contract_hooks() {
    let server = demo_server().await;
    for path in ["/", "/explore/", "/about/", "/publisher/ville-de-strasbourg/"] {
        let body = page(&server, path).await;
        assert_chrome(path, &body);
        assert!(body.contains("<html lang=\"fr\">"), "{path}: French by default");
    }
    let home = page(&server, "/").await;
    assert!(home.contains("<form role=\"search\" action=\"/explore/\" method=\"get\""));
    assert!(home.contains("<input type=\"search\" id=\"site-q\" name=\"q\""));
    assert!(home.contains("<label for=\"site-q\">"));

    for id in kleber_server::demo::ids() {
        let info = server.json(&format!("/api/explore/v2.1/catalog/datasets/{id}"), 200).await;
        let geo = info["features"].as_array().unwrap().contains(&Value::from("geo"));
        let title = info["metas"]["default"]["title"].as_str().unwrap().to_owned();
        let mut tabs = vec!["information", "table", "analyze", "api", "export", "versions"];
        if geo {
            tabs.push("map");
        }
        for tab in &tabs {
            let path = format!("/explore/dataset/{id}/{tab}/");
            let body = page(&server, &path).await;
            assert_chrome(&path, &body);
            assert!(body.contains(&format!("<h1>{}</h1>", askama_escape(&title))), "{path}: title");
            let nav = all_between(&body, "<nav class=\"tabs\"", "</nav>").concat();
            for other in &tabs {
                assert!(
                    nav.contains(&format!("/explore/dataset/{id}/{other}/")),
                    "{path}: no {other} tab"
                );
            }
            assert_eq!(nav.contains("/map/"), geo, "{path}: the map tab is only for geo datasets");
            assert!(
                nav.contains(&format!(
                    "href=\"/explore/dataset/{id}/{tab}/\" aria-current=\"page\""
                )),
                "{path}: current tab"
            );
        }
        let table = page(&server, &format!("/explore/dataset/{id}/table/")).await;
        assert!(table.contains("<form id=\"table-filter\" method=\"get\""));
        // The facets are a disclosure, open in the HTML (app.js folds it on phones), before
        // the results in the DOM; a dataset without a field annotated `facet` has none.
        let faceted = info["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["annotations"].get("facet").is_some());
        if faceted {
            let details =
                table.find("<details class=\"facets-box\" open").expect("facets disclosure");
            let nav = table.find("<nav class=\"facets\"").expect("facets");
            let results = table.find("id=\"result-count\"").expect("results");
            assert!(details < nav && nav < results && table[details..nav].contains("<summary>"));
        } else {
            assert!(!table.contains("<details class=\"facets-box\""), "{id}: no facets to show");
        }
        assert!(table.contains("<table id=\"records\">") && table.contains("<caption"));
        assert!(
            table.contains("<th scope=\"col\"><a href=\"/explore/dataset/"),
            "{id}: sortable headers"
        );
        let analyze = page(&server, &format!("/explore/dataset/{id}/analyze/")).await;
        for hook in [
            "<form id=\"chart-builder\" method=\"get\"",
            "name=\"x\"",
            "name=\"y\"",
            "name=\"type\"",
            "<figure id=\"chart\"",
            "<figcaption>",
            "<table id=\"chart-data\">",
        ] {
            assert!(analyze.contains(hook), "{id} analyze: no {hook}");
        }
        let api = page(&server, &format!("/explore/dataset/{id}/api/")).await;
        assert!(api.matches("<code>").count() >= 4, "{id}: code snippets");
        // Each snippet is a focusable group named by its heading (a bare <pre> has no name).
        assert_eq!(
            api.matches("<pre ").count(),
            api.matches("role=\"group\" aria-labelledby=\"snippet-").count(),
            "{id}: named snippets"
        );
        for needle in ["curl ", "@opendatasoft/api-client", "odsclient", "import requests"] {
            assert!(api.contains(needle), "{id} api: no {needle}");
        }
        // Every curl example works as written (against this server's host).
        let urls: Vec<String> = all_between(&api, "curl ", "</code>")
            .iter()
            .flat_map(|code| all_between(code, "&#39;", "&#39;"))
            .map(unescape)
            .collect();
        assert!(urls.len() >= 4, "{id}: {urls:?}");
        let mut searched = false;
        for url in urls {
            assert!(url.starts_with(&server.base), "{url}");
            let (status, _, body) = fetch(&server, &url[server.base.len()..], &[]).await;
            assert_eq!(status, 200, "{id}: the example {url} answers {body}");
            // A records query finds records: its text and point come from the data.
            if url.contains("/records") {
                let answer: Value = serde_json::from_str(&body).expect("JSON");
                let found = answer["results"].as_array().map_or(0, Vec::len);
                assert!(found >= 1, "{id}: the example {url} finds no record: {body}");
                searched |= url.contains("where=%22");
            }
        }
        let has_text = info["fields"].as_array().unwrap().iter().any(|f| f["type"] == "text");
        assert_eq!(searched, has_text, "{id}: a full-text example when there is text to search");
        if geo {
            let map = page(&server, &format!("/explore/dataset/{id}/map/")).await;
            assert!(map.contains("<div id=\"map\"") && map.contains("<table id=\"map-records\">"));
            let rows = all_between(&map, "<table id=\"map-records\">", "</table>")
                .concat()
                .matches("<tr>")
                .count();
            assert!(rows > 1, "{id}: located records listed without script");
        } else {
            let (status, _, body) =
                fetch(&server, &format!("/explore/dataset/{id}/map/"), &[]).await;
            assert_eq!(status, 404, "{id}: no map without geometry: {body}");
        }
        for tab in ["table", "map", "analyze"] {
            if tab == "map" && !geo {
                continue;
            }
            let path = format!("/explore/embed/dataset/{id}/{tab}/");
            let (status, headers, body) = fetch(&server, &path, &[]).await;
            assert_eq!(status, 200, "{path}");
            assert!(
                !body.contains("class=\"site-header\"") && !body.contains("<nav class=\"tabs\""),
                "{path}: no chrome"
            );
            assert!(headers.get("x-frame-options").is_none(), "{path}: framable");
            let csp = headers["content-security-policy"].to_str().unwrap();
            assert!(csp.contains("frame-ancestors *"), "{path}: {csp}");
        }
    }
    let (_, headers, _) = fetch(&server, "/explore/", &[]).await;
    assert_eq!(headers["x-frame-options"], "SAMEORIGIN");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("https://tile.openstreetmap.org"), "tiles allowed as images: {csp}");
}

/// Askama's escaping of text (enough for titles).
fn askama_escape(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('\'', "&#39;")
        .replace('"', "&#34;")
}

#[tokio::test]
async fn language_follows_the_query_then_the_cookie_then_accept_language() {
    let server = demo_server().await;
    let lang_of =
        |body: &str| all_between(body, "<html lang=\"", "\"").first().map(|s| (*s).to_owned());
    let (_, headers, body) =
        fetch(&server, "/", &[("accept-language", "en-GB,en;q=0.9,fr;q=0.5")]).await;
    assert_eq!(lang_of(&body).as_deref(), Some("en"));
    assert_eq!(headers["content-language"], "en");
    assert!(body.contains("Search datasets"));
    let (_, _, body) = fetch(&server, "/explore/", &[("accept-language", "de-DE,de;q=0.9")]).await;
    assert_eq!(lang_of(&body).as_deref(), Some("fr"), "French when no language fits");
    assert!(body.contains("Rechercher un jeu de données"));
    let (_, headers, body) =
        fetch(&server, "/explore/?lang=en", &[("accept-language", "fr")]).await;
    assert_eq!(lang_of(&body).as_deref(), Some("en"));
    let cookie = headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("lang=en;") && cookie.contains("Path=/"), "{cookie}");
    let (_, _, body) = fetch(
        &server,
        "/explore/dataset/toilettes-publiques/table/",
        &[("cookie", "lang=en"), ("accept-language", "fr")],
    )
    .await;
    assert_eq!(lang_of(&body).as_deref(), Some("en"), "the cookie is remembered");
    assert!(body.contains("Search the data"));
    // The switcher links to the same page in the other language, keeping the query.
    let (_, _, body) = fetch(&server, "/explore/?q=tram", &[]).await;
    assert!(
        body.contains("href=\"/explore/?q=tram&#38;lang=en\" hreflang=\"en\""),
        "switcher link"
    );
}

#[tokio::test]
async fn catalog_search_folds_accents_and_stems() {
    let server = demo_server().await;
    let body = page(&server, "/explore/?q=velo").await;
    // The daily counts and their monthly sums (a derived dataset, docs/crossing.md).
    assert_eq!(card_ids(&body), vec!["comptages-velos", "comptages-velos-mensuels"]);
    assert_eq!(result_count(&body), 2);
    let body = page(&server, "/explore/?q=parkings").await;
    assert!(
        card_ids(&body).contains(&"occupation-parkings-temps-reel".to_owned()),
        "{:?}",
        card_ids(&body)
    );
    let api = server
        .json(
            &format!("/api/explore/v2.1/catalog/datasets?where={}&limit=100", enc("\"parkings\"")),
            200,
        )
        .await;
    assert_eq!(result_count(&body), api["total_count"].as_u64().unwrap());
    let body = page(&server, "/explore/?q=zzzzqqq").await;
    assert_eq!(result_count(&body), 0);
    assert!(card_ids(&body).is_empty());
}

#[tokio::test]
async fn facet_refinement_narrows_the_catalog() {
    let server = demo_server().await;
    let all = page(&server, "/explore/").await;
    assert_eq!(result_count(&all), kleber_server::demo::ids().len() as u64);
    for facet in ["theme", "keyword", "publisher", "license", "features", "modified"] {
        assert!(
            all.contains(&format!("<section class=\"facet\" data-facet=\"{facet}\">")),
            "facet {facet}"
        );
    }
    // Expected from the API's dataset objects, not from the facet code.
    let list = server.json("/api/explore/v2.1/catalog/datasets?limit=100", 200).await;
    let mobility: Vec<String> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            d["metas"]["default"]["theme"]
                .as_array()
                .is_some_and(|t| t.contains(&Value::from("Mobilité")))
        })
        .map(|d| d["dataset_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !mobility.is_empty() && mobility.len() < list["total_count"].as_u64().unwrap() as usize
    );
    let theme_block = all_between(&all, "data-facet=\"theme\">", "</section>").concat();
    let link = all_between(&theme_block, "<a class=\"facet-value\" href=\"", "\"")
        .into_iter()
        .map(unescape)
        .find(|h| h.contains("refine.theme=Mobilit%C3%A9"))
        .expect("a Mobilité facet link");
    assert!(
        theme_block.contains(&format!("Mobilité <span class=\"count\">{}</span>", mobility.len()))
    );
    let refined = page(&server, &link).await;
    assert_eq!(result_count(&refined), mobility.len() as u64);
    let mut ids = card_ids(&refined);
    ids.sort();
    let mut expected = mobility.clone();
    expected.sort();
    assert_eq!(ids, expected);
    assert!(refined.contains("aria-current=\"true\">Mobilité"), "the refined value is marked");
    // Two refinements are ANDed.
    let both = page(&server, "/explore/?refine.theme=Mobilit%C3%A9&refine.features=geo").await;
    assert!(result_count(&both) < mobility.len() as u64);
    // Unknown facets and sorts are a 400 page, not an error 500.
    let (status, _, body) = fetch(&server, "/explore/?refine.nope=x", &[]).await;
    assert_eq!(status, 400, "{body}");
    let (status, _, _) = fetch(&server, "/explore/?sort=drop", &[]).await;
    assert_eq!(status, 400);
    let sorted = page(&server, "/explore/?sort=title").await;
    let mut titles: Vec<String> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["dataset_id"].as_str().unwrap().to_owned())
        .collect();
    let by_title = |id: &String| {
        list["results"].as_array().unwrap().iter().find(|d| d["dataset_id"] == id.as_str()).unwrap()
            ["metas"]["default"]["title"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    titles.sort_by_key(by_title);
    assert_eq!(card_ids(&sorted), titles);
}

/// The cells of the records table: one Vec per row (the detail link column first), each cell
/// as its class (`num` for numbers) and its text.
fn table_cells(body: &str) -> Vec<Vec<(String, String)>> {
    let table = all_between(body, "<table id=\"records\">", "</table>").concat();
    let tbody = all_between(&table, "<tbody>", "</tbody>").concat();
    all_between(&tbody, "<tr>", "</tr>")
        .iter()
        .map(|row| {
            all_between(row, "<td", "</td>")
                .into_iter()
                .map(|cell| {
                    let (attrs, text) = cell.split_once('>').expect("a cell");
                    let class = all_between(attrs, "class=\"", "\"").concat();
                    (class, text.to_owned())
                })
                .collect()
        })
        .collect()
}

/// The cell texts of the records table.
fn table_rows(body: &str) -> Vec<Vec<String>> {
    table_cells(body).into_iter().map(|r| r.into_iter().map(|(_, t)| t).collect()).collect()
}

/// An integer as French writes it: groups of three digits split by a narrow no-break space.
fn french_integer(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let groups: Vec<&str> =
        digits.as_bytes().rchunks(3).rev().map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("{}{}", if n < 0 { "-" } else { "" }, groups.join("\u{202f}"))
}

#[tokio::test]
async fn the_table_pages_sorts_and_shows_a_record() {
    let server = demo_server().await;
    let id = "comptages-velos";
    let base = format!("/explore/dataset/{id}/table/");
    let total = server
        .json(&format!("/api/explore/v2.1/catalog/datasets/{id}/records?limit=0"), 200)
        .await["total_count"]
        .as_u64()
        .unwrap();
    let first = page(&server, &format!("{base}?sort=-comptage")).await;
    assert_eq!(result_count(&first), total);
    let rows = table_rows(&first);
    assert_eq!(rows.len(), 20);
    // Columns: detail, compteur, date, comptage, temperature_moyenne.
    let api = server.records(id, "order_by=comptage%20desc&limit=40").await;
    let comptages = |rows: &[Vec<String>]| rows.iter().map(|r| r[3].clone()).collect::<Vec<_>>();
    let expected: Vec<String> =
        api.iter().map(|r| french_integer(r["comptage"].as_i64().unwrap())).collect();
    assert!(expected.iter().any(|n| n.contains('\u{202f}')), "some counts are over 1 000");
    assert_eq!(comptages(&rows), expected[..20]);
    // Numbers are right-aligned cells, text and dates are not.
    let classes: Vec<String> = table_cells(&first)[0].iter().map(|(c, _)| c.clone()).collect();
    assert_eq!(
        classes,
        ["", "", "", "num", "num"],
        "detail, compteur, date, comptage, temperature"
    );
    let temperature = api[0]["temperature_moyenne"].as_f64().unwrap();
    assert_eq!(rows[0][4], temperature.to_string().replace('.', ","), "a decimal comma");
    let date = api[0]["date"].as_str().unwrap();
    assert_eq!(rows[0][2], format!("{}/{}/{}", &date[8..10], &date[5..7], &date[..4]));
    assert!(first.contains(">Temperature moyenne<"), "labels read as words: {first}");
    assert!(first.contains("aria-sort=\"descending\""));
    let next = all_between(&first, "<a rel=\"next\" href=\"", "\"")
        .into_iter()
        .next()
        .map(unescape)
        .expect("rel=next");
    assert!(next.contains("sort=-comptage") && next.contains("page=2"), "{next}");
    let second = page(&server, &next).await;
    assert_eq!(comptages(&table_rows(&second)), expected[20..40]);
    // The last page has no next link; a page past the end shows the last one.
    let last_page = total.div_ceil(20);
    let last = page(&server, &format!("{base}?page={last_page}")).await;
    assert!(!last.contains("rel=\"next\""));
    assert_eq!(table_rows(&last).len() as u64, total - (last_page - 1) * 20);
    for bad in ["page=0", "page=abc", "sort=nope", "sort=-x%3B", "refine.nope=1"] {
        let (status, headers, body) = fetch(&server, &format!("{base}?{bad}"), &[]).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    }
    // Text search and a facet narrow the rows.
    let narrowed = page(&server, &format!("{base}?q=Kennedy&refine.date=2025")).await;
    let expected = server
        .json(
            &format!(
                "/api/explore/v2.1/catalog/datasets/{id}/records?limit=0&where={}&refine=date:2025",
                enc("\"Kennedy\"")
            ),
            200,
        )
        .await["total_count"]
        .as_u64()
        .unwrap();
    assert!(expected > 0 && expected < total);
    assert_eq!(result_count(&narrowed), expected);
    assert!(
        table_rows(&narrowed).iter().all(|r| r[1] == "Pont Kennedy" && r[2].ends_with("/2025"))
    );

    // A record's detail, from the link of its row.
    let row = all_between(&first, "<tbody>", "</tbody>").concat();
    let href = all_between(&row, "<a href=\"", "\" class=\"detail-link\"")
        .into_iter()
        .next()
        .map(unescape)
        .expect("detail link");
    assert!(href.contains("record="), "{href}");
    let detail = page(&server, &href).await;
    let section = all_between(&detail, "<section id=\"record-detail\"", "</section>").concat();
    assert!(
        section.contains(&format!("<dd>{}</dd>", french_integer(expected_first_comptage(&api)))),
        "{section}"
    );
    let (status, _, missing) =
        fetch(&server, &format!("{base}?record={}", "0".repeat(40)), &[]).await;
    assert_eq!(status, 200);
    assert!(
        missing.contains("id=\"record-detail-missing\"")
            && !missing.contains("id=\"record-detail\"")
    );
}

fn expected_first_comptage(api: &[Value]) -> i64 {
    api[0]["comptage"].as_i64().unwrap()
}

#[tokio::test]
async fn chart_table_has_the_numbers_of_a_group_by() {
    let server = demo_server().await;
    let id = "comptages-velos";
    let body = page(
        &server,
        &format!("/explore/dataset/{id}/analyze/?x=compteur&y={}&type=bar", enc("sum(comptage)")),
    )
    .await;
    let table = all_between(&body, "<table id=\"chart-data\">", "</table>").concat();
    let mut shown: Vec<(String, i64)> = Vec::new();
    for row in all_between(&table, "<tr><th scope=\"row\">", "</td></tr>") {
        let (key, rest) = row.split_once("</th>").unwrap();
        let raw: i64 = all_between(rest, "data-value=\"", "\"").concat().parse().unwrap();
        let text = rest.rsplit('>').next().unwrap();
        assert_eq!(text, french_integer(raw), "the value is formatted, the raw one kept");
        shown.push((unescape(key), raw));
    }
    shown.sort();
    let groups = server
        .records(
            id,
            &format!(
                "select={}&group_by=compteur&limit=100",
                enc("compteur as k, sum(comptage) as v")
            ),
        )
        .await;
    let mut expected: Vec<(String, i64)> = groups
        .iter()
        .map(|g| (g["k"].as_str().unwrap().to_owned(), g["v"].as_i64().unwrap()))
        .collect();
    expected.sort();
    assert_eq!(shown, expected);
    // The script reads the same numbers from JSON, never from HTML.
    let json =
        all_between(&body, "<script type=\"application/json\" id=\"chart-json\">", "</script>")
            .concat();
    let spec: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(spec["type"], "bar");
    assert_eq!(spec["values"].as_array().unwrap().len(), expected.len());
    let (status, _, _) =
        fetch(&server, &format!("/explore/dataset/{id}/analyze/?y={}", enc("sum(compteur)")), &[])
            .await;
    assert_eq!(status, 400, "a sum of text is refused");
}

#[tokio::test]
async fn error_pages_are_html_and_api_errors_stay_json() {
    let server = demo_server().await;
    for path in [
        "/nope",
        "/explore/dataset/no-such-dataset/",
        "/explore/dataset/comptages-velos/nope/",
        "/explore/embed/dataset/comptages-velos/api/",
        "/publisher/nobody/",
        "/static/app.0000000000.css",
    ] {
        let (status, headers, body) = fetch(&server, path, &[]).await;
        assert_eq!(status, 404, "{path}");
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
        assert!(
            body.contains("<form role=\"search\" action=\"/explore/\""),
            "{path}: a search form"
        );
        assert!(
            body.contains("href=\"/\"") && body.contains("href=\"/explore/\""),
            "{path}: links home and to the catalog"
        );
    }
    let v = server.json("/api/explore/v2.1/nope", 404).await;
    assert!(v["error_code"].is_string() && v["message"].is_string(), "{v}");
    let v = server.json("/api/explore/v2.1/catalog/datasets/no-such-dataset", 404).await;
    assert_eq!(v["error_code"], "DatasetNotFound");
    let long = "a".repeat(300);
    let (status, _, _) = fetch(&server, &format!("/explore/?q={long}"), &[]).await;
    assert_eq!(status, 400, "the search text is bounded");
}

#[tokio::test]
async fn json_ld_describes_the_dataset_and_its_downloads() {
    let server = demo_server().await;
    let id = "toilettes-publiques";
    let body = page(&server, &format!("/explore/dataset/{id}/")).await;
    let ld = all_between(&body, "<script type=\"application/ld+json\">", "</script>").concat();
    let ld: Value = serde_json::from_str(&ld).expect("JSON-LD parses");
    assert_eq!(ld["@context"], "https://schema.org");
    assert_eq!(ld["@type"], "Dataset");
    assert_eq!(ld["name"], "Toilettes publiques");
    assert_eq!(ld["publisher"]["name"], "Ville de Strasbourg");
    let formats =
        server.json(&format!("/api/explore/v2.1/catalog/datasets/{id}/exports"), 200).await;
    let names: Vec<&str> =
        formats["links"].as_array().unwrap().iter().map(|l| l["rel"].as_str().unwrap()).collect();
    let distribution = ld["distribution"].as_array().unwrap();
    assert_eq!(distribution.len(), names.len(), "one download per export format of a geo dataset");
    for d in distribution {
        assert_eq!(d["@type"], "DataDownload");
        let url = d["contentUrl"].as_str().unwrap();
        let path = &url[url.find("/api/").expect("an API URL")..];
        assert!(names.iter().any(|n| path.ends_with(&format!("/exports/{n}"))), "{path}");
    }
    let csv =
        distribution.iter().find(|d| d["encodingFormat"] == "text/csv").expect("a CSV download");
    let url = csv["contentUrl"].as_str().unwrap();
    let (status, _, text) = fetch(&server, &url[url.find("/api/").unwrap()..], &[]).await;
    assert_eq!(status, 200);
    assert_eq!(text.lines().count(), 61, "header + 60 toilets");
    assert!(body.contains("<meta property=\"og:title\" content=\"Toilettes publiques\">"));
    assert!(body.contains("<meta property=\"og:type\" content=\"article\">"));
}

#[tokio::test]
async fn export_tab_links_every_format_with_and_without_filters() {
    let server = demo_server().await;
    let id = "comptages-velos";
    let body =
        page(&server, &format!("/explore/dataset/{id}/export/?q=Kennedy&refine.date=2025")).await;
    let formats =
        server.json(&format!("/api/explore/v2.1/catalog/datasets/{id}/exports"), 200).await;
    let needs_geometry = ["geojson", "shp", "kml", "gpx", "fgb"];
    for link in formats["links"].as_array().unwrap() {
        let name = link["rel"].as_str().unwrap();
        if needs_geometry.contains(&name) {
            assert!(
                !body.contains(&format!("data-format=\"{name}\"")),
                "{name} is not offered without geometry"
            );
            continue;
        }
        assert!(body.contains(&format!("data-format=\"{name}\" data-filtered=\"false\" href=\"/api/explore/v2.1/catalog/datasets/{id}/exports/{name}\"")), "{name}");
        assert!(
            body.contains(&format!("data-format=\"{name}\" data-filtered=\"true\"")),
            "{name} filtered"
        );
    }
    // The active filters sit with their count, above the formats.
    let chips = body.find("<div class=\"active-filters\">").expect("the active filters");
    let line = body.find("Filtres en cours : 365 enregistrements").expect("the filters' line");
    let table = body.find("<table id=\"exports\">").expect("the formats");
    assert!(line < chips && chips < table, "line, chips, then the formats");
    assert!(body[chips..table].contains("Date : 2025"), "the chip names the field by its label");
    let filtered = all_between(&body, "data-format=\"csv\" data-filtered=\"true\" href=\"", "\"")
        .into_iter()
        .next()
        .map(unescape)
        .unwrap();
    let (status, _, csv) = fetch(&server, &filtered, &[]).await;
    assert_eq!(status, 200, "{filtered}");
    let expected = server
        .json(
            &format!(
                "/api/explore/v2.1/catalog/datasets/{id}/records?limit=0&where={}&refine=date:2025",
                enc("\"Kennedy\"")
            ),
            200,
        )
        .await["total_count"]
        .as_u64()
        .unwrap();
    assert_eq!(csv.lines().count() as u64, expected + 1, "{filtered}");
}

/// Every `<loc>` of a sitemap, checking that the XML is well formed.
fn xml_texts(xml: &str, element: &str) -> Vec<String> {
    let mut reader = Reader::from_str(xml);
    let mut inside = false;
    let mut out = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) if e.name().as_ref() == element => inside = true,
            Event::End(e) if e.name().as_ref() == element => inside = false,
            Event::Text(t) if inside => out.push(t.into_inner().into_owned()),
            Event::GeneralRef(r) if inside => {
                if let Some(last) = out.last_mut() {
                    last.push_str(match r.as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        _ => "'",
                    });
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

#[tokio::test]
async fn sitemap_robots_and_feed_list_every_dataset() {
    let server = demo_server().await;
    let (status, headers, sitemap) = fetch(&server, "/sitemap.xml", &[]).await;
    assert_eq!(status, 200);
    assert!(headers["content-type"].to_str().unwrap().starts_with("application/xml"));
    let locs = xml_texts(&sitemap, "loc");
    for id in kleber_server::demo::ids() {
        assert!(
            locs.iter().any(|l| l.ends_with(&format!("/explore/dataset/{id}/"))),
            "{id} not in the sitemap"
        );
    }
    assert!(locs.iter().all(|l| l.starts_with(&server.base)), "absolute URLs");
    let (status, _, robots) = fetch(&server, "/robots.txt", &[]).await;
    assert_eq!(status, 200);
    assert!(robots.contains(&format!("Sitemap: {}/sitemap.xml", server.base)));

    let (status, headers, feed) = fetch(&server, "/explore/feed.atom", &[]).await;
    assert_eq!(status, 200);
    assert!(headers["content-type"].to_str().unwrap().starts_with("application/atom+xml"));
    let titles = xml_texts(&feed, "title");
    let list = server.json("/api/explore/v2.1/catalog/datasets?limit=100", 200).await;
    for d in list["results"].as_array().unwrap() {
        let title = d["metas"]["default"]["title"].as_str().unwrap();
        assert!(titles.iter().any(|t| t == title), "{title} not in the feed: {titles:?}");
    }
    assert_eq!(xml_texts(&feed, "id").len(), list["total_count"].as_u64().unwrap() as usize + 1);
}

#[tokio::test]
async fn assets_are_served_with_their_type_and_long_caching() {
    let server = demo_server().await;
    let body = page(&server, "/explore/dataset/toilettes-publiques/map/").await;
    let mut urls: Vec<String> = all_between(&body, "<link rel=\"stylesheet\" href=\"", "\"")
        .into_iter()
        .map(str::to_owned)
        .collect();
    urls.extend(all_between(&body, "<script src=\"", "\"").into_iter().map(str::to_owned));
    assert!(urls.iter().any(|u| u.contains("/static/leaflet.")), "{urls:?}");
    assert!(urls.iter().any(|u| u.contains("/static/leaflet.markercluster.")), "{urls:?}");
    for url in &urls {
        let (status, headers, content) = fetch(&server, url, &[]).await;
        assert_eq!(status, 200, "{url}");
        let ct = headers["content-type"].to_str().unwrap();
        let expected = if url.ends_with(".css") { "text/css" } else { "text/javascript" };
        assert!(ct.starts_with(expected), "{url}: {ct}");
        assert!(headers["cache-control"].to_str().unwrap().contains("immutable"), "{url}");
        assert!(!content.is_empty());
    }
    let analyze = page(&server, "/explore/dataset/comptages-velos/analyze/").await;
    let chart = all_between(&analyze, "<script src=\"", "\"")
        .into_iter()
        .find(|u| u.contains("chart.umd"))
        .expect("Chart.js");
    let (_, _, js) = fetch(&server, chart, &[]).await;
    assert!(js.contains("Chart.js v4."), "Chart.js 4 from npm");
    let (status, headers, _) = fetch(&server, "/static/images/marker-icon.png", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
}

#[tokio::test]
async fn hostile_text_is_escaped_everywhere() {
    let server = demo_server().await;
    let hostile = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>";
    for path in [
        format!("/explore/?q={}", enc(hostile)),
        format!("/explore/dataset/agenda-culturel/table/?q={}", enc(hostile)),
        format!("/explore/dataset/agenda-culturel/export/?q={}", enc(hostile)),
        format!("/explore/?q={}&lang={}", enc("x"), enc(hostile)),
    ] {
        let body = page(&server, &path).await;
        assert!(!body.contains("<script>alert(1)"), "{path}");
        assert!(!body.contains("<img src=x"), "{path}");
        assert!(!body.contains("onerror=alert(2)>"), "{path}");
    }
    let body = page(&server, &format!("/explore/?q={}", enc(hostile))).await;
    assert!(
        body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "the text is shown, escaped"
    );
    // A quote cannot end the ODSQL string: the search is for the text, and finds nothing.
    let body = page(
        &server,
        &format!("/explore/dataset/agenda-culturel/table/?q={}", enc("\" OR true OR \"")),
    )
    .await;
    assert_eq!(result_count(&body), 0);
}

#[tokio::test]
async fn pages_follow_a_new_import_despite_their_caches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    crate::common::load_demo(&path).await;
    let server = TestServer::start(dir).await;
    let before = page(&server, "/explore/?q=fontaines").await;
    assert_eq!(result_count(&before), 0);
    let all = result_count(&page(&server, "/explore/").await);

    let files = tempfile::tempdir().unwrap();
    let csv = files.path().join("fontaines.csv");
    std::fs::write(
        &csv,
        "nom;quartier\nFontaine Kléber;Centre\nFontaine Broglie;Centre\nFontaine Neudorf;Neudorf\n",
    )
    .unwrap();
    crate::common::import(&path, &csv, "fontaines", kleber_ingest::ImportOptions::default());

    let after = page(&server, "/explore/?q=fontaines").await;
    assert_eq!(card_ids(&after), vec!["fontaines"]);
    assert_eq!(result_count(&page(&server, "/explore/").await), all + 1);
    let table = page(&server, "/explore/dataset/fontaines/table/").await;
    assert_eq!(result_count(&table), 3);

    // A new version of the same dataset: the table's cached facets are not reused.
    std::fs::write(&csv, "nom;quartier\nFontaine Kléber;Centre\nFontaine Broglie;Centre\n")
        .unwrap();
    crate::common::import(&path, &csv, "fontaines", kleber_ingest::ImportOptions::default());
    let table = page(&server, "/explore/dataset/fontaines/table/").await;
    assert_eq!(result_count(&table), 2);
    assert!(!table.contains("Neudorf"), "no value of the old version is shown");
}

#[tokio::test]
async fn a_refined_year_lists_every_month_by_name_and_a_month_its_days() {
    let server = demo_server().await;
    let id = "comptages-velos";
    let months_fr = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    let body = page(&server, &format!("/explore/dataset/{id}/table/?refine.date=2025")).await;
    let facet = all_between(&body, "data-facet=\"date\">", "</section>").concat();
    for (i, month) in months_fr.iter().enumerate() {
        let value = format!("2025/{:02}", i + 1);
        let expected = server
            .json(
                &format!(
                    "/api/explore/v2.1/catalog/datasets/{id}/records?limit=0&refine=date:{value}"
                ),
                200,
            )
            .await["total_count"]
            .as_i64()
            .unwrap();
        assert!(expected > 0, "{value}");
        let link = format!(
            "refine.date=2025&#38;refine.date={}\">{month} 2025 <span class=\"count\">{expected}</span>",
            value.replace('/', "%2F")
        );
        assert!(facet.contains(&link), "{month} 2025 with its count {expected}: {facet}");
    }
    // The chip of the refinement names it the same way.
    let month = page(&server, &format!("/explore/dataset/{id}/table/?refine.date=2025%2F02")).await;
    let chips = all_between(&month, "<div class=\"active-filters\">", "</div>").concat();
    assert!(chips.contains("Date : février 2025"), "{chips}");
    let facet = all_between(&month, "data-facet=\"date\">", "</section>").concat();
    assert_eq!(facet.matches("<li class=\"depth-2\">").count(), 28, "every day of February");
    assert!(facet.contains(">28 février 2025 <span"), "{facet}");
    let english =
        page(&server, &format!("/explore/dataset/{id}/table/?refine.date=2025&lang=en")).await;
    assert!(english.contains(">December 2025 <span"), "month names follow the language");
}

#[tokio::test]
async fn the_map_list_measures_lines_and_english_writes_its_own_numbers() {
    let server = demo_server().await;
    // Lengths computed here from the API's geometries, on the mean Earth sphere.
    let lines = server.records("lignes-tram", "limit=100").await;
    let body = page(&server, "/explore/dataset/lignes-tram/map/").await;
    let list = all_between(&body, "<table id=\"map-records\">", "</table>").concat();
    for line in &lines {
        let coords = line["geo_shape"]["geometry"]["coordinates"]
            .as_array()
            .or_else(|| line["geo_shape"]["coordinates"].as_array())
            .unwrap_or_else(|| panic!("a line geometry: {line}"));
        let km: f64 = coords
            .windows(2)
            .map(|w| {
                let (lon1, lat1) = (w[0][0].as_f64().unwrap(), w[0][1].as_f64().unwrap());
                let (lon2, lat2) = (w[1][0].as_f64().unwrap(), w[1][1].as_f64().unwrap());
                let a = ((lat2 - lat1).to_radians() / 2.0).sin().powi(2)
                    + lat1.to_radians().cos()
                        * lat2.to_radians().cos()
                        * ((lon2 - lon1).to_radians() / 2.0).sin().powi(2);
                2.0 * 6371.0088 * a.sqrt().asin()
            })
            .sum();
        // One decimal (`12,0 km`), with a decimal comma.
        let km = format!("{km:.1}").replace('.', ",");
        let row =
            format!(">{}</a></td><td>Ligne de {km}\u{a0}km</td>", line["ligne"].as_str().unwrap());
        assert!(list.contains(&row), "{row} in {list}");
    }
    let velo =
        page(&server, "/explore/dataset/comptages-velos/table/?sort=-comptage&lang=en").await;
    let top = server.records("comptages-velos", "order_by=comptage%20desc&limit=1").await;
    let n = top[0]["comptage"].as_i64().unwrap();
    let english = format!("{},{:03}", n / 1000, n % 1000);
    assert!(velo.contains(&format!("<td class=\"num\">{english}</td>")), "{english}");
    let date = top[0]["date"].as_str().unwrap();
    assert!(velo.contains(&format!("<td>{date}</td>")), "English dates are ISO 8601");
    let home = page(&server, "/").await;
    let stats = all_between(&home, "<section aria-labelledby=\"stats-h\"", "</section>").concat();
    assert_eq!(stats.matches("<strong>").count(), 3, "every count has its number in bold");
    // The demo datasets all belong to the default organization: one organization counted.
    assert!(
        stats.contains("<strong>1</strong> organisation</li>")
            && stats.contains("</strong> jeux de données</li>"),
        "{stats}"
    );
}
