//! Small helpers over SCIM JSON: attribute names are case-insensitive (RFC 7643 §2.1).
use crate::error::{ScimError, ScimResult};
use serde_json::{Map, Value};

/// The value of `key`, ignoring ASCII case.
pub fn get<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// The key as stored in `obj`, ignoring ASCII case.
pub fn key_of(obj: &Map<String, Value>, key: &str) -> Option<String> {
    if obj.contains_key(key) {
        return Some(key.to_owned());
    }
    obj.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

pub fn get_mut<'a>(obj: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Value> {
    let k = key_of(obj, key)?;
    obj.get_mut(&k)
}

/// Sets `key` (replacing a key differing only in case).
pub fn set(obj: &mut Map<String, Value>, key: &str, value: Value) {
    let k = key_of(obj, key).unwrap_or_else(|| key.to_owned());
    obj.insert(k, value);
}

pub fn remove(obj: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let k = key_of(obj, key)?;
    obj.remove(&k)
}

/// A string value; numbers and booleans are taken as their text (clients differ).
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A boolean, also from the strings "true"/"false" in any case (Entra sends "False").
pub fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A message carrying `Operations` (a PatchOp or a BulkRequest): the body as an object
/// whose `schemas`, when given, hold `schema`, and its `Operations` array.
pub fn operations_message<'a>(body: &'a Value, schema: &str) -> ScimResult<(&'a Map<String, Value>, &'a [Value])> {
    let o = body.as_object().ok_or_else(|| ScimError::invalid_syntax("the body must be a JSON object"))?;
    if let Some(schemas) = get(o, "schemas").and_then(Value::as_array)
        && !schemas.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(schema)))
    {
        return Err(ScimError::invalid_syntax(format!("schemas must hold {schema}")));
    }
    let ops = get(o, "Operations").and_then(Value::as_array).ok_or_else(|| ScimError::invalid_syntax("Operations must be an array"))?;
    Ok((o, ops))
}
