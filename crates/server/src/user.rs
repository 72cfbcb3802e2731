//! The SCIM User (core + Enterprise extension) ↔ the directory user.
//!
//! | SCIM | directory |
//! |---|---|
//! | id | id |
//! | externalId | externalId |
//! | userName | userPrincipalName (`name` ↔ `name@<initial domain>`: given back as written) |
//! | name.givenName / name.familyName | givenName / surname |
//! | displayName | displayName |
//! | nickName | mailNickname |
//! | title | jobTitle |
//! | userType | userType |
//! | preferredLanguage | preferredLanguage |
//! | active | accountEnabled |
//! | emails[type eq "work"].value | mail |
//! | phoneNumbers[type eq "work"].value / [type eq "mobile"] | telephoneNumber / mobilePhone |
//! | addresses[type eq "work"].streetAddress, locality, region, postalCode, country | streetAddress, city, state, postalCode, country |
//! | enterprise employeeNumber / organization / department | employeeId / companyName / department |
//! | enterprise manager.value | manager |
//! | groups (read-only) | the groups the user is a direct member of |
//! | tenantsync extension officeLocation / usageLocation | officeLocation / usageLocation |
//! | tenantsync extension extension_<32 hex>_<name> | the directory extension attribute |
//! | meta.created / meta.lastModified / meta.version | createdDateTime / lastModifiedDateTime / version |
use crate::error::{ScimError, ScimResult};
use crate::filter::{Element, Resolver, Slot, Target};
use crate::json;
use crate::schema::model::{self, Attr, USER_MODEL};
use crate::schema::validate::{check_document, element_type};
use crate::schema::{DIRECTORY_EXTENSION_SCHEMA, ENTERPRISE_SCHEMA, USER_SCHEMA};
use serde_json::{Map, Value, json};
use tenantsync_domain::{AttrValue, ExtensionName, ObjectId, Upn, User, UserAttrName, UserAttribute as U, UserAttributes, UserPatch, UserRef};
use tenantsync_store::{Field, UserGroup};

fn put(obj: &mut Map<String, Value>, key: &str, v: &Option<String>) {
    if let Some(v) = v {
        obj.insert(key.into(), Value::String(v.clone()));
    }
}

/// The SCIM userName of a userPrincipalName, as the client wrote it: the whole UPN, or,
/// when it was written `bare` (without `@domain`, see [`upn_of`]) and is still in the
/// tenant's initial domain `domain`, the part before `@`. A client that compares what it
/// wrote with what it reads (Entra, Okta) then sees no change.
pub fn user_name(upn: &Upn, domain: &str, bare: bool) -> String {
    if bare && upn.domain().eq_ignore_ascii_case(domain) { upn.local_part().to_owned() } else { upn.to_string() }
}

/// The userPrincipalName of a SCIM userName: `name@<initial domain>` for a bare name.
pub fn upn_of(user_name: &str, domain: &str) -> ScimResult<Upn> {
    if user_name.contains('@') { Ok(Upn::parse(user_name)?) } else { Ok(Upn::parse(&format!("{user_name}@{domain}"))?) }
}

/// The SCIM representation of a user; `domain` is the tenant's initial domain, `bare`
/// whether the userName was written without it.
pub fn to_json(u: &User, base: &str, domain: &str, bare: bool) -> Value {
    let a = &u.attrs;
    // The extension objects first: `schemas`, which comes first, names those present.
    let mut ent = Map::new();
    put(&mut ent, "employeeNumber", &a.employee_id);
    put(&mut ent, "organization", &a.company_name);
    put(&mut ent, "department", &a.department);
    if let Some(m) = a.manager {
        ent.insert("manager".into(), json!({ "value": m.to_string(), "$ref": format!("{base}/Users/{m}") }));
    }
    let mut dir = Map::new();
    put(&mut dir, "officeLocation", &a.office_location);
    put(&mut dir, "usageLocation", &a.usage_location);
    for (k, v) in &a.extensions {
        let v = match v {
            AttrValue::Null => Value::Null,
            AttrValue::Bool(b) => Value::Bool(*b),
            AttrValue::String(s) => Value::String(s.clone()),
            AttrValue::Strings(v) => Value::Array(v.iter().cloned().map(Value::String).collect()),
        };
        dir.insert(k.as_str().to_owned(), v);
    }
    let mut schemas = vec![Value::from(USER_SCHEMA)];
    if !ent.is_empty() {
        schemas.push(ENTERPRISE_SCHEMA.into());
    }
    if !dir.is_empty() {
        schemas.push(DIRECTORY_EXTENSION_SCHEMA.into());
    }
    let mut o = Map::with_capacity(24);
    o.insert("schemas".into(), Value::Array(schemas));
    o.insert("id".into(), u.id.to_string().into());
    put(&mut o, "externalId", &a.external_id);
    o.insert("userName".into(), user_name(&a.user_principal_name, domain, bare).into());
    let mut name = Map::new();
    put(&mut name, "givenName", &a.given_name);
    put(&mut name, "familyName", &a.surname);
    if !name.is_empty() {
        o.insert("name".into(), Value::Object(name));
    }
    put(&mut o, "displayName", &a.display_name);
    put(&mut o, "nickName", &a.mail_nickname);
    put(&mut o, "title", &a.job_title);
    o.insert("userType".into(), a.user_type.as_str().into());
    put(&mut o, "preferredLanguage", &a.preferred_language);
    o.insert("active".into(), a.account_enabled.into());
    if let Some(m) = &a.mail {
        o.insert("emails".into(), json!([{ "value": m.to_string(), "type": "work" }]));
    }
    let mut phones = Vec::new();
    if let Some(p) = &a.telephone_number {
        phones.push(json!({ "value": p, "type": "work" }));
    }
    if let Some(p) = &a.mobile_phone {
        phones.push(json!({ "value": p, "type": "mobile" }));
    }
    if !phones.is_empty() {
        o.insert("phoneNumbers".into(), Value::Array(phones));
    }
    let mut addr = Map::new();
    put(&mut addr, "streetAddress", &a.street_address);
    put(&mut addr, "locality", &a.city);
    put(&mut addr, "region", &a.state);
    put(&mut addr, "postalCode", &a.postal_code);
    put(&mut addr, "country", &a.country);
    if !addr.is_empty() {
        addr.insert("type".into(), "work".into());
        o.insert("addresses".into(), json!([addr]));
    }
    if !ent.is_empty() {
        o.insert(ENTERPRISE_SCHEMA.into(), Value::Object(ent));
    }
    if !dir.is_empty() {
        o.insert(DIRECTORY_EXTENSION_SCHEMA.into(), Value::Object(dir));
    }
    o.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": u.created_date_time.to_string(),
            "lastModified": u.last_modified_date_time.to_string(),
            "location": format!("{base}/Users/{}", u.id),
            "version": u.version.etag(),
        }),
    );
    Value::Object(o)
}

/// Adds a user's `groups` (RFC 7643 §4.1.2: read-only, the groups it is a direct member
/// of) to its document, before `meta`; nothing when it is in no group.
pub fn add_groups(doc: &mut Value, groups: &[&UserGroup], base: &str) {
    let Value::Object(o) = doc else { return };
    if groups.is_empty() {
        return;
    }
    let list: Vec<Value> = groups
        .iter()
        .map(|g| json!({ "value": g.group.to_string(), "$ref": format!("{base}/Groups/{}", g.group), "display": g.display_name, "type": "direct" }))
        .collect();
    let meta = o.remove("meta");
    o.insert("groups".into(), Value::Array(list));
    if let Some(m) = meta {
        o.insert("meta".into(), m);
    }
}

/// Whether a PATCH operation touches `groups`, which is read-only (memberships change
/// through `/Groups`).
pub fn patches_groups(path: Option<&str>, value: Option<&Value>) -> bool {
    match path {
        Some(p) => {
            let p = p.trim();
            let p = match p.get(..USER_SCHEMA.len()) {
                Some(head) if head.eq_ignore_ascii_case(USER_SCHEMA) => p.get(USER_SCHEMA.len() + 1..).unwrap_or_default(),
                _ => p,
            };
            p.get(..6).is_some_and(|h| h.eq_ignore_ascii_case("groups")) && matches!(p.as_bytes().get(6), None | Some(b'[' | b'.'))
        }
        None => match value {
            Some(Value::Object(o)) => {
                o.iter().any(|(k, v)| patches_groups(Some(k), None) || (k.eq_ignore_ascii_case(USER_SCHEMA) && patches_groups(None, Some(v))))
            }
            _ => false,
        },
    }
}

/// The directory attributes a SCIM user document asks for.
#[derive(Debug)]
pub struct Desired {
    pub upn: Upn,
    /// Whether the userName was written without `@domain`.
    pub bare: bool,
    /// Every mapped attribute with its wanted value (null: cleared).
    pub set: Vec<(U, AttrValue)>,
    pub manager: Option<UserRef>,
    /// Extension attributes, when the document has the directory extension object: every
    /// one the user should have (the others are cleared). `None` leaves them alone.
    pub extensions: Option<Vec<(ExtensionName, AttrValue)>>,
}

fn opt_text(v: Option<&Value>, what: &str) -> ScimResult<AttrValue> {
    match v {
        None | Some(Value::Null) => Ok(AttrValue::Null),
        Some(v) => json::text(v).map(AttrValue::String).ok_or_else(|| ScimError::invalid_value(format!("{what} must be a string"))),
    }
}

/// The element of a per-type attribute of type `ty` (an element without a type is of the
/// attribute's first type; `check_document` allowed one element per type).
fn typed<'a>(attr: &Attr, items: &'a [Value], ty: &str) -> Option<&'a Map<String, Value>> {
    items.iter().find(|i| element_type(attr, i).is_some_and(|t| t.eq_ignore_ascii_case(ty))).and_then(Value::as_object)
}

fn array<'a>(o: &'a Map<String, Value>, key: &str) -> ScimResult<&'a [Value]> {
    match json::get(o, key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(ScimError::invalid_value(format!("{key} must be an array"))),
    }
}

/// Reads a full SCIM user document (POST, PUT, or the result of a PATCH). A `userName`
/// without `@` gets `@` and the tenant's initial domain (`domain`) appended, so clients
/// that provision bare logins get a valid userPrincipalName.
pub fn from_json(doc: &Value, domain: &str) -> ScimResult<Desired> {
    check_document(&USER_MODEL, doc)?;
    let o = doc.as_object().ok_or_else(|| ScimError::invalid_syntax("the body must be a JSON object"))?;
    let user_name = match json::get(o, "userName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim()).filter(|s| !s.is_empty()),
        Some(_) => return Err(ScimError::invalid_value("userName must be a string")),
    }
    .ok_or_else(|| ScimError::invalid_value("userName is required"))?;
    let upn = upn_of(user_name, domain)?;
    let mut set = vec![
        (U::ExternalId, opt_text(json::get(o, "externalId"), "externalId")?),
        (U::DisplayName, opt_text(json::get(o, "displayName"), "displayName")?),
        (U::MailNickname, opt_text(json::get(o, "nickName"), "nickName")?),
        (U::JobTitle, opt_text(json::get(o, "title"), "title")?),
        (U::PreferredLanguage, opt_text(json::get(o, "preferredLanguage"), "preferredLanguage")?),
    ];
    match json::get(o, "userType") {
        None | Some(Value::Null) => set.push((U::UserType, AttrValue::String("Member".into()))),
        Some(v) => set.push((U::UserType, opt_text(Some(v), "userType")?)),
    }
    let active = match json::get(o, "active") {
        None | Some(Value::Null) => true,
        Some(v) => json::boolean(v).ok_or_else(|| ScimError::invalid_value("active must be true or false"))?,
    };
    set.push((U::AccountEnabled, AttrValue::Bool(active)));
    let name = json::get(o, "name").and_then(Value::as_object);
    set.push((U::GivenName, opt_text(name.and_then(|n| json::get(n, "givenName")), "name.givenName")?));
    set.push((U::Surname, opt_text(name.and_then(|n| json::get(n, "familyName")), "name.familyName")?));

    let [emails_attr, phones_attr, addrs_attr] = ["emails", "phoneNumbers", "addresses"].map(|n| model::find(model::USER, n));
    let (Some(emails_attr), Some(phones_attr), Some(addrs_attr)) = (emails_attr, phones_attr, addrs_attr) else { return Err(ScimError::internal()) };
    let email = typed(emails_attr, array(o, "emails")?, "work");
    set.push((U::Mail, opt_text(email.and_then(|e| json::get(e, "value")), "emails.value")?));
    let phones = array(o, "phoneNumbers")?;
    set.push((U::TelephoneNumber, opt_text(typed(phones_attr, phones, "work").and_then(|e| json::get(e, "value")), "phoneNumbers.value")?));
    set.push((U::MobilePhone, opt_text(typed(phones_attr, phones, "mobile").and_then(|e| json::get(e, "value")), "phoneNumbers.value")?));
    let addr = typed(addrs_attr, array(o, "addresses")?, "work");
    for (a, key) in [(U::StreetAddress, "streetAddress"), (U::City, "locality"), (U::State, "region"), (U::PostalCode, "postalCode"), (U::Country, "country")] {
        set.push((a, opt_text(addr.and_then(|x| json::get(x, key)), key)?));
    }

    let ent = json::get(o, ENTERPRISE_SCHEMA).and_then(Value::as_object);
    for (a, key) in [(U::EmployeeId, "employeeNumber"), (U::CompanyName, "organization"), (U::Department, "department")] {
        set.push((a, opt_text(ent.and_then(|e| json::get(e, key)), key)?));
    }
    let manager = match ent.and_then(|e| json::get(e, "manager")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(manager_ref(s)?),
        Some(Value::Object(m)) => match json::get(m, "value") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(manager_ref(s)?),
            Some(_) => return Err(ScimError::invalid_value("manager.value must be a string")),
        },
        Some(_) => return Err(ScimError::invalid_value("manager must be an object with a value")),
    };
    let dir = json::get(o, DIRECTORY_EXTENSION_SCHEMA).and_then(Value::as_object);
    if let Some(d) = dir {
        set.push((U::OfficeLocation, opt_text(json::get(d, "officeLocation"), "officeLocation")?));
        set.push((U::UsageLocation, opt_text(json::get(d, "usageLocation"), "usageLocation")?));
    }
    let extensions = match json::get(o, DIRECTORY_EXTENSION_SCHEMA) {
        None | Some(Value::Null) => None,
        // Keys that are not extension names (officeLocation, usageLocation, and a `schemas`
        // some clients put in every extension object) are not extension attributes.
        Some(Value::Object(m)) => Some(
            m.iter()
                .filter(|(k, _)| ExtensionName::looks_like(k))
                .map(|(k, v)| Ok((ExtensionName::parse(k)?, extension_value(k, v)?)))
                .collect::<ScimResult<Vec<_>>>()?,
        ),
        Some(_) => return Err(ScimError::invalid_value(format!("{DIRECTORY_EXTENSION_SCHEMA} must be an object"))),
    };
    Ok(Desired { upn, bare: !user_name.contains('@'), set, manager, extensions })
}

/// An extension attribute's value: a string, a list of strings, or null (cleared).
fn extension_value(name: &str, v: &Value) -> ScimResult<AttrValue> {
    let bad = || ScimError::invalid_value(format!("{name} must be a string or a list of strings"));
    match v {
        Value::Null => Ok(AttrValue::Null),
        Value::Array(items) => Ok(AttrValue::Strings(items.iter().map(|i| i.as_str().map(str::to_owned).ok_or_else(bad)).collect::<ScimResult<_>>()?)),
        other => json::text(other).map(AttrValue::String).ok_or_else(bad),
    }
}

fn manager_ref(s: &str) -> ScimResult<UserRef> {
    s.parse::<ObjectId>().map(UserRef::Id).map_err(|_| ScimError::invalid_value(format!("manager.value '{s}' is not a user id of this tenant")))
}

/// Applies what a document asks for to fresh attributes (for a create).
pub fn new_attrs(d: &Desired) -> ScimResult<UserAttributes> {
    let mut attrs = UserAttributes::new(d.upn.clone());
    for (a, v) in &d.set {
        attrs.set(&UserAttrName::Builtin(*a), v.clone())?;
    }
    for (e, v) in d.extensions.iter().flatten() {
        attrs.set(&UserAttrName::Extension(e.clone()), v.clone())?;
    }
    Ok(attrs)
}

/// The patch that turns `current` into what the document asks for (only real changes).
pub fn diff(current: &User, d: &Desired) -> ScimResult<UserPatch> {
    let mut next = current.attrs.clone();
    let mut patch = UserPatch::default();
    let upn = UserAttrName::Builtin(U::UserPrincipalName);
    if current.attrs.user_principal_name.as_str() != d.upn.as_str() {
        patch.set.push((upn, AttrValue::String(d.upn.to_string())));
    }
    for (a, v) in &d.set {
        let name = UserAttrName::Builtin(*a);
        next.set(&name, v.clone())?;
        if next.get(&name) != current.attrs.get(&name) {
            patch.set.push((name.clone(), v.clone()));
        }
    }
    if let Some(wanted) = &d.extensions {
        // Absent names are cleared, then the wanted values set.
        let mut sets: Vec<(UserAttrName, AttrValue)> = current
            .attrs
            .extensions
            .keys()
            .filter(|k| !wanted.iter().any(|(w, _)| w == *k))
            .map(|k| (UserAttrName::Extension(k.clone()), AttrValue::Null))
            .collect();
        sets.extend(wanted.iter().map(|(k, v)| (UserAttrName::Extension(k.clone()), v.clone())));
        for (name, v) in sets {
            next.set(&name, v.clone())?;
            if next.get(&name) != current.attrs.get(&name) {
                patch.set.push((name, v));
            }
        }
    }
    let want = d.manager.as_ref().map(|r| match r {
        UserRef::Id(id) => *id,
        UserRef::Upn(_) => ObjectId::from_bytes([0; 16]),
    });
    if want != current.attrs.manager {
        patch.manager = Some(d.manager.clone());
    }
    Ok(patch)
}

/// Attribute paths of users.
#[derive(Debug, Clone, Copy)]
pub struct UserPaths;

fn f(a: U) -> Slot {
    Slot::Field(Field::User(a), true)
}

impl Resolver for UserPaths {
    fn resolve(&self, uri: Option<&str>, name: &str, sub: Option<&str>) -> ScimResult<Target> {
        let unknown = || {
            ScimError::invalid_filter(format!(
                "unknown attribute '{}{name}{}'",
                uri.map(|u| format!("{u}:")).unwrap_or_default(),
                sub.map(|s| format!(".{s}")).unwrap_or_default()
            ))
        };
        let n = name.to_ascii_lowercase();
        let s = sub.map(str::to_ascii_lowercase);
        let slot = |sl| Ok(Target::Slot(sl));
        let enterprise = match uri {
            // Extension attributes, URN-qualified or bare (their names are unambiguous).
            Some(u) if u.eq_ignore_ascii_case(DIRECTORY_EXTENSION_SCHEMA) && sub.is_none() => {
                return match n.as_str() {
                    "officelocation" => slot(f(U::OfficeLocation)),
                    "usagelocation" => slot(f(U::UsageLocation)),
                    _ => ExtensionName::parse(name).map(Target::Extension).map_err(|_| unknown()),
                };
            }
            None if ExtensionName::looks_like(name) && sub.is_none() => {
                return ExtensionName::parse(name).map(Target::Extension).map_err(|_| unknown());
            }
            None => None,
            Some(u) if u.eq_ignore_ascii_case(USER_SCHEMA) => Some(false),
            Some(u) if u.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) => Some(true),
            Some(_) => return Err(unknown()),
        };
        if enterprise != Some(true) {
            match (n.as_str(), s.as_deref()) {
                ("id", None) => return slot(Slot::Field(Field::Id, false)),
                ("externalid", None) => return slot(Slot::Field(Field::User(U::ExternalId), false)),
                ("username", None) => return slot(f(U::UserPrincipalName)),
                ("displayname", None) => return slot(f(U::DisplayName)),
                ("nickname", None) => return slot(f(U::MailNickname)),
                ("title", None) => return slot(f(U::JobTitle)),
                ("usertype", None) => return slot(f(U::UserType)),
                ("preferredlanguage", None) => return slot(f(U::PreferredLanguage)),
                ("active", None) => return slot(f(U::AccountEnabled)),
                ("name", None) => return slot(Slot::Text("")),
                ("name", Some("givenname")) => return slot(f(U::GivenName)),
                ("name", Some("familyname")) => return slot(f(U::Surname)),
                ("groups", _) => return Ok(Target::Links { field: Field::MemberOf, ty: "direct", name: "groups" }),
                ("meta", None) => return slot(Slot::Text("")),
                ("meta", Some("created")) => return slot(Slot::Field(Field::Created, false)),
                ("meta", Some("lastmodified")) => return slot(Slot::Field(Field::LastModified, false)),
                ("meta", Some("resourcetype")) => return slot(Slot::Text("User")),
                ("emails", _) => {
                    return Ok(Target::Multi(vec![Element {
                        exists: vec![Field::User(U::Mail)],
                        subs: vec![("value", f(U::Mail)), ("type", Slot::Text("work")), ("primary", Slot::Bool(true))],
                    }]));
                }
                ("phonenumbers", _) => {
                    return Ok(Target::Multi(vec![
                        Element {
                            exists: vec![Field::User(U::TelephoneNumber)],
                            subs: vec![("value", f(U::TelephoneNumber)), ("type", Slot::Text("work")), ("primary", Slot::Bool(true))],
                        },
                        Element {
                            exists: vec![Field::User(U::MobilePhone)],
                            subs: vec![("value", f(U::MobilePhone)), ("type", Slot::Text("mobile")), ("primary", Slot::Bool(false))],
                        },
                    ]));
                }
                ("addresses", _) => {
                    let fields = [U::StreetAddress, U::City, U::State, U::PostalCode, U::Country];
                    return Ok(Target::Multi(vec![Element {
                        exists: fields.iter().map(|a| Field::User(*a)).collect(),
                        subs: vec![
                            ("streetAddress", f(U::StreetAddress)),
                            ("locality", f(U::City)),
                            ("region", f(U::State)),
                            ("postalCode", f(U::PostalCode)),
                            ("country", f(U::Country)),
                            ("type", Slot::Text("work")),
                            ("primary", Slot::Bool(true)),
                        ],
                    }]));
                }
                _ if enterprise == Some(false) => return Err(unknown()),
                _ => {}
            }
        }
        match (n.as_str(), s.as_deref()) {
            ("employeenumber", None) => slot(f(U::EmployeeId)),
            ("organization", None) => slot(f(U::CompanyName)),
            ("department", None) => slot(f(U::Department)),
            ("manager", None | Some("value")) => slot(Slot::Field(Field::User(U::Manager), false)),
            _ => Err(unknown()),
        }
    }
}
