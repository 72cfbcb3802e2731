//! A dry run: what a configuration's next cycle would do, decided by the cycle's own code
//! ([`crate::cycle`]) against the store as it is, with a writer that keeps every write from
//! the store. Nothing is written: not the target, not the logs, not the job state.
//!
//! Every write is answered as done, so the counts are those of a cycle whose writes all
//! succeed. What a cycle reads back of its own writes is not there: the members a new
//! group gets from users created in the same cycle are not counted (their copies do not
//! exist yet), nor are manager references, which are not counted by a cycle either.
use crate::compile::Compiled;
use crate::context::Shared;
use crate::report::CycleReport;
use crate::run::Run;
use crate::{EngineError, cycle};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tenantsync_domain::{DomainName, ObjectKind, SkipReason, SyncConfiguration};
use tenantsync_store::{JobState, ProvisioningAction, ProvisioningLog, ProvisioningStatus, SyncWriter, WriteFuture, WriteOp, WriteOutcome};

/// What a configuration's next cycle would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prediction {
    /// The cycle's report, as the cycle would make it.
    pub report: CycleReport,
    /// The log records it would write, by kind of object, action, status, skip reason and
    /// error code, with a sample of the objects of each.
    pub outcomes: Vec<Outcome>,
    /// The mail of each user the cycle would create (lowercase), to find people who would
    /// reach a tenant by two paths.
    pub created_mails: Vec<String>,
}

/// The records of one kind a cycle would write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub object: ObjectKind,
    pub action: ProvisioningAction,
    pub status: ProvisioningStatus,
    pub skip_reason: Option<SkipReason>,
    pub error_code: Option<String>,
    pub count: u64,
    /// The first objects of this kind (UPN of a user, name of a group), at most the sample
    /// size asked for.
    pub samples: Vec<String>,
}

type Key = (u8, u8, u8, Option<SkipReason>, Option<String>);

/// What a dry run's writer saw.
#[derive(Debug, Default)]
struct Seen {
    outcomes: BTreeMap<Key, Outcome>,
    created_mails: Vec<String>,
}

/// A writer that writes nothing: it answers every write as done and keeps a tally of the
/// records it was given.
#[derive(Debug)]
struct DryWriter {
    samples: usize,
    seen: Mutex<Seen>,
}

fn key(log: &ProvisioningLog) -> Key {
    // The enums' declaration order, for a stable order of the outcomes.
    let object = match log.object_type {
        ObjectKind::User => 0,
        ObjectKind::Group => 1,
    };
    let action = match log.provisioning_action {
        ProvisioningAction::Create => 0,
        ProvisioningAction::Update => 1,
        ProvisioningAction::Disable => 2,
        ProvisioningAction::Delete => 3,
        ProvisioningAction::StagedDelete => 4,
        ProvisioningAction::Other => 5,
    };
    let status = match log.status {
        ProvisioningStatus::Success => 0,
        ProvisioningStatus::Skipped => 1,
        _ => 2,
    };
    (object, action, status, log.skip_reason, log.error_code.clone())
}

#[async_trait::async_trait]
impl SyncWriter for DryWriter {
    fn write(&self, ops: Vec<WriteOp>, _state: JobState, logs: Vec<ProvisioningLog>) -> WriteFuture {
        if let Ok(mut seen) = self.seen.lock() {
            for log in &logs {
                let outcome = seen.outcomes.entry(key(log)).or_insert_with(|| Outcome {
                    object: log.object_type,
                    action: log.provisioning_action,
                    status: log.status,
                    skip_reason: log.skip_reason,
                    error_code: log.error_code.clone(),
                    count: 0,
                    samples: Vec::new(),
                });
                outcome.count += 1;
                if outcome.samples.len() < self.samples {
                    outcome.samples.push(log.source_display_name.clone());
                }
            }
            for op in &ops {
                if let WriteOp::CreateUser(new) = op
                    && let Some(mail) = &new.attrs.mail
                {
                    seen.created_mails.push(mail.as_str().to_ascii_lowercase());
                }
            }
        }
        // Nothing in a cycle reads what a write returns but whether it succeeded.
        let answers =
            ops.iter().map(|_| Ok(WriteOutcome::HardDeleted { kind: ObjectKind::User, id: tenantsync_domain::ObjectId::from_bytes([0; 16]) })).collect();
        Box::pin(async move { Ok(answers) })
    }

    async fn flush(&self) -> tenantsync_store::Result<()> {
        Ok(())
    }
}

/// What the next cycle of `config` would do, starting from job state `state` (a new
/// configuration's is the default: an initial cycle), into a target whose initial domain
/// is `target_domain` (a target that does not exist yet is taken as empty). The policy
/// check is not made (the caller tells access apart), nor is the job's lease taken:
/// nothing is written. `group_sync` says whether the target allows inbound group sync
/// from the source (`None`: as the store's settings say now).
pub(crate) async fn predict(
    engine: &Shared,
    config: SyncConfiguration,
    state: JobState,
    target_domain: &DomainName,
    samples: usize,
    group_sync: Option<bool>,
) -> Result<Prediction, EngineError> {
    let mut compiled = Compiled::new(config)?;
    let target = compiled.config.target_tenant_id;
    if let Err(tenantsync_store::StoreError::TenantNotFound { .. }) = engine.store().get_tenant(target).await {
        // A target not created yet is empty. The source stands in for it: it holds nothing
        // carrying its own anchors, so the cycle matches nothing there, as in a new tenant
        // (the copies' UPNs take `target_domain`, the new tenant's).
        compiled.config.target_tenant_id = compiled.config.source_tenant_id;
    }
    let writer = Arc::new(DryWriter { samples, seen: Mutex::new(Seen::default()) });
    let cfg = &compiled.config;
    let initial = state.watermark == tenantsync_domain::ChangeCursor::START;
    let cycle_id = format!("dryrun-{}", uuid::Uuid::now_v7());
    let mut run = Run::with_writer(engine, cfg.id, cycle_id, state, cfg.retry, initial, writer.clone());
    run.group_sync = group_sync;
    let report = cycle::walk(engine, &compiled, run, target_domain, engine.clock().now()).await?;
    let seen = writer.seen.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default();
    Ok(Prediction { report, outcomes: seen.outcomes.into_values().collect(), created_mails: seen.created_mails })
}
