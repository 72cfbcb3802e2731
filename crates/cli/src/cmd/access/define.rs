//! The definitions: connected organizations, catalogs, access packages, assignment
//! policies and the tenant's settings, named by display name (or id).
use super::Lifecycle;
use crate::cmd::{Ctx, lookup};
use crate::failure::{CliCode, Context, Failure};
use crate::output;
use clap::{Args, Subcommand, ValueEnum};
use std::collections::BTreeSet;
use tenantsync_access::{
    AccessPackage, ApprovalSettings, ApprovalStageSettings, AssignmentPolicy, AutomaticRequestSettings, Catalog, CatalogId, ConnectedOrgId, ConnectedOrgState,
    ConnectedOrganization, Expiration, ExternalUserLifecycle, IdentitySource, IsoDuration, NoResponse, PackageId, PolicyId, RequestorSettings, ResourceOrigin,
    ResourceRole, ReviewSettings, RoleKind, SubjectSet, TargetScope,
};
use tenantsync_domain::{DomainName, Tenant};
use tenantsync_governance::Governance;

#[derive(Debug, Subcommand)]
pub enum OrgCmd {
    /// Connect an organization: a tenantsync tenant, or a mail domain for people outside tenantsync.
    Create {
        /// The tenant the organization is connected to (id or initial domain).
        #[arg(long, short)]
        tenant: String,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// Its people sign in through this tenantsync tenant (id or initial domain).
        #[arg(long, conflicts_with = "domain_source", required_unless_present = "domain_source")]
        tenant_source: Option<String>,
        /// Its people are those with mail in this domain (one-time passcode).
        #[arg(long)]
        domain_source: Option<String>,
        /// An internal sponsor (userPrincipalName of the tenant); repeat for several.
        #[arg(long = "sponsor", value_name = "UPN")]
        sponsors: Vec<String>,
        /// Record it as proposed rather than configured.
        #[arg(long)]
        proposed: bool,
        /// What happens to its guests when their last assignment ends (default: the tenant's setting).
        #[arg(long)]
        lifecycle: Option<Lifecycle>,
        /// Days from block to deletion, with `--lifecycle block-and-delete`.
        #[arg(long, default_value_t = 30)]
        delete_after_days: u32,
    },
    /// List a tenant's connected organizations.
    List {
        /// The tenant (id or initial domain).
        #[arg(long, short)]
        tenant: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CatalogCmd {
    /// Create a catalog.
    Create {
        /// The tenant (id or initial domain).
        #[arg(long, short)]
        tenant: String,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// Not visible to people of connected organizations.
        #[arg(long)]
        internal_only: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PackageCmd {
    /// Create an access package in a catalog, with the roles it grants.
    Create {
        /// The tenant (id or initial domain).
        #[arg(long, short)]
        tenant: String,
        /// The catalog (display name or id).
        #[arg(long)]
        catalog: String,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// A group whose membership it grants (display name or id); repeat for several.
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
        /// A sync configuration from this tenant it assigns people to (id or SOURCE:TARGET); repeat for several.
        #[arg(long = "sync", value_name = "CONFIG")]
        syncs: Vec<String>,
        /// Hidden from browsing (those with its id can still request it).
        #[arg(long)]
        hidden: bool,
        /// An access package whose holders may not request this one (display name or id).
        #[arg(long = "incompatible-package", value_name = "PACKAGE")]
        incompatible_packages: Vec<String>,
        /// A group whose members may not request this one (display name or id).
        #[arg(long = "incompatible-group", value_name = "GROUP")]
        incompatible_groups: Vec<String>,
    },
    /// List a tenant's access packages.
    List {
        /// The tenant (id or initial domain).
        #[arg(long, short)]
        tenant: String,
    },
}

/// Who a policy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scope {
    /// Administrators assign directly; no one requests.
    AdminOnly,
    /// The users and groups given with --user and --group.
    SpecificUsers,
    /// Every member of the tenant (no guests).
    AllMembers,
    /// Everyone in the tenant, guests included.
    AllUsers,
    /// The people of the organizations given with --org.
    SpecificOrgs,
    /// The people of every configured connected organization.
    AllConfiguredOrgs,
    /// Anyone from outside (an unknown organization is recorded as proposed).
    AllExternal,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// Create an assignment policy of an access package.
    Create(Box<PolicyArgs>),
    /// List the policies of an access package.
    List {
        /// The tenant (id or initial domain).
        #[arg(long, short)]
        tenant: String,
        /// The access package (display name or id).
        #[arg(long)]
        package: String,
    },
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The tenant (id or initial domain).
    #[arg(long, short)]
    tenant: String,
    /// The access package (display name or id).
    #[arg(long)]
    package: String,
    /// Its display name.
    #[arg(long)]
    name: String,
    /// Who may request.
    #[arg(long, value_enum)]
    scope: Scope,
    /// A connected organization of --scope specific-orgs (display name or id); repeat for several.
    #[arg(long = "org", value_name = "ORG")]
    orgs: Vec<String>,
    /// A user of --scope specific-users (userPrincipalName); repeat for several.
    #[arg(long = "user", value_name = "UPN")]
    users: Vec<String>,
    /// A group of --scope specific-users (display name or id); repeat for several.
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
    /// An approval stage: its approvers, comma-separated: sponsors, external-sponsors, manager, manager2, a UPN, or group:NAME. Repeat for up to 3 stages, in order.
    #[arg(long = "stage", value_name = "APPROVERS")]
    stages: Vec<String>,
    /// Days a stage waits for a decision before the request is denied.
    #[arg(long, default_value_t = 14)]
    approval_days: u32,
    /// Days an assignment lasts (without it, assignments do not end).
    #[arg(long)]
    expire_days: Option<u32>,
    /// Holders may extend their assignment (they are reminded 14 days and 1 day before its end).
    #[arg(long)]
    extendable: bool,
    /// Holders may give their assignment up.
    #[arg(long)]
    self_remove: bool,
    /// Requestors must give a justification.
    #[arg(long)]
    justification_required: bool,
    /// Makes it an auto-assignment policy of --scope specific-users: everyone whose
    /// attributes pass this scoping filter (`department EQUALS Legal`) is assigned, on every
    /// change; repeat for several rules (any one passing is enough).
    #[arg(long = "rule", value_name = "RULE")]
    rules: Vec<String>,
    /// With --rule: days someone who stops passing keeps the assignment (passing again within them keeps it).
    #[arg(long, requires = "rules")]
    grace_days: Option<u32>,
    /// Review the policy's assignments every N months (each review open 14 days, over the assignments active at its start).
    #[arg(long, value_name = "N")]
    review_every_months: Option<u8>,
    /// When the first review starts (a date or RFC 3339 time; default: N months from now).
    #[arg(long, value_parser = crate::cmd::args::time, requires = "review_every_months")]
    review_start: Option<jiff::Timestamp>,
    /// A reviewer (userPrincipalName) of --review-every-months; repeat for several (default: each person reviews themselves).
    #[arg(long = "reviewer", value_name = "UPN", requires = "review_every_months")]
    reviewers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// The tenant (id or initial domain).
    #[arg(long, short)]
    tenant: String,
    /// What happens to a governed guest whose last assignment ended.
    #[arg(long)]
    lifecycle: Option<Lifecycle>,
    /// Days from block to deletion.
    #[arg(long)]
    delete_after_days: Option<u32>,
}

fn named<'a, T>(items: &'a [T], name: &str, what: &str, display: impl Fn(&T) -> &str, id: impl Fn(&T) -> String) -> Result<&'a T, Failure> {
    let found: Vec<&T> = items.iter().filter(|t| id(t) == name.trim() || display(t).eq_ignore_ascii_case(name.trim())).collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(Failure::new(format!("{what} '{name}'"), "not found", "access_object_not_found")),
        _ => Err(Failure::cli(format!("{what} '{name}'"), "several have this name; name one by its id", CliCode::AmbiguousName)),
    }
}

pub(super) async fn org_named(gov: &Governance, t: &Tenant, name: &str) -> Result<ConnectedOrganization, Failure> {
    let all = gov.connected_organizations(t.id).await.about(|| format!("tenant '{}'", t.initial_domain))?;
    named(&all, name, "connected organization", |o| &o.display_name, |o| o.id.to_string()).cloned()
}

pub(super) async fn package_named(gov: &Governance, t: &Tenant, name: &str) -> Result<AccessPackage, Failure> {
    let all = gov.access_packages(t.id).await.about(|| format!("tenant '{}'", t.initial_domain))?;
    named(&all, name, "access package", |p| &p.display_name, |p| p.id.to_string()).cloned()
}

pub(super) async fn policy_named(gov: &Governance, t: &Tenant, package: &AccessPackage, name: Option<&str>) -> Result<AssignmentPolicy, Failure> {
    let all = gov.policies_of(t.id, package.id).await.about(|| format!("access package '{}'", package.display_name))?;
    match name {
        Some(n) => named(&all, n, "assignment policy", |p| &p.display_name, |p| p.id.to_string()).cloned(),
        None => match all.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(Failure::cli(
                format!("access package '{}'", package.display_name),
                format!("has {} policies; name one with --policy", all.len()),
                CliCode::InvalidArgument,
            )),
        },
    }
}

pub(super) async fn org(ctx: &Ctx, gov: &Governance, cmd: OrgCmd) -> Result<(), Failure> {
    match cmd {
        OrgCmd::Create { tenant, name, tenant_source, domain_source, sponsors, proposed, lifecycle, delete_after_days } => {
            let t = lookup::tenant(ctx.store.as_ref(), &tenant).await?;
            let source = match (tenant_source, domain_source) {
                (Some(s), _) => {
                    let home = lookup::tenant(ctx.store.as_ref(), &s).await?;
                    IdentitySource::Tenant { tenant_id: home.id, display_name: home.display_name.clone() }
                }
                (None, Some(d)) => {
                    let domain = DomainName::parse(&d).about(|| format!("domain '{d}'"))?;
                    IdentitySource::Domain { display_name: domain.to_string(), domain_name: domain }
                }
                (None, None) => return Err(Failure::cli("access org create", "give --tenant-source or --domain-source", CliCode::InvalidArgument)),
            };
            let mut internal = BTreeSet::new();
            for s in &sponsors {
                internal.insert(lookup::user_id(ctx.store.as_ref(), &t, s).await?);
            }
            let now = ctx.store.clock().now();
            let org = ConnectedOrganization {
                id: ConnectedOrgId::new(),
                display_name: name.clone(),
                description: String::new(),
                identity_sources: vec![source],
                state: if proposed { ConnectedOrgState::Proposed } else { ConnectedOrgState::Configured },
                internal_sponsors: internal,
                external_sponsors: BTreeSet::new(),
                external_user_lifecycle: lifecycle.map(|l| ExternalUserLifecycle {
                    external_user_lifecycle_action: l.action(),
                    duration_until_external_user_deleted_after_blocked: IsoDuration::days(u64::from(delete_after_days)),
                }),
                created_date_time: now,
                modified_date_time: now,
            };
            gov.put_connected_organization(t.id, &org).await.about(|| format!("connected organization '{name}'"))?;
            ctx.done(&org, || format!("connected organization '{name}' {}", org.id));
        }
        OrgCmd::List { tenant } => {
            let t = lookup::tenant(ctx.store.as_ref(), &tenant).await?;
            let all = gov.connected_organizations(t.id).await.about(|| format!("tenant '{tenant}'"))?;
            if ctx.json {
                output::json(&serde_json::json!({ "value": all }));
            } else {
                let rows = all
                    .iter()
                    .map(|o| vec![o.id.to_string(), o.display_name.clone(), format!("{:?}", o.state).to_lowercase(), o.internal_sponsors.len().to_string()])
                    .collect::<Vec<_>>();
                output::table(&["ID", "NAME", "STATE", "SPONSORS"], &rows);
            }
        }
    }
    Ok(())
}

pub(super) async fn catalog(ctx: &Ctx, gov: &Governance, cmd: CatalogCmd) -> Result<(), Failure> {
    let CatalogCmd::Create { tenant, name, internal_only } = cmd;
    let t = lookup::tenant(ctx.store.as_ref(), &tenant).await?;
    let now = ctx.store.clock().now();
    let c = Catalog {
        id: CatalogId::new(),
        display_name: name.clone(),
        description: String::new(),
        is_externally_visible: !internal_only,
        created_date_time: now,
        modified_date_time: now,
    };
    gov.put_catalog(t.id, &c).await.about(|| format!("catalog '{name}'"))?;
    ctx.done(&c, || format!("catalog '{name}' {}", c.id));
    Ok(())
}

pub(super) async fn package(ctx: &Ctx, gov: &Governance, cmd: PackageCmd) -> Result<(), Failure> {
    match cmd {
        PackageCmd::Create { tenant, catalog, name, groups, syncs, hidden, incompatible_packages, incompatible_groups } => {
            let t = lookup::tenant(ctx.store.as_ref(), &tenant).await?;
            let catalogs = gov.catalogs(t.id).await.about(|| format!("tenant '{tenant}'"))?;
            let catalog_id = named(&catalogs, &catalog, "catalog", |c| &c.display_name, |c| c.id.to_string())?.id;
            let mut roles = BTreeSet::new();
            for g in &groups {
                let id = lookup::group_id(ctx.store.as_ref(), &t, g).await?;
                roles.extend(ResourceRole::new(ResourceOrigin::Group(id), RoleKind::Member));
            }
            for s in &syncs {
                let c = crate::cmd::sync::config(ctx, s).await?;
                roles.extend(ResourceRole::new(ResourceOrigin::SyncConfiguration(c.id), RoleKind::DefaultAccess));
            }
            let mut incompatible = BTreeSet::new();
            for p in &incompatible_packages {
                incompatible.insert(package_named(gov, &t, p).await?.id);
            }
            let mut barred = BTreeSet::new();
            for g in &incompatible_groups {
                barred.insert(lookup::group_id(ctx.store.as_ref(), &t, g).await?);
            }
            let now = ctx.store.clock().now();
            let p = AccessPackage {
                id: PackageId::new(),
                catalog_id,
                display_name: name.clone(),
                description: String::new(),
                is_hidden: hidden,
                roles,
                incompatible_packages: incompatible,
                incompatible_groups: barred,
                created_date_time: now,
                modified_date_time: now,
            };
            gov.put_access_package(t.id, &p).await.about(|| format!("access package '{name}'"))?;
            ctx.done(&p, || format!("access package '{name}' {}", p.id));
        }
        PackageCmd::List { tenant } => {
            let t = lookup::tenant(ctx.store.as_ref(), &tenant).await?;
            let all = gov.access_packages(t.id).await.about(|| format!("tenant '{tenant}'"))?;
            if ctx.json {
                output::json(&serde_json::json!({ "value": all }));
            } else {
                let rows =
                    all.iter().map(|p| vec![p.id.to_string(), p.display_name.clone(), p.roles.len().to_string(), p.is_hidden.to_string()]).collect::<Vec<_>>();
                output::table(&["ID", "NAME", "ROLES", "HIDDEN"], &rows);
            }
        }
    }
    Ok(())
}

/// One approver of `--stage`.
async fn approver(ctx: &Ctx, t: &Tenant, word: &str) -> Result<SubjectSet, Failure> {
    Ok(match word.trim() {
        "sponsors" => SubjectSet::InternalSponsors {},
        "external-sponsors" => SubjectSet::ExternalSponsors {},
        "manager" => SubjectSet::RequestorManager { manager_level: 1 },
        "manager2" => SubjectSet::RequestorManager { manager_level: 2 },
        w => match w.strip_prefix("group:") {
            Some(g) => SubjectSet::GroupMembers { group_id: lookup::group_id(ctx.store.as_ref(), t, g).await? },
            None => SubjectSet::SingleUser { user_id: lookup::user_id(ctx.store.as_ref(), t, w).await? },
        },
    })
}

pub(super) async fn policy(ctx: &Ctx, gov: &Governance, cmd: PolicyCmd) -> Result<(), Failure> {
    let a = match cmd {
        PolicyCmd::Create(a) => a,
        PolicyCmd::List { tenant, package } => {
            let t = lookup::tenant(ctx.store.as_ref(), &tenant).await?;
            let p = package_named(gov, &t, &package).await?;
            let all = gov.policies_of(t.id, p.id).await.about(|| format!("access package '{package}'"))?;
            if ctx.json {
                output::json(&serde_json::json!({ "value": all }));
            } else {
                let rows = all
                    .iter()
                    .map(|p| {
                        vec![
                            p.id.to_string(),
                            p.display_name.clone(),
                            format!("{:?}", p.allowed_target_scope),
                            p.request_approval_settings.stages.len().to_string(),
                        ]
                    })
                    .collect::<Vec<_>>();
                output::table(&["ID", "NAME", "SCOPE", "STAGES"], &rows);
            }
            return Ok(());
        }
    };
    let t = lookup::tenant(ctx.store.as_ref(), &a.tenant).await?;
    let p = package_named(gov, &t, &a.package).await?;
    let (scope, mut targets) = match a.scope {
        Scope::AdminOnly => (TargetScope::NotSpecified, vec![]),
        Scope::SpecificUsers => (TargetScope::SpecificDirectoryUsers, vec![]),
        Scope::AllMembers => (TargetScope::AllMemberUsers, vec![]),
        Scope::AllUsers => (TargetScope::AllDirectoryUsers, vec![]),
        Scope::SpecificOrgs => (TargetScope::SpecificConnectedOrganizationUsers, vec![]),
        Scope::AllConfiguredOrgs => (TargetScope::AllConfiguredConnectedOrganizationUsers, vec![]),
        Scope::AllExternal => (TargetScope::AllExternalUsers, vec![]),
    };
    for o in &a.orgs {
        targets.push(SubjectSet::ConnectedOrganizationMembers { connected_organization_id: org_named(gov, &t, o).await?.id });
    }
    for u in &a.users {
        targets.push(SubjectSet::SingleUser { user_id: lookup::user_id(ctx.store.as_ref(), &t, u).await? });
    }
    for g in &a.groups {
        targets.push(SubjectSet::GroupMembers { group_id: lookup::group_id(ctx.store.as_ref(), &t, g).await? });
    }
    targets.extend(a.rules.iter().map(|r| SubjectSet::AttributeRuleMembers { membership_rule: r.clone() }));
    let automatic = (!a.rules.is_empty()).then(|| AutomaticRequestSettings {
        request_access_for_allowed_targets: true,
        remove_access_when_target_leaves_allowed_targets: true,
        grace_period_before_access_removal: IsoDuration::days(u64::from(a.grace_days.unwrap_or(0))),
    });
    let mut reviewers = Vec::new();
    for u in &a.reviewers {
        reviewers.push(SubjectSet::SingleUser { user_id: lookup::user_id(ctx.store.as_ref(), &t, u).await? });
    }
    let now = ctx.store.clock().now();
    let months_later = |m: u8| {
        let span = jiff::Span::new().try_months(i64::from(m)).unwrap_or_default();
        now.to_zoned(jiff::tz::TimeZone::UTC).checked_add(span).map_or(now, |z| z.timestamp())
    };
    let review = a.review_every_months.map(|months| ReviewSettings {
        is_enabled: true,
        start_date_time: a.review_start.unwrap_or_else(|| months_later(months)),
        recurrence_months: months,
        duration: IsoDuration::days(14),
        is_self_review: reviewers.is_empty(),
        primary_reviewers: reviewers,
        fallback_reviewers: vec![],
        expiration_behavior: NoResponse::KeepAccess,
        is_recommendation_enabled: true,
        is_reviewer_justification_required: false,
    });
    let mut stages = Vec::new();
    for s in &a.stages {
        let mut approvers = Vec::new();
        for w in s.split(',').filter(|w| !w.trim().is_empty()) {
            approvers.push(approver(ctx, &t, w).await?);
        }
        stages.push(ApprovalStageSettings {
            duration_before_automatic_denial: IsoDuration::days(u64::from(a.approval_days)),
            is_approver_justification_required: false,
            is_escalation_enabled: false,
            duration_before_escalation: IsoDuration::ZERO,
            primary_approvers: approvers,
            fallback_primary_approvers: vec![],
            escalation_approvers: vec![],
            fallback_escalation_approvers: vec![],
        });
    }
    let policy = AssignmentPolicy {
        id: PolicyId::new(),
        access_package_id: p.id,
        display_name: a.name.clone(),
        description: String::new(),
        allowed_target_scope: scope,
        specific_allowed_targets: targets,
        requestor_settings: RequestorSettings {
            enable_targets_to_self_add_access: automatic.is_none(),
            enable_targets_to_self_update_access: a.extendable,
            enable_targets_to_self_remove_access: a.self_remove,
            allow_custom_assignment_schedule: false,
        },
        request_approval_settings: ApprovalSettings {
            is_approval_required_for_add: !stages.is_empty(),
            is_approval_required_for_update: false,
            is_requestor_justification_required: a.justification_required,
            stages,
        },
        expiration: a.expire_days.map_or(Expiration::NoExpiration, |d| Expiration::AfterDuration { duration: IsoDuration::days(u64::from(d)) }),
        review_settings: review,
        automatic_request_settings: automatic,
        questions: vec![],
    };
    gov.put_policy(t.id, &policy).await.about(|| format!("assignment policy '{}'", a.name))?;
    ctx.done(&policy, || format!("assignment policy '{}' {}", a.name, policy.id));
    Ok(())
}

pub(super) async fn settings(ctx: &Ctx, gov: &Governance, a: SettingsArgs) -> Result<(), Failure> {
    let t = lookup::tenant(ctx.store.as_ref(), &a.tenant).await?;
    let subject = || format!("tenant '{}'", a.tenant);
    let mut s = gov.settings(t.id).await.about(subject)?;
    if a.lifecycle.is_some() || a.delete_after_days.is_some() {
        if let Some(l) = a.lifecycle {
            s.external_user_lifecycle_action = l.action();
        }
        if let Some(d) = a.delete_after_days {
            s.duration_until_external_user_deleted_after_blocked = IsoDuration::days(u64::from(d));
        }
        gov.set_settings(t.id, &s).await.about(subject)?;
    }
    ctx.show(&s);
    Ok(())
}
