//! Kleber's vocabulary, shared by every other crate.
//!
//! A *dataset* is one typed table of *records* plus metadata. Its schema is a list of
//! [`Field`]s, each with an Opendatasoft [`FieldType`]. Every crate agrees on how a field type is
//! stored in Arrow ([`FieldType::storage_type`]) so that ingestion, querying and exports can meet
//! on Parquet files without talking to each other.
//!
//! Errors that reach users carry a stable [`ErrorCode`] (see [`error_code`]): its wire string and
//! HTTP status never change once released.
//!
//! This crate does no I/O.

pub mod calendar;
pub mod error_code;
pub mod field;
pub mod layout;
pub mod names;

pub use error_code::{ErrorCode, HasErrorCode};
pub use field::{Annotations, ColumnKind, Field, FieldType, GEO_LAT, GEO_LON};
pub use names::technical_name;
