//! JSON array and JSON Lines output over stored-type batches.

mod common;

use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field as ArrowField, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use kleber_export::{
    ColumnKind, EncodeOptions, Error, IoWriter, JsonArrayWriter, JsonLinesWriter, OutputColumn,
    RecordEncoder, RecordWriter, encode_all,
};
use serde_json::{Value, json};

fn encoder() -> RecordEncoder {
    RecordEncoder::for_fields(&common::fields(), EncodeOptions::default())
}

#[test]
fn json_array_across_batches_round_trips() {
    let (batches, rows) = common::batches();
    let mut writer = JsonArrayWriter::new(encoder());
    let bytes = encode_all(&mut writer, &batches).expect("encodes");
    assert_eq!(writer.rows_written(), rows.len() as u64);

    let parsed: Vec<Value> = serde_json::from_slice(&bytes).expect("valid JSON");
    assert_eq!(parsed.len(), rows.len());
    for (got, row) in parsed.iter().zip(&rows) {
        assert_eq!(got, &common::expected_json(row), "row {row:?}");
    }

    // Spot checks of the exact encodings.
    assert_eq!(parsed[0]["point"], json!({"lon": 4.50083, "lat": 46.7306}));
    assert_eq!(parsed[0]["day"], "2019-03-26");
    assert_eq!(parsed[0]["at"], "2023-09-29T07:08:09+00:00");
    assert_eq!(parsed[0]["tags"], json!(["a", "b"]));
    assert_eq!(parsed[0]["shape"]["type"], "Feature");
    assert_eq!(parsed[0]["shape"]["geometry"]["type"], "Polygon");
    assert_eq!(parsed[0]["shape"]["properties"], json!({}));
    assert_eq!(parsed[1]["at"], "2023-09-29T07:08:09.656000+00:00");
    assert_eq!(parsed[1]["ratio"], Value::Null, "NaN is null");
    assert_eq!(parsed[1]["tags"], json!([]));
    assert_eq!(parsed[1]["day"], "1969-12-31");
    assert_eq!(parsed[1]["name"], "Il a dit \"bonjour\"\net s'en est allé; vite, très vite");
    assert!(parsed[2].as_object().expect("object").values().all(Value::is_null));
    assert_eq!(parsed[3]["tags"], json!(["x;y", null, "z\""]));
    assert_eq!(parsed[3]["count"], json!(i64::MAX));
    assert_eq!(parsed[3]["at"], "1969-12-31T23:59:59.999999+00:00");
    assert_eq!(parsed[4]["ratio"], Value::Null, "infinity is null");
    assert_eq!(parsed[4]["day"], "9999-12-31");
    assert_eq!(parsed[4]["count"], json!(i64::MIN));
}

#[test]
fn json_text_is_compact_and_ordered() {
    let rows = common::rows();
    let batch = common::batch(&rows[..1]);
    let mut out = Vec::new();
    encoder().write_json_record(&batch, 0, &mut out).expect("encodes");
    let text = String::from_utf8(out).expect("utf-8");
    assert_eq!(
        text,
        concat!(
            r#"{"name":"Saint-Leu","tags":["a","b"],"count":29278,"ratio":0.5,"flag":true,"#,
            r#""day":"2019-03-26","at":"2023-09-29T07:08:09+00:00","#,
            r#""point":{"lon":4.50083,"lat":46.7306},"#,
            r#""shape":{"type":"Feature","geometry":{"type":"Polygon","coordinates":"#,
            r#"[[[2.0,48.0],[2.1,48.0],[2.1,48.1],[2.0,48.0]]]},"properties":{}}}"#
        )
    );
}

#[test]
fn geometry_is_embedded_verbatim() {
    let rows = common::rows();
    let batch = common::batch(&rows[1..2]);
    let mut out = Vec::new();
    encoder().write_json_record(&batch, 0, &mut out).expect("encodes");
    let text = String::from_utf8(out).expect("utf-8");
    // The stored text's own spacing survives: it was not re-serialised.
    assert!(text.contains(&format!("\"geometry\":{},", common::LINE)), "{text}");
}

#[test]
fn integral_doubles_print_like_serde_json() {
    let rows = common::rows();
    let batch = common::batch(&rows[3..4]);
    let mut out = Vec::new();
    encoder().write_json_record(&batch, 0, &mut out).expect("encodes");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.contains(r#""ratio":12.0,"#), "{text}");
    assert!(text.contains(r#""point":{"lon":-0.5,"lat":-33.25}"#), "{text}");
}

#[test]
fn jsonl_has_one_line_per_record() {
    let (batches, rows) = common::batches();
    let mut writer = JsonLinesWriter::new(encoder());
    let bytes = encode_all(&mut writer, &batches).expect("encodes");
    let text = String::from_utf8(bytes).expect("utf-8");
    assert!(text.ends_with('\n'));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), rows.len());
    assert_eq!(text.matches('\n').count(), rows.len());
    for (line, row) in lines.iter().zip(&rows) {
        let got: Value = serde_json::from_str(line).expect("each line is JSON");
        assert_eq!(got, common::expected_json(row));
    }
}

#[test]
fn multi_line_geometry_stays_on_one_line_and_invalid_geometry_is_null() {
    let schema = Arc::new(Schema::new(vec![ArrowField::new("shape", DataType::Utf8, true)]));
    let shapes: ArrayRef = Arc::new(StringArray::from(vec![
        Some("{\n  \"type\": \"Point\",\r\n  \"coordinates\": [1, 2]\n}\n"),
        Some("{\"type\": \"Point\", \"coordinates\": [1, "),
        Some("not json"),
        Some("\"a string\""),
        Some(""),
        Some("   "),
    ]));
    let batch = RecordBatch::try_new(schema, vec![shapes]).expect("valid");
    let encoder = RecordEncoder::new(
        vec![OutputColumn::new("shape", "Shape", ColumnKind::GeoShape)],
        EncodeOptions::default(),
    );
    let bytes = encode_all(&mut JsonLinesWriter::new(encoder), [&batch]).expect("encodes");
    let text = String::from_utf8(bytes).expect("utf-8");
    let lines: Vec<Value> =
        text.lines().map(|l| serde_json::from_str(l).expect("valid line")).collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(
        lines[0],
        json!({"shape": {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]},
                         "properties": {}}})
    );
    for line in &lines[1..] {
        assert_eq!(line, &json!({"shape": null}));
    }
}

#[test]
fn offsets_and_fractional_seconds() {
    let schema = Arc::new(Schema::new(vec![ArrowField::new(
        "at",
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        true,
    )]));
    let values: ArrayRef = Arc::new(
        TimestampMicrosecondArray::from(vec![
            Some(1_695_971_289_000_000),
            Some(1_695_971_289_656_000),
            Some(1_695_971_289_000_001),
            Some(1_703_980_800_000_000), // 2023-12-31T00:00:00Z
            None,
        ])
        .with_timezone("UTC"),
    );
    let batch = RecordBatch::try_new(schema, vec![values]).expect("valid");
    let render = |options: EncodeOptions| -> Vec<Value> {
        RecordEncoder::new(vec![OutputColumn::plain("at")], options)
            .batch_values(&batch)
            .expect("encodes")
            .into_iter()
            .map(|v| v["at"].clone())
            .collect()
    };
    assert_eq!(
        render(EncodeOptions::with_utc_offset(2 * 3600)),
        vec![
            json!("2023-09-29T09:08:09+02:00"),
            json!("2023-09-29T09:08:09.656000+02:00"),
            json!("2023-09-29T09:08:09.000001+02:00"),
            json!("2023-12-31T02:00:00+02:00"),
            Value::Null,
        ]
    );
    assert_eq!(
        render(EncodeOptions::with_utc_offset(-(9 * 3600 + 30 * 60)))[3],
        json!("2023-12-30T14:30:00-09:30")
    );
    // A DST-like hook: +02:00 before 2023-10-29T01:00Z, +01:00 after.
    let paris = EncodeOptions::with_offset_fn(|utc| if utc < 1_698_541_200 { 7200 } else { 3600 });
    assert_eq!(render(paris.clone())[0], json!("2023-09-29T09:08:09+02:00"));
    assert_eq!(render(paris)[3], json!("2023-12-31T01:00:00+01:00"));
}

#[test]
fn empty_export_and_writer_states() {
    let mut writer = JsonArrayWriter::new(encoder());
    assert_eq!(encode_all(&mut writer, []).expect("encodes"), b"[]");
    let mut out = Vec::new();
    assert!(matches!(
        writer.write_batch(&common::batch(&common::rows()), &mut out),
        Err(Error::Finished)
    ));
    assert!(matches!(writer.begin(&mut out), Err(Error::Finished)));
    writer.finish(&mut out).expect("finish twice is a no-op");
    assert!(out.is_empty());

    // begin is idempotent and implied.
    let mut writer = JsonArrayWriter::new(encoder());
    let mut out = Vec::new();
    writer.begin(&mut out).expect("begins");
    writer.begin(&mut out).expect("begins again");
    writer.finish(&mut out).expect("finishes");
    assert_eq!(out, b"[]");
    let mut writer = JsonArrayWriter::new(encoder());
    let mut out = Vec::new();
    writer.write_batch(&common::batch(&common::rows()[..1]), &mut out).expect("writes");
    writer.finish(&mut out).expect("finishes");
    assert_eq!(serde_json::from_slice::<Vec<Value>>(&out).expect("valid").len(), 1);

    let mut lines = JsonLinesWriter::new(encoder());
    assert!(encode_all(&mut lines, []).expect("encodes").is_empty());
}

#[test]
fn chunks_concatenate_to_the_whole() {
    let (batches, _) = common::batches();
    let whole = encode_all(&mut JsonArrayWriter::new(encoder()), &batches).expect("encodes");
    let mut writer = JsonArrayWriter::new(encoder());
    let mut chunks = Vec::new();
    let mut chunk = Vec::new();
    writer.begin(&mut chunk).expect("begins");
    chunks.push(std::mem::take(&mut chunk));
    for batch in &batches {
        writer.write_batch(batch, &mut chunk).expect("writes");
        chunks.push(std::mem::take(&mut chunk));
    }
    writer.finish(&mut chunk).expect("finishes");
    chunks.push(chunk);
    assert_eq!(chunks.concat(), whole);

    // Through any io::Write.
    let mut io = IoWriter::new(JsonArrayWriter::new(encoder()), Vec::new());
    io.begin().expect("begins");
    for batch in &batches {
        io.write_batch(batch).expect("writes");
    }
    io.finish().expect("finishes");
    assert_eq!(io.rows_written(), 5);
    assert_eq!(io.into_inner().1, whole);

    // Boxed, as a server picks the format at run time.
    let mut boxed: Box<dyn RecordWriter + Send> = Box::new(JsonArrayWriter::new(encoder()));
    assert_eq!(encode_all(&mut boxed, &batches).expect("encodes"), whole);
}

#[test]
fn record_value_and_errors() {
    let rows = common::rows();
    let batch = common::batch(&rows);
    let encoder = encoder();
    assert_eq!(encoder.record_value(&batch, 3).expect("in range"), common::expected_json(&rows[3]));
    assert!(matches!(
        encoder.record_value(&batch, 5),
        Err(Error::RowOutOfRange { row: 5, rows: 5 })
    ));
    let values = encoder.batch_values(&batch).expect("encodes");
    assert_eq!(values.len(), 5);

    // Sliced batches encode the right rows.
    let sliced = batch.slice(1, 3);
    let values = encoder.batch_values(&sliced).expect("encodes");
    let expected: Vec<Value> = rows[1..4].iter().map(common::expected_json).collect();
    assert_eq!(values, expected);
}

/// The legacy (v1) GeoJSON of Opendatasoft's real exports against the v2.1 one: points in
/// properties as `[lat, lon]` rather than `{"lon", "lat"}`, null properties left out, and a
/// point used as the geometry kept in the properties.
#[test]
fn geojson_styles_v21_and_legacy() {
    use kleber_export::{GeoJsonStyle, GeoJsonWriter};
    let rows = common::rows();
    let batch = common::batch(&rows);
    let geojson = |style, encoder, batch: &RecordBatch| -> Value {
        let bytes = encode_all(&mut GeoJsonWriter::with_style(encoder, style), [batch]).unwrap();
        serde_json::from_slice(&bytes).expect("GeoJSON")
    };
    // The shape is the geometry; the point is a property.
    let v21 = geojson(GeoJsonStyle::V21, encoder(), &batch);
    let v1 = geojson(GeoJsonStyle::V1, encoder(), &batch);
    let (lon, lat) = rows[0].point.unwrap();
    assert_eq!(v21["features"][0]["properties"]["point"], json!({"lon": lon, "lat": lat}));
    assert_eq!(v1["features"][0]["properties"]["point"], json!([lat, lon]));
    assert_eq!(v1["features"][0]["geometry"], v21["features"][0]["geometry"]);
    assert!(v21["features"][0]["properties"].get("shape").is_none());
    assert!(v1["features"][0]["properties"].get("shape").is_none());
    // The row of nulls: every property null in v2.1, none in v1.
    let nulls = rows.iter().position(|r| r.name.is_none()).unwrap();
    assert_eq!(v21["features"][nulls]["properties"]["name"], Value::Null);
    assert_eq!(v1["features"][nulls]["properties"], json!({}));
    // Only a point: it is the geometry, and stays a property in v1 only.
    let fields = common::fields();
    let only = [0usize, 7];
    let subset: Vec<_> = only.iter().map(|&i| fields[i].clone()).collect();
    let point_batch = batch.project(&only).unwrap();
    let point_encoder = || RecordEncoder::for_fields(&subset, EncodeOptions::default());
    let v21 = geojson(GeoJsonStyle::V21, point_encoder(), &point_batch);
    let v1 = geojson(GeoJsonStyle::V1, point_encoder(), &point_batch);
    let point = json!({"type": "Point", "coordinates": [lon, lat]});
    assert_eq!(v21["features"][0]["geometry"], point);
    assert_eq!(v1["features"][0]["geometry"], point);
    assert_eq!(v21["features"][0]["properties"], json!({"name": "Saint-Leu"}));
    assert_eq!(v1["features"][0]["properties"], json!({"name": "Saint-Leu", "point": [lat, lon]}));
}
