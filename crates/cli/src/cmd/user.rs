//! `tenantsync user`: create, change, delete, restore, list and show users.
use super::Ctx;
use super::args::number;
use super::listing::{self, ListArgs, Show, opt, print_page};
use super::lookup::{self, user_id};
use super::object::{borrowed, delete, pairs};
use crate::failure::{CliCode, Context, Failure};
use crate::output;
use clap::Subcommand;
use tenantsync_domain::{AttrValue, NewUser, User, UserPatch, Version};
use tenantsync_store::{Keyset, ObjectQuery, Page, Seek, WriteOp};

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create a user.
    Create {
        /// Tenant id or initial domain.
        #[arg(long, short)]
        tenant: String,
        /// The userPrincipalName, e.g. alice@contoso.example.
        #[arg(long)]
        upn: String,
        /// NAME=VALUE, repeatable; a repeated extension name makes a multi-valued attribute.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        /// Manager: object id or userPrincipalName.
        #[arg(long)]
        manager: Option<String>,
        /// Makes the user external: <source tenant id>:<source object id>.
        #[arg(long)]
        anchor: Option<String>,
    },
    /// Change a user's attributes (an empty VALUE clears one).
    Update {
        /// Tenant id or initial domain.
        #[arg(long, short)]
        tenant: String,
        /// Object id or userPrincipalName.
        user: String,
        /// NAME=VALUE, repeatable; `NAME=` clears the attribute, `manager=USER` sets the manager.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        /// Only if the user still has this version (its ETag).
        #[arg(long, value_name = "VERSION", value_parser = number::<u64, 1>)]
        if_match: Option<u64>,
    },
    /// Soft-delete a user (or hard-delete with --hard).
    Delete {
        /// Tenant id or initial domain.
        #[arg(long, short)]
        tenant: String,
        /// Object id or userPrincipalName.
        user: String,
        /// Delete for good, at once.
        #[arg(long)]
        hard: bool,
        /// Only if the user still has this version (its ETag).
        #[arg(long, value_name = "VERSION", value_parser = number::<u64, 1>)]
        if_match: Option<u64>,
    },
    /// Restore a soft-deleted user.
    Restore {
        /// Tenant id or initial domain.
        #[arg(long, short)]
        tenant: String,
        /// Object id or userPrincipalName.
        user: String,
        /// Only if the user still has this version (its ETag).
        #[arg(long, value_name = "VERSION", value_parser = number::<u64, 1>)]
        if_match: Option<u64>,
    },
    /// List users, a page at a time.
    List {
        #[command(flatten)]
        list: ListArgs,
        /// Only the users this SCIM-style filter selects, by Graph attribute names, e.g.
        /// 'department eq "Sales"', 'displayName sw "Al" and accountEnabled eq true' (active users only).
        #[arg(long, value_name = "FILTER")]
        filter: Option<String>,
    },
    /// Show one user.
    Show {
        /// Tenant id or initial domain.
        #[arg(long, short)]
        tenant: String,
        /// Object id or userPrincipalName.
        user: String,
    },
}

/// Prints a user just written: as JSON, or one line.
fn print_written(ctx: &Ctx, verb: &str, u: &User) {
    ctx.done(u, || format!("{verb} user {} {} (version {})", u.attrs.user_principal_name, u.id, u.version));
}

pub async fn run(ctx: &Ctx, cmd: UserCmd) -> Result<(), Failure> {
    let store = ctx.store.as_ref();
    match cmd {
        UserCmd::Create { tenant, upn, set, manager, anchor } => {
            let t = lookup::tenant(store, &tenant).await?;
            let subject = || format!("user '{upn}'");
            let mut all = vec![("userPrincipalName".to_owned(), AttrValue::String(upn.clone()))];
            all.extend(pairs(&set)?);
            if let Some(m) = manager {
                all.push(("manager".into(), AttrValue::String(m)));
            }
            if let Some(a) = anchor {
                all.push(("anchor".into(), AttrValue::String(a)));
            }
            let new = NewUser::from_pairs(borrowed(&all)).about(subject)?;
            let u = store.create_user(t.id, new).await.about(subject)?;
            print_written(ctx, "created", &u);
        }
        UserCmd::Update { tenant, user, set, if_match } => {
            let t = lookup::tenant(store, &tenant).await?;
            let id = user_id(store, &t, &user).await?;
            let subject = || format!("user '{user}'");
            let patch = UserPatch::from_pairs(borrowed(&pairs(&set)?)).about(subject)?;
            let u = store.update_user(t.id, id, patch, if_match.map(Version)).await.about(subject)?;
            print_written(ctx, "updated", &u);
        }
        UserCmd::Delete { tenant, user, hard, if_match } => {
            let t = lookup::tenant(store, &tenant).await?;
            let id = user_id(store, &t, &user).await?;
            let if_match = if_match.map(Version);
            let op = if hard { WriteOp::HardDeleteUser { id, if_match } } else { WriteOp::SoftDeleteUser { id, if_match } };
            delete(ctx, t.id, op, "user", &user).await?;
        }
        UserCmd::Restore { tenant, user, if_match } => {
            let t = lookup::tenant(store, &tenant).await?;
            let id = user_id(store, &t, &user).await?;
            let u = store
                .apply_one(t.id, WriteOp::RestoreUser { id, if_match: if_match.map(Version) })
                .await
                .and_then(|o| o.into_user())
                .about(|| format!("user '{user}'"))?;
            print_written(ctx, "restored", &u);
        }
        UserCmd::List { list: args, filter } => {
            let t = lookup::tenant(store, &args.tenant).await?;
            let subject = || format!("tenant '{}'", args.tenant);
            let page = match filter {
                None => store.list_users(t.id, &args.query()?).await.about(subject)?,
                Some(text) => {
                    if !matches!(args.show, Show::Active) {
                        return Err(Failure::cli("--filter", "selects among active users only: leave out --show", CliCode::InvalidArgument));
                    }
                    let filter = super::filter::users(&text)?;
                    let seek = match listing::after(&args.after)? {
                        Some(id) => Seek::After(Keyset { value: None, id }),
                        None => Seek::First,
                    };
                    let query = ObjectQuery { filter: Some(filter), limit: args.limit, seek: Some(seek), ..ObjectQuery::default() };
                    let found = store.query_users(t.id, &query).await.about(|| format!("--filter '{text}'"))?;
                    Page { next: found.next.map(|k| k.id), items: found.items }
                }
            };
            print_page(ctx, &page, &["ID", "USER PRINCIPAL NAME", "DISPLAY NAME", "ORIGIN", "STATE"], |u| {
                vec![
                    u.id.to_string(),
                    u.attrs.user_principal_name.to_string(),
                    opt(&u.attrs.display_name),
                    output::name(&u.origin),
                    if u.is_deleted() {
                        "deleted".into()
                    } else if u.attrs.account_enabled {
                        "enabled".into()
                    } else {
                        "disabled".into()
                    },
                ]
            });
        }
        UserCmd::Show { tenant, user } => {
            let t = lookup::tenant(store, &tenant).await?;
            let id = user_id(store, &t, &user).await?;
            let u = store.get_user(t.id, id).await.about(|| format!("user '{user}'"))?;
            ctx.show(&u);
        }
    }
    Ok(())
}
