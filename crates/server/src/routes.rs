//! Routes and handlers.
use crate::auth::{self, RateLimiter};
use crate::error::{ScimError, ScimResult};
use crate::filter::{self, Resolver, Slot, Target};
use crate::group::{self, GroupPaths};
use crate::json;
use crate::patch::{self, Op, Operation};
use crate::schema::{self, DIRECTORY_EXTENSION_SCHEMA, ENTERPRISE_SCHEMA, GROUP_SCHEMA, LIST_SCHEMA, MAX_RESULTS, USER_SCHEMA};
use crate::user::{self, UserPaths};
use crate::{Config, SCIM_JSON};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use tenantsync_domain::{DomainName, Group, GroupPatch, NewGroup, NewUser, ObjectId, ObjectKind, TenantId, User, Version};
use tenantsync_store::{BatchMode, CompareOp, Field, Filter, FilterValue, ListQuery, ObjectQuery, QueryPage, Seek, SortKey, Store, StoreError, WriteOp};

/// How often a write without `If-Match` is retried after losing a race.
const WRITE_RETRIES: usize = 8;
/// Default page.
const DEFAULT_COUNT: u32 = schema::DEFAULT_PAGE_SIZE;

struct AppState {
    store: Arc<dyn Store>,
    limiter: RateLimiter,
    config: Config,
    /// `{tenant}` path segments already resolved: the tenant's id and initial domain.
    /// Tenants are never deleted and never change their initial domain, so an entry stays
    /// true; only existing tenants are kept, so the map holds at most a few spellings per
    /// tenant (and is emptied should it ever grow past `TENANT_CACHE_MAX`).
    tenants: std::sync::RwLock<std::collections::HashMap<String, (TenantId, String)>>,
}

const TENANT_CACHE_MAX: usize = 10_000;

type St = State<Arc<AppState>>;
type Params = Query<Vec<(String, String)>>;

pub fn router(store: Arc<dyn Store>, config: Config) -> Router {
    let state = Arc::new(AppState {
        store,
        limiter: RateLimiter::new(config.rate_per_second, config.rate_burst),
        config,
        tenants: std::sync::RwLock::new(std::collections::HashMap::new()),
    });
    let not_allowed = || any(|| async { ScimError::method_not_allowed() });
    Router::new()
        .route("/scim/v2/{tenant}/Users", get(list_users).post(create_user).fallback(|| async { ScimError::method_not_allowed() }))
        .route("/scim/v2/{tenant}/Users/.search", axum::routing::post(search_users).fallback(|| async { ScimError::method_not_allowed() }))
        .route(
            "/scim/v2/{tenant}/Users/{id}",
            get(get_user).put(put_user).patch(patch_user).delete(delete_user).fallback(|| async { ScimError::method_not_allowed() }),
        )
        .route("/scim/v2/{tenant}/Groups", get(list_groups).post(create_group).fallback(|| async { ScimError::method_not_allowed() }))
        .route("/scim/v2/{tenant}/Groups/.search", axum::routing::post(search_groups).fallback(|| async { ScimError::method_not_allowed() }))
        .route(
            "/scim/v2/{tenant}/Groups/{id}",
            get(get_group).put(put_group).patch(patch_group).delete(delete_group).fallback(|| async { ScimError::method_not_allowed() }),
        )
        .route("/scim/v2/{tenant}/.search", axum::routing::post(search_root).fallback(|| async { ScimError::method_not_allowed() }))
        .route("/scim/v2/{tenant}/ServiceProviderConfig", get(spc).fallback(|| async { ScimError::method_not_allowed() }))
        .route("/scim/v2/{tenant}/ResourceTypes", get(resource_types).fallback(|| async { ScimError::method_not_allowed() }))
        .route("/scim/v2/{tenant}/ResourceTypes/{id}", get(resource_type).fallback(|| async { ScimError::method_not_allowed() }))
        .route("/scim/v2/{tenant}/Schemas", get(schemas).fallback(|| async { ScimError::method_not_allowed() }))
        .route("/scim/v2/{tenant}/Schemas/{id}", get(schema_by_id).fallback(|| async { ScimError::method_not_allowed() }))
        .route("/scim/v2/{tenant}/Bulk", axum::routing::post(bulk).fallback(|| async { ScimError::method_not_allowed() }))
        .route("/scim/v2/{tenant}/Me", any(|| async { ScimError::not_implemented("/Me") }))
        .route("/scim/v2/{tenant}/Me/{*rest}", not_allowed())
        .fallback(|| async { ScimError::not_found("no such endpoint") })
        // One span per request: method, path and query, status, latency; never headers,
        // so never a token.
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

// ---------- request context ----------

/// An authenticated request on one tenant.
struct Ctx {
    tenant: TenantId,
    /// The tenant's initial domain (bare userNames live there).
    domain: String,
    /// `http://host/scim/v2/{tenant}`, for `location` and `$ref`.
    base: String,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn ctx(st: &AppState, tenant: &str, headers: &HeaderMap) -> ScimResult<Ctx> {
    let (id, secret) = bearer(headers).and_then(auth::parse).ok_or_else(ScimError::unauthorized)?;
    let token = st.store.get_token(id).await?.ok_or_else(ScimError::unauthorized)?;
    let ok = auth::constant_time_eq(&auth::hash_secret(secret), &token.secret_hash) && token.is_usable(jiff::Timestamp::now());
    if !ok {
        return Err(ScimError::unauthorized());
    }
    st.limiter.check(token.id)?;
    // A token only ever sees its own tenant; any other name is "not found", whether or
    // not such a tenant exists.
    let not_found = || ScimError::new(StatusCode::NOT_FOUND, None, "tenant_not_found", "tenant not found");
    let cached = st.tenants.read().ok().and_then(|m| m.get(tenant).cloned());
    let (id, domain) = match cached {
        Some(hit) => hit,
        None => {
            let resolved = match tenant.parse::<TenantId>() {
                Ok(t) if t == token.tenant_id => Some(st.store.get_tenant(t).await?),
                Ok(_) => None,
                Err(_) => match DomainName::parse(tenant) {
                    Ok(d) if d.as_str() == tenant.to_ascii_lowercase() => st.store.find_tenant_by_domain(&d).await?,
                    _ => None,
                },
            };
            let Some(t) = resolved else { return Err(not_found()) };
            let entry = (t.id, t.initial_domain.to_string());
            if let Ok(mut m) = st.tenants.write() {
                if m.len() >= TENANT_CACHE_MAX {
                    m.clear();
                }
                m.insert(tenant.to_owned(), entry.clone());
            }
            entry
        }
    };
    if id != token.tenant_id {
        return Err(not_found());
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let proto = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).unwrap_or("http");
    Ok(Ctx { tenant: token.tenant_id, domain, base: format!("{proto}://{host}/scim/v2/{tenant}") })
}

async fn read_json(st: &AppState, body: Body) -> ScimResult<Value> {
    let limit = st.config.max_body_bytes;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| ScimError::too_large(limit))?;
    serde_json::from_slice(&bytes).map_err(|e| ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")))
}

fn respond(status: StatusCode, body: &Value, version: Option<Version>, location: Option<&str>) -> Response {
    let mut res = (status, body.to_string()).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    if let Some(v) = version
        && let Ok(etag) = HeaderValue::from_str(&v.etag())
    {
        h.insert(header::ETAG, etag);
    }
    if let Some(l) = location
        && let Ok(l) = HeaderValue::from_str(l)
    {
        h.insert(header::LOCATION, l);
    }
    res
}

/// `If-Match`: `None` when absent or `*`; a version that matches nothing when unreadable.
fn if_match(headers: &HeaderMap) -> Option<Version> {
    let v = headers.get(header::IF_MATCH)?.to_str().ok()?.trim();
    if v == "*" {
        return None;
    }
    Some(Version::parse_etag(v).unwrap_or(Version(0)))
}

fn if_none_match(headers: &HeaderMap, v: Version) -> bool {
    headers.get(header::IF_NONE_MATCH).and_then(|h| h.to_str().ok()).is_some_and(|h| h.split(',').any(|e| e.trim() == "*" || Version::parse_etag(e) == Some(v)))
}

fn object_id(id: &str, kind: ObjectKind) -> ScimResult<ObjectId> {
    id.parse().map_err(|_| ScimError::not_found(format!("{kind} {id} not found")))
}

// ---------- list parameters and projection ----------

#[derive(Debug, Default)]
struct ListParams {
    filter: Option<String>,
    /// RFC 9865: `Some("")` asks for the first cursor page.
    cursor: Option<String>,
    /// Whether `startIndex` was given (it cannot be combined with `cursor`).
    start_given: bool,
    start_index: u64,
    count: u32,
    sort_by: Option<String>,
    descending: bool,
    attributes: Vec<String>,
    excluded: Vec<String>,
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

impl ListParams {
    fn from_pairs(pairs: &[(String, String)]) -> ScimResult<ListParams> {
        let get = |k: &str| pairs.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| v.as_str());
        let mut p = ListParams { start_index: 1, count: DEFAULT_COUNT, ..Default::default() };
        p.filter = get("filter").filter(|f| !f.trim().is_empty()).map(str::to_owned);
        p.cursor = get("cursor").map(str::to_owned);
        if let Some(s) = get("startIndex") {
            let n: i64 = s.trim().parse().map_err(|_| ScimError::invalid_value("startIndex must be an integer"))?;
            p.start_index = u64::try_from(n.max(1)).unwrap_or(1);
            p.start_given = true;
        }
        if let Some(s) = get("count") {
            let n: i64 = s.trim().parse().map_err(|_| ScimError::invalid_value("count must be an integer"))?;
            p.count = u32::try_from(n.clamp(0, i64::from(MAX_RESULTS))).unwrap_or(0);
        }
        p.sort_by = get("sortBy").filter(|s| !s.trim().is_empty()).map(str::to_owned);
        p.descending = sort_order(get("sortOrder"))?;
        p.attributes = get("attributes").map(split_list).unwrap_or_default();
        p.excluded = get("excludedAttributes").map(split_list).unwrap_or_default();
        Ok(p)
    }

    fn from_search(body: &Value) -> ScimResult<ListParams> {
        let o = body.as_object().ok_or_else(|| ScimError::invalid_syntax("the body must be a JSON object"))?;
        let mut p = ListParams { start_index: 1, count: DEFAULT_COUNT, ..Default::default() };
        p.filter = json::get(o, "filter").and_then(Value::as_str).filter(|f| !f.trim().is_empty()).map(str::to_owned);
        p.cursor = match json::get(o, "cursor") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(crate::cursor::invalid("cursor must be a string")),
        };
        if let Some(v) = json::get(o, "startIndex").filter(|v| !v.is_null()) {
            let n = v.as_i64().ok_or_else(|| ScimError::invalid_value("startIndex must be an integer"))?;
            p.start_index = u64::try_from(n.max(1)).unwrap_or(1);
            p.start_given = true;
        }
        if let Some(v) = json::get(o, "count").filter(|v| !v.is_null()) {
            let n = v.as_i64().ok_or_else(|| ScimError::invalid_value("count must be an integer"))?;
            p.count = u32::try_from(n.clamp(0, i64::from(MAX_RESULTS))).unwrap_or(0);
        }
        p.sort_by = json::get(o, "sortBy").and_then(Value::as_str).map(str::to_owned);
        p.descending = sort_order(json::get(o, "sortOrder").and_then(Value::as_str))?;
        let list = |k: &str| -> Vec<String> {
            match json::get(o, k) {
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).flat_map(split_list).collect(),
                Some(Value::String(s)) => split_list(s),
                _ => Vec::new(),
            }
        };
        p.attributes = list("attributes");
        p.excluded = list("excludedAttributes");
        Ok(p)
    }

    /// The store query; `domain` completes bare userNames compared with eq/ne/gt/…;
    /// `kind` names the resources listed (cursors of one kind are refused by another).
    fn query(&self, r: &dyn Resolver, domain: &str, kind: &str) -> ScimResult<ObjectQuery> {
        let mut filter = self.filter.as_deref().map(|f| filter::translate(f, r)).transpose()?;
        if let Some(f) = filter.as_mut() {
            complete_user_names(f, domain);
        }
        let sort = self.sort_by.as_deref().map(|s| sort_key(s, r, self.descending)).transpose()?;
        let seek = match &self.cursor {
            None => None,
            Some(_) if self.start_given => return Err(ScimError::invalid_value("startIndex and cursor cannot be used together")),
            Some(c) => Some(crate::cursor::decode(c, self.fingerprint(kind))?),
        };
        Ok(ObjectQuery { filter, sort, offset: self.start_index.saturating_sub(1), limit: self.count, seek })
    }

    /// What a cursor pages through: the resource kind, the filter and the order.
    fn fingerprint(&self, kind: &str) -> u64 {
        let sort = self.sort_by.as_deref().map(str::trim).unwrap_or_default().to_ascii_lowercase();
        crate::cursor::fingerprint(&[kind, self.filter.as_deref().map(str::trim).unwrap_or_default(), &sort, if self.descending { "d" } else { "a" }])
    }

    /// The ListResponse of a page: index paging (`startIndex`, `totalResults`) or cursor
    /// paging (`nextCursor`/`previousCursor`; not counted, so no `totalResults`).
    fn list_response<T>(&self, kind: &str, resources: Vec<Value>, page: &QueryPage<T>) -> Value {
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
            out.insert("nextCursor".into(), crate::cursor::encode(&Seek::After(k.clone()), fp).into());
        }
        if let Some(k) = &page.previous {
            out.insert("previousCursor".into(), crate::cursor::encode(&Seek::Before(k.clone()), fp).into());
        }
        out.insert("Resources".into(), Value::Array(resources));
        Value::Object(out)
    }
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

fn sort_order(v: Option<&str>) -> ScimResult<bool> {
    match v.map(str::trim) {
        None | Some("") => Ok(false),
        Some(s) if s.eq_ignore_ascii_case("ascending") => Ok(false),
        Some(s) if s.eq_ignore_ascii_case("descending") => Ok(true),
        Some(s) => Err(ScimError::invalid_value(format!("sortOrder must be ascending or descending, not '{s}'"))),
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

/// Splits `urn:…:name.sub` into (uri, name, sub).
fn split_path(s: &str) -> Option<(Option<String>, String, Option<String>)> {
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

/// Applies `attributes` / `excludedAttributes` (id and schemas are always returned).
fn project(doc: Value, attributes: &[String], excluded: &[String]) -> Value {
    let Value::Object(mut o) = doc else { return doc };
    if !attributes.is_empty() {
        let mut out = Map::new();
        for k in ["schemas", "id"] {
            if let Some(v) = o.get(k) {
                out.insert(k.to_owned(), v.clone());
            }
        }
        for w in attributes.iter().filter_map(|a| wanted(a)) {
            let src = match &w.ext {
                Some(e) => match o.get(e) {
                    Some(Value::Object(m)) => m,
                    _ => continue,
                },
                None => &o,
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
        o = out;
    }
    for w in excluded.iter().filter_map(|a| wanted(a)) {
        let target = match &w.ext {
            Some(e) => match (&w.name, o.get_mut(e)) {
                (None, _) => {
                    o.remove(e);
                    continue;
                }
                (Some(_), Some(Value::Object(m))) => m,
                _ => continue,
            },
            None => &mut o,
        };
        if let Some(n) = &w.name {
            if n.eq_ignore_ascii_case("id") || n.eq_ignore_ascii_case("schemas") {
                continue;
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
    }
    Value::Object(o)
}

/// Whether the attribute `name` (members, groups: read separately) is to be returned.
fn wants(name: &str, attributes: &[String], excluded: &[String]) -> bool {
    let is = |a: &String| wanted(a).and_then(|w| w.name).is_some_and(|n| n.eq_ignore_ascii_case(name));
    if excluded.iter().any(is) {
        return false;
    }
    attributes.is_empty() || attributes.iter().any(is)
}

/// The documents of users, each with its `groups` (read for all of them at once, unless
/// the request leaves `groups` out), projected.
async fn users_json(st: &AppState, c: &Ctx, users: &[User], attributes: &[String], excluded: &[String]) -> ScimResult<Vec<Value>> {
    let groups = if wants("groups", attributes, excluded) && !users.is_empty() {
        st.store.user_groups(c.tenant, &users.iter().map(|u| u.id).collect::<Vec<_>>()).await?
    } else {
        Vec::new()
    };
    let mut by_user: std::collections::HashMap<ObjectId, Vec<&tenantsync_store::UserGroup>> = std::collections::HashMap::new();
    for g in &groups {
        by_user.entry(g.user).or_default().push(g);
    }
    Ok(users
        .iter()
        .map(|u| {
            let mut doc = user::to_json(u, &c.base, &c.domain);
            user::add_groups(&mut doc, by_user.get(&u.id).map(Vec::as_slice).unwrap_or_default(), &c.base);
            project(doc, attributes, excluded)
        })
        .collect())
}

async fn user_json(st: &AppState, c: &Ctx, u: &User, attributes: &[String], excluded: &[String]) -> ScimResult<Value> {
    let mut docs = users_json(st, c, std::slice::from_ref(u), attributes, excluded).await?;
    docs.pop().ok_or_else(ScimError::internal)
}

fn list_response(resources: Vec<Value>, total: u64, start_index: u64) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

// ---------- discovery ----------

async fn spc(State(st): St, Path(tenant): Path<String>, headers: HeaderMap) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    let spc = schema::service_provider_config(&c.base, true, crate::bulk::MAX_OPERATIONS, st.config.max_body_bytes);
    Ok(respond(StatusCode::OK, &spc, None, None))
}

async fn resource_types(State(st): St, Path(tenant): Path<String>, headers: HeaderMap) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    let all = schema::resource_types(&c.base);
    let n = all.len() as u64;
    Ok(respond(StatusCode::OK, &list_response(all, n, 1), None, None))
}

async fn resource_type(State(st): St, Path((tenant, id)): Path<(String, String)>, headers: HeaderMap) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    schema::resource_types(&c.base)
        .into_iter()
        .find(|r| r["id"].as_str() == Some(id.as_str()))
        .map(|r| respond(StatusCode::OK, &r, None, None))
        .ok_or_else(|| ScimError::not_found(format!("resource type {id} not found")))
}

async fn schemas(State(st): St, Path(tenant): Path<String>, headers: HeaderMap) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    let all = schema::schemas(&c.base);
    let n = all.len() as u64;
    Ok(respond(StatusCode::OK, &list_response(all, n, 1), None, None))
}

async fn schema_by_id(State(st): St, Path((tenant, id)): Path<(String, String)>, headers: HeaderMap) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    schema::schemas(&c.base)
        .into_iter()
        .find(|r| r["id"].as_str() == Some(id.as_str()))
        .map(|r| respond(StatusCode::OK, &r, None, None))
        .ok_or_else(|| ScimError::not_found(format!("schema {id} not found")))
}

// ---------- users ----------

async fn live_user(st: &AppState, t: TenantId, id: ObjectId) -> ScimResult<User> {
    let u = st.store.get_user(t, id).await?;
    if u.is_deleted() {
        return Err(ScimError::not_found(format!("user {id} not found")));
    }
    Ok(u)
}

async fn query_users(st: &AppState, c: &Ctx, p: &ListParams) -> ScimResult<Response> {
    let q = p.query(&UserPaths, &c.domain, "Users")?;
    let page = st.store.query_users(c.tenant, &q).await?;
    let resources = users_json(st, c, &page.items, &p.attributes, &p.excluded).await?;
    Ok(respond(StatusCode::OK, &p.list_response("Users", resources, &page), None, None))
}

async fn list_users(State(st): St, Path(tenant): Path<String>, Query(q): Params, headers: HeaderMap) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    query_users(&st, &c, &ListParams::from_pairs(&q)?).await
}

async fn search_users(State(st): St, Path(tenant): Path<String>, headers: HeaderMap, body: Body) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    let p = ListParams::from_search(&read_json(&st, body).await?)?;
    query_users(&st, &c, &p).await
}

async fn get_user(State(st): St, Path((tenant, id)): Path<(String, String)>, Query(q): Params, headers: HeaderMap) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    let u = live_user(&st, c.tenant, object_id(&id, ObjectKind::User)?).await?;
    if if_none_match(&headers, u.version) {
        return Ok(not_modified(u.version));
    }
    let p = ListParams::from_pairs(&q)?;
    Ok(respond(StatusCode::OK, &user_json(&st, &c, &u, &p.attributes, &p.excluded).await?, Some(u.version), None))
}

fn not_modified(v: Version) -> Response {
    let mut res = StatusCode::NOT_MODIFIED.into_response();
    if let Ok(etag) = HeaderValue::from_str(&v.etag()) {
        res.headers_mut().insert(header::ETAG, etag);
    }
    res
}

async fn create_user(State(st): St, Path(tenant): Path<String>, Query(q): Params, headers: HeaderMap, body: Body) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    let doc = read_json(&st, body).await?;
    let d = user::from_json(&doc, &c.domain)?;
    let new = NewUser { id: ObjectId::new(), attrs: user::new_attrs(&d)?, manager: d.manager.clone(), anchor: None };
    let u = st.store.create_user(c.tenant, new).await?;
    let p = ListParams::from_pairs(&q)?;
    // A new user is in no group yet.
    let body = project(user::to_json(&u, &c.base, &c.domain), &p.attributes, &p.excluded);
    let location = format!("{}/Users/{}", c.base, u.id);
    Ok(respond(StatusCode::CREATED, &body, Some(u.version), Some(&location)))
}

/// Read, compute, write with the version read; retried when another write won the race
/// (unless the client pinned a version with If-Match).
async fn update_user_with(st: &AppState, c: &Ctx, id: ObjectId, pinned: Option<Version>, compute: impl Fn(&User) -> ScimResult<Value>) -> ScimResult<User> {
    for _ in 0..WRITE_RETRIES {
        let cur = live_user(st, c.tenant, id).await?;
        if let Some(v) = pinned
            && v != cur.version
        {
            return Err(ScimError::precondition_failed(format!("user {id} has version {}, not {v}", cur.version)));
        }
        let desired = user::from_json(&compute(&cur)?, &c.domain)?;
        let patch = user::diff(&cur, &desired)?;
        if patch.is_empty() {
            return Ok(cur);
        }
        match st.store.update_user(c.tenant, id, patch, Some(cur.version)).await {
            Err(StoreError::VersionMismatch { .. }) if pinned.is_none() => continue,
            other => return Ok(other?),
        }
    }
    Err(ScimError::new(StatusCode::CONFLICT, None, "write_contention", "the resource kept changing; retry"))
}

async fn put_user(State(st): St, Path((tenant, id)): Path<(String, String)>, Query(q): Params, headers: HeaderMap, body: Body) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    let id = object_id(&id, ObjectKind::User)?;
    let doc = read_json(&st, body).await?;
    let u = update_user_with(&st, &c, id, if_match(&headers), |_| Ok(doc.clone())).await?;
    let p = ListParams::from_pairs(&q)?;
    Ok(respond(StatusCode::OK, &user_json(&st, &c, &u, &p.attributes, &p.excluded).await?, Some(u.version), None))
}

async fn patch_user(State(st): St, Path((tenant, id)): Path<(String, String)>, Query(q): Params, headers: HeaderMap, body: Body) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    let id = object_id(&id, ObjectKind::User)?;
    let ops = patch::operations(&read_json(&st, body).await?)?;
    if ops.iter().any(|op| user::patches_groups(op.path.as_deref(), op.value.as_ref())) {
        return Err(ScimError::bad_request("mutability", "read_only_attribute", "groups is read-only: change memberships through /Groups"));
    }
    let base = c.base.clone();
    let u = update_user_with(&st, &c, id, if_match(&headers), |cur| {
        let Value::Object(mut doc) = user::to_json(cur, &base, &c.domain) else { return Err(ScimError::internal()) };
        for op in &ops {
            patch::apply(&mut doc, op)?;
        }
        // The document held every extension attribute; what the operations removed goes.
        if json::get(&doc, DIRECTORY_EXTENSION_SCHEMA).is_none_or(Value::is_null) {
            json::set(&mut doc, DIRECTORY_EXTENSION_SCHEMA, Value::Object(Map::new()));
        }
        Ok(Value::Object(doc))
    })
    .await?;
    let p = ListParams::from_pairs(&q)?;
    Ok(respond(StatusCode::OK, &user_json(&st, &c, &u, &p.attributes, &p.excluded).await?, Some(u.version), None))
}

async fn delete_user(State(st): St, Path((tenant, id)): Path<(String, String)>, headers: HeaderMap) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    let id = object_id(&id, ObjectKind::User)?;
    st.store.apply_one(c.tenant, WriteOp::SoftDeleteUser { id, if_match: if_match(&headers) }).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------- groups ----------

async fn live_group(st: &AppState, t: TenantId, id: ObjectId) -> ScimResult<Group> {
    let g = st.store.get_group(t, id).await?;
    if g.is_deleted() {
        return Err(ScimError::not_found(format!("group {id} not found")));
    }
    Ok(g)
}

async fn members_of(st: &AppState, t: TenantId, g: ObjectId) -> ScimResult<Vec<User>> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = st.store.list_members(t, g, &ListQuery { after, limit: 1000, ..ListQuery::default() }).await?;
        out.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(out),
        }
    }
}

async fn group_json(st: &AppState, c: &Ctx, g: &Group, attributes: &[String], excluded: &[String]) -> ScimResult<Value> {
    let members = if wants("members", attributes, excluded) { Some(members_of(st, c.tenant, g.id).await?) } else { None };
    Ok(project(group::to_json(g, members.as_deref(), &c.base), attributes, excluded))
}

async fn query_groups(st: &AppState, c: &Ctx, p: &ListParams) -> ScimResult<Response> {
    let q = p.query(&GroupPaths, &c.domain, "Groups")?;
    let page = st.store.query_groups(c.tenant, &q).await?;
    let mut resources = Vec::with_capacity(page.items.len());
    for g in &page.items {
        resources.push(group_json(st, c, g, &p.attributes, &p.excluded).await?);
    }
    Ok(respond(StatusCode::OK, &p.list_response("Groups", resources, &page), None, None))
}

async fn list_groups(State(st): St, Path(tenant): Path<String>, Query(q): Params, headers: HeaderMap) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    query_groups(&st, &c, &ListParams::from_pairs(&q)?).await
}

async fn search_groups(State(st): St, Path(tenant): Path<String>, headers: HeaderMap, body: Body) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    let p = ListParams::from_search(&read_json(&st, body).await?)?;
    query_groups(&st, &c, &p).await
}

async fn get_group(State(st): St, Path((tenant, id)): Path<(String, String)>, Query(q): Params, headers: HeaderMap) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    let g = live_group(&st, c.tenant, object_id(&id, ObjectKind::Group)?).await?;
    if if_none_match(&headers, g.version) {
        return Ok(not_modified(g.version));
    }
    let p = ListParams::from_pairs(&q)?;
    Ok(respond(StatusCode::OK, &group_json(&st, &c, &g, &p.attributes, &p.excluded).await?, Some(g.version), None))
}

/// Member references name users of this tenant; anything else is a bad value, not a
/// missing group.
fn member_error(e: StoreError) -> ScimError {
    match e {
        StoreError::NotFound { kind: ObjectKind::User, id } | StoreError::ObjectDeleted { kind: ObjectKind::User, id } => {
            ScimError::invalid_value(format!("member {id} is not a user of this tenant"))
        }
        other => other.into(),
    }
}

async fn create_group(State(st): St, Path(tenant): Path<String>, Query(q): Params, headers: HeaderMap, body: Body) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    let d = group::from_json(&read_json(&st, body).await?)?;
    let new = NewGroup { id: ObjectId::new(), attrs: group::new_attrs(&d)?, anchor: None };
    let gid = new.id;
    let mut ops = vec![WriteOp::CreateGroup(new)];
    ops.extend(d.members.iter().flatten().map(|u| WriteOp::AddMember { group: gid, user: *u, if_match: None }));
    st.store.apply(c.tenant, ops, BatchMode::Atomic).await.map_err(member_error)?;
    let g = st.store.get_group(c.tenant, gid).await?;
    let p = ListParams::from_pairs(&q)?;
    let body = group_json(&st, &c, &g, &p.attributes, &p.excluded).await?;
    let location = format!("{}/Groups/{}", c.base, g.id);
    Ok(respond(StatusCode::CREATED, &body, Some(g.version), Some(&location)))
}

async fn is_member(st: &AppState, t: TenantId, g: ObjectId, u: ObjectId) -> ScimResult<bool> {
    let f = Filter::And(vec![Filter::exact(Field::Id, CompareOp::Eq, FilterValue::Id(g)), Filter::exact(Field::Member, CompareOp::Eq, FilterValue::Id(u))]);
    let page = st.store.query_groups(t, &ObjectQuery { filter: Some(f), limit: 0, ..ObjectQuery::default() }).await?;
    Ok(page.total.unwrap_or(0) > 0)
}

/// Member changes of one request, in order.
#[derive(Debug, Default)]
struct MemberDelta {
    add: Vec<ObjectId>,
    remove: Vec<ObjectId>,
    /// The full member list, when an operation needed it (replace, remove all).
    current: Option<Vec<ObjectId>>,
}

impl MemberDelta {
    fn add(&mut self, ids: &[ObjectId]) {
        for id in ids {
            self.remove.retain(|x| x != id);
            if !self.add.contains(id) {
                self.add.push(*id);
            }
        }
    }

    fn remove(&mut self, ids: &[ObjectId]) {
        for id in ids {
            self.add.retain(|x| x != id);
            if !self.remove.contains(id) {
                self.remove.push(*id);
            }
        }
    }

    async fn current(&mut self, st: &AppState, t: TenantId, g: ObjectId) -> ScimResult<Vec<ObjectId>> {
        if self.current.is_none() {
            self.current = Some(members_of(st, t, g).await?.into_iter().map(|u| u.id).collect());
        }
        Ok(self.current.clone().unwrap_or_default())
    }

    async fn replace(&mut self, st: &AppState, t: TenantId, g: ObjectId, ids: &[ObjectId]) -> ScimResult<()> {
        let cur = self.current(st, t, g).await?;
        self.add.clear();
        self.remove = cur.into_iter().filter(|x| !ids.contains(x)).collect();
        self.add(ids);
        Ok(())
    }

    /// The write operations, skipping adds of members and removes of non-members.
    async fn ops(&self, st: &AppState, t: TenantId, g: ObjectId) -> ScimResult<Vec<WriteOp>> {
        let mut ops = Vec::new();
        for u in &self.remove {
            let member = match &self.current {
                Some(cur) => cur.contains(u),
                None => is_member(st, t, g, *u).await?,
            };
            if member {
                ops.push(WriteOp::RemoveMember { group: g, user: *u, if_match: None });
            }
        }
        for u in &self.add {
            let member = match &self.current {
                Some(cur) => cur.contains(u),
                None => is_member(st, t, g, *u).await?,
            };
            if !member {
                ops.push(WriteOp::AddMember { group: g, user: *u, if_match: None });
            }
        }
        Ok(ops)
    }
}

/// `members[value eq "a" or value eq "b"]` → [a, b].
fn member_filter_ids(vf: &scim_v2::filter::ValFilter, out: &mut Vec<ObjectId>) -> ScimResult<()> {
    use scim_v2::filter::{AttrExp, CompValue, CompareOp as Op2, ValFilter};
    match vf {
        ValFilter::Attr(AttrExp::Comparison(p, Op2::Eq, CompValue::Str(s))) if p.name.eq_ignore_ascii_case("value") => {
            // An id that is not one names no member: nothing to remove.
            if let Ok(id) = s.parse() {
                out.push(id);
            }
            Ok(())
        }
        ValFilter::Or(items) => items.as_slice().iter().try_for_each(|i| member_filter_ids(i, out)),
        _ => Err(ScimError::invalid_filter("members are selected with value eq \"<id>\" (joined by or)")),
    }
}

fn is_members_path(path: &str) -> bool {
    let p = path.trim();
    let p = p.strip_prefix(GROUP_SCHEMA).and_then(|r| r.strip_prefix(':')).unwrap_or(p);
    p.get(..7).is_some_and(|h| h.eq_ignore_ascii_case("members")) && matches!(p.as_bytes().get(7), None | Some(b'[') | Some(b'.'))
}

async fn member_op(st: &AppState, t: TenantId, g: ObjectId, op: &Operation, delta: &mut MemberDelta) -> ScimResult<()> {
    let path = op.path.as_deref().unwrap_or("members");
    let parsed = std::str::FromStr::from_str(path).map_err(|e| ScimError::invalid_path(format!("cannot parse path '{path}': {e}")))?;
    let value_ids = || op.value.as_ref().map(group::member_ids).transpose();
    match (op.op, parsed) {
        (Op::Remove, scim_v2::filter::PatchPath::Value(vp)) => {
            let mut ids = Vec::new();
            member_filter_ids(&vp.filter, &mut ids)?;
            delta.remove(&ids);
        }
        (Op::Remove, scim_v2::filter::PatchPath::Attr(_)) => match value_ids()? {
            Some(ids) => delta.remove(&ids),
            None => {
                let cur = delta.current(st, t, g).await?;
                delta.remove(&cur);
            }
        },
        (Op::Add, _) => delta.add(&value_ids()?.unwrap_or_default()),
        (Op::Replace, scim_v2::filter::PatchPath::Attr(_)) => delta.replace(st, t, g, &value_ids()?.unwrap_or_default()).await?,
        (Op::Replace, scim_v2::filter::PatchPath::Value(_)) => {
            return Err(ScimError::invalid_path("members cannot be replaced through a filter; remove and add instead"));
        }
    }
    Ok(())
}

/// Writes a group's new attributes and member changes in one atomic batch guarded by the
/// version read; retried after a lost race unless the client pinned a version.
async fn update_group_with(st: &AppState, c: &Ctx, id: ObjectId, pinned: Option<Version>, body: &Value, is_patch: bool) -> ScimResult<Group> {
    for _ in 0..WRITE_RETRIES {
        let cur = live_group(st, c.tenant, id).await?;
        if let Some(v) = pinned
            && v != cur.version
        {
            return Err(ScimError::precondition_failed(format!("group {id} has version {}, not {v}", cur.version)));
        }
        let mut delta = MemberDelta::default();
        let patch: GroupPatch = if is_patch {
            let Value::Object(mut doc) = group::to_json(&cur, None, &c.base) else { return Err(ScimError::internal()) };
            for op in patch::operations(body)? {
                match (&op.path, &op.value) {
                    (Some(p), _) if is_members_path(p) => member_op(st, c.tenant, id, &op, &mut delta).await?,
                    (None, Some(Value::Object(v))) if json::get(v, "members").is_some() => {
                        let mut rest = v.clone();
                        let members = json::remove(&mut rest, "members");
                        let mop = Operation { op: op.op, path: Some("members".into()), value: members };
                        member_op(st, c.tenant, id, &mop, &mut delta).await?;
                        patch::apply(&mut doc, &Operation { op: op.op, path: None, value: Some(Value::Object(rest)) })?;
                    }
                    _ => patch::apply(&mut doc, &op)?,
                }
            }
            group::diff(&cur, &group::from_json(&Value::Object(doc))?)?
        } else {
            let d = group::from_json(body)?;
            if let Some(ids) = &d.members {
                delta.replace(st, c.tenant, id, ids).await?;
            }
            group::diff(&cur, &d)?
        };
        let mut ops = vec![WriteOp::UpdateGroup { id, patch, if_match: Some(cur.version) }];
        ops.extend(delta.ops(st, c.tenant, id).await?);
        match st.store.apply(c.tenant, ops, BatchMode::Atomic).await {
            Err(StoreError::VersionMismatch { .. }) if pinned.is_none() => continue,
            Err(e) => return Err(member_error(e)),
            Ok(_) => return Ok(st.store.get_group(c.tenant, id).await?),
        }
    }
    Err(ScimError::new(StatusCode::CONFLICT, None, "write_contention", "the resource kept changing; retry"))
}

async fn put_group(State(st): St, Path((tenant, id)): Path<(String, String)>, Query(q): Params, headers: HeaderMap, body: Body) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    let id = object_id(&id, ObjectKind::Group)?;
    let doc = read_json(&st, body).await?;
    let g = update_group_with(&st, &c, id, if_match(&headers), &doc, false).await?;
    let p = ListParams::from_pairs(&q)?;
    Ok(respond(StatusCode::OK, &group_json(&st, &c, &g, &p.attributes, &p.excluded).await?, Some(g.version), None))
}

async fn patch_group(State(st): St, Path((tenant, id)): Path<(String, String)>, Query(q): Params, headers: HeaderMap, body: Body) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    let id = object_id(&id, ObjectKind::Group)?;
    let doc = read_json(&st, body).await?;
    let g = update_group_with(&st, &c, id, if_match(&headers), &doc, true).await?;
    let p = ListParams::from_pairs(&q)?;
    Ok(respond(StatusCode::OK, &group_json(&st, &c, &g, &p.attributes, &p.excluded).await?, Some(g.version), None))
}

async fn delete_group(State(st): St, Path((tenant, id)): Path<(String, String)>, headers: HeaderMap) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    let id = object_id(&id, ObjectKind::Group)?;
    st.store.apply_one(c.tenant, WriteOp::SoftDeleteGroup { id, if_match: if_match(&headers) }).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------- bulk ----------

async fn bulk(State(st): St, Path(tenant): Path<String>, headers: HeaderMap, body: Body) -> ScimResult<Response> {
    ctx(&st, &tenant, &headers).await?;
    let doc = read_json(&st, body).await?;
    // The operations run through the same routes, without a second rate limit: the bulk
    // request itself was counted.
    let app = router(st.store.clone(), Config { rate_per_second: 0, ..st.config.clone() });
    let out = crate::bulk::run(app, &format!("/scim/v2/{tenant}"), &headers, &doc, st.config.max_body_bytes).await?;
    Ok(respond(StatusCode::OK, &out, None, None))
}

// ---------- root search ----------

/// `POST /.search`: users, then groups, as one list.
async fn search_root(State(st): St, Path(tenant): Path<String>, headers: HeaderMap, body: Body) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers).await?;
    let p = ListParams::from_search(&read_json(&st, body).await?)?;
    if p.cursor.is_some() {
        return Err(ScimError::invalid_value("cursor paging is offered on /Users and /Groups, not across resource types"));
    }
    // A filter naming attributes of one type only matches nothing of the other.
    let uq = p.query(&UserPaths, &c.domain, "Users");
    let gq = p.query(&GroupPaths, &c.domain, "Groups");
    let (uq, gq) = match (uq, gq) {
        (Err(e), Err(_)) => return Err(e),
        (u, g) => (u.unwrap_or_else(|_| none_query()), g.unwrap_or_else(|_| none_query())),
    };
    let users = st.store.query_users(c.tenant, &uq).await?;
    let users_total = users.total.unwrap_or(0);
    let skip_groups = p.start_index.saturating_sub(1).saturating_sub(users_total);
    let room = p.count.saturating_sub(u32::try_from(users.items.len()).unwrap_or(u32::MAX));
    let groups = st.store.query_groups(c.tenant, &ObjectQuery { offset: skip_groups, limit: room, ..gq }).await?;
    let mut resources = users_json(&st, &c, &users.items, &p.attributes, &p.excluded).await?;
    for g in &groups.items {
        resources.push(group_json(&st, &c, g, &p.attributes, &p.excluded).await?);
    }
    Ok(respond(StatusCode::OK, &list_response(resources, users_total + groups.total.unwrap_or(0), p.start_index), None, None))
}

fn none_query() -> ObjectQuery {
    ObjectQuery { filter: Some(Filter::Const(false)), limit: 0, ..ObjectQuery::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_keeps_requested_and_always_returned() {
        let doc = json!({
            "schemas": [USER_SCHEMA], "id": "1", "userName": "a@b.example", "displayName": "A",
            "name": { "givenName": "A", "familyName": "B" },
            "emails": [{ "value": "a@b.example", "type": "work" }],
            ENTERPRISE_SCHEMA: { "department": "X", "organization": "Y" },
        });
        let out = project(doc.clone(), &["username".into(), "name.givenName".into(), format!("{ENTERPRISE_SCHEMA}:department")], &[]);
        assert_eq!(
            out,
            json!({ "schemas": [USER_SCHEMA], "id": "1", "userName": "a@b.example", "name": { "givenName": "A" }, ENTERPRISE_SCHEMA: { "department": "X" } })
        );
        let out = project(doc, &[], &["emails.type".into(), "displayName".into(), "id".into(), ENTERPRISE_SCHEMA.into()]);
        assert_eq!(out["emails"], json!([{ "value": "a@b.example" }]));
        assert!(out.get("displayName").is_none() && out.get(ENTERPRISE_SCHEMA).is_none());
        assert_eq!(out["id"], "1");
    }

    #[test]
    fn members_paths() {
        assert!(is_members_path("members"));
        assert!(is_members_path("Members[value eq \"x\"]"));
        assert!(is_members_path("urn:ietf:params:scim:schemas:core:2.0:Group:members"));
        assert!(!is_members_path("membersX"));
        assert!(!is_members_path("displayName"));
    }
}
