//! A SCIM 2.0 service as a target, the way Entra's app provisioning drives one: users
//! matched by `userName` (or `externalId`) before a create, `externalId` = the object's
//! id in its tenant, updates as PATCH with only what changed, groups' members added and
//! removed by PATCH, deprovisioning as `active: false` (or DELETE).
mod render;

use crate::ConnectorError;
use crate::definition::{Matching, ScimSettings};
use crate::http::{Http, Req};
use crate::secret::Secret;
use crate::target::{Discovery, ManagerRef, Resource, Target};
use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use tenantsync_domain::{Group, ObjectKind, User};

pub use render::{CORE_GROUP, CORE_USER, ENTERPRISE_USER};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Debug)]
pub struct ScimTarget {
    base: String,
    http: Http,
    token: Option<Secret>,
    matching: Matching,
}

fn endpoint(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::User => "Users",
        ObjectKind::Group => "Groups",
    }
}

/// A SCIM filter's string literal.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl ScimTarget {
    pub fn new(settings: &ScimSettings, token: Option<Secret>) -> Result<ScimTarget, ConnectorError> {
        settings.check()?;
        let http =
            Http::new(Duration::from_secs(u64::from(settings.timeout_secs)), usize::from(settings.max_in_flight), "application/scim+json, application/json")?;
        Ok(ScimTarget { base: settings.base_url.trim_end_matches('/').to_owned(), http, token, matching: settings.matching })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// A `GET` of one of the service's endpoints (`Users`, `Groups`) with a query.
    pub(crate) async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, ConnectorError> {
        self.call(Method::GET, &self.url(path), query, None).await
    }

    async fn call(&self, method: Method, url: &str, query: &[(&str, &str)], body: Option<&Value>) -> Result<Value, ConnectorError> {
        let req = Req { query, json: body, bearer: self.token.as_ref().map(Secret::expose), content_type: Some("application/scim+json"), form: None };
        self.http.call(method, url, req).await
    }

    fn bad(&self, url: String, expected: &'static str, body: &Value) -> ConnectorError {
        ConnectorError::BadResponse { url, expected, detail: body.to_string().chars().take(200).collect() }
    }
}

/// The PATCH operations that bring `old` to `new`: one `replace` of every attribute that
/// changed or appeared, a `remove` of each that went; a group's members as `add` and
/// `remove` of the members that differ.
pub fn patch_ops(old: Option<&Resource>, new: &Resource) -> Vec<Value> {
    let empty = Resource::new();
    let old = old.unwrap_or(&empty);
    let mut replace = serde_json::Map::new();
    let mut ops = Vec::new();
    for (k, v) in new {
        if k == "schemas" || k == "members" || old.get(k) == Some(v) {
            continue;
        }
        replace.insert(k.clone(), v.clone());
    }
    for k in old.keys() {
        if k != "schemas" && k != "members" && !new.contains_key(k) {
            ops.push(json!({"op": "remove", "path": k}));
        }
    }
    if !replace.is_empty() {
        ops.insert(0, json!({"op": "replace", "value": Value::Object(replace)}));
    }
    let ids = |r: &Resource| -> Vec<String> {
        r.get("members").and_then(Value::as_array).map(|m| m.iter().filter_map(|x| x.get("value")?.as_str().map(str::to_owned)).collect()).unwrap_or_default()
    };
    // A group sent for the first time through `update` (found, not created) gets its
    // members replaced whole; otherwise only the difference.
    if new.contains_key("members") {
        let (before, after) = (ids(old), ids(new));
        if old.is_empty() {
            ops.push(json!({"op": "replace", "path": "members", "value": after.iter().map(|v| json!({"value": v})).collect::<Vec<_>>()}));
        } else {
            let added: Vec<Value> = after.iter().filter(|v| !before.contains(v)).map(|v| json!({"value": v})).collect();
            if !added.is_empty() {
                ops.push(json!({"op": "add", "path": "members", "value": added}));
            }
            for gone in before.iter().filter(|v| !after.contains(v)) {
                ops.push(json!({"op": "remove", "path": format!("members[value eq {}]", quoted(gone))}));
            }
        }
    }
    ops
}

#[async_trait]
impl Target for ScimTarget {
    async fn discover(&self) -> Result<Discovery, ConnectorError> {
        let mut facts = Vec::new();
        let url = self.url("ServiceProviderConfig");
        let spc = self.call(Method::GET, &url, &[], None).await?;
        if !spc.is_object() {
            return Err(self.bad(url, "a ServiceProviderConfig", &spc));
        }
        let supported = |k: &str| spc.get(k).and_then(|v| v.get("supported")).and_then(Value::as_bool).unwrap_or(false);
        facts.push(format!(
            "reachable: {} answers ServiceProviderConfig (patch {}, filter {}, bulk {}, etag {})",
            self.base,
            supported("patch"),
            supported("filter"),
            supported("bulk"),
            supported("etag")
        ));
        if !supported("patch") {
            facts.push("warning: the service does not say it supports PATCH; updates need it".into());
        }
        let url = self.url("Users");
        let users = self.call(Method::GET, &url, &[("count", "1")], None).await?;
        let total = users.get("totalResults").and_then(Value::as_u64).ok_or_else(|| self.bad(url.clone(), "a ListResponse", &users))?;
        facts.push(format!("credentials accepted: {total} users readable"));
        let url = self.url("ResourceTypes");
        if let Ok(body) = self.call(Method::GET, &url, &[], None).await {
            let list = body.get("Resources").and_then(Value::as_array).cloned().or_else(|| body.as_array().cloned()).unwrap_or_default();
            let names: Vec<String> = list.iter().filter_map(|r| r.get("name").and_then(Value::as_str).map(str::to_owned)).collect();
            let enterprise = list.iter().any(|r| r.to_string().contains(ENTERPRISE_USER));
            facts.push(format!("resource types: {} (enterprise user extension: {})", names.join(", "), if enterprise { "yes" } else { "no" }));
        }
        Ok(Discovery { facts })
    }

    fn render_user(&self, user: &User, manager: ManagerRef<'_>) -> Resource {
        render::user(user, manager)
    }

    fn render_group(&self, group: &Group, members: &[String]) -> Resource {
        render::group(group, members)
    }

    async fn find(&self, kind: ObjectKind, resource: &Resource) -> Result<Option<String>, ConnectorError> {
        let attribute = match kind {
            ObjectKind::User => self.matching.attribute(),
            ObjectKind::Group => "displayName",
        };
        let Some(value) = resource.get(attribute).and_then(Value::as_str) else { return Ok(None) };
        let filter = format!("{attribute} eq {}", quoted(value));
        let url = self.url(endpoint(kind));
        let body = self.call(Method::GET, &url, &[("filter", &filter), ("attributes", "id")], None).await?;
        let found = body.get("Resources").and_then(Value::as_array).ok_or_else(|| self.bad(url.clone(), "a ListResponse", &body))?;
        Ok(found.first().and_then(|r| r.get("id")).and_then(Value::as_str).map(str::to_owned))
    }

    async fn create(&self, kind: ObjectKind, resource: &Resource) -> Result<String, ConnectorError> {
        let url = self.url(endpoint(kind));
        let body = self.call(Method::POST, &url, &[], Some(&Value::Object(resource.clone()))).await?;
        body.get("id").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| self.bad(url, "the created resource with its id", &body))
    }

    async fn update(&self, kind: ObjectKind, external_id: &str, old: Option<&Resource>, new: &Resource) -> Result<(), ConnectorError> {
        let ops = patch_ops(old, new);
        if ops.is_empty() {
            return Ok(());
        }
        let url = self.url(&format!("{}/{external_id}", endpoint(kind)));
        let body = json!({"schemas": [PATCH_OP], "Operations": ops});
        self.call(Method::PATCH, &url, &[], Some(&body)).await.map(|_| ())
    }

    async fn delete(&self, kind: ObjectKind, external_id: &str) -> Result<(), ConnectorError> {
        let url = self.url(&format!("{}/{external_id}", endpoint(kind)));
        match self.call(Method::DELETE, &url, &[], None).await {
            Ok(_) | Err(ConnectorError::Refused { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn res(v: Value) -> Resource {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_patch_carries_only_what_changed() {
        let old = res(json!({"schemas": ["x"], "userName": "a", "title": "Dev", "displayName": "A"}));
        let new = res(json!({"schemas": ["x"], "userName": "a", "displayName": "A B", "active": false}));
        let ops = patch_ops(Some(&old), &new);
        assert_eq!(ops, vec![json!({"op": "replace", "value": {"displayName": "A B", "active": false}}), json!({"op": "remove", "path": "title"})]);
        assert!(patch_ops(Some(&new), &new).is_empty());
    }

    #[test]
    fn members_are_added_and_removed_by_difference() {
        let old = res(json!({"displayName": "G", "members": [{"value": "1"}, {"value": "2"}]}));
        let new = res(json!({"displayName": "G", "members": [{"value": "2"}, {"value": "3"}]}));
        assert_eq!(
            patch_ops(Some(&old), &new),
            vec![json!({"op": "add", "path": "members", "value": [{"value": "3"}]}), json!({"op": "remove", "path": "members[value eq \"1\"]"})]
        );
        // Nothing known of the group in the system: its members are replaced whole.
        let ops = patch_ops(None, &new);
        assert_eq!(ops[1], json!({"op": "replace", "path": "members", "value": [{"value": "2"}, {"value": "3"}]}));
    }

    #[test]
    fn filter_literals_are_escaped() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
