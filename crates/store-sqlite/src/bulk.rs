//! Streaming bulk import of users.
//!
//! The import runs as one job on the writer thread: it opens a transaction and pulls
//! batches of rows from a bounded channel until the caller finishes or aborts, so memory
//! stays flat however many rows come, and other writers wait until the import ends.
//! A row the store refuses (duplicate UPN, unknown manager, ...) is recorded; the unit
//! it belongs to (the whole import, or `commit_every` rows) is then rolled back.
//!
//! Between two units the import looks for writers of other processes waiting for the
//! write lock and lets them in before it begins the next unit (`lock.rs`), so a long
//! import in units never holds the lock for more than a unit at a time.
use crate::SqliteStore;
use crate::lock::Turn;
use crate::write::Tx;
use async_trait::async_trait;
use tenantsync_domain::{NewUser, ObjectId, TenantId, UserRef};
use tenantsync_store::{BulkOptions, BulkSummary, BulkUserImport, RejectedRow, Result, StoreError};
use tokio::sync::{mpsc, oneshot};

enum Msg {
    Rows(Vec<(u64, NewUser)>),
    End { commit: bool, reply: oneshot::Sender<Result<BulkSummary>> },
}

/// The caller's side of a running import.
#[derive(Debug)]
pub struct SqliteBulkImport {
    tx: mpsc::Sender<Msg>,
    /// Receives the summary if the job ends on its own (the writer failed).
    failed: Option<oneshot::Receiver<Result<BulkSummary>>>,
}

pub fn start(store: SqliteStore, tenant: TenantId, options: BulkOptions) -> Result<SqliteBulkImport> {
    // A few batches in flight: the parser runs ahead of the writer, but not far.
    let (tx, mut rx) = mpsc::channel::<Msg>(4);
    let (fail_tx, fail_rx) = oneshot::channel();
    // The job holds no handle on the store itself: were it to hold the last one, the
    // store would be dropped (and its writer joined) on the writer thread.
    let notices = store.notifier();
    let turn = store.inner.turn.clone();
    let now = store.now_ms();
    let job: crate::Job = Box::new(move |conn| {
        let notify = |head: Option<u64>| notices.commit(tenant, head);
        let result = run(conn, tenant, now, options, &mut rx, &Between { notify: &notify, turn: &turn });
        if let Err(e) = result {
            let _ = fail_tx.send(Err(e));
        }
    });
    store.queue()?.submit(job)?;
    Ok(SqliteBulkImport { tx, failed: Some(fail_rx) })
}

struct Unit {
    rows: u64,
    ok_rows: u64,
    last_tag: Option<u64>,
    failed: bool,
    deferred: Vec<(u64, ObjectId, UserRef)>,
}

impl Unit {
    fn new() -> Self {
        Self { rows: 0, ok_rows: 0, last_tag: None, failed: false, deferred: Vec::new() }
    }
}

fn reject(summary: &mut BulkSummary, unit: &mut Unit, tag: u64, error: StoreError) {
    unit.failed = true;
    summary.rejected_count += 1;
    if summary.rejected.len() < BulkSummary::MAX_KEPT_REJECTIONS {
        summary.rejected.push(RejectedRow { tag, error });
    }
}

/// Resolves managers that named users created later in the same unit.
fn resolve_deferred(tx: &Tx<'_>, summary: &mut BulkSummary, unit: &mut Unit) -> Result<()> {
    for (tag, user, r) in std::mem::take(&mut unit.deferred) {
        match tx.find_manager(&r)? {
            Some(m) if m != user => tx.set_manager_in_creation(user, m)?,
            found => {
                // The row was counted as good when it was inserted; it is not.
                unit.ok_rows = unit.ok_rows.saturating_sub(1);
                let error = if found.is_some() { StoreError::SelfManager } else { StoreError::UnknownManager { reference: r.to_string() } };
                reject(summary, unit, tag, error);
            }
        }
    }
    Ok(())
}

/// What the job does between units: announce commits, let other processes in.
struct Between<'a> {
    notify: &'a dyn Fn(Option<u64>),
    turn: &'a Turn,
}

/// Ends a unit: commits it if clean, rolls it back otherwise. Returns the transaction the
/// import goes on in and whether it goes on (false: it must stop). On an error the
/// transaction is rolled back: nothing stays open.
fn close_unit<'c>(tx: Tx<'c>, summary: &mut BulkSummary, unit: &mut Unit, last: bool, between: &Between<'_>) -> Result<(Tx<'c>, bool)> {
    let mut tx = tx;
    if let Err(e) = resolve_deferred(&tx, summary, unit) {
        tx.rollback();
        return Err(e);
    }
    if unit.failed {
        summary.rolled_back += unit.ok_rows;
        *unit = Unit::new();
        if let Err(e) = tx.restart() {
            tx.rollback();
            return Err(e);
        }
        return Ok((tx, false));
    }
    if !last {
        tx = next_unit(tx, between)?;
    }
    summary.committed += unit.ok_rows;
    if unit.last_tag.is_some() {
        summary.last_committed_tag = unit.last_tag;
    }
    *unit = Unit::new();
    Ok((tx, true))
}

/// Commits the unit of `tx` and begins the next one. When a writer of another process
/// waits for the lock, lets it in between the two; else commits and begins again at once.
fn next_unit<'c>(tx: Tx<'c>, between: &Between<'_>) -> Result<Tx<'c>> {
    let mut tx = tx;
    if !between.turn.others_waiting() {
        return match tx.recommit() {
            Ok(head) => {
                (between.notify)(head);
                Ok(tx)
            }
            Err(e) => {
                tx.rollback();
                Err(e)
            }
        };
    }
    let (conn, tenant, now_ms) = (tx.conn, tx.tenant, tx.now_ms);
    (between.notify)(tx.commit()?);
    between.turn.let_waiters_in();
    Tx::begin(conn, tenant, now_ms)
}

fn run(
    conn: &mut rusqlite::Connection,
    tenant: TenantId,
    now_ms: i64,
    options: BulkOptions,
    rx: &mut mpsc::Receiver<Msg>,
    between: &Between<'_>,
) -> Result<()> {
    let conn: &rusqlite::Connection = conn;
    let mut tx = Tx::begin(conn, tenant, now_ms)?;
    let mut summary = BulkSummary::default();
    let mut unit = Unit::new();
    let mut stopped = false;
    let unit_size = options.commit_every.map(|n| n.max(1) as u64);
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            Msg::Rows(rows) => {
                for (tag, user) in rows {
                    if stopped {
                        continue;
                    }
                    let id = user.id;
                    unit.rows += 1;
                    match tx.create_user(user, true) {
                        Ok((_, deferred)) => {
                            unit.ok_rows += 1;
                            unit.last_tag = Some(tag);
                            if let Some(r) = deferred {
                                unit.deferred.push((tag, id, r));
                            }
                        }
                        Err(e) if e.is_refusal() => reject(&mut summary, &mut unit, tag, e),
                        Err(e) => {
                            tx.rollback();
                            return Err(e);
                        }
                    }
                    if let Some(n) = unit_size
                        && unit.rows >= n
                    {
                        let (next, go_on) = close_unit(tx, &mut summary, &mut unit, false, between)?;
                        tx = next;
                        stopped = !go_on;
                    }
                }
            }
            Msg::End { commit, reply } => {
                let result = finish(tx, &mut summary, &mut unit, commit && !stopped, between).map(|()| {
                    summary.rejected.sort_by_key(|r| r.tag);
                    summary
                });
                let _ = reply.send(result);
                return Ok(());
            }
        }
    }
    // The caller dropped the import without ending it: nothing more is committed.
    tx.rollback();
    Ok(())
}

fn finish(tx: Tx<'_>, summary: &mut BulkSummary, unit: &mut Unit, commit: bool, between: &Between<'_>) -> Result<()> {
    if !commit {
        let deferred = resolve_deferred(&tx, summary, unit);
        summary.rolled_back += unit.ok_rows;
        tx.rollback();
        return deferred;
    }
    let (tx, clean) = close_unit(tx, summary, unit, true, between)?;
    if clean {
        (between.notify)(tx.commit()?);
    } else {
        tx.rollback();
    }
    Ok(())
}

impl SqliteBulkImport {
    async fn end(mut self, commit: bool) -> Result<BulkSummary> {
        let (reply, answer) = oneshot::channel();
        if self.tx.send(Msg::End { commit, reply }).await.is_err() {
            return Err(self.failure().await);
        }
        match answer.await {
            Ok(result) => result,
            Err(_) => Err(self.failure().await),
        }
    }

    async fn failure(&mut self) -> StoreError {
        match self.failed.take() {
            Some(rx) => match rx.await {
                Ok(Err(e)) => e,
                _ => StoreError::Closed,
            },
            None => StoreError::Closed,
        }
    }
}

#[async_trait]
impl BulkUserImport for SqliteBulkImport {
    async fn push(&mut self, rows: Vec<(u64, NewUser)>) -> Result<()> {
        if self.tx.send(Msg::Rows(rows)).await.is_err() {
            return Err(self.failure().await);
        }
        Ok(())
    }

    async fn finish(self: Box<Self>) -> Result<BulkSummary> {
        self.end(true).await
    }

    async fn abort(self: Box<Self>) -> Result<BulkSummary> {
        self.end(false).await
    }
}
