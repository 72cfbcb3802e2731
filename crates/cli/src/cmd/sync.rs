//! `tenantsync sync`: sync configurations (create, change, assign, delete), their jobs
//! (run, provision on demand, start, pause, restart) and their provisioning logs.
//! `settings` reads what create and update set, `view` prints configurations and what
//! changed, `logs` reads the provisioning logs.
mod logs;
mod settings;
mod view;

use super::Ctx;
use super::args::Names;
use super::lookup::{self, group_id, user_id};
use crate::failure::{CliCode, Context, Failure};
use crate::output::{self, out};
use clap::{Args, Subcommand, ValueEnum};
use settings::SettingsArgs;
use tenantsync_domain::{Assignment, ChangeCursor, ObjectId, SyncConfigId, SyncConfiguration, Tenant};
use tenantsync_engine::{CycleReport, Engine, ResetScope};
use tenantsync_store::{JobState, StoreError};

const CONFIG_NOT_FOUND: tenantsync_domain::ErrorInfo = tenantsync_domain::ErrorInfo::find(StoreError::TABLE, "sync_configuration_not_found");
const NOT_FOUND: tenantsync_domain::ErrorInfo = tenantsync_domain::ErrorInfo::find(StoreError::TABLE, "not_found");

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Source tenant (id or initial domain).
    #[arg(long)]
    source: String,
    /// Target tenant (id or initial domain).
    #[arg(long)]
    target: String,
    #[command(flatten)]
    settings: SettingsArgs,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The configuration: its id, or SOURCE:TARGET (tenant ids or initial domains).
    config: String,
    #[command(flatten)]
    settings: SettingsArgs,
}

/// The configuration a command is about.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The configuration: its id, or SOURCE:TARGET (tenant ids or initial domains).
    config: String,
}

/// What `sync restart --reset` resets (Entra's `resetScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "PascalCase")]
pub enum ResetPart {
    /// The watermark: the next cycle is an initial one.
    Watermark,
    /// The escrows: failed objects wait for their next change.
    Escrows,
    /// The quarantine.
    QuarantineState,
    /// All of the above.
    Full,
    /// Allow the deletions held back by the accidental-deletion threshold, once.
    ForceDeletes,
}

#[derive(Debug, Subcommand)]
pub enum SyncCmd {
    /// Create a sync configuration from a source tenant to a target tenant.
    Create(Box<CreateArgs>),
    /// Change a configuration; prints what changed (a change of mappings, scope, scoping filter, assignments, group provisioning or actions makes the next cycle an initial one).
    Update(Box<UpdateArgs>),
    /// List sync configurations.
    List,
    /// Show a configuration and its job status.
    Show(ConfigArg),
    /// Delete a configuration (users it synced stay as they are).
    Delete(ConfigArg),
    /// Assign a user or group of the source tenant.
    Assign(AssignArgs),
    /// Remove an assignment.
    Unassign(AssignArgs),
    /// Run one cycle now (initial if none has run, incremental otherwise).
    Run(ConfigArg),
    /// Provision one source user now, through the real pipeline, and show every step.
    Provision {
        /// The configuration: its id, or SOURCE:TARGET (tenant ids or initial domains).
        config: String,
        /// The source user (id or userPrincipalName).
        #[arg(long)]
        user: String,
    },
    /// Let a paused job run again.
    Start(ConfigArg),
    /// Pause a job (its watermark, escrows and links are kept).
    Pause(ConfigArg),
    /// Restart a job, resetting what --reset names.
    Restart {
        /// The configuration: its id, or SOURCE:TARGET (tenant ids or initial domains).
        config: String,
        /// What to reset, comma-separated [default: Watermark,Escrows,QuarantineState, as the portal's "Restart provisioning"].
        #[arg(long, ignore_case = true, value_delimiter = ',', value_parser = Names::<ResetPart>::new(),
              default_values = ["Watermark", "Escrows", "QuarantineState"], hide_default_value = true)]
        reset: Vec<ResetPart>,
    },
    /// Provisioning log records, newest first.
    Logs(logs::LogsArgs),
}

#[derive(Debug, Args)]
pub struct AssignArgs {
    /// The configuration: its id, or SOURCE:TARGET (tenant ids or initial domains).
    config: String,
    /// A user of the source tenant (id or userPrincipalName).
    #[arg(long, conflicts_with = "group", required_unless_present = "group")]
    user: Option<String>,
    /// A group of the source tenant (id or display name).
    #[arg(long)]
    group: Option<String>,
}

/// A configuration named by id or as `SOURCE:TARGET` (tenant ids or initial domains).
pub(crate) async fn config(ctx: &Ctx, name: &str) -> Result<SyncConfiguration, Failure> {
    let subject = named(name);
    if let Ok(id) = name.parse::<SyncConfigId>() {
        return ctx.sync.get_sync_configuration(id).await.about(subject);
    }
    let (s, t) = name.split_once(':').ok_or_else(|| Failure::cli(subject(), "expected an id or SOURCE:TARGET", CliCode::InvalidArgument))?;
    let (s, t) = (lookup::tenant(ctx.store.as_ref(), s).await?, lookup::tenant(ctx.store.as_ref(), t).await?);
    let all = ctx.sync.list_sync_configurations().await.about(subject)?;
    all.into_iter()
        .find(|c| c.source_tenant_id == s.id && c.target_tenant_id == t.id)
        .ok_or_else(|| Failure::new(subject(), "not found", CONFIG_NOT_FOUND.code))
}

/// The subject of failures about the configuration named `name`.
fn named(name: &str) -> impl Fn() -> String + Copy + '_ {
    move || format!("sync configuration '{name}'")
}

/// The two tenants of a configuration.
async fn tenants(ctx: &Ctx, c: &SyncConfiguration) -> Result<(Tenant, Tenant), Failure> {
    let subject = || format!("sync configuration '{}'", c.id);
    Ok((ctx.store.get_tenant(c.source_tenant_id).await.about(subject)?, ctx.store.get_tenant(c.target_tenant_id).await.about(subject)?))
}

pub async fn run(ctx: &Ctx, cmd: SyncCmd) -> Result<(), Failure> {
    let engine = Engine::new(ctx.sync.clone());
    match cmd {
        SyncCmd::Create(a) => {
            let (s, t) = (lookup::tenant(ctx.store.as_ref(), &a.source).await?, lookup::tenant(ctx.store.as_ref(), &a.target).await?);
            let name = a.settings.name.clone().unwrap_or_else(|| format!("{} to {}", s.display_name, t.display_name));
            let subject = || format!("sync configuration '{}:{}'", s.initial_domain, t.initial_domain);
            let mut c = SyncConfiguration::new(&name, s.id, t.id).about(subject)?;
            a.settings.apply(&mut c)?;
            edit_assignments(ctx, &s, &mut c, &a.settings).await?;
            let c = engine.create_configuration(c).await.about(subject)?;
            ctx.done(&c, || format!("created sync configuration {} ({} -> {})", c.id, s.initial_domain, t.initial_domain));
        }
        SyncCmd::Update(a) => {
            let old = config(ctx, &a.config).await?;
            let mut c = old.clone();
            a.settings.apply(&mut c)?;
            let (source, _) = tenants(ctx, &c).await?;
            edit_assignments(ctx, &source, &mut c, &a.settings).await?;
            let saved = engine.update_configuration(c).await.about(named(&a.config))?;
            let initial = ctx.sync.job_state(saved.id).await.about(named(&a.config))?.watermark == ChangeCursor::START;
            view::print_update(ctx, &old, &saved, initial).await?;
        }
        SyncCmd::List => {
            let all = ctx.sync.list_sync_configurations().await.about(String::new)?;
            if ctx.json {
                output::json(&all);
            } else {
                let mut rows = Vec::new();
                for c in &all {
                    let state = ctx.sync.job_state(c.id).await.about(String::new)?;
                    let (s, t) = tenants(ctx, c).await?;
                    rows.push(vec![
                        c.id.to_string(),
                        s.initial_domain.to_string(),
                        t.initial_domain.to_string(),
                        output::name(&c.scope),
                        output::name(&state.status),
                        state.watermark.to_string(),
                    ]);
                }
                output::table(&["ID", "SOURCE", "TARGET", "SCOPE", "STATUS", "WATERMARK"], &rows);
            }
        }
        SyncCmd::Show(ConfigArg { config: name }) => {
            let c = config(ctx, &name).await?;
            let state = ctx.sync.job_state(c.id).await.about(named(&name))?;
            view::print_show(ctx, &c, &state).await?;
        }
        SyncCmd::Delete(ConfigArg { config: name }) => {
            let c = config(ctx, &name).await?;
            ctx.sync.delete_sync_configuration(c.id).await.about(named(&name))?;
            let view = serde_json::json!({ "id": c.id, "deleted": true });
            ctx.done(&view, || format!("deleted sync configuration {} (synced users stay as they are)", c.id));
        }
        SyncCmd::Assign(a) => assign(ctx, &engine, a, true).await?,
        SyncCmd::Unassign(a) => assign(ctx, &engine, a, false).await?,
        SyncCmd::Run(ConfigArg { config: name }) => {
            let c = config(ctx, &name).await?;
            let report = engine.run_cycle(c.id).await.about(named(&name))?;
            print_report(ctx, &report);
        }
        SyncCmd::Provision { config: name, user } => {
            let c = config(ctx, &name).await?;
            let (source, _) = tenants(ctx, &c).await?;
            let uid = user_id(ctx.store.as_ref(), &source, &user).await?;
            let log = engine.provision_on_demand(c.id, uid).await.about(|| format!("user '{user}'"))?;
            if ctx.json {
                output::json(&log);
            } else {
                for st in &log.steps {
                    out!("{} ({}): {} — {}", st.kind, st.kind.step_type(), st.status.as_str(), st.description);
                    for (k, v) in &st.details {
                        out!("    {k}: {}", v.as_str().map_or_else(|| v.to_string(), str::to_owned));
                    }
                }
                let why = match (&log.error_code, log.skip_reason) {
                    (Some(code), _) => format!(" — {code}: {}", log.error_message.as_deref().unwrap_or_default()),
                    (None, Some(r)) => format!(" — {}: {}", r.as_str(), r.meaning()),
                    (None, None) => String::new(),
                };
                out!("result: {} {}{why}", output::name(&log.provisioning_action), log.status.as_str());
            }
        }
        SyncCmd::Start(ConfigArg { config: name }) => {
            let c = config(ctx, &name).await?;
            let state = engine.start(c.id).await.about(named(&name))?;
            print_state(ctx, "started", &state);
        }
        SyncCmd::Pause(ConfigArg { config: name }) => {
            let c = config(ctx, &name).await?;
            let state = engine.pause(c.id).await.about(named(&name))?;
            print_state(ctx, "paused", &state);
        }
        SyncCmd::Restart { config: name, reset } => {
            let c = config(ctx, &name).await?;
            let has = |p: ResetPart| reset.contains(&p);
            let scope = ResetScope {
                watermark: has(ResetPart::Watermark),
                escrows: has(ResetPart::Escrows),
                quarantine_state: has(ResetPart::QuarantineState),
                full: has(ResetPart::Full),
                force_deletes: has(ResetPart::ForceDeletes),
            };
            let state = engine.restart(c.id, scope).await.about(named(&name))?;
            print_state(ctx, "restarted", &state);
        }
        SyncCmd::Logs(a) => {
            let c = config(ctx, &a.config).await?;
            let (s, t) = tenants(ctx, &c).await?;
            logs::run(ctx, &c, &s, &t, a).await?;
        }
    }
    Ok(())
}

/// Assigns (`add`) or unassigns the user or group `a` names, and says so (as JSON:
/// `{"configurationId", "type", "id", "name", "assigned"}`).
async fn assign(ctx: &Ctx, engine: &Engine, a: AssignArgs, add: bool) -> Result<(), Failure> {
    let mut c = config(ctx, &a.config).await?;
    let (source, _) = tenants(ctx, &c).await?;
    let store = ctx.store.as_ref();
    let (assignment, shown) = match (a.user.as_deref(), a.group.as_deref()) {
        (Some(u), None) => {
            let id = user_id(store, &source, u).await?;
            let upn = store.get_user(source.id, id).await.about(|| format!("user '{u}'"))?.attrs.user_principal_name.to_string();
            (Assignment::User(id), upn)
        }
        (None, Some(g)) => {
            let id = group_id(store, &source, g).await?;
            (Assignment::Group(id), store.get_group(source.id, id).await.about(|| format!("group '{g}'"))?.attrs.display_name)
        }
        _ => return Err(Failure::cli("", "name exactly one of --user or --group", CliCode::InvalidArgument)),
    };
    let (kind, id) = match assignment {
        Assignment::User(id) => ("user", id),
        Assignment::Group(id) => ("group", id),
    };
    let assigned = c.assignments.contains(&assignment);
    if add && !assigned {
        c.assignments.push(assignment);
        engine.update_configuration(c.clone()).await.about(named(&a.config))?;
    } else if !add {
        if !assigned {
            return Err(Failure::cli(named(&a.config)(), format!("{kind} '{shown}' ({id}) is not assigned"), CliCode::NotAssigned));
        }
        c.assignments.retain(|x| *x != assignment);
        engine.update_configuration(c.clone()).await.about(named(&a.config))?;
    }
    let view = serde_json::json!({ "configurationId": c.id, "type": kind, "id": id, "name": shown, "assigned": add });
    ctx.done(&view, || match (add, assigned) {
        (true, false) => format!("assigned {kind} {shown} ({id})"),
        (true, true) => format!("{kind} {shown} ({id}) was assigned already"),
        (false, _) => format!("unassigned {kind} {shown} ({id})"),
    });
    Ok(())
}

/// Applies `--unassign`, then `--assign` (assigning what is assigned already changes
/// nothing; unassigning what is not is refused).
async fn edit_assignments(ctx: &Ctx, source: &Tenant, c: &mut SyncConfiguration, s: &SettingsArgs) -> Result<(), Failure> {
    for name in &s.unassign {
        let a = assignee(ctx, source, c, name).await?;
        if !c.assignments.contains(&a) {
            return Err(Failure::cli(format!("--unassign '{name}'"), "is not assigned", CliCode::NotAssigned));
        }
        c.assignments.retain(|x| *x != a);
    }
    for name in &s.assign {
        let a = assignee(ctx, source, c, name).await?;
        if !c.assignments.contains(&a) {
            c.assignments.push(a);
        }
    }
    Ok(())
}

/// A user (id or userPrincipalName) or group (id or display name) of the source: an id
/// is looked for among the assignments first (a deleted object can still be unassigned),
/// then among the source's users and groups.
async fn assignee(ctx: &Ctx, source: &Tenant, c: &SyncConfiguration, name: &str) -> Result<Assignment, Failure> {
    let store = ctx.store.as_ref();
    let Ok(id) = name.parse::<ObjectId>() else {
        return Ok(if name.contains('@') {
            Assignment::User(user_id(store, source, name).await?)
        } else {
            Assignment::Group(group_id(store, source, name).await?)
        });
    };
    if let Some(a) = c.assignments.iter().find(|a| matches!(a, Assignment::User(x) | Assignment::Group(x) if *x == id)) {
        return Ok(*a);
    }
    if store.get_user(source.id, id).await.is_ok() {
        return Ok(Assignment::User(id));
    }
    if store.get_group(source.id, id).await.is_ok() {
        return Ok(Assignment::Group(id));
    }
    Err(Failure::new(format!("'{name}'"), format!("no user or group of tenant '{}' has this id", source.initial_domain), NOT_FOUND.code))
}

fn print_state(ctx: &Ctx, verb: &str, state: &JobState) {
    ctx.done(state, || format!("{verb}: status {}, watermark {}", output::name(&state.status), state.watermark));
}

/// A cycle's report as JSON (`sync run --json`, and each cycle of `demo --json`).
pub(crate) fn report_json(r: &CycleReport) -> serde_json::Value {
    serde_json::json!({
        "cycleId": r.cycle_id, "initial": r.initial, "counters": r.counters, "created": r.created, "updated": r.updated,
        "restored": r.restored, "softDeleted": r.soft_deleted, "hardDeleted": r.hard_deleted, "skipped": r.skipped,
        "escrowed": r.escrowed, "stagedDeletes": r.staged_deletes, "watermark": r.watermark,
        "groups": {
            "created": r.groups.created, "updated": r.groups.updated, "restored": r.groups.restored,
            "softDeleted": r.groups.soft_deleted, "hardDeleted": r.groups.hard_deleted, "skipped": r.groups.skipped,
            "membersAdded": r.groups.members_added, "membersRemoved": r.groups.members_removed,
        },
    })
}

fn print_report(ctx: &Ctx, r: &CycleReport) {
    if ctx.json {
        output::json(&report_json(r));
    } else {
        out!(
            "{} cycle {}: {} created, {} updated, {} restored, {} soft-deleted, {} hard-deleted, {} skipped, {} escrowed{}; watermark {}",
            if r.initial { "initial" } else { "incremental" },
            r.cycle_id,
            r.created,
            r.updated,
            r.restored,
            r.soft_deleted,
            r.hard_deleted,
            r.skipped,
            r.escrowed,
            if r.staged_deletes > 0 { format!(", {} deletions staged (quarantined: TooManyDeletes)", r.staged_deletes) } else { String::new() },
            r.watermark
        );
        let g = &r.groups;
        if *g != tenantsync_engine::GroupReport::default() {
            out!(
                "  groups: {} created, {} updated, {} restored, {} soft-deleted, {} hard-deleted, {} skipped; members {} added, {} removed",
                g.created,
                g.updated,
                g.restored,
                g.soft_deleted,
                g.hard_deleted,
                g.skipped,
                g.members_added,
                g.members_removed
            );
        }
    }
}
