//! The importer: feeds a connector's tenant from its external system (the other direction
//! of [`crate::export`]).
//!
//! A protocol's [`Source`] reads the system a batch at a time and says what each object
//! is there ([`Incoming`], in tenantsync's vocabulary); the importer writes that into the
//! tenant through the store ([`apply`]): ordinary directory writes with their change
//! rows, so the change feed, event-driven sync and everything downstream see them as
//! they see an admin's. Imported objects are internal to the tenant (no anchor), so sync
//! configurations out of it carry them on.
//!
//! - **Links** tie each external id to its object (and hold a digest of what was last
//!   read, so an object read again unchanged costs nothing); an update or a deletion
//!   finds its object by them. A new object's id is derived from the connector and its
//!   external id, so a write repeated after a crash (made, its link not committed) finds
//!   the object it made instead of making a second.
//! - **Watermarks** (Graph's deltaLink, LDAP's `entryCSN` — or `uSNChanged`,
//!   `modifyTimestamp` —, SCIM's `meta.lastModified`), one per kind, sit in the
//!   connector's state document and are committed with the links of the batch they
//!   follow: a crash re-reads one batch, and applying a batch again changes nothing.
//! - **Reconciliation** reads everything, and then soft-deletes every linked object the
//!   system no longer holds (LDAP and SCIM tell no deletions). It runs first, when the
//!   watermark expired (Graph's 410), and every `reconcileSecs`; one interrupted starts
//!   again. It keeps nothing that grows with the directory: each one has a new
//!   generation, each batch marks the links of what it read with it (in the batch's
//!   commit), and the sweep reads the links left unmarked from the store a page at a time.
//! - Faults: one object refused by the directory (a name already taken, an invalid
//!   value) is escrowed on its link, with what was read, and retried with backoff; a
//!   failure of the system pauses the connector as an export's does.
pub mod apply;
pub mod graph;
pub mod ldap;
pub mod scim;

use crate::ConnectorError;
use crate::definition::{Definition, ImportOptions};
use crate::export::{Health, Host, StatusError, settle};
use apply::{Applied, Applier};
use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tenantsync_domain::ObjectKind;
use tenantsync_store::{ConnectorKey, ConnectorRecord, ConnectorStep, Seen};

/// Links read per step of a reconciliation's sweep and escrowed objects retried per run.
const PAGE: u32 = 500;

/// How a group's members come from the system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "as")]
pub enum Members {
    /// Every member, by external id: the group is made to hold these (of the users the
    /// connector imported) and no other.
    Full { ids: Vec<String> },
    /// Members added and removed since the last read (Graph's `members@delta`).
    Delta { added: Vec<String>, removed: Vec<String> },
}

/// What an object is in the system now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "is")]
pub enum Is {
    /// There: its attributes by their tenantsync (Graph) names — a `null` is an attribute
    /// the system holds no value for —; a user's manager and a group's members by their
    /// external ids (`manager`: absent when the system says nothing of it).
    #[serde(rename_all = "camelCase")]
    Live {
        attributes: Map<String, Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        manager: Option<Option<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        members: Option<Members>,
    },
    /// Deleted in a way that can be undone (Graph's `@removed: changed`): soft-deleted
    /// here, its link kept so a restore finds it.
    Deleted,
    /// No longer found by a reconciliation: soft-deleted here (restorable until purged)
    /// and unlinked.
    Missing,
    /// Deleted for good (Graph's `@removed: deleted`): deleted here for good too.
    Gone,
}

/// One object as a source read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Incoming {
    pub kind: ObjectKind,
    pub external_id: String,
    #[serde(flatten)]
    pub is: Is,
}

/// A batch a source read, and where the next one starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub items: Vec<Incoming>,
    /// The position after this batch: where to read on from (with `more`), or the
    /// watermark of the next round.
    pub at: Value,
    /// More batches in this round.
    pub more: bool,
}

/// What a read found.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    Batch(Batch),
    /// The watermark is no longer valid (Graph's 410 Gone, `syncStateNotFound`): only a
    /// full read (and a reconciliation) goes on.
    Expired,
}

/// A protocol's side of an import.
#[async_trait]
pub trait Source: Send + Sync + std::fmt::Debug {
    /// Reads the next batch of `kind`: from `from` (where the last batch said to go on,
    /// or the watermark), or from the start of a full read when `None`. `full`: this
    /// round reads everything (group members then come whole).
    async fn read(&self, kind: ObjectKind, from: Option<&Value>, full: bool) -> Result<Read, ConnectorError>;
}

/// How many objects went which way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ImportCounters {
    pub created: u64,
    /// An object of the tenant with the same userPrincipalName, linked instead of made.
    pub matched: u64,
    pub updated: u64,
    pub restored: u64,
    pub deleted: u64,
    pub unchanged: u64,
    pub escrowed: u64,
}

impl ImportCounters {
    fn merge(&mut self, o: &ImportCounters) {
        self.created += o.created;
        self.matched += o.matched;
        self.updated += o.updated;
        self.restored += o.restored;
        self.deleted += o.deleted;
        self.unchanged += o.unchanged;
        self.escrowed += o.escrowed;
    }
}

/// An import connector's state document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ImportState {
    /// Where the users' next read starts (a protocol's own: a deltaLink, a timestamp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Value>,
    /// A full read is owed (the first, an expired watermark, an interrupted one).
    #[serde(default)]
    pub reconcile: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reconciliation: Option<Timestamp>,
    /// The generation of the last reconciliation begun: the mark its batches leave on
    /// the links of what they read.
    #[serde(default)]
    pub generation: u64,
    pub health: Health,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StatusError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<Timestamp>,
    pub totals: ImportCounters,
}

impl ImportState {
    pub async fn load(host: &dyn Host, key: ConnectorKey) -> Result<ImportState, ConnectorError> {
        crate::export::load_state(host, key).await
    }

    fn doc(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn mark(&self, kind: ObjectKind) -> Option<&Value> {
        match kind {
            ObjectKind::User => self.users.as_ref(),
            ObjectKind::Group => self.groups.as_ref(),
        }
    }

    fn set_mark(&mut self, kind: ObjectKind, at: Value) {
        match kind {
            ObjectKind::User => self.users = Some(at),
            ObjectKind::Group => self.groups = Some(at),
        }
    }
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    pub connector: String,
    /// The run read everything and swept what was no longer there.
    pub reconciled: bool,
    pub counters: ImportCounters,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<StatusError>,
}

/// One run of a connector's import.
#[derive(Debug)]
pub struct Importer<'a> {
    host: &'a dyn Host,
    record: &'a ConnectorRecord,
    source: &'a dyn Source,
    options: ImportOptions,
    /// Reconcile whatever the interval (`connector import --reconcile`).
    force: bool,
    now: Timestamp,
}

impl<'a> Importer<'a> {
    pub fn new(host: &'a dyn Host, record: &'a ConnectorRecord, definition: &Definition, source: &'a dyn Source) -> Importer<'a> {
        let now = tenantsync_domain::Clock::now(host.clock().as_ref());
        Importer { host, record, source, options: definition.import_options(), force: false, now }
    }

    /// Makes the run a reconciliation when `yes`, whatever the interval.
    pub fn reconciling(mut self, yes: bool) -> Importer<'a> {
        self.force = yes;
        self
    }

    fn key(&self) -> ConnectorKey {
        self.record.key()
    }

    fn applier(&self) -> Applier<'_> {
        Applier::new(self.host, self.key(), self.now)
    }

    /// Whether this run reads everything.
    fn reconciliation_due(&self, state: &ImportState) -> bool {
        let every = i64::from(self.options.reconcile_secs);
        self.force
            || state.reconcile
            || state.users.is_none()
            || state.groups.is_none()
            || (every > 0 && state.last_reconciliation.is_none_or(|at| at + SignedDuration::from_secs(every) <= self.now))
    }

    /// Reads the changes (or everything, when a reconciliation is due), then retries
    /// the escrowed objects that are due.
    pub async fn run(&self) -> Result<ImportReport, ConnectorError> {
        let mut state = ImportState::load(self.host, self.key()).await?;
        let mut run = ImportCounters::default();
        let mut reconciled = false;
        let outcome = self.advance(&mut state, &mut run, &mut reconciled).await;
        state.last_run = Some(self.now);
        state.totals.merge(&run);
        let paused = settle(outcome, self.now, &mut state.health, &mut state.error, &mut state.retry_at)?;
        self.commit(Applied::default(), &state, None).await?;
        Ok(ImportReport { connector: self.record.name.clone(), reconciled, counters: run, paused })
    }

    async fn advance(&self, state: &mut ImportState, run: &mut ImportCounters, reconciled: &mut bool) -> Result<(), ConnectorError> {
        if !self.reconciliation_due(state) {
            match self.incremental(state, run).await? {
                Some(()) => return self.retry_escrowed(state, run).await,
                // The watermark expired: everything is read again.
                None => state.reconcile = true,
            }
        }
        self.reconcile(state, run).await?;
        *reconciled = true;
        self.retry_escrowed(state, run).await
    }

    /// Users, then groups (a group's members are users), from each one's watermark;
    /// each batch's writes, then its links with the watermark after it. `None`: the
    /// watermark expired.
    async fn incremental(&self, state: &mut ImportState, run: &mut ImportCounters) -> Result<Option<()>, ConnectorError> {
        for kind in [ObjectKind::User, ObjectKind::Group] {
            loop {
                let batch = match self.source.read(kind, state.mark(kind), false).await? {
                    Read::Batch(b) => b,
                    Read::Expired => return Ok(None),
                };
                let applied = self.applier().apply(batch.items).await?;
                run.merge(&applied.counters);
                state.set_mark(kind, batch.at);
                self.commit(applied, state, None).await?;
                if !batch.more {
                    break;
                }
            }
        }
        Ok(Some(()))
    }

    /// Reads everything, then soft-deletes and unlinks what is linked and was not read.
    /// The watermarks move only at the end, so an interrupted reconciliation starts over
    /// (its batches, applied again, change nothing) with a new generation.
    async fn reconcile(&self, state: &mut ImportState, run: &mut ImportCounters) -> Result<(), ConnectorError> {
        state.reconcile = true;
        state.generation += 1;
        let generation = state.generation;
        self.commit(Applied::default(), state, None).await?;
        let mut marks = Vec::new();
        for kind in [ObjectKind::User, ObjectKind::Group] {
            let mut from: Option<Value> = None;
            loop {
                let batch = match self.source.read(kind, from.as_ref(), true).await? {
                    Read::Batch(b) => b,
                    Read::Expired => {
                        return Err(ConnectorError::BadResponse {
                            url: self.record.name.clone(),
                            expected: "a full read",
                            detail: "the system said a read from the start expired".into(),
                        });
                    }
                };
                let external_ids = batch.items.iter().filter(|i| matches!(i.is, Is::Live { .. })).map(|i| i.external_id.clone()).collect();
                let applied = self.applier().in_reconciliation(generation).apply(batch.items).await?;
                run.merge(&applied.counters);
                self.commit(applied, state, Some(Seen { generation, external_ids })).await?;
                if !batch.more {
                    marks.push((kind, batch.at));
                    break;
                }
                from = Some(batch.at);
            }
        }
        self.sweep(generation, state, run).await?;
        for (kind, at) in marks {
            state.set_mark(kind, at);
        }
        state.reconcile = false;
        state.last_reconciliation = Some(self.now);
        self.commit(Applied::default(), state, None).await
    }

    /// The linked objects this reconciliation did not mark: gone from the system. Each
    /// page is unlinked as it is applied, so the next page starts after it.
    async fn sweep(&self, generation: u64, state: &ImportState, run: &mut ImportCounters) -> Result<(), ConnectorError> {
        let mut after = None;
        loop {
            let links = self.host.unseen_links(self.key(), generation, after, PAGE).await?;
            let Some(last) = links.last() else { return Ok(()) };
            after = Some(last.object);
            let missing: Vec<Incoming> =
                links.iter().filter_map(|l| Some(Incoming { kind: l.kind, external_id: l.external_id.clone()?, is: Is::Missing })).collect();
            // Users first: a group's sweep then finds its members already gone.
            let (users, groups): (Vec<_>, Vec<_>) = missing.into_iter().partition(|i| i.kind == ObjectKind::User);
            let applied = self.applier().apply(users.into_iter().chain(groups).collect()).await?;
            run.merge(&applied.counters);
            self.commit(applied, state, None).await?;
        }
    }

    /// Escrowed objects whose retry time has come, from what was read of them.
    async fn retry_escrowed(&self, state: &ImportState, run: &mut ImportCounters) -> Result<(), ConnectorError> {
        let due = self.host.due_faults(self.key(), self.now, PAGE).await?;
        let mut again: Vec<Incoming> = due.iter().filter_map(|l| serde_json::from_value(l.exported.clone()?).ok()).collect();
        if again.is_empty() {
            return Ok(());
        }
        again.sort_by_key(|i| i.kind == ObjectKind::Group);
        let applied = self.applier().retry(again).await?;
        run.merge(&applied.counters);
        self.commit(applied, state, None).await
    }

    async fn commit(&self, applied: Applied, state: &ImportState, seen: Option<Seen>) -> Result<(), ConnectorError> {
        let step = ConnectorStep { links: applied.links, unlinked: applied.unlinked, state: Some(state.doc()), seen };
        self.host.commit_connector(self.key(), step).await?;
        Ok(())
    }
}
