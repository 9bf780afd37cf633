//! The query parameters of the public APIs, described once by name ([`query`]) and listed per
//! operation by the [`utoipa::IntoParams`] types below, which the handlers' `#[utoipa::path]`
//! annotations name. Names, types, bounds and defaults of the Explore v2.1 parameters are
//! those of Opendatasoft's own document (the `openapi_document` test compares them).

use serde_json::{Value, json};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{Required, Schema};

/// The languages Opendatasoft's document lists for `lang`.
pub const LANGS: [&str; 11] = ["en", "fr", "nl", "pt", "it", "ar", "de", "es", "ca", "eu", "sv"];

/// The schema and description of the query parameter `name`.
fn spec(name: &str) -> (Value, &'static str) {
    let text = json!({"type": "string"});
    let boolean = |default: bool| json!({"type": "boolean", "default": default});
    match name {
        "select" => (text, "ODSQL select clause: fields, expressions, aggregations, aliases."),
        "where" => (text, "ODSQL filter; repeat the parameter to combine filters with AND."),
        "order_by" => (text, "ODSQL sort: expressions, each ASC or DESC."),
        "group_by" => (text, "ODSQL group-by clause: fields, range(), date parts."),
        "limit" => (
            json!({"type": "integer", "minimum": -1, "maximum": 100, "default": 10}),
            "Number of items returned (at most 100; -1 with group_by for every group).",
        ),
        "limit_export" => (
            json!({"type": "integer", "minimum": -1, "default": -1}),
            "Number of records exported (-1: all).",
        ),
        "offset" => {
            (json!({"type": "integer", "minimum": 0, "default": 0}), "Index of the first item.")
        }
        "refine" => (text, "Facet filter `facet:value`; repeatable."),
        "exclude" => (text, "Facet exclusion `facet:value`; repeatable."),
        "lang" => (
            json!({"type": "string", "enum": LANGS}),
            "Language of the answer (labels, date formats, text analysis).",
        ),
        "timezone" => (
            json!({"type": "string", "default": "UTC"}),
            "IANA time zone in which dates are computed and shown.",
        ),
        "include_links" => (boolean(false), "Add `_links` (self, first, next, ...) to the answer."),
        "include_app_metas" => {
            (boolean(false), "Accepted for compatibility; no application metadata.")
        }
        "facet" => {
            (text, "A facet to compute: a field name or `facet(name=..., ...)`; repeatable.")
        }
        "version" => (
            json!({"type": "integer", "minimum": 1}),
            "Answer from this version of the dataset (docs/versions.md); default: the current one.",
        ),
        "from" => (
            json!({"type": "integer", "minimum": 1}),
            "The older version (default: the one before `to`).",
        ),
        "to" => (
            json!({"type": "integer", "minimum": 1}),
            "The newer version (default: the current one).",
        ),
        "format_changes" => (
            json!({"type": "string", "enum": ["json", "csv"], "default": "json"}),
            "`json` pages, or every change streamed as `csv`.",
        ),
        "limit_changes" => (
            json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
            "Changed records on the page (JSON).",
        ),
        "qv1" => (text, "A Search API v1 `q` query, translated to ODSQL (Kleber extension)."),
        "use_labels" => (boolean(false), "Column headers are the fields' labels."),
        "compressed" => (boolean(false), "The file is gzip-compressed."),
        "epsg" => (json!({"type": "integer", "default": 4326}), "Coordinate system of the output."),
        "delimiter" => (
            json!({"type": "string", "enum": [";", ",", "\t", "|"], "default": ";"}),
            "CSV field delimiter.",
        ),
        "list_separator" => {
            (json!({"type": "string", "default": ","}), "Separator of multivalued fields in CSV.")
        }
        "quote_all" => (boolean(false), "Quote every CSV value."),
        "with_bom" => (boolean(true), "Start the CSV file with a UTF-8 byte-order mark."),
        "parquet_compression" => (
            json!({"type": "string", "enum": ["snappy", "zstd"], "default": "snappy"}),
            "Compression of the Parquet file.",
        ),
        "name_field" => (text, "Field naming each GPX waypoint."),
        "description_field_list" => (text, "Comma-separated fields written in each GPX `<desc>`."),
        "use_extension" => (
            boolean(true),
            "GPX: the other fields in `<extensions>` (true) or in `<desc>` (false).",
        ),
        // Search API v1.
        "dataset" => (text, "The dataset identifier."),
        "q" => (text, "Full-text query in the v1 `q` language (field:value, AND, OR, ranges)."),
        "rows" => (json!({"type": "integer", "minimum": 0, "default": 10}), "Number of results."),
        "start" => {
            (json!({"type": "integer", "minimum": 0, "default": 0}), "Index of the first result.")
        }
        "sort" => (text, "Sort field, `-field` for descending."),
        "format" => (text, "Output format (json, csv, geojson, ...)."),
        "callback" => (text, "JSONP callback name."),
        "fields" => (text, "Comma-separated list of the fields returned."),
        "geofilter.distance" => (text, "`lat,lon,meters`: records within that distance."),
        "geofilter.polygon" => (text, "`(lat,lon),(lat,lon),...`: records within the polygon."),
        "x" => (text, "Field or expression on the x axis (analyze)."),
        "y.serie.func" => (text, "Aggregation of a series (COUNT, AVG, SUM, MIN, MAX, ...)."),
        "y.serie.expr" => (text, "Expression aggregated by a series."),
        "precision" => (text, "Precision of the x axis for dates (year, month, day, ...)."),
        "geofilter.bbox" => (text, "`lat1,lon1,lat2,lon2`: records within the box."),
        "interopmetas" => {
            (json!({"type": "boolean", "default": false}), "Add the interoperability metadata.")
        }
        "use_labels_for_header" => {
            (json!({"type": "boolean", "default": false}), "CSV headers are the fields' labels.")
        }
        "csv_separator" => (json!({"type": "string", "default": ";"}), "CSV field delimiter."),
        "clusterprecision" => {
            (json!({"type": "integer", "minimum": 1, "maximum": 20}), "Zoom level of the clusters.")
        }
        "pushkey" => (text, "The dataset's push key (made by the management API)."),
        // Kleber's portal map (Explore v2.1 clusters).
        "zoom" => {
            (json!({"type": "integer", "minimum": 0, "maximum": 22}), "Web Mercator zoom level.")
        }
        "bbox" => (text, "Viewport `west,south,east,north` in degrees."),
        "field" => (text, "The geo field to cluster (default: the first)."),
        _ => (text, "See docs/api.md."),
    }
}

/// The query parameter described as `key` in `spec` (its name, except `limit_export`, the
/// `limit` of exports), optional.
pub fn query(key: &str) -> Parameter {
    let (schema, description) = spec(key);
    let name = match key {
        "limit_export" | "limit_changes" => "limit",
        "format_changes" => "format",
        key => key,
    };
    let schema: Option<Schema> = serde_json::from_value(schema).ok();
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(schema)
        .build()
}

/// A [`utoipa::IntoParams`] type listing the query parameters of an operation by name.
macro_rules! query_params {
    ($(#[$doc:meta])* $name:ident: [$($param:literal),* $(,)?]) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::IntoParams for $name {
            fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
                vec![$(query($param)),*]
            }
        }
    };
}

query_params!(
    /// `/catalog/datasets` (v2.1).
    CatalogDatasets: ["select", "where", "order_by", "limit", "offset", "refine", "exclude",
        "lang", "timezone", "group_by", "include_links", "include_app_metas"]
);
query_params!(
    /// `/catalog/datasets/{dataset_id}/records` (v2.1).
    Records: ["select", "where", "group_by", "order_by", "limit", "offset", "refine", "exclude",
        "lang", "timezone", "include_links", "include_app_metas", "qv1", "version"]
);
query_params!(
    /// `/catalog/datasets/{dataset_id}` (v2.1).
    Dataset: ["select", "lang", "timezone", "include_links", "include_app_metas", "version"]
);
query_params!(
    /// `/catalog/datasets/{dataset_id}/records/{record_id}` (v2.1).
    Record: ["select", "lang", "timezone", "version"]
);
query_params!(
    /// The catalog's facets.
    CatalogFacets: ["facet", "where", "refine", "exclude", "lang", "timezone"]
);
query_params!(
    /// A dataset's facets.
    Facets: ["facet", "where", "refine", "exclude", "lang", "timezone", "version"]
);
query_params!(
    /// `/catalog/datasets/{dataset_id}/exports/{format}` (v2.1).
    Export: ["select", "where", "order_by", "group_by", "limit_export", "refine", "exclude",
        "lang", "timezone", "use_labels", "compressed", "epsg", "delimiter", "list_separator",
        "quote_all", "with_bom", "parquet_compression", "name_field", "description_field_list", "use_extension", "qv1", "version"]
);
query_params!(
    /// `/catalog/exports/{format}` (v2.1).
    CatalogExport: ["select", "where", "order_by", "group_by", "limit_export", "offset",
        "refine", "exclude", "lang", "timezone", "delimiter", "list_separator", "quote_all",
        "with_bom"]
);
query_params!(
    /// `/catalog/datasets/{dataset_id}/changes` (v2.1, Kleber's).
    Changes: ["from", "to", "format_changes", "limit_changes", "offset"]
);
query_params!(
    /// The catalog feeds (RSS, data.json).
    CatalogFilter: ["where", "refine", "exclude", "lang", "timezone"]
);
query_params!(
    /// The portal map's clusters.
    Clusters: ["zoom", "bbox", "field", "where", "refine", "exclude", "lang", "timezone"]
);
query_params!(
    /// v2.0 lists (datasets, records): Opendatasoft's v2.0 names.
    V20List: ["select", "where", "order_by", "group_by", "limit", "offset", "refine", "exclude",
        "lang", "timezone", "include_app_metas"]
);
query_params!(
    /// v1 record searches and downloads.
    V1Records: ["dataset", "q", "rows", "start", "sort", "facet", "fields", "geofilter.distance", "geofilter.polygon", "lang",
        "timezone", "format", "callback"]
);
query_params!(
    /// v1 analyze.
    V1Analyze: ["dataset", "q", "x", "y.serie.func", "y.serie.expr", "precision", "sort",
        "geofilter.distance", "geofilter.polygon", "timezone", "callback"]
);
query_params!(
    /// v1 bounding box and geocluster.
    V1Geo: ["dataset", "q", "geofilter.distance", "geofilter.polygon", "geofilter.bbox",
        "clusterprecision", "callback"]
);
query_params!(
    /// v1 dataset search.
    V1Datasets: ["q", "rows", "start", "sort", "facet", "lang",
        "interopmetas", "callback"]
);
query_params!(
    /// The legacy download URL `/explore/dataset/{id}/download`.
    LegacyDownload: ["format", "q", "use_labels_for_header", "csv_separator",
        "timezone"]
);
query_params!(
    /// v1 one dataset.
    Lang: ["lang", "callback"]
);
query_params!(
    /// The push API.
    Push: ["pushkey"]
);
