//! Assignment policies: the list, one policy, and the form ([`super::policy_form`]) for a
//! new policy and for editing one. A new policy is stored by governance (`put_policy`,
//! which runs the policy's own checks, as `POST assignmentPolicies`); an edit through the
//! admin API's own `PUT assignmentPolicies/{id}` step (`graph::access::edits::
//! replace_policy`: the id and package stay). A refusal shows the form again with the
//! error next to its field, and nothing is saved.
use super::access::{Params, upn_of};
use super::admin::get;
use super::kit::{Cursor, ROWS, gov, writer};
use super::page::{self, see_other, time};
use super::policy_form::{self, Refusal, SCOPES, Values};
use super::session::{Form, Posted, Session};
use super::sync::audited;
use super::{ConsoleError, ConsoleResult, ConsoleState, Shared};
use crate::graph::access::edits;
use crate::graph::audit::Entry;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get as get_route;
use maud::html;
use tenantsync_access::{AssignmentPolicy, ConnectedOrgId, ConnectedOrganization, Expiration, NoResponse, PolicyId, SubjectSet, TargetScope};
use tenantsync_domain::TenantId;
use tenantsync_governance::Governance;
use tenantsync_store::{AccessObjectKind, AuditCategory, AuditOperation, IdRange};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/admin/access/policies", get_route(policies).post(create_policy))
        .route("/admin/access/policies/new", get_route(new_policy))
        .route("/admin/access/policies/{id}", get_route(policy))
        .route("/admin/access/policies/{id}/edit", get_route(edit_form).post(edit))
}

fn entry(activity: &str, op: AuditOperation, kind: &str, id: impl ToString) -> Entry {
    Entry::new(activity, op, AuditCategory::EntitlementManagement, kind, id)
}

pub(super) fn scope_text(s: TargetScope) -> &'static str {
    SCOPES.iter().find(|(x, _, _)| *x == s).map_or("unknown", |(_, _, t)| t)
}

/// `GET /admin/access/policies?after=…|before=…`: a page, read by the store's key.
async fn policies(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    session.admin()?;
    let c = Cursor::of(&q)?;
    let read = gov(&st)?.page::<AssignmentPolicy>(session.tenant.id, AccessObjectKind::AssignmentPolicy, c.range()).await?;
    let (list, previous, next) = c.window(read.into_iter().map(|(_, x)| x).collect(), |x| x.id.to_string());
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
        (page::pages("/admin/access/policies", &[], c.is_first(), previous, next))
    };
    Ok(page::ok("Assignment policies", &session, "/admin/access/policies", body))
}

/// `GET /admin/access/policies/new?package=…`.
async fn new_policy(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    session.writer()?;
    let p = super::packages::find_package(&st, &session, get(&q, "package")).await?;
    let orgs = form_orgs(gov(&st)?, session.tenant.id, Vec::new()).await?;
    let body = policy_form::form_of(&session, "/admin/access/policies", ("create-policy", "Create policy"), &p, &orgs, &Values::new(), None);
    Ok(page::ok("New assignment policy", &session, "/admin/access/packages", body))
}

async fn find_policy(st: &ConsoleState, session: &Session, id: &str) -> ConsoleResult<AssignmentPolicy> {
    let pid: PolicyId = id.parse().map_err(|_| ConsoleError::not_found(format!("assignment policy '{id}' does not exist")))?;
    Ok(gov(st)?.policy(session.tenant.id, pid).await?)
}

/// The connected organizations the form offers: a page of them, and those chosen (the
/// policy's, or the refused form's) wherever they are in the list.
async fn form_orgs(g: &Governance, tenant: TenantId, chosen: Vec<ConnectedOrgId>) -> ConsoleResult<Vec<ConnectedOrganization>> {
    let mut orgs: Vec<ConnectedOrganization> = g
        .page::<ConnectedOrganization>(tenant, AccessObjectKind::ConnectedOrganization, IdRange::first(ROWS as u32))
        .await?
        .into_iter()
        .map(|(_, o)| o)
        .collect();
    for id in chosen {
        if !orgs.iter().any(|o| o.id == id)
            && let Ok(o) = g.connected_organization(tenant, id).await
        {
            orgs.push(o);
        }
    }
    Ok(orgs)
}

fn chosen(targets: &[SubjectSet]) -> Vec<ConnectedOrgId> {
    targets
        .iter()
        .filter_map(|t| match t {
            SubjectSet::ConnectedOrganizationMembers { connected_organization_id } => Some(*connected_organization_id),
            _ => None,
        })
        .collect()
}

fn typed_orgs(form: &Form) -> Vec<ConnectedOrgId> {
    form.0.iter().filter(|(k, _)| k == "org").filter_map(|(_, v)| v.parse().ok()).collect()
}

/// `GET /admin/access/policies/{id}/edit`: the creation form, filled with the policy.
async fn edit_form(State(st): State<Shared>, session: Session, Path(id): Path<String>) -> ConsoleResult {
    session.writer()?;
    let x = find_policy(&st, &session, &id).await?;
    let g = gov(&st)?;
    let p = g.access_package(session.tenant.id, x.access_package_id).await?;
    let orgs = form_orgs(g, session.tenant.id, chosen(&x.specific_allowed_targets)).await?;
    let v = policy_form::values_of(&st, &session, &x).await;
    let body = policy_form::form_of(&session, &format!("/admin/access/policies/{}/edit", x.id), ("save-policy", "Save policy"), &p, &orgs, &v, None);
    Ok(page::ok(&format!("Edit {}", x.display_name), &session, "/admin/access/policies", body))
}

/// `POST /admin/access/policies`: the policy of the form, stored by governance after the
/// policy's own checks (as `POST assignmentPolicies`).
async fn create_policy(State(st): State<Shared>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let g = gov(&st)?;
    let p =
        super::packages::find_package(&st, &session, form.get("package")).await.map_err(|_| ConsoleError::bad_request("choose an existing access package"))?;
    let saved = match policy_form::policy_of(&st, &session, &form, PolicyId::new(), &p, None).await {
        Ok(policy) => g.put_policy(session.tenant.id, &policy).await.map(|()| policy).map_err(|e| Refusal::of(e.into())),
        Err(r) => Err(r),
    };
    let policy = match saved {
        Ok(policy) => policy,
        Err(r) => {
            let orgs = form_orgs(g, session.tenant.id, typed_orgs(&form)).await?;
            return policy_form::refused_page(
                "New assignment policy",
                &session,
                ("/admin/access/policies", ("create-policy", "Create policy")),
                &p,
                &orgs,
                &form,
                &r,
            );
        }
    };
    let e = entry("Create assignment policy", AuditOperation::Add, "AccessPackageAssignmentPolicy", policy.id).named(Some(&policy.display_name)).change(
        "accessPackage",
        None,
        Some(p.id.to_string()),
    );
    audited(&st, &session, e).await;
    Ok(see_other(&format!("/admin/access/policies/{}", policy.id)))
}

/// `POST /admin/access/policies/{id}/edit`: the policy replaced by the form's, as `PUT
/// assignmentPolicies/{id}` replaces it (the same step); a refusal changes nothing.
async fn edit(State(st): State<Shared>, Path(id): Path<String>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let old = find_policy(&st, &session, &id).await?;
    let g = gov(&st)?;
    let p = g.access_package(session.tenant.id, old.access_package_id).await?;
    let saved = match policy_form::policy_of(&st, &session, &form, old.id, &p, Some(&old)).await {
        Ok(policy) => edits::replace_policy(g, session.tenant.id, &old, &policy).await.map(|e| (policy, e)).map_err(|e| Refusal::of(e.into())),
        Err(r) => Err(r),
    };
    match saved {
        Ok((policy, e)) => {
            audited(&st, &session, e).await;
            Ok(see_other(&format!("/admin/access/policies/{}", policy.id)))
        }
        Err(r) => {
            let orgs = form_orgs(g, session.tenant.id, typed_orgs(&form)).await?;
            let action = format!("/admin/access/policies/{}/edit", old.id);
            policy_form::refused_page(&format!("Edit {}", old.display_name), &session, (&action, ("save-policy", "Save policy")), &p, &orgs, &form, &r)
        }
    }
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
    let x = find_policy(&st, &session, &id).await?;
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
        let mut escalation = Vec::new();
        for a in s.escalation_approvers.iter().filter(|_| s.is_escalation_enabled) {
            escalation.push(approver_text(&st, &session, a).await);
        }
        stages.push((who.join(", "), fallback.join(", "), s.duration_before_automatic_denial, escalation.join(", "), s.duration_before_escalation));
    }
    let review = match &x.review_settings {
        None => None,
        Some(r) => {
            let mut who = Vec::new();
            for a in &r.primary_reviewers {
                who.push(approver_text(&st, &session, a).await);
            }
            if r.is_self_review {
                who = vec!["each person, of their own access".to_owned()];
            }
            let mut fallback = Vec::new();
            for a in &r.fallback_reviewers {
                fallback.push(approver_text(&st, &session, a).await);
            }
            Some((r, who.join(", "), fallback.join(", ")))
        }
    };
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
        @if writer(&session) { p { a.button href={"/admin/access/policies/" (x.id) "/edit"} id="edit-policy" { "Edit" } } }
        @if !stages.is_empty() {
            h2 id="stages-heading" { "Approval stages" }
            ol id="stages" aria-labelledby="stages-heading" { @for (who, fallback, days, escalation, after) in &stages { li {
                (who) @if !fallback.is_empty() { " (fallback: " (fallback) ")" } "; denied after " (days) " without a decision"
                @if !escalation.is_empty() { "; escalated to " (escalation) " after " (after) }
            } } }
        }
        h2 id="review-heading" { "Access reviews" }
        @match &review {
            None => p.note id="no-review" { "Assignments under this policy are not reviewed." },
            Some((r, who, fallback)) => dl.panel id="review" aria-labelledby="review-heading" {
                dt { "State" } dd id="review-state" { (if r.is_enabled { "on" } else { "off" }) }
                dt { "Schedule" } dd id="review-schedule" { "from " (time(r.start_date_time)) ", every " (r.recurrence_months) " months, each lasting " (r.duration) }
                dt { "Reviewers" } dd id="review-reviewers" { (who) @if !fallback.is_empty() { " (fallback: " (fallback) ")" } }
                dt { "Without an answer" } dd id="review-no-response" { @match r.expiration_behavior { NoResponse::RemoveAccess => "access is removed", NoResponse::AcceptAccessRecommendation => "the recommendation is taken", NoResponse::KeepAccess | NoResponse::UnknownFutureValue => "access stays" } }
                dt { "Decisions" } dd id="review-decisions" { (if r.is_recommendation_enabled { "see recommendations" } else { "see no recommendation" }) (if r.is_reviewer_justification_required { ", justify their decisions" } else { "" }) }
            },
        }
    };
    Ok(page::ok(&x.display_name, &session, "/admin/access/policies", body))
}
