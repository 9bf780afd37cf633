//! `year()`, `month()`, … : one calendar or clock component of a date or datetime, read in the
//! request's time zone.

use std::sync::Arc;

use chrono::{Datelike, NaiveDateTime, Timelike};
use chrono_tz::Tz;
use datafusion::arrow::array::Int64Builder;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::local::Temporal;

/// A component of a date-time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Part {
    Year,
    Quarter,
    Month,
    Day,
    DayOfWeek,
    Hour,
    Minute,
    Second,
    Millisecond,
}

impl Part {
    /// The part an ODSQL function name reads, if it is one.
    pub(crate) fn from_name(name: &str) -> Option<Part> {
        Some(match name {
            "year" => Part::Year,
            "quarter" => Part::Quarter,
            "month" => Part::Month,
            "day" => Part::Day,
            "dayofweek" => Part::DayOfWeek,
            "hour" => Part::Hour,
            "minute" => Part::Minute,
            "second" => Part::Second,
            "millisecond" => Part::Millisecond,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Part::Year => "year",
            Part::Quarter => "quarter",
            Part::Month => "month",
            Part::Day => "day",
            Part::DayOfWeek => "dayofweek",
            Part::Hour => "hour",
            Part::Minute => "minute",
            Part::Second => "second",
            Part::Millisecond => "millisecond",
        }
    }

    /// The component of a wall-clock date-time.
    pub(crate) fn of(self, t: &NaiveDateTime) -> i64 {
        let value = match self {
            Part::Year => return i64::from(t.year()),
            Part::Quarter => t.month0() / 3 + 1,
            Part::Month => t.month(),
            Part::Day => t.day(),
            Part::DayOfWeek => t.weekday().number_from_monday(),
            Part::Hour => t.hour(),
            Part::Minute => t.minute(),
            Part::Second => t.second(),
            Part::Millisecond => (t.nanosecond() % 1_000_000_000) / 1_000_000,
        };
        i64::from(value)
    }
}

/// `year(d)` … in a time zone: `Int64`, null for null.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct DatePartUdf {
    part: Part,
    tz: Tz,
    signature: Signature,
}

impl DatePartUdf {
    pub(crate) fn new(part: Part, tz: Tz) -> Self {
        DatePartUdf { part, tz, signature: Signature::any(1, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for DatePartUdf {
    fn name(&self) -> &str {
        self.part.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let array = args.args[0].to_array(rows)?;
        let values = Temporal::new(&array)?;
        let mut out = Int64Builder::with_capacity(values.len());
        for i in 0..values.len() {
            out.append_option(values.local(i, self.tz).map(|t| self.part.of(&t)));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}
