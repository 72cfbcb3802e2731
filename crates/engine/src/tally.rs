//! A dry run's tally: what the records of a cycle would say, by kind, with a sample of
//! names, and the mails of the copies it would create (a prediction, predict.rs). The walk
//! tallies its users' decisions as it makes them ([`DryTally`]); the dry writer tallies the
//! records it is handed (groups, deletions, failures); both end in one [`Seen`].
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tenantsync_domain::{ObjectKind, SkipReason};
use tenantsync_store::{ProvisioningAction, ProvisioningLog, ProvisioningStatus};

/// A user a cycle would create, by the hash of its mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreatedMail {
    pub hash: u64,
    pub source_user: tenantsync_domain::ObjectId,
}

/// How many created users' mails a prediction keeps as text.
pub const MAILS_KEPT: usize = 1000;

/// A 64-bit FNV-1a hash of a mail, ignoring ASCII case: the same in every prediction.
pub fn mail_hash(mail: &str) -> u64 {
    mail.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0000_0100_0000_01b3))
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

pub(crate) type Key = (u8, u8, u8, Option<SkipReason>, Option<String>);

/// What a dry run's writer saw, or a dry run's walk tallied as it decided.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub(crate) outcomes: BTreeMap<Key, Outcome>,
    pub(crate) created_mails: Vec<CreatedMail>,
    pub(crate) first_created_mails: Vec<String>,
}

impl Seen {
    /// One more record like `log`; its object's name joins the sample while it has room.
    pub(crate) fn record(&mut self, log: &ProvisioningLog, samples: usize) {
        let kind = Kind { object: log.object_type, action: log.provisioning_action, status: log.status, skip_reason: log.skip_reason };
        self.count(kind, log.error_code.as_deref(), samples, || log.source_display_name.clone());
    }

    /// One more record of `kind` (with `error_code`); `name` is asked for only while the
    /// kind's sample has room.
    fn count(&mut self, kind: Kind, error_code: Option<&str>, samples: usize, name: impl FnOnce() -> String) {
        let outcome = self.outcomes.entry(key(&kind, error_code)).or_insert_with(|| Outcome {
            object: kind.object,
            action: kind.action,
            status: kind.status,
            skip_reason: kind.skip_reason,
            error_code: error_code.map(str::to_owned),
            count: 0,
            samples: Vec::new(),
        });
        outcome.count += 1;
        if outcome.samples.len() < samples {
            outcome.samples.push(name());
        }
    }

    /// A user the run would create, with its mail.
    pub(crate) fn created(&mut self, mail: &str, source_user: tenantsync_domain::ObjectId) {
        self.created_mails.push(CreatedMail { hash: mail_hash(mail), source_user });
        if self.first_created_mails.len() < MAILS_KEPT {
            self.first_created_mails.push(mail.to_ascii_lowercase());
        }
    }

    /// Adds what `other` saw after what this one saw.
    fn merge(&mut self, other: Seen, samples: usize) {
        for (key, o) in other.outcomes {
            let mine = self.outcomes.entry(key).or_insert_with(|| Outcome { samples: Vec::new(), count: 0, ..o.clone() });
            mine.count += o.count;
            let room = samples.saturating_sub(mine.samples.len());
            mine.samples.extend(o.samples.into_iter().take(room));
        }
        self.created_mails.extend(other.created_mails);
        let room = MAILS_KEPT.saturating_sub(self.first_created_mails.len());
        self.first_created_mails.extend(other.first_created_mails.into_iter().take(room));
    }
}

/// A dry run's tally of its users' decisions, made as the walk decides them rather than
/// through records handed to the writer (a record per user and arrow, with its name and
/// time, was most of what a prediction allocated). Every write of a dry run succeeds, so
/// a decision counts when it is made, as it would once written. Added to the writer's
/// own tally when the run ends.
#[derive(Debug)]
pub(crate) struct DryTally {
    seen: Seen,
    /// The sample size asked for.
    samples: usize,
    /// Where the tally ends: the dry writer's.
    sink: Arc<Mutex<Seen>>,
}

impl DryTally {
    pub(crate) fn new(samples: usize, sink: Arc<Mutex<Seen>>) -> DryTally {
        DryTally { seen: Seen::default(), samples, sink }
    }

    /// A user's decision (not a deletion: those go through the writer, for the deletion
    /// threshold) as its record would say it; `name` is asked for only for the sample.
    pub(crate) fn decided(&mut self, action: ProvisioningAction, status: ProvisioningStatus, skip_reason: Option<SkipReason>, name: impl FnOnce() -> String) {
        let kind = Kind { object: ObjectKind::User, action, status, skip_reason };
        self.seen.count(kind, None, self.samples, name);
    }

    /// A copy the run would create, by its mail.
    pub(crate) fn created(&mut self, mail: Option<&str>, source_user: tenantsync_domain::ObjectId) {
        if let Some(mail) = mail {
            self.seen.created(mail, source_user);
        }
    }
}

impl Drop for DryTally {
    fn drop(&mut self) {
        let mine = std::mem::take(&mut self.seen);
        if let Ok(mut seen) = self.sink.lock() {
            // The writer's records came after the decisions they follow; the walk's own
            // come first in every sample.
            let theirs = std::mem::replace(&mut *seen, mine);
            seen.merge(theirs, self.samples);
        }
    }
}

/// What kind of record a tally counts (with its error code).
#[derive(Debug, Clone, Copy)]
struct Kind {
    object: ObjectKind,
    action: ProvisioningAction,
    status: ProvisioningStatus,
    skip_reason: Option<SkipReason>,
}

fn key(kind: &Kind, error_code: Option<&str>) -> Key {
    // The enums' declaration order, for a stable order of the outcomes.
    let object = match kind.object {
        ObjectKind::User => 0,
        ObjectKind::Group => 1,
    };
    let action = match kind.action {
        ProvisioningAction::Create => 0,
        ProvisioningAction::Update => 1,
        ProvisioningAction::Disable => 2,
        ProvisioningAction::Delete => 3,
        ProvisioningAction::StagedDelete => 4,
        ProvisioningAction::Other => 5,
    };
    let status = match kind.status {
        ProvisioningStatus::Success => 0,
        ProvisioningStatus::Skipped => 1,
        _ => 2,
    };
    (object, action, status, kind.skip_reason, error_code.map(str::to_owned))
}
