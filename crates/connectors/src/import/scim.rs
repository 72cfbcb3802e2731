//! A SCIM 2.0 service as a source, by polling: `GET /Users` and `/Groups` with
//! `filter=meta.lastModified gt "<watermark>"`, a page (`startIndex`, `count`) at a
//! time; the watermark is the newest `meta.lastModified` read. A full read (the first,
//! and every reconciliation, which finds what was deleted: SCIM tells no deletions) asks
//! without the filter. Resources read back as the export renders them: `userName` is the
//! userPrincipalName, `active` accountEnabled, the enterprise extension's `manager` and
//! a group's `members` name users by their SCIM `id`, the external id.
use super::{Batch, Incoming, Is, Members, Read, Source};
use crate::ConnectorError;
use crate::scim::{ENTERPRISE_USER, ScimTarget};
use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use tenantsync_domain::ObjectKind;

/// Resources asked for per page.
const PAGE: u64 = 200;

#[derive(Debug)]
pub struct ScimSource {
    target: ScimTarget,
}

impl ScimSource {
    pub fn new(target: ScimTarget) -> ScimSource {
        ScimSource { target }
    }
}

fn text(v: Option<&Value>) -> Value {
    match v.and_then(Value::as_str).map(str::trim) {
        Some(s) if !s.is_empty() => json!(s),
        _ => Value::Null,
    }
}

/// The element of a multi-valued attribute of this `type` (else the primary one, else
/// the first, when `fallback`).
fn pick<'a>(list: Option<&'a Value>, kind: &str, fallback: bool) -> Option<&'a Value> {
    let list = list?.as_array()?;
    list.iter()
        .find(|x| x.get("type").and_then(Value::as_str) == Some(kind))
        .or_else(|| fallback.then(|| list.iter().find(|x| x.get("primary") == Some(&json!(true))).or(list.first())).flatten())
}

/// A SCIM user as tenantsync's attributes, and its manager's id.
pub fn user(r: &Value) -> (Map<String, Value>, Option<String>) {
    let mut a = Map::new();
    a.insert("userPrincipalName".into(), text(r.get("userName")));
    a.insert("accountEnabled".into(), json!(r.get("active").and_then(Value::as_bool).unwrap_or(true)));
    a.insert("displayName".into(), text(r.get("displayName")));
    let name = r.get("name");
    a.insert("givenName".into(), text(name.and_then(|n| n.get("givenName"))));
    a.insert("surname".into(), text(name.and_then(|n| n.get("familyName"))));
    a.insert("mail".into(), text(pick(r.get("emails"), "work", true).and_then(|e| e.get("value"))));
    a.insert("jobTitle".into(), text(r.get("title")));
    a.insert("preferredLanguage".into(), text(r.get("preferredLanguage")));
    if let Some(t) = r.get("userType").and_then(Value::as_str).and_then(tenantsync_domain::UserType::parse) {
        a.insert("userType".into(), json!(t.as_str()));
    }
    a.insert("telephoneNumber".into(), text(pick(r.get("phoneNumbers"), "work", false).and_then(|p| p.get("value"))));
    a.insert("mobilePhone".into(), text(pick(r.get("phoneNumbers"), "mobile", false).and_then(|p| p.get("value"))));
    let address = pick(r.get("addresses"), "work", true);
    for (scim, ours) in [("streetAddress", "streetAddress"), ("locality", "city"), ("region", "state"), ("postalCode", "postalCode"), ("country", "country")] {
        a.insert(ours.into(), text(address.and_then(|x| x.get(scim))));
    }
    let enterprise = r.get(ENTERPRISE_USER);
    for (scim, ours) in [("employeeNumber", "employeeId"), ("department", "department"), ("organization", "companyName")] {
        a.insert(ours.into(), text(enterprise.and_then(|e| e.get(scim))));
    }
    let manager = enterprise.and_then(|e| e.get("manager")).and_then(|m| m.get("value")).and_then(Value::as_str).map(str::to_owned);
    (a, manager)
}

/// A SCIM group as tenantsync's attributes and its members' ids (users only).
pub fn group(r: &Value) -> (Map<String, Value>, Vec<String>) {
    let mut a = Map::new();
    a.insert("displayName".into(), text(r.get("displayName")));
    let members = r
        .get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|m| m.get("type").and_then(Value::as_str).is_none_or(|t| t.eq_ignore_ascii_case("user")))
        .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
        .collect();
    (a, members)
}

fn newer(a: Option<String>, b: Option<&str>) -> Option<String> {
    let parse = |s: &str| s.parse::<Timestamp>().ok();
    match (a, b) {
        (Some(a), Some(b)) if parse(b) > parse(&a) => Some(b.to_owned()),
        (None, Some(b)) => Some(b.to_owned()),
        (a, _) => a,
    }
}

#[async_trait]
impl Source for ScimSource {
    async fn read(&self, kind: ObjectKind, from: Option<&Value>, _full: bool) -> Result<Read, ConnectorError> {
        let since = from.and_then(|v| v.get("since")).and_then(Value::as_str).map(str::to_owned);
        let start = from.and_then(|v| v.get("start")).and_then(Value::as_u64).unwrap_or(1);
        let mut newest = from.and_then(|v| v.get("newest")).and_then(Value::as_str).map(str::to_owned).or_else(|| since.clone());
        let endpoint = match kind {
            ObjectKind::User => "Users",
            ObjectKind::Group => "Groups",
        };
        let filter = since.as_ref().map(|t| format!("meta.lastModified gt \"{t}\""));
        let (start_text, count_text) = (start.to_string(), PAGE.to_string());
        let mut query = vec![("startIndex", start_text.as_str()), ("count", count_text.as_str())];
        if let Some(f) = &filter {
            query.push(("filter", f.as_str()));
        }
        let body = self.target.get(endpoint, &query).await?;
        let resources = body.get("Resources").and_then(Value::as_array).cloned().unwrap_or_default();
        let total = body.get("totalResults").and_then(Value::as_u64).ok_or_else(|| ConnectorError::BadResponse {
            url: endpoint.to_owned(),
            expected: "a ListResponse",
            detail: body.to_string().chars().take(200).collect(),
        })?;
        let mut items = Vec::with_capacity(resources.len());
        for r in &resources {
            let Some(external_id) = r.get("id").and_then(Value::as_str).map(str::to_owned) else { continue };
            newest = newer(newest, r.get("meta").and_then(|m| m.get("lastModified")).and_then(Value::as_str));
            let is = match kind {
                ObjectKind::User => {
                    let (attributes, manager) = user(r);
                    Is::Live { attributes, manager: Some(manager), members: None }
                }
                ObjectKind::Group => {
                    let (attributes, ids) = group(r);
                    Is::Live { attributes, manager: None, members: Some(Members::Full { ids }) }
                }
            };
            items.push(Incoming { kind, external_id, is });
        }
        let next = start + resources.len() as u64;
        let more = !resources.is_empty() && next <= total;
        let at = if more { json!({ "since": since, "start": next, "newest": newest }) } else { json!({ "since": newest }) };
        Ok(Read::Batch(Batch { items, at, more }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_scim_user_reads_as_tenantsyncs_attributes() {
        let mut r = json!({"id": "1", "userName": "a@x", "active": false, "name": {"givenName": "A"},
            "emails": [{"value": "a@x.example", "type": "work", "primary": true}],
            "phoneNumbers": [{"value": "1", "type": "mobile"}]});
        r[ENTERPRISE_USER] = json!({"department": "Sales", "manager": {"value": "2"}});
        let (a, m) = user(&r);
        assert_eq!((a["userPrincipalName"].as_str(), a["accountEnabled"].as_bool()), (Some("a@x"), Some(false)));
        assert_eq!((a["mail"].as_str(), a["mobilePhone"].as_str(), a["telephoneNumber"].as_str()), (Some("a@x.example"), Some("1"), None));
        assert_eq!((a["department"].as_str(), m.as_deref()), (Some("Sales"), Some("2")));
        assert_eq!(newer(Some("2026-01-01T00:00:00Z".into()), Some("2026-01-01T00:00:01.5Z")).as_deref(), Some("2026-01-01T00:00:01.5Z"));
    }
}
