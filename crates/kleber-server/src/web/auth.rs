//! Sign-in, sign-out and the account page (the user's API keys), with their CSRF checks.
//!
//! Every form that changes something is read through [`CsrfForm`], the only way these
//! handlers read a body: it refuses, with a 403 page saying why, a form sent from another
//! origin (`Origin`, else `Referer`, must be this portal's; a form with neither is refused
//! too), one without a `csrf` field, or one whose token is not the expected one. Signed in,
//! the expected token is the session's ([`kleber_app::sessions::Session::csrf_token`]); the
//! sign-in and invitation forms also accept the random `kleber_csrf` cookie their page set
//! (double submit: a site that cannot read the portal's cookies cannot forge the form), and
//! only they.
//! Sign-in failures are throttled per client address and per account by the application
//! layer (429 with `Retry-After`). See docs/security.md.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, FromRequest, OriginalUri, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::routing::{get, post};
use kleber_app::sessions::{SESSION_TTL_SECS, Session, SignInRefusal, is_token, same_token};
use kleber_store::{Scope, Visibility};
use kleber_web::auth::{
    AccountPage, AuthMessages, DatasetLink, InvitationPage, KeyView, LoginPage, MembershipView,
};
use kleber_web::pages::ErrorPage;

use super::{Framing, PageContext, PageError, html};
use crate::http::PublicUrl;
use crate::http::resolve::Caller;
use crate::http::session::{COOKIE, cookie, is_https, set_cookie};
use crate::state::AppState;

/// The cookie that carries the sign-in form's CSRF token before a session exists.
pub const CSRF_COOKIE: &str = "kleber_csrf";

/// How long the sign-in form's CSRF cookie lasts, in seconds.
const CSRF_COOKIE_SECS: i64 = 2 * 3600;

/// The largest form body read, in bytes (the forms here are small).
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The sign-in and account routes.
pub fn routes() -> Vec<(String, MethodRouter<AppState>)> {
    [
        ("/login", get(get_login).post(post_login)),
        ("/login/", get(get_login).post(post_login)),
        ("/logout", post(post_logout)),
        ("/logout/", post(post_logout)),
        ("/account", get(get_account)),
        ("/account/", get(get_account)),
        ("/account/keys", post(post_key)),
        ("/account/keys/{id}/revoke", post(post_revoke)),
        ("/invitation/{token}", get(get_invitation).post(post_invitation)),
    ]
    .into_iter()
    .map(|(path, handler)| (path.to_owned(), handler))
    .collect()
}

/// A form that passed the origin and CSRF checks: its fields, in order.
#[derive(Debug)]
pub struct CsrfForm {
    fields: Vec<(String, String)>,
}

impl CsrfForm {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub(crate) fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.fields.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Why a form is refused, as a 403 page.
pub(crate) fn forbidden(state: &AppState, ctx: &PageContext, message: &str) -> Response {
    refusal(state, ctx, StatusCode::FORBIDDEN, message)
}

fn refusal(state: &AppState, ctx: &PageContext, status: StatusCode, message: &str) -> Response {
    let m = AuthMessages::of(ctx.lang);
    let heading = match status {
        StatusCode::TOO_MANY_REQUESTS => m.too_many_heading,
        _ => m.forbidden_heading,
    };
    let mut layout = ctx.layout(heading, "/login/");
    layout.description = message.to_owned();
    let page = ErrorPage {
        layout,
        status: status.as_u16(),
        heading: heading.to_owned(),
        text: message.to_owned(),
    };
    match kleber_web::render(&page) {
        Ok(body) => no_store(html(state, ctx, status, body, Framing::SameOrigin)),
        Err(e) => PageError::internal(ctx, e).into_response(),
    }
}

pub(crate) fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `scheme://host` of the portal, as a browser's `Origin` would say it: the configured public
/// URL, else the request's `Host` (https when a proxy says so).
fn own_origin(headers: &HeaderMap, base: Option<&PublicUrl>) -> Option<String> {
    let base = base?.as_str();
    if base.starts_with("https://") {
        return Some(base.to_owned());
    }
    let host = base.strip_prefix("http://")?;
    Some(format!("{}://{host}", if is_https(headers) { "https" } else { "http" }))
}

/// Whether the request comes from this portal's own pages, or why not.
pub(crate) fn check_origin(
    headers: &HeaderMap,
    base: Option<&PublicUrl>,
    m: &AuthMessages,
) -> Result<(), &'static str> {
    let own = own_origin(headers, base).ok_or(m.cross_origin)?;
    if let Some(origin) = headers.get(header::ORIGIN) {
        return if origin.to_str().is_ok_and(|o| o == own) { Ok(()) } else { Err(m.cross_origin) };
    }
    if let Some(referer) = headers.get(header::REFERER) {
        let same = referer.to_str().is_ok_and(|r| {
            r.strip_prefix(&own).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        });
        return if same { Ok(()) } else { Err(m.cross_origin) };
    }
    Err(m.no_origin)
}

impl FromRequest<AppState> for CsrfForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let ctx = PageContext::new(
            request.headers(),
            request.uri().query(),
            request.extensions().get::<PublicUrl>(),
            Caller::of(request.extensions()),
        );
        let m = AuthMessages::of(ctx.lang);
        if let Err(message) =
            check_origin(request.headers(), request.extensions().get::<PublicUrl>(), m)
        {
            return Err(forbidden(state, &ctx, message));
        }
        // Signed in, the session's token; the sign-in form also takes its own cookie's
        // (a browser may sign in again while a session is open).
        let mut expected: Vec<String> =
            request.extensions().get::<Session>().map(Session::csrf_token).into_iter().collect();
        let path = request.uri().path();
        if (matches!(path, "/login" | "/login/") || path.starts_with("/invitation/"))
            && let Some(token) = cookie(request.headers(), CSRF_COOKIE).filter(|t| is_token(t))
        {
            expected.push(token.to_owned());
        }
        let Ok(body) = axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES).await else {
            let message =
                format!("The form is larger than the {MAX_FORM_BYTES} bytes this page accepts.");
            return Err(PageError::bad_request(&ctx, message).into_response());
        };
        let fields: Vec<(String, String)> =
            form_urlencoded::parse(&body).map(|(n, v)| (n.into_owned(), v.into_owned())).collect();
        let form = CsrfForm { fields };
        let Some(presented) = form.get("csrf").filter(|t| !t.is_empty()) else {
            return Err(forbidden(state, &ctx, m.csrf_missing));
        };
        if expected.iter().any(|e| same_token(presented, e)) {
            Ok(form)
        } else {
            Err(forbidden(state, &ctx, m.csrf_wrong))
        }
    }
}

/// Who asks, and the portal's base URL: what a page context needs besides the headers.
pub struct Asker {
    caller: Caller,
    base: Option<PublicUrl>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Asker {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Asker {
            caller: Caller::of(&parts.extensions),
            base: parts.extensions.get::<PublicUrl>().cloned(),
        })
    }
}

pub(crate) fn page_ctx(headers: &HeaderMap, uri: &OriginalUri, asker: &Asker) -> PageContext {
    PageContext::new(headers, uri.0.query(), asker.base.as_ref(), asker.caller.clone())
}

pub(crate) fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    no_store(response)
}

/// Where to go after signing in: a path of this portal, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.len() <= 2048
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n.to_owned()
        }
        _ => "/account/".to_owned(),
    }
}

fn login_page(
    state: &AppState,
    ctx: &PageContext,
    status: StatusCode,
    csrf: &str,
    email: &str,
    next: &str,
    error: Option<String>,
) -> Result<Response, PageError> {
    let m = AuthMessages::of(ctx.lang);
    let mut layout = ctx.layout(m.sign_in_heading, "/login/");
    layout.nav = "account";
    let page = LoginPage {
        layout,
        m,
        csrf: csrf.to_owned(),
        email: email.to_owned(),
        next: next.to_owned(),
        error,
    };
    let body = kleber_web::render(&page).map_err(|e| PageError::internal(ctx, e))?;
    Ok(no_store(html(state, ctx, status, body, Framing::SameOrigin)))
}

/// `GET /login`: the sign-in form (or the account page when signed in).
pub async fn get_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    asker: Asker,
    uri: OriginalUri,
    session: Option<Extension<Session>>,
) -> Result<Response, PageError> {
    let ctx = page_ctx(&headers, &uri, &asker);
    if session.is_some() {
        return Ok(redirect("/account/"));
    }
    let (csrf, fresh) = match cookie(&headers, CSRF_COOKIE).filter(|t| is_token(t)) {
        Some(token) => (token.to_owned(), false),
        None => {
            (kleber_app::sessions::new_token().map_err(|e| PageError::internal(&ctx, e))?, true)
        }
    };
    let next = safe_next(ctx.query.get("next"));
    let mut response = login_page(&state, &ctx, StatusCode::OK, &csrf, "", &next, None)?;
    if fresh {
        let value = set_cookie(&headers, CSRF_COOKIE, &csrf, CSRF_COOKIE_SECS);
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The signed-out forms' CSRF token: the `kleber_csrf` cookie's, or a new one (to set).
fn form_token(headers: &HeaderMap, ctx: &PageContext) -> Result<(String, bool), PageError> {
    Ok(match cookie(headers, CSRF_COOKIE).filter(|t| is_token(t)) {
        Some(token) => (token.to_owned(), false),
        None => (kleber_app::sessions::new_token().map_err(|e| PageError::internal(ctx, e))?, true),
    })
}

/// `POST /login`: checks the password and opens a new session.
pub async fn post_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    asker: Asker,
    uri: OriginalUri,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let ctx = page_ctx(&headers, &uri, &asker);
    let m = AuthMessages::of(ctx.lang);
    let email = form.get("email").unwrap_or("").trim().to_owned();
    let password = form.get("password").unwrap_or("");
    let next = safe_next(form.get("next"));
    let csrf = form.get("csrf").unwrap_or("").to_owned();
    let address =
        peer.map_or_else(|| "unknown".to_owned(), |Extension(ConnectInfo(a))| a.ip().to_string());
    let outcome = state
        .app
        .sign_in(&email, password, &address)
        .await
        .map_err(|e| PageError::internal(&ctx, e))?;
    match outcome {
        Ok(signed) => {
            // The session this browser had before, if any, ends here: one browser, one session.
            if let Some(old) = cookie(&headers, COOKIE)
                && let Err(e) = state.app.sign_out(old).await
            {
                tracing::warn!(error = %e, "cannot delete the previous session");
            }
            let mut response = redirect(&next);
            let cookies = response.headers_mut();
            cookies.append(
                header::SET_COOKIE,
                set_cookie(&headers, COOKIE, &signed.token, SESSION_TTL_SECS),
            );
            cookies.append(header::SET_COOKIE, set_cookie(&headers, CSRF_COOKIE, "", 0));
            Ok(response)
        }
        Err(SignInRefusal::Invalid) => login_page(
            &state,
            &ctx,
            StatusCode::UNAUTHORIZED,
            &csrf,
            &email,
            &next,
            Some(m.sign_in_invalid.to_owned()),
        ),
        Err(SignInRefusal::Throttled { retry_after_secs }) => {
            let mut response = login_page(
                &state,
                &ctx,
                StatusCode::TOO_MANY_REQUESTS,
                &csrf,
                &email,
                &next,
                Some(m.throttled(retry_after_secs)),
            )?;
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            Ok(response)
        }
    }
}

/// `POST /logout`: deletes the session and its cookie.
pub async fn post_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    asker: Asker,
    uri: OriginalUri,
    _form: CsrfForm,
) -> Result<Response, PageError> {
    let ctx = page_ctx(&headers, &uri, &asker);
    if let Some(token) = cookie(&headers, COOKIE) {
        state.app.sign_out(token).await.map_err(|e| PageError::internal(&ctx, e))?;
    }
    let mut response = redirect("/");
    response.headers_mut().append(header::SET_COOKIE, set_cookie(&headers, COOKIE, "", 0));
    Ok(response)
}

/// What the account page shows besides the session.
#[derive(Default)]
struct Notice {
    created_key: Option<String>,
    error: Option<String>,
}

async fn account_page(
    state: &AppState,
    ctx: &PageContext,
    session: &Session,
    status: StatusCode,
    notice: Notice,
) -> Result<Response, PageError> {
    let m = AuthMessages::of(ctx.lang);
    let email = session.email.clone();
    let keys = state
        .app
        .blocking_accounts(move |a| a.keys(Some(&email)))
        .await
        .map_err(|e| PageError::internal(ctx, e))?;
    let app_ctx = ctx.request();
    let view = state.app.catalog(&app_ctx).await.map_err(|e| PageError::from_api(ctx, e))?;
    let datasets = view
        .records()
        .iter()
        .filter(|r| r.visibility != Visibility::Public)
        .map(|r| DatasetLink {
            title: r.title.clone(),
            href: format!("/explore/dataset/{}/", r.id),
            visibility: if r.visibility == Visibility::Draft { m.draft } else { m.restricted },
        })
        .collect();
    let memberships = match session.principal.account() {
        Some(account) => account
            .memberships
            .iter()
            .map(|(org, role)| MembershipView {
                org: org.clone(),
                href: super::organizations::organization_path(org),
                role: role.as_str().to_owned(),
            })
            .collect(),
        None => Vec::new(),
    };
    let keys = keys
        .into_iter()
        .map(|k| KeyView {
            id: k.id,
            name: k.name,
            scopes: k.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
            expires: k.expires_at.unwrap_or_else(|| m.never.to_owned()),
            last_used: k.last_used_at.unwrap_or_else(|| m.never.to_owned()),
            revoked: k.revoked_at,
        })
        .collect();
    let mut layout = ctx.layout(m.account_heading, "/account/");
    layout.nav = "account";
    let page = AccountPage {
        layout,
        m,
        csrf: session.csrf_token(),
        name: session.name.clone(),
        email: session.email.clone(),
        expires: session.expires_at.clone(),
        memberships,
        datasets,
        keys,
        admin_link: kleber_app::admin::administers_anything(&session.principal)
            .then_some(kleber_web::admin::AdminMessages::of(ctx.lang).admin_heading),
        datasets_link: kleber_app::admin::publishes_anything(&session.principal)
            .then_some(kleber_web::backoffice::BoMessages::of(ctx.lang).dashboard_heading),
        created_key: notice.created_key,
        error: notice.error,
    };
    let body = kleber_web::render(&page).map_err(|e| PageError::internal(ctx, e))?;
    Ok(no_store(html(state, ctx, status, body, Framing::SameOrigin)))
}

/// `GET /account`: the signed-in user's page (the sign-in form otherwise).
pub async fn get_account(
    State(state): State<AppState>,
    headers: HeaderMap,
    asker: Asker,
    uri: OriginalUri,
    session: Option<Extension<Session>>,
) -> Result<Response, PageError> {
    let ctx = page_ctx(&headers, &uri, &asker);
    let Some(Extension(session)) = session else {
        return Ok(redirect("/login/?next=/account/"));
    };
    account_page(&state, &ctx, &session, StatusCode::OK, Notice::default()).await
}

/// `POST /account/keys`: creates an API key for the signed-in user, shown once.
pub async fn post_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    asker: Asker,
    uri: OriginalUri,
    session: Option<Extension<Session>>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let ctx = page_ctx(&headers, &uri, &asker);
    let m = AuthMessages::of(ctx.lang);
    let Some(Extension(session)) = session else {
        return Ok(redirect("/login/?next=/account/"));
    };
    let name = form.get("name").unwrap_or("").trim().to_owned();
    let mut scopes = Vec::new();
    for word in form.all("scope") {
        match word.parse::<Scope>() {
            Ok(scope) if !scopes.contains(&scope) => scopes.push(scope),
            Ok(_) => {}
            Err(message) => {
                let notice = Notice { error: Some(message), ..Notice::default() };
                return account_page(&state, &ctx, &session, StatusCode::BAD_REQUEST, notice).await;
            }
        }
    }
    let expires = match form.get("expires").map(str::trim).filter(|e| !e.is_empty()) {
        None => None,
        Some(text) => match text.parse::<u32>() {
            Ok(days @ 1..=3650) => Some(days),
            _ => {
                let notice = Notice { error: Some(m.bad_expiry.to_owned()), ..Notice::default() };
                return account_page(&state, &ctx, &session, StatusCode::BAD_REQUEST, notice).await;
            }
        },
    };
    let error = if name.is_empty() {
        Some(m.key_name_missing)
    } else if scopes.is_empty() {
        Some(m.key_scope_missing)
    } else {
        None
    };
    if let Some(error) = error {
        let notice = Notice { error: Some(error.to_owned()), ..Notice::default() };
        return account_page(&state, &ctx, &session, StatusCode::BAD_REQUEST, notice).await;
    }
    let (actor, email) = (session.actor.clone(), session.email.clone());
    let created = state
        .app
        .blocking_accounts(move |a| a.create_key(&actor, &email, &name, &scopes, expires))
        .await
        .map_err(|e| PageError::from_api(&ctx, e))?;
    let notice = Notice { created_key: Some(created.key), ..Notice::default() };
    account_page(&state, &ctx, &session, StatusCode::CREATED, notice).await
}

/// `POST /account/keys/{id}/revoke`: revokes one of the signed-in user's keys.
pub async fn post_revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    asker: Asker,
    uri: OriginalUri,
    Path(id): Path<String>,
    session: Option<Extension<Session>>,
    _form: CsrfForm,
) -> Result<Response, PageError> {
    let ctx = page_ctx(&headers, &uri, &asker);
    let Some(Extension(session)) = session else {
        return Ok(redirect("/login/?next=/account/"));
    };
    let (actor, email) = (session.actor.clone(), session.email.clone());
    let revoked = state
        .app
        .blocking_accounts(move |a| {
            // Only the user's own keys: another's answers as if it did not exist.
            if !a.keys(Some(&email))?.iter().any(|k| k.id == id) {
                return Ok(false);
            }
            a.revoke_key(&actor, &id).map(|_| true)
        })
        .await
        .map_err(|e| PageError::internal(&ctx, e))?;
    if !revoked {
        return Err(PageError::not_found(&ctx));
    }
    Ok(redirect("/account/"))
}

fn invitation_page(
    state: &AppState,
    ctx: &PageContext,
    status: StatusCode,
    csrf: &str,
    email: &str,
    token: &str,
    error: Option<String>,
) -> Result<Response, PageError> {
    let m = AuthMessages::of(ctx.lang);
    let mut layout = ctx.layout(m.invitation_heading, "/login/");
    layout.nav = "account";
    let page = InvitationPage {
        layout,
        m,
        csrf: csrf.to_owned(),
        email: email.to_owned(),
        action: format!("/invitation/{token}"),
        error,
    };
    let body = kleber_web::render(&page).map_err(|e| PageError::internal(ctx, e))?;
    let mut response = no_store(html(state, ctx, status, body, Framing::SameOrigin));
    // The link's token must not leak to other sites through the Referer (same-origin, not
    // no-referrer: with no-referrer the browser sends `Origin: null` and the form is refused).
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    Ok(response)
}

/// `GET /invitation/{token}`: the form where an invited user chooses a password (404 for an
/// unknown, used or expired link, like any unknown page).
pub async fn get_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    asker: Asker,
    uri: OriginalUri,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let ctx = page_ctx(&headers, &uri, &asker);
    let lookup = token.clone();
    let user = state
        .app
        .blocking_accounts(move |a| a.invitation_user(&lookup))
        .await
        .map_err(|e| PageError::internal(&ctx, e))?
        .ok_or_else(|| PageError::not_found(&ctx))?;
    let (csrf, fresh) = form_token(&headers, &ctx)?;
    let mut response =
        invitation_page(&state, &ctx, StatusCode::OK, &csrf, &user.email, &token, None)?;
    if fresh {
        let value = set_cookie(&headers, CSRF_COOKIE, &csrf, CSRF_COOKIE_SECS);
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `POST /invitation/{token}`: sets the password once, then leads to the sign-in form.
pub async fn post_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    asker: Asker,
    uri: OriginalUri,
    Path(token): Path<String>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let ctx = page_ctx(&headers, &uri, &asker);
    let m = AuthMessages::of(ctx.lang);
    let lookup = token.clone();
    let user = state
        .app
        .blocking_accounts(move |a| a.invitation_user(&lookup))
        .await
        .map_err(|e| PageError::internal(&ctx, e))?
        .ok_or_else(|| PageError::not_found(&ctx))?;
    let password = form.get("password").unwrap_or("").to_owned();
    let csrf = form.get("csrf").unwrap_or("");
    let error = if password.chars().count() < 12 {
        Some(m.password_too_short)
    } else if form.get("confirm") != Some(password.as_str()) {
        Some(m.passwords_differ)
    } else {
        None
    };
    if let Some(error) = error {
        let status = StatusCode::BAD_REQUEST;
        let error = Some(error.to_owned());
        return invitation_page(&state, &ctx, status, csrf, &user.email, &token, error);
    }
    let accepted = state
        .app
        .blocking_accounts(move |a| a.accept_invitation(&token, &password))
        .await
        .map_err(|e| PageError::from_api(&ctx, e))?;
    if accepted.is_none() {
        return Err(PageError::not_found(&ctx));
    }
    Ok(redirect("/login/?next=/account/"))
}
