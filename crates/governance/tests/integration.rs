//! Entitlement management run on the SQLite store with a clock the tests move: the seed's
//! joint venture end to end (a Litware employee requests Contoso's package, the sponsor
//! approves, the guest appears with the group, reminders, expiry, removal, block,
//! deletion), a blocked guest who asks again, concurrent approvers, refusals that write
//! nothing, and a restart in the middle of the schedule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod auto_assignment;
mod joint_venture;
