//! Editing an access package and an assignment policy after their creation, over HTTP as
//! a browser without scripts does it: each form done and read back through the admin
//! API; refused without the CSRF token and to a reader (403); bad input answered with its
//! message and nothing changed.
use super::admin_pages::{admin_and_reader, refused};
use super::console;
use crate::graph_support::Api;
use serde_json::json;

const EM: &str = "/v1.0/identityGovernance/entitlementManagement";

#[tokio::test]
async fn a_package_s_settings_roles_and_incompatible_packages_are_edited_and_a_policy_through_its_form() {
    let (s, _, _) = console().await;
    let (mut b, mut r, token) = admin_and_reader(&s).await;
    let api = Api::new(&s, token);
    api.user("sam@contoso.example", "Sam").await;
    let mut groups = Vec::new();
    for name in ["Projects", "Design"] {
        let g =
            api.post("/v1.0/groups", json!({ "displayName": name, "mailEnabled": false, "securityEnabled": true, "mailNickname": name.to_lowercase() })).await;
        groups.push(g.body["id"].as_str().unwrap().to_owned());
    }
    let catalog = api.post(&format!("{EM}/catalogs"), json!({ "displayName": "Joint venture" })).await.body["id"].as_str().unwrap().to_owned();
    for g in &groups {
        let add = json!({ "requestType": "adminAdd", "resource": { "originId": g, "originSystem": "AadGroup" }, "catalog": { "id": catalog } });
        assert_eq!(api.post(&format!("{EM}/resourceRequests"), add).await.status, 201);
    }
    let csrf = b.get("/admin").await.csrf();
    let (projects, design) = (format!("group:{}", groups[0]), format!("group:{}", groups[1]));
    let mut ids = Vec::new();
    for name in ["Projects", "Other"] {
        let p = b.post("/admin/access/packages", &[("csrf", &csrf), ("catalog", &catalog), ("name", name), ("role", "true"), ("role-key-0", &projects)]).await;
        assert_eq!(p.status, 303, "{}", p.body);
        ids.push(p.location().rsplit('/').next().unwrap().to_owned());
    }
    let (id, other) = (ids[0].clone(), ids[1].clone());
    let path = format!("/admin/access/packages/{id}");

    // Name, description, hidden.
    let form = b.get(&format!("{path}/edit")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("value=\"Projects\"") && form.body.contains("for=\"package-hidden\""), "{}", form.body);
    let settings = [("name", "Projects 2"), ("description", "The project group"), ("hidden", "true")];
    refused(&mut b, &mut r, &format!("{path}/edit"), &settings).await;
    let p = b.post(&format!("{path}/edit"), &[("csrf", &csrf), ("name", " "), ("description", "x")]).await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("needs a name"), "{}", p.body);
    let package = api.get(&format!("{EM}/accessPackages/{id}")).await.body;
    assert_eq!((package["displayName"].as_str(), package["description"].as_str(), package["isHidden"].as_bool()), (Some("Projects"), Some(""), Some(false)));
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(&settings);
    assert_eq!(b.post(&format!("{path}/edit"), &fields).await.location(), path);
    let package = api.get(&format!("{EM}/accessPackages/{id}")).await.body;
    assert_eq!(
        (package["displayName"].as_str(), package["description"].as_str(), package["isHidden"].as_bool()),
        (Some("Projects 2"), Some("The project group"), Some(true))
    );

    // Resource roles: Design added from the catalog, Projects removed.
    let page = b.get(&path).await;
    assert!(page.body.contains("<label for=\"add-role\">") && page.body.contains("Design — group (Member)"), "{}", page.body);
    refused(&mut b, &mut r, &format!("{path}/roles"), &[("role", &design)]).await;
    let missing = format!("group:{}", tenantsync_domain::ObjectId::new());
    let p = b.post(&format!("{path}/roles"), &[("csrf", &csrf), ("role", &missing)]).await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("no such group"), "{}", p.body);
    let scopes = |v: Vec<serde_json::Value>| v.iter().map(|x| x["role"]["resource"]["originId"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(scopes(api.values(&format!("{EM}/accessPackages/{id}/resourceRoleScopes")).await), [groups[0].clone()]);
    assert_eq!(b.post(&format!("{path}/roles"), &[("csrf", &csrf), ("role", &design)]).await.location(), path);
    refused(&mut b, &mut r, &format!("{path}/roles/remove"), &[("role", &projects)]).await;
    assert_eq!(b.post(&format!("{path}/roles/remove"), &[("csrf", &csrf), ("role", &projects)]).await.location(), path);
    assert_eq!(scopes(api.values(&format!("{EM}/accessPackages/{id}/resourceRoleScopes")).await), [groups[1].clone()]);
    assert_eq!(b.post(&format!("{path}/roles/remove"), &[("csrf", &csrf), ("role", &projects)]).await.status, 404, "not granted any more");

    // Incompatible packages.
    refused(&mut b, &mut r, &format!("{path}/incompatible"), &[("package", &other)]).await;
    let p = b.post(&format!("{path}/incompatible"), &[("csrf", &csrf), ("package", &id)]).await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("cannot be incompatible with itself"), "{}", p.body);
    assert!(api.values(&format!("{EM}/accessPackages/{id}/incompatibleAccessPackages")).await.is_empty());
    assert_eq!(b.post(&format!("{path}/incompatible"), &[("csrf", &csrf), ("package", &other)]).await.location(), path);
    assert_eq!(api.values(&format!("{EM}/accessPackages/{id}/incompatibleAccessPackages")).await[0]["id"].as_str(), Some(other.as_str()));
    assert!(b.get(&path).await.body.contains("<ul id=\"incompatible\""));
    refused(&mut b, &mut r, &format!("{path}/incompatible/remove"), &[("package", &other)]).await;
    assert_eq!(b.post(&format!("{path}/incompatible/remove"), &[("csrf", &csrf), ("package", &other)]).await.location(), path);
    assert!(api.values(&format!("{EM}/accessPackages/{id}/incompatibleAccessPackages")).await.is_empty());
    assert_eq!(b.post(&format!("{path}/incompatible/remove"), &[("csrf", &csrf), ("package", &other)]).await.status, 404);

    // A policy, edited through the creation form filled with it.
    let policy = [
        ("package", id.as_str()),
        ("name", "Members, Sam approves"),
        ("scope", "allMemberUsers"),
        ("self_add", "true"),
        ("approval", "true"),
        ("stage1_approver", "user"),
        ("stage1_who", "sam@contoso.example"),
        ("stage1_days", "7"),
        ("expiration", "days"),
        ("days", "30"),
    ];
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(&policy);
    let p = b.post("/admin/access/policies", &all).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let one = p.location().to_owned();
    let policy_id = one.rsplit('/').next().unwrap().to_owned();
    // Questions set through the admin API stay: the form does not show them.
    let mut whole = api.get(&format!("{EM}/assignmentPolicies/{policy_id}")).await.body;
    whole["questions"] = json!([{ "@odata.type": "#microsoft.graph.accessPackageTextInputQuestion", "id": "why", "isRequired": false, "text": "Why?" }]);
    let put = api.put(&format!("{EM}/assignmentPolicies/{policy_id}"), whole).await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    assert!(b.get(&one).await.body.contains("id=\"edit-policy\""));
    let form = b.get(&format!("{one}/edit")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    for want in [
        "value=\"Members, Sam approves\"",
        "value=\"sam@contoso.example\"",
        "<option value=\"user\" selected>",
        "value=\"30\"",
        "value=\"7\"",
        "value=\"Why?\"",
        "name=\"q1_id\" value=\"why\"",
    ] {
        assert!(form.body.contains(want), "{want} in {}", form.body);
    }
    let edited = [
        ("package", id.as_str()),
        ("name", "Members, two stages"),
        ("scope", "allMemberUsers"),
        ("self_add", "true"),
        ("self_update", "true"),
        ("approval", "true"),
        ("stage1_approver", "user"),
        ("stage1_who", "sam@contoso.example"),
        ("stage1_days", "7"),
        ("stage2_approver", "manager"),
        ("q1_id", "why"),
        ("q1_text", "Why?"),
        ("q1_kind", "text"),
        ("q1_pattern", ".{3,}"),
        ("q2_text", "Which team?"),
        ("q2_kind", "choice"),
        ("q2_choices", "Red, Blue"),
        ("q2_required", "true"),
        ("expiration", "never"),
        ("stage1_escalation", "manager"),
        ("stage1_escalation_days", "3"),
        ("review", "true"),
        ("review_starts", "2027-01-01"),
        ("review_every", "6"),
        ("review_days", "10"),
        ("review_reviewers", "users"),
        ("review_who", "sam@contoso.example"),
        ("review_no_response", "recommendation"),
        ("review_recommendations", "true"),
    ];
    let edit = format!("{one}/edit");
    refused(&mut b, &mut r, &edit, &edited).await;
    // Each refusal is shown next to its field, with what was typed, and saves nothing.
    for (field, value, says, next_to) in [
        ("stage2_days", "30", "not from 1 to 14", "stage2-days"),
        ("name", "", "needs a name", "policy-name"),
        ("stage1_who", "nobody@contoso.example", "not a user of the tenant", "stage1-who"),
        ("q2_choices", " , ", "needs its choices", "q2-choices"),
        ("q1_pattern", "(", "does not compile", "q1-pattern"),
        ("stage1_escalation_days", "7", "escalates only after", "stage1-escalation-days"),
        ("stage1_escalation_days", "", "an escalation needs its days", "stage1-escalation-days"),
        ("review_every", "13", "every 1 to 12 months", "review-every"),
        ("review_days", "0", "at least a day", "review-days"),
        ("review_who", "nobody@contoso.example", "not a user of the tenant", "review-who"),
        ("review_starts", "someday", "reviews start on a date", "review-starts"),
    ] {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend(edited.iter().map(|(k, v)| if *k == field { (*k, value) } else { (*k, *v) }));
        if !edited.iter().any(|(k, _)| *k == field) {
            all.push((field, value));
        }
        let p = b.post(&edit, &all).await;
        assert_eq!(p.status, 400, "{field}: {}", p.body);
        assert!(p.body.contains(says), "{says}: {}", p.body);
        let error = format!("<p class=\"error\" id=\"{next_to}-error\">");
        assert!(p.body.contains(&error), "{error} in {}", p.body);
        assert!(p.body.contains(&format!("aria-invalid=\"true\" aria-describedby=\"{next_to}-error\"")), "{next_to} marked: {}", p.body);
        assert!(p.body.contains("id=\"form-error\"") && p.body.contains("value=\"sam@contoso.example\""), "the form again, as typed: {}", p.body);
    }
    let unchanged = api.get(&format!("{EM}/assignmentPolicies/{policy_id}")).await.body;
    assert_eq!(unchanged["displayName"], "Members, Sam approves");
    assert_eq!(unchanged["requestApprovalSettings"]["stages"].as_array().unwrap().len(), 1);
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(&edited);
    assert_eq!(b.post(&edit, &all).await.location(), one);
    let after = api.get(&format!("{EM}/assignmentPolicies/{policy_id}")).await.body;
    assert_eq!(after["displayName"], "Members, two stages");
    assert_eq!(after["requestApprovalSettings"]["stages"].as_array().unwrap().len(), 2);
    assert_eq!(after["requestorSettings"]["enableTargetsToSelfUpdateAccess"], true);
    assert_eq!(after["accessPackage"]["id"].as_str(), Some(id.as_str()), "the package stays");
    assert_eq!((after["questions"][0]["id"].as_str(), after["questions"][0]["regexPattern"].as_str()), (Some("why"), Some(".{3,}")), "{after}");
    assert_eq!(after["questions"][1]["choices"], json!([{"actualValue": "Red", "text": "Red"}, {"actualValue": "Blue", "text": "Blue"}]), "{after}");
    assert_eq!(after["questions"][1]["isRequired"], true);
    let stage = &after["requestApprovalSettings"]["stages"][0];
    assert_eq!((stage["isEscalationEnabled"].as_bool(), stage["durationBeforeEscalation"].as_str()), (Some(true), Some("P3D")), "{after}");
    assert_eq!(stage["escalationApprovers"][0]["@odata.type"], "#microsoft.graph.requestorManager", "{after}");
    let review = &after["reviewSettings"];
    assert_eq!((review["isEnabled"].as_bool(), review["expirationBehavior"].as_str()), (Some(true), Some("acceptAccessRecommendation")), "{after}");
    assert_eq!(review["schedule"]["recurrence"]["pattern"]["interval"], 6, "{after}");
    assert_eq!(review["schedule"]["expiration"]["duration"], "P10D", "{after}");
    assert_eq!(review["primaryReviewers"][0]["@odata.type"], "#microsoft.graph.singleUser", "{after}");
    assert_eq!(review["isReviewerJustificationRequired"], false, "{after}");
    // The form shows them again.
    let again = b.get(&format!("{one}/edit")).await.body;
    for want in [
        "id=\"review-starts\" name=\"review_starts\" type=\"datetime-local\" value=\"2027-01-01T00:00:00\"",
        "<option value=\"6\" selected>",
        "<option value=\"recommendation\" selected>",
        "name=\"stage1_escalation_days\" type=\"number\" value=\"3\"",
    ] {
        assert!(again.contains(want), "{want} in {again}");
    }
    let shown = b.get(&one).await.body;
    assert!(shown.contains("escalated to the requestor's manager (level 1) after P3D") && shown.contains("id=\"review-state\">on<"), "{shown}");
    assert_eq!(b.get("/admin/access/policies/nope/edit").await.status, 404);

    let audit = b.get("/admin/audit").await.body;
    for activity in [
        "Update access package",
        "Add resource role to access package",
        "Remove resource role from access package",
        "Add incompatible access package",
        "Update assignment policy",
    ] {
        assert!(audit.contains(activity), "{activity} in {audit}");
    }
}

#[tokio::test]
async fn an_auto_assignment_policy_is_made_and_edited_through_the_form() {
    let (s, _, _) = console().await;
    let (mut b, mut r, token) = admin_and_reader(&s).await;
    let api = Api::new(&s, token);
    let catalog = api.post(&format!("{EM}/catalogs"), json!({ "displayName": "Legal" })).await.body["id"].as_str().unwrap().to_owned();
    let csrf = b.get("/admin").await.csrf();
    let p = b.post("/admin/access/packages", &[("csrf", &csrf), ("catalog", &catalog), ("name", "Legal tools")]).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let package = p.location().rsplit('/').next().unwrap().to_owned();
    let policy = [
        ("package", package.as_str()),
        ("name", "Everyone in Legal"),
        // The requestors chosen above the rule give way to it.
        ("scope", "allMemberUsers"),
        ("expiration", "never"),
        ("auto", "true"),
        ("auto_rule", "department EQUALS Legal"),
        ("auto_remove", "true"),
        ("auto_grace", "48"),
    ];
    refused(&mut b, &mut r, "/admin/access/policies", &policy).await;
    // Refused next to its field, nothing made: no rule, a rule that does not parse, an
    // attribute users do not have, hours that are not hours.
    for (field, value, says, next_to) in [
        ("auto_rule", "", "needs a rule", "policy-rule"),
        ("auto_rule", "department SOUNDS_LIKE Legal", "attribute rule", "policy-rule"),
        ("auto_rule", "shoeSize EQUALS 42", "attribute rule", "policy-rule"),
        ("auto_grace", "soon", "not a whole number from 0 to 8760", "policy-auto-grace"),
    ] {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend(policy.iter().map(|(k, v)| if *k == field { (*k, value) } else { (*k, *v) }));
        let p = b.post("/admin/access/policies", &all).await;
        assert_eq!(p.status, 400, "{field} = {value}: {}", p.body);
        assert!(p.body.contains(says), "{says}: {}", p.body);
        assert!(p.body.contains(&format!("<p class=\"error\" id=\"{next_to}-error\">")), "next to {next_to}: {}", p.body);
    }
    let none = api.get(&format!("{EM}/assignmentPolicies")).await.body;
    assert_eq!(none["value"].as_array().unwrap().len(), 0, "{none}");

    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(&policy);
    let p = b.post("/admin/access/policies", &all).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let one = p.location().to_owned();
    let id = one.rsplit('/').next().unwrap().to_owned();
    let made = api.get(&format!("{EM}/assignmentPolicies/{id}")).await.body;
    assert_eq!(made["allowedTargetScope"], "specificDirectoryUsers", "{made}");
    assert_eq!(
        made["specificAllowedTargets"],
        json!([{"@odata.type": "#microsoft.graph.attributeRuleMembers", "membershipRule": "department EQUALS Legal"}]),
        "{made}"
    );
    let auto = &made["automaticRequestSettings"];
    assert_eq!(
        (auto["requestAccessForAllowedTargets"].as_bool(), auto["removeAccessWhenTargetLeavesAllowedTargets"].as_bool()),
        (Some(true), Some(true)),
        "{made}"
    );
    assert_eq!(auto["gracePeriodBeforeAccessRemoval"], "P2D", "{made}");
    assert!(b.get(&one).await.body.contains("people passing department EQUALS Legal"));

    // The form shows it again; unticked, the policy is one people request again.
    let form = b.get(&format!("{one}/edit")).await.body;
    for want in [
        "id=\"policy-auto\" name=\"auto\" type=\"checkbox\" value=\"true\" checked",
        ">department EQUALS Legal</textarea>",
        "name=\"auto_grace\" type=\"number\" value=\"48\"",
    ] {
        assert!(form.contains(want), "{want} in {form}");
    }
    let requests = [("package", package.as_str()), ("name", "Legal asks"), ("scope", "allMemberUsers"), ("self_add", "true"), ("expiration", "never")];
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(&requests);
    assert_eq!(b.post(&format!("{one}/edit"), &all).await.location(), one);
    let after = api.get(&format!("{EM}/assignmentPolicies/{id}")).await.body;
    assert!(after["automaticRequestSettings"].is_null(), "{after}");
    assert_eq!((after["allowedTargetScope"].as_str(), after["specificAllowedTargets"].as_array().map(Vec::len)), (Some("allMemberUsers"), Some(0)), "{after}");
}
