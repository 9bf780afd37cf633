//! Errors of the catalog index.

/// What can go wrong while building or querying a [`crate::CatalogIndex`].
///
/// Malformed user queries are *not* errors: every query string is accepted
/// (see [`crate::CatalogIndex::search`]). An error here means the engine
/// itself failed, which the server should report as an internal error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Tantivy failed while building, opening or searching the index.
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// The index is inconsistent with itself (a bug, not a bad input).
    #[error("search index is inconsistent: {0}")]
    Internal(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
