//! Entitlement management in the file: connected organizations, catalogs and access
//! packages with their resource roles and assignment policies, declared by names (a
//! tenant by name or domain, a sponsor or approver by userPrincipalName, a group by display
//! name, a sync configuration by its target). Read into states like the rest of the file
//! ([`resolve`]), compared setting by setting, and written back ([`export`]).
use crate::error::{Problem, ProblemKind};
use crate::model::unspanned;
use crate::policy::{AutoSpec, AutoState, QuestionSpec, QuestionState, ReviewSpec, ReviewState, StageSpec, StageState};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use toml::Spanned;

/// A partner organization whose people may request the tenant's access packages.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationSpec {
    /// The tenant whose connected organization it is (name or initial domain).
    #[schemars(with = "String")]
    pub tenant: Spanned<String>,
    /// Its display name, unique in the tenant.
    pub name: String,
    /// Its people sign in through this tenant of the file (name or initial domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub identity_tenant: Option<Spanned<String>>,
    /// Or: its people are those with mail in this domain (outside tenantsync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_domain: Option<String>,
    /// Internal sponsors, by userPrincipalName (users of the tenant).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sponsors: Vec<String>,
}

/// A container of access packages.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogSpec {
    /// The tenant (name or initial domain).
    #[schemars(with = "String")]
    pub tenant: Spanned<String>,
    /// Its display name, unique in the tenant.
    pub name: String,
    /// Whether people of connected organizations may request its packages (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<bool>,
}

/// Who may request under a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RequestorsSpec {
    /// No one requests: administrators assign (the default).
    Admins,
    /// People of the connected organizations in `organizations`.
    Organizations,
    /// People of every configured connected organization.
    AllOrganizations,
    /// Anyone from outside (an unknown organization is recorded as proposed).
    AllExternal,
    /// Every member of the tenant (no guests).
    Members,
    /// Everyone in the tenant, guests included.
    AllUsers,
}

/// An assignment policy of an access package.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// Its display name, unique in the package.
    pub name: String,
    /// Who may request (default "admins").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requestors: Option<RequestorsSpec>,
    /// The connected organizations of `requestors = "organizations"`, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organizations: Vec<String>,
    /// Approval stages, in order (at most 3), each a list of approvers: "sponsors",
    /// "external-sponsors", "manager", "manager2", a userPrincipalName, or "group:NAME".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<Vec<String>>,
    /// Days a stage waits for a decision before the request is denied (default 14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_days: Option<u32>,
    /// Days an assignment lasts (default: it does not end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_days: Option<u32>,
    /// Holders may extend their assignment (they are reminded 14 days and 1 day before its end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extendable: Option<bool>,
    /// Holders may give their assignment up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_remove: Option<bool>,
    /// Requestors must give a justification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<bool>,
    /// The approval stages in full, each with its own denial time and escalation (instead
    /// of `approvers` and `approval_days`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageSpec>,
    /// Questions requestors answer, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub question: Vec<QuestionSpec>,
    /// Recurring access reviews of its assignments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewSpec>,
    /// Auto-assignment by a rule (then nobody requests: `requestors` stays "admins").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto: Option<AutoSpec>,
}

/// An access package: the resource roles people request together, and its policies.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackageSpec {
    /// The tenant (name or initial domain).
    #[schemars(with = "String")]
    pub tenant: Spanned<String>,
    /// The catalog it is in, by name.
    pub catalog: String,
    /// Its display name, unique in the tenant.
    pub name: String,
    /// Hidden from browsing (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<bool>,
    /// Groups of the tenant whose membership it grants, by display name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Sync arrows from the tenant it assigns people to, by their target (name or initial domain).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<String>")]
    pub syncs: Vec<Spanned<String>>,
    /// Its assignment policies (at most 10).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy: Vec<PolicySpec>,
}

/// Where a connected organization's people come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityState {
    /// A tenant, by initial domain.
    Tenant(String),
    /// A mail domain.
    Domain(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationState {
    pub tenant: String,
    pub name: String,
    pub identity: IdentityState,
    /// userPrincipalNames, lowercase, sorted.
    pub sponsors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogState {
    pub tenant: String,
    pub name: String,
    pub external: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyState {
    pub name: String,
    pub requestors: RequestorsSpec,
    /// Organization names, sorted.
    pub organizations: Vec<String>,
    /// Approvers per stage, each stage's sorted.
    pub approvers: Vec<Vec<String>>,
    pub approval_days: u32,
    pub expire_days: Option<u32>,
    pub extendable: bool,
    pub self_remove: bool,
    pub justification: bool,
    /// Per stage (as many as `approvers`): its denial time and escalation.
    pub stages: Vec<StageState>,
    pub questions: Vec<QuestionState>,
    pub review: Option<ReviewState>,
    pub auto: Option<AutoState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageState {
    pub tenant: String,
    pub catalog: String,
    pub name: String,
    pub hidden: bool,
    /// Group names, sorted.
    pub groups: Vec<String>,
    /// Target domains of the arrows it assigns to, sorted.
    pub syncs: Vec<String>,
    /// By name.
    pub policies: Vec<PolicyState>,
}

/// Days a stage waits by default.
pub const DEFAULT_APPROVAL_DAYS: u32 = 14;

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort_by_key(|s| s.to_ascii_lowercase());
    v
}

impl OrganizationState {
    pub fn label(&self) -> String {
        format!("{}: {}", self.tenant, self.name)
    }

    pub fn settings(&self) -> BTreeMap<String, String> {
        let mut s = BTreeMap::new();
        match &self.identity {
            IdentityState::Tenant(t) => s.insert("identity_tenant".into(), t.clone()),
            IdentityState::Domain(d) => s.insert("identity_domain".into(), d.clone()),
        };
        s.insert("sponsors".into(), self.sponsors.join(", "));
        s
    }
}

impl CatalogState {
    pub fn label(&self) -> String {
        format!("{}: {}", self.tenant, self.name)
    }

    pub fn settings(&self) -> BTreeMap<String, String> {
        BTreeMap::from([("external".to_owned(), self.external.to_string())])
    }
}

impl PackageState {
    pub fn label(&self) -> String {
        format!("{}: {}", self.tenant, self.name)
    }

    pub fn settings(&self) -> BTreeMap<String, String> {
        let mut s = BTreeMap::new();
        s.insert("catalog".into(), self.catalog.clone());
        s.insert("hidden".into(), self.hidden.to_string());
        s.insert("groups".into(), self.groups.join(", "));
        s.insert("syncs".into(), self.syncs.join(", "));
        for p in &self.policies {
            let key = |k: &str| format!("policy.{}.{k}", p.name);
            let requestors = serde_json::to_value(p.requestors).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            s.insert(key("requestors"), requestors);
            s.insert(key("organizations"), p.organizations.join(", "));
            let stages: Vec<String> = p.approvers.iter().map(|a| a.join(" + ")).collect();
            s.insert(key("approvers"), stages.join(" then "));
            s.insert(key("approval_days"), p.approval_days.to_string());
            s.insert(key("expire_days"), p.expire_days.map_or_else(|| "never".to_owned(), |d| d.to_string()));
            s.insert(key("extendable"), p.extendable.to_string());
            s.insert(key("self_remove"), p.self_remove.to_string());
            s.insert(key("justification"), p.justification.to_string());
            crate::policy::settings(&mut s, &key, &p.stages, &p.questions, p.review.as_ref(), p.auto.as_ref());
        }
        s
    }
}

/// The organizations, catalogs and packages of a file, their tenants found by `tenant`
/// (a name or domain → the domain), sorted by label.
#[allow(clippy::type_complexity)]
pub fn resolve(
    orgs: &[OrganizationSpec],
    catalogs: &[CatalogSpec],
    packages: &[PackageSpec],
    tenant: &dyn Fn(&Spanned<String>) -> Result<String, Problem>,
) -> Result<(Vec<OrganizationState>, Vec<CatalogState>, Vec<PackageState>), Problem> {
    let dup =
        |span: std::ops::Range<usize>, what: &str, label: &str| Problem::new(ProblemKind::DuplicateArrow, span, format!("{what} '{label}' is declared twice"));
    let bad = |span: std::ops::Range<usize>, message: String| Problem::new(ProblemKind::InvalidSetting, span, message);
    let mut out_orgs: Vec<OrganizationState> = Vec::new();
    for o in orgs {
        let identity = match (&o.identity_tenant, &o.identity_domain) {
            (Some(t), None) => IdentityState::Tenant(tenant(t)?),
            (None, Some(d)) => IdentityState::Domain(d.trim().to_ascii_lowercase()),
            _ => return Err(bad(o.tenant.span(), format!("connected organization '{}' needs one of identity_tenant, identity_domain", o.name))),
        };
        let state = OrganizationState {
            tenant: tenant(&o.tenant)?,
            name: o.name.trim().to_owned(),
            identity,
            sponsors: sorted(o.sponsors.iter().map(|s| s.trim().to_ascii_lowercase()).collect()),
        };
        if out_orgs.iter().any(|x| x.tenant == state.tenant && x.name.eq_ignore_ascii_case(&state.name)) {
            return Err(dup(o.tenant.span(), "connected organization", &state.label()));
        }
        out_orgs.push(state);
    }
    let mut out_catalogs: Vec<CatalogState> = Vec::new();
    for c in catalogs {
        let state = CatalogState { tenant: tenant(&c.tenant)?, name: c.name.trim().to_owned(), external: c.external.unwrap_or(true) };
        if out_catalogs.iter().any(|x| x.tenant == state.tenant && x.name.eq_ignore_ascii_case(&state.name)) {
            return Err(dup(c.tenant.span(), "catalog", &state.label()));
        }
        out_catalogs.push(state);
    }
    let mut out_packages: Vec<PackageState> = Vec::new();
    for p in packages {
        let domain = tenant(&p.tenant)?;
        if !out_catalogs.iter().any(|c| c.tenant == domain && c.name.eq_ignore_ascii_case(p.catalog.trim())) {
            return Err(bad(p.tenant.span(), format!("access package '{}': no catalog '{}' of {domain} is declared", p.name, p.catalog)));
        }
        let mut syncs = Vec::new();
        for s in &p.syncs {
            syncs.push(tenant(s)?);
        }
        let mut policies: Vec<PolicyState> = Vec::new();
        for x in &p.policy {
            let requestors = x.requestors.unwrap_or(RequestorsSpec::Admins);
            let organizations = sorted(x.organizations.iter().map(|o| o.trim().to_owned()).collect());
            for o in &organizations {
                if !out_orgs.iter().any(|g| g.tenant == domain && g.name.eq_ignore_ascii_case(o)) {
                    return Err(bad(p.tenant.span(), format!("policy '{}': no connected organization '{o}' of {domain} is declared", x.name)));
                }
            }
            if (requestors == RequestorsSpec::Organizations) == organizations.is_empty() {
                return Err(bad(p.tenant.span(), format!("policy '{}': organizations are named exactly when requestors = \"organizations\"", x.name)));
            }
            let (approvers, stages) = crate::policy::resolve_stages(&x.approvers, x.approval_days, &x.stages, p.tenant.span(), &x.name)?;
            if approvers.len() > 3 || approvers.iter().any(Vec::is_empty) {
                return Err(bad(p.tenant.span(), format!("policy '{}': 0 to 3 approval stages, each with approvers", x.name)));
            }
            let auto = x.auto.as_ref().map(|a| crate::policy::resolve_auto(a, &x.name)).transpose()?;
            if let Some(a) = &x.auto
                && (requestors != RequestorsSpec::Admins || !approvers.is_empty())
            {
                return Err(bad(a.rule.span(), format!("policy '{}': an auto-assignment policy has no requestors and no approvers", x.name)));
            }
            if policies.iter().any(|q| q.name.eq_ignore_ascii_case(x.name.trim())) {
                return Err(dup(p.tenant.span(), "policy", &x.name));
            }
            policies.push(PolicyState {
                name: x.name.trim().to_owned(),
                requestors,
                organizations,
                approval_days: stages.first().map_or(x.approval_days.unwrap_or(DEFAULT_APPROVAL_DAYS), |s| s.approval_days),
                approvers,
                stages,
                questions: crate::policy::resolve_questions(&x.question, &x.name)?,
                review: x.review.as_ref().map(|r| crate::policy::resolve_review(r, &x.name)).transpose()?,
                auto,
                expire_days: x.expire_days,
                extendable: x.extendable.unwrap_or(false),
                self_remove: x.self_remove.unwrap_or(false),
                justification: x.justification.unwrap_or(false),
            });
        }
        if policies.len() > 10 {
            return Err(bad(p.tenant.span(), format!("access package '{}' has more than 10 policies", p.name)));
        }
        policies.sort_by_key(|q| q.name.to_ascii_lowercase());
        let state = PackageState {
            catalog: p.catalog.trim().to_owned(),
            name: p.name.trim().to_owned(),
            hidden: p.hidden.unwrap_or(false),
            groups: sorted(p.groups.iter().map(|g| g.trim().to_owned()).collect()),
            syncs: sorted(syncs),
            policies,
            tenant: domain,
        };
        if out_packages.iter().any(|x| x.tenant == state.tenant && x.name.eq_ignore_ascii_case(&state.name)) {
            return Err(dup(p.tenant.span(), "access package", &state.label()));
        }
        out_packages.push(state);
    }
    out_orgs.sort_by_key(OrganizationState::label);
    out_catalogs.sort_by_key(CatalogState::label);
    out_packages.sort_by_key(PackageState::label);
    Ok((out_orgs, out_catalogs, out_packages))
}

/// The organizations of a state as the file writes them.
pub fn export_orgs(orgs: &[OrganizationState]) -> Vec<OrganizationSpec> {
    orgs.iter()
        .map(|o| {
            let (identity_tenant, identity_domain) = match &o.identity {
                IdentityState::Tenant(t) => (Some(unspanned(t.clone())), None),
                IdentityState::Domain(d) => (None, Some(d.clone())),
            };
            OrganizationSpec { tenant: unspanned(o.tenant.clone()), name: o.name.clone(), identity_tenant, identity_domain, sponsors: o.sponsors.clone() }
        })
        .collect()
}

pub fn export_catalogs(catalogs: &[CatalogState]) -> Vec<CatalogSpec> {
    catalogs.iter().map(|c| CatalogSpec { tenant: unspanned(c.tenant.clone()), name: c.name.clone(), external: (!c.external).then_some(false) }).collect()
}

pub fn export_packages(packages: &[PackageState]) -> Vec<PackageSpec> {
    packages
        .iter()
        .map(|p| PackageSpec {
            tenant: unspanned(p.tenant.clone()),
            catalog: p.catalog.clone(),
            name: p.name.clone(),
            hidden: p.hidden.then_some(true),
            groups: p.groups.clone(),
            syncs: p.syncs.iter().cloned().map(unspanned).collect(),
            policy: p
                .policies
                .iter()
                .map(|x| PolicySpec {
                    name: x.name.clone(),
                    requestors: (x.requestors != RequestorsSpec::Admins).then_some(x.requestors),
                    organizations: x.organizations.clone(),
                    approvers: if stages_of(x).is_some() { Vec::new() } else { x.approvers.clone() },
                    approval_days: (stages_of(x).is_none() && x.approval_days != DEFAULT_APPROVAL_DAYS).then_some(x.approval_days),
                    expire_days: x.expire_days,
                    extendable: x.extendable.then_some(true),
                    self_remove: x.self_remove.then_some(true),
                    justification: x.justification.then_some(true),
                    stages: stages_of(x).unwrap_or_default(),
                    question: crate::policy::export_questions(&x.questions),
                    review: x.review.as_ref().map(crate::policy::export_review),
                    auto: x.auto.as_ref().map(crate::policy::export_auto),
                })
                .collect(),
        })
        .collect()
}

fn stages_of(x: &PolicyState) -> Option<Vec<StageSpec>> {
    crate::policy::export_stages(&x.approvers, &x.stages)
}
