//! The api tab: ready-to-copy calls for one dataset (curl, ODSQL, JavaScript, Python), written
//! from its schema so that every example names real fields.

use kleber_store::DatasetRecord;
use kleber_types::{Field, FieldType};
use kleber_web::pages::{ApiPage, Snippet, SnippetGroup};
use kleber_web::url::Query;

use super::PageContext;
use super::dataset::{header, layout};
use super::filters::odsql_field;

fn first(fields: &[Field], pred: impl Fn(&Field) -> bool) -> Option<&Field> {
    fields.iter().find(|f| pred(f))
}

/// An ODSQL example: its description in French, in English, and its query pairs.
type Example = (&'static str, &'static str, Vec<(String, String)>);

/// ODSQL examples for a schema.
fn odsql_examples(fields: &[Field]) -> Vec<Example> {
    let mut out = Vec::new();
    let text =
        first(fields, |f| f.field_type == FieldType::Text && f.annotations.contains_key("facet"))
            .or_else(|| first(fields, |f| f.field_type == FieldType::Text));
    let number = first(fields, |f| matches!(f.field_type, FieldType::Int | FieldType::Double));
    let date = first(fields, |f| matches!(f.field_type, FieldType::Date | FieldType::Datetime));
    let point = first(fields, |f| f.field_type == FieldType::GeoPoint2d);
    out.push((
        "Recherche plein texte, 10 premiers résultats",
        "Full-text search, first 10 results",
        vec![("where".into(), "\"strasbourg\"".into()), ("limit".into(), "10".into())],
    ));
    if let Some(t) = text {
        out.push((
            "Nombre d'enregistrements par valeur",
            "Number of records per value",
            vec![
                ("select".into(), format!("{} as valeur, count(*) as n", odsql_field(&t.name))),
                ("group_by".into(), odsql_field(&t.name)),
                ("order_by".into(), "n desc".into()),
            ],
        ));
    }
    if let Some(n) = number {
        out.push((
            "Les 5 plus grandes valeurs",
            "The 5 largest values",
            vec![
                ("order_by".into(), format!("{} desc", odsql_field(&n.name))),
                ("limit".into(), "5".into()),
            ],
        ));
        out.push((
            "Moyenne, minimum et maximum",
            "Average, minimum and maximum",
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
            "Enregistrements par année",
            "Records per year",
            vec![
                (
                    "select".into(),
                    format!("year({}) as annee, count(*) as n", odsql_field(&d.name)),
                ),
                ("group_by".into(), format!("year({})", odsql_field(&d.name))),
            ],
        ));
    }
    if let Some(p) = point {
        out.push((
            "Enregistrements à moins de 1 km de la cathédrale",
            "Records within 1 km of the cathedral",
            vec![(
                "where".into(),
                format!(
                    "within_distance({}, geom'POINT(7.7509 48.5818)', 1km)",
                    odsql_field(&p.name)
                ),
            )],
        ));
    }
    out
}

/// The api tab of `record`.
pub(crate) fn api_page(ctx: &PageContext, record: &DatasetRecord) -> ApiPage {
    let t = ctx.lang.messages();
    let en = ctx.lang == kleber_web::Lang::En;
    let host = if ctx.base_url.is_empty() {
        "http://127.0.0.1:8080".to_owned()
    } else {
        ctx.base_url.clone()
    };
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
        snippets: odsql_examples(&record.version.fields)
            .into_iter()
            .enumerate()
            .map(|(i, (fr, english, pairs))| {
                let url = Query::from_pairs(pairs.clone()).href(&records);
                let plain: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                snippet(
                    &format!("odsql-{i}"),
                    if en { english } else { fr },
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
    ApiPage {
        layout: layout(record, ctx, "api", false),
        ds: header(record, ctx, "api"),
        groups: vec![curl, odsql, js, python],
    }
}
