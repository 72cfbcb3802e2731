//! The function implementations. `apply` receives already-evaluated
//! arguments (omitted positions are NULL) and does not recurse, so deep
//! expressions keep small stack frames.
//!
//! Null rules (documented in docs/expression-language.md): a NULL `source`
//! makes string functions NULL (the attribute does not flow), except where
//! Microsoft documents otherwise (Left/Word → "", Join skips, Coalesce,
//! IsNull family, Not → True, CBool → False). String functions applied to a
//! multi-valued input work on each value.

use base64::Engine as _;

use crate::datetime;
use crate::env::below;
use crate::error::Error;
use crate::functions::{Func, spec};
use crate::parser::CmpOp;
use crate::program::{Cx, Pattern, ReplaceMode, ReplaceNode, eval};
use crate::regexes;
use crate::text;
use crate::value::Value;

fn name(f: Func) -> &'static str {
    spec(f).name
}

fn invalid(f: Func, message: impl Into<String>) -> Error {
    Error::InvalidArgument { function: name(f), message: message.into() }
}

/// Entra's truth test: Bool, "True"/"False" (any case), non-zero numbers.
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Str(s) => {
            let t = s.trim();
            if t.eq_ignore_ascii_case("true") {
                true
            } else if let Ok(i) = t.parse::<i64>() {
                i != 0
            } else {
                t.parse::<f64>().is_ok_and(|f| f != 0.0 && !f.is_nan())
            }
        }
        Value::Multi(v) => v.first().is_some_and(truthy),
        Value::Null | Value::DateTime(_) => false,
    }
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Str(s) => {
            let t = s.trim();
            if let Some(hex) = t.strip_prefix("&H").or_else(|| t.strip_prefix("&h")) {
                u64::from_str_radix(hex, 16).ok().map(|u| u as i64)
            } else {
                t.parse().ok()
            }
        }
        Value::Bool(b) => Some(if *b { -1 } else { 0 }),
        Value::Multi(v) => v.first().and_then(as_int),
        _ => None,
    }
}

fn as_date(v: &Value) -> Option<jiff::Timestamp> {
    match v {
        Value::DateTime(t) => Some(*t),
        Value::Str(s) => datetime::parse_lenient(s),
        Value::Multi(v) => v.first().and_then(as_date),
        _ => None,
    }
}

/// Comparison inside conditions: integers numerically, date/times
/// chronologically, everything else as case-sensitive ordinal strings.
/// A NULL operand makes the condition NULL (it fails).
pub(crate) fn compare(op: CmpOp, l: &Value, r: &Value) -> Value {
    use std::cmp::Ordering;
    if l.is_null() || r.is_null() {
        return Value::Null;
    }
    let ord: Ordering = match (l, r) {
        (Value::DateTime(a), b) | (b, Value::DateTime(a)) if as_date(b).is_some() => {
            let b = as_date(b).unwrap_or(*a);
            if matches!(l, Value::DateTime(_)) { a.cmp(&b) } else { b.cmp(a) }
        }
        _ => match (as_int(l).filter(|_| !matches!(l, Value::Bool(_))), as_int(r).filter(|_| !matches!(r, Value::Bool(_)))) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => l.to_text().unwrap_or_default().cmp(&r.to_text().unwrap_or_default()),
        },
    };
    Value::Bool(match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
    })
}

/// Applies a string → string function to a value; NULL stays NULL, multi-values map.
fn map_str(v: Value, f: &mut impl FnMut(&str) -> Result<String, Error>) -> Result<Value, Error> {
    map_owned(v, &mut |s| f(&s))
}

/// Like `map_str`, but the function owns the string and may reuse its buffer.
fn map_owned(v: Value, f: &mut impl FnMut(String) -> Result<String, Error>) -> Result<Value, Error> {
    Ok(match v {
        Value::Null => Value::Null,
        Value::Str(s) => Value::Str(f(s)?),
        Value::Multi(vals) => {
            let mut out = Vec::with_capacity(vals.len());
            for x in vals {
                out.push(map_owned(x, f)?);
            }
            Value::Multi(out)
        }
        other => match other.to_text() {
            Some(t) => Value::Str(f(t)?),
            None => Value::Null,
        },
    })
}

fn text_arg(v: &Value) -> Option<String> {
    v.to_text()
}

fn int_arg(f: Func, args: &[Value], i: usize) -> Result<Option<i64>, Error> {
    match args.get(i) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => as_int(v).map(Some).ok_or_else(|| invalid(f, format!("{} must be a whole number, got {}", spec(f).param_name(i), v))),
    }
}

fn req_int(f: Func, args: &[Value], i: usize) -> Result<i64, Error> {
    int_arg(f, args, i)?.ok_or_else(|| invalid(f, format!("{} is NULL; a whole number is needed", spec(f).param_name(i))))
}

fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(&Value::Null)
}

fn take(args: &mut [Value], i: usize) -> Value {
    args.get_mut(i).map(std::mem::take).unwrap_or(Value::Null)
}

fn date_arg(f: Func, v: &Value) -> Result<Option<jiff::Timestamp>, Error> {
    match v {
        Value::Null => Ok(None),
        other => {
            as_date(other).map(Some).ok_or_else(|| Error::InvalidDate { function: name(f), input: other.to_text().unwrap_or_default(), detail: String::new() })
        }
    }
}

fn chars_take(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

fn lower_char(c: char, turkish: bool, out: &mut String) {
    if turkish && c == 'I' {
        out.push('ı');
        return;
    }
    if c == 'İ' {
        out.push('i');
        return;
    }
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(x), None) => out.push(x),
        _ => out.push(c),
    }
}

fn upper_char(c: char, turkish: bool, out: &mut String) {
    if turkish && c == 'i' {
        out.push('İ');
        return;
    }
    let mut u = c.to_uppercase();
    match (u.next(), u.next()) {
        (Some(x), None) => out.push(x),
        // .NET uses simple case mapping: ß, ŉ, ligatures stay as they are.
        _ => out.push(c),
    }
}

fn culture(f: Func, v: &Value) -> Result<bool, Error> {
    let Some(c) = v.to_text() else { return Ok(false) };
    let valid = {
        let mut parts = c.split('-');
        parts.next().is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()))
            && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
    };
    if !valid {
        return Err(invalid(f, format!("{c:?} is not a culture name (RFC 4646, e.g. en-US)")));
    }
    let lang = c.split('-').next().unwrap_or("").to_ascii_lowercase();
    Ok(lang == "tr" || lang == "az")
}

const SPECIALS: &str = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/";

fn random_string(args: &[Value], cx: &mut Cx<'_, '_, '_>) -> Result<Value, Error> {
    let f = Func::RandomString;
    let mut n = [0_i64; 5];
    for (i, slot) in n.iter_mut().enumerate() {
        *slot = req_int(f, args, i)?;
        if *slot < 0 {
            return Err(Error::ImpossibleRandomString { message: format!("{} cannot be negative ({})", spec(f).param_name(i), slot) });
        }
    }
    let [length, digits, specials, capitals, lowers] = n;
    if length == 0 || length > 256 {
        return Err(Error::ImpossibleRandomString { message: format!("Length must be between 1 and 256, got {length}") });
    }
    // Saturating: minimums near i64::MAX must be refused, not overflow (found by the
    // evaluation_never_panics property test).
    let sum = digits.saturating_add(specials).saturating_add(capitals).saturating_add(lowers);
    if sum > length {
        return Err(Error::ImpossibleRandomString { message: format!("the minimums add up to {sum}, more than Length {length}") });
    }
    let avoid = arg(args, 5).to_text().unwrap_or_default();
    let pool = |set: &str| -> Vec<char> { set.chars().filter(|c| !avoid.contains(*c)).collect() };
    let classes = [
        ("MinimumNumbers", pool("0123456789"), digits),
        ("MinimumSpecialCharacters", pool(SPECIALS), specials),
        ("MinimumCapital", pool("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), capitals),
        ("MinimumLowerCase", pool("abcdefghijklmnopqrstuvwxyz"), lowers),
    ];
    let mut out: Vec<char> = Vec::with_capacity(length as usize);
    let mut fill: Vec<char> = Vec::new();
    for (i, (label, chars, min)) in classes.iter().enumerate() {
        if *min > 0 && chars.is_empty() {
            return Err(Error::ImpossibleRandomString { message: format!("{label} is {min} but CharactersToAvoid excludes every such character") });
        }
        for _ in 0..*min {
            if let Some(c) = chars.get(below(cx.env.random, chars.len())) {
                out.push(*c);
            }
        }
        // Decision: the rest is drawn from digits and letters, plus special
        // characters only when some are asked for (MinimumSpecialCharacters > 0).
        if i != 1 || specials > 0 {
            fill.extend(chars.iter().copied());
        }
    }
    let rest = length - sum;
    if rest > 0 && fill.is_empty() {
        return Err(Error::ImpossibleRandomString { message: "CharactersToAvoid leaves no character to fill the string".into() });
    }
    for _ in 0..rest {
        if let Some(c) = fill.get(below(cx.env.random, fill.len())) {
            out.push(*c);
        }
    }
    for i in (1..out.len()).rev() {
        let j = below(cx.env.random, i + 1);
        out.swap(i, j);
    }
    Ok(Value::Str(out.into_iter().collect()))
}

fn role_name(v: &Value) -> Option<String> {
    let t = v.to_text()?;
    if t.trim_start().starts_with('{')
        && let Ok(serde_json::Value::Object(o)) = serde_json::from_str::<serde_json::Value>(&t)
    {
        for key in ["displayName", "display", "value", "name"] {
            if let Some(serde_json::Value::String(s)) = o.get(key) {
                return Some(s.clone());
            }
        }
    }
    Some(t)
}

fn values_of(v: Value) -> Vec<Value> {
    match v {
        Value::Null => Vec::new(),
        Value::Multi(m) => m,
        other => vec![other],
    }
}

fn alt_sec_id(v: &Value) -> Result<Value, Error> {
    let Some(t) = v.to_text() else { return Ok(Value::Null) };
    let bad = || Error::InvalidNetId { input: t.clone() };
    let (tenant, object) = t.split_once(':').ok_or_else(bad)?;
    let norm = |s: &str| -> Result<String, Error> {
        if s.len() != 36 {
            return Err(bad());
        }
        let u = uuid::Uuid::try_parse(s).map_err(|_| bad())?;
        Ok(u.hyphenated().to_string())
    };
    Ok(Value::Str(format!("{}:{}", norm(tenant)?, norm(object)?)))
}

/// The eager functions.
pub(crate) fn apply(f: Func, mut args: Vec<Value>, cx: &mut Cx<'_, '_, '_>) -> Result<Value, Error> {
    Ok(match f {
        Func::AltSecIdFromNetId => alt_sec_id(arg(&args, 0))?,
        Func::Append => {
            let suffix = text_arg(arg(&args, 1)).unwrap_or_default();
            map_owned(take(&mut args, 0), &mut |mut s| {
                s.push_str(&suffix);
                Ok(s)
            })?
        }
        Func::AppRoleAssignmentsComplex => match take(&mut args, 0) {
            Value::Null => Value::Null,
            v => Value::Multi(
                values_of(v)
                    .iter()
                    .filter_map(role_name)
                    .map(|r| Value::Str(serde_json::json!({"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": r, "value": r}).to_string()))
                    .collect(),
            ),
        },
        Func::SingleAppRoleAssignment => values_of(take(&mut args, 0)).first().and_then(role_name).map_or(Value::Null, Value::Str),
        Func::BitAnd => match (int_arg(f, &args, 0)?, int_arg(f, &args, 1)?) {
            (Some(a), Some(b)) => Value::Int(a & b),
            _ => Value::Null,
        },
        Func::CBool => Value::Bool(truthy(arg(&args, 0))),
        Func::CDate => match date_arg(f, arg(&args, 0))? {
            Some(t) => Value::DateTime(t),
            None => Value::Null,
        },
        Func::ConvertToBase64 => map_str(take(&mut args, 0), &mut |s| {
            let bytes: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
            Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
        })?,
        Func::ConvertToUtf8Hex => map_str(take(&mut args, 0), &mut |s| {
            use std::fmt::Write;
            let mut out = String::with_capacity(s.len() * 2);
            for b in s.bytes() {
                let _ = write!(out, "{b:02X}");
            }
            Ok(out)
        })?,
        Func::Count => Value::Int(match arg(&args, 0) {
            Value::Null => 0,
            Value::Multi(m) => i64::try_from(m.iter().filter(|v| !v.is_null()).count()).unwrap_or(i64::MAX),
            _ => 1,
        }),
        Func::CStr => match take(&mut args, 0) {
            Value::Null => Value::Null,
            Value::Multi(m) => Value::Multi(m.into_iter().map(|v| v.to_text().map_or(Value::Null, Value::Str)).collect()),
            v => v.to_text().map_or(Value::Null, Value::Str),
        },
        Func::DateAdd => {
            let interval = text_arg(arg(&args, 0)).unwrap_or_default();
            let (Some(n), Some(t)) = (int_arg(f, &args, 1)?, date_arg(f, arg(&args, 2))?) else { return Ok(Value::Null) };
            Value::DateTime(datetime::date_add(&interval, n, t).map_err(|m| invalid(f, m))?)
        }
        Func::DateDiff => {
            let interval = text_arg(arg(&args, 0)).unwrap_or_default();
            let (Some(a), Some(b)) = (date_arg(f, arg(&args, 1))?, date_arg(f, arg(&args, 2))?) else { return Ok(Value::Null) };
            Value::Int(datetime::date_diff(&interval, a, b).map_err(|m| invalid(f, m))?)
        }
        Func::DateFromNum => match int_arg(f, &args, 0)? {
            None => Value::Null,
            Some(n) if n < 0 => return Err(invalid(f, format!("{n} is negative; AD dates count from 1601-01-01"))),
            Some(n) => {
                Value::DateTime(datetime::from_filetime(n).ok_or_else(|| invalid(f, format!("{n} is outside the supported dates (years 1601 to 9999)")))?)
            }
        },
        Func::NumFromDate => match date_arg(f, arg(&args, 0))? {
            None => Value::Null,
            Some(t) => Value::Int(datetime::to_filetime(t).ok_or_else(|| invalid(f, "date is before 1601-01-01"))?),
        },
        Func::FormatDateTime => {
            if let Some(styles) = text_arg(arg(&args, 1)) {
                for s in styles.split([',', '|']).map(str::trim).filter(|s| !s.is_empty()) {
                    if !datetime::DATE_TIME_STYLES.iter().any(|k| k.eq_ignore_ascii_case(s)) {
                        return Err(invalid(f, format!("{s:?} is not a DateTimeStyles value")));
                    }
                }
            }
            let input_format = text_arg(arg(&args, 2)).unwrap_or_default();
            let output_format = text_arg(arg(&args, 3)).unwrap_or_default();
            map_str(take(&mut args, 0), &mut |s| {
                datetime::reformat(s, &input_format, &output_format).map_err(|detail| Error::InvalidDate {
                    function: "FormatDateTime",
                    input: s.to_owned(),
                    detail: format!(": {detail}"),
                })
            })?
        }
        Func::Guid => {
            let hi = cx.env.random.next_u64().to_be_bytes();
            let lo = cx.env.random.next_u64().to_be_bytes();
            let mut bytes = [0u8; 16];
            for (d, s) in bytes.iter_mut().zip(hi.iter().chain(lo.iter())) {
                *d = *s;
            }
            Value::Str(uuid::Builder::from_random_bytes(bytes).into_uuid().hyphenated().to_string())
        }
        Func::IgnoreFlowIfNullOrEmpty => {
            let v = take(&mut args, 0);
            if v.is_null_or_empty() {
                cx.ignore_flow = true;
            }
            v
        }
        Func::InStr => {
            let (Some(hay), Some(needle)) = (text_arg(arg(&args, 0)), text_arg(arg(&args, 1))) else { return Ok(Value::Null) };
            let start = int_arg(f, &args, 2)?.unwrap_or(1);
            if start < 1 {
                return Err(invalid(f, format!("start must be 1 or more (positions are 1-based), got {start}")));
            }
            let text_compare = match arg(&args, 3) {
                Value::Null => false,
                Value::Int(0) => false,
                Value::Int(1) => true,
                v => match v.to_text().as_deref() {
                    Some("vbBinaryCompare" | "0") => false,
                    Some("vbTextCompare" | "1") => true,
                    _ => return Err(invalid(f, format!("compareType must be vbBinaryCompare or vbTextCompare, got {v}"))),
                },
            };
            let fold = |s: &str| -> Vec<char> {
                if text_compare {
                    // simple (one-to-one) case folding keeps positions aligned
                    s.chars()
                        .map(|c| {
                            let mut l = c.to_lowercase();
                            match (l.next(), l.next()) {
                                (Some(x), None) => x,
                                _ => c,
                            }
                        })
                        .collect()
                } else {
                    s.chars().collect()
                }
            };
            let (h, n) = (fold(&hay), fold(&needle));
            let from = usize::try_from(start - 1).unwrap_or(usize::MAX);
            if from > h.len() {
                return Ok(Value::Int(0));
            }
            if n.is_empty() {
                return Ok(Value::Int(start));
            }
            let found = h.get(from..).and_then(|rest| rest.windows(n.len()).position(|w| w == n.as_slice()));
            Value::Int(found.map_or(0, |p| i64::try_from(p + from + 1).unwrap_or(0)))
        }
        Func::IsNull => Value::Bool(arg(&args, 0).is_null()),
        Func::IsNullOrEmpty => Value::Bool(arg(&args, 0).is_null_or_empty()),
        Func::IsPresent => Value::Bool(!arg(&args, 0).is_null_or_empty()),
        Func::IsString => Value::Bool(matches!(arg(&args, 0), Value::Str(_))),
        Func::Item => {
            let index = int_arg(f, &args, 1)?;
            let values = values_of(take(&mut args, 0));
            // Decision: index 0, negative or past the end → NULL (nothing flows).
            match index {
                Some(i) if i >= 1 => values.into_iter().nth(usize::try_from(i - 1).unwrap_or(usize::MAX)).unwrap_or(Value::Null),
                _ => Value::Null,
            }
        }
        Func::Join => {
            let sep_owned;
            let sep: &str = match arg(&args, 0) {
                Value::Str(s) => s,
                other => {
                    sep_owned = other.to_text().unwrap_or_default();
                    &sep_owned
                }
            };
            let mut out = String::new();
            let mut any_value = false;
            let mut first = true;
            let mut push = |v: &Value| {
                let owned;
                let p: &str = match v {
                    Value::Null => return,
                    Value::Str(s) => s,
                    other => {
                        owned = other.to_text().unwrap_or_default();
                        &owned
                    }
                };
                any_value = true;
                if p.is_empty() {
                    return;
                }
                if !first {
                    out.push_str(sep);
                }
                out.push_str(p);
                first = false;
            };
            for v in args.iter().skip(1) {
                match v {
                    Value::Multi(m) => m.iter().for_each(&mut push),
                    other => push(other),
                }
            }
            if any_value { Value::Str(out) } else { Value::Null }
        }
        Func::Left => {
            let n = req_int(f, &args, 1)?;
            match take(&mut args, 0) {
                Value::Null => Value::Str(String::new()),
                v => map_str(v, &mut |s| Ok(if n < 0 { s.to_owned() } else { chars_take(s, usize::try_from(n).unwrap_or(usize::MAX)).to_owned() }))?,
            }
        }
        Func::Mid => {
            let (start, len) = (req_int(f, &args, 1)?, req_int(f, &args, 2)?);
            if start < 1 {
                return Err(invalid(f, format!("start must be 1 or more (positions are 1-based), got {start}")));
            }
            if len < 0 {
                return Err(invalid(f, format!("length cannot be negative, got {len}")));
            }
            let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            map_str(take(&mut args, 0), &mut |s| Ok(s.chars().skip(skip).take(len).collect()))?
        }
        Func::NormalizeDiacritics => map_owned(take(&mut args, 0), &mut |s| Ok(if s.is_ascii() { s } else { text::normalize_diacritics(&s) }))?,
        Func::Not => {
            Value::Bool(!matches!(arg(&args, 0), Value::Bool(true)) && !arg(&args, 0).to_text().is_some_and(|t| t.trim().eq_ignore_ascii_case("true")))
        }
        Func::Now => Value::DateTime(cx.env.clock.now()),
        Func::PCase => {
            let seps = text_arg(arg(&args, 1));
            map_str(take(&mut args, 0), &mut |s| Ok(text::pcase(s, seps.as_deref())))?
        }
        Func::RandomString => random_string(&args, cx)?,
        Func::Redact => {
            cx.redacted = true;
            take(&mut args, 0)
        }
        Func::RemoveDuplicates => match take(&mut args, 0) {
            Value::Multi(m) => {
                let mut seen: Vec<Option<String>> = Vec::new();
                let mut out = Vec::new();
                for v in m {
                    let key = v.to_text();
                    if !seen.contains(&key) {
                        seen.push(key);
                        out.push(v);
                    }
                }
                Value::Multi(out)
            }
            other => other,
        },
        Func::Split => {
            let delim = text_arg(arg(&args, 1)).unwrap_or_default();
            match take(&mut args, 0).to_text() {
                None => Value::Null,
                // Decision: like .NET String.Split, pieces are not trimmed
                // ("a, b" split on "," gives "a" and " b"; Microsoft's sample
                // output shows no space, which String.Split would not produce).
                Some(s) if delim.is_empty() => Value::Multi(vec![Value::Str(s)]),
                Some(s) => Value::Multi(s.split(delim.as_str()).map(|p| Value::Str(p.to_owned())).collect()),
            }
        }
        Func::StripSpaces => map_owned(take(&mut args, 0), &mut |mut s| {
            s.retain(|c| c != ' ');
            Ok(s)
        })?,
        Func::ToLower => {
            let tr = culture(f, arg(&args, 1))?;
            map_owned(take(&mut args, 0), &mut |mut s| {
                if s.is_ascii() && !tr {
                    s.make_ascii_lowercase();
                    return Ok(s);
                }
                let mut out = String::with_capacity(s.len());
                s.chars().for_each(|c| lower_char(c, tr, &mut out));
                Ok(out)
            })?
        }
        Func::ToUpper => {
            let tr = culture(f, arg(&args, 1))?;
            map_owned(take(&mut args, 0), &mut |mut s| {
                if s.is_ascii() && !tr {
                    s.make_ascii_uppercase();
                    return Ok(s);
                }
                let mut out = String::with_capacity(s.len());
                s.chars().for_each(|c| upper_char(c, tr, &mut out));
                Ok(out)
            })?
        }
        Func::Word => {
            let n = req_int(f, &args, 1)?;
            let delims = text_arg(arg(&args, 2)).unwrap_or_default();
            match take(&mut args, 0) {
                Value::Null => Value::Str(String::new()),
                v => map_str(v, &mut |s| {
                    if n < 1 {
                        return Ok(String::new());
                    }
                    // Runs of delimiters separate words; empty pieces are not words.
                    let mut words = s.split(|c| delims.contains(c)).filter(|w| !w.is_empty());
                    Ok(words.nth(usize::try_from(n - 1).unwrap_or(usize::MAX)).unwrap_or("").to_owned())
                })?,
            }
        }
        Func::Coalesce | Func::Switch | Func::Iif | Func::Replace | Func::SelectUniqueValue => {
            return Err(invalid(f, "internal: evaluated eagerly"));
        }
    })
}

/// Replace's five modes.
pub(crate) fn replace(r: &ReplaceNode, cx: &mut Cx<'_, '_, '_>) -> Result<Value, Error> {
    let source = eval(&r.source, cx)?;
    let f = Func::Replace;
    let text_of = |v: Value| v.to_text();
    match r.mode {
        ReplaceMode::Plain => {
            let old = text_of(eval(&r.old_value, cx)?).unwrap_or_default();
            let new = text_of(eval(&r.replacement, cx)?).unwrap_or_default();
            map_str(source, &mut |s| Ok(if old.is_empty() { s.to_owned() } else { s.replace(&old, &new) }))
        }
        ReplaceMode::Template => {
            let old = text_of(eval(&r.old_value, cx)?).unwrap_or_default();
            let template = text_of(eval(&r.template, cx)?).unwrap_or_default();
            map_str(source, &mut |s| Ok(if old.is_empty() { template.clone() } else { template.replace(&old, s) }))
        }
        ReplaceMode::Regex | ReplaceMode::RegexGroup | ReplaceMode::Extract => {
            let dynamic;
            let re = match &r.pattern {
                Pattern::Static(re) => re,
                Pattern::Dynamic(node) => {
                    let Some(p) = text_of(eval(node, cx)?) else { return Ok(Value::Null) };
                    dynamic = regexes::compile(&p).map_err(|m| invalid(f, format!("invalid regular expression: {m}")))?;
                    &dynamic
                }
                Pattern::Absent => return Err(invalid(f, "internal: no pattern")),
            };
            match r.mode {
                ReplaceMode::Regex => {
                    let new = text_of(eval(&r.replacement, cx)?).unwrap_or_default();
                    map_str(source, &mut |s| Ok(regexes::replace_all(re, s, &new)))
                }
                ReplaceMode::RegexGroup => {
                    let group = text_of(eval(&r.group, cx)?).unwrap_or_default();
                    if !re.capture_names().flatten().any(|n| n == group) {
                        return Err(invalid(f, format!("the regular expression has no group named {group:?}")));
                    }
                    let new = text_of(eval(&r.replacement, cx)?).unwrap_or_default();
                    map_str(source, &mut |s| Ok(regexes::replace_group(re, s, &group, &new)))
                }
                _ => {
                    if !source.is_null_or_empty() {
                        return Ok(source);
                    }
                    let group = text_of(eval(&r.group, cx)?).unwrap_or_default();
                    let Some(other) = text_of(eval(&r.replacement_attribute, cx)?) else { return Ok(Value::Null) };
                    Ok(re.captures(&other).and_then(|c| c.name(&group).map(|m| Value::Str(m.as_str().to_owned()))).unwrap_or(Value::Null))
                }
            }
        }
    }
}
