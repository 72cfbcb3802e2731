//! A restore of [`DumpRecord`]s (`tenantsync migrate`'s destination side): one job on
//! the writer thread holding one transaction, fed batches through a bounded channel, so
//! memory stays flat; the transaction commits on [`Restore::commit`] and is rolled back
//! if the caller goes away first or a record fails.
use crate::rows::{self, GROUP_COLS, USER_COLS, sql_err};
use crate::{SqliteStore, logblock};
use async_trait::async_trait;
use rusqlite::{Connection, params};
use tenantsync_domain::{SyncConfigId, TenantId};
use tenantsync_store::{DumpRecord, ProvisioningLog, Restore, Result, StoreError, Tally};
use tokio::sync::{mpsc, oneshot};

enum Msg {
    Push(Vec<DumpRecord>, oneshot::Sender<Result<()>>),
    Tally(oneshot::Sender<Result<Tally>>),
    Commit(oneshot::Sender<Result<()>>),
}

/// The caller's side of a running restore.
#[derive(Debug)]
pub struct SqliteRestore {
    tx: mpsc::Sender<Msg>,
}

pub fn start(store: &SqliteStore) -> Result<SqliteRestore> {
    let (tx, mut rx) = mpsc::channel::<Msg>(2);
    let job: crate::Job = Box::new(move |conn| {
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            // Every message is answered with the failure.
            let e = sql_err(e);
            while let Some(msg) = rx.blocking_recv() {
                answer(msg, Err(e.clone()));
            }
            return;
        }
        let mut session = Session { conn, logs: Vec::new() };
        while let Some(msg) = rx.blocking_recv() {
            let ok = match msg {
                Msg::Push(records, reply) => {
                    let r = records.into_iter().try_for_each(|r| session.write(r));
                    let ok = r.is_ok();
                    let _ = reply.send(r);
                    ok
                }
                Msg::Tally(reply) => {
                    let r = session.flush_logs().and_then(|()| crate::dump::tally(session.conn).map_err(sql_err));
                    let ok = r.is_ok();
                    let _ = reply.send(r);
                    ok
                }
                Msg::Commit(reply) => {
                    let r = session.commit();
                    let _ = reply.send(r);
                    return;
                }
            };
            if !ok {
                break;
            }
        }
        let _ = session.conn.execute_batch("ROLLBACK");
    });
    store.queue()?.submit(job)?;
    Ok(SqliteRestore { tx })
}

fn answer(msg: Msg, e: Result<()>) {
    match msg {
        Msg::Push(_, reply) | Msg::Commit(reply) => {
            let _ = reply.send(e);
        }
        Msg::Tally(reply) => {
            let _ = reply.send(e.map(|()| Tally::default()));
        }
    }
}

#[async_trait]
impl Restore for SqliteRestore {
    async fn push(&mut self, records: Vec<DumpRecord>) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Msg::Push(records, reply)).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn tally(&mut self) -> Result<Tally> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Msg::Tally(reply)).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Msg::Commit(reply)).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

/// The writer thread's side: the open transaction, and the provisioning log records not
/// yet packed into a block (consecutive records of one configuration share a block).
struct Session<'c> {
    conn: &'c mut Connection,
    logs: Vec<ProvisioningLog>,
}

fn exec(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<()> {
    conn.prepare_cached(sql).and_then(|mut s| s.execute(p)).map(|_| ()).map_err(sql_err)
}

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Internal { message: format!("restore: {e}") }
}

impl Session<'_> {
    fn write(&mut self, record: DumpRecord) -> Result<()> {
        if !matches!(record, DumpRecord::ProvisioningLog { .. }) {
            self.flush_logs()?;
        }
        let c: &Connection = self.conn;
        match record {
            DumpRecord::Tenant { tenant: t, change_head } => exec(
                c,
                "INSERT INTO tenants (id, display_name, initial_domain, created_ms, retention_days, change_head) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    t.id.as_bytes(),
                    t.display_name,
                    t.initial_domain.as_str(),
                    t.created_date_time.as_millisecond(),
                    t.soft_delete_retention_days,
                    change_head as i64
                ],
            ),
            DumpRecord::User(u) => {
                let extensions = rows::extensions_json(&u.attrs.extensions);
                let values = rows::user_values(&u, &extensions);
                let marks: Vec<String> = (1..=rows::USER_COL_COUNT).map(|i| format!("?{i}")).collect();
                exec(c, &format!("INSERT INTO users ({USER_COLS}) VALUES ({})", marks.join(", ")), rusqlite::params_from_iter(rows::params(&values)))?;
                crate::write::index_extensions(c, u.tenant_id, u.id, extensions.as_deref())
            }
            DumpRecord::Group(g) => {
                let values = rows::group_values(&g);
                let marks: Vec<String> = (1..=values.len()).map(|i| format!("?{i}")).collect();
                exec(c, &format!("INSERT INTO groups ({GROUP_COLS}) VALUES ({})", marks.join(", ")), rusqlite::params_from_iter(rows::params(&values)))
            }
            DumpRecord::Member { tenant, group, user } => {
                exec(c, "INSERT INTO members (tenant_id, group_id, user_id) VALUES (?1, ?2, ?3)", params![tenant.as_bytes(), group.as_bytes(), user.as_bytes()])
            }
            DumpRecord::BareName { tenant, user } => {
                exec(c, "INSERT INTO bare_user_names (tenant_id, user_id) VALUES (?1, ?2)", params![tenant.as_bytes(), user.as_bytes()])
            }
            DumpRecord::Change(ch) => {
                let attrs = if ch.attributes.is_empty() { None } else { Some(serde_json::to_string(&ch.attributes).map_err(json_err)?) };
                exec(
                    c,
                    "INSERT INTO changes (tenant_id, seq, at_ms, object_kind, object_id, op, member_id, attributes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        ch.tenant_id.as_bytes(),
                        ch.seq as i64,
                        ch.at.as_millisecond(),
                        rows::kind_code(ch.object_kind),
                        ch.object_id.as_bytes(),
                        i64::from(ch.op.code()),
                        ch.member_id.as_ref().map(|m| m.as_bytes()),
                        attrs
                    ],
                )
            }
            DumpRecord::Token(t) => exec(
                c,
                &format!("INSERT INTO api_tokens ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", crate::TOKEN_COLS),
                params![
                    t.id.as_bytes(),
                    t.tenant_id.as_bytes(),
                    t.name,
                    t.secret_hash,
                    t.created_date_time.as_millisecond(),
                    t.expires_date_time.map(|x| x.as_millisecond()),
                    t.revoked_date_time.map(|x| x.as_millisecond()),
                    t.role.as_str()
                ],
            ),
            DumpRecord::PartnerSettings { tenant, partner, settings } => {
                let partner = partner.unwrap_or(TenantId::from_bytes([0; 16]));
                exec(
                    c,
                    "INSERT INTO partner_settings (tenant_id, partner_id, settings) VALUES (?1, ?2, ?3)",
                    params![tenant.as_bytes(), partner.as_bytes(), settings],
                )
            }
            DumpRecord::SyncConfiguration { id, source, target, created_ms, body } => exec(
                c,
                "INSERT INTO sync_configurations (id, source_tenant_id, target_tenant_id, body, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id.as_bytes(), source.as_bytes(), target.as_bytes(), body, created_ms],
            ),
            DumpRecord::JobState { config, target: _, watermark, body } => {
                exec(c, "INSERT INTO job_states (config_id, watermark, body) VALUES (?1, ?2, ?3)", params![config.as_bytes(), watermark, body])
            }
            DumpRecord::ProvisioningLog { target: _, log } => {
                if self.logs.len() >= logblock::BLOCK_RECORDS || self.logs.first().is_some_and(|l| l.config_id != log.config_id) {
                    self.flush_logs()?;
                }
                self.logs.push(*log);
                Ok(())
            }
            DumpRecord::AuditRecord { tenant, at_ms, id, body } => {
                exec(c, "INSERT INTO audit_log (tenant_id, at_ms, id, body) VALUES (?1, ?2, ?3, ?4)", params![tenant.as_bytes(), at_ms, id.as_bytes(), body])
            }
            DumpRecord::AdminObject { tenant, kind, id, created_ms, body } => exec(
                c,
                "INSERT INTO admin_objects (tenant_id, kind, id, created_ms, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![tenant.as_bytes(), kind, id.as_bytes(), created_ms, body],
            ),
            DumpRecord::AccessObject { tenant, kind, id, body } => {
                exec(c, "INSERT INTO access_objects (tenant_id, kind, id, body) VALUES (?1, ?2, ?3, ?4)", params![tenant.as_bytes(), kind, id.as_bytes(), body])
            }
            DumpRecord::AccessRequest(r) => exec(
                c,
                "INSERT INTO access_requests (tenant_id, id, version, requestor, package, open, due_ms, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    r.tenant.as_bytes(),
                    r.id.as_bytes(),
                    r.version,
                    r.requestor.as_ref().map(|x| x.as_bytes()),
                    r.package.as_bytes(),
                    r.open,
                    r.due_ms,
                    r.body
                ],
            ),
            DumpRecord::AccessAssignment(a) => exec(
                c,
                "INSERT INTO access_assignments (tenant_id, id, version, target, package, policy, current, due_ms, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    a.tenant.as_bytes(),
                    a.id.as_bytes(),
                    a.version,
                    a.target.as_bytes(),
                    a.package.as_bytes(),
                    a.policy.as_bytes(),
                    a.current,
                    a.due_ms,
                    a.body
                ],
            ),
            DumpRecord::AccessGuest { tenant, user, delete_ms } => {
                exec(c, "INSERT INTO access_guests (tenant_id, user_id, delete_ms) VALUES (?1, ?2, ?3)", params![tenant.as_bytes(), user.as_bytes(), delete_ms])
            }
            DumpRecord::AccessOutbox { tenant, id, next_ms, body } => exec(
                c,
                "INSERT INTO access_outbox (tenant_id, id, next_ms, body) VALUES (?1, ?2, ?3, ?4)",
                params![tenant.as_bytes(), id.as_bytes(), next_ms, body],
            ),
            DumpRecord::Connector { id, name, tenant, created_ms, body, state } => exec(
                c,
                "INSERT INTO connectors (id, name, tenant_id, created_ms, body, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id.as_bytes(), name, tenant.as_bytes(), created_ms, body, state],
            ),
            DumpRecord::ConnectorLink(l) => exec(
                c,
                "INSERT INTO connector_links (connector_id, object_id, kind, external_id, digest, exported, fault, retry_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![l.connector.as_bytes(), l.object.as_bytes(), l.kind, l.external_id, l.digest, l.exported, l.fault, l.retry_ms],
            ),
        }
    }

    /// Packs the pending log records into a block.
    fn flush_logs(&mut self) -> Result<()> {
        let Some(config) = self.logs.first().map(|l| l.config_id) else { return Ok(()) };
        let logs = std::mem::take(&mut self.logs);
        insert_logs(self.conn, config, &logs)
    }

    /// Counts each tenant's objects and anchored users, as the write path keeps them, and
    /// commits.
    fn commit(mut self) -> Result<()> {
        let done = self.flush_logs().and_then(|()| {
            self.conn
                .execute_batch(&format!(
                    "UPDATE tenants SET \
                     live_users = (SELECT count(*) FROM users WHERE tenant_id = tenants.id AND deleted_ms IS NULL), \
                     deleted_users = (SELECT count(*) FROM users WHERE tenant_id = tenants.id AND deleted_ms IS NOT NULL), \
                     live_groups = (SELECT count(*) FROM groups WHERE tenant_id = tenants.id AND deleted_ms IS NULL), \
                     deleted_groups = (SELECT count(*) FROM groups WHERE tenant_id = tenants.id AND deleted_ms IS NOT NULL); {} \
                     COMMIT",
                    crate::counts::RECOUNT_ANCHORED
                ))
                .map_err(sql_err)
        });
        if done.is_err() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        done
    }
}

fn insert_logs(conn: &Connection, config: SyncConfigId, logs: &[ProvisioningLog]) -> Result<()> {
    crate::sync::insert_block(conn, config, None, logs, &logblock::encode(logs)?)
}
