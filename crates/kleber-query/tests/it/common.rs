//! A dataset written to a temporary Parquet file, and a helper that runs ODSQL on it and
//! returns the records as Opendatasoft JSON values.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::Schema;
use kleber_export::{EncodeOptions, OutputColumn, RecordEncoder};
use kleber_query::{DatasetRef, Engine, Limits, RecordsQuery};
use kleber_types::Field;
use serde_json::Value;

/// A dataset on disk with its engine.
pub(crate) struct TestDataset {
    pub(crate) engine: Engine,
    pub(crate) dataset: DatasetRef,
    _dir: tempfile::TempDir,
}

impl TestDataset {
    /// Writes `columns` (one per field, in the field's storage type) as a Parquet dataset.
    pub(crate) fn new(fields: Vec<Field>, columns: Vec<ArrayRef>) -> TestDataset {
        TestDataset::written_with(fields, columns, None)
    }

    /// Like [`TestDataset::new`], with the writer's properties (row group and page sizes).
    pub(crate) fn written_with(
        fields: Vec<Field>,
        columns: Vec<ArrayRef>,
        properties: Option<parquet::file::properties::WriterProperties>,
    ) -> TestDataset {
        let schema =
            Arc::new(Schema::new(fields.iter().map(Field::arrow_field).collect::<Vec<_>>()));
        let batch =
            RecordBatch::try_new(Arc::clone(&schema), columns).expect("batch matches fields");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("data.parquet");
        let file = std::fs::File::create(&path).expect("create");
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(file, schema, properties).expect("writer");
        writer.write(&batch).expect("write");
        writer.close().expect("close");
        TestDataset {
            engine: Engine::new(Limits::default()).expect("engine"),
            dataset: DatasetRef {
                uid: "da_test01".into(),
                version: 1,
                data_path: path,
                fields,
                view: None,
            },
            _dir: dir,
        }
    }

    /// Runs a query and returns (total_count, records as JSON objects).
    pub(crate) async fn run(
        &self,
        query: RecordsQuery,
    ) -> Result<(u64, Vec<Value>), kleber_query::Error> {
        self.run_on(&self.engine, query).await
    }

    /// Runs a query on another engine over the same file.
    pub(crate) async fn run_on(
        &self,
        engine: &Engine,
        query: RecordsQuery,
    ) -> Result<(u64, Vec<Value>), kleber_query::Error> {
        let planned = engine.plan(&self.dataset, &query).await?;
        let columns = planned
            .columns
            .iter()
            .map(|c| OutputColumn::new(c.key.clone(), c.label.clone(), c.role))
            .collect();
        let encoder = RecordEncoder::new(columns, EncodeOptions::default());
        let (total, batches) = engine.page(planned).await?;
        let mut out = Vec::new();
        for batch in &batches {
            out.extend(encoder.batch_values(batch).expect("encodable"));
        }
        Ok((total, out))
    }

    /// `where` only: the number of matching records.
    pub(crate) async fn count(&self, where_: &str) -> Result<u64, kleber_query::Error> {
        let q =
            RecordsQuery { r#where: vec![where_.to_owned()], limit: Some(0), ..Default::default() };
        Ok(self.run(q).await?.0)
    }

    /// `select` (+ optional `where`, `group_by`, `order_by`) with no limit.
    pub(crate) async fn select(
        &self,
        select: &str,
        where_: Option<&str>,
        group_by: Option<&str>,
        order_by: Option<&str>,
    ) -> Result<Vec<Value>, kleber_query::Error> {
        let q = RecordsQuery {
            select: Some(select.to_owned()),
            r#where: where_.map(|w| vec![w.to_owned()]).unwrap_or_default(),
            group_by: group_by.map(str::to_owned),
            order_by: order_by.map(str::to_owned),
            ..Default::default()
        };
        Ok(self.run(q).await?.1)
    }
}
