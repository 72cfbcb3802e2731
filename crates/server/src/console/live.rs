//! The live counts of the topology page: per arrow (a sync configuration to or from the
//! session's tenant), the users it has synced, its escrows, its health and its last
//! cycle, each read from the store (the count of live users per anchor source that the
//! write path keeps, one row, and the job's state: nothing counts or pages through users),
//! and the one [`Hub`] that pushes them to every page
//! listening, as server-sent events, while cycles run.
//!
//! One hub per console (per `serve` process), not one per tenant nor per listener: an
//! arrow's counts are the same for every viewer (the source's admins and the target's
//! see the same numbers), so the hub reads each watched arrow once per round and every
//! listener of either tenant takes its own arrows out of the same broadcast. Ten browsers
//! on the page cost one read per changed arrow, not ten.
//!
//! The hub costs nothing when no one listens: its task runs only while a browser holds the
//! page's event source open, reads only the arrows someone watches, and ends when the last
//! listener goes. It is woken by the store's commit notices (a cycle writes its target and
//! its job state in one transaction, so the counts are current when the notice arrives)
//! and job notices (start, pause, restart), with a slow tick for what changes without a
//! commit (a cycle that wrote nothing still has a new "last cycle"). Bursts are coalesced:
//! one round of reads per [`COALESCE`] at most — less often should a round's reads take
//! more than a fiftieth of that ([`BUDGET`]; with the kept counts a round of ten arrows
//! is well under a millisecond, so it is a bound, not the pace) —, and only the
//! arrows whose numbers changed are sent. A listener that falls more than [`BACKLOG`] rounds behind is not ended: it
//! takes a snapshot of every arrow it watches instead.
use super::admin::health;
use super::page::time;
use super::{ConsoleResult, ConsoleState};
use axum::response::sse::Event;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tenantsync_domain::{SyncConfigId, SyncConfiguration, TenantId};
use tenantsync_store::{CommitNotice, ConfigEnd, ConfigPage, JobNotice, StoreError, SyncStore};
use tokio::sync::Notify;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::time::Instant;

/// At most one round of reads (and so one update per arrow) this often.
pub(crate) const COALESCE: Duration = Duration::from_millis(500);
/// Every watched arrow is read again this often while someone listens, for what changes
/// without a notice.
const TICK: Duration = Duration::from_secs(5);
/// A round's reads take at most this share of the time from one round to the next, so
/// the hub stays within 2% of one core whatever the store answers at. (Written when a
/// count was a `COUNT` over the anchor index, 60 ms of CPU per arrow of a million; the
/// count is now kept by the write path and read as one row, and rounds come every
/// [`COALESCE`].)
const BUDGET: u32 = 50;
/// Rounds of changes a listener may have waiting before it is resynchronised from a
/// snapshot (a round is at most one entry per watched arrow).
const BACKLOG: usize = 64;

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

/// The configurations whose source or target is `tenant`: the arrows of its page, read a
/// page at a time through the store's indexes of a tenant's configurations at either end
/// (what the tenant's drawing shows, not every configuration of the deployment).
pub(crate) async fn arrows(st: &ConsoleState, tenant: TenantId) -> ConsoleResult<Vec<SyncConfiguration>> {
    const PAGE: u32 = 200;
    let mut v: Vec<SyncConfiguration> = Vec::new();
    for end in [ConfigEnd::Source, ConfigEnd::Target] {
        let mut after = None;
        loop {
            let page = st.store.sync_configurations_at(ConfigPage { tenant, end, after, limit: PAGE }).await?;
            let full = page.len() == PAGE as usize;
            after = page.last().map(|c| if end == ConfigEnd::Source { c.target_tenant_id } else { c.source_tenant_id });
            // A configuration from the tenant to itself is at both ends: listed once.
            v.extend(page.into_iter().filter(|c| end == ConfigEnd::Source || c.source_tenant_id != tenant));
            if !full {
                break;
            }
        }
    }
    v.sort_by_key(|c| (c.source_tenant_id, c.target_tenant_id, c.id));
    Ok(v)
}

/// The live counts of one arrow.
pub(crate) async fn counts(st: &ConsoleState, c: &SyncConfiguration) -> ConsoleResult<Live> {
    Ok(read(st.store.as_ref(), c).await?)
}

async fn read(store: &dyn SyncStore, c: &SyncConfiguration) -> Result<Live, StoreError> {
    let synced = store.count_users_by_anchor_tenant(c.target_tenant_id, c.source_tenant_id).await?;
    let state = store.job_state(c.id).await?;
    let (_, status, _) = health(&state);
    let last_cycle = match &state.last_execution {
        Some(e) => format!("{} ({})", time(e.time_ended), if e.error.is_some() { "failed" } else { "succeeded" }),
        None => "—".to_owned(),
    };
    Ok(Live { arrow: c.id.to_string(), synced, escrows: state.escrows.len(), status: status.to_owned(), last_cycle })
}

/// The arrows whose counts changed in one round.
type Round = Arc<Vec<(SyncConfigId, Live)>>;

/// The console's one source of live counts (see the module docs).
pub(crate) struct Hub {
    store: Arc<dyn SyncStore>,
    inner: Mutex<Inner>,
    /// Wakes the task when the last listener has gone.
    idle: Notify,
    /// Arrows read so far (each a count and a job state): what the hub costs the store.
    reads: AtomicU64,
}

#[derive(Default)]
struct Inner {
    listeners: usize,
    /// The arrows someone listens to, with how many listeners each.
    watched: BTreeMap<SyncConfigId, (SyncConfiguration, usize)>,
    /// The last counts read of each watched arrow.
    latest: BTreeMap<SyncConfigId, Live>,
    /// The rounds' channel, while the task runs.
    tx: Option<broadcast::Sender<Round>>,
}

impl Hub {
    pub fn new(store: Arc<dyn SyncStore>) -> Hub {
        Hub { store, inner: Mutex::new(Inner::default()), idle: Notify::new(), reads: AtomicU64::new(0) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Arrows read so far.
    #[cfg(test)]
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    async fn read(&self, c: &SyncConfiguration) -> Result<Live, StoreError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        read(self.store.as_ref(), c).await
    }

    /// A listener of `configs`' counts. The task starts with the first listener, and it
    /// hears the store before the arrows new to the hub are read, so no commit falls
    /// between; the others' counts are the hub's latest, not read again.
    pub async fn subscribe(self: &Arc<Self>, configs: Vec<SyncConfiguration>) -> Listener {
        let (rx, missing) = {
            let mut g = self.lock();
            let tx = match &g.tx {
                Some(tx) => tx.clone(),
                None => {
                    let (tx, _) = broadcast::channel(BACKLOG);
                    let (commits, jobs) = (self.store.subscribe(), self.store.subscribe_jobs());
                    tokio::spawn(run(self.clone(), commits, jobs));
                    g.tx = Some(tx.clone());
                    tx
                }
            };
            g.listeners += 1;
            for c in &configs {
                g.watched.entry(c.id).or_insert_with(|| (c.clone(), 0)).1 += 1;
            }
            let missing: Vec<SyncConfiguration> = configs.iter().filter(|c| !g.latest.contains_key(&c.id)).cloned().collect();
            (tx.subscribe(), missing)
        };
        let ids = configs.iter().map(|c| c.id).collect();
        let mut listener = Listener { hub: self.clone(), ids, rx, queue: VecDeque::new(), sent: BTreeMap::new() };
        for c in missing {
            // A read that fails (the configuration deleted meanwhile) leaves the arrow unknown.
            if let Ok(live) = self.read(&c).await {
                let mut g = self.lock();
                if g.watched.contains_key(&c.id) {
                    g.latest.entry(c.id).or_insert(live);
                }
            }
        }
        listener.sent = self.snapshot(&listener.ids);
        listener
    }

    /// The latest counts of `ids`.
    fn snapshot(&self, ids: &BTreeSet<SyncConfigId>) -> BTreeMap<SyncConfigId, Live> {
        let g = self.lock();
        ids.iter().filter_map(|id| g.latest.get(id).map(|l| (*id, l.clone()))).collect()
    }

    fn leave(&self, ids: &BTreeSet<SyncConfigId>) {
        let mut g = self.lock();
        g.listeners = g.listeners.saturating_sub(1);
        for id in ids {
            if let Some((_, n)) = g.watched.get_mut(id) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    g.watched.remove(id);
                    g.latest.remove(id);
                }
            }
        }
        if g.listeners == 0 {
            self.idle.notify_one();
        }
    }

    /// Ends the task's turn when no one listens (under the lock, so that a new listener
    /// either finds the task running or starts another).
    fn stop_if_idle(&self) -> bool {
        let mut g = self.lock();
        if g.listeners > 0 {
            return false;
        }
        g.tx = None;
        g.watched.clear();
        g.latest.clear();
        true
    }

    fn mark_tenant(&self, dirty: &mut BTreeSet<SyncConfigId>, t: TenantId) {
        let g = self.lock();
        dirty.extend(g.watched.values().filter(|(c, _)| c.source_tenant_id == t || c.target_tenant_id == t).map(|(c, _)| c.id));
    }

    fn mark_all(&self, dirty: &mut BTreeSet<SyncConfigId>) {
        dirty.extend(self.lock().watched.keys().copied());
    }

    fn job(&self, dirty: &mut BTreeSet<SyncConfigId>, n: JobNotice) {
        match n {
            JobNotice::Job(id) => {
                if self.lock().watched.contains_key(&id) {
                    dirty.insert(id);
                }
            }
            JobNotice::All => self.mark_all(dirty),
        }
    }

    /// Reads the arrows of `dirty` still watched and sends those whose counts changed.
    async fn round(&self, dirty: BTreeSet<SyncConfigId>) {
        let configs: Vec<SyncConfiguration> = {
            let g = self.lock();
            dirty.iter().filter_map(|id| g.watched.get(id).map(|(c, _)| c.clone())).collect()
        };
        let mut read = Vec::new();
        for c in &configs {
            // A read that fails (the configuration deleted meanwhile) sends nothing.
            if let Ok(live) = self.read(c).await {
                read.push((c.id, live));
            }
        }
        let mut g = self.lock();
        let mut changed = Vec::new();
        for (id, live) in read {
            if g.watched.contains_key(&id) && g.latest.get(&id) != Some(&live) {
                g.latest.insert(id, live.clone());
                changed.push((id, live));
            }
        }
        if !changed.is_empty()
            && let Some(tx) = &g.tx
        {
            // No receiver: every listener left since; nothing to tell.
            let _ = tx.send(Arc::new(changed));
        }
    }
}

/// Takes the notices already waiting, without waiting (a burst becomes one round).
/// `false` when the store closed.
fn drain(hub: &Hub, dirty: &mut BTreeSet<SyncConfigId>, commits: &mut broadcast::Receiver<CommitNotice>, jobs: &mut broadcast::Receiver<JobNotice>) -> bool {
    loop {
        match commits.try_recv() {
            Ok(n) => hub.mark_tenant(dirty, n.tenant_id),
            Err(TryRecvError::Lagged(_)) => hub.mark_all(dirty),
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Closed) => return false,
        }
    }
    loop {
        match jobs.try_recv() {
            Ok(n) => hub.job(dirty, n),
            Err(TryRecvError::Lagged(_)) => hub.mark_all(dirty),
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Closed) => return false,
        }
    }
    true
}

/// The hub's task: from its first listener to its last.
async fn run(hub: Arc<Hub>, mut commits: broadcast::Receiver<CommitNotice>, mut jobs: broadcast::Receiver<JobNotice>) {
    let mut dirty = BTreeSet::new();
    let start = Instant::now();
    // The earliest time of the next round, and of the next full re-read.
    let mut next_round = start;
    let mut next_tick = start + TICK;
    loop {
        if hub.stop_if_idle() {
            return;
        }
        if dirty.is_empty() {
            let open = tokio::select! {
                n = commits.recv() => match n {
                    Ok(n) => { hub.mark_tenant(&mut dirty, n.tenant_id); true }
                    Err(RecvError::Lagged(_)) => { hub.mark_all(&mut dirty); true }
                    Err(RecvError::Closed) => false,
                },
                n = jobs.recv() => match n {
                    Ok(n) => { hub.job(&mut dirty, n); true }
                    Err(RecvError::Lagged(_)) => { hub.mark_all(&mut dirty); true }
                    Err(RecvError::Closed) => false,
                },
                () = tokio::time::sleep_until(next_tick) => { hub.mark_all(&mut dirty); next_tick = Instant::now() + TICK; true }
                () = hub.idle.notified() => true,
            };
            if !open {
                break;
            }
            continue;
        }
        // Coalesce: the notices of the next moments join this round.
        tokio::time::sleep_until(next_round).await;
        if !drain(&hub, &mut dirty, &mut commits, &mut jobs) {
            break;
        }
        if hub.stop_if_idle() {
            return;
        }
        let began = Instant::now();
        hub.round(std::mem::take(&mut dirty)).await;
        let pause = COALESCE.max(began.elapsed().saturating_mul(BUDGET));
        next_round = began + pause;
        next_tick = began + TICK.max(pause);
    }
    // The store closed: the listeners' streams end (the channel's sender is dropped).
    hub.lock().tx = None;
}

/// One event source of one browser: the counts of its arrows as the hub reads them.
pub(crate) struct Listener {
    hub: Arc<Hub>,
    ids: BTreeSet<SyncConfigId>,
    rx: broadcast::Receiver<Round>,
    /// Events taken from the hub not yet handed to the stream.
    queue: VecDeque<Live>,
    /// What was last sent (or known when it subscribed) per arrow.
    sent: BTreeMap<SyncConfigId, Live>,
}

impl Listener {
    /// The next update: an arrow of this listener whose counts changed. `None` when the
    /// store closed.
    pub async fn next(&mut self) -> Option<Live> {
        loop {
            if let Some(l) = self.queue.pop_front() {
                return Some(l);
            }
            match self.rx.recv().await {
                Ok(round) => {
                    for (id, live) in round.iter() {
                        if self.ids.contains(id) && self.sent.get(id) != Some(live) {
                            self.sent.insert(*id, live.clone());
                            self.queue.push_back(live.clone());
                        }
                    }
                }
                // Fallen behind: every arrow's latest counts, whatever was missed.
                Err(RecvError::Lagged(_)) => {
                    self.sent = self.hub.snapshot(&self.ids);
                    self.queue.extend(self.sent.values().cloned());
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.hub.leave(&self.ids);
    }
}

/// A server-sent event of one arrow's counts (`event: counts`, JSON data).
pub(crate) fn event(l: &Live) -> Event {
    Event::default().event("counts").data(serde_json::to_string(l).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenantsync_domain::NewTenant;
    use tenantsync_store::{JobStatusCode, Store};
    use tenantsync_store_sqlite::SqliteStore;

    /// Long enough for a round to have happened if one was due.
    const SETTLE: Duration = Duration::from_millis(3 * COALESCE.as_millis() as u64);

    async fn arrow() -> (tempfile::TempDir, Arc<SqliteStore>, SyncConfiguration) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let a = store.create_tenant(NewTenant::new("Contoso", "contoso.example").unwrap()).await.unwrap();
        let b = store.create_tenant(NewTenant::new("Fabrikam", "fabrikam.example").unwrap()).await.unwrap();
        let c = store.create_sync_configuration(SyncConfiguration::new("To Fabrikam", a.id, b.id).unwrap()).await.unwrap();
        (dir, store, c)
    }

    /// Sets the job's status (a job notice, as a pause or start through the API sends).
    async fn set_status(store: &SqliteStore, id: SyncConfigId, status: JobStatusCode) {
        let mut state = store.job_state(id).await.unwrap();
        state.status = status;
        store.set_job_state(id, state).await.unwrap();
    }

    async fn next(l: &mut Listener) -> Live {
        tokio::time::timeout(Duration::from_secs(10), l.next()).await.expect("an event within 10 s").expect("the stream goes on")
    }

    #[tokio::test]
    async fn two_listeners_get_the_same_event_from_one_read() {
        let (_dir, store, c) = arrow().await;
        let hub = Arc::new(Hub::new(store.clone()));
        let mut one = hub.subscribe(vec![c.clone()]).await;
        let mut two = hub.subscribe(vec![c.clone()]).await;
        assert_eq!(hub.reads(), 1, "the second listener starts from the first one's counts");
        set_status(&store, c.id, JobStatusCode::Paused).await;
        let (a, b) = (next(&mut one).await, next(&mut two).await);
        assert_eq!((a.arrow.as_str(), a.status.as_str()), (c.id.to_string().as_str(), "Paused"));
        assert_eq!(a, b);
        assert_eq!(hub.reads(), 2, "one read of the arrow for both listeners");
    }

    #[tokio::test]
    async fn nothing_is_read_while_no_one_listens() {
        let (_dir, store, c) = arrow().await;
        let hub = Arc::new(Hub::new(store.clone()));
        set_status(&store, c.id, JobStatusCode::Paused).await;
        tokio::time::sleep(SETTLE).await;
        assert_eq!(hub.reads(), 0, "no listener yet");
        let mut l = hub.subscribe(vec![c.clone()]).await;
        set_status(&store, c.id, JobStatusCode::Active).await;
        assert_eq!(next(&mut l).await.status, "Healthy");
        let reads = hub.reads();
        drop(l);
        set_status(&store, c.id, JobStatusCode::Paused).await;
        tokio::time::sleep(SETTLE).await;
        assert_eq!(hub.reads(), reads, "the last listener gone, a notice reads nothing");
        assert!(hub.lock().tx.is_none() && hub.lock().watched.is_empty(), "the hub's task ended");
        // A new listener starts it again, from counts read anew.
        let _again = hub.subscribe(vec![c.clone()]).await;
        assert_eq!(hub.reads(), reads + 1);
        assert_eq!(hub.snapshot(&BTreeSet::from([c.id])).get(&c.id).map(|l| l.status.as_str()), Some("Paused"));
    }

    #[tokio::test]
    async fn a_listener_that_falls_behind_gets_a_snapshot_not_an_error() {
        let (_dir, store, c) = arrow().await;
        let hub = Arc::new(Hub::new(store.clone()));
        let mut slow = hub.subscribe(vec![c.clone()]).await;
        let now = hub.snapshot(&BTreeSet::from([c.id])).remove(&c.id).unwrap();
        // More rounds than the backlog holds, none of them read by the listener.
        let tx = hub.lock().tx.clone().unwrap();
        for i in 0..BACKLOG as u64 + 5 {
            tx.send(Arc::new(vec![(c.id, Live { synced: 1000 + i, ..now.clone() })])).unwrap();
        }
        assert_eq!(next(&mut slow).await, now, "the arrow's latest counts first");
        assert_eq!(next(&mut slow).await.synced, 1005, "then the rounds still held");
    }
}
