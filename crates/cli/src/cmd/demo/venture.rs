//! The joint venture end to end (the seed's just-in-time topology): `joint-venture.toml`
//! applied to a store of its own whose clock the demo moves (the store's injected clock,
//! as the governance tests move theirs), so the demo's own store keeps true times. A
//! Litware employee requests Contoso's "Projects" package, the sponsor approves, the
//! guest appears with the group; Contoso's sponsor takes "Project tenant" and the arrow
//! into the project tenant provisions him; then the clock goes on: reminders, expiry and removal,
//! block, deletion 30 days later. Each step says what the outbox sent.
use super::seeds::{self, JOINT_VENTURE as SEED};
use crate::cmd::{Ctx, lookup};
use crate::failure::{CliCode, Context, Failure};
use crate::output::out;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use tenantsync_access::{AccessPackage, AssignmentPolicy, IsoDuration, RequestType};
use tenantsync_domain::{FixedClock, GroupAttributes, Mail, NewGroup, NewTenant, NewUser, ObjectId, Tenant, Upn};
use tenantsync_engine::Engine;
use tenantsync_governance::{Actor, Governance, Mailer, NewRequest, Subject};
use tenantsync_store::{ListQuery, Store};
use tenantsync_store_sqlite::SqliteStore;

/// The sponsor and the group the file names, which must exist before it is applied.
pub(super) const SPONSOR: &str = "sam.sponsor@contoso.example";
pub(super) const GROUP: &str = "Projects";
/// The package that assigns Contoso's members to its arrow into the project tenant.
const PROJECT_TENANT: &str = "Project tenant";
const REQUESTER: &str = "ann@litware.example";

/// A mailer that keeps what it is given: what the outbox sent, step by step.
#[derive(Default)]
struct Sent(Mutex<Vec<String>>);

#[async_trait::async_trait]
impl Mailer for Sent {
    async fn send(&self, to: &[String], subject: &str, _body: &str) -> Result<(), String> {
        if let Ok(mut v) = self.0.lock() {
            v.push(format!("to {}: {subject}", to.join(", ")));
        }
        Ok(())
    }
}

/// One step of the story.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Step {
    pub day: u64,
    pub what: String,
    pub sent: Vec<String>,
}

/// The sponsor and the Projects group in Contoso, made if missing (Contoso exists).
pub(super) async fn prerequisites(store: &dyn Store, contoso: &Tenant) -> Result<ObjectId, Failure> {
    let subject = || format!("tenant '{}'", contoso.initial_domain);
    let upn = Upn::parse(SPONSOR).about(subject)?;
    let sponsor = match store.find_user_by_upn(contoso.id, &upn).await.about(subject)? {
        Some(u) => u.id,
        None => {
            let mut new = NewUser::new(upn);
            new.attrs.display_name = Some("Sam Sponsor".into());
            store.create_user(contoso.id, new).await.about(subject)?.id
        }
    };
    if lookup::group_id(store, contoso, GROUP).await.is_err() {
        store.create_group(contoso.id, NewGroup::new(GroupAttributes::new(GROUP).about(subject)?)).await.about(subject)?;
    }
    Ok(sponsor)
}

async fn tenant(store: &dyn Store, name: &str, domain: &str) -> Result<Tenant, Failure> {
    let subject = || format!("tenant '{domain}'");
    store.create_tenant(NewTenant::new(name, domain).about(subject)?).await.about(subject)
}

/// The members of Contoso's Projects group, by UPN.
async fn members(store: &dyn Store, contoso: &Tenant, group: ObjectId) -> Result<Vec<String>, Failure> {
    let page = store.list_members(contoso.id, group, &ListQuery::default()).await.about(|| format!("group '{GROUP}'"))?;
    Ok(page.items.iter().map(|u| u.attrs.user_principal_name.to_string()).collect())
}

/// Records a step: what happened on `day`, and what the outbox sent for it.
async fn record(gov: &Governance, sent: &Sent, steps: &mut Vec<Step>, day: u64, what: String) -> Result<(), Failure> {
    gov.send_outbox(sent).await.about(String::new)?;
    let mine = sent.0.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default();
    steps.push(Step { day, what, sent: mine });
    Ok(())
}

/// Runs the joint venture in a throwaway store; returns its steps.
pub(super) async fn run() -> Result<Vec<Step>, Failure> {
    let dir = std::env::temp_dir().join(format!("tenantsync-venture-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let result = story(&dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn story(dir: &std::path::Path) -> Result<Vec<Step>, Failure> {
    // A fixed day: the story's 120 days end before the example's first quarterly access
    // review (2027-01-01), and read the same whenever the demo runs.
    let start: jiff::Timestamp = "2026-06-01T09:00:00Z".parse().unwrap_or_else(|_| jiff::Timestamp::now());
    let clock = Arc::new(FixedClock::new(start));
    let store = Arc::new(SqliteStore::open_with_clock(dir, clock.clone()).about(|| dir.display().to_string())?);
    let ctx = Ctx {
        store: store.clone(),
        sync: store.clone(),
        access: Some(store.clone()),
        connectors: store.clone(),
        console: store.clone(),
        secret_key_file: dir.join(".secret-key"),
        json: true,
    };
    let s: &dyn Store = store.as_ref();
    let contoso = tenant(s, "Contoso", "contoso.example").await?;
    let litware = tenant(s, "Litware", "litware.example").await?;
    let sponsor = prerequisites(s, &contoso).await?;
    let mut ann = NewUser::new(Upn::parse(REQUESTER).about(|| REQUESTER.to_owned())?);
    ann.attrs.display_name = Some("Ann Lee".into());
    ann.attrs.mail = Some(Mail::parse(REQUESTER).about(|| REQUESTER.to_owned())?);
    let ann = s.create_user(litware.id, ann).await.about(|| REQUESTER.to_owned())?.id;
    seeds::plan_and_apply(&ctx, &SEED).await?;
    let gov = Governance::new(store.clone());
    let group = lookup::group_id(s, &contoso, GROUP).await?;
    let (package, policy) = declared(&gov, &contoso, GROUP).await?;
    let sent = Sent::default();
    let mut steps = Vec::new();
    let subject = || format!("package '{}'", package.display_name);

    let ask = NewRequest {
        kind: RequestType::UserAdd,
        package: package.id,
        policy: policy.id,
        subject: Subject::TenantUser { tenant: litware.id, user: ann },
        start: None,
        end: None,
        answers: Vec::new(),
        justification: "Falcon project".into(),
    };
    let r = gov.submit(contoso.id, ask, Actor::Subject).await.about(subject)?;
    record(&gov, &sent, &mut steps, 0, format!("{REQUESTER} requests '{}': {}", package.display_name, crate::output::name(&r.state))).await?;
    let r = gov.decide(contoso.id, r.id, 0, sponsor, true, "welcome to the venture").await.about(subject)?;
    let guest = r.requestor.ok_or_else(|| Failure::cli(subject(), "delivered to no one", CliCode::InvalidTopology))?;
    let guest_upn = s.get_user(contoso.id, guest).await.about(subject)?.attrs.user_principal_name.to_string();
    let in_group = members(s, &contoso, group).await?;
    record(&gov, &sent, &mut steps, 0, format!("{SPONSOR} approves: {}; guest {guest_upn} in {GROUP}: {in_group:?}", crate::output::name(&r.state))).await?;
    // Contoso's own sponsor asks for "Project tenant" (members, no approval): the package
    // assigns him to Contoso's arrow into its project tenant, whose next cycle provisions him.
    let (tenant_package, members_policy) = declared(&gov, &contoso, PROJECT_TENANT).await?;
    let config = ctx.sync.list_sync_configurations().await.about(String::new)?.into_iter().find(|c| c.source_tenant_id == contoso.id);
    if let Some(c) = config {
        let ask = NewRequest {
            kind: RequestType::UserAdd,
            package: tenant_package.id,
            policy: members_policy.id,
            subject: Subject::User(sponsor),
            start: None,
            end: None,
            answers: Vec::new(),
            justification: "work in the project tenant".into(),
        };
        let r = gov.submit(contoso.id, ask, Actor::Subject).await.about(|| format!("package '{PROJECT_TENANT}'"))?;
        let report = Engine::new(ctx.sync.clone()).run_cycle(c.id).await.about(|| "sync contoso.example:projects.contoso.example".to_owned())?;
        let what = format!(
            "{SPONSOR} requests '{PROJECT_TENANT}': {}; contoso.example -> projects.contoso.example provisions him: {} created",
            crate::output::name(&r.state),
            report.created
        );
        record(&gov, &sent, &mut steps, 0, what).await?;
    }
    for (day, what) in [(76, "reminder: 14 days left"), (89, "reminder: 1 day left"), (90, "the assignment expires")] {
        clock.set(IsoDuration::days(day).after(start));
        let report = gov.sweep().await.about(String::new)?;
        let user = s.get_user(contoso.id, guest).await.about(subject)?;
        let detail = if report.assignments_ended > 0 {
            format!(
                ": removed from {GROUP} ({:?}), sign-in {}",
                members(s, &contoso, group).await?,
                if user.attrs.account_enabled { "allowed" } else { "blocked" }
            )
        } else {
            String::new()
        };
        record(&gov, &sent, &mut steps, day, format!("{what} ({} reminders, {} ended){detail}", report.reminders, report.assignments_ended)).await?;
    }
    clock.set(IsoDuration::days(120).after(start));
    let report = gov.sweep().await.about(String::new)?;
    let deleted = s.get_user(contoso.id, guest).await.about(subject)?.is_deleted();
    record(
        &gov,
        &sent,
        &mut steps,
        120,
        format!("30 days after the block: {} guest deleted ({guest_upn}: {})", report.guests_deleted, if deleted { "soft-deleted" } else { "still there" }),
    )
    .await?;
    Ok(steps)
}

/// The package the file declares under `name`, and its first policy.
async fn declared(gov: &Governance, contoso: &Tenant, name: &str) -> Result<(AccessPackage, AssignmentPolicy), Failure> {
    let packages = gov.access_packages(contoso.id).await.about(String::new)?;
    let Some(package) = packages.into_iter().find(|p| p.display_name == name) else {
        return Err(Failure::cli(SEED.file, format!("declares no access package '{name}'"), CliCode::InvalidTopology));
    };
    let policy = gov.policies_of(contoso.id, package.id).await.about(String::new)?.into_iter().next();
    let Some(policy) = policy else { return Err(Failure::cli(SEED.file, format!("access package '{name}' has no policy"), CliCode::InvalidTopology)) };
    Ok((package, policy))
}

/// Prints the story.
pub(super) fn print(steps: &[Step]) {
    out!("the joint venture (examples/joint-venture.toml, in a store of its own whose clock the demo moves):");
    for s in steps {
        out!("  day {:>3}: {}", s.day, s.what);
        for m in &s.sent {
            out!("           outbox sent {m}");
        }
    }
}
