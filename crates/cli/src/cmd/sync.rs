//! `tenantsync sync`: sync configurations (create, change, assign, delete), their jobs
//! (run, provision on demand, start, pause, restart) and their provisioning logs.
use super::Ctx;
use super::lookup::{self, group_id, user_id};
use crate::failure::{CliCode, Context, Failure};
use crate::output;
use clap::{Args, Subcommand, ValueEnum};
use tenantsync_domain::{
    Assignment, AttributeMapping, FlowType, ObjectId, ScopingClause, ScopingFilterGroup, ScopingOperand, SyncConfigId, SyncConfiguration, SyncScope,
};
use tenantsync_engine::{CycleReport, Engine, ResetScope};
use tenantsync_store::{JobState, LogQuery, ProvisioningStatus, StoreError};

const CONFIG_NOT_FOUND: tenantsync_domain::ErrorInfo = tenantsync_domain::ErrorInfo::find(StoreError::TABLE, "sync_configuration_not_found");

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScopeArg {
    Assigned,
    All,
}

impl From<ScopeArg> for SyncScope {
    fn from(scope: ScopeArg) -> Self {
        match scope {
            ScopeArg::Assigned => SyncScope::AssignedUsersAndGroups,
            ScopeArg::All => SyncScope::AllUsers,
        }
    }
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Source tenant (id or initial domain).
    #[arg(long)]
    source: String,
    /// Target tenant.
    #[arg(long)]
    target: String,
    #[arg(long)]
    name: Option<String>,
    /// Assigned users and groups (default) or all users.
    #[arg(long, value_enum, default_value_t = ScopeArg::Assigned)]
    scope: ScopeArg,
    /// userType of created users: Member (default) or Guest.
    #[arg(long, default_value = "Member")]
    user_type: String,
    /// Most deletions one cycle may make; `off` disables the protection.
    #[arg(long, default_value = "500")]
    deletion_threshold: String,
    /// TARGET=EXPRESSION: add or replace a mapping (e.g. 'displayName=Join(" ", [givenName], [surname])').
    #[arg(long = "map", value_name = "TARGET=EXPRESSION")]
    maps: Vec<String>,
    /// A scoping clause such as 'department EQUALS Sales' (repeat: all must hold).
    #[arg(long = "filter", value_name = "CLAUSE")]
    filters: Vec<String>,
    /// Provision the assigned groups as security groups with their in-scope members
    /// (Entra's "Provision Microsoft Entra ID Groups"; needs --scope assigned).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    provision_groups: Option<bool>,
    /// TARGET=EXPRESSION: add or replace a group mapping (e.g. 'description=Join(" ", "Synced:", [displayName])').
    #[arg(long = "group-map", value_name = "TARGET=EXPRESSION")]
    group_maps: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The configuration (id or SOURCE:TARGET).
    config: String,
    #[arg(long)]
    name: Option<String>,
    /// Assigned users and groups, or all users.
    #[arg(long, value_enum)]
    scope: Option<ScopeArg>,
    /// Most deletions one cycle may make; `off` disables the protection.
    #[arg(long)]
    deletion_threshold: Option<String>,
    /// TARGET=EXPRESSION: add or replace a user mapping.
    #[arg(long = "map", value_name = "TARGET=EXPRESSION")]
    maps: Vec<String>,
    /// Turn group provisioning on or off (`--provision-groups` alone turns it on).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    provision_groups: Option<bool>,
    /// TARGET=EXPRESSION: add or replace a group mapping.
    #[arg(long = "group-map", value_name = "TARGET=EXPRESSION")]
    group_maps: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum SyncCmd {
    /// Create a sync configuration from a source tenant to a target tenant.
    Create(CreateArgs),
    /// Change a configuration (a change of mappings, scope or group provisioning makes the next cycle an initial one).
    Update(UpdateArgs),
    /// List sync configurations.
    List,
    /// Show a configuration and its job status.
    Show { config: String },
    /// Delete a configuration (users it synced stay as they are).
    Delete { config: String },
    /// Assign a user or group of the source tenant.
    Assign {
        config: String,
        #[arg(long, conflicts_with = "group")]
        user: Option<String>,
        #[arg(long)]
        group: Option<String>,
    },
    /// Remove an assignment.
    Unassign {
        config: String,
        #[arg(long, conflicts_with = "group")]
        user: Option<String>,
        #[arg(long)]
        group: Option<String>,
    },
    /// Run one cycle now (initial if none has run, incremental otherwise).
    Run { config: String },
    /// Provision one source user now, through the real pipeline, and show every step.
    Provision {
        config: String,
        /// The source user (id or userPrincipalName).
        #[arg(long)]
        user: String,
    },
    /// Let a paused job run again.
    Start { config: String },
    /// Pause a job (its watermark, escrows and links are kept).
    Pause { config: String },
    /// Restart a job, resetting what --reset names (default: Watermark, Escrows, QuarantineState).
    Restart {
        config: String,
        /// Comma-separated: Watermark, Escrows, QuarantineState, Full, ForceDeletes.
        #[arg(long, default_value = "")]
        reset: String,
    },
    /// Provisioning log records, newest first.
    Logs {
        config: String,
        /// success, failure, skipped or warning.
        #[arg(long)]
        status: Option<String>,
        /// Only records of this source or target object (id).
        #[arg(long)]
        object: Option<String>,
        /// Only records at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Only records before this time (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// A configuration named by id or as `SOURCE:TARGET` (tenant ids or initial domains).
async fn config(ctx: &Ctx, name: &str) -> Result<SyncConfiguration, Failure> {
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

fn parse_bool_or_off(s: &str) -> Result<Option<u32>, Failure> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    s.parse::<u32>().map(Some).map_err(|_| Failure::cli(format!("--deletion-threshold '{s}'"), "expected a number or off", CliCode::InvalidArgument))
}

pub async fn run(ctx: &Ctx, cmd: SyncCmd) -> Result<(), Failure> {
    let engine = Engine::new(ctx.sync.clone());
    match cmd {
        SyncCmd::Create(a) => {
            let (s, t) = (lookup::tenant(ctx.store.as_ref(), &a.source).await?, lookup::tenant(ctx.store.as_ref(), &a.target).await?);
            let name = a.name.clone().unwrap_or_else(|| format!("{} to {}", s.display_name, t.display_name));
            let subject = || format!("sync configuration '{}:{}'", s.initial_domain, t.initial_domain);
            let mut c = SyncConfiguration::new(&name, s.id, t.id).about(subject)?;
            c.scope = a.scope.into();
            c.deletion_threshold = parse_bool_or_off(&a.deletion_threshold)?;
            set_mapping(&mut c.user_mappings, AttributeMapping { flow_type: FlowType::ObjectAddOnly, ..AttributeMapping::constant(&a.user_type, "userType") });
            add_mappings(&mut c.user_mappings, &a.maps, "--map")?;
            add_mappings(&mut c.group_mappings, &a.group_maps, "--group-map")?;
            c.provision_groups = a.provision_groups.unwrap_or(false);
            if !a.filters.is_empty() {
                let mut group = ScopingFilterGroup { name: "Scoping filter".into(), clauses: Vec::new() };
                for f in &a.filters {
                    let parsed = tenantsync_expression::scoping::FilterGroup::parse_text("clause", f).about(|| format!("--filter '{f}'"))?;
                    for c in parsed.clauses {
                        group.clauses.push(ScopingClause {
                            source_operand_name: c.source_operand_name,
                            operator_name: c.operator_name,
                            target_operand: ScopingOperand { values: c.target_operand.values },
                        });
                    }
                }
                c.scoping_filter = vec![group];
            }
            let c = engine.create_configuration(c).await.about(subject)?;
            ctx.done(&c, || format!("created sync configuration {} ({} -> {})", c.id, s.initial_domain, t.initial_domain));
        }
        SyncCmd::Update(a) => {
            let mut c = config(ctx, &a.config).await?;
            if let Some(name) = &a.name {
                c.display_name = name.trim().to_owned();
            }
            if let Some(scope) = a.scope {
                c.scope = scope.into();
            }
            if let Some(t) = &a.deletion_threshold {
                c.deletion_threshold = parse_bool_or_off(t)?;
            }
            add_mappings(&mut c.user_mappings, &a.maps, "--map")?;
            add_mappings(&mut c.group_mappings, &a.group_maps, "--group-map")?;
            if let Some(on) = a.provision_groups {
                c.provision_groups = on;
            }
            let c = engine.update_configuration(c).await.about(named(&a.config))?;
            ctx.done(&c, || format!("updated sync configuration {} (group provisioning {})", c.id, if c.provision_groups { "on" } else { "off" }));
        }
        SyncCmd::List => {
            let all = ctx.sync.list_sync_configurations().await.about(String::new)?;
            if ctx.json {
                output::json(&all);
            } else {
                let mut rows = Vec::new();
                for c in &all {
                    let state = ctx.sync.job_state(c.id).await.about(String::new)?;
                    rows.push(vec![
                        c.id.to_string(),
                        domain(ctx, c.source_tenant_id).await,
                        domain(ctx, c.target_tenant_id).await,
                        format!("{:?}", c.scope),
                        format!("{:?}", state.status),
                        state.watermark.to_string(),
                    ]);
                }
                output::table(&["ID", "SOURCE", "TARGET", "SCOPE", "STATUS", "WATERMARK"], &rows);
            }
        }
        SyncCmd::Show { config: name } => {
            let c = config(ctx, &name).await?;
            let state = ctx.sync.job_state(c.id).await.about(named(&name))?;
            let view = serde_json::json!({ "configuration": c, "status": state });
            if ctx.json {
                output::json(&view);
            } else {
                println!("{}", serde_json::to_string_pretty(&view).unwrap_or_default());
            }
        }
        SyncCmd::Delete { config: name } => {
            let c = config(ctx, &name).await?;
            ctx.sync.delete_sync_configuration(c.id).await.about(named(&name))?;
            ctx.say(|| format!("deleted sync configuration {} (synced users stay as they are)", c.id));
        }
        SyncCmd::Assign { config: name, user, group } => {
            let (mut c, a) = assignment(ctx, &name, user.as_deref(), group.as_deref()).await?;
            if !c.assignments.contains(&a) {
                c.assignments.push(a);
                engine.update_configuration(c).await.about(named(&name))?;
            }
            ctx.say(|| format!("assigned {a:?}"));
        }
        SyncCmd::Unassign { config: name, user, group } => {
            let (mut c, a) = assignment(ctx, &name, user.as_deref(), group.as_deref()).await?;
            if !c.assignments.contains(&a) {
                return Err(Failure::cli(named(&name)(), format!("{a:?} is not assigned"), CliCode::NotAssigned));
            }
            c.assignments.retain(|x| *x != a);
            engine.update_configuration(c).await.about(named(&name))?;
            ctx.say(|| format!("unassigned {a:?}"));
        }
        SyncCmd::Run { config: name } => {
            let c = config(ctx, &name).await?;
            let report = engine.run_cycle(c.id).await.about(named(&name))?;
            print_report(ctx, &report);
        }
        SyncCmd::Provision { config: name, user } => {
            let c = config(ctx, &name).await?;
            let source = ctx.store.get_tenant(c.source_tenant_id).await.about(named(&name))?;
            let uid = user_id(ctx.store.as_ref(), &source, &user).await?;
            let log = engine.provision_on_demand(c.id, uid).await.about(|| format!("user '{user}'"))?;
            if ctx.json {
                output::json(&log);
            } else {
                for st in &log.steps {
                    println!("{} ({}): {} — {}", st.kind, st.kind.step_type(), st.status.as_str(), st.description);
                    for (k, v) in &st.details {
                        println!("    {k}: {v}");
                    }
                }
                let outcome = log.error_code.clone().or_else(|| log.skip_reason.map(|r| r.to_string())).unwrap_or_default();
                println!("result: {:?} {} {outcome}", log.provisioning_action, log.status.as_str());
            }
        }
        SyncCmd::Start { config: name } => {
            let c = config(ctx, &name).await?;
            let state = engine.start(c.id).await.about(named(&name))?;
            print_state(ctx, "started", &state);
        }
        SyncCmd::Pause { config: name } => {
            let c = config(ctx, &name).await?;
            let state = engine.pause(c.id).await.about(named(&name))?;
            print_state(ctx, "paused", &state);
        }
        SyncCmd::Restart { config: name, reset } => {
            let c = config(ctx, &name).await?;
            let scope = ResetScope::parse(&reset).map_err(|m| Failure::cli(format!("--reset '{reset}'"), m, CliCode::InvalidArgument))?;
            let state = engine.restart(c.id, scope).await.about(named(&name))?;
            print_state(ctx, "restarted", &state);
        }
        SyncCmd::Logs { config: name, status, object, since, until, limit } => {
            let c = config(ctx, &name).await?;
            let status = match status.as_deref() {
                None => None,
                Some(s) => Some(match s.to_ascii_lowercase().as_str() {
                    "success" => ProvisioningStatus::Success,
                    "failure" => ProvisioningStatus::Failure,
                    "skipped" => ProvisioningStatus::Skipped,
                    "warning" => ProvisioningStatus::Warning,
                    _ => return Err(Failure::cli(format!("--status '{s}'"), "expected success, failure, skipped or warning", CliCode::InvalidArgument)),
                }),
            };
            let object_id = object.as_deref().map(|o| o.parse::<ObjectId>().about(|| format!("--object '{o}'"))).transpose()?;
            let time = |flag: &str, t: Option<String>| {
                t.map(|t| t.parse::<jiff::Timestamp>().map_err(|e| Failure::cli(format!("{flag} '{t}'"), e.to_string(), CliCode::InvalidArgument))).transpose()
            };
            let (since, until) = (time("--since", since)?, time("--until", until)?);
            let query = LogQuery { config_id: Some(c.id), since, until, status, object_id, limit };
            let logs = ctx.sync.provisioning_logs(&query).await.about(named(&name))?;
            if ctx.json {
                output::json(&logs);
            } else {
                let rows: Vec<Vec<String>> = logs
                    .iter()
                    .map(|l| {
                        let detail = l.error_code.clone().or_else(|| l.skip_reason.map(|r| r.to_string())).unwrap_or_else(|| {
                            l.modified_properties
                                .iter()
                                .map(|m| format!("{}={}", m.display_name, m.new_value.clone().unwrap_or_default()))
                                .collect::<Vec<_>>()
                                .join(" ")
                        });
                        vec![
                            l.activity_date_time.to_string(),
                            l.object_type.to_string(),
                            format!("{:?}", l.provisioning_action).to_lowercase(),
                            l.status.as_str().to_owned(),
                            l.source_display_name.clone(),
                            detail,
                        ]
                    })
                    .collect();
                output::table(&["TIME", "TYPE", "ACTION", "STATUS", "SOURCE", "DETAIL"], &rows);
            }
        }
    }
    Ok(())
}

/// The configuration named `name`, and the assignment `--user` or `--group` names in its
/// source tenant.
async fn assignment(ctx: &Ctx, name: &str, user: Option<&str>, group: Option<&str>) -> Result<(SyncConfiguration, Assignment), Failure> {
    let c = config(ctx, name).await?;
    let source = ctx.store.get_tenant(c.source_tenant_id).await.about(named(name))?;
    let a = match (user, group) {
        (Some(u), None) => Assignment::User(user_id(ctx.store.as_ref(), &source, u).await?),
        (None, Some(g)) => Assignment::Group(group_id(g)?),
        _ => return Err(Failure::cli("", "name exactly one of --user or --group", CliCode::InvalidArgument)),
    };
    Ok((c, a))
}

async fn domain(ctx: &Ctx, t: tenantsync_domain::TenantId) -> String {
    ctx.store.get_tenant(t).await.map(|t| t.initial_domain.to_string()).unwrap_or_else(|_| t.to_string())
}

fn set_mapping(mappings: &mut Vec<AttributeMapping>, m: AttributeMapping) {
    mappings.retain(|x| !x.target_attribute_name.eq_ignore_ascii_case(&m.target_attribute_name));
    mappings.push(m);
}

/// Adds or replaces mappings given as TARGET=EXPRESSION.
fn add_mappings(mappings: &mut Vec<AttributeMapping>, given: &[String], option: &str) -> Result<(), Failure> {
    for m in given {
        let (target, expr) =
            m.split_once('=').ok_or_else(|| Failure::cli(format!("{option} '{m}'"), "expected TARGET=EXPRESSION", CliCode::InvalidArgument))?;
        set_mapping(mappings, AttributeMapping::expression(expr, target.trim()));
    }
    Ok(())
}

fn print_state(ctx: &Ctx, verb: &str, state: &JobState) {
    ctx.done(state, || format!("{verb}: status {:?}, watermark {}", state.status, state.watermark));
}

fn print_report(ctx: &Ctx, r: &CycleReport) {
    if ctx.json {
        output::json(&serde_json::json!({
            "cycleId": r.cycle_id, "initial": r.initial, "counters": r.counters, "created": r.created, "updated": r.updated,
            "restored": r.restored, "softDeleted": r.soft_deleted, "hardDeleted": r.hard_deleted, "skipped": r.skipped,
            "escrowed": r.escrowed, "stagedDeletes": r.staged_deletes, "watermark": r.watermark,
            "groups": {
                "created": r.groups.created, "updated": r.groups.updated, "restored": r.groups.restored,
                "softDeleted": r.groups.soft_deleted, "hardDeleted": r.groups.hard_deleted, "skipped": r.groups.skipped,
                "membersAdded": r.groups.members_added, "membersRemoved": r.groups.members_removed,
            },
        }));
    } else {
        println!(
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
            println!(
                "  groups: {} created, {} updated, {} restored, {} soft-deleted, {} hard-deleted, {} skipped; members {} added, {} removed",
                g.created, g.updated, g.restored, g.soft_deleted, g.hard_deleted, g.skipped, g.members_added, g.members_removed
            );
        }
    }
}
