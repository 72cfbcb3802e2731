//! Job leases: a session advisory lock on the job's key, held by a connection of its own
//! that the lease owns. Dropping the lease closes the connection, and PostgreSQL releases
//! a session's locks when its connection ends — also when the holding process is killed
//! (its socket closes) or cut off (TCP keepalives end the session), so another worker
//! takes the job over without waiting for a lease to expire.
use crate::schema::pg_err;
use tenantsync_domain::SyncConfigId;
use tenantsync_store::{JobLease, StoreError};

/// The advisory lock key of a job: its 128-bit id folded to 64 bits.
pub fn key(id: SyncConfigId) -> i64 {
    let b = id.as_bytes();
    let (hi, lo) = b.split_at(8);
    let hi = i64::from_le_bytes(hi.try_into().unwrap_or([0; 8]));
    let lo = i64::from_le_bytes(lo.try_into().unwrap_or([0; 8]));
    hi ^ lo
}

/// What the lease holds: the connection (its task ends when the client goes).
struct Held {
    _client: tokio_postgres::Client,
    connection: tokio::task::JoinHandle<()>,
}

impl Drop for Held {
    fn drop(&mut self) {
        // Ends the session at once: its locks go with it.
        self.connection.abort();
    }
}

pub async fn try_lease(config: &tokio_postgres::Config, url: &str, id: SyncConfigId) -> Result<Option<JobLease>, StoreError> {
    let (client, connection) =
        config.connect(tokio_postgres::NoTls).await.map_err(|e| StoreError::Unreachable { url: url.to_owned(), reason: e.to_string() })?;
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    let held = Held { _client: client, connection };
    let got: bool = held._client.query_one("SELECT pg_try_advisory_lock($1)", &[&key(id)]).await.map_err(pg_err)?.get(0);
    Ok(got.then(|| JobLease::new(Box::new(held))))
}
