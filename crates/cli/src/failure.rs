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

    /// A failure of the CLI itself (see [`CliCode`]).
    pub fn cli(subject: impl Into<String>, message: impl Into<String>, code: CliCode) -> Self {
        Self::new(subject, message, code.code())
    }

    /// An error of ours (store, domain, engine, expression, import) about `subject`.
    pub fn coded(subject: impl Into<String>, e: &impl Coded) -> Self {
        Self::new(subject, e.to_string(), e.code())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the subject and message hold: a value given with a newline
        // is shown escaped, as it was typed.
        let (subject, message) = (one_line(&self.subject), one_line(&self.message));
        if subject.is_empty() { write!(f, "{message} [{}]", self.code) } else { write!(f, "{subject}: {message} [{}]", self.code) }
    }
}

/// `text` with its control characters escaped (`\n`, `\t`, `\u{1b}`), so it prints on one
/// line.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The CLI's own failures (those of the crates keep their codes). A closed set: every
/// failure the CLI makes itself names one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CliCode {
    InvalidArgument,
    UnreadableFile,
    MalformedRow,
    LineTooLong,
    DuplicateColumn,
    ImportRejected,
    NotAssigned,
    NoRandomness,
    ListenFailed,
    ServeFailed,
    AmbiguousName,
    OutputFailed,
    TopologySyntax,
    UnknownTenant,
    DuplicateTenant,
    DuplicateArrow,
    InvalidTopology,
    ArrowNotAllowed,
    CannotRename,
}

tenantsync_domain::error_table! {
    CliCode {
        InvalidArgument => "invalid_argument", 400, "a command line tenantsync cannot read: an unknown command or option, a missing or malformed value (e.g. `--set` without `=`, `--batch-size 0`)";
        UnreadableFile => "unreadable_file", 400, "the file cannot be opened or read, or its format is unknown";
        MalformedRow => "malformed_row", 400, "a CSV row with the wrong number of fields, invalid UTF-8, or a JSON Lines line that is not an object";
        LineTooLong => "line_too_long", 400, "an import file's line (a CSV record, or a JSON Lines line) longer than 1 MiB: the import stops at it, and nothing of its unit is written";
        DuplicateColumn => "duplicate_column", 400, "a CSV header names an attribute twice";
        ImportRejected => "import_rejected", 400, "the summary line of an import with bad rows (each bad row is printed before it with its own code)";
        NotAssigned => "not_assigned", 404, "`sync unassign` of a user or group that is not assigned to the configuration";
        NoRandomness => "no_randomness", 500, "the operating system gave no random bytes for a token secret";
        ListenFailed => "listen_failed", 500, "`serve` cannot listen on the address it was given (in use, or not allowed)";
        ServeFailed => "serve_failed", 500, "the HTTP server or the sync jobs of `serve` stopped on an error";
        AmbiguousName => "ambiguous_name", 409, "a group named by a display name that several groups of the tenant have (the message lists their ids)";
        OutputFailed => "output_failed", 500, "standard output cannot be written (a reader that closed the pipe early is not a failure: the command ends quietly)";
        TopologySyntax => "topology_syntax", 400, "a topology file that is not TOML, or has an unknown key, a value of the wrong type or a missing field (the error names its line and column)";
        UnknownTenant => "unknown_tenant", 400, "a topology file names a tenant (by name or initial domain) that its `[[tenants]]` do not declare";
        DuplicateTenant => "duplicate_tenant", 400, "a topology file declares two tenants with the same initial domain or name";
        DuplicateArrow => "duplicate_arrow", 400, "a topology file declares the same source → target twice (two `[[sync]]` entries, or two templates), an arrow from a tenant to itself, or the same access settings twice";
        InvalidTopology => "invalid_topology", 400, "a topology file's setting that cannot be applied: a scoping filter that does not parse, a mapping with no or several sources, an `unmap` of a mapping that is not there, a retry or quarantine value out of range, an arrow assigning people of a tenant the same apply creates (a mapping that does not compile has the expression's own code)";
        ArrowNotAllowed => "arrow_not_allowed", 403, "`apply` would create an arrow that the access settings (as the file leaves them) do not allow: the target's inbound user sync or auto-redemption, or the source's outbound auto-redemption, is not on; nothing is applied";
        CannotRename => "cannot_rename", 409, "`apply` of a file naming an existing tenant (by its initial domain) differently: tenants cannot be renamed; nothing is applied";
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

impl Coded for tenantsync_governance::GovernanceError {
    fn code(&self) -> &'static str {
        tenantsync_governance::GovernanceError::code(self)
    }
}

impl Coded for tenantsync_connectors::ConnectorError {
    fn code(&self) -> &'static str {
        tenantsync_connectors::ConnectorError::code(self)
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
