//! Which stored thing a request path reads: one dataset, the catalog, or nothing that changes.
//!
//! The conditional-request layer ([`super::etag`]) keys its validators on this, without
//! running the handler. [`RULES`] is the one list of path patterns: a route that reads a
//! dataset or the catalog adds its pattern there.

use percent_encoding::percent_decode_str;

/// What a response depends on, besides the request's path and query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// The dataset with this identifier (its current version and metadata).
    Dataset(String),
    /// The whole catalog (its generation).
    Catalog,
    /// Nothing stored: the response only changes with the server's code.
    Fixed,
}

/// Where the dataset identifier of a [`Kind::Dataset`] rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdFrom {
    /// The path segment written `{id}` in the pattern.
    Path,
    /// This query-string parameter (the v1 API's `dataset=`).
    Query(&'static str),
}

/// What a rule's pattern designates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A dataset, and everything below the pattern.
    Dataset(IdFrom),
    /// The catalog, and everything below the pattern.
    Catalog,
    /// Exactly this path, whose answer depends on nothing stored.
    Fixed,
}

/// A path pattern (`/`-separated, `{id}` for the dataset identifier) and what it reads.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The pattern, without a trailing slash.
    pub pattern: &'static str,
    /// What paths matching it read.
    pub kind: Kind,
}

const fn rule(pattern: &'static str, kind: Kind) -> Rule {
    Rule { pattern, kind }
}

const DATASET: Kind = Kind::Dataset(IdFrom::Path);

/// The rules, tried in order; the first that matches wins. Dataset and catalog rules match
/// their pattern and every path below it; fixed rules match their path only.
pub const RULES: &[Rule] = &[
    // Explore API v2.1, v2.0 and its `/api/v2` alias.
    rule("/api/explore/v2.1/catalog/datasets/{id}", DATASET),
    rule("/api/explore/v2.1/catalog", Kind::Catalog),
    rule("/api/explore/v2.1", Kind::Fixed),
    rule("/api/explore/v2.0/catalog/datasets/{id}", DATASET),
    rule("/api/explore/v2.0/catalog", Kind::Catalog),
    rule("/api/explore/v2.0", Kind::Fixed),
    rule("/api/v2/catalog/datasets/{id}", DATASET),
    rule("/api/v2/catalog", Kind::Catalog),
    rule("/api/v2", Kind::Fixed),
    // Search API v1: the catalog search, one dataset, and record queries naming the dataset
    // in `dataset=`.
    rule("/api/datasets/1.0/search", Kind::Catalog),
    rule("/api/datasets/1.0/{id}", DATASET),
    rule("/api/records/1.0", Kind::Dataset(IdFrom::Query("dataset"))),
    // The legacy front-office download URL.
    rule("/explore/dataset/{id}/download", DATASET),
];

/// The resource that `path` (percent-encoded, as in the request) with `query` reads, or `None`
/// when no rule matches (the response then carries no validator).
pub fn resource_of(path: &str, query: Option<&str>) -> Option<Resource> {
    let segments: Vec<&str> = segments(path).collect();
    // The first rule whose pattern matches decides, even when it finds no usable identifier.
    RULES
        .iter()
        .find(|rule| matches(rule, &segments))
        .and_then(|rule| apply(rule, &segments, query))
}

fn matches(rule: &Rule, path: &[&str]) -> bool {
    let pattern: Vec<&str> = segments(rule.pattern).collect();
    let exact = rule.kind == Kind::Fixed;
    if path.len() < pattern.len() || (exact && path.len() != pattern.len()) {
        return false;
    }
    pattern.iter().zip(path).all(|(want, got)| *want == "{id}" || want == got)
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// The resource of a path that `rule` matches.
fn apply(rule: &Rule, path: &[&str], query: Option<&str>) -> Option<Resource> {
    let id =
        segments(rule.pattern).zip(path).find(|(want, _)| *want == "{id}").map(|(_, got)| *got);
    match rule.kind {
        Kind::Fixed => Some(Resource::Fixed),
        Kind::Catalog => Some(Resource::Catalog),
        Kind::Dataset(IdFrom::Path) => {
            let decoded = percent_decode_str(id?).decode_utf8().ok()?;
            Some(Resource::Dataset(decoded.into_owned()))
        }
        Kind::Dataset(IdFrom::Query(name)) => {
            let query = query?;
            let mut ids = form_urlencoded::parse(query.as_bytes())
                .filter(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned());
            let first = ids.next()?;
            // Several datasets named: no single version to key on.
            ids.all(|other| other == first).then_some(Resource::Dataset(first))
        }
    }
}

/// Whether `path` belongs to an API (whose errors must be JSON) rather than to HTML pages.
pub fn is_api_path(path: &str) -> bool {
    let mut parts = segments(path);
    match parts.next() {
        Some("api") => true,
        Some("explore") => {
            parts.next() == Some("dataset")
                && parts.next().is_some()
                && parts.next() == Some("download")
        }
        _ => false,
    }
}

/// Whether `path` belongs to the legacy v1 surface, whose errors have the v1 shape
/// (`{"errorcode", "error", "error_code"}`): `/api/records/1.0`, `/api/datasets/1.0` and
/// `/explore/dataset/{id}/download`.
pub fn is_v1_path(path: &str) -> bool {
    let parts: Vec<&str> = segments(path).take(3).collect();
    matches!(parts.as_slice(), ["api", "records" | "datasets", "1.0", ..])
        || (parts.first() == Some(&"explore") && is_api_path(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(id: &str) -> Option<Resource> {
        Some(Resource::Dataset(id.to_owned()))
    }

    #[test]
    fn dataset_routes_name_their_dataset() {
        let v21 = "/api/explore/v2.1/catalog/datasets";
        assert_eq!(resource_of(&format!("{v21}/velib"), None), dataset("velib"));
        assert_eq!(resource_of(&format!("{v21}/velib/records"), Some("limit=3")), dataset("velib"));
        assert_eq!(resource_of(&format!("{v21}/velib/exports/csv/"), None), dataset("velib"));
        assert_eq!(resource_of(&format!("{v21}/v%C3%A9lo/records"), None), dataset("vélo"));
        assert_eq!(resource_of("/api/v2/catalog/datasets/a/records", None), dataset("a"));
        assert_eq!(resource_of("/api/explore/v2.0/catalog/datasets/a", None), dataset("a"));
        assert_eq!(resource_of("/api/datasets/1.0/a/", None), dataset("a"));
        assert_eq!(resource_of("/explore/dataset/a/download/", Some("format=csv")), dataset("a"));
        assert_eq!(
            resource_of("/api/records/1.0/search/", Some("q=x&dataset=parkings")),
            dataset("parkings")
        );
    }

    #[test]
    fn catalog_and_fixed_routes() {
        assert_eq!(
            resource_of("/api/explore/v2.1/catalog/datasets", None),
            Some(Resource::Catalog)
        );
        assert_eq!(resource_of("/api/explore/v2.1/catalog/facets", None), Some(Resource::Catalog));
        assert_eq!(resource_of("/api/explore/v2.1/catalog", None), Some(Resource::Catalog));
        assert_eq!(resource_of("/api/datasets/1.0/search/", None), Some(Resource::Catalog));
        assert_eq!(resource_of("/api/explore/v2.1/", None), Some(Resource::Fixed));
        assert_eq!(resource_of("/api/v2", None), Some(Resource::Fixed));
    }

    #[test]
    fn unknown_or_ambiguous_paths_have_no_resource() {
        assert_eq!(resource_of("/api/explore/v2.1/monitoring/datasets", None), None);
        assert_eq!(resource_of("/", None), None);
        assert_eq!(resource_of("/api/records/1.0/search", None), None);
        assert_eq!(resource_of("/api/records/1.0/search", Some("dataset=a&dataset=b")), None);
        assert_eq!(resource_of("/api/explore/v2.1/catalog/datasets/%FF", None), None);
        assert_eq!(resource_of("/explore/dataset/a", None), None);
    }

    #[test]
    fn api_paths() {
        assert!(is_api_path("/api/explore/v2.1/catalog"));
        assert!(is_api_path("/api/anything"));
        assert!(is_api_path("/explore/dataset/a/download/"));
        assert!(!is_api_path("/explore/dataset/a/"));
        assert!(!is_api_path("/explore/dataset/a/table"));
        assert!(!is_api_path("/"));
        assert!(!is_api_path("/apiary"));
        assert!(is_v1_path("/api/records/1.0/search/"));
        assert!(is_v1_path("/api/datasets/1.0/parkings"));
        assert!(is_v1_path("/explore/dataset/a/download"));
        assert!(!is_v1_path("/api/explore/v2.1/catalog"));
        assert!(!is_v1_path("/api/records/2.0/search"));
        assert!(!is_v1_path("/explore/dataset/a"));
    }
}
