//! The web console at `/`: server-rendered pages for administrators (overview, users and
//! groups, sync configurations with provision on demand, provisioning logs, the audit
//! log) and for people (My Access: the packages they may request, their requests, the
//! approvals waiting for them). Like the admin API it has no business logic of its own:
//! it reads the store, runs the engine and governance, and renders HTML (maud: templates
//! are Rust, checked when the crate compiles, and every value is escaped).
//!
//! - `session`: cookies, sessions kept in the store ([`ConsoleStore`]), timeouts, CSRF;
//! - `page`: the layout, the stylesheet, the error page;
//! - `signin`: an admin token, or a one-time code mailed to a person;
//! - `admin`: overview, users, groups; `sync`: configurations, logs, audit;
//! - `my`: My Access, approvals, assignments and their extension; `reviews`: access
//!   reviews for reviewers;
//! - `packages`, `package_edit`, `policies` (with `policy_form` and `policy_read`):
//!   entitlement management's definitions;
//! - `topology`: the drawing of the tenant's arrows, with `live` counts pushed by
//!   server-sent events from one hub per console.
//!
//! Every asset is in the binary (one stylesheet; one small script, for the topology
//! page's live counts): nothing is fetched from elsewhere, and the
//! `Content-Security-Policy` says so.
mod access;
mod admin;
mod kit;
mod live;
mod my;
mod package_edit;
mod packages;
mod page;
mod policies;
mod policy_form;
mod policy_read;
mod reviews;
mod session;
mod signin;
mod sync;
mod sync_edit;
mod tenants;
mod tokens;
mod topology;

pub use session::SESSION_COOKIE;

use crate::graph::error::{GraphCode, GraphError};
use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;
use std::time::Duration;
use tenantsync_engine::Engine;
use tenantsync_governance::{Governance, Mailer};
use tenantsync_store::{ConsoleStore, SyncStore};

/// How the console runs.
#[derive(Clone)]
pub struct ConsoleConfig {
    /// Where sessions and sign-in codes are kept (the server's store).
    pub store: Arc<dyn ConsoleStore>,
    /// A session unused this long ends (default 30 minutes).
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, used or not (default 8 hours).
    pub absolute_timeout: Duration,
    /// Cookies carry `Secure` (the server is reached over HTTPS).
    pub secure_cookies: bool,
    /// Sends one-time sign-in codes; without it people cannot sign in by mail.
    pub mailer: Option<Arc<dyn Mailer>>,
}

impl ConsoleConfig {
    /// The defaults over `store`: 30 minutes idle, 8 hours at most, no `Secure`, no mail.
    pub fn new(store: Arc<dyn ConsoleStore>) -> ConsoleConfig {
        ConsoleConfig {
            store,
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(8 * 3600),
            secure_cookies: false,
            mailer: None,
        }
    }
}

impl std::fmt::Debug for ConsoleConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleConfig")
            .field("idle_timeout", &self.idle_timeout)
            .field("absolute_timeout", &self.absolute_timeout)
            .field("secure_cookies", &self.secure_cookies)
            .field("mailer", &self.mailer.is_some())
            .finish_non_exhaustive()
    }
}

/// What every console handler shares.
pub(crate) struct ConsoleState {
    pub store: Arc<dyn SyncStore>,
    pub engine: Engine,
    pub gov: Option<Governance>,
    pub config: ConsoleConfig,
    /// The topology page's live counts, one reading shared by every listener.
    pub hub: Arc<live::Hub>,
}

pub(crate) type Shared = Arc<ConsoleState>;

/// A console answer that failed: an error of the one table (shown as a page with its
/// status), a request for sign-in, or a refused form.
#[derive(Debug)]
pub(crate) enum ConsoleError {
    Graph(GraphError),
    /// No session, or an expired one: to the sign-in page, then back to `next`.
    SignIn {
        next: String,
        expired: bool,
    },
}

macro_rules! from_errors {
    ($($t:ty),*) => {
        $(impl From<$t> for ConsoleError {
            fn from(e: $t) -> ConsoleError {
                ConsoleError::Graph(e.into())
            }
        })*
    };
}

from_errors!(GraphError, tenantsync_store::StoreError, tenantsync_governance::GovernanceError, tenantsync_engine::EngineError, tenantsync_domain::DomainError);

impl ConsoleError {
    pub fn forbidden(message: impl Into<String>) -> ConsoleError {
        ConsoleError::Graph(GraphError::new(GraphCode::Forbidden, message))
    }

    pub fn bad_request(message: impl Into<String>) -> ConsoleError {
        ConsoleError::Graph(GraphError::bad_request(message))
    }

    pub fn not_found(message: impl Into<String>) -> ConsoleError {
        ConsoleError::Graph(GraphError::not_found(message))
    }
}

impl axum::response::IntoResponse for ConsoleError {
    fn into_response(self) -> axum::response::Response {
        match self {
            ConsoleError::Graph(e) => page::error_page(&e),
            ConsoleError::SignIn { next, expired } => {
                let mut to = format!("/signin?next={}", page::encode(&next));
                if expired {
                    to.push_str("&expired=1");
                }
                page::see_other(&to)
            }
        }
    }
}

pub(crate) type ConsoleResult<T = axum::response::Response> = Result<T, ConsoleError>;

/// The console's routes, over the server's store.
pub fn router(store: Arc<dyn SyncStore>, access: Option<Governance>, config: ConsoleConfig) -> Router {
    let state = Arc::new(ConsoleState { engine: Engine::new(store.clone()), hub: Arc::new(live::Hub::new(store.clone())), store, gov: access, config });
    Router::new()
        .route("/", get(signin::home))
        .route("/console.css", get(page::stylesheet))
        .route("/signin", get(signin::form))
        .route("/signin/token", post(signin::with_token))
        .route("/signin/email", post(signin::with_email))
        .route("/signin/code", get(signin::code_form).post(signin::with_code))
        .route("/signout", post(signin::sign_out))
        .route("/admin", get(admin::overview))
        .route("/admin/users", get(admin::users))
        .route("/admin/groups", get(admin::groups))
        .route("/admin/sync", get(sync::list))
        .route("/admin/sync/new", get(sync::new_form).post(sync::create))
        .route("/admin/sync/{id}", get(sync::detail))
        .route("/admin/sync/{id}/scope", post(sync::set_scope))
        .route("/admin/sync/{id}/start", post(sync::start))
        .route("/admin/sync/{id}/pause", post(sync::pause))
        .route("/admin/sync/{id}/provision", post(sync::provision))
        .route("/admin/logs", get(sync::logs))
        .route("/admin/audit", get(sync::audit))
        .route("/my", get(my::packages))
        .route("/my/packages/{id}", get(my::package))
        .route("/my/packages/{id}/request", post(my::request))
        .route("/my/requests", get(my::requests))
        .route("/my/approvals", get(my::approvals))
        .route("/my/approvals/{id}", get(my::approval).post(my::decide))
        .merge(tenants::routes())
        .merge(tokens::routes())
        .merge(sync_edit::routes())
        .merge(access::routes())
        .merge(packages::routes())
        .merge(package_edit::routes())
        .merge(policies::routes())
        .merge(my::routes())
        .merge(topology::routes())
        .with_state(state)
}
