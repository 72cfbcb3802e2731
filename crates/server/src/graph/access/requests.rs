//! Assignment requests (with `cancel`), assignments, and approvals
//! (`accessPackageAssignmentApprovals/{requestId}` and its stages).
//!
//! Graph takes the requestor and the approver from the signed-in user; tenantsync's admin
//! tokens are not users, so a request names its target (`assignment.targetId` or
//! `assignment.target.email`), and a decision names its approver in the
//! `X-Tenantsync-Approver` header (a user id or userPrincipalName of the tenant).
//! `reprocess` delivers a failed request again, or grants an assignment's roles again.
use super::{Paging, acting_user, collection, current_user, current_user_filter, entity, entry, gov, id_of, json_of, object, parse, required, text};
use crate::graph::caller::Caller;
use crate::graph::error::{GraphCode, GraphError, GraphResult};
use crate::graph::openapi::{ApiRouter, Errors, only};
use crate::graph::{Shared, answer, no_content, only_known, params, read_object};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};
use tenantsync_access::{Answer, Assignment, AssignmentId, PackageId, PolicyId, Request, RequestId, RequestType, ReviewResult, Stage};
use tenantsync_domain::{Mail, ObjectId};
use tenantsync_governance::{Actor, NewRequest, Subject};
use tenantsync_store::{AssignmentFilter, AuditOperation, RequestFilter};

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router
        .routes(only(utoipa_axum::routes!(list_requests, create_request)))
        .routes(only(utoipa_axum::routes!(get_request)))
        .routes(only(utoipa_axum::routes!(cancel_request)))
        .routes(only(utoipa_axum::routes!(reprocess_request)))
        .routes(only(utoipa_axum::routes!(list_assignments)))
        .routes(only(utoipa_axum::routes!(get_assignment)))
        .routes(only(utoipa_axum::routes!(reprocess_assignment)))
        .routes(only(utoipa_axum::routes!(get_approval)))
        .routes(only(utoipa_axum::routes!(decide_stage)))
}

fn request_json(r: &Request) -> Value {
    let answers: Vec<Value> = r
        .answers
        .iter()
        .map(|a| json!({ "@odata.type": "#microsoft.graph.accessPackageAnswerString", "value": a.value, "answeredQuestion": { "id": a.question_id } }))
        .collect();
    let requestor = match (&r.requestor, &r.external) {
        (Some(u), _) => json!({ "objectId": u, "subjectType": "user" }),
        (None, Some(x)) => json!({ "email": x.email, "displayName": x.display_name, "subjectType": "user" }),
        (None, None) => Value::Null,
    };
    json!({
        "id": r.id,
        "requestType": r.request_type,
        "state": r.state,
        "status": r.status,
        "justification": r.justification,
        "createdDateTime": r.created_date_time,
        "completedDateTime": r.completed_date_time,
        "schedule": schedule_json(&r.schedule),
        "answers": answers,
        "requestor": requestor,
        "accessPackage": { "id": r.access_package_id },
        "assignment": r.assignment_id.map(|a| json!({ "id": a })),
    })
}

fn schedule_json(s: &tenantsync_access::Schedule) -> Value {
    let expiration = match s.end_date_time {
        Some(end) => json!({ "type": "afterDateTime", "endDateTime": end }),
        None => json!({ "type": "noExpiration" }),
    };
    json!({ "startDateTime": s.start_date_time, "expiration": expiration })
}

fn assignment_json(a: &Assignment) -> Value {
    json!({
        "id": a.id,
        "state": a.state,
        "status": json_of(&a.state),
        "expiredDateTime": a.expired_date_time,
        "schedule": schedule_json(&a.schedule),
        "target": { "objectId": a.target },
        "accessPackage": { "id": a.access_package_id },
        "assignmentPolicy": { "id": a.assignment_policy_id },
    })
}

/// Who a request's `assignment` names: `targetId`, `target.objectId` or `target.email`.
fn subject_of(a: &Map<String, Value>) -> GraphResult<Option<Subject>> {
    if let Some(id) = text(a, "targetId")? {
        return id.parse().map(|u| Some(Subject::User(u))).map_err(|_| GraphError::bad_request(format!("assignment.targetId '{id}' is not a user id")));
    }
    let Some(t) = object(a, "target", &["objectId", "email", "displayName", "subjectType"])? else { return Ok(None) };
    if let Some(id) = text(t, "objectId")? {
        return id.parse().map(|u| Some(Subject::User(u))).map_err(|_| GraphError::bad_request(format!("assignment.target.objectId '{id}' is not a user id")));
    }
    match text(t, "email")? {
        Some(m) => Mail::parse(m).map(|m| Some(Subject::Email(m))).map_err(|e| GraphError::bad_request(format!("assignment.target.email: {e}"))),
        None => Err(GraphError::bad_request("assignment.target must have objectId or email")),
    }
}

fn answers_of(body: &Map<String, Value>) -> GraphResult<Vec<Answer>> {
    let Some(v) = body.get("answers").filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let items = v.as_array().ok_or_else(|| GraphError::bad_request("the property 'answers' must be an array"))?;
    items
        .iter()
        .map(|item| {
            let o = item.as_object().ok_or_else(|| GraphError::bad_request("each answer must be an object"))?;
            only_known(o, &["value", "displayValue", "answeredQuestion"])?;
            let q = object(o, "answeredQuestion", &["id", "text", "sequence", "isRequired", "isAnswerEditable"])?
                .ok_or_else(|| GraphError::bad_request("each answer must name its question in 'answeredQuestion.id'"))?;
            Ok(Answer { question_id: required(q, "id")?.to_owned(), value: required(o, "value")?.to_owned() })
        })
        .collect()
}

/// `schedule.startDateTime` and `schedule.expiration.endDateTime` of a body.
fn schedule_of(body: &Map<String, Value>) -> GraphResult<(Option<jiff::Timestamp>, Option<jiff::Timestamp>)> {
    let Some(s) = object(body, "schedule", &["startDateTime", "expiration", "recurrence"])? else { return Ok((None, None)) };
    let time = |o: &Map<String, Value>, key: &str| -> GraphResult<Option<jiff::Timestamp>> {
        match text(o, key)? {
            None => Ok(None),
            Some(t) => t.parse().map(Some).map_err(|_| GraphError::bad_request(format!("schedule: '{t}' is not an ISO 8601 date and time"))),
        }
    };
    let end = match object(s, "expiration", &["endDateTime", "type", "duration"])? {
        Some(e) => time(e, "endDateTime")?,
        None => None,
    };
    Ok((time(s, "startDateTime")?, end))
}

#[utoipa::path(post, path = "/v1.0/identityGovernance/entitlementManagement/assignmentRequests", tag = "entitlementManagement", summary = "Request, assign, extend or remove an access package", request_body(content = crate::graph::openapi::Object, description = "{requestType, assignment: {targetId | target: {email}, assignmentPolicyId, accessPackageId} | {id}, justification, answers, schedule}", content_type = "application/json"), responses((status = 201, description = "microsoft.graph.accessPackageAssignmentRequest", body = crate::graph::openapi::Object), Errors))]
async fn create_request(State(st): State<Shared>, caller: Caller, body: Body) -> GraphResult<Response> {
    let body = read_object(&st, body).await?;
    only_known(&body, &["requestType", "assignment", "justification", "answers", "schedule"])?;
    let kind: RequestType = parse(json!(required(&body, "requestType")?), "requestType")?;
    let actor = match kind {
        RequestType::UserAdd | RequestType::UserUpdate | RequestType::UserRemove => Actor::Subject,
        RequestType::AdminAdd | RequestType::AdminUpdate | RequestType::AdminRemove => {
            caller.admin_only()?;
            Actor::Admin
        }
        RequestType::SystemAdd | RequestType::SystemRemove | RequestType::UnknownFutureValue => {
            return Err(GraphError::bad_request("requestType must be userAdd, userUpdate, userRemove, adminAdd, adminUpdate or adminRemove"));
        }
    };
    let a = object(&body, "assignment", &["id", "targetId", "target", "assignmentPolicyId", "accessPackageId"])?
        .ok_or_else(|| GraphError::bad_request("the property 'assignment' is required"))?;
    let g = gov(&st)?.clone();
    let (subject, package, policy) = match text(a, "id")? {
        // An update or removal names the assignment.
        Some(id) => {
            let id: AssignmentId = id.parse().map_err(|_| GraphError::bad_request(format!("assignment.id '{id}' is not an assignment id")))?;
            let held = g.assignment(caller.tenant, id).await?.value;
            if caller.user.is_some_and(|me| me != held.target) {
                return Err(GraphError::not_found(format!("assignment '{id}' does not exist")));
            }
            (Subject::User(held.target), held.access_package_id, held.assignment_policy_id)
        }
        None => {
            let subject = match (subject_of(a)?, caller.user) {
                (None, Some(me)) => Subject::User(me),
                (Some(Subject::User(u)), Some(me)) if u == me => Subject::User(me),
                (Some(_), Some(_)) => return Err(GraphError::new(GraphCode::Forbidden, "a personal token requests for its own user only")),
                (Some(s), None) => s,
                (None, None) => return Err(GraphError::bad_request("assignment must name its target (targetId or target.email) or its id")),
            };
            let package: PackageId =
                required(a, "accessPackageId")?.parse().map_err(|_| GraphError::bad_request("assignment.accessPackageId is not an access package id"))?;
            let policy: PolicyId = required(a, "assignmentPolicyId")?
                .parse()
                .map_err(|_| GraphError::bad_request("assignment.assignmentPolicyId is not an assignment policy id"))?;
            (subject, package, policy)
        }
    };
    let (start, end) = schedule_of(&body)?;
    let new = NewRequest {
        kind,
        package,
        policy,
        subject,
        start,
        end,
        answers: answers_of(&body)?,
        justification: text(&body, "justification")?.unwrap_or_default().to_owned(),
    };
    let r = g.submit(caller.tenant, new, actor).await?;
    let e = entry("Create access package assignment request", AuditOperation::Add, "AccessPackageAssignmentRequest", r.id)
        .change("requestType", None, Some(json_of(&r.request_type).as_str().unwrap_or_default().to_owned()))
        .change("accessPackage", None, Some(r.access_package_id.to_string()))
        .change("state", None, Some(json_of(&r.state).as_str().unwrap_or_default().to_owned()));
    super::audit(&st, &caller, e).await;
    Ok(entity(StatusCode::CREATED, "assignmentRequests", request_json(&r)))
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/assignmentRequests", tag = "entitlementManagement", summary = "List assignment requests", params(("$top" = Option<u32>, Query, description = "page size, 1 to 999 (default 100)"), ("$skiptoken" = Option<String>, Query, description = "from @odata.nextLink")), responses((status = 200, description = "a collection of microsoft.graph.accessPackageAssignmentRequest", body = crate::graph::openapi::Object), Errors))]
async fn list_requests(State(st): State<Shared>, caller: Caller, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    caller.admin_only()?;
    let paging = Paging::of(raw.as_deref(), "assignmentRequests")?;
    if !paging.filter.is_empty() {
        return Err(GraphError::new(GraphCode::UnsupportedQuery, "assignmentRequests take $top and $skiptoken"));
    }
    let filter = RequestFilter { after: paging.after.map(|a| RequestId::from_bytes(*a.as_bytes())), limit: Some(paging.limit()), ..RequestFilter::default() };
    let page = gov(&st)?.store().access_requests(caller.tenant, filter).await?;
    Ok(paging.answer(page, |r| ObjectId::from_bytes(*r.value.id.as_bytes()), |r| request_json(&r.value)))
}

/// A request; for a personal token, only one it made or is an approver of (else 404).
async fn find_request(st: &Shared, caller: &Caller, id: &str) -> GraphResult<Request> {
    let rid: RequestId = id_of(id, "assignment request")?;
    let r = gov(st)?.request(caller.tenant, rid).await?.value;
    match caller.user {
        Some(me) if r.requestor != Some(me) && !r.stages.iter().any(|s| s.approvers.contains(&me) || s.escalation_approvers.contains(&me)) => {
            Err(GraphError::not_found(format!("assignment request '{id}' does not exist")))
        }
        _ => Ok(r),
    }
}

/// `assignmentRequests/filterByCurrentUser(on='target' | 'approver')`: the current user's
/// requests, or those awaiting their decision.
async fn requests_of_current_user(st: &Shared, caller: &Caller, headers: &HeaderMap, on: &str) -> GraphResult<Response> {
    let me = current_user(st, caller, headers).await?;
    let g = gov(st)?;
    let all: Vec<Request> = match on {
        "target" | "createdBy" => g
            .store()
            .access_requests(caller.tenant, RequestFilter { requestor: Some(me), ..RequestFilter::default() })
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect(),
        "approver" => g.pending_for(caller.tenant, me).await?,
        other => return Err(GraphError::bad_request(format!("filterByCurrentUser on '{other}': expected target, createdBy or approver"))),
    };
    Ok(collection("assignmentRequests", all.iter().map(request_json).collect()))
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/assignmentRequests/{id}", tag = "entitlementManagement", summary = "Get an assignment request", params(("id" = String, Path, description = "the request's id")), responses((status = 200, description = "microsoft.graph.accessPackageAssignmentRequest", body = crate::graph::openapi::Object), Errors))]
async fn get_request(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, headers: HeaderMap) -> GraphResult<Response> {
    if let Some(on) = current_user_filter(&id) {
        return requests_of_current_user(&st, &caller, &headers, on).await;
    }
    let r = find_request(&st, &caller, &id).await?;
    Ok(entity(StatusCode::OK, "assignmentRequests", request_json(&r)))
}

#[utoipa::path(post, path = "/v1.0/identityGovernance/entitlementManagement/assignmentRequests/{id}/cancel", tag = "entitlementManagement", summary = "Cancel a request not yet delivered", params(("id" = String, Path, description = "the request's id")), responses((status = 200, description = "the canceled microsoft.graph.accessPackageAssignmentRequest", body = crate::graph::openapi::Object), Errors))]
async fn cancel_request(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    let r = find_request(&st, &caller, &id).await?;
    if caller.user.is_some_and(|me| r.requestor != Some(me)) {
        return Err(GraphError::new(GraphCode::Forbidden, "a personal token cancels only its user's own requests"));
    }
    let r = gov(&st)?.cancel(caller.tenant, r.id).await?;
    super::audit(&st, &caller, entry("Cancel access package assignment request", AuditOperation::Update, "AccessPackageAssignmentRequest", r.id)).await;
    Ok(answer(StatusCode::OK, request_json(&r)))
}

#[utoipa::path(post, path = "/v1.0/identityGovernance/entitlementManagement/assignmentRequests/{id}/reprocess", tag = "entitlementManagement", summary = "Deliver again a request whose delivery failed (within 7 days)", params(("id" = String, Path, description = "the request's id")), responses((status = 202, description = "delivered again: the request shows the outcome"), Errors))]
async fn reprocess_request(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    caller.admin_only()?;
    let r = find_request(&st, &caller, &id).await?;
    let r = gov(&st)?.reprocess(caller.tenant, r.id).await?;
    let e = entry("Reprocess access package assignment request", AuditOperation::Update, "AccessPackageAssignmentRequest", r.id).change(
        "state",
        None,
        Some(json_of(&r.state).as_str().unwrap_or_default().to_owned()),
    );
    super::audit(&st, &caller, e).await;
    Ok(accepted())
}

/// Graph's answer to an action that was carried out (202, no body).
fn accepted() -> Response {
    let mut r = no_content();
    *r.status_mut() = StatusCode::ACCEPTED;
    r
}

async fn find_assignment(st: &Shared, caller: &Caller, id: &str) -> GraphResult<Assignment> {
    let aid: AssignmentId = id_of(id, "assignment")?;
    let a = gov(st)?.assignment(caller.tenant, aid).await?.value;
    if caller.user.is_some_and(|me| me != a.target) {
        return Err(GraphError::not_found(format!("assignment '{id}' does not exist")));
    }
    Ok(a)
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/assignments/{id}", tag = "entitlementManagement", summary = "Get an assignment", params(("id" = String, Path, description = "the assignment's id")), responses((status = 200, description = "microsoft.graph.accessPackageAssignment", body = crate::graph::openapi::Object), Errors))]
async fn get_assignment(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, headers: HeaderMap) -> GraphResult<Response> {
    if let Some(on) = current_user_filter(&id) {
        if !matches!(on, "target" | "createdBy") {
            return Err(GraphError::bad_request(format!("filterByCurrentUser on '{on}': expected target or createdBy")));
        }
        let me = current_user(&st, &caller, &headers).await?;
        let all = gov(&st)?.store().access_assignments(caller.tenant, AssignmentFilter { target: Some(me), ..AssignmentFilter::default() }).await?;
        return Ok(collection("assignments", all.iter().map(|a| assignment_json(&a.value)).collect()));
    }
    let a = find_assignment(&st, &caller, &id).await?;
    Ok(entity(StatusCode::OK, "assignments", assignment_json(&a)))
}

#[utoipa::path(post, path = "/v1.0/identityGovernance/entitlementManagement/assignments/{id}/reprocess", tag = "entitlementManagement", summary = "Grant again every role of a current assignment", params(("id" = String, Path, description = "the assignment's id")), responses((status = 202, description = "its roles are granted"), Errors))]
async fn reprocess_assignment(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    caller.admin_only()?;
    let a = find_assignment(&st, &caller, &id).await?;
    let a = gov(&st)?.reprocess_assignment(caller.tenant, a.id).await?;
    super::audit(&st, &caller, entry("Reprocess access package assignment", AuditOperation::Update, "AccessPackageAssignment", a.id)).await;
    Ok(accepted())
}

/// The filter of `$filter` on assignments: `accessPackage/id`, `assignmentPolicy/id`,
/// `target/objectId` with `eq`, joined by `and`.
fn assignment_filter(raw: Option<&str>) -> GraphResult<AssignmentFilter> {
    let mut f = AssignmentFilter::default();
    let Some((_, text)) = params(raw).into_iter().find(|(k, _)| k == "$filter") else { return Ok(f) };
    let unsupported = || {
        GraphError::new(
            GraphCode::UnsupportedQuery,
            "$filter on assignments takes accessPackage/id, assignmentPolicy/id and target/objectId with eq, joined by 'and'",
        )
    };
    for part in text.split(" and ") {
        let (path, value) = part.trim().split_once(" eq ").ok_or_else(unsupported)?;
        let value = value.trim().strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).ok_or_else(unsupported)?;
        let bad = || GraphError::bad_request(format!("'{value}' is not an id"));
        match path.trim() {
            "accessPackage/id" => f.package = Some(value.parse().map_err(|_| bad())?),
            "assignmentPolicy/id" => f.policy = Some(value.parse().map_err(|_| bad())?),
            "target/objectId" => f.target = Some(value.parse().map_err(|_| bad())?),
            _ => return Err(unsupported()),
        }
    }
    Ok(f)
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/assignments", tag = "entitlementManagement", summary = "List assignments", params(("$filter" = Option<String>, Query, description = "accessPackage/id, assignmentPolicy/id, target/objectId eq '{id}', joined by and"), ("$top" = Option<u32>, Query, description = "page size, 1 to 999 (default 100)"), ("$skiptoken" = Option<String>, Query, description = "from @odata.nextLink")), responses((status = 200, description = "a collection of microsoft.graph.accessPackageAssignment", body = crate::graph::openapi::Object), Errors))]
async fn list_assignments(State(st): State<Shared>, caller: Caller, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    caller.admin_only()?;
    let paging = Paging::of(raw.as_deref(), "assignments")?;
    let filter = AssignmentFilter {
        after: paging.after.map(|a| AssignmentId::from_bytes(*a.as_bytes())),
        limit: Some(paging.limit()),
        ..assignment_filter(raw.as_deref())?
    };
    let page = gov(&st)?.store().access_assignments(caller.tenant, filter).await?;
    Ok(paging.answer(page, |a| ObjectId::from_bytes(*a.value.id.as_bytes()), |a| assignment_json(&a.value)))
}

fn stage_json(n: usize, s: &Stage, me: Option<ObjectId>) -> Value {
    let result = match s.review_result {
        ReviewResult::NotReviewed => "NotReviewed",
        ReviewResult::Approved => "Approve",
        ReviewResult::Denied => "Deny",
    };
    json!({
        "id": (n + 1).to_string(),
        "displayName": format!("Stage {}", n + 1),
        "status": json_of(&s.status),
        "reviewResult": result,
        "justification": s.justification,
        "reviewedBy": s.reviewed_by.map(|u| json!({ "id": u })),
        "reviewedDateTime": s.reviewed_date_time,
        "assignedToMe": me.is_some_and(|u| s.approvers.contains(&u) || s.escalated.is_some() && s.escalation_approvers.contains(&u)),
    })
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/accessPackageAssignmentApprovals/{id}", tag = "entitlementManagement", summary = "The approval of a request", params(("id" = String, Path, description = "the request's id"), ("X-Tenantsync-Approver" = Option<String>, Header, description = "the approver (user id or userPrincipalName) for assignedToMe")), responses((status = 200, description = "microsoft.graph.approval", body = crate::graph::openapi::Object), Errors))]
async fn get_approval(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, headers: HeaderMap) -> GraphResult<Response> {
    if let Some(on) = current_user_filter(&id) {
        if on != "approver" {
            return Err(GraphError::bad_request(format!("filterByCurrentUser on '{on}': expected approver")));
        }
        let me = current_user(&st, &caller, &headers).await?;
        let pending = gov(&st)?.pending_for(caller.tenant, me).await?;
        let value = pending
            .iter()
            .map(|r| json!({ "id": r.id, "stages": r.stages.iter().enumerate().map(|(n, s)| stage_json(n, s, Some(me))).collect::<Vec<_>>() }))
            .collect();
        return Ok(collection("accessPackageAssignmentApprovals", value));
    }
    let r = find_request(&st, &caller, &id).await?;
    let me = acting_user(&st, &caller, &headers).await?;
    let stages: Vec<Value> = r.stages.iter().enumerate().map(|(n, s)| stage_json(n, s, me)).collect();
    Ok(entity(StatusCode::OK, "accessPackageAssignmentApprovals", json!({ "id": r.id, "stages": stages })))
}

#[utoipa::path(patch, path = "/v1.0/identityGovernance/entitlementManagement/accessPackageAssignmentApprovals/{id}/stages/{stage}", tag = "entitlementManagement", summary = "Approve or deny a stage", params(("id" = String, Path, description = "the request's id"), ("stage" = String, Path, description = "the stage's id (1, 2, 3)"), ("X-Tenantsync-Approver" = String, Header, description = "the approver deciding (user id or userPrincipalName)")), request_body(content = crate::graph::openapi::Object, description = "{reviewResult: Approve | Deny, justification}", content_type = "application/json"), responses((status = 204, description = "done"), Errors))]
async fn decide_stage(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, stage)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> GraphResult<Response> {
    let body = read_object(&st, body).await?;
    only_known(&body, &["reviewResult", "justification"])?;
    let approve = match required(&body, "reviewResult")? {
        "Approve" => true,
        "Deny" => false,
        other => return Err(GraphError::bad_request(format!("reviewResult '{other}' is not Approve or Deny"))),
    };
    let justification = text(&body, "justification")?.unwrap_or_default().to_owned();
    let who = acting_user(&st, &caller, &headers)
        .await?
        .ok_or_else(|| GraphError::bad_request("the X-Tenantsync-Approver header must name the approver (a user id or userPrincipalName)"))?;
    let r = find_request(&st, &caller, &id).await?;
    let n: usize =
        stage.parse().ok().filter(|n| (1..=r.stages.len()).contains(n)).ok_or_else(|| GraphError::not_found(format!("stage '{stage}' does not exist")))?;
    let r = gov(&st)?.decide(caller.tenant, r.id, n - 1, who, approve, &justification).await?;
    let e = entry(
        if approve { "Approve access package assignment request" } else { "Deny access package assignment request" },
        AuditOperation::Update,
        "AccessPackageAssignmentRequest",
        r.id,
    )
    .change(&format!("stages[{n}].reviewResult"), None, Some(if approve { "Approve" } else { "Deny" }.to_owned()))
    .change(&format!("stages[{n}].reviewedBy"), None, Some(who.to_string()));
    super::audit(&st, &caller, e).await;
    Ok(no_content())
}
