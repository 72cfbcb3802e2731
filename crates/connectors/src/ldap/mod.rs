//! An LDAP v3 directory as a target (OpenLDAP, 389-DS, Active Directory's LDAP).
//!
//! - **External id = `entryUUID`** (the `idAttribute`): stable across renames and moves,
//!   so a link never goes stale; the entry's DN is looked up by it when it is written.
//! - **Entries**: users under the users base as `inetOrgPerson` named by `uid` (the
//!   UPN's local part), groups under the groups base as `groupOfNames` named by `cn`;
//!   attributes by the mapping in [`LdapSettings`].
//! - **Updates** replace only the attributes that changed ([`modify::changes`]); a new
//!   RDN (or, with `deprovision: disable`, a move to or from the disabled base) is a
//!   modifyDN, after which the references to the old DN — groups' `member`, users'
//!   `manager` — are made to name the new one (and on a delete, removed), as the refint
//!   overlay would; harmless where the server does it itself.
//! - **Empty groups**: groupOfNames requires a member; a group without members holds the
//!   `emptyMember` placeholder (the empty DN by default), dropped when a member comes.
//! - **Searches** are paged (Simple Paged Results) where the server supports it.
pub(crate) mod conn;
pub mod modify;
pub mod render;
mod settings;

pub use settings::{LdapMatching, LdapSettings, LdapWatermark, UserField, default_attributes};

use crate::ConnectorError;
use crate::secret::Secret;
use crate::target::{Discovery, ManagerRef, Resource, Target};
use async_trait::async_trait;
use conn::Conn;
use ldap3::{Mod, Scope, SearchEntry, ldap_escape};
use modify::{Members, same_dn, split_dn};
use render::{MANAGER, MEMBER, OBJECT_CLASS, values};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tenantsync_domain::{Group, ObjectKind, User};

/// External ids resolved to DNs per search.
const IDS_PER_SEARCH: usize = 100;

#[derive(Debug)]
pub struct LdapTarget {
    s: LdapSettings,
    conn: Conn,
    /// The user attributes the connector owns.
    managed_user: Vec<String>,
}

/// An attribute's values in a search entry (attribute names are case-insensitive).
pub(crate) fn attr<'a>(e: &'a SearchEntry, name: &str) -> Vec<&'a str> {
    e.attrs.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).flat_map(|(_, v)| v.iter().map(String::as_str)).collect()
}

fn set(values: impl IntoIterator<Item = String>) -> HashSet<String> {
    values.into_iter().collect()
}

impl LdapTarget {
    pub fn new(settings: &LdapSettings, password: Option<Secret>) -> Result<LdapTarget, ConnectorError> {
        settings.check()?;
        let timeout = Duration::from_secs(u64::from(settings.timeout_secs));
        let tls = settings.ca_file.as_deref().map(conn::tls_config).transpose()?;
        let conn = Conn::new(&settings.url, settings.start_tls, tls, &settings.bind_dn, password, timeout);
        let managed_user = settings.attributes.keys().cloned().collect();
        Ok(LdapTarget { s: settings.clone(), conn, managed_user })
    }

    /// The connection (searches for an import).
    pub(crate) fn conn(&self) -> &Conn {
        &self.conn
    }

    pub(crate) fn settings(&self) -> &LdapSettings {
        &self.s
    }

    /// Where entries of a kind may be.
    fn bases(&self, kind: ObjectKind) -> Vec<&str> {
        match kind {
            ObjectKind::User => std::iter::once(self.s.users_base.as_str()).chain(self.s.disabled_base.as_deref()).collect(),
            ObjectKind::Group => vec![self.s.groups_base.as_str()],
        }
    }

    fn id_filter(&self, id: &str) -> String {
        format!("({}={})", self.s.id_attribute, ldap_escape(id))
    }

    /// The DN of the entry whose id is `id`, if there is one.
    async fn locate(&self, kind: ObjectKind, id: &str) -> Result<Option<String>, ConnectorError> {
        for base in self.bases(kind) {
            if let Some(e) = self.conn.search(base, Scope::Subtree, &self.id_filter(id), &["1.1"]).await?.into_iter().next() {
                return Ok(Some(e.dn));
            }
        }
        Ok(None)
    }

    /// The DNs of the entries (users, or groups) with these ids; ids not found are left out.
    async fn dns_of(&self, ids: &[String]) -> Result<HashMap<String, String>, ConnectorError> {
        let mut found = HashMap::new();
        if ids.is_empty() {
            return Ok(found);
        }
        let id_attribute = self.s.id_attribute.as_str();
        let mut bases = self.bases(ObjectKind::User);
        bases.push(&self.s.groups_base);
        for chunk in ids.chunks(IDS_PER_SEARCH) {
            let filter = format!("(|{})", chunk.iter().map(|i| self.id_filter(i)).collect::<String>());
            for base in &bases {
                for e in self.conn.search(base, Scope::Subtree, &filter, &[id_attribute]).await? {
                    if let Some(id) = attr(&e, id_attribute).first() {
                        found.insert((*id).to_owned(), e.dn.clone());
                    }
                }
            }
        }
        Ok(found)
    }

    /// An entry's id, read by its DN.
    async fn id_at(&self, dn: &str) -> Result<String, ConnectorError> {
        let entry = self.conn.read(dn, &[&self.s.id_attribute]).await?;
        entry.and_then(|e| attr(&e, &self.s.id_attribute).first().map(|s| (*s).to_owned())).ok_or_else(|| ConnectorError::BadResponse {
            url: self.conn.url().to_owned(),
            expected: "an entry with its id attribute",
            detail: format!("'{dn}' has no {}", self.s.id_attribute),
        })
    }

    async fn modify(&self, dn: &str, mods: Vec<Mod<String>>) -> Result<(), ConnectorError> {
        if mods.is_empty() {
            return Ok(());
        }
        // Repeated after a lost answer: a member already added (20) or removed (16).
        self.conn
            .write(&format!("modify '{dn}'"), &[16, 20], |mut h| {
                let mods = mods.clone();
                async move { h.modify(dn, mods).await?.success().map(|_| ()) }
            })
            .await
    }

    /// After `old` was renamed to `new` (or deleted, `None`): the groups that had it as a
    /// member and the users that had it as manager are made to name the new DN (or not
    /// to name it any more).
    async fn follow_references(&self, old: &str, new: Option<&str>) -> Result<(), ConnectorError> {
        let filter = format!("({MEMBER}={})", ldap_escape(old));
        for g in self.conn.search(&self.s.groups_base, Scope::Subtree, &filter, &[MEMBER]).await? {
            let members = attr(&g, MEMBER);
            let mut mods = vec![Mod::Delete(MEMBER.to_owned(), set([old.to_owned()]))];
            match new {
                Some(n) => mods.push(Mod::Add(MEMBER.to_owned(), set([n.to_owned()]))),
                None if members.len() <= 1 => mods = vec![Mod::Replace(MEMBER.to_owned(), set([self.s.empty_member.clone()]))],
                None => {}
            }
            self.modify(&g.dn, mods).await?;
        }
        let filter = format!("({MANAGER}={})", ldap_escape(old));
        for base in self.bases(ObjectKind::User) {
            for u in self.conn.search(base, Scope::Subtree, &filter, &["1.1"]).await? {
                let value = new.map(|n| set([n.to_owned()])).unwrap_or_default();
                self.modify(&u.dn, vec![Mod::Replace(MANAGER.to_owned(), value)]).await?;
            }
        }
        Ok(())
    }

    /// The `member` modifications that bring the group at `dn` to `change`: computed
    /// against the members it holds now, so they never add what is there or delete what
    /// is not; the placeholder comes when the last member goes and goes when one comes.
    async fn member_mods(&self, dn: &str, change: &Members) -> Result<Vec<Mod<String>>, ConnectorError> {
        let placeholder = self.s.empty_member.clone();
        let (add_ids, remove_ids, whole) = match change {
            Members::Unchanged => return Ok(Vec::new()),
            Members::Whole(all) => (all.clone(), Vec::new(), true),
            Members::Diff { add, remove } => (add.clone(), remove.clone(), false),
        };
        let resolved = self.dns_of(&[add_ids.clone(), remove_ids.clone()].concat()).await?;
        let add: Vec<String> = add_ids.iter().filter_map(|i| resolved.get(i).cloned()).collect();
        if whole {
            let value = if add.is_empty() { set([placeholder]) } else { set(add) };
            return Ok(vec![Mod::Replace(MEMBER.to_owned(), value)]);
        }
        let remove: Vec<String> = remove_ids.iter().filter_map(|i| resolved.get(i).cloned()).collect();
        let current: Vec<String> = match self.conn.read(dn, &[MEMBER]).await? {
            Some(e) => attr(&e, MEMBER).into_iter().map(str::to_owned).collect(),
            None => Vec::new(),
        };
        let holds = |list: &[String], dn: &str| list.iter().any(|c| same_dn(c, dn));
        let to_add: Vec<String> = add.iter().filter(|a| !holds(&current, a)).cloned().collect();
        let mut to_delete: Vec<String> = current.iter().filter(|c| holds(&remove, c)).cloned().collect();
        let remaining = current.iter().filter(|c| !holds(&to_delete, c) && **c != placeholder).count() + to_add.len();
        if remaining == 0 {
            return Ok(vec![Mod::Replace(MEMBER.to_owned(), set([placeholder]))]);
        }
        if current.contains(&placeholder) {
            to_delete.push(placeholder);
        }
        let mut mods = Vec::new();
        if !to_add.is_empty() {
            mods.push(Mod::Add(MEMBER.to_owned(), set(to_add)));
        }
        if !to_delete.is_empty() {
            mods.push(Mod::Delete(MEMBER.to_owned(), set(to_delete)));
        }
        Ok(mods)
    }

    fn no_dn(&self, r: &Resource) -> ConnectorError {
        ConnectorError::Refused { url: self.conn.url().to_owned(), status: 400, detail: format!("an entry rendered without a DN: {:?}", r.keys()) }
    }

    async fn discover_schema(&self, subschema: Option<&str>, facts: &mut Vec<String>) -> Result<(), ConnectorError> {
        let Some(subschema) = subschema else { return Ok(()) };
        let Some(schema) = self.conn.read(subschema, &["objectClasses"]).await? else { return Ok(()) };
        let defined = attr(&schema, "objectClasses").join(" ").to_ascii_lowercase();
        let wanted: Vec<&String> = self.s.user_classes.iter().chain(&self.s.group_classes).collect();
        let missing: Vec<&&String> = wanted.iter().filter(|c| !defined.contains(&format!("'{}'", c.to_ascii_lowercase()))).collect();
        if missing.is_empty() {
            facts.push(format!("schema: the object classes {} are defined", wanted.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")));
        } else {
            facts.push(format!("warning: the schema does not define {missing:?}"));
        }
        Ok(())
    }
}

#[async_trait]
impl Target for LdapTarget {
    async fn discover(&self) -> Result<Discovery, ConnectorError> {
        let mut facts = Vec::new();
        let wanted = ["namingContexts", "supportedControl", "supportedExtension", "supportedLDAPVersion", "vendorName", "vendorVersion", "subschemaSubentry"];
        let dse = self.conn.read("", &wanted).await?.ok_or_else(|| ConnectorError::BadResponse {
            url: self.conn.url().to_owned(),
            expected: "a root DSE",
            detail: "the root DSE read returned no entry".into(),
        })?;
        let vendor = [attr(&dse, "vendorName"), attr(&dse, "vendorVersion")].concat().join(" ");
        facts.push(format!(
            "reachable: {} (LDAP v{}{}{})",
            self.conn.url(),
            attr(&dse, "supportedLDAPVersion").join(", v"),
            if vendor.is_empty() { "" } else { ", " },
            vendor
        ));
        facts.push(format!("credentials accepted: bound as {}", self.s.bind_dn));
        facts.push(format!("naming contexts: {}", attr(&dse, "namingContexts").join("; ")));
        let extensions = attr(&dse, "supportedExtension");
        facts.push(format!(
            "paged results: {}; StartTLS: {}; {} controls supported",
            if self.conn.paged() { "yes" } else { "no" },
            if extensions.contains(&"1.3.6.1.4.1.1466.20037") { "yes" } else { "no" },
            attr(&dse, "supportedControl").len()
        ));
        let mut bases = vec![("users base", self.s.users_base.as_str()), ("groups base", self.s.groups_base.as_str())];
        if let Some(d) = &self.s.disabled_base {
            bases.push(("disabled base", d));
        }
        for (what, dn) in bases {
            if self.conn.read(dn, &["1.1"]).await?.is_none() {
                return Err(ConnectorError::InvalidSettings { reason: format!("the {what} '{dn}' does not exist on {}", self.conn.url()) });
            }
            facts.push(format!("{what}: {dn} exists"));
        }
        self.discover_schema(attr(&dse, "subschemaSubentry").first().copied(), &mut facts).await?;
        Ok(Discovery { facts })
    }

    fn render_user(&self, user: &User, manager: ManagerRef<'_>) -> Resource {
        render::user(&self.s, user, manager)
    }

    fn render_group(&self, group: &Group, members: &[String]) -> Resource {
        render::group(&self.s, group, members)
    }

    async fn find(&self, kind: ObjectKind, resource: &Resource) -> Result<Option<String>, ConnectorError> {
        let (attribute, classes) = match kind {
            ObjectKind::User => (self.s.matching_attribute(), &self.s.user_classes),
            ObjectKind::Group => (self.s.group_rdn.as_str(), &self.s.group_classes),
        };
        let Some(value) = values(resource, attribute).first().copied() else { return Ok(None) };
        let class = classes.first().map_or("top", String::as_str);
        let filter = format!("(&(objectClass={})({attribute}={}))", ldap_escape(class), ldap_escape(value));
        for base in self.bases(kind) {
            if let Some(e) = self.conn.search(base, Scope::Subtree, &filter, &[&self.s.id_attribute]).await?.into_iter().next() {
                return Ok(attr(&e, &self.s.id_attribute).first().map(|s| (*s).to_owned()));
            }
        }
        Ok(None)
    }

    async fn create(&self, _kind: ObjectKind, resource: &Resource) -> Result<String, ConnectorError> {
        let dn = render::dn(resource).ok_or_else(|| self.no_dn(resource))?;
        let mut attrs: Vec<(String, HashSet<String>)> = Vec::new();
        for (k, _) in resource.iter().filter(|(k, _)| k.as_str() != render::DN) {
            let vs: Vec<String> = values(resource, k).into_iter().map(str::to_owned).collect();
            let vs = match k.as_str() {
                MANAGER | MEMBER => {
                    let found = self.dns_of(&vs).await?;
                    vs.iter().filter_map(|i| found.get(i).cloned()).collect()
                }
                _ => vs,
            };
            match (k.as_str(), vs.is_empty()) {
                (MEMBER, true) => attrs.push((MEMBER.to_owned(), set([self.s.empty_member.clone()]))),
                (_, true) => {}
                _ => attrs.push((k.clone(), set(vs))),
            }
        }
        // Repeated after a lost answer: the entry made by the lost attempt (68).
        self.conn
            .write(&format!("add '{dn}'"), &[68], |mut h| {
                let attrs = attrs.clone();
                async move { h.add(dn, attrs).await?.success().map(|_| ()) }
            })
            .await?;
        self.id_at(dn).await
    }

    async fn update(&self, kind: ObjectKind, external_id: &str, old: Option<&Resource>, new: &Resource) -> Result<(), ConnectorError> {
        let target = render::dn(new).ok_or_else(|| self.no_dn(new))?;
        let Some(mut dn) = self.locate(kind, external_id).await? else {
            return Err(ConnectorError::Refused {
                url: self.conn.url().to_owned(),
                status: 404,
                detail: format!("no entry has {} {external_id}", self.s.id_attribute),
            });
        };
        if !same_dn(&dn, target) {
            let (new_rdn, new_parent) = split_dn(target);
            let parent = split_dn(&dn).1;
            let superior = (!same_dn(parent, new_parent)).then_some(new_parent);
            let current = dn.as_str();
            // Repeated after a lost answer: the old DN gone (32), the new one there (68).
            self.conn
                .write(&format!("rename '{dn}' to '{target}'"), &[32, 68], |mut h| async move {
                    h.modifydn(current, new_rdn, true, superior).await?.success().map(|_| ())
                })
                .await?;
            if kind == ObjectKind::User {
                self.follow_references(&dn, Some(target)).await?;
            }
            dn = target.to_owned();
        }
        let managed: Vec<String> = match kind {
            ObjectKind::User => self.managed_user.clone(),
            ObjectKind::Group => vec!["description".to_owned()],
        };
        let changes = modify::changes(old, new, &managed);
        let mut mods: Vec<Mod<String>> = changes.replace.into_iter().map(|(a, vs)| Mod::Replace(a, set(vs))).collect();
        if !changes.add_classes.is_empty() {
            mods.push(Mod::Add(OBJECT_CLASS.to_owned(), set(changes.add_classes)));
        }
        if let Some(manager) = changes.manager {
            let found = match &manager {
                Some(m) => self.dns_of(std::slice::from_ref(m)).await?.into_values().collect(),
                None => Vec::new(),
            };
            mods.push(Mod::Replace(MANAGER.to_owned(), set(found)));
        }
        mods.extend(self.member_mods(&dn, &changes.members).await?);
        self.modify(&dn, mods).await
    }

    async fn delete(&self, kind: ObjectKind, external_id: &str) -> Result<(), ConnectorError> {
        let Some(dn) = self.locate(kind, external_id).await? else { return Ok(()) };
        let target = dn.as_str();
        let gone = self.conn.write(&format!("delete '{dn}'"), &[32], |mut h| async move { h.delete(target).await?.success().map(|_| ()) }).await;
        match gone {
            Ok(()) | Err(ConnectorError::Refused { status: 404, .. }) => {}
            Err(e) => return Err(e),
        }
        if kind == ObjectKind::User {
            self.follow_references(&dn, None).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
