//! JSON answers and paging links.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// A `200` JSON response.
pub fn json_response(body: impl Into<axum::body::Body>) -> Response {
    let mut response = body.into().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

/// The hrefs of the pages of a paged answer at `path`: `self`, `first`, `last` and (when there
/// is one) `next`, each the request's parameters (`pairs`) with its `offset`.
pub fn page_hrefs(
    path: &str,
    pairs: &[(String, String)],
    total: u64,
    limit: usize,
    offset: usize,
) -> Vec<(String, &'static str)> {
    let page = |offset: usize| {
        let mut pairs: Vec<(String, String)> =
            pairs.iter().filter(|(k, _)| k != "offset").cloned().collect();
        pairs.push(("offset".into(), offset.to_string()));
        let query: String =
            form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        format!("{path}?{query}")
    };
    let total = total as usize;
    let last = if total == 0 || limit == 0 { 0 } else { (total - 1) / limit * limit };
    let mut links = vec![(page(offset), "self"), (page(0), "first"), (page(last), "last")];
    if limit > 0 && offset.saturating_add(limit) < total {
        links.push((page(offset + limit), "next"));
    }
    links
}
