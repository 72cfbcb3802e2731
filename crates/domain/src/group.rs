//! Groups: security groups with direct user members.
use crate::attributes::{AttrValue, AttributeChange, GroupAttribute};
use crate::user::check_text;
use crate::{Anchor, DomainError, ObjectId, Origin, TenantId, Version};
use jiff::Timestamp;
use serde::Serialize;

/// The writable attributes of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupAttributes {
    pub display_name: String,
    pub description: Option<String>,
    pub mail_nickname: Option<String>,
    pub security_enabled: bool,
    /// An identifier the provisioning client assigned (SCIM `externalId`); case-exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

impl GroupAttributes {
    pub fn new(display_name: &str) -> Result<Self, DomainError> {
        let display_name = check_text("displayName", display_name.to_owned(), 256)?.ok_or(DomainError::InvalidDisplayName { reason: "it is empty" })?;
        Ok(Self { display_name, description: None, mail_nickname: None, security_enabled: true, external_id: None })
    }

    pub fn get(&self, a: GroupAttribute) -> AttrValue {
        match a {
            GroupAttribute::DisplayName => AttrValue::String(self.display_name.clone()),
            GroupAttribute::Description => AttrValue::from_opt(self.description.as_ref()),
            GroupAttribute::MailNickname => AttrValue::from_opt(self.mail_nickname.as_ref()),
            GroupAttribute::SecurityEnabled => AttrValue::Bool(self.security_enabled),
            GroupAttribute::ExternalId => AttrValue::from_opt(self.external_id.as_ref()),
        }
    }

    pub fn set(&mut self, a: GroupAttribute, value: AttrValue) -> Result<(), DomainError> {
        let bad = |reason: &str| DomainError::InvalidAttributeValue { name: a.name().into(), reason: reason.into() };
        match (a, value) {
            (GroupAttribute::DisplayName, AttrValue::String(s)) => {
                self.display_name = check_text("displayName", s, 256)?.ok_or(DomainError::InvalidDisplayName { reason: "it is empty" })?;
            }
            (GroupAttribute::DisplayName, _) => return Err(DomainError::InvalidDisplayName { reason: "it must be a non-empty string" }),
            (GroupAttribute::Description, AttrValue::Null) => self.description = None,
            (GroupAttribute::Description, AttrValue::String(s)) => self.description = check_text("description", s, 1024)?,
            (GroupAttribute::MailNickname, AttrValue::Null) => self.mail_nickname = None,
            (GroupAttribute::MailNickname, AttrValue::String(s)) => {
                if s.chars().any(|c| c.is_whitespace() || "@()\\[]\";:<>,".contains(c)) || !s.is_ascii() {
                    return Err(bad("must be ASCII without spaces or @ ( ) \\ [ ] \" ; : < > ,"));
                }
                self.mail_nickname = check_text("mailNickname", s, 64)?;
            }
            (GroupAttribute::ExternalId, AttrValue::Null) => self.external_id = None,
            (GroupAttribute::ExternalId, AttrValue::String(s)) => self.external_id = check_text("externalId", s, 256)?,
            (GroupAttribute::SecurityEnabled, AttrValue::Bool(b)) => self.security_enabled = b,
            (GroupAttribute::SecurityEnabled, AttrValue::String(s)) => {
                self.security_enabled = match s.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" => true,
                    "false" | "0" | "no" => false,
                    _ => return Err(bad("must be true or false")),
                }
            }
            (_, _) => return Err(bad("has a value of the wrong type")),
        }
        Ok(())
    }

    /// Applies a patch and returns the attributes that really changed.
    pub fn apply(&mut self, patch: &GroupPatch) -> Result<Vec<AttributeChange>, DomainError> {
        let mut next = self.clone();
        for (a, v) in &patch.set {
            next.set(*a, v.clone())?;
        }
        let mut changes = Vec::new();
        for a in GroupAttribute::ALL {
            let (old, new) = (self.get(*a), next.get(*a));
            if old != new {
                changes.push(AttributeChange { name: a.name().to_owned(), old, new });
            }
        }
        *self = next;
        Ok(changes)
    }
}

/// A group about to be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGroup {
    pub id: ObjectId,
    pub attrs: GroupAttributes,
    pub anchor: Option<Anchor>,
}

impl NewGroup {
    pub fn new(attrs: GroupAttributes) -> Self {
        Self { id: ObjectId::new(), attrs, anchor: None }
    }
}

/// Attributes to set on a group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupPatch {
    pub set: Vec<(GroupAttribute, AttrValue)>,
}

impl GroupPatch {
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, AttrValue)>) -> Result<Self, DomainError> {
        let mut set = Vec::new();
        let mut probe = GroupAttributes::new("probe")?;
        for (name, value) in pairs {
            let a = GroupAttribute::parse(name)?;
            probe.set(a, value.clone())?;
            set.push((a, value));
        }
        Ok(Self { set })
    }
}

/// A group as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: ObjectId,
    pub tenant_id: TenantId,
    #[serde(flatten)]
    pub attrs: GroupAttributes,
    pub origin: Origin,
    pub anchor: Option<Anchor>,
    pub version: Version,
    pub created_date_time: Timestamp,
    pub last_modified_date_time: Timestamp,
    pub deleted_date_time: Option<Timestamp>,
}

impl Group {
    pub fn is_deleted(&self) -> bool {
        self.deleted_date_time.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_patch_validates() {
        assert_eq!(GroupPatch::from_pairs([("displayName", AttrValue::String(String::new()))]).unwrap_err().code(), "invalid_display_name");
        assert_eq!(GroupPatch::from_pairs([("members", AttrValue::Null)]).unwrap_err().code(), "unknown_attribute");
        assert_eq!(GroupPatch::from_pairs([("id", AttrValue::Null)]).unwrap_err().code(), "read_only_attribute");
        let mut g = GroupAttributes::new("Sales").unwrap();
        let changes = g.apply(&GroupPatch::from_pairs([("description", AttrValue::String("All sales".into()))]).unwrap()).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].name, "description");
    }
}
