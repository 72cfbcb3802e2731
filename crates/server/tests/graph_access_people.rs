//! Entitlement management as the people involved use it, with personal tokens: a member
//! requests for herself, the approver approves as himself, each lists what concerns them
//! (`filterByCurrentUser`), the admin reprocesses an assignment, and a reviewer records a
//! decision on an access review; what a personal token may not do is a Graph 403.
use crate::graph_support::{Api, admin_token};
use crate::support::Server;
use serde_json::{Value, json};
use tenantsync_governance::Governance;
use tenantsync_store::{AccessObjectKind, AccessStore, TokenRole};

const EM: &str = "/v1.0/identityGovernance/entitlementManagement";
const REVIEWS: &str = "/v1.0/identityGovernance/accessReviews/definitions";

fn code(r: &crate::support::Res) -> (u16, &str) {
    (r.status, r.body["error"]["code"].as_str().unwrap_or_default())
}

/// A personal token acting as `user` (what `token create --user` makes).
async fn personal(s: &Server, user: &str) -> String {
    let issued = tenantsync_server::auth::issue(s.tenant.id, format!("personal {user}"), TokenRole::Reader, None).unwrap();
    s.sqlite.put_access_object(s.tenant.id, AccessObjectKind::PersonalToken, issued.record.id, json!({ "userId": user })).await.unwrap();
    s.store.create_token(issued.record).await.unwrap();
    issued.token
}

/// A group and a package granting it, with a policy for all members approved by
/// `approver`, reviewed by `approver` from a moment later on (an instance covers the
/// assignments active at its start); the package's and policy's ids.
async fn setup(api: &Api<'_>, approver: &str) -> (String, String, String) {
    let r = api.post("/v1.0/groups", json!({ "displayName": "Legal", "mailEnabled": false, "securityEnabled": true, "mailNickname": "legal" })).await;
    let group = r.body["id"].as_str().unwrap().to_owned();
    let r = api.post(&format!("{EM}/catalogs"), json!({ "displayName": "General" })).await;
    let catalog = r.body["id"].as_str().unwrap().to_owned();
    let r = api.post(&format!("{EM}/accessPackages"), json!({ "displayName": "Legal", "catalog": { "id": catalog } })).await;
    let package = r.body["id"].as_str().unwrap().to_owned();
    let scope = json!({
        "role": { "originId": format!("Member_{group}"), "originSystem": "AadGroup", "resource": { "originId": group, "originSystem": "AadGroup" } },
        "scope": { "originId": group, "originSystem": "AadGroup", "isRootScope": true },
    });
    assert_eq!(api.post(&format!("{EM}/accessPackages/{package}/resourceRoleScopes"), scope).await.status, 201);
    let start = jiff::Timestamp::now() + jiff::SignedDuration::from_millis(1500);
    let policy = json!({
        "displayName": "Members, approved",
        "accessPackage": { "id": package },
        "allowedTargetScope": "allMemberUsers",
        "requestorSettings": { "enableTargetsToSelfAddAccess": true, "enableTargetsToSelfRemoveAccess": true },
        "requestApprovalSettings": {
            "isApprovalRequiredForAdd": true,
            "stages": [{ "durationBeforeAutomaticDenial": "P14D", "primaryApprovers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": approver }] }],
        },
        "reviewSettings": {
            "isEnabled": true,
            "schedule": {
                "startDateTime": start,
                "expiration": { "type": "afterDuration", "duration": "P14D" },
                "recurrence": { "pattern": { "type": "absoluteMonthly", "interval": 3 }, "range": { "type": "noEnd" } },
            },
            "primaryReviewers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": approver }],
            "isReviewerJustificationRequired": false,
        },
    });
    let r = api.post(&format!("{EM}/assignmentPolicies"), policy).await;
    assert_eq!(r.status, 201, "{}", r.body);
    (package, r.body["id"].as_str().unwrap().to_owned(), group)
}

#[tokio::test]
async fn people_request_approve_and_review_as_themselves_and_administer_nothing() {
    let s = Server::governed().await;
    let admin = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let sam = admin.user("sam@contoso.example", "Sam").await;
    let alice = admin.user("alice@contoso.example", "Alice").await;
    let (package, policy, group) = setup(&admin, &sam).await;
    let me = Api::new(&s, personal(&s, &alice).await);
    let approver = Api::new(&s, personal(&s, &sam).await);

    // Alice requests for herself: no target needed, the token says who.
    let ask = json!({ "requestType": "userAdd", "assignment": { "accessPackageId": package, "assignmentPolicyId": policy }, "justification": "cases" });
    let r = me.post(&format!("{EM}/assignmentRequests"), ask).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["requestor"]["objectId"], alice.as_str());
    let request = r.body["id"].as_str().unwrap().to_owned();

    // What a personal token may not do: a 403 in Graph's shape, nothing written.
    let direct = json!({ "requestType": "adminAdd", "assignment": { "targetId": sam, "accessPackageId": package, "assignmentPolicyId": policy } });
    assert_eq!(code(&me.post(&format!("{EM}/assignmentRequests"), direct).await), (403, "Authorization_RequestDenied"));
    let for_sam = json!({ "requestType": "userAdd", "assignment": { "targetId": sam, "accessPackageId": package, "assignmentPolicyId": policy } });
    assert_eq!(code(&me.post(&format!("{EM}/assignmentRequests"), for_sam).await).0, 403);
    assert_eq!(code(&me.post(&format!("{EM}/catalogs"), json!({ "displayName": "Mine" })).await).0, 403);
    assert_eq!(code(&me.get(&format!("{EM}/assignmentRequests")).await).0, 403, "not everyone's requests");
    assert_eq!(code(&me.get(&format!("{EM}/connectedOrganizations")).await).0, 403);
    assert_eq!(code(&me.post("/v1.0/users", json!({ "userPrincipalName": "x@contoso.example", "displayName": "X" })).await).0, 403);
    assert_eq!(me.values(&format!("{EM}/accessPackages")).await.len(), 1, "browsing packages is allowed");
    // Alice is no approver of her own request.
    let stage = format!("{EM}/accessPackageAssignmentApprovals/{request}/stages/1");
    assert_eq!(code(&me.patch(&stage, json!({ "reviewResult": "Approve" })).await), (403, "Authorization_RequestDenied"));

    // Sam sees what awaits him and approves as himself (no header).
    let pending = approver.values(&format!("{EM}/accessPackageAssignmentApprovals/filterByCurrentUser(on='approver')")).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["id"], request.as_str());
    assert_eq!(pending[0]["stages"][0]["assignedToMe"], true);
    assert_eq!(approver.patch(&stage, json!({ "reviewResult": "Approve", "justification": "ok" })).await.status, 204);
    assert!(approver.values(&format!("{EM}/accessPackageAssignmentApprovals/filterByCurrentUser(on='approver')")).await.is_empty());

    // Alice's own requests and assignments.
    let mine = me.values(&format!("{EM}/assignmentRequests/filterByCurrentUser(on='target')")).await;
    assert_eq!((mine.len(), mine[0]["state"].as_str()), (1, Some("delivered")));
    let held = me.values(&format!("{EM}/assignments/filterByCurrentUser(on=%27target%27)")).await;
    assert_eq!(held.len(), 1);
    let assignment = held[0]["id"].as_str().unwrap().to_owned();
    assert!(approver.values(&format!("{EM}/assignments/filterByCurrentUser(on='target')")).await.is_empty());
    assert_eq!(me.get(&format!("{EM}/assignments/{assignment}")).await.status, 200);
    assert_eq!(approver.get(&format!("{EM}/assignments/{assignment}")).await.status, 404, "not his");
    assert_eq!(admin.get(&format!("{EM}/assignments/filterByCurrentUser(on='target')")).await.status, 400, "an admin token is no one");

    // Someone took Alice out of the group by hand: reprocess grants it again.
    assert_eq!(admin.delete(&format!("/v1.0/groups/{group}/members/{alice}/$ref")).await.status, 204);
    assert_eq!(code(&me.post(&format!("{EM}/assignments/{assignment}/reprocess"), json!({})).await).0, 403);
    assert_eq!(admin.post(&format!("{EM}/assignments/{assignment}/reprocess"), json!({})).await.status, 202);
    let members: Vec<Value> = admin.values(&format!("/v1.0/groups/{group}/members")).await;
    assert!(members.iter().any(|m| m["id"] == alice.as_str()), "{members:?}");
    let r = admin.post(&format!("{EM}/assignmentRequests/{request}/reprocess"), json!({})).await;
    assert_eq!((r.status, r.body["error"]["innerError"]["code"].as_str()), (409, Some("request_not_reprocessable")), "{}", r.body);

    // The review of the policy opens; Sam reviews Alice's access.
    let start: jiff::Timestamp =
        admin.get(&format!("{EM}/assignmentPolicies/{policy}")).await.body["reviewSettings"]["schedule"]["startDateTime"].as_str().unwrap().parse().unwrap();
    while jiff::Timestamp::now() <= start {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(Governance::new(s.sqlite.clone()).sweep().await.unwrap().reviews_opened, 1);
    let defs = admin.values(REVIEWS).await;
    assert_eq!((defs.len(), defs[0]["id"].as_str(), defs[0]["status"].as_str()), (1, Some(policy.as_str()), Some("InProgress")));
    assert_eq!(defs[0]["scope"]["@odata.type"], "#microsoft.graph.accessReviewQueryScope");
    let instances = admin.values(&format!("{REVIEWS}/{policy}/instances")).await;
    let instance = instances[0]["id"].as_str().unwrap().to_owned();
    let decisions = format!("{REVIEWS}/{policy}/instances/{instance}/decisions");
    let items = admin.values(&decisions).await;
    assert_eq!((items.len(), items[0]["decision"].as_str(), items[0]["principal"]["id"].as_str()), (1, Some("NotReviewed"), Some(alice.as_str())));
    assert!(me.values(&decisions).await.is_empty(), "Alice reviews nothing");
    let item = format!("{decisions}/{assignment}");
    assert_eq!(code(&me.patch(&item, json!({ "decision": "Approve" })).await).0, 403, "not her item to review");
    let to_review = approver.values(&format!("{decisions}/filterByCurrentUser(on='reviewer')")).await;
    assert_eq!(to_review.len(), 1);
    assert_eq!(approver.patch(&item, json!({ "decision": "Maybe" })).await.status, 400);
    assert_eq!(approver.patch(&item, json!({ "decision": "Deny", "justification": "case closed" })).await.status, 204);
    let r = approver.get(&item).await;
    assert_eq!((r.body["decision"].as_str(), r.body["reviewedBy"]["id"].as_str()), (Some("Deny"), Some(sam.as_str())), "{}", r.body);
    assert_eq!(r.body["applyResult"], "New", "applied when the review closes");
    // An admin token names the reviewer in the header.
    let r = s
        .raw("PATCH", &item, Some(&admin.token), Some(&json!({ "decision": "DontKnow" }).to_string()), &[("X-Tenantsync-Approver", "sam@contoso.example")])
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(admin.get(&item).await.body["decision"], "DontKnow", "the last decision counts");
}

#[tokio::test]
async fn requests_and_assignments_come_a_page_at_a_time() {
    let s = Server::governed().await;
    let admin = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let sam = admin.user("sam@contoso.example", "Sam").await;
    let (package, policy, _) = setup(&admin, &sam).await;
    for name in ["a", "b", "c"] {
        let id = admin.user(&format!("{name}@contoso.example"), name).await;
        let body = json!({ "requestType": "adminAdd", "assignment": { "targetId": id, "accessPackageId": package, "assignmentPolicyId": policy } });
        assert_eq!(admin.post(&format!("{EM}/assignmentRequests"), body).await.status, 201);
    }
    for (what, query) in [("assignmentRequests", String::new()), ("assignments", format!("&$filter=accessPackage/id%20eq%20%27{package}%27"))] {
        let r = admin.get(&format!("{EM}/{what}?$top=2{query}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let first: Vec<Value> = r.body["value"].as_array().unwrap().clone();
        assert_eq!(first.len(), 2, "{what}");
        let next = crate::graph_support::local(r.body["@odata.nextLink"].as_str().unwrap());
        assert!(next.contains("$top=2") && next.contains("$skiptoken="), "{next}");
        let r = admin.get(&next).await;
        let rest = r.body["value"].as_array().unwrap();
        assert_eq!(rest.len(), 1, "{what}: {}", r.body);
        assert!(r.body.get("@odata.nextLink").is_none());
        assert!(!first.iter().any(|v| v["id"] == rest[0]["id"]), "no item twice");
        // A token of another collection, a bad $top.
        let token = next.split("$skiptoken=").nth(1).unwrap();
        let other = if what == "assignments" { "assignmentRequests" } else { "assignments" };
        assert_eq!(admin.get(&format!("{EM}/{other}?$skiptoken={token}")).await.status, 400);
        assert_eq!(admin.get(&format!("{EM}/{what}?$top=0")).await.status, 400);
    }
}

#[tokio::test]
async fn resources_enter_and_leave_a_catalog_by_resource_requests() {
    let s = Server::governed().await;
    let admin = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let sam = admin.user("sam@contoso.example", "Sam").await;
    let (package, _, group) = setup(&admin, &sam).await;
    let catalog = admin.get(&format!("{EM}/accessPackages/{package}")).await.body["catalog"]["id"].as_str().unwrap().to_owned();
    // The package's group came into its catalog with the package's role.
    let resources = admin.values(&format!("{EM}/catalogs/{catalog}/resources")).await;
    assert_eq!(resources.len(), 1);
    assert_eq!((resources[0]["originSystem"].as_str(), resources[0]["originId"].as_str()), (Some("AadGroup"), Some(group.as_str())));
    assert_eq!(resources[0]["displayName"], "Legal");
    assert_eq!(resources[0]["roles"][0]["originId"], format!("Member_{group}"));
    let request =
        |kind: &str, origin: &str| json!({ "requestType": kind, "catalog": { "id": catalog }, "resource": { "originId": origin, "originSystem": "AadGroup" } });
    let r = admin.post(&format!("{EM}/resourceRequests"), request("adminRemove", &group)).await;
    assert_eq!((r.status, r.body["error"]["innerError"]["code"].as_str()), (409, Some("resource_in_use")), "{}", r.body);
    let r = admin.post("/v1.0/groups", json!({ "displayName": "Archive", "mailEnabled": false, "securityEnabled": true, "mailNickname": "archive" })).await;
    let archive = r.body["id"].as_str().unwrap().to_owned();
    let r = admin.post(&format!("{EM}/resourceRequests"), request("adminAdd", &archive)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!((r.body["state"].as_str(), r.body["requestType"].as_str()), (Some("delivered"), Some("adminAdd")));
    assert_eq!(admin.values(&format!("{EM}/catalogs/{catalog}/resources")).await.len(), 2);
    assert_eq!(admin.post(&format!("{EM}/resourceRequests"), request("adminAdd", &archive)).await.status, 201, "adding it again changes nothing");
    assert_eq!(admin.values(&format!("{EM}/catalogs/{catalog}/resources")).await.len(), 2);
    assert_eq!(admin.post(&format!("{EM}/resourceRequests"), request("adminRemove", &archive)).await.status, 201);
    assert_eq!(admin.values(&format!("{EM}/catalogs/{catalog}/resources")).await.len(), 1);
    assert_eq!(admin.values(&format!("{EM}/resourceRequests")).await.len(), 3);
    // Bad input: an unknown group, another origin system, another request type.
    let r = admin.post(&format!("{EM}/resourceRequests"), request("adminAdd", &sam)).await;
    assert_eq!((r.status, r.body["error"]["innerError"]["code"].as_str()), (400, Some("invalid_resource")), "{}", r.body);
    let bad = json!({ "requestType": "adminAdd", "catalog": { "id": catalog }, "resource": { "originId": "x", "originSystem": "SharePointOnline" } });
    assert_eq!(admin.post(&format!("{EM}/resourceRequests"), bad).await.status, 400);
    assert_eq!(admin.post(&format!("{EM}/resourceRequests"), request("adminUpdate", &archive)).await.status, 400);
}

/// Every item of a collection read `$top=2` at a time through its next links, and the
/// number of pages.
async fn paged(api: &Api<'_>, path: &str) -> (Vec<String>, usize) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let (mut ids, mut pages, mut next) = (Vec::new(), 0, Some(format!("{path}{sep}$top=2")));
    while let Some(link) = next.take() {
        let r = api.get(&link).await;
        assert_eq!(r.status, 200, "{link}: {}", r.body);
        let page = r.body["value"].as_array().unwrap();
        assert!(page.len() <= 2, "{link}");
        ids.extend(page.iter().map(|v| v["id"].as_str().unwrap().to_owned()));
        pages += 1;
        next = r.body.get("@odata.nextLink").and_then(Value::as_str).map(crate::graph_support::local);
        assert!(pages < 20, "the pages end");
    }
    (ids, pages)
}

#[tokio::test]
async fn definitions_reviews_and_decisions_come_a_page_at_a_time() {
    let s = Server::governed().await;
    let admin = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let sam = admin.user("sam@contoso.example", "Sam").await;
    let (package, policy, _) = setup(&admin, &sam).await;
    for i in 0..4 {
        let r = admin.post(&format!("{EM}/catalogs"), json!({ "displayName": format!("Catalog {i}") })).await;
        let c = r.body["id"].as_str().unwrap().to_owned();
        assert_eq!(admin.post(&format!("{EM}/accessPackages"), json!({ "displayName": format!("Package {i}"), "catalog": { "id": c } })).await.status, 201);
        let org = json!({ "displayName": format!("Org {i}"), "identitySources": [{ "@odata.type": "#microsoft.graph.domainIdentitySource", "domainName": format!("org{i}.example"), "displayName": format!("Org {i}") }] });
        let r = admin.post(&format!("{EM}/connectedOrganizations"), org).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    // Each list: its items in id order, each once, in pages of 2 (the last maybe 1).
    for (what, count) in [("catalogs", 5usize), ("accessPackages", 5), ("connectedOrganizations", 4), ("assignmentPolicies", 1)] {
        let (ids, pages) = paged(&admin, &format!("{EM}/{what}")).await;
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!((ids.len(), pages), (count, count.div_ceil(2)), "{what}: {ids:?}");
        assert_eq!(ids, sorted, "{what}: in id order, each once");
        assert_eq!(code(&admin.get(&format!("{EM}/{what}?$top=1000")).await).0, 400, "{what}");
    }
    assert_eq!(code(&admin.get(&format!("{EM}/catalogs?$filter=displayName%20eq%20%27x%27")).await).0, 400, "no $filter on catalogs");
    let (ids, _) = paged(&admin, &format!("{EM}/assignmentPolicies?$filter=accessPackage/id%20eq%20%27{package}%27")).await;
    assert_eq!(ids, std::slice::from_ref(&policy));

    // Three members hold the package; the review opens with an item for each.
    for name in ["a", "b", "c"] {
        let id = admin.user(&format!("{name}@contoso.example"), name).await;
        let body = json!({ "requestType": "adminAdd", "assignment": { "targetId": id, "accessPackageId": package, "assignmentPolicyId": policy } });
        assert_eq!(admin.post(&format!("{EM}/assignmentRequests"), body).await.status, 201);
    }
    let start: jiff::Timestamp =
        admin.get(&format!("{EM}/assignmentPolicies/{policy}")).await.body["reviewSettings"]["schedule"]["startDateTime"].as_str().unwrap().parse().unwrap();
    while jiff::Timestamp::now() <= start {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(Governance::new(s.sqlite.clone()).sweep().await.unwrap().reviews_opened, 1);
    let (defs, _) = paged(&admin, REVIEWS).await;
    assert_eq!(defs, std::slice::from_ref(&policy), "one definition: the policy with reviews");
    assert_eq!(admin.get(REVIEWS).await.body["value"][0]["status"], "InProgress");
    let (instances, _) = paged(&admin, &format!("{REVIEWS}/{policy}/instances")).await;
    assert_eq!(instances.len(), 1);
    let decisions = format!("{REVIEWS}/{policy}/instances/{}/decisions", instances[0]);
    let (items, pages) = paged(&admin, &decisions).await;
    let mut sorted = items.clone();
    sorted.sort();
    assert_eq!((items.len(), pages, &items), (3, 2, &sorted), "three items, two pages, in id order");
    assert_eq!(admin.get(&format!("{REVIEWS}/{policy}/instances/{}", instances[0])).await.status, 200);
    assert_eq!(admin.get(&format!("{REVIEWS}/{policy}/instances/{package}")).await.status, 404, "not an instance of it");
}
