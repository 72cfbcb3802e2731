//! Entitlement management: the model and rules of just-in-time access across
//! organizations, as Entra has them (connected organizations, catalogs, access packages,
//! assignment policies, requests, approvals, assignments, the external user lifecycle).
//!
//! Pure, like `tenantsync-domain` and `tenantsync-expression`: no I/O and no clock reads.
//! Every rule takes the time it runs at, and what it needs of the directory comes in as
//! plain values ([`Requestor`]) or through [`People`]. Each transition returns what the
//! caller must carry out ([`Effect`], [`AssignmentEvent`]), so the store, the scheduler and
//! the API apply the same decisions.
//!
//! - [`validate`]: the checks a request passes before it exists, each refusal typed.
//! - [`Request`]: the request's state machine (approval stages, escalation, automatic
//!   denial, scheduled starts, delivery, reprocess).
//! - [`Assignment`]: expiry and reminders; [`grants`] and [`GrantDiff`]: a role is held
//!   exactly while some active assignment grants it.
//! - [`ExternalUserLifecycle`]: what happens to a guest whose last assignment ended.
//! - [`open_review`] and [`ReviewInstance`]: access reviews of a policy's assignments.
//! - [`auto_action`]: auto-assignment policies with their grace period.

mod approval;
mod assignment;
mod auto;
mod duration;
mod error;
mod model;
mod policy;
mod request;
mod requestor;
mod review;
mod validate;

pub use approval::{People, ReviewResult, Stage, StageStatus, resolve_sets};
pub use assignment::{Assignment, AssignmentEvent, AssignmentState, ExternalUserLifecycle, GrantDiff, GuestPlan, LifecycleAction, REMINDERS, grants};
pub use auto::{AutoAction, auto_action};
pub use duration::IsoDuration;
pub use error::AccessError;
pub use model::{
    AccessPackage, AssignmentId, Catalog, CatalogId, ConnectedOrgId, ConnectedOrgState, ConnectedOrganization, Home, IdentitySource, PackageId, PolicyId,
    RequestId, ResourceId, ResourceOrigin, ResourceRole, RoleKind, organization_of,
};
pub use policy::{
    ApprovalSettings, ApprovalStageSettings, AssignmentPolicy, AutomaticRequestSettings, Expiration, MAX_EXPIRY_DAYS, MAX_POLICIES, MAX_REVIEW_MONTHS,
    MAX_STAGES, NoResponse, Question, RequestorSettings, ReviewSettings, SubjectSet, TargetScope,
};
pub use request::{Answer, Delivery, Effect, ExternalSubject, Notice, REPROCESS_WINDOW, Request, RequestState, RequestStatus, RequestType, Schedule};
pub use requestor::{Requestor, ScopeMiss, Standing, admits, applicable, in_scope, why_not};
pub use review::{Activity, DecisionItem, LOOK_BACK, Outcome, Recommendation, ReviewDecision, ReviewId, ReviewInstance, ReviewStatus, open as open_review};
pub use validate::{Draft, Held, validate};
