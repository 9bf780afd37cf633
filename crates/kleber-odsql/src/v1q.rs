//! The Search API v1 query language (`q=`), translated to an ODSQL `where`.
//!
//! v1 queries read like a search box: words (`velo`, `"gare centrale"`, `parking*`), field
//! queries (`etat:Ouvert`, `total>=100`, `date:2019/09`, `total:[100 TO 500]`, `nom==X`),
//! `AND`/`OR`/`NOT` with that precedence (`NOT` binds tightest), parentheses, `-word` for
//! `NOT word`, and `#` functions (`#null(f)`, `#exact(f,"v")`, `#search(f,"text")`,
//! `#startswith(f,"v")`, `#distance(f,"lat,lon",meters)`, `#polygon(f,"(lat,lon),…")`, and
//! `#now(days=-7)` as a value).
//!
//! The query is parsed here into `Node`s, checked against the dataset's fields, and built into
//! an ODSQL syntax tree with [`crate::build`], which [`crate::write::expr`] writes out: user text
//! only ever becomes a literal or a name, and numbers and coordinates are re-printed from their
//! parsed values. The text then goes through the ODSQL parser and the planner like any `where`.
//!
//! Meanings, following the v1 documentation: a bare word is full-text search over the text
//! fields (accents and case folded, stemmed); `field:value` on a text field matches the words
//! of the value in that field (ODSQL `LIKE`), on a number or boolean it is equality, on a date
//! a partial date (`2019`, `2019/09`, `2019/09/27`) means that whole period; `field==value` is
//! exact equality.

use crate::ast::{BinaryOp, DistanceUnit, Expr};
use crate::build;

/// A v1 query that cannot be translated; the message says why, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

type Result<T> = std::result::Result<T, QueryError>;

fn err<T>(message: impl Into<String>) -> Result<T> {
    Err(QueryError(message.into()))
}

/// Longest `q` accepted, in bytes.
pub const MAX_QUERY_LEN: usize = 4096;
/// Deepest nesting of parentheses and `NOT`s accepted: each level becomes at most one level of
/// ODSQL nesting, and the innermost term adds at most two (`now(days=-7)`), so the ODSQL
/// written stays within [`crate::MAX_DEPTH`].
pub const MAX_DEPTH: usize = crate::MAX_DEPTH - 2;
/// Most terms (words, field queries, functions) in one query: each adds at most one level to
/// the ODSQL tree's height, so with [`MAX_DEPTH`] the ODSQL written stays within
/// [`crate::MAX_HEIGHT`].
pub const MAX_TERMS: usize = crate::MAX_HEIGHT / 2;

/// What the translator needs to know of a field's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Text: `field:words` is a word search (`LIKE`).
    Text,
    /// An integer or decimal number.
    Number,
    /// `true` / `false`.
    Boolean,
    /// A date or datetime: `field:2019/09` is that month.
    Date,
    /// A geo point or shape: only `#distance` and `#polygon` filter it.
    Geo,
}

/// A field of the dataset queried: its name and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldInfo<'a> {
    /// The field's technical name.
    pub name: &'a str,
    /// What kind of values it holds.
    pub kind: FieldKind,
}

/// A comparison operator of a field query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `:` (and `=`): match.
    Match,
    /// `==`: exact equality.
    Exact,
    Gt,
    GtEq,
    Lt,
    LtEq,
}

impl Op {
    fn odsql(self) -> BinaryOp {
        match self {
            Op::Match | Op::Exact => BinaryOp::Eq,
            Op::Gt => BinaryOp::Gt,
            Op::GtEq => BinaryOp::GtEq,
            Op::Lt => BinaryOp::Lt,
            Op::LtEq => BinaryOp::LtEq,
        }
    }
}

/// The value side of a field query.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    /// A bare or quoted text.
    Text(String),
    /// `[a TO b]`, `{a TO b}` (bounds exclusive with braces), `*` for an open bound.
    Range { low: Option<String>, high: Option<String>, low_inclusive: bool, high_inclusive: bool },
    /// `#now(...)`: its raw arguments.
    Now(String),
}

/// A parsed v1 query.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// Full-text words (a quoted phrase keeps its quotes off).
    Words(String),
    Field {
        name: String,
        op: Op,
        value: Value,
    },
    Function {
        name: String,
        args: Vec<FnArg>,
    },
}

/// An argument of a `#function(...)`.
#[derive(Debug, Clone, PartialEq)]
enum FnArg {
    Quoted(String),
    Bare(String),
}

impl FnArg {
    fn text(&self) -> &str {
        match self {
            FnArg::Quoted(s) | FnArg::Bare(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Term(Node),
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    src: &'a str,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

fn stops_word(c: char) -> bool {
    c.is_whitespace() || c == '(' || c == ')' || c == '"'
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Self {
        Lexer { chars: src.char_indices().peekable(), src }
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().map(|&(_, c)| c)
    }

    fn pos(&mut self) -> usize {
        self.chars.peek().map_or(self.src.len(), |&(i, _)| i)
    }

    /// A `"…"` string (the opening quote is next), with `\"` and `\\` escapes.
    fn quoted(&mut self) -> Result<String> {
        let start = self.pos();
        self.chars.next();
        let mut out = String::new();
        while let Some((_, c)) = self.chars.next() {
            match c {
                '"' => return Ok(out),
                '\\' => match self.chars.next() {
                    Some((_, e)) => out.push(e),
                    None => break,
                },
                c => out.push(c),
            }
        }
        err(format!("unterminated quoted text starting at position {}", start + 1))
    }

    /// A run of characters up to whitespace, a parenthesis or a quote.
    fn word(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if stops_word(c) {
                break;
            }
            out.push(c);
            self.chars.next();
        }
        out
    }

    /// The raw text between `(` (next) and its matching `)`, quotes respected.
    fn parenthesized(&mut self, name: &str) -> Result<String> {
        let start = self.pos();
        if self.peek() != Some('(') {
            return err(format!("#{name} must be followed by its arguments in parentheses"));
        }
        self.chars.next();
        let mut depth = 1usize;
        let mut out = String::new();
        let mut in_quote = false;
        while let Some((_, c)) = self.chars.next() {
            if in_quote {
                out.push(c);
                if c == '\\' {
                    if let Some((_, e)) = self.chars.next() {
                        out.push(e);
                    }
                } else if c == '"' {
                    in_quote = false;
                }
                continue;
            }
            match c {
                '"' => in_quote = true,
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(out);
                    }
                }
                _ => {}
            }
            out.push(c);
        }
        err(format!("unclosed parenthesis of #{name} at position {}", start + 1))
    }

    /// The operator after a name, if one follows.
    fn operator(&mut self) -> Option<Op> {
        let rest = &self.src[self.pos()..];
        let (op, len) = if rest.starts_with("==") {
            (Op::Exact, 2)
        } else if rest.starts_with(">=") {
            (Op::GtEq, 2)
        } else if rest.starts_with("<=") {
            (Op::LtEq, 2)
        } else if rest.starts_with('>') {
            (Op::Gt, 1)
        } else if rest.starts_with('<') {
            (Op::Lt, 1)
        } else if rest.starts_with(':') || rest.starts_with('=') {
            (Op::Match, 1)
        } else {
            return None;
        };
        for _ in 0..len {
            self.chars.next();
        }
        Some(op)
    }

    /// The value of a field query (the operator was just read).
    fn value(&mut self, name: &str) -> Result<Value> {
        match self.peek() {
            Some('"') => Ok(Value::Text(self.quoted()?)),
            Some(open @ ('[' | '{')) => {
                self.chars.next();
                let mut inner = String::new();
                let close = loop {
                    match self.chars.next() {
                        Some((_, c @ (']' | '}'))) => break c,
                        Some((_, c)) => inner.push(c),
                        None => return err(format!("unclosed range after {name}:")),
                    }
                };
                let parts: Vec<&str> = inner.split_whitespace().collect();
                let (low, high) = match parts.as_slice() {
                    [low, to, high] if to.eq_ignore_ascii_case("TO") => (*low, *high),
                    _ => {
                        return err(format!(
                            "invalid range after {name}: write {name}:[LOW TO HIGH], e.g. {name}:[10 TO 20]"
                        ));
                    }
                };
                let bound = |b: &str| (b != "*").then(|| b.to_owned());
                Ok(Value::Range {
                    low: bound(low),
                    high: bound(high),
                    low_inclusive: open == '[',
                    high_inclusive: close == ']',
                })
            }
            Some('#') => {
                self.chars.next();
                let func = self.word_name();
                if !func.eq_ignore_ascii_case("now") {
                    return err(format!(
                        "#{func} cannot be used as a value; only #now(...) can, e.g. {name}>=#now(days=-7)"
                    ));
                }
                Ok(Value::Now(self.parenthesized("now")?))
            }
            _ => {
                let w = self.word();
                if w.is_empty() {
                    return err(format!("a value is expected after {name}"));
                }
                Ok(Value::Text(w))
            }
        }
    }

    fn word_name(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if !(c.is_ascii_alphanumeric() || c == '_') {
                break;
            }
            out.push(c);
            self.chars.next();
        }
        out
    }

    fn tokens(mut self) -> Result<Vec<Token>> {
        let mut tokens = Vec::new();
        loop {
            while self.peek().is_some_and(char::is_whitespace) {
                self.chars.next();
            }
            let Some(c) = self.peek() else { return Ok(tokens) };
            match c {
                '(' => {
                    self.chars.next();
                    tokens.push(Token::LParen);
                }
                ')' => {
                    self.chars.next();
                    tokens.push(Token::RParen);
                }
                '"' => {
                    // An empty phrase constrains nothing.
                    let phrase = self.quoted()?;
                    if !phrase.trim().is_empty() {
                        tokens.push(Token::Term(Node::Words(phrase)));
                    }
                }
                '#' => {
                    self.chars.next();
                    let name = self.word_name().to_ascii_lowercase();
                    if name.is_empty() {
                        return err("a function name is expected after #, e.g. #null(field)");
                    }
                    let raw = self.parenthesized(&name)?;
                    tokens.push(Token::Term(Node::Function { name, args: split_args(&raw)? }));
                }
                '-' => {
                    // `-word` excludes the word; a lone `-` is ignored.
                    self.chars.next();
                    if self.peek().is_some_and(|c| !c.is_whitespace()) {
                        tokens.push(Token::Not);
                    }
                }
                _ => {
                    let start = self.pos();
                    let mut name = String::new();
                    while let Some(c) = self.peek() {
                        if !is_name_char(c) {
                            break;
                        }
                        name.push(c);
                        self.chars.next();
                    }
                    if !name.is_empty()
                        && let Some(op) = self.operator()
                    {
                        let value = self.value(&name)?;
                        tokens.push(Token::Term(Node::Field { name, op, value }));
                        continue;
                    }
                    let rest = self.word();
                    let word = format!("{name}{rest}");
                    if word.is_empty() {
                        // A character that starts nothing (a stray operator): skip it.
                        self.chars.next();
                        if self.pos() == start {
                            return Ok(tokens);
                        }
                        continue;
                    }
                    tokens.push(match word.as_str() {
                        "AND" | "&&" => Token::And,
                        "OR" | "||" => Token::Or,
                        "NOT" => Token::Not,
                        _ => Token::Term(Node::Words(word)),
                    });
                }
            }
        }
    }
}

/// Splits function arguments on commas outside quotes.
fn split_args(raw: &str) -> Result<Vec<FnArg>> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut quoted: Option<String> = None;
    let mut chars = raw.chars();
    let mut in_quote = false;
    while let Some(c) = chars.next() {
        if in_quote {
            match c {
                '\\' => {
                    if let Some(e) = chars.next() {
                        current.push(e);
                    }
                }
                '"' => {
                    in_quote = false;
                    quoted = Some(std::mem::take(&mut current));
                }
                c => current.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                current.clear();
                in_quote = true;
            }
            ',' => {
                args.push(match quoted.take() {
                    Some(q) => FnArg::Quoted(q),
                    None => FnArg::Bare(current.trim().to_owned()),
                });
                current.clear();
            }
            c => {
                if quoted.is_none() {
                    current.push(c);
                }
            }
        }
    }
    if in_quote {
        return err("unterminated quoted text in function arguments");
    }
    match quoted {
        Some(q) => args.push(FnArg::Quoted(q)),
        None if !current.trim().is_empty() || !args.is_empty() => {
            args.push(FnArg::Bare(current.trim().to_owned()))
        }
        None => {}
    }
    Ok(args)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn or(&mut self) -> Result<Node> {
        let mut items = vec![self.and()?];
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Node::Or(items) })
    }

    fn and(&mut self) -> Result<Node> {
        let mut items = vec![self.not()?];
        loop {
            match self.peek() {
                Some(Token::And) => {
                    self.pos += 1;
                    items.push(self.not()?);
                }
                // Juxtaposed terms are ANDed.
                Some(Token::Term(_) | Token::Not | Token::LParen) => items.push(self.not()?),
                _ => break,
            }
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Node::And(items) })
    }

    fn not(&mut self) -> Result<Node> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(format!("the query nests more than {MAX_DEPTH} levels deep"));
        }
        let node = if self.peek() == Some(&Token::Not) {
            self.pos += 1;
            Node::Not(Box::new(self.not()?))
        } else {
            self.primary()?
        };
        self.depth -= 1;
        Ok(node)
    }

    fn primary(&mut self) -> Result<Node> {
        match self.tokens.get(self.pos).cloned() {
            Some(Token::LParen) => {
                self.pos += 1;
                let inner = self.or()?;
                if self.peek() != Some(&Token::RParen) {
                    return err("a closing parenthesis is missing");
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(Token::Term(node)) => {
                self.pos += 1;
                Ok(node)
            }
            Some(Token::RParen) => err("unexpected closing parenthesis"),
            Some(Token::And | Token::Or) => err("AND and OR need a term on each side"),
            Some(Token::Not) | None => err("the query ends where a term is expected"),
        }
    }
}

fn parse(q: &str) -> Result<Option<Node>> {
    if q.len() > MAX_QUERY_LEN {
        return err(format!("the query is longer than {MAX_QUERY_LEN} bytes"));
    }
    // `*` alone (sent by some clients for "everything") is no filter.
    if q.trim() == "*" {
        return Ok(None);
    }
    let tokens = Lexer::new(q).tokens()?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let terms = tokens.iter().filter(|t| matches!(t, Token::Term(_))).count();
    if terms > MAX_TERMS {
        return err(format!(
            "the query has {terms} terms, at most {MAX_TERMS} are allowed; combine values in one field query, e.g. total:[1 TO 10]"
        ));
    }
    let mut parser = Parser { tokens, pos: 0, depth: 0 };
    let node = parser.or()?;
    if parser.pos < parser.tokens.len() {
        return err("unexpected closing parenthesis");
    }
    Ok(Some(node))
}

/// A number parsed from user text: an integer, or a finite decimal written with digits, a
/// point and an exponent only (`inf`, `nan` and hexadecimal are not numbers).
pub fn number(text: &str) -> Option<Expr> {
    let t = text.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Some(build::int(i));
    }
    if !t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')) {
        return None;
    }
    let f = t.parse::<f64>().ok().filter(|f| f.is_finite())?;
    Some(build::decimal(f))
}

/// A date or datetime value as a `date'…'` literal; `/` separators become `-`.
fn date_literal(text: &str) -> Option<Expr> {
    let t = text.trim().replace('/', "-");
    let ok = t.starts_with(|c: char| c.is_ascii_digit())
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | ':' | 'T' | '+' | '.' | 'Z' | ' '));
    ok.then(|| build::date(&t))
}

/// A calendar day, for the periods of partial dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Day {
    year: u32,
    month: u32,
    day: u32,
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Day {
    fn new(year: u32, month: u32, day: u32) -> Option<Day> {
        ((1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day))
            .then_some(Day { year, month, day })
    }

    fn next_month(self) -> Day {
        match self.month {
            12 => Day { year: self.year + 1, month: 1, day: 1 },
            m => Day { year: self.year, month: m + 1, day: 1 },
        }
    }

    fn next_day(self) -> Day {
        if self.day < days_in_month(self.year, self.month) {
            Day { day: self.day + 1, ..self }
        } else {
            self.next_month()
        }
    }

    fn ymd(self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A partial date `YYYY`, `YYYY/MM`, `YYYY/MM/DD` (or with `-`): the period's first day and
/// the first day after it.
fn date_period(text: &str) -> Option<(Day, Day)> {
    let parts: Vec<&str> = text.trim().split(['/', '-']).collect();
    let num = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u32>().ok())?
    };
    match parts.as_slice() {
        [y] => {
            let y = num(y, 4)?;
            Some((Day::new(y, 1, 1)?, Day::new(y + 1, 1, 1)?))
        }
        [y, m] => {
            let start = Day::new(num(y, 4)?, num(m, 2)?, 1)?;
            Some((start, start.next_month()))
        }
        [y, m, d] => {
            let start = Day::new(num(y, 4)?, num(m, 2)?, num(d, 2)?)?;
            Some((start, start.next_day()))
        }
        _ => None,
    }
}

/// Named arguments of `#now(...)`: `name=±integer`, checked.
fn now_call(raw: &str) -> Result<Expr> {
    let mut args = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, value)) = part.split_once('=') else {
            return err(format!("invalid #now argument {part:?}: write name=number, e.g. days=-7"));
        };
        let name = name.trim();
        let value = value.trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphabetic()) {
            return err(format!("invalid #now argument name {name:?}"));
        }
        let Ok(n) = value.parse::<i64>() else {
            return err(format!("invalid #now argument {part:?}: the value must be an integer"));
        };
        args.push(build::named(&name.to_ascii_lowercase(), build::int(n)));
    }
    Ok(build::call_args("now", args))
}

/// `lat,lon` text → (lat, lon), checked.
pub fn lat_lon(text: &str) -> Option<(f64, f64)> {
    let (lat, lon) = text.split_once(',')?;
    let lat: f64 = lat.trim().parse().ok().filter(|v: &f64| (-90.0..=90.0).contains(v))?;
    let lon: f64 = lon.trim().parse().ok().filter(|v: &f64| (-180.0..=180.0).contains(v))?;
    Some((lat, lon))
}

/// Most points of a `#polygon` or `geofilter.polygon`.
pub const MAX_POLYGON_POINTS: usize = 10_000;

/// `(lat,lon),(lat,lon),…` → a closed WKT ring `lon lat, …`, with at least three points and
/// at most [`MAX_POLYGON_POINTS`].
pub fn polygon_ring(text: &str) -> Option<String> {
    let mut points = Vec::new();
    for chunk in text.split(')') {
        let chunk = chunk.trim().trim_start_matches(',').trim();
        if chunk.is_empty() {
            continue;
        }
        let inner = chunk.strip_prefix('(')?;
        points.push(lat_lon(inner)?);
        if points.len() > MAX_POLYGON_POINTS {
            return None;
        }
    }
    if points.len() < 3 {
        return None;
    }
    if points.first() != points.last() {
        points.push(points[0]);
    }
    Some(points.iter().map(|(lat, lon)| format!("{lon} {lat}")).collect::<Vec<_>>().join(", "))
}

/// A distance in meters (optionally suffixed `m`), positive and finite.
pub fn meters_value(text: &str) -> Option<f64> {
    let t = text.trim();
    let t = t.strip_suffix('m').unwrap_or(t);
    t.parse::<f64>().ok().filter(|m| m.is_finite() && *m >= 0.0)
}

/// The records whose `field` lies within `meters` of (lat, lon):
/// `within_distance(field, geom'POINT(lon lat)', meters m)`.
pub fn within_distance(field: &str, lat: f64, lon: f64, meters: f64) -> Expr {
    build::call(
        "within_distance",
        [
            build::field(field),
            build::geom(&format!("POINT({lon} {lat})")),
            build::distance(meters, DistanceUnit::M),
        ],
    )
}

/// The records whose `field` lies in the polygon of WKT ring `ring` (see [`polygon_ring`]).
pub fn polygon(field: &str, ring: &str) -> Expr {
    build::call("polygon", [build::field(field), build::geom(&format!("POLYGON(({ring}))"))])
}

/// The records whose `field` lies in the box of corners (lat1, lon1) and (lat2, lon2).
pub fn in_bbox(field: &str, corners: [f64; 4]) -> Expr {
    let mut args = vec![build::field(field)];
    args.extend(corners.map(build::decimal));
    build::call("in_bbox", args)
}

struct Translator<'f> {
    fields: &'f [FieldInfo<'f>],
}

/// A field, or `None` for `recordid` (every dataset has it).
type Known<'f> = Option<FieldInfo<'f>>;

impl<'f> Translator<'f> {
    fn field(&self, name: &str) -> Result<Known<'f>> {
        if name == "recordid" {
            return Ok(None);
        }
        match self.fields.iter().find(|f| f.name == name) {
            Some(f) => Ok(Some(*f)),
            None => err(format!("unknown field {name:?}")),
        }
    }

    /// The field of `#func` (a geo one).
    fn geo_field(&self, name: &str, func: &str) -> Result<FieldInfo<'f>> {
        let Some(f) = self.fields.iter().find(|f| f.name == name) else {
            return err(format!("unknown field {name:?} in #{func}"));
        };
        if f.kind != FieldKind::Geo {
            return err(format!("#{func} needs a geo field, and {name} is not one"));
        }
        Ok(*f)
    }

    fn node(&self, node: &Node) -> Result<Expr> {
        Ok(match node {
            Node::And(items) => self.chain(items, build::and)?,
            Node::Or(items) => self.chain(items, build::or)?,
            Node::Not(inner) => build::not(self.node(inner)?),
            Node::Words(text) => build::full_text(text),
            Node::Field { name, op, value } => self.field_query(name, *op, value)?,
            Node::Function { name, args } => self.function(name, args)?,
        })
    }

    fn chain(&self, items: &[Node], join: fn(Vec<Expr>) -> Option<Expr>) -> Result<Expr> {
        let items = items.iter().map(|n| self.node(n)).collect::<Result<Vec<_>>>()?;
        // The parser never builds an empty list.
        join(items).map_or_else(|| err("an empty group of terms"), Ok)
    }

    /// A literal of `field`'s type from user text.
    fn literal(&self, field: Known<'_>, name: &str, text: &str) -> Result<Expr> {
        let Some(field) = field else {
            // recordid: 40 hexadecimal digits, or nothing can match.
            return Ok(build::text(text));
        };
        match field.kind {
            FieldKind::Number => number(text).map_or_else(
                || err(format!("{name} is a number field, but {text:?} is not a number")),
                Ok,
            ),
            FieldKind::Boolean => match text.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(build::boolean(true)),
                "false" | "0" => Ok(build::boolean(false)),
                _ => err(format!("{name} is a boolean field; use true or false, not {text:?}")),
            },
            FieldKind::Date => date_literal(text).map_or_else(
                || err(format!("{name} is a date field, but {text:?} is not a date (YYYY/MM/DD or ISO 8601)")),
                Ok,
            ),
            FieldKind::Geo => err(format!(
                "{name} is a geo field; filter it with #distance or #polygon, or geofilter.distance / geofilter.polygon"
            )),
            FieldKind::Text => Ok(build::text(text)),
        }
    }

    fn field_query(&self, name: &str, op: Op, value: &Value) -> Result<Expr> {
        let field = self.field(name)?;
        let column = || build::field(name);
        let is_date = field.is_some_and(|f| f.kind == FieldKind::Date);
        match value {
            Value::Now(args) => {
                if !is_date {
                    return err(format!(
                        "#now() compares with a date field, and {name} is not one"
                    ));
                }
                Ok(build::cmp(op.odsql(), column(), now_call(args)?))
            }
            Value::Range { low, high, low_inclusive, high_inclusive } => {
                let mut parts = Vec::new();
                if let Some(low) = low {
                    let cmp = if *low_inclusive { BinaryOp::GtEq } else { BinaryOp::Gt };
                    parts.push(build::cmp(cmp, column(), self.literal(field, name, low)?));
                }
                if let Some(high) = high {
                    let cmp = if *high_inclusive { BinaryOp::LtEq } else { BinaryOp::Lt };
                    parts.push(build::cmp(cmp, column(), self.literal(field, name, high)?));
                }
                Ok(build::and(parts).unwrap_or_else(|| build::is_null(column(), true)))
            }
            Value::Text(text) => {
                if op == Op::Match {
                    if field.is_some_and(|f| f.kind == FieldKind::Text) {
                        return Ok(build::like(column(), build::text(text), false));
                    }
                    if is_date && let Some((start, end)) = date_period(text) {
                        return Ok(build::cmp(
                            BinaryOp::And,
                            build::cmp(BinaryOp::GtEq, column(), build::date(&start.ymd())),
                            build::cmp(BinaryOp::Lt, column(), build::date(&end.ymd())),
                        ));
                    }
                }
                Ok(build::cmp(op.odsql(), column(), self.literal(field, name, text)?))
            }
        }
    }

    fn function(&self, name: &str, args: &[FnArg]) -> Result<Expr> {
        let arity = |n: usize, usage: &str| {
            if args.len() == n {
                Ok(())
            } else {
                err(format!("#{name} takes {n} argument(s): {usage}"))
            }
        };
        let known_field = |arg: &FnArg| -> Result<Expr> {
            let n = arg.text().trim();
            self.field(n)?;
            Ok(build::field(n))
        };
        match name {
            "null" => {
                arity(1, "#null(field)")?;
                Ok(build::is_null(known_field(&args[0])?, false))
            }
            "exact" => {
                arity(2, "#exact(field, \"value\")")?;
                let field_name = args[0].text().trim();
                let field = self.field(field_name)?;
                Ok(build::eq(
                    build::field(field_name),
                    self.literal(field, field_name, args[1].text())?,
                ))
            }
            "startswith" => {
                arity(2, "#startswith(field, \"text\")")?;
                Ok(build::call("startswith", [known_field(&args[0])?, build::text(args[1].text())]))
            }
            "search" => {
                let Some((text, names)) = args.split_last() else {
                    return err("#search takes fields and a text: #search(field, \"text\")");
                };
                let mut call = Vec::new();
                for n in names {
                    if n.text().trim() != "*" {
                        call.push(known_field(n)?);
                    }
                }
                call.push(build::text(text.text()));
                Ok(build::call("search", call))
            }
            "distance" => {
                // #distance(field, "lat,lon", meters) or #distance(field, lat, lon, meters)
                let (field, point, meters) = match args {
                    [f, p, m] => (f, lat_lon(p.text()), m.text()),
                    [f, lat, lon, m] => {
                        (f, lat_lon(&format!("{},{}", lat.text(), lon.text())), m.text())
                    }
                    _ => {
                        return err(
                            "#distance takes a field, a point and a distance: #distance(field, \"48.58,7.75\", 500)",
                        );
                    }
                };
                let field = self.geo_field(field.text().trim(), "distance")?;
                let Some((lat, lon)) = point else {
                    return err(
                        "#distance needs a point \"lat,lon\" with -90 <= lat <= 90 and -180 <= lon <= 180",
                    );
                };
                let Some(meters) = meters_value(meters) else {
                    return err(format!("#distance needs a distance in meters, not {meters:?}"));
                };
                Ok(within_distance(field.name, lat, lon, meters))
            }
            "polygon" => {
                arity(2, "#polygon(field, \"(lat,lon),(lat,lon),(lat,lon)\")")?;
                let field = self.geo_field(args[0].text().trim(), "polygon")?;
                let Some(ring) = polygon_ring(args[1].text()) else {
                    return err(format!(
                        "#polygon needs from three to {MAX_POLYGON_POINTS} points \"(lat,lon),(lat,lon),(lat,lon)\""
                    ));
                };
                Ok(polygon(field.name, &ring))
            }
            "now" => {
                err("#now() is a value: compare a date field with it, e.g. date>=#now(days=-7)")
            }
            other => err(format!(
                "unknown function #{other}; the functions are #null, #exact, #search, #startswith, #distance, #polygon and #now"
            )),
        }
    }
}

/// Translates a v1 `q` into an ODSQL `where` tree over `fields`; `None` for an empty query
/// (blank, or `*`).
pub fn translate_expr(q: &str, fields: &[FieldInfo<'_>]) -> Result<Option<Expr>> {
    let Some(node) = parse(q)? else { return Ok(None) };
    Translator { fields }.node(&node).map(Some)
}

/// Translates a v1 `q` into ODSQL `where` text over `fields` (written by
/// [`crate::write::expr`]); `None` for an empty query.
pub fn translate(q: &str, fields: &[FieldInfo<'_>]) -> Result<Option<String>> {
    Ok(translate_expr(q, fields)?.map(|e| crate::write::expr(&e)))
}

/// Whether `q` parses and uses `#now(…)`, whatever the dataset's fields.
pub fn is_volatile(q: &str) -> bool {
    fn uses_now(node: &Node) -> bool {
        match node {
            Node::And(items) | Node::Or(items) => items.iter().any(uses_now),
            Node::Not(inner) => uses_now(inner),
            Node::Field { value: Value::Now(_), .. } => true,
            Node::Words(_) | Node::Field { .. } | Node::Function { .. } => false,
        }
    }
    parse(q).is_ok_and(|node| node.as_ref().is_some_and(uses_now))
}
