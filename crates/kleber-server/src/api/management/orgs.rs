//! Organizations, members, invitations and API keys, for admins (thin, over
//! `kleber_app::accounts` through `kleber_app::manage`, which decides who may).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kleber_store::{ApiKeyRecord, OrgKind, Organization, Role, Scope};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{ErrorBody, json, parse_body};
use crate::error::ApiError;
use crate::http::PublicUrl;
use crate::http::management::Manager;
use crate::state::AppState;

/// An organization.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrgView {
    /// Identifier.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind (`city`, `metropolis`, `commune`, `public_body`, `company`, `association`).
    pub kind: String,
    /// Description.
    pub description: Option<String>,
    /// Web site.
    pub website: Option<String>,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

impl From<Organization> for OrgView {
    fn from(o: Organization) -> Self {
        OrgView {
            id: o.id,
            name: o.name,
            kind: o.kind.as_str().to_owned(),
            description: o.description,
            website: o.website,
            created_at: o.created_at,
        }
    }
}

/// `POST /organizations`'s body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewOrgBody {
    /// Identifier: 1 to 64 lowercase letters, digits, `-` or `_`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Description.
    pub description: Option<String>,
}

/// A member of an organization.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// `admin`, `editor` or `viewer`.
    pub role: String,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
}

/// `PUT /organizations/{org}/members/{email}`'s body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoleBody {
    /// `admin`, `editor` or `viewer`.
    pub role: String,
}

/// `POST /organizations/{org}/invitations`'s body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InviteBody {
    /// Who to invite.
    pub email: String,
    /// `admin`, `editor` or `viewer`.
    pub role: String,
}

/// An invitation: its one-time link, shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvitationView {
    /// Who is invited.
    pub email: String,
    /// Into which organization.
    pub organization: String,
    /// With which role.
    pub role: String,
    /// The link that sets the password (shown once, never stored).
    pub url: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
}

/// An API key (never its secret).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    /// Public identifier.
    pub id: String,
    /// Name.
    pub name: String,
    /// Scopes (`read`, `write`, `admin`).
    pub scopes: Vec<String>,
    /// Owner's email.
    pub user: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// Expiry (RFC 3339).
    pub expires_at: Option<String>,
    /// Revocation (RFC 3339).
    pub revoked_at: Option<String>,
}

impl From<ApiKeyRecord> for KeyView {
    fn from(k: ApiKeyRecord) -> Self {
        KeyView {
            id: k.id,
            name: k.name,
            scopes: k.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            user: k.user_email,
            created_at: k.created_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// `POST /organizations/{org}/keys`'s body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewKeyBody {
    /// The member the key acts for.
    pub email: String,
    /// A name.
    pub name: String,
    /// Scopes (`read`, `write`, `admin`).
    pub scopes: Vec<String>,
    /// Days until it expires (none: never).
    pub expires_days: Option<u32>,
}

/// A new key: shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedKeyView {
    /// `klb_<id>_<secret>`: shown once, never stored.
    pub key: String,
    /// The key's record.
    pub record: KeyView,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(kleber_types::ErrorCode::InvalidRequestBody, message)
}

/// The body as an object with only `allowed` keys.
fn object(bytes: &[u8], allowed: &[&str]) -> Result<Map<String, Value>, ApiError> {
    let Value::Object(map) = parse_body(bytes, None)? else {
        return Err(bad(format!("the body must be a JSON object with {}", allowed.join(", "))));
    };
    if let Some(key) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        let shown: String = key.chars().take(60).collect();
        return Err(bad(format!("unknown key {shown:?}; accepted: {}", allowed.join(", "))));
    }
    Ok(map)
}

fn string(map: &Map<String, Value>, key: &str) -> Result<String, ApiError> {
    match map.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(bad(format!("{key} is missing"))),
        Some(other) => Err(bad(format!("{key}: expected a string, found {other}"))),
    }
}

fn word<T: std::str::FromStr<Err = String>>(
    map: &Map<String, Value>,
    key: &str,
) -> Result<T, ApiError> {
    string(map, key)?.parse().map_err(|e: String| bad(format!("{key}: {e}")))
}

/// `GET /organizations`: the organizations the caller administers (all, for portal admins).
#[utoipa::path(get, path = "/api/management/v1/organizations", tag = "organizations",
    responses((status = 200, body = [OrgView])))]
pub(super) async fn list_orgs(
    State(state): State<AppState>,
    Manager(editor): Manager,
) -> Result<Response, ApiError> {
    let orgs = state.app.administered_orgs(&editor).await?;
    let views: Vec<OrgView> = orgs.into_iter().map(OrgView::from).collect();
    Ok(json(StatusCode::OK, &views))
}

/// `POST /organizations`: creates an organization (portal admins).
#[utoipa::path(post, path = "/api/management/v1/organizations", tag = "organizations",
    request_body = NewOrgBody,
    responses((status = 201, body = OrgView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn create_org(
    State(state): State<AppState>,
    Manager(editor): Manager,
    body: Bytes,
) -> Result<Response, ApiError> {
    let map = object(&body, &["id", "name", "kind", "description"])?;
    let (id, name) = (string(&map, "id")?, string(&map, "name")?);
    let kind: OrgKind = word(&map, "kind")?;
    let description = match map.get("description") {
        None | Some(Value::Null) => None,
        Some(_) => Some(string(&map, "description")?),
    };
    let org = state
        .app
        .admin_create_org(
            &editor,
            kleber_app::admin::OrgForm { id, name, kind, description, website: None },
        )
        .await?;
    Ok(json(StatusCode::CREATED, &OrgView::from(org)))
}

/// `GET /organizations/{org}/members` (its admins).
#[utoipa::path(get, path = "/api/management/v1/organizations/{org}/members", tag = "organizations",
    params(("org" = String, Path, description = "Organization identifier")),
    responses((status = 200, body = [MemberView]), (status = 403, body = ErrorBody)))]
pub(super) async fn list_members(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    let members = state.app.admin_members(&editor, &org).await?;
    let views: Vec<MemberView> = members
        .into_iter()
        .map(|(u, role)| MemberView {
            email: u.email,
            name: u.name,
            role: role.as_str().to_owned(),
            disabled: u.disabled,
        })
        .collect();
    Ok(json(StatusCode::OK, &views))
}

/// `PUT /organizations/{org}/members/{email}`: adds an existing user or changes their role.
#[utoipa::path(put, path = "/api/management/v1/organizations/{org}/members/{email}",
    tag = "organizations",
    params(("org" = String, Path, description = "Organization identifier"),
        ("email" = String, Path, description = "The user's email")),
    request_body = RoleBody,
    responses((status = 200, body = [MemberView]), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(super) async fn set_member(
    state: State<AppState>,
    manager: Manager,
    Path((org, email)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let map = object(&body, &["role"])?;
    let role: Role = word(&map, "role")?;
    state.app.admin_set_member(&manager.0, &org, &email, role).await?;
    list_members(state, manager, Path(org)).await
}

/// `DELETE /organizations/{org}/members/{email}`.
#[utoipa::path(delete, path = "/api/management/v1/organizations/{org}/members/{email}",
    tag = "organizations",
    params(("org" = String, Path, description = "Organization identifier"),
        ("email" = String, Path, description = "The user's email")),
    responses((status = 200, body = [MemberView]), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(super) async fn remove_member(
    state: State<AppState>,
    manager: Manager,
    Path((org, email)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    state.app.admin_remove_member(&manager.0, &org, &email).await?;
    list_members(state, manager, Path(org)).await
}

/// `POST /organizations/{org}/invitations`: a one-time link for a new or existing user.
#[utoipa::path(post, path = "/api/management/v1/organizations/{org}/invitations",
    tag = "organizations",
    params(("org" = String, Path, description = "Organization identifier")),
    request_body = InviteBody,
    responses((status = 201, body = InvitationView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(super) async fn invite(
    State(state): State<AppState>,
    Manager(editor): Manager,
    base: PublicUrl,
    Path(org): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let map = object(&body, &["email", "role"])?;
    let email = string(&map, "email")?;
    let role: Role = word(&map, "role")?;
    let invitation = state.app.admin_invite(&editor, &org, &email, role).await?;
    let view = InvitationView {
        email,
        organization: org,
        role: role.as_str().to_owned(),
        url: base.url(&format!("/invitation/{}", invitation.token)),
        expires_at: invitation.expires_at,
    };
    Ok(json(StatusCode::CREATED, &view))
}

/// `GET /organizations/{org}/keys`: the keys of the organization's members.
#[utoipa::path(get, path = "/api/management/v1/organizations/{org}/keys", tag = "organizations",
    params(("org" = String, Path, description = "Organization identifier")),
    responses((status = 200, body = [KeyView]), (status = 403, body = ErrorBody)))]
pub(super) async fn list_keys(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    let keys = state.app.admin_keys(&editor, &org).await?;
    let views: Vec<KeyView> = keys.into_iter().map(KeyView::from).collect();
    Ok(json(StatusCode::OK, &views))
}

/// `POST /organizations/{org}/keys`: a key for a member, shown once.
#[utoipa::path(post, path = "/api/management/v1/organizations/{org}/keys", tag = "organizations",
    params(("org" = String, Path, description = "Organization identifier")),
    request_body = NewKeyBody,
    responses((status = 201, body = CreatedKeyView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn create_key(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(org): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let map = object(&body, &["email", "name", "scopes", "expires_days"])?;
    let (email, name) = (string(&map, "email")?, string(&map, "name")?);
    let scopes: Vec<Scope> = match map.get("scopes") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| bad("scopes: expected strings (read, write, admin)"))?
                    .parse()
                    .map_err(|e: String| bad(format!("scopes: {e}")))
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(bad("scopes: give an array of read, write, admin")),
    };
    let expires_days = match map.get("expires_days") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| bad("expires_days: expected a positive whole number of days"))?,
        ),
    };
    let created =
        state.app.admin_create_key(&editor, &org, &email, &name, scopes, expires_days).await?;
    let view = CreatedKeyView { key: created.key, record: KeyView::from(created.record) };
    Ok(json(StatusCode::CREATED, &view))
}

/// `DELETE /organizations/{org}/keys/{key_id}`: revokes a member's key.
#[utoipa::path(delete, path = "/api/management/v1/organizations/{org}/keys/{key_id}",
    tag = "organizations",
    params(("org" = String, Path, description = "Organization identifier"),
        ("key_id" = String, Path, description = "The key's public identifier")),
    responses((status = 200, body = KeyView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(super) async fn revoke_key(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path((org, key_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let key = state.app.admin_revoke_key(&editor, &org, &key_id).await?;
    Ok(json(StatusCode::OK, &KeyView::from(key)))
}
