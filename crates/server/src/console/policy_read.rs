//! The assignment policy's form read into an [`AssignmentPolicy`] ([`policy_of`]): the
//! fields' syntax (numbers, dates, userPrincipalNames of the tenant, kinds), each
//! refusal naming its field ([`Refusal`]). The policy's rules are not here: they are
//! the access crate's `AssignmentPolicy::check`, run by governance when the policy is
//! stored (through the admin API's own edit step for an edit).
use super::ConsoleState;
use super::policy_form::{QUESTIONS, Refusal, SCOPES, at};
use super::session::{Form, Session};
use tenantsync_access::{
    AccessPackage, ApprovalSettings, ApprovalStageSettings, AssignmentPolicy, AutomaticRequestSettings, ConnectedOrgId, Expiration, IsoDuration, NoResponse,
    PolicyId, Question, RequestorSettings, ReviewSettings, SubjectSet, TargetScope,
};
use tenantsync_domain::{ObjectId, Upn};

async fn user_id(st: &ConsoleState, session: &Session, who: &str, field: &str, what: &str) -> Result<ObjectId, Refusal> {
    let upn = Upn::parse(who).map_err(|_| at(field, format!("{what}: '{who}' is not a userPrincipalName")))?;
    let found = st.store.find_user_by_upn(session.tenant.id, &upn).await.map_err(|e| Refusal { field: Some(field.to_owned()), error: e.into() })?;
    Ok(found.filter(|u| !u.is_deleted()).ok_or_else(|| at(field, format!("{what}: '{who}' is not a user of the tenant")))?.id)
}

/// Users by a comma-separated list of userPrincipalNames (`field`'s).
async fn users(st: &ConsoleState, session: &Session, list: &str, field: &str, what: &str) -> Result<Vec<SubjectSet>, Refusal> {
    let mut out = Vec::new();
    for who in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        out.push(SubjectSet::SingleUser { user_id: user_id(st, session, who, field, what).await? });
    }
    Ok(out)
}

/// An approver of kind `kind` (field `fields.0`) with `who` (a user or a group, field
/// `fields.1`).
async fn approver(st: &ConsoleState, session: &Session, kind: &str, who: &str, fields: (&str, &str), what: &str) -> Result<Option<SubjectSet>, Refusal> {
    Ok(Some(match kind {
        "" => return Ok(None),
        "manager" => SubjectSet::RequestorManager { manager_level: 1 },
        "internalSponsors" => SubjectSet::InternalSponsors {},
        "externalSponsors" => SubjectSet::ExternalSponsors {},
        "user" => SubjectSet::SingleUser { user_id: user_id(st, session, who, fields.1, what).await? },
        "group" => SubjectSet::GroupMembers { group_id: who.parse().map_err(|_| at(fields.1, format!("{what}: '{who}' is not a group id")))? },
        other => return Err(at(fields.0, format!("{what}: '{other}' is not a kind of approver"))),
    }))
}

fn whole(text: &str, field: &str, what: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64, Refusal> {
    text.parse::<u64>().ok().filter(|d| range.contains(d)).ok_or_else(|| at(field, format!("{what} '{text}' is not from {} to {}", range.start(), range.end())))
}

/// Stage `n` of the form; `kept` is the stored stage of an edit, whose approvers'
/// justification and fallback escalation approvers (not shown) stay as they were.
async fn stage_of(
    st: &ConsoleState,
    session: &Session,
    form: &Form,
    n: usize,
    kept: Option<&ApprovalStageSettings>,
) -> Result<Option<ApprovalStageSettings>, Refusal> {
    let field = |k: &str| form.get(&format!("stage{n}_{k}")).to_owned();
    let what = format!("approval stage {n}");
    let fields = (format!("stage{n}-approver"), format!("stage{n}-who"));
    let Some(primary) = approver(st, session, &field("approver"), &field("who"), (&fields.0, &fields.1), &what).await? else { return Ok(None) };
    let fallback = users(st, session, &field("fallback"), &format!("stage{n}-fallback"), &format!("{what}, fallback")).await?;
    let days = match field("days").as_str() {
        "" => 14,
        d => whole(d, &format!("stage{n}-days"), &format!("{what}: days"), 1..=14)?,
    };
    let fields = (format!("stage{n}-escalation"), format!("stage{n}-escalation-who"));
    let escalation = approver(st, session, &field("escalation"), &field("escalation_who"), (&fields.0, &fields.1), &format!("{what}, escalation")).await?;
    let escalation_days = match (&escalation, field("escalation_days").as_str()) {
        (None, _) => 0,
        (Some(_), "") => return Err(at(format!("stage{n}-escalation-days"), format!("{what}: an escalation needs its days"))),
        (Some(_), d) => whole(d, &format!("stage{n}-escalation-days"), &format!("{what}: escalation days"), 1..=13)?,
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
    stage.is_escalation_enabled = escalation.is_some();
    stage.duration_before_escalation = IsoDuration::days(escalation_days);
    stage.escalation_approvers = escalation.into_iter().collect();
    Ok(Some(stage))
}

/// The questions of the form, then those of `kept` past what the form shows.
fn questions_of(form: &Form, kept: Option<&AssignmentPolicy>) -> Result<Vec<Question>, Refusal> {
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
                if !pattern.is_empty() && !pattern_compiles(&pattern) {
                    return Err(at(format!("q{n}-pattern"), format!("question {n}: the pattern '{pattern}' does not compile")));
                }
                Question::Text { id, text, is_required, regex_pattern: (!pattern.is_empty()).then_some(pattern) }
            }
            "choice" => {
                let choices: Vec<String> = field("choices").split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
                if choices.is_empty() {
                    return Err(at(format!("q{n}-choices"), format!("question {n}: a question answered with one of the choices needs its choices")));
                }
                Question::Choice { id, text, is_required, choices }
            }
            other => return Err(at(format!("q{n}-kind"), format!("question {n}: '{other}' is not text or choice"))),
        };
        if out.iter().any(|o: &Question| o.id() == q.id()) {
            return Err(at(format!("q{n}-text"), format!("question {n}: another question has the id '{}'", q.id())));
        }
        out.push(q);
    }
    out.extend(kept.map(|k| k.questions.iter().skip(QUESTIONS).cloned().collect::<Vec<_>>()).unwrap_or_default());
    Ok(out)
}

/// Whether a pattern compiles, by the policy's own check (one rule for the form and the
/// admin API): a throwaway policy with the one question.
fn pattern_compiles(pattern: &str) -> bool {
    let probe = Question::Text { id: "probe".into(), text: "probe".into(), is_required: false, regex_pattern: Some(pattern.to_owned()) };
    let mut p = probe_policy();
    p.questions = vec![probe];
    p.check().is_ok()
}

fn probe_policy() -> AssignmentPolicy {
    AssignmentPolicy {
        id: PolicyId::new(),
        access_package_id: tenantsync_access::PackageId::new(),
        display_name: "probe".into(),
        description: String::new(),
        allowed_target_scope: TargetScope::NotSpecified,
        specific_allowed_targets: Vec::new(),
        requestor_settings: RequestorSettings {
            enable_targets_to_self_add_access: false,
            enable_targets_to_self_update_access: false,
            enable_targets_to_self_remove_access: false,
            allow_custom_assignment_schedule: false,
        },
        request_approval_settings: ApprovalSettings {
            is_approval_required_for_add: false,
            is_approval_required_for_update: false,
            is_requestor_justification_required: false,
            stages: Vec::new(),
        },
        expiration: Expiration::NoExpiration,
        review_settings: None,
        automatic_request_settings: None,
        questions: Vec::new(),
    }
}

/// The review settings of the form: none when reviews are off and no start is given
/// (and none was kept); off with their schedule otherwise.
async fn review_of(st: &ConsoleState, session: &Session, form: &Form, kept: Option<&ReviewSettings>) -> Result<Option<ReviewSettings>, Refusal> {
    let on = form.get("review") == "true";
    let starts = form.get("review_starts");
    if !on && starts.is_empty() {
        return Ok(kept.map(|k| ReviewSettings { is_enabled: false, ..k.clone() }));
    }
    // A date and time (a date alone is its midnight), in UTC.
    let when: jiff::civil::DateTime = starts
        .parse()
        .or_else(|_| starts.parse::<jiff::civil::Date>().map(|d| d.to_datetime(jiff::civil::Time::midnight())))
        .map_err(|_| at("review-starts", format!("reviews start on a date and time (YYYY-MM-DDTHH:MM), not '{starts}'")))?;
    let start = when.to_zoned(jiff::tz::TimeZone::UTC).map_err(|e| at("review-starts", format!("'{starts}': {e}")))?.timestamp();
    let every = form.get("review_every");
    let months: u8 = every.parse().map_err(|_| at("review-every", format!("'{every}' is not a number of months")))?;
    let days = form.get("review_days");
    let days: u64 = days.parse().map_err(|_| at("review-days", format!("days '{days}' is not a whole number")))?;
    let (is_self_review, primary) = match form.get("review_reviewers") {
        "self" => (true, Vec::new()),
        "manager" => (false, vec![SubjectSet::RequestorManager { manager_level: 1 }]),
        "sponsors" => (false, vec![SubjectSet::InternalSponsors {}]),
        "users" => {
            let who = users(st, session, form.get("review_who"), "review-who", "reviewers").await?;
            if who.is_empty() {
                return Err(at("review-who", "reviewers: name at least one userPrincipalName".to_owned()));
            }
            (false, who)
        }
        "kept" => (kept.is_some_and(|k| k.is_self_review), kept.map(|k| k.primary_reviewers.clone()).unwrap_or_default()),
        other => return Err(at("review-reviewers", format!("'{other}' is not a kind of reviewer"))),
    };
    let fallback = users(st, session, form.get("review_fallback"), "review-fallback", "fallback reviewers").await?;
    let expiration_behavior = match form.get("review_no_response") {
        "keep" | "" => NoResponse::KeepAccess,
        "remove" => NoResponse::RemoveAccess,
        "recommendation" => NoResponse::AcceptAccessRecommendation,
        other => return Err(at("review-no-response", format!("'{other}' is not keep, remove or recommendation"))),
    };
    Ok(Some(ReviewSettings {
        is_enabled: on,
        start_date_time: start,
        recurrence_months: months,
        duration: IsoDuration::days(days),
        is_self_review,
        primary_reviewers: primary,
        fallback_reviewers: fallback,
        expiration_behavior,
        is_recommendation_enabled: form.get("review_recommendations") == "true",
        is_reviewer_justification_required: form.get("review_justification") == "true",
    }))
}

/// The policy of the form, for package `package` with id `id`; `kept` is the stored
/// policy of an edit (what the form does not show stays).
/// The automatic assignment the form asks for: its rule and settings, or none.
fn automatic_of(form: &Form) -> Result<Option<(String, AutomaticRequestSettings)>, Refusal> {
    if form.get("auto") != "true" {
        return Ok(None);
    }
    let rule = form.get("auto_rule");
    if rule.is_empty() {
        return Err(at("policy-rule", "automatic assignment needs a rule (a scoping filter such as department EQUALS Legal)".to_owned()));
    }
    let grace = form.get("auto_grace");
    let hours: u64 = if grace.is_empty() {
        0
    } else {
        grace
            .parse()
            .ok()
            .filter(|h| *h <= 8760)
            .ok_or_else(|| at("policy-auto-grace", format!("hours of grace '{grace}' is not a whole number from 0 to 8760")))?
    };
    Ok(Some((
        rule.to_owned(),
        AutomaticRequestSettings {
            request_access_for_allowed_targets: true,
            remove_access_when_target_leaves_allowed_targets: form.get("auto_remove") == "true",
            grace_period_before_access_removal: IsoDuration::hours(hours),
        },
    )))
}

pub(crate) async fn policy_of(
    st: &ConsoleState,
    session: &Session,
    form: &Form,
    id: PolicyId,
    package: &AccessPackage,
    kept: Option<&AssignmentPolicy>,
) -> Result<AssignmentPolicy, Refusal> {
    let name = form.get("name");
    if name.is_empty() {
        return Err(at("policy-name", "a policy needs a name".to_owned()));
    }
    let scope_text = form.get("scope");
    let scope = SCOPES
        .iter()
        .find(|(_, v, _)| *v == scope_text)
        .map(|(s, _, _)| *s)
        .ok_or_else(|| at("policy-scope", format!("'{scope_text}' is not a kind of requestor")))?;
    let mut targets = Vec::new();
    let automatic = automatic_of(form)?;
    if let Some((rule, _)) = &automatic {
        // An auto-assignment policy's requestors are those of its rule (Graph: specific
        // directory users, an attributeRuleMembers target); rules past the first kept.
        targets.push(SubjectSet::AttributeRuleMembers { membership_rule: rule.clone() });
        let more = kept.into_iter().flat_map(|k| &k.specific_allowed_targets).filter(|t| matches!(t, SubjectSet::AttributeRuleMembers { .. })).skip(1);
        targets.extend(more.cloned());
    } else if scope == TargetScope::SpecificDirectoryUsers {
        let group = form.get("group");
        let id: ObjectId = group.parse().map_err(|_| at("policy-group", format!("'{group}' is not a group id (members of a group need one)")))?;
        targets.push(SubjectSet::GroupMembers { group_id: id });
    }
    if scope == TargetScope::SpecificConnectedOrganizationUsers && automatic.is_none() {
        for (_, v) in form.0.iter().filter(|(k, _)| k == "org") {
            let id: ConnectedOrgId = v.parse().map_err(|_| at("policy-scope", format!("'{v}' is not a connected organization")))?;
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
            Expiration::AfterDuration { duration: IsoDuration::days(d.parse().map_err(|_| at("policy-days", format!("days '{d}' is not a whole number")))?) }
        }
        "date" => {
            let d = form.get("date");
            let date: jiff::civil::Date = d.parse().map_err(|_| at("policy-date", format!("'{d}' is not a date (YYYY-MM-DD)")))?;
            let end = date.to_zoned(jiff::tz::TimeZone::UTC).map_err(|e| at("policy-date", format!("'{d}': {e}")))?.timestamp();
            Expiration::AfterDateTime { end_date_time: end }
        }
        other => return Err(at("policy-expiration", format!("'{other}' is not never, days or date"))),
    };
    Ok(AssignmentPolicy {
        id,
        access_package_id: package.id,
        display_name: name.to_owned(),
        description: form.get("description").to_owned(),
        allowed_target_scope: if automatic.is_some() { TargetScope::SpecificDirectoryUsers } else { scope },
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
        review_settings: review_of(st, session, form, kept.and_then(|k| k.review_settings.as_ref())).await?,
        automatic_request_settings: automatic.map(|(_, settings)| settings),
        questions: questions_of(form, kept)?,
    })
}
