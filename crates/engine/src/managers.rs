//! Manager references: a copy's manager is the copy of its source manager, set once both
//! exist in the target. A cycle remembers the copies it made most recently (bounded) and
//! finds older ones by anchor.
use crate::EngineError;
use crate::plan;
use crate::run::{Batch, Run};
use std::collections::{HashMap, HashSet};
use tenantsync_domain::{Anchor, ObjectId, TenantId};
use tenantsync_store::SyncStore;

/// A manager reference to resolve after the cycle's users are written.
pub(crate) struct ManagerRef {
    pub source_user: ObjectId,
    pub target_user: ObjectId,
    /// The target user's manager now (none for a user this cycle creates).
    pub current: Option<ObjectId>,
    pub source_manager: ObjectId,
}

/// The copies a cycle made or matched most recently, source id → target id: two
/// generations of at most `Limits::recent_copies`, so memory does not grow with the
/// directory. A copy made earlier is found by its anchor once the cycle's writes are
/// committed.
pub(crate) struct RecentCopies {
    young: HashMap<ObjectId, ObjectId, foldhash::fast::RandomState>,
    old: HashMap<ObjectId, ObjectId, foldhash::fast::RandomState>,
    generation: usize,
}

impl RecentCopies {
    pub(crate) fn new(generation: usize) -> RecentCopies {
        RecentCopies { young: HashMap::default(), old: HashMap::default(), generation: generation.max(1) }
    }

    pub(crate) fn insert(&mut self, source: ObjectId, target: ObjectId) {
        if self.young.len() >= self.generation {
            // The old generation goes; its table is the new young one's (no regrowing).
            std::mem::swap(&mut self.young, &mut self.old);
            self.young.clear();
        }
        self.young.insert(source, target);
    }

    pub(crate) fn get(&self, source: &ObjectId) -> Option<&ObjectId> {
        self.young.get(source).or_else(|| self.old.get(source))
    }
}

/// Resolves manager references once every write before them is committed: each target
/// user gets the copy of its source manager (a recent copy, or found by anchor), if that
/// changes anything. With `position` (the source id the cycle's walk has reached, early
/// resolution), a reference whose manager has no copy yet but comes later in the walk is
/// returned, to wait; otherwise nothing is returned.
pub(crate) async fn resolve(
    run: &mut Run,
    batch: &mut Batch,
    managers: Vec<ManagerRef>,
    copies: &RecentCopies,
    store: &dyn SyncStore,
    (source, target): (TenantId, TenantId),
    position: Option<ObjectId>,
) -> Result<Vec<ManagerRef>, EngineError> {
    // Users whose write failed in this cycle have no copy to point at or from.
    let failed: HashSet<ObjectId> = run.escrows.iter().map(|e| e.source_object_id).collect();
    let mut waiting = Vec::new();
    for r in managers {
        if failed.contains(&r.source_user) {
            continue;
        }
        let wanted = match copies.get(&r.source_manager).filter(|_| !failed.contains(&r.source_manager)) {
            Some(t) => Some(*t),
            None => store.find_user_by_anchor(target, &Anchor::new(source, r.source_manager)).await?.map(|m| m.id),
        };
        if wanted.is_none() && position.is_some_and(|p| r.source_manager > p) {
            waiting.push(r);
            continue;
        }
        if let Some(op) = plan::manager_op_for(r.target_user, r.current, wanted) {
            batch.ops.push((r.source_user, op));
            if batch.ops.len() >= run.batch_objects() {
                let state = run.state.clone();
                run.send(std::mem::take(batch), state).await?;
            }
        }
    }
    Ok(waiting)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_copies_keep_two_generations() {
        let ids: Vec<ObjectId> = (0..5).map(|_| ObjectId::new()).collect();
        let mut copies = RecentCopies::new(2);
        for id in &ids {
            copies.insert(*id, *id);
        }
        // Generations of 2: {0, 1} is dropped when {2, 3} turns old and {4} is young.
        assert!(copies.get(&ids[0]).is_none() && copies.get(&ids[1]).is_none());
        assert!(ids[2..].iter().all(|id| copies.get(id) == Some(id)));
    }
}
