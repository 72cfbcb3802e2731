//! What the user and group commands share: attribute values given as
//! `--set NAME=VALUE`, and deleting (soft or hard).
use super::Ctx;
use crate::failure::{CliCode, Context, Failure};
use tenantsync_domain::{AttrValue, TenantId};
use tenantsync_store::{WriteOp, WriteOutcome};

/// Reads `--set NAME=VALUE` arguments. An empty value clears the attribute; a name given
/// twice or more makes a list (multi-valued extension attributes).
pub fn pairs(set: &[String]) -> Result<Vec<(String, AttrValue)>, Failure> {
    let mut out: Vec<(String, AttrValue)> = Vec::new();
    for item in set {
        let (name, value) = item.split_once('=').ok_or_else(|| Failure::cli(format!("--set '{item}'"), "expected NAME=VALUE", CliCode::InvalidArgument))?;
        let name = name.trim().to_owned();
        let value = if value.is_empty() { AttrValue::Null } else { AttrValue::String(value.to_owned()) };
        match out.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            Some((_, existing)) => {
                let mut list = match std::mem::take(existing) {
                    AttrValue::Strings(v) => v,
                    AttrValue::String(s) => vec![s],
                    _ => Vec::new(),
                };
                if let AttrValue::String(s) = value {
                    list.push(s);
                }
                *existing = AttrValue::Strings(list);
            }
            None => out.push((name, value)),
        }
    }
    Ok(out)
}

/// The pairs as the domain's `from_pairs` constructors take them.
pub fn borrowed(pairs: &[(String, AttrValue)]) -> impl Iterator<Item = (&str, AttrValue)> {
    pairs.iter().map(|(n, v)| (n.as_str(), v.clone()))
}

/// Applies a delete (`op`: the soft or hard delete of the `noun` named `name`) and says
/// which it was: as JSON, the object as it now is (soft) or `{"id", "objectType",
/// "hardDeleted": true}` (hard).
pub async fn delete(ctx: &Ctx, tenant: TenantId, op: WriteOp, noun: &str, name: &str) -> Result<(), Failure> {
    let outcome = ctx.store.apply_one(tenant, op).await.about(|| format!("{noun} '{name}'"))?;
    match outcome {
        WriteOutcome::User(u) => ctx.done(&u, || format!("deleted (restorable) user {} {}", u.attrs.user_principal_name, u.id)),
        WriteOutcome::Group(g) => ctx.done(&g, || format!("deleted (restorable) group {} {}", g.attrs.display_name, g.id)),
        WriteOutcome::HardDeleted { kind, id } => {
            ctx.done(&serde_json::json!({ "id": id, "objectType": kind, "hardDeleted": true }), || format!("deleted for good {} {name} {id}", kind.as_str()))
        }
    }
    Ok(())
}
