//! The portal's settings, for portal admins (thin, over `kleber_app::portal`, which checks
//! and audits every change): the themes offered to publishers, the home page's text and
//! featured datasets, the about page. `GET /portal/themes` answers every authenticated
//! caller (publishers choose their datasets' themes from it); the rest is for portal admins
//! (an API key needs the `admin` scope). See docs/portal.md#administering-the-portal.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use kleber_app::portal::{Featured, PortalText, Themes};
use serde::Serialize;

use super::{ErrorBody, json, parse_body};
use crate::error::ApiError;
use crate::http::management::Manager;
use crate::state::AppState;

/// A theme offered to publishers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ThemeView {
    /// What datasets list in their `theme` metadata; never changes.
    pub id: String,
    /// Label shown to French readers.
    pub label_fr: String,
    /// Label shown to English readers.
    pub label_en: String,
    /// What it covers.
    pub description: Option<String>,
}

/// The themes (`GET` answer and `PUT` body).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ThemesBody {
    /// In the order they are offered.
    pub themes: Vec<ThemeView>,
}

/// A page's text (`PUT` body): Markdown in each language.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TextBody {
    /// French Markdown.
    pub text_fr: String,
    /// English Markdown.
    pub text_en: String,
}

/// A page's text as stored, with its sanitised HTML.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TextView {
    /// French Markdown.
    pub text_fr: String,
    /// English Markdown.
    pub text_en: String,
    /// French HTML (rendered and sanitised), when there is a French text.
    pub html_fr: Option<String>,
    /// English HTML (rendered and sanitised), when there is an English text.
    pub html_en: Option<String>,
}

/// The home page's featured datasets (`GET` answer and `PUT` body).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeaturedBody {
    /// Identifiers of public datasets, in the order shown (at most 12).
    pub datasets: Vec<String>,
}

fn body<T: serde::de::DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, ApiError> {
    let value = parse_body(bytes, None)?;
    Ok(kleber_app::portal::parse_body(what, &value)?)
}

/// `GET /portal/themes` (any authenticated caller).
#[utoipa::path(get, path = "/api/management/v1/portal/themes", tag = "portal",
    responses((status = 200, body = ThemesBody), (status = 401, body = ErrorBody)))]
pub(super) async fn get_themes(
    State(state): State<AppState>,
    Manager(_editor): Manager,
) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &state.app.portal_themes().await?))
}

/// `PUT /portal/themes`: replaces the themes (portal admins). Removing a theme a dataset
/// still lists is refused (409); labels may change.
#[utoipa::path(put, path = "/api/management/v1/portal/themes", tag = "portal",
    request_body = ThemesBody,
    responses((status = 200, body = ThemesBody), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn put_themes(
    State(state): State<AppState>,
    Manager(editor): Manager,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    state.app.check_portal_admin_of(&editor).await?;
    let themes: Themes = body("themes", &bytes)?;
    Ok(json(StatusCode::OK, &state.app.set_portal_themes(&editor, themes).await?))
}

/// `GET /portal/home`: the home page's text (portal admins).
#[utoipa::path(get, path = "/api/management/v1/portal/home", tag = "portal",
    responses((status = 200, body = TextView), (status = 403, body = ErrorBody)))]
pub(super) async fn get_home(
    State(state): State<AppState>,
    Manager(editor): Manager,
) -> Result<Response, ApiError> {
    state.app.check_portal_admin_of(&editor).await?;
    Ok(json(StatusCode::OK, &state.app.portal_home().await?.to_json()))
}

/// `PUT /portal/home`: replaces the home page's text (portal admins).
#[utoipa::path(put, path = "/api/management/v1/portal/home", tag = "portal",
    request_body = TextBody,
    responses((status = 200, body = TextView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(super) async fn put_home(
    State(state): State<AppState>,
    Manager(editor): Manager,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    state.app.check_portal_admin_of(&editor).await?;
    let text: PortalText = body("home page text", &bytes)?;
    Ok(json(StatusCode::OK, &state.app.set_portal_home(&editor, text).await?.to_json()))
}

/// `GET /portal/about`: the about page's text (portal admins; empty: the portal's own text).
#[utoipa::path(get, path = "/api/management/v1/portal/about", tag = "portal",
    responses((status = 200, body = TextView), (status = 403, body = ErrorBody)))]
pub(super) async fn get_about(
    State(state): State<AppState>,
    Manager(editor): Manager,
) -> Result<Response, ApiError> {
    state.app.check_portal_admin_of(&editor).await?;
    Ok(json(StatusCode::OK, &state.app.portal_about().await?.to_json()))
}

/// `PUT /portal/about`: replaces the about page's text (portal admins).
#[utoipa::path(put, path = "/api/management/v1/portal/about", tag = "portal",
    request_body = TextBody,
    responses((status = 200, body = TextView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(super) async fn put_about(
    State(state): State<AppState>,
    Manager(editor): Manager,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    state.app.check_portal_admin_of(&editor).await?;
    let text: PortalText = body("about page text", &bytes)?;
    Ok(json(StatusCode::OK, &state.app.set_portal_about(&editor, text).await?.to_json()))
}

/// `GET /portal/featured`: the home page's featured datasets (portal admins).
#[utoipa::path(get, path = "/api/management/v1/portal/featured", tag = "portal",
    responses((status = 200, body = FeaturedBody), (status = 403, body = ErrorBody)))]
pub(super) async fn get_featured(
    State(state): State<AppState>,
    Manager(editor): Manager,
) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &state.app.portal_featured(&editor).await?))
}

/// `PUT /portal/featured`: replaces the featured datasets (portal admins); each must be a
/// published public dataset.
#[utoipa::path(put, path = "/api/management/v1/portal/featured", tag = "portal",
    request_body = FeaturedBody,
    responses((status = 200, body = FeaturedBody), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(super) async fn put_featured(
    State(state): State<AppState>,
    Manager(editor): Manager,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    state.app.check_portal_admin_of(&editor).await?;
    let featured: Featured = body("featured datasets", &bytes)?;
    Ok(json(StatusCode::OK, &state.app.set_portal_featured(&editor, featured).await?))
}
