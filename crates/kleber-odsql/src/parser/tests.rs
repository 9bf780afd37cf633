//! Parser unit tests: behaviours the golden files do not show at a glance, the limits, and a
//! robustness sweep over truncated and random inputs.

use crate::{
    Arg, BinaryOp, Expr, ExprKind, Literal, MAX_DEPTH, MAX_HEIGHT, MAX_LEN, ParseError, SelectItem,
    Span, UnaryOp, parse_expr, parse_group_by, parse_order_by, parse_select, parse_where,
};

fn kind(src: &str) -> ExprKind {
    parse_where(src).unwrap_or_else(|e| panic!("{}", e.render(src))).kind
}

fn where_err(src: &str) -> ParseError {
    match parse_where(src) {
        Ok(expr) => panic!("{src:?} parsed: {expr:#?}"),
        Err(err) => err,
    }
}

fn field(name: &str, start: usize) -> Expr {
    Expr { kind: ExprKind::Field(name.to_owned()), span: Span::new(start, start + name.len()) }
}

/// Every sub-expression, pre-order.
fn all(expr: &Expr) -> Vec<&Expr> {
    let mut out = Vec::new();
    expr.walk(&mut |e| out.push(e));
    out
}

// ----- clause semantics -----

#[test]
fn strings_are_full_text_only_in_boolean_positions() {
    let expr = parse_where(r#""a" AND NOT ("b" OR f("c")) AND x IN ("d") AND y = "e""#).unwrap();
    let mut full_text = Vec::new();
    let mut strings = Vec::new();
    for e in all(&expr) {
        match &e.kind {
            ExprKind::FullText(s) => full_text.push(s.as_str()),
            ExprKind::Literal(Literal::String(s)) => strings.push(s.as_str()),
            _ => {}
        }
    }
    assert_eq!(full_text, ["a", "b"]);
    assert_eq!(strings, ["c", "d", "e"]);
}

#[test]
fn other_clauses_keep_strings_as_literals() {
    assert_eq!(parse_expr(r#""a" AND "b""#).unwrap().kind, {
        let lit = |s: &str, start| Expr {
            kind: ExprKind::Literal(Literal::String(s.to_owned())),
            span: Span::new(start, start + 3),
        };
        ExprKind::Binary {
            op: BinaryOp::And,
            left: Box::new(lit("a", 0)),
            right: Box::new(lit("b", 8)),
        }
    });
    let SelectItem::Expr { expr, .. } = &parse_select(r#""x""#).unwrap()[0] else { panic!() };
    assert_eq!(expr.as_str(), Some("x"));
}

#[test]
fn not_binds_tighter_than_and_which_binds_tighter_than_or() {
    let ExprKind::Binary { op: BinaryOp::Or, right, .. } = kind("a OR NOT b AND c") else {
        panic!()
    };
    let ExprKind::Binary { op: BinaryOp::And, left, .. } = right.kind else { panic!() };
    assert!(matches!(left.kind, ExprKind::Unary { op: UnaryOp::Not, .. }));
}

#[test]
fn not_applies_to_a_whole_comparison() {
    let ExprKind::Unary { op: UnaryOp::Not, expr } = kind("NOT a = 1") else { panic!() };
    assert!(matches!(expr.kind, ExprKind::Binary { op: BinaryOp::Eq, .. }));
}

#[test]
fn arithmetic_has_the_usual_precedence_and_associativity() {
    // 1 - 2 - 3 * 4 is (1 - 2) - (3 * 4)
    let ExprKind::Binary { op: BinaryOp::Sub, left, right } =
        parse_expr("1 - 2 - 3 * 4").unwrap().kind
    else {
        panic!()
    };
    assert!(matches!(left.kind, ExprKind::Binary { op: BinaryOp::Sub, .. }));
    assert!(matches!(right.kind, ExprKind::Binary { op: BinaryOp::Mul, .. }));
    assert_eq!(left.span, Span::new(0, 5));
}

#[test]
fn comparisons_do_not_chain() {
    for src in [
        "a = b = c",
        "a < b < c",
        "a = 1 LIKE 'x'",
        "a IS NULL IS NULL",
        "a = 1 IN (1)",
        "a LIKE 'x' NOT IN (1)",
    ] {
        let err = where_err(src);
        assert!(err.message.contains("cannot be chained"), "{src}: {}", err.message);
    }
    // Parentheses make it explicit.
    assert!(parse_where("(a = b) = true").is_ok());
}

#[test]
fn named_arguments_only_in_now_and_facet() {
    let ExprKind::Call { args, .. } = parse_expr("now(years=-1, day=1)").unwrap().kind else {
        panic!()
    };
    let Arg::Named { name, value, span } = &args[0] else { panic!() };
    assert_eq!((name.as_str(), value.as_integer(), *span), ("years", Some(-1), Span::new(4, 12)));

    let ExprKind::Call { args, .. } = parse_expr("facet(limit=10, SORT='x')").unwrap().kind else {
        panic!()
    };
    assert!(matches!(&args[0], Arg::Named { name, .. } if name == "limit"));
    assert!(matches!(&args[1], Arg::Named { name, .. } if name == "sort"));

    let ExprKind::Call { args, .. } = parse_expr("f(a = b)").unwrap().kind else { panic!() };
    assert!(matches!(
        &args[0],
        Arg::Expr(Expr { kind: ExprKind::Binary { op: BinaryOp::Eq, .. }, .. })
    ));
}

#[test]
fn count_distinct_and_stars() {
    let ExprKind::Call { name, args, distinct, .. } = parse_expr("COUNT(DISTINCT f)").unwrap().kind
    else {
        panic!()
    };
    assert_eq!((name.as_str(), distinct, args), ("count", true, vec![Arg::Expr(field("f", 15))]));

    let ExprKind::Call { args, distinct, .. } = parse_expr("count(*)").unwrap().kind else {
        panic!()
    };
    assert_eq!((args, distinct), (vec![Arg::Star(Span::new(6, 7))], false));
}

#[test]
fn function_names_are_fields_unless_called() {
    for word in [
        "year",
        "count",
        "search",
        "date_format",
        "range",
        "top",
        "equi",
        "in",
        "like",
        "is",
        "to",
        "date",
        "geom",
    ] {
        let src = format!("{word} = 1");
        let ExprKind::Binary { left, .. } = kind(&src) else { panic!("{src}") };
        assert_eq!(left.kind, ExprKind::Field(word.to_owned()), "{src}");
    }
    assert!(matches!(kind("year(d) = 2020"), ExprKind::Binary { .. }));
}

#[test]
fn reserved_words_need_backticks() {
    for word in [
        "and", "OR", "not", "as", "asc", "desc", "by", "distinct", "group", "select", "where",
        "limit",
    ] {
        assert!(parse_select(word).is_err(), "select={word}");
        let quoted = format!("`{word}`");
        let SelectItem::Expr { expr, text, .. } = &parse_select(&quoted).unwrap()[0] else {
            panic!()
        };
        assert_eq!(expr.kind, ExprKind::Field(word.to_owned()));
        assert_eq!(text, &quoted);
    }
    let err = parse_select("and").unwrap_err();
    assert_eq!(err.span, Span::new(0, 3));
    assert!(err.message.contains("write `and` in backticks"), "{}", err.message);
}

#[test]
fn literals_of_every_kind() {
    let lit = |src: &str| match parse_expr(src).unwrap().kind {
        ExprKind::Literal(l) => l,
        other => panic!("{src}: {other:?}"),
    };
    assert_eq!(lit("NULL"), Literal::Null);
    assert_eq!(lit("True"), Literal::Bool(true));
    assert_eq!(lit("false"), Literal::Bool(false));
    assert_eq!(lit("12"), Literal::Integer(12));
    assert_eq!(lit("1.25"), Literal::Decimal(1.25));
    assert_eq!(lit("'s'"), Literal::String("s".to_owned()));
    assert_eq!(lit("date'2017-04-03T08:02'"), Literal::Date("2017-04-03T08:02".to_owned()));
    assert_eq!(lit("geom'POINT(2.35 48.85)'"), Literal::Geom("POINT(2.35 48.85)".to_owned()));
    let Literal::Distance { value, unit } = lit("2.5KM") else { panic!() };
    assert_eq!(value * unit.meters(), 2500.0);
}

#[test]
fn negative_numbers_are_negations() {
    let expr = parse_expr("-3").unwrap();
    assert!(matches!(expr.kind, ExprKind::Unary { op: UnaryOp::Neg, .. }));
    assert_eq!((expr.as_integer(), expr.as_number()), (Some(-3), Some(-3.0)));
    assert_eq!(parse_expr("- -2.5").unwrap().as_number(), Some(2.5));
    assert_eq!(parse_expr("+7").unwrap().as_integer(), Some(7));
    assert_eq!(parse_expr("+7").unwrap().span, Span::new(0, 2));
    // i64::MIN cannot be written as a negated i64; it reads as a negated decimal.
    assert_eq!(parse_expr("-9223372036854775808").unwrap().as_number(), Some(i64::MIN as f64));
}

#[test]
fn ranges() {
    let range = |src: &str| match kind(src) {
        ExprKind::InRange { low, high, low_inclusive, high_inclusive, .. } => {
            (low.kind, high.kind, low_inclusive, high_inclusive)
        }
        other => panic!("{src}: {other:?}"),
    };
    let int = |i| ExprKind::Literal(Literal::Integer(i));
    assert_eq!(range("x IN [1..10]"), (int(1), int(10), true, true));
    assert_eq!(range("x IN ]1..10["), (int(1), int(10), false, false));
    assert_eq!(range("x in [1 to 10["), (int(1), int(10), true, false));
    assert_eq!(range("x IN ]1 TO 10]"), (int(1), int(10), false, true));
    let date = |d: &str| ExprKind::Literal(Literal::Date(d.to_owned()));
    assert_eq!(range("d IN [date'2017'..date'2018']"), (date("2017"), date("2018"), true, true));
}

#[test]
fn range_widths_are_intervals_only_inside_range() {
    let interval = |src: &str| {
        let ExprKind::Call { name, args, .. } = parse_expr(src).unwrap().kind else { panic!() };
        assert_eq!(name, "range");
        match &args[1] {
            Arg::Expr(Expr { kind: ExprKind::Call { name, args, .. }, .. })
                if name == "interval" =>
            {
                (
                    args[0].as_expr().unwrap().as_number(),
                    args[1].as_expr().unwrap().as_str().map(str::to_owned),
                )
            }
            other => panic!("{src}: {other:?}"),
        }
    };
    assert_eq!(interval("range(d, 1 day)"), (Some(1.0), Some("day".to_owned())));
    assert_eq!(interval("range(d, 2 MONTHS)"), (Some(2.0), Some("month".to_owned())));
    assert_eq!(interval("range(d, 5m)"), (Some(5.0), Some("minute".to_owned())));
    assert_eq!(interval("range(d, 5M)"), (Some(5.0), Some("month".to_owned())));
    assert_eq!(interval("range(d, 1.5h)"), (Some(1.5), Some("hour".to_owned())));
    // A plain number stays a number; a distance stays a distance.
    let ExprKind::Call { args, .. } = parse_expr("range(population, 5)").unwrap().kind else {
        panic!()
    };
    assert_eq!(args[1].as_expr().unwrap().as_integer(), Some(5));
    assert!(parse_expr("range(geo, 5km)").is_ok());
    // Outside range(), time words are not units.
    assert!(parse_expr("f(d, 1 day)").is_err());
    assert!(parse_expr("f(d, 1d)").is_err());
    // `day(` is a call, not a unit.
    assert!(parse_expr("range(d, 1 day(x))").is_err());
}

#[test]
fn old_range_brackets_become_stars() {
    let ExprKind::Call { args, .. } = parse_expr("range(f, ]10, 50[)").unwrap().kind else {
        panic!()
    };
    let shape: Vec<&str> = args
        .iter()
        .map(|a| match a {
            Arg::Star(_) => "*",
            Arg::Expr(_) => "e",
            Arg::Named { .. } => "n",
        })
        .collect();
    assert_eq!(shape, ["e", "*", "e", "e", "*"]);
    assert_eq!(args[1].span(), Span::new(9, 10));
    assert!(parse_expr("f(x, ]10, 50[)").is_err());
}

#[test]
fn select_items_keep_text_and_alias() {
    let items = parse_select(" count(*)  AS n , `a b` as `c d`, x as 'e' ,*, include(a*)").unwrap();
    let summary: Vec<(String, Option<String>)> = items
        .iter()
        .map(|i| match i {
            SelectItem::Expr { text, alias, .. } => (text.clone(), alias.clone()),
            SelectItem::Star(span) => ("*".to_owned(), Some(format!("{span:?}"))),
            SelectItem::Include(p, _) => (p.join(","), None),
            SelectItem::Exclude(p, _) => (p.join(","), None),
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("count(*)".to_owned(), Some("n".to_owned())),
            ("`a b`".to_owned(), Some("c d".to_owned())),
            ("x".to_owned(), Some("e".to_owned())),
            ("*".to_owned(), Some("44..45".to_owned())),
            ("a*".to_owned(), None),
        ]
    );
}

#[test]
fn group_and_order_items() {
    let groups = parse_group_by("year(d) AS y, city").unwrap();
    assert_eq!((groups[0].text.as_str(), groups[0].alias.as_deref()), ("year(d)", Some("y")));
    assert_eq!((groups[1].text.as_str(), groups[1].alias.as_deref()), ("city", None));
    let order = parse_order_by("count(*) DESC, name asc, x").unwrap();
    let dirs: Vec<bool> = order.iter().map(|o| o.descending).collect();
    assert_eq!(dirs, [true, false, false]);
    assert!(parse_order_by("x AS y").is_err());
}

#[test]
fn walk_visits_every_expression_in_source_order() {
    let expr = parse_expr("f(a, x=1) + -b IN (c, d)").unwrap();
    let fields: Vec<&str> = all(&expr)
        .into_iter()
        .filter_map(|e| match &e.kind {
            ExprKind::Field(f) => Some(f.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(fields, ["a", "x", "b", "c", "d"]);
}

// ----- errors -----

#[test]
fn error_messages_say_what_was_expected_and_where() {
    let err = where_err("a = 1 foo");
    assert_eq!(
        err.message,
        r#"expected one of "AND", "OR", end of input but found "foo" at position 6"#
    );
    assert_eq!(err.expected, [r#""AND""#, r#""OR""#, "end of input"]);
    assert_eq!(err.span, Span::new(6, 9));
    assert_eq!(err.to_string(), err.message);

    let err = parse_select("count(x AS y)").unwrap_err();
    assert_eq!(
        err.message,
        r#"expected one of "AND", "OR", ")", "," but found "AS" at position 8"#
    );

    let err = where_err("name = (1 + )");
    assert_eq!(err.message, r#"expected an expression but found ")" at position 12"#);
}

#[test]
fn positions_in_messages_count_characters_not_bytes() {
    let err = where_err("\"éé\" = 1 #");
    assert_eq!(err.message, "unknown character \"#\" at position 9");
    assert_eq!(err.span, Span::new(11, 12));
    let err = where_err("\"ü\" AND 'x");
    assert_eq!(err.message, "unterminated string starting at position 8");
    assert_eq!(err.span, Span::new(9, 11));
}

#[test]
fn empty_clauses_are_errors() {
    for src in ["", " ", "\n\t"] {
        assert_eq!(where_err(src).message, "empty expression");
        assert_eq!(parse_select(src).unwrap_err().message, "empty expression");
        assert_eq!(parse_order_by(src).unwrap_err().message, "empty expression");
        assert_eq!(parse_group_by(src).unwrap_err().message, "empty expression");
        assert_eq!(parse_expr(src).unwrap_err().message, "empty expression");
    }
}

#[test]
fn render_puts_a_caret_under_the_span() {
    let src = "a = 1 foo";
    assert_eq!(where_err(src).render(src), "a = 1 foo\n      ^^^");
}

#[test]
fn double_equals_gets_a_hint() {
    let err = where_err("a == 1");
    assert_eq!(err.message, "unexpected \"==\" at position 2: compare with a single \"=\"");
    assert_eq!(err.span, Span::new(2, 4));
}

// ----- limits -----

#[test]
fn nesting_is_limited() {
    let parens = |n: usize| format!("{}a{}", "(".repeat(n), ")".repeat(n));
    assert!(parse_where(&parens(MAX_DEPTH)).is_ok());
    let err = where_err(&parens(MAX_DEPTH + 1));
    assert!(
        err.message.starts_with("expression nested too deeply at position 64"),
        "{}",
        err.message
    );
    assert_eq!(err.span, Span::new(64, 65));

    let nots = |n: usize| format!("{}a", "NOT ".repeat(n));
    assert!(parse_where(&nots(MAX_DEPTH)).is_ok());
    assert!(where_err(&nots(MAX_DEPTH + 1)).message.contains("nested too deeply"));

    let calls = |n: usize| format!("{}a{}", "f(".repeat(n), ")".repeat(n));
    assert!(parse_where(&calls(MAX_DEPTH)).is_ok());
    assert!(where_err(&calls(MAX_DEPTH + 1)).message.contains("nested too deeply"));

    let signs = |n: usize| format!("{}1", "-".repeat(n));
    assert!(parse_expr(&signs(MAX_DEPTH)).is_ok());
    assert!(parse_expr(&signs(MAX_DEPTH + 1)).unwrap_err().message.contains("nested too deeply"));

    // An IN list is a level too.
    let list = |n: usize| format!("{}x IN (a){}", "(".repeat(n), ")".repeat(n));
    assert!(parse_expr(&list(MAX_DEPTH - 1)).is_ok());
    assert!(parse_expr(&list(MAX_DEPTH)).unwrap_err().message.contains("nested too deeply"));
}

#[test]
fn long_chains_are_limited_by_tree_height() {
    // A chain of n operands is a left-deep tree of height n.
    let chain = |n: usize| vec!["a = 1"; n].join(" OR ");
    assert!(parse_where(&chain(MAX_HEIGHT / 2)).is_ok());
    let err = where_err(&chain(MAX_HEIGHT));
    assert!(err.message.starts_with("expression too complex at position 0"), "{}", err.message);
    let sums = |n: usize| vec!["1"; n].join("+");
    assert!(parse_expr(&sums(MAX_HEIGHT)).is_ok());
    assert!(parse_expr(&sums(MAX_HEIGHT + 1)).is_err());
    // Wide is fine: lists and items are vectors, not chains.
    let list = format!("x IN ({})", vec!["1"; 20_000].join(","));
    assert!(parse_where(&list).is_ok());
    assert_eq!(parse_select(&vec!["a"; 20_000].join(",")).unwrap().len(), 20_000);
}

#[test]
fn the_tallest_accepted_tree_is_safe_to_walk_print_and_drop_on_a_small_stack() {
    let src = vec!["1"; MAX_HEIGHT].join("+");
    // 1 MiB, half of a default thread's stack: unoptimised builds have the largest frames.
    let handle = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            let expr = parse_expr(&src).unwrap();
            let mut count = 0;
            expr.walk(&mut |_| count += 1);
            // Compact `Debug`: the pretty form indents every level and grows quadratically.
            let printed = format!("{expr:?}");
            assert_eq!(expr.clone(), expr);
            drop(expr);
            (count, printed.len())
        })
        .unwrap();
    let (count, printed) = handle.join().unwrap();
    assert_eq!(count, 2 * MAX_HEIGHT - 1);
    assert!(printed > 0);
}

#[test]
fn long_input_is_rejected() {
    let src = format!("a = '{}'", "x".repeat(MAX_LEN));
    let err = where_err(&src);
    assert_eq!(
        err.message,
        format!("query too long: {} bytes, at most {MAX_LEN} are allowed", src.len())
    );
    // Cut on a char boundary even when the limit falls inside a character.
    let src = "é".repeat(MAX_LEN / 2 + 1);
    assert_eq!(where_err(&src).span.start, MAX_LEN);
    let src = format!("a{}", "é".repeat(MAX_LEN / 2));
    let err = where_err(&src);
    assert_eq!(err.span.start, MAX_LEN - 1);
    let _ = err.render(&src);
}

// ----- robustness -----

/// Checks that every span in `result` lies within `src` on char boundaries.
fn check_spans<T>(src: &str, result: &Result<T, ParseError>, spans: impl Fn(&T) -> Vec<Span>) {
    let ok = |span: Span| {
        span.start <= span.end
            && span.end <= src.len()
            && src.is_char_boundary(span.start)
            && src.is_char_boundary(span.end)
    };
    match result {
        Ok(tree) => {
            for span in spans(tree) {
                assert!(ok(span), "bad span {span:?} in {src:?}");
            }
        }
        Err(err) => {
            assert!(ok(err.span), "bad error span {:?} in {src:?}: {}", err.span, err.message);
            assert!(!err.message.is_empty());
            let _ = err.render(src);
        }
    }
}

fn expr_spans(expr: &Expr) -> Vec<Span> {
    let mut spans = Vec::new();
    expr.walk(&mut |e| {
        spans.push(e.span);
        if let ExprKind::Call { name_span, args, .. } = &e.kind {
            spans.push(*name_span);
            spans.extend(args.iter().map(Arg::span));
        }
    });
    spans
}

/// Runs every entry point on `src`: none may panic, and every span must be valid.
fn parse_everything(src: &str) {
    check_spans(src, &parse_where(src), expr_spans);
    check_spans(src, &parse_expr(src), expr_spans);
    check_spans(src, &parse_select(src), |items| {
        items
            .iter()
            .flat_map(|i| match i {
                SelectItem::Star(s) | SelectItem::Include(_, s) | SelectItem::Exclude(_, s) => {
                    vec![*s]
                }
                SelectItem::Expr { expr, .. } => expr_spans(expr),
            })
            .collect()
    });
    check_spans(src, &parse_order_by(src), |items| {
        items.iter().flat_map(|i| expr_spans(&i.expr)).collect()
    });
    check_spans(src, &parse_group_by(src), |items| {
        items.iter().flat_map(|i| expr_spans(&i.expr)).collect()
    });
}

const LONG_QUERIES: [&str; 5] = [
    r#"("tree" OR "bush") AND NOT `and` IN [date'2017'..date'2018'[ AND within_distance(geo, geom'POINT(2.35 48.85)', 10km) OR name NOT LIKE 'Don\'t' AND x IS NOT NULL AND y IN ("a", "b", -3.5e2)"#,
    r#"count(distinct f) as n, include(name, address*), exclude(`internal id`), date_format(d, 'yyyy-MM') AS `mois é`, *"#,
    r#"range(d, 1 day) as y, range(f, *, 10, 50, 100, *), range(g, ]1, 2[), year(d), now(years=-1, day=+1) - 2 * x / 3"#,
    r#"count(*) desc, random(3), `é`.x ASC, in_bbox(geo, 48.9, 2.2, 48.8, 2.4), default.modified DESC"#,
    "search(*, \"bok of secret\")\n\tAND suggest(\"film\") AND startswith(f1, f2, \"x\") AND lower(`f`) = \"caf\\u00e9\" AND a <> 1 AND b != 2 AND c:'d' AND e >= 1..",
];

#[test]
fn every_prefix_and_byte_truncation_of_long_queries_parses_or_fails_cleanly() {
    for query in LONG_QUERIES {
        let bytes = query.as_bytes();
        for end in 0..=bytes.len() {
            // Byte truncations that split a character become U+FFFD, as a server decoding a
            // request would produce.
            let truncated = String::from_utf8_lossy(&bytes[..end]);
            parse_everything(&truncated);
            // Suffixes too: an error early in a query must not hide panics later.
            if query.is_char_boundary(end) {
                parse_everything(&query[end..]);
            }
        }
    }
}

/// A small deterministic pseudo-random generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_token_soup_never_panics() {
    const PIECES: [&str; 58] = [
        "a",
        "b.c",
        "`x`",
        "`",
        "'s'",
        "\"t\"",
        "'",
        "\"",
        "\\",
        "1",
        "2.5",
        ".5",
        "1e3",
        "10km",
        "1d",
        "5m",
        "date'2020'",
        "geom'POINT(1 2)'",
        "(",
        ")",
        "[",
        "]",
        "..",
        ",",
        "*",
        "+",
        "-",
        "/",
        "=",
        "!=",
        "<>",
        "<",
        "<=",
        ">",
        ">=",
        ":",
        "!",
        "AND",
        "OR",
        "NOT",
        "IN",
        "LIKE",
        "IS",
        "NULL",
        "TRUE",
        "TO",
        "AS",
        "DESC",
        "DISTINCT",
        "count",
        "range",
        "now",
        "facet",
        "include",
        "day",
        " ",
        "é",
        "#",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let len = rng.below(14);
        let mut src = String::new();
        for _ in 0..len {
            src.push_str(PIECES[rng.below(PIECES.len())]);
            if rng.below(3) == 0 {
                src.push(' ');
            }
        }
        parse_everything(&src);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..5_000 {
        let len = rng.below(24);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        parse_everything(&String::from_utf8_lossy(&bytes));
        let ascii: String = bytes.iter().map(|b| char::from(b % 96 + 32)).collect();
        parse_everything(&ascii);
    }
}
