//! Parse, print/re-parse, compile and evaluate arbitrary text: nothing may panic,
//! and the printed form of a parsed expression must parse back to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tenantsync_expression::{Env, FixedClock, Program, SeededRandom, Value, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // The first line is the expression; the following lines are attribute values.
    let mut lines = text.split('\n');
    let expr = lines.next().unwrap_or_default();
    let Ok(tree) = parse(expr) else { return };
    let printed = tree.to_string();
    if printed.chars().count() <= tenantsync_expression::MAX_LENGTH {
        match parse(&printed) {
            Ok(again) => assert_eq!(again, tree, "print/parse round trip: {printed}"),
            Err(e) => panic!("printed form does not parse: {printed}: {e}"),
        }
    }
    let Ok((program, schema)) = Program::compile_standalone(expr) else { return };
    let mut row = schema.row();
    for (i, name) in schema.names().iter().enumerate() {
        let v = match lines.next() {
            None => Value::Null,
            Some(l) if i % 3 == 2 => Value::Multi(l.split('|').map(Value::from).collect()),
            Some(l) => Value::from(l),
        };
        row.set_by_name(&schema, name, v);
    }
    let clock = FixedClock(jiff::Timestamp::UNIX_EPOCH);
    let mut random = SeededRandom::new(data.len() as u64);
    let mut taken = 0u32;
    let mut unique = |_: &str| -> Result<bool, String> {
        taken += 1;
        Ok(taken > 2)
    };
    let mut env = Env::new(&clock, &mut random).with_uniqueness(&mut unique);
    if let Ok(ev) = program.evaluate(&row, &mut env)
        && ev.redacted
    {
        assert_eq!(ev.log_value(), "[Redact]");
    }
});
