//! Job leases: a session advisory lock on the job's key, held by a connection of its own
//! that the lease owns. PostgreSQL releases a session's locks when its connection ends —
//! also when the holding process is killed (its socket closes) or cut off (TCP keepalives
//! end the session) — so another worker takes the job over without waiting for a lease to
//! expire.
//!
//! Dropping a lease unlocks explicitly and waits for the server's answer (in a task of its
//! own) before the connection goes: the server notices a closed socket only some time
//! later, and until then the lock would still be held. This process's next lease of the
//! same job waits for that release, so a job run twice in a row by one worker never finds
//! its own previous cycle's lease in the way.
//!
//! A connection whose unlock the server confirmed holds nothing, and is kept for the next
//! lease (up to [`IDLE_MAX`]): opening one costs a backend's start and a SCRAM exchange,
//! tens of milliseconds of CPU that every event-driven cycle of every worker would
//! otherwise pay (a worker that does not get the lease pays them too). A kept connection
//! found broken is dropped and a new one opened.
use crate::schema::pg_err;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tenantsync_domain::SyncConfigId;
use tenantsync_store::{JobLease, StoreError};
use tokio::sync::watch;

/// How long a new lease waits at most for this process's release of the same job.
const RELEASE_WAIT: Duration = Duration::from_secs(5);

/// How many idle lease connections a process keeps.
const IDLE_MAX: usize = 8;

/// The advisory lock key of a job: its 128-bit id folded to 64 bits.
pub fn key(id: SyncConfigId) -> i64 {
    let b = id.as_bytes();
    let (hi, lo) = b.split_at(8);
    let hi = i64::from_le_bytes(hi.try_into().unwrap_or([0; 8]));
    let lo = i64::from_le_bytes(lo.try_into().unwrap_or([0; 8]));
    hi ^ lo
}

/// A key's state in this process.
enum Slot {
    /// A lease is held, or being taken.
    Held,
    /// A dropped lease is being released; the sender goes when the server has let go.
    Releasing(watch::Receiver<()>),
}

/// This process's leases (one per store), by key.
#[derive(Default)]
pub struct Local {
    slots: Mutex<HashMap<i64, Slot>>,
    /// Connections that hold no lock, for the next leases.
    idle: Mutex<Vec<Conn>>,
}

impl Local {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<i64, Slot>) -> T) -> T {
        let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut slots)
    }

    /// Claims `key` for a new lease: `false` while this process holds it; waits while it
    /// is being released.
    async fn claim(&self, key: i64) -> bool {
        loop {
            let releasing = self.with(|slots| match slots.get(&key) {
                Some(Slot::Held) => Err(false),
                Some(Slot::Releasing(rx)) => Ok(rx.clone()),
                None => {
                    slots.insert(key, Slot::Held);
                    Err(true)
                }
            });
            let mut rx = match releasing {
                Ok(rx) => rx,
                Err(claimed) => return claimed,
            };
            // The sender goes when the release is done (or its task was dropped).
            let _ = tokio::time::timeout(RELEASE_WAIT, async { while rx.changed().await.is_ok() {} }).await;
            self.with(|slots| {
                if matches!(slots.get(&key), Some(Slot::Releasing(r)) if r.same_channel(&rx)) {
                    slots.remove(&key);
                }
            });
        }
    }

    fn unclaim(&self, key: i64) {
        self.with(|slots| slots.remove(&key));
    }

    fn take_idle(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some(conn) = idle.pop() {
            if !conn.client.is_closed() {
                return Some(conn);
            }
            conn.connection.abort();
        }
        None
    }

    fn put_idle(&self, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < IDLE_MAX && !conn.client.is_closed() {
            idle.push(conn);
        } else {
            conn.connection.abort();
        }
    }
}

/// A lease connection: the client and its connection's task.
struct Conn {
    client: tokio_postgres::Client,
    connection: tokio::task::JoinHandle<()>,
}

impl Conn {
    async fn open(config: &tokio_postgres::Config, url: &str) -> Result<Conn, StoreError> {
        let (client, connection) =
            config.connect(tokio_postgres::NoTls).await.map_err(|e| StoreError::Unreachable { url: url.to_owned(), reason: e.to_string() })?;
        let connection = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Conn { client, connection })
    }

    async fn try_lock(&self, key: i64) -> Result<bool, tokio_postgres::Error> {
        self.client.query_one("SELECT pg_try_advisory_lock($1)", &[&key]).await?.try_get(0)
    }
}

/// What the lease holds: the connection (its task ends when the client goes).
struct Held {
    key: i64,
    local: Arc<Local>,
    conn: Option<Conn>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let (key, local, conn) = (self.key, self.local.clone(), self.conn.take());
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime (the process is ending): closing the socket releases the lock.
            if let Some(conn) = conn {
                conn.connection.abort();
            }
            local.unclaim(key);
            return;
        };
        let (done, rx) = watch::channel(());
        local.with(|slots| slots.insert(key, Slot::Releasing(rx)));
        drop(runtime.spawn(async move {
            if let Some(conn) = conn {
                let unlocked = conn.client.query_one("SELECT pg_advisory_unlock($1)", &[&key]).await.and_then(|r| r.try_get::<_, bool>(0));
                if matches!(unlocked, Ok(true)) {
                    // The session holds nothing now: kept for the next lease.
                    local.put_idle(conn);
                } else {
                    // Ends the session: whatever it still held goes with it.
                    conn.connection.abort();
                }
            }
            local.with(|slots| {
                if matches!(slots.get(&key), Some(Slot::Releasing(_))) {
                    slots.remove(&key);
                }
            });
            drop(done);
        }));
    }
}

pub async fn try_lease(local: &Arc<Local>, config: &tokio_postgres::Config, url: &str, id: SyncConfigId) -> Result<Option<JobLease>, StoreError> {
    let key = key(id);
    if !local.claim(key).await {
        return Ok(None);
    }
    // A kept connection first; one that fails is dropped and a new one tried.
    let mut attempt = local.take_idle();
    let (conn, got) = loop {
        let fresh = attempt.is_none();
        let conn = match attempt.take() {
            Some(conn) => conn,
            None => match Conn::open(config, url).await {
                Ok(conn) => conn,
                Err(e) => {
                    local.unclaim(key);
                    return Err(e);
                }
            },
        };
        match conn.try_lock(key).await {
            Ok(got) => break (conn, got),
            Err(e) => {
                conn.connection.abort();
                if fresh {
                    local.unclaim(key);
                    return Err(pg_err(e));
                }
            }
        }
    };
    if !got {
        local.put_idle(conn);
        local.unclaim(key);
        return Ok(None);
    }
    Ok(Some(JobLease::new(Box::new(Held { key, local: local.clone(), conn: Some(conn) }))))
}
