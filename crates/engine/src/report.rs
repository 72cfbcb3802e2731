//! What a cycle did, as the engine reports it to its caller.
use tenantsync_domain::ChangeCursor;
use tenantsync_store::CycleCounters;

/// What a cycle did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CycleReport {
    pub cycle_id: String,
    pub initial: bool,
    pub counters: CycleCounters,
    pub created: u64,
    pub updated: u64,
    pub restored: u64,
    pub soft_deleted: u64,
    pub hard_deleted: u64,
    pub skipped: u64,
    pub escrowed: u64,
    /// Deletions held back because the cycle would have exceeded the deletion threshold.
    pub staged_deletes: u64,
    pub watermark: ChangeCursor,
    /// What the cycle did to groups (group provisioning).
    pub groups: GroupReport,
}

/// What a cycle did to groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupReport {
    pub created: u64,
    pub updated: u64,
    pub restored: u64,
    pub soft_deleted: u64,
    pub hard_deleted: u64,
    pub skipped: u64,
    pub members_added: u64,
    pub members_removed: u64,
}
