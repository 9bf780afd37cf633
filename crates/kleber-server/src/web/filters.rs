//! From a page's query string to ODSQL, safely.
//!
//! Pages take `q` (text), `refine.<field>=<value>` and `sort=<field>|-<field>`. The text is
//! written as an ODSQL string literal by `kleber_odsql::write`, so it is always one bare-string
//! search and never syntax; field names are checked against the dataset's (or the catalog's)
//! fields before they are used, and written by the same writer (backticked unless plain).

use kleber_query::RecordsQuery;
use kleber_query::facets::{FacetGroup, FacetRequest, FacetState, FacetValue};
use kleber_types::Field;
use kleber_web::url::Query;
use kleber_web::view::{ActiveFilter, FacetBlock, FacetLink};

use super::{PageContext, PageError};

/// Longest search text accepted.
pub const MAX_Q_CHARS: usize = 200;
/// Most refinements accepted in one URL.
pub const MAX_REFINES: usize = 20;

/// An ODSQL string literal holding `text`.
pub fn odsql_string(text: &str) -> String {
    kleber_odsql::write::string(text)
}

/// An ODSQL field reference (backticked when it is not a plain identifier, or reserved).
pub fn odsql_field(name: &str) -> String {
    kleber_odsql::write::name(name)
}

/// The filters of a page: the text searched and the refinements, checked.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// The text searched (trimmed), if any.
    pub q: Option<String>,
    /// (field, value) refinements, in URL order.
    pub refines: Vec<(String, String)>,
    /// The version the page shows (`version=N`, docs/versions.md), kept in the API URLs it
    /// builds; not a filter.
    pub version: Option<String>,
}

impl Filters {
    /// Reads `q` and `refine.<name>` from `query`, accepting only names in `fields`.
    pub fn parse(ctx: &PageContext, query: &Query, fields: &[Field]) -> Result<Filters, PageError> {
        let q = query.get("q").map(str::trim).filter(|q| !q.is_empty());
        if let Some(q) = q
            && q.chars().count() > MAX_Q_CHARS
        {
            return Err(PageError::bad_request(
                ctx,
                format!("The search text is too long ({MAX_Q_CHARS} characters at most)."),
            ));
        }
        let mut refines = Vec::new();
        for (key, value) in query.pairs() {
            let Some(name) = key.strip_prefix("refine.") else { continue };
            if !fields.iter().any(|f| f.name == name) {
                return Err(PageError::bad_request(
                    ctx,
                    format!("Unknown field to filter by: {name}."),
                ));
            }
            if value.chars().count() > 500 {
                return Err(PageError::bad_request(ctx, "A filter value is too long."));
            }
            refines.push((name.to_owned(), value.clone()));
        }
        if refines.len() > MAX_REFINES {
            return Err(PageError::bad_request(
                ctx,
                format!("Too many filters ({MAX_REFINES} at most)."),
            ));
        }
        let version = query.get("version").map(str::to_owned);
        Ok(Filters { q: q.map(str::to_owned), refines, version })
    }

    /// True when nothing filters.
    pub fn is_empty(&self) -> bool {
        self.q.is_none() && self.refines.is_empty()
    }

    /// The records query of these filters (no select, order, limit).
    pub fn records_query(&self) -> RecordsQuery {
        RecordsQuery {
            r#where: self.q.iter().map(|q| odsql_string(q)).collect(),
            refine: self.refines.iter().map(|(f, v)| kleber_odsql::write::refine(f, v)).collect(),
            ..RecordsQuery::default()
        }
    }

    /// The same filters as API parameters (`where`, `refine`).
    pub fn api_pairs(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> =
            self.q.iter().map(|q| ("where".to_owned(), odsql_string(q))).collect();
        pairs.extend(
            self.refines
                .iter()
                .map(|(f, v)| ("refine".to_owned(), kleber_odsql::write::refine(f, v))),
        );
        pairs.extend(self.version.iter().map(|v| ("version".to_owned(), v.clone())));
        pairs
    }
}

/// `order_by` for `sort=<field>` / `sort=-<field>`, if the field is one of `fields`.
pub fn order_by(
    ctx: &PageContext,
    sort: Option<&str>,
    fields: &[Field],
) -> Result<Option<(String, bool)>, PageError> {
    let Some(sort) = sort.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    let (name, descending) = match sort.strip_prefix('-') {
        Some(name) => (name, true),
        None => (sort, false),
    };
    if !fields.iter().any(|f| f.name == name && f.field_type != kleber_types::FieldType::GeoShape) {
        return Err(PageError::bad_request(ctx, format!("Cannot sort by {name}: no such field.")));
    }
    Ok(Some((name.to_owned(), descending)))
}

/// Values a date facet lists at each level: every month of a year, every day of a month.
pub const DATE_FACET_LIMIT: usize = 31;

/// Facet requests for (name, most values listed at each level).
pub fn requests(names: impl IntoIterator<Item = (String, usize)>) -> Vec<FacetRequest> {
    names
        .into_iter()
        .map(|(name, limit)| FacetRequest {
            name,
            disjunctive: false,
            sort: None,
            limit: Some(limit),
            separator: None,
        })
        .collect()
}

/// The facet blocks of a page: each value links to the page with its refinement toggled
/// (and back to the first page); a refined value of a tree (a year) is followed by its
/// values one level down (its months), at any depth. `title` names a facet, `label` a value.
pub fn blocks(
    groups: &[FacetGroup],
    query: &Query,
    path: &str,
    lang: kleber_web::Lang,
    title: impl Fn(&str) -> String,
    label: impl Fn(&str, &FacetValue) -> String,
) -> Vec<FacetBlock> {
    let t = lang.messages();
    let base = query.without(&["page", "start", "record", "lang"]);
    groups
        .iter()
        .filter(|g| !g.facets.is_empty())
        .map(|g| {
            let key = format!("refine.{}", g.name);
            let mut values = Vec::new();
            // Depth first, in order: a stack of the values still to list, the next on top.
            let mut stack: Vec<(&FacetValue, usize)> =
                g.facets.iter().rev().map(|v| (v, 0)).collect();
            while let Some((v, depth)) = stack.pop() {
                values.push(FacetLink {
                    label: label(&g.name, v),
                    count: t.number(v.count as i64),
                    href: base.toggle(&key, &v.value).href(path),
                    selected: v.state == FacetState::Refined || base.has(&key, &v.value),
                    depth,
                });
                if v.state == FacetState::Refined {
                    stack.extend(v.facets.iter().rev().map(|child| (child, depth + 1)));
                }
            }
            FacetBlock { key: g.name.clone(), title: title(&g.name), values }
        })
        .collect()
}

/// The active refinements of `query`, each with the link that removes it. `title` names a
/// facet, `value` a refined value of it.
pub fn active(
    query: &Query,
    path: &str,
    title: impl Fn(&str) -> String,
    value: impl Fn(&str, &str) -> String,
) -> Vec<ActiveFilter> {
    let base = query.without(&["page", "start", "record", "lang"]);
    let mut out = Vec::new();
    if let Some(q) = base.get("q").filter(|q| !q.trim().is_empty()) {
        out.push(ActiveFilter {
            label: format!("« {q} »"),
            remove_href: base.without(&["q"]).href(path),
        });
    }
    for (key, refined) in base.pairs() {
        if let Some(name) = key.strip_prefix("refine.") {
            out.push(ActiveFilter {
                label: format!("{} : {}", title(name), value(name, refined)),
                remove_href: base.without_pair(key, refined).href(path),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_stays_one_full_text_search() {
        let hostile = r#"x" OR 1=1 OR "\"#;
        let literal = odsql_string(hostile);
        assert_eq!(literal, r#""x\" OR 1=1 OR \"\\""#);
        let parsed = kleber_odsql::parse_where(&literal).expect("parses");
        assert!(
            matches!(parsed.kind, kleber_odsql::ExprKind::FullText(ref s) if s == hostile),
            "{:?}",
            parsed.kind
        );
        assert_eq!(odsql_field("a`b"), "`a\\`b`");
    }
}
