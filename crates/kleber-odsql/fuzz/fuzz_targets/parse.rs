//! Feeds arbitrary text to every ODSQL entry point: none may panic or overflow the stack, and
//! every span, of a tree or of an error, must lie on character boundaries of the input.
#![no_main]

use kleber_odsql::{
    Arg, Expr, ExprKind, ParseError, SelectItem, Span, parse_expr, parse_group_by, parse_order_by,
    parse_select, parse_where,
};
use libfuzzer_sys::fuzz_target;

fn check_span(src: &str, span: Span) {
    assert!(span.start <= span.end && span.end <= src.len(), "{span:?} out of {src:?}");
    assert!(src.is_char_boundary(span.start) && src.is_char_boundary(span.end));
}

fn check_expr(src: &str, expr: &Expr) {
    expr.walk(&mut |e| {
        check_span(src, e.span);
        if let ExprKind::Call { name_span, args, .. } = &e.kind {
            check_span(src, *name_span);
            args.iter().map(Arg::span).for_each(|s| check_span(src, s));
        }
    });
}

fn check_error(src: &str, err: &ParseError) {
    check_span(src, err.span);
    assert!(!err.message.is_empty());
    let _ = err.render(src);
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match parse_where(src) {
        Ok(expr) => check_expr(src, &expr),
        Err(err) => check_error(src, &err),
    }
    match parse_expr(src) {
        Ok(expr) => check_expr(src, &expr),
        Err(err) => check_error(src, &err),
    }
    match parse_select(src) {
        Ok(items) => {
            for item in &items {
                match item {
                    SelectItem::Star(span)
                    | SelectItem::Include(_, span)
                    | SelectItem::Exclude(_, span) => check_span(src, *span),
                    SelectItem::Expr { expr, .. } => check_expr(src, expr),
                }
            }
        }
        Err(err) => check_error(src, &err),
    }
    match parse_order_by(src) {
        Ok(items) => items.iter().for_each(|i| check_expr(src, &i.expr)),
        Err(err) => check_error(src, &err),
    }
    match parse_group_by(src) {
        Ok(items) => items.iter().for_each(|i| check_expr(src, &i.expr)),
        Err(err) => check_error(src, &err),
    }
});
