//! SCIM filters (RFC 7644 §3.4.2.2) → the store's [`Filter`].
//!
//! Parsing is scim_v2's (the full grammar: `eq ne co sw ew gt ge lt le pr`, `and`, `or`,
//! `not`, grouping, value paths `attr[subfilter]`, URN-qualified names). Here each
//! attribute path is resolved to a [`Target`]: a store field, or, inside a multi-valued
//! attribute, a set of virtual elements whose sub-attributes are store fields or
//! constants (e.g. `emails` has one element `{value: mail, type: "work", primary: true}`).
//! Comparisons with constants are decided here; everything else runs in the store.
use crate::error::{ScimError, ScimResult};
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp as ScimOp, Filter as ScimFilter, ValFilter};
use std::str::FromStr;
use tenantsync_store::{CompareOp, Field, Filter, FilterValue};

/// Longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of `and`/`or`/`not`/brackets accepted.
pub const MAX_FILTER_DEPTH: usize = 16;

/// What a sub-attribute of a virtual element is.
#[derive(Debug, Clone, Copy)]
pub enum Slot {
    /// A store field; `true` when comparisons fold case.
    Field(Field, bool),
    Text(&'static str),
    Bool(bool),
}

/// One virtual element of a multi-valued attribute.
#[derive(Debug, Clone)]
pub struct Element {
    /// The element exists when any of these fields has a value (empty: always).
    pub exists: Vec<Field>,
    /// Sub-attribute name → slot; the first is the default (`value`).
    pub subs: Vec<(&'static str, Slot)>,
}

/// What an attribute path denotes.
#[derive(Debug, Clone)]
pub enum Target {
    Slot(Slot),
    Multi(Vec<Element>),
    /// Links to other resources, compared by their id: a group's `members` (users) or a
    /// user's `groups`. `field` is the store's membership field, `ty` the constant `type`
    /// sub-attribute, `name` the attribute (for errors).
    Links {
        field: Field,
        ty: &'static str,
        name: &'static str,
    },
    /// A directory extension attribute (a string or a list of strings).
    Extension(tenantsync_domain::ExtensionName),
}

/// Resolves attribute paths of one resource type.
pub trait Resolver {
    /// `name`/`sub` with any schema URN already checked and removed.
    fn resolve(&self, uri: Option<&str>, name: &str, sub: Option<&str>) -> ScimResult<Target>;
}

pub fn parse(raw: &str) -> ScimResult<ScimFilter> {
    if raw.len() > MAX_FILTER_LEN {
        return Err(ScimError::invalid_filter(format!("the filter is longer than {MAX_FILTER_LEN} bytes")));
    }
    if let Some(f) = simple_eq(raw) {
        return Ok(f);
    }
    if nesting(raw) > MAX_FILTER_DEPTH {
        return Err(ScimError::invalid_filter(format!("the filter nests deeper than {MAX_FILTER_DEPTH} levels")));
    }
    ScimFilter::from_str(raw).map_err(|e| ScimError::invalid_filter(format!("cannot parse the filter: {e}")))
}

/// `attr eq "value"` and `attr.sub eq "value"`, the lookup every provisioning client sends
/// (`userName eq "…"`, `externalId eq "…"`), read without the general parser, whose lexer
/// sets up its regular expressions' caches on every call. Anything else — a URN, escapes
/// or quotes in the value, another operator — returns `None` and takes the general path;
/// the result is exactly what the general parser gives (a test compares them).
fn simple_eq(raw: &str) -> Option<ScimFilter> {
    let s = raw.trim();
    let (path, rest) = s.split_once(' ')?;
    let (op, value) = rest.trim_start().split_once(' ')?;
    if !op.eq_ignore_ascii_case("eq") {
        return None;
    }
    let value = value.trim_start().strip_prefix('"')?.strip_suffix('"')?;
    if value.contains(['"', '\\']) || value.chars().any(char::is_control) {
        return None;
    }
    let name_ok = |n: &str| {
        let mut b = n.bytes();
        b.next().is_some_and(|c| c.is_ascii_alphabetic()) && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    };
    let (name, sub) = match path.split_once('.') {
        Some((n, sub)) => (n, Some(sub)),
        None => (path, None),
    };
    if !name_ok(name) || sub.is_some_and(|s| !name_ok(s)) {
        return None;
    }
    let path = AttrPath { uri: None, name: name.to_owned(), sub_attr: sub.map(str::to_owned) };
    Some(ScimFilter::Attr(AttrExp::Comparison(path, ScimOp::Eq, CompValue::Str(value.to_owned()))))
}

/// The deepest nesting of `(` and `[` outside string literals.
fn nesting(raw: &str) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for c in raw.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (true, false, _) => {}
            (false, _, '"') => in_string = true,
            (false, _, '(' | '[') => {
                depth += 1;
                max = max.max(depth);
            }
            (false, _, ')' | ']') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Parses and translates a filter.
pub fn translate(raw: &str, r: &dyn Resolver) -> ScimResult<Filter> {
    let f = parse(raw)?;
    let out = tr(&f, r, 1)?;
    Ok(out)
}

fn depth_check(depth: usize) -> ScimResult<()> {
    if depth > MAX_FILTER_DEPTH {
        return Err(ScimError::invalid_filter(format!("the filter nests deeper than {MAX_FILTER_DEPTH} levels")));
    }
    Ok(())
}

fn tr(f: &ScimFilter, r: &dyn Resolver, depth: usize) -> ScimResult<Filter> {
    depth_check(depth)?;
    Ok(match f {
        ScimFilter::Attr(e) => attr_exp(e, r, None)?,
        ScimFilter::ValuePath(vp) => {
            let target = r.resolve(vp.attr.uri.as_deref(), &vp.attr.name, vp.attr.sub_attr.as_deref())?;
            value_path(&target, &vp.filter, depth + 1)?
        }
        ScimFilter::Not(inner) => Filter::Not(Box::new(tr(inner, r, depth + 1)?)),
        ScimFilter::And(items) => Filter::And(items.as_slice().iter().map(|i| tr(i, r, depth + 1)).collect::<ScimResult<_>>()?),
        ScimFilter::Or(items) => Filter::Or(items.as_slice().iter().map(|i| tr(i, r, depth + 1)).collect::<ScimResult<_>>()?),
    })
}

/// `attr[filter]`: some element of `attr` satisfies `filter`.
fn value_path(target: &Target, vf: &ValFilter, depth: usize) -> ScimResult<Filter> {
    match target {
        Target::Multi(elements) => {
            let mut any = Vec::new();
            for el in elements {
                any.push(Filter::And(vec![exists(el), val_filter(vf, &Bound::Element(el), depth)?]));
            }
            Ok(Filter::Or(any))
        }
        Target::Links { field, ty, name } => val_filter(vf, &Bound::Links(*field, ty, name), depth),
        Target::Slot(_) | Target::Extension(_) => Err(ScimError::invalid_filter("a value filter needs a multi-valued attribute of sub-attributes")),
    }
}

fn exists(el: &Element) -> Filter {
    if el.exists.is_empty() { Filter::Const(true) } else { Filter::Or(el.exists.iter().map(|f| Filter::Present(*f)).collect()) }
}

enum Bound<'a> {
    Element(&'a Element),
    Links(Field, &'static str, &'static str),
}

fn val_filter(vf: &ValFilter, b: &Bound<'_>, depth: usize) -> ScimResult<Filter> {
    depth_check(depth)?;
    // Several tests on links must hold for the same linked object.
    if let (Bound::Links(field, ty, name), ValFilter::Not(_) | ValFilter::And(_) | ValFilter::Or(_)) = (b, vf) {
        return Ok(Filter::Linked { via: *field, filter: Box::new(linked(vf, *field, ty, name, depth)?) });
    }
    Ok(match vf {
        ValFilter::Attr(e) => {
            let (path, op, value) = split(e);
            if path.sub_attr.is_some() || path.uri.is_some() {
                return Err(ScimError::invalid_filter(format!("'{path}' is not a sub-attribute")));
            }
            match b {
                Bound::Element(el) => {
                    let slot = sub_slot(el, &path.name)?;
                    compare_slot(slot, op, value, Some(el))?
                }
                Bound::Links(field, ty, name) => links(*field, ty, name, &path.name, op, value)?,
            }
        }
        ValFilter::Not(inner) => Filter::Not(Box::new(val_filter(inner, b, depth + 1)?)),
        ValFilter::And(items) => Filter::And(items.as_slice().iter().map(|i| val_filter(i, b, depth + 1)).collect::<ScimResult<_>>()?),
        ValFilter::Or(items) => Filter::Or(items.as_slice().iter().map(|i| val_filter(i, b, depth + 1)).collect::<ScimResult<_>>()?),
    })
}

fn split(e: &AttrExp) -> (&AttrPath, Option<CompareOp>, Option<&CompValue>) {
    match e {
        AttrExp::Present(p) => (p, None, None),
        AttrExp::Comparison(p, op, v) => (p, Some(store_op(op)), Some(v)),
    }
}

fn sub_slot(el: &Element, name: &str) -> ScimResult<Slot> {
    el.subs
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, s)| *s)
        .ok_or_else(|| ScimError::invalid_filter(format!("unknown sub-attribute '{name}'")))
}

fn attr_exp(e: &AttrExp, r: &dyn Resolver, _el: Option<&Element>) -> ScimResult<Filter> {
    let (path, op, value) = split(e);
    let target = r.resolve(path.uri.as_deref(), &path.name, None)?;
    match (&target, path.sub_attr.as_deref()) {
        (Target::Slot(_), Some(sub)) => {
            // A complex single-valued attribute: the resolver maps name.sub itself.
            match r.resolve(path.uri.as_deref(), &path.name, Some(sub))? {
                Target::Slot(s) => compare_slot(s, op, value, None),
                _ => Err(ScimError::invalid_filter(format!("'{path}' cannot be compared"))),
            }
        }
        (Target::Slot(s), None) => compare_slot(*s, op, value, None),
        (Target::Multi(elements), sub) => {
            // attr.sub op value: some element's sub matches (default sub: the first, `value`).
            let mut any = Vec::new();
            for el in elements {
                let slot = match sub {
                    Some(sub) => sub_slot(el, sub)?,
                    None => match el.subs.first() {
                        Some((_, s)) => *s,
                        None => return Err(ScimError::invalid_filter(format!("'{path}' cannot be compared"))),
                    },
                };
                any.push(Filter::And(vec![exists(el), compare_slot(slot, op, value, Some(el))?]));
            }
            Ok(Filter::Or(any))
        }
        (Target::Links { field, ty, name }, sub) => links(*field, ty, name, sub.unwrap_or("value"), op, value),
        (Target::Extension(_), Some(_)) => Err(ScimError::invalid_filter(format!("'{path}' has no sub-attributes"))),
        (Target::Extension(name), None) => extension(name, op, value),
    }
}

/// An extension attribute compares as text, folding case (caseExact false); `eq null` is
/// "absent".
fn extension(name: &tenantsync_domain::ExtensionName, op: Option<CompareOp>, value: Option<&CompValue>) -> ScimResult<Filter> {
    let present = Filter::Extension { name: name.clone(), test: None, ignore_case: true };
    let Some(op) = op else { return Ok(present) };
    match value {
        Some(CompValue::Null) => match op {
            CompareOp::Eq => Ok(Filter::Not(Box::new(present))),
            CompareOp::Ne => Ok(present),
            _ => Err(ScimError::invalid_filter("null compares only with eq or ne")),
        },
        Some(v) => {
            let v = comp_text(v).ok_or_else(|| ScimError::invalid_filter("an extension attribute compares with a string"))?;
            Ok(Filter::Extension { name: name.clone(), test: Some((op, v)), ignore_case: true })
        }
        None => Err(ScimError::invalid_filter("a comparison needs a value")),
    }
}

/// The display name of what a link points at: a user's groups, a group's members.
fn shown(field: Field) -> Field {
    use tenantsync_domain::{GroupAttribute as G, UserAttribute as U};
    if field == Field::MemberOf { Field::Group(G::DisplayName) } else { Field::User(U::DisplayName) }
}

/// A value filter on links (`groups[...]`, `members[...]`) as a filter over the linked
/// objects themselves: `value` is their id, `display` their display name, `type` the
/// links' constant type.
fn linked(vf: &ValFilter, field: Field, ty: &'static str, name: &str, depth: usize) -> ScimResult<Filter> {
    depth_check(depth)?;
    Ok(match vf {
        ValFilter::Attr(e) => {
            let (path, op, value) = split(e);
            if path.sub_attr.is_some() || path.uri.is_some() {
                return Err(ScimError::invalid_filter(format!("'{path}' is not a sub-attribute")));
            }
            linked_test(field, ty, name, &path.name, op, value)?
        }
        ValFilter::Not(inner) => Filter::Not(Box::new(linked(inner, field, ty, name, depth + 1)?)),
        ValFilter::And(items) => Filter::And(items.as_slice().iter().map(|i| linked(i, field, ty, name, depth + 1)).collect::<ScimResult<_>>()?),
        ValFilter::Or(items) => Filter::Or(items.as_slice().iter().map(|i| linked(i, field, ty, name, depth + 1)).collect::<ScimResult<_>>()?),
    })
}

/// One sub-attribute test of a linked object, as a filter over the linked objects.
fn linked_test(field: Field, ty: &'static str, name: &str, sub: &str, op: Option<CompareOp>, value: Option<&CompValue>) -> ScimResult<Filter> {
    if sub.eq_ignore_ascii_case("type") {
        compare_slot(Slot::Text(ty), op, value, None)
    } else if sub.eq_ignore_ascii_case("display") {
        compare_slot(Slot::Field(shown(field), true), op, value, None)
    } else if sub.eq_ignore_ascii_case("value") {
        id_test(Field::Id, name, op, value, Filter::Const(true))
    } else {
        Err(ScimError::invalid_filter(format!("{name} can be filtered by value, display or type, not '{sub}'")))
    }
}

/// A test of `<name>.value` on `field`: ids compare with eq or ne (a text that is no id
/// equals none); without an operator (`pr`), `present`.
fn id_test(field: Field, name: &str, op: Option<CompareOp>, value: Option<&CompValue>, present: Filter) -> ScimResult<Filter> {
    match (op, value) {
        (None, _) => Ok(present),
        (Some(op @ (CompareOp::Eq | CompareOp::Ne)), Some(CompValue::Str(s))) => Ok(match s.parse() {
            Ok(id) => Filter::exact(field, op, FilterValue::Id(id)),
            Err(_) => Filter::Const(op == CompareOp::Ne),
        }),
        _ => Err(ScimError::invalid_filter(format!("{name}.value compares with eq or ne and a string"))),
    }
}

/// A test of one sub-attribute of links outside brackets (`groups.value eq "…"`).
fn links(field: Field, ty: &'static str, name: &str, sub: &str, op: Option<CompareOp>, value: Option<&CompValue>) -> ScimResult<Filter> {
    if sub.eq_ignore_ascii_case("type") {
        return compare_slot(Slot::Text(ty), op, value, None);
    }
    if sub.eq_ignore_ascii_case("value") {
        // The membership itself: no look at the linked objects.
        return id_test(field, name, op, value, Filter::Present(field));
    }
    // Some linked object passes (`ne`: none has that value).
    let negate = op == Some(CompareOp::Ne) && !matches!(value, Some(CompValue::Null));
    let op = if negate { Some(CompareOp::Eq) } else { op };
    let test = Filter::Linked { via: field, filter: Box::new(linked_test(field, ty, name, sub, op, value)?) };
    Ok(if negate { Filter::Not(Box::new(test)) } else { test })
}

/// Whether the field holds ids, booleans, timestamps or text.
fn field_kind(f: Field) -> &'static str {
    use tenantsync_domain::{GroupAttribute as G, UserAttribute as U};
    match f {
        Field::Id | Field::Member | Field::MemberOf | Field::User(U::Manager) => "id",
        Field::Created | Field::LastModified => "time",
        Field::User(U::AccountEnabled) | Field::Group(G::SecurityEnabled) => "bool",
        _ => "text",
    }
}

fn compare_slot(slot: Slot, op: Option<CompareOp>, value: Option<&CompValue>, _el: Option<&Element>) -> ScimResult<Filter> {
    let Some(op) = op else {
        return Ok(match slot {
            Slot::Field(f, _) => Filter::Present(f),
            Slot::Text(_) | Slot::Bool(_) => Filter::Const(true),
        });
    };
    let value = value.ok_or_else(|| ScimError::invalid_filter("a comparison needs a value"))?;
    // `eq null` is "not present", `ne null` is "present".
    if matches!(value, CompValue::Null) {
        let present = match slot {
            Slot::Field(f, _) => Filter::Present(f),
            _ => Filter::Const(true),
        };
        return match op {
            CompareOp::Eq => Ok(Filter::Not(Box::new(present))),
            CompareOp::Ne => Ok(present),
            _ => Err(ScimError::invalid_filter("null compares only with eq or ne")),
        };
    }
    let ordering = matches!(op, CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le);
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    match slot {
        Slot::Text(c) => {
            let v = comp_text(value).ok_or_else(|| ScimError::invalid_filter("a string attribute compares with a string"))?;
            Ok(Filter::Const(const_text(c, op, &v)))
        }
        Slot::Bool(b) => match (op, value) {
            (CompareOp::Eq, CompValue::True | CompValue::False) => Ok(Filter::Const(b == matches!(value, CompValue::True))),
            (CompareOp::Ne, CompValue::True | CompValue::False) => Ok(Filter::Const(b != matches!(value, CompValue::True))),
            _ => Err(ScimError::invalid_filter("a boolean attribute compares with eq or ne and true or false")),
        },
        Slot::Field(field, fold) => {
            let sop = op;
            match field_kind(field) {
                "bool" => match value {
                    CompValue::True | CompValue::False if !ordering && !substring => {
                        Ok(Filter::exact(field, sop, FilterValue::Bool(matches!(value, CompValue::True))))
                    }
                    _ => Err(ScimError::invalid_filter("a boolean attribute compares with eq or ne and true or false")),
                },
                "id" => {
                    let CompValue::Str(s) = value else {
                        return Err(ScimError::invalid_filter("an id compares with a string"));
                    };
                    if ordering || substring {
                        return Err(ScimError::invalid_filter("an id compares only with eq or ne"));
                    }
                    match s.parse() {
                        Ok(id) => Ok(Filter::exact(field, sop, FilterValue::Id(id))),
                        // No object has an id that is not one.
                        Err(_) => Ok(Filter::Const(sop == CompareOp::Ne)),
                    }
                }
                "time" => {
                    let CompValue::Str(s) = value else {
                        return Err(ScimError::invalid_filter("a dateTime compares with a string"));
                    };
                    if substring {
                        return Err(ScimError::invalid_filter("a dateTime compares with eq, ne, gt, ge, lt or le"));
                    }
                    let t = date_time(s).ok_or_else(|| ScimError::invalid_filter(format!("'{s}' is not an xsd:dateTime with a time zone")))?;
                    Ok(Filter::exact(field, sop, FilterValue::Time(t)))
                }
                _ => {
                    let v = comp_text(value).ok_or_else(|| ScimError::invalid_filter("a string attribute compares with a string"))?;
                    Ok(Filter::Compare { field, op: sop, value: FilterValue::Text(v), ignore_case: fold })
                }
            }
        }
    }
}

/// An xsd:dateTime with a time zone. One past the timestamps there are (the last hours
/// of the year 9999, or before the year -9999) is read as the last or first of them: no
/// object is that new or that old, so `gt "9999-12-31T23:59:59Z"` matches none and `lt`
/// all.
fn date_time(s: &str) -> Option<jiff::Timestamp> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t);
    }
    let pieces = jiff::fmt::temporal::Pieces::parse(s).ok()?;
    pieces.offset()?;
    match pieces.date().year() {
        9999 => Some(jiff::Timestamp::MAX),
        -9999 => Some(jiff::Timestamp::MIN),
        _ => None,
    }
}

fn comp_text(v: &CompValue) -> Option<String> {
    match v {
        CompValue::Str(s) => Some(s.clone()),
        CompValue::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A comparison with a constant, case-insensitively (constants are canonical values).
fn const_text(c: &str, op: CompareOp, v: &str) -> bool {
    let (a, b) = (c.to_ascii_lowercase(), v.to_ascii_lowercase());
    match op {
        CompareOp::Eq => a == b,
        CompareOp::Ne => a != b,
        CompareOp::Co => a.contains(&b),
        CompareOp::Sw => a.starts_with(&b),
        CompareOp::Ew => a.ends_with(&b),
        CompareOp::Gt => a > b,
        CompareOp::Ge => a >= b,
        CompareOp::Lt => a < b,
        CompareOp::Le => a <= b,
    }
}

/// Evaluates a value filter against one JSON element (PATCH `attr[filter]` paths).
pub fn matches_element(vf: &ValFilter, el: &serde_json::Value) -> bool {
    match vf {
        ValFilter::Attr(e) => {
            let (path, op, value) = split(e);
            let Some(obj) = el.as_object() else { return false };
            let actual = crate::json::get(obj, &path.name);
            match (op, value) {
                (None, _) => actual.is_some_and(|v| !v.is_null()),
                (Some(op), Some(CompValue::Null)) => {
                    let absent = actual.is_none_or(serde_json::Value::is_null);
                    if op == CompareOp::Eq { absent } else { !absent }
                }
                (Some(op), Some(CompValue::True | CompValue::False)) => {
                    let want = matches!(value, Some(CompValue::True));
                    let got = actual.and_then(crate::json::boolean).unwrap_or(false);
                    if op == CompareOp::Ne { got != want } else { got == want }
                }
                (Some(op), Some(v)) => match (actual.and_then(crate::json::text), comp_text(v)) {
                    (Some(a), Some(b)) => const_text(&a, op, &b),
                    (None, _) => op == CompareOp::Ne,
                    _ => false,
                },
                (Some(_), None) => false,
            }
        }
        ValFilter::Not(inner) => !matches_element(inner, el),
        ValFilter::And(items) => items.as_slice().iter().all(|i| matches_element(i, el)),
        ValFilter::Or(items) => items.as_slice().iter().any(|i| matches_element(i, el)),
    }
}

fn store_op(op: &ScimOp) -> CompareOp {
    match op {
        ScimOp::Eq => CompareOp::Eq,
        ScimOp::Ne => CompareOp::Ne,
        ScimOp::Co => CompareOp::Co,
        ScimOp::Sw => CompareOp::Sw,
        ScimOp::Ew => CompareOp::Ew,
        ScimOp::Gt => CompareOp::Gt,
        ScimOp::Ge => CompareOp::Ge,
        ScimOp::Lt => CompareOp::Lt,
        ScimOp::Le => CompareOp::Le,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times_past_the_range_are_its_ends() {
        assert_eq!(date_time("9999-12-31T23:59:59Z"), Some(jiff::Timestamp::MAX));
        assert_eq!(date_time("9999-12-31T23:59:59+01:00"), Some(jiff::Timestamp::MAX));
        assert_eq!(date_time("-009999-01-01T00:00:00Z"), Some(jiff::Timestamp::MIN));
        assert_eq!(date_time("2026-01-01T00:00:00Z"), "2026-01-01T00:00:00Z".parse().ok());
        assert_eq!(date_time("9999-12-31T23:59:59"), None, "a time zone is needed");
        assert_eq!(date_time("yesterday"), None);
    }

    /// The shortcut for `attr eq "value"` gives exactly the general parser's tree, and
    /// leaves everything else to it.
    #[test]
    fn simple_equalities_parse_like_the_general_parser() {
        for f in [
            r#"userName eq "u12@contoso.example""#,
            r#"  externalId   EQ "A-1"  "#,
            r#"name.familyName eq "O'Brien""#,
            r#"displayName eq "Ann Smith""#,
            r#"x-y_z eq """#,
            r#"title eq "é ü""#,
        ] {
            let fast = simple_eq(f).unwrap_or_else(|| panic!("{f} takes the shortcut"));
            assert_eq!(fast, ScimFilter::from_str(f).unwrap(), "{f}");
        }
        for f in [
            r#"userName eq "a\"b""#,
            r#"userName eq "a" and title pr"#,
            r#"userName ne "a""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a""#,
            r#"emails[type eq "work"]"#,
            r#"userName eq a"#,
            r#"active eq true"#,
            r#"1x eq "a""#,
            r#"a.b.c eq "a""#,
        ] {
            assert!(simple_eq(f).is_none(), "{f} takes the general path");
        }
    }
}
