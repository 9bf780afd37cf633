//! Tests of the ODSQL text functions.
