//! Graph's `user` ↔ the directory's user: the JSON a user is shown as (with `$select`),
//! and the (name, value) pairs a `POST` or `PATCH` body writes, checked property by
//! property (unknown, read-only and wrongly typed properties are refused, named).
use super::error::{GraphError, GraphResult};
use serde_json::{Map, Value, json};
use tenantsync_domain::{AttrValue, ExtensionName, User, UserAttribute as U};

/// The text properties: Graph's name is the attribute's.
const TEXT: &[U] = &[
    U::UserPrincipalName,
    U::DisplayName,
    U::GivenName,
    U::Surname,
    U::Mail,
    U::MailNickname,
    U::UserType,
    U::Department,
    U::JobTitle,
    U::CompanyName,
    U::EmployeeId,
    U::OfficeLocation,
    U::StreetAddress,
    U::City,
    U::State,
    U::PostalCode,
    U::Country,
    U::UsageLocation,
    U::PreferredLanguage,
    U::MobilePhone,
    U::ExternalId,
];

/// Properties set by the directory: shown, never written.
const READ_ONLY: &[&str] = &["id", "createdDateTime", "deletedDateTime", "creationType", "externalUserState", "lastModifiedDateTime"];

/// Every property a user is shown with (what `$select` may name, besides extensions).
pub const PROPERTIES: &[&str] = &[
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "mailNickname",
    "accountEnabled",
    "userType",
    "department",
    "jobTitle",
    "companyName",
    "employeeId",
    "officeLocation",
    "streetAddress",
    "city",
    "state",
    "postalCode",
    "country",
    "usageLocation",
    "preferredLanguage",
    "businessPhones",
    "mobilePhone",
    "showInAddressList",
    "createdDateTime",
    "creationType",
    "externalUserState",
    "externalId",
];

/// Checks a `$select` list: each name a user property or an extension attribute.
pub fn check_select(select: &[String]) -> GraphResult<()> {
    for name in select {
        if !PROPERTIES.contains(&name.as_str()) && ExtensionName::parse(name).is_err() {
            return Err(GraphError::bad_request(format!("$select: could not find a property named '{name}' on type 'microsoft.graph.user'")));
        }
    }
    Ok(())
}

/// A user as Graph shows it, projected on `select` (empty: every property; `id` always).
pub fn render(u: &User, select: &[String]) -> Value {
    let a = &u.attrs;
    let mut m = Map::new();
    m.insert("id".into(), json!(u.id));
    for attr in TEXT {
        let v = a.get(&tenantsync_domain::UserAttrName::Builtin(*attr));
        if *attr == U::ExternalId && v.is_null() {
            continue;
        }
        m.insert(attr.name().into(), v.as_str().map_or(Value::Null, |s| json!(s)));
    }
    m.insert("accountEnabled".into(), json!(a.account_enabled));
    m.insert("businessPhones".into(), json!(a.telephone_number.iter().collect::<Vec<_>>()));
    m.insert("showInAddressList".into(), a.show_in_address_list.map_or(Value::Null, Value::Bool));
    m.insert("createdDateTime".into(), json!(u.created_date_time));
    // A copy made by a sync is a redeemed B2B user, as Entra's cross-tenant sync makes them.
    m.insert("creationType".into(), if u.anchor.is_some() { json!("Invitation") } else { Value::Null });
    m.insert("externalUserState".into(), if u.anchor.is_some() { json!("Accepted") } else { Value::Null });
    for (name, value) in &a.extensions {
        m.insert(name.as_str().into(), serde_json::to_value(value).unwrap_or(Value::Null));
    }
    if !select.is_empty() {
        m.retain(|k, _| k == "id" || select.iter().any(|s| s == k));
    }
    Value::Object(m)
}

fn typed(name: &str, want: &str) -> GraphError {
    GraphError::bad_request(format!("the property '{name}' must be {want}"))
}

/// The attribute writes of a `POST`/`PATCH` body, as (attribute name, value) pairs.
/// `passwordProfile` is accepted and ignored (tenantsync holds no passwords).
pub fn writes(body: &Map<String, Value>) -> GraphResult<Vec<(String, AttrValue)>> {
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for (name, value) in body {
        if name.contains('@') {
            continue;
        }
        if let Some(a) = TEXT.iter().find(|a| a.name() == name) {
            let v = match value {
                Value::String(s) => AttrValue::String(s.clone()),
                Value::Null => AttrValue::Null,
                _ => return Err(typed(name, "a string")),
            };
            out.push((a.name().to_owned(), v));
            continue;
        }
        match name.as_str() {
            "accountEnabled" | "showInAddressList" => match value {
                Value::Bool(b) => out.push((name.clone(), AttrValue::Bool(*b))),
                Value::Null if name == "showInAddressList" => out.push((name.clone(), AttrValue::Null)),
                _ => return Err(typed(name, "true or false")),
            },
            "businessPhones" => {
                let phones = value.as_array().ok_or_else(|| typed(name, "a list of strings"))?;
                let v = match phones.as_slice() {
                    [] => AttrValue::Null,
                    [Value::String(s)] => AttrValue::String(s.clone()),
                    [_] => return Err(typed(name, "a list of strings")),
                    _ => return Err(GraphError::bad_request("businessPhones: tenantsync keeps one business phone per user")),
                };
                out.push((U::TelephoneNumber.name().to_owned(), v));
            }
            "passwordProfile" => {
                if !(value.is_object() || value.is_null()) {
                    return Err(typed(name, "an object"));
                }
            }
            n if READ_ONLY.contains(&n) => return Err(GraphError::bad_request(format!("the property '{n}' is read-only"))),
            n if ExtensionName::looks_like(n) => {
                let v = match value {
                    Value::String(s) => AttrValue::String(s.clone()),
                    Value::Null => AttrValue::Null,
                    Value::Array(items) => AttrValue::Strings(
                        items
                            .iter()
                            .map(|i| i.as_str().map(str::to_owned).ok_or_else(|| typed(n, "a string or a list of strings")))
                            .collect::<GraphResult<_>>()?,
                    ),
                    _ => return Err(typed(n, "a string or a list of strings")),
                };
                out.push((n.to_owned(), v));
            }
            n => unknown.push(n.to_owned()),
        }
    }
    match unknown.as_slice() {
        [] => Ok(out),
        [one] => Err(GraphError::bad_request(format!("the property '{one}' does not exist on type 'microsoft.graph.user' or cannot be written"))),
        many => Err(GraphError::bad_request(format!("the properties {} do not exist on type 'microsoft.graph.user' or cannot be written", many.join(", ")))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn bodies_are_checked_property_by_property() {
        let ok = writes(&body(json!({
            "@odata.type": "#microsoft.graph.user", "accountEnabled": true, "displayName": "Adele", "mailNickname": "adele",
            "passwordProfile": {"password": "x"}, "userPrincipalName": "adele@contoso.example", "businessPhones": ["+1 555"],
        })))
        .unwrap();
        assert!(ok.iter().any(|(n, v)| n == "telephoneNumber" && v.as_str() == Some("+1 555")));
        assert!(!ok.iter().any(|(n, _)| n == "passwordProfile"));
        let e = writes(&body(json!({"displayName": "x", "favouriteColour": "red"}))).unwrap_err();
        assert!(e.message.contains("'favouriteColour'"), "{}", e.message);
        assert!(writes(&body(json!({"accountEnabled": "yes"}))).unwrap_err().message.contains("'accountEnabled'"));
        assert!(writes(&body(json!({"displayName": 5}))).unwrap_err().message.contains("'displayName'"));
        assert!(writes(&body(json!({"id": "x"}))).unwrap_err().message.contains("read-only"));
        assert!(writes(&body(json!({"businessPhones": ["1", "2"]}))).is_err());
    }
}
