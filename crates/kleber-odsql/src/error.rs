//! The error returned for malformed ODSQL.

use crate::ast::Span;

/// Results of this crate.
pub type Result<T, E = ParseError> = std::result::Result<T, E>;

/// A clause could not be parsed.
///
/// The message is a complete sentence for humans and names the place as a 0-based *character*
/// position (`expected an expression but found ")" at position 12`), while [`ParseError::span`]
/// holds *byte* offsets into the clause text. [`ParseError::render`] adds the clause text with a
/// caret line under the span.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// The human-readable message, position included.
    pub message: String,
    /// The offending part of the clause text (empty at the end of input).
    pub span: Span,
    /// What would have been accepted at that place, as written in the message: quoted tokens
    /// (`")"`, `"AND"`) or descriptions (`an expression`, `end of input`). Often empty for lexical
    /// errors.
    pub expected: Vec<String>,
}

/// How many characters of context [`ParseError::render`] shows on each side of a long line.
const CONTEXT_CHARS: usize = 60;

impl ParseError {
    /// Builds an error; `message` must already contain the position.
    pub(crate) fn new(message: String, span: Span, expected: Vec<String>) -> Self {
        ParseError { message, span, expected }
    }

    /// The line of `src` holding the error, then a caret line under the span, for showing
    /// under the message:
    ///
    /// ```text
    /// a = (1 +)
    ///         ^
    /// ```
    ///
    /// Lines longer than about 120 characters are cut around the span (marked with `…`). Never
    /// panics, even if `src` is not the text the error came from.
    pub fn render(&self, src: &str) -> String {
        let start = floor_boundary(src, self.span.start);
        let end = floor_boundary(src, self.span.end);
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
        let line = &src[line_start..line_end];
        let line_end = line_start + line.strip_suffix('\r').unwrap_or(line).len();
        // A span starting on the line's `\r` or running past its end is cut to the line.
        let start = start.min(line_end);
        let end = end.clamp(start, line_end);

        let before: Vec<char> = src[line_start..start].chars().collect();
        let marked = src[start..end].chars().count().max(1);
        let after: Vec<char> = src[end..line_end].chars().collect();

        let (before, cut_before) = if before.len() > CONTEXT_CHARS {
            (&before[before.len() - CONTEXT_CHARS..], true)
        } else {
            (&before[..], false)
        };
        let (after, cut_after) = if after.len() > CONTEXT_CHARS {
            (&after[..CONTEXT_CHARS], true)
        } else {
            (&after[..], false)
        };

        let mut text = String::new();
        let mut carets = String::new();
        if cut_before {
            text.push('…');
            carets.push(' ');
        }
        for &c in before {
            text.push(c);
            // Keep tabs so the carets line up however the terminal expands them.
            carets.push(if c == '\t' { '\t' } else { ' ' });
        }
        text.push_str(&src[start..end]);
        text.extend(after);
        if cut_after {
            text.push('…');
        }
        carets.extend(std::iter::repeat_n('^', marked));
        format!("{text}\n{carets}")
    }
}

/// The largest char boundary of `src` that is `<= i`.
fn floor_boundary(src: &str, i: usize) -> usize {
    let mut i = i.min(src.len());
    while !src.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The 0-based character index of byte offset `byte` in `src`, as shown in messages.
pub(crate) fn char_position(src: &str, byte: usize) -> usize {
    src[..floor_boundary(src, byte)].chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(start: usize, end: usize) -> ParseError {
        ParseError::new("message".to_owned(), Span::new(start, end), vec![])
    }

    #[test]
    fn render_marks_the_span() {
        assert_eq!(err(4, 7).render("a = foo"), "a = foo\n    ^^^");
    }

    #[test]
    fn render_marks_end_of_input_with_one_caret() {
        assert_eq!(err(3, 3).render("a ="), "a =\n   ^");
    }

    #[test]
    fn render_keeps_tabs_and_counts_chars() {
        assert_eq!(err(5, 6).render("\té = x"), "\té = x\n\t   ^");
    }

    #[test]
    fn render_shows_only_the_line_of_the_error() {
        assert_eq!(err(8, 9).render("a = 1\r\nAND #"), "AND #\n ^");
    }

    #[test]
    fn render_cuts_long_lines() {
        let src = format!("{}#{}", "a".repeat(200), "b".repeat(200));
        let out = err(200, 201).render(&src);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], format!("…{}#{}…", "a".repeat(60), "b".repeat(60)));
        assert_eq!(lines[1], format!("{}^", " ".repeat(61)));
    }

    #[test]
    fn render_survives_spans_outside_the_text() {
        let _ = err(50, 10).render("é");
        let _ = err(1, 2).render("é");
        let _ = err(0, 0).render("");
    }
}
