//! What `sync create` and `sync update` set: every setting a configuration has but its two
//! tenants. `create` applies the options given onto Entra's defaults, `update` onto the
//! stored configuration; either way an option left out changes nothing. (`--assign` and
//! `--unassign` name objects of the source, which `sync.rs` looks up.)
use super::super::args::{Names, number};
use crate::failure::{CliCode, Context, Failure};
use clap::{Args, ValueEnum};
use tenantsync_domain::{AttributeMapping, FlowType, MappingSource, ScopingClause, ScopingFilterGroup, ScopingOperand, SyncConfiguration, SyncScope};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScopeArg {
    /// Assigned users and direct members of assigned groups (Entra's recommended scope).
    #[value(alias = "assignedUsersAndGroups")]
    Assigned,
    /// Every internal user of the source.
    #[value(alias = "allUsers")]
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

/// The userType of the users a configuration creates.
#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "PascalCase")]
pub enum UserTypeArg {
    Member,
    Guest,
}

/// When a mapping writes (Entra's flow types).
#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "PascalCase")]
pub enum FlowArg {
    /// On create and on every update.
    Always,
    /// Only when the target object is created.
    ObjectAddOnly,
}

impl From<FlowArg> for FlowType {
    fn from(f: FlowArg) -> Self {
        match f {
            FlowArg::Always => FlowType::Always,
            FlowArg::ObjectAddOnly => FlowType::ObjectAddOnly,
        }
    }
}

/// A deletion threshold: a number, or `off`.
#[derive(Debug, Clone, Copy)]
pub struct Threshold(Option<u32>);

fn threshold(s: &str) -> Result<Threshold, String> {
    if s.trim().eq_ignore_ascii_case("off") {
        return Ok(Threshold(None));
    }
    number::<u32, 0>(s).map(|n| Threshold(Some(n))).map_err(|_| "expected a whole number or off".into())
}

fn percent(s: &str) -> Result<u64, String> {
    let n = number::<u64, 0>(s)?;
    if n > 100 { Err("expected a percentage, 0 to 100".into()) } else { Ok(n) }
}

#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Display name (default on create: "SOURCE to TARGET" with the tenants' names).
    #[arg(long)]
    pub name: Option<String>,
    /// Who is considered: assigned users and groups (default on create), or all users.
    #[arg(long, value_enum)]
    scope: Option<ScopeArg>,
    /// The userType of the users it creates (the userType mapping's constant; default on create: Member).
    #[arg(long, ignore_case = true, value_parser = Names::<UserTypeArg>::new())]
    user_type: Option<UserTypeArg>,
    /// A scoping filter group: clauses joined by AND, e.g. 'department EQUALS Sales AND country EQUALS NO'.
    /// Repeat for more groups: a user is in scope when any group holds. Replaces the whole filter.
    #[arg(long = "filter", value_name = "CLAUSES")]
    filters: Vec<String>,
    /// Remove the scoping filter.
    #[arg(long, conflicts_with = "filters")]
    no_filter: bool,
    /// Assign a user (id or userPrincipalName) or a group (id or display name) of the source; repeatable.
    #[arg(long = "assign", value_name = "USER|GROUP")]
    pub assign: Vec<String>,
    /// Remove the assignment of a user or group; repeatable.
    #[arg(long = "unassign", value_name = "USER|GROUP")]
    pub unassign: Vec<String>,
    /// TARGET=EXPRESSION: add a user mapping, or change the source of one (its flow and default stay),
    /// e.g. 'displayName=Join(" ", [givenName], [surname])'.
    #[arg(long = "map", value_name = "TARGET=EXPRESSION")]
    maps: Vec<String>,
    /// Remove the user mapping of TARGET (the attribute is no longer written).
    #[arg(long = "unmap", value_name = "TARGET")]
    unmaps: Vec<String>,
    /// TARGET=FLOW: when the user mapping of TARGET writes: Always, or ObjectAddOnly (only on create).
    #[arg(long = "flow", value_name = "TARGET=FLOW")]
    flows: Vec<String>,
    /// TARGET=VALUE: the value the user mapping of TARGET writes on create when its source gives none (`TARGET=` removes it).
    #[arg(long = "default", value_name = "TARGET=VALUE")]
    defaults: Vec<String>,
    /// Provision the assigned groups as security groups with their in-scope members (Entra's
    /// "Provision Microsoft Entra ID Groups"; needs --scope assigned; alone: true; default on create: false).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    provision_groups: Option<bool>,
    /// TARGET=EXPRESSION: add a group mapping, or change the source of one,
    /// e.g. 'description=Join(" ", "Synced:", [displayName])'.
    #[arg(long = "group-map", value_name = "TARGET=EXPRESSION")]
    group_maps: Vec<String>,
    /// Remove the group mapping of TARGET.
    #[arg(long = "group-unmap", value_name = "TARGET")]
    group_unmaps: Vec<String>,
    /// TARGET=FLOW: when the group mapping of TARGET writes: Always or ObjectAddOnly.
    #[arg(long = "group-flow", value_name = "TARGET=FLOW")]
    group_flows: Vec<String>,
    /// TARGET=VALUE: the group mapping's value on create when its source gives none (`TARGET=` removes it).
    #[arg(long = "group-default", value_name = "TARGET=VALUE")]
    group_defaults: Vec<String>,
    /// Whether it may create users and groups in the target (default on create: true).
    #[arg(long, value_name = "BOOL")]
    allow_create: Option<bool>,
    /// Whether it may update them (default on create: true).
    #[arg(long, value_name = "BOOL")]
    allow_update: Option<bool>,
    /// Whether it may delete them (default on create: true).
    #[arg(long, value_name = "BOOL")]
    allow_delete: Option<bool>,
    /// Most deletions one cycle may make, or `off` (default on create: 500).
    #[arg(long, value_name = "N|off", allow_negative_numbers = true, value_parser = threshold)]
    deletion_threshold: Option<Threshold>,
    /// Seconds before a failed object is first tried again; then twice as long each time (default on create: 60).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, value_parser = number::<u64, 1>)]
    retry_base_seconds: Option<u64>,
    /// Longest wait between two tries of a failed object (default on create: 3600).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, value_parser = number::<u64, 1>)]
    retry_max_seconds: Option<u64>,
    /// Failures a cycle must have before the proportion and failure thresholds count (default on create: 5000).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = number::<u64, 0>)]
    quarantine_evaluate_after: Option<u64>,
    /// Share of a cycle's object actions failing, in percent, above which the job is quarantined (default on create: 40).
    #[arg(long, value_name = "PERCENT", allow_negative_numbers = true, value_parser = percent)]
    quarantine_failure_percent: Option<u64>,
    /// Failures of one cycle above which the job is quarantined (default on create: 40000).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = number::<u64, 0>)]
    quarantine_failures: Option<u64>,
    /// Failures of one cycle above which the job is always quarantined (default on create: 60000).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = number::<u64, 0>)]
    quarantine_absolute: Option<u64>,
}

impl SettingsArgs {
    /// Applies the options given to `c`, the assignments aside.
    pub fn apply(&self, c: &mut SyncConfiguration) -> Result<(), Failure> {
        if let Some(name) = &self.name {
            if name.trim().is_empty() {
                return Err(Failure::cli(format!("--name '{name}'"), "a configuration's name cannot be empty", CliCode::InvalidArgument));
            }
            c.display_name = name.trim().to_owned();
        }
        if let Some(scope) = self.scope {
            c.scope = scope.into();
        }
        if let Some(t) = self.user_type {
            let value = match t {
                UserTypeArg::Member => "Member",
                UserTypeArg::Guest => "Guest",
            };
            match c.user_mappings.iter_mut().find(|m| m.target_attribute_name.eq_ignore_ascii_case("userType")) {
                Some(m) => m.source = MappingSource::Constant(value.into()),
                None => c.user_mappings.push(AttributeMapping { flow_type: FlowType::ObjectAddOnly, ..AttributeMapping::constant(value, "userType") }),
            }
        }
        if self.no_filter {
            c.scoping_filter.clear();
        } else if !self.filters.is_empty() {
            c.scoping_filter = filter_groups(&self.filters)?;
        }
        edit_mappings(&mut c.user_mappings, "", &self.unmaps, &self.maps, &self.flows, &self.defaults)?;
        edit_mappings(&mut c.group_mappings, "group-", &self.group_unmaps, &self.group_maps, &self.group_flows, &self.group_defaults)?;
        if let Some(on) = self.provision_groups {
            c.provision_groups = on;
        }
        c.actions.create = self.allow_create.unwrap_or(c.actions.create);
        c.actions.update = self.allow_update.unwrap_or(c.actions.update);
        c.actions.delete = self.allow_delete.unwrap_or(c.actions.delete);
        if let Some(Threshold(t)) = self.deletion_threshold {
            c.deletion_threshold = t;
        }
        c.retry.base_seconds = self.retry_base_seconds.unwrap_or(c.retry.base_seconds);
        c.retry.max_seconds = self.retry_max_seconds.unwrap_or(c.retry.max_seconds);
        if c.retry.base_seconds > c.retry.max_seconds {
            let message = format!("the first wait ({} s) is longer than the longest ({} s)", c.retry.base_seconds, c.retry.max_seconds);
            return Err(Failure::cli("--retry-base-seconds", message, CliCode::InvalidArgument));
        }
        let q = &mut c.quarantine;
        q.evaluate_after = self.quarantine_evaluate_after.unwrap_or(q.evaluate_after);
        q.failure_percent = self.quarantine_failure_percent.unwrap_or(q.failure_percent);
        q.failures = self.quarantine_failures.unwrap_or(q.failures);
        q.absolute = self.quarantine_absolute.unwrap_or(q.absolute);
        Ok(())
    }
}

/// The scoping filter the `--filter` options give: one group each, ORed; within one,
/// clauses joined by `AND`.
fn filter_groups(filters: &[String]) -> Result<Vec<ScopingFilterGroup>, Failure> {
    let mut groups = Vec::new();
    for (i, f) in filters.iter().enumerate() {
        let name = if filters.len() == 1 { "Scoping filter".to_owned() } else { format!("Scoping filter {}", i + 1) };
        let parsed = tenantsync_expression::scoping::FilterGroup::parse_text(&name, f).about(|| format!("--filter '{f}'"))?;
        if parsed.clauses.is_empty() {
            return Err(Failure::cli(format!("--filter '{f}'"), "no clause (remove the filter with --no-filter)", CliCode::InvalidArgument));
        }
        let clauses = parsed
            .clauses
            .into_iter()
            .map(|c| ScopingClause {
                source_operand_name: c.source_operand_name,
                operator_name: c.operator_name,
                target_operand: ScopingOperand { values: c.target_operand.values },
            })
            .collect();
        groups.push(ScopingFilterGroup { name, clauses });
    }
    Ok(groups)
}

/// `TARGET=VALUE` of the option `--{prefix}{option}`.
fn split<'a>(item: &'a str, prefix: &str, option: &str, expected: &str) -> Result<(&'a str, &'a str), Failure> {
    let (target, value) =
        item.split_once('=').ok_or_else(|| Failure::cli(format!("--{prefix}{option} '{item}'"), format!("expected {expected}"), CliCode::InvalidArgument))?;
    Ok((target.trim(), value))
}

/// The mapping of `target` in `mappings`, or a failure naming the mapped attributes.
fn mapping<'a>(mappings: &'a mut [AttributeMapping], target: &str, prefix: &str, option: &str, item: &str) -> Result<&'a mut AttributeMapping, Failure> {
    let known: Vec<String> = mappings.iter().map(|m| m.target_attribute_name.clone()).collect();
    mappings.iter_mut().find(|m| m.target_attribute_name.eq_ignore_ascii_case(target)).ok_or_else(|| {
        Failure::cli(format!("--{prefix}{option} '{item}'"), format!("no mapping writes '{target}' (mapped: {})", known.join(", ")), CliCode::InvalidArgument)
    })
}

/// Applies, in this order, the removals, the new or changed sources, the flows and the
/// defaults the options give.
fn edit_mappings(
    mappings: &mut Vec<AttributeMapping>,
    prefix: &str,
    unmaps: &[String],
    maps: &[String],
    flows: &[String],
    defaults: &[String],
) -> Result<(), Failure> {
    for target in unmaps {
        mapping(mappings, target.trim(), prefix, "unmap", target)?;
        mappings.retain(|m| !m.target_attribute_name.eq_ignore_ascii_case(target.trim()));
    }
    for item in maps {
        let (target, expr) = split(item, prefix, "map", "TARGET=EXPRESSION")?;
        match mappings.iter_mut().find(|m| m.target_attribute_name.eq_ignore_ascii_case(target)) {
            Some(m) => m.source = MappingSource::Expression(expr.to_owned()),
            None => mappings.push(AttributeMapping::expression(expr, target)),
        }
    }
    for item in flows {
        let (target, flow) = split(item, prefix, "flow", "TARGET=Always or TARGET=ObjectAddOnly")?;
        let flow = FlowArg::from_str(flow.trim(), true)
            .map_err(|_| Failure::cli(format!("--{prefix}flow '{item}'"), "expected TARGET=Always or TARGET=ObjectAddOnly", CliCode::InvalidArgument))?;
        mapping(mappings, target, prefix, "flow", item)?.flow_type = flow.into();
    }
    for item in defaults {
        let (target, value) = split(item, prefix, "default", "TARGET=VALUE")?;
        mapping(mappings, target, prefix, "default", item)?.default_value = if value.is_empty() { None } else { Some(value.to_owned()) };
    }
    Ok(())
}
