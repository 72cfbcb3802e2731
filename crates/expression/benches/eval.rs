//! Evaluation benchmarks: compiled programs vs hand-written Rust doing the
//! same transformation (the ratio matters more than the absolute figure on a
//! noisy machine). Run: `cargo bench -p tenantsync-expression`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]

use divan::{Bencher, black_box};
use tenantsync_expression::{Env, FixedClock, Program, Row, Schema, SeededRandom, Value, normalize_diacritics};

const TYPICAL: &str = r#"ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".", [givenName], [surname]))), "contoso.com"))"#;

fn main() {
    divan::main();
}

fn setup(expr: &str, given: &str, surname: &str) -> (Program, Row) {
    let schema = Schema::new(["givenName", "surname", "displayName"]);
    let program = Program::compile(expr, &schema).unwrap();
    let mut row = schema.row();
    row.set(schema.slot("givenName").unwrap(), given);
    row.set(schema.slot("surname").unwrap(), surname);
    row.set(schema.slot("displayName").unwrap(), "John Smith");
    (program, row)
}

fn run(b: Bencher<'_, '_>, program: &Program, row: &Row) {
    let clock = FixedClock::new(jiff::Timestamp::UNIX_EPOCH);
    let mut random = SeededRandom::new(1);
    let mut env = Env::new(&clock, &mut random);
    b.bench_local(|| program.evaluate(black_box(row), &mut env).unwrap());
}

/// The plain-Rust equivalent of TYPICAL.
fn typical_by_hand(given: &str, surname: &str) -> String {
    let mut joined = String::with_capacity(given.len() + surname.len() + 1);
    for part in [given, surname] {
        if !part.is_empty() {
            if !joined.is_empty() {
                joined.push('.');
            }
            joined.push_str(part);
        }
    }
    let stripped = joined.replace(' ', "");
    let normalized = normalize_diacritics(&stripped);
    format!("{normalized}@contoso.com").to_lowercase()
}

#[divan::bench]
fn typical_mapping_ascii(b: Bencher<'_, '_>) {
    let (p, row) = setup(TYPICAL, "John", "Smith");
    run(b, &p, &row);
}

#[divan::bench]
fn typical_mapping_diacritics(b: Bencher<'_, '_>) {
    let (p, row) = setup(TYPICAL, "Zoë", "Van Dijk");
    run(b, &p, &row);
}

#[divan::bench]
fn baseline_typical_ascii(b: Bencher<'_, '_>) {
    let row = [String::from("John"), String::from("Smith")];
    b.bench_local(|| typical_by_hand(black_box(&row[0]), black_box(&row[1])));
}

#[divan::bench]
fn baseline_typical_diacritics(b: Bencher<'_, '_>) {
    let row = [String::from("Zoë"), String::from("Van Dijk")];
    b.bench_local(|| typical_by_hand(black_box(&row[0]), black_box(&row[1])));
}

#[divan::bench]
fn direct_mapping(b: Bencher<'_, '_>) {
    let (p, row) = setup("[displayName]", "John", "Smith");
    run(b, &p, &row);
}

#[divan::bench]
fn baseline_direct(b: Bencher<'_, '_>) {
    let row = vec![Value::Null, Value::Null, Value::from("John Smith")];
    b.bench_local(|| black_box(&row)[2].clone());
}

#[divan::bench]
fn parse_and_compile_typical(b: Bencher<'_, '_>) {
    let schema = Schema::new(["givenName", "surname"]);
    b.bench_local(|| Program::compile(black_box(TYPICAL), &schema).unwrap());
}
