//! The caps every query passes before it is planned, whatever front end built it.
//!
//! A single anonymous GET must not be able to take the server down, so the sizes a request
//! controls are bounded here, inside the engine, where v2.1, v2.0, v1, download URLs and the
//! portal all pass: how many `where`, `refine`, `exclude` and `facet` parameters, how many items
//! an `IN` list holds, how much an alias may be copied where it is referenced, how deeply a
//! geometry literal nests, how long a `date_format` pattern or a text literal is, and how far
//! `offset` may go. Each cap has a name, and its error names it: the caller learns which bound
//! it met and what the bound is. The ODSQL parser bounds the nesting of one clause itself
//! ([`kleber_odsql::MAX_DEPTH`], [`kleber_odsql::MAX_HEIGHT`]).

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::Expr;

use crate::error::{Clause, Error, Result};
use crate::plan::RecordsQuery;

/// Most `where` parameters in one query (they are ANDed).
pub const MAX_WHERE_PARAMS: usize = 100;
/// Most `refine` parameters in one query.
pub const MAX_REFINE_PARAMS: usize = 100;
/// Most `exclude` parameters in one query.
pub const MAX_EXCLUDE_PARAMS: usize = 100;
/// Most facets asked for in one request.
pub const MAX_FACETS: usize = 50;
/// Most items in one `IN (...)` list.
pub const MAX_IN_LIST_ITEMS: usize = 1_000;
/// Most expression nodes that references to `select`/`group_by` aliases may copy in one
/// clause (an alias is replaced by its expression wherever it is named).
pub const MAX_ALIAS_EXPANSION: usize = 10_000;
/// Most nested brackets in a geometry (WKT `GEOMETRYCOLLECTION(...)`, GeoJSON arrays and
/// objects); a real geometry needs at most five or six.
pub const MAX_GEOMETRY_NESTING: usize = 32;
/// Longest `date_format` pattern, in characters: its output is about as long, on every row.
pub const MAX_DATE_FORMAT_PATTERN: usize = 256;
/// Longest text literal, in bytes (a selected literal is repeated on every row).
pub const MAX_TEXT_LITERAL: usize = 4_096;
/// Largest `offset` (and v1 `start`): far beyond every page window, far below overflow.
pub const MAX_OFFSET: usize = 1 << 40;

fn too_many(param: &'static str, cap: &str, max: usize, found: usize) -> Error {
    // The legacy APIs' parameters that become these, so that their users recognise them.
    let legacy = match param {
        "where" => " (with v1's q, q.* and geofilter.* parameters)",
        "refine" => " (v1: refine.*)",
        "exclude" => " (v1: exclude.*)",
        _ => "",
    };
    Error::InvalidParameter {
        name: param,
        message: format!(
            "Too many {param} API parameters{legacy}: {found} were found but at most {max} are allowed ({cap})."
        ),
    }
}

/// Checks the parameter counts and the window of `query`.
pub(crate) fn check_query(query: &RecordsQuery) -> Result<()> {
    let counts = [
        ("where", "MAX_WHERE_PARAMS", MAX_WHERE_PARAMS, query.r#where.len()),
        ("refine", "MAX_REFINE_PARAMS", MAX_REFINE_PARAMS, query.refine.len()),
        ("exclude", "MAX_EXCLUDE_PARAMS", MAX_EXCLUDE_PARAMS, query.exclude.len()),
    ];
    for (param, cap, max, found) in counts {
        if found > max {
            return Err(too_many(param, cap, max, found));
        }
    }
    if query.offset > MAX_OFFSET {
        return Err(Error::InvalidParameter {
            name: "offset",
            message: format!(
                "Invalid value for offset API parameter: {} was found but offset <= {MAX_OFFSET} is expected (MAX_OFFSET).",
                query.offset
            ),
        });
    }
    Ok(())
}

/// Checks the number of facets asked for.
pub(crate) fn check_facets(count: usize) -> Result<()> {
    if count > MAX_FACETS {
        return Err(too_many("facet", "MAX_FACETS", MAX_FACETS, count));
    }
    Ok(())
}

/// The error of an `IN` list longer than [`MAX_IN_LIST_ITEMS`], if it is.
pub(crate) fn check_in_list(items: usize) -> Option<String> {
    (items > MAX_IN_LIST_ITEMS).then(|| {
        format!(
            "the IN list has {items} items but at most {MAX_IN_LIST_ITEMS} are allowed (MAX_IN_LIST_ITEMS); filter on a coarser field or split the query."
        )
    })
}

/// The error of a text literal longer than [`MAX_TEXT_LITERAL`], if it is.
pub(crate) fn check_text_literal(text: &str) -> Option<String> {
    (text.len() > MAX_TEXT_LITERAL).then(|| {
        format!(
            "a text literal of {} bytes was found but at most {MAX_TEXT_LITERAL} are allowed (MAX_TEXT_LITERAL).",
            text.len()
        )
    })
}

/// The error of a `date_format` pattern longer than [`MAX_DATE_FORMAT_PATTERN`], if it is.
pub(crate) fn check_date_pattern(pattern: &str) -> Option<String> {
    let chars = pattern.chars().count();
    (chars > MAX_DATE_FORMAT_PATTERN).then(|| {
        format!(
            "the date_format pattern has {chars} characters but at most {MAX_DATE_FORMAT_PATTERN} are allowed (MAX_DATE_FORMAT_PATTERN)."
        )
    })
}

/// The error of a geometry text nested deeper than [`MAX_GEOMETRY_NESTING`], if it is.
///
/// Counted on the text, before any parser recurses into it: WKT nests with parentheses,
/// GeoJSON with brackets and braces.
pub(crate) fn check_geometry_nesting(text: &str) -> Option<String> {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for b in text.bytes() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > MAX_GEOMETRY_NESTING {
                    return Some(format!(
                        "the geometry is nested more than {MAX_GEOMETRY_NESTING} levels deep (MAX_GEOMETRY_NESTING)"
                    ));
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Number of nodes of an expression tree.
fn size(e: &Expr) -> usize {
    let mut n = 0usize;
    // Counting never fails: the closure only returns Ok.
    let _ = e.apply(|_| {
        n += 1;
        Ok(TreeNodeRecursion::Continue)
    });
    n
}

/// Counts the nodes copied by alias references in one clause.
#[derive(Debug, Default)]
pub(crate) struct AliasBudget(std::cell::Cell<usize>);

impl AliasBudget {
    /// Accounts for one more copy of `expr`; an error once the clause has copied more than
    /// [`MAX_ALIAS_EXPANSION`] nodes.
    pub(crate) fn spend(&self, alias: &str, expr: &Expr, clause: Clause) -> Result<()> {
        let total = self.0.get().saturating_add(size(expr));
        self.0.set(total);
        if total > MAX_ALIAS_EXPANSION {
            return Err(Error::odsql(
                clause,
                format!(
                    "the aliases referenced in this clause expand to more than {MAX_ALIAS_EXPANSION} expression nodes (MAX_ALIAS_EXPANSION), the last one `{alias}`; reference large aliased expressions fewer times."
                ),
                None,
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_counts_are_capped_by_name() {
        let mut q = RecordsQuery {
            r#where: vec!["a = 1".to_owned(); MAX_WHERE_PARAMS],
            ..RecordsQuery::default()
        };
        assert!(check_query(&q).is_ok());
        q.r#where.push("a = 1".to_owned());
        let e = check_query(&q).unwrap_err().to_string();
        assert!(e.contains("MAX_WHERE_PARAMS") && e.contains("101 were found"), "{e}");
        let q = RecordsQuery { refine: vec!["a:b".to_owned(); 1000], ..RecordsQuery::default() };
        assert!(check_query(&q).unwrap_err().to_string().contains("MAX_REFINE_PARAMS"));
        let q = RecordsQuery { exclude: vec!["a:b".to_owned(); 101], ..RecordsQuery::default() };
        assert!(check_query(&q).unwrap_err().to_string().contains("MAX_EXCLUDE_PARAMS"));
        let q = RecordsQuery { offset: usize::MAX, ..RecordsQuery::default() };
        assert!(check_query(&q).unwrap_err().to_string().contains("MAX_OFFSET"));
        assert!(check_facets(MAX_FACETS).is_ok());
        assert!(check_facets(MAX_FACETS + 1).unwrap_err().to_string().contains("MAX_FACETS"));
    }

    #[test]
    fn geometry_nesting_is_counted_before_parsing() {
        assert!(check_geometry_nesting("POLYGON((1 2, 3 4, 5 6, 1 2))").is_none());
        assert!(
            check_geometry_nesting(r#"{"type":"MultiPolygon","coordinates":[[[[1,2]]]]}"#)
                .is_none()
        );
        let deep = format!("{}POINT(1 2){}", "GEOMETRYCOLLECTION(".repeat(2000), ")".repeat(2000));
        assert!(check_geometry_nesting(&deep).unwrap().contains("MAX_GEOMETRY_NESTING"));
        let deep_json = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(check_geometry_nesting(&deep_json).is_some());
        // Brackets inside a JSON string do not count.
        let quoted = format!(r#"{{"type":"Point","x":"{}","coordinates":[1,2]}}"#, "[".repeat(100));
        assert!(check_geometry_nesting(&quoted).is_none());
    }

    #[test]
    fn alias_copies_are_budgeted() {
        use datafusion::logical_expr::{col, lit};
        let big = (0..100).fold(col("a"), |e, i| e + lit(i));
        let budget = AliasBudget::default();
        let per_copy = size(&big);
        assert!(per_copy > 100);
        let allowed = MAX_ALIAS_EXPANSION / per_copy;
        for _ in 0..allowed {
            budget.spend("x", &big, Clause::Select).unwrap();
        }
        let e = budget.spend("x", &big, Clause::Select).unwrap_err().to_string();
        assert!(e.contains("MAX_ALIAS_EXPANSION") && e.contains("`x`"), "{e}");
    }

    #[test]
    fn lengths_are_capped() {
        assert!(check_in_list(MAX_IN_LIST_ITEMS).is_none());
        assert!(check_in_list(MAX_IN_LIST_ITEMS + 1).unwrap().contains("MAX_IN_LIST_ITEMS"));
        assert!(check_text_literal(&"x".repeat(MAX_TEXT_LITERAL)).is_none());
        assert!(check_text_literal(&"x".repeat(MAX_TEXT_LITERAL + 1)).is_some());
        assert!(check_date_pattern("yyyy-MM-dd").is_none());
        assert!(check_date_pattern(&"y".repeat(100_000)).unwrap().contains("MAX_DATE_FORMAT"));
    }
}
