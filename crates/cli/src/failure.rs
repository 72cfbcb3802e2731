//! The one-line failures of the CLI: what failed (the object, or file and line), why, and
//! the stable code.
use std::fmt;
use tenantsync_domain::DomainError;
use tenantsync_engine::EngineError;
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

    /// An error of ours (store, domain, engine, expression, import) about `subject`.
    pub fn coded(subject: impl Into<String>, e: &impl Coded) -> Self {
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

/// An error that carries a stable code: what a [`Failure`] is made from.
pub trait Coded: fmt::Display {
    fn code(&self) -> &'static str;
}

impl Coded for StoreError {
    fn code(&self) -> &'static str {
        StoreError::code(self)
    }
}

impl Coded for DomainError {
    fn code(&self) -> &'static str {
        DomainError::code(self)
    }
}

impl Coded for EngineError {
    fn code(&self) -> &'static str {
        EngineError::code(self)
    }
}

impl Coded for tenantsync_expression::Error {
    fn code(&self) -> &'static str {
        tenantsync_expression::Error::code(self)
    }
}

/// Adds a subject to the errors with a stable code.
pub trait Context<T> {
    fn about(self, subject: impl FnOnce() -> String) -> Result<T, Failure>;
}

impl<T, E: Coded> Context<T> for Result<T, E> {
    fn about(self, subject: impl FnOnce() -> String) -> Result<T, Failure> {
        self.map_err(|e| Failure::coded(subject(), &e))
    }
}
