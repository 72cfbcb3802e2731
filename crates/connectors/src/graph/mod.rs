//! Microsoft Graph as a target: a real Entra tenant, or any Graph-shaped API (tenantsync's
//! own `/v1.0` among them). Users are matched by `userPrincipalName` (or `mail`) before a
//! create, created with a random password that must change at first sign-in (a guest with
//! an address by a B2B invitation instead, matched by `mail`), updated by
//! `PATCH` of what changed (`null` for what went), disabled by `accountEnabled: false`
//! (or deleted); a user's manager is set by `PUT manager/$ref` and removed by `DELETE
//! manager/$ref` once both are there; groups are security groups whose members are
//! added and removed by `members/$ref`, 20 to a `$batch`. Credentials: a bearer token, or OAuth2 client credentials (token URL,
//! client id and secret), the token fetched and renewed before it expires.
mod render;

use crate::ConnectorError;
use crate::definition::{GraphAuth, GraphMatching, GraphSettings};
use crate::http::{Http, Req};
use crate::secret::{Secret, SecretKey};
use crate::target::{Discovery, ManagerRef, Resource, Target};
use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};
use tenantsync_domain::{Group, ObjectKind, User};
use tokio::sync::Mutex;

pub use render::nickname;

/// Where bearer tokens come from.
#[derive(Debug)]
enum Credentials {
    Token(Secret),
    Client { token_url: String, client_id: String, secret: Secret, scope: String, cached: Mutex<Option<(Secret, Instant)>> },
}

#[derive(Debug)]
pub struct GraphTarget {
    base: String,
    http: Http,
    credentials: Credentials,
    matching: GraphMatching,
    /// Whether the service takes `$batch` (until it answers 404 or 405 to one).
    batching: std::sync::atomic::AtomicBool,
}

fn collection(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::User => "users",
        ObjectKind::Group => "groups",
    }
}

/// An OData string literal.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A password Entra accepts (upper, lower, digit, symbol; 24 characters), never kept.
fn password() -> Result<String, ConnectorError> {
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes).map_err(|e| ConnectorError::SecretKey { reason: format!("no randomness: {e}") })?;
    use base64::Engine as _;
    Ok(format!("Ts1!{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
}

impl GraphTarget {
    pub fn new(settings: &GraphSettings, key: &SecretKey) -> Result<GraphTarget, ConnectorError> {
        settings.check()?;
        let http = Http::new(Duration::from_secs(u64::from(settings.timeout_secs)), usize::from(settings.max_in_flight), "application/json")?;
        let credentials = match &settings.auth {
            GraphAuth::Token { sealed_token } => Credentials::Token(key.open(sealed_token)?),
            GraphAuth::ClientCredentials { token_url, client_id, sealed_secret, scope } => Credentials::Client {
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                secret: key.open(sealed_secret)?,
                scope: scope.clone(),
                cached: Mutex::new(None),
            },
        };
        Ok(GraphTarget {
            base: settings.base_url.trim_end_matches('/').to_owned(),
            http,
            credentials,
            matching: settings.matching,
            batching: std::sync::atomic::AtomicBool::new(true),
        })
    }

    /// A bearer token: the fixed one, or a client-credentials token (renewed a minute
    /// before it expires).
    async fn bearer(&self) -> Result<Secret, ConnectorError> {
        match &self.credentials {
            Credentials::Token(t) => Ok(t.clone()),
            Credentials::Client { token_url, client_id, secret, scope, cached } => {
                let mut cached = cached.lock().await;
                if let Some((t, until)) = cached.as_ref()
                    && Instant::now() < *until
                {
                    return Ok(t.clone());
                }
                let form =
                    [("grant_type", "client_credentials"), ("client_id", client_id.as_str()), ("client_secret", secret.expose()), ("scope", scope.as_str())];
                let body = self.http.call(Method::POST, token_url, Req { form: Some(&form), ..Req::default() }).await.map_err(|e| match e {
                    // A token endpoint refuses bad client credentials with 400/401.
                    ConnectorError::Refused { status: 400 | 401, url, .. } => ConnectorError::AuthFailed { url, status: 401 },
                    e => e,
                })?;
                let token = body.get("access_token").and_then(Value::as_str).ok_or_else(|| ConnectorError::BadResponse {
                    url: token_url.clone(),
                    expected: "an OAuth2 token response",
                    detail: "no access_token".into(),
                })?;
                let lifetime = body.get("expires_in").and_then(Value::as_u64).unwrap_or(3600);
                let token = Secret::new(token);
                *cached = Some((token.clone(), Instant::now() + Duration::from_secs(lifetime.saturating_sub(60).max(1))));
                Ok(token)
            }
        }
    }

    /// A `GET` of an absolute URL the service gave (a delta query's nextLink or
    /// deltaLink), with the connector's credentials.
    pub(crate) async fn get_url(&self, url: &str) -> Result<Value, ConnectorError> {
        let token = self.bearer().await?;
        self.http.call(Method::GET, url, Req { bearer: Some(token.expose()), ..Req::default() }).await
    }

    /// The API's base URL.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    async fn call(&self, method: Method, path: &str, query: &[(&str, &str)], body: Option<&Value>) -> Result<Value, ConnectorError> {
        let token = self.bearer().await?;
        let url = format!("{}/{path}", self.base);
        self.http.call(method, &url, Req { query, json: body, bearer: Some(token.expose()), ..Req::default() }).await
    }

    fn member_ids(r: Option<&Resource>) -> Vec<String> {
        r.and_then(|r| r.get("members")).and_then(Value::as_array).map(|m| m.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default()
    }

    /// Adds and removes members so the group holds `new`'s; `old` is what it held (`None`:
    /// unknown, read from the service). The `$ref` requests go 20 to a `$batch` (a group
    /// of a thousand members is 50 requests, not a thousand).
    async fn sync_members(&self, id: &str, old: Option<&Resource>, new: &Resource) -> Result<(), ConnectorError> {
        let want = Self::member_ids(Some(new));
        let had = match old {
            Some(o) => Self::member_ids(Some(o)),
            None => self.read_members(id).await?,
        };
        let mut requests = Vec::new();
        for m in want.iter().filter(|m| !had.contains(m)) {
            let body = json!({"@odata.id": format!("{}/directoryObjects/{m}", self.base)});
            requests.push(Sub { method: Method::POST, path: format!("groups/{id}/members/$ref"), body: Some(body) });
        }
        for m in had.iter().filter(|m| !want.contains(m)) {
            requests.push(Sub { method: Method::DELETE, path: format!("groups/{id}/members/{m}/$ref"), body: None });
        }
        for (sub, result) in requests.iter().zip(self.batch(&requests).await?) {
            match (result, &sub.method) {
                // Already a member (a repeat after a crash), or no longer one: as wanted.
                (Ok(_) | Err(ConnectorError::Refused { status: 400 | 409, .. }), &Method::POST) => {}
                (Ok(_) | Err(ConnectorError::Refused { status: 404, .. }), &Method::DELETE) => {}
                (Err(e), _) => return Err(e),
                (Ok(_), _) => {}
            }
        }
        Ok(())
    }

    /// Runs `requests` 20 to a `POST $batch`, each answered as on its own: `Ok` with its
    /// body for a 2xx, the error its status means otherwise (429 is
    /// [`ConnectorError::Throttled`] with its `Retry-After`). A service without `$batch`
    /// (404 or 405 to it) is sent them one by one.
    async fn batch(&self, requests: &[Sub]) -> Result<Vec<Result<Value, ConnectorError>>, ConnectorError> {
        let mut out = Vec::with_capacity(requests.len());
        for chunk in requests.chunks(BATCH) {
            if chunk.len() == 1 || !self.batching.load(std::sync::atomic::Ordering::Relaxed) {
                for r in chunk {
                    out.push(self.call(r.method.clone(), &r.path, &[], r.body.as_ref()).await);
                }
                continue;
            }
            let body = json!({ "requests": chunk.iter().enumerate().map(|(i, r)| {
                let mut o = Map::new();
                o.insert("id".into(), json!(i.to_string()));
                o.insert("method".into(), json!(r.method.as_str()));
                o.insert("url".into(), json!(format!("/{}", r.path)));
                if let Some(b) = &r.body {
                    o.insert("body".into(), b.clone());
                    o.insert("headers".into(), json!({ "Content-Type": "application/json" }));
                }
                Value::Object(o)
            }).collect::<Vec<_>>() });
            let answer = match self.call(Method::POST, "$batch", &[], Some(&body)).await {
                Ok(a) => a,
                Err(ConnectorError::Refused { status: 404 | 405, .. }) => {
                    self.batching.store(false, std::sync::atomic::Ordering::Relaxed);
                    for r in chunk {
                        out.push(self.call(r.method.clone(), &r.path, &[], r.body.as_ref()).await);
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            let url = format!("{}/$batch", self.base);
            let responses = answer.get("responses").and_then(Value::as_array).ok_or_else(|| ConnectorError::BadResponse {
                url: url.clone(),
                expected: "a batch answer with responses",
                detail: answer.to_string(),
            })?;
            for (i, r) in chunk.iter().enumerate() {
                let one =
                    responses.iter().find(|x| x.get("id").and_then(Value::as_str) == Some(&i.to_string())).ok_or_else(|| ConnectorError::BadResponse {
                        url: url.clone(),
                        expected: "a response for every request of the batch",
                        detail: format!("none for request {i}"),
                    })?;
                let status = one.get("status").and_then(Value::as_u64).and_then(|s| u16::try_from(s).ok()).unwrap_or(0);
                let body = one.get("body").cloned().unwrap_or(Value::Null);
                let sub_url = format!("{}/{}", self.base, r.path);
                out.push(match status {
                    200..=299 => Ok(body),
                    429 => {
                        let secs = one
                            .pointer("/headers/Retry-After")
                            .or_else(|| one.pointer("/headers/retry-after"))
                            .and_then(Value::as_str)
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(1);
                        Err(ConnectorError::Throttled { url: sub_url, retry_after: Duration::from_secs(secs) })
                    }
                    400..=499 => Err(ConnectorError::Refused { url: sub_url, status, detail: body.to_string() }),
                    _ => Err(ConnectorError::BadResponse { url: sub_url, expected: "a 2xx or 4xx answer in the batch", detail: format!("{status} {body}") }),
                });
            }
        }
        Ok(out)
    }

    /// Brings user `id`'s manager from `old` (what was sent; `None`: unknown) to `new`'s:
    /// `PUT …/manager/$ref`, or `DELETE …/manager/$ref` (none there is as wanted).
    async fn sync_manager(&self, id: &str, old: Option<&Resource>, new: &Resource) -> Result<(), ConnectorError> {
        let want = new.get("manager").and_then(Value::as_str);
        let had = old.map(|o| o.get("manager").and_then(Value::as_str));
        if had == Some(want) {
            return Ok(());
        }
        match want {
            Some(m) => {
                let body = json!({"@odata.id": format!("{}/users/{m}", self.base)});
                match self.call(Method::PUT, &format!("users/{id}/manager/$ref"), &[], Some(&body)).await {
                    Ok(_) => Ok(()),
                    // The manager is not in the service (deleted behind our back): this
                    // user's fault, not the user's absence.
                    Err(ConnectorError::Refused { status: 404, url, detail }) => {
                        Err(ConnectorError::Refused { status: 422, url, detail: format!("the manager '{m}' is not there: {detail}") })
                    }
                    Err(e) => Err(e),
                }
            }
            None => match self.call(Method::DELETE, &format!("users/{id}/manager/$ref"), &[], None).await {
                // No manager there (or the user gone: the update's own 404 tells that).
                Ok(_) | Err(ConnectorError::Refused { status: 404, .. }) => Ok(()),
                Err(e) => Err(e),
            },
        }
    }

    /// A group's members as the service lists them, page by page.
    async fn read_members(&self, id: &str) -> Result<Vec<String>, ConnectorError> {
        let mut out = Vec::new();
        let mut page = self.call(Method::GET, &format!("groups/{id}/members"), &[("$select", "id")], None).await?;
        loop {
            out.extend(page.get("value").and_then(Value::as_array).into_iter().flatten().filter_map(|m| m.get("id")?.as_str().map(str::to_owned)));
            let Some(next) = page.get("@odata.nextLink").and_then(Value::as_str).map(str::to_owned) else { return Ok(out) };
            let token = self.bearer().await?;
            page = self.http.call(Method::GET, &next, Req { bearer: Some(token.expose()), ..Req::default() }).await?;
        }
    }
}

impl GraphTarget {
    /// A guest made the B2B way: `POST invitations` of its address (no mail sent: the
    /// sync invites on the organization's behalf, as Entra's cross-tenant sync does),
    /// then its other properties by `PATCH` and its manager. Inviting an address the
    /// service knows answers with that user, so a repeat after a crash makes no second.
    async fn invite(&self, resource: &Resource) -> Result<String, ConnectorError> {
        let invitation = json!({
            "invitedUserEmailAddress": resource.get("mail"),
            "invitedUserDisplayName": resource.get("displayName"),
            "invitedUserType": "Guest",
            "inviteRedirectUrl": INVITE_REDIRECT,
            "sendInvitationMessage": false,
        });
        let made = self.call(Method::POST, "invitations", &[], Some(&invitation)).await?;
        let id = made.pointer("/invitedUser/id").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| ConnectorError::BadResponse {
            url: format!("{}/invitations", self.base),
            expected: "an invitation with invitedUser's id",
            detail: made.to_string(),
        })?;
        let mut rest = changes(None, resource);
        for k in ["mail", "userType", "displayName"] {
            rest.remove(k);
        }
        self.call(Method::PATCH, &format!("users/{id}"), &[], Some(&Value::Object(rest))).await?;
        self.sync_manager(&id, Some(&Resource::new()), resource).await?;
        Ok(id)
    }
}

/// One request of a `$batch`: its method, its path under the API's base and its body.
#[derive(Debug)]
struct Sub {
    method: Method,
    path: String,
    body: Option<Value>,
}

/// Graph's limit on the requests of one `$batch`.
const BATCH: usize = 20;

/// Where an invited guest lands after redeeming (Entra requires one): My Apps.
const INVITE_REDIRECT: &str = "https://myapps.microsoft.com";

/// The body of a `PATCH` that brings `old` to `new` (members and manager aside).
fn changes(old: Option<&Resource>, new: &Resource) -> Map<String, Value> {
    let beside = |k: &str| render::BESIDE.contains(&k);
    let mut out = Map::new();
    for (k, v) in new {
        if !beside(k) && old.and_then(|o| o.get(k)) != Some(v) {
            out.insert(k.clone(), v.clone());
        }
    }
    if let Some(old) = old {
        for k in old.keys() {
            if !beside(k) && !new.contains_key(k) {
                out.insert(k.clone(), Value::Null);
            }
        }
    }
    out
}

#[async_trait]
impl Target for GraphTarget {
    async fn discover(&self) -> Result<Discovery, ConnectorError> {
        let mut facts = Vec::new();
        if let Credentials::Client { token_url, .. } = &self.credentials {
            self.bearer().await?;
            facts.push(format!("token issued by {token_url} for the client credentials"));
        }
        let users = self.call(Method::GET, "users", &[("$top", "1"), ("$select", "id")], None).await?;
        if users.get("value").and_then(Value::as_array).is_none() {
            return Err(ConnectorError::BadResponse { url: format!("{}/users", self.base), expected: "a Graph collection", detail: users.to_string() });
        }
        facts.push(format!("reachable: {} answers /users; credentials accepted", self.base));
        let groups = self.call(Method::GET, "groups", &[("$top", "1"), ("$select", "id")], None).await?;
        facts.push(format!("groups readable: {}", groups.get("value").is_some()));
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
            // An invited guest's userPrincipalName is the service's: its address is its key.
            ObjectKind::User if render::invited(resource) => "mail",
            ObjectKind::User => self.matching.attribute(),
            ObjectKind::Group => "displayName",
        };
        let Some(value) = resource.get(attribute).and_then(Value::as_str) else { return Ok(None) };
        let filter = format!("{attribute} eq {}", literal(value));
        let body = self.call(Method::GET, collection(kind), &[("$filter", &filter), ("$select", "id")], None).await?;
        Ok(body.get("value").and_then(Value::as_array).and_then(|v| v.first()).and_then(|o| o.get("id")).and_then(Value::as_str).map(str::to_owned))
    }

    async fn create(&self, kind: ObjectKind, resource: &Resource) -> Result<String, ConnectorError> {
        if kind == ObjectKind::User && render::invited(resource) {
            return self.invite(resource).await;
        }
        let mut body = resource.clone();
        for k in render::BESIDE {
            body.remove(k);
        }
        if kind == ObjectKind::User {
            body.insert("passwordProfile".into(), json!({"forceChangePasswordNextSignIn": true, "password": password()?}));
        }
        let made = self.call(Method::POST, collection(kind), &[], Some(&Value::Object(body))).await?;
        let id = made.get("id").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| ConnectorError::BadResponse {
            url: format!("{}/{}", self.base, collection(kind)),
            expected: "the created object with its id",
            detail: made.to_string(),
        })?;
        match kind {
            ObjectKind::Group => self.sync_members(&id, Some(&Resource::new()), resource).await?,
            ObjectKind::User => self.sync_manager(&id, Some(&Resource::new()), resource).await?,
        }
        Ok(id)
    }

    async fn update(&self, kind: ObjectKind, external_id: &str, old: Option<&Resource>, new: &Resource) -> Result<(), ConnectorError> {
        let patch = changes(old, new);
        if !patch.is_empty() {
            self.call(Method::PATCH, &format!("{}/{external_id}", collection(kind)), &[], Some(&Value::Object(patch))).await?;
        }
        if kind == ObjectKind::Group && Self::member_ids(old) != Self::member_ids(Some(new)) {
            self.sync_members(external_id, old, new).await?;
        }
        if kind == ObjectKind::User {
            self.sync_manager(external_id, old, new).await?;
        }
        Ok(())
    }

    async fn delete(&self, kind: ObjectKind, external_id: &str) -> Result<(), ConnectorError> {
        match self.call(Method::DELETE, &format!("{}/{external_id}", collection(kind)), &[], None).await {
            Ok(_) | Err(ConnectorError::Refused { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_patch_carries_what_changed_and_nulls_what_went() {
        let old = json!({"displayName": "A", "jobTitle": "Dev", "members": ["1"], "manager": "m1"}).as_object().unwrap().clone();
        let new = json!({"displayName": "A B", "members": ["2"]}).as_object().unwrap().clone();
        assert_eq!(Value::Object(changes(Some(&old), &new)), json!({"displayName": "A B", "jobTitle": null}));
        assert!(changes(Some(&new), &new).is_empty());
    }

    #[test]
    fn literals_and_nicknames_are_what_graph_accepts() {
        assert_eq!(literal("o'brien@x"), "'o''brien@x'");
        assert_eq!(nickname("alice_contoso.example#EXT#"), "alice_contoso.exampleEXT");
        assert_eq!(nickname("###"), "object");
        let p = password().unwrap();
        assert!(p.len() >= 24 && p.chars().any(|c| c.is_ascii_digit()) && p.contains('!'));
    }
}
