//! Requests checked against the attribute model (`model.rs`): a resource document (a POST
//! or PUT body, or what a PATCH made of the resource) may hold only known attributes, each
//! of its type, and one element per type where the directory keeps one value per type; a
//! PATCH path must name a known attribute that may be written. Every refusal names the
//! attribute. Read-only attributes in a document are ignored, not looked into: clients
//! send back what they read.
use crate::error::{ScimError, ScimResult};
use crate::json;
use crate::schema::model::{Attr, Common, Extension, Model, Mutability, Type, find};
use scim_v2::filter::{AttrExp, ValFilter};
use serde_json::{Map, Value};
use tenantsync_domain::ExtensionName;

/// An attribute tenantsync does not keep, in a document.
fn unknown(name: &str) -> ScimError {
    ScimError::unknown_attribute(format!("unknown attribute '{name}': tenantsync keeps the attributes /Schemas lists (see docs/scim.md)"))
}

/// Checks a whole resource document.
pub fn check_document(model: &Model, doc: &Value) -> ScimResult<()> {
    let o = doc.as_object().ok_or_else(|| ScimError::invalid_syntax("the body must be a JSON object"))?;
    for (k, v) in o {
        if let Some(c) = Common::of(k) {
            check_common(model, c, k, v)?;
        } else if let Some(ext) = model.extension(k) {
            check_extension(ext, k, v)?;
        } else if let Some(a) = find(model.core, k) {
            check_value(a, k, v)?;
        } else {
            return Err(unknown(k));
        }
    }
    Ok(())
}

fn check_common(model: &Model, c: Common, key: &str, v: &Value) -> ScimResult<()> {
    match c {
        Common::Id | Common::Meta => Ok(()),
        Common::ExternalId => scalar(key, v),
        Common::Schemas => {
            let bad = || ScimError::invalid_value(format!("{key} must be an array of this resource type's schema URIs"));
            let Value::Array(uris) = v else { return Err(bad()) };
            for u in uris {
                let u = u.as_str().ok_or_else(bad)?;
                if !model.has_schema(u) {
                    return Err(unknown(u));
                }
            }
            Ok(())
        }
    }
}

fn check_extension(ext: &Extension, key: &str, v: &Value) -> ScimResult<()> {
    let o = match v {
        Value::Null => return Ok(()),
        Value::Object(o) => o,
        _ => return Err(ScimError::invalid_value(format!("{key} must be an object"))),
    };
    for (k, v) in o {
        if let Some(a) = find(ext.attrs, k) {
            check_value(a, &format!("{}:{k}", ext.uri), v)?;
        } else if ext.open && ExtensionName::looks_like(k) {
            // Well-formed names only; the value (a string or a list of them) is read with
            // the user.
            ExtensionName::parse(k)?;
        } else if !k.eq_ignore_ascii_case("schemas") {
            // `schemas` inside an extension object is what some clients send; nothing else.
            return Err(unknown(&format!("{}:{k}", ext.uri)));
        }
    }
    Ok(())
}

/// A string attribute's value: clients send numbers and booleans for strings too.
fn scalar(path: &str, v: &Value) -> ScimResult<()> {
    match v {
        Value::Null | Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(()),
        _ => Err(ScimError::invalid_value(format!("{path} must be a string"))),
    }
}

/// The value of attribute `a` (named `path` in errors).
fn check_value(a: &Attr, path: &str, v: &Value) -> ScimResult<()> {
    if a.mutability == Mutability::ReadOnly || v.is_null() {
        return Ok(());
    }
    if a.multi {
        let Value::Array(items) = v else { return Err(ScimError::invalid_value(format!("{path} must be an array"))) };
        for item in items {
            check_single(a, path, item)?;
        }
        if a.per_type {
            one_per_type(a, path, items)?;
        }
        return Ok(());
    }
    check_single(a, path, v)
}

/// One value of `a` (an element, when `a` is multi-valued).
fn check_single(a: &Attr, path: &str, v: &Value) -> ScimResult<()> {
    match a.ty {
        Type::Complex => match v {
            Value::Object(o) => check_subs(a, path, o),
            // `manager: "<id>"`: a complex attribute with a `value` given as its value.
            Value::String(_) if !a.multi && a.sub("value").is_some() => Ok(()),
            Value::Null => Ok(()),
            _ => Err(ScimError::invalid_value(format!("{path} must be an object"))),
        },
        Type::String | Type::Reference => scalar(path, v),
        Type::Boolean => match v {
            Value::Null => Ok(()),
            v if json::boolean(v).is_some() => Ok(()),
            _ => Err(ScimError::invalid_value(format!("{path} must be true or false"))),
        },
    }
}

fn check_subs(a: &Attr, path: &str, o: &Map<String, Value>) -> ScimResult<()> {
    for (k, v) in o {
        let sub = a.sub(k).ok_or_else(|| unknown(&format!("{path}.{k}")))?;
        check_value(sub, &format!("{path}.{k}"), v)?;
    }
    Ok(())
}

/// The type of an element of a per-type attribute, lower-cased (its attribute's default
/// when it has none).
pub fn element_type(a: &Attr, el: &Value) -> Option<String> {
    let given = el.as_object().and_then(|o| json::get(o, "type")).filter(|t| !t.is_null());
    match given {
        Some(t) => json::text(t).map(|t| t.to_ascii_lowercase()),
        None => a.default_type().map(str::to_ascii_lowercase),
    }
}

fn one_per_type(a: &Attr, path: &str, items: &[Value]) -> ScimResult<()> {
    let kept = a.sub("type").map(|t| t.canonical).unwrap_or_default();
    let mut seen: Vec<String> = Vec::new();
    for item in items {
        let t = element_type(a, item).unwrap_or_default();
        if !kept.iter().any(|k| k.eq_ignore_ascii_case(&t)) {
            return Err(ScimError::invalid_value(format!("{path} of type '{t}' cannot be kept: the directory keeps {} only", kept.join(" and "))));
        }
        if seen.contains(&t) {
            return Err(ScimError::invalid_value(format!("{path} has more than one value of type {t}: the directory keeps one")));
        }
        seen.push(t);
    }
    Ok(())
}

/// What a PATCH path names, once checked: the attribute (`None` for an attribute of an
/// open extension) and the extension it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    pub attr: Option<&'static Attr>,
    pub extension: Option<&'static Extension>,
}

/// Checks a PATCH path: `uri:name.sub` or `uri:name[filter].sub`, where the filter tests
/// sub-attributes of `name`. Unknown: `invalidPath`; read-only: `mutability`.
pub fn check_path(model: &Model, uri: Option<&str>, name: &str, sub: Option<&str>, filter: Option<&ValFilter>) -> ScimResult<Resolved> {
    let full = || {
        let mut p = uri.map(|u| format!("{u}:")).unwrap_or_default();
        p.push_str(name);
        if let Some(s) = sub {
            p.push('.');
            p.push_str(s);
        }
        p
    };
    let no_such = || ScimError::invalid_path(format!("no attribute '{}' (tenantsync keeps the attributes /Schemas lists)", full()));
    let (attrs, extension) = match uri {
        None => (model.core, None),
        Some(u) if u.eq_ignore_ascii_case(model.core_uri) => (model.core, None),
        Some(u) => match model.extension(u) {
            Some(e) => (e.attrs, Some(e)),
            None => return Err(ScimError::invalid_path(format!("unknown schema '{u}'"))),
        },
    };
    if extension.is_none() {
        match Common::of(name) {
            Some(Common::Id | Common::Meta | Common::Schemas) => return Err(ScimError::read_only(format!("{} is read-only", full()))),
            Some(Common::ExternalId) if sub.is_none() && filter.is_none() => return Ok(Resolved { attr: None, extension: None }),
            Some(Common::ExternalId) => return Err(no_such()),
            None => {}
        }
    }
    let Some(attr) = find(attrs, name) else {
        return match extension {
            Some(e) if e.open && ExtensionName::looks_like(name) && sub.is_none() && filter.is_none() => {
                ExtensionName::parse(name)?;
                Ok(Resolved { attr: None, extension })
            }
            _ => Err(no_such()),
        };
    };
    if attr.mutability == Mutability::ReadOnly {
        return Err(ScimError::read_only(format!("{} is read-only", full())));
    }
    if let Some(f) = filter {
        if !attr.multi {
            return Err(ScimError::invalid_path(format!("'{}' is not multi-valued: it takes no filter", full())));
        }
        filter_names(f, &mut |n| attr.sub(n).is_some())
            .map_err(|n| ScimError::invalid_path(format!("'{}' has no sub-attribute '{n}' to filter on", attr.name)))?;
    }
    if let Some(s) = sub {
        let sub_attr = attr.sub(s).ok_or_else(no_such)?;
        if sub_attr.mutability == Mutability::ReadOnly {
            return Err(ScimError::read_only(format!("{} is read-only", full())));
        }
    }
    Ok(Resolved { attr: Some(attr), extension })
}

/// Calls `known` on every attribute name a value filter tests; the first it refuses is
/// the error.
fn filter_names(f: &ValFilter, known: &mut dyn FnMut(&str) -> bool) -> Result<(), String> {
    match f {
        ValFilter::Attr(AttrExp::Present(p) | AttrExp::Comparison(p, _, _)) => {
            if p.uri.is_some() || p.sub_attr.is_some() || !known(&p.name) {
                Err(p.to_string())
            } else {
                Ok(())
            }
        }
        ValFilter::Not(inner) => filter_names(inner, known),
        ValFilter::And(items) | ValFilter::Or(items) => items.as_slice().iter().try_for_each(|i| filter_names(i, known)),
    }
}

/// Whether a value filter tests anything but `type` (which, for per-type attributes,
/// names the one element there is): its outcome then depends on the values found.
pub fn filter_reads_values(f: &ValFilter) -> bool {
    filter_names(f, &mut |n| n.eq_ignore_ascii_case("type")).is_err()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::model::{GROUP_MODEL, USER_MODEL};
    use serde_json::json;

    #[test]
    fn documents_are_checked_against_the_model() {
        let ok = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "x", "meta": { "anything": 1 }, "externalId": 5,
            "userName": "a@b.example", "name": { "givenName": "A" }, "active": "False",
            "emails": [{ "value": "a@b.example", "primary": true }],
            "phoneNumbers": [{ "value": "1", "type": "Work" }, { "value": "2", "type": "mobile" }],
            "groups": [{ "anything": "read-only, ignored" }],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "manager": "id" },
            "urn:ietf:params:scim:schemas:extension:tenantsync:2.0:User": { "schemas": [], "extension_0123456789abcdef0123456789abcdef_x": "v" },
        });
        check_document(&USER_MODEL, &ok).unwrap();
        let code = |doc: Value| check_document(&USER_MODEL, &doc).unwrap_err().code;
        assert_eq!(code(json!({ "colour": 1 })), "unknown_attribute");
        assert_eq!(code(json!({ "name": "x" })), "invalid_value");
        assert_eq!(code(json!({ "emails": [{ "value": "a", "type": "home" }] })), "invalid_value");
        assert_eq!(code(json!({ "emails": [{ "value": "a" }, { "value": "b", "type": "work" }] })), "invalid_value");
        assert_eq!(code(json!({ "schemas": ["urn:x"] })), "unknown_attribute");
        assert_eq!(code(json!({ "members": [] })), "unknown_attribute");
        check_document(&GROUP_MODEL, &json!({ "displayName": "G", "members": [{ "value": "u", "display": "x", "$ref": "r", "type": "User" }] })).unwrap();
    }

    #[test]
    fn patch_paths_are_checked_against_the_model() {
        let t = |uri: Option<&str>, name: &str, sub: Option<&str>| check_path(&USER_MODEL, uri, name, sub, None).map(|_| ()).map_err(|e| e.scim_type);
        assert_eq!(t(None, "title", None), Ok(()));
        assert_eq!(t(None, "NAME", Some("givenName")), Ok(()));
        assert_eq!(t(None, "externalId", None), Ok(()));
        assert_eq!(t(Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"), "manager", Some("value")), Ok(()));
        assert_eq!(t(Some("urn:ietf:params:scim:schemas:extension:tenantsync:2.0:User"), "extension_0123456789abcdef0123456789abcdef_x", None), Ok(()));
        assert_eq!(t(None, "colour", None), Err(Some("invalidPath")));
        assert_eq!(t(None, "name", Some("middleName")), Err(Some("invalidPath")));
        assert_eq!(t(Some("urn:x"), "title", None), Err(Some("invalidPath")));
        assert_eq!(t(None, "id", None), Err(Some("mutability")));
        assert_eq!(t(None, "meta", Some("created")), Err(Some("mutability")));
        assert_eq!(t(None, "groups", None), Err(Some("mutability")));
    }
}
