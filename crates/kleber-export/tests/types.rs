//! Arrow types that query expressions produce, kinds that do not fit, and odd batch layouts.

mod common;

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date64Array, Decimal128Array, DictionaryArray, DurationSecondArray,
    FixedSizeListBuilder, Float32Array, Float64Array, Int8Array, Int32Array, Int64Array,
    LargeListBuilder, LargeStringArray, NullArray, StringArray, StringViewArray, StructArray,
    Time64MicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
    TimestampSecondArray, UInt64Array,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field as ArrowField, Fields, Int16Type, Schema};
use arrow::record_batch::RecordBatch;
use kleber_export::{
    ColumnKind, CsvOptions, CsvWriter, EncodeOptions, Error, JsonArrayWriter, OutputColumn,
    RecordEncoder, encode_all,
};
use kleber_types::{ErrorCode, HasErrorCode};
use serde_json::{Value, json};

fn batch_of(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).expect("valid batch")
}

fn plain_encoder(batch: &RecordBatch) -> RecordEncoder {
    let columns =
        batch.schema().fields().iter().map(|f| OutputColumn::plain(f.name().clone())).collect();
    RecordEncoder::new(columns, EncodeOptions::default())
}

fn json_rows(batch: &RecordBatch) -> Vec<Value> {
    let bytes =
        encode_all(&mut JsonArrayWriter::new(plain_encoder(batch)), [batch]).expect("encodes");
    serde_json::from_slice(&bytes).expect("valid JSON")
}

fn csv_rows(batch: &RecordBatch) -> Vec<Vec<String>> {
    let options = CsvOptions { with_bom: false, ..CsvOptions::default() };
    let bytes =
        encode_all(&mut CsvWriter::new(plain_encoder(batch), options), [batch]).expect("encodes");
    csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(&bytes[..])
        .records()
        .map(|r| r.expect("valid").iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn expression_types() {
    let batch = batch_of(vec![
        ("i32", Arc::new(Int32Array::from(vec![Some(7), None])) as ArrayRef),
        ("i8", Arc::new(Int8Array::from(vec![-128, 127]))),
        ("u64", Arc::new(UInt64Array::from(vec![u64::MAX, 0]))),
        ("f32", Arc::new(Float32Array::from(vec![0.1, f32::NAN]))),
        ("large", Arc::new(LargeStringArray::from(vec![Some("l\"arge"), None]))),
        (
            "view",
            Arc::new(StringViewArray::from(vec![
                Some("a view longer than twelve bytes"),
                Some("é"),
            ])),
        ),
        ("nothing", Arc::new(NullArray::new(2))),
        (
            "dec",
            Arc::new(
                Decimal128Array::from(vec![Some(12_345), Some(-5)])
                    .with_precision_and_scale(10, 2)
                    .expect("valid"),
            ),
        ),
        (
            "ts_naive_ns",
            Arc::new(TimestampNanosecondArray::from(vec![1_695_971_289_656_000_001, 0])),
        ),
        ("ts_s", Arc::new(TimestampSecondArray::from(vec![1_695_971_289, -86_400]))),
        (
            "ts_ms_paris",
            Arc::new(
                TimestampMillisecondArray::from(vec![1_695_971_289_656, 1])
                    .with_timezone("Europe/Paris"),
            ),
        ),
        ("d64", Arc::new(Date64Array::from(vec![1_695_971_289_656, -1]))),
        ("time", Arc::new(Time64MicrosecondArray::from(vec![3_600_000_000, 1]))),
        ("dur", Arc::new(DurationSecondArray::from(vec![90, 0]))),
    ]);
    let rows = json_rows(&batch);
    assert_eq!(
        rows[0],
        json!({
            "i32": 7, "i8": -128, "u64": u64::MAX, "f32": 0.1, "large": "l\"arge",
            "view": "a view longer than twelve bytes", "nothing": null, "dec": 123.45,
            "ts_naive_ns": "2023-09-29T07:08:09.656000001+00:00",
            "ts_s": "2023-09-29T07:08:09+00:00",
            "ts_ms_paris": "2023-09-29T07:08:09.656000+00:00",
            "d64": "2023-09-29", "time": "01:00:00", "dur": "PT90S",
        })
    );
    assert_eq!(
        rows[1],
        json!({
            "i32": null, "i8": 127, "u64": 0, "f32": null, "large": null, "view": "é",
            "nothing": null, "dec": -0.05, "ts_naive_ns": "1970-01-01T00:00:00+00:00",
            "ts_s": "1969-12-31T00:00:00+00:00", "ts_ms_paris": "1970-01-01T00:00:00.001000+00:00",
            "d64": "1969-12-31", "time": "00:00:00.000001", "dur": "P0D",
        })
    );
    // u64::MAX survives exactly in the text.
    let bytes =
        encode_all(&mut JsonArrayWriter::new(plain_encoder(&batch)), [&batch]).expect("encodes");
    assert!(String::from_utf8(bytes).expect("utf-8").contains("\"u64\":18446744073709551615"));

    let csv = csv_rows(&batch);
    assert_eq!(
        csv[0],
        vec![
            "7",
            "-128",
            "18446744073709551615",
            "0.1",
            "l\"arge",
            "a view longer than twelve bytes",
            "",
            "123.45",
            "2023-09-29T07:08:09.656000001+00:00",
            "2023-09-29T07:08:09+00:00",
            "2023-09-29T07:08:09.656000+00:00",
            "2023-09-29",
            "01:00:00",
            "PT90S",
        ]
    );
    assert_eq!(csv[1][3], "", "NaN is an empty field");
}

#[test]
fn nested_plain_types() {
    // LargeList<Int64>, FixedSizeList<Float64>, a plain struct, a dictionary of strings.
    let mut large = LargeListBuilder::new(arrow::array::Int64Builder::new());
    large.values().append_value(1);
    large.values().append_null();
    large.append(true);
    large.append(false);
    large.values().append_value(3);
    large.append(true);
    let mut fixed = FixedSizeListBuilder::new(arrow::array::Float64Builder::new(), 2);
    for (a, b) in [(1.5, 2.5), (3.0, 4.0), (5.0, f64::NAN)] {
        fixed.values().append_value(a);
        fixed.values().append_value(b);
        fixed.append(true);
    }
    let inner = StructArray::new(
        Fields::from(vec![
            ArrowField::new("k", DataType::Utf8, true),
            ArrowField::new("v", DataType::Int64, true),
        ]),
        vec![
            Arc::new(StringArray::from(vec![Some("x\ny"), None, Some("z")])) as ArrayRef,
            Arc::new(Int64Array::from(vec![1, 2, 3])),
        ],
        Some(NullBuffer::from(vec![true, true, false])),
    );
    let dict: DictionaryArray<Int16Type> =
        vec![Some("red"), None, Some("red")].into_iter().collect();
    let batch = batch_of(vec![
        ("large", Arc::new(large.finish()) as ArrayRef),
        ("fixed", Arc::new(fixed.finish())),
        ("obj", Arc::new(inner)),
        ("dict", Arc::new(dict)),
    ]);
    let rows = json_rows(&batch);
    assert_eq!(
        rows,
        vec![
            json!({"large": [1, null], "fixed": [1.5, 2.5], "obj": {"k": "x\ny", "v": 1}, "dict": "red"}),
            json!({"large": null, "fixed": [3.0, 4.0], "obj": {"k": null, "v": 2}, "dict": null}),
            json!({"large": [3], "fixed": [5.0, null], "obj": null, "dict": "red"}),
        ]
    );
    let csv = csv_rows(&batch);
    assert_eq!(csv[0], vec!["1,", "1.5,2.5", r#"{"k":"x\ny","v":1}"#, "red"]);
    assert_eq!(csv[1], vec!["", "3.0,4.0", r#"{"k":null,"v":2}"#, ""]);
    assert_eq!(csv[2], vec!["3", "5.0,", "", "red"]);

    // Sliced nested columns keep their rows.
    let sliced = batch.slice(1, 2);
    assert_eq!(json_rows(&sliced), rows[1..].to_vec());
}

#[test]
fn geo_point_variants() {
    // Float32 children, a null child, a non-finite child; children in lat-then-lon order.
    let point = StructArray::new(
        Fields::from(vec![
            ArrowField::new("lat", DataType::Float32, true),
            ArrowField::new("lon", DataType::Float64, true),
        ]),
        vec![
            Arc::new(Float32Array::from(vec![Some(48.5), None, Some(1.0)])) as ArrayRef,
            Arc::new(Float64Array::from(vec![Some(2.25), Some(1.0), Some(f64::INFINITY)])),
        ],
        None,
    );
    let batch = batch_of(vec![("p", Arc::new(point) as ArrayRef)]);
    let encoder = RecordEncoder::new(
        vec![OutputColumn::new("p", "P", ColumnKind::GeoPoint)],
        EncodeOptions::default(),
    );
    let values = encoder.batch_values(&batch).expect("encodes");
    assert_eq!(
        values,
        vec![json!({"p": {"lon": 2.25, "lat": 48.5}}), json!({"p": null}), json!({"p": null})]
    );
    // A Null column fits any kind.
    let nulls = batch_of(vec![("p", Arc::new(NullArray::new(1)) as ArrayRef)]);
    assert_eq!(encoder.batch_values(&nulls).expect("encodes"), vec![json!({"p": null})]);
}

#[test]
fn shape_mismatches_are_errors() {
    let ints = batch_of(vec![("n", Arc::new(Int64Array::from(vec![1])) as ArrayRef)]);
    for kind in [ColumnKind::GeoPoint, ColumnKind::GeoShape] {
        let encoder =
            RecordEncoder::new(vec![OutputColumn::new("n", "N", kind)], EncodeOptions::default());
        let err = encoder.batch_values(&ints).expect_err("kind does not fit");
        assert!(matches!(&err, Error::SchemaMismatch { column, .. } if column == "n"), "{err}");
        assert_eq!(err.error_code(), ErrorCode::InternalError);
        assert!(encoder.check_schema(&ints.schema()).is_err());
        // Nothing is appended when a batch is refused.
        let mut writer = JsonArrayWriter::new(encoder);
        let mut out = Vec::new();
        assert!(kleber_export::RecordWriter::write_batch(&mut writer, &ints, &mut out).is_err());
        assert!(out.is_empty());
    }

    // A struct without lat/lon, or with text children, is not a geo point.
    let not_point = StructArray::new(
        Fields::from(vec![
            ArrowField::new("lon", DataType::Utf8, true),
            ArrowField::new("lat", DataType::Utf8, true),
        ]),
        vec![
            Arc::new(StringArray::from(vec!["1"])) as ArrayRef,
            Arc::new(StringArray::from(vec!["2"])),
        ],
        None,
    );
    let batch = batch_of(vec![("p", Arc::new(not_point) as ArrayRef)]);
    let encoder = RecordEncoder::new(
        vec![OutputColumn::new("p", "P", ColumnKind::GeoPoint)],
        EncodeOptions::default(),
    );
    assert!(matches!(encoder.batch_values(&batch), Err(Error::SchemaMismatch { .. })));

    // Column count.
    let encoder = RecordEncoder::new(
        vec![OutputColumn::plain("a"), OutputColumn::plain("b")],
        EncodeOptions::default(),
    );
    assert!(matches!(
        encoder.batch_values(&ints),
        Err(Error::ColumnCount { expected: 2, found: 1 })
    ));

    // The stored schema checks out.
    let stored = RecordEncoder::for_fields(&common::fields(), EncodeOptions::default());
    stored.check_schema(&common::schema()).expect("stored schema fits");
    let schema = Arc::new(Schema::new(vec![ArrowField::new("x", DataType::Int64, true)]));
    assert!(stored.check_schema(&schema).is_err());
}

#[test]
fn keys_are_escaped() {
    let batch = batch_of(vec![("weird", Arc::new(Int64Array::from(vec![1])) as ArrayRef)]);
    let encoder = RecordEncoder::new(
        vec![OutputColumn::new("count(*) \"n\"\n", "l", ColumnKind::Plain)],
        EncodeOptions::default(),
    );
    let mut out = Vec::new();
    encoder.write_json_record(&batch, 0, &mut out).expect("encodes");
    assert_eq!(out, br#"{"count(*) \"n\"\n":1}"#);
}
