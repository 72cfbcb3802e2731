//! A tenant's users and groups a page at a time: id-order lists (`ListQuery`: a page
//! from a cursor, by visibility, a group's members), and queries (`ObjectQuery`: a
//! filtered, sorted page with its total read in one read transaction, or a keyset page
//! that seeks its position and counts nothing). The statements are built by `query.rs`.
use crate::SqliteStore;
use crate::query;
use crate::rows::{self, GROUP_COLS, SYNC_USER_COLS, USER_COLS};
use rusqlite::{OptionalExtension, params};
use tenantsync_domain::{Group, ObjectId, TenantId, User};
use tenantsync_store::{Fields, Keyset, ListQuery, ObjectQuery, Page, QueryPage, Result, Seek, Visibility};

/// How a listed row of a tenant's becomes an object.
type MapRow<T> = fn(&rusqlite::Row<'_>, TenantId) -> rusqlite::Result<T>;

/// Objects that list a page at a time in id order.
pub(crate) trait Listed: Sized {
    const TABLE: &'static str;
    const COLS: &'static str;
    fn map(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
    fn id(&self) -> ObjectId;
    /// The columns a listing of `fields` reads, and how a row of them maps (`tenant`'s).
    fn listed(_: Fields) -> (&'static str, MapRow<Self>) {
        (Self::COLS, |row, _| Self::map(row))
    }
}

impl Listed for User {
    const TABLE: &'static str = "users";
    const COLS: &'static str = USER_COLS;
    fn map(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        rows::user(row)
    }
    fn id(&self) -> ObjectId {
        self.id
    }
    fn listed(fields: Fields) -> (&'static str, MapRow<Self>) {
        match fields {
            Fields::All => (USER_COLS, |row, _| rows::user(row)),
            Fields::Sync => (SYNC_USER_COLS, rows::sync_user),
        }
    }
}

impl Listed for Group {
    const TABLE: &'static str = "groups";
    const COLS: &'static str = GROUP_COLS;
    fn map(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        rows::group(row)
    }
    fn id(&self) -> ObjectId {
        self.id
    }
}

impl SqliteStore {
    pub(crate) fn list<T: Listed>(&self, tenant: TenantId, extra: &str, query: &ListQuery, group: Option<ObjectId>) -> Result<Page<T>> {
        let vis = match query.visibility {
            Visibility::Active => "AND deleted_ms IS NULL",
            Visibility::Deleted => "AND deleted_ms IS NOT NULL",
            Visibility::All => "",
        };
        let after = query.after.map(|a| *a.as_bytes()).unwrap_or([0u8; 16]);
        let limit = i64::from(query.limit.max(1));
        let (cols, map) = T::listed(query.fields);
        let sql = format!("SELECT {cols} FROM {} WHERE tenant_id = ?1 AND id > ?2 {vis} {extra} ORDER BY id LIMIT ?3", T::TABLE);
        let map = |row: &rusqlite::Row<'_>| map(row, tenant);
        let mut items = self.read_in(tenant, |c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = match group {
                Some(g) => stmt.query_map(params![tenant.as_bytes(), after, limit + 1, g.as_bytes()], map)?,
                None => stmt.query_map(params![tenant.as_bytes(), after, limit + 1], map)?,
            };
            // Sized up front: a page of users is megabytes, and growing it copies them.
            let mut items = Vec::with_capacity(usize::try_from(limit + 1).unwrap_or(0).min(10_000));
            for row in rows {
                items.push(row?);
            }
            Ok(items)
        })?;
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(T::id)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// Runs an [`ObjectQuery`] on one tenant's live objects: the page and the total, read
    /// in one read transaction so they agree; or, for a keyset page, the page and the
    /// positions around it.
    pub(crate) fn query<T: Listed>(&self, tenant: TenantId, table: query::Table, q: &ObjectQuery) -> Result<QueryPage<T>> {
        if let Some(seek) = &q.seek {
            return self.seek::<T>(tenant, table, q, seek);
        }
        let st = query::statements(table, T::COLS, tenant.as_bytes(), q.filter.as_ref(), q.sort.as_ref())?;
        let tenant_blob = rusqlite::types::Value::Blob(tenant.as_bytes().to_vec());
        let limit = i64::from(q.limit);
        let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
        let found = |p: &QueryPage<T>| p.total.unwrap_or(0) > 0;
        self.read_found(
            tenant,
            |c| {
                c.prepare_cached("BEGIN")?.execute([])?;
                let result = (|| {
                    let mut all = Vec::with_capacity(st.params.len() + 3);
                    all.push(tenant_blob.clone());
                    all.extend(st.params.iter().cloned());
                    let items = if limit == 0 {
                        Vec::new()
                    } else {
                        let mut with_page = all.clone();
                        with_page.push(rusqlite::types::Value::Integer(limit));
                        with_page.push(rusqlite::types::Value::Integer(offset));
                        let mut stmt = c.prepare_cached(&st.select)?;
                        let rows = stmt.query_map(rusqlite::params_from_iter(with_page.iter()), T::map)?;
                        rows.collect::<rusqlite::Result<Vec<T>>>()?
                    };
                    // A first page that is not full holds every match: no count needed (the
                    // common lookup `userName eq "…"` costs one index seek).
                    let total = if offset == 0 && (items.len() as i64) < limit {
                        items.len() as u64
                    } else {
                        let n = c.prepare_cached(&st.count)?.query_row(rusqlite::params_from_iter(all.iter()), |r| r.get::<_, i64>(0)).optional()?;
                        u64::try_from(n.unwrap_or(0)).unwrap_or(0)
                    };
                    Ok(QueryPage { items, total: Some(total), next: None, previous: None })
                })();
                let _ = c.prepare_cached("COMMIT").and_then(|mut s| s.execute([]));
                result
            },
            found,
        )
    }

    /// A keyset page: one seek to the position, `limit + 1` rows to learn whether more
    /// follow, no count.
    fn seek<T: Listed>(&self, tenant: TenantId, table: query::Table, q: &ObjectQuery, seek: &Seek) -> Result<QueryPage<T>> {
        let (select, params) = query::seek_statement(table, T::COLS, tenant.as_bytes(), q.filter.as_ref(), q.sort.as_ref(), seek)?;
        let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
        let key_index = T::COLS.split(',').count();
        let mut all = Vec::with_capacity(params.len() + 2);
        all.push(rusqlite::types::Value::Blob(tenant.as_bytes().to_vec()));
        all.extend(params);
        all.push(rusqlite::types::Value::Integer(i64::from(q.limit) + 1));
        let rows: Vec<(T, Keyset)> = self.read_found(
            tenant,
            |c| {
                let mut stmt = c.prepare_cached(&select)?;
                let rows = stmt.query_map(rusqlite::params_from_iter(all.iter()), |r| {
                    let item = T::map(r)?;
                    let key = Keyset { value: query::key_value(r.get(key_index)?), id: item.id() };
                    Ok((item, key))
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            },
            |rows| !rows.is_empty(),
        )?;
        Ok(QueryPage::keyset(rows, limit, seek))
    }
}
