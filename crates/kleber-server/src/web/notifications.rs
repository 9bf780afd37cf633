//! Following datasets and the notifications page (docs/feeds.md#following-a-dataset):
//!
//! - `POST /account/follow/{id}` (a CSRF form; `follow=1` or `0`, optional `next`): the
//!   signed-in user follows dataset `id` (which they must be able to read) or stops;
//! - `GET /account/notifications`: the new versions of followed datasets, newest first, with
//!   the unread count;
//! - `POST /account/notifications/read` (a CSRF form): marks them read.
//!
//! Sessions only (a signed-out visitor is sent to the sign-in page); the use cases are
//! `kleber_app::notifications`.
//!
//! The header's unread badge: [`UnreadLayer`] counts the signed-in user's unread
//! notifications (one indexed SQLite count) for each portal page asked by a session, and the page's [`super::PageContext`] reads it from a task-local value set for
//! that request only, so it reaches every page's layout without a parameter. Pages are never
//! cached whole (the portal's caches hold facets, charts and catalog searches keyed by
//! version, never a rendered header), and answers to a session are `private`.

use axum::Extension;
use axum::extract::{OriginalUri, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use kleber_app::sessions::Session;
use kleber_web::notifications::{NotificationMessages, NotificationView, NotificationsPage};

use super::auth::{Asker, CsrfForm, no_store, page_ctx, redirect};
use super::{Framing, PageError, html};
use crate::state::AppState;

/// The routes.
pub fn routes() -> Vec<(String, MethodRouter<AppState>)> {
    [
        ("/account/follow/{id}", post(post_follow)),
        ("/account/notifications", get(get_notifications)),
        ("/account/notifications/", get(get_notifications)),
        ("/account/notifications/read", post(post_read)),
    ]
    .into_iter()
    .map(|(path, handler)| (path.to_owned(), handler))
    .collect()
}

tokio::task_local! {
    /// The unread count of the request being served ([`UnreadLayer`]).
    static UNREAD: Option<i64>;
}

/// The signed-in user's unread notifications for the page being rendered (`None`: signed out,
/// or not a page request).
pub fn current_unread() -> Option<i64> {
    UNREAD.try_with(|n| *n).ok().flatten()
}

/// Whether `path` is a portal page that may show the header (not the APIs, assets or embeds).
fn is_page(path: &str) -> bool {
    !(path.starts_with("/api/")
        || path.starts_with("/static/")
        || path.starts_with("/explore/embed/")
        || path.ends_with(".atom")
        || path.ends_with(".xml")
        || path.ends_with(".txt")
        || path.ends_with(".json"))
}

/// The layer that counts the session's unread notifications for a portal page's header (see
/// the module). A tower layer rather than a `from_fn` one: it wraps every request, API reads
/// included, and `from_fn` clones the stack below it and boxes the body on each
/// (BENCHMARKS.md, issue 17, sixth round).
#[derive(Clone)]
pub struct UnreadLayer(pub AppState);

impl<S> tower::Layer<S> for UnreadLayer {
    type Service = Unread<S>;

    fn layer(&self, inner: S) -> Unread<S> {
        Unread { state: self.0.clone(), inner }
    }
}

/// The service of [`UnreadLayer`].
#[derive(Clone)]
pub struct Unread<S> {
    state: AppState,
    inner: S,
}

impl<S> tower::Service<Request> for Unread<S>
where
    S: tower::Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // Any method: a refused form answers its page again, with the same header.
        let wanted =
            is_page(request.uri().path()) && request.extensions().get::<Session>().is_some();
        if !wanted {
            return Box::pin(self.inner.call(request));
        }
        // The count comes first: the service that was made ready is taken along for the call
        // after it, and a clone stays here for the next request.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let state = self.state.clone();
        Box::pin(async move {
            let ctx = crate::http::resolve::Caller::of(request.extensions()).context();
            let unread = match state.app.unread_notifications(&ctx).await {
                Ok(n) => Some(n),
                Err(e) => {
                    tracing::warn!(error = %e, "unread notifications not counted");
                    None
                }
            };
            UNREAD.scope(unread, inner.call(request)).await
        })
    }
}

/// `POST /account/follow/{id}`.
pub async fn post_follow(
    State(state): State<AppState>,
    headers: HeaderMap,
    asker: Asker,
    uri: OriginalUri,
    session: Option<Extension<Session>>,
    Path(id): Path<String>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let ctx = page_ctx(&headers, &uri, &asker);
    if session.is_none() {
        return Ok(redirect(&format!("/login/?next=/explore/dataset/{id}/")));
    }
    let follow = form.get("follow") != Some("0");
    state
        .app
        .set_follow(&ctx.request(), &id, follow)
        .await
        .map_err(|e| PageError::from_api(&ctx, e))?;
    // Back where the form was: the notifications, or a page of this dataset.
    let page = format!("/explore/dataset/{id}/");
    let next = match form.get("next") {
        Some("notifications") => "/account/notifications/".to_owned(),
        Some(n)
            if n.starts_with(&page)
                && n.len() <= 2048
                && !n.contains(['\\', '#'])
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n.to_owned()
        }
        _ => page,
    };
    Ok(redirect(&next))
}

/// `GET /account/notifications`.
pub async fn get_notifications(
    State(state): State<AppState>,
    headers: HeaderMap,
    asker: Asker,
    uri: OriginalUri,
    session: Option<Extension<Session>>,
) -> Result<Response, PageError> {
    let ctx = page_ctx(&headers, &uri, &asker);
    let Some(Extension(session)) = session else {
        return Ok(redirect("/login/?next=/account/notifications/"));
    };
    let app_ctx = ctx.request();
    let list = state.app.notifications(&app_ctx).await.map_err(|e| PageError::from_api(&ctx, e))?;
    let unread = list.iter().filter(|n| !n.read).count();
    let items = list
        .into_iter()
        .map(|n| NotificationView {
            href: format!("/explore/dataset/{}/", n.dataset_id),
            changes_href: n.previous.map(|p| {
                format!(
                    "/api/explore/v2.1/catalog/datasets/{}/changes?from={p}&to={}",
                    n.dataset_id, n.version
                )
            }),
            dataset_id: n.dataset_id,
            title: n.dataset_title,
            version: n.version,
            created_at: n.created_at,
            read: n.read,
        })
        .collect();
    let m = NotificationMessages::of(ctx.lang);
    let mut layout = ctx.layout(m.heading, "/account/notifications/");
    layout.nav = "account";
    let page = NotificationsPage {
        layout,
        m,
        csrf: session.csrf_token(),
        items,
        unread: i64::try_from(unread).unwrap_or(i64::MAX),
    };
    let body = kleber_web::render(&page).map_err(|e| PageError::internal(&ctx, e))?;
    Ok(no_store(html(&state, &ctx, StatusCode::OK, body, Framing::SameOrigin)))
}

/// `POST /account/notifications/read`.
pub async fn post_read(
    State(state): State<AppState>,
    headers: HeaderMap,
    asker: Asker,
    uri: OriginalUri,
    session: Option<Extension<Session>>,
    _form: CsrfForm,
) -> Result<Response, PageError> {
    let ctx = page_ctx(&headers, &uri, &asker);
    if session.is_none() {
        return Ok(redirect("/login/?next=/account/notifications/"));
    }
    state
        .app
        .mark_notifications_read(&ctx.request(), None)
        .await
        .map_err(|e| PageError::from_api(&ctx, e))?;
    Ok(redirect("/account/notifications/"))
}
