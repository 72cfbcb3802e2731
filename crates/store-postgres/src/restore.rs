//! A restore of [`DumpRecord`]s (`tenantsync migrate`'s destination side): one
//! transaction on a connection of its own, not pooled. A batch's statements are sent
//! pipelined (each prepared once), so a batch costs about one round trip. The
//! transaction commits on [`Restore::commit`]; dropping the restore closes the connection,
//! and PostgreSQL rolls the transaction back.
use crate::rows::{self, GROUP_COLS, GroupRow, TOKEN_COLS, USER_COLS, UserRow};
use crate::schema::pg_err;
use crate::sync::{action_name, status_code};
use async_trait::async_trait;
use std::collections::HashMap;
use tenantsync_domain::AttrValue;
use tenantsync_store::{DumpRecord, Restore, Result, StoreError, Tally};
use tokio_postgres::Statement;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

type Param = Box<dyn ToSql + Sync + Send>;

/// The restore's connection and its open transaction.
pub struct PgRestore {
    client: tokio_postgres::Client,
    connection: tokio::task::JoinHandle<()>,
    statements: HashMap<String, Statement>,
}

impl std::fmt::Debug for PgRestore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgRestore")
    }
}

impl Drop for PgRestore {
    fn drop(&mut self) {
        // Ends the session: an open transaction is rolled back.
        self.connection.abort();
    }
}

impl PgRestore {
    pub async fn begin(config: &tokio_postgres::Config, url: &str) -> Result<PgRestore> {
        let (client, connection) =
            config.connect(tokio_postgres::NoTls).await.map_err(|e| StoreError::Unreachable { url: url.to_owned(), reason: e.to_string() })?;
        let connection = tokio::spawn(async move {
            let _ = connection.await;
        });
        let restore = PgRestore { client, connection, statements: HashMap::new() };
        restore.client.batch_execute("BEGIN").await.map_err(pg_err)?;
        Ok(restore)
    }

    async fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).await.map_err(pg_err)?;
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }
}

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Internal { message: format!("restore: {e}") }
}

fn p<T: ToSql + Sync + Send + 'static>(v: T) -> Param {
    Box::new(v)
}

/// The statements that write one record (a user's or a group's row itself aside: the
/// caller binds it from its `UserRow` or `GroupRow`; here only a user's extension values).
fn statements(record: DumpRecord, out: &mut Vec<(String, Vec<Param>)>) -> Result<()> {
    let mut push = |sql: &str, params: Vec<Param>| out.push((sql.to_owned(), params));
    match record {
        DumpRecord::Tenant { tenant: t, change_head } => {
            push(
                "INSERT INTO tenants (tenant_id, display_name, initial_domain, created_ms, retention_days, change_head) VALUES ($1, $2, $3, $4, $5, $6)",
                vec![
                    p(t.id.0),
                    p(t.display_name),
                    p(t.initial_domain.as_str().to_owned()),
                    p(t.created_date_time.as_millisecond()),
                    p(i32::try_from(t.soft_delete_retention_days).unwrap_or(i32::MAX)),
                    p(change_head as i64),
                ],
            );
            push("INSERT INTO tenant_domains (initial_domain, tenant_id) VALUES ($1, $2)", vec![p(t.initial_domain.as_str().to_owned()), p(t.id.0)]);
        }
        DumpRecord::User(u) => {
            let (mut names, mut values) = (Vec::new(), Vec::new());
            for (name, value) in &u.attrs.extensions {
                let texts: Vec<&String> = match value {
                    AttrValue::String(s) => vec![s],
                    AttrValue::Strings(v) => v.iter().collect(),
                    AttrValue::Null | AttrValue::Bool(_) => Vec::new(),
                };
                for s in texts {
                    names.push(name.as_str().to_owned());
                    values.push(s.clone());
                }
            }
            let (tenant, id) = (u.tenant_id.0, u.id.0);
            if !names.is_empty() {
                out.push((
                    "INSERT INTO user_extension_values (tenant_id, name, value, user_id) SELECT $1, n, v, $2 FROM unnest($3::text[], $4::text[]) AS x (n, v) \
                     ON CONFLICT DO NOTHING"
                        .to_owned(),
                    vec![p(tenant), p(id), p(names), p(values)],
                ));
            }
        }
        // The row itself is bound from its `GroupRow` by the caller.
        DumpRecord::Group(_) => {}
        DumpRecord::Member { tenant, group, user } => {
            push("INSERT INTO members (tenant_id, group_id, user_id) VALUES ($1, $2, $3)", vec![p(tenant.0), p(group.0), p(user.0)])
        }
        DumpRecord::BareName { tenant, user } => push("INSERT INTO bare_user_names (tenant_id, user_id) VALUES ($1, $2)", vec![p(tenant.0), p(user.0)]),
        DumpRecord::Change(c) => {
            let attrs = if c.attributes.is_empty() { None } else { Some(serde_json::to_string(&c.attributes).map_err(json_err)?) };
            push(
                "INSERT INTO changes (tenant_id, seq, at_ms, object_kind, object_id, op, member_id, attributes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                vec![
                    p(c.tenant_id.0),
                    p(c.seq as i64),
                    p(c.at.as_millisecond()),
                    p(rows::kind_code(c.object_kind)),
                    p(c.object_id.0),
                    p(i16::from(c.op.code())),
                    p(c.member_id.map(|m| m.0)),
                    p(attrs),
                ],
            );
        }
        DumpRecord::Token(t) => push(
            &format!("INSERT INTO api_tokens ({TOKEN_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
            vec![
                p(t.id.0),
                p(t.tenant_id.0),
                p(t.name),
                p(t.secret_hash.to_vec()),
                p(t.created_date_time.as_millisecond()),
                p(t.expires_date_time.map(|x| x.as_millisecond())),
                p(t.revoked_date_time.map(|x| x.as_millisecond())),
                p(t.role.as_str().to_owned()),
            ],
        ),
        DumpRecord::PartnerSettings { tenant, partner, settings } => push(
            "INSERT INTO partner_settings (tenant_id, partner_id, settings) VALUES ($1, $2, $3)",
            vec![p(tenant.0), p(partner.map_or(Uuid::nil(), |x| x.0)), p(settings)],
        ),
        DumpRecord::SyncConfiguration { id, source, target, created_ms, body } => push(
            "INSERT INTO sync_configurations (tenant_id, id, source_tenant_id, body, created_ms) VALUES ($1, $2, $3, $4, $5)",
            vec![p(target.0), p(id.0), p(source.0), p(body), p(created_ms)],
        ),
        DumpRecord::JobState { config, target, watermark, body } => push(
            "INSERT INTO job_states (tenant_id, config_id, watermark, body) VALUES ($1, $2, $3, $4)",
            vec![p(target.0), p(config.0), p(watermark), p(body)],
        ),
        DumpRecord::ProvisioningLog { target, log } => push(
            "INSERT INTO provisioning_logs (tenant_id, config_id, at_ms, status, source_id, target_id, action, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            vec![
                // A record whose configuration is gone keeps the nil tenant.
                p(target.map_or(Uuid::nil(), |t| t.0)),
                p(log.config_id.0),
                p(log.activity_date_time.as_millisecond()),
                p(status_code(log.status)),
                p(log.source_id.0),
                p(log.target_id.map(|t| t.0)),
                p(action_name(log.provisioning_action)?),
                p(serde_json::to_string(&log).map_err(json_err)?),
            ],
        ),
        DumpRecord::AuditRecord { tenant, at_ms, id, body } => {
            push("INSERT INTO audit_log (tenant_id, at_ms, id, body) VALUES ($1, $2, $3, $4)", vec![p(tenant.0), p(at_ms), p(id.0), p(body)])
        }
        DumpRecord::AdminObject { tenant, kind, id, created_ms, body } => push(
            "INSERT INTO admin_objects (tenant_id, kind, id, created_ms, body) VALUES ($1, $2, $3, $4, $5)",
            vec![p(tenant.0), p(kind), p(id.0), p(created_ms), p(body)],
        ),
        DumpRecord::AccessObject { tenant, kind, id, body } => {
            push("INSERT INTO access_objects (tenant_id, kind, id, body) VALUES ($1, $2, $3, $4)", vec![p(tenant.0), p(kind), p(id.0), p(body)])
        }
        DumpRecord::AccessRequest(r) => push(
            "INSERT INTO access_requests (tenant_id, id, version, requestor, package, open, due_ms, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            vec![p(r.tenant.0), p(r.id.0), p(r.version), p(r.requestor.map(|x| x.0)), p(r.package.0), p(r.open), p(r.due_ms), p(r.body)],
        ),
        DumpRecord::AccessAssignment(a) => push(
            "INSERT INTO access_assignments (tenant_id, id, version, target, package, policy, current, due_ms, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            vec![p(a.tenant.0), p(a.id.0), p(a.version), p(a.target.0), p(a.package.0), p(a.policy.0), p(a.current), p(a.due_ms), p(a.body)],
        ),
        DumpRecord::AccessGuest { tenant, user, delete_ms } => {
            push("INSERT INTO access_guests (tenant_id, user_id, delete_ms) VALUES ($1, $2, $3)", vec![p(tenant.0), p(user.0), p(delete_ms)])
        }
        DumpRecord::AccessOutbox { tenant, id, next_ms, body } => {
            push("INSERT INTO access_outbox (tenant_id, id, next_ms, body) VALUES ($1, $2, $3, $4)", vec![p(tenant.0), p(id.0), p(next_ms), p(body)])
        }
        DumpRecord::Connector { id, name, tenant, created_ms, body, state } => push(
            "INSERT INTO connectors (id, name, tenant_id, created_ms, body, state) VALUES ($1, $2, $3, $4, $5, $6)",
            vec![p(id.0), p(name), p(tenant.0), p(created_ms), p(body), p(state)],
        ),
        DumpRecord::ConnectorLink(l) => {
            let l = *l;
            push(
                "INSERT INTO connector_links (tenant_id, connector_id, object_id, kind, external_id, digest, exported, fault, retry_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                vec![p(l.tenant.0), p(l.connector.0), p(l.object.0), p(l.kind), p(l.external_id), p(l.digest), p(l.exported), p(l.fault), p(l.retry_ms)],
            )
        }
    }
    Ok(())
}

fn group_insert() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| format!("INSERT INTO groups ({GROUP_COLS}) VALUES ({})", rows::placeholders(13)));
    &SQL
}

fn user_insert() -> &'static str {
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("INSERT INTO users ({USER_COLS}) VALUES ({})", rows::placeholders(rows::USER_COL_COUNT)));
    &SQL
}

/// The parameters of one statement, borrowed.
fn bind(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
}

#[async_trait]
impl Restore for PgRestore {
    async fn push(&mut self, records: Vec<DumpRecord>) -> Result<()> {
        let mut planned = Vec::with_capacity(records.len());
        let (mut users, mut groups) = (Vec::new(), Vec::new());
        for record in records {
            match &record {
                DumpRecord::User(u) => users.push(UserRow::of(u)),
                DumpRecord::Group(g) => groups.push(GroupRow::of(g)),
                _ => {}
            }
            statements(record, &mut planned)?;
        }
        // Users and groups: their rows' own parameter lists.
        let mut calls = Vec::with_capacity(users.len() + groups.len());
        if !users.is_empty() {
            let stmt = self.statement(user_insert()).await?;
            calls.extend(users.iter().map(|u| (stmt.clone(), u.params())));
        }
        if !groups.is_empty() {
            let stmt = self.statement(group_insert()).await?;
            calls.extend(groups.iter().map(|g| (stmt.clone(), g.params())));
        }
        let mut prepared = Vec::with_capacity(planned.len());
        for (sql, params) in &planned {
            prepared.push((self.statement(sql).await?, bind(params)));
        }
        let client = &self.client;
        let all = calls.iter().chain(prepared.iter()).map(|(stmt, params)| client.execute(stmt, params));
        futures_util::future::try_join_all(all).await.map_err(pg_err)?;
        Ok(())
    }

    async fn tally(&mut self) -> Result<Tally> {
        crate::dump::tally(&self.client).await
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.client
            .batch_execute(
                "UPDATE tenants t SET \
                 live_users = (SELECT count(*) FROM users u WHERE u.tenant_id = t.tenant_id AND u.deleted_ms IS NULL), \
                 deleted_users = (SELECT count(*) FROM users u WHERE u.tenant_id = t.tenant_id AND u.deleted_ms IS NOT NULL), \
                 live_groups = (SELECT count(*) FROM groups g WHERE g.tenant_id = t.tenant_id AND g.deleted_ms IS NULL), \
                 deleted_groups = (SELECT count(*) FROM groups g WHERE g.tenant_id = t.tenant_id AND g.deleted_ms IS NOT NULL); \
                 DELETE FROM anchored_users; \
                 INSERT INTO anchored_users (tenant_id, anchor_tenant, live) \
                 SELECT tenant_id, anchor_tenant, count(*) FROM users WHERE anchor_tenant IS NOT NULL AND deleted_ms IS NULL GROUP BY tenant_id, anchor_tenant; \
                 COMMIT",
            )
            .await
            .map_err(pg_err)
    }
}
