//! The Explore API v2.1 (`/api/explore/v2.1`).

pub mod catalog;
pub mod catalog_exports;
pub mod catalog_feeds;
pub mod clusters;
pub mod datapackage;
pub mod dcat;
pub mod exports;
pub mod feeds;
pub mod management;
pub mod push;
pub mod records;
pub mod sse;
pub mod versions;

use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use crate::http::PublicUrl;
use crate::http::routes::{DATASET, Reads, RouteDef, def};
use crate::shared::json::json_response;

/// Where the v2.1 API is mounted.
pub const V2_1: &str = "/api/explore/v2.1";

/// The routes of Explore v2.1, relative to [`V2_1`], and what each reads.
pub fn routes() -> Vec<RouteDef> {
    let mut routes = vec![
        def("/", Reads::Fixed, get(root)),
        def("/catalog", Reads::Catalog, get(catalog_root)),
        def("/catalog/datasets", Reads::Catalog, get(catalog::list_datasets)),
        def("/catalog/facets", Reads::Catalog, get(crate::shared::facets::get_catalog_facets)),
        def(
            "/catalog/datasets/{id}/facets",
            DATASET,
            get(crate::shared::facets::get_records_facets),
        ),
        def("/catalog/datasets/{id}", DATASET, get(catalog::get_dataset)),
        def("/catalog/datasets/{id}/records", DATASET, get(records::get_records)),
        def("/catalog/datasets/{id}/records/{record_id}", DATASET, get(records::get_record)),
        def("/catalog/datasets/{id}/attachments", DATASET, get(catalog::list_attachments)),
        def(
            "/catalog/datasets/{id}/attachments/{attachment_id}",
            DATASET,
            get(catalog::get_attachment),
        ),
        def("/catalog/datasets/{id}/clusters", DATASET, get(clusters::get_clusters)),
        def("/catalog/datasets/{id}/exports", DATASET, get(exports::list_export_formats)),
        def("/catalog/datasets/{id}/exports/{format}", DATASET, get(exports::export_records)),
        // Versions and changes (docs/versions.md).
        def("/catalog/datasets/{id}/versions", DATASET, get(versions::list_versions)),
        def("/catalog/datasets/{id}/changes", DATASET, get(versions::get_changes)),
        // Change feeds (docs/feeds.md): Atom feeds of versions and the changes stream.
        def("/catalog/datasets/{id}/versions.atom", DATASET, get(feeds::dataset_feed)),
        def("/catalog/versions.atom", Reads::Catalog, get(feeds::catalog_feed)),
        def("/catalog/datasets/{id}/changes/stream", Reads::Private, get(sse::changes_stream)),
        // Data Package, RSS and data.json (docs/interoperability.md).
        def("/catalog/datasets/{id}/datapackage.json", DATASET, get(datapackage::get_datapackage)),
        def("/catalog/exports/rss", Reads::Catalog, get(catalog_feeds::export_rss)),
        def("/catalog/exports/data.json", Reads::Catalog, get(catalog_feeds::export_data_json)),
        def("/catalog/exports", Reads::Catalog, get(catalog_exports::list_catalog_export_formats)),
        def("/catalog/exports/{format}", Reads::Catalog, get(catalog_exports::export_catalog)),
    ];
    routes.extend(dcat::routes());
    routes
}

/// Routes at the root of the site: `/data.json`, where Project Open Data harvesters look.
pub fn root_routes() -> Vec<RouteDef> {
    vec![def("/data.json", Reads::Catalog, get(catalog_feeds::export_data_json))]
}

#[utoipa::path(get, path = "/api/explore/v2.1", tag = "Explore v2.1",
    responses((status = 200, description = "Links to the catalog", body = crate::openapi::schemas::ExportLinks, content_type = "application/json")))]
async fn root(base: PublicUrl) -> Response {
    json_response(
        json!({"links": [{"href": base.url(&format!("{V2_1}/catalog")), "rel": "catalog"}]})
            .to_string(),
    )
}

#[utoipa::path(get, path = "/api/explore/v2.1/catalog", tag = "Explore v2.1",
    responses((status = 200, description = "Links to the datasets", body = crate::openapi::schemas::ExportLinks, content_type = "application/json")))]
async fn catalog_root(base: PublicUrl) -> Response {
    json_response(
        json!({"links": [
            {"href": base.url(&format!("{V2_1}/catalog/datasets")), "rel": "datasets"},
        ]})
        .to_string(),
    )
}
