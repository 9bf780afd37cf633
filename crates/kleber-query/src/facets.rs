//! Facets: the values of a field among the records a query matches, with their counts.
//!
//! Which fields are facets comes from the `facet` annotation (set at import on low-cardinality
//! text and on dates) unless the request names them with `facet=name` or
//! `facet=facet(name="x", disjunctive=true, sort="-count", limit=10)`. Multivalued fields count
//! each element. Date and datetime facets are hierarchical, year → month → day in the request's
//! time zone: the top level lists years, and each refined level is expanded one level below.
//! A facet's counts ignore its own exclusions (excluded values are listed with state
//! `excluded`), and for a disjunctive facet its own refinements too, so other values stay
//! selectable.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{NaiveDate, TimeZone};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Builder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Result as DfResult, exec_err};
use datafusion::dataframe::DataFrame;
use datafusion::functions_aggregate::count::count_all;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use kleber_odsql::{Arg, ExprKind, Literal};
use kleber_types::{Field, FieldType};

use crate::error::{Error, Result};
use crate::lower::column;
use crate::plan::{RecordsQuery, SearchHook, filtered};

mod counts;
#[cfg(test)]
mod shared_tests;

/// How facet values are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacetSort {
    /// Most frequent first (`-count`), the default for non-date facets.
    CountDesc,
    /// Least frequent first (`count`).
    CountAsc,
    /// By value, A to Z (`alphanum`), the default for dates (chronological).
    AlphaAsc,
    /// By value, Z to A (`-alphanum`).
    AlphaDesc,
    /// By numeric value ascending (`num`).
    NumAsc,
    /// By numeric value descending (`-num`).
    NumDesc,
}

impl FacetSort {
    fn parse(s: &str) -> Option<FacetSort> {
        Some(match s.trim() {
            "-count" => FacetSort::CountDesc,
            "count" => FacetSort::CountAsc,
            "alphanum" => FacetSort::AlphaAsc,
            "-alphanum" => FacetSort::AlphaDesc,
            "num" => FacetSort::NumAsc,
            "-num" => FacetSort::NumDesc,
            _ => return None,
        })
    }
}

/// One facet asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetRequest {
    /// The field.
    pub name: String,
    /// Refinements of this facet are ORed, and its counts ignore them.
    pub disjunctive: bool,
    /// Order of the values, or the field's `facetsort` annotation / the default.
    pub sort: Option<FacetSort>,
    /// At most this many values per level (default 100).
    pub limit: Option<usize>,
    /// Split text values on this separator into a tree (`facet(hierarchical=true,
    /// separator="/")`), overriding the field's `hierarchical` annotation.
    pub separator: Option<String>,
}

/// Whether a value is refined, excluded, or just displayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacetState {
    /// Neither refined nor excluded.
    Displayed,
    /// Named by a `refine`.
    Refined,
    /// Named by an `exclude`.
    Excluded,
}

impl FacetState {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            FacetState::Displayed => "displayed",
            FacetState::Refined => "refined",
            FacetState::Excluded => "excluded",
        }
    }
}

/// One value of a facet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetValue {
    /// Display name (for dates, the last path component: `2020`, `11`, `05`).
    pub name: String,
    /// The value to refine with (`2020/11`).
    pub value: String,
    /// Matching records.
    pub count: u64,
    /// Refined, excluded or displayed.
    pub state: FacetState,
    /// Values one level below (dates), when expanded.
    pub facets: Vec<FacetValue>,
}

/// The values of one facet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetGroup {
    /// The field.
    pub name: String,
    /// Its values.
    pub facets: Vec<FacetValue>,
}

const DEFAULT_LIMIT: usize = 100;

fn bad(message: String) -> Error {
    Error::InvalidParameter { name: "facet", message }
}

/// Parses a `facet` parameter: a field name, or `facet(name="x", disjunctive=true, ...)`.
pub fn parse_facet_param(text: &str) -> Result<FacetRequest> {
    let trimmed = text.trim();
    if !trimmed.contains('(') {
        let name = trimmed.trim_matches('`').to_owned();
        return Ok(FacetRequest {
            name,
            disjunctive: false,
            sort: None,
            limit: None,
            separator: None,
        });
    }
    let expr = kleber_odsql::parse_expr(trimmed)
        .map_err(|e| bad(format!("Invalid value for facet API parameter: {e}.")))?;
    let ExprKind::Call { name, args, .. } = &expr.kind else {
        return Err(bad(format!(
            "Invalid value for facet API parameter: {trimmed:?} is neither a field name nor facet(...)."
        )));
    };
    if name != "facet" {
        return Err(bad(format!(
            "Invalid value for facet API parameter: expected facet(name=\"...\"), found {name}()."
        )));
    }
    let mut request = FacetRequest {
        name: String::new(),
        disjunctive: false,
        sort: None,
        limit: None,
        separator: None,
    };
    let mut hierarchical = false;
    let mut separator = None;
    for arg in args {
        let Arg::Named { name: key, value, .. } = arg else {
            return Err(bad("Invalid value for facet API parameter: facet() takes named arguments such as name=\"commune\".".to_owned()));
        };
        let text_value = match &value.kind {
            ExprKind::Literal(Literal::String(s)) => s.clone(),
            ExprKind::Literal(Literal::Bool(b)) => b.to_string(),
            ExprKind::Literal(Literal::Integer(i)) => i.to_string(),
            ExprKind::Field(f) => f.clone(),
            _ => {
                return Err(bad(format!(
                    "Invalid value for facet API parameter: unsupported value for {key}."
                )));
            }
        };
        match key.as_str() {
            "name" => request.name = text_value,
            "disjunctive" => request.disjunctive = text_value.eq_ignore_ascii_case("true"),
            "sort" => {
                request.sort = Some(FacetSort::parse(&text_value).ok_or_else(|| {
                    bad(format!("Invalid value for facet API parameter: sort={text_value:?}; use -count, count, alphanum, -alphanum, num or -num."))
                })?)
            }
            "limit" => {
                request.limit = Some(text_value.parse().map_err(|_| {
                    bad(format!("Invalid value for facet API parameter: limit={text_value:?} is not a number."))
                })?)
            }
            "hierarchical" => hierarchical = text_value.eq_ignore_ascii_case("true"),
            "separator" => separator = Some(text_value),
            // Unknown options are accepted and ignored, as clients send some of their own.
            _ => {}
        }
    }
    if request.name.is_empty() {
        return Err(bad(
            "Invalid value for facet API parameter: facet() needs name=\"...\".".to_owned()
        ));
    }
    if hierarchical {
        request.separator =
            Some(separator.filter(|s| !s.is_empty()).unwrap_or_else(|| "/".to_owned()));
    }
    Ok(request)
}

/// The default facets of a schema: the fields annotated `facet`.
pub fn default_facets(fields: &[Field]) -> Vec<FacetRequest> {
    fields
        .iter()
        .filter(|f| f.annotations.contains_key("facet"))
        .map(|f| FacetRequest {
            name: f.name.clone(),
            disjunctive: false,
            sort: None,
            limit: None,
            separator: None,
        })
        .collect()
}

/// Computes the facets of `table` under `query`'s filters.
///
/// Every facet's filtered rows are planned first (the errors of a request are those of its
/// first bad facet, in order); the facets whose filters are the same plan are then counted
/// together in one scan ([`counts`]).
pub(crate) async fn compute(
    table: DataFrame,
    fields: &[Field],
    query: &RecordsQuery,
    requests: &[FacetRequest],
    search: Option<SearchHook<'_>>,
) -> Result<Vec<FacetGroup>> {
    compute_with(table, fields, query, requests, search, Counting::Shared).await
}

/// How the facets' values are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counting {
    /// One scan per distinct filter, counted from the Arrow arrays ([`counts`]).
    Shared,
    /// One `GROUP BY` per facet: the reference the shared counts are tested against.
    #[cfg_attr(not(test), allow(dead_code))]
    PerFacet,
}

async fn compute_with(
    table: DataFrame,
    fields: &[Field],
    query: &RecordsQuery,
    requests: &[FacetRequest],
    search: Option<SearchHook<'_>>,
    counting: Counting,
) -> Result<Vec<FacetGroup>> {
    crate::limits::check_query(query)?;
    crate::limits::check_facets(requests.len())?;
    let tz = query.tz;
    let disjunctive: Vec<String> =
        requests.iter().filter(|r| r.disjunctive).map(|r| r.name.clone()).collect();
    let mut planned: Vec<(&Field, DataFrame)> = Vec::with_capacity(requests.len());
    for request in requests {
        let Some(field) = fields.iter().find(|f| f.name == request.name) else {
            return Err(bad(format!(
                "Invalid value for facet API parameter: unknown field {:?}.",
                request.name
            )));
        };
        if matches!(field.field_type, FieldType::GeoPoint2d | FieldType::GeoShape) {
            return Err(bad(format!(
                "Invalid value for facet API parameter: {} is a geo field and cannot be a facet.",
                field.name
            )));
        }
        let df = filtered(table.clone(), fields, query, Some(&field.name), &disjunctive, search)?;
        planned.push((field, df));
    }
    let all_counts = match counting {
        Counting::Shared => shared_counts(&planned, tz).await?,
        Counting::PerFacet => {
            let mut all = Vec::with_capacity(planned.len());
            for (field, df) in &planned {
                all.push(value_counts(df.clone(), field, tz).await?);
            }
            all
        }
    };
    let mut groups = Vec::with_capacity(requests.len());
    for ((request, (field, _)), mut counts) in requests.iter().zip(&planned).zip(all_counts) {
        // The same order whatever order the counts came in (ties of `num` sorts).
        counts.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let (refined, excluded) = states(query, &field.name);
        let sort = request.sort.or_else(|| annotation_sort(field));
        let limit = request.limit.unwrap_or(DEFAULT_LIMIT);
        let hierarchical = request.separator.clone().or_else(|| hierarchy_separator(field));
        let facets = if matches!(field.field_type, FieldType::Date | FieldType::Datetime) {
            date_tree(&counts, &refined, &excluded, sort.unwrap_or(FacetSort::AlphaAsc), limit)
        } else if let Some(separator) = hierarchical {
            text_tree(
                &counts,
                &separator,
                &refined,
                &excluded,
                sort.unwrap_or(FacetSort::CountDesc),
                limit,
            )
        } else {
            flat(counts, &refined, &excluded, field, sort.unwrap_or(FacetSort::CountDesc), limit)
        };
        groups.push(FacetGroup { name: field.name.clone(), facets });
    }
    Ok(groups)
}

/// The counts of each planned facet: the facets whose filtered rows are the same plan share
/// one scan of their columns; a column no [`counts::Rule`] counts gets its own `GROUP BY`.
async fn shared_counts(
    planned: &[(&Field, DataFrame)],
    tz: chrono_tz::Tz,
) -> Result<Vec<Vec<(String, u64)>>> {
    // Facets by filter: indexes into `planned`, grouped by equal logical plans.
    let mut by_filter: Vec<Vec<usize>> = Vec::new();
    for (i, (_, df)) in planned.iter().enumerate() {
        match by_filter.iter_mut().find(|g| planned[g[0]].1.logical_plan() == df.logical_plan()) {
            Some(group) => group.push(i),
            None => by_filter.push(vec![i]),
        }
    }
    let mut out: Vec<Option<Vec<(String, u64)>>> = vec![None; planned.len()];
    for group in by_filter {
        let df = &planned[group[0]].1;
        let schema = df.schema().clone();
        // The columns counted in the shared scan (each once), and which facet reads which.
        let mut columns: Vec<(String, counts::Rule)> = Vec::new();
        let mut reads: Vec<(usize, usize)> = Vec::new();
        for &i in &group {
            let field = planned[i].0;
            let rule = schema
                .field_with_unqualified_name(&field.name)
                .ok()
                .and_then(|f| counts::rule(field, f.data_type()));
            match rule {
                Some(rule) => {
                    let at = match columns.iter().position(|(n, _)| *n == field.name) {
                        Some(at) => at,
                        None => {
                            columns.push((field.name.clone(), rule));
                            columns.len() - 1
                        }
                    };
                    reads.push((i, at));
                }
                None => out[i] = Some(value_counts(df.clone(), field, tz).await?),
            }
        }
        if columns.is_empty() {
            continue;
        }
        let counted = counts::count(df.clone(), &columns, tz).await?;
        for (i, at) in reads {
            out[i] = counted.get(at).cloned();
        }
    }
    Ok(out.into_iter().map(Option::unwrap_or_default).collect())
}

/// The separator of a text field annotated `hierarchical` (default `/`).
pub(crate) fn hierarchy_separator(field: &Field) -> Option<String> {
    let args = field.annotations.get("hierarchical")?;
    Some(args.first().cloned().filter(|s| !s.is_empty()).unwrap_or_else(|| "/".to_owned()))
}

fn annotation_sort(field: &Field) -> Option<FacetSort> {
    field.annotations.get("facetsort").and_then(|a| a.first()).and_then(|s| FacetSort::parse(s))
}

/// The refined and excluded values of one facet in the query.
fn states(query: &RecordsQuery, name: &str) -> (Vec<String>, Vec<String>) {
    let pick = |list: &[String]| {
        list.iter()
            .filter_map(|t| crate::refine::split(t))
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect()
    };
    (pick(&query.refine), pick(&query.exclude))
}

/// (value as text, count) for each value of `field` among `df`'s rows; dates as `YYYY-MM-DD`.
async fn value_counts(
    df: DataFrame,
    field: &Field,
    tz: chrono_tz::Tz,
) -> Result<Vec<(String, u64)>> {
    let name = field.name.as_str();
    let mut df = df.select(vec![column(name)]).map_err(Error::from)?;
    if field.multivalued_separator().is_some() {
        df = df.unnest_columns(&[name]).map_err(Error::from)?;
    }
    let key = match field.field_type {
        FieldType::Datetime => {
            Arc::new(ScalarUDF::new_from_impl(LocalDate::new(tz))).call(vec![column(name)])
        }
        _ => column(name),
    };
    let df = df
        .filter(column(name).is_not_null())
        .map_err(Error::from)?
        .aggregate(vec![key.alias("value")], vec![count_all().alias("count")])
        .map_err(Error::from)?;
    let batches = df.collect().await?;
    let mut out = Vec::new();
    for batch in batches {
        let values = cast(batch.column(0), &DataType::Utf8)?;
        let values = values.as_string::<i32>();
        let counts = cast(batch.column(1), &DataType::UInt64)?;
        let counts = counts.as_primitive::<datafusion::arrow::datatypes::UInt64Type>();
        for i in 0..batch.num_rows() {
            if values.is_valid(i) {
                out.push((values.value(i).to_owned(), counts.value(i)));
            }
        }
    }
    Ok(out)
}

fn state_of(value: &str, refined: &[String], excluded: &[String]) -> FacetState {
    if excluded.iter().any(|e| e == value) {
        FacetState::Excluded
    } else if refined.iter().any(|r| r == value) {
        FacetState::Refined
    } else {
        FacetState::Displayed
    }
}

fn sort_values(values: &mut [FacetValue], sort: FacetSort) {
    let num = |v: &FacetValue| v.value.parse::<f64>().unwrap_or(f64::NAN);
    match sort {
        FacetSort::CountDesc => {
            values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)))
        }
        FacetSort::CountAsc => {
            values.sort_by(|a, b| a.count.cmp(&b.count).then_with(|| a.value.cmp(&b.value)))
        }
        FacetSort::AlphaAsc => values.sort_by(|a, b| a.value.cmp(&b.value)),
        FacetSort::AlphaDesc => values.sort_by(|a, b| b.value.cmp(&a.value)),
        FacetSort::NumAsc => values.sort_by(|a, b| num(a).total_cmp(&num(b))),
        FacetSort::NumDesc => values.sort_by(|a, b| num(b).total_cmp(&num(a))),
    }
}

fn flat(
    counts: Vec<(String, u64)>,
    refined: &[String],
    excluded: &[String],
    field: &Field,
    sort: FacetSort,
    limit: usize,
) -> Vec<FacetValue> {
    let mut values: Vec<FacetValue> = counts
        .into_iter()
        .map(|(value, count)| FacetValue {
            name: value.clone(),
            state: state_of(&value, refined, excluded),
            value,
            count,
            facets: Vec::new(),
        })
        .collect();
    // Excluded values are listed even when no record has them any more.
    for e in excluded {
        if !values.iter().any(|v| &v.value == e) {
            values.push(FacetValue {
                name: e.clone(),
                value: e.clone(),
                count: 0,
                state: FacetState::Excluded,
                facets: Vec::new(),
            });
        }
    }
    let _ = field;
    sort_values(&mut values, sort);
    values.truncate(limit);
    values
}

/// Builds the year → month → day tree from per-day counts (`YYYY-MM-DD`).
fn date_tree(
    counts: &[(String, u64)],
    refined: &[String],
    excluded: &[String],
    sort: FacetSort,
    limit: usize,
) -> Vec<FacetValue> {
    let paths: Vec<(Vec<String>, u64)> = counts
        .iter()
        .filter_map(|(day, count)| {
            let parts: Vec<String> = day.splitn(3, '-').map(str::to_owned).collect();
            (parts.len() == 3).then_some((parts, *count))
        })
        .collect();
    let normalize = |v: &String| v.replace('-', "/");
    let refined: Vec<String> = refined.iter().map(normalize).collect();
    let excluded: Vec<String> = excluded.iter().map(normalize).collect();
    tree(&paths, "/", &refined, &excluded, sort, limit)
}

/// Builds the tree of a `hierarchical` text facet: values split on `separator`.
fn text_tree(
    counts: &[(String, u64)],
    separator: &str,
    refined: &[String],
    excluded: &[String],
    sort: FacetSort,
    limit: usize,
) -> Vec<FacetValue> {
    let paths: Vec<(Vec<String>, u64)> = counts
        .iter()
        .map(|(value, count)| (value.split(separator).map(str::to_owned).collect(), *count))
        .collect();
    tree(&paths, separator, refined, excluded, sort, limit)
}

/// A facet tree from paths and their counts: the top level lists the first components; a
/// value that is refined, or an ancestor of a refined value, is expanded one level down.
fn tree(
    paths: &[(Vec<String>, u64)],
    separator: &str,
    refined: &[String],
    excluded: &[String],
    sort: FacetSort,
    limit: usize,
) -> Vec<FacetValue> {
    let depth = paths.iter().map(|(p, _)| p.len()).max().unwrap_or(0);
    // For each level, full path -> count.
    let mut levels: Vec<BTreeMap<String, u64>> = vec![BTreeMap::new(); depth];
    for (parts, count) in paths {
        for level in 0..parts.len() {
            *levels[level].entry(parts[..=level].join(separator)).or_default() += count;
        }
    }
    struct Ctx<'a> {
        levels: &'a [BTreeMap<String, u64>],
        separator: &'a str,
        refined: &'a [String],
        excluded: &'a [String],
        sort: FacetSort,
        limit: usize,
    }
    fn build(ctx: &Ctx<'_>, depth: usize, prefix: Option<&str>) -> Vec<FacetValue> {
        let sep = ctx.separator;
        let mut values: Vec<FacetValue> = ctx.levels[depth]
            .iter()
            .filter(|(path, _)| prefix.is_none_or(|p| path.starts_with(&format!("{p}{sep}"))))
            .map(|(path, count)| {
                let state = state_of(path, ctx.refined, ctx.excluded);
                let expand = depth + 1 < ctx.levels.len()
                    && ctx
                        .refined
                        .iter()
                        .any(|r| r == path || r.starts_with(&format!("{path}{sep}")));
                FacetValue {
                    name: path.rsplit(sep).next().unwrap_or(path).to_owned(),
                    value: path.clone(),
                    count: *count,
                    state: if expand && state == FacetState::Displayed {
                        FacetState::Refined
                    } else {
                        state
                    },
                    facets: if expand { build(ctx, depth + 1, Some(path)) } else { Vec::new() },
                }
            })
            .collect();
        sort_values(&mut values, ctx.sort);
        values.truncate(ctx.limit);
        values
    }
    if levels.is_empty() {
        return Vec::new();
    }
    let ctx = Ctx { levels: &levels, separator, refined, excluded, sort, limit };
    build(&ctx, 0, None)
}

/// `kleber_local_date(ts)`: the calendar date of an instant in a time zone.
#[derive(Debug, PartialEq, Eq, Hash)]
struct LocalDate {
    tz: chrono_tz::Tz,
    signature: Signature,
}

impl LocalDate {
    fn new(tz: chrono_tz::Tz) -> Self {
        LocalDate { tz, signature: Signature::any(1, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for LocalDate {
    fn name(&self) -> &str {
        "kleber_local_date"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Date32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let Some(arg) = args.args.into_iter().next() else {
            return exec_err!("kleber_local_date takes one argument");
        };
        let array: ArrayRef = arg.into_array(args.number_rows)?;
        let micros = cast(&array, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
        let micros =
            micros.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        let mut out = Date32Builder::with_capacity(micros.len());
        for i in 0..micros.len() {
            let day = micros.is_valid(i).then(|| micros.value(i)).and_then(|us| {
                let utc = chrono::DateTime::from_timestamp_micros(us)?;
                let local = self.tz.from_utc_datetime(&utc.naive_utc()).date_naive();
                i32::try_from((local - epoch).num_days()).ok()
            });
            out.append_option(day);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facet_parameters_parse() {
        assert_eq!(parse_facet_param("commune").unwrap().name, "commune");
        let r = parse_facet_param(
            "facet(name=\"commune\", disjunctive=true, sort=\"alphanum\", limit=5)",
        )
        .unwrap();
        assert_eq!(
            r,
            FacetRequest {
                name: "commune".into(),
                disjunctive: true,
                sort: Some(FacetSort::AlphaAsc),
                limit: Some(5),
                separator: None
            }
        );
        assert!(parse_facet_param("facet(sort=\"up\", name=\"x\")").is_err());
        assert!(parse_facet_param("facet(disjunctive=true)").is_err());
    }

    #[test]
    fn date_tree_expands_refined_levels() {
        let counts = vec![
            ("2020-11-05".to_owned(), 2),
            ("2020-11-06".to_owned(), 1),
            ("2020-12-01".to_owned(), 4),
            ("2021-01-01".to_owned(), 3),
        ];
        let tree = date_tree(&counts, &["2020/11".to_owned()], &[], FacetSort::AlphaAsc, 100);
        assert_eq!(tree.len(), 2);
        assert_eq!(
            (tree[0].value.as_str(), tree[0].count, tree[0].state),
            ("2020", 7, FacetState::Refined)
        );
        assert_eq!(tree[0].facets.len(), 2);
        assert_eq!(
            (tree[0].facets[0].name.as_str(), tree[0].facets[0].value.as_str()),
            ("11", "2020/11")
        );
        assert_eq!(tree[0].facets[0].state, FacetState::Refined);
        assert_eq!(tree[0].facets[0].facets.len(), 2);
        assert_eq!(tree[0].facets[0].facets[0].value, "2020/11/05");
        assert!(tree[1].facets.is_empty());
    }
}
