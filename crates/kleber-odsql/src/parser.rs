//! The parser: tokens to AST, by recursive descent with one function per precedence level.
//!
//! Two budgets keep it from exhausting the stack on hostile input: `depth` counts the nested
//! constructs the parser recurses into (parentheses, calls, `NOT`, unary signs) and is capped by
//! [`MAX_DEPTH`]; every node records its height, capped by [`MAX_HEIGHT`], because long
//! left-associative chains (`1+1+1+…`) are parsed by loops but still produce deep trees that
//! later recursive code (drop, `Debug`, the planner) would have to walk.
//!
//! Error messages list what would have been accepted: each check of an optional continuation
//! (`AND`, `,`, `)`, …) records what it looked for, the record is cleared whenever a token is
//! consumed, and an error at the current token lists the record.

use crate::ast::{BinaryOp, DistanceUnit, Expr, ExprKind, Literal, Span, UnaryOp};
use crate::error::{ParseError, Result, char_position};
use crate::lexer::{Number, Punct, Token, TokenKind, tokenize};
use crate::{MAX_DEPTH, MAX_HEIGHT, MAX_LEN};

mod calls;
mod clauses;

use calls::time_unit;

/// Words that are never field names unless backticked. Function names that the documentation
/// also lists as reserved (`year`, `count`, `search`, …) are only names of calls when a `(`
/// follows them, and plain field names otherwise.
const RESERVED: [&str; 15] = [
    "and", "as", "asc", "by", "desc", "distinct", "false", "group", "limit", "not", "null", "or",
    "select", "true", "where",
];

fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

/// The keywords the parser looks for.
#[derive(Debug, Clone, Copy)]
enum Kw {
    And,
    Or,
    Not,
    In,
    Like,
    Is,
    Null,
    True,
    False,
    As,
    Asc,
    Desc,
    Distinct,
    To,
}

impl Kw {
    fn word(self) -> &'static str {
        match self {
            Kw::And => "and",
            Kw::Or => "or",
            Kw::Not => "not",
            Kw::In => "in",
            Kw::Like => "like",
            Kw::Is => "is",
            Kw::Null => "null",
            Kw::True => "true",
            Kw::False => "false",
            Kw::As => "as",
            Kw::Asc => "asc",
            Kw::Desc => "desc",
            Kw::Distinct => "distinct",
            Kw::To => "to",
        }
    }

    /// As listed in "expected …" messages.
    fn display(self) -> &'static str {
        match self {
            Kw::And => "\"AND\"",
            Kw::Or => "\"OR\"",
            Kw::Not => "\"NOT\"",
            Kw::In => "\"IN\"",
            Kw::Like => "\"LIKE\"",
            Kw::Is => "\"IS\"",
            Kw::Null => "\"NULL\"",
            Kw::True => "\"TRUE\"",
            Kw::False => "\"FALSE\"",
            Kw::As => "\"AS\"",
            Kw::Asc => "\"ASC\"",
            Kw::Desc => "\"DESC\"",
            Kw::Distinct => "\"DISTINCT\"",
            Kw::To => "\"TO\"",
        }
    }
}

fn number_literal(n: Number) -> Literal {
    match n {
        Number::Int(i) => Literal::Integer(i),
        Number::Dec(d) => Literal::Decimal(d),
    }
}

fn binary(op: BinaryOp, left: Expr, right: Expr) -> ExprKind {
    ExprKind::Binary { op, left: Box::new(left), right: Box::new(right) }
}

/// An expression and the height of its tree (1 for a leaf).
type Node = (Expr, usize);

/// Turns the string literals standing where a condition is expected into full-text searches:
/// the whole clause, and operands of `AND`, `OR` and `NOT` (parentheses leave no node, so
/// `("a")` is covered too). Recursion is bounded by [`MAX_HEIGHT`].
fn full_text(mut expr: Expr) -> Expr {
    expr.kind = match expr.kind {
        ExprKind::Binary { op: op @ (BinaryOp::And | BinaryOp::Or), left, right } => {
            binary(op, full_text(*left), full_text(*right))
        }
        ExprKind::Unary { op: UnaryOp::Not, expr: inner } => {
            ExprKind::Unary { op: UnaryOp::Not, expr: Box::new(full_text(*inner)) }
        }
        ExprKind::Literal(Literal::String(text)) => ExprKind::FullText(text),
        other => other,
    };
    expr
}

pub(crate) struct Parser<'s> {
    src: &'s str,
    /// Never empty: the lexer always ends it with an `Eof` token.
    tokens: Vec<Token>,
    /// Index of the current token; never moves past the `Eof` token.
    pos: usize,
    /// How many nested constructs are being parsed.
    depth: usize,
    /// What the parser looked for at the current token and did not find.
    expected: Vec<&'static str>,
}

impl<'s> Parser<'s> {
    pub(crate) fn new(src: &'s str) -> Result<Self> {
        if src.len() > MAX_LEN {
            let mut start = MAX_LEN;
            while !src.is_char_boundary(start) {
                start -= 1;
            }
            return Err(ParseError::new(
                format!("query too long: {} bytes, at most {MAX_LEN} are allowed", src.len()),
                Span::new(start, src.len()),
                vec![],
            ));
        }
        let tokens = tokenize(src)?;
        if tokens.len() <= 1 {
            return Err(ParseError::new(
                "empty expression".to_owned(),
                Span::new(0, src.len()),
                vec!["an expression".to_owned()],
            ));
        }
        Ok(Parser { src, tokens, pos: 0, depth: 0, expected: Vec::new() })
    }

    // ----- entry points -----

    pub(crate) fn where_clause(mut self) -> Result<Expr> {
        let (expr, _) = self.or()?;
        self.expect_eof()?;
        Ok(full_text(expr))
    }

    pub(crate) fn expression(mut self) -> Result<Expr> {
        let (expr, _) = self.or()?;
        self.expect_eof()?;
        Ok(expr)
    }

    // ----- token access -----

    fn nth(&self, n: usize) -> &Token {
        // In bounds: `tokens` is never empty (it ends with `Eof`).
        let last = self.tokens.len() - 1;
        &self.tokens[(self.pos + n).min(last)]
    }

    fn tok(&self) -> &Token {
        self.nth(0)
    }

    fn start(&self) -> usize {
        self.tok().span.start
    }

    /// The end of the last consumed token.
    fn prev_end(&self) -> usize {
        match self.pos.checked_sub(1) {
            Some(prev) => self.tokens[prev].span.end,
            None => 0,
        }
    }

    fn bump(&mut self) -> Token {
        let tok = self.tok().clone();
        if tok.kind != TokenKind::Eof {
            self.pos += 1;
        }
        self.expected.clear();
        tok
    }

    fn text(&self, span: Span) -> &'s str {
        self.src.get(span.range()).unwrap_or("")
    }

    fn is_kw(&self, tok: &Token, kw: Kw) -> bool {
        tok.kind == TokenKind::Word && self.text(tok.span).eq_ignore_ascii_case(kw.word())
    }

    /// Whether the current token is `kw`, without recording it as expected.
    fn peek_kw(&self, kw: Kw) -> bool {
        self.is_kw(self.tok(), kw)
    }

    fn nth_kw(&self, n: usize, kw: Kw) -> bool {
        self.is_kw(self.nth(n), kw)
    }

    fn nth_is(&self, n: usize, punct: Punct) -> bool {
        self.nth(n).kind == TokenKind::Punct(punct)
    }

    /// Whether the current token is `kw`, recording it as expected if not.
    fn at_kw(&mut self, kw: Kw) -> bool {
        let found = self.peek_kw(kw);
        if !found {
            self.expected.push(kw.display());
        }
        found
    }

    fn eat_kw(&mut self, kw: Kw) -> bool {
        let found = self.at_kw(kw);
        if found {
            self.bump();
        }
        found
    }

    /// Whether the current token is `punct`, recording it as expected if not.
    fn at(&mut self, punct: Punct) -> bool {
        let found = self.nth_is(0, punct);
        if !found {
            self.expected.push(punct.display());
        }
        found
    }

    fn eat(&mut self, punct: Punct) -> bool {
        let found = self.at(punct);
        if found {
            self.bump();
        }
        found
    }

    fn expect(&mut self, punct: Punct) -> Result<()> {
        if self.eat(punct) { Ok(()) } else { Err(self.unexpected()) }
    }

    fn expect_eof(&mut self) -> Result<()> {
        if self.tok().kind == TokenKind::Eof {
            return Ok(());
        }
        self.expected.push("end of input");
        Err(self.unexpected())
    }

    // ----- errors and budgets -----

    /// The current token as shown in messages: its source text, quoted unless it is a quoted
    /// literal already, and cut if long.
    fn describe(&self, tok: &Token) -> String {
        let text = self.text(tok.span);
        let short: String = if text.chars().count() > 40 {
            text.chars().take(40).chain(['…']).collect()
        } else {
            text.to_owned()
        };
        match tok.kind {
            TokenKind::Eof => "end of input".to_owned(),
            TokenKind::Str(_) | TokenKind::Date(_) | TokenKind::Geom(_) => short,
            _ => format!("\"{short}\""),
        }
    }

    fn position(&self, byte: usize) -> usize {
        char_position(self.src, byte)
    }

    /// "expected … but found …" at the current token, from what was recorded as expected.
    fn unexpected(&self) -> ParseError {
        let tok = self.tok();
        let mut expected: Vec<String> = Vec::new();
        for want in &self.expected {
            if !expected.iter().any(|e| e == want) {
                expected.push((*want).to_owned());
            }
        }
        let found = self.describe(tok);
        let at = self.position(tok.span.start);
        let message = match expected.as_slice() {
            [] => format!("unexpected {found} at position {at}"),
            [one] => format!("expected {one} but found {found} at position {at}"),
            many => {
                format!("expected one of {} but found {found} at position {at}", many.join(", "))
            }
        };
        ParseError::new(message, tok.span, expected)
    }

    /// The current token is a reserved word where `what` (an expression, an alias) was needed.
    fn reserved_word(&mut self, what: &'static str, hint: bool) -> ParseError {
        self.expected.push(what);
        let mut err = self.unexpected();
        if hint {
            let word = self.text(self.tok().span).to_ascii_lowercase();
            err.message.push_str(&format!(
                "; \"{word}\" is a reserved word, write `{word}` in backticks to use it as a name"
            ));
        }
        err
    }

    /// Runs `f` one nesting level deeper, or fails if that is too deep.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.depth >= MAX_DEPTH {
            let tok = self.tok();
            return Err(ParseError::new(
                format!(
                    "expression nested too deeply at position {}: at most {MAX_DEPTH} levels of parentheses, function calls, NOT and signs are allowed",
                    self.position(tok.span.start)
                ),
                tok.span,
                vec![],
            ));
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    /// A node spanning from `start` to the last consumed token, if its height is allowed.
    fn node(&self, kind: ExprKind, start: usize, height: usize) -> Result<Node> {
        let span = Span::new(start, self.prev_end());
        if height > MAX_HEIGHT {
            return Err(ParseError::new(
                format!(
                    "expression too complex at position {}: more than {MAX_HEIGHT} nested operations; use IN (…) rather than long chains of OR",
                    self.position(start)
                ),
                span,
                vec![],
            ));
        }
        Ok((Expr { kind, span }, height))
    }

    // ----- boolean levels -----

    fn or(&mut self) -> Result<Node> {
        let start = self.start();
        let (mut left, mut height) = self.and()?;
        while self.at_kw(Kw::Or) {
            self.bump();
            let (right, h) = self.and()?;
            (left, height) =
                self.node(binary(BinaryOp::Or, left, right), start, 1 + height.max(h))?;
        }
        Ok((left, height))
    }

    fn and(&mut self) -> Result<Node> {
        let start = self.start();
        let (mut left, mut height) = self.not()?;
        while self.at_kw(Kw::And) {
            self.bump();
            let (right, h) = self.not()?;
            (left, height) =
                self.node(binary(BinaryOp::And, left, right), start, 1 + height.max(h))?;
        }
        Ok((left, height))
    }

    fn not(&mut self) -> Result<Node> {
        if !self.peek_kw(Kw::Not) {
            return self.predicate();
        }
        let start = self.start();
        let (expr, height) = self.nested(|p| {
            p.bump();
            p.not()
        })?;
        self.node(ExprKind::Unary { op: UnaryOp::Not, expr: Box::new(expr) }, start, height + 1)
    }

    fn comparison_op(&self) -> Option<BinaryOp> {
        match self.tok().kind {
            TokenKind::Punct(Punct::Eq) => Some(BinaryOp::Eq),
            TokenKind::Punct(Punct::NotEq) => Some(BinaryOp::NotEq),
            TokenKind::Punct(Punct::Lt) => Some(BinaryOp::Lt),
            TokenKind::Punct(Punct::LtEq) => Some(BinaryOp::LtEq),
            TokenKind::Punct(Punct::Gt) => Some(BinaryOp::Gt),
            TokenKind::Punct(Punct::GtEq) => Some(BinaryOp::GtEq),
            TokenKind::Punct(Punct::Colon) => Some(BinaryOp::Colon),
            _ => None,
        }
    }

    /// Whether the current token starts a comparison or predicate (`=`, `LIKE`, `NOT IN`, …).
    fn at_predicate_op(&self) -> bool {
        self.comparison_op().is_some()
            || self.peek_kw(Kw::Like)
            || self.peek_kw(Kw::Is)
            || self.peek_kw(Kw::In)
            || (self.peek_kw(Kw::Not) && (self.nth_kw(1, Kw::Like) || self.nth_kw(1, Kw::In)))
    }

    /// A value, optionally compared or tested: `a`, `a = 1`, `a LIKE "x"`, `a IS NULL`,
    /// `a NOT IN (1, 2)`, `a IN [1..2]`. Comparisons do not chain.
    fn predicate(&mut self) -> Result<Node> {
        let start = self.start();
        let (left, lh) = self.additive()?;
        if !self.at_predicate_op() {
            return Ok((left, lh));
        }
        let (kind, height) = if let Some(op) = self.comparison_op() {
            let op_tok = self.bump();
            let tok = self.tok();
            if op == BinaryOp::Eq
                && tok.kind == TokenKind::Punct(Punct::Eq)
                && tok.span.start == op_tok.span.end
            {
                return Err(ParseError::new(
                    format!(
                        "unexpected \"==\" at position {}: compare with a single \"=\"",
                        self.position(op_tok.span.start)
                    ),
                    op_tok.span.to(tok.span),
                    vec![Punct::Eq.display().to_owned()],
                ));
            }
            let (right, rh) = self.additive()?;
            (binary(op, left, right), 1 + lh.max(rh))
        } else {
            let negated = self.peek_kw(Kw::Not);
            if negated {
                self.bump();
            }
            if self.peek_kw(Kw::Like) {
                self.bump();
                let (pattern, ph) = self.additive()?;
                let kind =
                    ExprKind::Like { expr: Box::new(left), pattern: Box::new(pattern), negated };
                (kind, 1 + lh.max(ph))
            } else if self.peek_kw(Kw::Is) {
                self.bump();
                self.is_tail(left, lh)?
            } else {
                self.bump(); // IN
                self.in_tail(start, left, lh, negated)?
            }
        };
        let node = self.node(kind, start, height)?;
        if self.at_predicate_op() {
            let tok = self.tok();
            return Err(ParseError::new(
                format!(
                    "unexpected {} at position {}: comparisons cannot be chained, combine them with AND or OR",
                    self.describe(tok),
                    self.position(tok.span.start)
                ),
                tok.span,
                vec![Kw::And.display().to_owned(), Kw::Or.display().to_owned()],
            ));
        }
        Ok(node)
    }

    /// After `IS`: `[NOT] NULL | TRUE | FALSE`.
    fn is_tail(&mut self, expr: Expr, height: usize) -> Result<(ExprKind, usize)> {
        let expr = Box::new(expr);
        let negated = self.eat_kw(Kw::Not);
        let kind = if self.eat_kw(Kw::Null) {
            ExprKind::IsNull { expr, negated }
        } else if self.eat_kw(Kw::True) {
            ExprKind::IsBool { expr, value: true, negated }
        } else if self.eat_kw(Kw::False) {
            ExprKind::IsBool { expr, value: false, negated }
        } else {
            return Err(self.unexpected());
        };
        Ok((kind, height + 1))
    }

    /// After `IN`: a list `(a, b)` or a range `[a..b]`, `]a TO b[`, ….
    fn in_tail(
        &mut self,
        start: usize,
        expr: Expr,
        height: usize,
        negated: bool,
    ) -> Result<(ExprKind, usize)> {
        let expr = Box::new(expr);
        if self.nth_is(0, Punct::LParen) {
            let (list, lh) = self.nested(|p| {
                p.bump();
                let mut list = Vec::new();
                let mut height = 0;
                loop {
                    let (item, h) = p.additive()?;
                    list.push(item);
                    height = height.max(h);
                    if p.eat(Punct::RParen) {
                        return Ok((list, height));
                    }
                    if !p.eat(Punct::Comma) {
                        return Err(p.unexpected());
                    }
                }
            })?;
            return Ok((ExprKind::InList { expr, list, negated }, 1 + height.max(lh)));
        }
        // `<literal> IN <field>`: the literal is one of a multivalued field's values, which is
        // what `<field> = <literal>` means; it is read as that comparison.
        if matches!(expr.kind, ExprKind::Literal(_))
            && !self.nth_is(0, Punct::LBracket)
            && !self.nth_is(0, Punct::RBracket)
        {
            let field_start = self.start();
            let (field, fh) = self.additive()?;
            if !matches!(field.kind, ExprKind::Field(_)) {
                return Err(ParseError::new(
                    format!(
                        "expected a field name after IN at position {}, as in \"Paris\" IN multivalued_field",
                        self.position(field_start)
                    ),
                    field.span,
                    vec![],
                ));
            }
            let kind = ExprKind::Binary { op: BinaryOp::Eq, left: Box::new(field), right: expr };
            let height = 1 + height.max(fh);
            if !negated {
                return Ok((kind, height));
            }
            let (test, height) = self.node(kind, start, height)?;
            return Ok((ExprKind::Unary { op: UnaryOp::Not, expr: Box::new(test) }, height + 1));
        }
        let low_inclusive = if self.at(Punct::LBracket) {
            true
        } else if self.at(Punct::RBracket) {
            false
        } else {
            self.expected.insert(0, Punct::LParen.display());
            return Err(self.unexpected());
        };
        let (low, high, bounds_height) = self.nested(|p| {
            p.bump();
            let (low, lh) = p.additive()?;
            if !(p.eat(Punct::DotDot) || p.eat_kw(Kw::To)) {
                return Err(p.unexpected());
            }
            let (high, hh) = p.additive()?;
            Ok((low, high, lh.max(hh)))
        })?;
        let high_inclusive = if self.at(Punct::RBracket) {
            true
        } else if self.at(Punct::LBracket) {
            false
        } else {
            return Err(self.unexpected());
        };
        self.bump();
        let kind = ExprKind::InRange {
            expr,
            low: Box::new(low),
            high: Box::new(high),
            low_inclusive,
            high_inclusive,
        };
        let height = 1 + height.max(bounds_height);
        if !negated {
            return Ok((kind, height));
        }
        let (range, height) = self.node(kind, start, height)?;
        Ok((ExprKind::Unary { op: UnaryOp::Not, expr: Box::new(range) }, height + 1))
    }

    // ----- arithmetic levels -----

    fn additive(&mut self) -> Result<Node> {
        let start = self.start();
        let (mut left, mut height) = self.multiplicative()?;
        loop {
            let op = match self.tok().kind {
                TokenKind::Punct(Punct::Plus) => BinaryOp::Add,
                TokenKind::Punct(Punct::Minus) => BinaryOp::Sub,
                _ => return Ok((left, height)),
            };
            self.bump();
            let (right, h) = self.multiplicative()?;
            (left, height) = self.node(binary(op, left, right), start, 1 + height.max(h))?;
        }
    }

    fn multiplicative(&mut self) -> Result<Node> {
        let start = self.start();
        let (mut left, mut height) = self.unary()?;
        loop {
            let op = match self.tok().kind {
                TokenKind::Punct(Punct::Star) => BinaryOp::Mul,
                TokenKind::Punct(Punct::Slash) => BinaryOp::Div,
                _ => return Ok((left, height)),
            };
            self.bump();
            let (right, h) = self.unary()?;
            (left, height) = self.node(binary(op, left, right), start, 1 + height.max(h))?;
        }
    }

    fn unary(&mut self) -> Result<Node> {
        let start = self.start();
        let sign = match self.tok().kind {
            TokenKind::Punct(Punct::Minus) => Some(UnaryOp::Neg),
            // `+x` is `x`; it leaves no node (Opendatasoft documents `now(mondays=+1)`).
            TokenKind::Punct(Punct::Plus) => None,
            _ => return self.primary(),
        };
        let (mut expr, height) = self.nested(|p| {
            p.bump();
            p.unary()
        })?;
        match sign {
            Some(op) => self.node(ExprKind::Unary { op, expr: Box::new(expr) }, start, height + 1),
            None => {
                expr.span = Span::new(start, self.prev_end());
                Ok((expr, height))
            }
        }
    }

    // ----- operands -----

    fn primary(&mut self) -> Result<Node> {
        let tok = self.tok().clone();
        let kind = match tok.kind {
            TokenKind::Number(n) => ExprKind::Literal(number_literal(n)),
            TokenKind::NumberUnit { value, unit_start } => {
                ExprKind::Literal(self.distance(&tok, value, unit_start)?)
            }
            TokenKind::Str(s) => ExprKind::Literal(Literal::String(s)),
            TokenKind::Date(s) => ExprKind::Literal(Literal::Date(s)),
            TokenKind::Geom(s) => ExprKind::Literal(Literal::Geom(s)),
            TokenKind::Quoted(name) => ExprKind::Field(name),
            TokenKind::Word => return self.word(tok),
            TokenKind::Punct(Punct::LParen) => {
                return self.nested(|p| {
                    p.bump();
                    let inner = p.or()?;
                    p.expect(Punct::RParen)?;
                    Ok(inner)
                });
            }
            _ => {
                self.expected.push("an expression");
                return Err(self.unexpected());
            }
        };
        self.bump();
        self.node(kind, tok.span.start, 1)
    }

    fn distance(&self, tok: &Token, value: Number, unit_start: usize) -> Result<Literal> {
        let unit = self.text(Span::new(unit_start, tok.span.end));
        if let Some(unit) = DistanceUnit::from_suffix(unit) {
            return Ok(Literal::Distance { value: value.as_f64(), unit });
        }
        let at = self.position(tok.span.start);
        let text = self.text(tok.span);
        let message = if time_unit(unit).is_some() {
            format!(
                "unexpected \"{text}\" at position {at}: a time width is only allowed as the width of range(), e.g. range(date, 1 day)"
            )
        } else {
            format!(
                "unknown unit \"{unit}\" in \"{text}\" at position {at}: distances are written with m, km, mi, yd, ft, cm or mm, as in 10km"
            )
        };
        Err(ParseError::new(message, tok.span, vec![]))
    }

    /// A word in operand position: a literal keyword, a call, or a field.
    fn word(&mut self, tok: Token) -> Result<Node> {
        let text = self.text(tok.span);
        let kind = if text.eq_ignore_ascii_case("null") {
            ExprKind::Literal(Literal::Null)
        } else if text.eq_ignore_ascii_case("true") {
            ExprKind::Literal(Literal::Bool(true))
        } else if text.eq_ignore_ascii_case("false") {
            ExprKind::Literal(Literal::Bool(false))
        } else if is_reserved(text) {
            // A hint only when the word stands where a field could (`select=and`, `and = 1`), not
            // when it is a misplaced operator (`a AND OR b`).
            let hint = matches!(
                self.nth(1).kind,
                TokenKind::Eof
                    | TokenKind::Punct(
                        Punct::Comma
                            | Punct::RParen
                            | Punct::Eq
                            | Punct::NotEq
                            | Punct::Lt
                            | Punct::LtEq
                            | Punct::Gt
                            | Punct::GtEq
                            | Punct::Colon
                    )
            );
            return Err(self.reserved_word("an expression", hint));
        } else if self.nth_is(1, Punct::LParen) {
            return self.call(tok);
        } else {
            ExprKind::Field(text.to_owned())
        };
        self.bump();
        self.node(kind, tok.span.start, 1)
    }
}

#[cfg(test)]
mod tests;
