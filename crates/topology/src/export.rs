//! From a [`State`] back to a file: every arrow written explicitly, each setting only
//! where it differs from Entra's default, in a fixed order, so the same state always
//! gives the same bytes.
use crate::model::{
    ActionsSpec, FlowSpec, MappingSpec, PartnerSpec, QuarantineSpec, RetrySpec, ScopeSpec, SyncSpec, TenantSpec, Threshold, TopologyFile, UserTypeSpec,
    unspanned,
};
use crate::state::{ArrowState, State, filter_text};
use std::collections::BTreeMap;
use tenantsync_domain::{
    AttributeMapping, FlowType, MappingSource, QuarantineThresholds, RetryPolicy, SyncScope, TargetActions, default_group_mappings, default_user_mappings,
};

/// The first line of an exported file.
pub const HEADER: &str = "# tenantsync topology (written by `tenantsync export`)\n\n";

/// The file of `state`.
pub fn file(state: &State) -> TopologyFile {
    let name_of = |domain: &str| state.tenants.iter().find(|t| t.domain == domain).map(|t| t.name.clone());
    let tenants = state
        .tenants
        .iter()
        .map(|t| TenantSpec {
            name: unspanned(t.name.clone()),
            domain: unspanned(t.domain.clone()),
            retention_days: (t.retention_days != tenantsync_domain::DEFAULT_SOFT_DELETE_RETENTION_DAYS).then_some(t.retention_days),
        })
        .collect();
    let access = state
        .access
        .iter()
        .map(|a| PartnerSpec {
            tenant: unspanned(a.tenant.clone()),
            partner: a.partner.clone().map(unspanned),
            inbound_user_sync: a.settings.inbound_user_sync,
            inbound_group_sync: a.settings.inbound_group_sync,
            inbound_auto_redeem: a.settings.inbound_auto_redeem,
            outbound_auto_redeem: a.settings.outbound_auto_redeem,
        })
        .collect();
    let sync = state
        .arrows
        .iter()
        .map(|a| {
            let default_name = format!("{} to {}", name_of(&a.source).unwrap_or_default(), name_of(&a.target).unwrap_or_default());
            arrow(a, a.name != default_name)
        })
        .collect();
    TopologyFile {
        tenants,
        partner: access,
        sync,
        connected_organization: crate::packages::export_orgs(&state.organizations),
        catalog: crate::packages::export_catalogs(&state.catalogs),
        access_package: crate::packages::export_packages(&state.packages),
        ..TopologyFile::default()
    }
}

/// The text of `state`'s file.
pub fn text(state: &State) -> Result<String, toml::ser::Error> {
    Ok(format!("{HEADER}{}", toml::to_string(&file(state))?))
}

fn spec(m: &AttributeMapping) -> MappingSpec {
    let (mut expression, mut attribute, mut constant) = (None, None, None);
    match &m.source {
        MappingSource::Expression(e) => expression = Some(e.clone()),
        MappingSource::Attribute(a) => attribute = Some(a.clone()),
        MappingSource::Constant(c) => constant = Some(c.clone()),
    }
    let flow = match m.flow_type {
        FlowType::Always => None,
        FlowType::ObjectAddOnly => Some(FlowSpec::ObjectAddOnly),
    };
    MappingSpec { expression, attribute, constant, flow, default: m.default_value.clone() }
}

/// What `mappings` changes of `defaults`: the defaults it drops, and the mappings it adds
/// or changes.
fn delta(mappings: &[AttributeMapping], defaults: &[AttributeMapping]) -> (Vec<String>, BTreeMap<String, toml::Spanned<MappingSpec>>) {
    let unmap = defaults
        .iter()
        .filter(|d| !mappings.iter().any(|m| m.target_attribute_name.eq_ignore_ascii_case(&d.target_attribute_name)))
        .map(|d| d.target_attribute_name.clone())
        .collect();
    let map = mappings.iter().filter(|m| !defaults.contains(m)).map(|m| (m.target_attribute_name.clone(), unspanned(spec(m)))).collect();
    (unmap, map)
}

fn arrow(a: &ArrowState, named: bool) -> SyncSpec {
    let (unmap, mut map) = delta(&a.user_mappings, &default_user_mappings());
    // The userType constant on create is written as `user_type`.
    let mut user_type = None;
    if let Some(m) = map.get("userType").map(|m| m.get_ref().clone())
        && m.flow == Some(FlowSpec::ObjectAddOnly)
        && m.default.is_none()
        && m.constant.as_deref() == Some("Guest")
    {
        user_type = Some(UserTypeSpec::Guest);
        map.remove("userType");
    }
    let (group_unmap, group_map) = delta(&a.group_mappings, &default_group_mappings());
    let actions = (a.actions != TargetActions::default()).then_some(ActionsSpec {
        create: (!a.actions.create).then_some(false),
        update: (!a.actions.update).then_some(false),
        delete: (!a.actions.delete).then_some(false),
    });
    let (r, dr) = (a.retry, RetryPolicy::default());
    let retry = (r != dr).then_some(RetrySpec {
        base_seconds: (r.base_seconds != dr.base_seconds).then_some(r.base_seconds),
        max_seconds: (r.max_seconds != dr.max_seconds).then_some(r.max_seconds),
    });
    let (q, dq) = (a.quarantine, QuarantineThresholds::default());
    let quarantine = (q != dq).then_some(QuarantineSpec {
        evaluate_after: (q.evaluate_after != dq.evaluate_after).then_some(q.evaluate_after),
        failure_percent: (q.failure_percent != dq.failure_percent).then_some(q.failure_percent),
        failures: (q.failures != dq.failures).then_some(q.failures),
        absolute: (q.absolute != dq.absolute).then_some(q.absolute),
    });
    SyncSpec {
        source: unspanned(a.source.clone()),
        target: unspanned(a.target.clone()),
        name: named.then(|| a.name.clone()),
        scope: Some(match a.scope {
            SyncScope::AssignedUsersAndGroups => ScopeSpec::Assigned,
            SyncScope::AllUsers => ScopeSpec::All,
        }),
        assign_users: a.users.iter().cloned().map(unspanned).collect(),
        assign_groups: a.groups.iter().cloned().map(unspanned).collect(),
        filter: a.filter.iter().map(|g| unspanned(filter_text(g))).collect(),
        user_type,
        unmap,
        map,
        provision_groups: a.provision_groups.then_some(true),
        group_unmap,
        group_map,
        actions,
        deletion_threshold: match a.deletion_threshold {
            None => Some(Threshold::Off),
            Some(n) if n != tenantsync_domain::DEFAULT_DELETION_THRESHOLD => Some(Threshold::At(n)),
            Some(_) => None,
        },
        retry,
        quarantine,
    }
}
