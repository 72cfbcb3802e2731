//! Entitlement management in SQLite (`access_*` tables, schema version 14): definitions
//! as documents, requests and assignments as documents with the columns they are found
//! by, the outbox, and governed guests' planned deletions. A step commits in one
//! transaction; each row's version is checked by its `UPDATE … WHERE version = ?`. A
//! step's directory writes (a delivery's memberships) run in that transaction through
//! the write path ([`Tx`]), with their change rows.
use crate::SqliteStore;
use crate::rows::sql_err;
use crate::write::Tx;
use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::{Arc, Mutex};
use tenantsync_access::{Assignment, AssignmentId, PackageId, Request, RequestId};
use tenantsync_domain::{ObjectId, TenantId};
use tenantsync_store::{
    AccessCounts, AccessObjectKind, AccessStep, AccessStore, AssignmentFilter, BatchMode, DueWork, GuestSchedule, IdRange, OutboxMessage, RequestFilter,
    Result, StepRow, StoreError, Versioned,
};
use tokio::sync::oneshot;

fn json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Internal { message: e.to_string() })
}

fn parse<T: DeserializeOwned>(body: &str, what: &str) -> Result<T> {
    serde_json::from_str(body).map_err(|e| StoreError::Internal { message: format!("stored {what}: {e}") })
}

fn ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(|t| t.as_millisecond())
}

fn tenant_of(bytes: Vec<u8>) -> Result<TenantId> {
    let b: [u8; 16] = bytes.try_into().map_err(|_| StoreError::Internal { message: "a tenant id that is not 16 bytes".into() })?;
    Ok(TenantId::from_bytes(b))
}

fn known(conn: &Connection, tenant: TenantId) -> Result<()> {
    let found = conn.prepare_cached("SELECT 1 FROM tenants WHERE id = ?1").and_then(|mut s| s.exists([tenant.as_bytes()])).map_err(sql_err)?;
    if found { Ok(()) } else { Err(StoreError::TenantNotFound { tenant: tenant.to_string() }) }
}

/// Writes one row of a step: an insert for a new row, else an update that must find the
/// expected version.
fn put_row(tx: &Connection, what: &str, insert: &str, update: &str, id: &[u8; 16], expect: Option<u64>, values: &[&dyn rusqlite::ToSql]) -> Result<()> {
    let conflict = || StoreError::AccessConflict { what: format!("{what} {}", uuid_text(id)) };
    match expect {
        None => {
            let mut all: Vec<&dyn rusqlite::ToSql> = values.to_vec();
            all.push(&1i64);
            match tx.prepare_cached(insert).and_then(|mut s| s.execute(all.as_slice())) {
                Ok(_) => Ok(()),
                Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => Err(conflict()),
                Err(e) => Err(sql_err(e)),
            }
        }
        Some(v) => {
            let v = i64::try_from(v).unwrap_or(i64::MAX);
            let mut all: Vec<&dyn rusqlite::ToSql> = values.to_vec();
            all.push(&v);
            let n = tx.prepare_cached(update).and_then(|mut s| s.execute(all.as_slice())).map_err(sql_err)?;
            if n == 1 { Ok(()) } else { Err(conflict()) }
        }
    }
}

fn uuid_text(id: &[u8; 16]) -> String {
    ObjectId::from_bytes(*id).to_string()
}

fn put_request(tx: &Connection, tenant: &[u8; 16], row: &StepRow<Request>) -> Result<()> {
    let r = &row.value;
    let body = json(r)?;
    let requestor = r.requestor.map(|u| *u.as_bytes());
    let open = !r.state.is_final();
    put_row(
        tx,
        "access request",
        "INSERT INTO access_requests (tenant_id, id, requestor, package, open, due_ms, body, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        "UPDATE access_requests SET requestor = ?3, package = ?4, open = ?5, due_ms = ?6, body = ?7, version = version + 1 \
         WHERE tenant_id = ?1 AND id = ?2 AND version = ?8",
        r.id.as_bytes(),
        row.expect,
        &[tenant, r.id.as_bytes(), &requestor, r.access_package_id.as_bytes(), &open, &ms(row.due), &body],
    )
}

fn put_assignment(tx: &Connection, tenant: &[u8; 16], row: &StepRow<Assignment>) -> Result<()> {
    let a = &row.value;
    let body = json(a)?;
    let current = a.state != tenantsync_access::AssignmentState::Expired;
    put_row(
        tx,
        "access package assignment",
        "INSERT INTO access_assignments (tenant_id, id, target, package, policy, current, due_ms, body, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        "UPDATE access_assignments SET target = ?3, package = ?4, policy = ?5, current = ?6, due_ms = ?7, body = ?8, version = version + 1 \
         WHERE tenant_id = ?1 AND id = ?2 AND version = ?9",
        a.id.as_bytes(),
        row.expect,
        &[tenant, a.id.as_bytes(), a.target.as_bytes(), a.access_package_id.as_bytes(), a.assignment_policy_id.as_bytes(), &current, &ms(row.due), &body],
    )
}

/// Writes a step's rows, then its directory writes, in `tx` (the caller commits, or rolls
/// back on an error).
fn write_step(tx: &mut Tx<'_>, step: AccessStep) -> Result<()> {
    let AccessStep { requests, assignments, outbox, guests, guests_spared, directory, audit } = step;
    let t = tx.tenant.as_bytes();
    if let Some(audit) = &audit {
        crate::admin::insert_audit(tx.conn, tx.tenant, audit)?;
    }
    let conn = tx.conn;
    for row in &requests {
        put_request(conn, t, row)?;
    }
    for row in &assignments {
        put_assignment(conn, t, row)?;
    }
    for m in &outbox {
        let next = m.delivered.is_none().then_some(m.next_attempt.as_millisecond());
        let body = json(m)?;
        conn.prepare_cached("INSERT INTO access_outbox (tenant_id, id, next_ms, body) VALUES (?1, ?2, ?3, ?4)")
            .and_then(|mut s| s.execute(params![t, m.id.as_bytes(), next, body]))
            .map_err(sql_err)?;
    }
    for g in &guests {
        conn.prepare_cached(
            "INSERT INTO access_guests (tenant_id, user_id, delete_ms) VALUES (?1, ?2, ?3) ON CONFLICT (tenant_id, user_id) DO UPDATE SET delete_ms = excluded.delete_ms",
        )
        .and_then(|mut s| s.execute(params![t, g.user.as_bytes(), g.delete_at.as_millisecond()]))
        .map_err(sql_err)?;
    }
    for u in &guests_spared {
        conn.prepare_cached("DELETE FROM access_guests WHERE tenant_id = ?1 AND user_id = ?2")
            .and_then(|mut s| s.execute(params![t, u.as_bytes()]))
            .map_err(sql_err)?;
    }
    if !directory.is_empty() {
        for result in tx.apply_all(directory, BatchMode::Atomic)? {
            result?;
        }
    }
    Ok(())
}

/// An access step waiting for the writer, and where its outcome goes.
pub(crate) struct PendingStep {
    tenant: TenantId,
    step: AccessStep,
    done: oneshot::Sender<Result<()>>,
}

/// Access steps waiting for the writer. They are committed together, each in a savepoint
/// of one transaction (group commit): requests arrive several at a time, and the cost of
/// a commit is mostly its own (the WAL frames of the pages every step touches, the
/// tenant's row, the indexes' upper pages), not the steps'.
pub(crate) type StepQueue = Arc<Mutex<Vec<PendingStep>>>;

/// Commits every queued step in one transaction begun as a write: a step that fails
/// (a version that moved, a refused directory write) is rolled back to its savepoint and
/// gets its error, the others commit; each gets its outcome once the commit is durable.
fn commit_queued(conn: &mut Connection, queue: &StepQueue, now: i64, notices: &crate::notify::Notifier) {
    let pending: Vec<PendingStep> = match queue.lock() {
        Ok(mut q) => std::mem::take(&mut *q),
        Err(_) => return,
    };
    if pending.is_empty() {
        return;
    }
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let e = sql_err(e);
        for p in pending {
            let _ = p.done.send(Err(e.clone()));
        }
        return;
    }
    let mut written = Vec::with_capacity(pending.len());
    let mut pending = pending.into_iter();
    for p in pending.by_ref() {
        match step_in_savepoint(conn, p.tenant, p.step, now) {
            Ok(head) => written.push((p.done, p.tenant, head)),
            Err(e) => {
                let _ = p.done.send(Err(e));
            }
        }
        // Some errors (I/O, a full disk) end the whole transaction: the steps written
        // are gone, and the rest must not run outside a transaction.
        if conn.is_autocommit() {
            let lost = StoreError::Internal { message: "the transaction of a group of access steps ended in an error".into() };
            for done in written.into_iter().map(|w| w.0).chain(pending.map(|p| p.done)) {
                let _ = done.send(Err(lost.clone()));
            }
            return;
        }
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => {
            for (done, tenant, head) in written {
                notices.commit(tenant, head);
                let _ = done.send(Ok(()));
            }
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            let e = sql_err(e);
            for (done, _, _) in written {
                let _ = done.send(Err(e.clone()));
            }
        }
    }
}

/// One step of a group, in a savepoint: the tenant checked (by reading its head), the
/// rows and directory writes, the head written back. Returns the head if changes were
/// appended.
fn step_in_savepoint(conn: &Connection, tenant: TenantId, step: AccessStep, now: i64) -> Result<Option<u64>> {
    conn.execute_batch("SAVEPOINT access_step").map_err(sql_err)?;
    let outcome = Tx::join(conn, tenant, now).and_then(|mut tx| {
        write_step(&mut tx, step)?;
        tx.settle()
    });
    let end = match outcome {
        Ok(_) => conn.execute_batch("RELEASE access_step"),
        Err(_) => conn.execute_batch("ROLLBACK TO access_step; RELEASE access_step"),
    };
    match (outcome, end) {
        (Ok(head), Ok(())) => Ok(head),
        (Err(e), _) => Err(e),
        (Ok(_), Err(e)) => Err(sql_err(e)),
    }
}

/// The statement of a request listing: only the conditions of the filter given, and the
/// index that serves it named (the planner does not choose by bound values, so `?2 IS
/// NULL OR requestor = ?2` would scan the tenant's requests). Parameters: tenant,
/// requestor, package, open only, after, before, limit (-1: none).
fn requests_sql(f: &RequestFilter) -> String {
    let index = if f.requestor.is_some() { "INDEXED BY access_requests_by_requestor" } else { "" };
    let mut sql = format!("SELECT body, version FROM access_requests {index} WHERE tenant_id = ?1");
    for (set, condition) in [
        (f.requestor.is_some(), " AND requestor = ?2"),
        (f.package.is_some(), " AND package = ?3"),
        (f.open_only, " AND open = ?4"),
        (f.after.is_some(), " AND id > ?5"),
        (f.before.is_some(), " AND id < ?6"),
    ] {
        if set {
            sql.push_str(condition);
        }
    }
    // The parameters of absent conditions are bound unused; LIMIT names the last. A page
    // before a row is read backwards (and turned around by the caller).
    sql.push_str(if f.before.is_some() { " ORDER BY id DESC LIMIT ?7" } else { " ORDER BY id LIMIT ?7" });
    sql
}

/// The statement of an assignment listing, as [`requests_sql`]: by target or by package
/// through their indexes. Parameters: tenant, target, package, policy, current only,
/// after, before, limit (-1: none).
fn assignments_sql(f: &AssignmentFilter) -> String {
    let index = match (f.target.is_some(), f.package.is_some()) {
        (true, _) => "INDEXED BY access_assignments_by_target",
        (false, true) => "INDEXED BY access_assignments_by_package",
        (false, false) => "",
    };
    let mut sql = format!("SELECT body, version FROM access_assignments {index} WHERE tenant_id = ?1");
    for (set, condition) in [
        (f.target.is_some(), " AND target = ?2"),
        (f.package.is_some(), " AND package = ?3"),
        (f.policy.is_some(), " AND policy = ?4"),
        (f.current_only, " AND current = ?5"),
        (f.after.is_some(), " AND id > ?6"),
        (f.before.is_some(), " AND id < ?7"),
    ] {
        if set {
            sql.push_str(condition);
        }
    }
    sql.push_str(if f.before.is_some() { " ORDER BY id DESC LIMIT ?8" } else { " ORDER BY id LIMIT ?8" });
    sql
}

fn versioned<T: DeserializeOwned>(rows: Vec<(String, i64)>, what: &str) -> Result<Vec<Versioned<T>>> {
    rows.into_iter().map(|(body, v)| Ok(Versioned { value: parse(&body, what)?, version: u64::try_from(v).unwrap_or(0) })).collect()
}

#[async_trait]
impl AccessStore for SqliteStore {
    async fn put_access_object(&self, tenant: TenantId, kind: AccessObjectKind, id: ObjectId, body: serde_json::Value) -> Result<()> {
        let body = json(&body)?;
        self.write(move |conn| {
            known(conn, tenant)?;
            conn.prepare_cached("INSERT INTO access_objects (tenant_id, kind, id, body) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant_id, kind, id) DO UPDATE SET body = excluded.body")
                .and_then(|mut s| s.execute(params![tenant.as_bytes(), kind.as_str(), id.as_bytes(), body]))
                .map(|_| ())
                .map_err(sql_err)
        })
        .await
    }

    async fn access_object(&self, tenant: TenantId, kind: AccessObjectKind, id: ObjectId) -> Result<Option<serde_json::Value>> {
        let body = self.read_in(tenant, |c| {
            c.prepare_cached("SELECT body FROM access_objects WHERE tenant_id = ?1 AND kind = ?2 AND id = ?3")?
                .query_row(params![tenant.as_bytes(), kind.as_str(), id.as_bytes()], |r| r.get::<_, String>(0))
                .optional()
        })?;
        body.map(|b| parse(&b, kind.as_str())).transpose()
    }

    async fn access_objects(&self, tenant: TenantId, kind: AccessObjectKind) -> Result<Vec<serde_json::Value>> {
        let bodies = self.read_in(tenant, |c| {
            let mut s = c.prepare_cached("SELECT body FROM access_objects WHERE tenant_id = ?1 AND kind = ?2 ORDER BY id")?;
            let rows = s.query_map(params![tenant.as_bytes(), kind.as_str()], |r| r.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<Vec<String>>>()
        })?;
        bodies.iter().map(|b| parse(b, kind.as_str())).collect()
    }

    async fn access_objects_page(&self, tenant: TenantId, kind: AccessObjectKind, range: IdRange) -> Result<Vec<(ObjectId, serde_json::Value)>> {
        // Only the conditions given, so the primary key (tenant, kind, id) serves the range.
        let mut sql = String::from("SELECT id, body FROM access_objects WHERE tenant_id = ?1 AND kind = ?2");
        if range.after.is_some() {
            sql.push_str(" AND id > ?3");
        }
        if range.before.is_some() {
            sql.push_str(" AND id < ?4");
        }
        sql.push_str(if range.before.is_some() { " ORDER BY id DESC LIMIT ?5" } else { " ORDER BY id LIMIT ?5" });
        let (after, before) = (range.after.map(|a| *a.as_bytes()), range.before.map(|b| *b.as_bytes()));
        let mut rows = self.read_in(tenant, |c| {
            let mut s = c.prepare_cached(&sql)?;
            let rows = s.query_map(params![tenant.as_bytes(), kind.as_str(), after, before, i64::from(range.limit)], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        if range.before.is_some() {
            rows.reverse();
        }
        rows.into_iter()
            .map(|(id, body)| {
                let id: [u8; 16] = id.try_into().map_err(|_| StoreError::Internal { message: "a definition id that is not 16 bytes".into() })?;
                Ok((ObjectId::from_bytes(id), parse(&body, kind.as_str())?))
            })
            .collect()
    }

    async fn delete_access_object(&self, tenant: TenantId, kind: AccessObjectKind, id: ObjectId) -> Result<bool> {
        self.write(move |conn| {
            known(conn, tenant)?;
            conn.prepare_cached("DELETE FROM access_objects WHERE tenant_id = ?1 AND kind = ?2 AND id = ?3")
                .and_then(|mut s| s.execute(params![tenant.as_bytes(), kind.as_str(), id.as_bytes()]))
                .map(|n| n > 0)
                .map_err(sql_err)
        })
        .await
    }

    async fn replace_access_object(
        &self,
        tenant: TenantId,
        kind: AccessObjectKind,
        id: ObjectId,
        expected: serde_json::Value,
        body: serde_json::Value,
    ) -> Result<()> {
        // Stored text is the serialization of a document, and serde_json keeps a parsed
        // document's key order: the document read serializes to the stored text again.
        let (expected, body) = (json(&expected)?, json(&body)?);
        self.write(move |conn| {
            known(conn, tenant)?;
            let n = conn
                .prepare_cached("UPDATE access_objects SET body = ?5 WHERE tenant_id = ?1 AND kind = ?2 AND id = ?3 AND body = ?4")
                .and_then(|mut s| s.execute(params![tenant.as_bytes(), kind.as_str(), id.as_bytes(), expected, body]))
                .map_err(sql_err)?;
            if n == 1 { Ok(()) } else { Err(StoreError::AccessConflict { what: format!("{} {id}", kind.as_str()) }) }
        })
        .await
    }

    async fn try_lease_auto_assignment(&self, tenant: TenantId) -> Result<Option<tenantsync_store::JobLease>> {
        self.read(|c| Self::tenant_exists(c, tenant))
            .and_then(|found| if found { Ok(()) } else { Err(StoreError::TenantNotFound { tenant: tenant.to_string() }) })?;
        self.file_lease(&format!("auto-assignment-{tenant}"))
    }

    async fn commit_access(&self, tenant: TenantId, step: AccessStep) -> Result<()> {
        let (done, outcome) = oneshot::channel();
        self.inner.steps.lock().map_err(|_| StoreError::Closed)?.push(PendingStep { tenant, step, done });
        let (queue, notices, now) = (self.inner.steps.clone(), self.notifier(), self.now_ms());
        // The first of the queued jobs to run commits every step queued by then; the
        // others find the queue empty. This one has run when the call returns, so the
        // step's outcome is there.
        self.write(move |conn| {
            commit_queued(conn, &queue, now, &notices);
            Ok(())
        })
        .await?;
        outcome.await.map_err(|_| StoreError::Closed)?
    }

    async fn access_request(&self, tenant: TenantId, id: RequestId) -> Result<Option<Versioned<Request>>> {
        let row = self.read_in(tenant, |c| {
            c.prepare_cached("SELECT body, version FROM access_requests WHERE tenant_id = ?1 AND id = ?2")?
                .query_row(params![tenant.as_bytes(), id.as_bytes()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .optional()
        })?;
        Ok(versioned(row.into_iter().collect(), "access request")?.pop())
    }

    async fn access_requests(&self, tenant: TenantId, f: RequestFilter) -> Result<Vec<Versioned<Request>>> {
        let sql = requests_sql(&f);
        let requestor = f.requestor.map(|u| *u.as_bytes());
        let package = f.package.map(|p| *p.as_bytes());
        let after = f.after.map(|a| *a.as_bytes());
        let before = f.before.map(|a| *a.as_bytes());
        let limit = f.limit.map_or(-1, i64::from);
        let mut rows = self.read_in(tenant, |c| {
            let mut s = c.prepare_cached(&sql)?;
            let rows = s.query_map(params![tenant.as_bytes(), requestor, package, f.open_only, after, before, limit], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        if f.before.is_some() {
            rows.reverse();
        }
        versioned(rows, "access request")
    }

    async fn access_assignment(&self, tenant: TenantId, id: AssignmentId) -> Result<Option<Versioned<Assignment>>> {
        let row = self.read_in(tenant, |c| {
            c.prepare_cached("SELECT body, version FROM access_assignments WHERE tenant_id = ?1 AND id = ?2")?
                .query_row(params![tenant.as_bytes(), id.as_bytes()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .optional()
        })?;
        Ok(versioned(row.into_iter().collect(), "access package assignment")?.pop())
    }

    async fn access_assignments(&self, tenant: TenantId, f: AssignmentFilter) -> Result<Vec<Versioned<Assignment>>> {
        let sql = assignments_sql(&f);
        let target = f.target.map(|u| *u.as_bytes());
        let package = f.package.map(|p| *p.as_bytes());
        let policy = f.policy.map(|p| *p.as_bytes());
        let after = f.after.map(|a| *a.as_bytes());
        let before = f.before.map(|a| *a.as_bytes());
        let limit = f.limit.map_or(-1, i64::from);
        let mut rows = self.read_in(tenant, |c| {
            let mut s = c.prepare_cached(&sql)?;
            let rows = s.query_map(params![tenant.as_bytes(), target, package, policy, f.current_only, after, before, limit], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        if f.before.is_some() {
            rows.reverse();
        }
        versioned(rows, "access package assignment")
    }

    async fn count_access(&self, tenant: TenantId, package: PackageId) -> Result<AccessCounts> {
        let (assignments, pending) = self.read_in(tenant, |c| {
            let count = |sql: &str| -> rusqlite::Result<i64> { c.prepare_cached(sql)?.query_row(params![tenant.as_bytes(), package.as_bytes()], |r| r.get(0)) };
            Ok((
                count("SELECT COUNT(*) FROM access_assignments INDEXED BY access_assignments_by_package WHERE tenant_id = ?1 AND package = ?2 AND current")?,
                count("SELECT COUNT(*) FROM access_requests INDEXED BY access_requests_open_by_package WHERE tenant_id = ?1 AND package = ?2 AND open")?,
            ))
        })?;
        Ok(AccessCounts { assignments: u64::try_from(assignments).unwrap_or(0), pending_requests: u64::try_from(pending).unwrap_or(0) })
    }

    async fn due_access_work(&self, now: Timestamp, limit: u32) -> Result<DueWork> {
        let (now, limit) = (now.as_millisecond(), i64::from(limit.max(1)));
        type Raw = (Vec<u8>, String, i64);
        let (requests, assignments, guests) = self.read(|c| {
            let due = |sql: &str| -> rusqlite::Result<Vec<Raw>> {
                let mut s = c.prepare_cached(sql)?;
                let rows = s.query_map(params![now, limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                rows.collect()
            };
            let requests = due("SELECT tenant_id, body, version FROM access_requests WHERE due_ms <= ?1 ORDER BY due_ms LIMIT ?2")?;
            let assignments = due("SELECT tenant_id, body, version FROM access_assignments WHERE due_ms <= ?1 ORDER BY due_ms LIMIT ?2")?;
            let mut s = c.prepare_cached("SELECT tenant_id, user_id, delete_ms FROM access_guests WHERE delete_ms <= ?1 ORDER BY delete_ms LIMIT ?2")?;
            let guests = s
                .query_map(params![now, limit], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, i64>(2)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((requests, assignments, guests))
        })?;
        let mut work = DueWork::default();
        for (t, body, v) in requests {
            work.requests.push((tenant_of(t)?, Versioned { value: parse(&body, "access request")?, version: u64::try_from(v).unwrap_or(0) }));
        }
        for (t, body, v) in assignments {
            work.assignments.push((tenant_of(t)?, Versioned { value: parse(&body, "access package assignment")?, version: u64::try_from(v).unwrap_or(0) }));
        }
        for (t, user, at) in guests {
            let user = ObjectId::from_bytes(user.try_into().map_err(|_| StoreError::Internal { message: "a user id that is not 16 bytes".into() })?);
            let delete_at = Timestamp::from_millisecond(at).map_err(|e| StoreError::Internal { message: e.to_string() })?;
            work.guests.push((tenant_of(t)?, GuestSchedule { user, delete_at }));
        }
        Ok(work)
    }

    async fn forget_guest(&self, tenant: TenantId, user: ObjectId) -> Result<()> {
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM access_guests WHERE tenant_id = ?1 AND user_id = ?2")
                .and_then(|mut s| s.execute(params![tenant.as_bytes(), user.as_bytes()]))
                .map(|_| ())
                .map_err(sql_err)
        })
        .await
    }

    async fn pending_outbox(&self, now: Timestamp, limit: u32) -> Result<Vec<(TenantId, OutboxMessage)>> {
        let (now, limit) = (now.as_millisecond(), i64::from(limit.max(1)));
        let rows = self.read(|c| {
            let mut s = c.prepare_cached("SELECT tenant_id, body FROM access_outbox WHERE next_ms <= ?1 ORDER BY next_ms, id LIMIT ?2")?;
            let rows = s.query_map(params![now, limit], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(|(t, body)| Ok((tenant_of(t)?, parse(&body, "outbox message")?))).collect()
    }

    async fn outbox_attempted(&self, tenant: TenantId, id: ObjectId, sent: bool, next: Timestamp) -> Result<()> {
        let now = self.clock_now();
        self.write(move |conn| {
            let tx = conn.transaction().map_err(sql_err)?;
            let body: Option<String> = tx
                .prepare_cached("SELECT body FROM access_outbox WHERE tenant_id = ?1 AND id = ?2")
                .and_then(|mut s| s.query_row(params![tenant.as_bytes(), id.as_bytes()], |r| r.get(0)).optional())
                .map_err(sql_err)?;
            let Some(body) = body else { return Err(StoreError::AccessConflict { what: format!("outbox message {id}") }) };
            let mut m: OutboxMessage = parse(&body, "outbox message")?;
            m.attempts = m.attempts.saturating_add(1);
            m.delivered = sent.then_some(now);
            m.next_attempt = next;
            let next_ms = (!sent).then_some(next.as_millisecond());
            let body = json(&m)?;
            tx.prepare_cached("UPDATE access_outbox SET next_ms = ?3, body = ?4 WHERE tenant_id = ?1 AND id = ?2")
                .and_then(|mut s| s.execute(params![tenant.as_bytes(), id.as_bytes(), next_ms, body]))
                .map_err(sql_err)?;
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn outbox(&self, tenant: TenantId, limit: u32) -> Result<Vec<OutboxMessage>> {
        let limit = i64::from(limit.max(1));
        let rows = self.read_in(tenant, |c| {
            let mut s = c.prepare_cached("SELECT body FROM access_outbox WHERE tenant_id = ?1 ORDER BY id DESC LIMIT ?2")?;
            let rows = s.query_map(params![tenant.as_bytes(), limit], |r| r.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<Vec<String>>>()
        })?;
        rows.iter().map(|b| parse(b, "outbox message")).collect()
    }
}
