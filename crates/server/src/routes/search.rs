//! `POST /.search` (RFC 7644 §3.4.3) at the tenant's root: users, then groups, as one
//! index-paged list (cursors page one resource type, so they are refused here).
use super::St;
use super::context::{Access, ctx, read_json, respond};
use super::list::{ListParams, list_response, none_query};
use super::resource::Resource;
use crate::error::{ScimError, ScimResult};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tenantsync_domain::{Group, User};
use tenantsync_store::ObjectQuery;

pub(super) async fn search_root(State(st): St, Path(tenant): Path<String>, headers: HeaderMap, body: Body) -> ScimResult<Response> {
    let c = ctx(&st, &tenant, &headers, Access::Read).await?;
    let p = ListParams::from_search(&read_json(&st, body).await?)?;
    if p.cursor.is_some() {
        return Err(ScimError::invalid_value("cursor paging is offered on /Users and /Groups, not across resource types"));
    }
    // A filter naming attributes of one type only matches nothing of the other.
    let uq = p.query(User::PATHS, &c.domain, User::ENDPOINT);
    let gq = p.query(Group::PATHS, &c.domain, Group::ENDPOINT);
    let (uq, gq) = match (uq, gq) {
        (Err(e), Err(_)) => return Err(e),
        (u, g) => (u.unwrap_or_else(|_| none_query()), g.unwrap_or_else(|_| none_query())),
    };
    let users = st.store.query_users(c.tenant, &uq).await?;
    let users_total = users.total.unwrap_or(0);
    let skip_groups = p.start_index.saturating_sub(1).saturating_sub(users_total);
    let room = p.count.saturating_sub(u32::try_from(users.items.len()).unwrap_or(u32::MAX));
    let groups = st.store.query_groups(c.tenant, &ObjectQuery { offset: skip_groups, limit: room, ..gq }).await?;
    let mut resources = User::documents(&st, &c, &users.items, &p.projection).await?;
    resources.extend(Group::documents(&st, &c, &groups.items, &p.projection).await?);
    Ok(respond(StatusCode::OK, &list_response(resources, users_total + groups.total.unwrap_or(0), p.start_index), None, None))
}
