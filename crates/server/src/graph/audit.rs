//! The admin audit log: every write through the admin API leaves a record — who (the
//! token), what (activity, operation, category), when, the target, and each changed
//! property old → new — readable as Graph's `directoryAudit` collection at
//! `/v1.0/auditLogs/directoryAudits`.
//!
//! Directory writes and service principals commit their record in the same transaction
//! (`SyncStore::apply_audited`, `put_admin_object`); writes made through the engine or
//! the access-settings methods (configurations, jobs, partners) are recorded right after
//! they commit (`append_audit`): those methods own their transactions, and threading an
//! admin record through the engine would put the API's concerns into it. A failure to
//! append such a record is logged with the request id.
//!
//! Records are kept as long as provisioning logs (`serve --log-retention-days`, 30 days
//! by default) and purged with them.
use super::caller::Caller;
use super::error::{GraphError, GraphResult};
use super::{Shared, odata, page};
use crate::graph::openapi::{ApiRouter, only};
use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};
use tenantsync_domain::{AttrValue, AttributeChange, ObjectId};
use tenantsync_store::{
    AuditActor, AuditCategory, AuditCursor, AuditOperation, AuditQuery, AuditRecord, AuditTarget, KeyValue, Keyset, ModifiedProperty, Seek,
};

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router.routes(only(utoipa_axum::routes!(list)))
}

/// What a write did, for its record.
#[derive(Debug, Clone)]
pub struct Entry {
    pub activity: String,
    pub operation: AuditOperation,
    pub category: AuditCategory,
    pub target: AuditTarget,
    pub modified: Vec<ModifiedProperty>,
}

impl Entry {
    pub fn new(activity: impl Into<String>, operation: AuditOperation, category: AuditCategory, kind: &str, id: impl ToString) -> Entry {
        Entry {
            activity: activity.into(),
            operation,
            category,
            target: AuditTarget { kind: kind.into(), id: id.to_string(), display_name: None, user_principal_name: None },
            modified: Vec::new(),
        }
    }

    pub fn named(mut self, display_name: Option<&str>) -> Entry {
        self.target.display_name = display_name.map(str::to_owned);
        self
    }

    pub fn upn(mut self, upn: &str) -> Entry {
        self.target.user_principal_name = Some(upn.to_owned());
        self
    }

    /// Adds a changed property.
    pub fn change(mut self, name: &str, old: Option<String>, new: Option<String>) -> Entry {
        if old != new {
            self.modified.push(ModifiedProperty { display_name: name.to_owned().into(), old_value: old, new_value: new, new_in_copy: None });
        }
        self
    }

    /// Adds the attribute changes of a directory write.
    pub fn changes(mut self, changes: &[AttributeChange]) -> Entry {
        for c in changes {
            self = self.change(&c.name, text(&c.old), text(&c.new));
        }
        self
    }

    /// The record of this write by `caller`, now.
    pub fn record(self, st: &super::GraphState, caller: &Caller) -> AuditRecord {
        self.by(caller.tenant, AuditActor { token_id: caller.token_id, token_name: caller.token_name.clone() }, st.store.clock().now())
    }

    /// The record of this write in `tenant` by `actor` at `now` (the console's writes
    /// are recorded as its admin session's token).
    pub fn by(self, tenant: tenantsync_domain::TenantId, actor: AuditActor, now: jiff::Timestamp) -> AuditRecord {
        AuditRecord {
            id: ObjectId::new(),
            tenant_id: tenant,
            activity_date_time: now,
            activity: self.activity,
            operation: self.operation,
            category: self.category,
            correlation_id: super::error::request_id(),
            initiated_by: actor,
            target: self.target,
            modified_properties: self.modified,
        }
    }
}

/// An attribute value as an audit record's text (`None`: absent).
pub fn text(v: &AttrValue) -> Option<String> {
    match v {
        AttrValue::Null => None,
        other => Some(other.to_string()),
    }
}

/// Records a write that committed on its own (see the module's text).
pub async fn after(st: &super::GraphState, caller: &Caller, entry: Entry) {
    let record = entry.record(st, caller);
    if let Err(e) = st.store.append_audit(record).await {
        tracing::error!(code = e.code(), error = %e, "the audit record of a committed admin API write could not be written");
    }
}

fn properties(name: &str) -> Option<odata::Property> {
    match name {
        "activityDateTime" => Some(odata::Property { field: tenantsync_store::Field::Created, kind: odata::Kind::Time, sortable: false }),
        _ => None,
    }
}

/// The time window a `$filter` on `activityDateTime` (ranges joined by `and`) names.
fn window(filter: &tenantsync_store::Filter) -> GraphResult<(Option<jiff::Timestamp>, Option<jiff::Timestamp>)> {
    use tenantsync_store::{CompareOp, Filter, FilterValue};
    let one = jiff::SignedDuration::from_millis(1);
    let mut since: Option<jiff::Timestamp> = None;
    let mut until: Option<jiff::Timestamp> = None;
    let parts: Vec<&Filter> = match filter {
        Filter::And(v) => v.iter().collect(),
        f => vec![f],
    };
    for f in parts {
        let Filter::Compare { op, value: FilterValue::Time(t), .. } = f else {
            return Err(GraphError::new(super::error::GraphCode::UnsupportedQuery, "$filter on directoryAudits takes activityDateTime ranges joined by 'and'"));
        };
        let t = *t;
        let next = t.checked_add(one).unwrap_or(t);
        match op {
            CompareOp::Ge => since = since.max(Some(t)),
            CompareOp::Gt => since = since.max(Some(next)),
            CompareOp::Lt => until = Some(until.map_or(t, |u| u.min(t))),
            CompareOp::Le => until = Some(until.map_or(next, |u| u.min(next))),
            CompareOp::Eq => {
                since = since.max(Some(t));
                until = Some(until.map_or(next, |u| u.min(next)));
            }
            _ => return Err(GraphError::new(super::error::GraphCode::UnsupportedQuery, "activityDateTime takes eq, ge, gt, le or lt")),
        }
    }
    Ok((since, until))
}

#[utoipa::path(get, path = "/v1.0/auditLogs/directoryAudits", tag = "auditLogs", summary = "The admin audit log", params(crate::graph::openapi::LogQuery), responses((status = 200, description = "a collection of microsoft.graph.directoryAudit", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn list(State(st): State<Shared>, caller: Caller, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    let params = super::params(raw.as_deref());
    let q = odata::parse(&params, &properties)?;
    if q.orderby.is_some() || q.count || !q.select.is_empty() {
        return Err(GraphError::bad_request("directoryAudits take $filter on activityDateTime, $top and $skiptoken"));
    }
    let filter_text = params.iter().find(|(k, _)| k.eq_ignore_ascii_case("$filter")).map_or("", |(_, v)| v.as_str());
    let fingerprint = ["directoryAudits", filter_text];
    let after = match page::seek(q.skiptoken.as_deref(), &fingerprint)? {
        Seek::After(Keyset { value: Some(KeyValue::Int(ms)), id }) => {
            Some(AuditCursor { at: jiff::Timestamp::from_millisecond(ms).map_err(|_| GraphError::bad_request("$skiptoken is not valid"))?, id })
        }
        Seek::First => None,
        _ => return Err(GraphError::bad_request("$skiptoken is not one this server issued for this query")),
    };
    let (since, until) = match &q.filter {
        Some(f) => window(f)?,
        None => (None, None),
    };
    let limit = q.top.unwrap_or(page::DEFAULT_TOP);
    let found = st.store.audit_records(caller.tenant, &AuditQuery { since, until, after, limit }).await?;
    let mut body =
        json!({ "@odata.context": super::context("auditLogs/directoryAudits"), "value": found.records.iter().map(directory_audit).collect::<Vec<_>>() });
    if let Some(next) = found.next {
        let token = page::skiptoken(&Seek::After(Keyset { value: Some(KeyValue::Int(next.at.as_millisecond())), id: next.id }), &fingerprint);
        crate::graph::set(&mut body, "@odata.nextLink", json!(page::next_link(&super::base(), "/v1.0/auditLogs/directoryAudits", &params, &token)));
    }
    Ok(super::answer(axum::http::StatusCode::OK, body))
}

/// A record as Graph's `directoryAudit`.
pub fn directory_audit(r: &AuditRecord) -> Value {
    json!({
        "id": r.id,
        "category": r.category.as_str(),
        "correlationId": r.correlation_id,
        "result": "success",
        "resultReason": "",
        "activityDisplayName": r.activity,
        "activityDateTime": r.activity_date_time,
        "loggedByService": "Core Directory",
        "operationType": r.operation.as_str(),
        "initiatedBy": {
            "user": null,
            "app": { "appId": null, "displayName": r.initiated_by.token_name, "servicePrincipalId": r.initiated_by.token_id, "servicePrincipalName": null },
        },
        "targetResources": [{
            "id": r.target.id,
            "displayName": r.target.display_name,
            "type": r.target.kind,
            "userPrincipalName": r.target.user_principal_name,
            "modifiedProperties": r.modified_properties.iter().map(|m| json!({
                "displayName": m.display_name,
                "oldValue": m.old_value.as_ref().map(|v| Value::String(v.clone()).to_string()),
                "newValue": m.new_value.as_ref().map(|v| Value::String(v.clone()).to_string()),
            })).collect::<Vec<_>>(),
        }],
        "additionalDetails": [{ "key": "tokenId", "value": r.initiated_by.token_id.to_string() }],
    })
}
