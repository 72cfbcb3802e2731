//! Access reviews run by the sweep: an instance opens when a policy's schedule reaches
//! it (one per recurrence, over the policy's assignments active then), reviewers decide
//! until it ends, and at the end the outcomes are applied: the denied assignments (and,
//! by the policy's rule, those no one decided) end like any other.
use crate::notices::assignment_message;
use crate::{Governance, GovernanceError, Result};
use jiff::Timestamp;
use std::collections::BTreeMap;
use tenantsync_access::{Activity, Assignment, People, ReviewDecision, ReviewId, ReviewInstance, ReviewStatus, open_review};
use tenantsync_domain::{ObjectId, TenantId};
use tenantsync_store::{AccessObjectKind, AccessStep, AssignmentFilter, OutboxMessage};

fn internal(message: String) -> GovernanceError {
    GovernanceError::Store(tenantsync_store::StoreError::Internal { message })
}

/// Managers as the reviewer rules see them.
struct Managers(BTreeMap<ObjectId, ObjectId>);

impl People for Managers {
    fn manager(&self, user: ObjectId) -> Option<ObjectId> {
        self.0.get(&user).copied()
    }

    fn group_members(&self, _group: ObjectId) -> Vec<ObjectId> {
        Vec::new()
    }
}

impl Governance {
    /// A page of the reviews in progress where `reviewer` has something to decide, in id
    /// order: after review `after`, or the last before review `before`, until they hold
    /// at least `items` decisions of the reviewer (a review is shown whole). Read from the
    /// store a batch of reviews at a time from the cursor.
    pub async fn reviews_for(
        &self,
        tenant: TenantId,
        reviewer: ObjectId,
        after: Option<ReviewId>,
        before: Option<ReviewId>,
        items: usize,
    ) -> Result<Vec<ReviewInstance>> {
        const BATCH: u32 = 50;
        let backward = before.is_some();
        let oid = |r: ReviewId| ObjectId::from_bytes(*r.as_bytes());
        let mut range = tenantsync_store::IdRange { after: after.map(oid), before: before.map(oid), limit: BATCH };
        let (mut out, mut held) = (Vec::new(), 0);
        loop {
            let batch = self.store.access_objects_page(tenant, AccessObjectKind::ReviewInstance, range).await?;
            let read = batch.len();
            let (first, last) = (batch.first().map(|(id, _)| *id), batch.last().map(|(id, _)| *id));
            let mut kept: Vec<ReviewInstance> = batch
                .into_iter()
                .filter_map(|(_, v)| serde_json::from_value::<ReviewInstance>(v).ok())
                .filter(|r| r.status == ReviewStatus::InProgress && r.decisions.iter().any(|d| d.reviewers.contains(&reviewer)))
                .collect();
            if backward {
                kept.reverse();
            }
            for r in kept {
                if held >= items {
                    break;
                }
                held += r.decisions.iter().filter(|d| d.reviewers.contains(&reviewer)).count();
                out.push(r);
            }
            if held >= items || read < BATCH as usize {
                break;
            }
            if backward {
                range.before = first;
            } else {
                range.after = last;
            }
        }
        if backward {
            out.reverse();
        }
        Ok(out)
    }

    /// One review instance by its id (`None` when there is none).
    pub async fn review(&self, tenant: TenantId, id: ReviewId) -> Result<Option<ReviewInstance>> {
        let v = self.store.access_object(tenant, AccessObjectKind::ReviewInstance, ObjectId::from_bytes(*id.as_bytes())).await?;
        v.map(|v| serde_json::from_value(v).map_err(|e| internal(format!("stored review: {e}")))).transpose()
    }

    pub async fn reviews(&self, tenant: TenantId) -> Result<Vec<ReviewInstance>> {
        let all: Vec<ReviewInstance> =
            self.store.access_objects(tenant, AccessObjectKind::ReviewInstance).await?.into_iter().filter_map(|v| serde_json::from_value(v).ok()).collect();
        Ok(all)
    }

    async fn put_review(&self, tenant: TenantId, r: &ReviewInstance) -> Result<()> {
        let body = serde_json::to_value(r).map_err(|e| GovernanceError::Store(tenantsync_store::StoreError::Internal { message: e.to_string() }))?;
        Ok(self.store.put_access_object(tenant, AccessObjectKind::ReviewInstance, ObjectId::from_bytes(*r.id.as_bytes()), body).await?)
    }

    /// A reviewer's decision on one assignment of an open review. The review is written
    /// only if it is still the one read: of two reviewers deciding at once, the second
    /// gets `access_conflict` (409), as a second approver does, and decides again on
    /// what the first left.
    pub async fn review_decide(
        &self,
        tenant: TenantId,
        review: ReviewId,
        assignment: tenantsync_access::AssignmentId,
        reviewer: ObjectId,
        decision: ReviewDecision,
        justification: &str,
    ) -> Result<ReviewInstance> {
        let id = ObjectId::from_bytes(*review.as_bytes());
        let read =
            self.store.access_object(tenant, AccessObjectKind::ReviewInstance, id).await?.ok_or_else(|| GovernanceError::not_found("access review", review))?;
        let mut r: ReviewInstance = serde_json::from_value(read.clone()).map_err(|e| internal(format!("stored access review: {e}")))?;
        r.decide(assignment, reviewer, decision, justification, self.now())?;
        let body = serde_json::to_value(&r).map_err(|e| internal(e.to_string()))?;
        self.store.replace_access_object(tenant, AccessObjectKind::ReviewInstance, id, read, body).await?;
        Ok(r)
    }

    /// Stops an open review now (Graph's `accessReviewInstance: stop`): it closes as its
    /// end would close it, and its outcomes are applied at once (the denied assignments,
    /// and by the policy's rule those no one decided, end).
    pub async fn stop_review(&self, tenant: TenantId, review: ReviewId) -> Result<ReviewInstance> {
        let now = self.now();
        let mut r = self.reviews(tenant).await?.into_iter().find(|r| r.id == review).ok_or_else(|| GovernanceError::not_found("access review", review))?;
        if r.status != ReviewStatus::InProgress {
            return Err(tenantsync_access::AccessError::ReviewClosed.into());
        }
        let removed = r.close(now, true);
        for a in &removed {
            self.end_assignment(tenant, *a, now).await?;
        }
        self.put_review(tenant, &r).await?;
        Ok(r)
    }

    /// Opens the reviews that are due and closes those that ended; returns how many of
    /// each. Its cost follows the policies with reviews and the reviews open.
    pub(crate) async fn review_pass(&self, now: Timestamp) -> Result<(usize, usize)> {
        let (mut opened, mut closed) = (0, 0);
        for tenant in self.store.list_tenants().await? {
            let t = tenant.id;
            let reviews = self.reviews(t).await?;
            for mut r in reviews.iter().filter(|r| r.status == ReviewStatus::InProgress && r.end_date_time <= now).cloned() {
                let removed = r.close(now, false);
                for a in &removed {
                    self.end_assignment(t, *a, now).await?;
                }
                self.put_review(t, &r).await?;
                closed += 1;
            }
            let policies: Vec<tenantsync_access::AssignmentPolicy> = self.all(t, AccessObjectKind::AssignmentPolicy).await?;
            for p in policies {
                let Some(settings) = p.review_settings.as_ref().filter(|s| s.is_enabled) else { continue };
                let held = reviews.iter().filter(|r| r.assignment_policy_id == p.id).count();
                let Some(start) = settings.due(u32::try_from(held).unwrap_or(u32::MAX), now) else { continue };
                let filter = AssignmentFilter { policy: Some(p.id), current_only: true, ..AssignmentFilter::default() };
                let assignments: Vec<Assignment> = self.store.access_assignments(t, filter).await?.into_iter().map(|v| v.value).collect();
                let mut managers = BTreeMap::new();
                for a in &assignments {
                    if let Ok(u) = self.store.get_user(t, a.target).await
                        && let Some(m) = u.attrs.manager
                    {
                        managers.insert(a.target, m);
                    }
                }
                let review = open_review(settings, p.id, p.access_package_id, start, &assignments, &Managers(managers), &|_| Activity::Unknown);
                let mut reviewers: Vec<ObjectId> = review.decisions.iter().flat_map(|d| d.reviewers.iter().copied()).collect();
                reviewers.sort();
                reviewers.dedup();
                self.put_review(t, &review).await?;
                if let Some(first) = assignments.first() {
                    let mut m: OutboxMessage = assignment_message(
                        first,
                        "reviewStarted",
                        format!("Review access to package {} by {}", p.access_package_id, review.end_date_time),
                        now,
                    );
                    m.recipients = reviewers;
                    self.store.commit_access(t, AccessStep { outbox: vec![m], ..AccessStep::default() }).await?;
                }
                opened += 1;
            }
        }
        Ok((opened, closed))
    }
}
