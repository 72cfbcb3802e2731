//! From the file to a [`State`]: tenants named, templates expanded into arrows (an explicit
//! arrow overrides a template's), settings laid over Entra's defaults, every mapping and
//! filter compiled. The first problem found is returned with its span.
use crate::error::{Problem, ProblemKind};
use crate::model::{ArrowSettings, FlowSpec, MappingSpec, ScopeSpec, Threshold, TopologyFile, UserTypeSpec};
use crate::state::{AccessState, ArrowPlace, ArrowState, State, TenantState};
use std::collections::BTreeMap;
use std::ops::Range;
use tenantsync_domain::{
    AttributeMapping, DomainName, FlowType, MappingSource, PartnerSettings, ScopingClause, ScopingFilterGroup, ScopingOperand, SyncScope,
    default_group_mappings, default_user_mappings,
};
use toml::Spanned;

/// Something the file does that is allowed but worth saying (a plan prints it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub span: Range<usize>,
    pub message: String,
}

/// Where an arrow comes from.
#[derive(Debug, Clone)]
struct Origin {
    /// The template's kind (`mesh`, `hub`, `consolidate`), or `None` when explicit.
    template: Option<&'static str>,
    span: Range<usize>,
}

/// Reads `text` as a topology file.
pub fn parse(text: &str) -> Result<TopologyFile, Problem> {
    toml::from_str(text).map_err(|e| Problem::new(ProblemKind::Syntax, e.span().unwrap_or(0..0), e.message().trim().to_owned()))
}

/// The declared tenants, to name them by display name or initial domain.
struct Tenants {
    /// (name, lowercase domain) in declaration order.
    all: Vec<(String, String)>,
}

impl Tenants {
    /// The domain of the tenant `name` names.
    fn find(&self, name: &Spanned<String>) -> Result<String, Problem> {
        let wanted = name.get_ref().trim();
        self.all
            .iter()
            .find(|(n, d)| d.eq_ignore_ascii_case(wanted) || n.eq_ignore_ascii_case(wanted))
            .map(|(_, d)| d.clone())
            .ok_or_else(|| Problem::new(ProblemKind::UnknownTenant, name.span(), format!("no tenant '{wanted}' is declared in [[tenants]]")))
    }

    fn name_of(&self, domain: &str) -> String {
        self.all.iter().find(|(_, d)| d == domain).map_or(domain, |(n, _)| n.as_str()).to_owned()
    }
}

/// Resolves a file into the state it declares, with the notices a plan prints.
pub fn resolve(file: &TopologyFile) -> Result<(State, Vec<Notice>), Problem> {
    let mut state = State::default();
    let mut tenants = Tenants { all: Vec::new() };
    for t in &file.tenants {
        let domain = DomainName::parse(t.domain.get_ref()).map_err(|e| Problem::new(ProblemKind::InvalidSetting, t.domain.span(), e.to_string()))?;
        let domain = domain.as_str().to_ascii_lowercase();
        let name = t.name.get_ref().trim().to_owned();
        tenantsync_domain::NewTenant::new(&name, &domain).map_err(|e| Problem::new(ProblemKind::InvalidSetting, t.name.span(), e.to_string()))?;
        if tenants.all.iter().any(|(_, d)| *d == domain) {
            return Err(Problem::new(ProblemKind::DuplicateTenant, t.domain.span(), format!("tenant '{domain}' is declared twice")));
        }
        if tenants.all.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            return Err(Problem::new(ProblemKind::DuplicateTenant, t.name.span(), format!("two tenants are named '{name}'")));
        }
        tenants.all.push((name.clone(), domain.clone()));
        let retention_days = t.retention_days.unwrap_or(tenantsync_domain::DEFAULT_SOFT_DELETE_RETENTION_DAYS);
        state.tenants.push(TenantState { name, domain, retention_days });
    }
    state.tenants.sort_by(|a, b| a.domain.cmp(&b.domain));

    let mut access: BTreeMap<(String, Option<String>), AccessState> = BTreeMap::new();
    for a in &file.partner {
        let tenant = tenants.find(&a.tenant)?;
        let partner = a.partner.as_ref().map(|p| tenants.find(p)).transpose()?;
        if partner.as_deref() == Some(tenant.as_str()) {
            let span = a.partner.as_ref().map_or(a.tenant.span(), Spanned::span);
            return Err(Problem::new(ProblemKind::InvalidSetting, span, "a tenant has no access settings towards itself"));
        }
        let settings = PartnerSettings {
            inbound_user_sync: a.inbound_user_sync,
            inbound_group_sync: a.inbound_group_sync,
            inbound_auto_redeem: a.inbound_auto_redeem,
            outbound_auto_redeem: a.outbound_auto_redeem,
        };
        let key = (tenant.clone(), partner.clone());
        if access.contains_key(&key) {
            return Err(Problem::new(ProblemKind::DuplicateArrow, a.tenant.span(), "these access settings are declared twice"));
        }
        access.insert(key, AccessState { tenant, partner, settings });
    }
    state.access = access.into_values().filter(|a| a.settings != PartnerSettings::default()).collect();

    let mut notices = Vec::new();
    let mut arrows: BTreeMap<(String, String), (ArrowState, Origin)> = BTreeMap::new();
    for (source, target, settings, origin) in template_arrows(file, &tenants)? {
        let key = (source.clone(), target.clone());
        if let Some((_, first)) = arrows.get(&key) {
            let message = format!("{} → {} is made by two templates (the first: {})", source, target, first.template.unwrap_or("explicit"));
            return Err(Problem::new(ProblemKind::DuplicateArrow, origin.span, message));
        }
        let arrow = arrow(&tenants, source, target, &settings, origin.span.clone())?;
        arrows.insert(key, (arrow, origin));
    }
    let mut explicit: BTreeMap<(String, String), Range<usize>> = BTreeMap::new();
    for s in &file.sync {
        let (source, target) = (tenants.find(&s.source)?, tenants.find(&s.target)?);
        if source == target {
            return Err(Problem::new(ProblemKind::DuplicateArrow, s.target.span(), "an arrow cannot go from a tenant to itself"));
        }
        let key = (source.clone(), target.clone());
        if explicit.contains_key(&key) {
            return Err(Problem::new(ProblemKind::DuplicateArrow, s.source.span(), format!("{source} → {target} is declared twice")));
        }
        explicit.insert(key.clone(), s.source.span());
        if let Some((_, origin)) = arrows.get(&key) {
            notices.push(Notice {
                span: s.source.span(),
                message: format!("{source} → {target} is made by a {} template too: this declaration overrides it", origin.template.unwrap_or("sync")),
            });
        }
        let arrow = arrow(&tenants, source, target, &s.settings(), s.source.span())?;
        arrows.insert(key, (arrow, Origin { template: None, span: s.source.span() }));
    }
    state.arrows = arrows.into_values().map(|(a, _)| a).collect();
    let (orgs, catalogs, packages) =
        crate::packages::resolve(&file.connected_organization, &file.catalog, &file.access_package, &|name: &Spanned<String>| tenants.find(name))?;
    for p in &packages {
        if let Some(target) = p.syncs.iter().find(|t| !state.arrows.iter().any(|a| a.source == p.tenant && a.target == **t)) {
            let span = file.access_package.iter().find(|s| s.name.trim() == p.name).map_or(0..0, |s| s.tenant.span());
            return Err(Problem::new(ProblemKind::InvalidSetting, span, format!("access package '{}': no arrow {} → {target} is declared", p.name, p.tenant)));
        }
    }
    (state.organizations, state.catalogs, state.packages) = (orgs, catalogs, packages);
    Ok((state, notices))
}

/// The arrows the templates make: (source, target, settings, origin).
fn template_arrows(file: &TopologyFile, tenants: &Tenants) -> Result<Vec<(String, String, ArrowSettings, Origin)>, Problem> {
    let mut out = Vec::new();
    for m in &file.mesh {
        let members: Vec<String> = m.members.get_ref().iter().map(|n| tenants.find(n)).collect::<Result<_, _>>()?;
        if members.len() < 2 {
            return Err(Problem::new(ProblemKind::InvalidSetting, m.members.span(), "a mesh needs at least two members"));
        }
        let mut filters: BTreeMap<String, Vec<Spanned<String>>> = BTreeMap::new();
        for (member, filter) in &m.filters {
            let span = filter.first().map_or(m.members.span(), Spanned::span);
            let domain = tenants.find(&Spanned::new(span.clone(), member.clone()))?;
            if !members.contains(&domain) {
                return Err(Problem::new(ProblemKind::UnknownTenant, span, format!("'{member}' is not a member of this mesh")));
            }
            filters.insert(domain, filter.clone());
        }
        for (i, source) in members.iter().enumerate() {
            if members.iter().take(i).any(|d| d == source) {
                return Err(Problem::new(ProblemKind::DuplicateArrow, m.members.span(), format!("'{source}' is a member twice")));
            }
            for target in members.iter().filter(|t| *t != source) {
                let mut settings = m.settings.clone();
                if let Some(f) = filters.get(source) {
                    settings.filter = f.clone();
                }
                out.push((source.clone(), target.clone(), settings, Origin { template: Some("mesh"), span: m.members.span() }));
            }
        }
    }
    for h in &file.hub {
        let hub = tenants.find(&h.hub)?;
        for spoke in &h.spokes {
            let target = tenants.find(spoke)?;
            if target == hub {
                return Err(Problem::new(ProblemKind::DuplicateArrow, spoke.span(), "the hub cannot be its own spoke"));
            }
            out.push((hub.clone(), target, h.settings.clone(), Origin { template: Some("hub"), span: spoke.span() }));
        }
    }
    for c in &file.consolidate {
        let target = tenants.find(&c.target)?;
        for source in &c.sources {
            let from = tenants.find(source)?;
            if from == target {
                return Err(Problem::new(ProblemKind::DuplicateArrow, source.span(), "the target cannot be one of its own sources"));
            }
            out.push((from, target.clone(), c.settings.clone(), Origin { template: Some("consolidate"), span: source.span() }));
        }
    }
    Ok(out)
}

/// The scoping filter groups of the file's filter texts (named as `sync create` names them).
fn filter_groups(filters: &[Spanned<String>]) -> Result<Vec<ScopingFilterGroup>, Problem> {
    let mut groups = Vec::new();
    for (i, f) in filters.iter().enumerate() {
        let name = if filters.len() == 1 { "Scoping filter".to_owned() } else { format!("Scoping filter {}", i + 1) };
        let bad = |message: String| Problem::new(ProblemKind::InvalidSetting, f.span(), message);
        let parsed = tenantsync_expression::scoping::FilterGroup::parse_text(&name, f.get_ref()).map_err(|e| bad(e.to_string()))?;
        if parsed.clauses.is_empty() {
            return Err(bad("a filter group needs at least one clause".into()));
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

/// The mapping a spec describes.
fn mapping(target: &str, spec: &Spanned<MappingSpec>) -> Result<AttributeMapping, Problem> {
    let s = spec.get_ref();
    let source = match (&s.expression, &s.attribute, &s.constant) {
        (Some(e), None, None) => MappingSource::Expression(e.clone()),
        (None, Some(a), None) => MappingSource::Attribute(a.clone()),
        (None, None, Some(c)) => MappingSource::Constant(c.clone()),
        _ => {
            return Err(Problem::new(
                ProblemKind::InvalidSetting,
                spec.span(),
                format!("mapping '{target}' needs exactly one of expression, attribute, constant"),
            ));
        }
    };
    let flow_type = match s.flow {
        Some(FlowSpec::ObjectAddOnly) => FlowType::ObjectAddOnly,
        Some(FlowSpec::Always) | None => FlowType::Always,
    };
    Ok(AttributeMapping { target_attribute_name: target.to_owned(), source, flow_type, default_value: s.default.clone() })
}

/// `defaults` less `unmap`, with `map` laid over them (a mapping of a target already mapped
/// replaces it in place; others are added in the order of their names).
fn mappings(
    defaults: Vec<AttributeMapping>,
    unmap: &[String],
    map: &BTreeMap<String, Spanned<MappingSpec>>,
    span: &Range<usize>,
) -> Result<Vec<AttributeMapping>, Problem> {
    let mut out = defaults;
    for target in unmap {
        let before = out.len();
        out.retain(|m| !m.target_attribute_name.eq_ignore_ascii_case(target));
        if out.len() == before {
            return Err(Problem::new(ProblemKind::InvalidSetting, span.clone(), format!("unmap: no default mapping writes '{target}'")));
        }
    }
    for (target, spec) in map {
        let new = mapping(target, spec)?;
        match out.iter_mut().find(|m| m.target_attribute_name.eq_ignore_ascii_case(target)) {
            Some(m) => *m = AttributeMapping { target_attribute_name: m.target_attribute_name.clone(), ..new },
            None => out.push(new),
        }
    }
    Ok(out)
}

/// One arrow: the settings laid over Entra's defaults, compiled.
fn arrow(tenants: &Tenants, source: String, target: String, s: &ArrowSettings, span: Range<usize>) -> Result<ArrowState, Problem> {
    let bad = |span: Range<usize>, message: String| Problem::new(ProblemKind::InvalidSetting, span, message);
    let mut user_mappings = default_user_mappings();
    if let Some(t) = s.user_type {
        let value = match t {
            UserTypeSpec::Member => "Member",
            UserTypeSpec::Guest => "Guest",
        };
        if s.map.keys().any(|k| k.eq_ignore_ascii_case("userType")) {
            return Err(bad(span, "user_type and map.userType both set the userType mapping".into()));
        }
        if let Some(m) = user_mappings.iter_mut().find(|m| m.target_attribute_name == "userType") {
            m.source = MappingSource::Constant(value.into());
        }
    }
    let user_mappings = mappings(user_mappings, &s.unmap, &s.map, &span)?;
    let group_mappings = mappings(default_group_mappings(), &s.group_unmap, &s.group_map, &span)?;
    let filter = filter_groups(&s.filter)?;
    let mut users: Vec<(String, Range<usize>)> = s.assign_users.iter().map(|u| (u.get_ref().trim().to_owned(), u.span())).collect();
    let mut groups: Vec<(String, Range<usize>)> = s.assign_groups.iter().map(|g| (g.get_ref().trim().to_owned(), g.span())).collect();
    users.sort_by_key(|(u, _)| u.to_ascii_lowercase());
    groups.sort_by_key(|(g, _)| g.to_ascii_lowercase());
    let defaults = tenantsync_domain::SyncConfiguration::new("x", tenantsync_domain::TenantId::new(), tenantsync_domain::TenantId::new())
        .map_err(|e| bad(span.clone(), e.to_string()))?;
    let actions = s.actions.unwrap_or_default();
    let retry = s.retry.unwrap_or_default();
    let q = s.quarantine.unwrap_or_default();
    let d = defaults.quarantine;
    let name = match &s.name {
        Some(n) => n.trim().to_owned(),
        None => format!("{} to {}", tenants.name_of(&source), tenants.name_of(&target)),
    };
    let state = ArrowState {
        name,
        scope: match s.scope {
            Some(ScopeSpec::All) => SyncScope::AllUsers,
            Some(ScopeSpec::Assigned) | None => SyncScope::AssignedUsersAndGroups,
        },
        users: users.iter().map(|(u, _)| u.clone()).collect(),
        groups: groups.iter().map(|(g, _)| g.clone()).collect(),
        filter,
        user_mappings,
        provision_groups: s.provision_groups.unwrap_or(false),
        group_mappings,
        actions: tenantsync_domain::TargetActions {
            create: actions.create.unwrap_or(true),
            update: actions.update.unwrap_or(true),
            delete: actions.delete.unwrap_or(true),
        },
        deletion_threshold: match s.deletion_threshold {
            Some(Threshold::Off) => None,
            Some(Threshold::At(n)) => Some(n),
            None => defaults.deletion_threshold,
        },
        retry: tenantsync_domain::RetryPolicy {
            base_seconds: retry.base_seconds.unwrap_or(defaults.retry.base_seconds),
            max_seconds: retry.max_seconds.unwrap_or(defaults.retry.max_seconds),
        },
        quarantine: tenantsync_domain::QuarantineThresholds {
            evaluate_after: q.evaluate_after.unwrap_or(d.evaluate_after),
            failure_percent: q.failure_percent.unwrap_or(d.failure_percent),
            failures: q.failures.unwrap_or(d.failures),
            absolute: q.absolute.unwrap_or(d.absolute),
        },
        place: ArrowPlace { decl: span.clone(), users: users.into_iter().map(|(_, s)| s).collect(), groups: groups.into_iter().map(|(_, s)| s).collect() },
        source,
        target,
    };
    if state.retry.base_seconds == 0 || state.retry.base_seconds > state.retry.max_seconds {
        return Err(bad(span, "retry: base_seconds must be at least 1 and at most max_seconds".into()));
    }
    if state.quarantine.failure_percent > 100 {
        return Err(bad(span, "quarantine: failure_percent is a percentage, 0 to 100".into()));
    }
    check(&state, s)?;
    Ok(state)
}

/// Compiles the arrow as the engine would: a mapping or filter that does not compile is
/// named at its place in the file.
fn check(state: &ArrowState, s: &ArrowSettings) -> Result<(), Problem> {
    let span = state.place.decl.clone();
    let config = state.probe().map_err(|e| Problem::new(ProblemKind::InvalidSetting, span.clone(), e.to_string()))?;
    let Err(e) = tenantsync_engine::Compiled::new(config) else { return Ok(()) };
    let place = match &e {
        tenantsync_engine::EngineError::InvalidMapping { target, .. } => s.map.iter().find(|(k, _)| k.eq_ignore_ascii_case(target)).map(|(_, v)| v.span()),
        tenantsync_engine::EngineError::InvalidGroupMapping { target, .. } => {
            s.group_map.iter().find(|(k, _)| k.eq_ignore_ascii_case(target)).map(|(_, v)| v.span())
        }
        tenantsync_engine::EngineError::InvalidScopingFilter { .. } => s.filter.first().map(Spanned::span),
        _ => None,
    };
    Err(Problem { code: Some(e.code()), ..Problem::new(ProblemKind::InvalidSetting, place.unwrap_or(span), e.to_string()) })
}
