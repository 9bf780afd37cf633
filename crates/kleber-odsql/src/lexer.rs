//! The lexer: clause text to tokens with byte spans.
//!
//! Words are not classified here: whether `year` is a function, a field or an error, and whether
//! `in` is an operator or a field, depends on what follows and is the parser's business. The
//! lexer only decides what needs to look at raw characters: quotes and escapes, numbers and their
//! unit suffixes (`10km`, `1d`), `date'…'` and `geom'…'` prefixes, and operators.

use crate::ast::Span;
use crate::error::{ParseError, Result, char_position};

/// A number as written, before the parser gives it a role.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    /// No decimal point nor exponent, and fits in an `i64`.
    Int(i64),
    /// Anything else (including integers too large for an `i64`).
    Dec(f64),
}

impl Number {
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            // Distances and widths do not need more than 53 bits of precision.
            Number::Int(i) => i as f64,
            Number::Dec(d) => d,
        }
    }
}

/// Operators and punctuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Punct {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    DotDot,
    Star,
    Plus,
    Minus,
    Slash,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Colon,
}

impl Punct {
    /// The token as listed in "expected …" messages.
    pub(crate) fn display(self) -> &'static str {
        match self {
            Punct::LParen => "\"(\"",
            Punct::RParen => "\")\"",
            Punct::LBracket => "\"[\"",
            Punct::RBracket => "\"]\"",
            Punct::Comma => "\",\"",
            Punct::DotDot => "\"..\"",
            Punct::Star => "\"*\"",
            Punct::Plus => "\"+\"",
            Punct::Minus => "\"-\"",
            Punct::Slash => "\"/\"",
            Punct::Eq => "\"=\"",
            Punct::NotEq => "\"!=\"",
            Punct::Lt => "\"<\"",
            Punct::LtEq => "\"<=\"",
            Punct::Gt => "\">\"",
            Punct::GtEq => "\">=\"",
            Punct::Colon => "\":\"",
        }
    }
}

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    /// An unquoted identifier or keyword, possibly dotted; its text is the source slice.
    Word,
    /// A `` `backticked` `` name, unescaped.
    Quoted(String),
    /// A `'…'` or `"…"` string, unescaped.
    Str(String),
    /// A number.
    Number(Number),
    /// A number immediately followed by letters (`10km`, `1d`, `5m`); the letters start at byte
    /// `unit_start` and run to the end of the token.
    NumberUnit { value: Number, unit_start: usize },
    /// `date'…'`, unescaped.
    Date(String),
    /// `geom'…'`, unescaped.
    Geom(String),
    /// Operators and punctuation.
    Punct(Punct),
    /// The end of the text; always the last token.
    Eof,
}

/// A token and where it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) span: Span,
}

/// Splits `src` into tokens. The result always ends with one [`TokenKind::Eof`] token.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>> {
    Lexer { src, pos: 0 }.run()
}

struct Lexer<'s> {
    src: &'s str,
    /// Byte offset of the next character; always on a char boundary.
    pos: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    /// The character `n` characters after the next one (`peek_nth(0) == peek()`).
    fn peek_nth(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    fn error(&self, message: String, span: Span, expected: Vec<String>) -> ParseError {
        ParseError::new(message, span, expected)
    }

    fn position(&self, byte: usize) -> usize {
        char_position(self.src, byte)
    }

    fn run(mut self) -> Result<Vec<Token>> {
        let mut tokens = Vec::new();
        loop {
            while self.peek().is_some_and(char::is_whitespace) {
                self.advance();
            }
            let start = self.pos;
            let Some(c) = self.peek() else {
                tokens.push(Token { kind: TokenKind::Eof, span: Span::new(start, start) });
                return Ok(tokens);
            };
            let kind = match c {
                '0'..='9' => self.number()?,
                '.' if self.peek_nth(1).is_some_and(|c| c.is_ascii_digit()) => self.number()?,
                '\'' | '"' => TokenKind::Str(self.quoted(c, "string", start)?),
                '`' => self.backticked()?,
                c if c.is_ascii_alphabetic() || c == '_' => self.word()?,
                _ => TokenKind::Punct(self.punct(c)?),
            };
            tokens.push(Token { kind, span: Span::new(start, self.pos) });
        }
    }

    /// Moves past the next character.
    fn advance(&mut self) {
        if let Some(c) = self.peek() {
            self.pos += c.len_utf8();
        }
    }

    fn punct(&mut self, c: char) -> Result<Punct> {
        let start = self.pos;
        let next = self.peek_nth(1);
        let (punct, len) = match (c, next) {
            ('(', _) => (Punct::LParen, 1),
            (')', _) => (Punct::RParen, 1),
            ('[', _) => (Punct::LBracket, 1),
            (']', _) => (Punct::RBracket, 1),
            (',', _) => (Punct::Comma, 1),
            ('.', Some('.')) => (Punct::DotDot, 2),
            ('*', _) => (Punct::Star, 1),
            ('+', _) => (Punct::Plus, 1),
            ('-', _) => (Punct::Minus, 1),
            ('/', _) => (Punct::Slash, 1),
            ('=', _) => (Punct::Eq, 1),
            ('!', Some('=')) => (Punct::NotEq, 2),
            ('<', Some('>')) => (Punct::NotEq, 2),
            ('<', Some('=')) => (Punct::LtEq, 2),
            ('<', _) => (Punct::Lt, 1),
            ('>', Some('=')) => (Punct::GtEq, 2),
            ('>', _) => (Punct::Gt, 1),
            (':', _) => (Punct::Colon, 1),
            ('!', _) => {
                return Err(self.error(
                    format!(
                        "unexpected \"!\" at position {}: write \"!=\" for \"not equal\" or NOT to negate a condition",
                        self.position(start)
                    ),
                    Span::new(start, start + 1),
                    vec!["\"!=\"".to_owned()],
                ));
            }
            _ => {
                return Err(self.error(
                    format!(
                        "unknown character \"{}\" at position {}",
                        c.escape_debug(),
                        self.position(start)
                    ),
                    Span::new(start, start + c.len_utf8()),
                    vec![],
                ));
            }
        };
        self.pos += len;
        Ok(punct)
    }

    /// An identifier (`name`, `default.modified`), or a `date'…'` / `geom'…'` literal.
    fn word(&mut self) -> Result<TokenKind> {
        let start = self.pos;
        self.eat_while(is_word_char);
        // Dotted names: a dot followed by another part. `a..b` stays `a`, `..`, `b`.
        while self.peek() == Some('.') && self.peek_nth(1).is_some_and(is_word_char) {
            self.advance();
            self.eat_while(is_word_char);
        }
        let text = &self.src[start..self.pos];
        if let Some(quote @ ('\'' | '"')) = self.peek() {
            if text.eq_ignore_ascii_case("date") {
                return Ok(TokenKind::Date(self.quoted(quote, "date literal", start)?));
            }
            if text.eq_ignore_ascii_case("geom") {
                return Ok(TokenKind::Geom(self.quoted(quote, "geometry literal", start)?));
            }
        }
        Ok(TokenKind::Word)
    }

    fn eat_while(&mut self, pred: impl Fn(char) -> bool) {
        while self.peek().is_some_and(&pred) {
            self.advance();
        }
    }

    /// A number, with its unit suffix if letters follow immediately.
    fn number(&mut self) -> Result<TokenKind> {
        let start = self.pos;
        let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
        self.eat_while(|c| c.is_ascii_digit());
        let mut decimal = false;
        // A decimal point, unless it starts `..` (`1..10` is `1`, `..`, `10`).
        if self.peek() == Some('.') && self.peek_nth(1) != Some('.') {
            decimal = true;
            self.advance();
            self.eat_while(|c| c.is_ascii_digit());
        }
        if matches!(self.peek(), Some('e' | 'E'))
            && (digit(self.peek_nth(1))
                || (matches!(self.peek_nth(1), Some('+' | '-')) && digit(self.peek_nth(2))))
        {
            decimal = true;
            self.advance();
            self.advance();
            self.eat_while(|c| c.is_ascii_digit());
        }
        let text = &self.src[start..self.pos];
        let value = match text.parse::<i64>() {
            Ok(i) if !decimal => Number::Int(i),
            // Too large for an i64, or a decimal: f64 parsing accepts every shape built above.
            _ => match text.parse::<f64>() {
                Ok(d) if d.is_finite() => Number::Dec(d),
                _ => {
                    return Err(self.error(
                        format!(
                            "number \"{text}\" at position {} is out of range",
                            self.position(start)
                        ),
                        Span::new(start, self.pos),
                        vec![],
                    ));
                }
            },
        };
        if self.peek().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') {
            let unit_start = self.pos;
            self.eat_while(is_word_char);
            return Ok(TokenKind::NumberUnit { value, unit_start });
        }
        Ok(TokenKind::Number(value))
    }

    /// A quoted text starting at the current `quote` character, with backslash escapes; `start`
    /// is where the token starts (before a `date` / `geom` prefix), for error messages.
    fn quoted(&mut self, quote: char, what: &str, start: usize) -> Result<String> {
        self.advance();
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error(
                    format!("unterminated {what} starting at position {}", self.position(start)),
                    Span::new(start, self.src.len()),
                    vec![format!("closing {quote}")],
                ));
            };
            self.advance();
            if c == quote {
                return Ok(out);
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            match self.peek() {
                // `\` at the very end: the string is unterminated, reported above.
                None => continue,
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('u') => {
                    if let Some((ch, len)) = unicode_escape(&self.src[self.pos..]) {
                        out.push(ch);
                        // `len` counts the bytes after the backslash, minus the `u` consumed below.
                        self.pos += len - 1;
                    } else {
                        out.push('u');
                    }
                }
                Some(other) => out.push(other),
            }
            self.advance();
        }
    }

    /// A `` `name` ``: any text, `` \` `` and `\\` escaped.
    fn backticked(&mut self) -> Result<TokenKind> {
        let start = self.pos;
        self.advance();
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error(
                    format!(
                        "unterminated backticked name starting at position {}",
                        self.position(start)
                    ),
                    Span::new(start, self.src.len()),
                    vec!["closing `".to_owned()],
                ));
            };
            self.advance();
            match c {
                '`' => break,
                '\\' => {
                    if let Some(escaped) = self.peek() {
                        out.push(escaped);
                        self.advance();
                    }
                }
                c => out.push(c),
            }
        }
        if out.is_empty() {
            return Err(self.error(
                format!("empty backticked name at position {}", self.position(start)),
                Span::new(start, self.pos),
                vec!["a field name".to_owned()],
            ));
        }
        Ok(TokenKind::Quoted(out))
    }
}

/// Decodes `uXXXX` (and a following `\uXXXX` low surrogate, as JSON writes characters outside
/// the BMP) at the start of `s`. Returns the character and the number of bytes used.
fn unicode_escape(s: &str) -> Option<(char, usize)> {
    let hex4 = |s: &str| -> Option<u32> {
        let digits = s.get(..4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok()
    };
    let high = hex4(s.get(1..)?)?;
    if (0xD800..0xDC00).contains(&high) {
        let low = s.get(5..)?.strip_prefix("\\u").and_then(hex4);
        if let Some(low @ 0xDC00..0xE000) = low {
            let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
            return char::from_u32(code).map(|c| (c, 11));
        }
        // A lone surrogate cannot be held in a Rust string.
        return Some((char::REPLACEMENT_CHARACTER, 5));
    }
    Some((char::from_u32(high).unwrap_or(char::REPLACEMENT_CHARACTER), 5))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src).unwrap().into_iter().map(|t| t.kind).collect()
    }

    fn texts(src: &str) -> Vec<&str> {
        tokenize(src).unwrap().iter().map(|t| &src[t.span.range()]).collect()
    }

    fn error(src: &str) -> String {
        tokenize(src).unwrap_err().message
    }

    #[test]
    fn ranges_split_around_dot_dot() {
        assert_eq!(texts("[1..10]"), ["[", "1", "..", "10", "]", ""]);
        assert_eq!(texts("[1.5..2.5]"), ["[", "1.5", "..", "2.5", "]", ""]);
        assert_eq!(texts("[a..b]"), ["[", "a", "..", "b", "]", ""]);
        assert_eq!(
            texts("[date'2017'..date'2018']"),
            ["[", "date'2017'", "..", "date'2018'", "]", ""]
        );
        assert_eq!(texts("]1 TO 2["), ["]", "1", "TO", "2", "[", ""]);
    }

    #[test]
    fn numbers() {
        use Number::*;
        let n = |src| kinds(src)[0].clone();
        assert_eq!(n("42"), TokenKind::Number(Int(42)));
        assert_eq!(n("5.8"), TokenKind::Number(Dec(5.8)));
        assert_eq!(n(".5"), TokenKind::Number(Dec(0.5)));
        assert_eq!(n("1."), TokenKind::Number(Dec(1.0)));
        assert_eq!(n("1e3"), TokenKind::Number(Dec(1000.0)));
        assert_eq!(n("2.5E-1"), TokenKind::Number(Dec(0.25)));
        assert_eq!(n("9223372036854775807"), TokenKind::Number(Int(i64::MAX)));
        assert_eq!(n("9223372036854775808"), TokenKind::Number(Dec(9223372036854775808.0)));
        assert!(error("1e400").contains("out of range"));
    }

    #[test]
    fn number_suffixes_become_units() {
        assert_eq!(
            kinds("10km")[0],
            TokenKind::NumberUnit { value: Number::Int(10), unit_start: 2 }
        );
        assert_eq!(
            kinds("2.5mi")[0],
            TokenKind::NumberUnit { value: Number::Dec(2.5), unit_start: 3 }
        );
        assert_eq!(kinds("1e")[0], TokenKind::NumberUnit { value: Number::Int(1), unit_start: 1 });
        assert_eq!(texts("10 km"), ["10", "km", ""]);
    }

    #[test]
    fn strings_and_escapes() {
        let s = |src| kinds(src)[0].clone();
        assert_eq!(s(r"'Don\'t'"), TokenKind::Str("Don't".to_owned()));
        assert_eq!(s(r#""a\"b\\c\nd\te\qf""#), TokenKind::Str("a\"b\\c\nd\teqf".to_owned()));
        assert_eq!(s(r#""it's""#), TokenKind::Str("it's".to_owned()));
        assert_eq!(s(r#"'say "hi"'"#), TokenKind::Str("say \"hi\"".to_owned()));
        assert_eq!(s(r#""caf\u00e9 \ud83d\ude00""#), TokenKind::Str("café 😀".to_owned()));
        assert_eq!(s(r#""\u12""#), TokenKind::Str("u12".to_owned()));
        assert_eq!(s(r#""\ud800x""#), TokenKind::Str("\u{fffd}x".to_owned()));
        assert_eq!(s("\"é\""), TokenKind::Str("é".to_owned()));
    }

    #[test]
    fn unterminated_strings_point_at_their_start() {
        assert_eq!(error("a = 'abc"), "unterminated string starting at position 4");
        assert_eq!(error(r#"a = "abc\""#), "unterminated string starting at position 4");
        assert_eq!(error("\"é\" = 'abc\\"), "unterminated string starting at position 6");
        assert_eq!(tokenize("a = 'abc").unwrap_err().span, Span::new(4, 8));
        assert_eq!(error("`abc"), "unterminated backticked name starting at position 0");
        assert_eq!(error("date'2020"), "unterminated date literal starting at position 0");
    }

    #[test]
    fn backticks() {
        assert_eq!(kinds(r"`a\`b`")[0], TokenKind::Quoted("a`b".to_owned()));
        assert_eq!(kinds("`12`")[0], TokenKind::Quoted("12".to_owned()));
        assert_eq!(
            kinds("`Label with spaces`")[0],
            TokenKind::Quoted("Label with spaces".to_owned())
        );
        assert!(error("``").starts_with("empty backticked name"));
    }

    #[test]
    fn dates_and_geometries_need_the_quote_right_after_the_prefix() {
        assert_eq!(kinds("DATE\"2017\"")[0], TokenKind::Date("2017".to_owned()));
        assert_eq!(kinds("Geom'POINT(1 2)'")[0], TokenKind::Geom("POINT(1 2)".to_owned()));
        assert_eq!(texts("date '2017'"), ["date", "'2017'", ""]);
        assert_eq!(texts("date_format"), ["date_format", ""]);
        assert_eq!(texts("mydate'x'"), ["mydate", "'x'", ""]);
    }

    #[test]
    fn dotted_words() {
        assert_eq!(texts("default.modified"), ["default.modified", ""]);
        assert_eq!(texts("a.b.c_1"), ["a.b.c_1", ""]);
        assert_eq!(texts("a.1"), ["a.1", ""]);
        assert_eq!(error("a."), "unknown character \".\" at position 1");
    }

    #[test]
    fn operators() {
        assert_eq!(
            texts("a!=b<>c<=d>=e<f>g:h=i"),
            [
                "a", "!=", "b", "<>", "c", "<=", "d", ">=", "e", "<", "f", ">", "g", ":", "h", "=",
                "i", ""
            ]
        );
        assert_eq!(kinds("<>")[0], TokenKind::Punct(Punct::NotEq));
        assert_eq!(texts("1+-2*/3"), ["1", "+", "-", "2", "*", "/", "3", ""]);
    }

    #[test]
    fn bad_characters() {
        assert_eq!(error("a #"), "unknown character \"#\" at position 2");
        assert_eq!(error("é = ü"), "unknown character \"é\" at position 0");
        assert_eq!(tokenize("é").unwrap_err().span, Span::new(0, 2));
        assert!(error("a ! b").starts_with("unexpected \"!\" at position 2"));
        assert_eq!(error("a . b"), "unknown character \".\" at position 2");
    }

    #[test]
    fn whitespace_and_end() {
        let toks = tokenize(" \t\n a \u{a0}").unwrap();
        assert_eq!(toks.len(), 2);
        assert_eq!(toks[1].kind, TokenKind::Eof);
        assert_eq!(toks[1].span, Span::new(8, 8));
    }
}
