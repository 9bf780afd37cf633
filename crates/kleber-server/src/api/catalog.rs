//! `/catalog/datasets` and `/catalog/datasets/{id}`.
//!
//! The catalog takes the same ODSQL as records (`where`, `order_by`, `group_by`, `select`,
//! `refine`, `exclude`) over the catalog table of `kleber_query::catalog`. Bare strings and
//! `search()` in `where` go to the Tantivy index. Without `select` or `group_by` the results are
//! dataset objects; with them, flat rows as `/records` returns. Without `order_by`, a full-text
//! query ranks by relevance, otherwise datasets come by identifier.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use bytes::Bytes;
use kleber_app::CatalogPage;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::http::PublicUrl;
use crate::http::resolve::Resolution;
use crate::shared::dataset_object::dataset_object;
use crate::shared::json::json_response;
use crate::shared::params::Params;
use crate::shared::request_context;
use crate::state::AppState;

/// `GET /catalog/datasets`: the published datasets matching the query, paged.
#[utoipa::path(get, path = "/api/explore/v2.1/catalog/datasets", tag = "Explore v2.1",
    params(crate::openapi::params::CatalogDatasets),
    responses((status = 200, description = "A page of the datasets the caller may see", body = crate::openapi::schemas::ResultsDatasetV21, content_type = "application/json")))]
pub async fn list_datasets(
    State(state): State<AppState>,
    resolution: Resolution,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let (limit, offset) = params.page(params.grouped())?;
    let ctx = request_context(&resolution, &params)?;
    check_flags(&params)?;
    let view = resolution.catalog(&state).await?;
    let key = resolution.catalog_key(&view, query.as_deref());
    let compute = async {
        let query = params.records_query(Some(limit), offset);
        let page = state.app.search_catalog(&ctx, &view, &query).await?;
        Ok::<_, ApiError>(Bytes::from(catalog_body(&page)?))
    };
    Ok(json_response(state.app.cached(key, compute).await?))
}

/// Checks the boolean parameters Opendatasoft's schema gives the catalog and dataset routes
/// (`include_links`, `include_app_metas`): a value that is not a boolean is refused rather
/// than ignored. Kleber has no application metadata to add.
pub(crate) fn check_flags(params: &Params) -> Result<(), ApiError> {
    params.bool("include_links", false)?;
    params.bool("include_app_metas", false)?;
    Ok(())
}

/// The v2.1 body of a catalog page.
fn catalog_body(page: &CatalogPage) -> Result<Vec<u8>, ApiError> {
    Ok(match page {
        CatalogPage::Rows(page) => {
            let mut body = format!("{{\"total_count\":{},\"results\":", page.total).into_bytes();
            body.extend_from_slice(&page.json_array()?);
            body.push(b'}');
            body
        }
        CatalogPage::Datasets { total, datasets } => {
            let results: Vec<Value> = datasets.iter().map(dataset_object).collect();
            json!({"total_count": total, "results": results}).to_string().into_bytes()
        }
    })
}

/// `GET /catalog/datasets/{id}`: one dataset's object.
#[utoipa::path(get, path = "/api/explore/v2.1/catalog/datasets/{dataset_id}", tag = "Explore v2.1",
    params(("dataset_id" = String, Path, description = "Dataset identifier"), crate::openapi::params::Dataset),
    responses((status = 200, description = "The dataset", body = crate::openapi::schemas::DatasetV21, content_type = "application/json")))]
pub async fn get_dataset(
    State(state): State<AppState>,
    resolution: Resolution,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    check_flags(&params)?;
    let version = resolution.dataset(&state, &id).await?;
    Ok(json_response(dataset_object(version.record()).to_string()))
}

/// `GET /catalog/datasets/{id}/attachments`: the files attached to the dataset (added through
/// the management API), with the dataset's own visibility: `_links` to itself and, for each,
/// its `href` and `metas` (`id`, `title`, `mimetype` and `mime-type`, `url` as
/// `odsfile://<file name>`), as Opendatasoft answers.
#[utoipa::path(get, path = "/api/explore/v2.1/catalog/datasets/{dataset_id}/attachments", tag = "Explore v2.1",
    params(("dataset_id" = String, Path, description = "Dataset identifier")),
    responses((status = 200, description = "The dataset's attachments", body = crate::openapi::schemas::Attachments, content_type = "application/json")))]
pub async fn list_attachments(
    State(state): State<AppState>,
    resolution: Resolution,
    base: PublicUrl,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let version = resolution.dataset(&state, &id).await?;
    let here = format!("{}/catalog/datasets/{}/attachments", super::V2_1, version.id());
    let attachments: Vec<Value> = version
        .record()
        .attachments
        .iter()
        .map(|a| {
            json!({
                "href": base.url(&format!("{here}/{}", a.id)),
                "metas": {"id": a.id, "title": a.title, "mimetype": a.mimetype,
                          "mime-type": a.mimetype, "url": format!("odsfile://{}", a.file_name)},
            })
        })
        .collect();
    Ok(json_response(
        json!({"_links": [{"href": base.url(&here), "rel": "self"}], "attachments": attachments})
            .to_string(),
    ))
}

/// `GET /catalog/datasets/{id}/attachments/{attachment_id}`: the file, with its content type
/// and `Content-Disposition: attachment; filename=...`, streamed from disk.
#[utoipa::path(get, path = "/api/explore/v2.1/catalog/datasets/{dataset_id}/attachments/{attachment_id}", tag = "Explore v2.1",
    params(("dataset_id" = String, Path, description = "Dataset identifier"), ("attachment_id" = String, Path, description = "Attachment identifier")),
    responses((status = 200, description = "The attached file", content_type = "application/octet-stream")))]
pub async fn get_attachment(
    State(state): State<AppState>,
    resolution: Resolution,
    Path((id, attachment)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    use axum::http::{HeaderValue, header};
    let version = resolution.dataset(&state, &id).await?;
    let (found, path) = state.app.attachment_file(&version, &attachment)?;
    let file = tokio::fs::File::open(&path).await.map_err(ApiError::internal)?;
    let stream = futures::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut buffer = vec![0u8; 64 << 10];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok::<_, std::io::Error>(Bytes::from(buffer)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let mut response = Response::new(axum::body::Body::from_stream(stream));
    let headers = response.headers_mut();
    let content_type = HeaderValue::from_str(&found.mimetype)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(found.size.max(0).cast_unsigned()));
    if let Ok(value) = HeaderValue::from_str(&content_disposition(&found.file_name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded name>`
/// (RFC 6266).
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}
