//! The stored layout and the scan paths answer alike (issue 17): a data directory whose files
//! were written with the layout before small data pages (the writer's default 20,000-row
//! pages) answers every query exactly as the same data written today, and a small version
//! held in memory answers as its file does.

use std::path::Path;

use kleber_query::Limits;
use serde_json::Value;

use crate::common::{TestServer, import, real};

/// Copies a data directory (catalog and version files), as a backup would.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Rewrites every version file under `dir` as the importer wrote it before small data pages:
/// the same batches, schema and metadata, with the writer's default page size.
fn rewrite_with_old_layout(dir: &Path) -> usize {
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::basic::Compression;
    use parquet::file::properties::{EnabledStatistics, WriterProperties};

    let mut rewritten = 0;
    for dataset in std::fs::read_dir(dir.join("datasets")).expect("datasets") {
        let path = dataset.expect("entry").path().join("v1").join("data.parquet");
        let file = std::fs::File::open(&path).expect("open");
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet");
        let kv = builder.metadata().file_metadata().key_value_metadata().cloned();
        let schema = builder.schema().clone();
        let batches: Vec<_> =
            builder.build().expect("reader").collect::<Result<_, _>>().expect("batches");
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(128 * 1024))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_key_value_metadata(kv)
            .build();
        let out = std::fs::File::create(&path).expect("create");
        let mut writer = ArrowWriter::try_new(out, schema, Some(props)).expect("writer");
        for batch in &batches {
            writer.write(batch).expect("write");
        }
        writer.close().expect("close");
        rewritten += 1;
    }
    rewritten
}

/// A city table big enough for several data pages per column: `id;commune;montant`.
fn records_csv(dir: &Path) -> std::path::PathBuf {
    let communes = ["Strasbourg", "Schiltigheim", "Hœnheim", "La Wantzenau", "Ostwald"];
    let mut csv = String::from("id;commune;montant\n");
    for i in 0..40_000_usize {
        csv.push_str(&format!("{i};{};{}.5\n", communes[i * 7 % 5], i * 37 % 5003));
    }
    let path = dir.join("records.csv");
    std::fs::write(&path, csv).expect("write csv");
    path
}

const QUERIES: &[(&str, &str)] = &[
    (
        "records",
        "where=commune%3D%22H%C5%93nheim%22%20AND%20montant%20%3E%204900&order_by=montant%20desc&limit=100",
    ),
    ("records", "where=montant%20%3E%204990&order_by=id&limit=100&offset=3"),
    ("records", "limit=20&offset=31000"),
    ("records", "select=commune,count(*)%20as%20n,avg(montant)%20as%20m&group_by=commune"),
    ("records", "where=id%20%3D%2039999"),
    (
        "velib",
        "where=capacite_de_la_station%20%3E%2040&order_by=capacite_de_la_station%20desc,identifiant_station&limit=50",
    ),
    ("velib", "select=count(*)%20as%20n&group_by=station_en_fonctionnement"),
    ("velib", "limit=10&offset=1400"),
];

async fn answers(server: &TestServer) -> Vec<Value> {
    let mut out = Vec::new();
    for (dataset, query) in QUERIES {
        let path = format!("/api/explore/v2.1/catalog/datasets/{dataset}/records?{query}");
        out.push(server.json(&path, 200).await);
    }
    let csv = server.get("/api/explore/v2.1/catalog/datasets/records/exports/csv").await;
    assert_eq!(csv.0, 200);
    out.push(Value::String(csv.2));
    out
}

#[tokio::test]
async fn a_data_dir_with_the_old_page_layout_answers_as_the_new_one() {
    let sources = tempfile::tempdir().expect("temp dir");
    let new = tempfile::tempdir().expect("temp dir");
    import(new.path(), &records_csv(sources.path()), "records", Default::default());
    let velib = real("paris_velib-disponibilite-en-temps-reel_utf8-bom.csv");
    import(new.path(), &velib, "velib", Default::default());
    let old = tempfile::tempdir().expect("temp dir");
    copy_dir(new.path(), old.path());
    assert_eq!(rewrite_with_old_layout(old.path()), 2);

    let no_memory = Limits { in_memory_bytes: 0, ..Limits::default() };
    let timeout = std::time::Duration::from_secs(30);
    // The new layout, small versions in memory (the default).
    let server = TestServer::start(new).await;
    let in_memory = answers(&server).await;
    let new = server.stop();
    // The new layout, read from the files.
    let server = TestServer::start_with(new, no_memory, timeout).await;
    let new_files = answers(&server).await;
    drop(server);
    // The old layout, read from the files.
    let server = TestServer::start_with(old, no_memory, timeout).await;
    let old_files = answers(&server).await;
    // Independently of the engine: the count of the first query, from the generated rows.
    let want = (0..40_000_usize).filter(|i| i * 7 % 5 == 2 && i * 37 % 5003 >= 4900).count();
    assert_eq!(old_files[0]["total_count"], want);
    assert_eq!(old_files[0]["results"].as_array().map(Vec::len), Some(want.min(100)));
    for (n, ((a, b), c)) in old_files.iter().zip(&new_files).zip(&in_memory).enumerate() {
        assert_eq!(a, b, "query {n}: old layout vs new layout");
        assert_eq!(b, c, "query {n}: from the file vs from memory");
    }
}
