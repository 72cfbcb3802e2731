//! PATCH (RFC 7644 §3.5.2) applied to a resource's SCIM JSON document. The patched
//! document is then read back like a PUT body, so PATCH and PUT share one mapping.
//!
//! Accepted shapes, as Entra and Okta send them: `op` in any case; `path` as an attribute
//! (`title`, `name.givenName`, URN-qualified such as
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`), as a filtered
//! value path (`emails[type eq "work"].value`, `members[value eq "…"]`), or absent with an
//! object whose keys are attribute paths (`{"active": false}`, `{"name.givenName": "A"}`,
//! `{"urn:…:enterprise:2.0:User:department": "X"}`, `{"urn:…:enterprise:2.0:User": {…}}`).
//! Booleans may come as "True"/"False" strings. A `replace` on a filtered path that
//! matches nothing adds an element built from the filter's `eq` terms.
//!
//! Every path is checked against the resource's attributes first (`validate.rs`): an
//! unknown one is `invalidPath`, a read-only one `mutability`; the caller writes nothing
//! unless every operation applied. Where the directory keeps one value per type (e-mails,
//! phone numbers, addresses), an `add` replaces the value of the type it brings.
use crate::error::{ScimError, ScimResult};
use crate::filter::matches_element;
use crate::json;
use crate::schema::PATCH_SCHEMA;
use crate::schema::model::{Attr, Common, Model};
use crate::schema::validate::{self, element_type};
use scim_v2::filter::{AttrExp, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{Map, Value};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

/// One operation of a PatchOp request.
#[derive(Debug, Clone)]
pub struct Operation {
    pub op: Op,
    pub path: Option<String>,
    pub value: Option<Value>,
}

/// Most operations in one PATCH.
pub const MAX_OPERATIONS: usize = 1000;

/// Reads a PatchOp body.
pub fn operations(body: &Value) -> ScimResult<Vec<Operation>> {
    let (_, ops) = json::operations_message(body, PATCH_SCHEMA)?;
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::invalid_syntax(format!("more than {MAX_OPERATIONS} operations")));
    }
    ops.iter()
        .map(|op| {
            let op = op.as_object().ok_or_else(|| ScimError::invalid_syntax("each operation must be an object"))?;
            let name = json::get(op, "op").and_then(Value::as_str).unwrap_or_default();
            let kind = match name.to_ascii_lowercase().as_str() {
                "add" => Op::Add,
                "replace" => Op::Replace,
                "remove" => Op::Remove,
                _ => return Err(ScimError::invalid_syntax(format!("unknown op '{name}'"))),
            };
            let path = match json::get(op, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::String(s)) => Some(s.trim().to_owned()),
                Some(_) => return Err(ScimError::invalid_path("path must be a string")),
            };
            let value = json::get(op, "value").cloned();
            if kind != Op::Remove && value.is_none() {
                return Err(ScimError::invalid_syntax(format!("{name} needs a value")));
            }
            if kind == Op::Remove && path.is_none() {
                return Err(ScimError::no_target("remove needs a path"));
            }
            Ok(Operation { op: kind, path, value })
        })
        .collect()
}

/// Where a path points: the root object or an extension's object (`ext`, already checked).
fn container<'a>(doc: &'a mut Map<String, Value>, ext: Option<&str>, create: bool) -> ScimResult<Option<&'a mut Map<String, Value>>> {
    let Some(ext) = ext else { return Ok(Some(doc)) };
    if json::get(doc, ext).is_none_or(Value::is_null) {
        if !create {
            return Ok(None);
        }
        json::set(doc, ext, Value::Object(Map::new()));
    }
    match json::get_mut(doc, ext) {
        Some(Value::Object(m)) => Ok(Some(m)),
        _ => Err(ScimError::invalid_value(format!("{ext} must be an object"))),
    }
}

/// Merges `value` into `target` as `add` does: arrays append (skipping equal values; for
/// an attribute kept per type, replacing the element of the same type), objects merge,
/// anything else replaces.
fn add_into(target: &mut Value, value: Value, attr: Option<&Attr>) {
    let per_type = attr.filter(|a| a.per_type);
    match (target, value) {
        (Value::Array(items), new @ (Value::Array(_) | Value::Object(_))) => {
            let new = match new {
                Value::Array(new) => new,
                one => vec![one],
            };
            match per_type {
                Some(a) => {
                    for v in new {
                        let t = element_type(a, &v);
                        items.retain(|i| element_type(a, i) != t);
                        items.push(v);
                    }
                }
                None => new.into_iter().for_each(|v| push_unique(items, v)),
            }
        }
        (Value::Object(m), Value::Object(new)) => {
            for (k, v) in new {
                json::set(m, &k, v);
            }
        }
        (t, v) => *t = v,
    }
}

fn push_unique(items: &mut Vec<Value>, v: Value) {
    let key = |x: &Value| x.as_object().and_then(|o| json::get(o, "value")).cloned();
    if let Some(k) = key(&v)
        && items.iter().any(|i| key(i).as_ref() == Some(&k))
    {
        return;
    }
    if v.as_object().and_then(|o| json::get(o, "primary")).and_then(json::boolean) == Some(true) {
        for i in items.iter_mut() {
            if let Some(o) = i.as_object_mut() {
                json::remove(o, "primary");
            }
        }
    }
    items.push(v);
}

/// The `eq` terms of a value filter, to build an element a replace creates.
fn eq_terms(vf: &ValFilter, out: &mut Map<String, Value>) {
    match vf {
        ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, v)) => {
            let v = match v {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::True => Value::Bool(true),
                CompValue::False => Value::Bool(false),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return,
            };
            out.insert(p.name.clone(), v);
        }
        ValFilter::And(items) => items.as_slice().iter().for_each(|i| eq_terms(i, out)),
        _ => {}
    }
}

/// Applies one operation to the document of a resource of `model`. Returns whether the
/// result depends on the values the document held (so that a concurrent change of the
/// same attribute could be lost if both were written without a version): values added to
/// a multi-valued attribute that had some, elements chosen by their values.
pub fn apply(doc: &mut Map<String, Value>, op: &Operation, model: &Model) -> ScimResult<bool> {
    let Some(path) = &op.path else {
        // No path: the value is an object of attribute paths (or extension objects).
        let Some(Value::Object(value)) = op.value.clone() else {
            return Err(ScimError::invalid_syntax("an operation without path needs an object value"));
        };
        let mut reads = false;
        for (k, v) in value {
            if let Some(ext) = model.extension(&k)
                && let Value::Object(inner) = v
            {
                for (k2, v2) in inner {
                    if k2.eq_ignore_ascii_case("schemas") {
                        continue;
                    }
                    reads |= apply(doc, &Operation { op: op.op, path: Some(format!("{}:{k2}", ext.uri)), value: Some(v2) }, model)?;
                }
                continue;
            }
            // Okta sends the resource's `id` along (`{"id": …, "displayName": …}`): a
            // read-only attribute given its own value changes nothing.
            if Common::of(&k).is_some_and(|c| c != Common::ExternalId) && json::get(doc, &k) == Some(&v) {
                continue;
            }
            reads |= apply(doc, &Operation { op: op.op, path: Some(k), value: Some(v) }, model)?;
        }
        return Ok(reads);
    };
    if let Some(ext) = model.extension(path) {
        if op.op == Op::Remove {
            json::remove(doc, ext.uri);
            return Ok(false);
        }
        let mut wrapped = Map::new();
        wrapped.insert(ext.uri.to_owned(), op.value.clone().unwrap_or(Value::Null));
        return apply(doc, &Operation { op: op.op, path: None, value: Some(Value::Object(wrapped)) }, model);
    }
    let parsed = PatchPath::from_str(path).map_err(|e| ScimError::invalid_path(format!("cannot parse path '{path}': {e}")))?;
    let value = op.value.clone().unwrap_or(Value::Null);
    match parsed {
        PatchPath::Attr(a) => {
            let target = validate::check_path(model, a.uri.as_deref(), &a.name, a.sub_attr.as_deref(), None)?;
            let Some(c) = container(doc, target.extension.map(|e| e.uri), op.op != Op::Remove)? else { return Ok(false) };
            match (op.op, a.sub_attr.as_deref()) {
                (Op::Remove, None) => {
                    json::remove(c, &a.name);
                }
                (Op::Remove, Some(sub)) => match json::get_mut(c, &a.name) {
                    Some(Value::Object(m)) => {
                        json::remove(m, sub);
                    }
                    Some(Value::Array(items)) => items.iter_mut().filter_map(Value::as_object_mut).for_each(|m| {
                        json::remove(m, sub);
                    }),
                    _ => {}
                },
                (_, Some(sub)) => {
                    let target = match json::get_mut(c, &a.name) {
                        Some(t) if !t.is_null() => t,
                        _ => {
                            json::set(c, &a.name, Value::Object(Map::new()));
                            json::get_mut(c, &a.name).ok_or_else(ScimError::internal)?
                        }
                    };
                    match target {
                        Value::Object(m) => json::set(m, sub, value),
                        Value::Array(items) => items.iter_mut().filter_map(Value::as_object_mut).for_each(|m| json::set(m, sub, value.clone())),
                        _ => return Err(ScimError::invalid_path(format!("'{}' has no sub-attributes", a.name))),
                    }
                }
                (Op::Add, None) => {
                    // Values added to a list make the list found and them (an extension
                    // attribute is a list when a list is added).
                    let reads = target.attr.map_or(value.is_array(), |attr| attr.multi && !attr.per_type);
                    match json::get_mut(c, &a.name) {
                        Some(t) if !t.is_null() => add_into(t, value, target.attr),
                        _ => json::set(c, &a.name, value),
                    }
                    return Ok(reads);
                }
                (Op::Replace, None) => match (json::get_mut(c, &a.name), value) {
                    (Some(Value::Object(m)), Value::Object(new)) => {
                        for (k, v) in new {
                            json::set(m, &k, v);
                        }
                    }
                    (_, v) => json::set(c, &a.name, v),
                },
            }
            Ok(false)
        }
        PatchPath::Value(vp) => {
            let target = validate::check_path(model, vp.attr.uri.as_deref(), &vp.attr.name, vp.sub_attr.as_deref(), Some(&vp.filter))?;
            let reads = validate::filter_reads_values(&vp.filter);
            let Some(c) = container(doc, target.extension.map(|e| e.uri), op.op != Op::Remove)? else { return Ok(reads) };
            let mut items = match json::remove(c, &vp.attr.name) {
                Some(Value::Array(items)) => items,
                Some(Value::Null) | None => Vec::new(),
                Some(other) => vec![other],
            };
            let mut matched = false;
            let mut kept = Vec::with_capacity(items.len());
            for mut el in items.drain(..) {
                if !matches_element(&vp.filter, &el) {
                    kept.push(el);
                    continue;
                }
                matched = true;
                match (op.op, vp.sub_attr.as_deref(), el.as_object_mut()) {
                    (Op::Remove, None, _) => continue,
                    (Op::Remove, Some(sub), Some(m)) => {
                        json::remove(m, sub);
                    }
                    (_, Some(sub), Some(m)) => json::set(m, sub, value.clone()),
                    (_, None, Some(m)) => {
                        if let Value::Object(new) = &value {
                            for (k, v) in new {
                                json::set(m, k, v.clone());
                            }
                        }
                    }
                    _ => {}
                }
                kept.push(el);
            }
            if !matched && op.op != Op::Remove {
                let mut el = Map::new();
                eq_terms(&vp.filter, &mut el);
                match vp.sub_attr.as_deref() {
                    Some(sub) => json::set(&mut el, sub, value),
                    None => {
                        if let Value::Object(new) = value {
                            el.extend(new);
                        }
                    }
                }
                kept.push(Value::Object(el));
            }
            if !kept.is_empty() {
                json::set(c, &vp.attr.name, Value::Array(kept));
            }
            Ok(reads)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ENTERPRISE_SCHEMA;
    use crate::schema::model::USER_MODEL;
    use serde_json::json;

    fn run(doc: Value, ops: Value) -> Value {
        let mut doc = doc.as_object().unwrap().clone();
        for op in operations(&json!({ "schemas": [PATCH_SCHEMA], "Operations": ops })).unwrap() {
            apply(&mut doc, &op, &USER_MODEL).unwrap();
        }
        Value::Object(doc)
    }

    #[test]
    fn entra_and_okta_shapes() {
        let doc = json!({ "userName": "a@b.example", "active": true, "emails": [{ "value": "a@b.example", "type": "work", "primary": true }] });
        let out = run(
            doc,
            json!([
                { "op": "Replace", "path": "active", "value": "False" },
                { "op": "replace", "path": "emails[type eq \"work\"].value", "value": "x@b.example" },
                { "op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555" },
                { "op": "add", "value": { "name.givenName": "Ann", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Ops" } },
                { "op": "replace", "value": { "displayName": "Ann A", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "employeeNumber": "7" } } },
                { "op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "m-1" },
            ]),
        );
        assert_eq!(out["active"], "False");
        assert_eq!(out["emails"][0]["value"], "x@b.example");
        assert_eq!(out["phoneNumbers"][0], json!({ "type": "mobile", "value": "+1 555" }));
        assert_eq!(out["name"]["givenName"], "Ann");
        assert_eq!(out["displayName"], "Ann A");
        assert_eq!(out[ENTERPRISE_SCHEMA], json!({ "department": "Ops", "employeeNumber": "7", "manager": "m-1" }));
        let out = run(out, json!([{ "op": "remove", "path": "emails[type eq \"work\"]" }, { "op": "remove", "path": "name.givenName" }]));
        assert!(out.get("emails").is_none());
        assert_eq!(out["name"], json!({}));
    }

    #[test]
    fn bad_operations_are_refused_with_scim_types() {
        let code = |ops: Value| operations(&json!({ "Operations": ops })).unwrap_err().scim_type;
        assert_eq!(code(json!([{ "op": "move", "path": "x", "value": 1 }])), Some("invalidSyntax"));
        assert_eq!(code(json!([{ "op": "remove" }])), Some("noTarget"));
        assert_eq!(code(json!([{ "op": "add", "path": "x" }])), Some("invalidSyntax"));
        let mut doc = Map::new();
        let op = Operation { op: Op::Add, path: Some("emails[type eq".into()), value: Some(json!(1)) };
        assert_eq!(apply(&mut doc, &op, &USER_MODEL).unwrap_err().scim_type, Some("invalidPath"));
    }
}
