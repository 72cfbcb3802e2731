//! Tenants.
use crate::{DomainError, DomainName, TenantId};
use jiff::Timestamp;
use serde::Serialize;

/// How long soft-deleted objects are kept before a purge removes them, unless the
/// tenant says otherwise (Entra keeps deleted users for 30 days).
pub const DEFAULT_SOFT_DELETE_RETENTION_DAYS: u32 = 30;

/// A directory of users and groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub id: TenantId,
    pub display_name: String,
    /// Unique among tenants; the domain of external users' B2B UPNs in this tenant.
    pub initial_domain: DomainName,
    pub created_date_time: Timestamp,
    pub soft_delete_retention_days: u32,
}

/// A tenant about to be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTenant {
    pub id: TenantId,
    pub display_name: String,
    pub initial_domain: DomainName,
    pub soft_delete_retention_days: u32,
}

impl NewTenant {
    pub fn new(display_name: &str, initial_domain: &str) -> Result<Self, DomainError> {
        let display_name = display_name.trim();
        if display_name.is_empty() {
            return Err(DomainError::InvalidDisplayName { reason: "it is empty" });
        }
        if display_name.chars().count() > 256 {
            return Err(DomainError::InvalidDisplayName { reason: "it is longer than 256 characters" });
        }
        if display_name.chars().any(char::is_control) {
            return Err(DomainError::InvalidDisplayName { reason: "it contains control characters" });
        }
        Ok(Self {
            id: TenantId::new(),
            display_name: display_name.to_owned(),
            initial_domain: DomainName::parse(initial_domain)?,
            soft_delete_retention_days: DEFAULT_SOFT_DELETE_RETENTION_DAYS,
        })
    }

    pub fn with_retention_days(mut self, days: u32) -> Self {
        self.soft_delete_retention_days = days;
        self
    }
}
