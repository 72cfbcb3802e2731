//! Access packages (with the resource roles of their catalog), their assignment policies
//! (who may request, approval stages with approvers, expiration) and their assignments
//! (paged from the store's keyset query, each with "Remove": an `adminRemove` request, as
//! the admin API's `assignmentRequests` makes one). Packages and policies are checked and
//! stored by governance (`put_access_package`, `put_policy`: Entra's limits, resources of
//! the tenant, one side per policy), as the Graph endpoints store them.
use super::access::{Params, find_catalog, kind_of, upn_of};
use super::admin::get;
use super::kit::{ROWS, checkbox, gov, page_after, select, text_field, writer};
use super::page::{self, csrf, see_other, time};
use super::session::{Form, Posted, Session};
use super::sync::audited;
use super::{ConsoleError, ConsoleResult, ConsoleState, Shared};
use crate::graph::audit::Entry;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get as get_route, post};
use maud::{Markup, html};
use tenantsync_access::{
    AccessPackage, ApprovalSettings, ApprovalStageSettings, AssignmentId, AssignmentPolicy, ConnectedOrgId, Expiration, IsoDuration, PackageId, PolicyId,
    RequestType, RequestorSettings, ResourceOrigin, ResourceRole, RoleKind, SubjectSet, TargetScope,
};
use tenantsync_domain::{ObjectId, Upn};
use tenantsync_governance::{Actor, NewRequest, Subject};
use tenantsync_store::{AssignmentFilter, AuditCategory, AuditOperation};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/admin/access/packages", get_route(packages).post(create_package))
        .route("/admin/access/packages/new", get_route(new_package))
        .route("/admin/access/packages/{id}", get_route(package))
        .route("/admin/access/policies", get_route(policies).post(create_policy))
        .route("/admin/access/policies/new", get_route(new_policy))
        .route("/admin/access/policies/{id}", get_route(policy))
        .route("/admin/access/assignments/{id}/remove", post(remove_assignment))
}

fn entry(activity: &str, op: AuditOperation, kind: &str, id: impl ToString) -> Entry {
    Entry::new(activity, op, AuditCategory::EntitlementManagement, kind, id)
}

/// `GET /admin/access/packages?after=…`.
async fn packages(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    session.admin()?;
    let after = get(&q, "after");
    let (list, next) = page_after(gov(&st)?.access_packages(session.tenant.id).await?, |p| p.id.to_string(), after);
    let body = html! {
        @if writer(&session) { p { a.button href="/admin/access/packages/new" id="new-package" { "New access package" } } }
        @if list.is_empty() { p.note id="no-packages" { "No access package yet." } }
        @else {
            div.scroll { table.responsive id="packages" aria-label="Access packages" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Description" } th scope="col" { "Resource roles" } th scope="col" { "Hidden" } } }
                tbody { @for p in &list {
                    tr {
                        td data-label="Name" { a href={"/admin/access/packages/" (p.id)} { (p.display_name) } }
                        td data-label="Description" { (p.description) }
                        td data-label="Resource roles" { (p.roles.len()) }
                        td data-label="Hidden" { (if p.is_hidden { "Yes" } else { "No" }) }
                    }
                } }
            } }
        }
        (page::pager("/admin/access/packages", &[], after.is_empty(), next))
    };
    Ok(page::ok("Access packages", &session, "/admin/access/packages", body))
}

fn origin_key(o: ResourceOrigin) -> String {
    match o {
        ResourceOrigin::Group(g) => format!("group:{g}"),
        ResourceOrigin::SyncConfiguration(c) => format!("config:{c}"),
    }
}

fn origin_of(key: &str) -> ConsoleResult<ResourceOrigin> {
    let bad = || ConsoleError::bad_request(format!("'{key}' is not a resource of the catalog"));
    match key.split_once(':') {
        Some(("group", id)) => Ok(ResourceOrigin::Group(id.parse().map_err(|_| bad())?)),
        Some(("config", id)) => Ok(ResourceOrigin::SyncConfiguration(id.parse().map_err(|_| bad())?)),
        _ => Err(bad()),
    }
}

/// `GET /admin/access/packages/new?catalog=…`: first the catalog, then the package with
/// the roles of the catalog's resources.
async fn new_package(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    session.writer()?;
    let g = gov(&st)?;
    let catalog = get(&q, "catalog");
    let body = if catalog.is_empty() {
        let catalogs: Vec<(String, String)> = g.catalogs(session.tenant.id).await?.into_iter().map(|c| (c.id.to_string(), c.display_name)).collect();
        html! {
            @if catalogs.is_empty() { p.note { "Make a catalog first: " a href="/admin/access/catalogs" { "Catalogs" } } }
            @else {
                form.inline method="get" action="/admin/access/packages/new" aria-label="Catalog" {
                    (select("package-catalog", "Catalog", "catalog", "", &catalogs))
                    button type="submit" id="choose-catalog" { "Next" }
                }
            }
        }
    } else {
        let c = find_catalog(&st, &session, catalog).await?;
        let resources = g.catalog_resources(session.tenant.id, c.id).await?;
        html! {
            p { "Catalog: " a href={"/admin/access/catalogs/" (c.id)} { (c.display_name) } }
            form.stack method="post" action="/admin/access/packages" id="package-form" aria-label="New access package" {
                (csrf(&session))
                input type="hidden" name="catalog" value=(c.id);
                (text_field("package-name", "Name", "name", "", true))
                (text_field("package-description", "Description", "description", "", false))
                (checkbox("package-hidden", "Hidden (requested only through its link)", "hidden", false))
                fieldset {
                    legend { "Resource roles it grants" }
                    @if resources.is_empty() { p.note { "The catalog has no resource yet; add them on the catalog's page." } }
                    @for (i, r) in resources.iter().take(ROWS).enumerate() {
                        (checkbox(&format!("role-{i}"), &format!("{} — {}", r.display_name, kind_of(r.origin)), "role", false))
                        input type="hidden" name={"role-key-" (i)} value=(origin_key(r.origin));
                    }
                }
                div { button type="submit" id="create-package" { "Create" } }
            }
        }
    };
    Ok(page::ok("New access package", &session, "/admin/access/packages", body))
}

/// The roles checked in a package form: checkbox `role-i` stands for `role-key-i`.
fn roles_of(form: &Form) -> ConsoleResult<Vec<ResourceRole>> {
    let mut out = Vec::new();
    for (i, (k, v)) in form.0.iter().enumerate() {
        if k != "role" || v != "true" {
            continue;
        }
        // A checked box is sent just before its hidden key.
        let key = form.0.get(i + 1).filter(|(k, _)| k.starts_with("role-key-")).map(|(_, v)| v.as_str()).unwrap_or_default();
        let origin = origin_of(key)?;
        let role = RoleKind::of(origin)
            .first()
            .copied()
            .and_then(|r| ResourceRole::new(origin, r))
            .ok_or_else(|| ConsoleError::bad_request(format!("'{key}' has no role to grant")))?;
        out.push(role);
    }
    Ok(out)
}

/// `POST /admin/access/packages`.
async fn create_package(State(st): State<Shared>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let g = gov(&st)?;
    let c = find_catalog(&st, &session, form.get("catalog")).await.map_err(|_| ConsoleError::bad_request("choose an existing catalog"))?;
    let name = form.get("name");
    if name.is_empty() {
        return Err(ConsoleError::bad_request("an access package needs a name"));
    }
    let now = st.store.clock().now();
    let p = AccessPackage {
        id: PackageId::new(),
        catalog_id: c.id,
        display_name: name.to_owned(),
        description: form.get("description").to_owned(),
        is_hidden: form.get("hidden") == "true",
        roles: roles_of(&form)?.into_iter().collect(),
        incompatible_packages: Default::default(),
        incompatible_groups: Default::default(),
        created_date_time: now,
        modified_date_time: now,
    };
    g.put_access_package(session.tenant.id, &p).await?;
    let roles = p.roles.iter().map(ResourceRole::origin_id).collect::<Vec<_>>().join(", ");
    let e =
        entry("Create access package", AuditOperation::Add, "AccessPackage", p.id).named(Some(&p.display_name)).change("resourceRoleScopes", None, Some(roles));
    audited(&st, &session, e).await;
    Ok(see_other(&format!("/admin/access/packages/{}", p.id)))
}

async fn find_package(st: &ConsoleState, session: &Session, id: &str) -> ConsoleResult<AccessPackage> {
    let pid: PackageId = id.parse().map_err(|_| ConsoleError::not_found(format!("access package '{id}' does not exist")))?;
    Ok(gov(st)?.access_package(session.tenant.id, pid).await?)
}

async fn role_name(st: &ConsoleState, session: &Session, r: &ResourceRole) -> String {
    match r.origin {
        ResourceOrigin::Group(g) => {
            st.store.get_group(session.tenant.id, g).await.map_or_else(|_| g.to_string(), |g| format!("{} (Member)", g.attrs.display_name))
        }
        ResourceOrigin::SyncConfiguration(c) => {
            st.store.get_sync_configuration(c).await.map_or_else(|_| c.to_string(), |c| format!("{} (Default Access)", c.display_name))
        }
    }
}

/// `GET /admin/access/packages/{id}?after=…`: its roles, policies and a page of assignments.
async fn package(State(st): State<Shared>, session: Session, Path(id): Path<String>, Query(q): Params) -> ConsoleResult {
    session.admin()?;
    let p = find_package(&st, &session, &id).await?;
    let g = gov(&st)?;
    let mut roles = Vec::new();
    for r in p.roles.iter().take(ROWS) {
        roles.push(role_name(&st, &session, r).await);
    }
    let policies = g.policies_of(session.tenant.id, p.id).await?;
    let after = get(&q, "after");
    let after_id = if after.is_empty() {
        None
    } else {
        Some(after.parse::<AssignmentId>().map_err(|_| ConsoleError::bad_request("'after' is not a position this page gave"))?)
    };
    let limit = u32::try_from(ROWS + 1).unwrap_or(u32::MAX);
    let mut page_items = g
        .store()
        .access_assignments(session.tenant.id, AssignmentFilter { package: Some(p.id), after: after_id, limit: Some(limit), ..AssignmentFilter::default() })
        .await?;
    let next = if page_items.len() > ROWS { page_items.get(ROWS - 1).map(|a| a.value.id.to_string()) } else { None };
    page_items.truncate(ROWS);
    let mut rows = Vec::new();
    for a in &page_items {
        rows.push((&a.value, upn_of(&st, &session, a.value.target).await));
    }
    let names: std::collections::HashMap<PolicyId, &str> = policies.iter().map(|x| (x.id, x.display_name.as_str())).collect();
    let body = html! {
        dl.panel id="package" {
            dt { "Description" } dd { (p.description) }
            dt { "Catalog" } dd { a href={"/admin/access/catalogs/" (p.catalog_id)} { "Open the catalog" } }
            dt { "Hidden" } dd { (if p.is_hidden { "Yes" } else { "No" }) }
            dt { "Created" } dd { (time(p.created_date_time)) }
        }
        h2 id="roles-heading" { "Resource roles" }
        @if roles.is_empty() { p.note { "None." } } @else { ul id="roles" aria-labelledby="roles-heading" { @for r in &roles { li { (r) } } } }
        h2 id="policies-heading" { "Assignment policies" }
        @if policies.is_empty() { p.note id="no-policies" { "None: no one can request it yet." } }
        @else { ul id="package-policies" aria-labelledby="policies-heading" { @for x in &policies { li { a href={"/admin/access/policies/" (x.id)} { (x.display_name) } " — " (scope_text(x.allowed_target_scope)) } } } }
        @if writer(&session) { p { a.button href={"/admin/access/policies/new?package=" (p.id)} id="new-policy" { "New policy" } } }
        h2 id="assignments-heading" { "Assignments" }
        @if rows.is_empty() { p.note id="no-assignments" { "No assignment." } }
        @else {
            div.scroll { table.responsive id="assignments" aria-labelledby="assignments-heading" {
                thead { tr { th scope="col" { "Who" } th scope="col" { "Policy" } th scope="col" { "State" } th scope="col" { "Until" } @if writer(&session) { th scope="col" { "Remove" } } } }
                tbody { @for (a, who) in &rows {
                    tr {
                        td data-label="Who" { (who) }
                        td data-label="Policy" { (names.get(&a.assignment_policy_id).copied().unwrap_or("?")) }
                        td data-label="State" { (serde_json::to_value(a.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()) }
                        td data-label="Until" { @match a.schedule.end_date_time { Some(e) => (time(e)), None => "No end" } }
                        @if writer(&session) {
                            td data-label="Remove" {
                                @if a.expired_date_time.is_none() {
                                    form.inline method="post" action={"/admin/access/assignments/" (a.id) "/remove"} {
                                        (csrf(&session))
                                        button.secondary type="submit" id={"remove-" (a.id)} aria-label={"Remove the assignment of " (who)} { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                } }
            } }
        }
        (page::pager(&format!("/admin/access/packages/{}", p.id), &[], after.is_empty(), next))
    };
    Ok(page::ok(&p.display_name, &session, "/admin/access/packages", body))
}

/// `POST /admin/access/assignments/{id}/remove`: an `adminRemove` request, delivered at once.
async fn remove_assignment(State(st): State<Shared>, Path(id): Path<String>, Posted { session, .. }: Posted) -> ConsoleResult {
    session.writer()?;
    let g = gov(&st)?;
    let aid: AssignmentId = id.parse().map_err(|_| ConsoleError::not_found(format!("assignment '{id}' does not exist")))?;
    let a = g.assignment(session.tenant.id, aid).await?.value;
    let new = NewRequest {
        kind: RequestType::AdminRemove,
        package: a.access_package_id,
        policy: a.assignment_policy_id,
        subject: Subject::User(a.target),
        start: None,
        end: None,
        answers: Vec::new(),
        justification: "removed by an administrator in the console".to_owned(),
    };
    let r = g.submit(session.tenant.id, new, Actor::Admin).await?;
    let e = entry("Create access package assignment request", AuditOperation::Add, "AccessPackageAssignmentRequest", r.id)
        .change("requestType", None, Some("adminRemove".into()))
        .change("accessPackage", None, Some(r.access_package_id.to_string()));
    audited(&st, &session, e).await;
    Ok(see_other(&format!("/admin/access/packages/{}", a.access_package_id)))
}

const SCOPES: [(TargetScope, &str, &str); 7] = [
    (TargetScope::NotSpecified, "notSpecified", "No one requests (administrators assign)"),
    (TargetScope::AllMemberUsers, "allMemberUsers", "Members of this tenant"),
    (TargetScope::AllDirectoryUsers, "allDirectoryUsers", "Everyone in this tenant, guests included"),
    (TargetScope::SpecificDirectoryUsers, "specificDirectoryUsers", "Members of a group of this tenant"),
    (TargetScope::SpecificConnectedOrganizationUsers, "specificConnectedOrganizationUsers", "People of chosen connected organizations"),
    (TargetScope::AllConfiguredConnectedOrganizationUsers, "allConfiguredConnectedOrganizationUsers", "People of every configured connected organization"),
    (TargetScope::AllExternalUsers, "allExternalUsers", "Anyone from outside"),
];

fn scope_text(s: TargetScope) -> &'static str {
    SCOPES.iter().find(|(x, _, _)| *x == s).map_or("unknown", |(_, _, t)| t)
}

/// `GET /admin/access/policies?after=…`.
async fn policies(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    session.admin()?;
    let after = get(&q, "after");
    let (list, next) = page_after(gov(&st)?.policies(session.tenant.id).await?, |p| p.id.to_string(), after);
    let body = html! {
        @if list.is_empty() { p.note id="no-policies" { "No assignment policy yet (a policy is made from its package's page)." } }
        @else {
            div.scroll { table.responsive id="policies" aria-label="Assignment policies" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Package" } th scope="col" { "Who may request" } th scope="col" { "Approval stages" } } }
                tbody { @for x in &list {
                    tr {
                        td data-label="Name" { a href={"/admin/access/policies/" (x.id)} { (x.display_name) } }
                        td data-label="Package" { a href={"/admin/access/packages/" (x.access_package_id)} { "Package" } }
                        td data-label="Who may request" { (scope_text(x.allowed_target_scope)) }
                        td data-label="Approval stages" { (x.request_approval_settings.stages.len()) }
                    }
                } }
            } }
        }
        (page::pager("/admin/access/policies", &[], after.is_empty(), next))
    };
    Ok(page::ok("Assignment policies", &session, "/admin/access/policies", body))
}

const APPROVERS: [(&str, &str); 6] = [
    ("", "No approval at this stage"),
    ("manager", "The requestor's manager"),
    ("internalSponsors", "The internal sponsors of the requestor's organization"),
    ("externalSponsors", "The external sponsors of the requestor's organization"),
    ("user", "A user (userPrincipalName below)"),
    ("group", "Members of a group (its id below)"),
];

fn stage_fields(n: usize) -> Markup {
    let options: Vec<(String, String)> = APPROVERS.iter().map(|(v, t)| ((*v).to_owned(), (*t).to_owned())).collect();
    html! {
        fieldset {
            legend { "Approval stage " (n) }
            (select(&format!("stage{n}-approver"), "Approvers", &format!("stage{n}_approver"), "", &options))
            (text_field(&format!("stage{n}-who"), "The user or group (for those kinds)", &format!("stage{n}_who"), "", false))
            (text_field(&format!("stage{n}-fallback"), "Fallback approver when none is found (userPrincipalName, optional)", &format!("stage{n}_fallback"), "", false))
            div { label for={"stage" (n) "-days"} { "Days before the request is denied without a decision" } input id={"stage" (n) "-days"} name={"stage" (n) "_days"} type="number" min="1" max="14" value="14"; }
        }
    }
}

/// `GET /admin/access/policies/new?package=…`.
async fn new_policy(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    session.writer()?;
    let p = find_package(&st, &session, get(&q, "package")).await?;
    let orgs = gov(&st)?.connected_organizations(session.tenant.id).await?;
    let scopes: Vec<(String, String)> = SCOPES.iter().map(|(_, v, t)| ((*v).to_owned(), (*t).to_owned())).collect();
    let expirations: Vec<(String, String)> =
        [("never", "Never"), ("days", "After a number of days"), ("date", "On a date")].iter().map(|(v, t)| ((*v).to_owned(), (*t).to_owned())).collect();
    let body = html! {
        p { "Access package: " a href={"/admin/access/packages/" (p.id)} { (p.display_name) } }
        form.stack method="post" action="/admin/access/policies" id="policy-form" aria-label="New assignment policy" {
            (csrf(&session))
            input type="hidden" name="package" value=(p.id);
            (text_field("policy-name", "Name", "name", "", true))
            (text_field("policy-description", "Description", "description", "", false))
            fieldset {
                legend { "Who may request" }
                (select("policy-scope", "Requestors", "scope", "allMemberUsers", &scopes))
                (text_field("policy-group", "The group's id, for members of a group", "group", "", false))
                @if !orgs.is_empty() {
                    p { "The connected organizations, for people of chosen ones:" }
                    @for (i, o) in orgs.iter().take(ROWS).enumerate() {
                        div { input id={"org-" (i)} name="org" type="checkbox" value=(o.id); " " label.inline-label for={"org-" (i)} { (o.display_name) } }
                    }
                }
                (checkbox("policy-self-add", "Requests are enabled", "self_add", true))
                (checkbox("policy-self-update", "Requestors may extend their assignment", "self_update", false))
                (checkbox("policy-self-remove", "Requestors may give it up", "self_remove", true))
            }
            fieldset {
                legend { "Approval" }
                (checkbox("policy-approval", "Requests need approval", "approval", false))
                (checkbox("policy-justification", "Requestors must give a justification", "justification", false))
                (stage_fields(1))
                (stage_fields(2))
                (stage_fields(3))
            }
            fieldset {
                legend { "Expiration" }
                (select("policy-expiration", "Assignments end", "expiration", "never", &expirations))
                div { label for="policy-days" { "Days (for after a number of days)" } input id="policy-days" name="days" type="number" min="1" max="3660"; }
                div { label for="policy-date" { "Date (YYYY-MM-DD, for on a date)" } input id="policy-date" name="date" type="date"; }
            }
            div { button type="submit" id="create-policy" { "Create policy" } }
        }
    };
    Ok(page::ok("New assignment policy", &session, "/admin/access/packages", body))
}

async fn user_id(st: &ConsoleState, session: &Session, who: &str, what: &str) -> ConsoleResult<ObjectId> {
    let upn = Upn::parse(who).map_err(|_| ConsoleError::bad_request(format!("{what}: '{who}' is not a userPrincipalName")))?;
    let u = st.store.find_user_by_upn(session.tenant.id, &upn).await?.filter(|u| !u.is_deleted());
    Ok(u.ok_or_else(|| ConsoleError::bad_request(format!("{what}: '{who}' is not a user of the tenant")))?.id)
}

async fn stage_of(st: &ConsoleState, session: &Session, form: &Form, n: usize) -> ConsoleResult<Option<ApprovalStageSettings>> {
    let field = |k: &str| form.get(&format!("stage{n}_{k}")).to_owned();
    let what = format!("approval stage {n}");
    let primary = match field("approver").as_str() {
        "" => return Ok(None),
        "manager" => SubjectSet::RequestorManager { manager_level: 1 },
        "internalSponsors" => SubjectSet::InternalSponsors {},
        "externalSponsors" => SubjectSet::ExternalSponsors {},
        "user" => SubjectSet::SingleUser { user_id: user_id(st, session, &field("who"), &what).await? },
        "group" => SubjectSet::GroupMembers {
            group_id: field("who").parse().map_err(|_| ConsoleError::bad_request(format!("{what}: '{}' is not a group id", field("who"))))?,
        },
        other => return Err(ConsoleError::bad_request(format!("{what}: '{other}' is not a kind of approver"))),
    };
    let fallback = match field("fallback").as_str() {
        "" => Vec::new(),
        who => vec![SubjectSet::SingleUser { user_id: user_id(st, session, who, &format!("{what}, fallback")).await? }],
    };
    let days = match field("days").as_str() {
        "" => 14,
        d => d
            .parse::<u64>()
            .ok()
            .filter(|d| (1..=14).contains(d))
            .ok_or_else(|| ConsoleError::bad_request(format!("{what}: days '{d}' is not from 1 to 14")))?,
    };
    Ok(Some(ApprovalStageSettings {
        duration_before_automatic_denial: IsoDuration::days(days),
        is_approver_justification_required: false,
        is_escalation_enabled: false,
        duration_before_escalation: IsoDuration::ZERO,
        primary_approvers: vec![primary],
        fallback_primary_approvers: fallback,
        escalation_approvers: Vec::new(),
        fallback_escalation_approvers: Vec::new(),
    }))
}

/// `POST /admin/access/policies`: the policy of the form, stored by governance after the
/// policy's own checks (as `POST assignmentPolicies`).
async fn create_policy(State(st): State<Shared>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let g = gov(&st)?;
    let p = find_package(&st, &session, form.get("package")).await.map_err(|_| ConsoleError::bad_request("choose an existing access package"))?;
    let name = form.get("name");
    if name.is_empty() {
        return Err(ConsoleError::bad_request("a policy needs a name"));
    }
    let scope_text = form.get("scope");
    let scope = SCOPES
        .iter()
        .find(|(_, v, _)| *v == scope_text)
        .map(|(s, _, _)| *s)
        .ok_or_else(|| ConsoleError::bad_request(format!("'{scope_text}' is not a kind of requestor")))?;
    let mut targets = Vec::new();
    if scope == TargetScope::SpecificDirectoryUsers {
        let group = form.get("group");
        let id: ObjectId = group.parse().map_err(|_| ConsoleError::bad_request(format!("'{group}' is not a group id (members of a group need one)")))?;
        targets.push(SubjectSet::GroupMembers { group_id: id });
    }
    if scope == TargetScope::SpecificConnectedOrganizationUsers {
        for (_, v) in form.0.iter().filter(|(k, _)| k == "org") {
            let id: ConnectedOrgId = v.parse().map_err(|_| ConsoleError::bad_request(format!("'{v}' is not a connected organization")))?;
            targets.push(SubjectSet::ConnectedOrganizationMembers { connected_organization_id: id });
        }
    }
    let mut stages = Vec::new();
    for n in 1..=3 {
        if let Some(s) = stage_of(&st, &session, &form, n).await? {
            stages.push(s);
        }
    }
    let approval = form.get("approval") == "true";
    let expiration = match form.get("expiration") {
        "never" | "" => Expiration::NoExpiration,
        "days" => {
            let d = form.get("days");
            Expiration::AfterDuration {
                duration: IsoDuration::days(d.parse().map_err(|_| ConsoleError::bad_request(format!("days '{d}' is not a whole number")))?),
            }
        }
        "date" => {
            let d = form.get("date");
            let date: jiff::civil::Date = d.parse().map_err(|_| ConsoleError::bad_request(format!("'{d}' is not a date (YYYY-MM-DD)")))?;
            let end = date.to_zoned(jiff::tz::TimeZone::UTC).map_err(|e| ConsoleError::bad_request(format!("'{d}': {e}")))?.timestamp();
            Expiration::AfterDateTime { end_date_time: end }
        }
        other => return Err(ConsoleError::bad_request(format!("'{other}' is not never, days or date"))),
    };
    let policy = AssignmentPolicy {
        id: PolicyId::new(),
        access_package_id: p.id,
        display_name: name.to_owned(),
        description: form.get("description").to_owned(),
        allowed_target_scope: scope,
        specific_allowed_targets: targets,
        requestor_settings: RequestorSettings {
            enable_targets_to_self_add_access: form.get("self_add") == "true",
            enable_targets_to_self_update_access: form.get("self_update") == "true",
            enable_targets_to_self_remove_access: form.get("self_remove") == "true",
            allow_custom_assignment_schedule: false,
        },
        request_approval_settings: ApprovalSettings {
            is_approval_required_for_add: approval,
            is_approval_required_for_update: approval,
            is_requestor_justification_required: form.get("justification") == "true",
            stages,
        },
        expiration,
        review_settings: None,
        automatic_request_settings: None,
        questions: Vec::new(),
    };
    g.put_policy(session.tenant.id, &policy).await?;
    let e = entry("Create assignment policy", AuditOperation::Add, "AccessPackageAssignmentPolicy", policy.id).named(Some(&policy.display_name)).change(
        "accessPackage",
        None,
        Some(p.id.to_string()),
    );
    audited(&st, &session, e).await;
    Ok(see_other(&format!("/admin/access/policies/{}", policy.id)))
}

async fn approver_text(st: &ConsoleState, session: &Session, s: &SubjectSet) -> String {
    match s {
        SubjectSet::SingleUser { user_id } => upn_of(st, session, *user_id).await,
        SubjectSet::GroupMembers { group_id } => format!("members of group {group_id}"),
        SubjectSet::RequestorManager { manager_level } => format!("the requestor's manager (level {manager_level})"),
        SubjectSet::InternalSponsors {} => "internal sponsors".into(),
        SubjectSet::ExternalSponsors {} => "external sponsors".into(),
        SubjectSet::ConnectedOrganizationMembers { connected_organization_id } => format!("people of connected organization {connected_organization_id}"),
        SubjectSet::AttributeRuleMembers { membership_rule } => format!("people passing {membership_rule}"),
    }
}

/// `GET /admin/access/policies/{id}`.
async fn policy(State(st): State<Shared>, session: Session, Path(id): Path<String>) -> ConsoleResult {
    session.admin()?;
    let pid: PolicyId = id.parse().map_err(|_| ConsoleError::not_found(format!("assignment policy '{id}' does not exist")))?;
    let x = gov(&st)?.policy(session.tenant.id, pid).await?;
    let mut targets = Vec::new();
    for t in &x.specific_allowed_targets {
        targets.push(approver_text(&st, &session, t).await);
    }
    let mut stages = Vec::new();
    for s in &x.request_approval_settings.stages {
        let mut who = Vec::new();
        for a in &s.primary_approvers {
            who.push(approver_text(&st, &session, a).await);
        }
        let mut fallback = Vec::new();
        for a in &s.fallback_primary_approvers {
            fallback.push(approver_text(&st, &session, a).await);
        }
        stages.push((who.join(", "), fallback.join(", "), s.duration_before_automatic_denial));
    }
    let r = &x.requestor_settings;
    let body = html! {
        dl.panel id="policy" {
            dt { "Access package" } dd { a href={"/admin/access/packages/" (x.access_package_id)} { "Open the package" } }
            dt { "Description" } dd { (x.description) }
            dt { "Who may request" } dd id="policy-scope" { (scope_text(x.allowed_target_scope)) @if !targets.is_empty() { ": " (targets.join(", ")) } }
            dt { "Requests" } dd { (if r.enable_targets_to_self_add_access { "enabled" } else { "disabled" }) (if r.enable_targets_to_self_update_access { ", may extend" } else { "" }) (if r.enable_targets_to_self_remove_access { ", may give up" } else { "" }) }
            dt { "Approval" } dd id="policy-approval" { (if x.request_approval_settings.is_approval_required_for_add { "required" } else { "not required" }) (if x.request_approval_settings.is_requestor_justification_required { ", with the requestor's justification" } else { "" }) }
            dt { "Expiration" } dd id="policy-expiration" { @match x.expiration { Expiration::NoExpiration => "never", Expiration::AfterDuration { duration } => { "after " (duration) }, Expiration::AfterDateTime { end_date_time } => { "on " (time(end_date_time)) } } }
        }
        @if !stages.is_empty() {
            h2 id="stages-heading" { "Approval stages" }
            ol id="stages" aria-labelledby="stages-heading" { @for (who, fallback, days) in &stages { li { (who) @if !fallback.is_empty() { " (fallback: " (fallback) ")" } "; denied after " (days) " without a decision" } } }
        }
    };
    Ok(page::ok(&x.display_name, &session, "/admin/access/policies", body))
}
