//! Sync configurations as Graph has them: a **service principal** in the source tenant,
//! instantiated from Entra's cross-tenant sync application template, with one
//! **synchronization job** (`templateId: Azure2Azure`) whose credentials
//! (`synchronization/secrets`, key `CompanyId`) name the target tenant.
//!
//! How they map onto tenantsync: a service principal is an admin object of its tenant
//! (`SyncStore::put_admin_object`, kind `servicePrincipal`) holding its names, whether it
//! has a job, the target and scope its secrets gave, and the users and groups assigned
//! before there is a configuration. The service principal's id **is** the id of the
//! `SyncConfiguration` it becomes; the job's id is `Azure2Azure.<that id in 32 hex
//! digits>`. The configuration is created (through the engine, with its policy check, as
//! Entra's test connection) once the principal has both a job and a target, and is
//! paused until the job's `start`, as a new Entra job is. Until then the job's status is
//! `NotConfigured`. Deleting the job deletes the configuration (what it synced stays);
//! deleting the service principal deletes both.
//!
//! - `principals`: `applicationTemplates/{id}/instantiate`, `servicePrincipals`, the
//!   secrets, `appRoleAssignedTo`;
//! - `jobs`: jobs, their status, start, pause, restart, provisionOnDemand,
//!   validateCredentials;
//! - `schema`: the job's schema (mappings, scoping filters) and `parseExpression`.
mod jobs;
mod principals;
mod schema;

use super::GraphState;
use super::caller::Caller;
use super::error::{GraphError, GraphResult};
use crate::graph::openapi::ApiRouter;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tenantsync_domain::{Assignment, ObjectId, SyncConfigId, SyncConfiguration, SyncScope, TenantId};
use tenantsync_store::{AdminObjectKind, AuditCategory, AuditOperation};

/// Entra's application template of cross-tenant synchronization.
pub const TEMPLATE_ID: &str = "518e5f48-1fc8-4c48-9387-9fdf28b0dfe7";
/// The job template of cross-tenant synchronization.
pub const JOB_TEMPLATE: &str = "Azure2Azure";
/// The app role users and groups are assigned with (`msiam_access`, "default access").
pub const APP_ROLE_ID: &str = "00000000-0000-0000-0000-000000000000";

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    schema::routes(jobs::routes(principals::routes(router)))
}

/// The job id of a configuration.
pub fn job_id(config: ObjectId) -> String {
    format!("{JOB_TEMPLATE}.{}", config.as_uuid().simple())
}

/// The configuration a job id names, if it has the shape of one.
pub fn config_of_job(job: &str) -> Option<SyncConfigId> {
    let hex = job.strip_prefix(JOB_TEMPLATE)?.strip_prefix('.')?;
    if hex.len() != 32 {
        return None;
    }
    hex.parse().ok()
}

/// A service principal of the cross-tenant sync template, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    pub id: ObjectId,
    /// The application object's id and its `appId`.
    pub application_id: ObjectId,
    pub app_id: ObjectId,
    pub display_name: String,
    pub created: Timestamp,
    /// A synchronization job was created.
    #[serde(default)]
    pub job: bool,
    /// The target tenant its secrets named (`CompanyId`).
    #[serde(default)]
    pub target: Option<TenantId>,
    /// `SyncAll` of its secrets: all users, or only assigned ones (the default).
    #[serde(default)]
    pub sync_all: bool,
    /// Its other secrets, kept as given (`SyncNotificationSettings`, …), never shown.
    #[serde(default)]
    pub other_secrets: Vec<(String, String)>,
    /// Users and groups assigned while there is no configuration yet.
    #[serde(default)]
    pub assignments: Vec<Assignment>,
    /// Its configuration exists (id = this id).
    #[serde(default)]
    pub configured: bool,
}

impl Principal {
    pub fn config_id(&self) -> SyncConfigId {
        SyncConfigId::from_bytes(*self.id.as_bytes())
    }

    pub fn job_id(&self) -> String {
        job_id(self.id)
    }
}

/// A service principal of the caller's tenant, or 404.
pub async fn principal(st: &GraphState, caller: &Caller, id: &str) -> GraphResult<Principal> {
    let missing = || GraphError::not_found(format!("service principal '{id}' does not exist"));
    let oid: ObjectId = id.parse().map_err(|_| missing())?;
    let body = st.store.admin_object(caller.tenant, AdminObjectKind::ServicePrincipal, oid).await?.ok_or_else(missing)?;
    serde_json::from_str(&body).map_err(|e| {
        tracing::error!(error = %e, "a stored service principal does not read back");
        GraphError::internal()
    })
}

/// Stores a service principal with the audit record of the change (one transaction).
pub async fn save(st: &GraphState, caller: &Caller, p: &Principal, entry: super::audit::Entry) -> GraphResult<()> {
    let body = serde_json::to_string(p).map_err(|_| GraphError::internal())?;
    st.store.put_admin_object(caller.tenant, AdminObjectKind::ServicePrincipal, p.id, body, entry.record(st, caller)).await?;
    Ok(())
}

/// An audit entry about a service principal.
pub fn entry(activity: &str, op: AuditOperation, p: &Principal) -> super::audit::Entry {
    super::audit::Entry::new(activity, op, AuditCategory::ApplicationManagement, "ServicePrincipal", p.id).named(Some(&p.display_name))
}

/// The configuration of a principal, when it has one.
pub async fn configuration(st: &GraphState, p: &Principal) -> GraphResult<Option<SyncConfiguration>> {
    if !p.configured {
        return Ok(None);
    }
    Ok(Some(st.store.get_sync_configuration(p.config_id()).await?))
}

/// Creates the configuration once the principal has a job and a target: validated and
/// policy-checked by the engine, then paused until the job is started. Marks the
/// principal configured (the caller saves it).
pub async fn ensure_configuration(st: &GraphState, caller: &Caller, p: &mut Principal) -> GraphResult<()> {
    let (true, Some(target), false) = (p.job, p.target, p.configured) else { return Ok(()) };
    let mut config = SyncConfiguration::new(&p.display_name, caller.tenant, target)?;
    config.id = p.config_id();
    config.scope = if p.sync_all { SyncScope::AllUsers } else { SyncScope::AssignedUsersAndGroups };
    config.assignments = std::mem::take(&mut p.assignments);
    let created = match st.engine.create_configuration(config).await {
        Ok(c) => c,
        Err(e) => {
            // Keep the assignments for the next try.
            return Err(e.into());
        }
    };
    st.engine.pause(created.id).await?;
    p.configured = true;
    tracing::info!(configuration = %created.display_name, target = %target, "admin API: sync configuration created (paused until its job is started)");
    super::audit::after(
        st,
        caller,
        super::audit::Entry::new("Add provisioning configuration", AuditOperation::Add, AuditCategory::ProvisioningManagement, "ServicePrincipal", p.id)
            .named(Some(&p.display_name))
            .change("CompanyId", None, Some(target.to_string())),
    )
    .await;
    Ok(())
}

/// Deletes the principal's configuration (what it synced stays); the caller saves.
pub async fn drop_configuration(st: &GraphState, p: &mut Principal) -> GraphResult<()> {
    if p.configured {
        match st.store.delete_sync_configuration(p.config_id()).await {
            Ok(()) | Err(tenantsync_store::StoreError::SyncConfigNotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        p.configured = false;
        tracing::info!(configuration = %p.display_name, "admin API: sync configuration deleted");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_name_their_configuration() {
        let id = ObjectId::new();
        let job = job_id(id);
        assert!(job.starts_with("Azure2Azure.") && job.len() == "Azure2Azure.".len() + 32);
        assert_eq!(config_of_job(&job), Some(SyncConfigId::from_bytes(*id.as_bytes())));
        for bad in ["Azure2Azure", "Azure2Azure.xyz", "Other.0123456789abcdef0123456789abcdef", &id.to_string()] {
            assert_eq!(config_of_job(bad), None, "{bad}");
        }
    }
}
