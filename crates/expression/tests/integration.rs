//! The crate's one integration test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test helpers outside #[test] fns

mod it {
    pub mod common;
    mod edge_cases;
    mod errors;
    mod examples;
    mod props;
    mod scoping;
}
