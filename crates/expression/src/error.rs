//! The crate's single error type. Every variant has one stable code
//! (`Error::code`) and, where it applies, a 0-based character position in the
//! expression text (`Error::position`). Messages say "column N" (1-based).

use thiserror::Error;

/// Everything that can go wrong when parsing, compiling or evaluating an
/// expression or a scoping filter.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    // ---- parse ----
    /// The expression is longer than the 10,000-character limit.
    #[error("expression is {length} characters long; the limit is {limit}")]
    TooLong { length: usize, limit: usize },
    /// Nothing to parse.
    #[error("expression is empty")]
    Empty,
    /// A token that does not fit the grammar at this place.
    #[error("column {col}: expected {expected}, found {found}", col = .position + 1)]
    UnexpectedToken { position: usize, expected: String, found: String },
    /// A string constant without its closing quote.
    #[error("column {col}: string constant is not closed (missing '\"')", col = .position + 1)]
    UnterminatedString { position: usize },
    /// A `[attribute` without its closing bracket.
    #[error("column {col}: attribute reference is not closed (missing ']')", col = .position + 1)]
    UnterminatedAttribute { position: usize },
    /// `[]`.
    #[error("column {col}: attribute name is empty", col = .position + 1)]
    EmptyAttribute { position: usize },
    /// A number that does not fit a 64-bit integer or a malformed `&H` literal.
    #[error("column {col}: invalid number {text}", col = .position + 1)]
    InvalidNumber { position: usize, text: String },
    /// A call of a function that does not exist.
    #[error("column {col}: unknown function `{name}`{hint}", col = .position + 1, hint = suggestion_hint(.suggestion.as_deref()))]
    UnknownFunction { position: usize, name: String, suggestion: Option<String> },
    /// A bare identifier that is not one of the known enum constants.
    #[error("column {col}: unknown name `{name}` (bare names are only vbTextCompare and vbBinaryCompare; string constants need double quotes){hint}", col = .position + 1, hint = suggestion_hint(.suggestion.as_deref()))]
    UnknownIdentifier { position: usize, name: String, suggestion: Option<String> },
    /// A call with the wrong number of argument positions.
    #[error("column {col}: {function} takes {expected}; got {got} argument{s}", col = .position + 1, s = if *.got == 1 { "" } else { "s" })]
    ArgumentCount { position: usize, function: &'static str, expected: String, got: usize },
    /// A required argument position was left empty.
    #[error("column {col}: argument {index} of {function} ({parameter}) is required and cannot be omitted", col = .position + 1)]
    MissingArgument { position: usize, function: &'static str, index: usize, parameter: String },
    /// Nesting deeper than the parser allows.
    #[error("column {col}: expression is nested more than {limit} levels deep", col = .position + 1)]
    TooDeep { position: usize, limit: usize },

    // ---- compile ----
    /// `[name]` is not one of the source attributes the mapping is compiled against.
    #[error("column {col}: unknown source attribute `[{name}]`{hint}", col = .position + 1, hint = suggestion_hint(.suggestion.as_deref()))]
    UnknownAttribute { position: usize, name: String, suggestion: Option<String> },
    /// A regular expression that does not compile (syntax, unsupported construct, size limit).
    #[error("column {col}: invalid regular expression: {message}", col = .position + 1)]
    InvalidRegex { position: usize, message: String },
    /// A call whose arguments are wrong in a way the parser can see (e.g. Replace mode).
    #[error("column {col}: {message}", col = .position + 1)]
    InvalidCall { position: usize, function: &'static str, message: String },
    /// `SelectUniqueValue` nested inside another call.
    #[error("column {col}: SelectUniqueValue must be the whole expression (top level); it cannot be nested", col = .position + 1)]
    NestedSelectUniqueValue { position: usize },

    // ---- evaluate ----
    /// A function received a value it cannot use.
    #[error("{function}: {message}")]
    InvalidArgument { function: &'static str, message: String },
    /// Text that is not a date/time where one is needed.
    #[error("{function}: cannot read {input:?} as a date/time{detail}")]
    InvalidDate { function: &'static str, input: String, detail: String },
    /// The netId is not `{tenantUuid}:{objectUuid}`.
    #[error("AltSecIdFromNetId: {input:?} is not an anchor; expected \"{{sourceTenantUuid}}:{{sourceObjectUuid}}\" (two hyphenated UUIDs joined by ':')")]
    InvalidNetId { input: String },
    /// RandomString constraints that cannot be satisfied.
    #[error("RandomString: {message}")]
    ImpossibleRandomString { message: String },
    /// SelectUniqueValue: every candidate is taken (the engine escrows the entry).
    #[error("SelectUniqueValue: no rule gave a value that is free in the target ({taken} of {rules} already exist, {empty} empty)")]
    NoUniqueValue { rules: usize, taken: usize, empty: usize },
    /// SelectUniqueValue evaluated without a uniqueness check.
    #[error("SelectUniqueValue needs a uniqueness check against the target directory, and none was given")]
    UniquenessCheckMissing,
    /// The caller's uniqueness check failed.
    #[error("SelectUniqueValue: uniqueness check failed: {message}")]
    UniquenessCheckFailed { message: String },
    /// An input row with the wrong number of slots for the program.
    #[error("input row has {got} slots; the program was compiled for {expected}")]
    RowMismatch { expected: usize, got: usize },

    // ---- scoping filters ----
    /// A scoping operator name that is not documented.
    #[error("unknown scoping filter operator `{name}`{hint} (the operators: {known})", hint = suggestion_hint(.suggestion.as_deref()), known = crate::scoping::Operator::names().join(", "))]
    UnknownOperator { name: String, suggestion: Option<String> },
    /// A scoping clause that is malformed.
    #[error("scoping clause {clause:?}: {message}")]
    InvalidClause { clause: String, message: String },
}

fn suggestion_hint(s: Option<&str>) -> String {
    match s {
        Some(s) => format!("; did you mean `{s}`?"),
        None => String::new(),
    }
}

tenantsync_domain::error_table! {
    Error {
        TooLong => "expression.parse.too_long", 400, "the expression is longer than the length limit";
        Empty => "expression.parse.empty", 400, "the expression is empty";
        UnexpectedToken => "expression.parse.unexpected_token", 400, "something other than what the grammar allows at that column";
        UnterminatedString => "expression.parse.unterminated_string", 400, "a string constant without its closing `\"`";
        UnterminatedAttribute => "expression.parse.unterminated_attribute", 400, "an attribute reference without its closing `]`";
        EmptyAttribute => "expression.parse.empty_attribute", 400, "`[]`: an attribute reference without a name";
        InvalidNumber => "expression.parse.invalid_number", 400, "a number that cannot be read";
        UnknownFunction => "expression.parse.unknown_function", 400, "a function the language does not have (with the nearest name, if one is close)";
        UnknownIdentifier => "expression.parse.unknown_identifier", 400, "a bare name other than `vbTextCompare`/`vbBinaryCompare` (string constants need double quotes)";
        ArgumentCount => "expression.parse.argument_count", 400, "a function called with too few or too many arguments";
        MissingArgument => "expression.parse.missing_argument", 400, "a required argument left out";
        TooDeep => "expression.parse.too_deep", 400, "nesting beyond the depth limit (never a stack overflow)";
        UnknownAttribute => "expression.compile.unknown_attribute", 400, "an attribute the source schema does not have (with the nearest name, if one is close)";
        InvalidRegex => "expression.compile.invalid_regex", 400, "a regular expression that does not compile";
        InvalidCall => "expression.compile.invalid_call", 400, "a call whose constant arguments cannot work (e.g. a bad format string)";
        NestedSelectUniqueValue => "expression.compile.nested_select_unique_value", 400, "`SelectUniqueValue` anywhere but at the top level";
        InvalidArgument => "expression.eval.invalid_argument", 400, "an argument value a function cannot take, at run time";
        InvalidDate => "expression.eval.invalid_date", 400, "a value that cannot be read as a date/time";
        InvalidNetId => "expression.eval.invalid_net_id", 400, "`AltSecIdFromNetId` given something that is not an anchor";
        ImpossibleRandomString => "expression.eval.impossible_random_string", 400, "`RandomString` constraints no string can meet";
        NoUniqueValue => "expression.eval.no_unique_value", 400, "`SelectUniqueValue`: every rule's value is taken in the target or empty";
        UniquenessCheckMissing => "expression.eval.uniqueness_check_missing", 500, "`SelectUniqueValue` evaluated without a uniqueness check against the target";
        UniquenessCheckFailed => "expression.eval.uniqueness_check_failed", 400, "the uniqueness check itself failed";
        RowMismatch => "expression.eval.row_mismatch", 500, "an input row of another schema than the program was compiled for (a bug of the caller)";
        UnknownOperator => "expression.scoping.unknown_operator", 400, "a scoping filter operator that does not exist (with the nearest name and the list of operators)";
        InvalidClause => "expression.scoping.invalid_clause", 400, "a scoping clause whose value does not suit its operator (e.g. a bad regex or number)";
    }
}

impl Error {
    /// 0-based character offset in the expression text, where it applies.
    pub fn position(&self) -> Option<usize> {
        match self {
            Error::UnexpectedToken { position, .. }
            | Error::UnterminatedString { position }
            | Error::UnterminatedAttribute { position }
            | Error::EmptyAttribute { position }
            | Error::InvalidNumber { position, .. }
            | Error::UnknownFunction { position, .. }
            | Error::UnknownIdentifier { position, .. }
            | Error::ArgumentCount { position, .. }
            | Error::MissingArgument { position, .. }
            | Error::TooDeep { position, .. }
            | Error::UnknownAttribute { position, .. }
            | Error::InvalidRegex { position, .. }
            | Error::InvalidCall { position, .. }
            | Error::NestedSelectUniqueValue { position } => Some(*position),
            _ => None,
        }
    }

    /// True for errors found before evaluation (parse or compile time).
    pub fn is_parse_error(&self) -> bool {
        self.code().starts_with("expression.parse.") || self.code().starts_with("expression.compile.")
    }
}

/// The closest candidate by edit distance (case-insensitive), if it is close enough.
pub(crate) fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = if c.to_lowercase() == lower { 0 } else { levenshtein(&lower, &c.to_lowercase()) };
        let limit = (name.chars().count().max(c.chars().count()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_owned())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        if let Some(first) = cur.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(usize::MAX).saturating_add(1);
            let ins = cur.get(j).copied().unwrap_or(usize::MAX).saturating_add(1);
            let sub = prev.get(j).copied().unwrap_or(usize::MAX).saturating_add(cost);
            if let Some(slot) = cur.get_mut(j + 1) {
                *slot = del.min(ins).min(sub);
            }
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("Replce", ["Replace", "Left"]), Some("Replace".into()));
        assert_eq!(did_you_mean("replace", ["Replace", "Left"]), Some("Replace".into()));
        assert_eq!(did_you_mean("Frobnicate", ["Replace", "Left"]), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }

    #[test]
    fn codes_are_namespaced() {
        let e = Error::Empty;
        assert_eq!(e.code(), "expression.parse.empty");
        assert!(e.is_parse_error());
        assert!(!Error::UniquenessCheckMissing.is_parse_error());
    }
}
