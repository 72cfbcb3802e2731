//! The parts of an assignment policy beyond who requests and who approves: approval
//! stages in full (their own denial time and escalation), questions with typed answers,
//! recurring access reviews, and auto-assignment by a rule. Declared by names (reviewers
//! and escalation approvers by userPrincipalName, `group:NAME`, or a role), read into
//! states compared setting by setting, and written back by [`crate::packages`]'s export.
use crate::error::{Problem, ProblemKind};
use crate::model::unspanned;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use toml::Spanned;

/// One approval stage written in full (instead of `approvers` and `approval_days`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// Its approvers: "sponsors", "external-sponsors", "manager", "manager2", a
    /// userPrincipalName, or "group:NAME".
    pub approvers: Vec<String>,
    /// Days the stage waits for a decision before the request is denied (default 14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_days: Option<u32>,
    /// With no decision after some days, the request also goes to other approvers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<EscalationSpec>,
}

/// A stage's escalation: after `after_days` (fewer than the stage's `approval_days`), the
/// request goes to `to` as well.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationSpec {
    pub after_days: u32,
    /// Approvers, named as a stage's.
    #[schemars(with = "Vec<String>")]
    pub to: Vec<Spanned<String>>,
}

/// A question a requestor answers: with text (optionally matching `pattern`), or by
/// picking one of `choices`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionSpec {
    #[schemars(with = "String")]
    pub text: Spanned<String>,
    /// An answer is required (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// A multiple-choice question's answers; without them the answer is text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// A text answer must match this regular expression as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

/// What happens to an assignment no reviewer decided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NoResponseSpec {
    /// It stays (the default).
    Keep,
    /// It ends.
    Remove,
    /// It follows the recommendation (ends when the person was not active lately).
    Recommendation,
}

/// Recurring access reviews of the policy's assignments.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewSpec {
    /// When the first review opens: a date ("2027-01-01", midnight UTC) or an RFC 3339 time.
    #[schemars(with = "String")]
    pub starts: Spanned<String>,
    /// Months between reviews: 1, 3 (default), 6 or 12.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_months: Option<u8>,
    /// Days each review is open (default 14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_days: Option<u32>,
    /// Who reviews: "self" (alone), or any of "manager", "manager2", "sponsors",
    /// "external-sponsors", a userPrincipalName, "group:NAME".
    #[schemars(with = "Vec<String>")]
    pub reviewers: Vec<Spanned<String>>,
    /// Who reviews when `reviewers` are no one for a person (no manager), named alike.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<String>")]
    pub fallback_reviewers: Vec<Spanned<String>>,
    /// The decision when no reviewer answers (default "keep").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_response: Option<NoResponseSpec>,
    /// Reviewers see a recommendation (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendations: Option<bool>,
    /// Reviewers justify an approval (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<bool>,
    /// Reviews are switched on (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// Auto-assignment: everyone of the tenant who passes `rule` is assigned; someone who
/// stops passing it loses the assignment after `grace_days`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoSpec {
    /// A scoping filter ([expression-language.md]): clauses joined by AND, groups by a
    /// line `OR`.
    #[schemars(with = "String")]
    pub rule: Spanned<String>,
    /// Days before an assignment ends once its holder stops passing (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_days: Option<u32>,
    /// Whether it ends at all then (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_when_leaving: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationState {
    pub after_days: u32,
    /// Approvers, sorted.
    pub to: Vec<String>,
}

/// A stage's settings beyond its approvers (which stay in [`crate::packages::PolicyState::approvers`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageState {
    pub approval_days: u32,
    pub escalation: Option<EscalationState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionState {
    pub text: String,
    pub required: bool,
    /// In the order given; empty for a text question.
    pub choices: Vec<String>,
    pub pattern: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewState {
    /// "YYYY-MM-DD" for midnight UTC, else an RFC 3339 time in UTC.
    pub starts: String,
    pub every_months: u8,
    pub duration_days: u32,
    /// Sorted; ["self"] for a self review.
    pub reviewers: Vec<String>,
    pub fallback_reviewers: Vec<String>,
    pub no_response: NoResponseSpec,
    pub recommendations: bool,
    pub justification: bool,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoState {
    /// The rule's text, trimmed.
    pub rule: String,
    pub grace_days: u32,
    pub remove_when_leaving: bool,
}

/// A review's default months between instances.
pub const DEFAULT_REVIEW_MONTHS: u8 = 3;
/// A review's default days open.
pub const DEFAULT_REVIEW_DAYS: u32 = 14;

/// The roles a reviewer or approver may be named by, besides a UPN and `group:NAME`.
const ROLES: &[&str] = &["manager", "manager2", "sponsors", "external-sponsors"];

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort_by_key(|s| s.to_ascii_lowercase());
    v
}

/// A person or set named in the file, checked for its form: a role, `group:NAME`, or a
/// userPrincipalName (whether it exists is the store's to say, before apply writes).
fn who(name: &Spanned<String>, what: &str) -> Result<String, Problem> {
    let n = name.get_ref().trim();
    let known = ROLES.iter().any(|r| r.eq_ignore_ascii_case(n))
        || n.strip_prefix("group:").is_some_and(|g| !g.trim().is_empty())
        || n.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
    if !known {
        let message = format!("unknown {what} '{n}': a userPrincipalName, group:NAME, or one of {}", ROLES.join(", "));
        return Err(Problem::new(ProblemKind::InvalidSetting, name.span(), message));
    }
    Ok(if n.contains('@') { n.to_ascii_lowercase() } else { n.to_owned() })
}

/// "YYYY-MM-DD" or an RFC 3339 time, normalized as [`ReviewState::starts`] keeps it.
pub fn normalize_start(text: &str) -> Option<String> {
    let t = text.trim();
    let ts = match t.parse::<jiff::civil::Date>() {
        Ok(d) if t.len() == 10 => d.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp(),
        _ => t.parse::<jiff::Timestamp>().ok()?,
    };
    Some(start_text(ts))
}

/// How the file writes a review's first start.
pub fn start_text(ts: jiff::Timestamp) -> String {
    let z = ts.to_zoned(jiff::tz::TimeZone::UTC);
    if z.time() == jiff::civil::Time::midnight() { z.date().to_string() } else { ts.to_string() }
}

/// The time of a normalized start.
pub fn start_time(text: &str) -> Option<jiff::Timestamp> {
    match text.parse::<jiff::civil::Date>() {
        Ok(d) if text.len() == 10 => d.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp()),
        _ => text.parse().ok(),
    }
}

/// The stages of a policy: `approvers` with `approval_days` (the short form), or `stages`.
pub fn resolve_stages(
    approvers: &[Vec<String>],
    approval_days: Option<u32>,
    stages: &[StageSpec],
    span: std::ops::Range<usize>,
    policy: &str,
) -> Result<(Vec<Vec<String>>, Vec<StageState>), Problem> {
    let bad = |span: std::ops::Range<usize>, m: String| Problem::new(ProblemKind::InvalidSetting, span, format!("policy '{policy}': {m}"));
    if !stages.is_empty() && (!approvers.is_empty() || approval_days.is_some()) {
        return Err(bad(span, "give either approvers (and approval_days) or stages, not both".into()));
    }
    if stages.is_empty() && approvers.is_empty() && approval_days.is_some() {
        // Without approval there is nothing to decide in so many days: the live policy
        // keeps no such setting, so the file would differ from it on every plan.
        return Err(bad(span, "approval_days is given without approvers (a policy without approval has no approval days)".into()));
    }
    if stages.is_empty() {
        let days = approval_days.unwrap_or(crate::packages::DEFAULT_APPROVAL_DAYS);
        let names = approvers.iter().map(|a| sorted(a.iter().map(|s| s.trim().to_owned()).collect())).collect();
        return Ok((names, approvers.iter().map(|_| StageState { approval_days: days, escalation: None }).collect()));
    }
    let (mut names, mut out) = (Vec::new(), Vec::new());
    for (i, s) in stages.iter().enumerate() {
        let days = s.approval_days.unwrap_or(crate::packages::DEFAULT_APPROVAL_DAYS);
        if days == 0 {
            return Err(bad(span, format!("stage {} waits 0 days", i + 1)));
        }
        let escalation = match &s.escalation {
            None => None,
            Some(e) => {
                let at = e.to.first().map_or(span.clone(), Spanned::span);
                if e.to.is_empty() {
                    return Err(bad(at, format!("stage {} escalates to no one", i + 1)));
                }
                if e.after_days == 0 || e.after_days >= days {
                    return Err(bad(at, format!("stage {}: escalation after_days must be 1 to {} (fewer than approval_days)", i + 1, days.saturating_sub(1))));
                }
                let mut to = Vec::new();
                for n in &e.to {
                    to.push(who(n, "escalation approver")?);
                }
                Some(EscalationState { after_days: e.after_days, to: sorted(to) })
            }
        };
        names.push(sorted(s.approvers.iter().map(|a| a.trim().to_owned()).collect()));
        out.push(StageState { approval_days: days, escalation });
    }
    Ok((names, out))
}

pub fn resolve_questions(questions: &[QuestionSpec], policy: &str) -> Result<Vec<QuestionState>, Problem> {
    let mut out: Vec<QuestionState> = Vec::new();
    for q in questions {
        let bad = |m: String| Problem::new(ProblemKind::InvalidSetting, q.text.span(), format!("policy '{policy}': question: {m}"));
        let text = q.text.get_ref().trim().to_owned();
        if text.is_empty() {
            return Err(bad("its text is empty".into()));
        }
        if out.iter().any(|x| x.text.eq_ignore_ascii_case(&text)) {
            return Err(bad(format!("'{text}' is asked twice")));
        }
        if !q.choices.is_empty() && q.pattern.is_some() {
            return Err(bad("a pattern is for text answers, not choices".into()));
        }
        if let Some(p) = &q.pattern
            && let Err(e) = regex::Regex::new(p)
        {
            return Err(bad(format!("pattern does not compile: {e}")));
        }
        let choices: Vec<String> = q.choices.iter().map(|c| c.trim().to_owned()).collect();
        if choices.iter().any(String::is_empty) {
            return Err(bad("an empty choice".into()));
        }
        out.push(QuestionState { text, required: q.required.unwrap_or(false), choices, pattern: q.pattern.clone() });
    }
    Ok(out)
}

pub fn resolve_review(r: &ReviewSpec, policy: &str) -> Result<ReviewState, Problem> {
    let bad = |span: std::ops::Range<usize>, m: String| Problem::new(ProblemKind::InvalidSetting, span, format!("policy '{policy}': review: {m}"));
    let starts = normalize_start(r.starts.get_ref()).ok_or_else(|| bad(r.starts.span(), format!("starts '{}' is not a date or time", r.starts.get_ref())))?;
    let every_months = r.every_months.unwrap_or(DEFAULT_REVIEW_MONTHS);
    if ![1, 3, 6, 12].contains(&every_months) {
        return Err(bad(r.starts.span(), format!("every_months is 1, 3, 6 or 12, not {every_months}")));
    }
    let duration_days = r.duration_days.unwrap_or(DEFAULT_REVIEW_DAYS);
    if duration_days == 0 {
        return Err(bad(r.starts.span(), "duration_days is at least 1".into()));
    }
    let mut reviewers = Vec::new();
    for n in &r.reviewers {
        if n.get_ref().trim().eq_ignore_ascii_case("self") {
            if r.reviewers.len() > 1 {
                return Err(bad(n.span(), "\"self\" reviews alone".into()));
            }
            reviewers.push("self".to_owned());
        } else {
            reviewers.push(who(n, "reviewer")?);
        }
    }
    if reviewers.is_empty() {
        return Err(bad(r.starts.span(), "reviewers name at least one reviewer (or \"self\")".into()));
    }
    let mut fallback = Vec::new();
    for n in &r.fallback_reviewers {
        fallback.push(who(n, "reviewer")?);
    }
    Ok(ReviewState {
        starts,
        every_months,
        duration_days,
        reviewers: sorted(reviewers),
        fallback_reviewers: sorted(fallback),
        no_response: r.no_response.unwrap_or(NoResponseSpec::Keep),
        recommendations: r.recommendations.unwrap_or(true),
        justification: r.justification.unwrap_or(true),
        enabled: r.enabled.unwrap_or(true),
    })
}

/// The rule compiled as governance compiles it: against the user attributes, extension
/// attributes (`extension_…`) allowed.
pub fn resolve_auto(a: &AutoSpec, policy: &str) -> Result<AutoState, Problem> {
    use tenantsync_domain::{UserAttrName, UserAttribute};
    use tenantsync_expression::Schema;
    use tenantsync_expression::scoping::Filter;
    let bad = |m: String| Problem::new(ProblemKind::InvalidSetting, a.rule.span(), format!("policy '{policy}': auto rule: {m}"));
    let rule = a.rule.get_ref().trim().to_owned();
    let filter = Filter::parse_text(&rule).map_err(|e| bad(e.to_string()))?;
    if filter.groups.is_empty() {
        return Err(bad("it has no clause".into()));
    }
    let mut names: Vec<String> = UserAttribute::ALL.iter().map(|x| UserAttrName::Builtin(*x).to_string()).collect();
    for c in filter.groups.iter().flat_map(|g| &g.clauses) {
        if let Ok(n @ UserAttrName::Extension(_)) = UserAttrName::parse(&c.source_operand_name) {
            names.push(n.to_string());
        }
    }
    filter.compile(&Schema::new(names)).map_err(|e| bad(e.to_string()))?;
    Ok(AutoState { rule, grace_days: a.grace_days.unwrap_or(0), remove_when_leaving: a.remove_when_leaving.unwrap_or(true) })
}

/// The extra settings of a policy for a plan's diff, under `policy.NAME.`; each only when
/// the policy has it, so a policy without any shows as before.
pub fn settings(
    s: &mut BTreeMap<String, String>,
    key: &dyn Fn(&str) -> String,
    stages: &[StageState],
    questions: &[QuestionState],
    review: Option<&ReviewState>,
    auto: Option<&AutoState>,
) {
    if stages.windows(2).any(|w| w.first().map(|x| x.approval_days) != w.get(1).map(|x| x.approval_days)) {
        let days: Vec<String> = stages.iter().map(|x| x.approval_days.to_string()).collect();
        s.insert(key("approval_days"), days.join(" then "));
    }
    if stages.iter().any(|x| x.escalation.is_some()) {
        let e: Vec<String> = stages
            .iter()
            .map(|x| x.escalation.as_ref().map_or_else(|| "none".to_owned(), |e| format!("after {} days to {}", e.after_days, e.to.join(", "))))
            .collect();
        s.insert(key("escalation"), e.join(" then "));
    }
    for (i, q) in questions.iter().enumerate() {
        let mut text = format!("{:?}", q.text);
        if q.required {
            text.push_str(" required");
        }
        if !q.choices.is_empty() {
            text.push_str(&format!(" choices: {}", q.choices.join(" | ")));
        }
        if let Some(p) = &q.pattern {
            text.push_str(&format!(" pattern: {p}"));
        }
        s.insert(key(&format!("question.{}", i + 1)), text);
    }
    if let Some(r) = review {
        s.insert(key("review.starts"), r.starts.clone());
        s.insert(key("review.every_months"), r.every_months.to_string());
        s.insert(key("review.duration_days"), r.duration_days.to_string());
        s.insert(key("review.reviewers"), r.reviewers.join(", "));
        s.insert(key("review.fallback_reviewers"), r.fallback_reviewers.join(", "));
        s.insert(key("review.no_response"), no_response_text(r.no_response).to_owned());
        s.insert(key("review.recommendations"), r.recommendations.to_string());
        s.insert(key("review.justification"), r.justification.to_string());
        s.insert(key("review.enabled"), r.enabled.to_string());
    }
    if let Some(a) = auto {
        s.insert(key("auto.rule"), a.rule.clone());
        s.insert(key("auto.grace_days"), a.grace_days.to_string());
        s.insert(key("auto.remove_when_leaving"), a.remove_when_leaving.to_string());
    }
}

fn no_response_text(n: NoResponseSpec) -> &'static str {
    match n {
        NoResponseSpec::Keep => "keep",
        NoResponseSpec::Remove => "remove",
        NoResponseSpec::Recommendation => "recommendation",
    }
}

/// The stages as the file writes them: `None` when the short form (`approvers` and one
/// `approval_days`) says it all.
pub fn export_stages(approvers: &[Vec<String>], stages: &[StageState]) -> Option<Vec<StageSpec>> {
    let uniform = stages.windows(2).all(|w| w.first().map(|x| x.approval_days) == w.get(1).map(|x| x.approval_days));
    if uniform && stages.iter().all(|x| x.escalation.is_none()) {
        return None;
    }
    Some(
        approvers
            .iter()
            .zip(stages)
            .map(|(a, x)| StageSpec {
                approvers: a.clone(),
                approval_days: (x.approval_days != crate::packages::DEFAULT_APPROVAL_DAYS).then_some(x.approval_days),
                escalation: x.escalation.as_ref().map(|e| EscalationSpec { after_days: e.after_days, to: e.to.iter().cloned().map(unspanned).collect() }),
            })
            .collect(),
    )
}

pub fn export_questions(questions: &[QuestionState]) -> Vec<QuestionSpec> {
    questions
        .iter()
        .map(|q| QuestionSpec { text: unspanned(q.text.clone()), required: q.required.then_some(true), choices: q.choices.clone(), pattern: q.pattern.clone() })
        .collect()
}

pub fn export_review(r: &ReviewState) -> ReviewSpec {
    let names = |v: &[String]| -> Vec<Spanned<String>> { v.iter().cloned().map(unspanned).collect() };
    ReviewSpec {
        starts: unspanned(r.starts.clone()),
        every_months: (r.every_months != DEFAULT_REVIEW_MONTHS).then_some(r.every_months),
        duration_days: (r.duration_days != DEFAULT_REVIEW_DAYS).then_some(r.duration_days),
        reviewers: names(&r.reviewers),
        fallback_reviewers: names(&r.fallback_reviewers),
        no_response: (r.no_response != NoResponseSpec::Keep).then_some(r.no_response),
        recommendations: (!r.recommendations).then_some(false),
        justification: (!r.justification).then_some(false),
        enabled: (!r.enabled).then_some(false),
    }
}

pub fn export_auto(a: &AutoState) -> AutoSpec {
    AutoSpec {
        rule: unspanned(a.rule.clone()),
        grace_days: (a.grace_days != 0).then_some(a.grace_days),
        remove_when_leaving: (!a.remove_when_leaving).then_some(false),
    }
}
