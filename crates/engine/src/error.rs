use tenantsync_store::StoreError;
use thiserror::Error;

/// Why a configuration cannot be saved or a run cannot start.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
    /// The cross-tenant access settings do not allow this sync (Entra's policy check).
    #[error("{detail}")]
    PolicyCheck { detail: String },
    #[error("mapping to '{target}': {message}")]
    InvalidMapping { target: String, message: String, code: &'static str },
    #[error("group mapping to '{target}': {message}")]
    InvalidGroupMapping { target: String, message: String, code: &'static str },
    #[error("group provisioning needs the assigned users and groups scope (Entra: \"Sync only assigned users and groups\"), not all users")]
    GroupsNeedAssignedScope,
    #[error("on-demand provisioning of groups is not supported for cross-tenant synchronization; groups are provisioned by cycles")]
    GroupOnDemand,
    #[error("scoping filter: {message}")]
    InvalidScopingFilter { message: String, code: &'static str },
    #[error("the source and the target are the same tenant")]
    SameTenant,
    #[error("the job is paused; start it first")]
    Paused,
    #[error("the job is running elsewhere (another task or process on this data directory holds its lease)")]
    Leased,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl EngineError {
    /// The stable code. Policy failures carry Entra's documented code.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::PolicyCheck { .. } => "AzureActiveDirectoryCrossTenantSyncPolicyCheckFailure",
            EngineError::InvalidMapping { code, .. } | EngineError::InvalidGroupMapping { code, .. } | EngineError::InvalidScopingFilter { code, .. } => code,
            EngineError::GroupsNeedAssignedScope => "groups_need_assigned_scope",
            EngineError::GroupOnDemand => "EntityTypeNotSupported",
            EngineError::SameTenant => "same_tenant",
            EngineError::Paused => "job_paused",
            EngineError::Leased => "job_running",
            EngineError::Store(e) => e.code(),
        }
    }
}
