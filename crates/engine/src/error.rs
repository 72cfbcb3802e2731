use tenantsync_domain::ErrorInfo;
use tenantsync_store::StoreError;
use thiserror::Error;

/// Why a configuration cannot be saved or a run cannot start. Every variant has one row
/// in the error table below; a configuration error carries the row of its cause (an
/// expression or validation error).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
    /// The cross-tenant access settings do not allow this sync (Entra's policy check).
    #[error("{detail}")]
    PolicyCheck { detail: String },
    #[error("mapping to '{target}': {message}")]
    InvalidMapping { target: String, message: String, cause: ErrorInfo },
    #[error("group mapping to '{target}': {message}")]
    InvalidGroupMapping { target: String, message: String, cause: ErrorInfo },
    #[error("scoping filter: {message}")]
    InvalidScopingFilter { message: String, cause: ErrorInfo },
    /// A mapping failed for the one object provisioned on demand.
    #[error("{message}")]
    MappingFailed { message: String },
    #[error("group provisioning needs the assigned users and groups scope (Entra: \"Sync only assigned users and groups\"), not all users")]
    GroupsNeedAssignedScope,
    #[error("on-demand provisioning of groups is not supported for cross-tenant synchronization; groups are provisioned by cycles")]
    GroupOnDemand,
    #[error("the source and the target are the same tenant")]
    SameTenant,
    #[error("the job is paused; start it first")]
    Paused,
    #[error("the job is running elsewhere (another task or process on this data directory holds its lease)")]
    Leased,
    #[error(transparent)]
    Store(#[from] StoreError),
}

tenantsync_domain::error_table! {
    EngineError {
        PolicyCheck => "AzureActiveDirectoryCrossTenantSyncPolicyCheckFailure", 400, "Entra's code: the cross-tenant access settings do not allow the sync (the cycle writes nothing); in a provisioning log record, a group skipped because the target does not allow inbound group sync";
        MappingFailed => "MappingEvaluationFailed", 400, "Entra's code: a mapping expression failed for one object at run time (the object is escrowed and retried; its log record is a failure); on-demand provisioning reports it as the request's error";
        GroupsNeedAssignedScope => "groups_need_assigned_scope", 400, "group provisioning asked for with the all-users scope";
        GroupOnDemand => "EntityTypeNotSupported", 400, "Entra's code: a group given to on-demand provisioning (groups are provisioned by cycles); as a log skip reason, a group of a configuration that does not provision groups";
        SameTenant => "same_tenant", 400, "a configuration from a tenant to itself";
        Paused => "job_paused", 409, "a cycle of a paused job";
        Leased => "job_running", 409, "another task or process holds the job's lease";
    }
    carried {
        EngineError::InvalidMapping { cause, .. } | EngineError::InvalidGroupMapping { cause, .. } | EngineError::InvalidScopingFilter { cause, .. } => *cause;
        EngineError::Store(e) => e.info();
    }
}

/// Why no plan could be made for one object: it is escrowed and retried (Entra's
/// `MappingEvaluationFailed`, unless the store failed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A mapping's expression failed for this object.
    #[error("{target}: {error}")]
    Mapping { target: String, error: tenantsync_expression::Error },
    /// A mapped value the target attribute cannot take.
    #[error(transparent)]
    Value(#[from] tenantsync_domain::DomainError),
    /// Reading what the plan needs failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PlanError {
    /// The code its log record and escrow carry.
    pub fn code(&self) -> &'static str {
        match self {
            PlanError::Mapping { .. } | PlanError::Value(_) => EngineError::MappingFailed { message: String::new() }.code(),
            PlanError::Store(e) => e.code(),
        }
    }
}
