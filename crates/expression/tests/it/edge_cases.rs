//! Edge cases per function: NULL, "", multi-valued inputs, zero / negative /
//! out-of-range indexes, non-ASCII text, and the anchor function.

use tenantsync_expression::{Flow, MAX_DEPTH, Program, Schema, Value};

use super::common::*;

const N: &[(&str, Value)] = &[];

#[test]
fn null_source_propagates_through_string_functions() {
    for f in [
        "ToLower([x])",
        "ToUpper([x])",
        "StripSpaces([x])",
        "NormalizeDiacritics([x])",
        "PCase([x])",
        "Append([x], \"s\")",
        "CStr([x])",
        "ConvertToBase64([x])",
        "ConvertToUTF8Hex([x])",
        "Mid([x], 1, 2)",
        "Split([x], \",\")",
        "Replace([x], \"a\", , , \"b\", , )",
        "Replace([x], , \"a\", , \"b\", , )",
        "CDate([x])",
        "DateAdd(\"d\", 1, [x])",
        "DateDiff(\"d\", [x], Now())",
        "NumFromDate([x])",
        "DateFromNum([x])",
        "FormatDateTime([x], , \"yyyy\", \"yyyy\")",
        "BitAnd([x], 1)",
        "InStr([x], \"a\")",
        "Item([x], 1)",
        "RemoveDuplicates([x])",
        "AltSecIdFromNetId([x])",
        "SingleAppRoleAssignment([x])",
        "AppRoleAssignmentsComplex([x])",
        "Join(\",\", [x])",
        "Coalesce([x])",
        "Redact([x])",
        "[x]",
    ] {
        let e = eval(f, &[("x", Value::Null)]);
        assert_eq!(e.value, Value::Null, "{f}");
        assert_eq!(e.flow, Flow::NullSkipped, "{f}");
    }
    // documented exceptions
    assert_eq!(s("Left([x], 2)", N), "");
    assert_eq!(s("Word([x], 1, \" \")", N), "");
    assert_eq!(s("IsNull([x])", N), "True");
    assert_eq!(s("IsPresent([x])", N), "False");
    assert_eq!(s("IsString([x])", N), "False");
    assert_eq!(s("CBool([x])", N), "False");
    assert_eq!(s("Not([x])", N), "True");
    assert_eq!(eval("Count([x])", N).value, Value::Int(0));
    assert_eq!(s("Coalesce([x], [y], \"d\")", N), "d");
    assert_eq!(s("Join(\"-\", [x], \"a\", [y], \"b\")", N), "a-b");
}

#[test]
fn empty_strings() {
    let e = [("x", v(""))];
    assert_eq!(s("ToUpper([x])", &e), "");
    assert!(eval("ToUpper([x])", &e).flows(), "an empty string is a value");
    assert_eq!(s("Coalesce([x], \"d\")", &e), "", "Coalesce skips NULL only");
    assert_eq!(eval("Join(\",\", [x], [x])", &e).value, v(""));
    assert_eq!(s("IsString([x])", &e), "True");
    assert_eq!(s("IsPresent([x])", &e), "False");
    assert_eq!(eval("InStr([x], \"\")", &e).value, Value::Int(1));
    assert_eq!(eval("Split([x], \",\")", &e).value, multi(&[""]));
    assert_eq!(s("Replace([x], \"\", , , \"z\", , )", &e), "");
    assert_eq!(err("AltSecIdFromNetId([x])", &e).code(), "expression.eval.invalid_net_id");
}

#[test]
fn multi_valued_inputs() {
    let m = [("m", multi(&["Ab", "cD", "Ab"]))];
    assert_eq!(eval("ToLower([m])", &m).value, multi(&["ab", "cd", "ab"]), "string functions map over values");
    assert_eq!(eval("Count([m])", &m).value, Value::Int(3));
    assert_eq!(eval("Count(RemoveDuplicates([m]))", &m).value, Value::Int(2));
    assert_eq!(s("Join(\"|\", [m], \"x\")", &m), "Ab|cD|Ab|x");
    assert_eq!(s("Item([m], 2)", &m), "cD");
    assert_eq!(eval("Item([m], 4)", &m).flow, Flow::NullSkipped, "past the end");
    assert_eq!(eval("Item([m], 0)", &m).flow, Flow::NullSkipped, "index 0 shouldn't be used");
    assert_eq!(eval("Item([m], -1)", &m).flow, Flow::NullSkipped);
    assert_eq!(s("Item([x], 1)", &[("x", v("single"))]), "single", "a single value is a one-item list");
    assert_eq!(eval("Count([x])", &[("x", v("single"))]).value, Value::Int(1));
    assert_eq!(eval("[m]", &m).strings(), vec!["Ab", "cD", "Ab"]);
    assert_eq!(eval("[e]", &[("e", Value::Multi(vec![]))]).flow, Flow::NullSkipped);
    assert_eq!(s("IsNullOrEmpty([e])", &[("e", Value::Multi(vec![]))]), "True");
    let roles = [("appRoleAssignments", multi(&["Admin", r#"{"displayName":"Reader","id":"1"}"#]))];
    assert_eq!(s("SingleAppRoleAssignment([appRoleAssignments])", &roles), "Admin");
    let complex = eval("AppRoleAssignmentsComplex([appRoleAssignments])", &roles).strings();
    assert_eq!(complex.len(), 2);
    let second: serde_json::Value = serde_json::from_str(&complex[1]).unwrap();
    assert_eq!(second, serde_json::json!({"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Reader", "value": "Reader"}));
}

#[test]
fn indexes_and_numbers() {
    assert_eq!(s("Left(\"John\", 0)", N), "");
    assert_eq!(s("Left(\"John\", -1)", N), "John");
    assert_eq!(s("Left(\"John\", 10)", N), "John");
    assert_eq!(s("Mid(\"John\", 3, 10)", N), "hn");
    assert_eq!(s("Mid(\"John\", 5, 1)", N), "");
    assert_eq!(s("Mid(\"John\", 2, 0)", N), "");
    assert_eq!(err("Mid(\"John\", 0, 1)", N).to_string(), "Mid: start must be 1 or more (positions are 1-based), got 0");
    assert_eq!(err("Mid(\"John\", 1, -1)", N).code(), "expression.eval.invalid_argument");
    assert_eq!(err("Mid(\"John\", \"x\", 1)", N).to_string(), "Mid: start must be a whole number, got x");
    assert_eq!(s("Mid(\"John\", \"2\", \"2\")", N), "oh", "numeric strings are numbers");
    assert_eq!(s("Word(\"a b c\", 0, \" \")", N), "");
    assert_eq!(s("Word(\"a b c\", -3, \" \")", N), "");
    assert_eq!(s("Word(\"a b c\", 4, \" \")", N), "");
    assert_eq!(s("Word(\"a  b\", 2, \" \")", N), "b", "runs of delimiters separate one word");
    assert_eq!(eval("InStr(\"abc\", \"z\")", N).value, Value::Int(0));
    assert_eq!(eval("InStr(\"abc\", \"c\", 9)", N).value, Value::Int(0));
    assert_eq!(err("InStr(\"abc\", \"c\", 0)", N).code(), "expression.eval.invalid_argument");
    assert_eq!(err("InStr(\"abc\", \"c\", 1, \"nope\")", N).code(), "expression.eval.invalid_argument");
    assert_eq!(eval("BitAnd(-1, 12)", N).value, Value::Int(12));
    assert_eq!(eval("BitAnd(-8, -3)", N).value, Value::Int(-8));
    assert_eq!(eval("BitAnd(\"&HFF\", \"15\")", N).value, Value::Int(15));
    assert_eq!(eval("BitAnd(&HFFFFFFFFFFFFFFFF, 5)", N).value, Value::Int(5), "16 hex digits are two's complement");
    assert_eq!(s("CBool(-1)", N), "True");
    assert_eq!(s("CBool(0)", N), "False");
    assert_eq!(s("CBool(\"true\")", N), "True");
    assert_eq!(s("CBool(\"0.5\")", N), "True");
    assert_eq!(s("CBool(\"abc\")", N), "False");
    assert_eq!(s("CStr(-42)", N), "-42");
    assert_eq!(s("IIF(-5 < 3, \"lt\", \"ge\")", N), "lt");
    assert_eq!(s("IIF(\"10\" > \"9\", \"numeric\", \"text\")", N), "numeric", "integers compare as numbers");
    assert_eq!(s("IIF(\"b\" > \"a\", \"y\", \"n\")", N), "y");
    assert_eq!(s("IIF(\"B\" >= \"a\", \"y\", \"n\")", N), "n", "ordinal, case-sensitive");
    assert_eq!(s("IIF(\"a\" <> \"A\", \"y\", \"n\")", N), "y");
    assert_eq!(s("IIF(CDate(\"2021-01-02\") > CDate(\"2021-01-01\"), \"later\", \"earlier\")", N), "later");
    assert_eq!(s("IIF(1 <= 1, \"y\", \"n\")", N), "y");
    assert_eq!(s("DateAdd(\"d\", -1, \"2021-03-01\")", N), "2/28/2021 12:00:00 AM");
    assert_eq!(s("DateAdd(\"h\", -25, \"2021-03-01\")", N), "2/27/2021 11:00:00 PM");
    assert_eq!(err("DateFromNum(-99999999999999999)", N).code(), "expression.eval.invalid_argument");
    assert_eq!(err("NumFromDate(\"1600-01-01\")", N).code(), "expression.eval.invalid_argument");
    assert_eq!(err("DateAdd(\"yyyy\", 99999, Now())", N).code(), "expression.eval.invalid_argument");
}

#[test]
fn dates_that_are_not_dates() {
    let e = err("CDate(\"next tuesday\")", N);
    assert_eq!(e.code(), "expression.eval.invalid_date");
    assert_eq!(e.to_string(), "CDate: cannot read \"next tuesday\" as a date/time");
    let e = err("FormatDateTime(\"2020-01-05\", , \"yyyyMMdd\", \"yyyy\")", N);
    assert_eq!(e.to_string(), "FormatDateTime: cannot read \"2020-01-05\" as a date/time: does not match the format \"yyyyMMdd\"");
    assert_eq!(err("FormatDateTime(\"2020\", \"Sideways\", \"yyyy\", \"yyyy\")", N).code(), "expression.eval.invalid_argument");
    assert_eq!(s("FormatDateTime(\" 2020 \", \"AllowWhiteSpaces, RoundtripKind\", \"yyyy\", \"yy\")", N), "20");
    assert_eq!(err("DateAdd([i], 1, Now())", &[("i", v("fortnight"))]).code(), "expression.eval.invalid_argument");
}

#[test]
fn non_ascii_text() {
    assert_eq!(s("Left(\"Zoë Ørsted\", 3)", N), "Zoë");
    assert_eq!(s("Mid(\"日本語テキスト\", 3, 2)", N), "語テ");
    assert_eq!(s("ToUpper(\"straße\")", N), "STRAßE", ".NET simple case mapping keeps ß");
    assert_eq!(s("ToLower(\"İSTANBUL\")", N), "istanbul");
    assert_eq!(s("ToLower(\"TITLE\", \"tr-TR\")", N), "tıtle");
    assert_eq!(s("ToUpper(\"title\", \"tr-TR\")", N), "TİTLE");
    assert_eq!(s("ToUpper(\"title\", \"en-US\")", N), "TITLE");
    assert_eq!(err("ToUpper(\"x\", \"not a culture\")", N).code(), "expression.eval.invalid_argument");
    assert_eq!(s("ToLower(\"ΟΔΟΣ\")", N), "οδοσ", "invariant: no final-sigma rule");
    assert_eq!(s("ConvertToBase64(\"é😀\")", N), "6QA92ADe", "UTF-16LE with a surrogate pair");
    assert_eq!(s("ConvertToUTF8Hex(\"é\")", N), "C3A9");
    assert_eq!(s("StripSpaces(\" a b\u{a0}c \")", N), "ab\u{a0}c", "only U+0020");
    assert_eq!(s("PCase(\"élan vital\")", N), "Élan Vital");
    assert_eq!(eval("InStr(\"ÄBC\", \"bc\", 1, vbTextCompare)", N).value, Value::Int(2));
    assert_eq!(s("Word(\"α,β,γ\", 2, \",\")", N), "β");
}

#[test]
fn anchor_function() {
    let net = "2B3C4D5E-0000-4000-8000-000000000001:7f8e9d0c-1111-4222-8333-444455556666";
    assert_eq!(s("AltSecIdFromNetId([netId])", &[("netId", v(net))]), "2b3c4d5e-0000-4000-8000-000000000001:7f8e9d0c-1111-4222-8333-444455556666");
    for bad in [
        "2b3c4d5e-0000-4000-8000-000000000001",
        "2b3c4d5e000040008000000000000001:7f8e9d0c111142228333444455556666",
        "2b3c4d5e-0000-4000-8000-000000000001:7f8e9d0c-1111-4222-8333-444455556666:x",
        "{2b3c4d5e-0000-4000-8000-000000000001}:7f8e9d0c-1111-4222-8333-444455556666",
        "not-a-uuid:also-not",
        " 2b3c4d5e-0000-4000-8000-000000000001:7f8e9d0c-1111-4222-8333-444455556666",
    ] {
        let e = err("AltSecIdFromNetId([netId])", &[("netId", v(bad))]);
        assert_eq!(e.code(), "expression.eval.invalid_net_id", "{bad}");
        assert!(e.to_string().contains("{sourceTenantUuid}:{sourceObjectUuid}"));
    }
}

#[test]
fn impossible_random_strings() {
    for (expr, msg) in [
        ("RandomString(300, 0, 0, 0, 0)", "RandomString: Length must be between 1 and 256, got 300"),
        ("RandomString(0, 0, 0, 0, 0)", "RandomString: Length must be between 1 and 256, got 0"),
        ("RandomString(4, 2, 2, 1, 0)", "RandomString: the minimums add up to 5, more than Length 4"),
        ("RandomString(4, -1, 0, 0, 0)", "RandomString: MinimumNumbers cannot be negative (-1)"),
        ("RandomString(4, 1, 0, 0, 0, \"0123456789\")", "RandomString: MinimumNumbers is 1 but CharactersToAvoid excludes every such character"),
    ] {
        let e = err(expr, N);
        assert_eq!(e.code(), "expression.eval.impossible_random_string", "{expr}");
        assert_eq!(e.to_string(), msg);
    }
    let x = s("RandomString(256, 0, 0, 0, 0)", N);
    assert_eq!(x.chars().count(), 256);
    assert!(x.chars().all(|c| c.is_ascii_alphanumeric()), "no specials unless asked for");
    let only_a = s("RandomString(5, 0, 0, 0, 0, \"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZbcdefghijklmnopqrstuvwxyz\")", N);
    assert_eq!(only_a, "aaaaa");
}

#[test]
fn regex_limits_and_errors() {
    let e = Program::compile_standalone(r#"Replace([x], , "(?<=a)b", , "", , )"#).unwrap_err();
    assert_eq!(e.code(), "expression.compile.invalid_regex");
    assert!(e.to_string().starts_with("column 16: invalid regular expression: look-around"), "{e}");
    let e = Program::compile_standalone(r#"Replace([x], , "\\w{1000}{1000}", , "", , )"#).unwrap_err();
    assert_eq!(e.code(), "expression.compile.invalid_regex");
    let e = Program::compile_standalone(r#"Replace([x], , "(?<a>x)", "b", "", , )"#).unwrap_err();
    assert_eq!(e.to_string(), "column 27: the regular expression has no group named \"b\"");
    // a dynamic pattern is compiled (with the same limits) at evaluation time
    let e = err(r#"Replace([x], , [p], , "", , )"#, &[("x", v("a")), ("p", v("(unclosed"))]);
    assert_eq!(e.code(), "expression.eval.invalid_argument");
    assert_eq!(s(r#"Replace([x], , [p], , "-", , )"#, &[("x", v("a1b22")), ("p", v("\\d+"))]), "a-b-");
    // linear time: a classic catastrophic-backtracking pattern on a long input
    let long = format!("{}!", "a".repeat(5000));
    let start = std::time::Instant::now();
    assert_eq!(s(r#"Replace([x], , "(a+)+$", , "", , )"#, &[("x", v(&long))]), long);
    assert!(start.elapsed().as_secs() < 5);
    let e = Program::compile_standalone(r#"Replace([x], , , , "", , )"#).unwrap_err();
    assert_eq!(e.to_string(), "column 1: Replace needs oldValue (argument 2) or regexPattern (argument 3)");
}

#[test]
fn deep_nesting_evaluates_without_overflow() {
    let expr = format!("{}[a]{}", "ToLower(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(s(&expr, &[("a", v("X"))]), "x");
    let expr = format!("{}[a]{}", "Not(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(s(&expr, &[("a", v("True"))]), "True", "an even number of Nots");
    let too_deep = format!("{}[a]{}", "Not(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
    let e = Program::compile_standalone(&too_deep).unwrap_err();
    assert_eq!(e.to_string(), "column 401: expression is nested more than 100 levels deep");
}

#[test]
fn compile_time_checks() {
    let schema = Schema::new(["mail"]);
    let e = Program::compile("Join(\"@\", SelectUniqueValue([mail], [mail]))", &schema).unwrap_err();
    assert_eq!(e.code(), "expression.compile.nested_select_unique_value");
    let e = Program::compile("DateAdd(\"days\", 1, Now())", &schema).unwrap_err();
    assert_eq!(e.to_string(), "column 9: unknown interval \"days\"; use one of yyyy, q, m, y, d, w, ww, h, n, s");
    let p = Program::compile("IIF([mail] = \"a\", \"x\", \"y\")", &schema).unwrap();
    assert_eq!(p.source(), r#"IIF([mail] = "a", "x", "y")"#);
}

#[test]
fn compile_once_evaluate_many() {
    let schema = Schema::new(["givenName", "surname"]);
    let p = Program::compile(r#"ToLower(Join(".", [givenName], [surname]))"#, &schema).unwrap();
    let slot_g = schema.slot("givenName").unwrap();
    let slot_s = schema.slot("surname").unwrap();
    for (g, sn, want) in [("Ann", "Lee", "ann.lee"), ("Bo", "Ek", "bo.ek"), ("", "Solo", "solo")] {
        let mut row = schema.row();
        row.set(slot_g, g);
        row.set(slot_s, sn);
        assert_eq!(p.evaluate_default(&row).unwrap().value, v(want));
    }
}

#[test]
fn select_unique_value_edge_cases() {
    let mut never = |_: &str| -> Result<bool, String> { Ok(true) };
    let e = try_eval_with("SelectUniqueValue([a], [b])", &[], 1, Some(&mut never)).unwrap_err();
    assert_eq!(e.to_string(), "SelectUniqueValue: no rule gave a value that is free in the target (0 of 2 already exist, 2 empty)");
    let mut broken = |_: &str| -> Result<bool, String> { Err("directory unreachable".into()) };
    let e = try_eval_with("SelectUniqueValue([a], [b])", &[("a", v("x"))], 1, Some(&mut broken)).unwrap_err();
    assert_eq!(e.to_string(), "SelectUniqueValue: uniqueness check failed: directory unreachable");
    let mut free = |c: &str| -> Result<bool, String> { Ok(c == "y") };
    let r = try_eval_with("SelectUniqueValue([a], [b])", &[("a", v("x")), ("b", v("y"))], 1, Some(&mut free)).unwrap();
    assert_eq!(r.value, v("y"));
}

#[test]
fn instr_text_compare_keeps_positions() {
    assert_eq!(eval("InStr(\"İxAB\", \"ab\", 1, vbTextCompare)", N).value, Value::Int(3));
    assert_eq!(eval("InStr(\"xAB\", \"ab\", 1, 1)", N).value, Value::Int(2), "1 = vbTextCompare");
    assert_eq!(eval("InStr(\"xAB\", \"ab\", 1, 0)", N).value, Value::Int(0), "0 = vbBinaryCompare");
}
