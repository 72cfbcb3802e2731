//! The store's content as [`DumpRecord`]s, a page at a time in each table's key order
//! (`tenantsync migrate`'s source side); the restore is `restore.rs`.
use crate::PgStore;
use crate::rows::{self, GROUP_COLS, TOKEN_COLS, USER_COLS, corrupt};
use async_trait::async_trait;
use tenantsync_domain::{ObjectId, SyncConfigId, TenantId};
use tenantsync_store::{
    AccessAssignmentRow, AccessRequestRow, ConnectorLinkRow, DumpCursor, DumpKey, DumpPage, DumpRecord, DumpStore, DumpTable, Restore, Result, StoreError,
    Tally,
};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

/// The type of a key column.
#[derive(Clone, Copy)]
enum Key {
    Id,
    Int,
    Text,
}

/// How one table is read: the columns (its key columns last), the table, the key columns
/// and their types, and the mapping of a row.
struct Spec {
    cols: &'static str,
    table: &'static str,
    keys: &'static [(&'static str, Key)],
    map: fn(&Row) -> Result<DumpRecord>,
}

const TENANT_KEY: &[(&str, Key)] = &[("tenant_id", Key::Id), ("id", Key::Id)];

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(|e| StoreError::Internal { message: format!("reading a row: {e}") })
}

fn tid(row: &Row, i: usize) -> Result<TenantId> {
    Ok(TenantId(get(row, i)?))
}

fn oid(row: &Row, i: usize) -> Result<ObjectId> {
    Ok(ObjectId(get(row, i)?))
}

fn spec(table: DumpTable) -> Spec {
    match table {
        DumpTable::Tenants => Spec {
            cols: const_str::TENANTS,
            table: "tenants",
            keys: &[("tenant_id", Key::Id)],
            map: |r| Ok(DumpRecord::Tenant { tenant: rows::tenant(r)?, change_head: get::<i64>(r, 5)? as u64 }),
        },
        DumpTable::Users => Spec { cols: USER_COLS, table: "users", keys: TENANT_KEY, map: |r| Ok(DumpRecord::User(Box::new(rows::user(r)?))) },
        DumpTable::Groups => Spec { cols: GROUP_COLS, table: "groups", keys: TENANT_KEY, map: |r| Ok(DumpRecord::Group(Box::new(rows::group(r)?))) },
        DumpTable::Members => Spec {
            cols: "tenant_id, group_id, user_id",
            table: "members",
            keys: &[("tenant_id", Key::Id), ("group_id", Key::Id), ("user_id", Key::Id)],
            map: |r| Ok(DumpRecord::Member { tenant: tid(r, 0)?, group: oid(r, 1)?, user: oid(r, 2)? }),
        },
        DumpTable::BareNames => Spec {
            cols: "tenant_id, user_id",
            table: "bare_user_names",
            keys: &[("tenant_id", Key::Id), ("user_id", Key::Id)],
            map: |r| Ok(DumpRecord::BareName { tenant: tid(r, 0)?, user: oid(r, 1)? }),
        },
        DumpTable::Changes => Spec {
            cols: const_str::CHANGES,
            table: "changes",
            keys: &[("tenant_id", Key::Id), ("seq", Key::Int)],
            map: |r| Ok(DumpRecord::Change(Box::new(rows::change(tid(r, 7)?, r)?))),
        },
        DumpTable::Tokens => Spec { cols: TOKEN_COLS, table: "api_tokens", keys: TENANT_KEY, map: |r| Ok(DumpRecord::Token(Box::new(rows::token(r)?))) },
        DumpTable::PartnerSettings => Spec {
            cols: "tenant_id, partner_id, settings",
            table: "partner_settings",
            keys: &[("tenant_id", Key::Id), ("partner_id", Key::Id)],
            map: |r| {
                let partner: Uuid = get(r, 1)?;
                Ok(DumpRecord::PartnerSettings { tenant: tid(r, 0)?, partner: (!partner.is_nil()).then_some(TenantId(partner)), settings: get(r, 2)? })
            },
        },
        DumpTable::SyncConfigurations => Spec {
            cols: "id, source_tenant_id, tenant_id, created_ms, body",
            table: "sync_configurations",
            keys: TENANT_KEY,
            map: |r| {
                Ok(DumpRecord::SyncConfiguration {
                    id: SyncConfigId(get(r, 0)?),
                    source: tid(r, 1)?,
                    target: tid(r, 2)?,
                    created_ms: get(r, 3)?,
                    body: get(r, 4)?,
                })
            },
        },
        DumpTable::JobStates => Spec {
            cols: "config_id, tenant_id, watermark, body",
            table: "job_states",
            keys: &[("tenant_id", Key::Id), ("config_id", Key::Id)],
            map: |r| Ok(DumpRecord::JobState { config: SyncConfigId(get(r, 0)?), target: tid(r, 1)?, watermark: get(r, 2)?, body: get(r, 3)? }),
        },
        DumpTable::ProvisioningLogs => Spec {
            cols: "tenant_id, body",
            table: "provisioning_logs",
            keys: &[("tenant_id", Key::Id), ("id", Key::Int)],
            map: |r| {
                let target: Uuid = get(r, 0)?;
                let mut log: tenantsync_store::ProvisioningLog = serde_json::from_str(&get::<String>(r, 1)?).map_err(|_| corrupt("provisioning log"))?;
                log.expand_steps();
                Ok(DumpRecord::ProvisioningLog { target: (!target.is_nil()).then_some(TenantId(target)), log: Box::new(log) })
            },
        },
        DumpTable::AuditRecords => Spec {
            cols: "tenant_id, at_ms, id, body",
            table: "audit_log",
            keys: &[("tenant_id", Key::Id), ("at_ms", Key::Int), ("id", Key::Id)],
            map: |r| Ok(DumpRecord::AuditRecord { tenant: tid(r, 0)?, at_ms: get(r, 1)?, id: oid(r, 2)?, body: get(r, 3)? }),
        },
        DumpTable::AdminObjects => Spec {
            cols: "tenant_id, kind, id, created_ms, body",
            table: "admin_objects",
            keys: &[("tenant_id", Key::Id), ("kind", Key::Text), ("id", Key::Id)],
            map: |r| Ok(DumpRecord::AdminObject { tenant: tid(r, 0)?, kind: get(r, 1)?, id: oid(r, 2)?, created_ms: get(r, 3)?, body: get(r, 4)? }),
        },
        DumpTable::AccessObjects => Spec {
            cols: "tenant_id, kind, id, body",
            table: "access_objects",
            keys: &[("tenant_id", Key::Id), ("kind", Key::Text), ("id", Key::Id)],
            map: |r| Ok(DumpRecord::AccessObject { tenant: tid(r, 0)?, kind: get(r, 1)?, id: oid(r, 2)?, body: get(r, 3)? }),
        },
        DumpTable::AccessRequests => Spec {
            cols: "tenant_id, id, version, requestor, package, open, due_ms, body",
            table: "access_requests",
            keys: TENANT_KEY,
            map: |r| {
                Ok(DumpRecord::AccessRequest(AccessRequestRow {
                    tenant: tid(r, 0)?,
                    id: oid(r, 1)?,
                    version: get(r, 2)?,
                    requestor: get::<Option<Uuid>>(r, 3)?.map(ObjectId),
                    package: oid(r, 4)?,
                    open: get(r, 5)?,
                    due_ms: get(r, 6)?,
                    body: get(r, 7)?,
                }))
            },
        },
        DumpTable::AccessAssignments => Spec {
            cols: "tenant_id, id, version, target, package, policy, current, due_ms, body",
            table: "access_assignments",
            keys: TENANT_KEY,
            map: |r| {
                Ok(DumpRecord::AccessAssignment(AccessAssignmentRow {
                    tenant: tid(r, 0)?,
                    id: oid(r, 1)?,
                    version: get(r, 2)?,
                    target: oid(r, 3)?,
                    package: oid(r, 4)?,
                    policy: oid(r, 5)?,
                    current: get(r, 6)?,
                    due_ms: get(r, 7)?,
                    body: get(r, 8)?,
                }))
            },
        },
        DumpTable::AccessGuests => Spec {
            cols: "tenant_id, user_id, delete_ms",
            table: "access_guests",
            keys: &[("tenant_id", Key::Id), ("user_id", Key::Id)],
            map: |r| Ok(DumpRecord::AccessGuest { tenant: tid(r, 0)?, user: oid(r, 1)?, delete_ms: get(r, 2)? }),
        },
        DumpTable::AccessOutbox => Spec {
            cols: "tenant_id, id, next_ms, body",
            table: "access_outbox",
            keys: TENANT_KEY,
            map: |r| Ok(DumpRecord::AccessOutbox { tenant: tid(r, 0)?, id: oid(r, 1)?, next_ms: get(r, 2)?, body: get(r, 3)? }),
        },
        DumpTable::Connectors => Spec {
            cols: "name, tenant_id, created_ms, body, state, id",
            table: "connectors",
            keys: &[("id", Key::Id)],
            map: |r| {
                Ok(DumpRecord::Connector { id: oid(r, 5)?, name: get(r, 0)?, tenant: tid(r, 1)?, created_ms: get(r, 2)?, body: get(r, 3)?, state: get(r, 4)? })
            },
        },
        DumpTable::ConnectorLinks => Spec {
            cols: "kind, external_id, digest, exported, fault, retry_ms, tenant_id, connector_id, object_id",
            table: "connector_links",
            keys: &[("tenant_id", Key::Id), ("connector_id", Key::Id), ("object_id", Key::Id)],
            map: |r| {
                Ok(DumpRecord::ConnectorLink(Box::new(ConnectorLinkRow {
                    tenant: tid(r, 6)?,
                    connector: oid(r, 7)?,
                    object: oid(r, 8)?,
                    kind: get(r, 0)?,
                    external_id: get(r, 1)?,
                    digest: get(r, 2)?,
                    exported: get(r, 3)?,
                    fault: get(r, 4)?,
                    retry_ms: get(r, 5)?,
                })))
            },
        },
    }
}

/// Column lists that extend a shared one.
mod const_str {
    pub const TENANTS: &str = "tenant_id, display_name, initial_domain, created_ms, retention_days, change_head";
    pub const CHANGES: &str = "seq, at_ms, object_kind, object_id, op, member_id, attributes, tenant_id";
}

/// A key part as a statement parameter, checked against the column's type.
fn param(kind: Key, k: &DumpKey) -> Result<Box<dyn ToSql + Sync + Send>> {
    Ok(match (kind, k) {
        (Key::Id, DumpKey::Id(b)) => Box::new(Uuid::from_bytes(*b)),
        (Key::Int, DumpKey::Int(i)) => Box::new(*i),
        (Key::Text, DumpKey::Text(t)) => Box::new(t.clone()),
        _ => return Err(corrupt("dump cursor")),
    })
}

fn key_of(row: &Row, i: usize, kind: Key) -> Result<DumpKey> {
    Ok(match kind {
        Key::Id => DumpKey::Id(*get::<Uuid>(row, i)?.as_bytes()),
        Key::Int => DumpKey::Int(get(row, i)?),
        Key::Text => DumpKey::Text(get(row, i)?),
    })
}

impl PgStore {
    async fn dump(&self, table: DumpTable, after: Option<&DumpCursor>, limit: u32) -> Result<DumpPage> {
        let spec = spec(table);
        let limit = i64::from(limit.max(1));
        let keys: Vec<&str> = spec.keys.iter().map(|(name, _)| *name).collect();
        let keys = keys.join(", ");
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        let mut sql = format!("SELECT {}, {keys} FROM {}", spec.cols, spec.table);
        if let Some(after) = after {
            if after.0.len() != spec.keys.len() {
                return Err(corrupt("dump cursor"));
            }
            for ((_, kind), k) in spec.keys.iter().zip(&after.0) {
                params.push(param(*kind, k)?);
            }
            let marks: Vec<String> = (1..=params.len()).map(|i| format!("${i}")).collect();
            sql.push_str(&format!(" WHERE ({keys}) > ({})", marks.join(", ")));
        }
        params.push(Box::new(limit));
        sql.push_str(&format!(" ORDER BY {keys} LIMIT ${}", params.len()));
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
        let found = self.query(&sql, &refs).await?;
        let mut records = Vec::with_capacity(found.len());
        for r in &found {
            records.push((spec.map)(r)?);
        }
        let next = match found.last() {
            Some(r) if found.len() as i64 >= limit => {
                let first = r.len() - spec.keys.len();
                Some(DumpCursor(spec.keys.iter().enumerate().map(|(i, (_, kind))| key_of(r, first + i, *kind)).collect::<Result<_>>()?))
            }
            _ => None,
        };
        Ok(DumpPage { records, next })
    }
}

/// Rows of each table and each tenant's change head, as `client` sees them.
pub(crate) async fn tally(client: &tokio_postgres::Client) -> Result<Tally> {
    let mut t = Tally::default();
    for table in DumpTable::ALL {
        let n: i64 = client.query_one(&format!("SELECT count(*) FROM {}", spec(table).table), &[]).await.map_err(crate::schema::pg_err)?.get(0);
        t.tables.insert(table, n as u64);
    }
    for r in client.query("SELECT tenant_id, change_head FROM tenants", &[]).await.map_err(crate::schema::pg_err)? {
        t.heads.insert(tid(&r, 0)?, get::<i64>(&r, 1)? as u64);
    }
    Ok(t)
}

#[async_trait]
impl DumpStore for PgStore {
    async fn dump_page(&self, table: DumpTable, after: Option<&DumpCursor>, limit: u32) -> Result<DumpPage> {
        self.dump(table, after, limit).await
    }

    async fn tally(&self) -> Result<Tally> {
        let client = self.client().await?;
        tally(&client).await
    }

    async fn restore(&self) -> Result<Box<dyn Restore>> {
        Ok(Box::new(crate::restore::PgRestore::begin(&self.inner.config, &self.inner.url).await?))
    }
}
