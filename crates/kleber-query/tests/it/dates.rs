//! Tests of the ODSQL dates functions.
