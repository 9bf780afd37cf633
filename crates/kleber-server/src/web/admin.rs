//! The administration pages under `/admin/`: the audit log (portal admins read every entry,
//! organization admins their organizations'), an organization's members, roles, invitations
//! and API keys (its admins), and the organizations and users (portal admins).
//!
//! Pages are for signed-in sessions: anyone else, and a user who may not administer what the
//! page is about, gets the portal's ordinary 404 page, the answer of a page that does not
//! exist. Every form is read through [`CsrfForm`] and every change goes through a
//! `kleber_app::admin` use case with the session's principal and actor, which writes its
//! audit entry. After a change the browser is sent back to the page (`303`, `?saved=1`); a
//! refused form shows the page again with the reason (400), changing nothing.
//! An invitation shows its one-time link on the page that answers the form (and mails it
//! when mail is set up, [`crate::mail`]).

use axum::extract::{FromRequestParts, OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use kleber_app::Error;
use kleber_app::admin::{OrgAdmin, OrgForm};
use kleber_app::audit::AuditQuery;
use kleber_app::manage::Editor;
use kleber_app::sessions::Session;
use kleber_store::{OrgKind, Organization, Role};
use kleber_web::admin::{
    AdminIndexPage, AdminMessages, AuditLogPage, AuditRow, Choice, InvitationRow, KeyRow,
    MemberRow, Notice, OrgAdminPage, OrgFormView, OrgRow, OrgsAdminPage, UserRow, UsersAdminPage,
};
use kleber_web::url::Query;
use kleber_web::view::Link;

use super::auth::{Asker, CsrfForm, no_store, page_ctx, redirect};
use super::organizations::{kind_label, organization_path};
use super::{Framing, PageContext, PageError, html};
use crate::state::AppState;

/// Audit entries per page.
pub const AUDIT_PAGE: usize = 50;

/// The administration routes.
pub fn routes() -> Vec<(String, MethodRouter<AppState>)> {
    [
        ("/admin", get(get_index)),
        ("/admin/", get(get_index)),
        ("/admin/audit", get(get_audit)),
        ("/admin/audit/", get(get_audit)),
        ("/admin/organizations", get(get_orgs).post(post_create_org)),
        ("/admin/organizations/", get(get_orgs)),
        ("/admin/organizations/{org}", get(get_org)),
        ("/admin/organizations/{org}/", get(get_org)),
        ("/admin/organizations/{org}/edit", post(post_edit_org)),
        ("/admin/organizations/{org}/members/role", post(post_role)),
        ("/admin/organizations/{org}/members/remove", post(post_remove)),
        ("/admin/organizations/{org}/invitations", post(post_invite)),
        ("/admin/organizations/{org}/invitations/revoke", post(post_revoke_invitation)),
        ("/admin/users", get(get_users)),
        ("/admin/users/", get(get_users)),
        ("/admin/users/disable", post(post_disable)),
        ("/admin/users/admin", post(post_admin_flag)),
    ]
    .into_iter()
    .map(|(path, handler)| (path.to_owned(), handler))
    .collect()
}

/// A use case's failure as the page answers it: refusals as a missing page, the caller's
/// mistakes as a message on the form, the rest as a 500.
enum Failure {
    NotFound,
    Form(String),
    Internal(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        match e {
            Error::Forbidden(_) | Error::Unauthenticated(_) => Failure::NotFound,
            Error::BadParameter(message)
            | Error::InvalidBody(message)
            | Error::Conflict(message)
            | Error::NotFound(message) => Failure::Form(message),
            other => Failure::Internal(other.to_string()),
        }
    }
}

impl Failure {
    fn page(self, ctx: &PageContext) -> PageError {
        match self {
            Failure::NotFound => PageError::not_found(ctx),
            Failure::Form(message) => PageError::bad_request(ctx, message),
            Failure::Internal(message) => PageError::internal(ctx, message),
        }
    }
}

pub(super) fn render<T: kleber_web::Template>(
    state: &AppState,
    ctx: &PageContext,
    status: StatusCode,
    page: &T,
) -> Result<Response, PageError> {
    let body = kleber_web::render(page).map_err(|e| PageError::internal(ctx, e))?;
    Ok(no_store(html(state, ctx, status, body, Framing::SameOrigin)))
}

pub(super) fn layout(ctx: &PageContext, title: &str, path: &str) -> kleber_web::view::Layout {
    let mut layout = ctx.layout(title, path);
    layout.nav = "account";
    layout
}

fn saved(ctx: &PageContext) -> Notice {
    Notice { saved: ctx.query.get("saved") == Some("1"), ..Notice::default() }
}

/// The session, or the missing page.
fn editor(session: &Session) -> Editor {
    Editor::of_session(session)
}

/// A request of a signed-in user to an admin page: its page context and session. Anyone
/// else gets the portal's missing page, before any form is read.
pub(super) struct Signed {
    pub(super) ctx: PageContext,
    pub(super) session: Session,
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

/// A signed-in request to the pages of organization `{org}`, by one of its admins (or a
/// portal admin); anyone else gets the portal's missing page.
struct OrgAdminAsk {
    ctx: PageContext,
    session: Session,
    org: String,
}

impl<S: Send + Sync> FromRequestParts<S> for OrgAdminAsk {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        let Signed { ctx, session } = Signed::from_request_parts(parts, state).await?;
        let Ok(Path(org)) = Path::<String>::from_request_parts(parts, state).await else {
            return Err(PageError::not_found(&ctx));
        };
        if !kleber_app::policy::may_admin(&session.principal, &org) {
            return Err(PageError::not_found(&ctx));
        }
        Ok(OrgAdminAsk { ctx, session, org })
    }
}

fn role_choices(m: &AdminMessages, current: Role) -> Vec<Choice> {
    Role::ALL
        .iter()
        .map(|r| Choice {
            value: r.as_str().to_owned(),
            label: m.role(r.as_str()).to_owned(),
            selected: *r == current,
        })
        .collect()
}

fn kind_choices(ctx: &PageContext, current: OrgKind) -> Vec<Choice> {
    OrgKind::ALL
        .iter()
        .map(|k| Choice {
            value: k.as_str().to_owned(),
            label: kind_label(*k, ctx.lang).to_owned(),
            selected: *k == current,
        })
        .collect()
}

fn org_form_view(ctx: &PageContext, org: &Organization) -> OrgFormView {
    OrgFormView {
        name: org.name.clone(),
        kinds: kind_choices(ctx, org.kind),
        description: org.description.clone().unwrap_or_default(),
        website: org.website.clone().unwrap_or_default(),
    }
}

/// `GET /admin/`: links to what the user administers.
async fn get_index(
    State(state): State<AppState>,
    Signed { ctx, session }: Signed,
) -> Result<Response, PageError> {
    if !kleber_app::admin::administers_anything(&session.principal) {
        return Err(PageError::not_found(&ctx));
    }
    let m = AdminMessages::of(ctx.lang);
    let orgs = state
        .app
        .administered_orgs(&editor(&session))
        .await
        .map_err(|e| Failure::from(e).page(&ctx))?;
    let portal_admin = kleber_app::policy::may_admin_portal(&session.principal);
    let page = AdminIndexPage {
        layout: layout(&ctx, m.admin_heading, "/admin/"),
        m,
        // A portal admin finds every organization on the organizations page.
        orgs: if portal_admin {
            Vec::new()
        } else {
            orgs.into_iter()
                .map(|o| Link { label: o.name, href: format!("/admin/organizations/{}/", o.id) })
                .collect()
        },
        portal_admin,
    };
    render(&state, &ctx, StatusCode::OK, &page)
}

/// `GET /admin/audit/`: the audit log the user may read, filtered and paged.
async fn get_audit(
    State(state): State<AppState>,
    Signed { ctx, session }: Signed,
) -> Result<Response, PageError> {
    let principal = &session.principal;
    // Refused callers get the missing page before their parameters are looked at.
    state.app.may_read_audit(principal).map_err(|e| Failure::from(e).page(&ctx))?;
    let m = AdminMessages::of(ctx.lang);
    let q = &ctx.query;
    let text = |name: &str| q.get(name).map(str::trim).unwrap_or_default().to_owned();
    let (actor, action, org, since, until) =
        (text("actor"), text("action"), text("org"), text("since"), text("until"));
    let page_number = match q.get("page").map(str::trim).filter(|p| !p.is_empty()) {
        None => 1,
        Some(p) => match p.parse::<usize>() {
            Ok(n @ 1..) => n,
            _ => {
                let message = format!(
                    "Invalid value for page: {:?} is not a page number (1, 2, ...).",
                    p.chars().take(40).collect::<String>()
                );
                return Err(PageError::bad_request(&ctx, message));
            }
        },
    };
    let portal_admin = kleber_app::policy::may_admin_portal(principal);
    let readable: Vec<Organization> = if portal_admin {
        Vec::new()
    } else {
        state
            .app
            .administered_orgs(&editor(&session))
            .await
            .map_err(|e| Failure::from(e).page(&ctx))?
    };
    let some = |s: &String| (!s.is_empty()).then(|| s.clone());
    let query = AuditQuery {
        org: some(&org),
        actor: some(&actor),
        action: some(&action),
        since: some(&since),
        until: some(&until),
        limit: AUDIT_PAGE,
        offset: (page_number - 1).saturating_mul(AUDIT_PAGE),
    };
    let (status, result, error) = match state.app.audit(principal, query).await {
        Ok(page) => (StatusCode::OK, Some(page), None),
        Err(Error::BadParameter(message) | Error::Forbidden(message)) => {
            (StatusCode::BAD_REQUEST, None, Some(message))
        }
        Err(e) => return Err(Failure::from(e).page(&ctx)),
    };
    let href = |n: usize| {
        let mut query = Query::default();
        for (name, value) in [
            ("actor", &actor),
            ("action", &action),
            ("org", &org),
            ("since", &since),
            ("until", &until),
        ] {
            if !value.is_empty() {
                query = query.add(name, value);
            }
        }
        if n > 1 {
            query = query.add("page", &n.to_string());
        }
        query.href("/admin/audit/")
    };
    let (total, rows, more) = match &result {
        Some(page) => {
            let shown = (page_number - 1) * AUDIT_PAGE + page.entries.len();
            let rows = page
                .entries
                .iter()
                .map(|e| AuditRow {
                    at: e.at.clone(),
                    actor: e.actor.clone(),
                    via: e.via.clone().unwrap_or_default(),
                    action: e.action.clone(),
                    target: e.target.clone(),
                    details: e.details.to_string(),
                })
                .collect();
            (page.total_count, rows, (shown as u64) < page.total_count)
        }
        None => (0, Vec::new(), false),
    };
    let page = AuditLogPage {
        layout: layout(&ctx, m.audit_heading, "/admin/audit/"),
        m,
        scope: (!portal_admin).then(|| readable.iter().map(|o| o.name.clone()).collect()),
        org_choices: readable
            .iter()
            .map(|o| Choice { value: o.id.clone(), label: o.name.clone(), selected: o.id == org })
            .collect(),
        total: ctx.lang.messages().number(i64::try_from(total).unwrap_or(i64::MAX)),
        previous: (page_number > 1 && result.is_some()).then(|| href(page_number - 1)),
        next: more.then(|| href(page_number + 1)),
        actor,
        action,
        org,
        since,
        until,
        rows,
        error,
    };
    render(&state, &ctx, status, &page)
}

/// The organization page of `org`, with `notice`.
async fn org_page(
    state: &AppState,
    ctx: &PageContext,
    session: &Session,
    org: &str,
    status: StatusCode,
    notice: Notice,
) -> Result<Response, PageError> {
    let m = AdminMessages::of(ctx.lang);
    let OrgAdmin { org, members, invitations, keys } =
        match state.app.org_admin(&session.principal, org).await {
            Ok(found) => found,
            // An unknown organization is a missing page, for portal admins too.
            Err(Error::BadParameter(_)) => return Err(PageError::not_found(ctx)),
            Err(e) => return Err(Failure::from(e).page(ctx)),
        };
    let path = format!("/admin/organizations/{}/", org.id);
    let page = OrgAdminPage {
        layout: layout(ctx, &format!("{} – {}", m.admin_heading, org.name), &path),
        m,
        csrf: session.csrf_token(),
        id: org.id.clone(),
        name: org.name.clone(),
        public_href: organization_path(&org.id),
        members: members
            .iter()
            .enumerate()
            .map(|(n, (user, role))| MemberRow {
                email: user.email.clone(),
                name: user.name.clone(),
                roles: role_choices(m, *role),
                role: m.role(role.as_str()),
                n,
            })
            .collect(),
        invite_roles: role_choices(m, Role::Viewer),
        invitations: invitations
            .iter()
            .map(|i| InvitationRow {
                email: i.user.email.clone(),
                role: m.role(i.role.as_str()),
                expires: i.expires_at.clone(),
            })
            .collect(),
        keys: keys
            .into_iter()
            .map(|k| KeyRow {
                scopes: k.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                expires: k.expires_at.unwrap_or_else(|| m.never.to_owned()),
                last_used: k.last_used_at.unwrap_or_else(|| m.never.to_owned()),
                id: k.id,
                name: k.name,
                owner: k.user_email,
                revoked: k.revoked_at,
            })
            .collect(),
        edit: kleber_app::policy::may_admin_portal(&session.principal)
            .then(|| org_form_view(ctx, &org)),
        notice,
    };
    render(state, ctx, status, &page)
}

/// `GET /admin/organizations/{org}/`.
async fn get_org(
    State(state): State<AppState>,
    Signed { ctx, session }: Signed,
    Path(org): Path<String>,
) -> Result<Response, PageError> {
    org_page(&state, &ctx, &session, &org, StatusCode::OK, saved(&ctx)).await
}

/// A form's `email` field, trimmed.
fn email(form: &CsrfForm) -> String {
    form.get("email").unwrap_or_default().trim().to_owned()
}

fn role(form: &CsrfForm) -> Option<Role> {
    form.get("role").and_then(|r| r.parse().ok())
}

/// After an organization form: back to its page, or the page again with why not.
async fn org_outcome(
    state: &AppState,
    ctx: &PageContext,
    session: &Session,
    org: &str,
    outcome: Result<(), Failure>,
) -> Result<Response, PageError> {
    match outcome {
        Ok(()) => Ok(redirect(&format!("/admin/organizations/{org}/?saved=1"))),
        Err(Failure::Form(message)) => {
            let notice = Notice { error: Some(message), ..Notice::default() };
            org_page(state, ctx, session, org, StatusCode::BAD_REQUEST, notice).await
        }
        Err(other) => Err(other.page(ctx)),
    }
}

/// `POST /admin/organizations/{org}/members/role`: `email`, `role`.
async fn post_role(
    State(state): State<AppState>,
    OrgAdminAsk { ctx, session, org }: OrgAdminAsk,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let m = AdminMessages::of(ctx.lang);
    let outcome = match role(&form) {
        None => Err(Failure::Form(m.bad_role.to_owned())),
        Some(role) => state
            .app
            .admin_set_role(&session.principal, &session.actor, &org, &email(&form), role)
            .await
            .map_err(Failure::from),
    };
    org_outcome(&state, &ctx, &session, &org, outcome).await
}

/// `POST /admin/organizations/{org}/members/remove`: `email`.
async fn post_remove(
    State(state): State<AppState>,
    OrgAdminAsk { ctx, session, org }: OrgAdminAsk,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let outcome = state
        .app
        .admin_remove_member(&editor(&session), &org, &email(&form))
        .await
        .map_err(Failure::from);
    org_outcome(&state, &ctx, &session, &org, outcome).await
}

/// `POST /admin/organizations/{org}/invitations/revoke`: `email`.
async fn post_revoke_invitation(
    State(state): State<AppState>,
    OrgAdminAsk { ctx, session, org }: OrgAdminAsk,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let outcome = match state
        .app
        .admin_revoke_invitation(&session.principal, &session.actor, &org, &email(&form))
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(Failure::NotFound),
        Err(e) => Err(Failure::from(e)),
    };
    org_outcome(&state, &ctx, &session, &org, outcome).await
}

/// `POST /admin/organizations/{org}/invitations`: `email`, `role`. Answers the page with the
/// one-time link (201), mailed too when mail is set up.
async fn post_invite(
    State(state): State<AppState>,
    OrgAdminAsk { ctx, session, org }: OrgAdminAsk,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let m = AdminMessages::of(ctx.lang);
    let to = email(&form);
    let Some(role) = role(&form) else {
        return org_outcome(&state, &ctx, &session, &org, Err(Failure::Form(m.bad_role.into())))
            .await;
    };
    if to.is_empty() {
        let refused = Err(Failure::Form(m.email_missing.to_owned()));
        return org_outcome(&state, &ctx, &session, &org, refused).await;
    }
    let invitation = match state.app.admin_invite(&editor(&session), &org, &to, role).await {
        Ok(invitation) => invitation,
        Err(e) => return org_outcome(&state, &ctx, &session, &org, Err(e.into())).await,
    };
    let link = ctx.url(&format!("/invitation/{}", invitation.token));
    let mailed = match &state.mail {
        None => None,
        Some(mailer) => {
            let org_name = state
                .app
                .administered_orgs(&editor(&session))
                .await
                .ok()
                .and_then(|orgs| orgs.into_iter().find(|o| o.id == org).map(|o| o.name))
                .unwrap_or_else(|| org.clone());
            let mail = crate::mail::InvitationMail {
                to: &to,
                link: &link,
                org: &org_name,
                role: m.role(role.as_str()),
                expires_at: &invitation.expires_at,
                lang: ctx.lang.code(),
            };
            let sent = mailer.send_invitation(&mail).await;
            if let Err(e) = &sent {
                tracing::warn!(error = %e, "cannot mail an invitation");
            }
            Some(sent)
        }
    };
    let notice = Notice { invitation_link: Some(link), mailed, ..Notice::default() };
    org_page(&state, &ctx, &session, &org, StatusCode::CREATED, notice).await
}

/// The organization fields of a form (`id` from the form or the path).
fn org_fields(ctx: &PageContext, form: &CsrfForm, id: String) -> Result<OrgForm, Failure> {
    let m = AdminMessages::of(ctx.lang);
    let kind = form
        .get("kind")
        .and_then(|k| k.parse::<OrgKind>().ok())
        .ok_or_else(|| Failure::Form(m.bad_kind.to_owned()))?;
    let optional =
        |name: &str| form.get(name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    Ok(OrgForm {
        id,
        name: form.get("name").unwrap_or_default().trim().to_owned(),
        kind,
        description: optional("description"),
        website: optional("website"),
    })
}

/// `POST /admin/organizations/{org}/edit`: name, kind, description, website (portal admins).
async fn post_edit_org(
    State(state): State<AppState>,
    Signed { ctx, session }: Signed,
    Path(org): Path<String>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    if !kleber_app::policy::may_admin_portal(&session.principal) {
        return Err(PageError::not_found(&ctx));
    }
    let outcome = match org_fields(&ctx, &form, org.clone()) {
        Ok(fields) => state
            .app
            .admin_update_org(&session.principal, &session.actor, fields)
            .await
            .map(|_| ())
            .map_err(Failure::from),
        Err(e) => Err(e),
    };
    org_outcome(&state, &ctx, &session, &org, outcome).await
}

async fn orgs_page(
    state: &AppState,
    ctx: &PageContext,
    session: &Session,
    status: StatusCode,
    notice: Notice,
    typed: Option<OrgForm>,
) -> Result<Response, PageError> {
    let m = AdminMessages::of(ctx.lang);
    if !kleber_app::policy::may_admin_portal(&session.principal) {
        return Err(PageError::not_found(ctx));
    }
    let orgs = state
        .app
        .administered_orgs(&editor(session))
        .await
        .map_err(|e| Failure::from(e).page(ctx))?;
    let typed = typed.unwrap_or(OrgForm {
        id: String::new(),
        name: String::new(),
        kind: OrgKind::Commune,
        description: None,
        website: None,
    });
    let page = OrgsAdminPage {
        layout: layout(ctx, m.orgs_heading, "/admin/organizations/"),
        m,
        csrf: session.csrf_token(),
        orgs: orgs
            .iter()
            .map(|o| OrgRow {
                id: o.id.clone(),
                name: o.name.clone(),
                kind: kind_label(o.kind, ctx.lang),
            })
            .collect(),
        form: OrgFormView {
            name: typed.name,
            kinds: kind_choices(ctx, typed.kind),
            description: typed.description.unwrap_or_default(),
            website: typed.website.unwrap_or_default(),
        },
        new_id: typed.id,
        notice,
    };
    render(state, ctx, status, &page)
}

/// `GET /admin/organizations/`: every organization and the creation form (portal admins).
async fn get_orgs(
    State(state): State<AppState>,
    Signed { ctx, session }: Signed,
) -> Result<Response, PageError> {
    orgs_page(&state, &ctx, &session, StatusCode::OK, saved(&ctx), None).await
}

/// `POST /admin/organizations`: creates an organization (portal admins).
async fn post_create_org(
    State(state): State<AppState>,
    Signed { ctx, session }: Signed,
    form: CsrfForm,
) -> Result<Response, PageError> {
    if !kleber_app::policy::may_admin_portal(&session.principal) {
        return Err(PageError::not_found(&ctx));
    }
    let id = form.get("id").unwrap_or_default().trim().to_owned();
    let fields = match org_fields(&ctx, &form, id) {
        Ok(fields) => fields,
        Err(Failure::Form(message)) => {
            let notice = Notice { error: Some(message), ..Notice::default() };
            return orgs_page(&state, &ctx, &session, StatusCode::BAD_REQUEST, notice, None).await;
        }
        Err(other) => return Err(other.page(&ctx)),
    };
    match state.app.admin_create_org(&editor(&session), fields.clone()).await {
        Ok(org) => Ok(redirect(&format!("/admin/organizations/{}/?saved=1", org.id))),
        Err(e) => match Failure::from(e) {
            Failure::Form(message) => {
                let notice = Notice { error: Some(message), ..Notice::default() };
                let status = StatusCode::BAD_REQUEST;
                orgs_page(&state, &ctx, &session, status, notice, Some(fields)).await
            }
            other => Err(other.page(&ctx)),
        },
    }
}

async fn users_page(
    state: &AppState,
    ctx: &PageContext,
    session: &Session,
    status: StatusCode,
    notice: Notice,
) -> Result<Response, PageError> {
    let m = AdminMessages::of(ctx.lang);
    let users =
        state.app.admin_users(&session.principal).await.map_err(|e| Failure::from(e).page(ctx))?;
    let me = kleber_store::accounts::email_key(&session.email);
    let page = UsersAdminPage {
        layout: layout(ctx, m.users_heading, "/admin/users/"),
        m,
        csrf: session.csrf_token(),
        users: users
            .into_iter()
            .map(|u| UserRow {
                is_self: kleber_store::accounts::email_key(&u.email) == me,
                email: u.email,
                name: u.name,
                admin: u.admin,
                disabled: u.disabled,
                has_password: u.has_password,
            })
            .collect(),
        notice,
    };
    render(state, ctx, status, &page)
}

/// `GET /admin/users/`: every account (portal admins).
async fn get_users(
    State(state): State<AppState>,
    Signed { ctx, session }: Signed,
) -> Result<Response, PageError> {
    users_page(&state, &ctx, &session, StatusCode::OK, saved(&ctx)).await
}

async fn users_outcome(
    state: &AppState,
    ctx: &PageContext,
    session: &Session,
    outcome: Result<(), Error>,
) -> Result<Response, PageError> {
    match outcome.map_err(Failure::from) {
        Ok(()) => Ok(redirect("/admin/users/?saved=1")),
        Err(Failure::Form(message)) => {
            let notice = Notice { error: Some(message), ..Notice::default() };
            users_page(state, ctx, session, StatusCode::BAD_REQUEST, notice).await
        }
        Err(other) => Err(other.page(ctx)),
    }
}

/// `POST /admin/users/disable`: `email` (portal admins).
async fn post_disable(
    State(state): State<AppState>,
    Signed { ctx, session }: Signed,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let outcome = state
        .app
        .admin_disable_user(&session.principal, &session.actor, &email(&form))
        .await
        .map(|_| ());
    users_outcome(&state, &ctx, &session, outcome).await
}

/// `POST /admin/users/admin`: `email`, `admin` (`true` or `false`) (portal admins).
async fn post_admin_flag(
    State(state): State<AppState>,
    Signed { ctx, session }: Signed,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let outcome = match form.get("admin") {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        _ => Err(Error::BadParameter("The admin field must be true or false.".to_owned())),
    };
    let outcome = match outcome {
        Ok(admin) => state
            .app
            .admin_set_portal_admin(&session.principal, &session.actor, &email(&form), admin)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    users_outcome(&state, &ctx, &session, outcome).await
}
