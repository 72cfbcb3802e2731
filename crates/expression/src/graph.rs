//! A response shaped like Microsoft Graph's
//! `synchronizationSchema: parseExpression`, for tools and the API.

use serde::{Deserialize, Serialize};

use crate::env::Env;
use crate::error::Error;
use crate::program::{Evaluation, Flow, Program, Row, Schema};

/// `error` of the response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParseExpressionError {
    /// Stable error code.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// 0-based character position, when known.
    pub position: Option<usize>,
}

impl From<&Error> for ParseExpressionError {
    fn from(e: &Error) -> Self {
        ParseExpressionError { code: e.code().to_owned(), message: e.to_string(), position: e.position() }
    }
}

/// Graph-shaped result of parsing (and optionally evaluating) an expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParseExpressionResponse {
    /// The expression parsed and compiled.
    pub parsing_succeeded: bool,
    /// The expression was evaluated without error.
    pub evaluation_succeeded: bool,
    /// The values as strings (`[Redact]` when redacted).
    pub evaluation_result: Option<Vec<String>>,
    /// Whether the target attribute would be written (`flows`, `nullSkipped`, `ignored`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<Flow>,
    /// The value was redacted.
    #[serde(default)]
    pub redacted: bool,
    /// The parsed expression printed back in canonical form (Graph returns an
    /// attributeMappingSource tree here under `parsedExpression`; we give text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalized_expression: Option<String>,
    /// What went wrong.
    pub error: Option<ParseExpressionError>,
}

/// Validates an expression without evaluating it.
pub fn check(text: &str) -> ParseExpressionResponse {
    match Program::compile_standalone(text) {
        Ok((p, _)) => ParseExpressionResponse {
            parsing_succeeded: true,
            evaluation_succeeded: false,
            evaluation_result: None,
            flow: None,
            redacted: false,
            normalized_expression: Some(p.source().to_owned()),
            error: None,
        },
        Err(e) => failed_parse(&e),
    }
}

fn failed_parse(e: &Error) -> ParseExpressionResponse {
    ParseExpressionResponse {
        parsing_succeeded: false,
        evaluation_succeeded: false,
        evaluation_result: None,
        flow: None,
        redacted: false,
        normalized_expression: None,
        error: Some(e.into()),
    }
}

/// Parses the expression against `schema` and evaluates it on `row`.
pub fn parse_expression(text: &str, schema: &Schema, row: &Row, env: &mut Env<'_>) -> ParseExpressionResponse {
    let program = match Program::compile(text, schema) {
        Ok(p) => p,
        Err(e) => return failed_parse(&e),
    };
    let parsed = Some(program.source().to_owned());
    match program.evaluate(row, env) {
        Ok(ev) => from_evaluation(&ev, parsed),
        Err(e) => ParseExpressionResponse {
            parsing_succeeded: true,
            evaluation_succeeded: false,
            evaluation_result: None,
            flow: None,
            redacted: false,
            normalized_expression: parsed,
            error: Some((&e).into()),
        },
    }
}

fn from_evaluation(ev: &Evaluation, parsed: Option<String>) -> ParseExpressionResponse {
    ParseExpressionResponse {
        parsing_succeeded: true,
        evaluation_succeeded: true,
        evaluation_result: Some(ev.log_strings()),
        flow: Some(ev.flow),
        redacted: ev.redacted,
        normalized_expression: parsed,
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{FixedClock, SeededRandom};

    #[test]
    fn graph_shape() {
        let schema = Schema::new(["preferredLanguage"]);
        let mut row = schema.row();
        row.set(crate::Slot(0), "EN-US");
        let clock = FixedClock::new(jiff::Timestamp::UNIX_EPOCH);
        let mut r = SeededRandom::new(0);
        let resp = parse_expression(r#"Replace([preferredLanguage], "-", , , "_", , )"#, &schema, &row, &mut Env::new(&clock, &mut r));
        let json = serde_json::to_value(&resp).unwrap();
        assert_eq!(json["parsingSucceeded"], true);
        assert_eq!(json["evaluationSucceeded"], true);
        assert_eq!(json["evaluationResult"], serde_json::json!(["EN_US"]));
        assert_eq!(json["error"], serde_json::Value::Null);
        let bad = check("Left([a]");
        assert!(!bad.parsing_succeeded);
        let err = bad.error.unwrap();
        assert_eq!(err.code, "expression.parse.unexpected_token");
        assert_eq!(err.position, Some(8));
    }
}
