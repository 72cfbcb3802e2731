//! Attribute names and values, as they travel through imports, patches, mappings and the
//! change feed. JSON names are Microsoft Graph's.
use crate::{DomainError, ExtensionName};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A value of a directory attribute: absent (null), one string, a boolean, or several
/// strings (multi-valued extension attributes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(untagged)]
pub enum AttrValue {
    #[default]
    Null,
    Bool(bool),
    String(String),
    Strings(Vec<String>),
}

impl AttrValue {
    pub fn is_null(&self) -> bool {
        matches!(self, AttrValue::Null)
    }

    pub fn from_opt<T: ToString>(v: Option<T>) -> AttrValue {
        v.map_or(AttrValue::Null, |v| AttrValue::String(v.to_string()))
    }

    /// The value as one string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::String(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::Null => f.write_str("null"),
            AttrValue::Bool(b) => write!(f, "{b}"),
            AttrValue::String(s) => f.write_str(s),
            AttrValue::Strings(v) => write!(f, "[{}]", v.join(", ")),
        }
    }
}

macro_rules! attribute_enum {
    ($(#[$doc:meta])* $enum:ident { $($variant:ident => $json:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $enum { $($variant),+ }

        impl $enum {
            pub const ALL: &'static [$enum] = &[$($enum::$variant),+];

            /// The Microsoft Graph JSON name.
            pub fn name(self) -> &'static str {
                match self { $($enum::$variant => $json),+ }
            }

            /// Its position in [`Self::ALL`] (the order of declaration).
            pub fn index(self) -> usize {
                self as usize
            }

            /// The attribute of exactly this name (its case too), as fast as a `match`.
            pub fn exact(name: &str) -> Option<$enum> {
                match name { $($json => Some($enum::$variant),)+ _ => None }
            }

            /// Looks a name up, ignoring ASCII case (CSV headers are written by people).
            pub fn lookup(name: &str) -> Option<$enum> {
                Self::ALL.iter().copied().find(|a| a.name().eq_ignore_ascii_case(name))
            }
        }

        impl fmt::Display for $enum {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

attribute_enum!(
    /// The writable built-in attributes of a user.
    UserAttribute {
        UserPrincipalName => "userPrincipalName",
        Mail => "mail",
        DisplayName => "displayName",
        GivenName => "givenName",
        Surname => "surname",
        MailNickname => "mailNickname",
        AccountEnabled => "accountEnabled",
        UserType => "userType",
        Department => "department",
        JobTitle => "jobTitle",
        CompanyName => "companyName",
        EmployeeId => "employeeId",
        OfficeLocation => "officeLocation",
        StreetAddress => "streetAddress",
        City => "city",
        State => "state",
        PostalCode => "postalCode",
        Country => "country",
        UsageLocation => "usageLocation",
        PreferredLanguage => "preferredLanguage",
        TelephoneNumber => "telephoneNumber",
        MobilePhone => "mobilePhone",
        ShowInAddressList => "showInAddressList",
        ExternalId => "externalId",
        Manager => "manager",
    }
);

attribute_enum!(
    /// The writable attributes of a group.
    GroupAttribute {
        DisplayName => "displayName",
        Description => "description",
        MailNickname => "mailNickname",
        SecurityEnabled => "securityEnabled",
        ExternalId => "externalId",
    }
);

impl GroupAttribute {
    /// Parses a writable group attribute name. Errors: read-only names (`id`, `anchor`,
    /// …), unknown names.
    pub fn parse(name: &str) -> Result<Self, DomainError> {
        Self::lookup(name).ok_or_else(|| {
            if READ_ONLY.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                DomainError::ReadOnlyAttribute { name: name.to_owned() }
            } else {
                DomainError::UnknownAttribute { name: name.to_owned() }
            }
        })
    }
}

/// Names that exist on every object but are set by the directory itself.
pub(crate) const READ_ONLY: &[&str] = &["id", "createdDateTime", "deletedDateTime", "version", "origin", "anchor", "tenantId", "lastModifiedDateTime"];

/// A user attribute name: built-in or a directory extension.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UserAttrName {
    Builtin(UserAttribute),
    Extension(ExtensionName),
}

impl UserAttrName {
    /// Parses a writable attribute name. Errors: read-only names, malformed extension
    /// names, unknown names.
    pub fn parse(name: &str) -> Result<Self, DomainError> {
        if let Some(a) = UserAttribute::lookup(name) {
            return Ok(Self::Builtin(a));
        }
        if ExtensionName::looks_like(name) {
            return ExtensionName::parse(name).map(Self::Extension);
        }
        if READ_ONLY.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            return Err(DomainError::ReadOnlyAttribute { name: name.to_owned() });
        }
        Err(DomainError::UnknownAttribute { name: name.to_owned() })
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Builtin(a) => a.name(),
            Self::Extension(e) => e.as_str(),
        }
    }
}

impl fmt::Display for UserAttrName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One attribute's change, old → new, as the change feed records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeChange {
    pub name: String,
    pub old: AttrValue,
    pub new: AttrValue,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_case_insensitively() {
        assert_eq!(UserAttrName::parse("DisplayName").unwrap(), UserAttrName::Builtin(UserAttribute::DisplayName));
        assert_eq!(UserAttrName::parse("userprincipalname").unwrap(), UserAttrName::Builtin(UserAttribute::UserPrincipalName));
    }

    #[test]
    fn bad_names_say_why() {
        assert_eq!(UserAttrName::parse("id").unwrap_err().code(), "read_only_attribute");
        assert_eq!(UserAttrName::parse("favouriteColour").unwrap_err().code(), "unknown_attribute");
        assert_eq!(UserAttrName::parse("extension_12_x").unwrap_err().code(), "malformed_attribute_name");
    }

    #[test]
    fn values_serialize_untagged() {
        assert_eq!(serde_json::to_string(&AttrValue::Null).unwrap(), "null");
        assert_eq!(serde_json::to_string(&AttrValue::Strings(vec!["a".into()])).unwrap(), "[\"a\"]");
        let v: AttrValue = serde_json::from_str("true").unwrap();
        assert_eq!(v, AttrValue::Bool(true));
    }
}
