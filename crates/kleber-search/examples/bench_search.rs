//! Search latency on a catalog of 10,000 generated datasets.
//!
//! ```sh
//! cargo run --release -p kleber-search --example bench_search
//! ```
//!
//! Builds the index, then times 1,000 searches (limit 20) cycling through a
//! mix of queries: common and rare words, several words, prefixes (down to
//! one letter), typos, a query matching every dataset, one matching none,
//! and a pasted paragraph. Prints the build time and the latency percentiles
//! in microseconds.

#[path = "../tests/it/synthetic.rs"]
mod synthetic;

use std::hint::black_box;
use std::time::{Duration, Instant};

use kleber_search::CatalogIndex;

const DATASETS: usize = 10_000;
const SEARCHES: usize = 1_000;
const LIMIT: usize = 20;

const QUERIES: &[&str] = &[
    "velo",
    "vélos",
    "parkings",
    "stationnement payant",
    "piscines schiltigheim 2019",
    "qualité de l'air à strasbourg",
    "tram*",
    "m*",
    "s*",
    "ecl*",
    "stationement",
    "bibliotheque",
    "donnees",
    "strasbourg",
    "budget primitif 2021",
    "aires de jeux enfants",
    "zzzz introuvable",
    "\"unbalanced AND OR :",
    "Données de comptage des vélos et des véhicules électriques publiées chaque année \
     par la commune de Strasbourg au format CSV et GeoJSON pour les écoles",
    "Écoles élémentaires Ostwald",
];

fn main() -> Result<(), kleber_search::Error> {
    let docs = synthetic::generate(DATASETS);
    let start = Instant::now();
    let index = CatalogIndex::build(&docs)?;
    let build = start.elapsed();
    println!("built the index of {} datasets in {} ms", index.len(), build.as_millis());

    // Warm up (and show what each query finds).
    for query in QUERIES {
        let hits = index.search(query, DATASETS)?;
        println!("{:>6} hits  {query:?}", hits.len());
    }

    let mut times: Vec<Duration> = Vec::with_capacity(SEARCHES);
    for i in 0..SEARCHES {
        let query = QUERIES[i % QUERIES.len()];
        let start = Instant::now();
        let hits = index.search(black_box(query), LIMIT)?;
        times.push(start.elapsed());
        black_box(hits);
    }
    times.sort();
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let percentile = |p: f64| {
        let rank = ((p / 100.0) * times.len() as f64).ceil() as usize;
        micros(times[rank.clamp(1, times.len()) - 1])
    };
    let mean = times.iter().map(|d| micros(*d)).sum::<f64>() / times.len() as f64;
    println!(
        "{SEARCHES} searches (limit {LIMIT}): p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, \
         max {:.0} µs, mean {mean:.0} µs",
        percentile(50.0),
        percentile(90.0),
        percentile(99.0),
        micros(times[times.len() - 1]),
    );
    Ok(())
}
