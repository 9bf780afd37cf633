//! Syntax trees in the parser's canonical form, built from arbitrary bytes, for the writer's
//! round-trip property (shared by `tests/roundtrip.rs` and the `write_roundtrip` fuzz target).
//!
//! Canonical means what the parser produces: numbers are not negative (a minus is a
//! negation), a string standing where a condition is expected is a full-text node, named
//! arguments appear only in `now()` and `facet()`, call names are lowercase identifiers.

use kleber_odsql::{Arg, BinaryOp, DistanceUnit, Expr, ExprKind, Literal, Span, UnaryOp};

/// Bytes read one at a time; zeros once exhausted.
pub(crate) struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Bytes { data, pos: 0 }
    }

    pub(crate) fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    pub(crate) fn exhausted(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn flag(&mut self) -> bool {
        self.byte() & 1 == 0
    }

    fn choose(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |acc, _| (acc << 8) | u64::from(self.byte()))
    }

    /// Text mixing the characters that matter to quoting with arbitrary ones.
    pub(crate) fn text(&mut self) -> String {
        const SPECIAL: [char; 16] =
            ['"', '\'', '`', '\\', 'u', '0', '\n', '\r', '\t', ' ', 'é', '😀', ':', '(', 'a', '_'];
        let len = self.choose(12);
        (0..len)
            .map(|_| match self.choose(4) {
                0 => char::from_u32(u32::from(self.byte()) * 37 % 0x3000).unwrap_or('x'),
                _ => SPECIAL[self.choose(SPECIAL.len())],
            })
            .collect()
    }

    /// A name: often a plain identifier (possibly a reserved or keyword-like word), else
    /// arbitrary non-empty text.
    pub(crate) fn name(&mut self) -> String {
        const WORDS: [&str; 16] = [
            "nom", "in", "like", "is", "to", "and", "null", "date", "geom", "year", "a.b", "_id",
            "now", "NOT", "x1", "m",
        ];
        match self.choose(3) {
            0 => WORDS[self.choose(WORDS.len())].to_owned(),
            _ => {
                let t = self.text();
                if t.is_empty() { "f".to_owned() } else { t }
            }
        }
    }

    fn float(&mut self) -> f64 {
        let f = f64::from_bits(self.u64()).abs();
        if f.is_finite() { f } else { f64::from(self.byte()) / 4.0 }
    }
}

fn node(kind: ExprKind) -> Expr {
    Expr { kind, span: Span::default() }
}

fn boxed(e: Expr) -> Box<Expr> {
    Box::new(e)
}

/// A tree that [`kleber_odsql::parse_where`] reads back from its written form (`cond`: it
/// stands where a condition is expected, so strings there are full-text searches).
pub(crate) fn expr(b: &mut Bytes<'_>, depth: u8, cond: bool) -> Expr {
    if depth == 0 || b.exhausted() {
        return atom(b, cond);
    }
    let d = depth - 1;
    match b.choose(18) {
        0 => node(ExprKind::Binary {
            op: BinaryOp::Or,
            left: boxed(expr(b, d, cond)),
            right: boxed(expr(b, d, cond)),
        }),
        1 => node(ExprKind::Binary {
            op: BinaryOp::And,
            left: boxed(expr(b, d, cond)),
            right: boxed(expr(b, d, cond)),
        }),
        2 => node(ExprKind::Unary { op: UnaryOp::Not, expr: boxed(expr(b, d, cond)) }),
        3 | 4 => {
            const OPS: [BinaryOp; 11] = [
                BinaryOp::Eq,
                BinaryOp::NotEq,
                BinaryOp::Lt,
                BinaryOp::LtEq,
                BinaryOp::Gt,
                BinaryOp::GtEq,
                BinaryOp::Colon,
                BinaryOp::Add,
                BinaryOp::Sub,
                BinaryOp::Mul,
                BinaryOp::Div,
            ];
            let op = OPS[b.choose(OPS.len())];
            node(ExprKind::Binary {
                op,
                left: boxed(expr(b, d, false)),
                right: boxed(expr(b, d, false)),
            })
        }
        5 => node(ExprKind::Unary { op: UnaryOp::Neg, expr: boxed(expr(b, d, false)) }),
        6 => node(ExprKind::Like {
            expr: boxed(expr(b, d, false)),
            pattern: boxed(expr(b, d, false)),
            negated: b.flag(),
        }),
        7 => node(ExprKind::IsNull { expr: boxed(expr(b, d, false)), negated: b.flag() }),
        8 => node(ExprKind::IsBool {
            expr: boxed(expr(b, d, false)),
            value: b.flag(),
            negated: b.flag(),
        }),
        9 => {
            let len = 1 + b.choose(4);
            node(ExprKind::InList {
                expr: boxed(expr(b, d, false)),
                list: (0..len).map(|_| expr(b, d, false)).collect(),
                negated: b.flag(),
            })
        }
        10 => {
            let range = node(ExprKind::InRange {
                expr: boxed(expr(b, d, false)),
                low: boxed(expr(b, d, false)),
                high: boxed(expr(b, d, false)),
                low_inclusive: b.flag(),
                high_inclusive: b.flag(),
            });
            // `x NOT IN [..]` is read as NOT around the range.
            if b.choose(3) == 0 {
                node(ExprKind::Unary { op: UnaryOp::Not, expr: boxed(range) })
            } else {
                range
            }
        }
        11 | 12 => call(b, d),
        _ => atom(b, cond),
    }
}

fn call(b: &mut Bytes<'_>, depth: u8) -> Expr {
    const NAMES: [&str; 9] =
        ["now", "facet", "range", "count", "year", "search", "interval", "within_distance", "f"];
    let name = NAMES[b.choose(NAMES.len())];
    let len = b.choose(4);
    let mut args = Vec::new();
    for _ in 0..len {
        args.push(match b.choose(6) {
            0 => Arg::Star(Span::default()),
            1 if matches!(name, "now" | "facet") => {
                const ARGS: [&str; 4] = ["days", "name", "year", "in"];
                Arg::Named {
                    name: ARGS[b.choose(ARGS.len())].to_owned(),
                    value: expr(b, depth, false),
                    span: Span::default(),
                }
            }
            _ => Arg::Expr(expr(b, depth, false)),
        });
    }
    let distinct = !args.is_empty() && b.choose(5) == 0;
    node(ExprKind::Call { name: name.to_owned(), name_span: Span::default(), args, distinct })
}

fn atom(b: &mut Bytes<'_>, cond: bool) -> Expr {
    const UNITS: [DistanceUnit; 7] = [
        DistanceUnit::M,
        DistanceUnit::Km,
        DistanceUnit::Mi,
        DistanceUnit::Yd,
        DistanceUnit::Ft,
        DistanceUnit::Cm,
        DistanceUnit::Mm,
    ];
    let literal = match b.choose(10) {
        0 => Literal::Null,
        1 => Literal::Bool(b.flag()),
        2 => Literal::Integer((b.u64() >> 1) as i64),
        3 => Literal::Decimal(b.float()),
        4 | 5 if cond => return node(ExprKind::FullText(b.text())),
        4 | 5 => Literal::String(b.text()),
        6 => Literal::Date(b.text()),
        7 => Literal::Geom(b.text()),
        8 => Literal::Distance { value: b.float(), unit: UNITS[b.choose(UNITS.len())] },
        _ => return node(ExprKind::Field(b.name())),
    };
    node(ExprKind::Literal(literal))
}

/// `e` with every span emptied, to compare trees by their meaning.
pub(crate) fn strip(e: &Expr) -> Expr {
    let b = |e: &Expr| Box::new(strip(e));
    let kind = match &e.kind {
        k @ (ExprKind::Literal(_) | ExprKind::Field(_) | ExprKind::FullText(_)) => k.clone(),
        ExprKind::Unary { op, expr } => ExprKind::Unary { op: *op, expr: b(expr) },
        ExprKind::Binary { op, left, right } => {
            ExprKind::Binary { op: *op, left: b(left), right: b(right) }
        }
        ExprKind::Like { expr, pattern, negated } => {
            ExprKind::Like { expr: b(expr), pattern: b(pattern), negated: *negated }
        }
        ExprKind::IsNull { expr, negated } => ExprKind::IsNull { expr: b(expr), negated: *negated },
        ExprKind::IsBool { expr, value, negated } => {
            ExprKind::IsBool { expr: b(expr), value: *value, negated: *negated }
        }
        ExprKind::InList { expr, list, negated } => ExprKind::InList {
            expr: b(expr),
            list: list.iter().map(strip).collect(),
            negated: *negated,
        },
        ExprKind::InRange { expr, low, high, low_inclusive, high_inclusive } => ExprKind::InRange {
            expr: b(expr),
            low: b(low),
            high: b(high),
            low_inclusive: *low_inclusive,
            high_inclusive: *high_inclusive,
        },
        ExprKind::Call { name, args, distinct, .. } => ExprKind::Call {
            name: name.clone(),
            name_span: Span::default(),
            args: args
                .iter()
                .map(|a| match a {
                    Arg::Star(_) => Arg::Star(Span::default()),
                    Arg::Expr(e) => Arg::Expr(strip(e)),
                    Arg::Named { name, value, .. } => Arg::Named {
                        name: name.clone(),
                        value: strip(value),
                        span: Span::default(),
                    },
                })
                .collect(),
            distinct: *distinct,
        },
    };
    Expr { kind, span: Span::default() }
}

/// Checks the round trip of one input: a tree, a name and a string built from `data` are
/// written, parsed back, and must be what was meant. Panics with the text otherwise.
pub(crate) fn check(data: &[u8]) {
    let mut b = Bytes::new(data);
    let name = b.name();
    let written = kleber_odsql::write::name(&name);
    match kleber_odsql::parse_expr(&written).map(|e| e.kind) {
        Ok(ExprKind::Field(read)) => assert_eq!(read, name, "name written {written:?}"),
        other => panic!("name {name:?} written {written:?} read {other:?}"),
    }
    let text = b.text();
    let written = kleber_odsql::write::string(&text);
    match kleber_odsql::parse_where(&written).map(|e| e.kind) {
        Ok(ExprKind::FullText(read)) => assert_eq!(read, text, "string written {written:?}"),
        other => panic!("string {text:?} written {written:?} read {other:?}"),
    }
    let meant = expr(&mut b, 6, true);
    let written = kleber_odsql::write::expr(&meant);
    match kleber_odsql::parse_where(&written) {
        Ok(read) => assert_eq!(strip(&read), meant, "written {written:?}"),
        Err(e) => panic!("{meant:?}\nwritten {written:?}\nfails to parse: {e}"),
    }
}
