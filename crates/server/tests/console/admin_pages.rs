//! The administration pages of tenants, partner settings, tokens, entitlement management
//! (connected organizations, catalogs, packages, policies, assignments) and sync editing
//! (scoping filter and mappings with their check and preview, restart), over HTTP as a
//! browser without scripts uses them. Each form: done and shown; refused without the
//! session's CSRF token (403); refused to a reader token (403); bad input answered with a
//! clear message and nothing changed.
use super::{Browser, Page, console};
use crate::graph_support::{Api, admin_token};
use crate::support::{Server, tenant};
use serde_json::json;
use tenantsync_domain::{PartnerSettings, TenantId};
use tenantsync_store::{SyncStore, TokenRole};

const EM: &str = "/v1.0/identityGovernance/entitlementManagement";

/// An admin and a reader, signed in.
pub(super) async fn admin_and_reader(s: &Server) -> (Browser<'_>, Browser<'_>, String) {
    let token = admin_token(s, TokenRole::Admin).await;
    let mut admin = Browser::new(s);
    assert_eq!(admin.sign_in_with_token("contoso.example", &token).await.location(), "/admin");
    let mut reader = Browser::new(s);
    let reader_token = admin_token(s, TokenRole::Reader).await;
    assert_eq!(reader.sign_in_with_token("contoso.example", &reader_token).await.location(), "/admin");
    (admin, reader, token)
}

/// Posts `fields` to `path` three ways that must change nothing: without the CSRF token,
/// with another one, and as the reader (with the reader's own token: 403 all the same).
pub(super) async fn refused(admin: &mut Browser<'_>, reader: &mut Browser<'_>, path: &str, fields: &[(&str, &str)]) {
    let p = admin.post(path, fields).await;
    assert_eq!(p.status, 403, "{path} without csrf: {}", p.body);
    assert!(p.body.contains("Nothing was changed"), "{}", p.body);
    let mut other = vec![("csrf", "0123456789abcdef0123456789abcdef")];
    other.extend_from_slice(fields);
    assert_eq!(admin.post(path, &other).await.status, 403, "{path} with another csrf");
    let csrf = reader.get("/admin").await.csrf();
    let mut theirs = vec![("csrf", csrf.as_str())];
    theirs.extend_from_slice(fields);
    let p = reader.post(path, &theirs).await;
    assert_eq!(p.status, 403, "{path} as a reader: {}", p.body);
    assert!(p.body.contains("reader token"), "{}", p.body);
}

/// The value of `attr="…"` after `after` in a page.
fn attr_after(p: &Page, after: &str, attr: &str) -> String {
    let at = p.body.find(after).unwrap_or_else(|| panic!("{after} in {}", p.body));
    let rest = &p.body[at..];
    let start = rest.find(&format!("{attr}=\"")).unwrap() + attr.len() + 2;
    rest[start..start + rest[start..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn tenants_and_partner_settings_are_listed_added_and_edited() {
    let (s, _, _) = console().await;
    let fabrikam = tenant(s.store.as_ref(), "fabrikam.example").await;
    let (mut b, mut r, _) = admin_and_reader(&s).await;
    let p = b.get("/admin/tenants").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("id=\"tenant-users\">0<") && p.body.contains("id=\"no-related\""), "{}", p.body);
    assert_eq!(b.get(&format!("/admin/tenants/{}", fabrikam.id)).await.status, 404, "not related yet: the same 404 as none");

    let form = b.get("/admin/partners").await;
    assert!(form.body.contains("id=\"no-partners\"") && form.body.contains("<label for=\"partner-domain\">"), "{}", form.body);
    let csrf = form.csrf();
    let add = [
        ("partner", "fabrikam.example"),
        ("inbound_user_sync", "true"),
        ("inbound_group_sync", ""),
        ("inbound_auto_redeem", "true"),
        ("outbound_auto_redeem", ""),
    ];
    refused(&mut b, &mut r, "/admin/partners", &add).await;
    assert!(s.sqlite.partner_settings_list(s.tenant.id).await.unwrap().is_empty(), "nothing added by the refused forms");
    // Bad input: a clear message, nothing added.
    for (partner, status, says) in [
        ("nowhere.example", 400, "not a tenant of this tenantsync"),
        ("contoso.example", 400, "not its own partner"),
        ("not a domain", 400, "partner 'not a domain'"),
    ] {
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend(add.iter().map(|(k, v)| if *k == "partner" { (*k, partner) } else { (*k, *v) }));
        let p = b.post("/admin/partners", &fields).await;
        assert_eq!(p.status, status, "{partner}: {}", p.body);
        assert!(p.body.contains(says), "{partner}: {}", p.body);
    }
    let p = b.post("/admin/partners", &[("csrf", &csrf), ("partner", "fabrikam.example"), ("inbound_user_sync", "maybe")]).await;
    assert_eq!(p.status, 400);
    assert!(s.sqlite.partner_settings_list(s.tenant.id).await.unwrap().is_empty());

    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(&add);
    let p = b.post("/admin/partners", &fields).await;
    assert_eq!((p.status, p.location().to_owned()), (303, format!("/admin/partners/{}", fabrikam.id)), "{}", p.body);
    let saved = s.sqlite.partner_settings(s.tenant.id, Some(fabrikam.id)).await.unwrap();
    assert_eq!(saved, PartnerSettings { inbound_user_sync: Some(true), inbound_group_sync: None, inbound_auto_redeem: Some(true), outbound_auto_redeem: None });
    assert_eq!(b.post("/admin/partners", &fields).await.status, 409, "added twice");
    let page = b.get(p.location()).await;
    assert!(page.body.contains("<h1>Partner fabrikam.example</h1>") && page.body.contains("user sync in: allowed"), "{}", page.body);

    // Edited: blocked group sync, the rest as it was.
    let path = format!("/admin/partners/{}", fabrikam.id);
    let edit = [("inbound_user_sync", "true"), ("inbound_group_sync", "false"), ("inbound_auto_redeem", "true"), ("outbound_auto_redeem", "true")];
    refused(&mut b, &mut r, &path, &edit).await;
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(&edit);
    assert_eq!(b.post(&path, &fields).await.location(), path);
    let saved = s.sqlite.partner_settings(s.tenant.id, Some(fabrikam.id)).await.unwrap();
    assert_eq!((saved.inbound_group_sync, saved.outbound_auto_redeem), (Some(false), Some(true)));
    // The default settings take the consent settings only.
    assert_eq!(b.post("/admin/partners/default", &[("csrf", &csrf), ("inbound_auto_redeem", "false"), ("outbound_auto_redeem", "")]).await.status, 303);
    assert_eq!(s.sqlite.partner_settings(s.tenant.id, None).await.unwrap().inbound_auto_redeem, Some(false));

    // The tenants page now shows the partner; its page names the relation, not its directory.
    let p = b.get("/admin/tenants").await;
    assert!(p.body.contains("fabrikam.example") && p.body.contains(&format!("href=\"/admin/partners/{}\"", fabrikam.id)), "{}", p.body);
    let one = b.get(&format!("/admin/tenants/{}", fabrikam.id)).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert!(one.body.contains("group sync in: blocked") && !one.body.contains("<dt>Users</dt>"), "{}", one.body);
    assert_eq!(b.get("/admin/tenants/nonsense").await.status, 404);
    assert_eq!(r.get("/admin/partners").await.status, 200, "a reader looks");
    assert!(!r.get("/admin/partners").await.body.contains("add-partner-form"), "and is offered no form");

    // Removed, and audited.
    refused(&mut b, &mut r, &format!("{path}/remove"), &[]).await;
    assert_eq!(b.post(&format!("{path}/remove"), &[("csrf", &csrf)]).await.location(), "/admin/partners");
    assert!(s.sqlite.partner_settings_list(s.tenant.id).await.unwrap().is_empty());
    let audit = b.get("/admin/audit").await.body;
    assert!(audit.contains("Add partner to cross-tenant access setting") && audit.contains("Delete partner specific cross-tenant access setting"), "{audit}");
}

#[tokio::test]
async fn a_token_is_shown_once_listed_without_its_secret_and_revoked() {
    let (s, _, _) = console().await;
    let (mut b, mut r, _) = admin_and_reader(&s).await;
    let list = b.get("/admin/tokens").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("<label for=\"token-name\">") && list.body.contains("<option value=\"reader\""), "{}", list.body);
    let csrf = list.csrf();
    let before = s.store.list_tokens(s.tenant.id).await.unwrap().len();
    refused(&mut b, &mut r, "/admin/tokens", &[("name", "ci"), ("role", "admin")]).await;
    for (fields, says) in [
        (vec![("name", "ci"), ("role", "root")], "role 'root'"),
        (vec![("name", ""), ("role", "admin")], "needs a name"),
        (vec![("name", "ci"), ("role", "admin"), ("days", "0")], "days '0'"),
        (vec![("name", "ci"), ("role", "admin"), ("days", "soon")], "days 'soon'"),
    ] {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend(fields);
        let p = b.post("/admin/tokens", &all).await;
        assert_eq!(p.status, 400, "{}", p.body);
        assert!(p.body.contains(says), "{says}: {}", p.body);
    }
    assert_eq!(s.store.list_tokens(s.tenant.id).await.unwrap().len(), before, "nothing issued");

    let p = b.post("/admin/tokens", &[("csrf", &csrf), ("name", "ci"), ("role", "admin"), ("days", "30")]).await;
    assert_eq!(p.status, 201, "{}", p.body);
    let secret = attr_after(&p, "id=\"new-token\"", "value");
    assert!(secret.starts_with("tsync_"), "{secret}");
    assert_eq!(Api::new(&s, secret.clone()).get("/v1.0/organization").await.status, 200, "the new token works");
    let list = b.get("/admin/tokens").await;
    assert!(list.body.contains(">ci<") && !list.body.contains(&secret), "listed, never its secret");
    let id = s.store.list_tokens(s.tenant.id).await.unwrap().into_iter().find(|t| t.name == "ci").unwrap().id;
    refused(&mut b, &mut r, &format!("/admin/tokens/{id}/revoke"), &[]).await;
    assert_eq!(Api::new(&s, secret.clone()).get("/v1.0/organization").await.status, 200, "still usable");
    assert_eq!(b.post(&format!("/admin/tokens/{id}/revoke"), &[("csrf", &csrf)]).await.location(), "/admin/tokens?revoked=1");
    assert_eq!(Api::new(&s, secret).get("/v1.0/organization").await.status, 401, "revoked: refused at once");
    assert!(b.get("/admin/tokens").await.body.contains(">Revoked<"));
    assert_eq!(b.post(&format!("/admin/tokens/{}/revoke", tenantsync_domain::ObjectId::new()), &[("csrf", &csrf)]).await.status, 404);
    let audit = b.get("/admin/audit").await.body;
    assert!(audit.contains("Add API token") && audit.contains("Revoke API token"), "{audit}");
}

#[tokio::test]
async fn connected_organizations_and_catalogs_are_made_with_sponsors_and_resources() {
    let (s, _, _) = console().await;
    let litware = tenant(s.store.as_ref(), "litware.example").await;
    let (mut b, mut r, token) = admin_and_reader(&s).await;
    let api = Api::new(&s, token);
    api.user("sam@contoso.example", "Sam").await;
    let group = api.post("/v1.0/groups", json!({ "displayName": "Projects", "mailEnabled": false, "securityEnabled": true, "mailNickname": "projects" })).await;
    let group = group.body["id"].as_str().unwrap().to_owned();

    let page = b.get("/admin/access/organizations").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.csrf();
    let org = [("name", "Litware"), ("description", "Joint venture"), ("source", "litware.example"), ("state", "configured")];
    refused(&mut b, &mut r, "/admin/access/organizations", &org).await;
    for (field, value, says) in [
        ("source", "", "identity source ''"),
        ("name", "", "needs a name"),
        ("state", "sideways", "state 'sideways'"),
        ("source", "contoso.example", "of itself"),
    ] {
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend(org.iter().map(|(k, v)| if *k == field { (*k, value) } else { (*k, *v) }));
        let p = b.post("/admin/access/organizations", &fields).await;
        assert_eq!(p.status, 400, "{field}: {}", p.body);
        assert!(p.body.contains(says), "{says}: {}", p.body);
    }
    assert!(api.values(&format!("{EM}/connectedOrganizations")).await.is_empty(), "nothing made");
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(&org);
    let p = b.post("/admin/access/organizations", &fields).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let path = p.location().to_owned();
    let orgs = api.values(&format!("{EM}/connectedOrganizations")).await;
    assert_eq!(orgs[0]["identitySources"][0]["tenantId"], litware.id.to_string(), "a tenant of tenantsync is its identity source");
    let one = b.get(&path).await;
    assert!(one.body.contains("<h1>Litware</h1>") && one.body.contains("id=\"no-sponsors\""), "{}", one.body);
    refused(&mut b, &mut r, &format!("{path}/sponsors"), &[("user", "sam@contoso.example")]).await;
    let p = b.post(&format!("{path}/sponsors"), &[("csrf", &csrf), ("user", "nobody@contoso.example")]).await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("not a user of the tenant"));
    assert_eq!(b.post(&format!("{path}/sponsors"), &[("csrf", &csrf), ("user", "sam@contoso.example")]).await.location(), path);
    assert!(b.get(&path).await.body.contains("<li>sam@contoso.example</li>"));
    assert!(b.get("/admin/access/organizations").await.body.contains("tenant litware.example"));

    let catalog = [("name", "Joint venture"), ("description", "Shared"), ("external", "true")];
    refused(&mut b, &mut r, "/admin/access/catalogs", &catalog).await;
    assert_eq!(b.post("/admin/access/catalogs", &[("csrf", &csrf), ("name", "")]).await.status, 400);
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(&catalog);
    let p = b.post("/admin/access/catalogs", &fields).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let path = p.location().to_owned();
    assert!(b.get("/admin/access/catalogs").await.body.contains("Joint venture"));
    refused(&mut b, &mut r, &format!("{path}/resources"), &[("group", "Projects")]).await;
    for (group, says) in [("Nothing", "no group of the tenant is named 'Nothing'"), ("", "name a group")] {
        let p = b.post(&format!("{path}/resources"), &[("csrf", &csrf), ("group", group), ("config", "")]).await;
        assert_eq!(p.status, 400, "{}", p.body);
        assert!(p.body.contains(says), "{}", p.body);
    }
    assert_eq!(b.post(&format!("{path}/resources"), &[("csrf", &csrf), ("group", "projects"), ("config", "")]).await.location(), path, "by name, any case");
    let one = b.get(&path).await;
    assert!(one.body.contains("Projects — group (Member)"), "{}", one.body);
    let id = path.rsplit('/').next().unwrap();
    let resources = api.values(&format!("{EM}/catalogs/{id}/resources")).await;
    assert_eq!(resources[0]["originId"], group.as_str());
}

#[tokio::test]
async fn packages_take_catalog_roles_policies_take_approvers_and_assignments_are_removed() {
    let (s, _, _) = console().await;
    let (mut b, mut r, token) = admin_and_reader(&s).await;
    let api = Api::new(&s, token);
    let sam = api.user("sam@contoso.example", "Sam").await;
    let alice = api.user("alice@contoso.example", "Alice").await;
    let group = api.post("/v1.0/groups", json!({ "displayName": "Projects", "mailEnabled": false, "securityEnabled": true, "mailNickname": "projects" })).await;
    let group = group.body["id"].as_str().unwrap().to_owned();
    let catalog = api.post(&format!("{EM}/catalogs"), json!({ "displayName": "Joint venture" })).await.body["id"].as_str().unwrap().to_owned();
    let add = json!({ "requestType": "adminAdd", "resource": { "originId": group, "originSystem": "AadGroup" }, "catalog": { "id": catalog } });
    assert_eq!(api.post(&format!("{EM}/resourceRequests"), add).await.status, 201);

    let choose = b.get("/admin/access/packages/new").await;
    assert!(choose.body.contains("<label for=\"package-catalog\">"), "{}", choose.body);
    let form = b.get(&format!("/admin/access/packages/new?catalog={catalog}")).await;
    assert!(form.body.contains("Projects — group (Member)") && form.body.contains("<legend>Resource roles it grants</legend>"), "{}", form.body);
    let key = format!("group:{group}");
    let package = [("catalog", catalog.as_str()), ("name", "Projects"), ("description", "The project group"), ("role", "true"), ("role-key-0", key.as_str())];
    refused(&mut b, &mut r, "/admin/access/packages", &package).await;
    let csrf = form.csrf();
    let bad_key = format!("group:{}", tenantsync_domain::ObjectId::new());
    for (fields, says) in [
        (vec![("catalog", catalog.as_str()), ("name", "")], "needs a name"),
        (vec![("catalog", "nope"), ("name", "X")], "choose an existing catalog"),
        (vec![("catalog", catalog.as_str()), ("name", "X"), ("role", "true"), ("role-key-0", bad_key.as_str())], "no such group"),
    ] {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend(fields);
        let p = b.post("/admin/access/packages", &all).await;
        assert_eq!(p.status, 400, "{says}: {}", p.body);
        assert!(p.body.contains(says), "{says}: {}", p.body);
    }
    assert!(api.values(&format!("{EM}/accessPackages")).await.is_empty(), "nothing made");
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(&package);
    let p = b.post("/admin/access/packages", &fields).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let path = p.location().to_owned();
    let package_id = path.rsplit('/').next().unwrap().to_owned();
    let one = b.get(&path).await;
    assert!(one.body.contains("<li>Projects (Member) <form") && one.body.contains("id=\"no-policies\""), "{}", one.body);

    // A policy: members of the tenant, Sam approves, 30 days.
    let form = b.get(&format!("/admin/access/policies/new?package={package_id}")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("<legend>Approval stage 1</legend>") && form.body.contains("<label for=\"stage1-who\">"), "{}", form.body);
    let policy = [
        ("package", package_id.as_str()),
        ("name", "Members, Sam approves"),
        ("scope", "allMemberUsers"),
        ("self_add", "true"),
        ("approval", "true"),
        ("justification", "true"),
        ("stage1_approver", "user"),
        ("stage1_who", "sam@contoso.example"),
        ("stage1_days", "7"),
        ("expiration", "days"),
        ("days", "30"),
    ];
    refused(&mut b, &mut r, "/admin/access/policies", &policy).await;
    for (field, value, says) in [
        ("stage1_approver", "", "approval is required but there is no approval stage"),
        ("stage1_who", "nobody@contoso.example", "not a user of the tenant"),
        ("days", "4000", "at most 3660 days"),
        ("scope", "everyone", "'everyone' is not a kind of requestor"),
        ("stage1_days", "30", "not from 1 to 14"),
    ] {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend(policy.iter().map(|(k, v)| if *k == field { (*k, value) } else { (*k, *v) }));
        let p = b.post("/admin/access/policies", &all).await;
        assert_eq!(p.status, 400, "{field}: {}", p.body);
        assert!(p.body.contains(says), "{says}: {}", p.body);
    }
    assert!(api.values(&format!("{EM}/assignmentPolicies")).await.is_empty(), "nothing made");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(&policy);
    let p = b.post("/admin/access/policies", &all).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let one = b.get(p.location()).await;
    assert!(one.body.contains("Members of this tenant") && one.body.contains("sam@contoso.example") && one.body.contains("after P30D"), "{}", one.body);
    let stored = api.values(&format!("{EM}/assignmentPolicies")).await;
    assert_eq!(stored[0]["requestApprovalSettings"]["stages"][0]["primaryApprovers"][0]["userId"], sam.as_str());
    let policy_id = stored[0]["id"].as_str().unwrap().to_owned();
    assert!(b.get("/admin/access/policies").await.body.contains("Members, Sam approves"));

    // An assignment made through the API, removed in the console.
    let direct = json!({ "requestType": "adminAdd", "assignment": { "targetId": alice, "accessPackageId": package_id, "assignmentPolicyId": policy_id } });
    assert_eq!(api.post(&format!("{EM}/assignmentRequests"), direct).await.status, 201);
    let one = b.get(&path).await;
    assert!(one.body.contains("alice@contoso.example") && one.body.contains("id=\"assignments\""), "{}", one.body);
    let assignment = api.values(&format!("{EM}/assignments")).await[0]["id"].as_str().unwrap().to_owned();
    let remove = format!("/admin/access/assignments/{assignment}/remove");
    refused(&mut b, &mut r, &remove, &[]).await;
    assert_eq!(api.values(&format!("/v1.0/groups/{group}/members")).await.len(), 1, "still a member");
    assert_eq!(b.post(&remove, &[("csrf", &csrf)]).await.location(), path);
    assert!(api.values(&format!("/v1.0/groups/{group}/members")).await.is_empty(), "removed: no longer a member");
    assert_eq!(b.post(&format!("/admin/access/assignments/{}/remove", tenantsync_domain::ObjectId::new()), &[("csrf", &csrf)]).await.status, 404);
    assert_eq!(b.get("/admin/access/packages/nope").await.status, 404);
}

#[tokio::test]
async fn definition_lists_are_pages() {
    let (s, _, _) = console().await;
    let (mut b, _, token) = admin_and_reader(&s).await;
    let api = Api::new(&s, token);
    for i in 0..55 {
        assert_eq!(api.post(&format!("{EM}/catalogs"), json!({ "displayName": format!("Catalog {i:02}") })).await.status, 201);
    }
    let rows = |p: &Page| p.body.matches("<td data-label=\"Name\">").count();
    // The link's href is written before its id.
    let link = |p: &Page, id: &str| {
        let at = p.body.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no {id} in {}", p.body));
        let start = p.body[..at].rfind("href=\"").unwrap() + 6;
        p.body[start..start + p.body[start..].find('"').unwrap()].replace("&amp;", "&")
    };
    let first = b.get("/admin/access/catalogs").await;
    assert_eq!(rows(&first), 50);
    assert!(!first.body.contains("id=\"previous-page\"") && !first.body.contains("id=\"first-page\""));
    let second = b.get(&link(&first, "next-page")).await;
    assert_eq!(rows(&second), 5, "{}", second.body);
    assert!(!second.body.contains("id=\"next-page\""));
    // Back: the page before the second is the first again, and it has a next.
    let back = b.get(&link(&second, "previous-page")).await;
    assert!(link(&second, "previous-page").contains("before="));
    assert_eq!(rows(&back), 50, "{}", back.body);
    let names = |p: &Page| p.body.match_indices("Catalog ").map(|(i, _)| p.body[i..i + 10].to_owned()).collect::<Vec<_>>();
    assert_eq!(names(&back), names(&first));
    assert!(back.body.contains("id=\"next-page\"") && !back.body.contains("id=\"previous-page\""), "{}", back.body);
    assert_eq!(b.get("/admin/access/catalogs?before=garbage").await.status, 400);
    // The other definition lists are pages of the store too.
    for path in ["/admin/access/organizations", "/admin/access/packages", "/admin/access/policies"] {
        assert_eq!(b.get(path).await.status, 200, "{path}");
        assert_eq!(b.get(&format!("{path}?after=garbage")).await.status, 400, "{path}");
    }
}

#[tokio::test]
async fn a_configuration_s_filter_and_mappings_are_checked_previewed_saved_and_it_restarts() {
    let (s, _, _) = console().await;
    let allow =
        PartnerSettings { inbound_auto_redeem: Some(true), outbound_auto_redeem: Some(true), inbound_user_sync: Some(true), inbound_group_sync: Some(true) };
    let fabrikam = tenant(s.store.as_ref(), "fabrikam.example").await;
    for t in [s.tenant.id, fabrikam.id] {
        s.sqlite.set_partner_settings(t, None, allow).await.unwrap();
    }
    let mut alice = tenantsync_domain::NewUser::new(tenantsync_domain::Upn::parse("alice@contoso.example").unwrap());
    alice.attrs.display_name = Some("Alice".into());
    alice.attrs.given_name = Some("Alice".into());
    alice.attrs.surname = Some("Smith".into());
    alice.attrs.department = Some("Sales".into());
    s.store.create_user(s.tenant.id, alice).await.unwrap();
    let (mut b, mut r, _) = admin_and_reader(&s).await;
    let csrf = b.get("/admin/sync/new").await.csrf();
    let p = b.post("/admin/sync/new", &[("csrf", &csrf), ("name", "To Fabrikam"), ("target", "fabrikam.example"), ("scope", "all")]).await;
    let detail = p.location().to_owned();
    let id: tenantsync_domain::SyncConfigId = detail.rsplit('/').next().unwrap().parse().unwrap();
    let page = b.get(&detail).await;
    assert!(page.body.contains("id=\"edit-scoping\"") && page.body.contains("id=\"restart\""), "{}", page.body);

    // The scoping filter: a check with an error, a check with a preview, a save.
    let scoping = format!("{detail}/scoping");
    let form = b.get(&scoping).await;
    assert!(form.body.contains("<label for=\"filter\">Scoping filter</label>"), "{}", form.body);
    let p = b.post(&scoping, &[("csrf", &csrf), ("filter", "department SOUNDS_LIKE Sales"), ("user", ""), ("do", "check")]).await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("id=\"form-error\"") && p.body.contains("does not parse") && p.body.contains("Nothing was changed"), "{}", p.body);
    let p = b.post(&scoping, &[("csrf", &csrf), ("filter", "department EQUALS Sales"), ("user", "alice@contoso.example"), ("do", "check")]).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("id=\"check-ok\"") && p.body.contains("id=\"in-scope\" class=\"status-good\">yes<"), "{}", p.body);
    let p = b.post(&scoping, &[("csrf", &csrf), ("filter", "department EQUALS Legal"), ("user", "alice@contoso.example"), ("do", "check")]).await;
    assert!(p.body.contains(">no<"), "{}", p.body);
    let p = b.post(&scoping, &[("csrf", &csrf), ("filter", "department EQUALS Sales"), ("user", "nobody@contoso.example"), ("do", "check")]).await;
    assert_eq!(p.status, 404, "{}", p.body);
    assert!(p.body.contains("there is no user 'nobody@contoso.example'"));
    let p = b.post(&scoping, &[("csrf", &csrf), ("filter", "department FOO"), ("user", ""), ("do", "save")]).await;
    assert_eq!(p.status, 400);
    assert!(s.sqlite.get_sync_configuration(id).await.unwrap().scoping_filter.is_empty(), "a refused save changes nothing");
    let save = [("filter", "department EQUALS Sales\nOR\ncompanyName IS NOT NULL"), ("user", ""), ("do", "save")];
    refused(&mut b, &mut r, &scoping, &save).await;
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(&save);
    assert_eq!(b.post(&scoping, &fields).await.location(), format!("{scoping}?saved=1"));
    let c = s.sqlite.get_sync_configuration(id).await.unwrap();
    assert_eq!(c.scoping_filter.len(), 2);
    assert_eq!(c.scoping_filter[0].clauses[0].operator_name, "EQUALS");
    assert!(b.get(&scoping).await.body.contains("department EQUALS Sales\nOR\ncompanyName IS NOT NULL"));

    // Mappings: previewed on Alice, one changed (a bad expression refused first), one deleted.
    let mappings = b.get(&format!("{detail}/mappings?user=alice%40contoso.example")).await;
    assert_eq!(mappings.status, 200, "{}", mappings.body);
    assert!(mappings.body.contains("Values for <strong>alice@contoso.example</strong>") && mappings.body.contains(">Alice<"), "{}", mappings.body);
    let edit = b.get(&format!("{detail}/mapping?target=displayName")).await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    assert!(edit.body.contains("<label for=\"mapping-source\">"), "{}", edit.body);
    let mapping = |source: &'static str, action: &'static str| {
        vec![
            ("original", "displayName"),
            ("target", "displayName"),
            ("kind", "expression"),
            ("source", source),
            ("flow", "always"),
            ("default", ""),
            ("user", "alice@contoso.example"),
            ("do", action),
        ]
    };
    let path = format!("{detail}/mapping");
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend(mapping(r#"Join(" ", [givenName], [surname]"#, "check"));
    let p = b.post(&path, &fields).await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("the expression does not parse at character"), "{}", p.body);
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend(mapping(r#"Join(" ", [givenName], [nickname])"#, "check"));
    let p = b.post(&path, &fields).await;
    assert_eq!(p.status, 400, "an unknown attribute: {}", p.body);
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend(mapping(r#"Join(" ", [surname], [givenName])"#, "check"));
    let p = b.post(&path, &fields).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("id=\"preview-value\"") && p.body.contains("Smith Alice"), "{}", p.body);
    let before = s.sqlite.get_sync_configuration(id).await.unwrap().user_mappings;
    refused(&mut b, &mut r, &path, &mapping(r#"Join(" ", [surname], [givenName])"#, "save")).await;
    assert_eq!(s.sqlite.get_sync_configuration(id).await.unwrap().user_mappings, before);
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend(mapping(r#"Join(" ", [surname], [givenName])"#, "save"));
    assert_eq!(b.post(&path, &fields).await.location(), format!("{detail}/mappings?saved=1"));
    let after = s.sqlite.get_sync_configuration(id).await.unwrap().user_mappings;
    assert!(
        after.iter().any(|m| m.target_attribute_name == "displayName"
            && m.source == tenantsync_domain::MappingSource::Expression(r#"Join(" ", [surname], [givenName])"#.into()))
    );
    assert_eq!(after.len(), before.len());
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend(mapping("", "delete"));
    assert_eq!(b.post(&path, &fields).await.status, 303);
    assert_eq!(s.sqlite.get_sync_configuration(id).await.unwrap().user_mappings.len(), before.len() - 1);
    // A new mapping whose target already has one is refused.
    let p = b.post(&path, &[("csrf", &csrf), ("original", ""), ("target", "surname"), ("kind", "attribute"), ("source", "surname"), ("do", "save")]).await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("'surname' already has a user mapping"), "{}", p.body);

    // Group mappings: listed under the user mappings, edited with class=group, checked by
    // compiling (an unknown group attribute refused), saved, deleted; the user mappings
    // untouched.
    let users_before = s.sqlite.get_sync_configuration(id).await.unwrap().user_mappings;
    let mappings = b.get(&format!("{detail}/mappings")).await;
    assert!(mappings.body.contains("id=\"group-mappings\"") && mappings.body.contains("mapping?class=group&amp;target=description"), "{}", mappings.body);
    let edit = b.get(&format!("{detail}/mapping?class=group&target=description")).await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    assert!(edit.body.contains("name=\"class\" value=\"group\"") && !edit.body.contains("id=\"preview-user\""), "{}", edit.body);
    assert_eq!(b.get(&format!("{detail}/mapping?class=device")).await.status, 400);
    assert_eq!(b.get(&format!("{detail}/mapping?class=group&target=jobTitle")).await.status, 404);
    let group = |source: &'static str, action: &'static str| {
        vec![
            ("class", "group"),
            ("original", "description"),
            ("target", "description"),
            ("kind", "expression"),
            ("source", source),
            ("flow", "always"),
            ("do", action),
        ]
    };
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend(group(r#"Join(" - ", [displayName], [costCenter])"#, "check"));
    let p = b.post(&path, &fields).await;
    assert_eq!(p.status, 400, "an attribute groups do not have: {}", p.body);
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend(group(r#"Join(" - ", [displayName], "Contoso")"#, "check"));
    let p = b.post(&path, &fields).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("id=\"check-ok\""), "{}", p.body);
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend(group(r#"Join(" - ", [displayName], "Contoso")"#, "save"));
    assert_eq!(b.post(&path, &fields).await.location(), format!("{detail}/mappings?saved=1"));
    let saved = s.sqlite.get_sync_configuration(id).await.unwrap();
    assert!(
        saved.group_mappings.iter().any(|m| m.target_attribute_name == "description"
            && m.source == tenantsync_domain::MappingSource::Expression(r#"Join(" - ", [displayName], "Contoso")"#.into())),
        "{:?}",
        saved.group_mappings
    );
    assert_eq!(saved.user_mappings, users_before);
    let p = b
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("class", "group"),
                ("original", ""),
                ("target", "displayName"),
                ("kind", "attribute"),
                ("source", "displayName"),
                ("do", "save"),
            ],
        )
        .await;
    assert!(p.body.contains("'displayName' already has a group mapping"), "{}", p.body);
    let groups_before = saved.group_mappings.len();
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend(group("", "delete"));
    assert_eq!(b.post(&path, &fields).await.status, 303);
    let after = s.sqlite.get_sync_configuration(id).await.unwrap();
    assert_eq!((after.group_mappings.len(), after.user_mappings.len()), (groups_before - 1, users_before.len()));

    // Restart: the engine's, as the admin API's restart action.
    let mut state = s.sqlite.job_state(id).await.unwrap();
    state.watermark = tenantsync_domain::ChangeCursor(42);
    state.status = tenantsync_store::JobStatusCode::Paused;
    s.sqlite.set_job_state(id, state).await.unwrap();
    refused(&mut b, &mut r, &format!("{detail}/restart"), &[]).await;
    assert_eq!(s.sqlite.job_state(id).await.unwrap().watermark, tenantsync_domain::ChangeCursor(42));
    assert_eq!(b.post(&format!("{detail}/restart"), &[("csrf", &csrf)]).await.location(), detail);
    let state = s.sqlite.job_state(id).await.unwrap();
    assert_eq!((state.watermark, state.status), (tenantsync_domain::ChangeCursor::START, tenantsync_store::JobStatusCode::Active));
    let audit = b.get("/admin/audit").await.body;
    assert!(
        audit.contains("Update scoping filter") && audit.contains("Update attribute mappings") && audit.contains("Enable/restart provisioning configuration"),
        "{audit}"
    );
}

/// The `href`s of `prefix` links in a page, each once, in page order.
fn hrefs(p: &Page, prefix: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (at, _) in p.body.match_indices(&format!("href=\"{prefix}")) {
        let start = at + 6;
        let h = p.body[start..start + p.body[start..].find('"').unwrap()].to_owned();
        if !out.contains(&h) {
            out.push(h);
        }
    }
    out
}

/// Every page of a list from `path`, following its next links.
async fn walk(b: &mut Browser<'_>, path: &str) -> Vec<Page> {
    let mut pages = vec![b.get(path).await];
    loop {
        let last = pages.last().unwrap();
        assert_eq!(last.status, 200, "{}", last.body);
        let Some(at) = last.body.find("id=\"next-page\"") else { return pages };
        let start = last.body[..at].rfind("href=\"").unwrap() + 6;
        let next = last.body[start..start + last.body[start..].find('"').unwrap()].replace("&amp;", "&");
        pages.push(b.get(&next).await);
        assert!(pages.len() < 10, "the pages end");
    }
}

#[tokio::test]
async fn related_tenants_partners_configurations_and_tokens_are_pages_of_the_store() {
    let (s, _, _) = console().await;
    let (mut b, _, _) = admin_and_reader(&s).await;
    let me = s.tenant.id;
    // 70 other tenants: partners of 0..55, targets of 40..95 (so 40..55 are both),
    // sources of 60..70 (and 65..70 partners too) — 70 related tenants in all.
    let mut others = Vec::new();
    for i in 0..70 {
        others.push(tenant(s.store.as_ref(), &format!("t{i:02}.example")).await.id);
    }
    for (i, t) in others.iter().enumerate() {
        if !(55..65).contains(&i) {
            s.sqlite.set_partner_settings(me, Some(*t), PartnerSettings::default()).await.unwrap();
        }
        if (40..60).contains(&i) {
            s.sqlite.create_sync_configuration(tenantsync_domain::SyncConfiguration::new(&format!("to t{i:02}"), me, *t).unwrap()).await.unwrap();
        }
        if i >= 60 {
            s.sqlite.create_sync_configuration(tenantsync_domain::SyncConfiguration::new(&format!("from t{i:02}"), *t, me).unwrap()).await.unwrap();
        }
    }
    let mut sorted = others.clone();
    sorted.sort();
    let ids = |pages: &[Page], prefix: &str| -> Vec<String> { pages.iter().flat_map(|p| hrefs(p, prefix)).collect() };

    // Related tenants: the three kinds merged, in id order, each once, 50 a page.
    let pages = walk(&mut b, "/admin/tenants").await;
    assert_eq!(pages.len(), 2);
    let listed = ids(&pages, "/admin/tenants/");
    let expected: Vec<String> = sorted.iter().map(|t| format!("/admin/tenants/{t}")).collect();
    let listed: Vec<String> = listed.into_iter().filter(|h| *h != format!("/admin/tenants/{me}")).collect();
    assert_eq!(listed, expected);
    let first = &pages[0];
    assert!(first.body.contains("id=\"tenant-partners\">60<"), "{}", first.body);
    assert!(first.body.contains("<dt>Sync configurations from here</dt><dd>20</dd>"), "{}", first.body);
    // One of them: what it is to this tenant.
    let both = b.get(&format!("/admin/tenants/{}", others[45])).await;
    assert_eq!(both.status, 200);
    assert!(
        both.body.contains("<dt>Sync configurations to it</dt><dd>1</dd>") && both.body.contains("<dt>Sync configurations from it</dt><dd>0</dd>"),
        "{}",
        both.body
    );
    let source = b.get(&format!("/admin/tenants/{}", others[62])).await;
    assert!(
        source.body.contains("<dt>Sync configurations from it</dt><dd>1</dd>") && source.body.contains("None (the default settings apply)"),
        "{}",
        source.body
    );
    let stranger = tenant(s.store.as_ref(), "stranger.example").await;
    assert_eq!(b.get(&format!("/admin/tenants/{}", stranger.id)).await.status, 404, "unrelated: not shown");

    // Partner settings: 60, a page of 50 and one of 10, in id order.
    let pages = walk(&mut b, "/admin/partners").await;
    let mut partners: Vec<TenantId> = others.iter().enumerate().filter(|(i, _)| *i < 55 || *i >= 65).map(|(_, t)| *t).collect();
    partners.sort();
    let expected: Vec<String> = partners.iter().map(|t| format!("/admin/partners/{t}")).collect();
    assert_eq!(ids(&pages, "/admin/partners/").into_iter().filter(|h| h != "/admin/partners/default").collect::<Vec<_>>(), expected);
    assert_eq!(pages.len(), 2);
    assert_eq!(b.get(&format!("/admin/partners/{}", others[3])).await.status, 200);
    assert_eq!(b.get(&format!("/admin/partners/{}", others[60])).await.status, 404, "a source without settings is no partner");

    // Sync configurations from here: 20, one page; 55 more make two.
    assert_eq!(walk(&mut b, "/admin/sync").await.len(), 1);
    for i in 0..35 {
        let t = tenant(s.store.as_ref(), &format!("more{i:02}.example")).await.id;
        s.sqlite.create_sync_configuration(tenantsync_domain::SyncConfiguration::new(&format!("more {i}"), me, t).unwrap()).await.unwrap();
    }
    let pages = walk(&mut b, "/admin/sync").await;
    assert_eq!(pages.len(), 2);
    let configs: Vec<String> = ids(&pages, "/admin/sync/").into_iter().filter(|h| h != "/admin/sync/new").collect();
    assert_eq!(configs.len(), 55, "each once");
    assert_eq!(b.get("/admin/sync?after=garbage").await.status, 400);
    // The overview shows the least healthy 20 of the 55, and says so.
    let overview = b.get("/admin").await;
    assert!(overview.body.contains("The 20 least healthy of 55"), "{}", overview.body);

    // Tokens: the server's SCIM token, the admin's and the reader's, and 55 more: 58 in
    // pages of 50, each once.
    for i in 0..55 {
        admin_token_named(&s, &format!("extra {i}")).await;
    }
    let pages = walk(&mut b, "/admin/tokens").await;
    assert_eq!(pages.len(), 2);
    let mut shown: Vec<String> =
        pages.iter().flat_map(|p| p.body.match_indices("<td data-label=\"Id\"><code>").map(|(i, _)| p.body[i + 29..i + 65].to_owned())).collect();
    assert_eq!(shown.len(), 58);
    shown.dedup();
    assert_eq!(shown.len(), 58, "each once, in id order");
    assert_eq!(b.get("/admin/tokens?after=garbage").await.status, 400);
}

/// An admin token of the console's tenant named `name`.
async fn admin_token_named(s: &crate::support::Server, name: &str) {
    let issued = tenantsync_server::auth::issue(s.tenant.id, name.into(), TokenRole::Admin, None).unwrap();
    s.store.create_token(issued.record).await.unwrap();
}
