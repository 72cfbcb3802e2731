//! The typed value the evaluator works on, and the input row.

use std::fmt;

use jiff::Timestamp;

use crate::datetime;

/// A value during evaluation.
///
/// Booleans show as `"True"`/`"False"` and date/times as `M/d/yyyy h:mm:ss tt`
/// (UTC) whenever a string is needed, as in Entra.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// Absent attribute / no value.
    #[default]
    Null,
    /// A string.
    Str(String),
    /// A 64-bit integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A UTC instant.
    DateTime(Timestamp),
    /// A multi-valued attribute.
    Multi(Vec<Value>),
}

impl Value {
    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// NULL, the empty string, or a multi-value with no values.
    pub fn is_null_or_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Str(s) => s.is_empty(),
            Value::Multi(v) => v.is_empty(),
            _ => false,
        }
    }

    /// The value as Entra would write it as a single string; `None` for NULL.
    /// A multi-value becomes its first value (use [`Value::to_strings`] for all).
    pub fn to_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Bool(b) => Some(bool_text(*b).to_owned()),
            Value::DateTime(t) => Some(datetime::format_general(*t)),
            Value::Multi(v) => v.first().and_then(Value::to_text),
        }
    }

    /// All values as strings (one for a single value, none for NULL).
    pub fn to_strings(&self) -> Vec<String> {
        match self {
            Value::Multi(v) => v.iter().filter_map(Value::to_text).collect(),
            other => other.to_text().into_iter().collect(),
        }
    }

    /// Builds a value from JSON: string, number, boolean, null or an array of them.
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => n.as_i64().map_or_else(|| Value::Str(n.to_string()), Value::Int),
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(a) => Value::Multi(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(_) => Value::Str(v.to_string()),
        }
    }
}

pub(crate) fn bool_text(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Multi(v) => {
                f.write_str("[")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match x {
                        Value::Null => f.write_str("NULL")?,
                        other => crate::parser::write_string(f, &other.to_text().unwrap_or_default())?,
                    }
                }
                f.write_str("]")
            }
            other => f.write_str(&other.to_text().unwrap_or_default()),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Self {
        o.map_or(Value::Null, Into::into)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::Multi(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms() {
        assert_eq!(Value::Bool(true).to_text().as_deref(), Some("True"));
        assert_eq!(Value::Int(-3).to_text().as_deref(), Some("-3"));
        assert_eq!(Value::Null.to_text(), None);
        let m = Value::Multi(vec!["a".into(), Value::Null, 2.into()]);
        assert_eq!(m.to_strings(), vec!["a", "2"]);
        assert_eq!(m.to_string(), r#"["a", NULL, "2"]"#);
        assert!(Value::Multi(vec![]).is_null_or_empty());
        assert!(Value::from("").is_null_or_empty());
        assert!(!Value::from(" ").is_null_or_empty());
        assert_eq!(Value::from_json(&serde_json::json!(["x", null, 3])), Value::Multi(vec!["x".into(), Value::Null, 3.into()]));
    }
}
