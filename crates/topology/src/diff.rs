//! What differs between the state a file declares and the state a store holds: per object
//! (tenant, partner settings, arrow, connected organization, catalog, access package), the
//! settings added, changed and removed.
use crate::state::State;
use serde::Serialize;
use std::collections::BTreeMap;

/// The kinds of objects a topology holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ObjectKind {
    Tenant,
    Partner,
    Arrow,
    Organization,
    Catalog,
    Package,
}

/// What happens to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Op {
    /// The file declares it; the store does not have it.
    Add,
    /// Both have it, with different settings.
    Change,
    /// The store has it; the file does not declare it (removed only with `--prune`).
    Remove,
}

/// One setting's change: `old` is `None` when added, `new` when removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingChange {
    pub setting: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

/// One object that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectDiff {
    pub kind: ObjectKind,
    /// The domain of a tenant, `tenant → partner` of access settings, `source → target` of an arrow.
    pub object: String,
    pub op: Op,
    pub settings: Vec<SettingChange>,
}

fn settings_diff(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<SettingChange> {
    let mut out = Vec::new();
    for (k, v) in new {
        match old.get(k) {
            Some(o) if o == v => {}
            o => out.push(SettingChange { setting: k.clone(), old: o.cloned(), new: Some(v.clone()) }),
        }
    }
    for (k, v) in old {
        if !new.contains_key(k) {
            out.push(SettingChange { setting: k.clone(), old: Some(v.clone()), new: None });
        }
    }
    out.sort_by(|a, b| a.setting.cmp(&b.setting));
    out
}

/// Compares object lists keyed by `key`, with `settings` of each.
fn objects<T>(
    kind: ObjectKind,
    desired: &[T],
    current: &[T],
    key: impl Fn(&T) -> String,
    settings: impl Fn(&T) -> BTreeMap<String, String>,
) -> Vec<ObjectDiff> {
    let mut out = Vec::new();
    let empty = BTreeMap::new();
    for d in desired {
        let k = key(d);
        let new = settings(d);
        match current.iter().find(|c| key(c) == k) {
            None => out.push(ObjectDiff { kind, object: k, op: Op::Add, settings: settings_diff(&empty, &new) }),
            Some(c) => {
                let changes = settings_diff(&settings(c), &new);
                if !changes.is_empty() {
                    out.push(ObjectDiff { kind, object: k, op: Op::Change, settings: changes });
                }
            }
        }
    }
    for c in current {
        let k = key(c);
        if !desired.iter().any(|d| key(d) == k) {
            out.push(ObjectDiff { kind, object: k, op: Op::Remove, settings: settings_diff(&settings(c), &empty) });
        }
    }
    out
}

/// Every object that differs, tenants first, then partner settings, arrows, connected
/// organizations, catalogs and access packages.
pub fn diff(desired: &State, current: &State) -> Vec<ObjectDiff> {
    let mut out = objects(ObjectKind::Tenant, &desired.tenants, &current.tenants, |t| t.domain.clone(), |t| t.settings());
    out.extend(objects(ObjectKind::Partner, &desired.access, &current.access, |a| a.label(), |a| a.settings()));
    out.extend(objects(ObjectKind::Arrow, &desired.arrows, &current.arrows, |a| a.label(), |a| a.settings()));
    out.extend(objects(ObjectKind::Organization, &desired.organizations, &current.organizations, |o| o.label(), |o| o.settings()));
    out.extend(objects(ObjectKind::Catalog, &desired.catalogs, &current.catalogs, |c| c.label(), |c| c.settings()));
    out.extend(objects(ObjectKind::Package, &desired.packages, &current.packages, |p| p.label(), |p| p.settings()));
    out
}
