//! Test support for tenantsync's web console: a real headless Chromium driven over
//! WebDriver, with helpers that keep a test short and its failure readable, screenshots
//! kept as CI artefacts, an axe-core accessibility check run inside the page, and a
//! loopback SMTP sink to read the one-time codes the console mails.
//!
//! ```no_run
//! # async fn walk() -> Result<(), tenantsync_browser::BrowserError> {
//! use std::time::Duration;
//! use tenantsync_browser::{Browser, SmtpSink, Window};
//! let mail = SmtpSink::start().await?;
//! let browser = Browser::start().await?;              // chromedriver on a free port
//! let ann = browser.session(Window::Desktop).await?;  // her own Chromium and cookies
//! ann.goto("http://127.0.0.1:8080/").await?;
//! ann.fill("Email", "ann@litware.example").await?;    // by label text, aria-label, id or name
//! ann.click("Send me a code").await?;                 // button, link or submit by its text
//! let code = mail.wait_for("ann@litware.example", Duration::from_secs(10)).await?;
//! ann.wait_for_text("Enter the code", Duration::from_secs(5)).await?;
//! ann.screenshot("code-form").await?;                 // target/console-screenshots/<test>/01-code-form.png
//! ann.assert_accessible().await?;                     // no serious or critical axe violation
//! # let _ = code; Ok(()) }
//! ```
//!
//! **What runs.** Debian's `chromium` and `chromium-driver` and axe-core 4 from npm, installed
//! by `.ci/chromium install` (which `.ci/run` calls, and [`Browser::start`] calls on first use
//! when something is missing, as the LDAP tests do with `.ci/slapd`). Each [`Browser`] runs its
//! own `chromedriver` on a free loopback port in its own process group; each [`Page`] is one
//! Chromium with its own profile directory, so two sessions (an approver and a requestor) never
//! share cookies. Dropping the [`Browser`] kills the group: no chromedriver or Chromium is left.
//!
//! **Why fantoccini.** It is the smaller of the two well-kept Rust WebDriver clients: it speaks
//! WebDriver over hyper (already in the workspace under axum and reqwest) and, without its
//! default features, needs no TLS stack at all — chromedriver listens on plain HTTP on
//! loopback — so it brings neither openssl nor a second rustls configuration, and no database
//! crate (so no second `libsqlite3-sys`). thirtyfour builds on reqwest with its own feature
//! set and more dependencies for the same WebDriver commands.
//!
//! **Screenshots** are written to `<target dir>/console-screenshots/<test name>/<NN-name>.png`
//! (`<target dir>` is `CARGO_TARGET_DIR` or the workspace's `target`; the test name is the
//! test thread's name, which libtest sets to the test's path); CI keeps that folder as its
//! artefact. A test's folder is emptied when its first [`Browser`] starts.
mod axe;
mod certs;
mod driver;
mod error;
mod find;
mod install;
mod page;
mod smtp;

pub use axe::{AxeNode, Impact, Violation};
pub use certs::{TestCertificate, test_certificate};
pub use driver::{Browser, Window};
pub use error::BrowserError;
pub use install::{Tools, screenshot_root, target_dir, tools};
pub use page::{Cookie, Page};
pub use smtp::{Message, SmtpSink};
