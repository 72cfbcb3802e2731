//! An assignment policy in Graph's shape (`accessPackageAssignmentPolicy`), as the SDKs
//! read and write it. The access crate keeps its own, flatter form (what topology files
//! and the store hold); the two differ only in the package, named by `accessPackage: {id}`
//! in Graph, and in the review settings, whose schedule Graph writes as an
//! `entitlementManagementSchedule` (a start, an `afterDuration` expiration per instance,
//! and a monthly or yearly `patternedRecurrence`), and in a multiple-choice question's
//! `choices`, which Graph writes as `accessPackageAnswerChoice` objects
//! (`{"actualValue", "text"}`) and the access crate as the values alone.
use super::{json_of, object};
use crate::graph::error::{GraphError, GraphResult};
use serde_json::{Map, Value, json};
use tenantsync_access::{AssignmentPolicy, ReviewSettings};

/// The policy as Graph answers it.
pub(super) fn policy_json(p: &AssignmentPolicy) -> Value {
    let mut v = json_of(p);
    if let Some(m) = v.as_object_mut() {
        m.remove("accessPackageId");
        m.insert("accessPackage".into(), json!({ "id": p.access_package_id }));
        if let Some(r) = &p.review_settings {
            m.insert("reviewSettings".into(), review_json(r));
        }
        if let Some(Value::Array(questions)) = m.get_mut("questions") {
            for q in questions.iter_mut() {
                if let Some(Value::Array(choices)) = q.get_mut("choices") {
                    for c in choices.iter_mut() {
                        *c = json!({ "actualValue": c.clone(), "text": c.clone() });
                    }
                }
            }
        }
    }
    v
}

/// A body's questions in the access crate's form, in place: a question without an id
/// gets one (Graph assigns them; an SDK's new question has none), and a multiple-choice
/// question's `choices` (`accessPackageAnswerChoice` objects) become the values the
/// access crate keeps (each one's `actualValue`).
pub(super) fn questions_from_graph(body: &mut Map<String, Value>) -> GraphResult<()> {
    let Some(Value::Array(questions)) = body.get_mut("questions") else { return Ok(()) };
    for q in questions.iter_mut() {
        if let Value::Object(question) = q
            && question.get("id").is_none_or(Value::is_null)
        {
            question.insert("id".into(), json!(tenantsync_domain::ObjectId::new().to_string()));
        }
        let Some(Value::Array(choices)) = q.get_mut("choices") else { continue };
        for c in choices.iter_mut() {
            if let Value::Object(choice) = c {
                let value = match choice.get("actualValue") {
                    Some(Value::String(v)) => v.clone(),
                    _ => return Err(GraphError::bad_request("a question's choice needs its actualValue (a string)")),
                };
                *c = Value::String(value);
            }
        }
    }
    Ok(())
}

/// Graph's `accessPackageAssignmentReviewSettings` of `r`.
fn review_json(r: &ReviewSettings) -> Value {
    let start = r.start_date_time.to_zoned(jiff::tz::TimeZone::UTC);
    json!({
        "isEnabled": r.is_enabled,
        "expirationBehavior": r.expiration_behavior,
        "isRecommendationEnabled": r.is_recommendation_enabled,
        "isReviewerJustificationRequired": r.is_reviewer_justification_required,
        "isSelfReview": r.is_self_review,
        "primaryReviewers": r.primary_reviewers,
        "fallbackReviewers": r.fallback_reviewers,
        "schedule": {
            "startDateTime": r.start_date_time,
            "expiration": { "type": "afterDuration", "duration": r.duration },
            "recurrence": {
                "pattern": { "type": "absoluteMonthly", "interval": r.recurrence_months, "dayOfMonth": start.day() },
                "range": { "type": "noEnd", "startDate": start.strftime("%Y-%m-%d").to_string() },
            },
        },
    })
}

/// The longest review recurrence: the access crate's rule (yearly).
const MAX_RECURRENCE_MONTHS: u64 = tenantsync_access::MAX_REVIEW_MONTHS as u64;

/// A body's `reviewSettings` (Graph's shape) in the access crate's form, in place; a
/// schedule this server cannot keep (not monthly or yearly, a recurrence that ends, an
/// instance that ends on a date) is a 400 naming what it does not take.
pub(super) fn review_settings_from_graph(body: &mut Map<String, Value>) -> GraphResult<()> {
    let Some(Value::Object(r)) = body.get_mut("reviewSettings") else { return Ok(()) };
    let Some(s) = object(r, "schedule", &["startDateTime", "expiration", "recurrence"])?.cloned() else {
        if r.get("isEnabled") == Some(&Value::Bool(true)) {
            return Err(GraphError::bad_request("reviewSettings.schedule is required: when the reviews start, how long each lasts and how often they recur"));
        }
        // Reviews turned off with no schedule: a policy without reviews.
        body.remove("reviewSettings");
        return Ok(());
    };
    r.remove("schedule");
    let start = s.get("startDateTime").cloned().ok_or_else(|| GraphError::bad_request("reviewSettings.schedule.startDateTime is required"))?;
    let expiration = object(&s, "expiration", &["type", "duration", "endDateTime"])?
        .ok_or_else(|| GraphError::bad_request("reviewSettings.schedule.expiration is required: how long each review lasts"))?;
    if expiration.get("type").and_then(Value::as_str) != Some("afterDuration") {
        return Err(GraphError::bad_request("reviewSettings.schedule.expiration.type must be afterDuration: each review lasts a duration"));
    }
    let duration = expiration.get("duration").cloned().ok_or_else(|| GraphError::bad_request("reviewSettings.schedule.expiration.duration is required"))?;
    let recurrence = object(&s, "recurrence", &["pattern", "range"])?
        .ok_or_else(|| GraphError::bad_request("reviewSettings.schedule.recurrence is required: how often reviews recur"))?;
    let pattern = object(recurrence, "pattern", &["type", "interval", "dayOfMonth", "month", "daysOfWeek", "firstDayOfWeek", "index"])?
        .ok_or_else(|| GraphError::bad_request("reviewSettings.schedule.recurrence.pattern is required"))?;
    let interval = pattern.get("interval").and_then(Value::as_u64).filter(|n| *n >= 1);
    let months = match (pattern.get("type").and_then(Value::as_str), interval) {
        (Some("absoluteMonthly"), Some(n)) => n,
        (Some("absoluteYearly"), Some(n)) => n.saturating_mul(12),
        (Some("absoluteMonthly" | "absoluteYearly"), None) => {
            return Err(GraphError::bad_request("reviewSettings.schedule.recurrence.pattern.interval must be a whole number of at least 1"));
        }
        (other, _) => {
            return Err(GraphError::bad_request(format!(
                "reviewSettings.schedule.recurrence.pattern.type {} is not taken: reviews recur absoluteMonthly or absoluteYearly",
                other.map_or("(none)".to_owned(), |t| format!("'{t}'"))
            )));
        }
    };
    if months > MAX_RECURRENCE_MONTHS {
        return Err(GraphError::bad_request(format!("reviews recur at least yearly, not every {months} months")));
    }
    if let Some(range) = object(recurrence, "range", &["type", "startDate", "endDate", "numberOfOccurrences", "recurrenceTimeZone"])?
        && range.get("type").and_then(Value::as_str).is_some_and(|t| t != "noEnd")
    {
        return Err(GraphError::bad_request("reviewSettings.schedule.recurrence.range.type must be noEnd: reviews recur while the policy has them"));
    }
    r.insert("startDateTime".into(), start);
    r.insert("duration".into(), duration);
    r.insert("recurrenceMonths".into(), json!(months));
    Ok(())
}
