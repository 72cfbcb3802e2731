//! Entitlement management under `/v1.0/identityGovernance/entitlementManagement`: the
//! definitions, a request through a sponsor's approval to the guest's membership, the
//! refusals (bad input, a non-approver, a second decision), tenant isolation, readers,
//! the audit log, and 501 on a store without it.
use crate::graph_support::{Api, admin_token, token_of};
use crate::support::{Server, tenant};
use serde_json::{Value, json};
use tenantsync_store::TokenRole;

const EM: &str = "/v1.0/identityGovernance/entitlementManagement";

fn code(r: &crate::support::Res) -> (u16, &str) {
    (r.status, r.body["error"]["code"].as_str().unwrap_or_default())
}

/// A group, a catalog, a package granting the group, and a policy for Litware's people
/// approved by `sponsor` (one stage); the ids of the package and the policy.
pub async fn joint_venture(api: &Api<'_>, sponsor: &str) -> (String, String, String) {
    let r = api.post("/v1.0/groups", json!({ "displayName": "Projects", "mailEnabled": false, "securityEnabled": true, "mailNickname": "projects" })).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let group = r.body["id"].as_str().unwrap().to_owned();
    let r = api
        .post(
            &format!("{EM}/connectedOrganizations"),
            json!({ "displayName": "Litware", "identitySources": [{ "@odata.type": "#microsoft.graph.domainIdentitySource", "domainName": "litware.example", "displayName": "Litware" }] }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["state"], "configured");
    let org = r.body["id"].as_str().unwrap().to_owned();
    let r = api
        .post(
            &format!("{EM}/connectedOrganizations/{org}/internalSponsors/$ref"),
            json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/users/{sponsor}") }),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = api.post(&format!("{EM}/catalogs"), json!({ "displayName": "Joint venture", "isExternallyVisible": true })).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let catalog = r.body["id"].as_str().unwrap().to_owned();
    let r = api.post(&format!("{EM}/accessPackages"), json!({ "displayName": "Projects", "catalog": { "id": catalog } })).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["catalog"]["id"], catalog.as_str());
    let package = r.body["id"].as_str().unwrap().to_owned();
    let scope = json!({
        "role": { "originId": format!("Member_{group}"), "originSystem": "AadGroup", "resource": { "originId": group, "originSystem": "AadGroup" } },
        "scope": { "originId": group, "originSystem": "AadGroup", "isRootScope": true },
    });
    let r = api.post(&format!("{EM}/accessPackages/{package}/resourceRoleScopes"), scope).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let policy = json!({
        "displayName": "Litware, sponsor approves",
        "accessPackage": { "id": package },
        "allowedTargetScope": "allConfiguredConnectedOrganizationUsers",
        "expiration": { "type": "afterDuration", "duration": "P90D" },
        "requestorSettings": { "enableTargetsToSelfAddAccess": true },
        "requestApprovalSettings": {
            "isApprovalRequiredForAdd": true,
            "stages": [{ "durationBeforeAutomaticDenial": "P14D", "primaryApprovers": [{ "@odata.type": "#microsoft.graph.internalSponsors" }] }],
        },
    });
    let r = api.post(&format!("{EM}/assignmentPolicies"), policy).await;
    assert_eq!(r.status, 201, "{}", r.body);
    (package, r.body["id"].as_str().unwrap().to_owned(), group)
}

#[tokio::test]
async fn a_request_is_approved_by_the_sponsor_and_the_guest_gets_the_group() {
    let s = Server::governed().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let sponsor = api.user("sponsor@contoso.example", "Sponsor").await;
    let other = api.user("other@contoso.example", "Other").await;
    let (package, policy, group) = joint_venture(&api, &sponsor).await;

    let listed = api.values(&format!("{EM}/assignmentPolicies?$filter=accessPackage/id%20eq%20%27{package}%27")).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], policy.as_str());
    let sponsors = api
        .values(&format!(
            "{EM}/connectedOrganizations/{}/internalSponsors",
            api.values(&format!("{EM}/connectedOrganizations")).await[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(sponsors[0]["id"], sponsor.as_str());

    let request = json!({
        "requestType": "userAdd",
        "assignment": { "target": { "email": "ada@litware.example" }, "assignmentPolicyId": policy, "accessPackageId": package },
        "justification": "project work",
    });
    let r = api.post(&format!("{EM}/assignmentRequests"), request).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["state"], "pendingApproval", "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();

    let r = api.get_with(&format!("{EM}/accessPackageAssignmentApprovals/{id}"), &[("X-Tenantsync-Approver", "sponsor@contoso.example")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["stages"][0]["id"], "1");
    assert_eq!(r.body["stages"][0]["assignedToMe"], true);
    assert_eq!(r.body["stages"][0]["reviewResult"], "NotReviewed");

    let stage = format!("{EM}/accessPackageAssignmentApprovals/{id}/stages/1");
    let decide = |who: String, result: &'static str| {
        let api = &api;
        let stage = stage.clone();
        async move {
            let body = json!({ "reviewResult": result, "justification": "ok" }).to_string();
            api.s.raw("PATCH", &stage, Some(&api.token), Some(&body), &[("X-Tenantsync-Approver", &who)]).await
        }
    };
    assert_eq!(code(&decide(other.clone(), "Approve").await), (403, "Authorization_RequestDenied"), "not an approver");
    let r = api.raw("PATCH", &stage, Some(r#"{"reviewResult":"Approve"}"#)).await;
    assert_eq!(r.status, 400, "no approver named: {}", r.body);
    let r = decide(sponsor.clone(), "Maybe").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("Maybe"));
    let r = decide(sponsor.clone(), "Approve").await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(decide(sponsor.clone(), "Deny").await.status, 409, "already decided");

    let r = api.get(&format!("{EM}/assignmentRequests/{id}")).await;
    assert_eq!(r.body["state"], "delivered", "{}", r.body);
    let assignments = api.values(&format!("{EM}/assignments?$filter=accessPackage/id%20eq%20%27{package}%27")).await;
    assert_eq!(assignments.len(), 1);
    let guest = assignments[0]["target"]["objectId"].as_str().unwrap().to_owned();
    let members = api.values(&format!("/v1.0/groups/{group}/members")).await;
    assert!(members.iter().any(|m| m["id"] == guest.as_str()), "the guest is in the group: {members:?}");
    assert_eq!(api.values(&format!("{EM}/assignmentRequests")).await.len(), 1);

    // An admin removes it.
    let assignment = assignments[0]["id"].as_str().unwrap();
    let r = api.post(&format!("{EM}/assignmentRequests"), json!({ "requestType": "adminRemove", "assignment": { "id": assignment } })).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let members = api.values(&format!("/v1.0/groups/{group}/members")).await;
    assert!(!members.iter().any(|m| m["id"] == guest.as_str()), "removed from the group");

    // Every write is in the audit log under EntitlementManagement.
    let audits = api.values("/v1.0/auditLogs/directoryAudits").await;
    let ours: Vec<&Value> = audits.iter().filter(|a| a["category"] == "EntitlementManagement").collect();
    for activity in [
        "Create connected organization",
        "Add internal sponsor",
        "Create access package",
        "Create assignment policy",
        "Approve access package assignment request",
    ] {
        assert!(ours.iter().any(|a| a["activityDisplayName"] == activity), "{activity} audited: {ours:?}");
    }
}

#[tokio::test]
async fn a_pending_request_is_canceled_and_definitions_are_updated_and_deleted() {
    let s = Server::governed().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let sponsor = api.user("sponsor@contoso.example", "Sponsor").await;
    let (package, policy, _) = joint_venture(&api, &sponsor).await;
    let request = json!({ "requestType": "userAdd", "assignment": { "target": { "email": "bo@litware.example" }, "assignmentPolicyId": policy, "accessPackageId": package } });
    let id = api.post(&format!("{EM}/assignmentRequests"), request).await.body["id"].as_str().unwrap().to_owned();
    let r = api.post(&format!("{EM}/assignmentRequests/{id}/cancel"), json!({})).await;
    assert_eq!((r.status, r.body["state"].as_str()), (200, Some("canceled")), "{}", r.body);
    assert_eq!(api.post(&format!("{EM}/assignmentRequests/{id}/cancel"), json!({})).await.status, 409);

    let org = api.values(&format!("{EM}/connectedOrganizations")).await[0]["id"].as_str().unwrap().to_owned();
    let path = format!("{EM}/connectedOrganizations/{org}");
    assert_eq!(api.patch(&path, json!({ "displayName": "Litware Ltd", "state": "proposed" })).await.status, 204);
    let r = api.get(&path).await;
    assert_eq!((r.body["displayName"].as_str(), r.body["state"].as_str()), (Some("Litware Ltd"), Some("proposed")));
    assert_eq!(api.delete(&format!("{path}/internalSponsors/{sponsor}/$ref")).await.status, 204);
    assert_eq!(api.delete(&format!("{path}/internalSponsors/{sponsor}/$ref")).await.status, 404);
    assert_eq!(api.delete(&path).await.status, 204);
    assert_eq!(api.get(&path).await.status, 404);

    let r = api
        .patch(
            &format!("{EM}/settings"),
            json!({ "externalUserLifecycleAction": "blockSignInAndDelete", "durationUntilExternalUserDeletedAfterBlocked": "P10D" }),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = api.get(&format!("{EM}/settings")).await;
    assert_eq!(r.body["durationUntilExternalUserDeletedAfterBlocked"], "P10D", "{}", r.body);

    let second = api
        .post(&format!("{EM}/accessPackages"), json!({ "displayName": "Finance", "catalog": { "id": api.values(&format!("{EM}/catalogs")).await[0]["id"] } }))
        .await;
    let second = second.body["id"].as_str().unwrap().to_owned();
    let r = api
        .post(
            &format!("{EM}/accessPackages/{package}/incompatibleAccessPackages/$ref"),
            json!({ "@odata.id": format!("https://x/v1.0/identityGovernance/entitlementManagement/accessPackages/{second}") }),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(api.values(&format!("{EM}/accessPackages/{package}/incompatibleAccessPackages")).await[0]["id"], second.as_str());
    assert_eq!(api.delete(&format!("{EM}/accessPackages/{package}/incompatibleAccessPackages/{second}/$ref")).await.status, 204);

    assert_eq!(api.delete(&format!("{EM}/assignmentPolicies/{policy}")).await.status, 204);
    assert_eq!(api.get(&format!("{EM}/assignmentPolicies/{policy}")).await.status, 404);
}

#[tokio::test]
async fn bad_input_is_a_graph_4xx_naming_the_problem_and_writes_nothing() {
    let s = Server::governed().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let orgs = format!("{EM}/connectedOrganizations");
    let cases = [
        (orgs.clone(), json!({ "displayName": "X", "identitySources": [], "colour": 1 }), "colour"),
        (
            orgs.clone(),
            json!({ "displayName": 3, "identitySources": [{ "@odata.type": "#microsoft.graph.domainIdentitySource", "domainName": "x.example", "displayName": "x" }] }),
            "displayName",
        ),
        (orgs.clone(), json!({ "displayName": "X", "identitySources": [{ "@odata.type": "#microsoft.graph.nope" }] }), "identitySources"),
        (format!("{EM}/catalogs"), json!({ "description": "no name" }), "displayName"),
        (format!("{EM}/accessPackages"), json!({ "displayName": "P", "catalog": { "id": "not-a-uuid" } }), "catalog.id"),
        (
            format!("{EM}/assignmentPolicies"),
            json!({ "displayName": "P", "accessPackage": { "id": "00000000-0000-0000-0000-000000000001" }, "expiration": 5 }),
            "expiration",
        ),
        (format!("{EM}/assignmentRequests"), json!({ "requestType": "systemAdd", "assignment": {} }), "requestType"),
        (format!("{EM}/assignmentRequests"), json!({ "requestType": "adminAdd", "assignment": { "targetId": "nope" } }), "targetId"),
    ];
    for (path, body, named) in cases {
        let r = api.post(&path, body.clone()).await;
        assert_eq!(code(&r), (400, "Request_BadRequest"), "{body}: {}", r.body);
        assert!(r.body["error"]["message"].as_str().unwrap().contains(named), "{body}: names {named}: {}", r.body);
    }
    // A package of an unknown catalog, a policy of an unknown package: not found, nothing written.
    let r = api.post(&format!("{EM}/accessPackages"), json!({ "displayName": "P", "catalog": { "id": "00000000-0000-0000-0000-000000000001" } })).await;
    assert_eq!(r.status, 404, "{}", r.body);
    for path in ["connectedOrganizations", "catalogs", "accessPackages", "assignmentPolicies", "assignmentRequests", "assignments"] {
        assert!(api.values(&format!("{EM}/{path}")).await.is_empty(), "{path} is empty");
    }
    assert_eq!(code(&api.get(&format!("{EM}/catalogs/nope")).await), (404, "Request_ResourceNotFound"));
    assert_eq!(code(&api.get(&format!("{EM}/assignments?$filter=state%20eq%20%27x%27")).await), (400, "Request_UnsupportedQuery"));
}

#[tokio::test]
async fn another_tenant_s_objects_do_not_exist_and_readers_only_read() {
    let s = Server::governed().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let r = api.post(&format!("{EM}/catalogs"), json!({ "displayName": "Contoso's" })).await;
    let catalog = r.body["id"].as_str().unwrap().to_owned();

    let fabrikam = tenant(s.store.as_ref(), "fabrikam.example").await;
    let theirs = Api::new(&s, token_of(&s, fabrikam.id, TokenRole::Admin).await);
    let r = theirs.get(&format!("{EM}/catalogs/{catalog}")).await;
    let missing = theirs.get(&format!("{EM}/catalogs/00000000-0000-0000-0000-000000000009")).await;
    assert_eq!(code(&r), (404, "Request_ResourceNotFound"));
    assert_eq!(
        r.body["error"]["message"].as_str().map(|m| m.replace(&catalog, "")),
        missing.body["error"]["message"].as_str().map(|m| m.replace("00000000-0000-0000-0000-000000000009", ""))
    );
    assert!(theirs.values(&format!("{EM}/catalogs")).await.is_empty());
    let r = theirs.post(&format!("{EM}/accessPackages"), json!({ "displayName": "P", "catalog": { "id": catalog } })).await;
    assert_eq!(r.status, 404, "{}", r.body);

    let reader = Api::new(&s, admin_token(&s, TokenRole::Reader).await);
    assert_eq!(reader.values(&format!("{EM}/catalogs")).await.len(), 1);
    assert_eq!(code(&reader.post(&format!("{EM}/catalogs"), json!({ "displayName": "R" })).await), (403, "Authorization_RequestDenied"));
    assert_eq!(api.values(&format!("{EM}/catalogs")).await.len(), 1, "nothing written");
}

#[tokio::test]
async fn without_entitlement_management_in_the_store_the_routes_answer_501() {
    let s = Server::start().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    assert_eq!(code(&api.get(&format!("{EM}/catalogs")).await), (501, "NotImplemented"));
}

#[tokio::test]
async fn external_sponsors_are_kept_apart_from_internal_ones() {
    let s = Server::governed().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let sponsor = api.user("sponsor@contoso.example", "Sponsor").await;
    let partner = api.user("lee@contoso.example", "Lee").await;
    joint_venture(&api, &sponsor).await;
    let org = api.values(&format!("{EM}/connectedOrganizations")).await[0]["id"].as_str().unwrap().to_owned();
    let path = format!("{EM}/connectedOrganizations/{org}");
    let r = api.post(&format!("{path}/externalSponsors/$ref"), json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/users/{partner}") })).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(api.values(&format!("{path}/externalSponsors")).await.iter().map(|v| v["id"].clone()).collect::<Vec<_>>(), [json!(partner)]);
    assert_eq!(api.values(&format!("{path}/internalSponsors")).await.iter().map(|v| v["id"].clone()).collect::<Vec<_>>(), [json!(sponsor)]);
    let r = api.get(&path).await;
    assert!(r.body.get("externalSponsors").is_none() && r.body.get("internalSponsors").is_none(), "navigation properties, not inline: {}", r.body);
    let nobody = api.post(&format!("{path}/externalSponsors/$ref"), json!({ "@odata.id": "https://x/v1.0/users/00000000-0000-0000-0000-000000000009" })).await;
    assert_eq!(code(&nobody), (400, "Request_BadRequest"));
    assert_eq!(api.delete(&format!("{path}/externalSponsors/{sponsor}/$ref")).await.status, 404, "an internal sponsor is not an external one");
    assert_eq!(api.delete(&format!("{path}/externalSponsors/{partner}/$ref")).await.status, 204);
    assert!(api.values(&format!("{path}/externalSponsors")).await.is_empty());
    let audits = api.values("/v1.0/auditLogs/directoryAudits").await;
    for activity in ["Add external sponsor", "Remove external sponsor"] {
        assert!(audits.iter().any(|a| a["activityDisplayName"] == activity), "{activity} audited");
    }
}

#[tokio::test]
async fn review_settings_are_graph_s_schedule_and_other_schedules_are_refused() {
    let s = Server::governed().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let sponsor = api.user("sponsor@contoso.example", "Sponsor").await;
    let (_, policy, _) = joint_venture(&api, &sponsor).await;
    let path = format!("{EM}/assignmentPolicies/{policy}");
    let mut body = api.get(&path).await.body;
    assert!(body.get("accessPackageId").is_none(), "Graph names the package by accessPackage: {body}");
    let schedule = |pattern: Value, range: &str| {
        json!({
            "isEnabled": true, "expirationBehavior": "removeAccess",
            "primaryReviewers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": sponsor }],
            "schedule": {
                "startDateTime": "2027-01-15T09:00:00Z",
                "expiration": { "type": "afterDuration", "duration": "P7D" },
                "recurrence": { "pattern": pattern, "range": { "type": range, "startDate": "2027-01-15" } },
            },
        })
    };
    body["reviewSettings"] = schedule(json!({ "type": "absoluteYearly", "interval": 1, "month": 1, "dayOfMonth": 15 }), "noEnd");
    let r = api.put(&path, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let got = &r.body["reviewSettings"];
    assert_eq!(got["schedule"]["startDateTime"], "2027-01-15T09:00:00Z");
    assert_eq!(got["schedule"]["expiration"], json!({ "type": "afterDuration", "duration": "P7D" }));
    assert_eq!(got["schedule"]["recurrence"]["pattern"], json!({ "type": "absoluteMonthly", "interval": 12, "dayOfMonth": 15 }), "a year is 12 months");
    assert_eq!(got["schedule"]["recurrence"]["range"], json!({ "type": "noEnd", "startDate": "2027-01-15" }));
    assert_eq!(got["expirationBehavior"], "removeAccess");
    assert!(got.get("recurrenceMonths").is_none() && got.get("duration").is_none(), "{got}");
    // What GET answers, PUT takes back unchanged.
    let again = api.get(&path).await.body;
    assert_eq!(api.put(&path, again.clone()).await.body["reviewSettings"], again["reviewSettings"]);
    for (pattern, range, named) in [
        (json!({ "type": "weekly", "interval": 1, "daysOfWeek": ["monday"] }), "noEnd", "pattern.type"),
        (json!({ "type": "absoluteMonthly", "interval": 0 }), "noEnd", "interval"),
        (json!({ "type": "absoluteMonthly", "interval": 24 }), "noEnd", "24 months"),
        (json!({ "type": "absoluteMonthly", "interval": 3 }), "numbered", "range.type"),
    ] {
        body["reviewSettings"] = schedule(pattern.clone(), range);
        let r = api.put(&path, body.clone()).await;
        assert_eq!(code(&r), (400, "Request_BadRequest"), "{pattern}: {}", r.body);
        assert!(r.body["error"]["message"].as_str().unwrap().contains(named), "{pattern} names {named}: {}", r.body);
    }
    body["reviewSettings"] = json!({ "isEnabled": true, "primaryReviewers": [] });
    assert!(api.put(&path, body.clone()).await.body["error"]["message"].as_str().unwrap().contains("schedule is required"));
    body["reviewSettings"] = json!({ "isEnabled": false });
    let r = api.put(&path, body).await;
    assert_eq!(r.status, 200, "reviews off, no schedule: {}", r.body);
    assert!(r.body.get("reviewSettings").is_none(), "{}", r.body);
}

#[tokio::test]
async fn questions_are_graph_s_with_ids_given_and_choices_as_objects() {
    let s = Server::governed().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let sponsor = api.user("sponsor@contoso.example", "Sponsor").await;
    let (_, policy, _) = joint_venture(&api, &sponsor).await;
    let path = format!("{EM}/assignmentPolicies/{policy}");
    let mut body = api.get(&path).await.body;
    body["questions"] = json!([
        { "@odata.type": "#microsoft.graph.accessPackageMultipleChoiceQuestion", "text": "Which site?", "isRequired": true, "sequence": 0,
          "isMultipleSelectionAllowed": false, "choices": [{ "actualValue": "oslo", "text": "Oslo" }, { "actualValue": "lima", "text": "Lima" }] },
        { "@odata.type": "#microsoft.graph.accessPackageTextInputQuestion", "id": "badge", "text": "Badge number", "isRequired": false, "regexPattern": "[0-9]+" },
    ]);
    let r = api.put(&path, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let questions = r.body["questions"].as_array().unwrap();
    assert!(questions[0]["id"].as_str().is_some_and(|id| !id.is_empty()), "an id is given: {}", r.body);
    assert_eq!(questions[1]["id"], "badge", "a given id is kept");
    assert_eq!(questions[0]["choices"], json!([{ "actualValue": "oslo", "text": "oslo" }, { "actualValue": "lima", "text": "lima" }]));
    // What GET answers, PUT takes back unchanged.
    let again = api.get(&path).await.body;
    assert_eq!(api.put(&path, again.clone()).await.body["questions"], again["questions"]);
    body["questions"][0]["choices"] = json!([{ "text": "no value" }]);
    let r = api.put(&path, body).await;
    assert_eq!(code(&r), (400, "Request_BadRequest"), "{}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("actualValue"), "{}", r.body);
}
