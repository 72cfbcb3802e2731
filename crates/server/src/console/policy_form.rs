//! The assignment policy's form: who may request, whether requests are on, extend and
//! give up, approval with up to three stages (each with its automatic denial, its
//! fallback approver and its escalation), up to three questions, expiration, and access
//! reviews (on or off, start, recurrence, duration, reviewers and fallback reviewers,
//! what happens when no one answers, recommendations, reviewers' justification). The
//! form reads into an [`AssignmentPolicy`]; its rules are the access crate's
//! (`AssignmentPolicy::check`, through governance's `put_policy` and the admin API's own
//! edit step), so the form and `PUT assignmentPolicies/{id}` refuse the same things.
//!
//! Or, instead of requests, **automatic assignment** (Graph's `automaticRequestSettings`):
//! the users of this tenant who pass a rule (a scoping filter of the expression language,
//! `department EQUALS Legal`) are assigned, and removed after a grace period when they
//! stop passing; the policy's requestors are then those of its rule.
//!
//! A refusal shows the form again with what was typed, the error at the top and next to
//! the field it is about ([`Refusal`]); nothing is saved. What the form does not show
//! (questions past the third, reviewers of kinds it does not offer, rules past the first)
//! is kept as it was.
use super::access::upn_of;
use super::kit::refusal;
use super::page::csrf;
use super::session::{Form, Session};
use super::{ConsoleError, ConsoleResult, ConsoleState};
use maud::{Markup, html};
use tenantsync_access::{AccessPackage, AssignmentPolicy, ConnectedOrganization, Expiration, IsoDuration, NoResponse, Question, SubjectSet, TargetScope};

pub(super) const SCOPES: [(TargetScope, &str, &str); 7] = [
    (TargetScope::NotSpecified, "notSpecified", "No one requests (administrators assign)"),
    (TargetScope::AllMemberUsers, "allMemberUsers", "Members of this tenant"),
    (TargetScope::AllDirectoryUsers, "allDirectoryUsers", "Everyone in this tenant, guests included"),
    (TargetScope::SpecificDirectoryUsers, "specificDirectoryUsers", "Members of a group of this tenant"),
    (TargetScope::SpecificConnectedOrganizationUsers, "specificConnectedOrganizationUsers", "People of chosen connected organizations"),
    (TargetScope::AllConfiguredConnectedOrganizationUsers, "allConfiguredConnectedOrganizationUsers", "People of every configured connected organization"),
    (TargetScope::AllExternalUsers, "allExternalUsers", "Anyone from outside"),
];

fn scope_key(s: TargetScope) -> &'static str {
    SCOPES.iter().find(|(x, _, _)| *x == s).map_or("notSpecified", |(_, k, _)| k)
}

const APPROVERS: [(&str, &str); 6] = [
    ("", "No approval at this stage"),
    ("manager", "The requestor's manager"),
    ("internalSponsors", "The internal sponsors of the requestor's organization"),
    ("externalSponsors", "The external sponsors of the requestor's organization"),
    ("user", "A user (userPrincipalName below)"),
    ("group", "Members of a group (its id below)"),
];

const REVIEWERS: [(&str, &str); 4] = [
    ("self", "Each person reviews their own access"),
    ("manager", "Their manager"),
    ("sponsors", "The sponsors of their organization"),
    ("users", "Specific users (below)"),
];

const EVERY: [(&str, &str); 4] = [("1", "Every month"), ("3", "Every 3 months"), ("6", "Every 6 months"), ("12", "Every year")];

const NO_RESPONSE: [(&str, &str); 3] =
    [("keep", "Approve: access stays"), ("remove", "Deny: access is removed"), ("recommendation", "Take the recommendation")];

/// A refused form: the error, and the id of the field it is about (shown next to it).
#[derive(Debug)]
pub(super) struct Refusal {
    pub field: Option<String>,
    pub error: ConsoleError,
}

pub(super) fn at(field: impl Into<String>, message: String) -> Refusal {
    Refusal { field: Some(field.into()), error: ConsoleError::bad_request(message) }
}

impl Refusal {
    /// A refusal of governance's or the edit step's (the policy's own rules): next to the
    /// field its words name, when they name one.
    pub fn of(error: ConsoleError) -> Refusal {
        let message = match &error {
            ConsoleError::Graph(g) => g.message.clone(),
            ConsoleError::SignIn { .. } => String::new(),
        };
        Refusal { field: field_of(&message), error }
    }
}

/// The field a rule's message is about (`approval stage 2 escalates …` is stage 2's
/// escalation), or none: the message is then shown at the top only.
fn field_of(message: &str) -> Option<String> {
    let stage = (1..=3).find(|n| message.contains(&format!("approval stage {n} ")));
    let pick = |s: &str| Some(s.to_owned());
    match stage {
        Some(n) if message.contains("escalates to no one") => Some(format!("stage{n}-escalation")),
        Some(n) if message.contains("escalates only after") => Some(format!("stage{n}-escalation-days")),
        Some(n) if message.contains("time before automatic denial") => Some(format!("stage{n}-days")),
        Some(n) => Some(format!("stage{n}-approver")),
        None if message.contains("no approval stage") => pick("policy-approval"),
        None if message.contains("assignments must last") => pick("policy-days"),
        None if message.contains("reviews recur") => pick("review-every"),
        None if message.contains("each review lasts") => pick("review-days"),
        None if message.contains("name no reviewers") => pick("review-reviewers"),
        None if message.contains("attribute rule") => pick("policy-rule"),
        None if message.contains("scope") => pick("policy-scope"),
        None => None,
    }
}

/// The values a stage's fields show: none for a new policy, the stage's for an edit.
#[derive(Debug, Clone)]
struct StageValues {
    approver: String,
    who: String,
    fallback: String,
    days: String,
    escalation: String,
    escalation_who: String,
    escalation_days: String,
}

impl Default for StageValues {
    fn default() -> StageValues {
        StageValues {
            approver: String::new(),
            who: String::new(),
            fallback: String::new(),
            days: "14".into(),
            escalation: String::new(),
            escalation_who: String::new(),
            escalation_days: String::new(),
        }
    }
}

/// Questions the form shows (a policy given more through the admin API keeps the rest).
pub(super) const QUESTIONS: usize = 3;

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

/// The review fields.
#[derive(Debug, Clone)]
struct ReviewValues {
    on: bool,
    starts: String,
    every: String,
    days: String,
    reviewers: String,
    who: String,
    fallback: String,
    no_response: String,
    recommendations: bool,
    justification: bool,
}

impl Default for ReviewValues {
    fn default() -> ReviewValues {
        ReviewValues {
            on: false,
            starts: String::new(),
            every: "3".into(),
            days: "14".into(),
            reviewers: "manager".into(),
            who: String::new(),
            fallback: String::new(),
            no_response: "keep".into(),
            recommendations: true,
            justification: true,
        }
    }
}

/// What a policy's form shows.
#[derive(Debug, Clone, Default)]
pub(super) struct Values {
    name: String,
    description: String,
    scope: String,
    group: String,
    orgs: Vec<String>,
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
    review: ReviewValues,
    auto: AutoValues,
}

/// The automatic assignment's fields.
#[derive(Debug, Clone, Default)]
struct AutoValues {
    on: bool,
    rule: String,
    remove: bool,
    grace_hours: String,
}

impl Values {
    /// A new policy's defaults: members request, no approval, no end, no reviews.
    pub fn new() -> Values {
        Values { scope: "allMemberUsers".into(), self_add: true, self_remove: true, expiration: "never".into(), ..Values::default() }
    }

    /// What was typed, to show again with a refusal.
    pub fn typed(form: &Form) -> Values {
        let f = |k: &str| form.get(k).to_owned();
        let on = |k: &str| form.get(k) == "true";
        let stage = |n: usize| {
            let g = |k: &str| f(&format!("stage{n}_{k}"));
            StageValues {
                approver: g("approver"),
                who: g("who"),
                fallback: g("fallback"),
                days: g("days"),
                escalation: g("escalation"),
                escalation_who: g("escalation_who"),
                escalation_days: g("escalation_days"),
            }
        };
        let question = |n: usize| {
            let g = |k: &str| f(&format!("q{n}_{k}"));
            QuestionValues { id: g("id"), text: g("text"), kind: g("kind"), choices: g("choices"), pattern: g("pattern"), required: g("required") == "true" }
        };
        Values {
            name: f("name"),
            description: f("description"),
            scope: f("scope"),
            group: f("group"),
            orgs: form.0.iter().filter(|(k, _)| k == "org").map(|(_, v)| v.clone()).collect(),
            self_add: on("self_add"),
            self_update: on("self_update"),
            self_remove: on("self_remove"),
            approval: on("approval"),
            justification: on("justification"),
            stages: [stage(1), stage(2), stage(3)],
            questions: [question(1), question(2), question(3)],
            expiration: f("expiration"),
            days: f("days"),
            date: f("date"),
            auto: AutoValues { on: on("auto"), rule: f("auto_rule"), remove: on("auto_remove"), grace_hours: f("auto_grace") },
            review: ReviewValues {
                on: on("review"),
                starts: f("review_starts"),
                every: f("review_every"),
                days: f("review_days"),
                reviewers: f("review_reviewers"),
                who: f("review_who"),
                fallback: f("review_fallback"),
                no_response: f("review_no_response"),
                recommendations: on("review_recommendations"),
                justification: on("review_justification"),
            },
        }
    }
}

/// Whole days of a duration (rounded up).
fn days_of(d: IsoDuration) -> u64 {
    d.as_seconds().div_ceil(86_400)
}

/// An approver as the form's kind and "who" field.
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

async fn upns(st: &ConsoleState, session: &Session, sets: &[SubjectSet]) -> String {
    let mut out = Vec::new();
    for s in sets {
        if let SubjectSet::SingleUser { user_id } = s {
            out.push(upn_of(st, session, *user_id).await);
        }
    }
    out.join(", ")
}

/// The form's values of a stored policy.
pub(super) async fn values_of(st: &ConsoleState, session: &Session, x: &AssignmentPolicy) -> Values {
    let mut stages: [StageValues; 3] = Default::default();
    for (v, s) in stages.iter_mut().zip(&x.request_approval_settings.stages) {
        let (approver, who) = approver_values(st, session, s.primary_approvers.first()).await;
        let (escalation, escalation_who) =
            if s.is_escalation_enabled { approver_values(st, session, s.escalation_approvers.first()).await } else { (String::new(), String::new()) };
        *v = StageValues {
            approver,
            who,
            fallback: upns(st, session, &s.fallback_primary_approvers).await,
            days: days_of(s.duration_before_automatic_denial).to_string(),
            escalation,
            escalation_who,
            escalation_days: if s.is_escalation_enabled { days_of(s.duration_before_escalation).to_string() } else { String::new() },
        };
    }
    let (expiration, days, date) = match x.expiration {
        Expiration::NoExpiration => ("never", String::new(), String::new()),
        Expiration::AfterDuration { duration } => ("days", days_of(duration).to_string(), String::new()),
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
            SubjectSet::ConnectedOrganizationMembers { connected_organization_id } => Some(connected_organization_id.to_string()),
            _ => None,
        })
        .collect();
    let mut questions: [QuestionValues; QUESTIONS] = Default::default();
    for (v, q) in questions.iter_mut().zip(&x.questions) {
        *v = QuestionValues::of(q);
    }
    let review = match &x.review_settings {
        None => ReviewValues::default(),
        Some(r) => ReviewValues {
            on: r.is_enabled,
            starts: r.start_date_time.to_zoned(jiff::tz::TimeZone::UTC).strftime("%Y-%m-%dT%H:%M:%S").to_string(),
            every: r.recurrence_months.to_string(),
            days: days_of(r.duration).to_string(),
            reviewers: match r.primary_reviewers.first() {
                _ if r.is_self_review => "self".into(),
                Some(SubjectSet::RequestorManager { .. }) => "manager".into(),
                Some(SubjectSet::InternalSponsors {}) => "sponsors".into(),
                Some(SubjectSet::SingleUser { .. }) => "users".into(),
                // Kinds the form does not offer stay as they are.
                _ => "kept".into(),
            },
            who: upns(st, session, &r.primary_reviewers).await,
            fallback: upns(st, session, &r.fallback_reviewers).await,
            no_response: match r.expiration_behavior {
                NoResponse::RemoveAccess => "remove",
                NoResponse::AcceptAccessRecommendation => "recommendation",
                NoResponse::KeepAccess | NoResponse::UnknownFutureValue => "keep",
            }
            .into(),
            recommendations: r.is_recommendation_enabled,
            justification: r.is_reviewer_justification_required,
        },
    };
    let auto = match &x.automatic_request_settings {
        None => AutoValues::default(),
        Some(a) => AutoValues {
            on: a.request_access_for_allowed_targets,
            rule: x
                .specific_allowed_targets
                .iter()
                .find_map(|t| match t {
                    SubjectSet::AttributeRuleMembers { membership_rule } => Some(membership_rule.clone()),
                    _ => None,
                })
                .unwrap_or_default(),
            remove: a.remove_access_when_target_leaves_allowed_targets,
            grace_hours: (a.grace_period_before_access_removal.as_seconds() / 3600).to_string(),
        },
    };
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
        review,
        auto,
    }
}

/// The labelled fields of the form, each with the refusal's message next to it when the
/// refusal is about it (`aria-invalid`, and described by the message).
struct Fields<'a> {
    refused: Option<&'a Refusal>,
}

impl Fields<'_> {
    fn error(&self, id: &str) -> Option<String> {
        let r = self.refused.filter(|r| r.field.as_deref() == Some(id))?;
        Some(match &r.error {
            ConsoleError::Graph(g) => g.message.clone(),
            ConsoleError::SignIn { .. } => "sign in again".to_owned(),
        })
    }

    fn note(id: &str, error: Option<&str>) -> Markup {
        html! { @if let Some(m) = error { p.error id={(id) "-error"} { (m) } } }
    }

    fn input(&self, id: &str, label: &str, name: &str, kind: &str, value: &str, range: Option<(u32, u32)>) -> Markup {
        let e = self.error(id);
        let described = e.as_ref().map(|_| format!("{id}-error"));
        html! {
            div {
                label for=(id) { (label) }
                input id=(id) name=(name) type=(kind) value=(value) min=[range.map(|r| r.0)] max=[range.map(|r| r.1)] step=[(kind == "datetime-local").then_some("1")]
                    aria-invalid=[e.as_ref().map(|_| "true")] aria-describedby=[described];
                (Self::note(id, e.as_deref()))
            }
        }
    }

    fn text(&self, id: &str, label: &str, name: &str, value: &str) -> Markup {
        self.input(id, label, name, "text", value, None)
    }

    fn select(&self, id: &str, label: &str, name: &str, current: &str, options: &[(&str, &str)]) -> Markup {
        let e = self.error(id);
        let described = e.as_ref().map(|_| format!("{id}-error"));
        html! {
            div {
                label for=(id) { (label) }
                select id=(id) name=(name) aria-invalid=[e.as_ref().map(|_| "true")] aria-describedby=[described] {
                    @for (v, text) in options { option value=(v) selected[*v == current] { (text) } }
                }
                (Self::note(id, e.as_deref()))
            }
        }
    }

    fn checkbox(&self, id: &str, label: &str, name: &str, checked: bool) -> Markup {
        let e = self.error(id);
        let described = e.as_ref().map(|_| format!("{id}-error"));
        html! {
            div {
                input id=(id) name=(name) type="checkbox" value="true" checked[checked] aria-invalid=[e.as_ref().map(|_| "true")] aria-describedby=[described];
                " " label.inline-label for=(id) { (label) }
                (Self::note(id, e.as_deref()))
            }
        }
    }
}

fn question_fields(f: &Fields<'_>, n: usize, v: &QuestionValues) -> Markup {
    let kind = if v.kind.is_empty() { "text" } else { v.kind.as_str() };
    html! {
        fieldset {
            legend { "Question " (n) }
            input type="hidden" name={"q" (n) "_id"} value=(v.id);
            (f.text(&format!("q{n}-text"), "The question (empty: none)", &format!("q{n}_text"), &v.text))
            (f.select(&format!("q{n}-kind"), "Answered with", &format!("q{n}_kind"), kind, &[("text", "A text answer"), ("choice", "One of the choices")]))
            (f.text(&format!("q{n}-choices"), "Choices, separated by commas (for one of the choices)", &format!("q{n}_choices"), &v.choices))
            (f.text(&format!("q{n}-pattern"), "A pattern the whole text answer must match (a regular expression, optional)", &format!("q{n}_pattern"), &v.pattern))
            (f.checkbox(&format!("q{n}-required"), "Requestors must answer it", &format!("q{n}_required"), v.required))
        }
    }
}

fn stage_fields(f: &Fields<'_>, n: usize, v: &StageValues) -> Markup {
    let escalations: Vec<(&str, &str)> = APPROVERS.iter().map(|(k, t)| if k.is_empty() { (*k, "No escalation") } else { (*k, *t) }).collect();
    html! {
        fieldset {
            legend { "Approval stage " (n) }
            (f.select(&format!("stage{n}-approver"), "Approvers", &format!("stage{n}_approver"), &v.approver, &APPROVERS))
            (f.text(&format!("stage{n}-who"), "The user or group (for those kinds)", &format!("stage{n}_who"), &v.who))
            (f.text(&format!("stage{n}-fallback"), "Fallback approver when none is found (userPrincipalName, optional)", &format!("stage{n}_fallback"), &v.fallback))
            (f.input(&format!("stage{n}-days"), "Days before the request is denied without a decision", &format!("stage{n}_days"), "number", &v.days, Some((1, 14))))
            (f.select(&format!("stage{n}-escalation"), "Escalate to, when the approvers have not decided", &format!("stage{n}_escalation"), &v.escalation, &escalations))
            (f.text(&format!("stage{n}-escalation-who"), "The escalation's user or group (for those kinds)", &format!("stage{n}_escalation_who"), &v.escalation_who))
            (f.input(&format!("stage{n}-escalation-days"), "Days before escalating (fewer than the days before denial)", &format!("stage{n}_escalation_days"), "number", &v.escalation_days, Some((1, 13))))
        }
    }
}

fn review_fields(f: &Fields<'_>, v: &ReviewValues) -> Markup {
    let mut reviewers: Vec<(&str, &str)> = REVIEWERS.to_vec();
    if v.reviewers == "kept" {
        reviewers.push(("kept", "As set through the admin API (kept)"));
    }
    // A recurrence set through the admin API that the list does not offer stays offered.
    let other = format!("Every {} months", v.every);
    let mut every: Vec<(&str, &str)> = EVERY.to_vec();
    if !EVERY.iter().any(|(k, _)| *k == v.every) {
        every.push((v.every.as_str(), other.as_str()));
    }
    html! {
        fieldset id="reviews" {
            legend { "Access reviews" }
            (f.checkbox("review-on", "Assignments are reviewed", "review", v.on))
            (f.input("review-starts", "First review starts (UTC; a review covers the access held then)", "review_starts", "datetime-local", &v.starts, None))
            (f.select("review-every", "Reviews recur", "review_every", &v.every, &every))
            (f.input("review-days", "Days each review lasts", "review_days", "number", &v.days, Some((1, 365))))
            (f.select("review-reviewers", "Reviewers", "review_reviewers", &v.reviewers, &reviewers))
            (f.text("review-who", "The reviewers' userPrincipalNames, separated by commas (for specific users)", "review_who", &v.who))
            (f.text("review-fallback", "Fallback reviewers when none is found (userPrincipalNames, separated by commas, optional)", "review_fallback", &v.fallback))
            (f.select("review-no-response", "When a reviewer does not answer", "review_no_response", &v.no_response, &NO_RESPONSE))
            (f.checkbox("review-recommendations", "Reviewers see recommendations", "review_recommendations", v.recommendations))
            (f.checkbox("review-justification", "Reviewers must justify their decisions", "review_justification", v.justification))
        }
    }
}

fn auto_fields(f: &Fields<'_>, v: &AutoValues) -> Markup {
    let e = f.error("policy-rule");
    html! {
        fieldset id="automatic" {
            legend { "Automatic assignment" }
            (f.checkbox("policy-auto", "Assign automatically to the users of this tenant who pass a rule (instead of requests)", "auto", v.on))
            div {
                label for="policy-rule" { "Rule: a scoping filter, one clause a line (" code { "department EQUALS Legal" } "; a line " code { "OR" } " starts another group)" }
                textarea id="policy-rule" name="auto_rule" rows="3" aria-invalid=[e.as_ref().map(|_| "true")] aria-describedby=[e.as_ref().map(|_| "policy-rule-error")] { (v.rule) }
                (Fields::note("policy-rule", e.as_deref()))
            }
            (f.checkbox("policy-auto-remove", "Remove the assignment when they stop passing the rule", "auto_remove", v.remove))
            (f.input("policy-auto-grace", "Hours of grace before that removal (passing again within them keeps the assignment)", "auto_grace", "number", &v.grace_hours, Some((0, 8760))))
        }
    }
}

pub(super) use super::policy_read::policy_of;

/// The policy form: `action` and its button, over `v`, with `refused`'s error when the
/// form was refused.
pub(super) fn form_of(
    session: &Session,
    action: &str,
    button: (&str, &str),
    p: &AccessPackage,
    orgs: &[ConnectedOrganization],
    v: &Values,
    refused: Option<&Refusal>,
) -> Markup {
    let f = Fields { refused };
    let scopes: Vec<(&str, &str)> = SCOPES.iter().map(|(_, v, t)| (*v, *t)).collect();
    let expirations = [("never", "Never"), ("days", "After a number of days"), ("date", "On a date")];
    html! {
        @if let Some(r) = refused { (refusal(&r.error)) }
        p { "Access package: " a href={"/admin/access/packages/" (p.id)} { (p.display_name) } }
        form.stack method="post" action=(action) id="policy-form" aria-label="Assignment policy" {
            (csrf(session))
            input type="hidden" name="package" value=(p.id);
            (f.text("policy-name", "Name", "name", &v.name))
            (f.text("policy-description", "Description", "description", &v.description))
            fieldset {
                legend { "Who may request" }
                (f.select("policy-scope", "Requestors", "scope", &v.scope, &scopes))
                (f.text("policy-group", "The group's id, for members of a group", "group", &v.group))
                @if !orgs.is_empty() {
                    p { "The connected organizations, for people of chosen ones:" }
                    @for (i, o) in orgs.iter().enumerate() {
                        @let id = o.id.to_string();
                        div { input id={"org-" (i)} name="org" type="checkbox" value=(id) checked[v.orgs.contains(&id)]; " " label.inline-label for={"org-" (i)} { (o.display_name) } }
                    }
                }
                (f.checkbox("policy-self-add", "Requests are enabled", "self_add", v.self_add))
                (f.checkbox("policy-self-update", "Requestors may extend their assignment", "self_update", v.self_update))
                (f.checkbox("policy-self-remove", "Requestors may give it up", "self_remove", v.self_remove))
            }
            fieldset {
                legend { "Approval" }
                (f.checkbox("policy-approval", "Requests need approval", "approval", v.approval))
                (f.checkbox("policy-justification", "Requestors must give a justification", "justification", v.justification))
                @for (i, s) in v.stages.iter().enumerate() { (stage_fields(&f, i + 1, s)) }
            }
            fieldset {
                legend { "Questions to the requestor" }
                @for (i, q) in v.questions.iter().enumerate() { (question_fields(&f, i + 1, q)) }
            }
            fieldset {
                legend { "Expiration" }
                (f.select("policy-expiration", "Assignments end", "expiration", &v.expiration, &expirations))
                (f.input("policy-days", "Days (for after a number of days)", "days", "number", &v.days, Some((1, 3660))))
                (f.input("policy-date", "Date (YYYY-MM-DD, for on a date)", "date", "date", &v.date, None))
            }
            (auto_fields(&f, &v.auto))
            (review_fields(&f, &v.review))
            div { button type="submit" id=(button.0) { (button.1) } }
        }
    }
}

/// A refused form's page: the form again with what was typed.
pub(super) fn refused_page(
    title: &str,
    session: &Session,
    page: (&str, (&str, &str)),
    p: &AccessPackage,
    orgs: &[ConnectedOrganization],
    form: &Form,
    r: &Refusal,
) -> ConsoleResult {
    let body = form_of(session, page.0, page.1, p, orgs, &Values::typed(form), Some(r));
    Ok(super::page::page(super::kit::status_of(&r.error), title, Some(session), "/admin/access/policies", body))
}
