//! A dataset as a CKAN 2.10 package, with its resources (one per export format), its
//! organization, its tags (keywords) and groups (themes).
//!
//! | CKAN | Kleber |
//! |---|---|
//! | `id` / `name` | dataset uid / dataset identifier |
//! | `title`, `notes` | title, description |
//! | `organization`, `owner_org` | the dataset's organization |
//! | `tags` | `keyword` metadata |
//! | `groups` | `theme` metadata (name: the theme's slug) |
//! | `license_id`, `license_title`, `license_url`, `isopen` | `license`, `license_url` |
//! | `private`, `state` | restricted or draft visibility (`state` is `draft` for drafts) |
//! | `metadata_created`, `metadata_modified` | current version's publication, last change |
//! | `extras` | every other metadata |
//! | `resources` | the export formats (geographic ones when the dataset has a geometry) |

use kleber_app::features;
use kleber_export::ExportFormat;
use kleber_store::{DatasetRecord, Organization, Visibility};
use serde_json::{Map, Value, json};

use crate::http::PublicUrl;

/// Metadata keys rendered as package fields, not as extras.
const MAPPED_METAS: &[&str] =
    &["title", "description", "keyword", "theme", "license", "license_url", "publisher"];

/// The Explore v2.1 prefix the resources' URLs point into.
const EXPLORE: &str = "/api/explore/v2.1";

/// A metadata value as a list of texts (a JSON list, or text separated by commas).
pub(crate) fn meta_list(record: &DatasetRecord, key: &str) -> Vec<String> {
    match record.metas.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) => {
            s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
        }
        _ => Vec::new(),
    }
}

fn meta_text<'a>(record: &'a DatasetRecord, key: &str) -> Option<&'a str> {
    record.metas.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// A CKAN name for `text` (lowercase ASCII, digits, `-` and `_`): how themes become groups.
pub(crate) fn slug(text: &str) -> String {
    kleber_types::technical_name(text).replace('_', "-")
}

/// An RFC 3339 instant as CKAN writes timestamps: UTC, no offset, microseconds.
pub(crate) fn ckan_time(rfc3339: &str) -> Value {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => json!(t.with_timezone(&chrono::Utc).format("%Y-%m-%dT%H:%M:%S%.6f").to_string()),
        Err(_) => Value::Null,
    }
}

/// A licence as CKAN names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct License {
    /// CKAN's identifier (`cc-by`, `odc-odbl`, ...).
    pub(crate) id: String,
    /// Its title.
    pub(crate) title: String,
    /// Where it is published.
    pub(crate) url: Option<String>,
    /// Whether it is an open licence (Open Definition).
    pub(crate) open: bool,
}

/// The licence of a dataset, from its `license` and `license_url` metadata: the usual open
/// licences get the identifiers of CKAN's licence list (and data.gouv.fr's for the Licence
/// Ouverte), any other its slug; none is CKAN's `notspecified`.
pub(crate) fn license(record: &DatasetRecord) -> License {
    let given_url = meta_text(record, "license_url").map(str::to_owned);
    let Some(title) = meta_text(record, "license") else {
        return License {
            id: "notspecified".to_owned(),
            title: "License not specified".to_owned(),
            url: given_url,
            open: false,
        };
    };
    let lower = title.to_lowercase();
    let has = |s: &str| lower.contains(s);
    let known: Option<(&str, &str)> =
        if has("licence ouverte") || has("open licence") || has("etalab") {
            if has("2") {
                Some(("lov2", "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"))
            } else {
                Some(("fr-lo", "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"))
            }
        } else if has("odbl") || has("open database") {
            Some(("odc-odbl", "https://opendatacommons.org/licenses/odbl/1-0/"))
        } else if has("pddl") {
            Some(("odc-pddl", "https://opendatacommons.org/licenses/pddl/1-0/"))
        } else if has("odc-by") || has("odc by") {
            Some(("odc-by", "https://opendatacommons.org/licenses/by/1-0/"))
        } else if has("cc0") || has("cc-zero") || has("cc zero") {
            Some(("cc-zero", "https://creativecommons.org/publicdomain/zero/1.0/"))
        } else if has("by-sa") || has("by sa") {
            Some(("cc-by-sa", "https://creativecommons.org/licenses/by-sa/4.0/"))
        } else if has("cc-by") || has("cc by") || has("creative commons attribution") {
            Some(("cc-by", "https://creativecommons.org/licenses/by/4.0/"))
        } else {
            None
        };
    match known {
        Some((id, url)) => License {
            id: id.to_owned(),
            title: title.to_owned(),
            url: given_url.or_else(|| Some(url.to_owned())),
            open: true,
        },
        None => License { id: slug(title), title: title.to_owned(), url: given_url, open: false },
    }
}

/// CKAN's name of an export format.
pub(crate) fn format_label(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Csv => "CSV",
        ExportFormat::Json => "JSON",
        ExportFormat::Jsonl => "JSONL",
        ExportFormat::GeoJson => "GeoJSON",
        ExportFormat::Xlsx => "XLSX",
        ExportFormat::Parquet => "Parquet",
        ExportFormat::Shp => "SHP",
        ExportFormat::Kml => "KML",
        ExportFormat::Gpx => "GPX",
        ExportFormat::Fgb => "FlatGeobuf",
        ExportFormat::JsonLd => "JSON-LD",
        ExportFormat::Turtle => "Turtle",
        ExportFormat::RdfXml => "RDF/XML",
        ExportFormat::N3 => "N3",
        ExportFormat::DataPackage => "Data Package",
    }
}

/// The export formats a dataset offers as resources: those that need a geometry only when
/// it has one.
pub(crate) fn formats(record: &DatasetRecord) -> Vec<ExportFormat> {
    let geo = features(record).contains(&"geo");
    ExportFormat::ALL.into_iter().filter(|f| geo || !f.needs_geometry()).collect()
}

/// The resource id of a dataset's export in `format`: `<dataset id>.<format>`, stable as
/// long as the dataset keeps its identifier.
pub(crate) fn resource_id(dataset: &str, format: ExportFormat) -> String {
    format!("{dataset}.{}", format.name())
}

/// The dataset identifier and format a resource id names, if it has the shape of one.
pub(crate) fn parse_resource_id(id: &str) -> Option<(&str, ExportFormat)> {
    let (dataset, format) = id.rsplit_once('.')?;
    Some((dataset, ExportFormat::from_name(format)?)).filter(|(d, _)| !d.is_empty())
}

/// The resource of `record`'s export in `format`, at `position` in the package.
pub(crate) fn resource(
    record: &DatasetRecord,
    format: ExportFormat,
    position: usize,
    base: &PublicUrl,
) -> Value {
    let url =
        base.url(&format!("{EXPLORE}/catalog/datasets/{}/exports/{}", record.id, format.name()));
    let mimetype = format.content_type().split(';').next().unwrap_or_default().trim();
    let label = format_label(format);
    let datastore = format == ExportFormat::Csv;
    let description = if datastore {
        format!("Every record of {} as {label}; also queried with datastore_search.", record.id)
    } else {
        format!("Every record of {} as {label}.", record.id)
    };
    json!({
        "id": resource_id(&record.id, format),
        "package_id": record.uid,
        "name": format!("{} ({label})", record.title),
        "description": description,
        "format": label,
        "mimetype": mimetype,
        "mimetype_inner": null,
        "url": url,
        "url_type": null,
        "resource_type": null,
        "datastore_active": datastore,
        "position": position,
        "created": ckan_time(&record.version.created_at),
        "last_modified": ckan_time(&record.version.created_at),
        "metadata_modified": ckan_time(&record.modified),
        "size": null,
        "hash": "",
        "cache_url": null,
        "cache_last_updated": null,
        "state": "active",
    })
}

/// The CKAN organization of `org` (without its counts and members).
pub(crate) fn organization(org: &Organization) -> Value {
    json!({
        "id": org.id,
        "name": org.id,
        "title": org.name,
        "display_name": org.name,
        "type": "organization",
        "description": org.description.clone().unwrap_or_default(),
        "image_url": org.logo.clone().unwrap_or_default(),
        "image_display_url": org.logo.clone().unwrap_or_default(),
        "created": ckan_time(&org.created_at),
        "is_organization": true,
        "approval_status": "approved",
        "state": "active",
    })
}

/// A group of a theme.
pub(crate) fn group(theme: &str) -> Value {
    json!({
        "id": slug(theme),
        "name": slug(theme),
        "title": theme,
        "display_name": theme,
        "description": "",
        "image_display_url": "",
    })
}

/// A tag of a keyword.
pub(crate) fn tag(keyword: &str) -> Value {
    json!({
        "id": keyword,
        "name": keyword,
        "display_name": keyword,
        "state": "active",
        "vocabulary_id": null,
    })
}

/// The value of an extra: text as is, anything else as JSON text.
fn extra_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The CKAN package of `record`, whose organization is `org` (if it exists).
pub(crate) fn package(
    record: &DatasetRecord,
    org: Option<&Organization>,
    base: &PublicUrl,
) -> Value {
    let tags: Vec<Value> = meta_list(record, "keyword").iter().map(|k| tag(k)).collect();
    let groups: Vec<Value> = meta_list(record, "theme").iter().map(|t| group(t)).collect();
    let resources: Vec<Value> = formats(record)
        .into_iter()
        .enumerate()
        .map(|(i, f)| resource(record, f, i, base))
        .collect();
    let licence = license(record);
    let mut extras: Vec<Value> = record
        .metas
        .iter()
        .filter(|(k, v)| !MAPPED_METAS.contains(&k.as_str()) && !v.is_null())
        .map(|(k, v)| json!({"key": k, "value": extra_value(v)}))
        .collect();
    extras.sort_by(|a, b| a["key"].as_str().cmp(&b["key"].as_str()));
    let mut package = Map::new();
    let mut put = |k: &str, v: Value| {
        package.insert(k.to_owned(), v);
    };
    put("id", json!(record.uid));
    put("name", json!(record.id));
    put("title", json!(record.title));
    put("notes", json!(record.description));
    put("type", json!("dataset"));
    put("state", json!(if record.visibility == Visibility::Draft { "draft" } else { "active" }));
    put("private", json!(record.visibility != Visibility::Public));
    put("owner_org", json!(org.map(|o| o.id.clone())));
    put("organization", org.map_or(Value::Null, organization));
    put("author", json!(meta_text(record, "publisher")));
    put("author_email", Value::Null);
    put("maintainer", Value::Null);
    put("maintainer_email", Value::Null);
    put("license_id", json!(licence.id));
    put("license_title", json!(licence.title));
    put("license_url", json!(licence.url));
    put("isopen", json!(licence.open));
    put("url", json!(base.url(&format!("/explore/dataset/{}/", record.id))));
    put("version", json!(record.version.number.to_string()));
    put("metadata_created", ckan_time(&record.version.created_at));
    put("metadata_modified", ckan_time(&record.modified));
    put("creator_user_id", Value::Null);
    put("num_tags", json!(tags.len()));
    put("tags", Value::Array(tags));
    put("groups", Value::Array(groups));
    put("num_resources", json!(resources.len()));
    put("resources", Value::Array(resources));
    put("extras", Value::Array(extras));
    put("relationships_as_object", json!([]));
    put("relationships_as_subject", json!([]));
    Value::Object(package)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_name_the_dataset_and_the_format() {
        let id = resource_id("velib.stations", ExportFormat::Csv);
        assert_eq!(id, "velib.stations.csv");
        assert_eq!(parse_resource_id(&id), Some(("velib.stations", ExportFormat::Csv)));
        assert_eq!(parse_resource_id("velib.docx"), None);
        assert_eq!(parse_resource_id(".csv"), None);
        assert_eq!(parse_resource_id("velib"), None);
    }

    #[test]
    fn timestamps_are_utc_without_offset() {
        assert_eq!(ckan_time("2024-03-01T10:00:00+01:00"), json!("2024-03-01T09:00:00.000000"));
        assert_eq!(ckan_time("soon"), Value::Null);
        assert_eq!(slug("Culture, patrimoine"), "culture-patrimoine");
    }
}
