//! `tenantsync group`: create, change, delete, restore, list and show security groups,
//! and their direct members.
use super::Ctx;
use super::args::number;
use super::listing::{self, ListArgs, opt, print_page};
use super::lookup::{self, group_id, user_id};
use super::object::{borrowed, delete, pairs};
use crate::failure::{Context, Failure};
use crate::output;
use clap::Subcommand;
use tenantsync_domain::{Anchor, Group, GroupAttributes, GroupPatch, NewGroup, Version};
use tenantsync_store::{ListQuery, Visibility, WriteOp};

#[derive(Debug, Subcommand)]
pub enum GroupCmd {
    /// Create a security group.
    Create {
        /// Tenant id or initial domain.
        #[arg(long, short)]
        tenant: String,
        /// The group's display name.
        #[arg(long)]
        name: String,
        /// NAME=VALUE, repeatable: description, mailNickname, securityEnabled.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        /// Makes the group external: <source tenant id>:<source object id>.
        #[arg(long)]
        anchor: Option<String>,
    },
    /// Change a group's attributes (an empty VALUE clears one).
    Update {
        /// Tenant id or initial domain.
        #[arg(long, short)]
        tenant: String,
        /// Object id or display name.
        group: String,
        /// NAME=VALUE, repeatable: displayName, description, mailNickname, securityEnabled.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        /// Only if the group still has this version (its ETag).
        #[arg(long, value_name = "VERSION", value_parser = number::<u64, 1>)]
        if_match: Option<u64>,
    },
    /// Soft-delete a group (or hard-delete with --hard).
    Delete {
        /// Tenant id or initial domain.
        #[arg(long, short)]
        tenant: String,
        /// Object id or display name.
        group: String,
        /// Delete for good, at once.
        #[arg(long)]
        hard: bool,
        /// Only if the group still has this version (its ETag).
        #[arg(long, value_name = "VERSION", value_parser = number::<u64, 1>)]
        if_match: Option<u64>,
    },
    /// Restore a soft-deleted group.
    Restore {
        /// Tenant id or initial domain.
        #[arg(long, short)]
        tenant: String,
        /// Object id (a soft-deleted group is named by its id).
        group: String,
        /// Only if the group still has this version (its ETag).
        #[arg(long, value_name = "VERSION", value_parser = number::<u64, 1>)]
        if_match: Option<u64>,
    },
    /// List groups, a page at a time.
    List(ListArgs),
    /// Show one group.
    Show {
        /// Tenant id or initial domain.
        #[arg(long, short)]
        tenant: String,
        /// Object id or display name.
        group: String,
    },
    /// Add a user to a group.
    AddMember {
        /// Tenant id or initial domain.
        #[arg(long, short)]
        tenant: String,
        /// Object id or display name.
        group: String,
        /// Object id or userPrincipalName.
        user: String,
    },
    /// Remove a user from a group.
    RemoveMember {
        /// Tenant id or initial domain.
        #[arg(long, short)]
        tenant: String,
        /// Object id or display name.
        group: String,
        /// Object id or userPrincipalName.
        user: String,
    },
    /// List a group's direct members, a page at a time.
    Members {
        /// Tenant id or initial domain.
        #[arg(long, short)]
        tenant: String,
        /// Object id or display name.
        group: String,
        /// At most this many.
        #[arg(long, value_parser = number::<u32, 1>, default_value_t = 100)]
        limit: u32,
        /// Start after this user id (the `next` of the previous page).
        #[arg(long)]
        after: Option<String>,
    },
}

/// Prints a group just written: as JSON, or one line.
fn print_written(ctx: &Ctx, verb: &str, g: &Group) {
    ctx.done(g, || format!("{verb} group {} {} (version {})", g.attrs.display_name, g.id, g.version));
}

pub async fn run(ctx: &Ctx, cmd: GroupCmd) -> Result<(), Failure> {
    let store = ctx.store.as_ref();
    match cmd {
        GroupCmd::Create { tenant, name, set, anchor } => {
            let t = lookup::tenant(store, &tenant).await?;
            let subject = || format!("group '{name}'");
            let mut attrs = GroupAttributes::new(&name).about(subject)?;
            let patch = GroupPatch::from_pairs(borrowed(&pairs(&set)?)).about(subject)?;
            attrs.apply(&patch).about(subject)?;
            let mut new = NewGroup::new(attrs);
            new.anchor = anchor.map(|a| a.parse::<Anchor>()).transpose().about(subject)?;
            let g = store.create_group(t.id, new).await.about(subject)?;
            print_written(ctx, "created", &g);
        }
        GroupCmd::Update { tenant, group, set, if_match } => {
            let t = lookup::tenant(store, &tenant).await?;
            let id = group_id(store, &t, &group).await?;
            let subject = || format!("group '{group}'");
            let patch = GroupPatch::from_pairs(borrowed(&pairs(&set)?)).about(subject)?;
            let g = store.update_group(t.id, id, patch, if_match.map(Version)).await.about(subject)?;
            print_written(ctx, "updated", &g);
        }
        GroupCmd::Delete { tenant, group, hard, if_match } => {
            let t = lookup::tenant(store, &tenant).await?;
            let id = group_id(store, &t, &group).await?;
            let if_match = if_match.map(Version);
            let op = if hard { WriteOp::HardDeleteGroup { id, if_match } } else { WriteOp::SoftDeleteGroup { id, if_match } };
            delete(ctx, t.id, op, "group", &group).await?;
        }
        GroupCmd::Restore { tenant, group, if_match } => {
            let t = lookup::tenant(store, &tenant).await?;
            let id = group_id(store, &t, &group).await?;
            let g = store
                .apply_one(t.id, WriteOp::RestoreGroup { id, if_match: if_match.map(Version) })
                .await
                .and_then(|o| o.into_group())
                .about(|| format!("group '{group}'"))?;
            print_written(ctx, "restored", &g);
        }
        GroupCmd::List(args) => {
            let t = lookup::tenant(store, &args.tenant).await?;
            let page = store.list_groups(t.id, &args.query()?).await.about(|| format!("tenant '{}'", args.tenant))?;
            print_page(ctx, &page, &["ID", "DISPLAY NAME", "DESCRIPTION", "ORIGIN", "STATE"], |g| {
                vec![
                    g.id.to_string(),
                    g.attrs.display_name.clone(),
                    opt(&g.attrs.description),
                    output::name(&g.origin),
                    if g.is_deleted() { "deleted".into() } else { "active".into() },
                ]
            });
        }
        GroupCmd::Show { tenant, group } => {
            let t = lookup::tenant(store, &tenant).await?;
            let id = group_id(store, &t, &group).await?;
            let g = store.get_group(t.id, id).await.about(|| format!("group '{group}'"))?;
            ctx.show(&g);
        }
        GroupCmd::AddMember { tenant, group, user } => {
            membership(ctx, &tenant, &group, &user, true).await?;
        }
        GroupCmd::RemoveMember { tenant, group, user } => {
            membership(ctx, &tenant, &group, &user, false).await?;
        }
        GroupCmd::Members { tenant, group, limit, after } => {
            let t = lookup::tenant(store, &tenant).await?;
            let gid = group_id(store, &t, &group).await?;
            let query = ListQuery { after: listing::after(&after)?, limit, visibility: Visibility::Active, ..ListQuery::default() };
            let page = store.list_members(t.id, gid, &query).await.about(|| format!("group '{group}'"))?;
            print_page(ctx, &page, &["ID", "USER PRINCIPAL NAME", "DISPLAY NAME"], |u| {
                vec![u.id.to_string(), u.attrs.user_principal_name.to_string(), opt(&u.attrs.display_name)]
            });
        }
    }
    Ok(())
}

/// Adds a user to a group (`add`) or removes one from it, and says so (as JSON:
/// `{"groupId", "userId", "member"}`, `member` telling whether the user now is one).
async fn membership(ctx: &Ctx, tenant: &str, group: &str, user: &str, add: bool) -> Result<(), Failure> {
    let store = ctx.store.as_ref();
    let t = lookup::tenant(store, tenant).await?;
    let gid = group_id(store, &t, group).await?;
    let uid = user_id(store, &t, user).await?;
    let op = if add { WriteOp::AddMember { group: gid, user: uid, if_match: None } } else { WriteOp::RemoveMember { group: gid, user: uid, if_match: None } };
    store.apply_one(t.id, op).await.about(|| format!("group '{group}'"))?;
    let view = serde_json::json!({ "groupId": gid, "userId": uid, "member": add });
    ctx.done(&view, || if add { format!("added {user} to group {group}") } else { format!("removed {user} from group {group}") });
    Ok(())
}
