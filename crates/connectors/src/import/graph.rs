//! Microsoft Graph as a source: delta queries. `/users/delta` and `/groups/delta` are
//! read page by page (`@odata.nextLink`); the round's last page gives the
//! `@odata.deltaLink`, kept as the watermark, from which the next round reads only what
//! changed. An object removed is `{"id", "@removed": {"reason"}}`: `changed` (it can be
//! restored) soft-deletes it here, `deleted` deletes it for good. Groups carry
//! `members@delta`: every member in a full round, the members added and removed (with
//! `@removed`) in later ones. A deltaLink the service no longer knows (410 Gone) starts
//! a full round and a reconciliation.
use super::{Batch, Incoming, Is, Members, Read, Source};
use crate::ConnectorError;
use crate::graph::GraphTarget;
use async_trait::async_trait;
use serde_json::{Map, Value};
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
/// (a reference, not in a user's delta) and externalId (tenantsync's own field).
fn user_properties() -> impl Iterator<Item = &'static str> {
    UserAttribute::ALL.iter().filter(|a| !matches!(a, UserAttribute::Manager | UserAttribute::ExternalId)).map(|a| a.name())
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
            Is::Live { attributes, manager: None, members: None }
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
                (true, _) => Some(Members::Full { ids: added }),
                (false, true) => Some(Members::Delta { added, removed }),
                (false, false) => None,
            };
            Is::Live { attributes: properties(o, group_properties()), manager: None, members }
        }
    };
    Some(Incoming { kind, external_id, is })
}

#[async_trait]
impl Source for GraphSource {
    async fn read(&self, kind: ObjectKind, from: Option<&Value>, full: bool) -> Result<Read, ConnectorError> {
        let url = match from.and_then(Value::as_str) {
            Some(u) => u.to_owned(),
            None => format!(
                "{}/{}/delta",
                self.target.base(),
                match kind {
                    ObjectKind::User => "users",
                    ObjectKind::Group => "groups",
                }
            ),
        };
        let body = match self.target.get_url(&url).await {
            Ok(b) => b,
            // The deltaLink expired (Graph: 410 Gone, syncStateNotFound / resyncRequired).
            Err(ConnectorError::Refused { status: 410, .. }) if from.is_some() => return Ok(Read::Expired),
            Err(e) => return Err(e),
        };
        let bad = |detail: &str| ConnectorError::BadResponse { url: url.clone(), expected: "a delta page", detail: detail.to_owned() };
        let values = body.get("value").and_then(Value::as_array).ok_or_else(|| bad("no value"))?;
        let items = values.iter().filter_map(|v| entry(kind, v, full)).collect();
        let (at, more) = match (body.get("@odata.nextLink").and_then(Value::as_str), body.get("@odata.deltaLink").and_then(Value::as_str)) {
            (Some(next), _) => (next, true),
            (None, Some(delta)) => (delta, false),
            (None, None) => return Err(bad("neither @odata.nextLink nor @odata.deltaLink")),
        };
        Ok(Read::Batch(Batch { items, at: Value::String(at.to_owned()), more }))
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
}
