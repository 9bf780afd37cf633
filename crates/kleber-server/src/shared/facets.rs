//! `/catalog/datasets/{id}/facets` and `/catalog/facets`, the same in Explore v2.1 and v2.0.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use bytes::Bytes;
use kleber_query::facets::{
    FacetGroup, FacetRequest, FacetValue, default_facets, parse_facet_param,
};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::http::resolve::Resolution;
use crate::shared::json::json_response;
use crate::shared::params::Params;
use crate::shared::request_context;
use crate::state::AppState;

fn value_json(v: &FacetValue) -> Value {
    let mut o =
        json!({"name": v.name, "value": v.value, "count": v.count, "state": v.state.name()});
    if !v.facets.is_empty() {
        o["facets"] = Value::Array(v.facets.iter().map(value_json).collect());
    }
    o
}

fn body(groups: &[FacetGroup]) -> Bytes {
    let facets: Vec<Value> = groups
        .iter()
        .map(|g| json!({"name": g.name, "facets": g.facets.iter().map(value_json).collect::<Vec<_>>()}))
        .collect();
    Bytes::from(json!({"links": [], "facets": facets}).to_string())
}

fn requests(
    params: &Params,
    fields: &[kleber_types::Field],
) -> Result<Vec<FacetRequest>, ApiError> {
    // An empty `facet=` asks for nothing, as an empty `refine=` refines nothing.
    let mut asked = params.all("facet");
    asked.retain(|f| !f.trim().is_empty());
    if asked.is_empty() {
        return Ok(default_facets(fields));
    }
    Ok(asked.iter().map(|f| parse_facet_param(f)).collect::<Result<Vec<_>, _>>()?)
}

/// `GET /catalog/datasets/{id}/facets`.
#[utoipa::path(get, path = "/api/explore/v2.1/catalog/datasets/{dataset_id}/facets", tag = "Explore v2.1",
    params(("dataset_id" = String, Path, description = "Dataset identifier"), crate::openapi::params::Facets),
    responses((status = 200, description = "The facets' values", body = crate::openapi::schemas::Facets, content_type = "application/json")))]
pub async fn get_records_facets(
    State(state): State<AppState>,
    resolution: Resolution,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let ctx = request_context(&resolution, &params)?;
    let version = resolution.dataset(&state, &id).await?;
    let key = resolution.dataset_key(&version, query.as_deref());
    let compute = async {
        let requests = requests(&params, version.fields())?;
        let mut query = params.records_query(None, 0);
        query.r#where.extend(crate::shared::qv1::qv1_where(&params, version.fields())?);
        let groups = state.app.facets(&ctx, &version, &query, &requests).await?;
        Ok::<_, ApiError>(body(&groups))
    };
    Ok(json_response(state.app.cached(key, compute).await?))
}

/// `GET /catalog/facets`.
#[utoipa::path(get, path = "/api/explore/v2.1/catalog/facets", tag = "Explore v2.1",
    params(crate::openapi::params::CatalogFacets),
    responses((status = 200, description = "The catalog's facets' values", body = crate::openapi::schemas::Facets, content_type = "application/json")))]
pub async fn get_catalog_facets(
    State(state): State<AppState>,
    resolution: Resolution,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let ctx = request_context(&resolution, &params)?;
    let view = resolution.catalog(&state).await?;
    let key = resolution.catalog_key(&view, query.as_deref());
    let compute = async {
        let requests = requests(&params, &kleber_query::catalog::catalog_fields())?;
        let query = params.records_query(None, 0);
        let groups = state.app.facets(&ctx, &view, &query, &requests).await?;
        Ok::<_, ApiError>(body(&groups))
    };
    Ok(json_response(state.app.cached(key, compute).await?))
}
