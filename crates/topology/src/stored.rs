//! The store's entitlement management in the file's terms: connected organizations,
//! catalogs, access packages and their policies (sponsors and approvers by
//! userPrincipalName, groups by display name, sync configurations by their target), and
//! the live counts of the just-in-time links they make. One reader for every drawing of
//! the store's topology: `tenantsync topology show/draw/plan` reads every tenant, the
//! console's topology page reads the session's tenant only, and both draw the same links
//! with the same counts. It reads through governance and the store's traits (no SQL, no
//! files): everything it names comes from the caller's store.
use crate::jit::JitLink;
use crate::packages::{CatalogState, IdentityState, OrganizationState, PackageState, PolicyState, RequestorsSpec};
use crate::policy::{AutoState, EscalationState, NoResponseSpec, QuestionState, ReviewState, StageState};
use std::collections::BTreeMap;
use tenantsync_access::{
    AccessPackage, AssignmentPolicy, Catalog, ConnectedOrgId, ConnectedOrgState, ConnectedOrganization, Expiration, IdentitySource, IsoDuration, NoResponse,
    Question, ResourceOrigin, SubjectSet, TargetScope,
};
use tenantsync_domain::{ObjectId, SyncConfiguration, Tenant, TenantId};
use tenantsync_governance::{Governance, GovernanceError};
use tenantsync_store::SyncStore;

/// The store's definitions, by label (`tenant: name`), with what plan and apply need of them.
#[derive(Debug, Default)]
pub struct Definitions {
    pub orgs: BTreeMap<String, ConnectedOrganization>,
    pub catalogs: BTreeMap<String, Catalog>,
    /// Each package with its policies.
    pub packages: BTreeMap<String, (AccessPackage, Vec<AssignmentPolicy>)>,
}

/// What the reader found, as the state holds it, and the definitions behind it.
#[derive(Debug, Default)]
pub struct Read {
    pub organizations: Vec<OrganizationState>,
    pub catalogs: Vec<CatalogState>,
    pub packages: Vec<PackageState>,
    pub defs: Definitions,
}

/// A read that failed: what was being read (`tenant 'contoso.example'`, `access package
/// 'contoso.example: Projects'`) and why.
#[derive(Debug)]
pub struct ReadError {
    pub subject: String,
    pub error: GovernanceError,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.subject, self.error)
    }
}

impl std::error::Error for ReadError {}

const DAY: u64 = 86_400;

fn days(d: IsoDuration) -> u32 {
    u32::try_from(d.as_seconds() / DAY).unwrap_or(u32::MAX)
}

fn label(tenant: &str, name: &str) -> String {
    format!("{tenant}: {name}")
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort_by_key(|s| s.to_ascii_lowercase());
    v
}

/// A user's UPN, lowercase (its id when it is gone).
async fn upn(store: &dyn SyncStore, tenant: TenantId, id: ObjectId) -> String {
    store.get_user(tenant, id).await.map_or_else(|_| id.to_string(), |u| u.attrs.user_principal_name.as_str().to_ascii_lowercase())
}

/// A tenant's initial domain as the file spells it: lowercase.
pub fn domain(t: &Tenant) -> String {
    t.initial_domain.as_str().to_ascii_lowercase()
}

/// The domain of tenant `id`: from `tenants`, else from the store (a connected
/// organization's home tenant the caller did not read), else its id.
async fn domain_of(store: &dyn SyncStore, tenants: &BTreeMap<String, Tenant>, id: TenantId) -> String {
    match tenants.iter().find(|(_, t)| t.id == id) {
        Some((d, _)) => d.clone(),
        None => store.get_tenant(id).await.map_or_else(|_| id.to_string(), |t| domain(&t)),
    }
}

/// Reads the definitions of the tenants of `tenants` (by domain; only `only` when given),
/// sorted by label as the file's states are.
pub async fn read(gov: &Governance, tenants: &BTreeMap<String, Tenant>, only: Option<TenantId>, configs: &[SyncConfiguration]) -> Result<Read, ReadError> {
    let store: &dyn SyncStore = gov.store().as_ref();
    let mut out = Read::default();
    for (d, t) in tenants.iter().filter(|(_, t)| only.is_none_or(|o| o == t.id)) {
        let failed = |error: GovernanceError| ReadError { subject: format!("tenant '{d}'"), error };
        let org_list = gov.connected_organizations(t.id).await.map_err(failed)?;
        let mut org_names: BTreeMap<ConnectedOrgId, String> = BTreeMap::new();
        for o in org_list.into_iter().filter(|o| o.state == ConnectedOrgState::Configured) {
            let identity = match o.identity_sources.first() {
                Some(IdentitySource::Tenant { tenant_id, .. }) => IdentityState::Tenant(domain_of(store, tenants, *tenant_id).await),
                Some(IdentitySource::Domain { domain_name, .. }) => IdentityState::Domain(domain_name.as_str().to_ascii_lowercase()),
                None => continue,
            };
            let mut sponsors = Vec::new();
            for s in &o.internal_sponsors {
                sponsors.push(upn(store, t.id, *s).await);
            }
            org_names.insert(o.id, o.display_name.clone());
            out.organizations.push(OrganizationState { tenant: d.clone(), name: o.display_name.clone(), identity, sponsors: sorted(sponsors) });
            out.defs.orgs.insert(label(d, &o.display_name), o);
        }
        let catalog_list = gov.catalogs(t.id).await.map_err(failed)?;
        for c in &catalog_list {
            out.catalogs.push(CatalogState { tenant: d.clone(), name: c.display_name.clone(), external: c.is_externally_visible });
            out.defs.catalogs.insert(label(d, &c.display_name), c.clone());
        }
        for p in gov.access_packages(t.id).await.map_err(failed)? {
            let (mut groups, mut syncs) = (Vec::new(), Vec::new());
            for role in &p.roles {
                match role.origin {
                    ResourceOrigin::Group(g) => groups.push(store.get_group(t.id, g).await.map_or_else(|_| g.to_string(), |g| g.attrs.display_name)),
                    ResourceOrigin::SyncConfiguration(c) => syncs.push(match configs.iter().find(|x| x.id == c) {
                        Some(x) => domain_of(store, tenants, x.target_tenant_id).await,
                        None => c.to_string(),
                    }),
                }
            }
            let policies = gov.policies_of(t.id, p.id).await.map_err(failed)?;
            let mut states = Vec::new();
            for x in &policies {
                states.push(policy_state(store, t.id, x, &org_names).await);
            }
            states.sort_by_key(|x| x.name.to_ascii_lowercase());
            let catalog = catalog_list.iter().find(|c| c.id == p.catalog_id).map_or_else(|| p.catalog_id.to_string(), |c| c.display_name.clone());
            out.packages.push(PackageState {
                tenant: d.clone(),
                catalog,
                name: p.display_name.clone(),
                hidden: p.is_hidden,
                groups: sorted(groups),
                syncs: sorted(syncs),
                policies: states,
            });
            out.defs.packages.insert(label(d, &p.display_name), (p, policies));
        }
    }
    out.organizations.sort_by_key(OrganizationState::label);
    out.catalogs.sort_by_key(CatalogState::label);
    out.packages.sort_by_key(PackageState::label);
    Ok(out)
}

async fn policy_state(store: &dyn SyncStore, tenant: TenantId, x: &AssignmentPolicy, orgs: &BTreeMap<ConnectedOrgId, String>) -> PolicyState {
    let requestors = match x.allowed_target_scope {
        TargetScope::SpecificConnectedOrganizationUsers => RequestorsSpec::Organizations,
        TargetScope::AllConfiguredConnectedOrganizationUsers => RequestorsSpec::AllOrganizations,
        TargetScope::AllExternalUsers => RequestorsSpec::AllExternal,
        TargetScope::AllMemberUsers => RequestorsSpec::Members,
        TargetScope::AllDirectoryUsers => RequestorsSpec::AllUsers,
        TargetScope::NotSpecified | TargetScope::SpecificDirectoryUsers | TargetScope::UnknownFutureValue => RequestorsSpec::Admins,
    };
    let organizations = x
        .specific_allowed_targets
        .iter()
        .filter_map(|s| match s {
            SubjectSet::ConnectedOrganizationMembers { connected_organization_id } => {
                Some(orgs.get(connected_organization_id).cloned().unwrap_or_else(|| connected_organization_id.to_string()))
            }
            _ => None,
        })
        .collect();
    let a = &x.request_approval_settings;
    let mut approvers = Vec::new();
    let mut stages = Vec::new();
    for stage in &a.stages {
        approvers.push(names(store, tenant, &stage.primary_approvers).await);
        let escalation = if stage.is_escalation_enabled {
            Some(EscalationState { after_days: days(stage.duration_before_escalation), to: names(store, tenant, &stage.escalation_approvers).await })
        } else {
            None
        };
        stages.push(StageState { approval_days: days(stage.duration_before_automatic_denial), escalation });
    }
    let questions = x
        .questions
        .iter()
        .map(|q| match q {
            Question::Text { text, is_required, regex_pattern, .. } => {
                QuestionState { text: text.clone(), required: *is_required, choices: Vec::new(), pattern: regex_pattern.clone() }
            }
            Question::Choice { text, is_required, choices, .. } => {
                QuestionState { text: text.clone(), required: *is_required, choices: choices.clone(), pattern: None }
            }
        })
        .collect();
    let review = match &x.review_settings {
        None => None,
        Some(r) => Some(ReviewState {
            starts: crate::policy::start_text(r.start_date_time),
            every_months: r.recurrence_months,
            duration_days: days(r.duration),
            reviewers: if r.is_self_review { vec!["self".to_owned()] } else { names(store, tenant, &r.primary_reviewers).await },
            fallback_reviewers: names(store, tenant, &r.fallback_reviewers).await,
            no_response: match r.expiration_behavior {
                NoResponse::RemoveAccess => NoResponseSpec::Remove,
                NoResponse::AcceptAccessRecommendation => NoResponseSpec::Recommendation,
                NoResponse::KeepAccess | NoResponse::UnknownFutureValue => NoResponseSpec::Keep,
            },
            recommendations: r.is_recommendation_enabled,
            justification: r.is_reviewer_justification_required,
            enabled: r.is_enabled,
        }),
    };
    let auto = x.automatic_request_settings.map(|s| {
        let rules: Vec<&str> = x
            .specific_allowed_targets
            .iter()
            .filter_map(|t| match t {
                SubjectSet::AttributeRuleMembers { membership_rule } => Some(membership_rule.trim()),
                _ => None,
            })
            .collect();
        AutoState {
            rule: rules.join("\nOR\n"),
            grace_days: days(s.grace_period_before_access_removal),
            remove_when_leaving: s.remove_access_when_target_leaves_allowed_targets,
        }
    });
    PolicyState {
        name: x.display_name.clone(),
        requestors,
        organizations: sorted(organizations),
        approvers,
        approval_days: stages.first().map_or(crate::packages::DEFAULT_APPROVAL_DAYS, |s| s.approval_days),
        expire_days: match x.expiration {
            Expiration::AfterDuration { duration } => Some(days(duration)),
            Expiration::NoExpiration | Expiration::AfterDateTime { .. } => None,
        },
        extendable: x.requestor_settings.enable_targets_to_self_update_access,
        self_remove: x.requestor_settings.enable_targets_to_self_remove_access,
        justification: a.is_requestor_justification_required,
        stages,
        questions,
        review,
        auto,
    }
}

/// The names of a set of approvers or reviewers, as the file writes them, sorted.
async fn names(store: &dyn SyncStore, tenant: TenantId, sets: &[SubjectSet]) -> Vec<String> {
    let mut names = Vec::new();
    for s in sets {
        names.push(match s {
            SubjectSet::InternalSponsors {} => "sponsors".to_owned(),
            SubjectSet::ExternalSponsors {} => "external-sponsors".to_owned(),
            SubjectSet::RequestorManager { manager_level: 2 } => "manager2".to_owned(),
            SubjectSet::RequestorManager { .. } => "manager".to_owned(),
            SubjectSet::SingleUser { user_id } => upn(store, tenant, *user_id).await,
            SubjectSet::GroupMembers { group_id } => {
                format!("group:{}", store.get_group(tenant, *group_id).await.map_or_else(|_| group_id.to_string(), |g| g.attrs.display_name))
            }
            SubjectSet::ConnectedOrganizationMembers { connected_organization_id } => format!("organization:{connected_organization_id}"),
            SubjectSet::AttributeRuleMembers { membership_rule } => format!("rule:{membership_rule}"),
        });
    }
    sorted(names)
}

/// A just-in-time link's live counts: of the packages it stands for, the assignments
/// held and the requests waiting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkCounts {
    pub assignments: u64,
    pub pending_requests: u64,
}

impl LinkCounts {
    /// How a drawing's label and a table say them.
    pub fn text(&self) -> String {
        format!("{} assigned, {} pending", self.assignments, self.pending_requests)
    }
}

/// A link's counts, by one count query per package it stands for (whatever the number
/// of assignments or requests); `target` is the link's tenant.
pub async fn link_counts(gov: &Governance, target: TenantId, link: &JitLink, defs: &Definitions) -> Result<LinkCounts, ReadError> {
    let mut counts = LinkCounts::default();
    for name in &link.packages {
        let Some((p, _)) = defs.packages.get(&label(&link.target, name)) else { continue };
        let c = gov
            .store()
            .count_access(target, p.id)
            .await
            .map_err(|e| ReadError { subject: format!("access package '{}: {name}'", link.target), error: e.into() })?;
        counts.assignments += c.assignments;
        counts.pending_requests += c.pending_requests;
    }
    Ok(counts)
}

/// The label of a just-in-time link in a drawing: its packages, and its counts when the
/// store's.
pub fn link_label(link: &JitLink, counts: Option<&LinkCounts>) -> String {
    let text = crate::draw::jit_label(link);
    match counts {
        Some(c) => format!("{text} · {}", c.text()),
        None => text,
    }
}
