//! Parse scoping filters from text, compile and evaluate them: nothing may
//! panic, and a clause's text form parses back to the same clause.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tenantsync_expression::Schema;
use tenantsync_expression::scoping::{Filter, FilterClause};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (filter_text, value) = text.split_once('\u{0}').unwrap_or((text, "42"));
    if let Ok(clause) = filter_text.parse::<FilterClause>() {
        let again: FilterClause = clause.to_string().parse().expect("clause text round trip");
        assert_eq!(again, clause);
    }
    let Ok(filter) = Filter::parse_text(filter_text) else { return };
    let names: Vec<String> = filter.groups.iter().flat_map(|g| g.clauses.iter().map(|c| c.source_operand_name.clone())).collect();
    let schema = Schema::new(names.clone());
    let Ok(compiled) = filter.compile(&schema) else { return };
    let mut row = schema.row();
    for n in &names {
        row.set_by_name(&schema, n, value);
    }
    let explained = compiled.evaluate(&row);
    assert_eq!(explained.in_scope, compiled.is_in_scope(&row));
});
