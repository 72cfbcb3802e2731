//! Entitlement management in PostgreSQL (`access_*` tables): definitions as documents,
//! requests and assignments as documents with the columns they are found by, the outbox,
//! and governed guests' planned deletions. A step commits in one transaction; each row's
//! version is checked by its `UPDATE … WHERE version = $n`, a new row by its insert. A
//! step's directory writes (a delivery's memberships) run in that transaction through the
//! write path, with their change rows.
use crate::PgStore;
use crate::rows::first;
use crate::schema::{pg_err, unique_violation};
use async_trait::async_trait;
use deadpool_postgres::Transaction;
use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tenantsync_access::{Assignment, AssignmentId, PackageId, Request, RequestId};
use tenantsync_domain::{ObjectId, TenantId};
use tenantsync_store::{
    AccessCounts, AccessObjectKind, AccessStep, AccessStore, AssignmentFilter, BatchMode, DueWork, GuestSchedule, IdRange, OutboxMessage, RequestFilter,
    Result, StepRow, StoreError, Versioned,
};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

fn json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Internal { message: e.to_string() })
}

fn parse<T: DeserializeOwned>(body: &str, what: &str) -> Result<T> {
    serde_json::from_str(body).map_err(|e| StoreError::Internal { message: format!("stored {what}: {e}") })
}

fn ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(|t| t.as_millisecond())
}

fn versioned<T: DeserializeOwned>(rows: &[Row], what: &str) -> Result<Vec<Versioned<T>>> {
    rows.iter()
        .map(|r| {
            let body: &str = r.try_get(0).map_err(pg_err)?;
            let v: i64 = r.try_get(1).map_err(pg_err)?;
            Ok(Versioned { value: parse(body, what)?, version: u64::try_from(v).unwrap_or(0) })
        })
        .collect()
}

/// Writes one row of a step: an insert for a new row, else an update that must find the
/// expected version. The values end with the version (1 for a new row).
async fn put_row(tx: &Transaction<'_>, what: &str, insert: &str, update: &str, id: Uuid, expect: Option<u64>, values: &[&(dyn ToSql + Sync)]) -> Result<()> {
    let conflict = || StoreError::AccessConflict { what: format!("{what} {id}") };
    let version = expect.map_or(1, |v| i64::try_from(v).unwrap_or(i64::MAX));
    let mut all = values.to_vec();
    all.push(&version);
    match expect {
        None => match tx.execute(insert, &all).await {
            Ok(_) => Ok(()),
            Err(e) if unique_violation(&e).is_some() => Err(conflict()),
            Err(e) => Err(pg_err(e)),
        },
        Some(_) => {
            let n = tx.execute(update, &all).await.map_err(pg_err)?;
            if n == 1 { Ok(()) } else { Err(conflict()) }
        }
    }
}

async fn put_request(tx: &Transaction<'_>, tenant: Uuid, row: &StepRow<Request>) -> Result<()> {
    let r = &row.value;
    let body = json(r)?;
    let requestor = r.requestor.map(|u| u.0);
    let open = !r.state.is_final();
    put_row(
        tx,
        "access request",
        "INSERT INTO access_requests (tenant_id, id, requestor, package, open, due_ms, body, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        "UPDATE access_requests SET requestor = $3, package = $4, open = $5, due_ms = $6, body = $7, version = version + 1 \
         WHERE tenant_id = $1 AND id = $2 AND version = $8",
        r.id.0,
        row.expect,
        &[&tenant, &r.id.0, &requestor, &r.access_package_id.0, &open, &ms(row.due), &body],
    )
    .await
}

async fn put_assignment(tx: &Transaction<'_>, tenant: Uuid, row: &StepRow<Assignment>) -> Result<()> {
    let a = &row.value;
    let body = json(a)?;
    let current = a.state != tenantsync_access::AssignmentState::Expired;
    put_row(
        tx,
        "access package assignment",
        "INSERT INTO access_assignments (tenant_id, id, target, package, policy, current, due_ms, body, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        "UPDATE access_assignments SET target = $3, package = $4, policy = $5, current = $6, due_ms = $7, body = $8, version = version + 1 \
         WHERE tenant_id = $1 AND id = $2 AND version = $9",
        a.id.0,
        row.expect,
        &[&tenant, &a.id.0, &a.target.0, &a.access_package_id.0, &a.assignment_policy_id.0, &current, &ms(row.due), &body],
    )
    .await
}

async fn commit_step(tx: &Transaction<'_>, tenant: TenantId, step: &AccessStep) -> Result<()> {
    let t = tenant.0;
    if let Some(audit) = &step.audit {
        crate::admin::insert_audit(tx, tenant, audit).await?;
    }
    for row in &step.requests {
        put_request(tx, t, row).await?;
    }
    for row in &step.assignments {
        put_assignment(tx, t, row).await?;
    }
    for m in &step.outbox {
        let next = m.delivered.is_none().then_some(m.next_attempt.as_millisecond());
        let body = json(m)?;
        tx.execute("INSERT INTO access_outbox (tenant_id, id, next_ms, body) VALUES ($1, $2, $3, $4)", &[&t, &m.id.0, &next, &body]).await.map_err(pg_err)?;
    }
    for g in &step.guests {
        tx.execute(
            "INSERT INTO access_guests (tenant_id, user_id, delete_ms) VALUES ($1, $2, $3) ON CONFLICT (tenant_id, user_id) DO UPDATE SET delete_ms = excluded.delete_ms",
            &[&t, &g.user.0, &g.delete_at.as_millisecond()],
        )
        .await
        .map_err(pg_err)?;
    }
    for u in &step.guests_spared {
        tx.execute("DELETE FROM access_guests WHERE tenant_id = $1 AND user_id = $2", &[&t, &u.0]).await.map_err(pg_err)?;
    }
    Ok(())
}

#[async_trait]
impl AccessStore for PgStore {
    async fn put_access_object(&self, tenant: TenantId, kind: AccessObjectKind, id: ObjectId, body: serde_json::Value) -> Result<()> {
        self.check_tenant(tenant).await?;
        let body = json(&body)?;
        self.execute(
            "INSERT INTO access_objects (tenant_id, kind, id, body) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, kind, id) DO UPDATE SET body = excluded.body",
            &[&tenant.0, &kind.as_str(), &id.0, &body],
        )
        .await?;
        Ok(())
    }

    async fn access_object(&self, tenant: TenantId, kind: AccessObjectKind, id: ObjectId) -> Result<Option<serde_json::Value>> {
        let rows = self.query("SELECT body FROM access_objects WHERE tenant_id = $1 AND kind = $2 AND id = $3", &[&tenant.0, &kind.as_str(), &id.0]).await?;
        if rows.is_empty() {
            self.check_tenant(tenant).await?;
        }
        rows.first().map(|r| first::<String>(r).and_then(|b| parse(&b, kind.as_str()))).transpose()
    }

    async fn access_objects(&self, tenant: TenantId, kind: AccessObjectKind) -> Result<Vec<serde_json::Value>> {
        let rows = self.query("SELECT body FROM access_objects WHERE tenant_id = $1 AND kind = $2 ORDER BY id", &[&tenant.0, &kind.as_str()]).await?;
        if rows.is_empty() {
            self.check_tenant(tenant).await?;
        }
        rows.iter().map(|r| first::<String>(r).and_then(|b| parse(&b, kind.as_str()))).collect()
    }

    async fn access_objects_page(&self, tenant: TenantId, kind: AccessObjectKind, range: IdRange) -> Result<Vec<(ObjectId, serde_json::Value)>> {
        let (after, before) = (range.after.map(|a| a.0), range.before.map(|b| b.0));
        let sql = format!(
            "SELECT id, body FROM access_objects WHERE tenant_id = $1 AND kind = $2 AND ($3::uuid IS NULL OR id > $3) AND ($4::uuid IS NULL OR id < $4) \
             ORDER BY id {} LIMIT $5::bigint",
            if before.is_some() { "DESC" } else { "ASC" }
        );
        let mut rows = self.query(&sql, &[&tenant.0, &kind.as_str(), &after, &before, &i64::from(range.limit)]).await?;
        if rows.is_empty() {
            self.check_tenant(tenant).await?;
        }
        if before.is_some() {
            rows.reverse();
        }
        rows.iter()
            .map(|r| {
                let id: Uuid = r.try_get(0).map_err(pg_err)?;
                let body: String = r.try_get(1).map_err(pg_err)?;
                Ok((ObjectId(id), parse(&body, kind.as_str())?))
            })
            .collect()
    }

    async fn delete_access_object(&self, tenant: TenantId, kind: AccessObjectKind, id: ObjectId) -> Result<bool> {
        self.check_tenant(tenant).await?;
        let n = self.execute("DELETE FROM access_objects WHERE tenant_id = $1 AND kind = $2 AND id = $3", &[&tenant.0, &kind.as_str(), &id.0]).await?;
        Ok(n > 0)
    }

    async fn replace_access_object(
        &self,
        tenant: TenantId,
        kind: AccessObjectKind,
        id: ObjectId,
        expected: serde_json::Value,
        body: serde_json::Value,
    ) -> Result<()> {
        self.check_tenant(tenant).await?;
        // Stored text is the serialization of a document, and serde_json keeps a parsed
        // document's key order: the document read serializes to the stored text again.
        let (expected, body) = (json(&expected)?, json(&body)?);
        let n = self
            .execute(
                "UPDATE access_objects SET body = $5 WHERE tenant_id = $1 AND kind = $2 AND id = $3 AND body = $4",
                &[&tenant.0, &kind.as_str(), &id.0, &expected, &body],
            )
            .await?;
        if n == 1 { Ok(()) } else { Err(StoreError::AccessConflict { what: format!("{} {id}", kind.as_str()) }) }
    }

    async fn try_lease_auto_assignment(&self, tenant: TenantId) -> Result<Option<tenantsync_store::JobLease>> {
        self.check_tenant(tenant).await?;
        // The advisory lock's key space is the jobs': tenant ids are distinct from every
        // job's and connector's id.
        crate::lease::try_lease(&self.inner.leases, &self.inner.config, &self.inner.url, tenantsync_domain::SyncConfigId::from_bytes(*tenant.as_bytes())).await
    }

    async fn commit_access(&self, tenant: TenantId, mut step: AccessStep) -> Result<()> {
        if step.directory.is_empty() {
            self.check_tenant(tenant).await?;
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(pg_err)?;
            commit_step(&tx, tenant, &step).await?;
            return tx.commit().await.map_err(pg_err);
        }
        // Directory writes take the tenant's write turn (its row locked) like every other
        // directory write, and append their change rows in the step's transaction.
        let ops = std::mem::take(&mut step.directory);
        let mut client = self.client().await?;
        let mut tx = self.begin(&mut client, tenant).await?;
        let outcome = match commit_step(&tx.tx, tenant, &step).await {
            Ok(()) => match tx.apply_all(ops, BatchMode::Atomic).await {
                Ok(results) => results.into_iter().collect::<Result<Vec<_>>>().map(|_| ()),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => self.finish(tx).await,
            Err(e) => {
                tx.rollback().await;
                Err(e)
            }
        }
    }

    async fn access_request(&self, tenant: TenantId, id: RequestId) -> Result<Option<Versioned<Request>>> {
        let rows = self.query("SELECT body, version FROM access_requests WHERE tenant_id = $1 AND id = $2", &[&tenant.0, &id.0]).await?;
        if rows.is_empty() {
            self.check_tenant(tenant).await?;
        }
        Ok(versioned(&rows, "access request")?.pop())
    }

    async fn access_requests(&self, tenant: TenantId, f: RequestFilter) -> Result<Vec<Versioned<Request>>> {
        let requestor = f.requestor.map(|u| u.0);
        let package = f.package.map(|p| p.0);
        let after = f.after.map(|a| a.0);
        let before = f.before.map(|a| a.0);
        let limit = f.limit.map(i64::from);
        // A page before a row is read backwards, and turned around.
        let sql = format!(
            "SELECT body, version FROM access_requests WHERE tenant_id = $1 AND ($2::uuid IS NULL OR requestor = $2) \
             AND ($3::uuid IS NULL OR package = $3) AND (NOT $4 OR open) AND ($5::uuid IS NULL OR id > $5) AND ($7::uuid IS NULL OR id < $7) \
             ORDER BY id {} LIMIT $6::bigint",
            if before.is_some() { "DESC" } else { "ASC" }
        );
        let mut rows = self.query(&sql, &[&tenant.0, &requestor, &package, &f.open_only, &after, &limit, &before]).await?;
        if rows.is_empty() {
            self.check_tenant(tenant).await?;
        }
        if before.is_some() {
            rows.reverse();
        }
        versioned(&rows, "access request")
    }

    async fn access_assignment(&self, tenant: TenantId, id: AssignmentId) -> Result<Option<Versioned<Assignment>>> {
        let rows = self.query("SELECT body, version FROM access_assignments WHERE tenant_id = $1 AND id = $2", &[&tenant.0, &id.0]).await?;
        if rows.is_empty() {
            self.check_tenant(tenant).await?;
        }
        Ok(versioned(&rows, "access package assignment")?.pop())
    }

    async fn access_assignments(&self, tenant: TenantId, f: AssignmentFilter) -> Result<Vec<Versioned<Assignment>>> {
        let target = f.target.map(|u| u.0);
        let package = f.package.map(|p| p.0);
        let policy = f.policy.map(|p| p.0);
        let after = f.after.map(|a| a.0);
        let before = f.before.map(|a| a.0);
        let limit = f.limit.map(i64::from);
        let sql = format!(
            "SELECT body, version FROM access_assignments WHERE tenant_id = $1 AND ($2::uuid IS NULL OR target = $2) \
             AND ($3::uuid IS NULL OR package = $3) AND ($4::uuid IS NULL OR policy = $4) AND (NOT $5 OR current) \
             AND ($6::uuid IS NULL OR id > $6) AND ($8::uuid IS NULL OR id < $8) ORDER BY id {} LIMIT $7::bigint",
            if before.is_some() { "DESC" } else { "ASC" }
        );
        let mut rows = self.query(&sql, &[&tenant.0, &target, &package, &policy, &f.current_only, &after, &limit, &before]).await?;
        if rows.is_empty() {
            self.check_tenant(tenant).await?;
        }
        if before.is_some() {
            rows.reverse();
        }
        versioned(&rows, "access package assignment")
    }

    async fn count_access(&self, tenant: TenantId, package: PackageId) -> Result<AccessCounts> {
        let sql = "SELECT (SELECT COUNT(*) FROM access_assignments WHERE tenant_id = $1 AND package = $2 AND current), \
                   (SELECT COUNT(*) FROM access_requests WHERE tenant_id = $1 AND package = $2 AND open)";
        let rows = self.query(sql, &[&tenant.0, &package.0]).await?;
        let Some(r) = rows.first() else { return Ok(AccessCounts::default()) };
        let (a, p): (i64, i64) = (r.try_get(0).map_err(pg_err)?, r.try_get(1).map_err(pg_err)?);
        if a == 0 && p == 0 {
            self.check_tenant(tenant).await?;
        }
        Ok(AccessCounts { assignments: u64::try_from(a).unwrap_or(0), pending_requests: u64::try_from(p).unwrap_or(0) })
    }

    async fn due_access_work(&self, now: Timestamp, limit: u32) -> Result<DueWork> {
        let (now, limit) = (now.as_millisecond(), i64::from(limit.max(1)));
        let mut work = DueWork::default();
        let due = "WHERE due_ms <= $1 ORDER BY due_ms LIMIT $2";
        for r in self.query(&format!("SELECT body, version, tenant_id FROM access_requests {due}"), &[&now, &limit]).await? {
            let t = TenantId(r.try_get(2).map_err(pg_err)?);
            work.requests.extend(versioned(std::slice::from_ref(&r), "access request")?.into_iter().map(|v| (t, v)));
        }
        for r in self.query(&format!("SELECT body, version, tenant_id FROM access_assignments {due}"), &[&now, &limit]).await? {
            let t = TenantId(r.try_get(2).map_err(pg_err)?);
            work.assignments.extend(versioned(std::slice::from_ref(&r), "access package assignment")?.into_iter().map(|v| (t, v)));
        }
        let guests =
            self.query("SELECT tenant_id, user_id, delete_ms FROM access_guests WHERE delete_ms <= $1 ORDER BY delete_ms LIMIT $2", &[&now, &limit]).await?;
        for r in guests {
            let at: i64 = r.try_get(2).map_err(pg_err)?;
            let delete_at = Timestamp::from_millisecond(at).map_err(|e| StoreError::Internal { message: e.to_string() })?;
            work.guests.push((TenantId(r.try_get(0).map_err(pg_err)?), GuestSchedule { user: ObjectId(r.try_get(1).map_err(pg_err)?), delete_at }));
        }
        Ok(work)
    }

    async fn forget_guest(&self, tenant: TenantId, user: ObjectId) -> Result<()> {
        self.execute("DELETE FROM access_guests WHERE tenant_id = $1 AND user_id = $2", &[&tenant.0, &user.0]).await?;
        Ok(())
    }

    async fn pending_outbox(&self, now: Timestamp, limit: u32) -> Result<Vec<(TenantId, OutboxMessage)>> {
        let (now, limit) = (now.as_millisecond(), i64::from(limit.max(1)));
        let rows = self.query("SELECT tenant_id, body FROM access_outbox WHERE next_ms <= $1 ORDER BY next_ms, id LIMIT $2", &[&now, &limit]).await?;
        rows.iter().map(|r| Ok((TenantId(r.try_get(0).map_err(pg_err)?), parse(r.try_get::<_, &str>(1).map_err(pg_err)?, "outbox message")?))).collect()
    }

    async fn outbox_attempted(&self, tenant: TenantId, id: ObjectId, sent: bool, next: Timestamp) -> Result<()> {
        let now = self.inner.clock.now();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let rows = tx.query("SELECT body FROM access_outbox WHERE tenant_id = $1 AND id = $2 FOR UPDATE", &[&tenant.0, &id.0]).await.map_err(pg_err)?;
        let Some(row) = rows.first() else { return Err(StoreError::AccessConflict { what: format!("outbox message {id}") }) };
        let mut m: OutboxMessage = parse(&first::<String>(row)?, "outbox message")?;
        m.attempts = m.attempts.saturating_add(1);
        m.delivered = sent.then_some(now);
        m.next_attempt = next;
        let next_ms = (!sent).then_some(next.as_millisecond());
        let body = json(&m)?;
        tx.execute("UPDATE access_outbox SET next_ms = $3, body = $4 WHERE tenant_id = $1 AND id = $2", &[&tenant.0, &id.0, &next_ms, &body])
            .await
            .map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)
    }

    async fn outbox(&self, tenant: TenantId, limit: u32) -> Result<Vec<OutboxMessage>> {
        let limit = i64::from(limit.max(1));
        let rows = self.query("SELECT body FROM access_outbox WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2", &[&tenant.0, &limit]).await?;
        if rows.is_empty() {
            self.check_tenant(tenant).await?;
        }
        rows.iter().map(|r| first::<String>(r).and_then(|b| parse(&b, "outbox message"))).collect()
    }
}
