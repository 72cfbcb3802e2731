//! Assignment policies: the list, one policy, and its form (who may request, whether
//! requests are on, extend and give up, approval with up to three stages, up to three
//! questions to the requestor with typed answers, expiration),
//! for a new policy and for editing one. Both are checked and stored by governance
//! (`put_policy`), a change through the admin API's own `PUT assignmentPolicies/{id}`
//! step (`graph::access::edits::replace_policy`: the id and package stay); what the form
//! does not show (reviews, automatic assignment, a stage's escalation, questions past
//! the third) is kept as it was.
use super::access::{Params, upn_of};
use super::admin::get;
use super::kit::{ROWS, checkbox, gov, page_after, select, text_field, writer};
use super::page::{self, csrf, see_other, time};
use super::session::{Form, Posted, Session};
use super::sync::audited;
use super::{ConsoleError, ConsoleResult, ConsoleState, Shared};
use crate::graph::access::edits;
use crate::graph::audit::Entry;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get as get_route;
use maud::{Markup, html};
use tenantsync_access::{
    AccessPackage, ApprovalSettings, ApprovalStageSettings, AssignmentPolicy, ConnectedOrgId, ConnectedOrganization, Expiration, IsoDuration, PolicyId,
    Question, RequestorSettings, SubjectSet, TargetScope,
};
use tenantsync_domain::{ObjectId, Upn};
use tenantsync_store::{AuditCategory, AuditOperation};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/admin/access/policies", get_route(policies).post(create_policy))
        .route("/admin/access/policies/new", get_route(new_policy))
        .route("/admin/access/policies/{id}", get_route(policy))
        .route("/admin/access/policies/{id}/edit", get_route(edit_form).post(edit))
}

fn entry(activity: &str, op: AuditOperation, kind: &str, id: impl ToString) -> Entry {
    Entry::new(activity, op, AuditCategory::EntitlementManagement, kind, id)
}

const SCOPES: [(TargetScope, &str, &str); 7] = [
    (TargetScope::NotSpecified, "notSpecified", "No one requests (administrators assign)"),
    (TargetScope::AllMemberUsers, "allMemberUsers", "Members of this tenant"),
    (TargetScope::AllDirectoryUsers, "allDirectoryUsers", "Everyone in this tenant, guests included"),
    (TargetScope::SpecificDirectoryUsers, "specificDirectoryUsers", "Members of a group of this tenant"),
    (TargetScope::SpecificConnectedOrganizationUsers, "specificConnectedOrganizationUsers", "People of chosen connected organizations"),
    (TargetScope::AllConfiguredConnectedOrganizationUsers, "allConfiguredConnectedOrganizationUsers", "People of every configured connected organization"),
    (TargetScope::AllExternalUsers, "allExternalUsers", "Anyone from outside"),
];

pub(super) fn scope_text(s: TargetScope) -> &'static str {
    SCOPES.iter().find(|(x, _, _)| *x == s).map_or("unknown", |(_, _, t)| t)
}

fn scope_key(s: TargetScope) -> &'static str {
    SCOPES.iter().find(|(x, _, _)| *x == s).map_or("notSpecified", |(_, k, _)| k)
}

/// `GET /admin/access/policies?after=…`.
async fn policies(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    session.admin()?;
    let after = get(&q, "after");
    let (list, next) = page_after(gov(&st)?.policies(session.tenant.id).await?, |p| p.id.to_string(), after);
    let body = html! {
        @if list.is_empty() { p.note id="no-policies" { "No assignment policy yet (a policy is made from its package's page)." } }
        @else {
            div.scroll { table.responsive id="policies" aria-label="Assignment policies" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Package" } th scope="col" { "Who may request" } th scope="col" { "Approval stages" } } }
                tbody { @for x in &list {
                    tr {
                        td data-label="Name" { a href={"/admin/access/policies/" (x.id)} { (x.display_name) } }
                        td data-label="Package" { a href={"/admin/access/packages/" (x.access_package_id)} { "Package" } }
                        td data-label="Who may request" { (scope_text(x.allowed_target_scope)) }
                        td data-label="Approval stages" { (x.request_approval_settings.stages.len()) }
                    }
                } }
            } }
        }
        (page::pager("/admin/access/policies", &[], after.is_empty(), next))
    };
    Ok(page::ok("Assignment policies", &session, "/admin/access/policies", body))
}

const APPROVERS: [(&str, &str); 6] = [
    ("", "No approval at this stage"),
    ("manager", "The requestor's manager"),
    ("internalSponsors", "The internal sponsors of the requestor's organization"),
    ("externalSponsors", "The external sponsors of the requestor's organization"),
    ("user", "A user (userPrincipalName below)"),
    ("group", "Members of a group (its id below)"),
];

/// The values a stage's fields show: none for a new policy, the stage's for an edit.
#[derive(Debug, Clone)]
struct StageValues {
    approver: String,
    who: String,
    fallback: String,
    days: u64,
}

impl Default for StageValues {
    fn default() -> StageValues {
        StageValues { approver: String::new(), who: String::new(), fallback: String::new(), days: 14 }
    }
}

/// Questions the form shows (a policy given more through the admin API keeps the rest).
const QUESTIONS: usize = 3;

/// The fields of one question: its text, kind (free text or multiple choice), choices,
/// the pattern a text answer must match, whether it must be answered, and its id.
#[derive(Debug, Clone, Default)]
struct QuestionValues {
    id: String,
    text: String,
    kind: String,
    choices: String,
    pattern: String,
    required: bool,
}

impl QuestionValues {
    fn of(q: &Question) -> QuestionValues {
        match q {
            Question::Text { id, text, is_required, regex_pattern } => QuestionValues {
                id: id.clone(),
                text: text.clone(),
                kind: "text".into(),
                choices: String::new(),
                pattern: regex_pattern.clone().unwrap_or_default(),
                required: *is_required,
            },
            Question::Choice { id, text, is_required, choices } => QuestionValues {
                id: id.clone(),
                text: text.clone(),
                kind: "choice".into(),
                choices: choices.join(", "),
                pattern: String::new(),
                required: *is_required,
            },
        }
    }
}

/// What a policy's form shows.
#[derive(Debug, Clone, Default)]
struct Values {
    name: String,
    description: String,
    scope: String,
    group: String,
    orgs: Vec<ConnectedOrgId>,
    self_add: bool,
    self_update: bool,
    self_remove: bool,
    approval: bool,
    justification: bool,
    stages: [StageValues; 3],
    questions: [QuestionValues; QUESTIONS],
    expiration: String,
    days: String,
    date: String,
}

impl Values {
    /// A new policy's defaults: members request, no approval, no end.
    fn new() -> Values {
        Values { scope: "allMemberUsers".into(), self_add: true, self_remove: true, expiration: "never".into(), ..Values::default() }
    }
}

/// Whole days of a duration (`None` when it is not a whole number of days).
fn days_of(d: IsoDuration) -> Option<u64> {
    let s = d.as_seconds();
    s.is_multiple_of(86_400).then_some(s / 86_400)
}

/// A stage's approver as the form's kind and "who" field.
async fn approver_values(st: &ConsoleState, session: &Session, s: Option<&SubjectSet>) -> (String, String) {
    match s {
        None => (String::new(), String::new()),
        Some(SubjectSet::RequestorManager { .. }) => ("manager".into(), String::new()),
        Some(SubjectSet::InternalSponsors {}) => ("internalSponsors".into(), String::new()),
        Some(SubjectSet::ExternalSponsors {}) => ("externalSponsors".into(), String::new()),
        Some(SubjectSet::SingleUser { user_id }) => ("user".into(), upn_of(st, session, *user_id).await),
        Some(SubjectSet::GroupMembers { group_id }) => ("group".into(), group_id.to_string()),
        // Not a kind the form offers: the form shows none, and saving keeps the stage only
        // when one of its kinds is chosen.
        Some(_) => (String::new(), String::new()),
    }
}

/// The form's values of a stored policy.
async fn values_of(st: &ConsoleState, session: &Session, x: &AssignmentPolicy) -> Values {
    let mut stages: [StageValues; 3] = Default::default();
    for (v, s) in stages.iter_mut().zip(&x.request_approval_settings.stages) {
        let (approver, who) = approver_values(st, session, s.primary_approvers.first()).await;
        let fallback = match s.fallback_primary_approvers.first() {
            Some(SubjectSet::SingleUser { user_id }) => upn_of(st, session, *user_id).await,
            _ => String::new(),
        };
        *v = StageValues { approver, who, fallback, days: days_of(s.duration_before_automatic_denial).unwrap_or(14) };
    }
    let (expiration, days, date) = match x.expiration {
        Expiration::NoExpiration => ("never", String::new(), String::new()),
        Expiration::AfterDuration { duration } => {
            ("days", days_of(duration).map_or_else(|| format!("{}", duration.as_seconds().div_ceil(86_400)), |d| d.to_string()), String::new())
        }
        Expiration::AfterDateTime { end_date_time } => ("date", String::new(), end_date_time.to_zoned(jiff::tz::TimeZone::UTC).date().to_string()),
    };
    let group = x.specific_allowed_targets.iter().find_map(|t| match t {
        SubjectSet::GroupMembers { group_id } => Some(group_id.to_string()),
        _ => None,
    });
    let orgs = x
        .specific_allowed_targets
        .iter()
        .filter_map(|t| match t {
            SubjectSet::ConnectedOrganizationMembers { connected_organization_id } => Some(*connected_organization_id),
            _ => None,
        })
        .collect();
    let mut questions: [QuestionValues; QUESTIONS] = Default::default();
    for (v, q) in questions.iter_mut().zip(&x.questions) {
        *v = QuestionValues::of(q);
    }
    let r = &x.requestor_settings;
    Values {
        name: x.display_name.clone(),
        description: x.description.clone(),
        scope: scope_key(x.allowed_target_scope).into(),
        group: group.unwrap_or_default(),
        orgs,
        self_add: r.enable_targets_to_self_add_access,
        self_update: r.enable_targets_to_self_update_access,
        self_remove: r.enable_targets_to_self_remove_access,
        approval: x.request_approval_settings.is_approval_required_for_add,
        justification: x.request_approval_settings.is_requestor_justification_required,
        stages,
        questions,
        expiration: expiration.into(),
        days,
        date,
    }
}

fn question_fields(n: usize, v: &QuestionValues) -> Markup {
    let kinds: Vec<(String, String)> =
        [("text", "A text answer"), ("choice", "One of the choices")].iter().map(|(k, t)| ((*k).to_owned(), (*t).to_owned())).collect();
    let kind = if v.kind.is_empty() { "text" } else { v.kind.as_str() };
    html! {
        fieldset {
            legend { "Question " (n) }
            input type="hidden" name={"q" (n) "_id"} value=(v.id);
            (text_field(&format!("q{n}-text"), "The question (empty: none)", &format!("q{n}_text"), &v.text, false))
            (select(&format!("q{n}-kind"), "Answered with", &format!("q{n}_kind"), kind, &kinds))
            (text_field(&format!("q{n}-choices"), "Choices, separated by commas (for one of the choices)", &format!("q{n}_choices"), &v.choices, false))
            (text_field(&format!("q{n}-pattern"), "A pattern the whole text answer must match (a regular expression, optional)", &format!("q{n}_pattern"), &v.pattern, false))
            (checkbox(&format!("q{n}-required"), "Requestors must answer it", &format!("q{n}_required"), v.required))
        }
    }
}

fn stage_fields(n: usize, v: &StageValues) -> Markup {
    let options: Vec<(String, String)> = APPROVERS.iter().map(|(v, t)| ((*v).to_owned(), (*t).to_owned())).collect();
    html! {
        fieldset {
            legend { "Approval stage " (n) }
            (select(&format!("stage{n}-approver"), "Approvers", &format!("stage{n}_approver"), &v.approver, &options))
            (text_field(&format!("stage{n}-who"), "The user or group (for those kinds)", &format!("stage{n}_who"), &v.who, false))
            (text_field(&format!("stage{n}-fallback"), "Fallback approver when none is found (userPrincipalName, optional)", &format!("stage{n}_fallback"), &v.fallback, false))
            div { label for={"stage" (n) "-days"} { "Days before the request is denied without a decision" } input id={"stage" (n) "-days"} name={"stage" (n) "_days"} type="number" min="1" max="14" value=(v.days); }
        }
    }
}

/// The policy form: `action` and its button, over `v`.
fn form_of(session: &Session, action: &str, button: (&str, &str), p: &AccessPackage, orgs: &[ConnectedOrganization], v: &Values) -> Markup {
    let scopes: Vec<(String, String)> = SCOPES.iter().map(|(_, v, t)| ((*v).to_owned(), (*t).to_owned())).collect();
    let expirations: Vec<(String, String)> =
        [("never", "Never"), ("days", "After a number of days"), ("date", "On a date")].iter().map(|(v, t)| ((*v).to_owned(), (*t).to_owned())).collect();
    html! {
        p { "Access package: " a href={"/admin/access/packages/" (p.id)} { (p.display_name) } }
        form.stack method="post" action=(action) id="policy-form" aria-label="Assignment policy" {
            (csrf(session))
            input type="hidden" name="package" value=(p.id);
            (text_field("policy-name", "Name", "name", &v.name, true))
            (text_field("policy-description", "Description", "description", &v.description, false))
            fieldset {
                legend { "Who may request" }
                (select("policy-scope", "Requestors", "scope", &v.scope, &scopes))
                (text_field("policy-group", "The group's id, for members of a group", "group", &v.group, false))
                @if !orgs.is_empty() {
                    p { "The connected organizations, for people of chosen ones:" }
                    @for (i, o) in orgs.iter().take(ROWS).enumerate() {
                        div { input id={"org-" (i)} name="org" type="checkbox" value=(o.id) checked[v.orgs.contains(&o.id)]; " " label.inline-label for={"org-" (i)} { (o.display_name) } }
                    }
                }
                (checkbox("policy-self-add", "Requests are enabled", "self_add", v.self_add))
                (checkbox("policy-self-update", "Requestors may extend their assignment", "self_update", v.self_update))
                (checkbox("policy-self-remove", "Requestors may give it up", "self_remove", v.self_remove))
            }
            fieldset {
                legend { "Approval" }
                (checkbox("policy-approval", "Requests need approval", "approval", v.approval))
                (checkbox("policy-justification", "Requestors must give a justification", "justification", v.justification))
                @for (i, s) in v.stages.iter().enumerate() { (stage_fields(i + 1, s)) }
            }
            fieldset {
                legend { "Questions to the requestor" }
                @for (i, q) in v.questions.iter().enumerate() { (question_fields(i + 1, q)) }
            }
            fieldset {
                legend { "Expiration" }
                (select("policy-expiration", "Assignments end", "expiration", &v.expiration, &expirations))
                div { label for="policy-days" { "Days (for after a number of days)" } input id="policy-days" name="days" type="number" min="1" max="3660" value=(v.days); }
                div { label for="policy-date" { "Date (YYYY-MM-DD, for on a date)" } input id="policy-date" name="date" type="date" value=(v.date); }
            }
            div { button type="submit" id=(button.0) { (button.1) } }
        }
    }
}

/// `GET /admin/access/policies/new?package=…`.
async fn new_policy(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    session.writer()?;
    let p = super::packages::find_package(&st, &session, get(&q, "package")).await?;
    let orgs = gov(&st)?.connected_organizations(session.tenant.id).await?;
    let body = form_of(&session, "/admin/access/policies", ("create-policy", "Create policy"), &p, &orgs, &Values::new());
    Ok(page::ok("New assignment policy", &session, "/admin/access/packages", body))
}

async fn find_policy(st: &ConsoleState, session: &Session, id: &str) -> ConsoleResult<AssignmentPolicy> {
    let pid: PolicyId = id.parse().map_err(|_| ConsoleError::not_found(format!("assignment policy '{id}' does not exist")))?;
    Ok(gov(st)?.policy(session.tenant.id, pid).await?)
}

/// `GET /admin/access/policies/{id}/edit`: the creation form, filled with the policy.
async fn edit_form(State(st): State<Shared>, session: Session, Path(id): Path<String>) -> ConsoleResult {
    session.writer()?;
    let x = find_policy(&st, &session, &id).await?;
    let g = gov(&st)?;
    let p = g.access_package(session.tenant.id, x.access_package_id).await?;
    let orgs = g.connected_organizations(session.tenant.id).await?;
    let v = values_of(&st, &session, &x).await;
    let body = form_of(&session, &format!("/admin/access/policies/{}/edit", x.id), ("save-policy", "Save policy"), &p, &orgs, &v);
    Ok(page::ok(&format!("Edit {}", x.display_name), &session, "/admin/access/policies", body))
}

async fn user_id(st: &ConsoleState, session: &Session, who: &str, what: &str) -> ConsoleResult<ObjectId> {
    let upn = Upn::parse(who).map_err(|_| ConsoleError::bad_request(format!("{what}: '{who}' is not a userPrincipalName")))?;
    let u = st.store.find_user_by_upn(session.tenant.id, &upn).await?.filter(|u| !u.is_deleted());
    Ok(u.ok_or_else(|| ConsoleError::bad_request(format!("{what}: '{who}' is not a user of the tenant")))?.id)
}

/// Stage `n` of the form; `kept` is the stored stage of an edit, whose settings the form
/// does not show (escalation, the approvers' justification) stay as they were.
async fn stage_of(
    st: &ConsoleState,
    session: &Session,
    form: &Form,
    n: usize,
    kept: Option<&ApprovalStageSettings>,
) -> ConsoleResult<Option<ApprovalStageSettings>> {
    let field = |k: &str| form.get(&format!("stage{n}_{k}")).to_owned();
    let what = format!("approval stage {n}");
    let primary = match field("approver").as_str() {
        "" => return Ok(None),
        "manager" => SubjectSet::RequestorManager { manager_level: 1 },
        "internalSponsors" => SubjectSet::InternalSponsors {},
        "externalSponsors" => SubjectSet::ExternalSponsors {},
        "user" => SubjectSet::SingleUser { user_id: user_id(st, session, &field("who"), &what).await? },
        "group" => SubjectSet::GroupMembers {
            group_id: field("who").parse().map_err(|_| ConsoleError::bad_request(format!("{what}: '{}' is not a group id", field("who"))))?,
        },
        other => return Err(ConsoleError::bad_request(format!("{what}: '{other}' is not a kind of approver"))),
    };
    let fallback = match field("fallback").as_str() {
        "" => Vec::new(),
        who => vec![SubjectSet::SingleUser { user_id: user_id(st, session, who, &format!("{what}, fallback")).await? }],
    };
    let days = match field("days").as_str() {
        "" => 14,
        d => d
            .parse::<u64>()
            .ok()
            .filter(|d| (1..=14).contains(d))
            .ok_or_else(|| ConsoleError::bad_request(format!("{what}: days '{d}' is not from 1 to 14")))?,
    };
    let mut stage = kept.cloned().unwrap_or(ApprovalStageSettings {
        duration_before_automatic_denial: IsoDuration::ZERO,
        is_approver_justification_required: false,
        is_escalation_enabled: false,
        duration_before_escalation: IsoDuration::ZERO,
        primary_approvers: Vec::new(),
        fallback_primary_approvers: Vec::new(),
        escalation_approvers: Vec::new(),
        fallback_escalation_approvers: Vec::new(),
    });
    stage.duration_before_automatic_denial = IsoDuration::days(days);
    stage.primary_approvers = vec![primary];
    stage.fallback_primary_approvers = fallback;
    Ok(Some(stage))
}

/// The questions of the form, then those of `kept` past what the form shows.
fn questions_of(form: &Form, kept: Option<&AssignmentPolicy>) -> ConsoleResult<Vec<Question>> {
    let mut out = Vec::new();
    for n in 1..=QUESTIONS {
        let field = |k: &str| form.get(&format!("q{n}_{k}")).trim().to_owned();
        let text = field("text");
        if text.is_empty() {
            continue;
        }
        let id = match field("id") {
            id if id.is_empty() => format!("question{n}"),
            id => id,
        };
        let is_required = field("required") == "true";
        let q = match field("kind").as_str() {
            "text" | "" => {
                let pattern = field("pattern");
                Question::Text { id, text, is_required, regex_pattern: (!pattern.is_empty()).then_some(pattern) }
            }
            "choice" => {
                let choices: Vec<String> = field("choices").split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
                if choices.is_empty() {
                    return Err(ConsoleError::bad_request(format!("question {n}: a question answered with one of the choices needs its choices")));
                }
                Question::Choice { id, text, is_required, choices }
            }
            other => return Err(ConsoleError::bad_request(format!("question {n}: '{other}' is not text or choice"))),
        };
        if out.iter().any(|o: &Question| o.id() == q.id()) {
            return Err(ConsoleError::bad_request(format!("question {n}: another question has the id '{}'", q.id())));
        }
        out.push(q);
    }
    out.extend(kept.map(|k| k.questions.iter().skip(QUESTIONS).cloned().collect::<Vec<_>>()).unwrap_or_default());
    Ok(out)
}

/// The policy of the form, for package `package` with id `id`; `kept` is the stored
/// policy of an edit (what the form does not show stays).
async fn policy_of(
    st: &ConsoleState,
    session: &Session,
    form: &Form,
    id: PolicyId,
    package: &AccessPackage,
    kept: Option<&AssignmentPolicy>,
) -> ConsoleResult<AssignmentPolicy> {
    let name = form.get("name");
    if name.is_empty() {
        return Err(ConsoleError::bad_request("a policy needs a name"));
    }
    let scope_text = form.get("scope");
    let scope = SCOPES
        .iter()
        .find(|(_, v, _)| *v == scope_text)
        .map(|(s, _, _)| *s)
        .ok_or_else(|| ConsoleError::bad_request(format!("'{scope_text}' is not a kind of requestor")))?;
    let mut targets = Vec::new();
    if scope == TargetScope::SpecificDirectoryUsers {
        let group = form.get("group");
        let id: ObjectId = group.parse().map_err(|_| ConsoleError::bad_request(format!("'{group}' is not a group id (members of a group need one)")))?;
        targets.push(SubjectSet::GroupMembers { group_id: id });
    }
    if scope == TargetScope::SpecificConnectedOrganizationUsers {
        for (_, v) in form.0.iter().filter(|(k, _)| k == "org") {
            let id: ConnectedOrgId = v.parse().map_err(|_| ConsoleError::bad_request(format!("'{v}' is not a connected organization")))?;
            targets.push(SubjectSet::ConnectedOrganizationMembers { connected_organization_id: id });
        }
    }
    let mut stages = Vec::new();
    for n in 1..=3 {
        let kept_stage = kept.and_then(|k| k.request_approval_settings.stages.get(n - 1));
        if let Some(s) = stage_of(st, session, form, n, kept_stage).await? {
            stages.push(s);
        }
    }
    let approval = form.get("approval") == "true";
    let expiration = match form.get("expiration") {
        "never" | "" => Expiration::NoExpiration,
        "days" => {
            let d = form.get("days");
            Expiration::AfterDuration {
                duration: IsoDuration::days(d.parse().map_err(|_| ConsoleError::bad_request(format!("days '{d}' is not a whole number")))?),
            }
        }
        "date" => {
            let d = form.get("date");
            let date: jiff::civil::Date = d.parse().map_err(|_| ConsoleError::bad_request(format!("'{d}' is not a date (YYYY-MM-DD)")))?;
            let end = date.to_zoned(jiff::tz::TimeZone::UTC).map_err(|e| ConsoleError::bad_request(format!("'{d}': {e}")))?.timestamp();
            Expiration::AfterDateTime { end_date_time: end }
        }
        other => return Err(ConsoleError::bad_request(format!("'{other}' is not never, days or date"))),
    };
    Ok(AssignmentPolicy {
        id,
        access_package_id: package.id,
        display_name: name.to_owned(),
        description: form.get("description").to_owned(),
        allowed_target_scope: scope,
        specific_allowed_targets: targets,
        requestor_settings: RequestorSettings {
            enable_targets_to_self_add_access: form.get("self_add") == "true",
            enable_targets_to_self_update_access: form.get("self_update") == "true",
            enable_targets_to_self_remove_access: form.get("self_remove") == "true",
            allow_custom_assignment_schedule: kept.is_some_and(|k| k.requestor_settings.allow_custom_assignment_schedule),
        },
        request_approval_settings: ApprovalSettings {
            is_approval_required_for_add: approval,
            is_approval_required_for_update: approval,
            is_requestor_justification_required: form.get("justification") == "true",
            stages,
        },
        expiration,
        review_settings: kept.and_then(|k| k.review_settings.clone()),
        automatic_request_settings: kept.and_then(|k| k.automatic_request_settings),
        questions: questions_of(form, kept)?,
    })
}

/// `POST /admin/access/policies`: the policy of the form, stored by governance after the
/// policy's own checks (as `POST assignmentPolicies`).
async fn create_policy(State(st): State<Shared>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let g = gov(&st)?;
    let p =
        super::packages::find_package(&st, &session, form.get("package")).await.map_err(|_| ConsoleError::bad_request("choose an existing access package"))?;
    let policy = policy_of(&st, &session, &form, PolicyId::new(), &p, None).await?;
    g.put_policy(session.tenant.id, &policy).await?;
    let e = entry("Create assignment policy", AuditOperation::Add, "AccessPackageAssignmentPolicy", policy.id).named(Some(&policy.display_name)).change(
        "accessPackage",
        None,
        Some(p.id.to_string()),
    );
    audited(&st, &session, e).await;
    Ok(see_other(&format!("/admin/access/policies/{}", policy.id)))
}

/// `POST /admin/access/policies/{id}/edit`: the policy replaced by the form's, as `PUT
/// assignmentPolicies/{id}` replaces it; a refusal changes nothing.
async fn edit(State(st): State<Shared>, Path(id): Path<String>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let old = find_policy(&st, &session, &id).await?;
    let g = gov(&st)?;
    let p = g.access_package(session.tenant.id, old.access_package_id).await?;
    let policy = policy_of(&st, &session, &form, old.id, &p, Some(&old)).await?;
    let e = edits::replace_policy(g, session.tenant.id, &old, &policy).await?;
    audited(&st, &session, e).await;
    Ok(see_other(&format!("/admin/access/policies/{}", policy.id)))
}

async fn approver_text(st: &ConsoleState, session: &Session, s: &SubjectSet) -> String {
    match s {
        SubjectSet::SingleUser { user_id } => upn_of(st, session, *user_id).await,
        SubjectSet::GroupMembers { group_id } => format!("members of group {group_id}"),
        SubjectSet::RequestorManager { manager_level } => format!("the requestor's manager (level {manager_level})"),
        SubjectSet::InternalSponsors {} => "internal sponsors".into(),
        SubjectSet::ExternalSponsors {} => "external sponsors".into(),
        SubjectSet::ConnectedOrganizationMembers { connected_organization_id } => format!("people of connected organization {connected_organization_id}"),
        SubjectSet::AttributeRuleMembers { membership_rule } => format!("people passing {membership_rule}"),
    }
}

/// `GET /admin/access/policies/{id}`.
async fn policy(State(st): State<Shared>, session: Session, Path(id): Path<String>) -> ConsoleResult {
    session.admin()?;
    let x = find_policy(&st, &session, &id).await?;
    let mut targets = Vec::new();
    for t in &x.specific_allowed_targets {
        targets.push(approver_text(&st, &session, t).await);
    }
    let mut stages = Vec::new();
    for s in &x.request_approval_settings.stages {
        let mut who = Vec::new();
        for a in &s.primary_approvers {
            who.push(approver_text(&st, &session, a).await);
        }
        let mut fallback = Vec::new();
        for a in &s.fallback_primary_approvers {
            fallback.push(approver_text(&st, &session, a).await);
        }
        stages.push((who.join(", "), fallback.join(", "), s.duration_before_automatic_denial));
    }
    let r = &x.requestor_settings;
    let body = html! {
        dl.panel id="policy" {
            dt { "Access package" } dd { a href={"/admin/access/packages/" (x.access_package_id)} { "Open the package" } }
            dt { "Description" } dd { (x.description) }
            dt { "Who may request" } dd id="policy-scope" { (scope_text(x.allowed_target_scope)) @if !targets.is_empty() { ": " (targets.join(", ")) } }
            dt { "Requests" } dd { (if r.enable_targets_to_self_add_access { "enabled" } else { "disabled" }) (if r.enable_targets_to_self_update_access { ", may extend" } else { "" }) (if r.enable_targets_to_self_remove_access { ", may give up" } else { "" }) }
            dt { "Approval" } dd id="policy-approval" { (if x.request_approval_settings.is_approval_required_for_add { "required" } else { "not required" }) (if x.request_approval_settings.is_requestor_justification_required { ", with the requestor's justification" } else { "" }) }
            dt { "Expiration" } dd id="policy-expiration" { @match x.expiration { Expiration::NoExpiration => "never", Expiration::AfterDuration { duration } => { "after " (duration) }, Expiration::AfterDateTime { end_date_time } => { "on " (time(end_date_time)) } } }
        }
        @if writer(&session) { p { a.button href={"/admin/access/policies/" (x.id) "/edit"} id="edit-policy" { "Edit" } } }
        @if !stages.is_empty() {
            h2 id="stages-heading" { "Approval stages" }
            ol id="stages" aria-labelledby="stages-heading" { @for (who, fallback, days) in &stages { li { (who) @if !fallback.is_empty() { " (fallback: " (fallback) ")" } "; denied after " (days) " without a decision" } } }
        }
    };
    Ok(page::ok(&x.display_name, &session, "/admin/access/policies", body))
}
