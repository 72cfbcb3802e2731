//! A sync's batches ([`Tx::apply_sync`]): each run of consecutive creates of copies is
//! applied in UPN order, with the managers it creates itself found without a lookup,
//! and its `create` changes appended by one statement at its end.
use super::Tx;
use crate::rows::{kind_code, sql_err};
use rusqlite::params;
use tenantsync_domain::{ChangeOp, NewUser, ObjectId, ObjectKind, UserRef};
use tenantsync_store::{StoreError, WriteOp, WriteOutcome};

impl Tx<'_> {
    /// Applies a sync run's batch, in `Independent` mode: as [`Tx::apply_all`], except
    /// that each run of two or more consecutive creates of provisioned users (users with
    /// an anchor) is applied in UPN order. A million-user target's UPN, mail and
    /// display-name indexes take these inserts at random places; in UPN order, neighbours
    /// share the pages the index seeks walk. Results stay in the batch's order, and two
    /// creates of one UPN keep theirs (the first wins). A copy naming as its manager a
    /// copy created in the same run gets it without a lookup; if that manager's create
    /// is refused, the copy is left without a manager, as [`Tx::apply`] leaves a copy
    /// whose manager is missing.
    ///
    /// `orders` are [`create_orders`] of `ops`, worked out by the caller on its own
    /// thread (a sync's one writer thread is its bottleneck); a run without its order
    /// here (or with one of another length) has it worked out now.
    pub fn apply_sync(&mut self, ops: Vec<WriteOp>, orders: Vec<RunOrder>) -> Result<Vec<Result<WriteOutcome, StoreError>>, StoreError> {
        let mut results = Vec::with_capacity(ops.len());
        let mut orders = orders.into_iter();
        let mut ops = ops.into_iter().peekable();
        let mut run = Vec::new();
        while let Some(op) = ops.next() {
            if !creates_copy(&op) {
                match self.apply(op) {
                    Ok(outcome) => results.push(Ok(outcome)),
                    Err(e) if !e.is_refusal() => return Err(e),
                    Err(e) => results.push(Err(e)),
                }
                continue;
            }
            run.push(op);
            while let Some(next) = ops.next_if(creates_copy) {
                run.push(next);
            }
            let order = orders.next().filter(|o| o.order.len() == run.len()).unwrap_or_else(|| RunOrder::of(&run));
            self.create_run(std::mem::take(&mut run), order, &mut results)?;
        }
        Ok(results)
    }

    /// Applies consecutive creates of provisioned users in UPN order (see
    /// [`Tx::apply_sync`]); their results go to `results` in their own order. Their
    /// `create` changes are appended at the end, in the order the users were created.
    fn create_run(&mut self, run: Vec<WriteOp>, order: RunOrder, results: &mut Vec<Result<WriteOutcome, StoreError>>) -> Result<(), StoreError> {
        self.deferred_creates = Some(Vec::with_capacity(run.len()));
        let applied = self.apply_run(run, order, results);
        let created = self.deferred_creates.take().unwrap_or_default();
        applied?;
        self.append_creates(&created)
    }

    /// The `create` changes of users of this tenant, in order: one statement.
    fn append_creates(&mut self, ids: &[[u8; 16]]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let objects = crate::rows::id_array(ids.iter().copied());
        // `rowid` of `rarray` is the value's position, from 1.
        self.conn
            .prepare_cached(
                "INSERT INTO changes (tenant_id, seq, at_ms, object_kind, object_id, op, member_id, attributes) \
                 SELECT ?1, ?2 + rowid, ?3, ?4, value, ?5, NULL, NULL FROM rarray(?6)",
            )
            .and_then(|mut s| {
                s.execute(params![self.tenant_blob, self.head as i64, self.now_ms, kind_code(ObjectKind::User), ChangeOp::Create.code(), objects])
            })
            .map_err(sql_err)?;
        self.head += ids.len() as u64;
        Ok(())
    }

    fn apply_run(&mut self, run: Vec<WriteOp>, order: RunOrder, results: &mut Vec<Result<WriteOutcome, StoreError>>) -> Result<(), StoreError> {
        let mut users: Vec<Option<Box<NewUser>>> = run
            .into_iter()
            .filter_map(|op| match op {
                WriteOp::CreateUser(u) => Some(Some(u)),
                _ => None,
            })
            .collect();
        let base = results.len();
        let mut slots: Vec<Option<Result<WriteOutcome, StoreError>>> = (0..users.len()).map(|_| None).collect();
        // (result position, manager's result position) of copies given a manager of the run.
        let mut trusted = Vec::new();
        for i in order.order {
            let Some(mut new) = users.get_mut(i).and_then(Option::take) else { continue };
            let manager = match (&new.manager, order.managers.get(i).copied().flatten()) {
                (Some(UserRef::Id(m)), Some(pos)) => Some((*m, base + pos)),
                _ => None,
            };
            let result = match manager {
                Some((m, pos)) => {
                    trusted.push((base + i, pos));
                    new.manager = None;
                    self.insert_user(*new, Some(m))
                }
                None => self.create_user(*new, true).map(|(u, _)| u),
            };
            let slot = match result {
                Ok(u) => Ok(WriteOutcome::User(Box::new(u))),
                Err(e) if !e.is_refusal() => return Err(e),
                Err(e) => Err(e),
            };
            if let Some(s) = slots.get_mut(i) {
                *s = Some(slot);
            }
        }
        results.extend(slots.into_iter().map(|s| s.unwrap_or(Err(StoreError::Internal { message: "a create of the batch was not applied".into() }))));
        // A manager whose own create was refused is not there: its reports go without.
        for (pos, manager_pos) in trusted {
            if matches!(results.get(manager_pos), Some(Err(_)))
                && let Some(Ok(WriteOutcome::User(u))) = results.get_mut(pos)
            {
                self.conn
                    .prepare_cached("UPDATE users SET manager_id = NULL WHERE tenant_id = ?1 AND id = ?2")
                    .and_then(|mut s| s.execute(params![self.tenant_blob, u.id.as_bytes()]))
                    .map_err(sql_err)?;
                u.attrs.manager = None;
            }
        }
        Ok(())
    }
}

/// Whether [`Tx::apply_sync`] applies `op` in a run of creates of copies.
fn creates_copy(op: &WriteOp) -> bool {
    matches!(op, WriteOp::CreateUser(u) if u.anchor.is_some())
}

/// How [`Tx::apply_sync`] applies one run of consecutive creates of copies: in which
/// order, and which create of the run each one names as its manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOrder {
    /// Run positions in UPN order (case-insensitive; stable, so of two creates of one
    /// UPN the first still goes first).
    order: Vec<usize>,
    /// Per run position: the run position of the create it names as its manager.
    managers: Vec<Option<usize>>,
}

impl RunOrder {
    fn of(run: &[WriteOp]) -> RunOrder {
        let users: Vec<&NewUser> = run
            .iter()
            .filter_map(|op| match op {
                WriteOp::CreateUser(u) => Some(&**u),
                _ => None,
            })
            .collect();
        let ids: std::collections::HashMap<ObjectId, usize, foldhash::fast::FixedState> = users.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
        // Sorted by the first eight bytes of each name, lowered, as a number (most names
        // differ there), then by the whole name and the position: no name is lowered
        // whole, and equal names keep their order.
        let upn = |i: usize| users.get(i).map_or("", |u| u.attrs.user_principal_name.as_str());
        let mut keys: Vec<(u64, usize)> = (0..users.len()).map(|i| (prefix_key(upn(i)), i)).collect();
        keys.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| cmp_lowered(upn(a.1), upn(b.1))).then(a.1.cmp(&b.1)));
        let order: Vec<usize> = keys.into_iter().map(|(_, i)| i).collect();
        let managers = users
            .iter()
            .map(|u| match &u.manager {
                Some(UserRef::Id(m)) if *m != u.id => ids.get(m).copied(),
                _ => None,
            })
            .collect();
        RunOrder { order, managers }
    }
}

/// The first eight bytes of `name`, ASCII-lowered, as a big-endian number (zeros past
/// its end): two names' keys compare as their lowered prefixes do.
fn prefix_key(name: &str) -> u64 {
    let mut b = [0u8; 8];
    for (k, c) in b.iter_mut().zip(name.bytes()) {
        *k = c.to_ascii_lowercase();
    }
    u64::from_be_bytes(b)
}

/// `a` and `b` compared as their ASCII-lowered forms.
fn cmp_lowered(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes().map(|c| c.to_ascii_lowercase()).cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// The [`RunOrder`] of each run of creates of copies in `ops`, in order: what
/// [`Tx::apply_sync`] would otherwise work out on the writer thread.
pub fn create_orders(ops: &[WriteOp]) -> Vec<RunOrder> {
    let mut orders = Vec::new();
    let mut rest = ops;
    while let Some(start) = rest.iter().position(creates_copy) {
        let tail = rest.get(start..).unwrap_or_default();
        let len = tail.iter().position(|op| !creates_copy(op)).unwrap_or(tail.len());
        orders.push(RunOrder::of(tail.get(..len).unwrap_or_default()));
        rest = tail.get(len..).unwrap_or_default();
    }
    orders
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenantsync_domain::{Anchor, TenantId, Upn, UserAttributes, UserPatch};

    fn create(upn: &str, anchored: bool, manager: Option<ObjectId>) -> (ObjectId, WriteOp) {
        let id = ObjectId::new();
        let anchor = anchored.then(|| Anchor::new(TenantId::new(), ObjectId::new()));
        let new = NewUser { id, attrs: UserAttributes::new(Upn::parse(upn).unwrap()), manager: manager.map(UserRef::Id), anchor };
        (id, WriteOp::CreateUser(Box::new(new)))
    }

    proptest::proptest! {
        /// A run's order is that of its names lowered, equal names in their own order.
        #[test]
        fn a_run_is_ordered_as_its_names_lowered(names in proptest::collection::vec("[a-cA-C]{1,11}", 1..40)) {
            let run: Vec<WriteOp> = names.iter().map(|n| create(&format!("{n}@contoso.example"), true, None).1).collect();
            let mut want: Vec<usize> = (0..names.len()).collect();
            want.sort_by_key(|&i| names[i].to_ascii_lowercase());
            proptest::prop_assert_eq!(RunOrder::of(&run).order, want);
        }
    }

    #[test]
    fn each_run_of_creates_of_copies_is_ordered_by_upn_with_its_managers_found_in_the_run() {
        let (boss, b) = create("Zed@contoso.example", true, None);
        let (_, lone) = create("b@contoso.example", true, Some(ObjectId::new()));
        let (_, own) = create("c@contoso.example", false, None);
        let (first, c) = create("C@contoso.example", true, None);
        let (_, a) = create("a@contoso.example", true, Some(first));
        let (_, same) = create("c@contoso.example", true, Some(boss));
        let update = WriteOp::UpdateUser { id: ObjectId::new(), patch: UserPatch::default(), if_match: None };
        // Runs: [lone], then (an update and a create of an internal user break runs)
        // [c, a, same, b].
        let ops = vec![lone, update, own, c, a, same, b];
        let orders = create_orders(&ops);
        assert_eq!(orders.len(), 2);
        assert_eq!(orders[0], RunOrder { order: vec![0], managers: vec![None] });
        // a, then C and c in their own order (case-insensitive and stable), then Zed; a's
        // manager is the run's first create, the second c's is Zed (its last), and a
        // manager outside the run is left to the create's own lookup.
        assert_eq!(orders[1], RunOrder { order: vec![1, 0, 2, 3], managers: vec![None, Some(0), Some(3), None] });
        assert!(create_orders(&[]).is_empty());
    }
}
