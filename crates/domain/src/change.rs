//! The change feed: a per-tenant, strictly ordered log of every directory write.
use crate::{AttributeChange, ObjectId, TenantId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Users or groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    User,
    Group,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::User => "user",
            ObjectKind::Group => "group",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ChangeOp {
    /// The object came into existence; its attributes are the object's own.
    Create,
    /// Attributes changed; the change lists each, old → new.
    Update,
    SoftDelete,
    Restore,
    /// The object is gone for good (deleted, or purged after its retention).
    HardDelete,
    /// A user became a direct member of a group (the change's object is the group).
    MemberAdd,
    /// A user stopped being a direct member of a group.
    MemberRemove,
}

impl ChangeOp {
    pub const ALL: [ChangeOp; 7] =
        [ChangeOp::Create, ChangeOp::Update, ChangeOp::SoftDelete, ChangeOp::Restore, ChangeOp::HardDelete, ChangeOp::MemberAdd, ChangeOp::MemberRemove];

    /// Stable small integer, as stores persist it.
    pub fn code(self) -> u8 {
        match self {
            ChangeOp::Create => 1,
            ChangeOp::Update => 2,
            ChangeOp::SoftDelete => 3,
            ChangeOp::Restore => 4,
            ChangeOp::HardDelete => 5,
            ChangeOp::MemberAdd => 6,
            ChangeOp::MemberRemove => 7,
        }
    }

    pub fn from_code(code: u8) -> Option<ChangeOp> {
        Self::ALL.into_iter().find(|op| op.code() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Create => "create",
            ChangeOp::Update => "update",
            ChangeOp::SoftDelete => "softDelete",
            ChangeOp::Restore => "restore",
            ChangeOp::HardDelete => "hardDelete",
            ChangeOp::MemberAdd => "memberAdd",
            ChangeOp::MemberRemove => "memberRemove",
        }
    }
}

impl fmt::Display for ChangeOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A position in a tenant's change feed: the sequence number of the last change seen.
/// `ChangeCursor::START` (0) is before the first change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChangeCursor(pub u64);

impl ChangeCursor {
    pub const START: ChangeCursor = ChangeCursor(0);
}

impl fmt::Display for ChangeCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ChangeCursor {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(ChangeCursor)
    }
}

/// One entry of a tenant's change feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Strictly increasing within the tenant, without gaps; starts at 1.
    pub seq: u64,
    pub tenant_id: TenantId,
    pub at: Timestamp,
    pub object_kind: ObjectKind,
    pub object_id: ObjectId,
    pub op: ChangeOp,
    /// For membership changes: the member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_id: Option<ObjectId>,
    /// For updates: each changed attribute, old → new.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<AttributeChange>,
}

impl Change {
    pub fn cursor(&self) -> ChangeCursor {
        ChangeCursor(self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_codes_round_trip() {
        for op in ChangeOp::ALL {
            assert_eq!(ChangeOp::from_code(op.code()), Some(op));
        }
        assert_eq!(ChangeOp::from_code(0), None);
    }
}
