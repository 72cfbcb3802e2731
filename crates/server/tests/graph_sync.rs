//! Cross-tenant access settings, sync jobs from instantiation to provisioning on demand,
//! provisioning logs, and tenant isolation across every route.
use crate::graph_support::{Api, admin_token, token_of};
use crate::support::{Server, q, tenant};
use serde_json::{Value, json};
use tenantsync_store::TokenRole;

const TEMPLATE: &str = "518e5f48-1fc8-4c48-9387-9fdf28b0dfe7";
const POLICY: &str = "/v1.0/policies/crossTenantAccessPolicy";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_and_identity_synchronization() {
    let s = Server::start().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let other = tenant(s.store.as_ref(), "fabrikam.example").await;
    let p = format!("{POLICY}/partners/{}", other.id);
    assert_eq!(api.get(&p).await.status, 404);
    assert_eq!(api.patch(&p, json!({"automaticUserConsentSettings": {"inboundAllowed": true}})).await.status, 404, "PATCH on a missing partner");
    let r = api.post(&format!("{POLICY}/partners"), json!({"tenantId": other.id})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["automaticUserConsentSettings"], json!({"inboundAllowed": null, "outboundAllowed": null}));
    let again = api.post(&format!("{POLICY}/partners"), json!({"tenantId": other.id})).await;
    assert_eq!((again.status, again.body["error"]["code"].as_str()), (409, Some("Request_MultipleObjectsWithSameKeyValue")));
    assert_eq!(api.post(&format!("{POLICY}/partners"), json!({"tenantId": s.tenant.id})).await.status, 400, "not its own partner");
    assert_eq!(api.post(&format!("{POLICY}/partners"), json!({"tenantId": "nope"})).await.status, 400);
    assert_eq!(api.patch(&p, json!({"inboundTrust": null, "automaticUserConsentSettings": {"inboundAllowed": true}})).await.status, 204);
    assert_eq!(api.get(&p).await.body["automaticUserConsentSettings"]["inboundAllowed"], true);
    assert_eq!(api.patch(&p, json!({"inboundTrust": {"isMfaAccepted": true}})).await.status, 400, "unmodelled settings only as null");
    let list = api.values(&format!("{POLICY}/partners")).await;
    assert_eq!(list.len(), 1);

    let sync = format!("{p}/identitySynchronization");
    assert_eq!(api.get(&sync).await.status, 404, "none yet");
    assert_eq!(api.patch(&sync, json!({"userSyncInbound": {"isSyncAllowed": true}})).await.status, 404, "PATCH on a missing policy");
    assert_eq!(api.put(&sync, json!({"displayName": "Fabrikam", "userSyncInbound": {"isSyncAllowed": true}})).await.status, 204);
    let r = api.get(&sync).await;
    assert_eq!((r.body["userSyncInbound"]["isSyncAllowed"].as_bool(), r.body["tenantId"].as_str()), (Some(true), Some(&*other.id.to_string())));
    assert_eq!(api.patch(&sync, json!({"groupSyncInbound": {"isSyncAllowed": true}})).await.status, 204);
    assert_eq!(api.get(&sync).await.body["groupSyncInbound"]["isSyncAllowed"], true);
    assert_eq!(api.patch(&sync, json!({"userSyncInbound": {"isSyncAllowed": "yes"}})).await.status, 400);
    assert_eq!(api.delete(&sync).await.status, 204);
    assert_eq!(api.get(&sync).await.status, 404);
    let d = api.get(&format!("{POLICY}/default")).await;
    assert_eq!(d.body["isServiceDefault"], true);
    assert_eq!(api.patch(&format!("{POLICY}/default"), json!({"automaticUserConsentSettings": {"outboundAllowed": true}})).await.status, 204);
    assert_eq!(api.get(&format!("{POLICY}/default")).await.body["automaticUserConsentSettings"]["outboundAllowed"], true);
    assert_eq!(api.delete(&p).await.status, 204);
    assert_eq!(api.get(&p).await.status, 404);
}

/// Source `s.tenant` and a target that allow each other; the target's API.
async fn allowed_pair<'a>(s: &'a Server, source: &Api<'_>) -> (tenantsync_domain::Tenant, Api<'a>) {
    let target = tenant(s.store.as_ref(), "fabrikam.example").await;
    let t = Api::new(s, token_of(s, target.id, TokenRole::Admin).await);
    assert_eq!(
        t.post(&format!("{POLICY}/partners"), json!({"tenantId": s.tenant.id, "automaticUserConsentSettings": {"inboundAllowed": true}})).await.status,
        201
    );
    assert_eq!(
        t.put(&format!("{POLICY}/partners/{}/identitySynchronization", s.tenant.id), json!({"userSyncInbound": {"isSyncAllowed": true}})).await.status,
        204
    );
    assert_eq!(
        source.post(&format!("{POLICY}/partners"), json!({"tenantId": target.id, "automaticUserConsentSettings": {"outboundAllowed": true}})).await.status,
        201
    );
    (target, t)
}

/// A service principal with a job targeting `target`: (sp id, job id, jobs path).
async fn job_to(api: &Api<'_>, target: tenantsync_domain::TenantId) -> (String, String, String) {
    let r = api.post(&format!("/v1.0/applicationTemplates/{TEMPLATE}/instantiate"), json!({"displayName": "Fabrikam"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sp = r.body["servicePrincipal"]["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["application"]["displayName"], "Fabrikam");
    let jobs = format!("/v1.0/servicePrincipals/{sp}/synchronization/jobs");
    let r = api.post(&jobs, json!({"templateId": "Azure2Azure"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"]["code"], "NotConfigured", "no target yet");
    let job = r.body["id"].as_str().unwrap().to_owned();
    let secrets = json!({"value": [
        {"key": "AuthenticationType", "value": "SyncPolicy"}, {"key": "CompanyId", "value": target.to_string()},
        {"key": "SyncNotificationSettings", "value": "{\"Enabled\":false,\"DeleteThresholdEnabled\":false}"}, {"key": "SyncAll", "value": "false"},
    ]});
    let r = api.put(&format!("/v1.0/servicePrincipals/{sp}/synchronization/secrets"), secrets).await;
    assert_eq!(r.status, 204, "{}", r.body);
    (sp, job, jobs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_job_from_instantiation_to_provisioning_on_demand() {
    let s = Server::start().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let (target, t) = allowed_pair(&s, &api).await;
    let alice = api.user("alice@contoso.example", "Alice").await;
    let (sp, job, jobs) = job_to(&api, target.id).await;
    let jp = format!("{jobs}/{job}");
    let r = api.get(&jp).await;
    assert_eq!((r.body["status"]["code"].as_str(), r.body["schedule"]["state"].as_str()), (Some("Paused"), Some("Paused")), "{}", r.body);
    assert_eq!(r.body["templateId"], "Azure2Azure");
    let r = api.post(&format!("{jobs}/validateCredentials"), json!({"useSavedCredentials": true, "templateId": "Azure2Azure"})).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = api
        .post(
            &format!("/v1.0/servicePrincipals/{sp}/appRoleAssignedTo"),
            json!({"appRoleId": "00000000-0000-0000-0000-000000000000", "principalId": alice, "resourceId": sp}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["principalType"], "User");
    assert_eq!(api.values(&format!("/v1.0/servicePrincipals/{sp}/appRoleAssignedTo")).await.len(), 1);

    assert_eq!(api.post(&format!("{jp}/start"), Value::Null).await.status, 204);
    assert_eq!(api.get(&jp).await.body["status"]["code"], "Active");
    let r = api
        .post(
            &format!("{jp}/provisionOnDemand"),
            json!({"parameters": [{"ruleId": "USER_INBOUND_USER", "subjects": [{"objectId": alice, "objectTypeName": "User"}]}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["key"], "Microsoft.Identity.Health.CPP.Common.DataContracts.SyncFabric.StatusInfo");
    let info: Value = serde_json::from_str(r.body["value"].as_str().unwrap()).unwrap();
    let steps = info[0]["provisioningSteps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|x| x["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["EntryImport", "EntrySynchronizationScoping", "EntrySynchronizationMatching", "EntryExport"]);
    let types: Vec<&str> = steps.iter().map(|x| x["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["Import", "Scoping", "Matching", "Export"]);
    assert!(steps.iter().all(|x| x["status"] == "Success" && x["timestamp"].is_string() && x["details"].is_object()), "{steps:?}");
    assert_eq!(info[0]["statusInfo"]["action"], "create");
    // The copy is in the target.
    let copies = t.values("/v1.0/users").await;
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0]["userPrincipalName"], "alice_contoso.example#EXT#@fabrikam.example");
    assert_eq!(copies[0]["externalUserState"], "Accepted");

    // The provisioning log, filtered by job, and by source identity.
    let logs = api.values(&format!("/v1.0/auditLogs/provisioning?$filter={}", q(&format!("jobId eq '{job}'")))).await;
    assert_eq!(logs.len(), 1);
    let l = &logs[0];
    assert_eq!((l["provisioningAction"].as_str(), l["provisioningStatusInfo"]["status"].as_str()), (Some("create"), Some("success")));
    assert_eq!((l["sourceIdentity"]["id"].as_str(), l["targetIdentity"]["id"].as_str()), (Some(&*alice), copies[0]["id"].as_str()));
    assert_eq!((l["servicePrincipal"]["id"].as_str(), l["servicePrincipal"]["displayName"].as_str()), (Some(&*sp), Some("Fabrikam")));
    assert_eq!(l["provisioningSteps"][0]["provisioningStepType"], "import");
    let f = format!(
        "sourceIdentity/id eq '{alice}' and provisioningAction eq 'create' and activityDateTime ge 2000-01-01T00:00:00Z and provisioningStatusInfo/status eq 'success'"
    );
    assert_eq!(api.values(&format!("/v1.0/auditLogs/provisioning?$filter={}", q(&f))).await.len(), 1);
    assert!(api.values(&format!("/v1.0/auditLogs/provisioning?$filter={}", q("provisioningAction eq 'delete'"))).await.is_empty());
    assert_eq!(api.values("/v1.0/auditLogs/provisioning?$orderby=activityDateTime%20desc&$top=500").await.len(), 1, "the portal's order");
    let r = api.get("/v1.0/auditLogs/provisioning?$orderby=activityDateTime").await;
    assert_eq!(r.body["error"]["code"], "Request_UnsupportedQuery", "oldest first is not offered");
    assert!(t.values("/v1.0/auditLogs/provisioning").await.is_empty(), "the target does not hold the job");
    let r = api.get(&format!("/v1.0/auditLogs/provisioning?$filter={}", q("cycleId eq 'x'"))).await;
    assert_eq!(r.body["error"]["code"], "Request_UnsupportedQuery");

    // Pause, restart, schema.
    assert_eq!(api.post(&format!("{jp}/pause"), Value::Null).await.status, 204);
    assert_eq!(api.get(&jp).await.body["status"]["code"], "Paused");
    assert_eq!(api.post(&format!("{jp}/restart"), json!({"criteria": {"resetScope": "Watermark, Escrows, QuarantineState"}})).await.status, 204);
    assert_eq!(api.get(&jp).await.body["status"]["code"], "Active");
    assert_eq!(api.post(&format!("{jp}/restart"), json!({"criteria": {"resetScope": "Everything"}})).await.status, 400);
    let schema = api.get(&format!("{jp}/schema")).await;
    assert_eq!(schema.status, 200);
    let mut body = schema.body.clone();
    let users = &mut body["synchronizationRules"][0]["objectMappings"][0];
    assert_eq!(users["name"], "Provision Azure Active Directory Users");
    let maps = users["attributeMappings"].as_array_mut().unwrap();
    // The template maps jobTitle directly; it becomes an expression.
    let at = maps.iter().position(|m| m["targetAttributeName"] == "jobTitle").unwrap();
    maps[at] = json!({"targetAttributeName": "jobTitle", "flowType": "Always", "source": {"type": "Function", "expression": "Append([department], \" team\")", "name": "Append"}});
    users["scope"] = json!({"groups": [{"name": "Sales only", "clauses": [{"operatorName": "EQUALS", "sourceOperandName": "department", "targetOperand": {"values": ["Sales"]}}]}]});
    body.as_object_mut().unwrap().remove("@odata.context");
    let r = api.put(&format!("{jp}/schema"), body).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let again = api.get(&format!("{jp}/schema")).await.body;
    let maps = again["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"].as_array().unwrap().clone();
    let title = maps.iter().find(|m| m["targetAttributeName"] == "jobTitle").unwrap();
    assert_eq!(title["source"]["name"], "Append");
    assert_eq!(title["source"]["parameters"][0]["value"]["name"], "department");
    assert_eq!(again["synchronizationRules"][0]["objectMappings"][0]["scope"]["groups"][0]["name"], "Sales only");
    let bad = json!({"synchronizationRules": [{"objectMappings": [{"sourceObjectName": "User", "attributeMappings": [{"targetAttributeName": "jobTitle", "source": {"type": "Function", "expression": "Left([department]"}}]}]}]});
    let r = api.put(&format!("{jp}/schema"), bad).await;
    assert_eq!(r.status, 400, "an expression that does not parse: {}", r.body);
    let r = api.post(&format!("{jp}/schema/parseExpression"), json!({"expression": "Replace([preferredLanguage], \"-\", , , \"_\", , )", "testInputObject": {"properties": [{"key": "preferredLanguage", "value": "EN-US"}]}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((r.body["parsingSucceeded"].as_bool(), r.body["evaluationResult"].clone()), (Some(true), json!(["EN_US"])));
    assert_eq!(r.body["parsedExpression"]["name"], "Replace");
    let r = api.post(&format!("{jp}/schema/parseExpression"), json!({"expression": "Left([a]"})).await;
    assert_eq!((r.body["parsingSucceeded"].as_bool(), r.body["error"]["code"].as_str()), (Some(false), Some("expression.parse.unexpected_token")));

    // Deleting the job deletes the configuration; the copy stays.
    assert_eq!(api.delete(&jp).await.status, 204);
    assert_eq!(api.get(&jp).await.status, 404);
    assert_eq!(t.values("/v1.0/users").await.len(), 1);
    assert_eq!(api.delete(&format!("/v1.0/servicePrincipals/{sp}")).await.status, 204);
    assert_eq!(api.get(&format!("/v1.0/servicePrincipals/{sp}")).await.status, 404);

    // Every write of the job's life left its record, oldest last; reads and refused writes none.
    let audits = api.values("/v1.0/auditLogs/directoryAudits?$top=999").await;
    let mut activities: Vec<&str> = audits.iter().map(|a| a["activityDisplayName"].as_str().unwrap()).collect();
    activities.reverse();
    assert_eq!(
        activities,
        [
            "Add partner to cross-tenant access setting",
            "Add user",
            "Add service principal",
            "Add synchronization job",
            "Add provisioning configuration",
            "Update provisioning setting or credentials",
            "Add app role assignment grant to user",
            "Enable/start provisioning configuration",
            "Provision on demand",
            "Disable/pause provisioning configuration",
            "Enable/restart provisioning configuration",
            "Update attribute mappings or scope",
            "Delete synchronization job",
            "Delete service principal",
        ]
    );
    assert!(audits.iter().all(|a| a["initiatedBy"]["app"]["displayName"] == "Admin" && a["result"] == "success"), "{audits:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_check_refuses_a_target_that_does_not_allow_the_sync() {
    let s = Server::start().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let target = tenant(s.store.as_ref(), "litware.example").await;
    let sp = api.post(&format!("/v1.0/applicationTemplates/{TEMPLATE}/instantiate"), json!({"displayName": "Litware"})).await.body["servicePrincipal"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let jobs = format!("/v1.0/servicePrincipals/{sp}/synchronization/jobs");
    let r = api.post(&format!("{jobs}/validateCredentials"), json!({"credentials": [{"key": "CompanyId", "value": target.id.to_string()}]})).await;
    assert_eq!((r.status, r.body["error"]["innerError"]["code"].as_str()), (400, Some("AzureActiveDirectoryCrossTenantSyncPolicyCheckFailure")), "{}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("inbound user synchronization"));
    assert_eq!(api.post(&jobs, json!({"templateId": "Azure2Azure"})).await.status, 201);
    let secrets = json!({"value": [{"key": "CompanyId", "value": target.id.to_string()}]});
    let r = api.put(&format!("/v1.0/servicePrincipals/{sp}/synchronization/secrets"), secrets).await;
    assert_eq!(r.body["error"]["innerError"]["code"], "AzureActiveDirectoryCrossTenantSyncPolicyCheckFailure", "{}", r.body);
    let job = api.values(&jobs).await[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(api.get(&format!("{jobs}/{job}")).await.body["status"]["code"], "NotConfigured");
    assert_eq!(api.post(&format!("{jobs}/{job}/start"), Value::Null).await.status, 400, "no target yet");
    assert_eq!(api.post(&jobs, json!({"templateId": "Other"})).await.status, 400);
    assert_eq!(
        api.post(&format!("/v1.0/applicationTemplates/{}/instantiate", tenantsync_domain::ObjectId::new()), json!({"displayName": "x"})).await.status,
        404
    );
}

/// An error body with what varies per request (the `ids`, request id, date) taken out.
fn shape(r: &crate::support::Res, ids: &[&str]) -> (u16, Value) {
    let e = &r.body["error"];
    let message = ids.iter().fold(e["message"].as_str().unwrap_or_default().to_owned(), |m, id| m.replace(id, "ID"));
    (r.status, json!({ "code": e["code"], "message": message, "inner": e["innerError"]["code"] }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_one_tenant_never_sees_another_tenant_s_objects() {
    let s = Server::start().await;
    let a = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let other = tenant(s.store.as_ref(), "fabrikam.example").await;
    let b = Api::new(&s, token_of(&s, other.id, TokenRole::Admin).await);
    let third = tenant(s.store.as_ref(), "litware.example").await;
    // Tenant B's objects.
    let user = b.user("bob@fabrikam.example", "Bob").await;
    let group = b.post("/v1.0/groups", json!({"displayName": "B"})).await.body["id"].as_str().unwrap().to_owned();
    let sp = b.post(&format!("/v1.0/applicationTemplates/{TEMPLATE}/instantiate"), json!({"displayName": "B to C"})).await.body["servicePrincipal"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = b.post(&format!("/v1.0/servicePrincipals/{sp}/synchronization/jobs"), json!({"templateId": "Azure2Azure"})).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(b.post(&format!("{POLICY}/partners"), json!({"tenantId": third.id})).await.status, 201);
    let fresh = tenantsync_domain::ObjectId::new().to_string();
    let fresh_job = format!("Azure2Azure.{}", fresh.replace('-', ""));
    let routes: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/v1.0/users/{u}".into(), None),
        ("PATCH", "/v1.0/users/{u}".into(), Some(json!({"jobTitle": "x"}))),
        ("DELETE", "/v1.0/users/{u}".into(), None),
        ("GET", "/v1.0/users/{u}/memberOf".into(), None),
        ("GET", "/v1.0/groups/{g}".into(), None),
        ("PATCH", "/v1.0/groups/{g}".into(), Some(json!({"description": "x"}))),
        ("DELETE", "/v1.0/groups/{g}".into(), None),
        ("GET", "/v1.0/groups/{g}/members".into(), None),
        ("POST", "/v1.0/groups/{g}/members/$ref".into(), Some(json!({"@odata.id": "https://x/directoryObjects/{u}"}))),
        ("DELETE", "/v1.0/groups/{g}/members/{u}/$ref".into(), None),
        ("GET", "/v1.0/servicePrincipals/{sp}".into(), None),
        ("DELETE", "/v1.0/servicePrincipals/{sp}".into(), None),
        ("PUT", "/v1.0/servicePrincipals/{sp}/synchronization/secrets".into(), Some(json!({"value": []}))),
        ("GET", "/v1.0/servicePrincipals/{sp}/appRoleAssignedTo".into(), None),
        ("POST", "/v1.0/servicePrincipals/{sp}/appRoleAssignedTo".into(), Some(json!({"principalId": "{u}"}))),
        ("DELETE", "/v1.0/servicePrincipals/{sp}/appRoleAssignedTo/{u}".into(), None),
        ("GET", "/v1.0/servicePrincipals/{sp}/synchronization/jobs".into(), None),
        ("POST", "/v1.0/servicePrincipals/{sp}/synchronization/jobs".into(), Some(json!({"templateId": "Azure2Azure"}))),
        ("POST", "/v1.0/servicePrincipals/{sp}/synchronization/jobs/validateCredentials".into(), Some(json!({"useSavedCredentials": true}))),
        ("GET", "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}".into(), None),
        ("DELETE", "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}".into(), None),
        ("POST", "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/start".into(), None),
        ("POST", "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/pause".into(), None),
        ("POST", "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/restart".into(), None),
        (
            "POST",
            "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/provisionOnDemand".into(),
            Some(json!({"parameters": [{"subjects": [{"objectId": "{u}"}]}]})),
        ),
        ("GET", "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/schema".into(), None),
        ("PUT", "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/schema".into(), Some(json!({"synchronizationRules": []}))),
        ("POST", "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/schema/parseExpression".into(), Some(json!({"expression": "[a]"}))),
        ("GET", "/v1.0/policies/crossTenantAccessPolicy/partners/{t}".into(), None),
        ("PATCH", "/v1.0/policies/crossTenantAccessPolicy/partners/{t}".into(), Some(json!({}))),
        ("DELETE", "/v1.0/policies/crossTenantAccessPolicy/partners/{t}".into(), None),
        ("GET", "/v1.0/policies/crossTenantAccessPolicy/partners/{t}/identitySynchronization".into(), None),
        ("PUT", "/v1.0/policies/crossTenantAccessPolicy/partners/{t}/identitySynchronization".into(), Some(json!({}))),
    ];
    for (method, path, body) in routes {
        let fill = |u: &str, g: &str, sp: &str, job: &str, t: &str| {
            let f = |x: &str| x.replace("{u}", u).replace("{g}", g).replace("{sp}", sp).replace("{job}", job).replace("{t}", t);
            (f(&path), body.as_ref().map(|b| f(&b.to_string())))
        };
        let (theirs, theirs_body) = fill(&user, &group, &sp, &job, &third.id.to_string());
        let (unknown, unknown_body) = fill(&fresh, &fresh, &fresh, &fresh_job, &fresh);
        let r1 = a.raw(method, &theirs, theirs_body.as_deref()).await;
        let r2 = a.raw(method, &unknown, unknown_body.as_deref()).await;
        assert_eq!(r1.status, 404, "{method} {theirs}: {}", r1.body);
        let third_id = third.id.to_string();
        let one = shape(&r1, &[&job, &user, &group, &sp, &third_id]);
        let two = shape(&r2, &[&fresh_job, &fresh]);
        assert_eq!(one, two, "{method} {path}: the same answer as for an object that does not exist");
    }
    assert!(a.values("/v1.0/users").await.is_empty());
    assert!(a.values("/v1.0/groups").await.is_empty());
    assert!(a.values("/v1.0/servicePrincipals").await.is_empty());
    assert!(a.values(&format!("{POLICY}/partners")).await.is_empty());
    assert!(a.values("/v1.0/auditLogs/directoryAudits").await.is_empty());
    assert!(a.values("/v1.0/auditLogs/provisioning").await.is_empty());
    assert_eq!(b.get(&format!("/v1.0/users/{user}")).await.status, 200, "they are there for their own tenant");
}
