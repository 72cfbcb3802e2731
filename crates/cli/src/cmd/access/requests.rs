//! Requests and approvals as the people involved make them, the lists an admin reads,
//! and the sweep.
use super::define::{package_named, policy_named};
use crate::cmd::{Ctx, args, lookup};
use crate::failure::{CliCode, Context, Failure};
use crate::output;
use clap::Args;
use tenantsync_access::{Answer, Request, RequestId, RequestType};
use tenantsync_domain::{Mail, Tenant};
use tenantsync_governance::{Actor, Governance, NewRequest, Subject};
use tenantsync_store::{AssignmentFilter, RequestFilter};

#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The tenant that holds the package (id or initial domain).
    #[arg(long, short)]
    tenant: String,
    /// The access package (display name or id).
    #[arg(long)]
    package: String,
    /// The policy to request under (display name or id; needed when the package has several).
    #[arg(long)]
    policy: Option<String>,
    /// For a user of the tenant (userPrincipalName), a member or a guest.
    #[arg(long, conflicts_with_all = ["home_user", "email"])]
    user: Option<String>,
    /// For a user of another tenantsync tenant (userPrincipalName there; with --home-tenant).
    #[arg(long, requires = "home_tenant")]
    home_user: Option<String>,
    /// The home tenant of --home-user (id or initial domain).
    #[arg(long)]
    home_tenant: Option<String>,
    /// For someone outside tenantsync, by mail.
    #[arg(long)]
    email: Option<String>,
    /// Made by an administrator (a direct assignment), not by the person.
    #[arg(long)]
    admin: bool,
    /// Extend the assignment the person holds instead.
    #[arg(long, conflicts_with = "remove")]
    extend: bool,
    /// Give up (or, with --admin, remove) the assignment the person holds instead.
    #[arg(long)]
    remove: bool,
    /// When the assignment starts (a date or RFC 3339 time), if the policy lets the requestor choose.
    #[arg(long, value_parser = args::time)]
    start: Option<jiff::Timestamp>,
    /// When the assignment ends (a date or RFC 3339 time).
    #[arg(long, value_parser = args::time)]
    end: Option<jiff::Timestamp>,
    /// Why the access is needed.
    #[arg(long, default_value = "")]
    justification: String,
    /// An answer to a policy question, as QUESTION_ID=VALUE; repeat for several.
    #[arg(long = "answer", value_name = "ID=VALUE")]
    answers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The tenant (id or initial domain).
    #[arg(long, short)]
    tenant: String,
    /// The request's id.
    request: String,
    /// The approver deciding (userPrincipalName).
    #[arg(long = "as", value_name = "UPN")]
    approver: String,
    /// Deny instead of approving.
    #[arg(long)]
    deny: bool,
    /// Why.
    #[arg(long, default_value = "")]
    justification: String,
}

#[derive(Debug, Args)]
pub struct RequestIdArgs {
    /// The tenant (id or initial domain).
    #[arg(long, short)]
    tenant: String,
    /// The request's id.
    request: String,
}

#[derive(Debug, Args)]
pub struct ListRequestsArgs {
    /// The tenant (id or initial domain).
    #[arg(long, short)]
    tenant: String,
    /// Only those awaiting this approver's decision (userPrincipalName).
    #[arg(long, value_name = "UPN")]
    pending_for: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListAssignmentsArgs {
    /// The tenant (id or initial domain).
    #[arg(long, short)]
    tenant: String,
    /// Only this user's (userPrincipalName).
    #[arg(long, value_name = "UPN")]
    user: Option<String>,
}

#[derive(Debug, Args)]
pub struct OutboxArgs {
    /// The tenant (id or initial domain).
    #[arg(long, short)]
    tenant: String,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 50)]
    limit: u32,
}

fn request_id(s: &str) -> Result<RequestId, Failure> {
    s.parse::<RequestId>().map_err(|_| Failure::cli(format!("request '{s}'"), "expected a request id", CliCode::InvalidArgument))
}

fn print_request(ctx: &Ctx, verb: &str, r: &Request) {
    ctx.done(r, || {
        let stage = r.current_stage().map(|i| format!(", stage {} of {}", i + 1, r.stages.len())).unwrap_or_default();
        format!("{verb} request {}: {}{stage}", r.id, output::name(&r.state))
    });
}

async fn subject(ctx: &Ctx, t: &Tenant, a: &RequestArgs) -> Result<Subject, Failure> {
    match (&a.user, &a.home_user, &a.home_tenant, &a.email) {
        (Some(u), _, _, _) => Ok(Subject::User(lookup::user_id(ctx.store.as_ref(), t, u).await?)),
        (None, Some(u), Some(home), _) => {
            let home = lookup::tenant(ctx.store.as_ref(), home).await?;
            Ok(Subject::TenantUser { tenant: home.id, user: lookup::user_id(ctx.store.as_ref(), &home, u).await? })
        }
        (None, None, _, Some(m)) => Ok(Subject::Email(Mail::parse(m).about(|| format!("mail '{m}'"))?)),
        _ => Err(Failure::cli("access request", "name who it is for: --user, --home-user with --home-tenant, or --email", CliCode::InvalidArgument)),
    }
}

pub(super) async fn request(ctx: &Ctx, gov: &Governance, a: RequestArgs) -> Result<(), Failure> {
    let t = lookup::tenant(ctx.store.as_ref(), &a.tenant).await?;
    let package = package_named(gov, &t, &a.package).await?;
    let policy = policy_named(gov, &t, &package, a.policy.as_deref()).await?;
    let who = subject(ctx, &t, &a).await?;
    let mut answers = Vec::new();
    for pair in &a.answers {
        let (id, value) =
            pair.split_once('=').ok_or_else(|| Failure::cli(format!("--answer '{pair}'"), "expected QUESTION_ID=VALUE", CliCode::InvalidArgument))?;
        answers.push(Answer { question_id: id.trim().into(), value: value.into() });
    }
    let kind = if a.remove {
        RequestType::UserRemove
    } else if a.extend {
        RequestType::UserUpdate
    } else {
        RequestType::UserAdd
    };
    let new =
        NewRequest { kind, package: package.id, policy: policy.id, subject: who, start: a.start, end: a.end, answers, justification: a.justification.clone() };
    let actor = if a.admin { Actor::Admin } else { Actor::Subject };
    let r = gov.submit(t.id, new, actor).await.about(|| format!("access package '{}'", package.display_name))?;
    print_request(ctx, "submitted", &r);
    Ok(())
}

pub(super) async fn approve(ctx: &Ctx, gov: &Governance, a: ApproveArgs) -> Result<(), Failure> {
    let t = lookup::tenant(ctx.store.as_ref(), &a.tenant).await?;
    let id = request_id(&a.request)?;
    let approver = lookup::user_id(ctx.store.as_ref(), &t, &a.approver).await?;
    let subject = || format!("request '{}'", a.request);
    let current = gov.request(t.id, id).await.about(subject)?.value;
    let stage = current.current_stage().unwrap_or(0);
    let r = gov.decide(t.id, id, stage, approver, !a.deny, &a.justification).await.about(subject)?;
    print_request(ctx, if a.deny { "denied" } else { "approved" }, &r);
    Ok(())
}

pub(super) async fn cancel(ctx: &Ctx, gov: &Governance, a: RequestIdArgs) -> Result<(), Failure> {
    let t = lookup::tenant(ctx.store.as_ref(), &a.tenant).await?;
    let r = gov.cancel(t.id, request_id(&a.request)?).await.about(|| format!("request '{}'", a.request))?;
    print_request(ctx, "canceled", &r);
    Ok(())
}

pub(super) async fn list_requests(ctx: &Ctx, gov: &Governance, a: ListRequestsArgs) -> Result<(), Failure> {
    let t = lookup::tenant(ctx.store.as_ref(), &a.tenant).await?;
    let subject = || format!("tenant '{}'", a.tenant);
    let all: Vec<Request> = match &a.pending_for {
        Some(u) => gov.pending_for(t.id, lookup::user_id(ctx.store.as_ref(), &t, u).await?).await.about(subject)?,
        None => gov.store().access_requests(t.id, RequestFilter::default()).await.about(subject)?.into_iter().map(|v| v.value).collect(),
    };
    if ctx.json {
        output::json(&serde_json::json!({ "value": all }));
    } else {
        let rows = all
            .iter()
            .map(|r| {
                vec![
                    r.id.to_string(),
                    output::name(&r.request_type),
                    output::name(&r.state),
                    r.requestor.map(|u| u.to_string()).unwrap_or_default(),
                    output::time(r.created_date_time),
                ]
            })
            .collect::<Vec<_>>();
        output::table(&["ID", "TYPE", "STATE", "REQUESTOR", "CREATED"], &rows);
    }
    Ok(())
}

pub(super) async fn list_assignments(ctx: &Ctx, gov: &Governance, a: ListAssignmentsArgs) -> Result<(), Failure> {
    let t = lookup::tenant(ctx.store.as_ref(), &a.tenant).await?;
    let target = match &a.user {
        Some(u) => Some(lookup::user_id(ctx.store.as_ref(), &t, u).await?),
        None => None,
    };
    let all =
        gov.store().access_assignments(t.id, AssignmentFilter { target, ..AssignmentFilter::default() }).await.about(|| format!("tenant '{}'", a.tenant))?;
    let all: Vec<_> = all.into_iter().map(|v| v.value).collect();
    if ctx.json {
        output::json(&serde_json::json!({ "value": all }));
    } else {
        let rows = all
            .iter()
            .map(|x| {
                vec![
                    x.id.to_string(),
                    x.target.to_string(),
                    output::name(&x.state),
                    x.schedule.end_date_time.map(output::time).unwrap_or_else(|| "never".into()),
                ]
            })
            .collect::<Vec<_>>();
        output::table(&["ID", "USER", "STATE", "ENDS"], &rows);
    }
    Ok(())
}

pub(super) async fn outbox(ctx: &Ctx, gov: &Governance, a: OutboxArgs) -> Result<(), Failure> {
    let t = lookup::tenant(ctx.store.as_ref(), &a.tenant).await?;
    let all = gov.store().outbox(t.id, a.limit.max(1)).await.about(|| format!("tenant '{}'", a.tenant))?;
    if ctx.json {
        output::json(&serde_json::json!({ "value": all }));
    } else {
        let rows = all
            .iter()
            .map(|m| {
                let to: Vec<String> = m.recipients.iter().map(ToString::to_string).chain(m.addresses.iter().cloned()).collect();
                vec![output::time(m.created), m.event.clone(), to.join(" "), m.subject.clone()]
            })
            .collect::<Vec<_>>();
        output::table(&["CREATED", "EVENT", "TO", "SUBJECT"], &rows);
    }
    Ok(())
}

pub(super) async fn sweep(ctx: &Ctx, gov: &Governance) -> Result<(), Failure> {
    let r = gov.sweep().await.about(|| "access sweep".to_owned())?;
    let view = serde_json::json!({
        "requests": r.requests,
        "reminders": r.reminders,
        "assignmentsEnded": r.assignments_ended,
        "guestsDeleted": r.guests_deleted,
        "reviewsOpened": r.reviews_opened,
        "reviewsClosed": r.reviews_closed,
        "autoAssigned": r.auto_assigned,
        "autoRemoved": r.auto_removed,
    });
    ctx.done(&view, || {
        format!(
            "{} requests, {} reminders, {} assignments ended, {} guests deleted, {} reviews opened, {} closed, {} auto-assigned, {} auto-removed",
            r.requests, r.reminders, r.assignments_ended, r.guests_deleted, r.reviews_opened, r.reviews_closed, r.auto_assigned, r.auto_removed
        )
    });
    Ok(())
}
