//! Datasets, their attachments and versions, on the management API.

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use kleber_app::attachments::AttachmentUpload;
use kleber_app::manage::{LICENCES, NewDataset};
use kleber_store::{Lifecycle, Visibility};
use kleber_types::ErrorCode;
use serde::Serialize;
use serde_json::{Value, json};

use super::{AttachmentView, DatasetView, ErrorBody, VersionView, json, parse_body};
use crate::error::ApiError;
use crate::http::management::Manager;
use crate::state::AppState;

/// A licence of the list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LicenceView {
    /// What to give as `license`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its text.
    pub url: String,
}

/// `POST /datasets`'s body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewDatasetBody {
    /// Identifier: 1 to 100 lowercase letters, digits, `-` or `_`.
    pub id: String,
    /// The organization (the caller must be its editor or admin).
    pub organization: String,
    /// Title.
    pub title: String,
}

/// `POST /datasets/{id}/publish`'s body (optional).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublishBody {
    /// `public` (default) or `restricted`.
    pub visibility: Option<String>,
}

/// `GET /licences`: the licences known by name.
#[utoipa::path(get, path = "/api/management/v1/licences", tag = "datasets",
    responses((status = 200, body = [LicenceView])))]
pub(super) async fn list_licences(Manager(_editor): Manager) -> Response {
    let list: Vec<LicenceView> = LICENCES
        .iter()
        .map(|l| LicenceView {
            id: l.id.to_owned(),
            name: l.name.to_owned(),
            url: l.url.to_owned(),
        })
        .collect();
    json(StatusCode::OK, &list)
}

/// `GET /datasets`: the datasets the caller may manage (the trash included).
#[utoipa::path(get, path = "/api/management/v1/datasets", tag = "datasets",
    responses((status = 200, body = [DatasetView]), (status = 401, body = ErrorBody)))]
pub(super) async fn list_datasets(
    State(state): State<AppState>,
    Manager(editor): Manager,
) -> Result<Response, ApiError> {
    let list = state.app.managed_datasets(&editor).await?;
    let views: Vec<DatasetView> = list.into_iter().map(DatasetView::from).collect();
    Ok(json(StatusCode::OK, &views))
}

/// `POST /datasets`: creates a draft dataset without a version.
#[utoipa::path(post, path = "/api/management/v1/datasets", tag = "datasets",
    request_body = NewDatasetBody,
    responses((status = 201, body = DatasetView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn create_dataset(
    State(state): State<AppState>,
    Manager(editor): Manager,
    body: Bytes,
) -> Result<Response, ApiError> {
    let new = NewDataset::from_json(&parse_body(&body, None)?)?;
    let created = state.app.create_dataset(&editor, new).await?;
    Ok(json(StatusCode::CREATED, &DatasetView::from(created)))
}

/// `GET /datasets/{id}`: the dataset as its publishers see it.
#[utoipa::path(get, path = "/api/management/v1/datasets/{id}", tag = "datasets",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, body = DatasetView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(super) async fn get_dataset(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let d = state.app.managed_dataset(&editor, &id).await?;
    let mut view = DatasetView::from(d);
    view.refresh = state.app.refresh_state(&editor, &id).await?;
    Ok(json(StatusCode::OK, &view))
}

/// `DELETE /datasets/{id}`: puts the dataset in the trash (hidden everywhere, restorable until
/// purged after `--trash-days`).
#[utoipa::path(delete, path = "/api/management/v1/datasets/{id}", tag = "datasets",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, body = DatasetView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(super) async fn delete_dataset(
    state: State<AppState>,
    manager: Manager,
    id: Path<String>,
) -> Result<Response, ApiError> {
    lifecycle(state, manager, id, Lifecycle::Delete).await
}

async fn lifecycle(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
    change: Lifecycle,
) -> Result<Response, ApiError> {
    let d = state.app.change_lifecycle(&editor, &id, change).await?;
    Ok(json(StatusCode::OK, &DatasetView::from(d)))
}

/// `POST /datasets/{id}/restore`: takes the dataset out of the trash.
#[utoipa::path(post, path = "/api/management/v1/datasets/{id}/restore", tag = "datasets",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, body = DatasetView), (status = 409, body = ErrorBody)))]
pub(super) async fn restore_dataset(
    state: State<AppState>,
    manager: Manager,
    id: Path<String>,
) -> Result<Response, ApiError> {
    lifecycle(state, manager, id, Lifecycle::Restore).await
}

/// `POST /datasets/{id}/publish`: makes a dataset with a version public (or restricted).
#[utoipa::path(post, path = "/api/management/v1/datasets/{id}/publish", tag = "datasets",
    params(("id" = String, Path, description = "Dataset identifier")),
    request_body = PublishBody,
    responses((status = 200, body = DatasetView), (status = 400, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(super) async fn publish_dataset(
    state: State<AppState>,
    manager: Manager,
    id: Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&body, Some(json!({})))?;
    let bad = |message: String| ApiError::new(kleber_types::ErrorCode::InvalidRequestBody, message);
    let Value::Object(map) = &body else {
        return Err(bad(
            "the body must be a JSON object such as {\"visibility\": \"public\"}".to_owned()
        ));
    };
    if let Some(key) = map.keys().find(|k| k.as_str() != "visibility") {
        return Err(bad(format!("unknown key {key:?}; publishing takes only visibility")));
    }
    let visibility = match map.get("visibility") {
        None | Some(Value::Null) => Visibility::Public,
        Some(Value::String(v)) if v == "public" => Visibility::Public,
        Some(Value::String(v)) if v == "restricted" => Visibility::Restricted,
        Some(other) => {
            return Err(bad(format!(
                "visibility: {other} is not accepted; publish as \"public\" or \"restricted\" (unpublish makes a draft)"
            )));
        }
    };
    lifecycle(state, manager, id, Lifecycle::Publish(visibility)).await
}

/// `POST /datasets/{id}/unpublish`: back to draft.
#[utoipa::path(post, path = "/api/management/v1/datasets/{id}/unpublish", tag = "datasets",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, body = DatasetView), (status = 409, body = ErrorBody)))]
pub(super) async fn unpublish_dataset(
    state: State<AppState>,
    manager: Manager,
    id: Path<String>,
) -> Result<Response, ApiError> {
    lifecycle(state, manager, id, Lifecycle::Unpublish).await
}

/// `POST /datasets/{id}/archive`: read-only (imports and changes refused), still served.
#[utoipa::path(post, path = "/api/management/v1/datasets/{id}/archive", tag = "datasets",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, body = DatasetView), (status = 409, body = ErrorBody)))]
pub(super) async fn archive_dataset(
    state: State<AppState>,
    manager: Manager,
    id: Path<String>,
) -> Result<Response, ApiError> {
    lifecycle(state, manager, id, Lifecycle::Archive).await
}

/// `POST /datasets/{id}/unarchive`: writable again.
#[utoipa::path(post, path = "/api/management/v1/datasets/{id}/unarchive", tag = "datasets",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, body = DatasetView), (status = 409, body = ErrorBody)))]
pub(super) async fn unarchive_dataset(
    state: State<AppState>,
    manager: Manager,
    id: Path<String>,
) -> Result<Response, ApiError> {
    lifecycle(state, manager, id, Lifecycle::Unarchive).await
}

/// `PATCH /datasets/{id}/metadata`: changes metadata (keys in docs/publishing.md).
#[utoipa::path(patch, path = "/api/management/v1/datasets/{id}/metadata", tag = "datasets",
    params(("id" = String, Path, description = "Dataset identifier")),
    request_body(content = Object, description = "Metadata keys to change (`null` removes one): title, description (Markdown), themes, keywords, license, license_name, license_url, publisher, contact_name, contact_email, language, update_frequency, spatial, temporal_start, temporal_end, references, attributions, hvd_category"),
    responses((status = 200, body = DatasetView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(super) async fn edit_metadata(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&body, None)?;
    let d = state.app.edit_metadata(&editor, &id, &body).await?;
    Ok(json(StatusCode::OK, &DatasetView::from(d)))
}

/// `GET /datasets/{id}/attachments`.
#[utoipa::path(get, path = "/api/management/v1/datasets/{id}/attachments", tag = "attachments",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, body = [AttachmentView]), (status = 404, body = ErrorBody)))]
pub(super) async fn list_attachments(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let list = state.app.managed_attachments(&editor, &id).await?;
    let views: Vec<AttachmentView> = list.into_iter().map(AttachmentView::from).collect();
    Ok(json(StatusCode::OK, &views))
}

/// The `file_name` and `title` parameters of an attachment upload.
fn upload_params(query: Option<&str>) -> Result<(Option<String>, Option<String>), ApiError> {
    let (mut file_name, mut title) = (None, None);
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "file_name" => file_name = Some(value.into_owned()),
            "title" => title = Some(value.into_owned()),
            other => {
                let shown: String = other.chars().take(40).collect();
                return Err(ApiError::bad_param(format!(
                    "Unknown API parameter {shown:?} for an attachment; accepted: file_name, title."
                )));
            }
        }
    }
    Ok((file_name, title))
}

async fn put_attachment(
    state: &AppState,
    editor: &kleber_app::manage::Editor,
    id: &str,
    replace: Option<String>,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (file_name, title) = upload_params(query)?;
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if content_type.as_deref().is_some_and(|t| t.starts_with("multipart/")) {
        return Err(ApiError::new(
            kleber_types::ErrorCode::InvalidRequestBody,
            "send the file itself as the body (curl --data-binary @file -H 'Content-Type: ...'), with its name in ?file_name=; multipart forms are not read",
        ));
    }
    let file_name = match (file_name, &replace) {
        (Some(name), _) => name,
        (None, Some(existing)) => existing.clone(),
        (None, None) => {
            return Err(ApiError::bad_param(
                "Missing API parameter file_name: the attachment's file name (e.g. ?file_name=notice.pdf).",
            ));
        }
    };
    let upload = AttachmentUpload { file_name, title, content_type, replace };
    let stream = Box::pin(body.into_data_stream());
    let attachment = state.app.put_attachment(editor, id, upload, stream).await?;
    Ok(json(StatusCode::OK, &AttachmentView::from(attachment)))
}

/// `POST /datasets/{id}/attachments?file_name=NAME[&title=TITLE]`: adds a file (the raw
/// body, its `Content-Type` kept), up to `--max-attachment-mb`.
#[utoipa::path(post, path = "/api/management/v1/datasets/{id}/attachments", tag = "attachments",
    params(("id" = String, Path, description = "Dataset identifier"),
        ("file_name" = String, Query, description = "The file's name; its identifier is made from it"),
        ("title" = Option<String>, Query, description = "A title (default: the file name)")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file"),
    responses((status = 200, body = AttachmentView), (status = 400, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub(super) async fn add_attachment(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    put_attachment(&state, &editor, &id, None, query.as_deref(), &headers, body).await
}

/// `PUT /datasets/{id}/attachments/{attachment_id}`: replaces an attachment's file.
#[utoipa::path(put, path = "/api/management/v1/datasets/{id}/attachments/{attachment_id}",
    tag = "attachments",
    params(("id" = String, Path, description = "Dataset identifier"),
        ("attachment_id" = String, Path, description = "Attachment identifier"),
        ("file_name" = Option<String>, Query, description = "A new file name"),
        ("title" = Option<String>, Query, description = "A new title")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file"),
    responses((status = 200, body = AttachmentView), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody)))]
pub(super) async fn replace_attachment(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path((id, attachment)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    put_attachment(&state, &editor, &id, Some(attachment), query.as_deref(), &headers, body).await
}

/// `DELETE /datasets/{id}/attachments/{attachment_id}`.
#[utoipa::path(delete, path = "/api/management/v1/datasets/{id}/attachments/{attachment_id}",
    tag = "attachments",
    params(("id" = String, Path, description = "Dataset identifier"),
        ("attachment_id" = String, Path, description = "Attachment identifier")),
    responses((status = 200, description = "`{\"removed\": id}`"), (status = 404, body = ErrorBody)))]
pub(super) async fn remove_attachment(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path((id, attachment)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    state.app.remove_attachment(&editor, &id, &attachment).await?;
    Ok(json(StatusCode::OK, &json!({"removed": attachment})))
}

/// `GET /datasets/{id}/versions`: newest first.
#[utoipa::path(get, path = "/api/management/v1/datasets/{id}/versions", tag = "versions",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, body = [VersionView]), (status = 404, body = ErrorBody)))]
pub(super) async fn list_versions(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let list = state.app.versions(&editor, &id).await?;
    let views: Vec<VersionView> = list.into_iter().map(VersionView::from).collect();
    Ok(json(StatusCode::OK, &views))
}

/// `POST /datasets/{id}/versions/{number}/restore`: publishes version `number`'s files as a
/// new current version.
#[utoipa::path(post, path = "/api/management/v1/datasets/{id}/versions/{number}/restore",
    tag = "versions",
    params(("id" = String, Path, description = "Dataset identifier"),
        ("number" = i64, Path, description = "The version to restore")),
    responses((status = 200, body = [VersionView]), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(super) async fn restore_version(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path((id, number)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let number: i64 = number.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        let shown: String = number.chars().take(20).collect();
        ApiError::bad_param(format!("{shown:?} is not a version number (1, 2, ...)."))
    })?;
    state.app.restore_version(&editor, &id, number).await?;
    let list = state.app.versions(&editor, &id).await?;
    let views: Vec<VersionView> = list.into_iter().map(VersionView::from).collect();
    Ok(json(StatusCode::OK, &views))
}

/// `PUT`'s body of a version's comment: `{"comment": "Correction des coordonnées de 3
/// stations"}`, or `{"comment": null}` (or `""`) to remove it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommentBody {
    /// One line of at most 500 characters, or null.
    pub comment: Option<String>,
}

/// `PUT /datasets/{id}/versions/{number}/comment`: writes (or removes) version `number`'s
/// comment; answers the version as listed.
#[utoipa::path(put, path = "/api/management/v1/datasets/{id}/versions/{number}/comment",
    tag = "versions",
    params(("id" = String, Path, description = "Dataset identifier"),
        ("number" = i64, Path, description = "The version")),
    request_body = CommentBody,
    responses((status = 200, body = VersionView),
        (status = 400, description = "Not `{\"comment\": text or null}`, longer than 500 characters, or holding a control character (InvalidRequestBody)", body = ErrorBody),
        (status = 404, description = "Unknown dataset, or no such version (VersionNotFound names the versions that exist)", body = ErrorBody),
        (status = 409, description = "The dataset is archived or in the trash", body = ErrorBody)))]
pub(super) async fn put_version_comment(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path((id, number)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let number: i64 = number.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        let shown: String = number.chars().take(20).collect();
        ApiError::bad_param(format!("{shown:?} is not a version number (1, 2, ...)."))
    })?;
    let body = parse_body(&bytes, None)?;
    let comment = match body.get("comment") {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Null) => None,
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequestBody,
                "the body must be {\"comment\": \"one line of text\"} (or {\"comment\": null} to remove it)",
            ));
        }
    };
    let version = state.app.set_version_comment(&editor, &id, number, comment.as_deref()).await?;
    Ok(json(StatusCode::OK, &VersionView::from(version)))
}

/// `POST /datasets/{id}/push-keys`: a new push key for the real-time push API, shown once.
#[utoipa::path(post, path = "/api/management/v1/datasets/{id}/push-keys", tag = "datasets",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 201, description = "`{\"push_key\": \"push_...\"}`, shown this once"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn create_push_key(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let key = state.app.create_push_key(&editor, &id).await?;
    Ok(json(StatusCode::CREATED, &serde_json::json!({ "push_key": key })))
}

/// `DELETE /datasets/{id}/push-keys`: revokes every push key of the dataset.
#[utoipa::path(delete, path = "/api/management/v1/datasets/{id}/push-keys", tag = "datasets",
    params(("id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, description = "`{\"revoked\": N}`"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn revoke_push_keys(
    State(state): State<AppState>,
    Manager(editor): Manager,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let revoked = state.app.revoke_push_keys(&editor, &id).await?;
    Ok(json(StatusCode::OK, &serde_json::json!({ "revoked": revoked })))
}
