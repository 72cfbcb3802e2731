//! The exporter: makes a connector's external system hold what its tenant holds.
//!
//! The first run walks the tenant (users, then groups, page by page, resumable); every
//! later run reads the tenant's change feed from the connector's watermark. Each object
//! read is compared with its link (the digest of what was last sent), and only what
//! differs is sent ([`object::export`]). A page's links and the watermark after it commit
//! together, so a crash repeats at most one page — and a repeated create finds the object
//! it made before instead of making a second. One object's refusal escrows that object
//! (retried with backoff); a failure of the whole system stops the run and pauses the
//! connector until `retryAt`, with the error as its status.
pub mod object;

use crate::ConnectorError;
use crate::definition::{Definition, Deprovision};
use crate::target::{ManagerRef, Target};
use futures_util::StreamExt;
use jiff::{SignedDuration, Timestamp};
use object::{Done, Now, Outcome};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use tenantsync_domain::{ChangeCursor, ObjectId, ObjectKind, TenantId};
use tenantsync_store::{ConnectorKey, ConnectorRecord, ConnectorStep, ConnectorStore, Link, LinkFault, ListQuery, Store, StoreError, Visibility};

/// What the exporter needs of the store.
pub trait Host: Store + ConnectorStore {}
impl<T: Store + ConnectorStore + ?Sized> Host for T {}

/// Objects read and sent per step (a page of the walk or of the feed).
const PAGE: u32 = 500;

/// The start of the fault a user's link holds while its manager is not exported yet.
const MANAGER_PENDING: &str = "manager_pending";

/// Healthy, or paused by a failure of the whole system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Health {
    #[default]
    Healthy,
    Paused,
}

/// Where an unfinished initial walk stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Walk {
    pub kind: ObjectKind,
    pub after: Option<ObjectId>,
    /// The feed's head when the walk began: the watermark once it ends.
    pub head: ChangeCursor,
}

/// How many objects went which way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    pub created: u64,
    pub matched: u64,
    pub updated: u64,
    pub deprovisioned: u64,
    pub deleted: u64,
    pub unchanged: u64,
    pub escrowed: u64,
}

impl Counters {
    fn add(&mut self, done: Done) {
        let n = match done {
            Done::Created => &mut self.created,
            Done::Matched => &mut self.matched,
            Done::Updated => &mut self.updated,
            Done::Deprovisioned => &mut self.deprovisioned,
            Done::Deleted => &mut self.deleted,
            Done::Unchanged => &mut self.unchanged,
            Done::Escrowed => &mut self.escrowed,
        };
        *n += 1;
    }

    fn merge(&mut self, o: &Counters) {
        self.created += o.created;
        self.matched += o.matched;
        self.updated += o.updated;
        self.deprovisioned += o.deprovisioned;
        self.deleted += o.deleted;
        self.unchanged += o.unchanged;
        self.escrowed += o.escrowed;
    }
}

/// A failure as the status keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusError {
    pub code: String,
    pub message: String,
}

/// What a run's outcome makes of a connector's status (an export's or an import's): healthy
/// after a run that went through; paused until `retryAt` (the service's `Retry-After`,
/// else 30 s) after a failure of the whole system, which is returned as the pause's
/// cause; any other failure is the run's error and leaves the status as it was.
pub(crate) fn settle(
    outcome: Result<(), ConnectorError>,
    now: Timestamp,
    health: &mut Health,
    error: &mut Option<StatusError>,
    retry_at: &mut Option<Timestamp>,
) -> Result<Option<StatusError>, ConnectorError> {
    match outcome {
        Ok(()) => {
            *health = Health::Healthy;
            *error = None;
            *retry_at = None;
            Ok(None)
        }
        Err(e) if e.is_system() => {
            let wait = e.retry_after().map(|d| SignedDuration::try_from(d).unwrap_or(SignedDuration::from_secs(60))).unwrap_or(SignedDuration::from_secs(30));
            let cause = StatusError { code: e.code().to_owned(), message: e.to_string() };
            *health = Health::Paused;
            *error = Some(cause.clone());
            *retry_at = Some(now + wait);
            Ok(Some(cause))
        }
        Err(e) => Err(e),
    }
}

/// The connector's state document (kept by the store, owned here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ExportState {
    /// The feed position everything before which is exported; `None` until the initial
    /// walk completes.
    pub cursor: Option<ChangeCursor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub walk: Option<Walk>,
    pub health: Health,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StatusError>,
    /// While paused: not before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<Timestamp>,
    pub totals: Counters,
}

/// A run's stored state (an export's or an import's), or its default before the first run.
pub(crate) async fn load_state<T: serde::de::DeserializeOwned + Default>(host: &dyn Host, key: ConnectorKey) -> Result<T, ConnectorError> {
    match host.connector_state(key).await? {
        None => Ok(T::default()),
        Some(v) => serde_json::from_value(v).map_err(|e| ConnectorError::InvalidSettings { reason: format!("stored state: {e}") }),
    }
}

impl ExportState {
    pub async fn load(host: &dyn Host, key: ConnectorKey) -> Result<ExportState, ConnectorError> {
        load_state(host, key).await
    }

    fn doc(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportReport {
    pub connector: String,
    pub initial: bool,
    pub counters: Counters,
    /// The watermark reached.
    pub cursor: Option<ChangeCursor>,
    /// Set when the run stopped on a failure of the whole system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<StatusError>,
}

/// One run of a connector's export: the walk or the feed up to its head, then the
/// escrowed objects that are due.
#[derive(Debug)]
pub struct Exporter<'a> {
    host: &'a dyn Host,
    record: &'a ConnectorRecord,
    target: &'a dyn Target,
    deprovision: Deprovision,
    in_flight: usize,
    now: Timestamp,
}

impl<'a> Exporter<'a> {
    pub fn new(host: &'a dyn Host, record: &'a ConnectorRecord, definition: &Definition, target: &'a dyn Target) -> Exporter<'a> {
        let now = tenantsync_domain::Clock::now(host.clock().as_ref());
        Exporter { host, record, target, deprovision: definition.settings.deprovision(), in_flight: definition.settings.in_flight(), now }
    }

    fn key(&self) -> ConnectorKey {
        self.record.key()
    }

    fn tenant(&self) -> TenantId {
        self.record.tenant
    }

    /// Runs to the feed's head (or to a failure of the system, which pauses).
    pub async fn run(&self) -> Result<ExportReport, ConnectorError> {
        let mut state = ExportState::load(self.host, self.key()).await?;
        let initial = state.cursor.is_none();
        let mut run = Counters::default();
        let outcome = self.advance(&mut state, &mut run).await;
        state.last_run = Some(self.now);
        state.totals.merge(&run);
        let paused = settle(outcome, self.now, &mut state.health, &mut state.error, &mut state.retry_at)?;
        self.host.commit_connector(self.key(), ConnectorStep { state: Some(state.doc()), ..Default::default() }).await?;
        Ok(ExportReport { connector: self.record.name.clone(), initial, counters: run, cursor: state.cursor, paused })
    }

    async fn advance(&self, state: &mut ExportState, run: &mut Counters) -> Result<(), ConnectorError> {
        if state.cursor.is_none() {
            self.walk(state, run).await?;
        }
        self.follow(state, run).await?;
        self.retry_escrowed(state, run).await
    }

    /// The initial walk: every user, then every group, page by page; each page's links
    /// commit with the walk's position, so a restart resumes after the last page.
    async fn walk(&self, state: &mut ExportState, run: &mut Counters) -> Result<(), ConnectorError> {
        let mut walk = match state.walk {
            Some(w) => w,
            None => Walk { kind: ObjectKind::User, after: None, head: self.host.change_head(self.tenant()).await? },
        };
        loop {
            let query = ListQuery { after: walk.after, limit: PAGE, visibility: Visibility::All, ..ListQuery::default() };
            let (ids, next) = match walk.kind {
                ObjectKind::User => {
                    let page = self.host.list_users(self.tenant(), &query).await?;
                    (page.items.iter().map(|u| u.id).collect::<Vec<_>>(), page.next)
                }
                ObjectKind::Group => {
                    let page = self.host.list_groups(self.tenant(), &query).await?;
                    (page.items.iter().map(|g| g.id).collect::<Vec<_>>(), page.next)
                }
            };
            let outcomes = self.objects(walk.kind, ids).await;
            let (step, failure) = self.tally(outcomes, run);
            let done = failure.is_none();
            if done {
                match (next, walk.kind) {
                    (Some(after), _) => walk.after = Some(after),
                    (None, ObjectKind::User) => walk = Walk { kind: ObjectKind::Group, after: None, head: walk.head },
                    (None, ObjectKind::Group) => {
                        state.walk = None;
                        state.cursor = Some(walk.head);
                    }
                }
                if state.cursor.is_none() {
                    state.walk = Some(walk);
                }
            }
            self.commit(step, state).await?;
            if let Some(e) = failure {
                return Err(e);
            }
            if state.cursor.is_some() {
                return Ok(());
            }
        }
    }

    /// The feed from the watermark to its head, a page at a time: the users a page
    /// touched, then its groups (a membership change touches its group).
    async fn follow(&self, state: &mut ExportState, run: &mut Counters) -> Result<(), ConnectorError> {
        loop {
            let cursor = state.cursor.unwrap_or(ChangeCursor::START);
            let page = self.host.changes_since(self.tenant(), cursor, PAGE).await?;
            if page.changes.is_empty() {
                return Ok(());
            }
            let mut users = BTreeSet::new();
            let mut groups = BTreeSet::new();
            for c in &page.changes {
                match c.object_kind {
                    ObjectKind::User => users.insert(c.object_id),
                    ObjectKind::Group => groups.insert(c.object_id),
                };
            }
            let outcomes = self.objects(ObjectKind::User, users.into_iter().collect()).await;
            let (step, failure) = self.tally(outcomes, run);
            self.commit(step, state).await?;
            if let Some(e) = failure {
                return Err(e);
            }
            let outcomes = self.objects(ObjectKind::Group, groups.into_iter().collect()).await;
            let (step, failure) = self.tally(outcomes, run);
            if failure.is_none() {
                state.cursor = Some(page.next_cursor);
            }
            self.commit(step, state).await?;
            if let Some(e) = failure {
                return Err(e);
            }
        }
    }

    /// Escrowed objects whose retry time has come.
    async fn retry_escrowed(&self, state: &mut ExportState, run: &mut Counters) -> Result<(), ConnectorError> {
        let due = self.host.due_faults(self.key(), self.now, PAGE).await?;
        for kind in [ObjectKind::User, ObjectKind::Group] {
            let ids: Vec<ObjectId> = due.iter().filter(|l| l.kind == kind).map(|l| l.object).collect();
            if ids.is_empty() {
                continue;
            }
            let outcomes = self.objects(kind, ids).await;
            let (step, failure) = self.tally(outcomes, run);
            self.commit(step, state).await?;
            if let Some(e) = failure {
                return Err(e);
            }
        }
        Ok(())
    }

    async fn commit(&self, (links, unlinked): (Vec<Link>, Vec<ObjectId>), state: &ExportState) -> Result<(), ConnectorError> {
        self.host.commit_connector(self.key(), ConnectorStep { links, unlinked, state: Some(state.doc()), seen: None }).await?;
        Ok(())
    }

    /// Splits outcomes into the step to commit and the first failure of the system.
    fn tally(&self, outcomes: Vec<Result<Outcome, ConnectorError>>, run: &mut Counters) -> ((Vec<Link>, Vec<ObjectId>), Option<ConnectorError>) {
        let (mut links, mut unlinked, mut failure) = (Vec::new(), Vec::new(), None);
        for o in outcomes {
            match o {
                Ok(o) => {
                    run.add(o.done);
                    match o.link {
                        Some(l) => links.push(l),
                        None => unlinked.push(o.object),
                    }
                }
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        ((links, unlinked), failure)
    }

    /// Exports these objects of one kind, `in_flight` at a time. Users whose manager is
    /// linked only by this batch are sent again with their manager once it is.
    async fn objects(&self, kind: ObjectKind, ids: Vec<ObjectId>) -> Vec<Result<Outcome, ConnectorError>> {
        if ids.is_empty() {
            return Vec::new();
        }
        let links = match self.host.links(self.key(), &ids).await {
            Ok(l) => l.into_iter().map(|l| (l.object, l)).collect::<HashMap<_, _>>(),
            Err(e) => return vec![Err(e.into())],
        };
        let prepared = match kind {
            ObjectKind::User => self.read_users(&ids).await,
            ObjectKind::Group => self.read_groups(&ids).await,
        };
        let prepared = match prepared {
            Ok(p) => p,
            Err(e) => return vec![Err(e)],
        };
        let mut pending_managers = Vec::new();
        let jobs = prepared.into_iter().map(|(id, now, pending)| {
            if let Some(manager) = pending {
                pending_managers.push((id, manager));
            }
            let link = links.get(&id).cloned();
            object::export(self.target, kind, id, link, now, self.deprovision, self.now)
        });
        let mut outcomes: Vec<Result<Outcome, ConnectorError>> = futures_util::stream::iter(jobs).buffer_unordered(self.in_flight).collect().await;
        if kind == ObjectKind::User && !pending_managers.is_empty() {
            let unresolved = self.second_pass(&mut outcomes, pending_managers).await;
            self.await_managers(&mut outcomes, &links, unresolved);
        }
        outcomes
    }

    /// Users whose manager is not exported yet (it comes on a later page, or was
    /// refused): their links get a fault, due at once the first time, so the end of the
    /// run (which retries what is due) sends them again with their manager; a manager
    /// still missing then is waited for with the escrow backoff.
    fn await_managers(&self, outcomes: &mut [Result<Outcome, ConnectorError>], links: &HashMap<ObjectId, Link>, unresolved: Vec<(ObjectId, ObjectId)>) {
        for (user, manager) in unresolved {
            let Some(Ok(o)) = outcomes.iter_mut().find(|o| o.as_ref().is_ok_and(|o| o.object == user)) else { continue };
            // A user escrowed itself keeps its own fault.
            let Some(link) = o.link.as_mut().filter(|l| l.external_id.is_some() && l.fault.is_none()) else { continue };
            let before = links.get(&user).and_then(|l| l.fault.as_ref()).filter(|f| f.error.starts_with(MANAGER_PENDING));
            let attempts = before.map_or(0, |f| f.attempts).saturating_add(1);
            let retry_at = if attempts == 1 { self.now } else { self.now + object::escrow_delay(attempts) };
            let error = format!("{MANAGER_PENDING}: the manager {manager} is not exported (yet)");
            link.fault = Some(LinkFault { error, attempts, retry_at });
        }
    }

    /// Reads users and renders each (with its manager's external id when linked).
    async fn read_users(&self, ids: &[ObjectId]) -> Result<Vec<(ObjectId, Now, Option<ObjectId>)>, ConnectorError> {
        let mut users = Vec::with_capacity(ids.len());
        for id in ids {
            match self.host.get_user(self.tenant(), *id).await {
                Ok(u) => users.push((*id, Some(u))),
                Err(StoreError::NotFound { .. }) => users.push((*id, None)),
                Err(e) => return Err(e.into()),
            }
        }
        let managers: Vec<ObjectId> = users.iter().filter_map(|(_, u)| u.as_ref()?.attrs.manager).collect();
        let manager_links: HashMap<ObjectId, String> = if managers.is_empty() {
            HashMap::new()
        } else {
            self.host.links(self.key(), &managers).await?.into_iter().filter_map(|l| Some((l.object, l.external_id?))).collect()
        };
        // A manager without a link that is deleted (or gone) will not be exported: no
        // manager, rather than one waited for.
        let mut absent = std::collections::HashSet::new();
        for m in managers.iter().filter(|m| !manager_links.contains_key(m)) {
            match self.host.get_user(self.tenant(), *m).await {
                Ok(u) if !u.is_deleted() => {}
                Ok(_) | Err(StoreError::NotFound { .. }) => {
                    absent.insert(*m);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(users
            .into_iter()
            .map(|(id, u)| match u {
                None => (id, Now::Gone, None),
                Some(u) => {
                    let (manager, pending) = match u.attrs.manager.filter(|m| !absent.contains(m)) {
                        None => (ManagerRef::None, None),
                        Some(m) => match manager_links.get(&m) {
                            Some(ext) => (ManagerRef::Linked(ext.as_str()), None),
                            None => (ManagerRef::Pending, Some(m)),
                        },
                    };
                    let r = self.target.render_user(&u, manager);
                    (id, if u.is_deleted() { Now::Deleted(r) } else { Now::Live(r) }, pending)
                }
            })
            .collect())
    }

    /// Reads groups and renders each with its members' external ids (members not linked
    /// yet are left out; their own export adds nothing to groups, the group's next
    /// change or a later run does).
    async fn read_groups(&self, ids: &[ObjectId]) -> Result<Vec<(ObjectId, Now, Option<ObjectId>)>, ConnectorError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let g = match self.host.get_group(self.tenant(), *id).await {
                Ok(g) => g,
                Err(StoreError::NotFound { .. }) => {
                    out.push((*id, Now::Gone, None));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let mut members = Vec::new();
            let mut query = ListQuery { after: None, limit: 1000, visibility: Visibility::Active, ..ListQuery::default() };
            if !g.is_deleted() {
                loop {
                    let page = self.host.list_members(self.tenant(), g.id, &query).await?;
                    let ids: Vec<ObjectId> = page.items.iter().map(|u| u.id).collect();
                    members.extend(self.host.links(self.key(), &ids).await?.into_iter().filter_map(|l| l.external_id));
                    match page.next {
                        Some(n) => query.after = Some(n),
                        None => break,
                    }
                }
            }
            let r = self.target.render_group(&g, &members);
            out.push((*id, if g.is_deleted() { Now::Deleted(r) } else { Now::Live(r) }, None));
        }
        Ok(out)
    }

    /// Users rendered without their manager because the manager was being exported in
    /// the same batch: now that the manager is linked, they are sent again. Returns the
    /// users whose manager this batch did not link.
    async fn second_pass(&self, outcomes: &mut [Result<Outcome, ConnectorError>], pending: Vec<(ObjectId, ObjectId)>) -> Vec<(ObjectId, ObjectId)> {
        let fresh: HashMap<ObjectId, String> =
            outcomes.iter().filter_map(|o| o.as_ref().ok()).filter_map(|o| Some((o.object, o.link.as_ref()?.external_id.clone()?))).collect();
        let mut unresolved = Vec::new();
        for (user, manager) in pending {
            let Some(manager_id) = fresh.get(&manager) else {
                unresolved.push((user, manager));
                continue;
            };
            let Some(slot) = outcomes.iter_mut().find(|o| o.as_ref().is_ok_and(|o| o.object == user)) else { continue };
            let Ok(first) = slot.as_ref() else { continue };
            let (Some(link), first_done) = (first.link.clone(), first.done) else { continue };
            let Ok(u) = self.host.get_user(self.tenant(), user).await else { continue };
            let r = self.target.render_user(&u, ManagerRef::Linked(manager_id.as_str()));
            let now = if u.is_deleted() { Now::Deleted(r) } else { Now::Live(r) };
            let again = object::export(self.target, ObjectKind::User, user, Some(link), now, self.deprovision, self.now).await;
            *slot = again.map(|mut o| {
                // Counted once, as what happened first (a create stays a create).
                if matches!(o.done, Done::Updated | Done::Unchanged) {
                    o.done = first_done;
                }
                o
            });
        }
        unresolved
    }
}
