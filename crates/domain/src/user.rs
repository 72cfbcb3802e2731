//! Users.
use crate::attributes::{AttrValue, AttributeChange, UserAttrName, UserAttribute};
use crate::{Anchor, DomainError, ExtensionName, Mail, ObjectId, TenantId, Upn, Version};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Member or Guest, as Entra's `userType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum UserType {
    #[default]
    Member,
    Guest,
}

impl UserType {
    pub fn as_str(self) -> &'static str {
        match self {
            UserType::Member => "Member",
            UserType::Guest => "Guest",
        }
    }

    pub fn parse(s: &str) -> Option<UserType> {
        if s.eq_ignore_ascii_case("member") {
            Some(UserType::Member)
        } else if s.eq_ignore_ascii_case("guest") {
            Some(UserType::Guest)
        } else {
            None
        }
    }
}

impl fmt::Display for UserType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an object is homed in its tenant or was provisioned from another one.
/// Derived from the anchor: an object has an anchor exactly when it is external.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Internal,
    External,
}

impl Origin {
    pub fn of(anchor: Option<&Anchor>) -> Origin {
        if anchor.is_some() { Origin::External } else { Origin::Internal }
    }
}

/// How a manager is named on input: by object id or by userPrincipalName.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Id(ObjectId),
    Upn(Upn),
}

impl UserRef {
    /// Reads an object id if the text is a UUID, otherwise a userPrincipalName.
    pub fn parse(s: &str) -> Result<UserRef, DomainError> {
        if let Ok(id) = s.parse::<ObjectId>() {
            return Ok(UserRef::Id(id));
        }
        Upn::parse(s).map(UserRef::Upn).map_err(|_| DomainError::InvalidAttributeValue {
            name: "manager".into(),
            reason: format!("'{s}' is neither an object id nor a userPrincipalName"),
        })
    }
}

impl fmt::Display for UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserRef::Id(id) => id.fmt(f),
            UserRef::Upn(u) => u.fmt(f),
        }
    }
}

/// The profile of a user: everything an admin, an import or a mapping may write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserAttributes {
    pub user_principal_name: Upn,
    pub mail: Option<Mail>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail_nickname: Option<String>,
    pub account_enabled: bool,
    pub user_type: UserType,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub company_name: Option<String>,
    pub employee_id: Option<String>,
    pub office_location: Option<String>,
    pub street_address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub usage_location: Option<String>,
    pub preferred_language: Option<String>,
    pub telephone_number: Option<String>,
    pub mobile_phone: Option<String>,
    /// Whether the user appears in the global address list (Graph's
    /// `showInAddressList`; unset means the directory's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub show_in_address_list: Option<bool>,
    /// The manager's object id (a user of the same tenant).
    pub manager: Option<ObjectId>,
    /// An identifier the provisioning client assigned (SCIM `externalId`); case-exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(flatten)]
    pub extensions: BTreeMap<ExtensionName, AttrValue>,
}

/// Longest value accepted for each free-text attribute (Microsoft Graph's limits).
fn max_len(a: UserAttribute) -> usize {
    use UserAttribute::*;
    match a {
        DisplayName => 256,
        GivenName | Surname | MailNickname | Department | CompanyName | TelephoneNumber | MobilePhone => 64,
        JobTitle | OfficeLocation | City | State | Country => 128,
        EmployeeId => 16,
        StreetAddress => 1024,
        PostalCode => 40,
        UsageLocation => 2,
        PreferredLanguage => 35,
        _ => 256,
    }
}

/// Longest value of an extension attribute, and most values of a multi-valued one.
pub const EXTENSION_MAX_LEN: usize = 256;
pub const EXTENSION_MAX_VALUES: usize = 100;

fn invalid(name: &str, reason: impl Into<String>) -> DomainError {
    DomainError::InvalidAttributeValue { name: name.to_owned(), reason: reason.into() }
}

fn parse_bool(name: &str, v: &AttrValue) -> Result<bool, DomainError> {
    match v {
        AttrValue::Bool(b) => Ok(*b),
        AttrValue::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(invalid(name, format!("must be true or false, not '{s}'"))),
        },
        AttrValue::Null => Err(invalid(name, "must be true or false, not null")),
        AttrValue::Strings(_) => Err(invalid(name, "must be true or false, not a list")),
    }
}

/// A free-text value: null and "" clear it; no control characters; at most `max` characters.
fn text(a: UserAttribute, v: AttrValue) -> Result<Option<String>, DomainError> {
    let s = match v {
        AttrValue::Null => return Ok(None),
        AttrValue::String(s) => s,
        AttrValue::Bool(_) | AttrValue::Strings(_) => return Err(invalid(a.name(), "must be a single string")),
    };
    check_text(a.name(), s, max_len(a))
}

/// An optional text attribute as a value: a copy, not formatted (this is per attribute per
/// user when a cycle reads its source).
fn text_value(v: &Option<String>) -> AttrValue {
    v.as_ref().map_or(AttrValue::Null, |s| AttrValue::String(s.clone()))
}

pub(crate) fn check_text(name: &str, s: String, max: usize) -> Result<Option<String>, DomainError> {
    if s.is_empty() {
        return Ok(None);
    }
    // Per attribute per user on the sync's hot path: ASCII text (the usual) is checked
    // bytewise; the controls of ASCII are C0 and DEL.
    let control = if s.is_ascii() { s.bytes().any(|b| b < 0x20 || b == 0x7f) } else { s.chars().any(char::is_control) };
    if control {
        return Err(invalid(name, "must not contain control characters"));
    }
    // A text no longer in bytes than `max` is no longer in characters.
    if s.len() > max && s.chars().count() > max {
        return Err(invalid(name, format!("is longer than {max} characters")));
    }
    Ok(Some(s))
}

impl UserAttributes {
    /// A user with only a userPrincipalName: enabled, Member, everything else empty.
    pub fn new(upn: Upn) -> Self {
        Self {
            user_principal_name: upn,
            mail: None,
            display_name: None,
            given_name: None,
            surname: None,
            mail_nickname: None,
            account_enabled: true,
            user_type: UserType::Member,
            department: None,
            job_title: None,
            company_name: None,
            employee_id: None,
            office_location: None,
            street_address: None,
            city: None,
            state: None,
            postal_code: None,
            country: None,
            usage_location: None,
            preferred_language: None,
            telephone_number: None,
            mobile_phone: None,
            show_in_address_list: None,
            manager: None,
            external_id: None,
            extensions: BTreeMap::new(),
        }
    }

    fn text_slot(&mut self, a: UserAttribute) -> Option<&mut Option<String>> {
        use UserAttribute::*;
        Some(match a {
            DisplayName => &mut self.display_name,
            GivenName => &mut self.given_name,
            Surname => &mut self.surname,
            MailNickname => &mut self.mail_nickname,
            Department => &mut self.department,
            JobTitle => &mut self.job_title,
            CompanyName => &mut self.company_name,
            EmployeeId => &mut self.employee_id,
            OfficeLocation => &mut self.office_location,
            StreetAddress => &mut self.street_address,
            City => &mut self.city,
            State => &mut self.state,
            PostalCode => &mut self.postal_code,
            Country => &mut self.country,
            UsageLocation => &mut self.usage_location,
            PreferredLanguage => &mut self.preferred_language,
            TelephoneNumber => &mut self.telephone_number,
            MobilePhone => &mut self.mobile_phone,
            ExternalId => &mut self.external_id,
            UserPrincipalName | Mail | AccountEnabled | UserType | Manager | ShowInAddressList => return None,
        })
    }

    /// The current value of an attribute.
    pub fn get(&self, name: &UserAttrName) -> AttrValue {
        use UserAttribute::*;
        let a = match name {
            UserAttrName::Extension(e) => return self.extensions.get(e).cloned().unwrap_or_default(),
            UserAttrName::Builtin(a) => *a,
        };
        match a {
            UserPrincipalName => AttrValue::String(self.user_principal_name.as_str().to_owned()),
            Mail => self.mail.as_ref().map_or(AttrValue::Null, |m| AttrValue::String(m.as_str().to_owned())),
            AccountEnabled => AttrValue::Bool(self.account_enabled),
            ShowInAddressList => self.show_in_address_list.map_or(AttrValue::Null, AttrValue::Bool),
            UserType => AttrValue::String(self.user_type.to_string()),
            Manager => AttrValue::from_opt(self.manager),
            DisplayName => text_value(&self.display_name),
            GivenName => text_value(&self.given_name),
            Surname => text_value(&self.surname),
            MailNickname => text_value(&self.mail_nickname),
            Department => text_value(&self.department),
            JobTitle => text_value(&self.job_title),
            CompanyName => text_value(&self.company_name),
            EmployeeId => text_value(&self.employee_id),
            OfficeLocation => text_value(&self.office_location),
            StreetAddress => text_value(&self.street_address),
            City => text_value(&self.city),
            State => text_value(&self.state),
            PostalCode => text_value(&self.postal_code),
            Country => text_value(&self.country),
            UsageLocation => text_value(&self.usage_location),
            PreferredLanguage => text_value(&self.preferred_language),
            TelephoneNumber => text_value(&self.telephone_number),
            MobilePhone => text_value(&self.mobile_phone),
            ExternalId => text_value(&self.external_id),
        }
    }

    /// The value of an attribute taken out of the user, which is left without it: a
    /// text attribute (mail among them) gives its string up, with no copy made; any
    /// other attribute is read as [`UserAttributes::get`] reads it and stays. For a
    /// source user that is read once and dropped: the sync moves each value a direct
    /// mapping copies into the copy instead of copying it.
    pub fn take(&mut self, name: &UserAttrName) -> AttrValue {
        if let UserAttrName::Builtin(a) = name {
            if *a == UserAttribute::Mail {
                return self.mail.take().map_or(AttrValue::Null, |m| AttrValue::String(m.into_string()));
            }
            if let Some(slot) = self.text_slot(*a) {
                return slot.take().map_or(AttrValue::Null, AttrValue::String);
            }
        }
        self.get(name)
    }

    /// Sets an attribute, validating the value. `manager` is not set here: it names
    /// another user and is resolved by the store (see [`UserRef`]).
    pub fn set(&mut self, name: &UserAttrName, value: AttrValue) -> Result<(), DomainError> {
        use UserAttribute::*;
        let a = match name {
            UserAttrName::Extension(e) => return self.set_extension(e, value),
            UserAttrName::Builtin(a) => *a,
        };
        match a {
            UserPrincipalName => match value {
                AttrValue::String(s) => self.user_principal_name = Upn::from_string(s)?,
                _ => return Err(DomainError::MissingAttribute { name: "userPrincipalName".into() }),
            },
            Mail => {
                self.mail = match value {
                    AttrValue::Null => None,
                    AttrValue::String(s) if s.is_empty() => None,
                    AttrValue::String(s) => Some(crate::Mail::from_string(s)?),
                    _ => return Err(invalid("mail", "must be a single string")),
                }
            }
            AccountEnabled => self.account_enabled = parse_bool("accountEnabled", &value)?,
            ShowInAddressList => {
                self.show_in_address_list = match &value {
                    AttrValue::Null => None,
                    AttrValue::String(s) if s.is_empty() => None,
                    v => Some(parse_bool("showInAddressList", v)?),
                }
            }
            UserType => {
                self.user_type = match &value {
                    AttrValue::String(s) => crate::UserType::parse(s).ok_or_else(|| invalid("userType", format!("must be Member or Guest, not '{s}'")))?,
                    _ => return Err(invalid("userType", "must be Member or Guest")),
                }
            }
            Manager => return Err(invalid("manager", "is set through a manager reference")),
            UsageLocation => {
                let v = text(a, value)?;
                if let Some(v) = &v
                    && !(v.len() == 2 && v.bytes().all(|b| b.is_ascii_uppercase()))
                {
                    return Err(invalid("usageLocation", "must be a two-letter ISO country code such as US"));
                }
                self.usage_location = v;
            }
            PreferredLanguage => {
                let v = text(a, value)?;
                if let Some(v) = &v
                    && !is_language_tag(v)
                {
                    return Err(invalid("preferredLanguage", format!("'{v}' is not a language tag such as en-US")));
                }
                self.preferred_language = v;
            }
            MailNickname => {
                let v = text(a, value)?;
                if let Some(v) = &v
                    && (v.chars().any(|c| c.is_whitespace() || "@()\\[]\";:<>,".contains(c)) || !v.is_ascii())
                {
                    return Err(invalid("mailNickname", "must be ASCII without spaces or @ ( ) \\ [ ] \" ; : < > ,"));
                }
                self.mail_nickname = v;
            }
            other => {
                let v = text(other, value)?;
                if let Some(slot) = self.text_slot(other) {
                    *slot = v;
                }
            }
        }
        Ok(())
    }

    /// Sets an attribute to a value read from **the same attribute of a valid user** (a
    /// direct mapping's on the sync's hot path): that value passed every check of this
    /// attribute when its user was written, so a text attribute or the mail is taken as
    /// it is; any other attribute goes through [`UserAttributes::set`].
    pub fn put_valid(&mut self, name: &UserAttrName, value: AttrValue) -> Result<(), DomainError> {
        let UserAttrName::Builtin(a) = name else { return self.set(name, value) };
        match (*a, value) {
            (UserAttribute::Mail, AttrValue::String(s)) if !s.is_empty() => {
                self.mail = Some(crate::Mail::from_store(s));
                Ok(())
            }
            (a, AttrValue::String(s)) => match self.text_slot(a) {
                Some(slot) => {
                    *slot = (!s.is_empty()).then_some(s);
                    Ok(())
                }
                None => self.set(name, AttrValue::String(s)),
            },
            (_, value) => self.set(name, value),
        }
    }

    fn set_extension(&mut self, e: &ExtensionName, value: AttrValue) -> Result<(), DomainError> {
        let name = e.as_str();
        let value = match value {
            AttrValue::Null => {
                self.extensions.remove(e);
                return Ok(());
            }
            AttrValue::String(s) => match check_text(name, s, EXTENSION_MAX_LEN)? {
                Some(s) => AttrValue::String(s),
                None => {
                    self.extensions.remove(e);
                    return Ok(());
                }
            },
            AttrValue::Strings(v) => {
                if v.len() > EXTENSION_MAX_VALUES {
                    return Err(invalid(name, format!("has more than {EXTENSION_MAX_VALUES} values")));
                }
                let mut out = Vec::with_capacity(v.len());
                for s in v {
                    if let Some(s) = check_text(name, s, EXTENSION_MAX_LEN)? {
                        out.push(s);
                    }
                }
                if out.is_empty() {
                    self.extensions.remove(e);
                    return Ok(());
                }
                AttrValue::Strings(out)
            }
            AttrValue::Bool(_) => return Err(invalid(name, "must be a string or a list of strings")),
        };
        self.extensions.insert(e.clone(), value);
        Ok(())
    }

    /// Applies a patch (manager already resolved to an id by the caller) and returns
    /// only the attributes whose value really changed, old → new.
    pub fn apply(&mut self, patch: &UserPatch, manager: Option<Option<ObjectId>>) -> Result<Vec<AttributeChange>, DomainError> {
        let mut next = self.clone();
        for (name, value) in &patch.set {
            next.set(name, value.clone())?;
        }
        if let Some(m) = manager {
            next.manager = m;
        }
        let mut changes = Vec::new();
        let mut names: Vec<UserAttrName> = patch.set.iter().map(|(n, _)| n.clone()).collect();
        if manager.is_some() {
            names.push(UserAttrName::Builtin(UserAttribute::Manager));
        }
        names.sort();
        names.dedup();
        for name in names {
            let (old, new) = (self.get(&name), next.get(&name));
            if old != new {
                changes.push(AttributeChange { name: name.to_string(), old, new });
            }
        }
        *self = next;
        Ok(changes)
    }
}

fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let first_ok = parts.next().is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A user about to be created. The id is chosen here (time-ordered), so bulk paths
/// never wait for the store to hand ids out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub id: ObjectId,
    pub attrs: UserAttributes,
    pub manager: Option<UserRef>,
    /// Set exactly when the user is provisioned from another tenant.
    pub anchor: Option<Anchor>,
}

impl NewUser {
    pub fn new(upn: Upn) -> Self {
        Self { id: ObjectId::new(), attrs: UserAttributes::new(upn), manager: None, anchor: None }
    }

    /// Builds a user from (name, value) pairs as an import or an API sends them.
    /// `userPrincipalName` is required; `manager` may be an object id or a UPN; `anchor`
    /// makes the user external.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, AttrValue)>) -> Result<Self, DomainError> {
        let mut upn = None;
        let mut rest = Vec::new();
        let mut manager = None;
        let mut anchor = None;
        for (name, value) in pairs {
            if name.eq_ignore_ascii_case("anchor") {
                anchor = match value {
                    AttrValue::String(s) => Some(s.parse::<Anchor>()?),
                    AttrValue::Null => None,
                    _ => return Err(invalid("anchor", "must be <source tenant id>:<source object id>")),
                };
                continue;
            }
            let parsed = UserAttrName::parse(name)?;
            match parsed {
                UserAttrName::Builtin(UserAttribute::UserPrincipalName) => match value {
                    AttrValue::String(s) => upn = Some(Upn::parse(&s)?),
                    _ => return Err(DomainError::MissingAttribute { name: "userPrincipalName".into() }),
                },
                UserAttrName::Builtin(UserAttribute::Manager) => manager = manager_ref(value)?,
                other => rest.push((other, value)),
            }
        }
        let upn = upn.ok_or_else(|| DomainError::MissingAttribute { name: "userPrincipalName".into() })?;
        let mut user = NewUser::new(upn);
        for (name, value) in rest {
            user.attrs.set(&name, value)?;
        }
        user.manager = manager;
        user.anchor = anchor;
        Ok(user)
    }
}

fn manager_ref(value: AttrValue) -> Result<Option<UserRef>, DomainError> {
    match value {
        AttrValue::Null => Ok(None),
        AttrValue::String(s) if s.is_empty() => Ok(None),
        AttrValue::String(s) => UserRef::parse(&s).map(Some),
        _ => Err(invalid("manager", "must be an object id or a userPrincipalName")),
    }
}

/// A change to a user: the attributes to set (null clears), and optionally the manager.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub set: Vec<(UserAttrName, AttrValue)>,
    /// `Some(None)` clears the manager; `Some(Some(r))` sets it.
    pub manager: Option<Option<UserRef>>,
}

impl UserPatch {
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, AttrValue)>) -> Result<Self, DomainError> {
        let mut patch = UserPatch::default();
        for (name, value) in pairs {
            match UserAttrName::parse(name)? {
                UserAttrName::Builtin(UserAttribute::Manager) => patch.manager = Some(manager_ref(value)?),
                other => {
                    // Validate the value now, so a bad patch is rejected before any I/O.
                    let mut probe = UserAttributes::new(Upn::parse("probe@probe.invalid")?);
                    probe.set(&other, value.clone())?;
                    patch.set.push((other, value));
                }
            }
        }
        Ok(patch)
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.manager.is_none()
    }
}

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: ObjectId,
    pub tenant_id: TenantId,
    #[serde(flatten)]
    pub attrs: UserAttributes,
    pub origin: Origin,
    pub anchor: Option<Anchor>,
    pub version: Version,
    pub created_date_time: Timestamp,
    pub last_modified_date_time: Timestamp,
    pub deleted_date_time: Option<Timestamp>,
}

impl User {
    /// The user a store writes for `new` at `now`: first version, its origin from its
    /// anchor, never modified, not deleted. `attrs` are `new`'s, with the manager a store
    /// resolved (stores that take the manager later pass `new.attrs` unchanged).
    pub fn created(tenant_id: TenantId, new_id: ObjectId, attrs: UserAttributes, anchor: Option<Anchor>, now: Timestamp) -> Self {
        Self {
            id: new_id,
            tenant_id,
            attrs,
            origin: Origin::of(anchor.as_ref()),
            anchor,
            version: Version::FIRST,
            created_date_time: now,
            last_modified_date_time: now,
            deleted_date_time: None,
        }
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted_date_time.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_refuses_controls_and_counts_characters_not_bytes() {
        let check = |s: &str| check_text("city", s.to_owned(), 3);
        assert_eq!(check("abc").unwrap(), Some("abc".to_owned()));
        assert_eq!(check("").unwrap(), None);
        // Three characters, six bytes: within the limit.
        assert_eq!(check("ééé").unwrap(), Some("ééé".to_owned()));
        for too_long in ["abcd", "éééé", "aééé"] {
            assert!(check(too_long).is_err(), "{too_long}");
        }
        for control in ["a\u{1}", "a\u{7f}", "\té", "é\u{85}"] {
            assert!(check(control).is_err(), "{control:?}");
        }
        assert!(check("é\u{a0}").is_ok(), "a no-break space is not a control");
    }

    fn upn(s: &str) -> Upn {
        Upn::parse(s).unwrap()
    }

    #[test]
    fn from_pairs_builds_and_validates() {
        let u = NewUser::from_pairs([
            ("userPrincipalName", AttrValue::String("alice@contoso.example".into())),
            ("displayName", AttrValue::String("Alice".into())),
            ("accountEnabled", AttrValue::String("false".into())),
            ("usageLocation", AttrValue::String("US".into())),
            ("extension_0123456789abcdef0123456789abcdef_skills", AttrValue::Strings(vec!["rust".into(), "sql".into()])),
        ])
        .unwrap();
        assert_eq!(u.attrs.display_name.as_deref(), Some("Alice"));
        assert!(!u.attrs.account_enabled);
        assert_eq!(u.attrs.extensions.len(), 1);
    }

    #[test]
    fn from_pairs_rejects_bad_input_with_codes() {
        let cases: Vec<(Vec<(&str, AttrValue)>, &str)> = vec![
            (vec![("displayName", AttrValue::String("x".into()))], "missing_attribute"),
            (vec![("userPrincipalName", AttrValue::String("bad".into()))], "invalid_upn"),
            (vec![("userPrincipalName", AttrValue::String("a@b.example".into())), ("mail", AttrValue::String("x".into()))], "invalid_mail"),
            (vec![("userPrincipalName", AttrValue::String("a@b.example".into())), ("colour", AttrValue::String("x".into()))], "unknown_attribute"),
            (
                vec![("userPrincipalName", AttrValue::String("a@b.example".into())), ("usageLocation", AttrValue::String("usa".into()))],
                "invalid_attribute_value",
            ),
            (vec![("userPrincipalName", AttrValue::String("a@b.example".into())), ("userType", AttrValue::String("Admin".into()))], "invalid_attribute_value"),
            (vec![("userPrincipalName", AttrValue::String("a@b.example".into())), ("id", AttrValue::String("x".into()))], "read_only_attribute"),
            (
                vec![("userPrincipalName", AttrValue::String("a@b.example".into())), ("displayName", AttrValue::String("x".repeat(257)))],
                "invalid_attribute_value",
            ),
        ];
        for (pairs, code) in cases {
            assert_eq!(NewUser::from_pairs(pairs).unwrap_err().code(), code);
        }
    }

    #[test]
    fn apply_reports_only_real_changes() {
        let mut a = UserAttributes::new(upn("alice@contoso.example"));
        a.department = Some("Sales".into());
        let patch = UserPatch::from_pairs([("department", AttrValue::String("Sales".into())), ("jobTitle", AttrValue::String("Lead".into()))]).unwrap();
        let changes = a.apply(&patch, None).unwrap();
        assert_eq!(changes, vec![AttributeChange { name: "jobTitle".into(), old: AttrValue::Null, new: AttrValue::String("Lead".into()) }]);
    }

    #[test]
    fn put_valid_sets_what_set_would_for_a_valid_user_s_values() {
        let mut source = UserAttributes::new(Upn::parse("ada@contoso.example").unwrap());
        for (name, value) in [("mail", "Ada@Contoso.example"), ("city", "Paris"), ("mailNickname", "ada"), ("usageLocation", "FR"), ("userType", "Guest")] {
            source.set(&UserAttrName::parse(name).unwrap(), AttrValue::String(value.into())).unwrap();
        }
        source.set(&UserAttrName::parse("accountEnabled").unwrap(), AttrValue::Bool(false)).unwrap();
        let (mut by_set, mut by_put) = (UserAttributes::new(source.user_principal_name.clone()), UserAttributes::new(source.user_principal_name.clone()));
        for a in UserAttribute::ALL.iter().filter(|a| !matches!(a, UserAttribute::Manager | UserAttribute::UserPrincipalName)) {
            let name = UserAttrName::Builtin(*a);
            by_set.set(&name, source.get(&name)).unwrap();
            by_put.put_valid(&name, source.get(&name)).unwrap();
        }
        assert_eq!(by_put, by_set);
        assert_eq!(by_put.mail.as_ref().map(Mail::as_str), Some("Ada@contoso.example"));
        // An empty text clears, as with set; a value of another shape is still refused.
        by_put.put_valid(&UserAttrName::parse("city").unwrap(), AttrValue::String(String::new())).unwrap();
        assert_eq!(by_put.city, None);
        assert!(by_put.put_valid(&UserAttrName::parse("userType").unwrap(), AttrValue::String("Boss".into())).is_err());
    }

    #[test]
    fn take_gives_text_up_and_reads_the_rest() {
        let mut a = UserAttributes::new(upn("adele@contoso.example"));
        a.city = Some("Lyon".into());
        a.mail = Some(crate::Mail::from_store("adele@contoso.example".into()));
        a.account_enabled = false;
        let name = |n: &str| UserAttrName::parse(n).unwrap();
        assert_eq!(a.take(&name("city")), AttrValue::String("Lyon".into()));
        assert_eq!(a.city, None, "taken");
        assert_eq!(a.take(&name("city")), AttrValue::Null);
        assert_eq!(a.take(&name("mail")), AttrValue::String("adele@contoso.example".into()));
        assert_eq!(a.mail, None);
        // Not text: read, and kept.
        assert_eq!(a.take(&name("accountEnabled")), AttrValue::Bool(false));
        assert_eq!(a.take(&name("userPrincipalName")), AttrValue::String("adele@contoso.example".into()));
        assert_eq!(a.user_principal_name.as_str(), "adele@contoso.example");
    }

    #[test]
    fn empty_string_clears() {
        let mut a = UserAttributes::new(upn("alice@contoso.example"));
        a.city = Some("Oslo".into());
        let changes = a.apply(&UserPatch::from_pairs([("city", AttrValue::String(String::new()))]).unwrap(), None).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(a.city, None);
    }

    #[test]
    fn user_serializes_with_graph_names() {
        let mut a = UserAttributes::new(upn("alice@contoso.example"));
        a.given_name = Some("Alice".into());
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["userPrincipalName"], "alice@contoso.example");
        assert_eq!(json["givenName"], "Alice");
        assert_eq!(json["accountEnabled"], true);
        assert_eq!(json["userType"], "Member");
    }
}
