//! `/v1.0/users`: list (`$filter` on the indexed properties, `$select`, `$top`,
//! `$orderby`, `$count` with `ConsistencyLevel: eventual`, keyset `$skiptoken` pages),
//! create, get (by id or userPrincipalName), update, delete (soft, restorable from the
//! CLI), and `memberOf`. Every write is one `apply_audited`: the write and its audit
//! record commit together.
use super::audit::Entry;
use super::caller::Caller;
use super::error::{GraphCode, GraphError, GraphResult};
use super::{GraphState, Shared, odata, page, user_json};
use crate::graph::openapi::{ApiRouter, only};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use tenantsync_domain::{NewUser, ObjectId, Upn, User, UserAttribute as U, UserPatch};
use tenantsync_store::{AuditCategory, AuditOperation, CompareOp, Field, Filter, ObjectQuery, StoreError, WriteOp};

/// How often a write is retried after another write changed the user meanwhile.
const WRITE_RETRIES: usize = 8;

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router
        .routes(only(utoipa_axum::routes!(list, create)))
        .routes(only(utoipa_axum::routes!(read, update, remove)))
        .routes(only(utoipa_axum::routes!(member_of)))
}

/// What `$filter` and `$orderby` may name on users: the properties the store indexes.
pub fn properties(name: &str) -> Option<odata::Property> {
    let p = |field, kind, sortable| Some(odata::Property { field, kind, sortable });
    match name {
        "id" => p(Field::Id, odata::Kind::Id, true),
        "userPrincipalName" => p(Field::User(U::UserPrincipalName), odata::Kind::Text, true),
        "displayName" => p(Field::User(U::DisplayName), odata::Kind::Text, true),
        "mail" => p(Field::User(U::Mail), odata::Kind::Text, false),
        "externalId" => p(Field::User(U::ExternalId), odata::Kind::ExactText, false),
        _ => None,
    }
}

/// Whether a filter is one of Graph's advanced queries (`ne`, `not`): allowed with
/// `ConsistencyLevel: eventual`, as in Graph. `endsWith` is refused outright: no index
/// serves it, so it would walk the tenant.
pub fn advanced(f: &Filter) -> GraphResult<bool> {
    Ok(match f {
        Filter::Compare { op: CompareOp::Ew, .. } => {
            return Err(GraphError::new(GraphCode::UnsupportedQuery, "$filter: endsWith is not supported (no index serves it)"));
        }
        Filter::Compare { op: CompareOp::Ne, .. } | Filter::Not(_) => true,
        Filter::And(v) | Filter::Or(v) => {
            let mut any = false;
            for x in v {
                any |= advanced(x)?;
            }
            any
        }
        _ => false,
    })
}

/// A collection request's options, checked: the filter, the order, the page.
pub struct Listing {
    pub params: Vec<(String, String)>,
    pub options: odata::QueryOptions,
    pub fingerprint: Vec<String>,
}

impl Listing {
    pub fn parse(resource: &str, raw: Option<&str>, headers: &HeaderMap, props: &dyn odata::Properties) -> GraphResult<Listing> {
        let params = super::params(raw);
        let options = odata::parse(&params, props)?;
        let eventual = super::eventual(headers);
        if options.count && !eventual {
            return Err(GraphError::bad_request("$count needs the header 'ConsistencyLevel: eventual' (an advanced query)"));
        }
        if let Some(f) = &options.filter
            && advanced(f)?
            && !eventual
        {
            return Err(GraphError::new(
                GraphCode::UnsupportedQuery,
                "$filter with 'ne' or 'not' needs the header 'ConsistencyLevel: eventual' (an advanced query)",
            ));
        }
        let text = |k: &str| params.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map_or(String::new(), |(_, v)| v.clone());
        let fingerprint = vec![resource.to_owned(), text("$filter"), text("$orderby")];
        Ok(Listing { params, options, fingerprint })
    }

    pub fn query(&self) -> GraphResult<ObjectQuery> {
        let fp: Vec<&str> = self.fingerprint.iter().map(String::as_str).collect();
        Ok(ObjectQuery {
            filter: self.options.filter.clone(),
            sort: self.options.orderby,
            offset: 0,
            limit: self.options.top.unwrap_or(page::DEFAULT_TOP),
            seek: Some(page::seek(self.options.skiptoken.as_deref(), &fp)?),
        })
    }

    /// The count of every match, when `$count=true` asked for it.
    pub fn count_query(&self) -> Option<ObjectQuery> {
        self.options.count.then(|| ObjectQuery { filter: self.options.filter.clone(), sort: None, offset: 0, limit: 0, seek: None })
    }

    /// The collection answer: `value`, `@odata.count` and the next link.
    pub fn answer(&self, path: &str, context: &str, value: Vec<Value>, total: Option<u64>, next: Option<tenantsync_store::Keyset>) -> Response {
        let mut body = json!({ "@odata.context": super::context(context) });
        if let Some(n) = total {
            crate::graph::set(&mut body, "@odata.count", json!(n));
        }
        crate::graph::set(&mut body, "value", Value::Array(value));
        if let Some(k) = next {
            let fp: Vec<&str> = self.fingerprint.iter().map(String::as_str).collect();
            let token = page::skiptoken(&tenantsync_store::Seek::After(k), &fp);
            crate::graph::set(&mut body, "@odata.nextLink", json!(page::next_link(&super::base(), path, &self.params, &token)));
        }
        super::answer(StatusCode::OK, body)
    }
}

#[utoipa::path(get, path = "/v1.0/users", tag = "users", summary = "List users", params(crate::graph::openapi::ODataQuery, ("ConsistencyLevel" = Option<String>, Header, description = "eventual: allows $count and the advanced queries (ne, not)")), responses((status = 200, description = "a collection of microsoft.graph.user", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn list(State(st): State<Shared>, caller: Caller, headers: HeaderMap, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    let listing = Listing::parse("users", raw.as_deref(), &headers, &properties)?;
    user_json::check_select(&listing.options.select)?;
    let found = st.store.query_users(caller.tenant, &listing.query()?).await?;
    let total = match listing.count_query() {
        Some(q) => st.store.query_users(caller.tenant, &q).await?.total,
        None => None,
    };
    let value = found.items.iter().map(|u| user_json::render(u, &listing.options.select)).collect();
    Ok(listing.answer("/v1.0/users", "users", value, total, found.next))
}

/// A live user of the caller's tenant by id or userPrincipalName; anything else is 404.
pub async fn find(st: &GraphState, caller: &Caller, key: &str) -> GraphResult<User> {
    let missing = || GraphError::not_found(format!("user '{key}' does not exist"));
    let user = match key.parse::<ObjectId>() {
        Ok(id) => match st.store.get_user(caller.tenant, id).await {
            Ok(u) => u,
            Err(StoreError::NotFound { .. }) => return Err(missing()),
            Err(e) => return Err(e.into()),
        },
        Err(_) => {
            let upn = Upn::parse(key).map_err(|_| missing())?;
            st.store.find_user_by_upn(caller.tenant, &upn).await?.ok_or_else(missing)?
        }
    };
    if user.is_deleted() { Err(missing()) } else { Ok(user) }
}

fn select_of(raw: Option<&str>) -> GraphResult<Vec<String>> {
    let params = super::params(raw);
    let q = odata::parse(&params, &|_: &str| None)?;
    user_json::check_select(&q.select)?;
    Ok(q.select)
}

#[utoipa::path(get, path = "/v1.0/users/{id}", tag = "users", summary = "Get a user", params(("id" = String, Path, description = "the user's id or userPrincipalName")), responses((status = 200, description = "microsoft.graph.user", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn read(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    let select = select_of(raw.as_deref())?;
    let u = find(&st, &caller, &id).await?;
    let mut body = user_json::render(&u, &select);
    crate::graph::set(&mut body, "@odata.context", json!(super::context("users/$entity")));
    Ok(super::answer(StatusCode::OK, body))
}

#[utoipa::path(post, path = "/v1.0/users", tag = "users", summary = "Create a user", request_body(content = crate::graph::openapi::Object, description = "microsoft.graph.user", content_type = "application/json"), responses((status = 201, description = "the microsoft.graph.user created", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn create(State(st): State<Shared>, caller: Caller, body: Body) -> GraphResult<Response> {
    let body = super::read_object(&st, body).await?;
    let pairs = user_json::writes(&body)?;
    let user = NewUser::from_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.clone())))?;
    let mut entry = Entry::new("Add user", AuditOperation::Add, AuditCategory::UserManagement, "User", user.id)
        .named(user.attrs.display_name.as_deref())
        .upn(user.attrs.user_principal_name.as_str());
    for (name, value) in &pairs {
        entry = entry.change(name, None, super::audit::text(value));
    }
    let record = entry.record(&st, &caller);
    let done = st.store.apply_audited(caller.tenant, vec![WriteOp::CreateUser(Box::new(user))], record).await?;
    let created = done.into_iter().next().ok_or_else(GraphError::internal)?.into_user()?;
    tracing::info!(user = %created.attrs.user_principal_name, "admin API: user created");
    let mut out = user_json::render(&created, &[]);
    crate::graph::set(&mut out, "@odata.context", json!(super::context("users/$entity")));
    Ok(super::answer(StatusCode::CREATED, out))
}

#[utoipa::path(patch, path = "/v1.0/users/{id}", tag = "users", summary = "Update a user", params(("id" = String, Path, description = "the user's id or userPrincipalName")), request_body(content = crate::graph::openapi::Object, description = "the microsoft.graph.user properties to change", content_type = "application/json"), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn update(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, body: Body) -> GraphResult<Response> {
    let body = super::read_object(&st, body).await?;
    let pairs = user_json::writes(&body)?;
    let patch = UserPatch::from_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.clone())))?;
    for _ in 0..WRITE_RETRIES {
        let u = find(&st, &caller, &id).await?;
        let mut next = u.attrs.clone();
        let changes = next.apply(&patch, None)?;
        if changes.is_empty() {
            return Ok(super::no_content());
        }
        let entry = Entry::new("Update user", AuditOperation::Update, AuditCategory::UserManagement, "User", u.id)
            .named(next.display_name.as_deref())
            .upn(next.user_principal_name.as_str())
            .changes(&changes);
        let op = WriteOp::UpdateUser { id: u.id, patch: patch.clone(), if_match: Some(u.version) };
        match st.store.apply_audited(caller.tenant, vec![op], entry.record(&st, &caller)).await {
            Ok(_) => return Ok(super::no_content()),
            // Another write came between the read and this one: read again.
            Err(StoreError::VersionMismatch { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(GraphError::new(GraphCode::Conflict, "the user kept changing while it was updated; retry"))
}

#[utoipa::path(delete, path = "/v1.0/users/{id}", tag = "users", summary = "Delete a user (soft)", params(("id" = String, Path, description = "the user's id or userPrincipalName")), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn remove(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    let u = find(&st, &caller, &id).await?;
    let entry = Entry::new("Delete user", AuditOperation::Delete, AuditCategory::UserManagement, "User", u.id)
        .named(u.attrs.display_name.as_deref())
        .upn(u.attrs.user_principal_name.as_str())
        .change("deletedDateTime", None, Some(st.store.clock().now().to_string()));
    st.store.apply_audited(caller.tenant, vec![WriteOp::SoftDeleteUser { id: u.id, if_match: None }], entry.record(&st, &caller)).await?;
    Ok(super::no_content())
}

#[utoipa::path(get, path = "/v1.0/users/{id}/memberOf", tag = "users", summary = "The groups of a user", params(("id" = String, Path, description = "the user's id or userPrincipalName"), crate::graph::openapi::PageQuery), responses((status = 200, description = "a collection of microsoft.graph.group", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn member_of(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    let select = super::groups::select_of(raw.as_deref())?;
    let u = find(&st, &caller, &id).await?;
    let mut value = Vec::new();
    for g in st.store.user_groups(caller.tenant, &[u.id]).await? {
        match st.store.get_group(caller.tenant, g.group).await {
            Ok(group) if !group.is_deleted() => {
                let mut v = super::groups::render(&group, &select);
                crate::graph::set(&mut v, "@odata.type", json!("#microsoft.graph.group"));
                value.push(v);
            }
            Ok(_) | Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(super::answer(StatusCode::OK, json!({ "@odata.context": super::context("directoryObjects"), "value": value })))
}
