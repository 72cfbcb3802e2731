//! The one-line failures of the CLI: what failed (the object, or file and line), why, and
//! the stable code.
use std::fmt;
use tenantsync_domain::DomainError;
use tenantsync_store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What the failure is about: `tenant 'x'`, `user 'alice@…'`, `users.csv:17`, …
    pub subject: String,
    pub message: String,
    pub code: &'static str,
}

impl Failure {
    pub fn new(subject: impl Into<String>, message: impl Into<String>, code: &'static str) -> Self {
        Self { subject: subject.into(), message: message.into(), code }
    }

    pub fn store(subject: impl Into<String>, e: StoreError) -> Self {
        Self::new(subject, e.to_string(), e.code())
    }

    pub fn domain(subject: impl Into<String>, e: DomainError) -> Self {
        Self::new(subject, e.to_string(), e.code())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the message holds.
        let message = self.message.replace('\n', " ");
        if self.subject.is_empty() { write!(f, "{message} [{}]", self.code) } else { write!(f, "{}: {message} [{}]", self.subject, self.code) }
    }
}

/// Adds a subject to store and domain errors.
pub trait Context<T> {
    fn about(self, subject: impl FnOnce() -> String) -> Result<T, Failure>;
}

impl<T> Context<T> for Result<T, StoreError> {
    fn about(self, subject: impl FnOnce() -> String) -> Result<T, Failure> {
        self.map_err(|e| Failure::store(subject(), e))
    }
}

impl<T> Context<T> for Result<T, DomainError> {
    fn about(self, subject: impl FnOnce() -> String) -> Result<T, Failure> {
        self.map_err(|e| Failure::domain(subject(), e))
    }
}
