//! Experiment: a filtered, sorted page read in one pass (today) or in two (positions of the
//! page from the filter and sort columns only, then those rows by row selection).
//!
//! `cargo run --release -p kleber-query --example late -- <data.parquet> <where-sql> <order-col>`

use datafusion::functions::core::expr_fn::file_row_index;
use datafusion::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, where_, order] = args.as_slice() else {
        return Err("usage: late <data.parquet> <where-sql> <order-col>".into());
    };
    let ctx = kleber_query::session(kleber_query::Limits::default())?;
    let table = ctx.read_parquet(path.as_str(), ParquetReadOptions::default()).await?;
    let filter = table.parse_sql_expr(where_)?;
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let one = table
            .clone()
            .filter(filter.clone())?
            .sort(vec![col(order).sort(false, false)])?
            .limit(0, Some(100))?
            .collect()
            .await?;
        let one_rows: usize = one.iter().map(|b| b.num_rows()).sum();
        let t1 = t.elapsed();
        let t = std::time::Instant::now();
        let mut cols: Vec<Expr> =
            table.schema().fields().iter().map(|f| col(format!("\"{}\"", f.name()))).collect();
        cols.push(file_row_index().alias("__row"));
        let positions = table
            .clone()
            .select(cols)?
            .filter(filter.clone())?
            .sort(vec![col(order).sort(false, false)])?
            .limit(0, Some(100))?
            .select(vec![col("__row")])?;
        if std::env::var("EXPLAIN").is_ok() {
            positions.clone().explain(false, true)?.show().await?;
        }
        let pos = positions.collect().await?;
        let t2 = t.elapsed();
        let rows: usize = pos.iter().map(|b| b.num_rows()).sum();
        println!("one pass: {one_rows} rows {t1:?}; positions: {rows} rows {t2:?}");
    }
    Ok(())
}
