//! Webhooks on the management API (docs/feeds.md#webhooks):
//!
//! - `POST /webhooks` (`{"dataset": ID, "url": URL}` or `{"organization": ORG, "url": URL}`):
//!   registers a hook, `201` with its `secret`, shown this once;
//! - `GET /webhooks`: the hooks the caller may manage (never their secret);
//! - `GET /webhooks/{hook_id}`, `DELETE /webhooks/{hook_id}`;
//! - `GET /webhooks/{hook_id}/deliveries?limit=N`: the delivery log, newest first, each
//!   delivery with its attempts (status, error, duration).
//!
//! Every route is `Reads::Private` behind the management guard (a session's change needs its
//! `X-CSRF-Token`); who may do what is decided by `kleber_app::webhooks`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use kleber_app::webhooks::HookTarget;
use kleber_store::{Attempt, Delivery, Webhook};
use kleber_types::ErrorCode;
use serde::{Deserialize, Serialize};

use super::{ErrorBody, json, parse_body};
use crate::error::ApiError;
use crate::http::management::Manager;
use crate::http::routes::{Reads, RouteDef, def};
use crate::shared::params::Params;
use crate::state::AppState;

/// The routes, relative to `/api/management/v1`.
pub fn routes() -> Vec<RouteDef> {
    let p = Reads::Private;
    vec![
        def("/webhooks", p, get(list_hooks).post(create_hook)),
        def("/webhooks/{hook_id}", p, get(get_hook).delete(delete_hook)),
        def("/webhooks/{hook_id}/deliveries", p, get(list_deliveries)),
    ]
}

/// `POST /webhooks`'s body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HookBody {
    /// The dataset watched (its editors register hooks on it).
    pub dataset: Option<String>,
    /// The organization whose every dataset is watched (its admins register such hooks).
    pub organization: Option<String>,
    /// Where deliveries are posted (http or https; public addresses only unless the operator
    /// allows private ones).
    pub url: String,
}

/// A hook as shown (its secret only in the answer to its creation).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HookDoc {
    /// Hook number.
    pub id: i64,
    /// The dataset watched, if one.
    pub dataset: Option<String>,
    /// The organization: the one watched, or the dataset's.
    pub organization: String,
    /// Whether every dataset of the organization is watched.
    pub whole_organization: bool,
    /// Where deliveries are posted.
    pub url: String,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: String,
    /// The signing secret: only when the hook is created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl HookDoc {
    fn of(h: Webhook, secret: Option<String>) -> HookDoc {
        HookDoc {
            id: h.id,
            whole_organization: h.dataset_uid.is_none(),
            dataset: h.dataset_id,
            organization: h.org_id,
            url: h.url,
            created_by: h.created_by,
            created_at: h.created_at,
            secret,
        }
    }
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptDoc {
    /// 1 for the first.
    pub n: i64,
    /// When it started.
    pub at: String,
    /// HTTP status answered, if any.
    pub status: Option<i64>,
    /// What went wrong (absent when delivered).
    pub error: Option<String>,
    /// Milliseconds it took.
    pub duration_ms: i64,
}

/// One delivery and its attempts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryDoc {
    /// Delivery id (`Kleber-Delivery` header).
    pub id: String,
    /// `pending`, `delivered`, `failed` or `dropped`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// When it was queued.
    pub created_at: String,
    /// The body posted.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    /// The attempts, first first.
    pub log: Vec<AttemptDoc>,
}

impl DeliveryDoc {
    fn of(d: Delivery, attempts: Vec<Attempt>) -> DeliveryDoc {
        DeliveryDoc {
            body: serde_json::from_str(&d.body).unwrap_or(serde_json::Value::Null),
            id: d.id,
            state: d.state,
            attempts: d.attempts,
            created_at: d.created_at,
            log: attempts
                .into_iter()
                .map(|a| AttemptDoc {
                    n: a.n,
                    at: a.at,
                    status: a.status,
                    error: a.error,
                    duration_ms: a.duration_ms,
                })
                .collect(),
        }
    }
}

/// The OpenAPI paths and schemas of this file, merged into the management API's document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list_hooks, create_hook, get_hook, delete_hook, list_deliveries),
    components(schemas(HookBody, HookDoc, AttemptDoc, DeliveryDoc))
)]
pub struct WebhooksApi;

/// Adds [`WebhooksApi`] to the management API's document.
pub struct WebhooksDoc;

impl utoipa::Modify for WebhooksDoc {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::OpenApi;
        doc.merge(WebhooksApi::openapi());
    }
}

fn hook_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().map_err(|_| {
        ApiError::new(ErrorCode::NotFound, format!("No webhook {text:?}: hook ids are numbers."))
    })
}

/// `GET /webhooks`.
#[utoipa::path(get, path = "/api/management/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = [HookDoc])))]
pub(super) async fn list_hooks(
    State(state): State<AppState>,
    Manager(editor): Manager,
) -> Result<Response, ApiError> {
    let hooks = state.app.list_webhooks(&editor).await?;
    let docs: Vec<HookDoc> = hooks.into_iter().map(|h| HookDoc::of(h, None)).collect();
    Ok(json(StatusCode::OK, &docs))
}

/// `POST /webhooks`.
#[utoipa::path(post, path = "/api/management/v1/webhooks", tag = "webhooks",
    request_body = HookBody,
    responses((status = 201, body = HookDoc, description = "The hook, with its secret (shown this once)"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn create_hook(
    State(state): State<AppState>,
    Manager(editor): Manager,
    body: Bytes,
) -> Result<Response, ApiError> {
    let value = parse_body(&body, None)?;
    let spec: HookBody = serde_json::from_value(value).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidRequestBody,
            format!("the webhook is malformed: {e}; send {{\"dataset\": ID, \"url\": URL}} or {{\"organization\": ORG, \"url\": URL}}"),
        )
    })?;
    let target = match (spec.dataset, spec.organization) {
        (Some(d), None) => HookTarget::Dataset(d),
        (None, Some(o)) => HookTarget::Organization(o),
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequestBody,
                "a webhook watches one dataset or one organization: give exactly one of \"dataset\" and \"organization\"",
            ));
        }
    };
    let created = state.app.create_webhook(&editor, target, &spec.url).await?;
    Ok(json(StatusCode::CREATED, &HookDoc::of(created.hook, Some(created.secret))))
}

/// `GET /webhooks/{hook_id}`.
#[utoipa::path(get, path = "/api/management/v1/webhooks/{hook_id}", tag = "webhooks",
    params(("hook_id" = i64, Path, description = "Hook number")),
    responses((status = 200, body = HookDoc), (status = 404, body = ErrorBody)))]
pub(super) async fn get_hook(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let hook = state.app.webhook(&editor, hook_id(&id)?).await?;
    Ok(json(StatusCode::OK, &HookDoc::of(hook, None)))
}

/// `DELETE /webhooks/{hook_id}`.
#[utoipa::path(delete, path = "/api/management/v1/webhooks/{hook_id}", tag = "webhooks",
    params(("hook_id" = i64, Path, description = "Hook number")),
    responses((status = 200, description = "`{\"deleted\": true}`"), (status = 404, body = ErrorBody)))]
pub(super) async fn delete_hook(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.app.delete_webhook(&editor, hook_id(&id)?).await?;
    Ok(json(StatusCode::OK, &serde_json::json!({"deleted": true})))
}

/// `GET /webhooks/{hook_id}/deliveries?limit=N` (default 50, at most 200).
#[utoipa::path(get, path = "/api/management/v1/webhooks/{hook_id}/deliveries", tag = "webhooks",
    params(("hook_id" = i64, Path, description = "Hook number"),
        ("limit" = Option<u32>, Query, description = "Deliveries listed (1 to 200, default 50)")),
    responses((status = 200, body = [DeliveryDoc]), (status = 404, body = ErrorBody)))]
pub(super) async fn list_deliveries(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let limit = match params.int("limit")? {
        None => 50,
        Some(n) => usize::try_from(n).ok().filter(|n| (1..=200).contains(n)).ok_or_else(|| {
            ApiError::bad_param(format!(
                "Invalid value for limit API parameter: {n} was found but 1 <= limit <= 200 is expected."
            ))
        })?,
    };
    let log = state.app.webhook_deliveries(&editor, hook_id(&id)?, limit).await?;
    let docs: Vec<DeliveryDoc> = log.into_iter().map(|(d, a)| DeliveryDoc::of(d, a)).collect();
    Ok(json(StatusCode::OK, &docs))
}
