//! Scoping filters: every operator with Entra's null and case rules, AND/OR,
//! the explanation, and JSON ⇄ text.

use tenantsync_expression::scoping::{Filter, FilterClause};
use tenantsync_expression::{Schema, Value};

fn decide(clause: &str, value: Value) -> bool {
    let schema = Schema::new(["x"]);
    let filter = Filter::parse_text(clause).unwrap().compile(&schema).unwrap();
    let mut row = schema.row();
    row.set(schema.slot("x").unwrap(), value);
    let explained = filter.evaluate(&row);
    assert_eq!(explained.in_scope, filter.is_in_scope(&row));
    explained.in_scope
}

fn v(s: &str) -> Value {
    Value::from(s)
}

#[test]
fn every_operator() {
    let cases: &[(&str, Value, bool)] = &[
        ("x EQUALS Sales", v("Sales"), true),
        ("x EQUALS Sales", v("sales"), false),
        ("x NOT EQUALS Sales", v("sales"), true),
        ("x NOT EQUALS Sales", v("Sales"), false),
        ("x IS TRUE", v("True"), true),
        ("x IS TRUE", v("true"), true),
        ("x IS TRUE", v("False"), false),
        ("x IS TRUE", v("yes"), false),
        ("x IS TRUE", Value::Bool(true), true),
        ("x IS FALSE", v("False"), true),
        ("x IS FALSE", v("True"), false),
        ("x IS NULL", v("a"), false),
        ("x IS NOT NULL", v("a"), true),
        ("x REGEX MATCH ([1-9][0-9])", v("42"), true),
        ("x REGEX MATCH ([1-9][0-9])", v("100"), false),
        ("x REGEX MATCH ([1-9][0-9])", v("7"), false),
        ("x REGEX MATCH .*\\@domain.com", v("a@domain.com"), true),
        ("x REGEX MATCH .*\\@domain.com", v("a@DOMAIN.com"), false),
        ("x REGEX MATCH (1[0-9][0-9][0-9][0-9][0-9][0-9])", v("1234567"), true),
        ("x NOT REGEX MATCH ([1-9][0-9])", v("100"), true),
        ("x NOT REGEX MATCH ([1-9][0-9])", v("42"), false),
        ("x Greater_Than 10", v("11"), true),
        ("x Greater_Than 10", v("10"), false),
        ("x Greater_Than -5", v("-4"), true),
        ("x Greater_Than 10", v("eleven"), false),
        ("x Greater_Than_OR_EQUALS 10", v("10"), true),
        ("x Greater_Than_OR_EQUALS 10", v("9"), false),
        ("x Includes ale", v("Sales"), true),
        ("x Includes ALE", v("Sales"), false),
        ("x & Sales,Marketing", v("Sales"), true),
        ("x & Sales,Marketing", v("Legal"), false),
        ("x !& Sales,Marketing", v("Legal"), true),
        ("x !& Sales,Marketing", v("Sales"), false),
        ("x ENDS_WITH @contoso.com", v("a@contoso.com"), true),
        ("x ENDS_WITH @contoso.com", v("a@Contoso.com"), false),
        ("x EQUALS Zoë", v("Zoë"), true),
        ("x EQUALS Zoë", v("Zoe"), false),
    ];
    for (clause, value, want) in cases {
        assert_eq!(decide(clause, value.clone()), *want, "{clause} with {value:?}");
    }
}

#[test]
fn null_and_empty_make_clauses_false() {
    for clause in [
        "x EQUALS a",
        "x NOT EQUALS a",
        "x IS TRUE",
        "x IS FALSE",
        "x IS NOT NULL",
        "x REGEX MATCH .*",
        "x NOT REGEX MATCH a",
        "x Greater_Than 1",
        "x Greater_Than_OR_EQUALS 1",
        "x Includes a",
        "x & abc",
        "x !& abc",
        "x ENDS_WITH a",
    ] {
        assert!(!decide(clause, Value::Null), "{clause} on NULL");
        assert!(!decide(clause, v("")), "{clause} on empty");
    }
    assert!(decide("x IS NULL", Value::Null));
    assert!(decide("x IS NULL", v("")));
}

#[test]
fn multi_valued_attributes_are_not_supported() {
    let schema = Schema::new(["x"]);
    let f = Filter::parse_text("x EQUALS a").unwrap().compile(&schema).unwrap();
    let mut row = schema.row();
    row.set(schema.slot("x").unwrap(), Value::Multi(vec![v("a")]));
    let r = f.evaluate(&row);
    assert!(!r.in_scope);
    assert_eq!(r.groups[0].clauses[0].reason, "multi-valued attributes are not supported in scoping filters");
}

#[test]
fn groups_or_clauses_and_with_explanation() {
    let text = "department EQUALS Sales\nAND\ncountry EQUALS NL\nOR\nemployeeId Greater_Than 1000\n";
    let filter = Filter::parse_text(text).unwrap();
    assert_eq!(filter.groups.len(), 2);
    assert_eq!(filter.groups[0].clauses.len(), 2);
    let schema = Schema::new(["department", "country", "employeeId"]);
    let compiled = filter.compile(&schema).unwrap();
    let row = |d: &str, c: &str, e: &str| {
        let mut r = schema.row();
        r.set_by_name(&schema, "department", d);
        r.set_by_name(&schema, "country", c);
        r.set_by_name(&schema, "employeeId", e);
        r
    };
    assert!(compiled.is_in_scope(&row("Sales", "NL", "1")));
    assert!(!compiled.is_in_scope(&row("Sales", "DE", "1")));
    assert!(compiled.is_in_scope(&row("Sales", "DE", "2000")));
    assert!(!compiled.is_in_scope(&row("Legal", "NL", "")));
    let r = compiled.evaluate(&row("Sales", "DE", "12"));
    insta::assert_snapshot!(r.to_string());
    insta::assert_json_snapshot!(r);
    // no filter: everything in scope
    assert!(Filter::default().compile(&schema).unwrap().is_in_scope(&schema.row()));
}

#[test]
fn graph_json_round_trip() {
    let json = serde_json::json!({
        "groups": [{
            "name": "Sales in NL",
            "clauses": [
                {"sourceOperandName": "department", "operatorName": "EQUALS", "targetOperand": {"values": ["Sales"]}},
                {"sourceOperandName": "accountEnabled", "operatorName": "IS TRUE", "targetOperand": {"values": []}}
            ]
        }]
    });
    let f: Filter = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(serde_json::to_value(&f).unwrap(), json);
    let from_text = Filter::parse_text("department EQUALS Sales\naccountEnabled IS TRUE").unwrap();
    assert_eq!(from_text.groups[0].clauses, f.groups[0].clauses);
    let c: FilterClause = "department EQUALS Sales".parse().unwrap();
    assert_eq!(serde_json::to_value(&c).unwrap(), json["groups"][0]["clauses"][0]);
    // operator names from JSON are matched like the text form
    let loose: Filter = serde_json::from_value(serde_json::json!({"groups": [{"name": "g", "clauses": [
        {"sourceOperandName": "department", "operatorName": "not_equals", "targetOperand": {"values": ["x"]}}
    ]}]}))
    .unwrap();
    let schema = Schema::new(["department"]);
    let mut row = schema.row();
    row.set_by_name(&schema, "department", "y");
    assert!(loose.compile(&schema).unwrap().is_in_scope(&row));
    let unknown = Filter::parse_text("nope EQUALS x").unwrap().compile(&schema).unwrap_err();
    assert_eq!(unknown.code(), "expression.scoping.invalid_clause");
}
