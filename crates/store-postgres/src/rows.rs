//! Mapping between PostgreSQL rows and domain objects.
use jiff::Timestamp;
use std::collections::BTreeMap;
use tenantsync_domain::{
    Anchor, AttrValue, AttributeChange, Change, ChangeOp, DomainName, ExtensionName, Group, GroupAttributes, Mail, ObjectId, ObjectKind, Origin, Tenant,
    TenantId, Upn, User, UserAttributes, UserType, Version,
};
use tenantsync_store::{ApiToken, StoreError, TokenRole};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

/// A row that does not hold what the schema promises.
pub fn corrupt(what: &str) -> StoreError {
    StoreError::Internal { message: format!("corrupt {what} in the database") }
}

pub fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub fn kind_code(kind: ObjectKind) -> i16 {
    match kind {
        ObjectKind::User => 0,
        ObjectKind::Group => 1,
    }
}

pub fn user_type_code(t: UserType) -> i16 {
    match t {
        UserType::Member => 0,
        UserType::Guest => 1,
    }
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T, StoreError> {
    row.try_get(i).map_err(|e| StoreError::Internal { message: format!("reading a row: {e}") })
}

fn id(row: &Row, i: usize) -> Result<ObjectId, StoreError> {
    Ok(ObjectId(get::<Uuid>(row, i)?))
}

fn opt_id(row: &Row, i: usize) -> Result<Option<ObjectId>, StoreError> {
    Ok(get::<Option<Uuid>>(row, i)?.map(ObjectId))
}

pub const TENANT_COLS: &str = "tenant_id, display_name, initial_domain, created_ms, retention_days";

pub fn tenant(row: &Row) -> Result<Tenant, StoreError> {
    let domain: String = get(row, 2)?;
    Ok(Tenant {
        id: TenantId(get(row, 0)?),
        display_name: get(row, 1)?,
        initial_domain: DomainName::parse(&domain).map_err(|_| corrupt("domain"))?,
        created_date_time: ts(get(row, 3)?),
        soft_delete_retention_days: u32::try_from(get::<i32>(row, 4)?).unwrap_or(0),
    })
}

/// Columns of `users` in the order [`user`] reads and [`user_params`] binds them.
pub const USER_COLS: &str = "tenant_id, id, upn, mail, display_name, given_name, surname, mail_nickname, account_enabled, \
    user_type, department, job_title, company_name, employee_id, office_location, street_address, city, state, postal_code, \
    country, usage_location, preferred_language, telephone_number, mobile_phone, manager_id, extensions, anchor_tenant, \
    anchor_object, version, created_ms, modified_ms, deleted_ms, external_id, show_in_address_list";

pub const USER_COL_COUNT: usize = 34;

/// `$1, $2, …, $n`.
pub fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

pub fn extensions_json(ext: &BTreeMap<ExtensionName, AttrValue>) -> Option<String> {
    if ext.is_empty() { None } else { serde_json::to_string(ext).ok() }
}

fn anchor(row: &Row, i: usize) -> Result<Option<Anchor>, StoreError> {
    let t: Option<Uuid> = get(row, i)?;
    let o: Option<Uuid> = get(row, i + 1)?;
    Ok(match (t, o) {
        (Some(t), Some(o)) => Some(Anchor::new(TenantId(t), ObjectId(o))),
        _ => None,
    })
}

pub fn user(row: &Row) -> Result<User, StoreError> {
    let upn: String = get(row, 2)?;
    let mail: Option<String> = get(row, 3)?;
    let ext: Option<String> = get(row, 25)?;
    let extensions = match ext {
        None => BTreeMap::new(),
        Some(json) => {
            let raw: BTreeMap<String, AttrValue> = serde_json::from_str(&json).map_err(|_| corrupt("extensions"))?;
            raw.into_iter().map(|(k, v)| ExtensionName::parse(&k).map(|k| (k, v)).map_err(|_| corrupt("extension name"))).collect::<Result<_, _>>()?
        }
    };
    let attrs = UserAttributes {
        user_principal_name: Upn::from_store(upn),
        mail: mail.map(Mail::from_store),
        display_name: get(row, 4)?,
        given_name: get(row, 5)?,
        surname: get(row, 6)?,
        mail_nickname: get(row, 7)?,
        account_enabled: get(row, 8)?,
        user_type: if get::<i16>(row, 9)? == 1 { UserType::Guest } else { UserType::Member },
        department: get(row, 10)?,
        job_title: get(row, 11)?,
        company_name: get(row, 12)?,
        employee_id: get(row, 13)?,
        office_location: get(row, 14)?,
        street_address: get(row, 15)?,
        city: get(row, 16)?,
        state: get(row, 17)?,
        postal_code: get(row, 18)?,
        country: get(row, 19)?,
        usage_location: get(row, 20)?,
        preferred_language: get(row, 21)?,
        telephone_number: get(row, 22)?,
        mobile_phone: get(row, 23)?,
        show_in_address_list: get(row, 33)?,
        manager: opt_id(row, 24)?,
        external_id: get(row, 32)?,
        extensions,
    };
    let anchor = anchor(row, 26)?;
    Ok(User {
        tenant_id: TenantId(get(row, 0)?),
        id: id(row, 1)?,
        attrs,
        origin: Origin::of(anchor.as_ref()),
        anchor,
        version: Version(get::<i64>(row, 28)? as u64),
        created_date_time: ts(get(row, 29)?),
        last_modified_date_time: ts(get(row, 30)?),
        deleted_date_time: get::<Option<i64>>(row, 31)?.map(ts),
    })
}

/// Owned values of a user's row, in [`USER_COLS`] order.
pub struct UserRow {
    tenant: Uuid,
    id: Uuid,
    upn: String,
    mail: Option<String>,
    texts: [Option<String>; 4],
    account_enabled: bool,
    user_type: i16,
    more: [Option<String>; 14],
    manager: Option<Uuid>,
    extensions: Option<String>,
    anchor_tenant: Option<Uuid>,
    anchor_object: Option<Uuid>,
    version: i64,
    created: i64,
    modified: i64,
    deleted: Option<i64>,
    external_id: Option<String>,
    show: Option<bool>,
}

impl UserRow {
    pub fn of(u: &User) -> UserRow {
        let a = &u.attrs;
        UserRow {
            tenant: u.tenant_id.0,
            id: u.id.0,
            upn: a.user_principal_name.to_string(),
            mail: a.mail.as_ref().map(|m| m.to_string()),
            texts: [a.display_name.clone(), a.given_name.clone(), a.surname.clone(), a.mail_nickname.clone()],
            account_enabled: a.account_enabled,
            user_type: user_type_code(a.user_type),
            more: [
                a.department.clone(),
                a.job_title.clone(),
                a.company_name.clone(),
                a.employee_id.clone(),
                a.office_location.clone(),
                a.street_address.clone(),
                a.city.clone(),
                a.state.clone(),
                a.postal_code.clone(),
                a.country.clone(),
                a.usage_location.clone(),
                a.preferred_language.clone(),
                a.telephone_number.clone(),
                a.mobile_phone.clone(),
            ],
            manager: a.manager.map(|m| m.0),
            extensions: extensions_json(&a.extensions),
            anchor_tenant: u.anchor.map(|x| x.tenant.0),
            anchor_object: u.anchor.map(|x| x.object.0),
            version: u.version.0 as i64,
            created: u.created_date_time.as_millisecond(),
            modified: u.last_modified_date_time.as_millisecond(),
            deleted: u.deleted_date_time.map(|t| t.as_millisecond()),
            external_id: a.external_id.clone(),
            show: a.show_in_address_list,
        }
    }

    /// The values as statement parameters, in [`USER_COLS`] order.
    pub fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        let mut p: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(USER_COL_COUNT);
        p.extend([&self.tenant as &(dyn ToSql + Sync), &self.id, &self.upn, &self.mail]);
        p.extend(self.texts.iter().map(|t| t as &(dyn ToSql + Sync)));
        p.extend([&self.account_enabled as &(dyn ToSql + Sync), &self.user_type]);
        p.extend(self.more.iter().map(|t| t as &(dyn ToSql + Sync)));
        p.extend([
            &self.manager as &(dyn ToSql + Sync),
            &self.extensions,
            &self.anchor_tenant,
            &self.anchor_object,
            &self.version,
            &self.created,
            &self.modified,
            &self.deleted,
            &self.external_id,
            &self.show,
        ]);
        p
    }
}

pub const GROUP_COLS: &str = "tenant_id, id, display_name, description, mail_nickname, security_enabled, anchor_tenant, \
    anchor_object, version, created_ms, modified_ms, deleted_ms, external_id";

pub fn group(row: &Row) -> Result<Group, StoreError> {
    let anchor = anchor(row, 6)?;
    Ok(Group {
        tenant_id: TenantId(get(row, 0)?),
        id: id(row, 1)?,
        attrs: GroupAttributes {
            display_name: get(row, 2)?,
            description: get(row, 3)?,
            mail_nickname: get(row, 4)?,
            security_enabled: get(row, 5)?,
            external_id: get(row, 12)?,
        },
        origin: Origin::of(anchor.as_ref()),
        anchor,
        version: Version(get::<i64>(row, 8)? as u64),
        created_date_time: ts(get(row, 9)?),
        last_modified_date_time: ts(get(row, 10)?),
        deleted_date_time: get::<Option<i64>>(row, 11)?.map(ts),
    })
}

/// Owned values of a group's row, in [`GROUP_COLS`] order.
pub struct GroupRow {
    tenant: Uuid,
    id: Uuid,
    display_name: String,
    description: Option<String>,
    mail_nickname: Option<String>,
    security_enabled: bool,
    anchor_tenant: Option<Uuid>,
    anchor_object: Option<Uuid>,
    version: i64,
    created: i64,
    modified: i64,
    deleted: Option<i64>,
    external_id: Option<String>,
}

impl GroupRow {
    pub fn of(g: &Group) -> GroupRow {
        let a = &g.attrs;
        GroupRow {
            tenant: g.tenant_id.0,
            id: g.id.0,
            display_name: a.display_name.clone(),
            description: a.description.clone(),
            mail_nickname: a.mail_nickname.clone(),
            security_enabled: a.security_enabled,
            anchor_tenant: g.anchor.map(|x| x.tenant.0),
            anchor_object: g.anchor.map(|x| x.object.0),
            version: g.version.0 as i64,
            created: g.created_date_time.as_millisecond(),
            modified: g.last_modified_date_time.as_millisecond(),
            deleted: g.deleted_date_time.map(|t| t.as_millisecond()),
            external_id: a.external_id.clone(),
        }
    }

    pub fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![
            &self.tenant,
            &self.id,
            &self.display_name,
            &self.description,
            &self.mail_nickname,
            &self.security_enabled,
            &self.anchor_tenant,
            &self.anchor_object,
            &self.version,
            &self.created,
            &self.modified,
            &self.deleted,
            &self.external_id,
        ]
    }
}

pub const CHANGE_COLS: &str = "seq, at_ms, object_kind, object_id, op, member_id, attributes";

pub fn change(tenant: TenantId, row: &Row) -> Result<Change, StoreError> {
    let attrs: Option<String> = get(row, 6)?;
    let attributes: Vec<AttributeChange> = match attrs {
        None => Vec::new(),
        Some(json) => serde_json::from_str(&json).map_err(|_| corrupt("change attributes"))?,
    };
    Ok(Change {
        seq: get::<i64>(row, 0)? as u64,
        tenant_id: tenant,
        at: ts(get(row, 1)?),
        object_kind: if get::<i16>(row, 2)? == 1 { ObjectKind::Group } else { ObjectKind::User },
        object_id: id(row, 3)?,
        op: ChangeOp::from_code(u8::try_from(get::<i16>(row, 4)?).unwrap_or(0)).ok_or_else(|| corrupt("change op"))?,
        member_id: opt_id(row, 5)?,
        attributes,
    })
}

pub const TOKEN_COLS: &str = "id, tenant_id, name, secret_hash, created_ms, expires_ms, revoked_ms, role";

pub fn token(r: &Row) -> Result<ApiToken, StoreError> {
    let hash: Vec<u8> = get(r, 3)?;
    Ok(ApiToken {
        id: ObjectId(get(r, 0)?),
        tenant_id: TenantId(get(r, 1)?),
        name: get(r, 2)?,
        secret_hash: hash.try_into().map_err(|_| corrupt("token hash"))?,
        created_date_time: ts(get(r, 4)?),
        expires_date_time: get::<Option<i64>>(r, 5)?.map(ts),
        revoked_date_time: get::<Option<i64>>(r, 6)?.map(ts),
        role: TokenRole::parse(&get::<String>(r, 7)?).ok_or_else(|| corrupt("token role"))?,
    })
}

/// The first column of a row as `T`.
pub fn first<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row) -> Result<T, StoreError> {
    get(row, 0)
}
