//! `GET /catalog/datasets/{id}/clusters`: Kleber's map endpoint (not Opendatasoft's). Every
//! record of the dataset's geo field that matches the filters, in one viewport at one zoom:
//! clusters (count, centroid, bounds to zoom into) and, for the cells holding few records,
//! the records themselves, shapes simplified to the zoom. See docs/http.md.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use bytes::Bytes;
use kleber_app::cluster::{ClusterRequest, Grid, MAX_ZOOM, Viewport};
use kleber_app::{DatasetVersion, MapClusters, RequestContext};
use kleber_types::{Field, FieldType};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::http::resolve::Resolution;
use crate::shared::json::json_response;
use crate::shared::params::Params;
use crate::shared::request_context;
use crate::state::AppState;

/// A cell with fewer records than this is answered as its records.
pub const LEAVES_BELOW: u64 = 200;
/// Default and largest `max_records`.
pub const DEFAULT_MAX_RECORDS: i64 = 500;
/// Largest `max_records`.
pub const MAX_RECORDS: i64 = 2000;
/// Most grid cells a viewport may cover: a 4K screen at 64-px cells covers about 2,000.
pub const MAX_CELLS: u64 = 10_000;
/// The private name of the record id in the records' query.
const RECORD_ID: &str = "__kleber_map_id";

fn bad(message: String) -> ApiError {
    ApiError::bad_param(message)
}

/// The geo field to cluster: `field=`, or the dataset's first `geo_point_2d`, else its first
/// `geo_shape`.
pub fn map_field<'a>(fields: &'a [Field], asked: Option<&str>) -> Result<&'a Field, ApiError> {
    let geo = |f: &&Field| matches!(f.field_type, FieldType::GeoPoint2d | FieldType::GeoShape);
    match asked.map(str::trim).filter(|a| !a.is_empty()) {
        Some(name) => match fields.iter().find(|f| f.name == name) {
            Some(f) if geo(&f) => Ok(f),
            Some(f) => Err(bad(format!(
                "Invalid value for field API parameter: {name} is a {} field, but the map needs a geo_point_2d or geo_shape field.",
                f.field_type.name()
            ))),
            None => Err(bad(format!(
                "Invalid value for field API parameter: this dataset has no field {name:?}."
            ))),
        },
        None => fields
            .iter()
            .find(|f| f.field_type == FieldType::GeoPoint2d)
            .or_else(|| fields.iter().find(geo))
            .ok_or_else(|| {
                bad("This dataset has no geo_point_2d or geo_shape field to map.".to_owned())
            }),
    }
}

/// `bbox=west,south,east,north`, or the world.
fn viewport(params: &Params) -> Result<Viewport, ApiError> {
    let Some(text) = params.get("bbox").map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(Viewport::WORLD);
    };
    let numbers: Vec<f64> = text.split(',').map(|n| n.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| {
        bad(format!(
            "Invalid value for bbox API parameter: {text} was found but four numbers west,south,east,north are expected, e.g. bbox=7.70,48.55,7.80,48.62."
        ))
    })?;
    let [w, s, e, n] = numbers[..] else {
        return Err(bad(format!(
            "Invalid value for bbox API parameter: {} numbers were found but four are expected: west,south,east,north.",
            numbers.len()
        )));
    };
    Viewport::new(w, s, e, n)
        .map_err(|why| bad(format!("Invalid value for bbox API parameter: {why}.")))
}

/// The map's zoom (0, the whole world on one tile, when not given), the grid and viewport it
/// implies, checked against [`MAX_CELLS`].
fn grid(params: &Params, viewport: &Viewport) -> Result<(u8, Grid), ApiError> {
    let zoom = params.int("zoom")?.unwrap_or(0);
    let checked = u8::try_from(zoom).ok().filter(|z| *z <= MAX_ZOOM).ok_or_else(|| {
        bad(format!(
            "Invalid value for zoom API parameter: {zoom} was found but 0 <= zoom <= {MAX_ZOOM} is expected."
        ))
    })?;
    let grid = Grid::for_zoom(checked).map_err(|why| bad(format!("Invalid zoom: {why}.")))?;
    let cells = grid.cells_over(viewport);
    if cells > MAX_CELLS {
        return Err(bad(format!(
            "Invalid value for bbox API parameter: at zoom {checked} this box covers {cells} cells of the grid but at most {MAX_CELLS} are allowed; send the map's visible bounds, or a lower zoom."
        )));
    }
    Ok((checked, grid))
}

/// The request's `max_records` (0 to [`MAX_RECORDS`]).
fn max_records(params: &Params) -> Result<u64, ApiError> {
    let n = params.int("max_records")?.unwrap_or(DEFAULT_MAX_RECORDS);
    if !(0..=MAX_RECORDS).contains(&n) {
        return Err(bad(format!(
            "Invalid value for max_records API parameter: {n} was found but 0 <= max_records <= {MAX_RECORDS} is expected."
        )));
    }
    Ok(n as u64)
}

/// Tolerance of shape simplification at `zoom`: half a pixel, in degrees of longitude.
pub fn tolerance_at(zoom: u8) -> f64 {
    360.0 / (256.0 * f64::from(1u32 << zoom)) / 2.0
}

/// `GET /catalog/datasets/{id}/clusters`.
#[utoipa::path(get, path = "/api/explore/v2.1/catalog/datasets/{dataset_id}/clusters", tag = "Explore v2.1",
    params(("dataset_id" = String, Path, description = "Dataset identifier"), crate::openapi::params::Clusters),
    responses((status = 200, description = "The map's clusters (Kleber extension, docs/http.md#map-clusters)", body = crate::openapi::schemas::Clusters, content_type = "application/json")))]
pub async fn get_clusters(
    State(state): State<AppState>,
    resolution: Resolution,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let ctx = request_context(&resolution, &params)?;
    let version = resolution.dataset(&state, &id).await?;
    let key = resolution.dataset_key(&version, query.as_deref());
    let compute = clusters_body(&state, &ctx, &version, params);
    Ok(json_response(state.app.cached(key, compute).await?))
}

async fn clusters_body(
    state: &AppState,
    ctx: &RequestContext,
    version: &DatasetVersion,
    params: Params,
) -> Result<Bytes, ApiError> {
    let field = map_field(version.fields(), params.get("field"))?.clone();
    let viewport = viewport(&params)?;
    let (zoom, grid) = grid(&params, &viewport)?;
    let max_records = max_records(&params)?;
    for ignored in ["group_by", "order_by"] {
        if params.get(ignored).is_some_and(|v| !v.trim().is_empty()) {
            return Err(bad(format!(
                "The {ignored} API parameter is not accepted by clusters: the map groups by cell itself."
            )));
        }
    }
    let mut query = params.records_query(None, 0);
    query.r#where.extend(crate::shared::qv1::qv1_where(&params, version.fields())?);
    query.record_id_column = Some(RECORD_ID.to_owned());
    let request = ClusterRequest {
        field: field.name.clone(),
        grid,
        viewport,
        leaves_below: if max_records == 0 { 0 } else { LEAVES_BELOW },
        max_leaves: max_records,
        max_clusters: MAX_CELLS as usize,
        // Every shape answered is simplified, whichever geo field is clustered.
        simplify: Some(tolerance_at(zoom)),
    };
    let answer = state.app.clusters(ctx, version, &query, &request).await?;
    let body = render(&answer, zoom, &viewport, &field.name)?;
    Ok(Bytes::from(body.to_string()))
}

fn render(
    answer: &MapClusters,
    zoom: u8,
    viewport: &Viewport,
    field: &str,
) -> Result<Value, ApiError> {
    let clusters: Vec<Value> = answer
        .clusters
        .iter()
        .map(|c| {
            json!({
                "count": c.count,
                "center": {"lon": c.lon, "lat": c.lat},
                "bbox": c.bbox,
            })
        })
        .collect();
    let mut records = Vec::new();
    if let Some(page) = &answer.records {
        for value in page.values()? {
            let Value::Object(mut fields) = value else { continue };
            let id = fields.shift_remove(RECORD_ID).unwrap_or(Value::Null);
            records.push(json!({"id": id, "record": Value::Object(fields)}));
        }
    }
    let mut out = Map::new();
    out.insert("total_count".into(), json!(answer.total));
    out.insert("zoom".into(), json!(zoom));
    out.insert(
        "bbox".into(),
        json!([viewport.west, viewport.south, viewport.east, viewport.north]),
    );
    out.insert("field".into(), json!(field));
    out.insert("clusters".into(), Value::Array(clusters));
    out.insert("records".into(), Value::Array(records));
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_halves_with_each_zoom() {
        assert!((tolerance_at(0) - 360.0 / 512.0).abs() < 1e-12);
        assert!((tolerance_at(1) * 2.0 - tolerance_at(0)).abs() < 1e-12);
    }
}
