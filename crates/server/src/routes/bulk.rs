//! `POST /Bulk`: authorizes the request, then `crate::bulk` runs its operations through
//! this same router.
use super::St;
use super::context::{Access, ctx, read_json, respond};
use crate::Config;
use crate::error::ScimResult;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

pub(super) async fn bulk(State(st): St, Path(tenant): Path<String>, headers: HeaderMap, body: Body) -> ScimResult<Response> {
    ctx(&st, &tenant, &headers, Access::Write).await?;
    let doc = read_json(&st, body).await?;
    // The operations run through the same routes, without a second rate limit: the bulk
    // request itself was counted.
    let app = super::scim(st.store.clone(), Config { rate_per_second: 0, ..st.config.clone() });
    let out = crate::bulk::run(app, &format!("/scim/v2/{tenant}"), &headers, &doc, st.config.max_body_bytes).await?;
    Ok(respond(StatusCode::OK, &out, None, None))
}
