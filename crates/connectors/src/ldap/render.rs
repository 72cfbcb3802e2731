//! Users and groups as LDAP entries. A rendered entry is a [`Resource`]: `dn` (where it
//! belongs), `objectClass`, and each attribute as an array of string values; absent
//! attributes are left out. The references — a user's `manager`, a group's `member` —
//! hold the referenced entries' external ids (their `entryUUID`), turned into DNs only
//! when written, so renaming an entry changes no other entry's rendering.
use super::settings::{LdapSettings, UserField};
use crate::definition::Deprovision;
use crate::target::{ManagerRef, Resource};
use ldap3::dn_escape;
use serde_json::{Value, json};
use tenantsync_domain::{Group, User};

pub const DN: &str = "dn";
pub const OBJECT_CLASS: &str = "objectClass";
pub const MANAGER: &str = "manager";
pub const MEMBER: &str = "member";

fn non_empty(v: Option<&String>) -> Option<String> {
    v.map(|s| s.trim()).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// One field of a user, as the mapping names it.
pub fn field(u: &User, f: UserField) -> Option<String> {
    let a = &u.attrs;
    let upn = a.user_principal_name.as_str();
    let local = a.user_principal_name.local_part();
    match f {
        UserField::UserPrincipalName => Some(upn.to_owned()),
        UserField::UpnLocalPart => Some(local.to_owned()),
        UserField::MailNickname => non_empty(a.mail_nickname.as_ref()).or_else(|| Some(local.to_owned())),
        UserField::DisplayNameOrUpn => non_empty(a.display_name.as_ref()).or_else(|| Some(upn.to_owned())),
        UserField::DisplayName => non_empty(a.display_name.as_ref()),
        UserField::GivenName => non_empty(a.given_name.as_ref()),
        UserField::SurnameOrName => non_empty(a.surname.as_ref()).or_else(|| non_empty(a.display_name.as_ref())).or_else(|| Some(local.to_owned())),
        UserField::Surname => non_empty(a.surname.as_ref()),
        UserField::Mail => a.mail.as_ref().map(|m| m.as_str().to_owned()),
        UserField::JobTitle => non_empty(a.job_title.as_ref()),
        UserField::Department => non_empty(a.department.as_ref()),
        UserField::CompanyName => non_empty(a.company_name.as_ref()),
        UserField::EmployeeId => non_empty(a.employee_id.as_ref()),
        UserField::OfficeLocation => non_empty(a.office_location.as_ref()),
        UserField::StreetAddress => non_empty(a.street_address.as_ref()),
        UserField::City => non_empty(a.city.as_ref()),
        UserField::State => non_empty(a.state.as_ref()),
        UserField::PostalCode => non_empty(a.postal_code.as_ref()),
        UserField::Country => non_empty(a.country.as_ref()),
        UserField::PreferredLanguage => non_empty(a.preferred_language.as_ref()),
        UserField::TelephoneNumber => non_empty(a.telephone_number.as_ref()),
        UserField::MobilePhone => non_empty(a.mobile_phone.as_ref()),
        UserField::UserType => Some(a.user_type.as_str().to_owned()),
        UserField::ObjectId => Some(u.id.to_string()),
    }
}

/// `attr=value` with the value escaped (RFC 4514).
pub fn rdn(attribute: &str, value: &str) -> String {
    format!("{attribute}={}", dn_escape(value))
}

/// Where a user belongs: under the disabled base while disabled or soft-deleted (when
/// deprovisioning moves users there), else under the users base.
fn user_base<'a>(s: &'a LdapSettings, u: &User) -> &'a str {
    match (&s.disabled_base, s.deprovision) {
        (Some(disabled), Deprovision::Disable) if u.is_deleted() || !u.attrs.account_enabled => disabled,
        _ => &s.users_base,
    }
}

pub fn user(s: &LdapSettings, u: &User, manager: ManagerRef<'_>) -> Resource {
    let mut r = Resource::new();
    let mut naming = None;
    for (attribute, f) in &s.attributes {
        if let Some(v) = field(u, *f) {
            if attribute.eq_ignore_ascii_case(&s.user_rdn) {
                naming = Some(v.clone());
            }
            r.insert(attribute.clone(), json!([v]));
        }
    }
    // `check` makes sure the mapping holds the naming attribute, whose fields all have a
    // value; the object id stands in should that ever not hold.
    let naming = naming.unwrap_or_else(|| u.id.to_string());
    r.insert(DN.into(), json!(format!("{},{}", rdn(&s.user_rdn, &naming), user_base(s, u))));
    r.insert(OBJECT_CLASS.into(), json!(s.user_classes));
    if let ManagerRef::Linked(id) = manager {
        r.insert(MANAGER.into(), json!([id]));
    }
    r
}

pub fn group(s: &LdapSettings, g: &Group, members: &[String]) -> Resource {
    let mut r = Resource::new();
    let name = g.attrs.display_name.trim();
    r.insert(DN.into(), json!(format!("{},{}", rdn(&s.group_rdn, name), s.groups_base)));
    r.insert(OBJECT_CLASS.into(), json!(s.group_classes));
    r.insert(s.group_rdn.clone(), json!([name]));
    if !s.group_rdn.eq_ignore_ascii_case("cn") {
        r.insert("cn".into(), json!([name]));
    }
    if let Some(d) = non_empty(g.attrs.description.as_ref()) {
        r.insert("description".into(), json!([d]));
    }
    let mut sorted: Vec<&String> = members.iter().collect();
    sorted.sort();
    sorted.dedup();
    r.insert(MEMBER.into(), json!(sorted));
    r
}

/// An attribute's values in a rendered entry (none when absent).
pub fn values<'a>(r: &'a Resource, attribute: &str) -> Vec<&'a str> {
    match r.get(attribute) {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => vec![s.as_str()],
        _ => Vec::new(),
    }
}

/// The rendered entry's DN.
pub fn dn(r: &Resource) -> Option<&str> {
    r.get(DN).and_then(Value::as_str)
}
