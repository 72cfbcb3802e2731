//! A topology as a state: what the file resolves to, and what a store holds, in the same
//! terms (tenants by initial domain, users by UPN, groups by display name), so the two
//! compare setting by setting ([`crate::diff`]).
use std::collections::BTreeMap;
use std::ops::Range;
use tenantsync_domain::{
    Assignment, AttributeMapping, DomainError, MappingSource, ObjectId, PartnerSettings, QuarantineThresholds, RetryPolicy, ScopingFilterGroup,
    SyncConfiguration, SyncScope, TargetActions, TenantId,
};

/// Tenants, access settings and arrows, each list in a stable order (tenants and access by
/// domain, arrows by source and target).
#[derive(Debug, Clone, Default)]
pub struct State {
    pub tenants: Vec<TenantState>,
    pub access: Vec<AccessState>,
    pub arrows: Vec<ArrowState>,
    /// Entitlement management's objects, each list by label (`tenant: name`).
    pub organizations: Vec<crate::packages::OrganizationState>,
    pub catalogs: Vec<crate::packages::CatalogState>,
    pub packages: Vec<crate::packages::PackageState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantState {
    pub name: String,
    /// The initial domain, lowercase.
    pub domain: String,
    pub retention_days: u32,
}

/// A tenant's settings towards a partner (`None`: its defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessState {
    pub tenant: String,
    pub partner: Option<String>,
    pub settings: PartnerSettings,
}

/// Where the file declares an arrow and its assignments (empty for a state read from a
/// store).
#[derive(Debug, Clone, Default)]
pub struct ArrowPlace {
    pub decl: Range<usize>,
    pub users: Vec<Range<usize>>,
    pub groups: Vec<Range<usize>>,
}

/// One sync configuration, without ids.
#[derive(Debug, Clone)]
pub struct ArrowState {
    pub source: String,
    pub target: String,
    pub name: String,
    pub scope: SyncScope,
    /// Assigned users (UPNs) and groups (display names), sorted.
    pub users: Vec<String>,
    pub groups: Vec<String>,
    pub filter: Vec<ScopingFilterGroup>,
    pub user_mappings: Vec<AttributeMapping>,
    pub provision_groups: bool,
    pub group_mappings: Vec<AttributeMapping>,
    pub actions: TargetActions,
    pub deletion_threshold: Option<u32>,
    pub retry: RetryPolicy,
    pub quarantine: QuarantineThresholds,
    pub place: ArrowPlace,
}

impl TenantState {
    /// The settings of a tenant, by name.
    pub fn settings(&self) -> BTreeMap<String, String> {
        BTreeMap::from([("name".into(), self.name.clone()), ("retention_days".into(), self.retention_days.to_string())])
    }
}

impl AccessState {
    /// `tenant → partner`, or `tenant (defaults)`.
    pub fn label(&self) -> String {
        match &self.partner {
            Some(p) => format!("{} → {p}", self.tenant),
            None => format!("{} (defaults)", self.tenant),
        }
    }

    /// The settings set (an unset one is absent).
    pub fn settings(&self) -> BTreeMap<String, String> {
        let s = &self.settings;
        let all = [
            ("inbound_user_sync", s.inbound_user_sync),
            ("inbound_group_sync", s.inbound_group_sync),
            ("inbound_auto_redeem", s.inbound_auto_redeem),
            ("outbound_auto_redeem", s.outbound_auto_redeem),
        ];
        all.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_string()))).collect()
    }
}

/// A mapping's source as text: `[attribute]`, `"constant"` or the expression.
pub fn source_text(source: &MappingSource) -> String {
    match source {
        MappingSource::Attribute(a) => format!("[{a}]"),
        MappingSource::Constant(c) => format!("{c:?}"),
        MappingSource::Expression(e) => e.clone(),
    }
}

fn mapping_settings(prefix: &str, mappings: &[AttributeMapping], out: &mut BTreeMap<String, String>) {
    for m in mappings {
        let mut text = source_text(&m.source);
        if m.flow_type != tenantsync_domain::FlowType::Always {
            text.push_str(&format!(" ({:?})", m.flow_type));
        }
        if let Some(d) = &m.default_value {
            text.push_str(&format!(" (default {d:?})"));
        }
        out.insert(format!("{prefix}.{}", m.target_attribute_name), text);
    }
}

/// A scoping filter group as text: its clauses joined by AND.
pub fn filter_text(group: &ScopingFilterGroup) -> String {
    let clauses: Vec<String> = group.clauses.iter().map(|c| tenantsync_expression::scoping::FilterClause::from(c).to_string()).collect();
    clauses.join(" AND ")
}

impl ArrowState {
    /// `source → target`.
    pub fn label(&self) -> String {
        format!("{} → {}", self.source, self.target)
    }

    /// Every setting, by name, as text: what a plan compares.
    pub fn settings(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        out.insert("name".into(), self.name.clone());
        out.insert(
            "scope".into(),
            match self.scope {
                SyncScope::AssignedUsersAndGroups => "assigned".into(),
                SyncScope::AllUsers => "all".into(),
            },
        );
        // UPNs and group names are matched ignoring case, so they compare so.
        let folded = |names: &[String]| names.iter().map(|n| n.to_lowercase()).collect::<Vec<_>>().join(", ");
        if !self.users.is_empty() {
            out.insert("assign_users".into(), folded(&self.users));
        }
        if !self.groups.is_empty() {
            out.insert("assign_groups".into(), folded(&self.groups));
        }
        for (i, g) in self.filter.iter().enumerate() {
            out.insert(format!("filter.{}", i + 1), filter_text(g));
        }
        mapping_settings("map", &self.user_mappings, &mut out);
        out.insert("provision_groups".into(), self.provision_groups.to_string());
        mapping_settings("group_map", &self.group_mappings, &mut out);
        out.insert("actions.create".into(), self.actions.create.to_string());
        out.insert("actions.update".into(), self.actions.update.to_string());
        out.insert("actions.delete".into(), self.actions.delete.to_string());
        out.insert("deletion_threshold".into(), self.deletion_threshold.map_or_else(|| "off".into(), |n| n.to_string()));
        out.insert("retry.base_seconds".into(), self.retry.base_seconds.to_string());
        out.insert("retry.max_seconds".into(), self.retry.max_seconds.to_string());
        let q = &self.quarantine;
        out.insert("quarantine.evaluate_after".into(), q.evaluate_after.to_string());
        out.insert("quarantine.failure_percent".into(), q.failure_percent.to_string());
        out.insert("quarantine.failures".into(), q.failures.to_string());
        out.insert("quarantine.absolute".into(), q.absolute.to_string());
        out
    }

    /// The configuration this arrow is, between tenants `source` and `target`, with
    /// `assignments` (the ids of its users and groups) and id `id`.
    pub fn config(
        &self,
        id: tenantsync_domain::SyncConfigId,
        source: TenantId,
        target: TenantId,
        assignments: Vec<Assignment>,
    ) -> Result<SyncConfiguration, DomainError> {
        let mut c = SyncConfiguration::new(&self.name, source, target)?;
        c.id = id;
        c.scope = self.scope;
        c.assignments = assignments;
        c.scoping_filter = self.filter.clone();
        c.user_mappings = self.user_mappings.clone();
        c.provision_groups = self.provision_groups;
        c.group_mappings = self.group_mappings.clone();
        c.actions = self.actions;
        c.deletion_threshold = self.deletion_threshold;
        c.retry = self.retry;
        c.quarantine = self.quarantine;
        Ok(c)
    }

    /// The arrow a stored configuration is, between the tenants with initial domains
    /// `source` and `target`, its assignments named by `users` (UPNs) and `groups`
    /// (display names), sorted here ignoring case.
    pub fn of(c: &SyncConfiguration, source: String, target: String, mut users: Vec<String>, mut groups: Vec<String>) -> ArrowState {
        users.sort_by_key(|u| u.to_ascii_lowercase());
        groups.sort_by_key(|g| g.to_ascii_lowercase());
        ArrowState {
            source,
            target,
            name: c.display_name.clone(),
            scope: c.scope,
            users,
            groups,
            filter: c.scoping_filter.clone(),
            user_mappings: c.user_mappings.clone(),
            provision_groups: c.provision_groups,
            group_mappings: c.group_mappings.clone(),
            actions: c.actions,
            deletion_threshold: c.deletion_threshold,
            retry: c.retry,
            quarantine: c.quarantine,
            place: ArrowPlace::default(),
        }
    }

    /// A configuration of this arrow with made-up ids and assignments, to check that it
    /// compiles.
    pub fn probe(&self) -> Result<SyncConfiguration, DomainError> {
        let assignments =
            self.users.iter().map(|_| Assignment::User(ObjectId::new())).chain(self.groups.iter().map(|_| Assignment::Group(ObjectId::new()))).collect();
        self.config(tenantsync_domain::SyncConfigId::new(), TenantId::new(), TenantId::new(), assignments)
    }
}

/// Whether two scoping filters hold the same clauses (their groups' names aside).
pub fn same_filter(a: &[ScopingFilterGroup], b: &[ScopingFilterGroup]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.clauses == y.clauses)
}

/// The settings of an arrow left at Entra's defaults (its name aside).
pub fn default_arrow_settings() -> BTreeMap<String, String> {
    let defaults = match SyncConfiguration::new("default", TenantId::new(), TenantId::new()) {
        Ok(c) => c,
        Err(_) => return BTreeMap::new(),
    };
    let arrow = ArrowState {
        source: String::new(),
        target: String::new(),
        name: String::new(),
        scope: defaults.scope,
        users: Vec::new(),
        groups: Vec::new(),
        filter: Vec::new(),
        user_mappings: defaults.user_mappings,
        provision_groups: defaults.provision_groups,
        group_mappings: defaults.group_mappings,
        actions: defaults.actions,
        deletion_threshold: defaults.deletion_threshold,
        retry: defaults.retry,
        quarantine: defaults.quarantine,
        place: ArrowPlace::default(),
    };
    let mut settings = arrow.settings();
    settings.remove("name");
    settings
}
