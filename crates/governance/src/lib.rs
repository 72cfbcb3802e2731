//! Runs entitlement management (`tenantsync-access`'s rules) on a store: definitions,
//! requests and approvals, delivery of guests and resource roles, the clock-driven sweep,
//! and the outbox of notifications.
//!
//! Every step reads what it needs, lets the rules decide, and commits the request, the
//! assignment and the outbox messages of the step together ([`AccessStore::commit_access`],
//! whose version check makes the first of two concurrent approvers win). A delivery's
//! memberships are directory writes of the step that records it (with their change rows),
//! and a delivery to a user of the tenant shares the step of the decision that led to it:
//! one commit. Writes that cannot be in a step (a guest, a sync configuration's
//! assignment) are idempotent and made after the request is recorded `delivering`, so a
//! crash in between leaves it due (a minute later: a delivery under way is not raced),
//! and the sweep delivers it again.
//! Time is the store's clock: a test moves it months in milliseconds.

mod auto;
mod definitions;
mod delivery;
mod error;
mod notices;
mod outbox;
mod people;
mod requests;
mod resources;
mod reviews;
mod sweep;

pub use auto::{AutoProgress, AutoReport, Rule};
pub use definitions::{Resource, Settings};
pub use error::GovernanceError;
pub use outbox::{Mailer, Notifier, OutboxReport, backoff};
pub use people::Offer;
pub use requests::{Actor, NewRequest, Subject};
pub use resources::{CatalogResource, ResourceRequest, ResourceRequestType};
pub use sweep::SweepReport;

use std::sync::Arc;
use tenantsync_engine::Engine;
use tenantsync_store::{AccessStore, SyncStore};

/// A store with the directory, the sync state and entitlement management.
pub trait GovernanceStore: SyncStore + AccessStore {}
impl<T: SyncStore + AccessStore> GovernanceStore for T {}

pub type Result<T, E = GovernanceError> = std::result::Result<T, E>;

/// Entitlement management over one store.
#[derive(Clone)]
pub struct Governance {
    store: Arc<dyn GovernanceStore>,
    engine: Engine,
}

impl std::fmt::Debug for Governance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Governance").finish_non_exhaustive()
    }
}

impl Governance {
    pub fn new(store: Arc<dyn GovernanceStore>) -> Governance {
        let sync: Arc<dyn SyncStore> = store.clone();
        Governance { engine: Engine::new(sync), store }
    }

    pub fn store(&self) -> &Arc<dyn GovernanceStore> {
        &self.store
    }

    fn now(&self) -> jiff::Timestamp {
        self.store.clock().now()
    }
}
