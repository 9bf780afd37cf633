//! ODSQL text functions (to be written).

use datafusion::logical_expr::Expr;
use kleber_odsql::{Arg, Span};

use crate::error::Result;
use crate::functions::FunctionDoc;
use crate::lower::Scope;

/// The functions of this family, with their documentation.
pub(crate) const FUNCTIONS: &[FunctionDoc] = &[];

/// Lowers a call of one of this family's functions; `None` when `name` is not one of them.
pub(crate) fn lower_call(
    _scope: &Scope<'_>,
    _name: &str,
    _name_span: Span,
    _args: &[Arg],
    _distinct: bool,
) -> Option<Result<Expr>> {
    None
}
