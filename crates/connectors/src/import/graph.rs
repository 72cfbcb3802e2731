//! Microsoft Graph as a source: delta queries. `/users/delta` and `/groups/delta` are
//! read page by page (`@odata.nextLink`); the round's last page gives the
//! `@odata.deltaLink`, kept as the watermark, from which the next round reads only what
//! changed. An object removed is `{"id", "@removed": {"reason"}}`: `changed` (it can be
//! restored) soft-deletes it here, `deleted` deletes it for good. Groups carry
//! `members@delta`: every member in a full round, the members added and removed (with
//! `@removed`) in later ones. A deltaLink the service no longer knows (410 Gone) starts
//! a full round and a reconciliation.
//!
//! - **Managers**: the first request selects the properties read and `manager`, so each
//!   user carries `manager@delta` (its manager's id; an empty list or a reference with
//!   `@removed`: none). A user without it (a deltaLink from before) leaves its manager as
//!   it is. A `manager` object (`$expand=manager`, as some Graph-shaped APIs answer) is
//!   read the same way.
//! - **Large groups**: Graph splits a group's members over several appearances of the
//!   group, usually on consecutive pages. In a full round the members must add up (one
//!   appearance's `Full` list would otherwise drop the others'): a page's appearances of
//!   a group are merged wherever they are on it, and the group that ends a page is held
//!   back in the position (`{"next", "pending"}`) until the next page shows whether it
//!   goes on: only one group's members are held at a time. Parts further apart add up
//!   when they are applied (the reconciliation's mark on the group's link tells a later
//!   part from the first: see `apply.rs`). In later rounds members come as additions and
//!   removals, which add up by themselves.
use super::{Batch, Incoming, Is, Members, Read, Source};
use crate::ConnectorError;
use crate::graph::GraphTarget;
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::collections::HashMap;
use tenantsync_domain::{GroupAttribute, ObjectKind, UserAttribute};

#[derive(Debug)]
pub struct GraphSource {
    target: GraphTarget,
}

impl GraphSource {
    pub fn new(target: GraphTarget) -> GraphSource {
        GraphSource { target }
    }
}

/// The user properties read: every writable one of tenantsync's users but the manager
/// (a reference: `manager@delta`) and externalId (tenantsync's own field).
fn user_properties() -> impl Iterator<Item = &'static str> {
    UserAttribute::ALL.iter().filter(|a| !matches!(a, UserAttribute::Manager | UserAttribute::ExternalId)).map(|a| a.name())
}

/// The `$select` of the users' first request: the properties as Graph names them
/// (`businessPhones` for telephoneNumber) and the manager.
fn user_select() -> String {
    let mut names: Vec<&str> = user_properties().filter(|n| *n != "telephoneNumber").collect();
    names.extend(["businessPhones", "manager"]);
    names.join(",")
}

/// The manager a user entry names: `Some(None)` for none, `None` when it says nothing.
fn manager(o: &Map<String, Value>) -> Option<Option<String>> {
    if let Some(refs) = o.get("manager@delta").and_then(Value::as_array) {
        let live = refs.iter().find(|r| r.get("@removed").is_none()).and_then(|r| r.get("id")).and_then(Value::as_str);
        return Some(live.map(str::to_owned));
    }
    match o.get("manager") {
        Some(Value::Null) => Some(None),
        Some(m) => m.get("id").and_then(Value::as_str).map(|id| Some(id.to_owned())),
        None => None,
    }
}

fn group_properties() -> impl Iterator<Item = &'static str> {
    GroupAttribute::ALL.iter().filter(|a| !matches!(a, GroupAttribute::ExternalId)).map(|a| a.name())
}

/// The properties of `v` among `names` (those Graph sent: a partial object changes only
/// what it holds).
fn properties<'a>(v: &Map<String, Value>, names: impl Iterator<Item = &'a str>) -> Map<String, Value> {
    names.filter_map(|n| v.get(n).map(|x| (n.to_owned(), x.clone()))).collect()
}

/// One entry of a delta page.
pub fn entry(kind: ObjectKind, v: &Value, full: bool) -> Option<Incoming> {
    let o = v.as_object()?;
    let external_id = o.get("id")?.as_str()?.to_owned();
    if let Some(removed) = o.get("@removed") {
        let is = if removed.get("reason").and_then(Value::as_str) == Some("deleted") { Is::Gone } else { Is::Deleted };
        return Some(Incoming { kind, external_id, is });
    }
    let is = match kind {
        ObjectKind::User => {
            let mut attributes = properties(o, user_properties());
            // Graph's users have businessPhones (one, in Entra) where tenantsync has telephoneNumber.
            if !attributes.contains_key("telephoneNumber")
                && let Some(phones) = o.get("businessPhones").and_then(Value::as_array)
            {
                attributes.insert("telephoneNumber".into(), phones.first().cloned().unwrap_or(Value::Null));
            }
            Is::Live { attributes, manager: manager(o), members: None }
        }
        ObjectKind::Group => {
            let mut added = Vec::new();
            let mut removed = Vec::new();
            let delta = o.get("members@delta").and_then(Value::as_array);
            for m in delta.into_iter().flatten() {
                // Users only: nested groups are not members of a tenantsync group.
                let user = m.get("@odata.type").and_then(Value::as_str).is_none_or(|t| t.eq_ignore_ascii_case("#microsoft.graph.user"));
                let Some(id) = m.get("id").and_then(Value::as_str).filter(|_| user) else { continue };
                if m.get("@removed").is_some() { removed.push(id.to_owned()) } else { added.push(id.to_owned()) }
            }
            let members = match (full, delta.is_some()) {
                (true, _) => Some(Members::Full { ids: sorted(added) }),
                (false, true) => Some(Members::Delta { added, removed }),
                (false, false) => None,
            };
            Is::Live { attributes: properties(o, group_properties()), manager: None, members }
        }
    };
    Some(Incoming { kind, external_id, is })
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

/// Adds a later appearance of a group (the next part of its members) to the one held.
fn merge(held: &mut Incoming, next: Incoming) {
    let (Is::Live { attributes, members: Some(Members::Full { ids }), .. }, Is::Live { attributes: a, members: m, .. }) = (&mut held.is, next.is) else {
        return;
    };
    attributes.extend(a);
    if let Some(Members::Full { ids: more }) = m {
        ids.extend(more);
        *ids = sorted(std::mem::take(ids));
    }
}

/// A page's items (after the group held back from the page before); in a full round a
/// group's appearances on the page are one item, wherever they are on it (the page's
/// groups by external id: bounded by the page).
fn gather(entries: impl Iterator<Item = Incoming>, full: bool) -> Vec<Incoming> {
    let mut items: Vec<Incoming> = Vec::new();
    let mut groups: HashMap<String, usize> = HashMap::new();
    for item in entries {
        let live_group = full && item.kind == ObjectKind::Group && matches!(item.is, Is::Live { .. });
        match groups.get(&item.external_id).and_then(|i| items.get_mut(*i)) {
            Some(held) if live_group => merge(held, item),
            _ => {
                if live_group {
                    groups.insert(item.external_id.clone(), items.len());
                }
                items.push(item);
            }
        }
    }
    items
}

/// A position: a link to read, and in a full round the group held back from the page before.
fn position(from: Option<&Value>) -> (Option<String>, Option<Incoming>) {
    match from {
        Some(Value::String(u)) => (Some(u.clone()), None),
        Some(Value::Object(o)) => {
            (o.get("next").and_then(Value::as_str).map(str::to_owned), o.get("pending").and_then(|p| serde_json::from_value(p.clone()).ok()))
        }
        _ => (None, None),
    }
}

#[async_trait]
impl Source for GraphSource {
    async fn read(&self, kind: ObjectKind, from: Option<&Value>, full: bool) -> Result<Read, ConnectorError> {
        let (link, pending) = position(from);
        let url = match link {
            Some(u) => u,
            None => match kind {
                ObjectKind::User => format!("{}/users/delta?$select={}", self.target.base(), user_select()),
                ObjectKind::Group => format!("{}/groups/delta", self.target.base()),
            },
        };
        let body = match self.target.get_url(&url).await {
            Ok(b) => b,
            // The deltaLink expired (Graph: 410 Gone, syncStateNotFound / resyncRequired).
            Err(ConnectorError::Refused { status: 410, .. }) if from.is_some() => return Ok(Read::Expired),
            Err(e) => return Err(e),
        };
        let bad = |detail: &str| ConnectorError::BadResponse { url: url.clone(), expected: "a delta page", detail: detail.to_owned() };
        let values = body.get("value").and_then(Value::as_array).ok_or_else(|| bad("no value"))?;
        let mut items = gather(pending.into_iter().chain(values.iter().filter_map(|v| entry(kind, v, full))), full);
        let (at, more) = match (body.get("@odata.nextLink").and_then(Value::as_str), body.get("@odata.deltaLink").and_then(Value::as_str)) {
            (Some(next), _) => (next, true),
            (None, Some(delta)) => (delta, false),
            (None, None) => return Err(bad("neither @odata.nextLink nor @odata.deltaLink")),
        };
        let mut at = Value::String(at.to_owned());
        // The group ending a page of a full round may go on in the next: held back.
        if full && more && items.last().is_some_and(|i| i.kind == ObjectKind::Group && matches!(i.is, Is::Live { .. })) {
            let held = items.pop().and_then(|i| serde_json::to_value(i).ok());
            at = serde_json::json!({ "next": at, "pending": held });
        }
        Ok(Read::Batch(Batch { items, at, more }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    #[test]
    fn delta_entries_are_read_as_graph_means_them() {
        let u = entry(ObjectKind::User, &json!({"id": "1", "userPrincipalName": "a@x", "jobTitle": null, "extra": 1}), false).unwrap();
        let Is::Live { attributes, .. } = u.is else { panic!() };
        assert_eq!(Value::Object(attributes), json!({"userPrincipalName": "a@x", "jobTitle": null}));
        assert_eq!(entry(ObjectKind::User, &json!({"id": "1", "@removed": {"reason": "changed"}}), false).unwrap().is, Is::Deleted);
        assert_eq!(entry(ObjectKind::User, &json!({"id": "1", "@removed": {"reason": "deleted"}}), false).unwrap().is, Is::Gone);
        let g = json!({"id": "g", "displayName": "G", "members@delta": [{"id": "1"}, {"id": "2", "@removed": {"reason": "deleted"}}, {"@odata.type": "#microsoft.graph.group", "id": "3"}]});
        let Is::Live { members, .. } = entry(ObjectKind::Group, &g, false).unwrap().is else { panic!() };
        assert_eq!(members, Some(Members::Delta { added: vec!["1".into()], removed: vec!["2".into()] }));
        let Is::Live { members, .. } = entry(ObjectKind::Group, &g, true).unwrap().is else { panic!() };
        assert_eq!(members, Some(Members::Full { ids: vec!["1".into()] }));
    }

    #[test]
    fn a_manager_is_read_from_manager_delta_or_an_expanded_manager() {
        let read = |v: Value| match entry(ObjectKind::User, &v, false).unwrap().is {
            Is::Live { manager, .. } => manager,
            _ => panic!(),
        };
        assert_eq!(read(json!({"id": "1", "manager@delta": [{"id": "m"}]})), Some(Some("m".into())));
        assert_eq!(read(json!({"id": "1", "manager@delta": []})), Some(None));
        assert_eq!(read(json!({"id": "1", "manager@delta": [{"id": "m", "@removed": {"reason": "deleted"}}]})), Some(None));
        assert_eq!(read(json!({"id": "1", "manager": {"id": "m"}})), Some(Some("m".into())));
        assert_eq!(read(json!({"id": "1"})), None, "nothing said: left as it is");
        assert!(user_select().contains("manager") && user_select().contains("businessPhones") && !user_select().contains("telephoneNumber"));
    }

    #[test]
    fn consecutive_appearances_of_a_group_add_up() {
        let part = |ids: &[&str]| {
            entry(ObjectKind::Group, &json!({"id": "g", "displayName": "G", "members@delta": ids.iter().map(|i| json!({"id": i})).collect::<Vec<_>>()}), true)
                .unwrap()
        };
        let mut held = part(&["3", "1"]);
        merge(&mut held, part(&["2", "1"]));
        let Is::Live { members, .. } = held.is else { panic!() };
        assert_eq!(members, Some(Members::Full { ids: vec!["1".into(), "2".into(), "3".into()] }));
        let (link, pending) = position(Some(&json!({"next": "u", "pending": part(&["1"])})));
        assert_eq!((link.as_deref(), pending.map(|p| p.external_id)), (Some("u"), Some("g".to_owned())));
    }

    #[test]
    fn a_page_s_appearances_of_a_group_are_one_item_wherever_they_are_on_it() {
        let group = |id: &str, ids: &[&str], full: bool| {
            entry(ObjectKind::Group, &json!({"id": id, "members@delta": ids.iter().map(|i| json!({"id": i})).collect::<Vec<_>>()}), full).unwrap()
        };
        let page = || vec![group("g", &["1"], true), group("h", &["9"], true), group("g", &["2"], true)];
        let items = gather(page().into_iter(), true);
        assert_eq!(items.iter().map(|i| i.external_id.as_str()).collect::<Vec<_>>(), ["g", "h"]);
        let Is::Live { members, .. } = &items[0].is else { panic!() };
        assert_eq!(members, &Some(Members::Full { ids: vec!["1".into(), "2".into()] }));
        // In a later round each appearance is its own additions and removals, kept apart.
        let later = vec![group("g", &["1"], false), group("h", &["9"], false), group("g", &["2"], false)];
        assert_eq!(gather(later.into_iter(), false).len(), 3);
    }
}
