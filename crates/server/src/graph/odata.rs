//! OData query options as Microsoft Graph takes them: `$filter` (a subset: comparisons,
//! `in`, `startsWith`/`endsWith`, `and`, `or`, `not`, parentheses), `$select`, `$top`,
//! `$orderby`, `$count`, `$skiptoken`. Parsing is pure; what a property means (and whether
//! it may be filtered or sorted on at all) is decided by the caller's [`Properties`], so
//! a filter the store could only answer by walking a tenant is refused here.
use super::error::{GraphCode, GraphError};
use tenantsync_store::{CompareOp, Field, Filter, FilterValue, SortKey};

/// The largest page a client may ask for (`$top`), as in Graph.
pub const MAX_TOP: u32 = 999;
/// Nesting of `$filter` at most (a deeper tree is refused, never a stack overflow).
const MAX_DEPTH: usize = 32;
/// Length of `$filter` at most.
const MAX_FILTER_LEN: usize = 4096;

/// What a property of a resource is, for filtering and ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text compared ignoring case (names, UPNs, mails).
    Text,
    /// Text compared exactly (ids given by clients).
    ExactText,
    Bool,
    /// A timestamp (`2026-12-06T10:00:00Z`).
    Time,
    /// An object id (a GUID).
    Id,
}

/// A property clients may name in `$filter` or `$orderby`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Property {
    pub field: Field,
    pub kind: Kind,
    /// `$orderby` allowed (the store has an index in that order).
    pub sortable: bool,
}

/// The properties of a resource that queries may name: `None` for any other (refused
/// with `Request_UnsupportedQuery`, naming it).
pub trait Properties {
    fn property(&self, name: &str) -> Option<Property>;
}

impl<F: Fn(&str) -> Option<Property>> Properties for F {
    fn property(&self, name: &str) -> Option<Property> {
        self(name)
    }
}

/// The query options of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryOptions {
    pub filter: Option<Filter>,
    /// `$select`: the properties to return (empty: the resource's default set).
    pub select: Vec<String>,
    pub top: Option<u32>,
    pub orderby: Option<SortKey>,
    pub count: bool,
    pub skiptoken: Option<String>,
}

fn bad(message: impl Into<String>) -> GraphError {
    GraphError::new(GraphCode::BadRequest, message)
}

fn unsupported(message: impl Into<String>) -> GraphError {
    GraphError::new(GraphCode::UnsupportedQuery, message)
}

/// Reads the query string's OData options. Unknown `$`-options are refused; parameters
/// without `$` are left to the route.
pub fn parse(params: &[(String, String)], props: &dyn Properties) -> Result<QueryOptions, GraphError> {
    let mut q = QueryOptions::default();
    let mut seen = Vec::new();
    for (key, value) in params {
        let Some(option) = key.strip_prefix('$') else { continue };
        let option = option.to_ascii_lowercase();
        if seen.contains(&option) {
            return Err(bad(format!("the query option '${option}' is given twice")));
        }
        seen.push(option.clone());
        match option.as_str() {
            "filter" => q.filter = Some(filter(value, props)?),
            "select" => {
                q.select = value.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
                if q.select.is_empty() {
                    return Err(bad("$select names no property"));
                }
            }
            "top" => {
                let top: u32 = value.trim().parse().map_err(|_| bad(format!("$top must be a whole number from 1 to {MAX_TOP}, not '{value}'")))?;
                if !(1..=MAX_TOP).contains(&top) {
                    return Err(bad(format!("$top must be from 1 to {MAX_TOP}, not {top}")));
                }
                q.top = Some(top);
            }
            "orderby" => q.orderby = Some(orderby(value, props)?),
            "count" => {
                q.count = match value.trim() {
                    "true" => true,
                    "false" => false,
                    other => return Err(bad(format!("$count must be true or false, not '{other}'"))),
                }
            }
            "skiptoken" => q.skiptoken = Some(value.clone()),
            other => return Err(bad(format!("the query option '${other}' is not supported here"))),
        }
    }
    Ok(q)
}

fn orderby(text: &str, props: &dyn Properties) -> Result<SortKey, GraphError> {
    let mut words = text.split_whitespace();
    let name = words.next().ok_or_else(|| bad("$orderby names no property"))?;
    let descending = match words.next().map(str::to_ascii_lowercase).as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => return Err(bad(format!("$orderby direction must be asc or desc, not '{other}'"))),
    };
    if words.next().is_some() || name.contains(',') {
        return Err(unsupported("$orderby takes one property"));
    }
    let p = props.property(name).filter(|p| p.sortable).ok_or_else(|| unsupported(format!("$orderby on '{name}' is not supported")))?;
    Ok(SortKey { field: p.field, descending, ignore_case: p.kind == Kind::Text })
}

/// A `$filter` expression as a store filter.
pub fn filter(text: &str, props: &dyn Properties) -> Result<Filter, GraphError> {
    if text.trim().is_empty() {
        return Err(bad("$filter is empty"));
    }
    if text.len() > MAX_FILTER_LEN {
        return Err(bad(format!("$filter is longer than {MAX_FILTER_LEN} characters")));
    }
    let tokens = lex(text)?;
    let mut p = Parser { tokens, at: 0, props, depth: 0 };
    let f = p.or()?;
    match p.peek() {
        None => Ok(f),
        Some(t) => Err(bad(format!("$filter: unexpected {} at position {}", t.kind.describe(), t.at + 1))),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum TokKind {
    Ident(String),
    Str(String),
    Number(String),
    Open,
    Close,
    Comma,
}

impl TokKind {
    fn describe(&self) -> String {
        match self {
            TokKind::Ident(s) => format!("'{s}'"),
            TokKind::Str(s) => format!("the string '{s}'"),
            TokKind::Number(n) => format!("the number {n}"),
            TokKind::Open => "'('".into(),
            TokKind::Close => "')'".into(),
            TokKind::Comma => "','".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Tok {
    kind: TokKind,
    at: usize,
}

fn lex(text: &str) -> Result<Vec<Tok>, GraphError> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&(at, c)) = chars.get(i) {
        match c {
            c if c.is_whitespace() => i += 1,
            '(' | ')' | ',' => {
                let kind = match c {
                    '(' => TokKind::Open,
                    ')' => TokKind::Close,
                    _ => TokKind::Comma,
                };
                out.push(Tok { kind, at });
                i += 1;
            }
            '\'' => {
                // '' stands for one quote.
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(bad(format!("$filter: the string at position {} is not closed", at + 1))),
                        Some((_, '\'')) if chars.get(i + 1).is_some_and(|(_, c)| *c == '\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some((_, '\'')) => {
                            i += 1;
                            break;
                        }
                        Some((_, c)) => {
                            s.push(*c);
                            i += 1;
                        }
                    }
                }
                out.push(Tok { kind: TokKind::Str(s), at });
            }
            c if c.is_ascii_digit() || c == '-' => {
                let start = i;
                while chars.get(i).is_some_and(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | '+')) {
                    i += 1;
                }
                out.push(Tok { kind: TokKind::Number(span(text, &chars, start, i)), at });
            }
            c if c.is_alphabetic() || c == '_' || c == '@' => {
                let start = i;
                while chars.get(i).is_some_and(|(_, c)| c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '@')) {
                    i += 1;
                }
                out.push(Tok { kind: TokKind::Ident(span(text, &chars, start, i)), at });
            }
            other => return Err(bad(format!("$filter: unexpected '{other}' at position {}", at + 1))),
        }
    }
    Ok(out)
}

/// The text of chars `start..end` of `text`.
fn span(text: &str, chars: &[(usize, char)], start: usize, end: usize) -> String {
    let byte = |i: usize| chars.get(i).map_or(text.len(), |(b, _)| *b);
    text.get(byte(start)..byte(end)).unwrap_or_default().to_owned()
}

struct Parser<'a> {
    tokens: Vec<Tok>,
    at: usize,
    props: &'a dyn Properties,
    depth: usize,
}

/// A literal of the filter.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Bool(bool),
    Null,
    /// A bare token: a number, a date-time or a GUID.
    Bare(String),
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok { kind: TokKind::Ident(s), .. }) if s.eq_ignore_ascii_case(word))
    }

    fn expect(&mut self, kind: TokKind) -> Result<(), GraphError> {
        match self.next() {
            Some(t) if t.kind == kind => Ok(()),
            Some(t) => Err(bad(format!("$filter: expected {}, found {} at position {}", kind.describe(), t.kind.describe(), t.at + 1))),
            None => Err(bad(format!("$filter: expected {} at the end", kind.describe()))),
        }
    }

    fn deeper(&mut self) -> Result<(), GraphError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH { Err(bad(format!("$filter is nested more than {MAX_DEPTH} levels deep"))) } else { Ok(()) }
    }

    fn or(&mut self) -> Result<Filter, GraphError> {
        let mut parts = vec![self.and()?];
        while self.keyword("or") {
            self.next();
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Filter::Or(parts) })
    }

    fn and(&mut self) -> Result<Filter, GraphError> {
        let mut parts = vec![self.unary()?];
        while self.keyword("and") {
            self.next();
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Filter::And(parts) })
    }

    fn unary(&mut self) -> Result<Filter, GraphError> {
        self.deeper()?;
        let f = if self.keyword("not") {
            self.next();
            Filter::Not(Box::new(self.unary()?))
        } else if matches!(self.peek(), Some(Tok { kind: TokKind::Open, .. })) {
            self.next();
            let f = self.or()?;
            self.expect(TokKind::Close)?;
            f
        } else {
            self.term()?
        };
        self.depth -= 1;
        Ok(f)
    }

    fn property(&self, name: &str) -> Result<Property, GraphError> {
        self.props.property(name).ok_or_else(|| unsupported(format!("$filter on the property '{name}' is not supported")))
    }

    fn term(&mut self) -> Result<Filter, GraphError> {
        let Some(Tok { kind: TokKind::Ident(name), at }) = self.next() else {
            let at = self.tokens.get(self.at.saturating_sub(1)).map_or(0, |t| t.at);
            return Err(bad(format!("$filter: expected a property or a function at position {}", at + 1)));
        };
        let function = match name.to_ascii_lowercase().as_str() {
            "startswith" => Some(CompareOp::Sw),
            "endswith" => Some(CompareOp::Ew),
            _ => None,
        };
        if let Some(op) = function {
            self.expect(TokKind::Open)?;
            let Some(Tok { kind: TokKind::Ident(prop), .. }) = self.next() else {
                return Err(bad(format!("$filter: {name} takes a property first")));
            };
            self.expect(TokKind::Comma)?;
            let lit = self.literal()?;
            self.expect(TokKind::Close)?;
            let p = self.property(&prop)?;
            if !matches!(p.kind, Kind::Text | Kind::ExactText) {
                return Err(unsupported(format!("$filter: {name} applies to text, and '{prop}' is not text")));
            }
            return compare(&prop, p, op, lit);
        }
        let p = self.property(&name)?;
        let op = match self.next() {
            Some(Tok { kind: TokKind::Ident(op), at }) => match op.to_ascii_lowercase().as_str() {
                "eq" => CompareOp::Eq,
                "ne" => CompareOp::Ne,
                "gt" => CompareOp::Gt,
                "ge" => CompareOp::Ge,
                "lt" => CompareOp::Lt,
                "le" => CompareOp::Le,
                "in" => {
                    self.expect(TokKind::Open)?;
                    let mut values = vec![compare(&name, p, CompareOp::Eq, self.literal()?)?];
                    while matches!(self.peek(), Some(Tok { kind: TokKind::Comma, .. })) {
                        self.next();
                        values.push(compare(&name, p, CompareOp::Eq, self.literal()?)?);
                    }
                    self.expect(TokKind::Close)?;
                    return Ok(Filter::Or(values));
                }
                other => {
                    return Err(unsupported(format!(
                        "$filter: the operator '{other}' at position {} is not supported (eq, ne, gt, ge, lt, le, in, startsWith, endsWith)",
                        at + 1
                    )));
                }
            },
            Some(t) => return Err(bad(format!("$filter: expected an operator after '{name}' at position {}", t.at + 1))),
            None => return Err(bad(format!("$filter: expected an operator after '{name}' at position {}", at + name.len() + 1))),
        };
        let lit = self.literal()?;
        compare(&name, p, op, lit)
    }

    fn literal(&mut self) -> Result<Literal, GraphError> {
        match self.next() {
            Some(Tok { kind: TokKind::Str(s), .. }) => Ok(Literal::Str(s)),
            Some(Tok { kind: TokKind::Number(n), .. }) => Ok(Literal::Bare(n)),
            Some(Tok { kind: TokKind::Ident(w), .. }) => match w.to_ascii_lowercase().as_str() {
                "true" => Ok(Literal::Bool(true)),
                "false" => Ok(Literal::Bool(false)),
                "null" => Ok(Literal::Null),
                _ => Ok(Literal::Bare(w)),
            },
            Some(t) => Err(bad(format!("$filter: expected a value, found {} at position {}", t.kind.describe(), t.at + 1))),
            None => Err(bad("$filter: expected a value at the end")),
        }
    }
}

/// `name op literal` as a store filter.
fn compare(name: &str, p: Property, op: CompareOp, lit: Literal) -> Result<Filter, GraphError> {
    let mismatch = |want: &str| bad(format!("$filter: '{name}' takes {want}"));
    if lit == Literal::Null {
        return match op {
            CompareOp::Eq => Ok(Filter::Not(Box::new(Filter::Present(p.field)))),
            CompareOp::Ne => Ok(Filter::Present(p.field)),
            _ => Err(bad(format!("$filter: only eq and ne compare '{name}' with null"))),
        };
    }
    let ordering = matches!(op, CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le);
    let value = match (p.kind, lit) {
        (Kind::Text | Kind::ExactText, Literal::Str(s)) => FilterValue::Text(s),
        (Kind::Text | Kind::ExactText, _) => return Err(mismatch("a string in quotes")),
        (Kind::Bool, Literal::Bool(b)) if !ordering => FilterValue::Bool(b),
        (Kind::Bool, _) => return Err(mismatch("true or false, with eq or ne")),
        (Kind::Time, Literal::Bare(t) | Literal::Str(t)) => FilterValue::Time(t.parse().map_err(|_| mismatch("a date-time such as 2026-12-06T10:00:00Z"))?),
        (Kind::Time, _) => return Err(mismatch("a date-time such as 2026-12-06T10:00:00Z")),
        (Kind::Id, Literal::Bare(t) | Literal::Str(t)) if !ordering => FilterValue::Id(t.parse().map_err(|_| mismatch("an id (a GUID)"))?),
        (Kind::Id, _) => return Err(mismatch("an id (a GUID), with eq or ne")),
    };
    Ok(Filter::Compare { field: p.field, op, value, ignore_case: p.kind == Kind::Text })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenantsync_domain::UserAttribute as U;

    fn props(name: &str) -> Option<Property> {
        let p = |field, kind, sortable| Some(Property { field, kind, sortable });
        match name {
            "userPrincipalName" => p(Field::User(U::UserPrincipalName), Kind::Text, true),
            "displayName" => p(Field::User(U::DisplayName), Kind::Text, true),
            "accountEnabled" => p(Field::User(U::AccountEnabled), Kind::Bool, false),
            "id" => p(Field::Id, Kind::Id, true),
            "createdDateTime" => p(Field::Created, Kind::Time, false),
            _ => None,
        }
    }

    fn f(text: &str) -> Result<Filter, GraphError> {
        filter(text, &props)
    }

    fn upn(op: CompareOp, v: &str) -> Filter {
        Filter::folded(Field::User(U::UserPrincipalName), op, FilterValue::Text(v.into()))
    }

    #[test]
    fn comparisons_functions_in_and_logic() {
        assert_eq!(f("userPrincipalName eq 'a@b.example'").unwrap(), upn(CompareOp::Eq, "a@b.example"));
        assert_eq!(f("startsWith(displayName,'A')").unwrap(), Filter::folded(Field::User(U::DisplayName), CompareOp::Sw, FilterValue::Text("A".into())));
        assert_eq!(f("userPrincipalName in ('a', 'b')").unwrap(), Filter::Or(vec![upn(CompareOp::Eq, "a"), upn(CompareOp::Eq, "b")]));
        assert_eq!(
            f("not (accountEnabled eq true) or userPrincipalName ne 'o''neil'").unwrap(),
            Filter::Or(vec![
                Filter::Not(Box::new(Filter::exact(Field::User(U::AccountEnabled), CompareOp::Eq, FilterValue::Bool(true)))),
                upn(CompareOp::Ne, "o'neil"),
            ])
        );
        assert_eq!(
            f("userPrincipalName eq 'a' and displayName eq null").unwrap(),
            Filter::And(vec![upn(CompareOp::Eq, "a"), Filter::Not(Box::new(Filter::Present(Field::User(U::DisplayName))))])
        );
        assert!(matches!(f("createdDateTime ge 2026-12-06T10:00:00Z").unwrap(), Filter::Compare { op: CompareOp::Ge, value: FilterValue::Time(_), .. }));
        let id = tenantsync_domain::ObjectId::new();
        assert_eq!(f(&format!("id eq '{id}'")).unwrap(), Filter::exact(Field::Id, CompareOp::Eq, FilterValue::Id(id)));
    }

    #[test]
    fn bad_filters_are_refused_naming_the_problem() {
        let code = |t: &str| f(t).unwrap_err();
        assert_eq!(code("jobTitle eq 'x'").code, GraphCode::UnsupportedQuery, "not a filterable property");
        assert!(code("jobTitle eq 'x'").message.contains("'jobTitle'"));
        assert_eq!(code("userPrincipalName has 'x'").code, GraphCode::UnsupportedQuery);
        for bad in [
            "",
            "userPrincipalName eq",
            "userPrincipalName eq 'a",
            "(userPrincipalName eq 'a'",
            "userPrincipalName eq 5",
            "accountEnabled gt true",
            "id eq 'nope'",
            "userPrincipalName eq 'a' )",
            "%",
        ] {
            assert_eq!(code(bad).code, GraphCode::BadRequest, "{bad:?}");
        }
        let deep = format!("{}userPrincipalName eq 'a'{}", "(".repeat(100), ")".repeat(100));
        assert!(code(&deep).message.contains("nested"), "deep nesting is refused, not a stack overflow");
    }

    #[test]
    fn options_are_checked() {
        let q = |pairs: &[(&str, &str)]| parse(&pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>(), &props);
        let ok = q(&[("$top", "5"), ("$select", "id,displayName"), ("$count", "true"), ("$orderby", "displayName desc"), ("api-version", "x")]).unwrap();
        assert_eq!((ok.top, ok.select.len(), ok.count), (Some(5), 2, true));
        assert!(ok.orderby.is_some_and(|o| o.descending));
        for bad in [("$top", "0"), ("$top", "100000"), ("$top", "x"), ("$count", "yes"), ("$expand", "manager"), ("$orderby", "jobTitle"), ("$select", "")] {
            assert!(q(&[bad]).is_err(), "{bad:?}");
        }
        assert!(q(&[("$top", "1"), ("$TOP", "2")]).is_err(), "given twice");
    }
}
