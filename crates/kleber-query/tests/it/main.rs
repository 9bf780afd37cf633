//! Integration tests of the query engine: real Parquet files, real DataFusion plans.

mod clustered;
mod common;
mod dates;
mod geo;
mod limits;
mod scan;
mod text;
mod text_index;
