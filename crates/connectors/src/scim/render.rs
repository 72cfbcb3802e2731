//! Users and groups in SCIM's shape (RFC 7643 core and enterprise schemas), as Entra's
//! default attribute mappings for SCIM apps send them. Absent attributes are left out,
//! never sent as null.
use crate::target::{ManagerRef, Resource, put};
use serde_json::{Map, Value, json};
use tenantsync_domain::{Group, User};

pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

pub fn user(u: &User, manager: ManagerRef<'_>) -> Resource {
    let a = &u.attrs;
    let mut r = Map::new();
    r.insert("userName".into(), json!(a.user_principal_name.as_str()));
    r.insert("externalId".into(), json!(u.id.to_string()));
    r.insert("active".into(), json!(a.account_enabled && !u.is_deleted()));
    put(&mut r, "displayName", a.display_name.as_ref());
    let mut name = Map::new();
    put(&mut name, "givenName", a.given_name.as_ref());
    put(&mut name, "familyName", a.surname.as_ref());
    if !name.is_empty() {
        r.insert("name".into(), Value::Object(name));
    }
    if let Some(mail) = &a.mail {
        r.insert("emails".into(), json!([{"value": mail.as_str(), "type": "work", "primary": true}]));
    }
    put(&mut r, "title", a.job_title.as_ref());
    put(&mut r, "preferredLanguage", a.preferred_language.as_ref());
    r.insert("userType".into(), json!(a.user_type.as_str()));
    let mut phones = Vec::new();
    if let Some(p) = &a.telephone_number {
        phones.push(json!({"value": p, "type": "work"}));
    }
    if let Some(p) = &a.mobile_phone {
        phones.push(json!({"value": p, "type": "mobile"}));
    }
    if !phones.is_empty() {
        r.insert("phoneNumbers".into(), Value::Array(phones));
    }
    let mut address = Map::new();
    put(&mut address, "streetAddress", a.street_address.as_ref());
    put(&mut address, "locality", a.city.as_ref());
    put(&mut address, "region", a.state.as_ref());
    put(&mut address, "postalCode", a.postal_code.as_ref());
    put(&mut address, "country", a.country.as_ref());
    if !address.is_empty() {
        address.insert("type".into(), json!("work"));
        address.insert("primary".into(), json!(true));
        r.insert("addresses".into(), json!([Value::Object(address)]));
    }
    let mut enterprise = Map::new();
    put(&mut enterprise, "employeeNumber", a.employee_id.as_ref());
    put(&mut enterprise, "department", a.department.as_ref());
    put(&mut enterprise, "organization", a.company_name.as_ref());
    if let ManagerRef::Linked(id) = manager {
        enterprise.insert("manager".into(), json!({"value": id}));
    }
    let mut schemas = vec![json!(CORE_USER)];
    if !enterprise.is_empty() {
        schemas.push(json!(ENTERPRISE_USER));
        r.insert(ENTERPRISE_USER.into(), Value::Object(enterprise));
    }
    r.insert("schemas".into(), Value::Array(schemas));
    r
}

pub fn group(g: &Group, members: &[String]) -> Resource {
    let mut r = Map::new();
    r.insert("schemas".into(), json!([CORE_GROUP]));
    r.insert("displayName".into(), json!(g.attrs.display_name));
    r.insert("externalId".into(), json!(g.id.to_string()));
    let mut sorted: Vec<&String> = members.iter().collect();
    sorted.sort();
    r.insert("members".into(), Value::Array(sorted.into_iter().map(|m| json!({"value": m})).collect()));
    r
}
