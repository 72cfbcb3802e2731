//! What a write transaction changes of its tenant's object counts (live and soft-deleted
//! users and groups), tallied as the writes happen and added to the tenant's row when the
//! transaction commits, as its change head is. Every store keeps counts this way.

use tenantsync_domain::ObjectKind;

/// Changes of a tenant's counts not yet written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountDeltas {
    pub users: i64,
    pub deleted_users: i64,
    pub groups: i64,
    pub deleted_groups: i64,
}

impl CountDeltas {
    fn add(&mut self, kind: ObjectKind, live: i64, deleted: i64) {
        let (l, d) = match kind {
            ObjectKind::User => (&mut self.users, &mut self.deleted_users),
            ObjectKind::Group => (&mut self.groups, &mut self.deleted_groups),
        };
        *l += live;
        *d += deleted;
    }

    pub fn created(&mut self, kind: ObjectKind) {
        self.add(kind, 1, 0);
    }

    pub fn soft_deleted(&mut self, kind: ObjectKind) {
        self.add(kind, -1, 1);
    }

    pub fn restored(&mut self, kind: ObjectKind) {
        self.add(kind, 1, -1);
    }

    /// `deleted`: whether the object was soft-deleted when it went.
    pub fn hard_deleted(&mut self, kind: ObjectKind, deleted: bool) {
        if deleted { self.add(kind, 0, -1) } else { self.add(kind, -1, 0) }
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        *self == CountDeltas::default()
    }
}
