//! Turning a stored configuration into something that runs: every expression parsed and
//! compiled once against the source schema (users) or the group schema (groups), every
//! target attribute checked.
use crate::{EngineError, PlanError};
use tenantsync_domain::{
    Anchor, AttrValue, AttributeMapping, Clock, DomainError, ErrorInfo, FlowType, Group, GroupAttribute, MappingSource, SyncConfiguration, SyncScope, User,
    UserAttrName, UserAttribute,
};
use tenantsync_expression::scoping::{CompiledFilter, Filter, FilterGroup};
use tenantsync_expression::{Env, Program, Row, Schema, SeededRandom, Slot, Value};

/// Source attributes every configuration can read besides the user attributes:
/// `netId` (the anchor text this user gets in targets) and `IsSoftDeleted`.
pub const NET_ID: &str = "netId";
pub const IS_SOFT_DELETED: &str = "IsSoftDeleted";

/// One compiled mapping.
#[derive(Debug)]
pub struct Mapping {
    pub target: UserAttrName,
    pub program: Program,
    pub flow: FlowType,
    pub default_value: Option<String>,
    /// The source text, for logs and on-demand steps.
    pub source_text: String,
    /// The source attribute when the expression is nothing but a reference to one
    /// (`[city]`, as most mappings are): planning reads it from the user, without a row.
    pub direct: Option<UserAttrName>,
    /// A direct mapping whose attribute nothing else reads while a user is mapped (no
    /// expression mapping, no other direct mapping; the scoping filter reads before):
    /// a create may move the value out of a source user read for it alone instead of
    /// copying it (see `plan::Src`).
    pub movable: bool,
    /// A direct mapping of a built-in attribute to itself (not the manager, a reference
    /// resolved in the target): a create moves the value with the source user's
    /// attributes as a whole (see `plan::map_new_moving`).
    pub same: Option<UserAttribute>,
}

/// A configuration ready to run.
#[derive(Debug)]
pub struct Compiled {
    pub config: SyncConfiguration,
    pub schema: Schema,
    /// Source attribute name of each schema slot (for filling rows).
    names: Vec<UserAttrName>,
    /// The slots some mapping or the filter reads (indices into `names`): a planning row
    /// fills only these, as a user has many attributes and a copy of each costs.
    read: Vec<usize>,
    /// Whether `netId` / `IsSoftDeleted` are read.
    reads_net_id: bool,
    reads_soft_deleted: bool,
    net_id: tenantsync_expression::Slot,
    soft_deleted: tenantsync_expression::Slot,
    pub mappings: Vec<Mapping>,
    pub filter: Option<CompiledFilter>,
    /// Every user's planning row when the mappings and the filter read nothing from it
    /// (direct mappings and constants only): made once, not once per user.
    empty_row: Option<Row>,
    /// The attributes of the [`Mapping::same`] mappings.
    pub same_attrs: tenantsync_domain::UserAttributeSet,
    /// The group mappings (checked even while group provisioning is off).
    pub groups: CompiledGroups,
}

/// Extension attribute names a text mentions (`[extension_…]` or a bare operand).
fn extension_names(text: &str, out: &mut Vec<String>) {
    let mut rest = text;
    while let Some(i) = rest.find("extension_") {
        let tail = &rest[i..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        out.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
}

pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl Compiled {
    pub fn new(config: SyncConfiguration) -> Result<Compiled, EngineError> {
        if config.source_tenant_id == config.target_tenant_id {
            return Err(EngineError::SameTenant);
        }
        let mut names: Vec<UserAttrName> = UserAttribute::ALL.iter().map(|a| UserAttrName::Builtin(*a)).collect();
        let mut extensions = Vec::new();
        for m in &config.user_mappings {
            match &m.source {
                MappingSource::Attribute(a) | MappingSource::Expression(a) => extension_names(a, &mut extensions),
                MappingSource::Constant(_) => {}
            }
        }
        for g in &config.scoping_filter {
            for c in &g.clauses {
                extension_names(&c.source_operand_name, &mut extensions);
            }
        }
        extensions.sort();
        extensions.dedup();
        for e in extensions {
            if let Ok(name) = UserAttrName::parse(&e) {
                names.push(name);
            }
        }
        let mut schema = Schema::new(names.iter().map(|n| n.to_string()));
        let net_id = schema.add(NET_ID);
        let soft_deleted = schema.add(IS_SOFT_DELETED);

        let mut mappings = Vec::with_capacity(config.user_mappings.len());
        for m in &config.user_mappings {
            let twice = |message, cause| EngineError::InvalidMapping { target: m.target_attribute_name.clone(), message, cause };
            add_once(&mut mappings, Self::mapping(m, &schema, &names)?, |a, b| a.target == b.target, &m.target_attribute_name, twice)?;
        }
        let filter = if config.scoping_filter.is_empty() {
            None
        } else {
            let bad = |e: tenantsync_expression::Error| EngineError::InvalidScopingFilter { message: e.to_string(), cause: e.info() };
            let groups: Vec<FilterGroup> = serde_json::to_value(&config.scoping_filter)
                .and_then(serde_json::from_value)
                .map_err(|e| bad(tenantsync_expression::Error::InvalidClause { clause: String::new(), message: e.to_string() }))?;
            let filter = Filter { groups, ..Filter::default() };
            Some(filter.compile(&schema).map_err(bad)?)
        };
        let groups = CompiledGroups::new(&config)?;
        let expression_reads: Vec<usize> = mappings.iter().filter(|m| m.direct.is_none()).flat_map(|m| m.program.reads().iter().map(|s| s.0)).collect();
        let direct_sources: Vec<Option<UserAttrName>> = mappings.iter().map(|m| m.direct.clone()).collect();
        for m in &mut mappings {
            m.movable = m.direct.as_ref().is_some_and(|x| {
                let read_by_an_expression = names.iter().position(|n| n == x).is_some_and(|slot| expression_reads.contains(&slot));
                !read_by_an_expression && direct_sources.iter().filter(|d| d.as_ref() == Some(x)).count() == 1
            });
        }
        // A direct mapping reads its attribute from the user, not from the row.
        let mut read: Vec<usize> = mappings
            .iter()
            .filter(|m| m.direct.is_none())
            .flat_map(|m| m.program.reads().iter().map(|s| s.0))
            .chain(filter.iter().flat_map(|f| f.reads().map(|s| s.0)))
            .collect();
        read.sort_unstable();
        read.dedup();
        let (reads_net_id, reads_soft_deleted) = (read.contains(&net_id.0), read.contains(&soft_deleted.0));
        read.retain(|i| *i < names.len());
        let empty_row = (read.is_empty() && !reads_net_id && !reads_soft_deleted).then(|| schema.row());
        let same_attrs = mappings.iter().filter_map(|m| m.same).collect();
        Ok(Compiled { config, schema, names, read, reads_net_id, reads_soft_deleted, net_id, soft_deleted, mappings, filter, empty_row, same_attrs, groups })
    }

    fn mapping(m: &AttributeMapping, schema: &Schema, names: &[UserAttrName]) -> Result<Mapping, EngineError> {
        let bad = |message: String, cause: ErrorInfo| EngineError::InvalidMapping { target: m.target_attribute_name.clone(), message, cause };
        let target = UserAttrName::parse(&m.target_attribute_name).map_err(|e| bad(e.to_string(), e.info()))?;
        if target == UserAttrName::Builtin(UserAttribute::UserPrincipalName) {
            let cause = DomainError::ReadOnlyAttribute { name: m.target_attribute_name.clone() }.info();
            return Err(bad("userPrincipalName is set by the sync (B2B form) and cannot be mapped".into(), cause));
        }
        let (text, program) = source_program(&m.source, schema, bad)?;
        let direct = program.attribute().and_then(|s| names.get(s.0)).cloned();
        let same = match (&direct, &target) {
            (Some(UserAttrName::Builtin(a)), UserAttrName::Builtin(t)) if a == t && *t != UserAttribute::Manager => Some(*t),
            _ => None,
        };
        Ok(Mapping { target, program, flow: m.flow_type, default_value: m.default_value.clone(), source_text: text, direct, movable: false, same })
    }

    /// The expression row of a source user, every attribute filled (what on-demand
    /// provisioning shows as imported).
    pub fn row(&self, user: &User) -> Row {
        let mut row = self.schema.row();
        for (i, name) in self.names.iter().enumerate() {
            set(&mut row, i, user.attrs.get(name));
        }
        row.set(self.net_id, tenantsync_domain::Anchor::new(user.tenant_id, user.id).to_string());
        row.set(self.soft_deleted, user.is_deleted());
        row
    }

    /// The planning row of every user, when the mappings and the filter read nothing.
    pub fn shared_row(&self) -> Option<&Row> {
        self.empty_row.as_ref()
    }

    /// The expression row of a source user with only what the mappings and the filter
    /// read filled in: what scoping and mapping need, for every user of every cycle.
    pub fn planning_row(&self, user: &User) -> Row {
        let mut row = self.schema.row();
        for &i in &self.read {
            if let Some(name) = self.names.get(i) {
                set(&mut row, i, user.attrs.get(name));
            }
        }
        if self.reads_net_id {
            row.set(self.net_id, tenantsync_domain::Anchor::new(user.tenant_id, user.id).text());
        }
        if self.reads_soft_deleted {
            row.set(self.soft_deleted, user.is_deleted());
        }
        row
    }
}

/// Puts an attribute's value in slot `i` of a row (a null leaves it empty).
fn set(row: &mut Row, i: usize, value: AttrValue) {
    let v = match value {
        AttrValue::Null => return,
        AttrValue::Bool(b) => Value::Bool(b),
        AttrValue::String(s) => Value::Str(s),
        AttrValue::Strings(v) => Value::Multi(v.into_iter().map(Value::Str).collect()),
    };
    row.set(tenantsync_expression::Slot(i), v);
}

/// What one mapping gives a user, for a preview: the value as logs may show it (redacted
/// when `Redact` applied), or the evaluation error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingPreview {
    pub target: String,
    pub source_text: String,
    /// `Ok(Some(values))`: written on create; `Ok(None)`: nothing flows (null, or ignored).
    pub result: Result<Option<Vec<String>>, String>,
}

impl Compiled {
    /// The scoping decision (with each clause's reason; `None` when there is no filter)
    /// and each mapping's value for `user` as a create would compute them, writing
    /// nothing: what an admin checks before saving a filter or a mapping.
    pub fn preview(&self, user: &User, clock: &dyn Clock) -> (Option<tenantsync_expression::scoping::ScopeResult>, Vec<MappingPreview>) {
        let row = self.row(user);
        let scope = self.filter.as_ref().map(|f| f.evaluate(&row));
        let mut random = SeededRandom::new(uuid::Uuid::now_v7().as_u128() as u64);
        let mappings = self
            .mappings
            .iter()
            .map(|m| {
                let mut env = Env::new(clock, &mut random);
                let result = match m.program.evaluate(&row, &mut env) {
                    Ok(ev) if ev.flows() => Ok(Some(ev.log_strings())),
                    Ok(_) => Ok(m.default_value.clone().map(|d| vec![d])),
                    Err(e) => Err(e.to_string()),
                };
                MappingPreview { target: m.target.to_string(), source_text: m.source_text.clone(), result }
            })
            .collect();
        (scope, mappings)
    }
}

/// A mapping's source as expression text (a direct mapping is `[attribute]`, a constant a
/// string literal) and its compiled program; `bad` makes the error of the mapping kind.
pub(crate) fn source_program(
    source: &MappingSource,
    schema: &Schema,
    bad: impl Fn(String, ErrorInfo) -> EngineError,
) -> Result<(String, Program), EngineError> {
    let text = match source {
        MappingSource::Attribute(a) => {
            if schema.slot(a).is_none() {
                return Err(bad(format!("unknown source attribute '{a}'"), DomainError::UnknownAttribute { name: a.clone() }.info()));
            }
            format!("[{a}]")
        }
        MappingSource::Constant(c) => quote(c),
        MappingSource::Expression(e) => e.clone(),
    };
    let program = Program::compile(&text, schema).map_err(|e| bad(e.to_string(), e.info()))?;
    Ok((text, program))
}

/// One compiled group mapping.
#[derive(Debug)]
pub struct GroupMapping {
    pub target: GroupAttribute,
    pub program: Program,
    pub flow: FlowType,
    pub default_value: Option<String>,
    pub source_text: String,
}

/// The group mappings of a configuration, compiled against the group schema (every group
/// attribute, `netId` and `IsSoftDeleted`).
#[derive(Debug)]
pub struct CompiledGroups {
    pub schema: Schema,
    net_id: Slot,
    soft_deleted: Slot,
    pub mappings: Vec<GroupMapping>,
}

/// Adds `mapping` unless one of `mappings` already writes its target (`same`): one
/// value per attribute, so which mapping would win is not the admin's to guess (Entra's
/// mapping editor has one row per target). `twice` makes the error of a second one.
fn add_once<M>(
    mappings: &mut Vec<M>,
    mapping: M,
    same: impl Fn(&M, &M) -> bool,
    target: &str,
    twice: impl FnOnce(String, tenantsync_domain::ErrorInfo) -> EngineError,
) -> Result<(), EngineError> {
    if mappings.iter().any(|x| same(x, &mapping)) {
        let cause = tenantsync_domain::DomainError::InvalidAttributeValue { name: target.to_owned(), reason: "mapped twice".into() }.info();
        return Err(twice(format!("{target} is the target of two mappings (one mapping per target attribute)"), cause));
    }
    mappings.push(mapping);
    Ok(())
}

impl CompiledGroups {
    /// Compiles and checks the group part of a configuration. Group mappings are checked
    /// whether or not group provisioning is on, so turning it on later cannot fail.
    pub fn new(config: &SyncConfiguration) -> Result<CompiledGroups, EngineError> {
        if config.provision_groups && config.scope == SyncScope::AllUsers {
            return Err(EngineError::GroupsNeedAssignedScope);
        }
        let mut schema = Schema::new(GroupAttribute::ALL.iter().map(|a| a.name().to_owned()));
        let net_id = schema.add(NET_ID);
        let soft_deleted = schema.add(IS_SOFT_DELETED);
        let mut mappings = Vec::with_capacity(config.group_mappings.len());
        for m in &config.group_mappings {
            let twice = |message, cause| EngineError::InvalidGroupMapping { target: m.target_attribute_name.clone(), message, cause };
            add_once(&mut mappings, Self::mapping(m, &schema)?, |a, b| a.target == b.target, &m.target_attribute_name, twice)?;
        }
        Ok(CompiledGroups { schema, net_id, soft_deleted, mappings })
    }

    fn mapping(m: &AttributeMapping, schema: &Schema) -> Result<GroupMapping, EngineError> {
        let bad =
            |message: String, cause: tenantsync_domain::ErrorInfo| EngineError::InvalidGroupMapping { target: m.target_attribute_name.clone(), message, cause };
        let target = GroupAttribute::parse(&m.target_attribute_name).map_err(|e| bad(e.to_string(), e.info()))?;
        if target == GroupAttribute::SecurityEnabled {
            let cause = tenantsync_domain::DomainError::ReadOnlyAttribute { name: m.target_attribute_name.clone() }.info();
            return Err(bad("securityEnabled is set by the sync (copies are always security groups) and cannot be mapped".into(), cause));
        }
        let (text, program) = source_program(&m.source, schema, bad)?;
        Ok(GroupMapping { target, program, flow: m.flow_type, default_value: m.default_value.clone(), source_text: text })
    }

    /// The expression row of a source group.
    pub fn row(&self, group: &Group) -> Row {
        let mut row = self.schema.row();
        for (i, a) in GroupAttribute::ALL.iter().enumerate() {
            let v = match group.attrs.get(*a) {
                AttrValue::Null => continue,
                AttrValue::Bool(b) => Value::Bool(b),
                AttrValue::String(s) => Value::Str(s),
                AttrValue::Strings(v) => Value::Multi(v.into_iter().map(Value::Str).collect()),
            };
            row.set(Slot(i), v);
        }
        row.set(self.net_id, Anchor::new(group.tenant_id, group.id).to_string());
        row.set(self.soft_deleted, group.is_deleted());
        row
    }

    /// The values the mappings produce: (target attribute, value, redacted).
    pub(crate) fn evaluate(&self, group: &Group, creating: bool, clock: &dyn Clock) -> Result<Vec<(GroupAttribute, AttrValue, bool)>, PlanError> {
        let row = self.row(group);
        let mut random = SeededRandom::new(uuid::Uuid::now_v7().as_u128() as u64);
        let mut out = Vec::with_capacity(self.mappings.len());
        for m in &self.mappings {
            if m.flow == FlowType::ObjectAddOnly && !creating {
                continue;
            }
            let mut env = Env::new(clock, &mut random);
            let ev = m.program.evaluate(&row, &mut env).map_err(|error| PlanError::Mapping { target: m.target.to_string(), error })?;
            let value = if ev.flows() {
                match &ev.value {
                    Value::Null => AttrValue::Null,
                    Value::Bool(b) => AttrValue::String(b.to_string()),
                    other => other.to_text().map_or(AttrValue::Null, AttrValue::String),
                }
            } else if creating {
                m.default_value.clone().map_or(AttrValue::Null, AttrValue::String)
            } else {
                AttrValue::Null
            };
            // Entra cannot provision nulls: they are not written.
            if !value.is_null() {
                out.push((m.target, value, ev.redacted));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenantsync_domain::TenantId;

    #[test]
    fn an_attribute_is_the_target_of_one_mapping_at_most() {
        let mut config = SyncConfiguration::new("twice", TenantId::new(), TenantId::new()).unwrap();
        config.user_mappings.push(AttributeMapping::constant("Sales", "Department"));
        let Err(EngineError::InvalidMapping { target, message, cause }) = Compiled::new(config.clone()) else {
            panic!("a second department mapping is refused")
        };
        assert_eq!((target.as_str(), cause.status), ("Department", 400));
        assert!(message.contains("two mappings"), "{message}");

        config.user_mappings.pop();
        config.group_mappings.push(AttributeMapping::constant("Copied", "description"));
        let Err(EngineError::InvalidGroupMapping { target, .. }) = Compiled::new(config.clone()) else {
            panic!("a second group description mapping is refused")
        };
        assert_eq!(target, "description");

        config.group_mappings.pop();
        assert!(Compiled::new(config).is_ok(), "the defaults map each attribute once");
    }
}
