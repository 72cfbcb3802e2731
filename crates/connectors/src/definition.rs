//! A connector's definition: which protocol, where, with which (sealed) credentials, and
//! how it matches and deprovisions. Stored as the document of a
//! [`ConnectorRecord`](tenantsync_store::ConnectorRecord); `Debug` and every output show
//! the secret as sealed, never in clear.
use crate::ConnectorError;
use crate::ldap::LdapSettings;
use serde::{Deserialize, Serialize};

/// Which way objects go. An **export** connector makes every object of its tenant
/// (written there by sync configurations, imports or admins) exist in the external
/// system, and follow it there. An **import** connector feeds its tenant from the
/// external system: what the system holds is written into the tenant through the store,
/// as internal users and groups, so the tenant can be the source of sync configurations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    #[default]
    Export,
    Import,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Export => "export",
            Direction::Import => "import",
        }
    }
}

/// How an import connector reads its system: how often it looks for changes, and how
/// often it reads everything to find what was deleted there (LDAP and SCIM tell no
/// deletions; Graph's delta does, and reconciles only when its deltaLink expired).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportOptions {
    /// Seconds between two reads of the changes (`serve`).
    #[serde(default = "default_poll")]
    pub poll_secs: u32,
    /// Seconds between two full reconciliations (0: only when the watermark is lost).
    #[serde(default = "default_reconcile")]
    pub reconcile_secs: u32,
}

fn default_poll() -> u32 {
    30
}

fn default_reconcile() -> u32 {
    3600
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions { poll_secs: default_poll(), reconcile_secs: default_reconcile() }
    }
}

impl ImportOptions {
    pub fn check(&self) -> Result<(), ConnectorError> {
        if !(1..=86_400).contains(&self.poll_secs) {
            return Err(ConnectorError::InvalidSettings { reason: format!("pollSecs is {}; it takes 1 to 86400", self.poll_secs) });
        }
        if self.reconcile_secs != 0 && self.reconcile_secs < self.poll_secs {
            return Err(ConnectorError::InvalidSettings {
                reason: format!("reconcileSecs ({}) is shorter than pollSecs ({}); give 0 or at least pollSecs", self.reconcile_secs, self.poll_secs),
            });
        }
        Ok(())
    }
}

/// The protocol and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "protocol", rename_all = "camelCase")]
pub enum Settings {
    Scim(ScimSettings),
    Graph(GraphSettings),
    Ldap(Box<LdapSettings>),
}

impl Settings {
    pub fn protocol(&self) -> &'static str {
        match self {
            Settings::Scim(_) => "scim",
            Settings::Graph(_) => "graph",
            Settings::Ldap(_) => "ldap",
        }
    }

    pub fn check(&self) -> Result<(), ConnectorError> {
        match self {
            Settings::Scim(s) => s.check(),
            Settings::Graph(s) => s.check(),
            Settings::Ldap(s) => s.check(),
        }
    }

    /// What a soft-deleted object becomes in the system.
    pub fn deprovision(&self) -> Deprovision {
        match self {
            Settings::Scim(s) => s.deprovision,
            Settings::Graph(s) => s.deprovision,
            Settings::Ldap(s) => s.deprovision,
        }
    }

    /// Calls in flight at once.
    pub fn in_flight(&self) -> usize {
        match self {
            Settings::Scim(s) => usize::from(s.max_in_flight).max(1),
            Settings::Graph(s) => usize::from(s.max_in_flight).max(1),
            Settings::Ldap(s) => usize::from(s.max_in_flight).max(1),
        }
    }
}

/// The attribute a SCIM connector matches existing users by before it creates one
/// (Entra's app provisioning matches on `userName` by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Matching {
    #[default]
    UserName,
    ExternalId,
}

impl Matching {
    pub fn parse(s: &str) -> Option<Matching> {
        match s {
            "userName" => Some(Matching::UserName),
            "externalId" => Some(Matching::ExternalId),
            _ => None,
        }
    }

    pub fn attribute(self) -> &'static str {
        match self {
            Matching::UserName => "userName",
            Matching::ExternalId => "externalId",
        }
    }
}

/// What a soft-deleted (or disabled-by-scope) object becomes in the external system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Deprovision {
    /// `active: false` (Entra's default for SCIM apps); a restore sets it back.
    #[default]
    Disable,
    /// `DELETE` at once.
    Delete,
}

impl Deprovision {
    pub fn parse(s: &str) -> Option<Deprovision> {
        match s {
            "disable" => Some(Deprovision::Disable),
            "delete" => Some(Deprovision::Delete),
            _ => None,
        }
    }
}

/// A SCIM 2.0 service as a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimSettings {
    /// The service's base URL (the one `/Users` and `/ServiceProviderConfig` hang off).
    pub base_url: String,
    /// The bearer token, sealed (see `secret.rs`); `None`: no authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_token: Option<String>,
    #[serde(default)]
    pub matching: Matching,
    #[serde(default)]
    pub deprovision: Deprovision,
    /// Requests in flight at once (keep-alive connections are reused).
    #[serde(default = "default_in_flight")]
    pub max_in_flight: u16,
    /// Every call's timeout.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u32,
}

fn default_in_flight() -> u16 {
    8
}

fn default_timeout() -> u32 {
    30
}

impl ScimSettings {
    pub fn new(base_url: &str) -> ScimSettings {
        ScimSettings {
            base_url: base_url.trim_end_matches('/').to_owned(),
            sealed_token: None,
            matching: Matching::default(),
            deprovision: Deprovision::default(),
            max_in_flight: default_in_flight(),
            timeout_secs: default_timeout(),
        }
    }

    pub fn check(&self) -> Result<(), ConnectorError> {
        check_url("the base URL", &self.base_url)?;
        check_limits(self.max_in_flight, self.timeout_secs)
    }
}

/// The attribute a Graph connector matches existing users by before it creates one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum GraphMatching {
    #[default]
    UserPrincipalName,
    Mail,
}

impl GraphMatching {
    pub fn parse(s: &str) -> Option<GraphMatching> {
        match s {
            "userPrincipalName" => Some(GraphMatching::UserPrincipalName),
            "mail" => Some(GraphMatching::Mail),
            _ => None,
        }
    }

    pub fn attribute(self) -> &'static str {
        match self {
            GraphMatching::UserPrincipalName => "userPrincipalName",
            GraphMatching::Mail => "mail",
        }
    }
}

/// How a Graph connector authenticates: a bearer token, or OAuth2 client credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum GraphAuth {
    #[serde(rename_all = "camelCase")]
    Token { sealed_token: String },
    #[serde(rename_all = "camelCase")]
    ClientCredentials { token_url: String, client_id: String, sealed_secret: String, scope: String },
}

/// A Microsoft Graph API (an Entra tenant, or any Graph-shaped API) as a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphSettings {
    /// The API's base (`https://graph.microsoft.com/v1.0`).
    pub base_url: String,
    pub auth: GraphAuth,
    #[serde(default)]
    pub matching: GraphMatching,
    #[serde(default)]
    pub deprovision: Deprovision,
    #[serde(default = "default_in_flight")]
    pub max_in_flight: u16,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u32,
}

/// Graph's default scope for client credentials.
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

impl GraphSettings {
    pub fn new(base_url: &str, auth: GraphAuth) -> GraphSettings {
        GraphSettings {
            base_url: base_url.trim_end_matches('/').to_owned(),
            auth,
            matching: GraphMatching::default(),
            deprovision: Deprovision::default(),
            max_in_flight: default_in_flight(),
            timeout_secs: default_timeout(),
        }
    }

    pub fn check(&self) -> Result<(), ConnectorError> {
        check_url("the base URL", &self.base_url)?;
        if let GraphAuth::ClientCredentials { token_url, client_id, .. } = &self.auth {
            check_url("the token URL", token_url)?;
            if client_id.trim().is_empty() {
                return Err(ConnectorError::InvalidSettings { reason: "the client id is empty".into() });
            }
        }
        check_limits(self.max_in_flight, self.timeout_secs)
    }
}

fn check_url(what: &str, url: &str) -> Result<(), ConnectorError> {
    let bad = |reason: String| Err(ConnectorError::InvalidSettings { reason });
    match url::Url::parse(url) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Ok(()),
        Ok(u) => bad(format!("{what} '{url}' is not http or https ({})", u.scheme())),
        Err(e) => bad(format!("{what} '{url}' does not parse: {e}")),
    }
}

fn check_limits(max_in_flight: u16, timeout_secs: u32) -> Result<(), ConnectorError> {
    let bad = |reason: String| Err(ConnectorError::InvalidSettings { reason });
    if !(1..=256).contains(&max_in_flight) {
        return bad(format!("maxInFlight is {max_in_flight}; it takes 1 to 256"));
    }
    if !(1..=600).contains(&timeout_secs) {
        return bad(format!("timeoutSecs is {timeout_secs}; it takes 1 to 600"));
    }
    Ok(())
}

/// The whole definition, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Definition {
    #[serde(default)]
    pub direction: Direction,
    #[serde(flatten)]
    pub settings: Settings,
    /// An import connector's polling and reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<ImportOptions>,
}

impl Definition {
    /// An import connector's options (the defaults when none were given).
    pub fn import_options(&self) -> ImportOptions {
        self.import.unwrap_or_default()
    }

    pub fn from_body(body: &serde_json::Value) -> Result<Definition, ConnectorError> {
        serde_json::from_value(body.clone()).map_err(|e| ConnectorError::InvalidSettings { reason: format!("stored definition: {e}") })
    }

    pub fn to_body(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The definition as shown: the sealed secret replaced by a marker.
    pub fn shown(&self) -> serde_json::Value {
        let mut body = self.to_body();
        seal_marks(&mut body);
        body
    }
}

/// Replaces every sealed secret of a definition's JSON by `(sealed)`.
fn seal_marks(v: &mut serde_json::Value) {
    if let Some(m) = v.as_object_mut() {
        for (k, v) in m.iter_mut() {
            if k.starts_with("sealed") {
                *v = serde_json::Value::String("(sealed)".into());
            } else {
                seal_marks(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_definition_round_trips_and_never_shows_its_secret() {
        let mut s = ScimSettings::new("http://127.0.0.1:8080/v2/");
        s.sealed_token = Some("AAAA".into());
        let d = Definition { direction: Direction::Export, settings: Settings::Scim(s), import: None };
        let body = d.to_body();
        assert_eq!(body["protocol"], "scim");
        assert_eq!(body["baseUrl"], "http://127.0.0.1:8080/v2");
        assert_eq!(Definition::from_body(&body).unwrap(), d);
        assert_eq!(d.shown()["sealedToken"], "(sealed)");
    }

    #[test]
    fn bad_settings_are_named() {
        let mut s = ScimSettings::new("ftp://x");
        assert!(matches!(s.check(), Err(ConnectorError::InvalidSettings { reason }) if reason.contains("not http")));
        s = ScimSettings::new("http://x");
        s.max_in_flight = 0;
        assert!(matches!(s.check(), Err(ConnectorError::InvalidSettings { reason }) if reason.contains("maxInFlight")));
    }
}
