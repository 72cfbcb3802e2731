//! `tenantsync apply FILE`: makes the store match the file, object by object and only
//! what differs. Everything that can be refused is checked before the first write; the
//! leases of the jobs a change touches are held while it is written, so no cycle runs
//! against half-applied settings, and a killed apply leaves no job held.
use super::Loaded;
use super::current::{self, Current};
use super::packages::{Have, Target};
use super::plan::{access_after, config_of, unmet};
use crate::cmd::Ctx;
use crate::failure::{CliCode, Context, Failure};
use crate::output::{self, out};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use tenantsync_domain::{NewTenant, PartnerSettings, SyncConfigId, SyncConfiguration, Tenant};
use tenantsync_engine::Engine;
use tenantsync_engine::EngineError;
use tenantsync_store::JobLease;
use tenantsync_topology::{ObjectDiff, ObjectKind, Op};

/// One object apply changed, or left.
#[derive(Debug, Serialize)]
struct Applied {
    kind: ObjectKind,
    object: String,
    op: Op,
    /// Whether it was written (a removal without `--prune` is not).
    written: bool,
}

/// Refuses, before anything is written, what apply could not finish: a renamed tenant,
/// and a new arrow the access settings (as they will be) do not allow.
fn check(file: &Loaded, current: &Current, diffs: &[ObjectDiff], prune: bool) -> Result<(), Failure> {
    for d in diffs.iter().filter(|d| d.kind == ObjectKind::Tenant && d.op == Op::Change) {
        if let Some(s) = d.settings.iter().find(|s| s.setting == "name") {
            let message = format!(
                "is named {:?} in the store, {:?} in the file: a tenant cannot be renamed",
                s.old.clone().unwrap_or_default(),
                s.new.clone().unwrap_or_default()
            );
            return Err(Failure::cli(format!("{}: tenant '{}'", file.name, d.object), message, CliCode::CannotRename));
        }
    }
    let access = access_after(&file.state, &current.state, prune);
    for d in diffs.iter().filter(|d| d.kind == ObjectKind::Arrow && d.op == Op::Add) {
        let Some(arrow) = file.state.arrows.iter().find(|a| a.label() == d.object) else { continue };
        let missing = unmet(&access, &arrow.source, &arrow.target);
        if !missing.is_empty() {
            return Err(Failure::cli(
                file.place(arrow.place.decl.start),
                format!("{} is not allowed: {}", arrow.label(), missing.join("; ")),
                CliCode::ArrowNotAllowed,
            ));
        }
        if (!arrow.users.is_empty() || !arrow.groups.is_empty()) && current.tenant(&arrow.source).is_none() {
            let message = format!(
                "{} assigns users or groups of {}, which this apply creates (empty): apply the tenant and its people first",
                arrow.label(),
                arrow.source
            );
            return Err(Failure::cli(file.place(arrow.place.decl.start), message, CliCode::InvalidTopology));
        }
    }
    Ok(())
}

/// What an apply did: each object changed (or left), and the jobs it held still.
#[derive(Debug, Serialize)]
pub(crate) struct Outcome {
    applied: Vec<Applied>,
    /// Jobs whose leases apply held while it wrote, so no cycle ran against half-applied settings.
    held: usize,
}

impl Outcome {
    /// How many objects were written.
    pub fn written(&self) -> usize {
        self.applied.iter().filter(|a| a.written).count()
    }
}

/// How long apply waits for a running cycle of a job it must hold still.
const LEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Takes the lease of each job in `jobs` (in id order), waiting for a cycle that runs to
/// end. A lease ends with its guard or with the process, so an apply killed at any point
/// leaves no job held (pausing them would leave them paused).
async fn hold(ctx: &Ctx, jobs: BTreeMap<SyncConfigId, String>) -> Result<Vec<JobLease>, Failure> {
    let mut leases = Vec::new();
    for (id, label) in jobs {
        let deadline = std::time::Instant::now() + LEASE_WAIT;
        loop {
            if let Some(lease) = ctx.sync.try_lease_job(id).await.about(|| label.clone())? {
                leases.push(lease);
                break;
            }
            if std::time::Instant::now() >= deadline {
                return Err(EngineError::Leased).about(|| label.clone());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    Ok(leases)
}

/// Applies `file`; with `prune`, removes what it does not declare (but tenants). Prints
/// nothing: [`print`] does.
pub(crate) async fn apply(ctx: &Ctx, file: &Loaded, prune: bool) -> Result<Outcome, Failure> {
    let current = current::read(ctx).await?;
    let diffs = tenantsync_topology::diff(&file.state, &current.state);
    check(file, &current, &diffs, prune)?;
    super::packages::check_names(ctx, file, &current.tenants, &diffs).await?;
    // The configurations of new and changed arrows whose tenants exist, assignments looked
    // up, before anything is written.
    let mut configs: BTreeMap<String, SyncConfiguration> = BTreeMap::new();
    for d in diffs.iter().filter(|d| d.kind == ObjectKind::Arrow && d.op != Op::Remove) {
        let Some(arrow) = file.state.arrows.iter().find(|a| a.label() == d.object) else { continue };
        if let (Some(s), Some(t)) = (current.tenant(&arrow.source), current.tenant(&arrow.target)) {
            let existing = current.configs.get(&(arrow.source.clone(), arrow.target.clone()));
            configs.insert(d.object.clone(), config_of(ctx, file, arrow, s, t.id, existing).await?);
        }
    }
    let engine = Engine::new(ctx.sync.clone());
    // The jobs a change touches: changed (and pruned) arrows, and the arrows of tenants
    // whose access settings change. Their leases are held while the changes are written.
    let touched: BTreeSet<&str> =
        diffs.iter().filter(|d| d.kind == ObjectKind::Partner).flat_map(|d| access_tenants(&file.state, &current.state, &d.object)).collect();
    let mut jobs: BTreeMap<SyncConfigId, String> = BTreeMap::new();
    for ((source, target), c) in &current.configs {
        let label = format!("{source} → {target}");
        let changed = diffs.iter().any(|d| d.kind == ObjectKind::Arrow && (d.op == Op::Change || prune) && d.object == label);
        if changed || touched.contains(source.as_str()) || touched.contains(target.as_str()) {
            jobs.insert(c.id, format!("sync configuration '{source}:{target}'"));
        }
    }
    let leases = hold(ctx, jobs).await?;
    let applied = write(ctx, &engine, file, &current, &diffs, configs, prune).await;
    // Released whatever happened: a failure leaves each object as it was or as the file says.
    let held = leases.len();
    drop(leases);
    Ok(Outcome { applied: applied?, held })
}

/// Prints what an apply did: as JSON, or a line per object.
pub(crate) fn print(ctx: &Ctx, outcome: &Outcome) {
    if ctx.json {
        output::json(outcome);
        return;
    }
    for a in &outcome.applied {
        let kind = super::plan::kind_word(a.kind);
        match (a.op, a.written) {
            (Op::Add, _) => out!("created {kind} {}", a.object),
            (Op::Change, _) => out!("changed {kind} {}", a.object),
            (Op::Remove, true) => out!("removed {kind} {}", a.object),
            (Op::Remove, false) if a.kind == ObjectKind::Tenant => out!("left {kind} {}: not in the file (apply never deletes tenants)", a.object),
            (Op::Remove, false) => out!("left {kind} {}: not in the file (--prune removes it)", a.object),
        }
    }
    if outcome.written() == 0 {
        out!("nothing to do: the store matches the file");
    }
}

/// The tenants whose access settings object `label` (`tenant → partner`, or `tenant (defaults)`)
/// is about: a change of defaults touches every arrow of the tenant.
fn access_tenants<'a>(desired: &'a tenantsync_topology::State, current: &'a tenantsync_topology::State, label: &str) -> Vec<&'a str> {
    desired.access.iter().chain(&current.access).filter(|a| a.label() == label).map(|a| a.tenant.as_str()).take(1).collect()
}

/// Writes every difference, in an order that never needs what comes later: tenants, access
/// settings, arrows.
async fn write(
    ctx: &Ctx,
    engine: &Engine,
    file: &Loaded,
    current: &Current,
    diffs: &[ObjectDiff],
    mut configs: BTreeMap<String, SyncConfiguration>,
    prune: bool,
) -> Result<Vec<Applied>, Failure> {
    let mut applied = Vec::new();
    let mut tenants: BTreeMap<String, Tenant> = current.tenants.clone();
    for d in diffs {
        let subject = || format!("{} {}", file.name, d.object);
        let written = match (d.kind, d.op) {
            (ObjectKind::Tenant, Op::Add) => {
                let Some(t) = file.state.tenants.iter().find(|t| t.domain == d.object) else { continue };
                let new = NewTenant::new(&t.name, &t.domain).about(subject)?.with_retention_days(t.retention_days);
                let created = ctx.store.create_tenant(new).await.about(subject)?;
                tenants.insert(current::domain(&created), created);
                true
            }
            (ObjectKind::Tenant, Op::Change) => {
                let (Some(t), Some(have)) = (file.state.tenants.iter().find(|t| t.domain == d.object), tenants.get(&d.object)) else { continue };
                ctx.store.set_tenant_retention(have.id, t.retention_days).await.about(subject)?;
                true
            }
            (ObjectKind::Tenant, Op::Remove) => false,
            (ObjectKind::Partner, op) => {
                let (state, settings) = match op {
                    Op::Remove if !prune => {
                        applied.push(Applied { kind: d.kind, object: d.object.clone(), op, written: false });
                        continue;
                    }
                    Op::Remove => (&current.state, PartnerSettings::default()),
                    Op::Add | Op::Change => {
                        let Some(a) = file.state.access.iter().find(|a| a.label() == d.object) else { continue };
                        (&file.state, a.settings)
                    }
                };
                let Some(a) = state.access.iter().find(|a| a.label() == d.object) else { continue };
                let (Some(t), partner) = (tenants.get(&a.tenant), a.partner.as_ref().and_then(|p| tenants.get(p))) else { continue };
                ctx.sync.set_partner_settings(t.id, partner.map(|p| p.id), settings).await.about(subject)?;
                true
            }
            (ObjectKind::Arrow, Op::Remove) => {
                if prune {
                    let Some(c) = current.configs.iter().find(|((s, t), _)| format!("{s} → {t}") == d.object).map(|(_, c)| c) else { continue };
                    ctx.sync.delete_sync_configuration(c.id).await.about(subject)?;
                }
                prune
            }
            (ObjectKind::Arrow, op) => {
                let Some(arrow) = file.state.arrows.iter().find(|a| a.label() == d.object) else { continue };
                let config = match configs.remove(&d.object) {
                    Some(c) => c,
                    None => {
                        // Between tenants this apply created.
                        let (Some(s), Some(t)) = (tenants.get(&arrow.source), tenants.get(&arrow.target)) else { continue };
                        config_of(ctx, file, arrow, s, t.id, None).await?
                    }
                };
                if op == Op::Add {
                    engine.create_configuration(config).await.about(subject)?;
                } else {
                    engine.update_configuration(config).await.about(subject)?;
                }
                true
            }
            (ObjectKind::Organization | ObjectKind::Catalog | ObjectKind::Package, op) => {
                if op == Op::Remove && !prune {
                    false
                } else {
                    let target = match d.kind {
                        ObjectKind::Organization => Target::Organization(&d.object),
                        ObjectKind::Catalog => Target::Catalog(&d.object),
                        _ => Target::Package(&d.object),
                    };
                    let have = Have { tenants: &tenants, defs: &current.defs };
                    super::packages::write(ctx, &file.state, &have, target, op == Op::Remove).await?;
                    true
                }
            }
        };
        applied.push(Applied { kind: d.kind, object: d.object.clone(), op: d.op, written });
    }
    Ok(applied)
}
