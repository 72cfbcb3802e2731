//! Streaming bulk import of users: a task holds one connection and a transaction on the
//! tenant and takes batches of rows from a bounded channel until the caller finishes or
//! aborts, so memory stays flat however many rows come. A row the store refuses is
//! recorded; the unit it belongs to (the whole import, or `commit_every` rows) is then
//! rolled back and the import stops there, as in the SQLite store.
use crate::PgStore;
use crate::write::Tx;
use async_trait::async_trait;
use tenantsync_domain::{NewUser, ObjectId, TenantId, UserRef};
use tenantsync_store::{BulkOptions, BulkSummary, BulkUserImport, RejectedRow, Result, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Rows handed to the write path at a time.
const CHUNK_ROWS: usize = 4_000;

enum Msg {
    Rows(Vec<(u64, NewUser)>),
    End { commit: bool, reply: oneshot::Sender<Result<BulkSummary>> },
}

/// The caller's side of a running import.
#[derive(Debug)]
pub struct PgBulkImport {
    tx: mpsc::Sender<Msg>,
    /// Receives the error if the task ends on its own (the database failed).
    failed: Option<oneshot::Receiver<StoreError>>,
}

pub fn start(store: PgStore, tenant: TenantId, options: BulkOptions) -> PgBulkImport {
    let (tx, rx) = mpsc::channel::<Msg>(4);
    let (fail_tx, fail_rx) = oneshot::channel();
    tokio::spawn(async move {
        if let Err(e) = run(&store, tenant, options, rx).await {
            let _ = fail_tx.send(e);
        }
    });
    PgBulkImport { tx, failed: Some(fail_rx) }
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
async fn resolve_deferred(tx: &Tx<'_>, summary: &mut BulkSummary, unit: &mut Unit) -> Result<()> {
    for (tag, user, r) in std::mem::take(&mut unit.deferred) {
        match tx.find_manager(&r).await? {
            Some(m) if m != user => tx.set_manager_in_creation(user, m).await?,
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

/// Ends a unit: commits it if clean (`Some(true)`), rolls it back otherwise
/// (`Some(false)`: the import stops).
async fn close_unit(store: &PgStore, tx: Tx<'_>, summary: &mut BulkSummary, unit: &mut Unit) -> Result<bool> {
    if let Err(e) = resolve_deferred(&tx, summary, unit).await {
        tx.rollback().await;
        return Err(e);
    }
    if unit.failed {
        summary.rolled_back += unit.ok_rows;
        *unit = Unit::new();
        tx.rollback().await;
        return Ok(false);
    }
    store.finish(tx).await?;
    summary.committed += unit.ok_rows;
    if unit.last_tag.is_some() {
        summary.last_committed_tag = unit.last_tag;
    }
    *unit = Unit::new();
    Ok(true)
}

/// How a unit's intake ended.
enum UnitEnd {
    /// It holds `commit_every` rows.
    Full,
    /// The caller ended the import.
    End { commit: bool, reply: oneshot::Sender<Result<BulkSummary>> },
    /// The caller dropped the import without ending it.
    Dropped,
}

async fn run(store: &PgStore, tenant: TenantId, options: BulkOptions, mut rx: mpsc::Receiver<Msg>) -> Result<()> {
    let mut client = store.client().await?;
    let mut summary = BulkSummary::default();
    let mut unit = Unit::new();
    let unit_size = options.commit_every.map(|n| n.max(1) as u64);
    let mut pending: std::collections::VecDeque<(u64, NewUser)> = std::collections::VecDeque::new();
    // The caller's end, when it was taken from the channel while gathering rows.
    let mut ended: Option<Msg> = None;
    loop {
        // One transaction per unit.
        let mut tx = store.begin(&mut client, tenant).await?;
        let end = loop {
            // Rows already waiting join this chunk: fewer, larger statements.
            while pending.len() < CHUNK_ROWS {
                match rx.try_recv() {
                    Ok(Msg::Rows(rows)) => pending.extend(rows),
                    Ok(end @ Msg::End { .. }) => {
                        ended = Some(end);
                        break;
                    }
                    Err(_) => break,
                }
            }
            if !pending.is_empty() {
                // As many rows as the unit still takes, in one go.
                let room = unit_size.map_or(usize::MAX, |n| usize::try_from(n.saturating_sub(unit.rows)).unwrap_or(usize::MAX)).max(1);
                let take = pending.len().min(room).min(CHUNK_ROWS);
                let (tags, rows): (Vec<u64>, Vec<(ObjectId, NewUser)>) = pending.drain(..take).map(|(tag, u)| (tag, (u.id, u))).unzip();
                let (ids, rows): (Vec<ObjectId>, Vec<NewUser>) = rows.into_iter().unzip();
                let results = match tx.create_users(rows).await {
                    Ok(results) => results,
                    Err(e) => {
                        tx.rollback().await;
                        return Err(e);
                    }
                };
                for ((tag, id), result) in tags.into_iter().zip(ids).zip(results) {
                    unit.rows += 1;
                    match result {
                        Ok((_, deferred)) => {
                            unit.ok_rows += 1;
                            unit.last_tag = Some(tag);
                            if let Some(r) = deferred {
                                unit.deferred.push((tag, id, r));
                            }
                        }
                        Err(e) => reject(&mut summary, &mut unit, tag, e),
                    }
                }
                if unit_size.is_some_and(|n| unit.rows >= n) {
                    break UnitEnd::Full;
                }
                continue;
            }
            let msg = match ended.take() {
                Some(end) => Some(end),
                None => rx.recv().await,
            };
            match msg {
                Some(Msg::Rows(rows)) => pending.extend(rows),
                Some(Msg::End { commit, reply }) => break UnitEnd::End { commit, reply },
                None => break UnitEnd::Dropped,
            }
        };
        match end {
            UnitEnd::Dropped => {
                // Nothing more is committed.
                tx.rollback().await;
                return Ok(());
            }
            UnitEnd::Full => {
                if !close_unit(store, tx, &mut summary, &mut unit).await? {
                    // The import stops at the failed unit: later rows are not written.
                    loop {
                        let msg = match ended.take() {
                            Some(end) => Some(end),
                            None => rx.recv().await,
                        };
                        match msg {
                            Some(Msg::Rows(_)) => {}
                            Some(Msg::End { reply, .. }) => {
                                let _ = reply.send(Ok(done(summary)));
                                return Ok(());
                            }
                            None => return Ok(()),
                        }
                    }
                }
            }
            UnitEnd::End { commit, reply } => {
                let result = if commit {
                    close_unit(store, tx, &mut summary, &mut unit).await.map(|_| ())
                } else {
                    let deferred = resolve_deferred(&tx, &mut summary, &mut unit).await;
                    summary.rolled_back += unit.ok_rows;
                    tx.rollback().await;
                    deferred
                };
                let _ = reply.send(result.map(|()| done(summary)));
                return Ok(());
            }
        }
    }
}

fn done(mut summary: BulkSummary) -> BulkSummary {
    summary.rejected.sort_by_key(|r| r.tag);
    summary
}

impl PgBulkImport {
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
            Some(rx) => rx.await.unwrap_or(StoreError::Closed),
            None => StoreError::Closed,
        }
    }
}

#[async_trait]
impl BulkUserImport for PgBulkImport {
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
