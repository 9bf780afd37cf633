//! `datastore_search` over a dataset's CSV resource, and `datastore_search_sql` refused.
//!
//! CKAN's parameters become one Explore query over the dataset, planned and run by
//! [`kleber_app::App::records`] (or [`kleber_app::App::rows`] without `include_total`):
//! `filters` → `field = value` / `field IN (...)`, `q` → a full-text search (text: every
//! field; object: `search(field, text)` per field), `fields` → `select`, `sort` →
//! `order_by`, `limit`/`offset` as given. Field names are checked against the dataset first,
//! and values are written as ODSQL literals by `kleber_odsql::write`, never spliced.
//! Records are the Explore API's values (same encodings), with `_id` the record's id.

use kleber_export::ExportFormat;
use kleber_odsql::write;
use kleber_query::RecordsQuery;
use kleber_types::{Field, FieldType};
use serde_json::{Map, Value, json};

use super::Call;
use super::args::kind;
use super::package::parse_resource_id;
use crate::shared::ckan_error::CkanError;

/// Default `limit` (CKAN's).
const DEFAULT_LIMIT: i64 = 100;
/// Largest `limit` (CKAN's `ckan.datastore.search.rows_max` default).
const MAX_LIMIT: i64 = 32_000;
/// The key of the record id column.
const ID: &str = "_id";

/// CKAN's (PostgreSQL's) name of a field type.
fn ckan_type(t: FieldType) -> &'static str {
    match t {
        FieldType::Text => "text",
        FieldType::Int => "int",
        FieldType::Double => "numeric",
        FieldType::Boolean => "bool",
        FieldType::Date => "date",
        FieldType::Datetime => "timestamp",
        FieldType::GeoPoint2d | FieldType::GeoShape => "json",
    }
}

fn not_in_resource(parameter: &str, name: &str) -> CkanError {
    CkanError::validation(parameter, format!("field \"{name}\" not in resource"))
}

/// The ODSQL literal of a filter value for `field`.
fn literal(field: &Field, value: &Value) -> Result<String, CkanError> {
    let bad = || {
        CkanError::validation(
            "filters",
            format!(
                "invalid value for field \"{}\" ({}): {}",
                field.name,
                ckan_type(field.field_type),
                match value {
                    Value::String(s) => format!("{s:?}"),
                    other => kind(other).to_owned(),
                }
            ),
        )
    };
    match (field.field_type, value) {
        (FieldType::Text, Value::String(s)) => Ok(write::string(s)),
        (FieldType::Text, Value::Number(n)) => Ok(write::string(&n.to_string())),
        (FieldType::Int | FieldType::Double, Value::Number(n)) => {
            n.as_f64().and_then(write::number).ok_or_else(bad)
        }
        (FieldType::Int | FieldType::Double, Value::String(s)) => {
            s.trim().parse::<f64>().ok().and_then(write::number).ok_or_else(bad)
        }
        (FieldType::Boolean, Value::Bool(b)) => Ok(b.to_string()),
        (FieldType::Boolean, Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "1" => Ok("true".to_owned()),
            "false" | "f" | "0" => Ok("false".to_owned()),
            _ => Err(bad()),
        },
        (FieldType::Date | FieldType::Datetime, Value::String(s)) => Ok(write::date(s.trim())),
        _ => Err(bad()),
    }
}

/// The `where` of CKAN's `filters`: each field equal to its value, or to one of its values.
fn filters_where(filters: &Map<String, Value>, fields: &[Field]) -> Result<Vec<String>, CkanError> {
    let mut clauses = Vec::new();
    for (name, value) in filters {
        let field = fields
            .iter()
            .find(|f| &f.name == name)
            .ok_or_else(|| not_in_resource("filters", name))?;
        let name = write::name(&field.name);
        match value {
            Value::Array(items) if items.is_empty() => {
                return Err(CkanError::validation(
                    "filters",
                    format!("field \"{}\": an empty list matches nothing", field.name),
                ));
            }
            Value::Array(items) => {
                let literals =
                    items.iter().map(|v| literal(field, v)).collect::<Result<Vec<_>, _>>()?;
                clauses.push(format!("{name} IN ({})", literals.join(", ")));
            }
            value => clauses.push(format!("{name} = {}", literal(field, value)?)),
        }
    }
    Ok(clauses)
}

/// The `where` of CKAN's `q`: text searched in every field, or an object of texts searched
/// each in its field.
fn q_where(call: &Call<'_>, fields: &[Field]) -> Result<Vec<String>, CkanError> {
    match call.args.get("q") {
        None => Ok(Vec::new()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Vec::new()),
        Some(Value::String(s)) if !s.trim_start().starts_with('{') => {
            Ok(vec![write::string(s.trim())])
        }
        Some(_) => {
            let map = call.args.object("q")?.unwrap_or_default();
            let mut clauses = Vec::new();
            for (name, text) in &map {
                let field = fields
                    .iter()
                    .find(|f| &f.name == name)
                    .ok_or_else(|| not_in_resource("q", name))?;
                let Value::String(text) = text else {
                    return Err(CkanError::validation(
                        "q",
                        format!(
                            "field \"{name}\": a text to search is expected, not {}",
                            kind(text)
                        ),
                    ));
                };
                if field.field_type != FieldType::Text {
                    return Err(CkanError::validation(
                        "q",
                        format!("field \"{name}\" is not a text field"),
                    ));
                }
                if !text.trim().is_empty() {
                    clauses.push(format!(
                        "search({}, {})",
                        write::name(&field.name),
                        write::string(text.trim())
                    ));
                }
            }
            Ok(clauses)
        }
    }
}

/// The `order_by` of CKAN's `sort` (`field [asc|desc], ...`, names possibly in quotes).
fn sort_order(call: &Call<'_>, fields: &[Field]) -> Result<Option<String>, CkanError> {
    let items = match call.args.get("sort") {
        None => return Ok(None),
        Some(Value::Array(_)) => call.args.list("sort")?.unwrap_or_default(),
        Some(_) => {
            call.args.str("sort")?.unwrap_or_default().split(',').map(str::to_owned).collect()
        }
    };
    let mut order = Vec::new();
    for item in items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let (name, direction) = if let Some(rest) = item.strip_prefix('"') {
            let end = rest.find('"').ok_or_else(|| {
                CkanError::validation("sort", format!("a quote is not closed in {item:?}"))
            })?;
            (&rest[..end], rest[end + 1..].trim())
        } else {
            match item.split_once(char::is_whitespace) {
                Some((name, direction)) => (name, direction.trim()),
                None => (item, ""),
            }
        };
        let descending = match direction.to_ascii_lowercase().as_str() {
            "" | "asc" => false,
            "desc" => true,
            other => {
                return Err(CkanError::validation(
                    "sort",
                    format!("{other:?} after \"{name}\": asc or desc is expected"),
                ));
            }
        };
        let field =
            fields.iter().find(|f| f.name == name).ok_or_else(|| not_in_resource("sort", name))?;
        let direction = if descending { "DESC" } else { "ASC" };
        order.push(format!("{} {direction}", write::name(&field.name)));
    }
    Ok((!order.is_empty()).then(|| order.join(", ")))
}

/// One record as CSV or TSV text (no header), values as CKAN writes them.
fn delimited(rows: &[Vec<Value>], delimiter: u8) -> Result<String, CkanError> {
    let mut writer = csv::WriterBuilder::new().delimiter(delimiter).from_writer(Vec::new());
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .map(|v| match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        writer.write_record(&cells).map_err(|e| CkanError::from(crate::ApiError::internal(e)))?;
    }
    let bytes = writer.into_inner().map_err(|e| CkanError::from(crate::ApiError::internal(e)))?;
    String::from_utf8(bytes).map_err(|e| CkanError::from(crate::ApiError::internal(e)))
}

/// The query string of this search at `offset` (for `_links`).
fn link(call: &Call<'_>, offset: Option<i64>) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (key, value) in call.args.pairs() {
        if key == "offset" {
            continue;
        }
        match value {
            Value::Null => {}
            Value::String(s) => {
                out.append_pair(key, s);
            }
            other => {
                out.append_pair(key, &other.to_string());
            }
        }
    }
    if let Some(offset) = offset {
        out.append_pair("offset", &offset.to_string());
    }
    format!("{}/datastore_search?{}", super::ACTION_V3, out.finish())
}

/// `datastore_search`.
pub(crate) async fn datastore_search(call: &Call<'_>) -> Result<Value, CkanError> {
    let resource_id = call.args.required("resource_id")?;
    let missing = || CkanError::not_found(format!("Resource \"{resource_id}\" was not found."));
    let (dataset, format) = parse_resource_id(&resource_id).ok_or_else(missing)?;
    if format != ExportFormat::Csv {
        return Err(missing());
    }
    let version = match call.resolution.dataset(call.state, dataset).await {
        Ok(version) => version,
        Err(e) if e.code == kleber_types::ErrorCode::DatasetNotFound => return Err(missing()),
        Err(e) => return Err(e.into()),
    };
    let fields = version.fields().to_vec();
    let limit = call.args.int("limit", DEFAULT_LIMIT, 0, MAX_LIMIT)?;
    let offset = call.args.int("offset", 0, 0, i64::from(u32::MAX))?;
    let include_total = call.args.bool("include_total", true)?;
    let records_format = call.args.str("records_format")?.unwrap_or_else(|| "objects".to_owned());
    if !["objects", "lists", "csv", "tsv"].contains(&records_format.as_str()) {
        return Err(CkanError::validation(
            "records_format",
            format!("Value must be one of objects, lists, csv, tsv; {records_format:?} was given."),
        ));
    }
    // The columns asked, `_id` first (CKAN's order), each checked.
    let asked: Vec<String> = match call.args.list("fields")? {
        Some(names) if !names.is_empty() => {
            for name in &names {
                if name != ID && !fields.iter().any(|f| &f.name == name) {
                    return Err(not_in_resource("fields", name));
                }
            }
            names
        }
        _ => std::iter::once(ID.to_owned()).chain(fields.iter().map(|f| f.name.clone())).collect(),
    };
    let selected: Vec<&Field> =
        asked.iter().filter_map(|n| fields.iter().find(|f| &f.name == n)).collect();
    let mut r#where = match call.args.object("filters")? {
        Some(filters) => filters_where(&filters, &fields)?,
        None => Vec::new(),
    };
    r#where.extend(q_where(call, &fields)?);
    let order_by = sort_order(call, &fields)?;
    let select = if selected.is_empty() {
        // Only `_id` asked: one field is still selected, the ids come beside it.
        fields.first().map(|f| write::name(&f.name))
    } else {
        Some(
            selected
                .iter()
                .map(|f| format!("{0} AS {0}", write::name(&f.name)))
                .collect::<Vec<_>>()
                .join(", "),
        )
    };
    let query = RecordsQuery {
        select,
        r#where,
        order_by,
        limit: Some(usize::try_from(limit).unwrap_or(usize::MAX)),
        offset: usize::try_from(offset).unwrap_or(usize::MAX),
        record_id_column: Some(ID.to_owned()),
        ..RecordsQuery::default()
    };
    let ctx = call.resolution.context();
    let page = if include_total {
        call.state.app.records(&ctx, &version, &query).await?
    } else {
        call.state.app.rows(&ctx, &version, &query).await?
    };
    let values = page.values()?;
    let rows: Vec<Vec<Value>> = values
        .iter()
        .map(|v| asked.iter().map(|name| v.get(name).cloned().unwrap_or(Value::Null)).collect())
        .collect();
    let records = match records_format.as_str() {
        "objects" => Value::Array(
            rows.iter()
                .map(|row| Value::Object(asked.iter().cloned().zip(row.iter().cloned()).collect()))
                .collect(),
        ),
        "lists" => json!(rows),
        "csv" => json!(delimited(&rows, b',')?),
        _ => json!(delimited(&rows, b'\t')?),
    };
    let field_objects: Vec<Value> = asked
        .iter()
        .map(|name| match fields.iter().find(|f| &f.name == name) {
            Some(f) => json!({
                "id": f.name,
                "type": ckan_type(f.field_type),
                "info": {"label": f.label, "notes": f.description.clone().unwrap_or_default()},
            }),
            None => json!({"id": ID, "type": "text"}),
        })
        .collect();
    let mut result = Map::new();
    result.insert("include_total".into(), json!(include_total));
    result.insert("resource_id".into(), json!(resource_id));
    result.insert("fields".into(), Value::Array(field_objects));
    result.insert("records_format".into(), json!(records_format));
    result.insert("records".into(), records);
    result.insert("limit".into(), json!(limit));
    for echoed in ["offset", "q", "filters", "sort"] {
        if let Some(value) = call.args.get(echoed) {
            result.insert(echoed.into(), value.clone());
        }
    }
    result.insert(
        "_links".into(),
        json!({"start": link(call, None), "next": link(call, Some(offset + limit))}),
    );
    if include_total {
        result.insert("total".into(), json!(page.total));
        result.insert("total_was_estimated".into(), json!(false));
    }
    result.insert("total_estimation_threshold".into(), Value::Null);
    Ok(Value::Object(result))
}

/// `datastore_search_sql`: refused. Kleber runs no SQL sent by clients; the message says
/// what to use instead.
pub(crate) fn datastore_search_sql() -> CkanError {
    CkanError::forbidden(
        "datastore_search_sql is not available on this portal: Kleber runs no SQL sent by clients. \
         Use datastore_search (filters, q, fields, sort, limit, offset), or the Explore API's ODSQL \
         (/api/explore/v2.1/catalog/datasets/{id}/records?where=...&group_by=...).",
    )
}
