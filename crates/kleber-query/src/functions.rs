//! The registry of ODSQL functions Kleber plans, with their documentation.
//!
//! Each entry says what the function is and how it is lowered to DataFusion. `docs/odsql.md`
//! is checked against this table by a test, so a function cannot be added without its docs.

use datafusion::arrow::datatypes::DataType;
use datafusion::functions::expr_fn as f;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::Expr;

/// What kind of function an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionKind {
    /// One value per record.
    Scalar,
    /// One value per group (`select` with or without `group_by`).
    Aggregate,
}

/// Documentation of one ODSQL function.
#[derive(Debug, Clone, Copy)]
pub struct FunctionDoc {
    /// Name as written in ODSQL (lowercase).
    pub name: &'static str,
    /// Scalar or aggregate.
    pub kind: FunctionKind,
    /// Call shape.
    pub signature: &'static str,
    /// What it returns.
    pub description: &'static str,
    /// An example query using it.
    pub example: &'static str,
}

/// Every function the planner accepts.
pub const FUNCTIONS: &[FunctionDoc] = &[
    FunctionDoc {
        name: "lower",
        kind: FunctionKind::Scalar,
        signature: "lower(text)",
        description: "The text in lowercase.",
        example: "where=lower(nom_parking) = \"parking gutenberg\"",
    },
    FunctionDoc {
        name: "upper",
        kind: FunctionKind::Scalar,
        signature: "upper(text)",
        description: "The text in uppercase.",
        example: "select=upper(etat_descriptif) as etat",
    },
    FunctionDoc {
        name: "length",
        kind: FunctionKind::Scalar,
        signature: "length(text)",
        description: "Number of characters of the text.",
        example: "where=length(nom_parking) > 20",
    },
    FunctionDoc {
        name: "ifnull",
        kind: FunctionKind::Scalar,
        signature: "ifnull(expr, fallback)",
        description: "The value of expr, or fallback when it is null.",
        example: "select=ifnull(libre, 0) as libre",
    },
    FunctionDoc {
        name: "random",
        kind: FunctionKind::Scalar,
        signature: "random(seed)",
        description: "A pseudo-random sort key, the same for the same seed and records (with group_by, for the same groups), so that paging through a shuffled order works (in order_by).",
        example: "order_by=random(42)",
    },
    FunctionDoc {
        name: "count",
        kind: FunctionKind::Aggregate,
        signature: "count(*) | count(field) | count(distinct field)",
        description: "Number of records, of non-null values, or of distinct non-null values.",
        example: "select=count(*) as n&group_by=etat_descriptif",
    },
    FunctionDoc {
        name: "sum",
        kind: FunctionKind::Aggregate,
        signature: "sum(number)",
        description: "Sum of the non-null values.",
        example: "select=sum(libre) as places_libres",
    },
    FunctionDoc {
        name: "avg",
        kind: FunctionKind::Aggregate,
        signature: "avg(number)",
        description: "Mean of the non-null values.",
        example: "select=avg(total)",
    },
    FunctionDoc {
        name: "min",
        kind: FunctionKind::Aggregate,
        signature: "min(number|date|text)",
        description: "Smallest non-null value.",
        example: "select=min(total)",
    },
    FunctionDoc {
        name: "max",
        kind: FunctionKind::Aggregate,
        signature: "max(number|date|text)",
        description: "Largest non-null value.",
        example: "select=max(total)",
    },
];

/// ODSQL functions that are parsed but not planned yet; they get a precise error.
pub const NOT_YET_SUPPORTED: &[&str] =
    &["json_format", "vector_similarity", "vector_similarity_threshold", "include", "exclude"];

/// Every documented function: the core ones here, then each family's.
pub fn all() -> impl Iterator<Item = &'static FunctionDoc> {
    FUNCTIONS
        .iter()
        .chain(crate::text::FUNCTIONS)
        .chain(crate::dates::FUNCTIONS)
        .chain(crate::geo::FUNCTIONS)
        .chain(crate::json::FUNCTIONS)
}

/// Looks a core function up by its (case-insensitive) name.
pub fn lookup(name: &str) -> Option<&'static FunctionDoc> {
    FUNCTIONS.iter().find(|d| d.name.eq_ignore_ascii_case(name))
}

/// Lowers a call of a registered scalar function whose arguments are already lowered.
/// Returns `Err(message)` when the arity is wrong.
pub(crate) fn lower_scalar(name: &str, mut args: Vec<Expr>) -> Result<Expr, String> {
    let want = |n: usize, args: &Vec<Expr>| -> Result<(), String> {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!(
                "{name}() takes {n} argument{}, {} given.",
                if n == 1 { "" } else { "s" },
                args.len()
            ))
        }
    };
    Ok(match name {
        "lower" => {
            want(1, &args)?;
            f::lower(args.remove(0))
        }
        "upper" => {
            want(1, &args)?;
            f::upper(args.remove(0))
        }
        "length" => {
            want(1, &args)?;
            Expr::Cast(datafusion::logical_expr::Cast::new(
                Box::new(f::character_length(args.remove(0))),
                DataType::Int64,
            ))
        }
        "ifnull" => {
            want(2, &args)?;
            f::coalesce(args)
        }
        other => return Err(format!("{other}() is not a scalar function.")),
    })
}

/// Lowers an aggregate call. `star` is `count(*)`.
pub(crate) fn lower_aggregate(
    name: &str,
    mut args: Vec<Expr>,
    star: bool,
    distinct: bool,
) -> Result<Expr, String> {
    if name == "count" {
        return match (star, distinct, args.len()) {
            (true, false, 0) => Ok(datafusion::functions_aggregate::count::count_all()),
            (false, false, 1) => Ok(agg::count(args.remove(0))),
            (false, true, 1) => Ok(agg::count_distinct(args.remove(0))),
            _ => Err("count() takes `*`, one field, or `distinct` and one field.".to_owned()),
        };
    }
    if star || distinct || args.len() != 1 {
        return Err(format!("{name}() takes exactly one field or expression."));
    }
    let arg = args.remove(0);
    Ok(match name {
        "sum" => agg::sum(arg),
        "avg" => agg::avg(arg),
        "min" => agg::min(arg),
        "max" => agg::max(arg),
        other => return Err(format!("{other}() is not an aggregate function.")),
    })
}

/// The "Functions" section of `docs/odsql.md`, rendered from the registry.
pub fn functions_markdown() -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = String::from(
        "## Functions\n\n| function | kind | description | example |\n|---|---|---|---|\n",
    );
    for f in all() {
        let kind = match f.kind {
            FunctionKind::Scalar => "scalar",
            FunctionKind::Aggregate => "aggregate",
        };
        out.push_str(&format!(
            "| `{}` | {kind} | {} | `{}` |\n",
            cell(f.signature),
            cell(f.description),
            cell(f.example)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::functions_markdown;

    /// docs/odsql.md holds the function table rendered from the registry. After adding a
    /// function, regenerate it with `UPDATE_DOCS=1 cargo test -p kleber-query every_function`.
    #[test]
    fn every_function_is_documented() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/odsql.md");
        let docs = std::fs::read_to_string(path).expect("docs/odsql.md");
        let start = docs.find("## Functions\n").expect("a Functions section");
        let end = docs[start + 1..].find("\n## ").map_or(docs.len(), |e| start + 1 + e + 1);
        let expected = functions_markdown() + "\n";
        if docs[start..end] != expected {
            if std::env::var_os("UPDATE_DOCS").is_some() {
                let updated = format!("{}{}{}", &docs[..start], expected, &docs[end..]);
                std::fs::write(path, updated).expect("write docs/odsql.md");
            } else {
                panic!(
                    "docs/odsql.md is out of date with the function registry; run UPDATE_DOCS=1 cargo test -p kleber-query every_function"
                );
            }
        }
    }
}
