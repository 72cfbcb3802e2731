//! My Access, for people signed in by a mailed code (or a personal token): the access
//! packages a policy lets them request, each with why; a request with justification and
//! answers; their requests and states; and, for approvers, the decisions waiting for
//! them; their current assignments with their end, and "extend" where the policy lets
//! holders extend. Requests, extensions and decisions are governance's (`submit` of a
//! `userAdd` or `userUpdate`, `decide`), the same calls the admin API's entitlement
//! management makes; a person who is not an approver of a request's current stage gets
//! 403 on its page and its form. Access reviews are `reviews.rs`.
use super::kit::Cursor;
use super::page::{self, csrf, encode, see_other, time};
use super::session::{Posted, Principal, Session};
use super::{ConsoleError, ConsoleResult, ConsoleState, Shared};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use maud::{Markup, html};
use std::collections::HashMap;
use tenantsync_access::{Assignment, AssignmentId, AssignmentPolicy, AssignmentState, PackageId, PolicyId, Question, Request, RequestId, RequestType};
use tenantsync_domain::{Anchor, Mail, ObjectId};
use tenantsync_governance::{Actor, Governance, NewRequest, Offer, Subject};
use tenantsync_store::{AssignmentFilter, RequestFilter};

type Params = Query<HashMap<String, String>>;

/// The routes of My Access added after the first ones (`mod.rs` keeps those): a person's
/// assignments and their extension, and access reviews.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/my/access", get(assignments))
        .route("/my/access/{id}/extend", post(extend))
        .route("/my/reviews", get(super::reviews::list))
        .route("/my/reviews/{review}/{assignment}", get(super::reviews::item).post(super::reviews::decide))
}

pub(crate) fn gov(st: &ConsoleState) -> ConsoleResult<&Governance> {
    st.gov.as_ref().ok_or_else(|| {
        ConsoleError::Graph(crate::graph::error::GraphError::new(
            crate::graph::error::GraphCode::NotImplemented,
            "this server was started without entitlement management (its store does not keep it)",
        ))
    })
}

/// Who the session's person is to governance.
fn subject(session: &Session) -> ConsoleResult<Subject> {
    match &session.principal {
        Principal::Person { user: Some(u), .. } => Ok(Subject::User(*u)),
        Principal::Person { home_tenant: Some(t), home_user: Some(u), .. } => Ok(Subject::TenantUser { tenant: *t, user: *u }),
        Principal::Person { email, .. } => Mail::parse(email).map(Subject::Email).map_err(|e| ConsoleError::bad_request(e.to_string())),
        Principal::Admin { .. } => {
            Err(ConsoleError::forbidden("My Access is for people of the tenant; administrators assign packages through the admin API or the CLI"))
        }
    }
}

/// The person's user in the tenant, if they have one (a partner's employee has one once
/// their guest is made).
pub(crate) async fn me(st: &ConsoleState, session: &Session) -> ConsoleResult<Option<ObjectId>> {
    match &session.principal {
        Principal::Person { user: Some(u), .. } => Ok(Some(*u)),
        Principal::Person { home_tenant: Some(t), home_user: Some(u), .. } => {
            Ok(st.store.find_user_by_anchor(session.tenant.id, &Anchor::new(*t, *u)).await?.map(|g| g.id))
        }
        // Known only by mail at sign-in: their guest, once a request made one.
        Principal::Person { email, .. } => match (Mail::parse(email), st.gov.as_ref()) {
            (Ok(mail), Some(g)) => Ok(match g.person_by_email(session.tenant.id, &mail).await? {
                Some(Subject::User(u)) => Some(u),
                _ => None,
            }),
            _ => Ok(None),
        },
        Principal::Admin { .. } => Err(ConsoleError::forbidden("this page is for people of the tenant")),
    }
}

/// `GET /my`: the packages the person may request.
pub(crate) async fn packages(State(st): State<Shared>, session: Session) -> ConsoleResult {
    let subject = subject(&session)?;
    let offers = gov(&st)?.offers(session.tenant.id, &subject, None).await?;
    let body = html! {
        @if offers.is_empty() { p.note id="no-packages" { "No access package is offered to you here. A package may also be reached by a link its owner gives you." } }
        @else {
            ul id="packages" {
                @for o in &offers {
                    li.panel {
                        h2 { (o.package.display_name) }
                        @if !o.package.description.is_empty() { p { (o.package.description) } }
                        p.note { "Why you may request it: " (o.why) "." }
                        a.button href={"/my/packages/" (o.package.id)} id={"request-" (o.package.id)} { "Request " span.visually-hidden { (o.package.display_name) } }
                    }
                }
            }
        }
    };
    Ok(page::ok("Access packages", &session, "/my", body))
}

async fn offer(st: &ConsoleState, session: &Session, id: &str) -> ConsoleResult<Offer> {
    let missing = || ConsoleError::not_found(format!("access package '{id}' does not exist"));
    let package: PackageId = id.parse().map_err(|_| missing())?;
    let subject = subject(session)?;
    let g = gov(st)?;
    g.access_package(session.tenant.id, package).await.map_err(|_| missing())?;
    g.offers(session.tenant.id, &subject, Some(package))
        .await?
        .into_iter()
        .find(|o| o.package.id == package)
        .ok_or_else(|| ConsoleError::forbidden("no policy of this access package admits you"))
}

fn question(policy: &AssignmentPolicy, q: &Question) -> Markup {
    let name = format!("q.{}.{}", policy.id, q.id());
    let id = format!("q-{}-{}", policy.id, q.id());
    html! {
        div {
            @match q {
                Question::Text { text, is_required, .. } => {
                    label for=(id) { (text) @if *is_required { " (required)" } }
                    input id=(id) name=(name) type="text" required[*is_required];
                }
                Question::Choice { text, is_required, choices, .. } => {
                    label for=(id) { (text) @if *is_required { " (required)" } }
                    select id=(id) name=(name) required[*is_required] {
                        option value="" { "Choose…" }
                        @for c in choices { option value=(c) { (c) } }
                    }
                }
            }
        }
    }
}

/// `GET /my/packages/{id}`: the request form.
pub(crate) async fn package(State(st): State<Shared>, session: Session, Path(id): Path<String>) -> ConsoleResult {
    let o = offer(&st, &session, &id).await?;
    let needs_justification = o.policies.iter().any(|p| p.request_approval_settings.is_requestor_justification_required);
    let body = html! {
        @if !o.package.description.is_empty() { p { (o.package.description) } }
        p.note { "Why you may request it: " (o.why) "." }
        form.stack method="post" action={"/my/packages/" (o.package.id) "/request"} id="request-form" {
            (csrf(&session))
            @if let [only] = o.policies.as_slice() {
                input type="hidden" name="policy" value=(only.id);
            } @else {
                fieldset {
                    legend { "Policy" }
                    @for (i, p) in o.policies.iter().enumerate() {
                        div {
                            input type="radio" id={"policy-" (p.id)} name="policy" value=(p.id) checked[i == 0];
                            label.inline-label for={"policy-" (p.id)} { (p.display_name) }
                        }
                    }
                }
            }
            div {
                label for="justification" { "Business justification" @if needs_justification { " (required)" } }
                textarea id="justification" name="justification" rows="3" required[needs_justification] {}
            }
            @for p in &o.policies { @for q in &p.questions { (question(p, q)) } }
            div { button type="submit" id="request-submit" { "Submit the request" } }
        }
    };
    Ok(page::ok(&format!("Request {}", o.package.display_name), &session, "/my", body))
}

/// `POST /my/packages/{id}/request`.
pub(crate) async fn request(State(st): State<Shared>, Path(id): Path<String>, Posted { session, form }: Posted) -> ConsoleResult {
    let o = offer(&st, &session, &id).await?;
    let policy = o
        .policies
        .iter()
        .find(|p| p.id.to_string() == form.get("policy"))
        .ok_or_else(|| ConsoleError::bad_request("choose one of the package's policies that admit you"))?;
    let prefix = format!("q.{}.", policy.id);
    let answers = form
        .0
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|q| (q, v.trim())))
        .filter(|(_, v)| !v.is_empty())
        .map(|(q, v)| tenantsync_access::Answer { question_id: q.to_owned(), value: v.to_owned() })
        .collect();
    let new = NewRequest {
        kind: RequestType::UserAdd,
        package: o.package.id,
        policy: policy.id,
        subject: subject(&session)?,
        start: None,
        end: None,
        answers,
        justification: form.get("justification").to_owned(),
    };
    let r = gov(&st)?.submit(session.tenant.id, new, Actor::Subject).await?;
    Ok(see_other(&format!("/my/requests?submitted={}", encode(&r.id.to_string()))))
}

/// The names of the packages a page names (each read once by its id: a page never reads
/// the tenant's every package).
pub(crate) async fn package_names(g: &Governance, tenant: tenantsync_domain::TenantId, ids: Vec<PackageId>) -> HashMap<PackageId, String> {
    let mut names = HashMap::new();
    for id in ids {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(id) {
            slot.insert(g.access_package(tenant, id).await.map_or_else(|_| id.to_string(), |p| p.display_name));
        }
    }
    names
}

fn state_of(r: &Request) -> String {
    serde_json::to_value(r.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// `GET /my/requests?after=…|before=…`: a page of the person's requests, in creation order.
pub(crate) async fn requests(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    let g = gov(&st)?;
    let me = me(&st, &session).await?;
    let c = Cursor::of(&q)?;
    let (after_id, before_id) = c.map(RequestId::from_bytes);
    let email = match &session.principal {
        Principal::Person { email, .. } => email.clone(),
        Principal::Admin { .. } => String::new(),
    };
    let mut mine: Vec<Request> = match me {
        Some(u) => {
            let filter = RequestFilter { requestor: Some(u), after: after_id, before: before_id, limit: Some(c.range().limit), ..RequestFilter::default() };
            g.store().access_requests(session.tenant.id, filter).await?.into_iter().map(|v| v.value).collect()
        }
        None => Vec::new(),
    };
    // Someone with no account here yet: their open requests, known by their mail.
    if c.is_first() && !email.is_empty() {
        mine.extend(g.open_requests_by_mail(session.tenant.id, &email, c.range().limit as usize).await?);
    }
    let (mine, previous, next) = c.window(mine, |r| r.id.to_string());
    let names = package_names(g, session.tenant.id, mine.iter().map(|r| r.access_package_id).collect()).await;
    let body = html! {
        @if let Some(id) = q.get("submitted") { p.panel role="status" id="submitted" { "Your request " (id) " was submitted." } }
        @if mine.is_empty() { p.note id="no-requests" { "You have made no request here." } }
        @else {
            div.scroll { table.responsive id="requests" aria-label="My requests" {
                thead { tr { th scope="col" { "Package" } th scope="col" { "State" } th scope="col" { "Submitted" } th scope="col" { "Justification" } } }
                tbody { @for r in &mine {
                    tr id={"request-" (r.id)} {
                        td data-label="Package" { (names.get(&r.access_package_id).map_or("?", String::as_str)) }
                        td data-label="State" { (state_of(r)) }
                        td data-label="Submitted" { (time(r.created_date_time)) }
                        td data-label="Justification" { (r.justification) }
                    }
                } }
            } }
        }
        (page::pages("/my/requests", &[], c.is_first(), previous, next))
    };
    Ok(page::ok("My requests", &session, "/my/requests", body))
}

/// Who asked, in words.
async fn requestor(st: &ConsoleState, tenant: tenantsync_domain::TenantId, r: &Request) -> String {
    match (&r.requestor, &r.external) {
        (Some(u), _) => match st.store.get_user(tenant, *u).await {
            Ok(u) => format!("{} ({})", u.attrs.display_name.as_deref().unwrap_or(""), u.attrs.user_principal_name),
            Err(_) => u.to_string(),
        },
        (None, Some(x)) => format!("{} ({})", x.display_name, x.email),
        (None, None) => "—".into(),
    }
}

/// `GET /my/approvals?after=…|before=…`: a page of the decisions waiting for the
/// signed-in approver (governance reads the open requests a batch at a time).
pub(crate) async fn approvals(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    let g = gov(&st)?;
    let c = Cursor::of(&q)?;
    let (after, before) = c.map(RequestId::from_bytes);
    let pending = match me(&st, &session).await? {
        Some(u) => g.pending_page(session.tenant.id, u, after, before, c.range().limit as usize).await?,
        None => Vec::new(),
    };
    let (pending, previous, next) = c.window(pending, |r| r.id.to_string());
    let names = package_names(g, session.tenant.id, pending.iter().map(|r| r.access_package_id).collect()).await;
    let mut rows = Vec::new();
    for r in &pending {
        rows.push((r, requestor(&st, session.tenant.id, r).await));
    }
    let body = html! {
        @if let Some(d) = q.get("decided") { p.panel role="status" id="decided" { "Your decision was recorded (" (d) ")." } }
        @if rows.is_empty() { p.note id="no-approvals" { "Nothing waits for your decision." } }
        @else {
            div.scroll { table.responsive id="approvals" aria-label="Pending approvals" {
                thead { tr { th scope="col" { "Package" } th scope="col" { "Requestor" } th scope="col" { "Submitted" } th scope="col" { "" } } }
                tbody { @for (r, who) in &rows {
                    tr {
                        td data-label="Package" { (names.get(&r.access_package_id).map_or("?", String::as_str)) }
                        td data-label="Requestor" { (who) }
                        td data-label="Submitted" { (time(r.created_date_time)) }
                        td { a href={"/my/approvals/" (r.id)} id={"review-" (r.id)} { "Review" } }
                    }
                } }
            } }
        }
        (page::pages("/my/approvals", &[], c.is_first(), previous, next))
    };
    Ok(page::ok("Approvals", &session, "/my/approvals", body))
}

/// The request `id` and its current stage, when the session's person may decide it (403
/// otherwise: a requestor, or anyone else, opening an approver's page).
async fn decidable(st: &ConsoleState, session: &Session, id: &str) -> ConsoleResult<(Request, usize, ObjectId)> {
    let missing = || ConsoleError::not_found(format!("request '{id}' does not exist"));
    let rid: RequestId = id.parse().map_err(|_| missing())?;
    let me = me(st, session).await?;
    let r = gov(st)?.request(session.tenant.id, rid).await.map_err(|_| missing())?.value;
    let not_yours = || ConsoleError::forbidden("you are not an approver of this request's current stage");
    let me = me.ok_or_else(not_yours)?;
    let stage = r.current_stage().ok_or_else(|| {
        ConsoleError::Graph(crate::graph::error::GraphError::new(crate::graph::error::GraphCode::Conflict, "this request waits for no decision"))
    })?;
    if !r.stages.get(stage).is_some_and(|s| s.may_decide(me)) || r.requestor == Some(me) {
        return Err(not_yours());
    }
    Ok((r, stage, me))
}

/// `GET /my/approvals/{id}`.
pub(crate) async fn approval(State(st): State<Shared>, session: Session, Path(id): Path<String>) -> ConsoleResult {
    let (r, stage, _) = decidable(&st, &session, &id).await?;
    let g = gov(&st)?;
    let package = g.access_package(session.tenant.id, r.access_package_id).await?;
    let policy = g.policy(session.tenant.id, r.assignment_policy_id).await.ok();
    let question_text = |qid: &str| -> String {
        policy.as_ref().and_then(|p| p.questions.iter().find(|q| q.id() == qid)).map_or_else(
            || qid.to_owned(),
            |q| match q {
                Question::Text { text, .. } | Question::Choice { text, .. } => text.clone(),
            },
        )
    };
    let who = requestor(&st, session.tenant.id, &r).await;
    let body = html! {
        dl.panel id="request" {
            dt { "Package" } dd { (package.display_name) }
            dt { "Requestor" } dd id="requestor" { (who) }
            dt { "Submitted" } dd { (time(r.created_date_time)) }
            dt { "Stage" } dd { (stage + 1) " of " (r.stages.len()) }
            dt { "Justification" } dd id="requestor-justification" { (r.justification) }
            @for a in &r.answers { dt { (question_text(&a.question_id)) } dd { (a.value) } }
        }
        form.stack method="post" action={"/my/approvals/" (r.id)} id="decision-form" {
            (csrf(&session))
            div {
                label for="decision-justification" { "Your justification" }
                textarea id="decision-justification" name="justification" rows="3" {}
            }
            div.inline {
                button type="submit" name="decision" value="approve" id="approve" { "Approve" }
                " "
                button.secondary type="submit" name="decision" value="deny" id="deny" { "Deny" }
            }
        }
    };
    Ok(page::ok("Approve or deny", &session, "/my/approvals", body))
}

/// `POST /my/approvals/{id}`: approve or deny.
pub(crate) async fn decide(State(st): State<Shared>, Path(id): Path<String>, Posted { session, form }: Posted) -> ConsoleResult {
    let (r, stage, me) = decidable(&st, &session, &id).await?;
    let approve = match form.get("decision") {
        "approve" => true,
        "deny" => false,
        other => return Err(ConsoleError::bad_request(format!("decision '{other}' is neither approve nor deny"))),
    };
    gov(&st)?.decide(session.tenant.id, r.id, stage, me, approve, form.get("justification")).await?;
    Ok(see_other(&format!("/my/approvals?decided={}", if approve { "approved" } else { "denied" })))
}

fn assignment_state(a: &Assignment) -> String {
    serde_json::to_value(a.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Whether the holder may extend `a` under `policy`: the policy lets holders extend, the
/// assignment is delivered and has an end (one without an end has nothing to extend).
fn extendable(a: &Assignment, policy: Option<&AssignmentPolicy>, now: jiff::Timestamp) -> bool {
    policy.is_some_and(|p| p.requestor_settings.enable_targets_to_self_update_access)
        && a.state == AssignmentState::Delivered
        && a.is_active(now)
        && a.schedule.end_date_time.is_some()
}

/// `GET /my/access`: the person's current assignments, their end, and "extend".
pub(crate) async fn assignments(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    let g = gov(&st)?;
    let me = me(&st, &session).await?;
    let c = Cursor::of(&q)?;
    let (after, before) = c.map(AssignmentId::from_bytes);
    let mine: Vec<Assignment> = match me {
        Some(u) => {
            let filter = AssignmentFilter { target: Some(u), current_only: true, after, before, limit: Some(c.range().limit), ..AssignmentFilter::default() };
            g.store().access_assignments(session.tenant.id, filter).await?.into_iter().map(|v| v.value).collect()
        }
        None => Vec::new(),
    };
    let (mine, previous, next) = c.window(mine, |a| a.id.to_string());
    let names = package_names(g, session.tenant.id, mine.iter().map(|a| a.access_package_id).collect()).await;
    let mut policies: HashMap<PolicyId, AssignmentPolicy> = HashMap::new();
    for a in &mine {
        if !policies.contains_key(&a.assignment_policy_id)
            && let Ok(p) = g.policy(session.tenant.id, a.assignment_policy_id).await
        {
            policies.insert(p.id, p);
        }
    }
    let now = st.store.clock().now();
    let body = html! {
        @if let Some(state) = q.get("extended") { p.panel role="status" id="extended" { "Your request to extend was submitted; its state: " (state) ". " a href="/my/requests" { "Follow it in My requests" } "." } }
        @if mine.is_empty() { p.note id="no-assignments" { "You hold no access package here." } }
        @else {
            div.scroll { table.responsive id="assignments" aria-label="My access" {
                thead { tr { th scope="col" { "Package" } th scope="col" { "State" } th scope="col" { "Since" } th scope="col" { "Ends" } th scope="col" { "" } } }
                tbody { @for a in &mine {
                    @let name = names.get(&a.access_package_id).map_or("?", String::as_str);
                    tr id={"assignment-" (a.id)} {
                        td data-label="Package" { (name) }
                        td data-label="State" { (assignment_state(a)) }
                        td data-label="Since" { (time(a.schedule.start_date_time)) }
                        td data-label="Ends" { @match a.schedule.end_date_time { Some(e) => { (time(e)) }, None => { "No end" } } }
                        td {
                            @if extendable(a, policies.get(&a.assignment_policy_id), now) {
                                form.inline method="post" action={"/my/access/" (a.id) "/extend"} {
                                    (csrf(&session))
                                    label.visually-hidden for={"why-" (a.id)} { "Why you still need " (name) }
                                    input id={"why-" (a.id)} name="justification" type="text" placeholder="Why you still need it";
                                    " "
                                    button type="submit" id={"extend-" (a.id)} { "Extend " span.visually-hidden { (name) } }
                                }
                            }
                        }
                    }
                } }
            } }
        }
        (page::pages("/my/access", &[], c.is_first(), previous, next))
    };
    Ok(page::ok("My access", &session, "/my/access", body))
}

/// `POST /my/access/{id}/extend`: a `userUpdate` request for the person's own assignment,
/// as the admin API's `assignmentRequests` takes it (the policy decides whether it may be
/// extended, until when, and whether someone approves).
pub(crate) async fn extend(State(st): State<Shared>, Path(id): Path<String>, Posted { session, form }: Posted) -> ConsoleResult {
    let missing = || ConsoleError::not_found(format!("assignment '{id}' does not exist"));
    let aid: AssignmentId = id.parse().map_err(|_| missing())?;
    let g = gov(&st)?;
    let me = me(&st, &session).await?.ok_or_else(missing)?;
    let held = g.assignment(session.tenant.id, aid).await.map_err(|_| missing())?.value;
    // Someone else's assignment is the same 404 as none.
    if held.target != me {
        return Err(missing());
    }
    let new = NewRequest {
        kind: RequestType::UserUpdate,
        package: held.access_package_id,
        policy: held.assignment_policy_id,
        subject: tenantsync_governance::Subject::User(me),
        start: None,
        end: None,
        answers: Vec::new(),
        justification: form.get("justification").to_owned(),
    };
    let r = g.submit(session.tenant.id, new, Actor::Subject).await?;
    Ok(see_other(&format!("/my/access?extended={}", encode(&state_of(&r)))))
}
