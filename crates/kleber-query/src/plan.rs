//! From the four ODSQL clauses of a records query to one DataFusion plan.
//!
//! Without aggregation: filter, sort, project, limit. With aggregation (a `group_by`, or an
//! aggregate in `select`): filter, aggregate (group keys and every aggregate named in `select`
//! and `order_by`), sort, project, limit. Aliases from `select` and `group_by` are substituted
//! by their expressions where later clauses name them. Each group key is an output column,
//! before the select list (by its alias, its field name or its text), unless a select item
//! already is it: every front end and export format gets the keys from this one plan.

use std::collections::HashMap;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::utils::find_aggregate_exprs;
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan, SortExpr};
use kleber_odsql::SelectItem;
use kleber_types::{Field, FieldType};

use crate::error::{Clause, Error, Result, planning};
use crate::lower::{Scope, column};

/// The clauses of a records query, as received (ODSQL text).
#[derive(Debug, Clone, Default)]
pub struct RecordsQuery {
    /// `select`, or `None` for every field.
    pub select: Option<String>,
    /// Every `where` given; they are ANDed. Blank ones are ignored.
    pub r#where: Vec<String>,
    /// `group_by`.
    pub group_by: Option<String>,
    /// `order_by`.
    pub order_by: Option<String>,
    /// Maximum rows, or `None` for all (exports).
    pub limit: Option<usize>,
    /// Rows to skip.
    pub offset: usize,
    /// The time zone of the request (UTC by default), already parsed: front ends parse the
    /// `timezone` parameter once, with [`parse_timezone`], into the request context, and the
    /// application layer hands the context's zone to every query it plans.
    pub tz: chrono_tz::Tz,
    /// `lang`, `None` for `fr`.
    pub lang: Option<String>,
    /// `refine=FACET:VALUE` parameters.
    pub refine: Vec<String>,
    /// `exclude=FACET:VALUE` parameters.
    pub exclude: Vec<String>,
    /// Appends each record's id (see [`crate::is_record_id`]) as a last column under this key,
    /// for front ends that link records, without touching the user's `select`. Ignored when
    /// the query aggregates (a group has no id); a key equal to another column's is an error.
    pub record_id_column: Option<String>,
}

/// The `timezone` parameter as a time zone: blank or absent is UTC, anything else must be an
/// IANA name (`Europe/Paris`). The one place the parameter is parsed.
pub fn parse_timezone(text: Option<&str>) -> Result<chrono_tz::Tz> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(chrono_tz::UTC),
        Some(name) => name.parse().map_err(|_| Error::InvalidParameter {
            name: "timezone",
            message: format!("Invalid value for timezone API parameter: {name} was found but a time zone name such as Europe/Paris or UTC is expected."),
        }),
    }
}

impl RecordsQuery {
    /// The same query in time zone `tz`.
    #[must_use]
    pub fn in_zone(mut self, tz: chrono_tz::Tz) -> RecordsQuery {
        self.tz = tz;
        self
    }

    /// The language of the query (`fr` by default).
    pub fn lang(&self) -> &str {
        self.lang.as_deref().map(str::trim).filter(|l| !l.is_empty()).unwrap_or("fr")
    }
}

/// How an output column's values are encoded (the shared vocabulary of `kleber-types`).
pub use kleber_types::ColumnKind as ColumnRole;

/// One column of a query's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputColumn {
    /// The JSON key / CSV header: the alias, the field name or the expression text.
    pub key: String,
    /// The field's label for a plain field, else the key.
    pub label: String,
    /// How to encode it.
    pub role: ColumnRole,
    /// The dataset field it is, when it is one unchanged.
    pub field: Option<Field>,
}

/// A planned query: the page to fetch, and the plan whose row count is `total_count`.
pub struct PlannedQuery {
    /// The result rows (limit and offset applied).
    pub page: DataFrame,
    /// Rows (or groups) matching, before limit and offset. This plan and the next two are
    /// run in `page`'s session: a `DataFrame` each would copy the session (hundreds of
    /// function names) for every query, and most queries run only one of them.
    pub(crate) total: LogicalPlan,
    /// With aggregation, every group sorted and projected, before limit and offset: the page
    /// is sliced from it so that groups are computed once for the page and the count.
    pub(crate) all_groups: Option<LogicalPlan>,
    /// Without aggregation, every row sorted and projected, before limit and offset; kept by
    /// the engine only when the dataset is held in memory (small), where collecting them once
    /// and slicing the page costs less than running the count and the page as two plans.
    pub(crate) unwindowed: Option<LogicalPlan>,
    /// The in-memory version `unwindowed` reads, run by [`crate::small`] without DataFusion's
    /// planner when its plan allows.
    pub(crate) small: Option<crate::small::SmallTable>,
    /// The window of `page`: rows skipped, and the most rows kept.
    pub window: (usize, Option<usize>),
    /// Columns of `page`, in order.
    pub columns: Vec<OutputColumn>,
    /// True when the query aggregates.
    pub aggregated: bool,
    /// When the query's time is up (set by the engine when it plans).
    pub(crate) deadline: Option<std::time::Instant>,
}

fn parse_err(clause: Clause, e: kleber_odsql::ParseError, src: &str) -> Error {
    let _ = src;
    Error::odsql(clause, format!("{e}."), Some((e.span.start, e.span.end)))
}

struct SelectOut {
    expr: Expr,
    key: String,
    field: Option<Field>,
}

fn matches_pattern(name: &str, pattern: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    }
}

fn field_out(f: &Field) -> SelectOut {
    SelectOut { expr: column(&f.name), key: f.name.clone(), field: Some(f.clone()) }
}

/// Replaces full-text search over a table's text fields: given the query text, the values of
/// `dataset_id` that match (the catalog uses its Tantivy index this way).
pub type SearchHook<'a> = &'a (dyn Fn(&str) -> Vec<String> + Sync);

/// `table` filtered by the query's `where`, `refine` and `exclude`.
///
/// `skip` leaves out the refinements and exclusions of one facet, and `disjunctive` lists the
/// facets whose refinements are ORed (facet counts need both).
pub(crate) fn filtered(
    table: DataFrame,
    fields: &[Field],
    query: &RecordsQuery,
    skip: Option<&str>,
    disjunctive: &[String],
    search: Option<SearchHook<'_>>,
) -> Result<DataFrame> {
    let schema = table.schema().clone();
    let no_aliases = HashMap::new();
    let tz = query.tz;
    let where_scope = Scope {
        fields,
        schema: &schema,
        aliases: &no_aliases,
        clause: Clause::Where,
        allow_aggregates: false,
        tz,
        lang: query.lang(),
        search,
        aliases_spent: Default::default(),
    };
    let mut df = table;
    for text in query.r#where.iter().filter(|w| !w.trim().is_empty()) {
        let ast = kleber_odsql::parse_where(text).map_err(|e| parse_err(Clause::Where, e, text))?;
        let predicate = where_scope.lower_predicate(&ast)?;
        if let Ok(t) = predicate.get_type(&schema)
            && !matches!(t, DataType::Boolean | DataType::Null)
        {
            return Err(Error::odsql(
                Clause::Where,
                format!(
                    "the where clause must be a condition, but `{}` is a {} value; compare it, e.g. `... = \"value\"`.",
                    text.trim(),
                    crate::lower::type_name(&t)
                ),
                None,
            ));
        }
        df = df.filter(predicate).map_err(planning(Clause::Where))?;
    }
    let exclude: Vec<String> = match skip {
        Some(name) => query
            .exclude
            .iter()
            .filter(|e| crate::refine::split(e).is_none_or(|(n, _)| n != name))
            .cloned()
            .collect(),
        None => query.exclude.clone(),
    };
    let refine_skip =
        skip.filter(|name| disjunctive.iter().any(|d| d == name) || is_disjunctive(fields, name));
    if let Some(filter) =
        crate::refine::filter(fields, &query.refine, &exclude, tz, refine_skip, disjunctive)?
    {
        df = df.filter(filter).map_err(planning(Clause::Where))?;
    }
    Ok(df)
}

fn is_disjunctive(fields: &[Field], name: &str) -> bool {
    fields.iter().any(|f| f.name == name && f.annotations.contains_key("disjunctive"))
}

/// Builds the plan of `query` over `table` (the dataset's scan), whose fields are `fields`.
pub(crate) fn plan(
    table: DataFrame,
    fields: &[Field],
    query: &RecordsQuery,
    search: Option<SearchHook<'_>>,
) -> Result<PlannedQuery> {
    crate::limits::check_query(query)?;
    let schema = table.schema().clone();
    let no_aliases = HashMap::new();
    let tz = query.tz;
    let lang = query.lang();
    let mut df = filtered(table, fields, query, None, &[], search)?;

    // group_by
    let mut aliases: HashMap<String, Expr> = HashMap::new();
    let mut groups: Vec<(Expr, String)> = Vec::new();
    if let Some(text) = query.group_by.as_deref().filter(|t| !t.trim().is_empty()) {
        let items =
            kleber_odsql::parse_group_by(text).map_err(|e| parse_err(Clause::GroupBy, e, text))?;
        let scope = Scope {
            fields,
            schema: &schema,
            aliases: &no_aliases,
            clause: Clause::GroupBy,
            allow_aggregates: false,
            tz,
            lang,
            search,
            aliases_spent: Default::default(),
        };
        for item in items {
            let expr = scope.lower(&item.expr)?;
            // A plain field is keyed by its name, backquoted or not (`nom` and nom alike).
            let key = match (&item.alias, &item.expr.kind, &expr) {
                (Some(alias), _, _) => alias.clone(),
                (None, kleber_odsql::ExprKind::Field(_), Expr::Column(c)) => c.name.clone(),
                (None, _, _) => item.text.clone(),
            };
            if let Some(alias) = item.alias {
                aliases.insert(alias, expr.clone());
            }
            groups.push((expr, key));
        }
    }

    // select
    let mut outputs: Vec<SelectOut> = Vec::new();
    match query.select.as_deref().filter(|t| !t.trim().is_empty()) {
        None if !groups.is_empty() => {
            for (expr, key) in &groups {
                let field = group_field(expr, fields);
                outputs.push(SelectOut { expr: expr.clone(), key: key.clone(), field });
            }
        }
        None => outputs.extend(fields.iter().map(field_out)),
        Some(text) => {
            let items =
                kleber_odsql::parse_select(text).map_err(|e| parse_err(Clause::Select, e, text))?;
            let scope = Scope {
                fields,
                schema: &schema,
                aliases: &aliases,
                clause: Clause::Select,
                allow_aggregates: true,
                tz,
                lang,
                search,
                aliases_spent: Default::default(),
            };
            let mut select_aliases = Vec::new();
            for item in items {
                match item {
                    SelectItem::Star(_) => outputs.extend(fields.iter().map(field_out)),
                    SelectItem::Include(patterns, _) => {
                        for f in fields
                            .iter()
                            .filter(|f| patterns.iter().any(|p| matches_pattern(&f.name, p)))
                        {
                            if !outputs.iter().any(|o| o.key == f.name) {
                                outputs.push(field_out(f));
                            }
                        }
                    }
                    SelectItem::Exclude(patterns, _) => {
                        if outputs.is_empty() {
                            outputs.extend(fields.iter().map(field_out));
                        }
                        outputs.retain(|o| !patterns.iter().any(|p| matches_pattern(&o.key, p)));
                    }
                    SelectItem::Expr { expr, alias, text } => {
                        let lowered = scope.lower(&expr)?;
                        let field = match (&expr.kind, &lowered) {
                            (kleber_odsql::ExprKind::Field(_), Expr::Column(c)) => {
                                fields.iter().find(|f| f.name == c.name).cloned()
                            }
                            _ => None,
                        };
                        // A plain field is keyed by its name, backquoted or not.
                        let key = alias
                            .clone()
                            .or_else(|| field.as_ref().map(|f| f.name.clone()))
                            .unwrap_or(text);
                        if let Some(alias) = alias {
                            select_aliases.push((alias, lowered.clone()));
                        }
                        outputs.push(SelectOut { expr: lowered, key, field });
                    }
                }
            }
            aliases.extend(select_aliases);
        }
    }
    if outputs.is_empty() {
        return Err(Error::odsql(Clause::Select, "the select clause selects no field.", None));
    }
    // Every group key is in each result, before the select list, as Opendatasoft answers
    // (`select=count(*) as n&group_by=commune` → `{"commune": …, "n": …}`), unless a select
    // item already is that expression (`select=commune, count(*)`, or a group alias).
    if query.select.as_deref().is_some_and(|t| !t.trim().is_empty()) {
        let keys: Vec<SelectOut> = groups
            .iter()
            .filter(|(expr, _)| !outputs.iter().any(|o| o.expr == *expr))
            .map(|(expr, key)| SelectOut {
                expr: expr.clone(),
                key: key.clone(),
                field: group_field(expr, fields),
            })
            .collect();
        outputs.splice(0..0, keys);
    }
    if let Some(key) = &query.record_id_column
        && groups.is_empty()
        && find_aggregate_exprs(outputs.iter().map(|o| &o.expr)).is_empty()
    {
        let expr = crate::record_id::record_id_expr(fields);
        outputs.push(SelectOut { expr, key: key.clone(), field: None });
    }
    let mut seen = std::collections::HashSet::new();
    for out in &outputs {
        if !seen.insert(out.key.as_str()) {
            return Err(Error::odsql(
                Clause::Select,
                format!(
                    "two selected or grouped expressions are named `{}`; give one an alias with AS.",
                    out.key
                ),
                None,
            ));
        }
    }

    // order_by
    let mut order: Vec<(Expr, bool)> = Vec::new();
    if let Some(text) = query.order_by.as_deref().filter(|t| !t.trim().is_empty()) {
        let items =
            kleber_odsql::parse_order_by(text).map_err(|e| parse_err(Clause::OrderBy, e, text))?;
        let scope = Scope {
            fields,
            schema: &schema,
            aliases: &aliases,
            clause: Clause::OrderBy,
            allow_aggregates: true,
            tz,
            lang,
            search,
            aliases_spent: Default::default(),
        };
        for item in items {
            order.push((scope.lower(&item.expr)?, item.descending));
        }
    }

    // A multivalued field groups by each of its values: one row per value before grouping.
    for (expr, _) in &groups {
        if let Expr::Column(c) = expr
            && fields.iter().any(|f| f.name == c.name && f.multivalued_separator().is_some())
        {
            df = df.unnest_columns(&[c.name.as_str()]).map_err(planning(Clause::GroupBy))?;
        }
    }

    // range() groups drop the values outside every range (unless a `*` bound collects them).
    for (expr, _) in &groups {
        if let Some(keep) = crate::dates::range_group_filter(expr) {
            df = df.filter(keep).map_err(planning(Clause::GroupBy))?;
        }
    }

    let select_exprs: Vec<Expr> = outputs.iter().map(|o| o.expr.clone()).collect();
    let order_exprs: Vec<Expr> = order.iter().map(|(e, _)| e.clone()).collect();
    if groups.is_empty()
        && find_aggregate_exprs(select_exprs.iter()).is_empty()
        && !find_aggregate_exprs(order_exprs.iter()).is_empty()
    {
        return Err(Error::odsql(
            Clause::OrderBy,
            "an aggregate in order_by needs a group_by, e.g. group_by=commune&order_by=count(*) desc.",
            None,
        ));
    }
    let mut aggregates = find_aggregate_exprs(select_exprs.iter().chain(order_exprs.iter()));
    let aggregated = !groups.is_empty() || !aggregates.is_empty();

    let (total, sorted, final_select) = if aggregated {
        aggregates.dedup();
        let group_exprs: Vec<Expr> = groups.iter().map(|(e, _)| e.clone()).collect();
        let agg = df
            .aggregate(group_exprs.clone(), aggregates.clone())
            .map_err(planning(Clause::GroupBy))?;
        // The aggregate node outputs the group keys, then the aggregates, in order.
        let computed: Vec<(Expr, String)> = group_exprs
            .iter()
            .chain(aggregates.iter())
            .cloned()
            .zip(agg.schema().fields().iter().map(|f| f.name().clone()))
            .collect();
        let rebase = |e: &Expr, clause: Clause| rebase_on(e, &computed, clause, fields);
        let select =
            outputs.iter().map(|o| rebase(&o.expr, Clause::Select)).collect::<Result<Vec<_>>>()?;
        let key_names: Vec<String> =
            computed.iter().take(group_exprs.len()).map(|(_, n)| n.clone()).collect();
        // A group key sorts by its value, except static ranges, which sort by their bounds.
        let key_order = |g: &Expr, name: &str| {
            crate::dates::static_range_order(g, column(name)).unwrap_or_else(|| column(name))
        };
        let mut sort = order
            .iter()
            .map(|(e, desc)| {
                if let Some(i) = group_exprs.iter().position(|g| g == e) {
                    return Ok(sort_expr(key_order(e, &key_names[i]), *desc));
                }
                // random(seed) shuffles the groups, by their keys.
                if let Some(shuffle) = crate::record_id::random_over_groups(e, &key_names) {
                    return Ok(sort_expr(shuffle, *desc));
                }
                Ok(sort_expr(rebase(e, Clause::OrderBy)?, *desc))
            })
            .collect::<Result<Vec<_>>>()?;
        if sort.is_empty() {
            // Without order_by, groups come by their keys, so pages are stable.
            sort = group_exprs
                .iter()
                .zip(&key_names)
                .map(|(g, name)| sort_expr(key_order(g, name), false))
                .collect();
        }
        let total = agg.logical_plan().clone();
        let sorted = if sort.is_empty() {
            agg
        } else {
            agg.sort(sort).map_err(planning(Clause::OrderBy))?
        };
        (total, sorted, select)
    } else {
        let sort: Vec<SortExpr> = order.into_iter().map(|(e, desc)| sort_expr(e, desc)).collect();
        let total = df.logical_plan().clone();
        let sorted =
            if sort.is_empty() { df } else { df.sort(sort).map_err(planning(Clause::OrderBy))? };
        (total, sorted, select_exprs)
    };

    // Every column of the input, in its order and under its name (a page of whole records),
    // needs no projection.
    let identity = final_select.len() == sorted.schema().fields().len()
        && final_select.iter().zip(&outputs).zip(sorted.schema().fields()).all(
            |((e, o), f)| matches!(e, Expr::Column(c) if c.name == o.key && f.name() == &o.key),
        );
    let mut page = if identity {
        sorted
    } else {
        let projection: Vec<Expr> =
            final_select.into_iter().zip(&outputs).map(|(e, o)| e.alias(o.key.clone())).collect();
        sorted.select(projection).map_err(planning(Clause::Select))?
    };
    let all_groups = aggregated.then(|| page.logical_plan().clone());
    let unwindowed = (!aggregated).then(|| page.logical_plan().clone());
    if query.offset > 0 || query.limit.is_some() {
        page = page.limit(query.offset, query.limit).map_err(planning(Clause::Select))?;
    }

    let columns = outputs
        .into_iter()
        .map(|o| {
            let role = match o.field.as_ref().map(|f| f.field_type) {
                Some(FieldType::GeoPoint2d) => ColumnRole::GeoPoint,
                Some(FieldType::GeoShape) => ColumnRole::GeoShape,
                _ if crate::geo::yields_geojson(&o.expr) => ColumnRole::GeoShape,
                _ if crate::json::yields_json(&o.expr) => ColumnRole::Json,
                _ => ColumnRole::Plain,
            };
            let label = o.field.as_ref().map_or_else(|| o.key.clone(), |f| f.label.clone());
            OutputColumn { key: o.key, label, role, field: o.field }
        })
        .collect();
    Ok(PlannedQuery {
        page,
        total,
        all_groups,
        unwindowed,
        small: None,
        window: (query.offset, query.limit),
        columns,
        aggregated,
        deadline: None,
    })
}

impl PlannedQuery {
    /// What the page is sliced from: every group with aggregation, else the page itself (for
    /// tools that explain or time a query).
    pub fn groups_or_page(&self) -> DataFrame {
        match &self.all_groups {
            Some(groups) => DataFrame::new(self.page.clone().into_parts().0, groups.clone()),
            None => self.page.clone(),
        }
    }
}

/// The dataset field a group key is, when it is a plain field.
fn group_field(expr: &Expr, fields: &[Field]) -> Option<Field> {
    match expr {
        Expr::Column(c) => fields.iter().find(|f| f.name == c.name).cloned(),
        _ => None,
    }
}

/// ODSQL sorts nulls last in both directions.
fn sort_expr(e: Expr, descending: bool) -> SortExpr {
    e.sort(!descending, false)
}

/// Rewrites `e` to read the outputs of the aggregate node: every sub-expression equal to a
/// group key or an aggregate becomes a reference to that output column. A field left over was
/// neither grouped nor aggregated, which ODSQL forbids.
fn rebase_on(
    e: &Expr,
    computed: &[(Expr, String)],
    clause: Clause,
    fields: &[Field],
) -> Result<Expr> {
    let rebased = e
        .clone()
        .transform_down(|node| {
            if let Some((_, name)) = computed.iter().find(|(c, _)| *c == node) {
                return Ok(Transformed::yes(column(name)));
            }
            Ok(Transformed::no(node))
        })
        .map_err(planning(clause))?
        .data;
    for col in rebased.column_refs() {
        if !computed.iter().any(|(_, name)| *name == col.name) {
            let known = fields.iter().any(|f| f.name == col.name);
            let message = if known {
                format!(
                    "field `{}` must be in group_by or inside an aggregate function such as count() or max().",
                    col.name
                )
            } else {
                format!("`{}` is not a group_by key or an aggregate.", col.name)
            };
            return Err(Error::odsql(clause, message, None));
        }
    }
    Ok(rebased)
}
