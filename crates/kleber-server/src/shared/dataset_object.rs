//! The v2.1 dataset object (`/catalog/datasets/{id}` and the items of `/catalog/datasets`), also
//! the base of the v2.0 and v1 dataset objects.

use kleber_app::features;

use kleber_store::DatasetRecord;
use serde_json::{Map, Value, json};

/// Keys of `metas.default` every dataset carries, with `null` when unset.
const DEFAULT_METAS: &[&str] = &[
    "theme",
    "keyword",
    "license",
    "license_url",
    "publisher",
    "references",
    "attributions",
    "territory",
    "geographic_reference",
    "timezone",
];

/// The dataset object of Explore v2.1.
pub fn dataset_object(record: &DatasetRecord) -> Value {
    let fields: Vec<Value> = record
        .version
        .fields
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "label": f.label,
                "type": f.field_type.name(),
                "description": f.description,
                "annotations": f.annotations,
            })
        })
        .collect();
    let mut default = Map::new();
    default.insert("title".into(), json!(record.title));
    default.insert("description".into(), json!(record.description));
    for key in DEFAULT_METAS {
        default.insert((*key).into(), record.metas.get(*key).cloned().unwrap_or(Value::Null));
    }
    default.insert("language".into(), record.metas.get("language").cloned().unwrap_or(json!("fr")));
    default.insert("metadata_languages".into(), json!(["fr"]));
    default.insert("modified".into(), json!(record.modified));
    default.insert("modified_updates_on_metadata_change".into(), json!(true));
    default.insert("modified_updates_on_data_change".into(), json!(true));
    default.insert("data_processed".into(), json!(record.version.created_at));
    default.insert("metadata_processed".into(), json!(record.modified));
    default.insert("records_count".into(), json!(record.version.records_count));
    default.insert("federated".into(), json!(false));
    for (key, value) in &record.metas {
        default.entry(key.clone()).or_insert_with(|| value.clone());
    }
    let attachments: Vec<Value> = record
        .attachments
        .iter()
        .map(|a| {
            json!({"id": a.id, "title": a.title, "mimetype": a.mimetype,
                   "url": format!("odsfile://{}", a.file_name)})
        })
        .collect();
    json!({
        "dataset_id": record.id,
        "dataset_uid": record.uid,
        "has_records": record.version.records_count > 0,
        "data_visible": true,
        "visibility": "domain",
        "features": features(record),
        "attachments": attachments,
        "alternative_exports": [],
        "fields": fields,
        "metas": {"default": default},
    })
}
