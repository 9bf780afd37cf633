//! Lowering of the ODSQL AST to DataFusion logical expressions.
//!
//! User text never becomes SQL: every node of [`kleber_odsql::Expr`] maps to a DataFusion
//! [`Expr`] built through its API, after the names it uses were checked against the dataset's
//! fields. Mistakes are reported as [`Error::Odsql`] with the clause and the span.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Column, DFSchema, ScalarValue};
use datafusion::logical_expr::{BinaryExpr, Expr, ExprSchemable, Operator, ScalarUDF, lit};
use kleber_odsql::{Arg, BinaryOp, Expr as Ast, ExprKind, Literal, Span, UnaryOp};
use kleber_types::{Field, FieldType};

use crate::error::{Clause, Error, Result};
use crate::fulltext::FullTextUdf;
use crate::functions::{self, FunctionKind};

/// What names mean while lowering one clause.
pub(crate) struct Scope<'a> {
    pub(crate) fields: &'a [Field],
    pub(crate) schema: &'a DFSchema,
    /// Aliases defined by `select` or `group_by`, visible in later clauses.
    pub(crate) aliases: &'a HashMap<String, Expr>,
    pub(crate) clause: Clause,
    pub(crate) allow_aggregates: bool,
    /// The request's `timezone`: date literals without offset, date parts and buckets use it.
    pub(crate) tz: chrono_tz::Tz,
    /// The request's `lang` (`fr`, `en`, ...), for names of months and days.
    pub(crate) lang: &'a str,
    /// Replaces bare-string search when set (the catalog's Tantivy index).
    pub(crate) search: Option<crate::plan::SearchHook<'a>>,
    /// Expression nodes copied so far by references to aliases (capped).
    pub(crate) aliases_spent: crate::limits::AliasBudget,
}

fn span_of(span: Span) -> Option<(usize, usize)> {
    Some((span.start, span.end))
}

/// A column reference that never parses its name (names may contain dots).
pub(crate) fn column(name: &str) -> Expr {
    Expr::Column(Column::new_unqualified(name))
}

impl Scope<'_> {
    pub(crate) fn err(&self, message: impl Into<String>, span: Span) -> Error {
        Error::odsql(self.clause, message, span_of(span))
    }

    pub(crate) fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Lowers an expression in a boolean position (`where`, operands of AND/OR/NOT).
    pub(crate) fn lower_predicate(&self, ast: &Ast) -> Result<Expr> {
        match &ast.kind {
            ExprKind::Binary { op: BinaryOp::And, left, right } => {
                Ok(self.lower_predicate(left)?.and(self.lower_predicate(right)?))
            }
            ExprKind::Binary { op: BinaryOp::Or, left, right } => {
                Ok(self.lower_predicate(left)?.or(self.lower_predicate(right)?))
            }
            ExprKind::Unary { op: UnaryOp::Not, expr } => Ok(!self.lower_predicate(expr)?),
            ExprKind::Field(name) if !self.aliases.contains_key(name) => match self.field(name) {
                Some(f) if f.field_type == FieldType::Boolean => Ok(column(name).is_true()),
                Some(f) => Err(self.err(
                    format!("field `{name}` is a {} field and cannot be used as a condition; compare it with a value, e.g. `{name} = ...`.", f.field_type),
                    ast.span,
                )),
                None => Err(self.unknown_field(name, ast.span)),
            },
            ExprKind::FullText(text) => self.fulltext(text, None),
            _ => self.lower(ast),
        }
    }

    fn unknown_field(&self, name: &str, span: Span) -> Error {
        let hint = self
            .fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name) || f.label.eq_ignore_ascii_case(name))
            .map(|f| format!(" Did you mean `{}`?", f.name))
            .unwrap_or_default();
        self.err(format!("Unknown field: {name}.{hint}"), span)
    }

    /// Full-text match of `text` over the given fields, or every text field.
    pub(crate) fn fulltext(&self, text: &str, only: Option<Vec<Expr>>) -> Result<Expr> {
        if let Some(message) = crate::limits::check_text_literal(text) {
            return Err(Error::odsql(self.clause, message, None));
        }
        if let (Some(search), None) = (self.search, &only) {
            let ids = search(text);
            if ids.is_empty() {
                return Ok(lit(false));
            }
            return Ok(crate::id_set::id_in(column("dataset_id"), ids));
        }
        let columns = only.unwrap_or_else(|| {
            self.fields
                .iter()
                .filter(|f| f.field_type == FieldType::Text)
                .map(|f| column(&f.name))
                .collect()
        });
        if columns.is_empty() {
            return Ok(lit(false));
        }
        let mut args = vec![lit(text)];
        args.extend(columns);
        Ok(Arc::new(ScalarUDF::new_from_impl(FullTextUdf::new())).call(args))
    }

    /// Lowers a value expression.
    pub(crate) fn lower(&self, ast: &Ast) -> Result<Expr> {
        match &ast.kind {
            ExprKind::Literal(l) => self.literal(l, ast.span, None),
            ExprKind::Field(name) => {
                // Catalog metadata may be named with its template: `default.modified`.
                let name = name.strip_prefix("default.").unwrap_or(name);
                if let Some(e) = self.aliases.get(name) {
                    self.aliases_spent.spend(name, e, self.clause)?;
                    return Ok(e.clone());
                }
                if crate::record_id::is_record_id_name(name) && self.field(name).is_none() {
                    return Ok(crate::record_id::record_id_expr(self.fields));
                }
                if self.field(name).is_some() {
                    Ok(column(name))
                } else {
                    Err(self.unknown_field(name, ast.span))
                }
            }
            ExprKind::FullText(text) => self.fulltext(text, None),
            ExprKind::Unary { op: UnaryOp::Neg, expr } => {
                Ok(Expr::Negative(Box::new(self.lower(expr)?)))
            }
            ExprKind::Unary { op: UnaryOp::Not, expr } => Ok(!self.lower_predicate(expr)?),
            ExprKind::Binary { op, left, right } => self.binary(*op, left, right),
            ExprKind::Like { expr, pattern, negated } => {
                let target = self.lower(expr)?;
                let ExprKind::Literal(Literal::String(words)) = &pattern.kind else {
                    return Err(
                        self.err("LIKE expects a string, e.g. `name LIKE \"gare\"`.", pattern.span)
                    );
                };
                let matched = self.fulltext(words, Some(vec![target]))?;
                Ok(if *negated { !matched } else { matched })
            }
            ExprKind::IsNull { expr, negated } => {
                let e = self.lower(expr)?;
                Ok(if *negated { e.is_not_null() } else { e.is_null() })
            }
            ExprKind::IsBool { expr, value, negated } => {
                let e = self.lower(expr)?;
                Ok(match (value, negated) {
                    (true, false) => e.is_true(),
                    (true, true) => e.is_not_true(),
                    (false, false) => e.is_false(),
                    (false, true) => e.is_not_false(),
                })
            }
            ExprKind::InList { expr, list, negated } => {
                if let Some(message) = crate::limits::check_in_list(list.len()) {
                    return Err(self.err(message, ast.span));
                }
                let target = self.lower(expr)?;
                let target_type = target.get_type(self.schema).ok();
                let items = list
                    .iter()
                    .map(|item| match &item.kind {
                        ExprKind::Literal(l) => self.literal(l, item.span, target_type.as_ref()),
                        _ => self.lower(item),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(target.in_list(items, *negated))
            }
            ExprKind::InRange { expr, low, high, low_inclusive, high_inclusive } => {
                let target = self.lower(expr)?;
                let target_type = target.get_type(self.schema).ok();
                let bound = |b: &Ast| match &b.kind {
                    ExprKind::Literal(l) => self.literal(l, b.span, target_type.as_ref()),
                    _ => self.lower(b),
                };
                let (low, high) = (bound(low)?, bound(high)?);
                let lower =
                    if *low_inclusive { target.clone().gt_eq(low) } else { target.clone().gt(low) };
                let upper = if *high_inclusive { target.lt_eq(high) } else { target.lt(high) };
                Ok(lower.and(upper))
            }
            ExprKind::Call { name, name_span, args, distinct } => {
                self.call(name, *name_span, args, *distinct)
            }
        }
    }

    fn binary(&self, op: BinaryOp, left: &Ast, right: &Ast) -> Result<Expr> {
        let operator = match op {
            BinaryOp::And | BinaryOp::Or => {
                let (l, r) = (self.lower_predicate(left)?, self.lower_predicate(right)?);
                return Ok(if op == BinaryOp::And { l.and(r) } else { l.or(r) });
            }
            BinaryOp::Eq | BinaryOp::Colon => Operator::Eq,
            BinaryOp::NotEq => Operator::NotEq,
            BinaryOp::Lt => Operator::Lt,
            BinaryOp::LtEq => Operator::LtEq,
            BinaryOp::Gt => Operator::Gt,
            BinaryOp::GtEq => Operator::GtEq,
            BinaryOp::Add => Operator::Plus,
            BinaryOp::Sub => Operator::Minus,
            BinaryOp::Mul => Operator::Multiply,
            BinaryOp::Div => Operator::Divide,
        };
        // A literal is typed after the other side, so `date_field >= date'2020'` compares
        // dates with dates and `int_field = "3"` fails clearly instead of comparing text.
        let (l, r) = match (&left.kind, &right.kind) {
            (ExprKind::Literal(ll), _) => {
                let r = self.lower(right)?;
                let t = r.get_type(self.schema).ok();
                (self.literal(ll, left.span, t.as_ref())?, r)
            }
            (_, ExprKind::Literal(rl)) => {
                let l = self.lower(left)?;
                // A literal compared with a multivalued field is one of its values; those are
                // stored as text, so a number or a boolean is compared by its text (`15`).
                let r = match (l.get_type(self.schema).ok(), rl) {
                    (Some(DataType::List(item)), Literal::Integer(i))
                        if item.data_type() == &DataType::Utf8 =>
                    {
                        lit(i.to_string())
                    }
                    (Some(DataType::List(item)), Literal::Decimal(d))
                        if item.data_type() == &DataType::Utf8 =>
                    {
                        lit(d.to_string())
                    }
                    (Some(DataType::List(item)), Literal::Bool(b))
                        if item.data_type() == &DataType::Utf8 =>
                    {
                        lit(b.to_string())
                    }
                    (Some(DataType::List(item)), _) => {
                        self.literal(rl, right.span, Some(item.data_type()))?
                    }
                    (t, _) => self.literal(rl, right.span, t.as_ref())?,
                };
                (l, r)
            }
            _ => (self.lower(left)?, self.lower(right)?),
        };
        let span = Span { start: left.span.start, end: right.span.end };
        let (lt, rt) = (l.get_type(self.schema).ok(), r.get_type(self.schema).ok());
        // On a multivalued field, `=` means "one of the values is".
        if matches!(operator, Operator::Eq | Operator::NotEq) {
            let contains = match (&lt, &rt) {
                (Some(DataType::List(_)), Some(t)) if !matches!(t, DataType::List(_)) => {
                    Some(datafusion::functions_nested::expr_fn::array_has(l.clone(), r.clone()))
                }
                (Some(t), Some(DataType::List(_))) if !matches!(t, DataType::List(_)) => {
                    Some(datafusion::functions_nested::expr_fn::array_has(r.clone(), l.clone()))
                }
                _ => None,
            };
            if let Some(c) = contains {
                return Ok(if operator == Operator::Eq { c } else { c.is_not_true() });
            }
        }
        if let (Some(a), Some(b)) = (&lt, &rt) {
            let numeric = |t: &DataType| t.is_numeric() || t.is_null();
            let ok = match operator {
                Operator::Plus | Operator::Minus | Operator::Multiply | Operator::Divide => {
                    numeric(a) && numeric(b)
                }
                // Only like with like: DataFusion would compare text with numbers by casting,
                // and fail on the first value that is not a number.
                _ => a.is_null() || b.is_null() || type_family(a) == type_family(b),
            };
            if !ok {
                let verb = if matches!(
                    operator,
                    Operator::Plus | Operator::Minus | Operator::Multiply | Operator::Divide
                ) {
                    "arithmetic needs numbers, but this combines"
                } else {
                    "cannot compare"
                };
                return Err(self.err(
                    format!("{verb} a {} value with a {} value.", type_name(a), type_name(b)),
                    span,
                ));
            }
        }
        if operator == Operator::Divide {
            // ODSQL: division is on numbers, and dividing by zero gives null.
            let l = cast_f64(l);
            let r = datafusion::functions::expr_fn::nullif(cast_f64(r), lit(0.0f64));
            return Ok(Expr::BinaryExpr(BinaryExpr::new(
                Box::new(l),
                Operator::Divide,
                Box::new(r),
            )));
        }
        Ok(Expr::BinaryExpr(BinaryExpr::new(Box::new(l), operator, Box::new(r))))
    }

    /// Lowers a literal, typed after `context` (the other operand) when given.
    pub(crate) fn literal(
        &self,
        l: &Literal,
        span: Span,
        context: Option<&DataType>,
    ) -> Result<Expr> {
        if let Literal::String(s) = l
            && let Some(message) = crate::limits::check_text_literal(s)
        {
            return Err(self.err(message, span));
        }
        Ok(match l {
            Literal::Null => lit(ScalarValue::Null),
            Literal::Bool(b) => lit(*b),
            // Typed as what it is compared with, as DataFusion's coercion would cast it: a
            // plan run without the optimiser (`small.rs`) then has no cast to run per query.
            Literal::Integer(i) if context == Some(&DataType::Float64) => lit(*i as f64),
            Literal::Integer(i) => lit(*i),
            Literal::Decimal(d) => lit(*d),
            Literal::String(s) => match context {
                Some(DataType::Date32) | Some(DataType::Timestamp(_, _)) => {
                    self.date_literal(s, span, context)?
                }
                Some(DataType::Utf8View) => lit(ScalarValue::Utf8View(Some(s.clone()))),
                _ => lit(s.as_str()),
            },
            Literal::Date(s) => self.date_literal(s, span, context)?,
            Literal::Geom(_) | Literal::Distance { .. } => {
                return Err(self.err(
                    "geometry and distance literals are only accepted by geo functions, which this version does not support yet.",
                    span,
                ));
            }
        })
    }

    pub(crate) fn date_literal(
        &self,
        text: &str,
        span: Span,
        context: Option<&DataType>,
    ) -> Result<Expr> {
        // A literal without an offset is local time in the request's time zone.
        let Some(value) = crate::dates::date_literal_value(text, self.tz, context) else {
            return Err(self.err(
                format!("invalid date '{text}': use YYYY, YYYY-MM, YYYY-MM-DD or an ISO 8601 datetime such as 2024-05-01T08:00:00+02:00."),
                span,
            ));
        };
        Ok(lit(value))
    }

    fn call(&self, name: &str, name_span: Span, args: &[Arg], distinct: bool) -> Result<Expr> {
        // Families of functions that read their arguments' AST themselves (geometry literals,
        // field lists, named arguments, intervals).
        let families: [FamilyLowering; 4] = [
            crate::geo::lower_call,
            crate::text::lower_call,
            crate::dates::lower_call,
            crate::json::lower_call,
        ];
        for family in families {
            if let Some(result) = family(self, name, name_span, args, distinct) {
                return result;
            }
        }
        if name == "random" {
            let seed = match args {
                [] => Some(0),
                [Arg::Expr(e)] => e.as_integer(),
                _ => None,
            };
            return match seed {
                Some(seed) => Ok(crate::record_id::random_expr(self.fields, seed)),
                None => Err(self
                    .err("random() takes an integer seed, e.g. order_by=random(42).", name_span)),
            };
        }
        let Some(doc) = functions::lookup(name) else {
            if functions::NOT_YET_SUPPORTED.contains(&name) {
                return Err(self.err(
                    format!("{name}() is an ODSQL function that this version of Kleber does not support yet."),
                    name_span,
                ));
            }
            let known: Vec<_> = functions::all().map(|f| f.name).collect();
            return Err(self.err(
                format!(
                    "{name}() is not an ODSQL function; the functions are: {}.",
                    known.join(", ")
                ),
                name_span,
            ));
        };
        let mut star = false;
        let mut lowered = Vec::with_capacity(args.len());
        for arg in args {
            match arg {
                Arg::Star(_) => star = true,
                Arg::Expr(e) => lowered.push(self.lower(e)?),
                Arg::Named { name: arg_name, span, .. } => {
                    return Err(
                        self.err(format!("{name}() takes no named argument `{arg_name}`."), *span)
                    );
                }
            }
        }
        match doc.kind {
            FunctionKind::Scalar => {
                if star || distinct {
                    return Err(
                        self.err(format!("{name}() does not take `*` or `distinct`."), name_span)
                    );
                }
                functions::lower_scalar(doc.name, lowered).map_err(|m| self.err(m, name_span))
            }
            FunctionKind::Aggregate => {
                if !self.allow_aggregates {
                    return Err(self.err(
                        format!("aggregate function {name}() is not allowed in {}.", self.clause),
                        name_span,
                    ));
                }
                functions::lower_aggregate(doc.name, lowered, star, distinct)
                    .map_err(|m| self.err(m, name_span))
            }
        }
    }
}

/// The Opendatasoft name of an Arrow type, for error messages.
pub(crate) fn type_name(t: &DataType) -> &'static str {
    match t {
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => "text",
        DataType::Boolean => "boolean",
        DataType::Date32 | DataType::Date64 => "date",
        DataType::Timestamp(_, _) => "datetime",
        DataType::Struct(_) => "geo_point_2d",
        DataType::List(_) | DataType::LargeList(_) => "multivalued text",
        DataType::Null => "null",
        t if t.is_integer() => "int",
        t if t.is_floating() || t.is_numeric() => "double",
        _ => "unknown",
    }
}

/// Types that compare with each other: text, numbers, dates and datetimes, booleans.
fn type_family(t: &DataType) -> &'static str {
    match type_name(t) {
        "int" | "double" => "number",
        "date" | "datetime" => "time",
        other => other,
    }
}

/// The signature of a family's lowering entry point.
type FamilyLowering = fn(&Scope<'_>, &str, Span, &[Arg], bool) -> Option<Result<Expr>>;

fn cast_f64(e: Expr) -> Expr {
    Expr::Cast(datafusion::logical_expr::Cast::new(Box::new(e), DataType::Float64))
}

/// Parses an ODSQL date literal into microseconds since the epoch (UTC).
///
/// Accepts partial dates (`2018`, `2018-04`, `2018/04`), dates (`2018-04-03`, `2018/04/03`),
/// datetimes with or without seconds, fraction and offset (`2017-04-03T08:02`,
/// `2024-01-02T03:04:05.000Z`, `2024-01-02 03:04:05+02:00`). A partial date means its first
/// instant; a datetime without offset is UTC.
pub fn parse_date_literal(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp_micros());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%dT%H:%M:%S%.fZ",
    ] {
        if let Ok(dt) = chrono::DateTime::parse_from_str(t, fmt) {
            return Some(dt.timestamp_micros());
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
    {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, fmt) {
            return Some(Utc.from_utc_datetime(&dt).timestamp_micros());
        }
    }
    let normalized = t.replace('/', "-");
    let parts: Vec<&str> = normalized.split('-').collect();
    let num = |s: &str| s.parse::<u32>().ok();
    let (y, m, d) = match parts.as_slice() {
        [y] if y.len() == 4 => (y.parse::<i32>().ok()?, 1, 1),
        [y, m] if y.len() == 4 => (y.parse::<i32>().ok()?, num(m)?, 1),
        [y, m, d] if y.len() == 4 => (y.parse::<i32>().ok()?, num(m)?, num(d)?),
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(y, m, d)?;
    Some(Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)).timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::parse_date_literal;

    #[test]
    fn date_literals_parse_at_every_precision() {
        let day = 86_400_000_000i64;
        assert_eq!(parse_date_literal("1970"), Some(0));
        assert_eq!(parse_date_literal("1970/01/02"), Some(day));
        assert_eq!(parse_date_literal("1970-01-02"), Some(day));
        assert_eq!(parse_date_literal("1970-02"), Some(31 * day));
        assert_eq!(parse_date_literal("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_date_literal("1970-01-01T00:00:01.500Z"), Some(1_500_000));
        assert_eq!(parse_date_literal("1970-01-01T00:02"), Some(120_000_000));
        assert_eq!(parse_date_literal("2023-02-30"), None);
        assert_eq!(parse_date_literal("hier"), None);
    }
}
