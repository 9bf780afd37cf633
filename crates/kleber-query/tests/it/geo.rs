//! Tests of the ODSQL geo functions.
