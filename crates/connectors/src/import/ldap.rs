//! An LDAP v3 directory as a source: the export's mapping read the other way.
//!
//! - Entries of the user classes under the users base (and the disabled base, where
//!   they are disabled: `accountEnabled` false), of the group classes under the groups
//!   base; the external id is the `entryUUID` (the `idAttribute`), which a rename keeps.
//! - Attributes by the inverse of the mapping: `uid` ← the UPN's local part reads as
//!   `uid@<UPN domain>`, `cn` and `sn` fill displayName and surname when `displayName`
//!   and the surname's own attribute say nothing; groups' `member` and users' `manager`
//!   DNs name users by their `entryUUID`.
//! - The watermark is the newest stamp read, per kind, by the attribute the settings'
//!   [`LdapWatermark`] names (`auto`: `entryCSN` where the directory keeps it, as
//!   OpenLDAP does; `uSNChanged` on Active Directory; else `modifyTimestamp`), stored
//!   with the attribute's name. `entryCSN` is unique per change, so the next read asks
//!   for what is strictly newer and reads nothing twice; `uSNChanged` likewise (the next
//!   number up); `modifyTimestamp` is one second fine, so the next read asks for `>=` it
//!   and an entry changed in the same second as the last one read is read again (and
//!   changes nothing) rather than missed. A stored watermark of another attribute (the
//!   setting changed) is no watermark: that read reads everything. Deletions leave no
//!   stamp: the periodic reconciliation finds them.
use super::{Batch, Incoming, Is, Members, Read, Source};
use crate::ConnectorError;
use crate::ldap::modify::dn_key;
use crate::ldap::{LdapSettings, LdapTarget, LdapWatermark, UserField, attr};
use async_trait::async_trait;
use ldap3::{Scope, SearchEntry};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use tenantsync_domain::{ObjectKind, UserType};

#[derive(Debug)]
pub struct LdapSource {
    target: LdapTarget,
    /// The domain of the UPNs made from a local part (`uid`): the tenant's.
    upn_domain: String,
    /// The watermark attribute `auto` resolved to (once per run).
    resolved: Mutex<Option<LdapWatermark>>,
}

/// The filter of entries stamped after `since` by `by` (never `Auto`).
fn changed_since(by: LdapWatermark, since: &str) -> Option<String> {
    let v = ldap3::ldap_escape(since);
    match by {
        LdapWatermark::EntryCsn => Some(format!("(&(entryCSN>={v})(!(entryCSN={v})))")),
        LdapWatermark::UsnChanged => since.parse::<u64>().ok().map(|n| format!("(uSNChanged>={})", n.saturating_add(1))),
        LdapWatermark::ModifyTimestamp | LdapWatermark::Auto => Some(format!("(modifyTimestamp>={v})")),
    }
}

/// Whether stamp `a` is newer than `b`. CSNs and generalized times are fixed-width
/// text that sorts as it orders; USNs are numbers.
fn newer(by: LdapWatermark, a: &str, b: &str) -> bool {
    match by {
        LdapWatermark::UsnChanged => match (a.parse::<u64>(), b.parse::<u64>()) {
            (Ok(a), Ok(b)) => a > b,
            (a, _) => a.is_ok(),
        },
        _ => a > b,
    }
}

/// The newest stamp of `entries` by `by`, and `since`.
fn newest<'a>(by: LdapWatermark, since: Option<&'a str>, stamps: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut out: Option<&str> = since;
    for t in stamps {
        if out.is_none_or(|n| newer(by, t, n)) {
            out = Some(t);
        }
    }
    out.map(str::to_owned)
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
        LdapSource { target, upn_domain: upn_domain.to_owned(), resolved: Mutex::new(None) }
    }

    fn s(&self) -> &LdapSettings {
        self.target.settings()
    }

    /// The watermark attribute: the one set, or for `auto` the first of `entryCSN` and
    /// `uSNChanged` the users base entry holds, else `modifyTimestamp`.
    async fn by(&self) -> Result<LdapWatermark, ConnectorError> {
        if self.s().watermark != LdapWatermark::Auto {
            return Ok(self.s().watermark);
        }
        if let Some(by) = self.resolved.lock().ok().and_then(|r| *r) {
            return Ok(by);
        }
        let (csn, usn) = (LdapWatermark::EntryCsn.name(), LdapWatermark::UsnChanged.name());
        let base = self.target.conn().read(&self.s().users_base, &[csn, usn]).await?;
        let by = match base {
            Some(e) if !attr(&e, csn).is_empty() => LdapWatermark::EntryCsn,
            Some(e) if !attr(&e, usn).is_empty() => LdapWatermark::UsnChanged,
            _ => LdapWatermark::ModifyTimestamp,
        };
        if let Ok(mut r) = self.resolved.lock() {
            *r = Some(by);
        }
        Ok(by)
    }

    fn filter(&self, kind: ObjectKind, by: LdapWatermark, since: Option<&str>) -> String {
        let class = match kind {
            ObjectKind::User => class_filter(&self.s().user_classes),
            ObjectKind::Group => class_filter(&self.s().group_classes),
        };
        match since.and_then(|t| changed_since(by, t)) {
            Some(changed) => format!("(&{class}{changed})"),
            None => class,
        }
    }

    fn id_of(&self, e: &SearchEntry) -> Option<String> {
        attr(e, &self.s().id_attribute).first().map(|v| (*v).to_owned())
    }

    /// Users' ids by DN: every user under the bases (one search, ids only).
    async fn user_ids(&self) -> Result<HashMap<String, String>, ConnectorError> {
        let mut out = HashMap::new();
        let filter = self.filter(ObjectKind::User, LdapWatermark::Auto, None);
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

    async fn users(&self, by: LdapWatermark, since: Option<&str>) -> Result<(Vec<Incoming>, Option<String>), ConnectorError> {
        let s = self.s();
        let mut attrs: Vec<&str> = s.attributes.keys().map(String::as_str).collect();
        attrs.extend([s.id_attribute.as_str(), by.name(), "manager"]);
        let filter = self.filter(ObjectKind::User, by, since);
        let mut entries = Vec::new();
        for base in self.user_bases() {
            let enabled = Some(base) != s.disabled_base.as_deref();
            for e in self.target.conn().search(base, Scope::Subtree, &filter, &attrs).await? {
                entries.push((e, enabled));
            }
        }
        let mut ids: HashMap<String, String> = entries.iter().filter_map(|(e, _)| Some((dn_key(&e.dn), self.id_of(e)?))).collect();
        let newest = newest(by, since, entries.iter().filter_map(|(e, _)| attr(e, by.name()).first().copied()));
        let mut items = Vec::with_capacity(entries.len());
        for (e, enabled) in &entries {
            let Some(external_id) = self.id_of(e) else { continue };
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

    async fn groups(&self, by: LdapWatermark, since: Option<&str>) -> Result<(Vec<Incoming>, Option<String>), ConnectorError> {
        let s = self.s();
        let attrs = [s.group_rdn.as_str(), "cn", "description", "member", s.id_attribute.as_str(), by.name()];
        let entries = self.target.conn().search(&s.groups_base, Scope::Subtree, &self.filter(ObjectKind::Group, by, since), &attrs).await?;
        let users = if entries.iter().any(|e| !attr(e, "member").is_empty()) { self.user_ids().await? } else { HashMap::new() };
        let newest = newest(by, since, entries.iter().filter_map(|e| attr(e, by.name()).first().copied()));
        let mut items = Vec::with_capacity(entries.len());
        for e in &entries {
            let Some(external_id) = self.id_of(e) else { continue };
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
        let by = self.by().await?;
        // A watermark of another attribute (stored before the setting changed; one
        // without a name is modifyTimestamp's, the only kind there was) is none.
        let stored_by = from.and_then(|v| v.get("by")).and_then(Value::as_str).map_or(Some(LdapWatermark::ModifyTimestamp), LdapWatermark::parse);
        let since = if full || stored_by != Some(by) { None } else { from.and_then(|v| v.get("since")).and_then(Value::as_str) };
        let (items, newest) = match kind {
            ObjectKind::User => self.users(by, since).await?,
            ObjectKind::Group => self.groups(by, since).await?,
        };
        Ok(Read::Batch(Batch { items, at: json!({ "by": by.name(), "since": newest }), more: false }))
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

    #[test]
    fn each_watermark_asks_for_what_is_newer_its_own_way() {
        let csn = "20261206182512.123456Z#000000#000#000000";
        assert_eq!(changed_since(LdapWatermark::EntryCsn, csn).unwrap(), format!("(&(entryCSN>={csn})(!(entryCSN={csn})))"));
        assert_eq!(changed_since(LdapWatermark::UsnChanged, "41").unwrap(), "(uSNChanged>=42)");
        assert_eq!(changed_since(LdapWatermark::UsnChanged, "x"), None, "no number: read everything");
        assert_eq!(changed_since(LdapWatermark::ModifyTimestamp, "20261206182512Z").unwrap(), "(modifyTimestamp>=20261206182512Z)");
        assert_eq!(newest(LdapWatermark::UsnChanged, Some("9"), ["10", "8"].into_iter()).as_deref(), Some("10"), "numbers, not text");
        let later = "20261206182512.123457Z#000000#000#000000";
        assert_eq!(newest(LdapWatermark::EntryCsn, None, [later, csn].into_iter()).as_deref(), Some(later));
        assert_eq!(newest(LdapWatermark::EntryCsn, Some(csn), std::iter::empty()).as_deref(), Some(csn), "nothing read: the watermark stays");
    }
}
