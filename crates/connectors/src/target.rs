//! The one seam between the exporter and a protocol: [`Target`]. The exporter decides
//! (what changed, create or update or remove, escrow or pause); a target renders objects
//! in its system's shape and carries out one call at a time.
use crate::ConnectorError;
use async_trait::async_trait;
use serde_json::{Map, Value};
use tenantsync_domain::{Group, ObjectKind, User};

/// An object as the external system holds it: its top-level attributes (an extension's
/// attributes under the extension's name). Compared attribute by attribute to send only
/// what changed.
pub type Resource = Map<String, Value>;

/// Sets `key` to the text `v` when there is one (renderings leave absent attributes out).
pub(crate) fn put(m: &mut Map<String, Value>, key: &str, v: Option<&String>) {
    if let Some(v) = v {
        m.insert(key.to_owned(), Value::String(v.clone()));
    }
}

/// What a connection check found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Discovery {
    /// One line per fact found (reachability, credentials, schema, limits).
    pub facts: Vec<String>,
}

/// Where a user's manager is in the external system, when the manager is linked there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagerRef<'a> {
    None,
    Linked(&'a str),
    /// The manager exists but is not exported yet: render without, and come back.
    Pending,
}

/// A protocol's side of an export.
#[async_trait]
pub trait Target: Send + Sync + std::fmt::Debug {
    /// Reads what the system says of itself and checks the credentials.
    async fn discover(&self) -> Result<Discovery, ConnectorError>;
    /// A user in the system's shape (`active` false for a disabled or soft-deleted one).
    fn render_user(&self, user: &User, manager: ManagerRef<'_>) -> Resource;
    /// A group in the system's shape, its members given by their external ids.
    fn render_group(&self, group: &Group, members: &[String]) -> Resource;
    /// The object already in the system that `resource` should be (a created one whose
    /// link was lost in a crash, or one that was there before): its external id.
    async fn find(&self, kind: ObjectKind, resource: &Resource) -> Result<Option<String>, ConnectorError>;
    /// Creates the object; its external id.
    async fn create(&self, kind: ObjectKind, resource: &Resource) -> Result<String, ConnectorError>;
    /// Brings the object from `old` (what was last sent, or nothing known) to `new`.
    async fn update(&self, kind: ObjectKind, external_id: &str, old: Option<&Resource>, new: &Resource) -> Result<(), ConnectorError>;
    /// Deletes the object; one already gone is not an error.
    async fn delete(&self, kind: ObjectKind, external_id: &str) -> Result<(), ConnectorError>;
}
