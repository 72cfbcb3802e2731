//! Connecting, the error table's rows for PostgreSQL failures, and versioned migrations.
use tenantsync_store::StoreError;
use tokio_postgres::error::SqlState;

/// The migrations, in order; version N is the N-th.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_connectors.sql"),
    include_str!("../migrations/0003_console.sql"),
    include_str!("../migrations/0004_link_seen.sql"),
    include_str!("../migrations/0005_open_requests_by_package.sql"),
    include_str!("../migrations/0006_short_list_pages.sql"),
    include_str!("../migrations/0007_anchored_users.sql"),
];

/// The tables that hold no tenant's data (reference tables under Citus): every other
/// table's primary key starts with `tenant_id`.
pub const REFERENCE_TABLES: &[&str] = &["schema_versions", "tenant_domains", "connectors"];

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// A connection URL with its password replaced, fit for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // The key=value form.
        return url.split_whitespace().filter(|kv| !kv.to_ascii_lowercase().starts_with("password=")).collect::<Vec<_>>().join(" ");
    };
    // The authority ends at the first '/', '?' or '#'; credentials end at its last '@'.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let Some(at) = authority.rfind('@') else { return url.to_owned() };
    let (userinfo, host) = authority.split_at(at);
    let user = userinfo.split(':').next().unwrap_or("");
    let tail = redact_query(tail);
    format!("{scheme}://{user}{host}{tail}")
}

/// Drops a `password=` parameter from a URL's query string.
fn redact_query(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else { return tail.to_owned() };
    let kept: Vec<&str> = query.split('&').filter(|kv| !kv.to_ascii_lowercase().starts_with("password=")).collect();
    if kept.is_empty() { path.to_owned() } else { format!("{path}?{}", kept.join("&")) }
}

/// A failure of the database as the store's error: a lock or serialization conflict is
/// `store_busy` (retry); a lost connection, a server that is shutting down or starting,
/// or one that cannot be reached is `store_unreachable` (retry, 503); any other failure
/// `storage_failure`.
pub fn pg_err(e: tokio_postgres::Error) -> StoreError {
    if let Some(code) = e.code()
        && (*code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED || *code == SqlState::LOCK_NOT_AVAILABLE)
    {
        return StoreError::Busy;
    }
    if connection_lost(&e) {
        let reason = match e.as_db_error() {
            Some(db) => format!("{} ({})", db.message(), db.code().code()),
            None if e.is_closed() => "the connection was lost".to_owned(),
            None => format!("the connection failed: {e}"),
        };
        return StoreError::Unreachable { url: known_url(), reason };
    }
    let message = match e.as_db_error() {
        Some(db) => format!("PostgreSQL: {} ({})", db.message(), db.code().code()),
        None => format!("PostgreSQL: {e}"),
    };
    StoreError::Internal { message }
}

/// Whether `e` says the server is out of reach rather than that a statement failed: the
/// connection closed or broke (I/O), a connection exception (SQLSTATE class 08), or a
/// server shutting down, crashed or not yet accepting connections.
fn connection_lost(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        return code.code().starts_with("08")
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW;
    }
    std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

/// The URLs (without password) of the databases this process opened: a failure away from
/// the store's handle names the database when there is only one.
static URLS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Remembers a database this process opened.
pub fn opened(url: &str) {
    if let Ok(mut urls) = URLS.lock()
        && !urls.iter().any(|u| u == url)
    {
        urls.push(url.to_owned());
    }
}

fn known_url() -> String {
    match URLS.lock().as_deref().map(Vec::as_slice) {
        Ok([one]) => one.clone(),
        _ => "PostgreSQL".to_owned(),
    }
}

/// A pool that could not hand out a connection.
pub fn pool_err(e: deadpool_postgres::PoolError, url: &str) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) if e.as_db_error().is_some() => pg_err(e),
        deadpool_postgres::PoolError::Closed => StoreError::Closed,
        e => StoreError::Unreachable { url: url.to_owned(), reason: e.to_string() },
    }
}

/// The constraint a unique violation broke, if that is what `e` is.
pub fn unique_violation(e: &tokio_postgres::Error) -> Option<String> {
    let db = e.as_db_error()?;
    (*db.code() == SqlState::UNIQUE_VIOLATION).then(|| db.constraint().unwrap_or("").to_owned())
}

/// Brings the schema to [`latest_version`], one transaction per migration, under an
/// advisory lock so concurrent starts migrate once. Refuses a newer schema.
pub async fn migrate(client: &mut tokio_postgres::Client) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(pg_err)?;
    // Serializes migrators of the same schema (the key is the schema's name).
    tx.execute("SELECT pg_advisory_xact_lock(hashtext('tenantsync-migrate:' || current_schema()))", &[]).await.map_err(pg_err)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_versions (version integer PRIMARY KEY, applied_ms bigint NOT NULL)").await.map_err(pg_err)?;
    let found: i64 = tx.query_one("SELECT coalesce(max(version), 0)::bigint FROM schema_versions", &[]).await.map_err(pg_err)?.get(0);
    let supported = latest_version();
    if found > supported {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(found).unwrap_or(0)) {
        tx.batch_execute(sql).await.map_err(pg_err)?;
        let version = i as i32 + 1;
        tx.execute("INSERT INTO schema_versions (version, applied_ms) VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)", &[&version])
            .await
            .map_err(pg_err)?;
    }
    tx.commit().await.map_err(pg_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(redact("postgres://ts:s3cret@db.example:5432/ts"), "postgres://ts@db.example:5432/ts");
        assert_eq!(redact("postgresql://ts:p@ss@db/ts?sslmode=require&password=x"), "postgresql://ts@db/ts?sslmode=require");
        assert_eq!(redact("postgres://db.example/ts"), "postgres://db.example/ts");
        assert_eq!(redact("host=db user=ts password=x"), "host=db user=ts");
    }
}
