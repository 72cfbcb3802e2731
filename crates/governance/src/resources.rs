//! Catalog resources (Graph's `accessPackageResource`): the groups and sync
//! configurations a catalog's packages grant roles of. They enter and leave a catalog by
//! resource requests (`accessPackageResourceRequest`, `adminAdd` / `adminRemove`,
//! delivered at once), and a package that grants a role of a resource not yet in its
//! catalog brings it in. A resource a package of the catalog still grants cannot be
//! removed (`resource_in_use`).
use crate::definitions::oid;
use crate::{Governance, GovernanceError, Result};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tenantsync_access::{CatalogId, RequestId, RequestState, ResourceId, ResourceOrigin};
use tenantsync_domain::TenantId;
use tenantsync_store::{AccessObjectKind, StoreError};

/// A resource of a catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogResource {
    pub id: ResourceId,
    pub catalog_id: CatalogId,
    pub origin: ResourceOrigin,
    pub display_name: String,
    pub created_date_time: Timestamp,
}

/// What a resource request asks (Graph's `requestType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ResourceRequestType {
    AdminAdd,
    AdminRemove,
    #[serde(other)]
    UnknownFutureValue,
}

/// A request that added a resource to a catalog or removed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRequest {
    pub id: RequestId,
    pub request_type: ResourceRequestType,
    pub state: RequestState,
    pub catalog_id: CatalogId,
    pub resource: CatalogResource,
    pub created_date_time: Timestamp,
}

fn json<T: Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| GovernanceError::Store(StoreError::Internal { message: e.to_string() }))
}

impl Governance {
    /// The resources of a catalog, in the order they came in.
    pub async fn catalog_resources(&self, tenant: TenantId, catalog: CatalogId) -> Result<Vec<CatalogResource>> {
        self.catalog(tenant, catalog).await?;
        let all: Vec<CatalogResource> = self.all(tenant, AccessObjectKind::CatalogResource).await?;
        Ok(all.into_iter().filter(|r| r.catalog_id == catalog).collect())
    }

    /// Every resource request of the tenant, oldest first.
    pub async fn resource_requests(&self, tenant: TenantId) -> Result<Vec<ResourceRequest>> {
        self.all(tenant, AccessObjectKind::ResourceRequest).await
    }

    /// Adds a resource to a catalog or removes it, and records the request. Adding one
    /// that is there already, or removing one that is not, changes nothing.
    pub async fn request_resource(&self, tenant: TenantId, catalog: CatalogId, origin: ResourceOrigin, kind: ResourceRequestType) -> Result<ResourceRequest> {
        let now = self.now();
        let resource = match kind {
            ResourceRequestType::AdminAdd => self.bring_in(tenant, catalog, origin).await?,
            ResourceRequestType::AdminRemove | ResourceRequestType::UnknownFutureValue => {
                let found = self.catalog_resources(tenant, catalog).await?.into_iter().find(|r| r.origin == origin);
                let resource = match found {
                    Some(r) => r,
                    None => CatalogResource {
                        id: ResourceId::new(),
                        catalog_id: catalog,
                        origin,
                        display_name: self.resource_name(tenant, origin).await,
                        created_date_time: now,
                    },
                };
                let packages = self.access_packages(tenant).await?;
                if let Some(p) = packages.iter().find(|p| p.catalog_id == catalog && p.roles.iter().any(|r| r.origin == origin)) {
                    return Err(GovernanceError::ResourceInUse { resource: resource.display_name, package: p.display_name.clone() });
                }
                self.store.delete_access_object(tenant, AccessObjectKind::CatalogResource, oid(resource.id.as_bytes())).await?;
                resource
            }
        };
        let request =
            ResourceRequest { id: RequestId::new(), request_type: kind, state: RequestState::Delivered, catalog_id: catalog, resource, created_date_time: now };
        self.store.put_access_object(tenant, AccessObjectKind::ResourceRequest, oid(request.id.as_bytes()), json(&request)?).await?;
        Ok(request)
    }

    /// The catalog's resource of `origin`, added when it is not there yet (after the
    /// resource's own checks: a live group of the tenant, a configuration from it).
    pub(crate) async fn bring_in(&self, tenant: TenantId, catalog: CatalogId, origin: ResourceOrigin) -> Result<CatalogResource> {
        if let Some(r) = self.catalog_resources(tenant, catalog).await?.into_iter().find(|r| r.origin == origin) {
            return Ok(r);
        }
        self.check_resource(tenant, origin).await?;
        let r = CatalogResource {
            id: ResourceId::new(),
            catalog_id: catalog,
            origin,
            display_name: self.resource_name(tenant, origin).await,
            created_date_time: self.now(),
        };
        self.store.put_access_object(tenant, AccessObjectKind::CatalogResource, oid(r.id.as_bytes()), json(&r)?).await?;
        Ok(r)
    }

    async fn resource_name(&self, tenant: TenantId, origin: ResourceOrigin) -> String {
        match origin {
            ResourceOrigin::Group(g) => self.store.get_group(tenant, g).await.map_or_else(|_| g.to_string(), |g| g.attrs.display_name),
            ResourceOrigin::SyncConfiguration(c) => self.store.get_sync_configuration(c).await.map_or_else(|_| c.to_string(), |c| c.display_name),
        }
    }
}
