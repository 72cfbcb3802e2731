//! What every run of an engine shares: the store, its clock, the bounds on memory, and
//! the count of runs going at once.
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use tenantsync_domain::Clock;
use tenantsync_store::SyncStore;

/// Bounds on what a cycle keeps in memory, whatever the directory's size. The defaults
/// suit production; tests set them tiny to exercise what happens beyond them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Copies (source id → target id) a cycle remembers per generation, of two, to give a
    /// new copy its manager without a lookup; older ones are looked up by anchor.
    pub recent_copies: usize,
    /// Manager references that wait for the second pass at most; beyond, what the cycle
    /// planned so far is committed and they are resolved early.
    pub pending_managers: usize,
    /// Source users read per page by an initial cycle's walk (and target copies beside
    /// them); a scan shared by dry runs holds a few such pages.
    pub page_users: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { recent_copies: 65_536, pending_managers: 100_000, page_users: 2000 }
    }
}

/// Stops the process at once at the point `name` when `TENANTSYNC_CRASH_POINT` names it
/// (debug builds only): crash tests kill a run exactly where two of its writes could part.
pub(crate) fn crash_point(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("TENANTSYNC_CRASH_POINT").is_ok_and(|p| p == name) {
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}

/// The parts of an engine that its runs use.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    store: Arc<dyn SyncStore>,
    /// The store's clock: everything the engine stamps or schedules reads it.
    clock: Arc<dyn Clock>,
    limits: Limits,
    /// Runs going at once (clones share it): they share the batch size.
    runs: Arc<AtomicUsize>,
}

impl Shared {
    pub(crate) fn new(store: Arc<dyn SyncStore>, limits: Limits) -> Shared {
        let clock = store.clock();
        Shared { store, clock, limits, runs: Arc::default() }
    }

    pub(crate) fn store(&self) -> &Arc<dyn SyncStore> {
        &self.store
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    pub(crate) fn runs(&self) -> Arc<AtomicUsize> {
        self.runs.clone()
    }
}
