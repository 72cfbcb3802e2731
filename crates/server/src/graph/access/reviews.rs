//! Access reviews of access package assignments as Graph's
//! `identityGovernance/accessReviews`: one definition per assignment policy with reviews
//! (its id is the policy's), an instance per recurrence, a decision item per assignment
//! (its id is the assignment's). Definitions and instances are read-only, as Entra has
//! them for access package reviews; a reviewer records a decision on an item by PATCH,
//! acting as themselves (a personal token, or the user an admin token names in
//! `X-Tenantsync-Approver`).
use super::{Paging, acting_user, current_user, current_user_filter, entry, gov, id_of, json_of, parse, required, text};
use crate::graph::caller::Caller;
use crate::graph::error::{GraphCode, GraphError, GraphResult};
use crate::graph::openapi::{ApiRouter, Errors, only};
use crate::graph::{Shared, answer, context, no_content, only_known, read_object, set};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use tenantsync_access::{AssignmentPolicy, DecisionItem, NoResponse, Outcome, PolicyId, ReviewDecision, ReviewId, ReviewInstance, ReviewStatus};
use tenantsync_domain::ObjectId;
use tenantsync_store::{AccessObjectKind, AuditOperation};

/// The base path of access reviews.
const REVIEWS: &str = "identityGovernance/accessReviews/definitions";

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router
        .routes(only(utoipa_axum::routes!(list_definitions)))
        .routes(only(utoipa_axum::routes!(get_definition)))
        .routes(only(utoipa_axum::routes!(list_instances)))
        .routes(only(utoipa_axum::routes!(get_instance)))
        .routes(only(utoipa_axum::routes!(stop_instance)))
        .routes(only(utoipa_axum::routes!(list_decisions)))
        .routes(only(utoipa_axum::routes!(get_decision, record_decision)))
}

fn definition_json(p: &AssignmentPolicy, open: bool) -> Value {
    let Some(s) = &p.review_settings else { return Value::Null };
    let (default_enabled, default) = match s.expiration_behavior {
        NoResponse::RemoveAccess => (true, "Deny"),
        NoResponse::AcceptAccessRecommendation => (true, "Recommendation"),
        NoResponse::KeepAccess | NoResponse::UnknownFutureValue => (false, "Approve"),
    };
    let status = match (s.is_enabled, open) {
        (false, _) => "Completed",
        (true, true) => "InProgress",
        (true, false) => "NotStarted",
    };
    let query = format!(
        "/identityGovernance/entitlementManagement/accessPackageAssignments?$filter=(accessPackageId eq '{}' and assignmentPolicyId eq '{}')",
        p.access_package_id, p.id
    );
    json!({
        "id": p.id,
        "displayName": format!("Review of {}", p.display_name),
        "descriptionForAdmins": "the assignments of an access package's policy",
        "status": status,
        "scope": { "@odata.type": "#microsoft.graph.accessReviewQueryScope", "query": query, "queryType": "MicrosoftGraph" },
        "settings": {
            "instanceDurationInDays": s.duration.as_seconds() / 86_400,
            "recurrence": {
                "pattern": { "type": "absoluteMonthly", "interval": s.recurrence_months },
                "range": { "type": "noEnd", "startDate": s.start_date_time.strftime("%Y-%m-%d").to_string() },
            },
            "defaultDecisionEnabled": default_enabled,
            "defaultDecision": default,
            "autoApplyDecisionsEnabled": true,
            "recommendationsEnabled": s.is_recommendation_enabled,
            "justificationRequiredOnApproval": s.is_reviewer_justification_required,
        },
    })
}

fn instance_json(r: &ReviewInstance) -> Value {
    json!({
        "id": r.id,
        "startDateTime": r.start_date_time,
        "endDateTime": r.end_date_time,
        "status": json_of(&r.status),
        "scope": { "@odata.type": "#microsoft.graph.accessReviewQueryScope", "queryType": "MicrosoftGraph",
                   "query": format!("/identityGovernance/entitlementManagement/accessPackageAssignments?$filter=(accessPackageId eq '{}' and assignmentPolicyId eq '{}')", r.access_package_id, r.assignment_policy_id) },
    })
}

fn decision_json(r: &ReviewInstance, d: &DecisionItem) -> Value {
    let applied = match d.outcome {
        None => "New",
        Some(Outcome::Keep | Outcome::Remove) => "AppliedSuccessfully",
    };
    json!({
        "id": d.assignment_id,
        "accessReviewId": r.id,
        "decision": json_of(&d.decision),
        "justification": d.justification,
        "recommendation": json_of(&d.recommendation),
        "reviewedBy": d.reviewed_by.map(|u| json!({ "id": u })),
        "reviewedDateTime": d.reviewed_date_time,
        "principal": { "@odata.type": "#microsoft.graph.userIdentity", "id": d.principal },
        "resource": {
            "@odata.type": "#microsoft.graph.accessReviewInstanceDecisionItemAccessPackageAssignmentPolicyResource",
            "id": r.assignment_policy_id,
            "accessPackageId": r.access_package_id,
        },
        "applyResult": applied,
    })
}

fn collection(what: &str, value: Vec<Value>) -> Response {
    answer(StatusCode::OK, json!({ "@odata.context": context(&format!("{REVIEWS}/{what}")), "value": value }))
}

fn entity(what: &str, mut v: Value) -> Response {
    set(&mut v, "@odata.context", Value::String(context(&format!("{REVIEWS}/{what}/$entity"))));
    answer(StatusCode::OK, v)
}

/// The policy with reviews a definition id names (404 for another).
async fn definition(st: &Shared, caller: &Caller, id: &str) -> GraphResult<AssignmentPolicy> {
    let pid: PolicyId = id_of(id, "access review definition")?;
    let p = gov(st)?.policy(caller.tenant, pid).await.map_err(|_| GraphError::not_found(format!("access review definition '{id}' does not exist")))?;
    if p.review_settings.is_none() {
        return Err(GraphError::not_found(format!("access review definition '{id}' does not exist")));
    }
    Ok(p)
}

/// Whether the policy has a review in progress, for each of `policies`: one read of the
/// tenant's review instances, a batch at a time.
async fn in_progress(st: &Shared, caller: &Caller, policies: &[PolicyId]) -> GraphResult<Vec<PolicyId>> {
    let keep = |r: &ReviewInstance| r.status == ReviewStatus::InProgress && policies.contains(&r.assignment_policy_id);
    let open: Vec<(ObjectId, ReviewInstance)> = gov(st)?.first_where(caller.tenant, AccessObjectKind::ReviewInstance, &keep, None, usize::MAX).await?;
    Ok(open.into_iter().map(|(_, r)| r.assignment_policy_id).collect())
}

async fn instance(st: &Shared, caller: &Caller, def: &str, id: &str) -> GraphResult<ReviewInstance> {
    let p = definition(st, caller, def).await?;
    let rid: ReviewId = id_of(id, "access review instance")?;
    gov(st)?
        .review(caller.tenant, rid)
        .await?
        .filter(|r| r.assignment_policy_id == p.id)
        .ok_or_else(|| GraphError::not_found(format!("access review instance '{id}' does not exist")))
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/accessReviews/definitions", tag = "accessReviews", summary = "List the access review definitions (one per assignment policy with reviews)", params(("$top" = Option<u32>, Query, description = "page size, 1 to 999 (default 100)"), ("$skiptoken" = Option<String>, Query, description = "from @odata.nextLink")), responses((status = 200, description = "a collection of microsoft.graph.accessReviewScheduleDefinition", body = crate::graph::openapi::Object), Errors))]
async fn list_definitions(State(st): State<Shared>, caller: Caller, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    let paging = Paging::at(raw.as_deref(), REVIEWS.to_owned(), "access review definitions")?;
    no_filter(&paging)?;
    let keep = |p: &AssignmentPolicy| p.review_settings.is_some();
    let page: Vec<(ObjectId, AssignmentPolicy)> =
        gov(&st)?.first_where(caller.tenant, AccessObjectKind::AssignmentPolicy, &keep, paging.after, paging.limit() as usize).await?;
    let open = in_progress(&st, &caller, &page.iter().map(|(_, p)| p.id).collect::<Vec<_>>()).await?;
    Ok(paging.answer(page, |(id, _)| *id, |(_, p)| definition_json(p, open.contains(&p.id))))
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/accessReviews/definitions/{id}", tag = "accessReviews", summary = "Get an access review definition", params(("id" = String, Path, description = "the definition's id (its assignment policy's)")), responses((status = 200, description = "microsoft.graph.accessReviewScheduleDefinition", body = crate::graph::openapi::Object), Errors))]
async fn get_definition(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    let p = definition(&st, &caller, &id).await?;
    let open = !in_progress(&st, &caller, &[p.id]).await?.is_empty();
    Ok(entity("", definition_json(&p, open)))
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/accessReviews/definitions/{id}/instances", tag = "accessReviews", summary = "List a definition's instances", params(("id" = String, Path, description = "the definition's id"), ("$top" = Option<u32>, Query, description = "page size, 1 to 999 (default 100)"), ("$skiptoken" = Option<String>, Query, description = "from @odata.nextLink")), responses((status = 200, description = "a collection of microsoft.graph.accessReviewInstance", body = crate::graph::openapi::Object), Errors))]
async fn list_instances(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    let p = definition(&st, &caller, &id).await?;
    let paging = Paging::at(raw.as_deref(), format!("{REVIEWS}/{id}/instances"), "access review instances")?;
    no_filter(&paging)?;
    let keep = |r: &ReviewInstance| r.assignment_policy_id == p.id;
    let page: Vec<(ObjectId, ReviewInstance)> =
        gov(&st)?.first_where(caller.tenant, AccessObjectKind::ReviewInstance, &keep, paging.after, paging.limit() as usize).await?;
    Ok(paging.answer(page, |(id, _)| *id, |(_, r)| instance_json(r)))
}

/// Lists here take `$top` and `$skiptoken` only.
fn no_filter(paging: &Paging) -> GraphResult<()> {
    if paging.filter.is_empty() { Ok(()) } else { Err(GraphError::new(GraphCode::UnsupportedQuery, "this list takes $top and $skiptoken, not $filter")) }
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/accessReviews/definitions/{id}/instances/{instance}", tag = "accessReviews", summary = "Get an access review instance", params(("id" = String, Path, description = "the definition's id"), ("instance" = String, Path, description = "the instance's id")), responses((status = 200, description = "microsoft.graph.accessReviewInstance", body = crate::graph::openapi::Object), Errors))]
async fn get_instance(State(st): State<Shared>, caller: Caller, Path((def, id)): Path<(String, String)>) -> GraphResult<Response> {
    let r = instance(&st, &caller, &def, &id).await?;
    Ok(entity(&format!("{def}/instances"), instance_json(&r)))
}

#[utoipa::path(post, path = "/v1.0/identityGovernance/accessReviews/definitions/{id}/instances/{instance}/stop", tag = "accessReviews", summary = "Stop an instance in progress: it completes now and its decisions are applied", params(("id" = String, Path, description = "the definition's id"), ("instance" = String, Path, description = "the instance's id")), responses((status = 204, description = "stopped and applied"), Errors))]
async fn stop_instance(State(st): State<Shared>, caller: Caller, Path((def, id)): Path<(String, String)>) -> GraphResult<Response> {
    caller.admin_only()?;
    let r = instance(&st, &caller, &def, &id).await?;
    let r = gov(&st)?.stop_review(caller.tenant, r.id).await?;
    let removed = r.decisions.iter().filter(|d| d.outcome == Some(Outcome::Remove)).count();
    let e = entry("Stop access review", AuditOperation::Update, "AccessReviewInstance", r.id).change("status", None, Some("Completed".to_owned())).change(
        "removedAssignments",
        None,
        Some(removed.to_string()),
    );
    super::audit(&st, &caller, e).await;
    Ok(no_content())
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/accessReviews/definitions/{id}/instances/{instance}/decisions", tag = "accessReviews", summary = "List an instance's decision items", params(("id" = String, Path, description = "the definition's id"), ("instance" = String, Path, description = "the instance's id")), responses((status = 200, description = "a collection of microsoft.graph.accessReviewInstanceDecisionItem", body = crate::graph::openapi::Object), Errors))]
async fn list_decisions(State(st): State<Shared>, caller: Caller, Path((def, id)): Path<(String, String)>, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    let r = instance(&st, &caller, &def, &id).await?;
    let paging = Paging::at(raw.as_deref(), format!("{REVIEWS}/{def}/instances/{id}/decisions"), "decision items")?;
    no_filter(&paging)?;
    // A personal token sees the items it reviews; a page in the order of their ids.
    let key = |d: &DecisionItem| ObjectId::from_bytes(*d.assignment_id.as_bytes());
    let mut items: Vec<&DecisionItem> =
        r.decisions.iter().filter(|d| caller.user.is_none_or(|u| d.reviewers.contains(&u)) && paging.after.is_none_or(|a| key(d) > a)).collect();
    items.sort_by_key(|d| key(d));
    items.truncate(paging.limit() as usize);
    Ok(paging.answer(items, |d| key(d), |d| decision_json(&r, d)))
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/accessReviews/definitions/{id}/instances/{instance}/decisions/{decision}", tag = "accessReviews", summary = "Get a decision item", params(("id" = String, Path, description = "the definition's id"), ("instance" = String, Path, description = "the instance's id"), ("decision" = String, Path, description = "the decision item's id (its assignment's)")), responses((status = 200, description = "microsoft.graph.accessReviewInstanceDecisionItem", body = crate::graph::openapi::Object), Errors))]
async fn get_decision(
    State(st): State<Shared>,
    caller: Caller,
    Path((def, id, decision)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> GraphResult<Response> {
    let r = instance(&st, &caller, &def, &id).await?;
    if let Some(on) = current_user_filter(&decision) {
        if on != "reviewer" {
            return Err(GraphError::bad_request(format!("filterByCurrentUser on '{on}': expected reviewer")));
        }
        let me = current_user(&st, &caller, &headers).await?;
        let value = r.decisions.iter().filter(|d| d.reviewers.contains(&me)).map(|d| decision_json(&r, d)).collect();
        return Ok(collection(&format!("{def}/instances/{id}/decisions"), value));
    }
    let d = r
        .decisions
        .iter()
        .find(|d| d.assignment_id.to_string() == decision && caller.user.is_none_or(|u| d.reviewers.contains(&u)))
        .ok_or_else(|| GraphError::not_found(format!("decision item '{decision}' does not exist")))?;
    Ok(entity(&format!("{def}/instances/{id}/decisions"), decision_json(&r, d)))
}

#[utoipa::path(patch, path = "/v1.0/identityGovernance/accessReviews/definitions/{id}/instances/{instance}/decisions/{decision}", tag = "accessReviews", summary = "Record a reviewer's decision", params(("id" = String, Path, description = "the definition's id"), ("instance" = String, Path, description = "the instance's id"), ("decision" = String, Path, description = "the decision item's id"), ("X-Tenantsync-Approver" = Option<String>, Header, description = "with an admin token: the reviewer deciding (user id or userPrincipalName)")), request_body(content = crate::graph::openapi::Object, description = "{decision: Approve | Deny | DontKnow, justification}", content_type = "application/json"), responses((status = 204, description = "recorded"), Errors))]
async fn record_decision(
    State(st): State<Shared>,
    caller: Caller,
    Path((def, id, decision)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> GraphResult<Response> {
    let body = read_object(&st, body).await?;
    only_known(&body, &["decision", "justification"])?;
    let value: ReviewDecision = parse(json!(required(&body, "decision")?), "decision (Approve, Deny or DontKnow)")?;
    let justification = text(&body, "justification")?.unwrap_or_default().to_owned();
    let reviewer = acting_user(&st, &caller, &headers)
        .await?
        .ok_or_else(|| GraphError::bad_request("a decision is made by a reviewer: use a personal token, or name the reviewer in X-Tenantsync-Approver"))?;
    let r = instance(&st, &caller, &def, &id).await?;
    let assignment = id_of(&decision, "decision item")?;
    gov(&st)?.review_decide(caller.tenant, r.id, assignment, reviewer, value, &justification).await?;
    let e = entry("Record access review decision", AuditOperation::Update, "AccessReviewInstanceDecisionItem", &decision)
        .change("decision", None, Some(json_of(&value).as_str().unwrap_or_default().to_owned()))
        .change("reviewedBy", None, Some(reviewer.to_string()));
    super::audit(&st, &caller, e).await;
    Ok(no_content())
}
