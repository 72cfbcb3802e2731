//! Paged reads of the provisioning logs (`SyncStore::provisioning_log_page`), newest
//! first, with every condition of a `LogQuery`. A position is `b<block>.<n>` (in block
//! `block`, the `n` newest records are behind) or `l<row>` (in the table of the first
//! log forms, rows below `row` are left): a page seeks its block or row by primary key,
//! so a deep page costs what the first one costs.
use crate::rows::corrupt;
use crate::{logblock, logcodec};
use rusqlite::Connection;
use rusqlite::types::Value;
use tenantsync_domain::{ObjectId, SyncConfigId};
use tenantsync_store::{LogCursor, LogPage, LogQuery, ProvisioningLog, ProvisioningStatus, StoreError};

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum From {
    Start,
    /// In block `0`, after its `1` newest records.
    Block(i64, usize),
    /// Legacy rows with an id below this one.
    Legacy(i64),
}

/// The position a cursor names; one this store did not issue is refused.
pub(crate) fn parse(cursor: Option<&LogCursor>) -> Result<From, StoreError> {
    let Some(LogCursor(text)) = cursor else { return Ok(From::Start) };
    let bad = || StoreError::UnsupportedQuery { reason: "a provisioning log position this store did not issue".into() };
    if let Some(rest) = text.strip_prefix('b') {
        let (block, n) = rest.split_once('.').ok_or_else(bad)?;
        return Ok(From::Block(block.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?));
    }
    if let Some(rest) = text.strip_prefix('l') {
        return Ok(From::Legacy(rest.parse().map_err(|_| bad())?));
    }
    Err(bad())
}

/// Whether a record meets every condition of the query.
pub(crate) fn wanted(log: &ProvisioningLog, q: &LogQuery) -> bool {
    let ms = log.activity_date_time.as_millisecond();
    q.config_id.is_none_or(|c| log.config_id == c)
        && q.since.is_none_or(|t| ms >= t.as_millisecond())
        && q.until.is_none_or(|t| ms < t.as_millisecond())
        && q.status.is_none_or(|s| log.status == s)
        && q.action.is_none_or(|a| log.provisioning_action == a)
        && q.object_id.is_none_or(|o| log.source_id == o || log.target_id == Some(o))
        && q.source_id.is_none_or(|o| log.source_id == o)
        && q.target_id.is_none_or(|o| log.target_id == Some(o))
}

/// SQL conditions (` AND …`) and their values.
#[derive(Default)]
struct Where {
    sql: String,
    params: Vec<Value>,
}

impl Where {
    fn bind(&mut self, clause: &str, v: Value) {
        self.params.push(v);
        self.sql.push_str(&format!(" AND {clause} ?{}", self.params.len()));
    }

    fn common(q: &LogQuery, since: &str, until: &str) -> Where {
        let mut w = Where::default();
        if let Some(c) = q.config_id {
            w.bind("config_id =", Value::Blob(c.as_bytes().to_vec()));
        }
        if let Some(t) = q.source_tenant {
            // `+`: not a term for the configuration index. On it, the rows of several
            // configurations come out of id order, and "newest first" would sort every
            // block (bodies included) of the tenant before the first row; on the primary
            // key the page reads down from the newest block and stops when it is full.
            w.bind("+config_id IN (SELECT id FROM sync_configurations WHERE source_tenant_id =", Value::Blob(t.as_bytes().to_vec()));
            w.sql.push(')');
        }
        if let Some(t) = q.since {
            w.bind(since, Value::Integer(t.as_millisecond()));
        }
        if let Some(t) = q.until {
            w.bind(until, Value::Integer(t.as_millisecond()));
        }
        w
    }
}

/// The object a query names, if any: the blocks holding it are found by the object index.
fn named_object(q: &LogQuery) -> Option<ObjectId> {
    q.source_id.or(q.target_id).or(q.object_id)
}

/// A page of records matching `q`, newest first.
pub(crate) fn page(c: &Connection, q: &LogQuery, from: From) -> rusqlite::Result<LogPage> {
    let limit = q.limit.max(1) as usize;
    let mut records = Vec::new();
    if !matches!(from, From::Legacy(_))
        && let Some(next) = blocks(c, q, from, limit, &mut records)?
    {
        return Ok(LogPage { records, next: Some(next) });
    }
    let below = match from {
        From::Legacy(row) => row,
        _ => i64::MAX,
    };
    let next = legacy(c, q, below, limit, &mut records)?;
    Ok(LogPage { records, next })
}

/// Records from blocks into `out` until `limit`; the position after the last one when the
/// page is full.
fn blocks(c: &Connection, q: &LogQuery, from: From, limit: usize, out: &mut Vec<ProvisioningLog>) -> rusqlite::Result<Option<LogCursor>> {
    let (first_block, skip) = match from {
        From::Block(b, n) => (b, n),
        _ => (i64::MAX, 0),
    };
    let w = blocks_where(q, first_block);
    let sql = format!("SELECT id, config_id, body FROM provisioning_log_blocks WHERE 1 = 1{} ORDER BY id DESC", w.sql);
    let mut stmt = c.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(w.params.iter()))?;
    while let Some(row) = rows.next()? {
        let block: i64 = row.get(0)?;
        let config = SyncConfigId::from_bytes(row.get(1)?);
        let body = row.get_ref(2)?.as_blob()?;
        let records = logblock::decode(body, config).map_err(|_| corrupt("provisioning log block"))?;
        let behind = if block == first_block { skip } else { 0 };
        for (i, log) in records.into_iter().rev().enumerate().skip(behind) {
            if wanted(&log, q) {
                out.push(log);
                if out.len() >= limit {
                    return Ok(Some(LogCursor(format!("b{block}.{}", i + 1))));
                }
            }
        }
    }
    Ok(None)
}

/// The conditions on blocks of `q`, from block `first_block` down.
fn blocks_where(q: &LogQuery, first_block: i64) -> Where {
    let mut w = Where::common(q, "last_ms >=", "first_ms <");
    if let Some(s) = q.status {
        w.bind("(statuses &", Value::Integer(logblock::status_bit(s)));
        w.sql.push_str(") != 0");
    }
    if let Some(o) = named_object(q) {
        w.bind("id IN (SELECT block_id FROM provisioning_log_objects WHERE object_id =", Value::Blob(o.as_bytes().to_vec()));
        w.sql.push(')');
    }
    w.bind("id <=", Value::Integer(first_block));
    w
}

/// Records of the first log forms (older than every block) into `out`, with ids below
/// `below`, until `limit`.
fn legacy(c: &Connection, q: &LogQuery, below: i64, limit: usize, out: &mut Vec<ProvisioningLog>) -> rusqlite::Result<Option<LogCursor>> {
    let mut w = Where::common(q, "at_ms >=", "at_ms <");
    if let Some(o) = named_object(q) {
        w.params.push(Value::Blob(o.as_bytes().to_vec()));
        let n = w.params.len();
        w.sql.push_str(&format!(" AND (source_id = ?{n} OR target_id = ?{n})"));
    }
    w.bind("id <", Value::Integer(below));
    let sql = format!("SELECT id, body, config_id, status, source_id, target_id FROM provisioning_logs WHERE 1 = 1{} ORDER BY id DESC", w.sql);
    let mut stmt = c.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(w.params.iter()))?;
    while let Some(r) = rows.next()? {
        let row: i64 = r.get(0)?;
        let status = match r.get::<_, String>(3)?.as_str() {
            "success" => ProvisioningStatus::Success,
            "failure" => ProvisioningStatus::Failure,
            "skipped" => ProvisioningStatus::Skipped,
            "warning" => ProvisioningStatus::Warning,
            _ => return Err(corrupt("provisioning log status")),
        };
        let columns = logcodec::Columns {
            config_id: SyncConfigId::from_bytes(r.get(2)?),
            status,
            source_id: ObjectId::from_bytes(r.get(4)?),
            target_id: r.get::<_, Option<[u8; 16]>>(5)?.map(ObjectId::from_bytes),
        };
        let log = logcodec::decode(r.get_ref(1)?, columns).map_err(|_| corrupt("provisioning log"))?;
        if wanted(&log, q) {
            out.push(log);
            if out.len() >= limit {
                return Ok(Some(LogCursor(format!("l{row}"))));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of a tenant's logs (the console's, the admin API's) reads down the blocks
    /// in id order and stops when full: no plan sorts the tenant's blocks first.
    #[test]
    fn a_tenant_s_newest_logs_are_read_in_id_order_without_a_sort() {
        let conn = Connection::open_in_memory().unwrap();
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).unwrap();
        for m in crate::schema::migrations() {
            conn.execute_batch(m).unwrap();
        }
        let tenant = Some(tenantsync_domain::TenantId::new());
        let queries = [
            LogQuery { source_tenant: tenant, ..LogQuery::default() },
            LogQuery { source_tenant: tenant, status: Some(ProvisioningStatus::Failure), ..LogQuery::default() },
            LogQuery { source_tenant: tenant, config_id: Some(SyncConfigId::new()), ..LogQuery::default() },
        ];
        for q in queries {
            let w = blocks_where(&q, i64::MAX);
            let sql = format!("EXPLAIN QUERY PLAN SELECT id, config_id, body FROM provisioning_log_blocks WHERE 1 = 1{} ORDER BY id DESC", w.sql);
            let mut stmt = conn.prepare(&sql).unwrap();
            let plan: Vec<String> =
                stmt.query_map(rusqlite::params_from_iter(w.params.iter()), |r| r.get::<_, String>(3)).unwrap().map(Result::unwrap).collect();
            assert!(!plan.iter().any(|l| l.contains("TEMP B-TREE")), "{q:?} sorts:\n{}", plan.join("\n"));
        }
    }

    #[test]
    fn cursors_read_back() {
        assert_eq!(parse(None).unwrap(), From::Start);
        assert_eq!(parse(Some(&LogCursor("b12.3".into()))).unwrap(), From::Block(12, 3));
        assert_eq!(parse(Some(&LogCursor("l7".into()))).unwrap(), From::Legacy(7));
        for bad in ["", "x", "b1", "b.2", "lx"] {
            assert!(parse(Some(&LogCursor(bad.into()))).is_err(), "{bad}");
        }
    }
}
