//! A sync run of new copies, some with a manager, by `COPY` (the initial sync's path).
//!
//! One by one, each copy with a manager would cost a look-up of the manager, an insert
//! and a change row: three round trips per user, most of a large initial sync's time. A
//! run none of whose keys is taken (checked as for the plain rows) instead resolves its
//! managers up front, as the one-by-one path would have found them at each row: a user
//! created earlier in the run, or a live user of the tenant before it (one look-up of all
//! the run's references, each by its index). A reference that finds neither is left for
//! later, as before ([`Tx::apply_sync`] sets it once the whole batch is written). Then the
//! rows, managers set, and their change rows go in by binary `COPY`.
use super::Tx;
use super::batch::Created;
use crate::schema::pg_err;
use std::collections::{HashMap, HashSet};
use tenantsync_domain::{NewUser, ObjectId, UserRef};
use tenantsync_store::StoreError;

impl Tx<'_> {
    /// Creates `users` (no extension attributes; none of their keys taken) in order, as
    /// [`Tx::create_user`] with `defer_manager` would one by one.
    pub(super) async fn copy_managed(&mut self, users: Vec<NewUser>) -> Result<Vec<Created>, StoreError> {
        let (ids, upns) = refs(&users);
        self.generic_plans(true).await?;
        let live = self.live_managers(ids, upns).await?;
        self.generic_plans(false).await?;
        let mut out = Vec::with_capacity(users.len());
        let mut run = Vec::with_capacity(users.len());
        let mut later = Vec::with_capacity(users.len());
        // The users of the run so far, by id and folded UPN.
        let mut earlier_ids: HashSet<ObjectId> = HashSet::with_capacity(users.len());
        let mut earlier_upns: HashMap<String, ObjectId> = HashMap::with_capacity(users.len());
        for mut user in users {
            let reference = user.manager.take();
            let found = match &reference {
                None => None,
                Some(UserRef::Id(m)) if *m == user.id => None,
                Some(UserRef::Id(m)) => (earlier_ids.contains(m) || live.ids.contains(m)).then_some(*m),
                Some(UserRef::Upn(m)) => {
                    let folded = m.as_str().to_ascii_lowercase();
                    earlier_upns.get(&folded).or_else(|| live.upns.get(&folded)).copied()
                }
            };
            let is_self = match &reference {
                Some(UserRef::Id(m)) => *m == user.id,
                Some(UserRef::Upn(m)) => m.as_str().eq_ignore_ascii_case(user.attrs.user_principal_name.as_str()),
                None => false,
            };
            if is_self {
                // Refused, as one by one; the rows before it go first, in order.
                self.copy_run(std::mem::take(&mut run), std::mem::take(&mut later), &mut out).await?;
                out.push(Err(StoreError::SelfManager));
                continue;
            }
            earlier_ids.insert(user.id);
            earlier_upns.insert(user.attrs.user_principal_name.as_str().to_ascii_lowercase(), user.id);
            if reference.is_some() {
                user.attrs.manager = found;
            }
            later.push(if found.is_none() { reference } else { None });
            run.push(user);
        }
        self.copy_run(run, later, &mut out).await?;
        Ok(out)
    }

    async fn copy_run(&mut self, run: Vec<NewUser>, later: Vec<Option<UserRef>>, out: &mut Vec<Created>) -> Result<(), StoreError> {
        if run.is_empty() {
            return Ok(());
        }
        let from = out.len();
        self.copy_plain(run, out).await?;
        for (created, reference) in out.iter_mut().skip(from).zip(later) {
            if let Ok((_, slot)) = created {
                *slot = reference;
            }
        }
        Ok(())
    }

    /// Which of the references name a live user of the tenant now: ids as they are, UPNs
    /// folded. Each key is probed by its index (see `all_free` on why `LIMIT 1`, and
    /// `generic_plans` on why the caller asks for generic plans).
    async fn live_managers(&self, ids: Vec<uuid::Uuid>, upns: Vec<String>) -> Result<LiveManagers, StoreError> {
        let mut live = LiveManagers::default();
        if !ids.is_empty() {
            let sql = "SELECT x.id FROM unnest($2::uuid[]) AS x (id), \
                       LATERAL (SELECT u.deleted_ms FROM users u WHERE u.tenant_id = $1 AND u.id = x.id LIMIT 1) AS f WHERE f.deleted_ms IS NULL";
            for row in self.tx.query(sql, &[&self.tenant.0, &ids]).await.map_err(pg_err)? {
                live.ids.insert(ObjectId(row.try_get(0).map_err(pg_err)?));
            }
        }
        if !upns.is_empty() {
            let sql = "SELECT x.upn, f.id FROM unnest($2::text[]) AS x (upn), \
                       LATERAL (SELECT u.id, u.deleted_ms FROM users u WHERE u.tenant_id = $1 AND ts_fold(u.upn) = x.upn LIMIT 1) AS f WHERE f.deleted_ms IS NULL";
            for row in self.tx.query(sql, &[&self.tenant.0, &upns]).await.map_err(pg_err)? {
                live.upns.insert(row.try_get(0).map_err(pg_err)?, ObjectId(row.try_get(1).map_err(pg_err)?));
            }
        }
        Ok(live)
    }
}

/// The live users a run's manager references found before the run.
#[derive(Default)]
struct LiveManagers {
    ids: HashSet<ObjectId>,
    upns: HashMap<String, ObjectId>,
}

/// The distinct manager references of a run: ids, and UPNs folded.
fn refs(users: &[NewUser]) -> (Vec<uuid::Uuid>, Vec<String>) {
    let mut ids = HashSet::new();
    let mut upns = HashSet::new();
    for u in users {
        match &u.manager {
            Some(UserRef::Id(m)) => {
                ids.insert(m.0);
            }
            Some(UserRef::Upn(m)) => {
                upns.insert(m.as_str().to_ascii_lowercase());
            }
            None => {}
        }
    }
    (ids.into_iter().collect(), upns.into_iter().collect())
}
