//! Integration tests of the store: the catalog's accounts and keys, and the migration of a
//! catalog written before them.

mod accounts;
mod audit;
mod migration;
