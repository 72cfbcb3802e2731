//! `tenantsync user`: create, change, delete, restore, list and show users.
use super::Ctx;
use super::listing::{ListArgs, opt, print_page};
use super::lookup::{self, user_id};
use super::object::{borrowed, delete, pairs};
use crate::failure::{Context, Failure};
use clap::Subcommand;
use tenantsync_domain::{AttrValue, NewUser, User, UserPatch, Version};
use tenantsync_store::WriteOp;

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create a user.
    Create {
        #[arg(long, short)]
        tenant: String,
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
        #[arg(long, short)]
        tenant: String,
        /// Object id or userPrincipalName.
        user: String,
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        /// Only if the user still has this version (its ETag).
        #[arg(long)]
        if_match: Option<u64>,
    },
    /// Soft-delete a user (or hard-delete with --hard).
    Delete {
        #[arg(long, short)]
        tenant: String,
        user: String,
        /// Delete for good, at once.
        #[arg(long)]
        hard: bool,
        #[arg(long)]
        if_match: Option<u64>,
    },
    /// Restore a soft-deleted user.
    Restore {
        #[arg(long, short)]
        tenant: String,
        user: String,
        #[arg(long)]
        if_match: Option<u64>,
    },
    /// List users.
    List(ListArgs),
    /// Show one user.
    Show {
        #[arg(long, short)]
        tenant: String,
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
            delete(ctx, t.id, op, "user", &user, hard).await?;
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
        UserCmd::List(args) => {
            let t = lookup::tenant(store, &args.tenant).await?;
            let page = store.list_users(t.id, &args.query()?).await.about(|| format!("tenant '{}'", args.tenant))?;
            print_page(ctx, &page, &["ID", "USER PRINCIPAL NAME", "DISPLAY NAME", "ORIGIN", "STATE"], |u| {
                vec![
                    u.id.to_string(),
                    u.attrs.user_principal_name.to_string(),
                    opt(&u.attrs.display_name),
                    format!("{:?}", u.origin).to_lowercase(),
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
