//! `refine=FACET:VALUE` and `exclude=FACET:VALUE`: filters on exact facet values.
//!
//! A refinement names a field and one of its facet values: the text itself (one element of a
//! multivalued field), a number, `true`/`false`, or for dates a path `YYYY[/MM[/DD]]` meaning
//! that year, month or day in the request's time zone. Refinements of different facets are
//! ANDed; several refinements of the same facet are ANDed too, unless the field is annotated
//! `disjunctive` (or the facet is requested as disjunctive), in which case they are ORed.
//! An exclusion keeps the records that do not match, records with no value included.

use chrono::{NaiveDate, TimeZone};
use datafusion::common::ScalarValue;
use datafusion::functions_nested::expr_fn::array_has;
use datafusion::logical_expr::{Expr, lit};
use kleber_types::{Field, FieldType};

use crate::error::{Error, Result};
use crate::lower::column;

/// One parsed `refine` or `exclude` parameter.
#[derive(Debug, Clone)]
pub(crate) struct Refinement {
    pub(crate) field: Field,
    pub(crate) value: String,
}

fn bad(param: &'static str, message: String) -> Error {
    Error::InvalidParameter { name: param, message }
}

/// Splits `facet:value`, with an optionally backticked facet and quoted value.
pub(crate) fn split(text: &str) -> Option<(String, String)> {
    let text = text.trim();
    let (name, rest) = if let Some(after) = text.strip_prefix('`') {
        let end = after.find('`')?;
        (after[..end].to_owned(), after[end + 1..].trim_start().strip_prefix(':')?)
    } else {
        let (n, v) = text.split_once(':')?;
        (n.trim().to_owned(), v)
    };
    let value = rest.trim();
    let value = match (value.chars().next(), value.chars().last()) {
        (Some(q @ ('"' | '\'')), Some(e)) if e == q && value.len() >= 2 => {
            value[1..value.len() - 1].replace(&format!("\\{q}"), &q.to_string())
        }
        _ => value.to_owned(),
    };
    (!name.is_empty()).then_some((name, value))
}

/// Parses one parameter against the dataset's fields.
pub(crate) fn parse(text: &str, fields: &[Field], param: &'static str) -> Result<Refinement> {
    let Some((name, value)) = split(text) else {
        return Err(bad(
            param,
            format!(
                "Invalid value for {param} API parameter: {text:?} was found but FACET:VALUE is expected, e.g. {param}=commune:Strasbourg."
            ),
        ));
    };
    let Some(field) = fields.iter().find(|f| f.name == name) else {
        return Err(bad(
            param,
            format!("Invalid value for {param} API parameter: unknown facet {name:?}."),
        ));
    };
    if matches!(field.field_type, FieldType::GeoPoint2d | FieldType::GeoShape) {
        return Err(bad(
            param,
            format!(
                "Invalid value for {param} API parameter: {name} is a geo field, which has no facet values."
            ),
        ));
    }
    Ok(Refinement { field: field.clone(), value })
}

/// First instant of a date path `YYYY[/MM[/DD]]` (also with `-`) and of the next period.
pub(crate) fn date_path_bounds(
    value: &str,
    tz: chrono_tz::Tz,
) -> Option<(i64, i64, NaiveDate, NaiveDate)> {
    let parts: Vec<u32> =
        value.split(['/', '-']).map(|p| p.trim().parse().ok()).collect::<Option<_>>()?;
    let (start, end) = match parts.as_slice() {
        [y] => {
            let y = i32::try_from(*y).ok()?;
            (NaiveDate::from_ymd_opt(y, 1, 1)?, NaiveDate::from_ymd_opt(y + 1, 1, 1)?)
        }
        [y, m] => {
            let y = i32::try_from(*y).ok()?;
            let start = NaiveDate::from_ymd_opt(y, *m, 1)?;
            let end = if *m == 12 {
                NaiveDate::from_ymd_opt(y + 1, 1, 1)?
            } else {
                NaiveDate::from_ymd_opt(y, m + 1, 1)?
            };
            (start, end)
        }
        [y, m, d] => {
            let start = NaiveDate::from_ymd_opt(i32::try_from(*y).ok()?, *m, *d)?;
            (start, start.succ_opt()?)
        }
        _ => return None,
    };
    let instant = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?).earliest().map(|t| t.timestamp_micros())
    };
    Some((instant(start)?, instant(end)?, start, end))
}

/// The expression true for records whose `field` has facet value `value`.
pub(crate) fn matches(r: &Refinement, tz: chrono_tz::Tz, param: &'static str) -> Result<Expr> {
    let f = &r.field;
    let col = column(&f.name);
    let invalid = |what: &str| {
        bad(
            param,
            format!(
                "Invalid value for {param} API parameter: {:?} is not {what} for facet {}.",
                r.value, f.name
            ),
        )
    };
    Ok(match f.field_type {
        FieldType::Text if f.multivalued_separator().is_some() => {
            array_has(col, lit(r.value.as_str()))
        }
        FieldType::Text => match crate::facets::hierarchy_separator(f) {
            // A hierarchical value refines to itself and everything below it.
            Some(sep) => col.clone().eq(lit(r.value.as_str())).or(
                datafusion::functions::expr_fn::starts_with(col, lit(format!("{}{sep}", r.value))),
            ),
            None => col.eq(lit(r.value.as_str())),
        },
        FieldType::Int => {
            col.eq(lit(r.value.trim().parse::<i64>().map_err(|_| invalid("an integer"))?))
        }
        FieldType::Double => col.eq(lit(r
            .value
            .trim()
            .replace(',', ".")
            .parse::<f64>()
            .map_err(|_| invalid("a number"))?)),
        FieldType::Boolean => match r.value.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => col.is_true(),
            "false" | "0" => col.is_false(),
            _ => return Err(invalid("true or false")),
        },
        FieldType::Date => {
            let (_, _, start, end) = date_path_bounds(&r.value, tz)
                .ok_or_else(|| invalid("a date path YYYY[/MM[/DD]]"))?;
            let days = |d: NaiveDate| {
                (d - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()).num_days() as i32
            };
            col.clone()
                .gt_eq(lit(ScalarValue::Date32(Some(days(start)))))
                .and(col.lt(lit(ScalarValue::Date32(Some(days(end))))))
        }
        FieldType::Datetime => {
            let (start, end, _, _) = date_path_bounds(&r.value, tz)
                .ok_or_else(|| invalid("a date path YYYY[/MM[/DD]]"))?;
            let ts = |v: i64| lit(ScalarValue::TimestampMicrosecond(Some(v), Some("UTC".into())));
            col.clone().gt_eq(ts(start)).and(col.lt(ts(end)))
        }
        FieldType::GeoPoint2d | FieldType::GeoShape => return Err(invalid("a facet value")),
    })
}

/// The filter of every `refine` and `exclude`, or `None` when there are none.
///
/// `skip` leaves out the refinements of one facet: a disjunctive facet's counts are computed
/// without its own refinements. `disjunctive` lists facets whose refinements are ORed.
pub(crate) fn filter(
    fields: &[Field],
    refine: &[String],
    exclude: &[String],
    tz: chrono_tz::Tz,
    skip: Option<&str>,
    disjunctive: &[String],
) -> Result<Option<Expr>> {
    let mut by_field: Vec<(String, Vec<Expr>)> = Vec::new();
    for text in refine.iter().filter(|t| !t.trim().is_empty()) {
        let r = parse(text, fields, "refine")?;
        if skip == Some(r.field.name.as_str()) {
            continue;
        }
        let m = matches(&r, tz, "refine")?;
        match by_field.iter_mut().find(|(n, _)| *n == r.field.name) {
            Some((_, list)) => list.push(m),
            None => by_field.push((r.field.name.clone(), vec![m])),
        }
    }
    let mut conjuncts = Vec::new();
    for (name, list) in by_field {
        let is_disjunctive = disjunctive.contains(&name)
            || fields.iter().any(|f| f.name == name && f.annotations.contains_key("disjunctive"));
        let combined =
            list.into_iter().reduce(|a, b| if is_disjunctive { a.or(b) } else { a.and(b) });
        conjuncts.extend(combined);
    }
    for text in exclude.iter().filter(|t| !t.trim().is_empty()) {
        let r = parse(text, fields, "exclude")?;
        conjuncts.push(matches(&r, tz, "exclude")?.is_not_true());
    }
    Ok(conjuncts.into_iter().reduce(Expr::and))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refine_values_split_like_clients_send_them() {
        assert_eq!(split("commune:Strasbourg"), Some(("commune".into(), "Strasbourg".into())));
        assert_eq!(split("naam:\"Braunplein\""), Some(("naam".into(), "Braunplein".into())));
        assert_eq!(split("`facet1`:value"), Some(("facet1".into(), "value".into())));
        assert_eq!(split("date:2019/09/27"), Some(("date".into(), "2019/09/27".into())));
        assert_eq!(split("heure:12:30"), Some(("heure".into(), "12:30".into())));
        assert_eq!(split("nothing"), None);
    }

    #[test]
    fn date_paths_are_periods_in_the_time_zone() {
        let (s, e, _, _) = date_path_bounds("2024/03", chrono_tz::Europe::Paris).unwrap();
        assert_eq!(
            s,
            chrono::DateTime::parse_from_rfc3339("2024-02-29T23:00:00Z")
                .unwrap()
                .timestamp_micros()
        );
        assert_eq!(
            e,
            chrono::DateTime::parse_from_rfc3339("2024-03-31T22:00:00Z")
                .unwrap()
                .timestamp_micros()
        );
        assert!(date_path_bounds("2024/13", chrono_tz::UTC).is_none());
        assert!(date_path_bounds("hier", chrono_tz::UTC).is_none());
    }
}
