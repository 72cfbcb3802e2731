//! The engine's face: configurations validated and stored, jobs started, paused,
//! restarted, run and provisioned on demand.
use crate::context::{Limits, Shared};
use crate::report::CycleReport;
use crate::{Compiled, EngineError, cycle, on_demand, policy};
use std::sync::Arc;
use tenantsync_domain::{Clock, SyncConfigId, SyncConfiguration};
use tenantsync_store::{JobState, JobStatusCode, SyncStore};

/// What a restart resets (Entra's `resetScope`: a comma-separated list of `Watermark`,
/// `Escrows`, `QuarantineState`, `Full`, `ForceDeletes`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResetScope {
    pub watermark: bool,
    pub escrows: bool,
    pub quarantine_state: bool,
    pub full: bool,
    pub force_deletes: bool,
}

impl ResetScope {
    /// What the portal's "Restart provisioning" resets.
    pub const DEFAULT: ResetScope = ResetScope { watermark: true, escrows: true, quarantine_state: true, full: false, force_deletes: false };

    /// Parses `"Watermark, Escrows, QuarantineState"`; an empty text is [`ResetScope::DEFAULT`].
    pub fn parse(text: &str) -> Result<ResetScope, String> {
        if text.trim().is_empty() {
            return Ok(Self::DEFAULT);
        }
        let mut r = ResetScope::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.to_ascii_lowercase().as_str() {
                "watermark" => r.watermark = true,
                "escrows" => r.escrows = true,
                "quarantinestate" => r.quarantine_state = true,
                "full" => r.full = true,
                "forcedeletes" => r.force_deletes = true,
                "none" => {}
                _ => return Err(format!("unknown reset scope '{part}' (Watermark, Escrows, QuarantineState, Full, ForceDeletes)")),
            }
        }
        Ok(r)
    }
}

/// Runs sync configurations against a store.
#[derive(Debug, Clone)]
pub struct Engine {
    shared: Shared,
}

impl Engine {
    pub fn new(store: Arc<dyn SyncStore>) -> Self {
        Self::with_limits(store, Limits::default())
    }

    /// An engine whose cycles keep to `limits`.
    pub fn with_limits(store: Arc<dyn SyncStore>, limits: Limits) -> Self {
        Self { shared: Shared::new(store, limits) }
    }

    /// Where the engine reads time: the store's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        self.shared.clock()
    }

    pub fn limits(&self) -> Limits {
        self.shared.limits()
    }

    pub fn store(&self) -> &Arc<dyn SyncStore> {
        self.shared.store()
    }

    /// Checks a configuration without saving it: both tenants exist, every mapping and
    /// filter compiles against the source schema, no mapping writes a read-only target
    /// attribute, group provisioning is only asked for with the assigned scope.
    pub async fn validate(&self, config: &SyncConfiguration) -> Result<(), EngineError> {
        self.store().get_tenant(config.source_tenant_id).await?;
        self.store().get_tenant(config.target_tenant_id).await?;
        Compiled::new(config.clone()).map(|_| ())
    }

    /// Entra's "test connection" for a configuration from `source` to `target`, saved or
    /// not: both tenants exist, they differ, and their access settings allow the sync
    /// (the policy check, naming each missing setting).
    pub async fn test_connection(&self, source: tenantsync_domain::TenantId, target: tenantsync_domain::TenantId) -> Result<(), EngineError> {
        if source == target {
            return Err(EngineError::SameTenant);
        }
        let probe = SyncConfiguration::new("test connection", source, target).map_err(|e| EngineError::Store(e.into()))?;
        self.store().get_tenant(source).await?;
        self.store().get_tenant(target).await?;
        policy::check(self.store().as_ref(), &probe).await
    }

    /// Validates and stores a new configuration. Like Entra's "test connection", it is
    /// refused when the tenants' access settings do not allow the sync (the policy
    /// check), naming each missing setting.
    pub async fn create_configuration(&self, config: SyncConfiguration) -> Result<SyncConfiguration, EngineError> {
        self.validate(&config).await?;
        policy::check(self.store().as_ref(), &config).await?;
        Ok(self.store().create_sync_configuration(config).await?)
    }

    /// Whether changing `old` into `new` makes the next cycle an initial one: a change of
    /// mappings (user or group), group provisioning, scope, scoping filter, assignments
    /// or target actions, since each may bring objects into or out of scope, or change
    /// what is written to or allowed on objects the feed will not name again (Entra
    /// re-evaluates everything after a change of mappings or filters too). The deletion
    /// threshold, the retry policy, the quarantine thresholds and the name change nothing
    /// already decided.
    pub fn needs_initial_cycle(old: &SyncConfiguration, new: &SyncConfiguration) -> bool {
        old.user_mappings != new.user_mappings
            || old.scoping_filter != new.scoping_filter
            || old.scope != new.scope
            || old.assignments != new.assignments
            || old.provision_groups != new.provision_groups
            || old.group_mappings != new.group_mappings
            || old.actions != new.actions
    }

    /// Validates and stores a changed configuration; when the change calls for it
    /// ([`Engine::needs_initial_cycle`]), the next cycle is an initial one: everything is
    /// re-evaluated.
    pub async fn update_configuration(&self, config: SyncConfiguration) -> Result<SyncConfiguration, EngineError> {
        self.validate(&config).await?;
        let old = self.store().get_sync_configuration(config.id).await?;
        let saved = self.store().update_sync_configuration(config).await?;
        if Self::needs_initial_cycle(&old, &saved) {
            let mut state = self.store().job_state(saved.id).await?;
            state.watermark = tenantsync_domain::ChangeCursor::START;
            self.store().set_job_state(saved.id, state).await?;
        }
        Ok(saved)
    }

    /// Lets a job run (its cycles are refused while it is paused).
    pub async fn start(&self, id: SyncConfigId) -> Result<JobState, EngineError> {
        let mut state = self.store().job_state(id).await?;
        if state.status != JobStatusCode::Quarantine {
            state.status = JobStatusCode::Active;
        }
        self.store().set_job_state(id, state.clone()).await?;
        Ok(state)
    }

    /// Stops a job; its watermark, escrows and links are kept.
    pub async fn pause(&self, id: SyncConfigId) -> Result<JobState, EngineError> {
        let mut state = self.store().job_state(id).await?;
        state.status = JobStatusCode::Paused;
        self.store().set_job_state(id, state.clone()).await?;
        Ok(state)
    }

    /// Restarts a job, resetting what `reset` names (Entra's `restart` with
    /// `criteria.resetScope`). The job is active afterwards.
    pub async fn restart(&self, id: SyncConfigId, reset: ResetScope) -> Result<JobState, EngineError> {
        let mut state = self.store().job_state(id).await?;
        if reset.watermark || reset.full {
            state.watermark = tenantsync_domain::ChangeCursor::START;
        }
        if reset.escrows || reset.full {
            state.escrows.clear();
        }
        if reset.quarantine_state || reset.full || reset.force_deletes {
            state.quarantine_reason = None;
        }
        if reset.force_deletes {
            state.force_deletes = true;
        }
        state.status = JobStatusCode::Active;
        self.store().set_job_state(id, state.clone()).await?;
        Ok(state)
    }

    /// Provisions one source user now through the real pipeline and returns what was
    /// done, step by step (Entra's "provision on demand").
    pub async fn provision_on_demand(&self, id: SyncConfigId, user: tenantsync_domain::ObjectId) -> Result<tenantsync_store::ProvisioningLog, EngineError> {
        on_demand::provision(&self.shared, id, user).await
    }

    /// What the next cycle of `config` would do from job state `state`, into a target of
    /// initial domain `target_domain`: the cycle's own code in a dry run that writes nothing
    /// (no policy check, no lease). `samples` objects are named per kind of outcome.
    pub async fn predict(
        &self,
        config: SyncConfiguration,
        state: JobState,
        target_domain: &tenantsync_domain::DomainName,
        samples: usize,
    ) -> Result<crate::Prediction, EngineError> {
        crate::predict::predict(&self.shared, config, state, target_domain, samples, None).await
    }

    /// [`Engine::predict`] on access settings that are not the store's yet (a plan's): the
    /// groups are synced when `group_sync` says the target allows it.
    pub async fn predict_with_group_sync(
        &self,
        config: SyncConfiguration,
        state: JobState,
        target_domain: &tenantsync_domain::DomainName,
        samples: usize,
        group_sync: bool,
    ) -> Result<crate::Prediction, EngineError> {
        crate::predict::predict(&self.shared, config, state, target_domain, samples, Some(group_sync)).await
    }

    /// The next cycles of several arrows, each as [`Engine::predict`] would make it, in
    /// their order: the initial cycles of arrows from one source share one read of it,
    /// and several sources' arrows are predicted at once (a plan of a whole topology).
    pub async fn predict_all(&self, arrows: Vec<crate::PredictArrow>, samples: usize) -> Vec<Result<crate::Prediction, EngineError>> {
        crate::predict::predict_all(&self.shared, arrows, samples).await
    }

    /// Runs one cycle of a configuration now.
    pub async fn run_cycle(&self, id: SyncConfigId) -> Result<CycleReport, EngineError> {
        cycle::run(&self.shared, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenantsync_domain::{Assignment, AttributeMapping, ObjectId, TenantId};

    #[test]
    fn what_makes_the_next_cycle_an_initial_one() {
        let old = SyncConfiguration::new("a to b", TenantId::new(), TenantId::new()).unwrap();
        let changed = |f: &dyn Fn(&mut SyncConfiguration)| {
            let mut new = old.clone();
            f(&mut new);
            Engine::needs_initial_cycle(&old, &new)
        };
        // What decides who is in scope, what is written, and what may be done.
        assert!(changed(&|c| c.actions.delete = false));
        assert!(changed(&|c| c.actions.create = false));
        assert!(changed(&|c| c.scope = tenantsync_domain::SyncScope::AllUsers));
        assert!(changed(&|c| c.assignments.push(Assignment::User(ObjectId::new()))));
        assert!(changed(&|c| c.user_mappings.push(AttributeMapping::constant("x", "jobTitle"))));
        assert!(changed(&|c| c.provision_groups = true));
        // Not what only bounds the cycles to come.
        assert!(!changed(&|c| c.deletion_threshold = None));
        assert!(!changed(&|c| c.retry.base_seconds = 5));
        assert!(!changed(&|c| c.quarantine.failures = 1));
        assert!(!changed(&|c| c.display_name = "renamed".into()));
    }
}
