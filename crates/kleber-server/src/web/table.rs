//! The table and map tabs: one page of records under the page's filters, with facets, sort,
//! paging and a record's detail; the map draws the same records with Leaflet and lists them
//! for readers without JavaScript.

use axum::response::Response;
use kleber_app::DatasetVersion;
use kleber_query::RecordsQuery;
use kleber_query::facets::default_facets;
use kleber_types::{Field, FieldType};
use kleber_web::pages::{Column, MapPage, RecordDetail, RecordFilters, Row, TablePage};
use kleber_web::url::Query;
use kleber_web::view::{Hidden, Pagination};
use serde_json::Value;

use super::cells;
use super::dataset::{header, layout, tab_path};
use super::filters::{self, Filters, odsql_field};
use super::{Framing, PageContext, PageError, V2_1, page};
use crate::state::AppState;

/// Records per page of the table.
pub(crate) const PAGE_SIZE: usize = 20;
/// The records window of the API: pages end at this offset.
const WINDOW: usize = 10_000;
/// The private name of the record id in a page's query.
const RECORD_ID: &str = "__kleber_rid";

/// The filters, facets and counts shared by the table and map tabs.
async fn record_filters(
    state: &AppState,
    ctx: &PageContext,
    version: &DatasetVersion,
    filters: &Filters,
    path: &str,
) -> Result<RecordFilters, PageError> {
    let record = version.record();
    let fields = &record.version.fields;
    // A date facet lists every month of a year and every day of a month once refined.
    let requests = filters::requests(default_facets(fields).into_iter().map(|r| {
        let date = fields.iter().any(|f| f.name == r.name && is_date(f));
        let limit = if date { filters::DATE_FACET_LIMIT } else { 10 };
        (r.name, limit)
    }));
    let query = filters.records_query();
    let key = super::cache::key(
        &version.cache_scope(),
        record.version.number,
        &[&super::cache::list(&query.r#where), &super::cache::list(&query.refine)],
    );
    let groups = match state.web.facets.get(&key) {
        Some(groups) => groups,
        None if requests.is_empty() => std::sync::Arc::new(Vec::new()),
        None => {
            let groups = state
                .app
                .facets(&ctx.request(), version, &query, &requests)
                .await
                .map_err(|e| PageError::from_api(ctx, e))?;
            state.web.facets.put(key, groups)
        }
    };
    let title = |name: &str| cells::label_of(fields, name, ctx.lang);
    let lang = ctx.lang;
    let value_label =
        |name: &str, value: &str| super::dataset::refined_value_label(fields, name, value, lang);
    Ok(RecordFilters {
        q: filters.q.clone().unwrap_or_default(),
        hidden: Hidden::keep(&ctx.query, &["q", "page", "start", "record", "lang"]),
        // Dates read `janvier 2025`; values below the top of another tree show their path.
        facets: filters::blocks(&groups, &ctx.query, path, ctx.lang, title, |name, v| {
            if fields.iter().any(|f| f.name == name && is_date(f)) {
                kleber_web::format::date_path(&v.value, lang)
            } else if v.value.contains('/') {
                v.value.clone()
            } else {
                v.name.clone()
            }
        }),
        active: filters::active(&ctx.query.without(&["sort"]), path, title, value_label),
        clear_href: path.to_owned(),
        total: String::new(),
    })
}

/// Records matching `filters`.
pub(crate) async fn count(
    state: &AppState,
    ctx: &PageContext,
    version: &DatasetVersion,
    filters: &Filters,
) -> Result<i64, PageError> {
    let mut query = filters.records_query();
    query.select = Some("count(*) as n".to_owned());
    query.limit = Some(1);
    let page = state
        .app
        .rows(&ctx.request(), version, &query)
        .await
        .map_err(|e| PageError::from_api(ctx, e))?;
    let mut n = 0;
    for v in page.values().map_err(|e| PageError::internal(ctx, e))? {
        n = v.get("n").and_then(Value::as_i64).unwrap_or(0);
    }
    Ok(n)
}

/// One page of records: (total, rows as JSON objects with their record id).
async fn records_page(
    state: &AppState,
    ctx: &PageContext,
    version: &DatasetVersion,
    mut query: RecordsQuery,
) -> Result<(u64, Vec<serde_json::Map<String, Value>>), PageError> {
    let record = version.record();
    query.record_id_column = Some(RECORD_ID.to_owned());
    // The page's query runs in the request's zone (UTC: pages take no `timezone`, as the
    // facets beside it), and date-times are shown at the dataset zone's wall-clock time.
    let mut page = state
        .app
        .records(&ctx.request(), version, &query)
        .await
        .map_err(|e| PageError::from_api(ctx, e))?;
    page.encoder = kleber_app::encoder_for(&page.columns, cells::time_zone(record));
    let mut rows = Vec::new();
    for v in page.values().map_err(|e| PageError::internal(ctx, e))? {
        if let Value::Object(map) = v {
            rows.push(map);
        }
    }
    Ok((page.total, rows))
}

/// The page asked, its offset, and whether it was capped by the records window.
fn paging(ctx: &PageContext) -> Result<(u64, usize), PageError> {
    let number = super::catalog::page_number(ctx, PAGE_SIZE)?;
    Ok((number, (number as usize - 1).saturating_mul(PAGE_SIZE)))
}

fn pagination(ctx: &PageContext, path: &str, number: u64, total: u64) -> Pagination {
    let reachable = (total as usize).min(WINDOW);
    let pages = reachable.div_ceil(PAGE_SIZE).max(1) as u64;
    let base = ctx.query.without(&["page", "start", "record", "lang"]);
    Pagination::new(number.min(pages), pages, |p| {
        if p == 1 { base.href(path) } else { base.set("page", &p.to_string()).href(path) }
    })
}

/// The detail of record `id`, if it exists.
async fn detail(
    state: &AppState,
    ctx: &PageContext,
    version: &DatasetVersion,
    id: &str,
    path: &str,
) -> Result<Option<RecordDetail>, PageError> {
    let record = version.record();
    if !kleber_query::is_record_id(id) {
        return Ok(None);
    }
    // Found through the version's id index, not by hashing every row.
    let mut page =
        match state.app.record(&ctx.request(), version, id, &RecordsQuery::default()).await {
            Ok(page) => page,
            Err(kleber_app::Error::RecordNotFound(_)) => return Ok(None),
            Err(e) => return Err(PageError::from_api(ctx, e)),
        };
    page.encoder = kleber_app::encoder_for(&page.columns, cells::time_zone(record));
    let rows = page.values().map_err(|e| PageError::internal(ctx, e))?;
    let Some(Value::Object(row)) = rows.into_iter().next() else { return Ok(None) };
    let values = record
        .version
        .fields
        .iter()
        .map(|f| {
            let v = row.get(&f.name).unwrap_or(&Value::Null);
            (cells::label(f, ctx.lang), cells::cell(f, v, ctx.lang).text)
        })
        .collect();
    Ok(Some(RecordDetail {
        values,
        close_href: ctx.query.without(&["record", "lang"]).href(path),
        api_href: format!("{V2_1}/catalog/datasets/{}/records/{id}", record.id),
    }))
}

fn is_date(f: &Field) -> bool {
    matches!(f.field_type, FieldType::Date | FieldType::Datetime)
}

/// Columns of the table: every field but shapes (shown in the detail).
fn shown_fields(fields: &[Field]) -> Vec<&Field> {
    fields.iter().filter(|f| f.field_type != FieldType::GeoShape).collect()
}

/// The table tab.
pub(crate) async fn table_tab(
    state: &AppState,
    ctx: &PageContext,
    version: &DatasetVersion,
    embed: bool,
) -> Result<Response, PageError> {
    let record = version.record();
    let t = ctx.lang.messages();
    let fields = &record.version.fields;
    let path = tab_path(&record.id, "table", embed);
    let filters = Filters::parse(ctx, &ctx.query, fields)?;
    let sort = filters::order_by(ctx, ctx.query.get("sort"), fields)?;
    let (number, offset) = paging(ctx)?;
    let window_capped = offset + PAGE_SIZE > WINDOW;
    let offset = offset.min(WINDOW - PAGE_SIZE);
    let mut query = filters.records_query();
    query.order_by = sort
        .as_ref()
        .map(|(f, desc)| format!("{} {}", odsql_field(f), if *desc { "desc" } else { "asc" }));
    query.limit = Some(PAGE_SIZE);
    query.offset = offset;
    // The page and the facets are independent queries: run them together.
    let (rows, facets) = futures::join!(
        records_page(state, ctx, version, query),
        record_filters(state, ctx, version, &filters, &path)
    );
    let (total, rows) = rows?;
    let mut record_filters = facets?;
    record_filters.total = t.records(total as i64);

    let base = ctx.query.without(&["page", "start", "record", "lang"]);
    let shown = shown_fields(fields);
    let columns = shown
        .iter()
        .map(|f| {
            let (sorted, next) = match &sort {
                Some((name, false)) if *name == f.name => ("ascending", format!("-{}", f.name)),
                Some((name, true)) if *name == f.name => ("descending", f.name.clone()),
                _ => ("none", f.name.clone()),
            };
            Column {
                label: cells::label(f, ctx.lang),
                numeric: matches!(f.field_type, FieldType::Int | FieldType::Double),
                name: f.name.clone(),
                sort_href: Some(base.set("sort", &next).href(&path)),
                sorted,
                sort_action: if next.starts_with('-') {
                    t.sort_descending
                } else {
                    t.sort_ascending
                },
            }
        })
        .collect();
    let table_rows = rows
        .iter()
        .map(|row| {
            let rid = row.get(RECORD_ID).and_then(Value::as_str).unwrap_or_default().to_owned();
            Row {
                cells: shown
                    .iter()
                    .map(|f| cells::cell(f, row.get(&f.name).unwrap_or(&Value::Null), ctx.lang))
                    .collect(),
                detail_href: ctx.query.without(&["lang"]).set("record", &rid).href(&path)
                    + "#record-detail",
                record_id: rid,
            }
        })
        .collect();
    let (detail, detail_missing) = match ctx.query.get("record") {
        Some(id) => {
            let d = detail(state, ctx, version, id, &path).await?;
            let missing = d.is_none();
            (d, missing)
        }
        None => (None, false),
    };
    let table = TablePage {
        layout: layout(record, ctx, "table", embed),
        ds: header(record, ctx, "table"),
        filters: record_filters,
        columns,
        rows: table_rows,
        pagination: pagination(ctx, &path, number, total),
        detail,
        detail_missing,
        window_capped,
    };
    page(state, ctx, &table, if embed { Framing::Anywhere } else { Framing::SameOrigin })
}

/// The map tab.
pub(crate) async fn map_tab(
    state: &AppState,
    ctx: &PageContext,
    version: &DatasetVersion,
    embed: bool,
) -> Result<Response, PageError> {
    let record = version.record();
    let fields = &record.version.fields;
    let path = tab_path(&record.id, "map", embed);
    let filters = Filters::parse(ctx, &ctx.query, fields)?;
    let Some(geo) =
        fields.iter().find(|f| matches!(f.field_type, FieldType::GeoPoint2d | FieldType::GeoShape))
    else {
        return Err(PageError::not_found(ctx));
    };
    let title_field = fields.iter().find(|f| f.field_type == FieldType::Text).unwrap_or(geo);
    let (number, offset) = paging(ctx)?;
    let offset = offset.min(WINDOW - PAGE_SIZE);
    let mut query = filters.records_query();
    query.r#where.push(format!("{} is not null", odsql_field(&geo.name)));
    query.limit = Some(PAGE_SIZE);
    query.offset = offset;
    let (rows, facets) = futures::join!(
        records_page(state, ctx, version, query),
        record_filters(state, ctx, version, &filters, &path)
    );
    let (total, rows) = rows?;
    let mut record_filters = facets?;
    record_filters.total = ctx.lang.messages().records(total as i64);
    let table_path = tab_path(&record.id, "table", embed);
    let located = rows
        .iter()
        .map(|row| {
            let rid = row.get(RECORD_ID).and_then(Value::as_str).unwrap_or_default();
            let title = cells::cell(
                title_field,
                row.get(&title_field.name).unwrap_or(&Value::Null),
                ctx.lang,
            )
            .text;
            let location =
                cells::cell(geo, row.get(&geo.name).unwrap_or(&Value::Null), ctx.lang).text;
            let href =
                super::dataset::filter_query(&ctx.query).set("record", rid).href(&table_path)
                    + "#record-detail";
            (title, location, href)
        })
        .collect();
    // The map needs the geometry and a few values for the popups, not every field.
    let mut popup_fields: Vec<&Field> = vec![geo];
    popup_fields.extend(
        fields
            .iter()
            .filter(|f| !matches!(f.field_type, FieldType::GeoPoint2d | FieldType::GeoShape))
            .take(6),
    );
    let select: Vec<String> = popup_fields.iter().map(|f| odsql_field(&f.name)).collect();
    // The map asks the clusters of its viewport (zoom and bbox added by map.js) under the
    // page's filters: every record shows, as clusters or one by one.
    let api = Query::from_pairs(filters.api_pairs())
        .add("field", &geo.name)
        .add("select", &select.join(", "));
    let data_url = api.href(&format!("{V2_1}/catalog/datasets/{}/clusters", record.id));
    let mut layout = layout(record, ctx, "map", embed);
    layout.styles = vec![
        kleber_web::assets::url("leaflet.css"),
        kleber_web::assets::url("MarkerCluster.css"),
        kleber_web::assets::url("MarkerCluster.Default.css"),
    ];
    layout.scripts = vec![
        kleber_web::assets::url("leaflet.js"),
        kleber_web::assets::url("leaflet.markercluster.js"),
        kleber_web::assets::url("map.js"),
    ];
    let map = MapPage {
        layout,
        ds: header(record, ctx, "map"),
        filters: record_filters,
        data_url,
        tile_url: state.web.tile_url.clone(),
        tile_attribution: state.web.tile_attribution.clone(),
        located,
        title_label: cells::label(title_field, ctx.lang),
        location_label: if geo.field_type == FieldType::GeoShape {
            ctx.lang.messages().shape
        } else {
            ctx.lang.messages().location
        },
        labels_json: serde_json::Value::Object(
            popup_fields
                .iter()
                .map(|f| (f.name.clone(), Value::from(cells::label(f, ctx.lang))))
                .collect(),
        )
        .to_string(),
        title_field: title_field.name.clone(),
        pagination: pagination(ctx, &path, number, total),
    };
    page(state, ctx, &map, if embed { Framing::Anywhere } else { Framing::SameOrigin })
}
