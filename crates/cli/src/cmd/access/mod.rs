//! `tenantsync access`: entitlement management for admins (connected organizations,
//! catalogs, access packages, policies), requests and approvals, and the sweep that
//! `serve` runs on its own.
mod define;
mod requests;
mod reviews;

use super::Ctx;
use crate::failure::{CliCode, Failure};
use clap::{Subcommand, ValueEnum};
use tenantsync_governance::Governance;

#[derive(Debug, Subcommand)]
pub enum AccessCmd {
    /// Connected organizations: partner organizations whose people may request access packages.
    #[command(subcommand)]
    Org(define::OrgCmd),
    /// Catalogs: containers of access packages.
    #[command(subcommand)]
    Catalog(define::CatalogCmd),
    /// Access packages: the resource roles people request together.
    #[command(subcommand)]
    Package(define::PackageCmd),
    /// Assignment policies: who may request a package, approved by whom, for how long.
    #[command(subcommand)]
    Policy(define::PolicyCmd),
    /// Set and show what happens to a guest whose last assignment ended.
    Settings(define::SettingsArgs),
    /// Request a package (for oneself, or as an admin for someone), extend or give it up.
    Request(requests::RequestArgs),
    /// Approve or deny the current stage of a request, as one of its approvers.
    Approve(requests::ApproveArgs),
    /// Cancel a request not delivered yet.
    Cancel(requests::RequestIdArgs),
    /// List a tenant's requests (or those awaiting someone's decision).
    Requests(requests::ListRequestsArgs),
    /// List a tenant's assignments (or a user's).
    Assignments(requests::ListAssignmentsArgs),
    /// Show the notifications a tenant's outbox holds, newest first.
    Outbox(requests::OutboxArgs),
    /// Deliver again a request whose delivery failed, or grant an assignment's roles again.
    Reprocess(reviews::ReprocessArgs),
    /// Access reviews: the items to decide, and reviewers' decisions.
    #[command(subcommand)]
    Review(reviews::ReviewCmd),
    /// Do what the clock made due now: escalations, automatic denials, reminders, expiries, guest deletions, auto-assignment.
    Sweep,
}

/// What happens to a governed guest whose last assignment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lifecycle {
    /// Nothing: the guest stays.
    None,
    /// Block their sign-in.
    Block,
    /// Block their sign-in, and delete them after the delay.
    BlockAndDelete,
}

impl Lifecycle {
    fn action(self) -> tenantsync_access::LifecycleAction {
        match self {
            Lifecycle::None => tenantsync_access::LifecycleAction::None,
            Lifecycle::Block => tenantsync_access::LifecycleAction::BlockSignIn,
            Lifecycle::BlockAndDelete => tenantsync_access::LifecycleAction::BlockSignInAndDelete,
        }
    }
}

fn governance(ctx: &Ctx) -> Result<Governance, Failure> {
    let store = ctx.access.clone().ok_or_else(|| Failure::cli("access", "this store does not keep entitlement management", CliCode::InvalidArgument))?;
    Ok(Governance::new(store))
}

pub async fn run(ctx: &Ctx, cmd: AccessCmd) -> Result<(), Failure> {
    let gov = governance(ctx)?;
    match cmd {
        AccessCmd::Org(c) => define::org(ctx, &gov, c).await,
        AccessCmd::Catalog(c) => define::catalog(ctx, &gov, c).await,
        AccessCmd::Package(c) => define::package(ctx, &gov, c).await,
        AccessCmd::Policy(c) => define::policy(ctx, &gov, c).await,
        AccessCmd::Settings(a) => define::settings(ctx, &gov, a).await,
        AccessCmd::Request(a) => requests::request(ctx, &gov, a).await,
        AccessCmd::Approve(a) => requests::approve(ctx, &gov, a).await,
        AccessCmd::Cancel(a) => requests::cancel(ctx, &gov, a).await,
        AccessCmd::Requests(a) => requests::list_requests(ctx, &gov, a).await,
        AccessCmd::Assignments(a) => requests::list_assignments(ctx, &gov, a).await,
        AccessCmd::Outbox(a) => requests::outbox(ctx, &gov, a).await,
        AccessCmd::Reprocess(a) => reviews::reprocess(ctx, &gov, a).await,
        AccessCmd::Review(c) => reviews::review(ctx, &gov, c).await,
        AccessCmd::Sweep => requests::sweep(ctx, &gov).await,
    }
}
