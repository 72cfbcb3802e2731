//! `GET /v1.0/auditLogs/provisioning`: the provisioning log records of the caller's
//! configurations (those whose source is its tenant, as Entra shows a job's logs in the
//! job's tenant), newest first, as Graph's `provisioningObjectSummary`. `$filter` takes
//! `and`-joined comparisons of `jobId`, `servicePrincipal/id`, `provisioningAction`,
//! `provisioningStatusInfo/status`, `sourceIdentity/id`, `targetIdentity/id` (`eq`) and
//! `activityDateTime` (`eq`, `ge`, `gt`, `le`, `lt`; millisecond precision); `$top`
//! (at most 999) and `@odata.nextLink` pages (keyset: flat in depth).
use super::caller::Caller;
use super::error::{GraphCode, GraphError, GraphResult};
use super::{Shared, odata, page, sync};
use crate::graph::openapi::{ApiRouter, only};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use tenantsync_domain::{GroupAttribute as G, ObjectId, ObjectKind, SyncConfigId};
use tenantsync_store::{
    CompareOp, Field, Filter, FilterValue, KeyValue, Keyset, LogCursor, LogQuery, ProvisioningAction, ProvisioningLog, ProvisioningStatus, Seek,
};

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router.routes(only(utoipa_axum::routes!(list)))
}

// The filter parser works over store fields; the log's properties borrow distinct ones
// (a table internal to this module, read back by `conditions`).
const JOB: Field = Field::Group(G::DisplayName);
const SERVICE_PRINCIPAL: Field = Field::Group(G::ExternalId);
const ACTION: Field = Field::Group(G::Description);
const STATUS: Field = Field::Group(G::MailNickname);
const SOURCE: Field = Field::Member;
const TARGET: Field = Field::MemberOf;

fn properties(name: &str) -> Option<odata::Property> {
    let p = |field, kind| Some(odata::Property { field, kind, sortable: false });
    match name {
        "jobId" => p(JOB, odata::Kind::ExactText),
        "servicePrincipal/id" => p(SERVICE_PRINCIPAL, odata::Kind::Id),
        // Sortable only in the log's own order, newest first (checked in `list`).
        "activityDateTime" => Some(odata::Property { field: Field::Created, kind: odata::Kind::Time, sortable: true }),
        "provisioningAction" => p(ACTION, odata::Kind::ExactText),
        "provisioningStatusInfo/status" => p(STATUS, odata::Kind::ExactText),
        "sourceIdentity/id" => p(SOURCE, odata::Kind::Id),
        "targetIdentity/id" => p(TARGET, odata::Kind::Id),
        _ => None,
    }
}

fn unsupported(what: &str) -> GraphError {
    GraphError::new(GraphCode::UnsupportedQuery, format!("$filter on provisioning logs: {what}"))
}

/// Graph's spelling of an action.
pub fn action_name(a: ProvisioningAction) -> &'static str {
    match a {
        ProvisioningAction::Create => "create",
        ProvisioningAction::Update => "update",
        ProvisioningAction::Delete => "delete",
        ProvisioningAction::StagedDelete => "stagedDelete",
        ProvisioningAction::Disable => "disable",
        ProvisioningAction::Other => "other",
    }
}

const ACTIONS: [ProvisioningAction; 6] = [
    ProvisioningAction::Create,
    ProvisioningAction::Update,
    ProvisioningAction::Delete,
    ProvisioningAction::StagedDelete,
    ProvisioningAction::Disable,
    ProvisioningAction::Other,
];
const STATUSES: [ProvisioningStatus; 4] = [ProvisioningStatus::Success, ProvisioningStatus::Failure, ProvisioningStatus::Skipped, ProvisioningStatus::Warning];

/// Narrows `q` by one comparison of the filter.
fn condition(q: &mut LogQuery, f: &Filter) -> GraphResult<()> {
    let one = jiff::SignedDuration::from_millis(1);
    let Filter::Compare { field, op, value, .. } = f else { return Err(unsupported("comparisons joined by 'and' only")) };
    match (*field, op, value) {
        (Field::Created, op, FilterValue::Time(t)) => {
            let next = t.checked_add(one).unwrap_or(*t);
            match op {
                CompareOp::Ge => q.since = q.since.max(Some(*t)),
                CompareOp::Gt => q.since = q.since.max(Some(next)),
                CompareOp::Lt => q.until = Some(q.until.map_or(*t, |u| u.min(*t))),
                CompareOp::Le => q.until = Some(q.until.map_or(next, |u| u.min(next))),
                CompareOp::Eq => {
                    q.since = q.since.max(Some(*t));
                    q.until = Some(q.until.map_or(next, |u| u.min(next)));
                }
                _ => return Err(unsupported("activityDateTime takes eq, ge, gt, le or lt")),
            }
        }
        (_, op, _) if *op != CompareOp::Eq => return Err(unsupported("only activityDateTime takes an operator other than eq")),
        (JOB, _, FilterValue::Text(job)) => {
            // A job id names its configuration; one that does not matches no record.
            q.config_id = Some(sync::config_of_job(job).unwrap_or_else(|| SyncConfigId::from_bytes([0; 16])));
        }
        (SERVICE_PRINCIPAL, _, FilterValue::Id(id)) => q.config_id = Some(SyncConfigId::from_bytes(*id.as_bytes())),
        (ACTION, _, FilterValue::Text(a)) => {
            q.action = Some(ACTIONS.into_iter().find(|x| action_name(*x).eq_ignore_ascii_case(a)).ok_or_else(|| {
                GraphError::bad_request(format!("provisioningAction '{a}' is not one of create, update, delete, stagedDelete, disable, other"))
            })?);
        }
        (STATUS, _, FilterValue::Text(s)) => {
            q.status = Some(
                STATUSES
                    .into_iter()
                    .find(|x| x.as_str().eq_ignore_ascii_case(s))
                    .ok_or_else(|| GraphError::bad_request(format!("provisioningStatusInfo/status '{s}' is not one of success, failure, skipped, warning")))?,
            );
        }
        (SOURCE, _, FilterValue::Id(id)) => q.source_id = Some(*id),
        (TARGET, _, FilterValue::Id(id)) => q.target_id = Some(*id),
        _ => return Err(unsupported("an unsupported comparison")),
    }
    Ok(())
}

#[utoipa::path(get, path = "/v1.0/auditLogs/provisioning", tag = "auditLogs", summary = "Provisioning logs", params(crate::graph::openapi::LogQuery), responses((status = 200, description = "a collection of microsoft.graph.provisioningObjectSummary", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn list(State(st): State<Shared>, caller: Caller, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    let params = super::params(raw.as_deref());
    let o = odata::parse(&params, &properties)?;
    if o.orderby.is_some_and(|k| !k.descending) {
        return Err(GraphError::new(GraphCode::UnsupportedQuery, "$orderby on provisioning logs: only 'activityDateTime desc' (their order)"));
    }
    if o.count || !o.select.is_empty() {
        return Err(GraphError::bad_request("provisioning logs take $filter, $top, $orderby=activityDateTime desc and $skiptoken"));
    }
    let mut q = LogQuery { source_tenant: Some(caller.tenant), limit: o.top.unwrap_or(page::DEFAULT_TOP), ..LogQuery::default() };
    match &o.filter {
        Some(Filter::And(parts)) => parts.iter().try_for_each(|f| condition(&mut q, f))?,
        Some(f) => condition(&mut q, f)?,
        None => {}
    }
    let filter_text = params.iter().find(|(k, _)| k.eq_ignore_ascii_case("$filter")).map_or("", |(_, v)| v.as_str());
    let fp = ["provisioning", filter_text];
    q.after = match page::seek(o.skiptoken.as_deref(), &fp)? {
        Seek::After(Keyset { value: Some(KeyValue::Text(position)), .. }) => Some(LogCursor(position)),
        Seek::First => None,
        _ => return Err(GraphError::bad_request("$skiptoken is not one this server issued for this query")),
    };
    let found = st.store.provisioning_log_page(&q).await?;
    let mut names = std::collections::HashMap::new();
    let mut value = Vec::with_capacity(found.records.len());
    for r in &found.records {
        if let std::collections::hash_map::Entry::Vacant(e) = names.entry(r.config_id) {
            e.insert(st.store.get_sync_configuration(r.config_id).await.map(|c| (c.display_name, c.target_tenant_id)).ok());
        }
        let (name, target) = names.get(&r.config_id).cloned().flatten().unzip();
        value.push(summary(r, caller.tenant, name.as_deref(), target));
    }
    let mut body = json!({ "@odata.context": super::context("auditLogs/provisioning"), "value": value });
    if let Some(LogCursor(position)) = found.next {
        let token = page::skiptoken(&Seek::After(Keyset { value: Some(KeyValue::Text(position)), id: ObjectId::from_bytes([0; 16]) }), &fp);
        crate::graph::set(&mut body, "@odata.nextLink", json!(page::next_link(&super::base(), "/v1.0/auditLogs/provisioning", &params, &token)));
    }
    Ok(super::answer(StatusCode::OK, body))
}

fn identity_type(k: ObjectKind) -> &'static str {
    match k {
        ObjectKind::User => "User",
        ObjectKind::Group => "Group",
    }
}

/// A record as Graph's `provisioningObjectSummary`.
pub fn summary(r: &ProvisioningLog, tenant: tenantsync_domain::TenantId, config_name: Option<&str>, target: Option<tenantsync_domain::TenantId>) -> Value {
    let error = match (&r.error_code, &r.error_message) {
        (None, None) => Value::Null,
        (code, message) => json!({
            "errorCode": code, "reason": message, "additionalDetails": r.skip_reason.map(|s| s.meaning()),
            "errorCategory": "nonServiceFailure", "recommendedAction": null,
        }),
    };
    let error = if error.is_null() && r.skip_reason.is_some() {
        json!({ "errorCode": r.skip_reason.map(|s| s.as_str()), "reason": r.skip_reason.map(|s| s.meaning()), "additionalDetails": null, "errorCategory": null, "recommendedAction": null })
    } else {
        error
    };
    json!({
        "id": r.id,
        "activityDateTime": r.activity_date_time,
        "tenantId": tenant,
        "jobId": sync::job_id(ObjectId::from_bytes(*r.config_id.as_bytes())),
        "cycleId": r.cycle_id,
        "changeId": r.change_id,
        "provisioningAction": action_name(r.provisioning_action),
        "durationInMilliseconds": r.duration_in_milliseconds,
        "servicePrincipal": { "id": r.config_id, "displayName": config_name },
        "sourceSystem": { "id": tenant, "displayName": "Azure Active Directory", "details": {} },
        "targetSystem": { "id": target, "displayName": "Azure Active Directory (target tenant)", "details": {} },
        "initiatedBy": { "id": "", "displayName": "Azure AD Provisioning Service", "initiatorType": "system" },
        "sourceIdentity": { "id": r.source_id, "displayName": r.source_display_name, "identityType": identity_type(r.object_type), "details": {} },
        "targetIdentity": { "id": r.target_id, "displayName": null, "identityType": identity_type(r.object_type), "details": {} },
        "provisioningStatusInfo": { "status": r.status.as_str(), "errorInformation": error },
        "provisioningSteps": r.steps.iter().map(|s| json!({
            "name": s.kind.as_str(),
            "provisioningStepType": s.kind.step_type().as_str(),
            "status": s.status.as_str(),
            "description": s.description,
            "details": s.details,
        })).collect::<Vec<_>>(),
        "modifiedProperties": r.modified_properties.iter().map(|m| json!({
            "displayName": m.display_name, "oldValue": m.old_value, "newValue": m.new_value,
        })).collect::<Vec<_>>(),
    })
}
