//! The live counts of the topology page: per arrow (a sync configuration to or from the
//! session's tenant), the users it has synced, its escrows, its health and its last
//! cycle, each read from the store (one COUNT over the anchor index and the job's state:
//! nothing pages through users), and the server-sent events that push them while cycles
//! run.
//!
//! The stream costs nothing when no one listens: it exists only while a browser holds
//! the page's event source open, and it is woken by the store's commit notices (a cycle
//! writes its target and its job state in one transaction, so the counts are current
//! when the notice arrives) and job notices (start, pause, restart), with a slow tick for
//! what changes without a commit (a cycle that wrote nothing still has a new "last
//! cycle"). Bursts are coalesced: one round of reads per [`COALESCE`] at most, and only
//! the arrows whose numbers changed are sent.
use super::admin::health;
use super::page::time;
use super::{ConsoleResult, ConsoleState};
use axum::response::sse::Event;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tenantsync_domain::{SyncConfigId, SyncConfiguration, TenantId};
use tenantsync_store::{CommitNotice, JobNotice};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::time::Instant;

/// At most one round of reads (and so one update per arrow) this often.
pub(crate) const COALESCE: Duration = Duration::from_millis(500);
/// Every arrow is read again this often while someone listens, for what changes without
/// a notice.
const TICK: Duration = Duration::from_secs(5);

/// One arrow's live counts, as the page shows them and as an event carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Live {
    /// The configuration's id (the arrow's key on the page).
    pub arrow: String,
    /// Users in the target carrying an anchor from the source, not soft-deleted.
    pub synced: u64,
    pub escrows: usize,
    /// Its health in words (quarantined, escrows waiting, …).
    pub status: String,
    /// The last cycle's end and state, or "—".
    pub last_cycle: String,
}

impl Live {
    /// The words of an arrow's label in the drawing.
    pub fn text(&self) -> String {
        let mut s = format!("{} synced", self.synced);
        if self.escrows > 0 {
            s.push_str(&format!(", {} escrows", self.escrows));
        }
        s.push_str(&format!(", {}", self.status.to_lowercase()));
        s
    }
}

/// The configurations whose source or target is `tenant`: the arrows of its page.
pub(crate) async fn arrows(st: &ConsoleState, tenant: TenantId) -> ConsoleResult<Vec<SyncConfiguration>> {
    let mut v: Vec<SyncConfiguration> =
        st.store.list_sync_configurations().await?.into_iter().filter(|c| c.source_tenant_id == tenant || c.target_tenant_id == tenant).collect();
    v.sort_by_key(|c| (c.source_tenant_id, c.target_tenant_id, c.id));
    Ok(v)
}

/// The live counts of one arrow.
pub(crate) async fn counts(st: &ConsoleState, c: &SyncConfiguration) -> ConsoleResult<Live> {
    let synced = st.store.count_users_by_anchor_tenant(c.target_tenant_id, c.source_tenant_id).await?;
    let state = st.store.job_state(c.id).await?;
    let (_, status, _) = health(&state);
    let last_cycle = match &state.last_execution {
        Some(e) => format!("{} ({})", time(e.time_ended), if e.error.is_some() { "failed" } else { "succeeded" }),
        None => "—".to_owned(),
    };
    Ok(Live { arrow: c.id.to_string(), synced, escrows: state.escrows.len(), status: status.to_owned(), last_cycle })
}

/// What one event source of one browser waits on.
pub(crate) struct Watch {
    st: Arc<ConsoleState>,
    configs: Vec<SyncConfiguration>,
    commits: broadcast::Receiver<CommitNotice>,
    jobs: broadcast::Receiver<JobNotice>,
    /// What was last sent (or shown at load) per arrow.
    sent: BTreeMap<SyncConfigId, Live>,
    dirty: BTreeSet<SyncConfigId>,
    /// Events of the last round not yet handed to the stream.
    queue: Vec<Live>,
    last_round: Instant,
    next_tick: Instant,
}

impl Watch {
    /// A watch over `configs`, subscribed before their counts are read so no commit falls
    /// between.
    pub async fn new(st: Arc<ConsoleState>, configs: Vec<SyncConfiguration>) -> ConsoleResult<Watch> {
        let (commits, jobs) = (st.store.subscribe(), st.store.subscribe_jobs());
        let mut sent = BTreeMap::new();
        for c in &configs {
            sent.insert(c.id, counts(&st, c).await?);
        }
        let now = Instant::now();
        Ok(Watch { st, configs, commits, jobs, sent, dirty: BTreeSet::new(), queue: Vec::new(), last_round: now, next_tick: now + TICK })
    }

    fn mark_tenant(&mut self, t: TenantId) {
        let ids = self.configs.iter().filter(|c| c.source_tenant_id == t || c.target_tenant_id == t).map(|c| c.id);
        self.dirty.extend(ids);
    }

    fn mark_all(&mut self) {
        let ids: Vec<SyncConfigId> = self.configs.iter().map(|c| c.id).collect();
        self.dirty.extend(ids);
    }

    fn job(&mut self, n: JobNotice) {
        match n {
            JobNotice::Job(id) if self.configs.iter().any(|c| c.id == id) => {
                self.dirty.insert(id);
            }
            JobNotice::Job(_) => {}
            JobNotice::All => self.mark_all(),
        }
    }

    /// Takes the notices already waiting, without waiting (a burst becomes one round).
    /// `false` when the store closed.
    fn drain(&mut self) -> bool {
        loop {
            match self.commits.try_recv() {
                Ok(n) => self.mark_tenant(n.tenant_id),
                Err(TryRecvError::Lagged(_)) => self.mark_all(),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => return false,
            }
        }
        loop {
            match self.jobs.try_recv() {
                Ok(n) => self.job(n),
                Err(TryRecvError::Lagged(_)) => self.mark_all(),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => return false,
            }
        }
        true
    }

    /// The next update: an arrow whose counts changed. `None` when the store closed.
    pub async fn next(&mut self) -> Option<Live> {
        loop {
            if let Some(l) = self.queue.pop() {
                return Some(l);
            }
            if self.dirty.is_empty() {
                tokio::select! {
                    n = self.commits.recv() => match n {
                        Ok(n) => self.mark_tenant(n.tenant_id),
                        Err(RecvError::Lagged(_)) => self.mark_all(),
                        Err(RecvError::Closed) => return None,
                    },
                    n = self.jobs.recv() => match n {
                        Ok(n) => self.job(n),
                        Err(RecvError::Lagged(_)) => self.mark_all(),
                        Err(RecvError::Closed) => return None,
                    },
                    () = tokio::time::sleep_until(self.next_tick) => self.mark_all(),
                }
                continue;
            }
            // Coalesce: the notices of the next moments join this round.
            tokio::time::sleep_until(self.last_round + COALESCE).await;
            if !self.drain() {
                return None;
            }
            self.last_round = Instant::now();
            self.next_tick = self.last_round + TICK;
            let dirty = std::mem::take(&mut self.dirty);
            for c in self.configs.iter().filter(|c| dirty.contains(&c.id)) {
                // A read that fails (the configuration deleted meanwhile) sends nothing.
                let Ok(live) = counts(&self.st, c).await else { continue };
                if self.sent.get(&c.id) != Some(&live) {
                    self.sent.insert(c.id, live.clone());
                    self.queue.push(live);
                }
            }
        }
    }
}

/// A server-sent event of one arrow's counts (`event: counts`, JSON data).
pub(crate) fn event(l: &Live) -> Event {
    Event::default().event("counts").data(serde_json::to_string(l).unwrap_or_default())
}
