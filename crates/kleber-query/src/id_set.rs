//! Membership in a set of dataset identifiers, as one expression.
//!
//! A catalog full-text search returns the identifiers its index found; filtering the catalog
//! table by them as an `IN (...)` list of thousands of literals costs milliseconds of planning
//! (the optimizer walks and copies every literal). [`IdSetUdf`] holds the set and tests each
//! row against it instead: constant planning cost, a hash lookup per row.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, BooleanArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::Expr;

/// `kleber_id_in(column)`: true when the row's value is one of the set's identifiers.
#[derive(Debug)]
pub(crate) struct IdSetUdf {
    signature: Signature,
    ids: Arc<HashSet<String>>,
}

impl PartialEq for IdSetUdf {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.ids, &other.ids)
    }
}

impl Eq for IdSetUdf {}

impl Hash for IdSetUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.ids), state);
    }
}

/// The expression: `column` is one of `ids`.
pub(crate) fn id_in(column: Expr, ids: Vec<String>) -> Expr {
    let udf = IdSetUdf {
        signature: Signature::any(1, Volatility::Immutable),
        ids: Arc::new(ids.into_iter().collect()),
    };
    ScalarUDF::new_from_impl(udf).call(vec![column])
}

impl ScalarUDFImpl for IdSetUdf {
    fn name(&self) -> &str {
        "kleber_id_in"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let Some(arg) = args.args.into_iter().next() else {
            return exec_err!("kleber_id_in expects one column");
        };
        let values = cast(&arg.into_array(rows)?, &DataType::Utf8)?;
        let Some(values) = values.as_any().downcast_ref::<StringArray>() else {
            return exec_err!("kleber_id_in expects text identifiers");
        };
        let matches: BooleanArray =
            values.iter().map(|v| Some(v.is_some_and(|id| self.ids.contains(id)))).collect();
        Ok(ColumnarValue::Array(Arc::new(matches)))
    }
}
