//! Entitlement management as the file names it, written through `tenantsync-governance`,
//! each object on its own (the store's are read in the file's terms by
//! `tenantsync_topology::stored`, which the console's topology page shares).
use crate::cmd::{Ctx, lookup};
use crate::failure::{CliCode, Context, Failure};
use std::collections::{BTreeMap, BTreeSet};
use tenantsync_access::{
    AccessPackage, ApprovalSettings, ApprovalStageSettings, AssignmentPolicy, AutomaticRequestSettings, Catalog, CatalogId, ConnectedOrgId, ConnectedOrgState,
    ConnectedOrganization, Expiration, IdentitySource, IsoDuration, NoResponse, PackageId, PolicyId, Question, RequestorSettings, ResourceOrigin, ResourceRole,
    ReviewSettings, RoleKind, SubjectSet, TargetScope,
};
use tenantsync_domain::{DomainName, ObjectId, Tenant};
use tenantsync_governance::Governance;
use tenantsync_store::AccessObjectKind;
use tenantsync_topology::packages::{IdentityState, PolicyState, RequestorsSpec};
use tenantsync_topology::policy::NoResponseSpec;
pub(crate) use tenantsync_topology::stored::Definitions;

fn governance(ctx: &Ctx) -> Option<Governance> {
    ctx.access.clone().map(Governance::new)
}

/// What apply writes of one object: its kind and label.
pub(crate) enum Target<'a> {
    Organization(&'a str),
    Catalog(&'a str),
    Package(&'a str),
}

/// The store's tenants, configurations and definitions as apply has them when it gets to
/// the definitions (tenants and arrows written before).
pub(crate) struct Have<'a> {
    pub tenants: &'a BTreeMap<String, Tenant>,
    pub defs: &'a Definitions,
}

fn unavailable() -> Failure {
    Failure::cli("entitlement management", "this store does not keep entitlement management", CliCode::InvalidArgument)
}

/// Writes one definition as `desired` declares it, or (`remove`) deletes it.
pub(crate) async fn write(ctx: &Ctx, desired: &tenantsync_topology::State, have: &Have<'_>, target: Target<'_>, remove: bool) -> Result<(), Failure> {
    let gov = governance(ctx).ok_or_else(unavailable)?;
    let store = gov.store().clone();
    let now = ctx.store.clock().now();
    let tenant_of = |domain: &str| have.tenants.get(domain).ok_or_else(|| Failure::cli(format!("tenant '{domain}'"), "not found", CliCode::InvalidTopology));
    match target {
        Target::Organization(l) => {
            let old = have.defs.orgs.get(l);
            if remove {
                let (Some(o), Some((domain, _))) = (old, l.split_once(": ")) else { return Ok(()) };
                let t = tenant_of(domain)?;
                store
                    .delete_access_object(t.id, AccessObjectKind::ConnectedOrganization, ObjectId::from_bytes(*o.id.as_bytes()))
                    .await
                    .about(|| l.to_owned())?;
                return Ok(());
            }
            let Some(o) = desired.organizations.iter().find(|o| o.label() == l) else { return Ok(()) };
            let t = tenant_of(&o.tenant)?;
            let identity_sources = vec![match &o.identity {
                IdentityState::Tenant(d) => {
                    let home = tenant_of(d)?;
                    IdentitySource::Tenant { tenant_id: home.id, display_name: home.display_name.clone() }
                }
                IdentityState::Domain(d) => IdentitySource::Domain { domain_name: DomainName::parse(d).about(|| l.to_owned())?, display_name: d.clone() },
            }];
            let mut internal_sponsors = BTreeSet::new();
            for s in &o.sponsors {
                internal_sponsors.insert(lookup::user_id(ctx.store.as_ref(), t, s).await.map_err(|f| Failure { subject: format!("{l}: {}", f.subject), ..f })?);
            }
            let org = ConnectedOrganization {
                id: old.map_or_else(ConnectedOrgId::new, |x| x.id),
                display_name: o.name.clone(),
                description: old.map(|x| x.description.clone()).unwrap_or_default(),
                identity_sources,
                state: ConnectedOrgState::Configured,
                internal_sponsors,
                external_sponsors: old.map(|x| x.external_sponsors.clone()).unwrap_or_default(),
                external_user_lifecycle: old.and_then(|x| x.external_user_lifecycle),
                created_date_time: old.map_or(now, |x| x.created_date_time),
                modified_date_time: now,
            };
            gov.put_connected_organization(t.id, &org).await.about(|| l.to_owned())
        }
        Target::Catalog(l) => {
            let old = have.defs.catalogs.get(l);
            if remove {
                let (Some(c), Some((domain, _))) = (old, l.split_once(": ")) else { return Ok(()) };
                let t = tenant_of(domain)?;
                store.delete_access_object(t.id, AccessObjectKind::Catalog, ObjectId::from_bytes(*c.id.as_bytes())).await.about(|| l.to_owned())?;
                return Ok(());
            }
            let Some(c) = desired.catalogs.iter().find(|c| c.label() == l) else { return Ok(()) };
            let t = tenant_of(&c.tenant)?;
            let catalog = Catalog {
                id: old.map_or_else(CatalogId::new, |x| x.id),
                display_name: c.name.clone(),
                description: old.map(|x| x.description.clone()).unwrap_or_default(),
                is_externally_visible: c.external,
                created_date_time: old.map_or(now, |x| x.created_date_time),
                modified_date_time: now,
            };
            gov.put_catalog(t.id, &catalog).await.about(|| l.to_owned())
        }
        Target::Package(l) => package(ctx, &gov, desired, have, l, remove, now).await,
    }
}

/// Writes (or removes) one access package and its policies; a policy the file no longer
/// names goes with it.
async fn package(
    ctx: &Ctx,
    gov: &Governance,
    desired: &tenantsync_topology::State,
    have: &Have<'_>,
    l: &str,
    remove: bool,
    now: jiff::Timestamp,
) -> Result<(), Failure> {
    let store = gov.store().clone();
    let subject = || l.to_owned();
    let old = have.defs.packages.get(l);
    let Some((domain, _)) = l.split_once(": ") else { return Ok(()) };
    let Some(t) = have.tenants.get(domain) else { return Ok(()) };
    let new = if remove { None } else { desired.packages.iter().find(|p| p.label() == l) };
    // Policies the file drops (all of them when the package goes) are deleted, after
    // everything the package and its policies name was found.
    let dropped: Vec<ObjectId> = old.map_or_else(Vec::new, |(_, policies)| {
        policies
            .iter()
            .filter(|x| new.is_none_or(|p| !p.policies.iter().any(|n| n.name.eq_ignore_ascii_case(&x.display_name))))
            .map(|x| ObjectId::from_bytes(*x.id.as_bytes()))
            .collect()
    });
    let Some(p) = new else {
        for id in dropped {
            store.delete_access_object(t.id, AccessObjectKind::AssignmentPolicy, id).await.about(subject)?;
        }
        if let Some((o, _)) = old {
            store.delete_access_object(t.id, AccessObjectKind::AccessPackage, ObjectId::from_bytes(*o.id.as_bytes())).await.about(subject)?;
        }
        return Ok(());
    };
    let catalogs = gov.catalogs(t.id).await.about(subject)?;
    let catalog = catalogs
        .iter()
        .find(|c| c.display_name.eq_ignore_ascii_case(&p.catalog))
        .ok_or_else(|| Failure::cli(subject(), format!("no catalog '{}'", p.catalog), CliCode::InvalidTopology))?;
    let mut roles = BTreeSet::new();
    for g in &p.groups {
        let id = lookup::group_id(ctx.store.as_ref(), t, g).await.map_err(|f| Failure { subject: format!("{l}: {}", f.subject), ..f })?;
        roles.extend(ResourceRole::new(ResourceOrigin::Group(id), RoleKind::Member));
    }
    let configs = ctx.sync.list_sync_configurations().await.about(subject)?;
    for target in &p.syncs {
        let c = configs
            .iter()
            .find(|c| c.source_tenant_id == t.id && have.tenants.get(target).is_some_and(|x| x.id == c.target_tenant_id))
            .ok_or_else(|| Failure::cli(subject(), format!("no arrow {domain} → {target}"), CliCode::InvalidTopology))?;
        roles.extend(ResourceRole::new(ResourceOrigin::SyncConfiguration(c.id), RoleKind::DefaultAccess));
    }
    let o = old.map(|(o, _)| o);
    let package = AccessPackage {
        id: o.map_or_else(PackageId::new, |x| x.id),
        catalog_id: catalog.id,
        display_name: p.name.clone(),
        description: o.map(|x| x.description.clone()).unwrap_or_default(),
        is_hidden: p.hidden,
        roles,
        incompatible_packages: o.map(|x| x.incompatible_packages.clone()).unwrap_or_default(),
        incompatible_groups: o.map(|x| x.incompatible_groups.clone()).unwrap_or_default(),
        created_date_time: o.map_or(now, |x| x.created_date_time),
        modified_date_time: now,
    };
    let orgs = gov.connected_organizations(t.id).await.about(subject)?;
    let mut policies = Vec::new();
    for x in &p.policies {
        let existing = old.and_then(|(_, ps)| ps.iter().find(|e| e.display_name.eq_ignore_ascii_case(&x.name)));
        let policy =
            policy(ctx, t, package.id, x, existing, &orgs).await.map_err(|f| Failure { subject: format!("{l}: policy '{}': {}", x.name, f.subject), ..f })?;
        policy.check().map_err(tenantsync_governance::GovernanceError::from).about(|| format!("{l}: policy '{}'", x.name))?;
        policies.push(policy);
    }
    for id in dropped {
        store.delete_access_object(t.id, AccessObjectKind::AssignmentPolicy, id).await.about(subject)?;
    }
    gov.put_access_package(t.id, &package).await.about(subject)?;
    for policy in &policies {
        gov.put_policy(t.id, policy).await.about(|| format!("{l}: policy '{}'", policy.display_name))?;
    }
    Ok(())
}

async fn policy(
    ctx: &Ctx,
    t: &Tenant,
    package: PackageId,
    x: &PolicyState,
    existing: Option<&AssignmentPolicy>,
    orgs: &[ConnectedOrganization],
) -> Result<AssignmentPolicy, Failure> {
    let scope = match x.requestors {
        RequestorsSpec::Admins => TargetScope::NotSpecified,
        RequestorsSpec::Organizations => TargetScope::SpecificConnectedOrganizationUsers,
        RequestorsSpec::AllOrganizations => TargetScope::AllConfiguredConnectedOrganizationUsers,
        RequestorsSpec::AllExternal => TargetScope::AllExternalUsers,
        RequestorsSpec::Members => TargetScope::AllMemberUsers,
        RequestorsSpec::AllUsers => TargetScope::AllDirectoryUsers,
    };
    let mut targets = Vec::new();
    for name in &x.organizations {
        let o = orgs
            .iter()
            .find(|o| o.display_name.eq_ignore_ascii_case(name))
            .ok_or_else(|| Failure::cli(format!("organization '{name}'"), "no such connected organization", CliCode::InvalidTopology))?;
        targets.push(SubjectSet::ConnectedOrganizationMembers { connected_organization_id: o.id });
    }
    let mut stages = Vec::new();
    for (i, names) in x.approvers.iter().enumerate() {
        let extra = x.stages.get(i);
        let old = existing.and_then(|e| e.request_approval_settings.stages.get(i));
        let escalation = extra.and_then(|e| e.escalation.as_ref());
        stages.push(ApprovalStageSettings {
            duration_before_automatic_denial: IsoDuration::days(u64::from(extra.map_or(x.approval_days, |e| e.approval_days))),
            is_approver_justification_required: old.is_some_and(|o| o.is_approver_justification_required),
            is_escalation_enabled: escalation.is_some(),
            duration_before_escalation: escalation.map_or(IsoDuration::ZERO, |e| IsoDuration::days(u64::from(e.after_days))),
            primary_approvers: subjects(ctx, t, names).await?,
            fallback_primary_approvers: old.map(|o| o.fallback_primary_approvers.clone()).unwrap_or_default(),
            escalation_approvers: match escalation {
                Some(e) => subjects(ctx, t, &e.to).await?,
                None => Vec::new(),
            },
            fallback_escalation_approvers: old.map(|o| o.fallback_escalation_approvers.clone()).unwrap_or_default(),
        });
    }
    let review_settings = match &x.review {
        None => None,
        Some(r) => {
            let self_review = r.reviewers.iter().any(|n| n == "self");
            Some(ReviewSettings {
                is_enabled: r.enabled,
                start_date_time: tenantsync_topology::policy::start_time(&r.starts)
                    .ok_or_else(|| Failure::cli("review", format!("starts '{}' is not a time", r.starts), CliCode::InvalidTopology))?,
                recurrence_months: r.every_months,
                duration: IsoDuration::days(u64::from(r.duration_days)),
                is_self_review: self_review,
                primary_reviewers: if self_review { Vec::new() } else { subjects(ctx, t, &r.reviewers).await? },
                fallback_reviewers: subjects(ctx, t, &r.fallback_reviewers).await?,
                expiration_behavior: match r.no_response {
                    NoResponseSpec::Keep => NoResponse::KeepAccess,
                    NoResponseSpec::Remove => NoResponse::RemoveAccess,
                    NoResponseSpec::Recommendation => NoResponse::AcceptAccessRecommendation,
                },
                is_recommendation_enabled: r.recommendations,
                is_reviewer_justification_required: r.justification,
            })
        }
    };
    // A question keeps its id while its text stays: answers already given refer to it.
    let old_questions = existing.map(|e| e.questions.as_slice()).unwrap_or_default();
    let questions = x
        .questions
        .iter()
        .map(|q| {
            let id = old_questions
                .iter()
                .find(|o| question_text(o).eq_ignore_ascii_case(&q.text))
                .map_or_else(|| PolicyId::new().to_string(), |o| o.id().to_owned());
            if q.choices.is_empty() {
                Question::Text { id, text: q.text.clone(), is_required: q.required, regex_pattern: q.pattern.clone() }
            } else {
                Question::Choice { id, text: q.text.clone(), is_required: q.required, choices: q.choices.clone() }
            }
        })
        .collect();
    let (scope, targets, automatic) = match &x.auto {
        None => (scope, targets, None),
        Some(a) => (
            TargetScope::SpecificDirectoryUsers,
            vec![SubjectSet::AttributeRuleMembers { membership_rule: a.rule.clone() }],
            Some(AutomaticRequestSettings {
                request_access_for_allowed_targets: true,
                remove_access_when_target_leaves_allowed_targets: a.remove_when_leaving,
                grace_period_before_access_removal: IsoDuration::days(u64::from(a.grace_days)),
            }),
        ),
    };
    let requests = x.requestors != RequestorsSpec::Admins && x.auto.is_none();
    Ok(AssignmentPolicy {
        id: existing.map_or_else(PolicyId::new, |e| e.id),
        access_package_id: package,
        display_name: x.name.clone(),
        description: existing.map(|e| e.description.clone()).unwrap_or_default(),
        allowed_target_scope: scope,
        specific_allowed_targets: targets,
        requestor_settings: RequestorSettings {
            enable_targets_to_self_add_access: requests,
            enable_targets_to_self_update_access: x.extendable,
            enable_targets_to_self_remove_access: x.self_remove,
            allow_custom_assignment_schedule: false,
        },
        request_approval_settings: ApprovalSettings {
            is_approval_required_for_add: !stages.is_empty(),
            is_approval_required_for_update: false,
            is_requestor_justification_required: x.justification,
            stages,
        },
        expiration: match x.expire_days {
            Some(d) => Expiration::AfterDuration { duration: IsoDuration::days(u64::from(d)) },
            None => Expiration::NoExpiration,
        },
        review_settings,
        automatic_request_settings: automatic,
        questions,
    })
}

fn question_text(q: &Question) -> &str {
    match q {
        Question::Text { text, .. } | Question::Choice { text, .. } => text,
    }
}

/// The approvers or reviewers the file names: a role, `group:NAME`, or a userPrincipalName
/// of the tenant.
async fn subjects(ctx: &Ctx, t: &Tenant, names: &[String]) -> Result<Vec<SubjectSet>, Failure> {
    let mut out = Vec::new();
    for n in names {
        out.push(match n.as_str() {
            "sponsors" => SubjectSet::InternalSponsors {},
            "external-sponsors" => SubjectSet::ExternalSponsors {},
            "manager" => SubjectSet::RequestorManager { manager_level: 1 },
            "manager2" => SubjectSet::RequestorManager { manager_level: 2 },
            other => match other.strip_prefix("group:") {
                Some(g) => SubjectSet::GroupMembers { group_id: lookup::group_id(ctx.store.as_ref(), t, g).await? },
                None => SubjectSet::SingleUser { user_id: lookup::user_id(ctx.store.as_ref(), t, other).await? },
            },
        });
    }
    Ok(out)
}

/// Refuses, before apply writes anything, a definition naming someone or a group its
/// (existing) tenant does not have: sponsors, approvers, escalation approvers, reviewers,
/// and the groups a package grants. The error names the first place the file writes
/// the name.
pub(crate) async fn check_names(
    ctx: &Ctx,
    file: &super::Loaded,
    tenants: &BTreeMap<String, Tenant>,
    diffs: &[tenantsync_topology::ObjectDiff],
) -> Result<(), Failure> {
    use tenantsync_topology::{ObjectKind, Op};
    let wanted = |kind: ObjectKind, label: &str| diffs.iter().any(|d| d.kind == kind && d.op != Op::Remove && d.object == label);
    let mut named: Vec<(&Tenant, String, String)> = Vec::new();
    for o in file.state.organizations.iter().filter(|o| wanted(ObjectKind::Organization, &o.label())) {
        let Some(t) = tenants.get(&o.tenant) else { continue };
        named.extend(o.sponsors.iter().map(|s| (t, o.label(), s.clone())));
    }
    for p in file.state.packages.iter().filter(|p| wanted(ObjectKind::Package, &p.label())) {
        let Some(t) = tenants.get(&p.tenant) else { continue };
        named.extend(p.groups.iter().map(|g| (t, p.label(), format!("group:{g}"))));
        for x in &p.policies {
            let people = x
                .approvers
                .iter()
                .flatten()
                .chain(x.stages.iter().filter_map(|s| s.escalation.as_ref()).flat_map(|e| &e.to))
                .chain(x.review.iter().flat_map(|r| r.reviewers.iter().chain(&r.fallback_reviewers)));
            named.extend(people.map(|n| (t, format!("{}: policy '{}'", p.label(), x.name), n.clone())));
        }
    }
    for (t, object, name) in named {
        let found = match name.as_str() {
            "self" | "sponsors" | "external-sponsors" | "manager" | "manager2" => continue,
            n => match n.strip_prefix("group:") {
                Some(g) => lookup::group_id(ctx.store.as_ref(), t, g).await.map(|_| ()),
                None => lookup::user_id(ctx.store.as_ref(), t, n).await.map(|_| ()),
            },
        };
        if let Err(f) = found {
            let at = place_of(file, name.strip_prefix("group:").unwrap_or(&name));
            return Err(Failure { subject: format!("{at}: {object}: {}", f.subject), ..f });
        }
    }
    Ok(())
}

/// `FILE:LINE:COLUMN` of the first place the file writes `name` as a string.
fn place_of(file: &super::Loaded, name: &str) -> String {
    let lower = file.text.to_ascii_lowercase();
    let wanted = name.to_ascii_lowercase();
    let at = ["\"", "\"group:", "'"].iter().find_map(|q| lower.find(&format!("{q}{wanted}")));
    at.map_or_else(|| file.name.clone(), |offset| file.place(offset))
}
