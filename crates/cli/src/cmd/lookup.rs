//! Objects named on the command line: tenants by id or initial domain, users by id or
//! userPrincipalName, groups by id.
use crate::failure::{Context, Failure};
use tenantsync_domain::{DomainName, ErrorInfo, ObjectId, Tenant, TenantId, Upn};
use tenantsync_store::{Store, StoreError};

const TENANT_NOT_FOUND: ErrorInfo = ErrorInfo::find(StoreError::TABLE, "tenant_not_found");
const NOT_FOUND: ErrorInfo = ErrorInfo::find(StoreError::TABLE, "not_found");

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

/// A group named by object id.
pub fn group_id(name: &str) -> Result<ObjectId, Failure> {
    name.parse::<ObjectId>().about(|| format!("group '{name}'"))
}
