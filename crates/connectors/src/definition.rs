//! A connector's definition: which protocol, where, with which (sealed) credentials, and
//! how it matches and deprovisions. Stored as the document of a
//! [`ConnectorRecord`](tenantsync_store::ConnectorRecord); `Debug` and every output show
//! the secret as sealed, never in clear.
use crate::ConnectorError;
use crate::ldap::LdapSettings;
use serde::{Deserialize, Serialize};

/// Which way objects go. A connector **exports** its tenant: every object of the tenant
/// (written there by sync configurations, imports or admins) is made to exist in the
/// external system, and follows it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    #[default]
    Export,
}

/// The protocol and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "protocol", rename_all = "camelCase")]
pub enum Settings {
    Scim(ScimSettings),
    Ldap(Box<LdapSettings>),
}

impl Settings {
    pub fn protocol(&self) -> &'static str {
        match self {
            Settings::Scim(_) => "scim",
            Settings::Ldap(_) => "ldap",
        }
    }

    pub fn check(&self) -> Result<(), ConnectorError> {
        match self {
            Settings::Scim(s) => s.check(),
            Settings::Ldap(s) => s.check(),
        }
    }

    /// What a soft-deleted object becomes in the system.
    pub fn deprovision(&self) -> Deprovision {
        match self {
            Settings::Scim(s) => s.deprovision,
            Settings::Ldap(s) => s.deprovision,
        }
    }

    /// Calls in flight at once.
    pub fn in_flight(&self) -> usize {
        match self {
            Settings::Scim(s) => usize::from(s.max_in_flight).max(1),
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
        let bad = |reason: String| Err(ConnectorError::InvalidSettings { reason });
        match url::Url::parse(&self.base_url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
            Ok(u) => return bad(format!("the base URL '{}' is not http or https ({})", self.base_url, u.scheme())),
            Err(e) => return bad(format!("the base URL '{}' does not parse: {e}", self.base_url)),
        }
        if !(1..=256).contains(&self.max_in_flight) {
            return bad(format!("maxInFlight is {}; it takes 1 to 256", self.max_in_flight));
        }
        if !(1..=600).contains(&self.timeout_secs) {
            return bad(format!("timeoutSecs is {}; it takes 1 to 600", self.timeout_secs));
        }
        Ok(())
    }
}

/// The whole definition, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Definition {
    #[serde(default)]
    pub direction: Direction,
    #[serde(flatten)]
    pub settings: Settings,
}

impl Definition {
    pub fn from_body(body: &serde_json::Value) -> Result<Definition, ConnectorError> {
        serde_json::from_value(body.clone()).map_err(|e| ConnectorError::InvalidSettings { reason: format!("stored definition: {e}") })
    }

    pub fn to_body(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The definition as shown: the sealed secret replaced by a marker.
    pub fn shown(&self) -> serde_json::Value {
        let mut body = self.to_body();
        if let Some(t) = body.get_mut("sealedToken") {
            *t = serde_json::Value::String("(sealed)".into());
        }
        if let Some(p) = body.get_mut("sealedPassword") {
            *p = serde_json::Value::String("(sealed)".into());
        }
        body
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
        let d = Definition { direction: Direction::Export, settings: Settings::Scim(s) };
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
