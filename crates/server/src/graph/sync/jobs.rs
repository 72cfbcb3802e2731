//! A service principal's synchronization job: create (`templateId: Azure2Azure`), list,
//! get (Graph's `synchronizationJob` with its `synchronizationStatus`), delete, `start`,
//! `pause`, `restart` (`criteria.resetScope`), `provisionOnDemand` and
//! `validateCredentials` (Entra's test connection: the policy check).
use super::{JOB_TEMPLATE, Principal, configuration, ensure_configuration, entry, principal, save};
use crate::graph::caller::Caller;
use crate::graph::error::{GraphCode, GraphError, GraphResult};
use crate::graph::openapi::{ApiRouter, only};
use crate::graph::{GraphState, Shared};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use tenantsync_domain::{ExecutionState, ObjectId, ObjectKind, SyncConfiguration};
use tenantsync_engine::ResetScope;
use tenantsync_store::{AuditCategory, AuditOperation, CycleExecution, JobState, JobStatusCode, ProvisioningLog, ProvisioningStatus};

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router
        .routes(only(utoipa_axum::routes!(list, create)))
        .routes(only(utoipa_axum::routes!(validate)))
        .routes(only(utoipa_axum::routes!(read, remove)))
        .routes(only(utoipa_axum::routes!(start)))
        .routes(only(utoipa_axum::routes!(pause)))
        .routes(only(utoipa_axum::routes!(restart)))
        .routes(only(utoipa_axum::routes!(provision_on_demand)))
}

/// The principal and its job, or 404.
pub async fn job(st: &GraphState, caller: &Caller, id: &str, job: &str) -> GraphResult<Principal> {
    let p = principal(st, caller, id).await?;
    if !p.job || p.job_id() != job {
        return Err(GraphError::not_found(format!("synchronization job '{job}' does not exist")));
    }
    Ok(p)
}

/// The principal's configuration, or a 400 saying the job needs its credentials first.
async fn configured(st: &GraphState, p: &Principal) -> GraphResult<SyncConfiguration> {
    configuration(st, p)
        .await?
        .ok_or_else(|| GraphError::bad_request("the job has no target tenant yet: save its credentials first (PUT synchronization/secrets with CompanyId)"))
}

const NEVER: &str = "0001-01-01T00:00:00Z";

fn execution(e: &CycleExecution) -> Value {
    json!({
        "activityIdentifier": e.cycle_id,
        "countEntitled": e.counters.count_entitled,
        "countEntitledForProvisioning": e.counters.count_entitled,
        "countEscrowed": e.counters.count_escrowed,
        "countEscrowedRaw": e.counters.count_escrowed,
        "countExported": e.counters.count_exported,
        "countExports": e.counters.count_exported,
        "countImported": e.counters.count_imported,
        "countImportedDeltas": e.counters.count_imported_deltas,
        "countImportedReferenceDeltas": 0,
        "error": e.error.as_ref().map(|m| json!({ "code": "SynchronizationError", "message": m, "tenantActionable": true })),
        "state": e.state.as_str(),
        "timeBegan": e.time_began,
        "timeEnded": e.time_ended,
    })
}

/// Graph's `synchronizationStatus` of a job state (`None`: not configured).
fn status(state: Option<&JobState>) -> Value {
    let Some(s) = state else {
        return json!({
            "code": "NotConfigured", "countSuccessiveCompleteFailures": 0, "escrowsPruned": false, "lastExecution": null,
            "lastSuccessfulExecution": null, "lastSuccessfulExecutionWithExports": null, "progress": [], "quarantine": null,
            "steadyStateFirstAchievedTime": NEVER, "steadyStateLastAchievedTime": NEVER, "synchronizedEntryCountByType": [], "troubleshootingUrl": null,
        });
    };
    let code = match s.status {
        JobStatusCode::NotRun => "NotRun",
        JobStatusCode::Active => "Active",
        JobStatusCode::Paused => "Paused",
        JobStatusCode::Quarantine => "Quarantine",
    };
    let last = s.last_execution.as_ref();
    let succeeded = last.filter(|e| e.state != ExecutionState::Failed);
    let with_exports = succeeded.filter(|e| e.counters.count_exported > 0);
    let failures = u64::from(last.is_some_and(|e| e.state == ExecutionState::Failed));
    let steady = succeeded.filter(|e| e.state == ExecutionState::Succeeded).map_or(json!(NEVER), |e| json!(e.time_ended));
    // tenantsync keeps the reason of a quarantine and when the cycle that caused it ended.
    let quarantine = s.quarantine_reason.map(|r| {
        let began = last.map(|e| e.time_ended);
        json!({ "currentBegan": began, "seriesBegan": began, "seriesCount": 1, "nextAttempt": null, "reason": r.as_str(), "error": null })
    });
    let users = s.escrows.iter().filter(|e| e.object_type == ObjectKind::User).count();
    json!({
        "code": code,
        "countSuccessiveCompleteFailures": failures,
        "escrowsPruned": false,
        "lastExecution": last.map(execution),
        "lastSuccessfulExecution": succeeded.map(execution),
        "lastSuccessfulExecutionWithExports": with_exports.map(execution),
        "progress": [],
        "quarantine": quarantine,
        "steadyStateFirstAchievedTime": steady,
        "steadyStateLastAchievedTime": steady,
        "synchronizedEntryCountByType": [{ "key": "escrowedUsers", "value": users }, { "key": "escrowedGroups", "value": s.escrows.len() - users }],
        "troubleshootingUrl": null,
    })
}

/// The job as Graph's `synchronizationJob`.
pub async fn render(st: &GraphState, p: &Principal) -> GraphResult<Value> {
    let state = match configuration(st, p).await? {
        Some(c) => Some(st.store.job_state(c.id).await?),
        None => None,
    };
    let schedule_state = match state.as_ref().map(|s| s.status) {
        None => "Disabled",
        Some(JobStatusCode::Paused) => "Paused",
        Some(_) => "Active",
    };
    Ok(json!({
        "id": p.job_id(),
        "templateId": JOB_TEMPLATE,
        "schedule": { "expiration": null, "interval": "PT40M", "state": schedule_state },
        "status": status(state.as_ref()),
        "synchronizationJobSettings": [
            { "name": "AzureIngestionAttributeOptimization", "value": "False" },
            { "name": "LookaheadQueryEnabled", "value": "False" },
        ],
    }))
}

#[utoipa::path(get, path = "/v1.0/servicePrincipals/{id}/synchronization/jobs", tag = "synchronization", summary = "List jobs", params(("id" = String, Path, description = "the service principal's id")), responses((status = 200, description = "a collection of microsoft.graph.synchronizationJob", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn list(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    let p = principal(&st, &caller, &id).await?;
    let value = if p.job { vec![render(&st, &p).await?] } else { Vec::new() };
    Ok(crate::graph::answer(StatusCode::OK, json!({ "@odata.context": crate::graph::context("servicePrincipals/synchronization/jobs"), "value": value })))
}

#[utoipa::path(post, path = "/v1.0/servicePrincipals/{id}/synchronization/jobs", tag = "synchronization", summary = "Create the job", params(("id" = String, Path, description = "the service principal's id")), request_body(content = crate::graph::openapi::Object, description = "{templateId: Azure2Azure}", content_type = "application/json"), responses((status = 201, description = "microsoft.graph.synchronizationJob", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn create(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, body: Body) -> GraphResult<Response> {
    let body = crate::graph::read_object(&st, body).await?;
    crate::graph::only_known(&body, &["templateId", "schedule", "synchronizationJobSettings"])?;
    match body.get("templateId") {
        Some(Value::String(t)) if t == JOB_TEMPLATE => {}
        Some(Value::String(t)) => return Err(GraphError::bad_request(format!("templateId '{t}' is not supported (tenantsync offers {JOB_TEMPLATE})"))),
        _ => return Err(GraphError::bad_request(format!("templateId is required ({JOB_TEMPLATE})"))),
    }
    let mut p = principal(&st, &caller, &id).await?;
    if p.job {
        return Err(GraphError::new(GraphCode::Conflict, "this service principal has a synchronization job already"));
    }
    p.job = true;
    ensure_configuration(&st, &caller, &mut p).await?;
    save(&st, &caller, &p, entry("Add synchronization job", AuditOperation::Add, &p).change("jobId", None, Some(p.job_id()))).await?;
    let mut out = render(&st, &p).await?;
    crate::graph::set(&mut out, "@odata.context", json!(crate::graph::context("servicePrincipals/synchronization/jobs/$entity")));
    Ok(crate::graph::answer(StatusCode::CREATED, out))
}

#[utoipa::path(get, path = "/v1.0/servicePrincipals/{id}/synchronization/jobs/{job}", tag = "synchronization", summary = "Get a job and its status", params(("id" = String, Path, description = "the service principal's id"), ("job" = String, Path, description = "the job's id (Azure2Azure.<hex>)")), responses((status = 200, description = "microsoft.graph.synchronizationJob", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn read(State(st): State<Shared>, caller: Caller, Path((id, job_id)): Path<(String, String)>) -> GraphResult<Response> {
    let p = job(&st, &caller, &id, &job_id).await?;
    let mut out = render(&st, &p).await?;
    crate::graph::set(&mut out, "@odata.context", json!(crate::graph::context("servicePrincipals/synchronization/jobs/$entity")));
    Ok(crate::graph::answer(StatusCode::OK, out))
}

#[utoipa::path(delete, path = "/v1.0/servicePrincipals/{id}/synchronization/jobs/{job}", tag = "synchronization", summary = "Delete a job (its configuration)", params(("id" = String, Path, description = "the service principal's id"), ("job" = String, Path, description = "the job's id (Azure2Azure.<hex>)")), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn remove(State(st): State<Shared>, caller: Caller, Path((id, job_id)): Path<(String, String)>) -> GraphResult<Response> {
    let mut p = job(&st, &caller, &id, &job_id).await?;
    super::drop_configuration(&st, &mut p).await?;
    p.job = false;
    save(&st, &caller, &p, entry("Delete synchronization job", AuditOperation::Delete, &p).change("jobId", Some(p.job_id()), None)).await?;
    Ok(crate::graph::no_content())
}

/// Records a job control action (after the engine committed it).
async fn control(st: &GraphState, caller: &Caller, p: &Principal, activity: &str, detail: Option<String>) {
    let e = crate::graph::audit::Entry::new(activity, AuditOperation::Update, AuditCategory::ProvisioningManagement, "ServicePrincipal", p.id)
        .named(Some(&p.display_name))
        .change("job", None, detail.or_else(|| Some(p.job_id())));
    crate::graph::audit::after(st, caller, e).await;
}

#[utoipa::path(post, path = "/v1.0/servicePrincipals/{id}/synchronization/jobs/{job}/start", tag = "synchronization", summary = "Start a job", params(("id" = String, Path, description = "the service principal's id"), ("job" = String, Path, description = "the job's id (Azure2Azure.<hex>)")), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn start(State(st): State<Shared>, caller: Caller, Path((id, job_id)): Path<(String, String)>) -> GraphResult<Response> {
    let p = job(&st, &caller, &id, &job_id).await?;
    let c = configured(&st, &p).await?;
    st.engine.start(c.id).await?;
    tracing::info!(configuration = %c.display_name, "admin API: job started");
    control(&st, &caller, &p, "Enable/start provisioning configuration", None).await;
    Ok(crate::graph::no_content())
}

#[utoipa::path(post, path = "/v1.0/servicePrincipals/{id}/synchronization/jobs/{job}/pause", tag = "synchronization", summary = "Pause a job", params(("id" = String, Path, description = "the service principal's id"), ("job" = String, Path, description = "the job's id (Azure2Azure.<hex>)")), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn pause(State(st): State<Shared>, caller: Caller, Path((id, job_id)): Path<(String, String)>) -> GraphResult<Response> {
    let p = job(&st, &caller, &id, &job_id).await?;
    let c = configured(&st, &p).await?;
    st.engine.pause(c.id).await?;
    tracing::info!(configuration = %c.display_name, "admin API: job paused");
    control(&st, &caller, &p, "Disable/pause provisioning configuration", None).await;
    Ok(crate::graph::no_content())
}

#[utoipa::path(post, path = "/v1.0/servicePrincipals/{id}/synchronization/jobs/{job}/restart", tag = "synchronization", summary = "Restart a job", params(("id" = String, Path, description = "the service principal's id"), ("job" = String, Path, description = "the job's id (Azure2Azure.<hex>)")), request_body(content = crate::graph::openapi::Object, description = "{criteria: {resetScope}}", content_type = "application/json"), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn restart(State(st): State<Shared>, caller: Caller, Path((id, job_id)): Path<(String, String)>, body: Body) -> GraphResult<Response> {
    let body = crate::graph::read_object(&st, body).await?;
    crate::graph::only_known(&body, &["criteria"])?;
    let scope_text = match body.get("criteria") {
        None | Some(Value::Null) => String::new(),
        Some(Value::Object(c)) => {
            crate::graph::only_known(c, &["resetScope"])?;
            match c.get("resetScope") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(_) => return Err(GraphError::bad_request("criteria.resetScope must be a comma-separated string")),
            }
        }
        Some(_) => return Err(GraphError::bad_request("criteria must be an object")),
    };
    let scope = ResetScope::parse(&scope_text).map_err(GraphError::bad_request)?;
    let p = job(&st, &caller, &id, &job_id).await?;
    let c = configured(&st, &p).await?;
    st.engine.restart(c.id, scope).await?;
    tracing::info!(configuration = %c.display_name, reset = %scope_text, "admin API: job restarted");
    control(&st, &caller, &p, "Enable/restart provisioning configuration", Some(format!("resetScope: {scope_text}"))).await;
    Ok(crate::graph::no_content())
}

#[utoipa::path(post, path = "/v1.0/servicePrincipals/{id}/synchronization/jobs/validateCredentials", tag = "synchronization", summary = "Test the connection (the policy check)", params(("id" = String, Path, description = "the service principal's id")), request_body(content = crate::graph::openapi::Object, description = "{useSavedCredentials, templateId, credentials}", content_type = "application/json"), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn validate(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, body: Body) -> GraphResult<Response> {
    let body = crate::graph::read_object(&st, body).await?;
    crate::graph::only_known(&body, &["applicationIdentifier", "templateId", "useSavedCredentials", "credentials"])?;
    let p = principal(&st, &caller, &id).await?;
    let saved = body.get("useSavedCredentials").and_then(Value::as_bool).unwrap_or(false);
    let given = match body.get("credentials") {
        Some(v) if !v.is_null() => super::principals::key_values(v, "credentials")?,
        _ => Vec::new(),
    };
    let target = match given.iter().find(|(k, _)| k == "CompanyId") {
        Some((_, v)) if !saved => super::principals::target_of(&st, &caller, v).await?,
        _ => p.target.ok_or_else(|| GraphError::bad_request("no CompanyId: give the credentials, or save them first"))?,
    };
    st.engine.test_connection(caller.tenant, target).await?;
    Ok(crate::graph::no_content())
}

/// Graph's spelling of a step status in on-demand output (`Success`, `Skipped`, …).
fn step_status(s: ProvisioningStatus) -> &'static str {
    match s {
        ProvisioningStatus::Success => "Success",
        ProvisioningStatus::Failure => "Failure",
        ProvisioningStatus::Skipped => "Skipped",
        ProvisioningStatus::Warning => "Warning",
    }
}

/// The on-demand record as Entra's `StatusInfo` JSON (the value of the answer's pair).
pub fn status_info(log: &ProvisioningLog) -> Value {
    let steps: Vec<Value> = log
        .steps
        .iter()
        .map(|s| {
            let t = s.kind.step_type().as_str();
            let mut kind = t.to_owned();
            if let Some(first) = kind.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            json!({
                "name": s.kind.as_str(), "type": kind, "status": step_status(s.status), "description": s.description,
                "timestamp": log.activity_date_time, "details": s.details,
            })
        })
        .collect();
    json!([{
        "provisioningSteps": steps,
        "statusInfo": {
            "status": step_status(log.status),
            "action": crate::graph::logs::action_name(log.provisioning_action),
            "errorCode": log.error_code, "errorMessage": log.error_message,
            "skipReason": log.skip_reason.map(|r| r.as_str()),
            "sourceId": log.source_id, "targetId": log.target_id,
            "modifiedProperties": log.modified_properties.iter().map(|m| json!({ "displayName": m.display_name, "oldValue": m.old_value, "newValue": m.new_value })).collect::<Vec<_>>(),
        },
    }])
}

#[utoipa::path(post, path = "/v1.0/servicePrincipals/{id}/synchronization/jobs/{job}/provisionOnDemand", tag = "synchronization", summary = "Provision users or groups now", params(("id" = String, Path, description = "the service principal's id"), ("job" = String, Path, description = "the job's id (Azure2Azure.<hex>)")), request_body(content = crate::graph::openapi::Object, description = "{parameters: [{ruleId, subjects: [{objectId, objectTypeName}]}]}", content_type = "application/json"), responses((status = 200, description = "microsoft.graph.stringKeyStringValuePair", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn provision_on_demand(State(st): State<Shared>, caller: Caller, Path((id, job_id)): Path<(String, String)>, body: Body) -> GraphResult<Response> {
    let body = crate::graph::read_object(&st, body).await?;
    crate::graph::only_known(&body, &["parameters"])?;
    let subject = body
        .get("parameters")
        .and_then(Value::as_array)
        .and_then(|p| p.first())
        .and_then(|p| p.get("subjects"))
        .and_then(Value::as_array)
        .and_then(|s| s.first())
        .ok_or_else(|| GraphError::bad_request("parameters[0].subjects[0] names the object to provision"))?;
    let object = subject.get("objectId").and_then(Value::as_str).ok_or_else(|| GraphError::bad_request("subjects[0].objectId is required"))?;
    let object: ObjectId = object.parse().map_err(|_| GraphError::bad_request(format!("objectId '{object}' is not an object id")))?;
    let p = job(&st, &caller, &id, &job_id).await?;
    let c = configured(&st, &p).await?;
    let log = st.engine.provision_on_demand(c.id, object).await?;
    tracing::info!(configuration = %c.display_name, status = log.status.as_str(), "admin API: provisioned on demand");
    control(&st, &caller, &p, "Provision on demand", Some(object.to_string())).await;
    let out = json!({
        "@odata.context": crate::graph::context("microsoft.graph.stringKeyStringValuePair"),
        "key": "Microsoft.Identity.Health.CPP.Common.DataContracts.SyncFabric.StatusInfo",
        "value": status_info(&log).to_string(),
    });
    Ok(crate::graph::answer(StatusCode::OK, out))
}
