//! ODSQL text functions: `search()`, `suggest()` and `startswith()`.
//!
//! All three read their arguments from the AST: zero or more text fields (or `*`) and, last,
//! the text to look for as a string literal. They are lowered to the full-text UDF of
//! `fulltext.rs` in the matching mode; the text analysis they share with bare strings and
//! `LIKE` (accent and case folding, words, French and English stems) is in [`analysis`].
//!
//! - `search([field, ...,] "text")`: every word of the text is found in one of the fields:
//!   as the same word (equal, or the same French or English stem: `parkings` finds
//!   `Parking`), or with a typo: one edit for words of 3 to 5 letters, two from 6 letters
//!   (an edit inserts, deletes or replaces a letter, or swaps two adjacent ones). The last
//!   word is also a prefix (`sainte aur` finds `Sainte Aurélie`). `*` or no field means
//!   every text field.
//! - `suggest([field, ...,] "text")`: every word of the text is part of a word of one of the
//!   fields (`telie` finds `Aurélie`); no stems, no typos.
//! - `startswith(field[, field...], "text")`: one of the fields' values (or items, for a
//!   multivalued field) starts with the text, ignoring case and accents.
//!
//! Only text fields (multivalued included) can be searched; other fields are an error.
//! Null values never match. Text without any word (`""`) matches every record in `search()`
//! and `suggest()`, and every non-null value in `startswith()`.

pub(crate) mod analysis;

use std::sync::Arc;

use datafusion::logical_expr::{Expr, ScalarUDF, lit};
use kleber_odsql::{Arg, ExprKind, Literal, Span};
use kleber_types::FieldType;

use crate::error::Result;
use crate::fulltext::{FullTextUdf, MatchMode};
use crate::functions::{FunctionDoc, FunctionKind};
use crate::lower::{Scope, column};

/// The functions of this family, with their documentation.
pub(crate) const FUNCTIONS: &[FunctionDoc] = &[
    FunctionDoc {
        name: "search",
        kind: FunctionKind::Scalar,
        signature: "search([field, ...,] text)",
        description: "True when every word of text is in the fields (`*` or none: every text field), ignoring case and accents, as the same word (French or English stem: `parkings` finds `Parking`) or with a typo (1 edit from 3 letters, 2 from 6); the last word is also a prefix.",
        example: "where=search(nom_parking, \"parkng gutenb\")",
    },
    FunctionDoc {
        name: "suggest",
        kind: FunctionKind::Scalar,
        signature: "suggest([field, ...,] text)",
        description: "True when every word of text is part of a word of the fields (`*` or none: every text field), ignoring case and accents.",
        example: "where=suggest(\"guten\")",
    },
    FunctionDoc {
        name: "startswith",
        kind: FunctionKind::Scalar,
        signature: "startswith(field[, field...], text)",
        description: "True when the value of one of the text fields (or an item of a multivalued one) starts with text, ignoring case and accents.",
        example: "where=startswith(nom_parking, \"parking du\")",
    },
];

/// Lowers a call of one of this family's functions; `None` when `name` is not one of them.
pub(crate) fn lower_call(
    scope: &Scope<'_>,
    name: &str,
    name_span: Span,
    args: &[Arg],
    distinct: bool,
) -> Option<Result<Expr>> {
    let mode = match name {
        "search" => MatchMode::Fuzzy,
        "suggest" => MatchMode::Partial,
        "startswith" => MatchMode::Prefix,
        _ => return None,
    };
    Some(lower_text_call(scope, name, name_span, args, distinct, mode))
}

/// How to call `name()`, for error messages.
fn usage(name: &str) -> &'static str {
    match name {
        "startswith" => "startswith(field, \"text\")",
        "suggest" => "suggest(field, \"text\") or suggest(\"text\")",
        _ => "search(field, \"text\") or search(\"text\")",
    }
}

fn lower_text_call(
    scope: &Scope<'_>,
    name: &str,
    name_span: Span,
    args: &[Arg],
    distinct: bool,
    mode: MatchMode,
) -> Result<Expr> {
    if distinct {
        return Err(scope.err(format!("{name}() does not take `distinct`."), name_span));
    }
    let Some((last, field_args)) = args.split_last() else {
        return Err(scope.err(
            format!("{name}() needs the text to look for, e.g. `{}`.", usage(name)),
            name_span,
        ));
    };
    let Arg::Expr(kleber_odsql::Expr { kind: ExprKind::Literal(Literal::String(text)), .. }) = last
    else {
        return Err(scope.err(
            format!(
                "the last argument of {name}() must be the text to look for, as a string literal, e.g. `{}`.",
                usage(name)
            ),
            last.span(),
        ));
    };

    let mut every_field = field_args.is_empty();
    let mut names: Vec<&str> = Vec::new();
    for arg in field_args {
        let e = match arg {
            Arg::Star(_) => {
                every_field = true;
                continue;
            }
            Arg::Named { name: arg_name, span, .. } => {
                return Err(
                    scope.err(format!("{name}() takes no named argument `{arg_name}`."), *span)
                );
            }
            Arg::Expr(e) => e,
        };
        let ExprKind::Field(field_name) = &e.kind else {
            let what = match &e.kind {
                ExprKind::Literal(Literal::String(_)) => {
                    " (only one text to look for, as the last argument)"
                }
                _ => "",
            };
            return Err(scope.err(
                format!(
                    "{name}() takes text fields (or `*`) then the text to look for{what}, e.g. `{}`.",
                    usage(name)
                ),
                e.span,
            ));
        };
        let Some(field) = scope.field(field_name) else {
            let hint = scope
                .fields
                .iter()
                .find(|f| {
                    f.name.eq_ignore_ascii_case(field_name)
                        || f.label.eq_ignore_ascii_case(field_name)
                })
                .map(|f| format!(" Did you mean `{}`?", f.name))
                .unwrap_or_default();
            return Err(scope.err(format!("Unknown field: {field_name}.{hint}"), e.span));
        };
        if field.field_type != FieldType::Text {
            return Err(scope.err(
                format!(
                    "{name}() looks in text fields only; `{field_name}` is a {} field.",
                    field.field_type
                ),
                e.span,
            ));
        }
        if !names.contains(&field.name.as_str()) {
            names.push(field.name.as_str());
        }
    }
    if mode == MatchMode::Prefix && field_args.is_empty() {
        return Err(scope.err(
            format!("{name}() needs the field to test before the text, e.g. `{}`.", usage(name)),
            name_span,
        ));
    }
    if every_field {
        names = scope
            .fields
            .iter()
            .filter(|f| f.field_type == FieldType::Text)
            .map(|f| f.name.as_str())
            .collect();
    }
    if names.is_empty() {
        return Ok(lit(false));
    }
    let mut call_args = Vec::with_capacity(names.len() + 1);
    call_args.push(lit(text.as_str()));
    call_args.extend(names.into_iter().map(column));
    Ok(Arc::new(ScalarUDF::new_from_impl(FullTextUdf::with_mode(mode))).call(call_args))
}
