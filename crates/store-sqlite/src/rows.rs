//! Mapping between rows and domain objects.
use jiff::Timestamp;
use rusqlite::Row;
use rusqlite::types::{Value, ValueRef};
use std::collections::BTreeMap;
use tenantsync_domain::{
    Anchor, AttrValue, AttributeChange, Change, ChangeOp, DomainName, ExtensionName, Group, GroupAttributes, Mail, ObjectId, ObjectKind, Origin, Tenant,
    TenantId, Upn, User, UserAttributes, UserType, Version,
};
use tenantsync_store::StoreError;

pub fn corrupt(what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Null, format!("corrupt {what}").into())
}

pub fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub fn kind_code(kind: ObjectKind) -> i64 {
    match kind {
        ObjectKind::User => 0,
        ObjectKind::Group => 1,
    }
}

pub fn user_type_code(t: UserType) -> i64 {
    match t {
        UserType::Member => 0,
        UserType::Guest => 1,
    }
}

fn id(row: &Row<'_>, i: usize) -> rusqlite::Result<ObjectId> {
    Ok(ObjectId::from_bytes(row.get::<_, [u8; 16]>(i)?))
}

fn opt_id(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<ObjectId>> {
    Ok(row.get::<_, Option<[u8; 16]>>(i)?.map(ObjectId::from_bytes))
}

pub const TENANT_COLS: &str = "id, display_name, initial_domain, created_ms, retention_days";

pub fn tenant(row: &Row<'_>) -> rusqlite::Result<Tenant> {
    let domain: String = row.get(2)?;
    Ok(Tenant {
        id: TenantId::from_bytes(row.get(0)?),
        display_name: row.get(1)?,
        initial_domain: DomainName::parse(&domain).map_err(|_| corrupt("domain"))?,
        created_date_time: ts(row.get(3)?),
        soft_delete_retention_days: row.get(4)?,
    })
}

/// Columns of `users` in the order [`user`] reads and the write path binds them.
pub const USER_COLS: &str = "tenant_id, id, upn, mail, display_name, given_name, surname, mail_nickname, account_enabled, \
    user_type, department, job_title, company_name, employee_id, office_location, street_address, city, state, postal_code, \
    country, usage_location, preferred_language, telephone_number, mobile_phone, manager_id, extensions, anchor_tenant, \
    anchor_object, version, created_ms, modified_ms, deleted_ms, external_id, show_in_address_list";

pub const USER_COL_COUNT: usize = 34;

pub fn extensions_json(ext: &BTreeMap<ExtensionName, AttrValue>) -> Option<String> {
    if ext.is_empty() { None } else { serde_json::to_string(ext).ok() }
}

fn anchor(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<Anchor>> {
    let t: Option<[u8; 16]> = row.get(i)?;
    let o: Option<[u8; 16]> = row.get(i + 1)?;
    Ok(match (t, o) {
        (Some(t), Some(o)) => Some(Anchor::new(TenantId::from_bytes(t), ObjectId::from_bytes(o))),
        _ => None,
    })
}

/// The columns a sync reads of a source user ([`tenantsync_store::Fields::Sync`]):
/// [`USER_COLS`] without the tenant (the query's), the version and the two times.
pub const SYNC_USER_COLS: &str = "id, upn, mail, display_name, given_name, surname, mail_nickname, account_enabled, \
    user_type, department, job_title, company_name, employee_id, office_location, street_address, city, state, postal_code, \
    country, usage_location, preferred_language, telephone_number, mobile_phone, manager_id, extensions, anchor_tenant, \
    anchor_object, deleted_ms, external_id, show_in_address_list";

/// Where a user row's columns are: all of [`USER_COLS`], or those of [`SYNC_USER_COLS`].
#[derive(Clone, Copy)]
enum Layout {
    Whole,
    Sync(TenantId),
}

impl Layout {
    /// The position of the column at `i` in [`USER_COLS`].
    fn col(self, i: usize) -> usize {
        match self {
            Layout::Whole => i,
            // Without tenant_id (0), version, created_ms and modified_ms (28-30).
            Layout::Sync(_) if i >= 31 => i - 4,
            Layout::Sync(_) => i - 1,
        }
    }
}

/// A text column, read in place and copied once.
fn opt_text(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<String>> {
    match row.get_ref(i)? {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) => std::str::from_utf8(t).map(|s| Some(s.to_owned())).map_err(|e| rusqlite::Error::Utf8Error(i, e)),
        _ => Err(corrupt("text column")),
    }
}

pub fn user(row: &Row<'_>) -> rusqlite::Result<User> {
    user_in(row, Layout::Whole)
}

/// A user from a row of [`SYNC_USER_COLS`] of `tenant`: its version 0, its times the epoch.
pub fn sync_user(row: &Row<'_>, tenant: TenantId) -> rusqlite::Result<User> {
    user_in(row, Layout::Sync(tenant))
}

fn user_in(row: &Row<'_>, at: Layout) -> rusqlite::Result<User> {
    let c = |i| at.col(i);
    let text = |i| opt_text(row, c(i));
    let upn = text(2)?.ok_or_else(|| corrupt("upn"))?;
    let ext = text(25)?;
    let extensions = match ext {
        None => BTreeMap::new(),
        Some(json) => {
            let raw: BTreeMap<String, AttrValue> = serde_json::from_str(&json).map_err(|_| corrupt("extensions"))?;
            raw.into_iter().map(|(k, v)| ExtensionName::parse(&k).map(|k| (k, v)).map_err(|_| corrupt("extension name"))).collect::<rusqlite::Result<_>>()?
        }
    };
    let attrs = UserAttributes {
        user_principal_name: Upn::from_store(upn),
        mail: text(3)?.map(Mail::from_store),
        display_name: text(4)?,
        given_name: text(5)?,
        surname: text(6)?,
        mail_nickname: text(7)?,
        account_enabled: row.get(c(8))?,
        user_type: if row.get::<_, i64>(c(9))? == 1 { UserType::Guest } else { UserType::Member },
        department: text(10)?,
        job_title: text(11)?,
        company_name: text(12)?,
        employee_id: text(13)?,
        office_location: text(14)?,
        street_address: text(15)?,
        city: text(16)?,
        state: text(17)?,
        postal_code: text(18)?,
        country: text(19)?,
        usage_location: text(20)?,
        preferred_language: text(21)?,
        telephone_number: text(22)?,
        mobile_phone: text(23)?,
        show_in_address_list: row.get(c(33))?,
        manager: opt_id(row, c(24))?,
        external_id: text(32)?,
        extensions,
    };
    let anchor = anchor(row, c(26))?;
    let (tenant_id, version, created, modified) = match at {
        Layout::Whole => (TenantId::from_bytes(row.get(0)?), Version(row.get::<_, i64>(28)? as u64), ts(row.get(29)?), ts(row.get(30)?)),
        Layout::Sync(tenant) => (tenant, Version(0), Timestamp::UNIX_EPOCH, Timestamp::UNIX_EPOCH),
    };
    Ok(User {
        tenant_id,
        id: id(row, c(1))?,
        attrs,
        origin: Origin::of(anchor.as_ref()),
        anchor,
        version,
        created_date_time: created,
        last_modified_date_time: modified,
        deleted_date_time: row.get::<_, Option<i64>>(c(31))?.map(ts),
    })
}

fn blob(id: &ObjectId) -> ValueRef<'_> {
    ValueRef::Blob(id.as_bytes())
}

fn text(s: &Option<String>) -> ValueRef<'_> {
    s.as_deref().map_or(ValueRef::Null, |s| ValueRef::Text(s.as_bytes()))
}

/// The values of [`USER_COLS`] for a user, in order, borrowed (no allocation per
/// column on the writer thread); `extensions` is `extensions_json` of its extensions.
pub fn user_values<'a>(u: &'a User, extensions: &'a Option<String>) -> [ValueRef<'a>; USER_COL_COUNT] {
    let a = &u.attrs;
    [
        ValueRef::Blob(u.tenant_id.as_bytes()),
        blob(&u.id),
        ValueRef::Text(a.user_principal_name.as_str().as_bytes()),
        a.mail.as_ref().map_or(ValueRef::Null, |m| ValueRef::Text(m.as_str().as_bytes())),
        text(&a.display_name),
        text(&a.given_name),
        text(&a.surname),
        text(&a.mail_nickname),
        ValueRef::Integer(i64::from(a.account_enabled)),
        ValueRef::Integer(user_type_code(a.user_type)),
        text(&a.department),
        text(&a.job_title),
        text(&a.company_name),
        text(&a.employee_id),
        text(&a.office_location),
        text(&a.street_address),
        text(&a.city),
        text(&a.state),
        text(&a.postal_code),
        text(&a.country),
        text(&a.usage_location),
        text(&a.preferred_language),
        text(&a.telephone_number),
        text(&a.mobile_phone),
        a.manager.as_ref().map_or(ValueRef::Null, blob),
        text(extensions),
        u.anchor.as_ref().map_or(ValueRef::Null, |x| ValueRef::Blob(x.tenant.as_bytes())),
        u.anchor.as_ref().map_or(ValueRef::Null, |x| blob(&x.object)),
        ValueRef::Integer(u.version.0 as i64),
        ValueRef::Integer(u.created_date_time.as_millisecond()),
        ValueRef::Integer(u.last_modified_date_time.as_millisecond()),
        u.deleted_date_time.map_or(ValueRef::Null, |t| ValueRef::Integer(t.as_millisecond())),
        text(&a.external_id),
        a.show_in_address_list.map_or(ValueRef::Null, |b| ValueRef::Integer(i64::from(b))),
    ]
}

pub const GROUP_COLS: &str = "tenant_id, id, display_name, description, mail_nickname, security_enabled, anchor_tenant, \
    anchor_object, version, created_ms, modified_ms, deleted_ms, external_id";

pub fn group(row: &Row<'_>) -> rusqlite::Result<Group> {
    let anchor = anchor(row, 6)?;
    Ok(Group {
        tenant_id: TenantId::from_bytes(row.get(0)?),
        id: id(row, 1)?,
        attrs: GroupAttributes {
            display_name: row.get(2)?,
            description: row.get(3)?,
            mail_nickname: row.get(4)?,
            security_enabled: row.get(5)?,
            external_id: row.get(12)?,
        },
        origin: Origin::of(anchor.as_ref()),
        anchor,
        version: Version(row.get::<_, i64>(8)? as u64),
        created_date_time: ts(row.get(9)?),
        last_modified_date_time: ts(row.get(10)?),
        deleted_date_time: row.get::<_, Option<i64>>(11)?.map(ts),
    })
}

pub fn group_values(g: &Group) -> [ValueRef<'_>; 13] {
    let a = &g.attrs;
    [
        ValueRef::Blob(g.tenant_id.as_bytes()),
        blob(&g.id),
        ValueRef::Text(a.display_name.as_bytes()),
        text(&a.description),
        text(&a.mail_nickname),
        ValueRef::Integer(i64::from(a.security_enabled)),
        g.anchor.as_ref().map_or(ValueRef::Null, |x| ValueRef::Blob(x.tenant.as_bytes())),
        g.anchor.as_ref().map_or(ValueRef::Null, |x| blob(&x.object)),
        ValueRef::Integer(g.version.0 as i64),
        ValueRef::Integer(g.created_date_time.as_millisecond()),
        ValueRef::Integer(g.last_modified_date_time.as_millisecond()),
        g.deleted_date_time.map_or(ValueRef::Null, |t| ValueRef::Integer(t.as_millisecond())),
        text(&a.external_id),
    ]
}

/// Owned copies of borrowed row values (the row as it was before a change).
pub fn owned(values: &[ValueRef<'_>]) -> Vec<Value> {
    values
        .iter()
        .map(|v| match *v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        })
        .collect()
}

/// Borrowed values as statement parameters.
/// Ids as one parameter of `rarray(?)` (loaded on writer connections): a list of rows
/// written by one statement instead of one statement per row.
pub fn id_array(ids: impl IntoIterator<Item = [u8; 16]>) -> rusqlite::vtab::array::Array {
    std::rc::Rc::new(ids.into_iter().map(|id| Value::Blob(id.to_vec())).collect())
}

pub fn params<'a>(values: &'a [ValueRef<'a>]) -> impl Iterator<Item = rusqlite::types::ToSqlOutput<'a>> + 'a {
    values.iter().map(|v| rusqlite::types::ToSqlOutput::Borrowed(*v))
}

pub const CHANGE_COLS: &str = "seq, at_ms, object_kind, object_id, op, member_id, attributes";

pub fn change(tenant: TenantId, row: &Row<'_>) -> rusqlite::Result<Change> {
    let attrs: Option<String> = row.get(6)?;
    let attributes: Vec<AttributeChange> = match attrs {
        None => Vec::new(),
        Some(json) => serde_json::from_str(&json).map_err(|_| corrupt("change attributes"))?,
    };
    Ok(Change {
        seq: row.get::<_, i64>(0)? as u64,
        tenant_id: tenant,
        at: ts(row.get(1)?),
        object_kind: if row.get::<_, i64>(2)? == 1 { ObjectKind::Group } else { ObjectKind::User },
        object_id: id(row, 3)?,
        op: ChangeOp::from_code(row.get::<_, u8>(4)?).ok_or_else(|| corrupt("change op"))?,
        member_id: opt_id(row, 5)?,
        attributes,
    })
}

pub fn sql_err(e: rusqlite::Error) -> StoreError {
    crate::schema::sql_err(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Layout::Sync` finds each column a sync reads where `SYNC_USER_COLS` has it, and
    /// those are all of `USER_COLS` but the tenant, the version and the two times.
    #[test]
    fn the_sync_layout_matches_its_columns() {
        let names = |cols: &str| cols.split(',').map(|c| c.trim().to_owned()).collect::<Vec<_>>();
        let (whole, sync) = (names(USER_COLS), names(SYNC_USER_COLS));
        assert_eq!(whole.len(), USER_COL_COUNT);
        let left_out = ["tenant_id", "version", "created_ms", "modified_ms"];
        let layout = Layout::Sync(TenantId::new());
        let read: Vec<_> = (0..whole.len()).filter(|&i| !left_out.contains(&whole[i].as_str())).collect();
        assert_eq!(read.len(), sync.len());
        for i in read {
            assert_eq!(sync[layout.col(i)], whole[i], "column {i}");
        }
    }
}
