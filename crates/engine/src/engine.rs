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

    /// Validates and stores a new configuration. Like Entra's "test connection", it is
    /// refused when the tenants' access settings do not allow the sync (the policy
    /// check), naming each missing setting.
    pub async fn create_configuration(&self, config: SyncConfiguration) -> Result<SyncConfiguration, EngineError> {
        self.validate(&config).await?;
        policy::check(self.store().as_ref(), &config).await?;
        Ok(self.store().create_sync_configuration(config).await?)
    }

    /// Validates and stores a changed configuration. A change of mappings (user or group),
    /// group provisioning, scope, scoping filter or assignments makes the next cycle an initial one: everything is
    /// re-evaluated (Entra does the same for mappings and filters).
    pub async fn update_configuration(&self, config: SyncConfiguration) -> Result<SyncConfiguration, EngineError> {
        self.validate(&config).await?;
        let old = self.store().get_sync_configuration(config.id).await?;
        let saved = self.store().update_sync_configuration(config).await?;
        if old.user_mappings != saved.user_mappings
            || old.scoping_filter != saved.scoping_filter
            || old.scope != saved.scope
            || old.assignments != saved.assignments
            || old.provision_groups != saved.provision_groups
            || old.group_mappings != saved.group_mappings
        {
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

    /// Runs one cycle of a configuration now.
    pub async fn run_cycle(&self, id: SyncConfigId) -> Result<CycleReport, EngineError> {
        cycle::run(&self.shared, id).await
    }
}
