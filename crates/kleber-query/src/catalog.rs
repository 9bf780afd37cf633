//! The catalog as a table, so `/catalog/datasets` and `/catalog/facets` take the same ODSQL,
//! `refine` and `exclude` as records.
//!
//! Each dataset is one row of metadata ([`CatalogEntry`]); the fields are named as
//! Opendatasoft's catalog query fields (`dataset_id`, `title`, `publisher`, `theme`, `keyword`,
//! `modified`, `records_count`, `features`, ...) plus Kleber's `organization` (its
//! organization's identifier), and `default.<name>` refers to the same field.
//! Bare-string search goes to the caller's index through a [`SearchHook`].

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Int64Array, ListBuilder, StringArray, StringBuilder,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::dataframe::DataFrame;
use kleber_types::{Field, FieldType};

use crate::Engine;
use crate::error::{Error, Result};
use crate::facets::{FacetGroup, FacetRequest};
use crate::plan::{PlannedQuery, RecordsQuery, SearchHook};

/// One dataset's metadata, as the catalog table holds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CatalogEntry {
    /// Identifier (slug).
    pub dataset_id: String,
    /// Title.
    pub title: String,
    /// Description (HTML), if any.
    pub description: Option<String>,
    /// Publisher, if any.
    pub publisher: Option<String>,
    /// Identifier of the organization that publishes it.
    pub organization: Option<String>,
    /// Themes.
    pub theme: Vec<String>,
    /// Keywords.
    pub keyword: Vec<String>,
    /// Licence name, if any.
    pub license: Option<String>,
    /// Language code.
    pub language: Option<String>,
    /// Last modification, microseconds since the epoch (UTC).
    pub modified: Option<i64>,
    /// Last data processing, microseconds since the epoch (UTC).
    pub data_processed: Option<i64>,
    /// Number of records.
    pub records_count: i64,
    /// Features (`analyze`, `geo`, `timeserie`).
    pub features: Vec<String>,
    /// Whether the dataset has records.
    pub has_records: bool,
    /// Whether the dataset is archived (read-only, every version still served).
    pub archived: bool,
}

fn field(name: &str, t: FieldType, annotations: &[(&str, &[&str])]) -> Field {
    let mut f = Field::new(name, name, t);
    for (key, args) in annotations {
        f.annotations.insert((*key).to_owned(), args.iter().map(|a| (*a).to_owned()).collect());
    }
    f
}

/// The fields of the catalog table.
pub fn catalog_fields() -> Vec<Field> {
    let facet: (&str, &[&str]) = ("facet", &[]);
    let multi: (&str, &[&str]) = ("multivalued", &[","]);
    vec![
        field("dataset_id", FieldType::Text, &[]),
        field("title", FieldType::Text, &[]),
        field("description", FieldType::Text, &[]),
        field("publisher", FieldType::Text, &[facet]),
        field("theme", FieldType::Text, &[facet, multi]),
        field("keyword", FieldType::Text, &[facet, multi]),
        field("license", FieldType::Text, &[facet]),
        field("language", FieldType::Text, &[facet]),
        field("modified", FieldType::Datetime, &[facet]),
        field("data_processed", FieldType::Datetime, &[]),
        field("records_count", FieldType::Int, &[]),
        field("features", FieldType::Text, &[facet, multi]),
        field("has_records", FieldType::Boolean, &[]),
        field("organization", FieldType::Text, &[facet]),
        field("archived", FieldType::Boolean, &[facet]),
    ]
}

fn list(values: impl Iterator<Item = Vec<String>>) -> ArrayRef {
    let mut builder = ListBuilder::new(StringBuilder::new());
    for row in values {
        for v in row {
            builder.values().append_value(v);
        }
        builder.append(true);
    }
    Arc::new(builder.finish())
}

/// The catalog table of `entries`.
pub fn catalog_batch(entries: &[CatalogEntry]) -> Result<RecordBatch> {
    let fields = catalog_fields();
    let schema = Arc::new(Schema::new(fields.iter().map(Field::arrow_field).collect::<Vec<_>>()));
    let text = |f: fn(&CatalogEntry) -> Option<&str>| -> ArrayRef {
        Arc::new(entries.iter().map(f).collect::<StringArray>())
    };
    let instant = |f: fn(&CatalogEntry) -> Option<i64>| -> ArrayRef {
        Arc::new(entries.iter().map(f).collect::<TimestampMicrosecondArray>().with_timezone("UTC"))
    };
    let columns: Vec<ArrayRef> = vec![
        text(|e| Some(e.dataset_id.as_str())),
        text(|e| Some(e.title.as_str())),
        text(|e| e.description.as_deref()),
        text(|e| e.publisher.as_deref()),
        list(entries.iter().map(|e| e.theme.clone())),
        list(entries.iter().map(|e| e.keyword.clone())),
        text(|e| e.license.as_deref()),
        text(|e| e.language.as_deref()),
        instant(|e| e.modified),
        instant(|e| e.data_processed),
        Arc::new(entries.iter().map(|e| Some(e.records_count)).collect::<Int64Array>()),
        list(entries.iter().map(|e| e.features.clone())),
        Arc::new(entries.iter().map(|e| Some(e.has_records)).collect::<BooleanArray>()),
        text(|e| e.organization.as_deref()),
        Arc::new(entries.iter().map(|e| Some(e.archived)).collect::<BooleanArray>()),
    ];
    RecordBatch::try_new(schema, columns).map_err(Error::from)
}

impl Engine {
    fn catalog_table(&self, table: &RecordBatch) -> Result<DataFrame> {
        // Cloning a batch clones reference-counted buffers, not the data.
        Ok(self.ctx.read_batch(table.clone())?)
    }

    /// Plans a catalog query over `table`, built once per catalog change with [`catalog_batch`].
    pub fn plan_catalog(
        &self,
        table: &RecordBatch,
        query: &RecordsQuery,
        search: Option<SearchHook<'_>>,
    ) -> Result<PlannedQuery> {
        let deadline = self.deadline();
        let mut planned =
            crate::plan::plan(self.catalog_table(table)?, &catalog_fields(), query, search)?;
        planned.deadline = Some(deadline);
        Ok(planned)
    }

    /// The facets of the catalog under `query`'s filters.
    pub async fn catalog_facets(
        &self,
        table: &RecordBatch,
        query: &RecordsQuery,
        requests: &[FacetRequest],
        search: Option<SearchHook<'_>>,
    ) -> Result<Vec<FacetGroup>> {
        // The search hook borrows the caller's index, so this runs on the caller's runtime;
        // the catalog is small, and the time limit still applies.
        let deadline = self.deadline();
        let table = self.catalog_table(table)?;
        let fields = catalog_fields();
        let work = crate::facets::compute(table, &fields, query, requests, search);
        tokio::time::timeout_at(deadline.into(), work)
            .await
            .unwrap_or_else(|_| Err(self.too_slow()))
    }
}
