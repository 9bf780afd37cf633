//! The v1 map and chart helpers: `/api/records/1.0/analyze/`, `/boundingbox/`,
//! `/geocluster/`, each one grouped ODSQL query over the v1 filters.
//!
//! - analyze: `x=<field>` (with `precision=year|month|day|hour|minute` on dates, the `x` of
//!   each point is then `{"year": …, "month": …}`), series `y.<name>.func` (`COUNT`, `AVG`,
//!   `SUM`, `MIN`, `MAX`) of `y.<name>.expr` (a numeric field), `maxpoints`, `sort`
//!   (`<serie>` descending, `-<serie>` ascending, default by `x`). Answers
//!   `[{"x": …, "<name>": …}, …]`. Not served: `periodic`, `cumulative`, `STDDEV`,
//!   `SUMSQUARES`, arithmetic in `expr`.
//! - boundingbox: `{"count": n, "bbox": [min_lon, min_lat, max_lon, max_lat]}` of the main geo
//!   field (`bbox` null when nothing matches).
//! - geocluster: `clusterprecision` (1–12, geohash length) groups points by cell:
//!   `{"clusters": [{"cluster_center": [lat, lon], "count": n}], "count": {"min", "max"},
//!   "clusterprecision": p}`. `clusterdistance`, `shapeprecision` and series are accepted and
//!   ignored.

use axum::extract::{RawQuery, State};
use kleber_app::DatasetVersion;
use kleber_types::FieldType;
use serde_json::{Value, json};

use super::filters::{main_geo_field, params_of, translate_request};
use super::response::{callback, geometry_of, json_or_jsonp};
use super::{V1Error, V1Result};
use crate::error::ApiError;
use crate::http::resolve::Resolution;
use crate::shared::params::{MAX_GROUPED_LIMIT, Params};
use crate::shared::qv1::odsql_name;
use crate::state::AppState;

fn bad(message: String) -> V1Error {
    V1Error::bad_param(message)
}

/// Runs a grouped query over the v1 filters of `params` and returns its rows as JSON objects.
#[expect(clippy::too_many_arguments, reason = "the request (state, caller) and the query's parts")]
async fn rows(
    state: &AppState,
    resolution: &Resolution,
    version: &DatasetVersion,
    params: &Params,
    select: String,
    group_by: Option<String>,
    order_by: Option<String>,
    limit: usize,
) -> Result<Vec<Value>, V1Error> {
    // `sort` names a serie or x here, not a field: it is applied by the caller.
    let filters: Vec<(String, String)> =
        params.pairs().iter().filter(|(k, _)| k != "sort").cloned().collect();
    let v1 = translate_request(&params_of(&filters), version.fields(), Some(version.id()))?;
    let version = version.clone().with_fields(v1.fields.clone());
    let mut query = v1.records_query(Some(limit), 0);
    query.select = Some(select);
    query.group_by = group_by;
    if order_by.is_some() {
        query.order_by = order_by;
    }
    let ctx = super::search::context_of(resolution, &v1)?;
    let page = state.app.rows(&ctx, &version, &query).await?;
    Ok(page.values().map_err(ApiError::from)?)
}

/// The dataset named by `dataset=`, at the version this request reads.
async fn dataset(
    state: &AppState,
    resolution: &Resolution,
    params: &Params,
) -> Result<DatasetVersion, V1Error> {
    let id = params.get("dataset").map(str::trim).unwrap_or_default();
    if id.is_empty() {
        return Err(bad(
            "Missing dataset API parameter: name the dataset, e.g. dataset=parkings.".into()
        ));
    }
    Ok(resolution.dataset(state, id).await?)
}

const PRECISIONS: [&str; 5] = ["year", "month", "day", "hour", "minute"];

/// `GET /api/records/1.0/analyze/`.
#[utoipa::path(get, path = "/api/records/1.0/analyze", tag = "Search API v1",
    params(crate::openapi::params::V1Analyze),
    responses((status = 200, description = "Series of aggregated values", content_type = "application/json")))]
pub async fn analyze(
    State(state): State<AppState>,
    resolution: Resolution,
    RawQuery(query): RawQuery,
) -> V1Result {
    let params = Params::parse(query.as_deref());
    let callback = callback(&params)?;
    let version = dataset(&state, &resolution, &params).await?;
    let fields = version.fields();
    let Some(x) = params.get("x").map(str::trim).filter(|x| !x.is_empty()) else {
        return Err(bad(
            "Missing x API parameter: name the field to group by, e.g. x=commune.".into()
        ));
    };
    let Some(x_field) = fields.iter().find(|f| f.name == x) else {
        return Err(bad(format!("Invalid value for x API parameter: unknown field {x:?}.")));
    };
    for unsupported in ["periodic"] {
        if params.get(unsupported).is_some() {
            return Err(bad(format!(
                "The {unsupported} API parameter of analyze is not served by Kleber."
            )));
        }
    }
    let is_date = matches!(x_field.field_type, FieldType::Date | FieldType::Datetime);
    let mut keys: Vec<(String, String)> = Vec::new(); // (alias, expression)
    match params.get("precision").filter(|p| !p.is_empty()) {
        Some(p) if is_date => {
            let Some(depth) = PRECISIONS.iter().position(|q| *q == p) else {
                return Err(bad(format!(
                    "Invalid value for precision API parameter: {p:?} was found but one of year, month, day, hour, minute is expected."
                )));
            };
            for part in &PRECISIONS[..=depth] {
                keys.push((format!("__x_{part}"), format!("{part}({})", odsql_name(x))));
            }
        }
        _ => keys.push(("__x".to_owned(), odsql_name(x))),
    }
    // Series: y.<name>.func and y.<name>.expr.
    let mut series: Vec<(String, String)> = Vec::new(); // (name, aggregate expression)
    let mut names: Vec<String> = Vec::new();
    for (key, _) in params.pairs() {
        if let Some(rest) = key.strip_prefix("y.")
            && let Some((name, _)) = rest.rsplit_once('.')
            && !names.iter().any(|n| n == name)
        {
            names.push(name.to_owned());
        }
    }
    for name in names {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(bad(format!("Invalid serie name {name:?}: use letters, digits and _.")));
        }
        let func = params.get(&format!("y.{name}.func")).unwrap_or("COUNT").to_ascii_uppercase();
        let expr = params.get(&format!("y.{name}.expr")).map(str::trim).unwrap_or_default();
        let aggregate = match func.as_str() {
            "COUNT" => "count(*)".to_owned(),
            "AVG" | "SUM" | "MIN" | "MAX" => {
                let Some(f) = fields.iter().find(|f| f.name == expr) else {
                    return Err(bad(format!(
                        "Invalid value for y.{name}.expr API parameter: {expr:?} is not a field; Kleber accepts a numeric field name here."
                    )));
                };
                format!("{}({})", func.to_ascii_lowercase(), odsql_name(&f.name))
            }
            other => {
                return Err(bad(format!(
                    "Invalid value for y.{name}.func API parameter: {other:?}; Kleber serves COUNT, AVG, SUM, MIN and MAX."
                )));
            }
        };
        series.push((name, aggregate));
    }
    if series.is_empty() {
        series.push(("count".to_owned(), "count(*)".to_owned()));
    }
    // Keys are aliased in select (an alias given in group_by is not kept as the output key of
    // a plain field).
    let group_by: Vec<String> = keys.iter().map(|(_, e)| e.clone()).collect();
    let mut select: Vec<String> = keys.iter().map(|(a, e)| format!("{e} AS {a}")).collect();
    select.extend(series.iter().map(|(n, agg)| format!("{agg} AS {}", odsql_name(n))));
    let order_by = match params.get("sort").map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => {
            let (name, dir) = match s.strip_prefix('-') {
                Some(n) => (n, "ASC"),
                None => (s, "DESC"),
            };
            let target = if name == "x" {
                keys.iter().map(|(a, _)| a.clone()).collect::<Vec<_>>().join(&format!(" {dir}, "))
            } else if series.iter().any(|(n, _)| n == name) {
                // Aggregates first, as ODSQL requires.
                series.iter().find(|(n, _)| n == name).map(|(_, a)| a.clone()).unwrap_or_default()
            } else {
                return Err(bad(format!(
                    "Invalid value for sort API parameter: {name:?} is neither x nor a serie."
                )));
            };
            Some(format!("{target} {dir}"))
        }
    };
    let maxpoints = params.int("maxpoints")?.unwrap_or(MAX_GROUPED_LIMIT);
    if !(1..=MAX_GROUPED_LIMIT).contains(&maxpoints) {
        return Err(bad(format!(
            "Invalid value for maxpoints API parameter: {maxpoints} was found but 1 <= maxpoints <= {MAX_GROUPED_LIMIT} is expected."
        )));
    }
    let rows = rows(
        &state,
        &resolution,
        &version,
        &params,
        select.join(", "),
        Some(group_by.join(", ")),
        order_by,
        maxpoints as usize,
    )
    .await?;
    let points: Vec<Value> = rows
        .into_iter()
        .map(|mut row| {
            let x_value = if keys.len() == 1 && keys[0].0 == "__x" {
                row.get("__x").cloned().unwrap_or(Value::Null)
            } else {
                let mut parts = serde_json::Map::new();
                for (alias, _) in &keys {
                    let part = alias.trim_start_matches("__x_");
                    parts.insert(part.to_owned(), row.get(alias).cloned().unwrap_or(Value::Null));
                }
                Value::Object(parts)
            };
            let mut point = serde_json::Map::new();
            point.insert("x".into(), x_value);
            for (name, _) in &series {
                point.insert(name.clone(), row.get_mut(name).map(Value::take).unwrap_or_default());
            }
            Value::Object(point)
        })
        .collect();
    Ok(json_or_jsonp(&Value::Array(points), callback.as_deref()))
}

/// The bounding box `[min_lon, min_lat, max_lon, max_lat]` of a GeoJSON geometry.
fn bbox_of(geometry: &Value) -> Option<[f64; 4]> {
    fn walk(v: &Value, acc: &mut Option<[f64; 4]>) {
        let Some(list) = v.as_array() else { return };
        if let (Some(x), Some(y)) =
            (list.first().and_then(Value::as_f64), list.get(1).and_then(Value::as_f64))
        {
            let b = acc.get_or_insert([x, y, x, y]);
            *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
            return;
        }
        for item in list {
            walk(item, acc);
        }
    }
    let mut acc = None;
    walk(geometry.get("coordinates")?, &mut acc);
    acc
}

fn geo_name(fields: &[kleber_types::Field]) -> Result<String, V1Error> {
    main_geo_field(fields)
        .map(|f| f.name.clone())
        .ok_or_else(|| bad("This dataset has no geo field.".to_owned()))
}

/// `GET /api/records/1.0/boundingbox/`.
#[utoipa::path(get, path = "/api/records/1.0/boundingbox", tag = "Search API v1",
    params(crate::openapi::params::V1Geo),
    responses((status = 200, description = "The records' bounding box", body = crate::openapi::schemas::AnyObject, content_type = "application/json")))]
pub async fn bounding_box(
    State(state): State<AppState>,
    resolution: Resolution,
    RawQuery(query): RawQuery,
) -> V1Result {
    let params = Params::parse(query.as_deref());
    let callback = callback(&params)?;
    let version = dataset(&state, &resolution, &params).await?;
    let fields = version.fields();
    let geo = odsql_name(&geo_name(fields)?);
    let select = format!("count(*) AS n, bbox({geo}) AS b");
    let rows = rows(&state, &resolution, &version, &params, select, None, None, 1).await?;
    let row = rows.into_iter().next().unwrap_or(Value::Null);
    let count = row.get("n").cloned().unwrap_or(json!(0));
    let bbox = row.get("b").and_then(geometry_of).and_then(|g| bbox_of(&g));
    Ok(json_or_jsonp(&json!({"count": count, "bbox": bbox}), callback.as_deref()))
}

/// `GET /api/records/1.0/geocluster/`: the portal map's clustering use case
/// ([`kleber_app::App::clusters`]) over the whole world, on the grid of the geohash length
/// `clusterprecision` (`ceil(5p/2)` levels: a geohash of `p` characters has that many
/// longitude bits), without records.
#[utoipa::path(get, path = "/api/records/1.0/geocluster", tag = "Search API v1",
    params(crate::openapi::params::V1Geo),
    responses((status = 200, description = "Clusters of the records", body = crate::openapi::schemas::AnyObject, content_type = "application/json")))]
pub async fn geocluster(
    State(state): State<AppState>,
    resolution: Resolution,
    RawQuery(query): RawQuery,
) -> V1Result {
    use kleber_app::cluster::{ClusterRequest, Grid, Viewport};
    let params = Params::parse(query.as_deref());
    let callback = callback(&params)?;
    let version = dataset(&state, &resolution, &params).await?;
    let fields = version.fields();
    let geo_field = geo_name(fields)?;
    if !fields.iter().any(|f| f.name == geo_field && f.field_type == FieldType::GeoPoint2d) {
        return Err(bad("geocluster needs a geo_point_2d field.".to_owned()));
    }
    let precision = params.int("clusterprecision")?.ok_or_else(|| {
        bad("Missing clusterprecision API parameter: a geohash length from 1 to 12.".to_owned())
    })?;
    if !(1..=12).contains(&precision) {
        return Err(bad(format!(
            "Invalid value for clusterprecision API parameter: {precision} was found but 1 <= clusterprecision <= 12 is expected."
        )));
    }
    let level = (precision as u8 * 5).div_ceil(2);
    let grid = Grid::new(level).map_err(|why| bad(format!("Invalid clusterprecision: {why}.")))?;
    let filters: Vec<(String, String)> =
        params.pairs().iter().filter(|(k, _)| k != "sort").cloned().collect();
    let v1 = translate_request(&params_of(&filters), fields, Some(version.id()))?;
    let version = version.clone().with_fields(v1.fields.clone());
    let query = v1.records_query(None, 0);
    let ctx = super::search::context_of(&resolution, &v1)?;
    let request = ClusterRequest {
        field: geo_field,
        grid,
        viewport: Viewport::WORLD,
        leaves_below: 0,
        max_leaves: 0,
        max_clusters: MAX_GROUPED_LIMIT as usize,
        simplify: None,
    };
    let answer = state.app.clusters(&ctx, &version, &query, &request).await?;
    let clusters: Vec<Value> = answer
        .clusters
        .iter()
        .map(|c| {
            let [w, s, e, n] = c.bbox;
            // The cluster's extent: a point when its records share one place.
            let shape = if w == e && s == n {
                json!({"type": "Point", "coordinates": [w, s]})
            } else {
                json!({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]})
            };
            json!({"cluster_center": [c.lat, c.lon], "count": c.count, "cluster": shape})
        })
        .collect();
    let counts = answer.clusters.iter().map(|c| c.count);
    let count = json!({"min": counts.clone().min().unwrap_or(0), "max": counts.max().unwrap_or(0)});
    Ok(json_or_jsonp(
        &json!({"clusters": clusters, "count": count, "clusterprecision": precision}),
        callback.as_deref(),
    ))
}
