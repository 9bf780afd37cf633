//! ODSQL, the Opendatasoft Query Language: lexer and parser.
//!
//! The Explore API takes four ODSQL clauses as query parameters: `select`, `where`, `group_by`
//! and `order_by`. This crate turns the text of each into a syntax tree ([`Expr`],
//! [`SelectItem`], [`GroupItem`], [`OrderItem`]) whose every node carries the byte [`Span`] it
//! came from, or into a [`ParseError`] that says what was expected, where, and can
//! [render](ParseError::render) a caret under the mistake. It knows nothing of datasets or
//! functions' meanings: whether a field exists or `year()` takes one argument is decided later,
//! by the planner. It does no I/O and never panics, whatever the input.
//!
//! # Grammar
//!
//! Keywords are case-insensitive. `{ x }` repeats `x` zero or more times, `[ x ]` makes it
//! optional.
//!
//! ```text
//! select       = select_item { "," select_item } ;
//! select_item  = "*"
//!              | ( "include" | "exclude" ) "(" pattern { "," pattern } ")"
//!              | expr [ "AS" alias ] ;
//! pattern      = name [ "*" ] ;                       -- "name*" is a prefix
//! group_by     = expr [ "AS" alias ] { "," expr [ "AS" alias ] } ;
//! order_by     = expr [ "ASC" | "DESC" ] { "," expr [ "ASC" | "DESC" ] } ;
//! where        = expr ;
//! alias        = name | string ;
//!
//! expr         = and_expr { "OR" and_expr } ;
//! and_expr     = not_expr { "AND" not_expr } ;
//! not_expr     = "NOT" not_expr | predicate ;
//! predicate    = sum [ cmp_op sum
//!                    | [ "NOT" ] "LIKE" sum
//!                    | "IS" [ "NOT" ] ( "NULL" | "TRUE" | "FALSE" )
//!                    | [ "NOT" ] "IN" "(" sum { "," sum } ")"
//!                    | [ "NOT" ] "IN" ( "[" | "]" ) sum ( ".." | "TO" ) sum ( "]" | "[" ) ] ;
//! cmp_op       = "=" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | ":" ;
//! sum          = product { ( "+" | "-" ) product } ;
//! product      = unary { ( "*" | "/" ) unary } ;
//! unary        = ( "-" | "+" ) unary | primary ;
//! primary      = literal | name | call | "(" expr ")" ;
//! call         = ident "(" [ [ "DISTINCT" ] arg { "," arg } ] ")" ;
//! arg          = "*"
//!              | ident "=" sum                         -- in now() and facet() only
//!              | number time_unit | number_time_unit   -- width, in range() after the 1st arg
//!              | ( "[" | "]" ) sum { "," sum } ( "]" | "[" )   -- old range() form
//!              | expr ;
//! literal      = integer | decimal | distance | string | date | geom
//!              | "TRUE" | "FALSE" | "NULL" ;
//! name         = ident | backticked ;
//! ```
//!
//! Precedence, loosest first: `OR`, `AND`, `NOT`, comparisons (which do not chain: `a = b = c`
//! is an error), `+ -`, `* /`, unary `-`. Negative numbers are a unary minus applied to a number.
//!
//! # Lexical elements
//!
//! - `ident`: `[A-Za-z_][A-Za-z0-9_]*`, with dotted parts (`default.modified`, kept whole).
//!   `and as asc by desc distinct false group limit not null or select true where` are reserved:
//!   as names they must be backticked. Function names that Opendatasoft also lists as reserved
//!   (`year`, `count`, `search`, `range`, …) are calls when `(` follows and field names otherwise.
//!   `in`, `like`, `is` and `to` are keywords only where an operator is expected.
//! - `backticked`: `` `any text` ``, with `` \` `` (and `\\`) escaped; required for names that
//!   are all digits, reserved, or not identifiers.
//! - `string`: `'…'` or `"…"`; `\n`, `\t`, `\r` and `\uXXXX` (JSON's escapes, surrogate pairs
//!   included) are decoded, any other `\x` stands for `x` (`'Don\'t'`).
//! - numbers: `42`, `5.8`, `.5`, `1e3`; integers beyond `i64` become decimals.
//! - `distance`: a number immediately followed by `m`, `km`, `mi`, `yd`, `ft`, `cm` or `mm`
//!   (`10km`; no space).
//! - `date` / `geom`: `date'2017-04'`, `geom'POINT(2.35 48.85)'` (either quote, prefix
//!   case-insensitive, no space before the quote); the text is kept uninterpreted.
//! - `time_unit` (in `range()` only): `ms s m h d w M q y` (case-sensitive: `m` minute, `M`
//!   month) or the words `millisecond second minute hour day week month quarter year`, singular
//!   or plural; `1 day`, `2 months`, `15m`. See [`ExprKind::Call`] for how widths are encoded.
//!
//! # Clause-specific rules
//!
//! - In `where`, a string literal standing where a condition is expected (the whole clause, an
//!   operand of `AND`, `OR`, `NOT`, possibly in parentheses) is a full-text search,
//!   [`ExprKind::FullText`]; everywhere else strings are [`Literal::String`].
//! - In `select` and `group_by`, each item keeps its source text, the output key when it has
//!   no alias.
//!
//! # Limits
//!
//! Clauses longer than [`MAX_LEN`] bytes, nested deeper than [`MAX_DEPTH`] levels, or whose tree
//! would be taller than [`MAX_HEIGHT`] are rejected with a [`ParseError`], so that neither this
//! crate nor the code walking its trees can exhaust the stack.
#![warn(missing_docs)]

mod ast;
pub mod build;
mod error;
mod lexer;
mod parser;
pub mod v1q;
pub mod volatile;
pub mod write;

pub use ast::{
    Arg, BinaryOp, DistanceUnit, Expr, ExprKind, GroupItem, Literal, OrderItem, SelectItem, Span,
    UnaryOp,
};
pub use error::{ParseError, Result};

use parser::Parser;

/// The longest clause accepted, in bytes.
pub const MAX_LEN: usize = 100_000;

/// How deeply parentheses, function calls, `NOT`, signs and `IN` lists may nest.
pub const MAX_DEPTH: usize = 64;

/// The tallest expression tree accepted (a leaf has height 1). Long chains such as
/// `a = 1 OR a = 2 OR …` add one level per operator.
pub const MAX_HEIGHT: usize = 512;

/// Parses a `select` clause: `*`, `include(…)`, `exclude(…)` and `expr [AS alias]` items.
pub fn parse_select(src: &str) -> Result<Vec<SelectItem>> {
    Parser::new(src)?.select()
}

/// Parses a `where` clause into one condition, with bare strings as full-text searches.
pub fn parse_where(src: &str) -> Result<Expr> {
    Parser::new(src)?.where_clause()
}

/// Parses an `order_by` clause: `expr [ASC|DESC]` items.
pub fn parse_order_by(src: &str) -> Result<Vec<OrderItem>> {
    Parser::new(src)?.order_by()
}

/// Parses a `group_by` clause: `expr [AS alias]` items.
pub fn parse_group_by(src: &str) -> Result<Vec<GroupItem>> {
    Parser::new(src)?.group_by()
}

/// Parses a single expression, where strings stay string literals (not full-text searches).
pub fn parse_expr(src: &str) -> Result<Expr> {
    Parser::new(src)?.expression()
}
