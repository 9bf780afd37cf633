//! The derivation panel of a derived dataset's edit page and its forms (docs/crossing.md#from-the-back-office):
//! [`derive_panel`] renders `kleber_web::derive::DerivePanel` (the query in a textarea, the
//! inputs with the versions read, the last failure), which the edit page embeds;
//! `POST /admin/datasets/{id}/derivation/save` redefines the query (a refused or failing
//! query keeps the stored one and the page says why), `.../refresh` recomputes now,
//! `.../clear` removes the definition (the dataset stays, ordinary); `GET
//! /admin/datasets/{id}/derivation` is the panel on a page of its own. `GET`/`POST
//! /admin/derived/new` defines a new derived dataset. Every form's origin and CSRF token are
//! checked by [`CsrfForm`]; every use case is `kleber_app`'s, the one the management API
//! calls, asked as the session's editor, so who may not edit the dataset gets the missing
//! page, as on the rest of the back office.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use kleber_app::App;
use kleber_app::Error;
use kleber_app::manage::Editor;
use kleber_web::Lang;
use kleber_web::admin::Choice;
use kleber_web::derive::{DeriveMessages, DerivePage, DerivePanel, NewDerivedPage};

use super::PageError;
use super::auth::{CsrfForm, redirect};
use super::backoffice::{Failure, Signed, form_refusal, layout, managed, publishable_orgs, render};
use crate::state::AppState;

/// The panel's routes and the new derived dataset page's.
pub fn routes() -> Vec<(String, MethodRouter<AppState>)> {
    [
        ("/admin/datasets/{id}/derivation", get(get_page)),
        ("/admin/datasets/{id}/derivation/save", post(post_save)),
        ("/admin/datasets/{id}/derivation/refresh", post(post_refresh)),
        ("/admin/datasets/{id}/derivation/clear", post(post_clear)),
        ("/admin/derived/new", get(get_new).post(post_new)),
    ]
    .into_iter()
    .map(|(path, handler)| (path.to_owned(), handler))
    .collect()
}

/// The panel of dataset `id` as `editor` sees it, its textarea holding `typed` when given
/// (else the stored query), or `None` when it is not derived (or not readable by `editor`).
pub async fn derive_panel(
    app: &App,
    editor: &Editor,
    id: &str,
    lang: Lang,
    csrf: String,
    typed: Option<String>,
) -> Result<Option<String>, Error> {
    let info = match app.derivation(editor, id).await {
        Ok(Some(info)) => info,
        Ok(None) | Err(Error::DatasetNotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let panel = DerivePanel {
        m: DeriveMessages::of(lang),
        dataset: id.to_owned(),
        csrf,
        inputs: info
            .inputs
            .iter()
            .map(|i| {
                let version = info.input_versions.get(i).map(ToString::to_string);
                (i.clone(), version.unwrap_or_default())
            })
            .collect(),
        text: typed.unwrap_or_else(|| info.query.clone()),
        query: info.query,
        restricted_by: info.restricted_by,
        allowed_by: info.allowed_by,
        last_error: info.last_error,
        last_error_at: info.last_error_at,
    };
    panel.html().map(Some).map_err(Error::internal)
}

/// The derivation page of dataset `id`, with `typed` in the textarea and `error`.
async fn page(
    state: &AppState,
    signed: &Signed,
    id: &str,
    status: StatusCode,
    typed: Option<String>,
    error: Option<(String, bool)>,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    let m = DeriveMessages::of(ctx.lang);
    let d = managed(state, signed, id).await?;
    let csrf = signed.session.csrf_token();
    let panel = derive_panel(&state.app, &signed.editor(), id, ctx.lang, csrf, typed)
        .await
        .map_err(|e| Failure::from(e).page(ctx))?;
    // A dataset that is not (or no longer) derived has no panel: its edit page.
    let Some(panel) = panel else {
        return Ok(redirect(&format!("/admin/datasets/{id}/")));
    };
    let title = format!("{} – {}", m.heading, d.title);
    let (error, kept) = error.map_or((None, false), |(e, kept)| (Some(e), kept));
    let page = DerivePage {
        layout: layout(ctx, &title, &format!("/admin/datasets/{id}/derivation")),
        m,
        dataset: d.id,
        title,
        panel,
        error,
        kept,
    };
    render(state, ctx, status, &page)
}

fn edit_page(id: &str) -> String {
    format!("/admin/datasets/{id}/?saved=1#derive-panel")
}

/// `GET /admin/datasets/{id}/derivation`.
async fn get_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    page(&state, &signed, &id, StatusCode::OK, None, None).await
}

/// `POST /admin/datasets/{id}/derivation/save` (`query`): redefines it and computes a
/// version at once; back to the edit page, or this page with why it was refused.
async fn post_save(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    managed(&state, &signed, &id).await?;
    let m = DeriveMessages::of(signed.ctx.lang);
    let text = form.get("query").unwrap_or_default().to_owned();
    let (status, message) = if text.trim().is_empty() {
        (StatusCode::BAD_REQUEST, m.empty_query.to_owned())
    } else {
        match state.app.define_derivation(&signed.editor(), &id, &text, None, None).await {
            Ok(_) => return Ok(redirect(&edit_page(&id))),
            Err(e) => form_refusal(&signed.ctx, e)?,
        }
    };
    page(&state, &signed, &id, status, Some(text), Some((message, true))).await
}

/// `POST /admin/datasets/{id}/derivation/refresh`: recomputes it now with the stored query.
async fn post_refresh(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    _form: CsrfForm,
) -> Result<Response, PageError> {
    managed(&state, &signed, &id).await?;
    match state.app.refresh_derivation(&signed.editor(), &id).await {
        Ok(_) => Ok(redirect(&edit_page(&id))),
        Err(e) => {
            let (status, message) = form_refusal(&signed.ctx, e)?;
            page(&state, &signed, &id, status, None, Some((message, false))).await
        }
    }
}

/// `POST /admin/datasets/{id}/derivation/clear`: removes the definition; the dataset stays.
async fn post_clear(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    _form: CsrfForm,
) -> Result<Response, PageError> {
    managed(&state, &signed, &id).await?;
    match state.app.clear_derivation(&signed.editor(), &id).await {
        Ok(_) => Ok(redirect(&format!("/admin/datasets/{id}/?saved=1"))),
        Err(e) => {
            let (status, message) = form_refusal(&signed.ctx, e)?;
            page(&state, &signed, &id, status, None, Some((message, false))).await
        }
    }
}

/// What the new derived dataset form holds: organization, identifier, title, query.
#[derive(Default)]
struct Typed {
    org: String,
    id: String,
    title: String,
    query: String,
}

/// The new derived dataset page, with what was typed and why it was refused.
async fn new_page(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    typed: Typed,
    error: Option<String>,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    let m = DeriveMessages::of(ctx.lang);
    let orgs = publishable_orgs(state, signed).await;
    let page = NewDerivedPage {
        layout: layout(ctx, m.new_heading, "/admin/derived/new"),
        m,
        csrf: signed.session.csrf_token(),
        orgs: orgs
            .into_iter()
            .map(|(value, label)| Choice { selected: value == typed.org, value, label })
            .collect(),
        id: typed.id,
        title: typed.title,
        query: typed.query,
        error,
    };
    render(state, ctx, status, &page)
}

/// `GET /admin/derived/new`.
async fn get_new(State(state): State<AppState>, signed: Signed) -> Result<Response, PageError> {
    new_page(&state, &signed, StatusCode::OK, Typed::default(), None).await
}

/// `POST /admin/derived/new` (`organization`, `id`, `title`, `query`): defines the new
/// derived dataset and computes its first version; its edit page, or this page with why
/// not (nothing is created).
async fn post_new(
    State(state): State<AppState>,
    signed: Signed,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let m = DeriveMessages::of(signed.ctx.lang);
    let field = |name: &str| form.get(name).unwrap_or_default().trim().to_owned();
    let typed = Typed {
        org: field("organization"),
        id: field("id"),
        title: field("title"),
        query: form.get("query").unwrap_or_default().to_owned(),
    };
    let publishable = publishable_orgs(&state, &signed).await;
    let refused = if !publishable.iter().any(|(o, _)| *o == typed.org) {
        (StatusCode::BAD_REQUEST, m.bad_org.to_owned())
    } else if typed.query.trim().is_empty() {
        (StatusCode::BAD_REQUEST, m.empty_query.to_owned())
    } else {
        // An existing dataset is redefined on its own page, not here.
        let exists = state.app.managed_dataset(&signed.editor(), &typed.id).await.is_ok();
        let title = (!typed.title.is_empty()).then_some(typed.title.as_str());
        let outcome = if exists {
            Err(Error::Conflict(format!(
                "dataset `{}` exists: choose another identifier, or redefine it from its own page",
                typed.id
            )))
        } else {
            state
                .app
                .define_derivation(
                    &signed.editor(),
                    &typed.id,
                    &typed.query,
                    title,
                    Some(&typed.org),
                )
                .await
                .map(|_| ())
        };
        match outcome {
            Ok(()) => return Ok(redirect(&format!("/admin/datasets/{}/?saved=1", typed.id))),
            Err(Error::Forbidden(_)) => (StatusCode::FORBIDDEN, m.bad_org.to_owned()),
            Err(e) => form_refusal(&signed.ctx, e)?,
        }
    };
    let (status, message) = refused;
    new_page(&state, &signed, status, typed, Some(message)).await
}
