//! Derived datasets: a SQL `SELECT` over other datasets, checked, planned by DataFusion's SQL
//! planner in a session that holds nothing else, and written to one Parquet file
//! (docs/crossing.md).
//!
//! Two fences, each enough on its own:
//!
//! 1. [`check`] reads the text with `sqlparser` and refuses, with a message saying what and
//!    where, anything but one `SELECT` (with joins, unions, `WITH`, sub-queries), a relation
//!    that is not a dataset identifier (a file path, a qualified name such as
//!    `information_schema.tables`), a table function (`read_parquet(...)`,
//!    `generate_series(...)`), `SELECT ... INTO`, and any function outside [`SCALAR`],
//!    [`AGGREGATE`] and `polygon_of`. It returns the datasets the query reads.
//! 2. [`Engine::derive`] plans the text in a fresh session whose registry holds only the
//!    allowed functions (no table functions, no file formats, no table factories, no
//!    `information_schema`), whose only tables are the inputs (each the scan of its current
//!    version through the definer's view, [`crate::ScanView`]), and verifies the plan holds
//!    no DDL, DML or statement and scans only those tables.
//!
//! The query runs under the engine's memory pool, a deadline and a row limit
//! ([`DeriveLimits`]).
//! The spatial join is `polygon_of('dataset', 'key_field', point)`: the key (as text) of the
//! polygon of `dataset`'s first `geo_shape` field that contains the point, found in a
//! [`crate::PolygonIndex`] built once per computation.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Array, ArrayRef, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field as ArrowField, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{ScalarValue, exec_err};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::SessionStateDefaults;
use datafusion::logical_expr::{
    ColumnarValue, LogicalPlan, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};
use datafusion::sql::sqlparser::ast::{
    Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectName, Query, Select,
    SetExpr, Statement, TableFactor, Value, Visit, Visitor,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use futures::StreamExt;
use kleber_types::{Field, FieldType};

use crate::geo::contain::{PolygonIndex, PolygonIndexBuilder};
use crate::{DatasetRef, Engine};

/// Scalar functions a derivation may call (DataFusion's names; `extract`, `substring`,
/// `position`, `trim`, `ceil`/`floor`, `CAST`, `CASE`, `LIKE`, `IN`, `BETWEEN` and the
/// operators are syntax and always allowed).
pub const SCALAR: &[&str] = &[
    "abs",
    "ceil",
    "floor",
    "round",
    "trunc",
    "power",
    "pow",
    "sqrt",
    "ln",
    "log10",
    "exp",
    "signum",
    "lower",
    "upper",
    "trim",
    "btrim",
    "ltrim",
    "rtrim",
    "length",
    "char_length",
    "character_length",
    "concat",
    "concat_ws",
    "substr",
    "substring",
    "left",
    "right",
    "replace",
    "split_part",
    "starts_with",
    "ends_with",
    "strpos",
    "lpad",
    "rpad",
    "initcap",
    "coalesce",
    "nullif",
    "nvl",
    "greatest",
    "least",
    "date_trunc",
    "date_part",
    "datepart",
    "datetrunc",
    "to_date",
    "to_timestamp",
    "make_date",
    "to_char",
];

/// Aggregate functions a derivation may call.
pub const AGGREGATE: &[&str] = &[
    "count",
    "sum",
    "avg",
    "mean",
    "min",
    "max",
    "median",
    "stddev",
    "stddev_pop",
    "var",
    "var_pop",
    "string_agg",
    "bool_and",
    "bool_or",
];

/// The spatial join's function.
pub const POLYGON_OF: &str = "polygon_of";

/// Longest query text accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;

/// Why a derivation's query is refused before anything runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not SQL, or not one `SELECT`, or something the language leaves out.
    #[error("{0}")]
    Invalid(String),
    /// A relation named like a file or URL.
    #[error(
        "`{0}` is a file path or URL: a derivation reads datasets only; name a dataset by its identifier, e.g. FROM \"my-dataset\""
    )]
    FilePath(String),
    /// A table function or a relation with arguments.
    #[error(
        "`{0}` is a table function: a derivation reads datasets only, through FROM \"dataset-id\""
    )]
    TableFunction(String),
    /// A function outside the allow-list.
    #[error(
        "function `{0}` is not allowed in a derivation; allowed: {scalar}, the aggregates {aggregate}, and polygon_of",
        scalar = SCALAR.join(", "),
        aggregate = AGGREGATE.join(", ")
    )]
    Function(String),
    /// A qualified name (`schema.table`) or a system table.
    #[error(
        "`{0}` is not a dataset identifier: name a dataset by its identifier alone, quoted when it holds a dash, e.g. FROM \"my-dataset\""
    )]
    QualifiedName(String),
}

/// What [`check`] found in a query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    /// The dataset identifiers it reads (tables and `polygon_of` datasets), sorted.
    pub inputs: BTreeSet<String>,
    /// The `(dataset, key field)` pairs of its `polygon_of` calls.
    pub polygons: BTreeSet<(String, String)>,
}

/// Reads `sql` and refuses what a derivation may not do (see the module's documentation);
/// returns the datasets it reads.
///
/// # Errors
///
/// A [`Refusal`] saying what is refused and how to write it instead.
pub fn check(sql: &str) -> Result<Checked, Refusal> {
    if sql.len() > MAX_QUERY_BYTES {
        return Err(Refusal::Invalid(format!(
            "the query is {} bytes long; at most {MAX_QUERY_BYTES} are accepted",
            sql.len()
        )));
    }
    quoted_relations(sql)?;
    let statements = Parser::new(&GenericDialect {})
        .with_recursion_limit(64)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| {
            Refusal::Invalid(format!(
                "the query is not valid SQL (a derivation is one SELECT statement over datasets): {e}"
            ))
        })?;
    let [statement] = statements.as_slice() else {
        return Err(Refusal::Invalid(format!(
            "a derivation is exactly one SELECT statement; {} statements were found",
            statements.len()
        )));
    };
    let Statement::Query(_) = statement else {
        return Err(Refusal::Invalid(format!(
            "a derivation is one SELECT statement (with joins, UNION ALL, GROUP BY, WITH); `{}` is not allowed",
            first_words(&statement.to_string())
        )));
    };
    let mut walker = Walker::default();
    if let ControlFlow::Break(refusal) = statement.visit(&mut walker) {
        return Err(refusal);
    }
    for cte in &walker.ctes {
        walker.inputs.remove(cte);
    }
    if walker.inputs.is_empty() {
        return Err(Refusal::Invalid(
            "the query reads no dataset: name at least one in FROM".to_owned(),
        ));
    }
    Ok(Checked { inputs: walker.inputs, polygons: walker.polygons })
}

/// Refuses `FROM 'text'` and `JOIN 'text'` (a file read by some engines), which the parser
/// would otherwise only call invalid.
fn quoted_relations(sql: &str) -> Result<(), Refusal> {
    use datafusion::sql::sqlparser::keywords::Keyword;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        return Ok(());
    };
    let mut after_from = false;
    for token in tokens.iter().filter(|t| !matches!(t, Token::Whitespace(_))) {
        match token {
            Token::SingleQuotedString(text) | Token::DoubleQuotedString(text) if after_from => {
                return Err(Refusal::FilePath(text.clone()));
            }
            Token::Word(w) => after_from = matches!(w.keyword, Keyword::FROM | Keyword::JOIN),
            _ => after_from = false,
        }
    }
    Ok(())
}

fn first_words(text: &str) -> String {
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

#[derive(Default)]
struct Walker {
    inputs: BTreeSet<String>,
    ctes: BTreeSet<String>,
    polygons: BTreeSet<(String, String)>,
}

/// The text of a one-part name, or the refusal of a longer one.
fn single_name(name: &ObjectName) -> Result<String, Refusal> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|part| part.as_ident().map_or_else(|| part.to_string(), |i| i.value.clone()))
        .collect();
    match parts.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(Refusal::QualifiedName(name.to_string())),
    }
}

fn looks_like_path(name: &str) -> bool {
    name.contains('/')
        || name.contains('\\')
        || name.contains("://")
        || name.contains('.')
        || name.contains('~')
}

fn string_literal(arg: &FunctionArg) -> Option<String> {
    let FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::Value(value))) = arg else {
        return None;
    };
    match &value.value {
        Value::SingleQuotedString(s) => Some(s.clone()),
        _ => None,
    }
}

impl Visitor for Walker {
    type Break = Refusal;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Refusal> {
        if let Some(with) = &query.with {
            if with.recursive {
                return ControlFlow::Break(Refusal::Invalid(
                    "WITH RECURSIVE is not allowed in a derivation".to_owned(),
                ));
            }
            for cte in &with.cte_tables {
                self.ctes.insert(cte.alias.name.value.clone());
            }
        }
        if let SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) =
            query.body.as_ref()
        {
            return ControlFlow::Break(Refusal::Invalid(
                "a derivation only reads: no INSERT, UPDATE, DELETE or MERGE".to_owned(),
            ));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<Refusal> {
        if select.into.is_some() {
            return ControlFlow::Break(Refusal::Invalid(
                "SELECT ... INTO is not allowed: a derivation's result is its dataset".to_owned(),
            ));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<Refusal> {
        match factor {
            TableFactor::Table { name, args: Some(_), .. } => {
                ControlFlow::Break(Refusal::TableFunction(name.to_string()))
            }
            TableFactor::Table { .. }
            | TableFactor::Derived { .. }
            | TableFactor::NestedJoin { .. } => ControlFlow::Continue(()),
            TableFactor::TableFunction { expr, .. } => {
                ControlFlow::Break(Refusal::TableFunction(expr.to_string()))
            }
            TableFactor::Function { name, .. } => {
                ControlFlow::Break(Refusal::TableFunction(name.to_string()))
            }
            other => ControlFlow::Break(Refusal::TableFunction(first_words(&other.to_string()))),
        }
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<Refusal> {
        let name = match single_name(relation) {
            Ok(name) => name,
            Err(refusal) => {
                let text = relation.to_string();
                let text_only = text.replace('"', "");
                let file = ["/", "\\", "://", "~"].iter().any(|p| text_only.contains(p));
                return ControlFlow::Break(if file { Refusal::FilePath(text) } else { refusal });
            }
        };
        if looks_like_path(&name) {
            return ControlFlow::Break(Refusal::FilePath(name));
        }
        self.inputs.insert(name);
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &SqlExpr) -> ControlFlow<Refusal> {
        let SqlExpr::Function(function) = expr else {
            return ControlFlow::Continue(());
        };
        let name = match single_name(&function.name) {
            Ok(name) => name.to_lowercase(),
            Err(_) => return ControlFlow::Break(Refusal::Function(function.name.to_string())),
        };
        if name == POLYGON_OF {
            let args = match &function.args {
                FunctionArguments::List(list) => &list.args,
                _ => return ControlFlow::Break(polygon_usage()),
            };
            let (Some(dataset), Some(key)) =
                (args.first().and_then(string_literal), args.get(1).and_then(string_literal))
            else {
                return ControlFlow::Break(polygon_usage());
            };
            if args.len() != 3 {
                return ControlFlow::Break(polygon_usage());
            }
            if looks_like_path(&dataset) {
                return ControlFlow::Break(Refusal::FilePath(dataset));
            }
            self.inputs.insert(dataset.clone());
            self.polygons.insert((dataset, key));
            return ControlFlow::Continue(());
        }
        if function.over.is_some() {
            return ControlFlow::Break(Refusal::Invalid(format!(
                "window functions (`{name}(...) OVER`) are not allowed in a derivation"
            )));
        }
        if SCALAR.contains(&name.as_str()) || AGGREGATE.contains(&name.as_str()) {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(Refusal::Function(name))
        }
    }
}

fn polygon_usage() -> Refusal {
    Refusal::Invalid(
        "polygon_of takes a dataset identifier and a field name as text literals, then a geo_point_2d: polygon_of('arrondissements', 'code', p.geo_point_2d)"
            .to_owned(),
    )
}

/// The bounds of one computation.
#[derive(Debug, Clone, Copy)]
pub struct DeriveLimits {
    /// Time from planning to the last row written.
    pub timeout: Duration,
    /// Rows the result may hold.
    pub max_rows: u64,
}

impl Default for DeriveLimits {
    fn default() -> Self {
        DeriveLimits { timeout: Duration::from_secs(120), max_rows: 10_000_000 }
    }
}

/// One input of a computation: its identifier in the query and the version read (through the
/// definer's view).
#[derive(Debug, Clone)]
pub struct DeriveInput {
    /// The dataset identifier the query names.
    pub id: String,
    /// The version read.
    pub dataset: DatasetRef,
}

/// What a computation wrote.
#[derive(Debug, Clone)]
pub struct Derived {
    /// The fields of the result, in the query's column order.
    pub fields: Vec<Field>,
    /// Rows written.
    pub rows: u64,
}

/// Why a computation failed.
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
    /// Refused by [`check`] or by the planner's fence.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The query does not plan or run (an unknown column, a type error, a limit).
    #[error(transparent)]
    Query(#[from] crate::Error),
}

impl From<datafusion::error::DataFusionError> for DeriveError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        match e.find_root() {
            datafusion::error::DataFusionError::Plan(msg) => {
                DeriveError::Refused(Refusal::Invalid(clean_plan_message(msg)))
            }
            datafusion::error::DataFusionError::SchemaError(err, _) => {
                DeriveError::Refused(Refusal::Invalid(err.to_string()))
            }
            datafusion::error::DataFusionError::SQL(err, _) => {
                DeriveError::Refused(Refusal::Invalid(format!("the query is not valid SQL: {err}")))
            }
            datafusion::error::DataFusionError::NotImplemented(msg) => {
                DeriveError::Refused(Refusal::Invalid(format!("not supported: {msg}")))
            }
            _ => DeriveError::Query(crate::Error::from(e)),
        }
    }
}

fn clean_plan_message(msg: &str) -> String {
    msg.lines().next().unwrap_or(msg).trim().to_owned()
}

/// The session a derivation is planned in: the engine's memory pool, no spilling, only the
/// allowed functions, nothing registered but what [`Engine::derive`] adds.
fn restricted_session(engine: &Engine, polygon: Option<Arc<ScalarUDF>>) -> SessionContext {
    let mut config = SessionConfig::new()
        .with_batch_size(8192)
        .with_information_schema(false)
        .with_target_partitions(std::thread::available_parallelism().map_or(2, |n| n.get()));
    config.options_mut().catalog.default_catalog = "kleber".to_owned();
    config.options_mut().catalog.default_schema = "datasets".to_owned();
    let mut scalar: Vec<Arc<ScalarUDF>> = SessionStateDefaults::default_scalar_functions()
        .into_iter()
        .filter(|f| {
            SCALAR.contains(&f.name()) || f.aliases().iter().any(|a| SCALAR.contains(&a.as_str()))
        })
        .collect();
    scalar.extend(polygon);
    let aggregate = SessionStateDefaults::default_aggregate_functions()
        .into_iter()
        .filter(|f| {
            AGGREGATE.contains(&f.name())
                || f.aliases().iter().any(|a| AGGREGATE.contains(&a.as_str()))
        })
        .collect();
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(engine.ctx.runtime_env())
        .with_expr_planners(SessionStateDefaults::default_expr_planners())
        .with_scalar_functions(scalar)
        .with_aggregate_functions(aggregate)
        .build();
    SessionContext::new_with_state(state)
}

/// The stored type of an output column, if a dataset can hold it.
fn field_type_of(data_type: &DataType) -> Option<FieldType> {
    Some(match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => FieldType::Text,
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => FieldType::Int,
        DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => FieldType::Double,
        DataType::Boolean => FieldType::Boolean,
        DataType::Date32 | DataType::Date64 => FieldType::Date,
        DataType::Timestamp(..) => FieldType::Datetime,
        DataType::Struct(children)
            if children.len() == 2
                && children.iter().any(|c| c.name() == kleber_types::GEO_LON)
                && children.iter().any(|c| c.name() == kleber_types::GEO_LAT) =>
        {
            FieldType::GeoPoint2d
        }
        _ => return None,
    })
}

/// The fields of a result of `schema`, named by `kleber_types::technical_name` of each column
/// (labels, descriptions and annotations copied from an input field of the same name and
/// type; a text column named like an input's `geo_shape` field is a `geo_shape`).
fn output_fields(schema: &Schema, inputs: &[DeriveInput]) -> Result<Vec<Field>, Refusal> {
    let known: Vec<&Field> = inputs.iter().flat_map(|i| i.dataset.fields.iter()).collect();
    let mut fields = Vec::new();
    let mut names = BTreeSet::new();
    for column in schema.fields() {
        let name = kleber_types::technical_name(column.name());
        if name.is_empty() {
            return Err(Refusal::Invalid(format!(
                "column `{}` has no usable name: give it one with AS",
                column.name()
            )));
        }
        if !names.insert(name.clone()) {
            return Err(Refusal::Invalid(format!(
                "two columns are named `{name}`: give each a distinct name with AS"
            )));
        }
        let Some(mut field_type) = field_type_of(column.data_type()) else {
            return Err(Refusal::Invalid(format!(
                "column `{}` is of type {} which a dataset cannot store: CAST it to text, a number, a date or a timestamp",
                column.name(),
                column.data_type()
            )));
        };
        let same = known.iter().find(|f| f.name == name);
        if field_type == FieldType::Text
            && same.is_some_and(|f| f.field_type == FieldType::GeoShape)
        {
            field_type = FieldType::GeoShape;
        }
        let mut field = match same.filter(|f| f.field_type == field_type) {
            Some(input) => {
                let mut field = (*input).clone();
                field.annotations.remove("multivalued");
                field.annotations.remove("id");
                field
            }
            None => Field::new(name.clone(), column.name().clone(), field_type),
        };
        field.name = name;
        fields.push(field);
    }
    Ok(fields)
}

/// `batch` cast to the stored types of `fields`.
fn stored(batch: &RecordBatch, schema: &SchemaRef) -> datafusion::error::Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (i, target) in schema.fields().iter().enumerate() {
        let column = batch.column(i);
        columns.push(if column.data_type() == target.data_type() {
            Arc::clone(column)
        } else {
            cast(column, target.data_type())?
        });
    }
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

/// The `polygon_of` UDF of one computation: for each `(dataset, key field)`, the index of the
/// dataset's polygons and the key of each.
#[derive(Debug)]
struct PolygonOf {
    signature: Signature,
    lookups: HashMap<(String, String), Arc<Lookup>>,
}

struct Lookup {
    index: PolygonIndex,
    keys: Vec<Option<String>>,
}

impl std::fmt::Debug for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lookup").field("polygons", &self.index.len()).finish()
    }
}

impl PartialEq for PolygonOf {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for PolygonOf {}

impl std::hash::Hash for PolygonOf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        POLYGON_OF.hash(state);
    }
}

fn text_arg(value: &ColumnarValue) -> Option<&str> {
    match value {
        ColumnarValue::Scalar(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)),
        ) => Some(s),
        _ => None,
    }
}

impl ScalarUDFImpl for PolygonOf {
    fn name(&self) -> &str {
        POLYGON_OF
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        let rows = args.number_rows;
        let [dataset, key, points] = args.args.as_slice() else {
            return exec_err!("polygon_of takes three arguments");
        };
        let (Some(dataset), Some(key)) = (text_arg(dataset), text_arg(key)) else {
            return exec_err!("polygon_of takes a dataset and a field name as text literals");
        };
        let Some(lookup) = self.lookups.get(&(dataset.to_owned(), key.to_owned())) else {
            return exec_err!("polygon_of('{dataset}', '{key}') was not prepared");
        };
        let points = points.to_array(rows)?;
        let found = lookup
            .index
            .containing_column(&points)
            .map_err(|e| datafusion::error::DataFusionError::Execution(e.to_string()))?;
        let keys: StringArray = found
            .into_iter()
            .map(|row| row.and_then(|r| lookup.keys.get(r).cloned().flatten()))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(keys)))
    }
}

impl Engine {
    /// Builds the polygon index of `(dataset, key)` from the input's scan.
    async fn polygon_lookup(&self, input: &DeriveInput, key: &str) -> Result<Lookup, DeriveError> {
        let fields = &input.dataset.fields;
        let Some(shape) = fields.iter().find(|f| f.field_type == FieldType::GeoShape) else {
            return Err(Refusal::Invalid(format!(
                "polygon_of: dataset `{}` has no geo_shape field",
                input.id
            ))
            .into());
        };
        if !fields.iter().any(|f| f.name == key) {
            let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            return Err(Refusal::Invalid(format!(
                "polygon_of: dataset `{}` has no field `{key}`; its fields are {}",
                input.id,
                names.join(", ")
            ))
            .into());
        }
        let table = self.scan(&input.dataset).await?;
        let df = table.select_columns(&[shape.name.as_str(), key])?;
        let batches = df.collect().await?;
        let mut builder = PolygonIndexBuilder::new();
        let mut keys = Vec::new();
        for batch in &batches {
            builder.push_column(batch.column(0))?;
            let text = cast(batch.column(1), &DataType::Utf8).map_err(crate::Error::from)?;
            let text = text.as_any().downcast_ref::<StringArray>().ok_or_else(|| {
                crate::Error::Internal("polygon_of: key column is not text".to_owned())
            })?;
            keys.extend(
                (0..text.len()).map(|i| (!text.is_null(i)).then(|| text.value(i).to_owned())),
            );
        }
        Ok(Lookup { index: builder.build(), keys })
    }

    /// Runs derivation `sql` over `inputs` (every dataset [`check`] found, by identifier)
    /// and writes the result to `out` (a Parquet file in the stored layout); returns its
    /// fields and rows. Nothing is left at `out` on failure.
    ///
    /// # Errors
    ///
    /// A refusal (see [`check`], and the planner's fence), a query that does not plan, or a
    /// limit: memory (the engine's pool), time and rows ([`DeriveLimits`]).
    pub async fn derive(
        &self,
        sql: &str,
        inputs: &[DeriveInput],
        out: &Path,
        limits: DeriveLimits,
    ) -> Result<Derived, DeriveError> {
        let result = self.derive_inner(sql, inputs, out, limits).await;
        if result.is_err() {
            let _ = std::fs::remove_file(out);
        }
        result
    }

    async fn derive_inner(
        &self,
        sql: &str,
        inputs: &[DeriveInput],
        out: &Path,
        limits: DeriveLimits,
    ) -> Result<Derived, DeriveError> {
        let deadline = Instant::now() + limits.timeout;
        let checked = check(sql)?;
        let by_id: BTreeMap<&str, &DeriveInput> =
            inputs.iter().map(|i| (i.id.as_str(), i)).collect();
        for id in &checked.inputs {
            if !by_id.contains_key(id.as_str()) {
                return Err(crate::Error::Internal(format!("input `{id}` was not resolved")).into());
            }
        }
        let mut lookups = HashMap::new();
        for (dataset, key) in &checked.polygons {
            let lookup = self.polygon_lookup(by_id[dataset.as_str()], key).await?;
            lookups.insert((dataset.clone(), key.clone()), Arc::new(lookup));
        }
        let polygon = (!lookups.is_empty()).then(|| {
            Arc::new(ScalarUDF::new_from_impl(PolygonOf {
                signature: Signature::any(3, Volatility::Immutable),
                lookups,
            }))
        });
        let ctx = restricted_session(self, polygon);
        for id in &checked.inputs {
            let table = self.scan(&by_id[id.as_str()].dataset).await?;
            ctx.register_table(
                datafusion::common::TableReference::bare(id.as_str()),
                table.into_view(),
            )?;
        }
        let (sql, out, inputs) = (sql.to_owned(), out.to_owned(), inputs.to_vec());
        let names = checked.inputs.clone();
        let work = async move {
            let plan = ctx.state().create_logical_plan(&sql).await.map_err(DeriveError::from)?;
            fence(&plan, &names)?;
            let df = datafusion::dataframe::DataFrame::new(ctx.state(), plan);
            let schema = df.schema().as_arrow().clone();
            let fields = output_fields(&schema, &inputs)?;
            let target: SchemaRef = Arc::new(Schema::new(
                fields.iter().map(kleber_types::Field::arrow_field).collect::<Vec<ArrowField>>(),
            ));
            let mut stream = df.execute_stream().await.map_err(DeriveError::from)?;
            let file = std::fs::File::create(&out).map_err(|e| {
                crate::Error::Storage(format!("cannot create {}: {e}", out.display()))
            })?;
            let props = kleber_types::layout::writer_properties(
                &target,
                kleber_types::layout::ROW_GROUP_ROWS,
                None,
            );
            let mut writer = ArrowWriter::try_new(file, Arc::clone(&target), Some(props))
                .map_err(|e| crate::Error::Storage(e.to_string()))?;
            let mut rows = 0u64;
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(DeriveError::from)?;
                rows += batch.num_rows() as u64;
                if rows > limits.max_rows {
                    return Err(crate::Error::TooHeavy {
                        limit: "rows",
                        detail: format!(
                            "the result holds more than {} rows (the derivation row limit)",
                            limits.max_rows
                        ),
                    }
                    .into());
                }
                let batch = stored(&batch, &target).map_err(DeriveError::from)?;
                writer.write(&batch).map_err(|e| crate::Error::Storage(e.to_string()))?;
            }
            writer.close().map_err(|e| crate::Error::Storage(e.to_string()))?;
            Ok::<_, DeriveError>(Derived { fields, rows })
        };
        let task = self.cpu().spawn(work);
        let _abort = crate::AbortOnDrop(task.abort_handle());
        match tokio::time::timeout_at(deadline.into(), task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => {
                Err(crate::Error::Internal(format!("derivation task failed: {join}")).into())
            }
            Err(_) => Err(crate::Error::TooHeavy {
                limit: "time",
                detail: format!(
                    "the derivation ran for more than {} s and was cancelled",
                    limits.timeout.as_secs()
                ),
            }
            .into()),
        }
    }
}

/// The planner's fence: no DDL, DML or statement, and no table scanned but the inputs (and
/// the anonymous Parquet scans of their views).
fn fence(plan: &LogicalPlan, inputs: &BTreeSet<String>) -> Result<(), DeriveError> {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
        .verify_plan(plan)
        .map_err(|e| Refusal::Invalid(clean_plan_message(&e.to_string())))?;
    let mut stranger = None;
    plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node
            // The inputs' views are inlined by the planner: their own scans of the version's
            // Parquet file (read by the engine, not by the query) are anonymous.
            && !inputs.contains(scan.table_name.table())
            && scan.table_name.table() != "?table?"
        {
            stranger = Some(scan.table_name.to_string());
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .map_err(DeriveError::from)?;
    match stranger {
        Some(name) => Err(Refusal::QualifiedName(name).into()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(sql: &str) -> Refusal {
        check(sql).expect_err(sql)
    }

    #[test]
    fn finds_inputs_of_joins_unions_ctes_and_polygons() {
        let c = check(
            r#"WITH m AS (SELECT * FROM "velo-comptages")
               SELECT o.id, r.name, polygon_of('quartiers', 'code', r.geo_point_2d) AS q
               FROM "parking-occupation" o LEFT JOIN parkings r ON o.id = r.id
               UNION ALL SELECT id, name, NULL FROM m"#,
        )
        .unwrap();
        let inputs: Vec<&str> = c.inputs.iter().map(String::as_str).collect();
        assert_eq!(inputs, ["parking-occupation", "parkings", "quartiers", "velo-comptages"]);
        assert!(c.polygons.contains(&("quartiers".to_owned(), "code".to_owned())));
    }

    #[test]
    fn refuses_files_table_functions_and_other_statements() {
        assert!(matches!(refused("SELECT * FROM '/etc/passwd'"), Refusal::FilePath(_)));
        assert!(matches!(refused(r#"SELECT * FROM "data/x.parquet""#), Refusal::FilePath(_)));
        assert!(matches!(
            refused("SELECT * FROM read_parquet('x.parquet')"),
            Refusal::TableFunction(_)
        ));
        assert!(matches!(
            refused("SELECT * FROM generate_series(1, 10)"),
            Refusal::TableFunction(_)
        ));
        assert!(matches!(
            refused("SELECT * FROM information_schema.tables"),
            Refusal::QualifiedName(_)
        ));
        assert!(
            matches!(refused("SELECT sha256(name) FROM a"), Refusal::Function(f) if f == "sha256")
        );
        assert!(matches!(refused("COPY a TO '/tmp/x.csv'"), Refusal::Invalid(_)));
        assert!(matches!(
            refused("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/x'"),
            Refusal::Invalid(_)
        ));
        assert!(matches!(refused("SELECT 1; SELECT 2"), Refusal::Invalid(_)));
        assert!(matches!(refused("SELECT 1"), Refusal::Invalid(_)));
        assert!(matches!(refused("SELECT * INTO t FROM a"), Refusal::Invalid(_)));
        assert!(matches!(refused("SELECT polygon_of(x, 'k', p) FROM a"), Refusal::Invalid(_)));
        let message = refused("SELECT * FROM read_csv('/etc/passwd')").to_string();
        assert!(message.contains("table function"), "{message}");
    }
}
