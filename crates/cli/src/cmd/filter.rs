//! `user list --filter`: the SCIM filter grammar (RFC 7644 §3.4.2.2, parsed by scim_v2 as
//! the SCIM endpoint parses it) over the users' Graph attribute names, translated into the
//! store's filter so it runs in the store like a SCIM query.
//!
//! `department eq "Sales"`, `displayName sw "Al" and not (city eq "Oslo")`,
//! `accountEnabled eq false`, `mail pr`, `createdDateTime gt "2026-12-06T00:00:00Z"`,
//! `extension_<app id>_costCenter eq "CC-100"`, `manager eq "<user id>"`,
//! `memberOf eq "<group id>"`. Text compares ignoring case.
use crate::failure::{CliCode, Failure};
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp as ScimOp, Filter as ScimFilter};
use std::str::FromStr;
use tenantsync_domain::{ExtensionName, UserAttribute};
use tenantsync_store::{CompareOp, Field, Filter, FilterValue};

/// Deepest nesting of `and`/`or`/`not` accepted (as the SCIM endpoint).
const MAX_DEPTH: usize = 16;

/// Reads `--filter TEXT` into a store filter over users.
pub fn users(text: &str) -> Result<Filter, Failure> {
    let bad = |m: String| Failure::cli(format!("--filter '{text}'"), m, CliCode::InvalidArgument);
    let parsed = ScimFilter::from_str(text).map_err(|e| bad(format!("cannot parse the filter: {e}")))?;
    tr(&parsed, 1).map_err(bad)
}

/// What a user attribute name denotes.
enum Target {
    Field(Field),
    Extension(ExtensionName),
}

fn target(path: &AttrPath) -> Result<Target, String> {
    if path.uri.is_some() || path.sub_attr.is_some() {
        return Err(format!("'{path}': name a user attribute by its Graph name (department, displayName, extension_…)"));
    }
    let name = path.name.as_str();
    let field = match name.to_ascii_lowercase().as_str() {
        "id" => Field::Id,
        "createddatetime" => Field::Created,
        "lastmodifieddatetime" => Field::LastModified,
        "memberof" => Field::MemberOf,
        _ => {
            if let Some(a) = UserAttribute::lookup(name) {
                Field::User(a)
            } else if ExtensionName::looks_like(name) {
                return ExtensionName::parse(name).map(Target::Extension).map_err(|e| e.to_string());
            } else {
                return Err(format!("unknown attribute '{name}'"));
            }
        }
    };
    Ok(Target::Field(field))
}

fn tr(f: &ScimFilter, depth: usize) -> Result<Filter, String> {
    if depth > MAX_DEPTH {
        return Err(format!("the filter nests deeper than {MAX_DEPTH} levels"));
    }
    Ok(match f {
        ScimFilter::Attr(AttrExp::Present(path)) => match target(path)? {
            Target::Field(field) => Filter::Present(field),
            Target::Extension(name) => Filter::Extension { name, test: None, ignore_case: true },
        },
        ScimFilter::Attr(AttrExp::Comparison(path, op, value)) => compare(target(path)?, op, value)?,
        ScimFilter::ValuePath(vp) => return Err(format!("'{}[…]': users have no multi-valued attributes to filter inside", vp.attr)),
        ScimFilter::Not(inner) => Filter::Not(Box::new(tr(inner, depth + 1)?)),
        ScimFilter::And(items) => Filter::And(items.as_slice().iter().map(|i| tr(i, depth + 1)).collect::<Result<_, _>>()?),
        ScimFilter::Or(items) => Filter::Or(items.as_slice().iter().map(|i| tr(i, depth + 1)).collect::<Result<_, _>>()?),
    })
}

fn op_of(op: &ScimOp) -> CompareOp {
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

fn compare(target: Target, op: &ScimOp, value: &CompValue) -> Result<Filter, String> {
    let op = op_of(op);
    let text = |v: &CompValue| match v {
        CompValue::Str(s) => Some(s.clone()),
        CompValue::Number(n) => Some(n.to_string()),
        CompValue::True => Some("true".into()),
        CompValue::False => Some("false".into()),
        CompValue::Null => None,
    };
    // `eq null` is "has no value", `ne null` "has one".
    if matches!(value, CompValue::Null) {
        let present = match target {
            Target::Field(f) => Filter::Present(f),
            Target::Extension(name) => Filter::Extension { name, test: None, ignore_case: true },
        };
        return match op {
            CompareOp::Eq => Ok(Filter::Not(Box::new(present))),
            CompareOp::Ne => Ok(present),
            _ => Err("null compares only with eq or ne".into()),
        };
    }
    let ordering = matches!(op, CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le);
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    let field = match target {
        Target::Extension(name) => {
            let v = text(value).ok_or("an extension attribute compares with a string")?;
            return Ok(Filter::Extension { name, test: Some((op, v)), ignore_case: true });
        }
        Target::Field(f) => f,
    };
    match field {
        Field::User(UserAttribute::AccountEnabled) => match value {
            CompValue::True | CompValue::False if !ordering && !substring => Ok(Filter::exact(field, op, FilterValue::Bool(matches!(value, CompValue::True)))),
            _ => Err("accountEnabled compares with eq or ne and true or false".into()),
        },
        Field::Id | Field::MemberOf | Field::Member | Field::User(UserAttribute::Manager) => {
            let CompValue::Str(s) = value else { return Err("an id compares with a string".into()) };
            if ordering || substring {
                return Err("an id compares only with eq or ne".into());
            }
            Ok(match s.parse() {
                Ok(id) => Filter::exact(field, op, FilterValue::Id(id)),
                Err(_) => Filter::Const(op == CompareOp::Ne), // no object has an id that is not one
            })
        }
        Field::Created | Field::LastModified => {
            let CompValue::Str(s) = value else { return Err("a time compares with a string".into()) };
            if substring {
                return Err("a time compares with eq, ne, gt, ge, lt or le".into());
            }
            let t = super::args::time(s)?;
            Ok(Filter::exact(field, op, FilterValue::Time(t)))
        }
        _ => {
            let v = text(value).ok_or("a text attribute compares with a string")?;
            Ok(Filter::folded(field, op, FilterValue::Text(v)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_names_in_the_scim_grammar() {
        let f = users(r#"department eq "Sales""#).unwrap();
        assert_eq!(f, Filter::folded(Field::User(UserAttribute::Department), CompareOp::Eq, FilterValue::Text("Sales".into())));
        let f = users(r#"displayName sw "Al" and not (accountEnabled eq false)"#).unwrap();
        assert!(matches!(f, Filter::And(ref v) if v.len() == 2), "{f:?}");
        assert_eq!(users("mail pr").unwrap(), Filter::Present(Field::User(UserAttribute::Mail)));
        assert!(users(r#"createdDateTime gt "2026-12-06""#).is_ok());
    }

    #[test]
    fn bad_filters_say_why() {
        let e = |t: &str| users(t).unwrap_err().to_string();
        assert!(e(r#"favouriteColour eq "red""#).contains("unknown attribute 'favouriteColour'"));
        assert!(e(r#"department equals "Sales""#).contains("cannot parse the filter"));
        assert!(e(r#"accountEnabled eq "yes""#).contains("accountEnabled compares with eq or ne"));
        assert!(e(r#"name.givenName eq "x""#).contains("Graph name"));
    }
}
