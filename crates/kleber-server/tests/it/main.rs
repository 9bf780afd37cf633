//! Integration tests of the Kleber server: a real server on 127.0.0.1, real files, the real
//! `kleber` binary. One test binary (modules per feature) to keep link time low.

mod abuse;
mod accounts_cli;
mod api;
mod api_client;
mod browser;
mod catalog_query;
mod common;
mod conformance;
mod conformance_clients;
mod conformance_docs;
mod conformance_real;
mod crash;
mod demo;
mod error_codes;
mod exports_formats;
mod facets;
mod golden;
mod hardening;
mod http;
mod import_cli;
mod layering;
mod limits;
mod odsclient;
mod odsql_writer;
mod portal;
mod real_files;
mod resolution;
mod roundtrip;
mod sessions;
mod v1_api;
mod v20_api;
mod vs_sqlite;
