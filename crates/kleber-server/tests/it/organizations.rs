//! Organizations as readers see them, against a real server: the portal's organization pages
//! and index, the redirects from the old publisher pages, the organization facet (portal and
//! Explore v2.1, refine and exclude), the `publisher` default, the sitemap, and `kleber org
//! update`. A restricted and a draft dataset are checked absent from every one of these for an
//! anonymous reader, and present where the API shows them to a member's key.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kleber_app::accounts::{Accounts, operator};
use kleber_ingest::ImportOptions;
use kleber_store::{NewOrganization, OrgKind, Role, Scope, Store, Visibility};
use serde_json::{Value, json};

use crate::common::{TestServer, enc, import, real};

const PARKINGS: &str = "strasbourg_occupation-parkings-temps-reel.csv";
const V: &str = "/api/explore/v2.1";
const EMS: &str = "Eurométropole de Strasbourg";

/// Datasets of the portal: (id, organization, visibility).
const DATASETS: &[(&str, &str, Visibility)] = &[
    ("parkings-ems", "ems", Visibility::Public),
    ("parkings-interne", "ems", Visibility::Restricted),
    ("parkings-brouillon", "ems", Visibility::Draft),
    ("parkings-ville", "ville", Visibility::Public),
    ("labo-mesures", "labo", Visibility::Restricted),
];

/// What no anonymous answer may name.
const HIDDEN: &[&str] = &["parkings-interne", "parkings-brouillon", "labo-mesures"];

struct Portal {
    server: TestServer,
    data: std::path::PathBuf,
    /// A read key of a viewer of `ems`.
    ems_viewer: String,
    /// A read key of a viewer of `labo`.
    labo_viewer: String,
}

fn org(accounts: &Accounts, id: &str, name: &str, kind: OrgKind, extra: [Option<&str>; 3]) {
    let new = NewOrganization {
        id,
        name,
        kind,
        description: extra[0],
        website: extra[1],
        logo: extra[2],
    };
    accounts.create_org(&operator(), &new).expect("organization");
}

fn viewer_key(accounts: &Accounts, org: &str) -> String {
    let email = format!("viewer@{org}.example.org");
    accounts.create_user(&operator(), &email, None, false, None).expect("user");
    accounts.set_member(&operator(), org, &email, Role::Viewer).expect("member");
    accounts.create_key(&operator(), &email, "tests", &[Scope::Read], None).expect("key").key
}

async fn portal() -> Portal {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    for (id, _, _) in DATASETS {
        import(&data, &real(PARKINGS), id, ImportOptions::default());
    }
    let store = Store::open(&data).expect("store");
    let mut patch = serde_json::Map::new();
    patch.insert("publisher".into(), json!("Service mobilité"));
    store.update_metas("parkings-ville", &patch).expect("metas");
    let accounts = Accounts::new(Arc::new(store));
    org(
        &accounts,
        "ems",
        EMS,
        OrgKind::Metropolis,
        [
            Some("Les données de la métropole.\n\n<script>alert(1)</script> et le reste."),
            Some("https://www.strasbourg.eu/"),
            Some("https://example.org/logo-ems.png"),
        ],
    );
    org(&accounts, "ville", "Ville de Strasbourg", OrgKind::City, [None; 3]);
    org(&accounts, "labo", "Labo Privé", OrgKind::Company, [None; 3]);
    org(&accounts, "vide", "Commune Vide", OrgKind::Commune, [None; 3]);
    for (id, org, visibility) in DATASETS {
        accounts.set_dataset_org(&operator(), id, org).expect("organization of a dataset");
        accounts.set_visibility(&operator(), id, *visibility).expect("visibility");
    }
    let ems_viewer = viewer_key(&accounts, "ems");
    let labo_viewer = viewer_key(&accounts, "labo");
    Portal { server: TestServer::start(dir).await, data, ems_viewer, labo_viewer }
}

impl Portal {
    async fn get(&self, path: &str, key: Option<&str>) -> (u16, String) {
        let mut request = self.server.client.get(format!("{}{path}", self.server.base));
        if let Some(key) = key {
            request = request.header("Authorization", format!("Apikey {key}"));
        }
        let response = request.send().await.expect("request");
        (response.status().as_u16(), response.text().await.expect("body"))
    }

    async fn json(&self, path: &str, key: Option<&str>) -> Value {
        let (status, body) = self.get(path, key).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    /// An anonymous page, asserted 200 and free of every hidden dataset.
    async fn page(&self, path: &str) -> String {
        let (status, body) = self.get(path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        for hidden in HIDDEN {
            assert!(!body.contains(hidden), "GET {path} names {hidden}: {body}");
        }
        body
    }
}

fn ids(catalog: &Value) -> Vec<String> {
    let mut ids: Vec<String> = catalog["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|d| d["dataset_id"].as_str().expect("dataset_id").to_owned())
        .collect();
    ids.sort();
    ids
}

/// `value → count` of the `organization` facet of a catalog facets answer.
fn org_counts(facets: &Value) -> Vec<(String, u64)> {
    let group = facets["facets"]
        .as_array()
        .expect("facets")
        .iter()
        .find(|g| g["name"] == "organization")
        .unwrap_or_else(|| panic!("no organization facet in {facets}"));
    let mut counts: Vec<(String, u64)> = group["facets"]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| (v["value"].as_str().unwrap().to_owned(), v["count"].as_u64().unwrap()))
        .collect();
    counts.sort();
    counts
}

fn pairs(expected: &[(&str, u64)]) -> Vec<(String, u64)> {
    expected.iter().map(|(v, n)| ((*v).to_owned(), *n)).collect()
}

#[tokio::test]
async fn organization_pages_show_what_the_reader_may_see() {
    let p = portal().await;

    // The index: organizations with a dataset anonymous readers see, with their counts.
    let index = p.page("/organizations/").await;
    assert!(index.contains(r#"href="/organizations/ems/""#), "{index}");
    assert!(index.contains(r#"href="/organizations/ville/""#), "{index}");
    assert!(index.contains(EMS) && index.contains("Ville de Strasbourg"), "{index}");
    assert!(!index.contains("Labo Privé"), "only restricted datasets: not listed: {index}");
    assert!(!index.contains("Commune Vide"), "no dataset: not listed: {index}");
    assert_eq!(index.matches("1 jeu de données").count(), 2, "{index}");
    let english = p.page("/organizations/?lang=en").await;
    assert!(english.contains("Organizations") && english.contains("Metropolis"), "{english}");
    assert_eq!(english.matches("1 dataset<").count(), 2, "{english}");

    // One organization: name, kind, description as escaped text, web site, logo, datasets.
    let ems = p.page("/organizations/ems/").await;
    assert!(ems.contains(&format!("<h1>{EMS}</h1>")), "{ems}");
    assert!(ems.contains("Métropole"), "{ems}");
    assert!(ems.contains("<p>Les données de la métropole.</p>"), "{ems}");
    assert!(ems.contains("&#60;script&#62;alert(1)&#60;/script&#62; et le reste."), "{ems}");
    assert!(!ems.contains("<script>alert"), "{ems}");
    assert!(ems.contains(r#"href="https://www.strasbourg.eu/""#), "{ems}");
    assert!(ems.contains(r#"src="https://example.org/logo-ems.png""#), "{ems}");
    assert!(ems.contains(r#"alt="Logo de Eurométropole de Strasbourg""#), "{ems}");
    assert!(ems.contains("/explore/dataset/parkings-ems/"), "{ems}");
    assert!(!ems.contains("parkings-ville"), "{ems}");
    assert!(ems.contains(r#"<p id="result-count">1 jeu de données</p>"#), "{ems}");
    // The browser may load the logo (the server never fetches it): its origin, and only on
    // this page, joins the policy's image sources.
    let response = p.server.client.get(format!("{}/organizations/ems/", p.server.base));
    let response = response.send().await.unwrap();
    let policy = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(policy.contains("img-src 'self' https://example.org data:"), "{policy}");
    let response = p.server.client.get(format!("{}/organizations/", p.server.base));
    let policy = response.send().await.unwrap().headers()["content-security-policy"].clone();
    assert!(!policy.to_str().unwrap().contains("example.org"), "{policy:?}");
    let ems_en = p.page("/organizations/ems?lang=en").await;
    assert!(ems_en.contains("Metropolis") && ems_en.contains("Website"), "{ems_en}");
    assert!(ems_en.contains(r#"<p id="result-count">1 dataset</p>"#), "{ems_en}");

    // An organization whose datasets are all restricted exists, but shows none of them.
    let labo = p.page("/organizations/labo/").await;
    assert!(labo.contains("<h1>Labo Privé</h1>"), "{labo}");
    assert!(labo.contains(r#"<p id="result-count">0 jeu de données</p>"#), "{labo}");

    // Unknown organizations: the portal's 404 page.
    for path in ["/organizations/nope/", "/organizations/EMS/", "/organizations/%00/"] {
        let (status, body) = p.get(path, None).await;
        assert_eq!(status, 404, "GET {path}: {body}");
        assert!(body.contains("<html"), "an HTML page: {body}");
    }

    // The dataset page links to its organization.
    let info = p.page("/explore/dataset/parkings-ems/").await;
    assert!(info.contains(r#"<a href="/organizations/ems/">Eurométropole de Strasbourg</a>"#));
    // A hidden dataset's page is not found, as a dataset that does not exist.
    let (status, _) = p.get("/explore/dataset/parkings-interne/", None).await;
    assert_eq!(status, 404);

    // The sitemap lists the organizations with a visible dataset, not the others.
    let sitemap = p.page("/sitemap.xml").await;
    for path in ["/organizations/", "/organizations/ems/", "/organizations/ville/"] {
        assert!(sitemap.contains(&format!("{}{path}<", p.server.base)), "{path}: {sitemap}");
    }
    assert!(!sitemap.contains("/organizations/labo/"), "{sitemap}");
    assert!(!sitemap.contains("/organizations/vide/"), "{sitemap}");
    assert!(!sitemap.contains("/publisher/eurometropole-de-strasbourg/"), "{sitemap}");
    // A publisher that is no organization keeps its page.
    assert!(sitemap.contains("/publisher/service-mobilite/"), "{sitemap}");
}

#[tokio::test]
async fn old_publisher_pages_redirect_to_their_organization() {
    let p = portal().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for (path, to) in [
        ("/publisher/eurometropole-de-strasbourg/", "/organizations/ems/"),
        ("/publisher/ville-de-strasbourg", "/organizations/ville/"),
        ("/publisher/ems/", "/organizations/ems/"),
        ("/publisher/ville-de-strasbourg/?lang=en", "/organizations/ville/?lang=en"),
    ] {
        let response = client.get(format!("{}{path}", p.server.base)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 308, "GET {path}");
        assert_eq!(response.headers()["location"], to, "GET {path}");
    }
    // A publisher named only in metadata keeps its list, and unknown ones are not found.
    let service = p.page("/publisher/service-mobilite/").await;
    assert!(service.contains("/explore/dataset/parkings-ville/"), "{service}");
    let (status, _) = p.get("/publisher/personne/", None).await;
    assert_eq!(status, 404);
    // Followed, the redirect lands on the organization's page.
    let followed = p.page("/publisher/eurometropole-de-strasbourg/").await;
    assert!(followed.contains(&format!("<h1>{EMS}</h1>")), "{followed}");
}

#[tokio::test]
async fn organization_facet_refine_and_exclude_respect_visibility() {
    let p = portal().await;
    let facets = format!("{V}/catalog/facets?facet=organization");

    // Anonymous: only public datasets are counted.
    let anonymous = p.json(&facets, None).await;
    assert_eq!(org_counts(&anonymous), pairs(&[("ems", 1), ("ville", 1)]));
    for hidden in HIDDEN.iter().chain(&["labo"]) {
        assert!(!anonymous.to_string().contains(hidden), "{hidden}: {anonymous}");
    }
    // A viewer of ems sees its restricted dataset (not its draft); one of labo, labo's.
    let ems_viewer = p.json(&facets, Some(&p.ems_viewer)).await;
    assert_eq!(org_counts(&ems_viewer), pairs(&[("ems", 2), ("ville", 1)]));
    let labo_viewer = p.json(&facets, Some(&p.labo_viewer)).await;
    assert_eq!(org_counts(&labo_viewer), pairs(&[("ems", 1), ("labo", 1), ("ville", 1)]));
    // The default facets include it.
    let default = p.json(&format!("{V}/catalog/facets"), None).await;
    assert_eq!(org_counts(&default), pairs(&[("ems", 1), ("ville", 1)]));

    // refine and exclude by organization.
    let refine = format!("{V}/catalog/datasets?refine=organization:ems");
    assert_eq!(ids(&p.json(&refine, None).await), ["parkings-ems"]);
    let with_key = p.json(&refine, Some(&p.ems_viewer)).await;
    assert_eq!(ids(&with_key), ["parkings-ems", "parkings-interne"]);
    assert_eq!(with_key["total_count"], 2);
    let exclude = format!("{V}/catalog/datasets?exclude=organization:ems");
    assert_eq!(ids(&p.json(&exclude, None).await), ["parkings-ville"]);
    assert_eq!(
        ids(&p.json(&exclude, Some(&p.labo_viewer)).await),
        ["labo-mesures", "parkings-ville"]
    );
    let labo = format!("{V}/catalog/datasets?refine=organization:labo");
    let nothing = p.json(&labo, None).await;
    assert_eq!(nothing["total_count"], 0, "{nothing}");
    // As a field of the catalog table, in where and group_by too.
    let by_org = format!(
        "{V}/catalog/datasets?select={}&group_by=organization&order_by=organization",
        enc("organization, count(*) as n")
    );
    let groups = p.json(&by_org, None).await;
    assert_eq!(
        groups["results"],
        json!([{"organization": "ems", "n": 1}, {"organization": "ville", "n": 1}])
    );
    let filtered = p
        .json(&format!("{V}/catalog/datasets?where={}", enc("organization = 'ville'")), None)
        .await;
    assert_eq!(ids(&filtered), ["parkings-ville"]);
    // A facet refined by an organization still counts only what the caller sees.
    let refined = p.json(&format!("{facets}&refine=organization:ems"), Some(&p.ems_viewer)).await;
    assert_eq!(org_counts(&refined), pairs(&[("ems", 2)]));

    // The portal's catalog: a facet block named by organization name, refined by identifier.
    let explore = p.page("/explore/").await;
    assert!(explore.contains("refine.organization=ems"), "{explore}");
    assert!(explore.contains(EMS), "{explore}");
    assert!(!explore.contains("refine.organization=labo"), "{explore}");
    let refined = p.page("/explore/?refine.organization=ems").await;
    assert!(refined.contains("/explore/dataset/parkings-ems/"), "{refined}");
    assert!(!refined.contains("/explore/dataset/parkings-ville/"), "{refined}");
    assert!(refined.contains(r#"id="result-count" role="status">1 jeu de données"#), "{refined}");
    let none = p.page("/explore/?refine.organization=labo").await;
    assert!(none.contains(r#"id="result-count" role="status">0 jeu de données"#), "{none}");
}

#[tokio::test]
async fn publisher_defaults_to_the_organization_name() {
    let p = portal().await;
    let one = |id: &str| format!("{V}/catalog/datasets/{id}");
    let ems = p.json(&one("parkings-ems"), None).await;
    assert_eq!(ems["metas"]["default"]["publisher"], EMS);
    // A publisher set in the metadata is kept.
    let ville = p.json(&one("parkings-ville"), None).await;
    assert_eq!(ville["metas"]["default"]["publisher"], "Service mobilité");
    // Hidden datasets: not found anonymously, with the default for a member's key.
    let (status, body) = p.get(&one("parkings-interne"), None).await;
    assert_eq!(status, 404, "{body}");
    let interne = p.json(&one("parkings-interne"), Some(&p.ems_viewer)).await;
    assert_eq!(interne["metas"]["default"]["publisher"], EMS);
    // The catalog's publisher field and facet, and v1's dataset search, see the default.
    let where_ = format!("{V}/catalog/datasets?where={}", enc(&format!("publisher = \"{EMS}\"")));
    assert_eq!(ids(&p.json(&where_, None).await), ["parkings-ems"]);
    assert_eq!(
        ids(&p.json(&where_, Some(&p.ems_viewer)).await),
        ["parkings-ems", "parkings-interne"]
    );
    let v1 = p.json("/api/datasets/1.0/search/?rows=10", None).await;
    let v1_ems = v1["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["datasetid"] == "parkings-ems")
        .unwrap_or_else(|| panic!("{v1}"));
    assert_eq!(v1_ems["metas"]["publisher"], EMS, "{v1_ems}");
    // The portal's dataset card and page say it.
    let page = p.page("/explore/dataset/parkings-ems/").await;
    assert!(page.contains(EMS), "{page}");
}

fn kleber(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kleber"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("KLEBER_DEFAULT_ORG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn audit_actions(data: &Path) -> Vec<(String, String, String)> {
    let conn = rusqlite::Connection::open(data.join("catalog.sqlite")).unwrap();
    let mut stmt =
        conn.prepare("SELECT action, target, details FROM audit_log ORDER BY id").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn org_update_changes_pages_and_the_publisher_default_and_is_audited() {
    let p = portal().await;
    let data = p.data.clone();
    let before = audit_actions(&data).len();

    // Bad input: a precise error and nothing changed.
    for (args, expected) in [
        (vec!["org", "update", "nope", "--name", "X"], "unknown organization \"nope\""),
        (vec!["org", "update", "ems"], "nothing to change"),
        (vec!["org", "update", "ems", "--name", "  "], "name is empty"),
        (vec!["org", "update", "ems", "--kind", "empire"], "unknown organization kind"),
        (
            vec!["org", "update", "ems", "--website", "javascript:alert(1)"],
            "--website \"javascript:alert(1)\" is not a web address",
        ),
        (vec!["org", "update", "ems", "--logo", "//x.org/a.png"], "--logo"),
    ] {
        let out = kleber(&data, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    assert_eq!(audit_actions(&data).len(), before, "a refused update changes nothing");

    let out = kleber(
        &data,
        &["org", "update", "ems", "--name", "EMS", "--kind", "public_body", "--website", ""],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Updated organization ems (EMS, public_body).\n"
    );
    let log = audit_actions(&data);
    let (action, target, details) = log.last().unwrap();
    assert_eq!((action.as_str(), target.as_str()), ("org.update", "ems"));
    let details: Value = serde_json::from_str(details).unwrap();
    assert_eq!(details, json!({"name": "EMS", "kind": "public_body", "website": null}));

    // The running server follows: the page, the publisher default.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = p.page("/organizations/ems/").await;
        if page.contains("<h1>EMS</h1>") {
            assert!(page.contains("Organisme public"), "{page}");
            assert!(!page.contains("https://www.strasbourg.eu/"), "website removed: {page}");
            assert!(page.contains("https://example.org/logo-ems.png"), "logo kept: {page}");
            break;
        }
        assert!(Instant::now() < deadline, "the server never saw the update: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ems = p.json(&format!("{V}/catalog/datasets/parkings-ems"), None).await;
    assert_eq!(ems["metas"]["default"]["publisher"], "EMS");

    // `org list` shows each organization with its dataset count and web site.
    let out = kleber(&data, &["org", "list"]);
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains("ems\tpublic_body\tEMS\t3 datasets\t-\n"), "{list}");
    assert!(list.contains("vide\tcommune\tCommune Vide\t0 datasets\t-\n"), "{list}");
    assert!(list.contains("default\tpublic_body\tdefault  (default)\t0 datasets\t-\n"), "{list}");
}
