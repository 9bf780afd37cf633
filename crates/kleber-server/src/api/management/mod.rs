//! The management API (`/api/management/v1`): uploads and publications ([`uploads`]).

pub mod uploads;
