//! The registry of ODSQL functions Kleber plans, with their documentation.
//!
//! Each entry says what the function is and how it is lowered to DataFusion. `docs/odsql.md`
//! is checked against this table by a test, so a function cannot be added without its docs.

use datafusion::arrow::datatypes::DataType;
use datafusion::functions::expr_fn as f;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::{Expr, lit};

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
        name: "year",
        kind: FunctionKind::Scalar,
        signature: "year(date)",
        description: "Year of a date or datetime (UTC), as an integer.",
        example: "where=year(date_mesure) = 2024",
    },
    FunctionDoc {
        name: "month",
        kind: FunctionKind::Scalar,
        signature: "month(date)",
        description: "Month 1-12 of a date or datetime (UTC).",
        example: "select=month(date_mesure) as m",
    },
    FunctionDoc {
        name: "day",
        kind: FunctionKind::Scalar,
        signature: "day(date)",
        description: "Day of month of a date or datetime (UTC).",
        example: "select=day(date_mesure) as d",
    },
    FunctionDoc {
        name: "hour",
        kind: FunctionKind::Scalar,
        signature: "hour(datetime)",
        description: "Hour 0-23 of a datetime (UTC).",
        example: "where=hour(horodatage) >= 8",
    },
    FunctionDoc {
        name: "minute",
        kind: FunctionKind::Scalar,
        signature: "minute(datetime)",
        description: "Minute 0-59 of a datetime (UTC).",
        example: "select=minute(horodatage) as mn",
    },
    FunctionDoc {
        name: "second",
        kind: FunctionKind::Scalar,
        signature: "second(datetime)",
        description: "Second 0-59 of a datetime (UTC).",
        example: "select=second(horodatage) as s",
    },
    FunctionDoc {
        name: "ifnull",
        kind: FunctionKind::Scalar,
        signature: "ifnull(expr, fallback)",
        description: "The value of expr, or fallback when it is null.",
        example: "select=ifnull(libre, 0) as libre",
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
pub const NOT_YET_SUPPORTED: &[&str] = &[
    "search",
    "suggest",
    "startswith",
    "within_distance",
    "distance",
    "in_bbox",
    "intersects",
    "disjoint",
    "within",
    "geometry",
    "polygon",
    "date_format",
    "now",
    "median",
    "percentile",
    "envelope",
    "bbox",
    "range",
    "geo_cluster",
    "random",
    "json_format",
    "vector_similarity",
    "vector_similarity_threshold",
    "include",
    "exclude",
];

/// Every documented function: the core ones here, then each family's.
pub fn all() -> impl Iterator<Item = &'static FunctionDoc> {
    FUNCTIONS
        .iter()
        .chain(crate::text::FUNCTIONS)
        .chain(crate::dates::FUNCTIONS)
        .chain(crate::geo::FUNCTIONS)
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
        "year" | "month" | "day" | "hour" | "minute" | "second" => {
            want(1, &args)?;
            let part = f::date_part(lit(name), args.remove(0));
            Expr::Cast(datafusion::logical_expr::Cast::new(Box::new(part), DataType::Int64))
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

#[cfg(test)]
mod tests {
    use super::all;

    /// docs/odsql.md documents every registered function, and nothing else in its table.
    #[test]
    fn every_function_is_documented() {
        let docs =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/odsql.md"))
                .expect("docs/odsql.md");
        for f in all() {
            let line = format!("| `{}` | {:?} |", f.signature, f.kind).to_lowercase();
            assert!(docs.to_lowercase().contains(&line), "docs/odsql.md lacks {line}");
        }
        let table = docs
            .split("## Functions")
            .nth(1)
            .expect("functions section")
            .split("\n## ")
            .next()
            .unwrap_or("");
        let rows = table.lines().filter(|l| l.starts_with("| `")).count();
        assert_eq!(rows, all().count(), "docs/odsql.md lists functions the registry does not have");
    }
}
