//! The api tab: ready-to-copy calls for one dataset (curl, ODSQL, JavaScript, Python), written
//! from its schema so that every example names real fields, and from its data so that every
//! example finds records (the text searched is a frequent value, the point a record's).

use kleber_app::DatasetVersion;
use kleber_types::{Field, FieldType};
use kleber_web::pages::{ApiPage, Snippet, SnippetGroup};
use kleber_web::url::Query;

use kleber_query::RecordsQuery;
use serde_json::Value;

use super::dataset::{header, layout};
use super::filters::{odsql_field, odsql_string};
use super::{PageContext, PageError};
use crate::state::AppState;

fn first(fields: &[Field], pred: impl Fn(&Field) -> bool) -> Option<&Field> {
    fields.iter().find(|f| pred(f))
}

/// The text field the examples group and search by: the first facet, else the first text.
fn text_field(fields: &[Field]) -> Option<&Field> {
    first(fields, |f| f.field_type == FieldType::Text && f.annotations.contains_key("facet"))
        .or_else(|| first(fields, |f| f.field_type == FieldType::Text))
}

/// An ODSQL example: its description in French, in English, and its query pairs.
type Example = (String, String, Vec<(String, String)>);

/// Values taken from the data, so that the examples find records.
#[derive(Debug, Default)]
struct FromData {
    /// A frequent value of the text field, to search for.
    word: Option<String>,
    /// A located record: its point (lon, lat) and its name.
    place: Option<((f64, f64), String)>,
}

/// The words searched for: a short value as it is, a long one by its longest word.
fn search_text(value: &str) -> Option<String> {
    let value = value.trim();
    if value.chars().count() <= 40 {
        return (!value.is_empty()).then(|| value.to_owned());
    }
    value
        .split(|c: char| !c.is_alphanumeric())
        .max_by_key(|w| w.chars().count())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
}

/// Runs `query` and returns its rows as JSON objects.
async fn rows(
    state: &AppState,
    ctx: &PageContext,
    version: &DatasetVersion,
    query: RecordsQuery,
) -> Result<Vec<Value>, PageError> {
    let page = state
        .app
        .rows(&ctx.request(), version, &query)
        .await
        .map_err(|e| PageError::from_api(ctx, e))?;
    page.values().map_err(|e| PageError::internal(ctx, e))
}

/// The most frequent value of the text field and a located record, from the data (two small
/// queries, cached by dataset version).
async fn from_data(
    state: &AppState,
    ctx: &PageContext,
    version: &DatasetVersion,
) -> Result<FromData, PageError> {
    let record = version.record();
    let fields = &record.version.fields;
    let key = super::cache::key(&version.cache_scope(), record.version.number, &["api examples"]);
    let cached = match state.web.charts.get(&key) {
        Some(found) => found,
        None => {
            let mut found = Vec::new();
            if let Some(t) = text_field(fields) {
                let name = odsql_field(&t.name);
                let query = RecordsQuery {
                    select: Some(format!("{name} as v, count(*) as n")),
                    r#where: vec![format!("{name} is not null")],
                    // Ties broken by the value: the same data always shows the same example.
                    order_by: Some(format!("n desc, {name}")),
                    group_by: Some(name),
                    limit: Some(1),
                    ..RecordsQuery::default()
                };
                let top = rows(state, ctx, version, query).await?;
                let value = top.first().and_then(|r| r.get("v")).cloned().unwrap_or(Value::Null);
                found.push((Value::from("word"), value));
            }
            if let Some(p) = first(fields, |f| f.field_type == FieldType::GeoPoint2d) {
                let name = odsql_field(&p.name);
                // Named like its marker on the map: by the first text field.
                let title = first(fields, |f| f.field_type == FieldType::Text)
                    .map(|t| odsql_field(&t.name));
                let query = RecordsQuery {
                    select: Some(match &title {
                        Some(t) => format!("{name} as p, {t} as t"),
                        None => format!("{name} as p"),
                    }),
                    r#where: vec![format!("{name} is not null")],
                    limit: Some(1),
                    ..RecordsQuery::default()
                };
                let located = rows(state, ctx, version, query).await?;
                found.push((Value::from("place"), located.into_iter().next().unwrap_or_default()));
            }
            state.web.charts.put(key, found)
        }
    };
    let mut out = FromData::default();
    for (what, value) in cached.iter() {
        match what.as_str() {
            Some("word") => {
                let text = match value {
                    Value::Array(items) => items.first().and_then(Value::as_str),
                    other => other.as_str(),
                };
                out.word = text.and_then(search_text);
            }
            Some("place") => {
                let point = value.get("p");
                let lon = point.and_then(|p| p.get("lon")).and_then(Value::as_f64);
                let lat = point.and_then(|p| p.get("lat")).and_then(Value::as_f64);
                let name = value.get("t").and_then(Value::as_str).unwrap_or_default();
                if let (Some(lon), Some(lat)) = (lon, lat) {
                    out.place = Some(((lon, lat), name.to_owned()));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// ODSQL examples for a schema, searching and locating with values of the data.
fn odsql_examples(fields: &[Field], data: &FromData) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let text = text_field(fields);
    let number = first(fields, |f| matches!(f.field_type, FieldType::Int | FieldType::Double));
    let date = first(fields, |f| matches!(f.field_type, FieldType::Date | FieldType::Datetime));
    let point = first(fields, |f| f.field_type == FieldType::GeoPoint2d);
    if let Some(word) = &data.word {
        out.push((
            format!("Recherche plein texte de « {word} », 10 premiers résultats"),
            format!("Full-text search for \u{201c}{word}\u{201d}, first 10 results"),
            vec![("where".into(), odsql_string(word)), ("limit".into(), "10".into())],
        ));
    }
    if let Some(t) = text {
        out.push((
            "Nombre d'enregistrements par valeur".into(),
            "Number of records per value".into(),
            vec![
                ("select".into(), format!("{} as valeur, count(*) as n", odsql_field(&t.name))),
                ("group_by".into(), odsql_field(&t.name)),
                ("order_by".into(), "n desc".into()),
            ],
        ));
    }
    if let Some(n) = number {
        out.push((
            "Les 5 plus grandes valeurs".into(),
            "The 5 largest values".into(),
            vec![
                ("order_by".into(), format!("{} desc", odsql_field(&n.name))),
                ("limit".into(), "5".into()),
            ],
        ));
        out.push((
            "Moyenne, minimum et maximum".into(),
            "Average, minimum and maximum".into(),
            vec![(
                "select".into(),
                format!(
                    "avg({0}) as moyenne, min({0}) as minimum, max({0}) as maximum",
                    odsql_field(&n.name)
                ),
            )],
        ));
    }
    if let Some(d) = date {
        out.push((
            "Enregistrements par année".into(),
            "Records per year".into(),
            vec![
                (
                    "select".into(),
                    format!("year({}) as annee, count(*) as n", odsql_field(&d.name)),
                ),
                ("group_by".into(), format!("year({})", odsql_field(&d.name))),
            ],
        ));
    }
    if let (Some(p), Some(((lon, lat), name))) = (point, &data.place) {
        let (fr, en) = if name.is_empty() {
            ("d'un enregistrement".to_owned(), "a record".to_owned())
        } else {
            (format!("de « {name} »"), format!("\u{201c}{name}\u{201d}"))
        };
        out.push((
            format!("Enregistrements à moins de 1 km {fr}"),
            format!("Records within 1 km of {en}"),
            vec![(
                "where".into(),
                format!(
                    "within_distance({}, geom'POINT({lon:.5} {lat:.5})', 1km)",
                    odsql_field(&p.name)
                ),
            )],
        ));
    }
    out
}

/// The api tab of `record`.
pub(crate) async fn api_page(
    state: &AppState,
    ctx: &PageContext,
    version: &DatasetVersion,
) -> Result<ApiPage, PageError> {
    let record = version.record();
    let t = ctx.lang.messages();
    let en = ctx.lang == kleber_web::Lang::En;
    let host = ctx.url("");
    let id = &record.id;
    let records = format!("{host}/api/explore/v2.1/catalog/datasets/{id}/records");
    let exports = format!("{host}/api/explore/v2.1/catalog/datasets/{id}/exports");
    let snippet = |key: &str, title: &str, code: String| Snippet {
        id: format!("snippet-{key}"),
        title: title.to_owned(),
        code,
    };
    let curl = SnippetGroup {
        heading: t.api_curl,
        snippets: vec![
            snippet(
                "curl-records",
                if en { "The first 10 records" } else { "Les 10 premiers enregistrements" },
                format!("curl '{records}?limit=10'"),
            ),
            snippet(
                "curl-dataset",
                if en {
                    "The dataset's metadata and schema"
                } else {
                    "Les métadonnées et le schéma"
                },
                format!("curl '{host}/api/explore/v2.1/catalog/datasets/{id}'"),
            ),
            snippet(
                "curl-csv",
                if en { "Every record as CSV" } else { "Tous les enregistrements en CSV" },
                format!("curl -o {id}.csv '{exports}/csv'"),
            ),
        ],
    };
    let odsql = SnippetGroup {
        heading: t.api_odsql,
        snippets: odsql_examples(&record.version.fields, &from_data(state, ctx, version).await?)
            .into_iter()
            .enumerate()
            .map(|(i, (fr, english, pairs))| {
                let url = Query::from_pairs(pairs.clone()).href(&records);
                let plain: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                snippet(
                    &format!("odsql-{i}"),
                    if en { &english } else { &fr },
                    format!("{}\n\ncurl '{url}'", plain.join("\n")),
                )
            })
            .collect(),
    };
    let js = SnippetGroup {
        heading: t.api_js,
        snippets: vec![snippet(
            "js",
            if en { "With the Opendatasoft client" } else { "Avec le client Opendatasoft" },
            format!(
                "// npm install @opendatasoft/api-client\n\
                 import {{ ApiClient, fromCatalog }} from \"@opendatasoft/api-client\";\n\n\
                 const client = new ApiClient({{ domain: \"{host}\" }});\n\
                 const query = fromCatalog().dataset(\"{id}\").records().limit(10).toString();\n\
                 const response = await client.get(query);\n\
                 console.log(response.total_count, response.results);"
            ),
        )],
    };
    let python = SnippetGroup {
        heading: t.api_python,
        snippets: vec![
            snippet(
                "py-requests",
                if en { "With requests" } else { "Avec requests" },
                format!(
                    "import requests\n\n\
                     response = requests.get(\"{records}\", params={{\"limit\": 10}})\n\
                     response.raise_for_status()\n\
                     for record in response.json()[\"results\"]:\n    print(record)"
                ),
            ),
            snippet(
                "py-odsclient",
                if en {
                    "With odsclient (a pandas DataFrame)"
                } else {
                    "Avec odsclient (un DataFrame pandas)"
                },
                format!(
                    "# pip install odsclient pandas\n\
                     from odsclient import get_whole_dataframe\n\n\
                     df = get_whole_dataframe(dataset_id=\"{id}\", base_url=\"{host}\")\n\
                     print(df.head())"
                ),
            ),
        ],
    };
    Ok(ApiPage {
        layout: layout(record, ctx, "api", false),
        ds: header(record, ctx, "api"),
        groups: vec![curl, odsql, js, python],
    })
}
