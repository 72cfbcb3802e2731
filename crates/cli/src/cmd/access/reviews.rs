//! Access reviews from the command line (the items a reviewer decides, and their
//! decisions), and reprocess: a request whose delivery failed delivered again, or an
//! assignment's roles granted again.
use crate::cmd::{Ctx, lookup};
use crate::failure::{CliCode, Context, Failure};
use crate::output;
use clap::{Args, Subcommand, ValueEnum};
use tenantsync_access::{AssignmentId, RequestId, ReviewDecision, ReviewId};
use tenantsync_governance::Governance;

#[derive(Debug, Subcommand)]
pub enum ReviewCmd {
    /// List the access reviews' decision items (open reviews only, unless --all), or those a reviewer decides.
    List {
        /// The tenant (id or initial domain).
        #[arg(long, short)]
        tenant: String,
        /// Only the items this reviewer decides (userPrincipalName).
        #[arg(long, value_name = "UPN")]
        reviewer: Option<String>,
        /// Closed reviews too.
        #[arg(long)]
        all: bool,
    },
    /// Record a reviewer's decision on one item (the last decision before the review closes counts).
    Decide(DecideArgs),
}

/// A reviewer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Decision {
    /// Keep the access.
    Approve,
    /// Remove the access when the review closes.
    Deny,
    /// Keep the access; the reviewer does not know (recorded as such).
    DontKnow,
}

#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The tenant (id or initial domain).
    #[arg(long, short)]
    tenant: String,
    /// The review instance's id (from `access review list`).
    review: String,
    /// The assignment under review (the decision item's id).
    assignment: String,
    /// The reviewer deciding (userPrincipalName).
    #[arg(long = "as", value_name = "UPN")]
    reviewer: String,
    /// The decision.
    #[arg(long, value_enum)]
    decision: Decision,
    /// Why.
    #[arg(long, default_value = "")]
    justification: String,
}

#[derive(Debug, Args)]
pub struct ReprocessArgs {
    /// The tenant (id or initial domain).
    #[arg(long, short)]
    tenant: String,
    /// A request whose delivery failed (delivered again, within 7 days of the failure),
    /// or a current assignment (its roles granted again).
    id: String,
}

fn bad_id(what: &str, s: &str) -> Failure {
    Failure::cli(format!("{what} '{s}'"), format!("expected a {what} id"), CliCode::InvalidArgument)
}

pub(super) async fn review(ctx: &Ctx, gov: &Governance, cmd: ReviewCmd) -> Result<(), Failure> {
    match cmd {
        ReviewCmd::List { tenant, reviewer, all } => {
            let t = lookup::tenant(ctx.store.as_ref(), &tenant).await?;
            let reviewer = match &reviewer {
                Some(u) => Some(lookup::user_id(ctx.store.as_ref(), &t, u).await?),
                None => None,
            };
            let reviews = gov.reviews(t.id).await.about(|| format!("tenant '{tenant}'"))?;
            let mut items = Vec::new();
            for r in reviews.iter().filter(|r| all || r.status == tenantsync_access::ReviewStatus::InProgress) {
                for d in r.decisions.iter().filter(|d| reviewer.is_none_or(|u| d.reviewers.contains(&u))) {
                    items.push((r, d));
                }
            }
            if ctx.json {
                let value: Vec<serde_json::Value> = items
                    .iter()
                    .map(|(r, d)| {
                        let mut v = serde_json::to_value(d).unwrap_or_default();
                        if let Some(o) = v.as_object_mut() {
                            o.insert("reviewId".into(), serde_json::json!(r.id));
                            o.insert("accessPackageId".into(), serde_json::json!(r.access_package_id));
                            o.insert("status".into(), serde_json::json!(r.status));
                            o.insert("endDateTime".into(), serde_json::json!(r.end_date_time));
                        }
                        v
                    })
                    .collect();
                output::json(&serde_json::json!({ "value": value }));
            } else {
                let rows = items
                    .iter()
                    .map(|(r, d)| {
                        vec![
                            r.id.to_string(),
                            d.assignment_id.to_string(),
                            d.principal.to_string(),
                            output::name(&d.decision),
                            output::name(&d.recommendation),
                            output::time(r.end_date_time),
                        ]
                    })
                    .collect::<Vec<_>>();
                output::table(&["REVIEW", "ASSIGNMENT", "USER", "DECISION", "RECOMMENDATION", "ENDS"], &rows);
            }
            Ok(())
        }
        ReviewCmd::Decide(a) => {
            let t = lookup::tenant(ctx.store.as_ref(), &a.tenant).await?;
            let review: ReviewId = a.review.parse().map_err(|_| bad_id("review", &a.review))?;
            let assignment: AssignmentId = a.assignment.parse().map_err(|_| bad_id("assignment", &a.assignment))?;
            let reviewer = lookup::user_id(ctx.store.as_ref(), &t, &a.reviewer).await?;
            let decision = match a.decision {
                Decision::Approve => ReviewDecision::Approve,
                Decision::Deny => ReviewDecision::Deny,
                Decision::DontKnow => ReviewDecision::DontKnow,
            };
            let r = gov
                .review_decide(t.id, review, assignment, reviewer, decision, &a.justification)
                .await
                .about(|| format!("review '{}', assignment '{}'", a.review, a.assignment))?;
            let item = r.decisions.iter().find(|d| d.assignment_id == assignment);
            ctx.done(&item, || format!("recorded {} on assignment {assignment} in review {review}", output::name(&decision)));
            Ok(())
        }
    }
}

pub(super) async fn reprocess(ctx: &Ctx, gov: &Governance, a: ReprocessArgs) -> Result<(), Failure> {
    let t = lookup::tenant(ctx.store.as_ref(), &a.tenant).await?;
    let subject = || format!("'{}'", a.id);
    if let Ok(id) = a.id.parse::<RequestId>()
        && gov.store().access_request(t.id, id).await.about(subject)?.is_some()
    {
        let r = gov.reprocess(t.id, id).await.about(|| format!("request '{}'", a.id))?;
        ctx.done(&r, || format!("reprocessed request {}: {}", r.id, output::name(&r.state)));
        return Ok(());
    }
    let id: AssignmentId = a.id.parse().map_err(|_| bad_id("request or assignment", &a.id))?;
    let x = gov.reprocess_assignment(t.id, id).await.about(|| format!("assignment '{}'", a.id))?;
    ctx.done(&x, || format!("reprocessed assignment {}: its roles are granted", x.id));
    Ok(())
}
