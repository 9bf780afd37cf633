//! Volatility: whether a query's answer may change while the data does not.
//!
//! `now()` reads the clock and `random()` is documented as a shuffle; an answer that calls
//! either must not be cached nor tagged by the data's version. The ETag layer and the response
//! cache ask [`param_is_volatile`] for each query parameter, so both decide from the parsed
//! clauses, the same way, rather than by searching the text (where `` `now`(`` inside a string
//! or a field named `now` would fool a text rule).

use crate::ast::{Expr, ExprKind, SelectItem};
use crate::{parse_group_by, parse_order_by, parse_select, parse_where, v1q};

/// The functions whose result changes from call to call.
pub const VOLATILE_FUNCTIONS: [&str; 2] = ["now", "random"];

/// Whether `expr` calls a function of [`VOLATILE_FUNCTIONS`] anywhere.
pub fn is_volatile(expr: &Expr) -> bool {
    let mut found = false;
    expr.walk(&mut |e| {
        if let ExprKind::Call { name, .. } = &e.kind {
            found |= VOLATILE_FUNCTIONS.contains(&name.as_str());
        }
    });
    found
}

/// Whether the query parameter `name=value` calls a volatile function: an ODSQL clause
/// (`where`, `select`, `group_by`, `order_by`) or a v1 query (`q`, `q.<anything>`, `qv1`)
/// using `#now(…)`. Text that does not parse is not volatile: its answer is an error.
pub fn param_is_volatile(name: &str, value: &str) -> bool {
    // A call is written with the function's name: text without either name calls neither,
    // and most queries are answered without being parsed here once more.
    let lower = value.to_ascii_lowercase();
    if !VOLATILE_FUNCTIONS.iter().any(|f| lower.contains(f)) {
        return false;
    }
    match name {
        "where" => parse_where(value).is_ok_and(|e| is_volatile(&e)),
        "select" => parse_select(value).is_ok_and(|items| {
            items.iter().any(|i| matches!(i, SelectItem::Expr { expr, .. } if is_volatile(expr)))
        }),
        "group_by" => {
            parse_group_by(value).is_ok_and(|items| items.iter().any(|i| is_volatile(&i.expr)))
        }
        "order_by" => {
            parse_order_by(value).is_ok_and(|items| items.iter().any(|i| is_volatile(&i.expr)))
        }
        "q" | "qv1" => v1q::is_volatile(value),
        _ if name.starts_with("q.") => v1q::is_volatile(value),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_and_chance_are_found_in_the_tree() {
        assert!(param_is_volatile("where", "date > now(days=-1)"));
        assert!(param_is_volatile("where", "x = 1 AND (date > NOW (days=-1) OR y)"));
        assert!(param_is_volatile("order_by", "RANDOM(1)"));
        assert!(param_is_volatile("select", "random(1) AS r, nom"));
        assert!(param_is_volatile("group_by", "year(now()) AS y"));
        assert!(param_is_volatile("q", "date>=#now(days=-7)"));
        assert!(param_is_volatile("q.recent", "date>=#NOW(days=-7) AND gare"));
        assert!(param_is_volatile("qv1", "date>#now()"));
    }

    #[test]
    fn names_strings_and_other_parameters_are_not_calls() {
        assert!(!param_is_volatile("where", "`now` = 1"));
        assert!(!param_is_volatile("where", "nom = \"now()\""));
        assert!(!param_is_volatile("where", "\"random(1)\""));
        assert!(!param_is_volatile("select", "now, snow(x)"));
        assert!(!param_is_volatile("where", "known = 1"));
        assert!(!param_is_volatile("q", "now() random(1)"));
        assert!(!param_is_volatile("q", "\"#now(days=1)\""));
        assert!(!param_is_volatile("refine", "date:now()"));
        assert!(!param_is_volatile("where", "now( AND"));
    }
}
