//! The same filters and aggregations computed by SQLite give the same numbers.
//!
//! A generated dataset is imported into Kleber through a CSV file and loaded, row by row, into
//! an in-memory SQLite database; each ODSQL query is paired with the SQL a person would write.

use std::collections::BTreeMap;

use kleber_ingest::ImportOptions;
use rusqlite::Connection;
use serde_json::Value;

use crate::common::{TestServer, enc, import};

const CATEGORIES: &[&str] = &[
    "Voirie",
    "Propreté",
    "Éclairage",
    "Espaces verts",
    "Stationnement",
    "Bruit",
    "Mobilier urbain",
    "Tags",
    "Animaux",
    "Eau",
];
const COMMUNES: &[&str] = &[
    "Strasbourg",
    "Schiltigheim",
    "Illkirch-Graffenstaden",
    "Lingolsheim",
    "Bischheim",
    "Hœnheim",
    "Ostwald",
];

struct Row {
    id: i64,
    categorie: &'static str,
    commune: &'static str,
    montant: Option<f64>,
    quantite: i64,
    date: String,
}

fn rows() -> Vec<Row> {
    let mut state: u64 = 42;
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        state >> 33
    };
    (0..3000)
        .map(|i| {
            let day = next() % 1100;
            let date =
                chrono::NaiveDate::from_ymd_opt(2022, 1, 1).unwrap() + chrono::Days::new(day);
            Row {
                id: i,
                categorie: CATEGORIES[(next() % CATEGORIES.len() as u64) as usize],
                commune: COMMUNES[(next() % COMMUNES.len() as u64) as usize],
                montant: (next() % 10 != 0).then(|| (next() % 100_000) as f64 / 100.0),
                quantite: (next() % 50) as i64,
                date: date.format("%Y-%m-%d").to_string(),
            }
        })
        .collect()
}

async fn setup() -> (TestServer, Connection) {
    let rows = rows();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signalements.csv");
    let mut csv = String::from("id;categorie;commune;montant;quantite;date\n");
    for r in &rows {
        let montant = r.montant.map(|m| format!("{m}")).unwrap_or_default();
        csv.push_str(&format!(
            "{};{};{};{};{};{}\n",
            r.id, r.categorie, r.commune, montant, r.quantite, r.date
        ));
    }
    std::fs::write(&path, csv).unwrap();
    import(dir.path(), &path, "signalements", ImportOptions::default());
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch("CREATE TABLE t (id INTEGER, categorie TEXT, commune TEXT, montant REAL, quantite INTEGER, date TEXT)").unwrap();
    for r in &rows {
        db.execute(
            "INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![r.id, r.categorie, r.commune, r.montant, r.quantite, r.date],
        )
        .unwrap();
    }
    (TestServer::start(dir).await, db)
}

fn sqlite_count(db: &Connection, where_sql: &str) -> u64 {
    db.query_row(&format!("SELECT COUNT(*) FROM t WHERE {where_sql}"), [], |r| r.get::<_, i64>(0))
        .unwrap() as u64
}

#[tokio::test]
async fn filters_count_like_sqlite() {
    let (server, db) = setup().await;
    let cases = [
        ("montant > 500", "montant > 500"),
        ("montant > 500 AND categorie = \"Voirie\"", "montant > 500 AND categorie = 'Voirie'"),
        ("quantite < 5 OR commune = \"Hœnheim\"", "quantite < 5 OR commune = 'Hœnheim'"),
        ("NOT categorie IN (\"Tags\", \"Bruit\")", "NOT categorie IN ('Tags', 'Bruit')"),
        ("montant IS NULL", "montant IS NULL"),
        (
            "montant IS NOT NULL AND quantite IN [10..20]",
            "montant IS NOT NULL AND quantite BETWEEN 10 AND 20",
        ),
        (
            "date >= date'2023-03-01' AND date < date'2023-04-01'",
            "date >= '2023-03-01' AND date < '2023-04-01'",
        ),
        ("year(date) = 2024", "strftime('%Y', date) = '2024'"),
        ("quantite * 2 + 1 > 60", "quantite * 2 + 1 > 60"),
    ];
    for (odsql, sql) in cases {
        let v = server
            .json(
                &format!(
                    "/api/explore/v2.1/catalog/datasets/signalements/records?limit=0&where={}",
                    enc(odsql)
                ),
                200,
            )
            .await;
        assert_eq!(v["total_count"].as_u64().unwrap(), sqlite_count(&db, sql), "where={odsql}");
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

#[tokio::test]
async fn aggregations_agree_with_sqlite() {
    let (server, db) = setup().await;
    let results = server
        .records(
            "signalements",
            &format!(
                "select={}&group_by=categorie&limit=100",
                enc("categorie, count(*) as n, count(montant) as nm, sum(montant) as s, avg(montant) as a, min(quantite) as mi, max(quantite) as ma")
            ),
        )
        .await;
    let mut stmt = db
        .prepare("SELECT categorie, COUNT(*), COUNT(montant), SUM(montant), AVG(montant), MIN(quantite), MAX(quantite) FROM t GROUP BY categorie")
        .unwrap();
    let expected: BTreeMap<String, (i64, i64, f64, f64, i64, i64)> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(results.len(), expected.len());
    for r in &results {
        let (n, nm, s, a, mi, ma) = expected[r["categorie"].as_str().unwrap()];
        assert_eq!(r["n"].as_i64(), Some(n));
        assert_eq!(r["nm"].as_i64(), Some(nm));
        assert!(close(r["s"].as_f64().unwrap(), s), "{r} sum {s}");
        assert!(close(r["a"].as_f64().unwrap(), a), "{r} avg {a}");
        assert_eq!(r["mi"].as_i64(), Some(mi));
        assert_eq!(r["ma"].as_i64(), Some(ma));
    }

    // Counts by year and month, ordered by count then key.
    let by_month = server
        .records(
            "signalements",
            &format!(
                "select={}&group_by={}&order_by={}&limit=100",
                enc("mois, count(*) as n"),
                enc("date_format(date, 'yyyy-MM') as mois"),
                enc("n desc, mois")
            ),
        )
        .await;
    let mut stmt = db.prepare("SELECT strftime('%Y-%m', date) AS mois, COUNT(*) AS n FROM t GROUP BY mois ORDER BY n DESC, mois").unwrap();
    let expected: Vec<(String, i64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    let got: Vec<(String, i64)> = by_month
        .iter()
        .map(|r| (r["mois"].as_str().unwrap().to_owned(), r["n"].as_i64().unwrap()))
        .collect();
    assert_eq!(got, expected);

    // A filtered, sorted page.
    let page = server
        .records(
            "signalements",
            &format!(
                "select=id,montant&where={}&order_by={}&limit=20&offset=40",
                enc("commune = \"Strasbourg\" AND montant IS NOT NULL"),
                enc("montant desc, id")
            ),
        )
        .await;
    let mut stmt = db.prepare("SELECT id FROM t WHERE commune = 'Strasbourg' AND montant IS NOT NULL ORDER BY montant DESC, id LIMIT 20 OFFSET 40").unwrap();
    let expected: Vec<i64> =
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert_eq!(page.iter().map(|r| r["id"].as_i64().unwrap()).collect::<Vec<_>>(), expected);
    let _ = Value::Null;
}
