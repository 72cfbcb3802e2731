//! `GET /v1.0/organization`: the token's tenant, as Graph's `organization` collection (one
//! item: a token sees its own tenant only).
use super::caller::Caller;
use super::error::GraphResult;
use super::{GraphState, Shared};
use crate::graph::openapi::{ApiRouter, only};
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router.routes(only(utoipa_axum::routes!(list)))
}

#[utoipa::path(get, path = "/v1.0/organization", tag = "organization", summary = "The token's tenant", responses((status = 200, description = "a collection of one microsoft.graph.organization", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn list(State(st): State<Shared>, caller: Caller) -> GraphResult<Json<Value>> {
    let t = st.store.get_tenant(caller.tenant).await?;
    Ok(Json(json!({
        "@odata.context": format!("{}/v1.0/$metadata#organization", crate::origin::current()),
        "value": [organization(&st, &t)],
    })))
}

fn organization(_st: &GraphState, t: &tenantsync_domain::Tenant) -> Value {
    json!({
        "id": t.id,
        "displayName": t.display_name,
        "createdDateTime": t.created_date_time,
        "verifiedDomains": [{ "name": t.initial_domain.as_str(), "isInitial": true, "isDefault": true, "type": "Managed", "capabilities": "None" }],
    })
}
