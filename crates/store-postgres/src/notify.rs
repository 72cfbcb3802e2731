//! Commit and job notices across processes: `NOTIFY` on a channel of the store's schema,
//! sent inside the transaction it reports (PostgreSQL delivers it at commit, never for a
//! rollback), and one `LISTEN`ing connection per store that passes other processes'
//! notices to this process's subscribers. The listener reconnects after a lost
//! connection; notices are hints (receivers read what changed, and the scheduler
//! re-reads heads now and then), so one lost while it was away costs a little latency.
use crate::schema::pg_err;
use futures_util::StreamExt;
use std::time::Duration;
use tenantsync_domain::{ChangeCursor, SyncConfigId, TenantId};
use tenantsync_store::{CommitNotice, JobNotice, StoreError};
use tokio::sync::broadcast;

/// What one notice says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Commit { tenant: TenantId, head: u64 },
    Job(JobNotice),
}

impl Notice {
    fn payload(&self, instance: u64) -> String {
        match self {
            Notice::Commit { tenant, head } => format!("{instance} c {tenant} {head}"),
            Notice::Job(JobNotice::Job(id)) => format!("{instance} j {id}"),
            Notice::Job(JobNotice::All) => format!("{instance} a"),
        }
    }

    /// The notice and the instance that sent it.
    fn parse(payload: &str) -> Option<(u64, Notice)> {
        let mut parts = payload.split(' ');
        let instance = parts.next()?.parse().ok()?;
        let notice = match parts.next()? {
            "c" => Notice::Commit { tenant: parts.next()?.parse().ok()?, head: parts.next()?.parse().ok()? },
            "j" => Notice::Job(JobNotice::Job(parts.next()?.parse::<SyncConfigId>().ok()?)),
            "a" => Notice::Job(JobNotice::All),
            _ => return None,
        };
        Some((instance, notice))
    }
}

/// The channel of the connection's schema: stores of different schemas in one database
/// do not hear each other.
pub async fn channel(client: &tokio_postgres::Client) -> Result<String, StoreError> {
    let schema: String = client.query_one("SELECT current_schema()::text", &[]).await.map_err(pg_err)?.get(0);
    let safe: String = schema.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    Ok(format!("tenantsync_{safe}"))
}

/// This process's side: the local channels, and the listener task.
pub struct Notifier {
    commits: broadcast::Sender<CommitNotice>,
    jobs: broadcast::Sender<JobNotice>,
    channel: String,
    /// Tells this store's own notices (already passed on locally) from others'.
    instance: u64,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// How long opening a store waits for its listener's first `LISTEN`.
const FIRST_LISTEN: Duration = Duration::from_secs(5);

impl Notifier {
    /// Starts the listener and waits (at most [`FIRST_LISTEN`]) until it listens, so no
    /// other process's notice falls in a gap between opening the store and listening: a
    /// listener that took longer, or that connects again later, wakes everyone
    /// (`JobNotice::All`) since notices may have been missed meanwhile.
    pub async fn start(config: tokio_postgres::Config, channel: String, url: String) -> Notifier {
        let (commits, _) = broadcast::channel(4096);
        let (jobs, _) = broadcast::channel(256);
        let instance = u64::from_le_bytes(uuid::Uuid::new_v4().as_bytes()[..8].try_into().unwrap_or([0; 8]));
        let (ready, listening) = tokio::sync::oneshot::channel();
        let listener = tokio::spawn(listen(config, channel.clone(), url, instance, commits.clone(), jobs.clone(), ready));
        let _ = tokio::time::timeout(FIRST_LISTEN, listening).await;
        Notifier { commits, jobs, channel, instance, listener }
    }

    pub fn subscribe_commits(&self) -> broadcast::Receiver<CommitNotice> {
        self.commits.subscribe()
    }

    pub fn subscribe_jobs(&self) -> broadcast::Receiver<JobNotice> {
        self.jobs.subscribe()
    }

    /// Tells this process's subscribers of a commit (`head`: what it appended, if any).
    pub fn commit(&self, tenant: TenantId, head: Option<u64>) {
        if let Some(head) = head {
            let _ = self.commits.send(CommitNotice { tenant_id: tenant, head: ChangeCursor(head) });
        }
    }

    /// Tells this process's schedulers of a job change.
    pub fn job(&self, notice: JobNotice) {
        let _ = self.jobs.send(notice);
    }

    /// Sends `notice` to the other processes through `client` (inside a transaction:
    /// at its commit).
    pub async fn send<C: tokio_postgres::GenericClient + Sync>(&self, client: &C, notice: &Notice) -> Result<(), StoreError> {
        client.execute("SELECT pg_notify($1, $2)", &[&self.channel, &notice.payload(self.instance)]).await.map_err(pg_err)?;
        Ok(())
    }
}

/// The listener: connects, `LISTEN`s, passes notices on; reconnects when the connection
/// ends.
async fn listen(
    config: tokio_postgres::Config,
    channel: String,
    url: String,
    instance: u64,
    commits: broadcast::Sender<CommitNotice>,
    jobs: broadcast::Sender<JobNotice>,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let mut pause = Duration::from_millis(100);
    let mut ready = Some(ready);
    loop {
        match config.connect(tokio_postgres::NoTls).await {
            Ok((client, mut connection)) => {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                let stream = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                let pump = tokio::spawn(stream.for_each(move |m| {
                    let _ = tx.send(m);
                    std::future::ready(())
                }));
                let quoted = format!("\"{}\"", channel.replace('"', ""));
                if let Err(e) = client.batch_execute(&format!("LISTEN {quoted}")).await {
                    tracing::warn!(url, error = %e, "cannot listen for other processes' notices");
                } else {
                    pause = Duration::from_millis(100);
                    // The first LISTEN, while the store's opening still waits for it:
                    // nothing can have been missed. Later (a reconnect, or a first LISTEN
                    // the opening stopped waiting for), wake everyone: notices may have
                    // been missed.
                    let awaited = ready.take().is_some_and(|r| r.send(()).is_ok());
                    if !awaited {
                        let _ = jobs.send(JobNotice::All);
                    }
                    while let Some(message) = rx.recv().await {
                        let Ok(tokio_postgres::AsyncMessage::Notification(n)) = message else {
                            if message.is_err() {
                                break;
                            }
                            continue;
                        };
                        match Notice::parse(n.payload()) {
                            Some((from, _)) if from == instance => {}
                            Some((_, Notice::Commit { tenant, head })) => {
                                let _ = commits.send(CommitNotice { tenant_id: tenant, head: ChangeCursor(head) });
                            }
                            Some((_, Notice::Job(j))) => {
                                let _ = jobs.send(j);
                            }
                            None => {}
                        }
                    }
                }
                pump.abort();
                drop(client);
            }
            Err(e) => tracing::warn!(url, error = %e, "notice listener cannot connect; retrying"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_read_back() {
        let t = TenantId::new();
        for n in [Notice::Commit { tenant: t, head: 42 }, Notice::Job(JobNotice::Job(SyncConfigId::new())), Notice::Job(JobNotice::All)] {
            assert_eq!(Notice::parse(&n.payload(7)), Some((7, n)));
        }
    }
}
