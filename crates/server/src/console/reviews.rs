//! Access reviews for reviewers: the items of the reviews in progress that the signed-in
//! person reviews, each with its recommendation (from the person's activity, when the
//! policy asks for one) and the decision so far; approve, deny or "don't know" with a
//! justification. The decision is governance's `review_decide`, the call the admin API's
//! `accessReviews/…/decisions/{id}` PATCH makes; an item the person does not review is
//! 403, as an approval is to anyone but its approvers. Denied access ends when the review
//! completes (at its end, or when an administrator stops it).
use super::kit::Cursor;
use super::my::{gov, me, package_names};
use super::page::{self, csrf, see_other, time};
use super::session::{Posted, Session};
use super::{ConsoleError, ConsoleResult, ConsoleState, Shared};
use crate::graph::error::{GraphCode, GraphError};
use axum::extract::{Path, Query, State};
use maud::html;
use std::collections::HashMap;
use tenantsync_access::{AssignmentId, DecisionItem, Recommendation, ReviewDecision, ReviewId, ReviewInstance, ReviewStatus};
use tenantsync_domain::{ObjectId, TenantId};

type Params = Query<HashMap<String, String>>;

/// Items a page.
const PAGE: usize = 50;

fn decision_text(d: ReviewDecision) -> &'static str {
    match d {
        ReviewDecision::NotReviewed => "Not reviewed",
        ReviewDecision::Approve => "Approve",
        ReviewDecision::Deny => "Deny",
        ReviewDecision::DontKnow => "Don't know",
    }
}

fn recommendation_text(r: Recommendation) -> &'static str {
    match r {
        Recommendation::Approve => "Approve (active in the last 30 days)",
        Recommendation::Deny => "Deny (not active in the last 30 days)",
        Recommendation::NoInfoAvailable => "No recommendation (no activity is known)",
    }
}

/// A user of the tenant in words: display name and userPrincipalName.
async fn person(st: &ConsoleState, tenant: TenantId, id: ObjectId) -> String {
    match st.store.get_user(tenant, id).await {
        Ok(u) => format!("{} ({})", u.attrs.display_name.as_deref().unwrap_or(""), u.attrs.user_principal_name),
        Err(_) => id.to_string(),
    }
}

/// `GET /my/reviews?after=…|before=…`: a page of the items of reviews in progress that
/// the person reviews (reviews whole, in id order, read a batch at a time by governance).
pub(crate) async fn list(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    let g = gov(&st)?;
    let c = Cursor::of(&q)?;
    let (after, before) = c.map(ReviewId::from_bytes);
    let t = session.tenant.id;
    let (reviews, previous, next) = match me(&st, &session).await? {
        Some(u) => {
            let reviews = g.reviews_for(t, u, after, before, PAGE).await?;
            let (first, last) = (reviews.first().map(|r| r.id), reviews.last().map(|r| r.id));
            // Whether there are more either side: one item is enough to say.
            let more_after = match last {
                Some(l) => !g.reviews_for(t, u, Some(l), None, 1).await?.is_empty(),
                None => false,
            };
            let more_before = match first {
                Some(f) if !c.is_first() => !g.reviews_for(t, u, None, Some(f), 1).await?.is_empty(),
                _ => false,
            };
            let previous = first.filter(|_| more_before).map(|f| f.to_string());
            (reviews.into_iter().map(|r| (u, r)).collect::<Vec<_>>(), previous, last.filter(|_| more_after).map(|l| l.to_string()))
        }
        None => (Vec::new(), None, None),
    };
    let mine: Vec<(ReviewInstance, DecisionItem)> = reviews
        .into_iter()
        .flat_map(|(u, r)| r.decisions.iter().filter(|d| d.reviewers.contains(&u)).map(|d| (r.clone(), d.clone())).collect::<Vec<_>>())
        .collect();
    let names = package_names(g, t, mine.iter().map(|(r, _)| r.access_package_id).collect()).await;
    let mut rows = Vec::new();
    for (r, d) in &mine {
        rows.push((r, d, person(&st, t, d.principal).await));
    }
    let body = html! {
        @if let Some(d) = q.get("decided") { p.panel role="status" id="review-decided" { "Your decision was recorded (" (d) "). It is applied when the review completes." } }
        @if rows.is_empty() { p.note id="no-reviews" { "No access review waits for you." } }
        @else {
            div.scroll { table.responsive id="reviews" aria-label="Access to review" {
                thead { tr { th scope="col" { "Package" } th scope="col" { "Person" } th scope="col" { "Recommendation" } th scope="col" { "Decision" } th scope="col" { "Review ends" } th scope="col" { "" } } }
                tbody { @for (r, d, who) in &rows {
                    tr id={"item-" (d.assignment_id)} {
                        td data-label="Package" { (names.get(&r.access_package_id).map_or("?", String::as_str)) }
                        td data-label="Person" { (who) }
                        td data-label="Recommendation" { (recommendation_text(d.recommendation)) }
                        td data-label="Decision" { (decision_text(d.decision)) }
                        td data-label="Review ends" { (time(r.end_date_time)) }
                        td { a href={"/my/reviews/" (r.id) "/" (d.assignment_id)} id={"review-item-" (d.assignment_id)} { "Review " span.visually-hidden { (who) } } }
                    }
                } }
            } }
        }
        (page::pages("/my/reviews", &[], c.is_first(), previous, next))
    };
    Ok(page::ok("Access reviews", &session, "/my/reviews", body))
}

/// The review `review` in progress and its item of `assignment`, when the session's
/// person reviews it (403 otherwise, 404 when there is no such item).
async fn reviewable(st: &ConsoleState, session: &Session, review: &str, assignment: &str) -> ConsoleResult<(ReviewInstance, DecisionItem, ObjectId)> {
    let missing = || ConsoleError::not_found(format!("access review item '{review}/{assignment}' does not exist"));
    let rid: ReviewId = review.parse().map_err(|_| missing())?;
    let aid: AssignmentId = assignment.parse().map_err(|_| missing())?;
    let me = me(st, session).await?;
    let r = gov(st)?.review(session.tenant.id, rid).await?.ok_or_else(missing)?;
    let d = r.decisions.iter().find(|d| d.assignment_id == aid).cloned().ok_or_else(missing)?;
    let me = me.filter(|u| d.reviewers.contains(u)).ok_or_else(|| ConsoleError::forbidden("you are not a reviewer of this access"))?;
    if r.status != ReviewStatus::InProgress {
        return Err(ConsoleError::Graph(GraphError::new(GraphCode::Conflict, "this access review has completed: it takes no more decisions")));
    }
    Ok((r, d, me))
}

/// `GET /my/reviews/{review}/{assignment}`: one item and the decision form.
pub(crate) async fn item(State(st): State<Shared>, session: Session, Path((review, assignment)): Path<(String, String)>) -> ConsoleResult {
    let (r, d, _) = reviewable(&st, &session, &review, &assignment).await?;
    let g = gov(&st)?;
    let package = g.access_package(session.tenant.id, r.access_package_id).await?;
    let who = person(&st, session.tenant.id, d.principal).await;
    let held = g.assignment(session.tenant.id, d.assignment_id).await.ok().map(|v| v.value);
    let body = html! {
        dl.panel id="review-item" {
            dt { "Package" } dd { (package.display_name) }
            dt { "Person" } dd id="reviewed-person" { (who) }
            @if let Some(a) = &held {
                dt { "Holds it since" } dd { (time(a.schedule.start_date_time)) }
                dt { "Ends" } dd { @match a.schedule.end_date_time { Some(e) => { (time(e)) }, None => { "No end" } } }
            }
            dt { "Recommendation" } dd id="recommendation" { (recommendation_text(d.recommendation)) }
            dt { "Decision so far" } dd id="decision-so-far" { (decision_text(d.decision)) @if !d.justification.is_empty() { ": " (d.justification) } }
            dt { "Review ends" } dd { (time(r.end_date_time)) }
        }
        form.stack method="post" action={"/my/reviews/" (r.id) "/" (d.assignment_id)} id="review-form" {
            (csrf(&session))
            div {
                label for="review-justification" { "Your justification" @if r.is_reviewer_justification_required { " (required to approve)" } }
                textarea id="review-justification" name="justification" rows="3" {}
            }
            div.inline {
                button type="submit" name="decision" value="Approve" id="review-approve" { "Approve" }
                " "
                button.secondary type="submit" name="decision" value="Deny" id="review-deny" { "Deny" }
                " "
                button.secondary type="submit" name="decision" value="DontKnow" id="review-dont-know" { "Don't know" }
            }
            p.note { "Denied access ends when the review completes; “don't know” keeps it." }
        }
    };
    Ok(page::ok("Review access", &session, "/my/reviews", body))
}

/// `POST /my/reviews/{review}/{assignment}`: approve, deny or don't know.
pub(crate) async fn decide(State(st): State<Shared>, Path((review, assignment)): Path<(String, String)>, Posted { session, form }: Posted) -> ConsoleResult {
    let (r, d, me) = reviewable(&st, &session, &review, &assignment).await?;
    let decision = match form.get("decision") {
        "Approve" => ReviewDecision::Approve,
        "Deny" => ReviewDecision::Deny,
        "DontKnow" => ReviewDecision::DontKnow,
        other => return Err(ConsoleError::bad_request(format!("decision '{other}' is none of Approve, Deny or DontKnow"))),
    };
    gov(&st)?.review_decide(session.tenant.id, r.id, d.assignment_id, me, decision, form.get("justification")).await?;
    Ok(see_other(&format!("/my/reviews?decided={}", page::encode(decision_text(decision)))))
}
