//! One error type whose `Debug` is its message, so that a test's `.unwrap()` prints a
//! sentence saying what was looked for and where, not a nested struct.
use thiserror::Error;

/// What went wrong in the browser, the driver, the install or the SMTP sink.
#[derive(Error)]
pub enum BrowserError {
    /// `.ci/chromium install` failed or printed no paths.
    #[error("installing chromium, chromium-driver and axe-core (.ci/chromium install): {0}")]
    Install(String),
    /// chromedriver did not start or answer `/status`.
    #[error("chromedriver: {0}")]
    Driver(String),
    /// A WebDriver command failed.
    #[error("{action}: {source}")]
    WebDriver { action: String, source: Box<fantoccini::error::CmdError> },
    /// A session could not be opened.
    #[error("opening a Chromium session: {0}")]
    Session(Box<fantoccini::error::NewSessionError>),
    /// What a test looked for is not on the page.
    #[error("{what} on {url}{hint}")]
    NotFound { what: String, url: String, hint: String },
    /// A wait ran out.
    #[error("waited {waited_ms} ms for {what} on {url}; the page says: {text}")]
    Timeout { what: String, url: String, waited_ms: u128, text: String },
    /// axe found serious or critical violations.
    #[error("{url} has accessibility violations:\n{report}")]
    Inaccessible { url: String, report: String },
    /// A file (a screenshot) could not be written, or a socket opened.
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    /// Something answered in a shape this crate does not expect.
    #[error("{0}")]
    Unexpected(String),
}

impl std::fmt::Debug for BrowserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl From<fantoccini::error::NewSessionError> for BrowserError {
    fn from(e: fantoccini::error::NewSessionError) -> BrowserError {
        BrowserError::Session(Box::new(e))
    }
}

impl BrowserError {
    pub(crate) fn webdriver(action: impl Into<String>) -> impl FnOnce(fantoccini::error::CmdError) -> BrowserError {
        let action = action.into();
        move |source| BrowserError::WebDriver { action, source: Box::new(source) }
    }

    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BrowserError {
        let what = what.into();
        move |source| BrowserError::Io { what, source }
    }
}
