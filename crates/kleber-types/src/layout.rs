//! How a dataset version's records are laid out in Parquet: the writer settings that every
//! writer of a stored version (import, the clustered copy, processors, sources, pushes,
//! derived datasets) shares, so that the readers can count on them.
//!
//! - Snappy compression.
//! - Row groups of the given number of rows (the importer's default is 131,072).
//! - Data pages of at most [`DATA_PAGE_ROWS`] rows, with page statistics and the page index:
//!   a query whose filter keeps few rows, or a record read by its id, decodes only the pages
//!   holding them.
//! - Dictionary encoding, but for fixed-width columns (numbers, dates, booleans, coordinates)
//!   a dictionary of at most [`FIXED_WIDTH_DICTIONARY_BYTES`]: beyond that, the values repeat
//!   too little for a dictionary to pay, and the writer falls back to plain encoding for the
//!   rest of the row group. Every reader of a page must first decode its column's dictionary
//!   page, so a one-megabyte dictionary of nearly unique numbers made each lookup of one
//!   record decompress several megabytes (`bench/` scenario j). Text keeps the writer's
//!   default limit (1 MiB): a text dictionary of that size usually still saves space.

use arrow_schema::Schema;
use parquet::arrow::ArrowSchemaConverter;
use parquet::basic::{Compression, Type as PhysicalType};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

/// Rows in one row group unless a writer says otherwise (the importer's default).
pub const ROW_GROUP_ROWS: usize = 131_072;

/// Most rows in one Parquet data page (the writer's default is 20,000).
pub const DATA_PAGE_ROWS: usize = 8192;

/// Largest dictionary of a fixed-width column in one row group: 16,384 eight-byte values, so
/// that in a row group of 131,072 rows each value stands for eight rows on average.
pub const FIXED_WIDTH_DICTIONARY_BYTES: usize = 128 << 10;

/// The writer settings of a stored version with this Arrow `schema`, row groups of at most
/// `row_group_rows` rows and this key-value metadata.
pub fn writer_properties(
    schema: &Schema,
    row_group_rows: usize,
    key_value: Option<Vec<KeyValue>>,
) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(row_group_rows.max(1)))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_data_page_row_count_limit(DATA_PAGE_ROWS)
        .set_key_value_metadata(key_value);
    // A schema Parquet cannot hold fails the writer itself, with its own message.
    if let Ok(parquet) = ArrowSchemaConverter::new().convert(schema) {
        for column in parquet.columns() {
            if column.physical_type() != PhysicalType::BYTE_ARRAY {
                builder = builder.set_column_dictionary_page_size_limit(
                    column.path().clone(),
                    FIXED_WIDTH_DICTIONARY_BYTES,
                );
            }
        }
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use arrow_schema::{DataType, Field};
    use parquet::schema::types::ColumnPath;

    use super::*;

    #[test]
    fn fixed_width_columns_get_the_small_dictionary_and_text_the_default() {
        let schema = Schema::new(vec![
            Field::new("montant", DataType::Float64, true),
            Field::new("commune", DataType::Utf8, true),
            Field::new(
                "position",
                DataType::Struct(
                    vec![
                        Field::new("lat", DataType::Float64, true),
                        Field::new("lon", DataType::Float64, true),
                    ]
                    .into(),
                ),
                true,
            ),
        ]);
        let props = writer_properties(&schema, 1000, None);
        let limit = |path: &[&str]| {
            props.column_dictionary_page_size_limit(&ColumnPath::new(
                path.iter().map(|s| (*s).to_owned()).collect(),
            ))
        };
        assert_eq!(limit(&["montant"]), FIXED_WIDTH_DICTIONARY_BYTES);
        assert_eq!(limit(&["position", "lat"]), FIXED_WIDTH_DICTIONARY_BYTES);
        assert_eq!(limit(&["commune"]), WriterProperties::new().dictionary_page_size_limit());
        assert_eq!(props.max_row_group_row_count(), Some(1000));
        assert_eq!(props.compression(&ColumnPath::from("commune")), Compression::SNAPPY);
    }
}
