use super::{Ctx, after, group_id, opt, pairs, user_id, visibility};
use crate::cli::GroupCmd;
use crate::failure::{Context, Failure};
use crate::output;
use tenantsync_domain::{Anchor, Group, GroupAttributes, GroupPatch, NewGroup, Version};
use tenantsync_store::{ListQuery, Visibility, WriteOp};

fn print_group(ctx: &Ctx, verb: &str, g: &Group) {
    if ctx.json {
        output::json(g);
    } else if verb.is_empty() {
        output::fields(g);
    } else {
        println!("{verb} group {} {} (version {})", g.attrs.display_name, g.id, g.version);
    }
}

pub async fn run(ctx: &Ctx, cmd: GroupCmd) -> Result<(), Failure> {
    let store = ctx.store.as_ref();
    match cmd {
        GroupCmd::Create { tenant, name, set, anchor } => {
            let t = super::tenant(store, &tenant).await?;
            let subject = || format!("group '{name}'");
            let mut attrs = GroupAttributes::new(&name).about(subject)?;
            let pairs = pairs(&set)?;
            let patch = GroupPatch::from_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.clone()))).about(subject)?;
            attrs.apply(&patch).about(subject)?;
            let mut new = NewGroup::new(attrs);
            new.anchor = anchor.map(|a| a.parse::<Anchor>()).transpose().about(subject)?;
            let g = store.create_group(t.id, new).await.about(subject)?;
            print_group(ctx, "created", &g);
        }
        GroupCmd::Update { tenant, group, set, if_match } => {
            let t = super::tenant(store, &tenant).await?;
            let id = group_id(&group)?;
            let subject = || format!("group '{group}'");
            let pairs = pairs(&set)?;
            let patch = GroupPatch::from_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.clone()))).about(subject)?;
            let g = store.update_group(t.id, id, patch, if_match.map(Version)).await.about(subject)?;
            print_group(ctx, "updated", &g);
        }
        GroupCmd::Delete { tenant, group, hard, if_match } => {
            let t = super::tenant(store, &tenant).await?;
            let id = group_id(&group)?;
            let if_match = if_match.map(Version);
            let op = if hard { WriteOp::HardDeleteGroup { id, if_match } } else { WriteOp::SoftDeleteGroup { id, if_match } };
            store.apply_one(t.id, op).await.about(|| format!("group '{group}'"))?;
            if !ctx.json {
                println!("{} group {group}", if hard { "deleted for good" } else { "deleted (restorable)" });
            }
        }
        GroupCmd::Restore { tenant, group, if_match } => {
            let t = super::tenant(store, &tenant).await?;
            let id = group_id(&group)?;
            let g = store
                .apply_one(t.id, WriteOp::RestoreGroup { id, if_match: if_match.map(Version) })
                .await
                .and_then(|o| o.into_group())
                .about(|| format!("group '{group}'"))?;
            print_group(ctx, "restored", &g);
        }
        GroupCmd::List(args) => {
            let t = super::tenant(store, &args.tenant).await?;
            let query = ListQuery { after: after(&args.after)?, limit: args.limit, visibility: visibility(args.show) };
            let page = store.list_groups(t.id, &query).await.about(|| format!("tenant '{}'", args.tenant))?;
            if ctx.json {
                output::json(&serde_json::json!({ "value": page.items, "next": page.next }));
            } else {
                let rows: Vec<Vec<String>> = page
                    .items
                    .iter()
                    .map(|g| {
                        vec![
                            g.id.to_string(),
                            g.attrs.display_name.clone(),
                            opt(&g.attrs.description),
                            format!("{:?}", g.origin).to_lowercase(),
                            if g.is_deleted() { "deleted".into() } else { "active".into() },
                        ]
                    })
                    .collect();
                output::table(&["ID", "DISPLAY NAME", "DESCRIPTION", "ORIGIN", "STATE"], &rows);
                if let Some(next) = page.next {
                    println!("more: --after {next}");
                }
            }
        }
        GroupCmd::Show { tenant, group } => {
            let t = super::tenant(store, &tenant).await?;
            let id = group_id(&group)?;
            let g = store.get_group(t.id, id).await.about(|| format!("group '{group}'"))?;
            print_group(ctx, "", &g);
        }
        GroupCmd::AddMember { tenant, group, user } => {
            let t = super::tenant(store, &tenant).await?;
            let gid = group_id(&group)?;
            let uid = user_id(store, &t, &user).await?;
            store.apply_one(t.id, WriteOp::AddMember { group: gid, user: uid, if_match: None }).await.about(|| format!("group '{group}'"))?;
            if !ctx.json {
                println!("added {user} to group {group}");
            }
        }
        GroupCmd::RemoveMember { tenant, group, user } => {
            let t = super::tenant(store, &tenant).await?;
            let gid = group_id(&group)?;
            let uid = user_id(store, &t, &user).await?;
            store.apply_one(t.id, WriteOp::RemoveMember { group: gid, user: uid, if_match: None }).await.about(|| format!("group '{group}'"))?;
            if !ctx.json {
                println!("removed {user} from group {group}");
            }
        }
        GroupCmd::Members { tenant, group, limit, after: a } => {
            let t = super::tenant(store, &tenant).await?;
            let gid = group_id(&group)?;
            let query = ListQuery { after: after(&a)?, limit, visibility: Visibility::Active };
            let page = store.list_members(t.id, gid, &query).await.about(|| format!("group '{group}'"))?;
            if ctx.json {
                output::json(&serde_json::json!({ "value": page.items, "next": page.next }));
            } else {
                let rows: Vec<Vec<String>> =
                    page.items.iter().map(|u| vec![u.id.to_string(), u.attrs.user_principal_name.to_string(), opt(&u.attrs.display_name)]).collect();
                output::table(&["ID", "USER PRINCIPAL NAME", "DISPLAY NAME"], &rows);
                if let Some(next) = page.next {
                    println!("more: --after {next}");
                }
            }
        }
    }
    Ok(())
}
