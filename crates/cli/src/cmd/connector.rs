//! `tenantsync connector`: the external systems a tenant is exported to or fed from. A
//! connector is bound to a tenant and carries whatever the tenant holds (what sync
//! configurations write there) to its system, or (`--import`) writes what its system
//! holds into the tenant; `serve` runs every connector.
//! Credentials are read from a file or an environment variable (never the command line)
//! and sealed at rest with the secret key (`--secret-key-file`, `TENANTSYNC_SECRET_KEY`).
use super::args::number;
use super::{Ctx, lookup};
use crate::failure::{CliCode, Context, Failure};
use crate::output;
use crate::output::out;
use clap::Subcommand;
use tenantsync_connectors::{
    Definition, Deprovision, Direction, ExportState, Exporter, GraphAuth, GraphMatching, GraphSettings, ImportOptions, ImportState, Matching, ScimSettings,
    SecretKey, Settings, connect,
};
use tenantsync_domain::ObjectId;
use tenantsync_store::ConnectorRecord;

mod import;
mod ldap;

#[derive(Debug, Subcommand)]
pub enum ConnectorCmd {
    /// Add a connector that exports a tenant to a SCIM 2.0 service, a Microsoft Graph API or an LDAP v3 directory (or, with --import, feeds the tenant from one).
    Add(Box<AddArgs>),
    /// List the connectors.
    List,
    /// Show a connector: its settings (the secret sealed), its state and its links.
    Show {
        /// The connector's name.
        name: String,
    },
    /// Check a connector: reachability, credentials and schema; prints what it found.
    Test {
        /// The connector's name.
        name: String,
    },
    /// Run a connector's export once, now (what `serve` does on every change).
    Export {
        /// The connector's name.
        name: String,
    },
    /// Run an import connector once, now: the changes since its watermark (or everything, and a reconciliation, when one is due).
    Import {
        /// The connector's name.
        name: String,
        /// Read everything and soft-delete what the system no longer holds, whatever the interval.
        #[arg(long)]
        reconcile: bool,
    },
    /// Remove a connector and its links (the external system keeps what it holds).
    Remove {
        /// The connector's name.
        name: String,
    },
}

/// `connector add`'s arguments.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The connector's name.
    pub name: String,
    /// The tenant it exports (id or initial domain).
    #[arg(long, short)]
    pub tenant: String,
    /// The SCIM service's base URL (where `/Users` is).
    #[arg(long, value_name = "URL", required_unless_present_any = ["graph_url", "ldap_url"], conflicts_with = "graph_url")]
    pub scim_url: Option<String>,
    /// A Microsoft Graph API's base URL (`https://graph.microsoft.com/v1.0`, or tenantsync's own `/v1.0`).
    #[arg(long, value_name = "URL")]
    pub graph_url: Option<String>,
    /// Graph: the OAuth2 token endpoint for client credentials
    /// (`https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`).
    #[arg(long, value_name = "URL", requires_all = ["graph_url", "client_id", "client_secret_file"])]
    pub token_url: Option<String>,
    /// Graph: the application (client) id for client credentials.
    #[arg(long, value_name = "ID", requires = "token_url")]
    pub client_id: Option<String>,
    /// Graph: a file holding the client secret (its first line).
    #[arg(long, value_name = "FILE", requires = "token_url")]
    pub client_secret_file: Option<std::path::PathBuf>,
    /// Graph: the scope asked for with client credentials.
    #[arg(long, default_value = tenantsync_connectors::GRAPH_SCOPE, requires = "token_url")]
    pub scope: String,
    /// A file holding the bearer token (its first line).
    #[arg(long, value_name = "FILE", conflicts_with = "token_env")]
    pub token_file: Option<std::path::PathBuf>,
    /// An environment variable holding the bearer token.
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// The attribute users are matched by before a create: SCIM `userName` (default) or
    /// `externalId`; Graph `userPrincipalName` (default) or `mail`; LDAP `uid` (the naming
    /// attribute, default) or `mail`.
    #[arg(long)]
    pub matching: Option<String>,
    /// What a soft-deleted object becomes: `disable` (SCIM: active false; Graph:
    /// accountEnabled false; LDAP: moved to --disabled-base) or `delete`. Default: disable
    /// (LDAP: delete unless --disabled-base is given).
    #[arg(long)]
    pub deprovision: Option<String>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8, value_parser = number::<u16, 1>)]
    pub max_in_flight: u16,
    /// Every call's timeout, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = number::<u32, 1>)]
    pub timeout: u32,
    /// Feed the tenant from the system (Graph delta queries, LDAP, SCIM polling) instead
    /// of exporting the tenant to it.
    #[arg(long)]
    pub import: bool,
    /// With --import: seconds between two reads of the system's changes in `serve`.
    #[arg(long, value_name = "SECS", requires = "import", value_parser = number::<u32, 1>)]
    pub poll_every: Option<u32>,
    /// With --import: seconds between two full reconciliations, which find what the
    /// system deleted (default 3600; 0: only when the watermark is lost).
    #[arg(long, value_name = "SECS", requires = "import", value_parser = number::<u32, 0>)]
    pub reconcile_every: Option<u32>,
    #[command(flatten)]
    pub ldap: Box<ldap::LdapArgs>,
}

fn subject(name: &str) -> String {
    format!("connector '{name}'")
}

fn invalid(name: &str, message: impl Into<String>) -> Failure {
    Failure::cli(subject(name), message, CliCode::InvalidArgument)
}

/// The key that seals connectors' secrets.
fn secret_key(ctx: &Ctx) -> Result<SecretKey, Failure> {
    SecretKey::load(&ctx.secret_key_file).about(|| format!("secret key '{}'", ctx.secret_key_file.display()))
}

fn read_token(name: &str, file: Option<&std::path::Path>, env: Option<&str>) -> Result<Option<String>, Failure> {
    let token = match (file, env) {
        (Some(f), _) => {
            let text = std::fs::read_to_string(f).map_err(|e| Failure::cli(format!("token file '{}'", f.display()), e.to_string(), CliCode::UnreadableFile))?;
            Some(text.lines().next().unwrap_or("").trim().to_owned())
        }
        (None, Some(v)) => Some(std::env::var(v).map_err(|_| invalid(name, format!("the environment variable {v} is not set")))?.trim().to_owned()),
        (None, None) => None,
    };
    match token {
        Some(t) if t.is_empty() => Err(invalid(name, "the token is empty")),
        t => Ok(t),
    }
}

async fn find(ctx: &Ctx, name: &str) -> Result<(ConnectorRecord, Definition), Failure> {
    let record = ctx.connectors.connector_by_name(name).await.about(|| subject(name))?;
    let record = record.ok_or_else(|| Failure::coded(subject(name), &tenantsync_store::StoreError::ConnectorNotFound { name: name.to_owned() }))?;
    let definition = Definition::from_body(&record.body).about(|| subject(name))?;
    Ok((record, definition))
}

pub async fn run(ctx: &Ctx, cmd: ConnectorCmd) -> Result<(), Failure> {
    match cmd {
        ConnectorCmd::Add(a) => {
            let name = a.name.clone();
            if name.trim().is_empty() || name.chars().any(char::is_control) {
                return Err(invalid(&name, "a connector's name must be non-empty printable text"));
            }
            let t = lookup::tenant(ctx.store.as_ref(), &a.tenant).await?;
            let import = a.import.then(|| {
                let d = ImportOptions::default();
                ImportOptions { poll_secs: a.poll_every.unwrap_or(d.poll_secs), reconcile_secs: a.reconcile_every.unwrap_or(d.reconcile_secs) }
            });
            if let Some(o) = &import {
                o.check().about(|| subject(&name))?;
            }
            let settings = settings(ctx, *a).await?;
            let target_url = match &settings {
                Settings::Scim(s) => s.base_url.clone(),
                Settings::Graph(s) => s.base_url.clone(),
                Settings::Ldap(s) => s.url.clone(),
            };
            let direction = if import.is_some() { Direction::Import } else { Direction::Export };
            let definition = Definition { direction, settings, import };
            let now = tenantsync_domain::Clock::now(ctx.store.clock().as_ref());
            let record = ConnectorRecord { id: ObjectId::new(), name: name.clone(), tenant: t.id, created: now, body: definition.to_body() };
            ctx.connectors.create_connector(record.clone()).await.about(|| subject(&name))?;
            ctx.done(&shown(&record, &definition, None, None), || match direction {
                Direction::Export => format!("connector '{name}' exports tenant '{}' to {target_url}", t.initial_domain),
                Direction::Import => format!("connector '{name}' feeds tenant '{}' from {target_url}", t.initial_domain),
            });
        }
        ConnectorCmd::List => {
            let all = ctx.connectors.connectors().await.about(|| "connectors".to_owned())?;
            let mut rows = Vec::new();
            let mut docs = Vec::new();
            for r in &all {
                let d = Definition::from_body(&r.body).about(|| subject(&r.name))?;
                let state = State::load(ctx, r, &d).await?;
                let tenant = ctx.store.get_tenant(r.tenant).await.about(|| subject(&r.name))?;
                rows.push(vec![
                    r.name.clone(),
                    d.settings.protocol().to_owned(),
                    d.direction.as_str().to_owned(),
                    tenant.initial_domain.to_string(),
                    state.health(),
                ]);
                docs.push(shown(r, &d, Some(&state), None));
            }
            if ctx.json {
                output::json(&docs);
            } else {
                output::table(&["NAME", "PROTOCOL", "DIRECTION", "TENANT", "STATE"], &rows);
            }
        }
        ConnectorCmd::Show { name } => {
            let (record, definition) = find(ctx, &name).await?;
            let state = State::load(ctx, &record, &definition).await?;
            let counts = ctx.connectors.link_counts(record.key()).await.about(|| subject(&name))?;
            ctx.show(&shown(&record, &definition, Some(&state), Some(counts)));
        }
        ConnectorCmd::Test { name } => {
            let (_, definition) = find(ctx, &name).await?;
            let target = connect(&definition, &secret_key(ctx)?).about(|| subject(&name))?;
            let found = target.discover().await.about(|| subject(&name))?;
            if ctx.json {
                output::json(&found);
            } else {
                for fact in &found.facts {
                    out!("{fact}");
                }
            }
        }
        ConnectorCmd::Import { name, reconcile } => return import::run(ctx, &name, reconcile).await,
        ConnectorCmd::Export { name } => {
            let (record, definition) = find(ctx, &name).await?;
            if definition.direction == Direction::Import {
                return Err(invalid(&name, "the connector imports into its tenant: run `connector import`"));
            }
            // One exporter at a time, as in serve.
            let _lease = ctx
                .connectors
                .try_lease_connector(record.key())
                .await
                .about(|| subject(&name))?
                .ok_or_else(|| Failure::coded(subject(&name), &tenantsync_connectors::ConnectorError::Running))?;
            let target = connect(&definition, &secret_key(ctx)?).about(|| subject(&name))?;
            let report = Exporter::new(ctx.connectors.as_ref(), &record, &definition, target.as_ref()).run().await.about(|| subject(&name))?;
            if ctx.json {
                output::json(&report);
            } else {
                let c = report.counters;
                out!(
                    "connector '{name}': {} created, {} matched, {} updated, {} deprovisioned, {} deleted, {} unchanged, {} escrowed",
                    c.created,
                    c.matched,
                    c.updated,
                    c.deprovisioned,
                    c.deleted,
                    c.unchanged,
                    c.escrowed
                );
            }
            if let Some(p) = report.paused {
                return Err(Failure::new(subject(&name), format!("paused: {}", p.message), code_of(&p.code)));
            }
        }
        ConnectorCmd::Remove { name } => {
            let (record, _) = find(ctx, &name).await?;
            ctx.connectors.delete_connector(record.key()).await.about(|| subject(&name))?;
            ctx.done(&serde_json::json!({"removed": name}), || format!("connector '{name}' removed"));
        }
    }
    Ok(())
}

/// The protocol's settings from `connector add`'s arguments, secrets sealed.
async fn settings(ctx: &Ctx, a: AddArgs) -> Result<Settings, Failure> {
    let name = a.name.as_str();
    if let Some(url) = a.ldap.ldap_url.clone() {
        let mut s = ldap::settings(ctx, name, *a.ldap, &url, a.matching.as_deref(), a.deprovision.as_deref())?;
        s.max_in_flight = a.max_in_flight;
        s.timeout_secs = a.timeout;
        s.check().about(|| subject(name))?;
        return Ok(Settings::Ldap(Box::new(s)));
    }
    let deprovision = a.deprovision.as_deref().unwrap_or("disable");
    let deprovision = Deprovision::parse(deprovision).ok_or_else(|| invalid(name, format!("--deprovision '{deprovision}': takes disable or delete")))?;
    let token = read_token(name, a.token_file.as_deref(), a.token_env.as_deref())?;
    match (a.scim_url, a.graph_url) {
        (Some(url), _) => {
            let mut s = ScimSettings::new(&url);
            if let Some(m) = &a.matching {
                s.matching = Matching::parse(m).ok_or_else(|| invalid(name, format!("--matching '{m}': takes userName or externalId")))?;
            }
            s.deprovision = deprovision;
            s.max_in_flight = a.max_in_flight;
            s.timeout_secs = a.timeout;
            s.check().about(|| subject(name))?;
            if let Some(token) = token {
                s.sealed_token = Some(secret_key(ctx)?.seal(&token).about(|| subject(name))?);
            }
            Ok(Settings::Scim(s))
        }
        (None, Some(url)) => {
            let key = secret_key(ctx)?;
            let auth = match (a.token_url, a.client_id, a.client_secret_file, token) {
                (Some(token_url), Some(client_id), Some(file), None) => {
                    let secret = read_token(name, Some(&file), None)?.ok_or_else(|| invalid(name, "the client secret is empty"))?;
                    GraphAuth::ClientCredentials { token_url, client_id, sealed_secret: key.seal(&secret).about(|| subject(name))?, scope: a.scope }
                }
                (None, None, None, Some(token)) => GraphAuth::Token { sealed_token: key.seal(&token).about(|| subject(name))? },
                (None, None, None, None) => {
                    return Err(invalid(name, "a Graph connector needs --token-file or --token-env, or --token-url with --client-id and --client-secret-file"));
                }
                _ => {
                    return Err(invalid(
                        name,
                        "give a token (--token-file, --token-env) or client credentials (--token-url, --client-id, --client-secret-file), not both",
                    ));
                }
            };
            let mut s = GraphSettings::new(&url, auth);
            if let Some(m) = &a.matching {
                s.matching = GraphMatching::parse(m).ok_or_else(|| invalid(name, format!("--matching '{m}': takes userPrincipalName or mail")))?;
            }
            s.deprovision = deprovision;
            s.max_in_flight = a.max_in_flight;
            s.timeout_secs = a.timeout;
            s.check().about(|| subject(name))?;
            Ok(Settings::Graph(s))
        }
        (None, None) => Err(invalid(name, "give --scim-url or --graph-url")),
    }
}

/// The stable code of a paused export (one of the connectors' table).
fn code_of(code: &str) -> &'static str {
    tenantsync_connectors::ConnectorError::TABLE.iter().find(|i| i.code == code).map_or("connector_server_failed", |i| i.code)
}

/// A connector's state: an export's or an import's.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
enum State {
    Export(ExportState),
    Import(ImportState),
}

impl State {
    async fn load(ctx: &Ctx, r: &ConnectorRecord, d: &Definition) -> Result<State, Failure> {
        Ok(match d.direction {
            Direction::Export => State::Export(ExportState::load(ctx.connectors.as_ref(), r.key()).await.about(|| subject(&r.name))?),
            Direction::Import => State::Import(ImportState::load(ctx.connectors.as_ref(), r.key()).await.about(|| subject(&r.name))?),
        })
    }

    fn health(&self) -> String {
        use tenantsync_connectors::Health::Paused;
        match self {
            State::Export(s) => match (&s.health, &s.error, s.cursor) {
                (Paused, Some(e), _) => format!("paused ({})", e.code),
                (_, _, None) => "initial export pending".to_owned(),
                (_, _, Some(c)) => format!("healthy (change {c})"),
            },
            State::Import(s) => match (&s.health, &s.error, s.last_reconciliation) {
                (Paused, Some(e), _) => format!("paused ({})", e.code),
                (_, _, None) => "initial import pending".to_owned(),
                (_, _, Some(at)) => format!("healthy (reconciled {at})"),
            },
        }
    }
}

fn shown(r: &ConnectorRecord, d: &Definition, state: Option<&State>, links: Option<(u64, u64)>) -> serde_json::Value {
    let mut v = serde_json::Map::new();
    v.insert("id".into(), serde_json::json!(r.id));
    v.insert("name".into(), serde_json::json!(r.name));
    v.insert("tenantId".into(), serde_json::json!(r.tenant));
    v.insert("createdDateTime".into(), serde_json::json!(r.created));
    v.insert("settings".into(), d.shown());
    if let Some(s) = state {
        v.insert("state".into(), serde_json::to_value(s).unwrap_or_default());
    }
    if let Some((all, escrowed)) = links {
        v.insert("links".into(), serde_json::json!({"total": all, "escrowed": escrowed}));
    }
    serde_json::Value::Object(v)
}
