//! The store's content as [`DumpRecord`]s, a page at a time in each table's key order
//! (`tenantsync migrate`'s source side); the restore is `restore.rs`.
use crate::rows::{self, GROUP_COLS, USER_COLS, corrupt};
use crate::{SqliteStore, logblock, logcodec};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, Row};
use tenantsync_domain::{ObjectId, SyncConfigId, TenantId};
use tenantsync_store::{
    AccessAssignmentRow, AccessRequestRow, ConnectorLinkRow, DumpCursor, DumpKey, DumpPage, DumpRecord, DumpStore, DumpTable, ProvisioningLog,
    ProvisioningStatus, Restore, Result, Tally,
};

/// How one table is read: the columns (its key columns last), the table expression, the
/// key columns in order, and the mapping of a row.
struct Spec {
    cols: &'static str,
    from: &'static str,
    keys: &'static [&'static str],
    map: fn(&Row<'_>) -> rusqlite::Result<DumpRecord>,
}

fn tenant_id(row: &Row<'_>, i: usize) -> rusqlite::Result<TenantId> {
    Ok(TenantId::from_bytes(row.get(i)?))
}

fn object_id(row: &Row<'_>, i: usize) -> rusqlite::Result<ObjectId> {
    Ok(ObjectId::from_bytes(row.get(i)?))
}

fn spec(table: DumpTable) -> Spec {
    match table {
        DumpTable::Tenants => Spec {
            cols: "id, display_name, initial_domain, created_ms, retention_days, change_head",
            from: "tenants",
            keys: &["id"],
            map: |r| Ok(DumpRecord::Tenant { tenant: rows::tenant(r)?, change_head: r.get::<_, i64>(5)? as u64 }),
        },
        DumpTable::Users => Spec { cols: USER_COLS, from: "users", keys: &["tenant_id", "id"], map: |r| Ok(DumpRecord::User(Box::new(rows::user(r)?))) },
        DumpTable::Groups => Spec { cols: GROUP_COLS, from: "groups", keys: &["tenant_id", "id"], map: |r| Ok(DumpRecord::Group(Box::new(rows::group(r)?))) },
        DumpTable::Members => Spec {
            cols: "tenant_id, group_id, user_id",
            from: "members",
            keys: &["tenant_id", "group_id", "user_id"],
            map: |r| Ok(DumpRecord::Member { tenant: tenant_id(r, 0)?, group: object_id(r, 1)?, user: object_id(r, 2)? }),
        },
        DumpTable::BareNames => Spec {
            cols: "tenant_id, user_id",
            from: "bare_user_names",
            keys: &["tenant_id", "user_id"],
            map: |r| Ok(DumpRecord::BareName { tenant: tenant_id(r, 0)?, user: object_id(r, 1)? }),
        },
        DumpTable::Changes => Spec {
            cols: "seq, at_ms, object_kind, object_id, op, member_id, attributes, tenant_id",
            from: "changes",
            keys: &["tenant_id", "seq"],
            map: |r| Ok(DumpRecord::Change(Box::new(rows::change(tenant_id(r, 7)?, r)?))),
        },
        DumpTable::Tokens => {
            Spec { cols: crate::TOKEN_COLS, from: "api_tokens", keys: &["id"], map: |r| Ok(DumpRecord::Token(Box::new(crate::token_row(r)?))) }
        }
        DumpTable::PartnerSettings => Spec {
            cols: "tenant_id, partner_id, settings",
            from: "partner_settings",
            keys: &["tenant_id", "partner_id"],
            map: |r| {
                let partner = tenant_id(r, 1)?;
                Ok(DumpRecord::PartnerSettings { tenant: tenant_id(r, 0)?, partner: (partner.0 != uuid_nil()).then_some(partner), settings: r.get(2)? })
            },
        },
        DumpTable::SyncConfigurations => Spec {
            cols: "id, source_tenant_id, target_tenant_id, created_ms, body",
            from: "sync_configurations",
            keys: &["id"],
            map: |r| {
                Ok(DumpRecord::SyncConfiguration {
                    id: SyncConfigId::from_bytes(r.get(0)?),
                    source: tenant_id(r, 1)?,
                    target: tenant_id(r, 2)?,
                    created_ms: r.get(3)?,
                    body: r.get(4)?,
                })
            },
        },
        DumpTable::JobStates => Spec {
            cols: "j.config_id, c.target_tenant_id, j.watermark, j.body",
            from: "job_states j JOIN sync_configurations c ON c.id = j.config_id",
            keys: &["j.config_id"],
            map: |r| Ok(DumpRecord::JobState { config: SyncConfigId::from_bytes(r.get(0)?), target: tenant_id(r, 1)?, watermark: r.get(2)?, body: r.get(3)? }),
        },
        // Read by `logs` below: two tables, and blocks of records.
        DumpTable::ProvisioningLogs => Spec { cols: "", from: "", keys: &[], map: |_| Err(corrupt("log spec")) },
        DumpTable::AuditRecords => Spec {
            cols: "tenant_id, at_ms, id, body",
            from: "audit_log",
            keys: &["tenant_id", "at_ms", "id"],
            map: |r| Ok(DumpRecord::AuditRecord { tenant: tenant_id(r, 0)?, at_ms: r.get(1)?, id: object_id(r, 2)?, body: r.get(3)? }),
        },
        DumpTable::AdminObjects => Spec {
            cols: "tenant_id, kind, id, created_ms, body",
            from: "admin_objects",
            keys: &["tenant_id", "kind", "id"],
            map: |r| Ok(DumpRecord::AdminObject { tenant: tenant_id(r, 0)?, kind: r.get(1)?, id: object_id(r, 2)?, created_ms: r.get(3)?, body: r.get(4)? }),
        },
        DumpTable::AccessObjects => Spec {
            cols: "tenant_id, kind, id, body",
            from: "access_objects",
            keys: &["tenant_id", "kind", "id"],
            map: |r| Ok(DumpRecord::AccessObject { tenant: tenant_id(r, 0)?, kind: r.get(1)?, id: object_id(r, 2)?, body: r.get(3)? }),
        },
        DumpTable::AccessRequests => Spec {
            cols: "tenant_id, id, version, requestor, package, open, due_ms, body",
            from: "access_requests",
            keys: &["tenant_id", "id"],
            map: |r| {
                Ok(DumpRecord::AccessRequest(AccessRequestRow {
                    tenant: tenant_id(r, 0)?,
                    id: object_id(r, 1)?,
                    version: r.get(2)?,
                    requestor: r.get::<_, Option<[u8; 16]>>(3)?.map(ObjectId::from_bytes),
                    package: object_id(r, 4)?,
                    open: r.get(5)?,
                    due_ms: r.get(6)?,
                    body: r.get(7)?,
                }))
            },
        },
        DumpTable::AccessAssignments => Spec {
            cols: "tenant_id, id, version, target, package, policy, current, due_ms, body",
            from: "access_assignments",
            keys: &["tenant_id", "id"],
            map: |r| {
                Ok(DumpRecord::AccessAssignment(AccessAssignmentRow {
                    tenant: tenant_id(r, 0)?,
                    id: object_id(r, 1)?,
                    version: r.get(2)?,
                    target: object_id(r, 3)?,
                    package: object_id(r, 4)?,
                    policy: object_id(r, 5)?,
                    current: r.get(6)?,
                    due_ms: r.get(7)?,
                    body: r.get(8)?,
                }))
            },
        },
        DumpTable::AccessGuests => Spec {
            cols: "tenant_id, user_id, delete_ms",
            from: "access_guests",
            keys: &["tenant_id", "user_id"],
            map: |r| Ok(DumpRecord::AccessGuest { tenant: tenant_id(r, 0)?, user: object_id(r, 1)?, delete_ms: r.get(2)? }),
        },
        DumpTable::AccessOutbox => Spec {
            cols: "tenant_id, id, next_ms, body",
            from: "access_outbox",
            keys: &["tenant_id", "id"],
            map: |r| Ok(DumpRecord::AccessOutbox { tenant: tenant_id(r, 0)?, id: object_id(r, 1)?, next_ms: r.get(2)?, body: r.get(3)? }),
        },
        DumpTable::Connectors => Spec {
            cols: "id, name, tenant_id, created_ms, body, state",
            from: "connectors",
            keys: &["id"],
            map: |r| {
                Ok(DumpRecord::Connector {
                    id: object_id(r, 0)?,
                    name: r.get(1)?,
                    tenant: tenant_id(r, 2)?,
                    created_ms: r.get(3)?,
                    body: r.get(4)?,
                    state: r.get(5)?,
                })
            },
        },
        DumpTable::ConnectorLinks => Spec {
            // The tenant is the connector's (PostgreSQL keeps it in the link).
            cols: "(SELECT tenant_id FROM connectors WHERE id = connector_id), object_id, kind, external_id, digest, exported, fault, retry_ms",
            from: "connector_links",
            keys: &["connector_id", "object_id"],
            map: |r| {
                Ok(DumpRecord::ConnectorLink(Box::new(ConnectorLinkRow {
                    tenant: tenant_id(r, 0)?,
                    connector: object_id(r, 8)?,
                    object: object_id(r, 1)?,
                    kind: r.get(2)?,
                    external_id: r.get(3)?,
                    digest: r.get(4)?,
                    exported: r.get(5)?,
                    fault: r.get(6)?,
                    retry_ms: r.get(7)?,
                })))
            },
        },
    }
}

fn uuid_nil() -> tenantsync_domain::__private::Uuid {
    tenantsync_domain::__private::Uuid::nil()
}

fn key_value(k: &DumpKey) -> Value {
    match k {
        DumpKey::Id(b) => Value::Blob(b.to_vec()),
        DumpKey::Int(i) => Value::Integer(*i),
        DumpKey::Text(t) => Value::Text(t.clone()),
    }
}

fn key_of(v: ValueRef<'_>) -> rusqlite::Result<DumpKey> {
    Ok(match v {
        ValueRef::Blob(b) => DumpKey::Id(b.try_into().map_err(|_| corrupt("key"))?),
        ValueRef::Integer(i) => DumpKey::Int(i),
        ValueRef::Text(t) => DumpKey::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Null | ValueRef::Real(_) => return Err(corrupt("key")),
    })
}

/// One page of a plain table.
fn page(c: &Connection, spec: &Spec, after: Option<&DumpCursor>, limit: u32) -> rusqlite::Result<DumpPage> {
    let keys = spec.keys.join(", ");
    let mut params: Vec<Value> = Vec::new();
    let mut sql = format!("SELECT {}, {keys} FROM {}", spec.cols, spec.from);
    if let Some(after) = after {
        if after.0.len() != spec.keys.len() {
            return Err(corrupt("dump cursor"));
        }
        let marks: Vec<String> = (1..=after.0.len()).map(|i| format!("?{i}")).collect();
        sql.push_str(&format!(" WHERE ({keys}) > ({})", marks.join(", ")));
        params.extend(after.0.iter().map(key_value));
    }
    params.push(Value::Integer(i64::from(limit)));
    sql.push_str(&format!(" ORDER BY {keys} LIMIT ?{}", params.len()));
    let mut stmt = c.prepare_cached(&sql)?;
    let width = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut records = Vec::new();
    let mut last = None;
    while let Some(r) = rows.next()? {
        records.push((spec.map)(r)?);
        last = Some((width - spec.keys.len()..width).map(|i| r.get_ref(i).and_then(key_of)).collect::<rusqlite::Result<Vec<_>>>()?);
    }
    let full = records.len() as u64 >= u64::from(limit);
    Ok(DumpPage { records, next: last.filter(|_| full).map(DumpCursor) })
}

/// Provisioning logs: the rows of the first forms (`provisioning_logs`, phase 0), then the
/// blocks (phase 1), each with the target tenant of its configuration if it still exists.
fn logs(c: &Connection, after: Option<&DumpCursor>, limit: u32) -> rusqlite::Result<DumpPage> {
    let (phase, from) = match after.map(|a| a.0.as_slice()) {
        None => (0, i64::MIN),
        Some([DumpKey::Int(p), DumpKey::Int(id)]) => (*p, *id),
        Some(_) => return Err(corrupt("dump cursor")),
    };
    let mut records = Vec::new();
    let target = |r: &Row<'_>, i: usize| -> rusqlite::Result<Option<TenantId>> { Ok(r.get::<_, Option<[u8; 16]>>(i)?.map(TenantId::from_bytes)) };
    if phase == 0 {
        let mut stmt = c.prepare_cached(
            "SELECT l.id, l.body, l.config_id, l.status, l.source_id, l.target_id, c.target_tenant_id FROM provisioning_logs l \
             LEFT JOIN sync_configurations c ON c.id = l.config_id WHERE l.id > ?1 ORDER BY l.id LIMIT ?2",
        )?;
        let mut rows = stmt.query(rusqlite::params![from, i64::from(limit)])?;
        let mut last = from;
        while let Some(r) = rows.next()? {
            last = r.get(0)?;
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
            records.push(DumpRecord::ProvisioningLog { target: target(r, 6)?, log: Box::new(log) });
        }
        if records.len() as u64 >= u64::from(limit) {
            return Ok(DumpPage { records, next: Some(DumpCursor(vec![DumpKey::Int(0), DumpKey::Int(last)])) });
        }
    }
    let from = if phase == 0 { i64::MIN } else { from };
    let blocks = u64::from(limit).div_ceil(logblock::BLOCK_RECORDS as u64).max(1) as i64;
    let mut stmt = c.prepare_cached(
        "SELECT b.id, b.config_id, b.body, c.target_tenant_id FROM provisioning_log_blocks b \
         LEFT JOIN sync_configurations c ON c.id = b.config_id WHERE b.id > ?1 ORDER BY b.id LIMIT ?2",
    )?;
    let mut rows = stmt.query(rusqlite::params![from, blocks])?;
    let (mut last, mut read) = (from, 0);
    while let Some(r) = rows.next()? {
        last = r.get(0)?;
        read += 1;
        let config = SyncConfigId::from_bytes(r.get(1)?);
        let decoded: Vec<ProvisioningLog> = logblock::decode(r.get_ref(2)?.as_blob()?, config).map_err(|_| corrupt("provisioning log block"))?;
        let t = target(r, 3)?;
        records.extend(decoded.into_iter().map(|log| DumpRecord::ProvisioningLog { target: t, log: Box::new(log) }));
    }
    let next = (read >= blocks).then(|| DumpCursor(vec![DumpKey::Int(1), DumpKey::Int(last)]));
    Ok(DumpPage { records, next })
}

/// Rows of each table (records for provisioning logs) and each tenant's change head.
pub(crate) fn tally(c: &Connection) -> rusqlite::Result<Tally> {
    let mut t = Tally::default();
    for table in DumpTable::ALL {
        let n: i64 = match table {
            DumpTable::ProvisioningLogs => {
                c.query_row("SELECT (SELECT count(*) FROM provisioning_logs) + (SELECT coalesce(sum(records), 0) FROM provisioning_log_blocks)", [], |r| {
                    r.get(0)
                })?
            }
            _ => c.query_row(&format!("SELECT count(*) FROM {}", table_name(table)), [], |r| r.get(0))?,
        };
        t.tables.insert(table, n as u64);
    }
    let mut stmt = c.prepare("SELECT id, change_head FROM tenants")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        t.heads.insert(TenantId::from_bytes(r.get(0)?), r.get::<_, i64>(1)? as u64);
    }
    Ok(t)
}

/// The table a kind of record is stored in (provisioning logs: their blocks).
fn table_name(table: DumpTable) -> &'static str {
    match table {
        DumpTable::Tenants => "tenants",
        DumpTable::Users => "users",
        DumpTable::Groups => "groups",
        DumpTable::Members => "members",
        DumpTable::BareNames => "bare_user_names",
        DumpTable::Changes => "changes",
        DumpTable::Tokens => "api_tokens",
        DumpTable::PartnerSettings => "partner_settings",
        DumpTable::SyncConfigurations => "sync_configurations",
        DumpTable::JobStates => "job_states",
        DumpTable::ProvisioningLogs => "provisioning_log_blocks",
        DumpTable::AuditRecords => "audit_log",
        DumpTable::AdminObjects => "admin_objects",
        DumpTable::AccessObjects => "access_objects",
        DumpTable::AccessRequests => "access_requests",
        DumpTable::AccessAssignments => "access_assignments",
        DumpTable::AccessGuests => "access_guests",
        DumpTable::AccessOutbox => "access_outbox",
        DumpTable::Connectors => "connectors",
        DumpTable::ConnectorLinks => "connector_links",
    }
}

#[async_trait::async_trait]
impl DumpStore for SqliteStore {
    async fn dump_page(&self, table: DumpTable, after: Option<&DumpCursor>, limit: u32) -> Result<DumpPage> {
        self.dump(table, after, limit)
    }

    async fn tally(&self) -> Result<Tally> {
        self.read(tally)
    }

    async fn restore(&self) -> Result<Box<dyn Restore>> {
        Ok(Box::new(crate::restore::start(self)?))
    }
}

impl SqliteStore {
    fn dump(&self, table: DumpTable, after: Option<&DumpCursor>, limit: u32) -> Result<DumpPage> {
        let limit = limit.max(1);
        self.read(|c| match table {
            DumpTable::ProvisioningLogs => logs(c, after, limit),
            _ => page(c, &spec(table), after, limit),
        })
    }
}
