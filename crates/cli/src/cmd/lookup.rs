//! Objects named on the command line: tenants by id or initial domain, users by id or
//! userPrincipalName, groups by id or display name.
use crate::failure::{CliCode, Context, Failure};
use tenantsync_domain::{DomainName, ErrorInfo, GroupAttribute, ObjectId, Tenant, TenantId, Upn};
use tenantsync_store::{CompareOp, Field, Filter, FilterValue, ObjectQuery, Store, StoreError};

const TENANT_NOT_FOUND: ErrorInfo = ErrorInfo::find(StoreError::TABLE, "tenant_not_found");
const NOT_FOUND: ErrorInfo = ErrorInfo::find(StoreError::TABLE, "not_found");

/// Candidates an ambiguous name lists at most.
const SHOWN_CANDIDATES: u32 = 10;

/// A tenant named by id or initial domain.
pub async fn tenant(store: &dyn Store, name: &str) -> Result<Tenant, Failure> {
    let subject = || format!("tenant '{name}'");
    if let Ok(id) = name.parse::<TenantId>() {
        return store.get_tenant(id).await.about(subject);
    }
    let domain = DomainName::parse(name).map_err(|_| Failure::new(subject(), "is neither a tenant id nor an initial domain", TENANT_NOT_FOUND.code))?;
    store.find_tenant_by_domain(&domain).await.about(subject)?.ok_or_else(|| Failure::new(subject(), "not found", TENANT_NOT_FOUND.code))
}

/// A user named by object id or userPrincipalName.
pub async fn user_id(store: &dyn Store, tenant: &Tenant, name: &str) -> Result<ObjectId, Failure> {
    let subject = || format!("user '{name}'");
    if let Ok(id) = name.parse::<ObjectId>() {
        return Ok(id);
    }
    let upn = Upn::parse(name).about(subject)?;
    let user = store.find_user_by_upn(tenant.id, &upn).await.about(subject)?;
    user.map(|u| u.id).ok_or_else(|| Failure::new(subject(), format!("not found in tenant '{}'", tenant.initial_domain), NOT_FOUND.code))
}

/// A group named by object id or display name (ignoring case). A name several groups
/// have is refused, listing them; a soft-deleted group is named by its id.
pub async fn group_id(store: &dyn Store, tenant: &Tenant, name: &str) -> Result<ObjectId, Failure> {
    let subject = || format!("group '{name}'");
    if let Ok(id) = name.parse::<ObjectId>() {
        return Ok(id);
    }
    let filter = Filter::folded(Field::Group(GroupAttribute::DisplayName), CompareOp::Eq, FilterValue::Text(name.trim().to_owned()));
    let found = store.query_groups(tenant.id, &ObjectQuery { filter: Some(filter), limit: SHOWN_CANDIDATES, ..ObjectQuery::default() }).await.about(subject)?;
    match found.items.as_slice() {
        [one] => Ok(one.id),
        [] => Err(Failure::new(
            subject(),
            format!("no group of tenant '{}' has this id or display name (a soft-deleted group is named by its id)", tenant.initial_domain),
            NOT_FOUND.code,
        )),
        several => {
            let total = found.total.unwrap_or(several.len() as u64);
            let listed: Vec<String> = several.iter().map(|g| format!("{} '{}'", g.id, g.attrs.display_name)).collect();
            let more = if total > several.len() as u64 { format!(" and {} more", total - several.len() as u64) } else { String::new() };
            Err(Failure::cli(subject(), format!("{total} groups have this name: {}{more}; name one by its id", listed.join(", ")), CliCode::AmbiguousName))
        }
    }
}

/// A user (userPrincipalName) or group (display name) of one of `tenants`, in order, or
/// any object by id: what `sync logs --object` names.
pub async fn object_id(store: &dyn Store, tenants: &[&Tenant], name: &str) -> Result<ObjectId, Failure> {
    if let Ok(id) = name.parse::<ObjectId>() {
        return Ok(id);
    }
    let mut last = None;
    for t in tenants {
        let found = if name.contains('@') { user_id(store, t, name).await } else { group_id(store, t, name).await };
        match found {
            Ok(id) => return Ok(id),
            Err(e) if e.code == NOT_FOUND.code => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    let domains: Vec<String> = tenants.iter().map(|t| format!("'{}'", t.initial_domain)).collect();
    let what = if name.contains('@') { "user" } else { "group" };
    Err(last.map_or_else(
        || Failure::new(format!("{what} '{name}'"), "not found", NOT_FOUND.code),
        |_| Failure::new(format!("{what} '{name}'"), format!("not found in {}", domains.join(" or ")), NOT_FOUND.code),
    ))
}
