//! JSON, JSONL and GeoJSON, read as streams.
//!
//! A JSON document is never held whole: a first pass finds its shape (an array, an object with
//! `records` or `results`, a GeoJSON FeatureCollection or Feature) skipping every value, then the
//! two passes of [`crate::typed`] (schema, then conversion) deserialize one record at a time.
//! JSON Lines are read line by line, twice. A record, and any other single value of the
//! document, is capped at [`MAX_RECORD_BYTES`]; nesting at serde_json's [`MAX_JSON_DEPTH`].

use std::cell::Cell;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::rc::Rc;

use encoding_rs::{Encoding, UTF_8};
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use crate::csv_in::{CountingReader, DecodeReader};
use crate::geo::validate_geometry;
use crate::infer::Role;
use crate::limits::{MAX_JSON_DEPTH, MAX_RECORD_BYTES, mib};
use crate::output::shorten;
use crate::typed::{Record, Source, scan_schema, write_scanned};
use crate::values::Value;
use crate::{
    Detected, Error, Format, ImportOptions, ImportOutcome, LocationKind, Progress, read_prefix,
};

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

/// The text encoding of a JSON file and the length of its BOM: the BOM's when there is one;
/// else UTF-8 when the whole file is valid UTF-8 (checked as a stream); else the legacy
/// encoding `chardetng` guesses.
fn detect_encoding(path: &Path) -> Result<(&'static Encoding, usize), Error> {
    let head = read_prefix(path, 4)?;
    if let Some((enc, bom)) = Encoding::for_bom(&head) {
        return Ok((enc, bom));
    }
    let open = || File::open(path).map_err(|e| Error::input(path, e));
    let mut file = open()?;
    let mut buf = vec![0u8; 1 << 16];
    // Bytes of a character cut by the end of the last read, moved to the start of `buf`.
    let mut carry = 0usize;
    let valid = loop {
        let n = file.read(&mut buf[carry..]).map_err(|e| Error::input(path, e))?;
        if n == 0 {
            break carry == 0;
        }
        let len = carry + n;
        match std::str::from_utf8(&buf[..len]) {
            Ok(_) => carry = 0,
            Err(e) if e.error_len().is_none() => {
                buf.copy_within(e.valid_up_to()..len, 0);
                carry = len - e.valid_up_to();
            }
            Err(_) => break false,
        }
    };
    if valid {
        return Ok((UTF_8, 0));
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    let mut file = open()?;
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::input(path, e))?;
        det.feed(&buf[..n], n == 0);
        if n == 0 {
            break;
        }
    }
    Ok((det.guess(None, chardetng::Utf8Detection::Deny), 0))
}

/// The size budget of the record being read, shared by the reader and the visitors.
#[derive(Default)]
struct Budget {
    /// Decoded bytes handed to the parser in this pass.
    read: Cell<u64>,
    /// `read` when the current record began.
    mark: Cell<u64>,
    /// Whether the limit stopped the read.
    tripped: Cell<bool>,
    /// Records completed in this pass.
    records: Cell<u64>,
}

impl Budget {
    fn record_done(&self) {
        self.mark.set(self.read.get());
        self.records.set(self.records.get() + 1);
    }
}

/// Stops reading once the record being read is beyond [`MAX_RECORD_BYTES`].
struct Guarded<R> {
    inner: R,
    budget: Rc<Budget>,
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let b = &self.budget;
        if b.read.get() - b.mark.get() > MAX_RECORD_BYTES {
            b.tripped.set(true);
            return Err(io::Error::other("the record size limit is reached"));
        }
        let n = self.inner.read(buf)?;
        b.read.set(b.read.get() + n as u64);
        Ok(n)
    }
}

type TextReader = BufReader<Guarded<Box<dyn Read>>>;

/// A JSON or JSON Lines file as decoded text, opened afresh for each pass.
struct JsonText<'p> {
    path: &'p Path,
    enc: &'static Encoding,
    bom: usize,
    budget: Rc<Budget>,
    /// File bytes read by the current pass, for progress.
    counted: Rc<Cell<u64>>,
}

impl<'p> JsonText<'p> {
    fn new(path: &'p Path) -> Result<Self, Error> {
        let (enc, bom) = detect_encoding(path)?;
        Ok(JsonText { path, enc, bom, budget: Rc::default(), counted: Rc::new(Cell::new(0)) })
    }

    fn open(&self) -> Result<TextReader, Error> {
        let path = self.path;
        let mut file = File::open(path).map_err(|e| Error::input(path, e))?;
        file.seek(SeekFrom::Start(self.bom as u64)).map_err(|e| Error::input(path, e))?;
        self.counted.set(0);
        self.budget.read.set(0);
        self.budget.mark.set(0);
        self.budget.tripped.set(false);
        self.budget.records.set(0);
        let counted = CountingReader { inner: file, count: self.counted.clone() };
        let reader: Box<dyn Read> = if self.enc == UTF_8 {
            Box::new(counted)
        } else {
            Box::new(DecodeReader::new(counted, self.enc))
        };
        Ok(BufReader::with_capacity(
            64 * 1024,
            Guarded { inner: reader, budget: self.budget.clone() },
        ))
    }

    /// The first byte that is not white space, `None` for a blank file.
    fn first_byte(&self) -> Result<Option<u8>, Error> {
        let mut r = self.open()?;
        loop {
            let buf = r.fill_buf().map_err(|e| self.io_error(e))?;
            if buf.is_empty() {
                return Ok(None);
            }
            if let Some(b) = buf.iter().find(|b| !b.is_ascii_whitespace()) {
                return Ok(Some(*b));
            }
            let n = buf.len();
            r.consume(n);
        }
    }

    /// Whether the text starts with two JSON values one after the other (JSON Lines).
    fn starts_with_two_values(&self) -> Result<bool, Error> {
        let de = serde_json::Deserializer::from_reader(self.open()?);
        Ok(de.into_iter::<IgnoredAny>().take(2).filter(Result::is_ok).count() == 2)
    }

    fn io_error(&self, e: io::Error) -> Error {
        if self.budget.tripped.get() {
            return self.too_long();
        }
        Error::input(self.path, e)
    }

    fn too_long(&self) -> Error {
        let which = match self.budget.records.get() {
            0 => "the first record (or a value before it)".to_owned(),
            n => format!("record {}", n + 1),
        };
        Error::TooLarge {
            path: self.path.to_path_buf(),
            reason: format!(
                "{which} of the JSON document is longer than {}, the record size limit (no single \
                 JSON value may be larger); split the file or leave the largest values out",
                mib(MAX_RECORD_BYTES)
            ),
        }
    }

    /// The error of a parse: a limit, or a syntax error located in the file.
    fn json_error(&self, e: &serde_json::Error) -> Error {
        if self.budget.tripped.get() {
            return self.too_long();
        }
        if let Some(reason) = nesting(e) {
            return Error::TooLarge { path: self.path.to_path_buf(), reason };
        }
        syntax_error(self.path, e)
    }

    /// The first pass: the document's shape, every value skipped.
    fn shape(&self) -> Result<Shape, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_reader(self.open().map_err(de::Error::custom)?);
        let shape = (&mut de).deserialize_any(ShapeVisitor { budget: &self.budget })?;
        de.end()?;
        Ok(shape)
    }

    /// Reads the records of the document (the top-level array, or the array of the member at
    /// index `member`) and hands each to `on_item` with its 1-based position.
    fn walk(
        &self,
        member: Option<usize>,
        on_item: &mut dyn FnMut(u64, Value) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut de = serde_json::Deserializer::from_reader(self.open()?);
        let mut ctx = Ctx { budget: &self.budget, on_item, failed: None };
        let res = (&mut de).deserialize_any(Walk { ctx: &mut ctx, member });
        if let Some(e) = ctx.failed.take() {
            return Err(e);
        }
        res.map_err(|e| self.json_error(&e))
    }

    /// The whole document as one value (a single GeoJSON Feature: one record).
    fn whole(&self) -> Result<Value, Error> {
        let mut de = serde_json::Deserializer::from_reader(self.open()?);
        Value::deserialize(&mut de).map_err(|e| self.json_error(&e))
    }
}

/// The message of serde_json's recursion limit, naming ours.
fn nesting(e: &serde_json::Error) -> Option<String> {
    e.to_string().starts_with("recursion limit exceeded").then(|| {
        format!(
            "JSON nested deeper than {MAX_JSON_DEPTH} levels, the nesting limit (line {}, column \
             {}); flatten the data or keep deep structures as text",
            e.line(),
            e.column()
        )
    })
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

/// What the first pass learns of a JSON document.
#[derive(Default)]
struct Shape {
    /// The document is an array; its length.
    array: Option<u64>,
    /// The document is an object.
    object: bool,
    /// Its (last) `type` member, when a string.
    type_name: Option<String>,
    /// Its first `features` member: its index, and its length when it is an array.
    features: Option<(usize, Option<u64>)>,
    /// Its first `records` or `results` member that is an array: index and length.
    list: Option<(usize, u64)>,
}

struct ShapeVisitor<'b> {
    budget: &'b Budget,
}

/// Implements the scalar methods of a visitor as "not what we look for".
macro_rules! scalars_give {
    ($v:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($v)
        }
    };
}

impl<'de> Visitor<'de> for ShapeVisitor<'_> {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }

    scalars_give!(Shape::default());

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Shape, A::Error> {
        let len = count_elements(seq, self.budget)?;
        Ok(Shape { array: Some(len), ..Shape::default() })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut shape = Shape { object: true, ..Shape::default() };
        let mut i = 0usize;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => {
                    shape.type_name = match map.next_value::<Value>()? {
                        Value::Str(t) => Some(t),
                        _ => None,
                    };
                }
                "features" if shape.features.is_none() => {
                    let len = map.next_value_seed(ArrayLen { budget: self.budget })?;
                    shape.features = Some((i, len));
                }
                "records" | "results" if shape.list.is_none() => {
                    if let Some(len) = map.next_value_seed(ArrayLen { budget: self.budget })? {
                        shape.list = Some((i, len));
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            i += 1;
        }
        Ok(shape)
    }
}

/// Skips the elements of an array, counting them as records.
fn count_elements<'de, A: SeqAccess<'de>>(mut seq: A, budget: &Budget) -> Result<u64, A::Error> {
    let mut n = 0;
    while seq.next_element::<IgnoredAny>()?.is_some() {
        budget.record_done();
        n += 1;
    }
    Ok(n)
}

/// A value skipped; its length when it is an array.
struct ArrayLen<'b> {
    budget: &'b Budget,
}

impl<'de> DeserializeSeed<'de> for ArrayLen<'_> {
    type Value = Option<u64>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ArrayLen<'_> {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    scalars_give!(None);

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<u64>, A::Error> {
        count_elements(seq, self.budget).map(Some)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<u64>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// The state of a records pass.
struct Ctx<'b> {
    budget: &'b Budget,
    on_item: &'b mut dyn FnMut(u64, Value) -> Result<(), Error>,
    /// The import's own error that stopped the parse.
    failed: Option<Error>,
}

/// Reads the elements of the records array one at a time.
fn elements<'de, A: SeqAccess<'de>>(mut seq: A, ctx: &mut Ctx<'_>) -> Result<(), A::Error> {
    let mut n = 0u64;
    while let Some(v) = seq.next_element::<Value>()? {
        ctx.budget.record_done();
        n += 1;
        if let Err(e) = (ctx.on_item)(n, v) {
            ctx.failed = Some(e);
            return Err(de::Error::custom("the import stopped"));
        }
    }
    Ok(())
}

/// Walks the document to its records array: the document itself or one member.
struct Walk<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
    member: Option<usize>,
}

impl<'de> Visitor<'de> for Walk<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array or object")
    }

    scalars_give!(());

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        elements(seq, self.ctx)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while map.next_key::<IgnoredAny>()?.is_some() {
            if Some(i) == self.member {
                map.next_value_seed(Elements { ctx: &mut *self.ctx })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
            i += 1;
        }
        Ok(())
    }
}

/// The records array, read element by element.
struct Elements<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
}

impl<'de> DeserializeSeed<'de> for Elements<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        elements(seq, self.ctx)
    }
}

/// Where the records of a JSON document are.
#[derive(Clone, Copy)]
enum Records {
    /// Array items or ODS records: the document itself (`None`) or the member at this index.
    Items(Option<usize>),
    /// GeoJSON features in the member at this index.
    Features(usize),
    /// The document is one GeoJSON Feature.
    Feature,
}

/// A JSON document as a [`Source`] of records.
struct JsonSource<'t, 'p> {
    text: &'t JsonText<'p>,
    records: Records,
}

impl Source for JsonSource<'_, '_> {
    fn scan(&mut self, sink: &mut dyn FnMut(Record) -> Result<(), Error>) -> Result<(), Error> {
        match self.records {
            Records::Items(member) => {
                self.text.walk(member, &mut |loc, v| item_record(loc, v, "item", &mut *sink))
            }
            Records::Features(member) => {
                self.text.walk(Some(member), &mut |loc, v| feature_record(loc, v, &mut *sink))
            }
            Records::Feature => feature_record(1, self.text.whole()?, sink),
        }
    }

    fn bytes_read(&self) -> Rc<Cell<u64>> {
        self.text.counted.clone()
    }
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
    let text = JsonText::new(path)?;
    let Some(first) = text.first_byte()? else {
        return Err(Error::Empty { path: path.to_path_buf() });
    };
    let shape = match text.shape() {
        Ok(shape) => shape,
        Err(e) => {
            // Several JSON values one after the other: JSON Lines under a .json name.
            if opts.format.is_none()
                && e.is_syntax()
                && first == b'{'
                && text.starts_with_two_values()?
            {
                return import_jsonl(path, out_path, opts, progress);
            }
            return Err(text.json_error(&e));
        }
    };
    let is_geojson =
        shape.object && matches!(shape.type_name.as_deref(), Some("FeatureCollection" | "Feature"));
    let (records, format) = if is_geojson {
        let records = if shape.type_name.as_deref() == Some("Feature") {
            Records::Feature
        } else {
            match shape.features {
                Some((_, Some(0))) => return Err(Error::Empty { path: path.to_path_buf() }),
                Some((i, Some(_))) => Records::Features(i),
                _ => {
                    return Err(Error::unreadable(
                        path,
                        "a FeatureCollection without a \"features\" array",
                    ));
                }
            }
        };
        (records, Format::GeoJson)
    } else {
        if format == Format::GeoJson && opts.format.is_some() {
            return Err(Error::unreadable(
                path,
                "expected a GeoJSON object with \"type\": \"FeatureCollection\"; for plain JSON \
                 use format json",
            ));
        }
        let (member, len) = match (shape.array, shape.list) {
            (Some(len), _) => (None, len),
            (None, Some((i, len))) => (Some(i), len),
            (None, None) if shape.object => {
                return Err(Error::unreadable(
                    path,
                    "expected an array of objects, an object with a \"records\" or \"results\" \
                     array, or a GeoJSON FeatureCollection",
                ));
            }
            (None, None) => {
                return Err(Error::unreadable(
                    path,
                    "the document is a single JSON value, not an array of objects",
                ));
            }
        };
        if len == 0 {
            return Err(Error::Empty { path: path.to_path_buf() });
        }
        (Records::Items(member), Format::Json)
    };
    let geometry = matches!(format, Format::GeoJson).then_some(Role::FeatureGeometry);
    let mut source = JsonSource { text: &text, records };
    let scanned = scan_schema(&mut source, LocationKind::Item, geometry, progress, total)?;
    write_scanned(
        scanned,
        &mut source,
        path,
        out_path,
        opts,
        progress,
        format,
        detected(text.enc),
        total,
    )
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

/// One JSON array item or JSONL line (a plain object or an ODS record) as a record; `noun`
/// names the location in messages.
fn item_record(
    loc: u64,
    item: Value,
    noun: &str,
    sink: &mut dyn FnMut(Record) -> Result<(), Error>,
) -> Result<(), Error> {
    let Value::Obj(members) = item else {
        let what = match item {
            Value::Arr(_) => "an array",
            Value::Str(_) => "a string",
            Value::Null => "null",
            _ => "a scalar",
        };
        return sink(Record::Rejected {
            loc,
            field: None,
            value: Some(shorten(&item.to_json(), 1000)),
            reason: format!("{noun} {loc} is {what}, not a JSON object"),
        });
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
        return sink(Record::Row { loc, members, geometry: Value::Null });
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
        sink(Record::HasGeometry)?;
        if let Err(e) = validate_geometry(&geometry) {
            return sink(Record::Rejected {
                loc,
                field: Some("geometry"),
                value: Some(shorten(&geometry.to_json(), 1000)),
                reason: format!("invalid geometry ({noun} {loc}): {e}"),
            });
        }
    }
    sink(Record::Row { loc, members: fields, geometry })
}

/// One GeoJSON feature as a record.
fn feature_record(
    loc: u64,
    feature: Value,
    sink: &mut dyn FnMut(Record) -> Result<(), Error>,
) -> Result<(), Error> {
    let Value::Obj(members) = feature else {
        return sink(Record::Rejected {
            loc,
            field: None,
            value: None,
            reason: format!("feature {loc} is not a JSON object"),
        });
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
        return sink(Record::Rejected {
            loc,
            field: None,
            value: Some(shorten(&p.to_json(), 1000)),
            reason: format!("the properties of feature {loc} are not a JSON object"),
        });
    }
    if !matches!(geometry, Value::Null)
        && let Err(e) = validate_geometry(&geometry)
    {
        return sink(Record::Rejected {
            loc,
            field: Some("geometry"),
            value: Some(shorten(&geometry.to_json(), 1000)),
            reason: format!("invalid geometry of feature {loc}: {e}"),
        });
    }
    sink(Record::Row { loc, members: props, geometry })
}

/// A JSON Lines file as a [`Source`]: one record per non-blank line.
struct LinesSource<'t, 'p> {
    text: &'t JsonText<'p>,
    /// Non-blank lines seen by the last scan.
    nonblank: usize,
}

impl Source for LinesSource<'_, '_> {
    fn scan(&mut self, sink: &mut dyn FnMut(Record) -> Result<(), Error>) -> Result<(), Error> {
        let path = self.text.path;
        let mut reader = self.text.open()?;
        let mut buf = Vec::new();
        let mut loc = 0u64;
        self.nonblank = 0;
        loop {
            buf.clear();
            let n = (&mut reader)
                .take(MAX_RECORD_BYTES + 1)
                .read_until(b'\n', &mut buf)
                .map_err(|e| self.text.io_error(e))?;
            if n == 0 {
                break;
            }
            loc += 1;
            if n as u64 > MAX_RECORD_BYTES || self.text.budget.tripped.get() {
                return Err(Error::TooLarge {
                    path: path.to_path_buf(),
                    reason: format!(
                        "line {loc} is longer than {}, the record size limit; split the file or \
                         leave the largest values out",
                        mib(MAX_RECORD_BYTES)
                    ),
                });
            }
            self.text.budget.record_done();
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            self.nonblank += 1;
            if self.nonblank == 1
                && line.as_bytes().first().is_some_and(|b| *b < 0x20 && *b != b'\t')
            {
                return Err(Error::unreadable(path, "binary data: this is not a JSON Lines file"));
            }
            match serde_json::from_str::<Value>(line) {
                Ok(v) => item_record(loc, v, "the value of line", &mut *sink)?,
                Err(e) => sink(Record::Rejected {
                    loc,
                    field: None,
                    value: Some(shorten(line, 1000)),
                    reason: match nesting(&e) {
                        Some(reason) => reason,
                        None => format!("invalid JSON at column {}: {e}", e.column()),
                    },
                })?,
            }
        }
        Ok(())
    }

    fn bytes_read(&self) -> Rc<Cell<u64>> {
        self.text.counted.clone()
    }
}

/// Imports JSON Lines: one object per line; a line that is not a JSON object is rejected.
pub(crate) fn import_jsonl(
    path: &Path,
    out_path: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportOutcome, Error> {
    let total = std::fs::metadata(path).map_err(|e| Error::input(path, e))?.len();
    let text = JsonText::new(path)?;
    if opts.format.is_none() && text.first_byte()? == Some(b'[') {
        // A JSON array under a .jsonl name.
        return import_json(path, out_path, opts, progress, Format::Json);
    }
    let mut source = LinesSource { text: &text, nonblank: 0 };
    let scanned = scan_schema(&mut source, LocationKind::Line, None, progress, total)?;
    let nonblank = source.nonblank;
    if nonblank == 0 {
        return Err(Error::Empty { path: path.to_path_buf() });
    }
    if scanned.rows == 0 && scanned.rejected.len() == nonblank && nonblank > 1 {
        return Err(Error::unreadable(
            path,
            format!(
                "no line is a JSON object (first problem at line {}: {})",
                scanned.rejected[0].line, scanned.rejected[0].reason
            ),
        ));
    }
    write_scanned(
        scanned,
        &mut source,
        path,
        out_path,
        opts,
        progress,
        Format::Jsonl,
        detected(text.enc),
        total,
    )
}
