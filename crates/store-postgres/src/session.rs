//! A run's stream of commits ([`tenantsync_store::SyncWriter`]): a task per writer takes
//! the writes from a channel in call order and commits each in a transaction of its own
//! (target writes, log records, job state), answering once it is committed. The channel
//! is what keeps call order however the callers await their futures.
use crate::PgStore;
use crate::sync::apply_write;
use async_trait::async_trait;
use tenantsync_domain::{SyncConfigId, TenantId};
use tenantsync_store::{JobState, ProvisioningLog, Result, StoreError, SyncWriter, WriteFuture, WriteOp, WriteOutcome};
use tokio::sync::{mpsc, oneshot};

/// One write of the run and where its answer goes.
struct Write {
    ops: Vec<WriteOp>,
    state: JobState,
    logs: Vec<ProvisioningLog>,
    reply: oneshot::Sender<Result<Vec<Result<WriteOutcome>>>>,
}

enum Msg {
    Write(Box<Write>),
    Flush { reply: oneshot::Sender<Result<()>> },
}

/// The [`SyncWriter`] of [`PgStore`].
pub struct PgSyncWriter {
    sender: mpsc::UnboundedSender<Msg>,
    id: SyncConfigId,
    target: TenantId,
}

impl std::fmt::Debug for PgSyncWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSyncWriter").field("id", &self.id).field("target", &self.target).finish_non_exhaustive()
    }
}

impl PgSyncWriter {
    pub(crate) fn start(store: PgStore, id: SyncConfigId, target: TenantId) -> PgSyncWriter {
        let (sender, mut rx) = mpsc::unbounded_channel::<Msg>();
        tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                match msg {
                    Msg::Write(w) => {
                        let Write { ops, state, mut logs, reply } = *w;
                        let _ = reply.send(commit(&store, id, target, ops, &state, &mut logs).await);
                    }
                    Msg::Flush { reply } => {
                        let _ = reply.send(Ok(()));
                    }
                }
            }
        });
        PgSyncWriter { sender, id, target }
    }
}

async fn commit(
    store: &PgStore,
    id: SyncConfigId,
    target: TenantId,
    ops: Vec<WriteOp>,
    state: &JobState,
    logs: &mut [ProvisioningLog],
) -> Result<Vec<Result<WriteOutcome>>> {
    let body = serde_json::to_string(state).map_err(|e| StoreError::Internal { message: e.to_string() })?;
    let mut client = store.client().await?;
    let mut tx = store.begin(&mut client, target).await?;
    match apply_write(&mut tx, id, ops, logs, state.watermark.0 as i64, &body).await {
        Ok(results) => {
            store.finish(tx).await?;
            Ok(results)
        }
        Err(e) => {
            tx.rollback().await;
            Err(e)
        }
    }
}

fn ended<T>(_: T) -> StoreError {
    StoreError::Internal { message: "the sync writer ended before this write was applied".into() }
}

#[async_trait]
impl SyncWriter for PgSyncWriter {
    fn write(&self, ops: Vec<WriteOp>, state: JobState, logs: Vec<ProvisioningLog>) -> WriteFuture {
        let (reply, answer) = oneshot::channel();
        // Queued now, in call order; the future only waits.
        let queued = self.sender.send(Msg::Write(Box::new(Write { ops, state, logs, reply }))).map_err(ended);
        Box::pin(async move {
            queued?;
            answer.await.map_err(ended)?
        })
    }

    async fn flush(&self) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.sender.send(Msg::Flush { reply }).map_err(ended)?;
        answer.await.map_err(ended)?
    }
}
