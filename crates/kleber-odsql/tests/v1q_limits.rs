//! The v1 `q` limits keep the ODSQL written within the ODSQL parser's limits: the deepest and
//! the longest queries accepted are written as ODSQL that parses.

use kleber_odsql::v1q::{FieldInfo, FieldKind, MAX_DEPTH, MAX_TERMS, translate};

const FIELDS: [FieldInfo<'static>; 2] = [
    FieldInfo { name: "maj", kind: FieldKind::Date },
    FieldInfo { name: "total", kind: FieldKind::Number },
];

fn accepted_and_parses(q: &str) {
    let odsql = translate(q, &FIELDS).unwrap_or_else(|e| panic!("{q:?}: {}", e.0)).unwrap();
    if let Err(e) = kleber_odsql::parse_where(&odsql) {
        panic!("{q:?} wrote {odsql:?}, which does not parse: {e}");
    }
}

#[test]
fn the_deepest_query_accepted_is_written_as_odsql_that_parses() {
    let innermost = ["maj>=#now(days=-7)", "total:[-1 TO -2]", "total>-5", "(a OR b) c"];
    for term in innermost {
        // Every level of nesting the v1 parser counts, used by NOT, by parentheses, or both.
        for (open, close) in [("NOT ", ""), ("(", ")"), ("(NOT ", ")"), ("(a OR ", ")")] {
            let mut q = String::new();
            let mut levels = 0;
            while translate(&format!("{q}{open}{term}{}", close.repeat(levels + 1)), &FIELDS)
                .is_ok()
            {
                q.push_str(open);
                levels += 1;
            }
            accepted_and_parses(&format!("{q}{term}{}", close.repeat(levels)));
            assert!(levels + 1 >= MAX_DEPTH / 2, "{open}{term}: only {levels} levels");
        }
    }
}

#[test]
fn the_longest_query_accepted_is_written_as_odsql_that_parses() {
    accepted_and_parses(&"a ".repeat(MAX_TERMS));
    accepted_and_parses(&"total:[1 TO 2] ".repeat(MAX_TERMS));
    let nested = "(".repeat(MAX_DEPTH - 1) + &"a ".repeat(MAX_TERMS) + &")".repeat(MAX_DEPTH - 1);
    accepted_and_parses(&nested);
    assert!(translate(&"a ".repeat(MAX_TERMS + 1), &FIELDS).is_err());
}
