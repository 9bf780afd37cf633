//! The portal administration pages under `/admin/portal/`: the themes offered to publishers,
//! the home page's text and featured datasets, the about page. For portal admins only:
//! anyone else gets the portal's ordinary 404 page, before any form is read. Every form is
//! read through [`CsrfForm`] and every change goes through a `kleber_app::portal` use case
//! (the same the management API calls), which checks it and writes its audit entry. A saved
//! form sends the browser back to its page (`303`, `?saved=1`); a refused one shows the page
//! again with the reason and what was typed (400), changing nothing.

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{MethodRouter, get};
use kleber_app::Error;
use kleber_app::manage::Editor;
use kleber_app::portal::{Featured, PortalText, Theme, Themes};
use kleber_app::sessions::Session;
use kleber_web::admin::{AdminMessages, Notice};
use kleber_web::portal_admin::{
    FeaturedRow, PortalIndexPage, PortalMessages, PortalTextPage, PortalThemesPage, ThemeRow,
};

use super::admin::{Signed, layout, render};
use super::auth::{CsrfForm, redirect};
use super::{PageContext, PageError};
use crate::state::AppState;

/// The portal administration routes.
pub fn routes() -> Vec<(String, MethodRouter<AppState>)> {
    [
        ("/admin/portal", get(get_index)),
        ("/admin/portal/", get(get_index)),
        ("/admin/portal/themes", get(get_themes).post(post_themes)),
        ("/admin/portal/themes/", get(get_themes)),
        ("/admin/portal/home", get(get_home).post(post_home)),
        ("/admin/portal/home/", get(get_home)),
        ("/admin/portal/about", get(get_about).post(post_about)),
        ("/admin/portal/about/", get(get_about)),
    ]
    .into_iter()
    .map(|(path, handler)| (path.to_owned(), handler))
    .collect()
}

/// A signed-in portal admin's request; anyone else gets the missing page.
struct PortalAdmin {
    ctx: PageContext,
    session: Session,
}

impl<S: Send + Sync> FromRequestParts<S> for PortalAdmin {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        let Signed { ctx, session } = Signed::from_request_parts(parts, state).await?;
        if !kleber_app::policy::may_admin_portal(&session.principal) {
            return Err(PageError::not_found(&ctx));
        }
        Ok(PortalAdmin { ctx, session })
    }
}

fn editor(session: &Session) -> Editor {
    Editor::of_session(session)
}

/// A use case's refusal as a message on the form, or the page's error.
fn form_error(ctx: &PageContext, e: Error) -> Result<String, PageError> {
    match e {
        Error::InvalidBody(m) | Error::BadParameter(m) | Error::Conflict(m) => Ok(m),
        Error::Forbidden(_) | Error::Unauthenticated(_) => Err(PageError::not_found(ctx)),
        other => Err(PageError::internal(ctx, other.to_string())),
    }
}

fn notice(ctx: &PageContext, error: Option<String>) -> Notice {
    Notice {
        saved: error.is_none() && ctx.query.get("saved") == Some("1"),
        error,
        ..Notice::default()
    }
}

fn status(error: &Option<String>) -> StatusCode {
    if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK }
}

/// `GET /admin/portal/`.
async fn get_index(
    State(state): State<AppState>,
    PortalAdmin { ctx, .. }: PortalAdmin,
) -> Result<Response, PageError> {
    let p = PortalMessages::of(ctx.lang);
    let page = PortalIndexPage { layout: layout(&ctx, p.heading, "/admin/portal/"), p };
    render(&state, &ctx, StatusCode::OK, &page)
}

fn theme_row(t: &Theme) -> ThemeRow {
    ThemeRow {
        id: t.id.clone(),
        label_fr: t.label_fr.clone(),
        label_en: t.label_en.clone(),
        description: t.description.clone().unwrap_or_default(),
    }
}

fn themes_page(
    state: &AppState,
    ctx: &PageContext,
    session: &Session,
    themes: &Themes,
    new: ThemeRow,
    error: Option<String>,
) -> Result<Response, PageError> {
    let p = PortalMessages::of(ctx.lang);
    let page = PortalThemesPage {
        layout: layout(ctx, p.themes_heading, "/admin/portal/themes"),
        m: AdminMessages::of(ctx.lang),
        p,
        csrf: session.csrf_token(),
        notice: notice(ctx, error.clone()),
        themes: themes.themes.iter().map(theme_row).collect(),
        new,
    };
    render(state, ctx, status(&error), &page)
}

fn empty_row() -> ThemeRow {
    ThemeRow {
        id: String::new(),
        label_fr: String::new(),
        label_en: String::new(),
        description: String::new(),
    }
}

/// `GET /admin/portal/themes`.
async fn get_themes(
    State(state): State<AppState>,
    PortalAdmin { ctx, session }: PortalAdmin,
) -> Result<Response, PageError> {
    let themes = state.app.portal_themes().await.map_err(|e| PageError::internal(&ctx, e))?;
    themes_page(&state, &ctx, &session, &themes, empty_row(), None)
}

/// `POST /admin/portal/themes`: the rows as edited (`t<i>_id`, `t<i>_label_fr`, ...; a row
/// with `t<i>_remove` is removed) and the new theme, if its id is given.
async fn post_themes(
    State(state): State<AppState>,
    PortalAdmin { ctx, session }: PortalAdmin,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let text = |name: &str| form.get(name).unwrap_or_default().to_owned();
    let count: usize = form.get("count").and_then(|c| c.parse().ok()).unwrap_or_default();
    let mut themes = Themes::default();
    for i in 0..count.min(kleber_app::portal::MAX_THEMES + 1) {
        let Some(id) = form.get(&format!("t{i}_id")) else { continue };
        if form.get(&format!("t{i}_remove")).is_some() {
            continue;
        }
        let description = text(&format!("t{i}_description"));
        themes.themes.push(Theme {
            id: id.to_owned(),
            label_fr: text(&format!("t{i}_label_fr")),
            label_en: text(&format!("t{i}_label_en")),
            description: (!description.trim().is_empty()).then_some(description),
        });
    }
    let new = ThemeRow {
        id: text("new_id"),
        label_fr: text("new_label_fr"),
        label_en: text("new_label_en"),
        description: text("new_description"),
    };
    if !new.id.trim().is_empty() {
        themes.themes.push(Theme {
            id: new.id.clone(),
            label_fr: new.label_fr.clone(),
            label_en: new.label_en.clone(),
            description: (!new.description.trim().is_empty()).then(|| new.description.clone()),
        });
    }
    match state.app.set_portal_themes(&editor(&session), themes).await {
        Ok(_) => Ok(redirect("/admin/portal/themes?saved=1")),
        Err(e) => {
            let message = form_error(&ctx, e)?;
            let current =
                state.app.portal_themes().await.map_err(|e| PageError::internal(&ctx, e))?;
            themes_page(&state, &ctx, &session, &current, new, Some(message))
        }
    }
}

/// Which text page.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TextPage {
    Home,
    About,
}

#[allow(clippy::too_many_arguments)]
async fn text_page(
    state: &AppState,
    ctx: &PageContext,
    session: &Session,
    which: TextPage,
    text: &PortalText,
    featured_text: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let p = PortalMessages::of(ctx.lang);
    let (heading, intro, action) = match which {
        TextPage::Home => (p.home_heading, p.home_intro, "/admin/portal/home"),
        TextPage::About => (p.about_heading, p.about_intro, "/admin/portal/about"),
    };
    let featured = match which {
        TextPage::About => None,
        TextPage::Home => {
            let ids = state
                .app
                .portal_featured(&editor(session))
                .await
                .map_err(|e| PageError::internal(ctx, e))?;
            let view =
                state.app.catalog(&ctx.request()).await.map_err(|e| PageError::from_api(ctx, e))?;
            Some(
                ids.datasets
                    .iter()
                    .map(|id| FeaturedRow {
                        id: id.clone(),
                        title: view.record(id).map_or_else(|| id.clone(), |r| r.title.clone()),
                    })
                    .collect::<Vec<_>>(),
            )
        }
    };
    let featured_text = featured_text.unwrap_or_else(|| {
        featured
            .as_ref()
            .map(|rows| rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    });
    let page = PortalTextPage {
        layout: layout(ctx, heading, action),
        m: AdminMessages::of(ctx.lang),
        p,
        csrf: session.csrf_token(),
        notice: notice(ctx, error.clone()),
        heading,
        intro,
        action,
        text_fr: text.text_fr.clone(),
        text_en: text.text_en.clone(),
        preview: text.html(ctx.lang.code()),
        featured,
        featured_text,
    };
    render(state, ctx, status(&error), &page)
}

/// `GET /admin/portal/home`.
async fn get_home(
    State(state): State<AppState>,
    PortalAdmin { ctx, session }: PortalAdmin,
) -> Result<Response, PageError> {
    let text = state.app.portal_home().await.map_err(|e| PageError::internal(&ctx, e))?;
    text_page(&state, &ctx, &session, TextPage::Home, &text, None, None).await
}

/// `GET /admin/portal/about`.
async fn get_about(
    State(state): State<AppState>,
    PortalAdmin { ctx, session }: PortalAdmin,
) -> Result<Response, PageError> {
    let text = state.app.portal_about().await.map_err(|e| PageError::internal(&ctx, e))?;
    text_page(&state, &ctx, &session, TextPage::About, &text, None, None).await
}

fn form_text(form: &CsrfForm) -> PortalText {
    PortalText {
        text_fr: form.get("text_fr").unwrap_or_default().to_owned(),
        text_en: form.get("text_en").unwrap_or_default().to_owned(),
    }
}

/// `POST /admin/portal/home`: the text and the featured datasets (one id per line). The
/// featured list is checked first, so a refused list changes neither.
async fn post_home(
    State(state): State<AppState>,
    PortalAdmin { ctx, session }: PortalAdmin,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let text = form_text(&form);
    let featured_text = form.get("featured").unwrap_or_default().to_owned();
    let featured = Featured {
        datasets: featured_text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    let editor = editor(&session);
    let result = match state.app.set_portal_featured(&editor, featured).await {
        Ok(_) => state.app.set_portal_home(&editor, text.clone()).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(redirect("/admin/portal/home?saved=1")),
        Err(e) => {
            let message = form_error(&ctx, e)?;
            let (which, featured) = (TextPage::Home, Some(featured_text));
            text_page(&state, &ctx, &session, which, &text, featured, Some(message)).await
        }
    }
}

/// `POST /admin/portal/about`.
async fn post_about(
    State(state): State<AppState>,
    PortalAdmin { ctx, session }: PortalAdmin,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let text = form_text(&form);
    match state.app.set_portal_about(&editor(&session), text.clone()).await {
        Ok(_) => Ok(redirect("/admin/portal/about?saved=1")),
        Err(e) => {
            let message = form_error(&ctx, e)?;
            text_page(&state, &ctx, &session, TextPage::About, &text, None, Some(message)).await
        }
    }
}

/// `cards` with their themes shown by their labels in `lang` (a value that is no theme of the
/// portal's list keeps its text). Links keep the theme's id.
pub(crate) fn label_card_themes(
    mut cards: Vec<kleber_web::view::DatasetCard>,
    themes: &Themes,
    lang: kleber_web::Lang,
) -> Vec<kleber_web::view::DatasetCard> {
    for card in &mut cards {
        for link in &mut card.themes {
            link.label = themes.label(&link.label, lang.code()).to_owned();
        }
    }
    cards
}
