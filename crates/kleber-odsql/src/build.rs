//! Clause builders: syntax trees made by code rather than parsed, to be written out with
//! [`crate::write::expr`].
//!
//! Nodes built here have empty spans. `and`/`or` build left-leaning chains, as the parser does,
//! so that `write::expr(and(…))` reads back to the same tree.

use crate::ast::{Arg, BinaryOp, DistanceUnit, Expr, ExprKind, Literal, Span, UnaryOp};

fn node(kind: ExprKind) -> Expr {
    Expr { kind, span: Span::default() }
}

fn lit(literal: Literal) -> Expr {
    node(ExprKind::Literal(literal))
}

/// A field (or alias) reference.
pub fn field(name: &str) -> Expr {
    node(ExprKind::Field(name.to_owned()))
}

/// A string literal.
pub fn text(value: &str) -> Expr {
    lit(Literal::String(value.to_owned()))
}

/// A full-text search over every field (a string standing as a condition in a `where`).
pub fn full_text(value: &str) -> Expr {
    node(ExprKind::FullText(value.to_owned()))
}

/// An integer literal; a negative value is built as a negation, as the parser reads it.
pub fn int(value: i64) -> Expr {
    if value < 0 && value != i64::MIN {
        return neg(lit(Literal::Integer(-value)));
    }
    lit(Literal::Integer(value))
}

/// A decimal literal; a negative value is built as a negation. NaN and infinities cannot be
/// written: [`crate::write::expr`] writes text that fails to parse.
pub fn decimal(value: f64) -> Expr {
    if value.is_sign_negative() && value.is_finite() {
        return neg(lit(Literal::Decimal(-value)));
    }
    lit(Literal::Decimal(value))
}

/// `TRUE` or `FALSE`.
pub fn boolean(value: bool) -> Expr {
    lit(Literal::Bool(value))
}

/// `NULL`.
pub fn null() -> Expr {
    lit(Literal::Null)
}

/// A `date'…'` literal.
pub fn date(value: &str) -> Expr {
    lit(Literal::Date(value.to_owned()))
}

/// A `geom'…'` literal (WKT or GeoJSON).
pub fn geom(value: &str) -> Expr {
    lit(Literal::Geom(value.to_owned()))
}

/// A distance literal such as `500m`; a negative value is built as a negation.
pub fn distance(value: f64, unit: DistanceUnit) -> Expr {
    if value.is_sign_negative() && value.is_finite() {
        return neg(lit(Literal::Distance { value: -value, unit }));
    }
    lit(Literal::Distance { value, unit })
}

/// `-e`.
pub fn neg(e: Expr) -> Expr {
    node(ExprKind::Unary { op: UnaryOp::Neg, expr: Box::new(e) })
}

/// `NOT e`.
pub fn not(e: Expr) -> Expr {
    node(ExprKind::Unary { op: UnaryOp::Not, expr: Box::new(e) })
}

/// `left op right`, any binary operator.
pub fn cmp(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    node(ExprKind::Binary { op, left: Box::new(left), right: Box::new(right) })
}

/// `left = right`.
pub fn eq(left: Expr, right: Expr) -> Expr {
    cmp(BinaryOp::Eq, left, right)
}

fn chain(op: BinaryOp, items: impl IntoIterator<Item = Expr>) -> Option<Expr> {
    items.into_iter().reduce(|left, right| cmp(op, left, right))
}

/// The conditions ANDed, `None` when there are none.
pub fn and(items: impl IntoIterator<Item = Expr>) -> Option<Expr> {
    chain(BinaryOp::And, items)
}

/// The conditions ORed, `None` when there are none.
pub fn or(items: impl IntoIterator<Item = Expr>) -> Option<Expr> {
    chain(BinaryOp::Or, items)
}

/// `e LIKE pattern` (a word search in `e`), or `NOT LIKE`.
pub fn like(e: Expr, pattern: Expr, negated: bool) -> Expr {
    node(ExprKind::Like { expr: Box::new(e), pattern: Box::new(pattern), negated })
}

/// `e IS NULL`, or `IS NOT NULL`.
pub fn is_null(e: Expr, negated: bool) -> Expr {
    node(ExprKind::IsNull { expr: Box::new(e), negated })
}

/// `e IN (…)`, or `NOT IN`.
pub fn in_list(e: Expr, list: Vec<Expr>, negated: bool) -> Expr {
    node(ExprKind::InList { expr: Box::new(e), list, negated })
}

/// `e IN [low TO high]`, each bound included or not.
pub fn in_range(e: Expr, low: Expr, high: Expr, low_inclusive: bool, high_inclusive: bool) -> Expr {
    node(ExprKind::InRange {
        expr: Box::new(e),
        low: Box::new(low),
        high: Box::new(high),
        low_inclusive,
        high_inclusive,
    })
}

/// A call of `name` (a lowercase identifier) with positional arguments.
pub fn call(name: &str, args: impl IntoIterator<Item = Expr>) -> Expr {
    call_args(name, args.into_iter().map(Arg::Expr).collect())
}

/// A call of `name` with any arguments ([`star`], [`named`], positional).
pub fn call_args(name: &str, args: Vec<Arg>) -> Expr {
    node(ExprKind::Call {
        name: name.to_owned(),
        name_span: Span::default(),
        args,
        distinct: false,
    })
}

/// The `*` argument.
pub fn star() -> Arg {
    Arg::Star(Span::default())
}

/// A `name=value` argument, as in `now(days=-7)`.
pub fn named(name: &str, value: Expr) -> Arg {
    Arg::Named { name: name.to_owned(), value, span: Span::default() }
}
