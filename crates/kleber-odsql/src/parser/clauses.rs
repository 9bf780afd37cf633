//! The items of `select`, `group_by` and `order_by` clauses.

use super::{Kw, Parser, is_reserved};
use crate::ast::{Expr, GroupItem, OrderItem, SelectItem, Span};
use crate::error::Result;
use crate::lexer::{Punct, TokenKind};

impl Parser<'_> {
    pub(crate) fn select(mut self) -> Result<Vec<SelectItem>> {
        let mut items = Vec::new();
        loop {
            items.push(self.select_item()?);
            if !self.eat(Punct::Comma) {
                self.expect_eof()?;
                return Ok(items);
            }
        }
    }

    pub(crate) fn group_by(mut self) -> Result<Vec<GroupItem>> {
        let mut items = Vec::new();
        loop {
            let (expr, text) = self.expr_with_text()?;
            let alias = self.alias()?;
            items.push(GroupItem { expr, alias, text });
            if !self.eat(Punct::Comma) {
                self.expect_eof()?;
                return Ok(items);
            }
        }
    }

    pub(crate) fn order_by(mut self) -> Result<Vec<OrderItem>> {
        let mut items = Vec::new();
        loop {
            let (expr, _) = self.or()?;
            let descending = !self.eat_kw(Kw::Asc) && self.eat_kw(Kw::Desc);
            items.push(OrderItem { expr, descending });
            if !self.eat(Punct::Comma) {
                self.expect_eof()?;
                return Ok(items);
            }
        }
    }

    fn expr_with_text(&mut self) -> Result<(Expr, String)> {
        let start = self.start();
        let (expr, _) = self.or()?;
        let text = self.text(Span::new(start, self.prev_end())).trim().to_owned();
        Ok((expr, text))
    }

    /// `[AS alias]`: an identifier, a backticked name or a quoted string.
    fn alias(&mut self) -> Result<Option<String>> {
        if !self.eat_kw(Kw::As) {
            return Ok(None);
        }
        let tok = self.tok().clone();
        let alias = match tok.kind {
            TokenKind::Word if is_reserved(self.text(tok.span)) => {
                return Err(self.reserved_word("an alias", true));
            }
            TokenKind::Word => self.text(tok.span).to_owned(),
            TokenKind::Quoted(name) => name,
            TokenKind::Str(name) if !name.is_empty() => name,
            _ => {
                self.expected.push("an alias");
                return Err(self.unexpected());
            }
        };
        self.bump();
        Ok(Some(alias))
    }

    fn select_item(&mut self) -> Result<SelectItem> {
        let tok = self.tok().clone();
        if tok.kind == TokenKind::Punct(Punct::Star) {
            self.bump();
            return Ok(SelectItem::Star(tok.span));
        }
        if tok.kind == TokenKind::Word && self.nth_is(1, Punct::LParen) {
            let word = self.text(tok.span);
            if word.eq_ignore_ascii_case("include") {
                let (patterns, span) = self.patterns()?;
                return Ok(SelectItem::Include(patterns, span));
            }
            if word.eq_ignore_ascii_case("exclude") {
                let (patterns, span) = self.patterns()?;
                return Ok(SelectItem::Exclude(patterns, span));
            }
        }
        let (expr, text) = self.expr_with_text()?;
        let alias = self.alias()?;
        Ok(SelectItem::Expr { expr, alias, text })
    }

    /// `include(` / `exclude(` then `pattern, …)`, where a pattern is a name, optionally
    /// followed by `*` to make it a prefix.
    fn patterns(&mut self) -> Result<(Vec<String>, Span)> {
        let start = self.start();
        self.bump(); // include / exclude
        self.bump(); // "("
        let mut patterns = Vec::new();
        loop {
            let tok = self.tok().clone();
            let mut pattern = match tok.kind {
                TokenKind::Word => self.text(tok.span).to_owned(),
                TokenKind::Quoted(name) => name,
                _ => {
                    self.expected.push("a field name or prefix*");
                    return Err(self.unexpected());
                }
            };
            self.bump();
            if self.nth_is(0, Punct::Star) {
                self.bump();
                pattern.push('*');
            }
            patterns.push(pattern);
            if self.eat(Punct::RParen) {
                return Ok((patterns, Span::new(start, self.prev_end())));
            }
            if !self.eat(Punct::Comma) {
                return Err(self.unexpected());
            }
        }
    }
}
