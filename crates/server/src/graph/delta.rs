//! Delta queries, `/v1.0/users/delta` and `/v1.0/groups/delta` (also with `()`, as
//! msgraph-sdk sends them), served from the tenant's change feed.
//!
//! - The first call (no token) takes the feed's head `H`, then pages through every live
//!   object in id order (`@odata.nextLink`, a `$skiptoken` holding `H` and the last id);
//!   the last page carries `@odata.deltaLink` with a `$deltatoken` holding `H`. Writes
//!   made while the snapshot is read come again in the next round.
//! - A call with `$deltatoken=T` takes the head `E` and returns the objects changed in
//!   `(T, E]`, a page at a time (a `$skiptoken` holds the position and `E`), ending with
//!   a `$deltatoken` holding `E`. A live object is shown whole; a soft-deleted one as
//!   `{"id", "@removed": {"reason": "changed"}}` (it can be restored); one that no longer
//!   exists as `"@removed": {"reason": "deleted"}`. Groups carry `members@delta` (members
//!   added, and removed ones with `@removed`). A token holds only feed positions, so the
//!   same `$deltatoken` used twice gives the same changes (and any newer ones).
//! - `$deltatoken=latest` answers no objects and a `$deltatoken` at the head.
//! - Users' `$select` may name `manager`: each user then carries `manager@delta`, its
//!   manager as a one-element list of references (an empty list: no manager), as Graph
//!   tracks the manager reference.
//!
//! A page reads at most `odata.maxpagesize` (the `Prefer` header; 200 by default, at most
//! 999) objects or changes, so a request's cost does not grow with the tenant. A
//! snapshot page also holds at most five times as many member references: a group with
//! more members than that is shown on several pages in a row, each time with the next
//! part of its members (as Graph splits a large group's `members@delta`), and a client
//! must add them up.
use super::caller::Caller;
use super::error::{GraphError, GraphResult};
use super::{GraphState, Shared, odata};
use crate::graph::openapi::{ApiRouter, only};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tenantsync_domain::{ChangeCursor, ChangeOp, ObjectId, ObjectKind};
use tenantsync_store::{Keyset, ListQuery, ObjectQuery, Seek, StoreError};

const DEFAULT_PAGE: u32 = 200;
/// Member references a snapshot page holds per object it may hold.
const MEMBERS_PER_OBJECT: u32 = 5;

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router
        .routes(only(utoipa_axum::routes!(users)))
        .route("/v1.0/users/delta()", super::only(axum::routing::get(users)))
        .routes(only(utoipa_axum::routes!(groups)))
        .route("/v1.0/groups/delta()", super::only(axum::routing::get(groups)))
}

/// Where a delta request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// Reading the snapshot taken at `head`, after `last` (none: from the start); with
    /// `member`, the group `last` goes on with its members after that one.
    Snapshot { head: u64, last: Option<ObjectId>, member: Option<ObjectId> },
    /// Reading changes after `from` up to `end`.
    Changes { from: u64, end: u64 },
    /// A finished round: the next one reads changes after `head`.
    Delta { head: u64 },
}

impl Token {
    fn encode(self, kind: ObjectKind) -> String {
        let k = kind.as_str();
        let text = match self {
            Token::Snapshot { head, last, member: None } => format!("{k}.s.{head}.{}", last.map_or_else(String::new, |id| id.to_string())),
            Token::Snapshot { head, last, member: Some(m) } => format!("{k}.s.{head}.{}.{m}", last.map_or_else(String::new, |id| id.to_string())),
            Token::Changes { from, end } => format!("{k}.c.{from}.{end}"),
            Token::Delta { head } => format!("{k}.d.{head}"),
        };
        URL_SAFE_NO_PAD.encode(text)
    }

    fn decode(token: &str, kind: ObjectKind) -> GraphResult<Token> {
        let bad = || GraphError::bad_request("the delta token is not one this server issued for this resource");
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = text.split('.');
        if parts.next() != Some(kind.as_str()) {
            return Err(bad());
        }
        let num = |p: Option<&str>| p.and_then(|s| s.parse::<u64>().ok()).ok_or_else(bad);
        let token = match parts.next() {
            Some("s") => {
                let head = num(parts.next())?;
                let last = match parts.next() {
                    Some("") => None,
                    Some(id) => Some(id.parse().map_err(|_| bad())?),
                    None => return Err(bad()),
                };
                let member = match parts.next() {
                    Some(m) if last.is_some() => Some(m.parse().map_err(|_| bad())?),
                    Some(_) => return Err(bad()),
                    None => None,
                };
                Token::Snapshot { head, last, member }
            }
            Some("c") => Token::Changes { from: num(parts.next())?, end: num(parts.next())? },
            Some("d") => Token::Delta { head: num(parts.next())? },
            _ => return Err(bad()),
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(token)
    }
}

/// The page size a `Prefer: odata.maxpagesize=N` asks for.
fn page_size(headers: &HeaderMap) -> u32 {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|p| p.trim().strip_prefix("odata.maxpagesize=").and_then(|n| n.trim().parse::<u32>().ok()))
        .next()
        .map_or(DEFAULT_PAGE, |n| n.clamp(1, odata::MAX_TOP))
}

struct Request {
    kind: ObjectKind,
    params: Vec<(String, String)>,
    select: Vec<String>,
    /// Users: `manager` was selected (`manager@delta` is shown).
    manager: bool,
    token: Option<Token>,
    /// `$deltatoken=latest`.
    latest: bool,
    size: u32,
}

fn request(kind: ObjectKind, raw: Option<&str>, headers: &HeaderMap) -> GraphResult<Request> {
    let params = super::params(raw);
    let mut token = None;
    let mut latest = false;
    let mut rest = Vec::new();
    for (k, v) in &params {
        match k.to_ascii_lowercase().as_str() {
            "$deltatoken" if v == "latest" => latest = true,
            "$deltatoken" | "$skiptoken" if token.is_none() => token = Some(Token::decode(v, kind)?),
            "$deltatoken" | "$skiptoken" => return Err(GraphError::bad_request("give one $deltatoken or $skiptoken")),
            "$select" => rest.push((k.clone(), v.clone())),
            o if o.starts_with('$') => return Err(GraphError::bad_request(format!("the query option '{k}' is not supported on delta (only $select)"))),
            _ => {}
        }
    }
    let mut q = odata::parse(&rest, &|_: &str| None)?;
    let mut manager = false;
    if kind == ObjectKind::User && q.select.iter().any(|s| s == "manager") {
        manager = true;
        q.select.retain(|s| s != "manager");
        if q.select.is_empty() {
            q.select.push("id".into());
        }
    }
    match kind {
        ObjectKind::User => super::user_json::check_select(&q.select)?,
        ObjectKind::Group => super::groups::check_select(&q.select)?,
    }
    Ok(Request { kind, params, select: q.select, manager, token, latest, size: page_size(headers) })
}

#[utoipa::path(get, path = "/v1.0/users/delta", tag = "delta", summary = "Users changed since a deltaLink (also /users/delta())", params(crate::graph::openapi::DeltaQuery), responses((status = 200, description = "microsoft.graph.user items, @removed for deletions, then @odata.deltaLink", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn users(State(st): State<Shared>, caller: Caller, headers: HeaderMap, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    serve(&st, &caller, request(ObjectKind::User, raw.as_deref(), &headers)?).await
}

#[utoipa::path(get, path = "/v1.0/groups/delta", tag = "delta", summary = "Groups changed since a deltaLink (also /groups/delta())", params(crate::graph::openapi::DeltaQuery), responses((status = 200, description = "microsoft.graph.group items with members@delta, @removed for deletions, then @odata.deltaLink", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn groups(State(st): State<Shared>, caller: Caller, headers: HeaderMap, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    serve(&st, &caller, request(ObjectKind::Group, raw.as_deref(), &headers)?).await
}

fn path(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::User => "/v1.0/users/delta",
        ObjectKind::Group => "/v1.0/groups/delta",
    }
}

/// The link to go on with: `$skiptoken` (more of this round) or `$deltatoken` (the next
/// round), with the request's other parameters.
fn link(req: &Request, name: &str, token: Token) -> String {
    let mut pairs: Vec<String> = req
        .params
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken") && !k.eq_ignore_ascii_case("$deltatoken"))
        .map(|(k, v)| format!("{k}={}", form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()))
        .collect();
    pairs.push(format!("{name}={}", token.encode(req.kind)));
    format!("{}{}?{}", super::base(), path(req.kind), pairs.join("&"))
}

async fn serve(st: &GraphState, caller: &Caller, req: Request) -> GraphResult<Response> {
    let head = st.store.change_head(caller.tenant).await?.0;
    let (value, next) = match (req.latest, req.token) {
        (true, _) => (Vec::new(), Token::Delta { head }),
        (false, None) => snapshot(st, caller, &req, head, None).await?,
        (false, Some(Token::Snapshot { head, last, member: None })) => snapshot(st, caller, &req, head, last).await?,
        (false, Some(Token::Snapshot { head, last: Some(group), member: Some(member) })) => snapshot_on(st, caller, &req, head, group, member).await?,
        (false, Some(Token::Snapshot { member: Some(_), .. })) => return Err(GraphError::bad_request("the delta token is not one this server issued")),
        (false, Some(Token::Delta { head: from })) => changes(st, caller, &req, from, head).await?,
        (false, Some(Token::Changes { from, end })) => changes(st, caller, &req, from, end).await?,
    };
    let context = match req.kind {
        ObjectKind::User => "users",
        ObjectKind::Group => "groups",
    };
    let mut body = json!({ "@odata.context": super::context(context), "value": value });
    match next {
        Token::Delta { .. } => crate::graph::set(&mut body, "@odata.deltaLink", json!(link(&req, "$deltatoken", next))),
        _ => crate::graph::set(&mut body, "@odata.nextLink", json!(link(&req, "$skiptoken", next))),
    }
    Ok(super::answer(StatusCode::OK, body))
}

/// A user as a delta shows it: with `manager@delta` when `manager` was selected.
fn user(u: &tenantsync_domain::User, req: &Request) -> Value {
    let mut v = super::user_json::render(u, &req.select);
    if req.manager {
        let refs: Vec<Value> = u.attrs.manager.iter().map(|m| member_ref(*m, false)).collect();
        crate::graph::set(&mut v, "manager@delta", Value::Array(refs));
    }
    v
}

/// A page of the snapshot taken at `head`.
async fn snapshot(st: &GraphState, caller: &Caller, req: &Request, head: u64, last: Option<ObjectId>) -> GraphResult<(Vec<Value>, Token)> {
    let seek = last.map_or(Seek::First, |id| Seek::After(Keyset { value: None, id }));
    let q = ObjectQuery { filter: None, sort: None, offset: 0, limit: req.size, seek: Some(seek) };
    match req.kind {
        ObjectKind::User => {
            let page = st.store.query_users(caller.tenant, &q).await?;
            let value = page.items.iter().map(|u| user(u, req)).collect();
            Ok(match page.next {
                Some(k) => (value, Token::Snapshot { head, last: Some(k.id), member: None }),
                None => (value, Token::Delta { head }),
            })
        }
        ObjectKind::Group => {
            let page = st.store.query_groups(caller.tenant, &q).await?;
            let mut value = Vec::with_capacity(page.items.len());
            let mut budget = req.size.saturating_mul(MEMBERS_PER_OBJECT);
            for (i, g) in page.items.iter().enumerate() {
                if budget == 0 && i > 0 {
                    // The member budget is spent: the next page starts with this group.
                    return Ok((value, Token::Snapshot { head, last: page.items.get(i - 1).map(|p| p.id), member: None }));
                }
                let (members, rest) = some_members(st, caller, g.id, None, budget.max(1)).await?;
                budget = budget.saturating_sub(u32::try_from(members.len()).unwrap_or(u32::MAX));
                let mut v = super::groups::render(g, &req.select);
                crate::graph::set(&mut v, "members@delta", Value::Array(members));
                value.push(v);
                if let Some(m) = rest {
                    return Ok((value, Token::Snapshot { head, last: Some(g.id), member: Some(m) }));
                }
            }
            Ok(match page.next {
                Some(k) => (value, Token::Snapshot { head, last: Some(k.id), member: None }),
                None => (value, Token::Delta { head }),
            })
        }
    }
}

/// A snapshot page that goes on with `group`'s members after `member`, then with the
/// groups after it.
async fn snapshot_on(st: &GraphState, caller: &Caller, req: &Request, head: u64, group: ObjectId, member: ObjectId) -> GraphResult<(Vec<Value>, Token)> {
    let g = match st.store.get_group(caller.tenant, group).await {
        Ok(g) if !g.is_deleted() => g,
        // Gone meanwhile: the next round says so.
        Ok(_) | Err(StoreError::NotFound { .. }) => return snapshot(st, caller, req, head, Some(group)).await,
        Err(e) => return Err(e.into()),
    };
    let (members, rest) = some_members(st, caller, group, Some(member), req.size.saturating_mul(MEMBERS_PER_OBJECT).max(1)).await?;
    let mut v = super::groups::render(&g, &req.select);
    crate::graph::set(&mut v, "members@delta", Value::Array(members));
    Ok(match rest {
        Some(m) => (vec![v], Token::Snapshot { head, last: Some(group), member: Some(m) }),
        None => (vec![v], Token::Snapshot { head, last: Some(group), member: None }),
    })
}

fn member_ref(id: ObjectId, removed: bool) -> Value {
    let mut v = json!({ "@odata.type": "#microsoft.graph.user", "id": id });
    if removed {
        crate::graph::set(&mut v, "@removed", json!({ "reason": "deleted" }));
    }
    v
}

/// Up to `limit` of a group's members after `after`, and the last one shown when more follow.
async fn some_members(st: &GraphState, caller: &Caller, group: ObjectId, after: Option<ObjectId>, limit: u32) -> GraphResult<(Vec<Value>, Option<ObjectId>)> {
    let mut out = Vec::new();
    let mut after = after;
    loop {
        let want = limit.saturating_sub(u32::try_from(out.len()).unwrap_or(u32::MAX));
        let page = st.store.list_members(caller.tenant, group, &ListQuery { after, limit: want.min(1000), ..ListQuery::default() }).await?;
        out.extend(page.items.iter().map(|u| member_ref(u.id, false)));
        match page.next {
            Some(n) if out.len() >= limit as usize => return Ok((out, page.items.last().map_or(Some(n), |u| Some(u.id)))),
            Some(n) => after = Some(n),
            None => return Ok((out, None)),
        }
    }
}

/// One object a page of changes names, in the order of its first change.
struct Changed {
    id: ObjectId,
    members: Vec<Value>,
}

/// A page of the changes after `from` up to `end`.
async fn changes(st: &GraphState, caller: &Caller, req: &Request, from: u64, end: u64) -> GraphResult<(Vec<Value>, Token)> {
    if from >= end {
        return Ok((Vec::new(), Token::Delta { head: end.max(from) }));
    }
    let page = st.store.changes_since(caller.tenant, ChangeCursor(from), req.size).await?;
    let mut objects: Vec<Changed> = Vec::new();
    let mut reached = from;
    for c in page.changes.iter().take_while(|c| c.seq <= end) {
        reached = c.seq;
        if c.object_kind != req.kind {
            continue;
        }
        let at = match objects.iter().position(|o| o.id == c.object_id) {
            Some(i) => i,
            None => {
                objects.push(Changed { id: c.object_id, members: Vec::new() });
                objects.len() - 1
            }
        };
        if let (Some(member), Some(o)) = (c.member_id, objects.get_mut(at)) {
            match c.op {
                ChangeOp::MemberAdd => o.members.push(member_ref(member, false)),
                ChangeOp::MemberRemove => o.members.push(member_ref(member, true)),
                _ => {}
            }
        }
    }
    let mut value = Vec::with_capacity(objects.len());
    for o in objects {
        value.push(current(st, caller, req, o).await?);
    }
    let next = if reached >= end || page.changes.is_empty() { Token::Delta { head: end } } else { Token::Changes { from: reached, end } };
    Ok((value, next))
}

/// An object as a delta shows it now: whole, or removed.
async fn current(st: &GraphState, caller: &Caller, req: &Request, o: Changed) -> GraphResult<Value> {
    let removed = |reason: &str| json!({ "id": o.id, "@removed": { "reason": reason } });
    Ok(match req.kind {
        ObjectKind::User => match st.store.get_user(caller.tenant, o.id).await {
            Ok(u) if u.is_deleted() => removed("changed"),
            Ok(u) => user(&u, req),
            Err(StoreError::NotFound { .. }) => removed("deleted"),
            Err(e) => return Err(e.into()),
        },
        ObjectKind::Group => match st.store.get_group(caller.tenant, o.id).await {
            Ok(g) if g.is_deleted() => removed("changed"),
            Ok(g) => {
                let mut v = super::groups::render(&g, &req.select);
                if !o.members.is_empty() {
                    crate::graph::set(&mut v, "members@delta", Value::Array(o.members));
                }
                v
            }
            Err(StoreError::NotFound { .. }) => removed("deleted"),
            Err(e) => return Err(e.into()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_belong_to_their_resource() {
        let id = ObjectId::new();
        for t in [
            Token::Snapshot { head: 5, last: None, member: None },
            Token::Snapshot { head: 5, last: Some(id), member: None },
            Token::Snapshot { head: 5, last: Some(id), member: Some(ObjectId::new()) },
            Token::Changes { from: 3, end: 9 },
            Token::Delta { head: 7 },
        ] {
            assert_eq!(Token::decode(&t.encode(ObjectKind::User), ObjectKind::User).unwrap(), t);
            assert!(Token::decode(&t.encode(ObjectKind::User), ObjectKind::Group).is_err());
        }
        assert!(Token::decode("garbage!", ObjectKind::User).is_err());
        assert!(Token::decode(&URL_SAFE_NO_PAD.encode("user.d.x"), ObjectKind::User).is_err());
    }
}
