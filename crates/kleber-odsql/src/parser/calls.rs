//! Function calls and their special argument forms: `*`, named arguments of `now()` and
//! `facet()`, `DISTINCT`, and the widths and old bracket form of `range()`.

use super::{Kw, Node, Parser, number_literal};
use crate::ast::{Arg, Expr, ExprKind, Literal, Span};
use crate::error::Result;
use crate::lexer::{Punct, Token, TokenKind};

/// The canonical name of a time unit, as used by the width of `range(date, 1 day)`. Single
/// letters are case-sensitive (`m` minute, `M` month); words are not and may be plural.
pub(super) fn time_unit(text: &str) -> Option<&'static str> {
    let short = match text {
        "ms" => Some("millisecond"),
        "s" => Some("second"),
        "m" => Some("minute"),
        "h" => Some("hour"),
        "d" => Some("day"),
        "w" => Some("week"),
        "M" => Some("month"),
        "q" => Some("quarter"),
        "y" => Some("year"),
        _ => None,
    };
    if short.is_some() {
        return short;
    }
    let lower = text.to_ascii_lowercase();
    let singular = lower.strip_suffix('s').unwrap_or(&lower);
    ["millisecond", "second", "minute", "hour", "day", "week", "month", "quarter", "year"]
        .into_iter()
        .find(|u| *u == singular)
}

impl Parser<'_> {
    pub(super) fn call(&mut self, name_tok: Token) -> Result<Node> {
        let name = self.text(name_tok.span).to_ascii_lowercase();
        let (args, distinct, height) = self.nested(|p| {
            p.bump(); // the name
            p.bump(); // "("
            p.call_args(&name)
        })?;
        let kind = ExprKind::Call { name, name_span: name_tok.span, args, distinct };
        self.node(kind, name_tok.span.start, height + 1)
    }

    /// The arguments after `name(`, through the closing `)`; returns them, whether they started
    /// with `DISTINCT`, and the height of the tallest.
    fn call_args(&mut self, name: &str) -> Result<(Vec<Arg>, bool, usize)> {
        let mut args = Vec::new();
        if self.eat(Punct::RParen) {
            return Ok((args, false, 0));
        }
        let distinct = self.peek_kw(Kw::Distinct);
        if distinct {
            self.bump();
        }
        let mut height = 0;
        loop {
            height = height.max(self.arg(name, &mut args)?);
            if self.eat(Punct::RParen) {
                return Ok((args, distinct, height));
            }
            if !self.eat(Punct::Comma) {
                return Err(self.unexpected());
            }
        }
    }

    /// One argument (or, for the bracket form of `range()`, several) of a call to `name`;
    /// returns its height.
    fn arg(&mut self, name: &str, args: &mut Vec<Arg>) -> Result<usize> {
        let tok = self.tok().clone();
        if tok.kind == TokenKind::Punct(Punct::Star) {
            self.bump();
            args.push(Arg::Star(tok.span));
            return Ok(1);
        }
        // `f(a = b)` is a comparison everywhere else.
        if matches!(name, "now" | "facet")
            && tok.kind == TokenKind::Word
            && self.nth_is(1, Punct::Eq)
        {
            let arg_name = self.text(tok.span).to_ascii_lowercase();
            self.bump();
            self.bump();
            let (value, height) = self.additive()?;
            let span = Span::new(tok.span.start, self.prev_end());
            args.push(Arg::Named { name: arg_name, value, span });
            return Ok(height);
        }
        if name == "range" && !args.is_empty() {
            if matches!(tok.kind, TokenKind::Punct(Punct::LBracket | Punct::RBracket)) {
                return self.range_brackets(args);
            }
            if let Some((interval, height)) = self.interval()? {
                args.push(Arg::Expr(interval));
                return Ok(height);
            }
        }
        let (expr, height) = self.or()?;
        args.push(Arg::Expr(expr));
        Ok(height)
    }

    /// The width of `range(date, 1 day)` / `range(date, 15m)`, encoded as
    /// `interval(1, "day")` (see [`ExprKind::Call`]), if the current tokens are one.
    fn interval(&mut self) -> Result<Option<Node>> {
        let tok = self.tok().clone();
        let (value, number_span, unit_span, tokens) = match tok.kind {
            TokenKind::Number(value) => {
                let unit = self.nth(1);
                if unit.kind != TokenKind::Word || self.nth_is(2, Punct::LParen) {
                    return Ok(None);
                }
                (value, tok.span, unit.span, 2)
            }
            TokenKind::NumberUnit { value, unit_start } => (
                value,
                Span::new(tok.span.start, unit_start),
                Span::new(unit_start, tok.span.end),
                1,
            ),
            _ => return Ok(None),
        };
        let Some(unit) = time_unit(self.text(unit_span)) else {
            return Ok(None);
        };
        for _ in 0..tokens {
            self.bump();
        }
        let number = Expr { kind: ExprKind::Literal(number_literal(value)), span: number_span };
        let unit_expr =
            Expr { kind: ExprKind::Literal(Literal::String(unit.to_owned())), span: unit_span };
        let kind = ExprKind::Call {
            name: "interval".to_owned(),
            name_span: unit_span,
            args: vec![Arg::Expr(number), Arg::Expr(unit_expr)],
            distinct: false,
        };
        self.node(kind, tok.span.start, 2).map(Some)
    }

    /// The pre-2021 bracket form of static ranges, `range(f, ]10, 50, 100[)`, rewritten to the
    /// current form `range(f, *, 10, 50, 100, *)`: a bracket opening outwards (`]` on the left,
    /// `[` on the right) keeps the values beyond the outer bound, like `*` does. The meaning of
    /// the old form is our reading of Opendatasoft's notation, not confirmed by a source.
    fn range_brackets(&mut self, args: &mut Vec<Arg>) -> Result<usize> {
        let open = self.bump();
        if open.kind == TokenKind::Punct(Punct::RBracket) {
            args.push(Arg::Star(open.span));
        }
        let mut height = 0;
        loop {
            let (bound, h) = self.additive()?;
            args.push(Arg::Expr(bound));
            height = height.max(h);
            if self.eat(Punct::Comma) {
                continue;
            }
            if self.eat(Punct::RBracket) {
                return Ok(height);
            }
            if self.at(Punct::LBracket) {
                let close = self.bump();
                args.push(Arg::Star(close.span));
                return Ok(height);
            }
            return Err(self.unexpected());
        }
    }
}
