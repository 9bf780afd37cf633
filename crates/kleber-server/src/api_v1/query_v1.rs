//! The Search API v1 query language (`q=`), translated to ODSQL `where` text.
//!
//! v1 queries read like a search box: words (`velo`, `"gare centrale"`, `parking*`), field
//! queries (`etat:Ouvert`, `total>=100`, `date:2019/09`, `total:[100 TO 500]`, `nom==X`),
//! `AND`/`OR`/`NOT` with that precedence (`NOT` binds tightest), parentheses, `-word` for
//! `NOT word`, and `#` functions (`#null(f)`, `#exact(f,"v")`, `#search(f,"text")`,
//! `#startswith(f,"v")`, `#distance(f,"lat,lon",meters)`, `#polygon(f,"(lat,lon),…")`, and
//! `#now(days=-7)` as a value).
//!
//! The query is parsed here into `Node`s, checked against the dataset's fields, and written
//! out as ODSQL: every name is backticked, every string quoted and escaped, every number and
//! coordinate re-printed from its parsed value. The ODSQL text then goes through
//! `kleber-odsql` and `kleber-query` like any `where` clause, so user text never becomes SQL.
//!
//! Meanings, following the v1 documentation: a bare word is full-text search over the text
//! fields (accents and case folded, stemmed); `field:value` on a text field matches the words
//! of the value in that field (ODSQL `LIKE`), on a number or boolean it is equality, on a date
//! a partial date (`2019`, `2019/09`, `2019/09/27`) means that whole period; `field==value` is
//! exact equality.

use chrono::{Datelike, NaiveDate};
use kleber_types::{Field, FieldType};

/// A v1 query that cannot be translated; the message says why, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

type Result<T> = std::result::Result<T, QueryError>;

fn err<T>(message: impl Into<String>) -> Result<T> {
    Err(QueryError(message.into()))
}

/// Longest `q` accepted, in bytes.
pub const MAX_QUERY_LEN: usize = 4096;
/// Deepest nesting of parentheses and `NOT`s accepted.
const MAX_DEPTH: usize = 64;

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
    fn odsql(self) -> &'static str {
        match self {
            Op::Match | Op::Exact => "=",
            Op::Gt => ">",
            Op::GtEq => ">=",
            Op::Lt => "<",
            Op::LtEq => "<=",
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
        args: Vec<Arg>,
    },
}

/// An argument of a `#function(...)`.
#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Quoted(String),
    Bare(String),
}

impl Arg {
    fn text(&self) -> &str {
        match self {
            Arg::Quoted(s) | Arg::Bare(s) => s,
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
fn split_args(raw: &str) -> Result<Vec<Arg>> {
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
                    Some(q) => Arg::Quoted(q),
                    None => Arg::Bare(current.trim().to_owned()),
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
        Some(q) => args.push(Arg::Quoted(q)),
        None if !current.trim().is_empty() || !args.is_empty() => {
            args.push(Arg::Bare(current.trim().to_owned()))
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
    let mut parser = Parser { tokens, pos: 0, depth: 0 };
    let node = parser.or()?;
    if parser.pos < parser.tokens.len() {
        return err("unexpected closing parenthesis");
    }
    Ok(Some(node))
}

/// An ODSQL string literal holding `text`.
pub fn odsql_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An ODSQL backticked name.
pub fn odsql_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('`');
    for c in name.chars() {
        if c == '`' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('`');
    out
}

/// A finite number parsed from user text, printed back as ODSQL.
pub fn odsql_number(text: &str) -> Option<String> {
    let t = text.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Some(i.to_string());
    }
    let f = t.parse::<f64>().ok().filter(|f| f.is_finite())?;
    // `parse` accepts `inf`, `nan` and exponents; only plain decimals are numbers here.
    if !t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')) {
        return None;
    }
    Some(f.to_string())
}

/// A date or datetime value as an ODSQL `date'…'` literal; `/` separators become `-`.
fn odsql_date(text: &str) -> Option<String> {
    let t = text.trim().replace('/', "-");
    let ok = !t.is_empty()
        && t.starts_with(|c: char| c.is_ascii_digit())
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | ':' | 'T' | '+' | '.' | 'Z' | ' '));
    ok.then(|| format!("date'{t}'"))
}

/// A partial date `YYYY`, `YYYY/MM`, `YYYY/MM/DD` (or with `-`): the period's first day and
/// the first day after it.
fn date_period(text: &str) -> Option<(NaiveDate, NaiveDate)> {
    let parts: Vec<&str> = text.trim().split(['/', '-']).collect();
    let num = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u32>().ok())?
    };
    match parts.as_slice() {
        [y] => {
            let y = num(y, 4)? as i32;
            Some((NaiveDate::from_ymd_opt(y, 1, 1)?, NaiveDate::from_ymd_opt(y + 1, 1, 1)?))
        }
        [y, m] => {
            let (y, m) = (num(y, 4)? as i32, num(m, 2)?);
            let start = NaiveDate::from_ymd_opt(y, m, 1)?;
            let end = if m == 12 {
                NaiveDate::from_ymd_opt(y + 1, 1, 1)?
            } else {
                NaiveDate::from_ymd_opt(y, m + 1, 1)?
            };
            Some((start, end))
        }
        [y, m, d] => {
            let start = NaiveDate::from_ymd_opt(num(y, 4)? as i32, num(m, 2)?, num(d, 2)?)?;
            Some((start, start.succ_opt()?))
        }
        _ => None,
    }
}

fn ymd(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// Named arguments of `#now(...)`: `name=±integer`, checked.
fn now_call(raw: &str) -> Result<String> {
    let mut out = Vec::new();
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
        out.push(format!("{}={n}", name.to_ascii_lowercase()));
    }
    Ok(format!("now({})", out.join(", ")))
}

/// `lat,lon` text → (lat, lon), checked.
fn lat_lon(text: &str) -> Option<(f64, f64)> {
    let (lat, lon) = text.split_once(',')?;
    let lat: f64 = lat.trim().parse().ok().filter(|v: &f64| (-90.0..=90.0).contains(v))?;
    let lon: f64 = lon.trim().parse().ok().filter(|v: &f64| (-180.0..=180.0).contains(v))?;
    Some((lat, lon))
}

/// `(lat,lon),(lat,lon),…` → a closed WKT ring `lon lat, …`.
pub fn polygon_ring(text: &str) -> Option<String> {
    let mut points = Vec::new();
    for chunk in text.split(')') {
        let chunk = chunk.trim().trim_start_matches(',').trim();
        if chunk.is_empty() {
            continue;
        }
        let inner = chunk.strip_prefix('(')?;
        points.push(lat_lon(inner)?);
    }
    if points.len() < 3 || points.len() > 10_000 {
        return None;
    }
    if points.first() != points.last() {
        points.push(points[0]);
    }
    Some(points.iter().map(|(lat, lon)| format!("{lon} {lat}")).collect::<Vec<_>>().join(", "))
}

/// A geo field of the dataset: the one named, which must be geo.
fn geo_field<'f>(fields: &'f [Field], name: &str, func: &str) -> Result<&'f Field> {
    let Some(f) = fields.iter().find(|f| f.name == name) else {
        return err(format!("unknown field {name:?} in #{func}"));
    };
    if !matches!(f.field_type, FieldType::GeoPoint2d | FieldType::GeoShape) {
        return err(format!("#{func} needs a geo field, and {name} is not one"));
    }
    Ok(f)
}

struct Translator<'f> {
    fields: &'f [Field],
}

impl Translator<'_> {
    fn field(&self, name: &str) -> Result<Option<&Field>> {
        if name == "recordid" {
            return Ok(None);
        }
        match self.fields.iter().find(|f| f.name == name) {
            Some(f) => Ok(Some(f)),
            None => err(format!("unknown field {name:?}")),
        }
    }

    fn node(&self, node: &Node) -> Result<String> {
        Ok(match node {
            Node::And(items) => self.join(items, " AND ")?,
            Node::Or(items) => self.join(items, " OR ")?,
            Node::Not(inner) => format!("NOT ({})", self.node(inner)?),
            Node::Words(text) => odsql_string(text),
            Node::Field { name, op, value } => self.field_query(name, *op, value)?,
            Node::Function { name, args } => self.function(name, args)?,
        })
    }

    fn join(&self, items: &[Node], sep: &str) -> Result<String> {
        let parts =
            items.iter().map(|n| Ok(format!("({})", self.node(n)?))).collect::<Result<Vec<_>>>()?;
        Ok(parts.join(sep))
    }

    /// A literal of `field`'s type from user text.
    fn literal(&self, field: Option<&Field>, name: &str, text: &str) -> Result<String> {
        let Some(field) = field else {
            // recordid: 40 hexadecimal digits, or nothing can match.
            return Ok(odsql_string(text));
        };
        match field.field_type {
            FieldType::Int | FieldType::Double => odsql_number(text).map_or_else(
                || err(format!("{name} is a number field, but {text:?} is not a number")),
                Ok,
            ),
            FieldType::Boolean => match text.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok("true".into()),
                "false" | "0" => Ok("false".into()),
                _ => err(format!("{name} is a boolean field; use true or false, not {text:?}")),
            },
            FieldType::Date | FieldType::Datetime => odsql_date(text).map_or_else(
                || err(format!("{name} is a date field, but {text:?} is not a date (YYYY/MM/DD or ISO 8601)")),
                Ok,
            ),
            FieldType::GeoPoint2d | FieldType::GeoShape => err(format!(
                "{name} is a geo field; filter it with #distance or #polygon, or geofilter.distance / geofilter.polygon"
            )),
            _ => Ok(odsql_string(text)),
        }
    }

    fn field_query(&self, name: &str, op: Op, value: &Value) -> Result<String> {
        let field = self.field(name)?;
        let column = odsql_name(name);
        match value {
            Value::Now(args) => {
                if !field
                    .is_some_and(|f| matches!(f.field_type, FieldType::Date | FieldType::Datetime))
                {
                    return err(format!(
                        "#now() compares with a date field, and {name} is not one"
                    ));
                }
                Ok(format!("{column} {} {}", op.odsql(), now_call(args)?))
            }
            Value::Range { low, high, low_inclusive, high_inclusive } => {
                let mut parts = Vec::new();
                if let Some(low) = low {
                    let cmp = if *low_inclusive { ">=" } else { ">" };
                    parts.push(format!("{column} {cmp} {}", self.literal(field, name, low)?));
                }
                if let Some(high) = high {
                    let cmp = if *high_inclusive { "<=" } else { "<" };
                    parts.push(format!("{column} {cmp} {}", self.literal(field, name, high)?));
                }
                if parts.is_empty() {
                    return Ok(format!("{column} IS NOT NULL"));
                }
                Ok(parts.join(" AND "))
            }
            Value::Text(text) => {
                let is_date = field
                    .is_some_and(|f| matches!(f.field_type, FieldType::Date | FieldType::Datetime));
                if op == Op::Match {
                    if field.is_some_and(|f| f.field_type == FieldType::Text) {
                        return Ok(format!("{column} LIKE {}", odsql_string(text)));
                    }
                    if is_date && let Some((start, end)) = date_period(text) {
                        return Ok(format!(
                            "{column} >= date'{}' AND {column} < date'{}'",
                            ymd(start),
                            ymd(end)
                        ));
                    }
                }
                Ok(format!("{column} {} {}", op.odsql(), self.literal(field, name, text)?))
            }
        }
    }

    fn function(&self, name: &str, args: &[Arg]) -> Result<String> {
        let arity = |n: usize, usage: &str| {
            if args.len() == n {
                Ok(())
            } else {
                err(format!("#{name} takes {n} argument(s): {usage}"))
            }
        };
        let known_field = |arg: &Arg| -> Result<String> {
            let n = arg.text().trim();
            self.field(n)?;
            Ok(odsql_name(n))
        };
        match name {
            "null" => {
                arity(1, "#null(field)")?;
                Ok(format!("{} IS NULL", known_field(&args[0])?))
            }
            "exact" => {
                arity(2, "#exact(field, \"value\")")?;
                let field_name = args[0].text().trim();
                let field = self.field(field_name)?;
                Ok(format!(
                    "{} = {}",
                    odsql_name(field_name),
                    self.literal(field, field_name, args[1].text())?
                ))
            }
            "startswith" => {
                arity(2, "#startswith(field, \"text\")")?;
                Ok(format!(
                    "startswith({}, {})",
                    known_field(&args[0])?,
                    odsql_string(args[1].text())
                ))
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
                call.push(odsql_string(text.text()));
                Ok(format!("search({})", call.join(", ")))
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
                let field = geo_field(self.fields, field.text().trim(), "distance")?;
                let Some((lat, lon)) = point else {
                    return err(
                        "#distance needs a point \"lat,lon\" with -90 <= lat <= 90 and -180 <= lon <= 180",
                    );
                };
                let Some(meters) = meters_value(meters) else {
                    return err(format!("#distance needs a distance in meters, not {meters:?}"));
                };
                Ok(within_distance(&field.name, lat, lon, meters))
            }
            "polygon" => {
                arity(2, "#polygon(field, \"(lat,lon),(lat,lon),(lat,lon)\")")?;
                let field = geo_field(self.fields, args[0].text().trim(), "polygon")?;
                let Some(ring) = polygon_ring(args[1].text()) else {
                    return err(
                        "#polygon needs at least three points \"(lat,lon),(lat,lon),(lat,lon)\"",
                    );
                };
                Ok(polygon(&field.name, &ring))
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

/// A distance in meters (optionally suffixed `m`), positive and finite.
pub fn meters_value(text: &str) -> Option<f64> {
    let t = text.trim();
    let t = t.strip_suffix('m').unwrap_or(t);
    t.parse::<f64>().ok().filter(|m| m.is_finite() && *m >= 0.0)
}

/// ODSQL: the records whose `field` lies within `meters` of (lat, lon).
pub fn within_distance(field: &str, lat: f64, lon: f64, meters: f64) -> String {
    format!("within_distance({}, geom'POINT({lon} {lat})', {meters}m)", odsql_name(field))
}

/// ODSQL: the records whose `field` lies in the polygon of WKT ring `ring`.
pub fn polygon(field: &str, ring: &str) -> String {
    format!("polygon({}, geom'POLYGON(({ring}))')", odsql_name(field))
}

/// Translates a v1 `q` into an ODSQL `where` over `fields`; `None` for an empty query.
pub fn translate(q: &str, fields: &[Field]) -> std::result::Result<Option<String>, QueryError> {
    let Some(node) = parse(q)? else { return Ok(None) };
    Translator { fields }.node(&node).map(Some)
}

/// The `qv1` parameter of Explore v2.1 (a v1 query, sent by Opendatasoft's widgets) as one
/// more ODSQL `where`.
pub fn qv1_where(
    params: &crate::api::params::Params,
    fields: &[Field],
) -> std::result::Result<Option<String>, crate::ApiError> {
    let Some(q) = params.get("qv1") else { return Ok(None) };
    translate(q, fields).map_err(|e| {
        crate::ApiError::bad_param(format!("Invalid value for qv1 API parameter: {}.", e.0))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<Field> {
        let f = |name: &str, t| Field::new(name, name, t);
        vec![
            f("nom", FieldType::Text),
            f("total", FieldType::Int),
            f("taux", FieldType::Double),
            f("ouvert", FieldType::Boolean),
            f("jour", FieldType::Date),
            f("maj", FieldType::Datetime),
            f("position", FieldType::GeoPoint2d),
        ]
    }

    fn t(q: &str) -> String {
        translate(q, &fields()).unwrap().unwrap()
    }

    fn e(q: &str) -> String {
        translate(q, &fields()).unwrap_err().0
    }

    #[test]
    fn words_and_booleans() {
        assert_eq!(t("gare"), "\"gare\"");
        assert_eq!(t("gare centrale"), "(\"gare\") AND (\"centrale\")");
        assert_eq!(t("\"gare centrale\""), "\"gare centrale\"");
        assert_eq!(t("a OR b AND NOT c"), "(\"a\") OR ((\"b\") AND (NOT (\"c\")))");
        assert_eq!(t("(a OR b) c"), "((\"a\") OR (\"b\")) AND (\"c\")");
        assert_eq!(t("-velo"), "NOT (\"velo\")");
        assert_eq!(t("park*"), "\"park*\"");
        assert_eq!(translate("   ", &fields()).unwrap(), None);
        assert_eq!(translate(" * ", &fields()).unwrap(), None);
        assert_eq!(t("\"\" gare"), "\"gare\"");
    }

    #[test]
    fn field_queries_follow_types() {
        assert_eq!(t("nom:Gare"), "`nom` LIKE \"Gare\"");
        assert_eq!(t("nom==\"Gare \\\"X\\\"\""), "`nom` = \"Gare \\\"X\\\"\"");
        assert_eq!(t("total>=100"), "`total` >= 100");
        assert_eq!(t("taux<0.5"), "`taux` < 0.5");
        assert_eq!(t("ouvert:true"), "`ouvert` = true");
        assert_eq!(t("jour:2019/09"), "`jour` >= date'2019-09-01' AND `jour` < date'2019-10-01'");
        assert_eq!(
            t("jour:2019/12/31"),
            "`jour` >= date'2019-12-31' AND `jour` < date'2020-01-01'"
        );
        assert_eq!(t("maj>=2013/02/11"), "`maj` >= date'2013-02-11'");
        assert_eq!(t("total:[10 TO 20]"), "`total` >= 10 AND `total` <= 20");
        assert_eq!(t("total:{10 TO *]"), "`total` > 10");
        assert_eq!(t("maj>=#now(days=-7)"), "`maj` >= now(days=-7)");
        assert_eq!(t("recordid:abc"), "`recordid` = \"abc\"");
    }

    #[test]
    fn functions() {
        assert_eq!(t("#null(nom)"), "`nom` IS NULL");
        assert_eq!(t("#exact(nom, \"A, B\")"), "`nom` = \"A, B\"");
        assert_eq!(t("#startswith(nom,\"Ga\")"), "startswith(`nom`, \"Ga\")");
        assert_eq!(t("#search(nom,\"gar\")"), "search(`nom`, \"gar\")");
        assert_eq!(
            t("#distance(position,\"48.58,7.75\",500)"),
            "within_distance(`position`, geom'POINT(7.75 48.58)', 500m)"
        );
        assert_eq!(
            t("#polygon(position,\"(48,7),(49,7),(49,8)\")"),
            "polygon(`position`, geom'POLYGON((7 48, 7 49, 8 49, 7 48))')"
        );
    }

    #[test]
    fn user_text_cannot_escape_its_literal() {
        assert_eq!(t("\"a\\\" OR 1=1 --\""), "\"a\\\" OR 1=1 --\"");
        assert_eq!(t("nom:\"x\\\\\""), "`nom` LIKE \"x\\\\\"");
        assert!(e("total:1;DROP").contains("not a number"));
        assert!(e("maj:2019'").contains("not a date"));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(e("inconnu:1").contains("unknown field \"inconnu\""));
        assert!(e("(a OR b").contains("closing parenthesis"));
        assert!(e("a)").contains("closing parenthesis"));
        assert!(e("a OR").contains("term"));
        assert!(e("\"open").contains("unterminated"));
        assert!(e("#nope(x)").contains("unknown function"));
        assert!(e("position:1").contains("geo field"));
        assert!(e("total:[1 2]").contains("invalid range"));
        assert!(e(&"(".repeat(100)).contains("levels"));
        assert!(e(&"a ".repeat(3000)).contains("longer"));
    }
}
