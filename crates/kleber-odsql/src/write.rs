//! The writer: syntax trees and values back to ODSQL text, the inverse of the parser.
//!
//! Every translator that produces ODSQL (the v1 `q` language, the v1 parameters, the portal's
//! filters, record lookups) writes it here, so quoting is done in one place and user text can
//! only ever become a literal or a name:
//!
//! - [`string`], [`date`], [`geom`] quote a value the way the lexer unquotes it (`"` and `\`
//!   escaped; tab, newline and carriage return written `\t`, `\n`, `\r`);
//! - [`name`] writes a field name or alias bare when it is a plain identifier that is not a
//!   reserved word, and in backticks (`` ` `` and `\` escaped) otherwise;
//! - [`integer`] and [`number`] print numbers so that they read back to the same value;
//! - [`expr`] prints a whole tree (built by hand with [`crate::build`] or parsed), adding
//!   parentheses only where precedence needs them, so long `AND` chains do not nest;
//! - [`select_item`], [`order_item`] and [`refine`] write the items of the other parameters.
//!
//! The property that holds (checked by the `write_roundtrip` fuzz target and the
//! `roundtrip` test): for a tree in the parser's canonical form, parsing the text [`expr`]
//! writes gives the same tree, spans aside. Canonical means what the parser itself produces:
//! numbers are not negative (`-1` is a negation of `1`), string literals stand where a
//! condition is expected only as [`ExprKind::FullText`] (in a `where`), named arguments only
//! in `now()` and `facet()`, and names of calls are plain lowercase identifiers.

use std::fmt::Write as _;

use crate::ast::{Arg, BinaryOp, Expr, ExprKind, Literal, UnaryOp};

/// Words that must be backticked to be names (the parser's reserved words).
const RESERVED: [&str; 15] = [
    "and", "as", "asc", "by", "desc", "distinct", "false", "group", "limit", "not", "null", "or",
    "select", "true", "where",
];

/// Whether `name` reads back as the field `name` without backticks: an identifier
/// (`[A-Za-z_][A-Za-z0-9_]*`, dotted parts allowed as in `default.modified`) that is not a
/// reserved word.
pub fn is_plain_name(name: &str) -> bool {
    let word = |part: &str| {
        !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.split('.').all(word)
        && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// A field name or alias: bare when [`is_plain_name`], else backticked with `` ` `` and `\`
/// escaped. An empty name cannot be written (the parser refuses `` `` ``).
pub fn name(name: &str) -> String {
    if is_plain_name(name) {
        return name.to_owned();
    }
    let mut out = String::with_capacity(name.len() + 2);
    out.push('`');
    for c in name.chars() {
        if matches!(c, '`' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('`');
    out
}

/// `text` between `quote`s, escaped the way the lexer unescapes it.
fn quoted(out: &mut String, quote: char, text: &str) {
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// A string literal holding `text` (in a `where`, standing alone, a full-text search).
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    quoted(&mut out, '"', text);
    out
}

/// A `date'…'` literal holding `text`, uninterpreted (the planner reads it).
pub fn date(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 6);
    out.push_str("date");
    quoted(&mut out, '\'', text);
    out
}

/// A `geom'…'` literal holding the WKT or GeoJSON `text`.
pub fn geom(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 6);
    out.push_str("geom");
    quoted(&mut out, '\'', text);
    out
}

/// An integer. A negative one reads back as a negation of its absolute value; `i64::MIN`,
/// whose absolute value is no `i64`, is written `(-9223372036854775807 - 1)`.
pub fn integer(value: i64) -> String {
    if value == i64::MIN {
        return format!("({} - 1)", i64::MIN + 1);
    }
    value.to_string()
}

/// A decimal number that reads back as exactly `value` (Rust's shortest round-trip form, with
/// a decimal point or an exponent so that it stays a decimal), or `None` for NaN and
/// infinities, which ODSQL cannot write.
pub fn number(value: f64) -> Option<String> {
    value.is_finite().then(|| format!("{value:?}"))
}

/// How tightly an expression binds; a child looser than its place needs parentheses.
fn level(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary { op: BinaryOp::Or, .. } => 1,
        ExprKind::Binary { op: BinaryOp::And, .. } => 2,
        ExprKind::Unary { op: UnaryOp::Not, .. } => 3,
        ExprKind::Binary { op, .. } if op.is_comparison() => 4,
        ExprKind::Like { .. }
        | ExprKind::IsNull { .. }
        | ExprKind::IsBool { .. }
        | ExprKind::InList { .. }
        | ExprKind::InRange { .. } => 4,
        ExprKind::Binary { op: BinaryOp::Add | BinaryOp::Sub, .. } => 5,
        ExprKind::Binary { .. } => 6,
        ExprKind::Unary { op: UnaryOp::Neg, .. } => 7,
        // Written with a leading minus, they read back as negations.
        ExprKind::Literal(Literal::Integer(i)) if *i < 0 => 7,
        ExprKind::Literal(Literal::Decimal(d)) if d.is_sign_negative() => 7,
        ExprKind::Literal(Literal::Distance { value, .. }) if value.is_sign_negative() => 7,
        _ => 8,
    }
}

/// Text the lexer refuses ("number out of range"), written for NaN and infinities so that an
/// impossible value fails loudly instead of changing meaning.
const NOT_A_NUMBER: &str = "1e999";

/// Writes `e` as ODSQL: the inverse of [`crate::parse_where`] (and [`crate::parse_expr`] for
/// trees without full-text nodes).
pub fn expr(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, e);
    out
}

/// `e`, in parentheses if it binds more loosely than `min`.
fn write_at(out: &mut String, e: &Expr, min: u8) {
    if level(e) < min {
        out.push('(');
        write_expr(out, e);
        out.push(')');
    } else {
        write_expr(out, e);
    }
}

fn write_expr(out: &mut String, e: &Expr) {
    match &e.kind {
        ExprKind::Literal(lit) => write_literal(out, lit),
        ExprKind::Field(n) => out.push_str(&name(n)),
        ExprKind::FullText(text) => quoted(out, '"', text),
        ExprKind::Unary { op: UnaryOp::Not, expr } => {
            out.push_str("NOT ");
            write_at(out, expr, 3);
        }
        ExprKind::Unary { op: UnaryOp::Neg, expr } => {
            out.push('-');
            write_at(out, expr, 7);
        }
        ExprKind::Binary { op, left, right } => {
            let (l, r) = match op {
                BinaryOp::Or => (1, 2),
                BinaryOp::And => (2, 3),
                BinaryOp::Add | BinaryOp::Sub => (5, 6),
                BinaryOp::Mul | BinaryOp::Div => (6, 7),
                // Comparisons do not chain: both sides are sums.
                _ => (5, 5),
            };
            write_at(out, left, l);
            out.push(' ');
            out.push_str(op.symbol());
            out.push(' ');
            write_at(out, right, r);
        }
        ExprKind::Like { expr, pattern, negated } => {
            write_at(out, expr, 5);
            out.push_str(if *negated { " NOT LIKE " } else { " LIKE " });
            write_at(out, pattern, 5);
        }
        ExprKind::IsNull { expr, negated } => {
            write_at(out, expr, 5);
            out.push_str(if *negated { " IS NOT NULL" } else { " IS NULL" });
        }
        ExprKind::IsBool { expr, value, negated } => {
            write_at(out, expr, 5);
            out.push_str(if *negated { " IS NOT " } else { " IS " });
            out.push_str(if *value { "TRUE" } else { "FALSE" });
        }
        ExprKind::InList { expr, list, negated } => {
            write_at(out, expr, 5);
            out.push_str(if *negated { " NOT IN (" } else { " IN (" });
            for (i, item) in list.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_at(out, item, 5);
            }
            out.push(')');
        }
        ExprKind::InRange { expr, low, high, low_inclusive, high_inclusive } => {
            write_at(out, expr, 5);
            out.push_str(if *low_inclusive { " IN [" } else { " IN ]" });
            write_at(out, low, 5);
            out.push_str(" TO ");
            write_at(out, high, 5);
            out.push(if *high_inclusive { ']' } else { '[' });
        }
        ExprKind::Call { name, args, distinct, .. } => write_call(out, name, args, *distinct),
    }
}

fn write_call(out: &mut String, name: &str, args: &[Arg], distinct: bool) {
    out.push_str(name);
    out.push('(');
    if distinct && !args.is_empty() {
        out.push_str("DISTINCT ");
    }
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match arg {
            Arg::Star(_) => out.push('*'),
            Arg::Named { name, value, .. } => {
                out.push_str(name);
                out.push('=');
                write_at(out, value, 5);
            }
            Arg::Expr(e) if name == "range" && i > 0 => {
                // After the first argument of range(), an argument starting with `15m` would
                // read as a width of 15 minutes.
                let mut arg = String::new();
                write_expr(&mut arg, e);
                if arg.starts_with(|c: char| c.is_ascii_digit()) {
                    out.push('(');
                    out.push_str(&arg);
                    out.push(')');
                } else {
                    out.push_str(&arg);
                }
            }
            // In now() and facet(), `a = b` would read as a named argument.
            Arg::Expr(e) => write_at(out, e, if matches!(name, "now" | "facet") { 5 } else { 1 }),
        }
    }
    out.push(')');
}

fn write_literal(out: &mut String, lit: &Literal) {
    match lit {
        Literal::Null => out.push_str("NULL"),
        Literal::Bool(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
        Literal::Integer(i) => out.push_str(&integer(*i)),
        Literal::Decimal(d) => out.push_str(&number(*d).unwrap_or_else(|| NOT_A_NUMBER.to_owned())),
        Literal::String(s) => quoted(out, '"', s),
        Literal::Date(s) => out.push_str(&date(s)),
        Literal::Geom(s) => out.push_str(&geom(s)),
        Literal::Distance { value, unit } => {
            out.push_str(&number(*value).unwrap_or_else(|| NOT_A_NUMBER.to_owned()));
            out.push_str(unit.suffix());
        }
    }
}

/// One `select` (or `group_by`) item: `expr [AS alias]`.
pub fn select_item(e: &Expr, alias: Option<&str>) -> String {
    let mut out = String::new();
    // `include(…)` and `exclude(…)` at the start of an item are field patterns, not calls.
    let pattern_like =
        matches!(&e.kind, ExprKind::Call { name, .. } if name == "include" || name == "exclude");
    write_at(&mut out, e, if pattern_like { 9 } else { 1 });
    if let Some(alias) = alias {
        let _ = write!(out, " AS {}", name(alias));
    }
    out
}

/// One `order_by` item: `expr ASC` or `expr DESC`.
pub fn order_item(e: &Expr, descending: bool) -> String {
    let mut out = expr(e);
    out.push_str(if descending { " DESC" } else { " ASC" });
    out
}

/// A `refine`/`exclude` parameter, `` `facet`:"value" ``: the facet backticked, the value in
/// double quotes with `"` written `\"` (the only escape that parameter knows; other
/// backslashes stay as they are).
pub fn refine(facet: &str, value: &str) -> String {
    let mut out = String::with_capacity(facet.len() + value.len() + 5);
    out.push('`');
    out.push_str(facet);
    out.push_str("`:\"");
    out.push_str(&value.replace('"', "\\\""));
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::{and, cmp, eq, field, int, not, or, text};
    use crate::parse_where;

    #[test]
    fn names_are_bare_only_when_they_read_back_as_names() {
        assert_eq!(name("nom"), "nom");
        assert_eq!(name("default.modified"), "default.modified");
        assert_eq!(name("_id"), "_id");
        assert_eq!(name("and"), "`and`");
        assert_eq!(name("NULL"), "`NULL`");
        assert_eq!(name("12"), "`12`");
        assert_eq!(name("a b"), "`a b`");
        assert_eq!(name("a.`b\\"), "`a.\\`b\\\\`");
        assert_eq!(name("a."), "`a.`");
        assert_eq!(name("é"), "`é`");
    }

    #[test]
    fn strings_escape_what_the_lexer_unescapes() {
        assert_eq!(string(r#"x" OR 1=1 OR "\"#), r#""x\" OR 1=1 OR \"\\""#);
        assert_eq!(string("a\nb\t\\u0041"), r#""a\nb\t\\u0041""#);
        assert_eq!(date("2019-09-01"), "date'2019-09-01'");
        assert_eq!(geom("POINT(1 2)"), "geom'POINT(1 2)'");
        assert_eq!(date("it's"), r"date'it\'s'");
    }

    #[test]
    fn numbers_read_back_exactly() {
        assert_eq!(integer(-3), "-3");
        assert_eq!(integer(i64::MIN), "(-9223372036854775807 - 1)");
        assert_eq!(number(5.0).as_deref(), Some("5.0"));
        assert_eq!(number(1e300).as_deref(), Some("1e300"));
        assert_eq!(number(0.1).as_deref(), Some("0.1"));
        assert_eq!(number(f64::NAN), None);
        assert_eq!(number(f64::INFINITY), None);
    }

    #[test]
    fn parentheses_only_where_precedence_needs_them() {
        let a = || eq(field("a"), int(1));
        let b = || eq(field("b"), text("x"));
        let chain = and([a(), b(), a(), b()]).unwrap();
        assert_eq!(expr(&chain), r#"a = 1 AND b = "x" AND a = 1 AND b = "x""#);
        let mixed = and([or([a(), b()]).unwrap(), not(a())]).unwrap();
        assert_eq!(expr(&mixed), r#"(a = 1 OR b = "x") AND NOT a = 1"#);
        let right = or([a(), and([a(), b()]).unwrap()]).unwrap();
        assert_eq!(expr(&right), r#"a = 1 OR a = 1 AND b = "x""#);
        let compared = cmp(BinaryOp::Eq, eq(field("a"), int(1)), crate::build::boolean(true));
        assert_eq!(expr(&compared), "(a = 1) = TRUE");
        // A hundred conditions are not a hundred levels of parentheses.
        let long = and((0..100).map(|_| a())).unwrap();
        assert!(parse_where(&expr(&long)).is_ok());
    }

    #[test]
    fn refine_values_keep_quotes_and_backslashes() {
        assert_eq!(refine("nom", r#"A"B\C"#), r#"`nom`:"A\"B\C""#);
    }
}
