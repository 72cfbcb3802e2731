//! Definitions: connected organizations, catalogs with their resources, access packages,
//! assignment policies, and the tenant's settings, kept as documents of the access
//! crate's types.
use crate::{Governance, GovernanceError, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tenantsync_access::{
    AccessPackage, AssignmentPolicy, Catalog, CatalogId, ConnectedOrgId, ConnectedOrganization, ExternalUserLifecycle, MAX_POLICIES, PackageId, PolicyId,
    ResourceOrigin, ResourceRole, RoleKind,
};
use tenantsync_domain::{ObjectId, TenantId};
use tenantsync_store::{AccessObjectKind, IdRange};

/// The tenant's entitlement management settings (Graph's `entitlementManagementSettings`).
pub type Settings = ExternalUserLifecycle;

/// A resource of a catalog, as an admin adds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Group(ObjectId),
    SyncConfiguration(tenantsync_domain::SyncConfigId),
}

fn to_json<T: Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| GovernanceError::Store(tenantsync_store::StoreError::Internal { message: e.to_string() }))
}

fn from_json<T: DeserializeOwned>(v: serde_json::Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| GovernanceError::Store(tenantsync_store::StoreError::Internal { message: format!("stored definition: {e}") }))
}

impl Governance {
    async fn put<T: Serialize>(&self, tenant: TenantId, kind: AccessObjectKind, id: ObjectId, v: &T) -> Result<()> {
        Ok(self.store.put_access_object(tenant, kind, id, to_json(v)?).await?)
    }

    async fn get<T: DeserializeOwned>(&self, tenant: TenantId, kind: AccessObjectKind, id: ObjectId, what: &'static str) -> Result<T> {
        let v = self.store.access_object(tenant, kind, id).await?.ok_or_else(|| GovernanceError::not_found(what, id))?;
        from_json(v)
    }

    pub(crate) async fn all<T: DeserializeOwned>(&self, tenant: TenantId, kind: AccessObjectKind) -> Result<Vec<T>> {
        self.store.access_objects(tenant, kind).await?.into_iter().map(from_json).collect()
    }

    /// The first `limit` packages of the tenant that `keep` keeps, in id order (a
    /// catalog's packages, the candidates of a choice): [`Governance::first_where`].
    pub async fn packages_where(&self, tenant: TenantId, keep: &(dyn Fn(&AccessPackage) -> bool + Send + Sync), limit: usize) -> Result<Vec<AccessPackage>> {
        Ok(self.first_where(tenant, AccessObjectKind::AccessPackage, keep, None, limit).await?.into_iter().map(|(_, p)| p).collect())
    }

    /// The first `limit` definitions of `kind` after `after` that `keep` keeps, in id
    /// order, each with its id, read a batch at a time: a page's worth in memory, not the
    /// tenant's every definition (a filtered list of the admin API, a review's instances).
    pub async fn first_where<T: DeserializeOwned>(
        &self,
        tenant: TenantId,
        kind: AccessObjectKind,
        keep: &(dyn Fn(&T) -> bool + Send + Sync),
        after: Option<ObjectId>,
        limit: usize,
    ) -> Result<Vec<(ObjectId, T)>> {
        const BATCH: u32 = 200;
        let mut range = IdRange { after, before: None, limit: BATCH };
        let mut out = Vec::new();
        loop {
            let batch: Vec<(ObjectId, T)> = self.page(tenant, kind, range).await?;
            let read = batch.len();
            range.after = batch.last().map(|(id, _)| *id);
            out.extend(batch.into_iter().filter(|(_, v)| keep(v)).take(limit.saturating_sub(out.len())));
            if out.len() >= limit || read < BATCH as usize {
                return Ok(out);
            }
        }
    }

    /// A page of the tenant's definitions of `kind` (connected organizations, catalogs,
    /// packages, policies, review instances), in id order, each with its id: what a
    /// list shows, read by the store's key whatever the number kept.
    pub async fn page<T: DeserializeOwned>(&self, tenant: TenantId, kind: AccessObjectKind, range: IdRange) -> Result<Vec<(ObjectId, T)>> {
        self.store.access_objects_page(tenant, kind, range).await?.into_iter().map(|(id, v)| Ok((id, from_json(v)?))).collect()
    }

    pub async fn put_connected_organization(&self, tenant: TenantId, org: &ConnectedOrganization) -> Result<()> {
        self.put(tenant, AccessObjectKind::ConnectedOrganization, oid(org.id.as_bytes()), org).await
    }

    pub async fn connected_organization(&self, tenant: TenantId, id: ConnectedOrgId) -> Result<ConnectedOrganization> {
        self.get(tenant, AccessObjectKind::ConnectedOrganization, oid(id.as_bytes()), "connected organization").await
    }

    pub async fn connected_organizations(&self, tenant: TenantId) -> Result<Vec<ConnectedOrganization>> {
        self.all(tenant, AccessObjectKind::ConnectedOrganization).await
    }

    pub async fn put_catalog(&self, tenant: TenantId, catalog: &Catalog) -> Result<()> {
        self.put(tenant, AccessObjectKind::Catalog, oid(catalog.id.as_bytes()), catalog).await
    }

    pub async fn catalog(&self, tenant: TenantId, id: CatalogId) -> Result<Catalog> {
        self.get(tenant, AccessObjectKind::Catalog, oid(id.as_bytes()), "catalog").await
    }

    pub async fn catalogs(&self, tenant: TenantId) -> Result<Vec<Catalog>> {
        self.all(tenant, AccessObjectKind::Catalog).await
    }

    /// Stores a package after checking that each of its roles is a resource of the tenant
    /// (a live group; a configuration whose source is the tenant) and its catalog exists.
    pub async fn put_access_package(&self, tenant: TenantId, package: &AccessPackage) -> Result<()> {
        self.catalog(tenant, package.catalog_id).await?;
        for role in &package.roles {
            self.check_resource(tenant, role.origin).await?;
        }
        if grants_sync(package) && self.policies_of(tenant, package.id).await?.iter().any(|p| p.allowed_target_scope.is_external()) {
            return Err(GovernanceError::SyncRoleForGuests { package: package.id.to_string() });
        }
        // What a package grants is a resource of its catalog.
        for role in &package.roles {
            self.bring_in(tenant, package.catalog_id, role.origin).await?;
        }
        self.put(tenant, AccessObjectKind::AccessPackage, oid(package.id.as_bytes()), package).await
    }

    pub async fn access_package(&self, tenant: TenantId, id: PackageId) -> Result<AccessPackage> {
        self.get(tenant, AccessObjectKind::AccessPackage, oid(id.as_bytes()), "access package").await
    }

    pub async fn access_packages(&self, tenant: TenantId) -> Result<Vec<AccessPackage>> {
        self.all(tenant, AccessObjectKind::AccessPackage).await
    }

    /// Stores a policy after its own checks and the package's limit of 10 policies.
    pub async fn put_policy(&self, tenant: TenantId, policy: &AssignmentPolicy) -> Result<()> {
        policy.check()?;
        if policy.automatic_request_settings.is_some() {
            crate::Rule::of(policy)?;
        }
        let package = self.access_package(tenant, policy.access_package_id).await?;
        if policy.allowed_target_scope.is_external() && grants_sync(&package) {
            return Err(GovernanceError::SyncRoleForGuests { package: package.id.to_string() });
        }
        let others = self.policies_of(tenant, policy.access_package_id).await?;
        if !others.iter().any(|p| p.id == policy.id) && others.len() >= MAX_POLICIES {
            return Err(GovernanceError::TooManyPolicies);
        }
        self.put(tenant, AccessObjectKind::AssignmentPolicy, oid(policy.id.as_bytes()), policy).await
    }

    pub async fn policy(&self, tenant: TenantId, id: PolicyId) -> Result<AssignmentPolicy> {
        self.get(tenant, AccessObjectKind::AssignmentPolicy, oid(id.as_bytes()), "assignment policy").await
    }

    /// Every policy of the tenant, of every package.
    pub async fn policies(&self, tenant: TenantId) -> Result<Vec<AssignmentPolicy>> {
        self.all(tenant, AccessObjectKind::AssignmentPolicy).await
    }

    pub async fn policies_of(&self, tenant: TenantId, package: PackageId) -> Result<Vec<AssignmentPolicy>> {
        let all: Vec<AssignmentPolicy> = self.all(tenant, AccessObjectKind::AssignmentPolicy).await?;
        Ok(all.into_iter().filter(|p| p.access_package_id == package).collect())
    }

    /// The tenant's settings (Entra's defaults until set).
    pub async fn settings(&self, tenant: TenantId) -> Result<Settings> {
        match self.store.access_object(tenant, AccessObjectKind::Settings, SETTINGS_ID).await? {
            Some(v) => from_json(v),
            None => Ok(Settings::default()),
        }
    }

    pub async fn set_settings(&self, tenant: TenantId, settings: &Settings) -> Result<()> {
        self.put(tenant, AccessObjectKind::Settings, SETTINGS_ID, settings).await
    }

    pub(crate) async fn check_resource(&self, tenant: TenantId, origin: ResourceOrigin) -> Result<()> {
        let bad =
            |reason: &str| GovernanceError::InvalidResource { resource: ResourceRole { origin, role: RoleKind::Member }.origin_id(), reason: reason.into() };
        match origin {
            ResourceOrigin::Group(g) => match self.store.get_group(tenant, g).await {
                Ok(group) if !group.is_deleted() => Ok(()),
                Ok(_) => Err(bad("the group is deleted")),
                Err(tenantsync_store::StoreError::NotFound { .. }) => Err(bad("no such group in the tenant")),
                Err(e) => Err(e.into()),
            },
            ResourceOrigin::SyncConfiguration(c) => match self.store.get_sync_configuration(c).await {
                Ok(config) if config.source_tenant_id == tenant => Ok(()),
                Ok(_) => Err(bad("the sync configuration's source is another tenant")),
                Err(tenantsync_store::StoreError::SyncConfigNotFound { .. }) => Err(bad("no such sync configuration")),
                Err(e) => Err(e.into()),
            },
        }
    }
}

/// Whether a package grants a sync configuration's assignment. Only a tenant's internal
/// members are synced (a guest is someone else's copy), so such a package is for the
/// tenant's own people: a policy for outsiders on it would deliver an assignment that
/// provisions no one.
fn grants_sync(package: &AccessPackage) -> bool {
    package.roles.iter().any(|r| matches!(r.origin, ResourceOrigin::SyncConfiguration(_)))
}

/// The id the settings document is kept under (the nil UUID).
const SETTINGS_ID: ObjectId = ObjectId::from_bytes([0; 16]);

/// The ids of the access crate and the domain are UUIDs alike.
pub(crate) fn oid(bytes: &[u8; 16]) -> ObjectId {
    ObjectId::from_bytes(*bytes)
}
