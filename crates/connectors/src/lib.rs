//! Connectors: the external systems a tenant's objects go to.
//!
//! A connector is bound to one tenantsync tenant and **exports** it: whatever the tenant
//! holds (written there by sync configurations, imports or admins) is made to exist in
//! the external system and follows it there. So a sync configuration whose target is an
//! external system is an ordinary configuration into the connector's tenant — the
//! engine's scope → match → map → act stays one code path, with its provisioning logs,
//! escrows and quarantine — and the connector carries the tenant across (the tenant is
//! the connector's space, as the staging area of identity managers is).
//!
//! - [`Target`]: what a protocol implements (render, find, create, update, delete).
//! - [`ScimTarget`]: a SCIM 2.0 service; [`graph::GraphTarget`]: Microsoft Graph;
//!   [`LdapTarget`]: an LDAP v3 directory.
//! - [`Exporter`]: one run: the initial walk or the change feed, per-object links with a
//!   digest of what was sent, escrow of refused objects, pause on a failed system.
//! - [`import::Importer`]: the other direction: an import connector feeds its tenant
//!   from the system ([`import::Source`]: Graph delta queries, LDAP `entryCSN` or
//!   `modifyTimestamp`, SCIM `meta.lastModified` polling), through the store's
//!   ordinary writes.
//! - [`SecretKey`]: credentials sealed at rest with a key kept outside the database.
mod definition;
mod error;
pub mod export;
pub mod graph;
mod http;
pub mod import;
pub mod ldap;
pub mod scim;
mod secret;
mod target;
pub mod worker;

pub use definition::{
    Definition, Deprovision, Direction, GRAPH_SCOPE, GraphAuth, GraphMatching, GraphSettings, ImportOptions, Matching, ScimSettings, Settings,
};
pub use error::ConnectorError;
pub use export::{ExportReport, ExportState, Exporter, Health, Host};
pub use import::{ImportReport, ImportState, Importer};
pub use ldap::{LdapMatching, LdapSettings, LdapTarget, LdapWatermark, UserField};
pub use scim::ScimTarget;
pub use secret::{KEY_ENV, Secret, SecretKey};
pub use target::{Discovery, ManagerRef, Resource, Target};

/// Opens a connector's target: its protocol's client with its secret opened.
pub fn connect(definition: &Definition, key: &SecretKey) -> Result<Box<dyn Target>, ConnectorError> {
    match &definition.settings {
        Settings::Scim(s) => {
            let token = s.sealed_token.as_deref().map(|t| key.open(t)).transpose()?;
            Ok(Box::new(ScimTarget::new(s, token)?))
        }
        Settings::Graph(s) => Ok(Box::new(graph::GraphTarget::new(s, key)?)),
        Settings::Ldap(s) => {
            let password = s.sealed_password.as_deref().map(|p| key.open(p)).transpose()?;
            Ok(Box::new(LdapTarget::new(s, password)?))
        }
    }
}

/// Opens an import connector's source: its protocol's client with its secret opened.
/// `upn_domain` completes the userPrincipalNames an LDAP directory gives by their local
/// part (the tenant's initial domain).
pub fn open_source(definition: &Definition, key: &SecretKey, upn_domain: &str) -> Result<Box<dyn import::Source>, ConnectorError> {
    match &definition.settings {
        Settings::Scim(s) => {
            let token = s.sealed_token.as_deref().map(|t| key.open(t)).transpose()?;
            Ok(Box::new(import::scim::ScimSource::new(ScimTarget::new(s, token)?)))
        }
        Settings::Graph(s) => Ok(Box::new(import::graph::GraphSource::new(graph::GraphTarget::new(s, key)?))),
        Settings::Ldap(s) => {
            let password = s.sealed_password.as_deref().map(|p| key.open(p)).transpose()?;
            Ok(Box::new(import::ldap::LdapSource::new(LdapTarget::new(s, password)?, upn_domain)))
        }
    }
}
