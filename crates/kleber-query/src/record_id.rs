//! Record identifiers: the SHA-1 of a record's values, as Opendatasoft computes `recordid`.
//!
//! The id is a fingerprint of the values, not a row number, so it stays the same across
//! versions as long as the record does. When fields carry the `id` annotation ("unique ID"),
//! only those fields are hashed, so a refreshed real-time dataset keeps its ids while other
//! values change. Ids are computed at query time (`_id` in ODSQL, `/records/{id}`).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility, lit,
};
use kleber_types::Field;
use sha1::{Digest, Sha1};

use crate::lower::column;

/// The names `_id` and `recordid` (v2.0) refer to the record id in ODSQL.
pub(crate) fn is_record_id_name(name: &str) -> bool {
    name == "_id" || name == "recordid"
}

/// The expression computing the id of each record.
pub(crate) fn record_id_expr(fields: &[Field]) -> Expr {
    hash_expr(fields, None)
}

/// `random(seed)` in `order_by`: a shuffle that is the same for the same seed and data, so
/// paging through a random order works. The key is the record's values hashed with the seed.
pub(crate) fn random_expr(fields: &[Field], seed: i64) -> Expr {
    hash_expr(fields, Some(seed))
}

/// When `e` is `random(seed)` (over the records' values), the same shuffle over the groups:
/// their keys, the columns `keys` of the aggregate, hashed with the seed.
pub(crate) fn random_over_groups(e: &Expr, keys: &[String]) -> Option<Expr> {
    let Expr::ScalarFunction(f) = e else { return None };
    let seed = f.func.inner().downcast_ref::<RecordId>()?.seed?;
    let udf = RecordId {
        names: keys.to_vec(),
        seed: Some(seed),
        signature: Signature::variadic_any(Volatility::Immutable),
    };
    let args =
        if keys.is_empty() { vec![lit(0)] } else { keys.iter().map(|n| column(n)).collect() };
    Some(Arc::new(ScalarUDF::new_from_impl(udf)).call(args))
}

fn hash_expr(fields: &[Field], seed: Option<i64>) -> Expr {
    let names = hashed_names(fields);
    let args = names.iter().map(|n| column(n)).collect();
    let udf = RecordId { names, seed, signature: Signature::variadic_any(Volatility::Immutable) };
    Arc::new(ScalarUDF::new_from_impl(udf)).call(args)
}

/// The SHA-1 digest of the columns `names` of each record, as a record id hashes them (a
/// constant for no names).
pub(crate) fn names_digest(names: Vec<String>) -> Expr {
    let args =
        if names.is_empty() { vec![lit(0)] } else { names.iter().map(|n| column(n)).collect() };
    let udf =
        RecordId { names, seed: None, signature: Signature::variadic_any(Volatility::Immutable) };
    Arc::new(ScalarUDF::new_from_impl(udf)).call(args)
}

/// Whether `text` looks like a record id (40 lowercase hex digits).
pub fn is_record_id(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct RecordId {
    names: Vec<String>,
    seed: Option<i64>,
    signature: Signature,
}

impl ScalarUDFImpl for RecordId {
    fn name(&self) -> &str {
        if self.seed.is_some() { "kleber_random" } else { "kleber_record_id" }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays: Vec<ArrayRef> =
            args.args.into_iter().map(|a| a.into_array(rows)).collect::<Result<_>>()?;
        let mut out = StringBuilder::with_capacity(rows, rows * 40);
        let mut text = String::new();
        digests(&self.names, self.seed, &arrays, |digest| {
            text.clear();
            for byte in digest {
                use std::fmt::Write as _;
                let _ = write!(text, "{byte:02x}");
            }
            out.append_value(&text);
        })?;
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// Calls `each` with the SHA-1 digest of every row of `arrays` (the columns `names`, in order):
/// the record id when `seed` is `None`. Shared by the `_id` function and the id index.
pub(crate) fn digests(
    names: &[String],
    seed: Option<i64>,
    arrays: &[ArrayRef],
    mut each: impl FnMut(&[u8]),
) -> Result<()> {
    let rows = arrays.first().map_or(0, |a| a.len());
    let options = FormatOptions::default().with_null("\u{0}null");
    let formatters = arrays
        .iter()
        .map(|a| ArrayFormatter::try_new(a.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()?;
    let mut text = String::new();
    for row in 0..rows {
        let mut hasher = Sha1::new();
        if let Some(seed) = seed {
            hasher.update(seed.to_le_bytes());
        }
        for (name, formatter) in names.iter().zip(&formatters) {
            text.clear();
            use std::fmt::Write as _;
            let _ = write!(text, "{}", formatter.value(row));
            hasher.update(name.as_bytes());
            hasher.update([0x1f]);
            hasher.update(text.as_bytes());
            hasher.update([0x1e]);
        }
        each(hasher.finalize().as_slice());
    }
    Ok(())
}

/// The fields a record id hashes: those annotated `id`, else every field.
pub(crate) fn hashed_names(fields: &[Field]) -> Vec<String> {
    let keyed: Vec<&Field> = fields.iter().filter(|f| f.annotations.contains_key("id")).collect();
    let hashed: Vec<&Field> = if keyed.is_empty() { fields.iter().collect() } else { keyed };
    hashed.iter().map(|f| f.name.clone()).collect()
}
