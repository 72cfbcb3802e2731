//! The logic of `tenantsync expr ...`, pure: arguments in, text and exit code
//! out. The CLI crate reads files and prints; this module decides what.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::env::Env;
use crate::functions::function_list;
use crate::graph::{ParseExpressionError, ParseExpressionResponse, check, parse_expression};
use crate::parser::parse;
use crate::program::{Flow, Schema};
use crate::value::Value;

/// What a command prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Text for standard output (may be empty).
    pub stdout: String,
    /// One line for standard error (empty on success).
    pub stderr: String,
    /// 0 on success, 1 on any error.
    pub code: i32,
}

impl Output {
    fn ok(stdout: String) -> Output {
        Output { stdout, stderr: String::new(), code: 0 }
    }
    fn fail(stderr: String) -> Output {
        Output { stdout: String::new(), stderr, code: 1 }
    }
    fn json(resp: &ParseExpressionResponse, ok: bool) -> Output {
        let text = serde_json::to_string_pretty(resp).unwrap_or_default() + "\n";
        let stderr = if ok { String::new() } else { resp.error.as_ref().map(line).unwrap_or_default() };
        Output { stdout: text, stderr, code: i32::from(!ok) }
    }
}

/// Inputs of `expr eval`.
#[derive(Debug, Clone, Default)]
pub struct EvalArgs {
    /// The expression.
    pub expression: String,
    /// `--attr NAME=VALUE`, in order (a repeated name makes a multi-valued attribute).
    pub attrs: Vec<String>,
    /// Contents of `--input FILE.json`: an object of attribute → string, array or null.
    pub input_json: Option<String>,
    /// `--json`: print the Graph parseExpression-shaped object.
    pub json: bool,
}

/// `tenantsync expr eval`.
pub fn eval(args: &EvalArgs, env: &mut Env<'_>) -> Output {
    let mut values: BTreeMap<String, Value> = BTreeMap::new();
    if let Some(text) = &args.input_json {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(map)) => {
                for (k, v) in map {
                    values.insert(k, Value::from_json(&v));
                }
            }
            Ok(_) => return Output::fail("--input: expected a JSON object of attribute name to string, array or null [invalid_argument]".into()),
            Err(e) => return Output::fail(format!("--input: invalid JSON: {e} [invalid_argument]")),
        }
    }
    let mut from_flags: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for a in &args.attrs {
        let Some((name, value)) = a.split_once('=') else {
            return Output::fail(format!("--attr {a:?}: expected NAME=VALUE [invalid_argument]"));
        };
        let name = name.trim();
        let name = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')).unwrap_or(name);
        if name.is_empty() {
            return Output::fail(format!("--attr {a:?}: the attribute name is empty [invalid_argument]"));
        }
        from_flags.entry(name.to_owned()).or_default().push(Value::Str(value.to_owned()));
    }
    for (name, mut vals) in from_flags {
        let v = if vals.len() == 1 { vals.pop().unwrap_or_default() } else { Value::Multi(vals) };
        values.insert(name, v);
    }
    // The schema: every referenced attribute (absent ones are NULL) plus the given ones.
    let expr = match parse(&args.expression) {
        Ok(e) => e,
        Err(e) => return finish_error(args.json, &check_error(&e)),
    };
    let mut schema = Schema::new(expr.attributes());
    for name in values.keys() {
        schema.add(name.clone());
    }
    let mut row = schema.row();
    for (name, v) in values {
        row.set_by_name(&schema, &name, v);
    }
    let resp = parse_expression(&args.expression, &schema, &row, env);
    if args.json {
        let ok = resp.error.is_none();
        return Output::json(&resp, ok);
    }
    if let Some(e) = &resp.error {
        return Output::fail(line(e));
    }
    let mut out = String::new();
    let result = resp.evaluation_result.clone().unwrap_or_default();
    match resp.flow {
        Some(Flow::Ignored) => out.push_str("(attribute does not flow: IgnoreFlowIfNullOrEmpty dropped it from the flow)\n"),
        Some(Flow::NullSkipped) => out.push_str("(attribute does not flow: the result is NULL)\n"),
        _ => {
            if result.len() == 1 {
                if let Some(v) = result.first() {
                    let _ = writeln!(out, "{v}");
                }
            } else {
                for v in &result {
                    let _ = writeln!(out, "- {v}");
                }
            }
            if resp.redacted {
                out.push_str("(value redacted: provisioning logs show [Redact])\n");
            }
        }
    }
    Output::ok(out)
}

/// One line for standard error: the message and the stable code.
fn line(e: &ParseExpressionError) -> String {
    format!("{} [{}]", e.message, e.code)
}

fn check_error(e: &crate::Error) -> ParseExpressionResponse {
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

fn finish_error(json: bool, resp: &ParseExpressionResponse) -> Output {
    if json { Output::json(resp, false) } else { Output::fail(resp.error.as_ref().map(line).unwrap_or_default()) }
}

/// `tenantsync expr check`.
pub fn check_cmd(expression: &str, json: bool) -> Output {
    let resp = check(expression);
    if json {
        let ok = resp.error.is_none();
        return Output::json(&resp, ok);
    }
    match (&resp.error, &resp.normalized_expression) {
        (Some(e), _) => Output::fail(line(e)),
        (None, Some(p)) => Output::ok(format!("ok: {p}\n")),
        (None, None) => Output::ok("ok\n".into()),
    }
}

/// `tenantsync expr functions`.
pub fn functions_cmd(json: bool) -> Output {
    let list = function_list();
    if json {
        return Output::ok(serde_json::to_string_pretty(&list).unwrap_or_default() + "\n");
    }
    let width = list.iter().map(|f| f.signature.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for f in &list {
        let _ = writeln!(out, "{:width$}  {}{}", f.signature, f.summary, if f.internal { " (tenantsync anchor)" } else { "" });
    }
    Output::ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{FixedClock, SeededRandom};

    fn run(expr: &str, attrs: &[&str], input: Option<&str>, json: bool) -> Output {
        let clock = FixedClock::new(jiff::Timestamp::UNIX_EPOCH);
        let mut r = SeededRandom::new(3);
        let args = EvalArgs { expression: expr.into(), attrs: attrs.iter().map(|s| (*s).to_owned()).collect(), input_json: input.map(str::to_owned), json };
        eval(&args, &mut Env::new(&clock, &mut r))
    }

    #[test]
    fn eval_command() {
        assert_eq!(run("Append([upn], \".test\")", &["upn=a@b"], None, false).stdout, "a@b.test\n");
        assert_eq!(run("Join(\",\", [p])", &["p=x", "p=y"], None, false).stdout, "x,y\n");
        assert_eq!(run("Split([p], \",\")", &["p=x,y"], None, false).stdout, "- x\n- y\n");
        let o = run("IgnoreFlowIfNullOrEmpty([department])", &[], None, false);
        assert_eq!(o.code, 0);
        assert!(o.stdout.contains("does not flow"));
        assert!(run("[mail]", &[], Some(r#"{"mail": null}"#), false).stdout.contains("NULL"));
        assert_eq!(run("Count([p])", &[], Some(r#"{"p": ["a", "b", "c"]}"#), false).stdout, "3\n");
        let o = run("Left([a], 1", &[], None, false);
        assert_eq!(o.code, 1);
        assert_eq!(o.stderr, "column 12: expected ')' after argument 2 of Left, found end of expression [expression.parse.unexpected_token]");
        let o = run("Mid([a], 0, 1)", &["a=x"], None, true);
        assert_eq!(o.code, 1);
        let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(v["parsingSucceeded"], true);
        assert_eq!(v["evaluationSucceeded"], false);
        assert_eq!(v["error"]["code"], "expression.eval.invalid_argument");
        assert_eq!(run("[a]", &["novalue"], None, false).code, 1);
        assert_eq!(run("[a]", &[], Some("[1]"), false).code, 1);
        assert!(run("Redact([a])", &["a=s3cret"], None, true).stdout.contains("[Redact]"));
    }

    #[test]
    fn check_and_functions() {
        assert_eq!(check_cmd("ToLower([a])", false).stdout, "ok: ToLower([a])\n");
        assert_eq!(check_cmd("ToLowr([a])", false).stderr, "column 1: unknown function `ToLowr`; did you mean `ToLower`? [expression.parse.unknown_function]");
        let f = functions_cmd(false).stdout;
        assert_eq!(f.lines().count(), 44);
        assert!(f.contains("Replace(source, oldValue?, regexPattern?"));
        let j: serde_json::Value = serde_json::from_str(&functions_cmd(true).stdout).unwrap();
        assert_eq!(j.as_array().unwrap().len(), 44);
    }
}
