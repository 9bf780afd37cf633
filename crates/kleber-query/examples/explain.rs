//! Prints DataFusion's EXPLAIN ANALYZE of a records query over a dataset's Parquet file.
//!
//! `cargo run --release -p kleber-query --example explain -- <data.parquet> <where> <order_by> [limit [select [group_by]]]`
//! (fields are read from the file's schema as text/number columns; for profiling only).

use kleber_query::{DatasetRef, Engine, Limits, RecordsQuery};
use kleber_types::{Field, FieldType};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, where_, order_by, rest @ ..] = args.as_slice() else {
        return Err("usage: explain <data.parquet> <where> <order_by> [limit]".into());
    };
    let file = std::fs::File::open(path)?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)?;
    let fields = reader
        .schema()
        .fields()
        .iter()
        .map(|f| {
            use arrow::datatypes::DataType as D;
            let t = match f.data_type() {
                D::Int64 => FieldType::Int,
                D::Float64 => FieldType::Double,
                D::Boolean => FieldType::Boolean,
                D::Date32 => FieldType::Date,
                D::Timestamp(..) => FieldType::Datetime,
                D::Struct(_) => FieldType::GeoPoint2d,
                _ => FieldType::Text,
            };
            Field::new(f.name().clone(), f.name().clone(), t)
        })
        .collect();
    let dataset =
        DatasetRef { uid: "x".into(), version: 1, data_path: path.into(), fields, view: None };
    let engine = Engine::new(Limits::default())?;
    let query = RecordsQuery {
        r#where: if where_.is_empty() { vec![] } else { vec![where_.clone()] },
        order_by: (!order_by.is_empty()).then(|| order_by.clone()),
        limit: Some(rest.first().map_or(Ok(100), |l| l.parse())?),
        select: rest.get(1).filter(|s| !s.is_empty()).cloned(),
        group_by: rest.get(2).filter(|s| !s.is_empty()).cloned(),
        ..RecordsQuery::default()
    };
    for _ in 0..3 {
        let planned = engine.plan(&dataset, &query).await?;
        let started = std::time::Instant::now();
        let batches = planned.groups_or_page().collect().await?;
        println!(
            "page: {} rows in {:?}",
            batches.iter().map(|b| b.num_rows()).sum::<usize>(),
            started.elapsed()
        );
    }
    let planned = engine.plan(&dataset, &query).await?;
    let explained = planned.groups_or_page().explain(false, true)?.collect().await?;
    for batch in &explained {
        for row in 0..batch.num_rows() {
            for col in batch.columns() {
                println!("{}", arrow::util::display::array_value_to_string(col, row)?);
            }
        }
    }
    Ok(())
}
