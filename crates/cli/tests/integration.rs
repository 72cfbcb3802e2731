//! The one integration test binary of the CLI (one binary: link time matters).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod serving;
mod support;

mod access;
mod backup;
mod commands;
mod connectors;
mod connectors_faults;
mod connectors_import;
mod connectors_ldap;
mod connectors_ldap_faults;
mod connectors_ldap_tls;
mod crash;
mod errors;
mod expr;
mod import;
mod limits;
mod locks;
mod migrate;
mod modes;
mod ops;
mod serve_limits;
mod serve_logs;
mod sync;
mod sync_crash;
mod tokens;
mod topology;
mod topology_policies;
mod workers;
