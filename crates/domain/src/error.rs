use thiserror::Error;

/// Validation errors of the domain. Every variant has one stable [`code`](DomainError::code).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    #[error("invalid userPrincipalName '{value}': {reason}")]
    InvalidUpn { value: String, reason: &'static str },
    #[error("invalid mail '{value}': {reason}")]
    InvalidMail { value: String, reason: &'static str },
    #[error("invalid domain name '{value}': {reason}")]
    InvalidDomain { value: String, reason: &'static str },
    #[error("unknown attribute '{name}'")]
    UnknownAttribute { name: String },
    #[error("malformed extension attribute name '{name}': expected extension_<32 hex digits>_<name>")]
    MalformedExtensionName { name: String },
    #[error("attribute '{name}' {reason}")]
    InvalidAttributeValue { name: String, reason: String },
    #[error("attribute '{name}' is read-only")]
    ReadOnlyAttribute { name: String },
    #[error("attribute '{name}' is required")]
    MissingAttribute { name: String },
    #[error("invalid id '{value}': expected a UUID")]
    InvalidId { value: String },
    #[error("invalid anchor '{value}': expected <source tenant id>:<source object id>")]
    InvalidAnchor { value: String },
    #[error("invalid display name: {reason}")]
    InvalidDisplayName { reason: &'static str },
}

impl DomainError {
    /// The stable, documented code of this error (see docs/errors.md).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidUpn { .. } => "invalid_upn",
            Self::InvalidMail { .. } => "invalid_mail",
            Self::InvalidDomain { .. } => "invalid_domain",
            Self::UnknownAttribute { .. } => "unknown_attribute",
            Self::MalformedExtensionName { .. } => "malformed_attribute_name",
            Self::InvalidAttributeValue { .. } => "invalid_attribute_value",
            Self::ReadOnlyAttribute { .. } => "read_only_attribute",
            Self::MissingAttribute { .. } => "missing_attribute",
            Self::InvalidId { .. } => "invalid_id",
            Self::InvalidAnchor { .. } => "invalid_anchor",
            Self::InvalidDisplayName { .. } => "invalid_display_name",
        }
    }
}
