//! Listing: the parameters of a list request (query string, or the body of a `.search`),
//! the store query they make (filter, sort, index paging or RFC 9865 cursor paging) and
//! the ListResponse of a page. The same for every resource type: `kind` names the
//! resources listed, `Resolver` their attribute paths.
use super::projection::{Projection, split_path};
use crate::cursor;
use crate::error::{ScimError, ScimResult};
use crate::filter::{self, Resolver, Slot, Target};
use crate::json;
use crate::schema::{self, LIST_SCHEMA, MAX_RESULTS, SEARCH_SCHEMA};
use serde_json::{Map, Value, json};
use tenantsync_store::{CompareOp, Field, Filter, FilterValue, ObjectQuery, QueryPage, Seek, SortKey};

#[derive(Debug, Default)]
pub(super) struct ListParams {
    pub(super) filter: Option<String>,
    /// RFC 9865: `Some("")` asks for the first cursor page.
    pub(super) cursor: Option<String>,
    /// Whether `startIndex` was given (it cannot be combined with `cursor`).
    start_given: bool,
    pub(super) start_index: u64,
    pub(super) count: u32,
    sort_by: Option<String>,
    descending: bool,
    pub(super) projection: Projection,
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn start_index(n: i64) -> u64 {
    u64::try_from(n.max(1)).unwrap_or(1)
}

fn count(n: i64) -> u32 {
    u32::try_from(n.clamp(0, i64::from(MAX_RESULTS))).unwrap_or(0)
}

fn sort_order(v: Option<&str>) -> ScimResult<bool> {
    match v.map(str::trim) {
        None | Some("") => Ok(false),
        Some(s) if s.eq_ignore_ascii_case("ascending") => Ok(false),
        Some(s) if s.eq_ignore_ascii_case("descending") => Ok(true),
        Some(s) => Err(ScimError::invalid_value(format!("sortOrder must be ascending or descending, not '{s}'"))),
    }
}

impl ListParams {
    fn defaults() -> ListParams {
        ListParams { start_index: 1, count: schema::DEFAULT_PAGE_SIZE, ..Default::default() }
    }

    /// From the query string (names in any case).
    pub(super) fn from_pairs(pairs: &[(String, String)]) -> ScimResult<ListParams> {
        let get = |k: &str| pairs.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| v.as_str());
        let int = |s: &str, what: &str| s.trim().parse::<i64>().map_err(|_| ScimError::invalid_value(format!("{what} must be an integer")));
        let mut p = ListParams::defaults();
        p.filter = get("filter").map(filter_text).transpose()?;
        p.cursor = get("cursor").map(str::to_owned);
        if let Some(s) = get("startIndex") {
            p.start_index = start_index(int(s, "startIndex")?);
            p.start_given = true;
        }
        if let Some(s) = get("count") {
            p.count = count(int(s, "count")?);
        }
        p.sort_by = get("sortBy").filter(|s| !s.trim().is_empty()).map(str::to_owned);
        p.descending = sort_order(get("sortOrder"))?;
        p.projection.attributes = get("attributes").map(split_list).unwrap_or_default();
        p.projection.excluded = get("excludedAttributes").map(split_list).unwrap_or_default();
        Ok(p)
    }

    /// From the body of a `POST …/.search` (SearchRequest, RFC 7644 §3.4.3): its
    /// attributes only, each of its type.
    pub(super) fn from_search(body: &Value) -> ScimResult<ListParams> {
        let o = body.as_object().ok_or_else(|| ScimError::invalid_syntax("the body must be a JSON object"))?;
        if let Some(k) = o.keys().find(|k| !SEARCH_ATTRIBUTES.iter().any(|a| a.eq_ignore_ascii_case(k))) {
            return Err(ScimError::invalid_syntax(format!("'{k}' is not an attribute of a SearchRequest")));
        }
        let int = |k: &str| -> ScimResult<Option<i64>> {
            match json::get(o, k).filter(|v| !v.is_null()) {
                None => Ok(None),
                Some(v) => v.as_i64().map(Some).ok_or_else(|| ScimError::invalid_value(format!("{k} must be an integer"))),
            }
        };
        let text = |k: &str| -> ScimResult<Option<&str>> {
            match json::get(o, k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(ScimError::invalid_value(format!("{k} must be a string"))),
            }
        };
        let mut p = ListParams::defaults();
        p.filter = match json::get(o, "filter") {
            None | Some(Value::Null) => None,
            Some(Value::String(f)) => Some(filter_text(f)?),
            Some(_) => return Err(ScimError::invalid_filter("filter must be a string")),
        };
        p.cursor = match json::get(o, "cursor") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(cursor::invalid("cursor must be a string")),
        };
        if let Some(n) = int("startIndex")? {
            p.start_index = start_index(n);
            p.start_given = true;
        }
        if let Some(n) = int("count")? {
            p.count = count(n);
        }
        p.sort_by = text("sortBy")?.map(str::to_owned);
        p.descending = sort_order(text("sortOrder")?)?;
        let list = |k: &str| -> ScimResult<Vec<String>> {
            let bad = || ScimError::invalid_value(format!("{k} must be an array of attribute names"));
            match json::get(o, k) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(a)) => a.iter().map(|v| v.as_str().map(split_list).ok_or_else(bad)).collect::<ScimResult<Vec<_>>>().map(|v| v.concat()),
                Some(Value::String(s)) => Ok(split_list(s)),
                Some(_) => Err(bad()),
            }
        };
        p.projection.attributes = list("attributes")?;
        p.projection.excluded = list("excludedAttributes")?;
        if let Some(s) = json::get(o, "schemas")
            && !s.as_array().is_some_and(|a| a.iter().all(|v| v.as_str().is_some_and(|u| u.eq_ignore_ascii_case(SEARCH_SCHEMA))))
        {
            return Err(ScimError::invalid_syntax(format!("schemas must be [\"{SEARCH_SCHEMA}\"]")));
        }
        Ok(p)
    }

    /// The store query; `domain` completes bare userNames compared with eq/ne/gt/…;
    /// `kind` names the resources listed (cursors of one kind are refused by another).
    pub(super) fn query(&self, r: &dyn Resolver, domain: &str, kind: &str) -> ScimResult<ObjectQuery> {
        let mut filter = self.filter.as_deref().map(|f| filter::translate(f, r)).transpose()?;
        if let Some(f) = filter.as_mut() {
            complete_user_names(f, domain);
        }
        let sort = self.sort_by.as_deref().map(|s| sort_key(s, r, self.descending)).transpose()?;
        let seek = match &self.cursor {
            None => None,
            Some(_) if self.start_given => return Err(ScimError::invalid_value("startIndex and cursor cannot be used together")),
            Some(c) => Some(cursor::decode(c, self.fingerprint(kind))?),
        };
        Ok(ObjectQuery { filter, sort, offset: self.start_index.saturating_sub(1), limit: self.count, seek })
    }

    /// What a cursor pages through: the resource kind, the filter and the order.
    fn fingerprint(&self, kind: &str) -> u64 {
        let sort = self.sort_by.as_deref().map(str::trim).unwrap_or_default().to_ascii_lowercase();
        cursor::fingerprint(&[kind, self.filter.as_deref().map(str::trim).unwrap_or_default(), &sort, if self.descending { "d" } else { "a" }])
    }

    /// The ListResponse of a page: index paging (`startIndex`, `totalResults`) or cursor
    /// paging (`nextCursor`/`previousCursor`; not counted, so no `totalResults`).
    pub(super) fn list_response<T>(&self, kind: &str, resources: Vec<Value>, page: &QueryPage<T>) -> Value {
        if self.cursor.is_none() {
            return list_response(resources, page.total.unwrap_or(0), self.start_index);
        }
        let fp = self.fingerprint(kind);
        let mut out = Map::new();
        out.insert("schemas".into(), json!([LIST_SCHEMA]));
        out.insert("itemsPerPage".into(), resources.len().into());
        if let Some(total) = page.total {
            out.insert("totalResults".into(), total.into());
        }
        if let Some(k) = &page.next {
            out.insert("nextCursor".into(), cursor::encode(&Seek::After(k.clone()), fp).into());
        }
        if let Some(k) = &page.previous {
            out.insert("previousCursor".into(), cursor::encode(&Seek::Before(k.clone()), fp).into());
        }
        out.insert("Resources".into(), Value::Array(resources));
        Value::Object(out)
    }
}

/// The attributes of a SearchRequest (RFC 7644 §3.4.3, RFC 9865's `cursor`).
const SEARCH_ATTRIBUTES: [&str; 9] = ["schemas", "attributes", "excludedAttributes", "filter", "sortBy", "sortOrder", "startIndex", "count", "cursor"];

/// A `filter` as given: one that is empty or blank asks for nothing and is refused (it
/// does not mean "every resource").
fn filter_text(f: &str) -> ScimResult<String> {
    if f.trim().is_empty() {
        return Err(ScimError::invalid_filter("filter is empty; leave it out to list every resource"));
    }
    Ok(f.to_owned())
}

/// An index-paged ListResponse.
pub(super) fn list_response(resources: Vec<Value>, total: u64, start_index: u64) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// `userName eq "bob"` means bob@<initial domain> (see `user::upn_of`).
fn complete_user_names(f: &mut Filter, domain: &str) {
    match f {
        Filter::Compare { field: Field::User(tenantsync_domain::UserAttribute::UserPrincipalName), op, value: FilterValue::Text(v), .. }
            if !v.contains('@') && !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) =>
        {
            v.push('@');
            v.push_str(domain);
        }
        Filter::And(items) | Filter::Or(items) => items.iter_mut().for_each(|i| complete_user_names(i, domain)),
        Filter::Not(inner) => complete_user_names(inner, domain),
        _ => {}
    }
}

fn sort_key(path: &str, r: &dyn Resolver, descending: bool) -> ScimResult<SortKey> {
    let (uri, name, sub) = split_path(path).ok_or_else(|| ScimError::invalid_value(format!("'{path}' is not an attribute path")))?;
    let target = r.resolve(uri.as_deref(), &name, sub.as_deref())?;
    let slot = match target {
        Target::Slot(s) => s,
        Target::Multi(els) => els.first().and_then(|e| e.subs.first()).map(|(_, s)| *s).ok_or_else(|| ScimError::invalid_value("cannot sort by that"))?,
        Target::Links { name, .. } => return Err(ScimError::invalid_value(format!("cannot sort by {name}"))),
        Target::Extension(name) => return Err(ScimError::invalid_value(format!("cannot sort by the extension attribute {name}"))),
    };
    match slot {
        Slot::Field(field, fold) => Ok(SortKey { field, descending, ignore_case: fold }),
        _ => Err(ScimError::invalid_value(format!("cannot sort by '{path}'"))),
    }
}

/// A query that matches nothing (and counts nothing).
pub(super) fn none_query() -> ObjectQuery {
    ObjectQuery { filter: Some(Filter::Const(false)), limit: 0, ..ObjectQuery::default() }
}
