//! Compilation of a syntax tree against a source schema, and evaluation.
//!
//! Compile once, evaluate many: attribute references become slot indexes,
//! constant regexes are compiled once, the Replace mode is fixed, and the
//! resulting tree is walked without re-parsing for each input row.

use std::collections::HashMap;
use std::fmt;

use regex::Regex;

use crate::env::{Env, OsRandom, SystemClock};
use crate::error::{Error, did_you_mean};
use crate::functions::Func;
use crate::parser::{CmpOp, Expr, ExprKind, parse};
use crate::value::Value;
use crate::{builtins, regexes};

/// Index of a source attribute in a [`Schema`] and a [`Row`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot(pub usize);

/// The source attributes a mapping can refer to, each with a slot.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    names: Vec<String>,
    index: HashMap<String, Slot>,
}

impl Schema {
    /// A schema of these attribute names (duplicates are ignored).
    pub fn new<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut s = Schema::default();
        for n in names {
            s.add(n);
        }
        s
    }

    /// Adds a name (if new) and returns its slot.
    pub fn add(&mut self, name: impl Into<String>) -> Slot {
        let name = name.into();
        if let Some(slot) = self.index.get(&name) {
            return *slot;
        }
        let slot = Slot(self.names.len());
        self.index.insert(name.clone(), slot);
        self.names.push(name);
        slot
    }

    /// The slot of a name (case-sensitive).
    pub fn slot(&self, name: &str) -> Option<Slot> {
        self.index.get(name).copied()
    }

    /// Attribute names in slot order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// No attributes.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// A row with every attribute NULL (absent).
    pub fn row(&self) -> Row {
        Row { values: vec![Value::Null; self.names.len()] }
    }
}

/// One source object's attribute values, by slot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    /// Sets a slot's value (ignored if the slot is out of range).
    pub fn set(&mut self, slot: Slot, value: impl Into<Value>) {
        if let Some(v) = self.values.get_mut(slot.0) {
            *v = value.into();
        }
    }

    /// Sets by attribute name; false if the schema does not know the name.
    pub fn set_by_name(&mut self, schema: &Schema, name: &str, value: impl Into<Value>) -> bool {
        match schema.slot(name) {
            Some(slot) => {
                self.set(slot, value);
                true
            }
            None => false,
        }
    }

    /// The value in a slot.
    pub fn get(&self, slot: Slot) -> &Value {
        self.values.get(slot.0).unwrap_or(&Value::Null)
    }
}

/// Whether the target attribute is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Flow {
    /// The value is written to the target attribute.
    Flows,
    /// The result is NULL: nothing is written (Entra cannot provision nulls).
    NullSkipped,
    /// `IgnoreFlowIfNullOrEmpty` dropped the attribute from the flow.
    Ignored,
}

/// The result of evaluating a mapping for one object.
#[derive(Clone, PartialEq)]
pub struct Evaluation {
    /// The value (may be a secret if `redacted`).
    pub value: Value,
    /// Whether it flows to the target.
    pub flow: Flow,
    /// `Redact` was applied: logs must show [`Evaluation::REDACTED`] instead of the value.
    pub redacted: bool,
}

impl Evaluation {
    /// What provisioning logs show for a redacted value.
    pub const REDACTED: &'static str = "[Redact]";

    /// True when the target attribute is written.
    pub fn flows(&self) -> bool {
        self.flow == Flow::Flows
    }

    /// The values as strings (Graph's `evaluationResult`).
    pub fn strings(&self) -> Vec<String> {
        self.value.to_strings()
    }

    /// The value as it may be logged: `[Redact]` when redacted.
    pub fn log_value(&self) -> String {
        if self.redacted { Self::REDACTED.to_owned() } else { self.value.to_string() }
    }

    /// The values as they may be logged.
    pub fn log_strings(&self) -> Vec<String> {
        if self.redacted { vec![Self::REDACTED.to_owned()] } else { self.strings() }
    }
}

/// Debug never shows a redacted value.
impl fmt::Debug for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Evaluation");
        if self.redacted {
            d.field("value", &Self::REDACTED);
        } else {
            d.field("value", &self.value);
        }
        d.field("flow", &self.flow).field("redacted", &self.redacted).finish()
    }
}

/// Display is the log form.
impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.log_value())
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Pattern {
    Absent,
    Static(Regex),
    Dynamic(Node),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplaceMode {
    /// oldValue + replacementValue
    Plain,
    /// oldValue + template
    Template,
    /// regexPattern + replacementValue
    Regex,
    /// regexPattern + regexGroupName + replacementValue
    RegexGroup,
    /// regexPattern + regexGroupName + replacementAttributeName
    Extract,
}

#[derive(Debug, Clone)]
pub(crate) struct ReplaceNode {
    pub mode: ReplaceMode,
    pub source: Node,
    pub old_value: Node,
    pub pattern: Pattern,
    pub group: Node,
    pub replacement: Node,
    pub replacement_attribute: Node,
    pub template: Node,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Const(Value),
    Attr(usize),
    Omitted,
    Call(Func, Vec<Node>),
    Compare(CmpOp, Box<Node>, Box<Node>),
    Iif { cond: Box<Node>, cond_slots: Vec<usize>, then: Box<Node>, other: Box<Node> },
    Replace(Box<ReplaceNode>),
}

/// A compiled mapping expression.
#[derive(Debug, Clone)]
pub struct Program {
    root: Node,
    slots: usize,
    source: String,
    reads: Vec<Slot>,
}

const INTERVALS: [&str; 10] = ["yyyy", "q", "m", "y", "d", "w", "ww", "h", "n", "s"];

struct Compiler<'a> {
    schema: &'a Schema,
}

impl Compiler<'_> {
    fn node(&self, e: &Expr, top: bool) -> Result<Node, Error> {
        Ok(match &e.kind {
            ExprKind::Str(s) => Node::Const(Value::Str(s.clone())),
            ExprKind::Int(i) => Node::Const(Value::Int(*i)),
            ExprKind::Enum(c) => Node::Const(Value::Str(c.as_str().to_owned())),
            ExprKind::Attr(name) => match self.schema.slot(name) {
                Some(slot) => Node::Attr(slot.0),
                None => {
                    return Err(Error::UnknownAttribute {
                        position: e.position,
                        name: name.clone(),
                        suggestion: did_you_mean(name, self.schema.names.iter().map(String::as_str)),
                    });
                }
            },
            ExprKind::Compare { op, left, right } => Node::Compare(*op, Box::new(self.node(left, false)?), Box::new(self.node(right, false)?)),
            ExprKind::Call { func, args } => {
                if *func == Func::SelectUniqueValue && !top {
                    return Err(Error::NestedSelectUniqueValue { position: e.position });
                }
                let mut nodes = Vec::with_capacity(args.len());
                for a in args {
                    nodes.push(match a {
                        Some(a) => self.node(a, false)?,
                        None => Node::Omitted,
                    });
                }
                self.call(*func, nodes, args, e.position)?
            }
        })
    }

    fn call(&self, func: Func, mut nodes: Vec<Node>, args: &[Option<Expr>], position: usize) -> Result<Node, Error> {
        let arg_pos = |i: usize| args.get(i).and_then(|a| a.as_ref()).map_or(position, |a| a.position);
        match func {
            Func::Iif => {
                let mut slots = Vec::new();
                if let Some(Some(cond)) = args.first() {
                    for name in cond.attributes() {
                        if let Some(s) = self.schema.slot(name) {
                            slots.push(s.0);
                        }
                    }
                }
                let mut it = nodes.into_iter();
                let mut next = || Box::new(it.next().unwrap_or(Node::Omitted));
                Ok(Node::Iif { cond: next(), cond_slots: slots, then: next(), other: next() })
            }
            Func::DateAdd | Func::DateDiff => {
                if let Some(Node::Const(Value::Str(i))) = nodes.first()
                    && !INTERVALS.contains(&i.as_str())
                {
                    return Err(Error::InvalidCall {
                        position: arg_pos(0),
                        function: crate::functions::spec(func).name,
                        message: format!("unknown interval {i:?}; use one of yyyy, q, m, y, d, w, ww, h, n, s"),
                    });
                }
                Ok(Node::Call(func, nodes))
            }
            Func::Replace => {
                let present = |i: usize| !matches!(nodes.get(i), Some(Node::Omitted) | None);
                let mode = if present(2) {
                    if present(3) { if present(5) { ReplaceMode::Extract } else { ReplaceMode::RegexGroup } } else { ReplaceMode::Regex }
                } else if present(1) {
                    if present(6) { ReplaceMode::Template } else { ReplaceMode::Plain }
                } else {
                    return Err(Error::InvalidCall {
                        position,
                        function: "Replace",
                        message: "Replace needs oldValue (argument 2) or regexPattern (argument 3)".into(),
                    });
                };
                let mut take = |i: usize| nodes.get_mut(i).map_or(Node::Omitted, |n| std::mem::replace(n, Node::Omitted));
                let source = take(0);
                let old_value = take(1);
                let pattern = match take(2) {
                    Node::Omitted => Pattern::Absent,
                    Node::Const(Value::Str(p)) => {
                        Pattern::Static(regexes::compile(&p).map_err(|message| Error::InvalidRegex { position: arg_pos(2), message })?)
                    }
                    other => Pattern::Dynamic(other),
                };
                let group = take(3);
                if let (Pattern::Static(re), Node::Const(Value::Str(g))) = (&pattern, &group)
                    && !re.capture_names().flatten().any(|n| n == g)
                {
                    return Err(Error::InvalidCall {
                        position: arg_pos(3),
                        function: "Replace",
                        message: format!("the regular expression has no group named {g:?}"),
                    });
                }
                Ok(Node::Replace(Box::new(ReplaceNode {
                    mode,
                    source,
                    old_value,
                    pattern,
                    group,
                    replacement: take(4),
                    replacement_attribute: take(5),
                    template: take(6),
                })))
            }
            _ => Ok(Node::Call(func, nodes)),
        }
    }
}

/// Per-evaluation state.
pub(crate) struct Cx<'r, 'e, 'a> {
    pub row: &'r Row,
    pub env: &'e mut Env<'a>,
    pub redacted: bool,
    pub ignore_flow: bool,
}

impl Program {
    /// Compiles a parsed expression; every `[attribute]` must be in `schema`.
    ///
    /// # Errors
    /// Unknown attributes, invalid constant regexes, a nested SelectUniqueValue,
    /// a Replace without a mode, an unknown constant date interval.
    pub fn compile_expr(expr: &Expr, schema: &Schema) -> Result<Program, Error> {
        let root = Compiler { schema }.node(expr, true)?;
        let reads = expr.attributes().into_iter().filter_map(|n| schema.slot(n)).collect();
        Ok(Program { root, slots: schema.len(), source: expr.to_string(), reads })
    }

    /// Parses and compiles.
    ///
    /// # Errors
    /// Any parse or compile error.
    pub fn compile(text: &str, schema: &Schema) -> Result<Program, Error> {
        Self::compile_expr(&parse(text)?, schema)
    }

    /// Parses and compiles against a schema made of exactly the attributes the
    /// expression references (in order of first use). For tools and tests.
    ///
    /// # Errors
    /// Any parse or compile error.
    pub fn compile_standalone(text: &str) -> Result<(Program, Schema), Error> {
        let expr = parse(text)?;
        let schema = Schema::new(expr.attributes());
        let p = Self::compile_expr(&expr, &schema)?;
        Ok((p, schema))
    }

    /// The source attributes the expression reads, in order of first use
    /// (e.g. to know which source changes can change the target value).
    pub fn reads(&self) -> &[Slot] {
        &self.reads
    }

    /// The expression in canonical printed form.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates against one row.
    ///
    /// # Errors
    /// An evaluation error (invalid argument, bad date, impossible RandomString,
    /// no unique value, ...). The attribute then does not flow.
    pub fn evaluate(&self, row: &Row, env: &mut Env<'_>) -> Result<Evaluation, Error> {
        if row.values.len() != self.slots {
            return Err(Error::RowMismatch { expected: self.slots, got: row.values.len() });
        }
        let mut cx = Cx { row, env, redacted: false, ignore_flow: false };
        let value = match &self.root {
            Node::Call(Func::SelectUniqueValue, rules) => select_unique(rules, &mut cx)?,
            root => eval(root, &mut cx)?,
        };
        let flow = if cx.ignore_flow {
            Flow::Ignored
        } else if value.is_null() || matches!(&value, Value::Multi(v) if v.is_empty()) {
            Flow::NullSkipped
        } else {
            Flow::Flows
        };
        Ok(Evaluation { value, flow, redacted: cx.redacted })
    }

    /// The slot this program reads when it is nothing but a reference to it (`[city]`):
    /// its value is the attribute's as it is, which a caller may read without a row.
    pub fn attribute(&self) -> Option<Slot> {
        match self.root {
            Node::Attr(i) => Some(Slot(i)),
            _ => None,
        }
    }

    /// Evaluates with the system clock, the OS random source and no uniqueness check.
    ///
    /// # Errors
    /// As [`Program::evaluate`].
    pub fn evaluate_default(&self, row: &Row) -> Result<Evaluation, Error> {
        let mut random = OsRandom;
        let mut env = Env::new(&SystemClock, &mut random);
        self.evaluate(row, &mut env)
    }
}

fn select_unique(rules: &[Node], cx: &mut Cx<'_, '_, '_>) -> Result<Value, Error> {
    if cx.env.uniqueness.is_none() {
        return Err(Error::UniquenessCheckMissing);
    }
    let (mut taken, mut empty) = (0, 0);
    for rule in rules {
        let v = eval(rule, cx)?;
        let Some(candidate) = v.to_text().filter(|s| !s.is_empty()) else {
            empty += 1;
            continue;
        };
        let check = cx.env.uniqueness.as_deref_mut().ok_or(Error::UniquenessCheckMissing)?;
        if check.is_unique(&candidate).map_err(|message| Error::UniquenessCheckFailed { message })? {
            return Ok(Value::Str(candidate));
        }
        taken += 1;
    }
    Err(Error::NoUniqueValue { rules: rules.len(), taken, empty })
}

pub(crate) fn eval(node: &Node, cx: &mut Cx<'_, '_, '_>) -> Result<Value, Error> {
    match node {
        Node::Const(v) => Ok(v.clone()),
        Node::Attr(slot) => Ok(cx.row.values.get(*slot).cloned().unwrap_or(Value::Null)),
        Node::Omitted => Ok(Value::Null),
        Node::Compare(op, l, r) => {
            let l = eval(l, cx)?;
            let r = eval(r, cx)?;
            Ok(builtins::compare(*op, &l, &r))
        }
        Node::Iif { cond, cond_slots, then, other } => {
            // Entra: "If the source attribute used within the IIF function is
            // empty or null, the condition check fails" — the IIF is NULL.
            if cond_slots.iter().any(|s| cx.row.values.get(*s).is_none_or(Value::is_null_or_empty)) {
                return Ok(Value::Null);
            }
            match eval(cond, cx)? {
                Value::Null => Ok(Value::Null),
                c if builtins::truthy(&c) => eval(then, cx),
                _ => eval(other, cx),
            }
        }
        Node::Replace(r) => builtins::replace(r, cx),
        Node::Call(func, args) => call(*func, args, cx),
    }
}

fn call(func: Func, args: &[Node], cx: &mut Cx<'_, '_, '_>) -> Result<Value, Error> {
    match func {
        Func::Switch => {
            let source = eval_arg(args, 0, cx)?.to_text().unwrap_or_default();
            let mut i = 2;
            while i + 1 < args.len() {
                let key = eval_arg(args, i, cx)?.to_text().unwrap_or_default();
                if key == source {
                    return eval_arg(args, i + 1, cx);
                }
                i += 2;
            }
            eval_arg(args, 1, cx)
        }
        Func::Coalesce => {
            for a in args {
                let v = eval(a, cx)?;
                if !v.is_null() && !matches!(&v, Value::Multi(m) if m.is_empty()) {
                    return Ok(v);
                }
            }
            Ok(Value::Null)
        }
        Func::SelectUniqueValue => Err(Error::NestedSelectUniqueValue { position: 0 }),
        _ => {
            let mut values = Vec::with_capacity(args.len());
            for a in args {
                values.push(eval(a, cx)?);
            }
            builtins::apply(func, values, cx)
        }
    }
}

fn eval_arg(args: &[Node], i: usize, cx: &mut Cx<'_, '_, '_>) -> Result<Value, Error> {
    match args.get(i) {
        Some(n) => eval(n, cx),
        None => Ok(Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{FixedClock, SeededRandom};

    #[test]
    fn slots_and_rows() {
        let schema = Schema::new(["givenName", "surname", "givenName"]);
        assert_eq!(schema.len(), 2);
        let p = Program::compile("Join(\".\", [givenName], [surname])", &schema).unwrap();
        let mut row = schema.row();
        assert!(row.set_by_name(&schema, "givenName", "John"));
        assert!(!row.set_by_name(&schema, "nope", "x"));
        row.set(Slot(1), "Doe");
        let e = p.evaluate_default(&row).unwrap();
        assert_eq!(e.value, Value::from("John.Doe"));
        assert!(e.flows());
        let err = Program::compile("[givenname]", &schema).unwrap_err();
        assert_eq!(err.to_string(), "column 1: unknown source attribute `[givenname]`; did you mean `givenName`?");
        let other = Schema::new(["a"]).row();
        assert_eq!(p.evaluate_default(&other).unwrap_err().code(), "expression.eval.row_mismatch");
    }

    #[test]
    fn programs_are_shareable_and_know_what_they_read() {
        fn shareable<T: Send + Sync + Clone>() {}
        shareable::<Program>();
        shareable::<crate::scoping::CompiledFilter>();
        let schema = Schema::new(["a", "b", "c"]);
        let p = Program::compile("Join(\",\", [c], [a], [c])", &schema).unwrap();
        assert_eq!(p.reads(), &[Slot(2), Slot(0)]);
    }

    #[test]
    fn evaluation_debug_hides_redacted() {
        let (p, s) = Program::compile_standalone("Redact([pw])").unwrap();
        let mut row = s.row();
        row.set(Slot(0), "hunter2");
        let mut r = SeededRandom::new(1);
        let clock = FixedClock::new(jiff::Timestamp::UNIX_EPOCH);
        let e = p.evaluate(&row, &mut Env::new(&clock, &mut r)).unwrap();
        assert_eq!(e.value, Value::from("hunter2"), "the value still flows");
        assert!(e.redacted);
        assert!(!format!("{e:?}").contains("hunter2"));
        assert_eq!(e.to_string(), "[Redact]");
        assert_eq!(e.log_strings(), vec!["[Redact]"]);
    }
}
