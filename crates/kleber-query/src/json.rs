//! `json_format(text_field[, fallback])`: text holding JSON, answered as JSON.
//!
//! Opendatasoft datasets often carry JSON inside text fields (Strasbourg's parks list their
//! images and multilingual names that way). `select=json_format(images)` returns the parsed
//! value instead of a string. Text that is not JSON gives the fallback: a string literal, or
//! `null`; without a fallback, the original text as a string. CSV exports write the text.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use kleber_odsql::{Arg, ExprKind, Literal, Span};

use crate::error::Result;
use crate::functions::{FunctionDoc, FunctionKind};
use crate::lower::Scope;

/// The function of this family.
pub(crate) const FUNCTIONS: &[FunctionDoc] = &[FunctionDoc {
    name: "json_format",
    kind: FunctionKind::Scalar,
    signature: "json_format(text[, fallback])",
    description: "The JSON held by a text field, as a JSON value in the results; text that is not JSON gives the fallback (a string or null), or itself as a string without one. CSV exports write the text.",
    example: "select=nom, json_format(images) as images",
}];

/// What to answer for text that is not JSON.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Fallback {
    Original,
    Null,
    Text(String),
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonFormatUdf {
    fallback: Fallback,
    signature: Signature,
}

impl ScalarUDFImpl for JsonFormatUdf {
    fn name(&self) -> &str {
        "json_format"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let Some(arg) = args.args.into_iter().next() else {
            return exec_err!("json_format takes a text argument");
        };
        let array: ArrayRef = cast(&arg.into_array(args.number_rows)?, &DataType::Utf8)?;
        let texts = array.as_string::<i32>();
        let mut out = StringBuilder::with_capacity(texts.len(), texts.len() * 16);
        for i in 0..texts.len() {
            if texts.is_null(i) {
                out.append_null();
                continue;
            }
            let text = texts.value(i);
            if serde_json::from_str::<serde_json::Value>(text).is_ok() {
                out.append_value(text);
                continue;
            }
            match &self.fallback {
                Fallback::Null => out.append_null(),
                Fallback::Original => out.append_value(serde_json::Value::from(text).to_string()),
                Fallback::Text(t) => {
                    out.append_value(serde_json::Value::from(t.as_str()).to_string())
                }
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// Lowers `json_format(...)`; `None` for other names.
pub(crate) fn lower_call(
    scope: &Scope<'_>,
    name: &str,
    name_span: Span,
    args: &[Arg],
    distinct: bool,
) -> Option<Result<Expr>> {
    if name != "json_format" {
        return None;
    }
    let usage = "json_format() takes a text field and an optional fallback string or null, e.g. json_format(images, null).";
    let (field, fallback) = match args {
        [Arg::Expr(f)] => (f, Fallback::Original),
        [Arg::Expr(f), Arg::Expr(fb)] => match &fb.kind {
            ExprKind::Literal(Literal::Null) => (f, Fallback::Null),
            ExprKind::Literal(Literal::String(s)) => (f, Fallback::Text(s.clone())),
            _ => return Some(Err(scope.err(usage, fb.span))),
        },
        _ => return Some(Err(scope.err(usage, name_span))),
    };
    if distinct {
        return Some(Err(scope.err(usage, name_span)));
    }
    Some(scope.lower(field).map(|arg| {
        let udf = JsonFormatUdf { fallback, signature: Signature::any(1, Volatility::Immutable) };
        Arc::new(ScalarUDF::new_from_impl(udf)).call(vec![arg])
    }))
}

/// Whether `expr` is a `json_format()` call, to be encoded as JSON.
pub(crate) fn yields_json(expr: &Expr) -> bool {
    match expr {
        Expr::Alias(alias) => yields_json(&alias.expr),
        Expr::ScalarFunction(f) => {
            let inner: &dyn std::any::Any = f.func.inner().as_ref();
            inner.is::<JsonFormatUdf>()
        }
        _ => false,
    }
}
