//! The conformance cases, one `pub async fn(Fixture)` each.
pub mod admin;
pub mod batches;
pub mod bulk;
pub mod commits;
pub mod concurrency;
pub mod configs;
pub mod counts;
pub mod etag;
pub mod feed;
pub mod groups;
pub mod leases;
pub mod lifecycle;
pub mod logs;
pub mod query;
pub mod tenants;
pub mod users;
pub mod writer;
