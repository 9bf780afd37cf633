//! JSON, JSONL and GeoJSON.

use std::fmt;
use std::path::Path;

use encoding_rs::{Encoding, UTF_8};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::geo::validate_geometry;
use crate::infer::Role;
use crate::output::shorten;
use crate::typed::{Table, finish};
use crate::values::Value;
use crate::{Detected, Error, Format, ImportOptions, ImportOutcome, LocationKind, Progress};

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

/// Builds a [`Value`] keeping the order of object members.
struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        // Beyond i64 a number would lose digits as a double: keep its exact text instead.
        Ok(match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Str(v.to_string()),
        })
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Deserialize::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Arr(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members: Vec<(String, Value)> = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            // A repeated key keeps its last value, as most JSON readers do.
            match members.iter_mut().find(|(key, _)| *key == k) {
                Some(slot) => slot.1 = v,
                None => members.push((k, v)),
            }
        }
        Ok(Value::Obj(members))
    }
}

/// The file as UTF-8 text (JSON should be UTF-8; a BOM or a legacy encoding is tolerated).
fn read_text(path: &Path) -> Result<(String, &'static Encoding), Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::input(path, e))?;
    if let Some((enc, bom)) = Encoding::for_bom(&bytes) {
        return Ok((enc.decode_without_bom_handling(&bytes[bom..]).0.into_owned(), enc));
    }
    match String::from_utf8(bytes) {
        Ok(s) => Ok((s, UTF_8)),
        Err(e) => {
            let bytes = e.into_bytes();
            let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
            det.feed(&bytes, true);
            let enc = det.guess(None, chardetng::Utf8Detection::Deny);
            Ok((enc.decode_without_bom_handling(&bytes).0.into_owned(), enc))
        }
    }
}

fn syntax_error(path: &Path, e: &serde_json::Error) -> Error {
    Error::unreadable(
        path,
        format!(
            "invalid JSON at line {}, column {}: {e}; fix the file or export it again",
            e.line(),
            e.column()
        ),
    )
}

fn detected(enc: &'static Encoding) -> Detected {
    Detected { encoding: Some(enc.name().to_owned()), ..Detected::default() }
}

/// Imports a JSON document (or a GeoJSON one).
pub(crate) fn import_json(
    path: &Path,
    out_path: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
    format: Format,
) -> Result<ImportOutcome, Error> {
    let total = std::fs::metadata(path).map_err(|e| Error::input(path, e))?.len();
    let (text, enc) = read_text(path)?;
    if text.trim().is_empty() {
        return Err(Error::Empty { path: path.to_path_buf() });
    }
    let doc: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            // Several JSON values one after the other: JSON Lines under a .json name.
            if opts.format.is_none()
                && e.is_syntax()
                && text.trim_start().starts_with('{')
                && serde_json::Deserializer::from_str(&text)
                    .into_iter::<serde::de::IgnoredAny>()
                    .take(2)
                    .filter(Result::is_ok)
                    .count()
                    == 2
            {
                drop(text);
                return import_jsonl(path, out_path, opts, progress);
            }
            return Err(syntax_error(path, &e));
        }
    };
    drop(text);
    let is_geojson = matches!(
        doc.get("type"),
        Some(Value::Str(t)) if t == "FeatureCollection" || t == "Feature"
    );
    if is_geojson {
        let table = geojson_table(path, doc)?;
        return finish(
            table,
            path,
            out_path,
            opts,
            progress,
            Format::GeoJson,
            detected(enc),
            total,
        );
    }
    if format == Format::GeoJson && opts.format.is_some() {
        return Err(Error::unreadable(
            path,
            "expected a GeoJSON object with \"type\": \"FeatureCollection\"; for plain JSON use \
             format json",
        ));
    }
    let items = match doc {
        Value::Arr(items) => items,
        Value::Obj(members) => {
            let mut found = None;
            for (k, v) in members {
                if (k == "records" || k == "results") && matches!(v, Value::Arr(_)) {
                    found = Some(v);
                    break;
                }
            }
            match found {
                Some(Value::Arr(items)) => items,
                _ => {
                    return Err(Error::unreadable(
                        path,
                        "expected an array of objects, an object with a \"records\" or \
                         \"results\" array, or a GeoJSON FeatureCollection",
                    ));
                }
            }
        }
        _ => {
            return Err(Error::unreadable(
                path,
                "the document is a single JSON value, not an array of objects",
            ));
        }
    };
    if items.is_empty() {
        return Err(Error::Empty { path: path.to_path_buf() });
    }
    let mut table = Table::new(LocationKind::Item);
    for (n, item) in items.into_iter().enumerate() {
        let loc = n as u64 + 1;
        add_item(&mut table, loc, item, "item");
    }
    finish(table, path, out_path, opts, progress, Format::Json, detected(enc), total)
}

/// Whether an object has a `fields` object.
fn has_fields(members: &[(String, Value)]) -> bool {
    members.iter().any(|(k, v)| k == "fields" && matches!(v, Value::Obj(_)))
}

/// Whether an object is an Opendatasoft API v1 record (`fields` plus record metadata).
fn is_ods_record(members: &[(String, Value)]) -> bool {
    let has = |k: &str| members.iter().any(|(key, _)| key == k);
    has_fields(members) && (has("recordid") || has("datasetid") || has("record_timestamp"))
}

/// Adds one JSON array item or JSONL line (a plain object or an ODS record); `noun` names the
/// location in messages.
fn add_item(table: &mut Table, loc: u64, item: Value, noun: &str) {
    let Value::Obj(members) = item else {
        let what = match item {
            Value::Arr(_) => "an array",
            Value::Str(_) => "a string",
            Value::Null => "null",
            _ => "a scalar",
        };
        table.reject(
            loc,
            None,
            Some(shorten(&item.to_json(), 1000)),
            format!("{noun} {loc} is {what}, not a JSON object"),
        );
        return;
    };
    // API v2.0 wraps records: {"record": {"id", "timestamp", "fields"}}.
    let wrapped = matches!(
        members.as_slice(),
        [(k, Value::Obj(inner))] if k == "record" && has_fields(inner)
    );
    let (members, ods) = if wrapped {
        match members.into_iter().next() {
            Some((_, Value::Obj(inner))) => (inner, true),
            _ => (Vec::new(), true),
        }
    } else {
        let ods = is_ods_record(&members);
        (members, ods)
    };
    if !ods {
        table.push_object(loc, members, Value::Null);
        return;
    }
    let mut fields = Vec::new();
    let mut geometry = Value::Null;
    for (k, v) in members {
        match (k.as_str(), v) {
            ("fields", Value::Obj(f)) => fields = f,
            ("geometry", g) => geometry = g,
            _ => {}
        }
    }
    if !matches!(geometry, Value::Null) {
        table.geometry = Some(Role::RecordGeometry);
        if let Err(e) = validate_geometry(&geometry) {
            table.reject(
                loc,
                Some("geometry"),
                Some(shorten(&geometry.to_json(), 1000)),
                format!("invalid geometry ({noun} {loc}): {e}"),
            );
            return;
        }
    }
    table.push_object(loc, fields, geometry);
}

/// The features of a GeoJSON document as a table.
fn geojson_table(path: &Path, doc: Value) -> Result<Table, Error> {
    let features = match doc {
        Value::Obj(members) => {
            let is_single = members
                .iter()
                .any(|(k, v)| k == "type" && matches!(v, Value::Str(t) if t == "Feature"));
            if is_single {
                vec![Value::Obj(members)]
            } else {
                match members.into_iter().find(|(k, _)| k == "features") {
                    Some((_, Value::Arr(f))) => f,
                    _ => {
                        return Err(Error::unreadable(
                            path,
                            "a FeatureCollection without a \"features\" array",
                        ));
                    }
                }
            }
        }
        _ => return Err(Error::unreadable(path, "expected a GeoJSON FeatureCollection")),
    };
    if features.is_empty() {
        return Err(Error::Empty { path: path.to_path_buf() });
    }
    let mut table = Table::new(LocationKind::Item);
    table.geometry = Some(Role::FeatureGeometry);
    for (n, f) in features.into_iter().enumerate() {
        let loc = n as u64 + 1;
        let Value::Obj(members) = f else {
            table.reject(loc, None, None, format!("feature {loc} is not a JSON object"));
            continue;
        };
        let mut props = Vec::new();
        let mut geometry = Value::Null;
        let mut bad_props = None;
        for (k, v) in members {
            match (k.as_str(), v) {
                ("properties", Value::Obj(p)) => props = p,
                ("properties", Value::Null) => {}
                ("properties", other) => bad_props = Some(other),
                ("geometry", g) => geometry = g,
                _ => {}
            }
        }
        if let Some(p) = bad_props {
            table.reject(
                loc,
                None,
                Some(shorten(&p.to_json(), 1000)),
                format!("the properties of feature {loc} are not a JSON object"),
            );
            continue;
        }
        if !matches!(geometry, Value::Null)
            && let Err(e) = validate_geometry(&geometry)
        {
            table.reject(
                loc,
                Some("geometry"),
                Some(shorten(&geometry.to_json(), 1000)),
                format!("invalid geometry of feature {loc}: {e}"),
            );
            continue;
        }
        table.push_object(loc, props, geometry);
    }
    Ok(table)
}

/// Imports JSON Lines: one object per line; a line that is not a JSON object is rejected.
pub(crate) fn import_jsonl(
    path: &Path,
    out_path: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportOutcome, Error> {
    let total = std::fs::metadata(path).map_err(|e| Error::input(path, e))?.len();
    let (text, enc) = read_text(path)?;
    if opts.format.is_none() && text.trim_start().starts_with('[') {
        // A JSON array under a .jsonl name.
        drop(text);
        return import_json(path, out_path, opts, progress, Format::Json);
    }
    let mut table = Table::new(LocationKind::Line);
    let mut nonblank = 0usize;
    for (n, line) in text.lines().enumerate() {
        let loc = n as u64 + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        nonblank += 1;
        if nonblank == 1 && line.as_bytes().first().is_some_and(|b| *b < 0x20 && *b != b'\t') {
            return Err(Error::unreadable(path, "binary data: this is not a JSON Lines file"));
        }
        match serde_json::from_str::<Value>(line) {
            Ok(v) => add_item(&mut table, loc, v, "the value of line"),
            Err(e) => table.reject(
                loc,
                None,
                Some(shorten(line, 1000)),
                format!("invalid JSON at column {}: {e}", e.column()),
            ),
        }
    }
    if nonblank == 0 {
        return Err(Error::Empty { path: path.to_path_buf() });
    }
    if table.rows.is_empty() && table.rejected.len() == nonblank && nonblank > 1 {
        return Err(Error::unreadable(
            path,
            format!(
                "no line is a JSON object (first problem at line {}: {})",
                table.rejected[0].line, table.rejected[0].reason
            ),
        ));
    }
    finish(table, path, out_path, opts, progress, Format::Jsonl, detected(enc), total)
}
