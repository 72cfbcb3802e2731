use super::{Ctx, after, opt, pairs, user_id, visibility};
use crate::cli::UserCmd;
use crate::failure::{Context, Failure};
use crate::output;
use tenantsync_domain::{AttrValue, NewUser, User, UserPatch, Version};
use tenantsync_store::{ListQuery, WriteOp};

fn print_user(ctx: &Ctx, verb: &str, u: &User) {
    if ctx.json {
        output::json(u);
    } else if verb.is_empty() {
        output::fields(u);
    } else {
        println!("{verb} user {} {} (version {})", u.attrs.user_principal_name, u.id, u.version);
    }
}

pub async fn run(ctx: &Ctx, cmd: UserCmd) -> Result<(), Failure> {
    let store = ctx.store.as_ref();
    match cmd {
        UserCmd::Create { tenant, upn, set, manager, anchor } => {
            let t = super::tenant(store, &tenant).await?;
            let subject = || format!("user '{upn}'");
            let mut all = vec![("userPrincipalName".to_owned(), AttrValue::String(upn.clone()))];
            all.extend(pairs(&set)?);
            if let Some(m) = manager {
                all.push(("manager".into(), AttrValue::String(m)));
            }
            if let Some(a) = anchor {
                all.push(("anchor".into(), AttrValue::String(a)));
            }
            let new = NewUser::from_pairs(all.iter().map(|(n, v)| (n.as_str(), v.clone()))).about(subject)?;
            let u = store.create_user(t.id, new).await.about(subject)?;
            print_user(ctx, "created", &u);
        }
        UserCmd::Update { tenant, user, set, if_match } => {
            let t = super::tenant(store, &tenant).await?;
            let id = user_id(store, &t, &user).await?;
            let subject = || format!("user '{user}'");
            let pairs = pairs(&set)?;
            let patch = UserPatch::from_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.clone()))).about(subject)?;
            let u = store.update_user(t.id, id, patch, if_match.map(Version)).await.about(subject)?;
            print_user(ctx, "updated", &u);
        }
        UserCmd::Delete { tenant, user, hard, if_match } => {
            let t = super::tenant(store, &tenant).await?;
            let id = user_id(store, &t, &user).await?;
            let if_match = if_match.map(Version);
            let op = if hard { WriteOp::HardDeleteUser { id, if_match } } else { WriteOp::SoftDeleteUser { id, if_match } };
            store.apply_one(t.id, op).await.about(|| format!("user '{user}'"))?;
            if !ctx.json {
                println!("{} user {user}", if hard { "deleted for good" } else { "deleted (restorable)" });
            }
        }
        UserCmd::Restore { tenant, user, if_match } => {
            let t = super::tenant(store, &tenant).await?;
            let id = user_id(store, &t, &user).await?;
            let u = store
                .apply_one(t.id, WriteOp::RestoreUser { id, if_match: if_match.map(Version) })
                .await
                .and_then(|o| o.into_user())
                .about(|| format!("user '{user}'"))?;
            print_user(ctx, "restored", &u);
        }
        UserCmd::List(args) => {
            let t = super::tenant(store, &args.tenant).await?;
            let query = ListQuery { after: after(&args.after)?, limit: args.limit, visibility: visibility(args.show) };
            let page = store.list_users(t.id, &query).await.about(|| format!("tenant '{}'", args.tenant))?;
            if ctx.json {
                output::json(&serde_json::json!({ "value": page.items, "next": page.next }));
            } else {
                let rows: Vec<Vec<String>> = page
                    .items
                    .iter()
                    .map(|u| {
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
                    })
                    .collect();
                output::table(&["ID", "USER PRINCIPAL NAME", "DISPLAY NAME", "ORIGIN", "STATE"], &rows);
                if let Some(next) = page.next {
                    println!("more: --after {next}");
                }
            }
        }
        UserCmd::Show { tenant, user } => {
            let t = super::tenant(store, &tenant).await?;
            let id = user_id(store, &t, &user).await?;
            let u = store.get_user(t.id, id).await.about(|| format!("user '{user}'"))?;
            print_user(ctx, "", &u);
        }
    }
    Ok(())
}
