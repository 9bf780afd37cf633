//! JSON and JSONL: Opendatasoft API v1 exports and synthetic cases.

use kleber_ingest::{Format, ImportOptions, LocationKind};
use kleber_types::FieldType;
use serde_json::Value;

use crate::util::{import, micros, real, temp_file};

fn source(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(real(name)).expect("read")).expect("json")
}

#[test]
fn velib_v1_download_values_match_the_source() {
    let name = "paris_velib-disponibilite-en-temps-reel_api-v1-download.json";
    let i = import(&real(name), &ImportOptions::default());
    assert_eq!(i.outcome.rows, 1435);
    assert_eq!(i.outcome.format, Format::Json);
    assert_eq!(
        i.names(),
        [
            "numbikesavailable",
            "numdocksavailable",
            "is_renting",
            "is_installed",
            "is_returning",
            "duedate"
        ]
    );
    assert_eq!(i.type_of("numbikesavailable"), FieldType::Int);
    assert_eq!(i.type_of("duedate"), FieldType::Datetime);
    let src = source(name);
    let items = src.as_array().expect("array");
    for (row, item) in items.iter().enumerate() {
        let f = &item["fields"];
        assert_eq!(i.int("numbikesavailable", row), f["numbikesavailable"].as_i64(), "row {row}");
        assert_eq!(i.str("is_renting", row).as_deref(), f["is_renting"].as_str(), "row {row}");
        assert_eq!(i.ts("duedate", row), f["duedate"].as_str().map(micros), "row {row}");
    }
}

#[test]
fn piscines_v1_download() {
    let name = "strasbourg_frequentation-piscines-temps-reel_api-v1-download.json";
    let i = import(&real(name), &ImportOptions::default());
    assert_eq!(i.outcome.rows, 8);
    // "2021-02-19 15:27:02": a date-time without offset, taken as UTC.
    assert_eq!(i.type_of("updatedate"), FieldType::Datetime);
    assert_eq!(i.ts("updatedate", 0), Some(micros("2021-02-19T15:27:02Z")));
    assert_eq!(i.type_of("isopen"), FieldType::Int);
    assert_eq!(i.type_of("sigid"), FieldType::Text);
    assert_eq!(i.str("name", 2).as_deref(), Some("Piscine d'Ostwald"));
    let src = source(name);
    for (row, item) in src.as_array().expect("array").iter().enumerate() {
        assert_eq!(i.str("name", row).as_deref(), item["fields"]["name"].as_str());
        assert_eq!(i.int("occupation", row), item["fields"]["occupation"].as_i64());
    }
}

#[test]
fn parkings_v1_search_records_and_position() {
    let name = "strasbourg_parkings_api-v1-search.json";
    let i = import(&real(name), &ImportOptions::default());
    assert_eq!(i.outcome.rows, 10);
    // `position` is a [lat, lon] pair: geo_point_2d; the record geometry duplicates it and is
    // therefore not added.
    assert_eq!(i.type_of("position"), FieldType::GeoPoint2d);
    assert!(
        !i.names().iter().any(|n| n.starts_with("geo_") || *n == "geometry"),
        "{:?}",
        i.names()
    );
    assert!(!i.names().contains(&"recordid"));
    assert_eq!(i.point("position", 0), Some((7.75367351195, 48.5729892619)));
    assert_eq!(i.str("name", 0).as_deref(), Some("Parking public – Centre administratif"));
    assert_eq!(i.str("street", 0).as_deref(), Some("1 parc de l’Étoile"));
    // A zip code written as a JSON string stays text.
    assert_eq!(i.type_of("zipcode"), FieldType::Text);
    assert_eq!(i.str("zipcode", 0).as_deref(), Some("67000"));
    // `description` is missing from some records: null there.
    assert_eq!(i.str("description", 0), None);
    assert!(i.str("description", 1).is_some());
}

#[test]
fn parkings_search_with_facets() {
    let name = "strasbourg_occupation-parkings-temps-reel_api-v1-search-facet.json";
    let i = import(&real(name), &ImportOptions::default());
    assert_eq!(i.outcome.rows, 30);
    assert_eq!(i.type_of("ident"), FieldType::Int);
    assert_eq!(i.type_of("infousager"), FieldType::Text);
    assert!(i.field("etat_descriptif").annotations.contains_key("facet"));
    let src = source(name);
    for (row, rec) in src["records"].as_array().expect("records").iter().enumerate() {
        assert_eq!(i.int("libre", row), rec["fields"]["libre"].as_i64());
        assert_eq!(i.str("infousager", row).as_deref(), rec["fields"]["infousager"].as_str());
    }
}

#[test]
fn plain_array_nested_values_and_lists() {
    let (_d, p) = temp_file(
        "t.json",
        br#"[
  {"id": 1, "tags": ["a", "b"], "meta": {"k": [1, 2]}, "ok": true, "x": 1},
  {"id": 2, "tags": [], "meta": null, "ok": false, "x": 2.5, "extra": "late"},
  {"id": 3, "tags": ["c"], "meta": {"k": "v"}, "ok": null, "x": null}
]"#,
    );
    let i = import(&p, &ImportOptions::default());
    assert_eq!(i.names(), ["id", "tags", "meta", "ok", "x", "extra"]);
    assert_eq!(i.type_of("tags"), FieldType::Text);
    assert_eq!(i.field("tags").annotations.get("multivalued"), Some(&vec![",".to_owned()]));
    assert_eq!(i.list("tags", 0), Some(vec!["a".to_owned(), "b".to_owned()]));
    assert_eq!(i.list("tags", 1), None);
    assert_eq!(i.type_of("meta"), FieldType::Text);
    assert_eq!(i.str("meta", 0).as_deref(), Some(r#"{"k":[1,2]}"#));
    assert_eq!(i.type_of("ok"), FieldType::Boolean);
    assert_eq!(i.boolean("ok", 1), Some(false));
    assert_eq!(i.type_of("x"), FieldType::Double);
    assert_eq!(i.double("x", 0), Some(1.0));
    assert_eq!(i.str("extra", 1).as_deref(), Some("late"));
    assert_eq!(i.str("extra", 0), None);
}

#[test]
fn mixed_types_become_text_without_losing_values() {
    let (_d, p) = temp_file("t.json", br#"[{"ident": 11}, {"ident": "12b"}, {"ident": 1.5}]"#);
    let i = import(&p, &ImportOptions::default());
    assert_eq!(i.type_of("ident"), FieldType::Text);
    assert_eq!(
        (0..3).map(|r| i.str("ident", r)).collect::<Vec<_>>(),
        [Some("11".to_owned()), Some("12b".to_owned()), Some("1.5".to_owned())]
    );
}

#[test]
fn override_on_json_rejects_with_item_index() {
    let (_d, p) = temp_file("t.json", br#"[{"n": "1"}, {"n": "x"}, {"n": 3}]"#);
    let mut o = ImportOptions::default();
    o.type_overrides.insert("n".to_owned(), FieldType::Int);
    let i = import(&p, &o);
    assert_eq!(i.outcome.rows, 2);
    let r = &i.outcome.rejected;
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].line, r[0].location_kind), (2, LocationKind::Item));
    assert_eq!(r[0].reason, "\"x\" is not an int");
    assert_eq!((i.int("n", 0), i.int("n", 1)), (Some(1), Some(3)));
}

#[test]
fn non_object_items_are_rejected() {
    let (_d, p) = temp_file("t.json", br#"[{"a": 1}, 5, {"a": 2}]"#);
    let i = import(&p, &ImportOptions::default());
    assert_eq!(i.outcome.rows, 2);
    assert_eq!(i.outcome.rejected[0].line, 2);
}

#[test]
fn jsonl_bad_line_is_a_rejected_row() {
    let (_d, p) = temp_file(
        "t.jsonl",
        b"{\"a\": 1, \"b\": \"x\"}\n{\"a\": 2, \"b\": \n\n{\"a\": 3, \"b\": \"z\"}\n[1]\n",
    );
    let i = import(&p, &ImportOptions::default());
    assert_eq!(i.outcome.format, Format::Jsonl);
    assert_eq!(i.outcome.rows, 2);
    let r = &i.outcome.rejected;
    assert_eq!(r.len(), 2);
    assert_eq!((r[0].line, r[0].location_kind), (2, LocationKind::Line));
    assert!(r[0].reason.starts_with("invalid JSON"), "{}", r[0].reason);
    assert_eq!(r[1].line, 5);
    assert_eq!(i.int("a", 1), Some(3));
}

#[test]
fn jsonl_content_under_a_json_name() {
    let (_d, p) = temp_file("t.json", b"{\"a\": 1}\n{\"a\": 2}\n");
    let i = import(&p, &ImportOptions::default());
    assert_eq!(i.outcome.format, Format::Jsonl);
    assert_eq!(i.outcome.rows, 2);
}

#[test]
fn record_geometry_becomes_a_field_when_no_other_geo_field() {
    let (_d, p) = temp_file(
        "t.json",
        br#"{"records": [
  {"recordid": "r1", "fields": {"n": "a"}, "geometry": {"type": "Point", "coordinates": [7.75, 48.58]}},
  {"recordid": "r2", "fields": {"n": "b"}},
  {"recordid": "r3", "fields": {"n": "c"}, "geometry": {"type": "Point", "coordinates": "bad"}}
]}"#,
    );
    let i = import(&p, &ImportOptions::default());
    assert_eq!(i.names(), ["n", "geo_point_2d"]);
    assert_eq!(i.point("geo_point_2d", 0), Some((7.75, 48.58)));
    assert_eq!(i.point("geo_point_2d", 1), None);
    assert_eq!(i.outcome.rows, 2);
    assert_eq!(i.outcome.rejected.len(), 1);
    assert_eq!(i.outcome.rejected[0].line, 3);
}

#[test]
fn api_v2_wrapped_records_and_huge_integers() {
    let (_d, p) = temp_file(
        "t.json",
        br#"{"total_count": 2, "records": [
  {"record": {"id": "a", "timestamp": "2024-01-01T00:00:00Z", "fields": {"n": 1, "big": 18446744073709551615}}},
  {"record": {"id": "b", "timestamp": "2024-01-01T00:00:00Z", "fields": {"n": 2, "big": 1}}}
]}"#,
    );
    let i = import(&p, &ImportOptions::default());
    assert_eq!(i.names(), ["n", "big"]);
    assert_eq!(i.int("n", 1), Some(2));
    // Too large for an int: kept exactly, as text.
    assert_eq!(i.type_of("big"), FieldType::Text);
    assert_eq!(i.str("big", 0).as_deref(), Some("18446744073709551615"));
}

#[test]
fn neighbour_formats_by_extension_are_read_by_content() {
    let (_d, p) = temp_file("t.jsonl", b"[{\"a\": 1}, {\"a\": 2}]");
    let i = import(&p, &ImportOptions::default());
    assert_eq!((i.outcome.format, i.outcome.rows), (Format::Json, 2));
    let (_d, p) = temp_file("t.geojson", b"[{\"a\": 1}]");
    let i = import(&p, &ImportOptions::default());
    assert_eq!((i.outcome.format, i.outcome.rows), (Format::Json, 1));
    let (_d, p) = temp_file("t.json", br#"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"a": 1}, "geometry": null}]}"#);
    let i = import(&p, &ImportOptions::default());
    assert_eq!((i.outcome.format, i.outcome.rows), (Format::GeoJson, 1));
    assert_eq!(i.names(), ["a"], "a geometry column that is always null is left out");
}
