//! Helpers: import into a temporary directory and read the Parquet file back.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, Int64Array, ListArray,
    StringArray, StructArray, TimestampMicrosecondArray,
};
use arrow::record_batch::RecordBatch;
use kleber_ingest::{Error, ImportOptions, ImportOutcome, Progress, import_file};
use kleber_types::{Field, FieldType};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tempfile::TempDir;

/// The directory of the real Opendatasoft exports.
pub(crate) fn real_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/real")
}

/// A file of the real exports.
pub(crate) fn real(name: &str) -> PathBuf {
    real_dir().join(name)
}

/// An imported file, read back.
pub(crate) struct Imported {
    pub(crate) outcome: ImportOutcome,
    pub(crate) columns: Vec<(String, ArrayRef)>,
    pub(crate) fields_metadata: Option<String>,
    pub(crate) row_groups: usize,
    pub(crate) progress: Vec<Progress>,
    /// Keeps the output directory alive while the columns are inspected.
    #[allow(dead_code)]
    pub(crate) dir: TempDir,
}

/// Writes `content` to a file named `name` in a new temporary directory.
pub(crate) fn temp_file(name: &str, content: &[u8]) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, content).expect("write input");
    (dir, path)
}

/// Imports `input` and reads the output back; panics on error.
pub(crate) fn import(input: &Path, opts: &ImportOptions) -> Imported {
    match try_import(input, opts) {
        Ok(i) => i,
        Err((e, _)) => panic!("import of {} failed: {e}", input.display()),
    }
}

/// Imports `input`; on error returns it with the temporary output directory.
pub(crate) fn try_import(input: &Path, opts: &ImportOptions) -> Result<Imported, (Error, TempDir)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out.parquet");
    let mut progress = Vec::new();
    let outcome = match import_file(input, &out, opts, &mut |p| progress.push(p)) {
        Ok(o) => o,
        Err(e) => return Err((e, dir)),
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(&out).expect("output"))
        .expect("parquet");
    let fields_metadata = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == "kleber.fields"))
        .and_then(|k| k.value.clone());
    let row_groups = builder.metadata().num_row_groups();
    let schema = builder.schema().clone();
    let batches: Vec<RecordBatch> =
        builder.build().expect("reader").collect::<Result<_, _>>().expect("batches");
    let columns = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
            let col = if parts.is_empty() {
                arrow::array::new_empty_array(f.data_type())
            } else {
                arrow::compute::concat(&parts).expect("concat")
            };
            (f.name().clone(), col)
        })
        .collect();
    Ok(Imported { outcome, columns, fields_metadata, row_groups, progress, dir })
}

impl Imported {
    pub(crate) fn field(&self, name: &str) -> &Field {
        self.outcome.fields.iter().find(|f| f.name == name).unwrap_or_else(|| {
            let names: Vec<_> = self.outcome.fields.iter().map(|f| f.name.as_str()).collect();
            panic!("no field {name}; fields: {names:?}")
        })
    }

    pub(crate) fn type_of(&self, name: &str) -> FieldType {
        self.field(name).field_type
    }

    pub(crate) fn names(&self) -> Vec<&str> {
        self.outcome.fields.iter().map(|f| f.name.as_str()).collect()
    }

    pub(crate) fn col(&self, name: &str) -> &ArrayRef {
        &self
            .columns
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no column {name}"))
            .1
    }

    pub(crate) fn rows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.1.len())
    }

    pub(crate) fn str(&self, name: &str, row: usize) -> Option<String> {
        let a = self.col(name).as_any().downcast_ref::<StringArray>().expect("utf8 column");
        a.is_valid(row).then(|| a.value(row).to_owned())
    }

    pub(crate) fn int(&self, name: &str, row: usize) -> Option<i64> {
        let a = self.col(name).as_any().downcast_ref::<Int64Array>().expect("int64 column");
        a.is_valid(row).then(|| a.value(row))
    }

    pub(crate) fn double(&self, name: &str, row: usize) -> Option<f64> {
        let a = self.col(name).as_any().downcast_ref::<Float64Array>().expect("float64 column");
        a.is_valid(row).then(|| a.value(row))
    }

    pub(crate) fn boolean(&self, name: &str, row: usize) -> Option<bool> {
        let a = self.col(name).as_any().downcast_ref::<BooleanArray>().expect("bool column");
        a.is_valid(row).then(|| a.value(row))
    }

    pub(crate) fn date(&self, name: &str, row: usize) -> Option<i32> {
        let a = self.col(name).as_any().downcast_ref::<Date32Array>().expect("date32 column");
        a.is_valid(row).then(|| a.value(row))
    }

    pub(crate) fn ts(&self, name: &str, row: usize) -> Option<i64> {
        let a = self
            .col(name)
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            .expect("timestamp column");
        a.is_valid(row).then(|| a.value(row))
    }

    /// `(lon, lat)`.
    pub(crate) fn point(&self, name: &str, row: usize) -> Option<(f64, f64)> {
        let a = self.col(name).as_any().downcast_ref::<StructArray>().expect("struct column");
        if !a.is_valid(row) {
            return None;
        }
        let lon =
            a.column_by_name("lon").expect("lon").as_primitive::<arrow::datatypes::Float64Type>();
        let lat =
            a.column_by_name("lat").expect("lat").as_primitive::<arrow::datatypes::Float64Type>();
        Some((lon.value(row), lat.value(row)))
    }

    pub(crate) fn list(&self, name: &str, row: usize) -> Option<Vec<String>> {
        let a = self.col(name).as_any().downcast_ref::<ListArray>().expect("list column");
        if !a.is_valid(row) {
            return None;
        }
        let items = a.value(row);
        let s = items.as_any().downcast_ref::<StringArray>().expect("utf8 items");
        Some((0..s.len()).map(|i| s.value(i).to_owned()).collect())
    }

    /// The index of the first row whose text column `name` equals `value`.
    pub(crate) fn find(&self, name: &str, value: &str) -> usize {
        (0..self.rows())
            .find(|&r| self.str(name, r).as_deref() == Some(value))
            .unwrap_or_else(|| panic!("no row with {name} = {value:?}"))
    }
}

/// Microseconds since the epoch of an RFC 3339 date-time, computed independently with chrono.
pub(crate) fn micros(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339).expect("rfc3339").timestamp_micros()
}

/// Files left in a directory.
pub(crate) fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}
