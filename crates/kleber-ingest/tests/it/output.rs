//! The Parquet file itself, progress, issue files, formats.

use kleber_ingest::{Format, ImportOptions, LocationKind, RowIssue, write_issues_csv};
use kleber_types::Field;

use crate::util::{import, temp_file};

#[test]
fn parquet_metadata_row_groups_and_schema() {
    let mut csv = b"id;name;day\n".to_vec();
    for n in 0..10 {
        csv.extend_from_slice(format!("{n};n{n};2024-01-0{}\n", n % 9 + 1).as_bytes());
    }
    let (_d, p) = temp_file("t.csv", &csv);
    let opts = ImportOptions { row_group_size: 4, ..ImportOptions::default() };
    let i = import(&p, &opts);
    assert_eq!(i.row_groups, 3);
    let fields: Vec<Field> =
        serde_json::from_str(i.fields_metadata.as_deref().expect("kleber.fields"))
            .expect("fields json");
    assert_eq!(fields, i.outcome.fields);
    for (f, (name, col)) in i.outcome.fields.iter().zip(&i.columns) {
        assert_eq!(&f.name, name);
        assert_eq!(col.data_type(), &f.storage_type());
    }
    assert_eq!(i.int("id", 9), Some(9));
}

#[test]
fn progress_ends_complete() {
    let (_d, p) = temp_file("t.csv", b"a,b\n1,2\n3,4\n");
    let i = import(&p, &ImportOptions::default());
    let last = i.progress.last().expect("progress reported");
    assert_eq!(last.bytes_done, last.bytes_total);
    assert_eq!(last.rows, 2);
}

#[test]
fn issues_csv() {
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("issues.csv");
    let issues = vec![RowIssue {
        line: 3,
        location_kind: LocationKind::Line,
        field: Some("id".to_owned()),
        value: Some("a,b".to_owned()),
        reason: "\"a,b\" is not an int".to_owned(),
    }];
    write_issues_csv(&issues, &out).expect("write");
    let text = std::fs::read_to_string(&out).expect("read");
    assert_eq!(text, "line,field,value,reason\n3,id,\"a,b\",\"\"\"a,b\"\" is not an int\"\n");
}

#[test]
fn format_names_round_trip() {
    for f in Format::ALL {
        assert_eq!(f.to_string().parse::<Format>(), Ok(*f));
    }
    assert!("xml".parse::<Format>().is_err());
}

/// Data pages hold at most 8,192 rows and the page index is written, so that a query whose
/// filter keeps few rows decodes only their pages (docs: ARCHITECTURE.md, kleber-ingest).
#[test]
fn data_pages_are_small_and_indexed() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::file::serialized_reader::ReadOptionsBuilder;

    let rows = 30_000_usize;
    let mut csv = b"id;commune;montant\n".to_vec();
    for n in 0..rows {
        csv.extend_from_slice(format!("{n};c{};{}.5\n", n % 7, n * 3 % 1000).as_bytes());
    }
    let (_d, p) = temp_file("t.csv", &csv);
    let i = import(&p, &ImportOptions::default());
    assert_eq!(i.rows(), rows);
    let file = std::fs::File::open(i.dir.path().join("out.parquet")).expect("output");
    let options = ReadOptionsBuilder::new().with_page_index().build();
    let reader = SerializedFileReader::new_with_options(file, options).expect("parquet");
    let meta = reader.metadata();
    assert_eq!(meta.num_row_groups(), 1, "30,000 rows fit one row group");
    let offsets = meta.offset_index().expect("offset index written");
    assert!(meta.column_index().is_some(), "column index written");
    for (column, index) in offsets[0].iter().enumerate() {
        let starts: Vec<i64> = index.page_locations().iter().map(|p| p.first_row_index).collect();
        let mut bounds = starts.clone();
        bounds.push(rows as i64);
        let sizes: Vec<i64> = bounds.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(sizes.len() >= 4, "column {column}: {sizes:?}");
        assert!(sizes.iter().all(|&n| n > 0 && n <= 8192), "column {column}: {sizes:?}");
        assert_eq!(sizes.iter().sum::<i64>(), rows as i64);
    }
}

/// A fixed-width column whose values barely repeat keeps a dictionary of at most 128 KiB (the
/// writer then falls back to plain pages), so reading one record never decompresses a
/// megabyte of dictionary; a repeated text column stays dictionary-encoded
/// (`kleber_types::layout`).
#[test]
fn dictionaries_of_nearly_unique_numbers_stay_small() {
    use parquet::file::reader::{FileReader, SerializedFileReader};

    let rows = 100_000_usize;
    let mut csv = b"id;commune;montant\n".to_vec();
    for n in 0..rows {
        csv.extend_from_slice(format!("{n};c{};{}.25\n", n % 7, n * 7919 % 1_000_003).as_bytes());
    }
    let (_d, p) = temp_file("t.csv", &csv);
    let i = import(&p, &ImportOptions::default());
    assert_eq!(i.rows(), rows);
    let file = std::fs::File::open(i.dir.path().join("out.parquet")).expect("output");
    let reader = SerializedFileReader::new(file).expect("parquet");
    let group = reader.metadata().row_group(0);
    for column in group.columns() {
        let name = column.column_path().string();
        let dictionary = column.dictionary_page_offset().expect("a dictionary page");
        let dictionary_bytes = column.data_page_offset() - dictionary;
        match name.as_str() {
            // The page as stored (header and Snappy framing included); without the bound,
            // the 100,000 distinct ids made a dictionary of 800,000 bytes.
            "id" | "montant" => {
                assert!(dictionary_bytes <= 140 << 10, "{name}: {dictionary_bytes} bytes");
            }
            "commune" => assert!(dictionary_bytes < 1024, "{name}: {dictionary_bytes} bytes"),
            other => panic!("unexpected column {other}"),
        }
    }
}
