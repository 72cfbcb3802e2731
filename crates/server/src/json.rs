//! Small helpers over SCIM JSON: attribute names are case-insensitive (RFC 7643 §2.1).
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
