//! The management API (`/api/management/v1`): what publishers do from a script — datasets
//! (create, read, describe, delete and restore, publish, archive), their attachments and
//! versions, organizations, members, invitations and API keys — and the audit log.
//!
//! Every route is mounted under [`MANAGEMENT_V1`] behind [`crate::http::management::guard`]
//! (an API key, or a session with its CSRF token), gets who acts from the
//! [`crate::http::management::Manager`] extractor, and calls one `kleber_app` use case, which
//! decides what the caller may do (`kleber_app::manage`). Answers are JSON, `private,
//! no-store`; errors are the usual envelope (docs/errors.md). Its OpenAPI 3.1 document,
//! generated from the annotations of these handlers by utoipa, is served at
//! `/api/management/v1/openapi.json`. See docs/publishing.md.

pub mod audit;
pub mod datasets;
pub mod derivation;
pub mod harvests;
pub mod orgs;
pub mod portal;
pub mod processors;
pub mod retention;
pub mod sources;
pub mod uploads;
pub mod webhooks;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use kleber_store::{Attachment, ManagedDataset, VersionInfo};
use serde::Serialize;
use serde_json::Value;
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::http::routes::{Reads, RouteDef, def};
use derivation::DerivationDoc;
use harvests::HarvestsDoc;
use processors::ProcessorsDoc;
use retention::RetentionDocs;
use sources::SourcesDoc;
use webhooks::WebhooksDoc;

/// Where the management API is mounted.
pub const MANAGEMENT_V1: &str = "/api/management/v1";

/// Whether a request to `path` sends a file its handler streams to disk (an upload, an
/// attachment), so the listener bounds its body by `--max-upload-mb` instead of
/// `--max-body-kb`; the handlers apply their own limits while they write.
pub fn streams_body(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    if path == uploads::UPLOADS_PATH {
        return true;
    }
    let Some(rest) = path.strip_prefix(MANAGEMENT_V1).and_then(|r| r.strip_prefix("/datasets/"))
    else {
        return false;
    };
    let mut parts = rest.split('/');
    let (_, kind) = (parts.next(), parts.next());
    kind == Some("attachments") && parts.count() <= 1
}

/// The management routes, relative to [`MANAGEMENT_V1`]: every one reads what only its
/// handler decides ([`Reads::Private`]), so none is tagged or cached.
pub fn routes() -> Vec<RouteDef> {
    use datasets as d;
    let p = Reads::Private;
    vec![
        def("/openapi.json", p, get(openapi)),
        def("/audit", p, get(audit::get_audit)),
        def("/licences", p, get(d::list_licences)),
        def("/datasets", p, get(d::list_datasets).post(d::create_dataset)),
        def("/datasets/{id}", p, get(d::get_dataset).delete(d::delete_dataset)),
        def("/datasets/{id}/metadata", p, axum::routing::patch(d::edit_metadata)),
        def("/datasets/{id}/restore", p, post(d::restore_dataset)),
        def("/datasets/{id}/publish", p, post(d::publish_dataset)),
        def("/datasets/{id}/unpublish", p, post(d::unpublish_dataset)),
        def("/datasets/{id}/archive", p, post(d::archive_dataset)),
        def("/datasets/{id}/unarchive", p, post(d::unarchive_dataset)),
        def("/datasets/{id}/attachments", p, get(d::list_attachments).post(d::add_attachment)),
        def(
            "/datasets/{id}/attachments/{attachment_id}",
            p,
            put(d::replace_attachment).delete(d::remove_attachment),
        ),
        def("/datasets/{id}/versions", p, get(d::list_versions).post(uploads::publish)),
        def("/datasets/{id}/versions/{number}/restore", p, post(d::restore_version)),
        def("/datasets/{id}/versions/{number}/comment", p, put(d::put_version_comment)),
        def("/datasets/{id}/push-keys", p, post(d::create_push_key).delete(d::revoke_push_keys)),
        def("/organizations", p, get(orgs::list_orgs).post(orgs::create_org)),
        def("/organizations/{org}/members", p, get(orgs::list_members)),
        def(
            "/organizations/{org}/members/{email}",
            p,
            put(orgs::set_member).delete(orgs::remove_member),
        ),
        def("/organizations/{org}/invitations", p, post(orgs::invite)),
        def("/organizations/{org}/keys", p, get(orgs::list_keys).post(orgs::create_key)),
        def("/organizations/{org}/keys/{key_id}", p, axum::routing::delete(orgs::revoke_key)),
        def("/portal/themes", p, get(portal::get_themes).put(portal::put_themes)),
        def("/portal/home", p, get(portal::get_home).put(portal::put_home)),
        def("/portal/about", p, get(portal::get_about).put(portal::put_about)),
        def("/portal/featured", p, get(portal::get_featured).put(portal::put_featured)),
    ]
}

/// The error envelope of every API (docs/errors.md).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The stable code (`InvalidRequestBody`, `Conflict`, `Forbidden`, ...).
    pub error_code: String,
    /// What went wrong and how to fix it.
    pub message: String,
}

/// A dataset as its publishers see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DatasetView {
    /// Identifier (URL slug).
    pub dataset_id: String,
    /// Immutable uid.
    pub dataset_uid: String,
    /// The organization that publishes it.
    pub organization: String,
    /// `draft`, `public` or `restricted`.
    pub visibility: String,
    /// Read-only: imports and changes refused, still downloadable.
    pub archived: bool,
    /// When it was put in the trash (RFC 3339), if it is there; restorable until purged.
    pub deleted_at: Option<String>,
    /// The version served, if it has one.
    pub current_version: Option<i64>,
    /// Title.
    pub title: String,
    /// Description as served (HTML rendered from Markdown and sanitised).
    pub description: Option<String>,
    /// The Markdown the description was written in.
    pub description_markdown: Option<String>,
    /// Other metadata (Opendatasoft's `metas.default` keys).
    #[schema(value_type = Object)]
    pub metas: serde_json::Map<String, Value>,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When its data or metadata last changed (RFC 3339).
    pub modified: String,
    /// Its remote source's refresh state, when it has a source: whether the last run failed
    /// (the version served stayed), the schedule, the next and the last run (docs/sources.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub refresh: Option<kleber_app::sources::RefreshState>,
}

impl From<ManagedDataset> for DatasetView {
    fn from(d: ManagedDataset) -> Self {
        DatasetView {
            dataset_id: d.id,
            dataset_uid: d.uid,
            organization: d.organization,
            visibility: d.visibility.as_str().to_owned(),
            archived: d.archived,
            deleted_at: d.deleted_at,
            current_version: d.current_version,
            title: d.title,
            description: d.description,
            description_markdown: d.description_source,
            metas: d.metas,
            created_at: d.created_at,
            modified: d.modified,
            refresh: None,
        }
    }
}

/// A file attached to a dataset.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttachmentView {
    /// Identifier within the dataset.
    pub id: String,
    /// Title.
    pub title: String,
    /// File name (sent in `Content-Disposition`).
    pub file_name: String,
    /// Content type.
    pub mimetype: String,
    /// Size in bytes.
    pub size: i64,
    /// When it was added (RFC 3339).
    pub created_at: String,
    /// When its file was last replaced (RFC 3339).
    pub updated_at: String,
}

impl From<Attachment> for AttachmentView {
    fn from(a: Attachment) -> Self {
        AttachmentView {
            id: a.id,
            title: a.title,
            file_name: a.file_name,
            mimetype: a.mimetype,
            size: a.size,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// One version of a dataset.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionView {
    /// Version number.
    pub number: i64,
    /// When it was published (RFC 3339).
    pub created_at: String,
    /// Records.
    pub records: i64,
    /// Rows of the source that were rejected.
    pub rejected: i64,
    /// The source file's name.
    pub source: Option<String>,
    /// Who published it (`operator:NAME`, `user:ID`).
    pub actor: Option<String>,
    /// The version whose files it restored, if it is a restore.
    pub restored_from: Option<i64>,
    /// Whether it is the version served.
    pub current: bool,
    /// Records added since the previous version (docs/versions.md), when known.
    pub records_added: Option<i64>,
    /// Records removed since the previous version, when known.
    pub records_removed: Option<i64>,
    /// Records changed since the previous version, when known.
    pub records_changed: Option<i64>,
    /// Fields added, removed or retyped since the previous version.
    pub fields_changed: Vec<String>,
    /// Whether its data is gone (pruned); its entry is kept.
    pub pruned: bool,
    /// The publisher's comment on it (docs/versions.md#comments).
    pub comment: Option<String>,
}

impl From<VersionInfo> for VersionView {
    fn from(v: VersionInfo) -> Self {
        VersionView {
            number: v.number,
            created_at: v.created_at,
            records: v.records,
            rejected: v.rejected,
            source: v.source,
            actor: v.actor,
            restored_from: v.restored_from,
            current: v.current,
            records_added: v.summary.map(|s| s.added),
            records_removed: v.summary.map(|s| s.removed),
            records_changed: v.summary.map(|s| s.changed),
            fields_changed: v.fields_changed,
            pruned: v.pruned,
            comment: v.comment,
        }
    }
}

/// A JSON answer with `status`.
pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => {
            let mut response = (status, body).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            response
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// A JSON body, or `InvalidRequestBody` saying where it is malformed; an empty body is
/// `default` when given.
pub(crate) fn parse_body(bytes: &[u8], default: Option<Value>) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return default.ok_or_else(|| {
            ApiError::new(
                kleber_types::ErrorCode::InvalidRequestBody,
                "the request body is empty: send a JSON object (Content-Type: application/json)",
            )
        });
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            kleber_types::ErrorCode::InvalidRequestBody,
            format!(
                "the request body is not valid JSON: {e} (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })
}

/// Adds the API-key security scheme to the document, and the error answers every
/// authenticated operation may give (a bad parameter or body, no or bad credentials, a
/// refusal, an unknown dataset, a state that refuses the change) where its annotation does
/// not list them.
struct Security;

impl Security {
    fn add_errors(doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let common = [
            ("400", "Bad parameter or body (InvalidRESTParameterError, InvalidRequestBody)"),
            ("401", "No credentials, or an invalid API key"),
            ("403", "Not allowed (a role, a scope, or the session's CSRF token is missing)"),
            ("404", "Unknown dataset, organization, member, key, attachment or version"),
            ("409", "The resource's state refuses the change (Conflict)"),
            ("413", "The body is too large (PayloadTooLarge)"),
        ];
        for (path, item) in &mut doc.paths.paths {
            if path.ends_with("/openapi.json") {
                continue;
            }
            let operations = [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.patch.as_mut(),
                item.delete.as_mut(),
            ];
            for operation in operations.into_iter().flatten() {
                for (status, description) in common {
                    operation.responses.responses.entry(status.to_owned()).or_insert_with(|| {
                        ResponseBuilder::new()
                            .description(description)
                            .content(
                                "application/json",
                                ContentBuilder::new()
                                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                                    .build(),
                            )
                            .build()
                            .into()
                    });
                }
            }
        }
    }
}

impl utoipa::Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        Security::add_errors(doc);
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apikey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Apikey <key>` (a key with the write scope for datasets, admin for organizations); or a portal session cookie with the X-CSRF-Token header on changes",
            ))),
        );
    }
}

/// The OpenAPI document of the management API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Kleber management API", version = "1",
         description = "Publish and administer datasets of a Kleber portal. See docs/publishing.md."),
    modifiers(
        &SourcesDoc,
        &HarvestsDoc,
        &ProcessorsDoc,
        &DerivationDoc,
        &RetentionDocs,
        &WebhooksDoc,
        &Security
    ),
    security(("apikey" = [])),
    paths(
        openapi,
        audit::get_audit,
        datasets::list_licences,
        datasets::list_datasets, datasets::create_dataset,
        datasets::get_dataset, datasets::delete_dataset,
        datasets::edit_metadata,
        datasets::restore_dataset, datasets::publish_dataset, datasets::unpublish_dataset,
        datasets::archive_dataset, datasets::unarchive_dataset,
        datasets::list_attachments, datasets::add_attachment,
        datasets::replace_attachment, datasets::remove_attachment,
        datasets::list_versions, datasets::restore_version, datasets::put_version_comment,
        datasets::create_push_key, datasets::revoke_push_keys,
        uploads::create_upload, uploads::get_upload, uploads::put_schema, uploads::publish,
        orgs::list_orgs, orgs::create_org,
        orgs::list_members, orgs::set_member, orgs::remove_member,
        orgs::invite,
        orgs::list_keys, orgs::create_key, orgs::revoke_key,
        portal::get_themes, portal::put_themes, portal::get_home, portal::put_home,
        portal::get_about, portal::put_about, portal::get_featured, portal::put_featured,
    ),
    components(schemas(ErrorBody, DatasetView, AttachmentView, VersionView,
        datasets::LicenceView, datasets::NewDatasetBody, datasets::PublishBody,
        datasets::CommentBody,
        orgs::OrgView, orgs::NewOrgBody, orgs::MemberView, orgs::RoleBody, orgs::InviteBody,
        orgs::InvitationView, orgs::KeyView, orgs::NewKeyBody, orgs::CreatedKeyView,
        portal::ThemeView, portal::ThemesBody, portal::TextBody, portal::TextView,
        portal::FeaturedBody)),
    tags((name = "datasets"), (name = "uploads"), (name = "attachments"), (name = "versions"),
         (name = "organizations"), (name = "audit"), (name = "portal"), (name = "meta"),
         (name = "sources"), (name = "processors"), (name = "derivations")),
)]
pub struct ManagementApi;

/// `GET /api/management/v1/openapi.json`: this API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/api/management/v1/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document")))]
async fn openapi() -> Response {
    match ManagementApi::openapi().to_json() {
        Ok(body) => {
            let mut response = (StatusCode::OK, body).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
            response
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// How often the server purges the trash.
pub const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Purges the datasets deleted more than `trash_days` days ago now, then every
/// [`PURGE_EVERY`], for as long as the runtime runs.
pub fn spawn_trash_purge(app: std::sync::Arc<kleber_app::App>, trash_days: u32) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PURGE_EVERY);
        loop {
            every.tick().await;
            match app.purge_trash(trash_days).await {
                Ok(purged) if !purged.is_empty() => {
                    tracing::info!(datasets = %purged.join(", "), "purged from the trash");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not purge the trash"),
            }
        }
    });
}

#[cfg(test)]
mod streamed_paths {
    use super::streams_body;

    #[test]
    fn uploads_and_attachments_stream_their_bodies_and_nothing_else_does() {
        for path in [
            "/api/management/v1/uploads",
            "/api/management/v1/uploads/",
            "/api/management/v1/datasets/velos/attachments",
            "/api/management/v1/datasets/velos/attachments/notice_txt",
        ] {
            assert!(streams_body(path), "{path}");
        }
        for path in [
            "/api/management/v1/datasets",
            "/api/management/v1/datasets/velos/metadata",
            "/api/management/v1/datasets/attachments",
            "/api/management/v1/datasets/velos/attachments/a/b",
            "/api/explore/v2.1/catalog/datasets/velos/attachments",
            "/api/management/v1/uploads/abc/schema",
        ] {
            assert!(!streams_body(path), "{path}");
        }
    }
}
