//! The back office's webhook pages (docs/feeds.md#from-the-back-office):
//!
//! - `GET /admin/datasets/{id}/webhooks` and `GET /admin/organizations/{org}/webhooks`: the
//!   hooks of a dataset (for its editors) or of an organization (for its admins), each with its
//!   URL, events, creation and last delivery, and the form that registers one;
//! - `POST` on the same paths (a CSRF form, `url`): registers a hook and shows its secret,
//!   this once;
//! - `POST /admin/webhooks/{hook}/delete` (a CSRF form): deletes it and its log;
//! - `GET /admin/webhooks/{hook}`: its delivery log (time, attempt, status code, error, next
//!   retry).
//!
//! As the rest of the back office ([`super::backoffice`]): sessions only, and the use cases of
//! the management API (`kleber_app::webhooks`) with the session's principal, so rights are
//! decided there; anyone without the right, or signed out, gets the portal's missing page, and
//! a refused URL shows the page again with why, changing nothing.

use axum::extract::{FromRequestParts, OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use kleber_app::Error;
use kleber_app::manage::Editor;
use kleber_app::sessions::Session;
use kleber_app::webhooks::{EVENT_VERSION_PUBLISHED, HookTarget};
use kleber_store::{Delivery, Webhook};
use kleber_web::webhooks::{AttemptRow, HookRow, WebhookLogPage, WebhookMessages, WebhooksPage};

use super::auth::{Asker, CsrfForm, no_store, page_ctx, redirect};
use super::{Framing, PageContext, PageError, html};
use crate::state::AppState;

/// Deliveries the log shows (newest first).
const LOG_DELIVERIES: usize = 50;

/// The routes.
pub fn routes() -> Vec<(String, MethodRouter<AppState>)> {
    [
        ("/admin/datasets/{id}/webhooks", get(get_dataset_hooks).post(post_dataset_hook)),
        ("/admin/datasets/{id}/webhooks/", get(get_dataset_hooks)),
        ("/admin/organizations/{org}/webhooks", get(get_org_hooks).post(post_org_hook)),
        ("/admin/organizations/{org}/webhooks/", get(get_org_hooks)),
        ("/admin/webhooks/{hook}", get(get_log)),
        ("/admin/webhooks/{hook}/", get(get_log)),
        ("/admin/webhooks/{hook}/delete", post(post_delete)),
    ]
    .into_iter()
    .map(|(path, handler)| (path.to_owned(), handler))
    .collect()
}

/// A signed-in request; anyone else gets the missing page.
struct Signed {
    ctx: PageContext,
    session: Session,
}

impl<S: Send + Sync> FromRequestParts<S> for Signed {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        let Ok(asker) = Asker::from_request_parts(parts, state).await;
        let Ok(uri) = OriginalUri::from_request_parts(parts, state).await;
        let ctx = page_ctx(&parts.headers, &uri, &asker);
        match parts.extensions.get::<Session>().cloned() {
            Some(session) => Ok(Signed { ctx, session }),
            None => Err(PageError::not_found(&ctx)),
        }
    }
}

impl Signed {
    fn editor(&self) -> Editor {
        Editor::of_session(&self.session)
    }

    /// A refusal as the missing page (nothing of what one may not manage is shown), the rest
    /// as the use case's error page.
    fn fail(&self, e: Error) -> PageError {
        match e {
            Error::Forbidden(_)
            | Error::Unauthenticated(_)
            | Error::DatasetNotFound(_)
            | Error::NotFound(_) => PageError::not_found(&self.ctx),
            other => PageError::from_api(&self.ctx, other),
        }
    }
}

/// The page of a target's hooks: its path, heading and back link.
fn target_page(
    lang: kleber_web::Lang,
    m: &WebhookMessages,
    target: &HookTarget,
    name: &str,
) -> (String, String, (String, &'static str)) {
    let name = match lang {
        kleber_web::Lang::Fr => format!("«\u{a0}{name}\u{a0}»"),
        kleber_web::Lang::En => format!("“{name}”"),
    };
    match target {
        HookTarget::Dataset(id) => (
            format!("/admin/datasets/{id}/webhooks"),
            format!("{} {name}", m.dataset_heading),
            (format!("/admin/datasets/{id}/"), m.back_dataset),
        ),
        HookTarget::Organization(org) => (
            format!("/admin/organizations/{org}/webhooks"),
            format!("{} {name}", m.org_heading),
            (format!("/admin/organizations/{org}/"), m.back_org),
        ),
    }
}

fn date_text(ctx: &PageContext, rfc3339: &str) -> String {
    kleber_web::format::datetime(rfc3339, ctx.lang).unwrap_or_else(|| rfc3339.to_owned())
}

fn ms_text(ctx: &PageContext, ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| date_text(ctx, &t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        .unwrap_or_default()
}

/// A delivery in a few words: its state, its last status or error, when it was queued.
fn last_text(ctx: &PageContext, m: &WebhookMessages, d: &Delivery) -> String {
    let mut text = m.state(&d.state).to_owned();
    if let Some(status) = d.last_status {
        text.push_str(&format!(" · HTTP {status}"));
    } else if let Some(error) = &d.last_error {
        text.push_str(&format!(" · {error}"));
    }
    text.push_str(&format!(" · {}", date_text(ctx, &d.created_at)));
    text
}

/// What the page shows after a form: a confirmation, the secret of a new hook, or why not.
#[derive(Default)]
struct Outcome {
    saved: Option<&'static str>,
    secret: Option<String>,
    error: Option<String>,
    url: String,
}

/// The hooks of `target`, rendered with `outcome`.
async fn hooks_page(
    state: &AppState,
    signed: &Signed,
    target: HookTarget,
    status: StatusCode,
    outcome: Outcome,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    let m = WebhookMessages::of(ctx.lang);
    let editor = signed.editor();
    let hooks = state.app.webhooks_of(&editor, &target).await.map_err(|e| signed.fail(e))?;
    let name = match &target {
        HookTarget::Dataset(id) => {
            let d = state.app.managed_dataset(&editor, id).await.map_err(|e| signed.fail(e))?;
            d.title
        }
        HookTarget::Organization(org) => {
            let view = state.app.catalog(&ctx.request()).await.map_err(|e| signed.fail(e))?;
            view.organization(org).map_or_else(|| org.clone(), |o| o.name.clone())
        }
    };
    let (path, heading, back) = target_page(ctx.lang, m, &target, &name);
    let rows = hooks
        .into_iter()
        .map(|(hook, last): (Webhook, Option<Delivery>)| HookRow {
            id: hook.id,
            url: hook.url,
            events: EVENT_VERSION_PUBLISHED.to_owned(),
            created: date_text(ctx, &hook.created_at),
            last_failing: last.as_ref().is_some_and(|d| d.state != "delivered"),
            last: last.as_ref().map(|d| last_text(ctx, m, d)).unwrap_or_default(),
        })
        .collect();
    let mut layout = ctx.layout(heading.clone(), path.clone());
    layout.nav = "account";
    let page = WebhooksPage {
        layout,
        m,
        heading,
        back,
        action: path,
        csrf: signed.session.csrf_token(),
        hooks: rows,
        secret: outcome.secret,
        saved: outcome.saved.or_else(|| ctx.query.get("deleted").map(|_| m.deleted)),
        error: outcome.error,
        url: outcome.url,
    };
    let body = kleber_web::render(&page).map_err(|e| PageError::internal(ctx, e))?;
    Ok(no_store(html(state, ctx, status, body, Framing::SameOrigin)))
}

/// Registers a hook on `target` from the form, and shows the page with its secret or why not.
async fn create(
    state: &AppState,
    signed: &Signed,
    target: HookTarget,
    form: &CsrfForm,
) -> Result<Response, PageError> {
    let url = form.get("url").unwrap_or_default().trim().to_owned();
    let created = state.app.create_webhook(&signed.editor(), target.clone(), &url).await;
    match created {
        Ok(created) => {
            let outcome = Outcome { secret: Some(created.secret), ..Outcome::default() };
            hooks_page(state, signed, target, StatusCode::CREATED, outcome).await
        }
        Err(Error::InvalidBody(message) | Error::BadParameter(message)) => {
            let outcome = Outcome { error: Some(message), url, ..Outcome::default() };
            hooks_page(state, signed, target, StatusCode::BAD_REQUEST, outcome).await
        }
        Err(e) => Err(signed.fail(e)),
    }
}

/// `GET /admin/datasets/{id}/webhooks`.
async fn get_dataset_hooks(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let target = HookTarget::Dataset(id);
    hooks_page(&state, &signed, target, StatusCode::OK, Outcome::default()).await
}

/// `POST /admin/datasets/{id}/webhooks`.
async fn post_dataset_hook(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    create(&state, &signed, HookTarget::Dataset(id), &form).await
}

/// `GET /admin/organizations/{org}/webhooks`.
async fn get_org_hooks(
    State(state): State<AppState>,
    signed: Signed,
    Path(org): Path<String>,
) -> Result<Response, PageError> {
    let target = HookTarget::Organization(org);
    hooks_page(&state, &signed, target, StatusCode::OK, Outcome::default()).await
}

/// `POST /admin/organizations/{org}/webhooks`.
async fn post_org_hook(
    State(state): State<AppState>,
    signed: Signed,
    Path(org): Path<String>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    create(&state, &signed, HookTarget::Organization(org), &form).await
}

/// The page listing `hook`.
fn page_of(hook: &Webhook) -> String {
    match &hook.dataset_id {
        Some(id) => format!("/admin/datasets/{id}/webhooks"),
        None => format!("/admin/organizations/{}/webhooks", hook.org_id),
    }
}

/// A hook number from the path (anything else is no hook).
fn hook_id(signed: &Signed, raw: &str) -> Result<i64, PageError> {
    raw.parse::<i64>().map_err(|_| PageError::not_found(&signed.ctx))
}

/// `POST /admin/webhooks/{hook}/delete`.
async fn post_delete(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
    _form: CsrfForm,
) -> Result<Response, PageError> {
    let id = hook_id(&signed, &raw)?;
    let editor = signed.editor();
    let hook = state.app.webhook(&editor, id).await.map_err(|e| signed.fail(e))?;
    state.app.delete_webhook(&editor, id).await.map_err(|e| signed.fail(e))?;
    Ok(redirect(&format!("{}?deleted=1", page_of(&hook))))
}

/// `GET /admin/webhooks/{hook}`: the delivery log.
async fn get_log(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    let id = hook_id(&signed, &raw)?;
    let ctx = &signed.ctx;
    let m = WebhookMessages::of(ctx.lang);
    let editor = signed.editor();
    let hook = state.app.webhook(&editor, id).await.map_err(|e| signed.fail(e))?;
    let deliveries = state
        .app
        .webhook_deliveries(&editor, id, LOG_DELIVERIES)
        .await
        .map_err(|e| signed.fail(e))?;
    let mut rows = Vec::new();
    for (delivery, attempts) in deliveries {
        let state_text = m.state(&delivery.state).to_owned();
        let next = if delivery.state == "pending" {
            ms_text(ctx, delivery.next_at_ms)
        } else {
            String::new()
        };
        if attempts.is_empty() {
            // Queued, not tried yet.
            rows.push(AttemptRow {
                delivery: delivery.id.clone(),
                state: state_text,
                time: date_text(ctx, &delivery.created_at),
                attempt: 0,
                status: String::new(),
                error: String::new(),
                next,
                ok: false,
            });
            continue;
        }
        let last = attempts.iter().map(|a| a.n).max().unwrap_or(0);
        for a in attempts.iter().rev() {
            rows.push(AttemptRow {
                delivery: delivery.id.clone(),
                state: if a.n == last { state_text.clone() } else { String::new() },
                time: date_text(ctx, &a.at),
                attempt: a.n,
                status: a.status.map(|s| s.to_string()).unwrap_or_default(),
                error: a.error.clone().unwrap_or_default(),
                next: if a.n == last { next.clone() } else { String::new() },
                ok: a.error.is_none(),
            });
        }
    }
    let back = page_of(&hook);
    let mut layout = ctx.layout(format!("{} {id}", m.log_heading), format!("/admin/webhooks/{id}"));
    layout.nav = "account";
    let page = WebhookLogPage { layout, m, id, url: hook.url, back, rows };
    let body = kleber_web::render(&page).map_err(|e| PageError::internal(ctx, e))?;
    Ok(no_store(html(&state, ctx, StatusCode::OK, body, Framing::SameOrigin)))
}
