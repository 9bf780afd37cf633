//! What the front ends share that is not HTTP plumbing: JSON answers, the v2.1 dataset object
//! (the base of the v2.0 and v1 ones), export bodies, the v1 error shape, the portal's
//! settings, the query-string parameters (`params`), the v1 `q` adapter (`qv1`, also
//! v2.1's `qv1` parameter) and the CKAN error shape (`ckan_error`). Front ends (`api`, `api_v20`, `api_v1`, `download`, `web`) import from here, from
//! `http` and from `kleber_app`, never from each other (checked by `tests/it/layering.rs`).

pub mod ckan_error;
pub mod datapackage;
pub mod dataset_object;
pub mod exports;
pub mod facets;
pub mod json;
pub mod page_cache;
pub mod params;
pub mod portal;
pub mod qv1;
pub mod stall;
pub mod v1_error;

use kleber_app::RequestContext;

use crate::error::ApiError;
use crate::http::resolve::Resolution;
use crate::shared::params::Params;

/// The request context of an API request: its caller's, in the `timezone` and `lang` it asks
/// (a bad time zone is a 400).
pub fn request_context(
    resolution: &Resolution,
    params: &Params,
) -> Result<RequestContext, ApiError> {
    resolution.context_with(params.get("timezone"), params.get("lang"))
}

/// The instant `rfc3339` rendered in `tz` as Opendatasoft does (`2019-04-03T03:20:15+00:00`).
pub fn render_timestamp(rfc3339: &str, tz: chrono_tz::Tz) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => t.with_timezone(&tz).format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        Err(_) => rfc3339.to_owned(),
    }
}
