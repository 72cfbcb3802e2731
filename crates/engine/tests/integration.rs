//! The one integration test binary of the engine: the lifecycle table row by row, loop
//! prevention, the policy check, incremental cycles and the deletion threshold, against
//! a fresh SQLite store per test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

mod control;
mod convergence;
mod groups;
mod lifecycle;
mod prediction;
mod service;
mod topology;
