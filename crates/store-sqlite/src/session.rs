//! A run's stream of commits ([`tenantsync_store::SyncWriter`]): the writes of one job run
//! share transactions of up to [`UNIT_OBJECTS`] objects.
//!
//! The stream is a job on the writer thread that owns the receiving end of a channel. It
//! begins a transaction, applies each write as it comes and answers with its results, and
//! commits when the transaction holds [`UNIT_OBJECTS`] objects, on a flush, when it has
//! waited [`IDLE`] for the next write, or when another job waits for the writer thread
//! and the transaction has been open [`MIN_HOLD`]: it then commits and queues itself
//! again behind that job, keeping its channel.
//! A commit that ends a write's transaction happens before that write is answered, so
//! its error goes to that write; an idle commit's error goes to the next call.
//!
//! The caller packs a write's log records before it sends them with the writes (a
//! create's record may leave its values in the copy the write creates, which the writer
//! thread takes).
use crate::logblock;
use crate::sync::record_write;
use crate::write::Tx;
use crate::{Queue, SqliteStore};
use async_trait::async_trait;
use rusqlite::Connection;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak, mpsc};
use std::time::{Duration, Instant};
use tenantsync_domain::{SyncConfigId, TenantId};
use tenantsync_store::{JobState, ProvisioningLog, Result, StoreError, SyncWriter, WriteFuture, WriteOp, WriteOutcome};
use tokio::sync::oneshot;

/// Objects (log records or target writes, whichever is more) per transaction at most. A
/// million-user target's random index pages are then each written a few times per
/// initial cycle, not once per few thousand users.
pub const UNIT_OBJECTS: usize = 100_000;
/// Objects per write the stream asks of a run ([`SyncWriter::batch_objects`]). Its
/// transactions span writes, so a batch bounds only what a run holds in flight (the
/// batch being planned, and those queued): smaller than PostgreSQL's, whose writes are a
/// transaction each. 2,000 rather than the default 8,000 cut an initial cycle's peak
/// memory by 20% at 100,000 users and 13% at 1,000,000, for the same instructions
/// (docs/benchmarks.md, issue 21's fifth round).
pub const SYNC_BATCH_OBJECTS: usize = 2_000;
/// How long the stream waits for a write at a time before it looks for other jobs.
const POLL: Duration = Duration::from_millis(2);
/// How long an open transaction waits for the next write before it commits.
const IDLE: Duration = Duration::from_millis(100);
/// How long a transaction stays open, at least, once another job waits (unless it goes
/// idle first): long enough that concurrent jobs (a hub's spokes) still commit several
/// batches at a time, short enough that a SCIM write is not kept waiting for long.
const MIN_HOLD: Duration = Duration::from_millis(250);

type Records = (Vec<ProvisioningLog>, Vec<Vec<u8>>);
type Answer = Result<(Vec<Result<WriteOutcome>>, Records)>;

enum Msg {
    Write {
        ops: Vec<WriteOp>,
        orders: Vec<crate::write::RunOrder>,
        watermark: i64,
        state: String,
        now_ms: i64,
        records: Records,
        reply: oneshot::Sender<Answer>,
    },
    Flush {
        reply: oneshot::Sender<Result<()>>,
    },
}

/// The stream job's channel while a job runs, and an error no write has been told of.
#[derive(Default)]
struct Slot {
    sender: Option<mpsc::Sender<Msg>>,
    failed: Option<StoreError>,
}

/// The [`SyncWriter`] of [`SqliteStore`].
pub struct SqliteSyncWriter {
    store: SqliteStore,
    id: SyncConfigId,
    target: TenantId,
    slot: Arc<Mutex<Slot>>,
    /// Records of answered writes, freed by the next write (see [`SyncWriter::write`]).
    spent: Arc<Mutex<Vec<Records>>>,
}

impl std::fmt::Debug for SqliteSyncWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteSyncWriter").field("id", &self.id).field("target", &self.target).finish_non_exhaustive()
    }
}

impl SqliteSyncWriter {
    pub(crate) fn new(store: SqliteStore, id: SyncConfigId, target: TenantId) -> SqliteSyncWriter {
        SqliteSyncWriter { store, id, target, slot: Arc::new(Mutex::new(Slot::default())), spent: Arc::default() }
    }

    /// Frees the records of the writes answered so far.
    fn free_spent(&self) {
        let spent = self.spent.lock().map(|mut spent| std::mem::take(&mut *spent));
        drop(spent);
    }

    /// Hands `msg` to the running stream job, or starts one.
    fn send(&self, mut msg: Msg) -> Result<()> {
        let mut slot = self.slot.lock().map_err(|_| StoreError::Closed)?;
        if let Some(e) = slot.failed.take() {
            return Err(e);
        }
        if let Some(sender) = &slot.sender {
            match sender.send(msg) {
                Ok(()) => return Ok(()),
                // The job ended (an error, or its caller went away mid-write).
                Err(mpsc::SendError(m)) => msg = m,
            }
        }
        let (sender, rx) = mpsc::channel();
        sender.send(msg).map_err(|_| StoreError::Closed)?;
        let queue = self.store.queue()?;
        let stream = Stream { rx, slot: Arc::downgrade(&self.slot), queue: queue.clone(), notices: self.store.notifier(), id: self.id, target: self.target };
        queue.submit(Box::new(move |conn| stream.run(conn)))?;
        slot.sender = Some(sender);
        Ok(())
    }
}

fn closed<T>(_: T) -> StoreError {
    StoreError::Internal { message: "the sync writer's transaction ended before this write was applied".into() }
}

#[async_trait]
impl SyncWriter for SqliteSyncWriter {
    fn write(&self, ops: Vec<WriteOp>, state: JobState, logs: Vec<ProvisioningLog>) -> WriteFuture {
        // The records of writes answered since the last call are freed here, on the
        // caller's thread, which made them: the allocator frees memory on the thread that
        // owns it cheaply, and from another thread at several times the cost (one record
        // is a dozen allocations, a batch thousands of records).
        self.free_spent();
        let body = match serde_json::to_string(&state) {
            Ok(body) => body,
            Err(e) => return Box::pin(std::future::ready(Err(StoreError::Internal { message: e.to_string() }))),
        };
        // Packed and ordered here, on the caller's thread: the writer thread is a sync's
        // bottleneck (it applies the previous write meanwhile). The records read the
        // values they leave in copies from the writes, before the writer takes them.
        let packed = match logblock::encode_all(&logs, &ops) {
            Ok(packed) => packed,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let orders = crate::write::create_orders(&ops);
        let (reply, answer) = oneshot::channel();
        // Queued now, in call order; the future only waits.
        let queued = self.send(Msg::Write {
            ops,
            orders,
            watermark: state.watermark.0 as i64,
            state: body,
            now_ms: self.store.now_ms(),
            records: (logs, packed),
            reply,
        });
        let spent = self.spent.clone();
        Box::pin(async move {
            queued?;
            let (results, returned) = answer.await.map_err(closed)??;
            // Freed by the next write (or with the writer), not on the writer thread nor
            // wherever this future runs.
            if let Ok(mut spent) = spent.lock() {
                spent.push(returned);
            }
            Ok(results)
        })
    }

    async fn flush(&self) -> Result<()> {
        // The end of a run: no later write frees what the last ones returned.
        self.free_spent();
        let (reply, answer) = oneshot::channel();
        {
            let mut slot = self.slot.lock().map_err(|_| StoreError::Closed)?;
            if let Some(e) = slot.failed.take() {
                return Err(e);
            }
            // No job: nothing is open.
            if slot.sender.is_none() {
                return Ok(());
            }
        }
        self.send(Msg::Flush { reply })?;
        answer.await.map_err(closed)?
    }

    fn batch_objects(&self) -> usize {
        SYNC_BATCH_OBJECTS
    }
}

/// The writer thread's side of a stream.
struct Stream {
    rx: mpsc::Receiver<Msg>,
    slot: Weak<Mutex<Slot>>,
    queue: Queue,
    notices: crate::notify::Notifier,
    id: SyncConfigId,
    target: TenantId,
}

impl Stream {
    fn others_waiting(&self) -> bool {
        self.queue.waiting.load(Ordering::SeqCst) > 0
    }

    fn commit(&self, open: &mut Option<Tx<'_>>) -> Result<()> {
        if let Some(tx) = open.take() {
            let head = tx.commit()?;
            self.notices.commit(self.target, head);
        }
        Ok(())
    }

    /// Ends the stream job when no write came in meanwhile (returned instead: the job goes
    /// on). Later writes start a new job.
    fn close_idle(&self) -> Option<Msg> {
        let slot = self.slot.upgrade()?;
        let mut slot = slot.lock().ok()?;
        if let Ok(msg) = self.rx.try_recv() {
            return Some(msg);
        }
        slot.sender = None;
        None
    }

    /// Ends the stream job after an error; `failed` (if any) goes to the next call.
    /// Writes already queued fail with their channel.
    fn end(&self, failed: Option<StoreError>) {
        if let Some(slot) = self.slot.upgrade()
            && let Ok(mut slot) = slot.lock()
        {
            slot.sender = None;
            if failed.is_some() {
                slot.failed = failed;
            }
        }
    }

    /// Commits and queues the stream again behind the jobs waiting for the thread.
    fn step_aside(self, open: &mut Option<Tx<'_>>) {
        if let Err(e) = self.commit(open) {
            self.end(Some(e));
            return;
        }
        let queue = self.queue.clone();
        // Fails only while the store closes; the stream's channel then goes with the job.
        let _ = queue.submit(Box::new(move |conn| self.run(conn)));
    }

    fn run(self, conn: &mut Connection) {
        let conn: &Connection = conn;
        let mut open: Option<Tx<'_>> = None;
        let mut objects = 0usize;
        let mut idle = Duration::ZERO;
        // When the open transaction began.
        let mut began = Instant::now();
        loop {
            let msg = match self.rx.recv_timeout(POLL) {
                Ok(msg) => msg,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // The writer was dropped without a flush.
                    if let Some(tx) = open.take() {
                        tx.rollback();
                    }
                    return;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    idle += POLL;
                    let others = self.others_waiting();
                    if open.is_some() {
                        if others && began.elapsed() >= MIN_HOLD {
                            self.step_aside(&mut open);
                            return;
                        }
                        if idle < IDLE {
                            continue;
                        }
                    } else if idle < IDLE && !others {
                        // Nothing open: the thread is held only while nobody else waits.
                        continue;
                    }
                    // Committed before the stream ends: a flush that finds it ended finds
                    // its writes committed.
                    if let Err(e) = self.commit(&mut open) {
                        self.end(Some(e));
                        return;
                    }
                    match self.close_idle() {
                        Some(msg) => msg,
                        None => return,
                    }
                }
            };
            idle = Duration::ZERO;
            match msg {
                Msg::Flush { reply } => {
                    let committed = self.commit(&mut open);
                    objects = 0;
                    if committed.is_err() {
                        // Ended before the answer: the caller's next call starts afresh.
                        self.end(None);
                        let _ = reply.send(committed);
                        return;
                    }
                    let _ = reply.send(committed);
                }
                Msg::Write { ops, orders, watermark, state, now_ms, records, reply } => {
                    if open.is_none() {
                        match Tx::begin(conn, self.target, now_ms) {
                            Ok(tx) => {
                                open = Some(tx);
                                began = Instant::now();
                            }
                            Err(e) => {
                                self.end(None);
                                let _ = reply.send(Err(e));
                                return;
                            }
                        }
                    }
                    let Some(tx) = open.as_mut() else { return };
                    tx.now_ms = now_ms;
                    let (mut logs, mut packed) = records;
                    let applied = tx.apply_sync(ops, orders).and_then(|results| {
                        record_write(tx, self.id, &results, &mut logs, &mut packed, watermark, &state)?;
                        Ok((results, (logs, packed)))
                    });
                    let answer = match applied {
                        Ok((results, records)) => {
                            objects += results.len().max(records.0.len());
                            // The commit that ends this write's transaction answers for it.
                            let ends = objects >= UNIT_OBJECTS || (self.others_waiting() && began.elapsed() >= MIN_HOLD);
                            let committed = if ends { self.commit(&mut open) } else { Ok(()) };
                            if ends {
                                objects = 0;
                            }
                            committed.map(|()| (results, records))
                        }
                        Err(e) => Err(e),
                    };
                    if answer.is_err() {
                        if let Some(tx) = open.take() {
                            tx.rollback();
                        }
                        self.end(None);
                        let _ = reply.send(answer);
                        return;
                    }
                    let _ = reply.send(answer);
                    if self.others_waiting() && (open.is_none() || began.elapsed() >= MIN_HOLD) {
                        self.step_aside(&mut open);
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenantsync_domain::{NewTenant, ObjectId, SyncConfiguration};
    use tenantsync_store::{ProvisioningAction, ProvisioningStatus, Store, SyncStore};

    fn record(config: SyncConfigId, i: usize) -> ProvisioningLog {
        ProvisioningLog {
            id: uuid::Uuid::now_v7().to_string(),
            cycle_id: "cycle".into(),
            change_id: format!("cycle-{i}"),
            ..ProvisioningLog::new(config, ObjectId::new(), format!("user{i}"), ProvisioningAction::Other, ProvisioningStatus::Skipped, jiff::Timestamp::now())
        }
    }

    #[tokio::test]
    async fn the_records_of_answered_writes_are_freed_by_the_next_write_or_the_flush() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let source = store.create_tenant(NewTenant::new("Contoso", "contoso.example").unwrap()).await.unwrap();
        let target = store.create_tenant(NewTenant::new("Fabrikam", "fabrikam.example").unwrap()).await.unwrap();
        let c = store.create_sync_configuration(SyncConfiguration::new("a", source.id, target.id).unwrap()).await.unwrap();
        let writer = SqliteSyncWriter::new(store.clone(), c.id, target.id);
        let held = |w: &SqliteSyncWriter| w.spent.lock().unwrap().iter().map(|(logs, _)| logs.len()).collect::<Vec<_>>();

        writer.write(Vec::new(), JobState::default(), (0..3).map(|i| record(c.id, i)).collect()).await.unwrap();
        assert_eq!(held(&writer), [3]);
        // The next write frees them when it is made, and holds its own once answered.
        let next = writer.write(Vec::new(), JobState::default(), (3..5).map(|i| record(c.id, i)).collect());
        assert!(held(&writer).is_empty());
        next.await.unwrap();
        assert_eq!(held(&writer), [2]);
        writer.flush().await.unwrap();
        assert!(held(&writer).is_empty());
        // Every record was written all the same.
        let logs = store.provisioning_logs(&tenantsync_store::LogQuery { config_id: Some(c.id), limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(logs.len(), 5);
    }
}
