//! Users and groups in Microsoft Graph's shape (`microsoft.graph.user` and `group`): the
//! properties Entra's cross-tenant sync writes by default, absent ones left out. Group
//! members travel beside the group (`members/$ref`), never in its body; so does a
//! user's `manager` (its id in the service, set by `manager/$ref`), kept in the resource
//! so that what was sent remembers it.
use crate::target::{ManagerRef, Resource, put};
use serde_json::{Map, Value, json};
use tenantsync_domain::{Group, User};

/// A mailNickname Graph accepts: ASCII letters, digits and `._-`, at most 64.
pub fn nickname(text: &str) -> String {
    let n: String = text.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')).take(64).collect();
    if n.is_empty() { "object".to_owned() } else { n }
}

/// The properties that travel beside the object's body, by `$ref`.
pub const BESIDE: [&str; 2] = ["members", "manager"];

/// Whether the user is made a guest by invitation ([`user`]): a guest with an address.
pub fn invited(r: &Resource) -> bool {
    r.get("userType").and_then(Value::as_str) == Some("Guest") && r.contains_key("mail") && !r.contains_key("userPrincipalName")
}

/// A user's properties. A guest with a `mail` is made the B2B way, by an invitation of
/// that address, and the service names it (`…#EXT#@` its own domain): its
/// userPrincipalName is not sent, and it is matched by `mail`.
pub fn user(u: &User, manager: ManagerRef<'_>) -> Resource {
    let a = &u.attrs;
    let upn = a.user_principal_name.as_str();
    let local = upn.split('@').next().unwrap_or(upn);
    let mut r = Map::new();
    if a.user_type != tenantsync_domain::UserType::Guest || a.mail.is_none() {
        r.insert("userPrincipalName".into(), json!(upn));
    }
    r.insert("accountEnabled".into(), json!(a.account_enabled && !u.is_deleted()));
    r.insert("displayName".into(), json!(a.display_name.clone().unwrap_or_else(|| local.to_owned())));
    r.insert("mailNickname".into(), json!(a.mail_nickname.clone().unwrap_or_else(|| nickname(local))));
    r.insert("userType".into(), json!(a.user_type.as_str()));
    if let Some(m) = &a.mail {
        r.insert("mail".into(), json!(m.as_str()));
    }
    put(&mut r, "givenName", a.given_name.as_ref());
    put(&mut r, "surname", a.surname.as_ref());
    put(&mut r, "jobTitle", a.job_title.as_ref());
    put(&mut r, "department", a.department.as_ref());
    put(&mut r, "companyName", a.company_name.as_ref());
    put(&mut r, "employeeId", a.employee_id.as_ref());
    put(&mut r, "officeLocation", a.office_location.as_ref());
    put(&mut r, "streetAddress", a.street_address.as_ref());
    put(&mut r, "city", a.city.as_ref());
    put(&mut r, "state", a.state.as_ref());
    put(&mut r, "postalCode", a.postal_code.as_ref());
    put(&mut r, "country", a.country.as_ref());
    put(&mut r, "usageLocation", a.usage_location.as_ref());
    put(&mut r, "preferredLanguage", a.preferred_language.as_ref());
    put(&mut r, "mobilePhone", a.mobile_phone.as_ref());
    if let Some(p) = &a.telephone_number {
        r.insert("businessPhones".into(), json!([p]));
    }
    if let ManagerRef::Linked(id) = manager {
        r.insert("manager".into(), json!(id));
    }
    r
}

pub fn group(g: &Group, members: &[String]) -> Resource {
    let a = &g.attrs;
    let mut r = Map::new();
    r.insert("displayName".into(), json!(a.display_name));
    r.insert("mailNickname".into(), json!(a.mail_nickname.clone().unwrap_or_else(|| nickname(&a.display_name))));
    r.insert("mailEnabled".into(), json!(false));
    r.insert("securityEnabled".into(), json!(true));
    put(&mut r, "description", a.description.as_ref());
    let mut sorted: Vec<&String> = members.iter().collect();
    sorted.sort();
    r.insert("members".into(), Value::Array(sorted.into_iter().map(|m| json!(m)).collect()));
    r
}
