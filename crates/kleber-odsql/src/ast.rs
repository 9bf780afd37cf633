//! The syntax tree produced by the parser.
//!
//! Every expression carries the [`Span`] of the source text it was parsed from, so that later
//! stages (planning, type checking) can point at the exact place of a mistake. Parentheses do not
//! produce nodes: the span of `(a)` as a whole operand is the span of the enclosing node, and the
//! inner `a` keeps its own span without the parentheses.

use std::fmt;
use std::ops::Range;

/// A range of byte offsets into the clause text, `start..end`.
///
/// Offsets always fall on UTF-8 character boundaries of the text that was parsed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset just past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub const fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    /// The span as a `Range`, to slice the source text or feed other diagnostics libraries.
    pub const fn range(self) -> Range<usize> {
        self.start..self.end
    }
}

// Written by hand, as `start..end`: golden files print a span on every node, and the derived
// four-line form would drown the tree.
impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

impl From<Span> for Range<usize> {
    fn from(span: Span) -> Self {
        span.range()
    }
}

/// An expression with its source span.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// Where it is in the clause text.
    pub span: Span,
}

/// The kinds of expressions.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A constant.
    Literal(Literal),
    /// A field (or alias) reference: an identifier or a `` `backticked` `` name. Dotted names such
    /// as `default.modified` are kept whole; backticks are removed and `` \` `` unescaped.
    Field(String),
    /// A prefix operator.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// Its operand.
        expr: Box<Expr>,
    },
    /// An infix operator.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `expr [NOT] LIKE pattern`: a field-scoped word search, not SQL `%` matching.
    Like {
        /// The tested value.
        expr: Box<Expr>,
        /// The searched words, usually a string literal.
        pattern: Box<Expr>,
        /// `NOT LIKE`.
        negated: bool,
    },
    /// `expr IS [NOT] NULL`.
    IsNull {
        /// The tested value.
        expr: Box<Expr>,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `expr IS [NOT] TRUE` / `expr IS [NOT] FALSE`.
    IsBool {
        /// The tested value.
        expr: Box<Expr>,
        /// `TRUE` or `FALSE`.
        value: bool,
        /// `IS NOT`.
        negated: bool,
    },
    /// `expr [NOT] IN (a, b, …)`.
    InList {
        /// The tested value.
        expr: Box<Expr>,
        /// The candidate values.
        list: Vec<Expr>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `expr IN [low..high]` (or `TO` instead of `..`). A left `[` and a right `]` include their
    /// bound; a left `]` and a right `[` exclude it. `expr NOT IN [..]` is parsed as
    /// [`UnaryOp::Not`] around this node.
    InRange {
        /// The tested value.
        expr: Box<Expr>,
        /// Lower bound.
        low: Box<Expr>,
        /// Upper bound.
        high: Box<Expr>,
        /// Whether `low` itself is in the range.
        low_inclusive: bool,
        /// Whether `high` itself is in the range.
        high_inclusive: bool,
    },
    /// A function call, including aggregates and predicates such as `search()`.
    ///
    /// Inside `range()`, a width written as a number and a time unit (`1 day`, `2 months`, `1d`,
    /// `15m`) is encoded as a call named `interval` whose arguments are the number literal and
    /// the unit as a string literal in its canonical singular form: `millisecond`, `second`,
    /// `minute`, `hour`, `day`, `week`, `month`, `quarter` or `year`. Its `name_span` is the span
    /// of the unit.
    Call {
        /// The function name, lowercased.
        name: String,
        /// Where the name is written.
        name_span: Span,
        /// The arguments in order.
        args: Vec<Arg>,
        /// `count(DISTINCT f)`: the argument list started with `DISTINCT`.
        distinct: bool,
    },
    /// A string literal standing where a condition is expected in a `where` clause: full-text
    /// search across all fields (`"tree" AND NOT "dog"`). Holds the unescaped text.
    FullText(String),
}

/// Prefix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// Arithmetic negation, `-x`.
    Neg,
    /// Boolean negation, `NOT x`.
    Not,
}

/// Infix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `OR`.
    Or,
    /// `AND`.
    And,
    /// `=`.
    Eq,
    /// `!=` or `<>`.
    NotEq,
    /// `<`.
    Lt,
    /// `<=`.
    LtEq,
    /// `>`.
    Gt,
    /// `>=`.
    GtEq,
    /// `:`, the legacy equality still emitted by Opendatasoft's own clients (`dataset_id:'x'`).
    Colon,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
}

impl BinaryOp {
    /// How the operator is written (the canonical spelling: `!=` for both `!=` and `<>`).
    pub const fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "OR",
            BinaryOp::And => "AND",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::Colon => ":",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
        }
    }

    /// Whether the operator compares two values (`= != < <= > >= :`).
    pub const fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq
                | BinaryOp::NotEq
                | BinaryOp::Lt
                | BinaryOp::LtEq
                | BinaryOp::Gt
                | BinaryOp::GtEq
                | BinaryOp::Colon
        )
    }
}

/// One argument of a function call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A positional argument.
    Expr(Expr),
    /// `*`, as in `count(*)`, `search(*, "x")` or the open ends of `range(f, *, 10, 50, *)`.
    Star(Span),
    /// `name=value`, only recognised in `now()` and `facet()` (`now(years=-1)`,
    /// `facet(name="x")`). The name is lowercased; the span covers `name=value`.
    Named {
        /// The argument name, lowercased.
        name: String,
        /// Its value.
        value: Expr,
        /// Where `name=value` is written.
        span: Span,
    },
}

impl Arg {
    /// The expression of a positional argument.
    pub fn as_expr(&self) -> Option<&Expr> {
        match self {
            Arg::Expr(e) => Some(e),
            Arg::Star(_) | Arg::Named { .. } => None,
        }
    }

    /// Where the argument is written.
    pub fn span(&self) -> Span {
        match self {
            Arg::Expr(e) => e.span,
            Arg::Star(span) | Arg::Named { span, .. } => *span,
        }
    }
}

/// Constants.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `NULL`.
    Null,
    /// `TRUE` or `FALSE`.
    Bool(bool),
    /// An integer that fits in an `i64` (larger ones become [`Literal::Decimal`]).
    Integer(i64),
    /// A number with a decimal point or an exponent.
    Decimal(f64),
    /// A quoted string, unescaped.
    String(String),
    /// `date'…'`: the (unescaped) text between the quotes, not yet interpreted.
    Date(String),
    /// `geom'…'`: the (unescaped) WKT or GeoJSON text between the quotes, not yet interpreted.
    Geom(String),
    /// A number immediately followed by a length unit: `10km`, `100yd`.
    Distance {
        /// The number as written.
        value: f64,
        /// The unit.
        unit: DistanceUnit,
    },
}

/// Length units of distance literals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DistanceUnit {
    /// Metres, `m`.
    M,
    /// Kilometres, `km`.
    Km,
    /// Statute miles, `mi`.
    Mi,
    /// Yards, `yd`.
    Yd,
    /// Feet, `ft`.
    Ft,
    /// Centimetres, `cm`.
    Cm,
    /// Millimetres, `mm`.
    Mm,
}

impl DistanceUnit {
    /// The length of one unit in metres.
    pub const fn meters(self) -> f64 {
        match self {
            DistanceUnit::M => 1.0,
            DistanceUnit::Km => 1000.0,
            DistanceUnit::Mi => 1609.344,
            DistanceUnit::Yd => 0.9144,
            DistanceUnit::Ft => 0.3048,
            DistanceUnit::Cm => 0.01,
            DistanceUnit::Mm => 0.001,
        }
    }

    /// The unit written as `suffix` (case-insensitive), if it is one.
    pub fn from_suffix(suffix: &str) -> Option<Self> {
        const UNITS: [(&str, DistanceUnit); 7] = [
            ("m", DistanceUnit::M),
            ("km", DistanceUnit::Km),
            ("mi", DistanceUnit::Mi),
            ("yd", DistanceUnit::Yd),
            ("ft", DistanceUnit::Ft),
            ("cm", DistanceUnit::Cm),
            ("mm", DistanceUnit::Mm),
        ];
        UNITS.iter().find(|(s, _)| s.eq_ignore_ascii_case(suffix)).map(|&(_, u)| u)
    }

    /// The canonical suffix, lowercase.
    pub const fn suffix(self) -> &'static str {
        match self {
            DistanceUnit::M => "m",
            DistanceUnit::Km => "km",
            DistanceUnit::Mi => "mi",
            DistanceUnit::Yd => "yd",
            DistanceUnit::Ft => "ft",
            DistanceUnit::Cm => "cm",
            DistanceUnit::Mm => "mm",
        }
    }
}

/// One item of a `select` clause.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*`: every field.
    Star(Span),
    /// `include(p, …)`: the fields matching the patterns. A pattern ending in `*` is a prefix.
    Include(Vec<String>, Span),
    /// `exclude(p, …)`: every field but those matching the patterns.
    Exclude(Vec<String>, Span),
    /// `expr [AS alias]`.
    Expr {
        /// The selected expression.
        expr: Expr,
        /// The `AS` label, if any.
        alias: Option<String>,
        /// The expression's source text, trimmed, without the alias: the output key when there
        /// is no alias (Opendatasoft names such columns after the text, e.g. `count(*)`).
        text: String,
    },
}

/// One item of an `order_by` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    /// The sort key.
    pub expr: Expr,
    /// `DESC` was given (the default is ascending).
    pub descending: bool,
}

/// One item of a `group_by` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupItem {
    /// The grouping expression.
    pub expr: Expr,
    /// The `AS` label, if any.
    pub alias: Option<String>,
    /// The expression's source text, trimmed, without the alias.
    pub text: String,
}

impl Expr {
    /// Calls `f` on this expression and then on every expression inside it, depth first, in
    /// source order (call arguments included, named ones too).
    ///
    /// The parser bounds the height of trees ([`crate::MAX_HEIGHT`]), so this recursion cannot
    /// exhaust the stack on parsed input.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Literal(_) | ExprKind::Field(_) | ExprKind::FullText(_) => {}
            ExprKind::Unary { expr, .. }
            | ExprKind::IsNull { expr, .. }
            | ExprKind::IsBool { expr, .. } => expr.walk(f),
            ExprKind::Binary { left, right, .. } => {
                left.walk(f);
                right.walk(f);
            }
            ExprKind::Like { expr, pattern, .. } => {
                expr.walk(f);
                pattern.walk(f);
            }
            ExprKind::InList { expr, list, .. } => {
                expr.walk(f);
                for item in list {
                    item.walk(f);
                }
            }
            ExprKind::InRange { expr, low, high, .. } => {
                expr.walk(f);
                low.walk(f);
                high.walk(f);
            }
            ExprKind::Call { args, .. } => {
                for arg in args {
                    match arg {
                        Arg::Expr(e) | Arg::Named { value: e, .. } => e.walk(f),
                        Arg::Star(_) => {}
                    }
                }
            }
        }
    }

    /// The value of an integer literal, possibly negated (`-1` is parsed as a negation): handy
    /// for arguments such as `now(years=-1)`.
    pub fn as_integer(&self) -> Option<i64> {
        match &self.kind {
            ExprKind::Literal(Literal::Integer(i)) => Some(*i),
            ExprKind::Unary { op: UnaryOp::Neg, expr } => expr.as_integer()?.checked_neg(),
            _ => None,
        }
    }

    /// The value of a numeric literal (integer or decimal), possibly negated: handy for
    /// arguments such as `in_bbox(geo, 48.9, -2.2, …)`.
    pub fn as_number(&self) -> Option<f64> {
        match &self.kind {
            // Precision loss above 2^53 is acceptable for coordinates and percentiles.
            ExprKind::Literal(Literal::Integer(i)) => Some(*i as f64),
            ExprKind::Literal(Literal::Decimal(d)) => Some(*d),
            ExprKind::Unary { op: UnaryOp::Neg, expr } => expr.as_number().map(|v| -v),
            _ => None,
        }
    }

    /// The text of a string literal (not of a full-text search).
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            ExprKind::Literal(Literal::String(s)) => Some(s),
            _ => None,
        }
    }
}
