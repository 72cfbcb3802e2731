#![allow(clippy::unwrap_used, clippy::indexing_slicing)]
use super::*;
use crate::definition::Deprovision;
use serde_json::json;
use tenantsync_domain::{GroupAttributes, ObjectId, Origin, TenantId, Upn, UserAttributes, Version};

fn settings() -> LdapSettings {
    LdapSettings::new("ldap://127.0.0.1:389", "cn=admin,dc=example,dc=test", "ou=people,dc=example,dc=test", "ou=groups,dc=example,dc=test")
}

fn user(upn: &str) -> User {
    let now = jiff::Timestamp::UNIX_EPOCH;
    User {
        id: ObjectId::new(),
        tenant_id: TenantId::new(),
        attrs: UserAttributes::new(Upn::parse(upn).unwrap()),
        origin: Origin::Internal,
        anchor: None,
        version: Version::FIRST,
        created_date_time: now,
        last_modified_date_time: now,
        deleted_date_time: None,
    }
}

#[test]
fn a_user_renders_as_an_inet_org_person_with_its_manager_by_id() {
    let mut u = user("#ext#alice@contoso.example");
    u.attrs.display_name = Some("Alice Smith".into());
    u.attrs.department = Some("Sales".into());
    u.attrs.mobile_phone = Some("+47 1".into());
    let r = render::user(&settings(), &u, ManagerRef::Linked("uuid-of-bob"));
    // The UPN's local part names the entry, escaped in the DN.
    assert_eq!(r["dn"], json!("uid=\\23ext#alice,ou=people,dc=example,dc=test"));
    assert_eq!(r["uid"], json!(["#ext#alice"]));
    assert_eq!(r["objectClass"], json!(["inetOrgPerson", "organizationalPerson", "person", "top"]));
    assert_eq!(r["cn"], json!(["Alice Smith"]));
    // No surname: sn (required) falls back to the display name.
    assert_eq!(r["sn"], json!(["Alice Smith"]));
    assert_eq!(r["departmentNumber"], json!(["Sales"]));
    assert_eq!(r["mobile"], json!(["+47 1"]));
    assert_eq!(r["manager"], json!(["uuid-of-bob"]));
    assert!(!r.contains_key("title") && !r.contains_key("givenName"));
    // Not linked yet: no manager.
    assert!(!render::user(&settings(), &u, ManagerRef::Pending).contains_key("manager"));
}

#[test]
fn a_disabled_or_deleted_user_moves_to_the_disabled_base_when_deprovisioning_disables() {
    let mut s = settings();
    s.deprovision = Deprovision::Disable;
    s.disabled_base = Some("ou=disabled,dc=example,dc=test".into());
    let mut u = user("bob@contoso.example");
    assert_eq!(render::user(&s, &u, ManagerRef::None)["dn"], json!("uid=bob,ou=people,dc=example,dc=test"));
    u.deleted_date_time = Some(jiff::Timestamp::UNIX_EPOCH);
    assert_eq!(render::user(&s, &u, ManagerRef::None)["dn"], json!("uid=bob,ou=disabled,dc=example,dc=test"));
    u.deleted_date_time = None;
    u.attrs.account_enabled = false;
    assert_eq!(render::user(&s, &u, ManagerRef::None)["dn"], json!("uid=bob,ou=disabled,dc=example,dc=test"));
    // With delete, a disabled user stays where it is (and a deleted one is deleted).
    assert_eq!(render::user(&settings(), &u, ManagerRef::None)["dn"], json!("uid=bob,ou=people,dc=example,dc=test"));
}

#[test]
fn a_group_renders_as_group_of_names_with_sorted_member_ids() {
    let now = jiff::Timestamp::UNIX_EPOCH;
    let g = Group {
        id: ObjectId::new(),
        tenant_id: TenantId::new(),
        attrs: GroupAttributes::new("Sales Team").unwrap(),
        origin: Origin::Internal,
        anchor: None,
        version: Version::FIRST,
        created_date_time: now,
        last_modified_date_time: now,
        deleted_date_time: None,
    };
    let r = render::group(&settings(), &g, &["b".into(), "a".into(), "b".into()]);
    assert_eq!(r["dn"], json!("cn=Sales Team,ou=groups,dc=example,dc=test"));
    assert_eq!(r["cn"], json!(["Sales Team"]));
    assert_eq!(r["objectClass"], json!(["groupOfNames", "top"]));
    assert_eq!(r["member"], json!(["a", "b"]));
    assert_eq!(render::group(&settings(), &g, &[])["member"], json!([]));
}

#[test]
fn a_renamed_user_is_one_replace_after_the_rename() {
    let s = settings();
    let mut u = user("alice@contoso.example");
    let before = render::user(&s, &u, ManagerRef::None);
    u.attrs.user_principal_name = Upn::parse("alice.smith@contoso.example").unwrap();
    let after = render::user(&s, &u, ManagerRef::None);
    assert_eq!(modify::split_dn(render::dn(&after).unwrap()), ("uid=alice.smith", "ou=people,dc=example,dc=test"));
    let c = modify::changes(Some(&before), &after, &[]);
    // uid, cn (the UPN stands in for the display name) and sn (the local part) changed.
    let names: Vec<&str> = c.replace.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(names, vec!["cn", "sn", "uid"]);
    assert_eq!(c.manager, None);
}
