//! Query-string parameters of the Explore API, with Opendatasoft's limits and messages.
//!
//! Repeated parameters are meaningful (`where` is ANDed), so the query string is read as a
//! list of pairs rather than into a struct. Unknown parameters are ignored, as Opendatasoft
//! clients send some that only older versions knew.

use crate::error::ApiError;

/// The parameters of one request, in order.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

/// Records window: `offset + limit` may not exceed this without `group_by`.
pub const RECORDS_WINDOW: i64 = 10_000;
/// Largest page without `group_by`.
pub const MAX_LIMIT: i64 = 100;
/// Largest page, and window, with `group_by`.
pub const MAX_GROUPED_LIMIT: i64 = 20_000;

impl Params {
    /// Parses a raw query string (`None` is empty).
    pub fn parse(query: Option<&str>) -> Params {
        Params(form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect())
    }

    /// Every parameter, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The last value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }

    /// A boolean parameter: `true`/`false` in any case (ODS links write `False`), `1`/`0`.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(ApiError::bad_param(format!(
                    "Invalid value for {name} API parameter: {v} was found but true or false is expected."
                ))),
            },
        }
    }

    /// An integer parameter.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| {
                    ApiError::bad_param(format!(
                        "Invalid value for {name} API parameter: {v} was found but an integer is expected."
                    ))
                })
            })
            .transpose()
    }

    /// `limit` and `offset` of `/records` and `/catalog/datasets`, checked against the window.
    /// `-1` means the largest page.
    pub fn page(&self, grouped: bool) -> Result<(usize, usize), ApiError> {
        let max = if grouped { MAX_GROUPED_LIMIT } else { MAX_LIMIT };
        let window = if grouped { MAX_GROUPED_LIMIT } else { RECORDS_WINDOW };
        let limit = self.int("limit")?.unwrap_or(10);
        if !(-1..=max).contains(&limit) {
            return Err(ApiError::bad_param(format!(
                "Invalid value for limit API parameter: {limit} was found but -1 <= limit <= {max} is expected."
            )));
        }
        let limit = if limit == -1 { max } else { limit };
        let offset = self.int("offset")?.unwrap_or(0);
        if offset < 0 {
            return Err(ApiError::bad_param(format!(
                "Invalid value for offset API parameter: {offset} was found but offset >= 0 is expected."
            )));
        }
        if offset.saturating_add(limit) > window {
            return Err(ApiError::bad_param(format!(
                "Invalid value for offset API parameter: offset + limit must be at most {window}, but {offset} + {limit} was found. Use the exports endpoint to get every record."
            )));
        }
        Ok((limit as usize, offset as usize))
    }

    /// `limit` of exports: `-1` (default) is everything.
    pub fn export_limit(&self) -> Result<Option<usize>, ApiError> {
        match self.int("limit")?.unwrap_or(-1) {
            -1 => Ok(None),
            n if n >= 0 => Ok(Some(n as usize)),
            n => Err(ApiError::bad_param(format!(
                "Invalid value for limit API parameter: {n} was found but limit >= -1 is expected."
            ))),
        }
    }

    /// The ODSQL clauses of a records query.
    pub fn records_query(&self, limit: Option<usize>, offset: usize) -> kleber_query::RecordsQuery {
        kleber_query::RecordsQuery {
            select: self.get("select").map(str::to_owned),
            r#where: self.all("where"),
            group_by: self.get("group_by").map(str::to_owned),
            order_by: self.get("order_by").map(str::to_owned),
            limit,
            offset,
            // The zone is the request context's, parsed once (`shared::request_context`); the
            // application layer plans every query in it.
            tz: chrono_tz::UTC,
            lang: self.get("lang").map(str::to_owned),
            refine: self.all("refine"),
            exclude: self.all("exclude"),
            record_id_column: None,
        }
    }

    /// True when a non-blank `group_by` is given.
    pub fn grouped(&self) -> bool {
        self.get("group_by").is_some_and(|g| !g.trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_opendatasoft() {
        let p = Params::parse(Some("limit=1473"));
        assert_eq!(
            p.page(false).unwrap_err().message,
            "Invalid value for limit API parameter: 1473 was found but -1 <= limit <= 100 is expected."
        );
        assert_eq!(Params::parse(Some("offset=9900&limit=100")).page(false).unwrap(), (100, 9900));
        assert!(Params::parse(Some("offset=10000")).page(false).is_err());
        assert_eq!(Params::parse(Some("limit=-1")).page(false).unwrap(), (100, 0));
        assert_eq!(Params::parse(Some("limit=20000")).page(true).unwrap(), (20000, 0));
        assert!(Params::parse(Some("limit=abc")).page(false).is_err());
    }

    #[test]
    fn repeated_where_are_kept_in_order() {
        let p = Params::parse(Some("where=a%3D1&where=b%3D2&limit=5"));
        assert_eq!(p.all("where"), vec!["a=1", "b=2"]);
        assert!(p.bool("x", true).unwrap());
        assert!(!Params::parse(Some("x=False")).bool("x", true).unwrap());
    }
}
