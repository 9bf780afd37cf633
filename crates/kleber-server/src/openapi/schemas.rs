//! The answers' schemas, each a JSON Schema written once and named as a component of the
//! document. The Explore v2.1 ones carry the properties Opendatasoft's document declares for
//! the same answers (`links`, `dataset-v2.1`, `record-v2.1`, ...), with OpenAPI 3.1's
//! `["string", "null"]` where its 3.0 document says `nullable`.

use std::borrow::Cow;

use serde_json::{Value, json};
use utoipa::openapi::{RefOr, Schema};

/// The schema of a JSON value; an object schema if the text does not read as one (only this
/// module's literals are read, and the unit test reads each).
pub fn schema_of(value: Value) -> RefOr<Schema> {
    serde_json::from_value(value).unwrap_or_else(|_| RefOr::T(Schema::Object(Default::default())))
}

/// A named component schema from a JSON literal.
macro_rules! schema {
    ($(#[$doc:meta])* $ty:ident = $name:literal, $json:expr) => {
        $(#[$doc])*
        pub struct $ty;

        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                schema_of($json)
            }
        }

        impl utoipa::ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

fn links() -> Value {
    json!({"type": "array", "items": {"$ref": "#/components/schemas/links"}})
}

schema!(
    /// A link (`href`, `rel`).
    Link = "links",
    json!({"type": "object", "properties": {
        "href": {"type": "string", "format": "uri"}, "rel": {"type": "string"}}})
);
schema!(
    /// A dataset of Explore v2.1.
    DatasetV21 = "dataset-v2.1",
    json!({"type": "object", "properties": {
        "_links": links(),
        "dataset_id": {"type": "string"},
        "dataset_uid": {"type": "string", "readOnly": true},
        "attachments": {"type": "array", "items": {"type": "object", "properties": {
            "mimetype": {"type": "string"}, "url": {"type": "string"},
            "id": {"type": "string"}, "title": {"type": "string"}}}},
        "has_records": {"type": "boolean"},
        "data_visible": {"type": "boolean"},
        "features": {"type": "array", "items": {"type": "string"}},
        "metas": {"type": "object"},
        "fields": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "label": {"type": "string"}, "type": {"type": "string"},
            "annotations": {"type": "object"},
            "description": {"type": ["string", "null"]}}}}}})
);
schema!(
    /// A page of datasets.
    ResultsDatasetV21 = "results_dataset-v2.1",
    json!({"type": "object", "properties": {
        "total_count": {"type": "integer"}, "_links": links(),
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/dataset-v2.1"}}}})
);
schema!(
    /// A record of Explore v2.1: its fields, and `_id`, `_timestamp`, `_size` when selected.
    RecordV21 = "record-v2.1",
    json!({"type": "object", "properties": {
        "_id": {"type": "string"}, "_timestamp": {"type": "string"},
        "_size": {"type": "integer", "format": "int64"}, "_links": links()}})
);
schema!(
    /// A page of records (or of groups).
    ResultsV21 = "results-v2.1",
    json!({"type": "object", "properties": {
        "total_count": {"type": "integer"}, "_links": links(),
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/record-v2.1"}}}})
);
schema!(
    /// The values of the facets asked.
    Facets = "facets",
    json!({"type": "object", "properties": {
        "_links": links(),
        "facets": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"},
            "facets": {"type": "array", "items": {"$ref": "#/components/schemas/facet_value_enumeration"}}}}}}})
);
schema!(
    /// One facet value (dates nest their months and days in `facets`).
    FacetValue = "facet_value_enumeration",
    json!({"type": "object", "properties": {
        "name": {"type": "string"}, "count": {"type": "integer"},
        "value": {"type": "string"}, "state": {"type": "string"},
        "facets": {"type": "array", "items": {"$ref": "#/components/schemas/facet_value_enumeration"}}}})
);
schema!(
    /// The attachments of a dataset.
    Attachments = "attachments",
    json!({"type": "object", "properties": {
        "_links": links(),
        "attachments": {"type": "array", "items": {"type": "object", "properties": {
            "href": {"type": "string"},
            "metas": {"type": "object", "properties": {
                "mime-type": {"type": "string"}, "title": {"type": "string"},
                "url": {"type": "string"}, "id": {"type": "string"}}}}}}}})
);
schema!(
    /// Links to the export formats.
    ExportLinks = "export_links",
    json!({"type": "object", "properties": {"_links": links()}})
);
schema!(
    /// The map's clusters: cells with counts, and the records of the cells holding few.
    Clusters = "clusters",
    json!({"type": "object", "properties": {
        "clusters": {"type": "array", "items": {"type": "object"}},
        "records": {"type": "array", "items": {"type": "object"}}}})
);
schema!(
    /// An object (the answers of the older APIs, documented in docs/api.md).
    AnyObject = "object",
    json!({"type": "object"})
);
schema!(
    /// The Search API v1's error (`errorcode`, `error`) beside the envelope's keys.
    V1Error = "v1_error",
    json!({"type": "object", "required": ["error"], "properties": {
        "errorcode": {"type": "integer"}, "error": {"type": "string"},
        "error_code": {"type": "string"}, "message": {"type": "string"}}})
);
schema!(
    /// The answer of a real-time push.
    PushAnswer = "push_answer",
    json!({"type": "object", "required": ["status", "accepted", "rejected"], "properties": {
        "status": {"type": "string"}, "accepted": {"type": "integer"},
        "rejected": {"type": "array", "items": {"type": "object", "properties": {
            "index": {"type": "integer"}, "reason": {"type": "string"}}}},
        "version": {"type": "integer"}}})
);
schema!(
    /// CKAN's envelope: `help`, `success` and the action's `result` (or its `error`).
    CkanEnvelope = "ckan_envelope",
    json!({"type": "object", "required": ["help", "success"], "properties": {
        "help": {"type": "string"}, "success": {"type": "boolean"}, "result": {},
        "error": {"type": "object", "properties": {
            "__type": {"type": "string"}, "message": {"type": "string"}}}}})
);
