//! The changes to an access package and to an assignment policy after their creation, as
//! the admin API and the console both make them: each checks what the request may not
//! do, stores through governance (which applies Entra's limits), and hands back the audit
//! entry the caller records as its own principal. One place, so the two front doors
//! cannot drift apart.
use super::entry;
use crate::graph::audit::Entry;
use crate::graph::error::{GraphError, GraphResult};
use jiff::Timestamp;
use tenantsync_access::{AccessPackage, AssignmentPolicy, PackageId, ResourceRole};
use tenantsync_domain::TenantId;
use tenantsync_governance::{Governance, GovernanceError};
use tenantsync_store::AuditOperation;

/// A package's name, description and visibility, as given (a name is required).
pub(crate) async fn set_package_settings(
    g: &Governance,
    now: Timestamp,
    tenant: TenantId,
    p: &mut AccessPackage,
    name: &str,
    description: &str,
    hidden: bool,
) -> GraphResult<Option<Entry>> {
    let name = name.trim();
    if name.is_empty() {
        return Err(GraphError::bad_request("an access package needs a name"));
    }
    if p.display_name == name && p.description == description && p.is_hidden == hidden {
        return Ok(None);
    }
    let mut e = entry("Update access package", AuditOperation::Update, "AccessPackage", p.id).named(Some(name));
    if p.display_name != name {
        e = e.change("displayName", Some(p.display_name.clone()), Some(name.to_owned()));
    }
    if p.description != description {
        e = e.change("description", Some(p.description.clone()), Some(description.to_owned()));
    }
    if p.is_hidden != hidden {
        e = e.change("isHidden", Some(p.is_hidden.to_string()), Some(hidden.to_string()));
    }
    (p.display_name, p.description, p.is_hidden, p.modified_date_time) = (name.to_owned(), description.to_owned(), hidden, now);
    g.put_access_package(tenant, p).await?;
    Ok(Some(e))
}

/// Adds a resource role (`resourceRoleScopes`); nothing when the package has it.
pub(crate) async fn add_role(g: &Governance, now: Timestamp, tenant: TenantId, p: &mut AccessPackage, role: ResourceRole) -> GraphResult<Option<Entry>> {
    if !p.roles.insert(role) {
        return Ok(None);
    }
    p.modified_date_time = now;
    g.put_access_package(tenant, p).await?;
    let e = entry("Add resource role to access package", AuditOperation::Update, "AccessPackage", p.id).named(Some(&p.display_name)).change(
        "resourceRoleScopes",
        None,
        Some(role.origin_id()),
    );
    Ok(Some(e))
}

/// Removes a resource role; a role the package does not grant is a 404. Assignments made
/// before keep what they were given until they end (as in Entra).
pub(crate) async fn remove_role(g: &Governance, now: Timestamp, tenant: TenantId, p: &mut AccessPackage, role: ResourceRole) -> GraphResult<Entry> {
    if !p.roles.remove(&role) {
        return Err(GraphError::not_found(format!("the access package does not grant '{}'", role.origin_id())));
    }
    p.modified_date_time = now;
    g.put_access_package(tenant, p).await?;
    let e = entry("Remove resource role from access package", AuditOperation::Update, "AccessPackage", p.id).named(Some(&p.display_name)).change(
        "resourceRoleScopes",
        Some(role.origin_id()),
        None,
    );
    Ok(e)
}

/// Marks `other` incompatible with `p` (`incompatibleAccessPackages/$ref`): another
/// package of the tenant; nothing when it already is.
pub(crate) async fn add_incompatible(g: &Governance, now: Timestamp, tenant: TenantId, p: &mut AccessPackage, other: PackageId) -> GraphResult<Option<Entry>> {
    if other == p.id {
        return Err(GraphError::bad_request("an access package cannot be incompatible with itself"));
    }
    match g.access_package(tenant, other).await {
        Ok(_) => {}
        Err(GovernanceError::NotFound { .. }) => return Err(GraphError::bad_request(format!("no access package '{other}' in the tenant"))),
        Err(e) => return Err(e.into()),
    }
    if !p.incompatible_packages.insert(other) {
        return Ok(None);
    }
    p.modified_date_time = now;
    g.put_access_package(tenant, p).await?;
    let e = entry("Add incompatible access package", AuditOperation::Update, "AccessPackage", p.id).named(Some(&p.display_name)).change(
        "incompatibleAccessPackages",
        None,
        Some(other.to_string()),
    );
    Ok(Some(e))
}

/// Removes `other` from the packages incompatible with `p`; one that is not is a 404.
pub(crate) async fn remove_incompatible(g: &Governance, now: Timestamp, tenant: TenantId, p: &mut AccessPackage, other: PackageId) -> GraphResult<Entry> {
    if !p.incompatible_packages.remove(&other) {
        return Err(GraphError::not_found(format!("access package '{other}' is not incompatible with this one")));
    }
    p.modified_date_time = now;
    g.put_access_package(tenant, p).await?;
    let e = entry("Remove incompatible access package", AuditOperation::Update, "AccessPackage", p.id).named(Some(&p.display_name)).change(
        "incompatibleAccessPackages",
        Some(other.to_string()),
        None,
    );
    Ok(e)
}

/// Replaces policy `old` by `policy` (`PUT assignmentPolicies/{id}`): its id and package
/// stay; governance checks the rest.
pub(crate) async fn replace_policy(g: &Governance, tenant: TenantId, old: &AssignmentPolicy, policy: &AssignmentPolicy) -> GraphResult<Entry> {
    if policy.id != old.id {
        return Err(GraphError::bad_request("a policy keeps its id"));
    }
    if policy.access_package_id != old.access_package_id {
        return Err(GraphError::bad_request("a policy stays with its access package: accessPackage.id cannot change"));
    }
    g.put_policy(tenant, policy).await?;
    Ok(entry("Update assignment policy", AuditOperation::Update, "AccessPackageAssignmentPolicy", policy.id).named(Some(&policy.display_name)))
}
