//! The pure domain of tenantsync.
//!
//! Tenants hold users and groups. A user or group is either *internal* (homed in its
//! tenant) or *external* (provisioned from another tenant), and an external object
//! carries its [`Anchor`]: the source tenant id plus the source object id. Every write
//! to a directory object produces [`Change`]s in its tenant's change feed.
//!
//! This crate performs no I/O: no files, no network, no database, no clock reads except
//! through the injectable [`Clock`]. Validation lives here ("parse, don't validate"):
//! a [`Upn`], [`Mail`] or [`DomainName`] that exists is well-formed.

mod attributes;
mod change;
mod clock;
mod error;
mod group;
mod ids;
mod names;
mod outcome;
mod sync;
mod tenant;
mod user;
mod whole;

pub use attributes::{AttrValue, AttributeChange, GroupAttribute, UserAttrName, UserAttribute};
pub use change::{Change, ChangeCursor, ChangeOp, ObjectKind};
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{DomainError, ErrorInfo};
pub use group::{Group, GroupAttributes, GroupPatch, NewGroup};
pub use ids::{Anchor, ObjectId, TenantId, Version, new_v7};
pub use names::{DomainName, ExtensionName, Mail, Upn};
pub use outcome::{ExecutionState, QuarantineReason, SkipReason, StepKind, StepType};
pub use sync::{
    Assignment, AttributeMapping, DEFAULT_DELETION_THRESHOLD, FlowType, MappingSource, PartnerSettings, QuarantineThresholds, RetryPolicy, ScopingClause,
    ScopingFilterGroup, ScopingOperand, SyncConfigId, SyncConfiguration, SyncScope, TargetActions, default_group_mappings, default_user_mappings,
};
pub use tenant::{DEFAULT_SOFT_DELETE_RETENTION_DAYS, NewTenant, Tenant};
/// What the exported macros need, not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use uuid::Uuid;
}
pub use user::{EXTENSION_MAX_LEN, EXTENSION_MAX_VALUES, NewUser, Origin, User, UserAttributes, UserPatch, UserRef, UserType};
pub use whole::UserAttributeSet;
