//! Facets, refine and exclude on records, exports and the catalog.

use std::collections::BTreeMap;

use kleber_ingest::ImportOptions;
use serde_json::{Value, json};

use crate::common::{TestServer, enc, import, real};

const V: &str = "/api/explore/v2.1";
const PARKINGS: &str = "strasbourg_occupation-parkings-temps-reel.csv";

fn parking_states() -> BTreeMap<String, u64> {
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_path(real(PARKINGS)).unwrap();
    let mut counts = BTreeMap::new();
    for row in reader.records() {
        *counts.entry(row.unwrap()[4].to_owned()).or_default() += 1;
    }
    counts
}

/// Measures with dates over two years, written here so the expected counts are known.
fn write_measures(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("mesures.csv");
    let mut s = String::from("station;date;valeur;tags\n");
    for (i, date) in [
        "2023-01-15",
        "2023-01-20",
        "2023-02-01",
        "2023-12-31",
        "2024-01-01",
        "2024-06-15",
        "2024-06-16",
    ]
    .iter()
    .enumerate()
    {
        s.push_str(&format!(
            "S{};{date};{};{}\n",
            i % 3,
            i * 10,
            if i % 2 == 0 { "a,b" } else { "b" }
        ));
    }
    std::fs::write(&path, s).unwrap();
    path
}

async fn server() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &real(PARKINGS), "parkings", ImportOptions::default());
    let measures = write_measures(dir.path());
    let mut options = ImportOptions::default();
    options.multivalued.insert("tags".into(), ",".into());
    import(dir.path(), &measures, "mesures", options);
    TestServer::start(dir).await
}

fn group<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["facets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .unwrap_or_else(|| panic!("no facet {name} in {v}"))
}

#[tokio::test]
async fn text_facets_count_like_the_source() {
    let server = server().await;
    let expected = parking_states();
    let v = server
        .json(&format!("{V}/catalog/datasets/parkings/facets?facet=etat_descriptif"), 200)
        .await;
    assert_eq!(v["links"], json!([]));
    let values = group(&v, "etat_descriptif")["facets"].as_array().unwrap().clone();
    assert_eq!(values.len(), expected.len());
    for value in &values {
        let name = value["value"].as_str().unwrap();
        assert_eq!(value["count"], expected[name], "{name}");
        assert_eq!(value["state"], "displayed");
        assert_eq!(value["name"], name);
    }
    assert!(values[0]["count"].as_u64() >= values[1]["count"].as_u64(), "sorted by -count");
}

#[tokio::test]
async fn refine_and_exclude_filter_records_and_mark_facet_states() {
    let server = server().await;
    let expected = parking_states();
    let ouvert = expected["Ouvert"];
    let v = server
        .json(
            &format!(
                "{V}/catalog/datasets/parkings/records?limit=0&refine={}",
                enc("etat_descriptif:Ouvert")
            ),
            200,
        )
        .await;
    assert_eq!(v["total_count"], ouvert);
    let v = server
        .json(
            &format!(
                "{V}/catalog/datasets/parkings/records?limit=0&refine={}",
                enc("etat_descriptif:\"Ouvert\"")
            ),
            200,
        )
        .await;
    assert_eq!(v["total_count"], ouvert);
    let v = server
        .json(
            &format!(
                "{V}/catalog/datasets/parkings/records?limit=0&exclude={}",
                enc("etat_descriptif:Ouvert")
            ),
            200,
        )
        .await;
    let total: u64 = expected.values().sum();
    assert_eq!(v["total_count"], total - ouvert);

    let f = server
        .json(
            &format!(
                "{V}/catalog/datasets/parkings/facets?facet=etat_descriptif&exclude={}",
                enc("etat_descriptif:Ouvert")
            ),
            200,
        )
        .await;
    let states: BTreeMap<String, String> = group(&f, "etat_descriptif")["facets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["value"].as_str().unwrap().to_owned(), x["state"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(states["Ouvert"], "excluded");
    let f = server
        .json(
            &format!(
                "{V}/catalog/datasets/parkings/facets?facet=etat_descriptif&refine={}",
                enc("etat_descriptif:Ouvert")
            ),
            200,
        )
        .await;
    let values = group(&f, "etat_descriptif")["facets"].as_array().unwrap().clone();
    assert_eq!(
        values,
        vec![json!({"name": "Ouvert", "value": "Ouvert", "count": ouvert, "state": "refined"})]
    );

    // Exports take refine too.
    let v = server
        .json(
            &format!(
                "{V}/catalog/datasets/parkings/exports/json?select=nom_parking&exclude={}",
                enc("etat_descriptif:Ouvert")
            ),
            200,
        )
        .await;
    assert_eq!(v.as_array().unwrap().len() as u64, total - ouvert);

    let bad =
        server.json(&format!("{V}/catalog/datasets/parkings/records?refine=nothing"), 400).await;
    assert_eq!(bad["error_code"], "InvalidRESTParameterError");
    let bad =
        server.json(&format!("{V}/catalog/datasets/parkings/records?refine=nope:1"), 400).await;
    assert!(bad["message"].as_str().unwrap().contains("unknown facet"), "{bad}");
}

#[tokio::test]
async fn date_facets_are_hierarchical_and_refinable() {
    let server = server().await;
    let v = server.json(&format!("{V}/catalog/datasets/mesures/facets?facet=date"), 200).await;
    let years = group(&v, "date")["facets"].as_array().unwrap().clone();
    assert_eq!(
        years
            .iter()
            .map(|y| (y["value"].as_str().unwrap(), y["count"].as_u64().unwrap()))
            .collect::<Vec<_>>(),
        vec![("2023", 4), ("2024", 3)]
    );
    assert!(years.iter().all(|y| y.get("facets").is_none()));

    let v = server
        .json(
            &format!("{V}/catalog/datasets/mesures/facets?facet=date&refine={}", enc("date:2023")),
            200,
        )
        .await;
    let years = group(&v, "date")["facets"].as_array().unwrap().clone();
    assert_eq!(years.len(), 1);
    assert_eq!(years[0]["state"], "refined");
    let months: Vec<_> = years[0]["facets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["value"].as_str().unwrap().to_owned(),
                m["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        months,
        vec![
            ("01".into(), "2023/01".into(), 2),
            ("02".into(), "2023/02".into(), 1),
            ("12".into(), "2023/12".into(), 1)
        ]
    );

    let v = server
        .json(
            &format!("{V}/catalog/datasets/mesures/records?limit=0&refine={}", enc("date:2024/06")),
            200,
        )
        .await;
    assert_eq!(v["total_count"], 2);
    let v = server
        .json(
            &format!(
                "{V}/catalog/datasets/mesures/records?limit=0&refine={}",
                enc("date:2023/12/31")
            ),
            200,
        )
        .await;
    assert_eq!(v["total_count"], 1);
}

#[tokio::test]
async fn multivalued_facets_count_each_element_and_disjunction_ors() {
    let server = server().await;
    let v = server.json(&format!("{V}/catalog/datasets/mesures/facets?facet=tags"), 200).await;
    let tags: BTreeMap<String, u64> = group(&v, "tags")["facets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["value"].as_str().unwrap().to_owned(), t["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(tags, BTreeMap::from([("a".to_owned(), 4), ("b".to_owned(), 7)]));
    let v = server
        .json(
            &format!("{V}/catalog/datasets/mesures/records?limit=0&refine={}", enc("tags:a")),
            200,
        )
        .await;
    assert_eq!(v["total_count"], 4);

    // Conjunctive: S0 and S1 at once matches nothing; disjunctive facet: either.
    let q = format!("refine={}&refine={}", enc("station:S0"), enc("station:S1"));
    let v = server.json(&format!("{V}/catalog/datasets/mesures/records?limit=0&{q}"), 200).await;
    assert_eq!(v["total_count"], 0);
    let f = server
        .json(
            &format!(
                "{V}/catalog/datasets/mesures/facets?{q}&facet={}",
                enc("facet(name=\"station\", disjunctive=true)")
            ),
            200,
        )
        .await;
    let stations: BTreeMap<String, (u64, String)> = group(&f, "station")["facets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["value"].as_str().unwrap().to_owned(),
                (s["count"].as_u64().unwrap(), s["state"].as_str().unwrap().to_owned()),
            )
        })
        .collect();
    assert_eq!(stations["S0"], (3, "refined".to_owned()));
    assert_eq!(stations["S1"], (2, "refined".to_owned()));
    assert_eq!(stations["S2"], (2, "displayed".to_owned()));
    let bad = server
        .json(
            &format!(
                "{V}/catalog/datasets/mesures/facets?facet={}",
                enc("facet(name=\"station\", sort=\"sideways\")")
            ),
            400,
        )
        .await;
    assert_eq!(bad["error_code"], "InvalidRESTParameterError");
}

#[tokio::test]
async fn hierarchical_text_facets_split_on_their_separator() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lieux.csv");
    std::fs::write(&path, "nom;lieu\na;France/Grand Est/Strasbourg\nb;France/Grand Est/Strasbourg\nc;France/Grand Est/Colmar\nd;France/Île-de-France/Paris\ne;Allemagne/Bade/Kehl\n").unwrap();
    import(dir.path(), &path, "lieux", ImportOptions::default());
    let store = kleber_store::Store::open(dir.path()).unwrap();
    store
        .annotate_field(
            "lieux",
            "lieu",
            &[("hierarchical".into(), vec!["/".into()]), ("facet".into(), vec![])],
            &[],
        )
        .unwrap();
    drop(store);
    let server = TestServer::start(dir).await;
    let v = server.json(&format!("{V}/catalog/datasets/lieux/facets?facet=lieu"), 200).await;
    let top: Vec<_> = group(&v, "lieu")["facets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["value"].as_str().unwrap().to_owned(), x["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(top, vec![("France".to_owned(), 4), ("Allemagne".to_owned(), 1)]);
    let v = server
        .json(
            &format!(
                "{V}/catalog/datasets/lieux/facets?facet=lieu&refine={}",
                enc("lieu:France/Grand Est")
            ),
            200,
        )
        .await;
    let france = &group(&v, "lieu")["facets"][0];
    assert_eq!(
        (france["value"].as_str(), france["state"].as_str()),
        (Some("France"), Some("refined"))
    );
    let regions = france["facets"].as_array().unwrap();
    assert_eq!(regions.len(), 1, "refining narrows to the refined region: {france}");
    assert_eq!(
        (regions[0]["name"].as_str(), regions[0]["count"].as_u64()),
        (Some("Grand Est"), Some(3))
    );
    let cities: Vec<_> = regions[0]["facets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_owned(), c["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(cities, vec![("Strasbourg".to_owned(), 2), ("Colmar".to_owned(), 1)]);
    let r = server
        .json(
            &format!("{V}/catalog/datasets/lieux/records?limit=0&refine={}", enc("lieu:France")),
            200,
        )
        .await;
    assert_eq!(r["total_count"], 4);
    // Without the annotation, facet(hierarchical=true) asks for the same tree.
    let v = server
        .json(
            &format!(
                "{V}/catalog/datasets/lieux/facets?facet={}",
                enc("facet(name=\"nom\", hierarchical=true, separator=\"/\")")
            ),
            200,
        )
        .await;
    assert_eq!(group(&v, "nom")["facets"].as_array().unwrap().len(), 5);
}
