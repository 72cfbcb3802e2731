use jiff::Timestamp;
use tenantsync_expression::{Env, Error, Evaluation, FixedClock, Program, SeededRandom, UniquenessCheck, Value};

/// The clock every test sees: 2021-08-25 17:41:18 UTC (the DateDiff examples' "Now").
pub fn now() -> Timestamp {
    "2021-08-25T17:41:18Z".parse().unwrap()
}

/// Evaluates `expr` with the given attributes (others absent).
pub fn try_eval(expr: &str, attrs: &[(&str, Value)]) -> Result<Evaluation, Error> {
    try_eval_with(expr, attrs, 42, None)
}

pub fn try_eval_with(expr: &str, attrs: &[(&str, Value)], seed: u64, unique: Option<&mut dyn UniquenessCheck>) -> Result<Evaluation, Error> {
    let (program, mut schema) = Program::compile_standalone(expr)?;
    for (name, _) in attrs {
        schema.add(*name);
    }
    // recompile against the widened schema (extra attributes are harmless)
    drop(program);
    let program = Program::compile(expr, &schema)?;
    let mut row = schema.row();
    for (name, v) in attrs {
        row.set_by_name(&schema, name, v.clone());
    }
    let clock = FixedClock::new(now());
    let mut random = SeededRandom::new(seed);
    let mut env = Env::new(&clock, &mut random);
    if let Some(u) = unique {
        env = env.with_uniqueness(u);
    }
    program.evaluate(&row, &mut env)
}

pub fn eval(expr: &str, attrs: &[(&str, Value)]) -> Evaluation {
    try_eval(expr, attrs).unwrap_or_else(|e| panic!("{expr}: {e}"))
}

/// The single string result (panics on NULL).
pub fn s(expr: &str, attrs: &[(&str, Value)]) -> String {
    let e = eval(expr, attrs);
    e.value.to_text().unwrap_or_else(|| panic!("{expr}: NULL"))
}

pub fn v(x: &str) -> Value {
    Value::from(x)
}

pub fn multi(xs: &[&str]) -> Value {
    Value::Multi(xs.iter().map(|x| Value::from(*x)).collect())
}

pub fn err(expr: &str, attrs: &[(&str, Value)]) -> Error {
    match try_eval(expr, attrs) {
        Ok(e) => panic!("{expr}: expected an error, got {e:?}"),
        Err(e) => e,
    }
}
