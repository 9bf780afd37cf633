//! The Explore API v2.1 (`/api/explore/v2.1`).

pub mod catalog;
pub mod catalog_exports;
pub mod dataset_object;
pub mod exports;
pub mod facets;
pub mod params;
pub mod records;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kleber_export::{EncodeOptions, OutputColumn, RecordEncoder};
use serde_json::json;

use crate::state::AppState;

/// Where the v2.1 API is mounted.
pub const V2_1: &str = "/api/explore/v2.1";

/// The routes of Explore v2.1, relative to [`V2_1`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/catalog", get(catalog_root))
        .route("/catalog/datasets", get(catalog::list_datasets))
        .route("/catalog/facets", get(facets::get_catalog_facets))
        .route("/catalog/datasets/{id}/facets", get(facets::get_records_facets))
        .route("/catalog/datasets/{id}", get(catalog::get_dataset))
        .route("/catalog/datasets/{id}/records", get(records::get_records))
        .route("/catalog/datasets/{id}/records/{record_id}", get(records::get_record))
        .route("/catalog/datasets/{id}/exports", get(exports::list_export_formats))
        .route("/catalog/datasets/{id}/exports/{format}", get(exports::export_records))
        .route("/catalog/exports", get(catalog_exports::list_catalog_export_formats))
        .route("/catalog/exports/{format}", get(catalog_exports::export_catalog))
}

async fn root() -> Response {
    json_response(
        json!({"links": [{"href": format!("{V2_1}/catalog"), "rel": "catalog"}]}).to_string(),
    )
}

async fn catalog_root() -> Response {
    json_response(
        json!({"links": [
            {"href": format!("{V2_1}/catalog/datasets"), "rel": "datasets"},
        ]})
        .to_string(),
    )
}

/// A `200` JSON response.
pub fn json_response(body: impl Into<axum::body::Body>) -> Response {
    let mut response = body.into().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

/// The encoder of a query's output columns, rendering datetimes in `tz`.
pub fn encoder_for(columns: &[kleber_query::OutputColumn], tz: chrono_tz::Tz) -> RecordEncoder {
    let columns =
        columns.iter().map(|c| OutputColumn::new(c.key.clone(), c.label.clone(), c.role)).collect();
    let options = if tz == chrono_tz::UTC {
        EncodeOptions::default()
    } else {
        EncodeOptions::with_offset_fn(move |utc_seconds| {
            use chrono::{Offset, TimeZone};
            chrono::DateTime::from_timestamp(utc_seconds, 0)
                .map_or(0, |t| tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc())
        })
    };
    RecordEncoder::new(columns, options)
}
