//! The rules of entitlement management, driven as the reference tells them: scopes and
//! their categories, separation of duties, schedules, questions, approval stages with
//! escalation and automatic denial, delivery and reprocess, expiry with reminders, grants
//! counted across assignments, and the guest lifecycle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod support;

mod grants;
mod requests;
mod reviews;
mod scopes;
