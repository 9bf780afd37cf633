//! One ODSQL expression evaluated row by row over Arrow batches, outside any query: the
//! processors of an import (a computed field, a condition skipping records) use the same
//! lowering and DataFusion's own evaluation as the queries, never a second evaluator.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray};
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::DFSchema;
use datafusion::logical_expr::ExprSchemable;
use datafusion::physical_plan::PhysicalExpr;
use datafusion::prelude::SessionContext;
use kleber_types::Field;

use crate::error::{Clause, Error, Result, planning};
use crate::lower::Scope;
use crate::plan::RecordsQuery;

/// A compiled expression: a value (`select`-like) or a condition (`where`-like).
pub struct RowExpr {
    physical: Arc<dyn PhysicalExpr>,
    data_type: DataType,
}

impl std::fmt::Debug for RowExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowExpr").field("data_type", &self.data_type).finish_non_exhaustive()
    }
}

impl RowExpr {
    /// Compiles `text` over batches of `schema` whose fields are `fields`: a value
    /// expression (`condition == false`, errors name the `select` clause) or a condition
    /// (errors name `where`). Dates are read in `tz`.
    ///
    /// # Errors
    ///
    /// [`Error::Odsql`] when the text does not parse, names an unknown field or function,
    /// aggregates, or (for a condition) is not a boolean.
    pub fn compile(
        fields: &[Field],
        schema: &Schema,
        text: &str,
        condition: bool,
        tz: chrono_tz::Tz,
    ) -> Result<RowExpr> {
        let clause = if condition { Clause::Where } else { Clause::Select };
        let df_schema = DFSchema::try_from(schema.clone()).map_err(planning(clause))?;
        let aliases = std::collections::HashMap::new();
        let lang = RecordsQuery::default();
        let scope = Scope {
            fields,
            schema: &df_schema,
            aliases: &aliases,
            clause,
            allow_aggregates: false,
            tz,
            lang: lang.lang(),
            search: None,
            aliases_spent: Default::default(),
        };
        let odsql_err = |e: kleber_odsql::ParseError| {
            Error::odsql(clause, format!("{e}."), Some((e.span.start, e.span.end)))
        };
        let expr = if condition {
            scope.lower_predicate(&kleber_odsql::parse_where(text).map_err(odsql_err)?)?
        } else {
            scope.lower(&kleber_odsql::parse_expr(text).map_err(odsql_err)?)?
        };
        let data_type = expr.get_type(&df_schema).map_err(planning(clause))?;
        if condition && !matches!(data_type, DataType::Boolean | DataType::Null) {
            return Err(Error::odsql(
                clause,
                format!(
                    "`{}` is a {} value, not a condition; compare it, e.g. `... = \"value\"`.",
                    text.trim(),
                    crate::lower::type_name(&data_type)
                ),
                None,
            ));
        }
        // The session's planner applies type coercion and function rewrites, as for queries.
        let physical = SessionContext::new()
            .create_physical_expr(expr, &df_schema)
            .map_err(planning(clause))?;
        let data_type = physical.data_type(schema).map_err(planning(clause))?;
        Ok(RowExpr { physical, data_type })
    }

    /// The type of the values.
    pub fn data_type(&self) -> &DataType {
        &self.data_type
    }

    /// The values of the expression on each row of `batch`.
    ///
    /// # Errors
    ///
    /// When DataFusion fails on a value (a cast that does not fit, say).
    pub fn evaluate(
        &self,
        batch: &datafusion::arrow::record_batch::RecordBatch,
    ) -> Result<ArrayRef> {
        let value = self.physical.evaluate(batch)?;
        Ok(value.into_array(batch.num_rows())?)
    }

    /// For a condition: which rows of `batch` meet it (a null is not met).
    ///
    /// # Errors
    ///
    /// As [`RowExpr::evaluate`], or when the expression is not a condition.
    pub fn matches(
        &self,
        batch: &datafusion::arrow::record_batch::RecordBatch,
    ) -> Result<Vec<bool>> {
        let values = self.evaluate(batch)?;
        if values.data_type() == &DataType::Null {
            return Ok(vec![false; batch.num_rows()]);
        }
        let Some(bools) = values.as_any().downcast_ref::<BooleanArray>() else {
            return Err(Error::odsql(Clause::Where, "the condition is not a boolean.", None));
        };
        Ok((0..bools.len()).map(|i| bools.is_valid(i) && bools.value(i)).collect())
    }
}
