//! What an update sends: the difference between the entry last sent and the entry now,
//! computed without the directory. Attributes that changed are replaced (an attribute
//! that went is replaced by no values, which deletes it); references (`manager`,
//! `member`) are kept as external ids here and turned into DNs by the target; a group's
//! members are added and deleted by difference. Renames are the target's: they depend on
//! where the entry is now.
use super::render::{DN, MANAGER, MEMBER, OBJECT_CLASS, values};
use crate::target::Resource;
use std::collections::BTreeSet;

/// How a group's members change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Members {
    Unchanged,
    /// Both sides have members: these are added and deleted.
    Diff {
        add: Vec<String>,
        remove: Vec<String>,
    },
    /// Nothing known of what the entry holds, or one side is empty (the placeholder
    /// member comes or goes): the whole set, as external ids.
    Whole(Vec<String>),
}

/// The changes of one update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Attributes to replace, with their values (none: delete the attribute).
    pub replace: Vec<(String, Vec<String>)>,
    /// Object classes to add.
    pub add_classes: Vec<String>,
    /// The manager to set (its external id), or `Some(None)` to remove it.
    pub manager: Option<Option<String>>,
    pub members: Members,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.replace.is_empty() && self.add_classes.is_empty() && self.manager.is_none() && self.members == Members::Unchanged
    }
}

fn computed(key: &str) -> bool {
    key == DN || key == OBJECT_CLASS || key == MANAGER || key == MEMBER
}

/// The changes that bring `old` (what was last sent; `None`: nothing known) to `new`.
/// `managed` names the attributes the connector owns: with nothing known, those absent
/// from `new` are removed from the entry.
pub fn changes(old: Option<&Resource>, new: &Resource, managed: &[String]) -> Changes {
    let mut replace = Vec::new();
    for (k, _) in new.iter().filter(|(k, _)| !computed(k)) {
        let now = values(new, k);
        if old.is_none_or(|o| values(o, k) != now) {
            replace.push((k.clone(), now.into_iter().map(str::to_owned).collect()));
        }
    }
    let gone: Vec<String> = match old {
        Some(o) => o.keys().filter(|k| !computed(k) && !new.contains_key(k.as_str())).cloned().collect(),
        None => managed.iter().filter(|k| !new.contains_key(k.as_str())).cloned().collect(),
    };
    replace.extend(gone.into_iter().map(|k| (k, Vec::new())));

    let add_classes = match old {
        None => Vec::new(),
        Some(o) => {
            let had: BTreeSet<String> = values(o, OBJECT_CLASS).iter().map(|c| c.to_ascii_lowercase()).collect();
            values(new, OBJECT_CLASS).into_iter().filter(|c| !had.contains(&c.to_ascii_lowercase())).map(str::to_owned).collect()
        }
    };

    let manager_now = values(new, MANAGER).first().map(|m| (*m).to_owned());
    // Groups have no manager; a user's is sent when it changed (or nothing is known).
    let manager = match old {
        _ if new.contains_key(MEMBER) => None,
        Some(o) if values(o, MANAGER).first().map(|m| (*m).to_owned()) == manager_now => None,
        _ => Some(manager_now),
    };

    let members = if !new.contains_key(MEMBER) {
        Members::Unchanged
    } else {
        let after: Vec<String> = values(new, MEMBER).into_iter().map(str::to_owned).collect();
        match old {
            None => Members::Whole(after),
            Some(o) => {
                let before: Vec<String> = values(o, MEMBER).into_iter().map(str::to_owned).collect();
                if before == after {
                    Members::Unchanged
                } else if before.is_empty() || after.is_empty() {
                    Members::Whole(after)
                } else {
                    let add = after.iter().filter(|m| !before.contains(m)).cloned().collect();
                    let remove = before.iter().filter(|m| !after.contains(m)).cloned().collect();
                    Members::Diff { add, remove }
                }
            }
        }
    };
    Changes { replace, add_classes, manager, members }
}

/// The positions of a DN's separators (commas not escaped).
fn separators(dn: &str) -> Vec<usize> {
    let mut at = Vec::new();
    let mut escaped = false;
    for (i, b) in dn.bytes().enumerate() {
        match b {
            b'\\' if !escaped => escaped = true,
            b',' if !escaped => at.push(i),
            _ => escaped = false,
        }
    }
    at
}

/// A DN's first RDN and the rest (its parent).
pub fn split_dn(dn: &str) -> (&str, &str) {
    match separators(dn).first() {
        Some(&i) => (dn[..i].trim(), dn[i + 1..].trim()),
        None => (dn.trim(), ""),
    }
}

/// An RDN's value with its escapes (`\,`, `\23`) undone.
fn unescape(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'\\' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
            match (hex, bytes.get(i + 1)) {
                (Some(h), _) => {
                    out.push(h);
                    i += 3;
                }
                (None, Some(&c)) => {
                    out.push(c);
                    i += 2;
                }
                (None, None) => i += 1,
            }
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A DN in a form two spellings of the same name share: each RDN's attribute and its
/// unescaped value, lower-cased and trimmed (the usual attributes match case-insensitively).
fn normal(dn: &str) -> Vec<(String, String)> {
    let mut parts = Vec::new();
    let mut start = 0;
    for end in separators(dn).into_iter().chain(std::iter::once(dn.len())) {
        let rdn = dn.get(start..end).unwrap_or_default();
        let (a, v) = rdn.split_once('=').unwrap_or((rdn, ""));
        parts.push((a.trim().to_lowercase(), unescape(v.trim()).trim().to_lowercase()));
        start = end + 1;
    }
    parts
}

/// A DN as a key two spellings of the same name share (for maps of DNs).
pub fn dn_key(dn: &str) -> String {
    normal(dn).into_iter().map(|(a, v)| format!("{a}={v}")).collect::<Vec<_>>().join(",")
}

/// Two DNs name the same entry.
pub fn same_dn(a: &str, b: &str) -> bool {
    normal(a) == normal(b)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    fn res(v: serde_json::Value) -> Resource {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn an_update_carries_only_what_changed() {
        let old = res(json!({"dn": "uid=a,ou=p", "objectClass": ["inetOrgPerson"], "uid": ["a"], "title": ["Dev"], "cn": ["A"], "manager": ["m1"]}));
        let new = res(json!({"dn": "uid=a,ou=p", "objectClass": ["inetOrgPerson"], "uid": ["a"], "cn": ["A B"], "l": ["Oslo"], "manager": ["m1"]}));
        let c = changes(Some(&old), &new, &[]);
        assert_eq!(c.replace, vec![("cn".into(), vec!["A B".into()]), ("l".into(), vec!["Oslo".into()]), ("title".into(), vec![])]);
        assert_eq!(c.manager, None);
        assert_eq!(c.members, Members::Unchanged);
        assert!(changes(Some(&new), &new, &[]).is_empty());
        // The manager went: removed.
        let mut without = new.clone();
        without.remove("manager");
        assert_eq!(changes(Some(&new), &without, &[]).manager, Some(None));
    }

    #[test]
    fn with_nothing_known_everything_is_set_and_the_managed_rest_cleared() {
        let new = res(json!({"dn": "uid=a,ou=p", "objectClass": ["top"], "uid": ["a"]}));
        let c = changes(None, &new, &["uid".into(), "title".into()]);
        assert_eq!(c.replace, vec![("uid".into(), vec!["a".into()]), ("title".into(), vec![])]);
        assert_eq!(c.manager, Some(None));
        assert!(c.add_classes.is_empty());
    }

    #[test]
    fn members_change_by_difference_or_whole() {
        let g = |m: serde_json::Value| res(json!({"dn": "cn=g,ou=g", "cn": ["g"], "member": m}));
        assert_eq!(changes(Some(&g(json!(["1", "2"]))), &g(json!(["2", "3"])), &[]).members, Members::Diff { add: vec!["3".into()], remove: vec!["1".into()] });
        assert_eq!(changes(Some(&g(json!(["1"]))), &g(json!([])), &[]).members, Members::Whole(vec![]));
        assert_eq!(changes(None, &g(json!(["1"])), &[]).members, Members::Whole(vec!["1".into()]));
        assert_eq!(changes(None, &g(json!(["1"])), &[]).manager, None);
    }

    #[test]
    fn dns_split_and_compare() {
        assert_eq!(split_dn("uid=a\\,b,ou=people,dc=x"), ("uid=a\\,b", "ou=people,dc=x"));
        assert!(same_dn("UID=a, ou=People,dc=x", "uid=a,ou=people,dc=x"));
        assert!(same_dn("uid=\\23ext#a\\2Cb,dc=x", "uid=\\#ext#a\\,b,dc=x"));
        assert!(!same_dn("uid=a,dc=x", "uid=b,dc=x"));
    }
}
