//! The function table: names, parameters, arity and a one-line summary of
//! each of the 43 documented functions plus `AltSecIdFromNetId`.

use serde::Serialize;

/// Every function the language knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Func {
    AltSecIdFromNetId,
    Append,
    AppRoleAssignmentsComplex,
    BitAnd,
    CBool,
    CDate,
    Coalesce,
    ConvertToBase64,
    ConvertToUtf8Hex,
    Count,
    CStr,
    DateAdd,
    DateDiff,
    DateFromNum,
    FormatDateTime,
    Guid,
    IgnoreFlowIfNullOrEmpty,
    Iif,
    InStr,
    IsNull,
    IsNullOrEmpty,
    IsPresent,
    IsString,
    Item,
    Join,
    Left,
    Mid,
    NormalizeDiacritics,
    Not,
    Now,
    NumFromDate,
    PCase,
    RandomString,
    Redact,
    RemoveDuplicates,
    Replace,
    SelectUniqueValue,
    SingleAppRoleAssignment,
    Split,
    StripSpaces,
    Switch,
    ToLower,
    ToUpper,
    Word,
}

/// How many argument positions a function takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// Exactly this many positions.
    Exact(usize),
    /// Between min and max positions (inclusive).
    Range(usize, usize),
    /// At least this many positions.
    AtLeast(usize),
    /// At least this many positions, and an even number (Switch).
    EvenAtLeast(usize),
}

impl Arity {
    pub(crate) fn accepts(self, n: usize) -> bool {
        match self {
            Arity::Exact(k) => n == k,
            Arity::Range(a, b) => (a..=b).contains(&n),
            Arity::AtLeast(k) => n >= k,
            Arity::EvenAtLeast(k) => n >= k && n.is_multiple_of(2),
        }
    }

    pub(crate) fn describe(self) -> String {
        fn args(n: usize) -> String {
            if n == 1 { "1 argument".into() } else { format!("{n} arguments") }
        }
        match self {
            Arity::Exact(0) => "no arguments".into(),
            Arity::Exact(k) => args(k),
            Arity::Range(a, b) => format!("{a} to {b} arguments"),
            Arity::AtLeast(k) => format!("at least {}", args(k)),
            Arity::EvenAtLeast(k) => format!("an even number of arguments, at least {k} (source, defaultValue, then key/value pairs)"),
        }
    }
}

/// A parameter of a function.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Param {
    /// Parameter name as Microsoft documents it.
    pub name: &'static str,
    /// May the position be left empty (or absent at the end)?
    pub optional: bool,
    /// Repeats (variadic tail).
    pub repeating: bool,
}

const fn p(name: &'static str) -> Param {
    Param { name, optional: false, repeating: false }
}
const fn opt(name: &'static str) -> Param {
    Param { name, optional: true, repeating: false }
}
const fn rep(name: &'static str) -> Param {
    Param { name, optional: false, repeating: true }
}

/// Static description of one function.
#[derive(Debug, Clone, Copy)]
pub struct FunctionSpec {
    /// The function.
    pub func: Func,
    /// Exact (case-sensitive) name.
    pub name: &'static str,
    /// Parameters, in order.
    pub params: &'static [Param],
    /// Accepted number of argument positions.
    pub arity: Arity,
    /// What it does, in one sentence.
    pub summary: &'static str,
    /// Internal to the cross-tenant template rather than in Microsoft's public list.
    pub internal: bool,
}

impl FunctionSpec {
    /// `Name(param1, param2?, param3...)`.
    pub fn signature(&self) -> String {
        let ps: Vec<String> = self
            .params
            .iter()
            .map(|p| {
                if p.repeating && self.func == Func::Switch {
                    "key2, value2, ...".to_owned()
                } else if p.repeating {
                    format!("{}1, {}2, ...", p.name, p.name)
                } else if p.optional {
                    format!("{}?", p.name)
                } else {
                    p.name.to_owned()
                }
            })
            .collect();
        format!("{}({})", self.name, ps.join(", "))
    }

    /// The name of parameter number `index` (0-based), for messages.
    pub(crate) fn param_name(&self, index: usize) -> String {
        match self.func {
            Func::Switch => match index {
                0 => "source".into(),
                1 => "defaultValue".into(),
                i if i % 2 == 0 => format!("key{}", i / 2),
                i => format!("value{}", (i - 1) / 2),
            },
            Func::Coalesce => format!("source{}", index + 1),
            Func::Join if index > 0 => format!("source{index}"),
            Func::SelectUniqueValue => format!("uniqueValueRule{}", index + 1),
            _ => self.params.get(index).map_or_else(|| format!("argument {}", index + 1), |p| p.name.to_owned()),
        }
    }

    /// May argument position `index` (0-based) be left empty?
    pub(crate) fn position_optional(&self, index: usize) -> bool {
        match self.func {
            Func::Switch => index == 1,
            // Coalesce(source1, ..., defaultValue?): any source may be empty (it is then NULL).
            Func::Coalesce => index > 0,
            Func::Join => false,
            Func::SelectUniqueValue => false,
            _ => self.params.get(index).is_some_and(|p| p.optional),
        }
    }
}

macro_rules! spec {
    ($f:ident, $name:literal, [$($param:expr),*], $arity:expr, $summary:literal) => {
        FunctionSpec { func: Func::$f, name: $name, params: &[$($param),*], arity: $arity, summary: $summary, internal: false }
    };
}

/// All functions, sorted by name (the 43 public ones plus `AltSecIdFromNetId`).
pub static FUNCTIONS: &[FunctionSpec] = &[
    FunctionSpec {
        func: Func::AltSecIdFromNetId,
        name: "AltSecIdFromNetId",
        params: &[p("netId")],
        arity: Arity::Exact(1),
        summary: "Validates a tenantsync anchor \"{sourceTenantUuid}:{sourceObjectUuid}\" and returns it normalised to lowercase (the default cross-tenant matching mapping).",
        internal: true,
    },
    spec!(Append, "Append", [p("source"), p("suffix")], Arity::Exact(2), "Appends suffix to the end of source."),
    spec!(
        AppRoleAssignmentsComplex,
        "AppRoleAssignmentsComplex",
        [p("appRoleAssignments")],
        Arity::Exact(1),
        "Turns every app role assignment into a SCIM complex role value (JSON)."
    ),
    spec!(BitAnd, "BitAnd", [p("value1"), p("value2")], Arity::Exact(2), "Bitwise AND of two integers."),
    spec!(CBool, "CBool", [p("expression")], Arity::Exact(1), "True if the expression is non-zero or true, else False."),
    spec!(CDate, "CDate", [p("expression")], Arity::Exact(1), "Parses a date/time string into a UTC date/time (shown as M/d/yyyy h:mm:ss tt)."),
    spec!(Coalesce, "Coalesce", [rep("source"), opt("defaultValue")], Arity::AtLeast(1), "First argument that is not NULL; NULL if all are."),
    spec!(ConvertToBase64, "ConvertToBase64", [p("source")], Arity::Exact(1), "Base64 of the UTF-16LE bytes of source."),
    spec!(ConvertToUtf8Hex, "ConvertToUTF8Hex", [p("source")], Arity::Exact(1), "Uppercase hex of the UTF-8 bytes of source."),
    spec!(Count, "Count", [p("attribute")], Arity::Exact(1), "Number of values of a multi-valued attribute."),
    spec!(CStr, "CStr", [p("value")], Arity::Exact(1), "Converts a number, boolean or reference to a string."),
    spec!(
        DateAdd,
        "DateAdd",
        [p("interval"), p("value"), p("dateTime")],
        Arity::Exact(3),
        "Adds value intervals (yyyy, q, m, y, d, w, ww, h, n, s) to a date/time."
    ),
    spec!(
        DateDiff,
        "DateDiff",
        [p("interval"), p("date1"), p("date2")],
        Arity::Exact(3),
        "Number of interval boundaries from date1 to date2 (VB.NET DateDiff)."
    ),
    spec!(DateFromNum, "DateFromNum", [p("value")], Arity::Exact(1), "Converts an AD FILETIME number (100-ns ticks since 1601) to a date/time."),
    spec!(
        FormatDateTime,
        "FormatDateTime",
        [p("source"), opt("dateTimeStyles"), p("inputFormat"), p("outputFormat")],
        Arity::Exact(4),
        "Reads source with a .NET date format and writes it with another."
    ),
    spec!(Guid, "Guid", [], Arity::Exact(0), "A new random GUID."),
    spec!(
        IgnoreFlowIfNullOrEmpty,
        "IgnoreFlowIfNullOrEmpty",
        [p("expression")],
        Arity::Exact(1),
        "Drops the target attribute from the flow if the expression is NULL or empty."
    ),
    spec!(Iif, "IIF", [p("condition"), p("valueIfTrue"), p("valueIfFalse")], Arity::Exact(3), "valueIfTrue if the condition holds, else valueIfFalse."),
    spec!(
        InStr,
        "InStr",
        [p("value1"), p("value2"), opt("start"), opt("compareType")],
        Arity::Range(2, 4),
        "1-based position of value2 in value1 (0 if absent)."
    ),
    spec!(IsNull, "IsNull", [p("expression")], Arity::Exact(1), "True if the expression is NULL (attribute absent)."),
    spec!(IsNullOrEmpty, "IsNullOrEmpty", [p("expression")], Arity::Exact(1), "True if the expression is NULL or the empty string."),
    spec!(IsPresent, "IsPresent", [p("expression")], Arity::Exact(1), "True if the expression is neither NULL nor empty."),
    spec!(IsString, "IsString", [p("expression")], Arity::Exact(1), "True if the expression evaluates to a string."),
    spec!(Item, "Item", [p("attribute"), p("index")], Arity::Exact(2), "The index-th (1-based) value of a multi-valued attribute."),
    spec!(Join, "Join", [p("separator"), rep("source")], Arity::AtLeast(2), "Joins the non-empty values (multi-valued ones expanded) with separator."),
    spec!(Left, "Left", [p("String"), p("NumChars")], Arity::Exact(2), "The first NumChars characters."),
    spec!(Mid, "Mid", [p("source"), p("start"), p("length")], Arity::Exact(3), "Substring from 1-based start, at most length characters."),
    spec!(
        NormalizeDiacritics,
        "NormalizeDiacritics",
        [p("source")],
        Arity::Exact(1),
        "Replaces the characters of Microsoft's diacritics table with plain letters."
    ),
    spec!(Not, "Not", [p("source")], Arity::Exact(1), "False if source is True, else True."),
    spec!(Now, "Now", [], Arity::Exact(0), "The current UTC date/time (M/d/yyyy h:mm:ss tt)."),
    spec!(NumFromDate, "NumFromDate", [p("value")], Arity::Exact(1), "Converts a date/time string to an AD FILETIME number."),
    spec!(PCase, "PCase", [p("source"), opt("wordSeparators")], Arity::Range(1, 2), "Proper case: first letter of each word upper, the rest lower."),
    spec!(
        RandomString,
        "RandomString",
        [p("Length"), p("MinimumNumbers"), p("MinimumSpecialCharacters"), p("MinimumCapital"), p("MinimumLowerCase"), opt("CharactersToAvoid")],
        Arity::Range(5, 6),
        "A random string meeting the given minimum character counts (length at most 256)."
    ),
    spec!(Redact, "Redact", [p("value")], Arity::Exact(1), "The value flows, but logs show [Redact] instead."),
    spec!(RemoveDuplicates, "RemoveDuplicates", [p("attribute")], Arity::Exact(1), "Removes duplicate values from a multi-valued attribute."),
    spec!(
        Replace,
        "Replace",
        [p("source"), opt("oldValue"), opt("regexPattern"), opt("regexGroupName"), opt("replacementValue"), opt("replacementAttributeName"), opt("template")],
        Arity::Exact(7),
        "Case-sensitive replace: plain, template, regex, regex group, or regex extraction from another attribute."
    ),
    spec!(
        SelectUniqueValue,
        "SelectUniqueValue",
        [rep("uniqueValueRule")],
        Arity::AtLeast(2),
        "The first rule value that is unique in the target (top level only)."
    ),
    spec!(SingleAppRoleAssignment, "SingleAppRoleAssignment", [p("appRoleAssignments")], Arity::Exact(1), "The role name of a single app role assignment."),
    spec!(Split, "Split", [p("source"), p("delimiter")], Arity::Exact(2), "Splits a string into a multi-valued attribute."),
    spec!(StripSpaces, "StripSpaces", [p("source")], Arity::Exact(1), "Removes every space character."),
    spec!(
        Switch,
        "Switch",
        [p("source"), opt("defaultValue"), p("key1"), p("value1"), rep("key")],
        Arity::EvenAtLeast(4),
        "The value paired with the first key equal to source (case-sensitive), else defaultValue."
    ),
    spec!(ToLower, "ToLower", [p("source"), opt("culture")], Arity::Range(1, 2), "Lower case (invariant culture unless a culture is given)."),
    spec!(ToUpper, "ToUpper", [p("source"), opt("culture")], Arity::Range(1, 2), "Upper case (invariant culture unless a culture is given)."),
    spec!(
        Word,
        "Word",
        [p("String"), p("WordNumber"), p("Delimiters")],
        Arity::Exact(3),
        "The WordNumber-th word, words being separated by any of the delimiter characters."
    ),
];

/// Looks a function up by its exact (case-sensitive) name.
pub fn lookup(name: &str) -> Option<&'static FunctionSpec> {
    FUNCTIONS.iter().find(|s| s.name == name)
}

/// The spec of a function.
pub fn spec(func: Func) -> &'static FunctionSpec {
    // FUNCTIONS holds every Func; the fallback is never reached but keeps this total.
    const FALLBACK: FunctionSpec = FunctionSpec { func: Func::Guid, name: "Guid", params: &[], arity: Arity::Exact(0), summary: "", internal: false };
    FUNCTIONS.iter().find(|s| s.func == func).unwrap_or(&FALLBACK)
}

/// One function for listings (`tenantsync expr functions --json`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionInfo {
    /// Name.
    pub name: &'static str,
    /// Signature, `?` marks optional parameters.
    pub signature: String,
    /// Parameters.
    pub parameters: Vec<Param>,
    /// One-sentence summary.
    pub summary: &'static str,
    /// Not in Microsoft's public list (used by the cross-tenant template).
    pub internal: bool,
}

/// Every function with its signature, sorted by name.
pub fn function_list() -> Vec<FunctionInfo> {
    FUNCTIONS
        .iter()
        .map(|s| FunctionInfo { name: s.name, signature: s.signature(), parameters: s.params.to_vec(), summary: s.summary, internal: s.internal })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_43_public_functions_plus_the_anchor() {
        assert_eq!(FUNCTIONS.iter().filter(|s| !s.internal).count(), 43);
        assert_eq!(FUNCTIONS.len(), 44);
        let mut names: Vec<_> = FUNCTIONS.iter().map(|s| s.name.to_lowercase()).collect();
        let sorted = names.clone();
        names.sort();
        assert_eq!(names, sorted, "table is sorted by name");
    }

    #[test]
    fn signatures() {
        assert_eq!(lookup("InStr").unwrap().signature(), "InStr(value1, value2, start?, compareType?)");
        assert_eq!(lookup("Join").unwrap().signature(), "Join(separator, source1, source2, ...)");
        assert!(lookup("instr").is_none(), "names are case-sensitive");
        for s in FUNCTIONS {
            assert_eq!(spec(s.func).name, s.name);
        }
    }
}
