//! kleber-server
