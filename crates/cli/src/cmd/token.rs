//! `tenantsync token`: per-tenant bearer tokens for the SCIM endpoint and the admin API.
//! A token is shown once, at creation; the store keeps only a hash of its secret.
use super::args::number;
use super::{Ctx, lookup};
use crate::failure::{CliCode, Context, Failure};
use crate::output;
use crate::output::out;
use clap::Subcommand;
use tenantsync_domain::ObjectId;
use tenantsync_store::TokenRole;

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Create a token for a tenant and print it (once).
    Create {
        /// Tenant id or initial domain.
        #[arg(long, short)]
        tenant: String,
        /// A name to recognise the token by, e.g. the client using it.
        #[arg(long, default_value = "scim")]
        name: String,
        /// Days until the token expires (default: never).
        #[arg(long, value_name = "DAYS", allow_negative_numbers = true, value_parser = number::<u32, 1>)]
        expires: Option<u32>,
        /// What the token may do: `admin` (the admin API and SCIM), `reader` (reads only),
        /// `scim` (SCIM only, what a provisioning client holds).
        #[arg(long, value_enum, default_value_t = RoleArg::Scim)]
        role: RoleArg,
    },
    /// List a tenant's tokens (never the tokens themselves).
    List {
        /// Tenant id or initial domain.
        #[arg(long, short)]
        tenant: String,
    },
    /// Revoke a token: it stops working at once.
    Revoke {
        /// Tenant id or initial domain.
        #[arg(long, short)]
        tenant: String,
        /// The token's id (from `token list`).
        id: String,
    },
}

/// A token's role on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    Admin,
    Reader,
    Scim,
}

impl From<RoleArg> for TokenRole {
    fn from(r: RoleArg) -> TokenRole {
        match r {
            RoleArg::Admin => TokenRole::Admin,
            RoleArg::Reader => TokenRole::Reader,
            RoleArg::Scim => TokenRole::Scim,
        }
    }
}

fn row(t: &tenantsync_store::ApiToken) -> serde_json::Value {
    serde_json::json!({
        "id": t.id,
        "tenantId": t.tenant_id,
        "name": t.name,
        "role": t.role,
        "createdDateTime": t.created_date_time,
        "expiresDateTime": t.expires_date_time,
        "revokedDateTime": t.revoked_date_time,
    })
}

pub async fn run(ctx: &Ctx, cmd: TokenCmd) -> Result<(), Failure> {
    let store = ctx.store.as_ref();
    match cmd {
        TokenCmd::Create { tenant, name, expires, role } => {
            let t = lookup::tenant(store, &tenant).await?;
            let expires = expires.map(|d| store.clock().now() + jiff::SignedDuration::from_hours(i64::from(d) * 24));
            let issued = tenantsync_server::auth::issue(t.id, name, role.into(), expires)
                .map_err(|e| Failure::cli("token", format!("no randomness available: {e}"), CliCode::NoRandomness))?;
            let stored = store.create_token(issued.record).await.about(|| format!("tenant '{tenant}'"))?;
            if ctx.json {
                let mut v = row(&stored);
                if let Some(o) = v.as_object_mut() {
                    o.insert("token".into(), issued.token.into());
                }
                output::json(&v);
            } else {
                out!("{}", issued.token);
                crate::output::error(format_args!("token {} for tenant '{}' created; it is shown only now", stored.id, t.initial_domain));
            }
        }
        TokenCmd::List { tenant } => {
            let t = lookup::tenant(store, &tenant).await?;
            let tokens = store.list_tokens(t.id).await.about(|| format!("tenant '{tenant}'"))?;
            if ctx.json {
                output::json(&serde_json::Value::Array(tokens.iter().map(row).collect()));
            } else {
                let rows: Vec<Vec<String>> = tokens
                    .iter()
                    .map(|k| {
                        let state = match (k.revoked_date_time, k.expires_date_time) {
                            (Some(r), _) => format!("revoked {}", output::time(r)),
                            (None, Some(e)) if !k.is_usable(store.clock().now()) => format!("expired {}", output::time(e)),
                            (None, Some(e)) => format!("expires {}", output::time(e)),
                            (None, None) => "no expiry".into(),
                        };
                        vec![k.id.to_string(), k.name.clone(), k.role.as_str().to_owned(), output::time(k.created_date_time), state]
                    })
                    .collect();
                output::table(&["ID", "NAME", "ROLE", "CREATED", "STATE"], &rows);
            }
        }
        TokenCmd::Revoke { tenant, id } => {
            let t = lookup::tenant(store, &tenant).await?;
            let token_id = id.parse::<ObjectId>().about(|| format!("token '{id}'"))?;
            let k = store.revoke_token(t.id, token_id).await.about(|| format!("token '{id}'"))?;
            ctx.done(&row(&k), || format!("revoked token {} ({})", k.id, k.name));
        }
    }
    Ok(())
}
