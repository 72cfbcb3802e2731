//! An LDAP v3 directory as a source: the export's mapping read the other way.
//!
//! - Entries of the user classes under the users base (and the disabled base, where
//!   they are disabled: `accountEnabled` false), of the group classes under the groups
//!   base; the external id is the `entryUUID` (the `idAttribute`), which a rename keeps.
//! - Attributes by the inverse of the mapping: `uid` ← the UPN's local part reads as
//!   `uid@<UPN domain>`, `cn` and `sn` fill displayName and surname when `displayName`
//!   and the surname's own attribute say nothing; groups' `member` and users' `manager`
//!   DNs name users by their `entryUUID`.
//! - The watermark is the newest `modifyTimestamp` read, per kind; the next read asks
//!   for `modifyTimestamp>=` it, so an entry changed in the same second as the last one
//!   read is not missed (the one read again changes nothing). Deletions leave no
//!   timestamp: the periodic reconciliation finds them.
use super::{Batch, Incoming, Is, Members, Read, Source};
use crate::ConnectorError;
use crate::ldap::modify::dn_key;
use crate::ldap::{LdapSettings, LdapTarget, UserField, attr};
use async_trait::async_trait;
use ldap3::{Scope, SearchEntry};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use tenantsync_domain::{ObjectKind, UserType};

const MODIFY_TIMESTAMP: &str = "modifyTimestamp";

#[derive(Debug)]
pub struct LdapSource {
    target: LdapTarget,
    /// The domain of the UPNs made from a local part (`uid`): the tenant's.
    upn_domain: String,
}

/// What a user attribute of the tenant is read from: an attribute given (`exact`), or a
/// fallback the export fills for a required attribute (read only when the exact one
/// says nothing).
fn reads(f: UserField) -> Option<(&'static str, bool)> {
    Some(match f {
        UserField::UserPrincipalName => ("userPrincipalName", true),
        UserField::UpnLocalPart => ("userPrincipalName", false),
        UserField::MailNickname => ("mailNickname", true),
        UserField::DisplayNameOrUpn => ("displayName", false),
        UserField::DisplayName => ("displayName", true),
        UserField::GivenName => ("givenName", true),
        UserField::SurnameOrName => ("surname", false),
        UserField::Surname => ("surname", true),
        UserField::Mail => ("mail", true),
        UserField::JobTitle => ("jobTitle", true),
        UserField::Department => ("department", true),
        UserField::CompanyName => ("companyName", true),
        UserField::EmployeeId => ("employeeId", true),
        UserField::OfficeLocation => ("officeLocation", true),
        UserField::StreetAddress => ("streetAddress", true),
        UserField::City => ("city", true),
        UserField::State => ("state", true),
        UserField::PostalCode => ("postalCode", true),
        UserField::Country => ("country", true),
        UserField::PreferredLanguage => ("preferredLanguage", true),
        UserField::TelephoneNumber => ("telephoneNumber", true),
        UserField::MobilePhone => ("mobilePhone", true),
        UserField::UserType => ("userType", true),
        UserField::ObjectId => return None,
    })
}

/// A user's attributes from an entry, by the inverse of the mapping.
pub fn user_attributes(s: &LdapSettings, e: &SearchEntry, upn_domain: &str, enabled: bool) -> Map<String, Value> {
    let mut out = Map::new();
    let first = |a: &str| attr(e, a).first().map(|v| (*v).trim().to_owned()).filter(|v| !v.is_empty());
    // Fallbacks first, then what is read exactly (an absent one is a null unless a
    // fallback gave it a value).
    for exact in [false, true] {
        for (ldap_attr, field) in &s.attributes {
            let Some((name, is_exact)) = reads(*field) else { continue };
            if is_exact != exact {
                continue;
            }
            let v = first(ldap_attr).map(|v| if *field == UserField::UpnLocalPart { format!("{v}@{upn_domain}") } else { v });
            let v = match (*field, v) {
                // employeeType is free text; only Member and Guest are user types.
                (UserField::UserType, Some(t)) => UserType::parse(&t).map(|t| t.as_str().to_owned()),
                (_, v) => v,
            };
            match v {
                Some(v) => {
                    out.insert(name.to_owned(), Value::String(v));
                }
                None if exact && *field != UserField::UserType && name != "userPrincipalName" => {
                    out.entry(name.to_owned()).or_insert(Value::Null);
                }
                None => {}
            }
        }
    }
    out.insert("accountEnabled".into(), json!(enabled));
    out
}

/// `(objectClass=C)` of a kind's first class (its structural class by convention).
fn class_filter(classes: &[String]) -> String {
    format!("(objectClass={})", classes.first().map_or("*", String::as_str))
}

impl LdapSource {
    pub fn new(target: LdapTarget, upn_domain: &str) -> LdapSource {
        LdapSource { target, upn_domain: upn_domain.to_owned() }
    }

    fn s(&self) -> &LdapSettings {
        self.target.settings()
    }

    fn filter(&self, kind: ObjectKind, since: Option<&str>) -> String {
        let class = match kind {
            ObjectKind::User => class_filter(&self.s().user_classes),
            ObjectKind::Group => class_filter(&self.s().group_classes),
        };
        match since {
            Some(t) => format!("(&{class}({MODIFY_TIMESTAMP}>={}))", ldap3::ldap_escape(t)),
            None => class,
        }
    }

    fn id_of(&self, e: &SearchEntry) -> Option<String> {
        attr(e, &self.s().id_attribute).first().map(|v| (*v).to_owned())
    }

    /// Users' ids by DN: every user under the bases (one search, ids only).
    async fn user_ids(&self) -> Result<HashMap<String, String>, ConnectorError> {
        let mut out = HashMap::new();
        let filter = self.filter(ObjectKind::User, None);
        for base in self.user_bases() {
            for e in self.target.conn().search(base, Scope::Subtree, &filter, &[&self.s().id_attribute]).await? {
                if let Some(id) = self.id_of(&e) {
                    out.insert(dn_key(&e.dn), id);
                }
            }
        }
        Ok(out)
    }

    fn user_bases(&self) -> Vec<&str> {
        std::iter::once(self.s().users_base.as_str()).chain(self.s().disabled_base.as_deref()).collect()
    }

    async fn users(&self, since: Option<&str>) -> Result<(Vec<Incoming>, Option<String>), ConnectorError> {
        let s = self.s();
        let mut attrs: Vec<&str> = s.attributes.keys().map(String::as_str).collect();
        attrs.extend([s.id_attribute.as_str(), MODIFY_TIMESTAMP, "manager"]);
        let filter = self.filter(ObjectKind::User, since);
        let mut entries = Vec::new();
        for base in self.user_bases() {
            let enabled = Some(base) != s.disabled_base.as_deref();
            for e in self.target.conn().search(base, Scope::Subtree, &filter, &attrs).await? {
                entries.push((e, enabled));
            }
        }
        let mut ids: HashMap<String, String> = entries.iter().filter_map(|(e, _)| Some((dn_key(&e.dn), self.id_of(e)?))).collect();
        let mut newest: Option<String> = None;
        let mut items = Vec::with_capacity(entries.len());
        for (e, enabled) in &entries {
            let Some(external_id) = self.id_of(e) else { continue };
            if let Some(t) = attr(e, MODIFY_TIMESTAMP).first()
                && newest.as_deref().is_none_or(|n| *t > n)
            {
                newest = Some((*t).to_owned());
            }
            let manager = match attr(e, "manager").first() {
                None => None,
                Some(dn) => self.id_at(dn, &mut ids).await?,
            };
            let attributes = user_attributes(s, e, &self.upn_domain, *enabled);
            items.push(Incoming { kind: ObjectKind::User, external_id, is: Is::Live { attributes, manager: Some(manager), members: None } });
        }
        Ok((items, newest))
    }

    /// The id of the entry at `dn` (known, or read).
    async fn id_at(&self, dn: &str, known: &mut HashMap<String, String>) -> Result<Option<String>, ConnectorError> {
        let key = dn_key(dn);
        if let Some(id) = known.get(&key) {
            return Ok(Some(id.clone()));
        }
        let found = self.target.conn().read(dn, &[&self.s().id_attribute]).await?.and_then(|e| self.id_of(&e));
        if let Some(id) = &found {
            known.insert(key, id.clone());
        }
        Ok(found)
    }

    async fn groups(&self, since: Option<&str>) -> Result<(Vec<Incoming>, Option<String>), ConnectorError> {
        let s = self.s();
        let attrs = [s.group_rdn.as_str(), "cn", "description", "member", s.id_attribute.as_str(), MODIFY_TIMESTAMP];
        let entries = self.target.conn().search(&s.groups_base, Scope::Subtree, &self.filter(ObjectKind::Group, since), &attrs).await?;
        let users = if entries.iter().any(|e| !attr(e, "member").is_empty()) { self.user_ids().await? } else { HashMap::new() };
        let mut newest: Option<String> = None;
        let mut items = Vec::with_capacity(entries.len());
        for e in &entries {
            let Some(external_id) = self.id_of(e) else { continue };
            if let Some(t) = attr(e, MODIFY_TIMESTAMP).first()
                && newest.as_deref().is_none_or(|n| *t > n)
            {
                newest = Some((*t).to_owned());
            }
            let name = attr(e, &s.group_rdn).first().copied().or_else(|| attr(e, "cn").first().copied()).unwrap_or_default().to_owned();
            let mut attributes = Map::new();
            attributes.insert("displayName".into(), json!(name));
            attributes.insert("description".into(), attr(e, "description").first().map_or(Value::Null, |d| json!(d)));
            // Members that are not users under the bases (the empty-group placeholder,
            // other groups, entries elsewhere) are not members here.
            let ids = attr(e, "member").into_iter().filter_map(|dn| users.get(&dn_key(dn)).cloned()).collect();
            items.push(Incoming { kind: ObjectKind::Group, external_id, is: Is::Live { attributes, manager: None, members: Some(Members::Full { ids }) } });
        }
        Ok((items, newest))
    }
}

#[async_trait]
impl Source for LdapSource {
    async fn read(&self, kind: ObjectKind, from: Option<&Value>, full: bool) -> Result<Read, ConnectorError> {
        let since = if full { None } else { from.and_then(|v| v.get("since")).and_then(Value::as_str) };
        let (items, newest) = match kind {
            ObjectKind::User => self.users(since).await?,
            ObjectKind::Group => self.groups(since).await?,
        };
        let since = newest.or_else(|| since.map(str::to_owned));
        Ok(Read::Batch(Batch { items, at: json!({ "since": since }), more: false }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn an_entry_reads_back_as_the_user_it_was_made_from() {
        let s = LdapSettings::new("ldap://x", "cn=a,dc=x", "ou=people,dc=x", "ou=groups,dc=x");
        let mut attrs = HashMap::new();
        for (k, v) in [("uid", "alice"), ("cn", "Alice A"), ("sn", "A"), ("mail", "alice@x.example"), ("employeeType", "Contractor")] {
            attrs.insert(k.to_owned(), vec![v.to_owned()]);
        }
        let e = SearchEntry { dn: "uid=alice,ou=people,dc=x".into(), attrs, bin_attrs: HashMap::new() };
        let a = user_attributes(&s, &e, "hr.example", true);
        assert_eq!(a["userPrincipalName"], "alice@hr.example");
        assert_eq!(a["displayName"], "Alice A", "cn fills displayName when displayName is absent");
        assert_eq!(a["surname"], "A");
        assert_eq!(a["jobTitle"], Value::Null, "an absent attribute is no value");
        assert_eq!(a["accountEnabled"], true);
        assert!(!a.contains_key("userType"), "free-text employeeType is no user type");
    }
}
