//! The back office's pages under `/admin/datasets/`: the dashboard of the datasets the
//! signed-in user may edit, the new-dataset flow (organization, identifier, title and file;
//! the preview with its schema form; the metadata; publish or save as draft) and a dataset's
//! edit page (metadata, hidden fields, versions and restore, a new version, attachments,
//! visibility and grants, push keys, the trash).
//!
//! As the other administration pages ([`super::admin`]): for signed-in sessions only, anyone
//! else and anyone without the right gets the portal's missing page; every change is a form
//! whose origin and CSRF token are checked (urlencoded forms through [`CsrfForm`], file forms
//! through `file_form`, which checks them before the file is read) and goes through the same
//! `kleber_app` use cases as the management API, with the session's principal and actor, so
//! it is audited alike. A refused form shows its page again with the reason and the use
//! case's status, changing nothing.
//!
//! Files (uploads, attachments) are plain `multipart/form-data` forms that work without
//! JavaScript, streamed to disk by `kleber_app` under `--max-upload-mb` (uploads) and
//! `--max-attachment-mb` (attachments); `backoffice.js` adds dropping a file onto the form.

use std::collections::BTreeMap;

use axum::extract::{
    DefaultBodyLimit, FromRequest, FromRequestParts, OriginalUri, Path, Request, State,
};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use futures::StreamExt;
use kleber_app::Error;
use kleber_app::attachments::AttachmentUpload;
use kleber_app::import::{FieldEdit, SchemaEdit};
use kleber_app::manage::{Editor, FREQUENCIES, LICENCES, NewDataset};
use kleber_app::policy::DatasetAccess;
use kleber_app::sessions::Session;
use kleber_app::uploads::{BodyError, PublishUpload, Upload};
use kleber_store::{AccessRule, Lifecycle, ManagedDataset, Visibility};
use kleber_types::{FieldType, HasErrorCode};
use kleber_web::admin::Choice;
use kleber_web::auth::AuthMessages;
use kleber_web::backoffice::{
    BoAttachment, BoDashboardPage, BoEditPage, BoField, BoFieldView, BoMessages, BoMetaForm,
    BoMetadataPage, BoNewPage, BoNotice, BoPreviewPage, BoRejected, BoRow, BoVersion,
};
use serde_json::{Map, Value};

use super::auth::{Asker, CsrfForm, check_origin, forbidden, no_store, page_ctx, redirect};
use super::{Framing, PageContext, PageError, html};
use crate::state::AppState;

/// Room for a multipart form's other fields and boundaries around its file, in bytes.
pub const FORM_OVERHEAD: u64 = 64 * 1024;
/// The largest text field of a file form, in bytes.
const MAX_FIELD_BYTES: usize = 16 * 1024;

/// The back office's routes.
pub fn routes() -> Vec<(String, MethodRouter<AppState>)> {
    let files = || DefaultBodyLimit::disable();
    [
        ("/admin/datasets", get(get_dashboard)),
        ("/admin/datasets/", get(get_dashboard)),
        ("/admin/datasets/new", get(get_new).post(post_new).layer(files())),
        ("/admin/datasets/{id}", get(get_edit)),
        ("/admin/datasets/{id}/", get(get_edit)),
        ("/admin/datasets/{id}/metadata", get(get_metadata).post(post_metadata)),
        ("/admin/datasets/{id}/uploads/{upload}", get(get_preview)),
        ("/admin/datasets/{id}/uploads/{upload}/schema", post(post_schema)),
        ("/admin/datasets/{id}/upload", post(post_version_upload).layer(files())),
        ("/admin/datasets/{id}/attachments", post(post_attachment).layer(files())),
        ("/admin/datasets/{id}/attachments/{attachment}/remove", post(post_remove_attachment)),
        ("/admin/datasets/{id}/lifecycle", post(post_lifecycle)),
        ("/admin/datasets/{id}/hidden", post(post_hidden)),
        ("/admin/datasets/{id}/grants", post(post_grant)),
        ("/admin/datasets/{id}/push-keys", post(post_push_key)),
        ("/admin/datasets/{id}/push-keys/revoke", post(post_revoke_push_keys)),
        ("/admin/datasets/{id}/versions/{number}/restore", post(post_restore_version)),
        ("/admin/datasets/{id}/versions/{number}/comment", post(post_version_comment)),
    ]
    .into_iter()
    .map(|(path, handler)| (path.to_owned(), handler))
    .collect()
}

/// Whether `path` is a back-office form that carries a file: the listener lets its body run
/// to `--max-upload-mb` (and the handler answers an announced larger one with its page).
pub fn streams_body(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/admin/datasets/") else {
        return false;
    };
    let rest = rest.trim_end_matches('/');
    if rest == "new" {
        return true;
    }
    matches!(rest.split_once('/'), Some((_, "upload" | "attachments")))
}

// ---- extractors and answers ------------------------------------------------------------

/// A signed-in request: its page context and session; anyone else gets the missing page.
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

impl Signed {
    pub(super) fn editor(&self) -> Editor {
        Editor::of_session(&self.session)
    }
}

/// A use case's failure as a page answers it: refusals as the missing page, the caller's
/// mistakes as a message on the form (with the use case's status), the rest as a 500.
pub(super) enum Failure {
    NotFound,
    Form(StatusCode, String),
    Internal(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        match e {
            Error::Forbidden(_)
            | Error::Unauthenticated(_)
            | Error::DatasetNotFound(_)
            | Error::UploadNotFound(_) => Failure::NotFound,
            Error::Import(e) => Failure::Form(StatusCode::CONFLICT, format!("{e:#}")),
            e @ (Error::BadParameter(_)
            | Error::InvalidBody(_)
            | Error::Conflict(_)
            | Error::NotFound(_)
            | Error::VersionNotFound(_)
            | Error::UnreadableFile(_)
            | Error::RejectedRows(_)
            | Error::TooLarge(_)) => {
                let status = StatusCode::from_u16(e.error_code().status())
                    .unwrap_or(StatusCode::BAD_REQUEST);
                Failure::Form(status, message_of(e))
            }
            // A derivation's query refused, naming an unknown input, or closing a cycle; an
            // ODSQL or SQL mistake in it: the form says what to change.
            e @ (Error::DerivationRefused(_)
            | Error::DerivationInputNotFound(_)
            | Error::DerivationCycle(_)) => {
                let status = StatusCode::from_u16(e.error_code().status())
                    .unwrap_or(StatusCode::BAD_REQUEST);
                Failure::Form(status, e.to_string())
            }
            Error::Query(q) if q.error_code().status() < 500 => {
                let status = StatusCode::from_u16(q.error_code().status())
                    .unwrap_or(StatusCode::BAD_REQUEST);
                Failure::Form(status, Error::Query(q).to_string())
            }
            other => Failure::Internal(other.to_string()),
        }
    }
}

/// A use case's refusal as a panel's form shows it (status and message); the rest fails the
/// page (the missing page, or an internal error).
pub(super) fn form_refusal(ctx: &PageContext, e: Error) -> Result<(StatusCode, String), PageError> {
    match Failure::from(e) {
        Failure::Form(status, message) => Ok((status, message)),
        other => Err(other.page(ctx)),
    }
}

/// The message of a use case's error, without the variant's prefix.
fn message_of(e: Error) -> String {
    match e {
        Error::BadParameter(m)
        | Error::InvalidBody(m)
        | Error::Conflict(m)
        | Error::NotFound(m)
        | Error::UnreadableFile(m)
        | Error::RejectedRows(m)
        | Error::TooLarge(m) => m,
        other => other.to_string(),
    }
}

impl Failure {
    pub(super) fn page(self, ctx: &PageContext) -> PageError {
        match self {
            Failure::NotFound => PageError::not_found(ctx),
            Failure::Form(_, message) => PageError::bad_request(ctx, message),
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
    layout.scripts.push(kleber_web::assets::url("backoffice.js"));
    layout
}

fn edit_path(id: &str) -> String {
    format!("/admin/datasets/{id}/")
}

/// `n` bytes in MiB or KiB, for people.
fn size_text(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

fn date_text(ctx: &PageContext, rfc3339: &str) -> String {
    kleber_web::format::datetime(rfc3339, ctx.lang).unwrap_or_else(|| rfc3339.to_owned())
}

/// A version's change summary ("+12 added, 3 removed, 40 changed"), empty for a first version
/// or one not summarised yet.
fn summary_text(ctx: &PageContext, summary: Option<&kleber_store::VersionSummary>) -> String {
    let Some(s) = summary.filter(|s| s.previous.is_some()) else {
        return String::new();
    };
    let m = ctx.lang.messages();
    format!(
        "{} {}, {} {}, {} {}",
        number(ctx, s.added),
        m.version_added,
        number(ctx, s.removed),
        m.version_removed,
        number(ctx, s.changed),
        m.version_changed
    )
}

fn number(ctx: &PageContext, n: i64) -> String {
    ctx.lang.messages().number(n)
}

fn state_of(m: &BoMessages, d: &ManagedDataset) -> (&'static str, &'static str) {
    if d.deleted_at.is_some() {
        (m.state_deleted, "deleted")
    } else if d.archived {
        (m.state_archived, "archived")
    } else {
        match d.visibility {
            Visibility::Draft => (m.state_draft, "draft"),
            Visibility::Restricted => (m.state_restricted, "restricted"),
            Visibility::Public => (m.state_public, "public"),
        }
    }
}

/// The organizations (id, name) where the session may create datasets.
pub(super) async fn publishable_orgs(state: &AppState, signed: &Signed) -> Vec<(String, String)> {
    let Ok(view) = state.app.catalog(&signed.ctx.request()).await else {
        return Vec::new();
    };
    view.organizations()
        .iter()
        .filter(|o| {
            let probe =
                DatasetAccess { uid: "", organization: &o.id, visibility: Visibility::Draft };
            kleber_app::policy::may_edit(&signed.session.principal, probe)
                && kleber_app::policy::may_read(&signed.session.principal, probe)
        })
        .map(|o| (o.id.clone(), o.name.clone()))
        .collect()
}

// ---- the dashboard ---------------------------------------------------------------------

/// `GET /admin/datasets/`: the datasets the user may edit, filtered by `state` and `org`.
async fn get_dashboard(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    let m = BoMessages::of(ctx.lang);
    let editor = signed.editor();
    let all = state.app.managed_datasets(&editor).await.map_err(|e| Failure::from(e).page(ctx))?;
    let publishable = publishable_orgs(&state, &signed).await;
    if all.is_empty() && publishable.is_empty() {
        return Err(PageError::not_found(ctx));
    }
    let want_state = ctx.query.get("state").unwrap_or_default().to_owned();
    let want_org = ctx.query.get("org").unwrap_or_default().to_owned();
    let org_names: BTreeMap<String, String> = match state.app.catalog(&ctx.request()).await {
        Ok(view) => view.organizations().iter().map(|o| (o.id.clone(), o.name.clone())).collect(),
        Err(_) => BTreeMap::new(),
    };
    let mut orgs: Vec<String> = all.iter().map(|d| d.organization.clone()).collect();
    orgs.extend(publishable.iter().map(|(id, _)| id.clone()));
    orgs.sort();
    orgs.dedup();
    let name_of = |id: &str| org_names.get(id).cloned().unwrap_or_else(|| id.to_owned());
    let refreshes: BTreeMap<String, chrono::DateTime<chrono::Utc>> =
        state.app.next_refreshes().await.unwrap_or_default().into_iter().collect();
    let mut rows = Vec::new();
    for d in &all {
        let (label, class) = state_of(m, d);
        if (!want_state.is_empty() && want_state != class)
            || (!want_org.is_empty() && want_org != d.organization)
        {
            continue;
        }
        let versions = state.app.versions(&editor, &d.id).await.unwrap_or_default();
        let current = versions.iter().find(|v| v.current);
        rows.push(BoRow {
            id: d.id.clone(),
            title: d.title.clone(),
            state: label,
            state_class: class,
            org: name_of(&d.organization),
            version: current.map_or_else(|| m.no_version.to_owned(), |v| format!("v{}", v.number)),
            modified: current.map(|v| date_text(ctx, &v.created_at)).unwrap_or_default(),
            records: current.map(|v| number(ctx, v.records)).unwrap_or_default(),
            rejected: current.map(|v| number(ctx, v.rejected)).unwrap_or_default(),
            next_refresh: refreshes
                .get(&d.id)
                .map(|at| date_text(ctx, &at.to_rfc3339()))
                .unwrap_or_default(),
        });
    }
    let states = [
        ("draft", m.state_draft),
        ("public", m.state_public),
        ("restricted", m.state_restricted),
        ("archived", m.state_archived),
        ("deleted", m.state_deleted),
    ]
    .into_iter()
    .map(|(value, label)| Choice {
        value: value.to_owned(),
        label: label.to_owned(),
        selected: value == want_state,
    })
    .collect();
    let page = BoDashboardPage {
        layout: layout(ctx, m.dashboard_heading, "/admin/datasets/"),
        m,
        states,
        orgs: orgs
            .iter()
            .map(|o| Choice { value: o.clone(), label: name_of(o), selected: *o == want_org })
            .collect(),
        rows,
        may_create: !publishable.is_empty(),
        harvests_link: state
            .app
            .harvests(&editor)
            .await
            .is_ok()
            .then(|| kleber_web::harvests::HarvestMessages::of(ctx.lang).heading),
    };
    render(&state, ctx, StatusCode::OK, &page)
}

// ---- file forms ------------------------------------------------------------------------

/// Why a file form was not read.
enum FormRefusal {
    /// The 403 page of a refused origin or CSRF token.
    Response(Box<Response>),
    /// An announced body over the size accepted.
    TooLarge,
    /// A form that cannot be read.
    Bad(String),
}

/// The file part of a form: its name and content type, as the browser sent them.
struct FilePart {
    name: Option<String>,
    content_type: Option<String>,
}

/// A chunk of a file part, as the use cases read it.
type Chunk = Result<bytes::Bytes, BodyError>;

/// Whether an error of the request body comes from the listener's body limit.
fn cut_at_limit(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() || e.to_string().contains("length limit") {
            return true;
        }
        source = e.source();
    }
    false
}

/// Reads the `multipart/form-data` form of `request`: its text fields (those before the
/// file, as the back office's forms put them), the origin and the CSRF token checked before
/// the file part is read; then `consume(fields, file name, file bytes)` streams the file part
/// (`None` for `consume`'s answer when the form has no file part). An announced body over
/// `max` bytes (and the form's room) is refused before anything is read.
async fn file_form<T, F, Fut>(
    state: &AppState,
    ctx: &PageContext,
    session: &Session,
    request: Request,
    max: u64,
    consume: F,
) -> Result<(Vec<(String, String)>, Option<T>), FormRefusal>
where
    F: FnOnce(Vec<(String, String)>, FilePart, futures::channel::mpsc::Receiver<Chunk>) -> Fut,
    Fut: Future<Output = T>,
{
    let m = AuthMessages::of(ctx.lang);
    if let Err(message) =
        check_origin(request.headers(), request.extensions().get::<crate::http::PublicUrl>(), m)
    {
        return Err(FormRefusal::Response(Box::new(forbidden(state, ctx, message))));
    }
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > max.saturating_add(FORM_OVERHEAD)) {
        return Err(FormRefusal::TooLarge);
    }
    let mut multipart = axum::extract::Multipart::from_request(request, state)
        .await
        .map_err(|e| FormRefusal::Bad(format!("Invalid form: {}", e.body_text())))?;
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut size = 0usize;
    let check = |fields: &[(String, String)]| -> Result<(), FormRefusal> {
        match fields.iter().find(|(n, _)| n == "csrf") {
            Some((_, v)) if session.check_csrf(v) => Ok(()),
            Some(_) => Err(FormRefusal::Response(Box::new(forbidden(state, ctx, m.csrf_wrong)))),
            None => Err(FormRefusal::Response(Box::new(forbidden(state, ctx, m.csrf_missing)))),
        }
    };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                if cut_at_limit(&e) {
                    return Err(FormRefusal::TooLarge);
                }
                return Err(FormRefusal::Bad(format!("Invalid form: {e}")));
            }
        };
        let Some(name) = field.name().map(str::to_owned) else { continue };
        if name == "file" {
            check(&fields)?;
            let part = FilePart {
                name: field.file_name().map(str::to_owned).filter(|n| !n.is_empty()),
                content_type: field.content_type().map(str::to_owned),
            };
            let (mut tx, rx) = futures::channel::mpsc::channel::<Chunk>(4);
            let mut field = field;
            let pump = async move {
                use futures::SinkExt;
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(|e| {
                        if cut_at_limit(&e) {
                            BodyError::TooLarge
                        } else {
                            BodyError::Other(e.to_string())
                        }
                    });
                    if tx.send(chunk).await.is_err() {
                        break;
                    }
                }
            };
            let (_, answer) = tokio::join!(pump, consume(fields.clone(), part, rx));
            return Ok((fields, Some(answer)));
        }
        let Ok(text) = field.text().await else {
            return Err(FormRefusal::Bad("A field of the form could not be read.".to_owned()));
        };
        size += text.len() + name.len();
        if size > MAX_FIELD_BYTES {
            return Err(FormRefusal::Bad(format!(
                "The form's fields are larger than the {MAX_FIELD_BYTES} bytes this page accepts."
            )));
        }
        fields.push((name, text));
    }
    check(&fields)?;
    Ok((fields, None))
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
}

/// A file form's refusal as its page answers it: the 403 page, or `page` with the message.
async fn refused_form<Fut>(
    refusal: FormRefusal,
    m: &BoMessages,
    max: u64,
    page: impl FnOnce(StatusCode, String) -> Fut,
) -> Result<Response, PageError>
where
    Fut: Future<Output = Result<Response, PageError>>,
{
    match refusal {
        FormRefusal::Response(response) => Ok(*response),
        FormRefusal::TooLarge => {
            page(StatusCode::PAYLOAD_TOO_LARGE, format!("{} {}.", m.too_large, size_text(max)))
                .await
        }
        FormRefusal::Bad(message) => page(StatusCode::BAD_REQUEST, message).await,
    }
}

// ---- the new-dataset flow --------------------------------------------------------------

/// The new-dataset page, with what was typed and `notice`.
async fn new_page(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    typed: (&str, &str, &str),
    notice: BoNotice,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    let m = BoMessages::of(ctx.lang);
    let orgs = publishable_orgs(state, signed).await;
    if orgs.is_empty() && status == StatusCode::OK {
        return Err(PageError::not_found(ctx));
    }
    let (org, id, title) = typed;
    let page = BoNewPage {
        layout: layout(ctx, m.new_heading, "/admin/datasets/new"),
        m,
        csrf: signed.session.csrf_token(),
        orgs: orgs
            .into_iter()
            .map(|(value, label)| Choice { selected: value == org, value, label })
            .collect(),
        id: id.to_owned(),
        title: title.to_owned(),
        max_size: size_text(state.app.upload_limits().max_bytes),
        notice,
    };
    render(state, ctx, status, &page)
}

/// `GET /admin/datasets/new`: the organization, identifier, title and file.
async fn get_new(State(state): State<AppState>, signed: Signed) -> Result<Response, PageError> {
    new_page(&state, &signed, StatusCode::OK, ("", "", ""), BoNotice::default()).await
}

/// `POST /admin/datasets/new` (multipart: `csrf`, `organization`, `id`, `title`, then
/// `file`): checks the form, uploads the file (nothing is published), creates the draft and
/// sends the browser to the preview. A refused form or file creates nothing.
async fn post_new(
    State(state): State<AppState>,
    signed: Signed,
    request: Request,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    let m = BoMessages::of(ctx.lang);
    let max = state.app.upload_limits().max_bytes;
    let publishable = publishable_orgs(&state, &signed).await;
    let app_ctx = ctx.request();
    let read = file_form(&state, ctx, &signed.session, request, max, |fields, part, rx| {
        let publishable = &publishable;
        let state = &state;
        let app_ctx = &app_ctx;
        async move {
            let (org, id, title) = (
                field(&fields, "organization").trim(),
                field(&fields, "id").trim(),
                field(&fields, "title").trim(),
            );
            if !publishable.iter().any(|(o, _)| o == org) {
                return Err(Failure::Form(StatusCode::BAD_REQUEST, m.bad_org.to_owned()));
            }
            // The identifier and title are checked as the API checks them, before the file.
            NewDataset::from_json(
                &serde_json::json!({"id": id, "organization": org, "title": title}),
            )
            .map_err(Failure::from)?;
            state.app.upload(app_ctx, part.name, rx).await.map_err(Failure::from)
        }
    })
    .await;
    let (fields, outcome) = match read {
        Ok(read) => read,
        Err(refusal) => {
            return refused_form(refusal, m, max, |status, message| {
                let notice = BoNotice { error: Some(message), ..BoNotice::default() };
                new_page(&state, &signed, status, ("", "", ""), notice)
            })
            .await;
        }
    };
    let typed = (
        field(&fields, "organization").trim().to_owned(),
        field(&fields, "id").trim().to_owned(),
        field(&fields, "title").trim().to_owned(),
    );
    let again = |status, message: String| {
        let notice = BoNotice { error: Some(message), ..BoNotice::default() };
        let typed = (typed.0.as_str(), typed.1.as_str(), typed.2.as_str());
        new_page(&state, &signed, status, typed, notice)
    };
    let upload = match outcome {
        None => return again(StatusCode::BAD_REQUEST, m.no_file.to_owned()).await,
        Some(Ok(upload)) => upload,
        Some(Err(Failure::Form(status, message))) => return again(status, message).await,
        Some(Err(other)) => return Err(other.page(ctx)),
    };
    let new =
        NewDataset { id: typed.1.clone(), organization: typed.0.clone(), title: typed.2.clone() };
    match state.app.create_dataset(&signed.editor(), new).await {
        Ok(d) => Ok(redirect(&format!("/admin/datasets/{}/uploads/{}", d.id, upload.upload_id))),
        Err(e) => match Failure::from(e) {
            Failure::Form(status, message) => again(status, message).await,
            Failure::NotFound => again(StatusCode::FORBIDDEN, m.bad_org.to_owned()).await,
            other => Err(other.page(ctx)),
        },
    }
}

/// The hidden fields carried from the preview to the metadata step (`?hidden=a,b`).
fn hidden_list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// The preview page of upload `upload` for dataset `id`.
async fn preview_page(
    state: &AppState,
    signed: &Signed,
    id: &str,
    upload: Upload,
    hidden: &[String],
    status: StatusCode,
    notice: BoNotice,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    let m = BoMessages::of(ctx.lang);
    let p = &upload.preview;
    let type_choices = |current: FieldType| {
        FieldType::ALL
            .iter()
            .map(|t| Choice { value: t.to_string(), label: t.to_string(), selected: *t == current })
            .collect::<Vec<_>>()
    };
    let fields: Vec<BoField> = p
        .fields
        .iter()
        .enumerate()
        .map(|(n, f)| BoField {
            n,
            name: f.name.clone(),
            label: f.label.clone(),
            description: f.description.clone().unwrap_or_default(),
            types: type_choices(f.field_type),
            facet: f.annotations.contains_key("facet"),
            hidden: hidden.contains(&f.name),
            unique: f.annotations.contains_key("id"),
            order: n + 1,
        })
        .collect();
    let cell = |v: Option<&Value>| match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let rows =
        p.records.iter().map(|r| p.fields.iter().map(|f| cell(r.get(&f.name))).collect()).collect();
    let next = format!(
        "/admin/datasets/{id}/metadata?upload={}{}",
        upload.upload_id,
        if hidden.is_empty() {
            String::new()
        } else {
            format!("&hidden={}", enc(&hidden.join(",")))
        }
    );
    let page = BoPreviewPage {
        layout: layout(
            ctx,
            m.preview_heading,
            &format!("/admin/datasets/{id}/uploads/{}", upload.upload_id),
        ),
        m,
        csrf: signed.session.csrf_token(),
        dataset: id.to_owned(),
        upload: upload.upload_id.clone(),
        format: p.format.clone(),
        encoding: p.encoding.clone().unwrap_or_else(|| "–".to_owned()),
        delimiter: p.delimiter.clone().unwrap_or_else(|| "–".to_owned()),
        has_header: match p.has_header {
            Some(true) => m.yes.to_owned(),
            Some(false) => m.no.to_owned(),
            None => "–".to_owned(),
        },
        records: number(ctx, i64::try_from(p.records_count).unwrap_or(i64::MAX)),
        rejected_count: p.rejected_count,
        rejected_shown: number(ctx, i64::try_from(p.rejected_count).unwrap_or(i64::MAX)),
        columns: p.fields.iter().map(|f| f.label.clone()).collect(),
        fields,
        rows,
        rejected: p
            .rejected
            .iter()
            .map(|r| BoRejected {
                line: r.line,
                location: r.location.clone(),
                field: r.field.clone().unwrap_or_default(),
                value: r.value.clone().unwrap_or_default(),
                reason: r.reason.clone(),
            })
            .collect(),
        next_href: next,
        notice,
    };
    render(state, ctx, status, &page)
}

/// Dataset `id` as the session manages it, or the missing page.
pub(super) async fn managed(
    state: &AppState,
    signed: &Signed,
    id: &str,
) -> Result<ManagedDataset, PageError> {
    state
        .app
        .managed_dataset(&signed.editor(), id)
        .await
        .map_err(|e| Failure::from(e).page(&signed.ctx))
}

/// `GET /admin/datasets/{id}/uploads/{upload}`: the preview and the schema form.
async fn get_preview(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, upload)): Path<(String, String)>,
) -> Result<Response, PageError> {
    managed(&state, &signed, &id).await?;
    let found = state
        .app
        .get_upload(&signed.ctx.request(), &upload)
        .await
        .map_err(|e| Failure::from(e).page(&signed.ctx))?;
    let hidden = hidden_list(signed.ctx.query.get("hidden").unwrap_or_default());
    let notice = BoNotice {
        saved: (signed.ctx.query.get("saved") == Some("1"))
            .then_some(BoMessages::of(signed.ctx.lang).saved),
        ..BoNotice::default()
    };
    preview_page(&state, &signed, &id, found, &hidden, StatusCode::OK, notice).await
}

/// The schema change a preview's form asks: per field `name_N`, `type_N`, `label_N`,
/// `description_N`, `facet_N`, `hidden_N`, `unique_N`, `order_N`; and the hidden fields.
fn schema_of(form: &CsrfForm, m: &BoMessages) -> Result<(SchemaEdit, Vec<String>), String> {
    let mut schema = SchemaEdit::default();
    let mut hidden = Vec::new();
    let mut ordered: Vec<(usize, usize, String)> = Vec::new();
    for n in 0.. {
        let Some(name) = form.get(&format!("name_{n}")).map(str::to_owned) else { break };
        let text = |key: &str| form.get(&format!("{key}_{n}")).unwrap_or_default().to_owned();
        let on = |key: &str| form.get(&format!("{key}_{n}")) == Some("1");
        let field_type = match text("type").as_str() {
            "" => None,
            t => Some(t.parse::<FieldType>().map_err(|_| format!("{} {name}: {t:?}", m.bad_type))?),
        };
        let label = text("label");
        schema.fields.push(FieldEdit {
            name: name.clone(),
            field_type,
            label: (!label.trim().is_empty()).then_some(label),
            description: Some(text("description")),
            facet: Some(on("facet")),
            disjunctive: None,
            facet_sort: None,
            hierarchical: None,
            multivalued: None,
        });
        if on("hidden") {
            hidden.push(name.clone());
        }
        if on("unique") {
            schema.unique_id.push(name.clone());
        }
        let order = text("order");
        let position = if order.trim().is_empty() {
            n + 1
        } else {
            order.trim().parse::<usize>().map_err(|_| format!("{} {name}.", m.bad_order))?
        };
        ordered.push((position, n, name));
    }
    ordered.sort();
    schema.order = ordered.into_iter().map(|(_, _, name)| name).collect();
    Ok((schema, hidden))
}

/// `POST /admin/datasets/{id}/uploads/{upload}/schema`: applies the schema form and reads
/// the file again through the same use case as the API's `PUT .../schema`.
async fn post_schema(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, upload)): Path<(String, String)>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    let m = BoMessages::of(ctx.lang);
    managed(&state, &signed, &id).await?;
    let app_ctx = ctx.request();
    let current =
        state.app.get_upload(&app_ctx, &upload).await.map_err(|e| Failure::from(e).page(ctx))?;
    let refused = |message: String, hidden: Vec<String>, current: Upload| {
        let notice = BoNotice { error: Some(message), ..BoNotice::default() };
        let (state, signed, id) = (&state, &signed, &id);
        async move {
            preview_page(state, signed, id, current, &hidden, StatusCode::BAD_REQUEST, notice).await
        }
    };
    let (schema, hidden) = match schema_of(&form, m) {
        Ok(found) => found,
        Err(message) => return refused(message, Vec::new(), current).await,
    };
    let value = serde_json::to_value(&schema).map_err(|e| PageError::internal(ctx, e))?;
    match state.app.set_upload_schema(&app_ctx, &upload, value).await {
        Ok(_) => {
            let mut to = format!("/admin/datasets/{id}/uploads/{upload}?saved=1");
            if !hidden.is_empty() {
                to.push_str(&format!("&hidden={}", enc(&hidden.join(","))));
            }
            Ok(redirect(&to))
        }
        Err(e) => match Failure::from(e) {
            Failure::Form(_, message) => refused(message, hidden, current).await,
            other => Err(other.page(ctx)),
        },
    }
}

/// Percent-encodes a query value.
fn enc(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

// ---- metadata --------------------------------------------------------------------------

fn meta_text(metas: &Map<String, Value>, key: &str) -> String {
    match metas.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => {
            items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
        }
        _ => String::new(),
    }
}

/// The metadata form filled from dataset `d`.
fn meta_form(m: &BoMessages, d: &ManagedDataset) -> BoMetaForm {
    let metas = &d.metas;
    let licence_id = meta_text(metas, "license_id");
    let mut licences = vec![Choice {
        value: String::new(),
        label: m.licence_none.to_owned(),
        selected: licence_id.is_empty(),
    }];
    licences.extend(LICENCES.iter().map(|l| Choice {
        value: l.id.to_owned(),
        label: l.name.to_owned(),
        selected: l.id == licence_id,
    }));
    licences.push(Choice {
        value: "custom".to_owned(),
        label: m.licence_custom.to_owned(),
        selected: licence_id == "custom",
    });
    let frequency = meta_text(metas, "update_frequency");
    let mut frequencies = vec![Choice {
        value: String::new(),
        label: "–".to_owned(),
        selected: frequency.is_empty(),
    }];
    frequencies.extend(FREQUENCIES.iter().map(|f| Choice {
        value: (*f).to_owned(),
        label: (*f).to_owned(),
        selected: *f == frequency,
    }));
    let custom = licence_id == "custom";
    BoMetaForm {
        title: d.title.clone(),
        description: d.description_source.clone().unwrap_or_default(),
        themes: meta_text(metas, "theme"),
        keywords: meta_text(metas, "keyword"),
        licences,
        license_name: if custom { meta_text(metas, "license") } else { String::new() },
        license_url: if custom { meta_text(metas, "license_url") } else { String::new() },
        publisher: meta_text(metas, "publisher"),
        contact_name: meta_text(metas, "contact_name"),
        contact_email: meta_text(metas, "contact_email"),
        language: meta_text(metas, "language"),
        frequencies,
        spatial: meta_text(metas, "spatial"),
        temporal_start: meta_text(metas, "temporal_start"),
        temporal_end: meta_text(metas, "temporal_end"),
        references: meta_text(metas, "references"),
        attributions: meta_text(metas, "attributions"),
        comment: String::new(),
    }
}

/// The metadata form as typed, to show it again after a refusal.
fn typed_meta_form(m: &BoMessages, form: &CsrfForm) -> BoMetaForm {
    let get = |k: &str| form.get(k).unwrap_or_default().to_owned();
    let licence = get("license");
    let frequency = get("update_frequency");
    let mut licences = vec![Choice {
        value: String::new(),
        label: m.licence_none.to_owned(),
        selected: licence.is_empty(),
    }];
    licences.extend(LICENCES.iter().map(|l| Choice {
        value: l.id.to_owned(),
        label: l.name.to_owned(),
        selected: l.id == licence,
    }));
    licences.push(Choice {
        value: "custom".to_owned(),
        label: m.licence_custom.to_owned(),
        selected: licence == "custom",
    });
    let mut frequencies = vec![Choice {
        value: String::new(),
        label: "–".to_owned(),
        selected: frequency.is_empty(),
    }];
    frequencies.extend(FREQUENCIES.iter().map(|f| Choice {
        value: (*f).to_owned(),
        label: (*f).to_owned(),
        selected: *f == frequency,
    }));
    BoMetaForm {
        title: get("title"),
        description: get("description"),
        themes: get("themes"),
        keywords: get("keywords"),
        licences,
        license_name: get("license_name"),
        license_url: get("license_url"),
        publisher: get("publisher"),
        contact_name: get("contact_name"),
        contact_email: get("contact_email"),
        language: get("language"),
        frequencies,
        spatial: get("spatial"),
        temporal_start: get("temporal_start"),
        temporal_end: get("temporal_end"),
        references: get("references"),
        attributions: get("attributions"),
        comment: get("comment"),
    }
}

/// The metadata change a form asks, as the API's JSON body: an empty field removes its key.
fn metadata_body(form: &CsrfForm) -> Value {
    let mut body = Map::new();
    let get = |k: &str| form.get(k).unwrap_or_default().trim().to_owned();
    body.insert("title".to_owned(), Value::from(get("title")));
    let description = form.get("description").unwrap_or_default().replace("\r\n", "\n");
    body.insert(
        "description".to_owned(),
        if description.trim().is_empty() { Value::Null } else { Value::from(description) },
    );
    for (key, name) in [("themes", "themes"), ("keywords", "keywords")] {
        let words: Vec<Value> = get(name)
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(Value::from)
            .collect();
        body.insert(
            key.to_owned(),
            if words.is_empty() { Value::Null } else { Value::Array(words) },
        );
    }
    let licence = get("license");
    if licence.is_empty() {
        body.insert("license".to_owned(), Value::Null);
    } else {
        if licence == "custom" {
            for key in ["license_name", "license_url"] {
                let v = get(key);
                body.insert(
                    key.to_owned(),
                    if v.is_empty() { Value::Null } else { Value::from(v) },
                );
            }
        }
        body.insert("license".to_owned(), Value::from(licence));
    }
    for key in [
        "publisher",
        "contact_name",
        "contact_email",
        "language",
        "update_frequency",
        "spatial",
        "temporal_start",
        "temporal_end",
        "references",
        "attributions",
    ] {
        let v = get(key);
        body.insert(key.to_owned(), if v.is_empty() { Value::Null } else { Value::from(v) });
    }
    Value::Object(body)
}

#[allow(clippy::too_many_arguments)]
async fn metadata_page(
    state: &AppState,
    signed: &Signed,
    id: &str,
    upload: Option<String>,
    hidden: String,
    form: BoMetaForm,
    status: StatusCode,
    notice: BoNotice,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    let m = BoMessages::of(ctx.lang);
    // "Save as draft" keeps a dataset unpublished: offered only while it is a draft (on a
    // published dataset every saved version is seen at once).
    let draft_allowed = managed(state, signed, id).await?.visibility == Visibility::Draft;
    let rejected_count = match &upload {
        Some(u) => {
            state
                .app
                .get_upload(&ctx.request(), u)
                .await
                .map_err(|e| Failure::from(e).page(ctx))?
                .preview
                .rejected_count
        }
        None => 0,
    };
    let page = BoMetadataPage {
        layout: layout(ctx, m.metadata_heading, &format!("/admin/datasets/{id}/metadata")),
        m,
        csrf: signed.session.csrf_token(),
        dataset: id.to_owned(),
        upload,
        hidden,
        rejected_count,
        draft_allowed,
        form,
        notice,
    };
    render(state, ctx, status, &page)
}

/// `GET /admin/datasets/{id}/metadata` (`?upload=` in the new-dataset flow).
async fn get_metadata(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let d = managed(&state, &signed, &id).await?;
    let m = BoMessages::of(signed.ctx.lang);
    let upload = signed.ctx.query.get("upload").filter(|u| !u.is_empty()).map(str::to_owned);
    let hidden = signed.ctx.query.get("hidden").unwrap_or_default().to_owned();
    let form = meta_form(m, &d);
    metadata_page(&state, &signed, &id, upload, hidden, form, StatusCode::OK, BoNotice::default())
        .await
}

/// `POST /admin/datasets/{id}/metadata`: saves the metadata (the API's `PATCH .../metadata`
/// use case); with an `upload`, then publishes it as the dataset's version (`action`
/// `publish`: made public; `draft`: kept a draft) and hides the fields chosen in the preview.
async fn post_metadata(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    let m = BoMessages::of(ctx.lang);
    let d = managed(&state, &signed, &id).await?;
    let editor = signed.editor();
    let upload = form.get("upload").filter(|u| !u.is_empty()).map(str::to_owned);
    let hidden = form.get("hidden").unwrap_or_default().to_owned();
    let action = form.get("action").unwrap_or("save");
    let refused = |status: StatusCode, message: String| {
        let notice = BoNotice { error: Some(message), ..BoNotice::default() };
        metadata_page(
            &state,
            &signed,
            &id,
            upload.clone(),
            hidden.clone(),
            typed_meta_form(m, &form),
            status,
            notice,
        )
    };
    if !matches!(action, "save" | "publish" | "draft") {
        return refused(StatusCode::BAD_REQUEST, m.bad_action.to_owned()).await;
    }
    if action == "draft" && d.visibility != Visibility::Draft {
        return refused(StatusCode::BAD_REQUEST, m.draft_published.to_owned()).await;
    }
    // Checked before anything is written: a refused publication leaves the metadata as it was.
    let body = metadata_body(&form);
    if let Err(e) = kleber_app::manage::metadata_patch(&body) {
        return refused(StatusCode::BAD_REQUEST, message_of(e)).await;
    }
    let comment = match kleber_app::versions::check_comment(form.get("comment")) {
        Ok(comment) => comment,
        Err(e) => return refused(StatusCode::BAD_REQUEST, message_of(e)).await,
    };
    if let Some(u) = &upload {
        let found = state.app.get_upload(&ctx.request(), u).await;
        match found {
            Ok(found)
                if found.preview.rejected_count > 0 && form.get("accept_rejected") != Some("1") =>
            {
                let message = format!(
                    "{} {}",
                    number(ctx, i64::try_from(found.preview.rejected_count).unwrap_or(i64::MAX)),
                    m.rejected_some
                );
                return refused(StatusCode::CONFLICT, message).await;
            }
            Ok(_) => {}
            Err(e) => return Err(Failure::from(e).page(ctx)),
        }
    }
    if let Err(e) = state.app.edit_metadata(&editor, &id, &body).await {
        return match Failure::from(e) {
            Failure::Form(status, message) => refused(status, message).await,
            other => Err(other.page(ctx)),
        };
    }
    let Some(upload) = upload.clone() else {
        return Ok(redirect(&format!("{}?saved=metadata", edit_path(&id))));
    };
    let request = PublishUpload {
        upload,
        accept_rejected: form.get("accept_rejected") == Some("1"),
        organization: Some(d.organization.clone()),
        title: None,
        visibility: None,
        comment,
    };
    if let Err(e) = state.app.publish_upload(&ctx.request(), &id, request).await {
        return match Failure::from(e) {
            Failure::Form(status, message) => refused(status, message).await,
            other => Err(other.page(ctx)),
        };
    }
    let hidden = hidden_list(&hidden);
    if !hidden.is_empty() {
        let rule = AccessRule { hidden, condition: None };
        if let Err(e) =
            state.app.set_rule(&ctx.request(), &signed.session.actor, &id, Some(rule)).await
        {
            let notice = BoNotice { error: Some(message_of(e)), ..BoNotice::default() };
            return edit_page(&state, &signed, &id, StatusCode::BAD_REQUEST, notice, None).await;
        }
    }
    let publish = action == "publish";
    if publish && d.visibility == Visibility::Draft {
        state
            .app
            .change_lifecycle(&editor, &id, Lifecycle::Publish(Visibility::Public))
            .await
            .map_err(|e| Failure::from(e).page(ctx))?;
    }
    Ok(redirect(&format!(
        "{}?saved={}",
        edit_path(&id),
        if publish { "published" } else { "draft" }
    )))
}

// ---- a dataset's edit page -------------------------------------------------------------

/// The edit page of dataset `id`, with `notice` (and a push key shown once).
async fn edit_page(
    state: &AppState,
    signed: &Signed,
    id: &str,
    status: StatusCode,
    notice: BoNotice,
    push: Option<Result<String, usize>>,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    let m = BoMessages::of(ctx.lang);
    let editor = signed.editor();
    let d = managed(state, signed, id).await?;
    let fail = |e: Error| Failure::from(e).page(ctx);
    let versions = state.app.versions(&editor, id).await.map_err(fail)?;
    let attachments = state.app.managed_attachments(&editor, id).await.map_err(fail)?;
    let grants = state.app.dataset_grants(&editor, id).await.map_err(fail)?;
    // The remote source, its runs and its forms (web/source_panel.rs).
    let source_panel = super::source_panel::source_panel(
        &state.app,
        &editor,
        id,
        ctx.lang,
        signed.session.csrf_token(),
        None,
    )
    .await
    .map(Some)
    .map_err(fail)?;
    // A derived dataset's query, inputs and last failure, after the source panel.
    let derive_panel = super::derive_panel::derive_panel(
        &state.app,
        &editor,
        id,
        ctx.lang,
        signed.session.csrf_token(),
        None,
    )
    .await
    .map_err(fail)?;
    let source_panel = match (source_panel, derive_panel) {
        (Some(a), Some(b)) => Some(a + &b),
        (a, b) => a.or(b),
    };
    // The processors applied to every file read for it (web/processor_panel.rs).
    let processors = super::processor_panel::processor_panel(
        &state.app,
        &editor,
        id,
        ctx.lang,
        signed.session.csrf_token(),
        None,
    )
    .await
    .map_err(fail)?;
    let source_panel = Some(source_panel.unwrap_or_default() + &processors);
    // The stored fields and the access rule, as the dataset's editors read them.
    let (fields, rule) = match state.app.dataset(&ctx.request(), id).await {
        Ok(version) => {
            let record = version.record();
            (record.version.fields.clone(), record.rule.clone().unwrap_or_default())
        }
        Err(_) => (Vec::new(), AccessRule::default()),
    };
    let (label, _) = state_of(m, &d);
    let page = BoEditPage {
        layout: layout(ctx, &format!("{} – {}", m.edit_heading, d.title), &edit_path(id)),
        m,
        csrf: signed.session.csrf_token(),
        id: d.id.clone(),
        title: d.title.clone(),
        state: label,
        public_href: (d.visibility != Visibility::Draft && d.deleted_at.is_none())
            .then(|| format!("/explore/dataset/{}/", d.id)),
        draft: d.visibility == Visibility::Draft,
        archived: d.archived,
        deleted: d.deleted_at.is_some(),
        visibility: d.visibility.as_str().to_owned(),
        has_version: d.current_version.is_some(),
        fields: fields
            .iter()
            .enumerate()
            .map(|(n, f)| BoFieldView {
                n,
                name: f.name.clone(),
                label: f.label.clone(),
                field_type: f.field_type.to_string(),
                hidden: rule.hidden.contains(&f.name),
            })
            .collect(),
        attachments: attachments
            .into_iter()
            .enumerate()
            .map(|(n, a)| BoAttachment {
                n,
                size: size_text(u64::try_from(a.size).unwrap_or_default()),
                id: a.id,
                title: a.title,
                file_name: a.file_name,
            })
            .collect(),
        grants,
        versions: versions
            .into_iter()
            .map(|v| BoVersion {
                number: v.number,
                date: date_text(ctx, &v.created_at),
                records: number(ctx, v.records),
                rejected: number(ctx, v.rejected),
                source: v.source.unwrap_or_default(),
                current: v.current,
                restored_from: v.restored_from,
                summary: summary_text(ctx, v.summary.as_ref()),
                comment: v.comment.unwrap_or_default(),
            })
            .collect(),
        push_key: push.as_ref().and_then(|p| p.as_ref().ok().cloned()),
        push_revoked: push.and_then(|p| p.err()),
        max_size: size_text(state.app.upload_limits().max_bytes),
        notice,
        source_panel,
    };
    render(state, ctx, status, &page)
}

/// `GET /admin/datasets/{id}/`.
async fn get_edit(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let m = BoMessages::of(signed.ctx.lang);
    let saved = match signed.ctx.query.get("saved") {
        Some("published") => Some(m.published),
        Some("draft") => Some(m.draft_saved),
        Some(_) => Some(m.saved),
        None => None,
    };
    let notice = BoNotice { saved, ..BoNotice::default() };
    edit_page(&state, &signed, &id, StatusCode::OK, notice, None).await
}

/// After an edit-page form: back to the page, or the page again with why not.
async fn edit_outcome(
    state: &AppState,
    signed: &Signed,
    id: &str,
    outcome: Result<(), Error>,
) -> Result<Response, PageError> {
    match outcome.map_err(Failure::from) {
        Ok(()) => Ok(redirect(&format!("{}?saved=1", edit_path(id)))),
        Err(Failure::Form(status, message)) => {
            let notice = BoNotice { error: Some(message), ..BoNotice::default() };
            edit_page(state, signed, id, status, notice, None).await
        }
        Err(other) => Err(other.page(&signed.ctx)),
    }
}

/// `POST /admin/datasets/{id}/lifecycle`: `action` = `public`, `restricted`, `unpublish`,
/// `archive`, `unarchive`, `delete` or `restore` (the API's life-cycle use case).
async fn post_lifecycle(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let m = BoMessages::of(signed.ctx.lang);
    let change = match form.get("action") {
        Some("public") => Lifecycle::Publish(Visibility::Public),
        Some("restricted") => Lifecycle::Publish(Visibility::Restricted),
        Some("unpublish") => Lifecycle::Unpublish,
        Some("archive") => Lifecycle::Archive,
        Some("unarchive") => Lifecycle::Unarchive,
        Some("delete") => Lifecycle::Delete,
        Some("restore") => Lifecycle::Restore,
        _ => {
            managed(&state, &signed, &id).await?;
            let outcome = Err(Error::BadParameter(m.bad_action.to_owned()));
            return edit_outcome(&state, &signed, &id, outcome).await;
        }
    };
    let outcome = state.app.change_lifecycle(&signed.editor(), &id, change).await.map(|_| ());
    if matches!(change, Lifecycle::Delete) && outcome.is_ok() {
        return Ok(redirect("/admin/datasets/?saved=1"));
    }
    edit_outcome(&state, &signed, &id, outcome).await
}

/// `POST /admin/datasets/{id}/hidden`: the fields hidden from outsiders (`hidden`, repeated),
/// kept with the rule's condition, through the access-rule use case.
async fn post_hidden(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    managed(&state, &signed, &id).await?;
    let ctx = &signed.ctx;
    let current = match state.app.dataset(&ctx.request(), &id).await {
        Ok(version) => version.record().rule.clone().unwrap_or_default(),
        Err(e) => return Err(Failure::from(e).page(ctx)),
    };
    let rule = AccessRule { hidden: form.all("hidden").map(str::to_owned).collect(), ..current };
    let outcome = state.app.set_rule(&ctx.request(), &signed.session.actor, &id, Some(rule)).await;
    edit_outcome(&state, &signed, &id, outcome).await
}

/// `POST /admin/datasets/{id}/grants`: `email`.
async fn post_grant(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let email = form.get("email").unwrap_or_default().to_owned();
    let outcome = state.app.grant_dataset(&signed.editor(), &id, &email).await;
    edit_outcome(&state, &signed, &id, outcome).await
}

/// `POST /admin/datasets/{id}/push-keys`: a new push key, shown once on the page (201).
async fn post_push_key(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    _form: CsrfForm,
) -> Result<Response, PageError> {
    match state.app.create_push_key(&signed.editor(), &id).await {
        Ok(key) => {
            edit_page(&state, &signed, &id, StatusCode::CREATED, BoNotice::default(), Some(Ok(key)))
                .await
        }
        Err(e) => edit_outcome(&state, &signed, &id, Err(e)).await,
    }
}

/// `POST /admin/datasets/{id}/push-keys/revoke`: revokes every push key of the dataset.
async fn post_revoke_push_keys(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    _form: CsrfForm,
) -> Result<Response, PageError> {
    match state.app.revoke_push_keys(&signed.editor(), &id).await {
        Ok(n) => {
            edit_page(&state, &signed, &id, StatusCode::OK, BoNotice::default(), Some(Err(n))).await
        }
        Err(e) => edit_outcome(&state, &signed, &id, Err(e)).await,
    }
}

/// `POST /admin/datasets/{id}/versions/{number}/restore`.
async fn post_restore_version(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, number)): Path<(String, String)>,
    _form: CsrfForm,
) -> Result<Response, PageError> {
    let Ok(number) = number.parse::<i64>() else {
        return Err(PageError::not_found(&signed.ctx));
    };
    let outcome = state.app.restore_version(&signed.editor(), &id, number).await.map(|_| ());
    edit_outcome(&state, &signed, &id, outcome).await
}

/// `POST /admin/datasets/{id}/versions/{number}/comment` (`comment`; empty removes it): the
/// management API's `PUT .../versions/{number}/comment` use case.
async fn post_version_comment(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, number)): Path<(String, String)>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let Ok(number) = number.parse::<i64>() else {
        return Err(PageError::not_found(&signed.ctx));
    };
    let comment = form.get("comment");
    let outcome =
        state.app.set_version_comment(&signed.editor(), &id, number, comment).await.map(|_| ());
    edit_outcome(&state, &signed, &id, outcome).await
}

/// `POST /admin/datasets/{id}/attachments/{attachment}/remove`.
async fn post_remove_attachment(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, attachment)): Path<(String, String)>,
    _form: CsrfForm,
) -> Result<Response, PageError> {
    let outcome = state.app.remove_attachment(&signed.editor(), &id, &attachment).await;
    edit_outcome(&state, &signed, &id, outcome).await
}

/// `POST /admin/datasets/{id}/attachments` (multipart: `csrf`, `title` or `replace`, then
/// `file`): adds an attachment, or replaces attachment `replace`'s file.
async fn post_attachment(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    let m = BoMessages::of(ctx.lang);
    managed(&state, &signed, &id).await?;
    let max = state.app.max_attachment_bytes();
    let editor = signed.editor();
    let read = file_form(&state, ctx, &signed.session, request, max, |fields, part, rx| {
        let (state, editor, id) = (&state, &editor, &id);
        async move {
            let Some(file_name) = part.name else {
                return Err(Error::BadParameter(m.no_file.to_owned()));
            };
            let title = field(&fields, "title").trim();
            let replace = field(&fields, "replace").trim();
            let upload = AttachmentUpload {
                content_type: part.content_type,
                file_name,
                title: (!title.is_empty()).then(|| title.to_owned()),
                replace: (!replace.is_empty()).then(|| replace.to_owned()),
            };
            let stream = rx.map(|chunk| {
                chunk.map_err(|e| match e {
                    BodyError::TooLarge => "the form is larger than this portal accepts".to_owned(),
                    BodyError::Other(e) => e,
                })
            });
            state.app.put_attachment(editor, id, upload, stream).await
        }
    })
    .await;
    let outcome = match read {
        Ok((_, Some(outcome))) => outcome.map(|_| ()),
        Ok((_, None)) => Err(Error::BadParameter(m.no_file.to_owned())),
        Err(refusal) => {
            return refused_form(refusal, m, max, |status, message| {
                let notice = BoNotice { error: Some(message), ..BoNotice::default() };
                edit_page(&state, &signed, &id, status, notice, None)
            })
            .await;
        }
    };
    edit_outcome(&state, &signed, &id, outcome).await
}

/// `POST /admin/datasets/{id}/upload` (multipart: `csrf`, then `file`): a new file for the
/// dataset, previewed before it becomes its new version (the same preview step as a new
/// dataset's).
async fn post_version_upload(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    let m = BoMessages::of(ctx.lang);
    let d = managed(&state, &signed, &id).await?;
    if d.archived || d.deleted_at.is_some() {
        let message =
            format!("dataset {id:?} is archived or in the trash: it takes no new version");
        let notice = BoNotice { error: Some(message), ..BoNotice::default() };
        return edit_page(&state, &signed, &id, StatusCode::CONFLICT, notice, None).await;
    }
    let max = state.app.upload_limits().max_bytes;
    let app_ctx = ctx.request();
    let read = file_form(&state, ctx, &signed.session, request, max, |_, part, rx| {
        let (state, app_ctx) = (&state, &app_ctx);
        async move { state.app.upload(app_ctx, part.name, rx).await }
    })
    .await;
    let outcome = match read {
        Ok((_, Some(outcome))) => outcome,
        Ok((_, None)) => Err(Error::BadParameter(m.no_file.to_owned())),
        Err(refusal) => {
            return refused_form(refusal, m, max, |status, message| {
                let notice = BoNotice { error: Some(message), ..BoNotice::default() };
                edit_page(&state, &signed, &id, status, notice, None)
            })
            .await;
        }
    };
    match outcome {
        Ok(upload) => Ok(redirect(&format!("/admin/datasets/{id}/uploads/{}", upload.upload_id))),
        Err(e) => edit_outcome(&state, &signed, &id, Err(e)).await,
    }
}
