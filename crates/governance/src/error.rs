use tenantsync_access::AccessError;
use tenantsync_domain::{DomainError, error_table};
use tenantsync_engine::EngineError;
use tenantsync_store::StoreError;
use thiserror::Error;

/// What running entitlement management can fail with: a rule's refusal, the store's or
/// the engine's error, or one of this layer's own (the table below).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GovernanceError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("{what} '{id}' not found")]
    NotFound { what: &'static str, id: String },
    #[error("an access package has at most 10 policies")]
    TooManyPolicies,
    #[error("resource {resource}: {reason}")]
    InvalidResource { resource: String, reason: String },
    #[error("assignment {assignment} has ended; only a current assignment can be reprocessed")]
    AssignmentNotActive { assignment: String },
    #[error("resource '{resource}' is granted by access package '{package}'; take it out of the package first")]
    ResourceInUse { resource: String, package: String },
    #[error(
        "access package '{package}' grants a sync configuration's assignment and a policy of it admits people from outside the tenant: only the tenant's internal members are synced, so a guest would get the assignment and never be provisioned; give the sync role its own package with a policy for the tenant's users"
    )]
    SyncRoleForGuests { package: String },
}

error_table! {
    GovernanceError {
        NotFound => "access_object_not_found", 404, "no connected organization, catalog, access package, policy, request or assignment with that id in the tenant";
        TooManyPolicies => "too_many_policies", 400, "an eleventh policy for an access package (Entra's limit is 10)";
        InvalidResource => "invalid_resource", 400, "a catalog resource that is not a live group of the tenant or a sync configuration whose source is the tenant";
        AssignmentNotActive => "assignment_not_active", 409, "a reprocess of an assignment that has ended (its roles are not granted again)";
        ResourceInUse => "resource_in_use", 409, "a resource removed from a catalog while one of its packages still grants a role of it";
        SyncRoleForGuests => "sync_role_for_guests", 400, "an access package that grants a sync configuration's assignment with a policy for people from outside the tenant (only internal members are synced)";
    }
    carried {
        GovernanceError::Access(e) => e.info();
        GovernanceError::Store(e) => e.info();
        GovernanceError::Engine(e) => e.info();
        GovernanceError::Domain(e) => e.info();
    }
}

impl GovernanceError {
    pub fn not_found(what: &'static str, id: impl ToString) -> GovernanceError {
        GovernanceError::NotFound { what, id: id.to_string() }
    }
}
