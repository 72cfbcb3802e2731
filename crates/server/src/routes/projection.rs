//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5), the same for every resource:
//! which attributes a response holds (`id` and `schemas` always), and whether an attribute
//! read apart from the resource (a user's `groups`, a group's `members`) is to be read at
//! all.
use crate::json;
use crate::schema::{DIRECTORY_EXTENSION_SCHEMA, ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use serde_json::{Map, Value};

/// The attributes a request asks for and those it leaves out.
#[derive(Debug, Default)]
pub(super) struct Projection {
    pub(super) attributes: Vec<String>,
    pub(super) excluded: Vec<String>,
}

/// Splits `urn:…:name.sub` into (uri, name, sub).
pub(super) fn split_path(s: &str) -> Option<(Option<String>, String, Option<String>)> {
    let s = s.trim();
    let (uri, rest) = match s.rfind(':') {
        Some(i) => (Some(s.get(..i)?.to_owned()), s.get(i + 1..)?),
        None => (None, s),
    };
    let (name, sub) = match rest.split_once('.') {
        Some((n, sub)) => (n.to_owned(), Some(sub.to_owned())),
        None => (rest.to_owned(), None),
    };
    if name.is_empty() {
        return None;
    }
    Some((uri, name, sub))
}

/// One requested attribute: where (root or an extension), name, optional sub-attribute.
struct Wanted {
    ext: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

fn wanted(s: &str) -> Option<Wanted> {
    let known = [USER_SCHEMA, ENTERPRISE_SCHEMA, DIRECTORY_EXTENSION_SCHEMA, GROUP_SCHEMA];
    let extensions = [ENTERPRISE_SCHEMA, DIRECTORY_EXTENSION_SCHEMA];
    if let Some(k) = known.iter().find(|k| k.eq_ignore_ascii_case(s.trim())) {
        let ext = extensions.contains(k).then(|| k.to_string());
        return Some(Wanted { ext, name: None, sub: None });
    }
    let (uri, name, sub) = split_path(s)?;
    let ext = match uri {
        Some(u) => extensions.iter().find(|e| e.eq_ignore_ascii_case(&u)).map(|e| (*e).to_owned()),
        None if tenantsync_domain::ExtensionName::looks_like(&name) => Some(DIRECTORY_EXTENSION_SCHEMA.to_owned()),
        None => None,
    };
    Some(Wanted { ext, name: Some(name), sub })
}

fn keep_sub(v: &Value, sub: &str) -> Value {
    let pick = |o: &Map<String, Value>| {
        let mut m = Map::new();
        if let Some(k) = json::key_of(o, sub)
            && let Some(x) = o.get(&k)
        {
            m.insert(k, x.clone());
        }
        Value::Object(m)
    };
    match v {
        Value::Object(o) => pick(o),
        Value::Array(a) => Value::Array(a.iter().filter_map(Value::as_object).map(pick).collect()),
        other => other.clone(),
    }
}

fn merge(into: &mut Map<String, Value>, key: String, v: Value) {
    match (into.get_mut(&key), v) {
        (Some(Value::Object(a)), Value::Object(b)) => a.extend(b),
        (_, v) => {
            into.insert(key, v);
        }
    }
}

impl Projection {
    /// Applies `attributes` / `excludedAttributes` to a document (id and schemas are
    /// always returned).
    pub(super) fn apply(&self, doc: Value) -> Value {
        let Value::Object(mut o) = doc else { return doc };
        if !self.attributes.is_empty() {
            o = self.keep(&o);
        }
        for w in self.excluded.iter().filter_map(|a| wanted(a)) {
            drop_wanted(&mut o, &w);
        }
        Value::Object(o)
    }

    /// What `attributes` asks for, with `schemas` and `id`.
    fn keep(&self, o: &Map<String, Value>) -> Map<String, Value> {
        let mut out = Map::new();
        for k in ["schemas", "id"] {
            if let Some(v) = o.get(k) {
                out.insert(k.to_owned(), v.clone());
            }
        }
        for w in self.attributes.iter().filter_map(|a| wanted(a)) {
            let src = match &w.ext {
                Some(e) => match o.get(e) {
                    Some(Value::Object(m)) => m,
                    _ => continue,
                },
                None => o,
            };
            let picked: Option<(String, Value)> = match (&w.name, &w.sub) {
                (None, _) => None,
                (Some(n), None) => json::key_of(src, n).and_then(|k| src.get(&k).map(|v| (k, v.clone()))),
                (Some(n), Some(s)) => json::key_of(src, n).and_then(|k| src.get(&k).map(|v| (k, keep_sub(v, s)))),
            };
            match (&w.ext, &w.name, picked) {
                (Some(e), None, _) => {
                    if let Some(v) = o.get(e) {
                        out.insert(e.clone(), v.clone());
                    }
                }
                (Some(e), Some(_), Some((k, v))) => {
                    let mut m = Map::new();
                    m.insert(k, v);
                    merge(&mut out, e.clone(), Value::Object(m));
                }
                (None, Some(_), Some((k, v))) => merge(&mut out, k, v),
                _ => {}
            }
        }
        out
    }

    /// Whether the attribute `name` (members, groups: read separately) is to be returned.
    pub(super) fn wants(&self, name: &str) -> bool {
        let is = |a: &String| wanted(a).and_then(|w| w.name).is_some_and(|n| n.eq_ignore_ascii_case(name));
        if self.excluded.iter().any(is) {
            return false;
        }
        self.attributes.is_empty() || self.attributes.iter().any(is)
    }
}

/// Removes one excluded attribute (never `id` or `schemas`).
fn drop_wanted(o: &mut Map<String, Value>, w: &Wanted) {
    let target = match &w.ext {
        Some(e) => match (&w.name, o.get_mut(e)) {
            (None, _) => {
                o.remove(e);
                return;
            }
            (Some(_), Some(Value::Object(m))) => m,
            _ => return,
        },
        None => o,
    };
    let Some(n) = &w.name else { return };
    if n.eq_ignore_ascii_case("id") || n.eq_ignore_ascii_case("schemas") {
        return;
    }
    match &w.sub {
        None => {
            json::remove(target, n);
        }
        Some(s) => match json::get_mut(target, n) {
            Some(Value::Object(m)) => {
                json::remove(m, s);
            }
            Some(Value::Array(a)) => a.iter_mut().filter_map(Value::as_object_mut).for_each(|m| {
                json::remove(m, s);
            }),
            _ => {}
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn projection(attributes: &[String], excluded: &[String]) -> Projection {
        Projection { attributes: attributes.to_vec(), excluded: excluded.to_vec() }
    }

    #[test]
    fn projection_keeps_requested_and_always_returned() {
        let doc = json!({
            "schemas": [USER_SCHEMA], "id": "1", "userName": "a@b.example", "displayName": "A",
            "name": { "givenName": "A", "familyName": "B" },
            "emails": [{ "value": "a@b.example", "type": "work" }],
            ENTERPRISE_SCHEMA: { "department": "X", "organization": "Y" },
        });
        let out = projection(&["username".into(), "name.givenName".into(), format!("{ENTERPRISE_SCHEMA}:department")], &[]).apply(doc.clone());
        assert_eq!(
            out,
            json!({ "schemas": [USER_SCHEMA], "id": "1", "userName": "a@b.example", "name": { "givenName": "A" }, ENTERPRISE_SCHEMA: { "department": "X" } })
        );
        let out = projection(&[], &["emails.type".into(), "displayName".into(), "id".into(), ENTERPRISE_SCHEMA.into()]).apply(doc);
        assert_eq!(out["emails"], json!([{ "value": "a@b.example" }]));
        assert!(out.get("displayName").is_none() && out.get(ENTERPRISE_SCHEMA).is_none());
        assert_eq!(out["id"], "1");
    }

    #[test]
    fn attributes_read_apart_are_read_only_when_wanted() {
        assert!(projection(&[], &[]).wants("members"));
        assert!(projection(&["Members.value".into()], &[]).wants("members"));
        assert!(!projection(&["displayName".into()], &[]).wants("members"));
        assert!(!projection(&[], &["members".into()]).wants("members"));
    }
}
