//! The one integration test binary of the server: a real server on a loopback port over
//! a fresh SQLite store in a temporary directory, per test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

mod auth;
mod bulk;
mod concurrency;
mod console;
mod graph;
mod graph_access;
mod graph_access_people;
mod graph_delta;
mod graph_directory;
mod graph_openapi;
mod graph_support;
mod graph_sync;
mod groups;
mod queries;
mod roundtrip;
mod strict;
mod users;
