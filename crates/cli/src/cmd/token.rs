//! `tenantsync token`: per-tenant bearer tokens for the SCIM endpoint and the admin API.
//! A token is shown once, at creation; the store keeps only a hash of its secret.
use super::args::number;
use super::{Ctx, lookup};
use crate::failure::{CliCode, Context, Failure};
use crate::output;
use crate::output::out;
use clap::Subcommand;
use tenantsync_domain::ObjectId;
use tenantsync_store::{AccessObjectKind, TokenRole};

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
        #[arg(long, value_enum, default_value_t = RoleArg::Scim, conflicts_with = "user")]
        role: RoleArg,
        /// A personal token that acts as this user of the tenant (userPrincipalName): it
        /// reads like a reader, and requests, approves and reviews access packages as the
        /// user; it administers nothing.
        #[arg(long, value_name = "UPN")]
        user: Option<String>,
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

fn row(t: &tenantsync_store::ApiToken, user: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "id": t.id,
        "tenantId": t.tenant_id,
        "name": t.name,
        "role": if user.is_some() { "personal" } else { t.role.as_str() },
        "user": user,
        "createdDateTime": t.created_date_time,
        "expiresDateTime": t.expires_date_time,
        "revokedDateTime": t.revoked_date_time,
    })
}

/// The userPrincipalName a personal token acts as, if it is one.
async fn personal_user(ctx: &Ctx, t: &tenantsync_store::ApiToken) -> Option<String> {
    let access = ctx.access.as_ref()?;
    let body = access.access_object(t.tenant_id, AccessObjectKind::PersonalToken, t.id).await.ok()??;
    let user: ObjectId = body.get("userId")?.as_str()?.parse().ok()?;
    Some(ctx.store.get_user(t.tenant_id, user).await.map_or_else(|_| user.to_string(), |u| u.attrs.user_principal_name.to_string()))
}

pub async fn run(ctx: &Ctx, cmd: TokenCmd) -> Result<(), Failure> {
    let store = ctx.store.as_ref();
    match cmd {
        TokenCmd::Create { tenant, name, expires, role, user } => {
            let t = lookup::tenant(store, &tenant).await?;
            let expires = expires.map(|d| store.clock().now() + jiff::SignedDuration::from_hours(i64::from(d) * 24));
            // A personal token is a reader token bound to its user (kept with entitlement management).
            let person = match &user {
                Some(upn) => {
                    let access = ctx.access.as_ref().ok_or_else(|| {
                        Failure::cli("--user", "this store does not keep entitlement management, where personal tokens are bound", CliCode::InvalidArgument)
                    })?;
                    Some((access, lookup::user_id(store, &t, upn).await?, upn.clone()))
                }
                None => None,
            };
            let role = if person.is_some() { TokenRole::Reader } else { role.into() };
            let issued = tenantsync_server::auth::issue(t.id, name, role, expires)
                .map_err(|e| Failure::cli("token", format!("no randomness available: {e}"), CliCode::NoRandomness))?;
            let token_id = issued.record.id;
            if let Some((access, id, _)) = &person {
                // Bound before the token exists: a token is never usable unbound.
                access
                    .put_access_object(t.id, AccessObjectKind::PersonalToken, token_id, serde_json::json!({ "userId": id }))
                    .await
                    .about(|| format!("tenant '{tenant}'"))?;
            }
            let stored = store.create_token(issued.record).await.about(|| format!("tenant '{tenant}'"))?;
            let upn = person.as_ref().map(|(_, _, upn)| upn.as_str());
            if ctx.json {
                let mut v = row(&stored, upn);
                if let Some(o) = v.as_object_mut() {
                    o.insert("token".into(), issued.token.into());
                }
                output::json(&v);
            } else {
                out!("{}", issued.token);
                let who = upn.map(|u| format!(", acting as {u}")).unwrap_or_default();
                crate::output::error(format_args!("token {} for tenant '{}' created{who}; it is shown only now", stored.id, t.initial_domain));
            }
        }
        TokenCmd::List { tenant } => {
            let t = lookup::tenant(store, &tenant).await?;
            let tokens = store.list_tokens(t.id).await.about(|| format!("tenant '{tenant}'"))?;
            let mut users = Vec::with_capacity(tokens.len());
            for k in &tokens {
                users.push(if k.role == TokenRole::Reader { personal_user(ctx, k).await } else { None });
            }
            if ctx.json {
                output::json(&serde_json::Value::Array(tokens.iter().zip(&users).map(|(k, u)| row(k, u.as_deref())).collect()));
            } else {
                let rows: Vec<Vec<String>> = tokens
                    .iter()
                    .zip(&users)
                    .map(|(k, user)| {
                        let state = match (k.revoked_date_time, k.expires_date_time) {
                            (Some(r), _) => format!("revoked {}", output::time(r)),
                            (None, Some(e)) if !k.is_usable(store.clock().now()) => format!("expired {}", output::time(e)),
                            (None, Some(e)) => format!("expires {}", output::time(e)),
                            (None, None) => "no expiry".into(),
                        };
                        let role = user.as_ref().map_or_else(|| k.role.as_str().to_owned(), |u| format!("personal ({u})"));
                        vec![k.id.to_string(), k.name.clone(), role, output::time(k.created_date_time), state]
                    })
                    .collect();
                output::table(&["ID", "NAME", "ROLE", "CREATED", "STATE"], &rows);
            }
        }
        TokenCmd::Revoke { tenant, id } => {
            let t = lookup::tenant(store, &tenant).await?;
            let token_id = id.parse::<ObjectId>().about(|| format!("token '{id}'"))?;
            let k = store.revoke_token(t.id, token_id).await.about(|| format!("token '{id}'"))?;
            let user = personal_user(ctx, &k).await;
            ctx.done(&row(&k, user.as_deref()), || format!("revoked token {} ({})", k.id, k.name));
        }
    }
    Ok(())
}
