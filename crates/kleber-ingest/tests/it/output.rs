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
