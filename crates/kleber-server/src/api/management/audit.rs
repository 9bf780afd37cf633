//! The audit log, read by admins: `GET /api/management/v1/audit`.
//!
//! Parameters: `limit` (1 to 100, default 20), `offset`, and filters `org`, `actor`,
//! `action`, `since`, `until` (RFC 3339 or `YYYY-MM-DD`). The answer is
//! `{"total_count": N, "results": [{"id", "at", "actor", "via", "action", "target",
//! "details"}]}`, newest first. Who reads what is decided by [`kleber_app::audit`]: portal
//! admins everything, organization admins their organizations' entries, others `401`/`403`.
//! Answers are `Cache-Control: private, no-store` and carry no `ETag` (the route reads
//! [`Reads::Private`](crate::http::routes::Reads::Private)).

use axum::extract::RawQuery;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use kleber_app::audit::AuditQuery;
use kleber_types::ErrorCode;
use serde_json::json;

use crate::error::ApiError;
use crate::http::resolve::Resolution;
use crate::shared::json::json_response;
use crate::state::AppState;

/// Entries per page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 20;

/// The parameters the route accepts.
const PARAMETERS: &[&str] = &["limit", "offset", "org", "actor", "action", "since", "until"];

fn number(name: &str, value: &str) -> Result<usize, ApiError> {
    value.trim().parse::<usize>().map_err(|_| {
        let shown: String = value.chars().take(40).collect();
        ApiError::bad_param(format!(
            "Invalid value for {name} API parameter: {shown:?} is not a non-negative integer."
        ))
    })
}

fn parse(query: Option<&str>) -> Result<AuditQuery, ApiError> {
    let mut out = AuditQuery { limit: DEFAULT_LIMIT, ..AuditQuery::default() };
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let text = || (!value.trim().is_empty()).then(|| value.trim().to_owned());
        match name.as_ref() {
            "limit" => out.limit = number("limit", &value)?,
            "offset" => out.offset = number("offset", &value)?,
            "org" => out.org = text(),
            "actor" => out.actor = text(),
            "action" => out.action = text(),
            "since" => out.since = text(),
            "until" => out.until = text(),
            other => {
                let shown: String = other.chars().take(40).collect();
                return Err(ApiError::bad_param(format!(
                    "Unknown API parameter {shown:?} for the audit log; accepted: {}.",
                    PARAMETERS.join(", ")
                )));
            }
        }
    }
    Ok(out)
}

/// `GET /api/management/v1/audit`.
#[utoipa::path(get, path = "/api/management/v1/audit", tag = "audit",
    params(
        ("limit" = Option<usize>, Query, description = "Entries per page, 1 to 100 (default 20)"),
        ("offset" = Option<usize>, Query, description = "Entries skipped"),
        ("org" = Option<String>, Query, description = "Only this organization's entries"),
        ("actor" = Option<String>, Query, description = "Only this actor's entries"),
        ("action" = Option<String>, Query, description = "Only this action's entries"),
        ("since" = Option<String>, Query, description = "RFC 3339 time or YYYY-MM-DD"),
        ("until" = Option<String>, Query, description = "RFC 3339 time or YYYY-MM-DD"),
    ),
    responses((status = 200, description = "`{total_count, results}`, newest first"),
        (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub(super) async fn get_audit(
    axum::extract::State(state): axum::extract::State<AppState>,
    resolution: Resolution,
    RawQuery(query): RawQuery,
) -> Response {
    match audit(&state, &resolution, query.as_deref()).await {
        Ok(response) => response,
        Err(error) => {
            let unauthenticated = error.code == ErrorCode::AuthenticationRequired;
            let mut response = error.into_response();
            if unauthenticated {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Apikey"));
            }
            response
        }
    }
}

async fn audit(
    state: &AppState,
    resolution: &Resolution,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    // Credentials first: an anonymous caller gets its 401 whatever its parameters.
    let parsed = parse(query);
    state.app.may_read_audit(resolution.caller().principal())?;
    let page = state.app.audit(resolution.caller().principal(), parsed?).await?;
    let results: Vec<_> = page
        .entries
        .into_iter()
        .map(|e| {
            json!({"id": e.id, "at": e.at, "actor": e.actor, "via": e.via, "action": e.action,
                   "target": e.target, "details": e.details})
        })
        .collect();
    let mut response =
        json_response(json!({"total_count": page.total_count, "results": results}).to_string());
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_checked() {
        let q = parse(Some("limit=5&offset=10&org=ems&since=2026-01-01")).unwrap();
        assert_eq!((q.limit, q.offset, q.org.as_deref()), (5, 10, Some("ems")));
        assert_eq!(parse(None).unwrap().limit, DEFAULT_LIMIT);
        let e = parse(Some("limit=-1")).unwrap_err();
        assert!(e.message.contains("limit"), "{}", e.message);
        let e = parse(Some("where=x")).unwrap_err();
        assert!(e.message.contains("\"where\"") && e.message.contains("since"), "{}", e.message);
    }
}
