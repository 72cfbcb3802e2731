//! Storage of the sync engine's state: cross-tenant access settings, sync
//! configurations, and each configuration's job state, which commits **in the same
//! transaction** as the target writes of a run.
use crate::{Result, Store, WriteOp, WriteOutcome};
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tenantsync_domain::{
    ChangeCursor, ExecutionState, NewUser, ObjectId, ObjectKind, PartnerSettings, QuarantineReason, SkipReason, StepKind, StepType, SyncConfigId,
    SyncConfiguration, TenantId, UserAttribute,
};

/// Entra's job status codes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatusCode {
    #[default]
    NotRun,
    Active,
    Paused,
    Quarantine,
}

/// Counters of one cycle (Entra's synchronizationTaskExecution).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CycleCounters {
    /// Source objects read.
    pub count_imported: u64,
    /// Source changes read (incremental cycles).
    pub count_imported_deltas: u64,
    /// Source users in scope.
    pub count_entitled: u64,
    /// Target writes made.
    pub count_exported: u64,
    /// Objects whose processing failed and will be retried.
    pub count_escrowed: u64,
}

/// How the last cycle went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CycleExecution {
    pub cycle_id: String,
    pub state: ExecutionState,
    pub initial: bool,
    pub time_began: Timestamp,
    pub time_ended: Timestamp,
    #[serde(flatten)]
    pub counters: CycleCounters,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn user_kind() -> ObjectKind {
    ObjectKind::User
}

fn is_user(kind: &ObjectKind) -> bool {
    *kind == ObjectKind::User
}

/// A source object whose last attempt failed, to be retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Escrow {
    pub source_object_id: ObjectId,
    /// A user (the default, and all a state written before group provisioning holds) or
    /// a group.
    #[serde(default = "user_kind", skip_serializing_if = "is_user")]
    pub object_type: ObjectKind,
    pub error_code: String,
    pub message: String,
    pub attempts: u32,
    pub next_attempt: Timestamp,
}

/// The persisted state of one configuration's job.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobState {
    /// The source change-feed position fully processed; `START` means no initial cycle
    /// has completed.
    pub watermark: ChangeCursor,
    pub status: JobStatusCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_execution: Option<CycleExecution>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escrows: Vec<Escrow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine_reason: Option<QuarantineReason>,
    /// Set by a restart with `ForceDeletes`: the next cycle applies deletions even above
    /// the accidental-deletion threshold.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_deletes: bool,
}

/// What a provisioning log record says was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProvisioningAction {
    Create,
    Update,
    Delete,
    StagedDelete,
    Disable,
    Other,
}

/// How it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProvisioningStatus {
    Success,
    Failure,
    Skipped,
    Warning,
}

impl ProvisioningStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProvisioningStatus::Success => "success",
            ProvisioningStatus::Failure => "failure",
            ProvisioningStatus::Skipped => "skipped",
            ProvisioningStatus::Warning => "warning",
        }
    }
}

/// One attribute a provisioning action changed. Values of `Redact`ed mappings are
/// recorded as `[Redact]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifiedProperty {
    /// An attribute name: static for the built-in ones, so a record of a created user does
    /// not allocate twenty names.
    pub display_name: std::borrow::Cow<'static, str>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    /// Set, with no `new_value`, by a sync's create that leaves the new value where it
    /// already is: in the copy its record's write creates (`op_index`). A store reads it
    /// from that write as it stores the record ([`ProvisioningLog::copy_in`],
    /// [`fill_values_from`]); no stored or read record has it.
    #[serde(skip)]
    pub new_in_copy: Option<InCopy>,
}

/// Which value of a create's copy is a property's new value (see
/// [`ModifiedProperty::new_in_copy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InCopy {
    /// The attribute's value.
    Attribute(UserAttribute),
    /// The copy's anchor, as its text `{tenant}:{object}`.
    Anchor,
}

impl InCopy {
    /// The value's text in `copy`, if it has one.
    pub fn text_in(self, copy: &NewUser) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            InCopy::Attribute(a) => copy.attrs.text_of(a),
            InCopy::Anchor => copy.anchor.map(|a| std::borrow::Cow::Owned(a.text())),
        }
    }
}

impl ModifiedProperty {
    /// A create's property whose new value is `a`'s in the copy (see
    /// [`ModifiedProperty::new_in_copy`]).
    pub fn in_copy(a: UserAttribute) -> ModifiedProperty {
        ModifiedProperty { display_name: std::borrow::Cow::Borrowed(a.name()), old_value: None, new_value: None, new_in_copy: Some(InCopy::Attribute(a)) }
    }

    /// A create's `anchor` property, whose new value is the copy's anchor (see
    /// [`ModifiedProperty::new_in_copy`]).
    pub fn anchor_in_copy() -> ModifiedProperty {
        ModifiedProperty { display_name: std::borrow::Cow::Borrowed("anchor"), old_value: None, new_value: None, new_in_copy: Some(InCopy::Anchor) }
    }
}

/// One step of processing an object (import, scoping, matching, export). In JSON it has
/// Graph's `name` and `provisioningStepType`, both given by its kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "StepJson", from = "StepJson")]
pub struct ProvisioningStep {
    pub kind: StepKind,
    pub status: ProvisioningStatus,
    pub description: String,
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl ProvisioningStep {
    pub fn new(kind: StepKind, status: ProvisioningStatus, description: String) -> ProvisioningStep {
        ProvisioningStep { kind, status, description, details: serde_json::Map::new() }
    }
}

/// A step's JSON form.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StepJson {
    name: StepKind,
    #[serde(default)]
    provisioning_step_type: Option<StepType>,
    status: ProvisioningStatus,
    description: String,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    details: serde_json::Map<String, serde_json::Value>,
}

impl From<ProvisioningStep> for StepJson {
    fn from(s: ProvisioningStep) -> StepJson {
        StepJson { name: s.kind, provisioning_step_type: Some(s.kind.step_type()), status: s.status, description: s.description, details: s.details }
    }
}

impl From<StepJson> for ProvisioningStep {
    fn from(s: StepJson) -> ProvisioningStep {
        ProvisioningStep { kind: s.name, status: s.status, description: s.description, details: s.details }
    }
}

/// One record of the provisioning log (Graph's provisioningObjectSummary, trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningLog {
    pub id: String,
    pub config_id: SyncConfigId,
    pub cycle_id: String,
    /// The change in the cycle (one per object action).
    pub change_id: String,
    pub activity_date_time: Timestamp,
    pub provisioning_action: ProvisioningAction,
    pub status: ProvisioningStatus,
    /// `user` or `group` (Graph's `sourceIdentity.identityType`); records written before
    /// group provisioning are users.
    #[serde(default = "user_kind")]
    pub object_type: ObjectKind,
    pub source_id: ObjectId,
    pub source_display_name: String,
    pub target_id: Option<ObjectId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<SkipReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modified_properties: Vec<ModifiedProperty>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<ProvisioningStep>,
    /// The facts the four usual steps tell, when the record carries those steps in this
    /// form instead of `steps`: a sync cycle writes a record per object, and a step's
    /// text is most of a record, so the store keeps these few facts and the steps are
    /// made from them when the record is read ([`ProvisioningLog::expand_steps`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_facts: Option<StepFacts>,
    pub duration_in_milliseconds: u64,
    /// The index, in the ops of the same commit, of the write this record reports; the
    /// store turns the record into a failure if that write is refused.
    #[serde(skip)]
    pub op_index: Option<usize>,
}

/// What the four usual steps of a record (import, scoping, matching, export) say: the
/// steps' text is made from these, the record's object and its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepFacts {
    /// Whether the object still existed in the source.
    pub found: bool,
    /// The source tenant (with the record's source object, the anchor looked for).
    pub source_tenant: TenantId,
    /// The copy matched in the target, if one was.
    pub matched: Option<ObjectId>,
    /// What the scoping step found.
    pub scope_detail: std::borrow::Cow<'static, str>,
    /// What the export step did.
    pub export: std::borrow::Cow<'static, str>,
    /// The export step's status (the record's status when it was decided).
    pub export_status: ProvisioningStatus,
}

impl StepFacts {
    /// The steps these facts tell of the object `id` (`name`) of type `kind`.
    pub fn steps(&self, kind: ObjectKind, id: ObjectId, name: &str) -> Vec<ProvisioningStep> {
        let (noun, title) = match kind {
            ObjectKind::User => ("user", "User"),
            ObjectKind::Group => ("group", "Group"),
        };
        let anchor = tenantsync_domain::Anchor::new(self.source_tenant, id);
        vec![
            ProvisioningStep::new(
                StepKind::EntryImport,
                ProvisioningStatus::Success,
                if self.found {
                    format!("Retrieved {noun} '{name}' from the source tenant")
                } else {
                    format!("{title} '{id}' no longer exists in the source tenant")
                },
            ),
            ProvisioningStep::new(StepKind::EntrySynchronizationScoping, ProvisioningStatus::Success, self.scope_detail.clone().into_owned()),
            ProvisioningStep::new(
                StepKind::EntrySynchronizationMatching,
                ProvisioningStatus::Success,
                match self.matched {
                    Some(m) => format!("Matched target {noun} '{m}' by anchor {anchor}"),
                    None => format!("No target {noun} carries anchor {anchor}"),
                },
            ),
            ProvisioningStep::new(StepKind::EntryExport, self.export_status, self.export.clone().into_owned()),
        ]
    }
}

impl ProvisioningLog {
    /// A record of `action` with `status` on the user `source_id` (`source_display_name`)
    /// for configuration `config_id` at `at`, and nothing else yet: no ids (record, cycle,
    /// change), no target, no error, nothing modified, no steps, no duration.
    pub fn new(
        config_id: SyncConfigId,
        source_id: ObjectId,
        source_display_name: String,
        provisioning_action: ProvisioningAction,
        status: ProvisioningStatus,
        at: Timestamp,
    ) -> ProvisioningLog {
        ProvisioningLog {
            id: String::new(),
            config_id,
            cycle_id: String::new(),
            change_id: String::new(),
            activity_date_time: at,
            provisioning_action,
            status,
            object_type: ObjectKind::User,
            source_id,
            source_display_name,
            target_id: None,
            skip_reason: None,
            error_code: None,
            error_message: None,
            modified_properties: Vec::new(),
            steps: Vec::new(),
            step_facts: None,
            duration_in_milliseconds: 0,
            op_index: None,
        }
    }

    /// The copy this record's write creates (its `op_index` in `ops`, the writes of its
    /// commit), where a create's record may leave new values
    /// ([`ModifiedProperty::new_in_copy`]).
    pub fn copy_in<'a>(&self, ops: &'a [WriteOp]) -> Option<&'a NewUser> {
        match self.op_index.and_then(|i| ops.get(i)) {
            Some(WriteOp::CreateUser(new)) => Some(new),
            _ => None,
        }
    }

    /// Makes the record's steps from its [`StepFacts`], if it carries them that way (a
    /// store does this for every record it reads).
    pub fn expand_steps(&mut self) {
        if let Some(facts) = self.step_facts.take()
            && self.steps.is_empty()
        {
            self.steps = facts.steps(self.object_type, self.source_id, &self.source_display_name);
        }
    }
}

/// Gives every property of `logs` whose new value is in its copy (see
/// [`ModifiedProperty::new_in_copy`]) that value as its own, from `ops`, the writes of
/// their commit: what a store does before it stores records as they are.
pub fn fill_values_from(logs: &mut [ProvisioningLog], ops: &[WriteOp]) {
    for log in logs.iter_mut() {
        if !log.modified_properties.iter().any(|m| m.new_in_copy.is_some()) {
            continue;
        }
        let copy = log.copy_in(ops);
        for m in &mut log.modified_properties {
            if let Some(a) = m.new_in_copy.take() {
                m.new_value = copy.and_then(|c| a.text_in(c)).map(std::borrow::Cow::into_owned);
            }
        }
    }
}

/// A held job lease; dropping it releases the lease.
pub struct JobLease {
    _guard: Box<dyn Send + Sync>,
}

impl JobLease {
    pub fn new(guard: Box<dyn Send + Sync>) -> Self {
        Self { _guard: guard }
    }
}

impl std::fmt::Debug for JobLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobLease")
    }
}

/// Which log records to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub config_id: Option<SyncConfigId>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub status: Option<ProvisioningStatus>,
    /// Source or target object id.
    pub object_id: Option<ObjectId>,
    /// Newest first; at most this many.
    pub limit: u32,
    /// Only records of configurations whose source is this tenant (the tenant that holds
    /// the configuration, as Entra shows a job's logs in its tenant).
    pub source_tenant: Option<TenantId>,
    pub action: Option<ProvisioningAction>,
    /// The record's source object is this one.
    pub source_id: Option<ObjectId>,
    /// The record's target object is this one.
    pub target_id: Option<ObjectId>,
    /// [`SyncStore::provisioning_log_page`]: continue after this position (from the
    /// previous page's `next`; a deep page costs what the first one costs).
    pub after: Option<crate::LogCursor>,
}

/// The answer to a [`SyncWriter::write`].
pub type WriteFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<Result<WriteOutcome>>>> + Send>>;

/// One run's stream of commits. Each [`SyncWriter::write`] takes what
/// [`SyncStore::commit_sync`] takes: target writes, their log records, and the job state
/// after them.
///
/// The store applies the writes in call order and may keep one transaction open across
/// several of them: a big transaction costs far less per object, since the target's
/// indexes take inserts at random places and each dirty page is written once per
/// transaction. Whatever it commits is a prefix of the writes that ends with a whole
/// write, so the stored job state always belongs to the target writes stored with it.
/// Writes not yet committed are invisible to readers; [`SyncWriter::flush`] commits
/// everything written so far. A writer dropped without a flush may lose its last
/// uncommitted writes, never part of one. A store keeps other writers waiting only
/// briefly: an open transaction ends soon after someone else needs to write.
#[async_trait]
pub trait SyncWriter: Send + Sync + std::fmt::Debug {
    /// Queues one write (see [`SyncStore::commit_sync`]) before it returns, so writes
    /// apply in call order however their futures are awaited (a caller may have several
    /// in flight). The future answers with the result of each target write. A store
    /// error ends the open transaction: its writes are lost.
    fn write(&self, ops: Vec<WriteOp>, state: JobState, logs: Vec<ProvisioningLog>) -> WriteFuture;
    /// Commits everything written so far.
    async fn flush(&self) -> Result<()>;
    /// Objects (target writes or log records, whichever is more) the writer takes per
    /// [`write`](SyncWriter::write) at most: the engine fills its batches up to this,
    /// shared among the runs going at once. A store that commits each write in a
    /// transaction of its own wants them large; one that groups writes into larger
    /// transactions bounds with this only the memory a run holds in flight.
    fn batch_objects(&self) -> usize {
        DEFAULT_BATCH_OBJECTS
    }
}

/// [`SyncWriter::batch_objects`] unless a store says otherwise.
pub const DEFAULT_BATCH_OBJECTS: usize = 8000;

/// Which end of a sync configuration (an arrow) a tenant is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigEnd {
    /// The tenant's users are copied out: configurations *from* it.
    Source,
    /// The tenant receives the copies: configurations *to* it.
    Target,
}

/// A page of one tenant's configurations ([`SyncStore::sync_configurations_at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigPage {
    pub tenant: TenantId,
    pub end: ConfigEnd,
    /// Only those whose tenant at the other end comes after this one: a page's start.
    pub after: Option<TenantId>,
    pub limit: u32,
}

/// The sync engine's view of storage. A store that also holds the tenants commits a
/// run's target writes and its job state together ([`SyncStore::commit_sync`]), so a
/// crash can neither lose nor repeat work.
#[async_trait]
pub trait SyncStore: Store {
    /// Sets `tenant`'s settings towards `partner`, or its defaults when `partner` is `None`.
    async fn set_partner_settings(&self, tenant: TenantId, partner: Option<TenantId>, settings: PartnerSettings) -> Result<()>;
    /// The settings as stored (not merged with defaults); all `None` when absent.
    async fn partner_settings(&self, tenant: TenantId, partner: Option<TenantId>) -> Result<PartnerSettings>;
    /// The partners `tenant` has a settings row for (set, even to all `None`, and not
    /// deleted since), with those settings, in partner id order; the defaults are not
    /// listed. (Graph's `crossTenantAccessPolicy/partners`: a partner exists once created.)
    async fn partner_settings_list(&self, tenant: TenantId) -> Result<Vec<(TenantId, PartnerSettings)>>;
    /// `tenant`'s settings row towards `partner` as [`SyncStore::partner_settings_list`]
    /// lists it: `None` when there is no row (the partner is not one).
    async fn partner_settings_row(&self, tenant: TenantId, partner: TenantId) -> Result<Option<PartnerSettings>>;
    /// A page of [`SyncStore::partner_settings_list`]: the partners after `after`, at most
    /// `limit`, read in key order.
    async fn partner_settings_page(&self, tenant: TenantId, after: Option<TenantId>, limit: u32) -> Result<Vec<(TenantId, PartnerSettings)>>;
    /// Removes `tenant`'s settings row towards `partner` (its settings then inherit the
    /// defaults again); `false` when there was none.
    async fn delete_partner_settings(&self, tenant: TenantId, partner: TenantId) -> Result<bool>;

    /// Stores a new configuration. At most one per source → target pair
    /// (`sync_configuration_conflict`); both tenants must exist.
    async fn create_sync_configuration(&self, config: SyncConfiguration) -> Result<SyncConfiguration>;
    /// Replaces a configuration (same id, same source and target).
    async fn update_sync_configuration(&self, config: SyncConfiguration) -> Result<SyncConfiguration>;
    async fn get_sync_configuration(&self, id: SyncConfigId) -> Result<SyncConfiguration>;
    async fn list_sync_configurations(&self) -> Result<Vec<SyncConfiguration>>;
    /// A page of the configurations with `page.tenant` at `page.end`, ordered by the
    /// tenant at the other end (one configuration per pair, so that is a key), read
    /// through an index: a tenant's pages cost the page, however many configurations the
    /// deployment holds.
    async fn sync_configurations_at(&self, page: ConfigPage) -> Result<Vec<SyncConfiguration>>;
    /// How many configurations have `tenant` at `end`, counted on the same index.
    async fn count_sync_configurations_at(&self, tenant: TenantId, end: ConfigEnd) -> Result<u64>;
    /// Deletes a configuration and its job state. Objects it synced stay as they are.
    async fn delete_sync_configuration(&self, id: SyncConfigId) -> Result<()>;

    async fn job_state(&self, id: SyncConfigId) -> Result<JobState>;
    /// Replaces the job state alone (pause, restart).
    async fn set_job_state(&self, id: SyncConfigId, state: JobState) -> Result<()>;
    /// Applies `ops` to the target tenant, each on its own ([`crate::BatchMode::Independent`]),
    /// appends `logs` (a record whose `op_index` names a refused write becomes a failure
    /// with that error), and stores `state` as the job's state — all in one transaction.
    async fn commit_sync(
        &self,
        id: SyncConfigId,
        target: TenantId,
        ops: Vec<WriteOp>,
        state: JobState,
        logs: Vec<ProvisioningLog>,
    ) -> Result<Vec<Result<WriteOutcome>>>;

    /// A writer for one run of job `id` into `target`: the same commits as
    /// [`SyncStore::commit_sync`], which the store may group into larger transactions
    /// (see [`SyncWriter`]). The run's writes go through it in order.
    async fn sync_writer(&self, id: SyncConfigId, target: TenantId) -> Result<std::sync::Arc<dyn SyncWriter>>;

    /// Takes the job's lease: while the returned guard lives, no other task or process on
    /// the same store can take it (a cycle runs at most once at a time). `None` when it
    /// is held elsewhere. The lease ends with the guard, or with the process holding it.
    async fn try_lease_job(&self, id: SyncConfigId) -> Result<Option<JobLease>>;

    /// Notices of changes to jobs made outside their cycles, by this process or another
    /// on the same store (see [`crate::JobNotice`]): a scheduler wakes the job at once.
    fn subscribe_jobs(&self) -> tokio::sync::broadcast::Receiver<crate::JobNotice>;

    /// Provisioning log records, newest first.
    async fn provisioning_logs(&self, query: &LogQuery) -> Result<Vec<ProvisioningLog>>;
    /// Deletes log records older than `cutoff`; returns how many.
    async fn purge_provisioning_logs(&self, cutoff: Timestamp) -> Result<u64>;
    /// A page of provisioning log records matching `query` (every condition of
    /// [`LogQuery`] holds), newest first, at most `query.limit`, from `query.after`;
    /// `next` is set when more may follow.
    async fn provisioning_log_page(&self, query: &LogQuery) -> Result<crate::LogPage>;

    // ---- the admin API's audit log and objects (see `crate::admin`) ----

    /// Applies `ops` to `tenant` as one atomic batch ([`crate::BatchMode::Atomic`]) and
    /// appends `audit` (a record of `tenant`) in the same transaction: both commit, or
    /// neither (the batch's first error is returned).
    async fn apply_audited(&self, tenant: TenantId, ops: Vec<WriteOp>, audit: crate::AuditRecord) -> Result<Vec<WriteOutcome>>;
    /// Appends an audit record on its own (for writes made through other methods, after
    /// they committed). Its tenant must exist.
    async fn append_audit(&self, audit: crate::AuditRecord) -> Result<()>;
    /// The tenant's audit records, newest first (by time, then id), paged with
    /// [`crate::AuditQuery::after`].
    async fn audit_records(&self, tenant: TenantId, query: &crate::AuditQuery) -> Result<crate::AuditPage>;
    /// Deletes the audit records of every tenant older than `cutoff` (the provisioning
    /// logs' retention applies to them); returns how many.
    async fn purge_audit_records(&self, cutoff: Timestamp) -> Result<u64>;

    /// Stores (creates or replaces) the admin object `id` of `kind` in `tenant` with its
    /// JSON `body`, and appends `audit` in the same transaction.
    async fn put_admin_object(&self, tenant: TenantId, kind: crate::AdminObjectKind, id: ObjectId, body: String, audit: crate::AuditRecord) -> Result<()>;
    /// The body of an admin object; `None` when there is none (in that tenant).
    async fn admin_object(&self, tenant: TenantId, kind: crate::AdminObjectKind, id: ObjectId) -> Result<Option<String>>;
    /// The tenant's admin objects of `kind`, in creation order, as (id, body). Admin
    /// objects are few per tenant (one per sync configuration at most).
    async fn admin_objects(&self, tenant: TenantId, kind: crate::AdminObjectKind) -> Result<Vec<(ObjectId, String)>>;
    /// Deletes an admin object and appends `audit` in the same transaction; `false` (and
    /// no record) when there was none.
    async fn delete_admin_object(&self, tenant: TenantId, kind: crate::AdminObjectKind, id: ObjectId, audit: crate::AuditRecord) -> Result<bool>;
}
