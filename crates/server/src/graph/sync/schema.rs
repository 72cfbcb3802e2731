//! A job's `synchronizationSchema`: one rule (`USER_INBOUND_USER`) with the object
//! mappings "Provision Azure Active Directory Users" (the configuration's user mappings,
//! target actions as `flowTypes`, scoping filter as Graph `filter` groups) and "… Groups"
//! (group provisioning and its mappings). Each attribute mapping's `source` is Graph's
//! expression tree (`attributeMappingSource`: `Attribute`, `Constant`, `Function` with
//! named parameters). `PUT` replaces the mappings, filter and actions through the engine
//! (validated as `tenantsync sync update`); the built-in rows (the anchor,
//! `alternativeSecurityIds`, and `IsSoftDeleted`) are shown and cannot be changed.
//! `schema/parseExpression` parses, and evaluates on a test object, one expression.
use super::jobs::job;
use crate::graph::Shared;
use crate::graph::caller::Caller;
use crate::graph::error::{GraphError, GraphResult};
use crate::graph::openapi::{ApiRouter, only};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};
use tenantsync_domain::{AttributeMapping, FlowType, MappingSource, ScopingClause, ScopingFilterGroup, ScopingOperand, SyncConfiguration, TargetActions};
use tenantsync_expression::{Expr, ExprKind};
use tenantsync_store::{AuditCategory, AuditOperation};

pub const RULE_ID: &str = "USER_INBOUND_USER";
const USERS: &str = "Provision Azure Active Directory Users";
const GROUPS: &str = "Provision Azure Active Directory Groups";
/// Target attributes whose mapping is built in.
const BUILT_IN: [&str; 2] = ["alternativeSecurityIds", "IsSoftDeleted"];

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router.routes(only(utoipa_axum::routes!(read, replace))).routes(only(utoipa_axum::routes!(parse_expression)))
}

/// A string constant as the language writes it.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The text of an expression node.
fn text(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Str(s) => quoted(s),
        ExprKind::Int(i) => i.to_string(),
        ExprKind::Attr(a) => format!("[{a}]"),
        ExprKind::Enum(c) => c.as_str().to_owned(),
        ExprKind::Call { func, args } => {
            let name = tenantsync_expression::FUNCTIONS.iter().find(|s| s.func == *func).map_or("?", |s| s.name);
            let args: Vec<String> = args.iter().map(|a| a.as_ref().map(text).unwrap_or_default()).collect();
            format!("{name}({})", args.join(", "))
        }
        ExprKind::Compare { op, left, right } => format!("{} {} {}", text(left), op.as_str(), text(right)),
    }
}

/// An expression node as Graph's `attributeMappingSource`.
fn tree(e: &Expr) -> Value {
    match &e.kind {
        ExprKind::Str(s) => json!({ "expression": quoted(s), "name": s, "parameters": [], "type": "Constant" }),
        ExprKind::Int(i) => json!({ "expression": i.to_string(), "name": i.to_string(), "parameters": [], "type": "Constant" }),
        ExprKind::Enum(c) => json!({ "expression": c.as_str(), "name": c.as_str(), "parameters": [], "type": "Constant" }),
        ExprKind::Attr(a) => json!({ "expression": format!("[{a}]"), "name": a, "parameters": [], "type": "Attribute" }),
        ExprKind::Call { func, args } => {
            let spec = tenantsync_expression::FUNCTIONS.iter().find(|s| s.func == *func);
            let params: Vec<Value> = args
                .iter()
                .enumerate()
                .filter_map(|(i, a)| {
                    let a = a.as_ref()?;
                    let key = spec.and_then(|s| s.params.get(i).or(s.params.last()).map(|p| p.name)).unwrap_or("source");
                    Some(json!({ "key": key, "value": tree(a) }))
                })
                .collect();
            json!({ "expression": text(e), "name": spec.map_or("?", |s| s.name), "parameters": params, "type": "Function" })
        }
        ExprKind::Compare { left, right, op } => json!({
            "expression": text(e), "name": op.as_str(), "type": "Function",
            "parameters": [{ "key": "left", "value": tree(left) }, { "key": "right", "value": tree(right) }],
        }),
    }
}

/// A mapping's source as Graph's tree.
fn source(m: &MappingSource) -> Value {
    match m {
        MappingSource::Attribute(a) => json!({ "expression": format!("[{a}]"), "name": a, "parameters": [], "type": "Attribute" }),
        MappingSource::Constant(c) => json!({ "expression": quoted(c), "name": c, "parameters": [], "type": "Constant" }),
        MappingSource::Expression(x) => match tenantsync_expression::parse(x) {
            Ok(e) => {
                let mut t = tree(&e);
                crate::graph::set(&mut t, "expression", json!(x));
                t
            }
            Err(_) => json!({ "expression": x, "name": x, "parameters": [], "type": "Function" }),
        },
    }
}

fn mapping(m: &AttributeMapping) -> Value {
    json!({
        "defaultValue": m.default_value, "exportMissingReferences": false, "flowBehavior": "FlowWhenChanged",
        "flowType": match m.flow_type { FlowType::Always => "Always", FlowType::ObjectAddOnly => "ObjectAddOnly" },
        "matchingPriority": 0, "source": source(&m.source), "targetAttributeName": m.target_attribute_name,
    })
}

fn built_in() -> Vec<Value> {
    let anchor = AttributeMapping::expression("AltSecIdFromNetId([netId])", "alternativeSecurityIds");
    let mut a = mapping(&anchor);
    crate::graph::set(&mut a, "matchingPriority", json!(1));
    vec![a, mapping(&AttributeMapping::direct("IsSoftDeleted", "IsSoftDeleted"))]
}

fn flow_types(a: &TargetActions) -> String {
    let mut v = Vec::new();
    if a.create {
        v.push("Add");
    }
    if a.update {
        v.push("Update");
    }
    if a.delete {
        v.push("Delete");
    }
    v.join(", ")
}

fn filter(groups: &[ScopingFilterGroup]) -> Value {
    if groups.is_empty() {
        return Value::Null;
    }
    json!({ "groups": groups, "inputFilterGroups": [], "categoryFilterGroups": [] })
}

/// A configuration as Graph's `synchronizationSchema` of its job.
pub fn render(job_id: &str, c: &SyncConfiguration) -> Value {
    let mut users = built_in();
    users.extend(c.user_mappings.iter().map(mapping));
    json!({
        "id": job_id,
        "version": "v1.2",
        "synchronizationRules": [{
            "id": RULE_ID, "name": RULE_ID, "priority": 1, "editable": true,
            "sourceDirectoryName": "Azure Active Directory", "targetDirectoryName": "Azure Active Directory (target tenant)",
            "containerFilter": { "includedContainers": [] }, "groupFilter": { "includedGroups": [] },
            "metadata": [{ "key": "defaultSourceObjectMappings", "value": "true" }, { "key": "supportsProvisionOnDemand", "value": "true" }],
            "objectMappings": [
                { "name": USERS, "enabled": true, "flowTypes": flow_types(&c.actions), "sourceObjectName": "User", "targetObjectName": "User",
                  "metadata": [], "scope": filter(&c.scoping_filter), "attributeMappings": users },
                { "name": GROUPS, "enabled": c.provision_groups, "flowTypes": flow_types(&c.actions), "sourceObjectName": "Group", "targetObjectName": "Group",
                  "metadata": [], "scope": null, "attributeMappings": c.group_mappings.iter().map(mapping).collect::<Vec<_>>() },
            ],
        }],
        "directories": [],
    })
}

#[utoipa::path(get, path = "/v1.0/servicePrincipals/{id}/synchronization/jobs/{job}/schema", tag = "synchronization", summary = "Get the job's schema", params(("id" = String, Path, description = "the service principal's id"), ("job" = String, Path, description = "the job's id (Azure2Azure.<hex>)")), responses((status = 200, description = "microsoft.graph.synchronizationSchema", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn read(State(st): State<Shared>, caller: Caller, Path((id, job_id)): Path<(String, String)>) -> GraphResult<Response> {
    let p = job(&st, &caller, &id, &job_id).await?;
    // Before it has a target, a job shows the template's schema.
    let c = match super::configuration(&st, &p).await? {
        Some(c) => c,
        None => SyncConfiguration::new(&p.display_name, caller.tenant, tenantsync_domain::TenantId::new())?,
    };
    let mut out = render(&p.job_id(), &c);
    crate::graph::set(&mut out, "@odata.context", json!(crate::graph::context("servicePrincipals/synchronization/jobs/schema/$entity")));
    Ok(crate::graph::answer(StatusCode::OK, out))
}

fn bad(message: impl Into<String>) -> GraphError {
    GraphError::bad_request(message)
}

/// An attribute mapping of a `PUT` body.
fn read_mapping(v: &Value) -> GraphResult<Option<AttributeMapping>> {
    let target = v.get("targetAttributeName").and_then(Value::as_str).ok_or_else(|| bad("each attribute mapping needs targetAttributeName"))?;
    if BUILT_IN.contains(&target) {
        return Ok(None);
    }
    let src = v.get("source").filter(|s| !s.is_null()).ok_or_else(|| bad(format!("the mapping to '{target}' needs a source")))?;
    let field = |k: &str| src.get(k).and_then(Value::as_str);
    let source = match field("type").unwrap_or("Attribute") {
        "Attribute" => {
            MappingSource::Attribute(field("name").ok_or_else(|| bad(format!("the mapping to '{target}': an Attribute source needs a name")))?.to_owned())
        }
        "Constant" => MappingSource::Constant(field("name").or(field("expression")).unwrap_or_default().to_owned()),
        "Function" => MappingSource::Expression(
            field("expression").ok_or_else(|| bad(format!("the mapping to '{target}': a Function source needs its expression")))?.to_owned(),
        ),
        other => return Err(bad(format!("the mapping to '{target}': source type '{other}' is not Attribute, Constant or Function"))),
    };
    let flow_type = match v.get("flowType").and_then(Value::as_str).unwrap_or("Always") {
        "Always" => FlowType::Always,
        "ObjectAddOnly" => FlowType::ObjectAddOnly,
        other => return Err(bad(format!("the mapping to '{target}': flowType '{other}' is not supported (Always, ObjectAddOnly)"))),
    };
    let default_value = v.get("defaultValue").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    Ok(Some(AttributeMapping { target_attribute_name: target.to_owned(), source, flow_type, default_value }))
}

fn read_mappings(o: &Map<String, Value>) -> GraphResult<Vec<AttributeMapping>> {
    let list = o.get("attributeMappings").and_then(Value::as_array).ok_or_else(|| bad("each object mapping needs attributeMappings"))?;
    Ok(list.iter().map(read_mapping).collect::<GraphResult<Vec<_>>>()?.into_iter().flatten().collect())
}

fn read_actions(o: &Map<String, Value>) -> GraphResult<Option<TargetActions>> {
    let Some(text) = o.get("flowTypes").and_then(Value::as_str) else { return Ok(None) };
    let mut a = TargetActions { create: false, update: false, delete: false };
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "Add" => a.create = true,
            "Update" => a.update = true,
            "Delete" => a.delete = true,
            other => return Err(bad(format!("flowTypes: '{other}' is not Add, Update or Delete"))),
        }
    }
    Ok(Some(a))
}

fn read_scope(o: &Map<String, Value>) -> GraphResult<Vec<ScopingFilterGroup>> {
    let Some(scope) = o.get("scope").filter(|s| !s.is_null()) else { return Ok(Vec::new()) };
    let groups = scope.get("groups").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    groups
        .iter()
        .map(|g| {
            let name = g.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
            let clauses = g.get("clauses").and_then(Value::as_array).ok_or_else(|| bad("each filter group needs clauses"))?;
            let clauses = clauses
                .iter()
                .map(|c| {
                    let s = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| bad(format!("each filter clause needs {k}")));
                    let values = c.get("targetOperand").and_then(|t| t.get("values")).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
                    let values = values
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| bad("targetOperand.values are strings")))
                        .collect::<GraphResult<_>>()?;
                    Ok(ScopingClause {
                        source_operand_name: s("sourceOperandName")?,
                        operator_name: s("operatorName")?,
                        target_operand: ScopingOperand { values },
                    })
                })
                .collect::<GraphResult<Vec<_>>>()?;
            Ok(ScopingFilterGroup { name, clauses })
        })
        .collect()
}

/// The configuration a `PUT` body makes of `c`.
fn apply(body: &Map<String, Value>, mut c: SyncConfiguration) -> GraphResult<SyncConfiguration> {
    let rules = body.get("synchronizationRules").and_then(Value::as_array).ok_or_else(|| bad("synchronizationRules is required"))?;
    let [rule] = rules.as_slice() else { return Err(bad("a cross-tenant sync schema has one synchronization rule")) };
    let mappings = rule.get("objectMappings").and_then(Value::as_array).ok_or_else(|| bad("the rule needs objectMappings"))?;
    for m in mappings {
        let o = m.as_object().ok_or_else(|| bad("each object mapping is an object"))?;
        match o.get("sourceObjectName").and_then(Value::as_str) {
            Some("User") => {
                c.user_mappings = read_mappings(o)?;
                c.scoping_filter = read_scope(o)?;
                if let Some(a) = read_actions(o)? {
                    c.actions = a;
                }
                if o.get("enabled").and_then(Value::as_bool) == Some(false) {
                    return Err(bad("the user object mapping cannot be disabled"));
                }
            }
            Some("Group") => {
                c.group_mappings = read_mappings(o)?;
                c.provision_groups = o.get("enabled").and_then(Value::as_bool).unwrap_or(false);
            }
            other => return Err(bad(format!("object mappings of '{}' are not supported (User, Group)", other.unwrap_or("nothing")))),
        }
    }
    Ok(c)
}

#[utoipa::path(put, path = "/v1.0/servicePrincipals/{id}/synchronization/jobs/{job}/schema", tag = "synchronization", summary = "Replace the job's mappings and scoping filters", params(("id" = String, Path, description = "the service principal's id"), ("job" = String, Path, description = "the job's id (Azure2Azure.<hex>)")), request_body(content = crate::graph::openapi::Object, description = "microsoft.graph.synchronizationSchema", content_type = "application/json"), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn replace(State(st): State<Shared>, caller: Caller, Path((id, job_id)): Path<(String, String)>, body: Body) -> GraphResult<Response> {
    let body = crate::graph::read_object(&st, body).await?;
    crate::graph::only_known(&body, &["id", "version", "synchronizationRules", "directories"])?;
    let p = job(&st, &caller, &id, &job_id).await?;
    let old = super::configuration(&st, &p)
        .await?
        .ok_or_else(|| bad("the job has no target tenant yet: save its credentials first (PUT synchronization/secrets with CompanyId)"))?;
    let new = apply(&body, old.clone())?;
    let saved = st.engine.update_configuration(new).await?;
    tracing::info!(configuration = %saved.display_name, "admin API: schema replaced");
    let show = |c: &SyncConfiguration| render("", c).get("synchronizationRules").map(Value::to_string);
    let e = crate::graph::audit::Entry::new(
        "Update attribute mappings or scope",
        AuditOperation::Update,
        AuditCategory::ApplicationManagement,
        "ServicePrincipal",
        p.id,
    )
    .named(Some(&p.display_name))
    .change("schema", show(&old), show(&saved));
    crate::graph::audit::after(&st, &caller, e).await;
    Ok(crate::graph::no_content())
}

#[utoipa::path(post, path = "/v1.0/servicePrincipals/{id}/synchronization/jobs/{job}/schema/parseExpression", tag = "synchronization", summary = "Parse and evaluate an expression", params(("id" = String, Path, description = "the service principal's id"), ("job" = String, Path, description = "the job's id (Azure2Azure.<hex>)")), request_body(content = crate::graph::openapi::Object, description = "{expression, testInputObject}", content_type = "application/json"), responses((status = 200, description = "microsoft.graph.parseExpressionResponse", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn parse_expression(State(st): State<Shared>, caller: Caller, Path((id, job_id)): Path<(String, String)>, body: Body) -> GraphResult<Response> {
    let body = crate::graph::read_object(&st, body).await?;
    crate::graph::only_known(&body, &["expression", "testInputObject", "targetAttributeDefinition"])?;
    job(&st, &caller, &id, &job_id).await?;
    let expression = body.get("expression").and_then(Value::as_str).ok_or_else(|| bad("expression is required (a string)"))?;
    let inputs: Vec<(String, String)> = match body.get("testInputObject").and_then(|t| t.get("properties")) {
        Some(Value::Array(props)) => props
            .iter()
            .map(|p| match (p.get("key").and_then(Value::as_str), p.get("value")) {
                (Some(k), Some(Value::String(v))) => Ok((k.to_owned(), v.clone())),
                (Some(k), Some(other)) => Ok((k.to_owned(), other.to_string())),
                _ => Err(bad("testInputObject.properties are {key, value}")),
            })
            .collect::<GraphResult<_>>()?,
        _ => Vec::new(),
    };
    let response = if inputs.is_empty() && body.get("testInputObject").is_none_or(Value::is_null) {
        tenantsync_expression::check(expression)
    } else {
        let schema = tenantsync_expression::Schema::new(inputs.iter().map(|(k, _)| k.clone()));
        let mut row = schema.row();
        for (k, v) in &inputs {
            row.set_by_name(&schema, k, v.as_str());
        }
        let clock = st.store.clock();
        let mut random = tenantsync_expression::OsRandom;
        let mut env = tenantsync_expression::Env::new(clock.as_ref(), &mut random);
        tenantsync_expression::parse_expression(expression, &schema, &row, &mut env)
    };
    let parsed = if response.parsing_succeeded { tenantsync_expression::parse(expression).ok().map(|e| tree(&e)) } else { None };
    let error = response.error.as_ref().map(|e| {
        let at = e.position.map(|p| format!(" (at character {})", p + 1)).unwrap_or_default();
        json!({ "code": e.code, "message": format!("{}{at}", e.message), "target": null, "details": [], "innerError": null })
    });
    let out = json!({
        "@odata.context": crate::graph::context("microsoft.graph.parseExpressionResponse"),
        "parsingSucceeded": response.parsing_succeeded,
        "evaluationSucceeded": response.evaluation_succeeded,
        "evaluationResult": response.evaluation_result,
        "parsedExpression": parsed,
        "error": error,
    });
    Ok(crate::graph::answer(StatusCode::OK, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_show_graph_trees_and_read_back() {
        let c = SyncConfiguration::new("x", tenantsync_domain::TenantId::new(), tenantsync_domain::TenantId::new()).unwrap();
        let m = AttributeMapping::expression(r#"Replace([preferredLanguage], "-", , , "_", , )"#, "preferredLanguage");
        let v = mapping(&m);
        assert_eq!(v["source"]["type"], "Function");
        assert_eq!(v["source"]["name"], "Replace");
        assert_eq!(v["source"]["parameters"][0]["key"], "source");
        assert_eq!(v["source"]["parameters"][0]["value"]["type"], "Attribute");
        assert_eq!(read_mapping(&v).unwrap(), Some(m));
        let schema = render("j", &c);
        let body = schema.as_object().unwrap();
        assert_eq!(apply(body, c.clone()).unwrap(), c, "a schema read back is the same configuration");
    }
}
