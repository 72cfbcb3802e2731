//! The `Store` implementation: reads on pooled connections, writes through `write::Tx`.
use crate::query::{self, Table};
use crate::rows::{self, CHANGE_COLS, GROUP_COLS, TENANT_COLS, TOKEN_COLS, USER_COLS};
use crate::schema::{pg_err, unique_violation};
use crate::{PgStore, counts};
use async_trait::async_trait;
use jiff::Timestamp;
use std::sync::Arc;
use tenantsync_domain::{Anchor, ChangeCursor, Clock, DomainName, Group, Mail, NewTenant, ObjectId, ObjectKind, Tenant, TenantId, Upn, User};
use tenantsync_store::{
    ApiToken, BatchMode, BulkOptions, BulkUserImport, ChangePage, CommitNotice, Keyset, ListQuery, NewApiToken, ObjectQuery, Page, QueryPage, Result,
    SearchPage, Seek, Store, StoreError, UserGroup, UserSearch, Visibility, WriteOp, WriteOutcome,
};
use tokio::sync::broadcast;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

/// Objects that list a page at a time.
trait Listed: Sized {
    const TABLE: Table;
    const COLS: &'static str;
    fn map(row: &Row) -> Result<Self>;
    fn id(&self) -> ObjectId;
}

impl Listed for User {
    const TABLE: Table = Table::Users;
    const COLS: &'static str = USER_COLS;
    fn map(row: &Row) -> Result<Self> {
        rows::user(row)
    }
    fn id(&self) -> ObjectId {
        self.id
    }
}

impl Listed for Group {
    const TABLE: Table = Table::Groups;
    const COLS: &'static str = GROUP_COLS;
    fn map(row: &Row) -> Result<Self> {
        rows::group(row)
    }
    fn id(&self) -> ObjectId {
        self.id
    }
}

fn map_rows<T>(rows: &[Row], f: impl Fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}

impl PgStore {
    /// Rows that are only checked against an unknown tenant when there are none.
    pub(crate) async fn query_in(&self, tenant: TenantId, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let rows = self.query(sql, params).await?;
        if rows.is_empty() {
            self.check_tenant(tenant).await?;
        }
        Ok(rows)
    }

    async fn count(&self, tenant: TenantId, kind: ObjectKind, visibility: Visibility) -> Result<u64> {
        let sql = format!("SELECT ({})::bigint FROM tenants WHERE tenant_id = $1", counts::column(kind, visibility));
        let rows = self.query(&sql, &[&tenant.0]).await?;
        let row = rows.first().ok_or_else(|| StoreError::TenantNotFound { tenant: tenant.to_string() })?;
        Ok(u64::try_from(rows::first::<i64>(row)?).unwrap_or(0))
    }

    async fn list<T: Listed>(&self, tenant: TenantId, extra: &str, query: &ListQuery, group: Option<ObjectId>) -> Result<Page<T>> {
        let vis = match query.visibility {
            Visibility::Active => "AND deleted_ms IS NULL",
            Visibility::Deleted => "AND deleted_ms IS NOT NULL",
            Visibility::All => "",
        };
        let after = query.after.map_or(Uuid::nil(), |a| a.0);
        let limit = i64::from(query.limit.max(1));
        let sql = format!("SELECT {} FROM {} WHERE tenant_id = $1 AND id > $2 {vis} {extra} ORDER BY id LIMIT $3", T::COLS, T::TABLE.name());
        let group = group.map(|g| g.0);
        let rows = match &group {
            Some(g) => self.query_in(tenant, &sql, &[&tenant.0, &after, &(limit + 1), g]).await?,
            None => self.query_in(tenant, &sql, &[&tenant.0, &after, &(limit + 1)]).await?,
        };
        let mut items = map_rows(&rows, T::map)?;
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(T::id)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// An [`ObjectQuery`] on one tenant's live objects: the page and the total, read in
    /// one repeatable-read transaction so they agree; or a keyset page.
    async fn run_query<T: Listed>(&self, tenant: TenantId, q: &ObjectQuery) -> Result<QueryPage<T>> {
        if let Some(seek) = &q.seek {
            return self.seek::<T>(tenant, q, seek).await;
        }
        let st = query::statements(T::TABLE, T::COLS, q.filter.as_ref(), q.sort.as_ref())?;
        let limit = i64::from(q.limit);
        let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
        let mut client = self.client().await?;
        let tx = client.build_transaction().isolation_level(tokio_postgres::IsolationLevel::RepeatableRead).read_only(true).start().await.map_err(pg_err)?;
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&tenant.0];
        params.extend(st.params.refs());
        let items = if limit == 0 {
            Vec::new()
        } else {
            let mut with_page = params.clone();
            with_page.push(&limit);
            with_page.push(&offset);
            let stmt = tx.prepare_cached(&st.select).await.map_err(pg_err)?;
            map_rows(&tx.query(&stmt, &with_page).await.map_err(pg_err)?, T::map)?
        };
        // A first page that is not full holds every match: no count needed.
        let total = if offset == 0 && (items.len() as i64) < limit {
            if items.is_empty() && !self.tenant_exists(tenant).await? {
                return Err(StoreError::TenantNotFound { tenant: tenant.to_string() });
            }
            items.len() as u64
        } else {
            let (sql, params): (String, Vec<&(dyn ToSql + Sync)>) = match &st.count {
                Some(count) => (count.clone(), params),
                None => {
                    let kind = if T::TABLE == Table::Users { ObjectKind::User } else { ObjectKind::Group };
                    (format!("SELECT ({})::bigint FROM tenants WHERE tenant_id = $1", counts::column(kind, Visibility::Active)), vec![&tenant.0])
                }
            };
            let stmt = tx.prepare_cached(&sql).await.map_err(pg_err)?;
            let rows = tx.query(&stmt, &params).await.map_err(pg_err)?;
            match rows.first() {
                Some(r) => u64::try_from(rows::first::<i64>(r)?).unwrap_or(0),
                None => return Err(StoreError::TenantNotFound { tenant: tenant.to_string() }),
            }
        };
        tx.commit().await.map_err(pg_err)?;
        if total == 0 {
            self.check_tenant(tenant).await?;
        }
        Ok(QueryPage { items, total: Some(total), next: None, previous: None })
    }

    /// A keyset page: `limit + 1` rows from the position, to learn whether more follow.
    async fn seek<T: Listed>(&self, tenant: TenantId, q: &ObjectQuery, seek: &Seek) -> Result<QueryPage<T>> {
        let (select, params) = query::seek_statement(T::TABLE, T::COLS, q.filter.as_ref(), q.sort.as_ref(), seek)?;
        let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
        let key_index = T::COLS.split(',').count();
        let fetch = i64::from(q.limit) + 1;
        let mut all: Vec<&(dyn ToSql + Sync)> = vec![&tenant.0];
        all.extend(params.refs());
        all.push(&fetch);
        let found = self.query_in(tenant, &select, &all).await?;
        let rows: Vec<(T, Keyset)> = found
            .iter()
            .map(|r| {
                T::map(r).map(|item| {
                    let key = Keyset { value: query::key_value(r, key_index), id: item.id() };
                    (item, key)
                })
            })
            .collect::<Result<_>>()?;
        Ok(QueryPage::keyset(rows, limit, seek))
    }
}

#[async_trait]
impl Store for PgStore {
    fn clock(&self) -> Arc<dyn Clock> {
        self.inner.clock.clone()
    }

    async fn create_tenant(&self, t: NewTenant) -> Result<Tenant> {
        let now = self.now_ms();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let conflict = |e: tokio_postgres::Error| match unique_violation(&e) {
            Some(c) if c.starts_with("tenant_domains") => StoreError::DomainTaken { domain: t.initial_domain.to_string() },
            Some(_) => StoreError::TenantExists { tenant: t.id.to_string() },
            None => pg_err(e),
        };
        let days = i32::try_from(t.soft_delete_retention_days).unwrap_or(i32::MAX);
        tx.execute(
            "INSERT INTO tenants (tenant_id, display_name, initial_domain, created_ms, retention_days) VALUES ($1, $2, $3, $4, $5)",
            &[&t.id.0, &t.display_name, &t.initial_domain.as_str(), &now, &days],
        )
        .await
        .map_err(conflict)?;
        tx.execute("INSERT INTO tenant_domains (initial_domain, tenant_id) VALUES ($1, $2)", &[&t.initial_domain.as_str(), &t.id.0]).await.map_err(conflict)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(Tenant {
            id: t.id,
            display_name: t.display_name,
            initial_domain: t.initial_domain,
            created_date_time: rows::ts(now),
            soft_delete_retention_days: t.soft_delete_retention_days,
        })
    }

    async fn get_tenant(&self, id: TenantId) -> Result<Tenant> {
        let rows = self.query(&format!("SELECT {TENANT_COLS} FROM tenants WHERE tenant_id = $1"), &[&id.0]).await?;
        rows.first().map(rows::tenant).transpose()?.ok_or_else(|| StoreError::TenantNotFound { tenant: id.to_string() })
    }

    async fn find_tenant_by_domain(&self, domain: &DomainName) -> Result<Option<Tenant>> {
        let sql = format!("SELECT {TENANT_COLS} FROM tenants WHERE tenant_id = (SELECT tenant_id FROM tenant_domains WHERE initial_domain = $1)");
        let rows = self.query(&sql, &[&domain.as_str()]).await?;
        rows.first().map(rows::tenant).transpose()
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        map_rows(&self.query(&format!("SELECT {TENANT_COLS} FROM tenants ORDER BY created_ms, tenant_id"), &[]).await?, rows::tenant)
    }

    async fn set_tenant_retention(&self, id: TenantId, days: u32) -> Result<Tenant> {
        let days = i32::try_from(days).unwrap_or(i32::MAX);
        if self.execute("UPDATE tenants SET retention_days = $1 WHERE tenant_id = $2", &[&days, &id.0]).await? == 0 {
            return Err(StoreError::TenantNotFound { tenant: id.to_string() });
        }
        self.get_tenant(id).await
    }

    async fn get_user(&self, tenant: TenantId, id: ObjectId) -> Result<User> {
        let rows = self.query_in(tenant, &format!("SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND id = $2"), &[&tenant.0, &id.0]).await?;
        rows.first().map(rows::user).transpose()?.ok_or(StoreError::NotFound { kind: ObjectKind::User, id })
    }

    async fn find_user_by_upn(&self, tenant: TenantId, upn: &Upn) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND ts_fold(upn) = ts_fold($2::text) COLLATE \"C\"");
        self.query_in(tenant, &sql, &[&tenant.0, &upn.as_str()]).await?.first().map(rows::user).transpose()
    }

    async fn find_users_by_mail(&self, tenant: TenantId, mail: &Mail) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND ts_fold(mail) = ts_fold($2::text) COLLATE \"C\" ORDER BY id");
        map_rows(&self.query_in(tenant, &sql, &[&tenant.0, &mail.as_str()]).await?, rows::user)
    }

    async fn find_user_by_anchor(&self, tenant: TenantId, anchor: &Anchor) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND anchor_tenant = $2 AND anchor_object = $3");
        self.query_in(tenant, &sql, &[&tenant.0, &anchor.tenant.0, &anchor.object.0]).await?.first().map(rows::user).transpose()
    }

    async fn list_users_by_anchor_tenant(&self, tenant: TenantId, source: TenantId, after: Option<ObjectId>, limit: u32) -> Result<Page<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND anchor_tenant = $2 AND anchor_object > $3 ORDER BY anchor_object LIMIT $4");
        let limit = i64::from(limit.max(1));
        let after = after.map_or(Uuid::nil(), |a| a.0);
        let mut items = map_rows(&self.query_in(tenant, &sql, &[&tenant.0, &source.0, &after, &(limit + 1)]).await?, rows::user)?;
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().and_then(|u| u.anchor).map(|a| a.object)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn count_users_by_anchor_tenant(&self, tenant: TenantId, source: TenantId) -> Result<u64> {
        // Kept by the write path (counts.rs): one row, not a count over the anchor index.
        let sql = "SELECT live FROM anchored_users WHERE tenant_id = $1 AND anchor_tenant = $2";
        let rows = self.query(sql, &[&tenant.0, &source.0]).await?;
        let n: i64 = rows.first().map(rows::first::<i64>).transpose()?.unwrap_or(0);
        if n == 0 {
            self.check_tenant(tenant).await?;
        }
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn list_users(&self, tenant: TenantId, query: &ListQuery) -> Result<Page<User>> {
        self.list::<User>(tenant, "", query, None).await
    }

    async fn count_users(&self, tenant: TenantId, visibility: Visibility) -> Result<u64> {
        self.count(tenant, ObjectKind::User, visibility).await
    }

    async fn count_groups(&self, tenant: TenantId, visibility: Visibility) -> Result<u64> {
        self.count(tenant, ObjectKind::Group, visibility).await
    }

    async fn bare_names(&self, tenant: TenantId, users: &[ObjectId]) -> Result<Vec<ObjectId>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = users.iter().map(|u| u.0).collect();
        let rows = self.query("SELECT user_id FROM bare_user_names WHERE tenant_id = $1 AND user_id = ANY($2)", &[&tenant.0, &ids]).await?;
        rows.iter().map(|r| rows::first(r).map(ObjectId)).collect()
    }

    async fn get_group(&self, tenant: TenantId, id: ObjectId) -> Result<Group> {
        let rows = self.query_in(tenant, &format!("SELECT {GROUP_COLS} FROM groups WHERE tenant_id = $1 AND id = $2"), &[&tenant.0, &id.0]).await?;
        rows.first().map(rows::group).transpose()?.ok_or(StoreError::NotFound { kind: ObjectKind::Group, id })
    }

    async fn find_group_by_anchor(&self, tenant: TenantId, anchor: &Anchor) -> Result<Option<Group>> {
        let sql = format!("SELECT {GROUP_COLS} FROM groups WHERE tenant_id = $1 AND anchor_tenant = $2 AND anchor_object = $3");
        self.query_in(tenant, &sql, &[&tenant.0, &anchor.tenant.0, &anchor.object.0]).await?.first().map(rows::group).transpose()
    }

    async fn list_groups(&self, tenant: TenantId, query: &ListQuery) -> Result<Page<Group>> {
        self.list::<Group>(tenant, "", query, None).await
    }

    async fn list_members(&self, tenant: TenantId, group: ObjectId, query: &ListQuery) -> Result<Page<User>> {
        self.get_group(tenant, group).await?;
        let query = ListQuery { visibility: Visibility::Active, ..query.clone() };
        self.list::<User>(tenant, "AND id IN (SELECT user_id FROM members WHERE tenant_id = $1 AND group_id = $4)", &query, Some(group)).await
    }

    async fn member_of(&self, tenant: TenantId, user: ObjectId) -> Result<Vec<ObjectId>> {
        self.get_user(tenant, user).await?;
        let rows = self.query("SELECT group_id FROM members WHERE tenant_id = $1 AND user_id = $2 ORDER BY group_id", &[&tenant.0, &user.0]).await?;
        rows.iter().map(|r| rows::first(r).map(ObjectId)).collect()
    }

    async fn user_groups(&self, tenant: TenantId, users: &[ObjectId]) -> Result<Vec<UserGroup>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = users.iter().map(|u| u.0).collect();
        let rows = self
            .query(
                "SELECT m.user_id, g.id, g.display_name FROM members m JOIN groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id \
                 WHERE m.tenant_id = $1 AND m.user_id = ANY($2) AND g.deleted_ms IS NULL \
                 ORDER BY m.user_id, ts_fold(g.display_name) COLLATE \"C\", g.id",
                &[&tenant.0, &ids],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(UserGroup {
                    user: ObjectId(r.try_get(0).map_err(pg_err)?),
                    group: ObjectId(r.try_get(1).map_err(pg_err)?),
                    display_name: r.try_get(2).map_err(pg_err)?,
                })
            })
            .collect()
    }

    async fn query_users(&self, tenant: TenantId, q: &ObjectQuery) -> Result<QueryPage<User>> {
        self.run_query::<User>(tenant, q).await
    }

    async fn query_groups(&self, tenant: TenantId, q: &ObjectQuery) -> Result<QueryPage<Group>> {
        self.run_query::<Group>(tenant, q).await
    }

    async fn search_users(&self, tenant: TenantId, s: &UserSearch) -> Result<SearchPage> {
        let mut found = tenantsync_store::SearchFound::default();
        {
            let mut client = self.client().await?;
            // Both parts read one snapshot.
            let tx =
                client.build_transaction().isolation_level(tokio_postgres::IsolationLevel::RepeatableRead).read_only(true).start().await.map_err(pg_err)?;
            for part in crate::search::parts(s) {
                let rows = if part.by_upn { found.second_part_rows(s) } else { found.wants(s) };
                if rows == 0 {
                    break;
                }
                let limit = i64::try_from(rows).unwrap_or(i64::MAX);
                let stmt = tx.prepare_cached(&part.sql).await.map_err(pg_err)?;
                for row in tx.query(&stmt, &part.params(&tenant.0, &limit)).await.map_err(pg_err)? {
                    found.take(s, rows::user(&row)?, part.by_upn);
                }
            }
            tx.commit().await.map_err(pg_err)?;
        }
        if found.is_empty() {
            self.check_tenant(tenant).await?;
        }
        Ok(found.page(s))
    }

    async fn create_token(&self, t: NewApiToken) -> Result<ApiToken> {
        let now = self.now_ms();
        self.get_tenant(t.tenant_id).await?;
        let expires = t.expires_date_time.map(|e| e.as_millisecond());
        self.execute(
            &format!("INSERT INTO api_tokens ({TOKEN_COLS}) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)"),
            &[&t.id.0, &t.tenant_id.0, &t.name, &t.secret_hash.as_slice(), &now, &expires, &t.role.as_str()],
        )
        .await?;
        Ok(ApiToken {
            id: t.id,
            tenant_id: t.tenant_id,
            name: t.name,
            role: t.role,
            secret_hash: t.secret_hash,
            created_date_time: rows::ts(now),
            expires_date_time: t.expires_date_time,
            revoked_date_time: None,
        })
    }

    async fn get_token(&self, id: ObjectId) -> Result<Option<ApiToken>> {
        self.query(&format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1"), &[&id.0]).await?.first().map(rows::token).transpose()
    }

    async fn list_tokens(&self, tenant: TenantId) -> Result<Vec<ApiToken>> {
        map_rows(
            &self.query_in(tenant, &format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE tenant_id = $1 ORDER BY created_ms, id"), &[&tenant.0]).await?,
            rows::token,
        )
    }

    async fn tokens_page(&self, tenant: TenantId, after: Option<ObjectId>, limit: u32) -> Result<Vec<ApiToken>> {
        self.tokens_page_impl(tenant, after, limit).await
    }

    async fn revoke_token(&self, tenant: TenantId, id: ObjectId) -> Result<ApiToken> {
        let now = self.now_ms();
        let n = self.execute("UPDATE api_tokens SET revoked_ms = coalesce(revoked_ms, $1) WHERE tenant_id = $2 AND id = $3", &[&now, &tenant.0, &id.0]).await?;
        if n == 0 {
            return Err(StoreError::TokenNotFound { id });
        }
        self.get_token(id).await?.ok_or(StoreError::TokenNotFound { id })
    }

    async fn apply(&self, tenant: TenantId, ops: Vec<WriteOp>, mode: BatchMode) -> Result<Vec<Result<WriteOutcome>>> {
        let mut client = self.client().await?;
        let mut tx = self.begin(&mut client, tenant).await?;
        match tx.apply_all(ops, mode).await {
            Ok(results) => {
                self.finish(tx).await?;
                Ok(results)
            }
            Err(e) => {
                tx.rollback().await;
                Err(e)
            }
        }
    }

    async fn bulk_import_users(&self, tenant: TenantId, options: BulkOptions) -> Result<Box<dyn BulkUserImport>> {
        self.get_tenant(tenant).await?;
        Ok(Box::new(crate::bulk::start(self.clone(), tenant, options)))
    }

    async fn purge_deleted(&self, tenant: TenantId, cutoff: Timestamp) -> Result<u64> {
        let mut client = self.client().await?;
        let mut tx = self.begin(&mut client, tenant).await?;
        match tx.purge(cutoff.as_millisecond()).await {
            Ok(n) => {
                self.finish(tx).await?;
                Ok(n)
            }
            Err(e) => {
                tx.rollback().await;
                Err(e)
            }
        }
    }

    async fn changes_since(&self, tenant: TenantId, cursor: ChangeCursor, limit: u32) -> Result<ChangePage> {
        let sql = format!("SELECT {CHANGE_COLS} FROM changes WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3");
        let rows = self.query_in(tenant, &sql, &[&tenant.0, &(cursor.0 as i64), &i64::from(limit)]).await?;
        let changes = map_rows(&rows, |r| rows::change(tenant, r))?;
        let next_cursor = changes.last().map_or(cursor, |c| ChangeCursor(c.seq));
        Ok(ChangePage { changes, next_cursor })
    }

    async fn change_head(&self, tenant: TenantId) -> Result<ChangeCursor> {
        let rows = self.query("SELECT change_head FROM tenants WHERE tenant_id = $1", &[&tenant.0]).await?;
        let row = rows.first().ok_or_else(|| StoreError::TenantNotFound { tenant: tenant.to_string() })?;
        Ok(ChangeCursor(u64::try_from(rows::first::<i64>(row)?).unwrap_or(0)))
    }

    fn subscribe(&self) -> broadcast::Receiver<CommitNotice> {
        self.inner.notices.subscribe_commits()
    }
}
