//! The Search API v1 (`/api/records/1.0/...`, `/api/datasets/1.0/...`), Opendatasoft's legacy
//! API still called by apps, widgets, odsclient and harvesters.
//!
//! v1 requests are translated to the same [`RecordsQuery`](kleber_query::RecordsQuery) the
//! Explore v2.1 handlers plan (`filters.rs`: `q`, `refine.X`, `exclude.X`, `disjunctive.X`,
//! `geofilter.*`, `sort`, `fields`), so both APIs answer from one engine. Responses keep the
//! v1 shapes (`nhits`, `parameters`, `records`, `facet_groups`; `response.rs`) and errors the
//! v1 body `{"errorcode", "error"}` ([`V1Error`]).

pub mod analyze;
pub mod datasets;
pub mod download_url;
pub mod filters;
pub mod response;
pub mod search;

use axum::routing::get;

use crate::http::routes::{DATASET, Reads, RouteDef, def};

/// The v1 routes (mounted at the root of the server) and what each reads.
pub fn routes() -> Vec<RouteDef> {
    let by_param = Reads::Dataset(crate::http::routes::IdFrom::Query("dataset"));
    vec![
        def("/api/records/1.0/search", by_param, get(search::search_records)),
        def("/api/records/1.0/download", by_param, get(search::download_records)),
        def("/api/records/1.0/analyze", by_param, get(analyze::analyze)),
        def("/api/records/1.0/boundingbox", by_param, get(analyze::bounding_box)),
        def("/api/records/1.0/geocluster", by_param, get(analyze::geocluster)),
        def("/api/datasets/1.0/search", Reads::Catalog, get(datasets::search_datasets)),
        def("/api/datasets/1.0/{id}", DATASET, get(datasets::get_dataset)),
        def("/api/datasets/1.0/{id}/records/{record_id}", DATASET, get(search::get_record)),
        def("/api/datasets/1.0/{id}/attachments/{attachment}", DATASET, get(datasets::attachment)),
        def(
            "/api/datasets/1.0/{id}/alternative_exports/{attachment}",
            DATASET,
            get(datasets::alternative_export),
        ),
        def("/explore/dataset/{id}/download", DATASET, get(download_url::download)),
    ]
}

pub use crate::shared::v1_error::{V1Error, V1Result};
