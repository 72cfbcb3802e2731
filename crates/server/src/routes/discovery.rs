//! Discovery (RFC 7644 §4): `/ServiceProviderConfig`, and the two catalogs
//! `/ResourceTypes` and `/Schemas`, each served whole as a ListResponse and one entry at a
//! time by its id.
use super::context::{Access, ctx, respond};
use super::list::list_response;
use super::{Shared, St};
use crate::error::{ScimError, ScimResult};
use crate::schema;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{MethodRouter, get};
use serde_json::Value;

pub(super) async fn service_provider_config(State(st): St, Path(tenant): Path<String>, headers: HeaderMap) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers, Access::Read).await?;
    let spc = schema::service_provider_config(&c.base, true, crate::bulk::MAX_OPERATIONS, st.config.max_body_bytes);
    Ok(respond(StatusCode::OK, &spc, None, None))
}

/// A list of discovery documents, each with an `id`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Catalog {
    /// What one entry is, for a 404 ("schema … not found").
    entry: &'static str,
    /// The entries, given the tenant's SCIM base URL.
    entries: fn(&str) -> Vec<Value>,
}

pub(super) const RESOURCE_TYPES: Catalog = Catalog { entry: "resource type", entries: schema::resource_types };
pub(super) const SCHEMAS: Catalog = Catalog { entry: "schema", entries: schema::schemas };

/// `GET` of the whole catalog as one ListResponse.
pub(super) fn all(catalog: Catalog) -> MethodRouter<Shared> {
    get(move |State(st): St, Path(tenant): Path<String>, headers: HeaderMap| async move {
        let c = ctx(&st, &tenant, &headers, Access::Read).await?;
        let entries = (catalog.entries)(&c.base);
        let n = entries.len() as u64;
        Ok::<_, ScimError>(respond(StatusCode::OK, &list_response(entries, n, 1), None, None))
    })
}

/// `GET` of the entry whose `id` is `{id}`.
pub(super) fn one(catalog: Catalog) -> MethodRouter<Shared> {
    get(move |State(st): St, Path((tenant, id)): Path<(String, String)>, headers: HeaderMap| async move {
        let c = ctx(&st, &tenant, &headers, Access::Read).await?;
        (catalog.entries)(&c.base)
            .into_iter()
            .find(|r| r["id"].as_str() == Some(id.as_str()))
            .map(|r| respond(StatusCode::OK, &r, None, None))
            .ok_or_else(|| ScimError::not_found(format!("{} {id} not found", catalog.entry)))
    })
}
