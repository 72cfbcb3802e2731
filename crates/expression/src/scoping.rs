//! Attribute-based scoping filters (Entra "scoping filters").
//!
//! A filter is a list of groups; a group's clauses are ANDed, groups are ORed
//! (no group at all = everything is in scope). The JSON shape is Graph's
//! `filter` / `filterGroup` / `filterClause`; a clause can also be written as
//! text, `department EQUALS Sales`, which parses to the same structure.
//!
//! Entra's rules: clauses on a NULL or empty value are false (including
//! `NOT EQUALS`, `NOT REGEX MATCH` and `!&`), except `IS NULL` (true) and
//! `IS NOT NULL` (false); string comparisons are case-sensitive; greater-than
//! operators need integers on both sides; multi-valued attributes are not
//! supported (the clause is false and says why).
//!
//! Decision: `REGEX MATCH` must match the whole value (the pattern is
//! anchored), so Microsoft's examples mean what they say: `([1-9][0-9])`
//! accepts 10–99 and not 100.

use std::fmt;
use std::str::FromStr;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, did_you_mean};
use crate::program::{Row, Schema, Slot};
use crate::value::Value;

/// Graph `filter`: the scope of an object mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// In scope if ANY group is true; leaving scope deprovisions.
    #[serde(default)]
    pub groups: Vec<FilterGroup>,
    /// Experimental Graph groups applied early; not evaluated by tenantsync yet but kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_filter_groups: Vec<FilterGroup>,
    /// Experimental Graph category groups; kept, not evaluated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category_filter_groups: Vec<FilterGroup>,
}

/// Graph `filterGroup`: all clauses must be true.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterGroup {
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// ANDed clauses.
    #[serde(default)]
    pub clauses: Vec<FilterClause>,
}

/// Graph `filterClause`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterClause {
    /// The source attribute.
    pub source_operand_name: String,
    /// The operator, e.g. `EQUALS`, `IS NOT NULL`, `Greater_Than`.
    pub operator_name: String,
    /// The value(s) compared with.
    #[serde(default)]
    pub target_operand: FilterOperand,
}

/// Graph `filterOperand`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterOperand {
    /// Values (one for binary operators, none for unary ones).
    #[serde(default)]
    pub values: Vec<String>,
}

/// The documented operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `EQUALS`: exact, case-sensitive.
    Equals,
    /// `NOT EQUALS`.
    NotEquals,
    /// `IS TRUE`.
    IsTrue,
    /// `IS FALSE`.
    IsFalse,
    /// `IS NULL`: null or empty.
    IsNull,
    /// `IS NOT NULL`.
    IsNotNull,
    /// `REGEX MATCH` (whole value).
    RegexMatch,
    /// `NOT REGEX MATCH`.
    NotRegexMatch,
    /// `Greater_Than` (integers).
    GreaterThan,
    /// `Greater_Than_OR_EQUALS` (integers).
    GreaterThanOrEquals,
    /// `Includes`: the value contains the operand (case-sensitive).
    Includes,
    /// `&`: the value occurs in the operand string.
    ExistsIn,
    /// `!&`: the value does not occur in the operand string.
    NotExistsIn,
    /// `ENDS_WITH` (case-sensitive).
    EndsWith,
}

impl Operator {
    /// All operators with their canonical names (Graph's where Graph has one).
    pub const ALL: [(Operator, &'static str); 14] = [
        (Operator::Equals, "EQUALS"),
        (Operator::NotEquals, "NOT EQUALS"),
        (Operator::IsTrue, "IS TRUE"),
        (Operator::IsFalse, "IS FALSE"),
        (Operator::IsNull, "IS NULL"),
        (Operator::IsNotNull, "IS NOT NULL"),
        (Operator::RegexMatch, "REGEX MATCH"),
        (Operator::NotRegexMatch, "NOT REGEX MATCH"),
        (Operator::GreaterThan, "Greater_Than"),
        (Operator::GreaterThanOrEquals, "Greater_Than_OR_EQUALS"),
        (Operator::Includes, "Includes"),
        (Operator::ExistsIn, "&"),
        (Operator::NotExistsIn, "!&"),
        (Operator::EndsWith, "ENDS_WITH"),
    ];

    /// Every canonical name, in the documented order.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|(_, n)| *n).collect()
    }

    /// Canonical name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(o, _)| *o == self).map_or("", |(_, n)| n)
    }

    /// Takes no operand.
    pub fn is_unary(self) -> bool {
        matches!(self, Operator::IsTrue | Operator::IsFalse | Operator::IsNull | Operator::IsNotNull)
    }

    fn key(s: &str) -> String {
        s.trim()
            .chars()
            .map(|c| if c == '_' || c == ' ' { ' ' } else { c.to_ascii_uppercase() })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Looks an operator up: case-insensitive, `_` and spaces equivalent.
    pub fn parse(name: &str) -> Result<Operator, Error> {
        let k = Self::key(name);
        Self::ALL
            .iter()
            .find(|(_, n)| Self::key(n) == k)
            .map(|(o, _)| *o)
            .ok_or_else(|| Error::UnknownOperator { name: name.to_owned(), suggestion: did_you_mean(name, Self::ALL.iter().map(|(_, n)| *n)) })
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a value must be quoted to read back as itself after `operator`: empty, with
/// outer spaces, starting with a quote, multi-line, holding the word `AND` or `OR`, or
/// starting with words that would
/// make the operator a longer one (`GREATER _` reads as `GREATER_THAN`-like names when
/// `_` stands for a space).
fn needs_quotes(operator: &str, v: &str) -> bool {
    // `AND` joins clauses on one line (and `OR` groups where filters are shown on one).
    if v.is_empty() || v.trim() != v || v.starts_with('"') || v.contains('\n') || v.split_whitespace().any(|w| w == "AND" || w == "OR") {
        return true;
    }
    let op_words = operator.split_whitespace().count();
    let words: Vec<&str> = v.split_whitespace().collect();
    (1..=words.len().min(3)).any(|n| {
        let candidate = format!("{operator} {}", words.get(..n).map(|w| w.join(" ")).unwrap_or_default());
        op_words + n <= 3 && Operator::parse(&candidate).is_ok()
    })
}

/// A stored clause in the parser's terms: how every view prints a configuration's
/// scoping filter (`attribute OPERATOR value`, through `Display`).
impl From<&tenantsync_domain::ScopingClause> for FilterClause {
    fn from(c: &tenantsync_domain::ScopingClause) -> Self {
        Self {
            source_operand_name: c.source_operand_name.clone(),
            operator_name: c.operator_name.clone(),
            target_operand: FilterOperand { values: c.target_operand.values.clone() },
        }
    }
}

/// `attribute OPERATOR value` (value quoted when needed).
impl fmt::Display for FilterClause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.source_operand_name, self.operator_name)?;
        for v in &self.target_operand.values {
            f.write_str(" ")?;
            if needs_quotes(&self.operator_name, v) {
                crate::parser::write_string(f, v)?;
            } else {
                f.write_str(v)?;
            }
        }
        Ok(())
    }
}

impl FromStr for FilterClause {
    type Err = Error;

    /// Parses `department EQUALS Sales`, `accountEnabled IS TRUE`,
    /// `userPrincipalName REGEX MATCH .*\@contoso.com`, `title EQUALS "Vice President "`.
    fn from_str(text: &str) -> Result<Self, Error> {
        let bad = |message: &str| Error::InvalidClause { clause: text.to_owned(), message: message.to_owned() };
        let t = text.trim();
        let (attr, rest) = t.split_once(char::is_whitespace).ok_or_else(|| bad("expected `attribute OPERATOR [value]`"))?;
        let rest = rest.trim_start();
        // Longest operator name that starts `rest` (words are case-insensitive, `_` = space).
        let words: Vec<&str> = rest.split_whitespace().collect();
        let mut found: Option<(Operator, usize)> = None;
        for n in (1..=words.len().min(3)).rev() {
            let candidate = words.get(..n).map(|w| w.join(" ")).unwrap_or_default();
            if let Ok(op) = Operator::parse(&candidate) {
                found = Some((op, n));
                break;
            }
        }
        let Some((op, n)) = found else {
            let first = words.first().copied().unwrap_or("");
            return Err(Operator::parse(first).err().unwrap_or_else(|| bad("expected an operator")));
        };
        // Skip n words of `rest` to find the value text.
        let mut value = rest;
        for _ in 0..n {
            value = value.trim_start();
            let end = value.find(char::is_whitespace).unwrap_or(value.len());
            value = value.get(end..).unwrap_or("");
        }
        let value = value.trim();
        let values = if op.is_unary() {
            if !value.is_empty() {
                return Err(bad(&format!("{} takes no value", op.name())));
            }
            Vec::new()
        } else if let Some(inner) = value.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = inner.chars();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some(e @ ('"' | '\\')) => out.push(e),
                        Some(e) => {
                            out.push('\\');
                            out.push(e);
                        }
                        None => out.push('\\'),
                    },
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => out.push(c),
                }
            }
            if !closed || !chars.as_str().trim().is_empty() {
                return Err(bad("quoted value is not closed properly"));
            }
            vec![out]
        } else if value.is_empty() {
            return Err(bad(&format!("{} needs a value", op.name())));
        } else {
            vec![value.to_owned()]
        };
        Ok(FilterClause { source_operand_name: attr.to_owned(), operator_name: op.name().to_owned(), target_operand: FilterOperand { values } })
    }
}

impl FilterGroup {
    /// A group from text: clauses one per line, or several on a line joined by the word
    /// `AND` in capitals (outside double quotes: a value holding the word is quoted);
    /// blank lines and `AND` lines are ignored.
    ///
    /// # Errors
    /// The first clause that does not parse.
    pub fn parse_text(name: &str, text: &str) -> Result<FilterGroup, Error> {
        let clauses = text
            .lines()
            .flat_map(and_parts)
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.eq_ignore_ascii_case("and"))
            .map(FilterClause::from_str)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FilterGroup { name: name.to_owned(), clauses })
    }
}

/// A line cut at each word `AND` (capitals, between spaces or at an end of the line)
/// outside double-quoted values.
fn and_parts(line: &str) -> Vec<&str> {
    let bytes = line.as_bytes();
    let (mut parts, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or_default();
        if quoted {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => quoted = false,
                _ => {}
            }
        } else if b == b'"' {
            quoted = true;
        } else if line.get(i..i + 3) == Some("AND")
            && (i == 0 || bytes.get(i - 1).is_some_and(u8::is_ascii_whitespace))
            && bytes.get(i + 3).is_none_or(u8::is_ascii_whitespace)
        {
            parts.push(line.get(start..i).unwrap_or_default());
            start = i + 3;
            i += 3;
            continue;
        }
        i += 1;
    }
    parts.push(line.get(start..).unwrap_or_default());
    parts
}

impl Filter {
    /// A filter from text: groups separated by a line `OR`, clauses one per line.
    ///
    /// # Errors
    /// The first clause that does not parse.
    pub fn parse_text(text: &str) -> Result<Filter, Error> {
        let mut groups = Vec::new();
        let mut current = String::new();
        for line in text.lines() {
            if line.trim().eq_ignore_ascii_case("or") {
                groups.push(FilterGroup::parse_text(&format!("group {}", groups.len() + 1), &current)?);
                current.clear();
            } else {
                current.push_str(line);
                current.push('\n');
            }
        }
        if !current.trim().is_empty() || groups.is_empty() {
            groups.push(FilterGroup::parse_text(&format!("group {}", groups.len() + 1), &current)?);
        }
        groups.retain(|g| !g.clauses.is_empty());
        Ok(Filter { groups, ..Filter::default() })
    }

    /// Compiles against the source schema (attribute names → slots, regexes compiled).
    ///
    /// # Errors
    /// Unknown attributes or operators, wrong operand counts, invalid regexes.
    pub fn compile(&self, schema: &Schema) -> Result<CompiledFilter, Error> {
        let mut groups = Vec::with_capacity(self.groups.len());
        for g in &self.groups {
            let mut clauses = Vec::with_capacity(g.clauses.len());
            for c in &g.clauses {
                clauses.push(compile_clause(c, schema)?);
            }
            groups.push(CompiledGroup { name: g.name.clone(), clauses });
        }
        Ok(CompiledFilter { groups })
    }
}

#[derive(Debug, Clone)]
struct CompiledClause {
    source: FilterClause,
    slot: usize,
    op: Operator,
    operand: String,
    int_operand: Option<i64>,
    regex: Option<Regex>,
}

#[derive(Debug, Clone)]
struct CompiledGroup {
    name: String,
    clauses: Vec<CompiledClause>,
}

/// A filter ready to evaluate many objects.
#[derive(Debug, Clone)]
pub struct CompiledFilter {
    groups: Vec<CompiledGroup>,
}

impl CompiledFilter {
    /// The slots the filter's clauses read (a row needs only these filled).
    pub fn reads(&self) -> impl Iterator<Item = Slot> + '_ {
        self.groups.iter().flat_map(|g| g.clauses.iter().map(|c| Slot(c.slot)))
    }
}

fn compile_clause(c: &FilterClause, schema: &Schema) -> Result<CompiledClause, Error> {
    let bad = |message: String| Error::InvalidClause { clause: c.to_string(), message };
    let op = Operator::parse(&c.operator_name)?;
    let slot = schema.slot(&c.source_operand_name).ok_or_else(|| {
        let hint =
            did_you_mean(&c.source_operand_name, schema.names().iter().map(String::as_str)).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
        bad(format!("unknown source attribute `{}`{hint}", c.source_operand_name))
    })?;
    let values = &c.target_operand.values;
    let operand = if op.is_unary() {
        if !values.is_empty() {
            return Err(bad(format!("{} takes no value", op.name())));
        }
        String::new()
    } else {
        match values.as_slice() {
            [v] => v.clone(),
            [] => return Err(bad(format!("{} needs a value", op.name()))),
            _ => return Err(bad(format!("{} takes exactly one value, got {}", op.name(), values.len()))),
        }
    };
    let int_operand = if matches!(op, Operator::GreaterThan | Operator::GreaterThanOrEquals) {
        Some(operand.trim().parse::<i64>().map_err(|_| bad(format!("{} needs an integer value, got {operand:?}", op.name())))?)
    } else {
        None
    };
    let regex = if matches!(op, Operator::RegexMatch | Operator::NotRegexMatch) {
        Some(crate::regexes::compile(&format!("^(?:{operand})$")).map_err(|m| bad(format!("invalid regular expression: {m}")))?)
    } else {
        None
    };
    Ok(CompiledClause { source: c.clone(), slot: slot.0, op, operand, int_operand, regex })
}

/// How one clause evaluated, for provisioning logs and on-demand provisioning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClauseResult {
    /// The clause as configured.
    pub clause: FilterClause,
    /// The source value as text (`None` when null).
    pub source_value: Option<String>,
    /// The clause's result.
    pub result: bool,
    /// Why, in words.
    pub reason: String,
}

/// How one group evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupResult {
    /// Group name.
    pub name: String,
    /// All clauses true.
    pub result: bool,
    /// Every clause (all are evaluated, for the explanation).
    pub clauses: Vec<ClauseResult>,
}

/// The scoping decision for one object, with its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeResult {
    /// In scope (some group true, or no groups at all).
    pub in_scope: bool,
    /// Each group.
    pub groups: Vec<GroupResult>,
}

impl fmt::Display for ScopeResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", if self.in_scope { "in scope" } else { "out of scope" })?;
        if self.groups.is_empty() {
            writeln!(f, "  no scoping filter: every object is in scope")?;
        }
        for g in &self.groups {
            writeln!(f, "  group {:?}: {}", g.name, g.result)?;
            for c in &g.clauses {
                writeln!(f, "    {}: {} ({})", c.clause, c.result, c.reason)?;
            }
        }
        Ok(())
    }
}

fn bool_of(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn eval_clause(c: &CompiledClause, v: &Value) -> (bool, String) {
    if let Value::Multi(_) = v {
        return (false, "multi-valued attributes are not supported in scoping filters".into());
    }
    let text = v.to_text().unwrap_or_default();
    let empty = text.is_empty();
    match c.op {
        Operator::IsNull => return (empty, if empty { "value is null or empty".into() } else { "value is present".into() }),
        Operator::IsNotNull => return (!empty, if empty { "value is null or empty".into() } else { "value is present".into() }),
        _ if empty => return (false, "value is null or empty, so the clause is false".into()),
        _ => {}
    }
    let o = &c.operand;
    match c.op {
        Operator::Equals => (text == *o, format!("{text:?} {} {o:?} (case-sensitive)", if text == *o { "equals" } else { "does not equal" })),
        Operator::NotEquals => (text != *o, format!("{text:?} {} {o:?} (case-sensitive)", if text == *o { "equals" } else { "does not equal" })),
        Operator::IsTrue | Operator::IsFalse => match bool_of(&text) {
            Some(b) => {
                let want = c.op == Operator::IsTrue;
                (b == want, format!("value is {}", if b { "True" } else { "False" }))
            }
            None => (false, format!("{text:?} is not a Boolean")),
        },
        Operator::RegexMatch | Operator::NotRegexMatch => {
            let m = c.regex.as_ref().is_some_and(|r| r.is_match(&text));
            let want = c.op == Operator::RegexMatch;
            (m == want, format!("{text:?} {} the pattern {o:?}", if m { "matches" } else { "does not match" }))
        }
        Operator::GreaterThan | Operator::GreaterThanOrEquals => match (text.trim().parse::<i64>(), c.int_operand) {
            (Ok(a), Some(b)) => {
                let r = if c.op == Operator::GreaterThan { a > b } else { a >= b };
                (r, format!("{a} {} {b} is {r}", if c.op == Operator::GreaterThan { ">" } else { ">=" }))
            }
            _ => (false, format!("{text:?} is not an integer")),
        },
        Operator::Includes => {
            let r = text.contains(o.as_str());
            (r, format!("{text:?} {} {o:?} (case-sensitive)", if r { "contains" } else { "does not contain" }))
        }
        Operator::ExistsIn | Operator::NotExistsIn => {
            let r = o.contains(text.as_str());
            let want = c.op == Operator::ExistsIn;
            (r == want, format!("{text:?} {} in {o:?}", if r { "occurs" } else { "does not occur" }))
        }
        Operator::EndsWith => {
            let r = text.ends_with(o.as_str());
            (r, format!("{text:?} {} with {o:?} (case-sensitive)", if r { "ends" } else { "does not end" }))
        }
        Operator::IsNull | Operator::IsNotNull => (false, String::new()),
    }
}

impl CompiledFilter {
    /// Evaluates one object and explains the decision.
    pub fn evaluate(&self, row: &Row) -> ScopeResult {
        let mut groups = Vec::with_capacity(self.groups.len());
        for g in &self.groups {
            let mut clauses = Vec::with_capacity(g.clauses.len());
            let mut all = true;
            for c in &g.clauses {
                let v = row.get(Slot(c.slot));
                let (result, reason) = eval_clause(c, v);
                all &= result;
                clauses.push(ClauseResult { clause: c.source.clone(), source_value: v.to_text(), result, reason });
            }
            groups.push(GroupResult { name: g.name.clone(), result: all, clauses });
        }
        let in_scope = groups.is_empty() || groups.iter().any(|g| g.result);
        ScopeResult { in_scope, groups }
    }

    /// Just the decision.
    pub fn is_in_scope(&self, row: &Row) -> bool {
        self.groups.is_empty() || self.groups.iter().any(|g| g.clauses.iter().all(|c| eval_clause(c, row.get(Slot(c.slot))).0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_that_would_lengthen_the_operator_is_quoted() {
        // Found by the round-trip property test: `_` stands for a space in operator names,
        // so `A Greater_Than _` read back as a longer operator without a value.
        for (op, value) in [("Greater_Than", "_"), ("GREATER", "THAN"), ("IS", "TRUE"), ("NOT", "EQUALS x")] {
            let clause =
                FilterClause { source_operand_name: "A".into(), operator_name: op.into(), target_operand: FilterOperand { values: vec![value.into()] } };
            let text = clause.to_string();
            assert!(text.ends_with('"'), "{text}");
            if Operator::parse(op).is_ok_and(|o| !o.is_unary()) {
                assert_eq!(text.parse::<FilterClause>().unwrap(), clause, "{text}");
            }
        }
        let plain = FilterClause {
            source_operand_name: "department".into(),
            operator_name: "EQUALS".into(),
            target_operand: FilterOperand { values: vec!["Sales".into()] },
        };
        assert_eq!(plain.to_string(), "department EQUALS Sales");
    }

    #[test]
    fn text_and_json_are_the_same_structure() {
        let text: FilterClause = "department EQUALS Sales".parse().unwrap();
        let json: FilterClause = serde_json::from_value(serde_json::json!({
            "sourceOperandName": "department",
            "operatorName": "EQUALS",
            "targetOperand": {"values": ["Sales"]}
        }))
        .unwrap();
        assert_eq!(text, json);
        assert_eq!(text.to_string(), "department EQUALS Sales");
        let c: FilterClause = "accountEnabled is  true".parse().unwrap();
        assert_eq!(c.operator_name, "IS TRUE");
        assert!(c.target_operand.values.is_empty());
        let c: FilterClause = "title not_equals \"  Vice \\\"VP\\\" \"".parse().unwrap();
        assert_eq!(c.operator_name, "NOT EQUALS");
        assert_eq!(c.target_operand.values, vec!["  Vice \"VP\" "]);
        assert_eq!(c.to_string().parse::<FilterClause>().unwrap(), c);
        let c: FilterClause = "userPrincipalName REGEX MATCH .*\\@domain.com".parse().unwrap();
        assert_eq!(c.target_operand.values, vec![".*\\@domain.com"]);
        let c: FilterClause = "extensionAttribute1 !& a,b".parse().unwrap();
        assert_eq!(c.operator_name, "!&");
        assert_eq!("x STARTS_WITH a".parse::<FilterClause>().unwrap_err().code(), "expression.scoping.unknown_operator");
        assert!("x IS NULL y".parse::<FilterClause>().is_err());
        assert!("x EQUALS".parse::<FilterClause>().is_err());
        assert!("x".parse::<FilterClause>().is_err());
    }

    #[test]
    fn operator_names() {
        for (op, name) in Operator::ALL {
            assert_eq!(Operator::parse(name).unwrap(), op);
            assert_eq!(Operator::parse(&name.to_lowercase().replace(' ', "_")).unwrap(), op);
        }
        let e = Operator::parse("EQUAL").unwrap_err();
        assert!(
            e.to_string().starts_with("unknown scoping filter operator `EQUAL`; did you mean `EQUALS`? (the operators: EQUALS, NOT EQUALS, IS TRUE,"),
            "{e}"
        );
        let e = Operator::parse("SOUNDS_LIKE").unwrap_err();
        assert!(e.to_string().ends_with("(the operators: EQUALS, NOT EQUALS, IS TRUE, IS FALSE, IS NULL, IS NOT NULL, REGEX MATCH, NOT REGEX MATCH, Greater_Than, Greater_Than_OR_EQUALS, Includes, &, !&, ENDS_WITH)"), "{e}");
    }

    #[test]
    fn clauses_on_one_line_are_joined_by_and() {
        let g = FilterGroup::parse_text("g", r#"department EQUALS Sales AND country EQUALS "R AND D" AND accountEnabled IS TRUE"#).unwrap();
        let shown: Vec<String> = g.clauses.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["department EQUALS Sales", r#"country EQUALS "R AND D""#, "accountEnabled IS TRUE"]);
        // Only the word in capitals joins: a value may hold "and" or "ANDERSON".
        let g = FilterGroup::parse_text("g", "surname EQUALS ANDERSON AND title EQUALS Research and Development").unwrap();
        assert_eq!(g.clauses.len(), 2);
        assert_eq!(g.clauses[1].target_operand.values, ["Research and Development"]);
        // The old form, a clause a line with AND lines between, still reads.
        assert_eq!(FilterGroup::parse_text("g", "a EQUALS 1\nAND\nb EQUALS 2").unwrap().clauses.len(), 2);
    }
}
