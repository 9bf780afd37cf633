//! Uploads and publications of the management API (`/api/management/v1`, docs/publishing.md):
//!
//! - `POST /uploads`: the file as the raw body (its name in `?filename=`, optional) or as the
//!   `file` part of a `multipart/form-data` form, streamed to disk; answers `201` with the
//!   upload and its preview ([`kleber_app::uploads::Upload`]);
//! - `GET /uploads/{id}`: the upload again;
//! - `PUT /uploads/{id}/schema`: new schema overrides ([`kleber_app::import::SchemaEdit`]),
//!   answered with the new preview;
//! - `POST /datasets/{id}/versions` with `{"upload": ..., "accept_rejected", "organization",
//!   "title", "visibility", "comment"}`: publishes the upload as the dataset's new version,
//!   with the publisher's comment on it (docs/versions.md#comments).
//!
//! The routes sit behind the management API's guard ([`crate::http::management::guard`]): an
//! API key, or a portal session with its CSRF token in the `X-CSRF-Token` header on every
//! change. Authorization itself is the application layer's ([`kleber_app::policy`]). Answers are `Cache-Control: private,
//! no-store`.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use kleber_app::uploads::{BodyError, PublishUpload};
use kleber_types::ErrorCode;

use crate::error::ApiError;
use crate::http::resolve::Caller;
use crate::http::routes::{Reads, RouteDef, def};
use crate::state::AppState;

/// The path of uploads, under the management API (the listener gives it its own body limit).
pub const UPLOADS_PATH: &str = "/api/management/v1/uploads";

/// The routes, relative to `/api/management/v1`.
pub fn routes() -> Vec<RouteDef> {
    vec![
        def("/uploads", Reads::Private, post(create_upload).layer(DefaultBodyLimit::disable())),
        def("/uploads/{id}", Reads::Private, get(get_upload)),
        def("/uploads/{id}/schema", Reads::Private, put(put_schema)),
    ]
}

/// A JSON answer that no cache keeps.
fn private_json(status: StatusCode, value: &impl serde::Serialize) -> Response {
    let body = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}

/// Whether an error of the request body comes from the body's size limit.
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

fn body_error(e: &(dyn std::error::Error + 'static)) -> BodyError {
    if cut_at_limit(e) { BodyError::TooLarge } else { BodyError::Other(e.to_string()) }
}

fn raw_stream(body: Body) -> impl Stream<Item = Result<Bytes, BodyError>> + Unpin {
    body.into_data_stream().map(|chunk| chunk.map_err(|e| body_error(&e)))
}

fn filename_param(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "filename")
        .map(|(_, v)| v.chars().take(255).collect())
        .filter(|v: &String| !v.trim().is_empty())
}

/// `POST /api/management/v1/uploads`.
#[utoipa::path(post, path = "/api/management/v1/uploads", tag = "uploads",
    params(("filename" = Option<String>, Query, description = "The file's name (informative: the format comes from the content)")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file, as the raw body or the `file` part of a multipart/form-data form"),
    responses((status = 201, description = "The upload and its preview: format, encoding, delimiter, typed fields, first rows, rejected rows, counts"),
        (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody), (status = 413, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub(super) async fn create_upload(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Response, ApiError> {
    let ctx = caller.context();
    let max = state.app.upload_limits().max_bytes;
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > max) {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "The upload is larger than the {max} bytes this server accepts (--max-upload-mb)."
            ),
        ));
    }
    let multipart =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(
            |v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"),
        );
    let upload = if multipart {
        let mut form =
            axum::extract::Multipart::from_request(request, &state).await.map_err(|e| {
                ApiError::bad_param(format!("Invalid multipart form: {}", e.body_text()))
            })?;
        loop {
            let field = form
                .next_field()
                .await
                .map_err(|e| ApiError::bad_param(format!("Invalid multipart form: {e}")))?;
            let Some(field) = field else {
                return Err(ApiError::bad_param(
                    "The multipart form has no `file` part: send the file in a part named \
                     `file`.",
                ));
            };
            if field.name() != Some("file") {
                continue;
            }
            let name =
                field.file_name().map(str::to_owned).or_else(|| filename_param(query.as_deref()));
            let stream = Box::pin(field.map(|chunk| chunk.map_err(|e| body_error(&e))));
            break state.app.upload(&ctx, name, stream).await?;
        }
    } else {
        let stream = raw_stream(request.into_body());
        state.app.upload(&ctx, filename_param(query.as_deref()), stream).await?
    };
    Ok(private_json(StatusCode::CREATED, &upload))
}

/// `GET /api/management/v1/uploads/{id}`.
#[utoipa::path(get, path = "/api/management/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "Upload identifier")),
    responses((status = 200, description = "The upload and its preview"),
        (status = 401, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub(super) async fn get_upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let upload = state.app.get_upload(&caller.context(), &id).await?;
    Ok(private_json(StatusCode::OK, &upload))
}

fn json_body(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_param(format!("The request body is not valid JSON: {e}.")))
}

/// `PUT /api/management/v1/uploads/{id}/schema`.
#[utoipa::path(put, path = "/api/management/v1/uploads/{id}/schema", tag = "uploads",
    params(("id" = String, Path, description = "Upload identifier")),
    request_body(content = Object, description = "The schema overrides, replacing the previous ones: fields (type, label, description, facet, disjunctive, sort, hierarchical, separator), order, unique_id"),
    responses((status = 200, description = "The upload with its new preview"),
        (status = 400, body = super::ErrorBody), (status = 401, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub(super) async fn put_schema(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let schema = json_body(&body)?;
    let upload = state.app.set_upload_schema(&caller.context(), &id, schema).await?;
    Ok(private_json(StatusCode::OK, &upload))
}

/// `POST /api/management/v1/datasets/{id}/versions`.
#[utoipa::path(post, path = "/api/management/v1/datasets/{id}/versions", tag = "versions",
    params(("id" = String, Path, description = "Dataset identifier")),
    request_body(content = Object, description = "`{\"upload\": id, \"accept_rejected\", \"organization\", \"title\", \"visibility\", \"comment\"}` (`comment`: one line of at most 500 characters on the new version)"),
    responses((status = 201, description = "The new version: dataset_id, version, records_count, rejected_count"),
        (status = 400, body = super::ErrorBody), (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub(super) async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: PublishUpload = serde_json::from_value(json_body(&body)?).map_err(|e| {
        ApiError::bad_param(format!(
            "Invalid publication: {e}; expected {{\"upload\": \"<upload id>\", \
             \"accept_rejected\": false, \"organization\", \"title\", \"visibility\", \"comment\"}}."
        ))
    })?;
    let published = state.app.publish_upload(&caller.context(), &id, request).await?;
    Ok(private_json(StatusCode::CREATED, &published))
}
