//! The shared counting path ([`super::counts`]) against one `GROUP BY` per facet, on generated
//! data: text (plain, dictionary, multivalued, hierarchical), dates, datetimes in time zones
//! with odd offsets and daylight saving, integers, booleans and doubles, under `where`,
//! `refine` (conjunctive and disjunctive) and `exclude`, read from Parquet and from a table
//! of several partitions.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::TimeZone;
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, DictionaryArray, Float64Array, Int64Array, ListBuilder,
    RecordBatch, StringArray, StringBuilder, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Int32Type, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use kleber_types::{Field, FieldType};

use super::{Counting, FacetGroup, FacetRequest, FacetSort, compute_with};
use crate::plan::RecordsQuery;

const ROWS: usize = 6_000;
const CATEGORIES: [&str; 7] = ["Voirie", "Propreté", "Éclairage", "Bruit", "", "Arbres", "Eau"];
const COMMUNES: [&str; 5] = ["Strasbourg", "Schiltigheim", "Hœnheim", "Ostwald", "Eschau"];
const TAGS: [&str; 4] = ["urgent", "nuit", "école", "parc"];
const PATHS: [&str; 6] = ["a", "a/b", "a/b/c", "a/d", "e/f", "e"];

/// A small deterministic generator (xorshift), so the data is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

fn field(name: &str, field_type: FieldType, annotations: &[(&str, &str)]) -> Field {
    let mut f = Field::new(name, name, field_type);
    for (k, v) in annotations {
        f.annotations.insert((*k).to_owned(), vec![(*v).to_owned()]);
    }
    f
}

fn fields() -> Vec<Field> {
    vec![
        field("categorie", FieldType::Text, &[]),
        field("commune", FieldType::Text, &[]),
        field("tags", FieldType::Text, &[("multivalued", ",")]),
        field("chemin", FieldType::Text, &[("hierarchical", "/")]),
        field("jour", FieldType::Date, &[]),
        field("moment", FieldType::Datetime, &[]),
        field("n", FieldType::Int, &[]),
        field("x", FieldType::Double, &[]),
        field("ok", FieldType::Boolean, &[]),
    ]
}

/// Instants around daylight-saving changes, midnights, and before 1900 (local mean time).
fn instant(rng: &mut Rng) -> Option<i64> {
    let anchors = [
        "2021-03-28T01:00:00Z", // Paris springs forward
        "2021-10-31T01:00:00Z", // Paris falls back
        "2021-04-03T15:00:00Z", // Lord Howe: half an hour back
        "2020-12-31T18:30:00Z", // Kolkata's midnight
        "1890-06-01T23:50:39Z", // Paris local mean time (+00:09:21)
        "2024-02-29T23:59:59Z",
    ];
    if rng.below(20) == 0 {
        return None;
    }
    let anchor = chrono::DateTime::parse_from_rfc3339(anchors[rng.below(anchors.len())]).ok()?;
    // Within three hours either side, to the second.
    let shift = i64::try_from(rng.below(6 * 3600)).ok()? - 3 * 3600;
    Some((anchor.timestamp() + shift) * 1_000_000 + i64::try_from(rng.below(1000)).ok()?)
}

struct Data {
    batch: RecordBatch,
    categories: Vec<Option<&'static str>>,
    moments: Vec<Option<i64>>,
}

fn data() -> Data {
    let mut rng = Rng(0x2026_1205);
    let pick = |rng: &mut Rng, values: &[&'static str], nulls: usize| {
        (rng.below(nulls) != 0).then(|| values[rng.below(values.len())])
    };
    let categories: Vec<Option<&str>> = (0..ROWS).map(|_| pick(&mut rng, &CATEGORIES, 9)).collect();
    let communes: Vec<Option<&str>> = (0..ROWS).map(|_| pick(&mut rng, &COMMUNES, 12)).collect();
    let mut tags = ListBuilder::new(StringBuilder::new());
    for _ in 0..ROWS {
        match rng.below(8) {
            0 => tags.append_null(),
            1 => tags.append(true), // an empty list
            _ => {
                for _ in 0..=rng.below(3) {
                    let tag = pick(&mut rng, &TAGS, 10);
                    tags.values().append_option(tag);
                }
                tags.append(true);
            }
        }
    }
    let paths: Vec<Option<&str>> = (0..ROWS).map(|_| pick(&mut rng, &PATHS, 15)).collect();
    let days: Vec<Option<i32>> = (0..ROWS)
        .map(|_| (rng.below(10) != 0).then(|| 18_600 + i32::try_from(rng.below(800)).unwrap_or(0)))
        .collect();
    let moments: Vec<Option<i64>> = (0..ROWS).map(|_| instant(&mut rng)).collect();
    let ints: Vec<Option<i64>> = (0..ROWS)
        .map(|_| (rng.below(7) != 0).then(|| i64::try_from(rng.below(40)).unwrap_or(0) - 5))
        .collect();
    let doubles: Vec<Option<f64>> =
        (0..ROWS).map(|_| (rng.below(7) != 0).then(|| rng.below(9) as f64 / 4.0)).collect();
    let bools: Vec<Option<bool>> =
        (0..ROWS).map(|_| (rng.below(5) != 0).then(|| rng.below(2) == 0)).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(categories.clone())),
        Arc::new(StringArray::from(communes)),
        Arc::new(tags.finish()),
        Arc::new(StringArray::from(paths)),
        Arc::new(Date32Array::from(days)),
        Arc::new(TimestampMicrosecondArray::from(moments.clone()).with_timezone("UTC")),
        Arc::new(Int64Array::from(ints)),
        Arc::new(Float64Array::from(doubles)),
        Arc::new(BooleanArray::from(bools)),
    ];
    let schema = Schema::new(fields().iter().map(Field::arrow_field).collect::<Vec<_>>());
    let batch = RecordBatch::try_new(Arc::new(schema), columns).expect("columns match fields");
    Data { batch, categories, moments }
}

fn request(
    name: &str,
    disjunctive: bool,
    sort: Option<FacetSort>,
    limit: Option<usize>,
) -> FacetRequest {
    FacetRequest { name: name.to_owned(), disjunctive, sort, limit, separator: None }
}

fn requests() -> Vec<FacetRequest> {
    vec![
        request("categorie", false, None, None),
        request("commune", true, None, None),
        request("tags", false, Some(FacetSort::AlphaAsc), None),
        request("chemin", false, None, None),
        request("jour", false, None, None),
        request("moment", false, Some(FacetSort::CountDesc), Some(5)),
        request("n", false, Some(FacetSort::NumDesc), Some(12)),
        request("x", false, Some(FacetSort::NumAsc), None),
        request("ok", false, None, None),
        // The same field twice, and a disjunctive facet without refinements of its own.
        request("categorie", true, Some(FacetSort::CountAsc), Some(3)),
    ]
}

fn query(tz: chrono_tz::Tz, refine: &[&str], exclude: &[&str], where_: &[&str]) -> RecordsQuery {
    let list = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    RecordsQuery {
        tz,
        refine: list(refine),
        exclude: list(exclude),
        r#where: list(where_),
        ..RecordsQuery::default()
    }
}

fn queries() -> Vec<RecordsQuery> {
    use chrono_tz::{Asia, Australia, Europe, UTC};
    vec![
        query(UTC, &[], &[], &[]),
        query(Europe::Paris, &["categorie:Voirie"], &[], &[]),
        query(Asia::Kolkata, &["commune:Strasbourg", "commune:Ostwald"], &["categorie:Bruit"], &[]),
        query(Australia::Lord_Howe, &["tags:nuit"], &["tags:parc", "commune:Eschau"], &["n > 3"]),
        query(Europe::Paris, &["jour:2021/03", "moment:2021/10/31"], &["ok:false"], &[]),
        query(Europe::Paris, &["moment:1890"], &[], &[]),
        query(UTC, &["chemin:a/b", "n:7"], &["jour:2021/03/02"], &["x >= 0.5 OR x IS NULL"]),
        query(Asia::Kolkata, &["categorie:Propreté", "categorie:Bruit"], &[], &[]),
    ]
}

async fn both(table: &datafusion::dataframe::DataFrame, q: &RecordsQuery) -> Vec<FacetGroup> {
    let (fields, requests) = (fields(), requests());
    let shared = compute_with(table.clone(), &fields, q, &requests, None, Counting::Shared)
        .await
        .expect("shared counts");
    let reference = compute_with(table.clone(), &fields, q, &requests, None, Counting::PerFacet)
        .await
        .expect("per-facet counts");
    assert_eq!(
        shared, reference,
        "refine {:?} exclude {:?} where {:?}",
        q.refine, q.exclude, q.r#where
    );
    shared
}

fn counts_of(groups: &[FacetGroup], name: &str) -> BTreeMap<String, u64> {
    let group = groups.iter().find(|g| g.name == name).expect("facet answered");
    group.facets.iter().map(|v| (v.value.clone(), v.count)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_counts_answer_as_one_group_by_per_facet() {
    let data = data();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("data.parquet");
    let file = std::fs::File::create(&path).expect("create");
    // Small row groups, so the scan has several partitions.
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(700))
        .build();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, data.batch.schema(), Some(props))
        .expect("writer");
    writer.write(&data.batch).expect("write");
    writer.close().expect("close");
    let ctx = crate::session(crate::Limits::default()).expect("session");
    let options = ParquetReadOptions::default();
    let parquet =
        ctx.read_parquet(path.to_string_lossy().into_owned(), options).await.expect("read");

    // The same rows in memory, in four partitions, the text of `categorie` dictionary-encoded.
    let dictionary: DictionaryArray<Int32Type> = data.categories.iter().copied().collect();
    let mut columns = data.batch.columns().to_vec();
    columns[0] = Arc::new(dictionary);
    let mut schema_fields: Vec<_> =
        data.batch.schema().fields().iter().map(|f| (**f).clone()).collect();
    schema_fields[0] = schema_fields[0]
        .clone()
        .with_data_type(DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)));
    let schema = Arc::new(Schema::new(schema_fields));
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).expect("dictionary batch");
    let quarter = ROWS / 4;
    let partitions = (0..4).map(|i| vec![batch.slice(i * quarter, quarter)]).collect();
    let memory = MemTable::try_new(schema, partitions).expect("table");
    let memory = SessionContext::new().read_table(Arc::new(memory)).expect("memory table");

    for q in queries() {
        let from_file = both(&parquet, &q).await;
        let from_memory = both(&memory, &q).await;
        assert_eq!(from_file, from_memory, "refine {:?}", q.refine);
    }

    // And against counts made here, without the engine: categories over every row (the
    // `-count` default, all seven values fit), and datetimes by day in Kolkata's zone.
    let groups = both(&parquet, &query(chrono_tz::Asia::Kolkata, &[], &[], &[])).await;
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for c in data.categories.iter().flatten() {
        *expected.entry((*c).to_owned()).or_default() += 1;
    }
    assert_eq!(counts_of(&groups, "categorie"), expected);
    let mut years: BTreeMap<String, u64> = BTreeMap::new();
    for us in data.moments.iter().flatten() {
        let utc = chrono::DateTime::from_timestamp_micros(*us).expect("in range");
        let local = chrono_tz::Asia::Kolkata.from_utc_datetime(&utc.naive_utc());
        *years.entry(local.format("%Y").to_string()).or_default() += 1;
    }
    assert!(years.len() > 2 && years.len() <= 5, "the years fit the limit of 5: {years:?}");
    assert_eq!(counts_of(&groups, "moment"), years);
    let refined =
        both(&parquet, &query(chrono_tz::Asia::Kolkata, &["moment:2021/01/01"], &[], &[])).await;
    let new_year = refined.iter().find(|g| g.name == "moment").expect("moment");
    let expected_day = data
        .moments
        .iter()
        .flatten()
        .filter(|us| {
            let utc = chrono::DateTime::from_timestamp_micros(**us).expect("in range");
            let local = chrono_tz::Asia::Kolkata.from_utc_datetime(&utc.naive_utc());
            local.format("%Y-%m-%d").to_string() == "2021-01-01"
        })
        .count() as u64;
    assert!(expected_day > 0, "the data has instants on Kolkata's 2021-01-01");
    let year = new_year.facets.iter().find(|v| v.value == "2021").expect("2021 listed");
    let month = year.facets.iter().find(|v| v.value == "2021/01").expect("January expanded");
    let day = month.facets.iter().find(|v| v.value == "2021/01/01").expect("the day expanded");
    assert_eq!(day.count, expected_day);
}
