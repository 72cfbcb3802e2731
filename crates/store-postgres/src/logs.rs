//! Paged reads of the provisioning logs (`SyncStore::provisioning_log_page`), newest
//! first, every condition of a `LogQuery` in SQL. A position is `p<id>`: the rows with a
//! smaller id are left, so a deep page seeks by primary key like the first.
use crate::PgStore;
use crate::rows;
use crate::schema::pg_err;
use crate::sync::{action_name, status_code};
use tenantsync_domain::SyncConfigId;
use tenantsync_store::{LogCursor, LogPage, LogQuery, ProvisioningLog, Result, StoreError};
use tokio_postgres::types::ToSql;

/// The id a cursor names; one this store did not issue is refused.
fn parse(cursor: Option<&LogCursor>) -> Result<Option<i64>> {
    let Some(LogCursor(text)) = cursor else { return Ok(None) };
    let bad = || StoreError::UnsupportedQuery { reason: "a provisioning log position this store did not issue".into() };
    text.strip_prefix('p').and_then(|n| n.parse().ok()).map(Some).ok_or_else(bad)
}

pub async fn page(store: &PgStore, q: &LogQuery) -> Result<LogPage> {
    let below = parse(q.after.as_ref())?;
    let mut sql = String::from("SELECT id, config_id, body FROM provisioning_logs WHERE true");
    let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
    let mut bind = |sql: &mut String, clause: &str, v: Box<dyn ToSql + Sync + Send>| {
        params.push(v);
        sql.push_str(&format!(" AND {clause} ${}", params.len()));
    };
    if let Some(c) = q.config_id {
        bind(&mut sql, "config_id =", Box::new(c.0));
    }
    if let Some(t) = q.source_tenant {
        bind(&mut sql, "config_id IN (SELECT id FROM sync_configurations WHERE source_tenant_id =", Box::new(t.0));
        sql.push(')');
    }
    if let Some(t) = q.since {
        bind(&mut sql, "at_ms >=", Box::new(t.as_millisecond()));
    }
    if let Some(t) = q.until {
        bind(&mut sql, "at_ms <", Box::new(t.as_millisecond()));
    }
    if let Some(s) = q.status {
        bind(&mut sql, "status =", Box::new(status_code(s)));
    }
    if let Some(a) = q.action {
        bind(&mut sql, "action =", Box::new(action_name(a)?));
    }
    if let Some(o) = q.source_id {
        bind(&mut sql, "source_id =", Box::new(o.0));
    }
    if let Some(o) = q.target_id {
        bind(&mut sql, "target_id =", Box::new(o.0));
    }
    if let Some(id) = below {
        bind(&mut sql, "id <", Box::new(id));
    }
    if let Some(o) = q.object_id {
        params.push(Box::new(o.0));
        let n = params.len();
        sql.push_str(&format!(" AND (source_id = ${n} OR target_id = ${n})"));
    }
    let limit = i64::from(q.limit.max(1));
    params.push(Box::new(limit + 1));
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", params.len()));
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
    let found = store.query(&sql, &refs).await?;
    let mut records = Vec::with_capacity(found.len());
    let mut ids = Vec::with_capacity(found.len());
    for r in &found {
        let config = SyncConfigId(r.try_get(1).map_err(pg_err)?);
        let mut log: ProvisioningLog = serde_json::from_str(r.try_get::<_, &str>(2).map_err(pg_err)?).map_err(|_| rows::corrupt("provisioning log"))?;
        log.config_id = config;
        log.expand_steps();
        ids.push(r.try_get::<_, i64>(0).map_err(pg_err)?);
        records.push(log);
    }
    let more = records.len() as i64 > limit;
    records.truncate(limit as usize);
    let next = if more { ids.get(records.len().saturating_sub(1)).map(|id| LogCursor(format!("p{id}"))) } else { None };
    Ok(LogPage { records, next })
}
