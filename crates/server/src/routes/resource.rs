//! What users and groups share: the [`Resource`] trait, and the handlers written once for
//! both — list and `.search` (filter, sort, index and cursor paging), get (with
//! `If-None-Match`), create, PUT and PATCH, DELETE — each answering with the projected
//! document, its `ETag` and, for a create, its `Location`.
//!
//! A PUT or PATCH is written as the changes it makes to what was read, naming no version
//! unless `If-Match` names one: concurrent writes of one object serialize on the store's
//! single writer and all land. Only a change whose result depends on the values read (see
//! `patch::apply`) names the version it read; when another write won the race it takes
//! its turn (one at a time per object in this server) and is applied again to the new
//! version.
use super::context::{Access, Ctx, ctx, if_match, if_none_match, not_modified, object_id, read_json, respond};
use super::list::ListParams;
use super::projection::Projection;
use super::{AppState, Params, St, WRITE_RETRIES};
use crate::error::{ScimError, ScimResult};
use crate::filter::Resolver;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::future::Future;
use tenantsync_domain::{ObjectId, ObjectKind, TenantId, Version};
use tenantsync_store::{ObjectQuery, QueryPage, Store, StoreError, WriteOp};

/// A PUT (the whole document) or a PATCH (the resource's reading of a PatchOp body).
pub(super) enum Change<P> {
    Put(Value),
    Patch(P),
}

/// A SCIM resource type served under `/{ENDPOINT}`.
pub(super) trait Resource: Sized + Send + Sync + 'static {
    const KIND: ObjectKind;
    /// The endpoint (`Users`), also the `kind` its cursors belong to.
    const ENDPOINT: &'static str;
    /// Attribute paths of filters and `sortBy`.
    const PATHS: &'static dyn Resolver;
    /// What a PATCH body becomes before the write.
    type Patch: Send + Sync;

    fn id(&self) -> ObjectId;
    fn version(&self) -> Version;
    fn is_deleted(&self) -> bool;
    /// The object, deleted or not.
    fn get(store: &dyn Store, tenant: TenantId, id: ObjectId) -> impl Future<Output = Result<Self, StoreError>> + Send;
    /// Live objects matching `query`.
    fn query(store: &dyn Store, tenant: TenantId, query: &ObjectQuery) -> impl Future<Output = Result<QueryPage<Self>, StoreError>> + Send;
    fn soft_delete(id: ObjectId, if_match: Option<Version>) -> WriteOp;

    /// The projected documents of `items`, in order (attributes read apart, such as a
    /// user's groups, are read only when the projection wants them).
    fn documents(st: &AppState, c: &Ctx, items: &[Self], projection: &Projection) -> impl Future<Output = ScimResult<Vec<Value>>> + Send;

    /// Creates the object a POST body describes.
    fn create(st: &AppState, c: &Ctx, doc: &Value) -> impl Future<Output = ScimResult<Self>> + Send;

    /// The document answering a create.
    fn created_document(st: &AppState, c: &Ctx, new: &Self, projection: &Projection) -> impl Future<Output = ScimResult<Value>> + Send {
        document(st, c, new, projection)
    }

    /// Reads a PATCH body (before the object is read).
    fn patch_request(body: Value) -> ScimResult<Self::Patch>;

    /// One attempt of a write: `change` applied to `current`; `pinned` is the version
    /// If-Match named. `Ok(Err(_))` is the store's refusal (a lost race is retried).
    fn write(
        st: &AppState,
        c: &Ctx,
        current: Self,
        change: &Change<Self::Patch>,
        pinned: Option<Version>,
    ) -> impl Future<Output = ScimResult<Result<Self, StoreError>>> + Send;

    /// The answer to a write the store refused.
    fn write_error(e: StoreError) -> ScimError {
        e.into()
    }
}

/// The object if it is not deleted.
async fn live<R: Resource>(st: &AppState, tenant: TenantId, id: ObjectId) -> ScimResult<R> {
    let r = R::get(st.store.as_ref(), tenant, id).await?;
    if r.is_deleted() {
        return Err(ScimError::not_found(format!("{} {id} not found", R::KIND)));
    }
    Ok(r)
}

/// The projected document of one object.
async fn document<R: Resource>(st: &AppState, c: &Ctx, r: &R, projection: &Projection) -> ScimResult<Value> {
    let mut docs = R::documents(st, c, std::slice::from_ref(r), projection).await?;
    docs.pop().ok_or_else(ScimError::internal)
}

/// 200 with the object's document and `ETag`.
async fn respond_one<R: Resource>(st: &AppState, c: &Ctx, r: &R, q: &[(String, String)]) -> ScimResult<Response> {
    let p = ListParams::from_pairs(q)?;
    Ok(respond(StatusCode::OK, &document(st, c, r, &p.projection).await?, Some(r.version()), None))
}

async fn query<R: Resource>(st: &AppState, c: &Ctx, p: &ListParams) -> ScimResult<Response> {
    let q = p.query(R::PATHS, &c.domain, R::ENDPOINT)?;
    let page = R::query(st.store.as_ref(), c.tenant, &q).await?;
    let resources = R::documents(st, c, &page.items, &p.projection).await?;
    Ok(respond(StatusCode::OK, &p.list_response(R::ENDPOINT, resources, &page), None, None))
}

/// `GET /{ENDPOINT}`.
pub(super) async fn list<R: Resource>(State(st): St, Path(tenant): Path<String>, Query(q): Params, headers: HeaderMap) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers, Access::Read).await?;
    query::<R>(&st, &c, &ListParams::from_pairs(&q)?).await
}

/// `POST /{ENDPOINT}/.search`.
pub(super) async fn search<R: Resource>(State(st): St, Path(tenant): Path<String>, headers: HeaderMap, body: Body) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers, Access::Read).await?;
    let p = ListParams::from_search(&read_json(&st, body).await?)?;
    query::<R>(&st, &c, &p).await
}

/// `GET /{ENDPOINT}/{id}`; 304 when `If-None-Match` names the current version.
pub(super) async fn get<R: Resource>(State(st): St, Path((tenant, id)): Path<(String, String)>, Query(q): Params, headers: HeaderMap) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers, Access::Read).await?;
    let r = live::<R>(&st, c.tenant, object_id(&id, R::KIND)?).await?;
    if if_none_match(&headers, r.version()) {
        return Ok(not_modified(r.version()));
    }
    respond_one(&st, &c, &r, &q).await
}

/// `POST /{ENDPOINT}`: 201 with `Location`.
pub(super) async fn create<R: Resource>(State(st): St, Path(tenant): Path<String>, Query(q): Params, headers: HeaderMap, body: Body) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers, Access::Write).await?;
    let doc = read_json(&st, body).await?;
    let r = R::create(&st, &c, &doc).await?;
    let p = ListParams::from_pairs(&q)?;
    let body = R::created_document(&st, &c, &r, &p.projection).await?;
    let location = format!("{}/{}/{}", c.base, R::ENDPOINT, r.id());
    Ok(respond(StatusCode::CREATED, &body, Some(r.version()), Some(&location)))
}

/// Reads the object and writes `change`; a write that named the version it read and lost
/// the race to another write (never one pinned by If-Match) takes its turn and is applied
/// again.
async fn write_with_retries<R: Resource>(st: &AppState, c: &Ctx, id: ObjectId, pinned: Option<Version>, change: &Change<R::Patch>) -> ScimResult<R> {
    let mut turn = None;
    for _ in 0..WRITE_RETRIES {
        let cur = live::<R>(st, c.tenant, id).await?;
        if let Some(v) = pinned
            && v != cur.version()
        {
            return Err(ScimError::precondition_failed(format!("{} {id} has version {}, not {v}", R::KIND, cur.version())));
        }
        match R::write(st, c, cur, change, pinned).await? {
            Err(StoreError::VersionMismatch { .. }) if pinned.is_none() => {
                if turn.is_none() {
                    turn = Some(st.turns.take(c.tenant, id).await);
                }
            }
            Err(e) => return Err(R::write_error(e)),
            Ok(r) => return Ok(r),
        }
    }
    Err(super::write_contention())
}

/// `PUT` or `PATCH /{ENDPOINT}/{id}`.
pub(super) async fn write<R: Resource>(
    method: Method,
    State(st): St,
    Path((tenant, id)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
    body: Body,
) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers, Access::Write).await?;
    let id = object_id(&id, R::KIND)?;
    let doc = read_json(&st, body).await?;
    let change = if method == Method::PATCH { Change::Patch(R::patch_request(doc)?) } else { Change::Put(doc) };
    let r = write_with_retries::<R>(&st, &c, id, if_match(&headers), &change).await?;
    respond_one(&st, &c, &r, &q).await
}

/// `DELETE /{ENDPOINT}/{id}`: a soft delete.
pub(super) async fn delete<R: Resource>(State(st): St, Path((tenant, id)): Path<(String, String)>, headers: HeaderMap) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers, Access::Write).await?;
    let id = object_id(&id, R::KIND)?;
    st.store.apply_one(c.tenant, R::soft_delete(id, if_match(&headers))).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
