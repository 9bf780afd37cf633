//! The analyze tab: a chart builder over one `group_by` query. The server runs the query and
//! prints its groups as a table (the chart's text alternative, and the chart without
//! JavaScript); the script draws the same numbers with Chart.js.

use axum::response::Response;
use kleber_app::DatasetVersion;
use kleber_query::RecordsQuery;
use kleber_types::{Field, FieldType};
use kleber_web::pages::{AnalyzePage, ChartRow};
use kleber_web::view::{Hidden, SelectOption, script_json};
use serde_json::{Value, json};

use super::cells;
use super::dataset::{header, layout, tab_path};
use super::filters::{self, Filters, odsql_field};
use super::{Framing, PageContext, PageError, page};
use crate::state::AppState;

/// Most groups drawn.
const MAX_GROUPS: usize = 200;
const AGGREGATES: &[&str] = &["avg", "sum", "min", "max"];
const TYPES: &[&str] = &["bar", "line", "pie"];

fn is_date(f: &Field) -> bool {
    matches!(f.field_type, FieldType::Date | FieldType::Datetime)
}

fn is_number(f: &Field) -> bool {
    matches!(f.field_type, FieldType::Int | FieldType::Double)
}

/// The x choices: text, integer and boolean fields, and years and months of dates.
fn x_choices(fields: &[Field], t: &kleber_web::Messages) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in fields {
        if is_date(f) {
            let label = kleber_web::format::in_phrase(&cells::label(f, t.lang()));
            out.push((format!("year({})", f.name), format!("{} {label}", t.bucket_year)));
            out.push((format!("month({})", f.name), format!("{} {label}", t.bucket_month)));
        } else if matches!(f.field_type, FieldType::Text | FieldType::Int | FieldType::Boolean) {
            out.push((f.name.clone(), cells::label(f, t.lang())));
        }
    }
    out
}

/// The y choices: the count, and each aggregate of each numeric field.
fn y_choices(fields: &[Field], t: &kleber_web::Messages) -> Vec<(String, String)> {
    let mut out = vec![("count(*)".to_owned(), t.count_records.to_owned())];
    for f in fields.iter().filter(|f| is_number(f)) {
        for (agg, label) in AGGREGATES.iter().zip([t.agg_avg, t.agg_sum, t.agg_min, t.agg_max]) {
            let name = kleber_web::format::in_phrase(&cells::label(f, t.lang()));
            out.push((format!("{agg}({})", f.name), format!("{label} {name}")));
        }
    }
    out
}

/// The ODSQL of a chosen x (`month(d)` is the month of each year, `yyyy-MM`).
fn x_expr(x: &str, fields: &[Field]) -> Option<String> {
    let call = |prefix: &str| x.strip_prefix(prefix).and_then(|r| r.strip_suffix(')'));
    if let Some(name) = call("year(") {
        let f = fields.iter().find(|f| f.name == name && is_date(f))?;
        return Some(format!("year({})", odsql_field(&f.name)));
    }
    if let Some(name) = call("month(") {
        let f = fields.iter().find(|f| f.name == name && is_date(f))?;
        return Some(format!("date_format({}, 'yyyy-MM')", odsql_field(&f.name)));
    }
    let f = fields.iter().find(|f| f.name == x)?;
    matches!(f.field_type, FieldType::Text | FieldType::Int | FieldType::Boolean)
        .then(|| odsql_field(&f.name))
}

/// The ODSQL of a chosen y.
fn y_expr(y: &str, fields: &[Field]) -> Option<String> {
    if y == "count(*)" {
        return Some("count(*)".to_owned());
    }
    let (agg, rest) = y.split_once('(')?;
    let name = rest.strip_suffix(')')?;
    let f = fields.iter().find(|f| f.name == name && is_number(f))?;
    AGGREGATES.contains(&agg).then(|| format!("{agg}({})", odsql_field(&f.name)))
}

/// The default x: the year of the first date, else the first facet, else the first choice.
fn default_x(fields: &[Field], choices: &[(String, String)]) -> Option<String> {
    if let Some(f) = fields.iter().find(|f| is_date(f)) {
        return Some(format!("year({})", f.name));
    }
    if let Some(f) = fields
        .iter()
        .find(|f| f.field_type == FieldType::Text && f.annotations.contains_key("facet"))
    {
        return Some(f.name.clone());
    }
    choices.first().map(|(v, _)| v.clone())
}

fn options(choices: &[(String, String)], selected: &str) -> Vec<SelectOption> {
    choices
        .iter()
        .map(|(value, label)| SelectOption {
            value: value.clone(),
            label: label.clone(),
            selected: value == selected,
        })
        .collect()
}

/// The analyze tab.
pub(crate) async fn analyze_tab(
    state: &AppState,
    ctx: &PageContext,
    version: &DatasetVersion,
    embed: bool,
) -> Result<Response, PageError> {
    let record = version.record();
    let t = ctx.lang.messages();
    let fields = &record.version.fields;
    let path = tab_path(&record.id, "analyze", embed);
    let filters = Filters::parse(ctx, &ctx.query, fields)?;
    let xs = x_choices(fields, t);
    let ys = y_choices(fields, t);
    let x = match ctx.query.get("x") {
        Some(x) => x.to_owned(),
        None => default_x(fields, &xs).unwrap_or_default(),
    };
    let y = ctx.query.get("y").unwrap_or("count(*)").to_owned();
    let default_type =
        if x.starts_with("year(") || x.starts_with("month(") { "line" } else { "bar" };
    let chart_type = ctx.query.get("type").unwrap_or(default_type).to_owned();
    if !TYPES.contains(&chart_type.as_str()) {
        return Err(PageError::bad_request(
            ctx,
            format!("Unknown chart type {chart_type:?}: use bar, line or pie."),
        ));
    }
    let y_sql = y_expr(&y, fields).ok_or_else(|| {
        PageError::bad_request(ctx, format!("Cannot chart {y:?} for this dataset."))
    })?;
    let x_label = xs.iter().find(|(v, _)| *v == x).map(|(_, l)| l.clone()).unwrap_or_default();
    let y_label = ys.iter().find(|(v, _)| *v == y).map(|(_, l)| l.clone()).unwrap_or_default();

    let mut rows = Vec::new();
    let mut labels = Vec::new();
    let mut values = Vec::new();
    if !x.is_empty() {
        let x_sql = x_expr(&x, fields).ok_or_else(|| {
            PageError::bad_request(ctx, format!("Cannot group by {x:?} in this dataset."))
        })?;
        let mut query: RecordsQuery = filters.records_query();
        let key = super::cache::key(
            &version.cache_scope(),
            record.version.number,
            &[
                &super::cache::list(&query.r#where),
                &super::cache::list(&query.refine),
                &x_sql,
                &y_sql,
            ],
        );
        let groups = match state.web.charts.get(&key) {
            Some(groups) => groups,
            None => {
                query.select = Some(format!("{x_sql} as x, {y_sql} as y"));
                query.group_by = Some(x_sql);
                query.limit = Some(MAX_GROUPS);
                let page = state
                    .app
                    .rows(&ctx.request(), version, &query)
                    .await
                    .map_err(|e| PageError::from_api(ctx, e))?;
                let mut groups = Vec::new();
                for v in page.values().map_err(|e| PageError::internal(ctx, e))? {
                    groups.push((
                        v.get("x").cloned().unwrap_or(Value::Null),
                        v.get("y").cloned().unwrap_or(Value::Null),
                    ));
                }
                state.web.charts.put(key, groups)
            }
        };
        let x_field = fields.iter().find(|f| f.name == x);
        for (key, value) in groups.iter() {
            let key_text = match (key, x_field) {
                (Value::Null, _) => t.empty_value.to_owned(),
                // A year stays `2025`; a month is named (`janvier 2025`).
                _ if x.starts_with("year(") => key.to_string(),
                (Value::String(s), _) if x.starts_with("month(") => {
                    kleber_web::format::date_path(s, ctx.lang)
                }
                (_, Some(f)) => cells::cell(f, key, ctx.lang).text,
                _ => cells::display(key, ctx.lang),
            };
            let (shown, raw) = match value {
                Value::Number(n) => (cells::number(n, 2, ctx.lang), n.to_string()),
                other => (cells::display(other, ctx.lang), String::new()),
            };
            rows.push(ChartRow { x: key_text.clone(), y: shown, raw });
            labels.push(key_text);
            values.push(value.clone());
        }
    }
    let caption = format!("{y_label} – {x_label}");
    let chart_json = script_json(
        &json!({"type": chart_type, "label": y_label, "labels": labels, "values": values}),
    );
    let total = if filters.is_empty() {
        record.version.records_count
    } else {
        super::table::count(state, ctx, version, &filters).await?
    };
    let mut layout = layout(record, ctx, "analyze", embed);
    layout.scripts =
        vec![kleber_web::assets::url("chart.umd.min.js"), kleber_web::assets::url("chart.js")];
    let type_labels = [t.chart_bar, t.chart_line, t.chart_pie];
    let analyze = AnalyzePage {
        layout,
        ds: header(record, ctx, "analyze"),
        filters: kleber_web::pages::RecordFilters {
            q: filters.q.clone().unwrap_or_default(),
            hidden: Hidden::keep(&ctx.query, &["x", "y", "type", "lang"]),
            facets: Vec::new(),
            active: filters::active(
                &ctx.query.without(&["x", "y", "type", "sort"]),
                &path,
                |name| cells::label_of(fields, name, ctx.lang),
                |name, value| super::dataset::refined_value_label(fields, name, value, ctx.lang),
            ),
            clear_href: path.clone(),
            total: t.records(total),
        },
        x_options: options(&xs, &x),
        y_options: options(&ys, &y),
        type_options: TYPES
            .iter()
            .zip(type_labels)
            .map(|(v, l)| SelectOption {
                value: (*v).to_owned(),
                label: l.to_owned(),
                selected: *v == chart_type,
            })
            .collect(),
        caption,
        x_label,
        y_label,
        rows,
        chart_json,
    };
    page(state, ctx, &analyze, if embed { Framing::Anywhere } else { Framing::SameOrigin })
}
